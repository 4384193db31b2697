#!/usr/bin/env bash
# posix_basic.sh - unmodified-program semantics over the engine (libflextoe-posix via flextoe-run):
# posix-test (tests/tools/posix-test) against a Linux peer in another namespace - epoll over
# engine/UNIX/pipe/timerfd fds, ET/LT/ONESHOT, poll/select near FD_SETSIZE, listen and accept on
# different threads, non-blocking connect, dup2 over stdin, fork after accept, SIGPIPE,
# MSG_NOSIGNAL, SO_RCVTIMEO, EINTR, options and TCP_INFO; flextoe-run without an engine (and
# with FLEXTOE_FALLBACK=kernel); the engine killed under blocked readers.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
PT=$PWD/$BUILD/tests/tools/posix-test
need_files "$BIN/flextoe" "$BIN/flextoe-run" "$PWD/$BUILD/lib/libflextoe-posix.so" "$PT"
need_tools python3

test_init posix-basic

ENG_IP=10.81.0.5
KERN_IP=10.81.0.1
PEER_IP=10.81.0.2
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
# sanitizer reports of the preloaded library go to files, not into the
# programs' output (make san; tests/run-all.sh collects them)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

# ---- flextoe-run without an engine -------------------------------------------------
out=$("$BIN/flextoe-run" --run-dir "$TMP/none" true 2>&1); rc=$?
t_check "flextoe-run without an engine exits non-zero" test $rc -ne 0
t_check "... with one clear line" \
	test "$(printf '%s\n' "$out" | wc -l)" -eq 1 -a -n "$(grep 'no flextoe engine' <<<"$out")"
out=$(FLEXTOE_FALLBACK=kernel "$BIN/flextoe-run" --run-dir "$TMP/none" sh -c 'echo ran' 2>&1); rc=$?
t_check "FLEXTOE_FALLBACK=kernel runs the program with one warning" \
	test $rc -eq 0 -a "$(grep -c warning <<<"$out")" -eq 1 -a -n "$(grep '^ran$' <<<"$out")"
t_check "flextoe-run without a command is a usage error" \
	sh -c "! '$BIN/flextoe-run' >/dev/null 2>&1"

# ---- the engine and the peer ---------------------------------------------------------
ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
engine_start eng $ENG_IP/24 || { t_fail "engine starts"; t_summary; exit 1; }
t_check "application socket exists" wait_cmd 5 test -S "$RUN/flextoe.sock"
ns_bg peer python3 tests/tools/posix-test/peer.py $ENG_IP 7000 >"$TMP/peer.log" 2>&1
t_check "Linux peer ready" wait_for "$TMP/peer.log" "peer ready"

# ---- posix-test: one result line per check ----------------------------------------------
ns_exec eng timeout 120 "$BIN/flextoe-run" "$PT" $PEER_IP 7000 8000 >"$TMP/pt.out" 2>&1
rc=$?
while read -r word name rest; do
	case $word in
	ok) t_ok "posix-test $name" ;;
	FAIL) t_fail "posix-test $name $rest" ;;
	esac
done <"$TMP/pt.out"
t_check "posix-test ran every check and exited 0 (rc $rc)" \
	test $rc -eq 0 -a "$(grep -c "^ok" "$TMP/pt.out")" -ge 60
[[ $rc -eq 0 ]] || sed 's/^/    | /' "$TMP/pt.out" | tail -20

# ---- the same program without the library: kernel sockets give the same answers ---------
# (the checks that need an engine - TCP_USER_TIMEOUT refused - are expected to differ)
ns_exec eng timeout 60 "$PT" $PEER_IP 7000 8100 nb-connect dup2-stdin rcvtimeo sigpipe data block-own \
	>"$TMP/pt-kernel.out" 2>&1
t_check "posix-test's semantics checks pass on the kernel's TCP too" \
	test "$(grep -c '^FAIL' "$TMP/pt-kernel.out")" -eq 0

# ---- the engine dies under blocked readers ------------------------------------------------
ns_bg eng sh -c "timeout 30 '$BIN/flextoe-run' '$PT' $PEER_IP 7000 8200 engine-killed; echo rc=\$?" \
	>"$TMP/ek.out" 2>&1
if wait_for "$TMP/ek.out" "^ready" 10; then
	kill -9 "$(cat "$RUN/flextoe.pid")"
	t_check "blocked readers return after the engine is killed (no hang)" \
		wait_for "$TMP/ek.out" "blocked_readers_econnreset" 10
	t_check "... each with ECONNRESET" grep -q "^ok blocked_readers_econnreset" "$TMP/ek.out"
	t_check "... and a send then fails with EPIPE" \
		grep -q "^ok send_after_engine_death_epipe" "$TMP/ek.out"
	t_check "... epoll and poll report the dead sockets at once" \
		grep -q "^ok poll_after_engine_death" "$TMP/ek.out"
	t_check "... the program exits 0" wait_for "$TMP/ek.out" "^rc=0" 5
else
	t_fail "engine-killed test started"
fi
t_summary
