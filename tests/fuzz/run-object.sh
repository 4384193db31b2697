#!/usr/bin/env bash
# Short libFuzzer run of build/fuzz/fuzz_object (object loading): ~30 s over
# a seed corpus of the built test programs and truncations of them.
#
# Builds nothing (`make fuzz` does, before `make test` runs this).  Ends
# with "fuzz-object: 1 passed, 0 failed" or "fuzz-object: 0 passed, 1
# failed"; a crash, leak or hang leaves its input in
# $BUILD/fuzz-artifacts/object/ for `build/fuzz/fuzz_object FILE`.
# FUZZ_SECONDS overrides the duration.
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
BIN=build/fuzz/fuzz_object
SECONDS_TO_RUN=${FUZZ_SECONDS:-30}
ARTIFACTS=$BUILD/fuzz-artifacts/object

fail() {
	echo "fuzz-object: $*"
	echo "fuzz-object: 0 passed, 1 failed"
	exit 1
}

[[ -x $BIN ]] || fail "$BIN is missing: run 'make fuzz' first"
[[ $(id -u) -eq 0 ]] || fail "run as root: loading goes through the kernel verifier"

work=$(mktemp -d /tmp/fuzz-object.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$ARTIFACTS"

# Seeds: every test object whole, and cut inside its ELF header, section
# headers and section contents, so mutations start from both valid and
# broken files.
nseeds=0
for obj in "$BUILD"/tests/progs/*.bpf.o; do
	[[ -f $obj ]] || continue
	name=$(basename "$obj" .bpf.o)
	size=$(stat -c %s "$obj")
	cp "$obj" "$work/corpus/$name.o"
	nseeds=$((nseeds + 1))
	for cut in 16 64 $((size / 4)) $((size / 2)) $((size - 64)) $((size - 1)); do
		((cut > 0 && cut < size)) || continue
		head -c "$cut" "$obj" >"$work/corpus/$name.cut$cut"
		nseeds=$((nseeds + 1))
	done
done
((nseeds > 0)) || fail "no seed objects in $BUILD/tests/progs (run 'make' first)"

log=$work/fuzz.log
echo "fuzz-object: $nseeds seeds, ${SECONDS_TO_RUN}s"
# -timeout: one object (with its kernel verifier pass) may take up to 10 s;
# past that it counts as a hang.  Leaks are checked by LeakSanitizer
# (-detect_leaks, the default under ASan) and descriptors by the target.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	timeout -k 10 $((SECONDS_TO_RUN + 120)) \
	"$BIN" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=4096 \
	-artifact_prefix="$ARTIFACTS/" -print_final_stats=1 \
	"$work/corpus" >"$log" 2>&1
rc=$?

grep -E '^#[0-9]+.*(DONE|INITED)|stat::number_of_executed_units|stat::peak_rss_mb' "$log" | tail -n 4
if [[ $rc -ne 0 ]]; then
	echo "fuzz-object: libFuzzer exited with $rc; end of its log:"
	tail -n 60 "$log"
	ls -1 "$ARTIFACTS" 2>/dev/null | sed 's/^/  artifact: /'
	echo "fuzz-object: 0 passed, 1 failed"
	exit 1
fi
echo "fuzz-object: 1 passed, 0 failed"
