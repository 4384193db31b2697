#!/usr/bin/env bash
# nfpsim_hooks.sh - eBPF programs at the simulated NIC's hooks (issue 10, build/bin/flextoe-nfpsim
# --hook): their verdicts apply (a firewall denying the service port leaves the application without
# a byte; allowing it changes nothing), the x86 and NFP runs stay byte-identical with programs
# attached, and attaching tcp_trace or the firewall lowers the modelled throughput by a plausible
# amount.  No namespaces: one process over the in-memory link.  ~15 s.
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD=${FTOE_BUILD:-build}
SIM=$BUILD/bin/flextoe-nfpsim
FW=$BUILD/xdp-progs/firewall.bpf.o
TRACE=$BUILD/xdp-progs/tcp_trace.bpf.o
for f in "$SIM" "$FW" "$TRACE"; do
	if [[ ! -e $f ]]; then
		echo "nfpsim_hooks: $f is missing: run 'make' first" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done
TMP=$(mktemp -d /tmp/ftoe-nfpsim-hooks.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; [[ -n ${2:-} ]] && sed 's/^/    /' <<<"$2" | tail -n 8; fail=$((fail + 1)); }
kv() { sed -n "s/.*\b$1=\([0-9-]*\).*/\1/p" <<<"$2" | head -n1; }

printf 'policy allow\ndeny tcp any any any 7000\n' >"$TMP/deny.rules"
printf 'policy deny\nallow tcp any any any 7000\n' >"$TMP/allow.rules"

# 1. DROP applies: the service port denied, the connections never open and the application
# receives nothing (the run stalls, as a real firewall would leave it).
out=$(timeout -k 5 120 "$SIM" run --traffic rpc --conns 4 --hook "rx-pre:$FW" \
	--fw-rules "$TMP/deny.rules" 2>&1)
if [[ $(kv app_bytes "$out") == 0 && $(kv rx_hook_drops "$out") -gt 0 ]] &&
	grep -q '^hook=rx-pre runs=[1-9].* pass=0 drop=[1-9]' <<<"$out"; then
	ok "deny 7000: $(kv rx_hook_drops "$out") frames dropped at rx-pre, 0 application bytes"
else
	bad "deny 7000: expected 0 application bytes and drops" "$out"
fi

# 2. PASS applies: the port allowed, every byte arrives and nothing is dropped.
out=$(timeout -k 5 120 "$SIM" run --traffic rpc --conns 4 --hook "rx-pre:$FW" \
	--fw-rules "$TMP/allow.rules" 2>&1)
ref=$(timeout -k 5 120 "$SIM" run --traffic rpc --conns 4 2>&1)
if [[ $(kv rc "$out") == 0 && $(kv rx_hook_drops "$out") == 0 &&
	$(kv app_bytes "$out") == "$(kv app_bytes "$ref")" && $(kv app_bytes "$ref") -gt 0 ]]; then
	ok "allow 7000: $(kv app_bytes "$out") application bytes, as without the firewall"
else
	bad "allow 7000: expected the same bytes as without a program" "$out"
fi

# 3. With programs at rx-pre and rx-post, the NFP run still equals the x86 run byte for byte.
out=$(timeout -k 5 300 "$SIM" verify --traffic rpc --conns 8 --window 4 --rpcs 800 --loss 3 --seeds 4 \
	--hook "rx-pre:$FW" --fw-rules "$TMP/allow.rules" --hook "rx-post:$TRACE" 2>&1)
if grep -q '^4 passed, 0 failed' <<<"$out"; then
	ok "verify with firewall at rx-pre and tcp_trace at rx-post: 4 schedules byte-identical"
else
	bad "verify with hooks" "$out"
fi

# 4. Throughput: each program alone against none.  A program costs the stage that runs it
# compute and memory commands, so throughput must fall where that stage is the limit
# (1 flow group x (1,1,1)) - but not collapse (a few hundred eBPF instructions against
# ~1,000 instructions of pre-processing) - and may not rise anywhere.
if ! timeout -k 5 180 "$SIM" hooks --traffic rpc --conns 1 --json --hook "rx-pre:$TRACE" \
	--hook "rx-pre:$FW" --fw-rules core/nfp/sim/hooks-fw.rules >"$TMP/h.json" 2>"$TMP/h.err"; then
	bad "hooks --json failed" "$(cat "$TMP/h.err")"
else
	res=$(python3 - "$TMP/h.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["hooks"]
assert h[0]["program"] == "none" and h[0]["small"]["ratio"] == 1.0
bad = []
for p in h[1:]:
    s, f = p["small"]["ratio"], p["full"]["ratio"]
    if not (p["insns_per_frame"] > 20 and p["cycles_per_frame"] > p["insns_per_frame"]):
        bad.append("%s: %.0f insns, %.0f cycles per frame" % (p["program"], p["insns_per_frame"], p["cycles_per_frame"]))
    if not (0.5 <= s <= 0.97):
        bad.append("%s: 1/1/1 ratio %.3f outside 0.5..0.97" % (p["program"], s))
    if not (0.5 <= f <= 1.01):
        bad.append("%s: 50-ME ratio %.3f outside 0.5..1.01" % (p["program"], f))
print("; ".join(bad) if bad else "OK " + ", ".join(
    "%s %.0f insns/frame %.2fx (1/1/1) %.2fx (50 MEs)" % (p["program"], p["insns_per_frame"],
    p["small"]["ratio"], p["full"]["ratio"]) for p in h[1:]))
PY
)
	if [[ $res == OK* ]]; then
		ok "throughput: ${res#OK }"
	else
		bad "throughput: $res" "$(cat "$TMP/h.json")"
	fi
fi

# 5. Bad input: clear errors, exit 2.
for a in "--hook bogus:$FW" "--hook rx-pre:$TMP/nonexistent.o" "--hook tx-post:$FW" \
	"--hook rx-pre:$TRACE --fw-rules $TMP/allow.rules" "--hook rx-pre:$FW --fw-rules $TMP/none.rules"; do
	# shellcheck disable=SC2086
	out=$("$SIM" run --traffic rpc --conns 1 $a 2>&1)
	rc=$?
	if [[ $rc -eq 2 ]] && grep -q 'flextoe-nfpsim: ' <<<"$out"; then
		ok "bad input ($a): $(head -n1 <<<"$out")"
	else
		bad "bad input ($a): rc $rc" "$out"
	fi
done
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
