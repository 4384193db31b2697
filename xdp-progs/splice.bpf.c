/* splice.bpf.c - relays the segments of two spliced TCP connections with rewritten headers via XDP_TX, and tears the splice down on FIN/RST (AccelTCP-style).
 *
 * What: an IPv4 TCP segment whose 4-tuple is a key of splice_flows
 * belongs to a connection the engine has spliced to another one
 * (ftoe_splice(), docs/api.md).  The entry says how to make it a segment
 * of the other connection (include/flextoe/splice.h): new MACs, addresses
 * and ports; seq, ack and SACK edges moved by offsets; TSval/TSecr moved
 * into the other connection's clocks (RFC 7323 PAWS); the window field
 * rescaled between the two window-scale shifts; ECT/CE, ECE and CWR
 * cleared when the other connection did not negotiate ECN.  IP and TCP
 * checksums are updated incrementally (RFC 1624), never recomputed: a
 * segment that arrived corrupt leaves corrupt and the receiver drops it.
 *
 * Teardown: a FIN is relayed and its end recorded (state FIN, fin_seq in
 * the outgoing sequence space); an ACK from the other side that covers it
 * marks it FIN_ACKED; when both directions' FINs are acknowledged, the
 * segment carrying the last ACK is relayed and both entries are deleted.
 * A RST is relayed and both entries are deleted at once.  The engine sees
 * the entries disappear and releases its two connections.
 *
 * Maps: splice_flows (hash, struct splice_key -> struct splice_entry; the
 * engine writes it), splice_ends (LRU hash, struct splice_key -> struct
 * splice_end: the entry's final state and counters, written at teardown
 * so the engine can tell a FIN/FIN close from a RST and report what was
 * relayed), splice_stats (per-CPU array[SPLICE_STAT_MAX]).
 *
 * Verdicts: XDP_TX for a relayed segment; XDP_PASS for everything else
 * (the engine's own connections, ARP, ...); XDP_DROP for a segment of a
 * spliced connection it cannot rewrite (IP options, truncated).
 *
 * Load: FlexTOE at rx-pre (flextoe-bpf load --hook rx-pre
 * build/xdp-progs/splice.bpf.o); the engine finds splice_flows among the
 * rx-pre programs when an application calls ftoe_splice().  It loads in
 * the kernel too (xdp-loader load -m skb IFACE splice.bpf.o), where
 * entries written with bpftool make it a stateless TCP splicer.
 */
#include "parse.h"
#include <flextoe/bpf.h>
#include <flextoe/splice.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPLICE_MAX_FLOWS);
	__type(key, struct splice_key);
	__type(value, struct splice_entry);
} splice_flows SEC(".maps");

/* How splices ended, for the engine to tell the application (it deletes
 * what it read; LRU so that nobody's leftovers can fill it). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SPLICE_MAX_FLOWS);
	__type(key, struct splice_key);
	__type(value, struct splice_end);
} splice_ends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SPLICE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} splice_stats SEC(".maps");

#define TCP_OPT_EOL	0
#define TCP_OPT_NOP	1
#define TCP_OPT_SACK	5
#define TCP_OPT_TS	8
#define TCP_OPT_MAX	40	/* option bytes at most (doff 15) */

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&splice_stats, &idx);

	if (c)
		*c += n;
}

/* Is seq a at or after b (RFC 9293 3.4: modulo 2^32)? */
static __always_inline int seq_geq(__u32 a, __u32 b)
{
	return (__s32)(a - b) >= 0;
}

/* Rewrite the 32-bit header field at p (packet memory) to host-order
 * value v, keeping the TCP checksum sum up to date. */
static __always_inline __u32 put32(__u8 *p, __u32 v, __u32 sum)
{
	__u32 old_v, new_v = bpf_htonl(v);

	__builtin_memcpy(&old_v, p, 4);
	__builtin_memcpy(p, &new_v, 4);
	return splice_csum_upd32(sum, old_v, new_v);
}

static __always_inline __u32 get32(const __u8 *p)
{
	__u32 v;

	__builtin_memcpy(&v, p, 4);
	return bpf_ntohl(v);
}

static __always_inline void set32(__u8 *p, __u32 v)
{
	v = bpf_htonl(v);
	__builtin_memcpy(p, &v, 4);
}

/* The TCP options, copied to the stack and walked one option per
 * bpf_loop step: the verifier checks the step once, where an inline
 * loop over up to 40 option bytes has too many paths for it. */
struct opt_walk {
	__u8 buf[TCP_OPT_MAX];	/* the options, zero padded */
	__u32 off;		/* next option */
	__u32 len;		/* option bytes */
	__u32 tsval_off, tsecr_off, ack_off;
	__u32 flags;		/* SPLICE_F_* */
};

static long opt_step(__u32 idx, void *ctx)
{
	struct opt_walk *w = ctx;
	__u32 off = w->off, len;
	__u8 kind;
	int b;

	(void)idx;
	if (off >= w->len || off >= TCP_OPT_MAX - 1)
		return 1;
	kind = w->buf[off];
	if (kind == TCP_OPT_EOL)
		return 1;
	if (kind == TCP_OPT_NOP) {
		w->off = off + 1;
		return 0;
	}
	len = w->buf[off + 1];
	if (len < 2 || off + len > w->len)
		return 1;
	if (kind == TCP_OPT_TS && len == 10 && (w->flags & SPLICE_F_TS) &&
	    off <= TCP_OPT_MAX - 10) {
		set32(&w->buf[off + 2], get32(&w->buf[off + 2]) + w->tsval_off);
		set32(&w->buf[off + 6], get32(&w->buf[off + 6]) + w->tsecr_off);
	} else if (kind == TCP_OPT_SACK && (w->flags & SPLICE_F_SACK)) {
		/* RFC 2018 3: 2 + 8n bytes; the edges are sequence numbers
		 * of data the sender received, so they move like its ACK */
#pragma unroll
		for (b = 0; b < 4; b++) {
			__u32 at = off + 2 + 8 * b;

			if (2 + 8 * b + 8 > len || at > TCP_OPT_MAX - 8)
				break;
			set32(&w->buf[at], get32(&w->buf[at]) + w->ack_off);
			set32(&w->buf[at + 4], get32(&w->buf[at + 4]) + w->ack_off);
		}
	}
	w->off = off + len;
	return 0;
}

/* Translate TSval/TSecr and SACK edges in the opt_len bytes of options
 * at frame offset opt_off; returns sum updated for the changed words. */
static __always_inline __u32 rewrite_options(struct xdp_md *ctx, __u32 opt_off, __u32 opt_len,
					     const struct splice_entry *e, __u32 sum)
{
	struct opt_walk w;
	__u8 old[TCP_OPT_MAX];
	int i;

	__builtin_memset(&w, 0, sizeof(w));
	asm volatile("" : "+r"(opt_len));
	if (opt_len < 1 || opt_len > TCP_OPT_MAX)
		return sum;
	if (bpf_xdp_load_bytes(ctx, opt_off, w.buf, opt_len))
		return sum;
	__builtin_memcpy(old, w.buf, sizeof(old));
	w.len = opt_len;
	w.tsval_off = e->tsval_off;
	w.tsecr_off = e->tsecr_off;
	w.ack_off = e->ack_off;
	w.flags = e->flags;
	bpf_loop(TCP_OPT_MAX, opt_step, &w, 0);
	if (bpf_xdp_store_bytes(ctx, opt_off, w.buf, opt_len))
		return sum;
	/* Options start 20 bytes into the TCP header: the buffer's words
	 * are the segment's words; the zero padding adds nothing. */
#pragma unroll
	for (i = 0; i < TCP_OPT_MAX; i += 4) {
		__u32 ov, nv;

		__builtin_memcpy(&ov, &old[i], 4);
		__builtin_memcpy(&nv, &w.buf[i], 4);
		sum = splice_csum_upd32(sum, ov, nv);
	}
	return sum;
}

/* Record how entry e (keyed by k) ended, with its counters. */
static __always_inline void record_end(const struct splice_key *k, const struct splice_entry *e,
				       __u32 extra)
{
	struct splice_end end = {
		.state = e->state | extra, .packets = e->packets, .bytes = e->bytes,
	};

	bpf_map_update_elem(&splice_ends, k, &end, BPF_ANY);
}

/* The entry of the other direction: the segments we send come back from
 * the other peer with the rewritten tuple reversed. */
static __always_inline void reverse_key(const struct splice_entry *e, struct splice_key *rk)
{
	rk->saddr = e->daddr;
	rk->daddr = e->saddr;
	rk->sport = e->dport;
	rk->dport = e->sport;
}

SEC("xdp")
int splice(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct tcphdr *th;
	struct splice_key key, rk;
	struct splice_entry *e, *rev;
	__u32 sum, ipsum, doff, ip_len, payload, seq, ack, flags_old, flags_new;
	__u16 win_old;
	__u8 tcpflags;

	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	/* fragments other than the first carry no TCP header */
	if (ip->frag_off & bpf_htons(0x1fff))
		return XDP_PASS;
	key.saddr = ip->saddr;
	key.daddr = ip->daddr;
	if (ip->ihl != 5) {
		/* IP options: the engine never spliced such a flow's header
		 * layout in; look it up only to count and drop */
		th = (void *)ip + (ip->ihl & 0xf) * 4;
		if ((void *)(th + 1) > end)
			return XDP_PASS;
		key.sport = th->source;
		key.dport = th->dest;
		if (!bpf_map_lookup_elem(&splice_flows, &key))
			return XDP_PASS;
		stat_add(SPLICE_STAT_UNSUPPORTED, 1);
		return XDP_DROP;
	}
	th = (void *)(ip + 1);
	if ((void *)(th + 1) > end)
		return XDP_PASS;
	key.sport = th->source;
	key.dport = th->dest;
	e = bpf_map_lookup_elem(&splice_flows, &key);
	if (!e) {
		stat_add(SPLICE_STAT_PASS, 1);
		return XDP_PASS;
	}
	if (th->syn) {
		stat_add(SPLICE_STAT_SYN, 1);
		return XDP_PASS;
	}
	doff = th->doff * 4;
	ip_len = bpf_ntohs(ip->tot_len);
	if (doff < 20 || ip_len < 20 + doff || (void *)data + 14 + ip_len > end) {
		stat_add(SPLICE_STAT_UNSUPPORTED, 1);
		return XDP_DROP;
	}
	payload = ip_len - 20 - doff;
	tcpflags = ((__u8 *)th)[13];

	/* Checksums start from their complements (RFC 1624 eqn. 3). */
	sum = (__u16)~th->check;
	ipsum = (__u16)~ip->check;

	/* Ethernet: no checksum. */
	__builtin_memcpy(eth->h_source, e->eth_src, 6);
	__builtin_memcpy(eth->h_dest, e->eth_dst, 6);

	/* IP addresses: in the IP header and the TCP pseudo-header. */
	ipsum = splice_csum_upd32(ipsum, ip->saddr, e->saddr);
	ipsum = splice_csum_upd32(ipsum, ip->daddr, e->daddr);
	sum = splice_csum_upd32(sum, ip->saddr, e->saddr);
	sum = splice_csum_upd32(sum, ip->daddr, e->daddr);
	ip->saddr = e->saddr;
	ip->daddr = e->daddr;
	if ((e->flags & SPLICE_F_STRIP_ECN) && (ip->tos & 3)) {
		/* RFC 3168 6.1.1: a connection without ECN must not see
		 * ECT or CE; tos shares its word with version/ihl */
		__u16 old_w = *(__u16 *)ip, new_w;

		ip->tos &= ~3;
		new_w = *(__u16 *)ip;
		ipsum = splice_csum_upd16(ipsum, old_w, new_w);
	}
	ip->check = ~splice_csum_fold(ipsum);

	/* Ports (one 32-bit word). */
	{
		__u32 old_p, new_p;

		__builtin_memcpy(&old_p, &th->source, 4);
		th->source = e->sport;
		th->dest = e->dport;
		__builtin_memcpy(&new_p, &th->source, 4);
		sum = splice_csum_upd32(sum, old_p, new_p);
	}

	seq = bpf_ntohl(th->seq) + e->seq_off;
	ack = bpf_ntohl(th->ack_seq);
	sum = put32((__u8 *)&th->seq, seq, sum);
	if (tcpflags & 0x10)	/* ACK */
		sum = put32((__u8 *)&th->ack_seq, ack + e->ack_off, sum);

	/* Flags word (data offset + flags): ECE and CWR toward a
	 * connection that has no ECN. */
	__builtin_memcpy(&flags_old, (__u8 *)th + 12, 4);
	if (e->flags & SPLICE_F_STRIP_ECN)
		((__u8 *)th)[13] &= ~0xc0;
	win_old = th->window;
	th->window = bpf_htons(splice_window(bpf_ntohs(win_old), e->in_wscale, e->out_wscale));
	__builtin_memcpy(&flags_new, (__u8 *)th + 12, 4);
	sum = splice_csum_upd32(sum, flags_old, flags_new);

	if (doff > 20)
		sum = rewrite_options(ctx, 14 + 20 + 20, doff - 20, e, sum);

	/* the pointers are still valid: nothing resized the frame */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	th = data + 14 + 20;
	if ((void *)(th + 1) > end)
		return XDP_DROP;
	th->check = ~splice_csum_fold(sum);

	__sync_fetch_and_add(&e->packets, 1);
	__sync_fetch_and_add(&e->bytes, payload);
	stat_add(SPLICE_STAT_TX, 1);
	stat_add(SPLICE_STAT_TX_BYTES, payload);

	if (tcpflags & 0x04) {	/* RST: the splice is over, both ways */
		reverse_key(e, &rk);
		record_end(&key, e, SPLICE_ST_RST);
		rev = bpf_map_lookup_elem(&splice_flows, &rk);
		if (rev)
			record_end(&rk, rev, SPLICE_ST_RST);
		bpf_map_delete_elem(&splice_flows, &rk);
		bpf_map_delete_elem(&splice_flows, &key);
		stat_add(SPLICE_STAT_RST, 1);
		return XDP_TX;
	}
	if (tcpflags & 0x01) {	/* FIN: its end in the outgoing space */
		e->fin_seq = seq + payload + 1;
		__sync_fetch_and_or(&e->state, SPLICE_ST_FIN);
		stat_add(SPLICE_STAT_FIN, 1);
	}
	reverse_key(e, &rk);
	rev = bpf_map_lookup_elem(&splice_flows, &rk);
	if (rev && (tcpflags & 0x10) && (rev->state & SPLICE_ST_FIN) &&
	    seq_geq(ack, rev->fin_seq))
		/* the other side's FIN went out with rev's rewrite, in this
		 * peer's sequence space: this ACK (before our rewrite)
		 * covers it */
		__sync_fetch_and_or(&rev->state, SPLICE_ST_FIN_ACKED);
	if (rev && (e->state & SPLICE_ST_FIN_ACKED) && (rev->state & SPLICE_ST_FIN_ACKED)) {
		/* RFC 9293 3.6: both FINs sent and acknowledged; the last
		 * ACK goes out with this segment */
		record_end(&key, e, 0);
		record_end(&rk, rev, 0);
		bpf_map_delete_elem(&splice_flows, &rk);
		bpf_map_delete_elem(&splice_flows, &key);
		stat_add(SPLICE_STAT_CLOSED, 1);
	}
	return XDP_TX;
}
