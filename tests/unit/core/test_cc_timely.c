/* test_cc_timely.c - TIMELY: the rate rules one sample at a time, and the rate of a real flow following RTT gradients over the in-memory link. */
#include <errno.h>
#include <string.h>

#include "core/control/cc_timely.h"
#include "core/engine.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define MS 1000000ull

static void timely_new(struct ftoe_timely *t, uint32_t init_kbps)
{
	struct ftoe_timely_cfg cfg;

	ftoe_timely_cfg_default(&cfg);
	cfg.init_kbps = init_kbps;
	ck_assert_int_eq(ftoe_timely_init(t, &cfg), 0);
}

/* rate * (1 - f) as the algorithm computes it, f = beta * x (x in Q16). */
static uint32_t cut(uint32_t rate, uint64_t x_q16)
{
	uint64_t f = ((uint64_t)(FTOE_TIMELY_ONE * 8 / 10) * x_q16) >> 16;

	return (uint32_t)(rate - (((uint64_t)rate * f) >> 16));
}

START_TEST(below_t_low_adds_delta)
{
	struct ftoe_timely t;

	timely_new(&t, 100000);
	/* RTT under T_low (50 us): +delta per sample, even while it rises. */
	ck_assert_uint_eq(ftoe_timely_on_rtt(&t, 20), 110000);
	ck_assert_uint_eq(ftoe_timely_on_rtt(&t, 30), 120000);
	ck_assert_uint_eq(ftoe_timely_on_rtt(&t, 45), 130000);
	ck_assert_uint_gt(t.rtt_diff_q8, 0);
}
END_TEST

START_TEST(above_t_high_cuts_by_excess)
{
	struct ftoe_timely t;
	uint32_t r;

	timely_new(&t, 1000000);
	/* rate *= 1 - beta (1 - T_high / rtt): 800 us -> 1 - 0.8 * 0.375 = 0.7 */
	r = ftoe_timely_on_rtt(&t, 800);
	ck_assert_uint_eq(r, cut(1000000, FTOE_TIMELY_ONE - 500u * FTOE_TIMELY_ONE / 800));
	ck_assert_uint_ge(r, 699900);
	ck_assert_uint_le(r, 700100);
	/* Further above T_high cuts harder, even with a falling RTT. */
	ck_assert_uint_lt(ftoe_timely_on_rtt(&t, 5000), r * 3 / 10);
	/* The floor holds. */
	for (int i = 0; i < 50; i++)
		ftoe_timely_on_rtt(&t, 5000);
	ck_assert_uint_eq(t.rate_kbps, t.cfg.min_kbps);
}
END_TEST

START_TEST(positive_gradient_cuts_in_proportion)
{
	struct ftoe_timely t;
	uint32_t r0, r1;

	timely_new(&t, 1000000);
	r0 = ftoe_timely_on_rtt(&t, 100);	/* first sample: no gradient yet */
	ck_assert_uint_eq(r0, 1010000);
	/* +16 us: rtt_diff = 0.875 * 16 = 14 us, over min RTT 100 us */
	r1 = ftoe_timely_on_rtt(&t, 116);
	ck_assert_int_eq(t.rtt_diff_q8, 14 * 256);
	ck_assert_uint_eq(r1, cut(r0, 14u * FTOE_TIMELY_ONE / 100));
	ck_assert_uint_lt(r1, r0);
	/* A steeper rise cuts more than a gentle one. */
	{
		struct ftoe_timely g, s;
		uint32_t rg, rs;

		timely_new(&g, 1000000);
		timely_new(&s, 1000000);
		ftoe_timely_on_rtt(&g, 100);
		ftoe_timely_on_rtt(&s, 100);
		rg = ftoe_timely_on_rtt(&g, 104);
		rs = ftoe_timely_on_rtt(&s, 140);
		ck_assert_uint_lt(rs, rg);
		ck_assert_uint_lt(rg, 1010000);
	}
}
END_TEST

START_TEST(falling_rtt_increases_then_hai)
{
	struct ftoe_timely t;
	uint32_t prev, rtt = 400;

	timely_new(&t, 1000000);
	prev = t.rate_kbps;
	/* Five gradient <= 0 completions add delta each (the first sample,
	 * with no gradient yet, is one); from the sixth on the increase is
	 * N * delta (hyperactive increase). */
	for (int i = 0; i < 10; i++) {
		uint32_t r = ftoe_timely_on_rtt(&t, i ? rtt -= 10 : rtt);

		ck_assert_uint_eq(r - prev, i < 5 ? 10000 : 50000);
		prev = r;
	}
	/* One rising sample ends the run: back to delta steps. */
	ck_assert_uint_lt(ftoe_timely_on_rtt(&t, rtt + 50), prev);
	prev = t.rate_kbps;
	ftoe_timely_on_rtt(&t, rtt);	/* EWMA still positive after the jump */
	prev = t.rate_kbps;
	for (int i = 0; i < 3; i++) {
		uint32_t r = ftoe_timely_on_rtt(&t, rtt -= 10);

		ck_assert_uint_eq(r - prev, 10000);
		prev = r;
	}
}
END_TEST

START_TEST(flat_rtt_decays_gradient_to_zero)
{
	struct ftoe_timely t;
	int incr = 0;

	timely_new(&t, 1000000);
	ftoe_timely_on_rtt(&t, 100);
	ftoe_timely_on_rtt(&t, 101);	/* +1 us: a small positive average */
	ck_assert_int_gt(t.rtt_diff_q8, 0);
	for (int i = 0; i < 20; i++) {
		uint32_t before = t.rate_kbps;

		if (ftoe_timely_on_rtt(&t, 101) > before)
			incr++;
	}
	/* A flat RTT is a zero gradient: the rate rises (with HAI). */
	ck_assert_int_eq(t.rtt_diff_q8, 0);
	ck_assert_int_ge(incr, 17);
	ck_assert_uint_eq(t.incr_run, (uint32_t)incr);
}
END_TEST

START_TEST(loss_halves_and_cfg_checks)
{
	struct ftoe_timely t;
	struct ftoe_timely_cfg cfg;
	struct ftoe_cc_stats st = { .acked_bytes = 100000, .acks = 50, .interval_us = 100 };

	timely_new(&t, 1000000);
	ck_assert_uint_eq(ftoe_timely_on_interval(&t, &st), 1000000);
	st.losses = 1;
	ck_assert_uint_eq(ftoe_timely_on_interval(&t, &st), 500000);
	ftoe_timely_cfg_default(&cfg);
	cfg.t_low_us = cfg.t_high_us + 1;
	ck_assert_int_eq(ftoe_timely_init(&t, &cfg), -EINVAL);
	ftoe_timely_cfg_default(&cfg);
	cfg.min_kbps = 0;
	ck_assert_int_eq(ftoe_timely_init(&t, &cfg), -EINVAL);
	ftoe_timely_cfg_default(&cfg);
	cfg.beta_q16 = FTOE_TIMELY_ONE + 1;
	ck_assert_int_eq(ftoe_timely_init(&t, &cfg), -EINVAL);
}
END_TEST

/* ---- a flow over the in-memory link whose latency the test steers ---- */

enum { PH_LOW, PH_RISE, PH_FALL, PH_HIGH, PH_FLAT, PH_N };

/* Phase boundaries (ms from the start) and the one-way latency in each:
 * RTT 30 us (< T_low), rising 60 -> 120 us, falling 120 -> 60 us, 1200 us
 * (> T_high; the step is large enough that even the sample straddling it,
 * 660 us, is above T_high, so no gradient cut hides the rule), flat 100 us. */
static const uint64_t ph_end_ms[PH_N] = { 10, 20, 35, 75, 100 };

struct rate_change {
	uint32_t from, to;
};

struct tl_run {
	struct app_stream s;
	uint64_t t0;
	uint32_t last;
	struct rate_change ch[PH_N][4096];
	unsigned n[PH_N];
	uint32_t end_rate[PH_N];
};

static int phase_at(uint64_t ms_x1000)
{
	for (int p = 0; p < PH_N; p++)
		if (ms_x1000 < ph_end_ms[p] * 1000)
			return p;
	return PH_N;
}

static uint64_t lat_ns(int p, uint64_t us)
{
	switch (p) {
	case PH_LOW: return 15000;
	case PH_RISE: return 30000 + (us - 10000) * 30000 / 10000;	/* 30 -> 60 us */
	case PH_FALL: return 60000 - (us - 20000) * 30000 / 15000;	/* 60 -> 30 us */
	case PH_HIGH: return 600000;
	default: return 50000;
	}
}

static bool tl_step(struct lb_world *w, void *arg)
{
	struct tl_run *r = arg;
	uint64_t us = (w->now - r->t0) / 1000;
	int p = phase_at(us);
	struct ftoe_sock_info si;

	ck_assert_int_eq(ftoe_sock_info(w->s[0].eng, r->s.stx, &si), 0);
	if (si.rate_kbps != r->last) {
		int cp = phase_at(us);

		if (cp < PH_N && r->n[cp] < 4096)
			r->ch[cp][r->n[cp]++] = (struct rate_change){ r->last, si.rate_kbps };
		r->last = si.rate_kbps;
	}
	if (p >= PH_N)
		return true;
	r->end_rate[p] = si.rate_kbps;
	w->lat_ns = lat_ns(p, us);
	app_stream_step(w, &r->s);
	return false;
}

START_TEST(link_rate_follows_rtt_gradient)
{
	static struct tl_run r;
	struct ftoe_engine_cfg ca, cb;
	struct ftoe_timely_cfg d;	/* the parameters the engine's TIMELY runs with */
	uint32_t step, hai;
	struct lb_world w;
	int c, a;

	memset(&r, 0, sizeof(r));
	ftoe_timely_cfg_default(&d);
	step = d.step_kbps;
	hai = d.hai_n * d.step_kbps;
	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.cc = &ftoe_cc_timely;
	ca.tx_buf_size = cb.rx_buf_size = 1 << 20;
	/* The receiver acknowledges at once, so an RTT sample is the link's
	 * RTT (the paper times completions with NIC timestamps). */
	cb.delack_us = 1;
	lb_init(&w, 7, &ca, &cb);
	ck_assert(app_connect(&w, 80, &c, &a));
	r.s = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 9, .len = 1ull << 40 };
	r.t0 = w.now;
	{
		struct ftoe_sock_info si;

		ck_assert_int_eq(ftoe_sock_info(w.s[0].eng, c, &si), 0);
		r.last = si.rate_kbps;
		ck_assert_uint_eq(r.last, d.init_kbps);
	}
	ck_assert(lb_run(&w, tl_step, &r, 200 * MS));
	ck_assert_uint_eq(r.s.bad, 0);
	ck_assert_uint_gt(r.s.rcvd, 1 << 20);

	/* RTT 30 us, under T_low: only additive increases of delta. */
	ck_assert_uint_ge(r.n[PH_LOW], 50);
	for (unsigned i = 0; i < r.n[PH_LOW]; i++)
		ck_assert_uint_eq(r.ch[PH_LOW][i].to - r.ch[PH_LOW][i].from, step);

	/* Rising RTT: a positive gradient, only cuts (after at most two
	 * samples of segments sent before the latency rose). */
	ck_assert_uint_ge(r.n[PH_RISE], 10);
	for (unsigned i = 0; i < r.n[PH_RISE]; i++)
		ck_assert_msg(i < 2 ||r.ch[PH_RISE][i].to < r.ch[PH_RISE][i].from, "rise %u: %u -> %u", i,
			      r.ch[PH_RISE][i].from, r.ch[PH_RISE][i].to);
	ck_assert_uint_lt(r.end_rate[PH_RISE], r.end_rate[PH_LOW] / 2);

	/* Falling RTT: once the average turns negative, increases only: five
	 * of delta, then hyperactive increases of N * delta. */
	{
		unsigned i = 0, k = 0;

		while (i < r.n[PH_FALL] && r.ch[PH_FALL][i].to < r.ch[PH_FALL][i].from)
			i++;
		ck_assert_uint_le(i, 2);
		ck_assert_uint_ge(r.n[PH_FALL] - i, 20);
		for (; i < r.n[PH_FALL]; i++, k++)
			ck_assert_msg(r.ch[PH_FALL][i].to - r.ch[PH_FALL][i].from ==
				      (k < d.hai_n ? step : hai), "fall %u: %u -> %u", k,
				      r.ch[PH_FALL][i].from, r.ch[PH_FALL][i].to);
		ck_assert_uint_gt(r.end_rate[PH_FALL], r.end_rate[PH_RISE]);
	}

	/* RTT 1200 us, over T_high: cuts by beta (1 - T_high / RTT) = 0.47
	 * per sample once the samples are all from the new latency, down to
	 * the floor. */
	{
		unsigned exact = 0;

		ck_assert_uint_ge(r.n[PH_HIGH], 5);
		for (unsigned i = 0; i < r.n[PH_HIGH]; i++) {
			const struct rate_change *x = &r.ch[PH_HIGH][i];

			ck_assert_uint_lt(x->to, x->from);
			double ratio = (double)x->to / x->from;

			/* 1 - 0.8 * (1 - 500 / 1200); the samples are 1200 us
			 * plus at most the receiver's 1 us ACK delay */
			if (x->to != d.min_kbps && ratio > 0.5333 - 0.002 && ratio < 0.5333 + 0.002)
				exact++;
		}
		ck_assert_uint_ge(exact, r.n[PH_HIGH] - 3);
		ck_assert_uint_eq(r.end_rate[PH_HIGH], d.min_kbps);
	}

	/* Back to a flat RTT in [T_low, T_high]: the gradient decays to zero
	 * and the rate climbs again, with hyperactive steps. */
	{
		unsigned i = 0, n_hai = 0;

		while (i < r.n[PH_FLAT] && r.ch[PH_FLAT][i].to < r.ch[PH_FLAT][i].from)
			i++;
		for (; i < r.n[PH_FLAT]; i++) {
			ck_assert_uint_gt(r.ch[PH_FLAT][i].to, r.ch[PH_FLAT][i].from);
			if (r.ch[PH_FLAT][i].to - r.ch[PH_FLAT][i].from == hai)
				n_hai++;
		}
		ck_assert_uint_ge(n_hai, 5);
		ck_assert_uint_gt(r.end_rate[PH_FLAT], d.min_kbps + 5 * hai);
	}
	lb_fini(&w);
}
END_TEST

static Suite *cc_timely_suite(void)
{
	Suite *s = suite_create("core_cc_timely");
	TCase *tc = tcase_create("timely");

	tcase_add_test(tc, below_t_low_adds_delta);
	tcase_add_test(tc, above_t_high_cuts_by_excess);
	tcase_add_test(tc, positive_gradient_cuts_in_proportion);
	tcase_add_test(tc, falling_rtt_increases_then_hai);
	tcase_add_test(tc, flat_rtt_decays_gradient_to_zero);
	tcase_add_test(tc, loss_halves_and_cfg_checks);
	tcase_add_test(tc, link_rate_follows_rtt_gradient);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(cc_timely_suite)
