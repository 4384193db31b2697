#!/usr/bin/env bash
# engine_basic.sh - the flextoe daemon on a veth: ARP, ping, coexistence with the kernel,
# usage errors, clean detach, stale-program cleanup after kill -9, foreign programs, idle CPU.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
FLEXTOE=$PWD/$BUILD/bin/flextoe
need_files "$FLEXTOE"
need_tools arping socat clang

test_init engine-basic

eng_peer 10.77.0
ENG_NS=$(ns_name eng)
ENG_MAC=$(ip -n "$ENG_NS" -br link show dev veth0 | awk '{print $3}')

# ---- helpers ---------------------------------------------------------------
# start_engine LOG ARGS...: the daemon in the eng namespace, in the background.
start_engine() {
	local log=$1; shift
	ns_bg eng "$FLEXTOE" "$@" >"$log" 2>&1
}
engine_pid() { cat "$1/flextoe.pid" 2>/dev/null; }
xdp_prog_name() {
	ip -n "$ENG_NS" link show dev veth0 | sed -n 's/.*prog\/xdp[a-z]* id [0-9]* name \([^ ]*\).*/\1/p'
}
no_xdp() { [[ -z $(xdp_prog_name) ]] && ! ip -n "$ENG_NS" link show dev veth0 | grep -q "xdp"; }
# stop_engine PIDFILE_DIR: SIGTERM and wait for the process to go.
stop_engine() {
	local pid
	pid=$(engine_pid "$1") || return 1
	kill -TERM "$pid" || return 1
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
# expect_exit RC PATTERN ARGS...: the daemon exits with RC and prints PATTERN.
expect_exit() {
	local rc=$1 pat=$2 out got; shift 2
	out=$(ns_exec eng timeout 10 "$FLEXTOE" "$@" 2>&1); got=$?
	if [[ $got -ne $rc ]] || ! grep -q -- "$pat" <<<"$out"; then
		echo "expected rc $rc and '$pat', got rc $got: $out" >&2
		return 1
	fi
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# ---- usage and runtime errors ------------------------------------------------
t_check "unknown interface: exit 1 with a clear error" \
	expect_exit 1 "interface 'nope0' does not exist" --iface nope0 --ip $ENG_IP/24 --run-dir "$RUN"
t_check "non-Ethernet interface refused (exit 1)" \
	expect_exit 1 "not an Ethernet interface" --iface lo --ip $ENG_IP/24 --run-dir "$RUN"
t_check "bad address: exit 2" \
	expect_exit 2 "bad --ip '10.77.0.300/24'" --iface veth0 --ip 10.77.0.300/24
t_check "missing prefix: exit 2" \
	expect_exit 2 "prefix length is missing" --iface veth0 --ip $ENG_IP
t_check "unknown flag: exit 2" \
	expect_exit 2 "unknown option '--frobnicate'" --iface veth0 --ip $ENG_IP/24 --frobnicate
t_check "bad --poll value: exit 2" \
	expect_exit 2 "expected adaptive or busy" --iface veth0 --ip $ENG_IP/24 --poll sometimes
t_check "--buf not a power of two: exit 2" \
	expect_exit 2 "bad --buf '3k': expected a power of two from 4k to 16m" \
	--iface veth0 --ip $ENG_IP/24 --buf 3k
t_check "--buf too large: exit 2" \
	expect_exit 2 "bad --buf '32m'" --iface veth0 --ip $ENG_IP/24 --buf 32m
t_check "unknown --cc: exit 2, listing the algorithms" \
	expect_exit 2 "bad --cc 'reno': unknown algorithm; the algorithms are dctcp, timely, const\[:RATE\], cubic, newreno, cubic-rate, bbr" \
	--iface veth0 --ip $ENG_IP/24 --cc reno
t_check "bad --cc argument: exit 2" \
	expect_exit 2 "bad --cc 'const:fast': bad argument" --iface veth0 --ip $ENG_IP/24 --cc const:fast
t_check "off-link gateway: exit 2" \
	expect_exit 2 "not inside the --ip prefix" --iface veth0 --ip $ENG_IP/24 --gateway 10.78.0.1
t_check "more queues than the device has: exit 1" \
	expect_exit 1 "has only 1 rx queue" --iface veth0 --ip $ENG_IP/24 --queues 4 --run-dir "$RUN"
t_check "the kernel's own address refused (exit 1)" \
	expect_exit 1 "is an address of the kernel's" --iface veth0 --ip $KERN_IP/24 --run-dir "$RUN"
t_check "errors left no XDP program behind" no_xdp

# ---- a running engine ----------------------------------------------------------
start_engine "$TMP/eng1.log" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN"
t_check "engine starts and reports ready" wait_for "$TMP/eng1.log" "ready:" 5
t_check "steering program flextoe_steer attached" test "$(xdp_prog_name)" = flextoe_steer
t_check "pid file holds the engine's pid" \
	sh -c "kill -0 \$(cat '$RUN/flextoe.pid') && grep -q flextoe /proc/\$(cat '$RUN/flextoe.pid')/comm"
PID=$(engine_pid "$RUN")

t_check "peer can ping the engine's address" ns_exec peer ping -q -c3 -i0.2 -W2 $ENG_IP
t_check "peer can arping the engine's address (answer from veth0's MAC)" \
	sh -c "ip netns exec $(ns_name peer) arping -c2 -w4 -I veth1 $ENG_IP | grep -qi 'reply from $ENG_IP \[$ENG_MAC\]'"
t_check "kernel's own address still answers ping" ns_exec peer ping -q -c3 -i0.2 -W2 $KERN_IP
t_check "kernel's ARP entry for its own address is veth0's MAC" \
	sh -c "ip -n $(ns_name peer) neigh show $KERN_IP | grep -qi '$ENG_MAC'"

# A TCP transfer to the kernel's own address on the same interface.
head -c 1048576 /dev/urandom >"$TMP/blob"
ns_bg eng socat -u TCP-LISTEN:5001,bind=$KERN_IP,reuseaddr OPEN:"$TMP/recv",creat,trunc
sleep 0.3
ns_exec peer socat -u OPEN:"$TMP/blob" TCP:$KERN_IP:5001,connect-timeout=5
for _ in $(seq 50); do cmp -s "$TMP/blob" "$TMP/recv" && break; sleep 0.1; done
t_check "1 MiB TCP transfer to the kernel's address intact while the engine runs" \
	cmp -s "$TMP/blob" "$TMP/recv"
# ... and the kernel side as a client: eng kernel -> peer.
ns_bg peer socat -u TCP-LISTEN:5002,bind=$PEER_IP,reuseaddr OPEN:"$TMP/recv2",creat,trunc
sleep 0.3
ns_exec eng socat -u OPEN:"$TMP/blob" TCP:$PEER_IP:5002,connect-timeout=5
for _ in $(seq 50); do cmp -s "$TMP/blob" "$TMP/recv2" && break; sleep 0.1; done
t_check "1 MiB TCP transfer from the kernel's address intact while the engine runs" \
	cmp -s "$TMP/blob" "$TMP/recv2"

# TCP to the engine's address reaches the engine (not the kernel, which
# would answer with a RST as the address is not its own).
ns_exec peer timeout 3 socat -u /dev/null TCP:$ENG_IP:80,connect-timeout=1 2>/dev/null
t_check "TCP to the engine's address is steered to the engine" \
	sh -c "kill -USR1 $PID; sleep 0.3; grep -Eq 'queue 0: rx [0-9]+ \(tcp [1-9]' '$TMP/eng1.log'"
# No listener on port 80: the engine itself answers the SYN with a RST
# (through the backend's transmit path), so the connect is refused at once.
t_check "a SYN to a closed engine port is refused by the engine (RST)" \
	sh -c "ip netns exec $(ns_name peer) socat -u /dev/null TCP:$ENG_IP:80,connect-timeout=3 2>&1 |
	       grep -q 'Connection refused'"

t_check "a second engine on the same run directory is refused (exit 1)" \
	expect_exit 1 "is in use by another engine (pid $PID)" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN"
t_check "a second engine on the same interface is refused (exit 1)" \
	expect_exit 1 "in use by a running flextoe engine (pid $PID)" --iface veth0 --ip 10.77.0.6/24 --run-dir "$TMP/run-other"
t_check "the first engine still owns the interface" test "$(xdp_prog_name)" = flextoe_steer

# Idle: nothing may busy-poll (this machine has 2 cores).
sleep 0.5
t0=$(cpu_ticks "$PID"); sleep 2; t1=$(cpu_ticks "$PID")
hz=$(getconf CLK_TCK)
echo "idle engine used $((t1 - t0)) ticks of $((2 * hz)) in 2 s"
t_check "idle engine uses < 5% CPU" test $(( (t1 - t0) * 100 )) -lt $(( 2 * hz * 5 ))

t_check "SIGTERM: engine exits" stop_engine "$RUN"
t_check "SIGTERM: no XDP program left on veth0" no_xdp
t_check "SIGTERM: pid file removed" test ! -e "$RUN/flextoe.pid"
t_check "SIGTERM: detach logged" grep -q "steering program detached" "$TMP/eng1.log"
t_check "engine address no longer answers after stop" sh -c "! ip netns exec $(ns_name peer) ping -c1 -W1 $ENG_IP >/dev/null"

# ---- crash recovery ----------------------------------------------------------------
start_engine "$TMP/eng2.log" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN"
wait_for "$TMP/eng2.log" "ready:" 5
kill -9 "$(engine_pid "$RUN")"
sleep 0.3
t_check "after kill -9 the steering program is left behind" test "$(xdp_prog_name)" = flextoe_steer
t_check "kernel traffic unaffected by the orphaned program" ns_exec peer ping -q -c1 -W2 $KERN_IP
start_engine "$TMP/eng3.log" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN"
t_check "next start succeeds" wait_for "$TMP/eng3.log" "ready:" 5
t_check "next start removed the stale program (logged)" grep -q "removed a stale flextoe steering program" "$TMP/eng3.log"
t_check "ping works after recovery" ns_exec peer ping -q -c2 -i0.2 -W2 $ENG_IP
t_check "stop after recovery" stop_engine "$RUN"
t_check "no XDP program left after recovery run" no_xdp

# ---- a foreign XDP program ---------------------------------------------------------
cat >"$TMP/foreign.bpf.c" <<'EOF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int foreign_pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] SEC("license") = "GPL";
EOF
clang -O2 -g -target bpf -I/usr/include/"$(gcc -dumpmachine)" -c -o "$TMP/foreign.bpf.o" "$TMP/foreign.bpf.c"
ip -n "$ENG_NS" link set dev veth0 xdpgeneric obj "$TMP/foreign.bpf.o" sec xdp
t_check "foreign program attached for the test" test "$(xdp_prog_name)" = foreign_pass
t_check "a foreign XDP program is refused without --force (exit 1)" \
	expect_exit 1 "already has an XDP program 'foreign_pass'" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN"
t_check "the foreign program is untouched" test "$(xdp_prog_name)" = foreign_pass
start_engine "$TMP/eng4.log" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" --force
t_check "--force replaces it" wait_for "$TMP/eng4.log" "ready:" 5
t_check "--force logged the detach" grep -q "force: detached XDP program 'foreign_pass'" "$TMP/eng4.log"
t_check "ping works with --force" ns_exec peer ping -q -c2 -i0.2 -W2 $ENG_IP
t_check "stop the forced engine" stop_engine "$RUN"
t_check "no XDP program left" no_xdp

# ---- two queues --------------------------------------------------------------------
ns_add eng2 && ns_add peer2
ns_link -q 2 eng2 veth2 10.78.0.1/24 peer2 veth3 10.78.0.2/24
for w in 2 1; do
	ns_bg eng2 "$FLEXTOE" --iface veth2 --ip 10.78.0.5/24 --queues 2 --workers $w \
		--run-dir "$TMP/run2" >"$TMP/mq$w.log" 2>&1
	t_check "--queues 2 --workers $w starts" wait_for "$TMP/mq$w.log" "ready:" 5
	t_check "--queues 2 --workers $w: ping and arping" sh -c \
		"ip netns exec $(ns_name peer2) ping -c3 -i0.2 -W2 10.78.0.5 >/dev/null &&
		 ip netns exec $(ns_name peer2) arping -c1 -w3 -I veth3 10.78.0.5 >/dev/null"
	t_check "--queues 2 --workers $w stops" stop_engine "$TMP/run2"
done

t_summary
