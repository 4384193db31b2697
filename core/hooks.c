/* hooks.c - hook chains: priority order, chain-call actions, per-hook verdict rules, QSBR chain swap. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hooks.h"

/* An immutable chain: built by a writer, published with one atomic store,
 * freed only after a grace period. */
struct chain {
	unsigned int n;
	struct ftoe_hook_prog progs[];
};

/* A registered reader thread.  ctr is 0 while the thread is offline (or
 * the slot unused), else the writer epoch it last saw at a quiescent
 * point.  Counters are written by the owning thread only. */
struct reader {
	_Atomic uint64_t ctr;
	atomic_bool used;
	_Atomic uint64_t cnt[FTOE_HOOK_NR][FTOE_HOOK_NR_COUNTERS];
} __attribute__((aligned(64)));

struct ftoe_hooks {
	struct ftoe_hook_ops ops;
	struct chain *_Atomic chains[FTOE_HOOK_NR];
	_Atomic uint64_t epoch;			/* bumped by every grace period */
	atomic_long adhoc;			/* unregistered threads inside run */
	/* Counters of unregistered threads and of readers that left. */
	_Atomic uint64_t base_cnt[FTOE_HOOK_NR][FTOE_HOOK_NR_COUNTERS];
	pthread_mutex_t wlock;			/* writers; reader registration */
	struct reader readers[FTOE_HOOK_MAX_READERS];
};

/* This thread's reader slot, if registered with tls_hooks. */
static __thread struct ftoe_hooks *tls_hooks;
static __thread struct reader *tls_reader;

/* Names come from the one list, include/flextoe/hooks.h. */
static const char *const hook_names[FTOE_HOOK_NR] = {
#define HOOK_NAME(id, num, name, role) [FLEXTOE_HOOK_##id] = name,
	FLEXTOE_HOOK_LIST(HOOK_NAME)
#undef HOOK_NAME
};

static bool hook_valid(enum flextoe_hook hook)
{
	return hook >= FTOE_HOOK_FIRST && hook < FTOE_HOOK_NR;
}

enum flextoe_hook ftoe_hook_by_name(const char *name)
{
	for (int i = FTOE_HOOK_FIRST; i < FTOE_HOOK_NR; i++)
		if (name && !strcmp(name, hook_names[i]))
			return (enum flextoe_hook)i;
	return FLEXTOE_HOOK_NONE;
}

const char *ftoe_hook_name(enum flextoe_hook hook)
{
	return hook_valid(hook) ? hook_names[hook] : NULL;
}

bool ftoe_hook_observe_only(enum flextoe_hook hook)
{
	return hook == FLEXTOE_HOOK_RX_POST;
}

/* docs/design.md section 4. */
uint32_t ftoe_hook_apply_rules(enum flextoe_hook hook, uint32_t act, bool *invalid)
{
	*invalid = false;
	if (act >= FTOE_XDP_NR_ACTIONS) {
		*invalid = true;
		act = FTOE_XDP_ABORTED;
	}
	switch (hook) {
	case FLEXTOE_HOOK_RX_PRE:
		return act;
	case FLEXTOE_HOOK_RX_POST:
		return FTOE_XDP_PASS;		/* observe only */
	case FLEXTOE_HOOK_TX_POST:
		if (act == FTOE_XDP_TX || act == FTOE_XDP_REDIRECT) {
			*invalid = true;
			return FTOE_XDP_ABORTED;
		}
		return act;
	default:
		return FTOE_XDP_PASS;
	}
}

int ftoe_hooks_create(const struct ftoe_hook_ops *ops, struct ftoe_hooks **out)
{
	struct ftoe_hooks *h;

	if (!ops || !ops->run || !out)
		return -EINVAL;
	if (posix_memalign((void **)&h, 64, sizeof(*h)))
		return -ENOMEM;
	memset(h, 0, sizeof(*h));
	h->ops = *ops;
	atomic_init(&h->epoch, 1);
	pthread_mutex_init(&h->wlock, NULL);
	*out = h;
	return 0;
}

void ftoe_hooks_destroy(struct ftoe_hooks *h)
{
	if (!h)
		return;
	for (int i = 0; i < FTOE_HOOK_NR; i++)
		free(atomic_load(&h->chains[i]));
	pthread_mutex_destroy(&h->wlock);
	free(h);
}

/* ---- readers ------------------------------------------------------------------ */

int ftoe_hooks_thread_register(struct ftoe_hooks *h)
{
	int err = -ENOSPC;

	if (tls_hooks == h && tls_reader)
		return 0;
	pthread_mutex_lock(&h->wlock);
	for (unsigned int i = 0; i < FTOE_HOOK_MAX_READERS; i++) {
		struct reader *r = &h->readers[i];

		if (atomic_load(&r->used))
			continue;
		for (int k = 0; k < FTOE_HOOK_NR; k++)
			for (int c = 0; c < FTOE_HOOK_NR_COUNTERS; c++)
				atomic_store_explicit(&r->cnt[k][c], 0, memory_order_relaxed);
		atomic_store(&r->ctr, atomic_load(&h->epoch));
		atomic_store(&r->used, true);
		tls_hooks = h;
		tls_reader = r;
		err = 0;
		break;
	}
	pthread_mutex_unlock(&h->wlock);
	atomic_thread_fence(memory_order_seq_cst);
	return err;
}

void ftoe_hooks_thread_unregister(struct ftoe_hooks *h)
{
	struct reader *r = tls_hooks == h ? tls_reader : NULL;

	if (!r)
		return;
	pthread_mutex_lock(&h->wlock);
	for (int k = 0; k < FTOE_HOOK_NR; k++)
		for (int c = 0; c < FTOE_HOOK_NR_COUNTERS; c++)
			atomic_fetch_add(&h->base_cnt[k][c],
					 atomic_load_explicit(&r->cnt[k][c], memory_order_relaxed));
	atomic_store(&r->ctr, 0);
	atomic_store(&r->used, false);
	pthread_mutex_unlock(&h->wlock);
	tls_hooks = NULL;
	tls_reader = NULL;
}

void ftoe_hooks_quiescent(struct ftoe_hooks *h)
{
	struct reader *r = tls_hooks == h ? tls_reader : NULL;

	if (!r)
		return;
	/* seq_cst: ordered before the chain loads of the next batch. */
	atomic_store(&r->ctr, atomic_load(&h->epoch));
}

void ftoe_hooks_thread_offline(struct ftoe_hooks *h)
{
	struct reader *r = tls_hooks == h ? tls_reader : NULL;

	if (r)
		atomic_store_explicit(&r->ctr, 0, memory_order_release);
}

void ftoe_hooks_thread_online(struct ftoe_hooks *h)
{
	struct reader *r = tls_hooks == h ? tls_reader : NULL;

	if (!r)
		return;
	atomic_store(&r->ctr, atomic_load(&h->epoch));
	/* A writer that saw us offline published its chain before; make
	 * sure our next chain load comes after this store (store-load). */
	atomic_thread_fence(memory_order_seq_cst);
}

static void short_sleep(void)
{
	struct timespec ts = { 0, 20000 };	/* 20 us */

	nanosleep(&ts, NULL);
}

void ftoe_hooks_synchronize(struct ftoe_hooks *h)
{
	uint64_t target = atomic_fetch_add(&h->epoch, 1) + 1;
	struct reader *self = tls_hooks == h ? tls_reader : NULL;

	for (unsigned int i = 0; i < FTOE_HOOK_MAX_READERS; i++) {
		struct reader *r = &h->readers[i];

		if (r == self || !atomic_load(&r->used))
			continue;
		for (;;) {
			uint64_t c = atomic_load(&r->ctr);

			if (c == 0 || c >= target)
				break;
			short_sleep();
		}
	}
	/* Unregistered threads are only inside run for one frame. */
	while (atomic_load(&h->adhoc) != 0)
		short_sleep();
}

/* ---- data path ----------------------------------------------------------------- */

static inline void count(struct ftoe_hooks *h, struct reader *r, enum flextoe_hook hook, int c)
{
	if (r) {
		uint64_t v = atomic_load_explicit(&r->cnt[hook][c], memory_order_relaxed);

		atomic_store_explicit(&r->cnt[hook][c], v + 1, memory_order_relaxed);
	} else {
		atomic_fetch_add_explicit(&h->base_cnt[hook][c], 1, memory_order_relaxed);
	}
}

bool ftoe_hooks_active(struct ftoe_hooks *h, enum flextoe_hook hook)
{
	return h && hook_valid(hook) &&
	       atomic_load_explicit(&h->chains[hook], memory_order_relaxed) != NULL;
}

/* The chain's verdict: a verdict outside a program's chain-call actions
 * ends the chain with it; when all chain on, XDP_PASS (libxdp). */
static uint32_t run_chain(struct ftoe_hooks *h, const struct chain *c)
{
	for (unsigned int i = 0; i < c->n; i++) {
		const struct ftoe_hook_prog *p = &c->progs[i];
		uint32_t act = h->ops.run(h->ops.ctx, p->handle);

		if (act >= FTOE_XDP_NR_ACTIONS || !(p->chain_call_actions & (1u << act)))
			return act;
	}
	return FTOE_XDP_PASS;
}

/* Whether the caller still uses the programs' result (so the end op must
 * hand it over): PASS and TX, and a redirect the op left to the caller. */
static bool result_goes_on(uint32_t verdict, const struct ftoe_hook_frame *f)
{
	if (verdict == FTOE_XDP_REDIRECT)
		return !f->redirect_err && f->redirect_as != FTOE_REDIRECT_TAKEN;
	return verdict == FTOE_XDP_PASS || verdict == FTOE_XDP_TX;
}

uint32_t ftoe_hooks_run(struct ftoe_hooks *h, enum flextoe_hook hook, struct ftoe_hook_frame *f)
{
	struct reader *r = tls_hooks == h ? tls_reader : NULL;
	const struct chain *c;
	uint32_t act, verdict;
	bool invalid, adhoc;

	if (!h || !hook_valid(hook))
		return FTOE_XDP_PASS;
	/* Offline or unregistered: announce ourselves for this call. */
	adhoc = !r || atomic_load_explicit(&r->ctr, memory_order_relaxed) == 0;
	if (adhoc) {
		r = NULL;
		atomic_fetch_add(&h->adhoc, 1);
	}
	c = atomic_load_explicit(&h->chains[hook], memory_order_acquire);
	if (!c) {
		verdict = FTOE_XDP_PASS;
		goto out;
	}
	f->md.hook = (uint8_t)hook;
	if (h->ops.begin && h->ops.begin(h->ops.ctx, hook, f))
		act = FTOE_XDP_ABORTED;
	else
		act = run_chain(h, c);
	verdict = ftoe_hook_apply_rules(hook, act, &invalid);
	if (verdict == FTOE_XDP_REDIRECT) {
		f->redirect_as = FTOE_REDIRECT_TAKEN;
		f->redirect_copies = 0;
		f->redirect_err = h->ops.redirect ? h->ops.redirect(h->ops.ctx, f) : -EOPNOTSUPP;
	}
	if (h->ops.end)
		h->ops.end(h->ops.ctx, f, !ftoe_hook_observe_only(hook) && result_goes_on(verdict, f));
	count(h, r, hook, act < FTOE_XDP_NR_ACTIONS ? (int)act : FTOE_HOOK_CNT_INVALID);
	if (invalid && act < FTOE_XDP_NR_ACTIONS)
		count(h, r, hook, FTOE_HOOK_CNT_INVALID);
out:
	if (adhoc)
		atomic_fetch_sub(&h->adhoc, 1);
	return verdict;
}

/* ---- control ---------------------------------------------------------------------- */

static struct chain *chain_dup(const struct chain *c, unsigned int extra)
{
	unsigned int n = c ? c->n : 0;
	struct chain *nc = malloc(sizeof(*nc) + (n + extra) * sizeof(nc->progs[0]));

	if (!nc)
		return NULL;
	nc->n = n;
	if (n)
		memcpy(nc->progs, c->progs, n * sizeof(c->progs[0]));
	return nc;
}

/* Publish nc (NULL when empty) at hook and retire the old chain. */
static void publish(struct ftoe_hooks *h, enum flextoe_hook hook, struct chain *nc)
{
	struct chain *old;

	if (nc && !nc->n) {
		free(nc);
		nc = NULL;
	}
	old = atomic_exchange(&h->chains[hook], nc);
	ftoe_hooks_synchronize(h);
	free(old);
}

static int find_locked(struct ftoe_hooks *h, uint32_t id, enum flextoe_hook *hook)
{
	for (int k = FTOE_HOOK_FIRST; k < FTOE_HOOK_NR; k++) {
		const struct chain *c = atomic_load(&h->chains[k]);

		for (unsigned int i = 0; c && i < c->n; i++) {
			if (c->progs[i].id == id) {
				*hook = (enum flextoe_hook)k;
				return (int)i;
			}
		}
	}
	return -ENOENT;
}

/* Insert p into nc after the programs of lower or equal priority. */
static void insert_sorted(struct chain *nc, const struct ftoe_hook_prog *p)
{
	unsigned int pos = 0;

	while (pos < nc->n && nc->progs[pos].priority <= p->priority)
		pos++;
	memmove(&nc->progs[pos + 1], &nc->progs[pos], (nc->n - pos) * sizeof(nc->progs[0]));
	nc->progs[pos] = *p;
	nc->n++;
}

int ftoe_hooks_attach(struct ftoe_hooks *h, enum flextoe_hook hook, const struct ftoe_hook_prog *p)
{
	enum flextoe_hook where;
	struct chain *nc;
	int err = 0;

	if (!h || !hook_valid(hook) || !p || !p->id)
		return -EINVAL;
	pthread_mutex_lock(&h->wlock);
	if (find_locked(h, p->id, &where) >= 0) {
		err = -EEXIST;
		goto out;
	}
	{
		const struct chain *c = atomic_load(&h->chains[hook]);

		if (c && c->n >= FTOE_HOOK_MAX_PROGS) {
			err = -ENOSPC;
			goto out;
		}
		nc = chain_dup(c, 1);
	}
	if (!nc) {
		err = -ENOMEM;
		goto out;
	}
	insert_sorted(nc, p);
	publish(h, hook, nc);
out:
	pthread_mutex_unlock(&h->wlock);
	return err;
}

static int remove_locked(struct ftoe_hooks *h, uint32_t id, const struct ftoe_hook_prog *repl,
			 void **handle)
{
	enum flextoe_hook hook;
	const struct chain *c;
	struct chain *nc;
	int idx = find_locked(h, id, &hook);

	if (idx < 0)
		return idx;
	c = atomic_load(&h->chains[hook]);
	nc = chain_dup(c, 1);
	if (!nc)
		return -ENOMEM;
	if (handle)
		*handle = c->progs[idx].handle;
	memmove(&nc->progs[idx], &nc->progs[idx + 1],
		(nc->n - (unsigned int)idx - 1) * sizeof(nc->progs[0]));
	nc->n--;
	if (repl)
		insert_sorted(nc, repl);
	publish(h, hook, nc);
	return 0;
}

int ftoe_hooks_detach(struct ftoe_hooks *h, uint32_t id, void **handle)
{
	int err;

	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->wlock);
	err = remove_locked(h, id, NULL, handle);
	pthread_mutex_unlock(&h->wlock);
	return err;
}

int ftoe_hooks_replace(struct ftoe_hooks *h, uint32_t old_id, const struct ftoe_hook_prog *p,
		       void **old_handle)
{
	enum flextoe_hook where;
	int err;

	if (!h || !p || !p->id)
		return -EINVAL;
	pthread_mutex_lock(&h->wlock);
	if (p->id != old_id && find_locked(h, p->id, &where) >= 0)
		err = -EEXIST;
	else
		err = remove_locked(h, old_id, p, old_handle);
	pthread_mutex_unlock(&h->wlock);
	return err;
}

int ftoe_hooks_detach_all(struct ftoe_hooks *h, enum flextoe_hook hook,
			  struct ftoe_hook_prog *out, unsigned int max)
{
	unsigned int got = 0;

	if (!h || (hook != FLEXTOE_HOOK_NONE && !hook_valid(hook)))
		return -EINVAL;
	pthread_mutex_lock(&h->wlock);
	for (int k = FTOE_HOOK_FIRST; k < FTOE_HOOK_NR; k++) {
		struct chain *old;

		if (hook != FLEXTOE_HOOK_NONE && k != (int)hook)
			continue;
		old = atomic_exchange(&h->chains[k], NULL);
		if (!old)
			continue;
		ftoe_hooks_synchronize(h);
		for (unsigned int i = 0; i < old->n; i++, got++)
			if (got < max)
				out[got] = old->progs[i];
		free(old);
	}
	pthread_mutex_unlock(&h->wlock);
	return (int)got;
}

int ftoe_hooks_list(struct ftoe_hooks *h, enum flextoe_hook hook, struct ftoe_hook_prog *out,
		    unsigned int max)
{
	const struct chain *c;
	unsigned int n = 0;

	if (!h || !hook_valid(hook))
		return -EINVAL;
	pthread_mutex_lock(&h->wlock);
	c = atomic_load(&h->chains[hook]);
	for (; c && n < c->n && n < max; n++)
		out[n] = c->progs[n];
	pthread_mutex_unlock(&h->wlock);
	return (int)n;
}

enum flextoe_hook ftoe_hooks_find(struct ftoe_hooks *h, uint32_t id, struct ftoe_hook_prog *out)
{
	enum flextoe_hook hook = FLEXTOE_HOOK_NONE;
	int idx;

	pthread_mutex_lock(&h->wlock);
	idx = find_locked(h, id, &hook);
	if (idx >= 0 && out)
		*out = atomic_load(&h->chains[hook])->progs[idx];
	pthread_mutex_unlock(&h->wlock);
	return idx >= 0 ? hook : FLEXTOE_HOOK_NONE;
}

void ftoe_hooks_counters(struct ftoe_hooks *h, enum flextoe_hook hook,
			 uint64_t out[FTOE_HOOK_NR_COUNTERS])
{
	memset(out, 0, FTOE_HOOK_NR_COUNTERS * sizeof(out[0]));
	if (!h || !hook_valid(hook))
		return;
	pthread_mutex_lock(&h->wlock);
	for (int c = 0; c < FTOE_HOOK_NR_COUNTERS; c++) {
		out[c] = atomic_load_explicit(&h->base_cnt[hook][c], memory_order_relaxed);
		for (unsigned int i = 0; i < FTOE_HOOK_MAX_READERS; i++)
			if (atomic_load(&h->readers[i].used))
				out[c] += atomic_load_explicit(&h->readers[i].cnt[hook][c],
							       memory_order_relaxed);
	}
	pthread_mutex_unlock(&h->wlock);
}
