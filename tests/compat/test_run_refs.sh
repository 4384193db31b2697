#!/usr/bin/env bash
# test_run_refs.sh - flextoe-bpf test-run --map-update fills program arrays and maps of maps by name (a program, an inner map of the object), in the runtime and the kernel twin alike: a tail call set up this way runs, a swapped ring steers the balancer, and bad names or mismatched maps are refused with the reason.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
CLI=$BUILD/bin/flextoe-bpf
PROGS=$BUILD/tests/progs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [[ ! -x $CLI ]]; then
	t_fail "$CLI is built (run make first)"; t_summary; exit
fi

# retval ENGINE ARGS...: the verdict test-run prints
retval() {
	local e=$1; shift
	"$CLI" test-run "$@" --engine "$e" --json 2>&1 | sed -n 's/.*"retval":\([0-9]*\).*/\1/p'
}

# ld_tailcall: tail_entry tail-calls jmp_table[byte 14]; slot 0 is empty
# (falls through: PASS) until tail_target (DROP) is put there by name.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(64))' >"$TMP/zero.bin"
for e in jit interp kernel; do
	before=$(retval "$e" "$PROGS/ld_tailcall.bpf.o" --prog tail_entry --data-in "$TMP/zero.bin")
	after=$(retval "$e" "$PROGS/ld_tailcall.bpf.o" --prog tail_entry --data-in "$TMP/zero.bin" \
		--map-update jmp_table 00000000 tail_target)
	t_check "$e: prog array slot set by program name ($before -> $after, want 2 -> 1)" \
		test "$before/$after" = 2/1
done

# ld_lb_mim: ring 0 swapped for ring_b, every slot of which names real 3
# (10.10.10.13): the IPIP outer destination follows, on every engine.
python3 - "$TMP/lb.bin" <<'PY'
import struct, sys
eth = bytes.fromhex("020000000001020000000002") + b"\x08\x00"
ip = bytes.fromhex("450000320000400040060000" "0a010203" "0a000001")
tcp = struct.pack("!HHIIBBHHH", 1000, 80, 1, 0, 0x50, 0x02, 65535, 0, 0)
open(sys.argv[1], "wb").write((eth + ip + tcp).ljust(64, b"\0"))
PY
ring=()
for i in $(seq 0 63); do ring+=(--map-update ring_b "$(printf '%02x000000' "$i")" 03000000); done
for e in jit interp kernel; do
	"$CLI" test-run "$PROGS/ld_lb_mim.bpf.o" --data-in "$TMP/lb.bin" --data-out "$TMP/lb.$e" \
		--engine "$e" "${ring[@]}" --map-update ch_rings 00000000 ring_b >/dev/null 2>&1
	t_check "$e: inner map swapped by name steers the flow to 10.10.10.13" \
		test "$(xxd -p -s 30 -l 4 "$TMP/lb.$e" 2>/dev/null)" = 0a0a0a0d
done

out=$("$CLI" test-run "$PROGS/ld_lb_mim.bpf.o" --data-in "$TMP/lb.bin" \
	--map-update ch_rings 00000000 nosuch 2>&1)
t_check "an unknown inner map is named in the error" grep -q "'nosuch' is none" <<<"$out"
out=$("$CLI" test-run "$PROGS/ld_lb_mim.bpf.o" --data-in "$TMP/lb.bin" \
	--map-update ch_rings 00000000 real_stats 2>&1)
t_check "an inner map unlike the template is refused, saying so" \
	grep -q "does not match the map's inner template" <<<"$out"
out=$("$CLI" test-run "$PROGS/ld_tailcall.bpf.o" --prog tail_entry --data-in "$TMP/zero.bin" \
	--map-update jmp_table 00000000 nosuch 2>&1)
t_check "an unknown program is named in the error" grep -q "'nosuch' is none" <<<"$out"

t_summary
