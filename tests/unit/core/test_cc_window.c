/* test_cc_window.c - window-based congestion control: cwnd bounds the flight, slow start, the cut, the timeout, undo. */
#include <check.h>
#include <string.h>

#include "core/control/cc.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define MSS 1448u

static uint8_t payload[256 * 1024];

static struct ftoe_engine *setup(struct lb_world *w, int *c, int *a)
{
	struct ftoe_engine_cfg ca, cb;

	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.cc = &ftoe_cc_newreno;
	ca.rx_buf_size = ca.tx_buf_size = cb.rx_buf_size = cb.tx_buf_size = 256 * 1024;
	lb_init(w, 11, &ca, &cb);
	ck_assert(app_connect(w, 80, c, a));
	ck_assert_uint_eq(w->s[0].eng->tcp[*c].snd_mss, MSS);
	return w->s[0].eng;
}

static int step_flow;

static bool all_acked(struct lb_world *w, void *arg)
{
	const struct flow_tcp *t = &w->s[0].eng->tcp[step_flow];

	(void)arg;
	return t->snd_una == t->snd_max && t->snd_una - t->tx_seq0 >= 100000;
}

/* RFC 6928's initial window is all that leaves before an ACK, however
 * much the application wrote and the peer's window allows. */
START_TEST(cwnd_bounds_the_flight)
{
	struct lb_world w;
	struct ftoe_engine *e;
	uint64_t before;
	int c, a;

	e = setup(&w, &c, &a);
	ck_assert_uint_eq(e->cc[c].cwnd, 10 * MSS);
	ck_assert_uint_ge(e->tcp[c].snd_wnd, 60000);
	ck_assert_int_eq(ftoe_sock_send(e, c, payload, 100000), 100000);
	before = e->st.tx_bytes;
	for (int i = 0; i < 5; i++)
		ftoe_engine_poll(e, 0);
	ck_assert_uint_eq(e->st.tx_bytes - before, 10 * MSS);
	ck_assert_uint_eq(ftoe_proto_pipe(e, c), 10 * MSS);
	ck_assert(!ftoe_proto_cwnd_room(e, c));
	/* the ACKs open it again: the whole 100 KB arrives */
	step_flow = c;
	ck_assert(lb_run(&w, all_acked, NULL, 2000000000ull));
	ck_assert_uint_gt(e->cc[c].cwnd, 10 * MSS);
	lb_fini(&w);
}
END_TEST

/* Slow start adds what an ACK delivers; a loss episode halves (Reno's
 * ssthresh); undo restores both; a timeout restarts from one segment and
 * slow-starts back to the ssthresh it set. */
START_TEST(cut_undo_timeout)
{
	struct lb_world w;
	struct ftoe_engine *e;
	int c, a;

	e = setup(&w, &c, &a);
	ck_assert_int_eq(ftoe_sock_send(e, c, payload, 100000), 100000);
	ftoe_engine_poll(e, 0);
	/* flight 10 MSS = cwnd: the window is in use, so it grows */
	ftoe_cc_on_ack(e, c, 2 * MSS, false);
	ck_assert_uint_eq(e->cc[c].cwnd, 12 * MSS);
	ftoe_cc_on_loss(e, c);
	ck_assert_uint_eq(e->cc[c].cwnd, 6 * MSS);
	ck_assert_uint_eq(e->ctl[c].cc_ssthresh, 6 * MSS);
	ftoe_cc_on_undo(e, c);
	ck_assert_uint_eq(e->cc[c].cwnd, 12 * MSS);
	ck_assert_uint_eq(e->ctl[c].cc_ssthresh, UINT32_MAX);
	/* a second undo of the same cut changes nothing */
	e->cc[c].cwnd = 11 * MSS;
	ftoe_cc_on_undo(e, c);
	ck_assert_uint_eq(e->cc[c].cwnd, 11 * MSS);
	/* a timeout: one segment, ssthresh half the window */
	e->ctl[c].rto.backoffs = 1;
	ftoe_cc_on_timeout(e, c);
	ck_assert_uint_eq(e->cc[c].cwnd, MSS);
	ck_assert_uint_eq(e->ctl[c].cc_ssthresh, 11 * MSS / 2);
	/* a backed-off timeout keeps that ssthresh */
	e->ctl[c].rto.backoffs = 2;
	ftoe_cc_on_timeout(e, c);
	ck_assert_uint_eq(e->ctl[c].cc_ssthresh, 11 * MSS / 2);
	/* slow start up to ssthresh, then Reno's one segment per window */
	e->ctl[c].rto.backoffs = 0;
	ftoe_cc_on_ack(e, c, 10 * MSS, false);
	ck_assert_uint_eq(e->cc[c].cwnd, 11 * MSS / 2 + MSS);
	lb_fini(&w);
}
END_TEST

static Suite *cc_window_suite(void)
{
	Suite *s = suite_create("core_cc_window");
	TCase *tc = tcase_create("window");

	tcase_add_test(tc, cwnd_bounds_the_flight);
	tcase_add_test(tc, cut_undo_timeout);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(cc_window_suite)
