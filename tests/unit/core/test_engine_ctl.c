/* test_engine_ctl.c - engine control plane: RFC 5961 challenge ACKs, bad segments, SYN cookies, windows. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/csum.h"
#include "core/engine_internal.h"
#include "core/segment.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

/* Build an IPv4/TCP frame from A to B (or from a fake source). */
static uint16_t mk_frame(uint8_t *f, uint32_t saddr, uint16_t sport, uint16_t dport,
			 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
			 const void *data, uint16_t dlen)
{
	return lb_tcp_frame(f, saddr, sport, dport, seq, ack, flags, win, NULL, 0, data, dlen);
}

/* A connected pair with timestamps off (raw injected segments carry none). */
static void setup(struct lb_world *w, int *c, int *a, uint32_t flags)
{
	struct ftoe_engine_cfg ca, cb;

	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.flags = cb.flags = FTOE_ENG_F_NO_TS | flags;
	lb_init(w, 99, &ca, &cb);
	ck_assert(app_connect(w, 80, c, a));
}

START_TEST(challenge_ack_rst_and_syn)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct ftoe_sock_info ci;
	struct flow_tcp *t;
	uint8_t f[128];
	uint16_t len;
	int c, a;

	setup(&w, &c, &a, 0);
	ftoe_sock_info(w.s[0].eng, c, &ci);
	t = &w.s[1].eng->tcp[a];
	/* RFC 5961 3.2: RST in the window but not at rcv_nxt -> challenge ACK */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt + 100, 0, FTOE_TCP_RST, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.challenge_acks, 1);
	ck_assert_int_eq(ftoe_sock_error(w.s[1].eng, a), 0);
	/* out of the window: ignored silently */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt + 10000000, 0, FTOE_TCP_RST, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.challenge_acks, 1);
	/* RFC 5961 4.2: SYN on an established connection -> challenge ACK */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt + 5, 0, FTOE_TCP_SYN, 1000, NULL, 0);
	lb_inject(&w, 1, f, len);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.challenge_acks, 2);
	ck_assert_int_eq(w.s[1].eng->ctl[a].state, TCP_S_ESTABLISHED);
	/* the real peer answers the challenge ACK (an ACK it does not
	 * expect) and the connection still works */
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, "ping", 4), 4);
	lb_run(&w, NULL, NULL, SEC / 10);
	{
		char b[8];

		ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, b, sizeof(b)), 4);
	}
	/* RST exactly at rcv_nxt resets */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, 0, FTOE_TCP_RST, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(ftoe_sock_error(w.s[1].eng, a), -ECONNRESET);
	lb_fini(&w);
}
END_TEST

START_TEST(out_of_window_and_malformed)
{
	struct lb_world w;
	struct ftoe_engine_stats st0, st;
	struct ftoe_sock_info ci;
	struct flow_tcp *t;
	uint8_t f[256];
	uint16_t len;
	char b[64];
	int c, a;

	setup(&w, &c, &a, 0);
	ftoe_sock_info(w.s[0].eng, c, &ci);
	t = &w.s[1].eng->tcp[a];
	ftoe_engine_get_stats(w.s[1].eng, &st0);
	/* data far beyond the window: not accepted, answered with an ACK */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt + 5000000, t->snd_nxt,
		       FTOE_TCP_ACK, 1000, "evil", 4);
	lb_inject(&w, 1, f, len);
	/* old data (already received): ignored */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt - 10, t->snd_nxt,
		       FTOE_TCP_ACK, 1000, "oldoldold!", 10);
	lb_inject(&w, 1, f, len);
	/* ACK of data never sent: dropped */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, t->snd_nxt + 100000,
		       FTOE_TCP_ACK, 1000, "bad", 3);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, b, sizeof(b)), -EAGAIN);
	/* corrupted checksum: dropped as malformed */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, t->snd_nxt,
		       FTOE_TCP_ACK, 1000, "data", 4);
	f[len - 1] ^= 1;
	lb_inject(&w, 1, f, len);
	/* truncated and garbage frames */
	lb_inject(&w, 1, f, 30);
	memset(f, 0xff, 100);
	lb_inject(&w, 1, f, 100);
	ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, b, sizeof(b)), -EAGAIN);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_ge(st.rx_malformed - st0.rx_malformed, 2);
	ck_assert_uint_ge(st.tx_acks - st0.tx_acks, 2);
	ck_assert_int_eq(w.s[1].eng->ctl[a].state, TCP_S_ESTABLISHED);
	/* a valid in-order segment still gets through */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, t->snd_nxt,
		       FTOE_TCP_ACK | FTOE_TCP_PSH, 1000, "good", 4);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, b, sizeof(b)), 4);
	ck_assert_int_eq(memcmp(b, "good", 4), 0);
	/* segments for unknown flows get a RST */
	ftoe_engine_get_stats(w.s[1].eng, &st0);
	len = mk_frame(f, LB_IP_A, 1234, 81, 1, 1, FTOE_TCP_ACK, 1000, NULL, 0);
	lb_inject(&w, 1, f, len);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.tx_rst - st0.tx_rst, 1);
	lb_fini(&w);
}
END_TEST

START_TEST(syn_cookies_when_backlog_full)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct ftoe_sock_info ci;
	struct app_stream s;
	uint8_t f[128];
	uint16_t len;
	int l, c, a = -1;

	lb_init(&w, 11, NULL, NULL);
	l = ftoe_sock_listen(w.s[1].eng, 80, 1);
	ck_assert_int_ge(l, 0);
	/* a SYN from a host that never completes fills the backlog of 1 */
	len = mk_frame(f, 0x0a000009, 4444, 80, 1000, 0, FTOE_TCP_SYN, 1000, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(w.s[1].eng->lis[0].pending, 1);
	c = ftoe_sock_connect(w.s[0].eng, __builtin_bswap32(LB_IP_B), 80);
	ck_assert_int_ge(c, 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.syn_cookies_sent, 1);
	ck_assert_uint_eq(st.syn_cookies_ok, 1);
	a = ftoe_sock_accept(w.s[1].eng, l);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(ftoe_sock_info(w.s[0].eng, c, &ci), 0);
	ck_assert_int_eq(ci.state, TCP_S_ESTABLISHED);
	/* a cookie cannot carry window scaling or timestamps */
	ck_assert_uint_eq(ci.snd_wscale, 0xff);
	ck_assert(!ci.ts);
	memset(&s, 0, sizeof(s));
	s = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 9, .len = 300000 };
	ck_assert(lb_run(&w, (lb_step_fn)app_stream_step, &s, 10 * SEC));
	ck_assert_uint_eq(s.bad, 0);
	/* a forged cookie ACK is refused with a RST */
	len = mk_frame(f, LB_IP_A, 5555, 80, 777, 0x12345678, FTOE_TCP_ACK, 1000, NULL, 0);
	lb_inject(&w, 1, f, len);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.syn_cookies_ok, 1);
	lb_fini(&w);
}
END_TEST

static bool wait_probe(struct lb_world *w, void *arg)
{
	struct ftoe_engine_stats st;

	(void)arg;
	ftoe_engine_get_stats(w->s[0].eng, &st);
	return st.probes >= 3;
}

START_TEST(zero_window_probing)
{
	struct lb_world w;
	struct app_stream s;
	struct ftoe_sock_info ai;
	int c, a;

	lb_init(&w, 12, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	s = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 10, .len = 200000,
				 .paused = true };
	/* the receiver does not read: its 64 KiB fill and the window closes */
	lb_run(&w, (lb_step_fn)app_stream_step, &s, SEC / 10);
	ftoe_sock_info(w.s[1].eng, a, &ai);
	ck_assert_uint_eq(ai.rx_ready, 65536);
	ck_assert_uint_eq(w.s[0].eng->tcp[c].snd_wnd, 0);
	/* the sender probes, backing off, and never gives up */
	ck_assert(lb_run(&w, wait_probe, NULL, 60 * SEC));
	ck_assert_int_eq(ftoe_sock_error(w.s[0].eng, c), 0);
	/* the application reads again: everything arrives intact */
	s.paused = false;
	ck_assert(lb_run(&w, (lb_step_fn)app_stream_step, &s, 120 * SEC));
	ck_assert_uint_eq(s.bad, 0);
	ck_assert_uint_eq(s.rcvd, 200000);
	lb_fini(&w);
}
END_TEST

START_TEST(window_scaling_large_buffers)
{
	struct lb_world w;
	struct ftoe_engine_cfg ca, cb;
	struct ftoe_sock_info ci;
	struct app_stream s;
	uint32_t max_wnd = 0;
	int c, a;

	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.rx_buf_size = cb.rx_buf_size = 4u << 20;
	ca.tx_buf_size = cb.tx_buf_size = 4u << 20;
	ca.max_conns = cb.max_conns = 4;
	lb_init(&w, 13, &ca, &cb);
	ck_assert(app_connect(&w, 80, &c, &a));
	ftoe_sock_info(w.s[0].eng, c, &ci);
	/* 4 MiB needs shift 7 (65535 << 6 is 64 bytes short) */
	ck_assert_uint_eq(ci.rcv_wscale, 7);
	ck_assert_uint_eq(ci.snd_wscale, 7);
	s = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 11, .len = 8u << 20,
				 .paused = true };
	/* with the receiver paused the sender fills the whole 4 MiB window */
	lb_run(&w, (lb_step_fn)app_stream_step, &s, SEC / 2);
	ftoe_sock_info(w.s[1].eng, a, &ci);
	ck_assert_uint_eq(ci.rx_ready, 4u << 20);
	s.paused = false;
	max_wnd = w.s[0].eng->tcp[c].max_snd_wnd;
	/* far beyond what 16 bits express: the peer scaled our window field */
	ck_assert_uint_ge(max_wnd, (4u << 20) - 65536);
	ck_assert(lb_run(&w, (lb_step_fn)app_stream_step, &s, 60 * SEC));
	ck_assert_uint_eq(s.bad, 0);
	lb_fini(&w);
}
END_TEST

static bool drop_all(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	(void)s;
	(void)frame;
	(void)len;
	return false;
}

/* The end of an active close, played by hand against side 1 (the peer's
 * part is what a Linux socket does): our data and FIN are ACKed, the
 * peer's FIN arrives, then the peer's closed socket answers a duplicate of
 * our last ACK with a RST, and the link duplicates that RST.  RFC 9293
 * 3.10.7.4: a RST in TIME-WAIT just ends the connection, and a RST for a
 * connection already CLOSED changes nothing - the application, which got
 * all its data acknowledged, never sees ECONNRESET.  An orphaned flow in
 * FIN-WAIT-2 (everything acknowledged, the application gone) ends on a
 * RST without being counted as a reset. */
START_TEST(rst_after_active_close_is_not_a_reset)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct ftoe_sock_info ci;
	struct flow_tcp *t;
	uint8_t f[128];
	char b[8];
	uint16_t len;
	int c, a;

	setup(&w, &c, &a, 0);
	ftoe_sock_info(w.s[0].eng, c, &ci);
	t = &w.s[1].eng->tcp[a];
	w.s[1].tap = drop_all;
	ck_assert_int_eq(ftoe_sock_send(w.s[1].eng, a, "data", 4), 4);
	ck_assert_int_eq(ftoe_sock_shutdown(w.s[1].eng, a, FTOE_SHUT_WR), 0);
	lb_run(&w, NULL, NULL, SEC / 100);
	ck_assert(t->flags & FLOW_TCP_FIN_TX);
	ck_assert_uint_eq(t->snd_max, t->tx_seq0 + 5);
	/* the peer ACKs data and FIN, then sends its own FIN */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, t->snd_max, FTOE_TCP_ACK,
		       65535, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(w.s[1].eng->ctl[a].state, TCP_S_FIN_WAIT_2);
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, t->snd_max,
		       FTOE_TCP_ACK | FTOE_TCP_FIN, 65535, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(w.s[1].eng->ctl[a].state, TCP_S_TIME_WAIT);
	/* RST (seq = the ACK of our duplicate last ACK), twice */
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, 0, FTOE_TCP_RST, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(w.s[1].eng->ctl[a].state, TCP_S_CLOSED);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(ftoe_sock_error(w.s[1].eng, a), 0);
	ck_assert_int_eq(ftoe_sock_recv(w.s[1].eng, a, b, sizeof(b)), 0);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.conn_reset, 0);
	ck_assert_int_eq(ftoe_sock_close(w.s[1].eng, a), 0);
	ck_assert_uint_eq(w.s[1].eng->nfree, w.s[1].eng->nflows);
	lb_fini(&w);

	/* orphaned in FIN-WAIT-2 */
	setup(&w, &c, &a, 0);
	ftoe_sock_info(w.s[0].eng, c, &ci);
	t = &w.s[1].eng->tcp[a];
	w.s[1].tap = drop_all;
	ck_assert_int_eq(ftoe_sock_send(w.s[1].eng, a, "data", 4), 4);
	ck_assert_int_eq(ftoe_sock_close(w.s[1].eng, a), 0);
	lb_run(&w, NULL, NULL, SEC / 100);
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, t->snd_max, FTOE_TCP_ACK,
		       65535, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(w.s[1].eng->ctl[a].state, TCP_S_FIN_WAIT_2);
	len = mk_frame(f, LB_IP_A, ci.local_port, 80, t->rcv_nxt, 0, FTOE_TCP_RST, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(w.s[1].eng->nfree, w.s[1].eng->nflows);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_eq(st.conn_reset, 0);
	lb_fini(&w);
}
END_TEST

static Suite *engine_ctl_suite(void)
{
	Suite *s = suite_create("core_engine_ctl");
	TCase *tc = tcase_create("ctl");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, challenge_ack_rst_and_syn);
	tcase_add_test(tc, out_of_window_and_malformed);
	tcase_add_test(tc, syn_cookies_when_backlog_full);
	tcase_add_test(tc, zero_window_probing);
	tcase_add_test(tc, window_scaling_large_buffers);
	tcase_add_test(tc, rst_after_active_close_is_not_a_reset);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(engine_ctl_suite)
