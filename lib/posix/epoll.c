/* epoll.c - epoll over kernel and engine fds: the kernel epoll holds the kernel fds and, edge-triggered, the engine fds' eventfds and the epoll's own wake group (or the context's event fd); a list beside it keeps each engine fd's events, data and trigger mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/posix/internal.h"

/* Our registrations in the application's epoll carry these in data.u64;
 * user-space pointers (and small integers) never look like this. */
#define MARK      0xf1e70e0000000000ull
#define MARK_MASK 0xffffff0000000000ull
#define MARK_FD   (MARK | (1ull << 32))	/* | fd: an engine fd's eventfd */
#define MARK_KFD  (MARK | (2ull << 32))	/* | fd: the loopback listener of engine fd */
#define MARK_CTX  (MARK | (3ull << 32))	/* the context's event fd */
#define MARK_CTL  (MARK | (4ull << 32))	/* the daemon connection (engine death) */
#define MARK_GRP  (MARK | (5ull << 32))	/* the epoll's wake group's eventfd */
/* How long the engine may take to take a wake group's eventfd. */
#define GRP_ACK_NS 2000000000ll

struct px_epe {
	int fd;
	uint32_t events;
	epoll_data_t data;
	uint32_t last_seq;	/* ev_seq last reported (edge-triggered) */
	bool disabled;		/* EPOLLONESHOT fired */
	bool kfd_edge;		/* the loopback listener signalled since the last report */
	int32_t sock;		/* the socket whose wake_mask has our group's bit, */
	uint32_t handle;	/* while it has this handle */
};

struct px_ep {
	struct px_ep *next;	/* every epoll of this process (eps) */
	pthread_mutex_t mu;
	struct px_epe *e;
	unsigned int n, cap;
	unsigned int rr;	/* where collect starts: ready fds take turns */
	unsigned int turn;	/* max 1: kernel fds first on odd calls */
	bool wake_added;	/* MARK_GRP or MARK_CTX, and MARK_CTL, are in the kernel epoll */
	int epfd;		/* the kernel epoll (set with wake_added) */
	int grp, gfd;		/* its wake group and that group's eventfd; -1: it
				 * wakes on the context's event fd (MARK_CTX) */
};

static void grp_put(struct px_ep *ep);

/* The epolls of this process (fd_closed walks them). */
static struct px_ep *eps;
static pthread_mutex_t eps_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- wake groups ------------------------------------------------------------
 * Each epoll that holds engine fds has its own eventfd, which the engine
 * writes when it posts an event for a socket whose wake_mask has the
 * epoll's bit (appif.h): an event wakes only the epolls that hold its
 * socket, not every thread of the process in epoll_wait.  Without a group
 * (an engine without them, all 64 in use, FLEXTOE_EPOLL_WAKE=context) an
 * epoll holds the context's event fd, which the engine writes on every
 * event. */

/* Under the lock: no socket's wake_mask has group k's bit. */
static void grp_clear_bits(uint32_t k)
{
	for (uint32_t s = 0; s < px.max_socks; s++)
		__atomic_fetch_and(&px_ssock(s)->wake_mask, ~(1ull << k), __ATOMIC_RELAXED);
}

/* Hand the engine group k's eventfd, or drop the group (fd -1). */
static int grp_send(uint32_t k, int fd)
{
	struct appif_wake_msg m = { APPIF_WAKE_MAGIC, k };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return px_real.sendmsg(px.ac.fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(m) ? 0 : -1;
}

/* Wait for the engine's first write of a new group's eventfd. */
static bool grp_acked(int fd)
{
	int64_t deadline = px_now_ns() + GRP_ACK_NS;

	for (;;) {
		int64_t left = deadline - px_now_ns();
		struct pollfd p = { fd, POLLIN, 0 };
		int r;

		if (left <= 0)
			return false;
		r = px_real.ppoll(&p, 1, &(struct timespec){ left / 1000000000, left % 1000000000 },
				  NULL);
		if (r > 0) {
			px_efd_drain(fd);
			return true;
		}
		if (r < 0 && errno != EINTR)
			return false;
	}
}

static bool grp_wanted(void)
{
	const struct appif_shm_hdr *hdr = (const struct appif_shm_hdr *)px.ac.shm;
	const char *w = getenv("FLEXTOE_EPOLL_WAKE");

	return hdr->wake_groups >= APPIF_WAKE_GROUPS && !(w && !strcmp(w, "context"));
}

int px_grp_open(int *gfd, uint32_t max_thread)
{
	uint32_t k;
	int fd;

	if (!grp_wanted())
		return -1;
	px_lock();
	for (k = 0; k < APPIF_WAKE_GROUPS && px.sh->grp_refs[k]; k++)
		;
	if (k == APPIF_WAKE_GROUPS || (max_thread && px.sh->thr_grps >= max_thread)) {
		px_unlock();
		return -1;
	}
	px.sh->grp_refs[k] = 1;
	if (max_thread)
		px.sh->thr_grps++;
	grp_clear_bits(k);	/* the group's last holder may have left some */
	px_unlock();
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd >= 0 && !grp_send(k, fd)) {
		if (grp_acked(fd)) {
			*gfd = fd;
			return (int)k;
		}
		grp_send(k, -1);
	}
	if (fd >= 0)
		px_real.close(fd);
	px_lock();
	px.sh->grp_refs[k] = 0;
	if (max_thread)
		px.sh->thr_grps--;
	px_unlock();
	return -1;
}

void px_grp_put(int k, int gfd, bool thread)
{
	bool last = false;

	if (k < 0)
		return;
	px_lock();
	if (px.sh->grp_refs[k] && !--px.sh->grp_refs[k]) {
		grp_clear_bits((uint32_t)k);
		last = true;
	}
	if (thread && px.sh->thr_grps)
		px.sh->thr_grps--;
	px_unlock();
	if (last)
		grp_send((uint32_t)k, -1);
	px_real.close(gfd);
}

/* A wake group for ep (ep->mu held): true, or false when it must use the
 * context's event fd. */
static bool grp_open(struct px_ep *ep)
{
	ep->grp = px_grp_open(&ep->gfd, 0);
	return ep->grp >= 0;
}

/* This process lets go of ep's group; the last one drops it. */
static void grp_put(struct px_ep *ep)
{
	px_grp_put(ep->grp, ep->gfd, false);
	ep->grp = ep->gfd = -1;
}

/* ep->mu held: e no longer needs the events of its socket, unless another
 * entry of ep has the same socket (a dup). */
static void grp_unmask(struct px_ep *ep, const struct px_epe *e)
{
	if (ep->grp < 0 || e->sock < 0)
		return;
	for (unsigned int i = 0; i < ep->n; i++)
		if (&ep->e[i] != e && ep->e[i].sock == e->sock && ep->e[i].handle == e->handle)
			return;
	px_lock();
	/* a socket released since belongs to a new connection now */
	if (px.sh->socks[e->sock].kind != PK_FREE && px.sh->socks[e->sock].handle == e->handle)
		__atomic_fetch_and(&px_ssock((uint32_t)e->sock)->wake_mask, ~(1ull << ep->grp),
				   __ATOMIC_SEQ_CST);
	px_unlock();
}

static struct px_ep *ep_of(int epfd)
{
	struct px_fd *f = px_fd(epfd);

	return f && f->kind == FD_EPOLL ? f->ep : NULL;
}

int px_epoll_create(int flags)
{
	int epfd = px_real.epoll_create1(flags);
	struct px_fd *f;
	struct px_ep *ep;

	if (epfd < 0)
		return -errno;
	f = px_fd(epfd);
	ep = calloc(1, sizeof(*ep));
	if (!f || !ep) {
		free(ep);
		return epfd;	/* works for kernel fds alone */
	}
	pthread_mutex_init(&ep->mu, NULL);
	ep->grp = ep->gfd = -1;
	pthread_mutex_lock(&eps_mu);
	ep->next = eps;
	eps = ep;
	pthread_mutex_unlock(&eps_mu);
	px_fd_note(epfd);
	f->ep = ep;
	__atomic_store_n(&f->kind, FD_EPOLL, __ATOMIC_RELEASE);
	return epfd;
}

void px_epoll_forget(int epfd)
{
	struct px_fd *f = px_fd(epfd);

	if (!f || f->kind != FD_EPOLL || !f->ep)
		return;
	pthread_mutex_lock(&eps_mu);
	for (struct px_ep **p = &eps; *p; p = &(*p)->next)
		if (*p == f->ep) {
			*p = f->ep->next;
			break;
		}
	pthread_mutex_unlock(&eps_mu);
	grp_put(f->ep);
	pthread_mutex_destroy(&f->ep->mu);
	free(f->ep->e);
	free(f->ep);
	f->ep = NULL;
}

static struct px_epe *find(struct px_ep *ep, int fd)
{
	for (unsigned int i = 0; i < ep->n; i++)
		if (ep->e[i].fd == fd)
			return &ep->e[i];
	return NULL;
}

/* fd was closed: Linux drops it from every epoll set (we do it when its
 * number closes, even if a dup keeps the socket). */
void px_epoll_fd_closed(int fd)
{
	pthread_mutex_lock(&eps_mu);
	for (struct px_ep *ep = eps; ep; ep = ep->next) {
		struct px_epe *e;

		pthread_mutex_lock(&ep->mu);
		e = find(ep, fd);
		if (e) {
			grp_unmask(ep, e);
			*e = ep->e[--ep->n];
		}
		pthread_mutex_unlock(&ep->mu);
	}
	pthread_mutex_unlock(&eps_mu);
}

void px_epoll_fork(int d)
{
	uint32_t n[APPIF_WAKE_GROUPS] = { 0 };

	/* eps_mu is never held while the lock is taken here: a caller
	 * holding the lock may want eps_mu */
	pthread_mutex_lock(&eps_mu);
	for (struct px_ep *ep = eps; ep; ep = ep->next)
		if (ep->grp >= 0)
			n[ep->grp]++;
	pthread_mutex_unlock(&eps_mu);
	px_lock();
	for (int k = 0; k < APPIF_WAKE_GROUPS; k++)
		if (n[k] && (d > 0 || px.sh->grp_refs[k] >= n[k]))
			px.sh->grp_refs[k] += (uint32_t)d * n[k];
	px_unlock();
}

static int add_ctx_wake(struct px_ep *ep)
{
	/* edge-triggered: a wake-up, never a level that keeps firing */
	if (px_real.epoll_ctl(ep->epfd, EPOLL_CTL_ADD, px.ac.efd_out,
			      &(struct epoll_event){ EPOLLIN | EPOLLET, { .u64 = MARK_CTX } }) &&
	    errno != EEXIST)
		return -errno;
	return 0;
}

void px_epoll_release_groups(void)
{
	if (!px.up)
		return;
	pthread_mutex_lock(&eps_mu);
	for (struct px_ep *ep = eps; ep; ep = ep->next) {
		pthread_mutex_lock(&ep->mu);
		if (ep->grp >= 0) {
			grp_put(ep);
			add_ctx_wake(ep);	/* should an exec fail */
		}
		pthread_mutex_unlock(&ep->mu);
	}
	pthread_mutex_unlock(&eps_mu);
}

/* ep->mu held: the kernel epoll wakes on the engine's events for ep's
 * sockets (its wake group, or the context's event fd) and on its death. */
static int add_wake(int epfd, struct px_ep *ep)
{
	int err;

	if (ep->wake_added || !px.up)
		return 0;
	ep->epfd = epfd;
	if (grp_open(ep) &&
	    px_real.epoll_ctl(epfd, EPOLL_CTL_ADD, ep->gfd,
			      &(struct epoll_event){ EPOLLIN | EPOLLET, { .u64 = MARK_GRP } }))
		grp_put(ep);
	if (ep->grp < 0 && (err = add_ctx_wake(ep)))
		return err;
	if (px_real.epoll_ctl(epfd, EPOLL_CTL_ADD, px.ac.fd,
			      &(struct epoll_event){ EPOLLIN | EPOLLET, { .u64 = MARK_CTL } }) &&
	    errno != EEXIST)
		return -errno;
	ep->wake_added = true;
	return 0;
}

int px_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct px_ep *ep = ep_of(epfd);
	int s = px_sock_of(fd), kfd = -1, err = 0;
	struct epoll_event kev;
	struct px_epe *e;

	if (s < 0 || !ep) {
		if (s >= 0)
			return -EINVAL;	/* an epoll made before the library loaded: cannot */
		return px_real.epoll_ctl(epfd, op, fd, ev) ? -errno : 0;
	}
	if (op != EPOLL_CTL_DEL && !ev)
		return -EFAULT;
	/* the kernel checks what it checks for any fd (EEXIST, ENOENT,
	 * EINVAL for EPOLLEXCLUSIVE with MOD, ELOOP ...) on the eventfd */
	kev.events = EPOLLIN | EPOLLET | (op != EPOLL_CTL_DEL ? ev->events & EPOLLEXCLUSIVE : 0);
	kev.data.u64 = MARK_FD | (uint32_t)fd;
	if (op == EPOLL_CTL_MOD && (ev->events & EPOLLEXCLUSIVE))
		return -EINVAL;
	if (op != EPOLL_CTL_DEL) {
		/* before the socket's bit is set: the wake group exists */
		pthread_mutex_lock(&ep->mu);
		err = add_wake(epfd, ep);
		pthread_mutex_unlock(&ep->mu);
		if (err)
			return err;
	}
	if (px_real.epoll_ctl(epfd, op, fd, op == EPOLL_CTL_MOD ? &(struct epoll_event){
				      EPOLLIN | EPOLLET, kev.data } : &kev))
		return -errno;
	px_lock();
	if (px.sh->socks[s].kind == PK_LISTEN)
		kfd = px.sh->socks[s].kfd;
	px_unlock();
	pthread_mutex_lock(&ep->mu);
	e = find(ep, fd);
	if (op == EPOLL_CTL_ADD) {
		if (!e) {
			if (ep->n == ep->cap) {
				unsigned int cap = ep->cap ? ep->cap * 2 : 16;
				struct px_epe *ne = realloc(ep->e, cap * sizeof(*ne));

				if (!ne) {
					err = -ENOMEM;
					goto out;
				}
				ep->e = ne;
				ep->cap = cap;
			}
			e = &ep->e[ep->n++];
		}
		e->fd = fd;
		e->sock = -1;
	}
	if (op == EPOLL_CTL_DEL) {
		if (e) {
			grp_unmask(ep, e);
			*e = ep->e[--ep->n];
		}
	} else if (e) {
		e->events = ev->events;
		e->data = ev->data;
		e->last_seq = 0;
		e->disabled = false;
		e->kfd_edge = true;	/* ADD/MOD report what is ready now */
		px_lock();
		e->sock = s;
		e->handle = px.sh->socks[s].handle;
		/* before collect looks at the rings (appif.h wake_mask) */
		if (ep->grp >= 0)
			__atomic_fetch_or(&px_ssock((uint32_t)s)->wake_mask, 1ull << ep->grp,
					  __ATOMIC_SEQ_CST);
		e->last_seq = px.sh->socks[s].ev_seq - 1;
		px_unlock();
	}
out:
	pthread_mutex_unlock(&ep->mu);
	if (kfd >= 0 && !err) {
		/* the loopback listener of a 0.0.0.0 listener: edge-triggered
		 * too, its events merge into the engine fd's */
		struct epoll_event kk = { EPOLLIN | EPOLLET, { .u64 = MARK_KFD | (uint32_t)fd } };

		if (px_real.epoll_ctl(epfd, op, kfd, op == EPOLL_CTL_DEL ? NULL : &kk) &&
		    op != EPOLL_CTL_DEL && errno == EEXIST)
			px_real.epoll_ctl(epfd, EPOLL_CTL_MOD, kfd, &kk);
	}
	return err;
}

/* Engine fds of ep that are ready, into evs (up to max). */
static int collect(struct px_ep *ep, struct epoll_event *evs, int max)
{
	int n = 0;

	pthread_mutex_lock(&ep->mu);
	px_lock();
	px_pump();
	for (unsigned int k = 0; k < ep->n && n < max; k++) {
		struct px_epe *e = &ep->e[(ep->rr + k) % ep->n];
		int s = px_sock_of(e->fd);
		struct px_sock *ps;
		uint32_t rev, want;

		if (s < 0 || e->disabled)
			continue;
		ps = &px.sh->socks[s];
		want = e->events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI | EPOLLRDNORM |
				    EPOLLWRNORM);
		rev = px_sock_revents((uint32_t)s);
		if (ps->kind == PK_LISTEN && e->kfd_edge && ps->kfd >= 0) {
			/* the kernel listener may have connections: accept() finds out */
			struct pollfd kp = { ps->kfd, POLLIN, 0 };

			if (px_real.ppoll(&kp, 1, &(struct timespec){ 0, 0 }, NULL) > 0)
				rev |= EPOLLIN | EPOLLRDNORM;
		}
		rev &= want | EPOLLERR | EPOLLHUP;
		if ((want & EPOLLOUT) && !(rev & EPOLLOUT) && ps->kind == PK_CONN) {
			px_want_out(ps, (uint32_t)s);
			/* the engine may have freed space before it saw that */
			rev = px_sock_revents((uint32_t)s) & (want | EPOLLERR | EPOLLHUP);
		}
		if (!rev)
			continue;
		if ((e->events & EPOLLET) && ps->ev_seq == e->last_seq && !e->kfd_edge)
			continue;	/* nothing new since the last report */
		e->last_seq = ps->ev_seq;
		e->kfd_edge = false;
		if (e->events & EPOLLONESHOT)
			e->disabled = true;
		evs[n].events = rev;
		evs[n++].data = e->data;
	}
	if (ep->n)
		ep->rr = (ep->rr + 1) % ep->n;
	px_unlock();
	pthread_mutex_unlock(&ep->mu);
	return n;
}

static void kfd_signalled(struct px_ep *ep, int fd)
{
	struct px_epe *e;

	pthread_mutex_lock(&ep->mu);
	e = find(ep, fd);
	if (e)
		e->kfd_edge = true;
	pthread_mutex_unlock(&ep->mu);
}

/* The kernel's part of a wait: up to max events into evs, our own
 * registrations dropped (they only woke us).  timeout_ns -1: no limit.
 * Returns the application's events, or -errno; *all: the kernel had no
 * more ready than it returned. */
static int kernel_wait(int epfd, struct px_ep *ep, struct epoll_event *evs, int max,
		       int64_t timeout_ns, const sigset_t *mask, bool *all)
{
	struct timespec ts, *tsp = NULL;
	int r, out = 0;

	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	if (px_real.epoll_pwait2)
		r = px_real.epoll_pwait2(epfd, evs, max, tsp, mask);
	else
		r = px_real.epoll_pwait(epfd, evs, max, timeout_ns < 0 ? -1 :
					(int)((timeout_ns + 999999) / 1000000), mask);
	if (r < 0)
		return -errno;
	*all = r < max;
	for (int k = 0; k < r; k++) {
		uint64_t d = evs[k].data.u64;

		if ((d & MARK_MASK) != MARK) {
			evs[out++] = evs[k];
			continue;
		}
		if (d == MARK_CTL && px.up) {
			px_lock();
			px_set_dead();
			px_unlock();
		} else if ((d & ~0xffffffffull) == MARK_KFD && ep) {
			kfd_signalled(ep, (int)(uint32_t)d);
		}
	}
	return out;
}

/* FLEXTOE_SPIN_US: how long an epoll_wait that found no engine event looks
 * at the event ring before it sleeps (0, the default: it sleeps at once).
 * An opt-in for latency benchmarks: it trades a core's cycles for the
 * wake-up of a sleeping thread. */
static int64_t spin_ns(void)
{
	static int64_t ns = -1;

	if (__atomic_load_n(&ns, __ATOMIC_RELAXED) < 0) {
		const char *v = getenv("FLEXTOE_SPIN_US");
		long us = v ? strtol(v, NULL, 10) : 0;

		__atomic_store_n(&ns, us > 0 && us <= 1000000 ? us * 1000 : 0, __ATOMIC_RELAXED);
	}
	return ns;
}

/* Has the engine posted an event the library has not taken?  No lock: a
 * hint for the spin, which then takes the lock. */
static bool ev_posted(void)
{
	const struct appif_ring *r = (const struct appif_ring *)(px.ac.shm + px.ac.l.ev_ring);

	return LOAD_ACQ(&r->head) != __atomic_load_n(&px.sh->ev_tail, __ATOMIC_RELAXED);
}

/* Spin (FLEXTOE_SPIN_US) until an engine fd of ep is ready or t_ns (-1:
 * no limit) passes: how many events it put in evs. */
static int spin_collect(struct px_ep *ep, struct epoll_event *evs, int max, int64_t t_ns)
{
	int64_t spin = spin_ns(), until;

	if (!spin || !px.up || t_ns == 0)
		return 0;	/* the default: no clock read either */
	until = px_now_ns() + (t_ns > 0 && t_ns < spin ? t_ns : spin);
	while (px_now_ns() < until) {
		if (__atomic_load_n(&px.sh->dead, __ATOMIC_RELAXED))
			return 0;
		if (ev_posted()) {
			int n = collect(ep, evs, max);

			if (n)
				return n;
		}
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
	return 0;
}

int px_epoll_wait(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns,
		  const sigset_t *mask)
{
	struct px_ep *ep = ep_of(epfd);
	int64_t deadline = timeout_ns >= 0 ? px_now_ns() + timeout_ns : -1;
	bool all = false;	/* the last kernel wait of this call took every kernel event */

	if (max <= 0)
		return -EINVAL;
	for (;;) {
		int n = 0, r;
		int64_t t;

		/* Kernel fds are not starved by busy engine fds: they keep a
		 * slot, or for max 1 every other call looks at them first. */
		if (max == 1 && ep && ep->n && (ep->turn++ & 1)) {
			px_sig_clear();
			r = kernel_wait(epfd, ep, evs, 1, 0, mask, &all);
			if (r != 0)
				return r;
		}
		if (ep && ep->n)
			n = collect(ep, evs, max > 1 ? max - 1 : 1);
		/* woken by the engine (a wait that left no kernel event
		 * behind): no second look at the kernel's fds */
		if (n == max || (n && all))
			return n;
		t = n ? 0 : deadline < 0 ? -1 : deadline - px_now_ns();
		if (deadline >= 0 && t < 0)
			t = 0;
		if (!n && ep && ep->n && (n = spin_collect(ep, evs, max > 1 ? max - 1 : 1, t))) {
			if (n == max)
				return n;
			t = 0;	/* then the kernel's fds, without a wait */
		}
		if (px.up && __atomic_load_n(&px.sh->npending, __ATOMIC_ACQUIRE) &&
		    (t < 0 || t > 5000000))
			t = 5000000;	/* an event waits for another process (ctx.c) */
		px_sig_clear();
		r = kernel_wait(epfd, ep, evs + n, max - n, t, mask, &all);
		if (r < 0)
			return n && r == -EINTR ? n : r;
		if (n + r)
			return n + r;
		if (deadline >= 0 && px_now_ns() >= deadline)
			return 0;
	}
}
