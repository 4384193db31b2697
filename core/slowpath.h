/* slowpath.h - the one boundary between the fast-path stages and the control plane. */
#ifndef FTOE_CORE_SLOWPATH_H
#define FTOE_CORE_SLOWPATH_H

#include <stdint.h>

struct ftoe_engine;
struct ftoe_rx_item;

/*
 * In the spirit of FlexTOE's fp_sp_if.h and TAS's tas/fast: the stages
 * (core/preproc.c, protocol.c, postproc.c, sched.c, tx.c) never call into
 * core/control/ nor include its headers.  What needs the control plane
 * they mark and queue here, and go on; the engine's entry points
 * (core/engine.c) drain the queue on the same thread, in the same round:
 * pre-processing stops after each frame it queues, post-processing after
 * each item whose rest must wait for the control plane (ftoe_preproc,
 * ftoe_postproc_rx), and the engine drains before it resumes them and
 * at the end, so no segment, ACK or application event waits for a later
 * round, the order is the one direct calls had, and nothing extra wakes
 * up.  The control plane changes flow state only through the
 * stages' API (the "control plane's API into the stages" in
 * core/pipeline.h) and the per-flow state it owns (core/engine_internal.h:
 * flow_ctl; the stages' own state is core/flow_state.h).  So calls go one
 * way: engine -> control plane -> stages, and engine -> stages -> queue.
 *
 * The queue is a fixed array in the engine (no allocation); entries live
 * only until the drain that follows them, so they may point at the rx
 * item of the batch being processed.
 */
enum ftoe_sp_kind {
	/* Pre-processing: a segment the fast path does not handle - SYN,
	 * RST, unknown flow (maybe a SYN-cookie ACK), handshake in progress,
	 * unusual options.  The control plane may re-inject it into the
	 * stages (ftoe_postproc_rx + a nested drain, conn.c). */
	FTOE_SP_SEG = 1,
	/* Post-processing: our data was acknowledged (rx->res
	 * FTOE_RX_R_ACKED): RTT sample from rx->ack (RFC 6298 3, Karn),
	 * congestion control with `arg` data bytes acked (ECE from rx->res), and the
	 * retransmission timer stopped or restarted (RFC 6298 5.2-5.3). */
	FTOE_SP_ACKED,
	/* An ACK with ECE that acknowledged nothing new: congestion control. */
	FTOE_SP_ECE,
	/* An ACK that SACKed new data (arg bytes) without moving snd_una:
	 * congestion control counts it as delivered. */
	FTOE_SP_DELIVERED,
	/* A loss episode began (third duplicate ACK without SACK, RACK
	 * with it): congestion control. */
	FTOE_SP_LOSS,
	/* The episode was spurious (Eifel, D-SACK): congestion control
	 * gives the cut back. */
	FTOE_SP_UNDO,
	/* Data for a socket the application closed: abort with a RST
	 * (RFC 9293 3.10.7.4, RFC 2525 2.17).  The item ends here. */
	FTOE_SP_RESET,
	/* A connection-state event (FTOE_RX_R_CTL: the peer's FIN in order,
	 * our FIN acknowledged, a segment in TIME_WAIT): the state machine
	 * runs, then the item's ACK and its application events `ev`
	 * (ftoe_postproc_finish) if the flow still lives. */
	FTOE_SP_STATE,
	/* The item's ACK and events `ev` only (ftoe_postproc_finish): after
	 * ACKED/ECE/LOSS entries while the tx-post hook observes what we send
	 * (core/postproc.c). */
	FTOE_SP_FINISH,
};

struct ftoe_sp_item {
	uint8_t kind;          /* enum ftoe_sp_kind */
	uint32_t flow;
	uint32_t arg;          /* ACKED: data bytes acked; STATE, FINISH: FTOE_EV_* */
	struct ftoe_rx_item *rx; /* the received segment (all kinds) */
};

/* Full by construction never: a stage queues at most FTOE_SP_PER_ITEM
 * entries for one item (post-processing: ACKED or ECE, LOSS, then STATE,
 * FINISH or RESET; pre-processing: one SEG, after which it stops), and
 * post-processing stops before an item that might not fit, so the engine
 * drains first (ftoe_postproc_rx).  Pre-processing starts on a drained
 * queue, and a segment the control plane re-injects while draining a SEG
 * entry queues its own FTOE_SP_PER_ITEM behind it (engine_internal.h
 * checks the capacity against both). */
#define FTOE_SP_PER_ITEM 3
#define FTOE_SP_CAP 32

struct ftoe_sp_queue {
	uint32_t n;
	uint32_t overflow;     /* entries refused (a bug: a stage broke the bound above) */
	struct ftoe_sp_item q[FTOE_SP_CAP];
};

/* Room for one more item's entries?  Stages stop before an item when not. */
static inline int ftoe_sp_room(const struct ftoe_sp_queue *q)
{
	return q->n + FTOE_SP_PER_ITEM <= FTOE_SP_CAP;
}

/* ---- the stages' side ---------------------------------------------------- */

/* Queue one entry. */
static inline void ftoe_sp_push(struct ftoe_sp_queue *q, uint8_t kind, uint32_t flow,
				uint32_t arg, struct ftoe_rx_item *rx)
{
	struct ftoe_sp_item *p;

	if (q->n == FTOE_SP_CAP) {
		q->overflow++;
		return;
	}
	p = &q->q[q->n++];
	p->kind = kind;
	p->flow = flow;
	p->arg = arg;
	p->rx = rx;
}

/* ---- the control plane's side (core/control/), run by the engine --------- */

/* Handle the entries from position `from` on, in order, including those
 * the handlers queue meanwhile, and forget them.  The engine drains from
 * 0; the control plane, when it re-injects a segment into the stages
 * during a drain, drains from the mark it took before, so that segment's
 * entries are handled before the older ones still waiting (the order the
 * direct calls had). */
void ftoe_sp_drain_from(struct ftoe_engine *e, struct ftoe_sp_queue *q, uint32_t from);
static inline void ftoe_sp_drain(struct ftoe_engine *e, struct ftoe_sp_queue *q)
{
	if (q->n)
		ftoe_sp_drain_from(e, q, 0);
}
/* Timers that have passed: retransmission, persist, delayed ACK,
 * TIME_WAIT (core/control/timers.c). */
void ftoe_timers_run(struct ftoe_engine *e);
/* The control plane's own tables (SYN, TIME_WAIT; core/control/conn.c):
 * 0 or -ENOMEM / -EINVAL, at engine creation; destroy is safe on a
 * partly created engine. */
int ftoe_conn_tables_create(struct ftoe_engine *e);
void ftoe_conn_tables_destroy(struct ftoe_engine *e);
/* A neighbour the engine waited for is resolved (core/control/conn.c). */
void ftoe_conn_neigh_ready(struct ftoe_engine *e, uint32_t ip_be);
void ftoe_conn_neigh6_ready(struct ftoe_engine *e, const uint8_t ip6[16]);

#endif
