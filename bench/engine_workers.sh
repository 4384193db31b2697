#!/usr/bin/env bash
# engine_workers.sh - x86 single-connection 64-byte echo RPC throughput with --workers 1 against
# --workers 2 (pipe.c) and --workers 2/3 --flow-groups 1 and --workers 3 --flow-groups 2
# (fgpipe.c), measured in the same run, alternating the layouts over several rounds; prints
# RPCs/s per layout and the ratios to --workers 1 with their spread.
# ENGINE_WORKERS_CONNS=N: N connections instead of one (RPCs/s over all of them; with several
# connections the two flow groups' protocol stages can run at once).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/engine.sh	# wait_for

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
CLI=$PWD/$BUILD/bench/rpc_client
ROUNDS=${ENGINE_WORKERS_ROUNDS:-10000}	# round trips per measurement
REPEATS=${ENGINE_WORKERS_REPEATS:-3}	# measurements per layout, interleaved
SIZE=64
CONNS=${ENGINE_WORKERS_CONNS:-1}
for b in "$BIN/flextoe" "$BIN/flextoe-echo" "$CLI"; do
	if [[ ! -x $b ]]; then
		echo "engine_workers: $b is missing: run 'make' first" >&2
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-bench-workers.XXXXXX)
trap 'ns_cleanup; rm -rf "$TMP"' EXIT
ENG_IP=10.78.0.5
PEER_IP=10.78.0.2
ns_add eng && ns_add peer
ns_link eng veth0 10.78.0.1/24 peer veth1 $PEER_IP/24
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1

LAYOUTS=("--workers 1" "--workers 2" "--workers 2 --flow-groups 1" "--workers 3 --flow-groups 1"
	 "--workers 3 --flow-groups 2")
declare -A RPS	# RPS[layout index,repeat]

# measure I R: one engine with layout I, flextoe-echo, one connection's RPCs/s
measure() {
	local i=$1 r=$2 run=$TMP/run-$1-$2 log=$TMP/eng-$1-$2.log pid out rc=0
	# shellcheck disable=SC2086
	ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 ${LAYOUTS[$i]} --run-dir "$run" \
		>"$log" 2>&1
	wait_for "$log" "ready:" || return 1
	pid=$(cat "$run/flextoe.pid")
	ns_bg eng env FLEXTOE_RUN_DIR="$run" "$BIN/flextoe-echo" --port 7000 >"$TMP/echo-$i-$r.out" 2>&1
	if wait_for "$TMP/echo-$i-$r.out" listening; then
		out=$(ns_exec peer timeout 120 "$CLI" $ENG_IP 7000 --conns "$CONNS" --rounds "$ROUNDS" \
			--warmup 1000 --size $SIZE 2>&1) || rc=1
		RPS[$i,$r]=$(sed -nE 's/.*rps=([0-9]+).*/\1/p' <<<"$out")
		[[ -n ${RPS[$i,$r]} ]] || { echo "engine_workers: client: $out" >&2; rc=1; }
	else
		rc=1
	fi
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	return $rc
}

echo "== engine_workers: ${SIZE}-byte echo RPCs over $CONNS connection(s), $ROUNDS round trips each,"
echo "   $REPEATS rounds of every layout in turn (Linux client over veth, 1 queue, --poll adaptive)"
rc=0
for r in $(seq "$REPEATS"); do
	for i in "${!LAYOUTS[@]}"; do
		measure "$i" "$r" || rc=1
	done
done

printf '%-32s %10s %10s %10s   %s\n' layout "rps min" "rps med" "rps max" "ratio to --workers 1 (median; min..max per round)"
for i in "${!LAYOUTS[@]}"; do
	vals="" ratios=""
	for r in $(seq "$REPEATS"); do
		vals+=" ${RPS[$i,$r]:-0}"
		ratios+=" $(awk -v a="${RPS[$i,$r]:-0}" -v b="${RPS[0,$r]:-0}" 'BEGIN { printf "%.3f", b ? a / b : 0 }')"
	done
	read -r mn md mx <<<"$(tr ' ' '\n' <<<"$vals" | sed '/^$/d' | sort -n |
		awk '{ v[NR] = $1 } END { print v[1], v[int((NR + 1) / 2)], v[NR] }')"
	read -r rmn rmd rmx <<<"$(tr ' ' '\n' <<<"$ratios" | sed '/^$/d' | sort -n |
		awk '{ v[NR] = $1 } END { print v[1], v[int((NR + 1) / 2)], v[NR] }')"
	printf '%-32s %10s %10s %10s   %s (%s..%s)\n' "${LAYOUTS[$i]}" "$mn" "$md" "$mx" "$rmd" "$rmn" "$rmx"
done
echo "(2 cores shared with the client and the echo application; FlexTOE reports 2.4x on x86"
echo " from many cores per connection: docs/engine.md \"Flow groups\" says what this layout splits)"
exit "$rc"
