#!/usr/bin/env bash
# compat_bench.sh - ns per run of every program of the compatibility corpus (tests/lib/compat_corpus.sh) on the runtime's JIT and interpreter against the kernel, with ratios.
#
# Each figure is `flextoe-bpf test-run --repeat N --json` (the mean
# duration of N warm runs on one 64-byte IPv4 TCP SYN frame, the kernel
# through BPF_PROG_TEST_RUN), taken REPS times: the median is printed and
# the spread (min..max) beside it.  Timings on a shared machine are noisy;
# the ratios compare figures measured in the same minute.
# Environment: BUILD, REPEAT (default 20000), REPS (default 3).  Needs root.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
CLI=$BUILD/bin/flextoe-bpf
PROGS=$BUILD/tests/progs
REPEAT=${REPEAT:-20000}
REPS=${REPS:-3}
source tests/lib/compat_corpus.sh

if [[ ! -x $CLI ]]; then
	echo "compat_bench: $CLI is missing: run 'make' first" >&2
	exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "compat_bench: run as root: the kernel verifier and BPF_PROG_TEST_RUN" \
	     "need CAP_BPF/CAP_SYS_ADMIN" >&2
	exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
FRAME=$TMP/frame.bin
# 02:00:00:00:00:10 -> same, IPv4 10.1.5.6:1234 -> 10.0.0.1:443 TCP SYN,
# padded to 64 bytes.
printf '%s' 020000000010020000000010 0800 \
	4500002800014000400600000a0105060a000001 \
	04d201bb000000010000000050020fff00000000 \
	000000000000000000000000000000000000000000000000 | xxd -r -p >"$FRAME"

# measure OBJ PROG ENGINE: prints "median min max retval", or "-" on failure.
measure() {
	local obj=$1 prog=$2 engine=$3 out ns=() retval=- k
	for ((k = 0; k < REPS; k++)); do
		out=$("$CLI" test-run "$obj" --prog "$prog" --data-in "$FRAME" --repeat "$REPEAT" \
			--engine "$engine" --json "${args[@]}" 2>/dev/null) || { echo -; return; }
		[[ $out =~ \"retval\":([0-9]+).*\"duration_ns\":([0-9]+) ]] || { echo -; return; }
		retval=${BASH_REMATCH[1]}
		ns+=("${BASH_REMATCH[2]}")
	done
	mapfile -t ns < <(printf '%s\n' "${ns[@]}" | sort -n)
	echo "${ns[REPS / 2]} ${ns[0]} ${ns[REPS - 1]} $retval"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "Compatibility corpus: ns per XDP program run, median of $REPS runs of" \
     "test-run --repeat $REPEAT (spread min..max), one 64-byte TCP SYN frame"
printf '%-22s %-22s %3s %16s %18s %16s %7s %7s\n' object program ret "jit ns" "interp ns" \
	"kernel ns" jit/k int/k
rc=0 rows=0
run_object() {
	local path=$1 name=$2 prog j i k
	if [[ ! -f $path ]]; then
		echo "$name: $path is missing (scripts/deps.sh, make)"; rc=1; return
	fi
	args_of "$name"
	for prog in $("$CLI" verify "$path" "${args[@]}" 2>/dev/null |
		      sed -n 's/.*: program \([^ ]*\) (section .*): verified.*/\1/p'); do
		read -r -a j <<<"$(measure "$path" "$prog" jit)"
		read -r -a i <<<"$(measure "$path" "$prog" interp)"
		read -r -a k <<<"$(measure "$path" "$prog" kernel)"
		if [[ ${j[0]} == - || ${i[0]} == - || ${k[0]} == - ]]; then
			echo "$name $prog: a measurement failed (jit ${j[0]}, interp ${i[0]}, kernel ${k[0]})"
			rc=1; continue
		fi
		printf '%-22s %-22s %3s %5s (%4s..%-4s) %6s (%5s..%-5s) %5s (%4s..%-4s) %7s %7s\n' \
			"$name" "$prog" "${k[3]}" "${j[0]}" "${j[1]}" "${j[2]}" "${i[0]}" "${i[1]}" \
			"${i[2]}" "${k[0]}" "${k[1]}" "${k[2]}" "$(ratio "${j[0]}" "${k[0]}")" \
			"$(ratio "${i[0]}" "${k[0]}")"
		if [[ ${j[3]} != "${k[3]}" || ${i[3]} != "${k[3]}" ]]; then
			echo "  WARNING: verdicts differ: jit ${j[3]}, interp ${i[3]}, kernel ${k[3]}"
			rc=1
		fi
		rows=$((rows + 1))
	done
}
for n in "${debian[@]}"; do
	run_object "$DEB/$n.o" "$n"
done
for n in "${local_progs[@]}"; do
	run_object "$PROGS/$n.bpf.o" "$n"
done
echo "$rows programs measured"
[[ $rows -gt 0 ]] || rc=1
exit "$rc"
