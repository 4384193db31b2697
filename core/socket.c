/* socket.c - the engine's socket API: ring copies, window updates, events. */
#include <errno.h>
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

int ftoe_sock_connect_from(struct ftoe_engine *e, uint16_t lport, uint32_t ip_be,
			   uint16_t port)
{
	if (!lport)
		return -EINVAL;
	eng_now(e);
	return ftoe_conn_connect(e, lport, ip_be, port);
}

ssize_t ftoe_sock_send(struct ftoe_engine *e, int sock, const void *buf, size_t len)
{
	struct flow_ctl *c = conn_sock(e, sock);
	struct flow_mem *m;
	uint32_t space, n, off, first;
	uint8_t *ring;

	if (!c)
		return -EBADF;
	m = &e->mem[sock];
	if (c->err)
		return c->err;
	if (m->flags & FLOW_MEM_SHUT_WR)
		return -EPIPE;
	if (c->state == TCP_S_CLOSED)
		return -ENOTCONN;
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
	/* single producer: publish after the copy */
	__atomic_store_n(&m->tx_head, m->tx_head + n, __ATOMIC_RELEASE);
	e->cc[sock].tx_pending = m->tx_head - m->tx_tail;
	if (tcp_state_synced(c->state))
		ftoe_sched_activate(e, (uint32_t)sock);
	if (e->io.wake)
		e->io.wake(e->io.ctx);
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
	if (!avail) {
		if (c->err)
			return c->err;
		if (e->tcp[sock].flags & FLOW_TCP_FIN_RX)
			return 0;
		if (c->state == TCP_S_CLOSED)
			return 0;
		return -EAGAIN;
	}
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
	ftoe_conn_app_close(e, (uint32_t)sock);
	return 0;
}

int ftoe_sock_abort(struct ftoe_engine *e, int sock)
{
	if (!conn_sock(e, sock))
		return -EBADF;
	eng_now(e);
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
	info->bytes_acked = m->tx_tail;
	info->bytes_received = m->rx_head;
	return 0;
}
