/* data.c - reading and writing engine sockets: recv copies from the shared receive ring straight into the caller's buffers, send into the transmit ring, sendfile reads the file into the ring. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "lib/posix/internal.h"

static size_t iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copy n bytes between the ring (from position pos) and iov, skipping
 * the first skip bytes of iov: into the ring with to_ring, else out of it. */
static void ring_iov(uint8_t *ring, uint32_t pos, uint32_t n, const struct iovec *iov, int iovcnt,
		     size_t skip, bool to_ring)
{
	uint32_t size = px.buf_size;

	for (int i = 0; i < iovcnt && n; i++) {
		size_t len = iov[i].iov_len;
		uint8_t *u = iov[i].iov_base;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		u += skip;
		len -= skip;
		skip = 0;
		while (len && n) {
			uint32_t off = pos & (size - 1);
			uint32_t c = size - off;

			if (c > n)
				c = n;
			if (c > len)
				c = (uint32_t)len;
			if (to_ring)
				memcpy(ring + off, u, c);
			else
				memcpy(u, ring + off, c);
			u += c;
			len -= c;
			pos += c;
			n -= c;
		}
	}
}

static void rx_consume(uint32_t s, uint32_t n)
{
	struct appif_sock *ss = px_ssock(s);

	if (appif_publish(&ss->rx_tail, &ss->rx_bell, n))
		px_cmd(APPIF_OP_RXDONE, px.sh->socks[s].handle, 0, 0, 0);
}

ssize_t px_recv(int fd, uint32_t s, const struct iovec *iov, int iovcnt, int flags)
{
	struct px_sock *ps = &px.sh->socks[s];
	struct appif_sock *ss = px_ssock(s);
	size_t total = iov_total(iov, iovcnt), done = 0;
	int64_t deadline;
	ssize_t ret;
	int r;

	px_lock();
	if (ps->kind != PK_CONN) {
		px_unlock();
		return -ENOTCONN;
	}
	if (flags & MSG_OOB) {
		px_unlock();
		return -EINVAL;	/* no urgent data (Linux: EINVAL without SO_OOBINLINE data) */
	}
	/* A zero-length read goes through the loop as Linux's does: 0 with
	 * data or at the end, else the error, EAGAIN, or a wait. */
	deadline = px_sock_deadline(s, false);
	for (bool drained = false;;) {
		uint32_t avail, fl, n;

		px_pump();
		avail = LOAD_ACQ(&ss->rx_head) - ss->rx_tail;
		fl = LOAD_ACQ(&ss->flags);
		if (!avail && (fl & APPIF_SF_EOF))	/* rx_head is final once EOF is seen */
			avail = LOAD_ACQ(&ss->rx_head) - ss->rx_tail;
		if (avail > px.buf_size)
			avail = 0;	/* nonsense from the engine: read nothing */
		if (avail) {
			n = total - done < avail ? (uint32_t)(total - done) : avail;
			ring_iov(px_rxbuf(s), ss->rx_tail, n, iov, iovcnt, done, false);
			done += n;
			if (!(flags & MSG_PEEK) && n)
				rx_consume(s, n);
			if (done == total || !(flags & MSG_WAITALL) || (flags & MSG_PEEK))
				break;
			continue;
		}
		if (done && !(flags & MSG_WAITALL))
			break;
		r = px_sock_err(s, !(flags & MSG_PEEK));
		if (r) {
			ret = done ? (ssize_t)done : r;
			goto out;
		}
		if ((fl & (APPIF_SF_EOF | APPIF_SF_ERROR)) || ps->shut_rd || px.sh->dead)
			break;	/* end of stream: 0, or what WAITALL collected */
		if (ps->connecting && !(fl & APPIF_SF_CONNECTED) && ps->nonblock) {
			ret = -EAGAIN;
			goto out;
		}
		if (ps->nonblock || (flags & MSG_DONTWAIT)) {
			ret = done ? (ssize_t)done : -EAGAIN;
			goto out;
		}
		if (px_drain_once(fd, &drained))
			continue;
		ps->nwait++;
		px_unlock();
		r = px_block(fd, -1, deadline, !!total);
		px_lock();
		ps->nwait--;
		if (!total) {
			/* tcp_recvmsg waits once for a zero-length read, then
			 * returns 0 whatever woke it (data, a signal, timeout) */
			ret = 0;
			goto out;
		}
		if (r) {
			ret = done ? (ssize_t)done : (r == -ETIMEDOUT ? -EAGAIN : r);
			goto out;
		}
		if (ps->kind != PK_CONN) {
			ret = done ? (ssize_t)done : -EBADF;	/* closed by another thread */
			goto out;
		}
	}
	ret = (ssize_t)done;
	/* another thread waits and there is more: pass the wake-up on */
	if (ps->nwait && LOAD_ACQ(&ss->rx_head) != ss->rx_tail)
		px_efd_kick(fd);
out:
	px_unlock();
	return ret;
}

/* EPIPE from a send raises SIGPIPE unless MSG_NOSIGNAL (send(2)). */
static ssize_t epipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return -EPIPE;
}

/* Free space in s's tx ring, or -errno; waits as the socket's mode says.
 * Lock held. */
static ssize_t tx_space(int fd, uint32_t s, int flags, int64_t deadline, size_t done)
{
	struct px_sock *ps = &px.sh->socks[s];
	struct appif_sock *ss = px_ssock(s);
	int r;

	for (bool drained = false;;) {
		uint32_t fl, used, space;

		px_pump();
		if (ps->kind != PK_CONN)
			return -EBADF;
		fl = LOAD_ACQ(&ss->flags);
		r = px_sock_err(s, true);
		if (r)
			return r;
		if ((fl & APPIF_SF_ERROR) || ps->shut_wr || px.sh->dead)
			return -EPIPE;
		if (ps->connecting && !(fl & APPIF_SF_CONNECTED)) {
			if (ps->nonblock || (flags & MSG_DONTWAIT))
				return -EAGAIN;
		} else {
			used = ss->tx_head - LOAD_ACQ(&ss->tx_tail);
			space = used >= px.buf_size ? 0 : px.buf_size - used;
			if (space)
				return space;
			/* A short write or EAGAIN: Linux then signals the
			 * next freed space, also to an edge-triggered epoll
			 * (ctx.c wakes this socket's eventfd for it). */
			px_want_out(ps, s);
			used = ss->tx_head - LOAD_ACQ(&ss->tx_tail);
			if (used < px.buf_size)
				continue;	/* freed meanwhile */
			if (ps->nonblock || (flags & MSG_DONTWAIT))
				return -EAGAIN;
		}
		if (px_drain_once(fd, &drained))
			continue;
		ps->nwait++;
		px_unlock();
		r = px_block(fd, -1, deadline, !done);
		px_lock();
		ps->nwait--;
		if (r)
			return r == -ETIMEDOUT ? -EAGAIN : r;
	}
}

static void tx_commit(uint32_t s, uint32_t n)
{
	struct appif_sock *ss = px_ssock(s);

	if (appif_publish(&ss->tx_head, &ss->tx_bell, n))
		px_cmd(APPIF_OP_TX, px.sh->socks[s].handle, 0, 0, 0);
}

ssize_t px_send(int fd, uint32_t s, const struct iovec *iov, int iovcnt, int flags)
{
	size_t total = iov_total(iov, iovcnt), done = 0;
	int64_t deadline;
	ssize_t ret = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;	/* the engine sends no urgent data */
	px_lock();
	if (px.sh->socks[s].kind != PK_CONN) {
		px_unlock();
		return epipe(flags);	/* a listener: Linux says EPIPE */
	}
	deadline = px_sock_deadline(s, true);
	if (!total) {
		/* nothing to queue: only a pending error or a closed side speaks */
		ret = px_sock_err(s, true);
		if (!ret && (px.sh->socks[s].shut_wr || px.sh->dead ||
			     (LOAD_ACQ(&px_ssock(s)->flags) & APPIF_SF_ERROR)))
			ret = -EPIPE;	/* TCP_CLOSE, its error told: sk_stream_wait_connect */
		px_unlock();
		return ret == -EPIPE ? epipe(flags) : ret;
	}
	do {
		ssize_t space = tx_space(fd, s, flags, deadline, done);
		uint32_t n;

		if (space < 0) {
			ret = space;
			break;
		}
		n = total - done < (size_t)space ? (uint32_t)(total - done) : (uint32_t)space;
		ring_iov(px_txbuf(s), px_ssock(s)->tx_head, n, iov, iovcnt, done, true);
		tx_commit(s, n);
		done += n;
	} while (done < total);
	px_unlock();
	if (done)
		return (ssize_t)done;
	if (ret == -EPIPE)
		return epipe(flags);
	return ret;
}

ssize_t px_sendfile(int out, uint32_t s, int in, off_t *off, size_t count)
{
	struct appif_sock *ss = px_ssock(s);
	size_t done = 0;
	int64_t deadline;
	ssize_t ret = 0;

	px_lock();
	if (px.sh->socks[s].kind != PK_CONN) {
		px_unlock();
		return epipe(0);
	}
	deadline = px_sock_deadline(s, true);
	while (done < count) {
		ssize_t space = tx_space(out, s, 0, deadline, done), r;
		uint32_t pos, o, n;

		if (space < 0) {
			ret = space;
			break;
		}
		/* straight from the file into the ring: no bounce buffer */
		pos = ss->tx_head;
		o = pos & (px.buf_size - 1);
		n = px.buf_size - o;
		if (n > (uint32_t)space)
			n = (uint32_t)space;
		if (n > count - done)
			n = (uint32_t)(count - done);
		r = off ? pread(in, px_txbuf(s) + o, n, *off) : px_real.read(in, px_txbuf(s) + o, n);
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (!r)
			break;	/* end of file */
		if (off)
			*off += r;
		tx_commit(s, (uint32_t)r);
		done += (size_t)r;
	}
	px_unlock();
	if (done)
		return (ssize_t)done;
	if (ret == -EPIPE)
		return epipe(0);
	return ret;
}
