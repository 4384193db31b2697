/* ctx.c - libflextoe contexts: connecting to the daemon, the command and event queues, waiting, ftoe_ctx_poll. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/libflextoe/appif_client.h"
#include "lib/libflextoe/internal.h"

#define DEFAULT_RUN_DIR "/run/flextoe"
#define DEFAULT_SOCKS   1024
#define DEFAULT_BUF     (64u << 10)

int ftoe_ctx_create(const struct ftoe_ctx_opts *opts, struct ftoe_ctx **out)
{
	uint32_t max_socks = DEFAULT_SOCKS, buf_size = DEFAULT_BUF;
	struct appif_client ac;
	const char *dir = NULL;
	struct ftoe_ctx *c;
	int err;

	if (!out)
		return -EINVAL;
	if (opts && opts->sz >= sizeof(*opts)) {
		dir = opts->run_dir;
		if (opts->max_socks)
			max_socks = opts->max_socks;
		if (opts->buf_size)
			buf_size = opts->buf_size;
	}
	if (!dir)
		dir = getenv("FLEXTOE_RUN_DIR");
	if (!dir || !*dir)
		dir = DEFAULT_RUN_DIR;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = c->efd_in = c->efd_out = c->epfd = -1;
	c->nonblock = opts && opts->sz >= sizeof(*opts) && opts->nonblock;
	err = appif_client_open(dir, max_socks, buf_size, 1, &ac);
	if (err)
		goto fail;
	c->fd = ac.fd;
	c->efd_in = ac.efd_in;
	c->efd_out = ac.efd_out;
	c->shm = ac.shm;
	c->l = ac.l;
	c->max_socks = max_socks;
	c->buf_size = buf_size;
	c->socks = calloc(c->max_socks, sizeof(*c->socks));
	c->ready = calloc(c->max_socks, sizeof(*c->ready));
	if (!c->socks || !c->ready) {
		err = -ENOMEM;
		goto fail;
	}
	/* The fd handed out covers the event fd and the UNIX connection, so
	 * an epoll loop also wakes up when the engine goes away. */
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->efd_out, &(struct epoll_event){ .events = EPOLLIN }) ||
	    epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->fd, &(struct epoll_event){ .events = EPOLLIN })) {
		err = -errno;
		goto fail;
	}
	*out = c;
	return 0;
fail:
	c->socks = NULL;
	ftoe_ctx_destroy(c);
	return err;
}

void ftoe_ctx_destroy(struct ftoe_ctx *c)
{
	if (!c)
		return;
	/* Orderly closes first; whatever is left is reset by the engine when
	 * our UNIX connection closes. */
	if (c->socks && !c->dead)
		for (uint32_t i = 0; i < c->max_socks; i++)
			if (c->socks[i].kind != LS_FREE)
				ftoe_close(c, (int)i);
	for (uint32_t i = 0; c->socks && i < c->max_socks; i++)
		free(c->socks[i].aq);
	free(c->socks);
	free(c->ready);
	appif_client_close(&(struct appif_client){ .fd = c->fd, .efd_in = c->efd_in,
						   .efd_out = c->efd_out, .shm = c->shm, .l = c->l });
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}

int ftoe_ctx_fd(struct ftoe_ctx *c)
{
	return c ? c->epfd : -EINVAL;
}

int ftoe_ctx_id(struct ftoe_ctx *c)
{
	if (!c || !c->shm)
		return -EINVAL;
	return (int)(((const struct appif_shm_hdr *)c->shm)->ctx_id & 0x7fffffff);
}

struct lsock *ctx_sock(struct ftoe_ctx *c, int s)
{
	if (!c || s < 0 || (uint32_t)s >= c->max_socks || c->socks[s].kind == LS_FREE)
		return NULL;
	return &c->socks[s];
}

void ctx_mark(struct ftoe_ctx *c, int s, uint32_t ev)
{
	struct lsock *ls = &c->socks[s];

	ls->pending |= ev;
	if (!ls->queued) {
		ls->queued = true;
		c->ready[c->nready++] = s;
	}
}

/* The doorbell, after a command was published: only when the engine may
 * be asleep, once per sleep (appif_doorbell_needed). */
static void kick(struct ftoe_ctx *c)
{
	uint64_t one = 1;

	if (!appif_doorbell_needed(c->shm, &c->l))
		return;
	if (write(c->efd_in, &one, sizeof(one)) < 0 && errno != EAGAIN)
		c->dead = true;
}

int ctx_push_cmd(struct ftoe_ctx *c, uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1,
		 uint64_t req)
{
	struct appif_cmd cmd = { .op = op, .handle = handle, .arg0 = a0, .arg1 = a1, .req = req };

	return ctx_push(c, &cmd);
}

int ctx_push(struct ftoe_ctx *c, const struct appif_cmd *cmd)
{
	while (appif_cmd_put(c->shm, &c->l, &c->cmd_head, cmd)) {
		/* full: the engine is behind; let it run */
		if (c->dead)
			return -ECONNRESET;
		kick(c);
		poll(NULL, 0, 1);
	}
	kick(c);
	return 0;
}

/* The socket of an engine handle, if it is still the one we know. */
static int sock_of(struct ftoe_ctx *c, uint32_t h)
{
	uint32_t i = appif_handle_idx(h);

	if (i >= c->max_socks || c->socks[i].kind == LS_FREE || c->socks[i].handle != h)
		return -1;
	return (int)i;
}

/* An IPv6 connection's peer, from its slot (the engine wrote it before the
 * event that handed the slot over). */
void ctx_peer6(struct ftoe_ctx *c, struct lsock *n, uint16_t port)
{
	const struct appif_sock *ss = ctx_ssock(c, appif_handle_idx(n->handle));

	n->v6 = ss->peer_is_v6 != 0;
	if (!n->v6)
		return;
	memset(&n->peer6, 0, sizeof(n->peer6));
	n->peer6.sin6_family = AF_INET6;
	n->peer6.sin6_port = htons(port);
	memcpy(&n->peer6.sin6_addr, ss->peer6, 16);
	/* ftoe_accept's sockaddr_in cannot hold it: it says so by its family */
	memset(&n->peer, 0, sizeof(n->peer));
	n->peer.sin_family = AF_INET6;
	n->peer.sin_port = htons(port);
}

/* A socket the engine made for us (its slot is ours until we close it). */
static struct lsock *install(struct ftoe_ctx *c, uint32_t h, uint8_t kind)
{
	struct lsock *n = &c->socks[appif_handle_idx(h)];
	bool queued = n->queued;	/* it may still sit in the ready list */

	free(n->aq);
	memset(n, 0, sizeof(*n));
	n->queued = queued;
	n->kind = kind;
	n->handle = h;
	n->nonblock = c->nonblock;
	return n;
}

static void on_accept(struct ftoe_ctx *c, const struct appif_ev *ev)
{
	uint32_t i = appif_handle_idx(ev->handle);
	int l = sock_of(c, ev->arg0);
	struct lsock *ls, *n;

	if (i >= c->max_socks)
		return;
	if (l < 0 || c->socks[l].kind != LS_LISTEN) {
		/* the listener is closed already: refuse the connection */
		ctx_push_cmd(c, APPIF_OP_ABORT, ev->handle, 0, 0, 0);
		return;
	}
	ls = &c->socks[l];
	if (ls->aq_len == ls->aq_cap) {
		unsigned int cap = ls->aq_cap ? ls->aq_cap * 2 : 16;
		int *q = malloc(cap * sizeof(*q));

		if (!q) {
			ctx_push_cmd(c, APPIF_OP_ABORT, ev->handle, 0, 0, 0);
			return;
		}
		for (unsigned int k = 0; k < ls->aq_len; k++)
			q[k] = ls->aq[(ls->aq_head + k) % ls->aq_cap];
		free(ls->aq);
		ls->aq = q;
		ls->aq_head = 0;
		ls->aq_cap = cap;
	}
	n = install(c, ev->handle, LS_CONN);
	n->peer.sin_family = AF_INET;
	n->peer.sin_addr.s_addr = htonl(ev->arg1);
	n->peer.sin_port = htons((uint16_t)ev->res);
	ctx_peer6(c, n, (uint16_t)ev->res);
	/* Not reported until accepted; the listener reports instead. */
	ls->aq[(ls->aq_head + ls->aq_len++) % ls->aq_cap] = (int)i;
	ctx_mark(c, l, FTOE_POLLIN);
}

void ctx_process(struct ftoe_ctx *c)
{
	struct appif_ev ev;

	while (appif_ev_take(c->shm, &c->l, &c->ev_tail, &ev)) {
		int s;

		if (ev.type == APPIF_EV_RESULT) {
			if (ev.req == c->want_req) {
				c->res = ev.res;
				c->got_res = true;
				/* LS_FREE: a call that makes no socket (splice) */
				if (ev.res >= 0 && c->want_kind != LS_FREE)
					install(c, ev.handle, c->want_kind);
			}
			continue;
		}
		if (ev.type == APPIF_EV_ACCEPT) {
			on_accept(c, &ev);
			continue;
		}
		s = sock_of(c, ev.handle);
		if (s < 0)
			continue;	/* closed meanwhile */
		switch (ev.type) {
		case APPIF_EV_CONNECTED:
			ctx_mark(c, s, FTOE_POLLOUT);
			break;
		case APPIF_EV_RX:
			/* clear before the app looks at the ring: a later
			 * arrival posts a new event */
			__atomic_store_n(&ctx_ssock(c, (uint32_t)s)->rx_ev, 0, __ATOMIC_SEQ_CST);
			ctx_mark(c, s, FTOE_POLLIN);
			break;
		case APPIF_EV_TX:
			/* tx_ev stays set: the engine posts the next EV_TX
			 * only once we find the ring full (sock.c tx_arm),
			 * not after every send it takes in (a wakeup per
			 * RPC for nothing). */
			ctx_mark(c, s, FTOE_POLLOUT);
			break;
		case APPIF_EV_ERROR:
			ctx_mark(c, s, FTOE_POLLERR | FTOE_POLLIN | FTOE_POLLOUT);
			break;
		case APPIF_EV_CLOSED:
			ctx_mark(c, s, FTOE_POLLHUP | FTOE_POLLIN);
			break;
		default:
			break;
		}
	}
}

int ctx_wait(struct ftoe_ctx *c, int timeout_ms)
{
	struct pollfd p[2] = { { c->efd_out, POLLIN, 0 }, { c->fd, POLLIN, 0 } };
	uint64_t v;

	if (c->dead)
		return -ECONNRESET;
	if (poll(p, 2, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
		c->dead = true;	/* the daemon went away */
		return -ECONNRESET;
	}
	if ((p[0].revents & POLLIN) && read(c->efd_out, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int ctx_call(struct ftoe_ctx *c, uint16_t op, uint8_t kind, uint32_t a0, uint32_t a1)
{
	return ctx_call_handle(c, op, kind, 0, a0, a1);
}

int ctx_call_handle(struct ftoe_ctx *c, uint16_t op, uint8_t kind, uint32_t handle, uint32_t a0,
		    uint32_t a1)
{
	struct appif_cmd cmd = { .op = op, .handle = handle, .arg0 = a0, .arg1 = a1 };

	return ctx_call_cmd(c, kind, &cmd);
}

int ctx_call_cmd(struct ftoe_ctx *c, uint8_t kind, struct appif_cmd *cmd)
{
	int err;

	c->want_kind = kind;
	c->want_req = ++c->req_seq;
	c->got_res = false;
	cmd->req = c->want_req;
	err = ctx_push(c, cmd);
	if (err)
		return err;
	for (;;) {
		ctx_process(c);
		if (c->got_res)
			break;
		err = ctx_wait(c, -1);
		if (err)
			return err;
	}
	c->want_req = 0;
	/* Events for other sockets were consumed while we waited: keep the
	 * context's fd readable for an epoll loop. */
	if (c->nready) {
		uint64_t one = 1;

		if (write(c->efd_out, &one, sizeof(one)) < 0)
			return -errno;
	}
	return c->res;
}

int ftoe_ctx_poll(struct ftoe_ctx *c, struct ftoe_event *evs, int max, int timeout_ms)
{
	int n = 0, err;
	bool waited = false;
	uint64_t v;

	if (!c || !evs || max <= 0)
		return -EINVAL;
	for (;;) {
		if (read(c->efd_out, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return -errno;
		ctx_process(c);
		if (c->nready)
			break;
		if (waited)
			return 0;
		err = ctx_wait(c, timeout_ms);	/* also notices the engine's exit */
		if (err)
			return err;
		/* one wait, then one more look (the timeout is approximate) */
		waited = timeout_ms >= 0;
	}
	while (c->nready && n < max) {
		int s = c->ready[--c->nready];
		struct lsock *ls = &c->socks[s];

		ls->queued = false;
		if (ls->kind == LS_FREE || !ls->pending)
			continue;
		evs[n].sock = s;
		evs[n++].events = ls->pending;
		ls->pending = 0;
	}
	if (c->nready) {	/* more than max: stay readable */
		v = 1;
		if (write(c->efd_out, &v, sizeof(v)) < 0)
			return -errno;
	}
	return n;
}

const char *ftoe_strerror(int err)
{
	if (err > 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case -ENOENT:
		return "no flextoe engine is running on this run directory "
		       "(check FLEXTOE_RUN_DIR and that the daemon is started)";
	case -ECONNREFUSED:
		/* from a TCP connect the peer refused, or from attaching to a
		 * run directory whose daemon is gone */
		return "connection refused (by the peer; or, when attaching, no flextoe "
		       "engine is running on this run directory: check FLEXTOE_RUN_DIR)";
	case -EPROTO:
		return "the engine speaks another version of the application interface";
	case -EMFILE:
		return "the context has no free socket (raise max_socks)";
	case -EACCES:
		return "permission denied (only root and the engine's --app-group may use it; "
		       "ports below net.ipv4.ip_unprivileged_port_start need "
		       "CAP_NET_BIND_SERVICE)";
	default:
		return strerror(-err);
	}
}
