#!/usr/bin/env bash
# each.sh BINARY - run every Check suite of a unit-test binary in a process of its own and
# print one "N passed, N failed" line (tests/unit/runner.c --count / --index N).
#
# FTOE_UNIT_JOBS suites run at once (default: the number of CPUs); each
# suite's output is kept in a file and printed whole, in suite order, so the
# log reads the same as a serial run.
set -uo pipefail
bin=$1
n=$("$bin" --count) || { echo "each.sh: $bin --count failed"; echo "0 passed, 1 failed"; exit 1; }
jobs=${FTOE_UNIT_JOBS:-$(nproc)}
dir=$(mktemp -d /tmp/ftoe-each.XXXXXX)
trap 'rm -rf "$dir"' EXIT

run_one() {
	"$bin" --index "$1" >"$dir/$1.out" 2>&1
	echo $? >"$dir/$1.rc"
}

running=0
for ((i = 0; i < n; i++)); do
	run_one "$i" &
	running=$((running + 1))
	if ((running >= jobs)); then
		wait -n
		running=$((running - 1))
	fi
done
wait

pass=0 fail=0
for ((i = 0; i < n; i++)); do
	out=$(cat "$dir/$i.out")
	rc=$(cat "$dir/$i.rc" 2>/dev/null || echo 255)
	# each suite's Check line indented, so only the closing line below is a summary
	sed -E 's/^([0-9]+%: Checks)/  \1/' <<<"$out"
	line=$(grep -E '^[0-9]+%: Checks: [0-9]+' <<<"$out" | tail -n1)
	if [[ -z $line ]]; then
		echo "each.sh: suite $i gave no summary (rc=$rc)"
		fail=$((fail + 1))
		continue
	fi
	c=$(sed -E 's/.*Checks: ([0-9]+).*/\1/' <<<"$line")
	f=$(sed -E 's/.*Failures: ([0-9]+).*/\1/' <<<"$line")
	e=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
	pass=$((pass + c - f - e)); fail=$((fail + f + e))
	[[ $rc -ne 0 && $f -eq 0 && $e -eq 0 ]] && fail=$((fail + 1))
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
