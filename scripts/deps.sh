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
	iproute2 ethtool iputils-ping tcpdump socat python3 valgrind
	iputils-arping                          # engine_basic.sh: arping the engine
	linux-libc-dev
	tshark                                  # trace.sh: reading the pcap files of flextoe-bpf trace/capture
)

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
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps.sh: done"
