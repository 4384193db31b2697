/* poll.c - poll, ppoll, select and pselect over any mix of kernel and engine fds: engine readiness comes from the shared rings, the kernel's wait covers the rest plus the wake-ups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include "lib/posix/internal.h"

uint32_t px_sock_revents(uint32_t s)
{
	struct px_sock *ps = &px.sh->socks[s];
	struct appif_sock *ss = px_ssock(s);
	uint32_t fl, ev = 0, used;

	if (px.sh->dead)
		return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLERR | POLLHUP | POLLRDHUP;
	if (ps->kind == PK_LISTEN)
		return ps->aq_len ? POLLIN | POLLRDNORM : 0;
	if (ps->kind != PK_CONN)
		return 0;
	fl = LOAD_ACQ(&ss->flags);
	if (fl & APPIF_SF_ERROR)
		return POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM | POLLHUP | POLLRDHUP |
		       (ps->err_taken ? 0 : POLLERR);
	if (ps->connecting && !(fl & APPIF_SF_CONNECTED))
		return 0;
	if (LOAD_ACQ(&ss->rx_head) != ss->rx_tail || (fl & APPIF_SF_EOF) || ps->shut_rd)
		ev |= POLLIN | POLLRDNORM;
	if ((fl & APPIF_SF_EOF) || ps->shut_rd)
		ev |= POLLRDHUP;
	/* tcp_poll: both directions shut (RCV_SHUTDOWN by the peer's FIN
	 * or by shutdown(SHUT_RD)) */
	if ((((fl & APPIF_SF_EOF) || ps->shut_rd) && ps->shut_wr) || (fl & APPIF_SF_CLOSED))
		ev |= POLLHUP;
	used = ss->tx_head - LOAD_ACQ(&ss->tx_tail);
	/* writable with a quarter of the ring free, so that a writer woken
	 * by POLLOUT moves a useful amount (Linux: a third of sndbuf) */
	if (ps->shut_wr || (used < px.buf_size && px.buf_size - used >= px.buf_size / 4))
		ev |= POLLOUT | POLLWRNORM;
	return ev;
}

int px_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask)
{
	struct pollfd stack[128], *kp = stack;
	unsigned int *map, mstack[128];	/* kp index -> fds index (engine fds: ~0) */
	int64_t deadline = timeout_ns >= 0 ? px_now_ns() + timeout_ns : -1;
	size_t cap = 2 * n + 1;
	int ret = 0;

	if (n > (1u << 20))
		return -EINVAL;
	if (cap > sizeof(stack) / sizeof(stack[0])) {
		kp = malloc(cap * sizeof(*kp));
		map = malloc(cap * sizeof(*map));
		if (!kp || !map) {
			free(kp);
			free(map);
			return -ENOMEM;
		}
	} else {
		map = mstack;
	}
	for (bool drained = false;;) {
		unsigned int m = 0;
		int ready = 0, r;
		int64_t t;

		/* engine fds: readiness from the rings */
		if (px.up) {
			px_lock();
			px_pump();
		}
		for (nfds_t i = 0; i < n; i++) {
			int s = fds[i].fd >= 0 ? px_sock_of(fds[i].fd) : -1;
			struct px_sock *ps;
			uint32_t ev;

			fds[i].revents = 0;
			if (s < 0) {
				map[m] = (unsigned int)i;
				kp[m++] = (struct pollfd){ fds[i].fd, fds[i].events, 0 };
				continue;
			}
			ps = &px.sh->socks[s];
			ev = px_sock_revents((uint32_t)s);
			fds[i].revents = (short)(ev & ((uint32_t)fds[i].events | POLLERR | POLLHUP));
			if (fds[i].revents) {
				ready++;
			} else if ((fds[i].events & POLLOUT) && ps->kind == PK_CONN) {
				px_want_out(ps, (uint32_t)s);
			}
			/* a wake-up when the engine signals it */
			map[m] = ~0u;
			kp[m++] = (struct pollfd){ fds[i].fd, POLLIN, 0 };
			if (ps->kind == PK_LISTEN && ps->kfd >= 0 && (fds[i].events & POLLIN)) {
				map[m] = (unsigned int)i | 0x80000000u;
				kp[m++] = (struct pollfd){ ps->kfd, POLLIN, 0 };
			}
		}
		t = ready ? 0 : deadline < 0 ? -1 : deadline - px_now_ns();
		if (t < -1 || (deadline >= 0 && t < 0))
			t = 0;
		if (px.up && t && !drained) {
			/* about to sleep: clear the engine fds' wake-ups, then
			 * look once more (px_drain_once) */
			for (nfds_t i = 0; i < n; i++)
				if (fds[i].fd >= 0 && px_sock_of(fds[i].fd) >= 0)
					px_efd_drain(fds[i].fd);
			px_drain_once(-1, &drained);
			px_unlock();
			continue;
		}
		drained = false;
		if (px.up) {
			for (nfds_t i = 0; i < n && t; i++) {
				int s = fds[i].fd >= 0 ? px_sock_of(fds[i].fd) : -1;

				if (s >= 0)
					px.sh->socks[s].npoll++;
			}
			px_unlock();
		}
		px_sig_clear();
		r = px_sleep(kp, m, t, mask);
		if (px.up && t) {
			px_lock();
			for (nfds_t i = 0; i < n; i++) {
				int s = fds[i].fd >= 0 ? px_sock_of(fds[i].fd) : -1;

				if (s >= 0 && px.sh->socks[s].npoll)
					px.sh->socks[s].npoll--;
			}
			px_unlock();
		}
		if (r < 0) {
			ret = r;
			break;
		}
		for (unsigned int k = 0; k < m; k++) {
			if (!kp[k].revents || map[k] == ~0u)
				continue;
			if (map[k] & 0x80000000u) {
				unsigned int i = map[k] & 0x7fffffffu;

				/* the loopback side of a 0.0.0.0 listener */
				if (!fds[i].revents)
					ready++;
				fds[i].revents |= POLLIN;
				continue;
			}
			fds[map[k]].revents = kp[k].revents;
			if (px_kerr(fds[map[k]].fd, false))
				fds[map[k]].revents |= POLLERR;	/* its pending error */
			ready++;
		}
		if (ready || (deadline >= 0 && px_now_ns() >= deadline)) {
			ret = ready;
			break;
		}
	}
	if (kp != stack) {
		free(kp);
		free(map);
	}
	return ret;
}

#define SEL_IN  (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX  (POLLPRI)

int px_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t timeout_ns,
	      const sigset_t *mask)
{
	struct pollfd stack[64], *p = stack;
	unsigned int n = 0;
	int r, count = 0;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	for (int fd = 0; fd < nfds; fd++)
		if ((rd && FD_ISSET(fd, rd)) || (wr && FD_ISSET(fd, wr)) || (ex && FD_ISSET(fd, ex)))
			n++;
	if (n > sizeof(stack) / sizeof(stack[0])) {
		p = malloc(n * sizeof(*p));
		if (!p)
			return -ENOMEM;
	}
	n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (rd && FD_ISSET(fd, rd))
			ev |= POLLIN;
		if (wr && FD_ISSET(fd, wr))
			ev |= POLLOUT;
		if (ex && FD_ISSET(fd, ex))
			ev |= POLLPRI;
		if (ev)
			p[n++] = (struct pollfd){ fd, ev, 0 };
	}
	r = px_poll(p, n, timeout_ns, mask);
	if (r < 0)
		goto out;
	for (unsigned int i = 0; i < n; i++)
		if (p[i].revents & POLLNVAL) {
			r = -EBADF;	/* select(2) fails on a closed fd */
			goto out;
		}
	if (rd)
		FD_ZERO(rd);
	if (wr)
		FD_ZERO(wr);
	if (ex)
		FD_ZERO(ex);
	for (unsigned int i = 0; i < n; i++) {
		if (rd && (p[i].events & POLLIN) && (p[i].revents & SEL_IN)) {
			FD_SET(p[i].fd, rd);
			count++;
		}
		if (wr && (p[i].events & POLLOUT) && (p[i].revents & SEL_OUT)) {
			FD_SET(p[i].fd, wr);
			count++;
		}
		if (ex && (p[i].events & POLLPRI) && (p[i].revents & SEL_EX)) {
			FD_SET(p[i].fd, ex);
			count++;
		}
	}
	r = count;
out:
	if (p != stack)
		free(p);
	return r;
}
