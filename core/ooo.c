/* ooo.c - the single out-of-order interval of a flow's receive side. */
#include "core/ooo.h"
#include "core/tcp_seq.h"

/* Remember that [.., end) was dropped here although it was in the window. */
static void note_drop(struct ftoe_ooo *ooo, uint32_t end)
{
	if (!ooo->dropped || seq_after(end, ooo->drop_end))
		ooo->drop_end = end;
	ooo->dropped = 1;
}

void ftoe_ooo_rx(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		 uint32_t seq, uint32_t len, struct ftoe_ooo_result *res)
{
	ftoe_ooo_rx_near(rcv_nxt, rcv_wnd, ooo, seq, len, UINT32_MAX, res);
}

void ftoe_ooo_rx_near(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		      uint32_t seq, uint32_t len, uint32_t near,
		      struct ftoe_ooo_result *res)
{
	uint32_t nxt = *rcv_nxt, wnd_end = nxt + rcv_wnd, end;

	res->verdict = FTOE_OOO_EMPTY;
	res->trim_head = 0;
	res->copy_len = 0;
	res->copy_seq = nxt;
	res->advance = 0;
	if (len == 0)
		return;

	end = seq + len;
	/* Entirely old: a retransmission of data we already have. */
	if (seq_before_eq(end, nxt)) {
		res->verdict = FTOE_OOO_DUP;
		return;
	}
	/* Starts at/after the right edge (or zero window): not acceptable. */
	if (!seq_before(seq_max(seq, nxt), wnd_end)) {
		res->verdict = FTOE_OOO_DROP_WINDOW;
		return;
	}
	/* Trim to [rcv_nxt, rcv_nxt + rcv_wnd). */
	if (seq_before(seq, nxt)) {
		res->trim_head = nxt - seq;
		seq = nxt;
	}
	if (seq_after(end, wnd_end))
		end = wnd_end;
	len = end - seq;

	if (seq == nxt) {
		/* In order: deliver, and absorb the interval if we reached it
		 * (the overlap is the same data, TCP assumes, so re-copying the
		 * whole segment is harmless and keeps one copy range). */
		res->verdict = FTOE_OOO_IN_ORDER;
		res->copy_seq = seq;
		res->copy_len = len;
		if (ooo->len && seq_before_eq(ooo->start, end)) {
			uint32_t ooo_end = ooo->start + ooo->len;

			end = seq_max(end, ooo_end);
			ooo->start = 0;
			ooo->len = 0;
		}
		res->advance = end - nxt;
		*rcv_nxt = end;
		/* Everything dropped here has been received again. */
		if (ooo->dropped && !seq_after(ooo->drop_end, end))
			ooo->dropped = 0;
		return;
	}

	/* Out of order, inside the window. */
	if (ooo->len == 0) {
		/* Keep the slot for the resent range while data dropped here
		 * is outstanding (ooo.h explains why). */
		if (ooo->dropped && seq_after(ooo->drop_end, nxt) && seq - nxt > near) {
			note_drop(ooo, end);
			res->verdict = FTOE_OOO_DROP_FAR;
			res->trim_head = 0;
			return;
		}
		ooo->start = seq;
		ooo->len = len;
		res->verdict = FTOE_OOO_NEW;
	} else {
		uint32_t a = ooo->start, b = ooo->start + ooo->len;

		/* Disjoint (not even adjacent): a second hole, dropped. */
		if (seq_after(seq, b) || seq_before(end, a)) {
			note_drop(ooo, end);
			res->verdict = FTOE_OOO_DROP_HOLE;
			res->trim_head = 0;
			return;
		}
		if (seq_after_eq(seq, a) && seq_before_eq(end, b)) {
			res->verdict = FTOE_OOO_DUP;
			res->trim_head = 0;
			return;
		}
		a = seq_min(a, seq);
		b = seq_max(b, end);
		ooo->start = a;
		ooo->len = b - a;
		res->verdict = FTOE_OOO_MERGED;
	}
	res->copy_seq = seq;
	res->copy_len = len;
}
