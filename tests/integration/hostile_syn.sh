#!/usr/bin/env bash
# hostile_syn.sh - hostile peers on the engine's link: a 20,000-SYN flood from spoofed sources
# (a Linux client is served at once, memory stays bounded), SYNs from martian sources (dropped
# unanswered, counted), the listener deviations held against Linux's answers, and TIME_WAIT
# (more short connections than connection slots all succeed; a retransmitted FIN is ACKed).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
TOOL=$PWD/tests/tools/traffic/hostile_peer.py

BUILD=${FTOE_BUILD:-${BUILD:-build}}
BIN=$PWD/$BUILD/bin
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk" "$TOOL"
need_tools python3 ethtool

test_init hostile-syn

NET=10.86.0
SPOOF=$NET.77 # a spoofed source on the peer's subnet (nobody has it)
eng_peer $NET
for n in "eng veth0" "peer veth1"; do
	set -- $n
	ip netns exec "$(ns_name "$1")" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1
done
mac_of() { ip -n "$(ns_name "$1")" -o link show "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
ENG_MAC=$(mac_of eng veth0)
PEER_MAC=$(mac_of peer veth1)
# Linux (the reference) answers the spoofed source through the peer's MAC,
# as the engine does (it answers the frame's source MAC)
ip -n "$(ns_name eng)" neigh replace $SPOOF lladdr "$PEER_MAC" dev veth0 nud permanent

eng_pid() { cat "$RUN/flextoe.pid" 2>/dev/null; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$(eng_pid)/status"; }
# counter NAME: the engine's hostile-peer counter NAME from a fresh SIGUSR1
# dump (asked again if the engine thread's own log lines cut into it)
counter() {
	local before v _
	for _ in 1 2 3; do
		before=$(grep -c "engine peers:" "$TMP/eng.log")
		kill -USR1 "$(eng_pid)"
		wait_cmd 5 sh -c "test \$(grep -c 'engine peers:' '$TMP/eng.log') -gt $before" || continue
		v=$(grep "engine peers:" "$TMP/eng.log" | tail -n1 | grep -o "$1 [0-9]*" | grep -o '[0-9]*$')
		[[ -n $v ]] && { echo "$v"; return 0; }
	done
	echo "no '$1' counter in the engine's log" >&2
	return 1
}
engine_stop() {
	local p
	p=$(eng_pid)
	[[ -n $p ]] && kill -TERM "$p" 2>/dev/null
	wait_cmd 10 sh -c "! test -e /proc/$p"
}
probe() { # DST PORT SRC KIND -> the answer's flags or "none"
	ns_exec peer python3 "$TOOL" probe --dev veth1 --dst-mac "$ENG_MAC" --dst "$1" --port "$2" \
		--src "$3" --kind "$4" --wait 1 | sed -n 's/^answer=//p'
}

# a SYN table smaller than the backlog, so the flood fills the table first
t_check "engine starts (--syn-table 2048)" engine_start eng $ENG_IP/24 --syn-table 2048
ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens (backlog 4096)" wait_for "$TMP/echo.out" listening
# Linux's listener for the reference answers, on the kernel's own address
ns_bg eng python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("'$KERN_IP'", 7100)); s.listen(128); open("'$TMP/lnx.ready'", "w").close()
time.sleep(3600)' >"$TMP/lnx.out" 2>&1
t_check "Linux reference listener" wait_cmd 5 test -e "$TMP/lnx.ready"
echo_ok() { # the Linux client is served: 1 MiB echoed byte-exact
	local out
	out=$(ns_exec peer python3 "$TOOL" echo --host $ENG_IP --port 7000 --bytes $((1 << 20)) \
		--timeout "$1")
	echo "  $out"
	[[ $out == "echo ok"* ]]
}
t_check "a Linux client is served before the flood" echo_ok 5

# ---- SYN flood ------------------------------------------------------------------------------
RSS0=$(rss_kib)
out=$(ns_exec peer python3 "$TOOL" flood --dev veth1 --dst-mac "$ENG_MAC" --dst $ENG_IP \
	--port 7000 --net $NET --count 20000 --secs 2)
echo "  flood: $out"
t_check "flood: 20,000 spoofed SYNs sent in about 2 s" grep -q "sent=20000" <<<"$out"
t_check "a Linux client connects at once after the flood and is served (1 MiB echoed)" echo_ok 3
RSS1=$(rss_kib)
echo "  engine VmRSS: ${RSS0} KiB before the flood, ${RSS1} KiB after"
t_check "engine memory stays bounded (VmRSS grew by $((RSS1 - RSS0)) KiB, < 16 MiB)" \
	test $((RSS1 - RSS0)) -lt 16384
full=$(counter "syn table full"); sent=$(counter "syn cookies sent"); ok=$(counter "ok")
echo "  syn table full $full, cookies sent $sent, cookie handshakes $ok"
t_check "the flood filled the SYN table (2048) and cookies carried the rest" \
	test "${full:-0}" -gt 10000 -a "${sent:-0}" -gt 10000
t_check "the client after the flood completed by its SYN cookie" test "${ok:-0}" -ge 1
t_check "the echo service still works 1 s later" echo_ok 5

# ---- martian sources ------------------------------------------------------------------------
for src in 255.255.255.255 $NET.255 224.0.0.1 0.0.0.0 127.0.0.1 240.0.0.1 $ENG_IP; do
	m0=$(counter "martian dropped")
	ans=$(probe $ENG_IP 7000 $src syn)
	m1=$(counter "martian dropped")
	t_check "SYN from martian $src: no answer (got '$ans'), counted ($m0 -> $m1)" \
		test "$ans" = none -a "$m1" = $((m0 + 1))
done

# ---- deviations, each against Linux's answer to the same segment ----------------------------
for k in syn:SA synfin:none null:none fin:none syn-badmss:SA syn-pastend:SA; do
	kind=${k%%:*} want=${k#*:}
	e=$(probe $ENG_IP 7000 $SPOOF "$kind")
	l=$(probe $KERN_IP 7100 $SPOOF "$kind")
	t_check "$kind to a listener: engine '$e', Linux '$l' (want $want)" \
		test "$e" = "$l" -a "$e" = "$want"
done

# ---- TIME_WAIT ------------------------------------------------------------------------------
# 16 connection slots (--max-flows 16) and room for 32 in TIME_WAIT: the
# engine closes first each time, so each connection ends in TIME_WAIT here.
engine_stop
t_check "engine restarts with 16 connection slots" \
	engine_start eng $ENG_IP/24 --max-flows 16 --tw-table 32
ns_bg peer python3 "$TOOL" twfin --dev veth1 --port 9000 --ready-file "$TMP/tw.ready" \
	>"$TMP/twfin.out" 2>&1
wait_cmd 5 test -e "$TMP/tw.ready"
ns_exec eng "$BIN/flextoe-bulk" --connect $PEER_IP:9000 --send 1k --no-hash >"$TMP/bulk0.out" 2>&1
t_check "TIME_WAIT: a retransmitted FIN gets an ACK" wait_for "$TMP/twfin.out" "twfin ack" 5
ns_bg peer python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9001)); s.listen(128); open("'$TMP/sink.ready'", "w").close()
while True:
    c, _ = s.accept()
    while c.recv(65536):
        pass
    c.close()' >"$TMP/sink.out" 2>&1
wait_cmd 5 test -e "$TMP/sink.ready"
N=100 good=0
for i in $(seq $N); do
	ns_exec eng timeout 10 "$BIN/flextoe-bulk" --connect $PEER_IP:9001 --send 1k --no-hash \
		>"$TMP/bulk.out" 2>&1 && good=$((good + 1))
done
t_check "TIME_WAIT: $good of $N short connections succeeded with 16 slots" test $good -eq $N
tw=$(counter "time-wait entered"); ev=$(counter "evicted")
echo "  time-wait entered $tw, evicted $ev"
t_check "TIME_WAIT: each connection went through the table ($tw >= $N)" test "${tw:-0}" -ge $N
t_check "TIME_WAIT: the full table evicted its oldest ($ev >= $((N - 32)))" \
	test "${ev:-0}" -ge $((N - 32))

t_summary
