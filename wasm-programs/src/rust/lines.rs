//! lines - a line-protocol key/value server in Rust, standard library only
//! (built into wasm/rust_lines.wasm by rust.mk).
//!
//! Takes its listening socket from the host at fd 3, serves one client at a
//! time with blocking accept, read and write (each client until it half-closes
//! or sends QUIT), then takes the next. The keys live in a BTreeMap, so KEYS
//! lists them in the same order on every replica.
//!
//! Protocol: one command per line ending in `\n` (`\r\n` accepted), one reply
//! line per command, empty lines ignored; command names in any case.
//!
//!   PING              PONG
//!   SET key value     OK          (value: the rest of the line, spaces kept)
//!   GET key           VALUE value, or NIL
//!   DEL key           DELETED, or NIL
//!   COUNT             the number of keys, e.g. 2
//!   KEYS              KEYS followed by the keys in byte order, space separated
//!   QUIT              BYE, then the server closes the connection
//!   anything else     ERR unknown command 'NAME'
//!
//! A command with missing or extra words gets `ERR wrong number of arguments
//! for 'NAME'`; a SET of a new key beyond MAX_KEYS keys gets `ERR store full`;
//! a line longer than MAX_LINE bytes gets `ERR line too long` and a close.

use std::collections::BTreeMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::wasi::io::{FromRawFd, RawFd};
use std::process;

/// The host preopens the app's first listener here (systemd convention).
const LISTEN_FD: RawFd = 3;
/// Longest accepted line, without its `\n`.
const MAX_LINE: usize = 4096;
/// Most keys the store holds.
const MAX_KEYS: usize = 10_000;
/// Bytes asked for per read.
const READ_CHUNK: usize = 4096;

/// What the connection does after a command.
#[derive(PartialEq)]
enum Next {
    Continue,
    Close,
}

/// The keys and values, in byte order.
struct Store {
    keys: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Store {
    /// Runs one line (without its `\n`) and appends the reply line to `out`.
    fn execute(&mut self, line: &[u8], out: &mut Vec<u8>) -> Next {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Next::Continue;
        }
        let (name, rest) = split_word(line);
        let upper = name.to_ascii_uppercase();
        match (upper.as_slice(), rest) {
            (b"PING", None) => out.extend_from_slice(b"PONG"),
            (b"SET", Some(args)) => match split_word(args) {
                (key, Some(value)) if !key.is_empty() => self.set(key, value, out),
                _ => wrong_arguments(name, out),
            },
            (b"GET", Some(key)) if is_word(key) => match self.keys.get(key) {
                Some(value) => {
                    out.extend_from_slice(b"VALUE ");
                    out.extend_from_slice(value);
                }
                None => out.extend_from_slice(b"NIL"),
            },
            (b"DEL", Some(key)) if is_word(key) => match self.keys.remove(key) {
                Some(_) => out.extend_from_slice(b"DELETED"),
                None => out.extend_from_slice(b"NIL"),
            },
            (b"COUNT", None) => out.extend_from_slice(self.keys.len().to_string().as_bytes()),
            (b"KEYS", None) => {
                out.extend_from_slice(b"KEYS");
                for key in self.keys.keys() {
                    out.push(b' ');
                    out.extend_from_slice(key);
                }
            }
            (b"QUIT", None) => {
                out.extend_from_slice(b"BYE\n");
                return Next::Close;
            }
            (b"PING" | b"SET" | b"GET" | b"DEL" | b"COUNT" | b"KEYS" | b"QUIT", _) => wrong_arguments(name, out),
            _ => {
                out.extend_from_slice(b"ERR unknown command '");
                out.extend_from_slice(name);
                out.push(b'\'');
            }
        }
        out.push(b'\n');
        Next::Continue
    }

    fn set(&mut self, key: &[u8], value: &[u8], out: &mut Vec<u8>) {
        if self.keys.len() >= MAX_KEYS && !self.keys.contains_key(key) {
            out.extend_from_slice(format!("ERR store full: {} keys; DEL some first", MAX_KEYS).as_bytes());
            return;
        }
        self.keys.insert(key.to_vec(), value.to_vec());
        out.extend_from_slice(b"OK");
    }
}

/// The first word of `line` and what follows the space after it, if any.
fn split_word(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match line.iter().position(|&b| b == b' ') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    }
}

fn is_word(arg: &[u8]) -> bool {
    !arg.is_empty() && !arg.contains(&b' ')
}

fn wrong_arguments(name: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"ERR wrong number of arguments for '");
    out.extend_from_slice(name);
    out.push(b'\'');
}

/// Serves one client until it half-closes, sends QUIT or overruns MAX_LINE.
fn serve(stream: &mut TcpStream, store: &mut Store) -> io::Result<()> {
    let mut chunk = [0u8; READ_CHUNK];
    let mut line: Vec<u8> = Vec::with_capacity(MAX_LINE);
    let mut out: Vec<u8> = Vec::new();
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            // End of input: a last line without `\n` still counts.
            store.execute(&line, &mut out);
            return stream.write_all(&out);
        }
        let mut rest = &chunk[..n];
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            if line.len() + i > MAX_LINE {
                return too_long(stream, &mut out);
            }
            line.extend_from_slice(&rest[..i]);
            rest = &rest[i + 1..];
            let next = store.execute(&line, &mut out);
            line.clear();
            if next == Next::Close {
                return stream.write_all(&out);
            }
        }
        if line.len() + rest.len() > MAX_LINE {
            return too_long(stream, &mut out);
        }
        line.extend_from_slice(rest);
        // One write per read: the replies to every line that read completed.
        stream.write_all(&out)?;
        out.clear();
    }
}

fn too_long(stream: &mut TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(format!("ERR line too long (more than {} bytes)\n", MAX_LINE).as_bytes());
    stream.write_all(out)
}

fn main() {
    // Safety: the host hands fd 3 over as this app's listening socket, owned by nothing else here.
    let listener = unsafe { TcpListener::from_raw_fd(LISTEN_FD) };
    eprintln!("lines: listening on fd {}", LISTEN_FD);
    let mut store = Store { keys: BTreeMap::new() };
    loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                if let Err(e) = serve(&mut stream, &mut store) {
                    eprintln!("lines: connection dropped: {}", e);
                }
                // Dropping the stream closes the connection.
            }
            // The stop convention: the host hung the listener up (an upgrade). Nothing to save: exit 0.
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => {
                eprintln!("lines: listener hung up, stopping");
                process::exit(0);
            }
            Err(e) => {
                eprintln!("lines: accept on fd {} failed: {}. Fix: run this module under Replicode, which preopens a \
                           listening socket at fd 3", LISTEN_FD, e);
                process::exit(1);
            }
        }
    }
}
