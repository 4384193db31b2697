#!/usr/bin/env bash
# loss_relay.sh - 64 MiB through the impairment relay with issue 12's profile (2% loss, 2% dup,
# 0.5% corrupt, 1 +- 0.8 ms), measured in one run for Linux -> Linux, Linux -> engine and
# engine -> Linux; prints the times and the engine/Linux ratios (target >= 1.0 both ways).
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/impair.sh
. tests/lib/engine.sh	# wait_for

BUILD=${BUILD:-build}
export FTOE_BUILD=$BUILD
[[ $BUILD == /* ]] && BIN=$BUILD/bin || BIN=$PWD/$BUILD/bin
BYTES=${LOSS_RELAY_BYTES:-$((64 << 20))}
NET=${LOSS_RELAY_NET:-10.74}
SEED=${LOSS_RELAY_SEED:-12}
# The engine's congestion control on this lossy path: CUBIC (loss based, as
# Linux's default), not DCTCP, which is for ECN-marking data-centre fabrics.
CC=${LOSS_RELAY_CC:-cubic}
# Extra engine flags (e.g. "--ooo-intervals 8").
ENG_ARGS=${LOSS_RELAY_ENG_ARGS:-}
for b in flextoe flextoe-bulk; do
	if [[ ! -x $BIN/$b ]]; then
		echo "loss_relay: $BIN/$b is missing: run 'make' first" >&2
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-loss-relay.XXXXXX)
ENG_IP=$NET.0.5 KERN_IP=$NET.0.1 PEER_IP=$NET.0.2
ns_add eng && ns_add peer || exit 1
impair_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24 \
	--loss 2 --dup 2 --corrupt 0.5 --delay 1 --jitter 0.8 --seed "$SEED" || exit 1
trap '_impair_cleanup; rm -rf "$TMP"' EXIT

cat >"$TMP/peer.py" <<'PY'
# send HOST PORT BYTES | recv HOST PORT: prints bytes=N secs=S (receiver: first byte to EOF
# after accept; sender: connect to close).
import socket, sys, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "send":
    total = int(sys.argv[4]); buf = b"\x5a" * (1 << 16); n = 0
    s = socket.create_connection((host, port), timeout=120)
    t0 = time.monotonic()
    while n < total:
        n += s.send(buf[:min(len(buf), total - n)])
    s.shutdown(socket.SHUT_WR); s.recv(1); s.close()
else:
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port)); ls.listen(1)
    print("listening", flush=True)
    s, _ = ls.accept(); s.settimeout(120); n = 0
    t0 = time.monotonic()
    while True:
        b = s.recv(1 << 20)
        if not b: break
        n += len(b)
    s.close()
print("bytes=%d secs=%.3f" % (n, time.monotonic() - t0), flush=True)
PY

secs_of() { # FILE: the secs= of a bytes=$BYTES line, or nothing
	grep -o "bytes=$BYTES .*secs=[0-9.]*" "$1" | grep -o 'secs=[0-9.]*' | cut -d= -f2
}

echo "== loss_relay: $BYTES bytes through the impairment relay (loss 2%, dup 2%, corrupt 0.5%," \
	"delay 1 ms +- 0.8 ms, seed $SEED), one connection each; engine --cc $CC $ENG_ARGS"

# The Linux sender's recovery counters over the Linux -> Linux run: how
# often it entered recovery and how many of those it undid (D-SACK undo
# counts every D-SACK below snd_una, the relay's own duplicates too).
linux_counters() { # BASE_FILE
	ip netns exec "$(ns_name peer)" nstat -asz | awk -v base="$1" '
		BEGIN { while ((getline l < base) > 0) { split(l, f); b[f[1]] = f[2] } }
		$1 ~ /^(TcpRetransSegs|TcpExtTCPSackRecovery|TcpExtTCPDSACKUndo|TcpExtTCPPartialUndo|TcpExtTCPFullUndo|TcpExtTCPLossUndo|TcpExtTCPSpuriousRTOs|TcpExtTCPTimeouts)$/ {
			sub(/^Tcp(Ext)?/, "", $1); printf "%s %d, ", $1, $2 - b[$1] }'
}

# Linux -> Linux first, before the engine takes the link's AF_XDP queue.
ip netns exec "$(ns_name peer)" nstat -asz >"$TMP/nstat0"
ns_bg eng python3 "$TMP/peer.py" recv $KERN_IP 7400 >"$TMP/ll.recv" 2>&1
wait_for "$TMP/ll.recv" listening >/dev/null
# ...and its window, every 100 ms (ss -ti): cwnd, ssthresh, srtt
( while :; do ip netns exec "$(ns_name peer)" ss -tin dst $KERN_IP 2>/dev/null; sleep 0.1; done ) \
	>"$TMP/ll.ss" 2>&1 &
SS_PID=$!
ns_exec peer timeout 150 python3 "$TMP/peer.py" send $KERN_IP 7400 "$BYTES" >"$TMP/ll.send" 2>&1
kill "$SS_PID" 2>/dev/null
wait "$SS_PID" 2>/dev/null
wait_for "$TMP/ll.recv" "^bytes=" 10 >/dev/null
LL=$(secs_of "$TMP/ll.recv")
echo "   Linux sender: $(linux_counters "$TMP/nstat0")"
echo "   Linux sender's window (ss -ti every 100 ms): $(grep -oE '(cwnd|ssthresh|rtt):[0-9.]+' "$TMP/ll.ss" |
	awk -F: '{ v = $2 + 0; if (!($1 in lo) || v < lo[$1]) lo[$1] = v; if (v > hi[$1]) hi[$1] = v; n[$1]++ }
		END { for (k in n) printf "%s %s-%s (%d samples) ", k, lo[k], hi[k], n[k] }')"

RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
# shellcheck disable=SC2086 # ENG_ARGS is a list of flags
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" --cc "$CC" $ENG_ARGS \
	>"$TMP/eng.log" 2>&1
wait_for "$TMP/eng.log" "ready:" >/dev/null || exit 1

# Linux -> engine
ns_bg eng "$BIN/flextoe-bulk" --listen 7401 --recv --no-hash >"$TMP/le.recv" 2>&1
wait_for "$TMP/le.recv" listening >/dev/null
ns_exec peer timeout 150 python3 "$TMP/peer.py" send $ENG_IP 7401 "$BYTES" >"$TMP/le.send" 2>&1
wait_for "$TMP/le.recv" "^bytes=" 10 >/dev/null
LE=$(secs_of "$TMP/le.recv")

# engine -> Linux
ns_bg peer python3 "$TMP/peer.py" recv $PEER_IP 7402 >"$TMP/el.recv" 2>&1
wait_for "$TMP/el.recv" listening >/dev/null
ns_exec eng timeout 150 "$BIN/flextoe-bulk" --connect $PEER_IP:7402 --send "$BYTES" --no-hash \
	>"$TMP/el.send" 2>&1
wait_for "$TMP/el.recv" "^bytes=" 10 >/dev/null
EL=$(secs_of "$TMP/el.recv")

kill -USR1 "$(cat "$RUN/flextoe.pid")" 2>/dev/null
wait_for "$TMP/eng.log" "engine sack:" 3 >/dev/null 2>&1
grep "engine tcp:" "$TMP/eng.log" | tail -n1 | sed 's/.*engine tcp: /   engine: /'
# the sender's scoreboard: ranges it could not keep, D-SACKs of data resent (issue 12)
grep "engine sack:" "$TMP/eng.log" | tail -n1 | sed 's/.*engine sack: /   engine sack: /'

echo
printf '%-18s %10s %12s %8s\n' "direction" "seconds" "Linux->Linux" "ratio"
row() { # NAME SECS
	awk -v n="$1" -v s="$2" -v l="$LL" 'BEGIN {
		printf "%-18s %10s %12s %8s\n", n, s == "" ? "failed" : s, l == "" ? "-" : l,
			(s > 0 && l > 0) ? sprintf("%.2f", l / s) : "-" }'
}
row "Linux -> Linux" "$LL"
row "Linux -> engine" "$LE"
row "engine -> Linux" "$EL"
echo "   receiver's seconds for $BYTES bytes; ratio = Linux->Linux time / this time" \
	"(>= 1.0: as fast as Linux; target 1.0 both ways)"
[[ -n $LL && -n $LE && -n $EL ]]
