/* map_array.c - BPF_MAP_TYPE_ARRAY, PERCPU_ARRAY and PROG_ARRAY, plus kernel-mmap backed arrays. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

#define ROUND_UP(x, a)		(((x) + (a) - 1) / (a) * (a))
/* The kernel bounds a per-CPU value by PCPU_MIN_UNIT_SIZE. */
#define PCPU_MIN_UNIT_SIZE	(32u << 10)
#define ARRAY_CREATE_FLAGS	(BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | \
				 BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | \
				 BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP)

struct array_map {
	/* Values, max_entries elements of stride bytes (ARRAY).  Swapped
	 * once when a kernel mapping is attached; the previous storage is
	 * kept until the map dies, so pointers handed out stay valid. */
	_Atomic(char *) values;
	uint32_t stride;		/* round_up(value_size, 8), as the kernel */
	char *own;			/* the storage allocated here */
	size_t own_size;
	void *kmem;			/* kernel map mapping, or NULL */
	size_t kmem_size;
	pthread_mutex_t lock;		/* attach, prog array updates */

	/* PERCPU_ARRAY: one region of max_entries values per CPU slot, so
	 * two slots never share a cache line. */
	char *pcpu;
	size_t cpu_stride;
	unsigned int nr_cpus;

	/* PROG_ARRAY: the programs (references held). */
	_Atomic(struct ebpf_prog *) *progs;
	/* Programs replaced or deleted from a slot: another thread may be
	 * tail-calling into one right now and the runtime has no RCU grace
	 * period to wait for (the kernel's bpf_prog_put_rcu), so their
	 * references are dropped when the map dies.  One entry per program. */
	struct ebpf_prog **retired;
	size_t nr_retired, cap_retired;
};

static struct array_map *amap(const struct ebpf_map *map)
{
	return map->priv;
}

static int array_check(struct ebpf_map *map)
{
	bool percpu = map->type == BPF_MAP_TYPE_PERCPU_ARRAY;
	const char *n = map->name;

	/* kernel array_map_alloc_check() / fd_array_map_alloc_check() */
	if (map->key_size != 4) {
		pr_warn("map '%s': array key_size must be 4 (u32 index), got %u", n, map->key_size);
		return -EINVAL;
	}
	if (!map->value_size) {
		pr_warn("map '%s': value_size must not be 0", n);
		return -EINVAL;
	}
	if (!map->max_entries) {
		pr_warn("map '%s': max_entries must not be 0", n);
		return -EINVAL;
	}
	if (map->map_flags & ~ARRAY_CREATE_FLAGS) {
		pr_warn("map '%s': map_flags 0x%x not valid for an array map", n,
			map->map_flags & ~ARRAY_CREATE_FLAGS);
		return -EINVAL;
	}
	if ((map->map_flags & BPF_F_RDONLY_PROG) && (map->map_flags & BPF_F_WRONLY_PROG)) {
		pr_warn("map '%s': BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other", n);
		return -EINVAL;
	}
	if (percpu && (map->map_flags & BPF_F_NUMA_NODE)) {
		pr_warn("map '%s': BPF_F_NUMA_NODE is not valid for per-CPU maps", n);
		return -EINVAL;
	}
	if (map->type != BPF_MAP_TYPE_ARRAY &&
	    (map->map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))) {
		pr_warn("map '%s': BPF_F_MMAPABLE / BPF_F_INNER_MAP only apply to plain arrays", n);
		return -EINVAL;
	}
	if (map->map_flags & BPF_F_PRESERVE_ELEMS) {
		pr_warn("map '%s': BPF_F_PRESERVE_ELEMS only applies to perf event arrays", n);
		return -EINVAL;
	}
	if (map->type == BPF_MAP_TYPE_PROG_ARRAY) {
		if (map->value_size != 4) {
			pr_warn("map '%s': prog array value_size must be 4 (program id), got %u",
				n, map->value_size);
			return -EINVAL;
		}
		if (map->map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) {
			pr_warn("map '%s': prog arrays take no BPF_F_RDONLY_PROG/WRONLY_PROG", n);
			return -EINVAL;
		}
	}
	if (map->value_size > INT_MAX) {
		pr_warn("map '%s': value_size %u too large", n, map->value_size);
		return -E2BIG;
	}
	if (percpu && ROUND_UP(map->value_size, 8) > PCPU_MIN_UNIT_SIZE) {
		pr_warn("map '%s': per-CPU value_size %u exceeds %u bytes", n,
			map->value_size, PCPU_MIN_UNIT_SIZE);
		return -E2BIG;
	}
	/* The kernel rounds the element count up to a power of two for its
	 * speculation mask and refuses when that overflows u32. */
	if (map->max_entries > (1u << 31)) {
		pr_warn("map '%s': max_entries %u too large", n, map->max_entries);
		return -E2BIG;
	}
	return 0;
}

/* Zeroed, 64-byte aligned storage.  A large one comes straight from the
 * kernel: its pages are zero until first touched, so a map of gigabytes
 * costs neither time nor memory at load for the entries no program uses
 * (zeroing 3.6 GB took over 10 s under AddressSanitizer).  A small one
 * stays on the heap, where AddressSanitizer guards its edges. */
#define ARRAY_MMAP_MIN (1u << 20)

static void *zalloc_values(size_t size)
{
	void *p = NULL;

	if (size >= ARRAY_MMAP_MIN) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	if (posix_memalign(&p, 64, size ? size : 1))
		return NULL;
	memset(p, 0, size);
	return p;
}

static void free_values(void *p, size_t size)
{
	if (p && size >= ARRAY_MMAP_MIN)
		munmap(p, size);
	else
		free(p);
}

static int array_alloc(struct ebpf_map *map)
{
	struct array_map *a;
	size_t size;
	int err = array_check(map);

	if (err)
		return err;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->stride = ROUND_UP(map->value_size, 8);
	size = (size_t)a->stride * map->max_entries;

	switch (map->type) {
	case BPF_MAP_TYPE_ARRAY:
		a->own_size = size;
		a->own = zalloc_values(size);
		atomic_init(&a->values, a->own);
		if (!a->own)
			goto nomem;
		break;
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		a->nr_cpus = ebpf_nr_cpus();
		a->cpu_stride = ROUND_UP(size, 64);
		a->pcpu = zalloc_values(a->cpu_stride * a->nr_cpus);
		if (!a->pcpu)
			goto nomem;
		break;
	case BPF_MAP_TYPE_PROG_ARRAY:
		a->progs = calloc(map->max_entries, sizeof(*a->progs));
		if (!a->progs)
			goto nomem;
		break;
	}
	map->priv = a;
	return 0;
nomem:
	pr_warn("map '%s': cannot allocate %u entries of %u bytes", map->name,
		map->max_entries, map->value_size);
	free_values(a->own, a->own_size);
	free(a);
	return -ENOMEM;
}

static void array_free(struct ebpf_map *map)
{
	struct array_map *a = amap(map);

	if (a->progs) {
		for (uint32_t i = 0; i < map->max_entries; i++) {
			struct ebpf_prog *p = atomic_load(&a->progs[i]);

			if (p)
				ebpf_prog_put(p);
		}
		free(a->progs);
	}
	for (size_t i = 0; i < a->nr_retired; i++)
		ebpf_prog_put(a->retired[i]);
	free(a->retired);
	if (a->kmem)
		munmap(a->kmem, a->kmem_size);
	free_values(a->own, a->own_size);
	free_values(a->pcpu, a->cpu_stride * a->nr_cpus);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static inline char *array_elem(struct ebpf_map *map, uint32_t index)
{
	struct array_map *a = amap(map);

	return atomic_load_explicit(&a->values, memory_order_acquire) +
	       (size_t)a->stride * index;
}

static inline char *pcpu_elem(struct array_map *a, unsigned int cpu, uint32_t index)
{
	return a->pcpu + a->cpu_stride * cpu + (size_t)a->stride * index;
}

/* ---- program side --------------------------------------------------------- */

static void *array_lookup(struct ebpf_map *map, const void *key)
{
	uint32_t index = *(const uint32_t *)key;

	if (index >= map->max_entries)
		return NULL;
	return array_elem(map, index);
}

static void *percpu_array_lookup(struct ebpf_map *map, const void *key)
{
	uint32_t index = *(const uint32_t *)key;

	if (index >= map->max_entries)
		return NULL;
	return pcpu_elem(amap(map), ebpf_cpu(), index);
}

static void *array_lookup_call(void *map, const void *key)
{
	return array_lookup(map, key);
}

static void *percpu_array_lookup_call(void *map, const void *key)
{
	return percpu_array_lookup(map, key);
}

/* Inline forms for the JIT, as the kernel's array_map_gen_lookup and
 * percpu_array_map_gen_lookup: bound check, index * stride, plus the base
 * (and this CPU's region).  A plain array's base is loaded through
 * &a->values at each lookup because attaching a kernel mapping swaps it. */
static int array_gen_lookup(struct ebpf_map *map, struct ebpf_map_gen_lookup *gen)
{
	struct array_map *a = amap(map);

	memset(gen, 0, sizeof(*gen));
	gen->kind = EBPF_GEN_CALL;
	gen->arg = map;
	gen->max_entries = map->max_entries;
	gen->stride = a->stride;
	if (map->type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		gen->call = percpu_array_lookup_call;
		gen->kind = EBPF_GEN_PERCPU_ARRAY;
		gen->pcpu = a->pcpu;
		gen->cpu_stride = a->cpu_stride;
	} else {
		gen->call = array_lookup_call;
		gen->kind = EBPF_GEN_ARRAY;
		gen->base_ptr = (char *const _Atomic *)&a->values;
	}
	return 0;
}

/* kernel array_map_update_elem(): flags first, then the index (every
 * element exists, so NOEXIST can never succeed). */
static int array_check_update(struct ebpf_map *map, uint32_t index, uint64_t flags)
{
	if ((flags & ~(uint64_t)BPF_F_LOCK) > BPF_EXIST)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	if (flags & BPF_NOEXIST)
		return -EEXIST;
	/* BPF_F_LOCK needs a bpf_spin_lock in the value; ours never have one. */
	if (flags & BPF_F_LOCK)
		return -EINVAL;
	return 0;
}

static long array_update(struct ebpf_map *map, const void *key, const void *value,
			 uint64_t flags)
{
	uint32_t index = *(const uint32_t *)key;
	int err = array_check_update(map, index, flags);

	if (err)
		return err;
	memcpy(array_elem(map, index), value, map->value_size);
	return 0;
}

static long percpu_array_update(struct ebpf_map *map, const void *key,
				const void *value, uint64_t flags)
{
	uint32_t index = *(const uint32_t *)key;
	int err = array_check_update(map, index, flags);

	if (err)
		return err;
	memcpy(pcpu_elem(amap(map), ebpf_cpu(), index), value, map->value_size);
	return 0;
}

/* Array elements always exist: the kernel refuses deletion with -EINVAL. */
static long array_remove(struct ebpf_map *map, const void *key)
{
	(void)map;
	(void)key;
	return -EINVAL;
}

/* ---- user side ------------------------------------------------------------ */

static int array_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	void *p = array_lookup(map, key);

	if (!p)
		return -ENOENT;
	memcpy(value, p, map->value_size);
	return 0;
}

static int array_sys_update(struct ebpf_map *map, const void *key, const void *value,
			    uint64_t flags)
{
	return (int)array_update(map, key, value, flags);
}

/* bpf(2) moves nr_cpus values of round_up(value_size, 8) bytes, padding
 * included (the kernel's copy_map_value_long). */
static int percpu_array_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	struct array_map *a = amap(map);
	uint32_t index = *(const uint32_t *)key;

	if (index >= map->max_entries)
		return -ENOENT;
	for (unsigned int cpu = 0; cpu < a->nr_cpus; cpu++)
		memcpy((char *)value + (size_t)cpu * a->stride, pcpu_elem(a, cpu, index), a->stride);
	return 0;
}

static int percpu_array_sys_update(struct ebpf_map *map, const void *key,
				   const void *value, uint64_t flags)
{
	struct array_map *a = amap(map);
	uint32_t index = *(const uint32_t *)key;
	int err = array_check_update(map, index, flags);

	if (err)
		return err;
	for (unsigned int cpu = 0; cpu < a->nr_cpus; cpu++)
		memcpy(pcpu_elem(a, cpu, index), (const char *)value + (size_t)cpu * a->stride,
		       a->stride);
	return 0;
}

int ebpf_array_get_next_key(struct ebpf_map *map, const void *key, void *next_key)
{
	uint32_t index = key ? *(const uint32_t *)key : UINT32_MAX;

	if (index >= map->max_entries) {
		*(uint32_t *)next_key = 0;
		return 0;
	}
	if (index == map->max_entries - 1)
		return -ENOENT;
	*(uint32_t *)next_key = index + 1;
	return 0;
}

/* ld_imm64 BPF_PSEUDO_MAP_VALUE: global data sections are one-element
 * arrays (kernel array_map_direct_value_addr). */
static void *array_direct_value_addr(struct ebpf_map *map, uint32_t off)
{
	if (map->max_entries != 1 || off >= map->value_size)
		return NULL;
	return array_elem(map, 0) + off;
}

/* ---- program arrays ---------------------------------------------------------- */

struct ebpf_prog *ebpf_prog_array_lookup(struct ebpf_map *map, uint32_t index)
{
	if (!map || map->type != BPF_MAP_TYPE_PROG_ARRAY || index >= map->max_entries)
		return NULL;
	return atomic_load_explicit(&amap(map)->progs[index], memory_order_acquire);
}

static void prog_array_retire(struct array_map *a, struct ebpf_prog *old)
{
	for (size_t i = 0; i < a->nr_retired; i++) {
		if (a->retired[i] == old) {
			/* Already parked with a reference; this one can go. */
			ebpf_prog_put(old);
			return;
		}
	}
	if (a->nr_retired == a->cap_retired) {
		size_t cap = a->cap_retired ? a->cap_retired * 2 : 8;
		struct ebpf_prog **r = realloc(a->retired, cap * sizeof(*r));

		if (!r) {
			/* Cannot park it: keeping the reference (a leak) is
			 * safer than freeing code another thread may run. */
			pr_warn("prog array: out of memory, leaking a program reference");
			return;
		}
		a->retired = r;
		a->cap_retired = cap;
	}
	a->retired[a->nr_retired++] = old;
}

/* Programs may neither update nor delete prog array slots (the verifier's
 * check_map_func_compatibility); only user space does. */
static long prog_array_prog_update(struct ebpf_map *map, const void *key,
				   const void *value, uint64_t flags)
{
	(void)map; (void)key; (void)value; (void)flags;
	return -EINVAL;
}

static long prog_array_prog_remove(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return -EINVAL;
}

static void *prog_array_prog_lookup(struct ebpf_map *map, const void *key)
{
	(void)map; (void)key;
	return NULL;
}

/* kernel bpf_fd_array_map_update_elem(): only BPF_ANY; the value names a
 * program (here its runtime id instead of an fd). */
static int prog_array_sys_update(struct ebpf_map *map, const void *key,
				 const void *value, uint64_t flags)
{
	struct array_map *a = amap(map);
	uint32_t index = *(const uint32_t *)key;
	uint32_t id = *(const uint32_t *)value;
	struct ebpf_prog *prog, *old;

	if (flags != BPF_ANY)
		return -EINVAL;
	if (index >= map->max_entries)
		return -E2BIG;
	prog = ebpf_prog_by_id(id);
	if (!prog) {
		pr_warn("map '%s': no program with id %u to put at index %u",
			map->name, id, index);
		return -ENOENT;
	}
	ebpf_prog_get(prog);
	pthread_mutex_lock(&a->lock);
	old = atomic_exchange_explicit(&a->progs[index], prog, memory_order_acq_rel);
	if (old)
		prog_array_retire(a, old);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static int prog_array_sys_delete(struct ebpf_map *map, const void *key)
{
	struct array_map *a = amap(map);
	uint32_t index = *(const uint32_t *)key;
	struct ebpf_prog *old;

	if (index >= map->max_entries)
		return -E2BIG;
	pthread_mutex_lock(&a->lock);
	old = atomic_exchange_explicit(&a->progs[index], NULL, memory_order_acq_rel);
	if (old)
		prog_array_retire(a, old);
	pthread_mutex_unlock(&a->lock);
	return old ? 0 : -ENOENT;
}

/* User-space lookup answers the program's id (the kernel's
 * bpf_fd_array_map_lookup_elem answers prog->aux->id). */
static int prog_array_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	struct array_map *a = amap(map);
	uint32_t index = *(const uint32_t *)key;
	struct ebpf_prog *prog;

	if (index >= map->max_entries)
		return -ENOENT;
	pthread_mutex_lock(&a->lock);
	prog = atomic_load(&a->progs[index]);
	if (prog)
		*(uint32_t *)value = ebpf_prog_id(prog);
	pthread_mutex_unlock(&a->lock);
	return prog ? 0 : -ENOENT;
}

/* ---- kernel-mmap backing ---------------------------------------------------- */

int ebpf_map_attach_kernel_mmap(struct ebpf_map *map, int kernel_map_fd)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	struct array_map *a;
	size_t size, page = (size_t)sysconf(_SC_PAGESIZE);
	void *mem;
	int err;

	if (!map || kernel_map_fd < 0)
		return -EINVAL;
	if (map->type != BPF_MAP_TYPE_ARRAY) {
		pr_warn("map '%s': only array maps can be backed by a kernel mapping", map->name);
		return -EINVAL;
	}
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(kernel_map_fd, &info, &len);
	if (err) {
		/* libbpf returns -errno (strict mode since 1.0) */
		err = err < 0 ? err : -errno;
		pr_warn("map '%s': cannot query kernel map fd %d: %s", map->name,
			kernel_map_fd, strerror(-err));
		return err;
	}
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != 4 ||
	    info.value_size != map->value_size || info.max_entries != map->max_entries) {
		pr_warn("map '%s': kernel map (type %u, key %u, value %u, entries %u) does not "
			"match the runtime map (array, key 4, value %u, entries %u)",
			map->name, info.type, info.key_size, info.value_size, info.max_entries,
			map->value_size, map->max_entries);
		return -EINVAL;
	}
	if (!(info.map_flags & BPF_F_MMAPABLE)) {
		pr_warn("map '%s': kernel map was not created with BPF_F_MMAPABLE", map->name);
		return -EINVAL;
	}
	a = amap(map);
	/* The kernel lays the values out with the same 8-byte stride. */
	size = ROUND_UP((size_t)a->stride * map->max_entries, page);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, kernel_map_fd, 0);
	if (mem == MAP_FAILED) {
		err = -errno;
		pr_warn("map '%s': cannot mmap kernel map writable: %s (frozen or read-only map?)",
			map->name, strerror(-err));
		return err;
	}
	pthread_mutex_lock(&a->lock);
	if (a->kmem) {
		pthread_mutex_unlock(&a->lock);
		munmap(mem, size);
		pr_warn("map '%s': already backed by a kernel map", map->name);
		return -EBUSY;
	}
	/* Writers running right now may still land in the old storage;
	 * attach before programs run (the loader does it at relocation). */
	memcpy(mem, a->own, (size_t)a->stride * map->max_entries);
	a->kmem = mem;
	a->kmem_size = size;
	atomic_store_explicit(&a->values, (char *)mem, memory_order_release);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

const struct ebpf_map_ops ebpf_array_map_ops = {
	.alloc = array_alloc,
	.free = array_free,
	.lookup = array_lookup,
	.update = array_update,
	.remove = array_remove,
	.sys_lookup = array_sys_lookup,
	.sys_update = array_sys_update,
	.get_next_key = ebpf_array_get_next_key,
	.direct_value_addr = array_direct_value_addr,
	.gen_lookup = array_gen_lookup,
};

const struct ebpf_map_ops ebpf_percpu_array_map_ops = {
	.alloc = array_alloc,
	.free = array_free,
	.lookup = percpu_array_lookup,
	.update = percpu_array_update,
	.remove = array_remove,
	.sys_lookup = percpu_array_sys_lookup,
	.sys_update = percpu_array_sys_update,
	.get_next_key = ebpf_array_get_next_key,
	.gen_lookup = array_gen_lookup,
};

const struct ebpf_map_ops ebpf_prog_array_map_ops = {
	.alloc = array_alloc,
	.free = array_free,
	.lookup = prog_array_prog_lookup,
	.update = prog_array_prog_update,
	.remove = prog_array_prog_remove,
	.sys_lookup = prog_array_sys_lookup,
	.sys_update = prog_array_sys_update,
	.sys_delete = prog_array_sys_delete,
	.get_next_key = ebpf_array_get_next_key,
};
