#!/usr/bin/env bash
# Install every Debian package FlexTOE needs to build, test and demo.
# Idempotent and quiet when everything is present.  Run as root on Debian 12.
set -euo pipefail

PKGS=(
	build-essential make pkg-config git
	clang llvm lld libclang-rt-14-dev      # BPF objects, libFuzzer, sanitizers
	libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
	check libsubunit-dev                    # unit tests
	libjson-c-dev libpcap-dev liburcu-dev
	libxxhash-dev                           # loader/fw: the firewall snapshot's and rule texts' hashes (XXH3)
	iproute2 ethtool iputils-ping tcpdump socat python3 valgrind
	iputils-arping                          # engine_basic.sh: arping the engine
	linux-libc-dev
	tshark                                  # trace.sh: reading the pcap files of flextoe-bpf trace/capture
	gnuplot-nox                             # bench/nfpsim: the simulator's scaling plot (PNG)
	libsystemd-dev                          # flextoe: readiness notification (sd_notify, Type=notify)
	bash-completion                         # tests/integration/ops_completion.sh
	debhelper lintian dpkg-dev              # scripts/package-check.sh (debian/)
	# posix_apps.sh, posix_diff.sh and bench/posix_*.sh: stock servers and
	# clients run unmodified over the engine (lib/posix) and over Linux
	memcached libmemcached-tools redis-server redis-tools nginx-light
	iperf3 sockperf apache2-utils wrk curl
)
# Daemons whose packages start a system-wide instance on install: the tests
# start their own copies in namespaces, so none may stay running.
SERVICES=(memcached redis-server nginx)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: run as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 tells invoke-rc.d not to start any service the
# packages ship; a policy-rc.d already in place (containers) is left alone.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# deps.sh: no service starts on install\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	own_policy=1
fi
rc=0
apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
[[ $own_policy -eq 1 ]] && rm -f "$policy"
[[ $rc -eq 0 ]] || { echo "deps.sh: apt-get failed ($rc)" >&2; exit "$rc"; }
# Where systemd runs (a real host), the units are enabled on install: stop
# and disable them so that nothing listens on 11211, 6379 or 80 system-wide.
if [[ -d /run/systemd/system ]]; then
	for s in "${SERVICES[@]}"; do
		systemctl disable --now "$s" >/dev/null 2>&1 || true
	done
else
	for s in "${SERVICES[@]}"; do
		[[ -x /etc/init.d/$s ]] && "/etc/init.d/$s" status >/dev/null 2>&1 &&
			"/etc/init.d/$s" stop >/dev/null 2>&1 || true
	done
fi
echo "deps.sh: done"
