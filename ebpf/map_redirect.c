/* map_redirect.c - redirect target maps (devmap, devmap_hash, cpumap, xskmap): slots as the kernel keeps them; an xskmap slot holds a raw-frame socket of the host, a devmap slot only a device the host sends on. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/internal.h"

/* What a slot of these maps means inside the engine (docs/runtime.md):
 * the kernel's checks on every update are kept, so an object behaves as
 * it does in the kernel, and bpf_redirect_map finds a slot full or empty
 * exactly when the kernel would.  An xskmap slot holds the id of one of
 * the host's raw-frame sockets (the engine's, struct ebpf_host
 * xsk_check), to which the engine hands a redirected frame.  A devmap
 * slot may only name a device the host can send on (devmap_check: the
 * engine's interface), which the engine transmits the frame out of; a
 * cpumap slot hands the frame on to the engine's own path (the hooks'
 * redirect op, core/daemon/hooks_ebpf.c).
 *
 * Slots live in a hash map of the runtime keyed by the u32 key: lookups
 * are lock-free and a value never moves while the map lives, which is
 * what the program side needs.  The array types (devmap, cpumap, xskmap)
 * bound the key by max_entries and iterate keys in index order. */

/* include/uapi/linux/bpf.h struct bpf_devmap_val / bpf_cpumap_val: the
 * first u32 (ifindex, qsize), then an optional program fd/id. */
#define TARGET_VAL_MIN		4u
#define TARGET_VAL_WITH_PROG	8u
#define CPUMAP_QSIZE_MAX	16384u	/* kernel/bpf/cpumap.c: 16k frames */

static struct ebpf_map *slots(const struct ebpf_map *map)
{
	return map->priv;
}

static bool is_array_kind(const struct ebpf_map *map)
{
	return map->type != BPF_MAP_TYPE_DEVMAP_HASH;
}

static int target_alloc(struct ebpf_map *map)
{
	struct ebpf_map_spec spec = {
		.name = map->name, .type = BPF_MAP_TYPE_HASH, .key_size = 4,
		.value_size = map->value_size, .max_entries = map->max_entries,
	};
	struct ebpf_map *h;
	int ret;

	/* kernel/bpf/devmap.c dev_map_init_map, cpumap.c cpu_map_alloc,
	 * xskmap.c xsk_map_alloc: a u32 key; the value sizes each allows. */
	if (map->key_size != 4 || !map->max_entries)
		return -EINVAL;
	switch (map->type) {
	case BPF_MAP_TYPE_XSKMAP:
		if (map->value_size != 4)
			return -EINVAL;
		break;
	default:
		if (map->value_size != TARGET_VAL_MIN && map->value_size != TARGET_VAL_WITH_PROG)
			return -EINVAL;
	}
	ret = ebpf_map_create(&spec, &h);
	if (ret)
		return ret;
	map->priv = h;
	return 0;
}

static void target_free(struct ebpf_map *map)
{
	ebpf_map_put(slots(map));
}

static uint32_t key_of(const void *key)
{
	uint32_t k;

	memcpy(&k, key, sizeof(k));
	return k;
}

/* Program side: the value (devmap, devmap_hash; cpumap and xskmap
 * through bpf_redirect_map only, as the verifier allows), or NULL for an
 * empty slot. */
static void *target_lookup(struct ebpf_map *map, const void *key)
{
	if (is_array_kind(map) && key_of(key) >= map->max_entries)
		return NULL;
	return slots(map)->ops->lookup(slots(map), key);
}

/* The verifier allows programs only lookup and bpf_redirect_map on these. */
static long target_prog_update(struct ebpf_map *map, const void *key, const void *value,
			       uint64_t flags)
{
	(void)map; (void)key; (void)value; (void)flags;
	return -EOPNOTSUPP;
}

static int target_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	void *v;

	/* kernel/bpf/xskmap.c xsk_map_lookup_elem_sys: user space may not
	 * read socket slots. */
	if (map->type == BPF_MAP_TYPE_XSKMAP)
		return -EOPNOTSUPP;
	v = target_lookup(map, key);
	if (!v)
		return -ENOENT;
	memcpy(value, v, map->value_size);
	return 0;
}

static bool ifindex_exists(uint32_t ifindex)
{
	char name[IF_NAMESIZE];

	return if_indextoname(ifindex, name) != NULL;
}

/* The second u32 of a value with a program slot: a program to run on
 * the redirected frame (BPF_XDP_DEVMAP / BPF_XDP_CPUMAP), which the
 * runtime does not support. */
static bool has_prog(const struct ebpf_map *map, const void *value)
{
	uint32_t prog = 0;

	if (map->value_size == TARGET_VAL_WITH_PROG)
		memcpy(&prog, (const uint8_t *)value + 4, sizeof(prog));
	return (int32_t)prog > 0;
}

/* A device for a devmap slot: one of the netns (the kernel's last check,
 * -EINVAL), then one the host can send on (-EXDEV: the engine has no way
 * to transmit out of another device, so the slot stays empty and a
 * program finds it so, rather than redirecting into nothing). */
static int device_check(uint32_t ifindex)
{
	if (!ifindex_exists(ifindex))
		return -EINVAL;
	return ebpf_host_devmap_check(ifindex);
}

static int slot_clear(struct ebpf_map *map, const void *key)
{
	int ret = ebpf_map_delete_elem(slots(map), key);

	return ret == -ENOENT ? 0 : ret;
}

/* The order of the checks is the kernel's, so the same bad update gets
 * the same errno: kernel/bpf/devmap.c __dev_map_update_elem and
 * __dev_map_hash_update_elem, cpumap.c cpu_map_update_elem.  Devices are
 * looked up in this process's netns, as the kernel twin's are. */
static int devmap_update(struct ebpf_map *map, const void *key, uint32_t ifindex,
			 const void *value, uint64_t flags)
{
	int ret;

	if (key_of(key) >= map->max_entries)
		return -E2BIG;
	if (flags == BPF_NOEXIST)
		return -EEXIST;		/* every slot of an array exists */
	if (!ifindex)
		return has_prog(map, value) ? -EINVAL : slot_clear(map, key);
	if (has_prog(map, value))
		return -EOPNOTSUPP;
	ret = device_check(ifindex);
	if (ret)
		return ret;
	return ebpf_map_update_elem(slots(map), key, value, BPF_ANY);
}

static int devmap_hash_update(struct ebpf_map *map, const void *key, uint32_t ifindex,
			      const void *value, uint64_t flags)
{
	int ret;

	if (!ifindex)
		return -EINVAL;
	/* BPF_NOEXIST is checked; with BPF_EXIST a missing key is added. */
	if (flags == BPF_NOEXIST && target_lookup(map, key))
		return -EEXIST;
	if (has_prog(map, value))
		return -EOPNOTSUPP;
	ret = device_check(ifindex);
	if (ret)
		return ret;
	return ebpf_map_update_elem(slots(map), key, value,
				    flags == BPF_NOEXIST ? BPF_NOEXIST : BPF_ANY);
}

static int cpumap_update(struct ebpf_map *map, const void *key, uint32_t qsize,
			 const void *value, uint64_t flags)
{
	if (key_of(key) >= map->max_entries)
		return -E2BIG;
	if (flags == BPF_NOEXIST)
		return -EEXIST;
	if (qsize > CPUMAP_QSIZE_MAX)
		return -EOVERFLOW;
	if (key_of(key) >= ebpf_nr_cpus())
		return -ENODEV;
	if (!qsize)
		return slot_clear(map, key);
	if (has_prog(map, value))
		return -EOPNOTSUPP;
	return ebpf_map_update_elem(slots(map), key, value, BPF_ANY);
}

/* kernel/bpf/xskmap.c xsk_map_update_elem: flags, then the key, then the
 * socket (an fd there, a raw-frame socket id of the host here), then
 * BPF_NOEXIST/BPF_EXIST against the slot. */
static int xskmap_update(struct ebpf_map *map, const void *key, uint32_t id, uint64_t flags)
{
	const uint32_t *old;
	int ret;

	if (key_of(key) >= map->max_entries)
		return -E2BIG;
	ret = ebpf_host_xsk_check(id);
	if (ret)
		return ret;
	old = target_lookup(map, key);
	if (old && *old == id)
		return 0;
	if (old && flags == BPF_NOEXIST)
		return -EEXIST;
	if (!old && flags == BPF_EXIST)
		return -ENOENT;
	return ebpf_map_update_elem(slots(map), key, &id, BPF_ANY);
}

static int target_sys_update(struct ebpf_map *map, const void *key, const void *value,
			     uint64_t flags)
{
	uint32_t first;

	if (flags > BPF_EXIST)
		return -EINVAL;
	memcpy(&first, value, sizeof(first));
	switch (map->type) {
	case BPF_MAP_TYPE_DEVMAP:
		return devmap_update(map, key, first, value, flags);
	case BPF_MAP_TYPE_DEVMAP_HASH:
		return devmap_hash_update(map, key, first, value, flags);
	case BPF_MAP_TYPE_CPUMAP:
		return cpumap_update(map, key, first, value, flags);
	}
	return xskmap_update(map, key, first, flags);
}

static int target_sys_delete(struct ebpf_map *map, const void *key)
{
	if (!is_array_kind(map))
		return ebpf_map_delete_elem(slots(map), key);
	if (key_of(key) >= map->max_entries)
		return -EINVAL;
	return slot_clear(map, key);
}

static long target_prog_remove(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return -EOPNOTSUPP;
}

/* Array kinds walk every index, full or not (devmap.c dev_map_get_next_key);
 * devmap_hash walks its hash. */
static int target_get_next_key(struct ebpf_map *map, const void *key, void *next_key)
{
	uint32_t k, next;

	if (!is_array_kind(map))
		return ebpf_map_get_next_key(slots(map), key, next_key);
	k = key ? key_of(key) : UINT32_MAX;
	if (!key || k >= map->max_entries)
		next = 0;
	else if (k == map->max_entries - 1)
		return -ENOENT;
	else
		next = k + 1;
	memcpy(next_key, &next, sizeof(next));
	return 0;
}

int ebpf_xskmap_forget(struct ebpf_map *map, uint32_t id)
{
	uint32_t key;
	int n = 0;

	if (map->type != BPF_MAP_TYPE_XSKMAP)
		return -EINVAL;
	for (key = 0; key < map->max_entries; key++) {
		const uint32_t *v = target_lookup(map, &key);

		if (v && *v == id && !slot_clear(map, &key))
			n++;
	}
	return n;
}

int ebpf_devmap_targets(struct ebpf_map *map, uint32_t exclude_ifindex, uint32_t ifindex,
			uint32_t *same)
{
	uint32_t key, next, n = 0, steps = 0;
	const void *prev = NULL;

	*same = 0;
	if (map->type != BPF_MAP_TYPE_DEVMAP && map->type != BPF_MAP_TYPE_DEVMAP_HASH)
		return -EINVAL;
	/* Walk the slots themselves: only full ones, for either kind.  A
	 * slot emptied meanwhile restarts the walk; the bound keeps that
	 * from going on (the kernel walks under RCU, a copy per slot seen). */
	while (steps++ < map->max_entries && !ebpf_map_get_next_key(slots(map), prev, &next)) {
		const uint32_t *v = slots(map)->ops->lookup(slots(map), &next);

		key = next;
		prev = &key;
		if (!v || (exclude_ifindex && *v == exclude_ifindex))
			continue;
		n++;
		if (*v == ifindex)
			(*same)++;
	}
	return (int)n;
}

const struct ebpf_map_ops ebpf_redirect_target_map_ops = {
	.alloc = target_alloc,
	.free = target_free,
	.lookup = target_lookup,
	.update = target_prog_update,
	.remove = target_prog_remove,
	.sys_lookup = target_sys_lookup,
	.sys_update = target_sys_update,
	.sys_delete = target_sys_delete,
	.get_next_key = target_get_next_key,
};
