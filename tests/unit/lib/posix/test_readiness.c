/* test_readiness.c - libflextoe-posix's poll and epoll emulation against a simulated engine context: readiness from the shared rings, wake-ups from engine events, level and edge triggers, one-shot, mixed with kernel fds. */
#include <sys/eventfd.h>
#include <unistd.h>

#include "tests/unit/lib/posix/sim_ctx.h"
#include "tests/unit/test.h"

START_TEST(revents_by_state)
{
	struct appif_sock *ss;

	sim_ctx_up(16, 4096);
	sim_sock(2, PK_CONN);
	ss = px_ssock(2);
	px_lock();
	ck_assert_uint_eq(px_sock_revents(2), POLLOUT | POLLWRNORM);
	px.sh->socks[2].connecting = 1;
	ss->flags = 0;
	ck_assert_uint_eq(px_sock_revents(2), 0);	/* handshake not done */
	ss->flags = APPIF_SF_CONNECTED;
	ss->tx_head = 4096 - 100;			/* tx ring nearly full */
	ck_assert_uint_eq(px_sock_revents(2) & POLLOUT, 0);
	ss->tx_head = 0;
	ss->rx_head = 10;
	ck_assert_uint_eq(px_sock_revents(2) & (POLLIN | POLLRDHUP), POLLIN);
	ss->flags |= APPIF_SF_EOF;
	ck_assert_uint_eq(px_sock_revents(2) & (POLLIN | POLLRDHUP), POLLIN | POLLRDHUP);
	ss->flags |= APPIF_SF_ERROR;
	ss->err = -ECONNRESET;
	ck_assert_uint_eq(px_sock_revents(2) & (POLLERR | POLLHUP), POLLERR | POLLHUP);
	ck_assert_int_eq(px_sock_err(2, true), -ECONNRESET);
	ck_assert_int_eq(px_sock_err(2, true), 0);	/* reported once */
	ck_assert_uint_eq(px_sock_revents(2) & POLLERR, 0);
	px.sh->dead = 1;
	ck_assert_uint_eq(px_sock_revents(2) & (POLLIN | POLLOUT | POLLHUP),
			  POLLIN | POLLOUT | POLLHUP);
	px_unlock();
}
END_TEST

START_TEST(poll_mixes_engine_and_kernel_fds)
{
	struct pollfd p[2];
	int fd, pp[2];

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	ck_assert_int_eq(pipe(pp), 0);
	p[0] = (struct pollfd){ fd, POLLIN, 0 };
	p[1] = (struct pollfd){ pp[0], POLLIN, 0 };
	ck_assert_int_eq(px_poll(p, 2, 20000000, NULL), 0);	/* 20 ms, nothing */
	sim_rx(3, "abc", 3);
	ck_assert_int_eq(px_poll(p, 2, 1000000000, NULL), 1);
	ck_assert_uint_eq(p[0].revents, POLLIN);
	ck_assert_uint_eq(p[1].revents, 0);
	ck_assert_int_eq(write(pp[1], "x", 1), 1);
	ck_assert_int_eq(px_poll(p, 2, 0, NULL), 2);
	ck_assert_uint_eq(p[1].revents, POLLIN);
}
END_TEST

/* A sleeper wakes when the engine's event arrives while it sleeps. */
static void *late_rx(void *arg)
{
	(void)arg;
	usleep(50000);
	sim_rx(3, "late", 4);
	return NULL;
}

START_TEST(poll_wakes_on_engine_event)
{
	struct pollfd p;
	pthread_t t;
	int fd;

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	p = (struct pollfd){ fd, POLLIN, 0 };
	pthread_create(&t, NULL, late_rx, NULL);
	ck_assert_int_eq(px_poll(&p, 1, 5000000000ll, NULL), 1);
	ck_assert_uint_eq(p.revents, POLLIN);
	pthread_join(t, NULL);
}
END_TEST

START_TEST(select_engine_fd)
{
	fd_set rs, ws;
	int fd;

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(fd, &rs);
	FD_SET(fd, &ws);
	ck_assert_int_eq(px_select(fd + 1, &rs, &ws, NULL, 0, NULL), 1);
	ck_assert(!FD_ISSET(fd, &rs) && FD_ISSET(fd, &ws));
	ck_assert_int_eq(px_select(FD_SETSIZE + 1, &rs, NULL, NULL, 0, NULL), -EINVAL);
}
END_TEST

static int wait_mask(int ep, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = px_epoll_wait(ep, ev, 8, (int64_t)timeout_ms * 1000000, NULL), m = 0;

	for (int i = 0; i < n; i++)
		m |= (int)ev[i].data.u32;
	return m;
}

START_TEST(epoll_level_edge_oneshot)
{
	struct epoll_event ev = { EPOLLIN, { .u32 = 1 } };
	int fd, ep, pp[2];

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	ep = px_epoll_create(0);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), -EEXIST);
	ev.data.u32 = 2;
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev), 0);
	ck_assert_int_eq(wait_mask(ep, 10), 0);
	sim_rx(3, "abc", 3);
	ck_assert_int_eq(wait_mask(ep, 1000), 1);
	ck_assert_int_eq(wait_mask(ep, 0), 1);		/* level: again */
	ck_assert_int_eq(write(pp[1], "x", 1), 1);
	ck_assert_int_eq(wait_mask(ep, 0), 3);		/* with the pipe */
	/* edge: once, then only for new bytes */
	ev = (struct epoll_event){ EPOLLIN | EPOLLET, { .u32 = 1 } };
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
	ck_assert_int_eq(wait_mask(ep, 0) & 1, 1);
	ck_assert_int_eq(wait_mask(ep, 10) & 1, 0);
	sim_rx(3, "d", 1);
	ck_assert_int_eq(wait_mask(ep, 1000) & 1, 1);
	/* one-shot: disabled after one report, re-armed by MOD */
	ev = (struct epoll_event){ EPOLLIN | EPOLLONESHOT, { .u32 = 1 } };
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
	ck_assert_int_eq(wait_mask(ep, 0) & 1, 1);
	ck_assert_int_eq(wait_mask(ep, 0) & 1, 0);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), 0);
	ck_assert_int_eq(wait_mask(ep, 0) & 1, 1);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL), 0);
	ck_assert_int_eq(wait_mask(ep, 0) & 1, 0);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev), -ENOENT);
}
END_TEST

/* EPOLLOUT: not while the tx ring is full; reported when the engine
 * frees space (APPIF_EV_TX) and a waiter asked for it. */
START_TEST(epoll_out_on_tx_space)
{
	struct epoll_event ev = { EPOLLOUT | EPOLLET, { .u32 = 1 } };
	int fd, ep;

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	px_ssock(3)->tx_head = 4096;	/* full */
	ep = px_epoll_create(0);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	ck_assert_int_eq(wait_mask(ep, 10), 0);
	ck_assert_uint_eq(px.sh->socks[3].want_out, 1);
	STORE_REL(&px_ssock(3)->tx_tail, 4096);	/* the engine took it all */
	sim_post(APPIF_EV_TX, px.sh->socks[3].handle, 0, 0, 0);
	ck_assert_int_eq(wait_mask(ep, 1000), 1);
}
END_TEST

/* maxevents 1 with an engine fd and a pipe both ready: each call returns
 * one event (never EINVAL), and the pipe gets its turn. */
START_TEST(epoll_max1_fair)
{
	struct epoll_event ev = { EPOLLIN, { .u32 = 1 } }, out;
	int fd, ep, pp[2], seen = 0;

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	ep = px_epoll_create(0);
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	ev.data.u32 = 2;
	ck_assert_int_eq(px_epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev), 0);
	sim_rx(3, "abc", 3);
	ck_assert_int_eq(write(pp[1], "x", 1), 1);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(px_epoll_wait(ep, &out, 1, 1000000000, NULL), 1);
		seen |= (int)out.data.u32;
	}
	ck_assert_int_eq(seen, 3);
}
END_TEST

static Suite *posix_readiness_suite(void)
{
	Suite *s = suite_create("posix_readiness");
	TCase *tc = tcase_create("simulated_engine");

	tcase_add_test(tc, revents_by_state);
	tcase_add_test(tc, poll_mixes_engine_and_kernel_fds);
	tcase_add_test(tc, poll_wakes_on_engine_event);
	tcase_add_test(tc, select_engine_fd);
	tcase_add_test(tc, epoll_level_edge_oneshot);
	tcase_add_test(tc, epoll_out_on_tx_space);
	tcase_add_test(tc, epoll_max1_fair);
	suite_add_tcase(s, tc);
	return s;
}
FTOE_TEST_SUITE(posix_readiness_suite)
