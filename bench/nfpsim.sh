#!/usr/bin/env bash
# nfpsim.sh - the NFP-4000 simulator's scaling tables (build/bin/flextoe-nfpsim, a MODEL, docs/nfp.md):
# 64-byte RPCs and MSS bulk over 1 and 1,000 connections, pipelined layouts growing to FlexTOE's
# 50 MEs against run-to-completion on the same MEs, and the single-connection RPC ratio of the
# two (FlexTOE's headline); then eBPF programs at the NIC's hooks (tcp_trace, the firewall)
# against none.  The plots go to $BUILD/bench/nfpsim-*.png.  No root, ~25 s.
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
echo
# eBPF at the NIC's hooks: each program alone at rx-pre (and tcp_trace at rx-post) against none,
# run in the runtime's counting interpreter and charged after the nfp JIT's expansion
TRACE=$BUILD/xdp-progs/tcp_trace.bpf.o
FW=$BUILD/xdp-progs/firewall.bpf.o
for t in "rpc 1" "rpc 1000" "bulk 1"; do
	set -- $t
	"$SIM" hooks --traffic "$1" --conns "$2" --hook "rx-pre:$TRACE" --hook "rx-pre:$FW" \
		--hook "rx-post:$TRACE" --fw-rules core/nfp/sim/hooks-fw.rules |
		tee "$BUILD/bench/nfpsim-hooks-$1-$2.txt" || rc=1
	echo
done
exit "$rc"
