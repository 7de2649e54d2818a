#!/usr/bin/env python3
"""A client of Replicode's TCP event-bus bridge, with the Python standard library only.

The bridge speaks Vert.x's TCP event-bus bridge protocol: each frame is a 4-byte big-endian length followed by that
many bytes of UTF-8 JSON. A request is {"type": "send", "address": ..., "replyAddress": ..., "headers": ..., "body": ...};
the answer comes back as {"type": "message", "address": <replyAddress>, "body": ...}, or as {"type": "err", "message":
...} when the bridge refuses it (an address it does not let in) or the app fails the request.

A request to replicode.app.<app>.request opens one virtual connection to the app's listener (header "listener"; the
app's first by default), sends the body and the end of input, and answers with everything the guest wrote before it
closed the connection; the header "reply": "text" asks for it as text.

    python3 replicode_bridge.py --port 7099 kv 'SET greeting hello' --listener line
    python3 replicode_bridge.py --port 7099 kv 'GET greeting' --listener line       # VALUE hello
"""
import argparse
import json
import socket
import struct
import sys
import uuid


class BridgeError(Exception):
    """The bridge or the app refused the request: its message says why."""


class Bridge:
    """One TCP connection to a node's event-bus bridge; requests are answered in turn."""

    def __init__(self, host="127.0.0.1", port=7099, timeout=30.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _write(self, frame):
        data = json.dumps(frame).encode("utf-8")
        self.sock.sendall(struct.pack(">I", len(data)) + data)

    def _read_exactly(self, n):
        chunks = []
        while n > 0:
            chunk = self.sock.recv(n)
            if not chunk:
                raise BridgeError("the bridge closed the connection")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _read(self):
        (length,) = struct.unpack(">I", self._read_exactly(4))
        return json.loads(self._read_exactly(length).decode("utf-8"))

    def send(self, address, body, headers=None):
        """Sends body to address and returns the reply's body; raises BridgeError when refused or failed."""
        reply_to = "py-" + uuid.uuid4().hex
        self._write({"type": "send", "address": address, "replyAddress": reply_to,
                     "headers": headers or {}, "body": body})
        while True:
            frame = self._read()
            if frame.get("type") == "err":
                raise BridgeError(frame.get("message") or json.dumps(frame))
            if frame.get("type") == "message" and frame.get("address") == reply_to:
                if frame.get("failureCode") is not None:
                    raise BridgeError("%s (code %s)" % (frame.get("message"), frame.get("failureCode")))
                return frame.get("body")
            # a frame meant for something else (none is expected): skip it

    def request(self, app, text, listener=None):
        """One request to an app: text in, the guest's whole answer out."""
        headers = {"reply": "text"}  # the answer as text, not a Buffer (which JSON would carry base64-encoded)
        if listener:
            headers["listener"] = listener
        return self.send("replicode.app.%s.request" % app, text, headers)


def main(argv):
    p = argparse.ArgumentParser(description="Send one request to a Replicode app through the TCP event-bus bridge.")
    p.add_argument("app")
    p.add_argument("request", help="the bytes to send (a line protocol wants a trailing newline: one is added)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7099)
    p.add_argument("--listener", help="the app's listener (default: its first)")
    p.add_argument("--address", help="send to this raw address instead of the app's request address")
    args = p.parse_args(argv)
    text = args.request if args.request.endswith("\n") else args.request + "\n"
    try:
        with Bridge(args.host, args.port) as bridge:
            if args.address:
                answer = bridge.send(args.address, text)
            else:
                answer = bridge.request(args.app, text, args.listener)
    except BridgeError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    except OSError as e:
        print("error: cannot reach the bridge at %s:%d: %s\nFix: start the node with --eventbus-bridge-port %d"
              % (args.host, args.port, e, args.port), file=sys.stderr)
        return 2
    sys.stdout.write(answer if isinstance(answer, str) else json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
