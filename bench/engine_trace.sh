#!/usr/bin/env bash
# engine_trace.sh - what tcp_trace costs the engine: single-connection bulk throughput (both
# directions) and 64-byte echo RPC latency against flextoe-echo, with no program attached and with
# tcp_trace at rx-post and tx-post drained by `flextoe-bpf trace`; prints both and traced/untraced.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/engine.sh	# wait_for

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
CLI=$PWD/$BUILD/bench/rpc_client
BYTES=${ENGINE_TRACE_BYTES:-$((128 << 20))}
ROUNDS=${ENGINE_TRACE_ROUNDS:-20000}
REPS=${ENGINE_TRACE_REPS:-2}	# untraced/traced pairs, interleaved; best of each is kept
for b in "$BIN/flextoe" "$BIN/flextoe-bulk" "$BIN/flextoe-echo" "$BIN/flextoe-bpf" \
	 "$BIN/flextoe-loaderd" "$CLI" "$PWD/$BUILD/xdp-progs/tcp_trace.bpf.o"; do
	if [[ ! -e $b ]]; then
		echo "engine_trace: $b is missing: run 'make' first" >&2
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-engine-trace.XXXXXX)
TRACER=
trap '[[ -n $TRACER ]] && kill $TRACER 2>/dev/null; ns_cleanup; rm -rf "$TMP"' EXIT

ENG_IP=10.95.0.5	# the engine's address
KERN_IP=10.95.0.1	# the kernel's address on the engine's veth
PEER_IP=10.95.0.2	# the Linux peer
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24   # tx checksum offload off
# wire-sized frames (the engine's AF_XDP frames hold one MTU), as engine_bulk
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1

# The Linux end, as in engine_bulk.sh: no hashing; the receiver times
# accept -> end of stream.

declare -A V	# V[mode,metric] = best figure over the reps
best() { # MODE METRIC VALUE higher|lower
	local k="$1,$2" cur=${V[$1,$2]:-}
	if [[ -z $cur ]] || awk -v a="$3" -v b="$cur" -v d="$4" \
		'BEGIN { exit !(d == "higher" ? a > b : a < b) }'; then
		V[$k]=$3
	fi
}
port=7100
gbps_of() { # FILE: the receiver's gbps, checking the byte count
	local line
	line=$(grep -E '^bytes=' "$1" | tail -n1)
	if [[ $line != "bytes=$BYTES "* ]]; then
		echo "engine_trace: expected bytes=$BYTES, receiver said: ${line:-nothing}" >&2
		return 1
	fi
	sed -n 's/.*gbps=\([0-9.]*\).*/\1/p' <<<"$line"
}
bulk_in() { # MODE: Linux -> engine (flextoe-bulk receives and times it)
	local g
	port=$((port + 1))
	ns_bg eng "$BIN/flextoe-bulk" --listen $port --recv >"$TMP/$port.recv" 2>&1
	wait_for "$TMP/$port.recv" listening || return 1
	ns_exec peer timeout 120 python3 "$PWD/bench/peer.py" send $ENG_IP $port "$BYTES" >/dev/null 2>&1
	wait_for "$TMP/$port.recv" '^bytes=' || return 1
	g=$(gbps_of "$TMP/$port.recv") || return 1
	best "$1" to_engine "$g" higher
	printf '  %-9s Linux -> engine  %s Gbit/s\n' "$1" "$g"
}
bulk_out() { # MODE: engine -> Linux (the Linux receiver times it)
	local g
	port=$((port + 1))
	ns_bg peer python3 "$PWD/bench/peer.py" recv $PEER_IP $port >"$TMP/$port.recv" 2>&1
	wait_for "$TMP/$port.recv" listening || return 1
	ns_exec eng timeout 120 "$BIN/flextoe-bulk" --connect $PEER_IP:$port --send "$BYTES" \
		>/dev/null 2>&1
	wait_for "$TMP/$port.recv" '^bytes=' || return 1
	g=$(gbps_of "$TMP/$port.recv") || return 1
	best "$1" from_engine "$g" higher
	printf '  %-9s engine -> Linux  %s Gbit/s\n' "$1" "$g"
}
rpc() { # MODE: 1 connection, 64-byte echo against flextoe-echo
	local out p50 p99 p999
	out=$(ns_exec peer timeout 120 "$CLI" $ENG_IP 7000 --conns 1 --rounds "$ROUNDS" --size 64 2>&1) ||
		{ echo "engine_trace: rpc client failed: $out" >&2; return 1; }
	read -r p50 p99 p999 < <(sed -E 's/.*p50_us=([0-9.]+) p99_us=([0-9.]+) p999_us=([0-9.]+).*/\1 \2 \3/' <<<"$out")
	best "$1" p50 "$p50" lower
	best "$1" p99 "$p99" lower
	best "$1" p999 "$p999" lower
	printf '  %-9s rpc              %s\n' "$1" "$out"
}
# tcp_trace at rx-post and tx-post, drained as `flextoe-bpf trace` does:
# its JSON goes through wc so the consumer's record count is known.
trace_on() {
	rm -f "$TMP/trace.count"
	"$BIN/flextoe-bpf" trace --format json 2>"$TMP/trace.err" > >(wc -l >"$TMP/trace.count") &
	TRACER=$!
	wait_for "$TMP/trace.err" "tracing at rx-post"
}
trace_off() {
	local runs
	runs=$("$BIN/flextoe-bpf" list --json | python3 -c \
		"import json,sys; print(sum(p['run_cnt'] for h in json.load(sys.stdin) for p in h['progs']))")
	kill -INT "$TRACER"
	wait "$TRACER"
	TRACER=
	for _ in $(seq 100); do [[ -s $TMP/trace.count ]] && break; sleep 0.05; done
	echo "  traced    tcp_trace ran $runs times; the consumer printed $(cat "$TMP/trace.count") records"
	[[ ${runs:-0} -gt 0 ]]
}

echo "== engine_trace: $BYTES bytes per transfer, $ROUNDS 64-byte RPCs, one connection, veth"
echo "   (tx/tso/gso/gro off); untraced vs tcp_trace at rx-post+tx-post drained by flextoe-bpf trace;"
echo "   $REPS interleaved reps, best of each kept"
rc=0
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
wait_for "$TMP/eng.log" "ready:" || exit 1
for _ in $(seq 100); do [[ -S $RUN/loader.sock ]] && break; sleep 0.05; done
ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo.out" 2>&1
wait_for "$TMP/echo.out" listening || exit 1
for rep in $(seq "$REPS"); do
	for mode in untraced traced; do
		if [[ $mode == traced ]]; then
			trace_on || { rc=1; continue; }
		fi
		bulk_in $mode || rc=1
		bulk_out $mode || rc=1
		rpc $mode || rc=1
		if [[ $mode == traced ]]; then
			trace_off || rc=1
		fi
	done
done

echo
printf '%-24s %12s %12s %8s\n' "" untraced traced ratio
row() { # LABEL METRIC
	local u=${V[untraced,$2]:-} t=${V[traced,$2]:-}
	awk -v n="$1" -v u="$u" -v t="$t" 'BEGIN {
		printf "%-24s %12s %12s %8s\n", n, u == "" ? "-" : u, t == "" ? "-" : t,
			(u > 0 && t != "") ? sprintf("%.2f", t / u) : "-" }'
}
row "Linux -> engine Gbit/s" to_engine
row "engine -> Linux Gbit/s" from_engine
row "rpc p50 us" p50
row "rpc p99 us" p99
row "rpc p99.9 us" p999
echo "   ratio = traced/untraced (throughput < 1 and latency > 1: tracing costs that much)"
exit "$rc"
