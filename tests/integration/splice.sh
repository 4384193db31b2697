#!/usr/bin/env bash
# splice.sh - connection splicing end to end: flextoe-splice-proxy joins a Linux client and a Linux
# backend through the splice program at rx-pre; 100 MiB up (and 16 MiB down) with matching SHA-256,
# no payload reaching the proxy after the splice, XDP_TX counters, FIN teardown, and clear errors.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
SPLICE=$PWD/$BUILD/xdp-progs/splice.bpf.o
UP=${SPLICE_UP_BYTES:-$((100 << 20))}
DOWN=${SPLICE_DOWN_BYTES:-$((16 << 20))}
need_files "$BIN/flextoe" "$BIN/flextoe-splice-proxy" "$BPF" "$SPLICE"

test_init splice

ENG_IP=10.93.0.5	# the engine (AF_XDP on veth0)
KERN_IP=10.93.0.1	# veth0's kernel address in the engine's namespace
CLI_IP=10.93.0.2	# the Linux client ...
BACK_IP=10.93.0.3	# ... and the Linux backend: two addresses on the peer's veth1
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $CLI_IP/24
ip -n "$(ns_name peer)" addr add $BACK_IP/24 dev veth1
# wire-sized frames: the engine's AF_XDP frames hold one MTU
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1

# stat NAME: a splice_stats counter summed over the per-CPU slots (enum splice_stat order;
# map dump --json gives keys and values as little-endian hex bytes)
stat() {
	"$BPF" map dump splice_stats --json | python3 -c "
import json, sys
names = ['tx', 'tx_bytes', 'pass', 'fin', 'rst', 'closed', 'syn', 'unsupported']
le = lambda h: int.from_bytes(bytes.fromhex(h), 'little')
print(sum(le(v) for e in json.load(sys.stdin) if le(e['key']) == names.index('$1')
          for v in e['values']))"
}

cat >"$TMP/backend.py" <<'PY'
# backend: per connection, read to EOF (SHA-256), send DOWN bytes back, close; one line each.
import hashlib, os, socket, sys
host, port, down, nconn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
        while n and sent < down:   # nothing came: the proxy gave up, nobody listens
            c = chunk[: min(len(chunk), down - sent)]
            s.sendall(c); hs.update(c); sent += len(c)
    except OSError as e:
        print("error %r" % e, flush=True)
    s.close()
    print("recv=%d recv_sha256=%s sent=%d sent_sha256=%s" % (n, h.hexdigest(), sent, hs.hexdigest()), flush=True)
PY
cat >"$TMP/client.py" <<'PY'
# client: CONNECT, wait for OK, wait until the proxy's log says it spliced, send UP bytes, half-close,
# read the backend's bytes to EOF; one line.
import hashlib, os, socket, struct, sys, time
src, host, port, line, up, log = sys.argv[1:7]
mode = sys.argv[7] if len(sys.argv) > 7 else "fin"
port, up = int(port), int(up)
s = socket.socket(); s.bind((src, 0)); s.settimeout(60)
s.connect((host, port))
h = hashlib.sha256(); sent = 0; chunk = os.urandom(1 << 20)
first = b""
if mode == "pipeline":
    # the request and the first 256 KiB in one go, before the OK
    first = chunk[: 256 << 10]; h.update(first); sent = len(first)
s.sendall(line.encode() + b"\n" + first)
reply = b""
while not reply.endswith(b"\n"):
    b = s.recv(1)
    if not b: break
    reply += b
if reply != b"OK\n":
    print("reply %r" % reply); sys.exit(1)
# The protocol only asks to wait for OK; waiting for the splice too keeps
# the proxy from relaying early bytes itself, so the test can demand 0.
for _ in range(400):
    if mode == "pipeline" or "spliced" in open(log).read(): break
    time.sleep(0.025)
while sent < up:
    c = chunk[: min(len(chunk), up - sent)]
    s.sendall(c); h.update(c); sent += len(c)
if mode == "rst":
    # abort: SO_LINGER 0 makes close() send a RST (once the data is acknowledged,
    # so the RST's sequence number is the one the backend expects)
    time.sleep(0.5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    s.close()
    print("sent=%d sent_sha256=%s reset" % (sent, h.hexdigest()), flush=True)
    sys.exit(0)
s.shutdown(socket.SHUT_WR)
hr = hashlib.sha256(); n = 0
while True:
    b = s.recv(1 << 20)
    if not b: break
    hr.update(b); n += len(b)
s.close()
print("sent=%d sent_sha256=%s recv=%d recv_sha256=%s" % (sent, h.hexdigest(), n, hr.hexdigest()), flush=True)
PY

# ---- the program alone: crafted frames, checked against a rewrite computed here --------
# frames.py OUTDIR: writes in_*.bin, want_*.bin and the splice_flows entry (key.hex, val.hex)
cat >"$TMP/frames.py" <<'PY'
import socket, struct, sys
out = sys.argv[1]
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def frame(smac, dmac, src, dst, sport, dport, seq, ack, flags, win, opts, payload, tos=0, ihl_opts=b''):
    thl = 20 + len(opts)
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, (thl // 4) << 4, flags, win, 0, 0) + opts + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x40 | (5 + len(ihl_opts) // 4), tos, 20 + len(ihl_opts) + len(tcp),
                     7, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst)) + ihl_opts
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]
    return dmac + smac + b'\x08\x00' + ip + tcp
def opts(tsval, tsecr, sack):
    o = b'\x01\x01\x08\x0a' + struct.pack('!II', tsval, tsecr)
    if sack:
        o += b'\x01\x01\x05' + bytes([2 + 8 * len(sack)]) + b''.join(struct.pack('!II', a, b) for a, b in sack)
    return o
M = lambda x: bytes([2, 0, 0, 0, 0, x])
cli, eng, back = '10.93.0.2', '10.93.0.5', '10.93.0.3'
seq_off, ack_off, tsv_off, tse_off = 0x80000000, 0xfffff000, 12345, 0xffffff00
u32 = lambda x: x & 0xffffffff
key = socket.inet_aton(cli) + socket.inet_aton(eng) + struct.pack('!HH', 40000, 8001)
val = (M(5) + M(3) + socket.inet_aton(eng) + socket.inet_aton(back) + struct.pack('!HH', 33000, 9000)
       + struct.pack('<IIIIBBBBIIIQQ', seq_off, ack_off, tsv_off, tse_off, 7, 9, 1 | 2 | 4, 0, 0, 0, 0, 0, 0))
assert len(key) == 12 and len(val) == 72
open(out + '/key.hex', 'w').write(key.hex()); open(out + '/val.hex', 'w').write(val.hex())
pay = bytes(range(100))
sack = [(0xfffffff0, 0x10), (1000, 2000)]
# data with timestamps and SACK, ECT(0): every field moves, ECN is stripped
fin = frame(M(2), M(5), cli, eng, 40000, 8001, 0x90000000, 5000, 0x18, 500, opts(1000, 77, sack), pay, tos=2)
fout = frame(M(5), M(3), eng, back, 33000, 9000, u32(0x90000000 + seq_off), u32(5000 + ack_off), 0x18,
             500 * 128 // 512, opts(u32(1000 + tsv_off), u32(77 + tse_off), [(u32(a + ack_off), u32(b + ack_off)) for a, b in sack]), pay)
open(out + '/in_data.bin', 'wb').write(fin); open(out + '/want_data.bin', 'wb').write(fout)
# a window that saturates the field, ECE|CWR stripped, no options
fin = frame(M(2), M(5), cli, eng, 40000, 8001, 1, 2, 0xd0, 0xffff, b'', b'x')
fout = frame(M(5), M(3), eng, back, 33000, 9000, u32(1 + seq_off), u32(2 + ack_off), 0x10, 0x3fff, b'', b'x')
open(out + '/in_win.bin', 'wb').write(fin); open(out + '/want_win.bin', 'wb').write(fout)
# another 4-tuple: passed unchanged; IP options on the spliced one: dropped
open(out + '/in_other.bin', 'wb').write(frame(M(2), M(5), cli, eng, 40001, 8001, 1, 2, 0x10, 9, b'', b''))
open(out + '/in_ipopt.bin', 'wb').write(frame(M(2), M(5), cli, eng, 40000, 8001, 1, 2, 0x10, 9, b'', b'', ihl_opts=b'\x01\x01\x01\x00'))
PY
python3 "$TMP/frames.py" "$TMP"
ENTRY=(--map-update splice_flows "$(cat "$TMP/key.hex")" "$(cat "$TMP/val.hex")")
# runs DESC FRAME RETVAL WANT: jit, interp and kernel return RETVAL and the bytes of WANT
runs() {
	local e out ok=1
	for e in jit interp kernel; do
		if ! out=$("$BPF" test-run "$SPLICE" --data-in "$TMP/$2.bin" --data-out "$TMP/out.$e" \
			--engine $e --json "${ENTRY[@]}" 2>&1); then
			echo "    $e: $out"; ok=0; continue
		fi
		if [[ $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["retval"])' "$out") != "$3" ]]; then
			echo "    $e: $out (want retval $3)"; ok=0
		elif ! cmp -s "$TMP/out.$e" "$TMP/$4.bin"; then
			echo "    $e: output differs from $4"; cmp -l "$TMP/out.$e" "$TMP/$4.bin" | head -5; ok=0
		fi
	done
	[[ $ok -eq 1 ]]
}
XDP_DROP=1 XDP_PASS=2 XDP_TX=3
t_check "test-run: a data segment with TS, SACK and ECT is rewritten exactly (incremental checksums equal full ones)" \
	runs data in_data $XDP_TX want_data
t_check "test-run: window rescaled and saturated, ECE/CWR stripped" runs win in_win $XDP_TX want_win
t_check "test-run: another 4-tuple passes unchanged" runs other in_other $XDP_PASS in_other
t_check "test-run: IP options on a spliced 4-tuple are dropped" runs ipopt in_ipopt $XDP_DROP in_ipopt

# SPLICE_ENGINE_ARGS: more engine options (e.g. "--workers 3"; the veth has one queue)
# shellcheck disable=SC2086
t_check "engine starts" engine_start eng $ENG_IP/24 ${SPLICE_ENGINE_ARGS:-}
t_check "loader ready" wait_cmd 5 test -S "$RUN/loader.sock"
ns_bg peer python3 "$TMP/backend.py" $BACK_IP 9000 $DOWN 4 >"$TMP/backend.out" 2>&1
t_check "backend listens" wait_for "$TMP/backend.out" listening

# ---- without the program: a clear error ---------------------------------------------
ns_bg eng "$BIN/flextoe-splice-proxy" --port 8000 --backend $BACK_IP:9000 --once >"$TMP/proxy0.out" 2>&1
t_check "proxy listens" wait_for "$TMP/proxy0.out" listening
no_prog() {
	local out
	out=$(ns_exec peer timeout 20 python3 - $CLI_IP $ENG_IP <<'PY'
import socket, sys
s = socket.socket(); s.bind((sys.argv[1], 0)); s.settimeout(10)
s.connect((sys.argv[2], 8000)); s.sendall(b"CONNECT\n")
data = b""
try:
    while True:
        b = s.recv(100)
        if not b: break
        data += b
except (ConnectionResetError, socket.timeout) as e:
    data += repr(e).encode()
print(data)
PY
)
	wait_for "$TMP/proxy0.out" "total:" || return 1
	grep -q "no splice program is loaded at rx-pre" "$TMP/proxy0.out" || { cat "$TMP/proxy0.out" >&2; return 1; }
	grep -q "splice refused: no splice program is loaded at rx-pre" "$TMP/eng.log" || { cat "$TMP/eng.log" >&2; return 1; }
}
t_check "ftoe_splice without the program at rx-pre: -ENOENT with a message (proxy and engine log)" no_prog
t_check "the backend saw that connection end with no data" wait_for "$TMP/backend.out" "recv=0 "

# ---- the splice ---------------------------------------------------------------------
ID=$("$BPF" load "$SPLICE" --hook rx-pre 2>"$TMP/load.err")
t_check "load splice.bpf.o at rx-pre" test -n "$ID"
cat "$TMP/load.err" >&2
ns_bg eng "$BIN/flextoe-splice-proxy" --port 8001 --backend $BACK_IP:9000 --once >"$TMP/proxy.out" 2>&1
t_check "proxy listens" wait_for "$TMP/proxy.out" listening
T0=$(date +%s.%N)
ns_exec peer timeout 120 python3 "$TMP/client.py" $CLI_IP $ENG_IP 8001 "CONNECT $BACK_IP:9000" $UP "$TMP/proxy.out" \
	>"$TMP/client.out" 2>&1
T1=$(date +%s.%N)
cat "$TMP/client.out"
t_check "backend finished the spliced connection" wait_for "$TMP/backend.out" "recv=$UP " 30
BACK_LINE=$(grep "recv=$UP " "$TMP/backend.out")
echo "# backend: $BACK_LINE"
echo "# $UP bytes up, $DOWN down in $(python3 -c "print('%.2f' % ($T1 - $T0))") s"
up_sha() {
	local a b
	a=$(sed -n 's/.*sent=\([0-9]*\) sent_sha256=\([0-9a-f]*\).*/\1 \2/p' "$TMP/client.out")
	b=$(sed -n 's/recv=\([0-9]*\) recv_sha256=\([0-9a-f]*\).*/\1 \2/p' <<<"$BACK_LINE")
	[[ -n $a && $a == "$b" && $a == "$UP "* ]] || { echo "client: $a backend: $b" >&2; return 1; }
}
down_sha() {
	local a b
	a=$(sed -n 's/.*recv=\([0-9]*\) recv_sha256=\([0-9a-f]*\).*/\1 \2/p' "$TMP/client.out")
	b=$(sed -n 's/.*sent=\([0-9]*\) sent_sha256=\([0-9a-f]*\).*/\1 \2/p' <<<"$BACK_LINE")
	[[ -n $a && $a == "$b" && $a == "$DOWN "* ]] || { echo "client: $a backend: $b" >&2; return 1; }
}
t_check "$UP bytes client -> backend through the splice, SHA-256 matches" up_sha
t_check "$DOWN bytes backend -> client through the splice, SHA-256 matches" down_sha
t_check "the proxy spliced with nothing to relay itself first" \
	grep -q "spliced (pre-splice bytes relayed: client->backend 0, backend->client 0)" "$TMP/proxy.out"
t_check "FIN teardown reaches the proxy: both sockets end, 0 payload bytes after the splice" \
	wait_for "$TMP/proxy.out" "splice ended: closed; .*; post_splice_bytes=0" 5
# The program counts what it relays, so a segment the sender resent (a spurious
# retransmission on a loaded machine) counts twice: at least the payload, and
# at most 1% more.
relayed_counts() {
	local up down
	read -r up down < <(sed -n 's/.*relayed client->backend \([0-9]*\) bytes ([0-9]* segments), backend->client \([0-9]*\) bytes.*/\1 \2/p' "$TMP/proxy.out")
	echo "# relayed: up $up down $down"
	[[ -n $up && -n $down ]] && ((up >= UP && up <= UP + UP / 100 && down >= DOWN && down <= DOWN + DOWN / 100))
}
t_check "the engine tells the proxy what the program relayed: >= $UP bytes up, >= $DOWN down (<= 1% resent)" \
	relayed_counts
t_check "the proxy exits and reports 0 payload bytes after the splice" \
	wait_for "$TMP/proxy.out" "total: conns=1 spliced=1 failed=0 pre_splice_bytes=0 post_splice_bytes=0" 5
cat "$TMP/proxy.out"
TXB=$(stat tx_bytes); TX=$(stat tx)
echo "# splice_stats: tx=$TX tx_bytes=$TXB fin=$(stat fin) closed=$(stat closed) rst=$(stat rst) pass=$(stat pass)"
t_check "splice_stats: every payload byte went out with XDP_TX ($TXB >= $((UP + DOWN)))" \
	test "$TXB" -ge $((UP + DOWN))
t_check "splice_stats: $TX segments relayed (>= one per 1460 bytes)" test "$TX" -ge $(((UP + DOWN) / 1460))
t_check "splice_stats: two FINs relayed and one pair closed" \
	sh -c "test \"\$1\" -ge 2 && test \"\$2\" -eq 1" sh "$(stat fin)" "$(stat closed)"
t_check "splice_flows is empty after the teardown" \
	sh -c "'$BPF' map dump splice_flows --json | python3 -c 'import json,sys; sys.exit(1 if json.load(sys.stdin) else 0)'"
t_check "the engine logged the splice and its end" \
	sh -c "grep -q 'spliced' '$TMP/eng.log' && grep -q '1 splice ended; 0 in effect' '$TMP/eng.log'"
t_check "the rx-pre hook counted the relayed frames as XDP_TX" sh -c "'$BPF' list --json | python3 -c \"
import json,sys
h=[x for x in json.load(sys.stdin) if x['hook']=='rx-pre'][0]
sys.exit(0 if h['verdicts']['tx'] >= $TX else 1)\""

# ---- a RST ends the splice at once ------------------------------------------------------
ns_bg eng "$BIN/flextoe-splice-proxy" --port 8002 --backend $BACK_IP:9000 --once >"$TMP/proxy2.out" 2>&1
t_check "proxy listens" wait_for "$TMP/proxy2.out" listening
RST0=$(stat rst)
ns_exec peer timeout 60 python3 "$TMP/client.py" $CLI_IP $ENG_IP 8002 CONNECT $((1 << 20)) "$TMP/proxy2.out" rst \
	>"$TMP/client2.out" 2>&1
t_check "client aborted a spliced connection after 1 MiB" grep -q "sent=1048576 .* reset" "$TMP/client2.out"
t_check "the backend got the MiB and then the relayed RST" \
	sh -c "grep -q 'ConnectionResetError' '$TMP/backend.out' && grep -q 'recv=1048576 ' '$TMP/backend.out'"
t_check "splice_stats: the RST was relayed" test "$(stat rst)" -gt "$RST0"
# The program counts the payload of every segment it relays, a sender's
# retransmission again (examples/splice-proxy/README.md): at least the MiB
# the backend got byte-exact above, and no payload left for the proxy.
relayed_at_least_mib() {
	local n
	wait_for "$TMP/proxy2.out" "splice ended: Connection reset by peer; relayed client->backend [0-9]* .*; post_splice_bytes=0" 5 || return 1
	n=$(sed -n 's/.*splice ended: Connection reset by peer; relayed client->backend \([0-9]*\) .*/\1/p' "$TMP/proxy2.out")
	echo "# relayed client->backend: $n bytes"
	test "$n" -ge 1048576
}
t_check "the proxy's sockets report the reset, no payload after the splice" relayed_at_least_mib
t_check "splice_flows is empty after the RST" \
	sh -c "'$BPF' map dump splice_flows --json | python3 -c 'import json,sys; sys.exit(1 if json.load(sys.stdin) else 0)'"

# ---- a client that does not wait ---------------------------------------------------------
# It sends 256 KiB right behind its request line: those bytes reach the proxy before any
# splice, so the proxy relays them itself and splices once nothing is in flight (or relays
# to the end); either way every byte arrives, and none reaches it after a splice.
ns_bg eng "$BIN/flextoe-splice-proxy" --port 8003 --backend $BACK_IP:9000 --once >"$TMP/proxy3.out" 2>&1
t_check "proxy listens" wait_for "$TMP/proxy3.out" listening
EARLY=$((8 << 20))
ns_exec peer timeout 60 python3 "$TMP/client.py" $CLI_IP $ENG_IP 8003 CONNECT $EARLY - pipeline \
	>"$TMP/client3.out" 2>&1
early() {
	local a b line
	wait_for "$TMP/proxy3.out" "total:" 5 || return 1
	# the backend prints its line once its side closed, which may trail the proxy's
	wait_for "$TMP/backend.out" "recv=$EARLY " 10 || return 1
	line=$(grep "recv=$EARLY " "$TMP/backend.out")
	a=$(sed -n 's/.*sent=\([0-9]*\) sent_sha256=\([0-9a-f]*\) recv=\([0-9]*\) recv_sha256=\([0-9a-f]*\).*/\1 \2 \3 \4/p' "$TMP/client3.out")
	b=$(sed -n 's/recv=\([0-9]*\) recv_sha256=\([0-9a-f]*\) sent=\([0-9]*\) sent_sha256=\([0-9a-f]*\).*/\1 \2 \3 \4/p' <<<"$line")
	echo "# early client: $(grep -E 'spliced|relayed without' "$TMP/proxy3.out")"
	[[ -n $a && $a == "$b" && $a == "$EARLY "*" $DOWN "* ]] || {
		echo "client: $a backend: $b" >&2
		echo "raw $TMP/client3.out:" >&2; cat "$TMP/client3.out" >&2
		return 1
	}
	grep -q "post_splice_bytes=0" "$TMP/proxy3.out" &&
	grep -Eq "client->backend ([1-9][0-9]{5,})" "$TMP/proxy3.out"
}
t_check "early bytes: the proxy relays >= 256 KiB itself, $EARLY up and $DOWN down, SHA-256 matches" early

t_summary
