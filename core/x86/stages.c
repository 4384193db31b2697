/* stages.c - the pieces both pipelines share: the ring to egress, the frames' way back to their fill rings, a stage thread's idle block. */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/hooks.h"
#include "core/x86/stages.h"
#include "lib/util/log.h"

int x86_txq_init(struct x86_txq *t, uint32_t slots, struct spsc_waiter *out,
		 struct spsc_waiter *prod)
{
	int err = spsc_init(&t->ring, slots, sizeof(struct x86_tx_slot));

	t->out = out;
	t->prod = prod;
	return err;
}

void x86_txq_fini(struct x86_txq *t)
{
	spsc_fini(&t->ring);
}

void x86_txq_kick(struct x86_txq *t)
{
	if (t->pushed) {
		t->pushed = false;
		spsc_waiter_kick(t->out);
	}
}

int x86_txq_xmit(struct x86_txq *t, unsigned int q, const void *frame, size_t len,
		 const struct flextoe_md *md)
{
	struct x86_tx_slot *s;
	uint32_t idx;

	if (len > XQ_FRAME_SIZE) {
		t->too_big++;
		return -EMSGSIZE;
	}
	if (spsc_prod_reserve(&t->ring, 1, &idx) != 1) {
		t->full = true;
		t->full_cnt++;
		x86_txq_kick(t);
		return -ENOBUFS;
	}
	s = spsc_slot(&t->ring, idx);
	s->len = (uint16_t)len;
	s->q = (uint8_t)q;
	s->has_md = md != NULL;
	if (md)
		s->md = *md;
	memcpy(s->data, frame, len);
	spsc_prod_submit(&t->ring, 1);
	t->frames++;
	t->pushed = true;
	/* A long burst should not wait for the end of the round. */
	if ((t->frames & 31) == 0)
		x86_txq_kick(t);
	return 0;
}

unsigned int x86_txq_out(struct x86_txq *t, struct x86_backend *be)
{
	bool touched[FTOE_STEER_MAX_QUEUES] = { false };
	uint32_t idx, n, done = 0;

	n = spsc_cons_peek(&t->ring, XQ_BATCH, &idx);
	for (; done < n; done++) {
		const struct x86_tx_slot *s = spsc_slot(&t->ring, idx + done);

		touched[s->q] = true;
		if (xq_xmit_md(&be->queues[s->q], s->data, s->len, s->has_md ? &s->md : NULL) ==
		    -ENOBUFS) {
			/* the AF_XDP tx ring is full: push it out, retry */
			t->out_retry++;
			break;
		}
		t->out_frames++;
	}
	if (done) {
		spsc_cons_release(&t->ring, done);
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load_explicit(&t->want, memory_order_relaxed)) {
			atomic_store_explicit(&t->want, 0, memory_order_relaxed);
			spsc_waiter_kick(t->prod);
		}
	}
	for (unsigned int i = 0; i < be->nr_queues; i++)
		if (touched[i])
			xq_flush(&be->queues[i]);
	return n;
}

bool x86_ret_put(struct spsc_ring *ret, uint64_t addr, uint32_t qi, const char *name)
{
	struct x86_ret_slot *r;
	uint32_t idx;

	/* Never full: it holds at most the frames lent, as many as its slots. */
	if (spsc_prod_reserve(ret, 1, &idx) != 1) {
		pr_err("%s: return ring full (frame accounting bug)", name);
		return false;
	}
	r = spsc_slot(ret, idx);
	r->addr = addr;
	r->qi = qi;
	spsc_prod_submit(ret, 1);
	return true;
}

unsigned int x86_ret_take(struct spsc_ring *ret, struct xsk_queue *const *qs, unsigned int nq,
			  uint32_t *q_out)
{
	uint64_t addrs[FTOE_STEER_MAX_QUEUES][XQ_BATCH];
	unsigned int cnt[FTOE_STEER_MAX_QUEUES] = { 0 };
	uint32_t idx, n, total = 0;

	while ((n = spsc_cons_peek(ret, XQ_BATCH, &idx))) {
		for (uint32_t i = 0; i < n; i++) {
			const struct x86_ret_slot *r = spsc_slot(ret, idx + i);

			addrs[r->qi][cnt[r->qi]++] = r->addr;
			q_out[r->qi]--;
		}
		spsc_cons_release(ret, n);
		for (unsigned int qi = 0; qi < nq; qi++) {
			xq_fill(qs[qi], addrs[qi], cnt[qi]);
			cnt[qi] = 0;
		}
		total += n;
	}
	return total;
}

static int stage_sleep(struct x86_backend *be, struct spsc_waiter *w, struct pollfd *pfd,
		       nfds_t npfd, bool efd_only, uint64_t next, struct x86_thread_time *tt,
		       const char *name)
{
	struct timespec ts, *to = be_timeout_ts(next == 0 ? 1000000ull : next, &ts);
	int err = 0;

	ftoe_hooks_thread_offline(be->cfg.hooks);
	x86_thread_block(tt);
	if ((efd_only ? ppoll(&pfd[npfd - 1], 1, to, NULL) : ppoll(pfd, npfd, to, NULL)) < 0 &&
	    errno != EINTR) {
		err = -errno;
		pr_err("%s: poll: %s", name, strerror(errno));
	}
	x86_thread_unblock(tt);
	ftoe_hooks_thread_online(be->cfg.hooks);
	spsc_waiter_done(w);
	if (!err && pfd[npfd - 1].revents & POLLIN) {
		uint64_t v;

		if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			pr_debug("%s: eventfd: %s", name, strerror(errno));
	}
	return err;
}

int x86_stage_idle(struct x86_backend *be, struct x86_stage_thread *s, bool (*has_work)(void *),
		   void *arg, struct pollfd *pfd, nfds_t npfd, bool efd_only, uint64_t next,
		   struct x86_thread_time *tt)
{
	spsc_waiter_prepare(&s->wait);
	if (has_work(arg)) {
		spsc_waiter_done(&s->wait);
		return 1;
	}
	s->sleeps++;
	return stage_sleep(be, &s->wait, pfd, npfd, efd_only, next, tt, s->name);
}

bool x86_stage_proto_due(struct x86_backend *be, struct x86_txq *tx, bool full)
{
	if (full && spsc_count(&tx->ring) < spsc_capacity(&tx->ring))
		return true;
	return be->app.idle && be->app.idle(be->app.ctx);
}

static struct x86_stage_thread *stage_at(struct x86_stage_thread *first, unsigned int i,
					 size_t stride)
{
	return (struct x86_stage_thread *)((char *)first + (size_t)i * stride);
}

void x86_stage_threads_stop(struct x86_backend *be, struct x86_stage_thread *first,
			    unsigned int n, size_t stride)
{
	atomic_store(&be->stop, true);
	for (unsigned int i = 0; i < n; i++)
		x86_stage_thread_wake(stage_at(first, i, stride));
	for (unsigned int i = 0; i < n; i++)
		x86_stage_thread_join(stage_at(first, i, stride));
}

void x86_stage_threads_log(const struct x86_stage_thread *first, unsigned int n, size_t stride)
{
	for (unsigned int i = 0; i < n; i++)
		x86_stage_thread_log(stage_at((struct x86_stage_thread *)first, i, stride));
}

int x86_stage_thread_init(struct x86_stage_thread *s)
{
	s->wait.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wait.efd < 0) {
		pr_err("eventfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void x86_stage_thread_fini(struct x86_stage_thread *s)
{
	if (s->wait.efd >= 0)
		close(s->wait.efd);
	s->wait.efd = -1;
}

int x86_stage_thread_run(struct x86_stage_thread *s, void *(*fn)(void *), void *arg)
{
	int err = -pthread_create(&s->tid, NULL, fn, arg);

	if (err)
		pr_err("cannot start thread %s: %s", s->name, strerror(-err));
	s->started = !err;
	return err;
}

void x86_stage_thread_wake(struct x86_stage_thread *s)
{
	uint64_t one = 1;

	if (s->wait.efd >= 0 && write(s->wait.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("wake %s: %s", s->name, strerror(errno));
}

void x86_stage_thread_join(struct x86_stage_thread *s)
{
	if (s->started)
		pthread_join(s->tid, NULL);
	s->started = false;
}

void x86_stage_thread_log(const struct x86_stage_thread *s)
{
	pr_info("pipeline: %s: items %lu, sleeps %lu, woken %lu", s->name, s->items, s->sleeps,
		atomic_load(&s->wait.wakeups));
}

struct x86_thread_time *x86_stage_thread_begin(struct x86_backend *be,
					       const struct x86_stage_thread *s)
{
	pthread_setname_np(pthread_self(), s->name);
	return x86_thread_time_start(be, s->name);
}

void x86_stage_thread_ready(struct x86_backend *be, const struct x86_stage_thread *s,
			    struct pollfd *pfd, nfds_t *npfd)
{
	pfd[*npfd].fd = s->wait.efd;
	pfd[(*npfd)++].events = POLLIN;
	if (ftoe_hooks_thread_register(be->cfg.hooks))
		pr_warn("%s: too many hook reader threads; hooks run on the slow path", s->name);
}

int x86_stage_xmit(struct x86_backend *be, struct x86_txq *tx, unsigned int q,
		   const void *frame, size_t len, const struct flextoe_md *md)
{
	if (q >= be->nr_queues)
		q = 0;
	if (!tx)
		return md ? xq_xmit_md(&be->queues[q], frame, len, md) :
			    xq_xmit(&be->queues[q], frame, len);
	return x86_txq_xmit(tx, q, frame, len, md);
}
