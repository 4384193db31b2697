/* spsc.h - bounded single-producer/single-consumer ring of fixed-size slots, lockless (C11 atomics), with a sleep/wake handshake. */
#ifndef FTOE_X86_SPSC_H
#define FTOE_X86_SPSC_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * The rings that join the pipeline's threads (core/x86/pipe.c).  One thread
 * produces, one consumes; slots are written and read in place, so a frame
 * summary or a frame's bytes are copied once, by whoever fills the slot.
 *
 * Indices are free-running 32-bit counters (slot = index & mask).  The
 * producer publishes a batch with one release store of prod; the consumer
 * frees a batch with one release store of cons (Lamport's ring, with each
 * side keeping a cached copy of the other's index so the shared cache line
 * is read only when the cached view says full/empty - as in the kernel's
 * AF_XDP rings).  FIFO per ring, which is what per-flow order relies on.
 *
 * Concurrency Kit's ck_ring was the alternative (CONVENTIONS.md); it is not
 * used because its typed SPSC API copies each entry in and out by value
 * (no in-place reserve/commit of a 4 KiB frame slot) and it has no
 * consumer-sleeping flag; liburcu has no bounded array ring at all.
 *
 * Sleeping (struct spsc_waiter): a consumer with nothing to do announces
 * sleeping = 1, re-checks its rings, and only then blocks on its eventfd.
 * A producer, after publishing, looks at sleeping and writes the eventfd
 * only when it is set.  Both sides separate their store from their load by
 * a seq_cst fence (the Dekker pattern), so either the consumer sees the new
 * entries in its re-check or the producer sees the flag: no lost wakeup,
 * and no syscall on the busy path.
 */

struct spsc_ring {
	/* producer's line */
	_Atomic uint32_t prod __attribute__((aligned(64)));
	uint32_t cons_cached;		/* producer's view of cons */
	/* consumer's line */
	_Atomic uint32_t cons __attribute__((aligned(64)));
	uint32_t prod_cached;		/* consumer's view of prod */
	/* read-only after init */
	uint32_t mask __attribute__((aligned(64)));
	uint32_t slot_size;
	uint8_t *slots;
};

/* nslots a power of two >= 2; slot_size a multiple of 8.  0 or -EINVAL,
 * -ENOMEM. */
static inline int spsc_init(struct spsc_ring *r, uint32_t nslots, uint32_t slot_size)
{
	memset(r, 0, sizeof(*r));
	if (nslots < 2 || (nslots & (nslots - 1)) || !slot_size || slot_size % 8)
		return -EINVAL;
	r->slots = aligned_alloc(64, ((size_t)nslots * slot_size + 63) & ~(size_t)63);
	if (!r->slots)
		return -ENOMEM;
	r->mask = nslots - 1;
	r->slot_size = slot_size;
	return 0;
}

static inline void spsc_fini(struct spsc_ring *r)
{
	free(r->slots);
	r->slots = NULL;
}

static inline uint32_t spsc_capacity(const struct spsc_ring *r)
{
	return r->mask + 1;
}

static inline void *spsc_slot(const struct spsc_ring *r, uint32_t idx)
{
	return r->slots + (size_t)(idx & r->mask) * r->slot_size;
}

/* Producer: up to want free slots starting at *idx (indices idx..idx+n-1,
 * possibly wrapping); fill them, then spsc_prod_submit(n). */
static inline uint32_t spsc_prod_reserve(struct spsc_ring *r, uint32_t want, uint32_t *idx)
{
	uint32_t prod = atomic_load_explicit(&r->prod, memory_order_relaxed);
	uint32_t free_n = r->mask + 1 - (prod - r->cons_cached);

	if (free_n < want) {
		/* acquire: the consumer is done reading the slots it freed */
		r->cons_cached = atomic_load_explicit(&r->cons, memory_order_acquire);
		free_n = r->mask + 1 - (prod - r->cons_cached);
	}
	*idx = prod;
	return free_n < want ? free_n : want;
}

static inline void spsc_prod_submit(struct spsc_ring *r, uint32_t n)
{
	uint32_t prod = atomic_load_explicit(&r->prod, memory_order_relaxed);

	atomic_store_explicit(&r->prod, prod + n, memory_order_release);
}

/* Consumer: up to max filled slots starting at *idx; read them, then
 * spsc_cons_release(n). */
static inline uint32_t spsc_cons_peek(struct spsc_ring *r, uint32_t max, uint32_t *idx)
{
	uint32_t cons = atomic_load_explicit(&r->cons, memory_order_relaxed);
	uint32_t avail = r->prod_cached - cons;

	if (avail < max) {
		r->prod_cached = atomic_load_explicit(&r->prod, memory_order_acquire);
		avail = r->prod_cached - cons;
	}
	*idx = cons;
	return avail < max ? avail : max;
}

static inline void spsc_cons_release(struct spsc_ring *r, uint32_t n)
{
	uint32_t cons = atomic_load_explicit(&r->cons, memory_order_relaxed);

	atomic_store_explicit(&r->cons, cons + n, memory_order_release);
}

/* Filled slots right now (either side; a hint for the other). */
static inline uint32_t spsc_count(struct spsc_ring *r)
{
	return atomic_load_explicit(&r->prod, memory_order_acquire) -
	       atomic_load_explicit(&r->cons, memory_order_acquire);
}

/* ---- sleeping and waking ------------------------------------------------ */

struct spsc_waiter {
	_Atomic int sleeping __attribute__((aligned(64)));
	int efd;			/* eventfd the consumer blocks on */
	_Atomic uint64_t wakeups;	/* eventfd writes (statistics) */
};

/* Consumer, before its last look at its rings. */
static inline void spsc_waiter_prepare(struct spsc_waiter *w)
{
	atomic_store_explicit(&w->sleeping, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
}

/* Consumer, after the block (or when the last look found work). */
static inline void spsc_waiter_done(struct spsc_waiter *w)
{
	atomic_store_explicit(&w->sleeping, 0, memory_order_relaxed);
}

/* Producer, after spsc_prod_submit: wake the consumer if it sleeps.
 * Returns true when it wrote the eventfd. */
static inline bool spsc_waiter_kick(struct spsc_waiter *w)
{
	uint64_t one = 1;

	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&w->sleeping, memory_order_relaxed))
		return false;
	/* Clear it so a burst of producers writes once per sleep. */
	if (!atomic_exchange_explicit(&w->sleeping, 0, memory_order_relaxed))
		return false;
	atomic_fetch_add_explicit(&w->wakeups, 1, memory_order_relaxed);
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is saturated, the consumer will wake */
	}
	return true;
}

#endif
