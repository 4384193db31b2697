#!/usr/bin/env bash
# nfpsim_equal.sh - the NFP target's correctness (issue 10): the same traffic through the x86
# engine's entry points and through the NFP stages in build/bin/flextoe-nfpsim, under seeded
# randomised context scheduling, gives byte-identical wire output and application bytes; and the
# timing model hands every connection's segments to the host in order.
# No namespaces: everything runs in one process over the in-memory link.
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD=${FTOE_BUILD:-build}
SIM=$BUILD/bin/flextoe-nfpsim
if [[ ! -x $SIM ]]; then
	echo "nfpsim_equal: $SIM is missing: run 'make' first" >&2
	echo "0 passed, 1 failed"
	exit 1
fi
pass=0 fail=0
# name | arguments: 1 and many connections, RPC and bulk, with and without loss
cases=(
	"rpc-1|--traffic rpc --conns 1 --window 16 --rpcs 4000 --seeds 20"
	"rpc-64|--traffic rpc --conns 64 --window 4 --rpcs 6400 --seeds 10"
	"rpc-16-loss|--traffic rpc --conns 16 --window 8 --rpcs 3200 --loss 3 --seeds 10"
	"bulk-1|--traffic bulk --conns 1 --bytes 2097152 --seeds 10"
	"bulk-8-loss|--traffic bulk --conns 8 --bytes 262144 --loss 3 --seeds 10"
	"rpc-1000|--traffic rpc --conns 1000 --window 1 --rpcs 2000 --seeds 3"
)
for c in "${cases[@]}"; do
	name=${c%%|*}
	args=${c#*|}
	# shellcheck disable=SC2086
	out=$(timeout -k 5 300 "$SIM" verify $args 2>&1)
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n1)
	p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
	f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
	if [[ -z $line || $rc -ne 0 || $f -ne 0 ]]; then
		echo "FAIL $name ($args): rc $rc"
		sed 's/^/    /' <<<"$out" | grep -v '^    ok' | head -n 10
		fail=$((fail + 1))
	else
		echo "ok   $name: $p schedules byte-identical ($(grep -m1 '^ok' <<<"$out" | sed 's/^ok *seed 1: //'))"
		pass=$((pass + 1))
	fi
done
# The timing model keeps every connection's segments in order to the host
# (flextoe-nfpsim scale exits 1 on any out-of-order delivery).
for t in "rpc 1" "rpc 1000" "bulk 1" "bulk 1000"; do
	set -- $t
	if out=$(timeout -k 5 120 "$SIM" scale --traffic "$1" --conns "$2" 2>&1); then
		echo "ok   timing-order $1/$2: $(grep 'run-to-completion at' <<<"$out")"
		pass=$((pass + 1))
	else
		echo "FAIL timing-order $1/$2:"
		sed 's/^/    /' <<<"$out" | tail -n 5
		fail=$((fail + 1))
	fi
done
# The check must be able to fail: a run whose reorder block is bypassed
# (--no-reorder, a fault injected on purpose) has to differ.
out=$("$SIM" verify --traffic bulk --conns 4 --bytes 1048576 --seeds 3 --no-reorder 2>&1)
if grep -q '^FAIL' <<<"$out"; then
	echo "ok   no-reorder: bypassing the reorder block is detected"
	pass=$((pass + 1))
else
	echo "FAIL no-reorder: bypassing the reorder block went unnoticed"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
