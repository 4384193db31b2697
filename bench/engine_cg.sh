#!/usr/bin/env bash
# engine_cg.sh - instructions per received MSS data segment (with its ACK) in the engine's
# receive path, counted by callgrind on build/bench/engine_cg (in-memory engine pair, no NIC):
# in-order delivery (the loss-free fast path) and, for comparison, pairwise-swapped delivery
# (every other segment goes through the out-of-order path).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BIN=$BUILD/bench/engine_cg
SEGS=${ENGINE_CG_SEGMENTS:-10000}
if [[ ! -x $BIN ]]; then
	echo "engine_cg: $BIN is missing: run 'make' first" >&2
	exit 1
fi
if ! command -v valgrind >/dev/null; then
	echo "engine_cg: valgrind is not installed (scripts/deps.sh installs it)" >&2
	exit 1
fi
TMP=$(mktemp -d /tmp/ftoe-engine-cg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

echo "== engine_cg: receive path per MSS segment, callgrind (valgrind $(valgrind --version | sed 's/valgrind-//'))"
echo "   $SEGS segments of one connection, engine -> engine in memory; measured: the receiver's"
echo "   ftoe_engine_rx() + ftoe_engine_poll() per frame (ACKs included; delayed ACK = 1 per 2)"
printf '%-9s %10s %8s %14s %12s %12s %12s\n' mode segments acks "Ir(region)" "Ir/segment" "native ns" "rx_ooo"
declare -A IR
rc=0
for mode in inorder ooo; do
	# --collect-atstart=no: only the region between the program's
	# CALLGRIND_TOGGLE_COLLECT pairs is counted.
	if ! timeout -k 5 120 valgrind --tool=callgrind --collect-atstart=no \
		--callgrind-out-file="$TMP/cg.$mode" "$BIN" --segments "$SEGS" --mode "$mode" \
		>"$TMP/out.$mode" 2>"$TMP/err.$mode"; then
		echo "engine_cg: $mode run failed:" >&2
		cat "$TMP/out.$mode" "$TMP/err.$mode" >&2
		rc=1
		continue
	fi
	ir=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$TMP/err.$mode" | tail -n1)
	segs=$(sed -n 's/.* segments=\([0-9]*\).*/\1/p' "$TMP/out.$mode")
	acks=$(sed -n 's/.*acks_sent=\([0-9]*\).*/\1/p' "$TMP/out.$mode")
	ooo=$(sed -n 's/.*rx_ooo=\([0-9]*\).*/\1/p' "$TMP/out.$mode")
	# the native timing comes from a run outside valgrind
	nat=$("$BIN" --segments "$SEGS" --mode "$mode" | sed -n 's/^native: \([0-9.]*\).*/\1/p')
	if [[ -z $ir || -z $segs || $segs -eq 0 ]]; then
		echo "engine_cg: no callgrind total for $mode" >&2
		rc=1
		continue
	fi
	IR[$mode]=$((ir / segs))
	printf '%-9s %10s %8s %14s %12s %12s %12s\n' "$mode" "$segs" "$acks" "$ir" "${IR[$mode]}" "$nat" "$ooo"
done
if [[ -n ${IR[inorder]:-} && -n ${IR[ooo]:-} ]]; then
	awk -v a="${IR[ooo]}" -v b="${IR[inorder]}" \
		'BEGIN { printf "ooo/inorder Ir per segment: %.2f\n", a / b }'
fi
echo "   (callgrind_annotate on a kept profile: KEEP_CG=DIR bench/engine_cg.sh)"
if [[ -n ${KEEP_CG:-} ]]; then
	mkdir -p "$KEEP_CG" && cp "$TMP"/cg.* "$KEEP_CG"/
fi
exit "$rc"
