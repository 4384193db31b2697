#!/usr/bin/env bash
# engine_faults.sh - the flextoe daemon and flextoe-bulk through an impaired link (2% loss,
# 25% reorder, 2% dup, 0.5% corrupt, 1 +- 0.5 ms, both directions): SHA-256 equal both ways,
# and the Linux end never goes more than 5 s without progress.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/impair.sh

BUILD=${FTOE_BUILD:-build}
export FTOE_BUILD=$BUILD
BIN=$PWD/$BUILD/bin
# Sizes, stall limit and subnet can be overridden (ENGINE_FAULTS_OUT_BYTES,
# ENGINE_FAULTS_IN_BYTES, ENGINE_FAULTS_MAX_GAP seconds, ENGINE_FAULTS_NET as
# "10.N"); ENGINE_FAULTS_SEED replays one fault pattern; ENGINE_FAULTS_IPV6=1 runs the
# transfers over IPv6 (the engine given an IPv6 address too; tests/integration/ipv6_faults.sh).
OUT_BYTES=${ENGINE_FAULTS_OUT_BYTES:-$((64 << 20))}
# Linux -> engine goes through the engine's out-of-order intervals and SACK
# blocks (core/ooo.h, docs/loss.md), so Linux recovers by SACK rather than
# its RTO; tests/integration/loss_rx.sh checks the blocks against a capture.
IN_BYTES=${ENGINE_FAULTS_IN_BYTES:-$((64 << 20))}
MAX_GAP=${ENGINE_FAULTS_MAX_GAP:-5}
NET=${ENGINE_FAULTS_NET:-10.82}
for b in flextoe flextoe-bulk; do
	if [[ ! -x $BIN/$b ]]; then
		echo "missing $BIN/$b (run make)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-engine-faults.XXXXXX)

ENG_IP=$NET.0.5
PEER_IP=$NET.0.2
# the addresses the transfers use: IPv4, or IPv6 with ENGINE_FAULTS_IPV6=1
ENG_ADDR=$ENG_IP PEER_ADDR=$PEER_IP ENG_CONNECT=$PEER_IP V6_ARGS=
if [[ ${ENGINE_FAULTS_IPV6:-0} == 1 ]]; then
	N6=$(printf '%x' "${NET#10.}")
	ENG_ADDR=fd00:$N6::5 PEER_ADDR=fd00:$N6::2 ENG_CONNECT="[fd00:$N6::2]"
	V6_ARGS="--ip fd00:$N6::5/64"
fi
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
SEED=${ENGINE_FAULTS_SEED:-$(( (RANDOM << 15) | RANDOM ))}

ns_add eng && ns_add peer
# engine:veth0 <-> [impair] <-> peer:veth1; the kernel keeps $NET.0.1 on veth0
t_check "impaired link up (seed $SEED)" impair_link eng veth0 $NET.0.1/24 peer veth1 $PEER_IP/24 \
	--loss 2 --reorder 25 --dup 2 --corrupt 0.5 --delay 1 --jitter 0.5 --seed "$SEED"
[[ -z $V6_ARGS ]] || ip -n "$(ns_name peer)" addr add $PEER_ADDR/64 dev veth1 nodad
# (after impair_link, which sets its own cleanup trap)
trap '_impair_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT

wait_for() { # FILE PATTERN [SECONDS]
	local n=$((${3:-10} * 20))
	for _ in $(seq $n); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2
	return 1
}

cat >"$TMP/bulk_peer.py" <<'PY'
# send HOST PORT BYTES | recv HOST PORT: Linux end of a bulk transfer.  Prints
# bytes=N sha256=HEX secs=S maxgap=G, G the longest time without progress
# (a sent or received chunk), counted from the connection's start.
import hashlib, os, signal, socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = hashlib.sha256(); n = 0
gap = 0.0
t0 = last = time.monotonic()
def on_term(sig, frame):    # timeout(1) gave up: say how far we got
    print("stopped: bytes=%d after %.3f s, maxgap=%.3f, last progress %.3f s ago"
          % (n, time.monotonic() - t0, gap, time.monotonic() - last), flush=True)
    os._exit(1)
signal.signal(signal.SIGTERM, on_term)
def tick(last):
    global gap
    t = time.monotonic()
    gap = max(gap, t - last)
    return t
if mode == "send":
    total = int(sys.argv[4])
    chunk = os.urandom(1 << 20)
    s = socket.create_connection((host, port), timeout=60)
    t0 = last = time.monotonic()
    while n < total:
        c = chunk[(n & 0xfffff): (n & 0xfffff) + min(16384, total - n)]
        s.sendall(c); h.update(c); n += len(c)
        last = tick(last)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)           # the engine's close
    last = tick(last)
    s.close()
else:
    ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept(); s.settimeout(60)
    t0 = last = time.monotonic()
    while True:
        b = s.recv(1 << 20)
        last = tick(last)
        if not b: break
        h.update(b); n += len(b)
    s.close()
print("bytes=%d sha256=%s secs=%.3f maxgap=%.3f" % (n, h.hexdigest(), time.monotonic() - t0, gap),
      flush=True)
PY

# ENGINE_FAULTS_ENGINE_ARGS: more engine flags (engine_workers.sh: --workers 4 --flow-groups 2)
# shellcheck disable=SC2086
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 $V6_ARGS --run-dir "$RUN" ${ENGINE_FAULTS_ENGINE_ARGS:-} \
	>"$TMP/eng.log" 2>&1
t_check "engine starts behind the impaired link" wait_for "$TMP/eng.log" "ready:"

# check_result TAG ENGINE_OUT PEER_OUT BYTES
check_result() {
	local tag=$1 a b gap
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$2")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$3")
	[[ -n $a && $a == "$b" && $a == "bytes=$4 "* ]] || {
		echo "$tag: engine: ${a:-$(tail -n3 "$2")} peer: ${b:-$(tail -n3 "$3")}" >&2
		return 1
	}
}
max_gap_ok() { # PEER_OUT LIMIT
	local g
	g=$(grep -o 'maxgap=[0-9.]*' "$1" | cut -d= -f2)
	[[ -n $g ]] && awk -v g="$g" -v m="$2" 'BEGIN { exit !(g <= m) }'
}

# ---- engine -> Linux --------------------------------------------------------------
bulk_out() { # ATTEMPT
	ns_bg peer python3 "$TMP/bulk_peer.py" recv $PEER_ADDR $((7200 + $1)) >"$TMP/out.peer" 2>&1
	wait_for "$TMP/out.peer" listening >/dev/null
	ns_exec eng timeout 90 "$BIN/flextoe-bulk" --connect "$ENG_CONNECT:$((7200 + $1))" \
		--send $OUT_BYTES >"$TMP/out.eng" 2>&1
	wait_for "$TMP/out.peer" "^bytes=" 5 >/dev/null
	echo "# engine -> Linux: $OUT_BYTES bytes; engine: $(tail -n1 "$TMP/out.eng"); Linux: $(tail -n1 "$TMP/out.peer")"
}
bulk_out 1
t_check "engine -> Linux: $OUT_BYTES bytes through the faults, SHA-256 equal" \
	check_result out "$TMP/out.eng" "$TMP/out.peer" $OUT_BYTES
t_check "engine -> Linux: no stall over ${MAX_GAP} s on the Linux receiver ($(grep -o 'maxgap=[0-9.]*' "$TMP/out.peer"))" \
	max_gap_ok "$TMP/out.peer" $MAX_GAP

# ---- Linux -> engine --------------------------------------------------------------
ns_bg eng "$BIN/flextoe-bulk" --listen 7200 --recv >"$TMP/in.eng" 2>&1
wait_for "$TMP/in.eng" listening >/dev/null
ns_exec peer timeout 90 python3 "$TMP/bulk_peer.py" send $ENG_ADDR 7200 $IN_BYTES \
	>"$TMP/in.peer" 2>&1
wait_for "$TMP/in.eng" "^bytes=" 5 >/dev/null
echo "# Linux -> engine: $IN_BYTES bytes; engine: $(tail -n1 "$TMP/in.eng"); Linux: $(tail -n1 "$TMP/in.peer")"
t_check "Linux -> engine: $IN_BYTES bytes through the faults, SHA-256 equal" \
	check_result in "$TMP/in.eng" "$TMP/in.peer" $IN_BYTES
t_check "Linux -> engine: no stall over ${MAX_GAP} s on the Linux sender ($(grep -o 'maxgap=[0-9.]*' "$TMP/in.peer"))" \
	max_gap_ok "$TMP/in.peer" $MAX_GAP

# ---- the faults happened ----------------------------------------------------------
# the engine's loss-recovery counters (SIGUSR1 logs them)
kill -USR1 "$(cat "$RUN/flextoe.pid")" 2>/dev/null
wait_for "$TMP/eng.log" "engine tcp:" 2 >/dev/null 2>&1 &&
	grep "engine tcp:" "$TMP/eng.log" | tail -n1 | sed 's/^/# /'
# with several queues (IMPAIR_QUEUES): how many carried TCP
grep -o 'queue [0-9]*: rx [0-9]* (tcp [0-9]*' "$TMP/eng.log" | sort -u |
	awk '$6 > 0 { n++ } END { if (NR > 1) print "# queues that received TCP: " n + 0 " of " NR }'
impair_stop >"$TMP/impair.final"
sed 's/^/# /' "$TMP/impair.final"
faults_seen() {
	local d c v
	for d in 'a->b' 'b->a'; do
		for c in dropped reordered duplicated corrupted; do
			v=$(impair_counter "$d" $c)
			[[ ${v:-0} -gt 0 ]] || { echo "impair $d $c=${v:-none}" >&2; return 1; }
		done
	done
}
t_check "the relay dropped, reordered, duplicated and corrupted frames both ways" faults_seen
t_check "the engine is still running" sh -c "kill -0 \$(cat '$RUN/flextoe.pid')"
if [[ " ${ENGINE_FAULTS_ENGINE_ARGS:-} " == *" --flow-groups "* ]]; then
	# corrupted frames fail pre-processing: their numbers are retired at the
	# reorder point, and nothing stays in flight behind them (no stall)
	grep 'flow groups: reorder point' "$TMP/eng.log" | tail -n1 | sed 's/^/# /'
	t_check "flow groups: corrupted frames retired their numbers, none left in flight" sh -c \
		"grep 'flow groups: reorder point' '$TMP/eng.log' | tail -n1 |
		 grep -Eq 'retired [1-9][0-9]* \(malformed.*in flight 0\$'"
fi

t_summary
