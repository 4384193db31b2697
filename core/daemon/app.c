/* app.c - the daemon's application server: UNIX socket, SO_PEERCRED, memfd and eventfds handed over with SCM_RIGHTS. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core/control/appif.h"
#include "core/control/splice.h"
#include "core/daemon/app.h"
#include "core/daemon/app_cred.h"
#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
#include "core/daemon/xsk_app.h"
#include "ebpf/ebpf.h"
#include "lib/util/log.h"

#define SPLICE_POLL_NS 100000000ull	/* look for ended splices every 100 ms */
/* Without a hint that the server's fd is readable, look at its sources
 * (new applications, hellos, exits, doorbells) this often: the command
 * rings are polled on every pass anyway, and an idle thread blocks on the
 * fd, so this only bounds how long a busy engine takes to notice them. */
#define APP_EPOLL_NS 1000000ull
/* Read (reset) an application's doorbell eventfd once per this many
 * doorbells: edge-triggered, it needs no read to re-arm; this only keeps
 * its counter far from saturation (a write that would saturate it fails,
 * and that doorbell would be lost). */
#define DOORBELL_DRAIN 4096u

enum tag_kind { TAG_LISTEN = 1, TAG_SOCK, TAG_EFD, TAG_CALL };

struct app_conn;
struct tag {
	enum tag_kind kind;
	struct app_conn *conn;
};

/* One application context: its UNIX connection, memory and eventfds. */
struct app_conn {
	int fd;			/* the UNIX connection: closes when the app dies */
	int efd_in;		/* app -> engine */
	int efd_out;		/* engine -> app */
	void *shm;
	size_t shm_size;
	struct appif_peer peer;	/* pid, uid, gid, port rights: app_cred.c */
	struct appif_ctx *ctx;
	struct appif_ring *cmd_ring;	/* in shm: its polling flag is ours */
	uint32_t cmd_entries;
	uint32_t cmd_tail;		/* commands appif_ctx_poll took: its tail (not the app's word) */
	bool polling;			/* our last store to cmd_ring->polling */
	struct tag tag_sock, tag_efd;
	uint32_t doorbells;		/* reported by epoll (edge-triggered efd_in) */
	int wake_fd[APPIF_WAKE_GROUPS];	/* the application's wake groups' eventfds, -1 */
	bool gone;		/* freed after the current batch of epoll events */
	struct app_conn *next;
};

static struct {
	bool running;
	int lfd, epfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct tag tag_listen;
	struct appif *appif;
	struct daemon *d;
	const struct daemon_opts *opts;
	struct app_conn *conns;
	pthread_mutex_t lock;	/* several workers may poll the server */
	uint64_t splice_next_ns;	/* next appif_splice_poll */
	uint64_t epoll_ns;		/* last look at epfd (APP_EPOLL_NS) */
} S = { .lfd = -1, .epfd = -1, .lock = PTHREAD_MUTEX_INITIALIZER };

/* A call another thread asked the engine's thread to run (app_server_call):
 * one at a time, under lock, which the engine's thread takes only when
 * pending is set. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t done;
	bool pending;
	app_engine_fn *fn;
	void *arg;
	int efd;		/* in S.epfd: wakes a blocked engine thread */
	struct tag tag;
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .done = PTHREAD_COND_INITIALIZER, .efd = -1 };

static void set_polling(struct app_conn *c, bool on);

static void efd_write(struct app_conn *c, int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("application pid %d: eventfd: %s", c->peer.pid, strerror(errno));
}

/* The context's eventfd always (blocked calls sleep on it), and the wake
 * groups of the sockets that had events (each epoll of lib/posix has one,
 * so an event wakes only the epolls that hold its socket). */
static void wake_app(void *arg, uint64_t groups)
{
	struct app_conn *c = arg;

	/* the groups first: their epolls are the usual sleepers */
	for (; groups; groups &= groups - 1) {
		int fd = c->wake_fd[__builtin_ctzll(groups)];

		if (fd >= 0)
			efd_write(c, fd);
	}
	efd_write(c, c->efd_out);
}

static void wake_groups_close(struct app_conn *c)
{
	for (int k = 0; k < APPIF_WAKE_GROUPS; k++)
		if (c->wake_fd[k] >= 0) {
			close(c->wake_fd[k]);
			c->wake_fd[k] = -1;
		}
}

/* A struct appif_wake_msg: set group k's eventfd (fd >= 0), or drop it.
 * The eventfd's first write is the acknowledgement the application waits
 * for before it relies on the group. */
static void wake_group_set(struct app_conn *c, const struct appif_wake_msg *m, int fd)
{
	if (m->magic != APPIF_WAKE_MAGIC || m->group >= APPIF_WAKE_GROUPS) {
		pr_debug("application pid %d: bad wake-group message", c->peer.pid);
		if (fd >= 0)
			close(fd);
		return;
	}
	if (c->wake_fd[m->group] >= 0)
		close(c->wake_fd[m->group]);
	c->wake_fd[m->group] = fd;
	if (fd >= 0)
		efd_write(c, fd);
}

static void conn_free(struct app_conn *c)
{
	for (struct app_conn **p = &S.conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	if (c->ctx)
		appif_ctx_remove(S.appif, c->ctx);
	xska_close_owner(S.d, c);
	if (c->fd >= 0) {
		epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	if (c->efd_in >= 0) {
		epoll_ctl(S.epfd, EPOLL_CTL_DEL, c->efd_in, NULL);
		close(c->efd_in);
	}
	if (c->efd_out >= 0)
		close(c->efd_out);
	wake_groups_close(c);
	if (c->shm)
		munmap(c->shm, c->shm_size);
	free(c);
}

static int send_welcome(struct app_conn *c, const struct appif_welcome *w, int memfd)
{
	int fds[3] = { memfd, c->efd_in, c->efd_out };
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = { (void *)w, sizeof(*w) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (!w->status) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	}
	return sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* The first message: size the context, build its memory, hand it over. */
static int conn_hello(struct app_conn *c)
{
	struct appif_hello h;
	struct appif_welcome w = { .version = APPIF_VERSION };
	struct appif_layout l;
	ssize_t n;
	int memfd = -1, err;

	n = recv(c->fd, &h, sizeof(h), 0);
	if (n < 0 && errno == EAGAIN)
		return 0;
	if (n <= 0)
		return -ECONNRESET;
	/* who it is and what it may do, before anything is built for it */
	w.status = app_cred_admit(S.opts, c->fd, &c->peer);
	if (w.status)
		goto reply;
	if (n != sizeof(h) || h.magic != APPIF_MAGIC || h.version != APPIF_VERSION) {
		pr_warn("application pid %d: bad hello (version %u, this engine speaks %u)",
			c->peer.pid, n == sizeof(h) ? h.version : 0, APPIF_VERSION);
		w.status = -EPROTO;
		goto reply;
	}
	err = appif_layout(h.max_socks, h.buf_size, &l);
	if (err) {
		pr_warn("application pid %d: unsupported context size (%u sockets, %u-byte "
			"buffers)", c->peer.pid, h.max_socks, h.buf_size);
		w.status = err;
		goto reply;
	}
	memfd = memfd_create("flextoe-ctx", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, (off_t)l.size) < 0) {
		w.status = -errno;
		goto fail;
	}
	c->shm = mmap(NULL, l.size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (c->shm == MAP_FAILED) {
		c->shm = NULL;
		w.status = -errno;
		goto fail;
	}
	c->shm_size = l.size;
	c->efd_in = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c->efd_out = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->efd_in < 0 || c->efd_out < 0) {
		w.status = -errno;
		goto fail;
	}
	c->tag_efd = (struct tag){ TAG_EFD, c };
	/* Edge-triggered: every write (a doorbell) queues one event, which
	 * the epoll_wait that reports it also consumes, so the counter need
	 * not be read back - a system call per doorbell saved.  The counter
	 * only grows; app_server_poll drains it now and then (DOORBELL_DRAIN)
	 * so that it never saturates. */
	if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, c->efd_in,
		      &(struct epoll_event){ .events = EPOLLIN | EPOLLET,
					     .data.ptr = &c->tag_efd })) {
		w.status = -errno;
		goto fail;
	}
	w.status = appif_ctx_add(S.appif, c->shm, h.max_socks, h.buf_size, &c->peer, wake_app, c,
				 &c->ctx);
	if (w.status)
		goto fail;
	((struct appif_shm_hdr *)c->shm)->wake_groups = APPIF_WAKE_GROUPS;
	c->cmd_ring = (struct appif_ring *)((uint8_t *)c->shm + l.cmd_ring);
	c->cmd_entries = l.cmd_entries;
	w.shm_size = l.size;
	w.max_socks = h.max_socks;
	w.buf_size = h.buf_size;
	w.cmd_entries = l.cmd_entries;
	w.ev_entries = l.ev_entries;
	pr_debug("application pid %d uid %u: context with %u sockets, %u-byte buffers, ports "
		 "from %u", c->peer.pid, c->peer.uid, h.max_socks, h.buf_size,
		 c->peer.unpriv_port_start);
	goto reply;
fail:
	pr_warn("application pid %d: cannot set up its context: %s", c->peer.pid,
		strerror(-w.status));
reply:
	err = send_welcome(c, &w, memfd);
	if (memfd >= 0)
		close(memfd);	/* both mappings keep the memory */
	if (err)
		return err;
	return w.status ? w.status : 0;
}

static void accept_apps(void)
{
	for (;;) {
		int fd = accept4(S.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct app_conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				pr_warn("%s: accept: %s", S.path, strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->efd_in = c->efd_out = -1;
		for (int k = 0; k < APPIF_WAKE_GROUPS; k++)
			c->wake_fd[k] = -1;
		c->tag_sock = (struct tag){ TAG_SOCK, c };
		if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd,
			      &(struct epoll_event){ .events = EPOLLIN | EPOLLRDHUP,
						     .data.ptr = &c->tag_sock })) {
			close(fd);
			free(c);
			continue;
		}
		c->next = S.conns;
		S.conns = c;
	}
}

/* One message after the hello: n bytes, or 0 at the end, -1 (errno) when
 * there is none; *fd the one fd it carried, or -1. */
static ssize_t conn_msg(struct app_conn *c, void *buf, size_t len, int *fd)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (n < 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		size_t nfd;
		int fds[4];

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfd > 4)
			nfd = 4;
		memcpy(fds, CMSG_DATA(cm), nfd * sizeof(int));
		for (size_t k = 0; k < nfd; k++) {
			if (*fd < 0)
				*fd = fds[k];
			else
				close(fds[k]);	/* one fd per message */
		}
	}
	return n;
}

/* The UNIX connection is readable: the hello, wake groups, raw-frame
 * socket requests (include/flextoe/appif_xsk.h), or the application's
 * end.  Messages are told apart by size and magic. */
static void conn_readable(struct app_conn *c, uint32_t events)
{
	union {
		struct appif_wake_msg wake;
		struct appif_xsk_req xsk;
	} m;
	ssize_t n;
	int fd;

	if (!c->ctx) {
		if (conn_hello(c) < 0)
			c->gone = true;
		return;
	}
	while ((n = conn_msg(c, &m, sizeof(m), &fd)) > 0) {
		if (n == sizeof(m.wake)) {
			wake_group_set(c, &m.wake, fd);
			continue;
		}
		if (fd >= 0)
			close(fd);
		if (n == sizeof(m.xsk) && m.xsk.magic == APPIF_XSK_MAGIC)
			xska_request(S.d, c->fd, c, &m.xsk);
		else
			pr_debug("application pid %d: unknown message of %zd bytes", c->peer.pid, n);
	}
	if (n == 0 || (n < 0 && errno != EAGAIN) || (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR))) {
		/* closes queued just before exit run first; the rest is reset */
		appif_ctx_poll(S.appif, c->ctx);
		c->gone = true;
	}
}

/* ---- the splice program's maps for core/control/splice.c --------------------
 * They belong to whichever program at rx-pre has them (hooks_ebpf.c); a
 * map of that name with other key or value sizes is someone else's. */
enum { SPLICE_OP_LOOKUP, SPLICE_OP_UPDATE, SPLICE_OP_DELETE };

static int splice_map_op(struct daemon *d, enum ftoe_splice_map m, int op, const void *key,
			 void *val)
{
	static const char *const names[] = { [FTOE_SPLICE_FLOWS] = SPLICE_MAP_NAME,
					     [FTOE_SPLICE_ENDS] = SPLICE_ENDS_NAME,
					     [FTOE_SPLICE_FLOWS6] = SPLICE6_MAP_NAME,
					     [FTOE_SPLICE_ENDS6] = SPLICE6_ENDS_NAME };
	static const uint32_t ksize[] = { [FTOE_SPLICE_FLOWS] = sizeof(struct splice_key),
					  [FTOE_SPLICE_ENDS] = sizeof(struct splice_key),
					  [FTOE_SPLICE_FLOWS6] = sizeof(struct splice_key6),
					  [FTOE_SPLICE_ENDS6] = sizeof(struct splice_key6) };
	static const uint32_t vsize[] = { [FTOE_SPLICE_FLOWS] = sizeof(struct splice_entry),
					  [FTOE_SPLICE_ENDS] = sizeof(struct splice_end),
					  [FTOE_SPLICE_FLOWS6] = sizeof(struct splice_entry6),
					  [FTOE_SPLICE_ENDS6] = sizeof(struct splice_end) };
	struct ebpf_map *map = hx_map_get(d, FLEXTOE_HOOK_RX_PRE, names[m]);
	int ret;

	if (!map)
		return -ENODEV;
	if (ebpf_map_key_size(map) != ksize[m] ||
	    ebpf_map_value_size(map) != vsize[m]) {
		ebpf_map_put(map);
		return -ENODEV;
	}
	if (op == SPLICE_OP_LOOKUP)
		ret = ebpf_map_lookup_elem(map, key, val);
	else if (op == SPLICE_OP_UPDATE)
		ret = ebpf_map_update_elem(map, key, val, 0 /* BPF_ANY */);
	else
		ret = ebpf_map_delete_elem(map, key);
	ebpf_map_put(map);
	return ret;
}

static int splice_update(void *ctx, enum ftoe_splice_map m, const void *key, const void *val)
{
	return splice_map_op(ctx, m, SPLICE_OP_UPDATE, key, (void *)val);
}

static int splice_lookup(void *ctx, enum ftoe_splice_map m, const void *key, void *val)
{
	return splice_map_op(ctx, m, SPLICE_OP_LOOKUP, key, val);
}

static int splice_remove(void *ctx, enum ftoe_splice_map m, const void *key)
{
	return splice_map_op(ctx, m, SPLICE_OP_DELETE, key, NULL);
}

int app_server_start(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int n, err;

	n = snprintf(S.path, sizeof(S.path), "%s/%s", d->opts.run_dir, APPIF_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(S.path)) {
		pr_err("run directory %s: path too long for a UNIX socket (at most %zu bytes)",
		       d->opts.run_dir, sizeof(S.path) - sizeof(APPIF_SOCK_NAME) - 1);
		return -ENAMETOOLONG;
	}
	err = appif_create(d->eng, &S.appif);
	if (err)
		return err;
	{
		const struct ftoe_splice_map_ops sops = {
			.ctx = d, .update = splice_update, .lookup = splice_lookup,
			.remove = splice_remove,
		};

		err = appif_splice_enable(S.appif, &sops);
		if (err)
			return err;
	}
	S.epfd = epoll_create1(EPOLL_CLOEXEC);
	S.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (S.epfd < 0 || S.lfd < 0)
		goto fail;
	memcpy(sa.sun_path, S.path, (size_t)n + 1);
	unlink(S.path);	/* a crashed engine's: we hold the run directory's lock */
	if (bind(S.lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(S.lfd, 128))
		goto fail;
	/* Any local user may open connections, as with kernel sockets; with
	 * --app-group, root and the group only (app_cred_admit checks again). */
	S.opts = &d->opts;
	S.d = d;
	if (app_cred_socket_mode(&d->opts, S.path))
		goto fail;
	S.tag_listen.kind = TAG_LISTEN;
	if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, S.lfd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &S.tag_listen }))
		goto fail;
	R.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	R.tag.kind = TAG_CALL;
	if (R.efd < 0 || epoll_ctl(S.epfd, EPOLL_CTL_ADD, R.efd,
				   &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &R.tag }))
		goto fail;
	S.running = true;
	return 0;
fail:
	err = -errno;
	pr_err("application socket %s: %s", S.path, strerror(errno));
	app_server_stop(d);
	return err;
}

int app_server_fd(void)
{
	return S.running ? S.epfd : -1;
}

unsigned int app_server_poll(struct daemon *d, bool fd_ready)
{
	struct epoll_event evs[32];
	unsigned int cmds = 0;
	uint64_t now;
	int n = 0;

	(void)d;	/* the engine's thread runs it: no lock around the engine */
	if (!S.running)
		return 0;
	pthread_mutex_lock(&S.lock);
	now = x86_now_ns();
	/* An epoll_wait per pass was two system calls per RPC for nothing:
	 * the doorbells are rare now (appif_ring.polling). */
	if (fd_ready || now - S.epoll_ns >= APP_EPOLL_NS) {
		S.epoll_ns = now;
		n = epoll_wait(S.epfd, evs, 32, 0);
	}
	for (int i = 0; i < n; i++) {
		struct tag *t = evs[i].data.ptr;
		uint64_t v;

		if (t->kind == TAG_LISTEN)
			accept_apps();
		else if (t->kind == TAG_CALL) {
			if (read(R.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				pr_debug("control call eventfd: %s", strerror(errno));
		} else if (t->conn->gone)
			continue;
		else if (t->kind == TAG_SOCK)
			conn_readable(t->conn, evs[i].events);
		else if (++t->conn->doorbells % DOORBELL_DRAIN == 0 &&
			 read(t->conn->efd_in, &v, sizeof(v)) < 0 && errno != EAGAIN)
			pr_debug("application eventfd: %s", strerror(errno));
	}
	/* Freed only now: the same batch may hold an application's UNIX
	 * connection hanging up and then its eventfd. */
	for (struct app_conn **p = &S.conns; *p;) {
		struct app_conn *c = *p;

		if (!c->gone) {
			p = &c->next;
			continue;
		}
		conn_free(c);	/* unlinks c: *p is its successor now */
	}
	/* Commands may be queued without a wakeup having been read yet:
	 * look at every context, it is a few loads each.  We are awake and
	 * come back here before we block (app_server_idle): the
	 * applications need not ring their doorbells meanwhile. */
	for (struct app_conn *c = S.conns; c; c = c->next)
		if (c->ctx) {
			unsigned int n;

			set_polling(c, true);
			n = appif_ctx_poll(S.appif, c->ctx);
			c->cmd_tail += n;
			cmds += n;
		}
	if (appif_splice_count(S.appif)) {
		if (now >= S.splice_next_ns) {
			S.splice_next_ns = now + SPLICE_POLL_NS;
			appif_splice_poll(S.appif);
		}
	}
	if (__atomic_load_n(&R.pending, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&R.lock);
		if (R.pending) {
			R.fn(d, S.appif, R.arg);
			R.pending = false;
			pthread_cond_broadcast(&R.done);
		}
		pthread_mutex_unlock(&R.lock);
	}
	appif_flush(S.appif);
	pthread_mutex_unlock(&S.lock);
	return cmds;
}

int app_server_call(struct daemon *d, app_engine_fn *fn, void *arg, unsigned int timeout_ms)
{
	struct timespec until;
	uint64_t one = 1;
	int err = 0;

	(void)d;
	if (!S.running || R.efd < 0)
		return -ESRCH;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&R.lock);
	R.fn = fn;
	R.arg = arg;
	__atomic_store_n(&R.pending, true, __ATOMIC_RELEASE);
	if (write(R.efd, &one, sizeof(one)) < 0)
		pr_debug("control call eventfd: %s", strerror(errno));
	while (R.pending && !err)
		err = pthread_cond_timedwait(&R.done, &R.lock, &until);
	if (R.pending) {
		/* The engine's thread takes R.lock before it runs fn: it will not now. */
		R.pending = false;
		err = -ETIMEDOUT;
	} else {
		err = 0;
	}
	pthread_mutex_unlock(&R.lock);
	return err;
}

/* Doorbell suppression (appif_ring.polling, docs/api.md "Doorbells"):
 * the flag is written only when it changes, its cache line being shared
 * with the application. */
static void set_polling(struct app_conn *c, bool on)
{
	if (c->polling == on)
		return;
	c->polling = on;
	__atomic_store_n(&c->cmd_ring->polling, on, __ATOMIC_SEQ_CST);
}

bool app_server_idle(struct daemon *d)
{
	bool work = false;

	(void)d;	/* the engine's thread, as app_server_poll */
	if (!S.running)
		return false;
	pthread_mutex_lock(&S.lock);
	for (struct app_conn *c = S.conns; c; c = c->next)
		if (c->ctx)
			set_polling(c, false);
	/* Pairs with the application's fence between publishing head and
	 * reading polling: either it sees 0 and rings, or we see its head. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (struct app_conn *c = S.conns; c && !work; c = c->next) {
		uint32_t head, tail;

		if (!c->ctx)
			continue;
		head = __atomic_load_n(&c->cmd_ring->head, __ATOMIC_ACQUIRE);
		tail = c->cmd_tail;
		/* as appif_ctx_poll: a head past the ring is not work */
		work = head != tail && head - tail <= c->cmd_entries;
	}
	pthread_mutex_unlock(&S.lock);
	return work;
}

void app_server_stop(struct daemon *d)
{
	(void)d;	/* after the backend's threads stopped */
	while (S.conns)
		conn_free(S.conns);
	if (S.appif)
		appif_destroy(S.appif);
	S.appif = NULL;
	if (S.lfd >= 0) {
		close(S.lfd);
		unlink(S.path);
	}
	if (S.epfd >= 0)
		close(S.epfd);
	if (R.efd >= 0)
		close(R.efd);
	S.lfd = S.epfd = R.efd = -1;
	S.running = false;
}
