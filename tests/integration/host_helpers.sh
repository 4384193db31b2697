#!/usr/bin/env bash
# host_helpers.sh - programs loaded into a running engine with flextoe-bpf load that ask the engine's own network view: an xdp_fwd-style forwarder (bpf_fib_lookup answered from the engine's routes and neighbour cache) and an xdp_synproxy-style SYN proxy (raw SYN cookies of the engine's secret, which the engine then accepts).
#
# Hosts: eng (the engine, 10.84.0.5/24, gateway 10.84.0.2, on veth0) and
# peer (10.84.0.2 on veth1).
#  - forwarder at rx-pre, set to send TCP for 10.84.0.5:7300 on to
#    198.51.100.7 (off-link: through the gateway, whose MAC the engine
#    learned when the peer asked for its address): the peer's SYNs come
#    back to it with that destination, TTL 63 and the peer's MAC, seen by
#    tcpdump on veth1; the program's fib_rc counts SUCCESS.  Then the
#    backend 10.84.0.77 (on-link, never heard from): NO_NEIGH.
#  - SYN proxy at rx-pre on port 7400 in front of flextoe-echo: a peer
#    connection is answered by the program's cookie SYN-ACK (XDP_TX), its
#    ACK passes with a valid cookie, the engine accepts the connection from
#    that ACK (TcpExtSyncookiesRecv), and the echo works through it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
PROGS=$PWD/$BUILD/tests/progs
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-stat" "$BPF" "$BIN/flextoe-loaderd" \
	"$PROGS/ld_fib_fwd.bpf.o" "$PROGS/ld_synproxy.bpf.o"
need_tools tcpdump tshark python3 ethtool

ns_init
NS_PREFIX="ftoe-compat3-$BASHPID"
TMP=$(mktemp -d /tmp/ftoe-hosth.XXXXXX)
BG=()
trap 'for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done; ns_cleanup; rm -rf "$TMP"' EXIT

eng_peer 10.84.0
ns_exec peer ethtool -K veth1 gso off tso off >/dev/null 2>&1
PEER_MAC=$(ns_exec peer cat /sys/class/net/veth1/address)

ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --gateway $PEER_IP --run-dir "$RUN" \
	>"$TMP/eng.log" 2>&1
t_check "engine ready" wait_cmd 5 grep -q "ready:" "$TMP/eng.log"
t_check "loaderd up" wait_cmd 5 test -S "$RUN/loader.sock"
# The peer asks for the engine's address: the engine caches the peer's MAC.
t_check "peer pings the engine" sh -c "ip netns exec $(ns_name peer) ping -q -c 1 -W 2 $ENG_IP >/dev/null"

# hexbe IP: the address as it lies in memory (network order), in hex.
hexbe() { python3 -c "import socket,sys; print(socket.inet_aton(sys.argv[1]).hex())" "$1"; }
# counter ID MAP KEY: a u64 counter of a loaded program's array map.
counter() {
	"$BPF" map lookup "$1:$2" "$3" --json 2>/dev/null |
		python3 -c "import json,sys; v=json.load(sys.stdin)['value']; print(int(''.join(v.split()) if isinstance(v,str) else v, 16) if isinstance(v,str) else v)" 2>/dev/null
}
# syn_to IP PORT: the peer tries to connect once (1 s), the SYN is all we need.
syn_to() { ns_exec peer timeout 3 python3 -c "
import socket, sys
s = socket.socket(); s.settimeout(1.2)
try: s.connect((sys.argv[1], int(sys.argv[2])))
except OSError: pass" "$1" "$2"; }

# ---- forwarder ---------------------------------------------------------------------------
id=$("$BPF" load "$PROGS/ld_fib_fwd.bpf.o" --hook rx-pre 2>"$TMP/load.err")
t_check "ld_fib_fwd loads at rx-pre (id ${id:-none})" test -n "$id"
cat "$TMP/load.err" >&2
# struct fwd_cfg: vip, backend (network order), port (network order), flags 0
"$BPF" map update "$id:fwd_cfg" 00000000 "$(hexbe $ENG_IP)$(hexbe 198.51.100.7)1c840000" >&2
ip netns exec "$(ns_name peer)" tcpdump -i veth1 -n -e -v -U -w "$TMP/fwd.pcap" \
	host 198.51.100.7 2>"$TMP/tcpdump.err" &
BG+=($!); TCPDUMP=$!
t_check "tcpdump on the peer's veth runs" wait_cmd 5 grep -q "listening on" "$TMP/tcpdump.err"
syn_to $ENG_IP 7300
sleep 0.3
kill -INT $TCPDUMP 2>/dev/null; wait $TCPDUMP 2>/dev/null
tshark -r "$TMP/fwd.pcap" -T fields -e eth.dst -e ip.src -e ip.dst -e ip.ttl -e tcp.dstport \
	-e tcp.flags -e ip.checksum.status -e tcp.checksum.status -o ip.check_checksum:TRUE \
	-o tcp.check_checksum:TRUE >"$TMP/fwd.txt" 2>/dev/null
cat "$TMP/fwd.txt" >&2
t_check "the SYN came back forwarded: to the gateway's MAC, 198.51.100.7:7300, TTL 63, checksums good" \
	grep -qP "^$PEER_MAC\t$PEER_IP\t198.51.100.7\t63\t7300\t0x0*2\t1\t1$" "$TMP/fwd.txt"
t_check "fib_rc counted SUCCESS" test "$(counter "$id" fib_rc 00000000)" -ge 1
"$BPF" map update "$id:fwd_cfg" 00000000 "$(hexbe $ENG_IP)$(hexbe 10.84.0.77)1c840000" >&2
syn_to $ENG_IP 7300
t_check "an on-link backend the engine never heard from: NO_NEIGH" \
	test "$(counter "$id" fib_rc 07000000)" -ge 1
"$BPF" unload "$id" >&2

# ---- SYN proxy ---------------------------------------------------------------------------
ns_bg eng "$BIN/flextoe-echo" --port 7400 >"$TMP/echo.out" 2>&1
sleep 0.5
id=$("$BPF" load "$PROGS/ld_synproxy.bpf.o" --hook rx-pre 2>"$TMP/load.err")
t_check "ld_synproxy loads at rx-pre (id ${id:-none})" test -n "$id"
cat "$TMP/load.err" >&2
"$BPF" map update "$id:synproxy_cfg" 00000000 1ce80000 >&2	# port 7400, window default
t_check "an echo through the SYN proxy" ns_exec peer timeout 10 python3 -c "
import socket, sys
s = socket.create_connection(('$ENG_IP', 7400), timeout=5)
s.sendall(b'through the proxy')
got = b''
while len(got) < 17:
    d = s.recv(64)
    if not d: break
    got += d
sys.exit(0 if got == b'through the proxy' else 1)"
t_check "the program sent the SYN-ACK and passed the cookie ACK" \
	test "$(counter "$id" stats 00000000)" -ge 1 -a "$(counter "$id" stats 01000000)" -ge 1
t_check "the engine accepted the connection from the cookie (TcpExtSyncookiesRecv)" \
	sh -c "'$BIN/flextoe-stat' counters 2>/dev/null | grep -E '^TcpExtSyncookiesRecv +[1-9]'"
t_check "the engine sent no SYN-ACK of its own (TcpExtSyncookiesSent 0)" \
	sh -c "! '$BIN/flextoe-stat' counters 2>/dev/null | grep -E '^TcpExtSyncookiesSent +[1-9]'"
"$BPF" unload "$id" >&2

t_summary
