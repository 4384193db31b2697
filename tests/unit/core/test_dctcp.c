/* test_dctcp.c - DCTCP alpha convergence, per-window tracking, rate control. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "core/control/cc_dctcp.h"
#include "tests/unit/test.h"

#define ONE FTOE_DCTCP_ONE

START_TEST(alpha_full_marking_converges_to_one)
{
	struct ftoe_dctcp_alpha a;

	ftoe_dctcp_alpha_init(&a, 0);
	ck_assert_uint_eq(a.alpha, 0);
	for (int n = 1; n <= 50; n++)
		ftoe_dctcp_alpha_fold(&a, 1000, 1000);
	/* 1 - (15/16)^50 = 0.9603 */
	ck_assert_uint_ge(a.alpha, (uint32_t)(0.9600 * ONE));
	ck_assert_uint_le(a.alpha, (uint32_t)(0.9606 * ONE));
	for (int n = 0; n < 250; n++)
		ftoe_dctcp_alpha_fold(&a, 1000, 1000);
	ck_assert_uint_eq(a.alpha, ONE);
	/* marked > acked is clamped, alpha never exceeds 1. */
	ftoe_dctcp_alpha_fold(&a, 10, 20);
	ck_assert_uint_eq(a.alpha, ONE);
}
END_TEST

START_TEST(alpha_no_marking_decays_geometrically)
{
	struct ftoe_dctcp_alpha a;

	ftoe_dctcp_alpha_init(&a, ONE);
	for (int n = 1; n <= 100; n++) {
		double exact = ONE * pow(15.0 / 16.0, n);

		ftoe_dctcp_alpha_fold(&a, 1500, 0);
		/* Integer steps round up by < 1 unit each: stays within 16. */
		ck_assert_msg(fabs((double)a.alpha - exact) <= 16.0,
			      "n=%d alpha %u exact %.1f", n, a.alpha, exact);
	}
	/* No acked bytes: unchanged. */
	{
		uint32_t before = a.alpha;

		ck_assert_uint_eq(ftoe_dctcp_alpha_fold(&a, 0, 0), before);
	}
}
END_TEST

START_TEST(alpha_partial_marking)
{
	struct ftoe_dctcp_alpha a;

	ftoe_dctcp_alpha_init(&a, ONE);
	for (int n = 0; n < 400; n++)
		ftoe_dctcp_alpha_fold(&a, 4000, 1000);
	ck_assert_int_le(abs((int)a.alpha - (int)(ONE / 4)), 16);
}
END_TEST

START_TEST(alpha_per_window_tracking)
{
	struct ftoe_dctcp_alpha a;

	ftoe_dctcp_alpha_init(&a, ONE);
	/* Window 1 spans snd_nxt at the first ACK: 0xfffffff0 + 3000. */
	ck_assert(!ftoe_dctcp_on_ack(&a, 0xfffffff0u + 1000, 0xfffffff0u + 3000, 1000, false));
	ck_assert(!ftoe_dctcp_on_ack(&a, 0xfffffff0u + 2000, 0xfffffff0u + 4000, 1000, true));
	ck_assert(!ftoe_dctcp_on_ack(&a, 0xfffffff0u + 3000, 0xfffffff0u + 5000, 1000, false));
	/* snd_una passes the window end (across 2^32): fold F = 1/4. */
	ck_assert(ftoe_dctcp_on_ack(&a, 0xfffffff0u + 4000, 0xfffffff0u + 6000, 1000, false));
	ck_assert_uint_eq(a.alpha, ONE - ONE / 16 + (ONE / 4) / 16);
	ck_assert_uint_eq(a.window_end, 0xfffffff0u + 6000);
	ck_assert_uint_eq(a.acked, 0);
	ck_assert_uint_eq(a.marked, 0);
}
END_TEST

START_TEST(cwnd_reduction)
{
	ck_assert_uint_eq(ftoe_dctcp_cwnd_reduce(100000, ONE, 1460), 50000);
	ck_assert_uint_eq(ftoe_dctcp_cwnd_reduce(100000, 0, 1460), 100000);
	ck_assert_uint_eq(ftoe_dctcp_cwnd_reduce(100000, ONE / 2, 1460), 75000);
	ck_assert_uint_eq(ftoe_dctcp_cwnd_reduce(2000, ONE, 1460), 1460);
	ck_assert_uint_eq(ftoe_dctcp_cwnd_reduce(UINT32_MAX, ONE, 1), UINT32_MAX - UINT32_MAX / 2);
}
END_TEST

/* Stats for an interval that achieved far more than the rate (no clamp). */
static struct ftoe_cc_stats busy(uint32_t ecn_bytes, uint32_t losses)
{
	struct ftoe_cc_stats st = {
		.acked_bytes = 10000000, .ecn_bytes = ecn_bytes, .acks = 100,
		.losses = losses, .interval_us = 1000,
	};
	return st;
}

START_TEST(rate_controller)
{
	struct ftoe_dctcp_rate_cfg cfg;
	struct ftoe_dctcp_rate d;
	struct ftoe_cc_stats st;

	ftoe_dctcp_rate_cfg_default(&cfg);
	cfg.max_kbps = 1000000;
	ck_assert_int_eq(ftoe_dctcp_rate_init(&d, &cfg), 0);
	ck_assert_uint_eq(d.rate_kbps, 10000);
	/* Slow start doubles. */
	st = busy(0, 0);
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 20000);
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 40000);
	/* Full marking: leave slow start, alpha stays 1, rate halves. */
	st = busy(10000000, 0);
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 20000);
	ck_assert(!d.slow_start);
	ck_assert_uint_eq(d.alpha, ONE);
	/* Unmarked interval: additive increase by the step. */
	st = busy(0, 0);
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 30000);
	ck_assert_uint_eq(d.alpha, ONE - ONE / 16);
	/* Half marked: alpha = 15/16 - 15/256 + 1/32; rate *= 1 - alpha/2. */
	st = busy(5000000, 0);
	{
		uint32_t al = ONE - ONE / 16;
		uint64_t want;

		al = al - (al >> 4) + ((ONE / 2) >> 4);
		want = 30000 - (((uint64_t)30000 * al) >> 21);
		ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), want);
		ck_assert_uint_eq(d.alpha, al);
	}
	/* Loss halves. */
	st = busy(0, 1);
	{
		uint32_t before = d.rate_kbps;

		ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), before / 2);
	}
	/* Floor at min. */
	for (int i = 0; i < 30; i++)
		ftoe_dctcp_rate_update(&d, &st);
	ck_assert_uint_eq(d.rate_kbps, cfg.min_kbps);
}
END_TEST

START_TEST(rate_carry_and_clamps)
{
	struct ftoe_dctcp_rate_cfg cfg;
	struct ftoe_dctcp_rate d;
	struct ftoe_cc_stats st = { .acked_bytes = 1000000, .acks = 3, .interval_us = 1000 };

	ftoe_dctcp_rate_cfg_default(&cfg);
	cfg.max_kbps = 100000;
	ck_assert_int_eq(ftoe_dctcp_rate_init(&d, &cfg), 0);
	/* Fewer than min_acks ACKs: carried over, rate unchanged. */
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 10000);
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 10000);
	ck_assert_uint_eq(d.pend_acks, 6);
	/* Third: 9 ACKs over 3 ms -> processed (doubling). */
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 20000);
	ck_assert_uint_eq(d.pend_acks, 0);
	/* Slow start stops at max. */
	st.acks = 100;
	st.acked_bytes = 100000000;
	for (int i = 0; i < 10; i++)
		ftoe_dctcp_rate_update(&d, &st);
	ck_assert_uint_eq(d.rate_kbps, 100000);
	/* Application-limited: achieved 8 Mbps, smoothed; the rate is cut to
	 * 1.2x the larger of the interval's and the smoothed rate. */
	ck_assert_int_eq(ftoe_dctcp_rate_init(&d, &cfg), 0);
	d.rate_kbps = 90000;
	d.slow_start = false;
	st.acked_bytes = 1000;   /* 1000 B in 1 ms = 8000 kbps */
	st.acks = 10;
	st.interval_us = 1000;
	/* act_kbps = 8000/8 = 1000; max(8000, 1000) * 1.2 = 9600; then +step. */
	ck_assert_uint_eq(ftoe_dctcp_rate_update(&d, &st), 9600 + cfg.step_kbps);
	/* Bad configs. */
	cfg.min_kbps = 0;
	ck_assert_int_eq(ftoe_dctcp_rate_init(&d, &cfg), -EINVAL);
	ftoe_dctcp_rate_cfg_default(&cfg);
	cfg.init_kbps = cfg.max_kbps + 1;
	ck_assert_int_eq(ftoe_dctcp_rate_init(&d, &cfg), -EINVAL);
}
END_TEST

static Suite *dctcp_suite(void)
{
	Suite *s = suite_create("core_dctcp");
	TCase *tc = tcase_create("dctcp");

	tcase_add_test(tc, alpha_full_marking_converges_to_one);
	tcase_add_test(tc, alpha_no_marking_decays_geometrically);
	tcase_add_test(tc, alpha_partial_marking);
	tcase_add_test(tc, alpha_per_window_tracking);
	tcase_add_test(tc, cwnd_reduction);
	tcase_add_test(tc, rate_controller);
	tcase_add_test(tc, rate_carry_and_clamps);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(dctcp_suite)
