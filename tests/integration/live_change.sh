#!/usr/bin/env bash
# live_change.sh - programs loaded, replaced and unloaded at all three hooks, over and over, during
# a 2 GiB transfer each way between the engine and a Linux peer: no byte lost (SHA-256 and count),
# no stall over 1 s, every operation succeeds, and the programs really ran (run counts).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
PROGS=$PWD/$BUILD/xdp-progs
TRACE=$PROGS/tcp_trace.bpf.o
FILTER=$PROGS/filter_deny.bpf.o	# empty deny lists: passes everything
CAPTURE=$PROGS/capture.bpf.o
BYTES=${LIVE_CHANGE_BYTES:-$((2 << 30))}	# long enough for 5 rounds of changes (about 4 s each)
MAX_GAP_MS=1000
need_files "$BIN/flextoe" "$BIN/flextoe-bulk" "$BPF" "$BIN/flextoe-loaderd" "$TRACE" "$FILTER" \
	"$CAPTURE"
need_tools python3

ns_init
TMP=$(mktemp -d /tmp/ftoe-live.XXXXXX)
CHANGER=
trap '[[ -n $CHANGER ]] && kill $CHANGER 2>/dev/null; ns_cleanup; rm -rf "$TMP"' EXIT

PORT_IN=7300	# peer -> engine
PORT_OUT=7301	# engine -> peer

eng_peer 10.95.0

# The Linux end.  send HOST PORT BYTES | recv HOST PORT; prints
#   bytes=N sha256=HEX secs=S max_gap_ms=G
# G is the longest time between two consecutive send()/recv() calls that
# moved bytes, after the first one: the stream made no progress for that
# long.  The send buffer is kept small (256 KiB, a few ms at these rates),
# so a stalled engine shows up as a blocked send() at once.
cat >"$TMP/peer.py" <<'PY'
import hashlib, os, socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = hashlib.sha256(); n = 0; gap = 0.0; last = None
CH = 1 << 16
def progress():
    global last, gap
    now = time.monotonic()
    if last is not None and now - last > gap:
        gap = now - last
    last = now
if mode == "send":
    total = int(sys.argv[4])
    data = memoryview(os.urandom(1 << 20) * 2)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
    s.settimeout(60)
    s.connect((host, port))
    t0 = time.monotonic(); off = 0
    while n < total:
        c = data[off: off + min(CH, total - n)]
        sent = s.send(c)
        h.update(c[:sent]); n += sent; off = (off + sent) % (1 << 20)
        progress()
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    s.close()
else:
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept(); s.settimeout(60)
    t0 = time.monotonic()
    while True:
        b = s.recv(CH)
        if not b: break
        h.update(b); n += len(b)
        progress()
    s.close()
print("bytes=%d sha256=%s secs=%.3f max_gap_ms=%.1f"
      % (n, h.hexdigest(), time.monotonic() - t0, gap * 1000), flush=True)
PY

# ---- the changer: load, replace, unload at every hook until told to stop ------------------
# Each round: tcp_trace at rx-post and tx-post, filter_deny and capture at
# rx-pre; then tcp_trace at rx-post replaced in one swap (--replace), and
# filter_deny replaced by loading a new copy at its priority and unloading
# the old; then every program unloaded.  Before the unloads, list --json
# records each program's run count.  Operations go to ops.log
# ("OK verb ..." / "FAIL verb ... output"), run counts to runs.log
# ("round ID NAME RUN_CNT").
cat >"$TMP/runs.py" <<'PY'
import json, sys
ids = {int(x) for x in sys.argv[2:]}
for h in json.load(sys.stdin):
    for p in h["progs"]:
        if p["id"] in ids:
            print(sys.argv[1], p["id"], h["hook"] + "/" + p["name"], p["run_cnt"])
PY
changer() {
	local round=0 ids out
	op() {	# op VERB ARGS...: run flextoe-bpf, log it; stdout (the id) to $out
		if out=$("$BPF" "$@" 2>&1); then
			echo "OK $*" >>"$TMP/ops.log"
			out=$(tail -n1 <<<"$out")
			return 0
		fi
		echo "FAIL $* :: $out" >>"$TMP/ops.log"
		out=
		return 1
	}
	while [[ ! -e $TMP/stop ]]; do
		round=$((round + 1))
		local t_rx= t_tx= f= c= t_rx2= f2=
		op load "$TRACE" --hook rx-post && t_rx=$out
		op load "$TRACE" --hook tx-post && t_tx=$out
		op load "$FILTER" --hook rx-pre --prio 20 && f=$out
		op load "$CAPTURE" --hook rx-pre --prio 30 && c=$out
		sleep 0.1
		[[ -n $t_rx ]] && op load "$TRACE" --hook rx-post --replace "$t_rx" && t_rx2=$out
		[[ -n $f ]] && op load "$FILTER" --hook rx-pre --prio 20 && f2=$out
		[[ -n $f ]] && op unload "$f"
		sleep 0.1
		ids="$t_rx2 $t_tx $f2 $c"
		"$BPF" list --json 2>/dev/null | python3 "$TMP/runs.py" $round $ids >>"$TMP/runs.log"
		echo "round $round ids $ids" >>"$TMP/rounds.log"
		for id in $ids; do op unload "$id"; done
		sleep 0.05
	done
}

t_check "engine ready" engine_start eng $ENG_IP/24
t_check "loaderd up" wait_cmd 5 test -S "$RUN/loader.sock"

# Both transfers at once: peer -> flextoe-bulk and flextoe-bulk -> peer.
ns_bg eng "$BIN/flextoe-bulk" --listen $PORT_IN --recv >"$TMP/eng_recv.out" 2>&1
t_check "flextoe-bulk listens" wait_cmd 5 grep -q listening "$TMP/eng_recv.out"
ns_bg peer python3 "$TMP/peer.py" recv $PEER_IP $PORT_OUT >"$TMP/peer_recv.out" 2>&1
t_check "the peer listens" wait_cmd 5 grep -q listening "$TMP/peer_recv.out"

changer & CHANGER=$!
START=$SECONDS
ns_bg peer python3 "$TMP/peer.py" send $ENG_IP $PORT_IN "$BYTES" >"$TMP/peer_send.out" 2>&1
ns_bg eng "$BIN/flextoe-bulk" --connect $PEER_IP:$PORT_OUT --send "$BYTES" >"$TMP/eng_send.out" 2>&1
done_both() { grep -q '^bytes=' "$TMP/eng_recv.out" && grep -q '^bytes=' "$TMP/peer_recv.out"; }
t_check "both transfers end (within 150 s)" wait_cmd 150 done_both
touch "$TMP/stop"
wait $CHANGER
CHANGER=
ELAPSED=$((SECONDS - START))

field() { sed -n "s/.*$2=\([^ ]*\).*/\1/p" "$1" | tail -n1; }	# field FILE KEY
for f in eng_recv eng_send peer_recv peer_send; do
	echo "$f: $(grep '^bytes=' "$TMP/$f.out" | tail -n1)"
done
t_check "peer -> engine: $BYTES bytes arrived" test "$(field "$TMP/eng_recv.out" bytes)" = "$BYTES"
t_check "peer -> engine: SHA-256 equal" \
	test -n "$(field "$TMP/eng_recv.out" sha256)" -a \
	"$(field "$TMP/eng_recv.out" sha256)" = "$(field "$TMP/peer_send.out" sha256)"
t_check "engine -> peer: $BYTES bytes arrived" test "$(field "$TMP/peer_recv.out" bytes)" = "$BYTES"
t_check "engine -> peer: SHA-256 equal" \
	test -n "$(field "$TMP/peer_recv.out" sha256)" -a \
	"$(field "$TMP/peer_recv.out" sha256)" = "$(field "$TMP/eng_send.out" sha256)"
gap_ok() { awk -v g="$(field "$1" max_gap_ms)" -v m=$MAX_GAP_MS 'BEGIN { exit !(g != "" && g < m) }'; }
t_check "peer -> engine: longest stall $(field "$TMP/peer_send.out" max_gap_ms) ms < $MAX_GAP_MS ms (sender)" \
	gap_ok "$TMP/peer_send.out"
t_check "engine -> peer: longest stall $(field "$TMP/peer_recv.out" max_gap_ms) ms < $MAX_GAP_MS ms (receiver)" \
	gap_ok "$TMP/peer_recv.out"

ROUNDS=$(wc -l <"$TMP/rounds.log" 2>/dev/null || echo 0)
NOK=$(grep -c '^OK' "$TMP/ops.log" 2>/dev/null); NOK=${NOK:-0}
NFAIL=$(grep -c '^FAIL' "$TMP/ops.log" 2>/dev/null); NFAIL=${NFAIL:-0}
NLOAD=$(grep -c '^OK load' "$TMP/ops.log"); NREPL=$(grep -c -- '^OK load.*--replace' "$TMP/ops.log")
NUNLOAD=$(grep -c '^OK unload' "$TMP/ops.log")
echo "in $ELAPSED s: $ROUNDS rounds, $NOK operations ($NLOAD loads of which $NREPL --replace, $NUNLOAD unloads), $NFAIL failed"
grep '^FAIL' "$TMP/ops.log" | head -5 >&2
t_check "at least 5 rounds of changes during the transfers" test "$ROUNDS" -ge 5
t_check "every load/replace/unload succeeded ($NOK)" test "$NFAIL" -eq 0 -a "$NOK" -gt 0
t_check "loads and unloads balance (every program loaded was unloaded)" \
	test "$NLOAD" -eq "$((NUNLOAD + NREPL))"
# Each round lists 4 programs (the replacement tcp_trace at rx-post, tcp_trace
# at tx-post, the second filter_deny and capture); all must have run while
# attached.  The last round may straddle the end of the transfers.
ran_ok() {
	python3 - "$TMP/runs.log" "$ROUNDS" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
last = int(sys.argv[2])
full = [r for r in rows if int(r[0]) < last]
idle = [r for r in full if int(r[3]) == 0]
per = {}
for r in full:
    per.setdefault(r[2], []).append(int(r[3]))
print("programs listed in rounds 1..%d: %d, with run_cnt 0: %d; median runs: %s"
      % (last - 1, len(full), len(idle),
         ", ".join("%s %d" % (k, sorted(v)[len(v) // 2]) for k, v in sorted(per.items()))))
sys.exit(0 if len(full) == 4 * (last - 1) and not idle else 1)
PY
}
t_check "every attached program counted runs (flextoe-bpf list)" ran_ok
nprogs() { "$BPF" list --json | python3 -c "import json,sys; print(sum(len(h['progs']) for h in json.load(sys.stdin)))"; }
t_check "no program left attached" test "$(nprogs)" = 0
t_check "the engine is still running" kill -0 "$(cat "$RUN/flextoe.pid")"

t_summary
