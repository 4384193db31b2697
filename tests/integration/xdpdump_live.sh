#!/usr/bin/env bash
# xdpdump_live.sh - xdp-tools' own xdpdump program (Debian's xdpdump_xdp.o) captures a live connection at the engine's rx-pre: flextoe-bpf capture --xdpdump reads its perf event array through the engine's control socket while the engine runs, writes pcap as the frames come, and tshark reads the connection back.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
XDPDUMP=${XDPFILT_DIR:-/usr/lib/x86_64-linux-gnu/bpf}/xdpdump_xdp.o
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BPF" "$BIN/flextoe-loaderd" "$XDPDUMP"
need_tools tshark python3

ns_init
NS_PREFIX="ftoe-compat3-$BASHPID"
TMP=$(mktemp -d /tmp/ftoe-xdpdump.XXXXXX)
BG=()
trap 'for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done; ns_cleanup; rm -rf "$TMP"' EXIT

ENG_IP=10.85.0.5
PEER_IP=10.85.0.2
PORT=7500
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

ns_add eng && ns_add peer
ns_link eng veth0 10.85.0.1/24 peer veth1 $PEER_IP/24
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
t_check "engine ready" wait_cmd 5 grep -q "ready:" "$TMP/eng.log"
t_check "loaderd up" wait_cmd 5 test -S "$RUN/loader.sock"
ns_bg eng "$BIN/flextoe-echo" --port $PORT >"$TMP/echo.out" 2>&1

"$BPF" capture --hook rx-pre --xdpdump --obj "$XDPDUMP" -w "$TMP/live.pcap" --duration 6 \
	2>"$TMP/capture.err" &
BG+=($!); CAP=$!
t_check "capture attached xdpdump's program at rx-pre" \
	wait_cmd 5 grep -q "capturing at rx-pre (program [0-9]*, xdpdump's)" "$TMP/capture.err"
t_check "list shows it" sh -c "'$BPF' list 2>/dev/null | grep -q xdpdump"

# A connection with three exchanges, spread out so the capture streams.
t_check "the peer talks to flextoe-echo" ns_exec peer timeout 10 python3 -c "
import socket, sys, time
s = socket.create_connection(('$ENG_IP', $PORT), timeout=5)
for i in range(3):
    m = b'xdpdump live %d' % i
    s.sendall(m)
    got = b''
    while len(got) < len(m):
        got += s.recv(64)
    if got != m: sys.exit(1)
    time.sleep(0.3)
s.close()"
# Frames are in the file before the capture ends: it streams.
t_check "the pcap grows while the capture runs" wait_cmd 3 sh -c \
	"tshark -r '$TMP/live.pcap' -Y 'tcp.len > 0' 2>/dev/null | grep -q ."
t_check "capture is still running then" kill -0 $CAP
wait $CAP
cat "$TMP/capture.err" >&2
t_check "capture ended cleanly with nothing lost" grep -q "frames written to .*, 0 lost; program detached" \
	"$TMP/capture.err"

tshark -r "$TMP/live.pcap" -T fields -e ip.src -e ip.dst -e tcp.dstport -e tcp.flags -e tcp.payload \
	>"$TMP/live.txt" 2>/dev/null
cat "$TMP/live.txt" >&2
t_check "tshark reads the peer's SYN to the engine" \
	grep -qP "^$PEER_IP\t$ENG_IP\t$PORT\t0x0*2\t" "$TMP/live.txt"
for i in 0 1 2; do
	hex=$(printf 'xdpdump live %d' $i | od -An -tx1 | tr -d ' \n')
	t_check "tshark reads payload $i" grep -q "$hex" "$TMP/live.txt"
done
t_check "tshark reads the peer's FIN" grep -qP "^$PEER_IP\t$ENG_IP\t$PORT\t0x0*11\t" "$TMP/live.txt"
t_check "the engine unloaded the program" sh -c "! '$BPF' list 2>/dev/null | grep -q xdpdump"

t_summary
