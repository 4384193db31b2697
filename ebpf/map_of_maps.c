/* map_of_maps.c - array and hash of maps: slots hold inner maps, found by a program's lookup and swapped from user space by map id. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/internal.h"

/* As the kernel (kernel/bpf/map_in_map.c, arraymap.c, hashtab.c): a
 * program's bpf_map_lookup_elem on the outer map returns the inner map
 * itself (or NULL), which it passes to further map helpers; programs can
 * do nothing else with an outer map.  User space puts an inner map in a
 * slot by its id (the kernel takes its fd) and reads back the id.  The
 * inner map must match the template the outer map was created with.
 *
 * A program may still use an inner map that user space has just
 * replaced (the kernel waits for an RCU grace period before dropping it):
 * a replaced map is kept, with its reference, until the outer map goes. */

struct mim {
	struct ebpf_map *_Atomic *slots;	/* array of maps */
	struct ebpf_map *hash;			/* hash of maps: key -> map pointer */
	pthread_mutex_t lock;			/* user-space writers */
	struct ebpf_map **retired;
	size_t nr_retired, cap_retired;
};

static struct mim *mim_of(const struct ebpf_map *map)
{
	return map->priv;
}

static bool is_array(const struct ebpf_map *map)
{
	return map->type == BPF_MAP_TYPE_ARRAY_OF_MAPS;
}

static bool is_outer_type(uint32_t type)
{
	return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

static int mim_alloc(struct ebpf_map *map)
{
	struct mim *m;
	int ret = 0;

	/* a u32 map fd as value; an inner template that is not itself an
	 * outer map or a program array (bpf_map_meta_alloc) */
	if (map->value_size != 4 || !map->max_entries || !map->inner_type ||
	    is_outer_type(map->inner_type) || map->inner_type == BPF_MAP_TYPE_PROG_ARRAY ||
	    (is_array(map) && map->key_size != 4) || !map->key_size)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	if (is_array(map)) {
		m->slots = calloc(map->max_entries, sizeof(*m->slots));
		ret = m->slots ? 0 : -ENOMEM;
	} else {
		struct ebpf_map_spec spec = {
			.name = map->name, .type = BPF_MAP_TYPE_HASH, .key_size = map->key_size,
			.value_size = sizeof(struct ebpf_map *), .max_entries = map->max_entries,
		};

		ret = ebpf_map_create(&spec, &m->hash);
	}
	if (ret) {
		free(m->slots);
		free(m);
		return ret;
	}
	map->priv = m;
	return 0;
}

static void put_slot(struct ebpf_map *outer, const void *key, const void *val, void *ctx)
{
	struct ebpf_map *inner;

	(void)outer; (void)key; (void)ctx;
	memcpy(&inner, val, sizeof(inner));
	ebpf_map_put(inner);
}

static void mim_free(struct ebpf_map *map)
{
	struct mim *m = mim_of(map);

	if (m->slots) {
		for (uint32_t i = 0; i < map->max_entries; i++)
			ebpf_map_put(m->slots[i]);
	}
	if (m->hash) {
		uint8_t key[map->key_size], next[map->key_size];
		const void *prev = NULL;
		struct ebpf_map *inner;

		while (!ebpf_map_get_next_key(m->hash, prev, next)) {
			if (!ebpf_map_lookup_elem(m->hash, next, &inner))
				put_slot(map, next, &inner, NULL);
			memcpy(key, next, sizeof(key));
			prev = key;
		}
		ebpf_map_put(m->hash);
	}
	for (size_t i = 0; i < m->nr_retired; i++)
		ebpf_map_put(m->retired[i]);
	free(m->retired);
	free(m->slots);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* Under m->lock. */
static int retire(struct mim *m, struct ebpf_map *old)
{
	if (!old)
		return 0;
	if (m->nr_retired == m->cap_retired) {
		size_t cap = m->cap_retired ? m->cap_retired * 2 : 8;
		struct ebpf_map **r = realloc(m->retired, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		m->retired = r;
		m->cap_retired = cap;
	}
	m->retired[m->nr_retired++] = old;
	return 0;
}

/* ---- program side ---------------------------------------------------------------- */

static void *mim_lookup(struct ebpf_map *map, const void *key)
{
	struct mim *m = mim_of(map);
	struct ebpf_map **v;
	uint32_t k;

	if (m->slots) {
		memcpy(&k, key, sizeof(k));
		return k < map->max_entries ?
			atomic_load_explicit(&m->slots[k], memory_order_acquire) : NULL;
	}
	v = m->hash->ops->lookup(m->hash, key);
	return v ? __atomic_load_n(v, __ATOMIC_ACQUIRE) : NULL;
}

/* The verifier lets programs only look up an outer map. */
static long mim_update(struct ebpf_map *map, const void *key, const void *value, uint64_t flags)
{
	(void)map; (void)key; (void)value; (void)flags;
	return -EOPNOTSUPP;
}

static long mim_remove(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return -EOPNOTSUPP;
}

/* ---- user side ---------------------------------------------------------------- */

/* kernel/bpf/map_in_map.c bpf_map_meta_equal. */
static bool matches_template(const struct ebpf_map *outer, const struct ebpf_map *inner)
{
	return inner->type == outer->inner_type && inner->key_size == outer->inner_key_size &&
	       inner->value_size == outer->inner_value_size &&
	       inner->map_flags == outer->inner_flags &&
	       ((outer->inner_flags & BPF_F_INNER_MAP) ||
		inner->max_entries == outer->inner_max_entries);
}

static int mim_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	struct ebpf_map *inner;
	uint32_t id;

	pthread_mutex_lock(&mim_of(map)->lock);
	inner = mim_lookup(map, key);
	id = inner ? inner->id : 0;
	pthread_mutex_unlock(&mim_of(map)->lock);
	if (!id)
		return -ENOENT;
	memcpy(value, &id, sizeof(id));
	return 0;
}

static int mim_sys_update(struct ebpf_map *map, const void *key, const void *value,
			  uint64_t flags)
{
	struct mim *m = mim_of(map);
	struct ebpf_map *inner, *old = NULL;
	uint32_t id, k = 0;
	int ret = 0;

	memcpy(&id, value, sizeof(id));
	if (m->slots) {
		/* fd arrays take BPF_ANY only (bpf_fd_array_map_update_elem) */
		if (flags != BPF_ANY)
			return -EINVAL;
		memcpy(&k, key, sizeof(k));
		if (k >= map->max_entries)
			return -E2BIG;
	} else if (flags > BPF_EXIST) {
		return -EINVAL;
	}
	inner = ebpf_map_get_by_id(id);
	if (!inner)
		return -EBADF;	/* the kernel's answer to a bad fd */
	if (!matches_template(map, inner)) {
		ebpf_map_put(inner);
		return -EINVAL;
	}
	pthread_mutex_lock(&m->lock);
	if (m->slots) {
		old = atomic_exchange_explicit(&m->slots[k], inner, memory_order_acq_rel);
	} else {
		struct ebpf_map **v = m->hash->ops->lookup(m->hash, key);

		old = v ? *v : NULL;
		ret = (int)m->hash->ops->update(m->hash, key, &inner, flags);
		if (ret)
			old = NULL;
	}
	/* No room to keep the old map: it is leaked rather than freed under
	 * a program that may be using it. */
	if (!ret && old)
		(void)retire(m, old);
	pthread_mutex_unlock(&m->lock);
	if (ret)
		ebpf_map_put(inner);
	return ret;
}

static int mim_sys_delete(struct ebpf_map *map, const void *key)
{
	struct mim *m = mim_of(map);
	struct ebpf_map *old = NULL;
	uint32_t k = 0;
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if (m->slots) {
		memcpy(&k, key, sizeof(k));
		if (k >= map->max_entries)
			ret = -E2BIG;
		else
			old = atomic_exchange_explicit(&m->slots[k], NULL, memory_order_acq_rel);
	} else {
		struct ebpf_map **v = m->hash->ops->lookup(m->hash, key);

		old = v ? *v : NULL;
		if (old)
			ret = (int)m->hash->ops->remove(m->hash, key);
	}
	if (!ret && !old)
		ret = -ENOENT;
	if (!ret)
		(void)retire(m, old);	/* on failure leaked, as in update */
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static int mim_get_next_key(struct ebpf_map *map, const void *key, void *next_key)
{
	struct mim *m = mim_of(map);

	if (m->hash)
		return ebpf_map_get_next_key(m->hash, key, next_key);
	return ebpf_array_get_next_key(map, key, next_key);
}

const struct ebpf_map_ops ebpf_map_of_maps_ops = {
	.alloc = mim_alloc,
	.free = mim_free,
	.lookup = mim_lookup,
	.update = mim_update,
	.remove = mim_remove,
	.sys_lookup = mim_sys_lookup,
	.sys_update = mim_sys_update,
	.sys_delete = mim_sys_delete,
	.get_next_key = mim_get_next_key,
};
