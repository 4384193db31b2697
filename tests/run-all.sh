#!/usr/bin/env bash
# Run every FlexTOE test suite and print one closing "N passed, N failed".
#
# Each suite prints either Check's summary ("Checks: N, Failures: F,
# Errors: E") or a plain "N passed, N failed" line; this script adds them
# up.  A suite that exits non-zero without such a line counts as 1 failed.
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
LOGDIR=$BUILD/test-logs
mkdir -p "$LOGDIR/integration" "$LOGDIR/diff" "$LOGDIR/fuzz"
total_pass=0 total_fail=0
failed_suites=()

run_suite() {
	local name=$1; shift
	local log=$LOGDIR/$name.log
	local start=$SECONDS
	echo "=== $name"
	"$@" >"$log" 2>&1
	local rc=$?
	local p=0 f=0 line
	line=$(grep -E '^(100|[0-9]{1,2})%: Checks: [0-9]+' "$log" | tail -n1)
	if [[ -n $line ]]; then
		local n fl er
		n=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
		fl=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
		er=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
		f=$((fl + er)); p=$((n - f))
	else
		line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n1)
		if [[ -n $line ]]; then
			p=$(sed -E 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
			f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		fi
	fi
	if [[ $rc -ne 0 && $f -eq 0 ]]; then
		f=1
	fi
	total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
	if [[ $f -ne 0 ]]; then
		failed_suites+=("$name")
		echo "    FAILED ($p passed, $f failed, rc=$rc, $((SECONDS - start))s); last lines of $log:"
		tail -n 30 "$log" | sed 's/^/    | /'
	else
		echo "    ok ($p passed, $((SECONDS - start))s)"
	fi
}

export FTOE_BUILD=$BUILD
run_suite unit "$BUILD/tests/unit-tests"
FTOE_BUILD=$BUILD ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_suite unit-asan-ubsan build/san/tests/unit-tests

for t in tests/integration/*.sh tests/diff/*.sh tests/fuzz/*.sh; do
	[[ -x $t ]] || continue
	name=${t#tests/}
	run_suite "${name%.sh}" "$t"
done

echo
if [[ ${#failed_suites[@]} -gt 0 ]]; then
	echo "failed suites: ${failed_suites[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
