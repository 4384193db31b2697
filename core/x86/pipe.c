/* pipe.c - --workers N > 1: the pipeline's stages on their own threads (ingress, protocol, egress), joined by lockless SPSC rings. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/hooks.h"
#include "core/pipeline.h"
#include "core/x86/spsc.h"
#include "core/x86/stages.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

/*
 * Threads and what they own (docs/engine.md "Threads and CPU use"):
 *
 *   ingress (IN)   AF_XDP rx and fill rings of its queues; the rx-pre hook;
 *                  ARP/ICMP/TCP classification (rx_burst, loop.c, as the
 *                  single worker does); the read-only part of
 *                  pre-processing (ftoe_engine_rx_prepare: validation,
 *                  checksums, flow lookup) into struct ftoe_rx_item.
 *   protocol (PROTO)  everything that writes engine state: the protocol
 *                  stage, rx-post hook, post-processing, flow scheduler,
 *                  timers, the control plane (SYN/RST/unknown flows, ARP,
 *                  ICMP) and the applications (engine_pass, loop.c).
 *   egress (OUT)   the tx-post hook, the AF_XDP tx and completion rings of
 *                  every queue, and the kicks (in copy mode the kernel
 *                  transmits inside them: the costliest syscalls).
 *
 *   --workers 2    IN+OUT | PROTO  (all I/O on one thread, TCP on the other)
 *   --workers 3    IN | PROTO | OUT
 *   --workers N>3  N-2 IN threads (queue i on IN thread i mod (N-2)) | PROTO | OUT
 *
 * Rings, each with one producer and one consumer (core/x86/spsc.h):
 *   IN -> PROTO    rx items; the frame stays in the queue's umem, borrowed
 *   PROTO -> IN    the borrowed frames' addresses, back to their fill ring
 *                  (only the IN thread produces into a fill ring)
 *   PROTO -> OUT   frames the engine sends, copied into the slot, with the
 *                  tx-post hook's snapshot of the flow (struct flextoe_md)
 *
 * Per-flow order: a flow arrives on one rx queue, one IN thread owns that
 * queue, every ring is FIFO and the PROTO thread handles its items in ring
 * order, slow-path segments included (ftoe_engine_rx_items).  Nothing fans
 * out, so there is nothing to reorder.
 *
 * Frames of no flow that others send (ARP and ICMP replies from the PROTO
 * thread, XDP_TX of an rx-pre program from an IN thread, the gratuitous
 * ARP from the main thread) take xq_xmit as before: the AF_XDP tx ring
 * stays under the queue's tx_lock, which the OUT thread takes once per
 * frame and which is otherwise uncontended.
 *
 * Idle threads block on an eventfd (plus their sockets, or the
 * applications' epoll fd); a producer writes the consumer's eventfd only
 * when the consumer said it is going to sleep (struct spsc_waiter).
 * --poll busy: nobody sleeps.
 */

#define PIPE_IN    1u
#define PIPE_PROTO 2u
#define PIPE_OUT   4u

#define RX_BATCH        XQ_BATCH
#define TX_RING_SLOTS   512

/* IN -> PROTO */
struct pipe_rx_slot {
	struct ftoe_rx_item it;	/* it.frame: the frame in the queue's umem;
				 * it.md: &md below, or NULL */
	struct flextoe_md md;	/* the rx-pre hook's record of the frame */
	uint64_t addr;		/* the umem frame's base, for the fill ring */
	uint16_t len;
	uint8_t kind;		/* enum rx_kind */
	uint8_t qi;		/* index into the IN thread's queues */
} __attribute__((aligned(8)));

/* PROTO -> IN: struct x86_ret_slot; PROTO -> OUT: struct x86_tx_slot
 * (stages.h) */

struct pipe;

/* Set on the PROTO thread: the only producer of the ring to OUT. */
static __thread bool tls_proto;

struct pipe_thread {
	struct x86_stage_thread st;	/* name, eventfd, counters */
	struct x86_backend *be;
	struct pipe *p;
	unsigned int idx, roles;

	/* IN */
	struct xsk_queue *qs[FTOE_STEER_MAX_QUEUES];
	unsigned int nq;
	uint32_t q_out[FTOE_STEER_MAX_QUEUES];	/* frames lent to PROTO, per queue */
	_Atomic int want_frames;	/* a queue runs low: wake me on returns */
	bool rx_blocked;		/* the ring to PROTO was full */
	struct spsc_ring rx;		/* to PROTO */
	struct spsc_ring ret;		/* from PROTO */
};

struct pipe {
	struct pipe_thread *th;
	unsigned int nth;
	struct pipe_thread *in[FTOE_STEER_MAX_QUEUES];
	unsigned int nin;
	struct pipe_thread *proto, *out;
	struct x86_txq tx;		/* PROTO -> OUT */
	bool poll_again;		/* io.wake from PROTO itself (PROTO only) */
};

/* ---- ingress ------------------------------------------------------------ */

/* One rx burst of queue qi (rx-pre, classification) and the read-only
 * pre-processing of its TCP segments, into the ring to PROTO. */
static unsigned int in_rx_batch(struct pipe_thread *t, unsigned int qi)
{
	struct x86_backend *be = t->be;
	struct xsk_queue *q = t->qs[qi];
	struct rx_frame fr[RX_BATCH];
	uint32_t sidx, n, nf, room;

	room = spsc_prod_reserve(&t->rx, RX_BATCH, &sidx);
	if (!room) {
		/* PROTO is behind: leave the frames in the rx ring, and wait
		 * for PROTO rather than for the socket (which stays readable) */
		t->rx_blocked = true;
		return 0;
	}
	n = rx_burst(be, q, room, fr, &nf);
	for (uint32_t i = 0; i < nf; i++) {
		struct pipe_rx_slot *s = spsc_slot(&t->rx, sidx + i);

		s->addr = fr[i].addr;
		s->len = fr[i].len;
		s->kind = fr[i].kind;
		s->qi = (uint8_t)qi;
		if (fr[i].has_md)
			s->md = fr[i].md;
		if (fr[i].kind == RX_TCP) {
			ftoe_engine_rx_prepare(be->eng, fr[i].data, fr[i].len,
					       fr[i].has_md ? &s->md : NULL, &s->it);
		} else {
			s->it.frame = fr[i].data;
			s->it.md = fr[i].has_md ? &s->md : NULL;
		}
	}
	if (nf) {
		t->q_out[qi] += nf;
		t->st.items += nf;
		spsc_prod_submit(&t->rx, nf);
		spsc_waiter_kick(&t->p->proto->st.wait);
	}
	return n;
}

static unsigned int in_pass(struct pipe_thread *t)
{
	/* frames PROTO is done with go back to their fill rings */
	unsigned int work = x86_ret_take(&t->ret, t->qs, t->nq, t->q_out);
	bool low = false;

	t->rx_blocked = false;
	for (unsigned int qi = 0; qi < t->nq; qi++) {
		work += in_rx_batch(t, qi);
		/* Less than half of the queue's frames left for the kernel:
		 * from now on PROTO wakes us when it gives some back. */
		if (t->q_out[qi] > XQ_RX_FRAMES / 2)
			low = true;
	}
	atomic_store_explicit(&t->want_frames, low || t->rx_blocked, memory_order_relaxed);
	return work;
}

/* ---- protocol ----------------------------------------------------------- */

/* One batch from IN thread in, handled in ring order. */
static unsigned int proto_rx(struct pipe *p, struct pipe_thread *in)
{
	struct x86_backend *be = in->be;
	struct ftoe_rx_item items[RX_BATCH];
	unsigned int nt = 0;
	uint32_t idx, n;

	n = spsc_cons_peek(&in->rx, RX_BATCH, &idx);
	if (!n)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		struct pipe_rx_slot *s = spsc_slot(&in->rx, idx + i);

		if (s->kind == RX_TCP) {
			items[nt++] = s->it;
			continue;
		}
		/* ARP/ICMP: the TCP segments before it first, in order */
		if (nt) {
			ftoe_engine_rx_items(be->eng, in->qs[s->qi]->id, items, nt);
			nt = 0;
		}
		control_rx(be, s->kind, (void *)(uintptr_t)s->it.frame, s->len, s->it.md);
	}
	if (nt)
		ftoe_engine_rx_items(be->eng, in->qs[0]->id, items, nt);
	/* The engine is done with the frames: back to their owner. */
	for (uint32_t i = 0; i < n; i++) {
		const struct pipe_rx_slot *s = spsc_slot(&in->rx, idx + i);

		x86_ret_put(&in->ret, s->addr, s->qi, in->st.name);
	}
	spsc_cons_release(&in->rx, n);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&in->want_frames, memory_order_relaxed))
		spsc_waiter_kick(&in->st.wait);
	p->proto->st.items += n;
	return n;
}

/* Returns the ns until the engine's or the control plane's next deadline. */
static unsigned int proto_pass(struct pipe_thread *t, uint64_t *next)
{
	struct pipe *p = t->p;
	unsigned int work = 0;

	p->tx.full = false;
	for (unsigned int i = 0; i < p->nin; i++)
		work += proto_rx(p, p->in[i]);
	x86_txq_kick(&p->tx);
	work += engine_pass(t->be, next);
	if (p->poll_again) {
		/* an application queued data: the scheduler has work */
		p->poll_again = false;
		*next = 0;
	}
	x86_txq_kick(&p->tx);
	return work;
}

/* The engine's xmit on the PROTO thread: into the ring to OUT. */
static int pipe_xmit_md(void *ctx, unsigned int q, const void *frame, size_t len,
			const struct flextoe_md *md)
{
	struct x86_backend *be = ctx;
	struct pipe *p = be->pipe;

	/* Before the threads start and after they stop (the resets of a
	 * shutdown), or from a thread that is not PROTO: send directly. */
	return x86_stage_xmit(be, p && tls_proto ? &p->tx : NULL, q, frame, len, md);
}

static int pipe_xmit(void *ctx, unsigned int q, const void *frame, size_t len)
{
	return pipe_xmit_md(ctx, q, frame, len, NULL);
}

/* ---- egress ------------------------------------------------------------- */

static unsigned int out_pass(struct pipe_thread *t)
{
	struct pipe *p = t->p;
	uint64_t sent = p->tx.out_frames;
	unsigned int n = x86_txq_out(&p->tx, t->be);

	t->st.items += p->tx.out_frames - sent;
	return n;
}

/* ---- the threads -------------------------------------------------------- */

/* After spsc_waiter_prepare: anything this thread would act on right now? */
static bool has_work(void *arg)
{
	struct pipe_thread *t = arg;
	struct pipe *p = t->p;

	if (t->roles & PIPE_IN && spsc_count(&t->ret) &&
	    atomic_load_explicit(&t->want_frames, memory_order_relaxed))
		return true;
	if (t->roles & PIPE_OUT && spsc_count(&p->tx.ring))
		return true;
	if (t->roles & PIPE_PROTO) {
		for (unsigned int i = 0; i < p->nin; i++)
			if (spsc_count(&p->in[i]->rx))
				return true;
		if (x86_stage_proto_due(t->be, &p->tx, p->tx.full))
			return true;
	}
	return false;
}

static void *pipe_main(void *arg)
{
	struct pipe_thread *t = arg;
	struct x86_backend *be = t->be;
	struct pipe *p = t->p;
	struct pollfd pfd[FTOE_STEER_MAX_QUEUES + 2];
	nfds_t npfd = 0;
	int app_i = -1;		/* the applications' fd in pfd (PROTO) */
	struct x86_thread_time *tt;

	tt = x86_stage_thread_begin(be, &t->st);
	tls_proto = t->roles & PIPE_PROTO;
	if (t->roles & PIPE_IN)
		for (unsigned int i = 0; i < t->nq; i++) {
			pfd[npfd].fd = t->qs[i]->fd;
			pfd[npfd++].events = POLLIN;
		}
	if (t->roles & PIPE_OUT)
		for (unsigned int i = 0; i < be->nr_queues; i++)
			xq_set_owner(&be->queues[i]);	/* it batches their tx kicks */
	if (t->roles & PIPE_PROTO && be->app.fd >= 0) {
		app_i = (int)npfd;
		pfd[npfd].fd = be->app.fd;
		pfd[npfd++].events = POLLIN;
	}
	x86_stage_thread_ready(be, &t->st, pfd, &npfd);

	while (!atomic_load_explicit(&be->stop, memory_order_relaxed)) {
		uint64_t next = UINT64_MAX;
		unsigned int work = 0;
		int err;

		ftoe_hooks_quiescent(be->cfg.hooks);
		if (t->roles & PIPE_IN)
			work += in_pass(t);
		if (t->roles & PIPE_PROTO)
			work += proto_pass(t, &next);
		if (t->roles & PIPE_OUT)
			work += out_pass(t);
		if (t->roles & PIPE_IN && (work || be->cfg.busy_poll))
			for (unsigned int i = 0; i < t->nq; i++)
				xq_rx_kick(t->qs[i]);
		/* (a full ring to OUT is no reason to spin: OUT wakes us) */
		if (work || (next == 0 && !(t->roles & PIPE_PROTO && p->tx.full)) ||
		    be->cfg.busy_poll)
			continue;
		/* Idle: say so, look once more, then block (poll() on the
		 * sockets also serves the fill ring's need_wakeup). */
		if (t->roles & PIPE_PROTO && p->tx.full)
			atomic_store_explicit(&p->tx.want, 1, memory_order_relaxed);
		/* blocked on PROTO: its eventfd only (the last pollfd) */
		err = x86_stage_idle(be, &t->st, has_work, t, pfd, npfd, t->rx_blocked, next, tt);
		if (err < 0)
			break;
		if (err)
			continue;
		/* (blocked on OUT, the applications' fd was not polled) */
		if (app_i >= 0)
			be->app_fd_ready = t->rx_blocked || (pfd[app_i].revents & POLLIN);
	}
	ftoe_hooks_thread_unregister(be->cfg.hooks);
	return NULL;
}

static void pipe_free(struct pipe *p)
{
	if (!p)
		return;
	for (unsigned int i = 0; i < p->nth; i++) {
		struct pipe_thread *t = &p->th[i];

		x86_stage_thread_fini(&t->st);
		spsc_fini(&t->rx);
		spsc_fini(&t->ret);
	}
	x86_txq_fini(&p->tx);
	free(p->th);
	free(p);
}

static uint32_t pow2_at_least(uint32_t v)
{
	uint32_t r = 2;

	while (r < v)
		r <<= 1;
	return r;
}

/* Threads and rings for --workers N (N > 1); see the top of the file. */
int pipe_start(struct x86_backend *be)
{
	unsigned int n = be->cfg.workers, nin = n == 2 ? 1 : n - 2;
	struct pipe *p;
	int err;

	if (nin > be->nr_queues) {
		pr_err("--workers %u: %u ingress threads need at least as many queues (--queues %u)",
		       n, nin, be->nr_queues);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->th = calloc(n, sizeof(*p->th)))) {
		free(p);
		return -ENOMEM;
	}
	p->nth = n;
	for (unsigned int i = 0; i < n; i++)
		p->th[i].st.wait.efd = -1;
	/* roles */
	if (n == 2) {
		p->th[0].roles = PIPE_IN | PIPE_OUT;
		p->th[1].roles = PIPE_PROTO;
		snprintf(p->th[0].st.name, sizeof(p->th[0].st.name), "ftoe-io");
	} else {
		for (unsigned int i = 0; i < nin; i++) {
			p->th[i].roles = PIPE_IN;
			snprintf(p->th[i].st.name, sizeof(p->th[i].st.name), "ftoe-in%u", i % 100u);
		}
		p->th[n - 1].roles = PIPE_OUT;
		snprintf(p->th[n - 1].st.name, sizeof(p->th[n - 1].st.name), "ftoe-out");
	}
	/* PROTO is the thread before OUT (N > 2), or the second of two */
	p->proto = &p->th[n == 2 ? 1 : n - 2];
	p->proto->roles = PIPE_PROTO;
	snprintf(p->proto->st.name, sizeof(p->proto->st.name), "ftoe-proto");
	p->out = &p->th[n == 2 ? 0 : n - 1];
	for (unsigned int i = 0; i < nin; i++)
		p->in[p->nin++] = &p->th[i];
	/* queue q on IN thread q mod nin */
	for (unsigned int q = 0; q < be->nr_queues; q++) {
		struct pipe_thread *t = p->in[q % nin];

		t->qs[t->nq++] = &be->queues[q];
	}
	for (unsigned int i = 0; i < n; i++) {
		struct pipe_thread *t = &p->th[i];

		t->be = be;
		t->p = p;
		t->idx = i;
		err = x86_stage_thread_init(&t->st);
		if (err)
			goto fail;
		if (t->roles & PIPE_IN) {
			/* room for every frame of its queues: a full ring only
			 * means PROTO is behind, never a lost frame */
			uint32_t slots = pow2_at_least(t->nq * XQ_RX_FRAMES);

			err = spsc_init(&t->rx, slots, sizeof(struct pipe_rx_slot));
			if (!err)
				err = spsc_init(&t->ret, slots, sizeof(struct x86_ret_slot));
			if (err)
				goto nomem;
		}
	}
	err = x86_txq_init(&p->tx, TX_RING_SLOTS, &p->out->st.wait, &p->proto->st.wait);
	if (err)
		goto nomem;
	be->pipe = p;
	for (unsigned int i = 0; i < n; i++)
		if ((err = x86_stage_thread_run(&p->th[i].st, pipe_main, &p->th[i])))
			return err;	/* pipe_stop joins the ones started */
	pr_debug("pipeline: %u ingress thread%s, protocol and egress%s", nin, nin == 1 ? "" : "s",
		 n == 2 ? " (ingress and egress on one thread)" : "");
	return 0;
nomem:
	pr_err("cannot allocate the pipeline's rings: %s", strerror(-err));
fail:
	pipe_free(p);
	return err;
}

/* io.wake: work for the engine (an application's data to send).  On the
 * PROTO thread itself (the applications' poll) no syscall: it polls the engine
 * again before it sleeps. */
void pipe_wake_proto(struct x86_backend *be)
{
	struct pipe *p = be->pipe;

	if (p && tls_proto) {
		p->poll_again = true;
		return;
	}
	if (p)
		x86_stage_thread_wake(&p->proto->st);
}

void pipe_stop(struct x86_backend *be)
{
	struct pipe *p = be->pipe;

	if (!p)
		return;
	x86_stage_threads_stop(be, &p->th[0].st, p->nth, sizeof(p->th[0]));
	be->pipe = NULL;
	pr_info("pipeline: rx items %lu, tx frames %lu (ring full %lu, too big %lu, "
		"tx ring retries %lu)", p->proto->st.items, p->tx.frames, p->tx.full_cnt,
		p->tx.too_big, p->tx.out_retry);
	x86_stage_threads_log(&p->th[0].st, p->nth, sizeof(p->th[0]));
	pipe_free(p);
}

/* The engine's xmit for --workers N > 1 (before ftoe_engine_create). */
void pipe_io_init(struct x86_backend *be, struct ftoe_io *io)
{
	(void)be;
	io->xmit = pipe_xmit;
	if (io->xmit_md)
		io->xmit_md = pipe_xmit_md;
}
