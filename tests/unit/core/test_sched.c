/* test_sched.c - flow scheduler pacing: credit for late service of a waiting flow, burst only for an idle one. */
#include <check.h>
#include <string.h>

#include "core/engine_internal.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define RATE_BPS  100000000ull	/* 12.5 bytes per microsecond */
#define LATE_NS   1000000ull	/* a wakeup 1 ms after the deadline */
#define BURST     (4 * 1448)	/* 200 us at this rate is less than 4 MSS */

static uint8_t payload[256 * 1024];

static void setup(struct lb_world *w, int *c, int *a)
{
	struct ftoe_engine_cfg ca, cb;

	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.cc_param = cb.cc_param = RATE_BPS;
	ca.rx_buf_size = ca.tx_buf_size = cb.rx_buf_size = cb.tx_buf_size = 256 * 1024;
	lb_init(w, 7, &ca, &cb);
	ck_assert(app_connect(w, 80, c, a));
	ck_assert_uint_eq(w->s[0].eng->tcp[*c].snd_mss, 1448);
	ck_assert_uint_ge(w->s[0].eng->tcp[*c].snd_wnd, 60000); /* all the test sends */
}

/* Payload bytes side 0 sends in one poll at the current virtual time
 * (nothing is delivered in between: no ACK, the window stays open). */
static uint64_t poll_bytes(struct lb_world *w)
{
	uint64_t before = w->s[0].eng->st.tx_bytes;

	ftoe_engine_poll(w->s[0].eng, 0);
	return w->s[0].eng->st.tx_bytes - before;
}

/*
 * An idle flow banks at most the burst: after 1 ms without data, 100 KB
 * written at once leave in exactly BURST bytes, then the flow waits.
 */
START_TEST(idle_flow_gets_burst_only)
{
	struct lb_world w;
	int c, a;

	setup(&w, &c, &a);
	w.now += LATE_NS;
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, payload, 100000), 100000);
	ck_assert_uint_eq(poll_bytes(&w), BURST);
	/* no credit left: nothing more at the same instant */
	ck_assert_uint_eq(poll_bytes(&w), 0);
	lb_fini(&w);
}
END_TEST

/*
 * A backlogged flow that waits for credit and is served LATE_NS after its
 * deadline (the worker blocked too long) keeps what it earned meanwhile:
 * about rate x 1 ms = 12,500 bytes, not the 5,792-byte burst, so the
 * achieved rate follows the set rate whatever the wakeup precision.
 */
START_TEST(late_service_keeps_credit)
{
	struct lb_world w;
	uint64_t n, earned = LATE_NS * RATE_BPS / 8 / 1000000000ull;
	int c, a;

	setup(&w, &c, &a);
	w.now += LATE_NS;
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, payload, 200000), 200000);
	ck_assert_uint_eq(poll_bytes(&w), BURST);	/* now waiting */
	w.now += LATE_NS;
	n = poll_bytes(&w);
	ck_assert_uint_ge(n, earned - 1448);
	ck_assert_uint_le(n, earned + 1448);
	/* the catch-up is bounded: 10 ms late earns 2 ms + the burst */
	w.now += 10 * LATE_NS;
	n = poll_bytes(&w);
	ck_assert_uint_le(n, 2 * earned + BURST + 1448);
	ck_assert_uint_ge(n, 2 * earned);
	lb_fini(&w);
}
END_TEST

static Suite *sched_suite(void)
{
	Suite *s = suite_create("core_sched");
	TCase *tc = tcase_create("pacing");

	tcase_add_test(tc, idle_flow_gets_burst_only);
	tcase_add_test(tc, late_service_keeps_credit);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(sched_suite)
