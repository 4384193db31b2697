#!/usr/bin/env bash
# run.sh - the compatibility corpus: XDP objects as other projects ship them (Debian's xdp-tools and libxdp objects) and programs written here that use features the way real projects do, each through verify and a differential against the kernel on both engines (map contents compared after the run).
#
# Per object: `flextoe-bpf verify` with the object's load-time settings
# (tests/diff/configs/NAME.args), then tests/diff/xdp_diff on generated
# frames (JIT, interpreter and kernel; verdicts, bytes and maps), with
# NAME.updates when there is one.  An object the runtime cannot load yet
# is listed in REFUSED with the reason its error must give: the test
# checks that the error names it, so a refusal stays a clear one.
# Environment: BUILD/FTOE_BUILD, XDPFILT_DIR, DIFF_PACKETS (default 2000).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
CLI=$BUILD/bin/flextoe-bpf
DIFF=$BUILD/tests/diff/xdp_diff
PROGS=$BUILD/tests/progs
PACKETS=${DIFF_PACKETS:-2000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [[ ! -x $CLI || ! -x $DIFF ]]; then
	t_fail "flextoe-bpf and xdp_diff are built (run make first)"; t_summary; exit
fi

source tests/lib/compat_corpus.sh

declare -A REFUSED=(
	[xdpdump_bpf]="are of other types (trace_on_entry: tracing)"
)
# Written here: the SYN proxy built with conntrack, which the engine lacks.
declare -A REFUSED_LOCAL=(
	[ld_synproxy_ct]="calls kfunc bpf_xdp_ct_lookup, which the runtime does not implement"
)

check() {
	local path=$1 name=$2 line upd=()
	if [[ ! -f $path ]]; then
		t_fail "$name: $path is missing (install xdp-tools and libxdp: scripts/deps.sh)"
		return
	fi
	args_of "$name"
	if ! "$CLI" verify "$path" "${args[@]}" >"$TMP/verify" 2>&1; then
		t_fail "$name: verify"; sed 's/^/    /' "$TMP/verify"; return
	fi
	t_ok "$name: verify ($(grep -c ': verified' "$TMP/verify") programs)"
	[[ -f $CONFIGS/$name.updates ]] && upd=(-u "$CONFIGS/$name.updates")
	"$DIFF" -n "$PACKETS" "${args[@]}" "${upd[@]}" "$path" >"$TMP/diff" 2>&1
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/diff" | tail -n1)
	if [[ $line =~ ^([0-9]+)\ passed,\ 0\ failed$ && ${BASH_REMATCH[1]} -gt 0 ]]; then
		t_ok "$name: jit, interp and kernel agree ($line)"
	else
		t_fail "$name: differential (${line:-no result})"
		grep -E '^(FAIL|MISMATCH|    |  map )' "$TMP/diff" | head -n 30 | sed 's/^/    /'
	fi
}

for n in "${debian[@]}"; do
	check "$DEB/$n.o" "$n"
done
for n in "${local_progs[@]}"; do
	check "$PROGS/$n.bpf.o" "$n"
done
for n in "${!REFUSED[@]}"; do
	if [[ ! -f $DEB/$n.o ]]; then
		t_fail "$n: $DEB/$n.o is missing (scripts/deps.sh)"; continue
	fi
	out=$("$CLI" verify "$DEB/$n.o" 2>&1)
	t_check "$n: refused, naming the cause (${REFUSED[$n]})" grep -q "${REFUSED[$n]}" <<<"$out"
done
for n in "${!REFUSED_LOCAL[@]}"; do
	out=$("$CLI" verify "$PROGS/$n.bpf.o" 2>&1)
	t_check "$n: refused, naming the cause (${REFUSED_LOCAL[$n]})" \
		grep -q "${REFUSED_LOCAL[$n]}" <<<"$out"
done

t_summary
