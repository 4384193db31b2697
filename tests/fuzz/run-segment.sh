#!/usr/bin/env bash
# Run the segment-parser fuzz target for a short while (default 20 s) and
# print "fuzz-segment: N passed, N failed" for tests/run-all.sh.
set -uo pipefail
cd "$(dirname "$0")/../.."

BIN=${FUZZ_BIN:-build/fuzz/fuzz_segment}
SECS=${FUZZ_SECONDS:-20}
if [[ ! -x $BIN ]]; then
	echo "fuzz-segment: $BIN not built (run 'make fuzz')" >&2
	echo "fuzz-segment: 0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
corpus=$work/corpus
mkdir -p "$corpus"

# Seed: a valid TCP/IPv4 frame with a timestamp option and payload, the
# same frame as the unit tests' known_frame, and a SYN with common options.
printf '\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00\x45\x02\x00\x39\x12\x34\x40\x00\x40\x06\x14\x87\x0a\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x00\x50\x01\x02\x03\x04\xa0\xb0\xc0\xd0\x80\x18\x02\x00\x09\x6f\x00\x00\x01\x01\x08\x0a\x11\x22\x33\x44\x55\x66\x77\x88hello' >"$corpus/tcp4"
printf '\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x81\x00\x00\x64\x08\x00\x45\x00\x00\x3c\x00\x00\x40\x00\x40\x06\x00\x00\x0a\x00\x00\x01\x0a\x00\x00\x02\x9c\x40\x00\x50\x00\x00\x00\x01\x00\x00\x00\x00\xa0\x02\xff\xff\x00\x00\x00\x00\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x09\x00\x00\x00\x00\x01\x03\x03\x07' >"$corpus/syn_vlan"

"$BIN" -max_total_time="$SECS" -max_len=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" "$corpus" >"$work/log" 2>&1
rc=$?
tail -n 15 "$work/log"
if [[ $rc -eq 0 ]]; then
	echo "fuzz-segment: 1 passed, 0 failed"
else
	crash=$(ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null | head -n1)
	if [[ -n $crash ]]; then
		mkdir -p build/fuzz/artifacts
		cp "$crash" build/fuzz/artifacts/
		echo "fuzz-segment: reproducer saved to build/fuzz/artifacts/$(basename "$crash")"
	fi
	echo "fuzz-segment: 0 passed, 1 failed"
	exit 1
fi
