/* fgpipe.c - --flow-groups G: a sequencer at ingress, pre-processing on any thread, a reorder point, a protocol thread per flow group (several groups may share one), post-processing on any thread, a second reorder point before the wire and the application rings, one egress. */
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/hooks.h"
#include "core/pipeline.h"
#include "core/reorder.h"
#include "core/x86/spsc.h"
#include "core/x86/stages.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

/*
 * FlexTOE section 4 on x86 (docs/engine.md "Flow groups"); the threads are
 * layout.c's plan:
 *
 *   ftoe-io        AF_XDP rx of every queue, the rx-pre hook and
 *                  classification (rx_burst, loop.c); the sequencer: each
 *                  frame gets the next number and a storage slot; then
 *                  egress (tx-post hook, AF_XDP tx), as pipe.c's OUT.
 *   ftoe-preK      pre-processing (ftoe_engine_rx_prepare: validation,
 *                  checksums, flow lookup) of whole batches; the ingress
 *                  thread pre-processes one batch itself, then hands the
 *                  next to ftoe-pre0, and so on in turn, so one flow's
 *                  segments are pre-processed on every one of them.
 *   reorder point  whichever thread finishes a frame completes its number
 *                  (or retires it: a malformed frame goes no further) and
 *                  releases what is in order (ftoe_rob_release_shared)
 *                  into the ring of the frame's group's protocol thread.
 *   ftoe-protoP    its groups' segments in ring order: the protocol
 *                  stage of a run of one group's segments under that
 *                  group's lock (ftoe_engine_rx_proto), then the run on to
 *                  post-processing; ftoe-proto0 also runs group 0 (ARP,
 *                  ICMP, anything not an IPv4 TCP segment), timers, the
 *                  flow scheduler, the control plane and the applications
 *                  (engine_pass).
 *   ftoe-postK     post-processing's payload placement
 *                  (ftoe_engine_rx_post_place: the payload into the rx
 *                  rings, no lock; nothing for a flow freed since its
 *                  protocol stage, and the free waits for a placement in
 *                  progress: engine_internal.h flow_gen; one that
 *                  meets its flow's rings being moved leaves the bytes
 *                  to the finish: FLOW_GEN_MOVING), each protocol
 *                  thread's runs to the
 *                  post-processing threads in turn, so one flow's segments
 *                  are placed on every one of them; then the number
 *                  completed at the second reorder point.
 *   reorder point 2  (before the wire and the application rings) the same
 *                  numbers: whichever thread completes one releases what
 *                  is in order and finishes it there (ftoe_engine_rx_post_finish:
 *                  rx-post hook, rx_head, ACKs, events, the control
 *                  plane's work; _divert for the control plane's
 *                  segments), each run under its group's lock and the
 *                  shared one.  A number dropped before (malformed, not
 *                  TCP) is retired here as well.
 *
 * Per-flow order: a flow's frames get increasing numbers at the one
 * sequencer, leave the reorder point in that order, all into one group's
 * ring (the group is the 4-tuple's, ftoe_flow_group, so the handshake's
 * segments and the data's share it), and one thread takes that ring in
 * order.  Post-processing finishes them in number order again, so
 * rx_head moves only over bytes already placed and a flow's ACKs reach
 * the ring to egress in order.  A run whose segment needs the control
 * plane (FTOE_RX_R_CTL, a diverted segment) is a barrier for its group:
 * the protocol thread waits until it is finished before it runs the
 * group's next segments, as the control plane's change (a new state, a
 * new flow) decides how they are taken.
 *
 * Locks: a group's protocol stage writes only its own flows' protocol
 * state and the engine's atomic fields (engine_internal.h "Threading"),
 * under the group's lock (grp_lock), so groups on different threads run
 * that stage at the same time.  What the groups share - the slow-path
 * queue and the control plane, the flow table's writers, the scheduler's
 * list, the application events, the ring to egress - is under eng_lock:
 * post-processing's in-order rest (it sends ACKs and hands work to the
 * control plane) and the control plane's items, each also under its
 * group's lock, as it reads and writes the group's protocol state.  Timers, the flow scheduler, the applications
 * and ARP may touch any flow: every lock (lock_all).  The frames the
 * engine sends go into the one ring to egress under eng_lock, in the
 * order written; egress is one thread, so the wire gets each flow's
 * frames in the order its group's post-processing wrote them.
 */

#define FG_BATCH      XQ_BATCH
#define FG_TX_SLOTS   512

struct fg_rx_slot {
	struct ftoe_rx_item it;
	struct flextoe_md md;
	uint8_t *data;
	uint64_t addr;
	uint16_t len;
	uint8_t kind;		/* enum rx_kind */
	uint8_t qi;
	uint8_t group;		/* its flow group (the reorder point's) */
	uint8_t fin;		/* enum fg_fin: what reorder point 2 does with it */
	uint32_t sn;		/* its sequence number */
	bool has_md;
	_Atomic bool busy;	/* from ingress until its frame is given back */
};

struct fgp;

enum fg_fin {
	FG_FIN_POST,	/* a fast-path segment: post-processing's rest */
	FG_FIN_DIVERT,	/* the control plane's segment */
};

struct fg_thread {
	struct x86_stage_thread st;	/* name, eventfd, counters */
	struct x86_backend *be;
	struct fgp *p;
	unsigned int idx, roles;
	unsigned int pidx, post_turn;	/* PROTO: its index among them; whose turn to place */
	struct spsc_ring work;	/* PRE: slot numbers to pre-process; PROTO: released ones */
	struct spsc_ring *post_in;	/* POST: slots to place, a ring per protocol thread */
	struct spsc_ring ret;	/* PRE, PROTO: frames back to ingress */
};

struct fgp {
	struct fg_thread *th;
	unsigned int nth;
	struct fg_thread *io, *ctl;	/* ingress+egress; the first protocol thread */
	struct fg_thread *pre[X86_MAX_QUEUES], *post[X86_MAX_QUEUES];
	unsigned int npre, npost, nproto;
	struct spsc_ring *post_rings;	/* [npost][nproto] */
	struct x86_layout lay;
	struct xsk_queue *qs[FTOE_STEER_MAX_QUEUES];	/* be->queues[i], for x86_ret_take */

	/* the sequencer (ingress thread) and the reorder point (any thread) */
	struct ftoe_rob rob;
	struct ftoe_rob_slot *rob_slots;
	struct fg_rx_slot *slots;
	uint32_t nslots;
	unsigned int turn;		/* ingress: who pre-processes the next batch */
	uint32_t q_out[FTOE_STEER_MAX_QUEUES];	/* ingress: frames lent, per queue */
	_Atomic int want_frames;	/* ingress waits for frames back */
	bool rx_blocked;
	_Atomic uint64_t retired;	/* malformed frames: numbers retired */

	/* reorder point 2: the same numbers, after the protocol stage and
	 * payload placement, before the wire and the application rings */
	struct ftoe_rob rob2;
	struct ftoe_rob_slot *rob2_slots;
	_Atomic uint32_t finished_to;	/* numbers before it are finished */
	pthread_mutex_t fin_mu;		/* a protocol thread waits at a barrier */
	pthread_cond_t fin_cv;
	_Atomic int fin_waiters;
	_Atomic uint64_t barriers;	/* waits at a barrier that had to sleep */

	/* the engine's locks (engine.h "Flow groups"): a group's protocol
	 * stage holds its group's; everything else holds eng_lock, and what
	 * is about no one group (timers, the scheduler, the applications,
	 * ARP) every group's first (lock_all) */
	pthread_mutex_t grp_lock[X86_MAX_FLOW_GROUPS];
	pthread_mutex_t eng_lock;
	struct x86_txq tx;		/* to egress; produced under eng_lock */
	bool poll_again;		/* (under eng_lock) */
	/* The first protocol thread's next engine pass is due at ctl_due (the
	 * engine's clock; under eng_lock).  Another group's post-processing
	 * may make it due sooner - a flow ready to send, an earlier timer -
	 * and then sets ctl_poll and wakes it. */
	uint64_t ctl_due;
	_Atomic int ctl_poll;
	/* tx.full as the first protocol thread's pass left it (its own copy:
	 * the other protocol threads write tx.full under eng_lock) */
	bool ctl_full;
};

static __thread struct fg_thread *tls_fg;	/* the calling thread, if one of ours */

static void fg_finish_release(struct fgp *p, struct fg_thread *t);

/* ---- the reorder point ---------------------------------------------------- */

struct fg_release {
	struct fgp *p;
	uint64_t kick;		/* protocol threads that got items (bit per th[] index) */
};

/* In sequence order: into the ring of the frame's group's protocol thread
 * (one producer at a time: ftoe_rob_release_shared's). */
static void fg_deliver(void *ctx, void *item)
{
	struct fg_release *r = ctx;
	struct fgp *p = r->p;
	struct fg_rx_slot *s = item;
	unsigned int g = s->kind == RX_TCP ? ftoe_rx_item_group(&s->it, p->lay.flow_groups) : 0;
	struct fg_thread *t = &p->th[p->lay.group_thread[g]];
	uint32_t idx;

	s->group = (uint8_t)g;
	/* never full: it has a slot for every storage slot */
	if (spsc_prod_reserve(&t->work, 1, &idx) != 1) {
		pr_err("%s: work ring full (slot accounting bug)", t->st.name);
		return;
	}
	*(uint64_t *)spsc_slot(&t->work, idx) = (uint32_t)(s - p->slots);
	spsc_prod_submit(&t->work, 1);
	r->kick |= 1ull << t->idx;
}

static void fg_release(struct fgp *p)
{
	struct fg_release r = { .p = p };

	ftoe_rob_release_shared(&p->rob, fg_deliver, &r);
	for (unsigned int i = 0; i < p->nth; i++)
		if (r.kick & (1ull << i))
			spsc_waiter_kick(&p->th[i].st.wait);
}

/* A frame no stage needs any more goes back to ingress, through t's
 * return ring (the ingress thread's own too). */
static void fg_give_back(struct fg_thread *t, struct fg_rx_slot *s)
{
	if (x86_ret_put(&t->ret, s->addr, s->qi, t->st.name))
		atomic_store_explicit(&s->busy, false, memory_order_release);
}

/* Pre-processing of slot numbers sn[0..n) on thread t (ingress or PRE),
 * then their numbers completed or retired, and what is in order released. */
static void fg_pre(struct fgp *p, struct fg_thread *t, const uint32_t *sn, unsigned int n)
{
	struct x86_backend *be = t->be;
	bool kick_in = false;

	for (unsigned int i = 0; i < n; i++) {
		struct fg_rx_slot *s = &p->slots[sn[i] & (p->nslots - 1)];

		if (s->kind != RX_TCP) {
			s->it.frame = s->data;
			s->it.md = s->has_md ? &s->md : NULL;
			ftoe_rob_complete(&p->rob, sn[i], s);
			continue;
		}
		ftoe_engine_rx_prepare(be->eng, s->data, s->len, s->has_md ? &s->md : NULL,
				       &s->it);
		if (ftoe_rx_item_malformed(&s->it)) {
			/* dropped here: its number is retired, so the flow's
			 * later frames do not wait for it */
			atomic_fetch_add_explicit(&p->retired, 1, memory_order_relaxed);
			ftoe_engine_rx_drop_malformed(be->eng, &s->it);
			fg_give_back(t, s);
			ftoe_rob_retire(&p->rob, sn[i]);
			ftoe_rob_retire(&p->rob2, sn[i]);
			kick_in = true;
			continue;
		}
		ftoe_rob_complete(&p->rob, sn[i], s);
	}
	t->st.items += n;
	fg_release(p);
	if (kick_in)
		fg_finish_release(p, t);
	if (kick_in && t != p->io) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&p->want_frames, memory_order_relaxed))
			spsc_waiter_kick(&p->io->st.wait);
	}
}

/* ---- reorder point 2: before the wire and the application rings ------------- */

static bool fin_passed(struct fgp *p, uint32_t sn)
{
	return (int32_t)(atomic_load(&p->finished_to) - sn) > 0;
}

/* After finished_to moved: wake a protocol thread at a barrier. */
static void fin_wake(struct fgp *p)
{
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load(&p->fin_waiters))
		return;
	pthread_mutex_lock(&p->fin_mu);
	pthread_cond_broadcast(&p->fin_cv);
	pthread_mutex_unlock(&p->fin_mu);
}

/* The first protocol thread runs the scheduler and the timers and may
 * sleep on an older deadline: post-processing on another thread may have
 * made the next pass due sooner (a flow ready to send, an earlier timer).
 * Under eng_lock. */
static void fg_ctl_due(struct fgp *p, struct fg_thread *t)
{
	if (t == p->ctl || ftoe_engine_poll_due(t->be->eng) >= p->ctl_due)
		return;
	p->ctl_due = 0;
	atomic_store_explicit(&p->ctl_poll, 1, memory_order_relaxed);
	spsc_waiter_kick(&p->ctl->st.wait);
}

/* Released slots sl[0..n), in number order, finished: runs of one group's
 * post-processing items, or a diverted segment, each under its group's
 * lock and the shared one; then the applications' events, and the frames
 * back to ingress. */
static void fg_finish(struct fgp *p, struct fg_thread *t, struct fg_rx_slot *const *sl,
		      unsigned int n)
{
	struct ftoe_engine *e = t->be->eng;
	struct ftoe_rx_item items[FG_BATCH];
	unsigned int i = 0, k;

	while (i < n) {
		unsigned int g = sl[i]->group;

		pthread_mutex_lock(&p->grp_lock[g]);
		pthread_mutex_lock(&p->eng_lock);
		if (sl[i]->fin == FG_FIN_DIVERT) {
			ftoe_engine_rx_divert(e, &sl[i]->it);
			i++;
		} else {
			for (k = 0; i + k < n && sl[i + k]->fin == FG_FIN_POST &&
				    sl[i + k]->group == g; k++)
				items[k] = sl[i + k]->it;
			ftoe_engine_rx_post_finish(e, items, k);
			i += k;
		}
		pthread_mutex_unlock(&p->eng_lock);
		pthread_mutex_unlock(&p->grp_lock[g]);
	}
	pthread_mutex_lock(&p->eng_lock);
	ftoe_engine_rx_end(e);
	x86_txq_kick(&p->tx);
	fg_ctl_due(p, t);
	pthread_mutex_unlock(&p->eng_lock);
	for (i = 0; i < n; i++)
		fg_give_back(t, sl[i]);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&p->want_frames, memory_order_relaxed) && t != p->io)
		spsc_waiter_kick(&p->io->st.wait);
}

/* After t completed or retired numbers at reorder point 2: release and
 * finish what is in order, unless another thread is at it (it then looks
 * again before it stops: ftoe_rob_release_claim). */
static void fg_finish_release(struct fgp *p, struct fg_thread *t)
{
	void *out[FG_BATCH];
	struct fg_rx_slot *sl[FG_BATCH];
	unsigned int n;

	while (ftoe_rob_release_claim(&p->rob2)) {
		do {
			n = ftoe_rob_release(&p->rob2, out, FG_BATCH);
			for (unsigned int i = 0; i < n; i++)
				sl[i] = out[i];
			if (n)
				fg_finish(p, t, sl, n);
			/* (retired numbers pass without an item) */
			atomic_store(&p->finished_to, __atomic_load_n(&p->rob2.head,
								       __ATOMIC_RELAXED));
		} while (n);
		fin_wake(p);
		if (!ftoe_rob_release_unclaim(&p->rob2))
			break;
	}
}

/* A protocol thread's barrier: number sn needs the control plane before
 * the group's next segments go through the protocol stage; wait until it
 * is finished.  Every number before sn is past the protocol stage already
 * (the threads take their rings in number order), so this waits only on
 * payload placement and finishing, never on another barrier. */
static void fg_wait_finished(struct fgp *p, struct fg_thread *t, uint32_t sn)
{
	fg_finish_release(p, t);
	if (fin_passed(p, sn))
		return;
	atomic_fetch_add_explicit(&p->barriers, 1, memory_order_relaxed);
	pthread_mutex_lock(&p->fin_mu);
	atomic_fetch_add(&p->fin_waiters, 1);
	while (!fin_passed(p, sn) && !atomic_load_explicit(&t->be->stop, memory_order_relaxed)) {
		struct timespec ts;

		/* (a bound, not a poll: fin_wake wakes it) */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->fin_cv, &p->fin_mu, &ts);
	}
	atomic_fetch_sub(&p->fin_waiters, 1);
	pthread_mutex_unlock(&p->fin_mu);
}

/* ---- ingress --------------------------------------------------------------- */

/* How many frames may be numbered now: free reorder slots whose storage
 * slot is free too (a group behind the others holds its slots). */
static unsigned int in_room(struct fgp *p, unsigned int max)
{
	uint32_t next = p->rob.next, in_flight = ftoe_rob_in_flight(&p->rob);
	uint32_t in_flight2 = next - __atomic_load_n(&p->rob2.head, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	/* (a number stays in reorder point 2 until it is finished there;
	 * a malformed frame's storage slot is free before) */
	if (in_flight2 > in_flight)
		in_flight = in_flight2;
	while (n < max && in_flight + n < p->nslots &&
	       !atomic_load_explicit(&p->slots[(next + n) & (p->nslots - 1)].busy,
				     memory_order_acquire))
		n++;
	return n;
}

static unsigned int in_rx_batch(struct fgp *p, struct fg_thread *t, unsigned int qi)
{
	struct x86_backend *be = t->be;
	struct rx_frame fr[FG_BATCH];
	uint32_t sn[FG_BATCH], n, nf, room, widx;
	unsigned int who;

	room = in_room(p, FG_BATCH);
	if (!room) {
		p->rx_blocked = true;
		return 0;
	}
	n = rx_burst(be, &be->queues[qi], room, fr, &nf);
	for (uint32_t i = 0; i < nf; i++) {
		struct fg_rx_slot *s;

		ftoe_rob_reserve(&p->rob, &sn[i]);	/* in_room said it fits */
		s = &p->slots[sn[i] & (p->nslots - 1)];
		s->sn = sn[i];
		atomic_store_explicit(&s->busy, true, memory_order_relaxed);
		s->data = fr[i].data;
		s->addr = fr[i].addr;
		s->len = fr[i].len;
		s->kind = fr[i].kind;
		s->qi = (uint8_t)qi;
		s->has_md = fr[i].has_md;
		if (fr[i].has_md)
			s->md = fr[i].md;
	}
	if (!nf)
		return n;
	p->q_out[qi] += nf;
	/* this batch's pre-processing: here, or the next PRE thread's turn */
	who = p->turn++ % (p->npre + 1);
	if (!who) {
		fg_pre(p, t, sn, nf);
		return n;
	}
	t = p->pre[who - 1];
	if (spsc_prod_reserve(&t->work, nf, &widx) != nf) {
		/* (never: the ring has a slot per storage slot) */
		pr_err("%s: work ring full; pre-processing here", t->st.name);
		fg_pre(p, p->io, sn, nf);
		return n;
	}
	for (uint32_t i = 0; i < nf; i++)
		*(uint64_t *)spsc_slot(&t->work, widx + i) = sn[i];
	spsc_prod_submit(&t->work, nf);
	spsc_waiter_kick(&t->st.wait);
	return n;
}

static unsigned int in_pass(struct fgp *p, struct fg_thread *t)
{
	struct x86_backend *be = t->be;
	unsigned int work = 0;
	bool low = false;

	for (unsigned int i = 0; i < p->nth; i++)
		work += x86_ret_take(&p->th[i].ret, p->qs, be->nr_queues, p->q_out);
	p->rx_blocked = false;
	for (unsigned int qi = 0; qi < be->nr_queues; qi++) {
		work += in_rx_batch(p, t, qi);
		if (p->q_out[qi] > XQ_RX_FRAMES / 2)
			low = true;
	}
	atomic_store_explicit(&p->want_frames, low || p->rx_blocked, memory_order_relaxed);
	return work;
}

/* ---- pre-processing threads ------------------------------------------------ */

static unsigned int pre_pass(struct fgp *p, struct fg_thread *t)
{
	uint32_t idx, n, sn[FG_BATCH];

	n = spsc_cons_peek(&t->work, FG_BATCH, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		sn[i] = *(uint64_t *)spsc_slot(&t->work, idx + i);
	spsc_cons_release(&t->work, n);
	fg_pre(p, t, sn, n);
	return n;
}

/* ---- protocol threads -------------------------------------------------------- */

/* Every group's lock, in order, then the shared one: for what may touch
 * any flow (engine.h "Flow groups"). */
static void lock_all(struct fgp *p)
{
	for (unsigned int g = 0; g < p->lay.flow_groups; g++)
		pthread_mutex_lock(&p->grp_lock[g]);
	pthread_mutex_lock(&p->eng_lock);
}

static void unlock_all(struct fgp *p)
{
	pthread_mutex_unlock(&p->eng_lock);
	for (unsigned int g = p->lay.flow_groups; g-- > 0;)
		pthread_mutex_unlock(&p->grp_lock[g]);
}

/* Wake the threads whose bit is in *kick (then none). */
static void fg_kick(struct fgp *p, uint64_t *kick)
{
	for (unsigned int i = 0; i < p->nth; i++)
		if (*kick & (1ull << i))
			spsc_waiter_kick(&p->th[i].st.wait);
	*kick = 0;
}

/* A run the protocol stage took, on to post-processing: its payload
 * placed on the next post-processing thread in turn (with none, here),
 * then completed at reorder point 2. */
static void proto_hand_on(struct fgp *p, struct fg_thread *t, struct fg_rx_slot *const *sl,
			  unsigned int k, uint64_t *kick)
{
	struct fg_thread *q;
	struct spsc_ring *r;
	uint32_t idx;

	if (p->npost) {
		q = p->post[t->post_turn++ % p->npost];
		r = &q->post_in[t->pidx];
		/* never full: it has a slot for every storage slot */
		if (spsc_prod_reserve(r, k, &idx) == k) {
			for (unsigned int i = 0; i < k; i++)
				*(uint64_t *)spsc_slot(r, idx + i) = (uint32_t)(sl[i] - p->slots);
			spsc_prod_submit(r, k);
			*kick |= 1ull << q->idx;
			return;
		}
		pr_err("%s: post-processing ring full (slot accounting bug); placing here",
		       t->st.name);
	}
	for (unsigned int i = 0; i < k; i++) {
		ftoe_engine_rx_post_place(t->be->eng, &sl[i]->it, 1);
		ftoe_rob_complete(&p->rob2, sl[i]->sn, sl[i]);
	}
}

/* Group g's items in order: each fast-path run's protocol stage under the
 * group's lock only (other groups' runs go on at the same time), then on
 * to post-processing; an item for the control plane straight to reorder
 * point 2.  Either one that needs the control plane is a barrier. */
static void proto_group_run(struct fgp *p, struct fg_thread *t, unsigned int g,
			    struct fg_rx_slot *const *sl, struct ftoe_rx_item *items,
			    unsigned int n, uint64_t *kick)
{
	struct ftoe_engine *e = t->be->eng;
	unsigned int i = 0, k;

	while (i < n) {
		bool ctl = false;

		pthread_mutex_lock(&p->grp_lock[g]);
		k = ftoe_engine_rx_proto(e, items + i, n - i);
		pthread_mutex_unlock(&p->grp_lock[g]);
		if (!k) {
			sl[i]->it = items[i];
			sl[i]->fin = FG_FIN_DIVERT;
			ftoe_rob_complete(&p->rob2, sl[i]->sn, sl[i]);
			fg_kick(p, kick);
			fg_wait_finished(p, t, sl[i]->sn);
			i++;
			continue;
		}
		for (unsigned int j = i; j < i + k; j++) {
			sl[j]->it = items[j];
			sl[j]->fin = FG_FIN_POST;
			ctl |= items[j].res & FTOE_RX_R_CTL;
		}
		proto_hand_on(p, t, sl + i, k, kick);
		i += k;
		if (ctl) {
			fg_kick(p, kick);
			fg_wait_finished(p, t, sl[i - 1]->sn);
		}
	}
}

/* One batch of t's groups' frames, in release order: runs of one group's
 * segments, and the control plane's frames (ARP, ICMP) under every lock. */
static unsigned int proto_rx(struct fgp *p, struct fg_thread *t)
{
	struct x86_backend *be = t->be;
	struct ftoe_rx_item items[FG_BATCH];
	struct fg_rx_slot *sl[FG_BATCH], *run[FG_BATCH];
	unsigned int nt = 0, g = 0;
	uint64_t kick = 0;
	bool retired = false;
	uint32_t idx, n;

	n = spsc_cons_peek(&t->work, FG_BATCH, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		sl[i] = &p->slots[*(uint64_t *)spsc_slot(&t->work, idx + i)];
	spsc_cons_release(&t->work, n);
	for (uint32_t i = 0; i < n; i++) {
		struct fg_rx_slot *s = sl[i];

		if (nt && (s->kind != RX_TCP || s->group != g)) {
			proto_group_run(p, t, g, run, items, nt, &kick);
			nt = 0;
		}
		if (s->kind == RX_TCP) {
			g = s->group;
			run[nt] = s;
			items[nt++] = s->it;
			continue;
		}
		lock_all(p);
		control_rx(be, s->kind, s->data, s->len, s->has_md ? &s->md : NULL);
		x86_txq_kick(&p->tx);
		unlock_all(p);
		/* (no flow's: out of the order the wire keeps) */
		fg_give_back(t, s);
		ftoe_rob_retire(&p->rob2, s->sn);
		retired = true;
	}
	if (nt)
		proto_group_run(p, t, g, run, items, nt, &kick);
	fg_kick(p, &kick);
	if (retired || !p->npost)
		fg_finish_release(p, t);
	t->st.items += n;
	return n;
}

/* ---- post-processing threads -------------------------------------------------- */

/* Payload placement of what the protocol threads handed on, then the
 * numbers completed at reorder point 2 and what is in order finished. */
static unsigned int post_pass(struct fgp *p, struct fg_thread *t)
{
	struct ftoe_engine *e = t->be->eng;
	unsigned int work = 0;
	uint32_t idx, n;

	for (unsigned int j = 0; j < p->nproto; j++) {
		struct spsc_ring *r = &t->post_in[j];

		n = spsc_cons_peek(r, FG_BATCH, &idx);
		for (uint32_t i = 0; i < n; i++) {
			struct fg_rx_slot *s = &p->slots[*(uint64_t *)spsc_slot(r, idx + i)];

			ftoe_engine_rx_post_place(e, &s->it, 1);
			ftoe_rob_complete(&p->rob2, s->sn, s);
		}
		if (n)
			spsc_cons_release(r, n);
		work += n;
	}
	if (work)
		fg_finish_release(p, t);
	t->st.items += work;
	return work;
}

static unsigned int proto_pass(struct fgp *p, struct fg_thread *t, uint64_t *next)
{
	unsigned int work = proto_rx(p, t);

	if (t != p->ctl)
		return work;
	lock_all(p);
	p->tx.full = false;
	atomic_store_explicit(&p->ctl_poll, 0, memory_order_relaxed);
	work += engine_pass(t->be, next);
	if (p->poll_again) {
		p->poll_again = false;
		*next = 0;
	}
	p->ctl_due = *next == UINT64_MAX ? UINT64_MAX : x86_now_ns() + *next;
	p->ctl_full = p->tx.full;
	x86_txq_kick(&p->tx);
	unlock_all(p);
	return work;
}

/* The engine's xmit on one of the pipeline's threads (under eng_lock:
 * the protocol threads, and whichever thread finishes at reorder point 2):
 * into the ring to egress; from anywhere else, directly. */
static int fg_xmit_md(void *ctx, unsigned int q, const void *frame, size_t len,
		      const struct flextoe_md *md)
{
	struct x86_backend *be = ctx;
	struct fgp *p = be->fgp;

	return x86_stage_xmit(be, p && tls_fg ? &p->tx : NULL, q, frame, len, md);
}

static int fg_xmit(void *ctx, unsigned int q, const void *frame, size_t len)
{
	return fg_xmit_md(ctx, q, frame, len, NULL);
}

/* ---- egress ---------------------------------------------------------------- */

/* ---- the threads ------------------------------------------------------------- */

static bool has_work(void *arg)
{
	struct fg_thread *t = arg;
	struct fgp *p = t->p;

	if (t->roles & X86_L_IN) {
		if (spsc_count(&p->tx.ring))
			return true;
		if (atomic_load_explicit(&p->want_frames, memory_order_relaxed))
			for (unsigned int i = 0; i < p->nth; i++)
				if (spsc_count(&p->th[i].ret))
					return true;
		return false;
	}
	if (t->roles & X86_L_POST) {
		for (unsigned int j = 0; j < p->nproto; j++)
			if (spsc_count(&t->post_in[j]))
				return true;
		return false;
	}
	return spsc_count(&t->work) ||
	       (t == p->ctl && (atomic_load_explicit(&p->ctl_poll, memory_order_relaxed) ||
				x86_stage_proto_due(t->be, &p->tx, p->ctl_full)));
}

static void *fg_main(void *arg)
{
	struct fg_thread *t = arg;
	struct x86_backend *be = t->be;
	struct fgp *p = t->p;
	struct pollfd pfd[FTOE_STEER_MAX_QUEUES + 2];
	nfds_t npfd = 0;
	int app_i = -1;
	struct x86_thread_time *tt;

	tt = x86_stage_thread_begin(be, &t->st);
	tls_fg = t;
	if (t->roles & X86_L_IN) {
		for (unsigned int i = 0; i < be->nr_queues; i++) {
			pfd[npfd].fd = be->queues[i].fd;
			pfd[npfd++].events = POLLIN;
			xq_set_owner(&be->queues[i]);
		}
	}
	if (t == p->ctl && be->app.fd >= 0) {
		app_i = (int)npfd;
		pfd[npfd].fd = be->app.fd;
		pfd[npfd++].events = POLLIN;
	}
	x86_stage_thread_ready(be, &t->st, pfd, &npfd);

	while (!atomic_load_explicit(&be->stop, memory_order_relaxed)) {
		uint64_t next = UINT64_MAX;
		unsigned int work = 0;
		int err;
		bool blocked = false;

		ftoe_hooks_quiescent(be->cfg.hooks);
		if (t->roles & X86_L_IN) {
			work += in_pass(p, t);
			work += x86_txq_out(&p->tx, be);
			blocked = p->rx_blocked;
			if (work || be->cfg.busy_poll)
				for (unsigned int i = 0; i < be->nr_queues; i++)
					xq_rx_kick(&be->queues[i]);
		} else if (t->roles & X86_L_PROTO) {
			work += proto_pass(p, t, &next);
		} else if (t->roles & X86_L_POST) {
			work += post_pass(p, t);
		} else {
			work += pre_pass(p, t);
		}
		if (work || (next == 0 && !(t == p->ctl && p->ctl_full)) || be->cfg.busy_poll)
			continue;
		if (t == p->ctl && p->ctl_full)
			atomic_store_explicit(&p->tx.want, 1, memory_order_relaxed);
		err = x86_stage_idle(be, &t->st, has_work, t, pfd, npfd, blocked, next, tt);
		if (err < 0)
			break;
		if (err)
			continue;
		if (app_i >= 0)
			be->app_fd_ready = pfd[app_i].revents & POLLIN;
	}
	ftoe_hooks_thread_unregister(be->cfg.hooks);
	return NULL;
}

static void fg_free(struct fgp *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->nth; i++) {
		x86_stage_thread_fini(&p->th[i].st);
		spsc_fini(&p->th[i].work);
		spsc_fini(&p->th[i].ret);
	}
	x86_txq_fini(&p->tx);
	if (p->post_rings)
		for (unsigned int i = 0; i < p->npost * p->nproto; i++)
			spsc_fini(&p->post_rings[i]);
	free(p->post_rings);
	for (unsigned int g = 0; g < X86_MAX_FLOW_GROUPS; g++)
		pthread_mutex_destroy(&p->grp_lock[g]);
	pthread_mutex_destroy(&p->eng_lock);
	pthread_mutex_destroy(&p->fin_mu);
	pthread_cond_destroy(&p->fin_cv);
	free(p->rob2_slots);
	free(p->rob_slots);
	free(p->slots);
	free(p->th);
	free(p);
}

int fg_start(struct x86_backend *be)
{
	struct fgp *p;
	uint32_t nslots = 2;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->eng_lock, NULL);
	pthread_mutex_init(&p->fin_mu, NULL);
	pthread_cond_init(&p->fin_cv, NULL);
	for (unsigned int g = 0; g < X86_MAX_FLOW_GROUPS; g++)
		pthread_mutex_init(&p->grp_lock[g], NULL);
	err = x86_layout_plan(be->cfg.workers, be->cfg.flow_groups, be->nr_queues, &p->lay);
	if (err) {
		pr_err("--workers %u --flow-groups %u: no layout (%s)", be->cfg.workers,
		       be->cfg.flow_groups, strerror(-err));
		free(p);
		return err;
	}
	p->nth = p->lay.nthreads;
	for (unsigned int i = 0; i < be->nr_queues; i++)
		p->qs[i] = &be->queues[i];
	p->th = calloc(p->nth, sizeof(*p->th));
	/* a storage slot for every frame the queues can lend */
	while (nslots < be->nr_queues * XQ_RX_FRAMES)
		nslots <<= 1;
	p->nslots = nslots;
	p->slots = calloc(nslots, sizeof(*p->slots));
	p->rob_slots = calloc(nslots, sizeof(*p->rob_slots));
	p->rob2_slots = calloc(nslots, sizeof(*p->rob2_slots));
	if (!p->th || !p->slots || !p->rob_slots || !p->rob2_slots) {
		err = -ENOMEM;
		goto nomem;
	}
	for (unsigned int i = 0; i < p->nth; i++)
		p->th[i].st.wait.efd = -1;
	ftoe_rob_init(&p->rob, p->rob_slots, nslots);
	ftoe_rob_init(&p->rob2, p->rob2_slots, nslots);
	for (unsigned int i = 0; i < p->nth; i++) {
		struct fg_thread *t = &p->th[i];

		t->be = be;
		t->p = p;
		t->idx = i;
		t->roles = p->lay.th[i].roles;
		memcpy(t->st.name, p->lay.th[i].name, sizeof(t->st.name));
		if (t->roles & X86_L_IN)
			p->io = t;
		else if (t->roles & X86_L_POST)
			p->post[p->npost++] = t;
		else if (!(t->roles & X86_L_PROTO))
			p->pre[p->npre++] = t;
		if (t->roles & X86_L_PROTO) {
			t->pidx = p->nproto++;
			if (!p->ctl)
				p->ctl = t;
		}
		err = x86_stage_thread_init(&t->st);
		if (err)
			goto fail;
		/* (every frame in flight fits each ring: they never fill) */
		err = spsc_init(&t->ret, nslots, sizeof(struct x86_ret_slot));
		if (!err && !(t->roles & (X86_L_IN | X86_L_POST)))
			err = spsc_init(&t->work, nslots, sizeof(uint64_t));
		if (err)
			goto nomem;
	}
	if (p->npost) {
		p->post_rings = calloc((size_t)p->npost * p->nproto, sizeof(*p->post_rings));
		if (!p->post_rings) {
			err = -ENOMEM;
			goto nomem;
		}
		for (unsigned int i = 0; i < p->npost; i++) {
			p->post[i]->post_in = &p->post_rings[i * p->nproto];
			for (unsigned int j = 0; !err && j < p->nproto; j++)
				err = spsc_init(&p->post[i]->post_in[j], nslots, sizeof(uint64_t));
		}
		if (err)
			goto nomem;
	}
	err = x86_txq_init(&p->tx, FG_TX_SLOTS, &p->io->st.wait, &p->ctl->st.wait);
	if (err)
		goto nomem;
	be->fgp = p;
	for (unsigned int i = 0; i < p->nth; i++)
		if ((err = x86_stage_thread_run(&p->th[i].st, fg_main, &p->th[i])))
			return err;	/* fg_stop joins the ones started */
	pr_info("flow groups: %u on %u protocol thread%s, %u pre-processing thread%s, "
		"%u post-processing thread%s, %u reorder slots", p->lay.flow_groups, p->nproto,
		p->nproto == 1 ? "" : "s", p->npre, p->npre == 1 ? "" : "s", p->npost,
		p->npost == 1 ? "" : "s", nslots);
	return 0;
nomem:
	pr_err("cannot allocate the pipeline's rings: %s", strerror(-err));
fail:
	be->fgp = NULL;
	fg_free(p);
	return err;
}

/* io.wake: the control thread has work (an application's data to send). */
void fg_wake_proto(struct x86_backend *be)
{
	struct fgp *p = be->fgp;

	if (!p)
		return;
	if (tls_fg == p->ctl) {
		p->poll_again = true;
		return;
	}
	x86_stage_thread_wake(&p->ctl->st);
}

void fg_stop(struct x86_backend *be)
{
	struct fgp *p = be->fgp;

	if (!p)
		return;
	x86_stage_threads_stop(be, &p->th[0].st, p->nth, sizeof(p->th[0]));
	be->fgp = NULL;
	pr_info("pipeline: reorder point: released %lu, retired %lu (malformed), in flight %u; "
		"tx frames %lu (ring full %lu, too big %lu, tx ring retries %lu)",
		p->rob.released, p->rob.retired, ftoe_rob_in_flight(&p->rob), p->tx.frames,
		p->tx.full_cnt, p->tx.too_big, p->tx.out_retry);
	pr_info("pipeline: reorder point 2 (before the wire and the application rings): "
		"finished %lu, retired %lu (malformed, not TCP), barrier waits %lu",
		p->rob2.released, p->rob2.retired, atomic_load(&p->barriers));
	x86_stage_threads_log(&p->th[0].st, p->nth, sizeof(p->th[0]));
	fg_free(p);
}

/* SIGUSR1 and exit (x86_log_stats): the reorder point's counters, read
 * while the threads run (approximate). */
void fg_log_stats(struct x86_backend *be)
{
	struct fgp *p = be->fgp;

	if (!p)
		return;
	pr_info("flow groups: reorder point: numbered %u, released %lu, retired %lu (malformed, "
		"dropped in pre-processing), in flight %u",
		__atomic_load_n(&p->rob.next, __ATOMIC_RELAXED),
		__atomic_load_n(&p->rob.released, __ATOMIC_RELAXED),
		atomic_load_explicit(&p->retired, memory_order_relaxed), ftoe_rob_in_flight(&p->rob));
}

void fg_io_init(struct x86_backend *be, struct ftoe_io *io)
{
	(void)be;
	io->xmit = fg_xmit;
	if (io->xmit_md)
		io->xmit_md = fg_xmit_md;
}
