# netns.sh - shell library for FlexTOE integration tests.
#
# Source it, then:
#   ns_init                      unique prefix + cleanup trap (always runs)
#   ns_add NAME                  new network namespace "$NS_PREFIX-NAME"
#   ns_link [-q N] [-w] A IFA ADDRA B IFB ADDRB
#                                veth pair between hosts A and B (ns_veth),
#                                addresses in CIDR form ("-": none), up, tx
#                                checksum offload off; -w: TSO, GSO and GRO
#                                off too (wire-sized frames for AF_XDP)
#   ns_veth [-q N] A IFA B IFB   the bare veth pair, N queues each way
#                                (default 1), a pfifo qdisc on each end
#                                (ns_qdisc), down and without addresses:
#                                for links into bridges or relays
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

ns_veth() {
	local nq=1
	if [[ $1 == -q ]]; then nq=$2; shift 2; fi
	local a=$1 ifa=$2 b=$3 ifb=$4
	ip link add "$ifa" netns "$(ns_name "$a")" numtxqueues "$nq" numrxqueues "$nq" type veth \
		peer name "$ifb" netns "$(ns_name "$b")" numtxqueues "$nq" numrxqueues "$nq" || return 1
	# A queue on each end, as a NIC has.  When XDP runs on a veth, its
	# peer hands frames over through a 256-frame ring; with the default
	# noqueue the peer drops what does not fit, counted only as the
	# peer's own TX drops, which the receiver never sees.  A receive
	# window of more than 256 segments (1 MiB: 724) fills that ring
	# whenever the kernel runs the receiving side's softirq late, and
	# the frames vanish before the engine's XDP hook (docs/engine.md).
	# With a qdisc, kernels from 6.16 stop the peer's queue instead
	# (requeues in `tc -s qdisc`), as a NIC's full tx ring does.
	ns_qdisc "$a" "$ifa" && ns_qdisc "$b" "$ifb"
}

ns_link() {
	local qopt=() off=(tx)
	while [[ $1 == -* ]]; do
		case $1 in
		-q) qopt=(-q "$2"); shift 2 ;;
		-w) off=(tx tso gso gro); shift ;;
		*) echo "ns_link: unknown option $1" >&2; return 1 ;;
		esac
	done
	local a=$1 ifa=$2 addra=$3 b=$4 ifb=$5 addrb=$6
	local nsa nsb f
	nsa=$(ns_name "$a"); nsb=$(ns_name "$b")
	ns_veth "${qopt[@]}" "$a" "$ifa" "$b" "$ifb" || return 1
	[[ $addra == - ]] || ip -n "$nsa" addr add "$addra" dev "$ifa"
	[[ $addrb == - ]] || ip -n "$nsb" addr add "$addrb" dev "$ifb"
	ip -n "$nsa" link set "$ifa" up
	ip -n "$nsb" link set "$ifb" up
	# A veth peer leaves TCP checksums to offload; real NICs fill them in.
	# Without TSO/GSO/GRO (-w) every frame is one wire-sized segment, as
	# the engine's AF_XDP frames (one MTU each) are.
	for f in "${off[@]}"; do
		ip netns exec "$nsa" ethtool -K "$ifa" "$f" off >/dev/null
		ip netns exec "$nsb" ethtool -K "$ifb" "$f" off >/dev/null
	done
}

# ns_qdisc NAME IF: a pfifo qdisc on IF (see ns_veth); on a multi-queue
# IF one per tx queue under mq, so that a stopped queue holds up only its
# own flows.
ns_qdisc() {
	local ns n i
	ns=$(ns_name "$1")
	n=$(ip -n "$ns" -d link show dev "$2" | sed -n 's/.* numtxqueues \([0-9]*\).*/\1/p')
	if [[ ${n:-1} -le 1 ]]; then
		ip netns exec "$ns" tc qdisc replace dev "$2" root pfifo limit 1000
		return
	fi
	ip netns exec "$ns" tc qdisc replace dev "$2" root handle 1: mq || return 1
	for ((i = 1; i <= n; i++)); do
		ip netns exec "$ns" tc qdisc replace dev "$2" parent "1:$(printf %x "$i")" pfifo limit 1000 ||
			return 1
	done
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
