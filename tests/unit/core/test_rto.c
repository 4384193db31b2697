/* test_rto.c - RFC 6298 estimator, backoff, Karn's algorithm, give-up. */
#include <errno.h>

#include "core/control/rto.h"
#include "tests/unit/test.h"

static void setup(struct ftoe_rto *r, uint8_t max_backoffs)
{
	struct ftoe_rto_cfg cfg;

	ftoe_rto_cfg_default(&cfg);
	cfg.max_backoffs = max_backoffs;
	ck_assert_int_eq(ftoe_rto_init(r, &cfg), 0);
}

START_TEST(rto_cfg_checks)
{
	struct ftoe_rto_cfg cfg;
	struct ftoe_rto r;

	ftoe_rto_cfg_default(&cfg);
	ck_assert_uint_eq(cfg.min_us, 200000);
	ck_assert_uint_eq(cfg.max_us, 60000000);
	cfg.min_us = cfg.max_us + 1;
	ck_assert_int_eq(ftoe_rto_init(&r, &cfg), -EINVAL);
	ftoe_rto_cfg_default(&cfg);
	cfg.initial_us = 0;
	ck_assert_int_eq(ftoe_rto_init(&r, &cfg), -EINVAL);
}
END_TEST

START_TEST(rto_estimator_exact)
{
	struct ftoe_rto r;

	setup(&r, 15);
	/* RFC 6298 2.1: 1 s before any sample. */
	ck_assert_uint_eq(ftoe_rto_current(&r), 1000000);
	/* 2.2: first sample R = 100 ms: SRTT 100, RTTVAR 50, RTO 100 + 4*50. */
	ftoe_rto_sample(&r, 100000, false);
	ck_assert_uint_eq(ftoe_rto_srtt(&r), 100000);
	ck_assert_uint_eq(ftoe_rto_rttvar(&r), 50000);
	ck_assert_uint_eq(ftoe_rto_current(&r), 300000);
	/* 2.3: R' = 200 ms: RTTVAR = .75*50 + .25*100 = 62.5,
	 * SRTT = .875*100 + .125*200 = 112.5, RTO = 112.5 + 250 = 362.5 ms. */
	ftoe_rto_sample(&r, 200000, false);
	ck_assert_uint_eq(ftoe_rto_rttvar(&r), 62500);
	ck_assert_uint_eq(ftoe_rto_srtt(&r), 112500);
	ck_assert_uint_eq(ftoe_rto_current(&r), 362500);
	/* A third sample equal to SRTT only shrinks RTTVAR: 46875. */
	ftoe_rto_sample(&r, 112500, false);
	ck_assert_uint_eq(ftoe_rto_srtt(&r), 112500);
	ck_assert_uint_eq(ftoe_rto_rttvar(&r), 46875);
	ck_assert_uint_eq(ftoe_rto_current(&r), 112500 + 187500);
}
END_TEST

START_TEST(rto_min_clamp_and_granularity)
{
	struct ftoe_rto_cfg cfg;
	struct ftoe_rto r;

	setup(&r, 15);
	for (int i = 0; i < 50; i++)
		ftoe_rto_sample(&r, 20, false);
	ck_assert_uint_eq(ftoe_rto_srtt(&r), 20);
	ck_assert_uint_eq(ftoe_rto_current(&r), 200000);

	/* A data-centre setting: min 1 ms, G = 100 us; a steady 20 us RTT
	 * gives RTTVAR -> 0, so RTO = SRTT + G, then the 1 ms floor. */
	ftoe_rto_cfg_default(&cfg);
	cfg.min_us = 10;
	cfg.granularity_us = 100;
	ck_assert_int_eq(ftoe_rto_init(&r, &cfg), 0);
	for (int i = 0; i < 100; i++)
		ftoe_rto_sample(&r, 20, false);
	ck_assert_uint_eq(ftoe_rto_rttvar(&r), 0);
	ck_assert_uint_eq(ftoe_rto_current(&r), 120);
}
END_TEST

START_TEST(rto_backoff_exact)
{
	static const uint32_t want[] = { 725000, 1450000, 2900000, 5800000, 11600000,
					 23200000, 46400000, 60000000, 60000000 };
	struct ftoe_rto r;

	setup(&r, 15);
	ftoe_rto_sample(&r, 100000, false);
	ftoe_rto_sample(&r, 200000, false);
	ck_assert_uint_eq(ftoe_rto_current(&r), 362500);
	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_int_eq(ftoe_rto_timeout(&r), 0);
		ck_assert_uint_eq(ftoe_rto_current(&r), want[i]);
	}
	/* Karn: an ACK for a retransmitted segment gives no sample and keeps
	 * the backed-off timer (RFC 6298 section 5.7 / Karn & Partridge). */
	ftoe_rto_sample(&r, 5000, true);
	ck_assert_uint_eq(ftoe_rto_current(&r), 60000000);
	ck_assert_uint_eq(ftoe_rto_srtt(&r), 112500);
	/* A valid sample ends the backoff and recomputes. */
	ftoe_rto_sample(&r, 112500, false);
	ck_assert_uint_eq(r.backoffs, 0);
	ck_assert_uint_eq(ftoe_rto_current(&r), 300000);

	/* Backoff before the first sample starts from 1 s. */
	setup(&r, 15);
	ck_assert_int_eq(ftoe_rto_timeout(&r), 0);
	ck_assert_uint_eq(ftoe_rto_current(&r), 2000000);
}
END_TEST

START_TEST(rto_give_up)
{
	struct ftoe_rto r;

	setup(&r, 3);
	ftoe_rto_sample(&r, 100000, false);
	ck_assert_int_eq(ftoe_rto_timeout(&r), 0);
	ck_assert_int_eq(ftoe_rto_timeout(&r), 0);
	ck_assert_int_eq(ftoe_rto_timeout(&r), 0);
	ck_assert_uint_eq(ftoe_rto_current(&r), 2400000);
	ck_assert_int_eq(ftoe_rto_timeout(&r), -ETIMEDOUT);
	ck_assert_int_eq(ftoe_rto_timeout(&r), -ETIMEDOUT);
	/* A sample (the peer came back) restores the budget. */
	ftoe_rto_sample(&r, 100000, false);
	ck_assert_int_eq(ftoe_rto_timeout(&r), 0);
}
END_TEST

static Suite *rto_suite(void)
{
	Suite *s = suite_create("core_rto");
	TCase *tc = tcase_create("rto");

	tcase_add_test(tc, rto_cfg_checks);
	tcase_add_test(tc, rto_estimator_exact);
	tcase_add_test(tc, rto_min_clamp_and_granularity);
	tcase_add_test(tc, rto_backoff_exact);
	tcase_add_test(tc, rto_give_up);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(rto_suite)
