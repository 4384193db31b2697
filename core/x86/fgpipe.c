/* fgpipe.c - --flow-groups G: a sequencer at ingress, pre-processing on any thread, a reorder point, a protocol thread per flow group (several groups may share one), one egress. */
#include <errno.h>
#include <poll.h>
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
 *   ftoe-protoP    its groups' segments in ring order, stage by stage
 *                  (engine.h "Flow groups"): the protocol stage of a run
 *                  of one group's segments under that group's lock
 *                  (ftoe_engine_rx_proto), then the post-processing stage
 *                  (rx-post hook, payload, ACKs, events; the control plane
 *                  for what it diverts) under the shared lock
 *                  (ftoe_engine_rx_post, _divert);
 *                  ftoe-proto0 also runs group 0 (ARP, ICMP, anything not
 *                  an IPv4 TCP segment), timers, the flow scheduler, the
 *                  control plane and the applications (engine_pass).
 *
 * Per-flow order: a flow's frames get increasing numbers at the one
 * sequencer, leave the reorder point in that order, all into one group's
 * ring (the group is the 4-tuple's, ftoe_flow_group, so the handshake's
 * segments and the data's share it), and one thread takes that ring in
 * order.
 *
 * Locks: a group's protocol stage writes only its own flows' protocol
 * state and the engine's atomic fields (engine_internal.h "Threading"),
 * under the group's lock (grp_lock), so groups on different threads run
 * that stage at the same time.  What the groups share - the slow-path
 * queue and the control plane, the flow table's writers, the scheduler's
 * list, the application events, the ring to egress - is under eng_lock:
 * post-processing (it sends ACKs and hands work to the control plane) and
 * the control plane's items.  Timers, the flow scheduler, the applications
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
	bool has_md;
	_Atomic bool busy;	/* from ingress until its frame is given back */
};

struct fgp;

struct fg_thread {
	struct x86_stage_thread st;	/* name, eventfd, counters */
	struct x86_backend *be;
	struct fgp *p;
	unsigned int idx, roles;
	struct spsc_ring work;	/* PRE: slot numbers to pre-process; PROTO: released ones */
	struct spsc_ring ret;	/* PRE, PROTO: frames back to ingress */
};

struct fgp {
	struct fg_thread *th;
	unsigned int nth;
	struct fg_thread *io, *ctl;	/* ingress+egress; the first protocol thread */
	struct fg_thread *pre[X86_MAX_QUEUES];
	unsigned int npre;
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
			kick_in = true;
			continue;
		}
		ftoe_rob_complete(&p->rob, sn[i], s);
	}
	t->st.items += n;
	fg_release(p);
	if (kick_in && t != p->io) {
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&p->want_frames, memory_order_relaxed))
			spsc_waiter_kick(&p->io->st.wait);
	}
}

/* ---- ingress --------------------------------------------------------------- */

/* How many frames may be numbered now: free reorder slots whose storage
 * slot is free too (a group behind the others holds its slots). */
static unsigned int in_room(struct fgp *p, unsigned int max)
{
	uint32_t next = p->rob.next, in_flight = ftoe_rob_in_flight(&p->rob);
	unsigned int n = 0;

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

/* Group g's items in order: each fast-path run's protocol stage under the
 * group's lock only (other groups' runs go on at the same time), then its
 * post-processing, or an item for the control plane, under the shared
 * lock. */
static void proto_group_run(struct fgp *p, struct ftoe_engine *e, unsigned int g,
			    struct ftoe_rx_item *items, unsigned int n)
{
	unsigned int i = 0, k;

	while (i < n) {
		pthread_mutex_lock(&p->grp_lock[g]);
		k = ftoe_engine_rx_proto(e, items + i, n - i);
		pthread_mutex_unlock(&p->grp_lock[g]);
		pthread_mutex_lock(&p->eng_lock);
		if (k)
			ftoe_engine_rx_post(e, items + i, k);
		else
			ftoe_engine_rx_divert(e, &items[i]);
		pthread_mutex_unlock(&p->eng_lock);
		i += k ? k : 1;
	}
}

/* One batch of t's groups' frames, in release order: runs of one group's
 * segments, and the control plane's frames (ARP, ICMP) under every lock. */
static unsigned int proto_rx(struct fgp *p, struct fg_thread *t)
{
	struct x86_backend *be = t->be;
	struct ftoe_rx_item items[FG_BATCH];
	struct fg_rx_slot *sl[FG_BATCH];
	unsigned int nt = 0, g = 0;
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
			proto_group_run(p, be->eng, g, items, nt);
			nt = 0;
		}
		if (s->kind == RX_TCP) {
			g = s->group;
			items[nt++] = s->it;
			continue;
		}
		lock_all(p);
		control_rx(be, s->kind, s->data, s->len, s->has_md ? &s->md : NULL);
		unlock_all(p);
	}
	if (nt)
		proto_group_run(p, be->eng, g, items, nt);
	pthread_mutex_lock(&p->eng_lock);
	ftoe_engine_rx_end(be->eng);
	x86_txq_kick(&p->tx);
	if (t != p->ctl && ftoe_engine_poll_due(be->eng) < p->ctl_due) {
		/* (the scheduler and the timers run on the first protocol
		 * thread only, which may sleep on an older deadline) */
		p->ctl_due = 0;
		atomic_store_explicit(&p->ctl_poll, 1, memory_order_relaxed);
		spsc_waiter_kick(&p->ctl->st.wait);
	}
	pthread_mutex_unlock(&p->eng_lock);
	for (uint32_t i = 0; i < n; i++)
		fg_give_back(t, sl[i]);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&p->want_frames, memory_order_relaxed))
		spsc_waiter_kick(&p->io->st.wait);
	t->st.items += n;
	return n;
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

/* The engine's xmit on a protocol thread (under eng_lock): into the ring
 * to egress; from anywhere else, directly. */
static int fg_xmit_md(void *ctx, unsigned int q, const void *frame, size_t len,
		      const struct flextoe_md *md)
{
	struct x86_backend *be = ctx;
	struct fgp *p = be->fgp;
	bool proto = p && tls_fg && tls_fg->roles & X86_L_PROTO;

	return x86_stage_xmit(be, proto ? &p->tx : NULL, q, frame, len, md);
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
	for (unsigned int g = 0; g < X86_MAX_FLOW_GROUPS; g++)
		pthread_mutex_destroy(&p->grp_lock[g]);
	pthread_mutex_destroy(&p->eng_lock);
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
	if (!p->th || !p->slots || !p->rob_slots) {
		err = -ENOMEM;
		goto nomem;
	}
	for (unsigned int i = 0; i < p->nth; i++)
		p->th[i].st.wait.efd = -1;
	ftoe_rob_init(&p->rob, p->rob_slots, nslots);
	for (unsigned int i = 0; i < p->nth; i++) {
		struct fg_thread *t = &p->th[i];

		t->be = be;
		t->p = p;
		t->idx = i;
		t->roles = p->lay.th[i].roles;
		memcpy(t->st.name, p->lay.th[i].name, sizeof(t->st.name));
		if (t->roles & X86_L_IN)
			p->io = t;
		else if (t->roles & X86_L_PROTO && !p->ctl)
			p->ctl = t;
		else if (!(t->roles & X86_L_PROTO))
			p->pre[p->npre++] = t;
		err = x86_stage_thread_init(&t->st);
		if (err)
			goto fail;
		/* (every frame in flight fits each ring: they never fill) */
		err = spsc_init(&t->ret, nslots, sizeof(struct x86_ret_slot));
		if (!err && !(t->roles & X86_L_IN))
			err = spsc_init(&t->work, nslots, sizeof(uint64_t));
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
		"%u reorder slots", p->lay.flow_groups, p->nth - 1 - p->npre,
		p->nth - 1 - p->npre == 1 ? "" : "s", p->npre, p->npre == 1 ? "" : "s", nslots);
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
