/* protocol.c - protocol stage: per-flow sequence/ACK processing, windows, OOO intervals, go-back-N. */
#include <string.h>

#include "core/byteorder.h"
#include "core/engine_internal.h"
#include "core/hooks.h"
#include "core/md_snapshot.h"
#include "core/pipeline.h"
#include "core/tcp_seq.h"

/* The only stage that writes struct flow_tcp (docs/design.md section 3). */

/* PAWS slack in TSval ticks (1 ms, ftoe_proto_ts_now's clock is ours; the
 * peer's is typically 1 ms too): see ftoe_proto_rx_one. */
#define FTOE_PAWS_SLACK_TICKS 8

uint32_t ftoe_proto_ts_now(struct ftoe_engine *e, uint32_t id)
{
	/* RFC 7323 section 5.4: a 1 ms clock keeps PAWS sound for long idle
	 * periods (a 1 us clock would wrap its sign in 36 minutes). */
	return (uint32_t)(e->now / 1000000u) + e->tcp[id].ts_off;
}

/* Ring position of rcv_nxt (the peer's FIN takes a sequence number but no
 * buffer space). */
static uint32_t rx_head_pos(const struct flow_tcp *t)
{
	return t->rcv_nxt - t->rx_seq0 - ((t->flags & FLOW_TCP_FIN_RX) ? 1 : 0);
}

static inline uint32_t rx_space(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_mem *m = &e->mem[id];
	uint32_t used = rx_head_pos(&e->tcp[id]) - m->rx_tail;

	return used >= m->rx_size ? 0 : m->rx_size - used;
}

uint32_t ftoe_proto_rx_space(struct ftoe_engine *e, uint32_t id)
{
	return rx_space(e, id);
}

uint16_t ftoe_proto_window(struct ftoe_engine *e, uint32_t id)
{
	struct flow_tcp *t = &e->tcp[id];
	uint32_t room = rx_space(e, id), space = room, edge = t->rcv_nxt + room;
	uint8_t shift = (t->flags & FLOW_TCP_WSCALE) ? t->rcv_wscale : 0;
	uint32_t sws = e->mem[id].rx_size / 2, field;

	/* Receiver-side silly window avoidance (RFC 9293 3.8.6.2.2): move the
	 * right edge only by at least min(buffer / 2, MSS). */
	if (sws > t->rcv_mss && t->rcv_mss)
		sws = t->rcv_mss;
	if (seq_after(edge, t->rcv_adv) && edge - t->rcv_adv < sws)
		space = seq_after(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	/* Never move the advertised edge left (RFC 7323 2.4, RFC 9293 3.8.6). */
	field = wscale_advertise_noshrink(space, shift, t->rcv_nxt, t->rcv_adv);
	/* ...but rounding up to keep it may not promise bytes the ring cannot
	 * hold: repeated, each round-up adds up to 2^shift - 1 of them, and
	 * the sender fills them.  Then retract by less than 2^shift instead,
	 * the case RFC 7323 2.4 foresees; rcv_adv keeps the old edge, which
	 * the ring holds, for the acceptability test. */
	if ((field << shift) > room)
		field = wscale_advertise(room, shift);
	if (seq_after(t->rcv_nxt + (field << shift), t->rcv_adv))
		t->rcv_adv = t->rcv_nxt + (field << shift);
	t->rcv_wnd = space;
	return (uint16_t)field;
}

/* RFC 2883 4 (as Linux's tcp_send_dupack): an old duplicate dropped before
 * the data step still gets its D-SACK block, so the sender learns that its
 * retransmission was spurious. */
static void dsack_old(struct flow_tcp *t, const struct ftoe_seg *s)
{
	if (s->payload_len && seq_before(s->seq, t->rcv_nxt))
		ftoe_ooo_dsack(&t->ooo, s->seq, seq_min(s->seq + s->payload_len, t->rcv_nxt));
}

/* Fill the parts every segment of an established flow shares. */
static void fill_common(struct ftoe_engine *e, uint32_t id, struct ftoe_tx_item *it)
{
	struct flow_tcp *t = &e->tcp[id];

	it->flow = id;
	it->ack = t->rcv_nxt;
	it->win = ftoe_proto_window(e, id);
	it->tcp_flags = FTOE_TCP_ACK;
	/* DCTCP receiver (RFC 8257 3.2): ECE mirrors the CE state of the
	 * latest data segment. */
	if ((t->flags & FLOW_TCP_ECN) && (t->flags & FLOW_TCP_CE))
		it->tcp_flags |= FTOE_TCP_ECE;
	it->ecn = FTOE_ECN_NOT_ECT;
	it->opts = 0;
	if (t->flags & FLOW_TCP_TS) {
		it->opts |= FTOE_TX_O_TS;
		it->ts_val = ftoe_proto_ts_now(e, id);
		it->ts_ecr = t->ts_recent;
	}
	it->nsack = 0;
	it->len = 0;
	it->tx_pos = 0;
	it->retx = false;
	/* Every segment carries the ACK: nothing is left to delay. */
	t->rcv_unacked = 0;
	ftoe_timer_stop(e, id, FTOE_T_DELACK);
}

void ftoe_proto_ack(struct ftoe_engine *e, uint32_t id, struct ftoe_tx_item *it)
{
	struct flow_tcp *t = &e->tcp[id];

	fill_common(e, id, it);
	it->seq = t->snd_nxt;
	/* RFC 2018 4 / RFC 2883 4: while out-of-order data is held, or a
	 * duplicate has just arrived, the ACK reports it: the D-SACK block
	 * first, then the intervals, most recent first, as many as fit (40
	 * option bytes: 3 blocks beside timestamps, 4 without).  Only pure
	 * ACKs carry them: a data segment's MSS leaves room for timestamps
	 * only, and the ACKs that matter here are sent at once anyway. */
	if (t->flags & FLOW_TCP_SACK) {
		it->nsack = (uint8_t)ftoe_ooo_sack(&t->ooo, it->sack,
						   (t->flags & FLOW_TCP_TS) ? 3 : FTOE_TX_SACK_MAX);
		if (it->nsack)
			it->opts |= FTOE_TX_O_SACK;
	}
}

void ftoe_proto_go_back(struct ftoe_engine *e, uint32_t id)
{
	struct flow_tcp *t = &e->tcp[id];

	/* FlexTOE 4.2 / TAS: resend from snd_una (with SACK, the walk in
	 * ftoe_proto_sack_skip then sends only what ftoe_lt marks lost). */
	t->snd_nxt = t->snd_una;
	t->snd_recover = t->snd_max;
	t->flags |= FLOW_TCP_RETX;
	t->dupack_cnt = 0;
	/* the segment at snd_una goes out again now (ftoe_proto_tx refines) */
	t->hole_ns = e->now;
	/* Karn (RFC 6298 3): no RTT sample across a retransmission. */
	e->ctl[id].rtt_on = false;
}

void ftoe_proto_rto(struct ftoe_engine *e, uint32_t id)
{
	struct flow_tcp *t = &e->tcp[id];
	struct ftoe_lt *lt = &t->lt;

	/* issue 12: RACK should have found a loss under 3 SACKed segments.
	 * Counted once the first ACK after the timeout shows that it was
	 * needed (rto_verdict); one still undecided counts now. */
	if (lt->xflags & FTOE_LT_X_RTO_SACKED)
		FTOE_ST_INC(e, timeouts_sacked);
	lt->xflags &= (uint8_t)~FTOE_LT_X_RTO_SACKED;
	if (t->snd_mss && ftoe_lt_sacked(lt) >= 3u * t->snd_mss)
		lt->xflags |= FTOE_LT_X_RTO_SACKED;
	/* RFC 6675 5.1 keeps the scoreboard across a timeout, as Linux does,
	 * so SACKed data is not sent again; a second timeout in a row drops
	 * it, in case the receiver reneged (RFC 2018 8). */
	ftoe_lt_on_rto(lt, t->snd_una, t->snd_max, e->ctl[id].rto.backoffs > 1);
	/* F-RTO (RFC 5682 2.1), decided by Eifel: resend only the segment at
	 * snd_una until the next ACK says whether the timeout was spurious. */
	if (t->flags & FLOW_TCP_TS)
		lt->flags |= FTOE_LT_F_FRTO;
	/* A timeout inside a recovery episode keeps the episode's undo
	 * marks (as Linux keeps undo_marker): its resends join them. */
	if (!(lt->flags & FTOE_LT_F_RECOV))
		ftoe_lt_undo_arm(lt);
	lt->flags |= FTOE_LT_F_RECOV;
	lt->flags &= (uint8_t)~FTOE_LT_F_EIFEL;
	lt->recover = t->snd_max;
	lt->rtx_segs = 0;
	ftoe_timer_stop(e, id, FTOE_T_RACK);
	ftoe_proto_go_back(e, id);
}

uint32_t ftoe_proto_sack_skip(struct ftoe_engine *e, uint32_t id)
{
	struct flow_tcp *t = &e->tcp[id];
	uint32_t lim = UINT32_MAX;

	if ((t->flags & (FLOW_TCP_RETX | FLOW_TCP_SACK)) != (FLOW_TCP_RETX | FLOW_TCP_SACK))
		return lim;
	/* F-RTO (RFC 5682 2.1): the first segment went out again; until the
	 * next ACK tells whether the timeout was spurious, new data may go
	 * (step 2b) but no more of the window is resent. */
	if ((t->lt.flags & FTOE_LT_F_FRTO) && seq_after(t->snd_nxt, t->snd_una)) {
		t->snd_nxt = t->snd_max;
		return lim;
	}
	/* Only the holes marked lost go out again (RFC 6675 NextSeg rule 1,
	 * with RACK's marks); SACKed data never does (RFC 2018 8 lets us
	 * not resend it). */
	if (!ftoe_lt_walk(&t->lt, t->snd_una, t->snd_max, &t->snd_nxt, &lim)) {
		t->flags &= ~FLOW_TCP_RETX;
		t->lt.flags &= (uint8_t)~FTOE_LT_F_FRTO;
	}
	return lim;
}

uint32_t ftoe_proto_pipe(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];

	if (!(t->flags & FLOW_TCP_SACK))
		/* go-back-N puts snd_nxt back: what it resent is in flight */
		return t->snd_nxt - t->snd_una;
	return ftoe_lt_pipe(&t->lt, t->snd_una, t->snd_nxt, t->snd_max);
}

bool ftoe_proto_cwnd_room(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	uint32_t cwnd = e->cc[id].cwnd;

	if (!cwnd || ftoe_proto_pipe(e, id) < cwnd)
		return true;
	/* RFC 8985 7.3: the probe goes whatever the window (as Linux's),
	 * and so does a resend the RACK timer decided */
	if (t->lt.flags & FTOE_LT_F_PROBE)
		return true;
	/* RFC 6675 5 (4.3), RFC 6937's one forced segment: the first
	 * retransmission of an episode goes whatever the window. */
	return (t->flags & FLOW_TCP_SACK) && (t->flags & FLOW_TCP_RETX) &&
	       seq_before(t->snd_nxt, t->snd_max) && (t->lt.flags & FTOE_LT_F_RECOV) &&
	       !t->lt.rtx_segs;
}

/* The ACK's SACK blocks as they came (RFC 2018 3); the parser validated
 * the option lengths.  Returns how many (at most 4). */
static unsigned sack_parse(const struct ftoe_rx_item *it, struct ftoe_lt_ack *a)
{
	const struct ftoe_seg *s = &it->seg;
	const uint8_t *o = it->frame + s->l4_off + 20, *end = it->frame + s->payload_off;

	a->nblk = 0;
	if (!(s->opts & FTOE_OPT_SACK))
		return 0;
	while (o < end && *o != FTOE_TCPOPT_EOL) {
		if (*o == FTOE_TCPOPT_NOP) {
			o++;
			continue;
		}
		if (end - o < 2 || o[1] < 2 || o[1] > end - o)
			return 0;
		if (o[0] == FTOE_TCPOPT_SACK) {
			for (unsigned i = 0; i + 10 <= o[1] && a->nblk < 4; i += 8) {
				a->blk_l[a->nblk] = ftoe_get_be32(o + 2 + i);
				a->blk_r[a->nblk] = ftoe_get_be32(o + 6 + i);
				a->nblk++;
			}
			return a->nblk;
		}
		o += o[1];
	}
	return 0;
}

static uint32_t now_us(const struct ftoe_engine *e)
{
	return (uint32_t)(e->now / 1000u);
}

/* Tail loss probe timeout (RFC 8985 7.2): 2 SRTT, plus the worst-case
 * delayed ACK when one segment is out.  The floor keeps a probe from
 * firing while a busy shared core merely delays the ACK clock: the RTO
 * floor is 200 ms, so the probe still comes 20 times sooner. */
#define FTOE_TLP_MIN_US 10000u
#define FTOE_TLP_DELACK_US 200000u

/* RFC 8985 6.2 step 4, with the estimator's RTTs (no sample yet: none),
 * and never past half the RTO: the window grows with SRTT (up to 4 SRTT
 * after undos), and on a loaded host SRTT reaches tens of ms, where a
 * hole waited out the RTO with ACKs flowing and was resent by the
 * timeout.  RACK has to decide first (RFC 8985 8: the RTO is the last
 * resort), with an RTT left for its resend. */
static uint32_t reo_wnd(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	const struct ftoe_rto *r = &e->ctl[id].rto;
	uint32_t mss = t->snd_mss ? t->snd_mss : 536, cap = ftoe_rto_current(r) / 2;
	uint32_t segs = ftoe_lt_sacked(&t->lt) / mss;
	uint32_t w = ftoe_lt_reo_wnd(&t->lt, r->min_us, ftoe_rto_srtt(r), segs);

	/* One or two segments SACKed past a hole outside a recovery is as
	 * weak a sign of loss as the silence a tail loss probe waits out:
	 * at least the probe's floor, which covers a shared core holding
	 * the ACKs for a few ms (25 % reordering: RACK timers fired after
	 * 5-9 ms without an ACK, with SRTT under that). */
	if (segs < 3 && !(t->lt.flags & FTOE_LT_F_RECOV) && w < FTOE_TLP_MIN_US)
		w = FTOE_TLP_MIN_US;
	return w < cap ? w : cap;
}

static uint64_t tlp_timeout_us(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	uint64_t pto = 2ull * ftoe_rto_srtt(&e->ctl[id].rto);

	if (t->snd_max - t->snd_una <= t->snd_mss)
		pto += FTOE_TLP_DELACK_US;
	return pto < FTOE_TLP_MIN_US ? FTOE_TLP_MIN_US : pto;
}

/* How long a resent hole may go unacknowledged when no later ACK brings
 * RACK's evidence (the tail of a recovery): 2 SRTT, as the probe
 * timeout, instead of the RTO. */
static uint32_t resent_wait_us(const struct ftoe_engine *e, uint32_t id)
{
	return 2u * ftoe_rto_srtt(&e->ctl[id].rto);
}

/* A recovery probe may go: in a recovery (not after a timeout), a hole
 * is marked lost but the window holds it back, and none went since data
 * was last delivered.  The ACKs that would open the window have stopped
 * coming (a busy host holds them); the probe sends the hole like the
 * tail loss probe, whatever the window (RFC 8985 7.3), a PTO after the
 * last ACK, instead of leaving it to the RTO.  Once per silence, so a
 * dead peer still meets the RTO and its backoff. */
static bool rprobe_due(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	const struct ftoe_lt *lt = &t->lt;

	if (!(lt->flags & FTOE_LT_F_RECOV) || (lt->flags & FTOE_LT_F_RTO) ||
	    (lt->xflags & FTOE_LT_X_RPROBE))
		return false;
	/* The same at the tail of a recovery: the holes were resent and
	 * everything else is SACKed, so no later ACK can show RACK that a
	 * resend was lost (RFC 8985 6.2 needs a delivery after it): the
	 * probe resends them once more. */
	return ((t->flags & FLOW_TCP_RETX) && ftoe_lt_lost_pending(lt)) ||
	       ftoe_lt_tail_resent(lt, t->snd_una, t->snd_max);
}

/* The RACK timer: the earliest waiting hole's deadline (RFC 8985 6.3),
 * else a recovery probe (rprobe_due), else a tail loss probe while
 * nothing else recovers (7.2). */
static void rack_arm(struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	const struct ftoe_lt *lt = &t->lt;
	uint32_t due, now = now_us(e);

	if (t->snd_una == t->snd_max || !e->ctl[id].rto.have_sample) {
		ftoe_timer_stop(e, id, FTOE_T_RACK);
		return;
	}
	if (ftoe_lt_next_due(lt, reo_wnd(e, id), resent_wait_us(e, id), &due)) {
		int32_t d = (int32_t)(due - now);

		ftoe_timer_set(e, id, FTOE_T_RACK, e->now + (d > 0 ? (uint64_t)d * 1000u : 0) + 1000u);
		return;
	}
	if (rprobe_due(e, id)) {
		ftoe_timer_set(e, id, FTOE_T_RACK, e->now + tlp_timeout_us(e, id) * 1000u);
		return;
	}
	if ((lt->flags & (FTOE_LT_F_RECOV | FTOE_LT_F_TLP | FTOE_LT_F_RTO)) ||
	    (t->flags & FLOW_TCP_RETX)) {
		ftoe_timer_stop(e, id, FTOE_T_RACK);
		return;
	}
	ftoe_timer_set(e, id, FTOE_T_RACK, e->now + tlp_timeout_us(e, id) * 1000u);
}

/* Holes newly marked lost: resend from the lowest.  The first loss of an
 * episode is the congestion signal (one rate cut per episode, the
 * rate-based counterpart of RFC 6937's one reduction per recovery);
 * returns true then. */
static bool rack_retransmit(struct ftoe_engine *e, uint32_t id, uint32_t lowest)
{
	struct flow_tcp *t = &e->tcp[id];
	struct ftoe_lt *lt = &t->lt;
	bool first = !(lt->flags & FTOE_LT_F_RECOV);

	lt->flags &= (uint8_t)~FTOE_LT_F_FRTO;
	if (first) {
		lt->flags |= FTOE_LT_F_RECOV;
		lt->flags &= (uint8_t)~(FTOE_LT_F_EIFEL | FTOE_LT_F_TLP);
		lt->recover = t->snd_max;
		lt->rtx_segs = 0;
		ftoe_lt_undo_arm(lt);
	}
	if (!(t->flags & FLOW_TCP_RETX) || seq_before(lowest, t->snd_nxt))
		t->snd_nxt = lowest;
	t->flags |= FLOW_TCP_RETX;
	/* Karn (RFC 6298 3): the timed segment's ACK waits for the hole. */
	e->ctl[id].rtt_on = false;
	return first;
}

/* Spurious recovery (RFC 3522 Eifel, RFC 3708 D-SACK): stop resending,
 * take back the lost marks, and give the rate back.  A RACK episode was
 * reordering the window did not cover (RFC 8985 6.2: widen it); a timeout
 * was a delay spike, which says nothing about reordering.  eifel: the
 * timestamps proved that the original arrived, after the window had run
 * out: reordering of at least about an SRTT is measured (a D-SACK may
 * also come from a duplicated retransmission, so it measures nothing). */
static void rack_undo(struct ftoe_engine *e, uint32_t id, bool eifel)
{
	struct flow_tcp *t = &e->tcp[id];
	struct ftoe_lt *lt = &t->lt;
	uint32_t srtt = ftoe_rto_srtt(&e->ctl[id].rto);

	if (eifel && !(lt->flags & FTOE_LT_F_RTO) && lt->reo_ext_us < srtt)
		lt->reo_ext_us = srtt ? srtt : 1;

	for (unsigned i = 0; i < lt->n; i++)
		if (lt->hole[i] == FTOE_LT_H_LOST) {
			lt->hole[i] = FTOE_LT_H_WAIT;
			lt->ts[i] = now_us(e);
		}
	if (!(lt->flags & FTOE_LT_F_RTO)) {
		lt->flags |= FTOE_LT_F_REORD;
		if (lt->reo_mult < 255)
			lt->reo_mult = (uint8_t)(lt->reo_mult ? lt->reo_mult + 1 : 2);
		lt->reo_persist = 16;
	}
	lt->flags &= (uint8_t)~(FTOE_LT_F_RTO | FTOE_LT_F_EIFEL | FTOE_LT_F_FRTO |
				FTOE_LT_F_DSUNDO);
	lt->nrtx = 0;
	if (t->flags & FLOW_TCP_RETX) {
		t->flags &= ~FLOW_TCP_RETX;
		t->snd_nxt = t->snd_max;
	}
	FTOE_ST_INC(e, spurious_undos);
}

/* After a timeout taken with 3 or more segments SACKed: was it needed?
 * With timestamps, Eifel answers (RFC 3522 2, for the timeout's own first
 * resend, which arms it): on the ACK that first covers that resend,
 * "spurious" (the earlier copy got there: the ACKs were held up for an
 * RTO on a busy host, and no loss was left for RACK to find) leaves it
 * uncounted; anything else counts it.  Without Eifel, the first ACK after
 * the timeout decides: a D-SACK of the segment resent at snd_una (RFC
 * 2883: it had arrived already, RFC 3708) with a cumulative ACK of all
 * that was outstanding at the timeout leaves it uncounted.  eifel: -1
 * Eifel did not decide on this ACK, else its verdict (1: spurious). */
static void rto_verdict(struct ftoe_engine *e, struct ftoe_lt *lt, const struct ftoe_lt_ack *a,
			unsigned res, int eifel)
{
	bool unneeded;

	if (eifel >= 0)
		unneeded = eifel;
	else if (lt->flags & FTOE_LT_F_EIFEL)
		return; /* Eifel's ACK is yet to come */
	else
		unneeded = (res & FTOE_LT_R_DSACK) && seq_before_eq(a->blk_l[0], a->una_prev) &&
			   seq_after(a->blk_r[0], a->una_prev) &&
			   seq_after_eq(a->snd_una, lt->rto_end);
	lt->xflags &= (uint8_t)~FTOE_LT_X_RTO_SACKED;
	if (!unneeded)
		FTOE_ST_INC(e, timeouts_sacked);
}

/* RACK marked losses on an ACK that the engine read after the RTO fell
 * due (it was off the CPU, and reads the ACKs that came meanwhile before
 * it scans the timers).  The ACK came first: its retransmission goes out
 * in this poll and restarts the timer (loss_tx_sent), not a timeout
 * (RFC 8985 8: the RTO is the last resort), as when the RACK timer and
 * the RTO pass together (core/control/timers.c). */
static void rto_after_rack(struct ftoe_engine *e, uint32_t id)
{
	uint64_t due = e->ctl[id].timer[FTOE_T_TX];

	if (due && due <= e->now)
		ftoe_timer_rto_restart(e, id);
}

/* Sender loss recovery for one ACK of a SACK flow (RFC 6675 scoreboard,
 * RFC 8985 RACK, RFC 3522 / RFC 2883 undo). */
static void loss_tx_ack(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t una_prev)
{
	uint32_t id = it->flow, lowest = 0;
	struct flow_tcp *t = &e->tcp[id];
	struct ftoe_lt *lt = &t->lt;
	const struct ftoe_seg *s = &it->seg;
	struct ftoe_lt_ack a;
	uint32_t sacked;
	unsigned res;
	int eifel = -1;

	sack_parse(it, &a);
	sacked = ftoe_lt_sacked(lt);
	a.una_prev = una_prev;
	a.snd_una = t->snd_una;
	a.ack_behind = seq_before(s->ack, t->snd_una) ? t->snd_una - s->ack : 0;
	a.snd_nxt = t->snd_nxt;
	a.snd_max = t->snd_max;
	a.now_us = now_us(e);
	a.srtt_us = ftoe_rto_srtt(&e->ctl[id].rto);
	res = ftoe_lt_on_ack(lt, &a);
	if (res & FTOE_LT_R_DSACK)
		FTOE_ST_INC(e, rx_dsacks);
	if (res & FTOE_LT_R_FULL) {
		FTOE_ST_INC(e, sack_full);
		FTOE_ST_ADD(e, sack_forgot_segs,
			    t->snd_mss ? (a.forgot + t->snd_mss - 1) / t->snd_mss : 0);
	}
	/* Delivery, not only the cumulative ACK, is what the rate
	 * controller's achieved rate must see during recovery (the
	 * rate-based side of RFC 6937: SACKed data counts as delivered). */
	it->sacked = (int32_t)(ftoe_lt_sacked(lt) - sacked);
	/* Eifel (RFC 3522 2): the ACK that first covers the episode's first
	 * retransmission echoes an older TSval, so the original got there. */
	if ((lt->flags & FTOE_LT_F_EIFEL) && seq_after(t->snd_una, lt->undo_seq) &&
	    (t->flags & FLOW_TCP_TS) && (s->opts & FTOE_OPT_TS)) {
		lt->flags &= (uint8_t)~FTOE_LT_F_EIFEL;
		eifel = seq_before(s->ts_ecr, lt->undo_tsval);
		if (eifel) {
			rack_undo(e, id, true);
			it->res |= FTOE_RX_R_UNDO;
		}
	}
	if (lt->xflags & FTOE_LT_X_RTO_SACKED)
		rto_verdict(e, lt, &a, res, eifel);
	/* D-SACK undo (RFC 3708): every byte resent this episode has been
	 * reported twice by the receiver, so no retransmission was needed. */
	if (res & FTOE_LT_R_DSUNDO) {
		rack_undo(e, id, false);
		FTOE_ST_INC(e, dsack_undos);
		it->res |= FTOE_RX_R_UNDO;
	}
	/* F-RTO ends with the first ACK after the timeout: undone above if
	 * spurious, else the walk goes back over everything unSACKed (from
	 * snd_una: SACKed data is skipped). */
	if ((lt->flags & FTOE_LT_F_FRTO) &&
	    (seq_after(t->snd_nxt, t->snd_una) || t->snd_una != una_prev)) {
		lt->flags &= (uint8_t)~FTOE_LT_F_FRTO;
		if (t->flags & FLOW_TCP_RETX)
			t->snd_nxt = t->snd_una; /* a real timeout: the walk resumes */
		it->res |= FTOE_RX_R_SEND;
	}
	if (ftoe_lt_detect(lt, t->snd_una, a.now_us, reo_wnd(e, id), ftoe_rto_srtt(&e->ctl[id].rto),
			   res & FTOE_LT_R_NEWSACK, &lowest)) {
		it->res |= rack_retransmit(e, id, lowest) ? FTOE_RX_R_FAST_RETX : FTOE_RX_R_LOST_RETX;
		rto_after_rack(e, id);
	}
	rack_arm(e, id);
}

unsigned ftoe_proto_loss_timer(struct ftoe_engine *e, uint32_t id)
{
	struct flow_tcp *t = &e->tcp[id];
	struct ftoe_lt *lt = &t->lt;
	uint32_t lowest = 0, data_end;
	unsigned ret = 0;

	if (!(t->flags & FLOW_TCP_SACK) || t->snd_una == t->snd_max)
		return 0;
	/* RFC 8985 6.3: the reordering window of a waiting hole ran out, or
	 * a resent one has gone unanswered for 2 SRTT */
	if (ftoe_lt_detect(lt, t->snd_una, now_us(e), reo_wnd(e, id),
			   resent_wait_us(e, id), true, &lowest)) {
		/* The timer fired because no ACK came: a full cwnd would
		 * wait for an ACK that will not come, and only the RTO
		 * would end it.  Like the probe, one segment goes whatever
		 * the window. */
		lt->flags |= FTOE_LT_F_PROBE;
		ret = rack_retransmit(e, id, lowest) ? FTOE_LOSS_T_NEW : FTOE_LOSS_T_SEND;
		rack_arm(e, id);
		return ret;
	}
	if (!ftoe_lt_next_due(lt, reo_wnd(e, id), resent_wait_us(e, id), &lowest) &&
	    rprobe_due(e, id)) {
		/* at the tail: the resent holes go again */
		if (!ftoe_lt_lost_pending(lt) && ftoe_lt_resent_lost(lt, t->snd_una, &lowest))
			rack_retransmit(e, id, lowest);
		lt->flags |= FTOE_LT_F_PROBE;
		lt->xflags |= FTOE_LT_X_RPROBE;
		FTOE_ST_INC(e, tlp_probes);
		return FTOE_LOSS_T_SEND;
	}
	if (ftoe_lt_next_due(lt, reo_wnd(e, id), resent_wait_us(e, id), &lowest) ||
	    (lt->flags & (FTOE_LT_F_RECOV | FTOE_LT_F_TLP | FTOE_LT_F_RTO)) ||
	    (t->flags & FLOW_TCP_RETX)) {
		rack_arm(e, id);
		return 0;
	}
	/* RFC 8985 7.3: the tail loss probe, new data if the window allows,
	 * else the last segment again, to draw an ACK whose SACK blocks show
	 * what the tail lost. */
	/* The tail is SACKed: the holes below it are RACK's to find. */
	if (lt->n && lt->blk[lt->n - 1].end == t->snd_max)
		return 0;
	lt->flags |= FTOE_LT_F_TLP | FTOE_LT_F_PROBE;
	lt->tlp_end = t->snd_max;
	FTOE_ST_INC(e, tlp_probes);
	data_end = t->tx_seq0 + e->mem[id].tx_head;
	if (t->snd_nxt == t->snd_max && !(seq_after(data_end, t->snd_max) &&
					  seq_after(t->snd_una + t->snd_wnd, t->snd_max))) {
		uint32_t back = t->snd_mss;

		if (seq_before(data_end, t->snd_una))
			data_end = t->snd_una;
		if (data_end - t->snd_una < back)
			back = data_end - t->snd_una;
		t->snd_nxt = data_end - back;
	}
	return FTOE_LOSS_T_SEND;
}

/* RACK-style check (RFC 8985 6.2) for a lost retransmission: the ACK
 * still names snd_una, yet a reordering window past an RTT has gone by
 * since the segment there was resent, and ACKs keep coming (segments
 * sent after it arrived).  The time bound keeps our own redundant
 * go-back-N retransmissions, whose duplicate ACKs arrive within the RTT,
 * from triggering it. */
static bool retx_lost(struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	const struct ftoe_rto *r = &e->ctl[id].rto;
	uint64_t srtt = ftoe_rto_srtt(r), reo = srtt / 4;

	if (!r->have_sample || !seq_after(t->snd_nxt, t->snd_una) || t->dupack_cnt < 2)
		return false;
	if (ftoe_rto_rttvar(r) > reo)
		reo = ftoe_rto_rttvar(r);
	return e->now - t->hole_ns > (srtt + reo) * 1000u;
}

/* A retransmission is going out (SACK flows): the hole it completes is
 * now resent, and the episode's first one arms Eifel (RFC 3522 2). */
static void loss_tx_sent(struct ftoe_engine *e, uint32_t id, const struct ftoe_tx_item *it,
			 uint32_t span)
{
	struct flow_tcp *t = &e->tcp[id];
	struct ftoe_lt *lt = &t->lt;

	if ((lt->flags & FTOE_LT_F_RTO) && seq_before(it->seq, lt->rto_end))
		FTOE_ST_INC(e, rto_resends);
	ftoe_lt_sent(lt, t->snd_una, it->seq, it->seq + span, now_us(e));
	/* The segment at snd_una went out again: its RTO counts from now (as
	 * Linux rearms it), or a resend that RACK made shortly before would
	 * be overtaken by a timeout. */
	if (it->seq == t->snd_una && !(lt->flags & FTOE_LT_F_RTO))
		ftoe_timer_rto_restart(e, id);
	if (!(lt->flags & FTOE_LT_F_RECOV))
		return;
	if (!lt->rtx_segs && (t->flags & FLOW_TCP_TS)) {
		lt->flags |= FTOE_LT_F_EIFEL;
		lt->undo_seq = it->seq;
		lt->undo_tsval = it->ts_val;
	}
	if (lt->rtx_segs < UINT16_MAX)
		lt->rtx_segs++;
}

void ftoe_proto_tx(struct ftoe_engine *e, struct ftoe_tx_item *items, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ftoe_tx_item *it = &items[i];
		uint32_t id = it->flow, len = it->len;
		struct flow_tcp *t = &e->tcp[id];
		struct flow_ctl *c = &e->ctl[id];
		bool fin = it->tcp_flags & FTOE_TCP_FIN;
		uint32_t end;

		fill_common(e, id, it);
		it->len = (uint16_t)len;
		it->seq = t->snd_nxt;
		it->tx_pos = t->snd_nxt - t->tx_seq0;
		it->retx = seq_before(t->snd_nxt, t->snd_max);
		t->lt.flags &= (uint8_t)~FTOE_LT_F_PROBE;
		if (it->retx) {
			t->retx_ns = e->now;
			if (it->seq == t->snd_una)
				t->hole_ns = e->now;
			if (t->flags & FLOW_TCP_SACK)
				loss_tx_sent(e, id, it, len + (fin ? 1 : 0));
		}
		if (fin)
			it->tcp_flags |= FTOE_TCP_FIN;
		if (len) {
			it->opts |= FTOE_TX_O_DATA;
			/* PSH on the last byte we have (RFC 9293 3.9.1). */
			if (t->snd_nxt + len == t->tx_seq0 + e->mem[id].tx_head)
				it->tcp_flags |= FTOE_TCP_PSH;
			/* RFC 3168 6.1.5: retransmissions are not ECN-capable. */
			if ((t->flags & FLOW_TCP_ECN) && !it->retx) {
				it->ecn = FTOE_ECN_ECT0;
				if (t->flags & FLOW_TCP_CWR_PEND) {
					it->tcp_flags |= FTOE_TCP_CWR;
					t->flags &= ~FLOW_TCP_CWR_PEND;
				}
			}
		}
		end = t->snd_nxt + len + (fin ? 1 : 0);
		if (fin)
			t->flags |= FLOW_TCP_FIN_TX;
		t->snd_nxt = end;
		if (seq_after(end, t->snd_max))
			t->snd_max = end;
		if (!it->retx && !c->rtt_on) {
			c->rtt_on = true;
			c->rtt_seq = end;
			c->rtt_ns = e->now;
		}
		if (!c->timer[FTOE_T_TX])
			ftoe_timer_rto_restart(e, id);
		if (!c->timer[FTOE_T_RACK] && (t->flags & FLOW_TCP_SACK))
			rack_arm(e, id);
	}
}

void ftoe_proto_tx_undo(struct ftoe_engine *e, const struct ftoe_tx_item *it)
{
	struct flow_tcp *t = &e->tcp[it->flow];
	uint32_t end = it->seq + it->len + ((it->tcp_flags & FTOE_TCP_FIN) ? 1 : 0);

	if (end == it->seq || t->snd_nxt != end)
		return;
	t->snd_nxt = it->seq;
	if (t->snd_max == end && !it->retx)
		t->snd_max = it->seq;
	if (e->ctl[it->flow].rtt_on && e->ctl[it->flow].rtt_seq == end)
		e->ctl[it->flow].rtt_on = false;
}

/* RFC 9293 3.10.7.4 first check, in the form Linux uses: acceptable when
 * it ends at or after rcv_nxt and starts inside the window we offered. */
static bool seq_acceptable(const struct flow_tcp *t, uint32_t seq, uint32_t end,
			   uint32_t space)
{
	uint32_t wnd = seq_after(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;

	if (space > wnd)
		wnd = space;
	if (seq_before(end, t->rcv_nxt))
		return false;
	return !seq_after(seq, t->rcv_nxt + wnd);
}

/* ACK field (RFC 9293 3.10.7.4 fifth check, RFC 5681, RFC 5961 5). */
static bool proto_ack(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	struct flow_tcp *t = &e->tcp[it->flow];
	const struct ftoe_seg *s = &it->seg;
	uint32_t ack = s->ack, wnd = wscale_window(s->win, t->snd_wscale);
	uint32_t una_prev = t->snd_una;
	bool sack = t->flags & FLOW_TCP_SACK;

	it->ack = ack;
	/* Acknowledges something never sent, or far too old: drop, and
	 * answer with an ACK (RFC 5961 5.2 "challenge ACK"). */
	if (seq_after(ack, t->snd_max) ||
	    seq_before(ack, t->snd_una - t->max_snd_wnd)) {
		FTOE_ST_INC(e, rx_bad_ack);
		it->res |= FTOE_RX_R_DROP | FTOE_RX_R_ACK_NOW;
		return false;
	}
	if ((t->flags & FLOW_TCP_ECN) && (s->tcp_flags & FTOE_TCP_ECE)) {
		it->res |= FTOE_RX_R_ECE;
		/* Once per window: CWR tells a classic receiver to stop
		 * repeating ECE (RFC 3168 6.1.2). */
		if (seq_after_eq(t->snd_una, t->cwr_end)) {
			t->flags |= FLOW_TCP_CWR_PEND;
			t->cwr_end = t->snd_max;
		}
	}

	if (seq_after(ack, t->snd_una)) {
		it->acked = ack - t->snd_una;
		it->res |= FTOE_RX_R_ACKED;
		t->snd_una = ack;
		if (seq_before(t->snd_nxt, ack))
			t->snd_nxt = ack;
		t->dupack_cnt = 0;
		/* Without SACK: go-back-N ends at the recovery point. */
		if (!sack && (t->flags & FLOW_TCP_RETX) && seq_after_eq(ack, t->snd_recover))
			t->flags &= ~FLOW_TCP_RETX;
		/* Partial ACK (RFC 6582 3.2 step 3): a new hole at snd_una.  If
		 * this pass already resent it, that was no later than the newest
		 * retransmission; otherwise it goes out soon. */
		if (!sack && (t->flags & FLOW_TCP_RETX))
			t->hole_ns = seq_after(t->snd_nxt, ack) ? t->retx_ns : e->now;
		if ((t->flags & FLOW_TCP_FIN_TX) && !(t->flags & FLOW_TCP_FIN_ACKED) &&
		    seq_after(ack, t->tx_seq0 + e->mem[it->flow].tx_head)) {
			t->flags |= FLOW_TCP_FIN_ACKED;
			it->res |= FTOE_RX_R_FIN_ACKED | FTOE_RX_R_CTL;
		}
	} else if (ack == t->snd_una && s->payload_len == 0 &&
		   !(s->tcp_flags & FTOE_TCP_FIN) && wnd == t->snd_wnd &&
		   t->snd_max != t->snd_una) {
		/* Duplicate ACK (RFC 5681 section 2).  Without SACK the
		 * third starts go-back-N, but not for ACKs at or below the
		 * previous recovery point (RFC 6582 3.2 step 1): those are the
		 * echoes of our own redundant retransmissions.  With SACK,
		 * RACK decides (loss_tx_ack). */
		++t->dupack_cnt;
		if (sack) {
			/* counted only */
		} else if (t->dupack_cnt == 3 && seq_after(ack, t->snd_recover)) {
			ftoe_proto_go_back(e, it->flow);
			it->res |= FTOE_RX_R_FAST_RETX;
		} else if ((t->flags & FLOW_TCP_RETX) && retx_lost(e, it->flow)) {
			/* The retransmission of the hole was lost: resend
			 * from snd_una again now rather than after the RTO
			 * (with SACK only the holes go out). */
			ftoe_proto_go_back(e, it->flow);
			it->res |= FTOE_RX_R_LOST_RETX;
		}
	}
	/* In order, nothing SACKed and nothing recovering: nothing to learn
	 * (one word of ftoe_lt read on the loss-free path). */
	if (sack && ((s->opts & FTOE_OPT_SACK) || t->lt.n || t->lt.flags ||
		     t->snd_una != una_prev))
		loss_tx_ack(e, it, una_prev);

	/* Window update (RFC 9293 3.10.7.4: SND.WL1/WL2 keep old segments
	 * from shrinking it). */
	if (seq_before(t->snd_wl1, s->seq) ||
	    (t->snd_wl1 == s->seq && seq_before_eq(t->snd_wl2, ack))) {
		if (wnd > t->snd_wnd)
			it->res |= FTOE_RX_R_WND_OPEN;
		t->snd_wnd = wnd;
		t->snd_wl1 = s->seq;
		t->snd_wl2 = ack;
		if (wnd > t->max_snd_wnd)
			t->max_snd_wnd = wnd;
	}
	return true;
}

/* Payload and FIN (RFC 9293 3.10.7.4 seventh and eighth checks). */
static void proto_data(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t space)
{
	struct flow_tcp *t = &e->tcp[it->flow];
	const struct ftoe_seg *s = &it->seg;
	bool fin = s->tcp_flags & FTOE_TCP_FIN, had_ooo = ftoe_ooo_held(&t->ooo) != 0;
	struct ftoe_ooo_result r;

	if (t->flags & FLOW_TCP_FIN_RX) {
		/* Nothing can follow the peer's FIN: only re-ACK. */
		if (s->payload_len || fin)
			it->res |= FTOE_RX_R_ACK_NOW;
		return;
	}
	if (s->payload_len) {
		bool ce = s->ip_ecn == FTOE_ECN_CE;

		if (s->payload_len > t->rcv_mss)
			t->rcv_mss = s->payload_len;
		/* RFC 8257 3.2: ACK at once when the CE state flips. */
		if ((t->flags & FLOW_TCP_ECN) && ce != !!(t->flags & FLOW_TCP_CE)) {
			it->res |= FTOE_RX_R_ACK_NOW;
			t->flags ^= FLOW_TCP_CE;
		}
	}
	if (!ftoe_ooo_rx_in_order(&t->rcv_nxt, space, &t->ooo, s->seq, s->payload_len, &r))
		ftoe_ooo_rx(&t->rcv_nxt, space, &t->ooo, &t->ooo_more, e->cfg.ooo_intervals,
			    s->seq, s->payload_len, &r);
	switch (r.verdict) {
	case FTOE_OOO_EMPTY:
		break;
	case FTOE_OOO_IN_ORDER:
		it->res |= FTOE_RX_R_ADVANCED;
		t->rcv_unacked += r.advance;
		/* RFC 5681 4.2: ACK at once when a gap is (partly) filled; and
		 * while holes remain, every ACK counts for the sender's loss
		 * detection (no delayed ACK, as Linux's quick-ACK mode). */
		it->res |= had_ooo ? FTOE_RX_R_ACK_NOW : FTOE_RX_R_ACK_DELAY;
		break;
	case FTOE_OOO_NEW:
	case FTOE_OOO_MERGED:
		/* RFC 5681 4.2: out-of-order data gets an immediate
		 * (duplicate) ACK, the sender's loss signal. */
		FTOE_ST_INC(e, rx_ooo);
		it->res |= FTOE_RX_R_ACK_NOW;
		break;
	case FTOE_OOO_DUP:
		FTOE_ST_INC(e, rx_dup);
		it->res |= FTOE_RX_R_ACK_NOW;
		break;
	case FTOE_OOO_DROP_WINDOW:
		FTOE_ST_INC(e, rx_out_of_window);
		it->res |= FTOE_RX_R_ACK_NOW;
		break;
	case FTOE_OOO_DROP_FULL:
		FTOE_ST_INC(e, rx_ooo_full);
		it->res |= FTOE_RX_R_ACK_NOW;
		break;
	}
	if (r.copy_len) {
		it->res |= FTOE_RX_R_DATA;
		it->copy_off = s->payload_off + (r.copy_seq - s->seq);
		it->copy_len = r.copy_len;
		it->copy_pos = r.copy_seq - t->rx_seq0;
		FTOE_ST_ADD(e, rx_bytes, r.copy_len);
	}
	if (fin) {
		/* Only a FIN right at rcv_nxt counts; one beyond a hole is
		 * dropped and the peer sends it again. */
		if (s->seq + s->payload_len == t->rcv_nxt) {
			t->rcv_nxt++;
			t->flags |= FLOW_TCP_FIN_RX;
			it->res |= FTOE_RX_R_FIN | FTOE_RX_R_CTL | FTOE_RX_R_ADVANCED;
		}
		it->res |= FTOE_RX_R_ACK_NOW;
	}
	/* what post-processing publishes: this segment's rcv_nxt, not the
	 * flow's when it runs (later segments may be through this stage) */
	if (it->res & FTOE_RX_R_ADVANCED)
		it->rx_head = rx_head_pos(t);
}

void ftoe_proto_rx_one(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	uint32_t id = it->flow;
	struct flow_tcp *t = &e->tcp[id];
	const struct ftoe_seg *s = &it->seg;
	uint32_t seglen = s->payload_len + ((s->tcp_flags & FTOE_TCP_FIN) ? 1 : 0);
	uint32_t space;

	/* which life of the slot the results are for (flow_gen) */
	it->gen = flow_gen(e, id);
	/* and which base its ring positions count from (item_pos) */
	it->pos_off = e->mem[id].rx_pos_off;
	it->res = 0;
	it->acked = 0;
	it->sacked = 0;
	it->copy_len = 0;
	/* An earlier segment of the batch may have closed the flow. */
	if (!e->ctl[id].in_use || !tcp_state_synced(e->ctl[id].state) ||
	    !(s->tcp_flags & FTOE_TCP_ACK)) {
		FTOE_ST_INC(e, rx_flow_closed);
		it->res = FTOE_RX_R_DROP;
		return;
	}
	if (e->ctl[id].state == TCP_S_TIME_WAIT) {
		/* RFC 9293 3.10.7.4: re-ACK a retransmitted FIN, restart 2MSL. */
		FTOE_ST_INC(e, rx_flow_closed);
		it->res = FTOE_RX_R_DROP | FTOE_RX_R_ACK_NOW | FTOE_RX_R_CTL;
		return;
	}
	/* PAWS (RFC 7323 5.3): an older timestamp marks an old duplicate,
	 * but only beyond a few ticks of slack.  A duplicate from an earlier
	 * turn of the sequence space is 2^31 bytes old (over 40 ms even at
	 * 400 Gbit/s), whereas an original overtaken on the way by its own
	 * retransmission, or by the retransmission of the hole before it,
	 * is a few ms older than TS.Recent and is data we may well need
	 * (Linux keeps a 1-tick window, TCP_PAWS_WINDOW, for the same
	 * reason; reordering plus delay jitter here spans several). */
	if ((t->flags & FLOW_TCP_TS) && (s->opts & FTOE_OPT_TS) &&
	    seq_diff(t->ts_recent, s->ts_val) > FTOE_PAWS_SLACK_TICKS) {
		FTOE_ST_INC(e, rx_paws_drop);
		dsack_old(t, s);
		it->res = FTOE_RX_R_DROP | FTOE_RX_R_ACK_NOW;
		return;
	}
	space = rx_space(e, id);
	if (!seq_acceptable(t, s->seq, s->seq + seglen, space)) {
		FTOE_ST_INC(e, rx_out_of_window);
		dsack_old(t, s);
		it->res = FTOE_RX_R_DROP | FTOE_RX_R_ACK_NOW;
		return;
	}
	/* RFC 7323 4.3 (2): TS.Recent from a segment covering Last.ACK.sent
	 * (rcv_nxt here), SEG.SEQ <= Last.ACK.sent < SEG.SEQ + SEG.LEN, or a
	 * bare ACK right at it.  An old duplicate that merely ends at
	 * rcv_nxt (a spurious retransmission carrying a newer TSval) must
	 * not move it: the original of the next segment, still in flight
	 * with an older TSval, would then fail PAWS and be lost. */
	if ((t->flags & FLOW_TCP_TS) && (s->opts & FTOE_OPT_TS) &&
	    seq_before_eq(s->seq, t->rcv_nxt) &&
	    (seq_after(s->seq + seglen, t->rcv_nxt) || s->seq == t->rcv_nxt))
		t->ts_recent = s->ts_val;
	if (!proto_ack(e, it))
		return;
	proto_data(e, it, space);
}

/* Sort key of an item: its flow, then its sequence number measured from
 * the flow's rcv_nxt (signed, so old duplicates come first).  Measuring
 * from one reference per flow keeps the order total on the 2^32 circle. */
static bool rx_key_before(const struct ftoe_engine *e, const struct ftoe_rx_item *a,
			  const struct ftoe_rx_item *b)
{
	uint32_t ref;

	if (a->flow != b->flow)
		return a->flow < b->flow;
	ref = e->tcp[a->flow].rcv_nxt;
	return seq_diff(a->seg.seq, ref) < seq_diff(b->seg.seq, ref);
}

/* ord[k] = index of the k-th item to process; returns how many moved. */
_Static_assert(FTOE_RX_BATCH <= 256, "rx_order keeps item indexes in uint8_t");
static unsigned rx_order(const struct ftoe_engine *e, const struct ftoe_rx_item *items,
			unsigned n, uint8_t *ord)
{
	unsigned moved = 0;

	/* Stable insertion sort: batches are small and nearly always in
	 * order already, so this is one pass of comparisons. */
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;

		while (j > 0 && rx_key_before(e, &items[i], &items[ord[j - 1]])) {
			ord[j] = ord[j - 1];
			j--;
		}
		ord[j] = (uint8_t)i;
		moved += j != i;
	}
	return moved;
}

/*
 * Post-processing publishes each item's rx_head in slot order, and may do
 * so once that item and those before it in slot order are placed - not
 * the rest of the batch (with --flow-groups another thread places them,
 * and finishes the items one at a time).  Taken in sequence order, an
 * item later in slot order may have advanced rcv_nxt over bytes that an
 * item before it in slot order brings: [B, A] taken as A then B gives B
 * the higher rx_head.  So the heads are handed out again: a sequence-order
 * prefix of the flow's items is published by the last of them in slot
 * order, the others keep the head before it (pre, where the flow's head
 * was before the batch), and the published head never goes back.  Items
 * that placed nothing (old duplicates, drops) do not hold a prefix up.
 * Items ord[a..b) are one flow's, in sequence order.
 */
static void rx_heads_slot_order(struct ftoe_rx_item *items, const uint8_t *ord, unsigned a,
				unsigned b, uint32_t pre)
{
	uint64_t target[FTOE_RX_BATCH / 64 + 1] = { 0 };
	uint32_t flow = items[ord[a]].flow;
	unsigned lo = ord[a], hi = ord[a];
	int last = -1;

	/* The last slot of each prefix takes its head.  That slot's item
	 * comes earlier in sequence order, so its own head was read. */
	for (unsigned k = a; k < b; k++) {
		const struct ftoe_rx_item *it = &items[ord[k]];

		lo = ord[k] < lo ? ord[k] : lo;
		hi = ord[k] > hi ? ord[k] : hi;
		if (!(it->res & FTOE_RX_R_ADVANCED) &&
		    (it->res & (FTOE_RX_R_DATA | FTOE_RX_R_DROP)) != FTOE_RX_R_DATA)
			continue;
		if ((int)ord[k] > last)
			last = ord[k];
		if (it->res & FTOE_RX_R_ADVANCED) {
			items[last].rx_head = it->rx_head;
			target[last / 64] |= 1ull << (last % 64);
		}
	}
	for (unsigned i = lo; i <= hi; i++) {
		struct ftoe_rx_item *it = &items[i];

		if (it->flow != flow || !(it->res & FTOE_RX_R_ADVANCED))
			continue;
		if (target[i / 64] & (1ull << (i % 64)))
			pre = it->rx_head;
		else
			it->rx_head = pre;
	}
}

/*
 * The protocol stage takes each flow's segments of a batch in sequence
 * order rather than arrival order, as receive offload (GRO/LRO) does: a
 * pair swapped on the wire that arrives in one batch then lands in order
 * instead of as an out-of-order segment.  With a single out-of-order
 * interval (FlexTOE section 4.2) that mattered most; with several
 * (core/ooo.h) it still saves an interval, a SACK block and an immediate
 * ACK per swapped pair.  Items keep their slots, so post-processing still
 * sees the batch in arrival order.
 */
static __attribute__((noinline)) void proto_rx_batch(struct ftoe_engine *e,
						     struct ftoe_rx_item *items, unsigned n)
{
	uint8_t ord[FTOE_RX_BATCH];

	while (n) {
		unsigned m = n > FTOE_RX_BATCH ? FTOE_RX_BATCH : n;

		if (rx_order(e, items, m, ord)) {
			unsigned a = 0;
			uint32_t pre = 0;

			/* one flow's items after another (the sort's key) */
			for (unsigned i = 0; i < m; i++) {
				if (i == 0 || items[ord[i]].flow != items[ord[a]].flow) {
					if (i)
						rx_heads_slot_order(items, ord, a, i, pre);
					a = i;
					pre = rx_head_pos(&e->tcp[items[ord[i]].flow]);
				}
				ftoe_proto_rx_one(e, &items[ord[i]]);
			}
			rx_heads_slot_order(items, ord, a, m, pre);
		} else
			for (unsigned i = 0; i < m; i++)
				ftoe_proto_rx_one(e, &items[i]);
		items += m;
		n -= m;
	}
}

void ftoe_proto_rx(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n)
{
	/* a batch of one has no order to restore (a backend woken per frame) */
	if (n == 1)
		ftoe_proto_rx_one(e, items);
	else
		proto_rx_batch(e, items, n);
}

/* The rx-post hook (docs/design.md section 4): after the protocol stage, each
 * segment of a flow is shown to the observe-only programs with a snapshot
 * of the flow's TCP state in struct flextoe_md.  Their verdicts are only
 * counted, so the batch goes on to post-processing unchanged. */
void ftoe_proto_rx_post_hook(struct ftoe_engine *e, const struct ftoe_rx_item *items,
			     unsigned n)
{
	struct ftoe_hooks *h = e->cfg.hooks;

	if (!h || !ftoe_hooks_active(h, FLEXTOE_HOOK_RX_POST))
		return;
	for (unsigned i = 0; i < n; i++) {
		const struct ftoe_rx_item *it = &items[i];
		uint32_t id = it->flow;
		const struct flow_tcp *t;
		struct ftoe_hook_frame f;

		if (ftoe_md_snapshot(e, id, FLEXTOE_HOOK_RX_POST, &f.md))
			continue;
		t = &e->tcp[id];
		f.data = (uint8_t *)it->frame;
		f.len = (uint32_t)it->seg.payload_off + it->seg.payload_len;
		/* Payload that did not advance rcv_nxt went to the OOO interval. */
		if (it->seg.payload_len && !(it->res & (FTOE_RX_R_ADVANCED | FTOE_RX_R_DROP)))
			f.md.flags |= FLEXTOE_MDF_OOO;
		if (!it->seg.payload_len && !(it->res & FTOE_RX_R_ACKED) &&
		    it->ack == t->snd_una && t->snd_una != t->snd_nxt)
			f.md.flags |= FLEXTOE_MDF_DUPACK;
		if (it->seg.ip_ecn == FTOE_ECN_CE)
			f.md.flags |= FLEXTOE_MDF_ECN;
		ftoe_hooks_run(h, FLEXTOE_HOOK_RX_POST, &f);
	}
}
