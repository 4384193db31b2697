#!/usr/bin/env bash
# engine_harness.sh - the TCP engine (tests/tools/tcp-harness over AF_PACKET on a
# veth) against Linux TCP (python3 sockets) in two network namespaces.
set -uo pipefail
cd "$(dirname "$0")/../.."
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
HARNESS=$BUILD/tests/tools/tcp-harness
BULK=${ENGINE_BULK_BYTES:-$((64 << 20))}
if [[ ! -x $HARNESS ]]; then
	echo "engine_harness: $HARNESS missing; run make first" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
ns_init
TMP=$(mktemp -d); echo "# logs in $TMP"
trap 'ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT

ns_add eng
ns_add lnx
NS_E=$(ns_name eng); NS_L=$(ns_name lnx)
LIP=10.77.0.1; EIP=10.77.0.2
# The engine's side gets no IPv4 address: the kernel neither answers nor
# resets the engine's peers; the harness answers ARP itself.
# No IPv6 (set before the link exists, so that its interfaces take it
# from "default"); checksums in software, no segmentation/aggregation
# offloads (-w): the harness sees wire-sized frames with real checksums.
for ns in "$NS_E" "$NS_L"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done
ns_link -w eng veng - lnx vlnx $LIP/24

HPID=
start_harness() { # name args...: the harness in the background, pid in HPID
	local name=$1; shift
	ip netns exec "$NS_E" "$HARNESS" --if veng --ip $EIP/24 "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	HPID=$!
	NS_PIDS+=($HPID)
}

cat >"$TMP/echo_client.py" <<'PY'
import os, socket, sys, threading, hashlib
host, port, nconn, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
errors = []
def one(i):
    try:
        s = socket.create_connection((host, port), timeout=20)
        data = os.urandom(size)
        got = bytearray()
        def rd():
            while True:
                b = s.recv(65536)
                if not b: break
                got.extend(b)
        t = threading.Thread(target=rd); t.start()
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)      # we close first: the engine closes passively
        t.join(30)
        s.close()
        if bytes(got) != data:
            errors.append("conn %d: %d of %d bytes echoed correctly" % (i, len(got), size))
    except Exception as e:
        errors.append("conn %d: %r" % (i, e))
ts = [threading.Thread(target=one, args=(i,)) for i in range(nconn)]
[t.start() for t in ts]; [t.join(60) for t in ts]
for e in errors[:5]: print(e)
print("ok" if not errors else "errors=%d" % len(errors))
PY

cat >"$TMP/rst_client.py" <<'PY'
import socket, struct, sys, time
host, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection((host, port), timeout=10)
s.sendall(b"x" * 1000)
got = b""
while len(got) < 1000:
    got += s.recv(4096)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()                               # abortive close: RST
time.sleep(0.2)
print("ok")
PY

cat >"$TMP/sink.py" <<'PY'
import hashlib, socket, sys
port = int(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
l.bind(("0.0.0.0", port)); l.listen(1)
print("listening", flush=True)
c, _ = l.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
c.close()                               # after the engine's FIN: passive close
print("bytes=%d sha256=%s" % (n, h.hexdigest()), flush=True)
PY

cat >"$TMP/source.py" <<'PY'
import hashlib, os, socket, sys, time
host, port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(100):
    try:
        s = socket.create_connection((host, port), timeout=5); break
    except OSError:
        time.sleep(0.1)
s.settimeout(None)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
h = hashlib.sha256(); n = 0; chunk = os.urandom(1 << 20)
while n < total:
    b = chunk[: min(len(chunk), total - n)]
    s.sendall(b); h.update(b); n += len(b)
s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
s.close()
print("bytes=%d sha256=%s" % (n, h.hexdigest()), flush=True)
PY

wait_port() { # wait until the harness answers ARP/TCP on port
	for _ in $(seq 50); do
		ns_exec lnx python3 -c "import socket; socket.create_connection(('$EIP', $1), timeout=0.5).close()" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- echo ----
start_harness echo --echo 7 -v; EPID=$HPID
t_check "harness echo server answers" wait_port 7
out=$(ns_exec lnx timeout 60 python3 "$TMP/echo_client.py" $EIP 7 1 200000)
t_check "echo, 1 connection, 200 kB, passive close (got: $out)" test "$out" = ok
out=$(ns_exec lnx timeout 90 python3 "$TMP/echo_client.py" $EIP 7 100 20000)
t_check "echo, 100 concurrent connections (got: ${out//$'\n'/; })" test "${out##*$'\n'}" = ok
out=$(ns_exec lnx timeout 20 python3 "$TMP/rst_client.py" $EIP 7)
sleep 0.3
out2=$(ns_exec lnx timeout 60 python3 "$TMP/echo_client.py" $EIP 7 1 1000)
t_check "RST from the peer; the engine keeps serving" test "$out/$out2" = ok/ok
kill -INT "$EPID" 2>/dev/null; wait "$EPID" 2>/dev/null
t_check "engine counted the peer's RST" grep -Eq ' [1-9][0-9]* reset' "$TMP/echo.err"

# ---- bulk: engine -> Linux (the engine closes actively) ----
ns_exec lnx timeout 120 python3 "$TMP/sink.py" 5001 >"$TMP/sink.out" 2>&1 &
SPID=$!; NS_PIDS+=($SPID)
for _ in $(seq 50); do grep -q listening "$TMP/sink.out" 2>/dev/null && break; sleep 0.1; done
ns_exec eng timeout 120 "$HARNESS" --if veng --ip $EIP/24 --send $LIP:5001 $BULK >"$TMP/send.out" 2>"$TMP/send.err"
rc=$?
wait "$SPID" 2>/dev/null
h_line=$(tail -n1 "$TMP/send.out"); l_line=$(tail -n1 "$TMP/sink.out")
echo "  engine: $h_line"; echo "  linux:  $l_line"
t_check "bulk engine->linux: harness exit 0 (active close completed)" test $rc -eq 0
t_check "bulk engine->linux: $BULK bytes, SHA-256 match" \
	test "$(cut -d' ' -f1,2 <<<"$h_line")" = "$l_line" -a "${l_line%% *}" = "bytes=$BULK"
t_check "bulk engine->linux: window scaling negotiated" grep -Eq 'wscale snd=([1-9]|1[0-4]) rcv=([1-9]|1[0-4])' "$TMP/send.out"

# ---- bulk: Linux -> engine ----
start_harness recv --recv 5002 -v; RPID=$HPID
sleep 0.3
ns_exec lnx timeout 120 python3 "$TMP/source.py" $EIP 5002 $BULK >"$TMP/source.out" 2>&1
for _ in $(seq 100); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.1; done
h_line=$(grep bytes= "$TMP/recv.out" | tail -n1); l_line=$(tail -n1 "$TMP/source.out")
echo "  engine: $h_line"; echo "  linux:  $l_line"
t_check "bulk linux->engine: $BULK bytes, SHA-256 match" \
	test "$(cut -d' ' -f1,2 <<<"$h_line")" = "$l_line" -a "${l_line%% *}" = "bytes=$BULK"
t_check "bulk linux->engine: window scaling negotiated" grep -Eq 'wscale snd=([1-9]|1[0-4]) rcv=([1-9]|1[0-4])' "$TMP/recv.out"

# ---- under the full fault profile (tests/lib/impair.sh), both ways ----
# 2% loss, 25% reordering, 2% duplication, 0.5% corruption, 1 ms +- 0.5 ms
# delay.  Pass: SHA-256 equal and no gap over 5 s without progress (the
# harness and the Linux sink both report their longest one).
# Sizes: engine->linux moves 64 MiB in about 40 s; linux->engine is slower
# (one out-of-order interval: a reordered segment behind a loss opens a
# second hole and is dropped, and Linux's recovery pays for it), so it runs
# 8 MiB by default to keep the whole test near a minute.
FAULT_TX_BYTES=${ENGINE_FAULT_TX_BYTES:-$((64 << 20))}
FAULT_RX_BYTES=${ENGINE_FAULT_RX_BYTES:-$((8 << 20))}
STALL_MAX_MS=${ENGINE_STALL_MAX_MS:-5000}
cat >"$TMP/sink_stall.py" <<'PY'
import hashlib, socket, sys, time
port = int(sys.argv[1])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
l.bind(("0.0.0.0", port)); l.listen(1)
print("listening", flush=True)
c, _ = l.accept(); h = hashlib.sha256(); n = 0
last = time.monotonic(); stall = 0.0
while True:
    b = c.recv(1 << 20)
    now = time.monotonic(); stall = max(stall, now - last); last = now
    if not b: break
    h.update(b); n += len(b)
c.close()
print("max_stall_ms=%d" % (stall * 1000), flush=True)
print("bytes=%d sha256=%s" % (n, h.hexdigest()), flush=True)
PY
stall_of() { grep -o 'max_stall_ms=[0-9]*' "$1" | tail -n1 | cut -d= -f2; }
if [[ -f tests/lib/impair.sh && -x $BUILD/tests/tools/impair ]]; then
	export FTOE_BUILD=$BUILD
	source tests/lib/impair.sh
	ns_add eng2
	ns_add lnx2
	if impair_link eng2 veng2 10.78.0.3/24 lnx2 vlnx2 10.78.0.1/24 \
		--loss 2 --reorder 25 --dup 2 --corrupt 0.5 --delay 1 --jitter 0.5 --seed 7; then
		trap '_impair_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
		NS_E2=$(ns_name eng2)
		# the engine's side again carries no kernel address
		ip -n "$NS_E2" addr flush dev veng2
		echo "# fault profile: engine->linux $FAULT_TX_BYTES bytes, linux->engine $FAULT_RX_BYTES bytes"
		ns_exec lnx2 timeout 300 python3 "$TMP/sink_stall.py" 5003 >"$TMP/sink2.out" 2>&1 &
		SPID=$!; NS_PIDS+=($SPID)
		for _ in $(seq 50); do grep -q listening "$TMP/sink2.out" 2>/dev/null && break; sleep 0.1; done
		ip netns exec "$NS_E2" timeout 300 "$HARNESS" --if veng2 --ip 10.78.0.2/24 -v \
			--send 10.78.0.1:5003 $FAULT_TX_BYTES >"$TMP/send2.out" 2>"$TMP/send2.err"
		wait "$SPID" 2>/dev/null
		h_line=$(tail -n1 "$TMP/send2.out"); l_line=$(tail -n1 "$TMP/sink2.out")
		echo "  engine: $h_line"; echo "  linux:  $l_line"; tail -n1 "$TMP/send2.err"
		t_check "fault profile, engine->linux: $FAULT_TX_BYTES bytes, SHA-256 match" \
			test "$(cut -d' ' -f1,2 <<<"$h_line")" = "$l_line" -a "${l_line%% *}" = "bytes=$FAULT_TX_BYTES"
		st_h=$(stall_of "$TMP/send2.out"); st_l=$(stall_of "$TMP/sink2.out")
		t_check "fault profile, engine->linux: longest stall ${st_h:-?}/${st_l:-?} ms <= $STALL_MAX_MS" \
			test "${st_h:-999999}" -le "$STALL_MAX_MS" -a "${st_l:-999999}" -le "$STALL_MAX_MS"

		ip netns exec "$NS_E2" timeout 300 "$HARNESS" --if veng2 --ip 10.78.0.2/24 -v \
			--recv 5004 >"$TMP/recv2.out" 2>"$TMP/recv2.err" &
		RPID=$!; NS_PIDS+=($RPID)
		sleep 0.3
		ns_exec lnx2 timeout 300 python3 "$TMP/source.py" 10.78.0.2 5004 $FAULT_RX_BYTES >"$TMP/source2.out" 2>&1
		for _ in $(seq 100); do kill -0 "$RPID" 2>/dev/null || break; sleep 0.1; done
		h_line=$(grep bytes= "$TMP/recv2.out" | tail -n1); l_line=$(tail -n1 "$TMP/source2.out")
		echo "  engine: $h_line"; echo "  linux:  $l_line"; grep -v progress "$TMP/recv2.err" | tail -n1
		t_check "fault profile, linux->engine: $FAULT_RX_BYTES bytes, SHA-256 match" \
			test "$(cut -d' ' -f1,2 <<<"$h_line")" = "$l_line" -a "${l_line%% *}" = "bytes=$FAULT_RX_BYTES"
		st_h=$(stall_of "$TMP/recv2.out")
		t_check "fault profile, linux->engine: longest stall ${st_h:-?} ms <= $STALL_MAX_MS" \
			test "${st_h:-999999}" -le "$STALL_MAX_MS"
		impair_stop
	else
		t_fail "impaired link setup"
	fi
else
	echo "# no impairment tool ($BUILD/tests/tools/impair): lossy runs skipped"
fi

t_summary
