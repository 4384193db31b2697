/* worker.c - worker threads: receive and dispatch frames, run timers, block when idle. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/byteorder.h"
#include "core/segment.h"
#include "core/x86/app.h"
#include "core/x86/backend.h"
#include "lib/util/log.h"

#define CTL_POLL_MAX_NS  100000000ull   /* ARP timers run at least every 100 ms */
#define IPPROTO_ICMP_    1

struct worker {
	struct backend *be;
	unsigned int idx;
	struct xsk_queue *qs[FTOE_STEER_MAX_QUEUES];
	unsigned int nq;
	int efd;                  /* eventfd: stop and io.wake */
	pthread_t tid;
	bool started;
	uint64_t ctl_next_ns;     /* worker 0: next control_poll */
};

static __thread struct worker *cur_worker;

struct xsk_queue *worker_current_queue(void)
{
	return cur_worker ? cur_worker->qs[0] : NULL;
}

static void eng_lock(struct backend *be)
{
	if (be->eng_locked)
		pthread_mutex_lock(&be->eng_lock);
}

static void eng_unlock(struct backend *be)
{
	if (be->eng_locked)
		pthread_mutex_unlock(&be->eng_lock);
}

/* The rx-pre hook on one received frame (DESIGN.md section 4: ingress,
 * before validation; every frame the engine receives, ARP and ICMP
 * included).  Returns the frame's new length, or 0 when it is consumed
 * (dropped, aborted, sent back with XDP_TX, or redirected); *md gets the
 * programs' metadata (classify's app_ctx, vlan_strip's tags), which goes
 * with the frame to the engine and the control plane. */
static uint32_t rx_pre(struct backend *be, struct xsk_queue *q, uint8_t *f, uint32_t len,
		       uint32_t room, struct flextoe_md *md)
{
	static atomic_bool redirect_noted;
	struct ftoe_hook_frame hf = { .data = f, .len = len };
	uint32_t v;

	hx_md_init(&hf.md, FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	v = ftoe_hooks_run(be->hooks, FLEXTOE_HOOK_RX_PRE, &hf);
	switch (v) {
	case FTOE_XDP_PASS:
		break;
	case FTOE_XDP_TX:
		q->st.rx_hook_tx++;
		xq_xmit_raw(q, hf.data, hf.len);
		return 0;
	case FTOE_XDP_REDIRECT:
		/* No redirect targets in this backend (no devmap/cpumap/xskmap
		 * of the engine's): counted and dropped. */
		q->st.rx_hook_redirect++;
		if (!atomic_exchange(&redirect_noted, true))
			pr_warn("an rx-pre program returned XDP_REDIRECT: the x86 backend has no "
				"redirect targets; such frames are counted and dropped");
		return 0;
	default:		/* DROP, ABORTED */
		q->st.rx_hook_drop++;
		return 0;
	}
	if (hf.data != f) {
		/* The programs ran on the execution buffer: the result goes
		 * back into the umem frame, which the rest of the batch uses. */
		if (hf.len > room) {
			q->st.rx_hook_too_big++;
			return 0;
		}
		memcpy(f, hf.data, hf.len);
	}
	*md = hf.md;
	return hf.len;
}

/* One rx batch of queue q: the rx-pre hook on each frame, then ARP and
 * ICMP to the control plane, TCP to the engine in one call; frames go
 * back to the fill ring afterwards (the engine only borrows them for the
 * call). */
static unsigned int rx_batch(struct worker *w, struct xsk_queue *q)
{
	struct backend *be = w->be;
	void *tcp[XQ_BATCH];
	uint16_t lens[XQ_BATCH];
	struct flextoe_md mds[XQ_BATCH];
	const struct flextoe_md *tcp_md[XQ_BATCH];
	unsigned int n, nt = 0;
	uint32_t idx;

	n = xq_rx_peek(q, &idx);
	if (!n)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct xdp_desc *d = xq_rx_desc(q, idx + i);
		uint8_t *f = xsk_umem__get_data(q->area, d->addr);
		uint32_t len = d->len;
		const struct flextoe_md *md = NULL;
		uint16_t type;

		q->st.rx_frames++;
		if (ftoe_hooks_active(be->hooks, FLEXTOE_HOOK_RX_PRE)) {
			len = rx_pre(be, q, f, len,
				     XQ_FRAME_SIZE - (uint32_t)(d->addr & (XQ_FRAME_SIZE - 1)),
				     &mds[i]);
			if (!len)
				continue;
			md = &mds[i];
		}
		if (len < FTOE_ETH_HLEN) {
			q->st.rx_runt++;
			continue;
		}
		type = ftoe_get_be16(f + 12);
		if (type == FTOE_ETH_P_ARP) {
			q->st.rx_arp++;
			control_arp_rx(be, f, len, md);
		} else if (type == FTOE_ETH_P_IPV4 && len >= FTOE_ETH_HLEN + 20) {
			uint8_t proto = f[FTOE_ETH_HLEN + 9];

			if (proto == FTOE_IPPROTO_TCP) {
				q->st.rx_tcp++;
				tcp[nt] = f;
				tcp_md[nt] = md;
				lens[nt++] = (uint16_t)len;
			} else if (proto == IPPROTO_ICMP_) {
				q->st.rx_icmp++;
				control_icmp_rx(be, q, f, len, md);
			} else {
				q->st.rx_other++;
			}
		} else if (type == FTOE_ETH_P_IPV4) {
			q->st.rx_runt++;
		} else {
			q->st.rx_other++;
		}
	}
	if (nt) {
		eng_lock(be);
		ftoe_engine_rx_md(be->eng, q->id, tcp, lens, tcp_md, nt);
		eng_unlock(be);
	}
	xq_rx_done(q, idx, n);
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct backend *be = w->be;
	struct pollfd pfd[FTOE_STEER_MAX_QUEUES + 2];
	nfds_t npfd;

	cur_worker = w;
	for (unsigned int i = 0; i < w->nq; i++) {
		pthread_mutex_lock(&w->qs[i]->tx_lock);
		w->qs[i]->owner = pthread_self();
		w->qs[i]->has_owner = true;
		pthread_mutex_unlock(&w->qs[i]->tx_lock);
		pfd[i].fd = w->qs[i]->fd;
		pfd[i].events = POLLIN;
	}
	pfd[w->nq].fd = w->efd;
	pfd[w->nq].events = POLLIN;
	/* A reader of the hook chains: quiescent once per loop, offline
	 * while blocked, so program swaps never wait for an idle worker. */
	if (ftoe_hooks_thread_register(be->hooks))
		pr_warn("worker %u: too many hook reader threads; hooks run on the slow path",
			w->idx);
	npfd = w->nq + 1;
	if (app_server_fd() >= 0) {	/* applications' sockets and doorbells (app.c) */
		pfd[npfd].fd = app_server_fd();
		pfd[npfd++].events = POLLIN;
	}

	while (!atomic_load_explicit(&be->stop, memory_order_relaxed)) {
		uint64_t next = UINT64_MAX, t, now;
		unsigned int work = 0;
		struct timespec ts;

		ftoe_hooks_quiescent(be->hooks);

		for (unsigned int i = 0; i < w->nq; i++)
			work += rx_batch(w, w->qs[i]);
		eng_lock(be);
		for (unsigned int i = 0; i < w->nq; i++) {
			t = ftoe_engine_poll(be->eng, w->qs[i]->id);
			if (t < next)
				next = t;
		}
		eng_unlock(be);
		work += app_server_poll(be);
		if (w->idx == 0) {
			now = be_now_ns();
			if (now >= w->ctl_next_ns) {
				t = control_poll(be);
				w->ctl_next_ns = now + (t < CTL_POLL_MAX_NS ? t : CTL_POLL_MAX_NS);
			}
			t = w->ctl_next_ns > now ? w->ctl_next_ns - now : 0;
			if (t < next)
				next = t;
		}
		for (unsigned int i = 0; i < w->nq; i++)
			xq_flush(w->qs[i]);
		if (work || next == 0) {
			for (unsigned int i = 0; i < w->nq; i++)
				xq_rx_kick(w->qs[i]);
			continue;
		}
		if (be->opts.busy_poll) {
			for (unsigned int i = 0; i < w->nq; i++)
				xq_rx_kick(w->qs[i]);
			continue;
		}
		/* Idle: block on the sockets (poll() also serves the fill
		 * ring's need_wakeup), the eventfd and the next deadline. */
		if (ppoll(pfd, npfd, be_timeout_ts(next, &ts), NULL) < 0 && errno != EINTR) {
			pr_err("worker %u: poll: %s", w->idx, strerror(errno));
			break;
		}
		if (pfd[w->nq].revents & POLLIN) {
			uint64_t v;

			if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_debug("worker %u: eventfd: %s", w->idx, strerror(errno));
		}
	}
	ftoe_hooks_thread_unregister(be->hooks);
	hx_thread_exit();
	cur_worker = NULL;
	return NULL;
}

/* For the pipeline's ingress threads (pipe.c): the same rx-pre step. */
uint32_t worker_rx_pre(struct backend *be, struct xsk_queue *q, uint8_t *f, uint32_t len,
		       uint32_t room, struct flextoe_md *md)
{
	return rx_pre(be, q, f, len, room, md);
}

int workers_start(struct backend *be)
{
	int err;

	/* --workers N > 1: the stages on their own threads (pipe.c). */
	if (be->opts.workers > 1)
		return pipe_start(be);

	be->nr_workers = be->opts.workers;
	be->workers = calloc(be->nr_workers, sizeof(*be->workers));
	if (!be->workers)
		return -ENOMEM;
	for (unsigned int i = 0; i < be->nr_workers; i++)
		be->workers[i].efd = -1;
	for (unsigned int i = 0; i < be->nr_workers; i++) {
		struct worker *w = &be->workers[i];

		w->be = be;
		w->idx = i;
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->efd < 0) {
			err = -errno;
			pr_err("eventfd: %s", strerror(errno));
			return err;
		}
	}
	/* Queue i is served by worker i mod workers. */
	for (unsigned int q = 0; q < be->nr_queues; q++) {
		struct worker *w = &be->workers[q % be->nr_workers];

		w->qs[w->nq++] = &be->queues[q];
	}
	for (unsigned int i = 0; i < be->nr_workers; i++) {
		struct worker *w = &be->workers[i];

		err = -pthread_create(&w->tid, NULL, worker_main, w);
		if (err) {
			pr_err("cannot start worker thread %u: %s", i, strerror(-err));
			return err;
		}
		w->started = true;
	}
	return 0;
}

void workers_wake(struct backend *be)
{
	uint64_t one = 1;

	if (be->pipe) {
		pipe_wake_proto(be);
		return;
	}
	for (unsigned int i = 0; i < be->nr_workers; i++)
		if (be->workers[i].efd >= 0 && write(be->workers[i].efd, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			pr_debug("wake worker %u: %s", i, strerror(errno));
}

void workers_stop(struct backend *be)
{
	pipe_stop(be);
	if (!be->workers)
		return;
	atomic_store(&be->stop, true);
	workers_wake(be);
	for (unsigned int i = 0; i < be->nr_workers; i++) {
		struct worker *w = &be->workers[i];

		if (w->started)
			pthread_join(w->tid, NULL);
		if (w->efd >= 0)
			close(w->efd);
	}
	free(be->workers);
	be->workers = NULL;
	be->nr_workers = 0;
}
