/* test_appif.c - the engine side of application contexts (core/control/appif.c) over the in-memory engine pair: the shared rings as the connections' buffers, and what happens to a context's connections when its application exits. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/appif.h"
#include "core/engine_internal.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

/*
 * Side 0's engine serves a fake application: the test writes the shared
 * memory as libflextoe would (commands, tx ring positions) and calls
 * appif_ctx_remove() when "the process exits"; the shared memory is freed
 * right after, as the daemon unmaps it, so ASan catches any later use.
 * Side 1 is the peer on the plain socket API.
 *
 * The link's engines have 64 KiB rings: a context with 4 KiB rings has
 * them attached as the connections' buffers (one copy), one with 128 KiB
 * rings stays in copy mode (ftoe_sock_attach refuses rings larger than the
 * engine's own), which the exit tests below use to fill both buffers.
 */
#define BUF_ATT  4096u
#define BUF      BUF_ATT /* the permission cases' rings */
#define BUF_COPY (128u * 1024)
#define PORT  7300
#define STRID 7u

struct fake_app {
	struct appif *a;
	struct appif_ctx *c;
	uint8_t *shm;
	struct appif_layout l;
	uint32_t cmd_head, ev_tail;
	uint32_t handle;
	uint32_t buf;		/* ring size, per direction */
	uint64_t written;	/* stream bytes put into the tx ring */
	bool connected;
};

/* The wake groups notify was given since a test last cleared them. */
static uint64_t notified_groups;

static void no_notify(void *arg, uint64_t groups)
{
	(void)arg;
	notified_groups |= groups;
}

static struct appif_sock *fa_sock(struct fake_app *f)
{
	return (struct appif_sock *)(f->shm + f->l.socks) + appif_handle_idx(f->handle);
}

/* Queue a command (req 0: no RESULT wanted) and let the engine run it. */
static void fa_push(struct fake_app *f, uint16_t op, uint32_t handle, uint32_t arg0,
		    uint32_t arg1, uint16_t r, uint64_t req)
{
	struct appif_ring *cr = (struct appif_ring *)(f->shm + f->l.cmd_ring);
	struct appif_cmd *cmd = (struct appif_cmd *)(f->shm + f->l.cmd) +
				(f->cmd_head & (f->l.cmd_entries - 1));

	memset(cmd, 0, sizeof(*cmd));
	cmd->op = op;
	cmd->_r = r;
	cmd->handle = handle;
	cmd->arg0 = arg0;
	cmd->arg1 = arg1;
	cmd->req = req;
	__atomic_store_n(&cr->head, ++f->cmd_head, __ATOMIC_RELEASE);
	appif_ctx_poll(f->a, f->c);
}

static void fa_cmd(struct fake_app *f, uint16_t op, uint32_t arg0, uint32_t arg1)
{
	fa_push(f, op, f->handle, arg0, arg1, 0, 0);
}

/* Reads the events: the connect's handle, CONNECTED. */
static void fa_events(struct fake_app *f)
{
	struct appif_ring *r = (struct appif_ring *)(f->shm + f->l.ev_ring);

	while (f->ev_tail != __atomic_load_n(&r->head, __ATOMIC_ACQUIRE)) {
		struct appif_ev *ev = (struct appif_ev *)(f->shm + f->l.ev) +
				      (f->ev_tail & (f->l.ev_entries - 1));

		if (ev->type == APPIF_EV_RESULT && ev->res > 0)
			f->handle = (uint32_t)ev->res;
		if (ev->type == APPIF_EV_CONNECTED)
			f->connected = true;
		__atomic_store_n(&r->tail, ++f->ev_tail, __ATOMIC_RELEASE);
	}
}

/* Fill the tx ring's free space with the stream's next bytes. */
static void fa_write(struct fake_app *f)
{
	struct appif_sock *ss = fa_sock(f);
	uint8_t *tx = f->shm + f->l.bufs + (size_t)appif_handle_idx(f->handle) * 2 * f->buf + f->buf;
	uint32_t head = ss->tx_head;
	uint32_t space = f->buf - (head - __atomic_load_n(&ss->tx_tail, __ATOMIC_ACQUIRE));

	if (!space)
		return;
	for (uint32_t k = 0; k < space; k++)
		tx[(head + k) & (f->buf - 1)] = app_pat(STRID, f->written + k);
	f->written += space;
	__atomic_store_n(&ss->tx_head, head + space, __ATOMIC_RELEASE);
	fa_cmd(f, APPIF_OP_TX, 0, 0);
}

static void fa_start(struct lb_world *w, struct fake_app *f, uint32_t buf)
{
	memset(f, 0, sizeof(*f));
	f->buf = buf;
	ck_assert_int_eq(appif_create(w->s[0].eng, &f->a), 0);
	ck_assert_int_eq(appif_layout(4, buf, &f->l), 0);
	f->shm = calloc(1, f->l.size);
	ck_assert_ptr_nonnull(f->shm);
	ck_assert_int_eq(appif_ctx_add(f->a, f->shm, 4, buf, &(struct appif_peer){ .pid = 4242 },
				       no_notify, NULL, &f->c), 0);
	ck_assert_int_ge(ftoe_sock_listen(w->s[1].eng, PORT, 16), 0);
	fa_cmd(f, APPIF_OP_CONNECT, __builtin_bswap32(LB_IP_B), PORT);
	fa_events(f);
	ck_assert_uint_ne(f->handle, 0);
}

/* The application exits: the daemon removes the context and unmaps. */
static void fa_exit(struct fake_app *f)
{
	appif_ctx_remove(f->a, f->c);
	memset(f->shm, 0xa5, f->l.size);
	free(f->shm);
	f->shm = NULL;
}

/* The peer: accepts, reads while not paused, checks every byte. */
struct peer {
	int a;
	bool paused, eof;
	int err;
	uint64_t rcvd, bad;
};

static bool peer_step(struct lb_world *w, void *arg)
{
	struct peer *p = arg;
	uint8_t buf[8192];

	if (p->a < 0)
		p->a = ftoe_sock_accept(w->s[1].eng, FTOE_SOCK_LISTENER);
	while (p->a >= 0 && !p->paused && !p->eof && !p->err) {
		ssize_t r = ftoe_sock_recv(w->s[1].eng, p->a, buf, sizeof(buf));

		if (r == 0)
			p->eof = true;
		else if (r < 0 && r != -EAGAIN)
			p->err = (int)r;
		if (r <= 0)
			break;
		for (ssize_t k = 0; k < r; k++)
			if (buf[k] != app_pat(STRID, p->rcvd + (uint64_t)k))
				p->bad++;
		p->rcvd += (uint64_t)r;
	}
	return p->eof || p->err;
}

struct both {
	struct fake_app *f;
	struct peer *p;
};

/* Until the connection is up and the peer accepted it. */
static bool connected_step(struct lb_world *w, void *arg)
{
	struct both *b = arg;

	peer_step(w, b->p);
	fa_events(b->f);
	return b->f->connected && b->p->a >= 0;
}

/* Closed before the handshake completed, with the engine's buffer full
 * (it takes bytes in SYN-SENT) and the shared ring full behind it. */
START_TEST(close_then_exit_before_connected)
{
	struct lb_world w;
	struct fake_app f;
	struct peer p = { .a = -1 };

	lb_init(&w, 11, NULL, NULL);
	fa_start(&w, &f, BUF_COPY);
	for (int k = 0; k < 32; k++)	/* no lb_run: no handshake yet */
		fa_write(&f);
	ck_assert_uint_gt(f.written, 64 * 1024);
	fa_cmd(&f, APPIF_OP_CLOSE, 0, 0);
	ck_assert_uint_eq(fa_sock(&f)->tx_head - fa_sock(&f)->tx_tail, f.buf);
	fa_exit(&f);
	ck_assert(lb_run(&w, peer_step, &p, 10ull * 1000000000));
	ck_assert_int_eq(p.err, 0);
	ck_assert(p.eof);
	ck_assert_uint_eq(p.rcvd, f.written);
	ck_assert_uint_eq(p.bad, 0);
	appif_destroy(f.a);
	lb_fini(&w);
}
END_TEST

/* The peer's window closes and the application's ring fills behind it;
 * the application closes and exits, and only then the peer reads: it gets
 * every byte and the FIN, whichever buffers held them. */
static void close_exit_full(uint64_t seed, uint32_t buf)
{
	struct lb_world w;
	struct fake_app f;
	struct peer p = { .a = -1, .paused = true };
	struct both b = { &f, &p };

	lb_init(&w, seed, NULL, NULL);
	fa_start(&w, &f, buf);
	ck_assert(lb_run(&w, connected_step, &b, 10ull * 1000000000));
	for (int k = 0; k < 200; k++) {	/* until the peer's window closes */
		fa_write(&f);
		lb_run(&w, NULL, NULL, 1000000);
	}
	fa_write(&f);
	ck_assert_uint_gt(f.written, buf);
	fa_cmd(&f, APPIF_OP_CLOSE, 0, 0);
	/* the ring is still full: nothing more could be sent */
	ck_assert_uint_eq(fa_sock(&f)->tx_head - fa_sock(&f)->tx_tail, f.buf);
	fa_exit(&f);
	p.paused = false;
	ck_assert(lb_run(&w, peer_step, &p, 30ull * 1000000000));
	ck_assert_int_eq(p.err, 0);
	ck_assert(p.eof);
	ck_assert_uint_eq(p.rcvd, f.written);
	ck_assert_uint_eq(p.bad, 0);
	appif_destroy(f.a);
	lb_fini(&w);
}

/* Copy mode: the engine's buffer is full and the ring full behind it. */
START_TEST(close_then_exit_with_full_buffers)
{
	close_exit_full(12, BUF_COPY);
	ck_assert_uint_gt(BUF_COPY, 64 * 1024);
}
END_TEST

/* Not closed before the exit (killed): the peer gets a RST. */
START_TEST(exit_without_close_resets)
{
	struct lb_world w;
	struct fake_app f;
	struct peer p = { .a = -1 };
	struct both b = { &f, &p };

	lb_init(&w, 13, NULL, NULL);
	fa_start(&w, &f, BUF_COPY);
	ck_assert(lb_run(&w, connected_step, &b, 10ull * 1000000000));
	fa_write(&f);
	fa_exit(&f);
	ck_assert(lb_run(&w, peer_step, &p, 10ull * 1000000000));
	ck_assert(!p.eof);
	ck_assert_int_eq(p.err, -ECONNRESET);
	appif_destroy(f.a);
	lb_fini(&w);
}
END_TEST

/* The engine stops while an orphan still holds bytes: it is reset and
 * freed (ASan's leak check covers the freeing). */
START_TEST(destroy_with_orphan_pending)
{
	struct lb_world w;
	struct fake_app f;
	struct peer p = { .a = -1, .paused = true };
	struct both b = { &f, &p };

	lb_init(&w, 14, NULL, NULL);
	fa_start(&w, &f, BUF_COPY);
	ck_assert(lb_run(&w, connected_step, &b, 10ull * 1000000000));
	for (int k = 0; k < 200; k++) {
		fa_write(&f);
		lb_run(&w, NULL, NULL, 1000000);
	}
	fa_write(&f);
	fa_cmd(&f, APPIF_OP_CLOSE, 0, 0);
	ck_assert_uint_eq(fa_sock(&f)->tx_head - fa_sock(&f)->tx_tail, f.buf);
	fa_exit(&f);
	appif_destroy(f.a);
	p.paused = false;
	ck_assert(lb_run(&w, peer_step, &p, 10ull * 1000000000));
	ck_assert_int_eq(p.err, -ECONNRESET);
	ck_assert_uint_lt(p.rcvd, f.written);
	lb_fini(&w);
}
END_TEST

/* The engine's flow id of side 0's only connection. */
static uint32_t only_flow(struct ftoe_engine *e)
{
	uint32_t id, n = 0, found = 0;

	for (id = 0; id < e->nflows; id++)
		if (e->ctl[id].in_use) {
			found = id;
			n++;
		}
	ck_assert_uint_eq(n, 1);
	return found;
}

/* Attached: the peer's bytes land in the application's rx ring and
 * nowhere else (one copy: the engine's own ring of the flow stays
 * untouched), the application's bytes leave from its tx ring, and what
 * the application reads moves the engine's rx_tail. */
START_TEST(attached_rings_are_the_buffers)
{
	struct lb_world w;
	struct fake_app f;
	struct peer p = { .a = -1 };
	struct both b = { &f, &p };
	struct ftoe_engine *e;
	struct appif_sock *ss;
	uint8_t msg[3000], *rx, *own;
	uint32_t id, i;

	lb_init(&w, 15, NULL, NULL);
	e = w.s[0].eng;
	fa_start(&w, &f, BUF_ATT);
	ck_assert(lb_run(&w, connected_step, &b, 10ull * 1000000000));
	id = only_flow(e);
	ck_assert_uint_ne(e->mem[id].region, 0);
	ck_assert_uint_eq(e->mem[id].rx_size, BUF_ATT);
	ss = fa_sock(&f);
	rx = f.shm + f.l.bufs + (size_t)appif_handle_idx(f.handle) * 2 * BUF_ATT;
	own = e->bufs + (uint64_t)id * (e->cfg.rx_buf_size + e->cfg.tx_buf_size);

	/* app -> peer, twice round the 4 KiB ring */
	for (int k = 0; k < 3; k++) {
		fa_write(&f);
		lb_run(&w, peer_step, &p, 50ull * 1000000);
	}
	ck_assert_uint_eq(f.written, 3 * BUF_ATT);
	ck_assert_uint_eq(p.rcvd, f.written);
	ck_assert_uint_eq(p.bad, 0);
	for (i = 0; i < e->cfg.tx_buf_size; i++)
		ck_assert_uint_eq(own[e->cfg.rx_buf_size + i], 0);

	/* peer -> app */
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = app_pat(STRID + 1, i);
	ck_assert_int_eq(ftoe_sock_send(w.s[1].eng, p.a, msg, sizeof(msg)), (int)sizeof(msg));
	lb_run(&w, NULL, NULL, 50ull * 1000000);
	ck_assert_uint_eq(__atomic_load_n(&ss->rx_head, __ATOMIC_ACQUIRE), sizeof(msg));
	ck_assert_mem_eq(rx, msg, sizeof(msg));
	for (i = 0; i < e->cfg.rx_buf_size; i++)
		ck_assert_uint_eq(own[i], 0);
	ck_assert_uint_eq(e->mem[id].rx_tail, 0);
	__atomic_store_n(&ss->rx_tail, (uint32_t)sizeof(msg), __ATOMIC_RELEASE);
	fa_cmd(&f, APPIF_OP_RXDONE, 0, 0);
	ck_assert_uint_eq(e->mem[id].rx_tail, sizeof(msg));
	/* a bogus position from the application moves nothing */
	__atomic_store_n(&ss->rx_tail, 123456u, __ATOMIC_RELEASE);
	fa_cmd(&f, APPIF_OP_RXDONE, 0, 0);
	ck_assert_uint_eq(e->mem[id].rx_tail, sizeof(msg));
	__atomic_store_n(&ss->rx_tail, (uint32_t)sizeof(msg), __ATOMIC_RELEASE);

	fa_cmd(&f, APPIF_OP_CLOSE, 0, 0);
	ck_assert_uint_eq(e->mem[id].region, 0);	/* close gives the rings back */
	fa_exit(&f);
	ck_assert(lb_run(&w, peer_step, &p, 10ull * 1000000000));
	ck_assert(p.eof);
	appif_destroy(f.a);
	lb_fini(&w);
}
END_TEST

/* ---- who may do what: ports, other contexts' sockets, shared ports ------ */

/* Another context of the same appif, with its application's rights. */
static void fa_attach(struct fake_app *f, struct appif *a, uint32_t uid, uint32_t port_start)
{
	const struct appif_peer peer = { .pid = 5000 + (int)uid, .uid = uid, .gid = uid,
					 .unpriv_port_start = port_start };

	memset(f, 0, sizeof(*f));
	f->a = a;
	ck_assert_int_eq(appif_layout(4, BUF, &f->l), 0);
	f->shm = calloc(1, f->l.size);
	ck_assert_ptr_nonnull(f->shm);
	ck_assert_int_eq(appif_ctx_add(a, f->shm, 4, BUF, &peer, no_notify, NULL, &f->c), 0);
}

static void fa_detach(struct fake_app *f)
{
	appif_ctx_remove(f->a, f->c);
	free(f->shm);
	f->shm = NULL;
}

/* A command asking for a RESULT (req 1, 2, ...): its res. */
static int32_t fa_call(struct fake_app *f, uint16_t op, uint32_t handle, uint32_t arg0,
		       uint32_t arg1, uint16_t r)
{
	struct appif_ring *er = (struct appif_ring *)(f->shm + f->l.ev_ring);
	uint64_t req = f->cmd_head + 1000;
	int32_t res = INT32_MIN;

	fa_push(f, op, handle, arg0, arg1, r, req);
	while (f->ev_tail != __atomic_load_n(&er->head, __ATOMIC_ACQUIRE)) {
		struct appif_ev *ev = (struct appif_ev *)(f->shm + f->l.ev) +
				      (f->ev_tail & (f->l.ev_entries - 1));

		if (ev->type == APPIF_EV_RESULT && ev->req == req)
			res = ev->res;
		if (ev->type == APPIF_EV_CONNECTED)
			f->connected = true;
		__atomic_store_n(&er->tail, ++f->ev_tail, __ATOMIC_RELEASE);
	}
	return res;
}

/* Ports below ip_unprivileged_port_start: EACCES without the capability,
 * for a listen (plain or shared) and a connect from a bound port. */
START_TEST(privileged_ports_need_the_capability)
{
	struct lb_world w;
	struct appif *a;
	struct fake_app user, admin;
	const struct appif_shm_hdr *h;

	lb_init(&w, 21, NULL, NULL);
	ck_assert_int_eq(appif_create(w.s[0].eng, &a), 0);
	fa_attach(&user, a, 65534, 1024);
	fa_attach(&admin, a, 0, 0);
	h = (const struct appif_shm_hdr *)user.shm;
	ck_assert_uint_eq(h->unpriv_port_start, 1024);	/* what lib/posix's bind() checks */
	ck_assert_int_eq(fa_call(&user, APPIF_OP_LISTEN, 0, 80, 16, 0), -EACCES);
	ck_assert_int_eq(fa_call(&user, APPIF_OP_LISTEN, 0, 1023, 16, 0), -EACCES);
	ck_assert_int_eq(fa_call(&user, APPIF_OP_LISTEN_SHARED, 0, 80, 16, 0), -EACCES);
	ck_assert_int_eq(fa_call(&user, APPIF_OP_CONNECT, 0, __builtin_bswap32(LB_IP_B), PORT, 80),
			 -EACCES);
	ck_assert_int_gt(fa_call(&user, APPIF_OP_LISTEN, 0, 1024, 16, 0), 0);
	ck_assert_int_gt(fa_call(&admin, APPIF_OP_LISTEN, 0, 80, 16, 0), 0);
	ck_assert_int_gt(fa_call(&user, APPIF_OP_CONNECT, 0, __builtin_bswap32(LB_IP_B), PORT, 4000),
			 0);
	fa_detach(&user);
	fa_detach(&admin);
	appif_destroy(a);
	lb_fini(&w);
}
END_TEST

/* Attached: the unsent bytes are in the application's ring, which is the
 * connection's; close moves them into the engine's rings before the
 * memory is freed (fa_exit overwrites and frees it), so every one arrives
 * intact. */
START_TEST(attached_close_then_exit_delivers)
{
	close_exit_full(16, BUF_ATT);
}
END_TEST

static bool victim_connected(struct lb_world *w, void *arg)
{
	struct both *b = arg;

	peer_step(w, b->p);
	fa_call(b->f, APPIF_OP_INFO, b->f->handle, 0, 0, 0);	/* reads the events */
	return b->f->connected && b->p->a >= 0;
}

/* A context names another's sockets: every command is EBADF, and the
 * other's connection carries on. */
START_TEST(other_contexts_sockets_are_refused)
{
	static const uint16_t ops[] = { APPIF_OP_INFO, APPIF_OP_SHUTDOWN, APPIF_OP_TX,
					APPIF_OP_RXDONE, APPIF_OP_CLOSE, APPIF_OP_ABORT };
	struct lb_world w;
	struct appif *a;
	struct fake_app victim, thief;
	struct peer p = { .a = -1 };
	struct both b = { &victim, &p };
	int32_t mine;

	lb_init(&w, 22, NULL, NULL);
	ck_assert_int_eq(appif_create(w.s[0].eng, &a), 0);
	fa_attach(&victim, a, 0, 0);
	fa_attach(&thief, a, 65534, 1024);
	ck_assert_int_ge(ftoe_sock_listen(w.s[1].eng, PORT, 16), 0);
	/* handles are per context: the victim's connection takes slot 1,
	 * so that the number is not also the thief's own socket (slot 0) */
	ck_assert_int_gt(fa_call(&victim, APPIF_OP_LISTEN, 0, 7500, 16, 0), 0);
	victim.handle = (uint32_t)fa_call(&victim, APPIF_OP_CONNECT, 0,
					  __builtin_bswap32(LB_IP_B), PORT, 0);
	ck_assert_int_gt((int32_t)victim.handle, 0);
	ck_assert(lb_run(&w, victim_connected, &b, 10ull * 1000000000));
	/* the thief's own connection, for a splice with the victim's */
	mine = fa_call(&thief, APPIF_OP_CONNECT, 0, __builtin_bswap32(LB_IP_B), PORT, 0);
	ck_assert_int_gt(mine, 0);
	ck_assert_uint_ne((uint32_t)mine, victim.handle);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		ck_assert_int_eq(fa_call(&thief, ops[k], victim.handle, FTOE_SHUT_RDWR, 0, 0), -EBADF);
	ck_assert_int_eq(fa_call(&thief, APPIF_OP_SPLICE, (uint32_t)mine, victim.handle, 0, 0),
			 -EBADF);
	ck_assert_int_eq(fa_call(&thief, APPIF_OP_SPLICE, victim.handle, (uint32_t)mine, 0, 0),
			 -EBADF);
	ck_assert_uint_ge(appif_ctx_refused(thief.c), sizeof(ops) / sizeof(ops[0]) + 2);
	ck_assert_uint_eq(appif_ctx_refused(victim.c), 0);
	/* the victim's connection is untouched: its bytes still arrive */
	ck_assert_int_eq(fa_call(&victim, APPIF_OP_INFO, victim.handle, 0, 0, 0), 0);
	ck_assert_uint_eq(fa_sock(&victim)->flags & (APPIF_SF_ERROR | APPIF_SF_CLOSED), 0);
	fa_write(&victim);
	lb_run(&w, NULL, NULL, 100000000);
	peer_step(&w, &p);
	ck_assert_uint_eq(p.rcvd, victim.written);
	ck_assert_uint_eq(p.bad, 0);
	ck_assert_int_eq(p.err, 0);
	fa_detach(&thief);
	fa_detach(&victim);
	appif_destroy(a);
	lb_fini(&w);
}
END_TEST

/* A port is shared (APPIF_OP_LISTEN_SHARED) by the contexts of one user
 * only, as SO_REUSEPORT. */
START_TEST(shared_port_is_one_users)
{
	struct lb_world w;
	struct appif *a;
	struct fake_app u1, u2, u1b;

	lb_init(&w, 23, NULL, NULL);
	ck_assert_int_eq(appif_create(w.s[0].eng, &a), 0);
	fa_attach(&u1, a, 1000, 1024);
	fa_attach(&u2, a, 1001, 1024);
	fa_attach(&u1b, a, 1000, 1024);
	ck_assert_int_gt(fa_call(&u1, APPIF_OP_LISTEN_SHARED, 0, 7400, 16, 0), 0);
	ck_assert_int_eq(fa_call(&u2, APPIF_OP_LISTEN_SHARED, 0, 7400, 16, 0), -EADDRINUSE);
	ck_assert_int_gt(fa_call(&u1b, APPIF_OP_LISTEN_SHARED, 0, 7400, 16, 0), 0);
	ck_assert_int_gt(fa_call(&u2, APPIF_OP_LISTEN_SHARED, 0, 7401, 16, 0), 0);
	fa_detach(&u1);
	fa_detach(&u1b);
	/* the port is free of uid 1000 now */
	ck_assert_int_gt(fa_call(&u2, APPIF_OP_LISTEN_SHARED, 0, 7400, 16, 0), 0);
	fa_detach(&u2);
	appif_destroy(a);
	lb_fini(&w);
}
END_TEST

/* Until the app's rx ring holds *arg bytes (the peer's sends arrived). */
struct rx_wait {
	struct fake_app *f;
	uint32_t want;
};

static bool rx_step(struct lb_world *w, void *arg)
{
	struct rx_wait *r = arg;

	(void)w;
	return __atomic_load_n(&fa_sock(r->f)->rx_head, __ATOMIC_ACQUIRE) >= r->want;
}

/* Until the peer has read everything the app wrote. */
static bool tx_drained_step(struct lb_world *w, void *arg)
{
	struct both *b = arg;
	struct appif_sock *ss = fa_sock(b->f);

	peer_step(w, b->p);
	return __atomic_load_n(&ss->tx_tail, __ATOMIC_ACQUIRE) == ss->tx_head &&
	       b->p->rcvd == b->f->written;
}

/* The events were read and the rings looked at: the engine may post again. */
static void fa_events_seen(struct fake_app *f)
{
	fa_events(f);
	__atomic_store_n(&fa_sock(f)->rx_ev, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&fa_sock(f)->tx_ev, 0, __ATOMIC_SEQ_CST);
}

/* An event for a socket signals the wake groups in its wake_mask (lib/posix:
 * the epolls that hold it), a space-freed event only while tx_wake is set. */
START_TEST(events_signal_the_sockets_wake_groups)
{
	struct lb_world w;
	struct fake_app f;
	struct peer p = { .a = -1, .paused = true };
	struct both b = { &f, &p };
	struct rx_wait rw = { &f, 0 };
	struct appif_sock *ss;
	uint8_t msg[100] = { 0 };

	lb_init(&w, 31, NULL, NULL);
	fa_start(&w, &f, BUF);
	ck_assert(lb_run(&w, connected_step, &b, 10ull * 1000000000));
	ss = fa_sock(&f);
	appif_flush(f.a);
	fa_events_seen(&f);

	/* data for a socket in groups 5 and 63 */
	__atomic_store_n(&ss->wake_mask, (1ull << 5) | (1ull << 63), __ATOMIC_SEQ_CST);
	notified_groups = 0;
	ck_assert_int_eq(ftoe_sock_send(w.s[1].eng, p.a, msg, sizeof(msg)), sizeof(msg));
	rw.want = sizeof(msg);
	ck_assert(lb_run(&w, rx_step, &rw, 10ull * 1000000000));
	appif_flush(f.a);
	ck_assert_uint_eq(notified_groups, (1ull << 5) | (1ull << 63));
	fa_events_seen(&f);

	/* in no group: only the context's eventfd */
	__atomic_store_n(&ss->wake_mask, 0, __ATOMIC_SEQ_CST);
	notified_groups = 0;
	ck_assert_int_eq(ftoe_sock_send(w.s[1].eng, p.a, msg, sizeof(msg)), sizeof(msg));
	rw.want += sizeof(msg);
	ck_assert(lb_run(&w, rx_step, &rw, 10ull * 1000000000));
	appif_flush(f.a);
	ck_assert_uint_eq(notified_groups, 0);
	fa_events_seen(&f);

	/* freed send space: no group while no writer found the ring full */
	__atomic_store_n(&ss->wake_mask, 1ull << 7, __ATOMIC_SEQ_CST);
	notified_groups = 0;
	p.paused = false;
	fa_write(&f);
	fa_cmd(&f, APPIF_OP_TX, 0, 0);
	ck_assert(lb_run(&w, tx_drained_step, &b, 10ull * 1000000000));
	appif_flush(f.a);
	ck_assert_uint_eq(notified_groups, 0);
	fa_events_seen(&f);
	/* ... and the group once one did */
	__atomic_store_n(&ss->tx_wake, 1, __ATOMIC_SEQ_CST);
	fa_write(&f);
	fa_cmd(&f, APPIF_OP_TX, 0, 0);
	ck_assert(lb_run(&w, tx_drained_step, &b, 10ull * 1000000000));
	appif_flush(f.a);
	ck_assert_uint_eq(notified_groups, 1ull << 7);
	fa_exit(&f);
	appif_destroy(f.a);
	lb_fini(&w);
}
END_TEST

static Suite *appif_suite(void)
{
	Suite *s = suite_create("core_appif");
	TCase *tc = tcase_create("exit");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, close_then_exit_before_connected);
	tcase_add_test(tc, close_then_exit_with_full_buffers);
	tcase_add_test(tc, exit_without_close_resets);
	tcase_add_test(tc, destroy_with_orphan_pending);
	suite_add_tcase(s, tc);
	tc = tcase_create("attached");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, attached_rings_are_the_buffers);
	tcase_add_test(tc, attached_close_then_exit_delivers);
	tcase_add_test(tc, events_signal_the_sockets_wake_groups);
	suite_add_tcase(s, tc);
	tc = tcase_create("permissions");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, privileged_ports_need_the_capability);
	tcase_add_test(tc, other_contexts_sockets_are_refused);
	tcase_add_test(tc, shared_port_is_one_users);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(appif_suite)
