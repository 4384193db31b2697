#!/usr/bin/env python3
"""vlan_probe.py - send a VLAN-tagged probe frame and report the tags it arrives with.

  vlan_probe.py recv --dev IF --nonce N [--timeout S] [--ready-file F]
  vlan_probe.py send --dev IF --nonce N --tags TPID:VID[,TPID:VID...]

The sender writes one raw Ethernet frame (broadcast, EtherType 0x88b5, the
local-experimental type) carrying the given tags, outermost first.  The
receiver waits for the probe with the same nonce and prints
"tags=TPID:VID,..." as it arrived: the tag the kernel moved into packet
metadata (PACKET_AUXDATA) first, then the tags still in the frame.
"""
import argparse
import os
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETHERTYPE = 0x88b5
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
VLAN_TPIDS = (0x8100, 0x88a8)
MAGIC = b"flextoe-vlan-probe"


def send(args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((args.dev, 0))
    src = s.getsockname()[4]
    frame = b"\xff" * 6 + src
    for tag in args.tags.split(","):
        tpid, vid = tag.split(":")
        frame += struct.pack("!HH", int(tpid, 0), int(vid, 0))
    frame += struct.pack("!H", ETHERTYPE) + MAGIC + struct.pack("!Q", args.nonce)
    frame += bytes(max(0, 60 - len(frame)))
    s.send(frame)


def fmt(tags):
    return ",".join(f"0x{t:04x}:{v}" for t, v in tags)


def recv(args):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((args.dev, ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    if args.ready_file:
        open(args.ready_file, "w").close()
    want = MAGIC + struct.pack("!Q", args.nonce)
    deadline = time.monotonic() + args.timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            print("no probe arrived", file=sys.stderr)
            sys.exit(1)
        s.settimeout(left)
        try:
            data, anc, _, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
        except socket.timeout:
            continue
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        tags = []
        for level, typ, cdata in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 20:
                status, _, _, _, _, tci, tpid = struct.unpack("=IIIHHHH", cdata[:20])
                if status & TP_STATUS_VLAN_VALID:
                    if not status & TP_STATUS_VLAN_TPID_VALID:
                        tpid = 0x8100
                    tags.append((tpid, tci & 0xfff))
        off = 12
        while len(data) >= off + 4:
            tpid, tci = struct.unpack("!HH", data[off:off + 4])
            if tpid not in VLAN_TPIDS:
                break
            tags.append((tpid, tci & 0xfff))
            off += 4
        if data[off:off + 2] == struct.pack("!H", ETHERTYPE) and \
                data[off + 2:off + 2 + len(want)] == want:
            print(f"tags={fmt(tags)}", flush=True)
            return


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--dev", required=True)
    r.add_argument("--nonce", type=int, required=True)
    r.add_argument("--timeout", type=float, default=5)
    r.add_argument("--ready-file")
    s = sub.add_parser("send")
    s.add_argument("--dev", required=True)
    s.add_argument("--nonce", type=int, required=True)
    s.add_argument("--tags", required=True)
    args = p.parse_args()
    try:
        recv(args) if args.cmd == "recv" else send(args)
    except (OSError, ValueError) as e:
        print(f"vlan_probe.py {args.cmd}: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
