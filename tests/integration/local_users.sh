#!/usr/bin/env bash
# local_users.sh - hostile local users (issue 12): as user nobody, a listen on port 80 is refused
# with EACCES (native API and POSIX bind) and one on 8080 echoes a Linux peer's bytes;
# CAP_NET_BIND_SERVICE admits port 80 unless held only in a user namespace of its own; the
# engine follows its namespace's ip_unprivileged_port_start; commands naming another user's
# sockets (splice included) are refused with EBADF and leave them working; a shared port is not
# shared across users; with --app-group only root and the group's members get a context.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
TRAFFIC=$PWD/tests/tools/traffic

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
PROBE=$PWD/$BUILD/tests/tools/appif-probe
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-run" "$PROBE"
need_tools setpriv unshare python3

test_init local-users
chmod 755 "$TMP"	# nobody must reach the run directory inside

GID=4242		# the --app-group: a gid no user has on its own

eng_peer 10.86.0 -w

# as_nobody [SETPRIV-ARGS...] -- CMD...: CMD in the engine's namespace as uid/gid 65534
as_nobody() {
	local args=()
	while [[ $1 != -- ]]; do args+=("$1"); shift; done
	shift
	ns_exec eng setpriv --reuid=65534 --regid=65534 "${args[@]:---clear-groups}" "$@"
}
# expect_out WANT CMD...: CMD's output (stdout+stderr) contains WANT
expect_out() {
	local want=$1 out; shift
	out=$("$@" 2>&1)
	if grep -qF -- "$want" <<<"$out"; then return 0; fi
	echo "    wanted '$want', got: $out" >&2
	return 1
}
# expect_rc RC CMD...: CMD exits with RC
expect_rc() {
	local want=$1 rc; shift
	"$@" >"$TMP/last.out" 2>&1
	rc=$?
	[[ $rc -eq $want ]] && return 0
	echo "    wanted exit $want, got $rc:" >&2; cat "$TMP/last.out" >&2
	return 1
}

ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" --no-loaderd -v \
	>"$TMP/eng.log" 2>&1
t_check "engine starts" wait_for "$TMP/eng.log" "ready:"
t_check "flextoe.sock exists" wait_cmd 5 test -S "$RUN/flextoe.sock"
t_check "without --app-group flextoe.sock is open to every user (0666)" \
	test "$(stat -c %a "$RUN/flextoe.sock")" = 666

# ---- privileged ports --------------------------------------------------------------------------
t_check "nobody: listen on port 80 is refused with EACCES" \
	expect_out "listen 80: EACCES" as_nobody -- "$PROBE" listen 80
t_check "nobody: flextoe-echo --port 80 fails and says why" \
	expect_out "listen on port 80: permission denied" as_nobody -- "$BIN/flextoe-echo" --port 80
t_check "the daemon logs the refusal" \
	wait_for "$TMP/eng.log" "listen port 80 refused: ports below 1024 need CAP_NET_BIND_SERVICE" 2
t_check "nobody: listen on port 1024 works" \
	expect_out "listen 1024: ok" as_nobody -- "$PROBE" listen 1024
t_check "nobody with CAP_NET_BIND_SERVICE: listen on port 80 works" \
	expect_out "listen 80: ok" as_nobody --clear-groups --inh-caps +net_bind_service \
	--ambient-caps +net_bind_service -- "$PROBE" listen 80
t_check "nobody as root of a user namespace of its own: port 80 is still refused" \
	expect_out "listen 80: EACCES" as_nobody -- unshare -Ur "$PROBE" listen 80
t_check "root: listen on port 80 works" expect_out "listen 80: ok" ns_exec eng "$PROBE" listen 80

# the rule is the engine's namespace's ip_unprivileged_port_start
ns_exec eng sysctl -qw net.ipv4.ip_unprivileged_port_start=9000
t_check "ip_unprivileged_port_start=9000: nobody's listen on 8500 is refused" \
	expect_out "listen 8500: EACCES" as_nobody -- "$PROBE" listen 8500
t_check "ip_unprivileged_port_start=9000: nobody's listen on 9000 works" \
	expect_out "listen 9000: ok" as_nobody -- "$PROBE" listen 9000
ns_exec eng sysctl -qw net.ipv4.ip_unprivileged_port_start=1024

# port 8080 serves a Linux peer
ns_bg eng setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/flextoe-echo" --port 8080 \
	>"$TMP/echo8080.out" 2>&1
t_check "nobody: flextoe-echo --port 8080 listens" wait_for "$TMP/echo8080.out" listening
t_check "a Linux peer's bytes come back through nobody's port 8080" \
	expect_out "ok echoed=" ns_exec peer timeout 60 python3 "$TRAFFIC/echo_clients.py" \
	$ENG_IP 8080 4 65536

# POSIX sockets: bind() itself says EACCES, as on Linux
cat >"$TMP/bind.py" <<'PY'
import errno, socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
try:
    s.bind((ip, port)); s.listen(4)
    print("bound %d" % port)
except OSError as e:
    print("bind %d: %s" % (port, errno.errorcode.get(e.errno, e.errno)))
PY
# (under make san the preloaded ASan would report python's own leaks: not ours)
PYRUN=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0" "$BIN/flextoe-run" python3 "$TMP/bind.py")
t_check "nobody, POSIX: bind to the engine's address on port 80 is EACCES" \
	expect_out "bind 80: EACCES" as_nobody -- "${PYRUN[@]}" $ENG_IP 80
t_check "nobody, POSIX: bind and listen on the engine's address on port 8081 work" \
	expect_out "bound 8081" as_nobody -- "${PYRUN[@]}" $ENG_IP 8081

# ---- another user's sockets ----------------------------------------------------------------------
# root's echo holds a Linux client's connection while nobody sends the engine commands with
# every handle root's context can have (slots 0..63, generations 1..4), and splices its own
# connection with each; then the client's connection must still echo.
ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo7000.out" 2>&1
t_check "root: flextoe-echo --port 7000 listens" wait_for "$TMP/echo7000.out" listening
cat >"$TMP/victim.py" <<'PY'
import socket, sys, time, os
host, port, go, done = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port), timeout=10)
def echo(b):
    s.sendall(b); got = b""
    while len(got) < len(b):
        c = s.recv(65536)
        if not c: return False
        got += c
    return got == b
ok1 = echo(os.urandom(10000))
open(go, "w").close()
for _ in range(600):
    if os.path.exists(done): break
    time.sleep(0.05)
try:
    ok2 = echo(os.urandom(10000))
except OSError as e:
    ok2 = False
print("before=%s after=%s" % (ok1, ok2))
PY
cat >"$TMP/holder.py" <<'PY'
import socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(4)
c, _ = ls.accept(); time.sleep(30)
PY
ns_bg peer python3 "$TMP/holder.py" $PEER_IP 9100
ns_exec peer python3 "$TMP/victim.py" $ENG_IP 7000 "$TMP/go" "$TMP/done" >"$TMP/victim.out" 2>&1 &
VICTIM=$!
t_check "root's connection echoes" wait_cmd 10 test -e "$TMP/go"
t_check "nobody: every command naming another context's socket (splice included) is EBADF" \
	expect_out "refused with EBADF, 0 accepted, 0 other" as_nobody -- timeout 60 "$PROBE" forge \
	--own $PEER_IP:9100 --handles 64 --gens 4
touch "$TMP/done"
wait $VICTIM
t_check "root's connection still echoes afterwards" \
	expect_out "before=True after=True" cat "$TMP/victim.out"
t_check "the daemon logs the refused commands" \
	wait_for "$TMP/eng.log" "uid 65534: a command named handle .*not a socket of its own" 2

# a port shared (SO_REUSEPORT-like) is shared by one user only
ns_bg eng "$PROBE" listen --shared --hold 20 7100 >"$TMP/shared_root.out" 2>&1
t_check "root: shared listen on 7100" wait_for "$TMP/shared_root.out" "listen 7100: ok"
t_check "nobody: shared listen on root's shared port is EADDRINUSE" \
	expect_out "listen 7100: EADDRINUSE" as_nobody -- "$PROBE" listen --shared 7100
t_check "root: a second shared listen on 7100 works" \
	expect_out "listen 7100: ok" ns_exec eng "$PROBE" listen --shared 7100

# ---- --app-group -------------------------------------------------------------------------------
ns_cleanup_engine() {
	local pid
	pid=$(cat "$RUN/flextoe.pid" 2>/dev/null)
	[[ -n $pid ]] && kill "$pid" 2>/dev/null
	wait_cmd 10 bash -c "! test -e '$RUN/flextoe.pid'"
}
ns_cleanup_engine
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" --no-loaderd \
	--app-group $GID >"$TMP/eng2.log" 2>&1
t_check "engine with --app-group $GID starts" wait_for "$TMP/eng2.log" "ready:"
t_check "flextoe.sock is 0660, group $GID" \
	test "$(stat -c %a:%g "$RUN/flextoe.sock")" = "660:$GID"
t_check "nobody outside the group cannot connect (EACCES)" \
	expect_out "context: EACCES" as_nobody -- "$PROBE" listen 8080
t_check "... and is told why" \
	expect_out "only root and the engine's --app-group" as_nobody -- "$BIN/flextoe-echo" --port 8080
t_check "... and flextoe-run says so and exits 1" \
	expect_out "does not admit this user" as_nobody -- "${PYRUN[@]}" $ENG_IP 8082
t_check "... exit status 1" expect_rc 1 as_nobody -- "${PYRUN[@]}" $ENG_IP 8082
t_check "past the socket's mode (CAP_DAC_OVERRIDE) the daemon refuses it too" \
	expect_out "context: EACCES" as_nobody --clear-groups --inh-caps +dac_override \
	--ambient-caps +dac_override -- "$PROBE" listen 8080
t_check "... and logs it" wait_for "$TMP/eng2.log" \
	"uid 65534 refused: only root and members of group $GID (--app-group)" 2
t_check "nobody with $GID as a supplementary group may use the engine" \
	expect_out "listen 8080: ok" as_nobody --groups=$GID -- "$PROBE" listen 8080
t_check "nobody with $GID as its primary group may use the engine" \
	expect_out "listen 8080: ok" ns_exec eng setpriv --reuid=65534 --regid=$GID --clear-groups \
	"$PROBE" listen 8080
t_check "root may use the engine" expect_out "listen 8080: ok" ns_exec eng "$PROBE" listen 8080
t_check "an unknown --app-group name is a usage error (exit 2)" \
	expect_rc 2 "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --app-group no-such-group-ftoe

t_summary
