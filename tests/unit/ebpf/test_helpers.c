/* test_helpers.c - XDP helpers: the runtime against the kernel (bpf_prog_test_run), plus direct checks. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/internal.h"
#include "tests/unit/test.h"

static struct ebpf_object *open_prog_object(const char *rel, enum ebpf_engine engine, bool kernel)
{
	static char err[1024];
	struct ebpf_object_opts o = {
		.sz = sizeof(o), .engine = engine, .err_buf = err, .err_size = sizeof(err),
		.keep_kernel = kernel,
	};
	struct ebpf_object *obj = NULL;

	ck_assert_msg(ebpf_object_open(ftoe_test_path(rel), &o, &obj) == 0, "%s", err);
	return obj;
}

static struct ebpf_object *open_helpers(enum ebpf_engine engine)
{
	return open_prog_object("tests/progs/ld_helpers.bpf.o", engine, true);
}

/* Whether this kernel lets an XDP program call helper id: some refuse
 * bpf_xdp_adjust_meta at load time (6.18 here says "program of this type
 * cannot use helper", a message libbpf_probe_bpf_helper() does not know).  The probe is a program that
 * calls the helper with (ctx, 0) and returns XDP_PASS. */
static bool kernel_has_xdp_helper(enum bpf_func_id id)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2, .imm = 0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = id },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", insns, 4, NULL);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* The object at rel uses a helper this kernel refuses in XDP programs:
 * the gate (every program passes the kernel verifier before it runs) must
 * refuse it, naming the helper. */
static void refused_for_helper(const char *rel, enum ebpf_engine engine, const char *helper)
{
	char err[1024] = "", log[8192] = "";
	struct ebpf_object_opts o = {
		.sz = sizeof(o), .engine = engine, .err_buf = err, .err_size = sizeof(err),
		.log_buf = log, .log_size = sizeof(log),
	};
	struct ebpf_object *obj = NULL;

	ck_assert_int_eq(ebpf_object_open(ftoe_test_path(rel), &o, &obj), -EACCES);
	ck_assert_ptr_null(obj);
	ck_assert_msg(strstr(err, helper) && strstr(err, "does not allow"), "error: %s", err);
}

/* Run prog on pkt in the runtime and in the kernel; verdicts and output
 * frames (metadata + data, as test_run returns them) must be equal. */
static void compare(struct ebpf_object *obj, const char *name, const uint8_t *pkt,
		    size_t len, const char *what)
{
	struct ebpf_prog *prog = ebpf_object_find_prog(obj, name);
	uint8_t kout[4096];
	LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = (uint32_t)len,
		    .data_out = kout, .data_size_out = sizeof(kout), .repeat = 1);
	struct ebpf_xdp_buff *x;
	uint32_t act, out_len;

	ck_assert_ptr_nonnull(prog);
	ck_assert_int_eq(bpf_prog_test_run_opts(ebpf_prog_kernel_fd(prog), &t), 0);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	x->tailroom = EBPF_XDP_TEST_TAILROOM;
	ck_assert_int_eq(ebpf_xdp_buff_set(x, pkt, len, EBPF_XDP_TEST_HEADROOM), 0);
	x->md.ingress_ifindex = 1;
	act = ebpf_prog_run_xdp(prog, x);
	out_len = x->md.data_end - x->md.data_meta;
	ck_assert_msg(act == t.retval, "%s %s (%s): verdict %u, kernel %u", name, what,
		      ebpf_engine_name(ebpf_prog_engine(prog)), act, t.retval);
	ck_assert_msg(out_len == t.data_size_out, "%s %s: %u bytes out, kernel %u", name,
		      what, out_len, t.data_size_out);
	ck_assert_msg(!memcmp((void *)(uintptr_t)x->md.data_meta, kout, out_len),
		      "%s %s: output bytes differ from the kernel's", name, what);
	ebpf_xdp_buff_free(x);
}

static void put_s32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, 4);
}

static void fill(uint8_t *pkt, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		pkt[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 3));
}

START_TEST(test_adjust_vs_kernel)
{
	static const int32_t offs[] = {
		-1000, -300, -256, -217, -216, -215, -212, -100, -64, -41, -40, -36, -33,
		-32, -31, -8, -5, -4, -3, -1, 0, 1, 3, 4, 8, 32, 45, 46, 47, 50, 100, 255,
		3000, 3455, 3456, 3457, 4000, 0x7fffffff, (int32_t)0x80000000,
	};
	static const size_t lens[] = { 18, 60, 64, 200, 1500, 3520 };
	static const char *const progs[] = { "xdp_head", "xdp_tail", "xdp_meta" };
	enum ebpf_engine engine = _i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP;
	bool kmeta = kernel_has_xdp_helper(BPF_FUNC_xdp_adjust_meta);
	struct ebpf_object *obj = open_helpers(engine);
	struct ebpf_object *mobj = kmeta ? open_prog_object("tests/progs/ld_meta.bpf.o", engine, true) : NULL;
	static uint8_t pkt[3520];
	char what[64];

	if (!kmeta)	/* the gate refuses xdp_meta, and says which helper */
		refused_for_helper("tests/progs/ld_meta.bpf.o", engine, "bpf_xdp_adjust_meta");
	for (size_t p = 0; p < (kmeta ? 3 : 2); p++)
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
				fill(pkt, lens[l], (unsigned)o);
				put_s32(pkt + 14, offs[o]);
				snprintf(what, sizeof(what), "len %zu off %d", lens[l], offs[o]);
				compare(p < 2 ? obj : mobj, progs[p], pkt, lens[l], what);
			}
	if (mobj)
		ebpf_object_close(mobj);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_bytes_vs_kernel)
{
	static const uint32_t offs[] = { 0, 1, 10, 55, 56, 57, 63, 64, 100, 0xffff, 0x10000,
					 0xffffffff };
	struct ebpf_object *obj = open_helpers(_i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP);
	uint8_t pkt[64];
	char what[32];

	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++) {
		fill(pkt, sizeof(pkt), (unsigned)o);
		memcpy(pkt + 14, &offs[o], 4);
		snprintf(what, sizeof(what), "off %u", offs[o]);
		compare(obj, "xdp_bytes", pkt, sizeof(pkt), what);
	}
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_csum_diff_vs_kernel)
{
	struct ebpf_object *obj = open_helpers(_i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP);
	uint8_t pkt[160];
	char what[48];
	unsigned s;

	srand(42);
	for (s = 0; s < 200; s++) {
		for (size_t i = 0; i < sizeof(pkt); i++)
			pkt[i] = (uint8_t)rand();
		/* sizes: multiples of 4, odd ones, zero, the maximum */
		pkt[14] = s < 64 ? (uint8_t)s : (uint8_t)(s * 4);
		pkt[15] = (uint8_t)(s % 5 == 0 ? 0 : s * 3);
		if (s % 7 == 0)
			memset(pkt + 16, s % 2 ? 0xff : 0, 4);	/* seeds 0, ~0 */
		if (s % 11 == 0)
			memcpy(pkt + 84, pkt + 20, 64);	/* from == to */
		snprintf(what, sizeof(what), "sizes %u/%u", pkt[14] & 63, pkt[15] & 63);
		compare(obj, "xdp_csum", pkt, sizeof(pkt), what);
	}
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_redirect_loop_printk_vs_kernel)
{
	struct ebpf_object *obj = open_helpers(_i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP);
	struct ebpf_object_opts o = { .sz = sizeof(o), .engine = EBPF_ENGINE_INTERP,
				      .keep_kernel = true };
	struct ebpf_object *lobj;
	uint8_t pkt[64];

	for (int f = 0; f < 3; f++) {
		fill(pkt, sizeof(pkt), (unsigned)f);
		pkt[14] = (uint8_t)f;	/* flags: only 0 redirects */
		compare(obj, "xdp_redirect", pkt, sizeof(pkt), "flags");
	}
	fill(pkt, sizeof(pkt), 1);
	pkt[14] = 0xf0;
	compare(obj, "xdp_printk", pkt, sizeof(pkt), "printk");
	ck_assert_int_eq(ebpf_object_open(ftoe_test_path("tests/progs/ld_loop.bpf.o"), &o,
					  &lobj), 0);
	for (int n = 0; n < 256; n += 17) {
		fill(pkt, sizeof(pkt), (unsigned)n);
		pkt[14] = (uint8_t)n;
		pkt[15] = (uint8_t)(n * 5);
		compare(lobj, "xdp_loop", pkt, sizeof(pkt), "loop");
	}
	ebpf_object_close(lobj);
	ebpf_object_close(obj);
}
END_TEST

static char trace_line[512];

static void capture(const char *line)
{
	snprintf(trace_line, sizeof(trace_line), "%s", line);
}

static uint64_t call(uint32_t id, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e)
{
	const struct ebpf_helper *h = ebpf_helper_get(EBPF_HELPERS_XDP, id);

	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_nonnull(h->fn);
	return h->fn(a, b, c, d, e);
}

#define U(p) ((uint64_t)(uintptr_t)(p))

START_TEST(test_trace_printk)
{
	static const char fmt[] = "a=%d b=%u c=%x d=%lld e=%llx s=%s";
	static const char fmt2[] = "%ld %lu %lx %%";
	static const char bad_conv[] = "%q";
	static const char four[] = "%d %d %d %d";
	static const char unterminated[4] = { 'a', 'b', 'c', 'd' };

	ebpf_set_trace_sink(capture);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U(fmt2), sizeof(fmt2),
				       (uint64_t)-5, 7, 255), 9);
	ck_assert_str_eq(trace_line, "-5 7 ff %");
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U("x %s"), 5,
				       U("hello"), 0, 0), 7);
	ck_assert_str_eq(trace_line, "x hello");
	/* %s of a bad address reads as empty, as the kernel's nofault copy. */
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U("[%s]"), 5, 8, 0, 0), 2);
	ck_assert_str_eq(trace_line, "[]");
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U("%d %u"), 6,
				       0xffffffffull, 0xffffffffull, 0), 13);
	ck_assert_str_eq(trace_line, "-1 4294967295");
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U(bad_conv), sizeof(bad_conv),
				       0, 0, 0), -EINVAL);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U(four), sizeof(four), 1, 2, 3),
			 -EINVAL);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_trace_printk, U(unterminated),
				       sizeof(unterminated), 0, 0, 0), -EINVAL);
	(void)fmt;
	ebpf_set_trace_sink(NULL);
}
END_TEST

/* The kernel selftest's vector: csum_diff(push 0xdeadbeefdeadbeef) = 0x3b3b. */
START_TEST(test_csum_diff_direct)
{
	uint64_t v = 0xdeadbeefdeadbeefull;

	ck_assert_uint_eq(call(BPF_FUNC_csum_diff, 0, 0, U(&v), 8, 0), 0x3b3b);
	/* Diffing a buffer against itself gives the seed back (folded). */
	ck_assert_uint_eq(call(BPF_FUNC_csum_diff, U(&v), 8, U(&v), 8, 0x1234), 0x1234);
	ck_assert_uint_eq(call(BPF_FUNC_csum_diff, 0, 0, 0, 0, 0x12345678), 0x68ac);
}
END_TEST

static uint64_t count_cb(const struct ebpf_callback *cb, uint64_t i, uint64_t ctx,
			 uint64_t r3, uint64_t r4, uint64_t r5)
{
	uint32_t *n = (uint32_t *)(uintptr_t)ctx;

	(void)cb; (void)r3; (void)r4; (void)r5;
	(*n)++;
	return i == 9;	/* stop after the tenth */
}

START_TEST(test_loop_direct)
{
	struct ebpf_callback cb = { .invoke = count_cb };
	uint32_t n = 0;

	ck_assert_uint_eq(call(BPF_FUNC_loop, 5, U(&cb), U(&n), 0, 0), 5);
	ck_assert_uint_eq(n, 5);
	n = 0;
	ck_assert_uint_eq(call(BPF_FUNC_loop, 100, U(&cb), U(&n), 0, 0), 10);
	ck_assert_uint_eq(n, 10);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_loop, 1, U(&cb), U(&n), 1, 0), -EINVAL);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_loop, (1u << 23) + 1, U(&cb), U(&n), 0, 0),
			 -E2BIG);
}
END_TEST

/* A host with raw-frame sockets 5 and 6 (struct ebpf_host xsk_check). */
static int fake_xsk_check(void *ctx, uint32_t id)
{
	(void)ctx;
	return id == 5 || id == 6 ? 0 : -EBADF;
}

/* An xskmap slot holds a raw-frame socket id of the host, with the
 * kernel's checks (xsk_map_update_elem) and errnos; bpf_redirect_map
 * finds it full and hands the hooks the socket (redirect_value); a
 * closed socket leaves its slots (ebpf_xskmap_forget). */
START_TEST(test_xskmap_redirect)
{
	struct ebpf_map_spec spec = { .name = "xsks_map", .type = BPF_MAP_TYPE_XSKMAP,
				      .key_size = 4, .value_size = 4, .max_entries = 4 };
	struct ebpf_host h = { .sz = sizeof(h), .xsk_check = fake_xsk_check };
	struct ebpf_xdp_buff *x;
	struct ebpf_map *m;
	uint32_t k = 2, v = 5, bad = 7, out;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(4096, &x), 0);
	ebpf_run_ctx.xdp = x;
	/* Without such a host nothing can go in (no AF_XDP socket to name). */
	ebpf_set_host(NULL);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), -EOPNOTSUPP);
	ebpf_set_host(&h);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 2, XDP_PASS, 0, 0), XDP_PASS);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_EXIST), -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &bad, BPF_ANY), -EBADF);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, 4), -EINVAL);
	k = 4;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), -E2BIG);
	k = 2;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), 0);
	/* the same socket again is no conflict; another is, with NOEXIST */
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), 0);
	v = 6;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_NOEXIST), -EEXIST);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_EXIST), 0);
	/* user space still may not read a slot, as in the kernel */
	ck_assert_int_eq(ebpf_map_lookup_elem(m, &k, &out), -EOPNOTSUPP);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 2, XDP_PASS, 0, 0), XDP_REDIRECT);
	ck_assert_ptr_eq(x->redirect_map, m);
	ck_assert_ptr_nonnull(x->redirect_value);
	memcpy(&out, x->redirect_value, 4);
	ck_assert_uint_eq(out, 6);
	/* an empty slot: the fallback, and no target left behind */
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 1, XDP_DROP, 0, 0), XDP_DROP);
	ck_assert_ptr_null(x->redirect_value);
	k = 0;
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_xskmap_forget(m, 6), 2);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 2, XDP_PASS, 0, 0), XDP_PASS);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 0, XDP_PASS, 0, 0), XDP_PASS);
	ck_assert_int_eq(ebpf_xskmap_forget(m, 6), 0);
	ebpf_set_host(NULL);
	ebpf_run_ctx.xdp = NULL;
	ebpf_xdp_buff_free(x);
	ebpf_map_put(m);
}
END_TEST

/* A host whose interface is ifindex host_if (struct ebpf_host
 * devmap_check, as the engine's). */
static uint32_t host_if;

static int fake_devmap_check(void *ctx, uint32_t ifindex)
{
	(void)ctx;
	return ifindex == host_if ? 0 : -EXDEV;
}

/* Devmap slots in the engine: only the host's interface goes in (-EXDEV
 * for another device, after the kernel's own checks, so a missing device
 * is still EINVAL and a program slot EOPNOTSUPP); without such a host any
 * device of the netns, as in the kernel.  A broadcast counts a copy per
 * full slot but the excluded ingress device's (ebpf_devmap_targets), and
 * leaves the map for the hooks, also when the key's slot is empty.  The
 * loopback device, ifindex 1, is the one device every netns has. */
START_TEST(test_devmap_targets)
{
	struct ebpf_map_spec dspec = { .name = "tx_port", .type = BPF_MAP_TYPE_DEVMAP,
				       .key_size = 4, .value_size = 8, .max_entries = 6 };
	struct ebpf_map_spec hspec = { .name = "tx_hash", .type = BPF_MAP_TYPE_DEVMAP_HASH,
				       .key_size = 4, .value_size = 4, .max_entries = 6 };
	struct ebpf_map_spec cspec = { .name = "cpus", .type = BPF_MAP_TYPE_CPUMAP,
				       .key_size = 4, .value_size = 4, .max_entries = 1 };
	struct ebpf_host h = { .sz = sizeof(h), .devmap_check = fake_devmap_check };
	uint32_t lo[2] = { 1, 0 }, gone[2] = { 999999, 0 }, prog[2] = { 1, 3 }, one = 1, same = 9;
	struct ebpf_map *d, *hm, *c;
	struct ebpf_xdp_buff *x;
	uint32_t k;

	ck_assert_int_eq(ebpf_map_create(&dspec, &d), 0);
	ck_assert_int_eq(ebpf_map_create(&hspec, &hm), 0);
	ck_assert_int_eq(ebpf_map_create(&cspec, &c), 0);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(4096, &x), 0);
	ebpf_run_ctx.xdp = x;
	/* the host's interface is another one than lo */
	host_if = 2;
	ebpf_set_host(&h);
	k = 0;
	ck_assert_int_eq(ebpf_map_update_elem(d, &k, lo, BPF_ANY), -EXDEV);
	ck_assert_int_eq(ebpf_map_update_elem(d, &k, gone, BPF_ANY), -EINVAL);
	ck_assert_int_eq(ebpf_map_update_elem(d, &k, prog, BPF_ANY), -EOPNOTSUPP);
	ck_assert_int_eq(ebpf_map_update_elem(hm, &one, &one, BPF_ANY), -EXDEV);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(d), 0, XDP_PASS, 0, 0), XDP_PASS);
	/* lo is the host's interface: it goes in */
	host_if = 1;
	for (k = 0; k < 6; k += 2)
		ck_assert_int_eq(ebpf_map_update_elem(d, &k, lo, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_elem(hm, &one, &one, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_devmap_targets(d, 0, 1, &same), 3);
	ck_assert_uint_eq(same, 3);
	ck_assert_int_eq(ebpf_devmap_targets(d, 0, 7, &same), 3);
	ck_assert_uint_eq(same, 0);
	ck_assert_int_eq(ebpf_devmap_targets(d, 1, 1, &same), 0);	/* EXCLUDE_INGRESS */
	ck_assert_uint_eq(same, 0);
	ck_assert_int_eq(ebpf_devmap_targets(hm, 0, 1, &same), 1);
	ck_assert_uint_eq(same, 1);
	ck_assert_int_eq(ebpf_devmap_targets(c, 0, 1, &same), -EINVAL);
	k = 2;
	ck_assert_int_eq(ebpf_map_delete_elem(d, &k), 0);
	ck_assert_int_eq(ebpf_devmap_targets(d, 0, 1, &same), 2);
	/* one slot: its value reaches the hooks */
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(d), 4, XDP_PASS, 0, 0), XDP_REDIRECT);
	ck_assert_ptr_eq(x->redirect_map, d);
	ck_assert_uint_eq(*(const uint32_t *)x->redirect_value, 1);
	/* a broadcast through an empty key still redirects, flags kept */
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(d), 1,
			       BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS, 0, 0), XDP_REDIRECT);
	ck_assert_ptr_eq(x->redirect_map, d);
	ck_assert_ptr_null(x->redirect_value);
	ck_assert_uint_eq(x->redirect_flags, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	/* without the host's check, any device of the netns, as the kernel */
	ebpf_set_host(NULL);
	k = 1;
	ck_assert_int_eq(ebpf_map_update_elem(d, &k, lo, BPF_ANY), 0);
	ck_assert_int_eq(ebpf_map_update_elem(d, &k, gone, BPF_ANY), -EINVAL);
	ebpf_run_ctx.xdp = NULL;
	ebpf_xdp_buff_free(x);
	ebpf_map_put(c);
	ebpf_map_put(hm);
	ebpf_map_put(d);
}
END_TEST

START_TEST(test_redirect_map_direct)
{
	struct ebpf_map_spec spec = { .name = "ports", .type = BPF_MAP_TYPE_HASH,
				      .key_size = 4, .value_size = 4, .max_entries = 4 };
	struct ebpf_xdp_buff *x;
	struct ebpf_map *m;
	uint32_t k = 3, v = 9;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(4096, &x), 0);
	ebpf_run_ctx.xdp = x;
	/* No entry: the low bits of flags are the verdict. */
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 3, XDP_PASS, 0, 0), XDP_PASS);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 3, XDP_DROP, 0, 0), XDP_DROP);
	/* Flags beyond the action bits: aborted. */
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 3, 8, 0, 0), XDP_ABORTED);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), 0);
	ck_assert_uint_eq(call(BPF_FUNC_redirect_map, U(m), 3, XDP_PASS, 0, 0), XDP_REDIRECT);
	ck_assert_ptr_eq(x->redirect_map, m);
	ck_assert_uint_eq(x->redirect_key, 3);
	ck_assert_uint_eq(call(BPF_FUNC_redirect, 7, 0, 0, 0, 0), XDP_REDIRECT);
	ck_assert_uint_eq(x->redirect_ifindex, 7);
	ck_assert_ptr_null(x->redirect_map);
	ck_assert_uint_eq(call(BPF_FUNC_redirect, 7, 1, 0, 0, 0), XDP_ABORTED);
	ebpf_run_ctx.xdp = NULL;
	ebpf_xdp_buff_free(x);
	ebpf_map_put(m);
}
END_TEST

struct perf_log {
	uint8_t data[8][256];
	uint32_t size[8];
	int n;
	uint64_t lost;
};

static void perf_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	struct perf_log *l = ctx;

	(void)cpu;
	if (l->n < 8 && size <= sizeof(l->data[0])) {
		memcpy(l->data[l->n], data, size);
		l->size[l->n] = size;
	}
	l->n++;
}

static void perf_lost(void *ctx, int cpu, uint64_t cnt)
{
	(void)cpu;
	((struct perf_log *)ctx)->lost += cnt;
}

/* bpf_perf_event_output's checks in the kernel's order, its record
 * layout (raw size padded so the record ends 8-aligned, the frame's
 * bytes after the data), and a full ring counted as lost. */
START_TEST(test_perf_event_output_direct)
{
	struct ebpf_map_spec spec = { .name = "events", .type = BPF_MAP_TYPE_PERF_EVENT_ARRAY,
				      .key_size = 4, .value_size = 4, .max_entries = 2 };
	static const uint8_t frame[20] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x08, 0, 0x45 };
	const uint64_t cur = BPF_F_CURRENT_CPU, ctx5 = 5ull << 32;
	struct ebpf_perf_buffer *pb, *again;
	struct perf_log log = { 0 };
	uint32_t meta = 0xa1b2c3d4, k = 0, v = 3;
	uint8_t big[200] = { 0 };
	struct ebpf_xdp_buff *x;
	struct ebpf_map *m;
	uint64_t wake;
	int sent = 0, ret, wfd;

	ck_assert_int_eq(ebpf_map_create(&spec, &m), 0);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(4096, &x), 0);
	ck_assert_int_eq(ebpf_xdp_buff_set(x, frame, sizeof(frame), 256), 0);
	ebpf_run_ctx.xdp = x;
	/* no consumer: every slot is empty, as a kernel slot without an event */
	ck_assert_int_eq((int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), cur, U(&meta), 4),
			 -ENOENT);
	ck_assert_int_eq(ebpf_map_update_elem(m, &k, &v, BPF_ANY), -EOPNOTSUPP);
	ck_assert_int_eq(ebpf_perf_buffer_new(m, 3, &pb), -EINVAL);	/* not a power of 2 */
	ck_assert_int_eq(ebpf_perf_buffer_new(m, 1, &pb), 0);
	ck_assert_int_eq(ebpf_perf_buffer_new(m, 1, &again), -EBUSY);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), 1ull << 60,
				       U(&meta), 4), -EINVAL);	/* flags outside the masks */
	ck_assert_int_eq((int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), 21ull << 32,
				       U(&meta), 4), -EFAULT);	/* more than the frame */
	ck_assert_int_eq((int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), 2, U(&meta), 4),
			 -E2BIG);			/* index past the slots */
	/* the wakeup: nothing yet; the first sample into an empty ring
	 * writes it, a second one before the drain does not again */
	wfd = ebpf_perf_buffer_wait_fd(pb);
	ck_assert_int_ge(wfd, 0);
	ck_assert_int_lt(read(wfd, &wake, sizeof(wake)), 0);
	ck_assert_int_eq(call(BPF_FUNC_perf_event_output, U(x), U(m), cur | ctx5, U(&meta), 4), 0);
	ck_assert_int_eq(read(wfd, &wake, sizeof(wake)), sizeof(wake));
	ck_assert_uint_eq(wake, 1);
	ck_assert_int_eq(call(BPF_FUNC_perf_event_output, U(x), U(m), cur | ctx5, U(&meta), 4), 0);
	ck_assert_int_lt(read(wfd, &wake, sizeof(wake)), 0);
	ck_assert_int_eq(ebpf_perf_buffer_consume(pb, perf_sample, perf_lost, &log), 2);
	/* 4 + 5 bytes, padded: raw size 12 (4 + 12 = 16, 8-aligned) */
	ck_assert_uint_eq(log.size[0], 12);
	ck_assert_int_eq(memcmp(log.data[0], &meta, 4), 0);
	ck_assert_int_eq(memcmp(log.data[0] + 4, frame, 5), 0);
	ck_assert_int_eq(log.data[0][9] | log.data[0][10] | log.data[0][11], 0);

	/* fill the 4 KiB ring of slot 1: the rest is lost, then counted */
	do {
		ret = (int)(int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), 1, U(big),
					 sizeof(big));
		sent += !ret;
	} while (!ret && sent < 100);
	ck_assert_int_eq(ret, -ENOSPC);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), 1, U(big), 190),
			 -ENOSPC);
	/* a small sample still fits: perf writes a LOST record before it */
	ck_assert_int_eq(call(BPF_FUNC_perf_event_output, U(x), U(m), 1, U(big), 8), 0);
	memset(&log, 0, sizeof(log));
	ck_assert_int_eq(ebpf_perf_buffer_consume(pb, perf_sample, perf_lost, &log), sent + 2);
	ck_assert_uint_eq(log.lost, 2);
	ck_assert_int_eq(log.n, sent + 1);
	/* records that wrap the ring's end still arrive whole */
	for (int i = 0; i < 40; i++) {
		big[0] = (uint8_t)i;
		ck_assert_int_eq(call(BPF_FUNC_perf_event_output, U(x), U(m), 1, U(big), 100), 0);
		memset(&log, 0, sizeof(log));
		ck_assert_int_eq(ebpf_perf_buffer_consume(pb, perf_sample, perf_lost, &log), 1);
		ck_assert_uint_eq(log.size[0], 100);
		ck_assert_uint_eq(log.data[0][0], (uint8_t)i);
	}
	ebpf_perf_buffer_free(pb);
	ck_assert_int_eq((int64_t)call(BPF_FUNC_perf_event_output, U(x), U(m), 0, U(&meta), 4),
			 -ENOENT);
	ebpf_run_ctx.xdp = NULL;
	ebpf_xdp_buff_free(x);
	ebpf_map_put(m);
}
END_TEST

START_TEST(test_helper_tables)
{
	ck_assert_ptr_null(ebpf_helper_get(EBPF_HELPERS_XDP, BPF_FUNC_get_current_pid_tgid));
	ck_assert_ptr_null(ebpf_helper_get(EBPF_HELPERS_XDP, 0));
	ck_assert_ptr_null(ebpf_helper_get(EBPF_HELPERS_XDP, 100000));
	ck_assert_str_eq(ebpf_helper_get(EBPF_HELPERS_XDP, BPF_FUNC_tail_call)->name,
			 "bpf_tail_call");
	ck_assert_ptr_null(ebpf_helper_get(EBPF_HELPERS_XDP, BPF_FUNC_tail_call)->fn);
	ck_assert_str_eq(ebpf_helper_get(EBPF_HELPERS_XDP, BPF_FUNC_xdp_adjust_head)->name,
			 "bpf_xdp_adjust_head");
	ck_assert_str_eq(ebpf_helper_kernel_name(BPF_FUNC_get_current_pid_tgid),
			 "bpf_get_current_pid_tgid");
	ck_assert_str_eq(ebpf_helper_kernel_name(BPF_FUNC_skb_load_bytes), "bpf_skb_load_bytes");
	ck_assert_str_eq(ebpf_helper_kernel_name(99999), "helper #99999");
	ck_assert_uint_lt(call(BPF_FUNC_get_smp_processor_id, 0, 0, 0, 0, 0), EBPF_MAX_CPUS);
	ck_assert_uint_gt(call(BPF_FUNC_ktime_get_ns, 0, 0, 0, 0, 0), 0);
	{
		/* The coarse clock is CLOCK_MONOTONIC at tick resolution:
		 * never ahead of the fine clock, at most a tick or so behind. */
		uint64_t coarse = call(BPF_FUNC_ktime_get_coarse_ns, 0, 0, 0, 0, 0);
		uint64_t fine = call(BPF_FUNC_ktime_get_ns, 0, 0, 0, 0, 0);

		ck_assert_uint_gt(coarse, 0);
		ck_assert_uint_le(coarse, fine);
		ck_assert_uint_lt(fine - coarse, 100000000ull);
	}
}
END_TEST

static Suite *helpers_suite(void)
{
	Suite *s = suite_create("ebpf_helpers");
	TCase *k = tcase_create("vs_kernel");
	TCase *d = tcase_create("direct");

	tcase_set_timeout(k, 120);
	/* loop index 0: interpreter, 1: JIT */
	tcase_add_loop_test(k, test_adjust_vs_kernel, 0, 2);
	tcase_add_loop_test(k, test_bytes_vs_kernel, 0, 2);
	tcase_add_loop_test(k, test_csum_diff_vs_kernel, 0, 2);
	tcase_add_loop_test(k, test_redirect_loop_printk_vs_kernel, 0, 2);
	tcase_add_test(d, test_trace_printk);
	tcase_add_test(d, test_csum_diff_direct);
	tcase_add_test(d, test_loop_direct);
	tcase_add_test(d, test_redirect_map_direct);
	tcase_add_test(d, test_xskmap_redirect);
	tcase_add_test(d, test_devmap_targets);
	tcase_add_test(d, test_perf_event_output_direct);
	tcase_add_test(d, test_helper_tables);
	suite_add_tcase(s, k);
	suite_add_tcase(s, d);
	return s;
}

FTOE_TEST_SUITE(helpers_suite)
