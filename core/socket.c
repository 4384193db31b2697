/* socket.c - the engine's socket API: ring copies or attached application rings, window updates, events. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/conn.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/socket.h"
#include "core/tcp_seq.h"

static struct flow_ctl *conn_sock(struct ftoe_engine *e, int sock)
{
	struct flow_ctl *c;

	if (sock < 0 || (uint32_t)sock >= e->nflows)
		return NULL;
	c = &e->ctl[sock];
	if (!c->in_use || !(c->flags & (CTL_F_ACCEPTED | CTL_F_ACTIVE)) ||
	    (e->mem[sock].flags & FLOW_MEM_CLOSED))
		return NULL;
	return c;
}

static int listener_idx(struct ftoe_engine *e, int sock)
{
	int idx = sock - FTOE_SOCK_LISTENER;

	if (sock < FTOE_SOCK_LISTENER || idx >= FTOE_MAX_LISTENERS || !e->lis[idx].port)
		return -1;
	return idx;
}

void ftoe_sock_set_callback(struct ftoe_engine *e, ftoe_sock_event_fn fn, void *ctx)
{
	e->ev_fn = fn;
	e->ev_ctx = ctx;
}

int ftoe_sock_listen(struct ftoe_engine *e, uint16_t port, unsigned backlog)
{
	int idx = ftoe_conn_listen(e, port, backlog);

	return idx < 0 ? idx : FTOE_SOCK_LISTENER + idx;
}

int ftoe_sock_listen_families(struct ftoe_engine *e, int lsock, unsigned mask)
{
	int idx = listener_idx(e, lsock);

	if (idx < 0)
		return -EBADF;
	if (!mask || (mask & ~(FTOE_LISTEN_V4 | FTOE_LISTEN_V6)))
		return -EINVAL;
	return ftoe_conn_listen_set_fams(e, (unsigned)idx, mask) ? 0 : -EADDRINUSE;
}

int ftoe_sock_listen_fams(struct ftoe_engine *e, uint16_t port, unsigned backlog, unsigned fams)
{
	int idx = ftoe_conn_listen_fams(e, port, backlog, fams);

	return idx < 0 ? idx : FTOE_SOCK_LISTENER + idx;
}

int ftoe_sock_accept(struct ftoe_engine *e, int lsock)
{
	int idx = listener_idx(e, lsock);

	if (idx < 0)
		return -EBADF;
	return ftoe_conn_accept(e, (unsigned)idx);
}

int ftoe_sock_connect(struct ftoe_engine *e, uint32_t ip_be, uint16_t port)
{
	eng_now(e);
	return ftoe_conn_connect(e, 0, ip_be, port);
}

int ftoe_sock_connect6(struct ftoe_engine *e, uint16_t lport, const uint8_t ip6[16],
		       uint16_t port)
{
	eng_now(e);
	return ftoe_conn_connect6(e, lport, ip6, port);
}

int ftoe_sock_connect_from(struct ftoe_engine *e, uint16_t lport, uint32_t ip_be,
			   uint16_t port)
{
	if (!lport)
		return -EINVAL;
	eng_now(e);
	return ftoe_conn_connect(e, lport, ip_be, port);
}

/* The n bytes after tx_head are in the tx ring: hand them to the flow
 * scheduler (single producer: published after they were written). */
static void tx_publish(struct ftoe_engine *e, int sock, uint32_t n)
{
	struct flow_mem *m = &e->mem[sock];

	__atomic_store_n(&m->tx_head, m->tx_head + n, __ATOMIC_RELEASE);
	e->cc[sock].tx_pending = m->tx_head - m->tx_tail;
	if (tcp_state_synced(e->ctl[sock].state))
		ftoe_sched_activate(e, (uint32_t)sock);
	if (e->io.wake)
		e->io.wake(e->io.ctx);
}

/* May the application queue bytes on the connection?  0 or -errno. */
static int tx_open(struct ftoe_engine *e, const struct flow_ctl *c, int sock)
{
	if (c->err)
		return c->err;
	if (e->mem[sock].flags & FLOW_MEM_SHUT_WR)
		return -EPIPE;
	if (c->state == TCP_S_CLOSED)
		return -ENOTCONN;
	return 0;
}

ssize_t ftoe_sock_send(struct ftoe_engine *e, int sock, const void *buf, size_t len)
{
	struct flow_ctl *c = conn_sock(e, sock);
	struct flow_mem *m;
	uint32_t space, n, off, first;
	uint8_t *ring;
	int err;

	if (!c)
		return -EBADF;
	m = &e->mem[sock];
	err = tx_open(e, c, sock);
	if (err)
		return err;
	space = m->tx_size - (m->tx_head - __atomic_load_n(&m->tx_tail, __ATOMIC_ACQUIRE));
	if (!space)
		return -EAGAIN;
	n = len > space ? space : (uint32_t)len;
	ring = flow_tx_ring(e, sock);
	off = m->tx_head & (m->tx_size - 1);
	first = m->tx_size - off;
	if (first > n)
		first = n;
	memcpy(ring + off, buf, first);
	memcpy(ring, (const uint8_t *)buf + first, n - first);
	tx_publish(e, sock, n);
	return n;
}

/* After the application consumed data: tell the peer if the window opened
 * a lot (as Linux tcp_cleanup_rbuf: the new window is at least twice what
 * the peer may still send, and the old one was at most half the buffer). */
static void window_update(struct ftoe_engine *e, uint32_t id)
{
	struct flow_tcp *t = &e->tcp[id];
	uint32_t adv = seq_after(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
	uint32_t space = ftoe_proto_rx_space(e, id);
	uint32_t mss = t->rcv_mss ? t->rcv_mss : 536;

	if (!tcp_state_synced(e->ctl[id].state) || (t->flags & FLOW_TCP_FIN_RX))
		return;
	if (adv * 2 <= e->mem[id].rx_size && space >= 2 * adv && space - adv >= mss) {
		eng_now(e);
		ftoe_postproc_send_ack(e, id);
	}
}

/* Nothing (more) to read: the connection's error, 0 at the end of the
 * stream, or -EAGAIN while more may come. */
static int rx_end(struct ftoe_engine *e, const struct flow_ctl *c, int sock)
{
	const struct flow_tcp *t = &e->tcp[sock];

	if (c->err)
		return c->err;
	/* The end of the stream once post-processing published every byte
	 * before the FIN: the protocol stage takes the FIN, and a pipelined
	 * backend may post-process the segments before it later
	 * (core/x86/fgpipe.c). */
	if ((t->flags & FLOW_TCP_FIN_RX) &&
	    __atomic_load_n(&e->mem[sock].rx_head, __ATOMIC_ACQUIRE) ==
		    t->rcv_nxt - t->rx_seq0 - 1)
		return 0;
	if (c->state == TCP_S_CLOSED)
		return 0;
	return -EAGAIN;
}

ssize_t ftoe_sock_recv(struct ftoe_engine *e, int sock, void *buf, size_t len)
{
	struct flow_ctl *c = conn_sock(e, sock);
	struct flow_mem *m;
	uint32_t avail, n, off, first;
	const uint8_t *ring;

	if (!c)
		return -EBADF;
	m = &e->mem[sock];
	avail = __atomic_load_n(&m->rx_head, __ATOMIC_ACQUIRE) - m->rx_tail;
	if (__builtin_expect(avail > m->rx_size, 0)) {
		/* a head behind the tail (or a ring past it): never hand out
		 * stale bytes; counted, and read as nothing yet */
		FTOE_ST_INC(e, rx_head_bogus);
		avail = 0;
	}
	if (!avail)
		return rx_end(e, c, sock);
	n = len > avail ? avail : (uint32_t)len;
	ring = flow_rx_ring(e, sock);
	off = m->rx_tail & (m->rx_size - 1);
	first = m->rx_size - off;
	if (first > n)
		first = n;
	memcpy(buf, ring + off, first);
	memcpy((uint8_t *)buf + first, ring, n - first);
	__atomic_store_n(&m->rx_tail, m->rx_tail + n, __ATOMIC_RELEASE);
	window_update(e, (uint32_t)sock);
	return n;
}

int ftoe_sock_shutdown(struct ftoe_engine *e, int sock, int how)
{
	struct flow_ctl *c = conn_sock(e, sock);

	if (!c)
		return -EBADF;
	if (how & ~FTOE_SHUT_RDWR || !how)
		return -EINVAL;
	eng_now(e);
	if ((how & FTOE_SHUT_WR) && !(e->mem[sock].flags & FLOW_MEM_SHUT_WR))
		ftoe_conn_shutdown_wr(e, (uint32_t)sock);
	return 0;
}

int ftoe_sock_close(struct ftoe_engine *e, int sock)
{
	int idx = listener_idx(e, sock);

	eng_now(e);
	if (idx >= 0) {
		ftoe_conn_unlisten(e, (unsigned)idx);
		return 0;
	}
	if (!conn_sock(e, sock))
		return -EBADF;
	/* the application's rings are its own again: what the flow still
	 * sends (and may resend) comes from the engine's */
	ftoe_sock_detach(e, sock);
	ftoe_conn_app_close(e, (uint32_t)sock);
	return 0;
}

int ftoe_sock_abort(struct ftoe_engine *e, int sock)
{
	if (!conn_sock(e, sock))
		return -EBADF;
	eng_now(e);
	ftoe_sock_detach(e, sock);
	e->mem[sock].flags |= FLOW_MEM_CLOSED;
	ftoe_conn_reset(e, (uint32_t)sock, -ECONNABORTED, true);
	if (e->ctl[sock].in_use)
		ftoe_conn_free(e, (uint32_t)sock);
	return 0;
}

int ftoe_sock_error(struct ftoe_engine *e, int sock)
{
	struct flow_ctl *c = conn_sock(e, sock);

	if (!c)
		return listener_idx(e, sock) >= 0 ? 0 : -EBADF;
	return c->err;
}

int ftoe_sock_info(struct ftoe_engine *e, int sock, struct ftoe_sock_info *info)
{
	struct flow_ctl *c = conn_sock(e, sock);
	const struct flow_tcp *t;
	const struct flow_mem *m;

	if (!c)
		return -EBADF;
	t = &e->tcp[sock];
	m = &e->mem[sock];
	memset(info, 0, sizeof(*info));
	info->state = c->state;
	info->local_ip = e->conn[sock].local_ip;
	info->remote_ip = e->conn[sock].remote_ip;
	info->local_port = e->conn[sock].local_port;
	info->remote_port = e->conn[sock].remote_port;
	info->ip_version = (e->conn[sock].flags & FLOW_CONN_IPV6) ? 6 : 4;
	flow_addr16(e->conn[sock].local_hi, e->conn[sock].local_ip, info->local_ip6);
	flow_addr16(e->conn[sock].remote_hi, e->conn[sock].remote_ip, info->remote_ip6);
	info->snd_mss = t->snd_mss;
	info->snd_wscale = (t->flags & FLOW_TCP_WSCALE) ? t->snd_wscale : 0xff;
	info->rcv_wscale = (t->flags & FLOW_TCP_WSCALE) ? t->rcv_wscale : 0xff;
	info->ts = !!(t->flags & FLOW_TCP_TS);
	info->ecn = !!(t->flags & FLOW_TCP_ECN);
	info->snd_wnd = t->snd_wnd;
	info->rcv_wnd = t->rcv_wnd;
	info->rx_ready = m->rx_head - m->rx_tail;
	info->tx_queued = m->tx_head - m->tx_tail;
	info->srtt_us = ftoe_rto_srtt(&c->rto);
	info->rto_us = ftoe_rto_current(&c->rto);
	info->rate_kbps = e->cc[sock].rate_kbps;
	info->retransmits = e->cc[sock].retransmits;
	info->rttvar_us = ftoe_rto_rttvar(&c->rto);
	info->cwnd = e->cc[sock].cwnd;
	info->bytes_acked = m->tx_tail + m->tx_pos_off;
	info->bytes_received = m->rx_head + m->rx_pos_off;
	return 0;
}

/* ---- rings in an application's shared memory ------------------------------ */

int ftoe_sock_region_add(struct ftoe_engine *e, uint8_t *base)
{
	uint8_t **r;
	uint32_t i;

	if (!base)
		return -EINVAL;
	for (i = 1; i < e->nregion; i++)
		if (!e->region[i])
			break;
	if (i == e->nregion) {
		r = realloc(e->region, (e->nregion + 1) * sizeof(*r));
		if (!r)
			return -ENOMEM;
		e->region = r;
		e->nregion++;
	}
	e->region[i] = base;
	return (int)i;
}

void ftoe_sock_region_remove(struct ftoe_engine *e, int region)
{
	if (region <= 0 || (uint32_t)region >= e->nregion)
		return;
	/* Whatever still uses it (a connection the application never closed)
	 * moves back to the engine's buffers before the memory goes away. */
	for (uint32_t id = 0; id < e->nflows; id++)
		if (e->mem[id].region == (uint32_t)region)
			ftoe_sock_detach(e, (int)id);
	e->region[region] = NULL;
}

/* Copy the len bytes at ring positions spos.. of src (ssize) to positions
 * dpos.. of dst (dsize), both rings wrapping at their own size. */
static void ring_move(uint8_t *dst, uint32_t dsize, uint32_t dpos, const uint8_t *src,
		      uint32_t ssize, uint32_t spos, uint32_t len)
{
	while (len) {
		uint32_t so = spos & (ssize - 1), dof = dpos & (dsize - 1), n = len;

		if (n > ssize - so)
			n = ssize - so;
		if (n > dsize - dof)
			n = dsize - dof;
		memmove(dst + dof, src + so, n);
		spos += n;
		dpos += n;
		len -= n;
	}
}

/* End of what the rx ring holds: rx_head, or the farthest out-of-order
 * interval's end beyond it (core/ooo.c writes there before rx_head
 * reaches it). */
static uint32_t rx_held_end(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];
	uint32_t end = e->mem[id].rx_head;
	/* With --flow-groups, bytes past the protocol stage may be placed
	 * but not yet published: rcv_nxt (less a FIN) is where they end
	 * (engine_internal.h FLOW_GEN_MOVING). */
	uint32_t in_order = t->rcv_nxt - t->rx_seq0 - ((t->flags & FLOW_TCP_FIN_RX) ? 1 : 0);

	if (seq_after(in_order, end))
		end = in_order;

	for (unsigned int i = 0; i < t->ooo.n; i++) {
		uint32_t iv_end = ftoe_ooo_iv_get(&t->ooo, &t->ooo_more, i).end - t->rx_seq0;

		if (seq_after(iv_end, end))
			end = iv_end;
	}
	return end;
}

/* No placement of the flow's may run while its rings move, and one that
 * starts meanwhile leaves its bytes to the item's finish
 * (engine_internal.h FLOW_GEN_MOVING).  Waits only for placements already
 * writing: one item's copy each, on threads that take no lock. */
static void rings_hold(struct ftoe_engine *e, uint32_t id)
{
	uint64_t v = __atomic_fetch_or(&e->flow_gen[id], FLOW_GEN_MOVING, __ATOMIC_ACQ_REL);

	while ((uint32_t)v & ~(uint32_t)FLOW_GEN_MOVING) {
		sched_yield();
		v = __atomic_load_n(&e->flow_gen[id], __ATOMIC_ACQUIRE);
	}
}

static void rings_release(struct ftoe_engine *e, uint32_t id)
{
	__atomic_fetch_and(&e->flow_gen[id], ~FLOW_GEN_MOVING, __ATOMIC_RELEASE);
}

int ftoe_sock_attach(struct ftoe_engine *e, int sock, int region, uint64_t rx_off,
		     uint64_t tx_off, uint32_t size)
{
	struct flow_ctl *c = conn_sock(e, sock);
	struct flow_mem *m;
	struct flow_tcp *t;
	uint32_t rx_len, tx_len, d;
	uint8_t *rx, *tx;

	if (!c)
		return -EBADF;
	m = &e->mem[sock];
	t = &e->tcp[sock];
	if (region <= 0 || (uint32_t)region >= e->nregion || !e->region[region] ||
	    !size || (size & (size - 1)))
		return -EINVAL;
	if (m->region)
		return -EBUSY;
	/* Detaching must always fit back into the engine's own rings. */
	if (size > e->cfg.rx_buf_size || size > e->cfg.tx_buf_size)
		return -E2BIG;
	rx_len = rx_held_end(e, (uint32_t)sock) - m->rx_tail;
	tx_len = m->tx_head - m->tx_tail;
	if (rx_len > size || tx_len > size)
		return -ENOSPC;
	rings_hold(e, (uint32_t)sock);
	rx = e->region[region] + rx_off;
	tx = e->region[region] + tx_off;
	ring_move(rx, size, 0, flow_rx_ring(e, (uint32_t)sock), m->rx_size, m->rx_tail, rx_len);
	ring_move(tx, size, 0, flow_tx_ring(e, (uint32_t)sock), m->tx_size, m->tx_tail, tx_len);
	/* Positions restart at 0, as the application's own counters do
	 * (include/flextoe/appif.h): the sequence numbers of position 0 move
	 * with them. */
	d = m->rx_tail;
	t->rx_seq0 += d;
	m->rx_head -= d;
	m->rx_tail = 0;
	m->rx_pos_off += d;
	d = m->tx_tail;
	t->tx_seq0 += d;
	m->tx_head -= d;
	m->tx_sent -= d;
	m->tx_tail = 0;
	m->tx_pos_off += d;
	m->region = (uint32_t)region;
	m->rx_base = rx_off;
	m->tx_base = tx_off;
	m->rx_size = m->tx_size = size;
	rings_release(e, (uint32_t)sock);
	return 0;
}

int ftoe_sock_detach(struct ftoe_engine *e, int sock)
{
	struct flow_mem *m;
	uint8_t *rx, *tx;
	uint32_t rx_size, tx_size;

	if (sock < 0 || (uint32_t)sock >= e->nflows)
		return -EBADF;
	m = &e->mem[sock];
	if (!m->region)
		return 0;
	rx = flow_rx_ring(e, (uint32_t)sock);
	tx = flow_tx_ring(e, (uint32_t)sock);
	rx_size = m->rx_size;
	tx_size = m->tx_size;
	rings_hold(e, (uint32_t)sock);
	flow_mem_own(e, (uint32_t)sock);
	/* Same positions, larger or equal rings (attach checked): all fits.
	 * A flow no longer in use holds nothing worth the copy. */
	if (e->ctl[sock].in_use) {
		ring_move(flow_rx_ring(e, (uint32_t)sock), m->rx_size, m->rx_tail, rx, rx_size,
			  m->rx_tail, rx_held_end(e, (uint32_t)sock) - m->rx_tail);
		ring_move(flow_tx_ring(e, (uint32_t)sock), m->tx_size, m->tx_tail, tx, tx_size,
			  m->tx_tail, m->tx_head - m->tx_tail);
	}
	rings_release(e, (uint32_t)sock);
	return 0;
}

int ftoe_sock_rx_read(struct ftoe_engine *e, int sock, uint32_t tail, uint32_t *head)
{
	struct flow_ctl *c = conn_sock(e, sock);
	struct flow_mem *m;
	int ret;

	if (!c)
		return -EBADF;
	m = &e->mem[sock];
	*head = __atomic_load_n(&m->rx_head, __ATOMIC_ACQUIRE);
	if (__builtin_expect(*head - m->rx_tail > m->rx_size, 0)) {
		/* as ftoe_sock_recv: the application is shown nothing past
		 * what it read */
		FTOE_ST_INC(e, rx_head_bogus);
		*head = tail;
		return 0;
	}
	/* The application's counter is trusted only within what it may have
	 * read: between our rx_tail and rx_head. */
	if (tail != m->rx_tail && tail - m->rx_tail <= *head - m->rx_tail) {
		__atomic_store_n(&m->rx_tail, tail, __ATOMIC_RELEASE);
		window_update(e, (uint32_t)sock);
	}
	ret = rx_end(e, c, sock);
	return ret == -EAGAIN ? 0 : ret == 0 ? 1 : ret;
}

ssize_t ftoe_sock_tx_write(struct ftoe_engine *e, int sock, uint32_t head, uint32_t *tail)
{
	struct flow_ctl *c = conn_sock(e, sock);
	struct flow_mem *m;
	uint32_t n;
	int err;

	if (!c)
		return -EBADF;
	m = &e->mem[sock];
	*tail = __atomic_load_n(&m->tx_tail, __ATOMIC_ACQUIRE);
	n = head - m->tx_head;
	if (!n)
		return 0;
	err = tx_open(e, c, sock);
	if (err)
		return err;
	/* beyond the ring's room (or behind tx_head): a bogus counter */
	if (n > m->tx_size - (m->tx_head - *tail))
		return 0;
	tx_publish(e, sock, n);
	return n;
}
