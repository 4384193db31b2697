#!/usr/bin/env bash
# package-check.sh - build the Debian packages from the committed tree and check them
# (issue 11): dpkg-buildpackage -b -us -uc in a copy of the tree (git archive HEAD),
# lintian with no error, only FHS paths, the files an operator needs (unit, man pages,
# completion, configuration example), and flextoe-bpf from the unpacked package (dpkg -x)
# verifying a shipped program.  Slow (a full build, ~5-10 min on 2 cores): not part of
# make test; docs/testing.md names it.  Needs root for the verifier (the kernel's).
# Prints "N passed, M failed"; exit 1 on a failure.
set -u
cd "$(dirname "$0")/.."
. tests/lib/netns.sh   # t_check, t_summary

for t in dpkg-buildpackage dpkg-checkbuilddeps lintian git; do
	command -v $t >/dev/null || { echo "missing $t (scripts/deps.sh installs it)" >&2; echo "0 passed, 1 failed"; exit 1; }
done
TMP=$(mktemp -d /tmp/ftoe-package.XXXXXX)
trap '[[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
VERSION=$(dpkg-parsechangelog -l debian/changelog -S Version)
SRC=$TMP/flextoe-$VERSION
mkdir -p "$SRC"
git archive HEAD | tar -x -C "$SRC"
echo "# building flextoe $VERSION from $(git rev-parse --short HEAD) in $SRC"

t_check "build dependencies are installed (dpkg-checkbuilddeps)" sh -c "cd '$SRC' && dpkg-checkbuilddeps"
build() { (cd "$SRC" && dpkg-buildpackage -b -us -uc) >"$TMP/build.log" 2>&1 || { tail -n 30 "$TMP/build.log" >&2; return 1; }; }
t_check "dpkg-buildpackage -b -us -uc succeeds" build
CHANGES=$(ls "$TMP"/flextoe_"$VERSION"_*.changes 2>/dev/null | head -n1)
ls "$TMP"/*.deb 2>/dev/null | sed 's|.*/|# built |'
t_check "three packages: flextoe, libflextoe0, libflextoe-dev" \
	test "$(ls "$TMP"/*.deb 2>/dev/null | sed 's|.*/||; s|_.*||' | grep -v -- '-dbgsym$' | sort | tr '\n' ' ')" = "flextoe libflextoe-dev libflextoe0 "

if [[ -z $CHANGES ]]; then
	echo "no .changes file: the build failed, nothing more to check" >&2
	t_summary
	exit 1
fi
lintian --no-tag-display-limit "$CHANGES" >"$TMP/lintian.log" 2>&1
echo "# lintian: $(grep -c '^E:' "$TMP/lintian.log") errors, $(grep -c '^W:' "$TMP/lintian.log") warnings"
grep -E '^(E|W):' "$TMP/lintian.log" | sort | uniq -c | sort -rn | head -n 25 | sed 's/^/#   /'
t_check "lintian reports no errors" sh -c "! grep -q '^E:' '$TMP/lintian.log'"

ROOT=$TMP/root
mkdir -p "$ROOT"
for d in "$TMP"/*.deb; do dpkg -x "$d" "$ROOT"; done
fhs() {
	local bad
	local n bad
	n=$(cd "$ROOT" && find . -type f -o -type l | wc -l)
	bad=$(cd "$ROOT" && find . -type f -o -type l | sed 's|^\./|/|' |
		grep -Ev '^/(usr/(bin|sbin|lib|include|share)|etc|lib/systemd/system)/')
	[[ $n -gt 0 && -z $bad ]] || { echo "$n files; outside FHS paths: $bad" >&2; return 1; }
}
t_check "every packaged file is under /usr/{bin,lib,include,share}, /etc or /lib/systemd/system" fhs
has() { local f; for f in "$@"; do [[ -e $ROOT/$f ]] || { echo "missing $f" >&2; return 1; }; done; }
t_check "the unit, man pages, completion and configuration example are packaged" \
	has lib/systemd/system/flextoe@.service usr/share/man/man8/flextoe.8.gz usr/share/man/man5/flextoe.conf.5.gz \
	usr/share/man/man8/flextoe-stat.8.gz usr/share/man/man1/flextoe-run.1.gz \
	usr/share/bash-completion/completions/flextoe-bpf usr/share/doc/flextoe/examples/flextoe.conf.example
t_check "the unit runs the packaged binary with /etc/flextoe/%i.conf" \
	grep -q '^ExecStart=/usr/bin/flextoe --config /etc/flextoe/%i.conf --iface %i$' "$ROOT/lib/systemd/system/flextoe@.service"
t_check "libflextoe0 holds the library under its soname" \
	sh -c "objdump -p '$ROOT'/usr/lib/*/libflextoe.so.0 | grep -q 'SONAME *libflextoe.so.0'"
t_check "the packaged binaries run: flextoe --help" sh -c "'$ROOT/usr/bin/flextoe' --help >/dev/null"
t_check "libflextoe-dev holds the headers and the shipped programs' sources" \
	has usr/include/flextoe/api.h usr/include/flextoe/bpf.h usr/share/flextoe/xdp-progs/tcp_trace.bpf.c
verify_shipped() {
	local out
	out=$("$ROOT/usr/bin/flextoe-bpf" verify "$ROOT/usr/lib/flextoe/xdp-progs/filter_allow.bpf.o" 2>&1) ||
		{ echo "$out" >&2; return 1; }
	echo "$out" | sed 's/^/#   /'
}
t_check "the unpacked flextoe-bpf verifies a shipped program (filter_allow.bpf.o)" verify_shipped
t_summary
