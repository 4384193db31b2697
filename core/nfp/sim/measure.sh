#!/usr/bin/env bash
# measure.sh - instructions per item of each NFP stage, counted by callgrind on flextoe-nfpsim's
# functional run: the figures core/nfp/sim/nfpsim.conf's ir_* lines hold (docs/nfp.md "Method").
# Usage: core/nfp/sim/measure.sh [BUILD]   (prints ir_* lines to paste into the config)
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${1:-build}
SIM=$BUILD/bin/flextoe-nfpsim
command -v valgrind >/dev/null || { echo "measure.sh: valgrind is not installed (scripts/deps.sh)" >&2; exit 1; }
[[ -x $SIM ]] || { echo "measure.sh: $SIM is missing: run 'make' first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/ftoe-nfpsim-cg.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ir FUNC ARGS...: instructions inside FUNC (inclusive) over one run, less
# the model's own bookkeeping inside it (the self cost of nfp_mem_cmd's
# accounting and of the CAM and ring helpers, single instructions or
# hardware on an ME), read from the same profile with callgrind_annotate.
ir() {
	local fn=$1; shift
	local total hal
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect="$fn" \
		--callgrind-out-file="$TMP/cg" "$SIM" run "$@" >"$TMP/out" 2>"$TMP/err"
	total=$(sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$TMP/err" | tail -n1)
	hal=$(callgrind_annotate "$TMP/cg" 2>/dev/null |
		awk '/:nfp_(mem_cmd|cam_lookup|ring_put|ring_get) / { gsub(",", "", $1); s += $1 } END { print s + 0 }')
	echo $((total - hal))
}
count() { sed -n "s/.*$1=\([0-9]*\).*/\1/p" "$TMP/out"; }

# 64-byte RPCs one at a time (every segment one request or one response),
# and MSS bulk, over one connection
rpc=(--traffic rpc --conns 1 --window 1 --rpcs 5000)
bulk=(--traffic bulk --conns 1 --bytes 8388608)
for t in rpc bulk; do
	declare -n args=$t
	pre=$(ir nfp_fpc_pre "${args[@]}"); np=$(count pre_items)
	proto=$(ir nfp_fpc_proto "${args[@]}"); nq=$(count proto_items)
	post=$(ir nfp_fpc_post "${args[@]}"); nr=$(count post_items)
	# transmit: both engines send (the peer as well), so per frame over both
	sched=$(ir ftoe_sched_run "${args[@]}")
	ptx=$(ir ftoe_proto_tx "${args[@]}")
	txs=$(ir ftoe_tx_send "${args[@]}")
	frames=$(( $(count nic_tx_frames) + $(count peer_tx_frames) ))
	echo "# $t: measured by core/nfp/sim/measure.sh ($(valgrind --version)), x86-64 instructions per item"
	echo "ir_pre_$t = $((pre / np))"
	echo "ir_proto_$t = $((proto / nq))"
	echo "ir_post_$t = $((post / nr))"
	echo "ir_sched_$t = $((sched / frames))"
	echo "ir_proto_tx_$t = $((ptx / frames))"
	echo "ir_tx_build_$t = $((txs / frames))"
done
