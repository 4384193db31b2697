#!/usr/bin/env bash
# cli_bad_input.sh - flextoe-bpf refuses bad input with a clear message and a non-zero exit.
#
# One test per kind of bad input: garbage ELF, truncated ELF, missing
# program name, unsupported helper, unsupported map type, a program the
# kernel verifier rejects (its log must be shown), a wrong flag, and
# missing privilege (the CLI run as nobody).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
source tests/lib/netns.sh

BUILD=${FTOE_BUILD:-${BUILD:-build}}
CLI=$BUILD/bin/flextoe-bpf
PROGS=$BUILD/tests/progs
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# expect_fail DESC WANT_RC PATTERN CMD...: CMD exits WANT_RC ("nz" for any
# non-zero) and its stderr+stdout matches PATTERN (grep -E).
expect_fail() {
	local desc=$1 want=$2 pattern=$3; shift 3
	local out rc
	out=$("$@" 2>&1); rc=$?
	if [[ $rc -eq 0 ]]; then
		t_fail "$desc: exited 0"; echo "$out" | sed 's/^/    /'; return
	fi
	if [[ $want != nz && $rc -ne $want ]]; then
		t_fail "$desc: exit $rc, wanted $want"; echo "$out" | sed 's/^/    /'; return
	fi
	if ! grep -Eq -- "$pattern" <<<"$out"; then
		t_fail "$desc: message does not match /$pattern/"; echo "$out" | sed 's/^/    /'; return
	fi
	t_ok "$desc"
}

if [[ ! -x $CLI ]]; then
	echo "missing $CLI (run make first)" >&2
	t_fail "flextoe-bpf is built"; t_summary; exit
fi

python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(64)))' >"$TMP/pkt.bin"

# garbage ELF
head -c 4096 /dev/urandom >"$TMP/garbage.o"
expect_fail "garbage ELF" 1 "not an ELF file" "$CLI" verify "$TMP/garbage.o"
printf 'hello\n' >"$TMP/text.o"
expect_fail "text file" 1 "not an ELF file" "$CLI" test-run "$TMP/text.o" --data-in "$TMP/pkt.bin"

# truncated ELF (header intact, sections cut off)
size=$(stat -c %s "$PROGS/ld_globals.bpf.o")
head -c $((size / 2)) "$PROGS/ld_globals.bpf.o" >"$TMP/truncated.o"
expect_fail "truncated ELF" 1 "truncated ELF" "$CLI" verify "$TMP/truncated.o"
head -c 40 "$PROGS/ld_globals.bpf.o" >"$TMP/stub.o"
expect_fail "ELF header only" 1 "truncated ELF" "$CLI" verify "$TMP/stub.o"

# missing file
expect_fail "missing object file" 1 "cannot read .*No such file" "$CLI" verify "$TMP/nope.o"

# missing program name: several programs and no --prog; an unknown --prog
expect_fail "several programs without --prog" 1 "several programs; choose one with --prog.*" \
	"$CLI" test-run "$PROGS/ld_tailcall.bpf.o" --data-in "$TMP/pkt.bin"
expect_fail "unknown --prog" 1 "no program named 'nosuch'" \
	"$CLI" test-run "$PROGS/ld_tailcall.bpf.o" --prog nosuch --data-in "$TMP/pkt.bin"
expect_fail "verify with unknown --prog" 1 "no program named 'nosuch'" \
	"$CLI" verify "$PROGS/ld_helpers.bpf.o" --prog nosuch

# unsupported helper
expect_fail "unsupported helper" 1 "xdp_bad_helper.*bpf_get_current_pid_tgid" \
	"$CLI" verify "$PROGS/ld_bad_helper.bpf.o"

# unsupported map type
expect_fail "unsupported map type" 1 "map 'socks': type sockmap is not supported by the runtime" \
	"$CLI" verify "$PROGS/ld_bad_maptype.bpf.o"

# verifier rejection: the kernel's log and the program's name
out=$("$CLI" verify "$PROGS/ld_bad_verifier.bpf.o" 2>&1); rc=$?
if [[ $rc -eq 1 ]] && grep -q "kernel verifier log" <<<"$out" &&
   grep -q "invalid access to packet" <<<"$out" &&
   grep -q "program 'xdp_oob' was rejected by the kernel verifier" <<<"$out"; then
	t_ok "verifier-rejected program shows the verifier log"
else
	t_fail "verifier-rejected program shows the verifier log (rc=$rc)"; echo "$out" | sed 's/^/    /'
fi
expect_fail "verifier rejection in test-run" 1 "invalid access to packet" \
	"$CLI" test-run "$PROGS/ld_bad_verifier.bpf.o" --data-in "$TMP/pkt.bin"

# no programs
expect_fail "object without programs" 1 "no programs" "$CLI" verify "$PROGS/ld_noprog.bpf.o"

# wrong flags: usage and exit 2
expect_fail "unknown flag" 2 "Run 'flextoe-bpf test-run -h'" \
	"$CLI" test-run "$PROGS/ld_globals.bpf.o" --bogus
expect_fail "unknown command" 2 "unknown command 'frobnicate'" "$CLI" frobnicate
expect_fail "missing --data-in" 2 "missing --data-in" "$CLI" test-run "$PROGS/ld_globals.bpf.o"
expect_fail "bad --engine" 2 "unknown engine 'warp'" \
	"$CLI" test-run "$PROGS/ld_globals.bpf.o" --data-in "$TMP/pkt.bin" --engine warp
expect_fail "bad --repeat" 2 "--repeat wants a count" \
	"$CLI" test-run "$PROGS/ld_globals.bpf.o" --data-in "$TMP/pkt.bin" --repeat 0
expect_fail "short --map-update" 2 "--map-update wants MAP KEYHEX VALHEX" \
	"$CLI" test-run "$PROGS/ld_maps.bpf.o" --data-in "$TMP/pkt.bin" --map-update verdicts
expect_fail "verify without OBJ" 2 "missing OBJ" "$CLI" verify

# bad map update contents
expect_fail "map update: unknown map" 1 "no map named 'nomap'" \
	"$CLI" test-run "$PROGS/ld_maps.bpf.o" --data-in "$TMP/pkt.bin" --map-update nomap 00 00
expect_fail "map update: key size" 1 "key '0102' is not 4 bytes of hex" \
	"$CLI" test-run "$PROGS/ld_maps.bpf.o" --data-in "$TMP/pkt.bin" --map-update verdicts 0102 00000000

# packets the XDP test frame cannot hold
head -c 10 "$TMP/pkt.bin" >"$TMP/short.bin"
expect_fail "packet shorter than Ethernet" 1 "holds 10 bytes" \
	"$CLI" test-run "$PROGS/ld_globals.bpf.o" --data-in "$TMP/short.bin"
head -c 4000 /dev/zero >"$TMP/long.bin"
expect_fail "packet longer than the frame" 1 "holds 4000 bytes" \
	"$CLI" test-run "$PROGS/ld_globals.bpf.o" --data-in "$TMP/long.bin"

# missing privilege: nobody, no capabilities
if command -v setpriv >/dev/null && [[ $(id -u) -eq 0 ]]; then
	cp "$CLI" "$TMP/flextoe-bpf"
	cp "$PROGS/ld_globals.bpf.o" "$TMP/"
	chmod 755 "$TMP" "$TMP/flextoe-bpf"; chmod 644 "$TMP/ld_globals.bpf.o" "$TMP/pkt.bin"
	expect_fail "unprivileged verify" 1 "needs root \(CAP_BPF and CAP_NET_ADMIN or CAP_SYS_ADMIN\)" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/flextoe-bpf" verify "$TMP/ld_globals.bpf.o"
	expect_fail "unprivileged test-run" 1 "needs root" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/flextoe-bpf" test-run \
		"$TMP/ld_globals.bpf.o" --data-in "$TMP/pkt.bin" --engine kernel
else
	t_fail "unprivileged test needs root and setpriv"
fi

t_summary
