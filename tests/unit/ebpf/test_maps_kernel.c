/* test_maps_kernel.c - runtime maps against kernel maps: same operations, same answers; kernel-mmap backing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/internal.h"
#include "tests/unit/test.h"

struct kpair {
	uint32_t type, ks, vs, uvs, max;	/* uvs: bytes one user-side value moves */
	int fd;
	struct ebpf_map *m;
	const char *what;
};

static bool is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static int kernel_create(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd = bpf_map_create(type, "cmp", ks, vs, max, &opts);

	return fd < 0 ? -errno : fd;
}

static struct kpair kpair(const char *what, uint32_t type, uint32_t ks, uint32_t vs,
			  uint32_t max, uint32_t flags)
{
	struct ebpf_map_spec spec = { .name = "cmp", .type = type, .key_size = ks,
				      .value_size = vs, .max_entries = max, .map_flags = flags };
	struct kpair p = { .type = type, .ks = ks, .vs = vs, .max = max, .what = what };

	p.uvs = is_percpu(type) ? ((vs + 7) & ~7u) * ebpf_nr_cpus() : vs;
	/* The runtime's slots equal the kernel's possible CPUs (no cap hit
	 * here), so per-CPU buffers have the same size on both sides. */
	ck_assert_int_eq((int)ebpf_nr_cpus(), libbpf_num_possible_cpus());
	p.fd = kernel_create(type, ks, vs, max, flags);
	ck_assert_msg(p.fd >= 0, "%s: kernel map create failed: %s (tests run as root)", what,
		      strerror(-p.fd));
	ck_assert_int_eq(ebpf_map_create(&spec, &p.m), 0);
	return p;
}

static void kpair_close(struct kpair *p)
{
	close(p->fd);
	ebpf_map_put(p->m);
}

static void cmp_update(struct kpair *p, const void *key, const void *val, uint64_t flags, int step)
{
	int k = bpf_map_update_elem(p->fd, key, val, flags);
	int r = ebpf_map_update_elem(p->m, key, val, flags);

	ck_assert_msg(k == r, "%s step %d: update flags %llu: kernel %d runtime %d", p->what, step,
		      (unsigned long long)flags, k, r);
}

static void cmp_delete(struct kpair *p, const void *key, int step)
{
	int k = bpf_map_delete_elem(p->fd, key);
	int r = ebpf_map_delete_elem(p->m, key);

	ck_assert_msg(k == r, "%s step %d: delete: kernel %d runtime %d", p->what, step, k, r);
}

static void cmp_lookup(struct kpair *p, const void *key, int step)
{
	uint8_t *kv = calloc(1, p->uvs), *rv = calloc(1, p->uvs);
	int k = bpf_map_lookup_elem(p->fd, key, kv);
	int r = ebpf_map_lookup_elem(p->m, key, rv);

	ck_assert_msg(k == r, "%s step %d: lookup: kernel %d runtime %d", p->what, step, k, r);
	if (!k)
		ck_assert_msg(!memcmp(kv, rv, p->uvs), "%s step %d: lookup values differ", p->what,
			      step);
	free(kv);
	free(rv);
}

/* Ordered maps (arrays, LPM) must iterate identically; hash maps have
 * their own bucket order, so only the key sets are compared. */
static size_t cmp_iterate(struct kpair *p, bool ordered, int step)
{
	size_t cap = 4096, nk = 0, nr = 0;
	uint8_t *ks = calloc(cap, p->ks), *rs = calloc(cap, p->ks);
	int rc;

	for (rc = bpf_map_get_next_key(p->fd, NULL, ks); !rc && nk + 1 < cap; nk++)
		rc = bpf_map_get_next_key(p->fd, ks + nk * p->ks, ks + (nk + 1) * p->ks);
	ck_assert_int_eq(rc, -ENOENT);
	for (rc = ebpf_map_get_next_key(p->m, NULL, rs); !rc && nr + 1 < cap; nr++)
		rc = ebpf_map_get_next_key(p->m, rs + nr * p->ks, rs + (nr + 1) * p->ks);
	ck_assert_int_eq(rc, -ENOENT);
	ck_assert_msg(nk == nr, "%s step %d: kernel iterates %zu keys, runtime %zu", p->what, step,
		      nk, nr);
	for (size_t i = 0; i < nk; i++) {
		bool found = false;

		if (ordered) {
			ck_assert_msg(!memcmp(ks + i * p->ks, rs + i * p->ks, p->ks),
				      "%s step %d: key %zu differs in iteration order", p->what,
				      step, i);
			continue;
		}
		for (size_t j = 0; j < nr && !found; j++)
			found = !memcmp(ks + i * p->ks, rs + j * p->ks, p->ks);
		ck_assert_msg(found, "%s step %d: kernel key %zu missing in runtime", p->what, step, i);
	}
	free(ks);
	free(rs);
	return nk;
}

static uint64_t rnd_state;

static uint32_t rnd(uint32_t n)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rnd_state >> 33) % n;
}

static const uint64_t flag_set[] = { BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK,
				     BPF_F_LOCK | BPF_EXIST, 3, 16 };

/* Random operations over a key space a little larger than the map. */
static void run_sequence(struct kpair *p, uint32_t nkeys, int steps, bool ordered,
			 void (*make_key)(uint8_t *key, uint32_t i))
{
	uint8_t *key = calloc(1, p->ks + 8), *val = calloc(1, p->uvs);
	size_t most = 0, n;

	rnd_state = 42 + p->type;
	for (int s = 0; s < steps; s++) {
		uint32_t op = rnd(100);

		make_key(key, rnd(nkeys));
		for (uint32_t i = 0; i < p->uvs; i++)
			val[i] = (uint8_t)(s + i);
		if (op < 50)
			cmp_update(p, key, val, flag_set[rnd(sizeof(flag_set) / sizeof(flag_set[0]))], s);
		else if (op < 75)
			cmp_lookup(p, key, s);
		else if (op < 92)
			cmp_delete(p, key, s);
		else if (ordered) {
			uint8_t *kn = calloc(1, p->ks), *rn = calloc(1, p->ks);
			int k = bpf_map_get_next_key(p->fd, key, kn);
			int r = ebpf_map_get_next_key(p->m, key, rn);

			ck_assert_msg(k == r, "%s step %d: next_key: kernel %d runtime %d", p->what, s, k, r);
			if (!k)
				ck_assert_msg(!memcmp(kn, rn, p->ks), "%s step %d: next key differs",
					      p->what, s);
			free(kn);
			free(rn);
		}
		if (s % 100 == 99 && (n = cmp_iterate(p, ordered, s)) > most)
			most = n;
	}
	cmp_iterate(p, ordered, steps);
	/* the sequence really filled the map, not just failed */
	ck_assert_msg(most >= 4, "%s: at most %zu keys", p->what, most);
	free(key);
	free(val);
}

static void key_u32(uint8_t *key, uint32_t i)
{
	memcpy(key, &i, 4);
}

static void key_wide(uint8_t *key, uint32_t i)
{
	memset(key, 0, 12);
	memcpy(key + 3, &i, 4);
	key[11] = (uint8_t)(i * 7);
}

START_TEST(test_cmp_array)
{
	struct kpair p = kpair("array", BPF_MAP_TYPE_ARRAY, 4, 12, 8, 0);

	run_sequence(&p, 11, 600, true, key_u32);
	kpair_close(&p);
	p = kpair("percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 8, 0);
	run_sequence(&p, 11, 600, true, key_u32);
	kpair_close(&p);
}
END_TEST

START_TEST(test_cmp_hash)
{
	struct kpair p = kpair("hash", BPF_MAP_TYPE_HASH, 4, 8, 16, 0);

	run_sequence(&p, 24, 1500, false, key_u32);
	kpair_close(&p);
	p = kpair("hash_wide", BPF_MAP_TYPE_HASH, 12, 20, 16, BPF_F_NO_PREALLOC);
	run_sequence(&p, 24, 1000, false, key_wide);
	kpair_close(&p);
	p = kpair("percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 16, 0);
	run_sequence(&p, 24, 1500, false, key_u32);
	kpair_close(&p);
}
END_TEST

START_TEST(test_cmp_lru)
{
	/* Room to spare: the kernel's LRU may evict before it is full (its
	 * free nodes sit in per-CPU lists), so eviction itself is not
	 * compared, only every other answer. */
	struct kpair p = kpair("lru_hash", BPF_MAP_TYPE_LRU_HASH, 4, 8, 1024, 0);

	run_sequence(&p, 32, 1500, false, key_u32);
	kpair_close(&p);
	p = kpair("lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 1024, 0);
	run_sequence(&p, 32, 1500, false, key_u32);
	kpair_close(&p);
}
END_TEST

/* LPM keys: a few networks, prefix lengths around their boundaries (and
 * one too long), sometimes with stray bits past the prefix. */
static void key_lpm(uint8_t *key, uint32_t i)
{
	static const uint8_t nets[][4] = {
		{ 10, 0, 0, 0 }, { 10, 1, 0, 0 }, { 10, 1, 2, 0 }, { 10, 128, 0, 0 },
		{ 192, 168, 1, 0 }, { 0, 0, 0, 0 }, { 10, 1, 2, 77 }, { 172, 16, 0, 0 },
	};
	static const uint32_t lens[] = { 0, 1, 8, 9, 15, 16, 17, 24, 31, 32, 33 };
	uint32_t pl = lens[(i / 8) % 11];

	memcpy(key, &pl, 4);
	memcpy(key + 4, nets[i % 8], 4);
}

START_TEST(test_cmp_lpm)
{
	struct kpair p = kpair("lpm", BPF_MAP_TYPE_LPM_TRIE, 8, 4, 20, BPF_F_NO_PREALLOC);

	run_sequence(&p, 88, 3000, true, key_lpm);
	kpair_close(&p);
}
END_TEST

static void key_lpm6(uint8_t *key, uint32_t i)
{
	uint32_t pl = (i * 37) % 130;

	memcpy(key, &pl, 4);
	memset(key + 4, 0, 16);
	key[4] = 0x20;
	key[5] = 0x01;
	key[4 + (i % 16)] ^= (uint8_t)(0x80 >> (i % 8));
	key[4 + 15] = (uint8_t)(i & 3);
}

START_TEST(test_cmp_lpm6)
{
	struct kpair p = kpair("lpm6", BPF_MAP_TYPE_LPM_TRIE, 20, 8, 40, BPF_F_NO_PREALLOC);

	run_sequence(&p, 200, 3000, true, key_lpm6);
	kpair_close(&p);
}
END_TEST

/* Creation parameters: the runtime refuses what the kernel refuses, with
 * the same error. */
START_TEST(test_cmp_create)
{
	static const struct { uint32_t type, ks, vs, max, flags; } c[] = {
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 0, 0 },
		{ BPF_MAP_TYPE_ARRAY, 8, 8, 4, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0 },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE },
		{ BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_PRESERVE_ELEMS },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE },
		{ BPF_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 4, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0 },
		{ BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_RDONLY_PROG },
		{ BPF_MAP_TYPE_HASH, 0, 8, 4, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 0, 4, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 0, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE },
		{ BPF_MAP_TYPE_HASH, 4, 5u << 20, 4, 0 },
		{ BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_PERCPU_HASH, 4, 40000, 4, 0 },
		{ BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, 0 },
		{ BPF_MAP_TYPE_LPM_TRIE, 4, 8, 4, BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_LPM_TRIE, 261, 8, 4, BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_LPM_TRIE, 260, 8, 4, BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 0, 4, BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 0, BPF_F_NO_PREALLOC },
		{ BPF_MAP_TYPE_LPM_TRIE, 8, 8, 4, BPF_F_NO_PREALLOC | BPF_F_MMAPABLE },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096 + 1, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 0, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0 },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_RDONLY_PROG },
		{ BPF_MAP_TYPE_RINGBUF, 0, 0, 1 << 16, 0 },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct ebpf_map_spec spec = { .name = "cmp", .type = c[i].type, .key_size = c[i].ks,
					      .value_size = c[i].vs, .max_entries = c[i].max,
					      .map_flags = c[i].flags };
		struct ebpf_map *m = NULL;
		int k = kernel_create(c[i].type, c[i].ks, c[i].vs, c[i].max, c[i].flags);
		int r = ebpf_map_create(&spec, &m);

		if (k >= 0) {
			close(k);
			k = 0;
		}
		if (!r)
			ebpf_map_put(m);
		ck_assert_msg(k == r, "case %zu (type %u ks %u vs %u max %u flags 0x%x): kernel %d "
			      "runtime %d", i, c[i].type, c[i].ks, c[i].vs, c[i].max, c[i].flags, k, r);
	}
}
END_TEST

/* The runtime's values live in the kernel map's pages once attached. */
START_TEST(test_kernel_mmap)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	struct ebpf_map_spec spec = { .name = "mm", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4,
				      .value_size = 12, .max_entries = 10,
				      .map_flags = BPF_F_MMAPABLE };
	struct ebpf_map *m, *h;
	uint8_t a[12], b[12], out[12];
	uint32_t k;
	uint8_t *p;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mm", 4, 12, 10, &opts), bad;

	ck_assert_msg(fd >= 0, "kernel mmapable array: %s", strerror(errno));
	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	k = 3;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, a, 0), 0);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(m, fd), 0);
	/* values written before the attach were copied over */
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, out), 0);
	ck_assert_mem_eq(out, a, 12);
	/* runtime writes, kernel reads */
	k = 5;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, b, 0), 0);
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, out), 0);
	ck_assert_mem_eq(out, b, 12);
	k = 9;
	p = m->ops->lookup(m, &k);
	p[0] = 0x42;
	p[11] = 0x24;
	ck_assert_int_eq(bpf_map_lookup_elem(fd, &k, out), 0);
	ck_assert_uint_eq(out[0], 0x42);
	ck_assert_uint_eq(out[11], 0x24);
	/* kernel writes, runtime reads */
	k = 1;
	ck_assert_int_eq(bpf_map_update_elem(fd, &k, a, 0), 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, out), 0);
	ck_assert_mem_eq(out, a, 12);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(m, fd), -EBUSY);
	ebpf_map_put(m);

	/* mismatches are refused with a message */
	spec.value_size = 16;
	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(m, fd), -EINVAL);
	ebpf_map_put(m);
	bad = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nomm", 4, 16, 10, NULL);
	ck_assert_int_ge(bad, 0);
	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(m, bad), -EINVAL);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(m, -1), -EINVAL);
	{
		int rc = ebpf_map_attach_kernel_mmap(m, 999);	/* the kernel says EBADFD */

		ck_assert(rc == -EBADF || rc == -EBADFD);
	}
	ebpf_map_put(m);
	spec.type = BPF_MAP_TYPE_HASH;
	spec.map_flags = 0;
	ck_assert_int_eq(ebpf_map_create(&spec, &h), 0);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(h, fd), -EINVAL);
	ebpf_map_put(h);
	close(bad);
	close(fd);
}
END_TEST

/* Redirect target maps: the same slot rules as the kernel's devmap,
 * devmap_hash and cpumap (ifindex 1 is the loopback device of this
 * netns; ifindex 0 and qsize 0 empty a slot). */
START_TEST(test_cmp_redirect_targets)
{
	static const struct { uint32_t type, vs; const char *what; } kinds[] = {
		{ BPF_MAP_TYPE_DEVMAP, 4, "devmap" },
		{ BPF_MAP_TYPE_DEVMAP, 8, "devmap with prog slot" },
		{ BPF_MAP_TYPE_DEVMAP_HASH, 4, "devmap_hash" },
		{ BPF_MAP_TYPE_CPUMAP, 8, "cpumap" },
	};
	const uint64_t flags[] = { BPF_ANY, BPF_NOEXIST, BPF_EXIST, 7 };
	uint32_t ncpus = ebpf_nr_cpus();
	int step = 0;

	for (size_t t = 0; t < sizeof(kinds) / sizeof(kinds[0]); t++) {
		bool cpumap = kinds[t].type == BPF_MAP_TYPE_CPUMAP;
		uint32_t max = cpumap ? ncpus : 6;
		struct kpair p = kpair(kinds[t].what, kinds[t].type, 4, kinds[t].vs, max, 0);

		rnd_state = 99 + t;
		for (int i = 0; i < 300; i++, step++) {
			uint32_t key = rnd(max + 2), val[2] = { 0, 0 };

			switch (rnd(4)) {
			case 0:
				cmp_lookup(&p, &key, step);
				break;
			case 1:
				cmp_delete(&p, &key, step);
				break;
			default:
				/* ifindex: 0, lo, or none; qsize: 0, small, too big */
				val[0] = cpumap ? (uint32_t[]){ 0, 64, 20000 }[rnd(3)] :
						  (uint32_t[]){ 0, 1, 100000 }[rnd(3)];
				cmp_update(&p, &key, val, flags[rnd(4)], step);
			}
			if (i % 50 == 49)
				cmp_iterate(&p, kinds[t].type != BPF_MAP_TYPE_DEVMAP_HASH, step);
		}
		kpair_close(&p);
	}
}
END_TEST

/* Without a host that has raw-frame sockets (the engine's), no socket can
 * go into an xskmap slot; reading slots from user space is refused as by
 * the kernel; a program finds every slot empty.  With one:
 * test_helpers.c test_xskmap_redirect. */
START_TEST(test_xskmap_slots)
{
	struct ebpf_map_spec spec = { .name = "xsks", .type = BPF_MAP_TYPE_XSKMAP,
				      .key_size = 4, .value_size = 4, .max_entries = 4 };
	struct ebpf_map *m;
	uint32_t key = 1, val = 3, next;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_int_eq(ebpf_map_update_elem(m, &key, &val, BPF_ANY), -EOPNOTSUPP);
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &key, &val), -EOPNOTSUPP);
	ck_assert_ptr_null(m->ops->lookup(m, &key));
	ck_assert_int_eq(ebpf_map_delete_elem(m, &key), 0);
	key = 4;
	ck_assert_int_eq(ebpf_map_delete_elem(m, &key), -EINVAL);
	ck_assert_int_eq(ebpf_map_get_next_key(m, NULL, &next), 0);
	ck_assert_uint_eq(next, 0);
	ebpf_map_put(m);
	spec.value_size = 8;
	ck_assert_int_eq(ebpf_map_create(&spec, &m), -EINVAL);
}
END_TEST

static Suite *maps_kernel_suite(void)
{
	Suite *s = suite_create("maps_kernel");
	TCase *tc = tcase_create("compare");

	tcase_add_test(tc, test_cmp_create);
	tcase_add_test(tc, test_cmp_array);
	tcase_add_test(tc, test_cmp_hash);
	tcase_add_test(tc, test_cmp_lru);
	tcase_add_test(tc, test_cmp_lpm);
	tcase_add_test(tc, test_cmp_lpm6);
	tcase_add_test(tc, test_kernel_mmap);
	tcase_add_test(tc, test_cmp_redirect_targets);
	tcase_add_test(tc, test_xskmap_slots);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(maps_kernel_suite)
