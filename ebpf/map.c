/* map.c - map core: creation by type, references, accessors, bpf(2)-like access and CPU slots. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

static const struct ebpf_map_ops *map_type_ops(uint32_t type)
{
	switch (type) {
#define EBPF_MAP_TYPE(t, ops, percpu) case t: return &ops;
#include "ebpf/map_types.h"
#undef EBPF_MAP_TYPE
	}
	return NULL;
}

bool ebpf_map_type_supported(uint32_t type)
{
	return map_type_ops(type) != NULL;
}

static const uint32_t supported_types[] = {
#define EBPF_MAP_TYPE(t, ops, percpu) t,
#include "ebpf/map_types.h"
#undef EBPF_MAP_TYPE
};
static char supported_str[512];
static pthread_once_t supported_once = PTHREAD_ONCE_INIT;

static void build_supported_str(void)
{
	size_t used = 0, i;

	for (i = 0; i < sizeof(supported_types) / sizeof(supported_types[0]) &&
		    used < sizeof(supported_str); i++)
		used += (size_t)snprintf(supported_str + used, sizeof(supported_str) - used,
					 "%s%s", i ? ", " : "",
					 ebpf_map_type_name(supported_types[i]));
}

const char *ebpf_map_types_supported_str(void)
{
	pthread_once(&supported_once, build_supported_str);
	return supported_str;
}

const char *ebpf_map_type_name(uint32_t type)
{
	const char *n = libbpf_bpf_map_type_str(type);

	return n ? n : "unknown";
}

bool ebpf_map_type_percpu(uint32_t type)
{
	switch (type) {
#define EBPF_MAP_TYPE(t, ops, percpu) case t: return percpu;
#include "ebpf/map_types.h"
#undef EBPF_MAP_TYPE
	}
	return false;
}

/* ---- id registry: live maps by id (a map-in-map's user-space values) ---- */

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ebpf_map **registry;
static size_t registry_len, registry_cap;
static uint32_t next_id = 1;

static int registry_add(struct ebpf_map *map)
{
	int ret = 0;

	pthread_mutex_lock(&registry_lock);
	if (registry_len == registry_cap) {
		size_t cap = registry_cap ? registry_cap * 2 : 16;
		struct ebpf_map **r = realloc(registry, cap * sizeof(*r));

		if (!r) {
			ret = -ENOMEM;
			goto out;
		}
		registry = r;
		registry_cap = cap;
	}
	map->id = next_id++;
	if (!next_id)	/* 0 is never an id */
		next_id = 1;
	registry[registry_len++] = map;
out:
	pthread_mutex_unlock(&registry_lock);
	return ret;
}

static void registry_remove(struct ebpf_map *map)
{
	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len; i++) {
		if (registry[i] == map) {
			registry[i] = registry[--registry_len];
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
}

uint32_t ebpf_map_id(const struct ebpf_map *map)
{
	return map->id;
}

/* A map whose last reference is going may still be listed: it is not
 * revived (its count stays 0). */
struct ebpf_map *ebpf_map_get_by_id(uint32_t id)
{
	struct ebpf_map *found = NULL;

	pthread_mutex_lock(&registry_lock);
	for (size_t i = 0; i < registry_len && !found; i++) {
		int c;

		if (registry[i]->id != id)
			continue;
		c = atomic_load(&registry[i]->refcnt);
		while (c > 0 && !atomic_compare_exchange_weak(&registry[i]->refcnt, &c, c + 1))
			;
		if (c > 0)
			found = registry[i];
		break;
	}
	pthread_mutex_unlock(&registry_lock);
	return found;
}

int ebpf_map_create(const struct ebpf_map_spec *spec, struct ebpf_map **out)
{
	const struct ebpf_map_ops *ops;
	struct ebpf_map *map;
	const char *name;
	int err;

	if (!spec || !out)
		return -EINVAL;
	*out = NULL;
	name = spec->name ? spec->name : "";
	ops = map_type_ops(spec->type);
	if (!ops) {
		pr_warn("map '%s': map type %u is not supported by the runtime "
			"(%s are)", name, spec->type, ebpf_map_types_supported_str());
		return -EINVAL;
	}
	/* bpf(2) BPF_MAP_CREATE: read-only and write-only from user space at
	 * once is contradictory (bpf_get_file_flag). */
	if ((spec->map_flags & BPF_F_RDONLY) && (spec->map_flags & BPF_F_WRONLY)) {
		pr_warn("map '%s': map_flags has both BPF_F_RDONLY and BPF_F_WRONLY", name);
		return -EINVAL;
	}
	map = calloc(1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	/* The kernel keeps BPF_OBJ_NAME_LEN - 1 characters; libbpf truncates
	 * longer names the same way before BPF_MAP_CREATE. */
	snprintf(map->name, sizeof(map->name), "%s", name);
	map->type = spec->type;
	map->key_size = spec->key_size;
	map->value_size = spec->value_size;
	map->max_entries = spec->max_entries;
	map->map_flags = spec->map_flags;
	if (spec->inner) {
		map->inner_type = spec->inner->type;
		map->inner_key_size = spec->inner->key_size;
		map->inner_value_size = spec->inner->value_size;
		map->inner_max_entries = spec->inner->max_entries;
		map->inner_flags = spec->inner->map_flags;
	}
	map->ops = ops;
	atomic_init(&map->refcnt, 1);

	err = ops->alloc(map);
	if (!err) {
		err = registry_add(map);
		if (err)
			ops->free(map);
	}
	if (err) {
		free(map);
		return err;
	}
	*out = map;
	return 0;
}

struct ebpf_map *ebpf_map_get(struct ebpf_map *map)
{
	if (map)
		atomic_fetch_add_explicit(&map->refcnt, 1, memory_order_relaxed);
	return map;
}

void ebpf_map_put(struct ebpf_map *map)
{
	if (!map)
		return;
	if (atomic_fetch_sub_explicit(&map->refcnt, 1, memory_order_acq_rel) != 1)
		return;
	registry_remove(map);
	map->ops->free(map);
	free(map);
}

const char *ebpf_map_name(const struct ebpf_map *map) { return map->name; }
uint32_t ebpf_map_type(const struct ebpf_map *map) { return map->type; }
uint32_t ebpf_map_key_size(const struct ebpf_map *map) { return map->key_size; }
uint32_t ebpf_map_value_size(const struct ebpf_map *map) { return map->value_size; }
uint32_t ebpf_map_max_entries(const struct ebpf_map *map) { return map->max_entries; }
uint32_t ebpf_map_flags(const struct ebpf_map *map) { return map->map_flags; }

/* bpf(2) rejects a NULL key pointer (EFAULT) except for maps without keys;
 * the runtime reports it as an argument error. */
static int check_key(const struct ebpf_map *map, const void *key)
{
	return (!key && map->key_size) ? -EINVAL : 0;
}

int ebpf_map_lookup_elem(struct ebpf_map *map, const void *key, void *value)
{
	if (!map || !value || check_key(map, key))
		return -EINVAL;
	/* A BPF_F_WRONLY map gives user space no read access (FMODE_CAN_READ). */
	if (map->map_flags & BPF_F_WRONLY)
		return -EPERM;
	if (!map->ops->sys_lookup)
		return -EOPNOTSUPP;
	return map->ops->sys_lookup(map, key, value);
}

int ebpf_map_update_elem(struct ebpf_map *map, const void *key,
			 const void *value, uint64_t flags)
{
	if (!map || !value || check_key(map, key))
		return -EINVAL;
	if (map->map_flags & BPF_F_RDONLY)
		return -EPERM;
	/* BPF_F_LOCK needs a bpf_spin_lock in the value (BTF), which the
	 * runtime's maps never have: the syscall answers -EINVAL then. */
	if (flags & BPF_F_LOCK)
		return -EINVAL;
	if (!map->ops->sys_update)
		return -EOPNOTSUPP;
	return map->ops->sys_update(map, key, value, flags);
}

int ebpf_map_delete_elem(struct ebpf_map *map, const void *key)
{
	if (!map || check_key(map, key))
		return -EINVAL;
	if (map->map_flags & BPF_F_RDONLY)
		return -EPERM;
	if (map->ops->sys_delete)
		return map->ops->sys_delete(map, key);
	if (!map->ops->remove)
		return -EOPNOTSUPP;
	return (int)map->ops->remove(map, key);
}

int ebpf_map_get_next_key(struct ebpf_map *map, const void *key, void *next_key)
{
	if (!map || !next_key)
		return -EINVAL;
	if (map->map_flags & BPF_F_WRONLY)
		return -EPERM;
	if (!map->ops->get_next_key)
		return -EOPNOTSUPP;
	return map->ops->get_next_key(map, key, next_key);
}

static size_t user_value_stride(const struct ebpf_map *map)
{
	return ebpf_map_type_percpu(map->type) ? ((map->value_size + 7u) & ~7u) * ebpf_nr_cpus() :
		map->value_size;
}

int ebpf_map_update_batch(struct ebpf_map *map, const void *keys, const void *values,
			  uint32_t *count, uint64_t flags)
{
	const uint8_t *k = keys, *v = values;
	uint32_t n, i;
	size_t vs;
	int ret = 0;

	if (!map || !count || (*count && (!keys || !values)))
		return -EINVAL;
	n = *count;
	vs = user_value_stride(map);
	for (i = 0; i < n; i++) {
		ret = ebpf_map_update_elem(map, k + (size_t)i * map->key_size, v + (size_t)i * vs,
					   flags);
		if (ret)
			break;
	}
	*count = i;
	return ret;
}

int ebpf_map_delete_batch(struct ebpf_map *map, const void *keys, uint32_t *count)
{
	const uint8_t *k = keys;
	uint32_t n, i;
	int ret = 0;

	if (!map || !count || (*count && !keys))
		return -EINVAL;
	n = *count;
	for (i = 0; i < n; i++) {
		ret = ebpf_map_delete_elem(map, k + (size_t)i * map->key_size);
		if (ret)
			break;
	}
	*count = i;
	return ret;
}

int ebpf_map_lookup_batch(struct ebpf_map *map, const void *keys, void *values, uint32_t *count)
{
	const uint8_t *k = keys;
	uint8_t *v = values;
	uint32_t n, i;
	size_t vs;
	int ret = 0;

	if (!map || !count || (*count && (!keys || !values)))
		return -EINVAL;
	n = *count;
	vs = user_value_stride(map);
	for (i = 0; i < n; i++) {
		ret = ebpf_map_lookup_elem(map, k + (size_t)i * map->key_size, v + (size_t)i * vs);
		if (ret)
			break;
	}
	*count = i;
	return ret;
}

/* ---- CPU slots -------------------------------------------------------------
 * Per-CPU maps are sized like the kernel's (possible CPUs) so user space
 * moves the same number of values through either; data-path threads are
 * spread over the slots round robin. */

unsigned int ebpf_nr_cpus(void)
{
	static atomic_uint cached;
	unsigned int n = atomic_load_explicit(&cached, memory_order_relaxed);
	int possible;

	if (n)
		return n;
	possible = libbpf_num_possible_cpus();
	if (possible <= 0) {
		long online = sysconf(_SC_NPROCESSORS_CONF);

		possible = online > 0 ? (int)online : 1;
	}
	n = (unsigned int)possible;
	if (n > EBPF_MAX_CPUS)
		n = EBPF_MAX_CPUS;
	atomic_store_explicit(&cached, n, memory_order_relaxed);
	return n;
}

__thread unsigned int ebpf_thread_slot_plus1 __attribute__((tls_model("initial-exec")));

/* First use on this thread: take the next slot. */
unsigned int ebpf_thread_cpu_assign(void)
{
	static atomic_uint next_slot;

	if (!ebpf_thread_slot_plus1)
		ebpf_thread_slot_plus1 = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed)
			% ebpf_nr_cpus() + 1;
	return ebpf_thread_slot_plus1 - 1;
}

unsigned int ebpf_thread_cpu(void)
{
	return ebpf_cpu();
}
