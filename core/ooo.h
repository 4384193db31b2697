/* ooo.h - the single out-of-order interval of a flow's receive side. */
#ifndef FTOE_CORE_OOO_H
#define FTOE_CORE_OOO_H

#include <stdint.h>

/*
 * FlexTOE (like TAS) keeps one interval of out-of-order data per flow in the
 * receive buffer instead of a list: data that fits the interval (or touches
 * it) is kept, a second disjoint hole is dropped and left to the sender's
 * retransmission.  All positions are sequence numbers (serial arithmetic,
 * core/tcp_seq.h); the interval always lies strictly after rcv_nxt and
 * inside the receive window, so min/max over it never wrap ambiguously.
 *
 * Besides the interval the receiver remembers one thing, holding no data:
 * that it dropped a second hole itself, up to drop_end.  The sender will
 * resend that range from rcv_nxt on, so while it is outstanding a new
 * interval is opened only near rcv_nxt (see ftoe_ooo_rx_near).
 */
struct ftoe_ooo {
	uint32_t start; /* first sequence number held */
	uint32_t len;   /* 0: no interval */
	uint32_t drop_end; /* end of the data dropped here, valid while dropped */
	uint32_t dropped;  /* nonzero: data up to drop_end was dropped, not lost */
};

enum ftoe_ooo_verdict {
	FTOE_OOO_EMPTY = 0,   /* no payload: nothing to do */
	FTOE_OOO_IN_ORDER,    /* starts at rcv_nxt: rcv_nxt advanced */
	FTOE_OOO_NEW,         /* opened the interval */
	FTOE_OOO_MERGED,      /* extended / merged into the interval */
	FTOE_OOO_DUP,         /* nothing new (all before rcv_nxt or inside the interval) */
	FTOE_OOO_DROP_WINDOW, /* entirely outside the receive window */
	FTOE_OOO_DROP_HOLE,   /* would be a second disjoint interval */
	FTOE_OOO_DROP_FAR,    /* would open the interval far beyond data dropped here */
};

struct ftoe_ooo_result {
	enum ftoe_ooo_verdict verdict;
	uint32_t trim_head;  /* payload bytes to skip at the start */
	uint32_t copy_len;   /* payload bytes to place (0 when nothing) */
	uint32_t copy_seq;   /* sequence number of the first byte placed */
	uint32_t advance;    /* bytes rcv_nxt moved (payload + absorbed interval) */
};

/*
 * Process a segment's payload [seq, seq + len) against rcv_nxt, a receive
 * window of rcv_wnd bytes and the interval.  Updates *rcv_nxt and *ooo, and
 * says which part of the payload to copy into the receive buffer.
 * The payload is first trimmed to the window (RFC 9293 section 3.10.7.4:
 * a segment is acceptable if any part lies in the window; the rest is cut).
 * Accepted: data at rcv_nxt (absorbing the interval when it reaches it),
 * data overlapping or adjacent to either end of the interval, and with no
 * interval, data anywhere in the window (a new interval).
 */
void ftoe_ooo_rx(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		 uint32_t seq, uint32_t len, struct ftoe_ooo_result *res);

/*
 * As ftoe_ooo_rx, except that while data this receiver dropped as a second
 * hole is still outstanding (ooo->dropped), a new interval may only open
 * within `near` bytes of rcv_nxt; data further on is dropped too
 * (FTOE_OOO_DROP_FAR).  Why: the sender resends the dropped range in
 * sequence order from rcv_nxt.  If the single interval sat far ahead, one
 * lost or overtaken segment in that stream would make every later one a
 * second hole, the sender would see nothing delivered after its
 * retransmission and could only wait for its RTO (RACK, RFC 8985 6.2,
 * needs a later-sent segment delivered).  Kept free, the interval opens
 * right after such a hole and its SACK block triggers a fast retransmit.
 * Genuine losses, with nothing dropped here, still open it anywhere.
 */
void ftoe_ooo_rx_near(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		      uint32_t seq, uint32_t len, uint32_t near,
		      struct ftoe_ooo_result *res);

#endif
