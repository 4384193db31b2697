/* postproc.c - post-processing stage: payload into the rx ring, ACKs, timers, notification. */
#include <errno.h>
#include <string.h>

#include "core/control/cc.h"
#include "core/control/conn.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/tcp_seq.h"

/* Copy len bytes to ring position pos (wrapping). */
static void ring_copy_in(uint8_t *ring, uint32_t size, uint32_t pos,
			 const uint8_t *src, uint32_t len)
{
	uint32_t off = pos & (size - 1), first = size - off;

	if (first > len)
		first = len;
	memcpy(ring + off, src, first);
	if (len > first)
		memcpy(ring, src + first, len - first);
}

int ftoe_postproc_send_ack(struct ftoe_engine *e, uint32_t id)
{
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	ftoe_proto_ack(e, id, &it);
	ftoe_tx_addr_flow(e, id, &a);
	return ftoe_tx_send(e, &a, &it);
}

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

static void postproc_one(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	uint32_t id = it->flow, res = it->res;
	struct flow_tcp *t = &e->tcp[id];
	struct flow_mem *m = &e->mem[id];
	uint32_t ev = 0;

	if (res & FTOE_RX_R_ADVANCED) {
		/* Publish after the copy (ftoe_postproc_rx copied the whole
		 * batch first): the application reads up to rx_head. */
		__atomic_store_n(&m->rx_head,
				 t->rcv_nxt - t->rx_seq0 - ((t->flags & FLOW_TCP_FIN_RX) ? 1 : 0),
				 __ATOMIC_RELEASE);
		ev |= FTOE_EV_RX;
		if ((m->flags & FLOW_MEM_CLOSED) && (res & FTOE_RX_R_DATA)) {
			/* Data for a closed socket: nobody will read it
			 * (RFC 9293 3.10.7.4, RFC 2525 2.17). */
			ftoe_conn_reset(e, id, -ECONNRESET, true);
			return;
		}
	}
	if (res & FTOE_RX_R_ACKED) {
		uint32_t data = it->acked, unsent_data;
		uint32_t tail = t->snd_una - t->tx_seq0;

		/* SYN and FIN take sequence space but no buffer. */
		unsent_data = m->tx_head - m->tx_tail;
		if (tail - m->tx_tail > unsent_data)
			tail = m->tx_head;
		data = tail - m->tx_tail;
		__atomic_store_n(&m->tx_tail, tail, __ATOMIC_RELEASE);
		m->tx_sent = t->snd_nxt - t->tx_seq0;
		if (data)
			ev |= FTOE_EV_TX;
		rtt_sample(e, id, it->ack);
		ftoe_cc_on_ack(e, id, data, (res & FTOE_RX_R_ECE) != 0);
		/* RFC 6298 5.2/5.3: stop when all is acked, else restart. */
		if (t->snd_una == t->snd_max)
			ftoe_timer_stop(e, id, FTOE_T_TX);
		else
			ftoe_timer_rto_restart(e, id);
	} else if (res & FTOE_RX_R_ECE) {
		ftoe_cc_on_ack(e, id, 0, true);
	}
	if (res & FTOE_RX_R_FAST_RETX) {
		e->st.fast_retransmits++;
		ftoe_cc_on_loss(e, id);
	}
	/* A lost retransmission is the same loss event: no second rate cut. */
	if (res & FTOE_RX_R_LOST_RETX)
		e->st.fast_retransmits++;
	if (res & (FTOE_RX_R_ACKED | FTOE_RX_R_WND_OPEN | FTOE_RX_R_FAST_RETX |
		   FTOE_RX_R_LOST_RETX))
		ftoe_sched_activate(e, id);
	if (res & FTOE_RX_R_CTL)
		ftoe_conn_rx_event(e, id, res);
	if (!e->ctl[id].in_use)
		return;

	if (res & FTOE_RX_R_ACK_NOW) {
		ftoe_postproc_send_ack(e, id);
	} else if (res & FTOE_RX_R_ACK_DELAY) {
		/* RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK at least every second
		 * full-sized segment, otherwise within the delayed-ACK time. */
		if (t->rcv_unacked >= 2u * t->rcv_mss)
			ftoe_postproc_send_ack(e, id);
		else if (!e->ctl[id].timer[FTOE_T_DELACK])
			ftoe_timer_set(e, id, FTOE_T_DELACK, e->now + e->cfg.delack_us * 1000ull);
	}
	if (ev)
		ftoe_sock_notify(e, id, ev);
}

void ftoe_postproc_rx(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n)
{
	/* Payload first, for the whole batch: rcv_nxt already covers every
	 * in-order segment of it (and the protocol stage took a flow's
	 * segments in sequence order, not in slot order), so rx_head may only
	 * move to rcv_nxt once all those bytes are in the ring. */
	for (unsigned i = 0; i < n; i++) {
		const struct ftoe_rx_item *it = &items[i];

		if ((it->res & (FTOE_RX_R_DATA | FTOE_RX_R_DROP)) == FTOE_RX_R_DATA)
			ring_copy_in(flow_rx_ring(e, it->flow), e->mem[it->flow].rx_size,
				     it->copy_pos, it->frame + it->copy_off, it->copy_len);
	}
	for (unsigned i = 0; i < n; i++) {
		struct ftoe_rx_item *it = &items[i];

		if (it->res & FTOE_RX_R_DROP) {
			if (!e->ctl[it->flow].in_use)
				continue;
			if (it->res & FTOE_RX_R_CTL)
				ftoe_conn_rx_event(e, it->flow, it->res);
			if ((it->res & FTOE_RX_R_ACK_NOW) && e->ctl[it->flow].in_use)
				ftoe_postproc_send_ack(e, it->flow);
			continue;
		}
		postproc_one(e, it);
	}
}
