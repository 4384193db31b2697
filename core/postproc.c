/* postproc.c - post-processing stage: payload into the rx ring, ACKs, timers, notification. */
#include <errno.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/hooks.h"
#include "core/pipeline.h"
#include "core/slowpath.h"
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

/* An item's ring position pos (copy_pos, rx_head), stamped on the rings
 * of its protocol stage, on the flow's rings now: an attach since moved
 * position 0 (engine_internal.h FLOW_GEN_MOVING).  The same value when
 * nothing moved. */
static inline uint32_t item_pos(const struct ftoe_engine *e, const struct ftoe_rx_item *it,
				uint32_t pos)
{
	return pos + it->pos_off - e->mem[it->flow].rx_pos_off;
}

static inline void item_place(struct ftoe_engine *e, const struct ftoe_rx_item *it)
{
	ring_copy_in(flow_rx_ring(e, it->flow), e->mem[it->flow].rx_size,
		     item_pos(e, it, it->copy_pos), it->frame + it->copy_off, it->copy_len);
}

int ftoe_postproc_send_ack(struct ftoe_engine *e, uint32_t id)
{
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	ftoe_proto_ack(e, id, &it);
	ftoe_tx_addr_flow(e, id, &a);
	return ftoe_tx_send(e, &a, &it);
}

/*
 * What follows a received segment on the engine's side of the boundary:
 * its payload into the rx ring, rx_head and tx_tail published, the ACK
 * (now or delayed) and the application's events.  The rest is the control
 * plane's and is queued (core/slowpath.h): the RTT sample, congestion
 * control and the retransmission timer for newly acknowledged data
 * (FTOE_SP_ACKED, _ECE, _LOSS: nothing else in the batch reads what they
 * change, so they run at the next drain), and the connection state machine
 * (FTOE_SP_STATE) or an abort (FTOE_SP_RESET), after which the item's ACK
 * may no longer be due: there the stage stops, the engine drains, and the
 * control plane finishes the item (ftoe_postproc_finish) before the next.
 */

/* The end of an item: its ACK and events, unless the flow is gone. */
static inline __attribute__((always_inline)) void item_finish(struct ftoe_engine *e, const struct ftoe_rx_item *it, uint32_t ev)
{
	uint32_t id = it->flow, res = it->res;
	const struct flow_tcp *t = &e->tcp[id];

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

void ftoe_postproc_finish(struct ftoe_engine *e, const struct ftoe_rx_item *it, uint32_t ev)
{
	item_finish(e, it, ev);
}

/* The tx-post hook's snapshot of a segment we send (core/tx.c) shows the
 * flow's RTT and rate: while it has programs, an item that queued work for
 * the control plane waits for the drain before it (or any later item)
 * sends an ACK, so the snapshot shows what the control plane made of it,
 * as when it was called from here. */
static bool tx_post_observes(const struct ftoe_engine *e)
{
	return e->io.xmit_md && e->cfg.hooks &&
	       ftoe_hooks_active(e->cfg.hooks, FLEXTOE_HOOK_TX_POST);
}

/* The results a loss-free data segment of a one-way transfer never has:
 * postproc_one tests them once, and postproc_acks sorts them out. */
#define RX_R_RARE (FTOE_RX_R_ACKED | FTOE_RX_R_ECE | FTOE_RX_R_FAST_RETX | FTOE_RX_R_LOST_RETX | \
		   FTOE_RX_R_UNDO | FTOE_RX_R_WND_OPEN | FTOE_RX_R_SEND | FTOE_RX_R_CTL)

/* What an item's ACK field and loss signals start: tx ring space freed,
 * congestion control and loss recovery queued for the control plane, the
 * flow scheduled.  Adds to *ev. */
static void postproc_acks(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t *ev)
{
	uint32_t id = it->flow, res = it->res;
	struct flow_tcp *t = &e->tcp[id];
	struct flow_mem *m = &e->mem[id];

	if (res & FTOE_RX_R_ACKED) {
		uint32_t data, unsent_data;
		uint32_t tail = t->snd_una - t->tx_seq0;

		/* SYN and FIN take sequence space but no buffer. */
		unsent_data = m->tx_head - m->tx_tail;
		if (tail - m->tx_tail > unsent_data)
			tail = m->tx_head;
		data = tail - m->tx_tail;
		__atomic_store_n(&m->tx_tail, tail, __ATOMIC_RELEASE);
		m->tx_sent = t->snd_nxt - t->tx_seq0;
		if (data)
			*ev |= FTOE_EV_TX;
		/* congestion control counts delivered bytes: those the
		 * scoreboard held were counted when they were SACKed */
		ftoe_sp_push(&e->sp, FTOE_SP_ACKED, id,
			     it->sacked < 0 && (uint32_t)-it->sacked > data ? 0 :
			     data + (uint32_t)it->sacked, it);
	} else if (it->sacked > 0) {
		ftoe_sp_push(&e->sp, FTOE_SP_DELIVERED, id, (uint32_t)it->sacked, it);
	} else if (res & FTOE_RX_R_ECE) {
		ftoe_sp_push(&e->sp, FTOE_SP_ECE, id, 0, it);
	}
	if (res & FTOE_RX_R_FAST_RETX) {
		e->st.fast_retransmits++;
		ftoe_sp_push(&e->sp, FTOE_SP_LOSS, id, 0, it);
	}
	/* A lost retransmission is the same loss event: no second rate cut. */
	if (res & FTOE_RX_R_LOST_RETX)
		e->st.fast_retransmits++;
	if (res & FTOE_RX_R_UNDO)
		ftoe_sp_push(&e->sp, FTOE_SP_UNDO, id, 0, it);
	/* newly SACKed data and an undo open a window-limited flow's cwnd */
	if ((res & (FTOE_RX_R_ACKED | FTOE_RX_R_WND_OPEN | FTOE_RX_R_FAST_RETX |
		    FTOE_RX_R_LOST_RETX | FTOE_RX_R_SEND | FTOE_RX_R_UNDO)) || it->sacked > 0)
		ftoe_sched_activate(e, id);
}

/* One item; true when it queued work its rest must wait for. */
static bool postproc_one(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	uint32_t id = it->flow, res = it->res;
	struct flow_mem *m = &e->mem[id];
	uint32_t ev = 0;

	if (res & FTOE_RX_R_ADVANCED) {
		/* Publish after the copy (postproc_copy copied the whole
		 * batch first): the application reads up to rx_head. */
		__atomic_store_n(&m->rx_head, item_pos(e, it, it->rx_head), __ATOMIC_RELEASE);
		ev |= FTOE_EV_RX;
		if ((m->flags & FLOW_MEM_CLOSED) && (res & FTOE_RX_R_DATA)) {
			/* Data for a closed socket: nobody will read it
			 * (RFC 9293 3.10.7.4, RFC 2525 2.17). */
			ftoe_sp_push(&e->sp, FTOE_SP_RESET, id, 0, it);
			return true;
		}
	}
	if ((res & RX_R_RARE) || it->sacked) {
		postproc_acks(e, it, &ev);
		if (res & FTOE_RX_R_CTL) {
			ftoe_sp_push(&e->sp, FTOE_SP_STATE, id, ev, it);
			return true;
		}
	}
	if (e->sp.n && tx_post_observes(e)) {
		ftoe_sp_push(&e->sp, FTOE_SP_FINISH, id, ev, it);
		return true;
	}
	item_finish(e, it, ev);
	return false;
}

/* Payload first, for the whole batch: rcv_nxt already covers every
 * in-order segment of it (and the protocol stage took a flow's segments in
 * sequence order, not in slot order), so rx_head may only move to rcv_nxt
 * once all those bytes are in the ring. */
static inline __attribute__((always_inline)) void
postproc_copy(struct ftoe_engine *e, const struct ftoe_rx_item *items, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct ftoe_rx_item *it = &items[i];

		if ((it->res & (FTOE_RX_R_DATA | FTOE_RX_R_DROP)) == FTOE_RX_R_DATA)
			item_place(e, it);
	}
}

/* The same on any thread, without a lock, while the control plane may free
 * the flow (engine_internal.h flow_gen): a slot freed since the protocol
 * stage gets nothing, as it may be a new flow's now. */
void ftoe_postproc_rx_place(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct ftoe_rx_item *it = &items[i];

		if ((it->res & (FTOE_RX_R_DATA | FTOE_RX_R_DROP)) != FTOE_RX_R_DATA)
			continue;
		switch (flow_place_begin(e, it->flow, it->gen)) {
		case FLOW_PLACE_STALE:
			FTOE_ST_INC(e, rx_stale_place);
			continue;
		case FLOW_PLACE_LATER:
			/* the rings are moving: the finish places it, after */
			it->res |= FTOE_RX_R_PLACE_LATE;
			continue;
		case FLOW_PLACE_OK:
			break;
		}
		item_place(e, it);
		flow_place_end(e, it->flow);
	}
}

unsigned ftoe_postproc_rx(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n,
			  unsigned from)
{
	if (!from)
		postproc_copy(e, items, n);
	return ftoe_postproc_rx_placed(e, items, n, from);
}

unsigned ftoe_postproc_rx_placed(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n,
				 unsigned from)
{
	for (unsigned i = from; i < n; i++) {
		struct ftoe_rx_item *it = &items[i];

		/* The queue must have room for all this item may queue: if
		 * not, the engine drains it first and calls again from here
		 * (core/slowpath.h).  The first item always goes on, so
		 * every call makes progress. */
		if (i > from && !ftoe_sp_room(&e->sp))
			return i;

		/* Freed since its protocol stage (a reset, an abort, on
		 * another thread in between): what it says is about a
		 * connection that is gone, and its slot may be another's.
		 * (Under the locks the free takes: a plain compare.) */
		if (__builtin_expect(it->gen != flow_gen(e, it->flow), 0)) {
			FTOE_ST_INC(e, rx_stale);
			continue;
		}
		/* Its placement met a ring move (ftoe_postproc_rx_place): the
		 * move is over (it runs under the locks held here), so the
		 * bytes go to the new rings now, before rx_head covers them.
		 * Earlier items' bytes are placed already: this runs in
		 * protocol-stage order. */
		if (__builtin_expect(it->res & FTOE_RX_R_PLACE_LATE, 0)) {
			it->res &= ~FTOE_RX_R_PLACE_LATE;
			item_place(e, it);
		}
		if (it->res & FTOE_RX_R_DROP) {
			if (!e->ctl[it->flow].in_use)
				continue;
			if (it->res & FTOE_RX_R_CTL) {
				/* a segment in TIME_WAIT: 2MSL restarts */
				ftoe_sp_push(&e->sp, FTOE_SP_STATE, it->flow, 0, it);
				return i + 1;
			}
			if (it->res & FTOE_RX_R_ACK_NOW)
				ftoe_postproc_send_ack(e, it->flow);
			continue;
		}
		if (postproc_one(e, it))
			return i + 1;
	}
	return n;
}
