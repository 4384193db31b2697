#!/usr/bin/env bash
# classify.sh - classify steering: several application contexts listen on one port
# (ftoe_listen_shared); with xdp-progs/classify at rx-pre, Linux clients from chosen source ports
# land exactly on the contexts that classify_flows / classify_ports name, map updates steer new
# flows, and without a classification (or naming no such context) connections are still served.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BPF=$BIN/flextoe-bpf
APP=$PWD/$BUILD/tests/tools/classify-app
CLASSIFY=$PWD/$BUILD/xdp-progs/classify.bpf.o
need_files "$BIN/flextoe" "$BIN/flextoe-loaderd" "$BIN/flextoe-echo" "$BPF" "$APP" "$CLASSIFY"

test_init classify

PORT=8000

eng_peer 10.94.2

# client.py SPORT...: one echo exchange per source port, in order; prints
# "SPORT ok" or "SPORT error ..." per port.
cat >"$TMP/client.py" <<'PY'
import os, socket, sys
host, port = os.environ["ENG_IP"], int(os.environ["PORT"])
for sp in map(int, sys.argv[1:]):
    try:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((os.environ["PEER_IP"], sp))
        s.settimeout(10)
        s.connect((host, port))
        msg = b"classify %d" % sp
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(100)
            if not b: break
            got += b
        s.close()
        print(sp, "ok" if got == msg else "error echo %r" % got)
    except Exception as e:
        print(sp, "error %r" % e)
PY
clients() { ENG_IP=$ENG_IP PORT=$PORT PEER_IP=$PEER_IP ns_exec peer python3 "$TMP/client.py" "$@"; }
# all_ok SPORT...: every client got its echo
all_ok() {
	local out
	out=$(clients "$@")
	[[ $(grep -c ' ok$' <<<"$out") -eq $# ]] || { echo "$out" >&2; return 1; }
}
# landed SPORT: the context id that accepted the connection from SPORT
landed() {
	wait_for "$TMP/app.out" "peer $PEER_IP:$1\$" >/dev/null || return 1
	sed -n "s/^accept id \([0-9]*\) peer $PEER_IP:$1\$/\1/p" "$TMP/app.out" | tail -n1
}
# expect_on ID SPORT...: connections from these ports were accepted by context ID
expect_on() {
	local want=$1 got sp; shift
	all_ok "$@" || return 1
	for sp in "$@"; do
		got=$(landed "$sp")
		[[ $got == "$want" ]] || { echo "sport $sp landed on context '$got', not $want" >&2; return 1; }
	done
}
le16() { printf '%02x%02x' $(($1 & 255)) $(($1 >> 8)); }
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
ip16() { printf '%02x' ${1//./ }; printf '%024d' 0; }
# struct classify_val: app_ctx, priority, flow_group 0 (keep the engine's)
cval() { echo "$(le32 "$1")$(le16 "${2:-0}")0000"; }
# struct classify_port_key {proto, pad, port}
port_key() { echo "0600$(le16 "$1")"; }
# struct classify_flow_key as the frame has it on RX: source = the peer
flow_key() { echo "0406$(le16 "$1")$(le16 $PORT)0000$(ip16 $PEER_IP)$(ip16 $ENG_IP)"; }
cstat() { # classify_stats counter: 2 flow hit, 3 port hit, 4 miss
	"$BPF" map lookup classify_stats "$1" --json |
		python3 -c "import json,sys; e=json.load(sys.stdin); print(sum(int.from_bytes(bytes.fromhex(v),'little') for v in e['values']))"
}

# ---- engine and three contexts on one port ----------------------------------------------
# FTOE_ENGINE_ARGS: extra engine flags (e.g. --workers 2: the staged pipeline)
# shellcheck disable=SC2086
t_check "engine starts" engine_start eng $ENG_IP/24 ${FTOE_ENGINE_ARGS:-}
engine_sockets
ns_bg eng "$APP" --port $PORT --contexts 3 >"$TMP/app.out" 2>&1
APP_PID=${NS_PIDS[-1]}
t_check "three contexts listen on port $PORT (ftoe_listen_shared)" wait_for "$TMP/app.out" "^ready"
mapfile -t IDS < <(sed -n 's/^ctx [0-9]* id \([0-9]*\) listening.*/\1/p' "$TMP/app.out")
A=${IDS[0]:-}; B=${IDS[1]:-}; C=${IDS[2]:-}
t_check "each context has its own id (ftoe_ctx_id): $A $B $C" \
	test -n "$C" -a "$A" != "$B" -a "$B" != "$C" -a "$A" != "$C"
plain_refused() {
	local out
	out=$(ns_exec eng timeout 5 "$BIN/flextoe-echo" --port $PORT 2>&1) && return 1
	grep -qi 'in use' <<<"$out" || { echo "$out" >&2; return 1; }
}
t_check "a plain listen on the shared port is refused (address in use)" plain_refused

# ---- no classify: served, spread by hash ---------------------------------------------------
t_check "without classify: 6 connections all served" all_ok 44001 44002 44003 44004 44005 44006
N_SPREAD=$(for p in 44001 44002 44003 44004 44005 44006; do landed $p; done | sort -u | wc -l)
t_check "without classify: the 4-tuple hash spreads them ($N_SPREAD contexts used)" test "$N_SPREAD" -ge 2

# ---- classify at rx-pre: a port entry, then flow entries ------------------------------------
CID=$("$BPF" load "$CLASSIFY" --hook rx-pre 2>"$TMP/load.err")
t_check "load classify at rx-pre" test -n "$CID"
cat "$TMP/load.err" >&2
t_check "classify_ports: TCP port $PORT -> context $C" \
	"$BPF" map update classify_ports "$(port_key $PORT)" "$(cval "$C" 2)"
t_check "port entry: 5 new flows all land on context $C" \
	expect_on "$C" 45001 45002 45003 45004 45005
t_check "classify counted port hits" test "$(cstat 3)" -gt 0
t_check "classify_flows: sport 45011 -> $A, 45012 -> $B" sh -c \
	"'$BPF' map update classify_flows $(flow_key 45011) $(cval "$A") &&
	 '$BPF' map update classify_flows $(flow_key 45012) $(cval "$B")"
t_check "flow entries win over the port entry: 45011 on $A" expect_on "$A" 45011
t_check "flow entries win over the port entry: 45012 on $B" expect_on "$B" 45012
t_check "other ports still follow the port entry: 45013 on $C" expect_on "$C" 45013
t_check "classify counted flow hits" test "$(cstat 2)" -gt 0

# ---- map updates: new flows follow --------------------------------------------------------------
t_check "update classify_ports: port $PORT -> context $A" \
	"$BPF" map update classify_ports "$(port_key $PORT)" "$(cval "$A")"
t_check "after the update new flows land on $A" expect_on "$A" 45021 45022 45023 45024
t_check "update classify_flows: sport 45031 -> $B" \
	"$BPF" map update classify_flows "$(flow_key 45031)" "$(cval "$B")"
t_check "45031 on $B" expect_on "$B" 45031
t_check "delete the flow entry of 45012" "$BPF" map delete classify_flows "$(flow_key 45012)"
t_check "a flow without its own entry follows the port entry ($A)" expect_on "$A" 45032

# ---- fallbacks --------------------------------------------------------------------------------
t_check "classify naming a context that does not listen (id 99)" \
	"$BPF" map update classify_ports "$(port_key $PORT)" "$(cval 99)"
t_check "... still served, by one of the listeners" all_ok 45041 45042
t_check "unload classify" sh -c "'$BPF' unload $CID >/dev/null"
t_check "without classify again: served" all_ok 45051 45052

# ---- per-context accept counts -------------------------------------------------------------------
kill "$(pgrep -P "$APP_PID" -x classify-app)"
t_check "application exits and reports" wait_for "$TMP/app.out" "^total id $C"
TOTAL=$(awk '/^total id/ { n += $5 } END { print n + 0 }' "$TMP/app.out")
ACC=$(grep -c '^accept id' "$TMP/app.out")
t_check "every connection was accepted exactly once ($TOTAL of 24)" test "$TOTAL" -eq 24 -a "$ACC" -eq 24
t_check "engine still running" kill -0 "$(cat "$RUN/flextoe.pid")"

t_summary
