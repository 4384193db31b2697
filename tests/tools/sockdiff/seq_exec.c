/* seq_exec.c - run a socket-call sequence in one world, normalizing each result so that two worlds can be compared. */
#include "seq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * The executor keeps a small model of what it has done, only to wait for
 * what must happen before the next call (echoed bytes, a connection the peer
 * made, a non-blocking connect), so that both worlds compare settled states
 * rather than races.  A call that would block is cut short by a 50 ms
 * timer signal without SA_RESTART: both worlds then return EINTR.
 */
#define ALARM_US     50000
#define MAX_INFLIGHT (48 * 1024)	/* echoed bytes a connection may owe */
#define NFILES       (SEQ_SLOTS * 4)

struct file_state {		/* one open socket (dup'ed slots share it) */
	int used;
	long inflight;		/* bytes sent to the echo peer not read back yet */
	int pending_conns;	/* connections the peer made that are not accepted */
	int connecting;		/* a non-blocking connect returned EINPROGRESS */
	int expect_fin;		/* we sent a FIN: the echo peer answers with its own */
	uint16_t port;		/* the port bound (host order) */
};

struct run {
	const struct seq_world *w;
	unsigned seq_index;
	int fd[SEQ_SLOTS];
	int file[SEQ_SLOTS];	/* index into files, -1 if none */
	struct file_state files[NFILES];
	int devnull;
};

static char iobuf[128 * 1024];
unsigned seq_settle_timeouts;
bool seq_skip_known;
unsigned seq_skipped[SKIP__COUNT];
const char *const seq_skip_reason[SKIP__COUNT] = {
	[SKIP_OOB_SEND] = "send/sendto/sendmsg with MSG_OOB: the engine sends no urgent data",
	[SKIP_USER_TIMEOUT] = "setsockopt TCP_USER_TIMEOUT > 0: the engine has no per-socket user timeout",
};

static timer_t call_timer;
static int have_timer;

static void on_alarm(int sig)
{
	(void)sig;
}

/* The timer signals a real-time signal, not SIGALRM: libFuzzer keeps
 * SIGALRM and ITIMER_REAL for its own -timeout. */
void seq_exec_init(void)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 3 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: blocked calls get EINTR */
	sigaction(SIGRTMIN + 3, &sa, NULL);
	have_timer = timer_create(CLOCK_MONOTONIC, &ev, &call_timer) == 0;
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(iobuf); i++)
		iobuf[i] = (char)(i * 7 + 3);
}

static void alarm_arm(int on)
{
	struct itimerspec it = { .it_value = { .tv_nsec = on ? ALARM_US * 1000L : 0 } };

	if (have_timer)
		timer_settime(call_timer, 0, &it, NULL);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint16_t world_port(const struct run *r, unsigned k)
{
	/* 4 ports per sequence (port 0 and the three a bind may ask for),
	 * 1024 sequences before they repeat: a sequence never meets the
	 * TIME_WAIT of an earlier one */
	return (uint16_t)(r->w->port_base + (r->seq_index % 1024) * 4 + k);
}

/* The fd a slot names: a socket, or one of the bad descriptors. */
static int slot_fd(const struct run *r, unsigned slot)
{
	switch (slot) {
	case 4: return -1;
	case 5: return 1 << 20;		/* past RLIMIT_NOFILE */
	case 6: return r->devnull;	/* not a socket */
	case 7: return 1000;		/* never opened */
	default: return r->fd[slot % SEQ_SLOTS];
	}
}

static struct file_state *slot_file(struct run *r, unsigned slot)
{
	if (slot >= SEQ_SLOTS || r->file[slot] < 0)
		return NULL;
	return &r->files[r->file[slot]];
}

static int new_file(struct run *r)
{
	for (int i = 0; i < NFILES; i++)
		if (!r->files[i].used) {
			memset(&r->files[i], 0, sizeof(r->files[i]));
			r->files[i].used = 1;
			return i;
		}
	return -1;
}

static void drop_slot(struct run *r, unsigned slot)
{
	int f = r->file[slot];

	r->fd[slot] = -1;
	r->file[slot] = -1;
	if (f < 0)
		return;
	for (unsigned s = 0; s < SEQ_SLOTS; s++)
		if (r->file[s] == f)
			return;
	r->files[f].used = 0;
}

/* Put a new fd in a slot, closing what was there (the sequence's view:
 * a slot holds one descriptor). */
static void set_slot(struct run *r, unsigned slot, int fd, int file)
{
	if (r->fd[slot] >= 0 && r->fd[slot] != fd)
		close(r->fd[slot]);
	drop_slot(r, slot);
	r->fd[slot] = fd;
	r->file[slot] = file;
}

/* Wait (up to settle_ms) for what the model says is on its way. */
static void settle(struct run *r, unsigned slot)
{
	struct file_state *f = slot_file(r, slot);
	int fd = slot_fd(r, slot);
	long until = now_ms() + r->w->settle_ms;

	if (!f || fd < 0)
		return;
	if (f->connecting) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		poll(&p, 1, r->w->settle_ms);
		f->connecting = 0;
	}
	if (f->pending_conns > 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		poll(&p, 1, r->w->settle_ms);
	}
	while (f->inflight > 0) {
		int n = 0;

		if (ioctl(fd, FIONREAD, &n) < 0 || n >= f->inflight)
			break;
		if (now_ms() >= until) {
			seq_settle_timeouts++;
			if (getenv("SOCKDIFF_DEBUG"))
				fprintf(stderr, "settle: inflight %ld, %d there\n", f->inflight, n);
			f->inflight = n;	/* what came is what will come */
			break;
		}
		usleep(500);
	}
	while (f->expect_fin) {
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		/* until the peer's FIN is in: the state leaves FIN_WAIT */
		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0 ||
		    (ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_FIN_WAIT1 &&
		     ti.tcpi_state != TCP_FIN_WAIT2)) {
			f->expect_fin = 0;
			break;
		}
		if (now_ms() >= until) {
			seq_settle_timeouts++;
			f->expect_fin = 0;
			break;
		}
		usleep(500);
	}
}

/* Address class and port class of a sockaddr_in, one number. */
static long long norm_addr(const struct run *r, const struct sockaddr_in *sa, socklen_t len)
{
	long long a, p;
	uint16_t port;

	if (len < sizeof(*sa))
		return 1000000LL * sa->sin_family + len;
	port = ntohs(sa->sin_port);
	if (sa->sin_addr.s_addr == htonl(INADDR_ANY))
		a = 0;
	else if (sa->sin_addr.s_addr == r->w->own.s_addr)
		a = 1;
	else if (sa->sin_addr.s_addr == r->w->peer.s_addr)
		a = 2;
	else
		a = 9;
	if (port == 0)
		p = 0;
	else if (a == 2 && (port == r->w->peer_port || port == r->w->peer_port + 1))
		p = port - r->w->peer_port + 1;
	else if (a != 2 && port >= world_port(r, 0) && port < world_port(r, 4))
		p = 100 + port - world_port(r, 0);
	else
		p = 999;	/* ephemeral */
	return 1000000LL * sa->sin_family + 1000 * a + p;
}

/* ---- the calls ---------------------------------------------------------- */

static void do_socket(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	static const int flags[] = { 0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC };
	int domain = AF_INET, type = SOCK_STREAM | flags[op->a % 4], proto = 0, fd, f;
	unsigned slot = op->slot % SEQ_SLOTS;

	switch (op->b % 6) {
	case 1: proto = IPPROTO_TCP; break;
	case 3: proto = IPPROTO_UDP; break;		/* EPROTONOSUPPORT */
	case 4: type |= 0x40000000; break;		/* EINVAL */
	case 5: domain = 12345; break;			/* EAFNOSUPPORT */
	}
	fd = socket(domain, type, proto);
	res->ret = fd >= 0 ? 1 : -1;
	if (fd < 0)
		return;
	f = new_file(r);
	if (f < 0) {	/* the model is full: keep the sequence going without it */
		close(fd);
		res->ret = 2;
		return;
	}
	set_slot(r, slot, fd, f);
}

static void do_bind(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = r->w->own };
	socklen_t len = sizeof(sa);
	unsigned pv = op->b % 4;
	struct file_state *f;

	sa.sin_port = pv ? htons(world_port(r, pv)) : 0;
	switch (op->a % 6) {
	case 1: sa.sin_addr.s_addr = htonl(INADDR_ANY); break;
	case 2: sa.sin_family = AF_INET6; break;			/* EINVAL / EAFNOSUPPORT */
	case 3: len = 8; break;						/* EINVAL */
	case 4: inet_pton(AF_INET, "192.0.2.77", &sa.sin_addr); break;	/* EADDRNOTAVAIL */
	case 5: sa.sin_family = AF_UNSPEC;			/* accepted only with INADDR_ANY */
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
		break;
	}
	res->ret = bind(slot_fd(r, op->slot), (struct sockaddr *)&sa, len);
	f = slot_file(r, op->slot);
	if (res->ret == 0 && f) {
		int e = errno;

		/* port 0: the one the stack chose, for OP_PEER_CONNECT */
		len = sizeof(sa);
		if (!sa.sin_port && getsockname(slot_fd(r, op->slot), (struct sockaddr *)&sa, &len) < 0)
			sa.sin_port = 0;
		f->port = ntohs(sa.sin_port);
		errno = e;
	}
}

static void do_listen(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	static const int backlog[] = { 0, 1, 128, -1, 1 << 20 };

	res->ret = listen(slot_fd(r, op->slot), backlog[op->a % 5]);
}

static void do_accept(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	static const int flags[] = { -1, 0, SOCK_NONBLOCK, SOCK_CLOEXEC, 0x1 };
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fl = flags[op->a % 5], fd, nf;
	struct sockaddr *sp = (struct sockaddr *)&sa;
	socklen_t *lp = &len;
	struct file_state *f = slot_file(r, op->slot);

	memset(&sa, 0, sizeof(sa));
	switch (op->b % 4) {
	case 0: sp = NULL; lp = NULL; break;
	case 2: len = 4; break;				/* truncated */
	case 3: len = (socklen_t)-1; break;		/* EINVAL */
	}
	fd = fl < 0 ? accept(slot_fd(r, op->slot), sp, lp) : accept4(slot_fd(r, op->slot), sp, lp, fl);
	res->ret = fd >= 0 ? 1 : -1;
	if (fd < 0)
		return;
	if (sp) {
		res->val = norm_addr(r, &sa, len) * 100 + len;
		res->has_val = 1;
	}
	if (f && f->pending_conns > 0)
		f->pending_conns--;
	/* the accepted socket goes to the next slot up */
	nf = new_file(r);
	if (nf < 0) {
		close(fd);
		return;
	}
	set_slot(r, (op->slot + 1) % SEQ_SLOTS, fd, nf);
}

static void do_connect(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = r->w->peer,
				  .sin_port = htons(r->w->peer_port) };
	socklen_t len = sizeof(sa);
	struct file_state *f = slot_file(r, op->slot);

	switch (op->a % 5) {
	case 1: sa.sin_port = htons(r->w->peer_port + 1); break;	/* ECONNREFUSED */
	case 2: sa.sin_family = AF_UNSPEC; break;			/* disconnect */
	case 3: len = 8; break;						/* EINVAL */
	case 4: sa.sin_family = AF_INET6; break;			/* EAFNOSUPPORT */
	}
	res->ret = connect(slot_fd(r, op->slot), (struct sockaddr *)&sa, len);
	res->err = res->ret < 0 ? errno : 0;
	if (f && res->ret < 0 && (res->err == EINPROGRESS || res->err == EINTR))
		f->connecting = 1;
	/* a new connection, or AF_UNSPEC's disconnect: nothing owed any more */
	if (f && (res->ret == 0 || f->connecting)) {
		f->inflight = 0;
		f->expect_fin = 0;
	}
}

static void do_peer_connect(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	struct file_state *f = slot_file(r, op->slot);
	int e;

	if (!f || !f->port) {		/* nothing bound: nothing to ask for */
		res->ret = 2;
		return;
	}
	e = peer_request_connect(r->w->peer_ctl, r->w->own, f->port);
	res->ret = e ? -1 : 0;
	res->err = -e;
	if (!e)
		f->pending_conns++;
	errno = res->err;
}

static void do_shutdown(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	struct file_state *f = slot_file(r, op->slot);

	res->ret = shutdown(slot_fd(r, op->slot), op->a % 4);
	/* SHUT_RD does not stop what the peer echoes: Linux still queues it
	 * (a read returns it), so the bytes owed are still waited for */
	if (f && res->ret == 0 && op->a % 4 != SHUT_RD)
		f->expect_fin = 1;
}

static void do_close(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	res->ret = close(slot_fd(r, op->slot));
	if (op->slot < SEQ_SLOTS)
		drop_slot(r, op->slot);
}

/* The options, with a typical value; "exact" ones are compared by value. */
static const struct sopt {
	int level, name, typical, exact;
} opts[] = {
	{ SOL_SOCKET, SO_REUSEADDR, 1, 1 }, { SOL_SOCKET, SO_REUSEPORT, 1, 1 },
	{ SOL_SOCKET, SO_KEEPALIVE, 1, 1 }, { SOL_SOCKET, SO_RCVBUF, 65536, 0 },
	{ SOL_SOCKET, SO_SNDBUF, 65536, 0 }, { SOL_SOCKET, SO_ERROR, 0, 1 },
	{ SOL_SOCKET, SO_LINGER, 1, 1 }, { SOL_SOCKET, SO_RCVTIMEO, 1, 1 },
	{ SOL_SOCKET, SO_SNDTIMEO, 1, 1 }, { SOL_SOCKET, SO_TYPE, 0, 1 },
	{ SOL_SOCKET, SO_DOMAIN, 0, 1 }, { SOL_SOCKET, SO_ACCEPTCONN, 0, 1 },
	{ IPPROTO_TCP, TCP_NODELAY, 1, 1 }, { IPPROTO_TCP, TCP_CORK, 1, 1 },
	{ IPPROTO_TCP, TCP_KEEPIDLE, 30, 1 }, { IPPROTO_TCP, TCP_KEEPINTVL, 5, 1 },
	{ IPPROTO_TCP, TCP_KEEPCNT, 4, 1 }, { IPPROTO_TCP, TCP_USER_TIMEOUT, 1000, 1 },
	{ IPPROTO_TCP, TCP_MAXSEG, 1200, 0 }, { IPPROTO_TCP, TCP_QUICKACK, 1, 0 },
	{ IPPROTO_TCP, TCP_INFO, 0, 0 }, { IPPROTO_IP, IP_TOS, 0x10, 1 },
	{ SOL_SOCKET, SO_PRIORITY, 3, 1 }, { IPPROTO_TCP, TCP_CONGESTION, 0, 0 },
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* The value's size: struct linger, struct timeval, TCP_INFO, else int. */
static socklen_t opt_size(const struct sopt *o)
{
	if (o->level == SOL_SOCKET && o->name == SO_LINGER)
		return sizeof(struct linger);
	if (o->level == SOL_SOCKET && (o->name == SO_RCVTIMEO || o->name == SO_SNDTIMEO))
		return sizeof(struct timeval);
	if (o->level == IPPROTO_TCP && o->name == TCP_INFO)
		return sizeof(struct tcp_info);
	if (o->level == IPPROTO_TCP && o->name == TCP_CONGESTION)
		return 16;
	return sizeof(int);
}

static socklen_t opt_len(const struct sopt *o, unsigned v)
{
	switch (v % 4) {
	case 1: return 0;
	case 2: return 2;
	case 3: return 64;
	default: return opt_size(o);
	}
}

static void do_setsockopt(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	const struct sopt *o = &opts[op->a % NOPTS];
	union { int i; struct linger l; struct timeval tv; char s[64]; } v;
	static const int vals[] = { 0, 1, -2, -1, 1 << 30 };
	int x = op->b % 5 == 2 ? o->typical : vals[op->b % 5];

	memset(&v, 0, sizeof(v));
	if (seq_skip_known && o->level == IPPROTO_TCP && o->name == TCP_USER_TIMEOUT && x > 0 &&
	    opt_len(o, op->c) >= sizeof(int)) {
		/* Skipped, in both worlds: a value Linux takes is ENOPROTOOPT
		 * on an engine socket, which gives up after its own RTO
		 * retries (docs/posix.md, "Socket options") */
		res->ret = SEQ_SKIPPED;
		seq_skipped[SKIP_USER_TIMEOUT]++;
		return;
	}
	if (o->name == SO_LINGER && o->level == SOL_SOCKET) {
		v.l.l_onoff = x != 0;
		v.l.l_linger = x < 0 ? 0 : x % 100;
	} else if ((o->name == SO_RCVTIMEO || o->name == SO_SNDTIMEO) && o->level == SOL_SOCKET) {
		v.tv.tv_sec = x > 0 ? x % 5 : 0;
		v.tv.tv_usec = x < 0 ? 2000000 : 250000;	/* 2000000: EDOM */
	} else if (o->name == TCP_CONGESTION && o->level == IPPROTO_TCP) {
		/* The algorithm's name is a value that may differ between
		 * worlds (the engine runs its own, docs/posix.md): set the
		 * one the socket reports (Linux's default elsewhere), or a
		 * name no world has */
		socklen_t cl = 16;

		strcpy(v.s, "cubic");
		if (x && getsockopt(slot_fd(r, op->slot), IPPROTO_TCP, TCP_CONGESTION, v.s, &cl) == 0)
			v.s[cl < 16 ? cl : 15] = 0;
		else if (!x)
			strcpy(v.s, "no-such-cc");
	} else {
		v.i = x;
	}
	res->ret = setsockopt(slot_fd(r, op->slot), o->level, o->name, &v, opt_len(o, op->c));
}

static void do_getsockopt(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	const struct sopt *o = &opts[op->a % NOPTS];
	union { int i; struct linger l; struct timeval tv; struct tcp_info ti; char s[256]; } v;
	socklen_t len = opt_len(o, op->c);

	memset(&v, 0, sizeof(v));
	res->ret = getsockopt(slot_fd(r, op->slot), o->level, o->name, &v, &len);
	if (res->ret < 0)
		return;
	res->has_val = 1;
	res->val = len;			/* the length written back always matters */
	if (!o->exact || len < sizeof(int))
		return;
	if (o->name == SO_LINGER && o->level == SOL_SOCKET)
		res->val += 1000LL * (v.l.l_onoff ? 1 + v.l.l_linger : 0);
	else if ((o->name == SO_RCVTIMEO || o->name == SO_SNDTIMEO) && o->level == SOL_SOCKET)
		res->val += 1000LL * (v.tv.tv_sec * 1000000LL + v.tv.tv_usec);
	else
		res->val += 1000LL * (v.i != 0 && o->typical == 1 ? 1 : v.i);	/* booleans: on/off */
}

static int send_flags(unsigned v)
{
	static const int f[] = { 0, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE, MSG_OOB | MSG_DONTWAIT,
				 MSG_DONTWAIT | MSG_NOSIGNAL };
	return f[v % 6];
}

static void drain(struct run *r, unsigned slot)
{
	struct file_state *f = slot_file(r, slot);
	ssize_t n;

	settle(r, slot);
	while (f && f->inflight > 0) {
		n = recv(slot_fd(r, slot), iobuf, sizeof(iobuf), MSG_DONTWAIT);
		if (n <= 0)
			break;
		f->inflight -= n;
	}
	if (f && f->inflight < 0)
		f->inflight = 0;
}

static void do_send(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	static const size_t lens[] = { 0, 1, 100, 1448, 4096, 20000 };
	size_t len = lens[op->b % 6];
	int fd = slot_fd(r, op->slot), fl = send_flags(op->c);
	struct file_state *f = slot_file(r, op->slot);
	struct iovec iov[2] = { { iobuf, len / 2 }, { iobuf + len / 2, len - len / 2 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = r->w->peer,
				  .sin_port = htons(r->w->peer_port) };
	ssize_t n;

	/* the echo comes back: read what is owed first, so a send never
	 * meets a full window (that would make counts depend on buffer sizes) */
	if (f && f->inflight + (long)len > MAX_INFLIGHT) {
		alarm_arm(0);
		drain(r, op->slot);
		alarm_arm(1);
	}
	if (seq_skip_known && (fl & MSG_OOB) && op->a % 6 != 3 && op->a % 6 != 4) {
		/* Skipped, in both worlds: the engine sends no urgent data, so
		 * send(MSG_OOB) is EOPNOTSUPP there, where Linux sends the last
		 * byte out of band (docs/posix.md, "Known differences") */
		res->ret = SEQ_SKIPPED;
		seq_skipped[SKIP_OOB_SEND]++;
		return;
	}
	switch (op->a % 6) {
	case 0: n = send(fd, iobuf, len, fl); break;
	case 1: n = sendto(fd, iobuf, len, fl, NULL, 0); break;
	case 2: n = sendmsg(fd, &mh, fl); break;
	case 3: n = write(fd, iobuf, len); break;
	case 4: n = writev(fd, iov, 2); break;
	default: n = sendto(fd, iobuf, len, fl, (struct sockaddr *)&to, sizeof(to)); break;
	}
	res->ret = n < 0 ? -1 : 0;
	if (n >= 0) {
		res->val = n;
		res->has_val = 1;
		/* the urgent byte of MSG_OOB is not in the echoed stream */
		if (f && fd != r->devnull)
			f->inflight += (fl & MSG_OOB) && n > 0 ? n - 1 : n;
	}
}

static void do_recv(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	static const size_t lens[] = { 0, 1, 100, 4096, 65536 };
	static const int flags[] = { 0, MSG_DONTWAIT, MSG_PEEK | MSG_DONTWAIT, MSG_WAITALL,
				     MSG_OOB | MSG_DONTWAIT, MSG_TRUNC | MSG_DONTWAIT };
	size_t len = lens[op->b % 5];
	int fd = slot_fd(r, op->slot), fl = flags[op->c % 6];
	struct file_state *f = slot_file(r, op->slot);
	struct iovec iov[2] = { { iobuf, len / 2 }, { iobuf + len / 2, len - len / 2 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	ssize_t n;

	switch (op->a % 5) {
	case 0: n = recv(fd, iobuf, len, fl); break;
	case 1: n = recvfrom(fd, iobuf, len, fl, (struct sockaddr *)&from, &flen); break;
	case 2: n = recvmsg(fd, &mh, fl); break;
	case 3: n = read(fd, iobuf, len); fl = 0; break;
	default: n = readv(fd, iov, 2); fl = 0; break;
	}
	res->ret = n < 0 ? -1 : 0;
	if (n < 0 && f && errno != EAGAIN && errno != EINTR && errno != EINVAL)
		f->inflight = 0;	/* reset or not connected: nothing comes */
	if (n == 0 && len > 0 && f)
		f->inflight = 0;	/* end of stream */
	if (n >= 0) {
		res->val = n;
		res->has_val = 1;
		if (f && !(fl & (MSG_PEEK | MSG_TRUNC))) {
			f->inflight -= n;
			if (f->inflight < 0)
				f->inflight = 0;
		}
	}
}

static void do_fcntl(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	int fd = slot_fd(r, op->slot), ret;

	switch (op->a % 9) {
	case 0:
		ret = fcntl(fd, F_GETFL);
		if (ret >= 0) {
			res->val = ret & (O_NONBLOCK | O_ACCMODE | O_APPEND);
			res->has_val = 1;
			ret = 0;
		}
		break;
	case 1: ret = fcntl(fd, F_SETFL, O_NONBLOCK); break;
	case 2: ret = fcntl(fd, F_SETFL, 0); break;
	case 3:
		ret = fcntl(fd, F_GETFD);
		if (ret >= 0) {
			res->val = ret;
			res->has_val = 1;
			ret = 0;
		}
		break;
	case 4: ret = fcntl(fd, F_SETFD, FD_CLOEXEC); break;
	case 5:		/* a second reference, closed again: the socket lives on */
	case 6:
		ret = fcntl(fd, op->a % 9 == 5 ? F_DUPFD : F_DUPFD_CLOEXEC, 50);
		if (ret >= 0) {
			close(ret);
			ret = 1;
		}
		break;
	case 7: ret = fcntl(fd, 9999); break;
	default: ret = fcntl(fd, F_SETFL, O_NONBLOCK | O_APPEND); break;
	}
	res->ret = ret;
}

static void do_ioctl(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	int fd = slot_fd(r, op->slot), v = 0;
	struct file_state *f = slot_file(r, op->slot);

	switch (op->a % 5) {
	case 0: v = 1; res->ret = ioctl(fd, FIONBIO, &v); break;
	case 1: v = 0; res->ret = ioctl(fd, FIONBIO, &v); break;
	case 2:		/* settled: the echoed bytes are all there */
		res->ret = ioctl(fd, FIONREAD, &v);
		if (res->ret == 0 && f) {
			res->val = v;
			res->has_val = 1;
		}
		break;
	case 3: res->ret = ioctl(fd, SIOCOUTQ, &v); break;	/* in flight: value not compared */
	default: res->ret = ioctl(fd, 0x5412345, &v); break;	/* ENOTTY */
	}
}

static void do_dup(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	unsigned to = op->b % SEQ_SLOTS;
	int fd = slot_fd(r, op->slot), nfd, target = r->fd[to] >= 0 ? r->fd[to] : 900 + (int)to;
	int file = op->slot < SEQ_SLOTS ? r->file[op->slot] : -1;

	switch (op->a % 6) {
	case 0: nfd = dup(fd); break;
	case 1: nfd = dup2(fd, target); break;
	case 2: nfd = dup3(fd, target, O_CLOEXEC); break;
	case 3: nfd = dup3(fd, target, 0x1234); break;		/* EINVAL */
	case 4: nfd = dup2(fd, fd); res->ret = nfd == fd ? 0 : nfd < 0 ? -1 : 3; return;
	default: nfd = dup3(fd, fd, 0); break;			/* EINVAL */
	}
	res->ret = nfd >= 0 ? 1 : -1;
	if (nfd < 0)
		return;
	if (file < 0 || to == op->slot) {	/* a bad fd that dup()ed, or onto itself */
		if (nfd != fd)
			close(nfd);
		return;
	}
	if (nfd == r->fd[to]) {		/* dup2/dup3 replaced the target's socket */
		r->fd[to] = -1;		/* already closed by the kernel/the library */
		drop_slot(r, to);
	}
	set_slot(r, to, nfd, file);
}

static void do_getname(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	struct sockaddr_in sa;
	static const socklen_t lens[] = { sizeof(struct sockaddr_in), 4, 0, 64 };
	socklen_t len = lens[op->b % 4], in = len;

	memset(&sa, 0, sizeof(sa));
	if (op->a % 2)
		res->ret = getpeername(slot_fd(r, op->slot), (struct sockaddr *)&sa, &len);
	else
		res->ret = getsockname(slot_fd(r, op->slot), (struct sockaddr *)&sa, &len);
	if (res->ret == 0) {
		res->val = (in >= sizeof(sa) ? norm_addr(r, &sa, len) : 0) * 100 + len;
		res->has_val = 1;
	}
}

static void do_poll(struct run *r, const struct seq_op *op, struct seq_res *res)
{
	struct pollfd p = { .fd = slot_fd(r, op->slot), .events = POLLIN | POLLOUT | POLLRDHUP };

	res->ret = poll(&p, 1, 0);
	res->val = p.revents;
	res->has_val = 1;
}

typedef void (*op_fn)(struct run *, const struct seq_op *, struct seq_res *);
static const op_fn ops[OP__COUNT] = {
	[OP_SOCKET] = do_socket, [OP_BIND] = do_bind, [OP_LISTEN] = do_listen,
	[OP_ACCEPT] = do_accept, [OP_CONNECT] = do_connect, [OP_PEER_CONNECT] = do_peer_connect,
	[OP_SHUTDOWN] = do_shutdown, [OP_CLOSE] = do_close, [OP_SETSOCKOPT] = do_setsockopt,
	[OP_GETSOCKOPT] = do_getsockopt, [OP_SEND] = do_send, [OP_RECV] = do_recv,
	[OP_FCNTL] = do_fcntl, [OP_IOCTL] = do_ioctl, [OP_DUP] = do_dup,
	[OP_GETNAME] = do_getname, [OP_POLL] = do_poll,
};

void seq_run(const struct seq *s, const struct seq_world *w, unsigned seq_index,
	     struct seq_res *res)
{
	struct run r = { .w = w, .seq_index = seq_index };

	for (unsigned i = 0; i < SEQ_SLOTS; i++) {
		r.fd[i] = -1;
		r.file[i] = -1;
	}
	r.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (unsigned i = 0; i < s->n; i++) {
		const struct seq_op *op = &s->op[i];

		memset(&res[i], 0, sizeof(res[i]));
		if (op->slot < SEQ_SLOTS)
			settle(&r, op->slot);
		errno = 0;
		alarm_arm(1);
		ops[op->code % OP__COUNT](&r, op, &res[i]);
		if (res[i].ret == -1)
			res[i].err = errno;
		alarm_arm(0);
	}
	for (unsigned i = 0; i < SEQ_SLOTS; i++)
		if (r.fd[i] >= 0) {
			int fd = r.fd[i];

			close(fd);
			/* dup'ed slots hold other numbers of the same socket */
			drop_slot(&r, i);
		}
	if (r.devnull >= 0)
		close(r.devnull);
}

int seq_compare(const struct seq *s, const struct seq_res *a, const struct seq_res *b)
{
	for (unsigned i = 0; i < s->n; i++)
		if (a[i].ret != b[i].ret || a[i].err != b[i].err || a[i].has_val != b[i].has_val ||
		    (a[i].has_val && a[i].val != b[i].val))
			return (int)i;
	return -1;
}

void seq_print_res(FILE *f, const struct seq_res *r)
{
	char v[32] = "";

	if (r->has_val)
		snprintf(v, sizeof(v), " val=%lld", r->val);
	if (r->ret == SEQ_SKIPPED)
		fprintf(f, "skipped");
	else if (r->ret == -1)
		fprintf(f, "-1 %s%s", strerrorname_np(r->err) ? strerrorname_np(r->err) : "?", v);
	else
		fprintf(f, "%d%s", r->ret, v);
}

/* ---- names of the variants, for the list of differences ----------------- */

static const char *opt_name(const struct sopt *o)
{
	static const struct { int level, name; const char *s; } n[] = {
		{ SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR" }, { SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT" },
		{ SOL_SOCKET, SO_KEEPALIVE, "SO_KEEPALIVE" }, { SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF" },
		{ SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF" }, { SOL_SOCKET, SO_ERROR, "SO_ERROR" },
		{ SOL_SOCKET, SO_LINGER, "SO_LINGER" }, { SOL_SOCKET, SO_RCVTIMEO, "SO_RCVTIMEO" },
		{ SOL_SOCKET, SO_SNDTIMEO, "SO_SNDTIMEO" }, { SOL_SOCKET, SO_TYPE, "SO_TYPE" },
		{ SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN" }, { SOL_SOCKET, SO_ACCEPTCONN, "SO_ACCEPTCONN" },
		{ IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY" }, { IPPROTO_TCP, TCP_CORK, "TCP_CORK" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, "TCP_KEEPIDLE" }, { IPPROTO_TCP, TCP_KEEPINTVL, "TCP_KEEPINTVL" },
		{ IPPROTO_TCP, TCP_KEEPCNT, "TCP_KEEPCNT" }, { IPPROTO_TCP, TCP_USER_TIMEOUT, "TCP_USER_TIMEOUT" },
		{ IPPROTO_TCP, TCP_MAXSEG, "TCP_MAXSEG" }, { IPPROTO_TCP, TCP_QUICKACK, "TCP_QUICKACK" },
		{ IPPROTO_TCP, TCP_INFO, "TCP_INFO" }, { IPPROTO_IP, IP_TOS, "IP_TOS" },
		{ SOL_SOCKET, SO_PRIORITY, "SO_PRIORITY" }, { IPPROTO_TCP, TCP_CONGESTION, "TCP_CONGESTION" },
	};

	for (size_t i = 0; i < sizeof(n) / sizeof(n[0]); i++)
		if (n[i].level == o->level && n[i].name == o->name)
			return n[i].s;
	return "?";
}

const char *seq_variant(const struct seq_op *op)
{
	static char buf[96];
	static const char *const sock_b[] = { "", ",IPPROTO_TCP", "", ",IPPROTO_UDP", ",bad-type-flag", ",bad-domain" };
	static const char *const sock_a[] = { "", "NONBLOCK", "CLOEXEC", "NONBLOCK|CLOEXEC" };
	static const char *const bind_a[] = { "own", "any", "AF_INET6", "len=8", "192.0.2.77", "AF_UNSPEC-any" };
	static const char *const backlog[] = { "0", "1", "128", "-1", "1<<20" };
	static const char *const acc_a[] = { "accept", "accept4(0)", "accept4(NONBLOCK)", "accept4(CLOEXEC)", "accept4(0x1)" };
	static const char *const acc_b[] = { "NULL", "addr", "len=4", "len=-1" };
	static const char *const conn_a[] = { "peer", "closed-port", "AF_UNSPEC", "len=8", "AF_INET6" };
	static const char *const send_a[] = { "send", "sendto(NULL)", "sendmsg", "write", "writev", "sendto(peer)" };
	static const char *const send_c[] = { "0", "DONTWAIT", "NOSIGNAL", "MORE", "OOB|DONTWAIT", "DONTWAIT|NOSIGNAL" };
	static const unsigned send_b[] = { 0, 1, 100, 1448, 4096, 20000 };
	static const char *const recv_a[] = { "recv", "recvfrom", "recvmsg", "read", "readv" };
	static const char *const recv_c[] = { "0", "DONTWAIT", "PEEK|DONTWAIT", "WAITALL", "OOB|DONTWAIT", "TRUNC|DONTWAIT" };
	static const unsigned recv_b[] = { 0, 1, 100, 4096, 65536 };
	static const char *const fcntl_a[] = { "F_GETFL", "F_SETFL(NONBLOCK)", "F_SETFL(0)", "F_GETFD", "F_SETFD(CLOEXEC)",
					       "F_DUPFD+close", "F_DUPFD_CLOEXEC+close", "cmd 9999", "F_SETFL(NONBLOCK|APPEND)" };
	static const char *const ioctl_a[] = { "FIONBIO(1)", "FIONBIO(0)", "FIONREAD", "SIOCOUTQ", "bad request" };
	static const char *const dup_a[] = { "dup", "dup2", "dup3(CLOEXEC)", "dup3(0x1234)", "dup2(fd,fd)", "dup3(fd,fd,0)" };
	static const char *const optlen[] = { "len ok", "len=0", "len=2", "len=64" };
	static const char *const optval[] = { "0", "1", "typical", "-1", "1<<30" };
	static const char *const badfd[] = { "fd -1", "fd 1<<20", "/dev/null", "fd 1000" };
	const struct sopt *o = &opts[op->a % NOPTS];
	char fd[16];

	if (op->slot >= SEQ_SLOTS)
		snprintf(fd, sizeof(fd), "%s", badfd[op->slot - SEQ_SLOTS]);
	else
		snprintf(fd, sizeof(fd), "s%u", op->slot);
	switch (op->code % OP__COUNT) {
	case OP_SOCKET:
		snprintf(buf, sizeof(buf), "s%u = socket(%s%s)", op->slot % SEQ_SLOTS, sock_a[op->a % 4], sock_b[op->b % 6]);
		break;
	case OP_BIND: snprintf(buf, sizeof(buf), "bind(%s,%s,port%u)", fd, bind_a[op->a % 6], op->b % 4); break;
	case OP_LISTEN: snprintf(buf, sizeof(buf), "listen(%s,%s)", fd, backlog[op->a % 5]); break;
	case OP_ACCEPT:
		snprintf(buf, sizeof(buf), "s%u = %s(%s,%s)", (op->slot + 1) % SEQ_SLOTS, acc_a[op->a % 5], fd,
			 acc_b[op->b % 4]);
		break;
	case OP_CONNECT: snprintf(buf, sizeof(buf), "connect(%s,%s)", fd, conn_a[op->a % 5]); break;
	case OP_PEER_CONNECT: snprintf(buf, sizeof(buf), "peer-connect(%s)", fd); break;
	case OP_SHUTDOWN: snprintf(buf, sizeof(buf), "shutdown(%s,%u)", fd, op->a % 4); break;
	case OP_CLOSE: snprintf(buf, sizeof(buf), "close(%s)", fd); break;
	case OP_SETSOCKOPT:
		snprintf(buf, sizeof(buf), "setsockopt(%s,%s,%s,%s)", fd, opt_name(o), optval[op->b % 5], optlen[op->c % 4]);
		break;
	case OP_GETSOCKOPT: snprintf(buf, sizeof(buf), "getsockopt(%s,%s,%s)", fd, opt_name(o), optlen[op->c % 4]); break;
	case OP_SEND:
		snprintf(buf, sizeof(buf), "%s(%s,%u,%s)", send_a[op->a % 6], fd, send_b[op->b % 6], send_c[op->c % 6]);
		break;
	case OP_RECV:
		snprintf(buf, sizeof(buf), "%s(%s,%u,%s)", recv_a[op->a % 5], fd, recv_b[op->b % 5],
			 op->a % 5 >= 3 ? "-" : recv_c[op->c % 6]);
		break;
	case OP_FCNTL: snprintf(buf, sizeof(buf), "fcntl(%s,%s)", fd, fcntl_a[op->a % 9]); break;
	case OP_IOCTL: snprintf(buf, sizeof(buf), "ioctl(%s,%s)", fd, ioctl_a[op->a % 5]); break;
	case OP_DUP: snprintf(buf, sizeof(buf), "%s(%s,s%u)", dup_a[op->a % 6], fd, op->b % SEQ_SLOTS); break;
	case OP_GETNAME:
		snprintf(buf, sizeof(buf), "%s(%s,len%u)", op->a % 2 ? "getpeername" : "getsockname", fd, op->b % 4);
		break;
	default: snprintf(buf, sizeof(buf), "poll(%s)", fd); break;
	}
	return buf;
}
