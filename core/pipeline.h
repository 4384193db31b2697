/* pipeline.h - work items and results passed between the data-path stages. */
#ifndef FTOE_CORE_PIPELINE_H
#define FTOE_CORE_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/ooo.h"
#include "core/vlan.h"
#include "core/segment.h"

struct ftoe_engine;
struct flextoe_md;

/*
 * RX (docs/design.md section 3):
 *   ftoe_preproc()  validate, flow lookup, summary; slow path queued
 *   ftoe_proto_rx() per flow: seq/ack, window, OOO intervals, dupacks
 *   ftoe_postproc_rx() payload copy, ACKs, app notification
 * TX:
 *   ftoe_sched_run() choose flows and segment sizes (round robin, pacing)
 *   ftoe_proto_tx() assign seq/ack/window/flags
 *   ftoe_tx_send()  headers, payload copy, checksums, xmit
 * Each stage is a plain function over a batch; the engine runs them to
 * completion on one thread.  What needs the control plane is queued
 * (core/slowpath.h); the engine drains the queue between the stages.  An item that a stage drops keeps its slot
 * with FTOE_RX_R_DROP so later stages skip it (and a multi-worker version
 * can still retire its reorder number).
 *
 * The control plane's API into the stages (core/slowpath.h): the control
 * plane changes what the stages own only through these -
 *   ftoe_proto_rx_one + ftoe_postproc_rx  re-inject a segment
 *   ftoe_postproc_finish                  an item's ACK and events
 *   ftoe_postproc_send_ack, ftoe_proto_ack, ftoe_tx_addr_flow, ftoe_tx_send
 *                                         ACKs, RSTs, SYNs, probes
 *   ftoe_proto_rto                        go back to snd_una on a timeout
 *   ftoe_proto_loss_timer                 RACK reordering timer, tail loss probe
 *   ftoe_proto_rx_space, ftoe_proto_ts_now  window and TSval for a SYN
 *   ftoe_sched_activate, ftoe_sched_remove  the flow scheduler's list
 * (tests/lint/boundary.sh checks the other direction: no stage calls
 * into core/control/.)
 */

/* Protocol-stage results for one received segment. */
#define FTOE_RX_R_DROP      (1u << 0)  /* nothing more to do */
#define FTOE_RX_R_ACK_NOW   (1u << 1)  /* send an ACK immediately */
#define FTOE_RX_R_ACK_DELAY (1u << 2)  /* in-order data: delayed ACK */
#define FTOE_RX_R_DATA      (1u << 3)  /* copy payload (copy_*) */
#define FTOE_RX_R_ADVANCED  (1u << 4)  /* rcv_nxt moved: data readable */
#define FTOE_RX_R_FIN       (1u << 5)  /* peer's FIN reached in order */
#define FTOE_RX_R_ACKED     (1u << 6)  /* snd_una advanced */
#define FTOE_RX_R_FIN_ACKED (1u << 7)  /* our FIN acknowledged */
#define FTOE_RX_R_FAST_RETX (1u << 8)  /* third dupack: go-back-N started */
#define FTOE_RX_R_WND_OPEN  (1u << 9)  /* peer's window grew: try to send */
#define FTOE_RX_R_ECE       (1u << 10) /* ACK carried ECE */
#define FTOE_RX_R_CTL       (1u << 11) /* needs the control plane (state change) */
#define FTOE_RX_R_LOST_RETX (1u << 12) /* a retransmission was lost: resending */
#define FTOE_RX_R_UNDO      (1u << 13) /* the recovery was spurious: give the rate back */
#define FTOE_RX_R_SEND      (1u << 14) /* the sender may send again (F-RTO ended) */
#define FTOE_RX_R_PLACE_LATE (1u << 15) /* placement met a ring move: the finish places it
					   * (engine_internal.h FLOW_GEN_MOVING) */

struct ftoe_rx_item {
	uint32_t flow;
	const uint8_t *frame;
	/* The rx-pre hook's record of this frame (classify's app_ctx,
	 * vlan_strip's tags), as the backend passed it; NULL: none.  Only the
	 * control plane reads it (core/control/conn.c), so ftoe_preproc sets
	 * it on the items it queues for the control plane only. */
	const struct flextoe_md *md;
	struct ftoe_seg seg;
	/* protocol results */
	uint32_t res;          /* FTOE_RX_R_* */
	uint32_t copy_off;     /* payload offset in frame of the bytes to copy */
	uint32_t copy_len;
	uint32_t copy_pos;     /* rx ring position they go to */
	uint32_t acked;        /* sequence space newly acknowledged */
	int32_t sacked;        /* change of the SACK scoreboard's bytes (+ newly SACKed,
				* - SACKed data the cumulative ACK now covers) */
	uint32_t ack;          /* the segment's ACK number */
	uint32_t rx_head;      /* FTOE_RX_R_ADVANCED: rx ring position of rcv_nxt
				* after this segment (published by post-processing,
				* which may run after later segments' protocol stage) */
	uint32_t gen;          /* the flow slot's generation at the protocol stage
				* (engine_internal.h flow_gen): post-processing
				* writes nothing for a slot freed since */
	uint32_t pos_off;      /* the flow's rx_pos_off at the protocol stage: the
				* base copy_pos and rx_head count from, which an
				* attach moves while the item is in flight
				* (ftoe_sock_attach, core/postproc.c item_pos) */
};

/* One segment to transmit. */
#define FTOE_TX_O_TS  (1u << 0) /* timestamps option */
#define FTOE_TX_O_SYN (1u << 1) /* SYN options: MSS (+ WS, SACK-perm not sent) */
#define FTOE_TX_O_WS  (1u << 2) /* window-scale option (SYN only) */
#define FTOE_TX_O_DATA (1u << 3) /* payload from the flow's tx ring */
#define FTOE_TX_O_SACKP (1u << 4) /* SACK-permitted (SYN only, RFC 2018 2) */
#define FTOE_TX_O_SACK (1u << 5) /* SACK blocks sack[0 .. nsack) (RFC 2018 3) */
#define FTOE_TX_SACK_MAX 4 /* blocks that fit the 40 option bytes (RFC 2018 3) */

struct ftoe_tx_item {
	uint32_t flow;
	uint32_t seq, ack;
	uint32_t tx_pos;       /* tx ring position of the payload */
	uint16_t len;          /* payload bytes */
	uint16_t win;          /* window field as sent */
	uint8_t tcp_flags;
	uint8_t ecn;           /* IP ECN codepoint */
	uint8_t opts;          /* FTOE_TX_O_* */
	uint8_t wscale;
	uint16_t mss;
	uint32_t ts_val, ts_ecr;
	struct ftoe_seq_range sack[FTOE_TX_SACK_MAX]; /* FTOE_TX_O_SACK, first block first */
	uint8_t nsack;
	bool retx;             /* sequence space sent before */
};

/* Addressing of a segment (from flow_conn, or from a received segment when
 * answering an unknown flow). */
struct ftoe_tx_addr {
	uint8_t src_mac[6], dst_mac[6];
	uint32_t saddr, daddr;  /* host order: IPv4, or an IPv6 address's last 32 bits */
	uint16_t sport, dport;  /* host order */
	struct ftoe_vlan vlan;  /* tags to send the frame with (flags 0: none) */
	uint8_t family;         /* 4 or 6 */
	uint32_t shi[3], dhi[3]; /* IPv6: the addresses' first 96 bits, as on the wire */
};

/* core/preproc.c: puts the fast-path segments of known flows in items[]
 * (room for n) and returns how many; queues everything else for the
 * control plane (FTOE_SP_SEG; mds[i]: frame i's rx-pre record, mds may be
 * NULL), stopping right after such a frame, with *used the frames it took,
 * so the engine drains the queue before the next.  *used is only written
 * then: the queue is empty after a run that did not stop. */
unsigned ftoe_preproc(struct ftoe_engine *e, void *const frames[], const uint16_t lens[],
		      const struct flextoe_md *const mds[], unsigned n,
		      struct ftoe_rx_item *items, unsigned *used);

/* core/protocol.c */
void ftoe_proto_rx(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n);
/* Run the rx-post hook's programs on the batch (observe only). */
void ftoe_proto_rx_post_hook(struct ftoe_engine *e, const struct ftoe_rx_item *items,
			     unsigned n);
void ftoe_proto_rx_one(struct ftoe_engine *e, struct ftoe_rx_item *it);
/* Fill seq/ack/window/flags/options of tx items the scheduler chose. */
void ftoe_proto_tx(struct ftoe_engine *e, struct ftoe_tx_item *items, unsigned n);
/* A pure ACK (or window update / probe) for flow id. */
void ftoe_proto_ack(struct ftoe_engine *e, uint32_t id, struct ftoe_tx_item *it);
/* The segment was not transmitted (ring full): undo its sequence space. */
void ftoe_proto_tx_undo(struct ftoe_engine *e, const struct ftoe_tx_item *it);
/* Window to advertise now (16-bit field), updating rcv_adv. */
uint16_t ftoe_proto_window(struct ftoe_engine *e, uint32_t id);
/* Free receive space in bytes. */
uint32_t ftoe_proto_rx_space(struct ftoe_engine *e, uint32_t id);
/* Our TSval clock (RFC 7323 section 5.4: 1 ms per tick). */
uint32_t ftoe_proto_ts_now(struct ftoe_engine *e, uint32_t id);
/* Go back to snd_una (RTO, or the third dupack without SACK). */
void ftoe_proto_go_back(struct ftoe_engine *e, uint32_t id);
/* Retransmission timeout: everything unSACKed is lost; go back to snd_una.
 * The scoreboard survives one timeout (RFC 6675 5.1); the second in a row
 * forgets it (RFC 2018 8: the receiver may have reneged). */
void ftoe_proto_rto(struct ftoe_engine *e, uint32_t id);
/* Before the scheduler sizes a segment: while retransmitting with SACK,
 * move snd_nxt to the next hole marked lost (core/loss_tx.h, past SACKed
 * data and holes not lost), or back to snd_max when none is left; returns
 * the bytes to the end of that hole (UINT32_MAX: no limit). */
uint32_t ftoe_proto_sack_skip(struct ftoe_engine *e, uint32_t id);
/* Bytes in flight (RFC 6675 pipe with SACK; snd_nxt - snd_una without). */
uint32_t ftoe_proto_pipe(const struct ftoe_engine *e, uint32_t id);
/* A window-based controller's flow_cc.cwnd leaves room for a segment
 * (always true without a window). */
bool ftoe_proto_cwnd_room(const struct ftoe_engine *e, uint32_t id);
/* The RACK timer (FTOE_T_RACK) passed: mark holes lost whose reordering
 * window ran out, or send a tail loss probe (RFC 8985 6.3, 7.3).  Returns
 * FTOE_LOSS_T_NEW (a new loss episode: cut the rate and send),
 * FTOE_LOSS_T_SEND (something to send) or 0. */
#define FTOE_LOSS_T_SEND 1u
#define FTOE_LOSS_T_NEW  2u
unsigned ftoe_proto_loss_timer(struct ftoe_engine *e, uint32_t id);

/* core/postproc.c */
/* From item `from` on (0: first the batch's payload into the rx rings),
 * per item in order: publish rx_head/tx_tail, ACK, events; control-plane
 * work is queued (core/slowpath.h).  Stops after an item whose rest waits
 * for the control plane (FTOE_SP_STATE, _RESET, _FINISH), or before one
 * the queue might not have room for, and returns the index of the next
 * item: the caller drains the queue, then calls again from there.
 * Returns n when the batch is done. */
unsigned ftoe_postproc_rx(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n,
			  unsigned from);
/* The two halves of ftoe_postproc_rx for a backend that runs them apart
 * (core/x86/fgpipe.c): the payload of items[0..n) into the rx rings (each
 * item's own bytes: any thread, several at once), and later, in the
 * items' arrival order, the rest (as ftoe_postproc_rx, without the copy). */
void ftoe_postproc_rx_place(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n);
unsigned ftoe_postproc_rx_placed(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n,
				 unsigned from);
/* Send a pure ACK for flow id now (clears the delayed-ACK state). */
int ftoe_postproc_send_ack(struct ftoe_engine *e, uint32_t id);
/* An item's ACK (now or delayed) and its events ev, if its flow is still
 * in use: the end of an item that stopped at STATE or FINISH. */
void ftoe_postproc_finish(struct ftoe_engine *e, const struct ftoe_rx_item *it, uint32_t ev);

/* core/sched.c */
void ftoe_sched_activate(struct ftoe_engine *e, uint32_t id);
void ftoe_sched_remove(struct ftoe_engine *e, uint32_t id);
/* Choose up to max segments; *wait_ns gets the time until a paced flow may
 * send again (UINT64_MAX if none waits). */
unsigned ftoe_sched_run(struct ftoe_engine *e, struct ftoe_tx_item *items,
			unsigned max, uint64_t *wait_ns);
/* Bytes flow id could send now, ignoring pacing: new data within the peer's
 * window, plus 1 for a due FIN. */
uint32_t ftoe_sched_sendable(struct ftoe_engine *e, uint32_t id, bool *fin);

/* core/tx.c */
/* Build and transmit; 0 or -ENOBUFS (ring full: nothing sent). */
int ftoe_tx_send(struct ftoe_engine *e, const struct ftoe_tx_addr *a,
		 const struct ftoe_tx_item *it);
/* Addressing of an established flow. */
void ftoe_tx_addr_flow(struct ftoe_engine *e, uint32_t id, struct ftoe_tx_addr *a);
/* Addressing of a segment of no flow: from our end of 4-tuple k to the
 * peer's, through MAC mac, on VLAN v (an answer to a received segment, a
 * half-open or TIME_WAIT connection's). */
struct ftoe_flow_key;
void ftoe_tx_addr_key(struct ftoe_engine *e, const struct ftoe_flow_key *k,
		      const uint8_t mac[6], const struct ftoe_vlan *v, struct ftoe_tx_addr *a);
/* Transmit a batch of flow segments; undoes the unsent ones. */
void ftoe_tx_batch(struct ftoe_engine *e, struct ftoe_tx_item *items, unsigned n);

#endif
