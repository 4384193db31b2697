# impair.sh - impaired links for FlexTOE integration tests (source after netns.sh).
#
#   impair_link A IFA ADDRA B IFB ADDRB [impair options]
#         hosts A and B (made with ns_add) get interfaces IFA and IFB with
#         addresses ADDRA/ADDRB (CIDR, one subnet); between them a new middle
#         namespace runs the impair relay (tests/tools/impair) as a bump in
#         the wire:  A:IFA <-veth-> [ia  impair  ib] <-veth-> B:IFB.
#         Options go to impair (--loss 2 --delay 1 ..., see impair --help;
#         "a" is A's side).  Sets IMPAIR_NS, IMPAIR_PID and IMPAIR_LOG for
#         this link; returns non-zero (with impair's messages) on failure.
#   impair_stats [PID LOG]    ask the relay for its counters (SIGUSR1) and
#                             print its two "stats" lines
#   impair_stop [PID LOG]     stop the relay (SIGTERM), print its "final" lines
#   impair_counter DIR NAME [LOG]
#                             a counter (e.g. a->b dropped) from the newest
#                             stats or final line of LOG
#
# The relay binary is $IMPAIR_BIN, else $FTOE_BUILD/tests/tools/impair
# (FTOE_BUILD defaults to build).  Logs live in a directory removed at exit.

IMPAIR_NS=""
IMPAIR_PID=""
IMPAIR_LOG=""
IMPAIR_COUNT=0
IMPAIR_LOGDIR=""

_impair_cleanup() {
	ns_cleanup
	[[ -n $IMPAIR_LOGDIR ]] && rm -rf "$IMPAIR_LOGDIR"
}

# Frames must cross the relay MTU-sized and with real checksums: a veth
# passes GSO super-frames and checksum-offload frames through as they are.
_impair_offloads() {
	local ns=$1 dev=$2 f out
	for f in tx tso gso gro lro; do
		ip netns exec "$ns" ethtool -K "$dev" "$f" off >/dev/null 2>&1
	done
	out=$(ip netns exec "$ns" ethtool -k "$dev") || return 1
	for f in tx-checksumming tcp-segmentation-offload generic-segmentation-offload \
		 generic-receive-offload; do
		if ! grep -q "^$f: off" <<<"$out"; then
			echo "impair_link: could not turn $f off on $dev in $ns" >&2
			return 1
		fi
	done
}

impair_link() {
	local a=$1 ifa=$2 addra=$3 b=$4 ifb=$5 addrb=$6
	shift 6
	local bin=${IMPAIR_BIN:-${FTOE_BUILD:-build}/tests/tools/impair}
	local nsa nsb nsm mid log pid i

	if [[ ! -x $bin ]]; then
		echo "impair_link: no relay binary at $bin (run make)" >&2
		return 1
	fi
	if [[ -z $IMPAIR_LOGDIR ]]; then
		IMPAIR_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/$NS_PREFIX-impair.XXXXXX") || return 1
		trap _impair_cleanup EXIT
	fi
	IMPAIR_COUNT=$((IMPAIR_COUNT + 1))
	mid=imp$IMPAIR_COUNT
	ns_add "$mid" || return 1
	nsa=$(ns_name "$a"); nsb=$(ns_name "$b"); nsm=$(ns_name "$mid")
	# The middle is a wire, not a host: no addresses, no IPv6 chatter.
	ip netns exec "$nsm" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	# IMPAIR_QUEUES=N: side a's veth pair with N queues each way (a multi-queue engine)
	local nq=${IMPAIR_QUEUES:-1}
	# ns_veth: a pfifo qdisc on every end, so that the relay's sends into
	# an engine's XDP ring are held back, not dropped, when it is full.
	ns_veth -q "$nq" "$a" "$ifa" "$mid" ia || return 1
	ns_veth "$b" "$ifb" "$mid" ib || return 1
	ip -n "$nsa" addr add "$addra" dev "$ifa" || return 1
	ip -n "$nsb" addr add "$addrb" dev "$ifb" || return 1
	_impair_offloads "$nsa" "$ifa" && _impair_offloads "$nsb" "$ifb" &&
		_impair_offloads "$nsm" ia && _impair_offloads "$nsm" ib || return 1
	ip -n "$nsm" link set ia up && ip -n "$nsm" link set ib up || return 1

	log=$IMPAIR_LOGDIR/$mid.log
	: >"$log"
	# ip netns exec execs the relay, so $! is the relay itself.
	ip netns exec "$nsm" "$bin" --a ia --b ib "$@" >"$log" 2>&1 &
	pid=$!
	NS_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		grep -q '^impair: ready' "$log" && break
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "impair_link: relay failed to start:" >&2
			cat "$log" >&2
			return 1
		fi
		sleep 0.05
	done
	if ! grep -q '^impair: ready' "$log"; then
		echo "impair_link: relay not ready after 5 s:" >&2
		cat "$log" >&2
		return 1
	fi
	# Hosts come up only now, so their first frames (IPv6 DAD, ...) are
	# relayed like every other.
	ip -n "$nsa" link set "$ifa" up && ip -n "$nsb" link set "$ifb" up || return 1
	IMPAIR_NS=$nsm IMPAIR_PID=$pid IMPAIR_LOG=$log
}

# _impair_wait_lines LOG TAG COUNT: until LOG holds COUNT "b->a" lines of TAG
# (b->a is printed last), at most 5 s.
_impair_wait_lines() {
	local log=$1 tag=$2 want=$3 i
	for ((i = 0; i < 100; i++)); do
		[[ $(grep -c "^impair: $tag b->a " "$log") -ge $want ]] && return 0
		sleep 0.05
	done
	echo "impair: no '$tag' counters in $log after 5 s" >&2
	return 1
}

impair_stats() {
	local pid=${1:-$IMPAIR_PID} log=${2:-$IMPAIR_LOG} n
	n=$(grep -c '^impair: stats b->a ' "$log")
	kill -USR1 "$pid" || return 1
	_impair_wait_lines "$log" stats $((n + 1)) || return 1
	grep '^impair: stats ' "$log" | tail -n 2
}

impair_stop() {
	local pid=${1:-$IMPAIR_PID} log=${2:-$IMPAIR_LOG}
	kill -TERM "$pid" 2>/dev/null
	_impair_wait_lines "$log" final 1 || return 1
	grep '^impair: final ' "$log"
}

impair_counter() {
	local dir=$1 name=$2 log=${3:-$IMPAIR_LOG}
	grep -E "^impair: (stats|final) $dir " "$log" | tail -n 1 |
		grep -oE "(^| )$name=[0-9]+" | cut -d= -f2
}
