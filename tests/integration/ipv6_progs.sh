#!/usr/bin/env bash
# ipv6_progs.sh - the shipped programs on IPv6 flows THROUGH THE ENGINE (progs_ipv6.sh runs them
# at the kernel's hook): `flextoe-fw apply` of a rule set with IPv6 CIDR rules beside IPv4 ones on
# a running dual-stack engine, Linux clients from allowed and denied IPv6 sources and ports, each
# rule's hits equal to the peer's tcpdump count; then `flextoe-bpf trace` (JSON + pcap) and
# `flextoe-bpf capture` of an IPv6 echo exchange, whose pcap files tshark reads with the IPv6
# addresses and TCP ports.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
FW=$BIN/flextoe-fw
BPF=$BIN/flextoe-bpf
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-loaderd" "$FW" "$BPF" \
	"$PWD/$BUILD/xdp-progs/firewall.bpf.o" "$PWD/$BUILD/xdp-progs/tcp_trace.bpf.o" \
	"$PWD/$BUILD/xdp-progs/capture.bpf.o"
need_tools tcpdump tshark python3

ns_init
TMP=$(mktemp -d /tmp/ftoe-ipv6progs.XXXXXX)
BG=()
trap 'for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done; ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT

ENG_IP=10.84.0.5
KERN_IP=10.84.0.1
A_IP=10.84.0.2
ENG_IP6=fd00:84::5
A_IP6=fd00:84::2	# allowed from source ports 40000-40099
B_IP6=fd00:84::3	# denied by a /128 rule
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $A_IP/24
ip -n "$(ns_name peer)" addr add $A_IP6/64 dev veth1 nodad
ip -n "$(ns_name peer)" addr add $B_IP6/64 dev veth1 nodad
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1

# client.py SRC SPORT HOST PORT: one echo exchange; "ok", "timeout" (no SYN-ACK in
# 1.5 s: the SYN and one retransmission, counted by tcpdump) or "error ...".
cat >"$TMP/client.py" <<'PY'
import socket, sys
src, sport, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, sport))
s.settimeout(1.5)
try:
    s.connect((host, port))
except (socket.timeout, TimeoutError):
    print("timeout"); sys.exit(0)
except OSError as e:
    print("error connect %r" % e); sys.exit(0)
s.settimeout(10)
msg = b"hello ipv6 engine"
s.sendall(msg)
got = b""
while len(got) < len(msg):
    b = s.recv(100)
    if not b: break
    got += b
print("ok" if got == msg else "error mismatch %r" % got)
s.close()
PY
client() { ns_exec peer python3 "$TMP/client.py" "$@"; }

t_check "dual-stack engine starts" engine_start eng $ENG_IP/24 --ip $ENG_IP6/64
t_check "loaderd and the application socket" engine_sockets
ns_bg eng "$BIN/flextoe-echo" --port 7 >"$TMP/echo.out" 2>&1
ns_bg eng "$BIN/flextoe-echo" --port 9 >"$TMP/echo9.out" 2>&1
t_check "flextoe-echo listens on ports 7 and 9" \
	sh -c "grep -q listening '$TMP/echo.out' || sleep 1; grep -q listening '$TMP/echo.out' && grep -q listening '$TMP/echo9.out'"

# ---- the firewall with IPv6 (and IPv4) rules at the engine's hook -----------------------
cat >"$TMP/fw6.rules" <<EOF
allow tcp $A_IP6/128 40000-40099 $ENG_IP6 7
deny  tcp $B_IP6/128 any any any
deny  tcp fd00:84::/64 any any 7
deny  tcp $A_IP any $ENG_IP 7
policy allow
EOF
t_check "apply an IPv6+IPv4 rule set on the running engine" \
	sh -c "'$FW' apply '$TMP/fw6.rules' 2>&1 | tee '$TMP/apply.out' | grep -q '4 rules'"
ns_bg peer tcpdump -i veth1 --immediate-mode -nn -U -w "$TMP/fw.pcap" \
	"((ip6 dst $ENG_IP6 or ip dst $ENG_IP) and tcp) or icmp6" 2>"$TMP/fw.tcpdump"
CAP=${NS_PIDS[-1]}
wait_for "$TMP/fw.tcpdump" "listening on" >/dev/null
t_check "A6 from sport 40010 to port 7: allowed (rule 1)" test "$(client $A_IP6 40010 $ENG_IP6 7)" = ok
t_check "A6 from sport 41000 to port 7: denied (rule 3, the /64)" \
	test "$(client $A_IP6 41000 $ENG_IP6 7)" = timeout
t_check "B6 to port 9: denied (rule 2, the /128)" test "$(client $B_IP6 40020 $ENG_IP6 9)" = timeout
t_check "A6 to port 9: allowed (policy)" test "$(client $A_IP6 40030 $ENG_IP6 9)" = ok
t_check "IPv4 A to port 7: denied (rule 4, IPv4 beside IPv6)" test "$(client $A_IP 40040 $ENG_IP 7)" = timeout
t_check "IPv4 A to port 9: allowed (policy)" test "$(client $A_IP 40050 $ENG_IP 9)" = ok
tcpdump_stop "$CAP"
n() { ns_exec peer tcpdump -nn -r "$TMP/fw.pcap" "$1" 2>/dev/null | wc -l; }
N1=$(n "ip6 src $A_IP6 and tcp src portrange 40000-40099 and tcp dst port 7")
N2=$(n "ip6 src $B_IP6")
N3=$(n "ip6 src $A_IP6 and tcp src port 41000")
N4=$(n "ip src $A_IP and tcp dst port 7")
# the peer's neighbour solicitations for the engine's address pass the hook too (policy)
NP=$(n "(tcp dst port 9 and not ip6 src $B_IP6) or
	(icmp6 and src net fd00:84::/64 and (dst $ENG_IP6 or dst ff02::1:ff00:5))")
stats() { "$FW" stats --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"; }
echo "# tcpdump: rule1 $N1 rule2 $N2 rule3 $N3 rule4 $N4 policy $NP"
"$FW" stats | sed 's/^/#   /'
for i in 1 2 3 4; do
	want=N$i
	t_check "hits of rule $i = the peer's tcpdump count (${!want})" \
		test "$(stats "s['rules'][$((i - 1))]['hits']")" -eq "${!want}"
done
t_check "policy hits = the allowed segments to port 9 and the peer's NS for the engine ($NP)" test "$(stats 's["policy_hits"]')" -eq "$NP"
t_check "stats names the IPv6 rule's text" \
	test "$(stats 's["rules"][1]["rule"]')" = "deny  tcp $B_IP6/128 any any any"

# ---- trace and capture of an IPv6 flow through the engine --------------------------------
"$BPF" trace host $A_IP6 and port 9 --format json -w "$TMP/t.pcap" >"$TMP/trace.json" 2>"$TMP/trace.err" &
BG+=($!); TRACE=$!
t_check "trace attached" wait_cmd 5 grep -q "tracing at" "$TMP/trace.err"
"$BPF" capture --hook rx-pre -w "$TMP/c.pcap" >/dev/null 2>"$TMP/cap.err" &
BG+=($!); CAPT=$!
t_check "capture attached" wait_cmd 5 grep -q "capturing at" "$TMP/cap.err"
t_check "an IPv6 echo exchange A6 -> engine:9 under trace and capture" \
	test "$(client $A_IP6 40060 $ENG_IP6 9)" = ok
sleep 0.3
kill -INT $TRACE $CAPT
wait $TRACE; wait $CAPT
head -c 600 "$TMP/trace.json" | sed 's/^/#   /'
trace_ok() {	# rx and tx records of the flow with its IPv6 addresses and ports
	python3 - "$TMP/trace.json" <<PY
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
rx = [r for r in recs if r["dir"] == "rx" and r["saddr"] == "$A_IP6" and r["sport"] == 40060
      and r["daddr"] == "$ENG_IP6" and r["dport"] == 9]
tx = [r for r in recs if r["dir"] == "tx" and r["saddr"] == "$ENG_IP6" and r["daddr"] == "$A_IP6"]
print("records %d, rx %d, tx %d, rx with data %d" % (len(recs), len(rx), len(tx),
      sum(1 for r in rx if r["len"] == 17)))
sys.exit(0 if rx and tx and any(r["len"] == 17 for r in rx) else 1)
PY
}
t_check "trace JSON: rx and tx records with the IPv6 addresses and ports" trace_ok
tshark -r "$TMP/t.pcap" -n -T fields -E separator=' ' -e ipv6.src -e ipv6.dst -e tcp.srcport \
	-e tcp.dstport 2>/dev/null >"$TMP/t.txt"
t_check "tshark reads the trace pcap: IPv6 segments A6:40060 -> engine:9 ($(grep -c "^$A_IP6 $ENG_IP6 40060 9\$" "$TMP/t.txt"))" \
	grep -q "^$A_IP6 $ENG_IP6 40060 9\$" "$TMP/t.txt"
t_check "... and engine:9 -> A6:40060" grep -q "^$ENG_IP6 $A_IP6 9 40060\$" "$TMP/t.txt"
tshark -r "$TMP/c.pcap" -n -T fields -E separator=' ' -e ipv6.src -e ipv6.dst -e tcp.srcport \
	-e tcp.dstport -e tcp.flags.syn -e tcp.payload 2>/dev/null >"$TMP/c.txt"
t_check "tshark reads the capture pcap: the IPv6 SYN A6:40060 -> engine:9" \
	grep -q "^$A_IP6 $ENG_IP6 40060 9 1" "$TMP/c.txt"
t_check "... and the whole data segment (payload included)" \
	grep -q "^$A_IP6 $ENG_IP6 40060 9 0 $(printf 'hello ipv6 engine' | od -An -tx1 | tr -d ' \n')" "$TMP/c.txt"

t_check "the engine is still running" kill -0 "$(cat "$RUN/flextoe.pid")"
t_summary
