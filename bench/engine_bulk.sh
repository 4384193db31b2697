#!/usr/bin/env bash
# engine_bulk.sh - single-connection bulk throughput over veth: flextoe-bulk on the flextoe daemon
# against a Linux peer (Linux -> engine and engine -> Linux), and the same transfers with Linux on
# both ends in the same namespace layout; prints Gbit/s and the engine/Linux ratios.
# --v6: everything over IPv6 (engine and Linux).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/engine.sh	# wait_for

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
BYTES=${ENGINE_BULK_BYTES:-$((1 << 30))}
# flextoe-bulk hashes what it moves (SHA-256, ~1.3-2 Gbit/s on one core of
# this class), which capped its figures below the engine's; the Linux peers
# hash nothing, so by default neither does flextoe-bulk (ENGINE_BULK_HASH=1:
# hash, as before).
BULK_OPT=--no-hash
[[ ${ENGINE_BULK_HASH:-0} != 0 ]] && BULK_OPT=
# Each connection's buffer on both sides: the daemon's --buf and
# flextoe-bulk's rings, equal so that the rings attach (one copy; a ring
# larger than the daemon's buffer falls back to copy mode) and the receive
# window can open to it (the daemon's default, 256 KiB, held the Linux
# sender rwnd-limited 77-81% of the time).  --max-flows keeps the address
# space the daemon reserves (max-flows x 2 x buf) small.
BUF=${ENGINE_BULK_BUF:-1m}
for b in flextoe flextoe-bulk; do
	if [[ ! -x $BIN/$b ]]; then
		echo "engine_bulk: $BIN/$b is missing: run 'make' first" >&2
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-engine-bulk.XXXXXX)
trap 'ns_cleanup; rm -rf "$TMP"' EXIT

NET=${ENGINE_BULK_NET:-10.79}	# first two octets of the test subnet
ENG_IP=$NET.0.5		# the engine's address
KERN_IP=$NET.0.1	# the kernel's address on the engine's veth
PEER_IP=$NET.0.2	# the Linux peer
ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24   # tx checksum offload off
# wire-sized frames (the engine's AF_XDP frames hold one MTU); Linux gets the same
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
# --v6: the engine gets a second --ip and every transfer below is IPv6
ENG_ARGS= ENG_ADDR=$ENG_IP KERN_ADDR=$KERN_IP PEER_ADDR=$PEER_IP PEER_CONNECT=$PEER_IP
if [[ ${1:-} == --v6 ]]; then
	N6=$(printf '%x' "${NET#*.}")
	ENG_ADDR=fd00:$N6::5 KERN_ADDR=fd00:$N6::1 PEER_ADDR=fd00:$N6::2
	PEER_CONNECT="[$PEER_ADDR]" ENG_ARGS="--ip $ENG_ADDR/64"
	ip -n "$(ns_name eng)" addr add $KERN_ADDR/64 dev veth0 nodad
	ip -n "$(ns_name peer)" addr add $PEER_ADDR/64 dev veth1 nodad
fi

# The Linux end: send HOST PORT BYTES | recv HOST PORT.  The receiver times
# accept -> end of stream, as flextoe-bulk does; it does not hash (nor does
# flextoe-bulk unless ENGINE_BULK_HASH=1).

declare -A G	# G[direction,kind] = Gbit/s
port=7100
result() { # KEY FILE: the receiver's line -> G[KEY], checks the byte count
	local line
	line=$(grep -E '^bytes=' "$2" | tail -n1)
	if [[ $line != "bytes=$BYTES "* ]]; then
		echo "engine_bulk: $1: expected bytes=$BYTES, receiver said: ${line:-nothing}" >&2
		cat "$2" >&2
		return 1
	fi
	G[$1]=$(sed -n 's/.*gbps=\([0-9.]*\).*/\1/p' <<<"$line")
	printf '%-26s %s\n' "$1" "$line"
}
linux_pair() { # KEY RECV-NS RECV-IP SEND-NS: python receiver and sender
	port=$((port + 1))
	ns_bg "$2" python3 "$PWD/bench/peer.py" recv "$3" $port >"$TMP/$port.recv" 2>&1
	wait_for "$TMP/$port.recv" listening || return 1
	ns_exec "$4" timeout 120 python3 "$PWD/bench/peer.py" send "$3" $port "$BYTES" >"$TMP/$port.send" 2>&1
	wait_for "$TMP/$port.recv" '^bytes=' || return 1
	result "$1" "$TMP/$port.recv"
}

case $BUF in
*k) BUF_BYTES=$(( ${BUF%k} << 10 )) ;;
*m) BUF_BYTES=$(( ${BUF%m} << 20 )) ;;
*) BUF_BYTES=$BUF ;;
esac
echo "== engine_bulk${ENG_ARGS:+ --v6 (IPv6)}: one connection, $BYTES bytes each way, over veth (tx/tso/gso/gro off)," \
	"flextoe-bulk ${BULK_OPT:-with SHA-256}, buffers $BUF per connection"
rc=0
# Linux on both ends first, before the engine's XDP program is attached
# (ENGINE_BULK_LINUX=0 skips them when only the engine's figures matter).
if [[ ${ENGINE_BULK_LINUX:-1} != 0 ]]; then
	linux_pair "to-server,linux" eng $KERN_ADDR peer || rc=1
	linux_pair "from-server,linux" peer $PEER_ADDR eng || rc=1
	# The same with Linux's offloads on (checksum, TSO/GSO, GRO: 64 KiB
	# super-frames through veth), printed beside the targets' ratio; back
	# off before the engine attaches (its frames hold one MTU).
	offloads() { # on|off
		ip netns exec "$(ns_name eng)" ethtool -K veth0 tx "$1" tso "$1" gso "$1" gro "$1" >/dev/null 2>&1
		ip netns exec "$(ns_name peer)" ethtool -K veth1 tx "$1" tso "$1" gso "$1" gro "$1" >/dev/null 2>&1
	}
	offloads on
	linux_pair "to-server,linux-offl" eng $KERN_ADDR peer || rc=1
	linux_pair "from-server,linux-offl" peer $PEER_ADDR eng || rc=1
	offloads off
fi

# The peer's retransmission counters (absolute, one per line: NAME VALUE).
sender_retrans() {
	ip netns exec "$(ns_name peer)" nstat -az TcpRetransSegs TcpExtTCPFastRetrans TcpExtTCPLossProbes |
		awk '/^Tcp/ { print $1, $2 }'
}

# The sender's veth: frames it dropped (TX dropped) and frames its qdisc
# held back while the engine's side was full (requeues, tests/lib/netns.sh
# ns_link): the link's share of any hole the engine sees.
sender_link() {
	ip -n "$(ns_name peer)" -s link show veth1 | awk 'f { print "dropped", $4; exit } /TX:/ { f = 1 }'
	ip netns exec "$(ns_name peer)" tc -s qdisc show dev veth1 |
		awk '/requeues/ { print "requeues", $NF; exit }'
}

ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 $ENG_ARGS --buf "$BUF" --max-flows 1024 \
	--run-dir "$TMP/run" >"$TMP/eng.log" 2>&1
if wait_for "$TMP/eng.log" "ready:"; then
	export FLEXTOE_RUN_DIR=$TMP/run
	# Linux -> engine: flextoe-bulk receives (and times) the stream
	port=$((port + 1))
	ns_bg eng "$BIN/flextoe-bulk" --listen $port --recv --buf "$BUF_BYTES" $BULK_OPT >"$TMP/$port.recv" 2>&1
	if wait_for "$TMP/$port.recv" listening; then
		sender_retrans >"$TMP/retrans.before"
		sender_link >"$TMP/link.before"
		ns_exec peer timeout 120 python3 "$PWD/bench/peer.py" send $ENG_ADDR $port "$BYTES" \
			>"$TMP/$port.send" 2>&1
		wait_for "$TMP/$port.recv" '^bytes=' && result "to-server,engine" "$TMP/$port.recv" || rc=1
		# what the Linux sender resent into the engine, this transfer only
		sender_retrans | paste "$TMP/retrans.before" - |
			awk '{ printf "%s%s %d", (NR > 1 ? ", " : "linux sender: "), $1, $4 - $2 } END { print "" }'
		sender_link | paste "$TMP/link.before" - |
			awk '{ printf "%s%s %d", (NR > 1 ? ", " : "linux sender veth1: tx "), $1, $4 - $2 } END { print "" }'
	else
		rc=1
	fi
	# engine -> Linux: the Linux receiver times it
	port=$((port + 1))
	ns_bg peer python3 "$PWD/bench/peer.py" recv $PEER_ADDR $port >"$TMP/$port.recv" 2>&1
	if wait_for "$TMP/$port.recv" listening; then
		ns_exec eng timeout 120 "$BIN/flextoe-bulk" --connect "$PEER_CONNECT:$port" --send "$BYTES" --buf "$BUF_BYTES" $BULK_OPT \
			>"$TMP/$port.send" 2>&1
		wait_for "$TMP/$port.recv" '^bytes=' && result "from-server,engine" "$TMP/$port.recv" || rc=1
	else
		rc=1
	fi
else
	rc=1
fi

# the daemon's exit counters: the AF_XDP socket's drops (x86_log_stats)
eng_pid=$(pgrep -f -n "flextoe --iface veth0 --ip $ENG_IP/24 .*--run-dir $TMP/run\$" || true)
if [[ -n $eng_pid ]]; then
	kill "$eng_pid" 2>/dev/null
	wait_for "$TMP/eng.log" "queue 0: kernel:" 5 >/dev/null 2>&1 &&
		grep -oE "queue 0: kernel: .*" "$TMP/eng.log" | sed 's/^/engine /'
	# the receive side's out-of-order and refused segments (both directions)
	wait_for "$TMP/eng.log" "engine peers:" 5 >/dev/null 2>&1 &&
		grep -oE "engine tcp: rx [^;]*" "$TMP/eng.log"
fi
echo
printf '%-28s %9s %9s %7s   %9s %7s\n' "direction (server = engine)" "linux" "engine" "ratio" \
	"linux-offl" "ratio"
for d in to-server from-server; do
	l=${G[$d,linux]:-} e=${G[$d,engine]:-} o=${G[$d,linux-offl]:-}
	label="Linux client -> server"
	[[ $d == from-server ]] && label="server -> Linux client"
	awk -v n="$label" -v l="$l" -v e="$e" -v o="$o" 'BEGIN {
		printf "%-28s %9s %9s %7s   %9s %7s\n", n, l == "" ? "-" : l, e == "" ? "-" : e,
			(l > 0 && e != "") ? sprintf("%.2f", e / l) : "-", o == "" ? "-" : o,
			(o > 0 && e != "") ? sprintf("%.2f", e / o) : "-" }'
done
echo "   Gbit/s at the receiver; ratio = engine/linux (> 1: the engine is faster); linux: Linux's"
echo "   offloads off (tx csum, TSO, GSO, GRO), as the engine; linux-offl: Linux with them on"
# Where the target (engine/linux >= 1.0 with offloads off) is not met, say by how much.
for d in to-server from-server; do
	l=${G[$d,linux]:-} e=${G[$d,engine]:-}
	[[ -n $l && -n $e ]] && awk -v d="$d" -v l="$l" -v e="$e" 'BEGIN {
		if (e / l < 1.0) printf "target %s >= 1.00x: missed, %.2fx (%.0f%% short)\n", d, e / l, 100 * (1 - e / l);
		else printf "target %s >= 1.00x: met, %.2fx\n", d, e / l }'
done
exit "$rc"
