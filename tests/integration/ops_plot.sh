#!/usr/bin/env bash
# ops_plot.sh - flextoe-bpf trace --plot (issue 11): the engine sends to Linux through the impair
# relay with losses while trace runs (JSON) with --plot; the picture is a valid SVG (then a
# PNG of a second transfer), the plot's data file holds exactly the trace's records of the
# drawn connection (time, direction, sequence, length, retransmission and out-of-order marks,
# cwnd, srtt, and the SACK blocks of the peer's ACKs, read here from the trace's pcap of the same
# records), retransmissions and SACK blocks are among them, and the JSON records are in time order
# across the rx-post and tx-post rings.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/impair.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
export FTOE_BUILD=$BUILD
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
BPF=$BIN/flextoe-bpf
BYTES=${OPS_PLOT_BYTES:-$((2 << 20))}
SEED=${OPS_PLOT_SEED:-$(( (RANDOM << 15) | RANDOM ))}
PEER=tests/tools/traffic/bulk_peer.py
need_files "$BIN/flextoe" "$BIN/flextoe-bulk" "$BPF" "$BUILD/tests/tools/impair" \
	"$BUILD/xdp-progs/tcp_trace.bpf.o"
need_tools python3 gnuplot

ns_init
TMP=$(mktemp -d /tmp/ftoe-ops-plot.XXXXXX)
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
ENG_IP=10.95.0.5
KERN_IP=10.95.0.1
PEER_IP=10.95.0.2

ns_add eng && ns_add peer
t_check "impaired link up (3% loss, 1 ms, seed $SEED)" \
	impair_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24 --loss 3 --delay 1 --seed "$SEED"
trap '_impair_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
t_check "engine starts" engine_start eng $ENG_IP/24
t_check "loaderd is up" engine_sockets

# traced PORT PLOTFILE TAG: engine -> Linux BYTES on PORT while trace --plot runs
traced() {
	local port=$1 plot=$2 tag=$3 tr
	"$BPF" trace port "$port" --format json --plot "$plot" -w "$TMP/$tag.pcap" \
		>"$TMP/$tag.json" 2>"$TMP/$tag.err" &
	tr=$!
	wait_cmd 10 grep -q "tracing at rx-post" "$TMP/$tag.err" || { cat "$TMP/$tag.err" >&2; return 1; }
	ns_bg peer python3 $PEER recv $PEER_IP "$port" >"$TMP/$tag.rcv" 2>&1
	wait_for "$TMP/$tag.rcv" listening >/dev/null || return 1
	ns_exec eng timeout 120 "$BIN/flextoe-bulk" --connect $PEER_IP:"$port" --send "$BYTES" \
		>"$TMP/$tag.snd" 2>&1
	wait_for "$TMP/$tag.rcv" "^bytes=" 20 >/dev/null || return 1
	sleep 0.3
	kill -INT $tr
	wait $tr || { cat "$TMP/$tag.err" >&2; return 1; }
	grep -h "plotted" "$TMP/$tag.err" | sed 's/^/# /'
}
t_check "trace --plot of a lossy transfer (engine -> Linux, $BYTES bytes) ends well" \
	traced 7400 "$TMP/conn.svg" svg

# judge: the data file against the JSON records of the drawn connection, and its SACK columns
# against the TCP options of the same records' frames in the pcap (-w)
cat >"$TMP/judge.py" <<'PY'
import json, struct, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def pcap_frames(path):
    d = open(path, "rb").read()
    end = "<" if d[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    o, out = 24, []
    while o + 16 <= len(d):
        incl = struct.unpack(end + "I", d[o + 8:o + 12])[0]
        out.append(d[o + 16:o + 16 + incl]); o += 16 + incl
    return out
def sacks(f):
    o, t = 14, struct.unpack(">H", f[12:14])[0]
    while t in (0x8100, 0x88a8): t = struct.unpack(">H", f[o + 2:o + 4])[0]; o += 4
    if t == 0x0800: o += (f[o] & 15) * 4
    elif t == 0x86dd: o += 40
    else: return []
    opts, i, out = f[o + 20:o + (f[o + 12] >> 4) * 4], 0, []
    while i < len(opts) and opts[i] != 0:
        if opts[i] == 1: i += 1; continue
        if i + 1 >= len(opts) or opts[i + 1] < 2: break
        if opts[i] == 5:
            b = opts[i + 2:i + opts[i + 1]]
            out += [struct.unpack(">II", b[k:k + 8]) for k in range(0, len(b) - 7, 8)]
        i += opts[i + 1]
    return out[:4]
frames = pcap_frames(sys.argv[1][:-5] + ".pcap")
rows = [l.split() for l in open(sys.argv[2]) if not l.startswith("#")]
def key(r):
    a, b = (r["saddr"], r["sport"]), (r["daddr"], r["dport"])
    return (min(a, b), max(a, b)), a < b or a == b
# the connection and direction that carried the most payload, as --plot picks it
tot = {}
for r in recs:
    k, a_src = key(r)
    tot[(k, a_src)] = tot.get((k, a_src), 0) + r["len"]
(best, from_a), _ = max(tot.items(), key=lambda kv: kv[1])
mine = [r for r in recs if key(r)[0] == best]
base = None
bad = []
if len(mine) != len(rows):
    bad.append("trace has %d records of the connection, the data file %d rows" % (len(mine), len(rows)))
if len(frames) != len(recs):
    bad.append("the pcap has %d frames, the trace %d records" % (len(frames), len(recs)))
for i, r in enumerate(recs): r["frame"] = frames[i] if i < len(frames) else b""
nsack = 0
for r, row in zip(mine, rows):
    data = key(r)[1] == from_a
    if data and base is None:
        base = (r["seq"] + (1 if "S" in r["flags"] else 0)) & 0xffffffff
    rel = lambda x: ((x - base + 2**31) & 0xffffffff) - 2**31
    cwnd = r.get("cwnd", r.get("rate"))
    want = ["%.6f" % r["time"], r["dir"], str(int(data)),
            str(rel(r["seq"]) if data else 0), str(rel(r["seq"] + r["len"]) if data else 0),
            str(rel(r["ack"]) if not data and "." in r["flags"] else 0), str(r["len"]),
            str(int(r["retransmit"])), str(int(r["ooo"])), str(cwnd), str(int("rate" in r)), str(r["srtt_us"])]
    got = [row[0]] + row[2:14]
    sk = sacks(r["frame"]) if not data and base is not None and "." in r["flags"] else []
    nsack += bool(sk)
    flat = [x for s, e in sk for x in (rel(s), rel(e))]
    want += [str(len(sk))] + [str(x) for x in flat + [0] * (8 - len(flat))]
    got += row[14:]
    if got != want:
        bad.append("record %s: data file %s" % (want, got))
retx = sum(1 for r in mine if r["retransmit"])
inv = sum(1 for a, b in zip(recs, recs[1:]) if b["time"] < a["time"])
print("records=%d drawn=%d retransmissions=%d ooo=%d sack_acks=%d out_of_time_order=%d mismatches=%d" % (
      len(recs), len(rows), retx, sum(1 for r in mine if r["ooo"]), nsack, inv, len(bad)))
for b in bad[:5]: print("bad", b)
what = sys.argv[3]
if what == "rows": sys.exit(1 if bad or not rows else 0)
if what == "retx": sys.exit(0 if retx > 0 and sum(int(r[8]) for r in rows) == retx else 1)
if what == "order": sys.exit(0 if inv == 0 else 1)
if what == "sack": sys.exit(0 if nsack > 0 and sum(1 for r in rows if int(r[13])) == nsack else 1)
PY
python3 "$TMP/judge.py" "$TMP/svg.json" "$TMP/conn.svg.dat" rows | sed 's/^/# /'
t_check "the data file holds exactly the trace's records of the drawn connection" \
	python3 "$TMP/judge.py" "$TMP/svg.json" "$TMP/conn.svg.dat" rows
t_check "the transfer had retransmissions, drawn as such (retransmit rows = trace's)" \
	python3 "$TMP/judge.py" "$TMP/svg.json" "$TMP/conn.svg.dat" retx
t_check "the peer's ACKs carried SACK blocks, drawn as such (SACK rows = the pcap's)" \
	python3 "$TMP/judge.py" "$TMP/svg.json" "$TMP/conn.svg.dat" sack
t_check "the JSON records are in time order across the rx-post and tx-post rings" \
	python3 "$TMP/judge.py" "$TMP/svg.json" "$TMP/conn.svg.dat" order
svg_ok() {
	python3 - "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
text = open(sys.argv[1]).read()
ok = root.tag == "{http://www.w3.org/2000/svg}svg" and all(
    w in text for w in ("retransmission", "SACK", "relative sequence", "srtt")) and ("cwnd" in text or "rate" in text)
sys.exit(0 if ok else 1)
PY
}
t_check "the picture is a valid SVG with the three panels' labels" svg_ok "$TMP/conn.svg"

t_check "trace --plot FILE.png of a second transfer ends well" traced 7401 "$TMP/conn.png" png
t_check "the PNG is a PNG (signature and IHDR, 1000x900)" python3 -c "
import struct, sys
d = open('$TMP/conn.png', 'rb').read()
sys.exit(not (d[:8] == b'\x89PNG\r\n\x1a\n' and d[12:16] == b'IHDR' and struct.unpack('>II', d[16:24]) == (1000, 900)))"
t_check "its data file holds exactly the trace's records too" \
	python3 "$TMP/judge.py" "$TMP/png.json" "$TMP/conn.png.dat" rows
bad_plot() {
	local out rc
	out=$("$BPF" trace port 1 --plot "$TMP/x.jpg" --duration 1 2>&1); rc=$?
	[[ $rc -eq 2 && $out == *"must end in .svg or .png"* ]] || { echo "rc=$rc: $out" >&2; return 1; }
}
t_check "--plot x.jpg: usage error before anything is attached" bad_plot
[[ -n ${OPS_PLOT_KEEP:-} ]] && cp "$TMP/conn.svg" "$OPS_PLOT_KEEP"
t_summary
