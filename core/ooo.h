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
 */
struct ftoe_ooo {
	uint32_t start; /* first sequence number held */
	uint32_t len;   /* 0: no interval */
};

enum ftoe_ooo_verdict {
	FTOE_OOO_EMPTY = 0,   /* no payload: nothing to do */
	FTOE_OOO_IN_ORDER,    /* starts at rcv_nxt: rcv_nxt advanced */
	FTOE_OOO_NEW,         /* opened the interval */
	FTOE_OOO_MERGED,      /* extended / merged into the interval */
	FTOE_OOO_DUP,         /* nothing new (all before rcv_nxt or inside the interval) */
	FTOE_OOO_DROP_WINDOW, /* entirely outside the receive window */
	FTOE_OOO_DROP_HOLE,   /* would be a second disjoint interval */
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
 */
void ftoe_ooo_rx(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		 uint32_t seq, uint32_t len, struct ftoe_ooo_result *res);

#endif
