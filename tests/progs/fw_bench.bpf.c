/* fw_bench.bpf.c - firewall-style XDP program: LPM source rules, exact 5-tuple flows, hit counters.
 *
 * Used by the runtime benchmark (bench/ebpf_bench.c) and the differential
 * tests (tests/diff/xdp_diff.c, which configures it like the benchmark).
 *
 * Per packet: parse Ethernet (up to two 802.1Q/802.1ad tags), IPv4 and
 * TCP/UDP; look the 5-tuple up in fw_flows (exact match), then the source
 * address in fw_src_rules (longest prefix match); the first hit decides the
 * verdict (FW_ACT_PASS / FW_ACT_DROP), no hit passes.  Every outcome is
 * counted in fw_counters (FW_CNT_*), atomically, since several CPUs may run
 * the program at once.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define FW_ACT_PASS	0
#define FW_ACT_DROP	1

enum fw_counter {
	FW_CNT_PACKETS = 0,
	FW_CNT_NON_IP,		/* not IPv4: passed untouched */
	FW_CNT_MALFORMED,	/* truncated or bad IPv4/L4 header: dropped */
	FW_CNT_FLOW_HIT,
	FW_CNT_RULE_HIT,
	FW_CNT_DEFAULT,		/* no flow, no rule */
	FW_CNT_DROPPED,
	FW_CNT_PASSED,
	FW_CNT_MAX,
};

/* LPM trie key: prefix length in bits, then the address in network order
 * (the kernel's struct bpf_lpm_trie_key layout). */
struct fw_lpm_key {
	__u32 prefixlen;
	__u32 addr;
};

/* 5-tuple; addresses and ports in network order, padding zeroed. */
struct fw_tuple {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* required for LPM tries */
	__uint(max_entries, 16384);
	__type(key, struct fw_lpm_key);
	__type(value, __u32);
} fw_src_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fw_tuple);
	__type(value, __u32);
} fw_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fw_counters SEC(".maps");

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

static __always_inline void fw_count(__u32 idx)
{
	__u64 *cnt = bpf_map_lookup_elem(&fw_counters, &idx);

	if (cnt)
		__sync_fetch_and_add(cnt, 1);
}

static __always_inline int fw_verdict(__u32 act, __u32 why)
{
	fw_count(why);
	if (act == FW_ACT_DROP) {
		fw_count(FW_CNT_DROPPED);
		return XDP_DROP;
	}
	fw_count(FW_CNT_PASSED);
	return XDP_PASS;
}

SEC("xdp")
int fw_bench(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct fw_tuple tuple = {};
	struct fw_lpm_key lpm;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	void *l4;
	__u16 proto;
	__u32 *act;
	int i;

	fw_count(FW_CNT_PACKETS);
	if ((void *)(eth + 1) > end) {
		fw_count(FW_CNT_MALFORMED);
		return XDP_DROP;
	}
	proto = eth->h_proto;
	l4 = eth + 1;
	/* 802.1ad outer tag, then 802.1Q: at most two tags, as xdp-tools'
	 * parsing helpers (VLAN_MAX_DEPTH). */
#pragma unroll
	for (i = 0; i < 2; i++) {
		struct vlan_tag *tag = l4;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > end) {
			fw_count(FW_CNT_MALFORMED);
			return XDP_DROP;
		}
		proto = tag->proto;
		l4 = tag + 1;
	}
	if (proto != bpf_htons(ETH_P_IP)) {
		fw_count(FW_CNT_NON_IP);
		return XDP_PASS;
	}

	ip = l4;
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5) {
		fw_count(FW_CNT_MALFORMED);
		return XDP_DROP;
	}
	l4 = (void *)ip + ip->ihl * 4;
	tuple.saddr = ip->saddr;
	tuple.daddr = ip->daddr;
	tuple.proto = ip->protocol;
	/* Ports only in the first fragment (RFC 791: fragment offset 0). */
	if (!(ip->frag_off & bpf_htons(0x1fff))) {
		if (ip->protocol == IPPROTO_TCP) {
			struct tcphdr *tcp = l4;

			if ((void *)(tcp + 1) > end) {
				fw_count(FW_CNT_MALFORMED);
				return XDP_DROP;
			}
			tuple.sport = tcp->source;
			tuple.dport = tcp->dest;
		} else if (ip->protocol == IPPROTO_UDP) {
			struct udphdr *udp = l4;

			if ((void *)(udp + 1) > end) {
				fw_count(FW_CNT_MALFORMED);
				return XDP_DROP;
			}
			tuple.sport = udp->source;
			tuple.dport = udp->dest;
		}
	}

	act = bpf_map_lookup_elem(&fw_flows, &tuple);
	if (act)
		return fw_verdict(*act, FW_CNT_FLOW_HIT);

	lpm.prefixlen = 32;
	lpm.addr = ip->saddr;
	act = bpf_map_lookup_elem(&fw_src_rules, &lpm);
	if (act)
		return fw_verdict(*act, FW_CNT_RULE_HIT);

	return fw_verdict(FW_ACT_PASS, FW_CNT_DEFAULT);
}

char _license[] SEC("license") = "GPL";
