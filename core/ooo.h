/* ooo.h - the out-of-order intervals of a flow's receive side, and the SACK blocks they give. */
#ifndef FTOE_CORE_OOO_H
#define FTOE_CORE_OOO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * docs/loss.md describes the receiver's side of loss recovery.
 *
 * A flow holds up to FTOE_OOO_IV_MAX disjoint, non-adjacent intervals of
 * out-of-order data [start, end) in its receive buffer (the payload itself
 * sits in the rx ring at its sequence position; only the edges live here).
 * The engine's setting (struct ftoe_engine_cfg ooo_intervals, `flextoe
 * --ooo-intervals N`) may use fewer.  All positions are sequence numbers
 * (serial arithmetic, core/tcp_seq.h); every interval lies strictly after
 * rcv_nxt and inside the receive window, so comparisons never wrap
 * ambiguously.
 *
 * The array is kept in the order RFC 2018 section 4 wants the SACK blocks:
 * the interval that took the most recent segment first, then the others
 * by how recently they changed.  The position is the recency stamp, so no
 * counter is stored, and an ACK's blocks are a prefix of the array.
 *
 * Overlaps keep the first copy of a byte (as Linux does, RFC 9293 3.10.7.4
 * leaves it open): only the first stretch of a segment's bytes that is not
 * held already is placed.  A segment that would need two stretches (a
 * retransmission longer than the hole it fills, reaching past an interval
 * into new data) leaves its tail to the sender, which has not seen it
 * acknowledged.
 *
 * A duplicate (all or part of a segment below rcv_nxt or inside an
 * interval) is remembered as the D-SACK block (RFC 2883) that the next ACK
 * reports first.
 */
#ifndef FTOE_OOO_IV_MAX
#define FTOE_OOO_IV_MAX 16  /* compile-time maximum of intervals per flow */
#endif
#define FTOE_OOO_IV_DEFAULT 16 /* the engine's default (capped at the maximum) */
/* The first FTOE_OOO_IV_HOT intervals sit in struct ftoe_ooo, in the
 * protocol state's first cache line next to rcv_nxt; the others in struct
 * ftoe_ooo_more, a line of their own at the end of the flow's state,
 * touched only while more than FTOE_OOO_IV_HOT holes are open.  An ACK's
 * SACK blocks (at most 4) always come from the first part. */
#define FTOE_OOO_IV_HOT (FTOE_OOO_IV_MAX < 4 ? FTOE_OOO_IV_MAX : 4)
#define FTOE_OOO_IV_MORE (FTOE_OOO_IV_MAX - FTOE_OOO_IV_HOT)

/* A range of sequence space [start, end). */
struct ftoe_seq_range {
	uint32_t start, end;
};

struct ftoe_ooo {
	struct ftoe_seq_range iv[FTOE_OOO_IV_HOT]; /* held, most recently changed first */
	struct ftoe_seq_range dsack; /* duplicate to report; start == end: none */
	uint8_t n;                   /* intervals in use (here and in ftoe_ooo_more) */
};

/* Intervals FTOE_OOO_IV_HOT .. n-1, continuing the recency order. */
struct ftoe_ooo_more {
	struct ftoe_seq_range iv[FTOE_OOO_IV_MORE > 0 ? FTOE_OOO_IV_MORE : 1];
};

/* Interval i (0 .. n-1) of the two parts. */
static inline struct ftoe_seq_range *ftoe_ooo_iv(struct ftoe_ooo *o, struct ftoe_ooo_more *m,
						 unsigned i)
{
	return i < FTOE_OOO_IV_HOT ? &o->iv[i] : &m->iv[i - FTOE_OOO_IV_HOT];
}

static inline struct ftoe_seq_range ftoe_ooo_iv_get(const struct ftoe_ooo *o,
						    const struct ftoe_ooo_more *m, unsigned i)
{
	return i < FTOE_OOO_IV_HOT ? o->iv[i] : m->iv[i - FTOE_OOO_IV_HOT];
}

enum ftoe_ooo_verdict {
	FTOE_OOO_EMPTY = 0,   /* no payload: nothing to do */
	FTOE_OOO_IN_ORDER,    /* placed at rcv_nxt: rcv_nxt advanced */
	FTOE_OOO_NEW,         /* opened an interval */
	FTOE_OOO_MERGED,      /* extended an interval, or joined two */
	FTOE_OOO_DUP,         /* nothing new (all before rcv_nxt or inside an interval) */
	FTOE_OOO_DROP_WINDOW, /* entirely outside the receive window */
	FTOE_OOO_DROP_FULL,   /* would open an interval, but all are in use */
};

struct ftoe_ooo_result {
	enum ftoe_ooo_verdict verdict;
	uint32_t trim_head;  /* payload bytes to skip at the start */
	uint32_t copy_len;   /* payload bytes to place (0 when nothing) */
	uint32_t copy_seq;   /* sequence number of the first byte placed */
	uint32_t advance;    /* bytes rcv_nxt moved (payload + absorbed intervals) */
};

/*
 * Process a segment's payload [seq, seq + len) against rcv_nxt, a receive
 * window of rcv_wnd bytes and the intervals, of which at most max (1 ..
 * FTOE_OOO_IV_MAX; out of range: the maximum) may be in use; more NULL:
 * at most FTOE_OOO_IV_HOT.  Updates
 * *rcv_nxt and *ooo, and says which part of the payload to copy into the
 * receive buffer.  The payload is first trimmed to the window (RFC 9293
 * 3.10.7.4: a segment is acceptable if any part lies in the window; the
 * rest is cut).  Data at rcv_nxt advances it over every interval it
 * reaches; data elsewhere in the window extends or joins the intervals it
 * touches, or opens a new one while one is free.
 */
void ftoe_ooo_rx(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		 struct ftoe_ooo_more *more, unsigned max, uint32_t seq, uint32_t len,
		 struct ftoe_ooo_result *res);

/*
 * ftoe_ooo_rx's loss-free case, for the protocol stage to take inline: the
 * payload starts at rcv_nxt, nothing is held, and all of it fits the
 * window.  Then rcv_nxt simply moves over it and it is copied whole; false
 * (nothing changed) for everything else, which ftoe_ooo_rx decides.
 */
static inline bool ftoe_ooo_rx_in_order(uint32_t *rcv_nxt, uint32_t rcv_wnd,
					const struct ftoe_ooo *ooo, uint32_t seq,
					uint32_t len, struct ftoe_ooo_result *res)
{
	if (seq != *rcv_nxt || ooo->n || len == 0 || len > rcv_wnd)
		return false;
	res->verdict = FTOE_OOO_IN_ORDER;
	res->trim_head = 0;
	res->copy_len = len;
	res->copy_seq = seq;
	res->advance = len;
	*rcv_nxt = seq + len;
	return true;
}

/*
 * Report [start, end) as a duplicate in the next ACK's first block (RFC 2883
 * 4): for an old duplicate the protocol stage drops before ftoe_ooo_rx (not
 * acceptable, or PAWS).
 */
void ftoe_ooo_dsack(struct ftoe_ooo *ooo, uint32_t start, uint32_t end);

/*
 * The SACK blocks for the next ACK (RFC 2018 4, RFC 2883 4): the pending
 * D-SACK block first (then forgotten: it is reported once), then the
 * intervals, most recent first; at most room (<= FTOE_OOO_IV_HOT + 1)
 * blocks.  Returns how many.
 */
unsigned ftoe_ooo_sack(struct ftoe_ooo *ooo, struct ftoe_seq_range *out, unsigned room);

/* Nonzero while out-of-order data is held (a hole exists at rcv_nxt). */
static inline unsigned ftoe_ooo_held(const struct ftoe_ooo *ooo)
{
	return ooo->n;
}

#endif
