#!/usr/bin/env bash
# Differential tests: every shipped and test XDP object, and Debian's
# xdp-filter objects configured as xdp-filter would configure them, run on
# the runtime's JIT, its interpreter and the kernel (BPF_PROG_TEST_RUN) with
# the same generated frames (tests/diff/xdp_diff.c).
#
# One test per (object, program, engine pair).  Ends with "N passed, N
# failed"; exits 1 if anything failed.  Environment: BUILD (default build),
# DIFF_PACKETS (frames per program, default 2000), DIFF_SEED (default 1),
# XDPFILT_DIR (where xdp-tools installs its objects).
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
TOOL=$BUILD/tests/diff/xdp_diff
XDPFILT_DIR=${XDPFILT_DIR:-/usr/lib/x86_64-linux-gnu/bpf}
PACKETS=${DIFF_PACKETS:-2000}
SEED=${DIFF_SEED:-1}
LOGDIR=$BUILD/test-logs/diff

pass=0 fail=0 skip=0

if [[ ! -x $TOOL ]]; then
	echo "diff: $TOOL is missing: run 'make' first"
	echo "0 passed, 1 failed"
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "diff: run as root: the kernel verifier and BPF_PROG_TEST_RUN need it"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$LOGDIR"

objects=()
for o in "$BUILD"/xdp-progs/*.bpf.o "$BUILD"/tests/progs/*.bpf.o; do
	[[ -f $o ]] && objects+=("$o")
done
# xdp-filter's ten variants (xdp-tools): allow/deny x all/eth/ip/tcp/udp.
# They come with scripts/deps.sh, so a missing one is a failure.
for mode in alw dny; do
	for feat in all eth ip tcp udp; do
		objects+=("$XDPFILT_DIR/xdpfilt_${mode}_${feat}.o")
	done
done

echo "diff: ${#objects[@]} objects, $PACKETS frames per program, seed $SEED"
for obj in "${objects[@]}"; do
	name=$(basename "$obj")
	log=$LOGDIR/${name%.o}.log
	if [[ ! -f $obj ]]; then
		echo "FAIL $name: $obj is missing (install xdp-tools: scripts/deps.sh)"
		fail=$((fail + 1))
		continue
	fi
	"$TOOL" -n "$PACKETS" -s "$SEED" "$obj" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
	if [[ -z $line ]]; then
		# crashed, hung (alarm) or refused its arguments
		echo "FAIL $name: xdp_diff ended without a result (exit status $rc); end of $log:"
		tail -n 20 "$log" | sed 's/^/    /'
		fail=$((fail + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	s=$(sed -nE 's/^([0-9]+) skipped$/\1/p' "$log" | tail -n1)
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + ${s:-0}))
	if [[ $f -ne 0 || $rc -ne 0 ]]; then
		[[ $f -eq 0 ]] && fail=$((fail + 1))
		echo "FAIL $name ($p passed, $f failed); details from $log:"
		grep -E '^(FAIL|MISMATCH|    |  map )' "$log" | head -n 80 | sed 's/^/    /'
	else
		echo "ok   $name ($p passed${s:+, $s skipped})"
		grep -E '^SKIP' "$log" | sed 's/^/    /'
		grep -E '^  [^ ].*jit verdicts' "$log" | sed 's/^  /    /'
	fi
done

echo
[[ $skip -ne 0 ]] && echo "$skip skipped (see the SKIP lines above)"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
