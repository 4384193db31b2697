#!/usr/bin/env bash
# ops_ss.sh - flextoe-stat ss against what the peers saw (issue 11): 100 echo connections
# (flextoe-echo) and a bulk transfer (Linux -> flextoe-bulk) held open; the listing holds
# exactly those connections, ESTAB, with the byte counts the Linux peers moved; filters
# (state, sport, dport, dst PREFIX) pick the right subsets; -l lists the listeners with
# their application (-p); --json parses; usage errors are clear; a refused connect from the
# engine counts in TcpAttemptFails; each thread's busy share (#util) rises under a bulk transfer.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
STAT=$BIN/flextoe-stat
PEER=$PWD/tests/tools/traffic/hold_peer.py
NCONN=100
BULK=$((32 << 20))
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk" "$STAT"
need_tools python3

ns_init
TMP=$(mktemp -d /tmp/ftoe-ops-ss.XXXXXX)
trap 'touch "$TMP/echo.json.close" "$TMP/bulk.json.close"; ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT

eng_peer 10.91.0 -w
PEER_IP2=10.91.0.3
ip netns exec "$(ns_name peer)" ip addr add $PEER_IP2/24 dev veth1

t_check "engine starts" engine_start eng $ENG_IP/24
t_check "loaderd and the application socket are up" engine_sockets

ns_bg eng "$BIN/flextoe-echo" --port 7000 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens on 7000" wait_for "$TMP/echo.out" listening
ECHO_PID=$(sed -n 's/.*(pid \([0-9]*\)).*/\1/p' "$TMP/echo.out")
ns_bg eng "$BIN/flextoe-bulk" --listen 7100 --recv >"$TMP/bulk.out" 2>&1
t_check "flextoe-bulk listens on 7100" wait_for "$TMP/bulk.out" listening

# listeners first: nothing connected yet
ss_stat() { "$STAT" ss --run-dir "$RUN" "$@"; }
ss_stat -l -p >"$TMP/listen.txt" 2>&1
sed 's/^/# /' "$TMP/listen.txt"
t_check "ss -l lists the two listeners (7000, 7100), LISTEN" \
	sh -c "[ \$(grep -c '^LISTEN .*$ENG_IP:\(7000\|7100\) ' '$TMP/listen.txt') -eq 2 ]"
t_check "ss -l -p names flextoe-echo (pid $ECHO_PID) as the owner of 7000" \
	grep -q ":7000 .*pid=$ECHO_PID," "$TMP/listen.txt"

ns_bg peer python3 "$PEER" echo $ENG_IP 7000 $NCONN "$TMP/echo.json" $PEER_IP2 >"$TMP/echo.peer" 2>&1
ns_bg peer python3 "$PEER" send $ENG_IP 7100 $BULK "$TMP/bulk.json" >"$TMP/bulk.peer" 2>&1
# while the bulk transfer runs (the first listing that has it)
bulk_listed() {
	ss_stat --json >"$TMP/during.json" 2>"$TMP/during.err" &&
		python3 -c "import json,sys; a=json.load(open('$TMP/during.json')); sys.exit(not any(c['local_port']==7100 for c in a))"
}
t_check "ss --json parses and lists the bulk connection as soon as it is open" wait_cmd 20 bulk_listed
echo "# first listing with it: bytes_received $(python3 -c "import json; print([c['bytes_received'] for c in json.load(open('$TMP/during.json')) if c['local_port']==7100])") of $BULK"
t_check "the echo peers are done and hold $NCONN connections" wait_for "$TMP/echo.peer" holding 60
t_check "the bulk peer sent $BULK bytes and holds its connection" wait_for "$TMP/bulk.peer" holding 60
# the receiver reads everything: wait until the engine has it all
bulk_in() { ss_stat --json sport = :7100 | python3 -c "import json,sys; a=json.load(sys.stdin); sys.exit(not (a and a[0]['bytes_received']==$BULK and a[0]['recv_q']==0))"; }
t_check "the engine received all $BULK bytes of the bulk connection" wait_cmd 20 bulk_in

ss_stat --json >"$TMP/all.json"
ss_stat -i -p >"$TMP/all.txt"
head -n 5 "$TMP/all.txt" | sed 's/^/# /'
# compare: exactly the peers' connections, their bytes, ESTAB
python3 - "$TMP/all.json" "$TMP/echo.json" "$TMP/bulk.json" $ENG_IP $ECHO_PID >"$TMP/cmp.out" <<'PY'
import json, sys
conns = json.load(open(sys.argv[1])); echo = json.load(open(sys.argv[2]))
bulk = json.load(open(sys.argv[3])); eng, echo_pid = sys.argv[4], int(sys.argv[5])
bad = []
want = {}
for r in echo: want[(r["laddr"], r["lport"])] = ("echo", 7000, r["sent"], r["received"])
for r in bulk: want[(r["laddr"], r["lport"])] = ("bulk", 7100, r["sent"], 0)
got = {(c["remote_ip"], c["remote_port"]): c for c in conns}
if set(got) != set(want):
    bad.append("listed %d, peers %d; extra %s missing %s" % (len(got), len(want),
               sorted(set(got) - set(want))[:3], sorted(set(want) - set(got))[:3]))
for k, (kind, port, sent, recvd) in want.items():
    c = got.get(k)
    if not c: continue
    if c["state"] != "ESTAB" or c["local_port"] != port or c["local_ip"] != eng:
        bad.append("%s: %s %s:%d" % (k, c["state"], c["local_ip"], c["local_port"]))
    if c["bytes_received"] != sent:
        bad.append("%s: bytes_received %d, peer sent %d" % (k, c["bytes_received"], sent))
    if c["bytes_acked"] != recvd:
        bad.append("%s: bytes_acked %d, peer received %d" % (k, c["bytes_acked"], recvd))
    if kind == "echo" and c["pid"] != echo_pid:
        bad.append("%s: pid %d, flextoe-echo is %d" % (k, c["pid"], echo_pid))
for b in bad[:10]: print("bad", b)
print("connections=%d matched=%d bad=%d" % (len(got), len(want), len(bad)))
sys.exit(1 if bad else 0)
PY
CMP_RC=$?
sed 's/^/# /' "$TMP/cmp.out"
t_check "ss lists exactly the $((NCONN + 1)) peer connections, ESTAB, bytes and owners as the peers saw" \
	test $CMP_RC -eq 0

count() { ss_stat --json "$@" | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"; }
t_check "filter 'state established': $((NCONN + 1))" test "$(count state established)" = $((NCONN + 1))
t_check "filter 'sport = :7000': $NCONN" test "$(count sport = :7000)" = $NCONN
t_check "filter 'sport != :7000': 1" test "$(count sport != :7000)" = 1
BULK_LPORT=$(python3 -c "import json; print(json.load(open('$TMP/bulk.json'))[0]['lport'])")
t_check "filter 'dport = :$BULK_LPORT': 1" test "$(count dport = :$BULK_LPORT)" = 1
t_check "filter 'dst $PEER_IP2/32': $((NCONN / 2)) (the odd echo connections)" \
	test "$(count dst $PEER_IP2/32)" = $((NCONN / 2))
t_check "filter 'dst 10.0.0.0/8 sport = :7000': $NCONN" \
	test "$(count dst 10.0.0.0/8 sport = :7000)" = $NCONN
t_check "filter 'dst 192.168.0.0/16': 0" test "$(count dst 192.168.0.0/16)" = 0
t_check "filter 'state syn-sent': 0" test "$(count state syn-sent)" = 0
t_check "-a lists connections and listeners: $((NCONN + 3))" test "$(count -a)" = $((NCONN + 3))
t_check "-i shows rtt, cwnd, bytes and flow group per connection" \
	sh -c "[ \$(grep -c 'rtt:[0-9.]*/[0-9.]* .*bytes_acked:[0-9]* bytes_received:[0-9]* retrans:[0-9]* flow_group:[0-9]*' '$TMP/all.txt') -eq $((NCONN + 1)) ]"
t_check "-p names the owner of every echo connection" \
	sh -c "[ \$(grep -c 'users:((\"flextoe-echo\",pid=$ECHO_PID,' '$TMP/all.txt') -eq $NCONN ]"

# usage errors: a message and exit 2, never a listing
bad_usage() {
	local out rc
	out=$("$STAT" ss --run-dir "$RUN" "$@" 2>&1); rc=$?
	[[ $rc -eq 2 && $out == *"Try 'flextoe-stat ss --help'"* ]] || { echo "rc=$rc: $out" >&2; return 1; }
}
t_check "unknown state: usage error" bad_usage state nosuch
t_check "bad port: usage error" bad_usage sport = :99999
t_check "bad prefix: usage error" bad_usage dst 10.0.0.0/33
t_check "unknown filter word: usage error" bad_usage frobnicate
no_engine() {
	local out rc
	out=$("$STAT" ss --run-dir "$TMP/nowhere" 2>&1); rc=$?
	[[ $rc -eq 1 && $out == *"cannot reach flextoe-loaderd"* ]] || { echo "rc=$rc: $out" >&2; return 1; }
}
t_check "no engine at the run directory: a clear error, exit 1" no_engine

# TcpAttemptFails: the engine connects to a port nobody listens on; Linux answers the SYN
# with a RST, the engine's SYN-SENT ends in CLOSED: one failed attempt, no open
mib() { "$STAT" counters --run-dir "$RUN" -a -s --json |
	python3 -c "import json, sys; print(json.load(sys.stdin)['counters']['$1'])"; }
FAILS0=$(mib TcpAttemptFails); OPENS0=$(mib TcpActiveOpens)
ns_exec eng timeout 20 "$BIN/flextoe-bulk" --connect $PEER_IP:7399 --send 1 >"$TMP/refused.out" 2>&1
echo "rc=$?" >>"$TMP/refused.out"
sed 's/^/# /' "$TMP/refused.out"
# (ftoe_strerror words ECONNREFUSED as "no engine": the connect's failure is what counts here)
t_check "connect to a closed port of the Linux peer fails" \
	sh -c "grep -q '^flextoe-bulk: connect: ' '$TMP/refused.out' && grep -q '^rc=1\$' '$TMP/refused.out'"
FAILS1=$(mib TcpAttemptFails); OPENS1=$(mib TcpActiveOpens)
echo "# TcpAttemptFails $FAILS0 -> $FAILS1, TcpActiveOpens $OPENS0 -> $OPENS1"
t_check "TcpAttemptFails counts it: +1 ($FAILS0 -> $FAILS1)" test "$FAILS1" = $((FAILS0 + 1))
t_check "TcpActiveOpens does not: +0 ($OPENS0 -> $OPENS1)" test "$OPENS1" = "$OPENS0"

# per-stage utilisation: each engine thread's busy share over an interval (flextoe-stat's
# history): present, within 0..100 %, and higher while the engine sends in bulk than idle
util() { "$STAT" counters --run-dir "$RUN" --history "$TMP/util.hist" "$@"; }
util -n; sleep 1; util -s --json >"$TMP/util.idle.json"
util -s >"$TMP/util.idle.txt"
ns_bg peer python3 tests/tools/traffic/bulk_peer.py recv $PEER_IP 7302 >"$TMP/util.rcv" 2>&1
wait_for "$TMP/util.rcv" listening >/dev/null
util -n
ns_exec eng timeout 60 "$BIN/flextoe-bulk" --connect $PEER_IP:7302 --send $((64 << 20)) >"$TMP/util.snd" 2>&1
util -s --json >"$TMP/util.bulk.json"
wait_for "$TMP/util.rcv" "^bytes=" 20 >/dev/null
grep '^#util' "$TMP/util.idle.txt" | sed 's/^/# idle: /'
t_check "utilisation: every thread's busy share is in 0..100 %, higher under bulk than idle" python3 - \
	"$TMP/util.idle.json" "$TMP/util.bulk.json" <<'PY'
import json, sys
idle, bulk = (json.load(open(p))["utilisation"] for p in sys.argv[1:3])
for what, u in (("idle", idle), ("bulk", bulk)):
    print("# %s: " % what + "  ".join("%s %.1f%% of %.2f s" % (t["thread"], t["busy_pct"], t["wall_ns"] / 1e9) for t in u))
ok = idle and len(idle) == len(bulk)
ok = ok and all(0 <= t["busy_pct"] <= 100 and 0 <= t["idle_ns"] <= t["wall_ns"] and t["wall_ns"] > 0 for t in idle + bulk)
ok = ok and all(t["wall_ns"] >= 0.9e9 for t in idle)       # the 1 s sleep
hi_idle, hi_bulk = max(t["busy_pct"] for t in idle), max(t["busy_pct"] for t in bulk)
ok = ok and hi_bulk >= hi_idle + 2      # percentage points
sys.exit(not ok)
PY
t_check "the bulk transfer from the engine arrived whole" grep -q "^bytes=$((64 << 20)) " "$TMP/util.rcv"

touch "$TMP/echo.json.close" "$TMP/bulk.json.close"
closed() { [ "$(count)" = 0 ]; }
t_check "after the peers close, the engine lists no connection" wait_cmd 20 closed
t_check "the engine is still running" sh -c "kill -0 \$(cat '$RUN/flextoe.pid')"
t_summary
