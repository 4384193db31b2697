#!/usr/bin/env bash
# The README's demo: install what is needed, build, then show the engine
# serving a Linux peer with an XDP program attached.
#
#   host "engine": the flextoe daemon owns veth0 (AF_XDP) with address
#                  10.77.0.10, and flextoe-echo serves port 7 through it
#   host "client": a Linux host with 10.77.0.2 and 10.77.0.3
#
# 1. the Linux client pings the engine and gets its data echoed over TCP;
# 2. `flextoe-fw apply` loads the firewall at the engine's rx-pre hook with a
#    rule set that denies 10.77.0.3: that client is blocked, the other is not;
# 3. the hook's counters and `flextoe-fw stats` show what the firewall did,
#    and a second rule set, swapped in atomically, lets both through;
# 4. an unmodified Debian program, redis-server, runs under flextoe-run on
#    the engine (the firewall still attached) and serves a Linux redis-cli;
# 5. a TCP trace (tcp_trace at rx-post and tx-post) of one more exchange,
#    drawn with --plot;
# 6. everything is removed at the end, whatever happens.
#
# Any step that does not give the expected result stops the demo with a
# message and a non-zero exit status.
#
# Traffic stays between the two network namespaces the script creates.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
	echo "demo: run as root (it installs packages and creates network namespaces)" >&2
	exit 1
fi
scripts/deps.sh
echo "== building (make -j2)"
make -s -j2 all >/dev/null

. tests/lib/netns.sh
ns_init
BIN=build/bin
RUN=$(mktemp -d /tmp/flextoe-demo.XXXXXX)
export FLEXTOE_RUN_DIR=$RUN
trap 'ns_cleanup; rm -rf "$RUN"' EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

step "1. two hosts joined by a veth pair"
ns_add engine
ns_add client
ns_link engine veth0 10.77.0.1/24 client veth1 10.77.0.2/24
ip -n "$(ns_name client)" addr add 10.77.0.3/24 dev veth1
echo "engine host: kernel 10.77.0.1, FlexTOE engine 10.77.0.10 on veth0"
echo "client host: Linux, 10.77.0.2 and 10.77.0.3"

step "2. start the engine and an echo server on it"
ns_bg engine "$BIN/flextoe" --iface veth0 --ip 10.77.0.10/24 --run-dir "$RUN" >"$RUN/engine.log" 2>&1
for _ in $(seq 50); do [[ -S $RUN/flextoe.sock && -S $RUN/loader.sock ]] && break; sleep 0.1; done
[[ -S $RUN/flextoe.sock && -S $RUN/loader.sock ]] || fail "the engine did not start: $(tail -n 5 "$RUN/engine.log")"
ns_bg engine "$BIN/flextoe-echo" --port 7 >"$RUN/echo.log" 2>&1
sleep 0.5
ns_exec client ping -c 2 -W 2 -q 10.77.0.10 | sed -n '/packets/p'

echo_from() {	# echo_from SRC served|blocked: a Linux TCP client from SRC
	ns_exec client python3 - "$1" "$2" <<'PY' || fail "echo from $1 was not $2"
import socket, sys
src, want = sys.argv[1], sys.argv[2]
msg = b"hello from %s" % src.encode()
try:
    s = socket.create_connection(("10.77.0.10", 7), timeout=2, source_address=(src, 0))
    s.sendall(msg)
    got = s.recv(100)
    s.close()
    print("  %s -> engine: echoed %r" % (src, got))
    sys.exit(0 if want == "served" and got == msg else 1)
except OSError as e:
    print("  %s -> engine: %s" % (src, e))
    sys.exit(0 if want == "blocked" else 1)
PY
}
echo_from 10.77.0.2 served
echo_from 10.77.0.3 served

step "3. attach the firewall at rx-pre, with a rule that blocks 10.77.0.3"
cat >"$RUN/demo.rules" <<'R'
# ACTION PROTO SRC          SPORT DST            DPORT
deny     any   10.77.0.3/32 any   any            any
allow    tcp   10.77.0.0/24 any   10.77.0.10/32  7
allow    any   any          any   any            any
policy deny
R
sed 's/^/  /' "$RUN/demo.rules"
"$BIN/flextoe-fw" apply "$RUN/demo.rules" | sed 's/^/  /'
echo_from 10.77.0.2 served
echo_from 10.77.0.3 blocked

step "4. what the hook and the rules saw"
"$BIN/flextoe-bpf" list
"$BIN/flextoe-fw" stats

step "5. a new rule set, swapped in atomically: both clients are served again"
cat >"$RUN/demo2.rules" <<'R'
allow    tcp   10.77.0.0/24 any   10.77.0.10/32  7
allow    any   any          any   any            any
policy deny
R
"$BIN/flextoe-fw" apply "$RUN/demo2.rules" | sed 's/^/  /'
echo_from 10.77.0.3 served

step "6. an unmodified program: redis-server under flextoe-run, a Linux redis-cli"
# The Debian binary as installed, no relink: flextoe-run preloads
# libflextoe-posix.so, which puts its TCP sockets on the engine.
mkdir -p "$RUN/redis"
ns_bg engine "$BIN/flextoe-run" --run-dir "$RUN" -- redis-server --bind 10.77.0.10 \
	--port 6379 --protected-mode no --save '' --appendonly no --dir "$RUN/redis" \
	--daemonize no --loglevel warning >"$RUN/redis.log" 2>&1
for _ in $(seq 50); do
	ns_exec client redis-cli -h 10.77.0.10 ping >/dev/null 2>&1 && break
	sleep 0.2
done
echo "  engine: $BIN/flextoe-run redis-server --bind 10.77.0.10 --port 6379"
rcli() { ns_exec client timeout 5 redis-cli -h 10.77.0.10 -p 6379 "$@"; }
val="stored over FlexTOE at $(date +%T)"
out=$(rcli set demo:key "$val") || fail "redis-cli set: redis-server did not answer (see $RUN/redis.log: $(tail -n 3 "$RUN/redis.log"))"
echo "  client: redis-cli set demo:key \"$val\" -> $out"
[[ $out == OK ]] || fail "redis-cli set answered '$out'"
out=$(rcli get demo:key) || fail "redis-cli get failed"
echo "  client: redis-cli get demo:key -> \"$out\""
[[ $out == "$val" ]] || fail "redis-cli get returned '$out', not the value set"
out=$(rcli info clients | tr -d '\r' | sed -n 's/^connected_clients://p') || fail "redis-cli info failed"
echo "  redis-server reports ${out:-?} connected client(s) (this redis-cli, through the engine)"
"$BIN/flextoe-bpf" list | sed -n '1p;/rx-pre/p'

step "7. a TCP trace of one exchange (flextoe-bpf trace port 7)"
# The exchange starts once both programs are attached (the "tracing at"
# line; the loads can take seconds on a busy machine), and --duration
# counts from there.
"$BIN/flextoe-bpf" trace port 7 --duration 3 --plot "$RUN/trace.svg" >"$RUN/trace.txt" 2>"$RUN/trace.err" &
tpid=$!
for _ in $(seq 300); do
	grep -q "tracing at" "$RUN/trace.err" && break
	kill -0 "$tpid" 2>/dev/null || break
	sleep 0.1
done
grep -q "tracing at" "$RUN/trace.err" || fail "flextoe-bpf trace did not attach: $(cat "$RUN/trace.err")"
echo_from 10.77.0.2 served
wait "$tpid" || fail "flextoe-bpf trace failed: $(cat "$RUN/trace.err")"
sed 's/^/  /' "$RUN/trace.txt"
grep -h "record" "$RUN/trace.err" | sed 's/^/  /'
# the exchange drawn (--plot: sequence/time, cwnd or rate, srtt; docs/operating.md)
grep -q "<svg" "$RUN/trace.svg" 2>/dev/null || fail "trace --plot drew nothing: $(tail -n 2 "$RUN/trace.err")"
cp "$RUN/trace.svg" "${FLEXTOE_DEMO_PLOT:-/tmp/flextoe-demo-trace.svg}" &&
	echo "  drawn: ${FLEXTOE_DEMO_PLOT:-/tmp/flextoe-demo-trace.svg}"
# the client's data in at rx-post and its echo out at tx-post
grep -Eq ' rx 10\.77\.0\.2\.[0-9]+ > 10\.77\.0\.10\.7 .* len [1-9]' "$RUN/trace.txt" &&
	grep -Eq ' tx 10\.77\.0\.10\.7 > 10\.77\.0\.2\.[0-9]+ .* len [1-9]' "$RUN/trace.txt" ||
	fail "the trace does not show the exchange's data both ways ($(tail -n 1 "$RUN/trace.err"))"

step "done: stopping the engine and removing the namespaces"
