#!/usr/bin/env bash
# engine_workers.sh - the pipelined workers (--workers N > 1, core/x86/pipe.c): flextoe-echo
# and flextoe-bulk give the same results with --workers 2, 3 and 4 as with --workers 1, on one
# queue and on four; idle threads block, --poll busy spins; bad --workers/--queues combinations.
# Flow groups (core/x86/fgpipe.c): --workers 4 --flow-groups 2 on the 4-queue veth, echo and
# 1 GiB bulk both ways byte-exact, both groups' threads carry traffic, the reorder point ends
# empty; --show-layout; and the fault profile (engine_faults.sh) with those flags.
# FLEXTOE_EXTRA_ARGS: more engine flags for every configuration; ENGINE_WORKERS_FG_BYTES: the
# flow-group bulk size (default 1 GiB); ENGINE_WORKERS_NO_FAULTS=1 skips the fault profile;
# ENGINE_WORKERS_ONLY=fg runs the flow-group part only.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
TRAFFIC=$PWD/tests/tools/traffic

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BULK_BYTES=${ENGINE_WORKERS_BULK_BYTES:-$((64 << 20))}
FG_BYTES=${ENGINE_WORKERS_FG_BYTES:-$((1 << 30))}
EXTRA=${FLEXTOE_EXTRA_ARGS:-}
NQ=4
need_files "$BIN/flextoe" "$BIN/flextoe-echo" "$BIN/flextoe-bulk"

test_init engine-workers

# Two links: eng/peer over a 4-queue veth (10.91.0.0/24) and eng1/peer1 over a
# 1-queue veth (10.91.1.0/24).  On the 4-queue one the peer's tx queue (chosen
# per flow) is the queue the engine's side receives on, so flows spread.
make_link() { # ENGNS PEERNS IF_ENG IF_PEER QUEUES NET
	ns_add "$1" && ns_add "$2"
	ns_link -q "$5" -w "$1" "$3" "$6.1/24" "$2" "$4" "$6.2/24"
}
make_link eng peer veth0 veth1 $NQ 10.91.0
make_link eng1 peer1 veth2 veth3 1 10.91.1

cpu_ticks() { # PID: user+system clock ticks of the whole process
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
HZ=$(getconf CLK_TCK)

# run_config TAG LINK WORKERS QUEUES [FLAGS...]: the engine on link LINK ("" for the
# 4-queue one, 1 for the 1-queue one) with QUEUES queues and WORKERS workers; echo
# and bulk checks; the results (echoed bytes, digests) go to $TMP/TAG.res, the
# throughput lines to $TMP/gbps.
run_config() {
	local tag=$1 l=$2 w=$3 nq=$4 run=$TMP/run-$1 log=$TMP/eng-$1.log port=7000 out pid
	local eip=10.91.${l:-0}.5 pip=10.91.${l:-0}.2 ifc
	shift 4
	ifc=$([[ -z $l ]] && echo veth0 || echo veth2)
	: >"$TMP/$tag.res"
	# shellcheck disable=SC2086
	ns_bg "eng$l" "$BIN/flextoe" --iface $ifc --ip $eip/24 --queues "$nq" --workers "$w" \
		--run-dir "$run" "$@" $EXTRA >"$log" 2>&1
	local qs="queue"; [[ $nq == 1 ]] || qs="queues"
	t_check "[$tag] engine with $nq $qs and $w worker(s) starts" \
		wait_for "$log" "ready:.*$nq $qs, $w worker"
	pid=$(cat "$run/flextoe.pid" 2>/dev/null)
	ns_bg "eng$l" env FLEXTOE_RUN_DIR="$run" "$BIN/flextoe-echo" --port $port \
		>"$TMP/echo-$tag.out" 2>&1
	t_check "[$tag] flextoe-echo listens" wait_for "$TMP/echo-$tag.out" listening

	echo_test() { # NCONN SIZE
		out=$(ns_exec "peer$l" timeout 150 python3 "$TRAFFIC/echo_clients.py" $eip $port "$1" "$2")
		echo "echo $1x$2: $(tail -n1 <<<"$out")" >>"$TMP/$tag.res"
		[[ $(tail -n1 <<<"$out") == "ok echoed=$(($1 * $2))" ]] || { echo "$out" >&2; return 1; }
	}
	t_check "[$tag] echo: 1 connection, 1 MiB echoed exactly" echo_test 1 $((1 << 20))
	t_check "[$tag] echo: 100 concurrent connections, 64 KiB each" echo_test 100 65536
	t_check "[$tag] echo: 1000 concurrent connections, 4 KiB each" echo_test 1000 4096

	bulk_in() { # Linux -> engine
		local a b
		ns_bg "eng$l" env FLEXTOE_RUN_DIR="$run" "$BIN/flextoe-bulk" --listen 7100 --recv \
			>"$TMP/bin-$tag.out" 2>&1
		wait_for "$TMP/bin-$tag.out" listening || return 1
		ns_exec "peer$l" timeout 100 python3 "$TRAFFIC/bulk_peer.py" send $eip 7100 $BULK_BYTES \
			>"$TMP/bin-$tag.peer" 2>&1
		wait_for "$TMP/bin-$tag.out" "^bytes=" || return 1
		a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bin-$tag.out")
		b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bin-$tag.peer")
		echo "# [$tag] Linux -> engine: $(tail -n1 "$TMP/bin-$tag.out")" | tee -a "$TMP/gbps"
		echo "bulk in: ${a%% sha256*}" >>"$TMP/$tag.res"
		[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
	}
	bulk_out() { # engine -> Linux; the payload is deterministic, so the digest is too
		local a b
		ns_bg "peer$l" python3 "$TRAFFIC/bulk_peer.py" recv $pip 7101 >"$TMP/bout-$tag.peer" 2>&1
		wait_for "$TMP/bout-$tag.peer" listening || return 1
		ns_exec "eng$l" env FLEXTOE_RUN_DIR="$run" timeout 100 "$BIN/flextoe-bulk" \
			--connect $pip:7101 --send $BULK_BYTES >"$TMP/bout-$tag.out" 2>&1
		wait_for "$TMP/bout-$tag.peer" "^bytes=" || return 1
		a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bout-$tag.out")
		b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bout-$tag.peer")
		echo "# [$tag] engine -> Linux: $(tail -n1 "$TMP/bout-$tag.out")" | tee -a "$TMP/gbps"
		echo "bulk out: $a" >>"$TMP/$tag.res"
		[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
	}
	t_check "[$tag] bulk: $BULK_BYTES bytes Linux -> engine, SHA-256 matches" bulk_in
	t_check "[$tag] bulk: $BULK_BYTES bytes engine -> Linux, SHA-256 matches" bulk_out

	if [[ $w -gt 1 ]]; then
		# the stages' threads exist; idle, they block (echo is still attached)
		local want="ftoe-proto" names t0 t1
		[[ $w == 2 ]] && want="ftoe-io ftoe-proto" || want="ftoe-in0 ftoe-proto ftoe-out"
		[[ " $* " == *" --flow-groups "* ]] && want="ftoe-io ftoe-post0 ftoe-proto0 ftoe-proto1"
		names=$(cat /proc/"$pid"/task/*/comm 2>/dev/null | tr '\n' ' ')
		has_threads() {
			for n in $want; do [[ " $names " == *" $n "* ]] || { echo "threads: $names" >&2; return 1; }; done
		}
		t_check "[$tag] the engine runs the threads $want" has_threads
		sleep 0.5
		t0=$(cpu_ticks "$pid"); sleep 2; t1=$(cpu_ticks "$pid")
		echo "# [$tag] idle engine used $((t1 - t0)) ticks of $((2 * HZ)) in 2 s"
		if [[ " $* " == *" busy "* ]]; then
			# spinning threads get less than half a CPU when other
			# work shares the 2 cores; a blocking engine uses < 5%
			t_check "[$tag] --poll busy: the threads spin (> 20% CPU idle)" \
				test $(((t1 - t0) * 100)) -gt $((2 * HZ * 20))
		else
			t_check "[$tag] idle threads block (< 5% CPU)" \
				test $(((t1 - t0) * 100)) -lt $((2 * HZ * 5))
		fi
	fi

	# stop the engine; its exit log has every queue's counters
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	t_check "[$tag] the engine exits on SIGTERM" sh -c "! kill -0 $pid 2>/dev/null"
	wait_for "$TMP/echo-$tag.out" "lost the engine" >/dev/null 2>&1
	# queues that carried TCP (the tcp counter of each queue's line)
	QUEUES_USED=$(grep -o 'queue [0-9]*: rx [0-9]* (tcp [0-9]*' "$log" |
		awk '$6 > 0 { n++ } END { print n + 0 }')
	echo "# [$tag] queues that received TCP: $QUEUES_USED of $nq"
	if [[ " $* " == *" --flow-groups "* ]]; then
		grep 'pipeline:' "$log" | sed "s/^/# [$tag] /"
		t_check "[$tag] both flow groups' protocol threads carried traffic" sh -c \
			"grep -Eq 'pipeline: ftoe-proto0: items [1-9]' '$log' &&
			 grep -Eq 'pipeline: ftoe-proto1: items [1-9]' '$log'"
		t_check "[$tag] the post-processing thread placed its share of the runs" \
			grep -Eq 'pipeline: ftoe-post0: items [1-9]' "$log"
		t_check "[$tag] reorder point 2 finished the segments before the wire and the app rings" \
			grep -Eq 'reorder point 2 .*finished [1-9][0-9]*,' "$log"
		t_check "[$tag] the reorder point released every frame (none left in flight)" \
			grep -Eq 'reorder point: released [1-9][0-9]*, retired [0-9]+ \(malformed\), in flight 0;' "$log"
		t_check "[$tag] the engine logged no error" sh -c "! grep -Ei 'error|fail' '$log'"
	elif [[ $w -gt 1 ]]; then
		t_check "[$tag] the pipeline carried the traffic (its exit counters)" \
			grep -Eq 'pipeline: ftoe-proto: items [1-9]' "$log"
		t_check "[$tag] the engine logged no error" sh -c "! grep -Ei 'error|fail' '$log'"
	fi
}

same_results() { # TAG: same as w1
	diff -u "$TMP/w1.res" "$TMP/$1.res" >&2
}

if [[ ${ENGINE_WORKERS_ONLY:-} != fg ]]; then
run_config w1 "" 1 $NQ
run_config w3 "" 3 $NQ
t_check "--workers 3: the flows spread over more than one queue ($QUEUES_USED of $NQ)" \
	test "$QUEUES_USED" -gt 1
t_check "--workers 3 (4 queues) gives the same results as --workers 1" same_results w3
run_config w3q1 1 3 1
t_check "--workers 3 (1 queue) gives the same results as --workers 1" same_results w3q1
run_config w2 "" 2 $NQ
t_check "--workers 2 (4 queues) gives the same results as --workers 1" same_results w2
run_config w4 "" 4 $NQ
t_check "--workers 4 (2 ingress threads) gives the same results as --workers 1" same_results w4

fi

# Flow groups: 4 workers (ingress+egress, a post-processing thread, two protocol
# threads), 2 groups, 4 queues; the same echo results, and BULK_BYTES of FG_BYTES
show_layout() {
	local out
	out=$("$BIN/flextoe" --workers 4 --flow-groups 2 --queues 4 --show-layout) || return 1
	echo "$out" | sed 's/^/# /'
	grep -q 'ftoe-post0 *post-processing$' <<<"$out" &&
		grep -q 'ftoe-proto0 *protocol, control-plane (group 0)' <<<"$out" &&
		grep -q 'ftoe-proto1 *protocol (group 1)' <<<"$out" &&
		grep -q 'ftoe-io .*ingress.*egress (4 queues, sequencer)' <<<"$out"
}
t_check "--show-layout prints the threads' stages for --workers 4 --flow-groups 2" show_layout
W1_BULK=$BULK_BYTES
BULK_BYTES=$FG_BYTES
run_config fg "" 4 $NQ --flow-groups 2
BULK_BYTES=$W1_BULK
t_check "--workers 4 --flow-groups 2: the flows spread over more than one queue ($QUEUES_USED of $NQ)" \
	test "$QUEUES_USED" -gt 1
if [[ -z ${ENGINE_WORKERS_NO_FAULTS:-} ]]; then
	t_check "--workers 4 --flow-groups 2, 4 queues, through the fault profile (engine_faults.sh)" sh -c \
		"IMPAIR_QUEUES=4 ENGINE_FAULTS_ENGINE_ARGS='--queues 4 --workers 4 --flow-groups 2' \
		 bash tests/integration/engine_faults.sh \
		 >'$TMP/faults.out' 2>&1 || { tail -n 40 '$TMP/faults.out' >&2; exit 1; }"
	grep -E '^(ok|not ok|#)' "$TMP/faults.out" | sed 's/^/#   faults: /' | tail -n 12
fi

if [[ ${ENGINE_WORKERS_ONLY:-} != fg ]]; then
# --poll busy: the same pipeline, spinning; one echo check is enough
busy() {
	local run=$TMP/run-busy log=$TMP/eng-busy.log pid t0 t1 out rc=0
	ns_bg eng1 "$BIN/flextoe" --iface veth2 --ip 10.91.1.5/24 --workers 3 --poll busy \
		--run-dir "$run" >"$log" 2>&1
	wait_for "$log" "ready:.*busy polling" || return 1
	pid=$(cat "$run/flextoe.pid")
	ns_bg eng1 env FLEXTOE_RUN_DIR="$run" "$BIN/flextoe-echo" --port 7000 >"$TMP/echo-busy.out" 2>&1
	wait_for "$TMP/echo-busy.out" listening || rc=1
	out=$(ns_exec peer1 timeout 60 python3 "$TRAFFIC/echo_clients.py" 10.91.1.5 7000 10 65536)
	[[ $(tail -n1 <<<"$out") == "ok echoed=655360" ]] || { echo "$out" >&2; rc=1; }
	t0=$(cpu_ticks "$pid"); sleep 1; t1=$(cpu_ticks "$pid")
	echo "# [busy] idle engine used $((t1 - t0)) ticks of $HZ in 1 s"
	# Spinning threads take what the scheduler gives them: half a CPU or
	# more on an idle machine, less when other work shares the 2 cores.
	# A blocking engine uses about no ticks when idle (checked above), so
	# a fifth of a CPU still tells spinning from sleeping.
	[[ $(((t1 - t0) * 100)) -gt $((HZ * 20)) ]] || rc=1
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	return $rc
}
t_check "--workers 3 --poll busy: echo works and the threads spin" busy

# usage: more ingress threads than queues
t_check "--workers 4 with 1 queue is a usage error (exit 2) that says why" sh -c \
	"ip netns exec $(ns_name eng1) '$BIN/flextoe' --iface veth2 --ip 10.91.1.5/24 --workers 4 \
	 --run-dir '$TMP/run-bad' >'$TMP/bad.out' 2>&1; [ \$? -eq 2 ] && grep -q 'queues + 2' '$TMP/bad.out'"

fi

echo "# throughput (flextoe-bulk; bytes per run in each line):"
sed 's/^/#   /' "$TMP/gbps"
t_summary
