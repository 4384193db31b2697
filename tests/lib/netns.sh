# netns.sh - shell library for FlexTOE integration tests.
#
# Source it, then:
#   ns_init                      unique prefix + cleanup trap (always runs)
#   ns_add NAME                  new network namespace "$NS_PREFIX-NAME"
#   ns_link A IFA ADDRA B IFB ADDRB
#                                veth pair between hosts A and B, addresses
#                                in CIDR form, up, tx checksum offload off,
#                                a pfifo qdisc on each end (ns_qdisc)
#   ns_exec NAME CMD...          run CMD inside NAME with bpffs mounted
#                                (ip netns exec gives every call a fresh
#                                mount namespace, so it is mounted each time)
#   ns_bg NAME CMD...            like ns_exec, in the background; killed at exit
#   t_ok / t_fail / t_check      count results; t_summary prints the
#                                "N passed, N failed" line and sets the exit
#
# Traffic only ever flows between these namespaces.

NS_PREFIX=""
NS_LIST=()
NS_PIDS=()
T_PASS=0
T_FAIL=0

ns_cleanup() {
	local pid ns
	# Runs from an EXIT trap, also in scripts with `set -e`: a process
	# that is already gone must not stop the cleanup half-way.
	set +e
	for pid in "${NS_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${NS_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for ns in "${NS_LIST[@]}"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	NS_LIST=()
	NS_PIDS=()
}

ns_init() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "integration tests need root (network namespaces)" >&2
		exit 1
	fi
	NS_PREFIX="ftoe$BASHPID"
	NS_LIST=()
	NS_PIDS=()
	trap ns_cleanup EXIT
	trap 'exit 130' INT TERM
}

ns_name() { echo "$NS_PREFIX-$1"; }

ns_add() {
	local ns
	ns=$(ns_name "$1")
	ip netns add "$ns" || return 1
	NS_LIST+=("$ns")
	ip -n "$ns" link set lo up
}

ns_link() {
	local a=$1 ifa=$2 addra=$3 b=$4 ifb=$5 addrb=$6
	local nsa nsb
	nsa=$(ns_name "$a"); nsb=$(ns_name "$b")
	ip link add "$ifa" netns "$nsa" type veth peer name "$ifb" netns "$nsb" || return 1
	ip -n "$nsa" addr add "$addra" dev "$ifa"
	ip -n "$nsb" addr add "$addrb" dev "$ifb"
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
	# A veth peer leaves TCP checksums to offload; real NICs fill them in.
	ip netns exec "$nsa" ethtool -K "$ifa" tx off >/dev/null
	ip netns exec "$nsb" ethtool -K "$ifb" tx off >/dev/null
	# A queue on each end, as a NIC has.  When XDP runs on a veth, its
	# peer hands frames over through a 256-frame ring; with the default
	# noqueue the peer drops what does not fit, counted only as the
	# peer's own TX drops, which the receiver never sees.  A receive
	# window of more than 256 segments (1 MiB: 724) fills that ring
	# whenever the kernel runs the receiving side's softirq late, and
	# the frames vanish before the engine's XDP hook (docs/engine.md).
	# With a qdisc, kernels from 6.16 stop the peer's queue instead
	# (requeues in `tc -s qdisc`), as a NIC's full tx ring does.
	ns_qdisc "$a" "$ifa"
	ns_qdisc "$b" "$ifb"
}

# ns_qdisc NAME IF: a pfifo qdisc on IF (see ns_link)
ns_qdisc() {
	ip netns exec "$(ns_name "$1")" tc qdisc replace dev "$2" root pfifo limit 1000
}

ns_exec() {
	local ns
	ns=$(ns_name "$1"); shift
	ip netns exec "$ns" sh -c \
		'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf; exec "$@"' sh "$@"
}

ns_bg() {
	ns_exec "$@" &
	NS_PIDS+=($!)
}

t_ok()   { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
# t_check DESCRIPTION CMD...: passes when CMD exits 0
t_check() {
	local desc=$1; shift
	if "$@"; then t_ok "$desc"; else t_fail "$desc"; fi
}
t_summary() {
	echo "$T_PASS passed, $T_FAIL failed"
	[[ $T_FAIL -eq 0 ]]
}
