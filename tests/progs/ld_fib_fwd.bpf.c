/* ld_fib_fwd.bpf.c - loader test: an IPv4 forwarder in the style of the kernel's samples/bpf xdp_fwd and xdp-forward, asking bpf_fib_lookup for the next hop. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET
#define AF_INET 2
#endif

/*
 * As xdp_fwd does: IPv4 frames with a TTL above 1 are looked up in the
 * FIB from the ingress interface; on success the TTL goes down by one
 * (the header checksum patched, RFC 1624), the MACs come from the lookup,
 * and the frame leaves on the lookup's interface: back out of the one it
 * came in on with XDP_TX (a one-arm router, all the engine has), else
 * through the devmap.  Blackholed, unreachable and prohibited
 * destinations are dropped; everything else goes on to the stack.
 *
 * A one-arm load balancer in front of it (xdp-forward's use): when
 * fwd_cfg's vip is set, TCP to vip:port is first sent to its backend
 * (destination rewritten, both checksums patched), so frames that are the
 * engine's own can be forwarded too.  Every lookup's return code is
 * counted in fib_rc (slot 15: negative errors), and the last lookup's
 * result is kept in last_fib.
 */
struct fwd_cfg {
	__be32 vip;
	__be32 backend;
	__be16 port;
	__u16 flags;		/* bpf_fib_lookup flags */
};

/* One element, set from user space (flextoe-bpf map update fwd_cfg). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fwd_cfg);
} fwd_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} fib_rc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_fib_lookup);
} last_fib SEC(".maps");

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m and m' 16-bit words. */
static __always_inline __u16 csum_replace16(__u16 check, __u16 old, __u16 new)
{
	__u32 s = (__u16)~check + (__u16)~old + (__u32)new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline __u16 csum_replace32(__u16 check, __u32 old, __u32 new)
{
	check = csum_replace16(check, (__u16)old, (__u16)new);
	return csum_replace16(check, (__u16)(old >> 16), (__u16)(new >> 16));
}

/* TTL and protocol share a 16-bit word of the header. */
static __always_inline void ttl_dec(struct iphdr *iph)
{
	__u16 old = *(__u16 *)&iph->ttl, new;

	iph->ttl--;
	new = *(__u16 *)&iph->ttl;
	iph->check = csum_replace16(iph->check, old, new);
}

/* The load balancer's rewrite: 0 when done (or nothing to do). */
static __always_inline int to_backend(const struct fwd_cfg *cfg, struct iphdr *iph, void *end)
{
	__u16 *tcp = (void *)(iph + 1);	/* ports, then the checksum at word 8 */

	if (!cfg->vip || iph->daddr != cfg->vip || iph->protocol != IPPROTO_TCP ||
	    iph->ihl != 5)
		return 0;
	if ((void *)(tcp + 10) > end)
		return -1;
	if (tcp[1] != cfg->port)
		return 0;
	tcp[8] = csum_replace32(tcp[8], iph->daddr, cfg->backend);
	iph->check = csum_replace32(iph->check, iph->daddr, cfg->backend);
	iph->daddr = cfg->backend;
	return 0;
}

static __always_inline void count(long rc)
{
	__u32 k = rc < 0 || rc > 14 ? 15 : (__u32)rc;
	__u64 *c = bpf_map_lookup_elem(&fib_rc, &k);

	if (c)
		__sync_fetch_and_add(c, 1);
}

SEC("xdp")
int xdp_fib_fwd(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct fwd_cfg *cfg;
	__u32 zero = 0;
	long rc;

	cfg = bpf_map_lookup_elem(&fwd_cfg, &zero);
	if (!cfg || (void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (iph->ttl <= 1)
		return XDP_PASS;
	if (to_backend(cfg, iph, end))
		return XDP_PASS;
	fib.family = AF_INET;
	fib.tos = iph->tos;
	fib.l4_protocol = iph->protocol;
	fib.tot_len = bpf_ntohs(iph->tot_len);
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), cfg->flags);
	count(rc);
	bpf_map_update_elem(&last_fib, &zero, &fib, BPF_ANY);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return XDP_DROP;
	default:
		return XDP_PASS;
	}
	ttl_dec(iph);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect_map(&tx_port, fib.ifindex, 0);
}

char _license[] SEC("license") = "GPL";
