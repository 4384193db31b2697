/* test_engine_ipv6.c - TCP over IPv6 between two engines: handshake, MSS, data both ways, faults, teardown, frames on the wire. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/csum.h"
#include "core/engine_internal.h"
#include "core/segment.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

static const uint8_t ip6_a[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t ip6_b[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* Every frame either side sends: IPv6, no IPv4; TCP checksum right over
 * the IPv6 pseudo-header (RFC 8200 8.1). */
static unsigned long v6_frames, v4_frames, bad_frames;

static bool check_tap(struct lb_side *s, uint8_t *f, uint16_t *len)
{
	struct ftoe_seg seg;

	(void)s;
	if (ftoe_get_be16(f + 12) != FTOE_ETH_P_IPV6) {
		v4_frames++;
		return true;
	}
	if (ftoe_seg_parse(f, *len, 0, &seg) || seg.family != 6 || f[14 + 7] != 64)
		bad_frames++;
	v6_frames++;
	return true;
}

static void world(struct lb_world *w, uint64_t seed)
{
	struct ftoe_engine_cfg ca, cb;

	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	memcpy(ca.ip6, ip6_a, 16);
	memcpy(cb.ip6, ip6_b, 16);
	ca.prefix6_len = cb.prefix6_len = 64;
	lb_init(w, seed, &ca, &cb);
	w->s[0].tap = w->s[1].tap = check_tap;
	v6_frames = v4_frames = bad_frames = 0;
}

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

START_TEST(ipv6_handshake_mss_addresses)
{
	struct lb_world w;
	struct ftoe_sock_info ci, ai;
	int c, a;

	world(&w, 1);
	ck_assert(app_connect_to(&w, 80, ip6_b, &c, &a));
	ck_assert_int_eq(ftoe_sock_info(w.s[0].eng, c, &ci), 0);
	ck_assert_int_eq(ftoe_sock_info(w.s[1].eng, a, &ai), 0);
	ck_assert_int_eq(ci.state, TCP_S_ESTABLISHED);
	ck_assert_int_eq(ai.state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(ci.ip_version, 6);
	ck_assert_uint_eq(ai.ip_version, 6);
	ck_assert_mem_eq(ci.local_ip6, ip6_a, 16);
	ck_assert_mem_eq(ci.remote_ip6, ip6_b, 16);
	ck_assert_mem_eq(ai.local_ip6, ip6_b, 16);
	ck_assert_mem_eq(ai.remote_ip6, ip6_a, 16);
	ck_assert_uint_eq(ai.remote_port, ci.local_port);
	ck_assert(ci.ts && ai.ts);
	/* 1500 MTU - 40 (IPv6) - 20 (TCP) - 12 bytes of timestamps */
	ck_assert_uint_eq(ci.snd_mss, 1428);
	ck_assert_uint_eq(ai.snd_mss, 1428);
	ck_assert_uint_gt(v6_frames, 2);
	ck_assert_uint_eq(v4_frames, 0);
	ck_assert_uint_eq(bad_frames, 0);
	lb_fini(&w);
}
END_TEST

/* Data both ways over IPv6, then the same with IPv4 beside it: the two
 * families' flows share the table without mixing. */
START_TEST(ipv6_data_both_ways_and_ipv4_beside)
{
	struct lb_world w;
	struct two_streams t;
	struct ftoe_engine_stats st;
	int c, a, c4, a4;

	world(&w, 2);
	ck_assert(app_connect_to(&w, 80, ip6_b, &c, &a));
	ck_assert(app_connect_to(&w, 81, NULL, &c4, &a4));
	memset(&t, 0, sizeof(t));
	t.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 1, .len = 300000 };
	t.s[1] = (struct app_stream){ .tx_side = 1, .stx = a4, .srx = c4, .id = 2, .len = 200000 };
	ck_assert(lb_run(&w, two_step, &t, 10 * SEC));
	ck_assert_uint_eq(t.s[0].bad + t.s[1].bad, 0);
	ck_assert_uint_eq(t.s[0].rcvd, 300000);
	ck_assert_uint_eq(t.s[1].rcvd, 200000);
	ck_assert_uint_gt(v4_frames, 0);
	ck_assert_uint_eq(bad_frames, 0);
	ftoe_engine_get_stats(w.s[1].eng, &st);
	ck_assert_uint_gt(st.rx_fast, 200);	/* the fast path took the IPv6 data */
	ck_assert_uint_eq(st.rx_malformed, 0);
	lb_fini(&w);
}
END_TEST

/* Loss, reordering, duplicates and corruption over IPv6, then FIN both
 * ways and TIME_WAIT (whose table holds the IPv6 key). */
START_TEST(ipv6_faults_and_teardown)
{
	struct lb_world w;
	struct two_streams t;
	struct ftoe_engine_stats st;
	struct lb_faults f = { .drop = 3, .reorder = 5, .dup = 2, .corrupt = 1 };
	int c, a;

	world(&w, 3);
	ck_assert(app_connect_to(&w, 80, ip6_b, &c, &a));
	w.s[0].f = f;
	w.s[1].f = f;
	memset(&t, 0, sizeof(t));
	t.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 3,
				      .len = 1 << 20, .close_after = true };
	t.s[1] = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c, .id = 4,
				      .len = 1 << 20, .close_after = true };
	ck_assert(lb_run(&w, two_step, &t, 600 * SEC));
	ck_assert_uint_eq(t.s[0].bad + t.s[1].bad, 0);
	ck_assert(t.s[0].eof && t.s[1].eof);
	ftoe_engine_get_stats(w.s[0].eng, &st);
	ck_assert_uint_gt(st.retransmits, 0);
	ftoe_sock_close(w.s[0].eng, c);
	ftoe_sock_close(w.s[1].eng, a);
	lb_run(&w, NULL, NULL, 2 * SEC);
	ftoe_engine_get_stats(w.s[0].eng, &st);
	{
		struct ftoe_engine_stats sb;

		ftoe_engine_get_stats(w.s[1].eng, &sb);
		/* both closed at once: a simultaneous close, both in TIME_WAIT */
		ck_assert_uint_ge(st.tw_entered + sb.tw_entered, 1);
	}
	lb_fini(&w);
}
END_TEST

/* A listener takes the families it was given (an AF_INET socket's never
 * sees IPv6 peers; an IPv6-only one never IPv4 peers): the other family's
 * SYN finds no listener. */
START_TEST(ipv6_listener_families)
{
	struct lb_world w;
	int l, c, a;

	world(&w, 4);
	/* app_connect_to accepts on the first listener slot: one at a time */
	l = ftoe_sock_listen(w.s[1].eng, 80, 16);
	ck_assert_int_eq(l, FTOE_SOCK_LISTENER);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l, 0), -EINVAL);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l, 4), -EINVAL);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l + 1, 1), -EBADF);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l, FTOE_LISTEN_V4), 0);
	ck_assert(!app_connect_to(&w, 80, ip6_b, &c, &a));
	ck_assert(app_connect_to(&w, 80, NULL, &c, &a));
	ftoe_sock_close(w.s[1].eng, l);

	l = ftoe_sock_listen(w.s[1].eng, 81, 16);
	ck_assert_int_eq(l, FTOE_SOCK_LISTENER);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l, FTOE_LISTEN_V6), 0);
	ck_assert(!app_connect_to(&w, 81, NULL, &c, &a));
	ck_assert(app_connect_to(&w, 81, ip6_b, &c, &a));
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l,
						   FTOE_LISTEN_V4 | FTOE_LISTEN_V6), 0);
	ck_assert(app_connect_to(&w, 81, NULL, &c, &a));

	/* an IPv4-only and an IPv6-only listener share a port (as Linux's
	 * AF_INET and IPV6_V6ONLY sockets); overlapping families do not */
	ck_assert_int_eq(ftoe_sock_listen_fams(w.s[1].eng, 81, 16, FTOE_LISTEN_V4), -EADDRINUSE);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l, FTOE_LISTEN_V6), 0);
	ck_assert_int_eq(ftoe_sock_listen_fams(w.s[1].eng, 81, 16, FTOE_LISTEN_V6), -EADDRINUSE);
	ck_assert_int_eq(ftoe_sock_listen_fams(w.s[1].eng, 81, 16, 0), -EADDRINUSE);
	ck_assert_int_eq(ftoe_sock_listen_fams(w.s[1].eng, 81, 16, 4), -EINVAL);
	ck_assert_int_ge(ftoe_sock_listen_fams(w.s[1].eng, 81, 16, FTOE_LISTEN_V4), 0);
	ck_assert_int_eq(ftoe_sock_listen_families(w.s[1].eng, l, 0 | FTOE_LISTEN_V4 |
						   FTOE_LISTEN_V6), -EADDRINUSE);
	/* the IPv6 SYN goes to the first (IPv6-only) listener */
	ck_assert(app_connect_to(&w, 81, ip6_b, &c, &a));
	lb_fini(&w);
}
END_TEST

static Suite *engine_ipv6_suite(void)
{
	Suite *s = suite_create("core_engine_ipv6");
	TCase *tc = tcase_create("ipv6");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ipv6_handshake_mss_addresses);
	tcase_add_test(tc, ipv6_data_both_ways_and_ipv4_beside);
	tcase_add_test(tc, ipv6_faults_and_teardown);
	tcase_add_test(tc, ipv6_listener_families);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(engine_ipv6_suite)
