/* flextoe/splice.h - connection splicing: the splice_flows map layout, counters and the header rewrite arithmetic shared by xdp-progs/splice.bpf.c and the engine.
 *
 * Splicing (after AccelTCP, Moon et al., NSDI 2019, section 4.2) joins two
 * established connections of the engine, X (client <-> engine) and Y
 * (engine <-> backend), so that each segment one peer sends to the engine
 * leaves again at once, rewritten as the engine's segment on the other
 * connection: addresses, ports and MACs of the other connection, sequence
 * and acknowledgment numbers (and SACK blocks) moved by fixed offsets, the
 * timestamps option moved into the other connection's clocks (RFC 7323:
 * else the peer's PAWS check drops them), the window field rescaled, and
 * both checksums updated incrementally (RFC 1624).  The engine computes the
 * offsets from its TCP state once, when both connections are quiet, and
 * installs two entries, one per direction, keyed by the incoming 4-tuple.
 *
 * Offsets for segments arriving on X and leaving on Y (the engine's state
 * of X and Y at splice time; the reverse entry is the same with X and Y
 * swapped):
 *   seq'   = seq   + (Y.snd_nxt  - X.rcv_nxt)
 *   ack'   = ack   + (Y.rcv_nxt  - X.snd_nxt)      (also SACK block edges)
 *   TSval' = TSval + (Y.ts_now   - X.ts_recent)
 *   TSecr' = TSecr + (Y.ts_recent - X.ts_now)
 *   win'   = min(65535, (win << X.snd_wscale) >> Y.rcv_wscale)
 *
 * Usable from BPF programs (after <linux/bpf.h>) and user space (only
 * <linux/types.h>).  All multi-byte fields of the key and the rewrite
 * targets are in network byte order (as in the frame), the offsets and
 * state in host order.
 */
#ifndef FLEXTOE_SPLICE_H
#define FLEXTOE_SPLICE_H

#include <linux/types.h>

#define SPLICE_MAP_NAME		"splice_flows"	/* the entries */
#define SPLICE_ENDS_NAME	"splice_ends"	/* final states, for the engine */
#define SPLICE_MAX_FLOWS	65536	/* entries: two per spliced pair */

/* The incoming segment's IPv4 4-tuple, as in the frame (IPv6: struct
 * splice_key6 below). */
struct splice_key {
	__u32 saddr;		/* the peer */
	__u32 daddr;		/* the engine */
	__u16 sport;		/* the peer's port */
	__u16 dport;		/* the engine's port */
};

/* splice_entry.flags: configuration, written by the engine */
#define SPLICE_F_TS		(1u << 0)	/* timestamps on both connections: translate them */
#define SPLICE_F_STRIP_ECN	(1u << 1)	/* the outgoing connection has no ECN: clear ECT/CE, ECE, CWR */
#define SPLICE_F_SACK		(1u << 2)	/* translate SACK blocks (ack space) */

/* splice_entry.state: written by the program (atomically) */
#define SPLICE_ST_FIN		(1u << 0)	/* this direction relayed a FIN; fin_seq is valid */
#define SPLICE_ST_FIN_ACKED	(1u << 1)	/* the other peer acknowledged that FIN */
#define SPLICE_ST_RST		(1u << 2)	/* a RST was relayed (entries then deleted) */

/* What to do with a segment that arrived with key; 72 bytes. */
struct splice_entry {
	__u8 eth_src[6];	/* the engine's MAC */
	__u8 eth_dst[6];	/* the other peer's (or its gateway's) MAC */
	__u32 saddr;		/* the engine */
	__u32 daddr;		/* the other peer */
	__u16 sport;		/* the engine's port on the other connection */
	__u16 dport;		/* the other peer's port */
	__u32 seq_off;		/* added to seq (mod 2^32) */
	__u32 ack_off;		/* added to ack and SACK edges */
	__u32 tsval_off;	/* added to TSval (SPLICE_F_TS) */
	__u32 tsecr_off;	/* added to TSecr (SPLICE_F_TS) */
	__u8 in_wscale;		/* shift the sender applies to its window field (RFC 7323 2.3) */
	__u8 out_wscale;	/* shift the receiver applies to ours */
	__u8 flags;		/* SPLICE_F_* */
	__u8 pad0;
	__u32 state;		/* SPLICE_ST_* */
	__u32 fin_seq;		/* with SPLICE_ST_FIN: the outgoing sequence after the FIN */
	__u32 engine_id;	/* the engine's flow id of the incoming connection (information) */
	__u64 packets;		/* segments relayed by this entry */
	__u64 bytes;		/* payload bytes relayed by this entry */
};

_Static_assert(sizeof(struct splice_key) == 12, "splice_key is 12 bytes");
_Static_assert(sizeof(struct splice_entry) == 72, "splice_entry is 72 bytes");
_Static_assert(__builtin_offsetof(struct splice_entry, state) == 44, "splice_entry.state offset");
_Static_assert(__builtin_offsetof(struct splice_entry, packets) == 56, "splice_entry.packets offset");

/* IPv6 (splice_flows6, splice_ends6): the same with 16-byte addresses,
 * in maps of their own, so struct splice_key and splice_entry stay as
 * they are.  From sport on, struct splice_entry6 is laid out as struct
 * splice_entry from sport on. */
#define SPLICE6_MAP_NAME	"splice_flows6"
#define SPLICE6_ENDS_NAME	"splice_ends6"

struct splice_key6 {
	__u8 saddr[16];		/* the peer */
	__u8 daddr[16];		/* the engine */
	__u16 sport;		/* the peer's port */
	__u16 dport;		/* the engine's port */
};

struct splice_entry6 {
	__u8 eth_src[6];
	__u8 eth_dst[6];
	__u8 saddr[16];		/* the engine */
	__u8 daddr[16];		/* the other peer */
	__u16 sport;
	__u16 dport;
	__u32 seq_off;
	__u32 ack_off;
	__u32 tsval_off;
	__u32 tsecr_off;
	__u8 in_wscale;
	__u8 out_wscale;
	__u8 flags;		/* SPLICE_F_*; STRIP_ECN clears the traffic class's ECN bits */
	__u8 pad0;
	__u32 state;
	__u32 fin_seq;
	__u32 engine_id;
	__u64 packets;
	__u64 bytes;
};

_Static_assert(sizeof(struct splice_key6) == 36, "splice_key6 is 36 bytes");
_Static_assert(sizeof(struct splice_entry6) == 96, "splice_entry6 is 96 bytes");
_Static_assert(__builtin_offsetof(struct splice_entry6, state) == 68, "splice_entry6.state offset");
_Static_assert(__builtin_offsetof(struct splice_entry6, packets) == 80, "splice_entry6.packets offset");

/* splice_ends value: how an entry ended, written by the program as it
 * deletes the entry, read (and deleted) by the engine. */
struct splice_end {
	__u32 state;		/* SPLICE_ST_* at the end */
	__u32 pad;
	__u64 packets;		/* segments the entry relayed */
	__u64 bytes;		/* their payload bytes */
};

_Static_assert(sizeof(struct splice_end) == 24, "splice_end is 24 bytes");

/* splice_stats: per-CPU array, one counter per index */
enum splice_stat {
	SPLICE_STAT_TX = 0,		/* segments rewritten and sent back out (XDP_TX) */
	SPLICE_STAT_TX_BYTES,		/* their payload bytes */
	SPLICE_STAT_PASS,		/* no entry: left to the engine (XDP_PASS) */
	SPLICE_STAT_FIN,		/* FINs relayed */
	SPLICE_STAT_RST,		/* RSTs relayed (both entries deleted) */
	SPLICE_STAT_CLOSED,		/* pairs deleted after both FINs were acknowledged */
	SPLICE_STAT_SYN,		/* a SYN on a spliced 4-tuple: passed (the engine drops it) */
	SPLICE_STAT_UNSUPPORTED,	/* IP options, IPv6 extension headers or truncated headers on a spliced flow: dropped */
	SPLICE_STAT_MAX,
};

/* ---- one's complement arithmetic (RFC 1071, RFC 1624) ------------------------
 * Sums are kept unfolded in a __u32; 16-bit words are taken as they lie
 * in memory (native loads), which the one's complement sum does not mind
 * as long as old and new words are treated alike (RFC 1071 section 2(B)).
 */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* RFC 1624 eqn. 3, one 16-bit word: HC' = ~(~HC + ~m + m'); the sum
 * carries ~HC + the updates and is folded once at the end. */
static __always_inline __u32 splice_csum_upd16(__u32 sum, __u16 old_w, __u16 new_w)
{
	return sum + (__u16)~old_w + new_w;
}

/* A 32-bit field in memory order (a native load of its 4 bytes). */
static __always_inline __u32 splice_csum_upd32(__u32 sum, __u32 old_v, __u32 new_v)
{
	sum = splice_csum_upd16(sum, (__u16)old_v, (__u16)new_v);
	return splice_csum_upd16(sum, (__u16)(old_v >> 16), (__u16)(new_v >> 16));
}

static __always_inline __u16 splice_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Window field rescaled from the sender's shift to the receiver's
 * (host order), saturated at the 16-bit maximum. */
static __always_inline __u16 splice_window(__u16 win, __u8 in_shift, __u8 out_shift)
{
	__u32 bytes = (__u32)win << (in_shift & 15);

	bytes >>= (out_shift & 15);
	return bytes > 0xffff ? 0xffff : (__u16)bytes;
}

#endif /* FLEXTOE_SPLICE_H */
