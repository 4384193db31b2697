#!/usr/bin/env bash
# Self-test of tests/lib/netns.sh: two hosts, a veth link, bpffs, cleanup.
set -u
cd "$(dirname "$0")/../.."
. tests/lib/netns.sh
ns_init

ns_add a && ns_add b
t_check "namespaces created" ip netns pids "$(ns_name a)"
ns_link a veth0 10.211.0.1/24 b veth1 10.211.0.2/24
t_check "ping across veth" ns_exec a ping -c1 -W2 10.211.0.2
t_check "bpffs mounted inside ns_exec" ns_exec a sh -c 'stat -f -c %T /sys/fs/bpf | grep -q bpf'
t_check "tx checksum offload off" \
	sh -c "ip netns exec $(ns_name a) ethtool -k veth0 | grep -q 'tx-checksumming: off'"
t_check "a pfifo qdisc on each end" \
	sh -c "ip -n $(ns_name a) link show veth0 | grep -q 'qdisc pfifo' &&
	       ip -n $(ns_name b) link show veth1 | grep -q 'qdisc pfifo'"
# -q 3 -w: three queues each with its own pfifo under mq; no segmentation offloads.
ns_link -q 3 -w a veth2 10.211.1.1/24 b veth3 -
t_check "ns_link -q 3: mq with a pfifo per queue" \
	sh -c "ip netns exec $(ns_name b) tc qdisc show dev veth3 | grep -c 'pfifo.*parent 1:' | grep -qx 3"
t_check "ns_link -w: GSO off" \
	sh -c "ip netns exec $(ns_name a) ethtool -k veth2 | grep -q 'generic-segmentation-offload: off'"
t_check "ns_link with - for an address: none" \
	sh -c "! ip -n $(ns_name b) -4 addr show dev veth3 | grep -q inet"
t_check "ping across the 3-queue veth" ns_exec b sh -c 'ip addr add 10.211.1.2/24 dev veth3 && ping -c1 -W2 10.211.1.1'

# Cleanup must remove the namespaces even from a subshell that fails.
( ns_init; ns_add tmp; echo "$(ns_name tmp)" >/tmp/ftoe-selftest-ns.$$; exit 3 )
tmpns=$(cat /tmp/ftoe-selftest-ns.$$); rm -f /tmp/ftoe-selftest-ns.$$
t_check "cleanup trap removed $tmpns" sh -c "! ip netns list | grep -qw $tmpns"
t_summary
