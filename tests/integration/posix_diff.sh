#!/usr/bin/env bash
# posix_diff.sh - differential test of the POSIX socket calls: generated sequences (sockdiff) on a
# kernel socket and on an engine socket under flextoe-run must give the same results and errnos.
#
# Worlds (tests/tools/sockdiff, docs/testing.md):
#   loopback  own 127.0.0.1, echo peer 127.0.0.2 in the engine's namespace (kernel)
#   veth      own $KERN_IP, echo peer $PEER_IP in the peer namespace (kernel)
#   engine    own $ENG_IP (the flextoe daemon), echo peer $PEER_IP (engine)
# Cases:
#   1. self-check: loopback vs veth, no library: must be 0 mismatches (the
#      generator, the model and the normalization are deterministic)
#   2. loopback vs engine in one process under flextoe-run, once per seed
#      of POSIX_DIFF_SEEDS (skipped with POSIX_DIFF_MODE=kernel).  Every
#      mismatch is listed, and none is allowed (POSIX_DIFF_MAX_DIFFER, 0;
#      docs/posix.md "Differential test").
# POSIX_DIFF_COUNT (300) and POSIX_DIFF_LEN (20) size a run; POSIX_DIFF_SEEDS
# ("1 2", at most 3: each seed's sequences have ports of their own) or
# POSIX_DIFF_SEED (one seed) pick the sequences; the self-check runs the
# first seed.  Every mismatch is printed with the sequence and both worlds'
# results; POSIX_DIFF_ONLY=I reruns sequence I of the first seed alone and
# prints it whole.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
. tests/lib/posix.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
SOCKDIFF=$PWD/$BUILD/tests/tools/sockdiff
MODE=${POSIX_DIFF_MODE:-engine}
COUNT=${POSIX_DIFF_COUNT:-300}
LEN=${POSIX_DIFF_LEN:-20}
SEEDS=${POSIX_DIFF_SEEDS:-${POSIX_DIFF_SEED:-1 2}}
read -r SEED _ <<<"$SEEDS"
[[ -n ${POSIX_DIFF_ONLY:-} ]] && SEEDS=$SEED
MAX_DIFFER=${POSIX_DIFF_MAX_DIFFER:-0}
ONLY=${POSIX_DIFF_ONLY:+--only $POSIX_DIFF_ONLY}	# one sequence, printed whole (-v)
need_files "$SOCKDIFF"
[[ $MODE == engine ]] && need_files "$BIN/flextoe" "$BIN/flextoe-run" "$PWD/$BUILD/lib/libflextoe-posix.so"

test_init posix-diff

PEER_PORT=7400
RUN=$TMP/run
posix_hosts 10.84	# ENG_IP 10.84.0.5, KERN_IP .1, PEER_IP .2

ns_bg eng "$SOCKDIFF" peer --bind 127.0.0.2 --port $PEER_PORT --ctl "$TMP/peer-lo.sock" >"$TMP/peer-lo.log" 2>&1
ns_bg peer "$SOCKDIFF" peer --bind $PEER_IP --port $PEER_PORT --ctl "$TMP/peer-veth.sock" >"$TMP/peer-veth.log" 2>&1
t_check "echo peers start (loopback and veth)" \
	sh -c "grep -q echo '$TMP/peer-lo.log' 2>/dev/null || sleep 1; grep -q echo '$TMP/peer-lo.log' && grep -q echo '$TMP/peer-veth.log'"

# run NAME A-PORT-BASE B-PORT-BASE A-OWN A-PEER A-CTL B-OWN B-PEER B-CTL B-NAME [LAUNCHER...]
# Each run's worlds have ports of their own: the self-check's closed
# connections sit in TIME_WAIT in the engine host's kernel and would make
# the next run's binds (to 127.0.0.1, or to 0.0.0.0) fail with EADDRINUSE.
run_diff() {
	local out=$TMP/$1.out abase=$2 bbase=$3; shift 3
	local aown=$1 apeer=$2 actl=$3 bown=$4 bpeer=$5 bctl=$6 bname=$7; shift 7
	ns_exec eng timeout 600 "$@" "$SOCKDIFF" run --seed "${RUN_SEED:-$SEED}" --count "$COUNT" --len "$LEN" \
		--peer-port $PEER_PORT --settle 500 ${ONLY:+$ONLY -v} \
		--a-name loopback --a-own "$aown" --a-peer "$apeer" --a-ctl "$actl" --a-port-base "$abase" \
		--b-name "$bname" --b-own "$bown" --b-peer "$bpeer" --b-ctl "$bctl" --b-port-base "$bbase" \
		>"$out" 2>&1
	local rc=$?
	if [[ $rc -ne 0 ]]; then
		# the mismatches (at most 20 sequences' worth), then the list of
		# distinct first differences and the summary
		grep -A$((LEN + 1)) '^MISMATCH' "$out" | head -n $((20 * (LEN + 3)))
		sed -n '/^distinct first differences/,$p' "$out" | sed 's/^/# /'
	else
		[[ -n $ONLY ]] && cat "$out"
		# calls skipped in both worlds, each for a difference docs/posix.md lists
		grep '^skipped' "$out" | sed 's/^/# /'
		tail -n 1 "$out" | sed 's/^/# /'
	fi
	return $rc
}

t_check "self-check: $COUNT sequences, loopback vs veth, both on the kernel: 0 mismatches" \
	run_diff self 20000 25000 127.0.0.1 127.0.0.2 "$TMP/peer-lo.sock" $KERN_IP $PEER_IP "$TMP/peer-veth.sock" veth

if [[ $MODE == engine ]]; then
	t_check "engine starts" engine_start eng $ENG_IP/24
	off=0
	for RUN_SEED in $SEEDS; do
		# each seed's sequences on ports of their own (4 a sequence, 4096
		# from each base): none meets the TIME_WAIT of the seed before
		run_diff engine $((15000 + off)) $((10000 + off)) 127.0.0.1 127.0.0.2 \
			"$TMP/peer-lo.sock" $ENG_IP $PEER_IP "$TMP/peer-veth.sock" \
			engine "$BIN/flextoe-run" --run-dir "$RUN" --
		off=$((off + 4 * COUNT))
		differ=$(sed -n 's/^sockdiff: .*: \([0-9]*\) mismatching.*/\1/p' "$TMP/engine.out" | tail -n 1)
		echo "# seed $RUN_SEED, kernel vs engine: ${differ:-?} of $COUNT sequences differ" \
			"(at most $MAX_DIFFER allowed)"
		t_check "seed $RUN_SEED: kernel (loopback) vs engine under flextoe-run: $COUNT sequences ran to the end" \
			test -n "$differ"
		t_check "seed $RUN_SEED: kernel (loopback) vs engine: at most $MAX_DIFFER of $COUNT sequences differ" \
			test "${differ:-999999}" -le "$MAX_DIFFER"
	done
	t_check "the engine is still running" kill -0 "$(cat "$RUN/flextoe.pid" 2>/dev/null)"
fi
t_summary
