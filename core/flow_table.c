/* flow_table.c - fixed-capacity 4-tuple -> flow id table, lock-free lookups. */
#include <errno.h>
#include <string.h>

#include "core/flow_table.h"

#define LD(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v)  __atomic_store_n((p), (v), __ATOMIC_RELAXED)
/* Longest probe distance a writer allows: a probe of MAX_DIST + 2 slots
 * starting at a stripe's last slot spans FTOE_FT_MAX_STRIPES stripes. */
#define MAX_DIST  ((FTOE_FT_MAX_STRIPES - 2) << FTOE_FT_STRIPE_SHIFT)

static uint32_t ft_nslots_for(uint32_t capacity)
{
	/* Smallest power of two with capacity <= 90% of it. */
	uint64_t need = ((uint64_t)capacity * 10 + 8) / 9;
	uint32_t n = 1u << FTOE_FT_STRIPE_SHIFT;

	while (n < need)
		n <<= 1;
	return n;
}

size_t ftoe_ft_mem_size(uint32_t capacity)
{
	uint32_t n;

	if (capacity == 0 || capacity > FTOE_FT_MAX_CAPACITY)
		return 0;
	n = ft_nslots_for(capacity);
	return (size_t)n * sizeof(struct ftoe_ft_slot) +
	       (size_t)(n >> FTOE_FT_STRIPE_SHIFT) * sizeof(uint32_t);
}

int ftoe_ft_init(struct ftoe_flow_table *ft, void *mem, size_t mem_size,
		 uint32_t capacity, const uint8_t key[FTOE_SIPHASH_KEY_LEN])
{
	size_t need = ftoe_ft_mem_size(capacity);
	uint32_t n;

	if (!ft || !mem || !key || need == 0 || mem_size < need ||
	    ((uintptr_t)mem & 7))
		return -EINVAL;
	n = ft_nslots_for(capacity);
	memset(mem, 0, need);
	ft->slots = mem;
	ft->stripe_seq = (uint32_t *)(ft->slots + n);
	ft->mask = n - 1;
	ft->capacity = capacity;
	ft->count = 0;
	ft->max_dist = 0;
	memcpy(ft->key, key, FTOE_SIPHASH_KEY_LEN);
	return 0;
}

static uint32_t ft_hash(const struct ftoe_flow_table *ft, const struct ftoe_flow_key *k)
{
	uint8_t buf[36];
	size_t n = 12;
	uint64_t h;

	/* Serialise so padding and host layout never reach the hash; an IPv4
	 * key hashes its 12 bytes only (flow_table.h). */
	memcpy(buf, &k->laddr, 4);
	memcpy(buf + 4, &k->raddr, 4);
	memcpy(buf + 8, &k->lport, 2);
	memcpy(buf + 10, &k->rport, 2);
	if (__builtin_expect(ftoe_flow_key_is_v6(k), 0)) {
		memcpy(buf + 12, k->lhi, 12);
		memcpy(buf + 24, k->rhi, 12);
		n = sizeof(buf);
	}
	h = ftoe_siphash(ft->key, buf, n, 1, 3);
	h ^= h >> 32;
	return (uint32_t)h ? (uint32_t)h : 1; /* 0 marks an empty slot */
}

static inline uint32_t key_ports(const struct ftoe_flow_key *k)
{
	return (uint32_t)k->lport << 16 | k->rport;
}

/* The IPv6 upper bits of slot s against key k (IPv4: all zero on both). */
static inline int slot_hi_eq(const struct ftoe_ft_slot *s, const struct ftoe_flow_key *k)
{
	return LD(&s->lhi[0]) == k->lhi[0] && LD(&s->lhi[1]) == k->lhi[1] &&
	       LD(&s->lhi[2]) == k->lhi[2] && LD(&s->rhi[0]) == k->rhi[0] &&
	       LD(&s->rhi[1]) == k->rhi[1] && LD(&s->rhi[2]) == k->rhi[2];
}

static inline uint32_t slot_dist(const struct ftoe_flow_table *ft, uint32_t i,
				 uint32_t hash)
{
	return (i - hash) & ft->mask;
}

/* The key-matching part of a probe, over relaxed loads.  Returns the slot
 * index or -1; *stripes collects every stripe entered (readers validate). */
struct probe_stripes {
	uint32_t idx[FTOE_FT_MAX_STRIPES];
	uint32_t seq[FTOE_FT_MAX_STRIPES];
	unsigned n;
	int torn;
};

static inline int stripe_enter(const struct ftoe_flow_table *ft,
			       struct probe_stripes *ps, uint32_t stripe)
{
	uint32_t s = __atomic_load_n(&ft->stripe_seq[stripe], __ATOMIC_ACQUIRE);

	if ((s & 1) || ps->n == FTOE_FT_MAX_STRIPES) {
		ps->torn = 1;
		return -1;
	}
	ps->idx[ps->n] = stripe;
	ps->seq[ps->n] = s;
	ps->n++;
	return 0;
}

static int64_t ft_probe(const struct ftoe_flow_table *ft, const struct ftoe_flow_key *k,
			uint32_t hash, struct probe_stripes *ps, uint32_t *id,
			uint32_t *probes)
{
	uint32_t ports = key_ports(k), i = hash & ft->mask;

	for (uint32_t d = 0; d <= ft->mask; d++, i = (i + 1) & ft->mask) {
		const struct ftoe_ft_slot *s = &ft->slots[i];
		uint32_t sh;

		if (ps && (d == 0 || (i & ((1u << FTOE_FT_STRIPE_SHIFT) - 1)) == 0) &&
		    stripe_enter(ft, ps, i >> FTOE_FT_STRIPE_SHIFT))
			return -1;
		if (probes)
			*probes = d + 1;
		sh = LD(&s->hash);
		/* Empty, or an entry nearer its home than we are: the Robin
		 * Hood order says our key cannot be further on. */
		if (sh == 0 || slot_dist(ft, i, sh) < d)
			return -1;
		if (sh == hash && LD(&s->laddr) == k->laddr &&
		    LD(&s->raddr) == k->raddr && LD(&s->ports) == ports &&
		    slot_hi_eq(s, k)) {
			if (id)
				*id = LD(&s->id);
			return i;
		}
	}
	return -1;
}

int ftoe_ft_lookup(const struct ftoe_flow_table *ft,
		   const struct ftoe_flow_key *key, uint32_t *id)
{
	uint32_t hash = ft_hash(ft, key), got = 0;
	struct probe_stripes ps;
	int64_t at;

	for (;;) {
		int stable = 1;

		ps.n = 0;
		ps.torn = 0;
		at = ft_probe(ft, key, hash, &ps, &got, NULL);
		if (ps.torn)
			continue;
		/* Seqlock read side: order the slot loads before re-reading
		 * the counters. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		for (unsigned j = 0; j < ps.n; j++)
			if (LD(&ft->stripe_seq[ps.idx[j]]) != ps.seq[j])
				stable = 0;
		if (stable)
			break;
	}
	if (at < 0)
		return -ENOENT;
	if (id)
		*id = got;
	return 0;
}

uint32_t ftoe_ft_probe_len(const struct ftoe_flow_table *ft,
			   const struct ftoe_flow_key *key)
{
	uint32_t probes = 0;

	ft_probe(ft, key, ft_hash(ft, key), NULL, NULL, &probes);
	return probes;
}

/* Mark every stripe of slots [from, from + n) (cyclic) as being written. */
static void stripes_write(struct ftoe_flow_table *ft, uint32_t from, uint32_t n,
			  int begin)
{
	uint32_t nstripes = (ft->mask + 1) >> FTOE_FT_STRIPE_SHIFT;
	uint32_t first = from >> FTOE_FT_STRIPE_SHIFT;
	uint32_t last = ((from + n - 1) & ft->mask) >> FTOE_FT_STRIPE_SHIFT;
	uint32_t s = first;

	for (;;) {
		uint32_t *seq = &ft->stripe_seq[s];

		if (begin) {
			ST(seq, *seq + 1);
			/* Seqlock write side: counter odd before slot stores. */
			__atomic_thread_fence(__ATOMIC_RELEASE);
		} else {
			__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
		}
		if (s == last)
			break;
		s = (s + 1) % nstripes;
	}
}

static void slot_copy(struct ftoe_ft_slot *dst, const struct ftoe_ft_slot *src)
{
	ST(&dst->hash, src->hash);
	ST(&dst->id, src->id);
	ST(&dst->laddr, src->laddr);
	ST(&dst->raddr, src->raddr);
	ST(&dst->ports, src->ports);
	for (int j = 0; j < 3; j++) {
		ST(&dst->lhi[j], src->lhi[j]);
		ST(&dst->rhi[j], src->rhi[j]);
	}
}

int ftoe_ft_insert(struct ftoe_flow_table *ft, const struct ftoe_flow_key *key,
		   uint32_t id)
{
	uint32_t hash = ft_hash(ft, key), home = hash & ft->mask;
	uint32_t pos = home, d = 0, end, n, dist_max = ft->max_dist;
	struct ftoe_ft_slot ns = {
		.hash = hash, .id = id, .laddr = key->laddr,
		.raddr = key->raddr, .ports = key_ports(key),
	};

	memcpy(ns.lhi, key->lhi, sizeof(ns.lhi));
	memcpy(ns.rhi, key->rhi, sizeof(ns.rhi));

	if (ft_probe(ft, key, hash, NULL, NULL, NULL) >= 0)
		return -EEXIST;
	if (ft->count >= ft->capacity)
		return -ENOSPC;

	/* Where the new entry goes: the first slot that is empty or holds an
	 * entry nearer its home than we would be (Robin Hood). */
	while (ft->slots[pos].hash &&
	       slot_dist(ft, pos, ft->slots[pos].hash) >= d) {
		pos = (pos + 1) & ft->mask;
		d++;
	}
	/* The rest of the run, [pos, end), moves one slot right. */
	end = pos;
	while (ft->slots[end].hash)
		end = (end + 1) & ft->mask;
	n = ((end - pos) & ft->mask) + 1;

	/* Every moved entry gets one further from home; refuse runs a reader
	 * could not cover with FTOE_FT_MAX_STRIPES stripes. */
	if (d > dist_max)
		dist_max = d;
	for (uint32_t i = pos; i != end; i = (i + 1) & ft->mask) {
		uint32_t nd = slot_dist(ft, i, ft->slots[i].hash) + 1;

		if (nd > dist_max)
			dist_max = nd;
	}
	if (dist_max > MAX_DIST)
		return -ENOSPC;

	stripes_write(ft, pos, n, 1);
	for (uint32_t i = end; i != pos; ) {
		uint32_t prev = (i - 1) & ft->mask;

		slot_copy(&ft->slots[i], &ft->slots[prev]);
		i = prev;
	}
	slot_copy(&ft->slots[pos], &ns);
	stripes_write(ft, pos, n, 0);

	ft->count++;
	ft->max_dist = dist_max;
	return 0;
}

int ftoe_ft_remove(struct ftoe_flow_table *ft, const struct ftoe_flow_key *key,
		   uint32_t *id)
{
	static const struct ftoe_ft_slot empty;
	uint32_t got = 0, pos, end, n;
	int64_t at = ft_probe(ft, key, ft_hash(ft, key), NULL, &got, NULL);

	if (at < 0)
		return -ENOENT;
	pos = (uint32_t)at;
	/* Backward-shift deletion: pull the run behind pos one slot back
	 * until an empty slot or an entry already at its home. */
	end = (pos + 1) & ft->mask;
	while (ft->slots[end].hash && slot_dist(ft, end, ft->slots[end].hash) > 0)
		end = (end + 1) & ft->mask;
	n = ((end - pos) & ft->mask);

	stripes_write(ft, pos, n, 1);
	for (uint32_t i = pos; ((i + 1) & ft->mask) != end; i = (i + 1) & ft->mask)
		slot_copy(&ft->slots[i], &ft->slots[(i + 1) & ft->mask]);
	slot_copy(&ft->slots[(end - 1) & ft->mask], &empty);
	stripes_write(ft, pos, n, 0);

	ft->count--;
	if (id)
		*id = got;
	return 0;
}
