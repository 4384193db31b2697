/* test_rto.c - RFC 6298 estimator, backoff, Karn's algorithm, give-up. */
#include <errno.h>
#include <string.h>

#include "core/rto.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

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

/* Every frame side 0 sends after the handshake is lost; record when. */
static uint64_t tx_at[64];
static unsigned nr_tx;

static bool lose_all(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	(void)frame;
	(void)len;
	if (nr_tx < 64)
		tx_at[nr_tx++] = s->w->now;
	return false;
}

static bool sock_failed(struct lb_world *w, void *arg)
{
	return ftoe_sock_error(w->s[0].eng, *(int *)arg) != 0;
}

/* A connection whose peer vanished: how many retransmissions the engine
 * makes (cfg.rto_retries; 0 = FTOE_RTO_RETRIES_DEFAULT) before the
 * application sees ETIMEDOUT, and after how long. */
static void give_up_after(uint32_t rto_retries, unsigned want_retx)
{
	struct ftoe_engine_cfg ca;
	struct lb_world w;
	uint64_t t0, sum = 0, d = 0;
	int c, a;

	lb_default_cfg(&ca, LB_IP_A);
	ca.rto_retries = rto_retries;
	lb_init(&w, 3, &ca, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	nr_tx = 0;
	w.s[0].tap = lose_all;
	t0 = w.now;
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, "x", 1), 1);
	ck_assert(lb_run(&w, sock_failed, &c, 3600 * SEC));
	ck_assert_int_eq(ftoe_sock_error(w.s[0].eng, c), -ETIMEDOUT);
	/* the first transmission, want_retx retransmissions, the RST */
	ck_assert_uint_eq(nr_tx, 1 + want_retx + 1);
	/* it gave up one (doubled) RTO after the last retransmission: the
	 * whole wait is the sum of want_retx + 1 doubling intervals */
	for (unsigned i = 1; i <= want_retx; i++) {
		d = tx_at[i] - tx_at[i - 1];
		sum += d;
	}
	d = 2 * d < 60 * SEC ? 2 * d : 60 * SEC; /* RFC 6298 2.5 cap */
	ck_assert_uint_ge(tx_at[nr_tx - 1] - tx_at[want_retx], d - 1000000);
	ck_assert_uint_le(tx_at[nr_tx - 1] - tx_at[want_retx], d + 1000000);
	ck_assert_uint_ge(tx_at[nr_tx - 1] - t0, sum);
	lb_fini(&w);
}

START_TEST(rto_retries_engine)
{
	give_up_after(4, 4);
	give_up_after(1, 1);
	give_up_after(0, FTOE_RTO_RETRIES_DEFAULT);
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
	tcase_add_test(tc, rto_retries_engine);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(rto_suite)
