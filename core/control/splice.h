/* splice.h - connection splicing in the control plane: offsets from the engine's TCP state, the splice program's map entries, release when the program tears the splice down. */
#ifndef FTOE_CORE_CONTROL_SPLICE_H
#define FTOE_CORE_CONTROL_SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flextoe/splice.h"

struct ftoe_engine;

/*
 * The engine relays nothing itself: the splice program
 * (xdp-progs/splice.bpf.c) at rx-pre does, from two splice_flows entries
 * the control plane installs.  The core does not know where that map
 * lives (docs/design.md section 2: core/ does not depend on ebpf/), so the
 * backend gives map access through these callbacks, by map: 0 or
 * -errno, -ENODEV when no program at rx-pre has that map.
 */
enum ftoe_splice_map {
	FTOE_SPLICE_FLOWS = 0,	/* splice_flows: struct splice_key -> struct splice_entry */
	FTOE_SPLICE_ENDS,	/* splice_ends: struct splice_key -> struct splice_end */
	FTOE_SPLICE_FLOWS6,	/* splice_flows6: struct splice_key6 -> struct splice_entry6 */
	FTOE_SPLICE_ENDS6,	/* splice_ends6: struct splice_key6 -> struct splice_end */
};

struct ftoe_splice_map_ops {
	void *ctx;
	int (*update)(void *ctx, enum ftoe_splice_map m, const void *key, const void *val);
	/* -ENOENT: no such key; -ENODEV: no such map (any more) */
	int (*lookup)(void *ctx, enum ftoe_splice_map m, const void *key, void *val);
	int (*remove)(void *ctx, enum ftoe_splice_map m, const void *key);
};

struct ftoe_splicer;

/* What the program relayed for one socket of a splice (0 when unknown). */
struct ftoe_splice_counts {
	uint64_t from_peer_bytes, to_peer_bytes;	/* payload from its peer, to its peer */
	uint64_t from_peer_segs, to_peer_segs;
};

/* Called by ftoe_splicer_poll for each socket of a splice that ended and
 * whose application still holds it: err 0 after FIN both ways,
 * -ECONNRESET after a RST, -ECONNABORTED when the entries vanished
 * otherwise (the program was unloaded). */
typedef void (*ftoe_splice_done_fn)(void *arg, int sock, int err,
				    const struct ftoe_splice_counts *cnt);

int ftoe_splicer_create(struct ftoe_engine *e, const struct ftoe_splice_map_ops *ops,
			struct ftoe_splicer **out);
/* Forgets every splice (engine shutdown): flows are not touched. */
void ftoe_splicer_destroy(struct ftoe_splicer *sp);

/* Splice the established connections a and b (engine sockets).  0, or:
 * -EINVAL (a == b), -EBADF (not a connection), -ENOTCONN (not
 * ESTABLISHED), -EALREADY (already spliced), -EAGAIN (unacknowledged
 * data, unread or out-of-order received data, a FIN in either
 * direction: retry later), -EOPNOTSUPP (timestamps on one connection
 * only), -EMSGSIZE (a peer's MSS is below the engine's: segments could
 * not be relayed whole), -ENOENT (no splice program at rx-pre), -ENOSPC
 * (map full).  err gets a sentence saying which. */
int ftoe_splicer_splice(struct ftoe_splicer *sp, int a, int b, char *err, size_t err_size);
bool ftoe_splicer_is_spliced(struct ftoe_splicer *sp, int sock);
/* The application let go of sock (close, abort, exit): the splice goes
 * on and the flow is freed silently when it ends. */
void ftoe_splicer_release(struct ftoe_splicer *sp, int sock);
/* Look at the entries of every splice (call every ~100 ms): for those
 * the program deleted, free both flows and report the sockets still
 * held (done).  Returns the number of splices ended. */
unsigned int ftoe_splicer_poll(struct ftoe_splicer *sp, ftoe_splice_done_fn done, void *arg);
/* Splices in effect. */
unsigned int ftoe_splicer_count(const struct ftoe_splicer *sp);

/* Pure arithmetic (unit-tested): the entry for segments arriving on the
 * connection described by in and leaving on out. */
struct ftoe_splice_side {
	uint8_t local_mac[6], remote_mac[6];
	uint32_t local_ip, remote_ip;		/* host order (IPv4) */
	bool ipv6;				/* then these instead: */
	uint8_t local_ip6[16], remote_ip6[16];	/* as on the wire */
	uint16_t local_port, remote_port;	/* host order */
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_now, ts_recent;		/* our TSval clock now, TS.Recent */
	uint8_t snd_wscale, rcv_wscale;		/* 0 without window scaling */
	bool ts, ecn, sack;
	uint32_t flow_id;
};
void ftoe_splice_entry(const struct ftoe_splice_side *in, const struct ftoe_splice_side *out,
		       struct splice_key *k, struct splice_entry *v);
/* The same for two IPv6 connections (splice_flows6). */
void ftoe_splice_entry6(const struct ftoe_splice_side *in, const struct ftoe_splice_side *out,
			struct splice_key6 *k, struct splice_entry6 *v);

/* A segment of a spliced flow that reached the engine (core/control/conn.c).
 * With the stages on several threads (--workers N > 1), frames that passed
 * rx-pre just before the splice entries went in are still on their way to
 * the protocol thread: the rx-pre chain runs on such a segment once more,
 * now that the splice program knows its flow, and what the program relays
 * (XDP_TX) is sent.  Anything else - no program, a splice that has ended -
 * is dropped without an answer. */
struct ftoe_rx_item;
void ftoe_splice_late_rx(struct ftoe_engine *e, const struct ftoe_rx_item *it);

#endif
