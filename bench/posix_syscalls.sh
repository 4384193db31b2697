#!/usr/bin/env bash
# posix_syscalls.sh - system calls per memcached request (memcached -t 4 under bench/mc_load.c), counted with perf
# stat on the sys_enter tracepoints over the server's whole process tree: on Linux's TCP, over the engine with wake
# groups, and over the engine with every epoll on the context's event fd (FLEXTOE_EPOLL_WAKE=context), in one run.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/engine.sh	# wait_for, wait_cmd
. tests/lib/posix.sh	# posix_hosts, port_open

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
MC_LOAD=$PWD/$BUILD/bench/mc_load
SECS=${POSIX_SYSCALLS_SECONDS:-4}
CONNS=${POSIX_SYSCALLS_CONNS:-1 16}
KEYS=1000
for b in "$BIN/flextoe" "$BIN/flextoe-run" "$MC_LOAD"; do
	[[ -e $b ]] || { echo "posix_syscalls: $b is missing: run 'make' first" >&2; exit 1; }
done
for t in memcached perf; do
	command -v $t >/dev/null || { echo "posix_syscalls: $t is missing" >&2; exit 1; }
done
perf stat -e syscalls:sys_enter_write -- true >/dev/null 2>&1 ||
	{ echo "posix_syscalls: perf cannot count syscall tracepoints here (tracefs, perf_event_paranoid)" >&2; exit 1; }

ns_init
TMP=$(mktemp -d /tmp/ftoe-bench-sysc.XXXXXX)
chmod 755 "$TMP"
trap 'ns_cleanup; rm -rf "$TMP"' EXIT
posix_hosts 10.89
CALLS="epoll_wait epoll_pwait epoll_pwait2 write read sendmsg recvfrom sendto futex ppoll"
EV=$(for c in $CALLS; do printf 'syscalls:sys_enter_%s,' "$c"; done)

# measure KIND IP PREFIX...: for each connection count, one memcached under perf stat
measure() {
	local kind=$1 ip=$2 c out ops; shift 2
	for c in $CONNS; do
		ns_bg eng perf stat -x, -e "${EV%,}" -o "$TMP/ps-$kind-$c" "$@" \
			memcached -u nobody -t 4 -l 0.0.0.0 -p 11211 -U 0 -m 64 >"$TMP/mc-$kind.log" 2>&1
		wait_cmd 10 port_open "$ip" 11211 || { echo "posix_syscalls: memcached ($kind) did not start" >&2; return; }
		out=$(ns_exec peer timeout $((SECS + 60)) "$MC_LOAD" "$ip" 11211 --conns "$c" --seconds "$SECS" \
			--warmup 0 --keys $KEYS 2>&1) || echo "posix_syscalls: $kind, $c conns: $out" >&2
		# SIGINT: memcached exits and perf writes its counts
		ip netns pids "$(ns_name eng)" | xargs -r ps -o pid=,comm= -p 2>/dev/null |
			awk '$2 == "memcached" {print $1}' | xargs -r kill -INT
		wait_cmd 10 test -s "$TMP/ps-$kind-$c"
		sleep 0.5
		ops=$(sed -nE 's/.*ops=([0-9]+).*/\1/p' <<<"$out")
		[[ -n $ops ]] || continue
		# the preload's KEYS sets are requests too
		printf '%-7s %2d conns %7s req/s:' "$kind" "$c" "$(sed -nE 's/.*rps=([0-9]+).*/\1/p' <<<"$out")"
		awk -F, -v n=$((ops + KEYS)) '$3 ~ /sys_enter_/ && $1 > 0 {
			sub(/.*sys_enter_/, "", $3); printf " %s %.2f", $3, $1 / n } END { print "" }' "$TMP/ps-$kind-$c"
	done
}

echo "== posix_syscalls: system calls per request of memcached -t 4 (bench/mc_load, ${SECS} s, preload included)"
measure linux "$KERN_IP"
ns_bg eng "$BIN/flextoe" --iface veth0 --ip "$ENG_IP/24" --run-dir "$TMP/run" >"$TMP/eng.log" 2>&1
wait_for "$TMP/eng.log" "ready:" || { echo "posix_syscalls: the engine did not start" >&2; exit 1; }
measure groups "$ENG_IP" "$BIN/flextoe-run" --run-dir "$TMP/run" --
measure context "$ENG_IP" env FLEXTOE_EPOLL_WAKE=context "$BIN/flextoe-run" --run-dir "$TMP/run" --
echo "(groups: each epoll wakes on its own wake group; context: every epoll on the context's event fd;" \
	"over the engine, write = eventfd writes, read/sendmsg are not system calls)"
