/* splice.bpf.c - relays the segments of two spliced TCP connections with rewritten headers via XDP_TX, and tears the splice down on FIN/RST (AccelTCP-style).
 *
 * What: a TCP segment whose 4-tuple is a key of splice_flows (IPv4) or
 * splice_flows6 (IPv6) belongs to a connection the engine has spliced to
 * another one
 * (ftoe_splice(), docs/api.md).  The entry says how to make it a segment
 * of the other connection (include/flextoe/splice.h): new MACs, addresses
 * and ports; seq, ack and SACK edges moved by offsets; TSval/TSecr moved
 * into the other connection's clocks (RFC 7323 PAWS); the window field
 * rescaled between the two window-scale shifts; ECT/CE (the IPv4 TOS or
 * IPv6 traffic class), ECE and CWR cleared when the other connection did
 * not negotiate ECN.  IP and TCP checksums are updated incrementally (RFC
 * 1624; IPv6 has no header checksum, its addresses are in the TCP
 * pseudo-header, RFC 8200 section 8.1), never recomputed: a
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
 * relayed), splice_flows6 and splice_ends6 (the same for IPv6, keyed by
 * struct splice_key6), splice_stats (per-CPU array[SPLICE_STAT_MAX]).
 *
 * Verdicts: XDP_TX for a relayed segment; XDP_PASS for everything else
 * (the engine's own connections, ARP, ...); XDP_DROP for a segment of a
 * spliced connection it cannot rewrite (IPv4 options, IPv6 extension
 * headers, truncated).
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

#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

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
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SPLICE_MAX_FLOWS);
	__type(key, struct splice_key6);
	__type(value, struct splice_entry6);
} splice_flows6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SPLICE_MAX_FLOWS);
	__type(key, struct splice_key6);
	__type(value, struct splice_end);
} splice_ends6 SEC(".maps");

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

/* What the TCP header's rewrite takes from an entry of either family. */
struct splice_tcp {
	__u16 sport, dport;	/* network order */
	__u32 seq_off, ack_off, tsval_off, tsecr_off;
	__u8 in_wscale, out_wscale, flags;
	__u32 sum;		/* in: TCP checksum's complement, address changes in */
	__u32 seq;		/* out: the outgoing sequence number */
};

#define SPLICE_TCP_OF(e) ((struct splice_tcp){						\
	.sport = (e)->sport, .dport = (e)->dport, .seq_off = (e)->seq_off,		\
	.ack_off = (e)->ack_off, .tsval_off = (e)->tsval_off, .tsecr_off = (e)->tsecr_off,	\
	.in_wscale = (e)->in_wscale, .out_wscale = (e)->out_wscale, .flags = (e)->flags })

/* state, fin_seq, engine_id, packets and bytes lie alike in both entry
 * types: the teardown reaches them from the offset of state. */
_Static_assert(__builtin_offsetof(struct splice_entry, packets) -
	       __builtin_offsetof(struct splice_entry, state) == 12, "splice_entry tail");
_Static_assert(__builtin_offsetof(struct splice_entry6, packets) -
	       __builtin_offsetof(struct splice_entry6, state) == 12, "splice_entry6 tail");
_Static_assert(__builtin_offsetof(struct splice_entry6, fin_seq) -
	       __builtin_offsetof(struct splice_entry6, state) == 4, "splice_entry6 fin_seq");
#define ST_OFF4	__builtin_offsetof(struct splice_entry, state)
#define ST_OFF6	__builtin_offsetof(struct splice_entry6, state)

static __always_inline __u32 *ent_state(void *e, __u32 st_off)
{
	return (__u32 *)((__u8 *)e + st_off);
}

static __always_inline __u32 *ent_fin_seq(void *e, __u32 st_off)
{
	return (__u32 *)((__u8 *)e + st_off + 4);
}

static __always_inline __u64 *ent_packets(void *e, __u32 st_off)
{
	return (__u64 *)((__u8 *)e + st_off + 12);
}

static __always_inline __u64 *ent_bytes(void *e, __u32 st_off)
{
	return (__u64 *)((__u8 *)e + st_off + 20);
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
					     const struct splice_tcp *e, __u32 sum)
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

/* Record in ends how entry e (keyed by k) ended, with its counters. */
static __always_inline void record_end(void *ends, const void *k, void *e, __u32 st_off, __u32 extra)
{
	struct splice_end end = {
		.state = *ent_state(e, st_off) | extra,
		.packets = *ent_packets(e, st_off),
		.bytes = *ent_bytes(e, st_off),
	};

	bpf_map_update_elem(ends, k, &end, BPF_ANY);
}

/* Rewrite the TCP header at th_off (doff bytes) into the other
 * connection's, finishing the checksum rw->sum, and leave the outgoing
 * sequence number in rw->seq; 0, or -1 to drop. */
static __noinline int rewrite_tcp(struct xdp_md *ctx, __u32 th_off, __u32 doff, struct splice_tcp *rw)
{
	__u32 seq, ack, flags_old, flags_new, old_p, new_p, sum = rw->sum;
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct tcphdr *th;
	__u16 win_old;

	/* a subprogram of its own (its option buffers on its own stack
	 * frame); th_off is 34 or 54 */
	th = data + (th_off & 0x7f);
	if ((void *)(th + 1) > end)
		return -1;

	/* Ports (one 32-bit word). */
	__builtin_memcpy(&old_p, &th->source, 4);
	th->source = rw->sport;
	th->dest = rw->dport;
	__builtin_memcpy(&new_p, &th->source, 4);
	sum = splice_csum_upd32(sum, old_p, new_p);

	seq = bpf_ntohl(th->seq) + rw->seq_off;
	ack = bpf_ntohl(th->ack_seq);
	sum = put32((__u8 *)&th->seq, seq, sum);
	if (((__u8 *)th)[13] & 0x10)	/* ACK */
		sum = put32((__u8 *)&th->ack_seq, ack + rw->ack_off, sum);

	/* Flags word (data offset + flags): ECE and CWR toward a
	 * connection that has no ECN. */
	__builtin_memcpy(&flags_old, (__u8 *)th + 12, 4);
	if (rw->flags & SPLICE_F_STRIP_ECN)
		((__u8 *)th)[13] &= ~0xc0;
	win_old = th->window;
	th->window = bpf_htons(splice_window(bpf_ntohs(win_old), rw->in_wscale, rw->out_wscale));
	__builtin_memcpy(&flags_new, (__u8 *)th + 12, 4);
	sum = splice_csum_upd32(sum, flags_old, flags_new);

	if (doff > 20)
		sum = rewrite_options(ctx, th_off + 20, doff - 20, rw, sum);

	/* the frame did not move, but the helpers above end the verifier's
	 * knowledge of packet pointers: find the header again */
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	th = data + (th_off & 0x7f);
	if ((void *)(th + 1) > end)
		return -1;
	th->check = ~splice_csum_fold(sum);
	rw->seq = seq;
	return 0;
}

/* After a relayed segment of entry e (key k; its other direction rk):
 * count it, and end the splice on RST or once both FINs are
 * acknowledged (RFC 9293 3.6).  flows/ends are the family's maps, st_off
 * the offset of state in its entry type. */
static __always_inline void splice_account(void *flows, void *ends, const void *k, const void *rk,
					   void *e, __u32 st_off, __u8 tcpflags, __u32 seq, __u32 ack,
					   __u32 payload)
{
	void *rev;

	__sync_fetch_and_add(ent_packets(e, st_off), 1);
	__sync_fetch_and_add(ent_bytes(e, st_off), payload);
	stat_add(SPLICE_STAT_TX, 1);
	stat_add(SPLICE_STAT_TX_BYTES, payload);

	if (tcpflags & 0x04) {	/* RST: the splice is over, both ways */
		record_end(ends, k, e, st_off, SPLICE_ST_RST);
		rev = bpf_map_lookup_elem(flows, rk);
		if (rev)
			record_end(ends, rk, rev, st_off, SPLICE_ST_RST);
		bpf_map_delete_elem(flows, rk);
		bpf_map_delete_elem(flows, k);
		stat_add(SPLICE_STAT_RST, 1);
		return;
	}
	if (tcpflags & 0x01) {	/* FIN: its end in the outgoing space */
		*ent_fin_seq(e, st_off) = seq + payload + 1;
		__sync_fetch_and_or(ent_state(e, st_off), SPLICE_ST_FIN);
		stat_add(SPLICE_STAT_FIN, 1);
	}
	rev = bpf_map_lookup_elem(flows, rk);
	if (rev && (tcpflags & 0x10) && (*ent_state(rev, st_off) & SPLICE_ST_FIN) &&
	    seq_geq(ack, *ent_fin_seq(rev, st_off)))
		/* the other side's FIN went out with rev's rewrite, in this
		 * peer's sequence space: this ACK (before our rewrite)
		 * covers it */
		__sync_fetch_and_or(ent_state(rev, st_off), SPLICE_ST_FIN_ACKED);
	if (rev && (*ent_state(e, st_off) & SPLICE_ST_FIN_ACKED) &&
	    (*ent_state(rev, st_off) & SPLICE_ST_FIN_ACKED)) {
		/* both FINs sent and acknowledged; the last ACK goes out
		 * with this segment */
		record_end(ends, k, e, st_off, 0);
		record_end(ends, rk, rev, st_off, 0);
		bpf_map_delete_elem(flows, rk);
		bpf_map_delete_elem(flows, k);
		stat_add(SPLICE_STAT_CLOSED, 1);
	}
}

/* The two families are BPF subprograms of their own: inlined into one
 * function their stack slots (option buffers, keys) add up past 512. */
static __noinline int splice_ipv4(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = (void *)(eth + 1);
	struct splice_key key, rk;
	struct splice_tcp rw;
	struct splice_entry *e;
	struct tcphdr *th;
	__u32 sum, ipsum, doff, ip_len, payload, seq, ack;
	__u8 tcpflags;

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
	if (doff < 20 || ip_len < 20 + doff || (void *)eth + 14 + ip_len > end) {
		stat_add(SPLICE_STAT_UNSUPPORTED, 1);
		return XDP_DROP;
	}
	payload = ip_len - 20 - doff;
	tcpflags = ((__u8 *)th)[13];
	ack = bpf_ntohl(th->ack_seq);

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

	rw = SPLICE_TCP_OF(e);
	rw.sum = sum;
	if (rewrite_tcp(ctx, 14 + 20, doff, &rw))
		return XDP_DROP;
	seq = rw.seq;
	rk.saddr = e->daddr;
	rk.daddr = e->saddr;
	rk.sport = e->dport;
	rk.dport = e->sport;
	splice_account(&splice_flows, &splice_ends, &key, &rk, e, ST_OFF4, tcpflags, seq, ack, payload);
	return XDP_TX;
}

/* An IPv6 segment with extension headers: look its flow up only to
 * count and drop, as IPv4 options (parse.h walks the chain). */
static __noinline int splice_ipv6_ext(struct xdp_md *ctx)
{
	struct splice_key6 key;
	struct pkt p = {};

	if (parse_pkt(ctx, &p) != PARSE_OK || p.family != 6 || p.proto != IPPROTO_TCP || !p.has_ports)
		return XDP_PASS;
	__builtin_memcpy(key.saddr, p.src, 16);
	__builtin_memcpy(key.daddr, p.dst, 16);
	key.sport = bpf_htons(p.sport);
	key.dport = bpf_htons(p.dport);
	if (!bpf_map_lookup_elem(&splice_flows6, &key))
		return XDP_PASS;
	stat_add(SPLICE_STAT_UNSUPPORTED, 1);
	return XDP_DROP;
}

static __noinline int splice_ipv6(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct splice_key6 key, rk;
	struct splice_tcp rw;
	struct splice_entry6 *e;
	struct tcphdr *th;
	__u32 sum, doff, plen, payload, seq, ack, w;
	__u8 tcpflags;

	if ((void *)(ip6 + 1) > end || ip6->version != 6)
		return XDP_PASS;
	if (ip6->nexthdr != IPPROTO_TCP)
		return splice_ipv6_ext(ctx);
	th = (void *)(ip6 + 1);
	if ((void *)(th + 1) > end)
		return XDP_PASS;
	__builtin_memcpy(key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(key.daddr, &ip6->daddr, 16);
	key.sport = th->source;
	key.dport = th->dest;
	e = bpf_map_lookup_elem(&splice_flows6, &key);
	if (!e) {
		stat_add(SPLICE_STAT_PASS, 1);
		return XDP_PASS;
	}
	if (th->syn) {
		stat_add(SPLICE_STAT_SYN, 1);
		return XDP_PASS;
	}
	doff = th->doff * 4;
	plen = bpf_ntohs(ip6->payload_len);
	/* payload_len 0 is a jumbogram's (RFC 2675): not on these links */
	if (doff < 20 || plen < doff || (void *)eth + 14 + 40 + plen > end) {
		stat_add(SPLICE_STAT_UNSUPPORTED, 1);
		return XDP_DROP;
	}
	payload = plen - doff;
	tcpflags = ((__u8 *)th)[13];
	ack = bpf_ntohl(th->ack_seq);

	sum = (__u16)~th->check;
	__builtin_memcpy(eth->h_source, e->eth_src, 6);
	__builtin_memcpy(eth->h_dest, e->eth_dst, 6);
	/* Addresses: no IPv6 header checksum; the TCP pseudo-header holds
	 * both (RFC 8200 section 8.1), 16-bit words as they lie; not
	 * unrolled, which spills the 32 loads past the stack limit */
#pragma clang loop unroll(disable)
	for (w = 0; w < 8; w++) {
		sum = splice_csum_upd16(sum, ip6->saddr.in6_u.u6_addr16[w], ((__u16 *)e->saddr)[w]);
		sum = splice_csum_upd16(sum, ip6->daddr.in6_u.u6_addr16[w], ((__u16 *)e->daddr)[w]);
	}
	__builtin_memcpy(&ip6->saddr, e->saddr, 16);
	__builtin_memcpy(&ip6->daddr, e->daddr, 16);
	/* RFC 3168 6.1.1: the ECN field is the traffic class's low two
	 * bits, bits 4-5 of the header's second byte; nothing sums it */
	if (e->flags & SPLICE_F_STRIP_ECN)
		((__u8 *)ip6)[1] &= ~0x30;

	rw = SPLICE_TCP_OF(e);
	rw.sum = sum;
	if (rewrite_tcp(ctx, 14 + 40, doff, &rw))
		return XDP_DROP;
	seq = rw.seq;
	__builtin_memcpy(rk.saddr, e->daddr, 16);
	__builtin_memcpy(rk.daddr, e->saddr, 16);
	rk.sport = e->dport;
	rk.dport = e->sport;
	splice_account(&splice_flows6, &splice_ends6, &key, &rk, e, ST_OFF6, tcpflags, seq, ack, payload);
	return XDP_TX;
}

SEC("xdp")
int splice(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return splice_ipv4(ctx);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return splice_ipv6(ctx);
	return XDP_PASS;
}
