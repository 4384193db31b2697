/* peer.c - the Linux end of the differential test: an echo server, and a control socket on which a sequence asks it to connect back. */
#include "seq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * The echo side returns every byte it reads, in order, and closes its side
 * after the other end's FIN once all is written back.  Each connection keeps
 * what it could not write yet (up to PEER_BUF) and stops reading while that
 * is full, so a slow reader never blocks the others.
 *
 * The control socket (AF_UNIX, a path, so it crosses network namespaces)
 * takes struct peer_req and answers an int: 0 or -errno of the connect the
 * peer made to that address; the connection then echoes like the others.
 */
#define PEER_MAX 256
#define PEER_PENDING 16
#define CONNECT_TIMEOUT_MS 1500	/* a SYN nobody answers (full backlog): -ETIMEDOUT */
#define PEER_BUF (256 * 1024)

struct peer_req {
	struct in_addr addr;
	uint16_t port;
};

struct pending {		/* a connect back in progress, answered when it ends */
	int ctl, fd;
	long deadline;
};

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answer(int ctl, int st)
{
	if (write(ctl, &st, sizeof(st)) < 0)
		st = 0;	/* the asker gave up: nothing to tell */
	close(ctl);
}

struct pconn {
	int fd;
	char *buf;
	size_t len;
	int eof;
};

static int ctl_listen(const char *path)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&un, sizeof(un)) < 0 || listen(fd, 64) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int tcp_listen(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = addr, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 256) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int connect_back(struct in_addr self, const struct peer_req *rq)
{
	struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr = self };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = rq->addr, .sin_port = htons(rq->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	/* from the peer's own address, so the sequence sees it as the peer */
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0 && errno != EINPROGRESS)) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int add_conn(struct pconn *c, int *n, int fd)
{
	if (*n >= PEER_MAX) {
		close(fd);
		return -EMFILE;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	c[*n] = (struct pconn){ .fd = fd, .buf = malloc(PEER_BUF) };
	if (!c[*n].buf) {
		close(fd);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static void drop_conn(struct pconn *c, int *n, int i)
{
	close(c[i].fd);
	free(c[i].buf);
	c[i] = c[--*n];
}

/* One round of reading and writing on connection i; returns 0, or -1 when it is done. */
static int echo_step(struct pconn *c, short revents)
{
	ssize_t k;

	if ((revents & POLLIN) && !c->eof && c->len < PEER_BUF) {
		k = read(c->fd, c->buf + c->len, PEER_BUF - c->len);
		if (k > 0)
			c->len += (size_t)k;
		else if (k == 0)
			c->eof = 1;
		else if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if (c->len > 0 && (revents & (POLLOUT | POLLIN))) {
		k = write(c->fd, c->buf, c->len);
		if (k > 0) {
			memmove(c->buf, c->buf + k, c->len - (size_t)k);
			c->len -= (size_t)k;
		} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (revents & (POLLERR | POLLHUP) && !(revents & POLLIN))
		return -1;
	if (c->eof && c->len == 0)
		return -1;	/* all echoed: close our side too */
	return 0;
}

int peer_serve(struct in_addr bind_addr, uint16_t port, const char *ctl_path)
{
	static struct pconn conns[PEER_MAX];
	struct pending pend[PEER_PENDING];
	struct pollfd pf[PEER_MAX + PEER_PENDING + 2];
	int nconn = 0, npend = 0, lfd, cfd;

	signal(SIGPIPE, SIG_IGN);
	lfd = tcp_listen(bind_addr, port);
	if (lfd < 0)
		return lfd;
	cfd = ctl_listen(ctl_path);
	if (cfd < 0) {
		close(lfd);
		return cfd;
	}
	for (;;) {
		int np = 2, timeout = -1;
		long now;

		pf[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = npend < PEER_PENDING ? cfd : -1, .events = POLLIN };
		for (int i = 0; i < npend; i++)
			pf[np++] = (struct pollfd){ .fd = pend[i].fd, .events = POLLOUT };
		for (int i = 0; i < nconn; i++)
			pf[np++] = (struct pollfd){ .fd = conns[i].fd,
				.events = (short)((conns[i].eof || conns[i].len >= PEER_BUF ? 0 : POLLIN) |
						  (conns[i].len ? POLLOUT : 0)) };
		if (npend)
			timeout = 20;
		if (poll(pf, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = nconn - 1; i >= 0; i--)
			if (pf[2 + npend + i].revents &&
			    echo_step(&conns[i], pf[2 + npend + i].revents) < 0)
				drop_conn(conns, &nconn, i);
		now = now_ms();
		for (int i = npend - 1; i >= 0; i--) {
			int err = 0;
			socklen_t el = sizeof(err);

			if (pf[2 + i].revents) {
				getsockopt(pend[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					close(pend[i].fd);
					answer(pend[i].ctl, -err);
				} else {
					answer(pend[i].ctl, add_conn(conns, &nconn, pend[i].fd));
				}
			} else if (now >= pend[i].deadline) {
				close(pend[i].fd);
				answer(pend[i].ctl, -ETIMEDOUT);
			} else {
				continue;
			}
			pend[i] = pend[--npend];
		}
		if (pf[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0)
				add_conn(conns, &nconn, fd);
		}
		if (pf[1].revents & POLLIN) {
			struct peer_req rq;
			int fd = accept4(cfd, NULL, NULL, SOCK_CLOEXEC), s;

			if (fd < 0)
				continue;
			if (read(fd, &rq, sizeof(rq)) != (ssize_t)sizeof(rq)) {
				close(fd);
				continue;
			}
			s = connect_back(bind_addr, &rq);
			if (s < 0)
				answer(fd, s);
			else
				pend[npend++] = (struct pending){ fd, s, now_ms() + CONNECT_TIMEOUT_MS };
		}
	}
}

int peer_request_connect(const char *ctl_path, struct in_addr addr, uint16_t port)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct peer_req rq = { .addr = addr, .port = port };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), st = -EIO;
	ssize_t k;

	if (fd < 0)
		return -EIO;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", ctl_path);
	if (connect(fd, (struct sockaddr *)&un, sizeof(un)) == 0 &&
	    write(fd, &rq, sizeof(rq)) == (ssize_t)sizeof(rq)) {
		do	/* the executor's alarm may interrupt the wait */
			k = read(fd, &st, sizeof(st));
		while (k < 0 && errno == EINTR);
		if (k != (ssize_t)sizeof(st))
			st = -EIO;
	}
	close(fd);
	return st;
}
