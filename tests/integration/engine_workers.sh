#!/usr/bin/env bash
# engine_workers.sh - the flextoe daemon with several queues and workers: flextoe-echo and
# flextoe-bulk give the same results with --workers 3 as with --workers 1 (4-queue veth).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
TRAFFIC=$PWD/tests/tools/traffic

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
BULK_BYTES=${ENGINE_WORKERS_BULK_BYTES:-$((64 << 20))}
NQ=4
for b in flextoe flextoe-echo flextoe-bulk; do
	if [[ ! -x $BIN/$b ]]; then
		echo "missing $BIN/$b (run make)" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-engine-workers.XXXXXX)
trap 'ns_cleanup; [[ -n ${KEEP_TMP:-} ]] || rm -rf "$TMP"' EXIT

ENG_IP=10.81.0.5
PEER_IP=10.81.0.2

# A veth has one queue unless made with more; the peer's tx queue (chosen per
# flow) is the queue the engine's side receives on, so flows spread.
ns_add eng && ns_add peer
ip link add veth0 netns "$(ns_name eng)" numtxqueues $NQ numrxqueues $NQ type veth \
	peer name veth1 netns "$(ns_name peer)" numtxqueues $NQ numrxqueues $NQ
ip -n "$(ns_name eng)" addr add 10.81.0.1/24 dev veth0
ip -n "$(ns_name peer)" addr add $PEER_IP/24 dev veth1
ip -n "$(ns_name eng)" link set veth0 up
ip -n "$(ns_name peer)" link set veth1 up
# wire-sized frames with real checksums: the engine's AF_XDP frames hold one MTU
ip netns exec "$(ns_name eng)" ethtool -K veth0 tx off tso off gso off gro off >/dev/null 2>&1
ip netns exec "$(ns_name peer)" ethtool -K veth1 tx off tso off gso off gro off >/dev/null 2>&1

wait_for() { # FILE PATTERN: up to 10 s
	for _ in $(seq 200); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2
	return 1
}



# run_config TAG WORKERS: engine with $NQ queues and WORKERS workers; echo and bulk
# checks; the results (echoed bytes, digests) go to $TMP/TAG.res.
run_config() {
	local tag=$1 w=$2 run=$TMP/run-$1 log=$TMP/eng-$1.log port=7000 out
	: >"$TMP/$tag.res"
	ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --queues $NQ --workers "$w" \
		--run-dir "$run" >"$log" 2>&1
	t_check "[$tag] engine with $NQ queues and $w worker(s) starts" wait_for "$log" "ready:.*$NQ queues, $w worker"
	ns_bg eng env FLEXTOE_RUN_DIR="$run" "$BIN/flextoe-echo" --port $port >"$TMP/echo-$tag.out" 2>&1
	t_check "[$tag] flextoe-echo listens" wait_for "$TMP/echo-$tag.out" listening

	echo_test() { # NCONN SIZE
		out=$(ns_exec peer timeout 150 python3 "$TRAFFIC/echo_clients.py" $ENG_IP $port "$1" "$2")
		echo "echo $1x$2: $(tail -n1 <<<"$out")" >>"$TMP/$tag.res"
		[[ $(tail -n1 <<<"$out") == "ok echoed=$(($1 * $2))" ]] || { echo "$out" >&2; return 1; }
	}
	t_check "[$tag] echo: 1 connection, 1 MiB echoed exactly" echo_test 1 $((1 << 20))
	t_check "[$tag] echo: 200 concurrent connections, 64 KiB each" echo_test 200 65536
	t_check "[$tag] echo: 1000 concurrent connections, 4 KiB each" echo_test 1000 4096

	bulk_in() { # Linux -> engine
		local a b
		ns_bg eng env FLEXTOE_RUN_DIR="$run" "$BIN/flextoe-bulk" --listen 7100 --recv \
			>"$TMP/bin-$tag.out" 2>&1
		wait_for "$TMP/bin-$tag.out" listening || return 1
		ns_exec peer timeout 100 python3 "$TRAFFIC/bulk_peer.py" send $ENG_IP 7100 $BULK_BYTES \
			>"$TMP/bin-$tag.peer" 2>&1
		wait_for "$TMP/bin-$tag.out" "^bytes=" || return 1
		a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bin-$tag.out")
		b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bin-$tag.peer")
		echo "# [$tag] Linux -> engine: $(tail -n1 "$TMP/bin-$tag.out")"
		echo "bulk in: ${a%% sha256*}" >>"$TMP/$tag.res"
		[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
	}
	bulk_out() { # engine -> Linux; the payload is deterministic, so the digest is too
		local a b
		ns_bg peer python3 "$TRAFFIC/bulk_peer.py" recv $PEER_IP 7101 >"$TMP/bout-$tag.peer" 2>&1
		wait_for "$TMP/bout-$tag.peer" listening || return 1
		ns_exec eng env FLEXTOE_RUN_DIR="$run" timeout 100 "$BIN/flextoe-bulk" \
			--connect $PEER_IP:7101 --send $BULK_BYTES >"$TMP/bout-$tag.out" 2>&1
		wait_for "$TMP/bout-$tag.peer" "^bytes=" || return 1
		a=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bout-$tag.out")
		b=$(grep -o 'bytes=[0-9]* sha256=[0-9a-f]*' "$TMP/bout-$tag.peer")
		echo "# [$tag] engine -> Linux: $(tail -n1 "$TMP/bout-$tag.out")"
		echo "bulk out: $a" >>"$TMP/$tag.res"
		[[ -n $a && $a == "$b" && $a == "bytes=$BULK_BYTES "* ]] || { echo "engine: $a peer: $b" >&2; return 1; }
	}
	t_check "[$tag] bulk: $BULK_BYTES bytes Linux -> engine, SHA-256 matches" bulk_in
	t_check "[$tag] bulk: $BULK_BYTES bytes engine -> Linux, SHA-256 matches" bulk_out

	# stop the engine; its exit log has every queue's counters
	local pid
	pid=$(cat "$run/flextoe.pid")
	kill -TERM "$pid"
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	t_check "[$tag] the engine exits on SIGTERM" sh -c "! kill -0 $pid 2>/dev/null"
	wait_for "$TMP/echo-$tag.out" "lost the engine" >/dev/null 2>&1
	# queues that carried TCP (the tcp counter of each queue's line)
	QUEUES_USED=$(grep -o 'queue [0-9]*: rx [0-9]* (tcp [0-9]*' "$log" |
		awk '$6 > 0 { n++ } END { print n + 0 }')
	echo "# [$tag] queues that received TCP: $QUEUES_USED of $NQ"
}

run_config w1 1
run_config w3 3
t_check "--workers 3: the flows spread over more than one queue ($QUEUES_USED of $NQ)" \
	test "$QUEUES_USED" -gt 1
same_results() {
	diff -u "$TMP/w1.res" "$TMP/w3.res" >&2
}
t_check "--workers 3 gives the same results as --workers 1" same_results
t_check "the --workers 3 engine logged no worker error" \
	sh -c "! grep -Ei 'error|fail' '$TMP/eng-w3.log'"

t_summary
