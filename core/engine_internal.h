/* engine_internal.h - the engine object shared by the stages and the control plane. */
#ifndef FTOE_CORE_ENGINE_INTERNAL_H
#define FTOE_CORE_ENGINE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/flow_state.h"
#include "core/flow_table.h"
#include "core/rto.h"
#include "core/slowpath.h"
#include "core/socket.h"

/*
 * Threading: one thread at a time runs the entry points (ftoe_engine_rx/poll,
 * the ftoe_sock_* calls and the control plane), run to completion, with
 * two exceptions.  ftoe_engine_rx_prepare (core/preproc.c) may run on any
 * number of threads: it reads only local_ip and the flow table (lock-free
 * readers) and writes only the item it fills.  ftoe_engine_rx_proto (the
 * protocol stage of one flow group, engine.h "Flow groups") may run for
 * different groups at once, beside one holder of the rest: it writes only
 * its own flows' tcp[] and ctl[] and the few shared fields below that are
 * atomic (now, next_timer, the counters through FTOE_ST_ADD).  The state is
 * split by owner (docs/design.md section 3):
 *
 *   conn[]  control plane writes at setup; pre/post-processing read
 *   tcp[]   protocol stage (control plane only at setup and teardown)
 *   mem[]   control plane sets up; post-processing advances rx_head/tx_tail,
 *           the application advances rx_tail/tx_head (single producer and
 *           single consumer per ring; positions, not pointers)
 *   cc[]    control plane (rate), data path (counters)
 *   ctl[]   control plane: TCP state, timers, RTO, handshake
 *   sch[]   flow scheduler
 */

/* RFC 9293 section 3.3.2 states (LISTEN lives in struct ftoe_listener). */
enum ftoe_tcp_state {
	TCP_S_CLOSED = 0,
	TCP_S_SYN_SENT,
	TCP_S_SYN_RCVD,
	TCP_S_ESTABLISHED,
	TCP_S_FIN_WAIT_1,
	TCP_S_FIN_WAIT_2,
	TCP_S_CLOSE_WAIT,
	TCP_S_CLOSING,
	TCP_S_LAST_ACK,
	TCP_S_TIME_WAIT,
};

/* What flow_tag holds for a flow: its peer's address and port and its own
 * port, packed (0 is a free slot: no flow has the peer address 0).  An
 * IPv4 flow's local address is the engine's one IPv4 address, so an equal
 * tag is the same 4-tuple, hence the same flow group for any number of
 * groups (core/reorder.h hashes the 4-tuple); IPv6 flows are all group
 * 0's and share one tag.  Packed rather than hashed: hint_holds compares
 * it on every segment, before it compares the 4-tuple itself. */
static inline uint64_t ftoe_flow_tag(uint8_t family, uint32_t raddr4, uint32_t laddr4,
				     uint16_t rport, uint16_t lport)
{
	(void)laddr4;
	if (family != 4)
		return 1;
	return (uint64_t)raddr4 << 32 | (uint32_t)rport << 16 | lport;
}

/* Synchronized states the fast path handles (after the handshake). */
static inline bool tcp_state_synced(uint8_t s)
{
	return s >= TCP_S_ESTABLISHED;
}

enum ftoe_timer {
	FTOE_T_TX = 0,	/* retransmission / persist / SYN retransmission */
	FTOE_T_DELACK,	/* delayed ACK */
	FTOE_T_WAIT,	/* TIME_WAIT, FIN_WAIT_2 orphan timeout */
	FTOE_T_RACK,	/* RACK reordering timer / tail loss probe (RFC 8985) */
	FTOE_T__MAX,
};

/* Control-plane state of a flow. */
/* Bytes of per-flow state a congestion-control algorithm may use
 * (flow_ctl.cc_priv; core/control/cc.h). */
#define FTOE_CC_PRIV_SIZE 96

struct flow_ctl {
	uint8_t state;		/* enum ftoe_tcp_state */
	uint8_t in_use;
	uint8_t flags;		/* CTL_F_* */
	uint8_t syn_tries;
	int16_t listener;	/* index of the listener (passive open), -1 */
	int32_t err;		/* pending/last error for the application */
	uint32_t iss, irs;
	uint64_t timer[FTOE_T__MAX]; /* deadlines in ns; 0 = off */
	struct ftoe_rto rto;
	/* One timed segment at a time (RFC 6298 section 3, Karn). */
	uint32_t rtt_seq;
	uint64_t rtt_ns;
	bool rtt_on;
	uint16_t peer_mss;
	uint32_t acceptq_next;	/* accept-queue link (flow id), UINT32_MAX: end */
	uint32_t events;	/* FTOE_EV_* not yet delivered */
	/* congestion control: the algorithm's own state (core/control/cc.h),
	 * the glue's counters of the current control interval */
	uint64_t cc_priv[FTOE_CC_PRIV_SIZE / 8];
	uint64_t cc_last_ns;
	uint32_t cc_acked, cc_ecn, cc_acks, cc_losses;
	uint32_t cc_undo_kbps;	/* rate before the last loss cut (spurious-loss undo) */
	/* window algorithms (cwnd itself is flow_cc.cwnd, which the
	 * scheduler reads): the slow-start threshold, and both before the
	 * last cut, for undo (RFC 3708 / Linux's undo_cwnd) */
	uint32_t cc_ssthresh, cc_prior_cwnd, cc_prior_ssthresh;
};
#define CTL_F_ACCEPTED   (1u << 0) /* handed to the application */
#define CTL_F_IN_ACCEPTQ (1u << 1)
#define CTL_F_NEIGH_WAIT (1u << 2) /* active open waits for ARP */
#define CTL_F_ACTIVE     (1u << 3) /* we sent the first SYN */
#define CTL_F_SYN_ECN    (1u << 4) /* ECN requested in our SYN */
#define CTL_F_EVQ        (1u << 5) /* queued on the event list */

/* Flow scheduler state (core/sched.c). */
struct flow_sched {
	uint32_t next;		/* active-list link */
	uint8_t queued;
	int64_t tokens;		/* pacing credit in bytes */
	uint64_t t_refill;
	uint64_t t_wait;	/* earliest time worth retrying (paced) */
};

struct ftoe_listener {
	uint16_t port;		/* 0: free */
	uint16_t backlog;
	uint32_t pending;	/* SYN_RCVD children */
	uint32_t queued;	/* established, not yet accepted */
	uint32_t q_head, q_tail;
	uint32_t events;
	bool evq;
	uint32_t owner;		/* shared port: the application context's id (0: sole listener) */
	uint8_t families;	/* FTOE_LISTEN_V4 | FTOE_LISTEN_V6 it takes SYNs of (0: both) */
};

#define FTOE_MAX_LISTENERS FTOE_LISTENERS_MAX	/* engine.h */
#define FTOE_NO_FLOW UINT32_MAX
#define FTOE_RX_BATCH 32
#define FTOE_TX_BATCH 32
_Static_assert(FTOE_SP_CAP >= 1 + 2 * FTOE_SP_PER_ITEM,
	       "the slow-path queue holds a SEG entry, its re-injected segment's entries "
	       "and one more item's (core/slowpath.h)");

#define FTOE_FLOW_CACHE 256	/* power of two */

struct ftoe_engine {
	struct ftoe_engine_cfg cfg;
	struct ftoe_io io;
	uint32_t nflows;	/* flow ids are [0, nflows) */
	uint32_t hwm;		/* ids >= hwm were never used */
	uint16_t mss_max;	/* mtu - 40 */
	uint8_t rx_wscale;	/* what we announce */
	uint8_t key[16];	/* secret for ISNs, cookies */
	uint32_t local_ip;	/* host order */
	/* The IPv6 address (cfg.ip6) as flow keys hold it (core/flow_table.h):
	 * its first 96 bits as on the wire, the last 32 in host order; all
	 * zero when the engine has none. */
	uint32_t local6_hi[3], local6_lo;

	struct ftoe_flow_table ft;
	void *ft_mem;
	/* Pre-processing's flow cache (FlexTOE keeps one in local memory in
	 * front of its hash table): a cheap hash of the 4-tuple picks a slot
	 * holding the last flow id seen there; a hit is used only after
	 * preproc checks it against the flow's own identity, so a stale or
	 * colliding entry costs a table lookup, never a wrong flow. */
	uint32_t flow_cache[FTOE_FLOW_CACHE];
	/* Per flow slot: ftoe_flow_tag of its 4-tuple, 0 while free; atomic,
	 * set before a flow's state is written and cleared before it is torn
	 * down.  A flow-id hint (the flow cache, another thread's lookup) is
	 * checked against it before anything of the slot is read: a tag equal
	 * to the segment's is a flow of the segment's flow group for any
	 * number of groups, whose state the reader's group lock guards;
	 * another group's slot is never read (engine.h "Flow groups"). */
	uint64_t *flow_tag;
	/* Per flow slot: its generation (high 32 bits), moved on each time
	 * the slot is freed, and the payload placements into its rx ring in
	 * progress (low 32 bits); see flow_place_begin below. */
	uint64_t *flow_gen;

	struct flow_conn *conn;
	struct flow_tcp *tcp;
	struct flow_mem *mem;
	struct flow_cc *cc;
	struct flow_ctl *ctl;
	struct flow_sched *sch;
	uint8_t *bufs;		/* the flows' own rx and tx rings: region 0 */
	/* Regions flows' rings may live in (flow_mem.region): [0] = bufs, the
	 * others applications' shared memory (ftoe_sock_region_add); NULL: free. */
	uint8_t **region;
	uint32_t nregion;

	uint32_t *free_ids;	/* stack of free flow ids */
	uint32_t nfree;

	struct ftoe_listener lis[FTOE_MAX_LISTENERS];

	/* scheduler active list (FIFO of flow ids) */
	uint32_t act_head, act_tail, act_len;

	/* application events: FIFO of flows / listeners with pending events */
	uint32_t *evq;
	uint32_t evq_head, evq_len, evq_cap;
	ftoe_sock_event_fn ev_fn;
	void *ev_ctx;

	/* earliest armed deadline (may be early): ftoe_next_timer_lower and
	 * ftoe_next_timer, atomic (flow groups' protocol stages arm timers) */
	uint64_t next_timer;
	/* cached clock of the current entry point: atomic and never going
	 * back (eng_now), as protocol stages of flow groups store it at once */
	_Atomic uint64_t now;
	uint16_t ip_id;
	uint32_t port_next;	/* ephemeral port cursor */
	/* RFC 5961 section 7: challenge-ACK rate limit */
	uint64_t chal_epoch;
	uint32_t chal_count;

	/* the control plane's compact tables (core/control/syn_table.h,
	 * time_wait.h): half-open and TIME_WAIT connections hold no slot */
	struct ftoe_tuple_tab *syn;
	struct ftoe_tuple_tab *tw;

	/* work the stages handed to the control plane (core/slowpath.h) */
	struct ftoe_sp_queue sp;

	uint8_t *frame;		/* scratch frame for transmission */
	uint32_t frame_size;
	struct ftoe_engine_stats st;
};

static inline bool engine_has_ip6(const struct ftoe_engine *e)
{
	return (e->local6_hi[0] | e->local6_hi[1] | e->local6_hi[2]) != 0;
}

static inline uint8_t *flow_rx_ring(struct ftoe_engine *e, uint32_t id)
{
	return e->region[e->mem[id].region] + e->mem[id].rx_base;
}

static inline uint8_t *flow_tx_ring(struct ftoe_engine *e, uint32_t id)
{
	return e->region[e->mem[id].region] + e->mem[id].tx_base;
}

/* Point flow id's rings at its own slot of the engine's buffers (region 0). */
static inline void flow_mem_own(struct ftoe_engine *e, uint32_t id)
{
	struct flow_mem *m = &e->mem[id];
	uint64_t per_flow = (uint64_t)e->cfg.rx_buf_size + e->cfg.tx_buf_size;

	m->region = 0;
	m->rx_base = (uint64_t)id * per_flow;
	m->tx_base = m->rx_base + e->cfg.rx_buf_size;
	m->rx_size = e->cfg.rx_buf_size;
	m->tx_size = e->cfg.tx_buf_size;
}

/*
 * A slot's generation (flow_gen).  The protocol stage copies it into the
 * item (ftoe_proto_rx_one); payload placement may run later on another thread
 * without a lock (ftoe_engine_rx_post_place), after the flow was reset and
 * its slot given to a new connection, whose rx ring is the same memory.
 * So placement writes only between flow_place_begin and flow_place_end,
 * and only when the generation is still the item's; teardown
 * (ftoe_conn_free) moves the generation on and then waits until no
 * placement is in progress (conn_gen_retire, core/control/conn.c).  Why that cannot let a
 * stale write through: all four steps are read-modify-writes of the one
 * word, so they fall in one order.  A placement whose increment comes
 * after teardown's bump reads the new generation and writes nothing.  One
 * whose increment comes before it is counted in the value teardown
 * leaves; teardown then waits (acquire) until a value with no placement
 * in progress, which comes after that placement's release decrement, so
 * its bytes are written before the slot is used again or its memory
 * handed back.  The check at the end (ftoe_postproc_rx_placed) runs under
 * the locks teardown takes, and needs only the generation.  32 bits wrap
 * after 4 billion reuses of one slot while one item waits: not a case.
 */
#define FLOW_GEN_ONE (1ull << 32)
/* in the low half: the flow's rings are being moved (flow_rings_hold) */
#define FLOW_GEN_MOVING (1ull << 31)

static inline uint32_t flow_gen(const struct ftoe_engine *e, uint32_t id)
{
	return (uint32_t)(__atomic_load_n(&e->flow_gen[id], __ATOMIC_ACQUIRE) >> 32);
}

enum flow_place {
	FLOW_PLACE_OK,		/* write, then flow_place_end */
	FLOW_PLACE_STALE,	/* the slot was freed since: nothing to write */
	FLOW_PLACE_LATER,	/* the rings are being moved: the finish places it */
};

/* Whether an item of generation gen may write the slot's rx ring now. */
static inline enum flow_place flow_place_begin(struct ftoe_engine *e, uint32_t id, uint32_t gen)
{
	uint64_t old = __atomic_fetch_add(&e->flow_gen[id], 1, __ATOMIC_ACQUIRE);

	if ((uint32_t)(old >> 32) == gen && !(old & FLOW_GEN_MOVING))
		return FLOW_PLACE_OK;
	__atomic_fetch_sub(&e->flow_gen[id], 1, __ATOMIC_RELAXED);
	return (uint32_t)(old >> 32) == gen ? FLOW_PLACE_LATER : FLOW_PLACE_STALE;
}

static inline void flow_place_end(struct ftoe_engine *e, uint32_t id)
{
	__atomic_fetch_sub(&e->flow_gen[id], 1, __ATOMIC_RELEASE);
}

/*
 * Re-pointing a live flow's rx ring (ftoe_sock_attach/_detach, under every
 * lock, so never during a protocol stage or a finish) while some of its
 * segments are between the protocol stage and the finish.  Those items
 * must still deliver their bytes: the flow lives on, so the generation
 * cannot simply void them.  Three parts close it:
 *  - positions: each item carries the base its copy_pos and rx_head count
 *    from (ftoe_rx_item.pos_off, the flow's rx_pos_off at its protocol
 *    stage); placement and finish rebase them onto the rings of the
 *    moment (core/postproc.c item_pos), so an attach (positions restart
 *    at 0) moves them with the bytes;
 *  - bytes already placed but not yet published: the move copies up to
 *    the protocol stage's end (rx_held_end counts rcv_nxt), not only to
 *    rx_head;
 *  - a placement running without a lock at that moment: the mover sets
 *    FLOW_GEN_MOVING in this word and waits until none is in progress
 *    (ftoe_sock_attach, core/socket.c: rings_hold).  A placement starting
 *    while the bit is set writes nothing and marks its item
 *    (FTOE_RX_R_PLACE_LATE); the item's finish, which runs under the
 *    locks the mover holds and so after it, places the bytes on the new
 *    rings before it publishes rx_head.  So a placement never waits for
 *    the control plane, and nothing is dropped.
 * The ordering argument is the generation's: all are read-modify-writes
 * of this one word.  A region given back (ftoe_sock_region_remove) first
 * detaches its flows this way, so no placement writes it afterwards.
 */
/* Two threads' clock reads may land in either order: keep the later, so
 * a stage never sees time go back (now - stamp would wrap). */
static inline uint64_t eng_now(struct ftoe_engine *e)
{
	uint64_t t = e->io.now_ns(e->io.ctx);
	uint64_t cur = atomic_load_explicit(&e->now, memory_order_relaxed);

	while (t > cur && !atomic_compare_exchange_weak_explicit(&e->now, &cur, t,
								 memory_order_relaxed,
								 memory_order_relaxed))
		;
	return t > cur ? t : cur;
}

/* Counters that concurrent protocol stages of flow groups share: relaxed
 * atomic adds (a lock prefix, no fence), everywhere the counter is bumped. */
#define FTOE_ST_ADD(e, field, v) __atomic_fetch_add(&(e)->st.field, (v), __ATOMIC_RELAXED)
#define FTOE_ST_INC(e, field)    FTOE_ST_ADD(e, field, 1)

/* The earliest armed deadline: lowered by whoever arms a timer (a CAS, as
 * flow groups' protocol stages arm at once), reset by the timer run. */
static inline void ftoe_next_timer_lower(struct ftoe_engine *e, uint64_t t)
{
	uint64_t cur = __atomic_load_n(&e->next_timer, __ATOMIC_RELAXED);

	while (t < cur && !__atomic_compare_exchange_n(&e->next_timer, &cur, t, true,
						       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}
static inline uint64_t ftoe_next_timer(const struct ftoe_engine *e)
{
	return __atomic_load_n(&e->next_timer, __ATOMIC_RELAXED);
}

/* Per-flow deadlines: the stages and the control plane arm and stop them
 * (RFC 6298 5.1-5.3, delayed ACK); the control plane runs them when they
 * pass (ftoe_timers_run, core/control/timers.c).  The engine keeps the
 * earliest armed deadline (next_timer, possibly stale-early). */
static inline void ftoe_timer_set(struct ftoe_engine *e, uint32_t id, enum ftoe_timer t,
				  uint64_t deadline)
{
	if (!deadline)
		deadline = 1;
	e->ctl[id].timer[t] = deadline;
	ftoe_next_timer_lower(e, deadline);
}
static inline void ftoe_timer_stop(struct ftoe_engine *e, uint32_t id, enum ftoe_timer t)
{
	e->ctl[id].timer[t] = 0;
}
/* (Re)arm the retransmission timer for the current RTO. */
static inline void ftoe_timer_rto_restart(struct ftoe_engine *e, uint32_t id)
{
	ftoe_timer_set(e, id, FTOE_T_TX,
		       e->now + (uint64_t)ftoe_rto_current(&e->ctl[id].rto) * 1000u);
}

/* Application notification (core/notify.c): the stages and the control
 * plane queue events; the engine's entry points deliver them at the end. */
static inline void ftoe_evq_push(struct ftoe_engine *e, uint32_t v)
{
	if (e->evq_len == e->evq_cap)
		return; /* cannot happen: one entry per flow/listener */
	e->evq[(e->evq_head + e->evq_len) % e->evq_cap] = v;
	e->evq_len++;
}
static inline void ftoe_sock_notify(struct ftoe_engine *e, uint32_t id, uint32_t events)
{
	struct flow_ctl *c = &e->ctl[id];

	if (!(c->flags & (CTL_F_ACCEPTED | CTL_F_ACTIVE)))
		return; /* the application does not know this flow yet */
	c->events |= events;
	if (!(c->flags & CTL_F_EVQ)) {
		c->flags |= CTL_F_EVQ;
		ftoe_evq_push(e, id);
	}
}
void ftoe_sock_notify_listener(struct ftoe_engine *e, unsigned idx, uint32_t events);
void ftoe_sock_deliver_events(struct ftoe_engine *e);

/* Pre-processing split for pipelined backends (core/preproc.c): the
 * read-only part, safe on any thread, leaves its verdict in it->res; the
 * engine's thread finishes the items in arrival order. */
#define FTOE_RXP_FAST      (1u << 31)
#define FTOE_RXP_SLOW      ((1u << 31) | 1)
#define FTOE_RXP_NOT_OURS  ((1u << 31) | 2)
#define FTOE_RXP_MALFORMED ((1u << 31) | 3)
struct ftoe_rx_item;
void ftoe_preproc_prepare(const struct ftoe_engine *e, void *frame, uint16_t len,
			  const struct flextoe_md *md, struct ftoe_rx_item *it);
/* prepare without the flow-table lookup (it->flow FTOE_NO_FLOW): claim
 * then finds the flow through the engine's flow cache. */
void ftoe_preproc_parse(const struct ftoe_engine *e, void *frame, uint16_t len,
			const struct flextoe_md *md, struct ftoe_rx_item *it);
/* claim: true when it is a fast-path segment of a synchronized flow (it->flow
 * set, counted); false without side effects.  divert: every other item
 * (counted; queued for the control plane as FTOE_SP_SEG, core/slowpath.h). */
bool ftoe_preproc_claim(struct ftoe_engine *e, struct ftoe_rx_item *it);
/* A frame a pipelined backend drops after ftoe_preproc_prepare found it
 * malformed (it never reaches the engine's thread): counted as
 * ftoe_preproc_divert counts it (rx_frames, rx_malformed, rx_bad_csum);
 * atomic, so safe on any thread. */
void ftoe_preproc_count_malformed(struct ftoe_engine *e, const struct ftoe_rx_item *it);
void ftoe_preproc_divert(struct ftoe_engine *e, struct ftoe_rx_item *it);

#endif
