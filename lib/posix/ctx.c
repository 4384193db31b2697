/* ctx.c - libflextoe-posix's client of the application contract: one context per process family (shared across fork), its lock, commands, events, wake-ups and engine death. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "lib/posix/internal.h"

#define DEFAULT_RUN_DIR "/run/flextoe"
#define DEFAULT_SOCKS   1024
#define DEFAULT_BUF     (128u << 10)
/* While an event waits for a process that holds the socket (px_signal),
 * the others look again this often instead of sleeping on the context's
 * eventfd, which they would otherwise find readable at once. */
#define PENDING_RECHECK_NS 5000000ll

static int sleep_on(struct pollfd *fds, unsigned int n, int64_t timeout_ns, const sigset_t *mask,
		    bool by_socks);

struct px_ctx px = { .pid = 0 };
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;

static uint32_t env_u32(const char *name, uint32_t def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return def;
	n = strtoul(v, &end, 0);
	return *end || !n || n > UINT32_MAX ? def : (uint32_t)n;
}

static int ctx_open(void)
{
	const char *dir = getenv("FLEXTOE_RUN_DIR");
	const struct appif_shm_hdr *hdr;
	pthread_mutexattr_t ma;
	int err;

	if (!dir || !*dir)
		dir = DEFAULT_RUN_DIR;
	px.max_socks = env_u32("FLEXTOE_MAX_SOCKS", DEFAULT_SOCKS);
	px.buf_size = env_u32("FLEXTOE_BUF_SIZE", DEFAULT_BUF);
	err = appif_client_open(dir, px.max_socks, px.buf_size, 1, &px.ac);
	if (err)
		return err;
	hdr = (const struct appif_shm_hdr *)px.ac.shm;
	px.ip = hdr->local_ip;
	memcpy(px.ip6, hdr->local_ip6, 16);
	px.prefix6_len = hdr->prefix6_len;
	px.has_ip6 = !IN6_IS_ADDR_UNSPECIFIED((const struct in6_addr *)px.ip6);
	px.mask = hdr->prefix_len ? htonl(~0u << (32 - hdr->prefix_len)) : 0;
	px.gateway = hdr->gateway;
	px.unpriv_port_start = hdr->unpriv_port_start;
	memcpy(px.cc_name, hdr->cc_name, sizeof(px.cc_name));
	px.cc_name[sizeof(px.cc_name) - 1] = 0;
	px.sh_size = sizeof(struct px_shared) + px.max_socks * sizeof(struct px_sock) +
		     (size_t)PX_PROCS * px.max_socks * sizeof(uint16_t);
	/* MAP_SHARED: a forked child sees and updates the same sockets. */
	px.sh = mmap(NULL, px.sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	px.sfd = malloc(px.max_socks * sizeof(*px.sfd));
	if (px.sh == MAP_FAILED || !px.sfd) {
		err = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < px.max_socks; i++)
		px.sfd[i] = -1;
	px.byproc = (uint16_t *)(px.sh->socks + px.max_socks);
	px.slot = 0;
	px.sh->procs[0] = (struct px_proc){ .pid = getpid(), .used = 1,
					    .start = px_proc_start(getpid()) };
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&px.sh->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	px.pid = getpid();
	__atomic_store_n(&px.up, true, __ATOMIC_RELEASE);
	return 0;
fail:
	if (px.sh != MAP_FAILED && px.sh)
		munmap(px.sh, px.sh_size);
	px.sh = NULL;
	free(px.sfd);
	px.sfd = NULL;
	appif_client_close(&px.ac);
	return err;
}

int px_ctx_get(void)
{
	static int open_err;

	if (__atomic_load_n(&px.up, __ATOMIC_ACQUIRE))
		return 0;
	if (px.failed)
		return open_err;
	pthread_mutex_lock(&open_mu);
	if (!px.up && !px.failed) {
		open_err = ctx_open();
		if (open_err) {
			const char *fb = getenv("FLEXTOE_FALLBACK");

			px.failed = true;
			/* flextoe-run already said it once when it started */
			if (open_err == -EACCES)
				fprintf(stderr, "libflextoe-posix: the flextoe engine does not admit "
					"this user (only root and its --app-group); sockets use "
					"the kernel\n");
			else if (!fb || strcmp(fb, "kernel"))
				fprintf(stderr, "libflextoe-posix: no flextoe engine (%s); sockets "
					"use the kernel\n", strerror(-open_err));
		}
	}
	pthread_mutex_unlock(&open_mu);
	return px.up ? 0 : open_err;
}

bool px_engine_route(uint32_t local, uint32_t remote)
{
	uint32_t r = ntohl(remote);

	if (!px.up)
		return false;
	if ((r >> 24) == 127 || remote == INADDR_ANY || remote == INADDR_BROADCAST ||
	    (r >> 28) == 0xe)
		return false;	/* loopback, unspecified, multicast: the kernel's */
	if (remote == px.ip)
		return false;	/* the engine cannot talk to itself */
	if (local == px.ip)
		return true;
	if (local != INADDR_ANY)
		return false;	/* bound to a kernel address */
	/* On-link for the engine, or behind its gateway when
	 * FLEXTOE_ROUTE=all says the engine's interface is the way out. */
	if ((remote & px.mask) == (px.ip & px.mask))
		return true;
	if (px.gateway) {
		const char *r = getenv("FLEXTOE_ROUTE");

		return r && !strcmp(r, "all");
	}
	return false;
}

void px_lock(void)
{
	int r = pthread_mutex_lock(&px.sh->lock);

	/* A process died holding it: the state is at worst a count off;
	 * carry on rather than wedge every other process. */
	if (r == EOWNERDEAD)
		pthread_mutex_consistent(&px.sh->lock);
}

void px_unlock(void)
{
	pthread_mutex_unlock(&px.sh->lock);
}

void px_efd_kick(int fd)
{
	uint64_t one = 1;

	if (px_real.write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;	/* not an eventfd any more: nothing to wake */
}

void px_efd_drain(int fd)
{
	uint64_t v;

	/* our eventfds are non-blocking */
	if (px_real.read(fd, &v, sizeof(v)) < 0)
		return;
}

static int cmd_push2(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r,
		     uint64_t r2, uint64_t req)
{
	struct appif_cmd cmd = { .op = op, ._r = r, .handle = handle, .arg0 = a0, .arg1 = a1,
				 .req = req, ._r2 = r2 };

	while (appif_cmd_put(px.ac.shm, &px.ac.l, &px.sh->cmd_head, &cmd)) {
		/* full: the engine is behind; let it run */
		if (px.sh->dead)
			return -ECONNRESET;
		px_efd_kick(px.ac.efd_in);
		px_unlock();
		px_real.ppoll(NULL, 0, &(struct timespec){ 0, 1000000 }, NULL);
		px_lock();
	}
	/* only when the engine may be asleep, once per sleep */
	if (appif_doorbell_needed(px.ac.shm, &px.ac.l))
		px_efd_kick(px.ac.efd_in);
	return 0;
}

static int cmd_push(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r,
		    uint64_t req)
{
	return cmd_push2(op, handle, a0, a1, r, 0, req);
}

bool px_drain_once(int fd, bool *drained)
{
	if (*drained) {
		*drained = false;
		return false;
	}
	if (fd >= 0)
		px_efd_drain(fd);
	px_efd_drain(px.ac.efd_out);
	*drained = true;
	return true;
}

int px_cmd(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r)
{
	if (px.sh->dead)
		return -ECONNRESET;
	return cmd_push(op, handle, a0, a1, r, 0);
}

/* fd of this process that refers to socket s, or -1. */
static int local_fd(uint32_t s)
{
	int fd = px.sfd[s];

	if (fd >= 0 && px_sock_of(fd) == (int)s)
		return fd;
	for (unsigned int i = 0; i < px_fd_hi; i++)
		if (px_fds[i].kind == FD_ENGINE && px_fds[i].sock == (int32_t)s) {
			px.sfd[s] = (int)i;
			return (int)i;
		}
	/* a socket being created here (listen/connect) before its fd is in
	 * the table: px_call set sfd to its eventfd */
	return fd >= 0 && px_sock_of(fd) < 0 ? fd : -1;
}

/* Wake whoever waits on socket s; all: also when nobody sleeps in a
 * level wait (an epoll may wait for it). */
static void signal_sock(uint32_t s, bool all)
{
	struct px_sock *ps = &px.sh->socks[s];
	int fd;

	if (ps->kind == PK_PREACC || ps->kind == PK_FREE)
		return;
	/* Only sleepers in a level wait (a blocked call, poll) need their
	 * socket's eventfd: an epoll has the context's event fd edge-
	 * triggered and wakes on the engine's own write. */
	if (!ps->nwait && !ps->npoll && !all)
		return;
	fd = local_fd(s);
	if (fd >= 0) {
		px_efd_kick(fd);
		return;
	}
	if (ps->refs && !ps->sig_pending) {
		/* only another process holds it: leave it for that one */
		ps->sig_pending = 1;
		px.sh->npending++;
	}
}

void px_signal(uint32_t s)
{
	signal_sock(s, false);
}

static void resolve_pending(void)
{
	for (uint32_t s = 0; s < px.max_socks && px.sh->npending; s++) {
		struct px_sock *ps = &px.sh->socks[s];
		int fd;

		if (!ps->sig_pending)
			continue;
		if (!ps->refs || ps->kind == PK_FREE) {
			ps->sig_pending = 0;
			px.sh->npending--;
			continue;
		}
		fd = local_fd(s);
		if (fd < 0)
			continue;
		px_efd_kick(fd);
		ps->sig_pending = 0;
		px.sh->npending--;
	}
}

/* The socket of an engine handle, if it is still the one we know. */
static int sock_of(uint32_t h)
{
	uint32_t i = appif_handle_idx(h);

	if (i >= px.max_socks || px.sh->socks[i].kind == PK_FREE || px.sh->socks[i].handle != h)
		return -1;
	return (int)i;
}

static void on_result(const struct appif_ev *ev)
{
	for (int k = 0; k < PX_NRESULTS; k++) {
		struct px_result *r = &px.sh->res[k];

		if (!r->used || r->done || r->req != ev->req)
			continue;
		r->res = ev->res;
		r->done = 1;
		if (ev->res >= 0 && r->kind != PK_FREE) {
			uint32_t s = appif_handle_idx((uint32_t)ev->res);

			if (s < px.max_socks) {
				px_sock_install(s, (uint32_t)ev->res, r->kind);
				if (r->pid == px.pid)
					px.sfd[s] = r->fd;
			}
		}
		if (r->pid == px.pid)
			px_efd_kick(r->fd);
		else
			px.sh->npending++, r->kind = 0xff;	/* woken by the pending scan */
		return;
	}
}

static void on_accept(const struct appif_ev *ev)
{
	uint32_t i = appif_handle_idx(ev->handle);
	int l = sock_of(ev->arg0);
	struct px_sock *ls, *n;

	if (i >= px.max_socks)
		return;
	if (l < 0 || px.sh->socks[l].kind != PK_LISTEN) {
		/* the listener is closed already: refuse the connection */
		cmd_push(APPIF_OP_ABORT, ev->handle, 0, 0, 0, 0);
		return;
	}
	ls = &px.sh->socks[l];
	n = px_sock_install(i, ev->handle, PK_PREACC);
	n->peer_ip = htonl(ev->arg1);
	n->peer_port = htons((uint16_t)ev->res);
	n->local_ip = px.ip;
	n->local_port = htons((uint16_t)px_ssock(i)->local_port);
	n->listener = l;
	n->opts = ls->opts;	/* accepted sockets inherit the listener's options */
	n->aq_next = -1;
	if (ls->aq_tail >= 0)
		px.sh->socks[ls->aq_tail].aq_next = (int32_t)i;
	else
		ls->aq_head = (int32_t)i;
	ls->aq_tail = (int32_t)i;
	ls->aq_len++;
	ls->ev_seq++;
	px_signal((uint32_t)l);
}

void px_pump(void)
{
	if (px.sh->npending || px.sh->reap_ns) {
		int64_t now = px_now_ns();

		/* at most once a second, and only in a family of processes */
		if (px.sh->reap_ns && now >= px.sh->reap_ns) {
			px.sh->reap_ns = now + 1000000000;
			px_reap();
		}
	}
	if (!px.sh->dead) {
		struct appif_ev ev;

		while (appif_ev_take(px.ac.shm, &px.ac.l, &px.sh->ev_tail, &ev)) {
			struct px_sock *ps;
			int s;

			if (ev.type == APPIF_EV_RESULT) {
				on_result(&ev);
				continue;
			}
			if (ev.type == APPIF_EV_ACCEPT) {
				on_accept(&ev);
				continue;
			}
			s = sock_of(ev.handle);
			if (s < 0)
				continue;	/* closed meanwhile */
			ps = &px.sh->socks[s];
			/* clear before anyone looks at the ring: a later change
			 * posts a new event */
			if (ev.type == APPIF_EV_RX)
				__atomic_store_n(&px_ssock((uint32_t)s)->rx_ev, 0, __ATOMIC_SEQ_CST);
			else if (ev.type == APPIF_EV_TX)
				__atomic_store_n(&px_ssock((uint32_t)s)->tx_ev, 0, __ATOMIC_SEQ_CST);
			ps->ev_seq++;
			if (ev.type == APPIF_EV_TX && !ps->want_out)
				continue;	/* nobody waits for space */
			if (ev.type == APPIF_EV_TX) {
				/* A writer saw the ring full (a short write, or
				 * EAGAIN): its socket's eventfd gets the edge too,
				 * as Linux wakes an edge-triggered EPOLLOUT when
				 * space frees.  An epoll in another process of the
				 * family must not depend on the shared event fd
				 * alone, which this process may have consumed. */
				ps->want_out = 0;
				__atomic_store_n(&px_ssock((uint32_t)s)->tx_wake, 0, __ATOMIC_RELAXED);
				/* Always: the engine signals the wake groups for
				 * a space event only when tx_wake was already set,
				 * and this event may have been posted (and later
				 * ones coalesced into it) before the writer set
				 * it; then nothing else wakes an epoll waiting
				 * for EPOLLOUT (an nginx sendfile stalled 60 s).
				 * One write per ring-full episode. */
				signal_sock((uint32_t)s, true);
				continue;
			}
			if (ps->kind == PK_PREACC && px.sh->socks[ps->listener].kind == PK_LISTEN)
				px.sh->socks[ps->listener].ev_seq++;
			px_signal((uint32_t)s);
		}
	}
	if (px.sh->npending) {
		for (int k = 0; k < PX_NRESULTS; k++) {
			struct px_result *res = &px.sh->res[k];

			if (res->used && res->done && res->kind == 0xff && res->pid == px.pid) {
				px_efd_kick(res->fd);
				res->kind = 0;
				px.sh->npending--;
			}
		}
		resolve_pending();
		/* what is left needs another process: pass the wake-up on */
		if (px.sh->npending)
			px_efd_kick(px.ac.efd_out);
	}
}

int px_call(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r, uint8_t kind,
	    int efd)
{
	return px_call_r2(op, handle, a0, a1, r, 0, kind, efd);
}

int px_call_r2(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r, uint64_t r2,
	       uint8_t kind, int efd)
{
	struct px_result *res = NULL;
	int k, err, ret;

	for (;;) {
		if (px.sh->dead)
			return -ECONNRESET;
		for (k = 0; k < PX_NRESULTS && px.sh->res[k].used; k++)
			;
		if (k < PX_NRESULTS)
			break;
		/* 64 calls in flight: wait for one to finish */
		px_unlock();
		px_real.ppoll(NULL, 0, &(struct timespec){ 0, 1000000 }, NULL);
		px_lock();
	}
	res = &px.sh->res[k];
	memset(res, 0, sizeof(*res));
	res->used = 1;
	res->req = ++px.sh->req_seq;
	res->pid = px.pid;
	res->fd = efd;
	res->kind = kind;
	err = cmd_push2(op, handle, a0, a1, r, r2, res->req);
	if (err) {
		res->used = 0;
		return err;
	}
	for (bool drained = false;;) {
		px_pump();
		if (res->done)
			break;
		if (px.sh->dead) {
			res->used = 0;
			return -ECONNRESET;
		}
		if (px_drain_once(efd, &drained))
			continue;
		px_unlock();
		/* the answer comes quickly: not interruptible */
		sleep_on(&(struct pollfd){ .fd = efd, .events = POLLIN }, 1, -1, NULL, false);
		px_lock();
	}
	ret = res->res;
	res->used = 0;
	return ret;
}

void px_engine_sync(uint32_t h)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (efd < 0)
		return;	/* no fd for the wait: the close stays asynchronous */
	/* INFO of a handle the engine no longer knows is answered -EBADF,
	 * after every command queued before it (the ring is in order) */
	px_call(APPIF_OP_INFO, h, 0, 0, 0, PK_FREE, efd);
	px_real.close(efd);
}

void px_set_dead(void)
{
	if (px.sh->dead)
		return;
	px.sh->dead = 1;
	for (uint32_t s = 0; s < px.max_socks; s++)
		if (px.sh->socks[s].kind != PK_FREE)
			px_signal(s);
	for (int k = 0; k < PX_NRESULTS; k++)
		if (px.sh->res[k].used && px.sh->res[k].pid == px.pid)
			px_efd_kick(px.sh->res[k].fd);
}

/* ---- a wake group per sleeping thread ------------------------------------
 * A thread blocked in recv/send/accept/connect, poll or select sleeps on
 * its own wake group (px_grp_open), whose bit it sets in the wake_mask of
 * the sockets it waits for: the engine then wakes it for their events
 * only, where the context's event fd, which the engine writes for every
 * event, woke every sleeping thread of the process.  The group is taken
 * at the thread's first sleep and kept until it ends.  At most
 * THREAD_GROUPS threads have one, leaving the rest to epolls; the others
 * sleep on the context's event fd as before. */
#define THREAD_GROUPS 32

static __thread int thr_grp = -1, thr_gfd = -1;
static __thread bool thr_tried;
static pthread_key_t thr_key;
static pthread_once_t thr_once = PTHREAD_ONCE_INIT;

static void thr_exit(void *unused)
{
	(void)unused;
	px_thread_grp_release();
}

static void thr_key_init(void)
{
	if (pthread_key_create(&thr_key, thr_exit))
		thr_key = (pthread_key_t)-1;
}

void px_thread_grp_release(void)
{
	if (thr_grp >= 0 && px.up)
		px_grp_put(thr_grp, thr_gfd, true);
	thr_grp = thr_gfd = -1;
}

void px_thread_grp_forget(void)
{
	if (thr_gfd >= 0)
		px_real.close(thr_gfd);
	thr_grp = thr_gfd = -1;
	thr_tried = false;
}

/* This thread's group (its eventfd in *gfd), or -1. */
static int thr_group(int *gfd)
{
	if (!thr_tried) {
		thr_tried = true;
		pthread_once(&thr_once, thr_key_init);
		if (thr_key != (pthread_key_t)-1) {
			thr_grp = px_grp_open(&thr_gfd, THREAD_GROUPS);
			if (thr_grp >= 0)
				pthread_setspecific(thr_key, (void *)1);	/* for thr_exit */
		}
	}
	*gfd = thr_gfd;
	return thr_grp;
}

/* The engine sockets among fds get bit (or lose it, on false). */
static unsigned int mark_socks(const struct pollfd *fds, unsigned int n, uint64_t bit, bool on)
{
	unsigned int socks = 0;

	for (unsigned int i = 0; i < n; i++) {
		int s = fds[i].fd >= 0 ? px_sock_of(fds[i].fd) : -1;

		if (s < 0)
			continue;
		socks++;
		if (on)
			__atomic_fetch_or(&px_ssock((uint32_t)s)->wake_mask, bit, __ATOMIC_SEQ_CST);
		else
			__atomic_fetch_and(&px_ssock((uint32_t)s)->wake_mask, ~bit, __ATOMIC_RELAXED);
	}
	return socks;
}

/* px_sleep; by_socks false: the wait is for a command's answer (a RESULT
 * event, which the engine signals on the context's event fd alone), even
 * if fds holds a socket's eventfd. */
static int sleep_on(struct pollfd *fds, unsigned int n, int64_t timeout_ns, const sigset_t *mask,
		    bool by_socks)
{
	struct pollfd stack[64], *p = stack;
	struct timespec ts, *tsp = NULL;
	unsigned int m = n, ictx = ~0u, ictl = ~0u;
	int r, ready = 0, grp = -1, gfd = -1;
	uint64_t bit = 0;

	if (n + 2 > sizeof(stack) / sizeof(stack[0])) {
		p = malloc((n + 2) * sizeof(*p));
		if (!p)
			return -ENOMEM;
	}
	memcpy(p, fds, n * sizeof(*p));
	if (px.up && !__atomic_load_n(&px.sh->dead, __ATOMIC_ACQUIRE)) {
		if (by_socks && thr_group(&gfd) >= 0) {
			bit = 1ull << thr_grp;
			if (mark_socks(fds, n, bit, true)) {
				/* the bits are set: an event the engine posts from
				 * now on writes gfd; one it posted before is in the
				 * ring, and this pump kicks the socket's eventfd */
				grp = thr_grp;
				px_lock();
				px_pump();
				px_unlock();
			} else {
				bit = 0;	/* no engine socket: a command's answer */
			}
		}
		if (grp >= 0) {
			ictx = m;
			p[m++] = (struct pollfd){ .fd = gfd, .events = POLLIN };
			/* an event that waits for another process of the
			 * family (px_signal) may need this one's pump too */
			if (__atomic_load_n(&px.sh->npending, __ATOMIC_ACQUIRE) &&
			    (timeout_ns < 0 || timeout_ns > PENDING_RECHECK_NS))
				timeout_ns = PENDING_RECHECK_NS;
		} else if (!__atomic_load_n(&px.sh->npending, __ATOMIC_ACQUIRE)) {
			ictx = m;
			p[m++] = (struct pollfd){ .fd = px.ac.efd_out, .events = POLLIN };
		} else if (timeout_ns < 0 || timeout_ns > PENDING_RECHECK_NS) {
			timeout_ns = PENDING_RECHECK_NS;
		}
		ictl = m;
		p[m++] = (struct pollfd){ .fd = px.ac.fd, .events = POLLIN };
	}
	if (timeout_ns >= 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		tsp = &ts;
	}
	r = px_real.ppoll(p, m, tsp, mask);
	if (bit) {
		mark_socks(fds, n, bit, false);
		if (p[ictx].revents)
			px_efd_drain(gfd);	/* the caller pumps and looks again */
	}
	if (r < 0) {
		r = -errno;
		goto out;
	}
	for (unsigned int i = 0; i < n; i++) {
		fds[i].revents = p[i].revents;
		if (p[i].revents)
			ready++;
	}
	if (ictl != ~0u && p[ictl].revents) {
		px_lock();
		px_set_dead();
		px_unlock();
	}
	r = ready;
out:
	if (p != stack)
		free(p);
	return r;
}

int px_sleep(struct pollfd *fds, unsigned int n, int64_t timeout_ns, const sigset_t *mask)
{
	return sleep_on(fds, n, timeout_ns, mask, true);
}
