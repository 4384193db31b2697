#!/usr/bin/env bash
# Differential tests: every shipped and test XDP object, and Debian's
# xdp-filter objects configured as xdp-filter would configure them, run on
# the runtime's JIT, its interpreter and the kernel (BPF_PROG_TEST_RUN) with
# the same generated frames (tests/diff/xdp_diff.c).
#
# Shipped programs get their configuration by name: tests/diff/configs/
# NAME.updates (map updates, xdp_diff -u), NAME.args (more xdp_diff
# arguments, such as --map-size and --rodata), and for the firewall
# configs/firewall.rules compiled with flextoe-fw.  Configured filters and
# firewalls also get xdp_diff -V: they must return both PASS and DROP on
# every engine, and the configuration must change verdicts.
#
# One test per (object, program, engine pair), plus the verdict check.
# Ends with "N passed, N failed"; exits 1 if anything failed.  Environment:
# BUILD (default build), DIFF_PACKETS (frames per program, default 2000),
# DIFF_SEED (default 1), XDPFILT_DIR (where xdp-tools installs its objects).
set -uo pipefail
cd "$(dirname "$0")/../.."

BUILD=${BUILD:-build}
TOOL=$BUILD/tests/diff/xdp_diff
FWC=$BUILD/bin/flextoe-fw
CONFIGS=tests/diff/configs
XDPFILT_DIR=${XDPFILT_DIR:-/usr/lib/x86_64-linux-gnu/bpf}
PACKETS=${DIFF_PACKETS:-2000}
SEED=${DIFF_SEED:-1}
LOGDIR=$BUILD/test-logs/diff

pass=0 fail=0 skip=0

if [[ ! -x $TOOL ]]; then
	echo "diff: $TOOL is missing: run 'make' first"
	echo "0 passed, 1 failed"
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "diff: run as root: the kernel verifier and BPF_PROG_TEST_RUN need it"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$LOGDIR"
TMP=$(mktemp -d /tmp/ftoe-diff.XXXXXX) || { echo "0 passed, 1 failed"; exit 1; }
trap 'rm -rf "$TMP"' EXIT

# Arguments of xdp_diff that configure object $1 (by file name) into the
# array cfg; returns 1 (after saying why) when its configuration cannot be
# built.  verdicts=1 when the object is a configured filter or firewall.
object_config() {
	local name=$1 base=${1%.o}
	base=${base%.bpf}
	cfg=()
	verdicts=0
	case $base in
	xdpfilt_*|fw_*)		# configured inside xdp_diff (mapcfg.h)
		verdicts=1
		;;
	firewall)
		if [[ ! -x $FWC ]]; then
			echo "FAIL $name: $FWC is missing: run 'make' first"
			return 1
		fi
		if ! "$FWC" compile "$CONFIGS/firewall.rules" --print-updates \
			>"$TMP/firewall.updates" 2>"$TMP/firewall.err"; then
			echo "FAIL $name: flextoe-fw cannot compile $CONFIGS/firewall.rules:"
			sed 's/^/    /' "$TMP/firewall.err"
			return 1
		fi
		cfg=(-u "$TMP/firewall.updates")
		verdicts=1
		;;
	*)
		if [[ -f $CONFIGS/$base.updates ]]; then
			cfg=(-u "$CONFIGS/$base.updates")
			[[ $base == filter_* ]] && verdicts=1
		fi
		;;
	esac
	# what the object's own loader sets before load (--map-size, --rodata)
	if [[ -f $CONFIGS/$base.args ]]; then
		mapfile -t args < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$CONFIGS/$base.args")
		cfg+=("${args[@]}")
	fi
	[[ $verdicts -eq 1 ]] && cfg+=(-V)
	return 0
}

objects=()
for o in "$BUILD"/xdp-progs/*.bpf.o "$BUILD"/tests/progs/*.bpf.o; do
	[[ -f $o ]] && objects+=("$o")
done
# xdp-filter's ten variants (xdp-tools): allow/deny x all/eth/ip/tcp/udp.
# They come with scripts/deps.sh, so a missing one is a failure.
for mode in alw dny; do
	for feat in all eth ip tcp udp; do
		objects+=("$XDPFILT_DIR/xdpfilt_${mode}_${feat}.o")
	done
done

echo "diff: ${#objects[@]} objects, $PACKETS frames per program, seed $SEED"
for obj in "${objects[@]}"; do
	name=$(basename "$obj")
	log=$LOGDIR/${name%.o}.log
	if [[ ! -f $obj ]]; then
		echo "FAIL $name: $obj is missing (install xdp-tools: scripts/deps.sh)"
		fail=$((fail + 1))
		continue
	fi
	# Objects every engine must refuse have no verdicts to compare; their
	# refusals are tested where they are named.
	case $name in
	ld_synproxy_ct.bpf.o)	# conntrack kfuncs: tests/compat/run.sh checks the refusal
		echo "SKIP $name: the loader refuses it by design (bpf_xdp_ct_lookup; tests/compat/run.sh)"
		skip=$((skip + 1))
		continue
		;;
	ld_meta.bpf.o)		# some kernels refuse bpf_xdp_adjust_meta in XDP programs
		if [[ $("$BUILD/bin/flextoe-bpf" verify "$obj" 2>&1) == *"does not allow in XDP programs"* ]]; then
			echo "SKIP $name: this kernel refuses bpf_xdp_adjust_meta (tests/integration/cli_test_run.sh, ebpf_helpers)"
			skip=$((skip + 1))
			continue
		fi
		;;
	esac
	if ! object_config "$name"; then
		fail=$((fail + 1))
		continue
	fi
	"$TOOL" -n "$PACKETS" -s "$SEED" "${cfg[@]}" "$obj" >"$log" 2>&1
	rc=$?
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n1)
	if [[ -z $line ]]; then
		# crashed, hung (alarm) or refused its arguments
		echo "FAIL $name: xdp_diff ended without a result (exit status $rc); end of $log:"
		tail -n 20 "$log" | sed 's/^/    /'
		fail=$((fail + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	s=$(sed -nE 's/^([0-9]+) skipped$/\1/p' "$log" | tail -n1)
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + ${s:-0}))
	# A configured filter must have run its verdict check (a program
	# skipped or not run would otherwise pass unnoticed).
	if [[ $verdicts -eq 1 && $f -eq 0 ]] && ! grep -qE '^PASS .* verdicts: ' "$log"; then
		echo "FAIL $name: configured filter, but no verdict check ran (see $log)"
		f=1
		fail=$((fail + 1))
	fi
	if [[ $f -ne 0 || $rc -ne 0 ]]; then
		[[ $f -eq 0 ]] && fail=$((fail + 1))
		echo "FAIL $name ($p passed, $f failed); details from $log:"
		grep -E '^(FAIL|MISMATCH|    |  map |[^ ]+:[0-9]+: )' "$log" | head -n 80 |
			sed 's/^/    /'
	else
		echo "ok   $name ($p passed${s:+, $s skipped})"
	fi
	# what was configured and which verdicts each engine returned: both
	# sides of a filter must show up
	grep -E '^SKIP|^PASS .* verdicts: |^  [^ ]+: (configured as|[0-9]+ map updates)|^  [^ ]+:[^ ]+: ((jit|interp|kernel) verdicts|unconfigured jit|ring buffer)' \
		"$log" | sed -E 's/^(  )?/    /'

done

echo
[[ $skip -ne 0 ]] && echo "$skip skipped (see the SKIP lines above)"
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
