/* sched.c - flow scheduler: round robin over flows with data to send, paced by the cc rate, within the cc window. */
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/tcp_seq.h"

/*
 * FlexTOE's flow scheduler (TAS "qman"): flows with something to send sit
 * in one FIFO; each visit sends at most one segment and moves the flow to
 * the tail, so flows share the link round robin.  A flow's pacing credit
 * (token bucket) refills at flow_cc.rate_kbps, set by the control plane's
 * congestion controller; rate 0 means unpaced.  A window-based
 * controller's flow_cc.cwnd also bounds the data in flight.
 */

void ftoe_sched_activate(struct ftoe_engine *e, uint32_t id)
{
	struct flow_sched *s = &e->sch[id];

	if (s->queued)
		return;
	s->queued = 1;
	s->next = FTOE_NO_FLOW;
	e->act_len++;
	if (e->act_tail == FTOE_NO_FLOW)
		e->act_head = id;
	else
		e->sch[e->act_tail].next = id;
	e->act_tail = id;
}

static uint32_t pop_head(struct ftoe_engine *e)
{
	uint32_t id = e->act_head;

	if (id == FTOE_NO_FLOW)
		return id;
	e->act_head = e->sch[id].next;
	if (e->act_head == FTOE_NO_FLOW)
		e->act_tail = FTOE_NO_FLOW;
	e->sch[id].queued = 0;
	e->act_len--;
	return id;
}

void ftoe_sched_remove(struct ftoe_engine *e, uint32_t id)
{
	uint32_t prev = FTOE_NO_FLOW, cur = e->act_head;

	if (!e->sch[id].queued)
		return;
	while (cur != FTOE_NO_FLOW && cur != id) {
		prev = cur;
		cur = e->sch[cur].next;
	}
	if (cur == FTOE_NO_FLOW)
		return;
	if (prev == FTOE_NO_FLOW)
		e->act_head = e->sch[id].next;
	else
		e->sch[prev].next = e->sch[id].next;
	if (e->act_tail == id)
		e->act_tail = prev;
	e->sch[id].queued = 0;
	e->act_len--;
}

static bool fin_state(uint8_t st)
{
	return st == TCP_S_FIN_WAIT_1 || st == TCP_S_CLOSING || st == TCP_S_LAST_ACK;
}

uint32_t ftoe_sched_sendable(struct ftoe_engine *e, uint32_t id, bool *fin)
{
	const struct flow_tcp *t = &e->tcp[id];
	const struct flow_mem *m = &e->mem[id];
	uint32_t data_end = t->tx_seq0 + __atomic_load_n(&m->tx_head, __ATOMIC_ACQUIRE);
	uint32_t wnd_end = t->snd_una + t->snd_wnd, avail, room;

	*fin = false;
	if (!tcp_state_synced(e->ctl[id].state) || e->ctl[id].state == TCP_S_TIME_WAIT)
		return 0;
	avail = seq_after(data_end, t->snd_nxt) ? data_end - t->snd_nxt : 0;
	room = seq_after(wnd_end, t->snd_nxt) ? wnd_end - t->snd_nxt : 0;
	if (avail > room)
		avail = room;
	/* The FIN follows the last byte; it needs no window (as Linux). */
	if ((m->flags & FLOW_MEM_SHUT_WR) && fin_state(e->ctl[id].state) &&
	    t->snd_nxt + avail == data_end)
		*fin = true;
	return avail;
}

/*
 * A flow that waits for credit (t_wait: when it may send again) and is
 * served late keeps the credit of its lateness, up to SCHED_CATCHUP_NS.
 * The thread running the scheduler blocks with a timeout and can wake
 * well after the deadline (timer slack, a busy core; poll()'s timeout
 * rounded up to 1 ms).  With the 200 us burst alone such a flow lost most
 * of its rate, and as the controller caps the rate at 1.2x what was
 * achieved (cc_dctcp.h) the rate locked at a few segments per wakeup: engine
 * -> Linux ran at 0.06-0.4 Gbit/s.  An idle, application- or
 * window-limited flow (t_wait 0) banks the burst only.
 */
#define SCHED_CATCHUP_NS 2000000ull

static void refill(struct ftoe_engine *e, uint32_t id)
{
	struct flow_sched *s = &e->sch[id];
	uint64_t rate = e->cc[id].rate_kbps, dt = e->now - s->t_refill;
	int64_t burst = (int64_t)(rate / 40); /* 200 us worth */

	s->t_refill = e->now;
	if (dt > 1000000000ull)
		dt = 1000000000ull;
	if (burst < 4 * (int64_t)e->tcp[id].snd_mss)
		burst = 4 * (int64_t)e->tcp[id].snd_mss;
	if (s->t_wait && e->now > s->t_wait) {
		uint64_t late = e->now - s->t_wait;

		if (late > SCHED_CATCHUP_NS)
			late = SCHED_CATCHUP_NS;
		burst += (int64_t)(late * rate / 8000000u);
	}
	/* The cap limits what accrues; it never takes back catch-up credit
	 * granted a moment ago (the same batch refills again with dt 0). */
	if (s->tokens >= burst)
		return;
	/* kbps = 125 bytes/s per unit: bytes = dt_ns * kbps / 8e6 */
	s->tokens += (int64_t)(dt * rate / 8000000u);
	if (s->tokens > burst)
		s->tokens = burst;
}

/* Arm the persist timer (RFC 9293 3.8.6.1) when data waits on a zero
 * window and nothing is in flight to bring a window update. */
static void maybe_persist(struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	const struct flow_mem *m = &e->mem[id];

	if (t->snd_wnd == 0 && t->snd_una == t->snd_max &&
	    m->tx_head != t->snd_una - t->tx_seq0 && !e->ctl[id].timer[FTOE_T_TX])
		ftoe_timer_rto_restart(e, id);
}

unsigned ftoe_sched_run(struct ftoe_engine *e, struct ftoe_tx_item *items,
			unsigned max, uint64_t *wait_ns)
{
	unsigned k = 0, idle = 0;

	*wait_ns = UINT64_MAX;
	while (k < max && e->act_head != FTOE_NO_FLOW) {
		uint32_t id = pop_head(e), n, rate, lim;
		struct flow_sched *s = &e->sch[id];
		const struct flow_tcp *t = &e->tcp[id];
		bool fin;

		if (!e->ctl[id].in_use)
			continue;
		/* retransmitting: skip what the peer SACKed, stop at the next
		 * SACKed block */
		lim = ftoe_proto_sack_skip(e, id);
		n = ftoe_sched_sendable(e, id, &fin);
		if (n == 0 && !fin) {
			s->t_wait = 0;	/* not waiting for credit: no catch-up */
			maybe_persist(e, id);
			continue;
		}
		/* A window-based controller's cwnd is full: the ACK that
		 * empties it re-activates the flow (core/postproc.c). */
		if (!ftoe_proto_cwnd_room(e, id)) {
			s->t_wait = 0;
			continue;
		}
		if (n > t->snd_mss)
			n = t->snd_mss;
		if (n > lim) {
			n = lim; /* a hole before SACKed data: short is fine */
			fin = false;
		}
		/* Sender-side silly window avoidance (RFC 9293 3.8.6.2.1):
		 * a short segment only when it is all we have or nothing is
		 * in flight. */
		if (n < t->snd_mss && n != lim && !fin && t->snd_nxt != t->snd_una) {
			uint32_t data_end = t->tx_seq0 + e->mem[id].tx_head;

			if (t->snd_nxt + n != data_end) {
				s->t_wait = 0;
				continue; /* an ACK will re-activate the flow */
			}
		}
		rate = e->cc[id].rate_kbps;
		if (rate) {
			refill(e, id);
			if (s->tokens <= 0) {
				uint64_t w = (uint64_t)(1 - s->tokens) * 8000000u / rate + 1;

				if (w < *wait_ns)
					*wait_ns = w;
				s->t_wait = e->now + w;
				ftoe_sched_activate(e, id);
				/* every queued flow visited without progress */
				if (++idle > e->act_len)
					break;
				continue;
			}
			s->tokens -= n ? n : 1;
			s->t_wait = 0;
		}
		idle = 0;
		items[k].flow = id;
		items[k].len = (uint16_t)n;
		/* the FIN rides on the segment that carries the last byte */
		fin = fin && t->snd_nxt + n == t->tx_seq0 + e->mem[id].tx_head;
		items[k].tcp_flags = fin ? FTOE_TCP_FIN : 0;
		ftoe_proto_tx(e, &items[k], 1);
		k++;
		ftoe_sched_activate(e, id);
	}
	return k;
}
