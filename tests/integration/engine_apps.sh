#!/usr/bin/env bash
# engine_apps.sh - applications on the flextoe daemon through libflextoe: flextoe-echo and
# flextoe-bulk against Linux peers (python3 sockets), a killed application's peers see a RST,
# bytes written before close() by an application that exits at once still arrive, two
# applications at once, an engine paced by TIMELY (--cc timely).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
TRAFFIC=$PWD/tests/tools/traffic

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BULK_BYTES=${ENGINE_APPS_BULK_BYTES:-$((1 << 30))}
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk"

test_init engine-apps

eng_peer 10.79.0 -w

ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
t_check "engine starts" wait_for "$TMP/eng.log" "ready:"
t_check "application socket $RUN/flextoe.sock exists" \
	wait_cmd 5 test -S "$RUN/flextoe.sock"

cat >"$TMP/rst_client.py" <<'PY'
import socket, sys, time
host, port, flag = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"x")
if s.recv(1) != b"x":
    print("no echo"); sys.exit(1)
open(flag, "w").close()          # the test kills the application now
try:
    b = s.recv(1)
    print("got %r instead of a reset" % b)
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
PY

# ---- echo ------------------------------------------------------------------
ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo1.out" 2>&1
t_check "flextoe-echo listens" wait_for "$TMP/echo1.out" listening
echo_test() { # PORT NCONN SIZE
	local out
	out=$(ns_exec peer timeout 150 python3 "$TRAFFIC/echo_clients.py" $ENG_IP "$1" "$2" "$3")
	[[ $(tail -n1 <<<"$out") == "ok echoed=$(($2 * $3))" ]] || { echo "$out" >&2; return 1; }
}
t_check "echo: 1 connection, 1 MiB echoed exactly" echo_test 7000 1 $((1 << 20))
t_check "echo: 100 concurrent connections, 64 KiB each" echo_test 7000 100 65536
t_check "echo: 1000 concurrent connections, 4 KiB each" echo_test 7000 1000 4096

# ---- two applications at once -------------------------------------------------
ns_bg eng "$BIN/flextoe-echo" --port 7001 >"$TMP/echo2.out" 2>&1
t_check "a second flextoe-echo (port 7001) starts" wait_for "$TMP/echo2.out" listening
# ns_bg's $! is a subshell: the application reports its own pid
ECHO2=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$TMP/echo2.out")
t_check "a second application on the same port is refused (address in use)" \
	sh -c "! ns_out=\$(ip netns exec $(ns_name eng) '$BIN/flextoe-echo' --port 7000 2>&1) && \
	       echo \"\$ns_out\" | grep -qi 'in use'"
two_apps() {
	local p1 p2
	echo_test 7000 50 65536 & p1=$!
	echo_test 7001 50 65536 & p2=$!
	wait $p1 && wait $p2
}
t_check "two applications serve 50 connections each at the same time" two_apps

# ---- the application dies -----------------------------------------------------
kill_test() {
	local out
	rm -f "$TMP/flag"
	ns_exec peer timeout 20 python3 "$TMP/rst_client.py" $ENG_IP 7001 "$TMP/flag" >"$TMP/rst.out" 2>&1 &
	local cp=$!
	for _ in $(seq 100); do [[ -e $TMP/flag ]] && break; sleep 0.05; done
	kill -9 "$ECHO2"
	wait $cp
	out=$(cat "$TMP/rst.out")
	[[ $out == reset ]] || { echo "client: $out" >&2; return 1; }
}
t_check "kill -9 of the application: its Linux peer sees a RST" kill_test
t_check "the other application still works afterwards" echo_test 7000 10 65536

# ---- close() then exit at once: the bytes still go out, then a FIN ----------------
# close-exit writes 16 MiB through a 4 MiB shared ring (more than the engine's
# 256 KiB socket buffer plus the ring), ftoe_close()s and exits at once, with
# megabytes still queued in the ring: bytes written before close() are
# delivered and the peer reads end of stream, not a reset, as on Linux.
CLOSE_EXIT=$PWD/$BUILD/tests/tools/close-exit
CLOSE_EXIT_BYTES=$((16 << 20))
close_exit_test() {
	local a b
	[[ -x $CLOSE_EXIT ]] || { echo "missing $CLOSE_EXIT (run make)" >&2; return 1; }
	ns_bg peer python3 "$TRAFFIC/bulk_peer.py" recv $PEER_IP 7102 >"$TMP/close_exit.peer" 2>&1
	wait_for "$TMP/close_exit.peer" listening || return 1
	ns_exec eng timeout 60 "$CLOSE_EXIT" --connect $PEER_IP:7102 --bytes $CLOSE_EXIT_BYTES \
		--buf $((4 << 20)) >"$TMP/close_exit.out" 2>&1 || { cat "$TMP/close_exit.out" >&2; return 1; }
	# the application is gone now; the peer prints bytes= only at EOF
	# (a reset is a ConnectionResetError traceback)
	for _ in $(seq 600); do
		grep -q '^bytes=\|Error' "$TMP/close_exit.peer" && break
		sleep 0.05
	done
	a=$(grep -o '^bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/close_exit.out")
	b=$(grep -o '^bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/close_exit.peer")
	echo "# close then exit: app wrote '$a'; peer: $(tail -n1 "$TMP/close_exit.peer")"
	grep -h 'closed connection.*still sending' "$TMP/eng.log" | sed 's/^/# engine: /'
	[[ -n $a && $a == "$b" && $a == "bytes=$CLOSE_EXIT_BYTES "* ]] ||
		{ echo "peer:" >&2; cat "$TMP/close_exit.peer" >&2; return 1; }
}
t_check "write 16 MiB, close, exit at once: the Linux peer gets every byte (SHA-256) and EOF" \
	close_exit_test

# ---- bulk --------------------------------------------------------------------
bulk_in() { # Linux -> engine
	local a b
	ns_bg eng "$BIN/flextoe-bulk" --listen 7100 --recv >"$TMP/bulk_in.out" 2>&1
	wait_for "$TMP/bulk_in.out" listening || return 1
	ns_exec peer timeout 300 python3 "$TRAFFIC/bulk_peer.py" send $ENG_IP 7100 $BULK_BYTES \
		>"$TMP/bulk_in.peer" 2>&1
	wait_for "$TMP/bulk_in.out" "^bytes=" || return 1
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_in.out")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bulk_in.peer")
	echo "# Linux -> engine: $(tail -n1 "$TMP/bulk_in.out")"
	[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
}
bulk_out() { # engine -> Linux: RUN_DIR PORT BYTES NAME (files $TMP/NAME.out, .peer)
	local dir=$1 port=$2 bytes=$3 name=$4 a b
	ns_bg peer python3 "$TRAFFIC/bulk_peer.py" recv $PEER_IP "$port" >"$TMP/$name.peer" 2>&1
	wait_for "$TMP/$name.peer" listening || return 1
	ns_exec eng env FLEXTOE_RUN_DIR="$dir" timeout 300 "$BIN/flextoe-bulk" \
		--connect $PEER_IP:"$port" --send "$bytes" >"$TMP/$name.out" 2>&1
	wait_for "$TMP/$name.peer" "^bytes=" || return 1
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/$name.out")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/$name.peer")
	echo "# engine -> Linux ($name): $(tail -n1 "$TMP/$name.out")"
	[[ -n $a && $a == "$b" && $a == "bytes=$bytes "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
}
t_check "bulk: $BULK_BYTES bytes Linux -> engine, SHA-256 matches" bulk_in
t_check "bulk: $BULK_BYTES bytes engine -> Linux, SHA-256 matches" \
	bulk_out "$RUN" 7101 $BULK_BYTES bulk_out
# RFC 7323 2: both ends offered a shift (Linux's TCP_INFO on the peer's socket)
t_check "bulk Linux -> engine: window scaling negotiated ($(grep -h wscale "$TMP/bulk_in.peer"))" \
	grep -Eq '^wscale snd=([1-9]|1[0-4]) rcv=([1-9]|1[0-4])$' "$TMP/bulk_in.peer"
t_check "bulk engine -> Linux: window scaling negotiated ($(grep -h wscale "$TMP/bulk_out.peer"))" \
	grep -Eq '^wscale snd=([1-9]|1[0-4]) rcv=([1-9]|1[0-4])$' "$TMP/bulk_out.peer"

# ---- no engine -----------------------------------------------------------------
t_check "an application without an engine gets a clear error" \
	sh -c "FLEXTOE_RUN_DIR=$TMP/none '$BIN/flextoe-echo' --port 1 2>&1 | grep -q 'no flextoe engine is running'"

t_check "the engine logged the application's exit and its reset connection" \
	grep -q "gone: reset 1 connection" "$TMP/eng.log"
# ---- a malformed hello -----------------------------------------------------------
bad_hello() { # the engine refuses it with -EPROTO and keeps serving
	python3 - "$RUN/flextoe.sock" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b"\x00" * 16)
st = struct.unpack("<i", s.recv(64)[:4])[0]
sys.exit(0 if st == -71 else 1)     # -EPROTO
PY
}
t_check "a malformed hello is refused (EPROTO)" bad_hello
t_check "the engine still serves applications after it" echo_test 7000 5 4096

# ---- the engine stops ------------------------------------------------------------
stop_engine() { # [RUN_DIR]
	local pid
	pid=$(cat "${1:-$RUN}/flextoe.pid") || return 1
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}
t_check "SIGTERM stops the engine with an application attached" stop_engine
t_check "the application notices the engine's exit" wait_for "$TMP/echo1.out" "lost the engine"
t_check "the engine removed its application socket" test ! -e "$RUN/flextoe.sock"
# ---- congestion control: TIMELY ---------------------------------------------------
# The same veth, a new engine paced by TIMELY (core/control/cc_timely.c): the
# engine is the sender of the bulk, so its rate follows TIMELY's RTT samples.
TIMELY_BYTES=${ENGINE_APPS_TIMELY_BYTES:-$((64 << 20))}
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$TMP/run3" --cc timely \
	>"$TMP/eng3.log" 2>&1
t_check "engine with --cc timely starts and says so" \
	wait_for "$TMP/eng3.log" "ready:.*congestion control timely"
ns_bg eng env FLEXTOE_RUN_DIR="$TMP/run3" "$BIN/flextoe-echo" --port 7000 >"$TMP/echo4.out" 2>&1
t_check "flextoe-echo on the TIMELY engine listens" wait_for "$TMP/echo4.out" listening
t_check "TIMELY: 20 connections, 256 KiB each, echoed exactly" echo_test 7000 20 262144
t_check "TIMELY: $TIMELY_BYTES bytes engine -> Linux, SHA-256 matches" \
	bulk_out "$TMP/run3" 7103 $TIMELY_BYTES timely
t_check "the TIMELY engine stops on SIGTERM" stop_engine "$TMP/run3"

# ---- two queues, two workers ----------------------------------------------------
# Several workers: the stages run on ingress, protocol and egress threads
# joined by rings (core/x86/pipe.c, docs/engine.md); applications are served
# by the protocol thread.
ns_add eng2 && ns_add peer2
ns_link -q 2 -w eng2 veth2 10.79.1.1/24 peer2 veth3 10.79.1.2/24
ns_bg eng2 "$BIN/flextoe" --iface veth2 --ip 10.79.1.5/24 --queues 2 --workers 2 \
	--run-dir "$TMP/run2" >"$TMP/eng2.log" 2>&1
t_check "engine with 2 queues and 2 workers starts" wait_for "$TMP/eng2.log" "ready:"
ns_bg eng2 env FLEXTOE_RUN_DIR="$TMP/run2" "$BIN/flextoe-echo" --port 7000 >"$TMP/echo3.out" 2>&1
t_check "flextoe-echo on it listens" wait_for "$TMP/echo3.out" listening
echo_test2() {
	local out
	out=$(ns_exec peer2 timeout 150 python3 "$TRAFFIC/echo_clients.py" 10.79.1.5 7000 "$1" "$2")
	[[ $(tail -n1 <<<"$out") == "ok echoed=$(($1 * $2))" ]] || { echo "$out" >&2; return 1; }
}
t_check "2 workers: 200 concurrent connections, 64 KiB each, echoed exactly" echo_test2 200 65536

t_summary
