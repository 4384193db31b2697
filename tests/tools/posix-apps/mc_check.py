#!/usr/bin/env python3
"""mc_check.py - store N random values in memcached (text protocol) over several connections and read each back byte-exact."""
# Usage: mc_check.py HOST PORT [--keys N] [--conns C] [--max-size BYTES] [--seed S]
# Prints "ok stored=N bytes=B" on success; on the first mismatch or protocol
# error prints what differed and exits 1.
import argparse
import random
import socket
import sys
import threading


def recv_line(sock, buf):
    while b"\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        buf.extend(chunk)
    i = buf.index(b"\r\n")
    line = bytes(buf[:i])
    del buf[:i + 2]
    return line


def recv_exact(sock, buf, n):
    while len(buf) < n:
        chunk = sock.recv(max(65536, n - len(buf)))
        if not chunk:
            raise EOFError("connection closed by the server")
        buf.extend(chunk)
    data = bytes(buf[:n])
    del buf[:n]
    return data


def worker(host, port, items, errors, batch):
    try:
        s = socket.create_connection((host, port), timeout=30)
        buf = bytearray()
        for key, val in items:
            s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(val), val))
            line = recv_line(s, buf)
            if line != b"STORED":
                errors.append("set %s: %r" % (key.decode(), line))
                return
        # read back with multi-key gets: several values per response
        for i in range(0, len(items), batch):
            chunk = items[i:i + batch]
            s.sendall(b"get " + b" ".join(k for k, _ in chunk) + b"\r\n")
            for key, val in chunk:
                line = recv_line(s, buf)
                parts = line.split()
                if len(parts) != 4 or parts[0] != b"VALUE" or parts[1] != key:
                    errors.append("get %s: header %r" % (key.decode(), line))
                    return
                data = recv_exact(s, buf, int(parts[3]) + 2)
                if data[:-2] != val or data[-2:] != b"\r\n":
                    errors.append("get %s: %d bytes back, %d stored, first difference at %d" % (
                        key.decode(), len(data) - 2, len(val),
                        next((j for j in range(min(len(val), len(data) - 2)) if data[j] != val[j]),
                             min(len(val), len(data) - 2))))
                    return
            if recv_line(s, buf) != b"END":
                errors.append("get: no END after %d values" % len(chunk))
                return
        s.close()
    except Exception as e:  # noqa: BLE001 - reported as a failure
        errors.append("%s: %s" % (type(e).__name__, e))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--keys", type=int, default=5000)
    ap.add_argument("--conns", type=int, default=8)
    ap.add_argument("--max-size", type=int, default=65536)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    items = []
    total = 0
    for i in range(a.keys):
        # log-uniform sizes: many small values and some large ones
        size = int(2 ** rnd.uniform(0, a.max_size.bit_length() - 1))
        val = rnd.randbytes(size)
        items.append((b"k%d-%d" % (a.seed, i), val))
        total += size
    errors = []
    threads = [threading.Thread(target=worker, args=(a.host, a.port, items[c::a.conns], errors, 50))
               for c in range(a.conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        for e in errors:
            print("FAIL", e)
        sys.exit(1)
    print("ok stored=%d bytes=%d" % (len(items), total))


main()
