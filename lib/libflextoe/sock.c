/* sock.c - libflextoe sockets: listen/accept/connect/close and copying and zero-copy I/O on the shared rings. */
#include <errno.h>
#include <string.h>

#include "lib/libflextoe/internal.h"

/* Wait for the engine unless the socket is non-blocking. */
static int block(struct ftoe_ctx *c, struct lsock *ls, int again)
{
	if (ls->nonblock)
		return again;
	return ctx_wait(c, -1);
}

int ftoe_set_nonblock(struct ftoe_ctx *c, int s, int on)
{
	struct lsock *ls = ctx_sock(c, s);

	if (!ls)
		return -EBADF;
	ls->nonblock = !!on;
	return 0;
}

int ftoe_listen(struct ftoe_ctx *c, uint16_t port, int backlog)
{
	int h;

	if (!c)
		return -EINVAL;
	if (!port)
		return -EINVAL;	/* an ephemeral listening port is not supported */
	if (c->dead)
		return -ECONNRESET;
	h = ctx_call(c, APPIF_OP_LISTEN, LS_LISTEN, port, backlog > 0 ? (uint32_t)backlog : 128);
	return h < 0 ? h : (int)appif_handle_idx((uint32_t)h);
}

int ftoe_listen_shared(struct ftoe_ctx *c, uint16_t port, int backlog)
{
	int h;

	if (!c || !port)
		return -EINVAL;
	if (c->dead)
		return -ECONNRESET;
	h = ctx_call(c, APPIF_OP_LISTEN_SHARED, LS_LISTEN, port,
		     backlog > 0 ? (uint32_t)backlog : 128);
	return h < 0 ? h : (int)appif_handle_idx((uint32_t)h);
}

int ftoe_accept(struct ftoe_ctx *c, int l, struct sockaddr_in *peer)
{
	struct lsock *ls = ctx_sock(c, l);
	int s, err;

	if (!ls)
		return -EBADF;
	if (ls->kind != LS_LISTEN)
		return -EINVAL;
	for (;;) {
		ctx_process(c);
		ls = &c->socks[l];
		if (ls->aq_len)
			break;
		err = block(c, ls, -EAGAIN);
		if (err)
			return err;
	}
	s = ls->aq[ls->aq_head];
	ls->aq_head = (ls->aq_head + 1) % ls->aq_cap;
	ls->aq_len--;
	if (peer)
		*peer = c->socks[s].peer;
	/* events that came before the accept are reported now */
	if (LOAD_ACQ(&ctx_ssock(c, (uint32_t)s)->rx_head) ||
	    (LOAD_ACQ(&ctx_ssock(c, (uint32_t)s)->flags) & (APPIF_SF_EOF | APPIF_SF_ERROR)))
		ctx_mark(c, s, FTOE_POLLIN);
	ctx_mark(c, s, FTOE_POLLOUT);
	return s;
}

/* The connection socket h the engine made waits for the handshake unless
 * non-blocking. */
static int connect_wait(struct ftoe_ctx *c, int h)
{
	struct appif_sock *ss;
	int s = (int)appif_handle_idx((uint32_t)h), err;

	if (c->socks[s].nonblock)
		return s;
	ss = ctx_ssock(c, (uint32_t)s);
	for (;;) {
		uint32_t f;

		ctx_process(c);
		f = LOAD_ACQ(&ss->flags);
		if (f & APPIF_SF_CONNECTED)
			return s;
		if (f & APPIF_SF_ERROR) {
			err = ss->err ? ss->err : -ECONNREFUSED;
			ftoe_close(c, s);
			return err;
		}
		err = ctx_wait(c, -1);
		if (err)
			return err;
	}
}

int ftoe_connect(struct ftoe_ctx *c, const struct sockaddr_in *to)
{
	int h;

	if (!c || !to || to->sin_family != AF_INET || !to->sin_port)
		return -EINVAL;
	if (c->dead)
		return -ECONNRESET;
	h = ctx_call(c, APPIF_OP_CONNECT, LS_CONN, to->sin_addr.s_addr, ntohs(to->sin_port));
	if (h < 0)
		return h;
	c->socks[appif_handle_idx((uint32_t)h)].peer = *to;
	return connect_wait(c, h);
}

int ftoe_connect6(struct ftoe_ctx *c, const struct sockaddr_in6 *to)
{
	struct appif_cmd cmd = { .op = APPIF_OP_CONNECT6 };
	struct lsock *n;
	int h;

	if (!c || !to || to->sin6_family != AF_INET6 || !to->sin6_port)
		return -EINVAL;
	if (c->dead)
		return -ECONNRESET;
	cmd.handle = ntohs(to->sin6_port);
	appif_cmd_set_addr6(&cmd, to->sin6_addr.s6_addr);
	h = ctx_call_cmd(c, LS_CONN, &cmd);
	if (h < 0)
		return h;
	n = &c->socks[appif_handle_idx((uint32_t)h)];
	ctx_peer6(c, n, ntohs(to->sin6_port));
	return connect_wait(c, h);
}

int ftoe_getpeername(struct ftoe_ctx *c, int s, struct sockaddr *addr, socklen_t *len)
{
	struct lsock *ls = ctx_sock(c, s);
	socklen_t n;

	if (!ls)
		return -EBADF;
	if (ls->kind != LS_CONN)
		return -ENOTCONN;
	if (!addr || !len)
		return -EINVAL;
	n = ls->v6 ? sizeof(ls->peer6) : sizeof(ls->peer);
	memcpy(addr, ls->v6 ? (const void *)&ls->peer6 : (const void *)&ls->peer,
	       *len < n ? *len : n);
	*len = n;
	return 0;
}

/* Socket s of c as a connection: 0 with *ls, -EBADF (no such socket) or
 * -ENOTCONN (a listener). */
static int conn_of(struct ftoe_ctx *c, int s, struct lsock **ls)
{
	*ls = ctx_sock(c, s);
	if (!*ls)
		return -EBADF;
	return (*ls)->kind == LS_CONN ? 0 : -ENOTCONN;
}

int ftoe_shutdown(struct ftoe_ctx *c, int s, int how)
{
	struct lsock *ls;
	int err = conn_of(c, s, &ls);

	if (err)
		return err;
	if (how < FTOE_SHUT_RD || how > FTOE_SHUT_RDWR)
		return -EINVAL;
	if (how & FTOE_SHUT_WR)
		ls->shut_wr = true;
	return ctx_push_cmd(c, APPIF_OP_SHUTDOWN, ls->handle, (uint32_t)how, 0, 0);
}

int ftoe_close(struct ftoe_ctx *c, int s)
{
	struct lsock *ls = ctx_sock(c, s);
	uint32_t h;

	if (!ls)
		return -EBADF;
	if (ls->kind == LS_LISTEN)
		/* connections nobody accepted yet are refused */
		for (; ls->aq_len; ls->aq_len--) {
			int q = ls->aq[ls->aq_head];

			ls->aq_head = (ls->aq_head + 1) % ls->aq_cap;
			ctx_push_cmd(c, APPIF_OP_ABORT, c->socks[q].handle, 0, 0, 0);
			c->socks[q].kind = LS_FREE;
		}
	h = ls->handle;
	ls->kind = LS_FREE;
	ls->pending = 0;
	return ctx_push_cmd(c, APPIF_OP_CLOSE, h, 0, 0, 0);
}

int ftoe_error(struct ftoe_ctx *c, int s)
{
	struct lsock *ls = ctx_sock(c, s);
	struct appif_sock *ss;

	if (!ls)
		return -EBADF;
	if (ls->kind != LS_CONN)
		return 0;
	ss = ctx_ssock(c, (uint32_t)s);
	return (LOAD_ACQ(&ss->flags) & APPIF_SF_ERROR) ? ss->err : 0;
}

/* ---- receive ------------------------------------------------------------ */

/* Bytes readable now (> 0), 0 at end of stream, or -errno. */
static ssize_t rx_avail(struct ftoe_ctx *c, int s, struct lsock **lsp)
{
	struct lsock *ls;
	struct appif_sock *ss;
	int err = conn_of(c, s, &ls);

	if (err)
		return err;
	ss = ctx_ssock(c, (uint32_t)s);
	for (;;) {
		uint32_t avail = LOAD_ACQ(&ss->rx_head) - ss->rx_tail;
		uint32_t f;
		int err;

		if (avail)
			return avail;
		f = LOAD_ACQ(&ss->flags);
		if (f & APPIF_SF_ERROR)
			return ss->err ? ss->err : -ECONNRESET;
		if (f & APPIF_SF_EOF) {
			/* The engine publishes the last bytes (rx_head) before
			 * it sets EOF, possibly between our two loads: with
			 * EOF seen (acquire), rx_head is final - look again, or
			 * the close that follows EOF would drop unread bytes
			 * and reset the connection. */
			avail = LOAD_ACQ(&ss->rx_head) - ss->rx_tail;
			return avail;
		}
		if (c->dead)
			return -ECONNRESET;
		err = block(c, ls, -EAGAIN);
		if (err)
			return err;
		ctx_process(c);
		ls = &c->socks[s];
		if (ls->kind != LS_CONN)
			return -EBADF;
		*lsp = ls;
	}
}

static void rx_consume(struct ftoe_ctx *c, struct lsock *ls, int s, uint32_t n)
{
	struct appif_sock *ss = ctx_ssock(c, (uint32_t)s);

	if (appif_publish(&ss->rx_tail, &ss->rx_bell, n))
		ctx_push_cmd(c, APPIF_OP_RXDONE, ls->handle, 0, 0, 0);
}

ssize_t ftoe_recv(struct ftoe_ctx *c, int s, void *buf, size_t len)
{
	struct lsock *ls = NULL;
	ssize_t avail;
	uint32_t n, off, first;

	if (!len)
		return 0;
	avail = rx_avail(c, s, &ls);
	if (avail <= 0)
		return avail;
	ls = &c->socks[s];
	n = len < (size_t)avail ? (uint32_t)len : (uint32_t)avail;
	off = ctx_ssock(c, (uint32_t)s)->rx_tail & (c->buf_size - 1);
	first = c->buf_size - off;
	if (first > n)
		first = n;
	memcpy(buf, ctx_rx(c, (uint32_t)s) + off, first);
	memcpy((uint8_t *)buf + first, ctx_rx(c, (uint32_t)s), n - first);
	rx_consume(c, ls, s, n);
	return n;
}

ssize_t ftoe_recv_peek(struct ftoe_ctx *c, int s, const void **buf)
{
	struct lsock *ls = NULL;
	ssize_t avail;
	uint32_t off;

	if (!buf)
		return -EINVAL;
	avail = rx_avail(c, s, &ls);
	if (avail <= 0)
		return avail;
	off = ctx_ssock(c, (uint32_t)s)->rx_tail & (c->buf_size - 1);
	if ((uint32_t)avail > c->buf_size - off)
		avail = c->buf_size - off;
	*buf = ctx_rx(c, (uint32_t)s) + off;
	return avail;
}

int ftoe_recv_done(struct ftoe_ctx *c, int s, size_t n)
{
	struct lsock *ls;
	struct appif_sock *ss;
	int err = conn_of(c, s, &ls);

	if (err)
		return err;
	ss = ctx_ssock(c, (uint32_t)s);
	if (n > LOAD_ACQ(&ss->rx_head) - ss->rx_tail)
		return -EINVAL;
	if (n)
		rx_consume(c, ls, s, (uint32_t)n);
	return 0;
}

/* ---- send --------------------------------------------------------------- */

/* Ask for an EV_TX (FTOE_POLLOUT) when the engine next takes bytes from
 * the tx ring: the ring is full.  The event stays outstanding (tx_ev set)
 * otherwise, so a send that does not fill the ring costs no event and
 * no wakeup.  Returns the ring's free space seen after arming: the engine
 * may have taken bytes before it saw the flag. */
static uint32_t tx_arm(struct ftoe_ctx *c, struct appif_sock *ss)
{
	__atomic_store_n(&ss->tx_ev, 0, __ATOMIC_SEQ_CST);
	return c->buf_size - (ss->tx_head - LOAD_ACQ(&ss->tx_tail));
}

/* Free bytes in the tx ring (> 0), or -errno. */
static ssize_t tx_space(struct ftoe_ctx *c, int s)
{
	struct lsock *ls;
	struct appif_sock *ss;
	int err = conn_of(c, s, &ls);

	if (err)
		return err;
	if (ls->shut_wr)
		return -EPIPE;
	ss = ctx_ssock(c, (uint32_t)s);
	for (;;) {
		uint32_t space = c->buf_size - (ss->tx_head - LOAD_ACQ(&ss->tx_tail));
		int err;

		if (LOAD_ACQ(&ss->flags) & APPIF_SF_ERROR)
			return ss->err ? ss->err : -ECONNRESET;
		if (space || (space = tx_arm(c, ss)))
			return space;
		if (c->dead)
			return -ECONNRESET;
		err = block(c, ls, -EAGAIN);
		if (err)
			return err;
		ctx_process(c);
		ls = &c->socks[s];
		if (ls->kind != LS_CONN)
			return -EBADF;
	}
}

static int tx_commit(struct ftoe_ctx *c, int s, uint32_t n)
{
	struct appif_sock *ss = ctx_ssock(c, (uint32_t)s);

	/* A short send that fills the ring may wait for FTOE_POLLOUT without
	 * ever seeing -EAGAIN: ask for the event before the engine can see the
	 * bytes (an early arm costs at most one spare event). */
	if (ss->tx_head + n - LOAD_ACQ(&ss->tx_tail) == c->buf_size)
		tx_arm(c, ss);
	if (appif_publish(&ss->tx_head, &ss->tx_bell, n))
		return ctx_push_cmd(c, APPIF_OP_TX, c->socks[s].handle, 0, 0, 0);
	return 0;
}

ssize_t ftoe_send(struct ftoe_ctx *c, int s, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t space = tx_space(c, s);
		uint32_t n, off, first;
		int err;

		if (space < 0)
			return done ? (ssize_t)done : space;
		n = len - done < (size_t)space ? (uint32_t)(len - done) : (uint32_t)space;
		off = ctx_ssock(c, (uint32_t)s)->tx_head & (c->buf_size - 1);
		first = c->buf_size - off;
		if (first > n)
			first = n;
		memcpy(ctx_tx(c, (uint32_t)s) + off, (const uint8_t *)buf + done, first);
		memcpy(ctx_tx(c, (uint32_t)s), (const uint8_t *)buf + done + first, n - first);
		err = tx_commit(c, s, n);
		if (err)
			return done ? (ssize_t)done : err;
		done += n;
		if (c->socks[s].nonblock)
			break;
	}
	return (ssize_t)done;
}

ssize_t ftoe_send_reserve(struct ftoe_ctx *c, int s, void **buf)
{
	ssize_t space;
	uint32_t off;

	if (!buf)
		return -EINVAL;
	space = tx_space(c, s);
	if (space < 0)
		return space;
	off = ctx_ssock(c, (uint32_t)s)->tx_head & (c->buf_size - 1);
	if ((uint32_t)space > c->buf_size - off)
		space = c->buf_size - off;
	*buf = ctx_tx(c, (uint32_t)s) + off;
	return space;
}

int ftoe_send_commit(struct ftoe_ctx *c, int s, size_t n)
{
	struct lsock *ls;
	struct appif_sock *ss;
	int err = conn_of(c, s, &ls);

	if (err)
		return err;
	ss = ctx_ssock(c, (uint32_t)s);
	if (n > c->buf_size - (ss->tx_head - LOAD_ACQ(&ss->tx_tail)))
		return -EINVAL;
	return n ? tx_commit(c, s, (uint32_t)n) : 0;
}

/* ---- splicing ------------------------------------------------------------- */

int ftoe_splice(struct ftoe_ctx *c, int a, int b)
{
	struct lsock *la = ctx_sock(c, a), *lb = ctx_sock(c, b);
	int err;

	if (!la || !lb)
		return -EBADF;
	if (la->kind != LS_CONN || lb->kind != LS_CONN)
		return -ENOTCONN;
	if (a == b)
		return -EINVAL;
	if (c->dead)
		return -ECONNRESET;
	err = ctx_call_handle(c, APPIF_OP_SPLICE, LS_FREE, la->handle, lb->handle, 0);
	if (!err)	/* nothing the application writes would ever go out */
		c->socks[a].shut_wr = c->socks[b].shut_wr = true;
	return err;
}

int ftoe_splice_stats(struct ftoe_ctx *c, int s, struct ftoe_splice_stats *st)
{
	struct lsock *ls = ctx_sock(c, s);
	struct appif_sock *ss;

	if (!ls || !st)
		return ls ? -EINVAL : -EBADF;
	if (ls->kind != LS_CONN)
		return -ENOTCONN;
	ss = ctx_ssock(c, (uint32_t)s);
	if (!(LOAD_ACQ(&ss->flags) & APPIF_SF_SPLICE_END))
		return -EAGAIN;
	st->from_peer_bytes = ss->splice_from_peer_bytes;
	st->to_peer_bytes = ss->splice_to_peer_bytes;
	st->from_peer_segs = ss->splice_from_peer_segs;
	st->to_peer_segs = ss->splice_to_peer_segs;
	return 0;
}
