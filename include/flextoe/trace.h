/* flextoe/trace.h - ring-buffer record layouts of the tcp_trace and capture programs (shared with the CLI).
 *
 * Both programs write host-order records into a BPF ring buffer; a reader
 * (flextoe-bpf trace / capture, or any libbpf ring_buffer consumer) reads
 * them and may write pcap files from the captured bytes.  Layouts only
 * ever grow at the end: `size` is the record's byte count as written, and
 * FLEXTOE_TRACE_VERSION changes only on a change that is not an append.
 * Version 1 carries IPv4 and IPv6 alike (`family`, 16-byte addresses);
 * docs/programs.md "Reading the ring buffers" has the offsets.
 */
#ifndef FLEXTOE_TRACE_H
#define FLEXTOE_TRACE_H

#include <linux/types.h>

#define FLEXTOE_TRACE_VERSION	1

/* ---- tcp_trace ----------------------------------------------------------- */

/* Header bytes captured per traced segment (Ethernet + IPv6 + TCP with
 * options fit). */
#define FLEXTOE_TRACE_SNAP	128

/* flextoe_trace_rec.flags */
#define FLEXTOE_TRF_MD		(1u << 0)	/* flextoe_md was present: dir/hook/TCP state valid */
#define FLEXTOE_TRF_RETRANSMIT	(1u << 1)	/* from flextoe_md */
#define FLEXTOE_TRF_OOO		(1u << 2)	/* from flextoe_md */
#define FLEXTOE_TRF_DUPACK	(1u << 3)	/* from flextoe_md */
#define FLEXTOE_TRF_RATE	(1u << 4)	/* cwnd is a rate in kbit/s */
#define FLEXTOE_TRF_VLAN	(1u << 5)	/* the frame carried VLAN tag(s) */

struct flextoe_trace_rec {
	__u16 size;		/* sizeof(struct flextoe_trace_rec) */
	__u8 version;		/* FLEXTOE_TRACE_VERSION */
	__u8 family;		/* 4 or 6 */
	__u8 dir;		/* enum flextoe_dir; RX in the kernel's hook */
	__u8 hook;		/* enum flextoe_hook; NONE in the kernel's hook */
	__u8 tcp_flags;		/* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 */
	__u8 pad0;
	__u32 flags;		/* FLEXTOE_TRF_* */
	__u32 flow_id;		/* from flextoe_md */
	__u64 tstamp_ns;	/* flextoe_md's timestamp; bpf_ktime_get_ns() in the
				 * *_ktime variant without metadata; else 0 */
	__u8 saddr[16];		/* IPv4: first 4 bytes, rest zero; network order */
	__u8 daddr[16];
	__u16 sport;		/* host order */
	__u16 dport;
	__u32 seq;		/* host order */
	__u32 ack;
	__u32 len;		/* TCP payload bytes (from the IP length) */
	__u16 win;		/* raw window field (unscaled) */
	__u16 snap_len;		/* bytes valid in snap[] */
	__u32 pkt_len;		/* frame length */
	__u32 snd_una;		/* from flextoe_md (FLEXTOE_TRF_MD) */
	__u32 snd_nxt;
	__u32 cwnd;		/* bytes, or kbit/s with FLEXTOE_TRF_RATE */
	__u32 srtt_us;
	__u8 snap[FLEXTOE_TRACE_SNAP];	/* the frame's first snap_len bytes */
};

_Static_assert(sizeof(struct flextoe_trace_rec) == 224, "trace record layout");
_Static_assert(__builtin_offsetof(struct flextoe_trace_rec, tstamp_ns) == 16, "trace tstamp offset");
_Static_assert(__builtin_offsetof(struct flextoe_trace_rec, saddr) == 24, "trace saddr offset");
_Static_assert(__builtin_offsetof(struct flextoe_trace_rec, len) == 68, "trace len offset");
_Static_assert(__builtin_offsetof(struct flextoe_trace_rec, snap) == 96, "trace snap offset");

/* Optional filter, element 0 of the program's `trace_cfg` array.  All
 * zero traces every TCP segment. */
#define FLEXTOE_TRACE_CFG_PORT	(1u << 0)	/* sport or dport == port */
#define FLEXTOE_TRACE_CFG_ADDR	(1u << 1)	/* saddr or daddr == addr (family) */

struct flextoe_trace_cfg {
	__u32 flags;		/* FLEXTOE_TRACE_CFG_* */
	__u16 port;		/* host order */
	__u8 family;		/* 4 or 6, for addr */
	__u8 pad;
	__u8 addr[16];		/* IPv4 in the first 4 bytes; network order */
	__u32 snaplen;		/* header bytes to keep, 0 = FLEXTOE_TRACE_SNAP */
};

/* Counters, per-CPU array `trace_stats`. */
enum flextoe_trace_stat {
	FLEXTOE_TRACE_SEEN = 0,		/* frames the program ran on */
	FLEXTOE_TRACE_TCP,		/* TCP segments parsed */
	FLEXTOE_TRACE_FILTERED,		/* skipped by trace_cfg */
	FLEXTOE_TRACE_EMITTED,		/* records submitted */
	FLEXTOE_TRACE_LOST,		/* ring buffer full */
	FLEXTOE_TRACE_STAT_MAX,
};

/* ---- capture ------------------------------------------------------------- */

/* Largest snaplen: a full standard frame with two VLAN tags. */
#define FLEXTOE_CAPTURE_MAX	1536

struct flextoe_capture_hdr {
	__u16 size;		/* sizeof(struct flextoe_capture_hdr) */
	__u8 version;		/* FLEXTOE_TRACE_VERSION */
	__u8 hook;		/* enum flextoe_hook (NONE in the kernel) */
	__u8 dir;		/* enum flextoe_dir */
	__u8 pad0[3];
	__u64 tstamp_ns;	/* as flextoe_trace_rec.tstamp_ns */
	__u32 pkt_len;		/* frame length on the wire */
	__u32 cap_len;		/* bytes that follow this header */
	__u32 ifindex;		/* ctx->ingress_ifindex */
	__u32 rx_queue;		/* ctx->rx_queue_index */
	/* cap_len frame bytes follow */
};

_Static_assert(sizeof(struct flextoe_capture_hdr) == 32, "capture header layout");

/* Element 0 of `capture_cfg`: snaplen 0 means FLEXTOE_CAPTURE_MAX. */
struct flextoe_capture_cfg {
	__u32 snaplen;
	__u32 pad;
};

enum flextoe_capture_stat {
	FLEXTOE_CAPTURE_SEEN = 0,
	FLEXTOE_CAPTURE_EMITTED,
	FLEXTOE_CAPTURE_LOST,		/* ring buffer full */
	FLEXTOE_CAPTURE_STAT_MAX,
};

#endif /* FLEXTOE_TRACE_H */
