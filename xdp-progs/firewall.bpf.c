/* firewall.bpf.c - ordered 5-tuple firewall: CIDR, port ranges, protocol, first match wins, two swappable rule generations.
 *
 * What: for each IPv4/IPv6 frame (up to two VLAN tags), the first rule of
 * the active rule set that matches protocol, source/destination prefix and
 * port ranges decides ALLOW (XDP_PASS) or DENY (XDP_DROP); no match
 * applies the set's default policy.  Frames that are not IP pass (ARP must
 * work); truncated IP/TCP/UDP headers, and IPv6 extension-header chains
 * longer than parse.h walks (6), are dropped.  IPv4 and IPv6 fragments
 * after the first have no ports (port 0).
 *
 * Rules are compiled by loader/fw (build/bin/flextoe-fw) into the maps
 * below; the matching scheme (merged tuple space search: a few hash
 * tables of short rule lists, first match by lowest rule index,
 * generations) is in include/flextoe/firewall.h and docs/firewall.md.
 *
 * Maps:
 *   fw_active    array[1]  u32: the active generation (0 or 1)
 *   fw_gens      array[2]  struct fw_gen: tuple count, rule count, policy
 *   fw_tuples    array[2 * FW_MAX_TUPLES] struct fw_tuple: table masks, sorted
 *   fw_rules     hash      struct fw_key -> struct fw_bucket (candidate rules)
 *   fw_defs      array[2 * FW_MAX_RULES] struct fw_rule_def: each rule in full
 *   fw_counters  per-CPU array: hits per rule and of the default policy
 *   fw_stats     per-CPU array[FW_STAT_MAX]: packets, non-IP, malformed, allowed, denied
 *
 * Verdicts: XDP_PASS (allow, non-IP), XDP_DROP (deny, malformed).
 *
 * Load: flextoe-fw compile RULES --print-updates lists the map updates;
 * in the kernel: xdp-loader load -m skb IFACE build/xdp-progs/firewall.bpf.o
 * (then write the maps with bpftool); in FlexTOE: at the rx-pre hook.
 * An unconfigured firewall (all maps zero) allows everything.
 */
#include "parse.h"
#include <flextoe/firewall.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fw_active SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_GENERATIONS);
	__type(key, __u32);
	__type(value, struct fw_gen);
} fw_gens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_GENERATIONS * FW_MAX_TUPLES);
	__type(key, __u32);
	__type(value, struct fw_tuple);
} fw_tuples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* sized for 100,000+ rules, filled lazily */
	__uint(max_entries, FW_MAX_ENTRIES);
	__type(key, struct fw_key);
	__type(value, struct fw_bucket);
} fw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_GENERATIONS * FW_MAX_RULES);
	__type(key, __u32);
	__type(value, struct fw_rule_def);
} fw_defs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_GENERATIONS * FW_COUNTER_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} fw_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} fw_stats SEC(".maps");

struct fw_search {
	struct fw_fields pkt;	/* the packet's fields, unmasked */
	struct fw_key key;	/* scratch: masked key */
	__u32 gen;
	__u32 best;		/* lowest matching rule index so far */
	__u32 action;
};

static __always_inline int fw_def_matches(const struct fw_rule_def *d, const struct fw_fields *p)
{
	const __u32 *ps = (const __u32 *)p->src, *pd = (const __u32 *)p->dst;
	const __u32 *ds = (const __u32 *)d->src, *dm = (const __u32 *)d->src_mask;
	const __u32 *dd = (const __u32 *)d->dst, *dn = (const __u32 *)d->dst_mask;
	__u32 w;

	if ((d->family && d->family != p->family) || (d->proto && d->proto != p->proto))
		return 0;
	if (p->sport < d->sport_lo || p->sport > d->sport_hi ||
	    p->dport < d->dport_lo || p->dport > d->dport_hi)
		return 0;
	for (w = 0; w < 4; w++)
		if ((ps[w] & dm[w]) != ds[w] || (pd[w] & dn[w]) != dd[w])
			return 0;
	return 1;
}

/* One table: mask the packet fields, probe fw_rules, check the bucket's
 * candidates (ascending) until one matches or cannot beat the best.
 * Tables come sorted by their lowest rule index, so once that is not
 * below the best match no later table can win and the walk stops
 * (returns 1 to bpf_loop). */
static long fw_probe(__u32 i, void *arg)
{
	struct fw_search *s = arg;
	struct fw_rule_def *d;
	struct fw_bucket *b;
	struct fw_tuple *t;
	__u32 slot, w, j, r, idx;

	slot = s->gen * FW_MAX_TUPLES + (i & (FW_MAX_TUPLES - 1));
	t = bpf_map_lookup_elem(&fw_tuples, &slot);
	if (!t || t->min_rule >= s->best)
		return 1;
	s->key.tuple = s->gen * FW_MAX_TUPLES + (t->id & (FW_MAX_TUPLES - 1));
	s->key.f.family = s->pkt.family & t->mask.family;
	s->key.f.proto = s->pkt.proto & t->mask.proto;
	s->key.f.sport = s->pkt.sport & t->mask.sport;
	s->key.f.dport = s->pkt.dport & t->mask.dport;
	s->key.f.pad = 0;
	for (w = 0; w < 4; w++) {
		((__u32 *)s->key.f.src)[w] = ((__u32 *)s->pkt.src)[w] & ((__u32 *)t->mask.src)[w];
		((__u32 *)s->key.f.dst)[w] = ((__u32 *)s->pkt.dst)[w] & ((__u32 *)t->mask.dst)[w];
	}
	b = bpf_map_lookup_elem(&fw_rules, &s->key);
	if (!b)
		return 0;
	for (j = 0; j < FW_BUCKET_RULES; j++) {
		if (j >= b->nr)
			break;
		r = b->rule[j];
		if (r >= s->best)
			break;
		idx = s->gen * FW_MAX_RULES + (r & (FW_MAX_RULES - 1));
		d = bpf_map_lookup_elem(&fw_defs, &idx);
		if (d && fw_def_matches(d, &s->pkt)) {
			s->best = r;
			s->action = d->action;
			break;
		}
	}
	return 0;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	struct fw_search s = {};
	struct pkt p = {};
	struct fw_gen *g;
	__u32 zero = 0, *active, idx;
	__u64 *cnt;
	int r;

	COUNT(fw_stats, FW_STAT_PACKETS);
	r = parse_pkt(ctx, &p);
	if (r == PARSE_NOT_IP) {
		COUNT(fw_stats, FW_STAT_NON_IP);
		return XDP_PASS;
	}
	if (r != PARSE_OK) {
		COUNT(fw_stats, FW_STAT_MALFORMED);
		return XDP_DROP;
	}
	active = bpf_map_lookup_elem(&fw_active, &zero);
	if (!active)
		return XDP_ABORTED;
	s.gen = *active & 1;
	g = bpf_map_lookup_elem(&fw_gens, &s.gen);
	if (!g)
		return XDP_ABORTED;

	s.pkt.family = p.family;
	s.pkt.proto = p.proto;
	s.pkt.sport = p.sport;
	s.pkt.dport = p.dport;
	__builtin_memcpy(s.pkt.src, p.src, 16);
	__builtin_memcpy(s.pkt.dst, p.dst, 16);
	s.best = FW_MAX_RULES;		/* "no rule": the default counter slot */
	s.action = g->policy;
	if (g->nr_tuples)
		bpf_loop(g->nr_tuples > FW_MAX_TUPLES ? FW_MAX_TUPLES : g->nr_tuples,
			 fw_probe, &s, 0);

	idx = FW_COUNTER_IDX(s.gen, s.best > FW_MAX_RULES ? FW_MAX_RULES : s.best);
	cnt = bpf_map_lookup_elem(&fw_counters, &idx);
	if (cnt)
		*cnt += 1;
	if (s.action == FW_ACT_DENY) {
		COUNT(fw_stats, FW_STAT_DENIED);
		return XDP_DROP;
	}
	COUNT(fw_stats, FW_STAT_ALLOWED);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
