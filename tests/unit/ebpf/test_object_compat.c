/* test_object_compat.c - loader: objects as real projects ship them (other program types beside XDP, maps sized and globals set before load). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

#include "ebpf/internal.h"
#include "tests/unit/test.h"

static char err[1024];

struct presets {
	const char *prog;
	const struct ebpf_map_size *sizes;
	size_t nr_sizes;
	const struct ebpf_global_init *globals;
	size_t nr_globals;
};

static int open_mixed(enum ebpf_engine engine, const struct presets *ps,
		      struct ebpf_object **obj)
{
	struct ebpf_object_opts o = {
		.sz = sizeof(o), .engine = engine, .err_buf = err, .err_size = sizeof(err),
		.keep_kernel = true, .prog_name = ps->prog, .map_sizes = ps->sizes,
		.nr_map_sizes = ps->nr_sizes, .globals = ps->globals,
		.nr_globals = ps->nr_globals,
	};

	err[0] = '\0';
	return ebpf_object_open(ftoe_test_path("tests/progs/ld_mixed.bpf.o"), &o, obj);
}

static const struct ebpf_map_size sized[] = { { "counts", 8 } };

START_TEST(test_foreign_programs_skipped)
{
	const struct presets ps = { .sizes = sized, .nr_sizes = 1 };
	const struct ebpf_skipped_prog *sk;
	struct ebpf_object *obj;
	size_t n;

	ck_assert_msg(open_mixed(_i, &ps, &obj) == 0, "%s", err);
	ck_assert_ptr_nonnull(ebpf_object_find_prog(obj, "xdp_cfg"));
	ck_assert_ptr_nonnull(ebpf_object_find_prog(obj, "xdp_other"));
	ck_assert_ptr_null(ebpf_object_find_prog(obj, "tc_mark"));
	ck_assert_ptr_null(ebpf_object_find_prog(obj, "trace_exc"));
	sk = ebpf_object_skipped_progs(obj, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(sk[0].name, "tc_mark");
	ck_assert_str_eq(sk[0].section, "tc");
	ck_assert_str_eq(sk[0].type, "sched_cls");
	ck_assert_str_eq(sk[1].name, "trace_exc");
	ck_assert_str_eq(sk[1].type, "tracing");
	ck_assert_uint_eq(ebpf_map_max_entries(ebpf_object_find_map(obj, "counts")), 8);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_prog_name_loads_only_it)
{
	struct presets ps = { .prog = "xdp_other", .sizes = sized, .nr_sizes = 1 };
	struct ebpf_object *obj;

	ck_assert_msg(open_mixed(EBPF_ENGINE_JIT, &ps, &obj) == 0, "%s", err);
	ck_assert_ptr_nonnull(ebpf_object_find_prog(obj, "xdp_other"));
	ck_assert_ptr_null(ebpf_object_find_prog(obj, "xdp_cfg"));
	ck_assert_ptr_null(ebpf_object_next_prog(obj, ebpf_object_next_prog(obj, NULL)));
	ebpf_object_close(obj);

	ps.prog = "tc_mark";
	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -EOPNOTSUPP);
	ck_assert_ptr_null(obj);
	ck_assert_msg(strstr(err, "'tc_mark'") && strstr(err, "sched_cls"), "%s", err);

	ps.prog = "no_such";
	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -ENOENT);
	ck_assert_msg(strstr(err, "'no_such'") && strstr(err, "xdp_cfg"), "%s", err);
}
END_TEST

START_TEST(test_zero_sized_map_needs_size)
{
	const struct ebpf_map_size zero[] = { { "counts", 0 } };
	const struct ebpf_map_size other[] = { { "nomap", 4 } };
	struct presets ps = { 0 };
	struct ebpf_object *obj;

	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "'counts'") && strstr(err, "max_entries 0"), "%s", err);
	ps.sizes = zero;
	ps.nr_sizes = 1;
	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -EINVAL);
	ps.sizes = other;
	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -ENOENT);
	ck_assert_msg(strstr(err, "'nomap'") && strstr(err, "counts"), "%s", err);
}
END_TEST

/* The runtime and its kernel twin both see the preset .rodata: the
 * verdict comes from cfg_verdict, the counted key from cfg_key_off. */
START_TEST(test_rodata_set_before_load)
{
	const uint32_t verdict = XDP_TX;
	const uint8_t key_off = 15;
	const struct ebpf_global_init g[] = {
		{ "cfg_verdict", &verdict, sizeof(verdict) },
		{ "cfg_key_off", &key_off, sizeof(key_off) },
	};
	const struct presets ps = { .sizes = sized, .nr_sizes = 1, .globals = g,
				    .nr_globals = 2 };
	uint8_t pkt[60] = { 0 }, out[60];
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *p;
	struct ebpf_map *counts;
	uint32_t key = 9;
	uint64_t v = 0;

	pkt[14] = 5;
	pkt[15] = 9;
	ck_assert_msg(open_mixed(_i, &ps, &obj) == 0, "%s", err);
	p = ebpf_object_find_prog(obj, "xdp_cfg");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	x->tailroom = EBPF_XDP_TEST_TAILROOM;
	ck_assert_int_eq(ebpf_xdp_buff_set(x, pkt, sizeof(pkt), EBPF_XDP_TEST_HEADROOM), 0);
	ck_assert_uint_eq(ebpf_prog_run_xdp(p, x), XDP_TX);
	ebpf_xdp_buff_free(x);
	counts = ebpf_object_find_map(obj, "counts");
	ck_assert_int_eq(ebpf_map_lookup_elem(counts, &key, &v), 0);
	ck_assert_uint_eq(v, 1);

	{
		LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = sizeof(pkt),
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);

		ck_assert_int_eq(bpf_prog_test_run_opts(ebpf_prog_kernel_fd(p), &t), 0);
		ck_assert_uint_eq(t.retval, XDP_TX);
		v = 0;
		ck_assert_int_eq(bpf_map_lookup_elem(ebpf_object_kernel_map_fd(obj, counts),
						     &key, &v), 0);
		ck_assert_uint_eq(v, 1);
	}
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_bad_globals)
{
	const uint16_t small = 1;
	struct ebpf_global_init g = { "cfg_verdict", &small, sizeof(small) };
	struct presets ps = { .sizes = sized, .nr_sizes = 1, .globals = &g, .nr_globals = 1 };
	struct ebpf_object *obj;

	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "4 bytes") && strstr(err, "2 given"), "%s", err);
	g.name = "no_such_var";
	ck_assert_int_eq(open_mixed(EBPF_ENGINE_JIT, &ps, &obj), -ENOENT);
	ck_assert_msg(strstr(err, "'no_such_var'"), "%s", err);
}
END_TEST

struct lock_run {
	struct ebpf_prog *prog;
	int runs;
};

static void *run_locked(void *arg)
{
	struct lock_run *lr = arg;
	uint8_t pkt[60] = { 0 };
	struct ebpf_xdp_buff *x;

	if (ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x))
		return NULL;
	x->tailroom = EBPF_XDP_TEST_TAILROOM;
	for (int i = 0; i < lr->runs; i++) {
		ebpf_xdp_buff_set(x, pkt, sizeof(pkt), EBPF_XDP_TEST_HEADROOM);
		ebpf_prog_run_xdp(lr->prog, x);
	}
	ebpf_xdp_buff_free(x);
	return lr;
}

/* Two threads update one value under bpf_spin_lock: no update is lost
 * (seq and bytes are read-modify-write pairs the lock keeps together). */
START_TEST(test_spin_lock_two_threads)
{
	struct ebpf_object_opts o = { .sz = sizeof(o), .engine = _i, .err_buf = err,
				      .err_size = sizeof(err) };
	struct { uint32_t lock, seq; uint64_t bytes; } st;
	struct lock_run lr = { .runs = 200000 };
	struct ebpf_object *obj;
	pthread_t t[2];
	uint32_t key = 0;

	ck_assert_msg(ebpf_object_open(ftoe_test_path("tests/progs/ld_spinlock.bpf.o"), &o,
				       &obj) == 0, "%s", err);
	lr.prog = ebpf_object_find_prog(obj, "xdp_locked");
	ck_assert_ptr_nonnull(lr.prog);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, run_locked, &lr), 0);
	for (int i = 0; i < 2; i++) {
		void *ret;

		ck_assert_int_eq(pthread_join(t[i], &ret), 0);
		ck_assert_ptr_eq(ret, &lr);
	}
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "state"), &key, &st), 0);
	ck_assert_uint_eq(st.lock, 0);
	ck_assert_uint_eq(st.seq, 2u * lr.runs);
	ck_assert_uint_eq(st.bytes, 2ull * lr.runs * 60);
	ebpf_object_close(obj);
}
END_TEST

static Suite *object_compat_suite(void)
{
	Suite *s = suite_create("ebpf_object_compat");
	TCase *tc = tcase_create("load");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_foreign_programs_skipped, EBPF_ENGINE_INTERP,
			    EBPF_ENGINE_JIT + 1);
	tcase_add_test(tc, test_prog_name_loads_only_it);
	tcase_add_test(tc, test_zero_sized_map_needs_size);
	tcase_add_loop_test(tc, test_rodata_set_before_load, EBPF_ENGINE_INTERP,
			    EBPF_ENGINE_JIT + 1);
	tcase_add_test(tc, test_bad_globals);
	tcase_add_loop_test(tc, test_spin_lock_two_threads, EBPF_ENGINE_INTERP,
			    EBPF_ENGINE_JIT + 1);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(object_compat_suite)
