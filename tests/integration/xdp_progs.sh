#!/usr/bin/env bash
# xdp_progs.sh - the shipped XDP programs load into the kernel (xdp-loader, skb and native mode, on a veth in a namespace), pass flextoe-bpf verify, and behave as configured in the jit, interp and kernel engines.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
CLI=$BUILD/bin/flextoe-bpf
FW=$BUILD/bin/flextoe-fw
PROGS=$BUILD/xdp-progs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; ns_cleanup' EXIT

for f in "$CLI" "$FW"; do
	if [[ ! -x $f ]]; then
		echo "missing $f (run make first)" >&2
		t_fail "$f is built"; t_summary; exit
	fi
done
objs=("$PROGS"/*.bpf.o)
if [[ ! -f ${objs[0]} ]]; then
	t_fail "programs are built in $PROGS"; t_summary; exit
fi
ns_init
trap 'rm -rf "$TMP"; ns_cleanup' EXIT

# ---- kernel: xdp-loader and the runtime's verifier gate -------------------
ns_add a && ns_add b && ns_link a veth0 10.9.0.1/24 b veth1 10.9.0.2/24 ||
	{ t_fail "namespaces and veth pair"; t_summary; exit; }
for obj in "${objs[@]}"; do
	name=$(basename "$obj" .bpf.o)
	for mode in skb native; do
		# Without a usable dispatcher (this kernel refuses freplace),
		# xdp-loader falls back to attaching the program directly.
		if out=$(ns_exec a xdp-loader load -m "$mode" veth0 "$obj" 2>&1) &&
		   ns_exec a xdp-loader status veth0 2>&1 | grep -q "$mode" &&
		   ns_exec a xdp-loader unload -a veth0 >/dev/null 2>&1 &&
		   ! ns_exec a ip link show veth0 | grep -q 'prog/xdp'; then
			t_ok "$name: xdp-loader load -m $mode, status, unload"
		else
			t_fail "$name: xdp-loader load -m $mode"; echo "$out" | sed 's/^/    /'
			ns_exec a xdp-loader unload -a veth0 >/dev/null 2>&1
		fi
	done
	t_check "$name: flextoe-bpf verify" "$CLI" verify "$obj"
done
# traffic still flows through a loaded program (tcp_trace passes all)
if ns_exec a xdp-loader load -m skb veth0 "$PROGS/tcp_trace_ktime.bpf.o" >/dev/null 2>&1; then
	t_check "ping through tcp_trace_ktime (skb mode on the receiver)" \
		ns_exec b ping -c 2 -W 2 -i 0.2 10.9.0.1 >/dev/null
	ns_exec a xdp-loader unload -a veth0 >/dev/null 2>&1
else
	t_fail "load tcp_trace_ktime for the ping test"
fi

# ---- behaviour: the three engines on crafted frames ---------------------
# frame NAME PYTHON: builds a frame with helpers eth(), ipv4(), ipv6(),
# tcp(), udp(), vlan(); the expression's bytes go to $TMP/NAME.bin
frame() {
	python3 - "$TMP/$1.bin" "$2" <<'PY'
import socket, struct, sys
def eth(proto, dst=b'\x02\0\0\0\0\x02', src=b'\x02\0\0\0\0\x01'):
    return dst + src + struct.pack('!H', proto)
def vlan(tpid, vid):
    return struct.pack('!HH', tpid, vid)
def tcp(sport, dport, seq=1, ack=2, flags=0x18, payload=b''):
    return struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, 0x1234, 0, 0) + payload
def udp(sport, dport, payload=b''):
    return struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
def ipv4(src, dst, proto, l4):
    return struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0,
                       socket.inet_aton(src), socket.inet_aton(dst)) + l4
def ipv6(src, dst, proto, l4):
    return struct.pack('!IHBB16s16s', 6 << 28, len(l4), proto, 64,
                       socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)) + l4
def t4(src, sport, dst, dport, **kw):
    return eth(0x0800) + ipv4(src, dst, 6, tcp(sport, dport, **kw))
def u4(src, sport, dst, dport):
    return eth(0x0800) + ipv4(src, dst, 17, udp(sport, dport))
def t6(src, sport, dst, dport):
    return eth(0x86dd) + ipv6(src, dst, 6, tcp(sport, dport))
b = eval(sys.argv[2])
open(sys.argv[1], 'wb').write(b)
PY
}

# expect DESC OBJ FRAME RETVAL OUTFRAME [test-run args...]: every engine
# returns RETVAL and the output bytes of OUTFRAME ("-" = the input frame)
expect() {
	local desc=$1 obj=$2 fr=$3 want=$4 outfr=$5; shift 5
	local e out ok=1 ret
	[[ $outfr == - ]] && outfr=$fr
	for e in jit interp kernel; do
		if ! out=$("$CLI" test-run "$PROGS/$obj.bpf.o" --data-in "$TMP/$fr.bin" \
			--data-out "$TMP/out.$e" --engine "$e" --json "$@" 2>&1); then
			t_fail "$desc: engine $e failed"; echo "$out" | sed 's/^/    /'; return
		fi
		ret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["retval"])' "$out")
		if [[ $ret != "$want" ]]; then
			echo "    $e: retval $ret, expected $want"; ok=0
		elif ! cmp -s "$TMP/out.$e" "$TMP/$outfr.bin"; then
			echo "    $e: output bytes differ from $outfr"; ok=0
		fi
	done
	if [[ $ok -eq 1 ]]; then t_ok "$desc (retval $want, jit/interp/kernel)"; else t_fail "$desc"; fi
}

DROP=1 PASS=2
frame tcp22 "t4('10.0.0.9', 40000, '10.0.0.1', 22)"
frame tcp80 "t4('10.0.0.8', 40000, '10.0.0.1', 80)"
frame udp22 "u4('10.0.0.8', 40000, '10.0.0.1', 22)"
frame tcp6_443 "t6('2001:db8::9', 1234, '2001:db8::1', 443)"
frame arp "eth(0x0806) + bytes(28)"
frame tcp_src22 "t4('10.0.0.8', 22, '10.0.0.1', 5000)"

# filter: filter_ports key = port (host order u32), value FILTER_* bits
PORT22_TCP_DST=(--map-update filter_ports 16000000 06000000)	# DST|TCP
IP_SRC=(--map-update filter_ipv4 0a000009 01000000)		# 10.0.0.9 as source
MAC_DST=(--map-update filter_ethernet 020000000002 02000000)	# dst MAC
for mode in deny allow; do
	hit=$DROP miss=$PASS
	[[ $mode == allow ]] && hit=$PASS miss=$DROP
	expect "filter_$mode: TCP dport 22 listed" filter_$mode tcp22 $hit - "${PORT22_TCP_DST[@]}"
	expect "filter_$mode: TCP dport 80 not listed" filter_$mode tcp80 $miss - "${PORT22_TCP_DST[@]}"
	expect "filter_$mode: UDP dport 22 (entry is TCP only)" filter_$mode udp22 $miss - "${PORT22_TCP_DST[@]}"
	expect "filter_$mode: TCP sport 22 (entry is DST only)" filter_$mode tcp_src22 $miss - "${PORT22_TCP_DST[@]}"
	expect "filter_$mode: IPv4 source listed" filter_$mode tcp80 $miss - "${IP_SRC[@]}"
	expect "filter_$mode: IPv4 source listed, matching frame" filter_$mode tcp22 $hit - "${IP_SRC[@]}"
	expect "filter_$mode: IPv6 address listed" filter_$mode tcp6_443 $hit - \
		--map-update filter_ipv6 20010db8000000000000000000000001 02000000
	expect "filter_$mode: destination MAC listed (ARP too)" filter_$mode arp $hit - "${MAC_DST[@]}"
	expect "filter_$mode: nothing configured" filter_$mode tcp22 $miss -
done

# firewall: a rule file compiled by flextoe-fw into --map-update arguments
cat >"$TMP/fw.rules" <<'RULES'
policy deny
deny  tcp 10.0.0.9    any 10.0.0.0/24 any     # one bad host first
allow tcp 10.0.0.0/8  any 10.0.0.1    20-25
allow tcp 10.0.0.0/8  any any         80
allow any 2001:db8::/32 any any       any
RULES
if ! "$FW" compile "$TMP/fw.rules" --print-updates >"$TMP/fw.updates" 2>"$TMP/fw.err"; then
	t_fail "flextoe-fw compile"; sed 's/^/    /' "$TMP/fw.err"
else
	t_ok "flextoe-fw compile: $(cat "$TMP/fw.err")"
	fwargs=()
	while read -r m k v; do fwargs+=(--map-update "$m" "$k" "$v"); done <"$TMP/fw.updates"
	frame fw_d22_bad "t4('10.0.0.9', 40000, '10.0.0.1', 22)"
	frame fw_d22 "t4('10.0.0.8', 40000, '10.0.0.1', 22)"
	frame fw_d26 "t4('10.0.0.8', 40000, '10.0.0.1', 26)"
	frame fw_d80 "t4('10.200.0.8', 40000, '8.8.8.8', 80)"
	frame fw_ext "t4('11.0.0.8', 40000, '8.8.8.8', 80)"
	frame fw_udp "u4('10.0.0.8', 40000, '10.0.0.1', 22)"
	frame fw_v6 "t6('2001:db8::9', 1234, '2001:db8::1', 443)"
	expect "firewall: rule 1 (deny host) before rule 2" firewall fw_d22_bad $DROP - "${fwargs[@]}"
	expect "firewall: rule 2 (port range 20-25)" firewall fw_d22 $PASS - "${fwargs[@]}"
	expect "firewall: port 26 outside the range: policy deny" firewall fw_d26 $DROP - "${fwargs[@]}"
	expect "firewall: rule 3 (any destination, port 80)" firewall fw_d80 $PASS - "${fwargs[@]}"
	expect "firewall: source outside 10/8: policy deny" firewall fw_ext $DROP - "${fwargs[@]}"
	expect "firewall: UDP matches no tcp rule: policy deny" firewall fw_udp $DROP - "${fwargs[@]}"
	expect "firewall: IPv6 rule 4" firewall fw_v6 $PASS - "${fwargs[@]}"
	expect "firewall: ARP is not filtered" firewall arp $PASS - "${fwargs[@]}"
	expect "firewall: unconfigured allows" firewall fw_d26 $PASS -
fi
printf 'allow tcp any any any 80\nallow tcp 10.0.0.0/8 any any 70000\n' >"$TMP/bad.rules"
if out=$("$FW" compile "$TMP/bad.rules" 2>&1); then
	t_fail "flextoe-fw rejects a bad rule file"
else
	t_check "flextoe-fw names the bad line: $out" grep -q "bad.rules:2: DPORT '70000'" <<<"$out"
fi

# vlan_strip: QinQ and 802.1Q frames come out as the untagged frame
frame plain "t4('10.0.0.8', 40000, '10.0.0.1', 80, payload=b'x' * 40)"
frame qinq "eth(0x88a8)[:12] + vlan(0x88a8, 100) + vlan(0x8100, 200) + t4('10.0.0.8', 40000, '10.0.0.1', 80, payload=b'x' * 40)[12:]"
frame dot1q "eth(0x8100)[:12] + vlan(0x8100, 300) + t4('10.0.0.8', 40000, '10.0.0.1', 80, payload=b'x' * 40)[12:]"
expect "vlan_strip: QinQ frame becomes the untagged frame" vlan_strip qinq $PASS plain
expect "vlan_strip: 802.1Q frame becomes the untagged frame" vlan_strip dot1q $PASS plain
expect "vlan_strip: untagged frame unchanged" vlan_strip plain $PASS -

# observers pass everything unchanged (without flextoe_md: no metadata)
for p in tcp_trace capture classify; do
	expect "$p: TCP frame passes unchanged" $p tcp80 $PASS -
	expect "$p: ARP frame passes unchanged" $p arp $PASS -
done
expect "tcp_trace: port filter configured" tcp_trace tcp22 $PASS - \
	--map-update trace_cfg 00000000 01000000500000000000000000000000000000000000000000000000
expect "capture: snaplen 60" capture tcp80 $PASS - --map-update capture_cfg 00000000 3c00000000000000
expect "classify: port entry, no metadata to write" classify tcp80 $PASS - \
	--map-update classify_ports 06005000 0700000002000000

t_summary
