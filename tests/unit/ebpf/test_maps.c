/* test_maps.c - unit tests of the runtime's maps: every type, flag and error path. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "ebpf/internal.h"
#include "tests/unit/test.h"

static struct ebpf_map *mk(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	struct ebpf_map_spec spec = { .name = "t", .type = type, .key_size = ks,
				      .value_size = vs, .max_entries = max, .map_flags = flags };
	struct ebpf_map *m = NULL;
	int err = ebpf_map_create(&spec, &m);

	ck_assert_msg(err == 0, "create type %u: %d", type, err);
	return m;
}

static int mk_err(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	struct ebpf_map_spec spec = { .name = "bad", .type = type, .key_size = ks,
				      .value_size = vs, .max_entries = max, .map_flags = flags };
	struct ebpf_map *m = (void *)1;
	int err = ebpf_map_create(&spec, &m);

	if (!err)
		ebpf_map_put(m);
	else
		ck_assert_ptr_null(m);
	return err;
}

/* ---- creation -------------------------------------------------------------- */

START_TEST(test_create_validation)
{
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 8, 8, 4, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY | BPF_F_WRONLY), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 4, 0), -E2BIG);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_HASH, 0, 8, 4, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_HASH, 4, 0, 4, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_HASH, 4, 8, 0, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_HASH, 4, 5u << 20, 4, 0), -E2BIG);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC), -EOPNOTSUPP);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_LPM_TRIE, 4, 8, 4, BPF_F_NO_PREALLOC), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_LPM_TRIE, 261, 8, 4, BPF_F_NO_PREALLOC), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_LPM_TRIE, 8, 0, 4, BPF_F_NO_PREALLOC), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096 + 1, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_RDONLY_PROG), -EINVAL);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_SOCKMAP, 4, 4, 4, 0), -EINVAL);
	/* valid ones */
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC), 0);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0), 0);
	ck_assert_int_eq(mk_err(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG), 0);
}
END_TEST

START_TEST(test_accessors_refcount)
{
	struct ebpf_map_spec spec = { .name = "a_rather_long_map_name_here", .type = BPF_MAP_TYPE_HASH,
				      .key_size = 4, .value_size = 12, .max_entries = 7,
				      .map_flags = BPF_F_NO_PREALLOC };
	struct ebpf_map *m;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_str_eq(ebpf_map_name(m), "a_rather_long_m");	/* 15 chars, as the kernel */
	ck_assert_uint_eq(ebpf_map_type(m), BPF_MAP_TYPE_HASH);
	ck_assert_uint_eq(ebpf_map_key_size(m), 4);
	ck_assert_uint_eq(ebpf_map_value_size(m), 12);
	ck_assert_uint_eq(ebpf_map_max_entries(m), 7);
	ck_assert_uint_eq(ebpf_map_flags(m), BPF_F_NO_PREALLOC);
	ck_assert_ptr_eq(ebpf_map_get(m), m);
	ck_assert_int_eq(atomic_load(&m->refcnt), 2);
	ebpf_map_put(m);
	ck_assert_int_eq(atomic_load(&m->refcnt), 1);
	ck_assert_int_eq(ebpf_map_lookup_elem(NULL, "k", "v"), -EINVAL);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, NULL, &spec), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(m, "kkkk", NULL, 0), -EINVAL);
	ck_assert_int_eq(ebpf_map_get_next_key(m, NULL, NULL), -EINVAL);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_rdonly_wronly)
{
	struct ebpf_map *ro = mk(BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY);
	struct ebpf_map *wo = mk(BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_WRONLY);
	uint32_t k = 1, v = 2, out;

	ck_assert_int_eq(ebpf_map_update_elem(ro, &k, &v, 0), -EPERM);
	ck_assert_int_eq(ebpf_map_delete_elem(ro, &k), -EPERM);
	ck_assert_int_eq(ebpf_map_lookup_elem(ro, &k, &out), -ENOENT);
	/* programs still write a BPF_F_RDONLY map */
	ck_assert_int_eq(ro->ops->update(ro, &k, &v, 0), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(ro, &k, &out), 0);
	ck_assert_uint_eq(out, 2);
	ck_assert_int_eq(ebpf_map_update_elem(wo, &k, &v, 0), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(wo, &k, &out), -EPERM);
	ck_assert_int_eq(ebpf_map_get_next_key(wo, NULL, &out), -EPERM);
	ebpf_map_put(ro);
	ebpf_map_put(wo);
}
END_TEST

/* ---- arrays -------------------------------------------------------------------- */

START_TEST(test_array)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_ARRAY, 4, 12, 5, 0);
	uint8_t v[12], out[12];
	uint32_t k, next;
	char *p0, *p1;

	memset(v, 0xab, sizeof(v));
	k = 0;
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), 0);
	for (int i = 0; i < 12; i++)
		ck_assert_uint_eq(out[i], 0);	/* zero-initialised */
	k = 4;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, BPF_EXIST), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, BPF_NOEXIST), -EEXIST);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, BPF_F_LOCK), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, 3), -EINVAL);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), 0);
	ck_assert_mem_eq(out, v, 12);
	k = 5;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, BPF_ANY), -E2BIG);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, v, 3), -EINVAL);	/* flags first */
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), -ENOENT);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -EINVAL);
	k = 0;
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -EINVAL);

	/* program side: 8-byte stride, NULL out of range */
	k = 0;
	p0 = m->ops->lookup(m, &k);
	k = 1;
	p1 = m->ops->lookup(m, &k);
	ck_assert_ptr_nonnull(p0);
	ck_assert_int_eq(p1 - p0, 16);
	ck_assert_int_eq((uintptr_t)p0 % 8, 0);
	k = 5;
	ck_assert_ptr_null(m->ops->lookup(m, &k));
	k = 1;
	ck_assert_int_eq(m->ops->update(m, &k, v, BPF_NOEXIST), -EEXIST);
	ck_assert_int_eq(m->ops->update(m, &k, v, BPF_F_LOCK), -EINVAL);
	ck_assert_int_eq(m->ops->update(m, &k, v, 0), 0);
	ck_assert_mem_eq(p1, v, 12);
	ck_assert_int_eq(m->ops->remove(m, &k), -EINVAL);

	/* get_next_key: NULL or out of range -> 0; last -> -ENOENT */
	ck_assert_int_eq(ebpf_map_get_next_key(m, NULL, &next), 0);
	ck_assert_uint_eq(next, 0);
	k = 77;
	ck_assert_int_eq(ebpf_map_get_next_key(m, &k, &next), 0);
	ck_assert_uint_eq(next, 0);
	k = 2;
	ck_assert_int_eq(ebpf_map_get_next_key(m, &k, &next), 0);
	ck_assert_uint_eq(next, 3);
	k = 4;
	ck_assert_int_eq(ebpf_map_get_next_key(m, &k, &next), -ENOENT);

	/* direct value address only for one-element arrays */
	ck_assert_ptr_null(m->ops->direct_value_addr(m, 0));
	ebpf_map_put(m);

	m = mk(BPF_MAP_TYPE_ARRAY, 4, 20, 1, BPF_F_MMAPABLE);
	k = 0;
	p0 = m->ops->lookup(m, &k);
	ck_assert_ptr_eq(m->ops->direct_value_addr(m, 0), p0);
	ck_assert_ptr_eq(m->ops->direct_value_addr(m, 19), p0 + 19);
	ck_assert_ptr_null(m->ops->direct_value_addr(m, 20));
	ck_assert_ptr_null(ebpf_percpu_array_map_ops.direct_value_addr);
	ebpf_map_put(m);
}
END_TEST

struct slot_arg {
	struct ebpf_map *map;
	unsigned int cpu;
	uint32_t val;
	void *ptr;
};

static void *percpu_writer(void *arg)
{
	struct slot_arg *a = arg;
	uint32_t k = 1;

	a->cpu = ebpf_thread_cpu();
	ck_assert_int_eq(a->map->ops->update(a->map, &k, &a->val, BPF_ANY), 0);
	a->ptr = a->map->ops->lookup(a->map, &k);
	return NULL;
}

START_TEST(test_percpu_array)
{
	unsigned int n = ebpf_nr_cpus();
	struct ebpf_map *m = mk(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 3, 0);
	uint8_t *buf = calloc(n, 8), *buf2 = calloc(n, 8);
	struct slot_arg a = { .map = m, .val = 0x1234 };
	pthread_t th;
	uint32_t k = 1, v = 7, *p;
	unsigned int me = ebpf_thread_cpu();

	ck_assert_uint_ge(n, 1);
	ck_assert_uint_le(n, EBPF_MAX_CPUS);
	ck_assert_uint_eq(ebpf_thread_cpu(), me);	/* stable per thread */
	/* program side writes only this thread's slot */
	ck_assert_int_eq(m->ops->update(m, &k, &v, BPF_ANY), 0);
	p = m->ops->lookup(m, &k);
	ck_assert_uint_eq(*p, 7);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, buf), 0);
	for (unsigned int c = 0; c < n; c++)
		ck_assert_uint_eq(*(uint32_t *)(buf + 8 * c), c == me ? 7u : 0u);

	/* another thread gets the next slot round robin */
	pthread_create(&th, NULL, percpu_writer, &a);
	pthread_join(th, NULL);
	if (n > 1) {
		ck_assert_uint_ne(a.cpu, me);
		ck_assert_ptr_ne(a.ptr, p);
		ck_assert_uint_eq(*p, 7);
	}
	ck_assert_uint_eq(*(uint32_t *)a.ptr, 0x1234);

	/* user side moves n values of round_up(4, 8) bytes, padding included */
	for (unsigned int c = 0; c < n; c++) {
		memset(buf + 8 * c, (int)c + 1, 8);
	}
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, buf, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, buf, BPF_NOEXIST), -EEXIST);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, buf2), 0);
	ck_assert_mem_eq(buf, buf2, 8 * n);
	ck_assert_uint_eq(*p, 0x01010101u * (me + 1));
	k = 3;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, buf, BPF_ANY), -E2BIG);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, buf2), -ENOENT);
	ck_assert_ptr_null(m->ops->lookup(m, &k));
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -EINVAL);
	free(buf);
	free(buf2);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_prog_array)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct ebpf_prog_opts opts = { .sz = sizeof(opts), .name = "tail",
				       .engine = EBPF_ENGINE_INTERP };
	struct ebpf_map *m = mk(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	struct ebpf_prog *prog = NULL;
	uint32_t k = 2, id, out, bogus = 0xfffffff0u;
	int err;

	err = ebpf_prog_load_raw(insns, 2, &opts, &prog);
	ck_assert_msg(err == 0, "load_raw: %d", err);
	id = ebpf_prog_id(prog);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &out), -ENOENT);
	ck_assert_ptr_null(ebpf_prog_array_lookup(m, k));
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &id, BPF_NOEXIST), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &id, BPF_EXIST), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &bogus, BPF_ANY), -ENOENT);
	k = 4;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &id, BPF_ANY), -E2BIG);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -E2BIG);
	ck_assert_ptr_null(ebpf_prog_array_lookup(m, k));
	k = 2;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &id, BPF_ANY), 0);
	ck_assert_int_eq(atomic_load(&prog->refcnt), 2);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &out), 0);
	ck_assert_uint_eq(out, id);
	ck_assert_ptr_eq(ebpf_prog_array_lookup(m, k), prog);
	ck_assert_uint_eq(ebpf_prog_run(ebpf_prog_array_lookup(m, k), NULL), 2);
	/* re-inserting the same program keeps one reference for the slot and
	 * at most one parked for threads that may still be running it */
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &id, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &id, BPF_ANY), 0);
	ck_assert_int_le(atomic_load(&prog->refcnt), 3);
	/* programs may not change prog arrays */
	ck_assert_int_eq(m->ops->update(m, &k, &id, BPF_ANY), -EINVAL);
	ck_assert_int_eq(m->ops->remove(m, &k), -EINVAL);
	ck_assert_ptr_null(m->ops->lookup(m, &k));
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -ENOENT);
	ck_assert_ptr_null(ebpf_prog_array_lookup(m, k));
	ck_assert_ptr_null(ebpf_prog_array_lookup(NULL, 0));
	ebpf_map_put(m);	/* drops the parked reference */
	ck_assert_int_eq(atomic_load(&prog->refcnt), 1);
	ebpf_prog_put(prog);
}
END_TEST

/* ---- hash maps ------------------------------------------------------------------- */

START_TEST(test_hash)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_HASH, 6, 10, 4, 0);
	char k[6] = "key_0", v[10] = "value_0..", out[10];
	char *p;
	int seen = 0;

	ck_assert_int_eq(ebpf_map_lookup_elem(m, k, out), -ENOENT);
	ck_assert_int_eq(ebpf_map_delete_elem(m, k), -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_EXIST), -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, 3), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_F_LOCK), -EINVAL);
	ck_assert_int_eq(m->ops->update(m, k, v, BPF_F_LOCK | BPF_ANY), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_NOEXIST), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_NOEXIST), -EEXIST);
	v[6] = '1';
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_EXIST), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, k, out), 0);
	ck_assert_mem_eq(out, v, 10);
	p = m->ops->lookup(m, k);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq((uintptr_t)p % 8, 0);
	ck_assert_mem_eq(p, v, 10);
	for (int i = 1; i < 4; i++) {
		k[4] = '0' + i;
		ck_assert_int_eq(m->ops->update(m, k, v, BPF_ANY), 0);
	}
	k[4] = '9';
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_ANY), -E2BIG);
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_EXIST), -ENOENT);
	/* replacing an existing key works when full */
	k[4] = '2';
	v[6] = '2';
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, k, out), 0);
	ck_assert_mem_eq(out, v, 10);

	/* get_next_key walks every key exactly once */
	char cur[6], nxt[6];
	int rc = ebpf_map_get_next_key(m, NULL, nxt);

	while (rc == 0) {
		ck_assert_int_eq(memcmp(nxt, "key_", 4), 0);
		ck_assert(nxt[4] >= '0' && nxt[4] <= '3');
		seen |= 1 << (nxt[4] - '0');
		memcpy(cur, nxt, 6);
		rc = ebpf_map_get_next_key(m, cur, nxt);
	}
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_int_eq(seen, 0xf);
	/* a key not in the map restarts from the first */
	char first[6], missing[6] = "nokey";

	ck_assert_int_eq(ebpf_map_get_next_key(m, NULL, first), 0);
	ck_assert_int_eq(ebpf_map_get_next_key(m, missing, nxt), 0);
	ck_assert_mem_eq(nxt, first, 6);

	/* delete, and the freed element is recycled: the old pointer stays
	 * valid memory (kernel preallocation semantics) */
	k[4] = '0';
	p = m->ops->lookup(m, k);
	ck_assert_int_eq(m->ops->remove(m, k), 0);
	ck_assert_int_eq(ebpf_map_delete_elem(m, k), -ENOENT);
	ck_assert_ptr_null(m->ops->lookup(m, k));
	k[4] = '9';
	ck_assert_int_eq(ebpf_map_update_elem(m, k, v, BPF_NOEXIST), 0);
	ck_assert(p[0] != 0x7f);	/* readable */
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_hash_many)
{
	/* more keys than buckets' worth of collisions; delete half, reinsert */
	const uint32_t n = 5000;
	struct ebpf_map *m = mk(BPF_MAP_TYPE_HASH, 8, 8, n, BPF_F_ZERO_SEED);
	uint64_t k, v, cnt = 0, cur, nxt;

	for (k = 0; k < n; k++) {
		v = k * 3;
		ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), 0);
	}
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), -E2BIG);
	for (k = 0; k < n; k += 2)
		ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	for (k = 0; k < n; k++) {
		int rc = ebpf_map_lookup_elem(m, &k, &v);

		if (k % 2) {
			ck_assert_int_eq(rc, 0);
			ck_assert_uint_eq(v, k * 3);
		} else {
			ck_assert_int_eq(rc, -ENOENT);
		}
	}
	for (int rc = ebpf_map_get_next_key(m, NULL, &nxt); !rc;
	     rc = ebpf_map_get_next_key(m, &cur, &nxt)) {
		ck_assert_uint_eq(nxt % 2, 1);
		cnt++;
		cur = nxt;
	}
	ck_assert_uint_eq(cnt, n / 2);
	for (k = n; k < n + n / 2; k++)
		ck_assert_int_eq(ebpf_map_update_elem(m, &k, &k, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &k, BPF_ANY), -E2BIG);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_percpu_hash)
{
	unsigned int n = ebpf_nr_cpus(), me = ebpf_thread_cpu();
	struct ebpf_map *m = mk(BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 2, 0);
	uint8_t *buf = calloc(n, 16), *out = calloc(n, 16);
	uint32_t k = 9;
	uint8_t v[12];
	uint8_t *p;

	memset(v, 0x55, sizeof(v));
	for (unsigned int c = 0; c < n; c++)
		memset(buf + 16 * c, 0x10 + (int)c, 16);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, buf, BPF_EXIST), -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, buf, BPF_NOEXIST), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), 0);
	ck_assert_mem_eq(out, buf, 16 * n);
	p = m->ops->lookup(m, &k);
	ck_assert_uint_eq(p[0], 0x10 + me);
	/* program update of an existing key touches this slot only */
	ck_assert_int_eq(m->ops->update(m, &k, v, BPF_EXIST), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), 0);
	for (unsigned int c = 0; c < n; c++)
		ck_assert_uint_eq(out[16 * c], c == me ? 0x55 : 0x10 + c);
	/* a new key from a program: other slots zeroed */
	k = 10;
	ck_assert_int_eq(m->ops->update(m, &k, v, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), 0);
	for (unsigned int c = 0; c < n; c++)
		ck_assert_uint_eq(out[16 * c + 3], c == me ? 0x55 : 0);
	k = 11;
	ck_assert_int_eq(m->ops->update(m, &k, v, BPF_ANY), -E2BIG);
	k = 9;
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), -ENOENT);
	free(buf);
	free(out);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_lru_eviction)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8, 0);
	uint32_t k;
	uint64_t v;

	for (k = 0; k < 8; k++) {
		v = k;
		ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), 0);
	}
	/* keys 0..3 are used by a program; 4..7 are not */
	for (k = 0; k < 4; k++)
		ck_assert_ptr_nonnull(m->ops->lookup(m, &k));
	/* a full LRU map evicts instead of failing */
	for (k = 100; k < 104; k++) {
		v = k;
		ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), 0);
	}
	for (k = 0; k < 4; k++) {
		ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &v), 0);
		ck_assert_uint_eq(v, k);
	}
	for (k = 4; k < 8; k++)
		ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &v), -ENOENT);
	for (k = 100; k < 104; k++)
		ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &v), 0);
	/* many more inserts: never an error, never more than max_entries */
	for (k = 1000; k < 1100; k++)
		ck_assert_int_eq(m->ops->update(m, &k, &v, BPF_ANY), 0);
	uint32_t cur, nxt, cnt = 0;

	for (int rc = ebpf_map_get_next_key(m, NULL, &nxt); !rc;
	     rc = ebpf_map_get_next_key(m, &cur, &nxt)) {
		cnt++;
		cur = nxt;
	}
	ck_assert_uint_eq(cnt, 8);
	k = 1099;
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &v), 0);	/* newest survives */
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), -EEXIST);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 3), -EINVAL);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_EXIST), -ENOENT);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_lru_percpu)
{
	unsigned int n = ebpf_nr_cpus(), me = ebpf_thread_cpu();
	struct ebpf_map *m = mk(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 4, 0);
	uint64_t *buf = calloc(n, 8);
	uint32_t k, v;

	for (k = 0; k < 10; k++) {
		v = k + 1;
		ck_assert_int_eq(m->ops->update(m, &k, &v, BPF_ANY), 0);
	}
	k = 9;
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, buf), 0);
	for (unsigned int c = 0; c < n; c++)
		ck_assert_uint_eq((uint32_t)buf[c], c == me ? 10 : 0);
	ck_assert_uint_eq(*(uint32_t *)m->ops->lookup(m, &k), 10);
	k = 0;
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, buf), -ENOENT);
	free(buf);
	ebpf_map_put(m);

	/* BPF_F_NO_COMMON_LRU rounds max_entries to whole CPUs, as the kernel */
	m = mk(BPF_MAP_TYPE_LRU_HASH, 4, 4, 3, BPF_F_NO_COMMON_LRU);
	ck_assert_uint_eq(ebpf_map_max_entries(m) % n, 0);
	ck_assert_uint_ge(ebpf_map_max_entries(m), 3);
	ebpf_map_put(m);
}
END_TEST

/* ---- LPM trie ----------------------------------------------------------------------- */

struct k4 {
	uint32_t prefixlen;
	uint8_t addr[4];
};

struct k16 {
	uint32_t prefixlen;
	uint8_t addr[16];
};

static struct k4 v4(const char *s, uint32_t plen)
{
	struct k4 k = { .prefixlen = plen };

	ck_assert_int_eq(inet_pton(AF_INET, s, k.addr), 1);
	return k;
}

static struct k16 v6(const char *s, uint32_t plen)
{
	struct k16 k = { .prefixlen = plen };

	ck_assert_int_eq(inet_pton(AF_INET6, s, k.addr), 1);
	return k;
}

static int lpm4(struct ebpf_map *m, const char *addr)
{
	struct k4 k = v4(addr, 32);
	uint32_t v;
	uint32_t *p = m->ops->lookup(m, &k);
	int rc = ebpf_map_lookup_elem(m, &k, &v);

	if (rc)
		return rc;
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(*p, v);
	return (int)v;
}

START_TEST(test_lpm_ipv4)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC);
	static const struct { const char *a; uint32_t pl, v; } rules[] = {
		{ "0.0.0.0", 0, 1 }, { "10.0.0.0", 8, 2 }, { "10.1.0.0", 16, 3 },
		{ "10.1.2.0", 24, 4 }, { "192.168.0.0", 16, 5 }, { "10.1.3.7", 32, 6 },
		{ "10.128.0.0", 9, 7 },
	};
	struct k4 k;
	uint32_t v;

	ck_assert_int_eq(lpm4(m, "1.2.3.4"), -ENOENT);
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		k = v4(rules[i].a, rules[i].pl);
		ck_assert_int_eq(ebpf_map_update_elem(m, &k, &rules[i].v, BPF_NOEXIST), 0);
	}
	ck_assert_int_eq(lpm4(m, "10.1.2.200"), 4);
	ck_assert_int_eq(lpm4(m, "10.1.3.7"), 6);
	ck_assert_int_eq(lpm4(m, "10.1.3.8"), 3);
	ck_assert_int_eq(lpm4(m, "10.2.0.1"), 2);
	ck_assert_int_eq(lpm4(m, "10.200.0.1"), 7);
	ck_assert_int_eq(lpm4(m, "192.168.255.1"), 5);
	ck_assert_int_eq(lpm4(m, "8.8.8.8"), 1);
	/* a shorter lookup prefix only matches shorter rules */
	k = v4("10.1.2.3", 20);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &v), 0);
	ck_assert_uint_eq(v, 3);

	/* flags */
	k = v4("10.1.0.0", 16);
	v = 33;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), -EEXIST);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_EXIST), 0);
	ck_assert_int_eq(lpm4(m, "10.1.9.9"), 33);
	k = v4("10.1.0.0", 15);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_EXIST), -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 3), -EINVAL);
	k.prefixlen = 33;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), -EINVAL);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -EINVAL);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &v), -ENOENT);

	/* get_next_key: post-order, most specific first */
	static const char *order[] = { "10.1.2.0/24", "10.1.3.7/32", "10.1.0.0/16",
				       "10.128.0.0/9", "10.0.0.0/8", "192.168.0.0/16",
				       "0.0.0.0/0" };
	struct k4 cur, nxt;
	size_t i = 0;
	int rc;

	for (rc = ebpf_map_get_next_key(m, NULL, &nxt); !rc;
	     rc = ebpf_map_get_next_key(m, &cur, &nxt), i++) {
		char buf[32], want[48];

		ck_assert_uint_lt(i, 7);
		inet_ntop(AF_INET, nxt.addr, buf, sizeof(buf));
		snprintf(want, sizeof(want), "%s/%u", buf, nxt.prefixlen);
		ck_assert_str_eq(want, order[i]);
		cur = nxt;
	}
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_uint_eq(i, 7);
	k = v4("99.0.0.0", 8);	/* missing -> first */
	ck_assert_int_eq(ebpf_map_get_next_key(m, &k, &nxt), 0);
	ck_assert_uint_eq(nxt.prefixlen, 24);

	/* deletes: exact prefix only, lookups fall back to shorter rules */
	k = v4("10.1.0.0", 17);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -ENOENT);
	k = v4("10.1.0.0", 16);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), -ENOENT);
	ck_assert_int_eq(lpm4(m, "10.1.9.9"), 2);
	ck_assert_int_eq(lpm4(m, "10.1.2.1"), 4);
	k = v4("10.1.2.0", 24);
	ck_assert_int_eq(m->ops->remove(m, &k), 0);
	ck_assert_int_eq(lpm4(m, "10.1.2.1"), 2);
	ck_assert_int_eq(lpm4(m, "10.1.3.7"), 6);
	k = v4("0.0.0.0", 0);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	ck_assert_int_eq(lpm4(m, "8.8.8.8"), -ENOENT);
	ck_assert_int_eq(lpm4(m, "10.9.9.9"), 2);

	/* full: -ENOSPC for a new prefix, replacing still works */
	for (uint32_t j = 0; j < 16; j++) {
		uint8_t a[4] = { 172, 16, (uint8_t)j, 0 };

		memcpy(k.addr, a, 4);
		k.prefixlen = 24;
		rc = ebpf_map_update_elem(m, &k, &j, BPF_ANY);
		if (rc)
			break;
	}
	ck_assert_int_eq(rc, -ENOSPC);
	k = v4("10.0.0.0", 8);
	v = 99;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), 0);
	ck_assert_int_eq(lpm4(m, "10.3.3.3"), 99);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_lpm_ipv6)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_LPM_TRIE, 20, 8, 64, BPF_F_NO_PREALLOC);
	struct k16 k;
	uint64_t v, out;

	k = v6("::", 0);
	v = 1;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), 0);
	k = v6("2001:db8::", 32);
	v = 2;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), 0);
	k = v6("2001:db8:1::", 48);
	v = 3;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), 0);
	k = v6("2001:db8:1:2::", 64);
	v = 4;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), 0);
	k = v6("2001:db8:1:2::99", 128);
	v = 5;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), 0);
	k = v6("2001:db8:1:8000::", 49);
	v = 6;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), 0);

	static const struct { const char *a; uint64_t want; } q[] = {
		{ "2001:db8:1:2::99", 5 }, { "2001:db8:1:2::98", 4 }, { "2001:db8:1:3::1", 3 },
		{ "2001:db8:1:8001::", 6 }, { "2001:db8:2::1", 2 }, { "fe80::1", 1 },
	};
	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		k = v6(q[i].a, 128);
		ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &out), 0);
		ck_assert_msg(out == q[i].want, "%s -> %lu, want %lu", q[i].a,
			      (unsigned long)out, (unsigned long)q[i].want);
		ck_assert_uint_eq(*(uint64_t *)m->ops->lookup(m, &k), q[i].want);
	}
	k = v6("2001:db8:1:2::", 64);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	k = v6("2001:db8:1:2::98", 128);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &out), 0);
	ck_assert_uint_eq(out, 3);
	k = v6("::", 0);
	ck_assert_int_eq(ebpf_map_delete_elem(m, &k), 0);
	k = v6("fe80::1", 128);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &out), -ENOENT);
	k.prefixlen = 129;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 0), -EINVAL);
	ebpf_map_put(m);
}
END_TEST

/* ---- ring buffer -------------------------------------------------------------------- */

struct rec_log {
	int n;
	size_t sizes[64];
	uint8_t first[64];
	int stop_at;
};

static int rec_cb(void *ctx, void *data, size_t size)
{
	struct rec_log *l = ctx;

	if (l->stop_at && l->n == l->stop_at)
		return -E2BIG;
	l->sizes[l->n] = size;
	l->first[l->n] = size ? *(uint8_t *)data : 0;
	l->n++;
	return 0;
}

static bool fd_ready(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void drain_fd(int fd)
{
	uint64_t c;

	while (read(fd, &c, sizeof(c)) == sizeof(c))
		;
}

START_TEST(test_ringbuf_basic)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	struct rec_log log = { 0 };
	uint8_t data[100];
	uint8_t *a, *b, *c;
	uint32_t k = 0;

	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, data), -EOPNOTSUPP);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, data, 0), -EOPNOTSUPP);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_RING_SIZE), 4096);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_AVAIL_DATA), 0);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, 77), 0);
	ck_assert_ptr_null(ebpf_ringbuf_reserve(m, 8, 1));	/* flags must be 0 */
	ck_assert_ptr_null(ebpf_ringbuf_reserve(m, 4096, 0));	/* larger than the ring */

	a = ebpf_ringbuf_reserve(m, 5, 0);
	b = ebpf_ringbuf_reserve(m, 16, 0);
	c = ebpf_ringbuf_reserve(m, 1, 0);
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(b - a, 16);	/* 8-byte header + 5 rounded to 8 */
	ck_assert_int_eq(c - b, 24);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_PROD_POS), 16 + 24 + 16);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_CONS_POS), 0);
	*a = 'a';
	*b = 'b';
	*c = 'c';
	/* records are delivered in reservation order: b alone is not ready */
	ebpf_ringbuf_submit(b, 0);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 0);
	ebpf_ringbuf_discard(a, 0);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 1);
	ck_assert_uint_eq(log.sizes[0], 16);
	ck_assert_uint_eq(log.first[0], 'b');
	ebpf_ringbuf_submit(c, 0);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 1);
	ck_assert_uint_eq(log.sizes[1], 1);
	ck_assert_uint_eq(log.first[1], 'c');
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_AVAIL_DATA), 0);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_CONS_POS), 56);

	/* output: flag check, copy */
	memset(data, 'o', sizeof(data));
	ck_assert_int_eq(ebpf_ringbuf_output(m, data, 100, 4), -EINVAL);
	ck_assert_int_eq(ebpf_ringbuf_output(m, data, 100, 0), 0);
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_AVAIL_DATA), 112);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 1);
	ck_assert_uint_eq(log.sizes[2], 100);
	ck_assert_uint_eq(log.first[2], 'o');

	/* a callback error stops consumption (that record counts as consumed) */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ebpf_ringbuf_output(m, data, 8, 0), 0);
	log.stop_at = 4;
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), -E2BIG);
	log.stop_at = 0;
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 1);
	ck_assert_int_eq(ebpf_ringbuf_consume(NULL, rec_cb, &log), -EINVAL);
	ebpf_map_put(m);
}
END_TEST

static int count_cb(void *ctx, void *data, size_t size)
{
	uint32_t *expect = ctx;

	ck_assert_uint_eq(size, 1000);
	for (size_t i = 0; i < size; i += 97)
		ck_assert_uint_eq(((uint8_t *)data)[i], (uint8_t)(*expect + i));
	(*expect)++;
	return 0;
}

START_TEST(test_ringbuf_wrap_full)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	uint8_t data[1000];
	uint32_t produced = 0, consumed = 0;
	int rc;

	/* 1008-byte records: 4 fit (the kernel keeps the ring short of full) */
	for (int round = 0; round < 20; round++) {
		int n = 0;

		for (;;) {
			for (size_t i = 0; i < sizeof(data); i++)
				data[i] = (uint8_t)(produced + i);
			if (ebpf_ringbuf_output(m, data, sizeof(data), 0))
				break;
			produced++;
			n++;
		}
		ck_assert_int_ge(n, 1);
		ck_assert_int_le(n, 4);
		ck_assert_ptr_null(ebpf_ringbuf_reserve(m, 1000, 0));
		ck_assert_int_eq(ebpf_ringbuf_output(m, data, sizeof(data), 0), -EAGAIN);
		rc = ebpf_ringbuf_consume(m, count_cb, &consumed);
		ck_assert_int_eq(rc, n);
		ck_assert_uint_eq(consumed, produced);
	}
	/* positions grew far past the ring size: records wrapped */
	ck_assert_uint_gt(ebpf_ringbuf_query(m, BPF_RB_PROD_POS), 4 * 4096);
	/* a busy record blocks reuse of its space even after consumption */
	void *busy = ebpf_ringbuf_reserve(m, 1000, 0);

	ck_assert_ptr_nonnull(busy);
	int n = 0;

	while (!ebpf_ringbuf_output(m, data, 1000, 0))
		n++;
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, count_cb, &consumed), 0);
	ebpf_ringbuf_discard(busy, 0);
	consumed = produced;
	ebpf_ringbuf_consume(m, rec_cb, &(struct rec_log){ 0 });
	ck_assert_uint_eq(ebpf_ringbuf_query(m, BPF_RB_AVAIL_DATA), 0);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_ringbuf_eventfd)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 8192, 0);
	struct ebpf_map *h = mk(BPF_MAP_TYPE_HASH, 4, 4, 4, 0);
	int fd = ebpf_ringbuf_wait_fd(m);
	struct rec_log log = { 0 };
	uint64_t x = 1;
	void *r1, *r2;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ebpf_ringbuf_wait_fd(h), -EINVAL);
	ck_assert(!fd_ready(fd));
	ck_assert_int_eq(ebpf_ringbuf_output(m, &x, 8, BPF_RB_NO_WAKEUP), 0);
	ck_assert(!fd_ready(fd));
	ck_assert_int_eq(ebpf_ringbuf_output(m, &x, 8, 0), 0);
	/* the consumer is not at this record: no wakeup needed */
	ck_assert(!fd_ready(fd));
	ck_assert_int_eq(ebpf_ringbuf_output(m, &x, 8, BPF_RB_FORCE_WAKEUP), 0);
	ck_assert(fd_ready(fd));
	drain_fd(fd);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 3);
	/* caught up: the next submit wakes */
	r1 = ebpf_ringbuf_reserve(m, 8, 0);
	r2 = ebpf_ringbuf_reserve(m, 8, 0);
	ebpf_ringbuf_submit(r2, 0);
	ck_assert(!fd_ready(fd));
	ebpf_ringbuf_submit(r1, 0);
	ck_assert(fd_ready(fd));
	drain_fd(fd);
	ck_assert_int_eq(ebpf_ringbuf_consume(m, rec_cb, &log), 2);
	ck_assert_int_eq(ebpf_ringbuf_output(m, &x, 8, BPF_RB_NO_WAKEUP), 0);
	ck_assert(!fd_ready(fd));
	ebpf_map_put(h);
	ebpf_map_put(m);
}
END_TEST

struct rb_prod {
	struct ebpf_map *map;
	uint32_t id, count;
};

static void *rb_producer(void *arg)
{
	struct rb_prod *p = arg;

	for (uint32_t i = 0; i < p->count;) {
		uint32_t *r = ebpf_ringbuf_reserve(p->map, 8, 0);

		if (!r) {
			sched_yield();
			continue;
		}
		r[0] = p->id;
		r[1] = i++;
		ebpf_ringbuf_submit(r, 0);
	}
	return NULL;
}

struct rb_cons {
	uint32_t next[2];
	int bad;
};

static int rb_check(void *ctx, void *data, size_t size)
{
	struct rb_cons *c = ctx;
	uint32_t *r = data;

	if (size != 8 || r[0] > 1 || r[1] != c->next[r[0]])
		c->bad++;
	else
		c->next[r[0]]++;
	return 0;
}

/* Two producers, one consumer blocking on the eventfd: every record
 * arrives once, in each producer's order. */
START_TEST(test_ringbuf_threads)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	struct rb_prod p[2] = { { m, 0, 20000 }, { m, 1, 20000 } };
	struct rb_cons c = { { 0, 0 }, 0 };
	pthread_t th[2];
	int fd = ebpf_ringbuf_wait_fd(m);

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, rb_producer, &p[i]);
	while (c.next[0] + c.next[1] < 40000 && !c.bad) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (ebpf_ringbuf_consume(m, rb_check, &c) == 0)
			poll(&pfd, 1, 10);
		drain_fd(fd);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(c.bad, 0);
	ck_assert_uint_eq(c.next[0], 20000);
	ck_assert_uint_eq(c.next[1], 20000);
	ebpf_map_put(m);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------- */

struct stress_val {
	uint32_t key;
	uint32_t owner;
	uint64_t seq;
};

struct stress_arg {
	struct ebpf_map *map;
	uint32_t id;
	bool lru;
	atomic_bool *stop;
	long ops, errors;
	char msg[128];
};

#define OWN_KEYS	64
#define SHARED_KEYS	512

static void stress_fail(struct stress_arg *a, const char *what, uint32_t key)
{
	if (!a->errors++)
		snprintf(a->msg, sizeof(a->msg), "thread %u: %s (key %u)", a->id, what, key);
}

static void *stress_thread(void *arg)
{
	struct stress_arg *a = arg;
	struct ebpf_map *m = a->map;
	uint64_t last[OWN_KEYS] = { 0 };
	uint64_t seq = 0, rnd = 0x9e3779b97f4a7c15ull * (a->id + 1);

	while (!atomic_load(a->stop)) {
		/* own keys: nobody else writes them, so what we read back must
		 * be exactly what we wrote (or gone, for LRU evictions) */
		uint32_t i = (uint32_t)(rnd % OWN_KEYS);
		uint32_t key = 1000000 * (a->id + 1) + i;
		struct stress_val v = { key, a->id, ++seq }, out;
		struct stress_val *p;
		int rc;

		rnd = rnd * 6364136223846793005ull + 1442695040888963407ull;
		rc = m->ops->update(m, &key, &v, BPF_ANY);
		if (rc && !(a->lru && rc == -ENOMEM))
			stress_fail(a, "own update failed", key);
		if (!rc)
			last[i] = seq;
		p = m->ops->lookup(m, &key);
		if (p) {
			out = *p;
			/* An LRU element may be evicted and reused for another
			 * key while we read it (the kernel's semantics too); a
			 * value naming our key was written by us, though. */
			if (a->lru && out.key != key)
				;
			else if (out.key != key || out.owner != a->id || out.seq != last[i])
				stress_fail(a, "own key read back wrong", key);
		} else if (!a->lru) {
			stress_fail(a, "own key missing", key);
		}
		if ((rnd >> 20) % 8 == 0) {
			if (m->ops->remove(m, &key) == 0)
				last[i] = 0;
			if (m->ops->lookup(m, &key))
				stress_fail(a, "own key still there after delete", key);
		}

		/* shared keys: racing update/delete/lookup from all threads */
		key = (uint32_t)((rnd >> 33) % SHARED_KEYS);
		v.key = key;
		switch ((rnd >> 12) % 4) {
		case 0:
			m->ops->update(m, &key, &v, BPF_ANY);
			break;
		case 1:
			m->ops->update(m, &key, &v, BPF_NOEXIST);
			break;
		case 2:
			m->ops->remove(m, &key);
			break;
		default:
			rc = ebpf_map_lookup_elem(m, &key, &out);
			if (rc && rc != -ENOENT)
				stress_fail(a, "shared lookup error", key);
			break;
		}
		a->ops++;
	}
	return NULL;
}

static void stress_run(uint32_t type, uint32_t max_entries)
{
	struct ebpf_map *m = mk(type, 4, sizeof(struct stress_val), max_entries, 0);
	struct stress_arg args[4];
	pthread_t th[4];
	atomic_bool stop = false;
	uint32_t cur, nxt, cnt = 0;

	for (uint32_t i = 0; i < 4; i++) {
		args[i] = (struct stress_arg){ .map = m, .id = i, .stop = &stop,
					       .lru = type == BPF_MAP_TYPE_LRU_HASH };
		pthread_create(&th[i], NULL, stress_thread, &args[i]);
	}
	usleep(1000 * 1000);
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_msg(args[i].errors == 0, "%s (%ld errors)", args[i].msg, args[i].errors);
		ck_assert_int_gt(args[i].ops, 1000);
	}
	/* quiescent: iteration sees each key once, each value names its key */
	for (int rc = ebpf_map_get_next_key(m, NULL, &nxt); !rc;
	     rc = ebpf_map_get_next_key(m, &cur, &nxt)) {
		struct stress_val v;

		ck_assert_int_eq(ebpf_map_lookup_elem(m, &nxt, &v), 0);
		ck_assert_uint_eq(v.key, nxt);
		ck_assert_uint_le(++cnt, max_entries);
		cur = nxt;
	}
	ck_assert_uint_gt(cnt, 0);
	ebpf_map_put(m);
}

START_TEST(test_stress_hash)
{
	stress_run(BPF_MAP_TYPE_HASH, 4 * OWN_KEYS + SHARED_KEYS);
}
END_TEST

START_TEST(test_stress_lru)
{
	/* smaller than the key set: constant eviction */
	stress_run(BPF_MAP_TYPE_LRU_HASH, 300);
}
END_TEST

struct lpm_stress {
	struct ebpf_map *map;
	atomic_bool *stop;
	long bad, ops;
};

static void *lpm_reader(void *arg)
{
	struct lpm_stress *s = arg;
	struct k4 k = v4("10.1.2.3", 32);

	while (!atomic_load(s->stop)) {
		uint32_t *p = s->map->ops->lookup(s->map, &k);

		/* 10.0.0.0/8 (value 8) never changes; the /16 and /24 come
		 * and go, so the answer is always one of the three */
		if (!p || (*p != 8 && *p != 16 && *p != 24))
			s->bad++;
		s->ops++;
	}
	return NULL;
}

START_TEST(test_stress_lpm)
{
	struct ebpf_map *m = mk(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 64, BPF_F_NO_PREALLOC);
	atomic_bool stop = false;
	struct lpm_stress s[2] = { { m, &stop, 0, 0 }, { m, &stop, 0, 0 } };
	struct k4 k8 = v4("10.0.0.0", 8), k16 = v4("10.1.0.0", 16), k24 = v4("10.1.2.0", 24);
	uint32_t v8 = 8, v16 = 16, v24 = 24;
	pthread_t th[2];

	ck_assert_int_eq(ebpf_map_update_elem(m, &k8, &v8, 0), 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, lpm_reader, &s[i]);
	for (int i = 0; i < 100000; i++) {
		struct k4 other = v4("10.200.0.0", 16 + i % 9);

		ebpf_map_update_elem(m, &k16, &v16, 0);
		ebpf_map_update_elem(m, &other, &v16, 0);
		ebpf_map_update_elem(m, &k24, &v24, 0);
		ebpf_map_delete_elem(m, &k16);
		ebpf_map_delete_elem(m, &other);
		if (i % 2)
			ebpf_map_delete_elem(m, &k24);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(s[i].bad, 0);
		ck_assert_int_gt(s[i].ops, 0);
	}
	ebpf_map_put(m);
}
END_TEST

/* Batches as bpf(2)'s: all elements in order, or a stop at the first
 * failing one with *count = the number done before it. */
START_TEST(test_batches)
{
	struct ebpf_map *h = mk(BPF_MAP_TYPE_HASH, 4, 8, 16, BPF_F_NO_PREALLOC);
	struct ebpf_map *pc = mk(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, 0);
	uint32_t keys[20], n;
	uint64_t vals[20], out[20 * 64];
	unsigned int ncpu = ebpf_nr_cpus();

	for (uint32_t i = 0; i < 20; i++) {
		keys[i] = 100 + i;
		vals[i] = 1000 + i;
	}
	n = 10;
	ck_assert_int_eq(ebpf_map_update_batch(h, keys, vals, &n, BPF_ANY), 0);
	ck_assert_uint_eq(n, 10);
	n = 10;
	ck_assert_int_eq(ebpf_map_lookup_batch(h, keys, out, &n), 0);
	ck_assert_uint_eq(n, 10);
	for (uint32_t i = 0; i < 10; i++)
		ck_assert_uint_eq(out[i], 1000 + i);
	/* the 17th element does not fit (16 entries): 6 of 10 written */
	n = 10;
	ck_assert_int_eq(ebpf_map_update_batch(h, keys + 10, vals + 10, &n, BPF_ANY), -E2BIG);
	ck_assert_uint_eq(n, 6);
	/* NOEXIST stops at the first key present */
	n = 3;
	ck_assert_int_eq(ebpf_map_update_batch(h, keys, vals, &n, BPF_NOEXIST), -EEXIST);
	ck_assert_uint_eq(n, 0);
	/* a lookup or delete stops at a missing key */
	n = 20;
	ck_assert_int_eq(ebpf_map_lookup_batch(h, keys, out, &n), -ENOENT);
	ck_assert_uint_eq(n, 16);
	n = 20;
	ck_assert_int_eq(ebpf_map_delete_batch(h, keys, &n), -ENOENT);
	ck_assert_uint_eq(n, 16);
	n = 1;
	ck_assert_int_eq(ebpf_map_lookup_batch(h, keys, out, &n), -ENOENT);
	ck_assert_uint_eq(n, 0);
	n = 0;
	ck_assert_int_eq(ebpf_map_update_batch(h, NULL, NULL, &n, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_batch(h, keys, vals, NULL, BPF_ANY), -EINVAL);

	/* per-CPU: each element's value is one 8-byte slot per CPU */
	{
		uint64_t pv[4 * 64] = { 0 };
		uint32_t ak[4] = { 0, 1, 2, 3 };

		ck_assert_uint_le(ncpu, 64);
		for (uint32_t i = 0; i < 4; i++)
			for (unsigned int c = 0; c < ncpu; c++)
				pv[i * ncpu + c] = i * 10 + c;
		n = 4;
		ck_assert_int_eq(ebpf_map_update_batch(pc, ak, pv, &n, BPF_ANY), 0);
		memset(out, 0, sizeof(out));
		n = 4;
		ck_assert_int_eq(ebpf_map_lookup_batch(pc, ak, out, &n), 0);
		for (uint32_t i = 0; i < 4; i++)
			for (unsigned int c = 0; c < ncpu; c++)
				ck_assert_uint_eq(out[i * ncpu + c], i * 10 + c);
	}
	ebpf_map_put(h);
	ebpf_map_put(pc);
}
END_TEST

static Suite *maps_suite(void)
{
	Suite *s = suite_create("maps");
	TCase *tc = tcase_create("semantics");
	TCase *st = tcase_create("stress");

	tcase_add_test(tc, test_create_validation);
	tcase_add_test(tc, test_accessors_refcount);
	tcase_add_test(tc, test_rdonly_wronly);
	tcase_add_test(tc, test_array);
	tcase_add_test(tc, test_percpu_array);
	tcase_add_test(tc, test_prog_array);
	tcase_add_test(tc, test_hash);
	tcase_add_test(tc, test_hash_many);
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_percpu_hash);
	tcase_add_test(tc, test_lru_eviction);
	tcase_add_test(tc, test_lru_percpu);
	tcase_add_test(tc, test_lpm_ipv4);
	tcase_add_test(tc, test_lpm_ipv6);
	tcase_add_test(tc, test_ringbuf_basic);
	tcase_add_test(tc, test_ringbuf_wrap_full);
	tcase_add_test(tc, test_ringbuf_eventfd);
	tcase_add_test(tc, test_ringbuf_threads);
	suite_add_tcase(s, tc);
	tcase_add_test(st, test_stress_hash);
	tcase_add_test(st, test_stress_lru);
	tcase_add_test(st, test_stress_lpm);
	tcase_set_timeout(st, 60);
	suite_add_tcase(s, st);
	return s;
}

FTOE_TEST_SUITE(maps_suite)
