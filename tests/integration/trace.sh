#!/usr/bin/env bash
# trace.sh - flextoe-bpf trace and capture against a running engine: a Linux peer sends a few
# hundred KB to flextoe-bulk and receives as many from it while trace (JSON + pcap) and tcpdump on
# the peer watch (tx records carry the flow's TCP state); detaching on SIGINT; a text trace with
# --duration of one echo exchange (also with a slow attach and a stopped reader); cleanup by the
# engine after kill -9, permissions, and capture's pcap.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
need_files "$BIN/flextoe" "$BIN/flextoe-bulk" "$BIN/flextoe-echo" "$BPF" "$BIN/flextoe-loaderd" \
	"$PWD/$BUILD/xdp-progs/tcp_trace.bpf.o" "$PWD/$BUILD/xdp-progs/capture.bpf.o"
need_tools tcpdump tshark python3 setpriv ethtool

ns_init
TMP=$(mktemp -d /tmp/ftoe-trace.XXXXXX)
chmod 755 "$TMP"
BG=()
trap 'for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done; ns_cleanup; rm -rf "$TMP"' EXIT

PORT=7200
BYTES=400000

eng_peer 10.81.0
# tcpdump must see the segments as they go on the wire, not GSO super-packets.
ns_exec peer ethtool -K veth1 gso off tso off >/dev/null 2>&1

nprogs() { "$BPF" list --json | python3 -c "import json,sys; print(sum(len(h['progs']) for h in json.load(sys.stdin)))"; }
no_progs() { [[ $(nprogs) == 0 ]]; }
expect() {	# expect RC PATTERN CMD...
	local rc=$1 pat=$2 out got; shift 2
	out=$("$@" 2>&1); got=$?
	if [[ $got -ne $rc ]] || ! grep -q -- "$pat" <<<"$out"; then
		echo "expected rc $rc and '$pat', got rc $got: $out" >&2
		return 1
	fi
}

ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
t_check "engine ready" wait_cmd 5 grep -q "ready:" "$TMP/eng.log"
t_check "loaderd up" wait_cmd 5 test -S "$RUN/loader.sock"

# ---- trace during a transfer peer -> engine ----------------------------------------------
ns_bg eng "$BIN/flextoe-bulk" --listen $PORT --recv >"$TMP/bulk.out" 2>&1
t_check "flextoe-bulk listens" wait_cmd 5 grep -q listening "$TMP/bulk.out"
# ip netns exec execs tcpdump: $! is tcpdump itself (SIGINT makes it write out and exit)
ip netns exec "$(ns_name peer)" tcpdump -i veth1 -n -U -w "$TMP/peer.pcap" tcp port $PORT 2>"$TMP/tcpdump.err" &
BG+=($!); TCPDUMP=$!
t_check "tcpdump on the peer's veth runs" wait_cmd 5 grep -q "listening on" "$TMP/tcpdump.err"
"$BPF" trace port $PORT --format json -w "$TMP/t.pcap" >"$TMP/trace.json" 2>"$TMP/trace.err" &
BG+=($!); TRACE=$!
t_check "trace attached at rx-post and tx-post" wait_cmd 5 grep -q "tracing at rx-post" "$TMP/trace.err"
t_check "list shows the two tcp_trace programs, owned by the trace process" \
	sh -c "'$BPF' list --json | python3 -c 'import json,sys; p=[p for h in json.load(sys.stdin) for p in h[\"progs\"]]; sys.exit(0 if len(p)==2 and all(x.get(\"owner_pid\")==$TRACE for x in p) else 1)'"
cat >"$TMP/send.py" <<'PY'
import os, socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
s.sendall(os.urandom(int(sys.argv[3])))
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
PY
t_check "peer sends $BYTES bytes to the engine" ns_exec peer timeout 60 python3 "$TMP/send.py" $ENG_IP $PORT $BYTES
t_check "flextoe-bulk received them" wait_cmd 10 grep -q "bytes=$BYTES " "$TMP/bulk.out"
# ... and engine -> peer (same port, on the peer), so the engine's tx-post sees data segments.
ns_bg peer python3 tests/tools/traffic/bulk_peer.py recv $PEER_IP $PORT >"$TMP/peer_recv.out" 2>&1
wait_cmd 5 grep -q listening "$TMP/peer_recv.out"
ns_bg eng "$BIN/flextoe-bulk" --connect $PEER_IP:$PORT --send $BYTES >"$TMP/bulk_send.out" 2>&1
t_check "the peer received $BYTES bytes from the engine" wait_cmd 20 grep -q "bytes=$BYTES " "$TMP/peer_recv.out"
sleep 0.5
kill -INT $TRACE
t_check "trace exits 0 on SIGINT" wait $TRACE
kill -INT $TCPDUMP; wait $TCPDUMP 2>/dev/null
t_check "trace detached on SIGINT: list shows no programs" no_progs
grep -v '^{' "$TMP/trace.json" | head -3 >&2

cat >"$TMP/check.py" <<'PY'
import json, subprocess, sys
trace, peer_pcap, peer_ip, what = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
KEYS = {"time", "saddr", "sport", "daddr", "dport", "dir", "seq", "ack", "len", "flags", "win",
        "snd_una", "snd_nxt", "srtt_us", "retransmit", "ooo"}
recs = [json.loads(l) for l in open(trace) if l.strip()]
if what == "keys":
    bad = [sorted(r) for r in recs if set(r) - {"cwnd", "rate"} != KEYS or len(r) != len(KEYS) + 1]
    print("records=%d bad=%d" % (len(recs), len(bad)))
    sys.exit(0 if recs and not bad else 1)
if what == "tx":
    n = sum(1 for r in recs if r["dir"] == "tx")
    print("tx records=%d" % n)
    sys.exit(0 if n else 1)
if what == "txstate":
    # tx-post carries the flow's TCP snapshot (docs/design.md section 4): a data
    # segment leaves snd_nxt at its end (RFC 9293 3.4: FIN counts one) with
    # snd_una at or before its start; a pure ACK carries seq == snd_nxt.
    M = 1 << 32
    le = lambda a, b: (b - a) % M < M // 2
    tx = [r for r in recs if r["dir"] == "tx"]
    data = [r for r in tx if r["len"] > 0]
    acks = [r for r in tx if r["len"] == 0 and r["flags"] == "."]
    bad_data = [r for r in data if r["snd_nxt"] != (r["seq"] + r["len"] + ("F" in r["flags"])) % M
                or not le(r["snd_una"], r["seq"])]
    bad_acks = [r for r in acks if r["snd_nxt"] != r["seq"] or not le(r["snd_una"], r["snd_nxt"])]
    cc = sum(1 for r in data if r.get("cwnd", r.get("rate", 0)) > 0)
    rtt = sum(1 for r in tx if r["srtt_us"] > 0)
    print("tx data=%d (bad %d, cwnd/rate>0 %d) pure acks=%d (bad %d) srtt>0=%d"
          % (len(data), len(bad_data), cc, len(acks), len(bad_acks), rtt))
    for r in (bad_data + bad_acks)[:3]:
        print("  bad:", r)
    sys.exit(0 if data and acks and not bad_data and not bad_acks and cc == len(data) and rtt else 1)
if what == "seqs":
    out = subprocess.run(["tshark", "-r", peer_pcap, "-n", "-Y", "ip.src==%s && tcp.len>0" % peer_ip,
                          "-T", "fields", "-e", "tcp.seq_raw"], capture_output=True, text=True, check=True)
    sent = {int(x) for x in out.stdout.split()}
    rx = {r["seq"] for r in recs if r["dir"] == "rx" and r["len"] > 0}
    # both ways: the trace lists every data segment that arrived (the veth
    # loses nothing, so all the peer sent), and nothing the peer did not send
    unsent = rx - sent
    untraced = sent - rx
    print("peer sent %d data segments, trace saw %d rx data seqs, %d not sent by the peer, "
          "%d sent but not in the trace" % (len(sent), len(rx), len(unsent), len(untraced)))
    sys.exit(0 if rx and sent and not unsent and not untraced else 1)
PY
t_check "JSON records carry exactly the documented keys" python3 "$TMP/check.py" "$TMP/trace.json" - - keys
t_check "the trace's rx data seqs are exactly those the peer sent (peer tcpdump)" \
	python3 "$TMP/check.py" "$TMP/trace.json" "$TMP/peer.pcap" $PEER_IP seqs
t_check "tx records exist" python3 "$TMP/check.py" "$TMP/trace.json" - - tx
t_check "tx records carry the flow's TCP state (snd_nxt == seq+len, snd_una <= seq, cwnd, srtt)" \
	python3 "$TMP/check.py" "$TMP/trace.json" - - txstate
NREC=$(grep -c '^{' "$TMP/trace.json")
# (tshark warns about running as root on stderr; errors about the file are what count)
tshark_clean() {	# tshark_clean PCAP N: tshark reads N packets and reports no problem with the file
	tshark -r "$1" -n >"$TMP/tshark.out" 2>"$TMP/tshark.err" &&
		! grep -Eqi "appears|damaged|corrupt|cut short|error" "$TMP/tshark.err" &&
		[[ $(wc -l <"$TMP/tshark.out") -eq $2 ]]
}
t_check "tshark reads the trace pcap without errors ($NREC records)" \
	tshark_clean "$TMP/t.pcap" $NREC
t_check "tcpdump -r reads the trace pcap (TCP on port $PORT)" \
	sh -c "[ \$(tcpdump -r '$TMP/t.pcap' -n 'tcp port $PORT' 2>/dev/null | wc -l) -eq $NREC ]"

# ---- text format, --count, filter through trace_cfg ----------------------------------------
ns_bg eng "$BIN/flextoe-bulk" --listen $PORT --recv >"$TMP/bulk2.out" 2>&1
wait_cmd 5 grep -q listening "$TMP/bulk2.out"
# --duration: a safety net so a broken --count cannot hang the test
"$BPF" trace host $PEER_IP and port $PORT --count 5 --duration 20 >"$TMP/trace.txt" 2>"$TMP/trace2.err" &
BG+=($!); TRACE=$!
wait_cmd 5 grep -q "tracing at" "$TMP/trace2.err"
ns_exec peer timeout 30 python3 "$TMP/send.py" $ENG_IP $PORT 20000 >/dev/null 2>&1
t_check "--count 5: trace stops by itself after 5 records" wait $TRACE
t_check "text output: 5 lines naming the flow" \
	sh -c "[ \$(grep -c '$PEER_IP\\.[0-9]* > $ENG_IP\\.$PORT\\|$ENG_IP\\.$PORT > $PEER_IP' '$TMP/trace.txt') -eq 5 ]"
t_check "--count: programs detached" wait_cmd 3 no_progs
t_check "--duration 1 stops after a second" expect 0 "programs detached" timeout 10 "$BPF" trace --duration 1
t_check "bad filter: usage error" expect 2 "unknown filter term" "$BPF" trace prot 7

# ---- text output and --duration around one short echo exchange (the README demo's step) ---
# A Linux client's exchange with flextoe-echo during `trace port 7 --duration S`: its lines
# must show the data both ways and the client's FIN.  Twice more with what a loaded machine
# does to the trace, simulated with SIGSTOP: loads that take longer than --duration (the
# window must start at the attach), and a trace process that is not running when --duration
# ends (what the programs emitted since its last read must still be printed).
ECHO_PORT=7
ns_bg eng "$BIN/flextoe-echo" --port $ECHO_PORT >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens" wait_cmd 5 grep -q listening "$TMP/echo.out"
cat >"$TMP/echo.py" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
port = s.getsockname()[1]
msg = b"traced exchange from port %d" % port
s.sendall(msg)
got = b""
while len(got) < len(msg):
    b = s.recv(100)
    if not b:
        break
    got += b
s.close()
print(port, len(msg))
sys.exit(0 if got == msg else 1)
PY
ECHO=()
echo_once() {	# one exchange; ECHO=(client port, message length)
	local out
	out=$(ns_exec peer timeout 20 python3 "$TMP/echo.py" $ENG_IP $ECHO_PORT) || return 1
	read -ra ECHO <<<"$out"
}
echo_traced() {	# echo_traced FILE: FILE's text lines show the exchange in ECHO
	awk -v c="$PEER_IP.${ECHO[0]}" -v e="$ENG_IP.$ECHO_PORT" -v n="${ECHO[1]}" '
		$2 == "rx" && $3 == c && $5 == e && $12 == n { rx++ }
		$2 == "tx" && $3 == e && $5 == c && $12 == n { tx++ }
		$2 == "rx" && $3 == c && $5 == e && $6 ~ /F/ { fin++ }
		END { printf "  %s: rx data %d, tx data %d, rx FIN %d of client port %s\n",
			FILENAME, rx, tx, fin, c; exit !(rx && tx && fin) }' "$1" >&2
}
loaderd_pid() {
	local p
	for p in $(ip netns pids "$(ns_name eng)"); do
		[[ $(cat /proc/$p/comm 2>/dev/null) == flextoe-loaderd ]] && echo "$p"
	done
}

"$BPF" trace port $ECHO_PORT --duration 3 >"$TMP/te1.txt" 2>"$TMP/te1.err" &
BG+=($!); TRACE=$!
t_check "text trace --duration 3: attached" wait_cmd 10 grep -q "tracing at rx-post" "$TMP/te1.err"
t_check "echo exchange during the trace" echo_once
t_check "text trace --duration 3: exits 0 by itself" wait $TRACE
t_check "text trace --duration 3 prints the echo exchange (data both ways, FIN)" \
	echo_traced "$TMP/te1.txt"

LDR=$(loaderd_pid)
kill -STOP $LDR
"$BPF" trace port $ECHO_PORT --duration 3 >"$TMP/te2.txt" 2>"$TMP/te2.err" &
BG+=($!); TRACE=$!
sleep 4		# longer than --duration: the loads wait for loaderd all that time
kill -CONT $LDR
t_check "slow attach (simulated, loaderd stopped 4 s): the trace attaches" \
	wait_cmd 20 grep -q "tracing at rx-post" "$TMP/te2.err"
t_check "echo exchange after the slow attach" echo_once
t_check "slow attach (simulated): trace exits 0 by itself" wait $TRACE
t_check "slow attach (simulated): --duration 3 counts from the attach, the exchange is printed" \
	echo_traced "$TMP/te2.txt"

"$BPF" trace port $ECHO_PORT --duration 2 >"$TMP/te3.txt" 2>"$TMP/te3.err" &
BG+=($!); TRACE=$!
t_check "stopped reader: trace --duration 2 attached" \
	wait_cmd 10 grep -q "tracing at rx-post" "$TMP/te3.err"
kill -STOP $TRACE
sleep 1		# its ring_read in flight (at most 500 ms in the engine) comes back empty
t_check "echo exchange while the trace process is stopped" echo_once
sleep 2		# --duration ends while it is stopped
kill -CONT $TRACE
t_check "stopped reader (simulated, SIGSTOP past --duration): trace exits 0" wait $TRACE
t_check "stopped reader (simulated): the records still in the ring are printed before detaching" \
	echo_traced "$TMP/te3.txt"
t_check "echo traces: programs detached" wait_cmd 3 no_progs

# ---- a trace process that dies: the engine unloads its programs --------------------------
"$BPF" trace >/dev/null 2>"$TMP/trace3.err" &
TRACE=$!
wait_cmd 5 grep -q "tracing at" "$TMP/trace3.err"
t_check "a running trace has 2 programs" test "$(nprogs)" = 2
kill -9 $TRACE; wait $TRACE 2>/dev/null
t_check "kill -9 of trace: the engine unloads its programs" wait_cmd 5 no_progs
t_check "the engine logged why" grep -q "trace session (pid $TRACE) exited" "$TMP/eng.log"

# ---- permissions --------------------------------------------------------------------------
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
t_check "non-root trace: permission denied" expect 1 "permission denied" nobody "$BPF" trace --duration 1 --obj "$PWD/$BUILD/xdp-progs/tcp_trace.bpf.o"
t_check "non-root ring_read is refused too" \
	sh -c "python3 - '$RUN/loader.sock' <<'PY' | grep -q 'read ring buffers'
import json, socket, struct, sys, os
os.setgid(65534); os.setuid(65534)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
m = json.dumps({'op': 'ring_read', 'rings': [{'id': 1, 'map': 'trace_events'}]}).encode()
s.sendall(struct.pack('=I', len(m)) + m)
n = struct.unpack('=I', s.recv(4))[0]; b = b''
while len(b) < n: b += s.recv(n - len(b))
print(json.loads(b)['error'])
PY"

# ---- capture --------------------------------------------------------------------------------
"$BPF" capture --hook rx-pre -w "$TMP/c.pcap" -s 64 --count 10 2>"$TMP/cap.err" &
BG+=($!); CAP=$!
wait_cmd 5 grep -q "capturing at" "$TMP/cap.err"
ns_exec peer ping -q -c 30 -i 0.05 -W1 $ENG_IP >/dev/null 2>&1
t_check "capture --count 10 ends by itself" wait $CAP
t_check "capture's pcap has 10 frames (tcpdump -r)" \
	sh -c "[ \$(tcpdump -r '$TMP/c.pcap' -n 2>/dev/null | wc -l) -eq 10 ]"
cap_frames_ok() {	# every frame 42..64 bytes captured, at least one echo request from the peer
	tshark -r "$TMP/c.pcap" -n -T fields -e frame.cap_len -e ip.src -e icmp.type 2>/dev/null |
		awk -v peer=$PEER_IP '$1 > 64 || $1 < 42 {bad++} $2 == peer && $3 == 8 {req++}
			END {exit !(req >= 1 && !bad)}'
}
t_check "capture's pcap: ICMP echo requests from the peer, snaplen 64 (tshark)" cap_frames_ok
t_check "capture detached" wait_cmd 3 no_progs
t_check "capture without -w: usage error" expect 2 "-w FILE.pcap is required" "$BPF" capture --hook rx-pre

t_summary
