/* engine_app.c - test applications over the engine socket API: bulk transfer with byte checks. */
#include <errno.h>

#include "tests/unit/core/engine_app.h"

bool app_stream_step(struct lb_world *w, struct app_stream *s)
{
	struct ftoe_engine *te = w->s[s->tx_side].eng, *re = w->s[!s->tx_side].eng;
	uint8_t buf[8192];

	while (s->sent < s->len) {
		uint64_t n = s->len - s->sent;
		ssize_t r;

		if (n > sizeof(buf))
			n = sizeof(buf);
		for (uint64_t i = 0; i < n; i++)
			buf[i] = app_pat(s->id, s->sent + i);
		r = ftoe_sock_send(te, s->stx, buf, n);
		if (r <= 0)
			break;
		s->sent += (uint64_t)r;
	}
	if (s->sent == s->len && s->close_after && !s->shut) {
		ftoe_sock_shutdown(te, s->stx, FTOE_SHUT_WR);
		s->shut = true;
	}
	while (!s->paused && !s->eof) {
		ssize_t r = ftoe_sock_recv(re, s->srx, buf, sizeof(buf));

		if (r == 0) {
			s->eof = true;
			break;
		}
		if (r < 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != app_pat(s->id, s->rcvd + (uint64_t)i))
				s->bad++;
		s->rcvd += (uint64_t)r;
	}
	return s->rcvd == s->len && (!s->close_after || s->eof);
}

struct conn_wait {
	int lsock, c, a;
};

static bool conn_step(struct lb_world *w, void *arg)
{
	struct conn_wait *cw = arg;
	struct ftoe_sock_info info;

	if (cw->a < 0)
		cw->a = ftoe_sock_accept(w->s[1].eng, cw->lsock);
	if (cw->a < 0)
		return false;
	return ftoe_sock_info(w->s[0].eng, cw->c, &info) == 0 && info.state >= 3;
}

bool app_connect(struct lb_world *w, uint16_t port, int *c, int *a)
{
	return app_connect_to(w, port, NULL, c, a);
}

bool app_connect_to(struct lb_world *w, uint16_t port, const uint8_t *ip6, int *c, int *a)
{
	struct conn_wait cw = { .a = -1 };

	cw.lsock = ftoe_sock_listen(w->s[1].eng, port, 16);
	if (cw.lsock < 0 && cw.lsock != -EADDRINUSE)
		return false;
	if (cw.lsock == -EADDRINUSE)
		cw.lsock = FTOE_SOCK_LISTENER; /* first listener */
	cw.c = ip6 ? ftoe_sock_connect6(w->s[0].eng, 0, ip6, port) :
		     ftoe_sock_connect(w->s[0].eng, __builtin_bswap32(LB_IP_B), port);
	if (cw.c < 0)
		return false;
	if (!lb_run(w, conn_step, &cw, 10ull * 1000000000))
		return false;
	*c = cw.c;
	*a = cw.a;
	return true;
}
