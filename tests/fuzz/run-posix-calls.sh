#!/usr/bin/env bash
# Fuzz the POSIX socket calls (build/fuzz/fuzz_posix_calls) under flextoe-run against the engine for
# a short while (default 30 s) and print "fuzz-posix-calls: N passed, N failed" for tests/run-all.sh.
#
# The target runs each input's call sequence in the engine world (own address
# the engine's, echo peer in another namespace) and, as world B, on the
# kernel over loopback; ASan/UBSan, a leaked descriptor, a crash or a hang
# (-timeout) fail the run.  FUZZ_POSIX_STRICT=1 also aborts on the first
# difference between the worlds (posix_diff.sh lists them all instead).
# FUZZ_POSIX_MODE=kernel runs the target on the kernel alone (no engine, no
# library): the harness's own check.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
. tests/lib/posix.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
FUZZ=$PWD/${FUZZ_BIN:-build/fuzz/fuzz_posix_calls}
SOCKDIFF=$PWD/$BUILD/tests/tools/sockdiff
SECS=${FUZZ_SECONDS:-30}
MODE=${FUZZ_POSIX_MODE:-engine}
for f in "$FUZZ" "$SOCKDIFF"; do
	if [[ ! -x $f ]]; then
		echo "fuzz-posix-calls: $f not built (run 'make all fuzz')" >&2
		echo "fuzz-posix-calls: 0 passed, 1 failed"
		exit 1
	fi
done
if [[ $MODE == engine && ! -x $BIN/flextoe-run ]]; then
	echo "fuzz-posix-calls: $BIN/flextoe-run not built (run make): the POSIX library is what this fuzzes" >&2
	echo "fuzz-posix-calls: 0 passed, 1 failed"
	exit 1
fi

ns_init
TMP=$(mktemp -d /tmp/ftoe-fuzz-posix.XXXXXX)
trap 'ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
mkdir -p "$TMP/corpus"
# Seeds, 5 bytes per call (seq_decode: opcode, slot, a, b, c): a server that
# the peer connects to and that echoes, and a client of the echo peer.
printf '\x00\x00\x00\x00\x00\x08\x00\x00\x02\x00\x01\x00\x00\x01\x00\x02\x00\x02\x00\x00\x05\x00\x00\x00\x00\x03\x00\x01\x01\x00\x0a\x01\x00\x02\x00\x0b\x01\x00\x03\x01\x07\x01\x00\x00\x00' \
	>"$TMP/corpus/server"
printf '\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x0a\x00\x00\x02\x00\x0b\x00\x00\x03\x01\x06\x00\x01\x00\x00\x0b\x00\x00\x03\x00\x07\x00\x00\x00\x00' \
	>"$TMP/corpus/client"

RUN=$TMP/run
posix_hosts 10.85	# ENG_IP 10.85.0.5, KERN_IP .1, PEER_IP .2
ns_bg eng "$SOCKDIFF" peer --bind 127.0.0.2 --port 7500 --ctl "$TMP/peer-lo.sock" >"$TMP/peer-lo.log" 2>&1
wait_cmd 5 test -S "$TMP/peer-lo.sock"

if [[ $MODE == engine ]]; then
	ns_bg peer "$SOCKDIFF" peer --bind $PEER_IP --port 7500 --ctl "$TMP/peer-veth.sock" >"$TMP/peer-veth.log" 2>&1
	wait_cmd 5 test -S "$TMP/peer-veth.sock"
	if ! engine_start eng $ENG_IP/24; then
		echo "fuzz-posix-calls: the engine did not start" >&2
		echo "fuzz-posix-calls: 0 passed, 1 failed"
		exit 1
	fi
	LAUNCH=("$BIN/flextoe-run" --run-dir "$RUN" --)
	WORLD=(FUZZ_POSIX_OWN=$ENG_IP FUZZ_POSIX_PEER=$PEER_IP FUZZ_POSIX_CTL="$TMP/peer-veth.sock"
	       FUZZ_POSIX_B_OWN=127.0.0.1 FUZZ_POSIX_B_PEER=127.0.0.2 FUZZ_POSIX_B_CTL="$TMP/peer-lo.sock")
else
	LAUNCH=()
	WORLD=(FUZZ_POSIX_OWN=127.0.0.1 FUZZ_POSIX_PEER=127.0.0.2 FUZZ_POSIX_CTL="$TMP/peer-lo.sock")
fi
echo "# mode $MODE, $SECS s"
ns_exec eng env "${WORLD[@]}" FUZZ_POSIX_PEER_PORT=7500 FUZZ_POSIX_STRICT="${FUZZ_POSIX_STRICT:-0}" \
	"${LAUNCH[@]}" "$FUZZ" -max_total_time="$SECS" -max_len=320 -timeout=30 -print_final_stats=1 \
	-artifact_prefix="$TMP/" "$TMP/corpus" >"$TMP/log" 2>&1
rc=$?
tail -n 15 "$TMP/log"
if [[ $rc -eq 0 ]]; then
	echo "fuzz-posix-calls: 1 passed, 0 failed"
else
	crash=$(ls "$TMP"/crash-* "$TMP"/leak-* "$TMP"/timeout-* 2>/dev/null | head -n1)
	if [[ -n $crash ]]; then
		mkdir -p build/fuzz/artifacts
		cp "$crash" build/fuzz/artifacts/
		echo "fuzz-posix-calls: reproducer saved to build/fuzz/artifacts/$(basename "$crash")"
	fi
	grep -m3 -E 'ERROR|SUMMARY|fuzz_posix_calls:' "$TMP/log"
	echo "fuzz-posix-calls: 0 passed, 1 failed"
	exit 1
fi
