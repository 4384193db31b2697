/* parse.h - bounds-checked Ethernet/VLAN/IPv4/IPv6/TCP/UDP parsing shared by the shipped XDP programs.
 *
 * Every access is checked against data_end before it is made, as the
 * kernel verifier requires (check_packet_access); loops are bounded so the
 * verifier can unroll them.  Results are host order except addresses.
 */
#ifndef FTOE_XDP_PARSE_H
#define FTOE_XDP_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

#define PARSE_MAX_VLANS		2	/* 802.1ad outer + 802.1Q inner (QinQ) */
#define PARSE_MAX_EXTHDRS	6	/* IPv6 extension headers walked */
#define PARSE_MAX_L4_OFF	0x3fff	/* L4 header offset bound for the verifier */

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IP = 1,	/* valid frame, not IPv4/IPv6 (ARP, LLDP, ...) */
	PARSE_MALFORMED = 2,	/* truncated or inconsistent header */
};

struct vlan_hdr {
	__be16 tci;
	__be16 inner_proto;
};

struct pkt {
	void *data;
	void *end;
	struct ethhdr *eth;
	void *l3;		/* IP header */
	__u32 l3_off;		/* its offset from data */
	void *l4;		/* TCP/UDP header (PARSE_OK and ports valid) */
	__u32 l3_end;		/* offset of the end of the IP datagram (from the IP length) */
	__u32 l4_off;		/* offset of the L4 header from data */
	__u16 h_proto;		/* ethertype after the VLAN tags, network order */
	__u16 vlan_id[PARSE_MAX_VLANS];	/* outermost first */
	__u8 nr_vlans;
	__u8 family;		/* 4 or 6 */
	__u8 proto;		/* IPPROTO_* of the L4 header */
	__u8 frag_later;	/* IPv4/IPv6 fragment other than the first: no L4 header */
	__u8 has_ports;		/* TCP or UDP header present */
	__u8 pad[3];
	__u16 sport;		/* host order */
	__u16 dport;
	__u8 src[16];		/* IPv4 in the first 4 bytes, rest zero */
	__u8 dst[16];
};

static __always_inline int parse_eth(struct xdp_md *ctx, struct pkt *p)
{
	struct vlan_hdr *vh;
	void *cur;
	int i;

	p->data = (void *)(long)ctx->data;
	p->end = (void *)(long)ctx->data_end;
	p->eth = p->data;
	if ((void *)(p->eth + 1) > p->end)
		return PARSE_MALFORMED;
	p->h_proto = p->eth->h_proto;
	cur = p->eth + 1;
#pragma unroll
	for (i = 0; i < PARSE_MAX_VLANS; i++) {
		if (p->h_proto != bpf_htons(ETH_P_8021Q) && p->h_proto != bpf_htons(ETH_P_8021AD))
			break;
		vh = cur;
		if ((void *)(vh + 1) > p->end)
			return PARSE_MALFORMED;
		p->vlan_id[i] = bpf_ntohs(vh->tci) & 0x0fff;
		p->nr_vlans = i + 1;
		p->h_proto = vh->inner_proto;
		cur = vh + 1;
	}
	p->l3 = cur;
	p->l3_off = sizeof(struct ethhdr) + p->nr_vlans * sizeof(struct vlan_hdr);
	return PARSE_OK;
}

static __always_inline int parse_ipv4(struct pkt *p)
{
	struct iphdr *ip = p->l3;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > p->end)
		return PARSE_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return PARSE_MALFORMED;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen)
		return PARSE_MALFORMED;
	p->family = 4;
	p->proto = ip->protocol;
	__builtin_memcpy(p->src, &ip->saddr, 4);
	__builtin_memcpy(p->dst, &ip->daddr, 4);
	/* RFC 791: fragment offset in 8-byte units; non-zero means no L4 header */
	p->frag_later = (bpf_ntohs(ip->frag_off) & 0x1fff) != 0;
	/* Offsets are computed as scalars, not by subtracting packet
	 * pointers: 32-bit pointer arithmetic leaves the verifier an
	 * unbounded scalar it will not add to a packet pointer. */
	p->l4_off = p->l3_off + hlen;
	p->l3_end = p->l3_off + tot;
	return PARSE_OK;
}

/* RFC 8200 section 4 extension headers (and AH, RFC 4302, which has the
 * same next-header/length prefix) that sit between IPv6 and the upper
 * layer.  ESP (50) and No Next Header (59) end the walk: nothing after
 * them can be read. */
static __always_inline int parse_is_exthdr(__u8 nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT ||
	       nexthdr == IPPROTO_AH;
}

static __always_inline int parse_ipv6(struct pkt *p)
{
	struct ipv6hdr *ip6 = p->l3;
	__u32 off;
	__u8 nexthdr;
	int i;

	if ((void *)(ip6 + 1) > p->end)
		return PARSE_MALFORMED;
	if (ip6->version != 6)
		return PARSE_MALFORMED;
	p->family = 6;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	p->l3_end = p->l3_off + sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	nexthdr = ip6->nexthdr;
	off = p->l3_off + sizeof(*ip6);
	/* RFC 8200 section 4: walk the extension headers to the upper layer,
	 * at most PARSE_MAX_EXTHDRS of them (an unrolled, bounded loop) */
#pragma unroll
	for (i = 0; i < PARSE_MAX_EXTHDRS; i++) {
		__u8 *eh, hdr = nexthdr;

		if (!parse_is_exthdr(hdr))
			break;
		if (off > PARSE_MAX_L4_OFF)
			return PARSE_MALFORMED;
		eh = p->data + off;
		if ((void *)(eh + 8) > p->end)
			return PARSE_MALFORMED;
		nexthdr = eh[0];
		if (hdr == IPPROTO_FRAGMENT) {
			off += 8;
			/* offset in the upper 13 bits of bytes 2..3; a later
			 * fragment holds payload, not headers: stop here */
			if ((((__u16)eh[2] << 8 | eh[3]) & 0xfff8) != 0) {
				p->frag_later = 1;
				break;
			}
		} else if (hdr == IPPROTO_AH) {
			off += ((__u32)eh[1] + 2) * 4;	/* RFC 4302: 4-octet units, minus 2 */
		} else {
			off += ((__u32)eh[1] + 1) * 8;	/* RFC 8200: 8-octet units, minus 1 */
		}
	}
	/* A chain longer than the walk hides the upper layer: taken as a
	 * protocol without ports, a TCP segment behind it would slip past
	 * every port rule.  RFC 8200 section 4.1 and RFC 9098 let a middle
	 * box drop such chains. */
	if (!p->frag_later && parse_is_exthdr(nexthdr))
		return PARSE_MALFORMED;
	p->l4_off = off;
	p->proto = nexthdr;
	return PARSE_OK;
}

/* Ports of TCP/UDP (has_ports); a truncated TCP/UDP header is malformed,
 * except in a non-first fragment, which has none. */
static __always_inline int parse_l4(struct pkt *p)
{
	void *l4;

	if (p->frag_later || (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP))
		return PARSE_OK;
	/* The verifier keeps a range for a variable-offset packet pointer
	 * only when offset + access stay within MAX_PACKET_OFF (0xffff,
	 * find_good_pkt_pointers); headers end far below 16 KiB. */
	if (p->l4_off > PARSE_MAX_L4_OFF)
		return PARSE_MALFORMED;
	l4 = p->data + (p->l4_off & PARSE_MAX_L4_OFF);
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > p->end)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
	} else {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > p->end)
			return PARSE_MALFORMED;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
	}
	p->l4 = l4;
	p->has_ports = 1;
	return PARSE_OK;
}

/* Ethernet, VLANs, IP, L4 ports in one go. */
static __always_inline int parse_pkt(struct xdp_md *ctx, struct pkt *p)
{
	int r = parse_eth(ctx, p);

	if (r != PARSE_OK)
		return r;
	if (p->h_proto == bpf_htons(ETH_P_IP))
		r = parse_ipv4(p);
	else if (p->h_proto == bpf_htons(ETH_P_IPV6))
		r = parse_ipv6(p);
	else
		return PARSE_NOT_IP;
	if (r != PARSE_OK)
		return r;
	return parse_l4(p);
}

/* Count one event in a per-CPU __u64 array. */
#define COUNT(map, idx) do {						\
		__u32 __k = (idx);					\
		__u64 *__c = bpf_map_lookup_elem(&(map), &__k);		\
		if (__c)						\
			*__c += 1;					\
	} while (0)

#endif /* FTOE_XDP_PARSE_H */
