/* test_fdtab.c - libflextoe-posix's fd table against a simulated engine context: references from dup, close and fork, the last one closes (or with SO_LINGER 0 resets) the connection, a closing listener refuses what it did not accept, dup'ed kernel sockets share their state; and the loopback twins (twin.c). */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/lib/posix/sim_ctx.h"
#include "tests/unit/test.h"

/* The ops of the commands queued since the last call, in order. */
static int cmds(uint16_t *ops, int max)
{
	struct appif_cmd c;
	int n = 0;

	while (n < max && sim_cmd_next(&c))
		ops[n++] = c.op;
	return n;
}

START_TEST(fdtab_last_close_closes)
{
	uint16_t ops[8];
	int fd, d;

	sim_ctx_up(16, 4096);
	fd = sim_sock(3, PK_CONN);
	ck_assert_int_eq(px_sock_of(fd), 3);
	d = px_real.dup(fd);
	px_lock();
	px_fd_attach(d, 3);
	ck_assert_uint_eq(px.sh->socks[3].refs, 2);
	px_fd_detach(fd);
	px_unlock();
	ck_assert_int_eq(px_sock_of(fd), -1);
	ck_assert_int_eq(cmds(ops, 8), 0);	/* a dup still refers to it */
	ck_assert_int_eq(px.sh->socks[3].kind, PK_CONN);
	px_lock();
	px_fd_detach(d);
	px_unlock();
	ck_assert_int_eq(cmds(ops, 8), 1);
	ck_assert_uint_eq(ops[0], APPIF_OP_CLOSE);
	ck_assert_int_eq(px.sh->socks[3].kind, PK_FREE);
}
END_TEST

START_TEST(fdtab_linger_zero_resets)
{
	struct linger lg = { 1, 0 };
	uint16_t ops[8];
	int fd;

	sim_ctx_up(16, 4096);
	fd = sim_sock(2, PK_CONN);
	ck_assert_int_eq(px_setsockopt(2, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	px_lock();
	px_fd_detach(fd);
	px_unlock();
	ck_assert_int_eq(cmds(ops, 8), 1);
	ck_assert_uint_eq(ops[0], APPIF_OP_ABORT);
}
END_TEST

START_TEST(fdtab_listener_close_refuses_queue)
{
	uint16_t ops[8];
	int l;

	sim_ctx_up(16, 4096);
	l = sim_sock(1, PK_LISTEN);
	/* two connections the engine accepted, not yet the application */
	sim_post(APPIF_EV_ACCEPT, (1u << 16) | 5, 4000, px.sh->socks[1].handle, 0x0a000002);
	sim_post(APPIF_EV_ACCEPT, (1u << 16) | 6, 4001, px.sh->socks[1].handle, 0x0a000002);
	px_lock();
	px_pump();
	ck_assert_uint_eq(px.sh->socks[1].aq_len, 2);
	ck_assert_int_eq(px.sh->socks[5].kind, PK_PREACC);
	ck_assert_uint_eq(px_sock_revents(1) & POLLIN, POLLIN);
	px_fd_detach(l);
	px_unlock();
	ck_assert_int_eq(cmds(ops, 8), 3);
	ck_assert_uint_eq(ops[0], APPIF_OP_ABORT);
	ck_assert_uint_eq(ops[1], APPIF_OP_ABORT);
	ck_assert_uint_eq(ops[2], APPIF_OP_CLOSE);
}
END_TEST

/* An accept event for a listener the application closed: refused. */
START_TEST(fdtab_accept_for_closed_listener)
{
	uint16_t ops[8];

	sim_ctx_up(16, 4096);
	sim_post(APPIF_EV_ACCEPT, (1u << 16) | 5, 4000, (1u << 16) | 9, 0x0a000002);
	px_lock();
	px_pump();
	px_unlock();
	ck_assert_int_eq(cmds(ops, 8), 1);
	ck_assert_uint_eq(ops[0], APPIF_OP_ABORT);
}
END_TEST

/* fork: the child's references come with it; the parent's close leaves
 * the connection to the child, the child's exit ends it. */
/* Closing first holds the port in TIME_WAIT for bind (unless both sockets
 * have SO_REUSEADDR); a passive close or a reset does not. */
START_TEST(fdtab_time_wait_ports)
{
	struct px_opts plain, reuse;
	int one = 1, fd, i = px_opt_index(SOL_SOCKET, SO_REUSEADDR);

	sim_ctx_up(16, 4096);
	px_opts_default(&plain);
	reuse = plain;
	memcpy(reuse.val[i], &one, sizeof(one));
	reuse.len[i] = sizeof(one);
	/* active close: the peer's FIN not yet in */
	fd = sim_sock(1, PK_CONN);
	px.sh->socks[1].local_port = htons(4001);
	px_lock();
	px_fd_detach(fd);
	ck_assert(px_tw_busy(htons(4001), &plain));
	ck_assert(px_tw_busy(htons(4001), &reuse));	/* the closed one had no SO_REUSEADDR */
	ck_assert(!px_tw_busy(htons(4002), &plain));
	px_unlock();
	/* passive close: the peer's FIN came first, ours later (LAST_ACK) */
	fd = sim_sock(2, PK_CONN);
	px.sh->socks[2].local_port = htons(4002);
	px_ssock(2)->flags |= APPIF_SF_EOF;
	px_lock();
	px_fd_detach(fd);
	ck_assert(!px_tw_busy(htons(4002), &plain));
	px_unlock();
	/* reset: no TIME_WAIT */
	fd = sim_sock(3, PK_CONN);
	px.sh->socks[3].local_port = htons(4003);
	px_ssock(3)->flags |= APPIF_SF_ERROR;
	px_lock();
	px_fd_detach(fd);
	ck_assert(!px_tw_busy(htons(4003), &plain));
	px_unlock();
	/* both with SO_REUSEADDR may share */
	fd = sim_sock(4, PK_CONN);
	px.sh->socks[4].local_port = htons(4004);
	px.sh->socks[4].opts = reuse;
	px_lock();
	px_fd_detach(fd);
	ck_assert(px_tw_busy(htons(4004), &plain));
	ck_assert(!px_tw_busy(htons(4004), &reuse));
	px_unlock();
}
END_TEST

START_TEST(fdtab_fork_references)
{
	uint16_t ops[8];
	int fd, st;
	pid_t pid;

	sim_ctx_up(16, 4096);
	fd = sim_sock(4, PK_CONN);
	pid = px_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* the child waits for the parent's close, then exits */
		usleep(100000);
		px_exit_release();
		_exit(0);
	}
	px_lock();
	ck_assert_uint_eq(px.sh->socks[4].refs, 2);
	px_fd_detach(fd);
	px_unlock();
	ck_assert_int_eq(cmds(ops, 8), 0);
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && !WEXITSTATUS(st));
	ck_assert_uint_eq(px.sh->socks[4].refs, 0);
	ck_assert_int_eq(cmds(ops, 8), 1);
	ck_assert_uint_eq(ops[0], APPIF_OP_CLOSE);
}
END_TEST

/* A child killed before it could close (SIGKILL): the reaper gives its
 * references back, so the parent's close ends the connection after all. */
START_TEST(fdtab_reap_killed_child)
{
	uint16_t ops[8];
	int fd, st;
	pid_t pid;

	sim_ctx_up(16, 4096);
	fd = sim_sock(4, PK_CONN);
	pid = px_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		pause();
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	px_lock();
	px_fd_detach(fd);
	ck_assert_uint_eq(px.sh->socks[4].refs, 1);	/* the dead child's */
	ck_assert_int_eq(cmds(ops, 8), 0);
	px_reap();
	px_unlock();
	ck_assert_uint_eq(px.sh->socks[4].refs, 0);
	ck_assert_int_eq(cmds(ops, 8), 1);
	ck_assert_uint_eq(ops[0], APPIF_OP_CLOSE);
}
END_TEST

/* A live child keeps its references through the reaper. */
START_TEST(fdtab_reap_keeps_live_child)
{
	int fd, st;
	pid_t pid;

	sim_ctx_up(16, 4096);
	fd = sim_sock(4, PK_CONN);
	pid = px_fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		pause();
	px_lock();
	px_fd_detach(fd);
	px_reap();
	ck_assert_uint_eq(px.sh->socks[4].refs, 1);
	ck_assert_int_eq(px.sh->socks[4].kind, PK_CONN);
	px_unlock();
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}
END_TEST

/* exec: close-on-exec fds let go, the others keep their reference. */
START_TEST(fdtab_exec_drops_cloexec)
{
	int a, b;

	sim_ctx_up(16, 4096);
	a = sim_sock(2, PK_CONN);
	b = sim_sock(3, PK_CONN);
	px_real.fcntl(a, F_SETFD, FD_CLOEXEC);
	px_real.fcntl(b, F_SETFD, 0);
	px_exec_prepare();
	ck_assert_uint_eq(px.sh->socks[2].refs, 0);
	ck_assert_int_eq(px.sh->socks[2].kind, PK_FREE);
	ck_assert_uint_eq(px.sh->socks[3].refs, 1);
}
END_TEST

START_TEST(fdtab_dups_share_kernel_socket)
{
	int fd, d, other, peers[4];

	sim_ctx_up(16, 4096);
	fd = px_socket(AF_INET, SOCK_STREAM, 0);
	other = px_socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(other, 0);
	d = px_real.dup(fd);
	px_cand_dup(fd, d);
	ck_assert_int_eq(px_fd(d)->kind, FD_CAND);
	/* the dup, not the other socket, is fd's peer */
	ck_assert_int_eq(px_fd_peers(fd, peers, 4), 1);
	ck_assert_int_eq(peers[0], d);
	ck_assert_int_eq(px_fd_peers(other, peers, 4), 0);
	/* what one fd learns (a bind to the engine's address), the dup knows */
	px_fd(fd)->bound_engine = 1;
	px_fd(fd)->bound_port = htons(4242);
	px_cand_sync(fd);
	ck_assert_int_eq(px_fd(d)->bound_engine, 1);
	ck_assert_uint_eq(px_fd(d)->bound_port, htons(4242));
	ck_assert_int_eq(px_fd(other)->bound_engine, 0);
	/* a closed fd is nobody's peer */
	px_fd_forget(d);
	px_real.close(d);
	ck_assert_int_eq(px_fd_peers(fd, peers, 4), 0);
}
END_TEST

START_TEST(fdtab_engine_fd_peers)
{
	int fd, d, peers[4];

	sim_ctx_up(16, 4096);
	fd = sim_sock(5, PK_CONN);
	d = px_real.dup(fd);
	px_lock();
	px_fd_attach(d, 5);
	px_unlock();
	ck_assert_int_eq(px_fd_peers(fd, peers, 4), 1);
	ck_assert_int_eq(peers[0], d);
}
END_TEST

static int sock_error(int fd)
{
	int e = -1;
	socklen_t l = sizeof(e);

	ck_assert_int_eq(px_real.getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l), 0);
	return e;
}

static int peer_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t l = sizeof(sin);

	return px_real.getpeername(fd, (struct sockaddr *)&sin, &l) ? errno : 0;
}

START_TEST(twin_refused)
{
	int k;

	px_real_init();
	/* blocking: connect(2) returned the error, nothing stays pending */
	k = px_real.socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(px_twin_refused(k, true), 0);
	ck_assert_int_eq(sock_error(k), 0);
	ck_assert_int_eq(peer_of(k), ENOTCONN);
	ck_assert_int_eq(px_real.fcntl(k, F_GETFL) & O_NONBLOCK, 0);	/* mode kept */
	px_real.close(k);
	/* non-blocking: ECONNREFUSED waits in SO_ERROR, as in the engine socket */
	k = px_real.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ck_assert_int_eq(px_twin_refused(k, false), 0);
	ck_assert_int_eq(sock_error(k), ECONNREFUSED);
	ck_assert_int_ne(px_real.fcntl(k, F_GETFL) & O_NONBLOCK, 0);
	px_real.close(k);
}
END_TEST

START_TEST(twin_connected_reset_finished)
{
	char b;
	int k, c;

	px_real_init();
	k = px_real.socket(AF_INET, SOCK_STREAM, 0);
	c = px_twin_connected(k, TWIN_OPEN, NULL, 0);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(peer_of(k), 0);	/* established */
	px_real.close(c);
	px_real.close(k);

	k = px_real.socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(px_twin_connected(k, TWIN_RESET, NULL, 0), 0);
	ck_assert_int_eq(sock_error(k), ECONNRESET);
	px_real.close(k);

	k = px_real.socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(px_twin_connected(k, TWIN_FINISHED, NULL, 0), 0);
	ck_assert_int_eq(sock_error(k), 0);
	ck_assert_int_eq(px_real.recvfrom(k, &b, 1, MSG_DONTWAIT, NULL, NULL), 0);	/* the peer's FIN */
	ck_assert_int_eq(peer_of(k), ENOTCONN);	/* TIME_WAIT: TCP_CLOSE */
	px_real.close(k);
}
END_TEST

/* A connection closed both ways with unread data: the twin has the data
 * readable before the end, and is in TCP_CLOSE all the same (bind works). */
START_TEST(twin_finished_keeps_unread)
{
	static char data[70000], got[70000];
	struct sockaddr_in any = { .sin_family = AF_INET };
	size_t n = 0;
	ssize_t r;
	int k;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	px_real_init();
	k = px_real.socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(px_twin_connected(k, TWIN_FINISHED, data, sizeof(data)), 0);
	ck_assert_int_eq(peer_of(k), ENOTCONN);	/* TIME_WAIT: TCP_CLOSE */
	ck_assert_int_eq(px_real.bind(k, (struct sockaddr *)&any, sizeof(any)), 0);
	while ((r = px_real.recvfrom(k, got + n, sizeof(got) - n, MSG_DONTWAIT, NULL, NULL)) > 0)
		n += (size_t)r;
	ck_assert_int_eq(r, 0);	/* then the peer's FIN */
	ck_assert_uint_eq(n, sizeof(data));
	ck_assert(!memcmp(got, data, sizeof(data)));
	px_real.close(k);
}
END_TEST

static Suite *posix_fdtab_suite(void)
{
	Suite *s = suite_create("posix_fdtab");
	TCase *tc = tcase_create("simulated_engine");

	tcase_add_test(tc, fdtab_last_close_closes);
	tcase_add_test(tc, fdtab_linger_zero_resets);
	tcase_add_test(tc, twin_finished_keeps_unread);
	tcase_add_test(tc, fdtab_listener_close_refuses_queue);
	tcase_add_test(tc, fdtab_accept_for_closed_listener);
	tcase_add_test(tc, fdtab_time_wait_ports);
	tcase_add_test(tc, fdtab_fork_references);
	tcase_add_test(tc, fdtab_exec_drops_cloexec);
	tcase_add_test(tc, fdtab_reap_killed_child);
	tcase_add_test(tc, fdtab_reap_keeps_live_child);
	tcase_add_test(tc, fdtab_dups_share_kernel_socket);
	tcase_add_test(tc, fdtab_engine_fd_peers);
	tcase_add_test(tc, twin_refused);
	tcase_add_test(tc, twin_connected_reset_finished);
	suite_add_tcase(s, tc);
	return s;
}
FTOE_TEST_SUITE(posix_fdtab_suite)
