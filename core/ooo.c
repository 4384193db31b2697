/* ooo.c - the out-of-order intervals of a flow's receive side, and the SACK blocks they give. */
#include "core/ooo.h"
#include "core/tcp_seq.h"

/* Both parts of a flow's intervals (core/ooo.h). */
struct ivs {
	struct ftoe_ooo *o;
	struct ftoe_ooo_more *m;
};

static struct ftoe_seq_range *iv(const struct ivs *v, unsigned i)
{
	return ftoe_ooo_iv(v->o, v->m, i);
}

/* Move interval i to the front (it took the newest segment, RFC 2018 4). */
static void to_front(const struct ivs *v, unsigned i)
{
	struct ftoe_seq_range x = *iv(v, i);

	for (; i > 0; i--)
		*iv(v, i) = *iv(v, i - 1);
	*iv(v, 0) = x;
}

static void remove_at(const struct ivs *v, unsigned i)
{
	for (; i + 1 < v->o->n; i++)
		*iv(v, i) = *iv(v, i + 1);
	v->o->n--;
}

/* The interval holding sequence number p, or -1. */
static int holding(const struct ivs *v, uint32_t p)
{
	for (unsigned i = 0; i < v->o->n; i++) {
		const struct ftoe_seq_range *r = iv(v, i);

		if (seq_before_eq(r->start, p) && seq_before(p, r->end))
			return (int)i;
	}
	return -1;
}

/* RFC 2883 4: the duplicate range the next ACK reports first. */
void ftoe_ooo_dsack(struct ftoe_ooo *o, uint32_t start, uint32_t end)
{
	o->dsack.start = start;
	o->dsack.end = end;
}

void ftoe_ooo_rx(uint32_t *rcv_nxt, uint32_t rcv_wnd, struct ftoe_ooo *ooo,
		 struct ftoe_ooo_more *more, unsigned max, uint32_t seq, uint32_t len,
		 struct ftoe_ooo_result *res)
{
	uint32_t nxt = *rcv_nxt, wnd_end = nxt + rcv_wnd, end, p, stop;
	int i, hit = -1, l = -1, r = -1;
	struct ivs v = { ooo, more };

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
	if (!more && max > FTOE_OOO_IV_HOT)
		max = FTOE_OOO_IV_HOT;

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
	while ((i = holding(&v, p)) >= 0) {
		hit = i;
		p = iv(&v, (unsigned)i)->end;
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
			to_front(&v, (unsigned)hit);
		return;
	}
	/* The first stretch not held: [p, stop), up to the next interval. */
	stop = end;
	for (unsigned k = 0; k < ooo->n; k++)
		if (seq_after(iv(&v, k)->start, p) && seq_before(iv(&v, k)->start, stop))
			stop = iv(&v, k)->start;
	if (seq_before(seq, p)) {
		ftoe_ooo_dsack(ooo, seq, p);
	} else if (stop != end) {
		i = holding(&v, stop);
		ftoe_ooo_dsack(ooo, stop, seq_min(end, iv(&v, (unsigned)i)->end));
	}
	res->copy_seq = p;
	res->copy_len = stop - p;
	res->trim_head = p - seq;

	if (p == nxt) {
		/* In order: rcv_nxt moves over every interval it reaches. */
		nxt = stop;
		while ((i = holding(&v, nxt)) >= 0) {
			nxt = iv(&v, (unsigned)i)->end;
			remove_at(&v, (unsigned)i);
		}
		res->verdict = FTOE_OOO_IN_ORDER;
		res->advance = nxt - *rcv_nxt;
		*rcv_nxt = nxt;
		return;
	}

	/* Out of order: join the neighbours it touches. */
	for (unsigned k = 0; k < ooo->n; k++) {
		if (iv(&v, k)->end == p)
			l = (int)k;
		if (iv(&v, k)->start == stop)
			r = (int)k;
	}
	if (l >= 0 && r >= 0) {
		iv(&v, (unsigned)l)->end = iv(&v, (unsigned)r)->end;
		remove_at(&v, (unsigned)r);
		if (r < l)
			l--;
		to_front(&v, (unsigned)l);
		res->verdict = FTOE_OOO_MERGED;
	} else if (l >= 0) {
		iv(&v, (unsigned)l)->end = stop;
		to_front(&v, (unsigned)l);
		res->verdict = FTOE_OOO_MERGED;
	} else if (r >= 0) {
		iv(&v, (unsigned)r)->start = p;
		to_front(&v, (unsigned)r);
		res->verdict = FTOE_OOO_MERGED;
	} else if (ooo->n < max) {
		ooo->n++;
		iv(&v, ooo->n - 1u)->start = p;
		iv(&v, ooo->n - 1u)->end = stop;
		to_front(&v, ooo->n - 1u);
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
	/* room is at most 4 (40 option bytes): the first part holds them */
	for (unsigned i = 0; i < ooo->n && i < FTOE_OOO_IV_HOT && k < room; i++)
		out[k++] = ooo->iv[i];
	return k;
}
