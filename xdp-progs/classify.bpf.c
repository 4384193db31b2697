/* classify.bpf.c - classifies segments by 5-tuple or local port and writes the application context and priority into flextoe_md.
 *
 * What: the segment's 5-tuple (as seen in the frame) is looked up in
 * classify_flows; failing that, (protocol, local port) in classify_ports,
 * the local port being the destination port on RX and the source port on
 * TX (flextoe_md.dir).  A hit writes md->app_ctx and md->priority, sets
 * FLEXTOE_MDF_CLASS, and a non-zero flow_group in the value overrides
 * md->flow_group.  Without flextoe_md (the kernel's XDP hook) there is
 * nowhere to write: the frame is counted (CLASSIFY_NO_MD) and passed.
 *
 * Maps (include/flextoe/classify.h): classify_flows (hash, struct
 * classify_flow_key -> struct classify_val), classify_ports (hash, struct
 * classify_port_key -> struct classify_val), classify_stats (per-CPU
 * array[CLASSIFY_STAT_MAX]).
 *
 * Verdicts: XDP_PASS always.
 *
 * Load: in FlexTOE at rx-pre or tx-post; it also loads in the kernel
 * (xdp-loader load -m skb IFACE build/xdp-progs/classify.bpf.o) where it
 * only counts.  Example: deliver TCP port 80 to application context 7,
 * priority 2:  --map-update classify_ports 06005000 0700000002000000
 */
#include "parse.h"
#include <flextoe/bpf.h>
#include <flextoe/classify.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct classify_flow_key);
	__type(value, struct classify_val);
} classify_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct classify_port_key);
	__type(value, struct classify_val);
} classify_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CLASSIFY_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} classify_stats SEC(".maps");

SEC("xdp")
int xdp_classify(struct xdp_md *ctx)
{
	struct classify_flow_key fk = {};
	struct classify_port_key pk = {};
	struct classify_val *v;
	struct flextoe_md *md;
	struct pkt p = {};

	COUNT(classify_stats, CLASSIFY_SEEN);
	md = flextoe_md_get(ctx);
	if (!md) {
		COUNT(classify_stats, CLASSIFY_NO_MD);
		return XDP_PASS;
	}
	if (parse_pkt(ctx, &p) != PARSE_OK || !p.has_ports) {
		COUNT(classify_stats, CLASSIFY_MISS);
		return XDP_PASS;
	}
	fk.family = p.family;
	fk.proto = p.proto;
	fk.sport = p.sport;
	fk.dport = p.dport;
	__builtin_memcpy(fk.saddr, p.src, 16);
	__builtin_memcpy(fk.daddr, p.dst, 16);
	v = bpf_map_lookup_elem(&classify_flows, &fk);
	if (v) {
		COUNT(classify_stats, CLASSIFY_FLOW_HIT);
	} else {
		pk.proto = p.proto;
		pk.port = md->dir == FLEXTOE_DIR_TX ? p.sport : p.dport;
		v = bpf_map_lookup_elem(&classify_ports, &pk);
		if (!v) {
			COUNT(classify_stats, CLASSIFY_MISS);
			return XDP_PASS;
		}
		COUNT(classify_stats, CLASSIFY_PORT_HIT);
	}
	/* parse_pkt made no helper call that moves the frame, so md is valid */
	md->app_ctx = v->app_ctx;
	md->priority = v->priority;
	if (v->flow_group)
		md->flow_group = v->flow_group;
	md->flags |= FLEXTOE_MDF_CLASS;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
