#!/usr/bin/env bash
# xsk.sh - libxdp's own xsk_def_xdp_prog (Debian's object) at the engine's rx-pre redirects a Linux peer's frames into an XSKMAP slot that holds an application's raw-frame socket; the application reads them back byte for byte, the counters agree, and a full ring, a closed context, a bad index, a wrong map end with clear errors.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
READER=$PWD/$BUILD/tests/tools/xsk-reader
XSKPROG=${XDPFILT_DIR:-/usr/lib/x86_64-linux-gnu/bpf}/xsk_def_xdp_prog.o
need_files "$BIN/flextoe" "$BPF" "$BIN/flextoe-loaderd" "$BIN/flextoe-stat" "$READER" "$XSKPROG"
need_tools python3

test_init xsk
NS_PREFIX="ftoe-xsk-$BASHPID"
eng_peer 10.86.0
# XSK_ENGINE_ARGS: more engine options (e.g. --workers 2: receive threads share a socket)
engine_start eng $ENG_IP/24 ${XSK_ENGINE_ARGS:-} || { t_fail "engine started"; t_summary; exit 1; }
t_check "engine sockets" engine_sockets
ENG_MAC=$(ip netns exec "$(ns_name eng)" cat /sys/class/net/veth0/address)

# send TAG N [LEN]: the peer puts N TCP frames for the engine's address
# (port 9999, payload "TAG i" padded to LEN) on the wire through a packet
# socket; the frames' hex goes to $TMP/TAG.sent, one a line.
send() {
	ns_exec peer python3 - "$1" "$2" "${3:-64}" "$ENG_MAC" "$PEER_IP" "$ENG_IP" \
		>"$TMP/$1.sent" <<'EOF'
import socket, struct, sys
tag, n, plen, dmac, src, dst = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:7]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("veth1", 0))
smac = s.getsockname()[4]
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
for i in range(n):
    pay = (b"%s %d " % (tag.encode(), i)).ljust(plen, b".")
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", 40000 + i, 9999, 1000 + i, 0, 5 << 4, 0x18, 65535, 0, 0) + pay
    tcp = tcp[:16] + struct.pack("!H", csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0, 64, 6, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    f = bytes.fromhex(dmac.replace(":", "")) + smac + b"\x08\x00" + ip + tcp
    s.send(f)
    print(f.hex())
EOF
}
redirects() {
	ns_exec eng "$BIN/flextoe-stat" counters --direct -a -z -s |
		awk '$1 == "XskQ0RxHookRedirect" { print $2 }'
}
# got FILE: the frames the reader printed, hex only, one a line
got() { awk '$1 == "frame" { print $3 }' "$1"; }

# ---- errors before and around the program ---------------------------------
ns_exec eng "$READER" --map xsks_map --idle-ms 0 >"$TMP/nomap.out" 2>&1
t_check "no program at rx-pre: the map update says ENOENT" \
	grep -q "map xsks_map error -2 " "$TMP/nomap.out"
ns_exec eng "$BPF" load "$XSKPROG" --hook rx-pre >"$TMP/load.out" 2>&1
t_check "xsk_def_xdp_prog loads at rx-pre" grep -q "[0-9]" "$TMP/load.out"
ns_exec eng "$BPF" map list >"$TMP/maps.out" 2>&1
t_check "its xsks_map is an xskmap" grep -q "xsks_map.*xskmap" "$TMP/maps.out"
other=$(awk '$0 !~ /xsks_map/ && /array/ { for (i = 1; i <= NF; i++) if ($i ~ /\.(data|bss|rodata)$/) { print $i; exit } }' "$TMP/maps.out")
ns_exec eng "$READER" --map xsks_map --queue 100000 --idle-ms 0 >"$TMP/badidx.out" 2>&1
t_check "a queue past the map's entries: E2BIG" grep -q "map xsks_map error -7 " "$TMP/badidx.out"
if [[ -n $other ]]; then
	ns_exec eng "$READER" --map "$other" --idle-ms 0 >"$TMP/wrong.out" 2>&1
	t_check "a map that is no xskmap ($other): EINVAL" grep -q "error -22 " "$TMP/wrong.out"
fi
ns_exec eng "$READER" --entries 3 --idle-ms 0 >"$TMP/badsize.out" 2>&1
t_check "a ring size that is no power of two: EINVAL" grep -q "open error -22 " "$TMP/badsize.out"
t_check "nothing redirected yet" test "$(redirects)" = 0

# ---- frames through a slot that flextoe-bpf map update filled --------------
ns_bg eng "$READER" --count 20 --idle-ms 5000 --hold "$TMP/go1" >"$TMP/r1.out" 2>&1
t_check "reader 1 open" wait_for "$TMP/r1.out" "open id" 5
id=$(awk '/^open id/ { print $3 }' "$TMP/r1.out")
val=$(printf '%08x' "$id" | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/')
t_check "flextoe-bpf map update puts socket $id into slot 0" \
	ns_exec eng "$BPF" map update xsks_map 00000000 "$val"
touch "$TMP/go1"
send r1 20 >/dev/null
t_check "reader 1 read 20 frames" wait_for "$TMP/r1.out" "^stats" 10
t_check "byte for byte what the peer sent" diff <(got "$TMP/r1.out") "$TMP/r1.sent"
t_check "its ring counted 20, dropped none" grep -q "stats frames 20 dropped 0 too_big 0 read 20" "$TMP/r1.out"
t_check "the engine counted 20 redirects" test "$(redirects)" = 20
t_check "a closed socket's id cannot go into a slot (EBADF)" \
	sh -c "! ip netns exec $(ns_name eng) '$BPF' map update xsks_map 00000000 '$val' 2>'$TMP/stale.err'"
grep -q "Bad file descriptor" "$TMP/stale.err" || cat "$TMP/stale.err" >&2
t_check "  ... and the error names the cause" grep -q "Bad file descriptor" "$TMP/stale.err"
send closed 3 >/dev/null
sleep 0.3
t_check "frames after the close go to the engine (fallback XDP_PASS), not counted as redirects" \
	test "$(redirects)" = 20

# ---- a full ring: the library's update, 4 slots, 10 frames -----------------
ns_bg eng "$READER" --map xsks_map --entries 4 --idle-ms 300 --hold "$TMP/go2" >"$TMP/r2.out" 2>&1
t_check "reader 2 put itself into the map" wait_for "$TMP/r2.out" "map xsks_map ok" 5
send r2 10 >/dev/null
sleep 0.3
touch "$TMP/go2"
t_check "reader 2 done" wait_for "$TMP/r2.out" "^stats" 10
t_check "4 frames read, 6 dropped as the ring was full" \
	grep -q "stats frames 4 dropped 6 too_big 0 read 4" "$TMP/r2.out"
t_check "the first 4 byte for byte" diff <(got "$TMP/r2.out") <(head -4 "$TMP/r2.sent")
t_check "the engine counted 10 more redirects (= frames + dropped)" test "$(redirects)" = 30

# ---- a context that dies with frames in flight ------------------------------
ns_exec eng "$READER" --map xsks_map --entries 8 --hold "$TMP/never" >"$TMP/r3.out" 2>&1 &
R3=$!
NS_PIDS+=($R3)
t_check "reader 3 put itself into the map" wait_for "$TMP/r3.out" "map xsks_map ok" 5
send r3a 5 >/dev/null
pkill -9 -P $R3 -x xsk-reader 2>/dev/null || kill -9 $R3
wait $R3 2>/dev/null
send r3b 5 >/dev/null
sleep 0.3
t_check "the engine survived the killed context" ns_exec eng "$BPF" list
t_check "only the 5 frames before the kill were redirected" test "$(redirects)" = 35
t_check "no warning about redirect targets" sh -c "! grep -q 'no redirect targets' '$TMP/eng.log'"

t_summary
