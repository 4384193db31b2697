/* filter.h - the filter XDP program, compiled to filter_allow/filter_deny by FILTER_MODE_ALLOW.
 *
 * One source for both variants, as xdp-tools builds xdp-filter's
 * variants from one header with #defines.  Map layouts and value bits are
 * in include/flextoe/filter.h.
 */
#ifndef FTOE_XDP_FILTER_H
#define FTOE_XDP_FILTER_H

#include "parse.h"
#include <flextoe/filter.h>

#ifndef FILTER_MODE_ALLOW
#error "define FILTER_MODE_ALLOW to 0 (deny listed) or 1 (allow only listed)"
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} filter_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FILTER_MAX_ADDRS);
	__type(key, __u32);		/* 4 address bytes, network order */
	__type(value, __u32);
} filter_ipv4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FILTER_MAX_ADDRS);
	__uint(key_size, 16);
	__type(value, __u32);
} filter_ipv6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FILTER_MAX_ADDRS);
	__uint(key_size, 6);
	__type(value, __u32);
} filter_ethernet SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_REDIRECT + 1);
	__type(key, __u32);
	__type(value, __u64);
} filter_stats SEC(".maps");

/* Does the entry for key in map apply on this side (FILTER_SRC/DST)? */
static __always_inline int filter_hit(void *map, const void *key, __u32 side)
{
	__u32 *flags = bpf_map_lookup_elem(map, key);

	return flags && (*flags & side);
}

static __always_inline int filter_port_hit(__u16 port, __u32 side, __u32 proto_bit)
{
	__u32 key = port;
	__u32 *flags = bpf_map_lookup_elem(&filter_ports, &key);

	return flags && (*flags & side) && (*flags & proto_bit);
}

static __always_inline int filter_match(struct xdp_md *ctx)
{
	struct pkt p = {};
	__u32 proto_bit;
	int r;

	r = parse_pkt(ctx, &p);
	if ((void *)(p.eth + 1) > p.end)	/* shorter than an Ethernet header */
		return 0;
	if (filter_hit(&filter_ethernet, p.eth->h_source, FILTER_SRC) ||
	    filter_hit(&filter_ethernet, p.eth->h_dest, FILTER_DST))
		return 1;
	/* family is set once the addresses were read, even if a later
	 * header turned out truncated */
	if (p.family == 4) {
		if (filter_hit(&filter_ipv4, p.src, FILTER_SRC) ||
		    filter_hit(&filter_ipv4, p.dst, FILTER_DST))
			return 1;
	} else if (p.family == 6) {
		if (filter_hit(&filter_ipv6, p.src, FILTER_SRC) ||
		    filter_hit(&filter_ipv6, p.dst, FILTER_DST))
			return 1;
	}
	if (r != PARSE_OK || !p.has_ports)
		return 0;
	proto_bit = p.proto == IPPROTO_TCP ? FILTER_TCP : FILTER_UDP;
	return filter_port_hit(p.sport, FILTER_SRC, proto_bit) ||
	       filter_port_hit(p.dport, FILTER_DST, proto_bit);
}

SEC("xdp")
int xdp_filter(struct xdp_md *ctx)
{
	int match = filter_match(ctx);
	__u32 act;

	/* deny mode drops what matches; allow mode drops what does not */
	act = (match == FILTER_MODE_ALLOW) ? XDP_PASS : XDP_DROP;
	COUNT(filter_stats, act);
	return act;
}

char LICENSE[] SEC("license") = "GPL";

#endif /* FTOE_XDP_FILTER_H */
