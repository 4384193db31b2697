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
# 4. a TCP trace (tcp_trace at rx-post and tx-post) of one more exchange;
# 5. everything is removed at the end, whatever happens.
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
ns_bg engine "$BIN/flextoe-echo" --port 7 >"$RUN/echo.log" 2>&1
sleep 0.5
ns_exec client ping -c 2 -W 2 -q 10.77.0.10 | sed -n '/packets/p'

echo_from() {	# echo_from SRC: a Linux TCP client from SRC
	ns_exec client python3 - "$1" <<'PY'
import socket, sys
src = sys.argv[1]
try:
    s = socket.create_connection(("10.77.0.10", 7), timeout=2, source_address=(src, 0))
    s.sendall(b"hello from %s" % src.encode())
    print("  %s -> engine: echoed %r" % (src, s.recv(100)))
    s.close()
except OSError as e:
    print("  %s -> engine: %s" % (src, e))
PY
}
echo_from 10.77.0.2
echo_from 10.77.0.3

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
echo_from 10.77.0.2
echo_from 10.77.0.3

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
echo_from 10.77.0.3

step "6. a TCP trace of one exchange (flextoe-bpf trace port 7)"
"$BIN/flextoe-bpf" trace port 7 --duration 3 >"$RUN/trace.txt" 2>&1 &
tpid=$!
sleep 1
echo_from 10.77.0.2 >/dev/null
wait "$tpid" || true
sed 's/^/  /' "$RUN/trace.txt"

step "done: stopping the engine and removing the namespaces"
