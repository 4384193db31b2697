#!/usr/bin/env bash
# progs_ipv6.sh - the shipped programs with Linux-to-Linux IPv6 traffic at the kernel's XDP hook (skb mode): the firewall with IPv6 and IPv4 rules side by side (ping6 and neighbour discovery pass), tcp_trace's records of IPv6 segments, and capture's and tcp_trace's pcap files read by tshark.
#
# The programs run at the kernel's hook without struct flextoe_md, as they
# do where the engine does not (yet) carry IPv6; tests/tools/xdp-ring
# attaches them, writes their maps and reads their rings.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
RING=$PWD/$BUILD/tests/tools/xdp-ring
FW=$PWD/$BUILD/bin/flextoe-fw
PROGS=$PWD/$BUILD/xdp-progs
need_files "$RING" "$FW" "$PROGS/firewall.bpf.o" "$PROGS/tcp_trace_ktime.bpf.o" "$PROGS/capture.bpf.o"
need_tools tshark python3 ping

ns_init
TMP=$(mktemp -d /tmp/ftoe-progs6.XXXXXX)
trap 'ns_cleanup; rm -rf "$TMP"' EXIT

A6=fd00:82::1 B6=fd00:82::2 A4=10.82.0.1 B4=10.82.0.2
ns_add a && ns_add b && ns_link a veth0 $A4/24 b veth1 $B4/24 ||
	{ t_fail "namespaces and veth pair"; t_summary; exit; }
# nodad: usable at once; neighbour discovery still runs (ping6 below)
ns_exec a ip -6 addr add $A6/64 dev veth0 nodad
ns_exec b ip -6 addr add $B6/64 dev veth1 nodad

# a dual-stack server in a: echoes one line per connection on 7001-7003
cat >"$TMP/srv.py" <<'PY'
import socket, selectors, sys
sel = selectors.DefaultSelector()
for port in (7001, 7002, 7003):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(('::', port)); s.listen(16); sel.register(s, selectors.EVENT_READ)
print('listening', flush=True)
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept()
        c.settimeout(2)
        try:
            c.sendall(c.recv(100))
        except OSError:
            pass
        c.close()
PY
# a dropped SYN is retransmitted after 1 s: a 1 s timeout tells a denied port
cat >"$TMP/cli.py" <<'PY'
import socket, sys
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.0)
    s.sendall(b'hello ipv6\n')
    sys.exit(0 if s.recv(100) == b'hello ipv6\n' else 1)
except OSError:
    sys.exit(1)
PY
ns_bg a python3 "$TMP/srv.py" >"$TMP/srv.out" 2>&1
t_check "server in a listens" wait_for "$TMP/srv.out" listening 5
conn() { ns_exec b python3 "$TMP/cli.py" "$1" "$2"; }
refused() { ! conn "$1" "$2"; }
ping6_ok() { ns_exec b ping -6 -c 2 -i 0.2 -W 2 $A6 >/dev/null; }
# ip netns exec execs xdp-ring: $! is xdp-ring itself, which detaches on SIGTERM
ring_bg() { ip netns exec "$(ns_name a)" "$RING" "$@" & }

# ---- firewall: IPv6 and IPv4 rules in one rule set -------------------------------------
cat >"$TMP/fw.rules" <<RULES
policy allow
deny  tcp $B6           any $A6/128     7002
deny  tcp fd00:82::/64  any any         7003-7003
allow tcp $B4           any $A4         7003
deny  tcp 10.82.0.0/24  any 10.82.0.1   7001
RULES
if ! "$FW" compile "$TMP/fw.rules" --print-updates >"$TMP/fw.upd" 2>"$TMP/fw.err"; then
	t_fail "flextoe-fw compile of IPv6 rules"; sed 's/^/    /' "$TMP/fw.err"
else
	t_ok "flextoe-fw compile of IPv6 rules: $(cat "$TMP/fw.err")"
fi
ring_bg --updates "$TMP/fw.upd" --stats fw_stats veth0 "$PROGS/firewall.bpf.o" >"$TMP/fw.out" 2>&1
FWPID=$!
if wait_for "$TMP/fw.out" attached 20; then
	t_check "firewall: ping6 b -> a (neighbour discovery and echo pass)" ping6_ok
	t_check "firewall: IPv6 TCP to 7001 allowed (policy)" conn $A6 7001
	t_check "firewall: IPv6 TCP to 7002 denied (rule 0, host /128)" refused $A6 7002
	t_check "firewall: IPv6 TCP to 7003 denied (rule 1, /64)" refused $A6 7003
	t_check "firewall: IPv4 TCP to 7003 allowed (rule 2: IPv6 rules do not match IPv4)" conn $A4 7003
	t_check "firewall: IPv4 TCP to 7002 allowed (policy)" conn $A4 7002
	t_check "firewall: IPv4 TCP to 7001 denied (rule 3)" refused $A4 7001
	kill -TERM $FWPID; wait $FWPID
	denied=$(awk '$1 == "stat" && $3 == 4 { print $4 }' "$TMP/fw.out")
	malformed=$(awk '$1 == "stat" && $3 == 2 { print $4 }' "$TMP/fw.out")
	t_check "firewall: fw_stats counted denied segments (${denied:-none}) and nothing malformed (${malformed:-none})" \
		test "${denied:-0}" -gt 0 -a "${malformed:-1}" -eq 0
else
	t_fail "firewall attached at the kernel hook"; sed 's/^/    /' "$TMP/fw.out"
	kill $FWPID 2>/dev/null
fi

# ---- tcp_trace and capture: records and pcap of an IPv6 flow ---------------------------
ring_run() {	# ring_run NAME OBJ MAP: attach, one IPv6 exchange, detach
	ring_bg --ring "$3" --pcap "$TMP/$1.pcap" veth0 "$PROGS/$2.bpf.o" >"$TMP/$1.out" 2>&1
	local pid=$!
	if ! wait_for "$TMP/$1.out" attached 10; then
		t_fail "$1 attached at the kernel hook"; kill $pid 2>/dev/null; return 1
	fi
	t_check "$1: IPv6 exchange b -> a:7001" conn $A6 7001
	sleep 0.3
	kill -TERM $pid; wait $pid
}
if ring_run trace tcp_trace_ktime trace_events; then
	t_check "tcp_trace: records of family 6 with b's and a's addresses" \
		grep -q "family 6 $B6\.[0-9]* > $A6\.7001 flags 0x02" "$TMP/trace.out"
	t_check "tcp_trace: the data segment's payload length (11 bytes)" \
		grep -q "family 6 $B6\.[0-9]* > $A6\.7001 flags 0x18 .* len 11" "$TMP/trace.out"
	# one tshark run per file (it takes seconds to start on a loaded machine)
	tshark -r "$TMP/trace.pcap" -T fields -E separator=' ' -e ipv6.src -e tcp.dstport \
		2>/dev/null >"$TMP/trace.txt"
	n=$(grep -c "^$B6 7001\$" "$TMP/trace.txt")
	t_check "tcp_trace: tshark reads the snap pcap ($n IPv6 segments b -> a)" test "$n" -ge 3
fi
if ring_run capture capture capture_events; then
	tshark -r "$TMP/capture.pcap" -T fields -E separator=' ' -e ipv6.src -e tcp.dstport \
		-e tcp.flags.syn -e tcp.payload 2>/dev/null >"$TMP/capture.txt"
	n=$(grep -c "^$B6 7001 1 " "$TMP/capture.txt")
	t_check "capture: tshark finds the IPv6 SYN b -> a ($n)" test "$n" -eq 1
	t_check "capture: the whole frame, payload included" \
		grep -q "^$B6 7001 0 68656c6c6f20697076360a" "$TMP/capture.txt"
fi
t_summary
