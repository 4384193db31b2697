/* timers.c - per-flow timers (retransmission/persist, delayed ACK, TIME_WAIT), then the SYN and TIME_WAIT tables'. */
#include <errno.h>

#include "core/control/cc.h"
#include "core/control/conn.h"
#include "core/control/syn_table.h"
#include "core/control/time_wait.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/slowpath.h"
#include "core/tcp_seq.h"

/*
 * Each flow has three deadlines (struct flow_ctl.timer); the engine keeps
 * the earliest one armed (next_timer, possibly stale-early) and scans the
 * flows in use only when it has passed.  Fine for thousands of flows; a
 * timer wheel is the upgrade path for millions.
 */

/* A zero-window probe (RFC 9293 3.8.6.1): an ACK with the sequence number
 * just below snd_una, which the peer must answer with its window. */
static void send_probe(struct ftoe_engine *e, uint32_t id)
{
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	ftoe_proto_ack(e, id, &it);
	it.seq = e->tcp[id].snd_una - 1;
	ftoe_tx_addr_flow(e, id, &a);
	e->st.probes++;
	ftoe_tx_send(e, &a, &it);
}

/* Retransmission timeout (RFC 6298 5.4-5.7) or persist timer. */
static void tx_timeout(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_tcp *t = &e->tcp[id];

	if (c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RCVD) {
		ftoe_conn_syn_timeout(e, id);
		return;
	}
	if (!tcp_state_synced(c->state) || c->state == TCP_S_TIME_WAIT)
		return;
	if (t->snd_una != t->snd_max) {
		/* The engine-wide limit (flextoe --rto-retries) applies to
		 * every connection, whenever it was set up. */
		if (e->cfg.rto_retries)
			c->rto.cfg.max_backoffs = (uint8_t)(e->cfg.rto_retries < FTOE_RTO_RETRIES_MAX ?
							    e->cfg.rto_retries : FTOE_RTO_RETRIES_MAX);
		if (ftoe_rto_timeout(&c->rto) == -ETIMEDOUT) {
			/* give up (RFC 9293 3.8.3 R2) */
			ftoe_conn_reset(e, id, -ETIMEDOUT, true);
			return;
		}
		e->st.timeouts++;
		/* before ftoe_proto_rto: the controller asks whether a
		 * recovery was already under way */
		ftoe_cc_on_timeout(e, id);
		ftoe_proto_rto(e, id);
		if (t->snd_wnd == 0)
			send_probe(e, id);
		ftoe_sched_activate(e, id);
		ftoe_timer_rto_restart(e, id);
		return;
	}
	/* Persist: data waits on a zero window.  Back off, never give up
	 * while the peer answers (RFC 1122 4.2.2.17). */
	if (t->snd_wnd == 0 && e->mem[id].tx_head != t->snd_una - t->tx_seq0) {
		send_probe(e, id);
		if (c->rto.backoffs < 12)
			ftoe_rto_timeout(&c->rto);
		ftoe_timer_rto_restart(e, id);
		return;
	}
	ftoe_sched_activate(e, id);
}

/* RACK reordering timer or tail loss probe (RFC 8985 6.3, 7.3). */
static void loss_timeout(struct ftoe_engine *e, uint32_t id)
{
	unsigned r;

	if (!tcp_state_synced(e->ctl[id].state) || e->ctl[id].state == TCP_S_TIME_WAIT)
		return;
	r = ftoe_proto_loss_timer(e, id);
	if (r == FTOE_LOSS_T_NEW) {
		e->st.fast_retransmits++;
		ftoe_cc_on_loss(e, id);
	}
	if (r) {
		/* A resend or a probe goes out now: the RTO counts from it, as
		 * Linux rearms it after a RACK retransmission or a TLP, so a
		 * timeout that was due as well (the engine was not scheduled
		 * for a while) does not also fire. */
		ftoe_timer_rto_restart(e, id);
		ftoe_sched_activate(e, id);
	}
}

void ftoe_timers_run(struct ftoe_engine *e)
{
	uint64_t next = UINT64_MAX;

	if (e->now < ftoe_next_timer(e))
		return;
	/* handlers may arm timers while we scan: they lower next_timer */
	__atomic_store_n(&e->next_timer, UINT64_MAX, __ATOMIC_RELAXED);
	for (uint32_t id = 0; id < e->hwm; id++) {
		struct flow_ctl *c = &e->ctl[id];

		if (!c->in_use)
			continue;
		if (c->timer[FTOE_T_DELACK] && c->timer[FTOE_T_DELACK] <= e->now) {
			c->timer[FTOE_T_DELACK] = 0;
			if (tcp_state_synced(c->state))
				ftoe_postproc_send_ack(e, id);
		}
		/* RACK before the RTO (RFC 8985 8: the RTO is the last
		 * resort): when both passed while the engine waited for a
		 * CPU, RACK's resend restarts the RTO */
		if (c->in_use && c->timer[FTOE_T_RACK] && c->timer[FTOE_T_RACK] <= e->now) {
			c->timer[FTOE_T_RACK] = 0;
			loss_timeout(e, id);
		}
		if (c->in_use && c->timer[FTOE_T_TX] && c->timer[FTOE_T_TX] <= e->now) {
			c->timer[FTOE_T_TX] = 0;
			tx_timeout(e, id);
		}
		if (c->in_use && c->timer[FTOE_T_WAIT] && c->timer[FTOE_T_WAIT] <= e->now) {
			c->timer[FTOE_T_WAIT] = 0;
			ftoe_conn_wait_timeout(e, id);
		}
		if (!c->in_use)
			continue;
		for (int t = 0; t < FTOE_T__MAX; t++)
			if (c->timer[t] && c->timer[t] < next)
				next = c->timer[t];
	}
	/* the half-open and TIME_WAIT connections keep their own deadlines */
	{
		uint64_t t = ftoe_syn_timers_run(e);

		if (t < next)
			next = t;
		t = ftoe_tw_timers_run(e);
		if (t < next)
			next = t;
	}
	ftoe_next_timer_lower(e, next);
}
