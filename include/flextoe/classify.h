/* flextoe/classify.h - map layouts of the classify XDP program.
 *
 * classify looks a segment's 5-tuple up in classify_flows, then its local
 * port (destination on RX, source on TX) in classify_ports, and writes the
 * result into flextoe_md (app_ctx, priority, FLEXTOE_MDF_CLASS).  In the
 * engine, app_ctx is an application context's id (ftoe_ctx_id()): a new
 * connection to a port that several contexts share (ftoe_listen_shared())
 * is accepted by the context named here (docs/programs.md).
 */
#ifndef FLEXTOE_CLASSIFY_H
#define FLEXTOE_CLASSIFY_H

#include <linux/types.h>

/* classify_ports key */
struct classify_port_key {
	__u8 proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8 pad;		/* zero */
	__u16 port;		/* host order */
};

/* classify_flows key: addresses network order (IPv4: first 4 bytes),
 * ports host order, as seen in the frame (source = remote on RX). */
struct classify_flow_key {
	__u8 family;		/* 4 or 6 */
	__u8 proto;
	__u16 sport;
	__u16 dport;
	__u16 pad;		/* zero */
	__u8 saddr[16];
	__u8 daddr[16];
};

struct classify_val {
	__u32 app_ctx;
	__u16 priority;
	__u16 flow_group;	/* non-zero: also override flextoe_md.flow_group */
};

enum classify_stat {
	CLASSIFY_SEEN = 0,
	CLASSIFY_NO_MD,		/* no flextoe_md (kernel hook): nothing to write */
	CLASSIFY_FLOW_HIT,
	CLASSIFY_PORT_HIT,
	CLASSIFY_MISS,
	CLASSIFY_STAT_MAX,
};

_Static_assert(sizeof(struct classify_flow_key) == 40, "classify_flow_key layout");
_Static_assert(sizeof(struct classify_val) == 8, "classify_val layout");

#endif /* FLEXTOE_CLASSIFY_H */
