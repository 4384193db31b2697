/* steer.bpf.c - the engine's steering XDP program: its TCP, ARP and pings to AF_XDP, the rest to the kernel. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <stdbool.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "core/x86/steer_cfg.h"

/*
 * The engine owns an IPv4 address the kernel does not have.  Frames for it
 * - TCP, ARP whose target is that address (requests for it and replies to
 * it), ICMP echo requests - go to the AF_XDP socket of the queue they came
 * in on; all other traffic, including the kernel's own on this interface,
 * continues to the kernel untouched.  Frames with up to two VLAN tags
 * are looked at behind their tags.
 */

const volatile struct ftoe_steer_cfg cfg = {};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, FTOE_STEER_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FTOE_STEER__MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* ARP payload for IPv4 over Ethernet (RFC 826). */
struct arp_eth_ipv4 {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

#define ICMP_ECHO_REQUEST 8
#define IP_OFFMASK 0x1fff

static __always_inline int verdict(struct xdp_md *ctx, __u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &stat);

	if (c)
		(*c)++;
	if (stat == FTOE_STEER_PASS)
		return XDP_PASS;
	/* No socket on this queue (engine stopping, or crashed): the kernel
	 * gets it, and drops it, as the address is not its own. */
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

/* The engine's ARP, TCP and pings, given the frame's EtherType and its
 * L3 header (after any VLAN tags). */
static __always_inline int steer_l3(struct xdp_md *ctx, __be16 proto, void *l3, void *end, __u32 ip)
{
	if (proto == bpf_htons(ETH_P_ARP)) {
		struct arp_eth_ipv4 *arp = l3;
		__u32 tpa;

		if ((void *)(arp + 1) > end || arp->ptype != bpf_htons(ETH_P_IP) ||
		    arp->hlen != ETH_ALEN || arp->plen != 4)
			return verdict(ctx, FTOE_STEER_PASS);
		__builtin_memcpy(&tpa, arp->tpa, 4);
		return verdict(ctx, tpa == ip ? FTOE_STEER_ARP : FTOE_STEER_PASS);
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = l3;
		__u8 *l4;

		if ((void *)(iph + 1) > end || iph->daddr != ip)
			return verdict(ctx, FTOE_STEER_PASS);
		if (iph->protocol == IPPROTO_TCP)
			return verdict(ctx, FTOE_STEER_TCP);
		if (iph->protocol != IPPROTO_ICMP || iph->ihl < 5 ||
		    (iph->frag_off & bpf_htons(IP_OFFMASK)))
			return verdict(ctx, FTOE_STEER_PASS);
		l4 = (__u8 *)iph + iph->ihl * 4;
		if ((void *)(l4 + 1) > end)
			return verdict(ctx, FTOE_STEER_PASS);
		return verdict(ctx, l4[0] == ICMP_ECHO_REQUEST ? FTOE_STEER_ICMP : FTOE_STEER_PASS);
	}
	return verdict(ctx, FTOE_STEER_PASS);
}

/* 802.1Q/802.1ad tag: TCI, then the next EtherType. */
struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

static __always_inline bool is_vlan(__be16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

SEC("xdp")
int flextoe_steer(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct vlan_tag *tag;
	__be16 proto;
	void *l3;

	if ((void *)(eth + 1) > end)
		return verdict(ctx, FTOE_STEER_PASS);
	proto = eth->h_proto;
	l3 = eth + 1;
	/* Tagged frames (up to two tags, 802.1ad outside 802.1Q) for the
	 * engine go to it too: an rx-pre program (xdp-progs/vlan_strip)
	 * pops the tags; without one the engine drops them (counted as
	 * "other" frames).  The kernel's own tagged traffic stays its own. */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (!is_vlan(proto))
			break;
		tag = l3;
		if ((void *)(tag + 1) > end)
			return verdict(ctx, FTOE_STEER_PASS);
		proto = tag->proto;
		l3 = tag + 1;
	}
	return steer_l3(ctx, proto, l3, end, cfg.engine_ip);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
