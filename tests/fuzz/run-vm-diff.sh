#!/usr/bin/env bash
# Differential fuzzing of the interpreter against the JIT for ~30 seconds.
#
# Runs build/fuzz/fuzz_vm_diff (built by `make fuzz`) on a fresh corpus in a
# temporary directory; the target aborts on the first program whose r0 or
# memory differs between the engines.  Ends with
# "fuzz-vm-diff: 1 passed, 0 failed" or "fuzz-vm-diff: 0 passed, 1 failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

FUZZER=${FUZZER:-build/fuzz/fuzz_vm_diff}
SECONDS_TO_RUN=${FUZZ_SECONDS:-30}

if [[ ! -x $FUZZER ]]; then
	echo "run-vm-diff: $FUZZER is not built; run 'make fuzz' first" >&2
	echo "fuzz-vm-diff: 0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /tmp/fuzz-vm-diff.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"

"$FUZZER" -max_total_time="$SECONDS_TO_RUN" -artifact_prefix="$work/" \
	-print_final_stats=1 "$work/corpus" >"$work/log" 2>&1
rc=$?
tail -n 20 "$work/log"
if [[ $rc -ne 0 ]]; then
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-*; do
		[[ -e $a ]] || continue
		mkdir -p build/fuzz/artifacts
		cp "$a" build/fuzz/artifacts/
		echo "run-vm-diff: reproducer saved as build/fuzz/artifacts/$(basename "$a")" \
		     "(run: $FUZZER build/fuzz/artifacts/$(basename "$a"))"
	done
	echo "fuzz-vm-diff: 0 passed, 1 failed"
	exit 1
fi
echo "fuzz-vm-diff: 1 passed, 0 failed"
