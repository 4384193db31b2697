#!/usr/bin/env bash
# devmap.sh - redirect targets in a running engine: an rx-pre program (tests/progs/ld_devmap_tx) sends a Linux peer's TCP segments back out of the engine's interface through DEVMAP and DEVMAP_HASH slots (one slot, broadcast, broadcast excluding the ingress device) and bpf_redirect, and the peer's packet socket receives them byte for byte (MACs, addresses, ports swapped); a CPUMAP slot hands ICMP echo requests to the engine, which answers the ping; the per-queue counters agree; slots naming another device or carrying a program are refused with the cause named.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
OBJ=$PWD/$BUILD/tests/progs/ld_devmap_tx.bpf.o
need_files "$BIN/flextoe" "$BPF" "$BIN/flextoe-loaderd" "$BIN/flextoe-stat" "$OBJ"
need_tools python3 ping

test_init devmap
NS_PREFIX="ftoe-devmap-$BASHPID"
eng_peer 10.87.0 -w
# DEVMAP_ENGINE_ARGS: more engine options (e.g. --workers 2)
engine_start eng "$ENG_IP/24" ${DEVMAP_ENGINE_ARGS:-} || { t_fail "engine started"; t_summary; exit 1; }
t_check "engine sockets" engine_sockets
IFX=$(ns_exec eng cat /sys/class/net/veth0/ifindex)
ENG_MAC=$(ns_exec eng cat /sys/class/net/veth0/address)

# hexle N: a u32 as the map's bytes (little endian)
hexle() { printf '%08x' "$1" | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/'; }
# counter NAME: one of flextoe-stat's counters (absolute)
counter() {
	ns_exec eng "$BIN/flextoe-stat" counters --direct -a -z -s | awk -v k="$1" '$1 == k { print $2 }'
}
# redirects: "REDIRECTS/SENT" of queue 0
redirects() { echo "$(counter XskQ0RxHookRedirect)/$(counter XskQ0RxHookRedirectTx)"; }

# reflect PORT N: the peer puts N TCP segments for the engine's PORT on
# the wire through a packet socket (RST|ACK, so that neither its kernel
# nor the engine answers one; payload "devmap PORT i"), and prints how
# many came back to it exactly as the program makes them: MACs, addresses
# and ports swapped, every other byte the same (0.5 s after the last
# frame, or 3 s in all).
reflect() {
	ns_exec peer timeout 6 python3 - "$PEER_IP" "$ENG_IP" "$ENG_MAC" "$1" "$2" <<'EOF'
import socket, struct, sys, time
src, dst, dmac, port, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind(("veth1", 0x0800))
smac = s.getsockname()[4]
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
sa, da = socket.inet_aton(src), socket.inet_aton(dst)
emac = bytes.fromhex(dmac.replace(":", ""))
want = set()
for i in range(n):
    pay = b"devmap %d %d" % (port, i)
    tcp = struct.pack("!HHIIBBHHH", 41000 + i, port, 1000 + i, 1, 5 << 4, 0x14, 0, 0, 0) + pay
    tcp = tcp[:16] + struct.pack("!H", csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0, 64, 6, 0, sa, da)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    s.send(emac + smac + b"\x08\x00" + ip + tcp)
    want.add(smac + emac + b"\x08\x00" + ip[:12] + da + sa + tcp[2:4] + tcp[0:2] + tcp[4:])
got, end = 0, time.time() + 3
s.settimeout(0.5)
while time.time() < end:
    try:
        f, a = s.recvfrom(4096)
    except socket.timeout:
        break
    if a[2] != socket.PACKET_OUTGOING and f in want:
        got += 1
print(got)
EOF
}

id=$("$BPF" load "$OBJ" --hook rx-pre 2>"$TMP/load.err")
t_check "ld_devmap_tx loads at rx-pre (id ${id:-none})" test -n "$id"
cat "$TMP/load.err" >&2

# ---- refusals ------------------------------------------------------------------------
refused() {	# refused PATTERN MAP KEY VALUE: the update fails and the error says PATTERN
	if "$BPF" map update "$id:$2" "$3" "$4" 2>"$TMP/upd.err"; then
		echo "the update of $2 succeeded" >&2
		return 1
	fi
	grep -q "$1" "$TMP/upd.err" || { cat "$TMP/upd.err" >&2; return 1; }
}
t_check "a devmap slot naming lo (another device) is refused: not the engine's interface" \
	refused "ifindex 1 is not the engine's interface veth0 (ifindex $IFX)" tx_port 00000000 \
	"$(hexle 1)00000000"
t_check "a devmap_hash slot naming lo too" \
	refused "not the engine's interface" tx_hash "$(hexle 1)" "$(hexle 1)"
t_check "an ifindex that is no device: EINVAL, as in the kernel" \
	refused "Invalid argument" tx_port 00000000 "$(hexle 999)00000000"
t_check "a devmap value with a program is refused, naming bpf_devmap_val" \
	refused "bpf_devmap_val" tx_port 00000000 "$(hexle "$IFX")$(hexle 3)"
t_check "a cpumap value with a program is refused, naming bpf_cpumap_val" \
	refused "bpf_cpumap_val" cpus 00000000 "$(hexle 64)$(hexle 3)"

# ---- empty slots: the fallback actions ---------------------------------------------
t_check "empty devmap slot: nothing comes back (fallback XDP_PASS)" test "$(reflect 8080 3)" = 0
t_check "  ... and nothing was redirected" test "$(redirects)" = 0/0
t_check "empty cpumap slot: the ping is dropped (fallback XDP_DROP)" \
	sh -c "! ip netns exec $(ns_name peer) ping -c 1 -W 1 -q $ENG_IP >/dev/null"

# ---- devmap slots naming the engine's interface ----------------------------------------
t_check "slot 0 of tx_port takes the engine's ifindex $IFX (struct bpf_devmap_val)" \
	"$BPF" map update "$id:tx_port" 00000000 "$(hexle "$IFX")00000000"
t_check "10 segments to port 8080 come back to the peer" test "$(reflect 8080 10)" = 10
t_check "  ... counted: 10 redirects, 10 sent" test "$(redirects)" = 10/10
"$BPF" map update "$id:tx_port" 02000000 "$(hexle "$IFX")00000000" >&2
t_check "broadcast over 2 full slots: 5 segments come back twice" test "$(reflect 8081 5)" = 10
t_check "  ... counted: 5 redirects, 10 copies sent" test "$(redirects)" = 15/20
t_check "broadcast excluding the ingress device: nothing comes back" test "$(reflect 5000 5)" = 0
t_check "  ... counted: 5 redirects, none sent" test "$(redirects)" = 20/20
t_check "devmap_hash keyed by the ingress ifindex, empty: nothing comes back" \
	test "$(reflect 1234 2)" = 0
t_check "devmap_hash slot $IFX takes the engine's ifindex" \
	"$BPF" map update "$id:tx_hash" "$(hexle "$IFX")" "$(hexle "$IFX")"
t_check "  ... then 4 segments to port 1234 come back" test "$(reflect 1234 4)" = 4
t_check "bpf_redirect to the ingress ifindex: 4 segments to port 33000 come back" \
	test "$(reflect 33000 4)" = 4
t_check "  ... counted: 28 redirects, 28 sent" test "$(redirects)" = 28/28
t_check "the hook counted every redirect verdict" test "$(counter HookRxPreRedirect)" = 28
t_check "3 segments grown past the MTU (port 8082, 1,500 bytes more) do not come back" \
	test "$(reflect 8082 3)" = 0
t_check "  ... counted: 3 more redirects, none sent, 3 over the MTU" \
	test "$(redirects)/$(counter XskQ0RxHookRedirectTooBig)" = 31/28/3

# ---- cpumap: the engine's own path ---------------------------------------------------------
t_check "cpumap slot 0 takes a queue size" "$BPF" map update "$id:cpus" 00000000 "$(hexle 64)00000000"
t_check "the engine answers 3 pings redirected through it" \
	sh -c "ip netns exec $(ns_name peer) ping -c 3 -i 0.2 -W 2 -q $ENG_IP >&2"
t_check "  ... counted: 3 redirects to the engine" test "$(counter XskQ0RxHookRedirectCpu)" = 3
t_check "no warning about unreachable devices" \
	sh -c "! grep -q 'no redirect targets' '$TMP/eng.log'"

t_summary
