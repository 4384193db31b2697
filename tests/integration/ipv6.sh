#!/usr/bin/env bash
# ipv6.sh - the engine over IPv6 (--ip given twice) with a Linux peer over IPv6: ping6 and
# neighbour discovery, echo over 1, 100 and 1,000 connections, 1 GiB each way with SHA-256
# (flextoe-bulk; engine -> Linux through the engine's own connect, which resolves the peer by
# NS/NA), adversarial IPv6 frames dropped and counted while the engine goes on serving,
# and IPv4 still served beside IPv6.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
TRAFFIC=$PWD/tests/tools/traffic

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BULK_BYTES=${IPV6_BULK_BYTES:-$((1 << 30))}
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk" "$BIN/flextoe-stat"
need_tools python3 ping

test_init ipv6

ENG_IP6=fd00:83::5
PEER_IP6=fd00:83::2
PEER2_IP6=fd00:83::3

eng_peer 10.83.0 -w
# the peer's IPv6 address at once (no duplicate address detection wait)
ip -n "$(ns_name peer)" addr add $PEER_IP6/64 dev veth1 nodad

# ---- usage errors ---------------------------------------------------------------------
expect_exit() { # RC PATTERN ARGS...: the daemon exits with RC and prints PATTERN
	local rc=$1 pat=$2 out got; shift 2
	out=$(ns_exec eng timeout 10 "$BIN/flextoe" "$@" 2>&1); got=$?
	[[ $got -eq $rc ]] && grep -q -- "$pat" <<<"$out" ||
		{ echo "expected rc $rc and '$pat', got rc $got: $out" >&2; return 1; }
}
t_check "an IPv6 --ip with a bad prefix length: exit 2" \
	expect_exit 2 "prefix length must be 1..128" --iface veth0 --ip $ENG_IP/24 --ip $ENG_IP6/129
t_check "a link-local IPv6 --ip: exit 2" \
	expect_exit 2 "link-local are not allowed" --iface veth0 --ip $ENG_IP/24 --ip fe80::5/64
t_check "IPv6 without IPv4: exit 2, saying an IPv4 address is needed too" \
	expect_exit 2 "an IPv4 --ip ADDR/PREFIX is required as well" --iface veth0 --ip $ENG_IP6/64
ip -n "$(ns_name eng)" addr add fd00:83::99/64 dev veth0 nodad
t_check "an IPv6 address the kernel has: exit 1 with a clear error" \
	expect_exit 1 "fd00:83::99 is an address of the kernel's" --iface veth0 --ip $ENG_IP/24 \
	--ip fd00:83::99/64 --run-dir "$TMP/run-refused"
ip -n "$(ns_name eng)" addr del fd00:83::99/64 dev veth0

# IPV6_ENGINE_ARGS: more engine flags (e.g. --workers 4 --flow-groups 2)
# shellcheck disable=SC2086
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --ip $ENG_IP6/64 --run-dir "$RUN" \
	${IPV6_ENGINE_ARGS:-} >"$TMP/eng.log" 2>&1
t_check "engine starts with an IPv4 and an IPv6 address" wait_for "$TMP/eng.log" "ready:"
t_check "application socket exists" wait_cmd 5 test -S "$RUN/flextoe.sock"

counter() { # NAME: the engine's counter of that name
	ns_exec eng "$BIN/flextoe-stat" counters -a -z -s --run-dir "$RUN" 2>/dev/null |
		awk -v n="$1" '$1 == n { print $2 }'
}

# ---- ping6 and neighbour discovery, the peer resolving the engine ------------------
ping6_test() {
	ns_exec peer ping -6 -c 3 -i 0.2 -W 2 $ENG_IP6 >"$TMP/ping6.out" 2>&1 ||
		{ cat "$TMP/ping6.out" >&2; return 1; }
}
t_check "ping6 from the peer is answered (the peer resolved the engine by NS/NA)" ping6_test
peer_neigh() {
	ip -n "$(ns_name peer)" -6 neigh show $ENG_IP6 dev veth1 | grep -q "lladdr"
}
t_check "the peer's neighbour cache holds the engine's MAC" peer_neigh

# ---- echo ----------------------------------------------------------------------
ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens" wait_for "$TMP/echo.out" listening
echo_test() { # HOST PORT NCONN SIZE
	local out
	out=$(ns_exec peer timeout 150 python3 "$TRAFFIC/echo_clients.py" "$1" "$2" "$3" "$4")
	[[ $(tail -n1 <<<"$out") == "ok echoed=$(($3 * $4))" ]] || { echo "$out" >&2; return 1; }
}
t_check "echo over IPv6: 1 connection, 1 MiB" echo_test $ENG_IP6 7000 1 $((1 << 20))
t_check "echo over IPv6: 100 concurrent connections, 64 KiB each" echo_test $ENG_IP6 7000 100 65536
t_check "echo over IPv6: 1000 concurrent connections, 4 KiB each" echo_test $ENG_IP6 7000 1000 4096
t_check "echo over IPv4 beside it: 10 connections" echo_test $ENG_IP 7000 10 65536
ss_test() { # an open IPv6 connection shows with its IPv6 addresses in flextoe-stat ss
	local out
	ns_bg peer python3 -c "import socket, time
s = socket.create_connection(('$ENG_IP6', 7000)); time.sleep(5)"
	sleep 1
	out=$(ns_exec eng "$BIN/flextoe-stat" ss --run-dir "$RUN" 2>&1)
	grep -q "ESTAB.*\[$ENG_IP6\]:7000 *\[$PEER_IP6\]:[0-9]" <<<"$out" || { echo "$out" >&2; return 1; }
}
t_check "flextoe-stat ss shows an IPv6 connection's addresses" ss_test

# ---- bulk, 1 GiB each way ------------------------------------------------------------
bulk_test() { # DIR PORT [BYTES]: in (Linux -> engine), out (engine -> Linux, Linux connects),
	     # or connect (engine -> Linux, the engine connects: it resolves the peer by NS/NA)
	local dir=$1 port=$2 a b t0 BULK_BYTES=${3:-$BULK_BYTES}
	t0=$SECONDS
	if [[ $dir == in ]]; then
		ns_bg eng "$BIN/flextoe-bulk" --listen "$port" --recv >"$TMP/bulk_$dir.eng" 2>&1
		wait_for "$TMP/bulk_$dir.eng" listening || return 1
		ns_exec peer timeout 300 python3 "$TRAFFIC/bulk_peer.py" send $ENG_IP6 "$port" \
			$BULK_BYTES >"$TMP/bulk_$dir.peer" 2>&1
	elif [[ $dir == out ]]; then
		ns_bg eng "$BIN/flextoe-bulk" --listen "$port" --send $BULK_BYTES \
			>"$TMP/bulk_$dir.eng" 2>&1
		wait_for "$TMP/bulk_$dir.eng" listening || return 1
		ns_exec peer timeout 300 python3 "$TRAFFIC/bulk_peer.py" fetch $ENG_IP6 "$port" \
			>"$TMP/bulk_$dir.peer" 2>&1
	else
		# the engine has never heard from this address: it must solicit it
		ip -n "$(ns_name peer)" addr add $PEER2_IP6/64 dev veth1 nodad
		ns_bg peer python3 "$TRAFFIC/bulk_peer.py" recv $PEER2_IP6 "$port" \
			>"$TMP/bulk_$dir.peer" 2>&1
		wait_for "$TMP/bulk_$dir.peer" listening || return 1
		ns_exec eng timeout 300 "$BIN/flextoe-bulk" --connect "[$PEER2_IP6]:$port" \
			--send $BULK_BYTES >"$TMP/bulk_$dir.eng" 2>&1
		wait_for "$TMP/bulk_$dir.peer" "^bytes=" || return 1
	fi
	wait_for "$TMP/bulk_$dir.eng" "^bytes=" || return 1
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_$dir.eng")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_$dir.peer")
	echo "# bulk $dir over IPv6: $(tail -n1 "$TMP/bulk_$dir.peer") ($((SECONDS - t0)) s)"
	[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] ||
		{ echo "engine: $a peer: $b" >&2; cat "$TMP/bulk_$dir.peer" >&2; return 1; }
}
t_check "$BULK_BYTES bytes Linux -> engine over IPv6, SHA-256 equal" bulk_test in 7100
t_check "64 MiB engine -> Linux over IPv6 (Linux connects), SHA-256 equal" \
	bulk_test out 7101 $((64 << 20))
t_check "$BULK_BYTES bytes engine -> Linux over IPv6 (the engine connects and resolves the peer by ND), SHA-256 equal" \
	bulk_test connect 7102

# ---- adversarial IPv6 ----------------------------------------------------------------
# Raw frames from the peer to the engine's MAC and address: extension-header chains,
# truncated headers, a payload length past the frame, a jumbo option.  Each is dropped
# and counted; the engine goes on serving.
ENG_MAC=$(ip -n "$(ns_name eng)" -br link show dev veth0 | awk '{print $3}')
cat >"$TMP/hostile6.py" <<'PY'
import socket, struct, sys
dev, dmac, src, dst = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((dev, 0))
smac = s.getsockname()[4]
d = bytes.fromhex(dmac.replace(":", ""))
sa, da = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
def tcp(sport=40000, dport=7000):
    # a SYN; its checksum is not even looked at before the headers fail
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 2, 65535, 0, 0)
def ip6(nh, payload, plen=None):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB", 6 << 28, plen, nh, 64) + sa + da + payload
def ext(nh, n=0):  # a generic extension header of 8 * (n + 1) bytes
    return bytes([nh, n]) + bytes(6 + 8 * n)
frames = []
# extension-header chains: hop-by-hop -> dest opts -> routing -> ... -> TCP
chain = tcp()
for nh, hdr in ((6, 60), (60, 43), (43, 60), (60, 60), (60, 0)):
    chain = ext(nh) + chain
frames.append(ip6(0, chain))
frames.append(ip6(60, ext(60) * 40 + ext(6) + tcp()))            # a long chain
frames.append(ip6(44, struct.pack("!BBHI", 6, 0, 1, 7) + tcp()))  # a fragment header
# jumbo payload option (RFC 2675) in a hop-by-hop header, payload length 0
jumbo = bytes([6, 0, 0xc2, 4]) + struct.pack("!I", 70000)
frames.append(ip6(0, jumbo + tcp(), plen=0))
# truncated: half an IPv6 header (no destination to steer by: the kernel's, which drops
# it); a TCP header cut short
frames.append(struct.pack("!IHBB", 6 << 28, 20, 6, 64) + sa[:8])
frames.append(ip6(6, tcp()[:12]))
# a payload length past the end of the frame
frames.append(ip6(6, tcp(), plen=1200))
for f in frames:
    s.send(d + smac + b"\x86\xdd" + f)
print("sent %d" % len(frames))
PY
# The engine host's kernel IPv6 header errors (/proc/net/snmp6): where a frame too
# short to carry a destination goes, as the steering program cannot tell it is ours.
kernel_ip6_hdr_errors() {
	ns_exec eng awk '$1 == "Ip6InHdrErrors" || $1 == "Ip6InTruncatedPkts" { n += $2 }
		END { print n + 0 }' /proc/net/snmp6
}
hostile_test() {
	local before after ext_before ext_after k_before k_after
	before=$(counter TcpInErrs); ext_before=$(counter FlextoeIn6ExtHdrDrops)
	k_before=$(kernel_ip6_hdr_errors)
	ns_exec peer python3 "$TMP/hostile6.py" veth1 "$ENG_MAC" $PEER_IP6 $ENG_IP6 || return 1
	sleep 0.5
	after=$(counter TcpInErrs); ext_after=$(counter FlextoeIn6ExtHdrDrops)
	k_after=$(kernel_ip6_hdr_errors)
	echo "# TcpInErrs ${before:-?} -> ${after:-?}, FlextoeIn6ExtHdrDrops ${ext_before:-?} -> ${ext_after:-?}," \
		"kernel Ip6InHdrErrors+Ip6InTruncatedPkts $k_before -> $k_after"
	[[ -n $after && -n $ext_after ]] || return 1
	# 4 with extension headers; 2 malformed (the TCP header cut short, the payload
	# length past the frame); the half header never reaches the engine: the
	# kernel drops and counts it
	(( ext_after - ext_before == 4 && after - before == 2 && k_after - k_before == 1 ))
}
t_check "adversarial IPv6 frames are dropped and counted" hostile_test
t_check "the engine still serves IPv6 afterwards" echo_test $ENG_IP6 7000 10 65536
t_check "the engine still answers ping6" ping6_test

t_check "the engine is still running" kill -0 "$(cat "$RUN/flextoe.pid")"
t_summary
