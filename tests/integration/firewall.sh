#!/usr/bin/env bash
# firewall.sh - flextoe-fw apply/stats on a running engine: allowed and denied Linux clients by address
# and source port, exact per-rule hit counts against tcpdump, a live atomic rule-set swap under a
# running connection, unmatched traffic (ping, other ports) untouched, and the CLI's errors.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
FW=$BIN/flextoe-fw
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-loaderd" "$FW" \
	"$PWD/$BUILD/xdp-progs/firewall.bpf.o"
need_tools tcpdump python3 socat

test_init firewall
chmod 755 "$TMP"		# the non-root check reaches the run directory

ENG_IP=10.94.0.5
KERN_IP=10.94.0.1
A_IP=10.94.0.2		# allowed client address
B_IP=10.94.0.3		# denied by the first rule set, allowed by the second
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

ns_add eng && ns_add peer
ns_link eng veth0 $KERN_IP/24 peer veth1 $A_IP/24
ip -n "$(ns_name peer)" addr add $B_IP/24 dev veth1
ip netns exec "$(ns_name eng)" ethtool -K veth0 tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tso off gso off gro off >/dev/null 2>&1
# A blocked connect gives up after about 3 s (one retransmission timer
# doubling): short waits; the SYNs it sends are counted with tcpdump.
ip netns exec "$(ns_name peer)" sysctl -qw net.ipv4.tcp_syn_retries=1

# expect RC PATTERN CMD...: CMD exits with RC and prints PATTERN
expect() {
	local rc=$1 pat=$2 out got; shift 2
	out=$("$@" 2>&1); got=$?
	if [[ $got -ne $rc ]] || ! grep -q -- "$pat" <<<"$out"; then
		echo "expected rc $rc and '$pat', got rc $got: $out" >&2
		return 1
	fi
}

# client.py once SRC SPORT PORT: one echo exchange from SRC:SPORT; prints
# "ok", "timeout" (no SYN-ACK) or "error ...".
# client.py stream SRC SPORT PORT FLAGFILE: 64-byte messages every 50 ms, each
# echo checked, until FLAGFILE exists; prints "ok N" or "lost after N ...".
cat >"$TMP/client.py" <<'PY'
import os, socket, sys, time
mode, src, sport, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
host = os.environ["ENG_IP"]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((src, sport))
s.settimeout(10)
try:
    s.connect((host, port))
except (socket.timeout, TimeoutError):
    print("timeout"); sys.exit(0)
except OSError as e:
    print("error connect %r" % e); sys.exit(0)
def exchange(msg):
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(len(msg) - len(got))
        if not b: raise OSError("eof")
        got += b
    return got == msg
try:
    if mode == "once":
        print("ok" if exchange(b"hello firewall") else "error mismatch")
    else:
        n, flag = 0, sys.argv[5]
        s.settimeout(2)
        while not os.path.exists(flag) or n < 10:
            if not exchange(os.urandom(64)):
                print("lost after %d: mismatch" % n); sys.exit(0)
            n += 1
            time.sleep(0.05)
        print("ok %d" % n)
    s.close()
except Exception as e:
    print("lost after %r" % e)
PY
client() { ENG_IP=$ENG_IP ns_exec peer python3 "$TMP/client.py" "$@"; }

# Count frames the peer sends to the engine (what reaches rx-pre: TCP and
# echo requests to its address) with tcpdump on the peer's side.
cap_start() { # NAME
	ns_bg peer tcpdump -i veth1 --immediate-mode -nn -U -w "$TMP/$1.pcap" \
		"dst host $ENG_IP and (tcp or icmp[icmptype] == icmp-echo)" 2>"$TMP/$1.tcpdump"
	CAP_PID=${NS_PIDS[-1]}
	wait_for "$TMP/$1.tcpdump" "listening on" >/dev/null
}
cap_stop() { tcpdump_stop "$CAP_PID"; }
cap_count() { # NAME FILTER
	ns_exec peer tcpdump -nn -r "$TMP/$1.pcap" "$2" 2>/dev/null | wc -l
}
# stats_field PY-EXPR over the stats JSON (s)
stats() {
	"$FW" stats --json | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)"
}

cat >"$TMP/fw1.rules" <<EOF
# first rule set: $A_IP from source ports 40000-40099 may use the echo port
allow tcp $A_IP 40000-40099 $ENG_IP 7
deny  tcp $B_IP any any any      # all TCP from B
deny  tcp any any any 7          # anyone else on port 7
policy allow                     # the rest (ping, other ports) passes
EOF
cat >"$TMP/fw2.rules" <<EOF
# second rule set: B may use the echo port too
allow tcp $A_IP 40000-40099 $ENG_IP 7
allow tcp $B_IP any $ENG_IP 7
deny  tcp any any any 7
policy allow
EOF
cat >"$TMP/bad.rules" <<EOF
allow tcp $A_IP any any 7
# a comment
deny icmp any any any any
EOF

# ---- errors before the engine runs -------------------------------------------------
t_check "apply -h prints usage" expect 0 "Usage: flextoe-fw apply" "$FW" apply -h
t_check "stats -h prints usage" expect 0 "Usage: flextoe-fw stats" "$FW" stats -h
t_check "check -h prints usage" expect 0 "Usage:" "$FW" check -h
t_check "apply: a bad line is reported with its number" \
	expect 1 "bad.rules:3: unknown protocol 'icmp'" "$FW" apply "$TMP/bad.rules"
t_check "apply: missing file" expect 1 "cannot read" "$FW" apply "$TMP/none.rules"
t_check "apply without a file: usage error" expect 2 "missing RULES" "$FW" apply
t_check "stats: unknown option" expect 2 "unknown option" "$FW" stats --bogus
t_check "apply with no engine: says loaderd/engine is not running" \
	expect 1 "is the engine running" "$FW" apply "$TMP/fw1.rules"
t_check "stats with no engine: same" expect 1 "is the engine running" "$FW" stats

# ---- the engine and flextoe-echo -----------------------------------------------------
t_check "engine starts" engine_start eng $ENG_IP/24
engine_sockets
ns_bg eng "$BIN/flextoe-echo" --port 7 >"$TMP/echo.out" 2>&1
t_check "flextoe-echo listens on port 7" wait_for "$TMP/echo.out" listening
t_check "before any rules: B gets echoes" test "$(client once $B_IP 40010 7)" = ok
t_check "stats before apply: no firewall loaded" expect 1 "no firewall program" "$FW" stats
t_check "apply as nobody is refused (not root)" \
	expect 1 "permission denied" setpriv --reuid=65534 --regid=65534 --clear-groups \
	"$FW" apply "$TMP/fw1.rules"

# ---- rule set 1 ---------------------------------------------------------------------
t_check "apply fw1 loads the firewall and switches to generation 1" \
	expect 0 "3 rules.*(loaded now), generation 1 active" "$FW" apply "$TMP/fw1.rules"
t_check "the firewall runs at rx-pre" sh -c "'$BIN/flextoe-bpf' list | grep -q 'rx-pre .* xdp_firewall'"
cap_start c1
{ client once $B_IP 40002 7 >"$TMP/b1.out"; } &
PB=$!
{ client once $A_IP 41000 7 >"$TMP/c1.out"; } &
PC=$!
A1=$(client once $A_IP 40001 7)
A1b=$(client once $A_IP 40099 7)
ns_exec peer ping -q -c3 -i0.2 -W1 $ENG_IP >"$TMP/ping1.out" 2>&1; PING_RC=$?
# a port without rules (policy allow): the engine answers with a RST
REFUSED=$(ns_exec peer socat -u /dev/null TCP:$ENG_IP:9,bind=$A_IP:42000,connect-timeout=2 2>&1)
wait $PB $PC
cap_stop
t_check "A (sport 40001, rule 1) gets its echo" test "$A1" = ok
t_check "A (sport 40099, end of the range) gets its echo" test "$A1b" = ok
t_check "B is denied: no SYN-ACK, connect times out" test "$(cat "$TMP/b1.out")" = timeout
t_check "A from sport 41000 (outside the range) is denied by rule 3" \
	test "$(cat "$TMP/c1.out")" = timeout
t_check "unmatched: ping passes (policy allow)" test $PING_RC -eq 0
t_check "unmatched: a port without rules reaches the engine (refused by RST)" \
	grep -q "Connection refused" <<<"$REFUSED"
echo "# stats after rule set 1:"; "$FW" stats | sed 's/^/#   /'
N1=$(cap_count c1 "src host $A_IP and tcp and dst port 7 and src portrange 40000-40099")
N2=$(cap_count c1 "src host $B_IP and tcp")
N3=$(cap_count c1 "src host $A_IP and tcp and dst port 7 and not src portrange 40000-40099")
NP=$(cap_count c1 "icmp or (tcp and dst port 9)")
echo "# tcpdump: rule1 $N1 rule2 $N2 rule3 $N3 policy $NP"
t_check "B's blocked connect sent only SYN retransmissions ($N2 SYNs)" \
	test "$N2" -ge 2 -a "$(cap_count c1 "src host $B_IP and tcp[tcpflags] == tcp-syn")" -eq "$N2"
t_check "hits of rule 1 = A's segments to port 7 ($N1)" test "$(stats 's["rules"][0]["hits"]')" -eq "$N1"
t_check "hits of rule 2 = B's SYNs ($N2)" test "$(stats 's["rules"][1]["hits"]')" -eq "$N2"
t_check "hits of rule 3 = the SYNs from sport 41000 ($N3)" test "$(stats 's["rules"][2]["hits"]')" -eq "$N3"
t_check "policy hits = pings + port-9 segments ($NP)" test "$(stats 's["policy_hits"]')" -eq "$NP"
t_check "stats names the rule's line and text" \
	test "$(stats 's["rules"][1]["line"], s["rules"][1]["rule"]')" = "3 deny  tcp $B_IP any any any"
t_check "stats --json: generation 1, policy allow, source file" \
	test "$(stats 's["generation"], s["policy"], s["source"]')" = "1 allow $TMP/fw1.rules"
t_check "stats text output lists hits, line and rule" \
	sh -c "'$FW' stats | grep -Eq '^ +$N2 +3  deny  tcp $B_IP any any any$'"

# ---- live swap to rule set 2 under a running allowed connection ---------------------------
rm -f "$TMP/stop"
{ client stream $A_IP 40050 7 "$TMP/stop" >"$TMP/stream.out"; } &
PS=$!
sleep 1
cap_start c2
t_check "apply fw2 while A's connection runs: generation 0 active" \
	expect 0 "3 rules.*generation 0 active (was 1)" "$FW" apply "$TMP/fw2.rules"
B2=$(client once $B_IP 40003 7)
sleep 1
touch "$TMP/stop"
wait $PS
cap_stop
t_check "A's connection kept working through the swap, every echo back ($(cat "$TMP/stream.out"))" \
	grep -q "^ok [0-9]" "$TMP/stream.out"
t_check "B, denied before, now gets its echo" test "$B2" = ok
NB=$(cap_count c2 "src host $B_IP and tcp")
t_check "hits of new rule 2 = B's segments after the swap ($NB)" \
	test "$(stats 's["rules"][1]["hits"]')" -eq "$NB"
t_check "new rule set counters started at zero: rule 3 and policy have no hits" \
	test "$(stats 's["rules"][2]["hits"], s["policy_hits"]')" = "0 0"
t_check "A's stream is counted by rule 1 of the new set" test "$(stats 's["rules"][0]["hits"]')" -gt 0
t_check "ping still passes after the swap" sh -c \
	"ip netns exec $(ns_name peer) ping -q -c2 -i0.2 -W1 $ENG_IP >/dev/null"
t_check "apply again (back to fw1): generation 1, B denied again" \
	expect 0 "generation 1 active (was 0)" "$FW" apply "$TMP/fw1.rules"
t_check "B denied again after the third apply" test "$(client once $B_IP 40004 7)" = timeout
t_check "A still served" test "$(client once $A_IP 40005 7)" = ok
t_check "apply of a bad file changes nothing (B still denied, generation 1)" sh -c \
	"! '$FW' apply '$TMP/bad.rules' 2>/dev/null && test \"\$('$FW' stats --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"generation\"])')\" = 1"
# ---- a generated 1,001-rule set under traffic, then the same set with 10 rules edited --------
# The third apply of big lands in the generation holding big1: only the changed rules' entries
# are written (fw_ruleset_compile_update), far fewer map writes than the set has rules.
BENCH_FW=$PWD/$BUILD/bench/fw_bench
if [[ -x $BENCH_FW ]]; then
	{ echo "allow tcp $A_IP 40000-40099 $ENG_IP 7"; "$BENCH_FW" --dump-rules 1000 --kind acl; } \
		>"$TMP/big1.rules"
	python3 - "$TMP/big1.rules" "$TMP/big2.rules" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
rules = [i for i, l in enumerate(lines) if l[:5] in ("allow", "deny ")][1:]
for i in rules[50::100][:10]:          # 10 rules, spread out: allow <-> deny
    w = lines[i].split(None, 1)
    lines[i] = ("deny " if w[0] == "allow" else "allow") + " " + w[1]
open(sys.argv[2], "w").write("\n".join(lines))
PY
	rm -f "$TMP/stop"
	{ client stream $A_IP 40060 7 "$TMP/stop" >"$TMP/stream2.out"; } &
	PS=$!
	sleep 1
	t_check "apply a generated 1,001-rule set while A's connection runs" \
		expect 0 "1001 rules" "$FW" apply "$TMP/big1.rules"
	t_check "apply it again (into the other generation)" \
		expect 0 "1001 rules" "$FW" apply "$TMP/big1.rules"
	OUT=$("$FW" apply "$TMP/big2.rules" 2>&1)
	WRITES=$(sed -n 's/.*; \([0-9]*\) map writes, changes only.*/\1/p' <<<"$OUT")
	t_check "10 rules edited: only the changes are written ($WRITES map writes: $OUT)" \
		test -n "$WRITES" -a "${WRITES:-9999}" -lt 100
	sleep 1
	touch "$TMP/stop"
	wait $PS
	t_check "A's connection kept working through three applies of 1,001 rules ($(cat "$TMP/stream2.out"))" \
		grep -q "^ok [0-9]" "$TMP/stream2.out"
	t_check "the edited set is the active one" test "$(stats 's["source"]')" = "$TMP/big2.rules"
	# Without apply's record of the inactive generation (its saved file and snapshot gone),
	# that generation's buckets are found by dumping fw_rules and deleted in batches
	# (map_delete_batch) before the set is written in full: none of the old ones may stay.
	INACT=$(( 1 - $(stats 's["generation"]') ))
	rm -f "$RUN/fw/gen$INACT.rules" "$RUN/fw/gen$INACT.tables"
	OUT=$("$FW" apply "$TMP/fw1.rules" 2>&1)
	BUCKETS=$(sed -n 's/.* tables, \([0-9]*\) buckets;.*/\1/p' <<<"$OUT")
	LEFT=$("$BIN/flextoe-bpf" map dump "$(stats 's["prog_id"]'):fw_rules" --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
e = d['entries'] if isinstance(d, dict) else d
print(sum(1 for x in e if int.from_bytes(bytes.fromhex(x['key'][:8]), 'little') // 4096 == $INACT))")
	t_check "apply without a record empties the generation first: $LEFT buckets left, $BUCKETS written ($OUT)" \
		test -n "$BUCKETS" -a "$LEFT" = "$BUCKETS"
fi
# ---- the batch requests flextoe-fw uses, straight on loader.sock -----------------------------
# Each answers how many elements it did ("done", as bpf(2)'s batches), also when one fails.
BATCH=$(python3 - "$RUN/loader.sock" "$(stats 's["prog_id"]')" <<'PY'
import json, socket, struct, sys
path, pid = sys.argv[1], sys.argv[2]
def call(req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    b = json.dumps(req).encode()
    s.sendall(struct.pack("=I", len(b)) + b)
    n = struct.unpack("=I", s.recv(4, socket.MSG_WAITALL))[0]
    r = json.loads(s.recv(n, socket.MSG_WAITALL))
    s.close()
    return r
m = pid + ":fw_gens"
k = lambda *i: "".join(struct.pack("<I", x).hex() for x in i)
out = []
r = call({"op": "map_lookup_batch", "map": m, "keys": k(0, 1)})
out.append(r["ok"] and r["done"] == 2 and len(r["values"]) == 2 * 16 * 2)
vals = r["values"]
r = call({"op": "map_update_batch", "map": m, "keys": k(0, 1), "values": vals})
out.append(r["ok"] and r["done"] == 2)
r = call({"op": "map_update_batch", "map": m, "keys": k(0, 7), "values": vals})
out.append(not r["ok"] and r["errno"] == 7 and r["done"] == 1)      # E2BIG at the second
r = call({"op": "map_update_batch", "map": m, "keys": k(0, 1) + "00", "values": vals})
out.append(not r["ok"] and r["errno"] == 22 and "whole number" in r["error"])
r = call({"op": "map_update_batch", "map": m, "keys": k(0), "values": vals})
out.append(not r["ok"] and r["errno"] == 22)
r = call({"op": "map_delete_batch", "map": pid + ":fw_rules", "keys": "00" * 44})
out.append(not r["ok"] and r["errno"] == 2 and r["done"] == 0)
r = call({"op": "map_delete_batch", "map": "no_such_map", "keys": ""})
out.append(not r["ok"] and r["errno"] == 2)
print(" ".join("ok" if x else "BAD" for x in out))
PY
)
t_check "map batch requests: done counts and errors ($BATCH)" test "$BATCH" = "ok ok ok ok ok ok ok"
t_check "engine still running" kill -0 "$(cat "$RUN/flextoe.pid")"

t_summary
