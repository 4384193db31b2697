/* test_tcp_seq.c - serial sequence arithmetic and window scaling. */
#include "core/tcp_seq.h"
#include "tests/unit/test.h"

/* Check records every assertion it evaluates; in hot loops only call it
 * when the condition actually failed. */
#define FAST_ASSERT(c) do { if (!(c)) ck_assert(c); } while (0)
#define FAST_EQ(a, b) do { if ((a) != (b)) ck_assert_int_eq((a), (b)); } while (0)

START_TEST(seq_compare_wrap)
{
	ck_assert(seq_before(1, 2));
	ck_assert(!seq_before(2, 1));
	ck_assert(!seq_before(5, 5));
	ck_assert(seq_before_eq(5, 5));
	ck_assert(seq_after_eq(5, 5));
	/* Across the 2^32 wrap. */
	ck_assert(seq_before(0xfffffff0u, 0x10));
	ck_assert(seq_after(0x10, 0xfffffff0u));
	ck_assert(seq_before(UINT32_MAX, 0));
	ck_assert(seq_after(0, UINT32_MAX));
	ck_assert_int_eq(seq_diff(0x10, 0xfffffff0u), 0x20);
	ck_assert_int_eq(seq_diff(0xfffffff0u, 0x10), -0x20);
	/* Just under half the space apart still orders correctly. */
	ck_assert(seq_before(0, 0x7fffffff));
	ck_assert(seq_before(0x80000000u, 0xffffffffu));
	ck_assert(seq_before(0xc0000000u, 0x3fffffffu));
	ck_assert_uint_eq(seq_max(0xfffffff0u, 0x10), 0x10);
	ck_assert_uint_eq(seq_min(0xfffffff0u, 0x10), 0xfffffff0u);
	/* Every distance 1..2^31-1 in both directions, from a wrapping base. */
	for (uint32_t d = 1; d < 0x80000000u; d = d * 3 + 1) {
		uint32_t a = 0xfffffff0u;

		ck_assert(seq_before(a, a + d));
		ck_assert(seq_after(a + d, a));
		ck_assert(!seq_after(a, a + d));
	}
}
END_TEST

START_TEST(seq_ranges)
{
	ck_assert(seq_between(5, 5, 10));
	ck_assert(seq_between(10, 5, 10));
	ck_assert(!seq_between(11, 5, 10));
	ck_assert(!seq_between(4, 5, 10));
	ck_assert(seq_between(0, 0xfffffff0u, 0x10));
	ck_assert(seq_between(0xfffffff5u, 0xfffffff0u, 0x10));
	ck_assert(!seq_between(0x11, 0xfffffff0u, 0x10));
	ck_assert(seq_in_range(0xffffffffu, 0xfffffffeu, 4));
	ck_assert(seq_in_range(1, 0xfffffffeu, 4));
	ck_assert(!seq_in_range(2, 0xfffffffeu, 4));
	ck_assert(!seq_in_range(7, 7, 0));
}
END_TEST

START_TEST(wscale_math)
{
	/* RFC 7323 2.3: shifts above 14 are used as 14. */
	ck_assert_uint_eq(wscale_clamp(0), 0);
	ck_assert_uint_eq(wscale_clamp(14), 14);
	ck_assert_uint_eq(wscale_clamp(15), 14);
	ck_assert_uint_eq(wscale_clamp(255), 14);
	ck_assert_uint_eq(wscale_window(0xffff, 14), 0x3fffc000u);
	ck_assert_uint_eq(wscale_window(0xffff, 200), FTOE_TCP_MAX_WIN);
	ck_assert(FTOE_TCP_MAX_WIN < (1u << 30));
	ck_assert_uint_eq(wscale_window(1000, 7), 128000);

	/* Smallest shift covering a buffer. */
	ck_assert_uint_eq(wscale_for_buffer(0), 0);
	ck_assert_uint_eq(wscale_for_buffer(65535), 0);
	ck_assert_uint_eq(wscale_for_buffer(65536), 1);
	ck_assert_uint_eq(wscale_for_buffer(131070), 1);
	ck_assert_uint_eq(wscale_for_buffer(131071), 2);
	ck_assert_uint_eq(wscale_for_buffer(1u << 20), 5);
	ck_assert_uint_eq(wscale_for_buffer(UINT32_MAX), 14);

	/* What to advertise: floor, saturating. */
	ck_assert_uint_eq(wscale_advertise(1000, 0), 1000);
	ck_assert_uint_eq(wscale_advertise(70000, 0), 0xffff);
	ck_assert_uint_eq(wscale_advertise(1023, 3), 127);
	ck_assert_uint_eq(wscale_advertise(1u << 20, 5), 32768);
	ck_assert_uint_eq(wscale_advertise(UINT32_MAX, 14), 0xffff);
	ck_assert_uint_eq(wscale_advertise_syn(1u << 20), 0xffff);
	ck_assert_uint_eq(wscale_advertise_syn(4000), 4000);
	/* Round trip never overstates. */
	for (uint32_t avail = 0; avail < (1u << 22); avail += 4099)
		for (uint8_t s = 0; s <= 14; s++)
			FAST_ASSERT(wscale_window(wscale_advertise(avail, s), s) <= avail);
}
END_TEST

START_TEST(wscale_noshrink)
{
	/* Previously advertised right edge 1000 + 8*100 = 1800; now rcv_nxt
	 * 1000 and 797 bytes free: floor would give 99*8 = 792 -> edge 1792,
	 * a shrink; round up to 100 keeps the edge. */
	ck_assert_uint_eq(wscale_advertise_noshrink(797, 3, 1000, 1800), 100);
	/* No shrink needed: plain floor. */
	ck_assert_uint_eq(wscale_advertise_noshrink(1600, 3, 1000, 1800), 200);
	/* Across the wrap. */
	ck_assert_uint_eq(wscale_advertise_noshrink(797, 3, 0xfffffff0u,
						    0xfffffff0u + 800), 100);
}
END_TEST

static Suite *tcp_seq_suite(void)
{
	Suite *s = suite_create("core_tcp_seq");
	TCase *tc = tcase_create("seq");

	tcase_add_test(tc, seq_compare_wrap);
	tcase_add_test(tc, seq_ranges);
	tcase_add_test(tc, wscale_math);
	tcase_add_test(tc, wscale_noshrink);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(tcp_seq_suite)
