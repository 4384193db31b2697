#!/usr/bin/env bash
# nfpsim.sh - the NFP-4000 simulator's scaling tables (build/bin/flextoe-nfpsim, a MODEL, docs/nfp.md):
# 64-byte RPCs and MSS bulk over 1 and 1,000 connections, pipelined layouts growing to FlexTOE's
# 50 MEs against run-to-completion on the same MEs, and the single-connection RPC ratio of the
# two (FlexTOE's headline).  The plots go to $BUILD/bench/nfpsim-*.png.  No root, ~15 s.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
SIM=$BUILD/bin/flextoe-nfpsim
if [[ ! -x $SIM ]]; then
	echo "nfpsim: $SIM is missing: run 'make' first" >&2
	exit 1
fi
mkdir -p "$BUILD/bench"
plot=()
command -v gnuplot >/dev/null || echo "nfpsim: gnuplot is not installed (scripts/deps.sh): no plots"
rc=0
for t in rpc bulk; do
	for c in 1 1000; do
		command -v gnuplot >/dev/null && plot=(--plot "$BUILD/bench/nfpsim-$t-$c.png")
		"$SIM" scale --traffic "$t" --conns "$c" "${plot[@]}" | tee "$BUILD/bench/nfpsim-$t-$c.txt" || rc=1
		echo
	done
done
# FlexTOE's headline: one connection's RPC throughput, pipelined over run-to-completion
ratio=$(sed -n 's/^pipelined\/run-to-completion at [0-9]* MEs: \([0-9.]*\)x RPC.*/\1/p' \
	"$BUILD/bench/nfpsim-rpc-1.txt")
echo "headline (model): single-connection RPC throughput, pipelined / run-to-completion at 50 MEs: ${ratio:-?}x"
echo "   (FlexTOE reports 2.4x on x86 from its data-path parallelism; docs/nfp.md compares)"
command -v gnuplot >/dev/null && echo "   plots: $BUILD/bench/nfpsim-{rpc,bulk}-{1,1000}.png"
exit "$rc"
