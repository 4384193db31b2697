/* posix_test.c - posix-test: socket semantics of a program run under flextoe-run against a Linux peer (tests/tools/posix-test/peer.py); one line "ok NAME" or "FAIL NAME: why" per check. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>

/* Ports of peer.py, from BASE: control, echo, closed, silent, closing. */
enum { P_CTL, P_ECHO, P_CLOSED, P_SILENT, P_CLOSER, P_SINK };

static const char *peer_ip;
static int base, lbase;	/* peer's ports; our listeners' ports */
static int failures;

#define CHECK(name, cond, ...)							\
	do {									\
		if (cond) {							\
			printf("ok %s\n", name);				\
		} else {							\
			printf("FAIL %s: ", name);				\
			printf(__VA_ARGS__);					\
			printf(" (errno %s)\n", strerror(errno));		\
			failures++;						\
		}								\
		fflush(stdout);							\
	} while (0)

static struct sockaddr_in addr(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static int dial(int port)
{
	struct sockaddr_in a = addr(peer_ip, base + port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("dial");
		exit(2);
	}
	return fd;
}

static int listener(int port)
{
	struct sockaddr_in a = addr("0.0.0.0", lbase + port);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16)) {
		perror("listener");
		exit(2);
	}
	return fd;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Ask the peer to connect to our port, send msg and return what it read
 * back until EOF (runs on a thread so the caller can accept). */
struct dial_req {
	int port;
	const char *msg;
	bool slow;	/* the peer sends 300 ms after connecting */
	char reply[320];
};

static void *peer_dial(void *arg)
{
	struct dial_req *r = arg;
	int c = dial(P_CTL);
	char buf[300];
	ssize_t n, got = 0;

	dprintf(c, "%s %d %s\n", r->slow ? "dialslow" : "dial", lbase + r->port, r->msg);
	while (got < (ssize_t)sizeof(buf) - 1 && (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0) {
		got += n;
		if (memchr(buf, '\n', (size_t)got))
			break;
	}
	buf[got > 0 ? got : 0] = 0;
	buf[strcspn(buf, "\n")] = 0;
	snprintf(r->reply, sizeof(r->reply), "%s", buf);
	close(c);
	return NULL;
}

static bool echo_roundtrip(int fd, const char *msg)
{
	char buf[256];
	size_t len = strlen(msg), got = 0;

	if (write(fd, msg, len) != (ssize_t)len)
		return false;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return !memcmp(buf, msg, len);
}

/* ---- tests ---------------------------------------------------------------------- */

/* The data.u32 bits of what one epoll_wait reports. */
static unsigned int ep_mask(int ep, int timeout_ms)
{
	struct epoll_event out[8];
	unsigned int seen = 0;
	int n = epoll_wait(ep, out, 8, timeout_ms);

	for (int i = 0; i < n; i++)
		seen |= out[i].data.u32;
	return seen;
}

static void t_epoll_mix(void)
{
	int e = dial(P_ECHO), sp[2], pp[2], tfd, ep = epoll_create1(0), n;
	struct itimerspec its = { .it_value = { 0, 50000000 } };
	struct epoll_event ev, out[8];
	unsigned int seen = 0;
	double t0;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	if (pipe(pp))
		exit(2);
	tfd = timerfd_create(CLOCK_MONOTONIC, 0);
	ev.events = EPOLLIN;
	ev.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, sp[0], &ev);
	ev.data.u32 = 4;
	epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &ev);
	ev.data.u32 = 8;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	n = epoll_wait(ep, out, 8, 50);
	CHECK("epoll_mix_idle", n == 0, "epoll_wait on idle fds returned %d", n);
	if (write(e, "ping", 4) != 4 || write(sp[1], "x", 1) != 1 || write(pp[1], "y", 1) != 1)
		exit(2);
	timerfd_settime(tfd, 0, &its, NULL);
	t0 = now();
	while (seen != 15 && now() - t0 < 3) {
		n = epoll_wait(ep, out, 8, 1000);
		for (int i = 0; i < n; i++)
			seen |= out[i].data.u32;
	}
	CHECK("epoll_mix_all_four", seen == 15, "saw mask %#x of 0xf", seen);
	{
		char b[8];
		uint64_t ticks;

		/* only the engine fd stays readable */
		if (read(sp[0], b, 1) != 1 || read(pp[0], b, 1) != 1 ||
		    read(tfd, &ticks, sizeof(ticks)) != sizeof(ticks))
			exit(2);
	}
	/* level-triggered: still readable, reported again */
	seen = ep_mask(ep, 0);
	CHECK("epoll_lt_repeats", seen & 1, "engine fd not reported again (mask %#x)", seen);
	/* edge-triggered: once per arrival */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev);
	seen = ep_mask(ep, 0);
	CHECK("epoll_et_first", seen & 1, "MOD to ET did not report the ready fd");
	seen = ep_mask(ep, 100);
	CHECK("epoll_et_no_repeat", !(seen & 1), "ET reported the same data twice");
	{
		char b[16];

		if (read(e, b, sizeof(b)) != 4 || write(e, "pong", 4) != 4)
			exit(2);
	}
	t0 = now();
	seen = 0;
	while (!(seen & 1) && now() - t0 < 2) {
		n = epoll_wait(ep, out, 8, 2000);
		for (int i = 0; i < n; i++)
			seen |= out[i].data.u32;
	}
	CHECK("epoll_et_new_data", seen & 1, "ET did not report new data");
	/* one-shot: reported once, then disabled until MOD */
	ev.events = EPOLLIN | EPOLLONESHOT;
	epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev);
	seen = ep_mask(ep, 0);
	CHECK("epoll_oneshot_fires", seen & 1, "ONESHOT did not fire");
	seen = ep_mask(ep, 50);
	CHECK("epoll_oneshot_disabled", !(seen & 1), "ONESHOT fired twice");
	epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev);
	seen = ep_mask(ep, 0);
	CHECK("epoll_oneshot_rearm", seen & 1, "MOD did not re-arm ONESHOT");
	CHECK("epoll_ctl_add_twice", epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == -1 && errno == EEXIST,
	      "second ADD did not fail with EEXIST");
	/* EPOLLRDHUP when the peer closes */
	ev.events = EPOLLIN | EPOLLRDHUP;
	epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev);
	shutdown(e, SHUT_WR);	/* the echo peer closes after our FIN */
	t0 = now();
	seen = 0;
	while (now() - t0 < 3 && !(seen & EPOLLRDHUP)) {
		n = epoll_wait(ep, out, 8, 1000);
		for (int i = 0; i < n; i++)
			if (out[i].data.u32 == 1)
				seen |= out[i].events;
	}
	CHECK("epoll_rdhup", seen & EPOLLRDHUP, "no EPOLLRDHUP after the peer's FIN (events %#x)",
	      seen);
	close(e);
	close(sp[0]);
	close(sp[1]);
	close(pp[0]);
	close(pp[1]);
	close(tfd);
	close(ep);
}

static void t_fdsetsize(void)
{
	int e = dial(P_ECHO), hi = FD_SETSIZE - 1, r;
	struct pollfd p;
	fd_set rs;
	struct timeval tv = { 2, 0 };

	CHECK("dup2_to_fd_setsize_minus_1", dup2(e, hi) == hi, "dup2 to %d failed", hi);
	close(e);
	if (write(hi, "abc", 3) != 3)
		exit(2);
	FD_ZERO(&rs);
	FD_SET(hi, &rs);
	r = select(hi + 1, &rs, NULL, NULL, &tv);
	CHECK("select_high_fd", r == 1 && FD_ISSET(hi, &rs), "select returned %d", r);
	p = (struct pollfd){ hi, POLLIN, 0 };
	r = poll(&p, 1, 2000);
	CHECK("poll_high_fd", r == 1 && (p.revents & POLLIN), "poll returned %d (%#x)", r,
	      p.revents);
	{
		char b[8];

		CHECK("read_high_fd", read(hi, b, sizeof(b)) == 3 && !memcmp(b, "abc", 3),
		      "bad echo");
	}
	r = socket(AF_INET, SOCK_STREAM, 0);
	CHECK("fd_numbers_reused_low", r >= 0 && r < hi, "new socket got %d", r);
	close(r);
	close(hi);
}

struct acc_arg {
	int lfd, cfd;
	char got[64];
};

static void *acceptor(void *arg)
{
	struct acc_arg *a = arg;
	ssize_t n;

	a->cfd = accept(a->lfd, NULL, NULL);
	if (a->cfd < 0)
		return NULL;
	n = read(a->cfd, a->got, sizeof(a->got) - 1);
	a->got[n > 0 ? n : 0] = 0;
	if (n > 0 && write(a->cfd, "thread-reply", 12) != 12)
		a->got[0] = 0;
	close(a->cfd);
	return NULL;
}

static void t_accept_thread(void)
{
	struct acc_arg a = { .lfd = listener(2), .cfd = -1 };
	struct dial_req d = { .port = 2, .msg = "from-peer" };
	pthread_t ta, td;

	pthread_create(&ta, NULL, acceptor, &a);
	usleep(100000);	/* the acceptor blocks first */
	pthread_create(&td, NULL, peer_dial, &d);
	pthread_join(ta, NULL);
	pthread_join(td, NULL);
	CHECK("accept_in_other_thread", a.cfd >= 0 && !strcmp(a.got, "from-peer") &&
	      !strcmp(d.reply, "done thread-reply"), "got '%s', peer '%s'", a.got, d.reply);
	close(a.lfd);
}

static void t_loopback_listener(void)
{
	int l = listener(3), c = socket(AF_INET, SOCK_STREAM, 0), s;
	struct sockaddr_in lo = addr("127.0.0.1", lbase + 3), pa;
	socklen_t len = sizeof(pa);
	char b[8];

	CHECK("loopback_connect", !connect(c, (struct sockaddr *)&lo, sizeof(lo)),
	      "connect to 127.0.0.1 failed");
	s = accept(l, (struct sockaddr *)&pa, &len);
	CHECK("loopback_accept_same_listener", s >= 0 && pa.sin_addr.s_addr == htonl(0x7f000001),
	      "accept got %d", s);
	if (write(c, "lo", 2) != 2)
		exit(2);
	CHECK("loopback_data", read(s, b, sizeof(b)) == 2, "no data over loopback");
	close(s);
	close(c);
	close(l);
}

static void t_nonblocking_connect(void)
{
	struct sockaddr_in a = addr(peer_ip, base + P_ECHO);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), r, err = -1;
	socklen_t len = sizeof(err);
	struct pollfd p;

	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	CHECK("nb_connect_einprogress", r == -1 && errno == EINPROGRESS, "connect returned %d", r);
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	CHECK("nb_connect_again", (r == -1 && (errno == EALREADY || errno == EISCONN)) || r == 0,
	      "second connect returned %d", r);
	p = (struct pollfd){ fd, POLLOUT, 0 };
	r = poll(&p, 1, 3000);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	CHECK("nb_connect_pollout_so_error_0", r == 1 && (p.revents & POLLOUT) && err == 0,
	      "poll %d revents %#x SO_ERROR %d", r, p.revents, err);
	close(fd);

	a = addr(peer_ip, base + P_CLOSED);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	p = (struct pollfd){ fd, POLLOUT, 0 };
	poll(&p, 1, 3000);
	err = 0;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	CHECK("nb_connect_refused_so_error", r == -1 && err == ECONNREFUSED,
	      "SO_ERROR %d (revents %#x)", err, p.revents);
	close(fd);

	fd = socket(AF_INET, SOCK_STREAM, 0);
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	CHECK("blocking_connect_refused", r == -1 && errno == ECONNREFUSED, "connect returned %d",
	      r);
	close(fd);
}

static void t_dup2_stdin(void)
{
	int e = dial(P_ECHO), saved = dup(0), d;
	char b[8];

	CHECK("dup2_over_stdin", dup2(e, 0) == 0, "dup2 failed");
	close(e);	/* fd 0 keeps the connection */
	CHECK("stdin_write_read", write(0, "in0", 3) == 3 && read(0, b, sizeof(b)) == 3 &&
	      !memcmp(b, "in0", 3), "no echo through fd 0");
	d = dup(0);
	close(0);
	CHECK("dup_survives_close", echo_roundtrip(d, "dup"), "the dup lost the connection");
	{
		int hi = fcntl(d, F_DUPFD_CLOEXEC, 200);

		CHECK("f_dupfd_cloexec", hi >= 200 && (fcntl(hi, F_GETFD) & FD_CLOEXEC),
		      "F_DUPFD_CLOEXEC gave %d", hi);
		CHECK("close_range_drops_one_ref", !close_range(hi, hi + 10, 0) &&
		      fcntl(hi, F_GETFD) == -1 && echo_roundtrip(d, "cr"),
		      "close_range closed the connection");
		CHECK("close_range_cloexec", !close_range(d, d, CLOSE_RANGE_CLOEXEC) &&
		      (fcntl(d, F_GETFD) & FD_CLOEXEC) && echo_roundtrip(d, "cx"),
		      "CLOSE_RANGE_CLOEXEC");
	}
	close(d);
	dup2(saved, 0);
	close(saved);
}

static void t_fork_after_accept(void)
{
	int l = listener(4), c, st;
	struct dial_req d = { .port = 4, .msg = "to-child" };
	pthread_t td;
	pid_t pid;

	pthread_create(&td, NULL, peer_dial, &d);
	c = accept(l, NULL, NULL);
	pid = fork();
	if (pid == 0) {
		char b[64];
		ssize_t n;

		close(l);
		usleep(100000);	/* the parent has closed its copy by now */
		n = read(c, b, sizeof(b));
		if (n > 0 && write(c, "child:", 6) == 6 && write(c, b, (size_t)n) == n)
			_exit(0);
		_exit(1);
	}
	close(c);	/* must not end the child's connection */
	pthread_join(td, NULL);
	waitpid(pid, &st, 0);
	CHECK("fork_after_accept", WIFEXITED(st) && !WEXITSTATUS(st) &&
	      !strcmp(d.reply, "done child:to-child"), "peer got '%s'", d.reply);
	close(l);
}

/* The child blocks in read before the data comes, while the parent (which
 * closed its copy) sits in accept(): whichever process reads the engine's
 * event, the child must wake. */
static void t_fork_slow(void)
{
	int l = listener(5), c, st, one;
	struct dial_req d = { .port = 5, .msg = "slow", .slow = true };
	struct timeval tv = { 1, 0 };
	pthread_t td;
	pid_t pid;

	pthread_create(&td, NULL, peer_dial, &d);
	c = accept(l, NULL, NULL);
	pid = fork();
	if (pid == 0) {
		char b[16];
		double t0 = now();
		ssize_t n = read(c, b, sizeof(b));

		/* the data comes ~300 ms after the accept */
		if (n == 4 && now() - t0 < 2 && write(c, "late-ok", 7) == 7)
			_exit(0);
		_exit(1);
	}
	close(c);
	setsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	one = accept(l, NULL, NULL);	/* nothing comes: times out, pumping meanwhile */
	pthread_join(td, NULL);
	waitpid(pid, &st, 0);
	CHECK("fork_child_wakes_while_parent_waits", one < 0 && errno == EAGAIN &&
	      WIFEXITED(st) && !WEXITSTATUS(st) && !strcmp(d.reply, "done late-ok"),
	      "accept %d, child %d, peer '%s'", one, WEXITSTATUS(st), d.reply);
	close(l);
}

/* Preforked workers (nginx): each epolls the inherited listener with
 * EPOLLEXCLUSIVE and serves what it accepts. */
static void t_prefork(void)
{
	int l = listener(6), st, served = 0;
	struct dial_req d[4];
	pthread_t td[4];
	pid_t w[2];

	fcntl(l, F_SETFL, O_NONBLOCK);
	for (int k = 0; k < 2; k++) {
		w[k] = fork();
		if (w[k] == 0) {
			int ep = epoll_create1(0), n = 0;
			struct epoll_event ev = { EPOLLIN | EPOLLEXCLUSIVE, { .fd = l } };
			double t0 = now();

			epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
			while (now() - t0 < 5) {
				int c;

				if (epoll_wait(ep, &ev, 1, 200) < 1)
					continue;
				while ((c = accept(l, NULL, NULL)) >= 0) {
					char b[16], r[32];
					ssize_t m;

					fcntl(c, F_SETFL, 0);
					m = read(c, b, sizeof(b) - 1);
					b[m > 0 ? m : 0] = 0;
					snprintf(r, sizeof(r), "w%d:%s", k, b);
					if (write(c, r, strlen(r)) < 0)
						_exit(1);
					close(c);
					n++;
				}
			}
			_exit(n);
		}
	}
	close(l);	/* the workers hold the listener now */
	for (int i = 0; i < 4; i++) {
		d[i] = (struct dial_req){ .port = 6, .msg = "req" };
		pthread_create(&td[i], NULL, peer_dial, &d[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(td[i], NULL);
		served += !strncmp(d[i].reply, "done w", 6) && strstr(d[i].reply, ":req");
	}
	for (int k = 0; k < 2; k++)
		waitpid(w[k], &st, 0);
	CHECK("prefork_workers_serve_all", served == 4, "%d of 4 served ('%s')", served,
	      d[0].reply);
}

/* Edge-triggered EPOLLOUT after short writes while another process of the
 * family sits in epoll_wait and consumes the engine's events (nginx's
 * master + workers with sendfile): each short write or EAGAIN is followed
 * by an EPOLLOUT edge, as on Linux, and 32 MiB go through without a wait
 * running out. */
static void t_et_out_fork(void)
{
	static char buf[256 << 10];
	int e = dial(P_SINK), ep = epoll_create1(0), st, shorts = 0, stalls = 0;
	struct epoll_event ev = { EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP, { .u32 = 1 } }, out[4];
	size_t sent = 0, total = 32u << 20;
	pid_t kid = fork();

	if (kid == 0) {
		/* the other worker: an idle engine socket, an endless wait */
		int o = dial(P_SILENT), kep = epoll_create1(0);
		struct epoll_event kev = { EPOLLIN | EPOLLET, { .u32 = 1 } };

		epoll_ctl(kep, EPOLL_CTL_ADD, o, &kev);
		for (;;)
			epoll_wait(kep, out, 4, -1);
	}
	fcntl(e, F_SETFL, O_NONBLOCK);
	epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
	while (sent < total && !stalls) {
		size_t want = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
		ssize_t n = write(e, buf, want);

		if (n > 0)
			sent += (size_t)n;
		if (n == (ssize_t)want)
			continue;
		if (n < 0 && errno != EAGAIN)
			break;
		shorts++;
		n = epoll_wait(ep, out, 4, 5000);
		if (n < 1 || !(out[0].events & EPOLLOUT))
			stalls++;
	}
	kill(kid, SIGKILL);
	waitpid(kid, &st, 0);
	CHECK("et_out_after_short_write", sent == total && !stalls && shorts > 0,
	      "%zu of %zu bytes, %d short writes, %d waits of 5 s without EPOLLOUT", sent, total,
	      shorts, stalls);
	close(e);
	close(ep);
}

/* This thread's voluntary context switches (/proc), -1 if unknown. */
static long vol_switches(void)
{
	char path[64], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)gettid());
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

struct idle_wait {
	int ep, ready[2];	/* ready: the waiter is about to wait */
	long switches;		/* during its wait */
	int n;			/* what its epoll_wait returned */
};

static void *idle_waiter(void *arg)
{
	struct idle_wait *w = arg;
	struct epoll_event out[4];
	long before = vol_switches();

	if (write(w->ready[1], "x", 1) != 1)
		return NULL;
	w->n = epoll_wait(w->ep, out, 4, 600);
	w->switches = before < 0 ? -1 : vol_switches() - before;
	return NULL;
}

/* Two threads, each with its own epoll (memcached's workers): the engine's
 * events for one thread's socket do not wake the other thread, which
 * sleeps through 200 round trips on the first one (Linux: one switch, its
 * own sleep). */
static void t_epoll_wakes_its_own(void)
{
	struct idle_wait w = { .ep = epoll_create1(0) };
	struct epoll_event ev = { EPOLLIN, { .u32 = 1 } };
	int mine = dial(P_ECHO), other = dial(P_ECHO), ok = 0;
	pthread_t th;
	char c;

	epoll_ctl(w.ep, EPOLL_CTL_ADD, other, &ev);
	if (pipe(w.ready) || pthread_create(&th, NULL, idle_waiter, &w)) {
		CHECK("epoll_wakes_only_its_own", false, "no thread");
		return;
	}
	if (read(w.ready[0], &c, 1) != 1)
		c = 0;
	usleep(20000);	/* it sleeps in epoll_wait */
	for (int k = 0; k < 200; k++)
		ok += echo_roundtrip(mine, "ping");
	pthread_join(th, NULL);
	CHECK("epoll_wakes_only_its_own", ok == 200 && w.n == 0 && w.switches >= 0 &&
	      w.switches <= 20, "%d of 200 round trips; the other thread's epoll_wait gave %d "
	      "and it was woken %ld times", ok, w.n, w.switches);
	close(mine);
	close(other);
	close(w.ep);
	close(w.ready[0]);
	close(w.ready[1]);
}

struct idle_block {
	int fd, ready[2];
	bool use_poll;		/* poll(fd) for 600 ms, else recv with SO_RCVTIMEO 600 ms */
	long switches;
	int r, err;
};

static void *idle_blocker(void *arg)
{
	struct idle_block *w = arg;
	struct pollfd p = { w->fd, POLLIN, 0 };
	long before;
	char b[8];

	if (write(w->ready[1], "x", 1) != 1)
		return NULL;
	before = vol_switches();
	errno = 0;
	w->r = w->use_poll ? poll(&p, 1, 600) : (int)recv(w->fd, b, sizeof(b), 0);
	w->err = errno;
	w->switches = before < 0 ? -1 : vol_switches() - before;
	return NULL;
}

/* A thread blocked in recv, or in poll, on one socket sleeps through 200
 * round trips on another socket (Linux: one switch, its own sleep): the
 * engine's events for the other socket do not wake it. */
static void t_block_wakes_its_own(void)
{
	for (int k = 0; k < 2; k++) {
		const char *name = k ? "poll_wakes_only_its_own" : "recv_wakes_only_its_own";
		struct idle_block w = { .fd = dial(P_ECHO), .use_poll = k == 1 };
		struct timeval tv = { 0, 600000 };
		int mine = dial(P_ECHO), ok = 0;
		pthread_t th;
		char c;

		setsockopt(w.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (pipe(w.ready) || pthread_create(&th, NULL, idle_blocker, &w)) {
			CHECK(name, false, "no thread");
			return;
		}
		if (read(w.ready[0], &c, 1) != 1)
			c = 0;
		usleep(20000);	/* it sleeps in recv / poll */
		for (int i = 0; i < 200; i++)
			ok += echo_roundtrip(mine, "ping");
		pthread_join(th, NULL);
		CHECK(name, ok == 200 && w.switches >= 0 && w.switches <= 20 &&
		      (k ? w.r == 0 : w.r == -1 && (w.err == EAGAIN || w.err == EWOULDBLOCK)),
		      "%d of 200 round trips; the other thread's call gave %d (%s) and it was "
		      "woken %ld times", ok, w.r, strerror(w.err), w.switches);
		close(mine);
		close(w.fd);
		close(w.ready[0]);
		close(w.ready[1]);
	}
}

/* RLIMIT_NOFILE: with no fd number left, accept fails with EMFILE and
 * the connection stays queued for the next accept. */
static void t_rlimit(void)
{
	int l = listener(7), probe, c;
	struct dial_req d = { .port = 7, .msg = "limit" };
	struct pollfd p = { l, POLLIN, 0 };
	struct rlimit old, lim;
	pthread_t td;

	pthread_create(&td, NULL, peer_dial, &d);
	poll(&p, 1, 5000);
	getrlimit(RLIMIT_NOFILE, &old);
	probe = dup(0);	/* the lowest free number: every one below is taken */
	close(probe);
	lim = old;
	lim.rlim_cur = (rlim_t)probe;
	setrlimit(RLIMIT_NOFILE, &lim);
	c = accept(l, NULL, NULL);
	CHECK("accept_emfile", c == -1 && errno == EMFILE, "accept returned %d", c);
	setrlimit(RLIMIT_NOFILE, &old);
	c = accept(l, NULL, NULL);
	if (c >= 0) {
		char b[16];

		if (read(c, b, sizeof(b)) > 0 && write(c, "kept", 4) != 4)
			c = -1;
		close(c);
	}
	pthread_join(td, NULL);
	CHECK("connection_kept_after_emfile", !strcmp(d.reply, "done kept"), "peer got '%s'",
	      d.reply);
	close(l);
}

static volatile sig_atomic_t sigpipes, alarms;
static void on_sigpipe(int s)
{
	(void)s;
	sigpipes++;
}

static void on_alarm(int s)
{
	(void)s;
	alarms++;
}

/* send until it fails: the peer closed, our data draws a RST */
static int send_until_error(int fd, int flags)
{
	char b[1024] = { 0 };
	double t0 = now();

	while (now() - t0 < 5) {
		if (send(fd, b, sizeof(b), flags) < 0)
			return errno;
		usleep(20000);
	}
	return 0;
}

static void t_sigpipe(void)
{
	struct sigaction sa = { .sa_handler = on_sigpipe };
	int fd, e;

	sigaction(SIGPIPE, &sa, NULL);
	fd = dial(P_CLOSER);
	e = send_until_error(fd, MSG_NOSIGNAL);
	CHECK("msg_nosignal_epipe_no_signal", (e == EPIPE || e == ECONNRESET) && sigpipes == 0,
	      "error %d, %d SIGPIPEs", e, (int)sigpipes);
	e = 0;
	if (send(fd, "x", 1, MSG_NOSIGNAL) < 0)
		e = errno;
	CHECK("send_after_reset_epipe", e == EPIPE, "second send: %s", strerror(e));
	close(fd);
	fd = dial(P_CLOSER);
	e = send_until_error(fd, 0);
	if (e == ECONNRESET)
		e = send_until_error(fd, 0);
	CHECK("sigpipe_raised", e == EPIPE && sigpipes >= 1, "error %d, %d SIGPIPEs", e,
	      (int)sigpipes);
	close(fd);
	signal(SIGPIPE, SIG_DFL);
}

static void t_rcvtimeo(void)
{
	int fd = dial(P_SILENT), r;
	struct timeval tv = { 0, 200000 }, got;
	socklen_t len = sizeof(got);
	char b[8];
	double t0;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &got, &len);
	CHECK("rcvtimeo_readback", got.tv_sec == 0 && got.tv_usec == 200000, "read back %ld.%06ld",
	      (long)got.tv_sec, (long)got.tv_usec);
	t0 = now();
	r = (int)recv(fd, b, sizeof(b), 0);
	t0 = now() - t0;
	CHECK("rcvtimeo_eagain", r == -1 && (errno == EAGAIN) && t0 > 0.15 && t0 < 1.5,
	      "recv %d after %.3f s", r, t0);
	close(fd);
}

static void t_eintr(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	int fd = dial(P_SILENT), r;
	char b[8];
	struct itimerval it = { .it_value = { 0, 100000 } };

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART */
	setitimer(ITIMER_REAL, &it, NULL);
	r = (int)recv(fd, b, sizeof(b), 0);
	CHECK("recv_eintr_without_sa_restart", r == -1 && errno == EINTR && alarms == 1,
	      "recv %d, %d alarms", r, (int)alarms);
	/* SA_RESTART: the recv goes on after the handler; the timeout ends it */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	{
		struct timeval tv = { 0, 400000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	setitimer(ITIMER_REAL, &it, NULL);
	r = (int)recv(fd, b, sizeof(b), 0);
	/* with SO_RCVTIMEO set, Linux does not restart (signal(7)) */
	CHECK("recv_eintr_with_timeout", r == -1 && errno == EINTR, "recv %d", r);
	{
		struct timeval tv = { 0, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	{
		int e = dial(P_ECHO);
		struct pollfd p = { e, POLLIN, 0 };

		/* SA_RESTART: a blocked recv survives the signal and gets the data */
		it.it_value.tv_usec = 50000;
		setitimer(ITIMER_REAL, &it, NULL);
		if (fork() == 0) {
			/* the child shares the socket (fork): its data arrives
			 * after the alarm interrupted the parent's wait */
			usleep(300000);
			_exit(write(e, "late", 4) == 4 ? 0 : 1);
		}
		poll(&p, 1, 0);
		r = (int)recv(e, b, 4, MSG_WAITALL);
		CHECK("recv_restarts_with_sa_restart", r == 4 && alarms == 3, "recv %d, %d alarms", r,
		      (int)alarms);
		close(e);
		wait(NULL);
	}
	signal(SIGALRM, SIG_DFL);
	close(fd);
}

static void t_options(void)
{
	int fd = dial(P_ECHO), v = 0, one = 1, r;
	socklen_t len = sizeof(v);
	struct tcp_info ti;
	struct linger lg = { 1, 5 }, lg2;

	CHECK("so_type", !getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) && v == SOCK_STREAM,
	      "SO_TYPE %d", v);
	v = 65536;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	len = sizeof(v);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len);
	CHECK("so_rcvbuf_doubled", v == 131072, "SO_RCVBUF read back %d", v);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	len = sizeof(v);
	getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	CHECK("tcp_nodelay", v == 1, "TCP_NODELAY %d", v);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	len = sizeof(lg2);
	getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg2, &len);
	CHECK("so_linger", lg2.l_onoff == 1 && lg2.l_linger == 5, "SO_LINGER %d %d", lg2.l_onoff,
	      lg2.l_linger);
	r = setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &(int){ 0 }, sizeof(int));
	CHECK("tcp_keepidle_0_einval", r == -1 && errno == EINVAL, "setsockopt returned %d", r);
	r = setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &(int){ 5000 }, sizeof(int));
	CHECK("tcp_user_timeout_unsupported", r == -1 && errno == ENOPROTOOPT,
	      "setsockopt returned %d", r);
	r = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, 2);
	CHECK("short_optlen_einval", r == -1 && errno == EINVAL, "setsockopt returned %d", r);
	if (!echo_roundtrip(fd, "info-bytes"))
		exit(2);
	len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	r = getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
	CHECK("tcp_info", !r && ti.tcpi_state == TCP_ESTABLISHED && ti.tcpi_rtt > 0 &&
	      ti.tcpi_snd_mss > 0 && ti.tcpi_snd_cwnd > 0, "state %u rtt %u mss %u cwnd %u",
	      ti.tcpi_state, ti.tcpi_rtt, ti.tcpi_snd_mss, ti.tcpi_snd_cwnd);
	{
		int fl = fcntl(fd, F_GETFL), avail = -1;

		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		CHECK("fcntl_nonblock", (fcntl(fd, F_GETFL) & O_NONBLOCK) &&
		      recv(fd, &v, 1, 0) == -1 && errno == EAGAIN, "no EAGAIN");
		ioctl(fd, FIONREAD, &avail);
		CHECK("fionread_empty", avail == 0, "FIONREAD %d", avail);
		r = 0;
		ioctl(fd, FIONBIO, &r);
		CHECK("fionbio_off", !(fcntl(fd, F_GETFL) & O_NONBLOCK), "still non-blocking");
	}
	{
		struct sockaddr_in me, him;
		socklen_t l1 = sizeof(me), l2 = sizeof(him);

		getsockname(fd, (struct sockaddr *)&me, &l1);
		getpeername(fd, (struct sockaddr *)&him, &l2);
		CHECK("names", ntohs(him.sin_port) == base + P_ECHO && me.sin_port != 0 &&
		      l1 == sizeof(me), "peer port %d, local port %d", ntohs(him.sin_port),
		      ntohs(me.sin_port));
	}
	CHECK("shutdown_einval", shutdown(fd, 7) == -1 && errno == EINVAL, "bad how accepted");
	close(fd);
	CHECK("closed_ebadf", write(fd, "x", 1) == -1 && errno == EBADF, "write to closed fd");
}

/* The engine is killed while three threads sit in recv(): each must
 * return ECONNRESET (the script kills the engine after "ready"). */
static void *blocked_reader(void *arg)
{
	int fd = *(int *)arg;
	char b[8];
	ssize_t r = recv(fd, b, sizeof(b), 0);

	printf("reader %d: %s\n", fd, r < 0 ? strerror(errno) : r == 0 ? "eof" : "data");
	fflush(stdout);
	return (void *)(long)(r < 0 && errno == ECONNRESET);
}

static int t_engine_killed(void)
{
	pthread_t t[3];
	int fds[3], ok = 0;
	void *res;

	for (int i = 0; i < 3; i++) {
		fds[i] = dial(P_SILENT);
		pthread_create(&t[i], NULL, blocked_reader, &fds[i]);
	}
	usleep(200000);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], &res);
		ok += res != NULL;
	}
	CHECK("blocked_readers_econnreset", ok == 3, "%d of 3 readers got ECONNRESET", ok);
	{
		int e = 0;

		if (send(fds[0], "x", 1, MSG_NOSIGNAL) < 0)
			e = errno;
		CHECK("send_after_engine_death_epipe", e == EPIPE, "send: %s", strerror(e));
	}
	{
		int ep = epoll_create1(0), n;
		struct epoll_event ev = { EPOLLIN, { .fd = fds[1] } };
		struct pollfd p = { fds[2], POLLIN, 0 };

		epoll_ctl(ep, EPOLL_CTL_ADD, fds[1], &ev);
		n = epoll_wait(ep, &ev, 1, 2000);
		CHECK("epoll_after_engine_death", n == 1 && (ev.events & (EPOLLHUP | EPOLLIN)),
		      "epoll_wait %d events %#x", n, ev.events);
		n = poll(&p, 1, 2000);
		CHECK("poll_after_engine_death", n == 1 && (p.revents & POLLHUP), "poll %d %#x", n,
		      p.revents);
		close(ep);
	}
	return failures ? 1 : 0;
}

/* The data calls: vectors, PEEK, WAITALL, the mmsg pair, sendfile, and
 * EOF after the peer's close. */
static void t_data(void)
{
	int fd = dial(P_ECHO), r;
	char a[4], b[4], big[200000], back[200000];
	struct iovec iv[2] = { { a, 4 }, { b, 4 } };
	struct mmsghdr mm[2];
	FILE *tf;
	off_t off = 0;

	memcpy(a, "abcd", 4);
	memcpy(b, "efgh", 4);
	CHECK("writev", writev(fd, iv, 2) == 8, "writev");
	memset(a, 0, 4);
	memset(b, 0, 4);
	r = (int)recv(fd, a, 4, MSG_PEEK | MSG_WAITALL);
	CHECK("recv_peek", r == 4 && !memcmp(a, "abcd", 4), "peek %d", r);
	r = (int)readv(fd, iv, 2);
	if (r == 4)
		r += (int)read(fd, b, 4);
	CHECK("readv", r == 8 && !memcmp(a, "abcd", 4) && !memcmp(b, "efgh", 4), "readv %d", r);
	memset(mm, 0, sizeof(mm));
	iv[0] = (struct iovec){ a, 4 };
	iv[1] = (struct iovec){ b, 4 };
	memcpy(a, "mmsg", 4);
	memcpy(b, "two!", 4);
	mm[0].msg_hdr.msg_iov = &iv[0];
	mm[0].msg_hdr.msg_iovlen = 1;
	mm[1].msg_hdr.msg_iov = &iv[1];
	mm[1].msg_hdr.msg_iovlen = 1;
	CHECK("sendmmsg", sendmmsg(fd, mm, 2, 0) == 2 && mm[0].msg_len == 4, "sendmmsg");
	memset(a, 0, 4);
	memset(b, 0, 4);
	r = recv(fd, a, 4, MSG_WAITALL) == 4 ? recvmmsg(fd, &mm[1], 1, MSG_WAITALL, NULL) : -1;
	CHECK("recvmmsg", r == 1 && mm[1].msg_len == 4 && !memcmp(b, "two!", 4), "recvmmsg %d", r);
	/* sendfile: a file straight into the transmit ring */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	tf = tmpfile();
	if (!tf || fwrite(big, 1, sizeof(big), tf) != sizeof(big) || fflush(tf))
		exit(2);
	{
		size_t left = sizeof(big), got = 0;
		ssize_t n;

		while (left) {
			n = sendfile(fd, fileno(tf), &off, left);
			if (n <= 0)
				break;
			left -= (size_t)n;
			/* read back as we go: the echo peer's window is finite */
			while (got < sizeof(big) - left) {
				ssize_t m = read(fd, back + got, sizeof(back) - got);

				if (m <= 0)
					break;
				got += (size_t)m;
			}
		}
		while (got < sizeof(big)) {
			ssize_t m = read(fd, back + got, sizeof(back) - got);

			if (m <= 0)
				break;
			got += (size_t)m;
		}
		CHECK("sendfile", !left && off == (off_t)sizeof(big) && got == sizeof(big) &&
		      !memcmp(big, back, sizeof(big)), "left %zu off %ld got %zu", left, (long)off,
		      got);
	}
	fclose(tf);
	shutdown(fd, SHUT_WR);
	r = (int)read(fd, a, 4);
	CHECK("eof_after_peer_close", r == 0, "read %d", r);
	r = (int)recv(fd, a, 4, MSG_DONTWAIT);
	CHECK("eof_again", r == 0, "recv %d", r);
	close(fd);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "epoll", t_epoll_mix }, { "fdsetsize", t_fdsetsize },
	{ "accept-thread", t_accept_thread }, { "loopback", t_loopback_listener },
	{ "nb-connect", t_nonblocking_connect }, { "dup2-stdin", t_dup2_stdin },
	{ "fork-accept", t_fork_after_accept }, { "sigpipe", t_sigpipe },
	{ "rcvtimeo", t_rcvtimeo }, { "eintr", t_eintr }, { "options", t_options },
	{ "data", t_data }, { "fork-slow", t_fork_slow }, { "prefork", t_prefork },
	{ "rlimit", t_rlimit }, { "et-out-fork", t_et_out_fork }, { "epoll-own", t_epoll_wakes_its_own },
	{ "block-own", t_block_wakes_its_own },
};

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: posix-test PEER_IP PEER_BASE_PORT LOCAL_BASE_PORT "
			"[TEST...|engine-killed]\n");
		return 2;
	}
	peer_ip = argv[1];
	base = atoi(argv[2]);
	lbase = atoi(argv[3]);
	if (argc == 5 && !strcmp(argv[4], "engine-killed"))
		return t_engine_killed();
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool run = argc == 4;

		for (int k = 4; k < argc; k++)
			run |= !strcmp(argv[k], tests[i].name);
		if (run)
			tests[i].fn();
	}
	return failures ? 1 : 0;
}
