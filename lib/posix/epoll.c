/* epoll.c - epoll over kernel and engine fds: the kernel epoll holds the kernel fds and, edge-triggered, the engine fds' eventfds and the context's wake-ups; a list beside it keeps each engine fd's events, data and trigger mode. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/posix/internal.h"

/* Our registrations in the application's epoll carry these in data.u64;
 * user-space pointers (and small integers) never look like this. */
#define MARK      0xf1e70e0000000000ull
#define MARK_MASK 0xffffff0000000000ull
#define MARK_FD   (MARK | (1ull << 32))	/* | fd: an engine fd's eventfd */
#define MARK_KFD  (MARK | (2ull << 32))	/* | fd: the loopback listener of engine fd */
#define MARK_CTX  (MARK | (3ull << 32))	/* the context's event fd */
#define MARK_CTL  (MARK | (4ull << 32))	/* the daemon connection (engine death) */

struct px_epe {
	int fd;
	uint32_t events;
	epoll_data_t data;
	uint32_t last_seq;	/* ev_seq last reported (edge-triggered) */
	bool disabled;		/* EPOLLONESHOT fired */
	bool kfd_edge;		/* the loopback listener signalled since the last report */
};

struct px_ep {
	struct px_ep *next;	/* every epoll of this process (eps) */
	pthread_mutex_t mu;
	struct px_epe *e;
	unsigned int n, cap;
	unsigned int rr;	/* where collect starts: ready fds take turns */
	unsigned int turn;	/* max 1: kernel fds first on odd calls */
	bool wake_added;	/* MARK_CTX/MARK_CTL are in the kernel epoll */
};

/* The epolls of this process (fd_closed walks them). */
static struct px_ep *eps;
static pthread_mutex_t eps_mu = PTHREAD_MUTEX_INITIALIZER;

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
		if (e)
			*e = ep->e[--ep->n];
		pthread_mutex_unlock(&ep->mu);
	}
	pthread_mutex_unlock(&eps_mu);
}

static int add_wake(int epfd, struct px_ep *ep)
{
	if (ep->wake_added || !px.up)
		return 0;
	/* edge-triggered: a wake-up, never a level that keeps firing */
	if (px_real.epoll_ctl(epfd, EPOLL_CTL_ADD, px.ac.efd_out,
			      &(struct epoll_event){ EPOLLIN | EPOLLET, { .u64 = MARK_CTX } }) &&
	    errno != EEXIST)
		return -errno;
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
	}
	if (op == EPOLL_CTL_DEL) {
		if (e)
			*e = ep->e[--ep->n];
	} else if (e) {
		e->events = ev->events;
		e->data = ev->data;
		e->last_seq = 0;
		e->disabled = false;
		e->kfd_edge = true;	/* ADD/MOD report what is ready now */
		px_lock();
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
	if (!err)
		err = add_wake(epfd, ep);
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
		if ((want & EPOLLOUT) && !(rev & EPOLLOUT) && ps->kind == PK_CONN)
			ps->want_out = 1;
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
 * Returns the application's events, or -errno. */
static int kernel_wait(int epfd, struct px_ep *ep, struct epoll_event *evs, int max,
		       int64_t timeout_ns, const sigset_t *mask)
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

int px_epoll_wait(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns,
		  const sigset_t *mask)
{
	struct px_ep *ep = ep_of(epfd);
	int64_t deadline = timeout_ns >= 0 ? px_now_ns() + timeout_ns : -1;

	if (max <= 0)
		return -EINVAL;
	for (;;) {
		int n = 0, r;
		int64_t t;

		/* Kernel fds are not starved by busy engine fds: they keep a
		 * slot, or for max 1 every other call looks at them first. */
		if (max == 1 && ep && ep->n && (ep->turn++ & 1)) {
			px_sig_clear();
			r = kernel_wait(epfd, ep, evs, 1, 0, mask);
			if (r != 0)
				return r;
		}
		if (ep && ep->n)
			n = collect(ep, evs, max > 1 ? max - 1 : 1);
		if (n == max)
			return n;
		t = n ? 0 : deadline < 0 ? -1 : deadline - px_now_ns();
		if (deadline >= 0 && t < 0)
			t = 0;
		if (px.up && __atomic_load_n(&px.sh->npending, __ATOMIC_ACQUIRE) &&
		    (t < 0 || t > 5000000))
			t = 5000000;	/* an event waits for another process (ctx.c) */
		px_sig_clear();
		r = kernel_wait(epfd, ep, evs + n, max - n, t, mask);
		if (r < 0)
			return n && r == -EINTR ? n : r;
		if (n + r)
			return n + r;
		if (deadline >= 0 && px_now_ns() >= deadline)
			return 0;
	}
}
