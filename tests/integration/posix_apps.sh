#!/usr/bin/env bash
# posix_apps.sh - stock Debian servers and clients (memcached, redis, nginx, iperf3, sockperf,
# curl) run unmodified under flextoe-run in the engine's namespace against Linux peers.
#
# POSIX_APPS_MODE=engine (default): the flextoe daemon owns $ENG_IP on veth0
#   and each program under test runs as `flextoe-run --run-dir RUN -- PROG`
#   (lib/posix, LD_PRELOAD).  Servers bind $ENG_IP or 0.0.0.0 and are
#   reached on $ENG_IP, which only the engine answers; clients' SYNs are
#   checked on the wire to come from $ENG_IP.
# POSIX_APPS_MODE=kernel: the same cases with the same programs on the
#   kernel's TCP at the kernel's address in the same namespace (no engine,
#   no flextoe-run): the script's own self-check, and Linux's reference.
# POSIX_APPS_ONLY="memcached redis" runs a subset (memcached redis nginx
# iperf3 sockperf curl).
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
. tests/lib/engine.sh
. tests/lib/posix.sh
TOOLS=$PWD/tests/tools/posix-apps

BUILD=${FTOE_BUILD:-build}
BIN=$PWD/$BUILD/bin
MODE=${POSIX_APPS_MODE:-engine}
ONLY=${POSIX_APPS_ONLY:-memcached redis nginx iperf3 sockperf curl}
need_tools memcached memcslap redis-server redis-benchmark nginx ab iperf3 sockperf curl \
	python3 tcpdump sha256sum

test_init posix-apps
chmod 755 "$TMP"	# nginx's workers run as nobody and read the files here

RUN=$TMP/run
# the engine 10.83.0.5 and the kernel 10.83.0.1 on veth0, the peer 10.83.0.2
posix_hosts 10.83

case $MODE in
engine)
	need_files "$BIN/flextoe" "$BIN/flextoe-run" "$PWD/$BUILD/lib/libflextoe-posix.so"
	SRV_IP=$ENG_IP
	RUNNER=("$BIN/flextoe-run" --run-dir "$RUN" --)
	t_check "engine starts (flextoe on veth0, $ENG_IP)" engine_start eng $ENG_IP/24
	;;
kernel)
	SRV_IP=$KERN_IP
	RUNNER=()
	;;
*)
	echo "POSIX_APPS_MODE must be engine or kernel, not '$MODE'" >&2
	echo "0 passed, 1 failed"; exit 1 ;;
esac
echo "# mode $MODE: servers at $SRV_IP, clients in the engine's namespace come from $SRV_IP"

# Every SYN the peer sees, for the client cases' check of the source address.
ns_bg peer tcpdump -i veth1 -U -n -w "$TMP/syn.pcap" 'tcp[tcpflags] & tcp-syn != 0' \
	>"$TMP/tcpdump.log" 2>&1
TCPDUMP_BG=$!
wait_for "$TMP/tcpdump.log" "listening on" 5 >/dev/null 2>&1

# srv NAME CMD...: run CMD under the launcher in the engine's namespace, in the
# background, output to $TMP/NAME.log
srv() {
	local name=$1; shift
	ns_bg eng "${RUNNER[@]}" "$@" >"$TMP/$name.log" 2>&1
}
# app CMD...: run CMD under the launcher in the engine's namespace
app() { ns_exec eng "${RUNNER[@]}" "$@"; }
# peer CMD...: the Linux peer
peer() { ns_exec peer "$@"; }
# check NAME LOG DESC CMD...: t_ok if CMD succeeds; else t_fail, CMD's output
# and the last lines of the server's log
check() {
	local name=$1 log=$2 desc=$3 out rc; shift 3
	out=$("$@" 2>&1); rc=$?
	[[ -n $out ]] && sed 's/^/#   /' <<<"$out" | tail -n 12
	if [[ $rc -eq 0 ]]; then
		t_ok "$name: $desc"
	else
		t_fail "$name: $desc (exit $rc)"
		[[ -n $log && -e $log ]] && { echo "#   --- $log:"; tail -n 25 "$log" | sed 's/^/#   | /'; }
	fi
}
# syn_from SRC PORT: the peer saw a SYN from SRC to PORT (pcap of this run);
# the capture is read again for up to 3 s, as tcpdump's writes may lag
syn_from() {
	local n=0 _
	for _ in $(seq 15); do
		sleep 0.2
		n=$(tcpdump -r "$TMP/syn.pcap" -n "src host $1 and dst port $2 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2>/dev/null | wc -l)
		[[ $n -gt 0 ]] && break
	done
	echo "SYNs from $1 to port $2: $n"
	[[ $n -gt 0 ]]
}
wants() { [[ " $ONLY " == *" $1 "* ]]; }

# ---- memcached, 4 threads ----------------------------------------------------------
if wants memcached; then
	srv memcached memcached -u nobody -t 4 -l 0.0.0.0 -p 11211 -U 0 -m 512 -v
	if check memcached "$TMP/memcached.log" "starts with 4 threads on 0.0.0.0:11211" \
		wait_cmd 10 port_open $SRV_IP 11211; then
		check memcached "$TMP/memcached.log" "5000 random values (1 B - 64 KiB) over 8 connections read back byte-exact" \
			peer timeout 120 python3 "$TOOLS/mc_check.py" $SRV_IP 11211 --keys 5000 --conns 8
		mslap() {
			local out
			out=$(peer timeout 120 memcslap --servers=$SRV_IP:11211 "$@" 2>&1)
			echo "$out" | tail -n 4
			# memcslap exits 0 even when requests fail: it prints "Fatal error ..."
			! grep -qiE 'error|fail|timeout' <<<"$out" && grep -q '^Time total' <<<"$out"
		}
		check memcached "$TMP/memcached.log" "memcslap set, 8 threads x 10000, no errors" \
			mslap --test=set --concurrency=8 --execute-number=10000
		check memcached "$TMP/memcached.log" "memcslap get (binary protocol, non-blocking), no errors" \
			mslap --test=get --binary --non-blocking --concurrency=8 --execute-number=10000
		check memcached "$TMP/memcached.log" "memcslap mget, no errors" \
			mslap --test=mget --concurrency=4 --execute-number=5000
		# bound to 0.0.0.0: also reachable through the kernel on loopback
		check memcached "$TMP/memcached.log" "0.0.0.0 listener also answers on 127.0.0.1 in its namespace" \
			ns_exec eng timeout 10 python3 -c '
import socket
s = socket.create_connection(("127.0.0.1", 11211), timeout=5)
s.sendall(b"version\r\n")
r = s.recv(100)
print(r.strip().decode())
assert r.startswith(b"VERSION ")'
	fi
fi

# ---- redis-server ------------------------------------------------------------------
if wants redis; then
	mkdir -p "$TMP/redis"
	srv redis redis-server --bind $SRV_IP --port 6379 --protected-mode no --save '' \
		--appendonly no --dir "$TMP/redis" --dbfilename dump.rdb --daemonize no --loglevel notice
	if check redis "$TMP/redis.log" "starts on $SRV_IP:6379" wait_cmd 10 port_open $SRV_IP 6379; then
		check redis "$TMP/redis.log" "1 MiB random value SET and GET back byte-exact" \
			peer timeout 60 python3 "$TOOLS/redis_check.py" $SRV_IP 6379 bigvalue $((1 << 20))
		rbench() {
			local out t
			out=$(peer timeout 120 redis-benchmark -h $SRV_IP -p 6379 -t set,get,lpush,lrange \
				-n 10000 -c 20 -q 2>&1 | tr '\r' '\n' | grep 'requests per second')
			echo "$out"
			for t in SET GET LPUSH LRANGE_100 LRANGE_300 LRANGE_500 LRANGE_600; do
				grep -qE "^$t( \(first [0-9]+ elements\))?: [0-9.]+ requests per second" <<<"$out" ||
					{ echo "no result for $t"; return 1; }
			done
		}
		check redis "$TMP/redis.log" "redis-benchmark set, get, lpush, lrange_100..600 (10000 requests, 20 clients) all complete" rbench
		check redis "$TMP/redis.log" "BGSAVE forks while 4 clients keep working; save ok, clients' replies all correct" \
			peer timeout 90 python3 "$TOOLS/redis_check.py" $SRV_IP 6379 bgsave 4
		check redis "$TMP/redis.log" "the BGSAVE child wrote dump.rdb" test -s "$TMP/redis/dump.rdb"
	fi
fi

# ---- nginx: master + 2 workers, sendfile ----------------------------------------------
if wants nginx; then
	mkdir -p "$TMP/www" "$TMP/nginx"
	head -c $((32 << 20)) /dev/urandom >"$TMP/www/big.bin"
	echo hello >"$TMP/www/index.html"
	nginx_conf "$TMP/nginx/nginx.conf" "$TMP/nginx" "$TMP/www"
	srv nginx nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log"
	if check nginx "$TMP/nginx/error.log" "master + 2 workers listen on 0.0.0.0:8080" \
		wait_cmd 10 port_open $SRV_IP 8080; then
		workers() { # the master and its two workers are all alive
			local m n
			m=$(cat "$TMP/nginx/nginx.pid") || return 1
			n=$(pgrep -P "$m" | wc -l)
			echo "master $m, $n workers"
			[[ $n -eq 2 ]]
		}
		check nginx "$TMP/nginx/error.log" "2 worker processes" workers
		big_get() {
			local want got
			want=$(sha256sum <"$TMP/www/big.bin" | cut -d' ' -f1)
			got=$(peer timeout 120 curl -sS --fail http://$SRV_IP:8080/big.bin | sha256sum | cut -d' ' -f1)
			echo "sha256 sent $want, received $got"
			[[ $want == "$got" ]]
		}
		check nginx "$TMP/nginx/error.log" "32 MiB file (sendfile on), SHA-256 matches" big_get
		big_get4() {
			local pids=() i r=0
			for i in 1 2 3 4; do big_get >"$TMP/big_get$i.out" 2>&1 & pids+=($!); done
			for i in "${pids[@]}"; do wait "$i" || r=1; done
			cat "$TMP"/big_get?.out
			return $r
		}
		check nginx "$TMP/nginx/error.log" "32 MiB file again, 4 clients at once, SHA-256 matches" big_get4
		# sendfile with the transmit ring full while other connections of
		# the same worker end under it: clients that hang up mid-file and
		# one that stops reading, beside 4 complete transfers
		big_get_abort() {
			local bg=() i
			for i in 1 2 3 4 5 6; do
				peer timeout 5 curl -sS -o /dev/null --max-time 0.$((i + 2)) \
					http://$SRV_IP:8080/big.bin >/dev/null 2>&1 & bg+=($!)
			done
			peer timeout 3 python3 -c 'import socket, sys, time
s = socket.create_connection((sys.argv[1], 8080))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(1000)
time.sleep(10)' $SRV_IP >/dev/null 2>&1 & bg+=($!)
			big_get4; local r=$?
			wait "${bg[@]}"
			workers || r=1
			return $r
		}
		check nginx "$TMP/nginx/error.log" "32 MiB file, 4 clients while 6 hang up mid-file and 1 stops reading: SHA-256 matches" big_get_abort
		ab_run() {
			local out
			out=$(peer timeout 120 ab -q -r "$@" http://$SRV_IP:8080/index.html 2>&1)
			grep -E '^(Complete|Failed) requests|Non-2xx|Requests per second' <<<"$out"
			grep -qE '^Failed requests: +0$' <<<"$out" && ! grep -q 'Non-2xx' <<<"$out" &&
				grep -qE "^Complete requests: +$2\$" <<<"$out"
		}
		# 20,000 connections the server closes first, with 4096 connection
		# slots: TIME_WAIT gives each slot back at once (docs/engine.md)
		check nginx "$TMP/nginx/error.log" "ab -n 20000 -c 16 without keep-alive: 0 failed" ab_run -n 20000 -c 16
		check nginx "$TMP/nginx/error.log" "ab -k -n 20000 -c 16 with keep-alive: 0 failed" ab_run -n 20000 -c 16 -k
		# ab_run's second argument is -n's value: its order matters above
	fi
fi

# ---- iperf3 ----------------------------------------------------------------------
iperf_ok() { # iperf3 -J output on stdin: received bytes > 0, no error
	python3 -c '
import json, sys
j = json.load(sys.stdin)
if "error" in j:
    sys.exit("iperf3: " + j["error"])
e = j["end"]
r = e["sum_received"]["bytes"]
print("%s: %.0f Mbit/s, %d bytes received, %d retransmits" % (
    "reverse" if j["start"]["test_start"]["reverse"] else "forward",
    e["sum_received"]["bits_per_second"] / 1e6, r, e["sum_sent"].get("retransmits", -1)))
sys.exit(0 if r > 0 else 1)'
}
# iperf_run peer|app ARGS...: a 3-second iperf3 client run, checked
iperf_run() { local who=$1; shift; $who timeout 30 iperf3 "$@" -t 3 -J | iperf_ok; }
if wants iperf3; then
	srv iperf3 iperf3 -s -B $SRV_IP -p 5201 --forceflush
	if check iperf3 "$TMP/iperf3.log" "server over the stack under test starts" \
		wait_for "$TMP/iperf3.log" "Server listening" 10; then
		check iperf3 "$TMP/iperf3.log" "Linux client sends to it for 3 s" \
			iperf_run peer -c $SRV_IP -p 5201
		check iperf3 "$TMP/iperf3.log" "Linux client receives from it for 3 s (-R)" \
			iperf_run peer -c $SRV_IP -p 5201 -R
	fi
	ns_bg peer iperf3 -s -B $PEER_IP -p 5202 --forceflush >"$TMP/iperf3-linux.log" 2>&1
	wait_for "$TMP/iperf3-linux.log" "Server listening" 10 >/dev/null 2>&1
	check iperf3 "$TMP/iperf3-linux.log" "client over the stack under test sends to a Linux server" \
		iperf_run app -c $PEER_IP -p 5202
	check iperf3 "$TMP/iperf3-linux.log" "client over the stack under test receives from a Linux server (-R)" \
		iperf_run app -c $PEER_IP -p 5202 -R
	check iperf3 "" "the client's connections came from $SRV_IP" syn_from $SRV_IP 5202
fi

# ---- sockperf --------------------------------------------------------------------
sp_ok() { # sockperf client output on stdin: a result, no error
	local out
	out=$(cat)
	grep -E 'Summary|percentile 50.000|Message Rate|BandWidth' <<<"$out" | head -n 5
	! grep -qiE 'error|fail' <<<"$out" && grep -qE 'Summary: (Latency|Message Rate)' <<<"$out"
}
# sp_run peer|app MODE ARGS...: a 3-second sockperf TCP client run, checked
sp_run() { local who=$1 m=$2; shift 2; $who timeout 30 sockperf "$m" --tcp "$@" -t 3 2>&1 | sp_ok; }
if wants sockperf; then
	srv sockperf sockperf server --tcp -i $SRV_IP -p 11111
	if check sockperf "$TMP/sockperf.log" "server over the stack under test starts" \
		wait_cmd 10 port_open $SRV_IP 11111; then
		check sockperf "$TMP/sockperf.log" "Linux client ping-pong, 3 s" \
			sp_run peer ping-pong -i $SRV_IP -p 11111 -m 64
		check sockperf "$TMP/sockperf.log" "Linux client throughput, 3 s" \
			sp_run peer throughput -i $SRV_IP -p 11111 -m 1400
	fi
	ns_bg peer sockperf server --tcp -i $PEER_IP -p 11112 >"$TMP/sockperf-linux.log" 2>&1
	wait_cmd 10 port_open $PEER_IP 11112
	check sockperf "$TMP/sockperf-linux.log" "client over the stack under test, ping-pong against a Linux server" \
		sp_run app ping-pong -i $PEER_IP -p 11112 -m 64
	check sockperf "$TMP/sockperf-linux.log" "client over the stack under test, throughput against a Linux server" \
		sp_run app throughput -i $PEER_IP -p 11112 -m 1400
	check sockperf "" "the client's connections came from $SRV_IP" syn_from $SRV_IP 11112
fi

# ---- curl: a client fetching a large file from a Linux HTTP server --------------------
if wants curl; then
	mkdir -p "$TMP/peerwww"
	head -c $((64 << 20)) /dev/urandom >"$TMP/peerwww/big.bin"
	ns_bg peer python3 -m http.server 8000 --bind $PEER_IP --directory "$TMP/peerwww" \
		>"$TMP/http-linux.log" 2>&1
	wait_cmd 10 port_open $PEER_IP 8000
	curl_get() {
		local want got
		want=$(sha256sum <"$TMP/peerwww/big.bin" | cut -d' ' -f1)
		got=$(app timeout 120 curl -sS --fail -o - http://$PEER_IP:8000/big.bin | sha256sum | cut -d' ' -f1)
		echo "sha256 sent $want, received $got"
		[[ $want == "$got" ]]
	}
	check curl "$TMP/http-linux.log" "64 MiB from a Linux HTTP server, SHA-256 matches" curl_get
	check curl "" "curl's connection came from $SRV_IP" syn_from $SRV_IP 8000
fi

tcpdump_stop "$TCPDUMP_BG"
if [[ $MODE == engine ]]; then
	check engine "$TMP/eng.log" "the engine is still running after all cases" \
		kill -0 "$(cat "$RUN/flextoe.pid" 2>/dev/null)"
fi
t_summary
