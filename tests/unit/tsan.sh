#!/usr/bin/env bash
# tsan.sh - the flow groups' concurrent test (tests/unit/core/test_flow_groups_mt.c) under
# ThreadSanitizer (build/tsan/tests/fg-mt, `make tsan-fg`): two groups' protocol stages and two
# post-processing threads at once must show no data race, byte-exact streams and per-flow order
# (protocol stage, finish, wire); with the shared lock left out on purpose
# (FTOE_FG_MT_NO_SHARED_LOCK=1), and with the second reorder point bypassed
# (FTOE_FG_MT_NO_REORDER=1), it must fail.  test_flow_gen_mt.c, in the same binary: a payload
# placement racing its flow's reset and the slot's reuse writes nothing after the free; without
# the generation check (FTOE_FLOW_GEN_MT_NO_CHECK=1) it must fail.
set -uo pipefail
cd "$(dirname "$0")/../.."
BIN=build/tsan/tests/fg-mt
if [[ ! -x $BIN ]]; then
	echo "tsan: $BIN is missing: run 'make tsan-fg' first" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if TSAN_OPTIONS=exitcode=66 "$BIN" >"$log" 2>&1 && ! grep -q 'ThreadSanitizer' "$log"; then
	echo "ok   two groups concurrently, and a placement racing its flow's reset: no data race; $(grep -c '^fg-mt seed' "$log") seeds byte-exact and in order"
	grep '^fg-mt seed' "$log" | sed 's/^/     /'
	pass=$((pass + 1))
else
	echo "FAIL two groups concurrently:"
	grep -v '^ *#[0-9]' "$log" | head -n 30 | sed 's/^/    /'
	fail=$((fail + 1))
fi
# The check must be able to fail.
if FTOE_FG_MT_NO_SHARED_LOCK=1 FTOE_FG_MT_SEEDS=1 TSAN_OPTIONS=exitcode=66 "$BIN" >"$log" 2>&1 ||
   ! grep -q 'WARNING: ThreadSanitizer: data race' "$log"; then
	echo "FAIL without the shared lock the race went unnoticed"
	fail=$((fail + 1))
else
	echo "ok   without the shared lock: $(grep -c 'WARNING: ThreadSanitizer: data race' "$log") races reported, the run fails"
	pass=$((pass + 1))
fi
# So must the per-flow order check: finishing each segment where its payload was placed, past
# the second reorder point (FTOE_FG_MT_NO_REORDER=1), must fail it.
if FTOE_FG_MT_NO_REORDER=1 FTOE_FG_MT_SEEDS=2 TSAN_OPTIONS=exitcode=66 "$BIN" >"$log" 2>&1 ||
   ! grep -q 'Failures: [1-9]' "$log"; then
	echo "FAIL without the second reorder point the order check passed"
	grep -v '^ *#[0-9]' "$log" | tail -n 5 | sed 's/^/    /'
	fail=$((fail + 1))
else
	echo "ok   without the second reorder point the run fails: $(grep -o ':F:.*' "$log" | sed 's/^.*:0: //' | head -n1)"
	pass=$((pass + 1))
fi
# A placement racing its flow's reset and the slot's reuse (test_flow_gen_mt.c) ran above with
# the rest; placing with the slot's current generation instead of the item's must show the race.
if FTOE_FLOW_GEN_MT_NO_CHECK=1 CK_RUN_SUITE=core_flow_gen_mt TSAN_OPTIONS=exitcode=66 "$BIN" >"$log" 2>&1 ||
   ! grep -q 'WARNING: ThreadSanitizer: data race' "$log"; then
	echo "FAIL without the generation check the late placement went unnoticed"
	fail=$((fail + 1))
else
	echo "ok   without the generation check: $(grep -c 'WARNING: ThreadSanitizer: data race' "$log") races reported, the run fails"
	pass=$((pass + 1))
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
