#!/usr/bin/env bash
# engine_lifecycle.sh - connection and engine lifecycle with the flextoe daemon and libflextoe
# apps: active and passive close, a RST from the peer, the peer vanishing mid-transfer,
# kill -9 of the engine with applications attached and the restart after it.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
# The engine gives up on a dead peer after --rto-retries timeouts in a row
# (default 15, like Linux tcp_retries2: about 6 min with the 60 s RTO cap).
# The test runs it with RTO_RETRIES (4): with the 200 ms minimum RTO the give-up
# comes about 0.2 * (2^5 - 1) = 6.2 s after the last segment got through, so
# the application's ETIMEDOUT is always checked.  ENGINE_LIFECYCLE_RTO_RETRIES
# overrides it.
RTO_RETRIES=${ENGINE_LIFECYCLE_RTO_RETRIES:-4}
VANISH_WAIT=${ENGINE_LIFECYCLE_VANISH_WAIT:-1}
# A give-up sooner than one retry fewer could take at the 200 ms minimum RTO
# (the clock starts a little after the last transmission that got through)
# would be early: GIVEUP_MIN_MS = 200 * (2^N - 1).
GIVEUP_MIN_MS=$(( 200 * ((1 << RTO_RETRIES) - 1) ))
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk"

test_init engine-lifecycle

NET=${ENGINE_LIFECYCLE_NET:-10.83}	# "10.N"
ENG_IP=$NET.0.5
PEER_IP=$NET.0.2
PEER2_IP=$NET.0.3
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

# eng:veth0 -- [bridge in "sw"] -- peer:veth1, peer2:veth2.  The bridge lets a
# peer's namespace be deleted without taking the engine's interface with it.
ns_add eng && ns_add sw && ns_add peer && ns_add peer2
SW=$(ns_name sw)
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
plug() { # HOST IF ADDR SWPORT
	local ns
	ns=$(ns_name "$1")
	ns_veth "$1" "$2" sw "$4"
	ip -n "$SW" link set "$4" master br0 up
	ip -n "$ns" addr add "$3" dev "$2"
	ip -n "$ns" link set "$2" up
	# wire-sized frames with real checksums: the engine's AF_XDP frames hold one MTU
	ip netns exec "$ns" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1
	ip netns exec "$SW" ethtool -K "$4" tx off tso off gso off gro off >/dev/null 2>&1
}
plug eng veth0 $NET.0.1/24 p0
plug peer veth1 $PEER_IP/24 p1
plug peer2 veth2 $PEER2_IP/24 p2

# ss_count NS STATE: the peer's TCP sockets to or from the engine in STATE
ss_count() {
	ip netns exec "$(ns_name "$1")" ss -Htan state "$2" "( dst $ENG_IP )" | wc -l
}

# app_pids: the pids of the applications running in the engine's namespace
app_pids() {
	local p
	for p in $(ip netns pids "$(ns_name eng)"); do
		case $(cat /proc/$p/comm 2>/dev/null) in flextoe-echo|flextoe-bulk) echo "$p" ;; esac
	done
}

cat >"$TMP/peer.py" <<'PY'
# Linux end of the lifecycle checks.
#   recv HOST PORT           accept one connection, read to EOF, close (passive close)
#   send HOST PORT BYTES     send BYTES, shutdown(WR) first (active close), wait for EOF
#   rst HOST PORT            connect, send 4 KiB, abort with a RST (SO_LINGER 0)
import os, socket, struct, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "recv":
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept()
    n = 0
    while True:
        b = s.recv(1 << 16)
        if not b: break
        n += len(b)
        if n == len(b): print("receiving", flush=True)
    print("eof after %d bytes" % n, flush=True)
    s.close()
elif mode == "send":
    total = int(sys.argv[4])
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(os.urandom(total))
    s.shutdown(socket.SHUT_WR)
    print("eof" if s.recv(1) == b"" else "data after FIN", flush=True)
    s.close()
else:
    s = socket.create_connection((host, port), timeout=20)
    s.sendall(b"r" * 4096)
    time.sleep(0.3)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("reset sent", flush=True)
PY

start_engine() { # LOG
	ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" \
		--rto-retries "$RTO_RETRIES" >"$1" 2>&1
	wait_for "$1" "ready:"
}
t_check "engine starts" start_engine "$TMP/eng.log"

# ---- active close: the engine's application closes first ---------------------------
# flextoe-bulk --send shuts down its side (FIN) first, reads until the
# peer's FIN, then closes: the engine ends in TIME-WAIT and Linux in CLOSED.
active_close() {
	ns_bg peer python3 "$TMP/peer.py" recv $PEER_IP 7300 >"$TMP/ac.peer" 2>&1
	wait_for "$TMP/ac.peer" listening || return 1
	ns_exec eng timeout 20 "$BIN/flextoe-bulk" --connect $PEER_IP:7300 --send 1m \
		>"$TMP/ac.eng" 2>&1 || { cat "$TMP/ac.eng" >&2; return 1; }
	wait_for "$TMP/ac.peer" "eof after 1048576 bytes" || return 1
	grep -q "^bytes=1048576 " "$TMP/ac.eng" || { cat "$TMP/ac.eng" >&2; return 1; }
}
t_check "active close: the application's FIN reaches Linux after 1 MiB, both exit cleanly" active_close
no_lingering() { # the engine ACKed Linux's FIN: nothing left in LAST-ACK/CLOSE-WAIT
	local n
	sleep 0.5
	n=$(( $(ss_count peer last-ack) + $(ss_count peer close-wait) + $(ss_count peer established) ))
	[[ $n -eq 0 ]] || { ip netns exec "$(ns_name peer)" ss -tan >&2; return 1; }
}
t_check "active close: Linux's socket is fully closed (the engine ACKed its FIN)" no_lingering

# ---- passive close: the Linux peer closes first ---------------------------------------
passive_close() {
	ns_bg eng "$BIN/flextoe-bulk" --listen 7301 --recv >"$TMP/pc.eng" 2>&1
	wait_for "$TMP/pc.eng" listening || return 1
	ns_exec peer timeout 20 python3 "$TMP/peer.py" send $ENG_IP 7301 1048576 >"$TMP/pc.peer" 2>&1
	[[ $(cat "$TMP/pc.peer") == eof ]] || { cat "$TMP/pc.peer" >&2; return 1; }
	wait_for "$TMP/pc.eng" "^bytes=1048576 "
}
t_check "passive close: the engine's application reads 1 MiB and EOF, then closes" passive_close
time_wait() { # Linux closed first, so it holds TIME-WAIT once the engine's FIN is ACKed
	local n
	n=$(ss_count peer time-wait)
	[[ $n -ge 1 && $(ss_count peer fin-wait-1) -eq 0 && $(ss_count peer fin-wait-2) -eq 0 ]] ||
		{ ip netns exec "$(ns_name peer)" ss -tan >&2; return 1; }
}
t_check "passive close: Linux's socket is in TIME-WAIT (the engine's FIN arrived)" time_wait

# ---- a RST from the peer ---------------------------------------------------------------
peer_rst() {
	ns_bg eng "$BIN/flextoe-bulk" --listen 7302 --recv >"$TMP/rst.eng" 2>&1
	wait_for "$TMP/rst.eng" listening || return 1
	ns_exec peer timeout 20 python3 "$TMP/peer.py" rst $ENG_IP 7302 >"$TMP/rst.peer" 2>&1
	wait_for "$TMP/rst.eng" "recv: " 5 || return 1
	grep -q "recv: Connection reset by peer" "$TMP/rst.eng" ||
		{ cat "$TMP/rst.eng" >&2; return 1; }
}
t_check "a RST from the peer: the application's recv fails with ECONNRESET" peer_rst
t_check "the engine logged no error for it" sh -c "! grep -Ei 'error|fail' '$TMP/eng.log'"

# ---- the peer vanishes mid-transfer ------------------------------------------------------
vanish() {
	local t0 pns
	ns_bg peer "python3" "$TMP/peer.py" recv $PEER_IP 7303 >"$TMP/van.peer" 2>&1
	wait_for "$TMP/van.peer" listening || return 1
	ns_exec eng timeout 800 "$BIN/flextoe-bulk" --connect $PEER_IP:7303 --send 100g \
		>"$TMP/van.eng" 2>&1 &
	VAN_PID=$!
	wait_for "$TMP/van.peer" receiving || return 1
	sleep 0.5
	pns=$(ns_name peer)
	# the link goes first: killing the receiver would otherwise send a RST
	ip -n "$pns" link del veth1
	ip netns pids "$pns" | xargs -r kill -9
	ip netns del "$pns"
	t0=$(date +%s.%N)
	echo "$t0" >"$TMP/van.t0"
	! ip netns list | grep -qw "$pns"
}
t_check "the peer's namespace is deleted mid-transfer" vanish
still_waiting() {
	sleep "$VANISH_WAIT"
	kill -0 "$VAN_PID" 2>/dev/null && ! grep -q "send: \|recv: " "$TMP/van.eng"
}
t_check "the application keeps waiting for ${VANISH_WAIT} s while the engine retransmits, no spurious error" still_waiting
other_peer() {
	ns_bg peer2 python3 "$TMP/peer.py" recv $PEER2_IP 7304 >"$TMP/p2.peer" 2>&1
	wait_for "$TMP/p2.peer" listening || return 1
	ns_exec eng timeout 20 "$BIN/flextoe-bulk" --connect $PEER2_IP:7304 --send 1m \
		>"$TMP/p2.eng" 2>&1 || { cat "$TMP/p2.eng" >&2; return 1; }
	grep -q "^bytes=1048576 " "$TMP/p2.eng"
}
t_check "another peer is served while the dead one is retransmitted to" other_peer
giveup() {
	local t1 ms
	wait "$VAN_PID"
	t1=$(date +%s.%N)
	ms=$(echo "($t1 - $(cat "$TMP/van.t0")) * 1000 / 1" | bc)
	echo "# give-up after $ms ms (--rto-retries $RTO_RETRIES; more than $GIVEUP_MIN_MS ms): $(tail -n1 "$TMP/van.eng")"
	grep -q "send: Connection timed out\|recv: Connection timed out" "$TMP/van.eng" ||
		{ cat "$TMP/van.eng" >&2; return 1; }
	# not before the RTO backoffs could have run out (a spurious give-up),
	# and within 60 s per retry (the RTO cap) after them
	[[ $ms -gt $GIVEUP_MIN_MS && $ms -le $(( (RTO_RETRIES + 1) * 60000 )) ]]
}
t_check "the application gets ETIMEDOUT when the engine gives up after $RTO_RETRIES retries" giveup

# ---- kill -9 of the engine with applications attached ---------------------------------
ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo attaches" wait_for "$TMP/echo.out" listening
ns_bg eng "$BIN/flextoe-bulk" --listen 7305 --recv >"$TMP/blk.eng" 2>&1
t_check "a blocking flextoe-bulk waits in accept" wait_for "$TMP/blk.eng" listening
ENG_PID=$(cat "$RUN/flextoe.pid")
kill -9 "$ENG_PID"
t_check "kill -9 of the engine: flextoe-echo reports it lost the engine" \
	wait_for "$TMP/echo.out" "lost the engine: Connection reset by peer" 5
t_check "kill -9 of the engine: the blocked flextoe-bulk fails with an error" \
	wait_for "$TMP/blk.eng" "accept: Connection reset by peer" 5
apps_exit() {
	for _ in $(seq 100); do
		[[ -z $(app_pids) ]] && return 0
		sleep 0.05
	done
	ps -o pid,args -p "$(app_pids | paste -sd,)" >&2
	return 1
}
t_check "both applications exit" apps_exit
t_check "the killed engine left its XDP program attached" \
	sh -c "ip -n $(ns_name eng) link show veth0 | grep -q 'prog/xdp'"
t_check "the next engine starts on the same run directory and interface" start_engine "$TMP/eng2.log"
t_check "it removed the stale steering program" grep -q "removed a stale flextoe steering program" "$TMP/eng2.log"
t_check "its pid file names the new engine" \
	sh -c "[ \"\$(cat '$RUN/flextoe.pid')\" != '$ENG_PID' ] && kill -0 \$(cat '$RUN/flextoe.pid')"
t_check "the application socket is there again" test -S "$RUN/flextoe.sock"
serves_again() {
	ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo2.out" 2>&1
	wait_for "$TMP/echo2.out" listening || return 1
	ns_bg peer2 python3 "$TMP/peer.py" recv $PEER2_IP 7306 >"$TMP/p3.peer" 2>&1
	wait_for "$TMP/p3.peer" listening || return 1
	ns_exec eng timeout 20 "$BIN/flextoe-bulk" --connect $PEER2_IP:7306 --send 4m \
		>"$TMP/p3.eng" 2>&1 || { cat "$TMP/p3.eng" >&2; return 1; }
	grep -q "^bytes=4194304 " "$TMP/p3.eng" && wait_for "$TMP/p3.peer" "eof after 4194304"
}
t_check "the new engine serves applications again (port 7000 free, 4 MiB sent)" serves_again

t_summary
