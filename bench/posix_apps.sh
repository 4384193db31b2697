#!/usr/bin/env bash
# posix_apps.sh - unmodified servers over the engine (flextoe-run, lib/posix) against the same servers
# on Linux's TCP, in the same run: memcached throughput and latency (1 and 16 connections), sockperf
# TCP ping-pong latency percentiles, nginx requests/s with and without keep-alive; prints ratios.
set -uo pipefail
cd "$(dirname "$0")/.."
. tests/lib/netns.sh
. tests/lib/engine.sh	# wait_for, wait_cmd
. tests/lib/posix.sh	# posix_hosts, port_open, nginx_conf

BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin
MC_LOAD=$PWD/$BUILD/bench/mc_load
SECS=${POSIX_BENCH_SECONDS:-5}		# per memcached / sockperf measurement
MC_THREADS=${POSIX_BENCH_MC_THREADS:-4}
AB_N=${POSIX_BENCH_AB_N:-20000}		# requests per ab run (keep-alive; a quarter without)
for b in "$BIN/flextoe" "$BIN/flextoe-run" "$PWD/$BUILD/lib/libflextoe-posix.so" "$MC_LOAD"; do
	if [[ ! -e $b ]]; then
		echo "posix_apps: $b is missing: run 'make' first" >&2
		exit 1
	fi
done
for t in memcached sockperf nginx ab; do
	command -v $t >/dev/null || { echo "posix_apps: $t is missing (scripts/deps.sh)" >&2; exit 1; }
done

ns_init
TMP=$(mktemp -d /tmp/ftoe-bench-posix.XXXXXX)
chmod 755 "$TMP"	# nginx workers (nobody) read the files here
trap 'ns_cleanup; rm -rf "$TMP"' EXIT

RUN=$TMP/run
# the engine 10.86.0.5 and the kernel 10.86.0.1 (Linux servers) on veth0,
# the Linux clients at 10.86.0.2; tx checksum offload and TSO/GSO/GRO off
posix_hosts 10.86
mkdir -p "$TMP/www" "$TMP/nginx"
head -c 612 /dev/urandom | base64 >"$TMP/www/index.html"
nginx_conf "$TMP/nginx/nginx.conf" "$TMP/nginx" "$TMP/www"

declare -A R	# R[kind,metric] = value
# stop_pid PID: end a server this script started
stop_pid() { [[ -n $1 ]] && kill "$1" 2>/dev/null; sleep 0.3; }
srv_pid() { # the pid of the newest process named $1 in the engine's namespace
	ip netns pids "$(ns_name eng)" | xargs -r ps -o pid=,comm= -p 2>/dev/null | awk -v n="$1" '$2 == n {print $1}' | tail -n1
}

# measure KIND IP PREFIX...: every bench against servers at IP, started with PREFIX
measure() {
	local kind=$1 ip=$2 out pid; shift 2
	# memcached
	ns_bg eng "$@" memcached -u nobody -t "$MC_THREADS" -l 0.0.0.0 -p 11211 -U 0 -m 256 \
		>"$TMP/mc-$kind.log" 2>&1
	if wait_cmd 10 port_open "$ip" 11211; then
		for c in 1 16; do
			out=$(ns_exec peer timeout $((SECS + 60)) "$MC_LOAD" "$ip" 11211 --conns $c \
				--seconds "$SECS" --warmup 1 2>&1) ||
				{ echo "posix_apps: memcached $kind, $c conns: $out" >&2; continue; }
			printf '%-7s memcached %2d conns: %s\n' "$kind" $c "$out"
			R[$kind,mc$c]=$(sed -E 's/.*rps=([0-9]+) p50_us=([0-9.]+) p99_us=([0-9.]+).*/\1 \2 \3/' <<<"$out")
		done
	else
		echo "posix_apps: memcached ($kind) did not start:" >&2; tail -n 5 "$TMP/mc-$kind.log" >&2
	fi
	stop_pid "$(srv_pid memcached)"
	# sockperf ping-pong (latency figures are sockperf's: half the round trip)
	ns_bg eng "$@" sockperf server --tcp -i "$ip" -p 11111 >"$TMP/sp-$kind.log" 2>&1
	if wait_cmd 10 port_open "$ip" 11111; then
		out=$(ns_exec peer timeout $((SECS + 60)) sockperf ping-pong --tcp -i "$ip" -p 11111 \
			-t "$SECS" -m 64 2>&1)
		R[$kind,sp]=$(awk '/percentile 50.000 =/ {p50=$NF} /percentile 99.000 =/ {p99=$NF}
			/percentile 99.900 =/ {p999=$NF} /percentile 99.990 =/ {p9999=$NF}
			END { if (p50 != "") print p50, p99, p999, p9999 }' <<<"$out")
		[[ -n ${R[$kind,sp]} ]] || { echo "posix_apps: sockperf $kind: $out" | tail -n 5 >&2; unset "R[$kind,sp]"; }
		printf '%-7s sockperf ping-pong: %s\n' "$kind" "$(grep -m1 'Summary: Latency' <<<"$out" | sed 's/.*Summary: //')"
	else
		echo "posix_apps: sockperf server ($kind) did not start" >&2
	fi
	stop_pid "$(srv_pid sockperf)"
	# nginx, master + 2 workers
	ns_bg eng "$@" nginx -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" >"$TMP/nginx-$kind.log" 2>&1
	if wait_cmd 10 port_open "$ip" 8080; then
		for ka in keepalive close; do
			local n=$AB_N args=(-k)
			[[ $ka == close ]] && { n=$((AB_N / 4)); args=(); }
			out=$(ns_exec peer timeout 120 ab -q -r "${args[@]}" -n "$n" -c 16 "http://$ip:8080/index.html" 2>&1)
			if grep -qE '^Failed requests: +0$' <<<"$out"; then
				R[$kind,ab_$ka]=$(awk '/^Requests per second/ {print $4}' <<<"$out")
				printf '%-7s nginx ab %-9s: %s req/s\n' "$kind" "$ka" "${R[$kind,ab_$ka]}"
			else
				echo "posix_apps: ab $ka ($kind) did not complete without failures:" >&2
				grep -E 'requests|Non-2xx|apr_|rror' <<<"$out" >&2
			fi
		done
	else
		echo "posix_apps: nginx ($kind) did not start" >&2; cat "$TMP/nginx/error.log" >&2
	fi
	stop_pid "$(cat "$TMP/nginx/nginx.pid" 2>/dev/null)"
	wait_cmd 5 sh -c "! test -e $TMP/nginx/nginx.pid"
}

echo "== posix_apps: unmodified servers, Linux client over veth (tx/tso/gso/gro off);"
echo "   linux = the server on the kernel's TCP, engine = the same binary under flextoe-run"
# Linux first, before the engine's XDP program is attached to the veth.
measure linux $KERN_IP
ns_bg eng "$BIN/flextoe" --iface veth0 --ip $ENG_IP/24 --run-dir "$RUN" >"$TMP/eng.log" 2>&1
if wait_for "$TMP/eng.log" "ready:"; then
	measure engine $ENG_IP "$BIN/flextoe-run" --run-dir "$RUN" --
	# POSIX_BENCH_WAKE_CONTEXT=1: also every epoll on the context's event fd
	# (before wake groups; docs/posix.md), in the same run
	[[ ${POSIX_BENCH_WAKE_CONTEXT:-0} == 1 ]] &&
		measure ctxwake $ENG_IP env FLEXTOE_EPOLL_WAKE=context "$BIN/flextoe-run" --run-dir "$RUN" --
	# POSIX_BENCH_SPIN_US=N: also with epoll_wait spinning N us on the
	# event ring before it sleeps (FLEXTOE_SPIN_US, docs/posix.md; an
	# opt-in, never the default), in the same run
	[[ ${POSIX_BENCH_SPIN_US:-0} -gt 0 ]] &&
		measure spin $ENG_IP env FLEXTOE_SPIN_US="$POSIX_BENCH_SPIN_US" "$BIN/flextoe-run" --run-dir "$RUN" --
else
	echo "posix_apps: the engine did not start" >&2
fi

ratio() { # ENGINE LINUX
	awk -v e="$1" -v l="$2" 'BEGIN { if (l > 0 && e != "") printf "%.2f", e / l; else printf "-" }'
}
row() { printf '%-28s %12s %12s %8s\n' "$@"; }
if [[ ${POSIX_BENCH_WAKE_CONTEXT:-0} == 1 ]]; then
	echo
	echo "epolls woken through the context's event fd (ctxwake) against wake groups (engine):"
	for k in mc1 mc16 sp ab_keepalive ab_close; do
		printf '%-14s ctxwake: %-28s engine: %s\n' "$k" "${R[ctxwake,$k]:--}" "${R[engine,$k]:--}"
	done
fi
if [[ ${POSIX_BENCH_SPIN_US:-0} -gt 0 ]]; then
	echo
	echo "epoll_wait spinning ${POSIX_BENCH_SPIN_US} us before it sleeps (spin, FLEXTOE_SPIN_US) against the default (engine):"
	for k in mc1 mc16 sp ab_keepalive ab_close; do
		printf '%-14s spin: %-28s engine: %s\n' "$k" "${R[spin,$k]:--}" "${R[engine,$k]:--}"
	done
	read -r sr _ <<<"${R[spin,mc1]:-}"
	read -r lr _ <<<"${R[linux,mc1]:-}"
	read -r s50 _ <<<"${R[spin,sp]:-}"
	read -r l50 _ <<<"${R[linux,sp]:-}"
	echo "spin against Linux: memcached 1 conn ops/s $(ratio "${sr:-}" "${lr:-}"), sockperf p50 $(ratio "${s50:-}" "${l50:-}")"
fi
echo
row "" linux engine "eng/lin"
for c in 1 16; do
	read -r lr lp50 lp99 <<<"${R[linux,mc$c]:-}"
	read -r er ep50 ep99 <<<"${R[engine,mc$c]:-}"
	row "memcached $c conn ops/s" "${lr:--}" "${er:--}" "$(ratio "${er:-}" "${lr:-}")"
	row "memcached $c conn p50 us" "${lp50:--}" "${ep50:--}" "$(ratio "${ep50:-}" "${lp50:-}")"
	row "memcached $c conn p99 us" "${lp99:--}" "${ep99:--}" "$(ratio "${ep99:-}" "${lp99:-}")"
done
read -r l50 l99 l999 l9999 <<<"${R[linux,sp]:-}"
read -r e50 e99 e999 e9999 <<<"${R[engine,sp]:-}"
row "sockperf p50 us" "${l50:--}" "${e50:--}" "$(ratio "${e50:-}" "${l50:-}")"
row "sockperf p99 us" "${l99:--}" "${e99:--}" "$(ratio "${e99:-}" "${l99:-}")"
row "sockperf p99.9 us" "${l999:--}" "${e999:--}" "$(ratio "${e999:-}" "${l999:-}")"
row "sockperf p99.99 us" "${l9999:--}" "${e9999:--}" "$(ratio "${e9999:-}" "${l9999:-}")"
row "nginx keep-alive req/s" "${R[linux,ab_keepalive]:--}" "${R[engine,ab_keepalive]:--}" \
	"$(ratio "${R[engine,ab_keepalive]:-}" "${R[linux,ab_keepalive]:-}")"
row "nginx new conn/req req/s" "${R[linux,ab_close]:--}" "${R[engine,ab_close]:--}" \
	"$(ratio "${R[engine,ab_close]:-}" "${R[linux,ab_close]:-}")"
echo "(throughput: above 1 = engine faster; latency: below 1 = engine faster;" \
	"targets: memcached ops/s >= 1.0, sockperf p50 <= 1.0)"
# Every figure must exist on both sides: a missing one is a failed run.
for k in linux engine; do
	for m in mc1 mc16 sp ab_keepalive ab_close; do
		[[ -n ${R[$k,$m]:-} ]] || { echo "posix_apps: no $m figure for $k" >&2; exit 1; }
	done
done
