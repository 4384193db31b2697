/* worker.c - --workers 1: one thread receives on every queue, runs the engine and the applications, and blocks when idle. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/hooks.h"
#include "core/pipeline.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

struct worker {
	struct x86_backend *be;
	int efd;                  /* eventfd: stop and io.wake */
	pthread_t tid;
	bool started;
	bool poll_again;          /* io.wake on the worker itself: loop, no syscall */
};

/* This thread is the worker (it runs the engine and the applications). */
static __thread bool tls_worker;

/* One rx burst of queue q: TCP to the engine in one call, ARP and ICMP
 * to the control plane; the frames go back to the fill ring afterwards
 * (the engine only borrows them for the call).  Each TCP frame is parsed
 * here, once, into the item the engine's stages then work on
 * (docs/design.md section 3). */
static unsigned int rx_batch(struct x86_backend *be, struct xsk_queue *q)
{
	struct rx_frame fr[XQ_BATCH];
	struct ftoe_rx_item items[XQ_BATCH];
	uint64_t addrs[XQ_BATCH];
	unsigned int n, nf, nt = 0;

	n = rx_burst(be, q, XQ_BATCH, fr, &nf);
	for (unsigned int i = 0; i < nf; i++) {
		const struct flextoe_md *md = fr[i].has_md ? &fr[i].md : NULL;

		addrs[i] = fr[i].addr;
		if (fr[i].kind == RX_TCP)
			ftoe_engine_rx_parse(be->eng, fr[i].data, fr[i].len, md, &items[nt++]);
		else
			control_rx(be, fr[i].kind, fr[i].data, fr[i].len, md);
	}
	if (nt)
		ftoe_engine_rx_items(be->eng, q->id, items, nt);
	xq_fill(q, addrs, nf);
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct x86_backend *be = w->be;
	struct pollfd pfd[FTOE_STEER_MAX_QUEUES + 2];
	struct x86_thread_time *tt;
	nfds_t npfd;

	tls_worker = true;
	pthread_setname_np(pthread_self(), "ftoe-worker");
	tt = x86_thread_time_start(be, "ftoe-worker");
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
		uint64_t next;
		unsigned int work = 0;
		struct timespec ts;

		ftoe_hooks_quiescent(be->cfg.hooks);

		for (unsigned int i = 0; i < be->nr_queues; i++)
			work += rx_batch(be, &be->queues[i]);
		work += engine_pass(be, &next);
		for (unsigned int i = 0; i < be->nr_queues; i++)
			xq_flush(&be->queues[i]);
		if (w->poll_again) {
			w->poll_again = false;
			work++;
		}
		if (work || next == 0 || be->cfg.busy_poll) {
			for (unsigned int i = 0; i < be->nr_queues; i++)
				xq_rx_kick(&be->queues[i]);
			continue;
		}
		/* About to block: the applications ring from now on; a
		 * command that came in meanwhile is served first. */
		if (be->app.idle && be->app.idle(be->app.ctx))
			continue;
		/* Idle: block on the sockets (poll() also serves the fill
		 * ring's need_wakeup), the eventfd and the next deadline. */
		x86_thread_block(tt);
		if (ppoll(pfd, npfd, be_timeout_ts(next, &ts), NULL) < 0 && errno != EINTR) {
			pr_err("worker: poll: %s", strerror(errno));
			break;
		}
		x86_thread_unblock(tt);
		be->app_fd_ready = be->app.fd >= 0 && (pfd[be->nr_queues + 1].revents & POLLIN);
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

/* io.wake: work for the engine (an application's data to send).  On the
 * worker itself (the applications' poll) no syscall: it writes to its own
 * eventfd only to find it readable in its next ppoll(), a wakeup and two
 * system calls per send for nothing; it loops once more instead. */
void worker_wake(struct x86_backend *be)
{
	uint64_t one = 1;

	if (be->worker && tls_worker) {
		be->worker->poll_again = true;
		return;
	}
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
