#!/usr/bin/env bash
# cli_test_run.sh - `flextoe-bpf test-run` gives the same verdict and bytes in the jit, interp and kernel engines.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
CLI=$BUILD/bin/flextoe-bpf
PROGS=$BUILD/tests/progs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [[ ! -x $CLI ]]; then
	echo "missing $CLI (run make first)" >&2
	t_fail "flextoe-bpf is built"; t_summary; exit
fi

# packet NAME PYTHON-EXPR: bytes 0..159, then the expression edits b.
packet() {
	python3 -c "import struct, sys
b = bytearray(i * 7 % 256 for i in range(160))
$2
sys.stdout.buffer.write(bytes(b))" >"$TMP/$1.bin"
}

# agree DESC OBJ PKT ARGS...: the three engines agree on retval,
# data_size_out and the output bytes; the JSON has exactly the three keys.
agree() {
	local desc=$1 obj=$2 pkt=$3; shift 3
	local e out rc=0
	for e in kernel interp jit; do
		if ! out=$("$CLI" test-run "$PROGS/$obj.bpf.o" --data-in "$TMP/$pkt.bin" \
			--data-out "$TMP/out.$e" --engine "$e" --json "$@" 2>"$TMP/stderr"); then
			t_fail "$desc: engine $e failed"; sed 's/^/    /' "$TMP/stderr"; return
		fi
		if ! python3 -c "import json, sys
o = json.loads(sys.argv[1])
assert sorted(o) == ['data_size_out', 'duration_ns', 'retval'], o
print(o['retval'], o['data_size_out'])" "$out" >"$TMP/res.$e" 2>"$TMP/err"; then
			t_fail "$desc: engine $e printed bad JSON: $out"; return
		fi
	done
	for e in interp jit; do
		if ! cmp -s "$TMP/res.kernel" "$TMP/res.$e"; then
			t_fail "$desc: $e says '$(cat "$TMP/res.$e")', kernel '$(cat "$TMP/res.kernel")'"
			rc=1
		elif ! cmp -s "$TMP/out.kernel" "$TMP/out.$e"; then
			t_fail "$desc: $e output bytes differ from the kernel's"
			rc=1
		fi
	done
	[[ $rc -eq 0 ]] && t_ok "$desc (retval/size $(cat "$TMP/res.kernel"))"
}

packet plain ""
packet slot1 "b[14] = 1"
packet slot2 "b[14] = 2"
packet head_grow "b[14:18] = struct.pack('<i', -64)"
packet head_bad "b[14:18] = struct.pack('<i', -1000)"
packet meta "b[14:18] = struct.pack('<i', -24)"
packet tail_grow "b[14:18] = struct.pack('<i', 1000)"
packet tail_shrink "b[14:18] = struct.pack('<i', -100)"
packet csum "b[14] = 37; b[15] = 20"
packet loop "b[14] = 50; b[15] = 90"
packet prefix "b[14] = 1; b[16:20] = bytes([10, 1, 2, 3])"

agree "global data and a subprogram" ld_globals plain
agree "global data, repeated 5 times on one frame" ld_globals plain --repeat 5
agree "tail call taken" ld_tailcall slot1 --prog tail_entry
agree "tail call to an empty slot" ld_tailcall slot2 --prog tail_entry
agree "adjust_head grows" ld_helpers head_grow --prog xdp_head
agree "adjust_head out of range" ld_helpers head_bad --prog xdp_head
# Some kernels (6.18 here) refuse bpf_xdp_adjust_meta in XDP programs; every
# program passes the kernel verifier before it runs, so there the engines
# must refuse xdp_meta and name the helper.
if "$CLI" verify "$PROGS/ld_meta.bpf.o" >/dev/null 2>"$TMP/meta.err"; then
	agree "adjust_meta" ld_meta meta --prog xdp_meta
elif grep -q "calls bpf_xdp_adjust_meta, which this kernel's verifier does not allow" "$TMP/meta.err" &&
	! "$CLI" test-run "$PROGS/ld_meta.bpf.o" --data-in "$TMP/meta.bin" --engine jit >/dev/null 2>&1; then
	t_ok "adjust_meta: this kernel refuses the helper, and the loader says so"
else
	t_fail "adjust_meta: verify failed for another reason: $(tail -n1 "$TMP/meta.err")"
fi
agree "adjust_tail grows" ld_helpers tail_grow --prog xdp_tail
agree "adjust_tail shrinks" ld_helpers tail_shrink --prog xdp_tail
agree "csum_diff" ld_helpers csum --prog xdp_csum
agree "bpf_loop" ld_loop loop
agree "legacy maps, repeated" ld_legacy slot1 --repeat 3
agree "map update steers the verdict" ld_maps slot1 --map-update verdicts 01000000 01000000
agree "map update of an LPM trie" ld_maps prefix \
	--map-update prefixes "18000000 0a010200" 03000000

# Objects as real projects ship them: a tc and a tracing program beside
# the XDP ones, a map sized 0 and .rodata the loader sets (xdp-bench).
packet key9 "b[14] = 5; b[15] = 9"
agree "map sized and .rodata set before load" ld_mixed key9 --prog xdp_cfg \
	--map-size counts=4 --rodata cfg_verdict=03000000 --rodata cfg_key_off=0f
out=$("$CLI" test-run "$PROGS/ld_mixed.bpf.o" --prog xdp_cfg --data-in "$TMP/key9.bin" \
	--map-size counts=4 --rodata cfg_verdict=01000000 2>&1)
t_check ".rodata preset steers the verdict" grep -q "^retval: 1 (XDP_DROP)" <<<"$out"
t_check "the tc program is reported as skipped" \
	grep -q "program tc_mark (section tc) skipped: a sched_cls program" <<<"$out"
out=$("$CLI" verify "$PROGS/ld_mixed.bpf.o" --map-size counts=4 --json 2>/dev/null)
t_check "verify --json lists the verified and the skipped programs" python3 -c "import json, sys
o = json.loads(sys.argv[1])
assert [p['name'] for p in o['programs']] == ['xdp_cfg', 'xdp_other'], o
assert [(p['name'], p['type']) for p in o['skipped']] == \
	[('tc_mark', 'sched_cls'), ('trace_exc', 'tracing')], o" "$out"
out=$("$CLI" verify "$PROGS/ld_mixed.bpf.o" --map-size counts=4 --prog xdp_other 2>/dev/null)
t_check "verify --prog loads only the one named" \
	test "$(grep -c verified <<<"$out")" = 1
out=$("$CLI" verify "$PROGS/ld_mixed.bpf.o" 2>&1)
t_check "a map sized 0 is named with the option that sizes it" \
	grep -q "map 'counts' is declared with max_entries 0.*--map-size counts=N" <<<"$out"
out=$("$CLI" verify "$PROGS/ld_mixed.bpf.o" --map-size counts=4 --prog tc_mark 2>&1)
t_check "--prog of a tc program says its type" \
	grep -q "program 'tc_mark' (section tc) is a sched_cls program" <<<"$out"

# Redirect target maps: a full slot redirects, an empty one gives the
# fallback action of the flags (xdp-bench, xdp-forward, libxdp's xsk
# program); ifindex 1 is this netns's loopback.
agree "devmap: empty slot falls back to XDP_DROP" ld_redirect slot1 --prog xdp_devmap
agree "devmap: full slot redirects, its value read by the program" ld_redirect slot1 \
	--prog xdp_devmap --map-update tx_ports 01000000 0100000000000000
agree "devmap_hash: full slot redirects" ld_redirect slot1 --prog xdp_devhash \
	--map-update tx_hash 01000000 01000000
agree "cpumap: empty slot falls back to XDP_PASS" ld_redirect slot2 --prog xdp_cpu
agree "cpumap: full slot redirects" ld_redirect slot1 --prog xdp_cpu \
	--map-update cpus 01000000 c000000000000000
agree "xskmap: no socket, the program passes" ld_redirect plain --prog xdp_xsk

agree "bpf_spin_lock, repeated 3 times" ld_spinlock slot1 --repeat 3

# The update really took effect (XDP_DROP, not the default XDP_PASS).
out=$("$CLI" test-run "$PROGS/ld_maps.bpf.o" --data-in "$TMP/slot1.bin" --engine jit \
	--map-update verdicts 01000000 01000000)
t_check "plain output names the verdict" grep -q "^retval: 1 (XDP_DROP)" <<<"$out"

t_summary
