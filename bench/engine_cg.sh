#!/usr/bin/env bash
# engine_cg.sh - instructions per received MSS data segment (with its ACK) in the engine's
# receive path, counted by callgrind on build/bench/engine_cg (in-memory engine pair, no NIC):
# in-order delivery (the loss-free fast path) and, for comparison, pairwise-swapped delivery
# (every other segment goes through the out-of-order path).  Both with one frame per
# ftoe_engine_rx() call (a backend woken per frame: the issue's figure), and in-order
# once more with bursts of ENGINE_CG_BURST frames per call (default 32, a receive loop
# under load; the engine then ACKs once per burst, as Linux does per GRO aggregate).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BIN=$BUILD/bench/engine_cg
SEGS=${ENGINE_CG_SEGMENTS:-10000}
BURST=${ENGINE_CG_BURST:-32}
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
echo "   ftoe_engine_rx() + ftoe_engine_poll() per call (ACKs included; delayed ACK = 1 per 2 segments"
echo "   with one frame per call; with bursts, one per burst)"
printf '%-12s %10s %8s %14s %12s %12s %12s\n' mode/burst segments acks "Ir(region)" "Ir/segment" "native ns" "rx_ooo"
declare -A IR
rc=0
for run in inorder/1 ooo/1 "inorder/$BURST"; do
	mode=${run%/*}
	burst=${run#*/}
	# --collect-atstart=no: only the region between the program's
	# CALLGRIND_TOGGLE_COLLECT pairs is counted.
	if ! timeout -k 5 120 valgrind --tool=callgrind --collect-atstart=no \
		--callgrind-out-file="$TMP/cg.$mode.$burst" "$BIN" --segments "$SEGS" --mode "$mode" \
		--burst "$burst" >"$TMP/out.$mode" 2>"$TMP/err.$mode"; then
		echo "engine_cg: $run run failed:" >&2
		cat "$TMP/out.$mode" "$TMP/err.$mode" >&2
		rc=1
		continue
	fi
	ir=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$TMP/err.$mode" | tail -n1)
	segs=$(sed -n 's/.* segments=\([0-9]*\).*/\1/p' "$TMP/out.$mode")
	acks=$(sed -n 's/.*acks_sent=\([0-9]*\).*/\1/p' "$TMP/out.$mode")
	ooo=$(sed -n 's/.*rx_ooo=\([0-9]*\).*/\1/p' "$TMP/out.$mode")
	# the native timing comes from a run outside valgrind
	nat=$("$BIN" --segments "$SEGS" --mode "$mode" --burst "$burst" | sed -n 's/^native: \([0-9.]*\).*/\1/p')
	if [[ -z $ir || -z $segs || $segs -eq 0 ]]; then
		echo "engine_cg: no callgrind total for $run" >&2
		rc=1
		continue
	fi
	IR[$run]=$((ir / segs))
	printf '%-12s %10s %8s %14s %12s %12s %12s\n' "$run" "$segs" "$acks" "$ir" "${IR[$run]}" "$nat" "$ooo"
done
if [[ -n ${IR[inorder/1]:-} && -n ${IR[ooo/1]:-} ]]; then
	awk -v a="${IR[ooo/1]}" -v b="${IR[inorder/1]}" \
		'BEGIN { printf "ooo/inorder Ir per segment: %.2f\n", a / b }'
fi
if [[ -n ${IR[inorder/1]:-} ]]; then
	# issue 9's target: 1,500 per in-order segment with its ACK share
	awk -v a="${IR[inorder/1]}" \
		'BEGIN { printf "in order, one frame per call: %d Ir per segment, target <= 1500: %s (%.2fx the target)\n",
			 a, a <= 1500 ? "met" : "NOT met", a / 1500 }'
fi
echo "   (callgrind_annotate on a kept profile: KEEP_CG=DIR bench/engine_cg.sh)"
if [[ -n ${KEEP_CG:-} ]]; then
	mkdir -p "$KEEP_CG" && cp "$TMP"/cg.* "$KEEP_CG"/
fi
exit "$rc"
