#!/usr/bin/env bash
# Run FlexTOE's benchmarks (`make bench`): the eBPF runtime (JIT and
# interpreter) against the kernel's own eBPF on the same programs and frames.
# Needs root (kernel verifier, BPF_PROG_TEST_RUN); takes well under 2 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
BIN=$BUILD/bench/ebpf_bench

if [[ ! -x $BIN ]]; then
	echo "bench: $BIN is missing: run 'make' first" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "bench: run as root (sudo make bench): the kernel verifier and" \
	     "BPF_PROG_TEST_RUN need CAP_BPF/CAP_SYS_ADMIN" >&2
	exit 1
fi

# The runtime bench itself budgets ~10 s; the limit only guards a hang.
timeout -k 5 110 "$BIN" --build "$BUILD"
