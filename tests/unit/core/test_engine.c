/* test_engine.c - engine over an in-memory link: handshake, data, loss recovery, teardown. */
#include <errno.h>
#include <string.h>

#include "core/control/cc.h"
#include "core/engine_internal.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

struct two_streams {
	struct app_stream s[2];
};

static bool two_step(struct lb_world *w, void *arg)
{
	struct two_streams *t = arg;
	bool a = app_stream_step(w, &t->s[0]);
	bool b = app_stream_step(w, &t->s[1]);

	return a && b;
}

/* Transfer len bytes each way (or one way when back == 0) and check. */
static void transfer(struct lb_world *w, uint64_t len, uint64_t back, uint64_t max_ns)
{
	struct two_streams t;
	int c, a;

	memset(&t, 0, sizeof(t));
	ck_assert(app_connect(w, 80, &c, &a));
	t.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 1, .len = len };
	t.s[1] = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c, .id = 2, .len = back };
	ck_assert_msg(lb_run(w, two_step, &t, max_ns),
		      "transfer stalled: %llu/%llu and %llu/%llu bytes",
		      (unsigned long long)t.s[0].rcvd, (unsigned long long)len,
		      (unsigned long long)t.s[1].rcvd, (unsigned long long)back);
	ck_assert_uint_eq(t.s[0].bad, 0);
	ck_assert_uint_eq(t.s[1].bad, 0);
	ck_assert_uint_eq(t.s[0].rcvd, len);
	ck_assert_uint_eq(t.s[1].rcvd, back);
}

START_TEST(handshake_and_options)
{
	struct lb_world w;
	struct ftoe_sock_info ci, ai;
	int c, a;

	lb_init(&w, 1, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	ck_assert_int_eq(ftoe_sock_info(w.s[0].eng, c, &ci), 0);
	ck_assert_int_eq(ftoe_sock_info(w.s[1].eng, a, &ai), 0);
	ck_assert_int_eq(ci.state, TCP_S_ESTABLISHED);
	ck_assert_int_eq(ai.state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(ci.remote_port, 80);
	ck_assert_uint_eq(ai.remote_port, ci.local_port);
	ck_assert(ci.ts && ai.ts);
	ck_assert(ci.ecn && ai.ecn);
	/* 64 KiB buffers: shift 1 is the smallest covering 65536 */
	ck_assert_uint_eq(ci.rcv_wscale, 1);
	ck_assert_uint_eq(ai.snd_wscale, 1);
	/* 1500 MTU - 40 - 12 bytes of timestamps */
	ck_assert_uint_eq(ci.snd_mss, 1448);
	lb_fini(&w);
}
END_TEST

START_TEST(data_both_ways)
{
	struct lb_world w;

	lb_init(&w, 2, NULL, NULL);
	transfer(&w, 300000, 200000, 10 * SEC);
	lb_fini(&w);
}
END_TEST

static void lossy(uint64_t seed, struct lb_faults f, bool dctcp)
{
	struct lb_world w;
	struct ftoe_engine_cfg ca, cb;
	struct ftoe_engine_stats st;

	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	if (dctcp)
		ca.cc = cb.cc = &ftoe_cc_dctcp;
	lb_init(&w, seed, &ca, &cb);
	ck_assert(true);
	{
		/* the handshake itself runs clean; the data sees the faults */
		struct two_streams t;
		int c, a;

		memset(&t, 0, sizeof(t));
		ck_assert(app_connect(&w, 80, &c, &a));
		w.s[0].f = f;
		w.s[1].f = f;
		t.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 3,
					      .len = 1 << 20, .close_after = true };
		t.s[1] = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c, .id = 4,
					      .len = 1 << 20, .close_after = true };
		ck_assert_msg(lb_run(&w, two_step, &t, 600 * SEC),
			      "stalled at %llu and %llu", (unsigned long long)t.s[0].rcvd,
			      (unsigned long long)t.s[1].rcvd);
		ck_assert_uint_eq(t.s[0].bad, 0);
		ck_assert_uint_eq(t.s[1].bad, 0);
		ck_assert_uint_eq(t.s[0].rcvd, 1 << 20);
		ck_assert_uint_eq(t.s[1].rcvd, 1 << 20);
		ck_assert(t.s[0].eof && t.s[1].eof);
	}
	ftoe_engine_get_stats(w.s[0].eng, &st);
	if (f.drop)
		ck_assert_uint_gt(st.retransmits, 0);
	if (f.corrupt)
		ck_assert_uint_gt(st.rx_malformed, 0);
	lb_fini(&w);
}

START_TEST(loss_5pct)
{
	lossy(10 + (uint64_t)_i, (struct lb_faults){ .drop = 5 }, false);
}
END_TEST

START_TEST(reorder_5pct)
{
	lossy(20, (struct lb_faults){ .reorder = 5 }, false);
}
END_TEST

START_TEST(dup_5pct)
{
	lossy(30, (struct lb_faults){ .dup = 5 }, false);
}
END_TEST

START_TEST(corrupt_2pct)
{
	lossy(40, (struct lb_faults){ .corrupt = 2 }, false);
}
END_TEST

START_TEST(all_faults_dctcp)
{
	lossy(50, (struct lb_faults){ .drop = 5, .reorder = 5, .dup = 5, .corrupt = 1 }, true);
}
END_TEST

/* ---- teardown ---- */

struct close_wait {
	int side, sock;
	int want_state;
};

static bool state_is(struct lb_world *w, void *arg)
{
	struct close_wait *cw = arg;
	struct ftoe_sock_info i;

	if (ftoe_sock_info(w->s[cw->side].eng, cw->sock, &i))
		return cw->want_state < 0;
	return i.state == cw->want_state;
}

START_TEST(fin_teardown_and_time_wait)
{
	struct lb_world w;
	struct two_streams t;
	struct close_wait cw;
	int c, a;
	char b;

	lb_init(&w, 3, NULL, NULL);
	memset(&t, 0, sizeof(t));
	ck_assert(app_connect(&w, 80, &c, &a));
	t.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 5, .len = 5000,
				      .close_after = true };
	ck_assert(lb_run(&w, two_step, &t, 5 * SEC));
	ck_assert(t.s[0].eof);
	/* active closer waits in FIN_WAIT_2, the peer in CLOSE_WAIT */
	cw = (struct close_wait){ 0, c, TCP_S_FIN_WAIT_2 };
	ck_assert(lb_run(&w, state_is, &cw, SEC));
	cw = (struct close_wait){ 1, a, TCP_S_CLOSE_WAIT };
	ck_assert(state_is(&w, &cw));
	ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, &b, 1), 0);
	ck_assert_int_eq(ftoe_sock_send(w.s[1].eng, a, "bye", 3), 3);
	ck_assert_int_eq(ftoe_sock_close(w.s[1].eng, a), 0);
	cw = (struct close_wait){ 0, c, TCP_S_TIME_WAIT };
	ck_assert(lb_run(&w, state_is, &cw, SEC));
	{
		char buf[8];

		ck_assert_int_eq(ftoe_sock_recv(w.s[0].eng, c, buf, sizeof(buf)), 3);
		ck_assert_int_eq(memcmp(buf, "bye", 3), 0);
		ck_assert_int_eq(ftoe_sock_recv(w.s[0].eng, c, buf, sizeof(buf)), 0);
	}
	/* the passive side is gone once its FIN was acked */
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert_uint_eq(w.s[1].eng->nfree, w.s[1].eng->nflows);
	/* TIME_WAIT lasts time_wait_ms (1 s here), then CLOSED */
	cw = (struct close_wait){ 0, c, TCP_S_CLOSED };
	ck_assert(!lb_run(&w, state_is, &cw, 800 * 1000000ull));
	ck_assert(lb_run(&w, state_is, &cw, 300 * 1000000ull));
	ck_assert_int_eq(ftoe_sock_close(w.s[0].eng, c), 0);
	ck_assert_uint_eq(w.s[0].eng->nfree, w.s[0].eng->nflows);
	lb_fini(&w);
}
END_TEST

START_TEST(simultaneous_close)
{
	struct lb_world w;
	struct close_wait cw;
	int c, a;

	lb_init(&w, 4, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	ck_assert_int_eq(ftoe_sock_shutdown(w.s[0].eng, c, FTOE_SHUT_WR), 0);
	ck_assert_int_eq(ftoe_sock_shutdown(w.s[1].eng, a, FTOE_SHUT_WR), 0);
	/* both FINs cross: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both */
	cw = (struct close_wait){ 0, c, TCP_S_TIME_WAIT };
	ck_assert(lb_run(&w, state_is, &cw, SEC));
	cw = (struct close_wait){ 1, a, TCP_S_TIME_WAIT };
	ck_assert(lb_run(&w, state_is, &cw, SEC));
	lb_fini(&w);
}
END_TEST

struct simopen {
	int c0, c1;
};

static bool both_established(struct lb_world *w, void *arg)
{
	struct simopen *s = arg;
	struct ftoe_sock_info i0, i1;

	return !ftoe_sock_info(w->s[0].eng, s->c0, &i0) &&
	       !ftoe_sock_info(w->s[1].eng, s->c1, &i1) &&
	       i0.state == TCP_S_ESTABLISHED && i1.state == TCP_S_ESTABLISHED;
}

START_TEST(simultaneous_open)
{
	struct lb_world w;
	struct simopen s;
	struct two_streams t;

	lb_init(&w, 5, NULL, NULL);
	/* both SYNs are sent before either arrives (20 us link) */
	s.c0 = ftoe_sock_connect_from(w.s[0].eng, 5000, __builtin_bswap32(LB_IP_B), 6000);
	s.c1 = ftoe_sock_connect_from(w.s[1].eng, 6000, __builtin_bswap32(LB_IP_A), 5000);
	ck_assert_int_ge(s.c0, 0);
	ck_assert_int_ge(s.c1, 0);
	ck_assert(lb_run(&w, both_established, &s, 5 * SEC));
	memset(&t, 0, sizeof(t));
	t.s[0] = (struct app_stream){ .tx_side = 0, .stx = s.c0, .srx = s.c1, .id = 6, .len = 100000 };
	t.s[1] = (struct app_stream){ .tx_side = 1, .stx = s.c1, .srx = s.c0, .id = 7, .len = 100000 };
	ck_assert(lb_run(&w, two_step, &t, 10 * SEC));
	ck_assert_uint_eq(t.s[0].bad + t.s[1].bad, 0);
	lb_fini(&w);
}
END_TEST

START_TEST(reset_by_abort)
{
	struct lb_world w;
	int c, a;
	char b;

	lb_init(&w, 6, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	ck_assert_int_eq(ftoe_sock_abort(w.s[0].eng, c), 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_sock_error(w.s[1].eng, a), -ECONNRESET);
	ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, &b, 1), -ECONNRESET);
	ck_assert_int_eq(ftoe_sock_close(w.s[1].eng, a), 0);
	ck_assert_uint_eq(w.s[1].eng->nfree, w.s[1].eng->nflows);
	lb_fini(&w);
}
END_TEST

/* The flow cache in front of the flow table (core/preproc.c): an entry is
 * checked against the flow before it is used, so a cache that names the
 * wrong flow in every slot costs table lookups, never misdelivered bytes. */
START_TEST(flow_cache_checked_before_use)
{
	struct lb_world w;
	struct ftoe_engine *e;
	int c1, a1, c2, a2;
	unsigned i, learned = 0;
	char buf[8];

	lb_init(&w, 11, NULL, NULL);
	e = w.s[1].eng;
	ck_assert(app_connect(&w, 80, &c1, &a1));
	ck_assert(app_connect(&w, 81, &c2, &a2));
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c1, "one", 3), 3);
	lb_run(&w, NULL, NULL, SEC / 10);
	for (i = 0; i < FTOE_FLOW_CACHE; i++)
		learned += e->flow_cache[i] == (uint32_t)a1;
	ck_assert_uint_eq(learned, 1);
	for (i = 0; i < FTOE_FLOW_CACHE; i++)
		e->flow_cache[i] = (uint32_t)a1;
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c2, "two", 3), 3);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_sock_recv(e, a2, buf, sizeof(buf)), 3);
	ck_assert_int_eq(memcmp(buf, "two", 3), 0);
	ck_assert_int_eq(ftoe_sock_recv(e, a1, buf, sizeof(buf)), 3);
	ck_assert_int_eq(memcmp(buf, "one", 3), 0);
	ck_assert_int_eq(ftoe_sock_recv(e, a1, buf, sizeof(buf)), -EAGAIN);
	/* and the slot of c2's 4-tuple has learned a2 again */
	learned = 0;
	for (i = 0; i < FTOE_FLOW_CACHE; i++)
		learned += e->flow_cache[i] == (uint32_t)a2;
	ck_assert_uint_eq(learned, 1);
	lb_fini(&w);
}
END_TEST

START_TEST(close_with_unread_data_resets)
{
	struct lb_world w;
	int c, a;

	lb_init(&w, 7, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, "hello", 5), 5);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_sock_close(w.s[1].eng, a), 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_sock_error(w.s[0].eng, c), -ECONNRESET);
	lb_fini(&w);
}
END_TEST

/* Every frame side 0 sends is dropped after the handshake; record times. */
static uint64_t tx_times[64];
static unsigned nr_tx;

static bool blackhole(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	(void)frame;
	(void)len;
	if (nr_tx < 64)
		tx_times[nr_tx++] = s->w->now;
	return false;
}

static bool has_error(struct lb_world *w, void *arg)
{
	return ftoe_sock_error(w->s[0].eng, *(int *)arg) != 0;
}

START_TEST(rto_backoff_and_give_up)
{
	struct lb_world w;
	int c, a;

	lb_init(&w, 8, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	nr_tx = 0;
	w.s[0].tap = blackhole;
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, "x", 1), 1);
	ck_assert(lb_run(&w, has_error, &c, 3600 * SEC));
	ck_assert_int_eq(ftoe_sock_error(w.s[0].eng, c), -ETIMEDOUT);
	/* first send + 15 retransmissions + the final RST */
	ck_assert_uint_ge(nr_tx, 16);
	/* RFC 6298 5.5: each interval doubles, up to the 60 s cap */
	for (unsigned i = 2; i < 8; i++) {
		uint64_t d1 = tx_times[i] - tx_times[i - 1], d0 = tx_times[i - 1] - tx_times[i - 2];

		ck_assert_msg(d1 >= 2 * d0 - 1000 && d1 <= 2 * d0 + 1000,
			      "interval %u: %llu after %llu", i, (unsigned long long)d1,
			      (unsigned long long)d0);
	}
	/* the LAN default minimum RTO (core/engine.c): 30 ms */
	ck_assert_uint_ge(tx_times[1] - tx_times[0], 30 * 1000000ull);
	lb_fini(&w);
}
END_TEST

/* Active close after a bulk transfer over a faulty link (loss, duplication,
 * reordering both ways): the receiver reads to EOF and closes, so a late
 * duplicate of the sender's last ACK can meet a closed 4-tuple and draw a
 * RST.  Once all of the sender's data and its FIN were acknowledged, that is
 * the end of the connection, not a reset of the application's data (RFC 9293
 * 3.10.7.4 second check): the sender never sees an error. */
struct active_close {
	struct app_stream s;
	bool rx_closed, tx_eof;
	bool orphan;		/* the sender closes right after its shutdown */
};

static bool active_close_step(struct lb_world *w, void *arg)
{
	struct active_close *ac = arg;
	struct ftoe_sock_info i;
	char b[64];

	if (app_stream_step(w, &ac->s) && !ac->rx_closed) {
		ck_assert_int_eq(ftoe_sock_close(w->s[1].eng, ac->s.srx), 0);
		ac->rx_closed = true;
	}
	if (ac->s.shut && ac->orphan && !ac->tx_eof) {
		ck_assert_int_eq(ftoe_sock_close(w->s[0].eng, ac->s.stx), 0);
		ac->tx_eof = true;
	}
	if (ac->orphan)
		return ac->tx_eof && ac->rx_closed &&
		       w->s[0].eng->nfree == w->s[0].eng->nflows &&
		       w->s[1].eng->nfree == w->s[1].eng->nflows;
	if (ac->s.shut && !ac->tx_eof) {
		ssize_t r = ftoe_sock_recv(w->s[0].eng, ac->s.stx, b, sizeof(b));

		ck_assert_msg(r == 0 || r == -EAGAIN, "sender recv: %zd", r);
		ac->tx_eof = r == 0;
	}
	/* done when the sender's side reached TIME_WAIT (or is gone) and the
	 * receiver's flow is freed */
	return ac->tx_eof && ac->rx_closed &&
	       (ftoe_sock_info(w->s[0].eng, ac->s.stx, &i) ||
		i.state == TCP_S_TIME_WAIT || i.state == TCP_S_CLOSED) &&
	       w->s[1].eng->nfree == w->s[1].eng->nflows;
}

#ifndef NSEEDS
#define NSEEDS 48
#endif
START_TEST(active_close_under_faults)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct active_close ac;
	int c, a;

	for (uint64_t seed = 200; seed < 200 + NSEEDS; seed++) {
		lb_init(&w, seed, NULL, NULL);
		ck_assert(app_connect(&w, 80, &c, &a));
		w.s[0].f = w.s[1].f = (struct lb_faults){ .drop = 3, .dup = 10, .reorder = 10 };
		memset(&ac, 0, sizeof(ac));
		ac.s = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 9,
					    .len = 64 * 1024 + (seed % 7) * 1000,
					    .close_after = true };
		ac.orphan = _i == 1;
		ck_assert_msg(lb_run(&w, active_close_step, &ac, 120 * SEC),
			      "seed %llu: stalled at %llu/%llu, eof %d", (unsigned long long)seed,
			      (unsigned long long)ac.s.rcvd, (unsigned long long)ac.s.len,
			      ac.tx_eof);
		ck_assert_uint_eq(ac.s.bad, 0);
		/* let every late duplicate and its answer play out */
		lb_run(&w, NULL, NULL, 2 * SEC);
		ftoe_engine_get_stats(w.s[0].eng, &st);
		ck_assert_msg((ac.orphan || ftoe_sock_error(w.s[0].eng, c) == 0) && st.conn_reset == 0,
			      "seed %llu: sender error %d, %llu resets", (unsigned long long)seed,
			      ac.orphan ? 0 : ftoe_sock_error(w.s[0].eng, c), (unsigned long long)st.conn_reset);
		ftoe_engine_get_stats(w.s[1].eng, &st);
		ck_assert_msg(st.conn_reset == 0, "seed %llu: receiver reset",
			      (unsigned long long)seed);
		lb_fini(&w);
	}
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("core_engine");
	TCase *tc = tcase_create("data");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, handshake_and_options);
	tcase_add_test(tc, data_both_ways);
	tcase_add_loop_test(tc, loss_5pct, 0, 3);
	tcase_add_test(tc, reorder_5pct);
	tcase_add_test(tc, dup_5pct);
	tcase_add_test(tc, corrupt_2pct);
	tcase_add_test(tc, all_faults_dctcp);
	suite_add_tcase(s, tc);
	tc = tcase_create("teardown");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fin_teardown_and_time_wait);
	tcase_add_test(tc, simultaneous_close);
	tcase_add_test(tc, simultaneous_open);
	tcase_add_test(tc, reset_by_abort);
	tcase_add_test(tc, flow_cache_checked_before_use);
	tcase_add_test(tc, close_with_unread_data_resets);
	tcase_add_loop_test(tc, active_close_under_faults, 0, 2);
	tcase_add_test(tc, rto_backoff_and_give_up);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(engine_suite)
