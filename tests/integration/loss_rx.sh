#!/usr/bin/env bash
# loss_rx.sh - the engine as the receiver of a lossy Linux transfer (issue 12, docs/loss.md): 64 MiB
# Linux -> engine through the impair relay (2% loss, 2% dup, 0.5% corrupt, 1 +- 0.8 ms) arrive
# byte-exact, the engine's SACK blocks match the data it received (pcap), and with 25% reordering
# and no loss Linux's transfer completes (its retransmissions are counted and reported); each
# time is printed next to Linux -> Linux through the same relay.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/impair.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
export FTOE_BUILD=$BUILD
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
# LOSS_RX_BYTES, LOSS_RX_REORDER_BYTES: sizes; LOSS_RX_SEED: replay one
# fault pattern; LOSS_RX_NET "10.N": the subnet; LOSS_RX_ENGINE_ARGS: more
# engine options (e.g. --ooo-intervals 1).
BYTES=${LOSS_RX_BYTES:-$((64 << 20))}
REORDER_BYTES=${LOSS_RX_REORDER_BYTES:-$((64 << 20))}
NET=${LOSS_RX_NET:-10.86}
SEED=${LOSS_RX_SEED:-$(( (RANDOM << 15) | RANDOM ))}
PROFILE=(--loss 2 --dup 2 --corrupt 0.5 --delay 1 --jitter 0.8)
REORDER=(--reorder 25 --delay 1)
need_files "$BIN/flextoe" "$BIN/flextoe-bulk" "$BUILD/tests/tools/impair"
need_tools python3 tcpdump nstat

ns_init
TMP=$(mktemp -d /tmp/ftoe-loss-rx.XXXXXX)
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
ENG_IP=$NET.0.5      # the engine's
KERN_IP=$NET.0.1     # the kernel's, on the same veth: the Linux -> Linux reference
PEER_IP=$NET.0.2
PEER=tests/tools/traffic/bulk_peer.py

# link_up NAME OPTIONS...: hosts eng-NAME and peer-NAME across a relay
link_up() {
	local n=$1; shift
	ns_add "eng$n" && ns_add "peer$n" &&
		impair_link "eng$n" veth0 $KERN_IP/24 "peer$n" veth1 $PEER_IP/24 "$@" --seed "$SEED"
}

# linux_ref N PORT BYTES: Linux -> Linux over link N; prints the seconds
linux_ref() {
	local n=$1 port=$2 bytes=$3 out=$TMP/ref$1
	ns_bg "eng$n" python3 $PEER recv $KERN_IP "$port" >"$out.rcv" 2>&1
	wait_for "$out.rcv" listening >/dev/null || return 1
	ns_exec "peer$n" timeout 120 python3 $PEER send $KERN_IP "$port" "$bytes" >"$out.snd" 2>&1
	wait_for "$out.rcv" "^bytes=" 10 >/dev/null || return 1
	same_bytes "$out.rcv" "$out.snd" "$bytes" || return 1
	sed -n 's/.* secs=\([0-9.]*\).*/\1/p' "$out.snd"
}

# same_bytes A B BYTES: both ends report BYTES bytes and the same SHA-256
same_bytes() {
	local a b
	a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$1")
	b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$2")
	[[ -n $a && $a == "$b" && $a == "bytes=$3 "* ]] || {
		echo "receiver: ${a:-$(tail -n3 "$1")}; sender: ${b:-$(tail -n3 "$2")}" >&2
		return 1
	}
}

# to_engine N PORT BYTES TAG: Linux -> engine over link N (engine running);
# the sender's seconds in $TMP/TAG.secs
to_engine() {
	local n=$1 port=$2 bytes=$3 out=$TMP/$4
	ns_bg "eng$n" "$BIN/flextoe-bulk" --listen "$port" --recv >"$out.rcv" 2>&1
	wait_for "$out.rcv" listening >/dev/null || return 1
	ns_exec "peer$n" timeout 150 python3 $PEER send $ENG_IP "$port" "$bytes" >"$out.snd" 2>&1
	wait_for "$out.rcv" "^bytes=" 10 >/dev/null || return 1
	sed -n 's/.* secs=\([0-9.]*\).*/\1/p' "$out.snd" >"$out.secs"
	same_bytes "$out.rcv" "$out.snd" "$bytes"
}

# snap N FILE: the Linux sender's TCP counters; counters_since N FILE: what
# moved since then, among those that tell how it recovered
snap() { ip netns exec "$(ns_name "peer$1")" nstat -asz >"$2"; }
counters_since() {
	ip netns exec "$(ns_name "peer$1")" nstat -asz | awk -v base="$2" '
		BEGIN { while ((getline l < base) > 0) { split(l, f); b[f[1]] = f[2] } }
		$1 ~ /^(TcpRetransSegs|TcpExtTCPTimeouts|TcpExtTCPLossProbes|TcpExtTCPSackRecovery|TcpExtTCPDSACKRecv|TcpExtTCPSACKReorder|TcpExtTCPSpuriousRTOs|TcpExtTCPLostRetransmit)$/ {
			printf "%s=%d ", $1, $2 - b[$1] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- 1. the profile: 2% loss, 2% dup, 0.5% corrupt, 1 +- 0.8 ms ------------------------
t_check "impaired link up (${PROFILE[*]}, seed $SEED)" link_up 1 "${PROFILE[@]}"
trap '_impair_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
snap 1 "$TMP/nstat0"
REF1=$(linux_ref 1 7300 "$BYTES")
REFC1=$(counters_since 1 "$TMP/nstat0")
t_check "Linux -> Linux: $BYTES bytes through the relay, SHA-256 equal (${REF1:-?} s)" test -n "$REF1"

engine_start eng1 $ENG_IP/24 ${LOSS_RX_ENGINE_ARGS:-} ||
	{ t_fail "engine starts"; t_summary; exit 1; }
# The engine's side of the wire: AF_XDP takes the frames before the
# kernel's taps in the engine's namespace, so the capture sits on the
# relay's port facing the engine (what the engine was given, what it sent).
ns_bg imp1 tcpdump -i ia -nn -U -B 131072 -w "$TMP/eng.pcap" "tcp and host $ENG_IP" \
	2>"$TMP/tcpdump.err"
CAP=$!
t_check "tcpdump on the engine's side of the relay" wait_for "$TMP/tcpdump.err" "listening on" 5
snap 1 "$TMP/nstat1"
t_check "Linux -> engine: $BYTES bytes through the relay, SHA-256 equal" to_engine 1 7301 "$BYTES" prof
SENDER1=$(counters_since 1 "$TMP/nstat1")
tcpdump_stop "$CAP"
ENG1=$(cat "$TMP/prof.secs" 2>/dev/null)
echo "# profile: Linux -> Linux ${REF1:-?} s, Linux -> engine ${ENG1:-?} s" \
	"(engine/Linux time $(ratio "${ENG1:-0}" "${REF1:-0}"))"
echo "# Linux sender to the engine: $SENDER1"
echo "# Linux sender to Linux:      $REFC1"
grep -h "dropped by kernel" "$TMP/tcpdump.err" | sed 's/^/# tcpdump: /'
t_check "the capture of the engine's side is complete (tcpdump dropped nothing)" \
	grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.err"
python3 tests/tools/traffic/sack_check.py "$TMP/eng.pcap" --receiver $ENG_IP --sender $PEER_IP \
	>"$TMP/sack.out" 2>&1
SACK_RC=$?
grep -m 20 '^bad' "$TMP/sack.out" | sed 's/^/# /'
echo "# sack_check: $(tail -n1 "$TMP/sack.out")"
t_check "every SACK block of the engine matches the data it received (D-SACK: received twice)" \
	test $SACK_RC -eq 0
t_check "some ACKs carried several SACK blocks" \
	sh -c "! grep -q ' multi=0 ' '$TMP/sack.out'"
t_check "some ACKs carried a D-SACK block" \
	sh -c "! grep -q ' dsack=0 ' '$TMP/sack.out'"
kill -USR1 "$(cat "$RUN/flextoe.pid")" 2>/dev/null
wait_for "$TMP/eng.log" "engine ooo:" 2 >/dev/null 2>&1 &&
	grep -E "engine (tcp|ooo):" "$TMP/eng.log" | tail -n2 | sed 's/^/# /'
impair_stop | sed 's/^/# /'
kill "$(cat "$RUN/flextoe.pid")" 2>/dev/null
wait_cmd 5 sh -c "! kill -0 $(cat "$RUN/flextoe.pid" 2>/dev/null || echo 0)"

# ---- 2. 25% reordering, no loss: Linux's RACK with our SACKs ----------------------------
t_check "reordering link up (${REORDER[*]}, seed $SEED)" link_up 2 "${REORDER[@]}"
snap 2 "$TMP/nstat0"
REF2=$(linux_ref 2 7310 "$REORDER_BYTES")
REFC2=$(counters_since 2 "$TMP/nstat0")
t_check "Linux -> Linux: $REORDER_BYTES bytes with reordering, SHA-256 equal (${REF2:-?} s)" test -n "$REF2"
RUN=$TMP/run2
export FLEXTOE_RUN_DIR=$RUN
engine_start eng2 $ENG_IP/24 ${LOSS_RX_ENGINE_ARGS:-} ||
	{ t_fail "engine starts"; t_summary; exit 1; }
ns_bg peer2 tcpdump -i veth1 -nn -U -s 96 -B 65536 -w "$TMP/reo.pcap" "tcp and dst host $ENG_IP" \
	2>"$TMP/tcpdump2.err"
CAP=$!
wait_for "$TMP/tcpdump2.err" "listening on" 5 >/dev/null
snap 2 "$TMP/nstat2"
t_check "Linux -> engine: $REORDER_BYTES bytes with 25% reordering, SHA-256 equal" \
	to_engine 2 7311 "$REORDER_BYTES" reo
SENDER2=$(counters_since 2 "$TMP/nstat2")
tcpdump_stop "$CAP"
# Retransmissions in the capture: data the sender had sent before.
CAP_RETX=$(python3 - "$TMP/reo.pcap" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb"); f.read(24); top = None; n = 0
while True:
    h = f.read(16)
    if len(h) < 16: break
    incl, orig = struct.unpack("<II", h[8:16]); d = f.read(incl)
    ip = d[14:]; ihl = (ip[0] & 15) * 4; tot = struct.unpack("!H", ip[2:4])[0]
    t = ip[ihl:]; doff = (t[12] >> 4) * 4; seq = struct.unpack("!I", t[4:8])[0]
    plen = tot - ihl - doff
    if t[13] & 2: top = seq + 1; continue
    if top is None or plen <= 0: continue
    end = seq + plen
    if ((end - top) & 0xffffffff) <= 0x7fffffff: top = end
    else: n += 1
print(n)
PY
)
ENG2=$(cat "$TMP/reo.secs" 2>/dev/null)
echo "# reordering: Linux -> Linux ${REF2:-?} s, Linux -> engine ${ENG2:-?} s" \
	"(engine/Linux time $(ratio "${ENG2:-0}" "${REF2:-0}")); Linux sender retransmissions:" \
	"${CAP_RETX:-?} in the capture, $(grep -o 'TcpRetransSegs=[0-9]*' <<<"$SENDER2" | cut -d= -f2) by its TcpRetransSegs (goal: 0)"
echo "# Linux sender to the engine: $SENDER2"
echo "# Linux sender to Linux:      $REFC2"
kill -USR1 "$(cat "$RUN/flextoe.pid")" 2>/dev/null
wait_for "$TMP/eng.log" "engine ooo:" 2 >/dev/null 2>&1 &&
	grep -E "engine (tcp|ooo):" "$TMP/eng.log" | tail -n2 | sed 's/^/# /'
t_check "the engine is still running" sh -c "kill -0 \$(cat '$RUN/flextoe.pid')"

t_summary
