#!/usr/bin/env bash
# firewall_update.sh - flextoe-fw apply of 10-rule edits to a generated 100,000-rule set on a running
# engine: the full set goes in with batched map writes, each edit is written from the snapshot of
# the target generation (changes only), and the engine then decides frames sent to it as the
# reference matcher does: per-rule hit counters over frames of a few hundred distinct rules (the
# edited ones among them), and allowed/denied as those rules' actions; then a set flipping all
# those rules is applied under a stream of the same frames, and each frame must have been judged
# by the old set or the new one, none lost.  Prints each apply's wall and CPU time
# (bench/fw_apply.sh repeats it); timing decides nothing here.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
FW=$BIN/flextoe-fw
BENCH_FW=$PWD/$BUILD/bench/fw_bench
RULES=${FW_UPDATE_RULES:-100000}	# bench/fw_apply.sh may ask for other sizes
EDITS=${FW_UPDATE_EDITS:-3}		# 10-rule edits applied after the two full applies
need_files "$BIN/flextoe" "$BIN/flextoe-loaderd" "$FW" "$BENCH_FW" \
	"$PWD/$BUILD/xdp-progs/firewall.bpf.o"
need_tools python3

test_init fwupd
ENG_IP=10.95.0.5
KERN_IP=10.95.0.1
PEER_IP=10.95.0.2
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN

ns_add eng && ns_add peer
# No IPv6 from the peer: every IP frame the engine sees is one this test sent.
for k in all default; do
	ip netns exec "$(ns_name peer)" sysctl -qw net.ipv6.conf.$k.disable_ipv6=1
done
ns_link eng veth0 $KERN_IP/24 peer veth1 $PEER_IP/24
t_check "engine starts" engine_start eng $ENG_IP/24
engine_sockets

# The set and its edits.  The engine sees only TCP frames to its address, so destination
# prefixes are moved onto ENG_IP (same prefix length: the same tables) - but only in rules
# with a source of /16 or longer: a rule with a wide source and ENG_IP would decide every
# frame (the generated set has "tcp any any DST/24 1024-65535" near the top).  The others get
# 203.0.113.0 under their prefix, which no frame of this test has.  Sources, ports and protocols
# stay as generated.
"$BENCH_FW" --dump-rules "$RULES" --kind acl >"$TMP/gen.rules"
python3 - "$TMP" "$ENG_IP" <<'PY'
import ipaddress, sys
tmp, eng = sys.argv[1], sys.argv[2]
lines = open(tmp + "/gen.rules").read().split("\n")
rules = [i for i, l in enumerate(lines) if l[:5] in ("allow", "deny ")]
plen = lambda a: 0 if a == "any" else int(a.split("/")[1]) if "/" in a else 32
for i in rules:
    f = lines[i].split()
    if f[4] != "any":
        base = eng if plen(f[2]) >= 16 else "203.0.113.0"
        f[4] = str(ipaddress.ip_network("%s/%d" % (base, plen(f[4])), strict=False))
    lines[i] = " ".join(f)
open(tmp + "/set0.rules", "w").write("\n".join(lines))
n = len(rules)
open(tmp + "/cands", "w").write(",".join(str((j * n // 160 + 13) % n) for j in range(160)))
PY
# Frames: 200 near and inside random rules, and one inside each candidate rule that the rule
# itself decides where it can (earlier rules cover some candidates whole).  The edits flip
# the actions of candidates that decide their own frame, so the frames hit the edited rules;
# flipping actions leaves every frame's rule as it is.
"$BENCH_FW" --packets "$TMP/set0.rules" --dst $ENG_IP --count 200 --in-rules "$(cat "$TMP/cands")" \
	>"$TMP/pk.txt"
python3 - "$TMP" "$EDITS" <<'PY'
import sys
tmp, edits = sys.argv[1], int(sys.argv[2])
lines = open(tmp + "/set0.rules").read().split("\n")
rules = [i for i, l in enumerate(lines) if l[:5] in ("allow", "deny ")]
cands = set(int(c) for c in open(tmp + "/cands").read().split(","))
hit = sorted(set(int(l.split()[5]) for l in open(tmp + "/pk.txt")) & cands)
assert len(hit) >= 10, "only %d candidate rules decide a frame of their own" % len(hit)
for k in range(1, edits + 1):
    idx = [hit[(10 * (k - 1) + j) % len(hit)] for j in range(10)]
    for r in idx:
        w = lines[rules[r]].split(None, 1)
        lines[rules[r]] = ("deny " if w[0] == "allow" else "allow") + " " + w[1]
    open("%s/set%d.rules" % (tmp, k), "w").write("\n".join(lines))
    open("%s/set%d.idx" % (tmp, k), "w").write(",".join(map(str, idx)))
PY

# apply FILE: run flextoe-fw apply, print its output, wall time in ms and (with /usr/bin/time)
# its CPU time: on a shared 2-core machine the wall time is mostly waiting for a CPU.
apply_timed() {
	local t0 t1 cpu=""
	# bash's clock, not date's: two more processes to start inside the interval cost tens of
	# ms each on a loaded machine
	t0=${EPOCHREALTIME/./}
	if [[ -x /usr/bin/time ]]; then
		OUT=$(/usr/bin/time -f "%U %S" -o "$TMP/cpu" "$FW" apply ${FW_UPDATE_VERBOSE:+-v} "$1" 2>&1); RC=$?
		# the last line: a failed command's status line comes first
		cpu=$(tail -n1 "$TMP/cpu" | awk '{printf "%d", ($1 + $2) * 1000}')
	else
		OUT=$("$FW" apply ${FW_UPDATE_VERBOSE:+-v} "$1" 2>&1); RC=$?
	fi
	t1=${EPOCHREALTIME/./}
	MS=$(( (t1 - t0) / 1000 ))
	CPU_MS=$cpu
	echo "# apply $(basename "$1"): ${MS} ms, cpu ${cpu:-?} ms, rc $RC: $OUT"
}

apply_timed "$TMP/set0.rules"
t_check "the $RULES-rule set applies in full (generation 1, loaded now)" \
	grep -q "generation 1 active" <<<"$OUT"
apply_timed "$TMP/set0.rules"
t_check "and into the other generation (0): now both hold it" grep -q "generation 0 active" <<<"$OUT"
TIMES=()
CPUS=()
for k in $(seq 1 "$EDITS"); do
	apply_timed "$TMP/set$k.rules"
	TIMES+=("$MS")
	CPUS+=("${CPU_MS:-?}")
	WRITES=$(sed -n 's/.*; \([0-9]*\) map writes, changes only, from the snapshot.*/\1/p' <<<"$OUT")
	t_check "edit $k (10 rules flipped) applies from the snapshot, $WRITES map writes" \
		test "$RC" -eq 0 -a -n "$WRITES" -a "${WRITES:-9999}" -lt 200
done
echo "# 10-rule edits of $RULES rules, ms per apply (end to end): ${TIMES[*]}"
echo "# 10-rule edits of $RULES rules, CPU ms per apply (user + sys): ${CPUS[*]}"

# ---- verdicts: frames decided by many distinct rules, the edited ones among them ------------
LAST=$TMP/set$EDITS.rules
ENG_MAC=$(ip netns exec "$(ns_name eng)" cat /sys/class/net/veth0/address)
# Raw frames from the peer (the engine answers none of them).  Sent slowly so that none is
# dropped on the way.  send.py PK MAC [STOPFILE]: one pass over PK's frames, or passes until
# STOPFILE exists and then one more (STOPFILE.started once the first pass is out); prints the
# number of passes.
cat >"$TMP/send.py" <<'PY'
import os, socket, struct, sys, time
pk, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
stop = sys.argv[3] if len(sys.argv) > 3 else None
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("veth1", 0))
src_mac = s.getsockname()[4]
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
frames = []
for line in open(pk):
    src, sport, dst, dport, proto, _ = line.split()
    sport, dport = int(sport), int(dport)
    if proto == "tcp":
        l4 = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x02, 1024, 0, 0)
        pn = 6
    else:
        l4 = struct.pack("!HHHH", sport, dport, 8, 0)
        pn = 17
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, pn, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frames.append(mac + src_mac + b"\x08\x00" + ip + l4)
passes, last = 0, False
while True:
    last = stop is None or os.path.exists(stop)
    for f in frames:
        s.send(f)
        time.sleep(0.002)
    passes += 1
    if stop and passes == 1:
        open(stop + ".started", "w").close()
    if last or passes >= 200:
        break
print(passes)
PY
ns_exec peer python3 "$TMP/send.py" "$TMP/pk.txt" "$ENG_MAC" >/dev/null
sleep 0.5
"$FW" stats --json >"$TMP/stats.json"
t_check "stats of the running set readable" test -s "$TMP/stats.json"
# Each rule's hits must be the frames the reference matcher gives it (most frames have a rule
# of their own), allowed/denied the actions of those rules in the last set (the flipped ones
# included), and every rule of the last edit must have decided a frame.
RES=$(python3 - "$TMP/pk.txt" "$TMP/stats.json" "$LAST" "$TMP/set$EDITS.idx" <<'PY'
import collections, json, sys
pk, st, last, idx = sys.argv[1:5]
want = collections.Counter(int(l.split()[5]) for l in open(pk))
s = json.load(open(st))
got = collections.Counter({r["index"]: r["hits"] for r in s["rules"] if r["hits"]})
if s["policy_hits"]:
    got[-1] = s["policy_hits"]
bad = [(k, want.get(k, 0), got.get(k, 0)) for k in set(want) | set(got) if want.get(k, 0) != got.get(k, 0)]
text = open(last).read().split("\n")
acts = [l.split()[0] for l in text if l[:5] in ("allow", "deny ")]
policy = "allow" if "policy allow" in text else "deny"
deny = sum(c for r, c in want.items() if (acts[r] if r >= 0 else policy) == "deny")
edited = [int(i) for i in open(idx).read().split(",")]
missed = [i for i in edited if not got.get(i)]
tot = s["totals"]
ok = not bad and tot["denied"] == deny and tot["allowed"] == sum(want.values()) - deny and not missed
print("frames %d (engine saw %d, hits %d), distinct rules %d, differing %d %s; denied %d of %d "
      "expected; edited rules without a frame %s: %s" % (sum(want.values()), tot["packets"],
      sum(got.values()), len(want), len(bad), sorted(bad)[:8], tot["denied"], deny, missed,
      "ok" if ok else "BAD"))
PY
)
echo "# $RES"
t_check "every frame decided by the reference matcher's rule, with its action ($RES)" \
	grep -q "differing 0 .*: ok$" <<<"$RES"
DISTINCT=$(sed -n 's/.*distinct rules \([0-9]*\),.*/\1/p' <<<"$RES")
t_check "the frames hit many distinct rules ($DISTINCT)" test "${DISTINCT:-0}" -ge 100
# ---- a swap under traffic: every frame judged wholly by the old set or wholly by the new ----
# Frames go round and round while a set that flips the action of every rule they hit is
# applied.  Frames before the switch count in the old generation, frames after it in the new
# one (stats --generation shows the old one): per rule the two add up to the frames sent, and
# the denied frames are exactly those that the set of their generation denies - a frame that
# met a half-written generation (the switch before its definitions) would break the sum.
python3 - "$LAST" "$TMP/pk.txt" "$TMP/swap.rules" <<'PY'
import sys
last, pk, out = sys.argv[1:4]
lines = open(last).read().split("\n")
rules = [i for i, l in enumerate(lines) if l[:5] in ("allow", "deny ")]
for r in set(int(l.split()[5]) for l in open(pk)) - {-1}:
    w = lines[rules[r]].split(None, 1)
    lines[rules[r]] = ("deny " if w[0] == "allow" else "allow") + " " + w[1]
open(out, "w").write("\n".join(lines))
PY
OLD_GEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["generation"])' "$TMP/stats.json")
rm -f "$TMP/stop" "$TMP/stop.started"
ns_exec peer python3 "$TMP/send.py" "$TMP/pk.txt" "$ENG_MAC" "$TMP/stop" >"$TMP/passes" &
SENDER=$!
# A whole pass before the switch, whatever the load: with a fixed wait, a loaded machine
# started the sender after a fast apply had switched, and no frame met the old set.
wait_cmd 60 test -e "$TMP/stop.started"
apply_timed "$TMP/swap.rules"
SWAP_RC=$RC
touch "$TMP/stop"
wait $SENDER
sleep 0.5
t_check "the swapping set applies under traffic ($OUT)" test "$SWAP_RC" -eq 0
"$FW" stats --json >"$TMP/stats2.json"
"$FW" stats --json --generation "$OLD_GEN" >"$TMP/stats_old.json"
RES=$(python3 - "$TMP/pk.txt" "$TMP/stats.json" "$TMP/stats2.json" "$TMP/stats_old.json" "$LAST" \
	"$TMP/swap.rules" "$(cat "$TMP/passes")" <<'PY'
import collections, json, sys
pk, st1, st2, sto, last, swap, passes = sys.argv[1:8]
passes = int(passes)
want = collections.Counter(int(l.split()[5]) for l in open(pk))
def hits(path):
    s = json.load(open(path))
    h = collections.Counter({r["index"]: r["hits"] for r in s["rules"] if r["hits"]})
    h[-1] = s["policy_hits"]
    return s, h
s1, h1 = hits(st1)
s2, new = hits(st2)
so, oldall = hits(sto)
old = collections.Counter({r: oldall[r] - h1[r] for r in set(oldall) | set(h1)})
def acts(path):
    t = open(path).read().split("\n")
    a = [l.split()[0] for l in t if l[:5] in ("allow", "deny ")]
    return lambda r: a[r] if r >= 0 else ("allow" if "policy allow" in t else "deny")
ao, an = acts(last), acts(swap)
bad = [(r, passes * want[r], old[r], new[r]) for r in set(want) | set(old) | set(new)
       if old[r] + new[r] != passes * want[r]]
deny = sum(c for r, c in old.items() if ao(r) == "deny") + sum(c for r, c in new.items() if an(r) == "deny")
sent = passes * sum(want.values())
got = s2["totals"]["packets"] - s1["totals"]["packets"]
denied = s2["totals"]["denied"] - s1["totals"]["denied"]
n_old, n_new = sum(old.values()), sum(new.values())
ok = not bad and got == sent and denied == deny and n_old > 0 and n_new > 0 and s2["generation"] != so["generation"]
print("%d passes, %d frames sent, engine saw %d; %d judged by the old set, %d by the new; rules "
      "off %d %s; denied %d of %d expected: %s" % (passes, sent, got, n_old, n_new, len(bad),
      sorted(bad)[:6], denied, deny, "ok" if ok else "BAD"))
PY
)
echo "# $RES"
t_check "swap under traffic: each frame judged by one whole set, none lost ($RES)" grep -q ": ok$" <<<"$RES"
t_check "engine still running" kill -0 "$(cat "$RUN/flextoe.pid")"
t_summary
