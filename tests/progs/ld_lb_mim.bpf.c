/* ld_lb_mim.bpf.c - compat corpus: a Katran-style L4 balancer; consistent-hash rings and connection tables are inner maps of an ARRAY_OF_MAPS and a HASH_OF_MAPS, frames leave IPIP-encapsulated by XDP_TX. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define RING_SIZE	64
#define NR_REALS	4

struct flow {
	__u32 saddr, daddr;
	__u16 sport, dport;
	__u32 proto;
};

struct real {
	__u32 ip;		/* network order */
	__u8 mac[6];
	__u16 pad;
};

/* Backends, as Katran's reals array (set before load by its loader). */
const volatile struct real reals[NR_REALS] = {
	{ .ip = 0x0a0a0a0a, .mac = { 0x02, 0, 0, 0, 0x0a, 0x01 } },
	{ .ip = 0x0b0a0a0a, .mac = { 0x02, 0, 0, 0, 0x0a, 0x02 } },
	{ .ip = 0x0c0a0a0a, .mac = { 0x02, 0, 0, 0, 0x0a, 0x03 } },
	{ .ip = 0x0d0a0a0a, .mac = { 0x02, 0, 0, 0, 0x0a, 0x04 } },
};

/* One consistent-hash ring per VIP: slot -> real index (filled from user
 * space, tests/diff/configs/ld_lb_mim.updates). */
struct ring_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} ring_a SEC(".maps"), ring_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct ring_map);
} ch_rings SEC(".maps") = {
	.values = { &ring_a, &ring_b },
};

/* Connection tables: flow -> real index, so a flow keeps its real when a
 * ring changes.  Katran keeps one LRU table per CPU; one plain hash here,
 * so the contents compare exactly with the kernel's after a run. */
struct conn_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow);
	__type(value, __u32);
} conn_0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct conn_map);
} conn_tables SEC(".maps") = {
	.values = { [0] = &conn_0 },
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_REALS + 1);	/* the last: frames without a ring */
	__type(key, __u32);
	__type(value, __u64);
} real_stats SEC(".maps");

static __always_inline __u32 flow_hash(const struct flow *f)
{
	__u32 h = f->saddr * 0x9e3779b1u;

	h ^= f->daddr + 0x7f4a7c15u + (h << 6) + (h >> 2);
	h ^= ((__u32)f->sport << 16 | f->dport) * 0x85ebca6bu;
	return h ^ (h >> 15) ^ f->proto;
}

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&real_stats, &idx);

	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline __u16 ip_csum(const __u16 *p)
{
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += p[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* A VIP is any address in 10.0.0.0/8; its ring is the destination port's
 * low bit (Katran: vip_map -> vip_num). */
SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data, *neth;
	struct iphdr *ip = data + sizeof(*eth), *outer;
	struct flow f = { 0 };
	__u32 ring_no, slot, idx, zero = 0, *v, real_ip;
	__u8 real_mac[ETH_ALEN];
	void *ring, *conns;
	__u16 *ports;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->ihl != 5 || (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP) ||
	    (ip->daddr & 0xff) != 10)
		return XDP_PASS;
	ports = (void *)(ip + 1);
	if ((void *)(ports + 2) > end)
		return XDP_PASS;
	f.saddr = ip->saddr;
	f.daddr = ip->daddr;
	f.sport = ports[0];
	f.dport = ports[1];
	f.proto = ip->protocol;

	conns = bpf_map_lookup_elem(&conn_tables, &zero);
	if (!conns)
		return XDP_ABORTED;
	v = bpf_map_lookup_elem(conns, &f);
	if (v) {
		idx = *v;
	} else {
		ring_no = bpf_ntohs(f.dport) & 1;
		ring = bpf_map_lookup_elem(&ch_rings, &ring_no);
		if (!ring) {
			count(NR_REALS);
			return XDP_DROP;
		}
		slot = flow_hash(&f) % RING_SIZE;
		v = bpf_map_lookup_elem(ring, &slot);
		if (!v)
			return XDP_ABORTED;
		idx = *v;
		bpf_map_update_elem(conns, &f, &idx, BPF_ANY);
	}
	if (idx >= NR_REALS)
		return XDP_DROP;
	real_ip = reals[idx].ip;
	__builtin_memcpy(real_mac, (const void *)reals[idx].mac, ETH_ALEN);
	count(idx);

	/* IPIP to the real, as Katran's encap_v4. */
	if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	neth = data;
	eth = data + sizeof(struct iphdr);
	outer = data + sizeof(*neth);
	ip = (void *)(outer + 1) + sizeof(*eth) - sizeof(*neth);
	if ((void *)(ip + 1) > end || (void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(neth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(neth->h_dest, real_mac, ETH_ALEN);
	neth->h_proto = bpf_htons(ETH_P_IP);
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0;
	outer->tot_len = bpf_htons(bpf_ntohs(ip->tot_len) + sizeof(struct iphdr));
	outer->id = 0;
	outer->frag_off = 0;
	outer->ttl = 64;
	outer->protocol = IPPROTO_IPIP;
	outer->saddr = f.daddr;
	outer->daddr = real_ip;
	outer->check = 0;
	outer->check = ip_csum((const __u16 *)outer);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
