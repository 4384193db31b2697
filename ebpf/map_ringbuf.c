/* map_ringbuf.c - BPF_MAP_TYPE_RINGBUF: multi-producer ring buffer, consumer side and wakeup eventfd. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

/*
 * The kernel's ring buffer (kernel/bpf/ringbuf.c), in user memory:
 *
 *  - Records are an 8-byte header { u32 len; u32 pg_off; } and the data,
 *    padded to 8 bytes.  len carries BPF_RINGBUF_BUSY_BIT while reserved
 *    and BPF_RINGBUF_DISCARD_BIT once discarded; pg_off is the header's
 *    distance in pages from the start of the mapping, which is how submit
 *    and discard find the ring from nothing but the sample pointer.
 *  - The data pages are mapped twice, back to back, so a record that wraps
 *    past the end is still contiguous memory (as the kernel maps them).
 *  - Producers serialise reservation on a spinlock; commit is one atomic
 *    exchange on the header.  The consumer reads in order and stops at the
 *    first record still busy.
 *  - Wakeup: an eventfd is signalled when a record is committed while the
 *    consumer has caught up with it (or on BPF_RB_FORCE_WAKEUP), the
 *    kernel's condition for waking epoll waiters.
 *
 * Mapping: [control page: struct ringbuf][data][data again].
 */

#define RINGBUF_MAX_RECORD_SZ	(UINT32_MAX / 4)

struct ringbuf_hdr {
	_Atomic uint32_t len;
	uint32_t pg_off;
};

struct ringbuf {
	pthread_spinlock_t lock;		/* producers */
	uint64_t mask;
	uint64_t pending_pos;			/* oldest record maybe still busy */
	char *data;
	size_t page_size, map_size;
	int efd;
	pthread_mutex_t consumer;		/* one consumer at a time */
	_Atomic uint64_t consumer_pos __attribute__((aligned(64)));
	_Atomic uint64_t producer_pos __attribute__((aligned(64)));
};

static struct ringbuf *rb_of(const struct ebpf_map *map)
{
	return map->priv;
}

static void rb_wakeup(struct ringbuf *rb)
{
	uint64_t one = 1;

	/* Non-blocking: a counter already non-zero is wakeup enough. */
	if (write(rb->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("ringbuf: eventfd write failed: %s", strerror(errno));
}

static void *rb_reserve(struct ringbuf *rb, uint64_t size)
{
	uint64_t len, cons_pos, prod_pos, new_prod_pos, pend_pos;
	struct ringbuf_hdr *hdr;

	if (size > RINGBUF_MAX_RECORD_SZ)
		return NULL;
	len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
	if (len > rb->mask + 1)
		return NULL;

	cons_pos = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
	pthread_spin_lock(&rb->lock);
	prod_pos = atomic_load_explicit(&rb->producer_pos, memory_order_relaxed);
	new_prod_pos = prod_pos + len;

	/* Skip over committed records behind the oldest busy one: space
	 * held by a record still being written cannot be reused even when
	 * the consumer has moved past it (kernel pending_pos). */
	pend_pos = rb->pending_pos;
	while (pend_pos < prod_pos) {
		struct ringbuf_hdr *h = (void *)(rb->data + (pend_pos & rb->mask));
		uint32_t hlen = atomic_load_explicit(&h->len, memory_order_acquire);

		if (hlen & BPF_RINGBUF_BUSY_BIT)
			break;
		hlen &= ~BPF_RINGBUF_DISCARD_BIT;
		pend_pos += ((uint64_t)hlen + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
	}
	rb->pending_pos = pend_pos;

	/* The kernel keeps at least one byte free: used space <= mask. */
	if (new_prod_pos - cons_pos > rb->mask || new_prod_pos - pend_pos > rb->mask) {
		pthread_spin_unlock(&rb->lock);
		return NULL;
	}
	hdr = (void *)(rb->data + (prod_pos & rb->mask));
	hdr->pg_off = (uint32_t)(((uintptr_t)hdr & ~(uintptr_t)(rb->page_size - 1)) -
				 (uintptr_t)rb) / rb->page_size;
	atomic_store_explicit(&hdr->len, (uint32_t)size | BPF_RINGBUF_BUSY_BIT,
			      memory_order_relaxed);
	atomic_store_explicit(&rb->producer_pos, new_prod_pos, memory_order_release);
	pthread_spin_unlock(&rb->lock);
	return (char *)hdr + BPF_RINGBUF_HDR_SZ;
}

static void rb_commit(void *sample, uint64_t flags, bool discard)
{
	struct ringbuf_hdr *hdr = (void *)((char *)sample - BPF_RINGBUF_HDR_SZ);
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct ringbuf *rb = (void *)(((uintptr_t)hdr & ~(uintptr_t)(page - 1)) -
				      (uintptr_t)hdr->pg_off * page);
	uint32_t new_len = atomic_load_explicit(&hdr->len, memory_order_relaxed) ^
			   BPF_RINGBUF_BUSY_BIT;
	uint64_t rec_pos, cons_pos;

	if (discard)
		new_len |= BPF_RINGBUF_DISCARD_BIT;
	/* Release the record to the consumer. */
	atomic_exchange_explicit(&hdr->len, new_len, memory_order_acq_rel);

	rec_pos = (uint64_t)((char *)hdr - rb->data);
	cons_pos = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire) & rb->mask;
	if (flags & BPF_RB_FORCE_WAKEUP)
		rb_wakeup(rb);
	else if (cons_pos == rec_pos && !(flags & BPF_RB_NO_WAKEUP))
		rb_wakeup(rb);
}

/* ---- helper entry points -------------------------------------------------------- */

void *ebpf_ringbuf_reserve(struct ebpf_map *map, uint64_t size, uint64_t flags)
{
	if (!map || map->type != BPF_MAP_TYPE_RINGBUF || flags)
		return NULL;
	return rb_reserve(rb_of(map), size);
}

void ebpf_ringbuf_submit(void *sample, uint64_t flags)
{
	if (sample)
		rb_commit(sample, flags, false);
}

void ebpf_ringbuf_discard(void *sample, uint64_t flags)
{
	if (sample)
		rb_commit(sample, flags, true);
}

long ebpf_ringbuf_output(struct ebpf_map *map, const void *data, uint64_t size,
			 uint64_t flags)
{
	void *rec;

	if (!map || map->type != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	if (flags & ~(uint64_t)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP))
		return -EINVAL;
	rec = rb_reserve(rb_of(map), size);
	if (!rec)
		return -EAGAIN;
	memcpy(rec, data, size);
	rb_commit(rec, flags, false);
	return 0;
}

uint64_t ebpf_ringbuf_query(struct ebpf_map *map, uint64_t flags)
{
	struct ringbuf *rb;
	uint64_t prod, cons;

	if (!map || map->type != BPF_MAP_TYPE_RINGBUF)
		return 0;
	rb = rb_of(map);
	switch (flags) {
	case BPF_RB_AVAIL_DATA:
		cons = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
		prod = atomic_load_explicit(&rb->producer_pos, memory_order_acquire);
		return prod - cons;
	case BPF_RB_RING_SIZE:
		return rb->mask + 1;
	case BPF_RB_CONS_POS:
		return atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
	case BPF_RB_PROD_POS:
		return atomic_load_explicit(&rb->producer_pos, memory_order_acquire);
	}
	return 0;
}

/* ---- consumer -------------------------------------------------------------------- */

int ebpf_ringbuf_consume(struct ebpf_map *map, ebpf_ringbuf_sample_fn fn, void *ctx)
{
	struct ringbuf *rb;
	uint64_t cons, prod;
	int cnt = 0, err = 0;
	bool more;

	if (!map || !fn)
		return -EINVAL;
	if (map->type != BPF_MAP_TYPE_RINGBUF) {
		pr_warn("map '%s': not a ring buffer", map->name);
		return -EINVAL;
	}
	rb = rb_of(map);
	pthread_mutex_lock(&rb->consumer);
	cons = atomic_load_explicit(&rb->consumer_pos, memory_order_acquire);
	do {
		more = false;
		prod = atomic_load_explicit(&rb->producer_pos, memory_order_acquire);
		while (cons < prod) {
			struct ringbuf_hdr *hdr = (void *)(rb->data + (cons & rb->mask));
			uint32_t len = atomic_load_explicit(&hdr->len, memory_order_acquire);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto done;	/* in order: wait for this one */
			more = true;
			cons += ((uint64_t)(len & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ + 7) &
				~7ull;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				err = fn(ctx, (char *)hdr + BPF_RINGBUF_HDR_SZ, len);
				if (err < 0) {
					/* The record counts as consumed, as in libbpf. */
					atomic_store_explicit(&rb->consumer_pos, cons,
							      memory_order_release);
					goto done;
				}
				if (cnt < INT32_MAX)
					cnt++;
			}
			atomic_store_explicit(&rb->consumer_pos, cons, memory_order_release);
		}
	} while (more);
done:
	pthread_mutex_unlock(&rb->consumer);
	return err < 0 ? err : cnt;
}

int ebpf_ringbuf_wait_fd(struct ebpf_map *map)
{
	if (!map || map->type != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	return rb_of(map)->efd;
}

/* ---- map ops ------------------------------------------------------------------- */

static int ringbuf_alloc(struct ebpf_map *map)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size = map->max_entries;
	struct ringbuf *rb;
	char *base;
	int fd, err;

	/* kernel ringbuf_map_alloc(): no key or value, max_entries is the
	 * data size, a power of two and a multiple of the page size. */
	if (map->map_flags & ~(uint32_t)BPF_F_NUMA_NODE) {
		pr_warn("map '%s': map_flags 0x%x not valid for a ring buffer", map->name,
			map->map_flags & ~(uint32_t)BPF_F_NUMA_NODE);
		return -EINVAL;
	}
	if (map->key_size || map->value_size) {
		pr_warn("map '%s': ring buffers take key_size 0 and value_size 0", map->name);
		return -EINVAL;
	}
	if (!size || (size & (size - 1)) || size % page) {
		pr_warn("map '%s': ring buffer max_entries %u must be a power of 2 and a "
			"multiple of the page size (%zu)", map->name, map->max_entries, page);
		return -EINVAL;
	}
	if (sizeof(struct ringbuf) > page)
		return -EINVAL;

	fd = memfd_create("ebpf-ringbuf", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		goto sys_err;
	base = mmap(NULL, page + 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto sys_err;
	if (mmap(base, page, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0) == MAP_FAILED ||
	    mmap(base + page, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0) ==
		    MAP_FAILED ||
	    mmap(base + page + size, size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_SHARED, fd, 0) ==
		    MAP_FAILED) {
		err = -errno;
		munmap(base, page + 2 * size);
		close(fd);
		pr_warn("map '%s': cannot map ring buffer of %zu bytes: %s", map->name, size,
			strerror(-err));
		return err;
	}
	close(fd);

	rb = (struct ringbuf *)base;
	memset(rb, 0, sizeof(*rb));
	pthread_spin_init(&rb->lock, PTHREAD_PROCESS_PRIVATE);
	pthread_mutex_init(&rb->consumer, NULL);
	rb->mask = size - 1;
	rb->data = base + page;
	rb->page_size = page;
	rb->map_size = page + 2 * size;
	rb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (rb->efd < 0) {
		err = -errno;
		munmap(base, rb->map_size);
		pr_warn("map '%s': cannot create the wakeup eventfd: %s", map->name, strerror(-err));
		return err;
	}
	map->priv = rb;
	return 0;
sys_err:
	err = -errno;
	close(fd);
	pr_warn("map '%s': cannot set up ring buffer memory: %s", map->name, strerror(-err));
	return err;
}

static void ringbuf_free(struct ebpf_map *map)
{
	struct ringbuf *rb = rb_of(map);

	close(rb->efd);
	pthread_spin_destroy(&rb->lock);
	pthread_mutex_destroy(&rb->consumer);
	munmap(rb, rb->map_size);
}

/* Element access makes no sense on a ring buffer (kernel: -ENOTSUPP). */
static void *ringbuf_lookup(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return NULL;
}

static long ringbuf_update(struct ebpf_map *map, const void *key, const void *value,
			   uint64_t flags)
{
	(void)map; (void)key; (void)value; (void)flags;
	return -EOPNOTSUPP;
}

static long ringbuf_remove(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return -EOPNOTSUPP;
}

const struct ebpf_map_ops ebpf_ringbuf_map_ops = {
	.alloc = ringbuf_alloc,
	.free = ringbuf_free,
	.lookup = ringbuf_lookup,
	.update = ringbuf_update,
	.remove = ringbuf_remove,
};
