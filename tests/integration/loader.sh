#!/usr/bin/env bash
# loader.sh - hook programs in a running engine: flextoe-loaderd, flextoe-bpf load/unload/list/map,
# rx-pre and tx-post filtering of real traffic, permissions, errors, and a loaderd crash and restart.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
FLEXTOE=$BIN/flextoe
BPF=$BIN/flextoe-bpf
LOADERD=$BIN/flextoe-loaderd
FILTER=$PWD/$BUILD/xdp-progs/filter_deny.bpf.o
need_files "$FLEXTOE" "$BPF" "$LOADERD" "$FILTER"
need_tools socat setpriv python3

test_init loader
chmod 755 "$TMP"		# the non-root client must reach the run directory

eng_peer 10.79.0

# ---- helpers -------------------------------------------------------------------
ping_ok()   { ns_exec peer ping -q -c2 -i0.2 -W1 $ENG_IP >/dev/null 2>&1; }
ping_fails() { ! ns_exec peer ping -q -c2 -i0.2 -W1 $ENG_IP >/dev/null 2>&1; }
# TCP to port 80 (no listener): the engine refuses with a RST at once when
# the SYN reaches it; a dropped SYN times out instead.
tcp_refused() {
	ns_exec peer socat -u /dev/null TCP:$ENG_IP:80,connect-timeout=2 2>&1 | grep -q 'Connection refused'
}
tcp_dropped() {
	ns_exec peer socat -u /dev/null TCP:$ENG_IP:80,connect-timeout=1 2>&1 | grep -q -i 'timed out'
}
# expect RC PATTERN CMD...: CMD exits with RC and prints PATTERN (stdout or stderr)
expect() {
	local rc=$1 pat=$2 out got; shift 2
	out=$("$@" 2>&1); got=$?
	if [[ $got -ne $rc ]] || ! grep -q -- "$pat" <<<"$out"; then
		echo "expected rc $rc and '$pat', got rc $got: $out" >&2
		return 1
	fi
}
# list_field HOOK FIELD: a verdict counter or program count from list --json
list_json() { "$BPF" list --json; }
verdict() {
	list_json | python3 -c "import json,sys; h=[x for x in json.load(sys.stdin) if x['hook']=='$1'][0]; print(h['verdicts']['$2'])"
}
prog_runs() {
	list_json | python3 -c "import json,sys; print(sum(p['run_cnt'] for h in json.load(sys.stdin) for p in h['progs'] if p['id']==$1))"
}
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
loaderd_pid() { cat "$RUN/loaderd.pid" 2>/dev/null; }

# ---- start: the engine starts loaderd --------------------------------------------
ns_bg eng "$FLEXTOE" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
t_check "engine ready" wait_cmd 5 grep -q "ready:" "$TMP/eng.log"
t_check "engine started flextoe-loaderd" wait_cmd 5 test -S "$RUN/loader.sock"
t_check "engine control socket is root-only (0600)" \
	test "$(stat -c %a "$RUN/engine.sock")" = 600
ENG_PID=$(cat "$RUN/flextoe.pid")
t_check "list with no programs" expect 0 "(no programs)" "$BPF" list
t_check "ping before any program" ping_ok
t_check "TCP SYN reaches the engine (refused by RST)" tcp_refused

# ---- rx-pre: filter_deny -------------------------------------------------------------
ID=$("$BPF" load "$FILTER" --hook rx-pre 2>"$TMP/load.err")
t_check "load filter_deny at rx-pre prints the new id" test -n "$ID" -a "$ID" -gt 0
cat "$TMP/load.err" >&2
t_check "list shows it at rx-pre with its tag" sh -c "'$BPF' list | grep -Eq '^rx-pre +50 +$ID +xdp_filter +[0-9a-f]{16}'"
t_check "map list shows its maps with BTF types" sh -c "'$BPF' map list | grep -Eq 'filter_ports +array +4 +4 +65536 +__u32/__u32'"
t_check "empty filter: ping passes" ping_ok
t_check "empty filter: TCP passes" tcp_refused

# Deny TCP destination port 80: key = port (host-order u32), value FILTER_DST|FILTER_TCP.
t_check "map update filter_ports (typed key 80)" "$BPF" map update filter_ports 80 6
t_check "map lookup returns the value (hex key)" \
	expect 0 "value: 06 00 00 00" "$BPF" map lookup filter_ports 50000000
t_check "port 80 denied: TCP SYN dropped at rx-pre" tcp_dropped
t_check "port 80 denied: ping still passes" ping_ok
# Deny the peer's address (key: the 4 address bytes; FILTER_SRC).
PEER_HEX=$(printf '%02x' ${PEER_IP//./ })
t_check "map update filter_ipv4 (peer as source)" "$BPF" map update filter_ipv4 "$PEER_HEX" 01000000
t_check "peer denied: ping dropped at rx-pre" ping_fails
t_check "list counts drops at rx-pre" test "$(verdict rx-pre drop)" -gt 0
t_check "list counts runs of the program" test "$(prog_runs "$ID")" -gt 0
t_check "list shows an average run time" sh -c "'$BPF' list --json | python3 -c 'import json,sys; p=[p for h in json.load(sys.stdin) for p in h[\"progs\"]][0]; sys.exit(0 if p[\"avg_ns\"] > 0 else 1)'"
t_check "map dump --json is JSON with the entry" sh -c "'$BPF' map dump filter_ipv4 --json | python3 -c 'import json,sys; e=json.load(sys.stdin); sys.exit(0 if e[0][\"key\"]==\"$PEER_HEX\" else 1)'"
t_check "map delete restores ping" sh -c "'$BPF' map delete filter_ipv4 $PEER_HEX && ip netns exec $(ns_name peer) ping -q -c2 -i0.2 -W1 $ENG_IP >/dev/null"
t_check "map lookup of a deleted key: clear error" \
	expect 1 "has no entry with key" "$BPF" map lookup filter_ipv4 "$PEER_HEX"

# ---- tx-post: a second instance, and ambiguous map names ---------------------------------
ID2=$("$BPF" load "$FILTER" --hook tx-post --prio 10)
t_check "load a second copy at tx-post" test -n "$ID2" -a "$ID2" != "$ID"
t_check "same map name in two programs: asks for ID:NAME" \
	expect 1 "ambiguous" "$BPF" map update filter_ipv4 "$PEER_HEX" 02000000
t_check "map update $ID2:filter_ipv4 (peer as destination)" \
	"$BPF" map update "$ID2:filter_ipv4" "$PEER_HEX" 02000000
t_check "replies to the peer dropped at tx-post" ping_fails
t_check "tx-post counts drops" test "$(verdict tx-post drop)" -gt 0
t_check "unload the tx-post program by id" expect 0 "unloaded $ID2" "$BPF" unload "$ID2"
t_check "ping works again" ping_ok

# ---- rx-post: tcp_trace observes the segments of an established connection ------------------
ns_bg eng "$BIN/flextoe-echo" --port 7 >"$TMP/echo.log" 2>&1
TRACE=$PWD/$BUILD/xdp-progs/tcp_trace.bpf.o
TR=$("$BPF" load "$TRACE" --hook rx-post 2>"$TMP/trace-load.err")
t_check "load tcp_trace at rx-post" test -n "$TR"
echo_rounds() {	# 20 request/response rounds over one connection
	ns_exec peer python3 - "$ENG_IP" <<'PY'
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=3)
for i in range(20):
    msg = b"round %d" % i
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        got += s.recv(100)
    assert got == msg, got
s.close()
PY
}
t_check "echo over the engine with rx-post attached" wait_cmd 5 echo_rounds
t_check "rx-post: tcp_trace ran on the connection's segments (>= 20)" \
	test "$(prog_runs "${TR:-0}")" -ge 20
t_check "rx-post: its verdicts counted (observe only: pass)" test "$(verdict rx-post pass)" -ge 20
t_check "unload tcp_trace" expect 0 "unloaded $TR" "$BPF" unload "$TR"

# ---- XDP_TX and XDP_REDIRECT at rx-pre, two programs in priority order ---------------------
# icmp_reflect answers echo requests itself (XDP_TX); redirect_all
# returns XDP_REDIRECT for everything (the backend counts and drops it).
cat >"$TMP/reflect.bpf.c" <<'EOF_BPF'
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
/* linux/icmp.h pulls in glibc headers a BPF build cannot use. */
struct icmphdr { __u8 type, code; __u16 checksum; __u32 rest; };
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
SEC("xdp") int icmp_reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct icmphdr *ic = (void *)(ip + 1);
	unsigned char mac[ETH_ALEN];
	__u32 a, sum;

	if ((void *)(ic + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_ICMP || ip->ihl != 5 || ic->type != ICMP_ECHO)
		return XDP_PASS;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ic->type = ICMP_ECHOREPLY;
	/* RFC 1624: the type word went down by 0x0800, the checksum goes up. */
	sum = (__u32)ic->checksum + bpf_htons(0x0800);
	ic->checksum = (__u16)(sum + (sum >> 16));
	return XDP_TX;
}
char LICENSE[] SEC("license") = "GPL";
EOF_BPF
cat >"$TMP/redirect.bpf.c" <<'EOF_BPF'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
SEC("xdp") int redirect_all(struct xdp_md *ctx) { return bpf_redirect(1, 0); }
char LICENSE[] SEC("license") = "GPL";
EOF_BPF
for p in reflect redirect; do
	clang -O2 -g -target bpf -I/usr/include/"$(gcc -dumpmachine)" -c -o "$TMP/$p.bpf.o" "$TMP/$p.bpf.c"
done
RED=$("$BPF" load "$TMP/redirect.bpf.o" --hook rx-pre --prio 60)
t_check "XDP_REDIRECT at rx-pre: ping dropped" ping_fails
t_check "XDP_REDIRECT counted" test "$(verdict rx-pre redirect)" -gt 0
t_check "XDP_REDIRECT noted once in the engine log" grep -q "no redirect targets" "$TMP/eng.log"
REF=$("$BPF" load "$TMP/reflect.bpf.o" --hook rx-pre --prio 40)
t_check "priority order: icmp_reflect (40), xdp_filter (50), redirect_all (60)" \
	sh -c "test \"\$('$BPF' list --json | python3 -c 'import json,sys; print(\" \".join(p[\"name\"] for h in json.load(sys.stdin) if h[\"hook\"]==\"rx-pre\" for p in h[\"progs\"]))')\" = 'icmp_reflect xdp_filter redirect_all'"
t_check "XDP_TX at rx-pre: the program answers ping itself" ping_ok
t_check "XDP_TX counted, and ends the chain (redirect_all not run for them)" \
	sh -c "test \$('$BPF' list --json | python3 -c 'import json,sys; h=[h for h in json.load(sys.stdin) if h[\"hook\"]==\"rx-pre\"][0]; print(h[\"verdicts\"][\"tx\"])') -ge 2"
t_check "unload both" sh -c "'$BPF' unload $REF >/dev/null && '$BPF' unload $RED >/dev/null"

# ---- permissions and errors ------------------------------------------------------------
t_check "non-root load: permission error (exit 1)" \
	expect 1 "permission denied" nobody "$BPF" load "$FILTER" --hook rx-pre
t_check "non-root map update: permission error" \
	expect 1 "permission denied" nobody "$BPF" map update filter_ports 80 0
t_check "non-root unload: permission error" \
	expect 1 "permission denied" nobody "$BPF" unload "$ID"
t_check "non-root may read (list)" expect 0 "xdp_filter" nobody "$BPF" list
t_check "non-root cannot use the engine socket directly" \
	expect 1 "Permission denied" nobody socat -u /dev/null UNIX-CONNECT:"$RUN/engine.sock"
t_check "unknown hook: usage error (exit 2)" \
	expect 2 "unknown hook 'rx-middle'" "$BPF" load "$FILTER" --hook rx-middle
t_check "unknown map: clear error" expect 1 "no map named 'nosuchmap'" "$BPF" map dump nosuchmap
t_check "unknown id: clear error" expect 1 "no program with id 99999" "$BPF" unload 99999
t_check "unknown program name: lists the programs" \
	expect 1 "no program named 'nope'" "$BPF" load "$FILTER" --hook rx-pre --prog nope
t_check "bad key size: clear error" expect 1 "expected 4 bytes of hex" "$BPF" map lookup filter_ports 01:02
t_check "typed key out of range: clear error" \
	expect 1 "too large" "$BPF" map lookup filter_ports 4294967296
t_check "not an object: clear error" expect 1 "error" "$BPF" load /etc/hostname --hook rx-pre
t_check "no loaderd in that run dir: clear error" \
	expect 1 "cannot reach flextoe-loaderd" "$BPF" list --run-dir "$TMP/none"
t_check "-h on every verb" sh -c "'$BPF' load -h | grep -q Usage && '$BPF' unload -h | grep -q Usage &&
	'$BPF' list -h | grep -q Usage && '$BPF' map -h | grep -q Usage"

# ---- loaderd crash: the engine keeps its programs --------------------------------------------
LPID=$(loaderd_pid)
kill -9 "$LPID"
t_check "kill -9 loaderd: it is gone" wait_cmd 3 sh -c "! kill -0 $LPID"
t_check "the engine is still running" kill -0 "$ENG_PID"
t_check "the engine logged loaderd's death" wait_cmd 3 grep -q "flextoe-loaderd (pid $LPID) was killed" "$TMP/eng.log"
t_check "without loaderd, the CLI says so" expect 1 "cannot reach flextoe-loaderd" "$BPF" list
t_check "programs keep running: port 80 still dropped" tcp_dropped
t_check "programs keep running: ping passes" ping_ok
ns_bg eng "$LOADERD" --run-dir "$RUN" >"$TMP/loaderd2.log" 2>&1
t_check "a new loaderd starts" wait_cmd 5 test -S "$RUN/loader.sock"
t_check "the new loaderd re-learns the engine's programs" wait_cmd 3 grep -q "the engine runs 1 program" "$TMP/loaderd2.log"
t_check "list works again and shows the program with its counts" \
	sh -c "'$BPF' list | grep -Eq '^rx-pre +50 +$ID +xdp_filter' && test \$('$BPF' list --json | python3 -c 'import json,sys; print([h for h in json.load(sys.stdin) if h[\"hook\"]==\"rx-pre\"][0][\"verdicts\"][\"drop\"])') -gt 0"
t_check "maps survived: filter_ports 80 still set" expect 0 "value: 06 00 00 00" "$BPF" map lookup filter_ports 80
t_check "a second loaderd on the same run dir leaves the first" \
	expect 0 "already serves" "$LOADERD" --run-dir "$RUN"

# ---- atomic replace ----------------------------------------------------------------------------
ID3=$("$BPF" load "$FILTER" --hook rx-pre --replace "$ID")
t_check "load --replace takes the old program's place" \
	sh -c "test -n '$ID3' && '$BPF' list | grep -Eq '^rx-pre +50 +$ID3 +xdp_filter' && ! '$BPF' list | grep -Eq '^rx-pre +50 +$ID +'"
t_check "the replacement has fresh maps: port 80 passes again" tcp_refused
t_check "--replace of an unknown id: clear error" \
	expect 1 "no program with id 99999" "$BPF" load "$FILTER" --hook rx-pre --replace 99999
t_check "--replace at another hook: clear error" \
	expect 1 "runs at rx-pre, not tx-post" "$BPF" load "$FILTER" --hook tx-post --replace "$ID3"
ID=$ID3

# ---- load with --map-size/--rodata, as a libbpf skeleton sets them before load ------------------
MIXED=$PWD/$BUILD/tests/progs/ld_mixed.bpf.o
t_check "load: a max_entries 0 map without --map-size is refused, naming the option" \
	expect 1 "map-size counts=N" "$BPF" load "$MIXED" --hook rx-pre --prog xdp_cfg
t_check "load: --rodata of a variable the object lacks is refused, naming it" \
	expect 1 "no_such_var" "$BPF" load "$MIXED" --hook rx-pre --prog xdp_cfg \
	--map-size counts=8 --rodata no_such_var=01000000
t_check "load: a bad --map-size is a usage error" \
	expect 2 "not a size" "$BPF" load "$MIXED" --hook rx-pre --map-size counts=0
# cfg_verdict XDP_DROP: the engine runs the value set before load
MIXED_ID=$("$BPF" load "$MIXED" --hook rx-pre --prog xdp_cfg --prio 10 --map-size counts=64 \
	--rodata cfg_verdict=01000000 --rodata cfg_key_off=0x0c)
t_check "load --map-size --rodata installs xdp_cfg" test -n "$MIXED_ID"
t_check "its .rodata verdict (XDP_DROP) drops ping" ping_fails
t_check "its map has the size given" sh -c "'$BPF' map list --json | python3 -c '
import json, sys
m = [x for x in json.load(sys.stdin) if x[\"name\"] == \"counts\"]
sys.exit(not m or m[0][\"max_entries\"] != 64)'"
t_check "unload it" expect 0 "unloaded $MIXED_ID" "$BPF" unload "$MIXED_ID"

# ---- unload restores traffic ------------------------------------------------------------------
t_check "unload --hook rx-pre --all" expect 0 "unloaded $ID" "$BPF" unload --hook rx-pre --all
t_check "after unload TCP reaches the engine again" tcp_refused
t_check "after unload ping works" ping_ok
t_check "list: no programs left" sh -c "test \$('$BPF' list --json | python3 -c 'import json,sys; print(sum(len(h[\"progs\"]) for h in json.load(sys.stdin)))') -eq 0"
t_check "unloaded objects' copies removed" sh -c "test -z \"\$(ls '$RUN/progs')\""

kill -TERM "$ENG_PID"
t_check "engine stops on SIGTERM" wait_cmd 5 sh -c "! kill -0 $ENG_PID"
t_check "engine removed its control socket" test ! -e "$RUN/engine.sock"

# ---- --no-loaderd --------------------------------------------------------------------------------
ns_bg eng "$FLEXTOE" --iface veth0 --ip $ENG_IP/24 --run-dir "$TMP/run2" --no-loaderd >"$TMP/eng2.log" 2>&1
t_check "--no-loaderd: engine ready" wait_cmd 5 grep -q "ready:" "$TMP/eng2.log"
t_check "--no-loaderd: no loader socket" sh -c "sleep 0.3; test ! -e '$TMP/run2/loader.sock'"
t_check "--no-loaderd: engine socket is there" test -S "$TMP/run2/engine.sock"
kill -TERM "$(cat "$TMP/run2/flextoe.pid")"
wait_cmd 5 test ! -e "$TMP/run2/flextoe.pid"

# ---- an engine killed with -9 takes its loaderd along ------------------------------------
ns_bg eng "$FLEXTOE" --iface veth0 --ip $ENG_IP/24 --run-dir "$TMP/run3" >"$TMP/eng3.log" 2>&1
t_check "engine with loaderd ready" wait_cmd 5 test -S "$TMP/run3/loader.sock"
[[ -S $TMP/run3/loader.sock ]] || cat "$TMP/eng3.log" >&2
L3=$(cat "$TMP/run3/loaderd.pid")
kill -9 "$(cat "$TMP/run3/flextoe.pid")"
t_check "kill -9 of the engine: its loaderd exits too" wait_cmd 5 sh -c "! kill -0 $L3"
ns_bg eng "$FLEXTOE" --iface veth0 --ip $ENG_IP/24 --run-dir "$TMP/run3" >"$TMP/eng4.log" 2>&1
t_check "the next engine starts (no queue held by a leftover process)" \
	wait_cmd 5 grep -q "ready:" "$TMP/eng4.log"
t_check "and has a fresh loaderd with an empty view" \
	wait_cmd 5 sh -c "'$BPF' list --run-dir '$TMP/run3' | grep -q '(no programs)'"
kill -TERM "$(cat "$TMP/run3/flextoe.pid")"

t_summary
