/* ld_synproxy.bpf.c - loader test: a SYN proxy in the style of xdp-tools' and the kernel selftests' xdp_synproxy, answering SYNs with raw SYN cookies in XDP. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * As xdp_synproxy does: a SYN to a protected port is answered from XDP
 * with a SYN-ACK whose sequence number is a SYN cookie
 * (bpf_tcp_raw_gen_syncookie_ipv4), sent back with XDP_TX; the ACK that
 * completes it is checked (bpf_tcp_raw_check_syncookie_ipv4) and passed
 * on, others for a new connection dropped.  So a SYN flood never reaches
 * the stack behind the program, and the stack learns of a connection
 * from its cookie ACK (the engine accepts ACKs of its own cookies, which
 * are the ones the helpers make inside it).
 *
 * Which segments belong to connections already through: the original asks
 * conntrack (bpf_xdp_ct_lookup, bpf_ct_release; built with SYNPROXY_CT,
 * ld_synproxy_ct.bpf.c), which the engine does not have - its loader
 * refuses that build naming the kfunc.  This build keeps its own table of
 * the connections whose cookie ACK it passed (an LRU hash), as a
 * conntrack stand-in.  Counters: stats[0] SYN-ACKs sent, [1] cookie ACKs
 * passed, [2] segments of known connections passed, [3] dropped.
 */
struct synproxy_cfg {
	__be16 port;		/* protected port (0: every port) */
	__u16 win;		/* the SYN-ACK's window (0: 64240) */
};

/* One element, set from user space (flextoe-bpf map update synproxy_cfg). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synproxy_cfg);
} synproxy_cfg SEC(".maps");

struct flow_key {
	__be32 saddr, daddr;
	__be16 sport, dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, __u64);
} passed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

#ifdef SYNPROXY_CT
struct nf_conn;
struct bpf_ct_opts {
	__s32 netns_id;
	__s32 error;
	__u8 l4proto;
	__u8 dir;
	__u8 reserved[2];
};
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32,
					 struct bpf_ct_opts *, __u32) __ksym;
extern void bpf_ct_release(struct nf_conn *) __ksym;
#endif

#define SYNACK_LEN	(sizeof(struct ethhdr) + sizeof(struct iphdr) + 24)

static __always_inline void count(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&stats, &k);

	if (c)
		__sync_fetch_and_add(c, 1);
}

static __always_inline __u16 fold(__s64 csum)
{
	__u64 s = (__u64)csum;

	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

static __always_inline int known(struct xdp_md *ctx, struct flow_key *k)
{
#ifdef SYNPROXY_CT
	struct bpf_sock_tuple t = {};
	struct bpf_ct_opts o = { .netns_id = -1, .l4proto = IPPROTO_TCP };
	struct nf_conn *ct;

	t.ipv4.saddr = k->saddr;
	t.ipv4.daddr = k->daddr;
	t.ipv4.sport = k->sport;
	t.ipv4.dport = k->dport;
	ct = bpf_xdp_ct_lookup(ctx, &t, sizeof(t.ipv4), &o, sizeof(o));
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
#else
	(void)ctx;
	return bpf_map_lookup_elem(&passed, k) != NULL;
#endif
}

/* Turn the SYN into its SYN-ACK in place: 58 bytes, an MSS option. */
static __always_inline int syn_ack(struct xdp_md *ctx, __u32 cookie, __u16 mss, __u16 win)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct tcphdr *th = (void *)(iph + 1);
	__u8 mac[ETH_ALEN];
	__be32 a;
	__be16 p;
	__u32 seq;
	struct {
		__be32 s, d;
		__u8 zero, proto;
		__be16 len;
	} ph;
	__s64 cs;

	if ((void *)(th + 1) > end)
		return XDP_DROP;
	seq = bpf_ntohl(th->seq);
	if (bpf_xdp_adjust_tail(ctx, (int)SYNACK_LEN - (int)((long)end - (long)data)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	iph = (void *)(eth + 1);
	th = (void *)(iph + 1);
	if ((void *)th + 24 > end)
		return XDP_DROP;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	a = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = a;
	iph->tot_len = bpf_htons(sizeof(*iph) + 24);
	iph->id = 0;
	iph->frag_off = bpf_htons(0x4000);	/* DF */
	iph->ttl = 64;
	iph->tos = 0;
	iph->check = 0;
	iph->check = fold(bpf_csum_diff(0, 0, (void *)iph, sizeof(*iph), 0));
	p = th->source;
	th->source = th->dest;
	th->dest = p;
	th->seq = bpf_htonl(cookie);
	th->ack_seq = bpf_htonl(seq + 1);
	*((__u8 *)th + 12) = 6 << 4;		/* doff 6, no reserved bits */
	*((__u8 *)th + 13) = 0x12;		/* SYN, ACK */
	th->window = bpf_htons(win ? win : 64240);
	th->urg_ptr = 0;
	th->check = 0;
	*(__be32 *)(th + 1) = bpf_htonl(2 << 24 | 4 << 16 | mss);	/* MSS */
	ph.s = iph->saddr;
	ph.d = iph->daddr;
	ph.zero = 0;
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(24);
	cs = bpf_csum_diff(0, 0, (void *)&ph, sizeof(ph), 0);
	if (cs < 0)
		return XDP_DROP;
	cs = bpf_csum_diff(0, 0, (void *)th, 24, (__u32)cs);
	th->check = fold(cs);
	count(0);
	return XDP_TX;
}

SEC("xdp")
int xdp_synproxy(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct tcphdr *th = (void *)(iph + 1);
	struct synproxy_cfg *cfg;
	struct flow_key k;
	__u32 th_len, zero = 0;
	__s64 r;

	cfg = bpf_map_lookup_elem(&synproxy_cfg, &zero);
	if (!cfg || (void *)(th + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    iph->protocol != IPPROTO_TCP || iph->ihl != 5)
		return XDP_PASS;
	if (cfg->port && th->dest != cfg->port)
		return XDP_PASS;
	if (th->rst)
		return XDP_PASS;
	k.saddr = iph->saddr;
	k.daddr = iph->daddr;
	k.sport = th->source;
	k.dport = th->dest;
	if (th->syn && !th->ack) {
		__u8 hdr[60] = {};

		/* The helper reads th_len bytes; the verifier wants them
		 * provably there, so the header is copied to the stack. */
		th_len = th->doff * 4;
		if (th_len < sizeof(*th) || th_len > 60 ||
		    bpf_xdp_load_bytes(ctx, sizeof(*eth) + sizeof(*iph), hdr, th_len))
			return XDP_DROP;
		r = bpf_tcp_raw_gen_syncookie_ipv4(iph, (struct tcphdr *)hdr, th_len);
		if (r < 0)
			return XDP_DROP;
		return syn_ack(ctx, (__u32)r, (__u16)(r >> 32), cfg->win);
	}
	if (known(ctx, &k)) {
		count(2);
		return XDP_PASS;
	}
	if (th->ack && !th->syn && !bpf_tcp_raw_check_syncookie_ipv4(iph, th)) {
		__u64 one = 1;

		bpf_map_update_elem(&passed, &k, &one, BPF_ANY);
		count(1);
		return XDP_PASS;
	}
	count(3);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
