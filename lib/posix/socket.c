/* socket.c - socket, bind, listen, accept, connect, shutdown, close and the names: which AF_INET stream sockets move to the engine, and how. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/posix/internal.h"

int64_t px_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t px_deadline(const struct timeval *tv)
{
	if (!tv->tv_sec && !tv->tv_usec)
		return -1;
	return px_now_ns() + (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
}

int64_t px_sock_deadline(uint32_t s, bool snd)
{
	struct timeval tv = px_opt_timeo(&px.sh->socks[s].opts, snd);

	return px_deadline(&tv);
}

int px_block(int fd, int kfd, int64_t deadline, bool restartable)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = kfd, .events = POLLIN } };
	int64_t t = -1;
	int r;

	if (deadline >= 0) {
		t = deadline - px_now_ns();
		if (t <= 0)
			return -ETIMEDOUT;
	}
	px_sig_clear();
	r = px_sleep(p, kfd >= 0 ? 2 : 1, t, NULL);
	if (r == -EINTR) {
		/* signal(7): socket calls restart under SA_RESTART, except
		 * when the socket has a timeout */
		if (restartable && deadline < 0 && px_sig_restart())
			return 0;
		return -EINTR;
	}
	return r < 0 ? r : 0;
}

int px_sock_err(uint32_t s, bool take)
{
	struct px_sock *ps = &px.sh->socks[s];
	uint32_t f;
	int e;

	if (ps->err_taken)
		return 0;
	f = LOAD_ACQ(&px_ssock(s)->flags);
	if (px.sh->dead)
		e = -ECONNRESET;
	else if (f & APPIF_SF_ERROR)
		e = px_ssock(s)->err ? px_ssock(s)->err : -ECONNRESET;
	else
		return 0;
	if (take)
		ps->err_taken = 1;
	return e;
}

/* Both FINs went, ours first or last: Linux's socket is then in TIME_WAIT
 * or CLOSED, which a full socket shows as TCP_CLOSE.  (The engine does not
 * tell when our FIN is acknowledged: LAST_ACK and CLOSING, brief on
 * Linux, are not told apart.) */
static bool fins_done(const struct px_sock *ps, uint32_t fl)
{
	return ps->kind == PK_CONN && ps->shut_wr && (fl & APPIF_SF_EOF);
}

int px_socket(int domain, int type, int proto)
{
	int fd = px_real.socket(domain, type, proto);
	struct px_fd *f;

	if (fd < 0)
		return -errno;
	if ((domain != AF_INET && domain != AF_INET6) || (type & 0xff) != SOCK_STREAM ||
	    (proto != 0 && proto != IPPROTO_TCP) || px.failed)
		return fd;
	f = px_fd(fd);
	if (f)
		px_cand_init(fd);
	return fd;
}

static uint16_t kernel_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (px_real.getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)&ss)->sin6_port;
	return ss.ss_family == AF_INET ? ((const struct sockaddr_in *)&ss)->sin_port : 0;
}

/* Is the kernel socket fd an AF_INET6 one? */
static bool kernel_v6(int fd)
{
	int d = 0;
	socklen_t len = sizeof(d);

	return !px_real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &len) && d == AF_INET6;
}

static bool is_engine_ip6(const struct in6_addr *a)
{
	return px.up && px.has_ip6 && !memcmp(a, px.ip6, 16);
}

/* Does the engine reach IPv6 peer a (from its own address, or from ::)?
 * Loopback, link-local, multicast, IPv4-mapped and the unspecified
 * address stay the kernel's; so does anything off the engine's prefix. */
static bool engine_route6(bool bound_engine, const struct in6_addr *a)
{
	unsigned pl = px.prefix6_len;

	if (!px.up || !px.has_ip6 || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
	    IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_V4MAPPED(a) ||
	    is_engine_ip6(a))
		return false;
	if (bound_engine)
		return true;
	for (unsigned i = 0; i < 16 && pl; i++) {
		unsigned bits = pl < 8 ? pl : 8;
		uint8_t m = (uint8_t)(0xff00u >> bits);

		if ((a->s6_addr[i] ^ px.ip6[i]) & m)
			return false;
		pl -= bits;
	}
	return true;
}

/* Linux's checks of bind(2)'s arguments in its order (inet_bind: length,
 * family, address): 0 if they pass, else -errno. */
static int bind_check(const struct sockaddr *a, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
	uint32_t ip;

	if (len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	if (len && !a)
		return -EFAULT;
	if (len < sizeof(*sin))
		return -EINVAL;
	ip = sin->sin_addr.s_addr;
	if (sin->sin_family != AF_INET && (sin->sin_family != AF_UNSPEC || ip != INADDR_ANY))
		return -EAFNOSUPPORT;
	if (ip != INADDR_ANY && !(px.up && ip == px.ip)) {
		/* is it an address of this host?  A scratch socket asks */
		struct sockaddr_in t = { .sin_family = AF_INET, .sin_addr.s_addr = ip };
		int k = px_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

		if (k >= 0) {
			if (px_real.bind(k, (struct sockaddr *)&t, sizeof(t)) && errno == EADDRNOTAVAIL)
				err = -EADDRNOTAVAIL;
			px_real.close(k);
		}
		if (err)
			return err;
	}
	return 0;
}

/* bind(2) on a socket that already has an address: the checks, then EINVAL. */
static int bind_again(const struct sockaddr *a, socklen_t len)
{
	return bind_check(a, len) ?: -EINVAL;
}

/* Does an engine socket of this process family hold port (network order)
 * on an address that overlaps ip, so that Linux's bind would say
 * EADDRINUSE (inet_csk_bind_conflict: both SO_REUSEPORT, or both
 * SO_REUSEADDR with no listener, may share)?  The engine does not tell
 * about other families' ports: those conflicts surface at listen. */
/* May two sockets of these options share a port (inet_csk_bind_conflict:
 * both SO_REUSEPORT, or both SO_REUSEADDR with no listener)? */
static bool may_share(const struct px_opts *a, const struct px_opts *b, bool listening)
{
	return (px_opt_on(a, SO_REUSEPORT) && px_opt_on(b, SO_REUSEPORT)) ||
	       (px_opt_on(a, SO_REUSEADDR) && px_opt_on(b, SO_REUSEADDR) && !listening);
}

/* Does another not yet placed socket of this process hold port on an
 * address that overlaps ip, where the kernel cannot see it: one of the
 * two bound to the engine's address, the other to it or to 0.0.0.0? */
static bool cand_port_busy(int fd, const struct px_opts *mine, uint32_t ip, uint16_t port)
{
	const struct px_fd *me = px_fd(fd);

	for (unsigned int i = 0; i < px_fd_hi; i++) {
		const struct px_fd *o = &px_fds[i];
		struct px_opts theirs;

		if ((int)i == fd || o->kind != FD_CAND || o->bound_port != port ||
		    (me && me->kino && o->kino == me->kino) ||
		    (ip != px.ip && !o->bound_engine))
			continue;
		px_opts_from_kernel((int)i, &theirs);
		if (!may_share(mine, &theirs, false))
			return true;
	}
	return false;
}

/* The address families an engine socket's port holds (APPIF_LISTEN_*):
 * an AF_INET one IPv4, an IPV6_V6ONLY listener IPv6, another AF_INET6
 * one both (Linux's bind conflicts across families). */
static unsigned sock_fams(const struct px_sock *ps)
{
	if (!ps->v6)
		return APPIF_LISTEN_V4;
	return ps->v6only ? APPIF_LISTEN_V6 : APPIF_LISTEN_V4 | APPIF_LISTEN_V6;
}

/* Those a kernel socket about to bind would hold. */
static unsigned kernel_fams(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	if (!kernel_v6(fd))
		return APPIF_LISTEN_V4;
	if (px_real.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &len))
		on = 0;
	return on ? APPIF_LISTEN_V6 : APPIF_LISTEN_V4 | APPIF_LISTEN_V6;
}

static bool engine_port_busy(int fd, uint32_t ip, uint16_t port)
{
	unsigned fams;
	struct px_opts mine;
	bool busy = false;

	if (!px.up || !port || (ip != INADDR_ANY && ip != px.ip))
		return false;
	px_opts_from_kernel(fd, &mine);
	if (cand_port_busy(fd, &mine, ip, port))
		return true;
	fams = kernel_fams(fd);
	px_lock();
	busy = px_tw_busy(port, &mine);
	for (uint32_t s = 0; s < px.max_socks && !busy; s++) {
		const struct px_sock *ps = &px.sh->socks[s];

		if (ps->kind == PK_FREE || ps->local_port != port || !(sock_fams(ps) & fams))
			continue;
		busy = !may_share(&mine, &ps->opts, ps->kind == PK_LISTEN);
	}
	px_unlock();
	return busy;
}

/* Why an engine socket turns back into a kernel socket. */
enum dis_why {
	DIS_UNSPEC,	/* connect(AF_UNSPEC) */
	DIS_SHUT_RD,	/* shutdown(SHUT_RD) of a listener or a connecting socket */
	DIS_FAILED,	/* connect() ended the attempt with an error */
	DIS_BIND,	/* bind() on a connection that failed or was reset */
};

static int disconnect(int fd, uint32_t s, enum dis_why why, int cerr, int how);

/* A connection that failed, was reset, or closed both ways is in
 * TCP_CLOSE and has no port any more: Linux lets it bind again.  Such an
 * engine socket becomes its kernel twin first.  A connection closed both
 * ways hands the twin its unread data (Linux keeps it readable, after
 * shutdown(SHUT_RD) too: tcp_recvmsg looks at the queue first); a failed
 * one must have none. */
static bool bind_frees(uint32_t s)
{
	struct px_sock *ps = &px.sh->socks[s];
	struct appif_sock *ss = px_ssock(s);
	uint32_t fl;
	bool r;

	px_lock();
	fl = LOAD_ACQ(&ss->flags);
	r = ps->kind == PK_CONN && !px.sh->dead &&
	    ((!(fl & APPIF_SF_ERROR) && fins_done(ps, fl)) ||
	     ((fl & APPIF_SF_ERROR) && (LOAD_ACQ(&ss->rx_head) == ss->rx_tail || ps->shut_rd)));
	px_unlock();
	return r;
}

/* bind() of an AF_INET6 candidate: the engine's IPv6 address moves it
 * (as the IPv4 one does), :: keeps it a candidate served by both (the
 * kernel's loopback beside the engine), any other address is the
 * kernel's (loopback, link-local, IPv4-mapped, its own addresses). */
static int bind6(int fd, struct px_fd *f, const struct sockaddr_in6 *sin6, socklen_t len)
{
	const struct in6_addr *ip = &sin6->sin6_addr;
	bool any = IN6_IS_ADDR_UNSPECIFIED(ip);

	if (!any && !IN6_IS_ADDR_LOOPBACK(ip) && !IN6_IS_ADDR_LINKLOCAL(ip) &&
	    !IN6_IS_ADDR_V4MAPPED(ip))
		px_ctx_get();	/* to know the engine's address */
	if (is_engine_ip6(ip)) {
		struct sockaddr_in6 any6 = { .sin6_family = AF_INET6, .sin6_port = sin6->sin6_port };

		if (engine_port_busy(fd, px.ip, sin6->sin6_port))
			return -EADDRINUSE;
		if (kernel_port(fd))
			return -EINVAL;
		if (ntohs(sin6->sin6_port) && ntohs(sin6->sin6_port) < px.unpriv_port_start)
			return -EACCES;
		if (!sin6->sin6_port && px_real.bind(fd, (struct sockaddr *)&any6, sizeof(any6)))
			return -errno;
		f->bound_port = sin6->sin6_port ? sin6->sin6_port : kernel_port(fd);
		f->bound_engine = 1;
		px_cand_sync(fd);
		return 0;
	}
	if (any && engine_port_busy(fd, INADDR_ANY, sin6->sin6_port))
		return -EADDRINUSE;
	if (px_real.bind(fd, (const struct sockaddr *)sin6, len))
		return -errno;
	if (any)
		f->bound_port = kernel_port(fd);
	else
		__atomic_store_n(&f->kind, FD_NONE, __ATOMIC_RELEASE);	/* the kernel's */
	px_cand_sync(fd);
	return 0;
}

int px_bind(int fd, const struct sockaddr *a, socklen_t len)
{
	struct px_fd *f = px_fd(fd);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
	int s = px_sock_of(fd), r;
	uint32_t ip;

	if (s >= 0 && bind_frees((uint32_t)s)) {
		/* a bind that fails its argument checks leaves the socket
		 * as it is (its name stays the connection's) */
		if (!px.sh->socks[s].v6 && (r = bind_check(a, len)))
			return r;
		r = disconnect(fd, (uint32_t)s, DIS_BIND, 0, 0);
		if (r)
			return r;
		f = px_fd(fd);
		s = -1;
	}
	if (s >= 0 || (f && f->kind == FD_CAND && f->bound_engine && !f->twin))
		return bind_again(a, len);
	if (f && f->kind == FD_CAND && a && len >= sizeof(struct sockaddr_in6) &&
	    a->sa_family == AF_INET6 && !f->twin)
		return bind6(fd, f, (const struct sockaddr_in6 *)a, len);
	/* inet_bind_sk: AF_UNSPEC is AF_INET when the address is INADDR_ANY */
	if (!f || f->kind != FD_CAND || !a || len < sizeof(*sin) ||
	    (sin->sin_family != AF_INET &&
	     (sin->sin_family != AF_UNSPEC || sin->sin_addr.s_addr != INADDR_ANY)) ||
	    kernel_v6(fd))	/* an AF_INET6 socket: the kernel's answer (EINVAL) */
		return px_real.bind(fd, a, len) ? -errno : 0;
	ip = sin->sin_addr.s_addr;
	if (ip != INADDR_ANY && (ntohl(ip) >> 24) != 127)
		px_ctx_get();	/* to know the engine's address */
	if (engine_port_busy(fd, ip, sin->sin_port))
		return -EADDRINUSE;
	if (px.up && ip == px.ip) {
		/* The kernel does not have the engine's address: keep it.  A
		 * twin's state decides whether it may bind at all (its port
		 * may be gone while getsockname still shows it), and an
		 * ephemeral port is one the kernel has free: both through a
		 * kernel bind to 0.0.0.0 on the port. */
		struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = sin->sin_port };

		if (!f->twin && kernel_port(fd))
			return -EINVAL;
		/* the engine's rule for its ports, as Linux's bind() (the
		 * engine enforces it again at listen and connect) */
		if (ntohs(sin->sin_port) && ntohs(sin->sin_port) < px.unpriv_port_start)
			return -EACCES;
		if ((f->twin || !sin->sin_port) &&
		    px_real.bind(fd, (struct sockaddr *)&any, sizeof(any)))
			return -errno;
		f->bound_port = f->twin || !sin->sin_port ? kernel_port(fd) : sin->sin_port;
		f->bound_engine = 1;
		px_cand_sync(fd);
		return 0;
	}
	if (px_real.bind(fd, a, len))
		return -errno;
	if (ip == INADDR_ANY) {
		f->bound_port = kernel_port(fd);
		f->port_locked = !!sin->sin_port;
	} else
		__atomic_store_n(&f->kind, FD_NONE, __ATOMIC_RELEASE);	/* the kernel's */
	px_cand_sync(fd);
	return 0;
}

/* What a kernel socket about to move to the engine keeps: its O_NONBLOCK,
 * FD_CLOEXEC and options; and the eventfd that will take its place.
 * Returns the eventfd, or -errno. */
static int move_prepare(int fd, int *fl, int *cloexec, struct px_opts *opts)
{
	int efd;

	*fl = px_real.fcntl(fd, F_GETFL);
	*cloexec = px_real.fcntl(fd, F_GETFD) & FD_CLOEXEC;
	px_opts_from_kernel(fd, opts);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return efd < 0 ? -errno : efd;
}

/* Replace fd (a kernel socket) by efd, keeping its number and FD_CLOEXEC. */
static int take_over(int fd, int efd, int cloexec)
{
	if (px_real.dup3(efd, fd, cloexec ? O_CLOEXEC : 0) < 0)
		return -errno;
	px_real.close(efd);
	return 0;
}

/* Under the lock: fd moved to engine socket s; its dups (the same kernel
 * socket, peers[] gathered before the move) follow it, as on Linux they
 * share the one socket. */
static void move_peers(int fd, uint32_t s, const int *peers, int np)
{
	for (int i = 0; i < np; i++) {
		int cl = px_real.fcntl(peers[i], F_GETFD);

		if (cl < 0 || px_real.dup3(fd, peers[i], cl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0)
			continue;
		px_fd_forget(peers[i]);
		px_fd_attach(peers[i], s);
	}
}

int px_listen(int fd, int backlog)
{
	struct px_fd *f = px_fd(fd);
	struct px_opts opts;
	struct px_sock *ps;
	uint16_t port, fams = APPIF_LISTEN_V4;
	int efd, kfd = -1, fl, cloexec, h, err, peers[PX_MAX_PEERS], np, v6only = 0;
	bool v6;
	int s;

	s = px_sock_of(fd);
	if (s >= 0) {
		px_lock();
		err = px.sh->socks[s].kind == PK_LISTEN ? 0 : -EINVAL;
		if (!err && backlog > 0)
			px.sh->socks[s].backlog = (uint32_t)backlog;
		px_unlock();
		return err;
	}
	if (!f || f->kind != FD_CAND || px_ctx_get())
		return px_real.listen(fd, backlog) ? -errno : 0;
	if (f->bound_engine && f->twin && px_real.listen(fd, backlog))
		return -errno;	/* the twin's state refuses it (its kernel socket goes anyway) */
	if (!f->bound_engine) {
		/* 0.0.0.0: the kernel listens too, for loopback */
		if (px_real.listen(fd, backlog))
			return -errno;
		port = kernel_port(fd);
	} else {
		port = f->bound_port;
	}
	if (backlog <= 0 || backlog > 4096)
		backlog = backlog <= 0 ? 1 : 4096;
	/* Linux: an AF_INET listener gets IPv4 peers only; an AF_INET6 one
	 * on :: both (IPv4 ones as ::ffff:a.b.c.d) unless IPV6_V6ONLY; one on
	 * the engine's IPv6 address IPv6 peers only */
	v6 = kernel_v6(fd);
	if (v6) {
		socklen_t ol = sizeof(v6only);

		if (px_real.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol))
			v6only = 0;
		fams = f->bound_engine || v6only ? APPIF_LISTEN_V6 :
						   APPIF_LISTEN_V4 | APPIF_LISTEN_V6;
	}
	efd = move_prepare(fd, &fl, &cloexec, &opts);
	if (efd < 0)
		return efd;
	if (!f->bound_engine) {
		kfd = px_real.fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (kfd < 0 || px_real.fcntl(kfd, F_SETFL, O_NONBLOCK)) {
			err = -errno;
			px_real.close(efd);
			if (kfd >= 0)
				px_real.close(kfd);
			return err;
		}
	}
	np = px_fd_peers(fd, peers, PX_MAX_PEERS);
	px_lock();
	h = px_call(APPIF_OP_LISTEN, 0, ntohs(port), (uint32_t)backlog, fams, PK_LISTEN, efd);
	if (h < 0)
		goto fail;
	s = (int)appif_handle_idx((uint32_t)h);
	err = take_over(fd, efd, cloexec);
	if (err) {
		px_sock_release((uint32_t)s);
		h = err;
		goto fail;
	}
	ps = &px.sh->socks[s];
	ps->kfd = kfd;
	ps->any_bound = kfd >= 0;
	ps->local_ip = f->bound_engine ? px.ip : INADDR_ANY;
	ps->local_port = port;
	ps->bound_engine = f->bound_engine;
	ps->v6 = v6;
	ps->v6only = v6only != 0;
	ps->nonblock = !!(fl & O_NONBLOCK);
	ps->backlog = (uint32_t)backlog;
	ps->opts = opts;
	px_fd_attach(fd, (uint32_t)s);
	move_peers(fd, (uint32_t)s, peers, np);
	px_unlock();
	return 0;
fail:
	px_unlock();
	px_real.close(efd);
	if (kfd >= 0)
		px_real.close(kfd);
	return h;
}

/* Wait for connect()'s handshake on socket s (lock held). */
static int connect_wait(int fd, uint32_t s)
{
	struct px_sock *ps = &px.sh->socks[s];
	int64_t deadline = px_sock_deadline(s, true);
	int r;

	for (bool drained = false;;) {
		uint32_t fl;

		px_pump();
		fl = LOAD_ACQ(&px_ssock(s)->flags);
		if ((fl & APPIF_SF_ERROR) || px.sh->dead) {
			ps->connecting = 0;
			r = px_sock_err(s, true);
			return r ? r : -ECONNABORTED;	/* SO_ERROR took it: Linux's sock_error */
		}
		if (fl & APPIF_SF_CONNECTED) {
			ps->connecting = 0;
			return 0;
		}
		if (ps->nonblock)
			return -EALREADY;
		if (px_drain_once(fd, &drained))
			continue;
		ps->nwait++;
		px_unlock();
		r = px_block(fd, -1, deadline, true);
		px_lock();
		ps->nwait--;
		if (r == -ETIMEDOUT)
			return -EINPROGRESS;	/* connect(2): timed out, still going */
		if (r)
			return r;
	}
}

/* Under the lock: a copy of socket s's unread bytes (*n of them; NULL
 * when none or no memory). */
static uint8_t *rx_snapshot(uint32_t s, size_t *n)
{
	struct appif_sock *ss = px_ssock(s);
	uint32_t tail = ss->rx_tail, avail = LOAD_ACQ(&ss->rx_head) - tail, size = px.buf_size;
	uint8_t *ring = px_rxbuf(s), *buf;
	uint32_t off = tail & (size - 1), first;

	*n = 0;
	if (!avail || avail > size || !(buf = malloc(avail)))
		return NULL;
	first = size - off < avail ? size - off : avail;
	memcpy(buf, ring + off, first);
	memcpy(buf + first, ring, avail - first);
	*n = avail;
	return buf;
}

/* The kernel socket fd turns into: a twin (twin.c) where the engine
 * socket's state can be replayed on loopback, else a fresh socket.
 * Returns it, or -errno; *res gets the result of the call (a listener's
 * own kernel socket answers the call itself), *kerr the error a fresh
 * socket has to report once. */
static int kernel_twin(uint32_t s, enum dis_why why, int cerr, int how, int *res, int *kerr,
		       bool *twin, uint16_t *bound, uint16_t *kport)
{
	struct px_sock *ps = &px.sh->socks[s];
	struct px_opts opts;
	bool listener, connecting, failed, finished, reset, taken, nonblock, locked;
	int k, kfd = -1;
	uint32_t fl;
	uint8_t *unread = NULL;
	size_t nunread = 0;
	int pending = 0;

	px_lock();
	fl = LOAD_ACQ(&px_ssock(s)->flags);
	listener = ps->kind == PK_LISTEN;
	connecting = ps->connecting && !(fl & APPIF_SF_CONNECTED);
	failed = (fl & APPIF_SF_ERROR) || px.sh->dead;
	finished = !failed && fins_done(ps, fl);
	reset = failed && px_ssock(s)->err != -ECONNREFUSED;
	taken = ps->err_taken;
	nonblock = ps->nonblock;
	/* tcp_disconnect, and tcp_done after a refused connect, keep an
	 * address and port bind() gave (the SOCK_BIND*_LOCK user locks); a
	 * reset or a failure the twin cannot replay does not here */
	locked = ps->bound_engine == 1;
	*bound = ps->bound_engine && (why == DIS_UNSPEC || why == DIS_SHUT_RD ||
				      (why == DIS_FAILED && cerr == -ECONNREFUSED && locked)) ?
		 ps->local_port : 0;
	/* the same for a port bind() asked for on 0.0.0.0 (SOCK_BINDPORT_LOCK
	 * alone): the kernel socket keeps it */
	*kport = ps->port_locked && (why == DIS_UNSPEC || why == DIS_SHUT_RD ||
				     (why == DIS_FAILED && cerr == -ECONNREFUSED) ||
				     (why == DIS_BIND && failed && !reset && !px.sh->dead)) ?
		 ps->local_port : 0;
	opts = ps->opts;
	if (why == DIS_BIND && finished)
		unread = rx_snapshot(s, &nunread);
	if (listener && ps->kfd >= 0)
		kfd = px_real.fcntl(ps->kfd, F_DUPFD_CLOEXEC, 0);
	/* tcp_disconnect resets a synchronized connection and leaves
	 * ECONNRESET pending */
	*kerr = why == DIS_UNSPEC && ps->kind == PK_CONN && !connecting && !failed && !finished &&
		!(fl & APPIF_SF_CLOSED) ? ECONNRESET : 0;
	/* a failed connection's error nobody took stays pending: from
	 * TCP_CLOSE, tcp_disconnect leaves sk_err alone (the fresh socket
	 * reports it: set at the end) */
	if (why == DIS_UNSPEC && ps->kind == PK_CONN && failed && !taken && !px.sh->dead &&
	    px_ssock(s)->err < 0)
		pending = -px_ssock(s)->err;
	px_unlock();
	*res = 0;
	*twin = false;
	if (kfd < 0 && listener && *bound) {
		/* an engine-address listener: a loopback one on its port
		 * stands in for it (only for this step: the fd keeps the
		 * engine address and port) */
		struct sockaddr_in lo = { .sin_family = AF_INET, .sin_port = *bound,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		kfd = px_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (kfd >= 0) {
			px_opts_to_kernel(kfd, &opts);
			if (px_real.bind(kfd, (struct sockaddr *)&lo, sizeof(lo)) ||
			    px_real.listen(kfd, 1)) {
				px_real.close(kfd);
				kfd = -1;
			}
		}
	}
	if (kfd >= 0) {
		/* a 0.0.0.0 listener: its kernel socket is the real thing */
		px_real.fcntl(kfd, F_SETFL, nonblock ? O_NONBLOCK : 0);
		if (why == DIS_UNSPEC) {
			struct sockaddr sa = { .sa_family = AF_UNSPEC };

			*res = px_real.connect(kfd, &sa, sizeof(sa)) ? -errno : 0;
		} else {
			*res = px_real.shutdown(kfd, how) ? -errno : 0;
		}
		*kerr = 0;
		*twin = true;
		return kfd;
	}
	k = px_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (k < 0) {
		int err = -errno;

		free(unread);
		return err;
	}
	px_opts_to_kernel(k, &opts);
	if (listener)
		return k;
	if (*kport) {
		struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = *kport };

		if (px_real.bind(k, (struct sockaddr *)&any, sizeof(any)))
			*kport = 0;
	}
	if (why == DIS_FAILED && cerr == -ECONNREFUSED) {
		if (*bound) {
			/* the twin holds the port as the engine socket did */
			struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = *bound };

			if (px_real.bind(k, (struct sockaddr *)&any, sizeof(any)))
				*bound = 0;
		}
		*twin = !px_twin_refused(k, true);
	} else if (why == DIS_BIND && finished) {
		*twin = !px_twin_connected(k, TWIN_FINISHED, unread, nunread);
	} else if (why == DIS_BIND && failed && !px.sh->dead) {
		*twin = !(reset ? px_twin_connected(k, TWIN_RESET, NULL, 0) : px_twin_refused(k, false));
		if (*twin && taken) {
			int e;
			socklen_t l = sizeof(e);

			px_real.getsockopt(k, SOL_SOCKET, SO_ERROR, &e, &l);
		}
	} else if (why == DIS_UNSPEC && *kerr) {
		int c;

		if (locked) {
			/* bind() locked the port: the twin's bind locks it too */
			struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = *bound };

			px_real.bind(k, (struct sockaddr *)&any, sizeof(any));
		}
		c = px_twin_connected(k, TWIN_OPEN, NULL, 0);

		if (c >= 0) {
			struct sockaddr sa = { .sa_family = AF_UNSPEC };

			*res = px_real.connect(k, &sa, sizeof(sa)) ? -errno : 0;
			px_real.close(c);
			*kerr = 0;	/* the kernel's tcp_disconnect left it pending */
			*twin = true;
		}
	}
	if (pending)
		*kerr = pending;
	free(unread);
	return k;
}

/* Linux's tcp_disconnect, and the other ways an engine socket goes back
 * to the kernel (enum dis_why).  The engine socket goes (a connection is
 * reset) and fd, with every other fd of this process for the socket,
 * becomes the kernel socket kernel_twin() made, with the same
 * O_NONBLOCK, FD_CLOEXEC and options.  Returns the call's result. */
static int disconnect(int fd, uint32_t s, enum dis_why why, int cerr, int how)
{
	int peers[PX_MAX_PEERS], np, k, fdfl, res, kerr;
	uint16_t bound, kport;
	struct px_fd *f;
	bool twin;

	fdfl = px_real.fcntl(fd, F_GETFD);
	if (fdfl < 0)
		return -errno;
	k = kernel_twin(s, why, cerr, how, &res, &kerr, &twin, &bound, &kport);
	if (k < 0)
		return k;
	px_lock();
	np = px_fd_peers(fd, peers, PX_MAX_PEERS);
	if (px_sock_of(fd) == (int)s) {
		struct px_sock *ps = &px.sh->socks[s];
		uint32_t h = ps->handle;
		bool listener = ps->kind == PK_LISTEN;

		if (ps->kind == PK_CONN && ps->refs > (uint32_t)np + 1) {
			/* other processes keep the (reset) socket */
			px_cmd(APPIF_OP_ABORT, ps->handle, 0, 0, 0);
		} else if (ps->kind == PK_CONN) {
			/* the last reference: release it with a reset */
			struct linger lg = { 1, 0 };
			int i = px_opt_index(SOL_SOCKET, SO_LINGER);

			memcpy(ps->opts.val[i], &lg, sizeof(lg));
			ps->opts.len[i] = sizeof(lg);
		}
		for (int i = 0; i < np; i++)
			px_fd_detach(peers[i]);
		px_fd_detach(fd);
		if (listener && ps->handle != h)
			px_engine_sync(h);	/* refused from now on, as the twin is */
	}
	px_unlock();
	px_fd_forget(fd);
	if (px_real.dup3(k, fd, fdfl & FD_CLOEXEC ? O_CLOEXEC : 0) < 0) {
		int err = -errno;

		px_real.close(k);
		return err;
	}
	px_real.close(k);
	px_cand_init(fd);
	f = px_fd(fd);
	if (f) {
		f->kerr = kerr;
		f->twin = twin;
		f->bound_engine = !!bound;
		f->bound_port = bound ? bound : kport;
		f->port_locked = !bound && kport;
	}
	for (int i = 0; i < np; i++) {
		int cl = px_real.fcntl(peers[i], F_GETFD);

		px_fd_forget(peers[i]);
		if (cl >= 0 && px_real.dup3(fd, peers[i], cl & FD_CLOEXEC ? O_CLOEXEC : 0) >= 0)
			px_cand_dup(fd, peers[i]);
	}
	return res;
}

/* Did connect() end the attempt?  Linux then disconnects the socket,
 * which may connect again (inet_stream_connect: sock_error). */
static bool connect_failed(int err)
{
	return err && err != -EINPROGRESS && err != -EALREADY && err != -EINTR && err != -EISCONN;
}

/* Move candidate fd to the engine with connect command op (CONNECT, or
 * CONNECT6 with the address in a0, a1 and r2) and wait as connect(2). */
static int connect_move(int fd, struct px_fd *f, uint16_t op, uint32_t handle, uint32_t a0,
			uint32_t a1, uint64_t r2, uint32_t peer_ip, uint16_t peer_port, bool v6)
{
	struct px_opts opts;
	struct px_sock *ps;
	uint8_t kshut;
	int s, efd, fl, cloexec, h, err, peers[PX_MAX_PEERS], np;

	kshut = f->kshut;
	efd = move_prepare(fd, &fl, &cloexec, &opts);
	if (efd < 0)
		return efd;
	np = px_fd_peers(fd, peers, PX_MAX_PEERS);
	px_lock();
	h = px_call_r2(op, handle, a0, a1, ntohs(f->bound_port), r2, PK_CONN, efd);
	if (h < 0) {
		px_unlock();
		px_real.close(efd);
		return h == -ENOSPC ? -EADDRNOTAVAIL : h;
	}
	s = (int)appif_handle_idx((uint32_t)h);
	err = take_over(fd, efd, cloexec);
	if (err) {
		px_sock_release((uint32_t)s);
		px_unlock();
		px_real.close(efd);
		return err;
	}
	ps = &px.sh->socks[s];
	ps->peer_ip = peer_ip;
	ps->peer_port = peer_port;
	ps->v6 = v6;
	ps->local_ip = px.ip;
	ps->local_port = htons((uint16_t)px_ssock((uint32_t)s)->local_port);
	ps->bound_engine = f->bound_engine;
	ps->port_locked = !f->bound_engine && f->port_locked;
	ps->nonblock = !!(fl & O_NONBLOCK);
	ps->opts = opts;
	ps->connecting = 1;
	/* shutdown() before connect: Linux keeps the bits, sends no FIN */
	ps->shut_rd = kshut & 1;
	ps->shut_wr = !!(kshut & 2);
	px_fd_attach(fd, (uint32_t)s);
	move_peers(fd, (uint32_t)s, peers, np);
	err = ps->nonblock ? -EINPROGRESS : connect_wait(fd, (uint32_t)s);
	px_unlock();
	return connect_failed(err) ? disconnect(fd, (uint32_t)s, DIS_FAILED, err, 0) ?: err : err;
}

/* connect() of an AF_INET6 candidate to sin6: to the engine when it
 * reaches the peer (engine_route6), else the kernel's socket. */
static int connect6(int fd, struct px_fd *f, const struct sockaddr_in6 *sin6, socklen_t len)
{
	uint64_t r2;
	uint32_t a0, a1;

	if (px_ctx_get() || f->twin || !engine_route6(f->bound_engine, &sin6->sin6_addr)) {
		if (f->bound_engine)
			return -ENETUNREACH;	/* the engine does not reach it */
		__atomic_store_n(&f->kind, FD_NONE, __ATOMIC_RELEASE);
		px_cand_sync(fd);
		return px_real.connect(fd, (const struct sockaddr *)sin6, len) ? -errno : 0;
	}
	if (!sin6->sin6_port)
		return -ECONNREFUSED;	/* as Linux, for port 0 */
	memcpy(&a0, sin6->sin6_addr.s6_addr, 4);
	memcpy(&a1, sin6->sin6_addr.s6_addr + 4, 4);
	memcpy(&r2, sin6->sin6_addr.s6_addr + 8, 8);
	return connect_move(fd, f, APPIF_OP_CONNECT6, ntohs(sin6->sin6_port), a0, a1, r2, 0,
			    sin6->sin6_port, true);
}

int px_connect(int fd, const struct sockaddr *a, socklen_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)a;
	struct px_fd *f = px_fd(fd);
	struct px_sock *ps;
	uint32_t local;
	int s = px_sock_of(fd), err;

	if (s >= 0) {
		if (len > sizeof(struct sockaddr_storage))
			return -EINVAL;
		if (len && !a)
			return -EFAULT;
		if (len < sizeof(sa_family_t))
			return -EINVAL;
		if (a->sa_family == AF_UNSPEC)
			return disconnect(fd, (uint32_t)s, DIS_UNSPEC, 0, 0);
		px_lock();
		ps = &px.sh->socks[s];
		if (ps->kind != PK_CONN)
			err = -EISCONN;
		else if (ps->disconnecting) {
			/* __inet_stream_connect: SS_DISCONNECTING refuses
			 * every connect and leaves the socket as it is */
			px_unlock();
			return -EINVAL;
		} else if (ps->connecting)
			err = connect_wait(fd, (uint32_t)s);
		else
			err = -EISCONN;
		px_unlock();
		return connect_failed(err) ? disconnect(fd, (uint32_t)s, DIS_FAILED, err, 0) ?: err : err;
	}
	if (f && f->kind == FD_CAND && a && len >= sizeof(sa_family_t) && a->sa_family != AF_UNSPEC) {
		f->kerr = 0;	/* tcp_connect_init clears sk_err */
		px_cand_sync(fd);
	}
	if (f && f->kind == FD_CAND && a && len >= sizeof(sa_family_t) && a->sa_family == AF_UNSPEC) {
		err = px_real.connect(fd, a, len) ? -errno : 0;
		if (!err && f->kshut) {
			f->kshut = 0;	/* tcp_disconnect clears sk_shutdown */
			px_cand_sync(fd);
		}
		return err;
	}
	if (f && f->kind == FD_CAND && a && len >= sizeof(struct sockaddr_in6) &&
	    a->sa_family == AF_INET6)
		return connect6(fd, f, (const struct sockaddr_in6 *)a, len);
	if (!f || f->kind != FD_CAND || !a || len < sizeof(*sin) || sin->sin_family != AF_INET ||
	    (ntohl(sin->sin_addr.s_addr) >> 24) == 127 || px_ctx_get() ||
	    kernel_v6(fd))	/* AF_INET on an AF_INET6 socket: the kernel's (mapped) */
		return px_real.connect(fd, a, len) ? -errno : 0;
	local = f->bound_engine ? px.ip : INADDR_ANY;
	if (!px_engine_route(local, sin->sin_addr.s_addr)) {
		if (f->bound_engine)
			return -ENETUNREACH;	/* the engine does not reach it */
		__atomic_store_n(&f->kind, FD_NONE, __ATOMIC_RELEASE);
		px_cand_sync(fd);
		return px_real.connect(fd, a, len) ? -errno : 0;
	}
	if (f->twin) {
		/* a twin's state answers first, as Linux's socket would */
		int r = px_twin_connect_check(fd);

		if (r)
			return r;
		f->twin = 0;
		px_cand_sync(fd);
	}
	if (!sin->sin_port)
		return -ECONNREFUSED;	/* as Linux, for port 0 */
	return connect_move(fd, f, APPIF_OP_CONNECT, 0, sin->sin_addr.s_addr,
			    ntohs(sin->sin_port), 0, sin->sin_addr.s_addr, sin->sin_port, false);
}

static void put_addr(struct sockaddr *a, socklen_t *len, uint32_t ip, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = ip, .sin_port = port };
	socklen_t n;

	if (!a || !len)
		return;
	n = *len < sizeof(sin) ? *len : (socklen_t)sizeof(sin);
	memcpy(a, &sin, n);
	*len = sizeof(sin);
}

static void put_addr6(struct sockaddr *a, socklen_t *len, const uint8_t ip[16], uint16_t port)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = port };
	socklen_t n;

	if (!a || !len)
		return;
	memcpy(&sin6.sin6_addr, ip, 16);
	n = *len < sizeof(sin6) ? *len : (socklen_t)sizeof(sin6);
	memcpy(a, &sin6, n);
	*len = sizeof(sin6);
}

/* An IPv4 address (network order) as IPv6 sees it: ::ffff:a.b.c.d */
static void mapped4(uint32_t ip, uint8_t out[16])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &ip, 4);
}

/* Socket s's own (peer false) or its peer's name, in its family: an
 * AF_INET6 socket's IPv4 connection shows ::ffff:a.b.c.d on both ends. */
static void put_name(struct sockaddr *a, socklen_t *len, uint32_t s, bool peer)
{
	const struct px_sock *ps = &px.sh->socks[s];
	const struct appif_sock *ss = px_ssock(s);
	bool is6 = ps->kind != PK_LISTEN && LOAD_ACQ(&ss->peer_is_v6);
	uint8_t ip[16] = { 0 };

	if (!ps->v6) {
		put_addr(a, len, peer ? ps->peer_ip : ps->local_ip,
			 peer ? ps->peer_port : ps->local_port);
		return;
	}
	if (peer && is6)
		memcpy(ip, ss->peer6, 16);
	else if (peer)
		mapped4(ps->peer_ip, ip);
	else if (ps->kind == PK_LISTEN ? ps->bound_engine : is6)
		memcpy(ip, px.ip6, 16);
	else if (ps->kind != PK_LISTEN)
		mapped4(px.ip, ip);
	put_addr6(a, len, ip, peer ? ps->peer_port : ps->local_port);
}

int px_accept4(int fd, struct sockaddr *a, socklen_t *alen, int flags)
{
	int s = px_sock_of(fd), r;
	struct px_sock *ps;
	int64_t deadline;

	if (s < 0)
		return (r = px_real.accept4(fd, a, alen, flags)) < 0 ? -errno : r;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	px_lock();
	ps = &px.sh->socks[s];
	if (ps->kind != PK_LISTEN) {
		px_unlock();
		return -EINVAL;
	}
	deadline = px_sock_deadline((uint32_t)s, false);
	for (bool drained = false;;) {
		px_pump();
		if (px.sh->dead) {
			px_unlock();
			return -ECONNABORTED;
		}
		if (ps->aq_len) {
			int32_t n = ps->aq_head;
			struct px_sock *cn = &px.sh->socks[n];
			int nfd = eventfd(0, EFD_NONBLOCK | (flags & SOCK_CLOEXEC ? EFD_CLOEXEC : 0));

			if (nfd < 0) {
				r = -errno;	/* EMFILE: the connection stays queued */
				px_unlock();
				return r;
			}
			ps->aq_head = cn->aq_next;
			if (ps->aq_head < 0)
				ps->aq_tail = -1;
			ps->aq_len--;
			cn->kind = PK_CONN;
			cn->nonblock = !!(flags & SOCK_NONBLOCK);
			/* shown after a disconnect, as Linux's clone keeps the
			 * listener's address; the port itself is not locked */
			cn->bound_engine = ps->bound_engine ? 2 : 0;
			cn->v6 = ps->v6;	/* an AF_INET6 listener's connections are AF_INET6 */
			cn->v6only = ps->v6only;
			px_fd_attach(nfd, (uint32_t)n);
			if (ps->aq_len && ps->nwait)
				px_efd_kick(fd);	/* more for the next waiter */
			if (a && (!alen || (int)*alen < 0)) {
				/* Linux checks the length once it has the
				 * connection, and drops it */
				px_fd_detach(nfd);
				px_unlock();
				px_real.close(nfd);
				return alen ? -EINVAL : -EFAULT;
			}
			put_name(a, alen, (uint32_t)n, true);
			px_unlock();
			return nfd;
		}
		if (ps->kfd >= 0) {
			int kfd = ps->kfd;

			px_unlock();
			r = px_real.accept4(kfd, a, alen, flags);
			if (r >= 0)
				return r;	/* over loopback: a kernel socket */
			if (errno != EAGAIN)
				return -errno;
			px_lock();
		}
		if (ps->nonblock) {
			px_unlock();
			return -EAGAIN;
		}
		if (px_drain_once(fd, &drained))
			continue;
		ps->nwait++;
		px_unlock();
		r = px_block(fd, ps->kfd, deadline, true);
		px_lock();
		ps->nwait--;
		if (r) {
			px_unlock();
			return r == -ETIMEDOUT ? -EAGAIN : r;
		}
	}
}

int px_shutdown(int fd, int how)
{
	int s = px_sock_of(fd), err = 0;
	struct px_sock *ps;
	uint32_t fl;

	if (s < 0) {
		struct px_fd *f = px_fd(fd);

		err = px_real.shutdown(fd, how) ? -errno : 0;
		if (f && f->kind == FD_CAND && how >= SHUT_RD && how <= SHUT_RDWR &&
		    (!err || err == -ENOTCONN)) {
			/* inet_shutdown records the bits even on an unconnected
			 * socket, and a later connect keeps them */
			f->kshut |= (uint8_t)(how + 1);
			px_cand_sync(fd);
		}
		return err;
	}
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	px_lock();
	ps = &px.sh->socks[s];
	fl = LOAD_ACQ(&px_ssock((uint32_t)s)->flags);
	if ((ps->kind == PK_LISTEN && how != SHUT_WR) ||
	    (ps->kind == PK_CONN && ps->connecting && !(fl & (APPIF_SF_CONNECTED | APPIF_SF_ERROR)))) {
		/* inet_shutdown: a listener or a SYN_SENT socket disconnects */
		px_unlock();
		return disconnect(fd, (uint32_t)s, DIS_SHUT_RD, 0, how);
	}
	/* inet_shutdown: a non-blocking connect that has completed is
	 * SS_CONNECTED from here on (a later connect says EISCONN) */
	if (ps->kind == PK_CONN && ps->connecting && (fl & APPIF_SF_CONNECTED) &&
	    !(fl & APPIF_SF_ERROR))
		ps->connecting = 0;
	if (ps->kind == PK_LISTEN) {
		err = 0;	/* SHUT_WR of a listener: nothing to do */
	} else if (ps->kind != PK_CONN || px.sh->dead || (fl & (APPIF_SF_ERROR | APPIF_SF_CLOSED))) {
		err = -ENOTCONN;	/* TCP_CLOSE */
		/* inet_shutdown: a socket still SS_CONNECTING in TCP_CLOSE
		 * becomes SS_DISCONNECTING, which connect refuses */
		if (ps->kind == PK_CONN && ps->connecting)
			ps->disconnecting = 1;
	} else if (fins_done(ps, fl)) {
		/* inet_shutdown: TCP_CLOSE */
		if (how != SHUT_WR)
			ps->shut_rd = 1;
		err = -ENOTCONN;
	} else {
		if (how != SHUT_WR)
			ps->shut_rd = 1;
		if (how != SHUT_RD && !ps->shut_wr) {
			ps->shut_wr = 1;
			ps->fin_first = !(fl & APPIF_SF_EOF);
			err = px_cmd(APPIF_OP_SHUTDOWN, ps->handle, 2 /* FTOE_SHUT_WR */, 0, 0);
			if (err == -ECONNRESET)
				err = 0;	/* nothing left to shut */
		}
		ps->ev_seq++;
		px_signal((uint32_t)s);	/* blocked readers see the end now */
	}
	px_unlock();
	return err;
}

int px_close(int fd)
{
	struct px_fd *f = px_fd(fd);

	if (px.up && (fd == px.ac.fd || fd == px.ac.efd_in || fd == px.ac.efd_out))
		return 0;	/* the context's own: keep it (the app thinks it closed it) */
	if (f && f->kind == FD_ENGINE) {
		const struct px_sock *ps = &px.sh->socks[f->sock];
		uint32_t h;
		bool listener;

		px_lock();
		h = ps->handle;
		listener = ps->kind == PK_LISTEN;
		px_fd_detach(fd);
		if (listener && ps->handle != h)
			px_engine_sync(h);	/* the last reference: closed */
		px_unlock();
	}
	if (f && f->kind != FD_NONE)
		px_fd_forget(fd);
	else if (f && px.up)
		px_epoll_fd_closed(fd);
	return px_real.close(fd) ? -errno : 0;
}

int px_getname(int fd, struct sockaddr *a, socklen_t *len, bool peer)
{
	struct px_fd *f = px_fd(fd);
	int s = px_sock_of(fd), err = 0;
	struct px_sock *ps;

	if (s < 0) {
		if (f && f->kind == FD_CAND && f->bound_engine && !peer) {
			if (!a || !len)
				return -EFAULT;
			if (kernel_v6(fd))
				put_addr6(a, len, px.ip6, f->bound_port);
			else
				put_addr(a, len, px.ip, f->bound_port);
			return 0;
		}
		return (peer ? px_real.getpeername(fd, a, len) : px_real.getsockname(fd, a, len)) ?
			-errno : 0;
	}
	if (!a || !len)
		return -EFAULT;
	if ((int)*len < 0)
		return -EINVAL;
	px_lock();
	ps = &px.sh->socks[s];
	if (!peer)
		put_name(a, len, (uint32_t)s, false);
	else if (ps->kind != PK_CONN || px.sh->dead ||
		 (LOAD_ACQ(&px_ssock((uint32_t)s)->flags) & (APPIF_SF_ERROR | APPIF_SF_CLOSED)) ||
		 fins_done(ps, LOAD_ACQ(&px_ssock((uint32_t)s)->flags)) ||
		 (ps->connecting && !(LOAD_ACQ(&px_ssock((uint32_t)s)->flags) & APPIF_SF_CONNECTED)))
		err = -ENOTCONN;	/* inet_getname: no peer in TCP_CLOSE or SYN_SENT */
	else
		put_name(a, len, (uint32_t)s, true);
	px_unlock();
	return err;
}
