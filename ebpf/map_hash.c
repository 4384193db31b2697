/* map_hash.c - BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

/*
 * Layout and concurrency, after the kernel's preallocated hashtab.c:
 *
 *  - All elements are allocated when the map is created and recycled
 *    through free lists, never freed, so a value pointer a program got
 *    from lookup stays valid memory for the map's life (a concurrently
 *    deleted element may be reused for another key, as in the kernel).
 *  - Writers take a per-bucket spinlock.  Lookups take no lock: bucket
 *    chains end in a "nulls" marker that encodes the bucket index
 *    (hlist_nulls), and a reader that lands on a marker of another bucket
 *    (its element was recycled into another chain under it) starts over.
 *    No RCU library is needed because memory is never returned; liburcu
 *    would only add reader registration to every data-path thread.
 *  - An element on a free list keeps its chain link intact (the free-list
 *    link is a separate field), so a reader standing on it can walk on.
 *  - Updates of an existing key link a fresh element before unlinking the
 *    old one, so lookups see the old or the new value, never a torn one.
 *  - LRU maps evict with a CLOCK sweep over the elements: lookups set a
 *    reference bit, the sweep clears it and takes the first element found
 *    without it (the kernel's bpf_lru also ages by a reference bit).
 */

#define ROUND_UP(x, a)		(((x) + (a) - 1) / (a) * (a))
#define PCPU_MIN_UNIT_SIZE	(32u << 10)
/* kernel: key_size + value_size must stay below KMALLOC_MAX_SIZE (4 MiB
 * on x86-64) minus the element header. */
#define HTAB_KV_MAX		((4u << 20) - 64)
#define HTAB_CREATE_FLAGS	(BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | \
				 BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | \
				 BPF_F_WRONLY_PROG | BPF_F_ZERO_SEED)
#define NULLS(idx)		(((uintptr_t)(idx) << 1) | 1)
#define IS_NULLS(p)		((p) & 1)

struct htab_elem {
	_Atomic uintptr_t next;		/* chain link or nulls marker */
	_Atomic uint32_t hash;
	uint32_t index;			/* position in the element array */
	_Atomic uint8_t ref;		/* LRU: used since the sweep passed */
	_Atomic uint8_t linked;		/* in a bucket chain */
	struct htab_elem *free_next;	/* free-list link */
	char key[] __attribute__((aligned(8)));
};

struct bucket {
	pthread_spinlock_t lock;
	_Atomic uintptr_t head;
};

struct freelist {
	pthread_spinlock_t lock;
	_Atomic(struct htab_elem *) head;
} __attribute__((aligned(64)));

struct htab {
	struct bucket *buckets;
	uint32_t n_buckets, mask;
	char *elems;
	size_t elem_size;
	uint32_t n_elems;
	uint32_t key_size, key_stride, value_size, value_stride;
	bool percpu, lru;
	char *pcpu;			/* per-CPU values: one region per slot */
	size_t cpu_stride;
	unsigned int nr_cpus;
	struct freelist *fl;
	unsigned int nr_fl;
	uint64_t seed;
	atomic_uint clock;		/* LRU sweep hand */
};

static struct htab *htab_of(const struct ebpf_map *map)
{
	return map->priv;
}

static inline struct htab_elem *elem_at(struct htab *h, uint32_t i)
{
	return (struct htab_elem *)(h->elems + h->elem_size * i);
}

static inline char *elem_value(struct htab *h, struct htab_elem *e)
{
	return e->key + h->key_stride;
}

static inline char *elem_pcpu(struct htab *h, struct htab_elem *e, unsigned int cpu)
{
	return h->pcpu + h->cpu_stride * cpu + (size_t)h->value_stride * e->index;
}

/* Seeded multiply-xorshift hash over 8-byte words (tail read in 4/2/1
 * byte pieces), folded to 32 bits; the common 4- and 8-byte keys cost two
 * multiplications. */
static inline uint64_t load_tail(const unsigned char *p, uint32_t len)
{
	uint64_t v = 0;
	uint32_t x32;
	uint16_t x16;
	unsigned int shift = 0;

	if (len & 4) {
		memcpy(&x32, p, 4);
		v = x32;
		p += 4;
		shift = 32;
	}
	if (len & 2) {
		memcpy(&x16, p, 2);
		v |= (uint64_t)x16 << shift;
		p += 2;
		shift += 16;
	}
	if (len & 1)
		v |= (uint64_t)*p << shift;
	return v;
}

/* len is a constant in the specialised lookups below, so the loop and
 * the tail unfold into straight code. */
static inline __attribute__((always_inline)) uint32_t hash_bytes(uint64_t seed, const void *key,
								 uint32_t len)
{
	const unsigned char *p = key;
	uint64_t acc = seed ^ len, v;

	while (len >= 8) {
		memcpy(&v, p, 8);
		acc = (acc ^ v) * 0x9e3779b97f4a7c15ull;
		acc ^= acc >> 32;
		p += 8;
		len -= 8;
	}
	if (len)
		acc = ((acc ^ load_tail(p, len)) * 0x9e3779b97f4a7c15ull);
	acc ^= acc >> 29;
	acc *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(acc ^ (acc >> 32));
}

static inline uint32_t htab_hash(const struct htab *h, const void *key)
{
	return hash_bytes(h->seed, key, h->key_size);
}

static inline __attribute__((always_inline)) bool key_eq(const void *a, const void *b, uint32_t n)
{
	uint64_t x[2], y[2];
	uint32_t x4, y4;

	switch (n) {
	case 4:
		memcpy(&x4, a, 4);
		memcpy(&y4, b, 4);
		return x4 == y4;
	case 8:
		memcpy(x, a, 8);
		memcpy(y, b, 8);
		return x[0] == y[0];
	case 16:
		memcpy(x, a, 16);
		memcpy(y, b, 16);
		return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
	default:
		return !memcmp(a, b, n);
	}
}

/* ---- free lists (one per CPU slot, as the kernel's pcpu_freelist) ---- */

static void fl_push(struct htab *h, struct htab_elem *e)
{
	struct freelist *fl = &h->fl[ebpf_cpu() % h->nr_fl];

	pthread_spin_lock(&fl->lock);
	e->free_next = atomic_load_explicit(&fl->head, memory_order_relaxed);
	atomic_store_explicit(&fl->head, e, memory_order_relaxed);
	pthread_spin_unlock(&fl->lock);
}

static struct htab_elem *fl_pop(struct htab *h)
{
	unsigned int start = ebpf_cpu() % h->nr_fl;

	for (unsigned int i = 0; i < h->nr_fl; i++) {
		struct freelist *fl = &h->fl[(start + i) % h->nr_fl];
		struct htab_elem *e;

		if (!atomic_load_explicit(&fl->head, memory_order_relaxed))
			continue;
		pthread_spin_lock(&fl->lock);
		e = atomic_load_explicit(&fl->head, memory_order_relaxed);
		if (e)
			atomic_store_explicit(&fl->head, e->free_next, memory_order_relaxed);
		pthread_spin_unlock(&fl->lock);
		if (e)
			return e;
	}
	return NULL;
}

/* ---- chains --------------------------------------------------------------- */

/* Lock-free lookup (see the comment at the top); ksz is h->key_size,
 * passed so that specialised callers compare with constant sizes. */
static inline __attribute__((always_inline)) struct htab_elem *
htab_find_n(struct htab *h, const void *key, uint32_t hash, uint32_t ksz)
{
	uint32_t idx = hash & h->mask;
	struct bucket *b = &h->buckets[idx];
	uintptr_t p;

again:
	p = atomic_load_explicit(&b->head, memory_order_acquire);
	while (!IS_NULLS(p)) {
		struct htab_elem *e = (struct htab_elem *)p;

		if (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash &&
		    key_eq(e->key, key, ksz))
			return e;
		p = atomic_load_explicit(&e->next, memory_order_acquire);
	}
	if (p != NULLS(idx))
		goto again;
	return NULL;
}

static struct htab_elem *htab_find(struct htab *h, const void *key, uint32_t hash)
{
	return htab_find_n(h, key, hash, h->key_size);
}

/* Under the bucket lock: the element and the link that points at it. */
static struct htab_elem *find_locked(struct htab *h, struct bucket *b, const void *key,
				     uint32_t hash, _Atomic uintptr_t **slot)
{
	_Atomic uintptr_t *s = &b->head;
	uintptr_t p;

	while (!IS_NULLS(p = atomic_load_explicit(s, memory_order_relaxed))) {
		struct htab_elem *e = (struct htab_elem *)p;

		if (atomic_load_explicit(&e->hash, memory_order_relaxed) == hash &&
		    key_eq(e->key, key, h->key_size)) {
			*slot = s;
			return e;
		}
		s = &e->next;
	}
	return NULL;
}

static void link_head(struct bucket *b, struct htab_elem *e)
{
	atomic_store_explicit(&e->next, atomic_load_explicit(&b->head, memory_order_relaxed),
			      memory_order_relaxed);
	atomic_store_explicit(&e->linked, 1, memory_order_relaxed);
	/* Release: a reader that sees e sees its key, hash and value. */
	atomic_store_explicit(&b->head, (uintptr_t)e, memory_order_release);
}

/* e->next stays as it is, so a reader standing on e walks on. */
static void unlink_at(_Atomic uintptr_t *slot, struct htab_elem *e)
{
	atomic_store_explicit(slot, atomic_load_explicit(&e->next, memory_order_relaxed),
			      memory_order_release);
	atomic_store_explicit(&e->linked, 0, memory_order_relaxed);
}

static void fill_elem(struct htab *h, struct htab_elem *e, const void *key, uint32_t hash)
{
	memcpy(e->key, key, h->key_size);
	atomic_store_explicit(&e->hash, hash, memory_order_relaxed);
	atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
}

/* Per-CPU value of a new element: from a program, this slot gets the value
 * and the others zeros; from user space every slot gets its own value
 * (kernel pcpu_init_value / pcpu_copy_value). */
static void pcpu_store(struct htab *h, struct htab_elem *e, const void *value,
		       bool onallcpus, bool zero_others)
{
	if (onallcpus) {
		for (unsigned int cpu = 0; cpu < h->nr_cpus; cpu++)
			memcpy(elem_pcpu(h, e, cpu), (const char *)value + (size_t)cpu * h->value_stride,
			       h->value_stride);
		return;
	}
	unsigned int me = ebpf_cpu();

	if (zero_others)
		for (unsigned int cpu = 0; cpu < h->nr_cpus; cpu++)
			if (cpu != me)
				memset(elem_pcpu(h, e, cpu), 0, h->value_stride);
	memcpy(elem_pcpu(h, e, me), value, h->value_size);
}

/* ---- LRU ------------------------------------------------------------------ */

static struct htab_elem *lru_evict(struct htab *h)
{
	for (uint64_t n = 0; n < 2ull * h->n_elems + 2; n++) {
		uint32_t i = atomic_fetch_add_explicit(&h->clock, 1, memory_order_relaxed) % h->n_elems;
		struct htab_elem *e = elem_at(h, i);
		uint32_t idx;
		struct bucket *b;

		if (!atomic_load_explicit(&e->linked, memory_order_relaxed))
			continue;
		if (atomic_load_explicit(&e->ref, memory_order_relaxed)) {
			atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
			continue;
		}
		idx = atomic_load_explicit(&e->hash, memory_order_relaxed) & h->mask;
		b = &h->buckets[idx];
		pthread_spin_lock(&b->lock);
		/* Recheck under the lock: e may have moved meanwhile. */
		if (atomic_load_explicit(&e->linked, memory_order_relaxed) &&
		    (atomic_load_explicit(&e->hash, memory_order_relaxed) & h->mask) == idx) {
			_Atomic uintptr_t *s = &b->head;
			uintptr_t p;

			while (!IS_NULLS(p = atomic_load_explicit(s, memory_order_relaxed))) {
				if ((struct htab_elem *)p == e) {
					unlink_at(s, e);
					pthread_spin_unlock(&b->lock);
					return e;
				}
				s = &((struct htab_elem *)p)->next;
			}
		}
		pthread_spin_unlock(&b->lock);
	}
	return NULL;
}

static struct htab_elem *lru_pop(struct htab *h)
{
	struct htab_elem *e = fl_pop(h);

	return e ? e : lru_evict(h);
}

/* ---- program side and shared update paths ----------------------------------- */

static int check_flags(uint64_t flags)
{
	if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	/* No map value here holds a bpf_spin_lock (BTF): kernel -EINVAL. */
	if (flags & BPF_F_LOCK)
		return -EINVAL;
	return 0;
}

static int check_old(struct htab_elem *old, uint64_t flags)
{
	if (old && flags == BPF_NOEXIST)
		return -EEXIST;
	if (!old && flags == BPF_EXIST)
		return -ENOENT;
	return 0;
}

enum lookup_kind { LK_PLAIN, LK_PERCPU, LK_LRU };

/* Program-side lookup: the value of this thread's slot for per-CPU maps;
 * an LRU hit marks the element used. */
static inline __attribute__((always_inline)) void *
lookup_body(struct htab *h, const void *key, uint32_t ksz, enum lookup_kind kind)
{
	struct htab_elem *e = htab_find_n(h, key, hash_bytes(h->seed, key, ksz), ksz);

	if (!e)
		return NULL;
	switch (kind) {
	case LK_PLAIN:
		return elem_value(h, e);
	case LK_PERCPU:
		return elem_pcpu(h, e, ebpf_cpu());
	default:
		/* Only write when needed: keeps the line shared among readers. */
		if (!atomic_load_explicit(&e->ref, memory_order_relaxed))
			atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
		return h->percpu ? elem_pcpu(h, e, ebpf_cpu()) : elem_value(h, e);
	}
}

static void *htab_lookup(struct ebpf_map *map, const void *key)
{
	struct htab *h = htab_of(map);

	return lookup_body(h, key, h->key_size, LK_PLAIN);
}

static void *lru_lookup(struct ebpf_map *map, const void *key)
{
	struct htab *h = htab_of(map);

	return lookup_body(h, key, h->key_size, LK_LRU);
}

static void *percpu_lookup(struct ebpf_map *map, const void *key)
{
	struct htab *h = htab_of(map);

	return lookup_body(h, key, h->key_size, LK_PERCPU);
}

/* Lookups the JIT calls directly with the table as argument (the kernel
 * calls __htab_map_lookup_elem from the program the same way), one per
 * kind and common key size so hashing and comparing are straight code:
 * 4 (IPv4, ports, ids), 6 (MAC), 8, 16 (IPv6, 5-tuples). */
#define LOOKUP_FNS(N)									\
static void *plain_k##N(void *h, const void *key) { return lookup_body(h, key, N, LK_PLAIN); } \
static void *percpu_k##N(void *h, const void *key) { return lookup_body(h, key, N, LK_PERCPU); } \
static void *lru_k##N(void *h, const void *key) { return lookup_body(h, key, N, LK_LRU); }
LOOKUP_FNS(4)
LOOKUP_FNS(6)
LOOKUP_FNS(8)
LOOKUP_FNS(16)
#undef LOOKUP_FNS

static void *plain_any(void *arg, const void *key)
{
	struct htab *h = arg;

	return lookup_body(h, key, h->key_size, LK_PLAIN);
}

static void *percpu_any(void *arg, const void *key)
{
	struct htab *h = arg;

	return lookup_body(h, key, h->key_size, LK_PERCPU);
}

static void *lru_any(void *arg, const void *key)
{
	struct htab *h = arg;

	return lookup_body(h, key, h->key_size, LK_LRU);
}

typedef void *(*lookup_fn)(void *arg, const void *key);

static int htab_gen_lookup(struct ebpf_map *map, struct ebpf_map_gen_lookup *gen)
{
	static const struct {
		uint32_t key_size;
		lookup_fn fn[3];	/* by enum lookup_kind */
	} fns[] = {
		{ 4, { plain_k4, percpu_k4, lru_k4 } },
		{ 6, { plain_k6, percpu_k6, lru_k6 } },
		{ 8, { plain_k8, percpu_k8, lru_k8 } },
		{ 16, { plain_k16, percpu_k16, lru_k16 } },
		{ 0, { plain_any, percpu_any, lru_any } },
	};
	struct htab *h = htab_of(map);
	enum lookup_kind kind = h->lru ? LK_LRU : h->percpu ? LK_PERCPU : LK_PLAIN;
	size_t i = 0;

	while (fns[i].key_size && fns[i].key_size != h->key_size)
		i++;
	memset(gen, 0, sizeof(*gen));
	gen->kind = EBPF_GEN_CALL;
	gen->call = fns[i].fn[kind];
	gen->arg = h;
	return 0;
}

/* HASH (kernel htab_map_update_elem). */
static long htab_update(struct ebpf_map *map, const void *key, const void *value,
			uint64_t flags)
{
	struct htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key);
	struct bucket *b = &h->buckets[hash & h->mask];
	struct htab_elem *old, *e = NULL;
	_Atomic uintptr_t *slot = NULL;
	int err = check_flags(flags);

	if (err)
		return err;
	pthread_spin_lock(&b->lock);
	old = find_locked(h, b, key, hash, &slot);
	err = check_old(old, flags);
	if (err)
		goto out;
	e = fl_pop(h);
	if (!e) {
		if (!old) {
			err = -E2BIG;	/* kernel: no free preallocated element */
			goto out;
		}
		/* Full and replacing: no spare element to swap in, so the
		 * value is rewritten in place (readers may see it torn). */
		memcpy(elem_value(h, old), value, h->value_size);
		goto out;
	}
	fill_elem(h, e, key, hash);
	memcpy(elem_value(h, e), value, h->value_size);
	link_head(b, e);
	if (old) {
		if (slot == &b->head)
			slot = &e->next;	/* old now follows e */
		unlink_at(slot, old);
	}
out:
	pthread_spin_unlock(&b->lock);
	if (!err && old && e)
		fl_push(h, old);
	return err;
}

/* PERCPU_HASH (kernel __htab_percpu_map_update_elem): values of an existing
 * key are rewritten in place. */
static int percpu_update(struct ebpf_map *map, const void *key, const void *value,
			 uint64_t flags, bool onallcpus)
{
	struct htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key);
	struct bucket *b = &h->buckets[hash & h->mask];
	struct htab_elem *old, *e;
	_Atomic uintptr_t *slot;
	int err = check_flags(flags);

	if (err)
		return err;
	pthread_spin_lock(&b->lock);
	old = find_locked(h, b, key, hash, &slot);
	err = check_old(old, flags);
	if (err)
		goto out;
	if (old) {
		pcpu_store(h, old, value, onallcpus, false);
		goto out;
	}
	e = fl_pop(h);
	if (!e) {
		err = -E2BIG;
		goto out;
	}
	fill_elem(h, e, key, hash);
	pcpu_store(h, e, value, onallcpus, true);
	link_head(b, e);
out:
	pthread_spin_unlock(&b->lock);
	return err;
}

/* LRU_HASH (kernel htab_lru_map_update_elem): an element is taken first,
 * evicting one if none is free, even when the key exists. */
static long lru_update(struct ebpf_map *map, const void *key, const void *value,
		       uint64_t flags)
{
	struct htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key);
	struct bucket *b = &h->buckets[hash & h->mask];
	struct htab_elem *old, *e;
	_Atomic uintptr_t *slot = NULL;
	int err = check_flags(flags);

	if (err)
		return err;
	e = lru_pop(h);
	if (!e)
		return -ENOMEM;
	fill_elem(h, e, key, hash);
	memcpy(elem_value(h, e), value, h->value_size);

	pthread_spin_lock(&b->lock);
	old = find_locked(h, b, key, hash, &slot);
	err = check_old(old, flags);
	if (err) {
		pthread_spin_unlock(&b->lock);
		fl_push(h, e);
		return err;
	}
	link_head(b, e);
	if (old) {
		if (slot == &b->head)
			slot = &e->next;
		unlink_at(slot, old);
	}
	pthread_spin_unlock(&b->lock);
	if (old)
		fl_push(h, old);
	return 0;
}

/* LRU_PERCPU_HASH (kernel __htab_lru_percpu_map_update_elem). */
static int lru_percpu_update(struct ebpf_map *map, const void *key, const void *value,
			     uint64_t flags, bool onallcpus)
{
	struct htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key);
	struct bucket *b = &h->buckets[hash & h->mask];
	struct htab_elem *old, *e = NULL;
	_Atomic uintptr_t *slot;
	int err = check_flags(flags);

	if (err)
		return err;
	if (flags != BPF_EXIST) {
		e = lru_pop(h);
		if (!e)
			return -ENOMEM;
	}
	pthread_spin_lock(&b->lock);
	old = find_locked(h, b, key, hash, &slot);
	err = check_old(old, flags);
	if (err)
		goto out;
	if (old) {
		atomic_store_explicit(&old->ref, 1, memory_order_relaxed);
		pcpu_store(h, old, value, onallcpus, false);
	} else {
		fill_elem(h, e, key, hash);
		pcpu_store(h, e, value, onallcpus, true);
		link_head(b, e);
		e = NULL;
	}
out:
	pthread_spin_unlock(&b->lock);
	if (e)
		fl_push(h, e);
	return err;
}

static long percpu_update_prog(struct ebpf_map *map, const void *key, const void *value,
			       uint64_t flags)
{
	return percpu_update(map, key, value, flags, false);
}

static long lru_percpu_update_prog(struct ebpf_map *map, const void *key,
				   const void *value, uint64_t flags)
{
	return lru_percpu_update(map, key, value, flags, false);
}

static long htab_remove(struct ebpf_map *map, const void *key)
{
	struct htab *h = htab_of(map);
	uint32_t hash = htab_hash(h, key);
	struct bucket *b = &h->buckets[hash & h->mask];
	_Atomic uintptr_t *slot;
	struct htab_elem *e;

	pthread_spin_lock(&b->lock);
	e = find_locked(h, b, key, hash, &slot);
	if (e)
		unlink_at(slot, e);
	pthread_spin_unlock(&b->lock);
	if (!e)
		return -ENOENT;
	fl_push(h, e);
	return 0;
}

/* ---- user side ------------------------------------------------------------ */

/* Lookups from user space do not count as use for the LRU (the kernel's
 * htab_lru_map_lookup_elem_sys). */
static int htab_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	struct htab *h = htab_of(map);
	struct htab_elem *e = htab_find(h, key, htab_hash(h, key));

	if (!e)
		return -ENOENT;
	if (!h->percpu) {
		memcpy(value, elem_value(h, e), h->value_size);
		return 0;
	}
	for (unsigned int cpu = 0; cpu < h->nr_cpus; cpu++)
		memcpy((char *)value + (size_t)cpu * h->value_stride, elem_pcpu(h, e, cpu),
		       h->value_stride);
	return 0;
}

static int htab_sys_update(struct ebpf_map *map, const void *key, const void *value,
			   uint64_t flags)
{
	switch (map->type) {
	case BPF_MAP_TYPE_PERCPU_HASH:
		return percpu_update(map, key, value, flags, true);
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return lru_percpu_update(map, key, value, flags, true);
	case BPF_MAP_TYPE_LRU_HASH:
		return (int)lru_update(map, key, value, flags);
	default:
		return (int)htab_update(map, key, value, flags);
	}
}

/* kernel htab_map_get_next_key(): the next element in the key's chain, else
 * the first of a later bucket; a key not in the map restarts from the
 * first element; -ENOENT after the last. */
static int htab_get_next_key(struct ebpf_map *map, const void *key, void *next_key)
{
	struct htab *h = htab_of(map);
	uint32_t idx = 0;

	if (key) {
		uint32_t hash = htab_hash(h, key);
		struct bucket *b = &h->buckets[hash & h->mask];
		_Atomic uintptr_t *slot;
		struct htab_elem *e;

		pthread_spin_lock(&b->lock);
		e = find_locked(h, b, key, hash, &slot);
		if (e) {
			uintptr_t n = atomic_load_explicit(&e->next, memory_order_relaxed);

			if (!IS_NULLS(n)) {
				memcpy(next_key, ((struct htab_elem *)n)->key, h->key_size);
				pthread_spin_unlock(&b->lock);
				return 0;
			}
			idx = (hash & h->mask) + 1;
		}
		pthread_spin_unlock(&b->lock);
	}
	for (; idx < h->n_buckets; idx++) {
		struct bucket *b = &h->buckets[idx];
		uintptr_t p;

		if (IS_NULLS(atomic_load_explicit(&b->head, memory_order_relaxed)))
			continue;
		pthread_spin_lock(&b->lock);
		p = atomic_load_explicit(&b->head, memory_order_relaxed);
		if (!IS_NULLS(p))
			memcpy(next_key, ((struct htab_elem *)p)->key, h->key_size);
		pthread_spin_unlock(&b->lock);
		if (!IS_NULLS(p))
			return 0;
	}
	return -ENOENT;
}

/* ---- creation ----------------------------------------------------------------- */

static int htab_check(struct ebpf_map *map, bool lru, bool percpu)
{
	const char *n = map->name;
	uint32_t f = map->map_flags;

	/* kernel htab_map_alloc_check() */
	if (f & ~HTAB_CREATE_FLAGS) {
		pr_warn("map '%s': map_flags 0x%x not valid for a hash map", n, f & ~HTAB_CREATE_FLAGS);
		return -EINVAL;
	}
	if ((f & BPF_F_RDONLY_PROG) && (f & BPF_F_WRONLY_PROG)) {
		pr_warn("map '%s': BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other", n);
		return -EINVAL;
	}
	if (!lru && (f & BPF_F_NO_COMMON_LRU)) {
		pr_warn("map '%s': BPF_F_NO_COMMON_LRU only applies to LRU maps", n);
		return -EINVAL;
	}
	if (lru && (f & BPF_F_NO_PREALLOC)) {
		pr_warn("map '%s': LRU maps are always preallocated; drop BPF_F_NO_PREALLOC", n);
		return -EOPNOTSUPP;	/* kernel: -ENOTSUPP */
	}
	if ((f & BPF_F_NUMA_NODE) && (percpu || (f & BPF_F_NO_COMMON_LRU))) {
		pr_warn("map '%s': BPF_F_NUMA_NODE is not valid for per-CPU maps", n);
		return -EINVAL;
	}
	if (!map->max_entries) {
		pr_warn("map '%s': max_entries must not be 0", n);
		return -EINVAL;
	}
	if (!map->key_size) {
		pr_warn("map '%s': key_size must not be 0", n);
		return -EINVAL;
	}
	if (!map->value_size) {
		pr_warn("map '%s': value_size must not be 0", n);
		return -EINVAL;
	}
	if ((uint64_t)map->key_size + map->value_size >= HTAB_KV_MAX) {
		pr_warn("map '%s': key_size + value_size (%u + %u) too large", n,
			map->key_size, map->value_size);
		return -E2BIG;
	}
	if (percpu && ROUND_UP(map->value_size, 8) > PCPU_MIN_UNIT_SIZE) {
		pr_warn("map '%s': per-CPU value_size %u exceeds %u bytes", n,
			map->value_size, PCPU_MIN_UNIT_SIZE);
		return -E2BIG;
	}
	return 0;
}

static int htab_alloc(struct ebpf_map *map)
{
	bool lru = map->type == BPF_MAP_TYPE_LRU_HASH || map->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	bool percpu = map->type == BPF_MAP_TYPE_PERCPU_HASH ||
		      map->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	unsigned int nr_cpus = ebpf_nr_cpus();
	uint64_t total, limit;
	struct htab *h;
	int err = htab_check(map, lru, percpu);

	if (err)
		return err;
	/* Per-CPU LRU lists: the kernel rounds max_entries to whole CPUs. */
	if (lru && (map->map_flags & BPF_F_NO_COMMON_LRU)) {
		uint64_t r = ROUND_UP((uint64_t)map->max_entries, nr_cpus);

		map->max_entries = r > UINT32_MAX ? map->max_entries / nr_cpus * nr_cpus
						  : (uint32_t)r;
	}
	if (map->max_entries > (1u << 31)) {
		pr_warn("map '%s': max_entries %u too large", map->name, map->max_entries);
		return -E2BIG;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lru = lru;
	h->percpu = percpu;
	h->nr_cpus = nr_cpus;
	h->key_size = map->key_size;
	h->key_stride = ROUND_UP(map->key_size, 8);
	h->value_size = map->value_size;
	h->value_stride = ROUND_UP(map->value_size, 8);
	h->n_buckets = 1;
	while (h->n_buckets < map->max_entries)
		h->n_buckets <<= 1;
	h->mask = h->n_buckets - 1;
	h->n_elems = map->max_entries;
	h->elem_size = sizeof(struct htab_elem) + h->key_stride + (percpu ? 0 : h->value_stride);
	h->cpu_stride = ROUND_UP((size_t)h->value_stride * h->n_elems, 64);

	/* Everything is preallocated: refuse what cannot fit in memory now
	 * rather than die touching it later. */
	total = (uint64_t)h->elem_size * h->n_elems + (uint64_t)sizeof(struct bucket) * h->n_buckets +
		(percpu ? (uint64_t)h->cpu_stride * nr_cpus : 0);
	limit = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE) / 2;
	if (total > limit) {
		pr_warn("map '%s': %u entries need %llu MiB, more than half of memory", map->name,
			map->max_entries, (unsigned long long)(total >> 20));
		free(h);
		return -ENOMEM;
	}
	h->buckets = calloc(h->n_buckets, sizeof(*h->buckets));
	h->elems = calloc(h->n_elems, h->elem_size);
	h->nr_fl = nr_cpus;
	h->fl = aligned_alloc(64, sizeof(*h->fl) * h->nr_fl);
	if (percpu && h->buckets && h->elems)
		h->pcpu = aligned_alloc(64, h->cpu_stride * nr_cpus);
	if (!h->buckets || !h->elems || !h->fl || (percpu && !h->pcpu)) {
		pr_warn("map '%s': cannot allocate %u entries", map->name, map->max_entries);
		free(h->buckets);
		free(h->elems);
		free(h->fl);
		free(h->pcpu);
		free(h);
		return -ENOMEM;
	}
	if (h->pcpu)
		memset(h->pcpu, 0, h->cpu_stride * nr_cpus);
	for (uint32_t i = 0; i < h->n_buckets; i++) {
		pthread_spin_init(&h->buckets[i].lock, PTHREAD_PROCESS_PRIVATE);
		atomic_init(&h->buckets[i].head, NULLS(i));
	}
	for (unsigned int i = 0; i < h->nr_fl; i++) {
		pthread_spin_init(&h->fl[i].lock, PTHREAD_PROCESS_PRIVATE);
		atomic_init(&h->fl[i].head, NULL);
	}
	/* Spread the elements over the free lists, lowest index on top. */
	for (uint32_t i = h->n_elems; i-- > 0;) {
		struct htab_elem *e = elem_at(h, i);
		struct freelist *fl = &h->fl[i % h->nr_fl];

		e->index = i;
		atomic_init(&e->next, NULLS(0));
		e->free_next = atomic_load_explicit(&fl->head, memory_order_relaxed);
		atomic_store_explicit(&fl->head, e, memory_order_relaxed);
	}
	/* A random seed keeps chains short against chosen keys; BPF_F_ZERO_SEED
	 * asks for a fixed one (testing), as in the kernel. */
	if (!(map->map_flags & BPF_F_ZERO_SEED) &&
	    getrandom(&h->seed, sizeof(h->seed), GRND_NONBLOCK) != sizeof(h->seed))
		h->seed = (uint64_t)(uintptr_t)h ^ 0x6a09e667f3bcc908ull;
	map->priv = h;
	return 0;
}

static void htab_free(struct ebpf_map *map)
{
	struct htab *h = htab_of(map);

	for (uint32_t i = 0; i < h->n_buckets; i++)
		pthread_spin_destroy(&h->buckets[i].lock);
	for (unsigned int i = 0; i < h->nr_fl; i++)
		pthread_spin_destroy(&h->fl[i].lock);
	free(h->buckets);
	free(h->elems);
	free(h->fl);
	free(h->pcpu);
	free(h);
}

const struct ebpf_map_ops ebpf_htab_map_ops = {
	.alloc = htab_alloc,
	.free = htab_free,
	.lookup = htab_lookup,
	.update = htab_update,
	.remove = htab_remove,
	.sys_lookup = htab_sys_lookup,
	.sys_update = htab_sys_update,
	.get_next_key = htab_get_next_key,
	.gen_lookup = htab_gen_lookup,
};

const struct ebpf_map_ops ebpf_percpu_htab_map_ops = {
	.alloc = htab_alloc,
	.free = htab_free,
	.lookup = percpu_lookup,
	.update = percpu_update_prog,
	.remove = htab_remove,
	.sys_lookup = htab_sys_lookup,
	.sys_update = htab_sys_update,
	.get_next_key = htab_get_next_key,
	.gen_lookup = htab_gen_lookup,
};

const struct ebpf_map_ops ebpf_lru_htab_map_ops = {
	.alloc = htab_alloc,
	.free = htab_free,
	.lookup = lru_lookup,
	.update = lru_update,
	.remove = htab_remove,
	.sys_lookup = htab_sys_lookup,
	.sys_update = htab_sys_update,
	.get_next_key = htab_get_next_key,
	.gen_lookup = htab_gen_lookup,
};

const struct ebpf_map_ops ebpf_lru_percpu_htab_map_ops = {
	.alloc = htab_alloc,
	.free = htab_free,
	.lookup = lru_lookup,
	.update = lru_percpu_update_prog,
	.remove = htab_remove,
	.sys_lookup = htab_sys_lookup,
	.sys_update = htab_sys_update,
	.get_next_key = htab_get_next_key,
	.gen_lookup = htab_gen_lookup,
};
