#!/usr/bin/env python3
"""tcp_xfer.py - move N pseudo-random bytes over one TCP connection and print their SHA-256.

  tcp_xfer.py recv --port P [--bind ADDR] [--ready-file F] [--timeout S]
  tcp_xfer.py send --host H --port P --bytes N [--seed S] [--timeout S]

Both print one line "bytes=N sha256=HEX secs=T" (T: first byte to EOF for the
receiver, connect to close for the sender), so a test compares the two
hashes.  The sender retries the connection until the receiver listens.
"""
import argparse
import hashlib
import random
import socket
import sys
import time

CHUNK = 1 << 20


def recv(args):
    ls = socket.socket(socket.AF_INET6 if ":" in args.bind else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.bind, args.port))
    ls.listen(1)
    ls.settimeout(args.timeout)
    if args.ready_file:
        open(args.ready_file, "w").close()
    conn, _ = ls.accept()
    conn.settimeout(args.timeout)
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    start = None
    while True:
        n = conn.recv_into(buf)
        if not n:
            break
        if start is None:
            start = time.monotonic()
        h.update(view[:n])
        total += n
    secs = time.monotonic() - start if start else 0.0
    conn.close()
    print(f"bytes={total} sha256={h.hexdigest()} secs={secs:.3f}", flush=True)


def send(args):
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            s = socket.create_connection((args.host, args.port), timeout=args.timeout)
            break
        except (ConnectionRefusedError, socket.timeout, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    start = time.monotonic()
    rng = random.Random(args.seed)
    h = hashlib.sha256()
    left = args.bytes
    while left:
        n = min(CHUNK, left)
        data = rng.randbytes(n)
        h.update(data)
        s.sendall(data)
        left -= n
    s.shutdown(socket.SHUT_WR)
    # Wait for the receiver's close, so secs covers delivery, not buffering.
    s.recv(1)
    s.close()
    secs = time.monotonic() - start
    print(f"bytes={args.bytes} sha256={h.hexdigest()} secs={secs:.3f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--bind", default="0.0.0.0")
    r.add_argument("--ready-file")
    r.add_argument("--timeout", type=float, default=120)
    s = sub.add_parser("send")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--bytes", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()
    try:
        recv(args) if args.cmd == "recv" else send(args)
    except OSError as e:
        print(f"tcp_xfer.py {args.cmd}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
