/* notify.c - application events: the stages and the control plane queue them, the engine delivers them. */
#include "core/engine_internal.h"

/*
 * One FIFO of flows and listeners with pending events (FTOE_EV_*), each
 * queued at most once (CTL_F_EVQ / ftoe_listener.evq), so events of one
 * round coalesce into one callback per socket.  The engine's entry points
 * (ftoe_engine_rx/rx_items/poll/neigh_ready) deliver at their end, once the
 * stages and the control plane are done with the round.  Queuing a flow's
 * events (ftoe_sock_notify, once per received segment) is inline in
 * engine_internal.h.
 */

void ftoe_sock_notify_listener(struct ftoe_engine *e, unsigned idx, uint32_t events)
{
	struct ftoe_listener *l = &e->lis[idx];

	l->events |= events;
	if (!l->evq) {
		l->evq = true;
		ftoe_evq_push(e, FTOE_SOCK_LISTENER + idx);
	}
}

void ftoe_sock_deliver_events(struct ftoe_engine *e)
{
	/* Only what is queued now: callbacks may queue more for next time. */
	uint32_t n = e->evq_len;

	while (n-- && e->evq_len) {
		uint32_t v = e->evq[e->evq_head], ev;

		e->evq_head = (e->evq_head + 1) % e->evq_cap;
		e->evq_len--;
		if (v >= FTOE_SOCK_LISTENER) {
			struct ftoe_listener *l = &e->lis[v - FTOE_SOCK_LISTENER];

			ev = l->events;
			l->events = 0;
			l->evq = false;
			if (ev && l->port && e->ev_fn)
				e->ev_fn(e->ev_ctx, (int)v, ev);
		} else {
			struct flow_ctl *c = &e->ctl[v];

			ev = c->events;
			c->events = 0;
			c->flags &= ~CTL_F_EVQ;
			if (ev && c->in_use && e->ev_fn)
				e->ev_fn(e->ev_ctx, (int)v, ev);
		}
	}
}
