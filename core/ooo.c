/* ooo.c - the out-of-order intervals of a flow's receive side, and the SACK blocks they give. */
#include "core/ooo.h"
#include "core/tcp_seq.h"

/* Move interval i to the front (it took the newest segment, RFC 2018 4). */
static void to_front(struct ftoe_ooo *o, unsigned i)
{
	struct ftoe_seq_range v = o->iv[i];

	for (; i > 0; i--)
		o->iv[i] = o->iv[i - 1];
	o->iv[0] = v;
}

static void remove_at(struct ftoe_ooo *o, unsigned i)
{
	for (; i + 1 < o->n; i++)
		o->iv[i] = o->iv[i + 1];
	o->n--;
}

/* The interval holding sequence number p, or -1. */
static int holding(const struct ftoe_ooo *o, uint32_t p)
{
	for (unsigned i = 0; i < o->n; i++)
		if (seq_before_eq(o->iv[i].start, p) && seq_before(p, o->iv[i].end))
			return (int)i;
	return -1;
}

/* RFC 2883 4: the duplicate range the next ACK reports first. */
void ftoe_ooo_dsack(struct ftoe_ooo *o, uint32_t start, uint32_t end)
{
	o->dsack.start = start;
	o->dsack.end = end;
}

void ftoe_ooo_rx(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo, unsigned max,
		 uint32_t seq, uint32_t len, struct ftoe_ooo_result *res)
{
	uint32_t nxt = *rcv_nxt, wnd_end = nxt + rcv_wnd, end, p, stop;
	int i, hit = -1, l = -1, r = -1;

	res->verdict = FTOE_OOO_EMPTY;
	res->trim_head = 0;
	res->copy_len = 0;
	res->copy_seq = nxt;
	res->advance = 0;
	if (len == 0)
		return;
	/* The loss-free fast path: in order, nothing held. */
	if (seq == nxt && !ooo->n) {
		if (!rcv_wnd) {
			res->verdict = FTOE_OOO_DROP_WINDOW;
			return;
		}
		if (len > rcv_wnd)
			len = rcv_wnd;
		res->verdict = FTOE_OOO_IN_ORDER;
		res->copy_len = len;
		res->advance = len;
		*rcv_nxt = nxt + len;
		return;
	}
	if (max < 1 || max > FTOE_OOO_IV_MAX)
		max = FTOE_OOO_IV_MAX;

	end = seq + len;
	/* Entirely old: a retransmission of data already delivered. */
	if (seq_before_eq(end, nxt)) {
		res->verdict = FTOE_OOO_DUP;
		ftoe_ooo_dsack(ooo, seq, end);
		return;
	}
	/* Starts at/after the right edge (or zero window): not acceptable. */
	if (!seq_before(seq_max(seq, nxt), wnd_end)) {
		res->verdict = FTOE_OOO_DROP_WINDOW;
		return;
	}
	if (seq_after(end, wnd_end))
		end = wnd_end;

	/* Skip what is held already (the first copy of a byte wins): the
	 * part below rcv_nxt, then the intervals it runs into.  Intervals are
	 * never adjacent, so this crosses at most one. */
	p = seq_max(seq, nxt);
	while ((i = holding(ooo, p)) >= 0) {
		hit = i;
		p = ooo->iv[i].end;
		if (!seq_before(p, end))
			break;
	}
	if (!seq_before(p, end)) {
		/* All held: inside one interval (all below rcv_nxt was
		 * handled above).  Its block goes first, right after the
		 * D-SACK block, as RFC 2883 4.1.2 shows. */
		res->verdict = FTOE_OOO_DUP;
		ftoe_ooo_dsack(ooo, seq, end);
		if (hit >= 0)
			to_front(ooo, (unsigned)hit);
		return;
	}
	/* The first stretch not held: [p, stop), up to the next interval. */
	stop = end;
	for (unsigned k = 0; k < ooo->n; k++)
		if (seq_after(ooo->iv[k].start, p) && seq_before(ooo->iv[k].start, stop))
			stop = ooo->iv[k].start;
	if (seq_before(seq, p)) {
		ftoe_ooo_dsack(ooo, seq, p);
	} else if (stop != end) {
		i = holding(ooo, stop);
		ftoe_ooo_dsack(ooo, stop, seq_min(end, ooo->iv[i].end));
	}
	res->copy_seq = p;
	res->copy_len = stop - p;
	res->trim_head = p - seq;

	if (p == nxt) {
		/* In order: rcv_nxt moves over every interval it reaches. */
		nxt = stop;
		while ((i = holding(ooo, nxt)) >= 0) {
			nxt = ooo->iv[i].end;
			remove_at(ooo, (unsigned)i);
		}
		res->verdict = FTOE_OOO_IN_ORDER;
		res->advance = nxt - *rcv_nxt;
		*rcv_nxt = nxt;
		return;
	}

	/* Out of order: join the neighbours it touches. */
	for (unsigned k = 0; k < ooo->n; k++) {
		if (ooo->iv[k].end == p)
			l = (int)k;
		if (ooo->iv[k].start == stop)
			r = (int)k;
	}
	if (l >= 0 && r >= 0) {
		ooo->iv[l].end = ooo->iv[r].end;
		remove_at(ooo, (unsigned)r);
		if (r < l)
			l--;
		to_front(ooo, (unsigned)l);
		res->verdict = FTOE_OOO_MERGED;
	} else if (l >= 0) {
		ooo->iv[l].end = stop;
		to_front(ooo, (unsigned)l);
		res->verdict = FTOE_OOO_MERGED;
	} else if (r >= 0) {
		ooo->iv[r].start = p;
		to_front(ooo, (unsigned)r);
		res->verdict = FTOE_OOO_MERGED;
	} else if (ooo->n < max) {
		ooo->n++;
		ooo->iv[ooo->n - 1].start = p;
		ooo->iv[ooo->n - 1].end = stop;
		to_front(ooo, ooo->n - 1u);
		res->verdict = FTOE_OOO_NEW;
	} else {
		/* No interval free.  Not held, never acknowledged: the sender
		 * resends it once the holes before it are filled. */
		res->verdict = FTOE_OOO_DROP_FULL;
		res->copy_len = 0;
		res->copy_seq = nxt;
		res->trim_head = 0;
	}
}

unsigned ftoe_ooo_sack(struct ftoe_ooo *ooo, struct ftoe_seq_range *out, unsigned room)
{
	unsigned k = 0;

	if (ooo->dsack.start != ooo->dsack.end && room) {
		out[k++] = ooo->dsack;
		ooo->dsack.end = ooo->dsack.start;
	}
	for (unsigned i = 0; i < ooo->n && k < room; i++)
		out[k++] = ooo->iv[i];
	return k;
}
