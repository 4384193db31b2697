# engine.sh - shared setup for integration tests that run the FlexTOE engine (source after netns.sh).
#
# Source it after tests/lib/netns.sh, then:
#   test_init NAME               ns_init, and TMP, a new directory
#                                /tmp/ftoe-NAME.XXXXXX, removed at exit after
#                                ns_cleanup (kept when KEEP_TMP is set); a
#                                script with more to clean up sets its own
#                                EXIT trap after it, calling ns_cleanup
#   eng_peer NET [OPTION...]     the usual two hosts: eng (the engine's, on
#                                veth0) and peer (veth1), joined by ns_link
#                                with OPTIONs (-q N, -w) in NET.0/24 for NET
#                                "10.N.M": ENG_IP=NET.5 for the engine,
#                                KERN_IP=NET.1 for eng's kernel on veth0,
#                                PEER_IP=NET.2; RUN=$TMP/run, exported as
#                                FLEXTOE_RUN_DIR
#   need_files FILE...           every FILE exists, else "missing FILE (run make)"
#                                and the run fails: "0 passed, 1 failed", exit 1
#   need_tools TOOL...           every TOOL is on PATH, else "missing TOOL ..."
#                                and the same failed run
#   wait_for FILE PATTERN [SECONDS]
#                                poll FILE every 50 ms until grep finds PATTERN,
#                                up to SECONDS (default 10); on timeout prints
#                                the file to stderr and returns 1
#   wait_cmd SECONDS CMD...      run CMD (stderr dropped) every 50 ms until it
#                                succeeds, up to SECONDS; returns 1, silently,
#                                on timeout
#   engine_start NS ADDR [ARG...]
#                                start $BIN/flextoe in namespace NS on veth0
#                                with ADDR (CIDR) and --run-dir "$RUN", more
#                                engine options ARG..., output to $TMP/eng.log,
#                                in the background (ns_bg); then wait_for its
#                                "ready:" line (10 s); returns 1 without it
#   engine_sockets               wait up to 5 s for $RUN/loader.sock and
#                                $RUN/flextoe.sock (loaderd and the app API);
#                                returns 1 if they did not both appear
#   tcpdump_stop BGPID           stop a capture started with ns_bg tcpdump
#                                (BGPID: its ns_bg pid): SIGINT to tcpdump
#                                itself so that it flushes, then wait
#
# engine_start and engine_sockets use the globals BIN (the build's bin
# directory), RUN (the engine's run directory) and TMP (the test's scratch
# directory) that the calling script sets.

test_init() {
	ns_init
	TMP=$(mktemp -d "/tmp/ftoe-$1.XXXXXX") || exit 1
	trap 'ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT
}

eng_peer() {
	local net=$1; shift
	ENG_IP=$net.5
	KERN_IP=$net.1
	PEER_IP=$net.2
	RUN=$TMP/run
	export FLEXTOE_RUN_DIR=$RUN
	ns_add eng && ns_add peer && ns_link "$@" eng veth0 "$KERN_IP/24" peer veth1 "$PEER_IP/24"
}

need_files() {
	local f
	for f in "$@"; do
		if [[ ! -e $f ]]; then
			echo "missing $f (run make)" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
}

need_tools() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			echo "missing $tool (scripts/deps.sh installs it)" >&2
			echo "0 passed, 1 failed"
			exit 1
		fi
	done
}

wait_for() {
	local _
	for _ in $(seq $((${3:-10} * 20))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2
	return 1
}

wait_cmd() {
	local t=$1 _; shift
	for _ in $(seq $((t * 20))); do
		"$@" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

engine_start() {
	local ns=$1 addr=$2; shift 2
	ns_bg "$ns" "$BIN/flextoe" --iface veth0 --ip "$addr" --run-dir "$RUN" "$@" >"$TMP/eng.log" 2>&1
	wait_for "$TMP/eng.log" "ready:"
}

engine_sockets() {
	wait_cmd 5 test -S "$RUN/loader.sock" -a -S "$RUN/flextoe.sock"
}

tcpdump_stop() {
	local pid
	# A moment for the last frames to reach the capture first.
	sleep 0.3
	# ns_exec execs tcpdump in the ns_bg subshell: the pid to signal is
	# that subshell's child, not the subshell itself.
	pid=$(pgrep -P "$1" -x tcpdump)
	[[ -n $pid ]] && kill -INT "$pid" 2>/dev/null
	wait "$1" 2>/dev/null
}
