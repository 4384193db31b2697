#!/usr/bin/env python3
"""udp_seq.py - send numbered UDP datagrams and measure loss, duplication and reordering.

  udp_seq.py recv --port P --count N [--idle S] [--ready-file F]
  udp_seq.py send --host H --port P --count N [--rate PPS] [--size B]

Each datagram carries a 64-bit sequence number and a payload derived from it.
The receiver stops once N distinct datagrams arrived or nothing arrived for
--idle seconds, and prints one line:
  count=N received=R unique=U lost=L dup=D reordered=O bad=B
dup: datagrams seen before; reordered: first arrivals of a number below the
highest already seen; bad: payloads that do not match their number (must be
0 when the checksums below do their job).
"""
import argparse
import socket
import struct
import sys
import time

PATTERN = bytes(range(256)) * 64


def payload(seq, size):
    off = seq % 256
    return struct.pack("!Q", seq) + PATTERN[off:off + size - 8]


def recv(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("0.0.0.0", args.port))
    if args.ready_file:
        open(args.ready_file, "w").close()
    seen = set()
    received = dup = reordered = bad = 0
    highest = -1
    s.settimeout(args.first_timeout)
    while len(seen) < args.count:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        s.settimeout(args.idle)
        received += 1
        if len(data) < 8:
            bad += 1
            continue
        seq = struct.unpack("!Q", data[:8])[0]
        if data != payload(seq, len(data)) or seq >= args.count:
            bad += 1
            continue
        if seq in seen:
            dup += 1
            continue
        seen.add(seq)
        if seq < highest:
            reordered += 1
        else:
            highest = seq
    print(f"count={args.count} received={received} unique={len(seen)} "
          f"lost={args.count - len(seen)} dup={dup} reordered={reordered} bad={bad}",
          flush=True)


def send(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((args.host, args.port))
    start = time.monotonic()
    for seq in range(args.count):
        # Paced so the relay and receiver never overflow: their drops
        # would look like impairment.
        ahead = start + seq / args.rate - time.monotonic()
        if ahead > 0.002:
            time.sleep(ahead)
        s.send(payload(seq, args.size))
    print(f"sent={args.count} secs={time.monotonic() - start:.3f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--idle", type=float, default=1.0)
    r.add_argument("--first-timeout", type=float, default=30.0)
    r.add_argument("--ready-file")
    s = sub.add_parser("send")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--count", type=int, required=True)
    s.add_argument("--rate", type=float, default=10000)
    s.add_argument("--size", type=int, default=64)
    args = p.parse_args()
    if args.cmd == "send" and not 8 <= args.size <= 8 + 256 * 63:
        p.error("--size must be 8..16136")
    try:
        recv(args) if args.cmd == "recv" else send(args)
    except OSError as e:
        print(f"udp_seq.py {args.cmd}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
