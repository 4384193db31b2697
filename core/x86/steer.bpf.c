/* steer.bpf.c - the engine's steering XDP program: its TCP, ARP and pings to AF_XDP, the rest to the kernel. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
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
 *
 * With an IPv6 address as well (has_ip6): IPv6 frames to
 * it - TCP, and frames with extension headers, which the engine drops and
 * counts - and ICMPv6 echo requests, neighbour solicitations for it (sent
 * to it or to its solicited-node multicast address) and advertisements
 * sent to it.
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
#define ICMPV6_ECHO_REQUEST 128
#define ND_NS 135
#define ND_NA 136
#define NEXTHDR_ICMPV6 58
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

static __always_inline bool addr6_eq(const __u8 *a, const volatile __u8 *b)
{
#pragma unroll
	for (int i = 0; i < 16; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* ff02::1:ffXX:XXXX for our address (RFC 4291 2.7.1). */
static __always_inline bool solicited_node6(const __u8 *a)
{
	if (a[0] != 0xff || a[1] != 0x02 || a[11] != 0x01 || a[12] != 0xff)
		return false;
#pragma unroll
	for (int i = 2; i < 11; i++)
		if (a[i])
			return false;
	return a[13] == cfg.engine_ip6[13] && a[14] == cfg.engine_ip6[14] &&
	       a[15] == cfg.engine_ip6[15];
}

static __always_inline int steer_ipv6(struct xdp_md *ctx, struct ipv6hdr *ip6, void *end)
{
	__u8 *icmp;
	bool to_us;

	if ((void *)(ip6 + 1) > end || !cfg.has_ip6)
		return verdict(ctx, FTOE_STEER_PASS);
	to_us = addr6_eq(ip6->daddr.in6_u.u6_addr8, cfg.engine_ip6);
	if (!to_us && !solicited_node6(ip6->daddr.in6_u.u6_addr8))
		return verdict(ctx, FTOE_STEER_PASS);
	if (ip6->nexthdr != NEXTHDR_ICMPV6) {
		/* TCP, or an extension header (RFC 8200 4.1): the engine
		 * takes the one and drops and counts the others; UDP and the
		 * rest go to the kernel, as for IPv4. */
		switch (ip6->nexthdr) {
		case IPPROTO_TCP: case 0: case 43: case 44: case 50: case 51: case 60: case 135:
			return verdict(ctx, to_us ? FTOE_STEER_TCP6 : FTOE_STEER_PASS);
		default:
			return verdict(ctx, FTOE_STEER_PASS);
		}
	}
	icmp = (__u8 *)(ip6 + 1);
	if ((void *)(icmp + 24) > end) {
		if ((void *)(icmp + 1) <= end && to_us && icmp[0] == ICMPV6_ECHO_REQUEST)
			return verdict(ctx, FTOE_STEER_ICMP6);
		return verdict(ctx, FTOE_STEER_PASS);
	}
	if (icmp[0] == ICMPV6_ECHO_REQUEST && to_us)
		return verdict(ctx, FTOE_STEER_ICMP6);
	/* NS: only those asking for our address (the kernel resolves its own
	 * addresses, which may share the solicited-node group); NA: sent to us. */
	if (icmp[0] == ND_NS && addr6_eq(icmp + 8, cfg.engine_ip6))
		return verdict(ctx, FTOE_STEER_ICMP6);
	if (icmp[0] == ND_NA && to_us)
		return verdict(ctx, FTOE_STEER_ICMP6);
	return verdict(ctx, FTOE_STEER_PASS);
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
	if (proto == bpf_htons(ETH_P_IPV6))
		return steer_ipv6(ctx, l3, end);
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
