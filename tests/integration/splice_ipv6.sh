#!/usr/bin/env bash
# splice_ipv6.sh - connection splicing over IPv6 (splice_flows6): flextoe-splice-proxy on a
# dual-stack engine joins a Linux client and a Linux backend over IPv6 through the splice program
# at rx-pre; bytes both ways with matching SHA-256, none reaching the proxy after the splice, FIN
# teardown with splice_flows6 emptied; an IPv6 client with an IPv4 backend is refused clearly.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
SPLICE=$PWD/$BUILD/xdp-progs/splice.bpf.o
UP=${SPLICE6_UP_BYTES:-$((16 << 20))}
DOWN=${SPLICE6_DOWN_BYTES:-$((4 << 20))}
need_files "$BIN/flextoe" "$BIN/flextoe-splice-proxy" "$BPF" "$SPLICE"
need_tools python3

test_init splice6

ENG_IP=10.85.0.5
KERN_IP=10.85.0.1
BACK_IP=10.85.0.3
ENG_IP6=fd00:85::5
CLI_IP6=fd00:85::2
BACK_IP6=fd00:85::3
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $BACK_IP/24
ip -n "$(ns_name peer)" addr add $CLI_IP6/64 dev veth1 nodad
ip -n "$(ns_name peer)" addr add $BACK_IP6/64 dev veth1 nodad
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1

# backend.py HOST PORT DOWN NCONN: per connection, read to EOF (SHA-256), send DOWN bytes, close
cat >"$TMP/backend.py" <<'PY'
import hashlib, os, socket, sys
host, port, down, nconn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ls = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((host, port)); ls.listen(8)
print("listening", flush=True)
for _ in range(nconn):
    s, _ = ls.accept(); s.settimeout(60)
    h = hashlib.sha256(); n = 0; hs = hashlib.sha256(); sent = 0
    try:
        while True:
            b = s.recv(1 << 20)
            if not b: break
            h.update(b); n += len(b)
        chunk = os.urandom(1 << 20)
        while n and sent < down:
            c = chunk[: min(len(chunk), down - sent)]
            s.sendall(c); hs.update(c); sent += len(c)
    except OSError as e:
        print("error %r" % e, flush=True)
    s.close()
    print("recv=%d recv_sha256=%s sent=%d sent_sha256=%s" % (n, h.hexdigest(), sent, hs.hexdigest()), flush=True)
PY
# client.py SRC HOST PORT LINE UP LOG: CONNECT, OK, wait for the proxy's "spliced", send UP
# bytes, half-close, read to EOF; one line
cat >"$TMP/client.py" <<'PY'
import hashlib, os, socket, sys, time
src, host, port, line, up, log = sys.argv[1:7]
s = socket.socket(socket.AF_INET6); s.bind((src, 0)); s.settimeout(60)
s.connect((host, int(port)))
s.sendall(line.encode() + b"\n")
reply = b""
while not reply.endswith(b"\n"):
    b = s.recv(1)
    if not b: break
    reply += b
if reply != b"OK\n":
    print("reply %r" % reply); sys.exit(1)
for _ in range(400):
    if "spliced" in open(log).read(): break
    time.sleep(0.025)
h = hashlib.sha256(); sent = 0; chunk = os.urandom(1 << 20)
while sent < int(up):
    c = chunk[: min(len(chunk), int(up) - sent)]
    s.sendall(c); h.update(c); sent += len(c)
s.shutdown(socket.SHUT_WR)
hr = hashlib.sha256(); n = 0
while True:
    b = s.recv(1 << 20)
    if not b: break
    hr.update(b); n += len(b)
print("sent=%d sent_sha256=%s recv=%d recv_sha256=%s" % (sent, h.hexdigest(), n, hr.hexdigest()), flush=True)
PY

t_check "dual-stack engine starts" engine_start eng $ENG_IP/24 --ip $ENG_IP6/64
t_check "loader ready" wait_cmd 5 test -S "$RUN/loader.sock"
ID=$("$BPF" load "$SPLICE" --hook rx-pre 2>"$TMP/load.err")
t_check "load splice.bpf.o at rx-pre" test -n "$ID"
ns_bg peer python3 "$TMP/backend.py" $BACK_IP6 9000 $DOWN 1 >"$TMP/backend.out" 2>&1
t_check "IPv6 backend listens" wait_for "$TMP/backend.out" listening

# ---- the splice over IPv6 ---------------------------------------------------------------
ns_bg eng "$BIN/flextoe-splice-proxy" --port 8001 --backend "[$BACK_IP6]:9000" --once >"$TMP/proxy.out" 2>&1
t_check "proxy listens" wait_for "$TMP/proxy.out" listening
T0=$(date +%s.%N)
ns_exec peer timeout 90 python3 "$TMP/client.py" $CLI_IP6 $ENG_IP6 8001 CONNECT $UP "$TMP/proxy.out" \
	>"$TMP/client.out" 2>&1
cat "$TMP/client.out"
t_check "backend finished the spliced connection" wait_for "$TMP/backend.out" "recv=$UP " 30
BACK_LINE=$(grep "recv=$UP " "$TMP/backend.out")
echo "# $UP bytes up, $DOWN down over IPv6 in $(python3 -c "import time; print('%.2f' % (time.time() - $T0))") s (client start to backend done)"
shas() {	# client's sent == backend's recv, client's recv == backend's sent
	local a b
	a=$(sed -n 's/.*sent=\([0-9]*\) sent_sha256=\([0-9a-f]*\) recv=\([0-9]*\) recv_sha256=\([0-9a-f]*\).*/\1 \2 \3 \4/p' "$TMP/client.out")
	b=$(sed -n 's/recv=\([0-9]*\) recv_sha256=\([0-9a-f]*\) sent=\([0-9]*\) sent_sha256=\([0-9a-f]*\).*/\1 \2 \3 \4/p' <<<"$BACK_LINE")
	[[ -n $a && $a == "$b" && $a == "$UP "*" $DOWN "* ]] || { echo "client: $a backend: $b" >&2; return 1; }
}
t_check "$UP bytes up and $DOWN down through the IPv6 splice, SHA-256 match" shas
t_check "the proxy spliced with nothing to relay itself first" \
	grep -q "spliced (pre-splice bytes relayed: client->backend 0, backend->client 0)" "$TMP/proxy.out"
t_check "FIN teardown: both sockets end, 0 payload bytes after the splice" \
	wait_for "$TMP/proxy.out" "splice ended: closed; .*; post_splice_bytes=0" 5
relayed() {
	local up down
	read -r up down < <(sed -n 's/.*relayed client->backend \([0-9]*\) bytes ([0-9]* segments), backend->client \([0-9]*\) bytes.*/\1 \2/p' "$TMP/proxy.out")
	echo "# relayed: up $up down $down"
	[[ -n $up && -n $down ]] && ((up >= UP && up <= UP + UP / 100 && down >= DOWN && down <= DOWN + DOWN / 100))
}
t_check "the program's counts from splice_ends6 reach the proxy (<= 1% resent)" relayed
cat "$TMP/proxy.out"
t_check "splice_flows6 is empty after the teardown" \
	sh -c "'$BPF' map dump splice_flows6 --json | python3 -c 'import json,sys; sys.exit(1 if json.load(sys.stdin) else 0)'"

# ---- families mixed: refused ------------------------------------------------------------
ns_bg peer python3 "$TMP/backend.py" $BACK_IP 9001 0 1 >"$TMP/backend4.out" 2>&1
wait_for "$TMP/backend4.out" listening >/dev/null
ns_bg eng "$BIN/flextoe-splice-proxy" --port 8002 --backend $BACK_IP:9001 --once >"$TMP/proxy2.out" 2>&1
wait_for "$TMP/proxy2.out" listening >/dev/null
ns_exec peer timeout 20 python3 "$TMP/client.py" $CLI_IP6 $ENG_IP6 8002 CONNECT 0 "$TMP/proxy2.out" \
	>/dev/null 2>&1
t_check "an IPv6 client with an IPv4 backend: ftoe_splice fails with EOPNOTSUPP" \
	wait_for "$TMP/proxy2.out" "ftoe_splice: Operation not supported" 10
t_check "... and the engine logs why, naming both families" \
	grep -q "splice refused: connection [0-9]* is IPv6 and [0-9]* is IPv4: both must be of one family" \
	"$TMP/eng.log"
t_check "the proxy printed the IPv6 client's address" grep -q "conn 1: client \[$CLI_IP6\]:" "$TMP/proxy.out"
t_check "the engine is still running" kill -0 "$(cat "$RUN/flextoe.pid")"
t_summary
