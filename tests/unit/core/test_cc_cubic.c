/* test_cc_cubic.c - CUBIC on a window (cut, curve, Reno-friendly region, undo) and as a rate controller: slow start, the cut and fast convergence, the curve back to W_max, the Reno-friendly region, undo. */
#include <errno.h>
#include <math.h>

#include "core/control/cc_cubic.h"
#include "tests/unit/test.h"

/* One interval with enough ACKs, delivering at deliver_kbps. */
static uint32_t step(struct ftoe_cubic *c, uint32_t us, uint32_t deliver_kbps, uint32_t losses)
{
	struct ftoe_cc_stats st = {
		.acked_bytes = (uint32_t)((uint64_t)deliver_kbps * us / 8000),
		.acks = 100,
		.losses = losses,
		.interval_us = us,
	};

	return ftoe_cubic_update(c, &st);
}

static void start(struct ftoe_cubic *c, uint32_t srtt_us)
{
	struct ftoe_cubic_cfg cfg;

	ftoe_cubic_cfg_default(&cfg);
	ck_assert_int_eq(ftoe_cubic_init(c, &cfg, srtt_us), 0);
}

START_TEST(bad_cfg_refused)
{
	struct ftoe_cubic c;
	struct ftoe_cubic_cfg cfg;

	ftoe_cubic_cfg_default(&cfg);
	cfg.min_kbps = 0;
	ck_assert_int_eq(ftoe_cubic_init(&c, &cfg, 0), -EINVAL);
	ftoe_cubic_cfg_default(&cfg);
	cfg.init_kbps = cfg.max_kbps + 1;
	ck_assert_int_eq(ftoe_cubic_init(&c, &cfg, 0), -EINVAL);
}
END_TEST

START_TEST(slow_start_doubles_until_loss)
{
	struct ftoe_cubic c;
	uint32_t r;

	start(&c, 2000);
	r = c.rate_kbps;
	/* the path carries twice the rate: doubles each interval */
	for (int i = 0; i < 4; i++) {
		ck_assert_uint_eq(step(&c, 4000, 2 * r, 0), 2 * r);
		r *= 2;
	}
	/* delivered no faster than sent: 1.25 times the delivered rate */
	ck_assert_uint_eq(step(&c, 4000, r, 0), r + r / 4);
	ck_assert(c.slow_start);
	/* the first loss ends slow start with a 0.7 cut, W_max = the rate */
	r = c.rate_kbps;
	ck_assert_uint_eq(step(&c, 4000, r * 2, 1), (uint32_t)(r * 0.7));
	ck_assert(!c.slow_start);
	ck_assert_uint_eq(c.w_max_kbps, r);
}
END_TEST

START_TEST(few_acks_carry_over)
{
	struct ftoe_cubic c;
	struct ftoe_cc_stats st = { .acked_bytes = 1000, .acks = 2, .interval_us = 1000 };

	start(&c, 2000);
	ck_assert_uint_eq(ftoe_cubic_update(&c, &st), c.cfg.init_kbps);
	ck_assert_uint_eq(c.pend_acks, 2);
	ck_assert(c.slow_start);
}
END_TEST

/* After a cut the curve is concave up to W_max, reaches it about K after
 * the cut, then grows convexly past it (RFC 9438 4.2).  A long RTT keeps
 * the Reno-friendly estimate below the curve. */
START_TEST(curve_returns_to_w_max_at_k)
{
	struct ftoe_cubic c;
	const uint32_t srtt = 100000, us = 2 * srtt;
	uint32_t w_max, prev, k_us, t = 0, reached = 0;
	double gain_first, gain_late = 0;

	start(&c, srtt);
	c.slow_start = false;
	c.rate_kbps = 100000; /* 100 Mbit/s, 863 segments at 100 ms */
	step(&c, us, 1000000, 1);
	w_max = c.w_max_kbps;
	ck_assert_uint_eq(w_max, 100000);
	ck_assert_uint_eq(c.rate_kbps, 70000);
	k_us = c.k_us;
	/* K = cbrt(863 * 0.3 / 0.4) = 8.65 s */
	ck_assert_uint_ge(k_us, 8600000);
	ck_assert_uint_le(k_us, 8700000);
	prev = c.rate_kbps;
	gain_first = 0;
	while (t < 2 * k_us) {
		uint32_t r = step(&c, us, 1000000, 0);

		t += us;
		ck_assert_uint_ge(r, prev);
		if (!gain_first)
			gain_first = r - prev;
		if (!reached && r >= w_max)
			reached = t;
		if (t > k_us && t <= k_us + us)
			gain_late = r - prev; /* the plateau: nearly flat */
		prev = r;
	}
	/* W_max again about K after the cut (the curve is evaluated one RTT
	 * ahead, and the rate is whole kbps) */
	ck_assert_uint_ge(reached + srtt, k_us - 2 * us);
	ck_assert_uint_le(reached, k_us + 2 * us);
	/* concave: fast first, flat near W_max; convex past it */
	ck_assert(gain_first > 20 * gain_late);
	ck_assert_uint_gt(prev, w_max + w_max / 4);
}
END_TEST

/* At a LAN RTT the cubic curve barely moves; the Reno-friendly estimate
 * adds alpha_cubic = 0.53 segments per RTT below W_max (RFC 9438 4.3). */
START_TEST(reno_friendly_at_lan_rtt)
{
	struct ftoe_cubic c;
	const uint32_t srtt = 2000, us = 2 * srtt;
	double seg_kbps = FTOE_CUBIC_MSS * 8000.0 / srtt; /* one segment per RTT */
	uint32_t r0, r;

	start(&c, srtt);
	c.slow_start = false;
	c.rate_kbps = 2000000; /* 345 segments at 2 ms */
	step(&c, us, 10000000, 1);
	/* W_max (345) stays above W_est (241 + 53) and the curve (251):
	 * the growth is the estimate's */
	r0 = c.rate_kbps;
	r = r0;
	for (int i = 0; i < 50; i++)
		r = step(&c, us, 10000000, 0);
	/* 50 intervals of 2 RTTs: 100 RTTs, 53 segments per RTT more */
	ck_assert_double_ge(r - r0, 100 * 0.529 * seg_kbps * 0.95);
	ck_assert_double_le(r - r0, 100 * 0.529 * seg_kbps * 1.05 + 50);
}
END_TEST

START_TEST(fast_convergence_and_delivered_cap)
{
	struct ftoe_cubic c;

	start(&c, 2000);
	c.slow_start = false;
	c.rate_kbps = 100000;
	step(&c, 4000, 1000000, 1);
	ck_assert_uint_eq(c.w_max_kbps, 100000);
	/* a second loss below the last W_max: W_max = rate * (1 + 0.7) / 2 */
	step(&c, 4000, 1000000, 1);
	ck_assert_uint_eq(c.w_max_kbps, (uint32_t)(70000 * 0.85));
	ck_assert_uint_eq(c.rate_kbps, 49000);
	/* growth stops at 1.25 times what the ACKs show delivered */
	c.act_kbps = 0;
	for (int i = 0; i < 20; i++)
		step(&c, 4000, 20000, 0);
	ck_assert_uint_le(c.rate_kbps, 25000);
	ck_assert_uint_ge(c.rate_kbps, c.cfg.min_kbps);
}
END_TEST

START_TEST(undo_restores_the_rate)
{
	struct ftoe_cubic c;

	start(&c, 2000);
	c.slow_start = false;
	c.rate_kbps = 100000;
	step(&c, 4000, 1000000, 1);
	ck_assert_uint_eq(c.rate_kbps, 70000);
	ck_assert_uint_eq(ftoe_cubic_undo(&c, 100000), 100000);
	ck_assert_uint_eq(c.w_max_kbps, 100000);
	/* from the plateau it goes on growing */
	ck_assert_uint_ge(step(&c, 4000, 1000000, 0), 100000);
	/* an undo to less than the rate changes nothing */
	ck_assert_uint_eq(ftoe_cubic_undo(&c, 5000), c.rate_kbps);
}
END_TEST

START_TEST(ops_registered)
{
	uint64_t priv[FTOE_CC_PRIV_SIZE / 8] = { 0 };

	ck_assert_uint_le(ftoe_cc_cubic_rate.priv_size, FTOE_CC_PRIV_SIZE);
	ck_assert_uint_eq(ftoe_cc_cubic_rate.init(priv, 0, 3000), 10000);
	ck_assert_uint_eq(((struct ftoe_cubic *)priv)->srtt_us, 3000);
	ftoe_cc_cubic_rate.on_rtt(priv, 1000);
	ck_assert_uint_eq(((struct ftoe_cubic *)priv)->srtt_us, (7 * 3000 + 1000) / 8);
}
END_TEST

/* ---- the window form ---- */

#define WMSS 1000u

/* Feed a window's worth of ACKs every rtt_us for rounds RTTs. */
static void win_rounds(struct ftoe_cubic_win *c, struct ftoe_cc_win *w, unsigned rounds)
{
	for (unsigned r = 0; r < rounds; r++) {
		uint32_t n = w->cwnd / WMSS;

		for (uint32_t i = 0; i < n; i++) {
			w->now_us += w->srtt_us / (n ? n : 1);
			ftoe_cubic_win_avoid(c, w, WMSS);
		}
	}
}

START_TEST(window_cut_and_curve)
{
	struct ftoe_cubic_win c = { 0 };
	struct ftoe_cc_win w = { .cwnd = 100 * WMSS, .ssthresh = UINT32_MAX, .mss = WMSS,
				 .srtt_us = 100000, .now_us = 1000000 };
	double k;

	/* RFC 9438 4.6: ssthresh = beta_cubic (0.7) times the window */
	w.ssthresh = ftoe_cubic_win_ssthresh(&c, &w);
	ck_assert_uint_eq(w.ssthresh, 70 * WMSS);
	ck_assert(fabs(c.w_max - 100) < 1e-9);
	w.cwnd = w.ssthresh;
	/* 4.2: concave back to W_max around K = cbrt(W_max (1 - beta) / C) */
	k = cbrt(100 * 0.3 / 0.4);
	win_rounds(&c, &w, (unsigned)(k * 1e6 / w.srtt_us / 2));
	ck_assert_uint_lt(w.cwnd, 100 * WMSS);
	ck_assert_uint_gt(w.cwnd, 85 * WMSS);
	win_rounds(&c, &w, (unsigned)(k * 1e6 / w.srtt_us));
	ck_assert_uint_ge(w.cwnd, 100 * WMSS);
	/* 4.7: a cut below the last W_max remembers less (fast convergence) */
	w.cwnd = 80 * WMSS;
	c.w_last_max = 100;
	ftoe_cubic_win_ssthresh(&c, &w);
	ck_assert(fabs(c.w_max - 80 * 1.7 / 2) < 1e-9);
}
END_TEST

START_TEST(window_reno_friendly_and_undo)
{
	struct ftoe_cubic_win c = { 0 };
	struct ftoe_cc_win w = { .cwnd = 20 * WMSS, .ssthresh = UINT32_MAX, .mss = WMSS,
				 .srtt_us = 100, .now_us = 1000000 };
	uint32_t before;

	/* At a LAN RTT the cubic curve is flat: the Reno-friendly estimate
	 * (4.3) still grows the window */
	w.ssthresh = ftoe_cubic_win_ssthresh(&c, &w);
	w.cwnd = w.ssthresh;
	before = w.cwnd;
	win_rounds(&c, &w, 20);
	ck_assert_uint_gt(w.cwnd, before + 5 * WMSS);
	/* 4.9: undo restores W_max and starts a new epoch */
	w.cwnd = 30 * WMSS;
	ftoe_cubic_win_ssthresh(&c, &w);
	ck_assert(fabs(c.w_max - 30) < 1e-9);
	ftoe_cubic_win_undo(&c, &w);
	ck_assert(c.w_max < 30);
	ck_assert_uint_eq(c.epoch_us, 0);
	ck_assert_ptr_eq(ftoe_cc_cubic.cong_avoid != NULL ? &ftoe_cc_cubic : NULL, &ftoe_cc_cubic);
	ck_assert_uint_le(ftoe_cc_cubic.priv_size, FTOE_CC_PRIV_SIZE);
}
END_TEST

static Suite *cc_cubic_suite(void)
{
	Suite *s = suite_create("core_cc_cubic");
	TCase *tc = tcase_create("cubic");

	tcase_add_test(tc, bad_cfg_refused);
	tcase_add_test(tc, slow_start_doubles_until_loss);
	tcase_add_test(tc, few_acks_carry_over);
	tcase_add_test(tc, curve_returns_to_w_max_at_k);
	tcase_add_test(tc, reno_friendly_at_lan_rtt);
	tcase_add_test(tc, fast_convergence_and_delivered_cap);
	tcase_add_test(tc, undo_restores_the_rate);
	tcase_add_test(tc, ops_registered);
	tcase_add_test(tc, window_cut_and_curve);
	tcase_add_test(tc, window_reno_friendly_and_undo);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(cc_cubic_suite)
