/* flextoe/bpf.h - the program contract: hook ids, directions and struct flextoe_md for XDP programs.
 *
 * FlexTOE runs ordinary XDP programs (SEC("xdp"), clang -target bpf) at
 * three hook points of its pipeline (docs/design.md section 4).  At every
 * hook ctx->data .. ctx->data_end is the frame from the Ethernet header and
 * ctx->data_meta .. ctx->data holds a struct flextoe_md, starting at
 * data_meta.  The kernel's own XDP hook has no such metadata
 * (data_meta == data), so a program finds it with flextoe_md_get(), which
 * returns NULL there: the same object runs in both places.
 *
 * All fields are in host byte order (sequence numbers too).  The layout is
 * fixed: fields are only ever appended, `size` says how much the engine
 * wrote and `version` changes only on an incompatible change.  The struct
 * is a multiple of 8 bytes, as the kernel requires XDP metadata to be a
 * multiple of 4 (bpf_xdp_adjust_meta) and the 64-bit timestamp wants 8.
 *
 * Usable from BPF programs (include after <linux/bpf.h> and
 * <bpf/bpf_helpers.h>) and from user space (only <linux/types.h> needed).
 */
#ifndef FLEXTOE_BPF_H
#define FLEXTOE_BPF_H

#include <linux/types.h>

#include "flextoe/hooks.h"

/* Hook points (docs/design.md section 4), from the list in flextoe/hooks.h:
 * FLEXTOE_HOOK_RX_PRE, FLEXTOE_HOOK_RX_POST, FLEXTOE_HOOK_TX_POST. */
enum flextoe_hook {
	FLEXTOE_HOOK_NONE = 0,		/* not set (the kernel's XDP hook) */
#define FLEXTOE_HOOK_ENUM_(id, num, name, role) FLEXTOE_HOOK_##id = num,
	FLEXTOE_HOOK_LIST(FLEXTOE_HOOK_ENUM_)
#undef FLEXTOE_HOOK_ENUM_
	FLEXTOE_HOOK_MAX,
};

/* Direction of the segment relative to the engine. */
enum flextoe_dir {
	FLEXTOE_DIR_RX = 0,
	FLEXTOE_DIR_TX = 1,
};

/* flextoe_md.flags */
#define FLEXTOE_MDF_FLOW	(1u << 0)	/* flow_id/flow_group and the TCP snapshot are valid */
#define FLEXTOE_MDF_RETRANSMIT	(1u << 1)	/* this TX segment is a retransmission */
#define FLEXTOE_MDF_OOO		(1u << 2)	/* this RX segment arrived out of order */
#define FLEXTOE_MDF_DUPACK	(1u << 3)	/* this RX segment is a duplicate ACK */
#define FLEXTOE_MDF_RATE	(1u << 4)	/* cwnd holds a rate (kbit/s), not bytes */
#define FLEXTOE_MDF_VLAN	(1u << 5)	/* vlan_id holds a popped 802.1Q tag (vlan_strip) */
#define FLEXTOE_MDF_QINQ	(1u << 6)	/* svlan_id holds a popped 802.1ad tag (vlan_strip) */
#define FLEXTOE_MDF_CLASS	(1u << 7)	/* app_ctx/priority set by a classifier */
#define FLEXTOE_MDF_ECN		(1u << 8)	/* the segment carried CE */
#define FLEXTOE_MDF_IPV6	(1u << 9)	/* the segment is IPv6 (ip_version 6) */

/* Version 1 grows only by appending: the 64 bytes up to svlan_id are the
 * first layout; ip_version and the addresses (offsets 60-95) came with IPv6.
 * A program that reads the appended fields needs md->size >= 96, which
 * flextoe_md_get() checks for any program built with this header. */
#define FLEXTOE_MD_VERSION	1

struct flextoe_md {
	__u16 size;		/* sizeof(struct flextoe_md) as the engine wrote it */
	__u8 version;		/* FLEXTOE_MD_VERSION */
	__u8 hook;		/* enum flextoe_hook */
	__u8 dir;		/* enum flextoe_dir */
	__u8 pad0;		/* zero */
	__u16 flags;		/* FLEXTOE_MDF_* */
	__u32 flow_id;		/* engine's flow table index (FLEXTOE_MDF_FLOW) */
	__u16 flow_group;	/* flow group: the protocol stage's shard */
	__u16 vlan_id;		/* 802.1Q VID popped by vlan_strip (FLEXTOE_MDF_VLAN) */
	__u64 tstamp_ns;	/* CLOCK_MONOTONIC time the segment entered the hook */
	/* Snapshot of the flow's TCP state (RFC 9293 names) when the segment
	 * reached the hook; valid with FLEXTOE_MDF_FLOW. */
	__u32 snd_una;
	__u32 snd_nxt;
	__u32 rcv_nxt;
	__u32 snd_wnd;		/* bytes, scaling applied */
	__u32 rcv_wnd;		/* bytes, scaling applied */
	__u32 cwnd;		/* bytes, or kbit/s with FLEXTOE_MDF_RATE (DCTCP rate) */
	__u32 srtt_us;		/* smoothed RTT, microseconds (RFC 6298) */
	/* Classification, written by programs (classify) for the engine. */
	__u32 app_ctx;		/* application context to deliver to (FLEXTOE_MDF_CLASS) */
	__u16 priority;		/* scheduling priority, 0 = default (FLEXTOE_MDF_CLASS) */
	__u16 svlan_id;		/* outer 802.1ad VID popped by vlan_strip (FLEXTOE_MDF_QINQ) */
	__u8 ip_version;	/* 4 or 6 (0: not an IP frame) */
	__u8 pad1;		/* zero */
	__u16 reserved;		/* zero */
	/* The segment's addresses as on the wire (network order); IPv4 as
	 * the IPv4-mapped ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2). */
	__u8 saddr[16];
	__u8 daddr[16];
};

/* The layout is ABI: programs compiled against one version of this header
 * must run on engines built with another. */
_Static_assert(sizeof(struct flextoe_md) == 96, "flextoe_md is 96 bytes");
_Static_assert(sizeof(struct flextoe_md) % 8 == 0, "XDP metadata: multiple of 4, u64 aligned");
_Static_assert(__builtin_offsetof(struct flextoe_md, flags) == 6, "flextoe_md.flags offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, flow_id) == 8, "flextoe_md.flow_id offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, tstamp_ns) == 16, "flextoe_md.tstamp_ns offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, snd_una) == 24, "flextoe_md.snd_una offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, srtt_us) == 48, "flextoe_md.srtt_us offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, app_ctx) == 52, "flextoe_md.app_ctx offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, priority) == 56, "flextoe_md.priority offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, ip_version) == 60, "flextoe_md.ip_version offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, saddr) == 64, "flextoe_md.saddr offset");
_Static_assert(__builtin_offsetof(struct flextoe_md, daddr) == 80, "flextoe_md.daddr offset");

#if defined(__bpf__) || defined(__BPF__)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* The metadata of this segment, or NULL where there is none (the kernel's
 * XDP hook) or it is not a flextoe_md of a version this program knows.
 * The bounds check against ctx->data is the one the kernel verifier wants
 * before any access to the metadata area (check_packet_access on
 * PTR_TO_PACKET_META).  Pointers into the frame and the metadata are
 * invalidated by bpf_xdp_adjust_head/_meta/_tail: call this again after. */
static __always_inline struct flextoe_md *flextoe_md_get(struct xdp_md *ctx)
{
	void *meta = (void *)(long)ctx->data_meta;
	void *data = (void *)(long)ctx->data;
	struct flextoe_md *md = meta;

	if ((void *)(md + 1) > data)
		return (struct flextoe_md *)0;
	if (md->version != FLEXTOE_MD_VERSION || md->size < sizeof(*md))
		return (struct flextoe_md *)0;
	return md;
}
#endif /* __bpf__ */

#endif /* FLEXTOE_BPF_H */
