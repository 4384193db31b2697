/* worker.c - --workers 1: one thread receives on every queue, runs the engine and the applications, and blocks when idle. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/byteorder.h"
#include "core/hooks.h"
#include "core/segment.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

#define IPPROTO_ICMP_    1

struct worker {
	struct x86_backend *be;
	int efd;                  /* eventfd: stop and io.wake */
	pthread_t tid;
	bool started;
};

/* One rx batch of queue q: the rx-pre hook on each frame, then ARP and
 * ICMP to the control plane, TCP to the engine in one call; frames go
 * back to the fill ring afterwards (the engine only borrows them for the
 * call). */
static unsigned int rx_batch(struct x86_backend *be, struct xsk_queue *q)
{
	void *tcp[XQ_BATCH];
	uint16_t lens[XQ_BATCH];
	unsigned int n, nt = 0;
	uint32_t idx;

	n = xq_rx_peek(q, &idx);
	if (!n)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct xdp_desc *d = xq_rx_desc(q, idx + i);
		uint8_t *f = xsk_umem__get_data(q->area, d->addr);
		uint32_t len = d->len;
		uint16_t type;

		q->st.rx_frames++;
		if (ftoe_hooks_active(be->cfg.hooks, FLEXTOE_HOOK_RX_PRE)) {
			len = rx_pre(be, q, f, len,
				     XQ_FRAME_SIZE - (uint32_t)(d->addr & (XQ_FRAME_SIZE - 1)));
			if (!len)
				continue;
		} else {
			rx_md_clear(f, XQ_FRAME_SIZE - (uint32_t)(d->addr & (XQ_FRAME_SIZE - 1)));
		}
		if (len < FTOE_ETH_HLEN) {
			q->st.rx_runt++;
			continue;
		}
		type = ftoe_get_be16(f + 12);
		if (type == FTOE_ETH_P_ARP) {
			q->st.rx_arp++;
			control_rx(be, RX_ARP, f, len);
		} else if (type == FTOE_ETH_P_IPV4 && len >= FTOE_ETH_HLEN + 20) {
			uint8_t proto = f[FTOE_ETH_HLEN + 9];

			if (proto == FTOE_IPPROTO_TCP) {
				q->st.rx_tcp++;
				tcp[nt] = f;
				lens[nt++] = (uint16_t)len;
			} else if (proto == IPPROTO_ICMP_) {
				q->st.rx_icmp++;
				control_rx(be, RX_ICMP, f, len);
			} else {
				q->st.rx_other++;
			}
		} else if (type == FTOE_ETH_P_IPV4) {
			q->st.rx_runt++;
		} else {
			q->st.rx_other++;
		}
	}
	if (nt)
		ftoe_engine_rx(be->eng, q->id, tcp, lens, nt);
	xq_rx_done(q, idx, n);
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct x86_backend *be = w->be;
	struct pollfd pfd[FTOE_STEER_MAX_QUEUES + 2];
	nfds_t npfd;

	for (unsigned int i = 0; i < be->nr_queues; i++) {
		xq_set_owner(&be->queues[i]);
		pfd[i].fd = be->queues[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[be->nr_queues].fd = w->efd;
	pfd[be->nr_queues].events = POLLIN;
	/* A reader of the hook chains: quiescent once per loop, offline
	 * while blocked, so program swaps never wait for an idle worker. */
	if (ftoe_hooks_thread_register(be->cfg.hooks))
		pr_warn("worker: too many hook reader threads; hooks run on the slow path");
	npfd = be->nr_queues + 1;
	if (be->app.fd >= 0) {	/* the applications' sockets and doorbells */
		pfd[npfd].fd = be->app.fd;
		pfd[npfd++].events = POLLIN;
	}

	while (!atomic_load_explicit(&be->stop, memory_order_relaxed)) {
		uint64_t next, t;
		unsigned int work = 0;
		struct timespec ts;

		ftoe_hooks_quiescent(be->cfg.hooks);

		for (unsigned int i = 0; i < be->nr_queues; i++)
			work += rx_batch(be, &be->queues[i]);
		next = UINT64_MAX;
		for (unsigned int i = 0; i < be->nr_queues; i++) {
			t = ftoe_engine_poll(be->eng, be->queues[i].id);
			if (t < next)
				next = t;
		}
		if (be->app.poll)
			work += be->app.poll(be->app.ctx);
		t = control_poll(be);
		if (t < next)
			next = t;
		for (unsigned int i = 0; i < be->nr_queues; i++)
			xq_flush(&be->queues[i]);
		if (work || next == 0 || be->cfg.busy_poll) {
			for (unsigned int i = 0; i < be->nr_queues; i++)
				xq_rx_kick(&be->queues[i]);
			continue;
		}
		/* Idle: block on the sockets (poll() also serves the fill
		 * ring's need_wakeup), the eventfd and the next deadline. */
		if (ppoll(pfd, npfd, be_timeout_ts(next, &ts), NULL) < 0 && errno != EINTR) {
			pr_err("worker: poll: %s", strerror(errno));
			break;
		}
		if (pfd[be->nr_queues].revents & POLLIN) {
			uint64_t v;

			if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_debug("worker: eventfd: %s", strerror(errno));
		}
	}
	ftoe_hooks_thread_unregister(be->cfg.hooks);
	return NULL;
}

int worker_start(struct x86_backend *be)
{
	struct worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->be = be;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		err = -errno;
		pr_err("eventfd: %s", strerror(errno));
		free(w);
		return err;
	}
	be->worker = w;
	err = -pthread_create(&w->tid, NULL, worker_main, w);
	if (err) {
		pr_err("cannot start the worker thread: %s", strerror(-err));
		return err;	/* worker_stop frees it */
	}
	w->started = true;
	return 0;
}

void worker_wake(struct x86_backend *be)
{
	uint64_t one = 1;

	if (be->worker && write(be->worker->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("wake worker: %s", strerror(errno));
}

void worker_stop(struct x86_backend *be)
{
	struct worker *w = be->worker;

	if (!w)
		return;
	atomic_store(&be->stop, true);
	worker_wake(be);
	if (w->started)
		pthread_join(w->tid, NULL);
	close(w->efd);
	free(w);
	be->worker = NULL;
}
