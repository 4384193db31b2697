/* loss_tx.c - sender loss recovery: the SACK scoreboard, RACK marks and the retransmission walk. */
#include <string.h>

#include "core/loss_tx.h"
#include "core/tcp_seq.h"

/* Called by the protocol stage only (core/protocol.c), which owns struct
 * ftoe_lt inside struct flow_tcp (docs/design.md section 3). */

void ftoe_lt_reset(struct ftoe_lt *lt)
{
	memset(lt, 0, sizeof(*lt));
	lt->reo_mult = 1;
}

static uint32_t hole_lo(const struct ftoe_lt *lt, unsigned i, uint32_t snd_una)
{
	return i ? lt->blk[i - 1].end : snd_una;
}

static void remove_at(struct ftoe_lt *lt, unsigned i, unsigned cnt)
{
	unsigned rest = lt->n - i - cnt;

	memmove(&lt->blk[i], &lt->blk[i + cnt], rest * sizeof(lt->blk[0]));
	memmove(&lt->ts[i], &lt->ts[i + cnt], rest * sizeof(lt->ts[0]));
	memmove(&lt->hole[i], &lt->hole[i + cnt], rest * sizeof(lt->hole[0]));
	lt->n = (uint8_t)(lt->n - cnt);
}

/* Data that was never resent reached the receiver below data it had
 * already SACKed: the network reordered it (RFC 8985 6.1).  How long the
 * hole waited is how far the network reorders.  A hole that waited longer
 * than an SRTT was more likely filled by SACK blocks the sender learns
 * late (the ACK that carried them was lost, or they fell out of the
 * receiver's three most recent): no reordering measured then. */
static unsigned reordered(struct ftoe_lt *lt, unsigned i, const struct ftoe_lt_ack *a)
{
	uint32_t ext;

	if (lt->hole[i] == FTOE_LT_H_SENT)
		return 0;
	ext = a->now_us - lt->ts[i];
	if (a->srtt_us && ext > a->srtt_us)
		return 0;
	if (ext > lt->reo_ext_us)
		lt->reo_ext_us = ext;
	return FTOE_LT_R_REORDER;
}

/* Forget what the cumulative ACK now covers. */
static unsigned trim(struct ftoe_lt *lt, const struct ftoe_lt_ack *a)
{
	unsigned res = 0, drop = 0;

	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t lo = hole_lo(lt, i, a->una_prev);

		/* the ACK reached into hole i (partly or wholly) */
		if (seq_after(a->snd_una, lo) && seq_before(lo, lt->blk[i].start) &&
		    seq_after(a->snd_una, a->una_prev))
			res |= reordered(lt, i, a);
		if (seq_after(lt->blk[i].end, a->snd_una))
			break;
		drop++;
	}
	if (drop)
		remove_at(lt, 0, drop);
	if (lt->n && seq_before(lt->blk[0].start, a->snd_una))
		lt->blk[0].start = a->snd_una;
	return res;
}

/* A new hole above every block: in flight until RACK says otherwise,
 * unless an RTO made everything below rto_end lost. */
static void new_top_hole(struct ftoe_lt *lt, unsigned i, const struct ftoe_lt_ack *a,
			 uint32_t lo)
{
	lt->ts[i] = a->now_us;
	lt->hole[i] = FTOE_LT_H_WAIT;
	if ((lt->flags & FTOE_LT_F_RTO) && seq_before(lo, lt->rto_end))
		/* the RTO's walk resends in order: has it been there yet? */
		lt->hole[i] = seq_after(a->snd_nxt, lo) ? FTOE_LT_H_SENT : FTOE_LT_H_LOST;
}

/* Merge [l, r) into the scoreboard. */
static unsigned merge(struct ftoe_lt *lt, uint32_t l, uint32_t r, struct ftoe_lt_ack *a)
{
	unsigned i0 = 0, i1, res = 0;

	while (i0 < lt->n && seq_before(lt->blk[i0].end, l))
		i0++;
	i1 = i0;
	while (i1 < lt->n && seq_before_eq(lt->blk[i1].start, r))
		i1++;
	if (i1 == i0) {
		/* touches no block: a new one at i0 */
		uint32_t lo;

		if (lt->n == FTOE_LT_BLOCKS) {
			if (i0 == lt->n) {
				a->forgot += r - l;
				return FTOE_LT_R_FULL; /* above them all: stays "in flight" */
			}
			/* the highest block goes back to "in flight" */
			a->forgot += lt->blk[lt->n - 1].end - lt->blk[lt->n - 1].start;
			res |= FTOE_LT_R_FULL;
			lt->n--;
		}
		memmove(&lt->blk[i0 + 1], &lt->blk[i0], (lt->n - i0) * sizeof(lt->blk[0]));
		memmove(&lt->ts[i0 + 1], &lt->ts[i0], (lt->n - i0) * sizeof(lt->ts[0]));
		memmove(&lt->hole[i0 + 1], &lt->hole[i0], (lt->n - i0) * sizeof(lt->hole[0]));
		lt->n++;
		lt->blk[i0].start = l;
		lt->blk[i0].end = r;
		lo = hole_lo(lt, i0, a->snd_una);
		if (i0 + 1 < lt->n) {
			/* splits hole i0: both parts keep its state */
			res |= reordered(lt, i0 + 1, a);
		} else {
			new_top_hole(lt, i0, a, lo);
		}
		return res | FTOE_LT_R_NEWSACK;
	}
	/* overlaps or touches blocks i0 .. i1-1 */
	if (seq_before(l, lt->blk[i0].start)) {
		res |= FTOE_LT_R_NEWSACK;
		res |= reordered(lt, i0, a);
		lt->blk[i0].start = l;
	}
	for (unsigned k = i0 + 1; k < i1; k++) {
		res |= FTOE_LT_R_NEWSACK;
		res |= reordered(lt, k, a);
	}
	if (seq_after(r, lt->blk[i1 - 1].end)) {
		res |= FTOE_LT_R_NEWSACK;
		lt->blk[i1 - 1].end = r;
	}
	lt->blk[i0].end = lt->blk[i1 - 1].end;
	if (i1 - i0 > 1)
		remove_at(lt, i0 + 1, i1 - i0 - 1);
	return res;
}

static void rtx_drop(struct ftoe_lt *lt, unsigned i)
{
	memmove(&lt->rtx[i], &lt->rtx[i + 1], (lt->nrtx - i - 1) * sizeof(lt->rtx[0]));
	lt->nrtx--;
}

static void undo_disarm(struct ftoe_lt *lt)
{
	lt->flags &= (uint8_t)~FTOE_LT_F_DSUNDO;
	lt->nrtx = 0;
}

/* RFC 3708 2 with per-range marks: the part of [l, r) that was resent
 * this episode reached the receiver twice, so that retransmission was
 * not needed.  Returns FTOE_LT_R_DSUNDO once none is left.  A D-SACK of
 * bytes never resent (the network duplicated them) changes nothing:
 * Linux counts every D-SACK below snd_una, which a duplicating path
 * turns into undos of real losses. */
static unsigned dsack_undo(struct ftoe_lt *lt, uint32_t l, uint32_t r)
{
	bool hit = false;

	if (!(lt->flags & FTOE_LT_F_DSUNDO) || !lt->nrtx)
		return 0;
	for (unsigned i = 0; i < lt->nrtx; i++) {
		uint32_t a = lt->rtx[i].start, b = lt->rtx[i].end;

		if (!seq_before(l, b) || !seq_after(r, a))
			continue;
		hit = true;
		if (seq_after(l, a) && seq_before(r, b)) {
			/* the middle: split */
			if (lt->nrtx == FTOE_LT_RTX) {
				undo_disarm(lt);
				return 0;
			}
			memmove(&lt->rtx[i + 2], &lt->rtx[i + 1],
				(lt->nrtx - i - 1) * sizeof(lt->rtx[0]));
			lt->nrtx++;
			lt->rtx[i].end = l;
			lt->rtx[i + 1].start = r;
			lt->rtx[i + 1].end = b;
			break;
		}
		if (seq_after(l, a)) {
			lt->rtx[i].end = l;
		} else if (seq_before(r, b)) {
			lt->rtx[i].start = r;
		} else {
			rtx_drop(lt, i);
			i--;
		}
	}
	if (!hit || lt->nrtx)
		return 0;
	undo_disarm(lt);
	return FTOE_LT_R_DSUNDO;
}

void ftoe_lt_undo_arm(struct ftoe_lt *lt)
{
	lt->flags |= FTOE_LT_F_DSUNDO;
	lt->nrtx = 0;
}

/* Remember [seq, end) as resent; a byte resent twice disarms. */
static void rtx_add(struct ftoe_lt *lt, uint32_t seq, uint32_t end)
{
	unsigned i = 0;

	if (!(lt->flags & FTOE_LT_F_DSUNDO))
		return;
	while (i < lt->nrtx && seq_before(lt->rtx[i].end, seq))
		i++;
	if (i < lt->nrtx && seq_before(lt->rtx[i].start, end) && seq_before(seq, lt->rtx[i].end)) {
		undo_disarm(lt);
		return;
	}
	if (i < lt->nrtx && lt->rtx[i].end == seq) {
		if (i + 1 < lt->nrtx && seq_before(lt->rtx[i + 1].start, end)) {
			undo_disarm(lt);
			return;
		}
		lt->rtx[i].end = end;
		if (i + 1 < lt->nrtx && lt->rtx[i + 1].start == end) {
			lt->rtx[i].end = lt->rtx[i + 1].end;
			rtx_drop(lt, i + 1);
		}
		return;
	}
	if (i < lt->nrtx && lt->rtx[i].start == end) {
		lt->rtx[i].start = seq;
		return;
	}
	if (lt->nrtx == FTOE_LT_RTX) {
		undo_disarm(lt);
		return;
	}
	memmove(&lt->rtx[i + 1], &lt->rtx[i], (lt->nrtx - i) * sizeof(lt->rtx[0]));
	lt->rtx[i].start = seq;
	lt->rtx[i].end = end;
	lt->nrtx++;
}

unsigned ftoe_lt_on_ack(struct ftoe_lt *lt, struct ftoe_lt_ack *a)
{
	unsigned res = trim(lt, a), first = 0;

	a->forgot = 0;
	if (seq_after(a->snd_una, a->una_prev))
		res |= FTOE_LT_R_NEWSACK;
	/* RFC 2883 4: the first block is a D-SACK when it lies below the
	 * cumulative ACK or inside the second block - that ACK's own
	 * cumulative ACK: an ACK the network reordered reports blocks a later
	 * ACK has covered since, which are old news, not duplicates. */
	if (a->nblk && (seq_before_eq(a->blk_r[0], a->snd_una - a->ack_behind) ||
			(a->nblk > 1 && seq_after_eq(a->blk_l[0], a->blk_l[1]) &&
			 seq_before_eq(a->blk_r[0], a->blk_r[1])))) {
		res |= FTOE_LT_R_DSACK;
		first = 1;
		/* RFC 8985 6.2 step 4: widen the window once per round trip,
		 * and keep it for 16 recoveries.  Only while something was
		 * resent: a D-SACK otherwise reports a duplicate the network
		 * made, which says nothing about our window. */
		if ((lt->flags & (FTOE_LT_F_RECOV | FTOE_LT_F_TLP)) &&
		    seq_after_eq(a->snd_una, lt->dsack_end)) {
			if (lt->reo_mult < 255)
				lt->reo_mult++;
			lt->dsack_end = a->snd_max;
		}
		lt->reo_persist = 16;
		res |= dsack_undo(lt, a->blk_l[0], a->blk_r[0]);
	}
	for (unsigned i = first; i < a->nblk; i++) {
		uint32_t l = a->blk_l[i], r = a->blk_r[i];

		if (seq_before(l, a->snd_una))
			l = a->snd_una;
		if (seq_after(r, a->snd_max))
			r = a->snd_max;
		if (seq_before(l, r))
			res |= merge(lt, l, r, a);
	}
	if (res & FTOE_LT_R_REORDER)
		lt->flags |= FTOE_LT_F_REORD;
	if (res & FTOE_LT_R_NEWSACK) {
		lt->deliv_us = a->now_us;
		lt->xflags &= (uint8_t)~FTOE_LT_X_RPROBE;
	}
	if ((lt->flags & FTOE_LT_F_RECOV) && seq_after_eq(a->snd_una, lt->recover)) {
		lt->flags &= (uint8_t)~FTOE_LT_F_RECOV;
		if (lt->reo_persist && !--lt->reo_persist) {
			lt->reo_mult = 1;
			lt->reo_ext_us = 0;
		}
	}
	if ((lt->flags & FTOE_LT_F_RTO) && seq_after_eq(a->snd_una, lt->rto_end))
		lt->flags &= (uint8_t)~FTOE_LT_F_RTO;
	if ((lt->flags & FTOE_LT_F_TLP) && seq_after_eq(a->snd_una, lt->tlp_end))
		lt->flags &= (uint8_t)~FTOE_LT_F_TLP;
	return res;
}

uint32_t ftoe_lt_sacked(const struct ftoe_lt *lt)
{
	uint32_t b = 0;

	for (unsigned i = 0; i < lt->n; i++)
		b += lt->blk[i].end - lt->blk[i].start;
	return b;
}

uint32_t ftoe_lt_pipe(const struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_nxt,
		      uint32_t snd_max)
{
	uint32_t out = snd_max - snd_una - ftoe_lt_sacked(lt), top, from;

	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t lo = hole_lo(lt, i, snd_una), hi = lt->blk[i].start;

		if (lt->hole[i] != FTOE_LT_H_LOST || !seq_before(lo, hi))
			continue;
		/* the walk may stand inside the hole: what is below it went again */
		from = seq_after(snd_nxt, lo) && seq_before(snd_nxt, hi) ? snd_nxt : lo;
		out -= hi - from;
	}
	if (lt->flags & FTOE_LT_F_RTO) {
		top = lt->n ? lt->blk[lt->n - 1].end : snd_una;
		from = seq_after(lt->rto_sent, top) ? lt->rto_sent : top;
		if (seq_before(from, lt->rto_end))
			out -= lt->rto_end - from;
	}
	return (int32_t)out < 0 ? 0 : out;
}

uint32_t ftoe_lt_reo_wnd(const struct ftoe_lt *lt, uint32_t min_rtt_us, uint32_t srtt_us,
			 uint32_t sacked_segs)
{
	uint64_t w, ext, floor = 0;

	/* One or two segments SACKed past a hole, outside a recovery: too
	 * little to call it loss before the cap, SRTT (a reordered link must
	 * not see a retransmission before its first reordering is measured).
	 * This holds after reordering was seen too: seeing it must never
	 * shrink the window, yet a first fill read in the same batch of ACKs
	 * measured almost nothing and left min_RTT / 4, shorter than the
	 * ACK path's own reordering; the next one-segment hole was resent
	 * (loss_tx.sh's 25 % reordering: every retransmission sent while
	 * ACKs flowed had exactly one segment SACKed). */
	if (!(lt->flags & FTOE_LT_F_RECOV) && sacked_segs < 3)
		floor = srtt_us;
	/* Without reordering seen, DupThresh (3) SACKed segments or a
	 * recovery already under way mean loss, not reordering. */
	if (!(lt->flags & FTOE_LT_F_REORD))
		return (uint32_t)floor;
	/* RFC 8985: min_RTT / 4 times the D-SACK multiplier, up to SRTT;
	 * and never below the reordering actually measured (plus a
	 * quarter), up to 2 SRTT. */
	w = (uint64_t)(lt->reo_mult ? lt->reo_mult : 1) * (min_rtt_us / 4);
	if (w > srtt_us)
		w = srtt_us;
	ext = (uint64_t)lt->reo_ext_us + lt->reo_ext_us / 4;
	if (ext > 2ull * srtt_us)
		ext = 2ull * srtt_us;
	/* Each spurious retransmission proven by D-SACK or Eifel (reo_mult
	 * grew) on a path that reorders (reordering measured) is reordering
	 * longer than the window: widen it by an SRTT per step, up to 4 SRTT
	 * (an engine choice past RFC 8985's SRTT cap: on a shared host ACKs
	 * bunch up for several RTTs).  Without measured reordering an undo
	 * is more likely a duplicated retransmission (a duplicating path),
	 * and a wide window would only slow loss detection. */
	if (lt->reo_mult > 1 && lt->reo_ext_us) {
		uint64_t cap = (uint64_t)(lt->reo_mult < 4 ? lt->reo_mult : 4) * srtt_us;

		if (w < cap)
			w = cap;
	}
	if (ext > w)
		w = ext;
	return (uint32_t)(floor > w ? floor : w);
}

static bool passed(uint32_t now_us, uint32_t due_us)
{
	return (int32_t)(now_us - due_us) >= 0;
}

/* An ACK brought new data at or after hole i was resent. */
static bool delivered_since(const struct ftoe_lt *lt, unsigned i)
{
	return passed(lt->deliv_us, lt->ts[i]);
}

unsigned ftoe_lt_detect(struct ftoe_lt *lt, uint32_t snd_una, uint32_t now_us,
			uint32_t reo_us, uint32_t rtt_us, bool delivered, uint32_t *lowest)
{
	unsigned lost = 0;

	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t lo = hole_lo(lt, i, snd_una);

		if (!seq_before(lo, lt->blk[i].start))
			continue;
		if ((lt->hole[i] == FTOE_LT_H_WAIT && passed(now_us, lt->ts[i] + reo_us)) ||
		    (lt->hole[i] == FTOE_LT_H_SENT && delivered && delivered_since(lt, i) &&
		     passed(now_us, lt->ts[i] + rtt_us + reo_us))) {
			lt->hole[i] = FTOE_LT_H_LOST;
			if (!lost++)
				*lowest = lo;
		}
	}
	return lost;
}

bool ftoe_lt_next_due(const struct ftoe_lt *lt, uint32_t reo_us, uint32_t rtt_us,
		      uint32_t *due_us)
{
	bool any = false;

	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t due = lt->ts[i] + reo_us;

		if (lt->hole[i] == FTOE_LT_H_SENT) {
			if (!delivered_since(lt, i))
				continue; /* the next ACK with new data decides */
			due += rtt_us;
		} else if (lt->hole[i] != FTOE_LT_H_WAIT) {
			continue;
		}
		if (!any || (int32_t)(due - *due_us) < 0)
			*due_us = due;
		any = true;
	}
	return any;
}

bool ftoe_lt_lost_pending(const struct ftoe_lt *lt)
{
	for (unsigned i = 0; i < lt->n; i++)
		if (lt->hole[i] == FTOE_LT_H_LOST)
			return true;
	return false;
}

bool ftoe_lt_tail_resent(const struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_max)
{
	if (!lt->n || lt->blk[lt->n - 1].end != snd_max)
		return false;
	for (unsigned i = 0; i < lt->n; i++) {
		if (!seq_before(hole_lo(lt, i, snd_una), lt->blk[i].start))
			continue;
		if (lt->hole[i] != FTOE_LT_H_SENT || delivered_since(lt, i))
			return false;
	}
	return true;
}

unsigned ftoe_lt_resent_lost(struct ftoe_lt *lt, uint32_t snd_una, uint32_t *lowest)
{
	unsigned lost = 0;

	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t lo = hole_lo(lt, i, snd_una);

		if (lt->hole[i] != FTOE_LT_H_SENT || !seq_before(lo, lt->blk[i].start))
			continue;
		lt->hole[i] = FTOE_LT_H_LOST;
		if (!lost++)
			*lowest = lo;
	}
	return lost;
}

bool ftoe_lt_walk(struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_max, uint32_t *snd_nxt,
		  uint32_t *lim)
{
	uint32_t p = seq_before(*snd_nxt, snd_una) ? snd_una : *snd_nxt, top;

	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t lo = hole_lo(lt, i, snd_una), hi = lt->blk[i].start;

		if (seq_before(p, hi)) {
			if (seq_before(p, lo))
				p = lo;
			if (lt->hole[i] == FTOE_LT_H_LOST && seq_before(p, hi)) {
				*snd_nxt = p;
				*lim = hi - p;
				return true;
			}
		}
		if (seq_before(p, lt->blk[i].end))
			p = lt->blk[i].end;
	}
	top = lt->n ? lt->blk[lt->n - 1].end : snd_una;
	if (seq_before(p, top))
		p = top;
	if ((lt->flags & FTOE_LT_F_RTO) && seq_before(p, lt->rto_end) && seq_before(p, snd_max)) {
		*snd_nxt = p;
		*lim = lt->rto_end - p;
		return true;
	}
	*snd_nxt = snd_max;
	return false;
}

void ftoe_lt_sent(struct ftoe_lt *lt, uint32_t snd_una, uint32_t seq, uint32_t end,
		  uint32_t now_us)
{
	rtx_add(lt, seq, end);
	if ((lt->flags & FTOE_LT_F_RTO) && seq_after(end, lt->rto_sent) &&
	    seq_before_eq(end, lt->rto_end))
		lt->rto_sent = end;
	for (unsigned i = 0; i < lt->n; i++) {
		uint32_t lo = hole_lo(lt, i, snd_una), hi = lt->blk[i].start;

		if (seq_before(seq, lo))
			return;
		if (seq_before(seq, hi)) {
			if (lt->hole[i] == FTOE_LT_H_LOST && seq_after_eq(end, hi)) {
				lt->hole[i] = FTOE_LT_H_SENT;
				lt->ts[i] = now_us;
			}
			return;
		}
	}
}

void ftoe_lt_on_rto(struct ftoe_lt *lt, uint32_t snd_una, uint32_t snd_max, bool forget)
{
	lt->rto_sent = snd_una;
	if (forget)
		lt->n = 0;
	for (unsigned i = 0; i < lt->n; i++)
		lt->hole[i] = FTOE_LT_H_LOST;
	lt->flags |= FTOE_LT_F_RTO;
	lt->flags &= (uint8_t)~FTOE_LT_F_TLP;
	lt->rto_end = snd_max;
}
