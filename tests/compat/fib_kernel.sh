#!/usr/bin/env bash
# fib_kernel.sh - bpf_fib_lookup in the runtime against the kernel's on the same routes: a namespace with one interface, an on-link prefix, a default route and permanent neighbours, forwarding on (the engine's view of the world), and tests/compat/fib_kernel runs the xdp_fwd-style forwarder there in the kernel and in the runtime (both engines) on frames to local, broadcast, on-link, off-link, multicast and unresolved destinations, with several MTUs and lookup flags.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
TOOL=$PWD/$BUILD/tests/compat/fib_kernel
OBJ=$PWD/$BUILD/tests/progs/ld_fib_fwd.bpf.o
if [[ ! -x $TOOL || ! -f $OBJ ]]; then
	t_fail "$TOOL and $OBJ are built (make)"; t_summary; exit
fi
ns_init
NS_PREFIX="ftoe-compat3-$BASHPID"
ns_add a && ns_add b && ns_link a veth0 10.86.0.1/24 b veth1 10.86.0.2/24 ||
	{ t_fail "namespaces and veth pair"; t_summary; exit; }
ns_exec a sh -e -c '
	ip link set lo up
	ip route add default via 10.86.0.254 dev veth0
	ip neigh replace 10.86.0.5 lladdr 02:00:00:00:00:05 dev veth0 nud permanent
	ip neigh replace 10.86.0.254 lladdr 02:00:00:00:00:fe dev veth0 nud permanent
	sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.forwarding=1 net.ipv4.conf.veth0.forwarding=1' ||
	{ t_fail "routes, neighbours and forwarding in the namespace"; t_summary; exit; }
out=$(ns_exec a "$TOOL" veth0 "$OBJ" 2>&1)
echo "$out" | grep -v "^  " | head -n 40; echo "$out" | grep "fib_rc"
echo "$out" | grep '^  '
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' <<<"$out")
if [[ $line =~ ^([0-9]+)\ passed,\ 0\ failed$ && ${BASH_REMATCH[1]} -gt 0 ]]; then
	t_ok "runtime and kernel agree on every lookup ($line)"
else
	t_fail "runtime against the kernel (${line:-no result})"
fi
t_summary
