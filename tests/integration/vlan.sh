#!/usr/bin/env bash
# vlan.sh - a real Linux TCP peer on VLAN 100 (a VLAN subinterface where the kernel has 802.1Q,
# else TC programs that push the tags on egress and, strictly, pop exactly VID 100 on ingress,
# dropping anything else - tests/tools/vlan_tag) is served by the engine with xdp-progs/vlan_strip
# at rx-pre: echo and SHA-256-checked bulk transfers both ways; the engine answers ON the VLAN
# (ARP reply, SYN-ACK, data, ICMP echo reply all tagged 'vlan 100' on the wire, none untagged;
# its own connection to the peer uses the VLAN the neighbour cache learned); vlan_strip's counters
# match the tagged frames sent; QinQ peers (802.1ad 200 over 802.1Q 100) are answered with both
# tags; without vlan_strip tagged frames are dropped cleanly (counted, no answer, engine unharmed).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
STRIP=$PWD/$BUILD/xdp-progs/vlan_strip.bpf.o
TAG=$PWD/$BUILD/tests/tools/vlan_tag/vlan_tag.bpf.o
TRAFFIC=$PWD/tests/tools/traffic
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk" "$BIN/flextoe-loaderd" "$BPF" \
	"$STRIP" "$TAG"
need_tools tcpdump python3 tc ethtool bpftool ping

test_init vlan
chmod 755 "$TMP"		# tcpdump reads and writes its files as user tcpdump

ENG_IP=10.97.1.5
KERN_IP=10.97.1.1
PEER_IP=10.97.1.2
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
BULK_BYTES=$((4 << 20))

ns_add eng && ns_add peer
# No IPv6 chatter from the engine side's kernel either: the peer's strict
# ingress counts what it rejects.
ip netns exec "$(ns_name eng)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$(ns_name eng)" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
# The tags must be in the frames: no transmit VLAN offload on the peer.
ip netns exec "$(ns_name peer)" ethtool -K veth1 txvlan off tx-vlan-stag-hw-insert off >/dev/null 2>&1
# No IPv6 chatter (router solicitations ...) among the counted frames.
ip netns exec "$(ns_name peer)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$(ns_name peer)" sysctl -qw net.ipv4.tcp_syn_retries=1

# The peer's VLAN: a real 802.1Q subinterface where the kernel has one,
# else TC programs on the plain veth (PIF: the peer's IP interface).
PIF=veth1
REAL=0
if ip -n "$(ns_name peer)" link add link veth1 name veth1.100 type vlan id 100 2>/dev/null; then
	REAL=1
	PIF=veth1.100
	echo "# 802.1Q available: the peer uses the VLAN subinterface veth1.100"
	ip -n "$(ns_name peer)" addr del $PEER_IP/24 dev veth1
	ip -n "$(ns_name peer)" addr add $PEER_IP/24 dev veth1.100
	ip -n "$(ns_name peer)" link set veth1.100 up
	ip netns exec "$(ns_name peer)" ethtool -K veth1.100 tx off tso off gso off gro off >/dev/null 2>&1
else
	echo "# no 802.1Q in this kernel (CONFIG_VLAN_8021Q): tagging with TC programs instead"
fi

# The Linux peer's tags: TC programs on its veth (clsact).
tag_mode() { # push_1q | push_qinq
	ns_exec peer tc filter replace dev veth1 egress pref 1 handle 1 bpf da obj "$TAG" sec "tc/$1"
}
pop_mode() { # pop_strict | pop_strict_qinq
	ns_exec peer tc filter replace dev veth1 ingress pref 1 handle 1 bpf da obj "$TAG" sec "tc/$1"
}
# vlan_tag_stats counter: 1 popped, 4 rejected by a strict ingress program
# (the map of the program now on ingress: each tc filter has its own; -1 if unreadable)
tstat() {
	local pid mid
	pid=$(ns_exec peer tc filter show dev veth1 ingress | grep -o ' id [0-9]*' | head -n1 | awk '{print $2}')
	for mid in $(bpftool prog show id "${pid:-0}" -j 2>/dev/null |
			python3 -c 'import json,sys; print(*json.load(sys.stdin).get("map_ids", []))' 2>/dev/null); do
		bpftool map show id "$mid" 2>/dev/null | grep -q 'name vlan_tag_stats' || continue
		bpftool map lookup id "$mid" key "$1" 0 0 0 -j 2>/dev/null |
			python3 -c 'import json,sys; print(int.from_bytes(bytes(int(b, 16) for b in json.load(sys.stdin)["value"]), "little"))' &&
			return 0
	done
	echo -1
}
# echo_once PORT: one exchange; "ok", "timeout" or an error
cat >"$TMP/echo_once.py" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
except (socket.timeout, TimeoutError):
    print("timeout"); sys.exit(0)
except OSError as e:
    print("error %r" % e); sys.exit(0)
msg = b"tagged hello" * 10
s.sendall(msg)
got = b""
while len(got) < len(msg):
    b = s.recv(4096)
    if not b: break
    got += b
print("ok" if got == msg else "mismatch %r" % got)
PY
echo_once() { ns_exec peer python3 "$TMP/echo_once.py" $ENG_IP 7; }
# pings PEER->ENG that got an answer
ping_eng() { ns_exec peer ping -c3 -i0.2 -W1 $ENG_IP 2>/dev/null | grep -o '[0-9]* received' | grep -o '[0-9]*'; }
# vlan_stats counter (summed over CPUs): 1 untagged, 2 one tag popped, 3 two tags popped
vstat() {
	"$BPF" map lookup vlan_stats "$1" --json |
		python3 -c "import json,sys; e=json.load(sys.stdin); print(sum(int.from_bytes(bytes.fromhex(v),'little') for v in e['values']))"
}
cap_start() { # NAME NS IF FILTER
	# (filters are applied when reading: libpcap then sees the tags in
	# the data whether the kernel had them in the frame or offloaded)
	ns_bg "$2" tcpdump -i "$3" --immediate-mode -nn -e -U -w "$TMP/$1.pcap" ${4:+"$4"} 2>"$TMP/$1.tcpdump"
	CAP_PID=${NS_PIDS[-1]}
	wait_for "$TMP/$1.tcpdump" "listening on" >/dev/null
}
cap_stop() { tcpdump_stop "$CAP_PID"; }
cap_read() { # NAME NS [FILTER]
	ns_exec "$2" tcpdump -nn -e -r "$TMP/$1.pcap" ${3:+"$3"} 2>/dev/null
}

# ---- the peer's TC tagging ------------------------------------------------------------
if [[ $REAL == 0 ]]; then
	t_check "clsact qdisc on the peer's veth" ns_exec peer tc qdisc add dev veth1 clsact
	t_check "TC egress program pushes 802.1Q tags (bpf_skb_vlan_push)" tag_mode push_1q
	t_check "TC ingress program pops VID 100 only, strictly (tc/pop_strict)" pop_mode pop_strict
	# The strictness itself: an untagged frame to the peer is dropped.
	# (the kernel on the engine's veth pings it, untagged, with a static
	# neighbour entry so that no ARP is needed)
	PEER_MAC=$(ip -n "$(ns_name peer)" -br link show veth1 | awk '{print $3}')
	ip -n "$(ns_name eng)" neigh replace $PEER_IP lladdr "$PEER_MAC" dev veth0 nud permanent
	R0=$(tstat 4)
	PR=$(ns_exec eng ping -c2 -i0.2 -W1 $PEER_IP 2>/dev/null | grep -o '[0-9]* received')
	t_check "the peer's strict ingress drops untagged frames ($PR, rejected +$(( $(tstat 4) - R0 )))" \
		test "$PR" = "0 received" -a $(( $(tstat 4) - R0 )) -ge 2 -a "$R0" -ge 0
	ip -n "$(ns_name eng)" neigh del $PEER_IP dev veth0
fi

# ---- the engine ----------------------------------------------------------------------------
# VLAN_ENGINE_ARGS: more engine options, e.g. "--workers 2" (the pipelined path, pipe.c)
# shellcheck disable=SC2086
t_check "engine starts" engine_start eng $ENG_IP/24 ${VLAN_ENGINE_ARGS:-}
ENG_PID=$(cat "$RUN/flextoe.pid")
engine_sockets
ns_bg eng "$BIN/flextoe-echo" --port 7 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens on port 7" wait_for "$TMP/echo.out" listening
ENG_MAC=$(ip -n "$(ns_name eng)" -br link show veth0 | awk '{print $3}')

# The wire carries the tags: tagged pings to the kernel's own address on
# the engine's interface (not the engine's, so tcpdump there sees them).
KERN_MAC=$ENG_MAC	# the same interface
ip -n "$(ns_name peer)" neigh replace $KERN_IP lladdr "$KERN_MAC" dev $PIF nud permanent
cap_start wire eng veth0 "vlan 100"
ns_exec peer ping -q -c3 -i0.2 -W1 $KERN_IP >/dev/null 2>&1
cap_stop
t_check "tcpdump -e on the engine-side veth sees the peer's frames tagged 'vlan 100'" \
	test "$(cap_read wire eng | grep -c "ethertype 802.1Q (0x8100).*vlan 100, p 0, ethertype IPv4.*> $KERN_IP: ICMP echo request")" -eq 3

# ---- without vlan_strip: tagged frames are dropped, cleanly ---------------------------------
# A static neighbour entry: what is tested is TCP, not ARP.
ip -n "$(ns_name peer)" neigh replace $ENG_IP lladdr "$ENG_MAC" dev $PIF nud permanent
t_check "without vlan_strip the tagged peer is not served (connect times out)" \
	test "$(echo_once)" = timeout
kill -USR1 "$ENG_PID"
t_check "the engine counted the tagged SYNs as 'other' frames and dropped them" \
	sh -c "for i in \$(seq 40); do grep 'queue 0: rx [0-9]' '$TMP/eng.log' | tail -n1 | grep -Eq 'tcp 0 .*other [1-9]' && exit 0; sleep 0.05; done; exit 1"
t_check "engine still running" kill -0 "$ENG_PID"
ip -n "$(ns_name peer)" neigh del $ENG_IP dev $PIF

# ---- with vlan_strip at rx-pre -------------------------------------------------------------
ID=$("$BPF" load "$STRIP" --hook rx-pre 2>"$TMP/load.err")
t_check "load vlan_strip at rx-pre" test -n "$ID"
cat "$TMP/load.err" >&2
t_check "vlan_strip runs first at rx-pre (priority 10)" \
	sh -c "'$BPF' list | grep -Eq '^rx-pre +10 +$ID +xdp_vlan_strip'"
# What the engine sends, seen twice: by tcpdump -e on the peer's parent
# device (the wire's far end; frames an AF_XDP socket sends do not pass
# the sending veth's packet taps, so tcpdump on veth0 misses them), and by
# flextoe-bpf capture at the engine's tx-post hook, which sees every frame
# it sends from the Ethernet header on, tags included.
RJ0=$(tstat 4)
"$BPF" capture --hook tx-post -w "$TMP/t1e.pcap" 2>"$TMP/t1e.err" &
NS_PIDS+=($!); ECAP=$!
t_check "flextoe-bpf capture attached at tx-post" wait_for "$TMP/t1e.err" "capturing at"
cap_start t1 peer veth1 ""
P1_0=$(vstat 2)
R1=$(echo_once)
NP=$(ping_eng)
cap_stop
kill -INT $ECAP 2>/dev/null
wait $ECAP 2>/dev/null
P1_1=$(vstat 2)
N1=$(cap_read t1 peer "vlan and dst host $ENG_IP" | wc -l)
t_check "the tagged Linux peer gets its echo (ARP and TCP through vlan_strip)" test "$R1" = ok
t_check "the tagged Linux peer's pings are answered (${NP:-0}/3)" test "${NP:-0}" -eq 3
t_check "every frame the peer sent was tagged 'vlan 100' ($N1 frames)" \
	test "$N1" -gt 3 -a "$(cap_read t1 peer "vlan and dst host $ENG_IP" | grep -c 'ethertype 802.1Q (0x8100).*vlan 100')" -eq "$N1" \
	-a "$(cap_read t1 peer "dst host $ENG_IP" | wc -l)" -eq 0
t_check "vlan_strip popped one tag per frame: counter +$((P1_1 - P1_0)) = $N1 frames" \
	test $((P1_1 - P1_0)) -eq "$N1"
# The engine's answers, as tcpdump -e shows them: on the VLAN, none untagged.
eng_replies() { # NAME NS: the engine's frames (IPv4 from it, its ARP replies)
	ns_exec peer tcpdump -nn -e -r "$TMP/$1.pcap" 2>/dev/null |
		grep -E "^[^ ]+ $ENG_MAC > " | grep -E "$ENG_IP\.[0-9]+ >|$ENG_IP > |is-at $ENG_MAC"
}
for side in "t1 peer" "t1e tx-post"; do
	# shellcheck disable=SC2086
	set -- $side
	NR=$(eng_replies "$1" "$2" | wc -l)
	NT=$(eng_replies "$1" "$2" | grep -c 'ethertype 802.1Q (0x8100), length [0-9]*: vlan 100, p 0, ')
	t_check "[$2 side] all $NR of the engine's frames carry 'vlan 100' ($NT tagged)" test "$NR" -gt 5 -a "$NT" -eq "$NR"
	t_check "[$2 side] the ARP reply is tagged 'vlan 100'" \
		test "$(eng_replies "$1" "$2" | grep -c "vlan 100, p 0, ethertype ARP.*Reply $ENG_IP is-at $ENG_MAC")" -ge 1
	t_check "[$2 side] the SYN-ACK is tagged 'vlan 100'" \
		test "$(eng_replies "$1" "$2" | grep -c "vlan 100, p 0, ethertype IPv4.*$ENG_IP\.7 > $PEER_IP\.[0-9]*: Flags \[S\.")" -ge 1
	t_check "[$2 side] the echoed data is tagged 'vlan 100'" \
		test "$(eng_replies "$1" "$2" | grep -cE "vlan 100, p 0, ethertype IPv4.*$ENG_IP\.7 > $PEER_IP\.[0-9]+: Flags \[P?\.\].*length 120")" -ge 1
	t_check "[$2 side] the 3 ICMP echo replies are tagged 'vlan 100'" \
		test "$(eng_replies "$1" "$2" | grep -c "vlan 100, p 0, ethertype IPv4.*$ENG_IP > $PEER_IP: ICMP echo reply")" -eq 3
done
if [[ $REAL == 0 ]]; then
	t_check "the peer's strict ingress rejected none of the engine's frames (rejected +$(( $(tstat 4) - RJ0 )))" \
		test "$(tstat 4)" -eq "$RJ0"
fi

bulk_in() { # Linux -> engine, tagged data segments
	local a b
	ns_bg eng "$BIN/flextoe-bulk" --listen 7100 --recv >"$TMP/bulk_in.out" 2>&1
	wait_for "$TMP/bulk_in.out" listening || return 1
	ns_exec peer timeout 120 python3 "$TRAFFIC/bulk_peer.py" send $ENG_IP 7100 $BULK_BYTES \
		>"$TMP/bulk_in.peer" 2>&1
	wait_for "$TMP/bulk_in.out" "^bytes=" || return 1
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_in.out")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_in.peer")
	echo "# tagged Linux -> engine: $(tail -n1 "$TMP/bulk_in.out")"
	[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
}
bulk_out() { # engine -> Linux, tagged ACKs
	local a b
	ns_bg peer python3 "$TRAFFIC/bulk_peer.py" recv $PEER_IP 7101 >"$TMP/bulk_out.peer" 2>&1
	wait_for "$TMP/bulk_out.peer" listening || return 1
	ns_exec eng timeout 120 "$BIN/flextoe-bulk" --connect $PEER_IP:7101 --send $BULK_BYTES \
		>"$TMP/bulk_out.out" 2>&1
	wait_for "$TMP/bulk_out.peer" "^bytes=" || return 1
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_out.out")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_out.peer")
	echo "# engine -> tagged Linux: $(tail -n1 "$TMP/bulk_out.out")"
	[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
}
P2_0=$(vstat 2)
t_check "bulk 4 MiB tagged Linux -> engine, SHA-256 equal" bulk_in
t_check "bulk 4 MiB engine -> tagged Linux, SHA-256 equal" bulk_out
t_check "vlan_strip popped the bulk transfers' tags (+$(( $(vstat 2) - P2_0 )))" \
	test $(( $(vstat 2) - P2_0 )) -gt 1000

# ---- QinQ: 802.1ad outer 200 + 802.1Q inner 100 ------------------------------------------------
# The engine answers with both tags (outer 802.1ad 200, inner 802.1Q 100),
# as it recorded them from vlan_strip; the peer's ingress now accepts only
# exactly that pair.
qinq_part() {
	t_check "TC egress switched to two pushes (QinQ)" tag_mode push_qinq
	t_check "TC ingress accepts 802.1ad 200 + 802.1Q 100 only (tc/pop_strict_qinq)" pop_mode pop_strict_qinq
	ip -n "$(ns_name peer)" neigh flush dev veth1	# ARP again, over QinQ
	RJ2=$(tstat 4)
	cap_start t2 peer veth1 ""
	Q_0=$(vstat 3)
	R2=$(echo_once)
	NP2=$(ping_eng)
	cap_stop
	Q_1=$(vstat 3)
	N2=$(cap_read t2 peer "vlan and vlan and dst host $ENG_IP" | wc -l)
	t_check "the QinQ peer gets its echo" test "$R2" = ok
	t_check "the QinQ peer's pings are answered (${NP2:-0}/3)" test "${NP2:-0}" -eq 3
	t_check "its frames carry 802.1ad 200 outside 802.1Q 100 ($N2 frames)" \
		test "$N2" -gt 3 -a "$(cap_read t2 peer "vlan and vlan and dst host $ENG_IP" | grep -c 'ethertype 802.1Q-QinQ (0x88a8).*vlan 200, p 0, ethertype 802.1Q (0x8100), vlan 100')" -eq "$N2"
	t_check "vlan_strip popped two tags per frame: counter +$((Q_1 - Q_0)) = $N2 frames" \
		test $((Q_1 - Q_0)) -eq "$N2"
	NR2=$(eng_replies t2 peer | wc -l)
	QT='ethertype 802.1Q-QinQ (0x88a8), length [0-9]*: vlan 200, p 0, ethertype 802.1Q (0x8100), vlan 100, p 0, '
	t_check "all $NR2 of the engine's frames carry 802.1ad 200 + 802.1Q 100" \
		test "$NR2" -gt 5 -a "$(eng_replies t2 peer | grep -c "$QT")" -eq "$NR2"
	t_check "QinQ: ARP reply, SYN-ACK and ICMP echo replies double-tagged" \
		test "$(eng_replies t2 peer | grep -c "${QT}ethertype ARP.*Reply $ENG_IP is-at")" -ge 1 \
		-a "$(eng_replies t2 peer | grep -c "${QT}ethertype IPv4.*$ENG_IP\.7 > $PEER_IP\.[0-9]*: Flags \[S\.")" -ge 1 \
		-a "$(eng_replies t2 peer | grep -c "${QT}ethertype IPv4.*$ENG_IP > $PEER_IP: ICMP echo reply")" -eq 3
	t_check "the peer's strict QinQ ingress rejected none of them" test "$(tstat 4)" -eq "$RJ2"
	tag_mode push_1q >/dev/null
	pop_mode pop_strict >/dev/null
}
if [[ $REAL == 0 ]]; then
	qinq_part
else
	echo "# QinQ part skipped with a real VLAN subinterface (it needs the TC pushes)"
fi

# ---- unloading vlan_strip: tagged peers are dropped again -------------------------------------
t_check "unload vlan_strip" sh -c "'$BPF' unload $ID >/dev/null"
ip -n "$(ns_name peer)" neigh replace $ENG_IP lladdr "$ENG_MAC" dev $PIF nud permanent
t_check "without vlan_strip again: not served" test "$(echo_once)" = timeout
t_check "engine still running" kill -0 "$ENG_PID"

t_summary
