#!/usr/bin/env python3
"""loss_pcap.py - judge a TCP sender's loss recovery from a pcap taken on its side of the link.

usage: loss_pcap.py PCAP SENDER_IP [--grace-ms G] [--rto-ms R] [--stall-ms S]

Reads one bulk flow from SENDER_IP (the data) and its ACKs (to SENDER_IP),
drops ACKs whose IPv4 or TCP checksum is wrong (the relay corrupts some;
the sender drops them too), and prints one line of counts:

  data=N retx=N sacked_resent=N rto=N rto_after_sack=N acks=N bad_csum=N retx_clocked=N

  retx            data segments that start below the highest sequence sent
  sacked_resent   retransmissions of data wholly covered by SACK blocks the
                  sender had received at least G ms earlier (default 2 ms:
                  the time from the capture point into the engine)
  rto             timeouts: a retransmission of the segment at the
                  cumulative ACK R ms (default 199; the engine's RTO floor
                  is 200 ms, as Linux's) or more after the cumulative ACK last moved,
                  followed within 10 ms by a go-back (a retransmission of
                  unSACKed data above every SACK block, short of the
                  tail)
  rto_after_sack  of those, the ones where three or more segments above
                  the cumulative ACK had been SACKed (RACK should have
                  found that loss)
  retx_clocked    retransmissions sent while ACKs kept arriving (the last
                  one less than S ms before, default 10): decisions of
                  RACK's reordering window, not of a timer after an ACK
                  stall (a busy shared host holds ACKs for tens of ms)

Exit 0 when the file was read; the caller judges the counts.
"""
import struct
import sys


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def seq_lt(a, b):
    return ((a - b) & 0xFFFFFFFF) > 0x7FFFFFFF


def seq_le(a, b):
    return a == b or seq_lt(a, b)


def frames(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            raise SystemExit("%s: not a pcap file" % path)
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            end, nano = "<", magic == 0xA1B23C4D
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            end, nano = ">", magic == 0x4D3CB2A1
        else:
            raise SystemExit("%s: not a pcap file (magic %#x)" % (path, magic))
        linktype = struct.unpack(end + "I", hdr[20:24])[0]
        if linktype != 1:
            raise SystemExit("%s: link type %d, want Ethernet" % (path, linktype))
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            sec, frac, incl, _ = struct.unpack(end + "IIII", rh)
            data = f.read(incl)
            yield sec + frac / (1e9 if nano else 1e6), data


def parse(data):
    """(src, dst, seq, ack, flags, payload_len, sack_blocks, csum_ok) or None."""
    off = 14
    etype = struct.unpack("!H", data[12:14])[0]
    while etype in (0x8100, 0x88A8):
        etype = struct.unpack("!H", data[off + 2:off + 4])[0]
        off += 4
    if etype != 0x0800 or len(data) < off + 20:
        return None
    ip = data[off:]
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    if ip[9] != 6 or len(ip) < ihl + 20:
        return None
    # The relay corrupts headers too: a length that cannot hold the
    # headers is a damaged frame, never a segment of the transfer.
    if ihl < 20 or tot < ihl + 20 or ihl + (ip[ihl + 12] >> 4) * 4 > tot:
        return None
    src, dst = ip[12:16], ip[16:20]
    tcp = ip[ihl:tot]
    doff = (tcp[12] >> 4) * 4
    seq, ack = struct.unpack("!II", tcp[4:12])
    flags = tcp[13]
    plen = tot - ihl - doff
    ok = False
    if len(ip) >= tot:  # whole frame captured: checksums can be verified
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
        ok = csum16(ip[:ihl]) == 0xFFFF and csum16(pseudo + tcp) == 0xFFFF
    sacks = []
    o = 20
    while o < doff and o < len(tcp):
        k = tcp[o]
        if k == 0:
            break
        if k == 1:
            o += 1
            continue
        if o + 1 >= len(tcp) or tcp[o + 1] < 2:
            break
        ln = tcp[o + 1]
        if k == 5:
            for b in range(o + 2, o + ln - 7, 8):
                sacks.append(struct.unpack("!II", tcp[b:b + 8]))
        o += ln
    return src, dst, seq, ack, flags, plen, sacks, ok


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    path, sender = args[0], bytes(int(x) for x in args[1].split("."))
    grace, rto_gap, stall = 0.002, 0.199, 0.010
    i = 2
    while i < len(args):
        if args[i] == "--grace-ms":
            grace = float(args[i + 1]) / 1000
        elif args[i] == "--rto-ms":
            rto_gap = float(args[i + 1]) / 1000
        elif args[i] == "--stall-ms":
            stall = float(args[i + 1]) / 1000
        else:
            raise SystemExit("unknown option %s" % args[i])
        i += 2

    base = None          # first data sequence: positions are relative to it
    snd_max = None       # highest end sent
    una = None           # highest cumulative ACK seen (good checksum)
    una_t = 0.0          # when it last moved
    pieces = []          # disjoint SACKed [start, end, time first known], above una
    mss = 0
    cand = None          # a retransmission at una that may be a timeout
    ack_t = None         # when the last good ACK arrived
    c = dict(data=0, retx=0, sacked_resent=0, rto=0, rto_after_sack=0, acks=0, bad_csum=0,
             retx_clocked=0)

    def rel(v):
        return (v - base) & 0xFFFFFFFF

    for t, data in frames(path):
        # The relay corrupts any byte, options included: a frame whose
        # fields do not hold together is damaged (its checksum is bad),
        # never a segment of the transfer.
        try:
            p = parse(data)
        except (IndexError, struct.error):
            p = None
        if not p:
            continue
        src, dst, seq, ack, flags, plen, sacks, ok = p
        if src == sender and plen > 0:
            c["data"] += 1
            mss = max(mss, plen)
            if base is None:
                base = seq
            s0, e0 = rel(seq), rel(seq) + plen
            if snd_max is not None and s0 < snd_max:
                c["retx"] += 1
                if ack_t is not None and t - ack_t < stall:
                    c["retx_clocked"] += 1
                if covered(pieces, s0, e0, t - grace):
                    c["sacked_resent"] += 1
                if una is not None and s0 == una and t - una_t >= rto_gap:
                    # a timeout candidate: confirmed below by a go-back
                    known = sum(e - s for s, e, tl in pieces if tl <= t - grace)
                    top = max([e for s, e, tl in pieces] + [una + plen])
                    cand = [t, top, snd_max, mss and known >= 3 * mss]
                elif (cand and t - cand[0] <= 0.01 and cand[1] <= s0 and e0 < cand[2] and
                      all(e <= s0 for s, e, tl in pieces if tl <= t - grace)):
                    # resending unSACKed data above every SACK block (known
                    # at the timeout and still now) and short of the tail:
                    # only a timeout goes back so (RACK resends holes below
                    # SACKed data, a tail loss probe the last segment; the
                    # ACKs after an ACK stall can show a hole above the
                    # blocks known at the timeout, which RACK then resends)
                    c["rto"] += 1
                    c["rto_after_sack"] += 1 if cand[3] else 0
                    cand = None
            if snd_max is None or e0 > snd_max:
                snd_max = e0
        elif dst == sender and (flags & 0x10) and base is not None:
            if not ok:
                c["bad_csum"] += 1
                continue
            c["acks"] += 1
            ack_t = t
            a = rel(ack)
            if a > 0x7FFFFFFF:
                continue  # below the first data byte (the handshake)
            if una is None or a > una:
                una, una_t = a, t
                pieces = [[max(s, una), e, tl] for s, e, tl in pieces if e > una]
            for l, r in sacks:
                l, r = rel(l), rel(r)
                if r <= una or l > 0x7FFFFFFF or r <= l:
                    continue  # D-SACK below the cumulative ACK, or junk
                pieces = add(pieces, max(l, una), r, t)
    print(" ".join("%s=%d" % kv for kv in c.items()))


def add(pieces, l, r, t):
    """Add [l, r) learnt at t: only the parts not known yet get time t."""
    out = []
    for s, e, tl in pieces:
        if l < s and l < r:
            out.append([l, min(r, s), t])
        out.append([s, e, tl])
        l = max(l, e)
    if l < r:
        out.append([l, r, t])
    return out


def covered(pieces, s0, e0, before):
    """[s0, e0) wholly inside pieces known at or before `before`."""
    pos = s0
    for s, e, tl in pieces:
        if e <= pos:
            continue
        if s > pos or tl > before:
            return False
        pos = e
        if pos >= e0:
            return True
    return pos >= e0


if __name__ == "__main__":
    main()
