/* twin.c - kernel sockets put, over loopback, into the state an engine socket ends in (a refused connect, a reset, an established connection to disconnect), so that every later call on the fd gets Linux's own answer. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>

#include "lib/posix/internal.h"

/*
 * Why a twin: after tcp_disconnect, a failed connect or a reset, Linux's
 * answers to bind, listen, connect and getsockname depend on the socket's
 * sock->state, its bound port and its pending error, in ways that differ
 * between kernel versions.  Rather than model them, the library lets a
 * kernel socket go through the same events against a scratch socket on
 * 127.0.0.1 and hands the fd over to it.  Needs loopback up; when a step
 * fails the caller falls back to a fresh socket.
 */

/* A scratch socket on 127.0.0.1 with a port of its own, listening or not;
 * *sin gets its address.  Returns the fd or -errno. */
static int scratch(struct sockaddr_in *sin, bool listening)
{
	socklen_t len = sizeof(*sin);
	int fd = px_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	*sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (px_real.bind(fd, (struct sockaddr *)sin, sizeof(*sin)) ||
	    (listening && px_real.listen(fd, 1)) ||
	    px_real.getsockname(fd, (struct sockaddr *)sin, &len)) {
		int err = -errno;

		px_real.close(fd);
		return err;
	}
	return fd;
}

/* Wait (up to 100 ms) until k reports what the loopback peer did. */
static void settle(int k, short ev)
{
	struct pollfd p = { .fd = k, .events = ev };

	px_real.ppoll(&p, 1, &(struct timespec){ .tv_nsec = 100000000 }, NULL);
}

int px_twin_refused(int k, bool blocking)
{
	struct sockaddr_in sin;
	int sc = scratch(&sin, false), r, fl;

	if (sc < 0)
		return sc;
	fl = px_real.fcntl(k, F_GETFL);
	if (blocking)
		px_real.fcntl(k, F_SETFL, fl & ~O_NONBLOCK);
	else
		px_real.fcntl(k, F_SETFL, fl | O_NONBLOCK);
	r = px_real.connect(k, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
	if (!blocking && r == EINPROGRESS) {
		settle(k, POLLOUT);
		r = ECONNREFUSED;	/* left pending in k, as in the engine socket */
	}
	px_real.fcntl(k, F_SETFL, fl);
	px_real.close(sc);
	return r == ECONNREFUSED ? 0 : -EPROTO;
}

/* The loopback peer c sends data (what the engine socket held unread)
 * before its FIN: k then has it readable, as the engine socket had.  c's
 * send buffer takes it all, so that no write waits for k to read. */
static void send_unread(int c, const uint8_t *data, size_t len)
{
	int sb = (int)(len < (1u << 20) ? 2 * len + 65536 : 4u << 20);

	px_real.setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	while (len) {
		ssize_t w = px_real.write(c, data, len);

		if (w <= 0 && !(w < 0 && errno == EINTR))
			return;	/* k gets less: later reads differ from Linux */
		if (w > 0) {
			data += w;
			len -= (size_t)w;
		}
	}
}

/* Wait (up to 100 ms) until k has the peer's FIN, behind whatever data
 * the peer sent first. */
static void settle_fin(int k)
{
	int64_t until = px_now_ns() + 100000000;

	for (;;) {
		struct pollfd p = { .fd = k, .events = POLLRDHUP };
		int64_t left = until - px_now_ns();

		if (left <= 0)
			return;
		if (px_real.ppoll(&p, 1, &(struct timespec){ 0, left }, NULL) > 0 &&
		    (p.revents & (POLLRDHUP | POLLERR | POLLHUP)))
			return;
	}
}

int px_twin_connected(int k, int how, const void *unread, size_t len)
{
	struct sockaddr_in sin;
	int sc = scratch(&sin, true), c, fl, err = 0;

	if (sc < 0)
		return sc;
	fl = px_real.fcntl(k, F_GETFL);
	px_real.fcntl(k, F_SETFL, fl & ~O_NONBLOCK);
	if (px_real.connect(k, (struct sockaddr *)&sin, sizeof(sin)))
		err = -errno;
	px_real.fcntl(k, F_SETFL, fl);
	c = err ? -1 : px_real.accept4(sc, NULL, NULL, SOCK_CLOEXEC);
	px_real.close(sc);
	if (err)
		return err;
	if (c < 0)
		return -errno;
	if (how == TWIN_FINISHED) {
		/* both FINs, ours first: k ends in TIME_WAIT, that is
		 * TCP_CLOSE for a full socket */
		px_real.shutdown(k, SHUT_WR);
		settle(c, POLLIN);
		if (len)
			send_unread(c, unread, len);
		px_real.close(c);
		settle_fin(k);
		return 0;
	}
	if (how == TWIN_RESET) {
		/* the peer's RST: k is left as tcp_reset leaves a socket */
		struct linger lg = { 1, 0 };

		px_real.setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		px_real.close(c);
		settle(k, POLLIN);
		return 0;
	}
	return c;	/* the caller closes it once k is done with it */
}

int px_twin_connect_check(int k)
{
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin;
	int sc, r;

	/* sock->state first (EISCONN, EALREADY, a pending error, EINVAL):
	 * an AF_INET6 address reaches tcp_v4_connect, which refuses it,
	 * only from SS_UNCONNECTED */
	if (px_real.connect(k, (struct sockaddr *)&v6, sizeof(v6)) == 0)
		return -EISCONN;
	if (errno != EAFNOSUPPORT)
		return -errno;
	/* then what tcp_v4_connect itself refuses in this state (a
	 * disconnected listener's port): try a closed loopback port.  The
	 * attempt's own failure is of no account: the fd moves to the
	 * engine right after. */
	sc = scratch(&sin, false);
	if (sc < 0)
		return 0;
	r = px_real.connect(k, (struct sockaddr *)&sin, sizeof(sin)) ? errno : 0;
	px_real.close(sc);
	return r == EINVAL || r == EADDRNOTAVAIL || r == EADDRINUSE ? -r : 0;
}
