/* test_cc_bbr.c - the delivery-rate controller: startup, drain and the gain cycle; losses do not cut; an old maximum ages out. */
#include "core/control/cc.h"
#include "tests/unit/test.h"

/* One interval of us microseconds whose ACKs delivered at deliver_kbps. */
static uint32_t step(void *priv, uint32_t us, uint32_t deliver_kbps, uint32_t losses)
{
	struct ftoe_cc_stats st = {
		.acked_bytes = (uint32_t)((uint64_t)deliver_kbps * us / 8000),
		.acks = 50,
		.losses = losses,
		.interval_us = us,
	};

	return ftoe_cc_bbr.on_interval(priv, &st);
}

/* The path delivers what is sent, up to cap_kbps. */
static uint32_t path(uint32_t rate, uint32_t cap_kbps)
{
	return rate < cap_kbps ? rate : cap_kbps;
}

/* Startup to the bottleneck: returns the rate after n intervals. */
static uint32_t run(void *priv, uint32_t rate, uint32_t cap_kbps, unsigned n, uint32_t losses)
{
	while (n--)
		rate = step(priv, 4000, path(rate, cap_kbps), losses);
	return rate;
}

START_TEST(startup_finds_the_bottleneck_and_cycles_around_it)
{
	uint64_t priv[FTOE_CC_PRIV_SIZE / 8];
	uint32_t cap = 800000, rate, lo = UINT32_MAX, hi = 0;
	uint64_t sum = 0;

	ck_assert_uint_le(ftoe_cc_bbr.priv_size, FTOE_CC_PRIV_SIZE);
	/* 10 segments per 2 ms SRTT at 2/ln 2 */
	rate = ftoe_cc_bbr.init(priv, 0, 2000);
	ck_assert_uint_eq(rate, 57920u * 289 / 100);
	/* startup multiplies the delivered rate by 2.89 per interval */
	ck_assert_uint_eq(step(priv, 4000, rate, 0), rate * 289 / 100);
	rate = run(priv, rate * 289 / 100, cap, 30, 0);
	/* in the cycle: one interval at 5/4, one at 3/4, six at 1 */
	for (unsigned i = 0; i < 8; i++) {
		rate = step(priv, 4000, path(rate, cap), 0);
		sum += rate;
		lo = rate < lo ? rate : lo;
		hi = rate > hi ? rate : hi;
	}
	ck_assert_uint_eq(lo, cap * 3 / 4);
	ck_assert_uint_eq(hi, cap * 5 / 4);
	ck_assert_uint_eq(sum / 8, cap);
}
END_TEST

START_TEST(random_loss_does_not_cut)
{
	uint64_t a[FTOE_CC_PRIV_SIZE / 8], b[FTOE_CC_PRIV_SIZE / 8];
	uint32_t ra = ftoe_cc_bbr.init(a, 0, 1000), rb = ftoe_cc_bbr.init(b, 0, 1000);

	/* the same deliveries, one flow with a loss in every interval */
	for (unsigned i = 0; i < 40; i++) {
		ra = step(a, 2000, path(ra, 300000), 0);
		rb = step(b, 2000, path(rb, 300000), 3);
		ck_assert_uint_eq(ra, rb);
	}
	ck_assert_uint_ge(rb, 300000 * 3 / 4);
}
END_TEST

START_TEST(an_old_maximum_ages_out)
{
	uint64_t priv[FTOE_CC_PRIV_SIZE / 8];
	uint32_t rate = ftoe_cc_bbr.init(priv, 0, 1000);

	rate = run(priv, rate, 1000000, 40, 0);
	/* the bottleneck halves: within ten intervals the maximum is the new one */
	rate = run(priv, rate, 500000, 10, 0);
	for (unsigned i = 0; i < 8; i++) {
		rate = step(priv, 4000, path(rate, 500000), 0);
		ck_assert_uint_le(rate, 500000u * 5 / 4);
	}
}
END_TEST

START_TEST(few_acks_wait_for_the_next_interval)
{
	uint64_t priv[FTOE_CC_PRIV_SIZE / 8];
	uint32_t rate = ftoe_cc_bbr.init(priv, 0, 1000);
	struct ftoe_cc_stats st = { .acked_bytes = 100000, .acks = 2, .interval_us = 1000 };

	/* two ACKs are no sample: the rate stays */
	ck_assert_uint_eq(ftoe_cc_bbr.on_interval(priv, &st), rate);
	/* with the next interval: 200000 bytes in 2 ms = 800 Mbit/s, at 2.89 */
	ck_assert_uint_eq(ftoe_cc_bbr.on_interval(priv, &st), 800000u * 289 / 100);
}
END_TEST

static Suite *cc_bbr_suite(void)
{
	Suite *s = suite_create("core_cc_bbr");
	TCase *tc = tcase_create("bbr");

	tcase_add_test(tc, startup_finds_the_bottleneck_and_cycles_around_it);
	tcase_add_test(tc, random_loss_does_not_cut);
	tcase_add_test(tc, an_old_maximum_ages_out);
	tcase_add_test(tc, few_acks_wait_for_the_next_interval);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(cc_bbr_suite)
