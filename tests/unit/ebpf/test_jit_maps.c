/* test_jit_maps.c - JIT map lookups with a known map: inlined arrays, direct lookup calls, inlined CPU id. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "tests/unit/test.h"
#include "tests/unit/ebpf/asm.h"
#include "ebpf/jit_x86_emit.h"

/* r0 = bpf_map_lookup_elem(map 0, key), the 24 key bytes copied to the
 * stack from the buffer r1 points to.  r1 is loaded right before the
 * call, so the JIT knows the map. */
static const struct bpf_insn prog_known[] = {
	A_LDX(BPF_DW, 2, 1, 0),
	A_STX(BPF_DW, 10, 2, -32),
	A_LDX(BPF_DW, 2, 1, 8),
	A_STX(BPF_DW, 10, 2, -24),
	A_LDX(BPF_DW, 2, 1, 16),
	A_STX(BPF_DW, 10, 2, -16),
	A_MOV64_REG(2, 10),
	A_ALU64_IMM(BPF_ADD, 2, -32),
	A_LD_MAP(1, 0),
	A_CALL(BPF_FUNC_map_lookup_elem),
	A_EXIT(),
};

/* The same lookups where the JIT must not assume the map: r1 comes from
 * another register, or a jump lands between the load and the call. */
static const struct bpf_insn prog_copied[] = {
	A_LDX(BPF_DW, 2, 1, 0),
	A_STX(BPF_DW, 10, 2, -32),
	A_LDX(BPF_DW, 2, 1, 8),
	A_STX(BPF_DW, 10, 2, -24),
	A_LD_MAP(6, 0),
	A_MOV64_REG(2, 10),
	A_ALU64_IMM(BPF_ADD, 2, -32),
	A_MOV64_REG(1, 6),
	A_CALL(BPF_FUNC_map_lookup_elem),
	A_EXIT(),
};

static const struct bpf_insn prog_target[] = {
	A_LDX(BPF_DW, 2, 1, 0),
	A_STX(BPF_DW, 10, 2, -32),
	A_LDX(BPF_DW, 2, 1, 8),
	A_STX(BPF_DW, 10, 2, -24),
	A_MOV64_REG(2, 10),
	A_ALU64_IMM(BPF_ADD, 2, -32),
	A_LD_MAP(1, 0),
	A_JA(0),			/* makes the call a jump target */
	A_CALL(BPF_FUNC_map_lookup_elem),
	A_EXIT(),
};

static struct ebpf_prog *load_with(const struct bpf_insn *insns, size_t n, enum ebpf_engine e,
				   struct ebpf_map *map)
{
	char err[256] = "";
	struct ebpf_map *maps[1] = { map };
	struct ebpf_prog_opts o = {
		.sz = sizeof(o), .name = "jit_maps", .engine = e, .helpers = EBPF_HELPERS_XDP,
		.maps = map ? maps : NULL, .nr_maps = map ? 1 : 0,
		.err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_prog *p = NULL;
	int ret = ebpf_prog_load_raw(insns, n, &o, &p);

	ck_assert_msg(ret == 0, "load (%s) failed: %d %s", ebpf_engine_name(e), ret, err);
	return p;
}

static struct ebpf_map *new_map(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max,
				uint32_t flags)
{
	struct ebpf_map_spec spec = { .name = "jm", .type = type, .key_size = ks,
				      .value_size = vs, .max_entries = max, .map_flags = flags };
	struct ebpf_map *m = NULL;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	return m;
}

static void *run_lookup(struct ebpf_prog *p, const void *key24)
{
	return (void *)(uintptr_t)ebpf_prog_run_args(p, (uint64_t)(uintptr_t)key24, 0);
}

static bool img_has(const struct ebpf_prog *p, const void *pat, size_t len)
{
	const uint8_t *img = p->jit_image;

	for (size_t i = 0; i + len <= p->jit_size; i++)
		if (!memcmp(img + i, pat, len))
			return true;
	return false;
}

/* movabs rdi, arg: how a direct lookup call passes its table. */
static bool img_has_arg(const struct ebpf_prog *p, const void *arg)
{
	uint8_t pat[10] = { 0x48, 0xbf };
	uint64_t v = (uint64_t)(uintptr_t)arg;

	memcpy(pat + 2, &v, 8);
	return img_has(p, pat, sizeof(pat));
}

/* ---- arrays --------------------------------------------------------------------------- */

/* JIT (inline) and interpreter (helper) give the same pointers, NULL at
 * and beyond max_entries; both strides (shift and multiply) are covered. */
START_TEST(test_array_inline)
{
	static const uint32_t value_sizes[] = { 8, 20 };
	static const uint32_t idx[] = { 0, 1, 6, 7, 8, 9, 0x7fffffff, 0x80000000, 0xffffffff };
	static const uint8_t pat[] = { 0x8b, 0x06, 0x83, 0xf8, 0x08 };	/* mov eax,[rsi]; cmp eax,8 */

	for (size_t v = 0; v < A_LEN(value_sizes); v++) {
		struct ebpf_map *m = new_map(BPF_MAP_TYPE_ARRAY, 4, value_sizes[v], 8, 0);
		struct ebpf_prog *j = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, m);
		struct ebpf_prog *i = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_INTERP, m);
		uint8_t out[32];

		ck_assert_msg(img_has(j, pat, sizeof(pat)), "array lookup not inlined");
		for (size_t k = 0; k < A_LEN(idx); k++) {
			uint32_t key[6] = { idx[k], 0xdeadbeef, 0, 0, 0, 0 };
			uint8_t *pj = run_lookup(j, key), *pi = run_lookup(i, key);

			ck_assert_ptr_eq(pj, pi);
			if (idx[k] >= 8) {
				ck_assert_ptr_null(pj);
				continue;
			}
			ck_assert_ptr_nonnull(pj);
			memset(pj, (int)(0x10 + idx[k]), value_sizes[v]);
			ck_assert_int_eq(ebpf_map_lookup_elem(m, key, out), 0);
			ck_assert_uint_eq(out[0], 0x10 + idx[k]);
			ck_assert_uint_eq(out[value_sizes[v] - 1], 0x10 + idx[k]);
		}
		ebpf_prog_put(j);
		ebpf_prog_put(i);
		ebpf_map_put(m);
	}
}
END_TEST

/* Attaching a kernel mapping moves the values: the inlined code loads the
 * base at each lookup, so it follows. */
START_TEST(test_array_inline_kernel_mmap)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_MMAPABLE);
	struct ebpf_map *m = new_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE);
	struct ebpf_prog *j = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, m);
	uint32_t key[6] = { 2, 0, 0, 0, 0, 0 };
	uint64_t *before, *after, v = 0, out;
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "jm", 4, 8, 4, &opts);

	ck_assert_msg(fd >= 0, "kernel mmapable array: %s", strerror(errno));
	before = run_lookup(j, key);
	ck_assert_ptr_nonnull(before);
	ck_assert_int_eq(ebpf_map_attach_kernel_mmap(m, fd), 0);
	after = run_lookup(j, key);
	ck_assert_ptr_nonnull(after);
	ck_assert_ptr_ne(before, after);
	*after = 0x1122334455667788ull;
	ck_assert_int_eq(bpf_map_lookup_elem(fd, key, &out), 0);
	ck_assert_uint_eq(out, 0x1122334455667788ull);
	v = 77;
	ck_assert_int_eq(bpf_map_update_elem(fd, key, &v, 0), 0);
	ck_assert_uint_eq(*(uint64_t *)run_lookup(j, key), 77);
	ebpf_prog_put(j);
	ebpf_map_put(m);
	close(fd);
}
END_TEST

/* Per-CPU array: this thread's slot, NULL out of range. */
START_TEST(test_percpu_array_inline)
{
	static const uint8_t pat[] = { 0x64, 0x8b, 0x0c, 0x25 };	/* mov ecx, fs:[disp32] */
	unsigned int ncpu = ebpf_nr_cpus(), me = ebpf_thread_cpu();
	struct ebpf_map *m = new_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 5, 0);
	struct ebpf_prog *j = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, m);
	struct ebpf_prog *i = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_INTERP, m);
	uint8_t *all = calloc(ncpu, 16);

	ck_assert_ptr_nonnull(all);
	ck_assert_msg(img_has(j, pat, sizeof(pat)), "per-CPU array lookup not inlined");
	for (uint32_t k = 0; k < 7; k++) {
		uint32_t key[6] = { k, 0, 0, 0, 0, 0 };
		uint8_t *pj = run_lookup(j, key), *pi = run_lookup(i, key);

		ck_assert_ptr_eq(pj, pi);
		if (k >= 5) {
			ck_assert_ptr_null(pj);
			continue;
		}
		ck_assert_ptr_nonnull(pj);
		memset(pj, (int)(0x40 + k), 12);
		ck_assert_int_eq(ebpf_map_lookup_elem(m, key, all), 0);
		for (unsigned int c = 0; c < ncpu; c++)
			ck_assert_uint_eq(all[c * 16], c == me ? 0x40 + k : 0);
	}
	free(all);
	ebpf_prog_put(j);
	ebpf_prog_put(i);
	ebpf_map_put(m);
}
END_TEST

struct fresh_arg {
	struct ebpf_prog *prog;
	uint32_t key[6];
	void *first, *second;
	unsigned int cpu_after;
};

/* A thread that has no CPU slot yet calls the image directly: the inline
 * code takes its call, which assigns the slot; the next run is inline. */
static void *fresh_thread(void *v)
{
	struct fresh_arg *a = v;
	uint64_t key = (uint64_t)(uintptr_t)a->key;

	a->first = (void *)(uintptr_t)a->prog->jit_func(key, 0, 0, 0, 0);
	a->second = (void *)(uintptr_t)a->prog->jit_func(key, 0, 0, 0, 0);
	a->cpu_after = ebpf_thread_cpu();
	return NULL;
}

START_TEST(test_percpu_array_fresh_thread)
{
	unsigned int ncpu = ebpf_nr_cpus();
	struct ebpf_map *m = new_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 3, 0);
	struct ebpf_prog *j = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, m);
	struct fresh_arg a = { .prog = j, .key = { 1 } };
	uint64_t *all = calloc(ncpu, 8);
	pthread_t t;

	ck_assert_ptr_nonnull(all);
	ck_assert_int_eq(pthread_create(&t, NULL, fresh_thread, &a), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_ptr_nonnull(a.first);
	ck_assert_ptr_eq(a.first, a.second);
	*(uint64_t *)a.first = 0xabcdef;
	ck_assert_int_eq(ebpf_map_lookup_elem(m, a.key, all), 0);
	ck_assert_uint_eq(all[a.cpu_after], 0xabcdef);
	free(all);
	ebpf_prog_put(j);
	ebpf_map_put(m);
}
END_TEST

/* bpf_get_smp_processor_id() inlined: the thread's slot, assigned on
 * first use by a fresh thread. */
static const struct bpf_insn prog_cpu[] = {
	A_CALL(BPF_FUNC_get_smp_processor_id),
	A_EXIT(),
};

static void *cpu_thread(void *v)
{
	struct fresh_arg *a = v;

	a->first = (void *)(uintptr_t)a->prog->jit_func(0, 0, 0, 0, 0);
	a->cpu_after = ebpf_thread_cpu();
	return NULL;
}

START_TEST(test_cpu_id_inline)
{
	static const uint8_t pat[] = { 0x64, 0x8b, 0x04, 0x25 };	/* mov eax, fs:[disp32] */
	struct ebpf_prog *j = load_with(prog_cpu, A_LEN(prog_cpu), EBPF_ENGINE_JIT, NULL);
	struct fresh_arg a = { .prog = j };
	pthread_t t;

	ck_assert_msg(img_has(j, pat, sizeof(pat)), "CPU id not inlined");
	ck_assert_uint_eq(ebpf_prog_run(j, NULL), ebpf_thread_cpu());
	for (int k = 0; k < 3; k++) {
		ck_assert_int_eq(pthread_create(&t, NULL, cpu_thread, &a), 0);
		ck_assert_int_eq(pthread_join(t, NULL), 0);
		ck_assert_uint_eq((uintptr_t)a.first, a.cpu_after);
		ck_assert_uint_lt(a.cpu_after, ebpf_nr_cpus());
	}
	ebpf_prog_put(j);
}
END_TEST

/* ---- hash maps and tries: direct calls ------------------------------------------------ */

static void fill_key(uint8_t *k, uint32_t ks, uint32_t seed)
{
	for (uint32_t b = 0; b < ks; b++)
		k[b] = (uint8_t)(seed * 131 + b * 7 + (seed >> 8));
}

/* Every kind and the specialised key sizes (4, 6, 8, 16) plus a generic
 * one (12): hits give the element's value (this slot for per-CPU maps),
 * misses NULL, as the interpreter's helper path. */
START_TEST(test_hash_direct_call)
{
	static const uint32_t types[] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH,
					  BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH };
	static const uint32_t sizes[] = { 4, 6, 8, 12, 16 };
	unsigned int ncpu = ebpf_nr_cpus(), me = ebpf_thread_cpu();

	for (size_t t = 0; t < A_LEN(types); t++) {
		for (size_t s = 0; s < A_LEN(sizes); s++) {
			bool percpu = types[t] == BPF_MAP_TYPE_PERCPU_HASH ||
				      types[t] == BPF_MAP_TYPE_LRU_PERCPU_HASH;
			uint32_t ks = sizes[s];
			struct ebpf_map *m = new_map(types[t], ks, 8, 256, 0);
			struct ebpf_prog *j = load_with(prog_known, A_LEN(prog_known),
							EBPF_ENGINE_JIT, m);
			struct ebpf_prog *i = load_with(prog_known, A_LEN(prog_known),
							EBPF_ENGINE_INTERP, m);
			uint64_t *vals = calloc(ncpu, 8);

			ck_assert_ptr_nonnull(vals);
			ck_assert_msg(img_has_arg(j, m->priv), "type %u key %u: no direct call",
				      types[t], ks);
			for (uint32_t n = 0; n < 64; n++) {
				uint8_t key[24] = { 0 };

				fill_key(key, ks, n);
				for (unsigned int c = 0; c < ncpu; c++)
					vals[c] = 1000u * n + c;
				ck_assert_int_eq(ebpf_map_update_elem(m, key, vals, BPF_NOEXIST), 0);
			}
			for (uint32_t n = 0; n < 128; n++) {
				uint8_t key[24] = { 0 };
				uint64_t *pj, *pi;

				fill_key(key, ks, n);
				/* bytes past key_size must not matter */
				memset(key + ks, 0x5a, sizeof(key) - ks);
				pj = run_lookup(j, key);
				pi = run_lookup(i, key);
				ck_assert_ptr_eq(pj, pi);
				if (n >= 64) {
					ck_assert_ptr_null(pj);
					continue;
				}
				ck_assert_ptr_nonnull(pj);
				ck_assert_uint_eq(*pj, 1000u * n + (percpu ? me : 0));
			}
			free(vals);
			ebpf_prog_put(j);
			ebpf_prog_put(i);
			ebpf_map_put(m);
		}
	}
}
END_TEST

/* Where the map is not known the helper runs: same answers, no direct call. */
START_TEST(test_unknown_map_uses_helper)
{
	const struct { const struct bpf_insn *p; size_t n; } progs[] = {
		{ prog_copied, A_LEN(prog_copied) }, { prog_target, A_LEN(prog_target) },
	};
	struct ebpf_map *m = new_map(BPF_MAP_TYPE_HASH, 4, 8, 16, 0);
	uint32_t key[6] = { 7 }, miss[6] = { 8 };
	uint64_t v = 99;

	ck_assert_int_eq(ebpf_map_update_elem(m, key, &v, 0), 0);
	for (size_t k = 0; k < A_LEN(progs); k++) {
		struct ebpf_prog *j = load_with(progs[k].p, progs[k].n, EBPF_ENGINE_JIT, m);
		uint64_t *p;

		ck_assert(!img_has_arg(j, m->priv));
		p = run_lookup(j, key);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(*p, 99);
		ck_assert_ptr_null(run_lookup(j, miss));
		ebpf_prog_put(j);
	}
	ebpf_map_put(m);
}
END_TEST

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 11);
}

/* Tries of IPv4 (specialised walk), 8-byte (generic) and IPv6 keys: the
 * program's lookups match the user-side lookup (the generic walk) on
 * random prefixes and keys, short key prefixes and too long ones too. */
START_TEST(test_lpm_direct_call)
{
	static const uint32_t data_sizes[] = { 4, 8, 16 };
	uint64_t seed = 0x1234567887654321ull;

	for (size_t d = 0; d < A_LEN(data_sizes); d++) {
		uint32_t ds = data_sizes[d], bits = ds * 8;
		struct ebpf_map *m = new_map(BPF_MAP_TYPE_LPM_TRIE, 4 + ds, 4, 1024,
					     BPF_F_NO_PREALLOC);
		struct ebpf_prog *j = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, m);
		uint8_t base[16];

		ck_assert_msg(img_has_arg(j, m->priv), "trie %u: no direct call", ds);
		for (uint32_t b = 0; b < ds; b++)
			base[b] = (uint8_t)rnd(&seed);
		for (uint32_t n = 0; n < 600; n++) {
			uint8_t key[24] = { 0 };
			uint32_t pl = rnd(&seed) % (bits + 1), val = n + 1;

			memcpy(key, &pl, 4);
			/* mostly near a common base, so the trie gets deep */
			memcpy(key + 4, base, ds);
			if (n % 4)
				key[4 + rnd(&seed) % ds] ^= (uint8_t)rnd(&seed);
			ck_assert_int_eq(ebpf_map_update_elem(m, key, &val, BPF_ANY), 0);
		}
		for (uint32_t n = 0; n < 3000; n++) {
			uint8_t key[24] = { 0 };
			uint32_t pl = n % 5 == 0 ? rnd(&seed) % (bits + 2) : bits, out = 0;
			uint32_t *p;
			int r;

			memcpy(key, &pl, 4);
			memcpy(key + 4, base, ds);
			if (n % 3 == 0)
				for (uint32_t b = 0; b < ds; b++)
					key[4 + b] = (uint8_t)rnd(&seed);
			else
				key[4 + rnd(&seed) % ds] ^= (uint8_t)(1u << (rnd(&seed) % 8));
			p = run_lookup(j, key);
			r = ebpf_map_lookup_elem(m, key, &out);
			if (r == -ENOENT) {
				ck_assert_msg(!p, "trie %u key %u: program found what user side did not", ds, n);
				continue;
			}
			ck_assert_int_eq(r, 0);
			ck_assert_msg(p, "trie %u key %u: program missed", ds, n);
			ck_assert_msg(*p == out, "trie %u key %u (pl %u): program %u, user side %u", ds, n, pl, *p, out);
		}
		ebpf_prog_put(j);
		ebpf_map_put(m);
	}
}
END_TEST

/* Calls through a register (an image out of rel32 reach): the lookup
 * calls and the slow paths of the inline forms still work. */
START_TEST(test_far_calls)
{
	struct ebpf_map *pa = new_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 3, 0);
	struct ebpf_map *h = new_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 8, 0);
	struct ebpf_prog *jp, *jh, *jc;
	struct fresh_arg a = { .key = { 2 } }, c = { 0 };
	uint32_t key[6] = { 5 };
	uint64_t *vals = calloc(ebpf_nr_cpus(), 8), *p;
	pthread_t t;

	ck_assert_ptr_nonnull(vals);
	ebpf_jit_set_features_off(2);
	jp = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, pa);
	jh = load_with(prog_known, A_LEN(prog_known), EBPF_ENGINE_JIT, h);
	jc = load_with(prog_cpu, A_LEN(prog_cpu), EBPF_ENGINE_JIT, NULL);
	ebpf_jit_set_features_off(0);

	a.prog = jp;
	ck_assert_int_eq(pthread_create(&t, NULL, fresh_thread, &a), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_ptr_nonnull(a.first);
	ck_assert_ptr_eq(a.first, a.second);

	c.prog = jc;
	ck_assert_int_eq(pthread_create(&t, NULL, cpu_thread, &c), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq((uintptr_t)c.first, c.cpu_after);

	for (unsigned int k = 0; k < ebpf_nr_cpus(); k++)
		vals[k] = 500 + k;
	ck_assert_int_eq(ebpf_map_update_elem(h, key, vals, 0), 0);
	ck_assert(img_has_arg(jh, h->priv));
	p = run_lookup(jh, key);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(*p, 500 + ebpf_thread_cpu());
	key[0] = 6;
	ck_assert_ptr_null(run_lookup(jh, key));

	free(vals);
	ebpf_prog_put(jp);
	ebpf_prog_put(jh);
	ebpf_prog_put(jc);
	ebpf_map_put(pa);
	ebpf_map_put(h);
}
END_TEST

static Suite *jit_maps_suite(void)
{
	Suite *s = suite_create("ebpf_jit_maps");
	TCase *tc = tcase_create("jit_maps");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_array_inline);
	tcase_add_test(tc, test_array_inline_kernel_mmap);
	tcase_add_test(tc, test_percpu_array_inline);
	tcase_add_test(tc, test_percpu_array_fresh_thread);
	tcase_add_test(tc, test_cpu_id_inline);
	tcase_add_test(tc, test_hash_direct_call);
	tcase_add_test(tc, test_unknown_map_uses_helper);
	tcase_add_test(tc, test_lpm_direct_call);
	tcase_add_test(tc, test_far_calls);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(jit_maps_suite)
