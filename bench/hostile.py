#!/usr/bin/env python3
"""bench/hostile.py: the hostile and busy inputs of issue 12, against `./replicode run`, with real sockets.

Starts `./replicode run` on a fresh data directory (loopback only), sends each input, then checks that the
app still answers, from another loopback address (127.0.0.2) so a per-client cap on the attacker's address
(127.0.0.1) does not hide the result. At the end the node is killed with SIGKILL and started again, and
every app must answer again. Prints one line per row: what was sent, what the attacker saw, whether the
app answered afterwards and how long the probe took. Every loop is bounded in count and time.

    python3 bench/hostile.py                # all rows
    python3 bench/hostile.py keys slowloris # some rows (names below)
"""
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTP, RESP, LINE, FILES = 18080, 16380, 17000, 17001
ATTACKER, PROBER = "127.0.0.1", "127.0.0.2"


def connect(port, source=ATTACKER, timeout=10.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(s, limit=1 << 20):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            break
    return data


def command(*args, source=PROBER, timeout=10.0):
    with connect(RESP, source, timeout) as s:
        s.sendall(resp(*args))
        return read_reply(s)


def http_request(method, path, body=None, source=PROBER, timeout=30.0, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", HTTP, timeout=timeout, source_address=(source, 0))
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def probe():
    """kv and image answer a prober on 127.0.0.2; returns (ok, seconds)."""
    t = time.monotonic()
    try:
        ok = command("PING") == b"+PONG\r\n"
        status, _ = http_request("GET", "/image/images/")
        ok = ok and status == 200
    except OSError as e:
        return False, time.monotonic() - t, str(e)
    return ok, time.monotonic() - t, ""


def png(width, height, pixel):
    raw = b"".join(b"\x00" + bytes(pixel(x, y) for x in range(width) for _ in range(3)) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


# ---- rows ----

def row_blur():
    photo = png(512, 512, lambda x, y: (x * 7 + y * 13) & 0xFF)
    status, _ = http_request("PUT", "/image/images/photo.png", photo)
    results = []
    def one():
        try:
            results.append(http_request("GET", "/image/images/photo.png?blur=64", source=ATTACKER, timeout=120)[0])
        except OSError as e:
            results.append(str(e))
    threads = [threading.Thread(target=one) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    return "upload %d; 5 concurrent blur=64: %s" % (status, sorted(map(str, results)))


def row_keys():
    command("SET", "a" * 8000, "x")
    pattern = "*" + "a" * 4000 + "b"
    t = time.monotonic()
    reply = command("KEYS", pattern, timeout=120)
    return "KEYS *a{4000}b -> %r in %.2f s" % (reply[:60], time.monotonic() - t)


def row_keys_million():
    n = 1_000_000
    with connect(RESP, PROBER, 120) as s:
        batch = 10_000
        for start in range(0, n, batch):
            s.sendall(b"".join(resp("SET", "k%d" % i, "v") for i in range(start, start + batch)))
            got = 0
            buf = b""
            while got < batch:
                buf += s.recv(1 << 20)
                got = buf.count(b"+OK\r\n")
    t = time.monotonic()
    reply = command("KEYS", "*", timeout=120)
    return "1,000,000 keys; KEYS * -> %r in %.2f s; DBSIZE %r" % (reply[:70], time.monotonic() - t,
                                                                command("DBSIZE").strip())


def row_phantoms():
    inline = b"x" * 400_000
    done = 0
    for i in range(1030):
        try:
            s = connect(RESP, ATTACKER, 5)
            s.sendall(inline)
            s.close()
            done += 1
        except OSError:
            pass
    deadline = time.monotonic() + 30
    conns = None
    while time.monotonic() < deadline:
        conns = app_status("kv").get("connections")
        if conns == 0:
            break
        time.sleep(0.5)
    return "1,030 x (400 KB inline command, close): %d sent; kv connections at the gateway afterwards: %s" % (done, conns)


def row_idle():
    held = []
    refused = 0
    for _ in range(300):
        try:
            held.append(connect(LINE, ATTACKER, 5))
        except OSError:
            refused += 1
    ok, secs, err = probe()
    first = b""
    if held:
        held[-1].settimeout(5)
        try:
            first = held[-1].recv(100)
        except OSError as e:
            first = str(e).encode()
    for s in held:
        s.close()
    return "300 idle connections from one address: %d held, %d refused at connect, last one got %r; probe %s %.2fs %s" % (
        len(held), refused, first[:40], ok, secs, err)


def row_slowloris():
    socks = []
    for _ in range(300):
        try:
            s = connect(HTTP, ATTACKER, 5)
            s.sendall(b"PUT /kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
            socks.append(s)
        except OSError:
            pass
    answers = {}
    deadline = time.monotonic() + 40
    while socks and time.monotonic() < deadline:
        for s in list(socks):
            try:
                s.send(b"x")
            except OSError:
                answers["reset"] = answers.get("reset", 0) + 1
                socks.remove(s)
        time.sleep(5)
        for s in list(socks):
            s.setblocking(False)
            try:
                data = s.recv(200)
                key = data.split(b"\r\n")[0].decode(errors="replace") if data else "closed"
                answers[key] = answers.get(key, 0) + 1
                socks.remove(s)
                s.close()
            except BlockingIOError:
                pass
            except OSError:
                answers["reset"] = answers.get("reset", 0) + 1
                socks.remove(s)
    ok, secs, err = probe()
    for s in socks:
        s.close()
    return "300 PUTs trickling 1 byte / 5 s: answers %s, %d still open after 40 s; probe %s %.2fs %s" % (
        answers, len(socks), ok, secs, err)


def row_status_flood():
    stop = time.monotonic() + 10
    codes = {}
    def poll():
        while time.monotonic() < stop:
            try:
                code, _ = http_request("GET", "/status", source=ATTACKER, timeout=10)
            except OSError:
                code = "error"
            codes[code] = codes.get(code, 0) + 1
    threads = [threading.Thread(target=poll) for _ in range(20)]
    for t in threads:
        t.start()
    worst = 0.0
    failures = 0
    for i in range(50):
        t = time.monotonic()
        try:
            if command("GET", "hello", timeout=5) is None:
                failures += 1
        except OSError:
            failures += 1
        worst = max(worst, time.monotonic() - t)
        time.sleep(0.1)
    for t in threads:
        t.join(20)
    return "20 clients polling /status for 10 s: answers %s; 50 kv GETs alongside: %d failed, slowest %.3f s" % (
        codes, failures, worst)


def row_churn():
    stop = time.monotonic() + 20
    count = [0]
    def churn():
        while time.monotonic() < stop:
            try:
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.bind((ATTACKER, 0))
                s.settimeout(2)
                s.connect(("127.0.0.1", RESP))
                s.close()
                count[0] += 1
            except OSError:
                pass
    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads:
        t.start()
    worst = 0.0
    failed = 0
    while time.monotonic() < stop:
        ok, secs, _ = probe()
        failed += 0 if ok else 1
        worst = max(worst, secs)
        time.sleep(0.5)
    for t in threads:
        t.join(10)
    return "%d connect/reset in 20 s: probes failed %d, slowest %.2f s" % (count[0], failed, worst)


def row_files():
    with connect(FILES, ATTACKER, 10) as s:
        s.sendall(b"SEND huge\n" + struct.pack(">I", 0xFFFFFFFF))
        try:
            huge = s.recv(200)
        except OSError as e:
            huge = str(e).encode()
    with connect(FILES, ATTACKER, 10) as s:
        s.sendall(b"SEND a\x00b\n" + struct.pack(">I", 1) + b"z")
        try:
            nul = s.recv(200)
        except OSError as e:
            nul = str(e).encode()
    return "SEND huge 0xFFFFFFFF -> %r; SEND a\\0b -> %r" % (huge.strip()[:90], nul.strip()[:90])


ROWS = {"blur": row_blur, "keys": row_keys, "keys_million": row_keys_million, "phantoms": row_phantoms,
        "idle": row_idle, "slowloris": row_slowloris, "status": row_status_flood, "churn": row_churn,
        "files": row_files}


def app_status(name):
    _, body = http_request("GET", "/status", timeout=10)
    for a in json.loads(body).get("apps", []):
        if a.get("name") == name:
            return a
    return {}


def start(data, log):
    cmd = [os.path.join(ROOT, "replicode"), "run", "--data", data, "--http-port", str(HTTP),
           "--tcp", "%d=kv:resp" % RESP, "--tcp", "%d=kv:line" % LINE, "--tcp", "%d=image:files" % FILES]
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if p.poll() is not None:
            sys.exit("replicode exited with %s; see %s" % (p.returncode, log.name))
        try:
            if probe()[0]:
                return p
        except OSError:
            pass
        time.sleep(0.5)
    p.kill()
    sys.exit("replicode did not answer within 300 s; see " + log.name)


def main():
    names = sys.argv[1:] or list(ROWS)
    work = tempfile.mkdtemp(prefix="replicode-hostile-")
    log = open(os.path.join(work, "replicode.log"), "w")
    node = start(os.path.join(work, "data"), log)
    try:
        for name in names:
            t = time.monotonic()
            try:
                what = ROWS[name]()
            except Exception as e:  # a row that breaks still reports
                what = "row failed: %r" % e
            ok, secs, err = probe()
            print("%-13s %s | afterwards: %s (%.2f s) %s [%.0f s]" % (name, what, "answers" if ok else "NO ANSWER",
                                                                    secs, err, time.monotonic() - t), flush=True)
        os.killpg(node.pid, signal.SIGKILL)
        node.wait(30)
        t = time.monotonic()
        node = start(os.path.join(work, "data"), log)
        ok, secs, err = probe()
        kv, image = app_status("kv"), app_status("image")
        print("restart       after kill -9: answers %s in %.1f s; kv %s, image %s" % (
            ok, time.monotonic() - t, kv.get("state"), image.get("state")), flush=True)
    finally:
        os.killpg(node.pid, signal.SIGTERM)
        node.wait(60)
        log.close()
        print("log: " + log.name)


if __name__ == "__main__":
    main()
