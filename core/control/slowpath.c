/* slowpath.c - the control plane's side of core/slowpath.h: draining the work the stages queued. */
#include <errno.h>

#include "core/control/cc.h"
#include "core/control/conn.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/slowpath.h"
#include "core/tcp_seq.h"

/* RTT sample from the timed segment (RFC 6298 3: only segments never
 * retransmitted, which rtt_on guarantees). */
static void rtt_sample(struct ftoe_engine *e, uint32_t id, uint32_t ack)
{
	struct flow_ctl *c = &e->ctl[id];
	uint64_t us;

	if (!c->rtt_on || seq_before(ack, c->rtt_seq))
		return;
	c->rtt_on = false;
	us = (e->now - c->rtt_ns) / 1000;
	if (us > UINT32_MAX)
		us = UINT32_MAX;
	ftoe_rto_sample(&c->rto, us ? (uint32_t)us : 1, false);
	e->cc[id].rtt_us = ftoe_rto_srtt(&c->rto);
	ftoe_cc_on_rtt(e, id, us ? (uint32_t)us : 1);
}

/* Newly acknowledged data (FTOE_SP_ACKED): RTT, congestion control, and
 * the retransmission timer (RFC 6298 5.2/5.3: stop when all is acked,
 * else restart with the RTO that sample may have changed). */
static void acked(struct ftoe_engine *e, uint32_t id, const struct ftoe_rx_item *it,
		  uint32_t data)
{
	const struct flow_tcp *t = &e->tcp[id];

	rtt_sample(e, id, it->ack);
	ftoe_cc_on_ack(e, id, data, (it->res & FTOE_RX_R_ECE) != 0);
	if (t->snd_una == t->snd_max)
		ftoe_timer_stop(e, id, FTOE_T_TX);
	else
		ftoe_timer_rto_restart(e, id);
}

void ftoe_sp_drain_from(struct ftoe_engine *e, struct ftoe_sp_queue *q, uint32_t from)
{
	/* q->n is read each turn: handlers may queue more (a re-injected
	 * segment's entries, which conn.c drains itself from its mark). */
	for (uint32_t i = from; i < q->n; i++) {
		const struct ftoe_sp_item sp = q->q[i];

		switch (sp.kind) {
		case FTOE_SP_SEG:
			ftoe_conn_slow_rx(e, sp.rx);
			break;
		case FTOE_SP_ACKED:
			acked(e, sp.flow, sp.rx, sp.arg);
			break;
		case FTOE_SP_ECE:
			ftoe_cc_on_ack(e, sp.flow, 0, true);
			break;
		case FTOE_SP_DELIVERED:
			ftoe_cc_on_ack(e, sp.flow, sp.arg,
				       (sp.rx->res & FTOE_RX_R_ECE) != 0);
			break;
		case FTOE_SP_LOSS:
			ftoe_cc_on_loss(e, sp.flow);
			break;
		case FTOE_SP_UNDO:
			ftoe_cc_on_undo(e, sp.flow);
			break;
		case FTOE_SP_RESET:
			ftoe_conn_reset(e, sp.flow, -ECONNRESET, true);
			break;
		case FTOE_SP_STATE:
			ftoe_conn_rx_event(e, sp.flow, sp.rx->res);
			ftoe_postproc_finish(e, sp.rx, sp.arg);
			break;
		case FTOE_SP_FINISH:
			ftoe_postproc_finish(e, sp.rx, sp.arg);
			break;
		}
	}
	q->n = from;
}
