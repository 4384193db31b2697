/* test_xdp.c - XDP buffers: placement below 2 GiB, geometry, and the adjust rules at their edges. */
#include <errno.h>
#include <string.h>

#include "ebpf/internal.h"
#include "tests/unit/ebpf/asm.h"
#include "tests/unit/test.h"

#define U(p) ((uint64_t)(uintptr_t)(p))

static int64_t helper(uint32_t id, struct ebpf_xdp_buff *x, int64_t arg)
{
	return (int64_t)ebpf_helper_get(EBPF_HELPERS_XDP, id)->fn(U(x), (uint64_t)arg, 0, 0, 0);
}

START_TEST(test_alloc_below_2g)
{
	struct ebpf_xdp_buff *x[8];

	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(ebpf_xdp_buff_alloc(i % 2 ? 65536 : 4096, &x[i]), 0);
		ck_assert_uint_lt(U(x[i]), 1ull << 31);
		ck_assert_uint_lt(U(x[i]->hard_start) + x[i]->frame_sz, 1ull << 31);
		/* the whole frame is writable */
		memset(x[i]->hard_start, 0xab, x[i]->frame_sz);
	}
	for (int i = 0; i < 8; i++)
		ebpf_xdp_buff_free(x[i]);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(0, &x[0]), -EINVAL);
	ck_assert_int_eq(ebpf_xdp_buff_alloc(65537, &x[0]), -EINVAL);
}
END_TEST

START_TEST(test_set_geometry)
{
	static uint8_t big[4096];
	struct ebpf_xdp_buff *x;
	uint8_t pkt[100];

	for (int i = 0; i < 100; i++)
		pkt[i] = (uint8_t)i;
	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	ck_assert_uint_eq(x->tailroom, EBPF_XDP_TEST_TAILROOM);
	memset(x->hard_start, 0x77, x->frame_sz);
	x->md.ingress_ifindex = 5;
	x->md.rx_queue_index = 2;
	ck_assert_int_eq(ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256), 0);
	ck_assert_uint_eq(x->md.data, U(x->hard_start) + 256);
	ck_assert_uint_eq(x->md.data_meta, x->md.data);
	ck_assert_uint_eq(ebpf_xdp_len(x), 100);
	ck_assert(!memcmp(ebpf_xdp_data(x), pkt, 100));
	ck_assert_uint_eq(x->hard_start[0], 0);		/* headroom zeroed */
	ck_assert_uint_eq(x->hard_start[255], 0);
	ck_assert_uint_eq(x->md.ingress_ifindex, 5);	/* settable, kept */
	ck_assert_uint_eq(x->md.rx_queue_index, 2);
	/* headroom + len + tailroom must fit the frame */
	ck_assert_int_eq(ebpf_xdp_buff_set(x, big, 3521, 256), -EINVAL);
	ck_assert_int_eq(ebpf_xdp_buff_set(x, big, 3520, 256), 0);
	ck_assert_int_eq(ebpf_xdp_buff_set(x, big, 3521, 255), 0);
	ebpf_xdp_buff_free(x);
}
END_TEST

/* Edges of net/core/filter.c's rules with the test_run geometry (256
 * headroom, 40-byte xdp_frame, 320 tailroom). */
START_TEST(test_adjust_edges)
{
	struct ebpf_xdp_buff *x;
	uint8_t pkt[64] = { 0 };

	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_head, x, -217), -EINVAL);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_head, x, -216), 0);
	ck_assert_uint_eq(ebpf_xdp_len(x), 64 + 216);
	ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_head, x, 51), -EINVAL);	/* < ETH_HLEN */
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_head, x, 50), 0);
	ck_assert_uint_eq(ebpf_xdp_len(x), 14);

	ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_meta, x, -3), -EACCES);	/* not 4-aligned */
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_meta, x, 4), -EINVAL);	/* above data */
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_meta, x, -32), 0);
	ck_assert_uint_eq(x->md.data - x->md.data_meta, 32);
	/* data moves with its metadata */
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_head, x, -184), 0);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_head, x, -1), -EINVAL);
	ck_assert_uint_eq(x->md.data - x->md.data_meta, 32);
	/* no metadata support (data_meta > data): the kernel's -ENOTSUPP */
	ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256);
	x->md.data_meta = x->md.data + 1;
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_meta, x, -4), -524);

	ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_tail, x, 4096 - 256 - 320 - 64 + 1), -EINVAL);
	memset(ebpf_xdp_data(x) + 64, 0x5a, 100);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_tail, x, 4096 - 256 - 320 - 64), 0);
	ck_assert_uint_eq(ebpf_xdp_data(x)[64], 0);	/* grown bytes zeroed */
	ck_assert_uint_eq(ebpf_xdp_len(x), 3520);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_tail, x, -(3520 - 13)), -EINVAL);
	ck_assert_int_eq(helper(BPF_FUNC_xdp_adjust_tail, x, -(3520 - 14)), 0);
	ck_assert_uint_eq(ebpf_xdp_len(x), 14);
	ebpf_xdp_buff_free(x);
}
END_TEST

/* ebpf_prog_run_xdp_counted: the same verdict as the ordinary run, and
 * every executed instruction counted once in its class (loads and stores
 * by where they went), whichever engine the program was loaded for. */
START_TEST(test_counted_run)
{
	static const struct bpf_insn insns[] = {
		A_LDX(BPF_W, 2, 1, 0),                  /* ctx->data: context */
		A_LDX(BPF_W, 3, 1, 4),                  /* ctx->data_end */
		A_MOV64_REG(4, 2),
		A_ALU64_IMM(BPF_ADD, 4, 1),
		A_JMP_REG(BPF_JGT, 4, 3, 4),            /* not taken: 60 bytes */
		A_LDX(BPF_B, 5, 2, 0),                  /* the packet */
		A_STX(BPF_DW, 10, 5, -8),               /* the stack */
		A_ALU32_IMM(BPF_ADD, 5, 1),
		A_CALL(BPF_FUNC_ktime_get_ns),
		A_MOV64_IMM(0, 2),                      /* XDP_PASS */
		A_EXIT(),
	};
	static const enum ebpf_engine engines[2] = { EBPF_ENGINE_INTERP, EBPF_ENGINE_JIT };
	uint8_t pkt[60] = { 0x42 };

	for (int e = 0; e < 2; e++) {
		char err[256] = "";
		struct ebpf_prog_opts opts = {
			.sz = sizeof(opts), .name = "counted", .engine = engines[e],
			.helpers = EBPF_HELPERS_XDP, .err_buf = err, .err_size = sizeof(err),
		};
		struct ebpf_insn_counts c;
		struct ebpf_xdp_buff *x;
		struct ebpf_prog *prog = NULL;
		uint64_t total = 0;

		ck_assert_msg(ebpf_prog_load_raw(insns, A_LEN(insns), &opts, &prog) == 0, "%s", err);
		ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
		ck_assert_int_eq(ebpf_xdp_buff_set(x, pkt, sizeof(pkt), 256), 0);
		memset(&c, 0, sizeof(c));
		ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), 2);
		ck_assert_uint_eq(ebpf_prog_run_xdp_counted(prog, x, &c), 2);
		ck_assert_uint_eq(c.cls[EBPF_IC_LDX_PKT], 3);
		ck_assert_uint_eq(c.cls[EBPF_IC_ALU64], 3);
		ck_assert_uint_eq(c.cls[EBPF_IC_ALU32], 1);
		ck_assert_uint_eq(c.cls[EBPF_IC_JMP64], 1);
		ck_assert_uint_eq(c.cls[EBPF_IC_ST_STACK], 1);
		ck_assert_uint_eq(c.cls[EBPF_IC_CALL], 1);
		ck_assert_uint_eq(c.cls[EBPF_IC_EXIT], 1);
		ck_assert_uint_eq(c.helper[BPF_FUNC_ktime_get_ns], 1);
		for (int k = 0; k < EBPF_IC__MAX; k++)
			total += c.cls[k];
		ck_assert_uint_eq(total, A_LEN(insns));
		/* counts add up over runs */
		ck_assert_uint_eq(ebpf_prog_run_xdp_counted(prog, x, &c), 2);
		ck_assert_uint_eq(c.cls[EBPF_IC_LDX_PKT], 6);
		ck_assert_str_eq(ebpf_insn_class_name(EBPF_IC_LDX_PKT), "ldx_pkt");
		ck_assert_ptr_null(ebpf_insn_class_name(EBPF_IC__MAX));
		ebpf_xdp_buff_free(x);
		ebpf_prog_put(prog);
	}
}
END_TEST

static Suite *xdp_suite(void)
{
	Suite *s = suite_create("ebpf_xdp");
	TCase *tc = tcase_create("buff");

	tcase_add_test(tc, test_alloc_below_2g);
	tcase_add_test(tc, test_set_geometry);
	tcase_add_test(tc, test_adjust_edges);
	tcase_add_test(tc, test_counted_run);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(xdp_suite)
