# sack_check.py: check a receiver's SACK blocks against the data it received, from a pcap.
#
#   sack_check.py PCAP --receiver ADDR [--sender ADDR]
#
# PCAP (classic pcap, Ethernet) is captured next to the receiver: the data
# segments it holds are the ones it was given, and the ACKs are the ones it
# sent.  Data segments with a bad IPv4 or TCP checksum (corrupted on the way)
# are left out, as the receiver drops them.  For every ACK from the receiver
# carrying a SACK option (RFC 2018 3, RFC 2883):
#   - a D-SACK block (the first block, below the ACK or inside the second
#     block) must cover data received at least twice;
#   - every other block must lie above the ACK, be covered by data received
#     before the ACK was sent, start where a received segment started and end
#     where one ended (its edges are the received data's boundaries);
#   - the ACK carries as many blocks as fit (3 beside timestamps, 4 without)
#     when the receiver holds that many (not checked: unknown from outside).
# Prints a summary line "acks=N sack_acks=N blocks=N dsack=N multi=N bad=N"
# (multi: ACKs with more than one block) and, for each bad block, the reason;
# exits 1 if any block is bad or no SACK block was seen at all.
import argparse, bisect, socket, struct, sys


def csum16(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def frames(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end = ">"
        else:
            sys.exit("sack_check: %s is not a classic pcap file" % path)
        if struct.unpack(end + "I", hdr[20:24])[0] != 1:
            sys.exit("sack_check: %s is not an Ethernet capture" % path)
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            incl, orig = struct.unpack(end + "II", rh[8:16])
            data = f.read(incl)
            if len(data) < incl:
                return
            yield data, incl == orig


class Coverage:
    """Union of received byte ranges, and how often each was received twice."""

    def __init__(self):
        self.starts, self.ends = [], []

    def add(self, a, b):
        i = bisect.bisect_left(self.ends, a)
        j = bisect.bisect_right(self.starts, b)
        if i < j:
            a = min(a, self.starts[i])
            b = max(b, self.ends[j - 1])
        self.starts[i:j] = [a]
        self.ends[i:j] = [b]

    def covers(self, a, b):
        i = bisect.bisect_right(self.starts, a) - 1
        return i >= 0 and self.ends[i] >= b


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pcap")
    ap.add_argument("--receiver", required=True)
    ap.add_argument("--sender")
    args = ap.parse_args()
    rcv = socket.inet_aton(args.receiver)
    snd = socket.inet_aton(args.sender) if args.sender else None

    isn = None               # the sender's ISN (from its SYN), for relative numbers
    once = Coverage()        # received at least once
    twice = Coverage()       # received at least twice (intersections of repeats)
    seg_starts, seg_ends = set(), set()
    acks = sack_acks = blocks = dsack = multi = bad = 0
    truncated = 0

    def rel(x):
        return (x - isn) & 0xFFFFFFFF

    for data, whole in frames(args.pcap):
        if len(data) < 34 or data[12:14] != b"\x08\x00":
            continue
        ip = data[14:]
        ihl = (ip[0] & 15) * 4
        if ip[0] >> 4 != 4 or ip[9] != 6 or len(ip) < ihl + 20:
            continue
        tot = struct.unpack("!H", ip[2:4])[0]
        src, dst = ip[12:16], ip[16:20]
        tcp = ip[ihl:tot]
        # the relay corrupts lengths too: no TCP header, no segment
        if ihl < 20 or len(tcp) < 20:
            continue
        doff = (tcp[12] >> 4) * 4
        seq, ack = struct.unpack("!II", tcp[4:12])
        flags = tcp[13]
        if dst == rcv and (snd is None or src == snd):
            if not whole:
                truncated += 1
                continue
            # checksums: the receiver drops what was corrupted on the way
            if csum16(ip[:ihl]) != 0xFFFF:
                continue
            pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
            if len(tcp) < 20 or csum16(pseudo + tcp) != 0xFFFF:
                continue
            if flags & 0x02:            # SYN
                isn = (seq + 1) & 0xFFFFFFFF
                continue
            plen = len(tcp) - doff
            if isn is None or plen <= 0:
                continue
            a = rel(seq)
            b = a + plen
            if once.covers(a, b):
                twice.add(a, b)
            else:
                # the part seen before is now seen twice
                for s, e in zip(list(once.starts), list(once.ends)):
                    if s < b and e > a:
                        twice.add(max(a, s), min(b, e))
            once.add(a, b)
            seg_starts.add(a)
            seg_ends.add(b)
        elif src == rcv and isn is not None and (flags & 0x10):
            acks += 1
            opts = tcp[20:doff]
            k = 0
            sack = None
            while k < len(opts):
                kind = opts[k]
                if kind == 0:
                    break
                if kind == 1:
                    k += 1
                    continue
                if k + 1 >= len(opts) or opts[k + 1] < 2:
                    break
                if kind == 5:
                    body = opts[k + 2:k + opts[k + 1]]
                    sack = [struct.unpack("!II", body[i:i + 8]) for i in range(0, len(body) - 7, 8)]
                k += opts[k + 1]
            if not sack:
                continue
            sack_acks += 1
            blocks += len(sack)
            multi += len(sack) > 1
            ra = rel(ack)
            bl = [(rel(l), rel(r)) for l, r in sack]
            for i, (l, r) in enumerate(bl):
                if r <= l:
                    bad += 1
                    print("bad: ack %d block %d [%d,%d) is empty" % (ra, i, l, r))
                    continue
                is_dsack = i == 0 and (r <= ra or (len(bl) > 1 and bl[1][0] <= l and r <= bl[1][1]))
                if is_dsack:
                    dsack += 1
                    if not twice.covers(l, r):
                        bad += 1
                        print("bad: ack %d D-SACK [%d,%d) was not received twice" % (ra, l, r))
                    continue
                why = None
                if l <= ra:
                    why = "not above the ACK"
                elif not once.covers(l, r):
                    why = "covers data never received"
                elif l not in seg_starts:
                    why = "left edge is no segment's start"
                elif r not in seg_ends:
                    why = "right edge is no segment's end"
                if why:
                    bad += 1
                    print("bad: ack %d block %d [%d,%d) %s" % (ra, i, l, r, why))
    print("acks=%d sack_acks=%d blocks=%d dsack=%d multi=%d bad=%d truncated=%d"
          % (acks, sack_acks, blocks, dsack, multi, bad, truncated))
    sys.exit(1 if bad or not blocks else 0)


if __name__ == "__main__":
    main()
