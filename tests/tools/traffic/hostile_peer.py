#!/usr/bin/env python3
"""hostile_peer.py - crafted TCP segments from a raw socket on the peer's link: SYN floods, probes, a retransmitted FIN.

  hostile_peer.py flood --dev IF --dst-mac MAC --dst IP --port P --net A.B.C
                        [--count N] [--secs S]
  hostile_peer.py probe --dev IF --dst-mac MAC --dst IP --port P --src IP
                        --kind KIND [--wait S]
  hostile_peer.py echo --host H --port P [--bytes N] [--timeout S]
  hostile_peer.py twfin --dev IF --port P --ready-file F [--wait S]

flood: N SYNs (default 20000) spread evenly over S seconds (default 2) from
random sources A.B.C.10-250 (spoofed) and random ports; prints "sent=N".
probe: one segment of KIND from --src, then prints what came back to it
within S seconds (default 1): "answer=FLAGS" (S, SA, R, RA, A ...) or
"answer=none".  KINDs: syn, synfin, null, fin, syn-badmss (an MSS option
of length 3), syn-pastend (an option whose length runs past the header).
echo: one Linux connection, N random bytes (default 1 MiB) echoed back
byte-exact; prints "echo ok secs=T" or the error.
twfin: a TCP server on P for one connection: reads until EOF (the other
side closed first, so it is in TIME_WAIT), closes, then sends its own FIN
again, byte for byte as the kernel sent it, and waits for the ACK of it:
prints "twfin ack" or "twfin none".
"""
import argparse
import os
import random
import socket
import struct
import sys
import threading
import time

ETH_P_IP = 0x0800
ETH_P_ALL = 0x0003
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def mac_bytes(m):
    return bytes(int(x, 16) for x in m.split(":"))


def frame(src_mac, dst_mac, src, dst, sport, dport, seq, ack, flags, opts=b"", payload=b""):
    """Ethernet + IPv4 + TCP with correct checksums; opts padded to 4 bytes
    by the caller (a malformed list is the point of some probes)."""
    assert len(opts) % 4 == 0
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, 64240, 0, 0)
    tcp += opts + payload
    pseudo = saddr + daddr + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.randrange(65536), 0x4000,
                     64, 6, 0, saddr, daddr)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + struct.pack("!H", ETH_P_IP) + ip + tcp


def parse_tcp(data):
    """(saddr, daddr, sport, dport, seq, ack, flags) of an IPv4/TCP frame, or None."""
    if len(data) < 54 or struct.unpack("!H", data[12:14])[0] != ETH_P_IP or data[23] != 6:
        return None
    ihl = (data[14] & 0x0f) * 4
    t = 14 + ihl
    sport, dport, seq, ack, _, flags = struct.unpack("!HHIIBB", data[t:t + 14])
    return (socket.inet_ntoa(data[26:30]), socket.inet_ntoa(data[30:34]), sport, dport, seq,
            ack, flags)


def flag_str(f):
    return "".join(c for b, c in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "A"))
                   if f & b) or "-"


def raw_socket(dev):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((dev, ETH_P_ALL))
    return s, s.getsockname()[4]


def flood(a):
    s, src_mac = raw_socket(a.dev)
    dst_mac = mac_bytes(a.dst_mac)
    mss = struct.pack("!BBH", 2, 4, 1460)
    frames = [frame(src_mac, dst_mac, "%s.%d" % (a.net, random.randint(10, 250)), a.dst,
                    random.randint(1024, 65535), a.port, random.getrandbits(32), 0, SYN, mss)
              for _ in range(a.count)]
    chunks = 100
    per = (a.count + chunks - 1) // chunks
    t0 = time.monotonic()
    sent = 0
    for c in range(chunks):
        for f in frames[c * per:(c + 1) * per]:
            while True:
                try:
                    s.send(f)
                    break
                except BlockingIOError:
                    time.sleep(0.0005)
            sent += 1
        delay = t0 + (c + 1) * a.secs / chunks - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print("sent=%d secs=%.2f" % (sent, time.monotonic() - t0))


PROBE_OPTS = {
    "syn": (SYN, struct.pack("!BBH", 2, 4, 1460)),
    "synfin": (SYN | FIN, struct.pack("!BBH", 2, 4, 1460)),
    "null": (0, b""),
    "fin": (FIN, b""),
    # MSS with length 3 (must be 4), then a NOP to pad
    "syn-badmss": (SYN, bytes([2, 3, 5, 1])),
    # NOP NOP, then a timestamps option claiming 10 bytes with 2 left
    "syn-pastend": (SYN, bytes([1, 1, 8, 10])),
}


def probe(a):
    s, src_mac = raw_socket(a.dev)
    flags, opts = PROBE_OPTS[a.kind]
    sport = random.randint(20000, 60000)
    s.send(frame(src_mac, mac_bytes(a.dst_mac), a.src, a.dst, sport, a.port,
                 random.getrandbits(32), 0, flags, opts))
    deadline = time.monotonic() + a.wait
    answer = "none"
    while answer == "none":
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(65536)
        except socket.timeout:
            break
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        t = parse_tcp(data)
        if t and t[0] == a.dst and t[2] == a.port and t[3] == sport:
            answer = flag_str(t[6])
    print("answer=%s" % answer)


def echo(a):
    t0 = time.monotonic()
    data = os.urandom(a.bytes)
    got = bytearray()
    try:
        c = socket.create_connection((a.host, a.port), timeout=a.timeout)
        c.settimeout(a.timeout)
        th = threading.Thread(target=c.sendall, args=(data,), daemon=True)
        th.start()
        while len(got) < len(data):
            b = c.recv(1 << 20)
            if not b:
                break
            got += b
        th.join(a.timeout)
        c.close()
    except OSError as e:
        print("echo failed: %s after %.2f s" % (e, time.monotonic() - t0))
        return 1
    if bytes(got) != data:
        print("echo mismatch: %d of %d bytes back" % (len(got), len(data)))
        return 1
    print("echo ok secs=%.2f" % (time.monotonic() - t0))
    return 0


def twfin(a):
    raw, _ = raw_socket(a.dev)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", a.port))
    ls.listen(1)
    open(a.ready_file, "w").close()
    ls.settimeout(30)
    c, peer = ls.accept()
    while c.recv(65536):
        pass
    c.close()
    # our FIN as the kernel sent it, and the other side's ACK of it
    fin = None
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        raw.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, addr = raw.recvfrom(65536)
        except socket.timeout:
            break
        t = parse_tcp(data)
        if not t or t[1] != peer[0] and t[0] != peer[0]:
            continue
        if addr[2] == socket.PACKET_OUTGOING and t[2] == a.port and t[6] & FIN:
            fin = (data, t[4])
        elif fin and t[0] == peer[0] and t[3] == a.port and t[6] & ACK and t[5] == fin[1] + 1:
            break
    if not fin:
        print("twfin: no FIN of ours seen")
        return 1
    time.sleep(0.2)
    raw.send(fin[0])
    deadline = time.monotonic() + a.wait
    while time.monotonic() < deadline:
        raw.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data, addr = raw.recvfrom(65536)
        except socket.timeout:
            break
        t = parse_tcp(data)
        if (addr[2] != socket.PACKET_OUTGOING and t and t[0] == peer[0] and t[3] == a.port
                and t[6] & ACK and not t[6] & (SYN | FIN | RST) and t[5] == fin[1] + 1):
            print("twfin ack")
            return 0
    print("twfin none")
    return 1


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--dev", required=True)
    f.add_argument("--dst-mac", required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--net", required=True)
    f.add_argument("--count", type=int, default=20000)
    f.add_argument("--secs", type=float, default=2.0)
    q = sub.add_parser("probe")
    q.add_argument("--dev", required=True)
    q.add_argument("--dst-mac", required=True)
    q.add_argument("--dst", required=True)
    q.add_argument("--port", type=int, required=True)
    q.add_argument("--src", required=True)
    q.add_argument("--kind", choices=sorted(PROBE_OPTS), required=True)
    q.add_argument("--wait", type=float, default=1.0)
    e = sub.add_parser("echo")
    e.add_argument("--host", required=True)
    e.add_argument("--port", type=int, required=True)
    e.add_argument("--bytes", type=int, default=1 << 20)
    e.add_argument("--timeout", type=float, default=5.0)
    w = sub.add_parser("twfin")
    w.add_argument("--dev", required=True)
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--ready-file", required=True)
    w.add_argument("--wait", type=float, default=2.0)
    a = p.parse_args()
    return {"flood": flood, "probe": probe, "echo": echo, "twfin": twfin}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
