#!/usr/bin/env python3
"""tcp_conv_pcap.py - writes OUT.pcap: the frames of one TCP conversation between 10.9.0.1 and 10.9.0.2 (handshake, 1, 200 and 1400 bytes echoed with their ACKs, both FINs), Ethernet, valid checksums."""
import struct
import sys
import time

A = (bytes.fromhex("020000000001"), bytes([10, 9, 0, 1]), 40270)
B = (bytes.fromhex("020000000002"), bytes([10, 9, 0, 2]), 7007)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, seq, ack, flags, payload=b""):
    opts = b"\x02\x04\x05\xb4\x01\x01\x04\x02" if flags & 0x02 else b""
    doff = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", src[2], dst[2], seq, ack, doff << 4, flags, 64240, 0, 0)
    tcp += opts + payload
    pseudo = src[1] + dst[1] + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0x1234, 0x4000, 64, 6, 0,
                     src[1], dst[1])
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst[0] + src[0] + b"\x08\x00" + ip + tcp


def conversation():
    sa, sb = 1000, 5000
    yield frame(A, B, sa, 0, 0x02)
    yield frame(B, A, sb, sa + 1, 0x12)
    sa, sb = sa + 1, sb + 1
    yield frame(A, B, sa, sb, 0x10)
    for n in (1, 200, 1400):
        data = b"x" * n
        yield frame(A, B, sa, sb, 0x18, data)
        sa += n
        yield frame(B, A, sb, sa, 0x18, data)
        sb += n
        yield frame(A, B, sa, sb, 0x10)
    yield frame(A, B, sa, sb, 0x11)
    yield frame(B, A, sb, sa + 1, 0x11)
    yield frame(A, B, sa + 1, sb + 1, 0x10)


def main():
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = time.time()
        for i, fr in enumerate(conversation()):
            ts = t + i * 0.001
            f.write(struct.pack("<IIII", int(ts), int((ts % 1) * 1e6), len(fr), len(fr)))
            f.write(fr)


if __name__ == "__main__":
    main()
