#!/usr/bin/env bash
# vlan.sh - a real Linux TCP peer that sends 802.1Q (and 802.1ad QinQ) tagged frames (a TC program
# pushes the tags, tests/tools/vlan_tag) is served by the engine with xdp-progs/vlan_strip at rx-pre:
# echo and SHA-256-checked bulk transfers, vlan_strip's counters match the tagged frames sent, tags
# are on the wire (tcpdump -e in the engine's namespace), and without vlan_strip tagged frames are
# dropped cleanly (counted, no answer, engine unharmed).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
STRIP=$PWD/$BUILD/xdp-progs/vlan_strip.bpf.o
TAG=$PWD/$BUILD/tests/tools/vlan_tag/vlan_tag.bpf.o
TRAFFIC=$PWD/tests/tools/traffic
for f in "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk" "$BIN/flextoe-loaderd" "$BPF" \
	 "$STRIP" "$TAG"; do
	if [[ ! -e $f ]]; then
		echo "missing $f (run make)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done
for tool in tcpdump python3 tc ethtool; do
	if ! command -v $tool >/dev/null; then
		echo "missing $tool" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-vlan.XXXXXX)
chmod 755 "$TMP"		# tcpdump reads and writes its files as user tcpdump
trap 'ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT

ENG_IP=10.94.1.5
KERN_IP=10.94.1.1
PEER_IP=10.94.1.2
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
BULK_BYTES=$((4 << 20))

ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
# The tags must be in the frames: no transmit VLAN offload on the peer.
ip netns exec "$(ns_name peer)" ethtool -K veth1 txvlan off tx-vlan-stag-hw-insert off >/dev/null 2>&1
# No IPv6 chatter (router solicitations ...) among the counted frames.
ip netns exec "$(ns_name peer)" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$(ns_name peer)" sysctl -qw net.ipv4.tcp_syn_retries=1

wait_for() { # FILE PATTERN: up to 10 s
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2
	return 1
}
# The Linux peer's tags: TC programs on its veth (clsact).
tag_mode() { # push_1q | push_qinq
	ns_exec peer tc filter replace dev veth1 egress pref 1 handle 1 bpf da obj "$TAG" sec "tc/$1"
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
cap_stop() {	# SIGINT to tcpdump itself (ns_exec execs it in the ns_bg subshell)
	local pid
	sleep 0.3
	pid=$(pgrep -P "$CAP_PID" -x tcpdump)
	[[ -n $pid ]] && kill -INT "$pid" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
}
cap_read() { # NAME NS [FILTER]
	ns_exec "$2" tcpdump -nn -e -r "$TMP/$1.pcap" ${3:+"$3"} 2>/dev/null
}

# ---- the peer's TC tagging ------------------------------------------------------------
t_check "clsact qdisc on the peer's veth" ns_exec peer tc qdisc add dev veth1 clsact
t_check "TC egress program pushes 802.1Q tags (bpf_skb_vlan_push)" tag_mode push_1q
t_check "TC ingress program pops tags" \
	ns_exec peer tc filter add dev veth1 ingress pref 1 handle 1 bpf da obj "$TAG" sec tc/pop

# ---- the engine ----------------------------------------------------------------------------
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
t_check "engine starts" wait_for "$TMP/eng.log" "ready:"
ENG_PID=$(cat "$RUN/flextoe.pid")
for _ in $(seq 100); do [[ -S $RUN/loader.sock && -S $RUN/flextoe.sock ]] && break; sleep 0.05; done
ns_bg eng "$BIN/flextoe-echo" --port 7 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens on port 7" wait_for "$TMP/echo.out" listening
ENG_MAC=$(ip -n "$(ns_name eng)" -br link show veth0 | awk '{print $3}')

# The wire carries the tags: tagged pings to the kernel's own address on
# the engine's interface (not the engine's, so tcpdump there sees them).
KERN_MAC=$ENG_MAC	# the same interface
ip -n "$(ns_name peer)" neigh replace $KERN_IP lladdr "$KERN_MAC" dev veth1 nud permanent
cap_start wire eng veth0 "vlan 100"
ns_exec peer ping -q -c3 -i0.2 -W1 $KERN_IP >/dev/null 2>&1
cap_stop
t_check "tcpdump -e on the engine-side veth sees the peer's frames tagged 'vlan 100'" \
	test "$(cap_read wire eng | grep -c "ethertype 802.1Q (0x8100).*vlan 100, p 0, ethertype IPv4.*> $KERN_IP: ICMP echo request")" -eq 3

# ---- without vlan_strip: tagged frames are dropped, cleanly ---------------------------------
# A static neighbour entry: what is tested is TCP, not ARP.
ip -n "$(ns_name peer)" neigh replace $ENG_IP lladdr "$ENG_MAC" dev veth1 nud permanent
t_check "without vlan_strip the tagged peer is not served (connect times out)" \
	test "$(echo_once)" = timeout
kill -USR1 "$ENG_PID"
t_check "the engine counted the tagged SYNs as 'other' frames and dropped them" \
	sh -c "for i in \$(seq 40); do grep 'queue 0: rx [0-9]' '$TMP/eng.log' | tail -n1 | grep -Eq 'tcp 0 .*other [1-9]' && exit 0; sleep 0.05; done; exit 1"
t_check "engine still running" kill -0 "$ENG_PID"
ip -n "$(ns_name peer)" neigh del $ENG_IP dev veth1

# ---- with vlan_strip at rx-pre -------------------------------------------------------------
ID=$("$BPF" load "$STRIP" --hook rx-pre 2>"$TMP/load.err")
t_check "load vlan_strip at rx-pre" test -n "$ID"
cat "$TMP/load.err" >&2
t_check "vlan_strip runs first at rx-pre (priority 10)" \
	sh -c "'$BPF' list | grep -Eq '^rx-pre +10 +$ID +xdp_vlan_strip'"
cap_start t1 peer veth1 ""
P1_0=$(vstat 2)
R1=$(echo_once)
cap_stop
P1_1=$(vstat 2)
N1=$(cap_read t1 peer "vlan and dst host $ENG_IP" | wc -l)
t_check "the tagged Linux peer gets its echo (ARP and TCP through vlan_strip)" test "$R1" = ok
t_check "every frame the peer sent was tagged 'vlan 100' ($N1 frames)" \
	test "$N1" -gt 3 -a "$(cap_read t1 peer "vlan and dst host $ENG_IP" | grep -c 'ethertype 802.1Q (0x8100).*vlan 100')" -eq "$N1" \
	-a "$(cap_read t1 peer "dst host $ENG_IP" | wc -l)" -eq 0
t_check "vlan_strip popped one tag per frame: counter +$((P1_1 - P1_0)) = $N1 frames" \
	test $((P1_1 - P1_0)) -eq "$N1"
NR=$(cap_read t1 peer "src host $ENG_IP" | wc -l)
t_check "the engine's replies arrive untagged at the peer ($NR frames, none tagged)" \
	test "$NR" -gt 3 -a "$(cap_read t1 peer "src host $ENG_IP" | grep -c 'ethertype IPv4\|ethertype ARP')" -eq "$NR" \
	-a "$(cap_read t1 peer "vlan and src host $ENG_IP" | wc -l)" -eq 0

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
t_check "TC egress switched to two pushes (QinQ)" tag_mode push_qinq
cap_start t2 peer veth1 ""
Q_0=$(vstat 3)
R2=$(echo_once)
cap_stop
Q_1=$(vstat 3)
N2=$(cap_read t2 peer "vlan and vlan and dst host $ENG_IP" | wc -l)
t_check "the QinQ peer gets its echo" test "$R2" = ok
t_check "its frames carry 802.1ad 200 outside 802.1Q 100 ($N2 frames)" \
	test "$N2" -gt 3 -a "$(cap_read t2 peer "vlan and vlan and dst host $ENG_IP" | grep -c 'ethertype 802.1Q-QinQ (0x88a8).*vlan 200, p 0, ethertype 802.1Q (0x8100), vlan 100')" -eq "$N2"
t_check "vlan_strip popped two tags per frame: counter +$((Q_1 - Q_0)) = $N2 frames" \
	test $((Q_1 - Q_0)) -eq "$N2"

# ---- unloading vlan_strip: tagged peers are dropped again -------------------------------------
tag_mode push_1q >/dev/null
t_check "unload vlan_strip" sh -c "'$BPF' unload $ID >/dev/null"
ip -n "$(ns_name peer)" neigh replace $ENG_IP lladdr "$ENG_MAC" dev veth1 nud permanent
t_check "without vlan_strip again: not served" test "$(echo_once)" = timeout
t_check "engine still running" kill -0 "$ENG_PID"

t_summary
