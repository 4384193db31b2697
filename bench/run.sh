#!/usr/bin/env bash
# Run FlexTOE's benchmarks (`make bench`): the eBPF runtime (JIT and
# interpreter) against the kernel's own eBPF on the same programs and frames,
# then every program of the compatibility corpus, then the firewall with
# 10, 1,000 and 100,000 rules the same way; then the
# TCP engine against Linux's TCP: echo RPC latency and bulk throughput over
# veth in network namespaces, and the receive path's instructions per segment
# under callgrind; then the engine with tcp_trace attached against none;
# then unmodified servers (memcached, sockperf, nginx) over the engine through
# the POSIX library against the same servers on Linux.
# Needs root (kernel verifier, BPF_PROG_TEST_RUN, namespaces); ~8 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BIN=$BUILD/bench/ebpf_bench
FW_BIN=$BUILD/bench/fw_bench

for b in "$BIN" "$FW_BIN"; do
	if [[ ! -x $b ]]; then
		echo "bench: $b is missing: run 'make' first" >&2
		exit 1
	fi
done
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: run as root (sudo make bench): the kernel verifier and" \
	     "BPF_PROG_TEST_RUN need CAP_BPF/CAP_SYS_ADMIN" >&2
	exit 1
fi

# Both run even if the first fails; the status is the worse of the two.
# The runtime bench itself budgets ~10 s; the limit only guards a hang.
rc=0
timeout -k 5 110 "$BIN" --build "$BUILD" || rc=$?
echo
# Every program of the compatibility corpus, JIT and interpreter against the
# kernel (~30-90 s, tests/lib/compat_corpus.sh).
BUILD="$BUILD" timeout -k 5 300 bench/compat_bench.sh || rc=$?
echo
# The firewall bench takes ~20-40 s (27 figures, 100,000 rules loaded into
# three engines); it exits 1 if the engines' verdicts disagree.
timeout -k 5 110 "$FW_BIN" --build "$BUILD" || rc=$?
# The engine benches (bench/README.md): RPC latency ~5 s, bulk ~40 s (1 GiB
# each way, engine and Linux), callgrind ~3 s, workers 1 against 2 ~60 s.
export BUILD
for b in engine_rpc engine_bulk engine_cg engine_workers; do
	echo
	timeout -k 5 170 "bench/$b.sh" || rc=$?
done
# The same RPC and bulk figures over IPv6, engine and Linux both on IPv6
# (~5 s and ~40 s).
for b in engine_rpc engine_bulk; do
	echo
	timeout -k 5 170 "bench/$b.sh" --v6 || rc=$?
done
# Loss recovery (~1-2 min): 64 MiB through the impairment relay with issue 12's
# profile, Linux -> Linux, Linux -> engine and engine -> Linux, with ratios.
echo
timeout -k 5 400 bench/loss_relay.sh || rc=$?
# tcp_trace's cost (~30-60 s): bulk and RPC latency untraced and traced, with ratios.
echo
timeout -k 5 170 bench/engine_trace.sh || rc=$?
# The NFP-4000 simulator's scaling tables (a model, docs/nfp.md; ~15 s).
echo
timeout -k 5 120 bench/nfpsim.sh || rc=$?
# Unmodified memcached, sockperf and nginx under flextoe-run against the same
# servers on Linux (~80 s): throughput, latency percentiles, ratios.
echo
timeout -k 5 300 bench/posix_apps.sh || rc=$?
# System calls per memcached request: Linux, wake groups, the context's
# event fd (~45 s).
echo
timeout -k 5 300 bench/posix_syscalls.sh || rc=$?
exit "$rc"
