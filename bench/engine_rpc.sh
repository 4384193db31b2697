#!/usr/bin/env bash
# engine_rpc.sh - 64-byte echo RPC latency from a Linux client over veth: flextoe-echo on the
# flextoe daemon against a Linux epoll echo server (build/bench/rpc_client --serve) in the same
# namespace layout; prints p50/p99/p99.9 for 1 and 10 connections and the engine/Linux ratios.
# --v6: everything over IPv6 (engine and Linux), in the same run's layout.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/engine.sh	# wait_for

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
CLI=$PWD/$BUILD/bench/rpc_client
ROUNDS=${ENGINE_RPC_ROUNDS:-20000}
SIZE=${ENGINE_RPC_SIZE:-64}
POLL=${ENGINE_RPC_POLL:-adaptive}	# the daemon's --poll (busy: a spinning worker)
# ENGINE_RPC_STRACE=1: run the servers under `strace -f -c` and print their
# system calls per RPC (slows every figure down: for counting, not timing)
STRACE=${ENGINE_RPC_STRACE:-}
STRACE_OPTS=${ENGINE_RPC_STRACE_OPTS:--f -c}	# e.g. "-f -tt" for a timeline
KEEP=${ENGINE_RPC_KEEP:-}	# a directory to keep the logs and traces in
WARMUP=1000
# ENGINE_RPC_CPU=N: pin every process (client, servers, daemon) to CPU N, so
# that no wakeup crosses CPUs (a figure of its own: it takes the cost of
# cross-CPU wakeups, ~35 us each on the 2-vCPU VM, out of both sides)
PIN_CPU=${ENGINE_RPC_CPU:-}
PIN_CLI=
[[ -n $PIN_CPU ]] && PIN_CLI="taskset -c $PIN_CPU"
for b in "$BIN/flextoe" "$BIN/flextoe-echo" "$CLI"; do
	if [[ ! -x $b ]]; then
		echo "engine_rpc: $b is missing: run 'make' first" >&2
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-engine-rpc.XXXXXX)
trap 'ns_cleanup; [[ -n $KEEP ]] && mkdir -p "$KEEP" && cp -r "$TMP"/. "$KEEP"/; rm -rf "$TMP"' EXIT

ENG_IP=10.79.0.5	# the engine's address
KERN_IP=10.79.0.1	# the kernel's address on the same veth (Linux server)
PEER_IP=10.79.0.2	# the Linux client
ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24   # tx checksum offload off
# --v6: the same over IPv6 (the engine gets a second --ip; Linux's server and
# client use IPv6 addresses on the same veths)
ENG_ARGS=
if [[ ${1:-} == --v6 ]]; then
	ENG_ARGS="--ip fd00:79::5/64"
	ip -n "$(ns_name eng)" addr add fd00:79::1/64 dev veth0 nodad
	ip -n "$(ns_name peer)" addr add fd00:79::2/64 dev veth1 nodad
	KERN_ADDR=fd00:79::1 ENG_ADDR=fd00:79::5
	echo "== engine_rpc --v6: every connection below is IPv6"
else
	KERN_ADDR=$KERN_IP ENG_ADDR=$ENG_IP
fi
# wire-sized frames on both ends (the engine's AF_XDP frames hold one MTU);
# the Linux server gets the same settings
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1

declare -A R	# R[server,conns] = "p50 p99 p999 rps"
declare -A W	# W[server,conns] = "wakeups per RPC: server threads (engine: daemon, app)"
declare -A C	# C[server,conns] = "CPU us per RPC: server processes (engine: daemon, app)"
declare -A S	# S[server,conns] = "round trips over 1 ms, client CPU us per RPC"
SRV_PIDS=""	# the server's processes whose wakeups are counted
# Times the processes' threads blocked and were woken (voluntary context
# switches), summed: one per wakeup of a thread that went to sleep.
wakeups() {
	local n=0 v
	for p in "$@"; do
		for f in /proc/"$p"/task/*/status; do
			v=$(sed -n 's/^voluntary_ctxt_switches:[[:space:]]*//p' "$f" 2>/dev/null)
			n=$((n + ${v:-0}))
		done
	done
	echo "$n"
}
# The processes' threads' time on a CPU (schedstat), ns, summed.
cpu_ns() {
	local n=0 v
	for p in "$@"; do
		for f in /proc/"$p"/task/*/schedstat; do
			read -r v _ <"$f" 2>/dev/null
			n=$((n + ${v:-0}))
		done
	done
	echo "$n"
}
run_client() { # SERVER-KIND IP PORT CONNS
	local out before=() after=() cb=() ca=() p w="" c="" rpcs=$((ROUNDS + WARMUP))
	for p in $SRV_PIDS; do before+=("$(wakeups "$p")"); cb+=("$(cpu_ns "$p")"); done
	# shellcheck disable=SC2086
	out=$(ns_exec peer timeout 120 $PIN_CLI "$CLI" "$2" "$3" --conns "$4" --rounds "$ROUNDS" \
		--warmup "$WARMUP" --size "$SIZE" 2>&1) ||
		{ echo "engine_rpc: $1 client failed: $out" >&2; return 1; }
	for p in $SRV_PIDS; do after+=("$(wakeups "$p")"); ca+=("$(cpu_ns "$p")"); done
	for i in "${!before[@]}"; do
		w+=" $(awk -v a="${after[$i]}" -v b="${before[$i]}" -v n=$rpcs \
			'BEGIN { printf "%.2f", (a - b) / n }')"
		c+=" $(awk -v a="${ca[$i]}" -v b="${cb[$i]}" -v n=$rpcs \
			'BEGIN { printf "%.1f", (a - b) / n / 1000 }')"
	done
	W[$1,$4]=${w# }
	C[$1,$4]="${c# }"
	printf '%-7s %s\n' "$1" "$out"
	R[$1,$4]="$(sed -E 's/.*p50_us=([0-9.]+) p99_us=([0-9.]+) p999_us=([0-9.]+).*rps=([0-9]+).*/\1 \2 \3 \4/' <<<"$out")"
	S[$1,$4]="$(sed -E 's/.*over_1ms=([0-9]+) cpu_us_per_rpc=([0-9.]+).*/\1 \2/' <<<"$out")"
}

echo "== engine_rpc: ${SIZE}-byte echo RPCs, $ROUNDS round trips (after 1000 warm-up), Linux client over veth"
echo "   (tx/tso/gso/gro off); linux = kernel TCP epoll echo server, engine = flextoe-echo on flextoe"
rc=0
# Linux first, before the engine's XDP program is attached to the veth.
# wrap NAME CMD...: CMD, under strace $STRACE_OPTS (into $TMP/NAME.strace) with STRACE
wrap() {
	local name=$1; shift
	if [[ -n $STRACE ]]; then
		# shellcheck disable=SC2086
		echo strace $STRACE_OPTS -o "$TMP/$name.strace" "$@"
	else
		echo "$@"
	fi
}
# System calls per RPC of one strace -c summary (the total line).
strace_per_rpc() { # FILE RPCS
	[[ -s $1 ]] || return 0
	awk -v n="$2" '$NF == "total" { printf "%.2f", $(NF-2) / n }' "$1"
}
# shellcheck disable=SC2046
ns_bg eng $PIN_CLI $(wrap linux_srv "$CLI" --serve 7000 --bind $KERN_ADDR) >"$TMP/linux_srv.out" 2>&1
if wait_for "$TMP/linux_srv.out" serving; then
	SRV_PIDS=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$TMP/linux_srv.out")
	run_client linux $KERN_ADDR 7000 1 || rc=1
	run_client linux $KERN_ADDR 7000 10 || rc=1
else
	rc=1
fi
srv_pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$TMP/linux_srv.out")
[[ -n $srv_pid ]] && kill "$srv_pid" 2>/dev/null
stop_traced() { # PID...: end them and wait until strace wrote its summary
	for p in "$@"; do
		[[ -n $p ]] && kill "$p" 2>/dev/null
	done
	for _ in $(seq 50); do
		local alive=0
		for p in "$@"; do
			[[ -n $p ]] && kill -0 "$p" 2>/dev/null && alive=1
		done
		((alive)) || break
		sleep 0.1
	done
	sleep 0.3
}
[[ -n $STRACE ]] && stop_traced "$srv_pid"

SRV_PIDS=""
# shellcheck disable=SC2046
ns_bg eng $PIN_CLI $(wrap engine "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 $ENG_ARGS --poll "$POLL" \
	--run-dir "$TMP/run") >"$TMP/eng.log" 2>&1
if wait_for "$TMP/eng.log" "ready:"; then
	eng_pid=$(pgrep -f -n "flextoe --iface veth0 --ip $ENG_IP/24 .*--run-dir $TMP/run\$" || true)
	echo "engine: --poll $POLL; $(grep -oE 'steering program attached in native mode|using generic \(skb\) mode' "$TMP/eng.log" | head -n1)"
	# shellcheck disable=SC2046
	ns_bg eng env FLEXTOE_RUN_DIR="$TMP/run" $PIN_CLI $(wrap echo "$BIN/flextoe-echo" --port 7000) \
		>"$TMP/echo.out" 2>&1
	if wait_for "$TMP/echo.out" listening; then
		echo_pid=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$TMP/echo.out")
		SRV_PIDS="$eng_pid $echo_pid"
		run_client engine $ENG_ADDR 7000 1 || rc=1
		run_client engine $ENG_ADDR 7000 10 || rc=1
	else
		rc=1
	fi
else
	rc=1
fi

[[ -n $STRACE ]] && stop_traced "${echo_pid:-}" "${eng_pid:-}"

echo
printf '%-6s %-8s %9s %9s %9s %7s %6s   %-11s %-11s %s\n' conns "" "p50 us" "p99 us" "p99.9 us" \
	"rps" ">1ms" "wakeups/RPC" "CPU us/RPC" "client CPU us/RPC"
for c in 1 10; do
	for k in linux engine; do
		[[ -n ${R[$k,$c]:-} ]] || continue
		read -r p50 p99 p999 rps <<<"${R[$k,$c]}"
		read -r slow ccpu <<<"${S[$k,$c]:-- -}"
		printf '%-6s %-8s %9s %9s %9s %7s %6s   %-11s %-11s %s\n' $c $k "$p50" "$p99" "$p999" \
			"$rps" "$slow" "$(tr ' ' + <<<"${W[$k,$c]:-}")" "$(tr ' ' + <<<"${C[$k,$c]:-}")" "$ccpu"
	done
	if [[ -n ${R[linux,$c]:-} && -n ${R[engine,$c]:-} ]]; then
		awk -v c=$c -v e="${R[engine,$c]}" -v l="${R[linux,$c]}" 'BEGIN {
			split(e, a, " "); split(l, b, " ");
			printf "%-6s %-8s %9.2f %9.2f %9.2f %7.2f   (engine/linux; latency < 1 = engine faster)\n",
				c, "ratio", a[1]/b[1], a[2]/b[2], a[3]/b[3], a[4]/b[4] }'
	fi
done
echo "   >1ms: round trips over 1 ms; wakeups and CPU per RPC: the server's processes (engine:"
echo "   daemon+flextoe-echo), from /proc (voluntary switches, schedstat); client CPU: its own thread"
# The targets (p50 and p99.9 <= 1.0x Linux at 1 and 10 connections): how far,
# and what stands in the way, as measured above.
for c in 1 10; do
	[[ -n ${R[linux,$c]:-} && -n ${R[engine,$c]:-} ]] || continue
	awk -v c=$c -v e="${R[engine,$c]}" -v l="${R[linux,$c]}" -v we="${W[engine,$c]:-}" \
		-v wl="${W[linux,$c]:-}" -v ce="${C[engine,$c]:-}" -v cl="${C[linux,$c]:-}" \
		-v se="${S[engine,$c]:-}" -v sl="${S[linux,$c]:-}" 'BEGIN {
		split(e, a, " "); split(l, b, " ");
		n = split(we, x, " "); ew = 0; for (i = 1; i <= n; i++) ew += x[i];
		n = split(ce, x, " "); ec = 0; for (i = 1; i <= n; i++) ec += x[i];
		split(se, s1, " "); split(sl, s2, " ");
		for (k = 1; k <= 3; k += 2) {
			name = k == 1 ? "p50" : "p99.9"; idx = k == 1 ? 1 : 3;
			r = a[idx] / b[idx];
			if (r <= 1.0) { printf "target %-5s <= 1.00x at %2d conns: met, %.2fx\n", name, c, r; continue }
			printf "target %-5s <= 1.00x at %2d conns: missed, %.2fx (%.0f us over Linux, %s us); ", \
				name, c, r, a[idx] - b[idx], b[idx]
			if (k == 1)
				printf "in the way: server CPU %.1f vs %s us/RPC, wakeups %.2f vs %s/RPC\n", \
					ec, cl, ew, wl
			else
				printf "in the way: round trips over 1 ms %s vs %s (a woken thread waits for a busy CPU)\n", \
					s1[1], s2[1]
		} }'
done
if [[ -n $STRACE ]]; then
	n=$((2 * (ROUNDS + WARMUP)))
	echo "system calls per RPC (strace -f -c, both runs, startup included):" \
		"linux $(strace_per_rpc "$TMP/linux_srv.strace" $n)" \
		"daemon $(strace_per_rpc "$TMP/engine.strace" $n)" \
		"flextoe-echo $(strace_per_rpc "$TMP/echo.strace" $n)"
	for f in linux_srv engine echo; do
		[[ -s $TMP/$f.strace ]] && { echo "-- $f"; head -n 12 "$TMP/$f.strace"; }
	done
fi
exit "$rc"
