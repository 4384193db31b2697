#!/usr/bin/env bash
# ops_docs.sh - man pages and bash completion (issue 11): every page of docs/man renders
# with man -l and groff -ww without a warning; the bash completion of flextoe-bpf offers
# its commands, the hook names, program ids and map names of a running engine, and the
# completion of flextoe-stat its commands and ss states.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh

BUILD=${FTOE_BUILD:-build}
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
COMP=$PWD/scripts/completion/flextoe-bpf
need_files "$BIN/flextoe" "$BIN/flextoe-bpf" "$BUILD/xdp-progs/filter_deny.bpf.o" "$COMP" \
	/usr/share/bash-completion/bash_completion
need_tools man groff python3

test_init ops-docs

# ---- man pages ----------------------------------------------------------------------
PAGES=(docs/man/flextoe.8 docs/man/flextoe-loaderd.8 docs/man/flextoe-bpf.8 docs/man/flextoe-fw.8
       docs/man/flextoe-stat.8 docs/man/flextoe-run.1 docs/man/flextoe.conf.5)
renders() {
	local out
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$1" 2>&1 >"$TMP/page.txt") || { echo "$out" >&2; return 1; }
	[[ -z $out ]] || { echo "man -l $1: $out" >&2; return 1; }
	out=$(groff -ww -man -Tutf8 -z "$1" 2>&1)
	[[ -z $out ]] || { echo "groff -ww $1: $out" >&2; return 1; }
	# a page has its NAME, SYNOPSIS and DESCRIPTION
	grep -q '^NAME' "$TMP/page.txt" && grep -q '^SYNOPSIS' "$TMP/page.txt" &&
		grep -q '^DESCRIPTION' "$TMP/page.txt"
}
for p in "${PAGES[@]}"; do
	t_check "man -l $p renders without warnings (groff -ww)" renders "$p"
done
t_check "docs/man holds exactly these pages" \
	test "$(ls docs/man/*.[0-9] | sort | tr '\n' ' ')" = "$(printf '%s\n' "${PAGES[@]}" | sort | tr '\n' ' ')"
# every option the programs print in --help is in their page
opts_in_page() { # BIN PAGE
	local o missing=
	for o in $("$BIN/$1" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
		grep -q -- "${o//-/\\\\-}" "$2" || missing+=" $o"
	done
	[[ -z $missing ]] || { echo "$2 lacks:$missing" >&2; return 1; }
}
t_check "flextoe(8) names every option of flextoe --help" opts_in_page flextoe docs/man/flextoe.8
t_check "flextoe-loaderd(8) names every option of its --help" opts_in_page flextoe-loaderd docs/man/flextoe-loaderd.8
t_check "flextoe-run(1) names every option of its --help" opts_in_page flextoe-run docs/man/flextoe-run.1

# ---- completion -------------------------------------------------------------------------
# complete LINE: the words the completion offers for LINE (the cursor at its end)
cat >"$TMP/complete.sh" <<'SH'
. /usr/share/bash-completion/bash_completion
. "$COMP"
line=$1
read -ra COMP_WORDS <<<"$line"
[[ $line == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
fn=$(complete -p "${COMP_WORDS[0]}" | sed 's/.*-F \([^ ]*\) .*/\1/')
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}" | sort
SH
complete_words() { COMP=$COMP PATH=$BIN:$PATH bash "$TMP/complete.sh" "$1" | tr '\n' ' ' | sed 's/ $//'; }
offers() { # LINE WORDS...: the completion of LINE holds every one of WORDS
	local got w
	got=" $(complete_words "$1") "
	shift
	for w in "$@"; do
		[[ $got == *" $w "* ]] || { echo "offered:$got; missing $w" >&2; return 1; }
	done
}
t_check "flextoe-bpf <TAB>: its commands" offers "flextoe-bpf " capture list load map test-run trace unload verify
t_check "flextoe-bpf load X --<TAB>: load's options" offers "flextoe-bpf load x.o --" --hook --prog --prio --replace
t_check "no engine: --hook <TAB> still offers the hook names" offers "flextoe-bpf load x.o --hook " rx-pre rx-post tx-post
t_check "flextoe-stat <TAB>: ss, counters" offers "flextoe-stat " ss counters
t_check "flextoe-stat ss state <TAB>: ss's states" offers "flextoe-stat ss state " established listening time-wait

ENG_IP=10.94.0.5
ns_add eng && ns_add peer
ns_link eng veth0 10.94.0.1/24 peer veth1 10.94.0.2/24
ip netns exec "$(ns_name eng)" ethtool -K veth0 tx off >/dev/null 2>&1
RUN=$TMP/run
export FLEXTOE_RUN_DIR=$RUN
t_check "engine starts" engine_start eng $ENG_IP/24
t_check "loaderd is up" engine_sockets
ID=$("$BIN/flextoe-bpf" load "$BUILD/xdp-progs/filter_deny.bpf.o" --hook rx-pre)
ID2=$("$BIN/flextoe-bpf" load "$BUILD/xdp-progs/filter_deny.bpf.o" --hook tx-post)
t_check "two programs loaded (ids $ID, $ID2)" test -n "$ID" -a -n "$ID2"
MAPS=$("$BIN/flextoe-bpf" map list --json | python3 -c "import json,sys; print(' '.join(sorted({m['name'] for m in json.load(sys.stdin)})))")
echo "# maps: $MAPS"
t_check "--hook <TAB> lists the engine's hooks" offers "flextoe-bpf load x.o --hook " rx-pre rx-post tx-post
t_check "unload <TAB> lists the loaded program ids" offers "flextoe-bpf unload " "$ID" "$ID2"
t_check "load --replace <TAB> lists the loaded program ids" offers "flextoe-bpf load x.o --hook rx-pre --replace " "$ID"
# shellcheck disable=SC2086
t_check "map dump <TAB> lists the engine's map names" offers "flextoe-bpf map dump " $MAPS
t_check "map <TAB> lists map's subcommands" offers "flextoe-bpf map " list dump lookup update delete
t_check "--run-dir elsewhere: no ids from this engine" \
	sh -c "! COMP=$COMP PATH=$BIN:\$PATH bash '$TMP/complete.sh' 'flextoe-bpf unload --run-dir $TMP/nowhere ' | grep -qx '$ID'"
t_summary
