/* map_perf.c - perf event arrays: one record ring per slot, filled by bpf_perf_event_output and read by a consumer as libbpf's perf_buffer reads the kernel's. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "ebpf/internal.h"

/* What a slot means inside the engine (docs/runtime.md): in the kernel a
 * slot holds a perf event whose mmapped ring a consumer reads; here it
 * holds a ring of the same record layout (struct perf_event_header, then
 * PERF_RECORD_SAMPLE with a u32 size and the raw bytes padded to 8, or
 * PERF_RECORD_LOST), installed by ebpf_perf_buffer_new().  User space
 * cannot put a perf event fd in a slot (updates give EOPNOTSUPP), so
 * without a consumer every slot is empty and bpf_perf_event_output
 * returns -ENOENT, as the kernel does for an empty slot. */

struct perf_ring {
	pthread_spinlock_t lock;	/* producers: threads may share a slot */
	uint64_t head;			/* bytes written (producer, release) */
	uint64_t tail;			/* bytes read (consumer, release) */
	uint64_t lost;			/* samples dropped since the last LOST record */
	int wake_fd;			/* the consumer's eventfd */
	size_t size;			/* power of two */
	uint8_t data[];
};

struct perf_array {
	struct perf_ring *_Atomic *slots;
};

struct ebpf_perf_buffer {
	struct ebpf_map *map;
	int wake_fd;			/* eventfd: a sample went into an empty ring */
	uint8_t *bounce;		/* a record that wraps, made contiguous */
	size_t bounce_sz;
};

static struct perf_array *pa_of(const struct ebpf_map *map)
{
	return map->priv;
}

/* kernel/bpf/arraymap.c perf_event_array: u32 keys and values (fds). */
static int perf_alloc(struct ebpf_map *map)
{
	struct perf_array *pa;

	if (map->key_size != 4 || map->value_size != 4 || !map->max_entries)
		return -EINVAL;
	pa = calloc(1, sizeof(*pa));
	if (!pa)
		return -ENOMEM;
	pa->slots = calloc(map->max_entries, sizeof(*pa->slots));
	if (!pa->slots) {
		free(pa);
		return -ENOMEM;
	}
	map->priv = pa;
	return 0;
}

static void ring_free(struct perf_ring *r)
{
	if (!r)
		return;
	pthread_spin_destroy(&r->lock);
	free(r);
}

static void perf_free(struct ebpf_map *map)
{
	struct perf_array *pa = pa_of(map);

	for (uint32_t i = 0; i < map->max_entries; i++)
		ring_free(pa->slots[i]);
	free(pa->slots);
	free(pa);
}

static void ring_put(struct perf_ring *r, uint64_t at, const void *src, size_t len)
{
	size_t off = at & (r->size - 1), first = r->size - off;

	if (first > len)
		first = len;
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const uint8_t *)src + first, len - first);
}

/* One sample of meta (meta_len bytes) then the frame's first ctx_len
 * bytes.  The consumer sees the kernel's layout: header, u32 raw size
 * (padded so the record ends 8-aligned), raw bytes, zero padding. */
long ebpf_perf_event_output(struct ebpf_map *map, uint64_t flags, const void *meta,
			    uint32_t meta_len, const void *ctx_data, uint32_t ctx_len)
{
	static const uint8_t zero[8];
	struct perf_array *pa = pa_of(map);
	uint64_t index = flags & BPF_F_INDEX_MASK;
	uint32_t raw, rec;
	struct perf_event_header hdr;
	struct perf_ring *r;
	uint64_t head, tail;
	bool was_empty;

	if (index == BPF_F_CURRENT_CPU)
		index = ebpf_cpu();
	if (index >= map->max_entries)
		return -E2BIG;
	r = atomic_load_explicit(&pa->slots[index], memory_order_acquire);
	if (!r)
		return -ENOENT;
	raw = ((meta_len + ctx_len + 4 + 7) & ~7u) - 4;
	rec = (uint32_t)sizeof(hdr) + 4 + raw;
	if (rec > 0xffff || rec > r->size)
		return -E2BIG;	/* perf's u16 record size */
	pthread_spin_lock(&r->lock);
	head = r->head;
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	was_empty = head == tail;
	/* A LOST record goes first when samples were dropped, as perf writes
	 * one before the next sample that fits. */
	if (r->lost && r->size - (head - tail) >= sizeof(hdr) + 16 + rec) {
		uint64_t lost_rec[2] = { 0, r->lost };

		hdr = (struct perf_event_header){ .type = PERF_RECORD_LOST,
						  .size = sizeof(hdr) + sizeof(lost_rec) };
		ring_put(r, head, &hdr, sizeof(hdr));
		ring_put(r, head + sizeof(hdr), lost_rec, sizeof(lost_rec));
		head += hdr.size;
		r->lost = 0;
	}
	if (r->lost || r->size - (head - tail) < rec) {
		r->lost++;
		__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
		pthread_spin_unlock(&r->lock);
		return -ENOSPC;
	}
	hdr = (struct perf_event_header){ .type = PERF_RECORD_SAMPLE, .size = (uint16_t)rec };
	ring_put(r, head, &hdr, sizeof(hdr));
	ring_put(r, head + sizeof(hdr), &raw, 4);
	ring_put(r, head + sizeof(hdr) + 4, meta, meta_len);
	ring_put(r, head + sizeof(hdr) + 4 + meta_len, ctx_data, ctx_len);
	ring_put(r, head + sizeof(hdr) + 4 + meta_len + ctx_len, zero, raw - meta_len - ctx_len);
	__atomic_store_n(&r->head, head + rec, __ATOMIC_RELEASE);
	pthread_spin_unlock(&r->lock);
	/* Wake the consumer only when it had caught up (as the ring buffer
	 * does): one write per drain, not one per sample. */
	if (was_empty)
		(void)!eventfd_write(r->wake_fd, 1);
	return 0;
}

/* ---- consumer --------------------------------------------------------------- */

/* Empties slots [0, upto) that this consumer filled. */
static void release_slots(struct perf_array *pa, uint32_t upto)
{
	for (uint32_t i = 0; i < upto; i++) {
		struct perf_ring *r = atomic_exchange(&pa->slots[i], NULL);

		if (r) {
			pthread_spin_lock(&r->lock);	/* wait out a producer */
			pthread_spin_unlock(&r->lock);
		}
		ring_free(r);
	}
}

int ebpf_perf_buffer_new(struct ebpf_map *map, size_t page_cnt, struct ebpf_perf_buffer **out)
{
	struct perf_array *pa;
	struct ebpf_perf_buffer *pb;
	size_t size = page_cnt * 4096;

	*out = NULL;
	if (!map || map->type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return -EINVAL;
	if (!page_cnt || (page_cnt & (page_cnt - 1)) || page_cnt > 4096)
		return -EINVAL;	/* libbpf: a power of two */
	pa = pa_of(map);
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pb->wake_fd < 0) {
		int err = -errno;

		free(pb);
		return err;
	}
	for (uint32_t i = 0; i < map->max_entries; i++) {
		struct perf_ring *r = calloc(1, sizeof(*r) + size), *none = NULL;
		int err = -ENOMEM;

		if (r) {
			r->size = size;
			r->wake_fd = pb->wake_fd;
			pthread_spin_init(&r->lock, PTHREAD_PROCESS_PRIVATE);
			if (atomic_compare_exchange_strong(&pa->slots[i], &none, r))
				continue;
			ring_free(r);	/* another consumer holds the slot */
			err = -EBUSY;
		}
		release_slots(pa, i);
		close(pb->wake_fd);
		free(pb);
		return err;
	}
	pb->map = ebpf_map_get(map);
	*out = pb;
	return 0;
}

/* Producers that may still hold a ring: the caller stops the programs
 * first (or accepts that their last samples go), as closing a perf
 * buffer in libbpf detaches the events before unmapping. */
void ebpf_perf_buffer_free(struct ebpf_perf_buffer *pb)
{
	if (!pb)
		return;
	release_slots(pa_of(pb->map), pb->map->max_entries);
	ebpf_map_put(pb->map);
	close(pb->wake_fd);
	free(pb->bounce);
	free(pb);
}

static int consume_ring(struct ebpf_perf_buffer *pb, int cpu, struct perf_ring *r,
			ebpf_perf_sample_fn sample, ebpf_perf_lost_fn lost, void *ctx)
{
	uint64_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	int n = 0;

	while (tail < head) {
		struct perf_event_header hdr;
		size_t off = tail & (r->size - 1);
		uint8_t *rec;

		if (off + sizeof(hdr) <= r->size) {
			memcpy(&hdr, r->data + off, sizeof(hdr));
		} else {
			size_t first = r->size - off;

			memcpy(&hdr, r->data + off, first);
			memcpy((uint8_t *)&hdr + first, r->data, sizeof(hdr) - first);
		}
		if (off + hdr.size <= r->size) {
			rec = r->data + off;
		} else {	/* wraps: copy out, as libbpf's perf_buffer does */
			size_t first = r->size - off;

			if (pb->bounce_sz < hdr.size) {
				uint8_t *b = realloc(pb->bounce, hdr.size);

				if (!b)
					return -ENOMEM;
				pb->bounce = b;
				pb->bounce_sz = hdr.size;
			}
			memcpy(pb->bounce, r->data + off, first);
			memcpy(pb->bounce + first, r->data, hdr.size - first);
			rec = pb->bounce;
		}
		if (hdr.type == PERF_RECORD_SAMPLE && sample) {
			uint32_t size;

			memcpy(&size, rec + sizeof(hdr), 4);
			sample(ctx, cpu, rec + sizeof(hdr) + 4, size);
		} else if (hdr.type == PERF_RECORD_LOST && lost) {
			uint64_t cnt;

			memcpy(&cnt, rec + sizeof(hdr) + 8, 8);
			lost(ctx, cpu, cnt);
		}
		tail += hdr.size;
		n++;
	}
	__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
	return n;
}

int ebpf_perf_buffer_consume(struct ebpf_perf_buffer *pb, ebpf_perf_sample_fn sample,
			     ebpf_perf_lost_fn lost, void *ctx)
{
	struct perf_array *pa;
	int total = 0;

	if (!pb)
		return -EINVAL;
	pa = pa_of(pb->map);
	for (uint32_t i = 0; i < pb->map->max_entries; i++) {
		struct perf_ring *r = atomic_load_explicit(&pa->slots[i], memory_order_acquire);
		int n;

		if (!r)
			continue;
		n = consume_ring(pb, (int)i, r, sample, lost, ctx);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

int ebpf_perf_buffer_wait_fd(struct ebpf_perf_buffer *pb)
{
	return pb ? pb->wake_fd : -EINVAL;
}

/* ---- element access ----------------------------------------------------------- */

/* The program side never looks up a perf event array (the verifier
 * allows only bpf_perf_event_output and friends on it). */
static void *perf_lookup(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return NULL;
}

/* User space puts perf event fds in the kernel's slots; there is no such
 * fd here (the consumer installs rings), so updates are refused. */
static long perf_update(struct ebpf_map *map, const void *key, const void *value, uint64_t flags)
{
	(void)map; (void)key; (void)value; (void)flags;
	return -EOPNOTSUPP;
}

static long perf_remove(struct ebpf_map *map, const void *key)
{
	uint32_t k;

	memcpy(&k, key, sizeof(k));
	return k < map->max_entries ? -ENOENT : -E2BIG;	/* never filled from user space */
}

/* bpf(2) lookups of fd arrays are refused (kernel: -EOPNOTSUPP). */
static int perf_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	(void)map; (void)key; (void)value;
	return -EOPNOTSUPP;
}

static int perf_sys_update(struct ebpf_map *map, const void *key, const void *value,
			   uint64_t flags)
{
	return (int)perf_update(map, key, value, flags);
}

const struct ebpf_map_ops ebpf_perf_event_array_map_ops = {
	.alloc = perf_alloc,
	.free = perf_free,
	.lookup = perf_lookup,
	.update = perf_update,
	.remove = perf_remove,
	.sys_lookup = perf_sys_lookup,
	.sys_update = perf_sys_update,
	.get_next_key = ebpf_array_get_next_key,
};
