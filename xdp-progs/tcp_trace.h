/* tcp_trace.h - the tcp_trace XDP program; TRACE_KTIME selects the kernel-time fallback variant.
 *
 * tcp_trace.bpf.c (TRACE_KTIME 0) stamps records with flextoe_md's
 * timestamp only (0 without metadata), so it is deterministic and the
 * differential tests cover it; tcp_trace_ktime.bpf.c (TRACE_KTIME 1)
 * falls back to bpf_ktime_get_ns() for the kernel's XDP hook.
 */
#ifndef FTOE_XDP_TCP_TRACE_H
#define FTOE_XDP_TCP_TRACE_H

#include "parse.h"
#include <flextoe/bpf.h>
#include <flextoe/trace.h>

#ifndef TRACE_KTIME
#error "define TRACE_KTIME to 0 or 1"
#endif

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} trace_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flextoe_trace_cfg);
} trace_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLEXTOE_TRACE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} trace_stats SEC(".maps");

static __always_inline int trace_addr_eq(const __u8 *a, const __u8 *b, __u8 family)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;

	if (family == 4)
		return x[0] == y[0];
	return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3];
}

/* Does the configured filter skip this segment? */
static __always_inline int trace_filtered(const struct flextoe_trace_cfg *cfg, const struct pkt *p)
{
	if ((cfg->flags & FLEXTOE_TRACE_CFG_PORT) && p->sport != cfg->port && p->dport != cfg->port)
		return 1;
	if (cfg->flags & FLEXTOE_TRACE_CFG_ADDR) {
		if (cfg->family != p->family)
			return 1;
		if (!trace_addr_eq(p->src, cfg->addr, p->family) &&
		    !trace_addr_eq(p->dst, cfg->addr, p->family))
			return 1;
	}
	return 0;
}

SEC("xdp")
int xdp_tcp_trace(struct xdp_md *ctx)
{
	struct flextoe_trace_rec *rec;
	struct flextoe_trace_cfg *cfg;
	struct flextoe_md *md;
	struct tcphdr *th;
	struct pkt p = {};
	__u32 zero = 0, snap, pkt_len, hdrs;

	COUNT(trace_stats, FLEXTOE_TRACE_SEEN);
	if (parse_pkt(ctx, &p) != PARSE_OK || p.proto != IPPROTO_TCP || !p.has_ports)
		return XDP_PASS;
	th = p.l4;
	if (!th || (void *)(th + 1) > p.end)
		return XDP_PASS;
	COUNT(trace_stats, FLEXTOE_TRACE_TCP);
	cfg = bpf_map_lookup_elem(&trace_cfg, &zero);
	if (cfg && trace_filtered(cfg, &p)) {
		COUNT(trace_stats, FLEXTOE_TRACE_FILTERED);
		return XDP_PASS;
	}
	rec = bpf_ringbuf_reserve(&trace_events, sizeof(*rec), 0);
	if (!rec) {
		COUNT(trace_stats, FLEXTOE_TRACE_LOST);
		return XDP_PASS;
	}
	md = flextoe_md_get(ctx);
	pkt_len = (__u32)(p.end - p.data);

	rec->size = sizeof(*rec);
	rec->version = FLEXTOE_TRACE_VERSION;
	rec->family = p.family;
	rec->tcp_flags = ((__u8 *)th)[13];	/* RFC 9293 section 3.1: the flags byte */
	rec->pad0 = 0;
	rec->flags = p.nr_vlans ? FLEXTOE_TRF_VLAN : 0;
	__builtin_memcpy(rec->saddr, p.src, 16);
	__builtin_memcpy(rec->daddr, p.dst, 16);
	rec->sport = p.sport;
	rec->dport = p.dport;
	rec->seq = bpf_ntohl(th->seq);
	rec->ack = bpf_ntohl(th->ack_seq);
	rec->win = bpf_ntohs(th->window);
	/* payload = IP datagram end - TCP header end (data offset, 32-bit words) */
	hdrs = p.l4_off + th->doff * 4;
	rec->len = p.l3_end > hdrs ? p.l3_end - hdrs : 0;
	rec->pkt_len = pkt_len;
	if (md) {
		rec->flags |= FLEXTOE_TRF_MD;
		if (md->flags & FLEXTOE_MDF_RETRANSMIT)
			rec->flags |= FLEXTOE_TRF_RETRANSMIT;
		if (md->flags & FLEXTOE_MDF_OOO)
			rec->flags |= FLEXTOE_TRF_OOO;
		if (md->flags & FLEXTOE_MDF_DUPACK)
			rec->flags |= FLEXTOE_TRF_DUPACK;
		if (md->flags & FLEXTOE_MDF_RATE)
			rec->flags |= FLEXTOE_TRF_RATE;
		rec->dir = md->dir;
		rec->hook = md->hook;
		rec->tstamp_ns = md->tstamp_ns;
		rec->flow_id = md->flow_id;
		rec->snd_una = md->snd_una;
		rec->snd_nxt = md->snd_nxt;
		rec->cwnd = md->cwnd;
		rec->srtt_us = md->srtt_us;
	} else {
		rec->dir = FLEXTOE_DIR_RX;
		rec->hook = FLEXTOE_HOOK_NONE;
		rec->tstamp_ns = TRACE_KTIME ? bpf_ktime_get_ns() : 0;
		rec->flow_id = 0;
		rec->snd_una = 0;
		rec->snd_nxt = 0;
		rec->cwnd = 0;
		rec->srtt_us = 0;
	}
	snap = cfg && cfg->snaplen ? cfg->snaplen : FLEXTOE_TRACE_SNAP;
	if (snap > FLEXTOE_TRACE_SNAP)
		snap = FLEXTOE_TRACE_SNAP;
	if (snap > pkt_len)
		snap = pkt_len;
	/* the helper wants a length the verifier can prove is >= 1; a TCP
	 * segment is longer than an Ethernet header */
	if (snap < sizeof(struct ethhdr))
		snap = sizeof(struct ethhdr);
	rec->snap_len = snap;
	if (bpf_xdp_load_bytes(ctx, 0, rec->snap, snap))
		rec->snap_len = 0;
	bpf_ringbuf_submit(rec, 0);
	COUNT(trace_stats, FLEXTOE_TRACE_EMITTED);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

#endif /* FTOE_XDP_TCP_TRACE_H */
