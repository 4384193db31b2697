/* test_opts.c - libflextoe-posix's option table: Linux's validation and read-back values, what the engine cannot honour, the options it answers itself. */
#include <linux/tcp.h>

#include "tests/unit/lib/posix/sim_ctx.h"
#include "tests/unit/test.h"

static int get_int(uint32_t s, int level, int name, int *v)
{
	socklen_t len = sizeof(*v);
	int r;

	px_lock();
	r = px_getsockopt(-1, s, level, name, v, &len);
	px_unlock();
	return r;
}

START_TEST(opts_table_lookup)
{
	ck_assert_int_ge(px_opt_index(SOL_SOCKET, SO_REUSEADDR), 0);
	ck_assert_int_ge(px_opt_index(IPPROTO_TCP, TCP_NODELAY), 0);
	ck_assert_int_eq(px_opt_index(SOL_SOCKET, 66 /* SO_RCVTIMEO_NEW */),
			 px_opt_index(SOL_SOCKET, SO_RCVTIMEO));
	ck_assert_int_eq(px_opt_index(SOL_SOCKET, SO_BROADCAST), -1);
}
END_TEST

START_TEST(opts_linux_values)
{
	struct timeval tv = { 1, 500000 }, got;
	socklen_t len = sizeof(got);
	int v;

	sim_ctx_up(16, 4096);
	sim_sock(2, PK_CONN);
	/* defaults are a fresh Linux socket's */
	ck_assert_int_eq(get_int(2, IPPROTO_TCP, TCP_NODELAY, &v), 0);
	ck_assert_int_eq(v, 0);
	v = 65536;
	ck_assert_int_eq(px_setsockopt(2, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)), 0);
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_RCVBUF, &v), 0);
	ck_assert_int_eq(v, 131072);	/* Linux doubles it */
	v = 1;
	ck_assert_int_eq(px_setsockopt(2, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)), 0);
	ck_assert_int_eq(get_int(2, IPPROTO_TCP, TCP_NODELAY, &v), 0);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(px_setsockopt(2, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	px_lock();
	ck_assert_int_eq(px_getsockopt(-1, 2, SOL_SOCKET, SO_RCVTIMEO, &got, &len), 0);
	px_unlock();
	ck_assert(got.tv_sec == 1 && got.tv_usec == 500000);
	got = px_opt_timeo(&px.sh->socks[2].opts, false);
	ck_assert(got.tv_sec == 1 && got.tv_usec == 500000);
	/* a short int is truncated on read, as Linux does */
	{
		char c = 0x55;
		socklen_t l1 = 1;

		px_lock();
		ck_assert_int_eq(px_getsockopt(-1, 2, IPPROTO_TCP, TCP_NODELAY, &c, &l1), 0);
		px_unlock();
		ck_assert_int_eq(l1, 1);
		ck_assert_int_eq(c, 1);
	}
}
END_TEST

START_TEST(opts_errors)
{
	int v = 0;

	sim_ctx_up(16, 4096);
	sim_sock(2, PK_CONN);
	ck_assert_int_eq(px_setsockopt(2, SOL_SOCKET, SO_RCVBUF, &v, 2), -EINVAL);
	ck_assert_int_eq(px_setsockopt(2, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)), -EINVAL);
	ck_assert_int_eq(px_setsockopt(2, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), -ENOPROTOOPT);
	ck_assert_int_eq(px_setsockopt(2, 9999, 1, &v, sizeof(v)), -ENOPROTOOPT);
	/* the engine cannot honour these: refused, never ignored */
	v = 5000;
	ck_assert_int_eq(px_setsockopt(2, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)),
			 -ENOPROTOOPT);
	v = 0;
	ck_assert_int_eq(px_setsockopt(2, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)), 0);
	/* TCP_MAXSEG is checked and kept as Linux does (read back before a
	 * connection; the engine negotiates its own MSS) */
	v = 10;
	ck_assert_int_eq(px_setsockopt(2, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), -EINVAL);
	sim_sock(3, PK_LISTEN);
	v = 1000;
	ck_assert_int_eq(px_setsockopt(3, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), 0);
	ck_assert_int_eq(get_int(3, IPPROTO_TCP, TCP_MAXSEG, &v), 0);
	ck_assert_int_eq(v, 1000);
	v = 3;
	ck_assert_int_eq(px_setsockopt(3, SOL_SOCKET, SO_PRIORITY, &v, sizeof(v)), 0);
	v = 0;
	ck_assert_int_eq(get_int(3, SOL_SOCKET, SO_PRIORITY, &v), 0);
	ck_assert_int_eq(v, 3);
	v = 1;
	ck_assert_int_eq(px_setsockopt(2, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v)), -ENOPROTOOPT);
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_BROADCAST, &v), -ENOPROTOOPT);
}
END_TEST

START_TEST(opts_answered_by_library)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int v;

	sim_ctx_up(16, 4096);
	sim_sock(2, PK_CONN);
	sim_sock(3, PK_LISTEN);
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_TYPE, &v), 0);
	ck_assert_int_eq(v, SOCK_STREAM);
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_DOMAIN, &v), 0);
	ck_assert_int_eq(v, AF_INET);
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_ACCEPTCONN, &v), 0);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(get_int(3, SOL_SOCKET, SO_ACCEPTCONN, &v), 0);
	ck_assert_int_eq(v, 1);
	/* SO_ERROR reports the connection's error once */
	px_ssock(2)->flags |= APPIF_SF_ERROR;
	px_ssock(2)->err = -ECONNREFUSED;
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_ERROR, &v), 0);
	ck_assert_int_eq(v, ECONNREFUSED);
	ck_assert_int_eq(get_int(2, SOL_SOCKET, SO_ERROR, &v), 0);
	ck_assert_int_eq(v, 0);
	/* a listener's TCP_INFO: LISTEN, its queue */
	px_lock();
	px.sh->socks[3].backlog = 7;
	ck_assert_int_eq(px_getsockopt(-1, 3, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	px_unlock();
	ck_assert_int_eq(ti.tcpi_state, 10);
	ck_assert_int_eq(ti.tcpi_sacked, 7);
}
END_TEST

static Suite *posix_opts_suite(void)
{
	Suite *s = suite_create("posix_opts");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, opts_table_lookup);
	tcase_add_test(tc, opts_linux_values);
	tcase_add_test(tc, opts_errors);
	tcase_add_test(tc, opts_answered_by_library);
	suite_add_tcase(s, tc);
	return s;
}
FTOE_TEST_SUITE(posix_opts_suite)
