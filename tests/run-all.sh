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
mkdir -p "$LOGDIR/lint" "$LOGDIR/integration" "$LOGDIR/diff" "$LOGDIR/compat" "$LOGDIR/fuzz" "$LOGDIR/san"
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
run_suite docs-paths python3 tests/lint/docs_paths.py
# The NFP firmware target builds freestanding (core/nfp, docs/nfp.md).
run_suite nfp-check make -s nfp-check
run_suite unit "$BUILD/tests/unit-tests"
FTOE_BUILD=$BUILD ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	run_suite unit-asan-ubsan tests/unit/each.sh build/san/tests/unit-tests
# Two flow groups' protocol stages on two threads at once, under TSan.
run_suite unit-tsan tests/unit/tsan.sh

for t in tests/lint/*.sh tests/integration/*.sh tests/diff/*.sh tests/compat/*.sh tests/fuzz/*.sh; do
	[[ -x $t ]] || continue
	name=${t#tests/}
	mkdir -p "$LOGDIR/${name%/*}"
	run_suite "${name%.sh}" "$t"
done

# A set of integration tests again with the ASan+UBSan build (build/san,
# `make san`): the daemon, loaderd, the CLI, libflextoe and the examples all
# sanitized.  Reports go to files (a daemon's stderr is a log nobody
# checks), and any report fails the suite.
san_integration() {
	local t=$1 dir
	dir=$(mktemp -d /tmp/ftoe-san-reports.XXXXXX)
	chmod 1777 "$dir"	# tools the tests run as nobody write here too
	FTOE_BUILD=build/san ENGINE_APPS_BULK_BYTES=$((64 << 20)) \
		ASAN_OPTIONS="log_path=$dir/asan:detect_leaks=1" \
		UBSAN_OPTIONS="log_path=$dir/ubsan:print_stacktrace=1:halt_on_error=1" \
		"$t"
	local rc=$?
	if compgen -G "$dir/*" >/dev/null; then
		echo "sanitizer reports:"
		head -n 40 "$dir"/*
		echo "0 passed, 1 failed"
		rm -rf "$dir"
		return 1
	fi
	rm -rf "$dir"
	return $rc
}
if [[ -x build/san/bin/flextoe ]]; then
	for t in engine_basic engine_apps engine_lifecycle splice splice_ipv6 classify loader cli_bad_input posix_basic xsk devmap \
		local_users; do
		run_suite "san/$t" san_integration "tests/integration/$t.sh"
	done
fi

echo
if [[ ${#failed_suites[@]} -gt 0 ]]; then
	echo "failed suites: ${failed_suites[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
