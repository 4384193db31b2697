/* appif.c - engine side of application contexts: commands, socket slots, the shared rings as the connections' buffers. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/appif.h"
#include "core/control/conn.h"
#include "core/control/splice.h"
#include "core/engine_internal.h"
#include "core/socket.h"
#include "lib/util/log.h"

#define LOAD_ACQ(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

enum slot_kind { SLOT_FREE = 0, SLOT_LISTEN, SLOT_CONN };

/* Engine-private state of a slot: nothing here is visible to the app. */
struct slot {
	uint8_t kind;
	bool closing;		/* close after the tx ring drains */
	bool shut_wr;		/* shutdown(WR) after the tx ring drains */
	bool eof, failed, accept_blocked;
	bool spliced;		/* the splice program relays it: no pumping; esock -1 once over */
	bool attached;		/* the shared rings are the connection's buffers */
	uint16_t gen;
	uint16_t lport;		/* a listener's port (the shared copy is the app's to scribble on) */
	int esock;
	uint32_t rx_head, tx_tail; /* our copies of the positions we own */
};

struct appif_ctx {
	struct appif *a;
	uint8_t *shm;
	struct appif_layout l;
	uint32_t max_socks, buf_size;
	int pid;
	uint32_t uid;
	uint32_t unpriv_port_start;	/* struct appif_peer */
	uint64_t refused;	/* commands naming no socket of this context */
	bool told_port;		/* a port refusal was logged (once per context: a log
				 * any local user could otherwise fill) */
	struct slot *slots;
	uint32_t nfree;
	uint32_t cmd_tail, ev_head;
	bool dirty, accept_blocked;
	uint64_t ev_dropped;
	void (*notify)(void *, uint64_t);
	void *notify_arg;
	uint64_t wake;		/* wake groups to signal at the next flush */
	struct appif_ctx *next;
	uint32_t id;		/* 1, 2, ... in creation order, never reused */
	int region;		/* the engine's id of the socket buffers (ftoe_sock_region_add) */
};

/* A connection its application closed and then exited before the shared tx
 * ring drained: the engine keeps the unsent bytes and sends them, then
 * closes gracefully, as Linux does for a close() followed by exit(). */
struct orphan {
	int esock;
	uint8_t *buf;
	uint32_t len, off;	/* bytes held, bytes already given to the engine */
	struct orphan *next;
};

struct owner {
	struct appif_ctx *c;
	uint32_t idx;
	struct orphan *orph;	/* set (and c NULL) while an orphan drains */
};

struct appif {
	struct ftoe_engine *eng;
	struct appif_ctx *ctxs;
	struct owner *conns;	/* by engine socket (flow id) */
	uint32_t nconns;
	struct owner lis[256];	/* by listener index */
	struct ftoe_splicer *splicer;	/* NULL: no splice support */
	uint32_t last_ctx_id;
	struct orphan *orphans;	/* closed connections of exited applications */
};

static struct appif_sock *shm_sock(struct appif_ctx *c, uint32_t i)
{
	return (struct appif_sock *)(c->shm + c->l.socks) + i;
}

/* An IPv6 connection's peer address, for the application's accept and
 * getpeername (include/flextoe/appif.h). */
static void set_peer6(struct appif_sock *ss, const struct ftoe_sock_info *info)
{
	memcpy(ss->peer6, info->remote_ip6, 16);
	ss->peer_is_v6 = info->ip_version == 6;
}

static uint8_t *shm_rx(struct appif_ctx *c, uint32_t i)
{
	return c->shm + c->l.bufs + (size_t)i * 2 * c->buf_size;
}

static uint8_t *shm_tx(struct appif_ctx *c, uint32_t i)
{
	return shm_rx(c, i) + c->buf_size;
}

static uint32_t handle_of(struct appif_ctx *c, uint32_t i)
{
	return ((uint32_t)c->slots[i].gen << 16) | i;
}

/* The wake groups of the socket an event is about (an accepted
 * connection's: its listener's).  After the event is published: the
 * application sets a group's bit before it looks at the ring. */
static void wake_groups_of(struct appif_ctx *c, uint16_t type, uint32_t handle, uint32_t arg0)
{
	uint32_t i;

	if (type == APPIF_EV_RESULT)
		return;	/* its waiter sleeps on the context's eventfd */
	i = appif_handle_idx(type == APPIF_EV_ACCEPT ? arg0 : handle);
	if (i >= c->max_socks)
		return;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (type == APPIF_EV_TX && !__atomic_load_n(&shm_sock(c, i)->tx_wake, __ATOMIC_RELAXED))
		return;	/* nobody found the ring full */
	c->wake |= __atomic_load_n(&shm_sock(c, i)->wake_mask, __ATOMIC_RELAXED);
}

static void post(struct appif_ctx *c, uint16_t type, uint32_t handle, int32_t res,
		 uint32_t arg0, uint32_t arg1, uint64_t req)
{
	struct appif_ring *r = (struct appif_ring *)(c->shm + c->l.ev_ring);
	struct appif_ev *ev;
	uint32_t tail = LOAD_ACQ(&r->tail);

	if (c->ev_head - tail >= c->l.ev_entries) {
		/* Cannot happen with a well-behaved app: events per socket are
		 * coalesced.  Count rather than overwrite. */
		if (!c->ev_dropped++)
			pr_warn("application pid %d: event ring full; dropping events", c->pid);
		return;
	}
	ev = (struct appif_ev *)(c->shm + c->l.ev) + (c->ev_head & (c->l.ev_entries - 1));
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->handle = handle;
	ev->res = res;
	ev->arg0 = arg0;
	ev->arg1 = arg1;
	ev->req = req;
	STORE_REL(&r->head, ++c->ev_head);
	c->dirty = true;
	wake_groups_of(c, type, handle, arg0);
}

/* One event of a kind per socket outstanding: the flag is cleared by the
 * app before it looks at the rings, so nothing is missed. */
static void post_once(struct appif_ctx *c, uint32_t i, uint32_t *flag, uint16_t type)
{
	if (__atomic_exchange_n(flag, 1, __ATOMIC_ACQ_REL))
		return;
	post(c, type, handle_of(c, i), 0, 0, 0, 0);
}

static int slot_alloc(struct appif_ctx *c, uint8_t kind, int esock)
{
	for (uint32_t i = 0; i < c->max_socks; i++) {
		struct slot *s = &c->slots[i];

		if (s->kind != SLOT_FREE)
			continue;
		memset(shm_sock(c, i), 0, sizeof(struct appif_sock));
		s->gen = (uint16_t)((s->gen + 1) & 0x7fff);
		if (!s->gen)
			s->gen = 1;
		s->kind = kind;
		s->esock = esock;
		s->closing = s->shut_wr = s->eof = s->failed = s->accept_blocked = false;
		s->spliced = s->attached = false;
		s->rx_head = s->tx_tail = 0;
		c->nfree--;
		return (int)i;
	}
	return -ENOSPC;
}

static int own(struct appif *a, int esock, struct appif_ctx *c, uint32_t idx)
{
	if (esock >= FTOE_SOCK_LISTENER) {
		uint32_t li = (uint32_t)esock - FTOE_SOCK_LISTENER;

		if (li >= sizeof(a->lis) / sizeof(a->lis[0]))
			return -ENOSPC;
		a->lis[li] = (struct owner){ c, idx, NULL };
		return 0;
	}
	if ((uint32_t)esock >= a->nconns) {
		uint32_t n = a->nconns ? a->nconns : 1024;
		struct owner *o;

		while (n <= (uint32_t)esock)
			n *= 2;
		o = realloc(a->conns, n * sizeof(*o));
		if (!o)
			return -ENOMEM;
		memset(o + a->nconns, 0, (n - a->nconns) * sizeof(*o));
		a->conns = o;
		a->nconns = n;
	}
	a->conns[esock] = (struct owner){ c, idx, NULL };
	return 0;
}

static struct owner *owner_of(struct appif *a, int esock)
{
	if (esock >= FTOE_SOCK_LISTENER) {
		uint32_t li = (uint32_t)esock - FTOE_SOCK_LISTENER;

		return li < sizeof(a->lis) / sizeof(a->lis[0]) && a->lis[li].c ? &a->lis[li] : NULL;
	}
	if (esock < 0 || (uint32_t)esock >= a->nconns || !a->conns[esock].c)
		return NULL;
	return &a->conns[esock];
}

static void slot_free(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct owner *o = owner_of(c->a, s->esock);

	if (o && o->c == c && o->idx == i)
		o->c = NULL;
	s->kind = SLOT_FREE;
	c->nfree++;
}

/* The connection failed (err: -errno): tell the application. */
static void slot_failed(struct appif_ctx *c, uint32_t i, int err)
{
	struct appif_sock *ss = shm_sock(c, i);

	c->slots[i].failed = true;
	ss->err = (int32_t)err;
	__atomic_or_fetch(&ss->flags, APPIF_SF_ERROR, __ATOMIC_RELEASE);
	post(c, APPIF_EV_ERROR, handle_of(c, i), (int32_t)err, 0, 0, 0);
}

/* Attached (the shared rx ring is the connection's): post-processing put
 * the bytes there already; publish how far, take the application's
 * rx_tail back. */
static void pump_rx_attached(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct appif_sock *ss = shm_sock(c, i);
	uint32_t head;
	bool moved = false;
	int r;

	r = ftoe_sock_rx_read(c->a->eng, s->esock, LOAD_ACQ(&ss->rx_tail), &head);
	if (r == -EBADF)
		return;
	if (head != s->rx_head) {
		s->rx_head = head;
		STORE_REL(&ss->rx_head, head);
		moved = true;
	}
	if (r == 1 && !s->eof) {
		s->eof = true;
		__atomic_or_fetch(&ss->flags, APPIF_SF_EOF, __ATOMIC_RELEASE);
		moved = true;
	} else if (r < 0 && !s->failed) {
		slot_failed(c, i, r);
	}
	if (moved)
		post_once(c, i, &ss->rx_ev, APPIF_EV_RX);
}

/* Make slot i's shared rings the connection's buffers (one copy each
 * way).  When the engine cannot (rings larger than its own, or more held
 * than they fit), the slot stays in copy mode: pump_rx/pump_tx move the
 * bytes between the engine's rings and the shared ones. */
static void slot_attach(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	uint64_t rx = (uint64_t)i * 2 * c->buf_size;	/* as shm_rx(), in the region */
	int err;

	if (c->region <= 0)
		return;
	err = ftoe_sock_attach(c->a->eng, s->esock, c->region, rx, rx + c->buf_size,
			       c->buf_size);
	s->attached = !err;
	if (err)
		pr_debug("application pid %d: socket %d in copy mode: %s", c->pid, s->esock,
			 strerror(-err));
}

/* Back to copy mode: the engine's rings hold the connection's bytes again,
 * at the positions the shared rings use. */
static void slot_detach(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	uint32_t head;

	if (!s->attached)
		return;
	/* what the application read is not to be delivered again */
	ftoe_sock_rx_read(c->a->eng, s->esock, LOAD_ACQ(&shm_sock(c, i)->rx_tail), &head);
	ftoe_sock_detach(c->a->eng, s->esock);
	s->attached = false;
	s->tx_tail = LOAD_ACQ(&shm_sock(c, i)->tx_head);	/* the engine has all of it */
}

/* Engine rx ring -> shared rx ring, as far as the shared ring has room. */
static void pump_rx(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct appif_sock *ss = shm_sock(c, i);
	struct ftoe_engine *eng = c->a->eng;
	uint32_t size = c->buf_size, moved = 0;

	if (s->spliced)
		return;	/* the engine is silent on it: nothing to read */
	if (s->attached)
		return pump_rx_attached(c, i);
	while (!s->eof && !s->failed) {
		uint32_t used = s->rx_head - LOAD_ACQ(&ss->rx_tail);
		uint32_t off = s->rx_head & (size - 1), room;
		ssize_t r;

		if (used >= size)
			break;	/* full (or a bogus rx_tail: treat as full) */
		room = size - used;
		if (room > size - off)
			room = size - off;
		r = ftoe_sock_recv(eng, s->esock, shm_rx(c, i) + off, room);
		if (r > 0) {
			s->rx_head += (uint32_t)r;
			moved += (uint32_t)r;
			STORE_REL(&ss->rx_head, s->rx_head);
			continue;
		}
		if (r == 0) {
			s->eof = true;
			__atomic_or_fetch(&ss->flags, APPIF_SF_EOF, __ATOMIC_RELEASE);
			moved++;
		} else if (r != -EAGAIN) {
			slot_failed(c, i, (int)r);
		}
		break;
	}
	if (moved)
		post_once(c, i, &ss->rx_ev, APPIF_EV_RX);
}

static void finish_close(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct appif_sock *ss = shm_sock(c, i);

	/* Unread data at close means a reset, as Linux does (RFC 2525 2.17). */
	if (s->attached) {
		uint32_t head;

		/* the engine learns what was read, so it does not reset */
		ftoe_sock_rx_read(c->a->eng, s->esock, LOAD_ACQ(&ss->rx_tail), &head);
	}
	if (!s->failed && LOAD_ACQ(&ss->rx_tail) != s->rx_head)
		ftoe_sock_abort(c->a->eng, s->esock);
	else
		ftoe_sock_close(c->a->eng, s->esock);
	slot_free(c, i);
	if (c->accept_blocked)
		c->dirty = true;
}

/* Attached: the application's bytes are in the connection's tx ring
 * already; queue them, and free what the peer acknowledged.  True when
 * nothing the application wrote waits (the engine has all of it). */
static bool pump_tx_attached(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct appif_sock *ss = shm_sock(c, i);
	uint32_t tail;
	ssize_t r;

	r = ftoe_sock_tx_write(c->a->eng, s->esock, LOAD_ACQ(&ss->tx_head), &tail);
	if (r < 0 && r != -ENOTCONN) {
		if (!s->failed)
			slot_failed(c, i, (int)r);
		return true;	/* nothing more will go out */
	}
	if (r >= 0 && tail != s->tx_tail) {
		s->tx_tail = tail;
		STORE_REL(&ss->tx_tail, tail);
		post_once(c, i, &ss->tx_ev, APPIF_EV_TX);
	}
	return r >= 0;
}

/* Shared tx ring -> engine tx ring. */
static void pump_tx(struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct appif_sock *ss = shm_sock(c, i);
	uint32_t size = c->buf_size, moved = 0;
	bool empty = false;

	if (s->spliced)
		return;	/* bytes the app writes now go nowhere */
	if (s->attached) {
		empty = pump_tx_attached(c, i);
		goto drained;
	}
	for (;;) {
		uint32_t avail = LOAD_ACQ(&ss->tx_head) - s->tx_tail;
		uint32_t off = s->tx_tail & (size - 1);
		ssize_t r;

		if (avail > size)
			avail = 0;	/* bogus tx_head: send nothing */
		if (!avail) {
			empty = true;
			break;
		}
		if (avail > size - off)
			avail = size - off;
		r = ftoe_sock_send(c->a->eng, s->esock, shm_tx(c, i) + off, avail);
		if (r <= 0) {
			if (r != -EAGAIN && r != -ENOTCONN && !s->failed) {
				slot_failed(c, i, (int)r);
				empty = true;	/* nothing more will go out */
			}
			break;
		}
		s->tx_tail += (uint32_t)r;
		moved += (uint32_t)r;
		STORE_REL(&ss->tx_tail, s->tx_tail);
	}
	if (moved)
		post_once(c, i, &ss->tx_ev, APPIF_EV_TX);
drained:
	if (empty && s->shut_wr) {
		s->shut_wr = false;
		ftoe_sock_shutdown(c->a->eng, s->esock, FTOE_SHUT_WR);
	}
	if (empty && s->closing)
		finish_close(c, i);
}

static void accept_all(struct appif_ctx *c, uint32_t li)
{
	struct slot *l = &c->slots[li];
	struct ftoe_sock_info info;

	for (;;) {
		int es, i;

		if (!c->nfree) {
			l->accept_blocked = c->accept_blocked = true;
			return;
		}
		es = ftoe_sock_accept(c->a->eng, l->esock);
		if (es < 0)
			break;
		i = slot_alloc(c, SLOT_CONN, es);
		if (i < 0 || own(c->a, es, c, (uint32_t)i)) {
			if (i >= 0)
				slot_free(c, (uint32_t)i);
			ftoe_sock_abort(c->a->eng, es);
			continue;
		}
		slot_attach(c, (uint32_t)i);
		memset(&info, 0, sizeof(info));
		ftoe_sock_info(c->a->eng, es, &info);
		shm_sock(c, (uint32_t)i)->flags = APPIF_SF_CONNECTED;
		shm_sock(c, (uint32_t)i)->local_port = info.local_port;
		set_peer6(shm_sock(c, (uint32_t)i), &info);
		post(c, APPIF_EV_ACCEPT, handle_of(c, (uint32_t)i), info.remote_port,
		     handle_of(c, li), info.ip_version == 6 ? 0 : info.remote_ip, 0);
		/* data may have arrived before the accept */
		pump_rx(c, (uint32_t)i);
	}
	l->accept_blocked = false;
}

/* ---- orphans: closed connections outliving their application ------------- */

static void orphan_free(struct appif *a, struct orphan *o)
{
	for (struct orphan **p = &a->orphans; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			break;
		}
	if ((uint32_t)o->esock < a->nconns && a->conns[o->esock].orph == o)
		a->conns[o->esock].orph = NULL;
	free(o->buf);
	free(o);
}

/* Feed the held bytes to the engine; once all are in, close (a FIN after
 * them, RFC 9293 3.10.4; the engine resets instead if received data is
 * unread, RFC 2525 2.17) and forget the orphan. */
static void orphan_pump(struct appif *a, struct orphan *o)
{
	while (o->off < o->len) {
		ssize_t r = ftoe_sock_send(a->eng, o->esock, o->buf + o->off, o->len - o->off);

		if (r == -EAGAIN || r == -ENOTCONN || r == 0)
			return;	/* wait for FTOE_EV_TX / FTOE_EV_CONNECTED */
		if (r < 0) {
			/* nothing more can go out: release the socket */
			ftoe_sock_close(a->eng, o->esock);
			orphan_free(a, o);
			return;
		}
		o->off += (uint32_t)r;
	}
	ftoe_sock_close(a->eng, o->esock);
	orphan_free(a, o);
}

static void orphan_event(struct appif *a, struct orphan *o, uint32_t events)
{
	if (events & (FTOE_EV_ERROR | FTOE_EV_CLOSED)) {
		/* reset, timed out, or over: the rest cannot be delivered */
		ftoe_sock_close(a->eng, o->esock);
		orphan_free(a, o);
		return;
	}
	if (events & (FTOE_EV_TX | FTOE_EV_CONNECTED))
		orphan_pump(a, o);
}

/* Slot i was closed by its application, which is now exiting with bytes
 * still in the shared tx ring (pump_tx could not place them all): copy
 * them out of the shared memory, which is about to be unmapped, and let
 * an orphan send them.  0, or -errno (then the caller resets). */
static int orphan_adopt(struct appif *a, struct appif_ctx *c, uint32_t i)
{
	struct slot *s = &c->slots[i];
	struct appif_sock *ss = shm_sock(c, i);
	uint32_t size = c->buf_size, avail, off, first;
	struct orphan *o;

	if (s->attached)
		return -EINVAL;	/* pump_tx gave the engine all it could take */
	avail = LOAD_ACQ(&ss->tx_head) - s->tx_tail;
	if (!avail || avail > size || s->esock < 0 || (uint32_t)s->esock >= a->nconns)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->buf = malloc(avail);
	if (!o->buf) {
		free(o);
		return -ENOMEM;
	}
	off = s->tx_tail & (size - 1);
	first = avail < size - off ? avail : size - off;
	memcpy(o->buf, shm_tx(c, i) + off, first);
	memcpy(o->buf + first, shm_tx(c, i), avail - first);
	o->esock = s->esock;
	o->len = avail;
	o->next = a->orphans;
	a->orphans = o;
	slot_free(c, i);	/* the slot lets go of esock ... */
	a->conns[o->esock].orph = o;	/* ... and the orphan takes it */
	return 0;
}

static void on_event(void *arg, int esock, uint32_t events)
{
	struct appif *a = arg;
	struct owner *o = owner_of(a, esock);
	struct appif_ctx *c;
	struct slot *s;
	uint32_t i;

	if (!o) {
		if (esock >= 0 && esock < FTOE_SOCK_LISTENER && (uint32_t)esock < a->nconns &&
		    a->conns[esock].orph)
			orphan_event(a, a->conns[esock].orph, events);
		return;
	}
	c = o->c;
	i = o->idx;
	s = &c->slots[i];
	if (s->kind == SLOT_LISTEN) {
		if (events & FTOE_EV_ACCEPT)
			accept_all(c, i);
		return;
	}
	if (s->spliced)
		return;
	if (events & FTOE_EV_CONNECTED) {
		__atomic_or_fetch(&shm_sock(c, i)->flags, APPIF_SF_CONNECTED, __ATOMIC_RELEASE);
		post(c, APPIF_EV_CONNECTED, handle_of(c, i), 0, 0, 0, 0);
		pump_tx(c, i);
		if (c->slots[i].kind != SLOT_CONN)
			return;
	}
	if (events & (FTOE_EV_RX | FTOE_EV_ERROR | FTOE_EV_CLOSED))
		pump_rx(c, i);
	if ((events & FTOE_EV_ERROR) && !s->failed) {
		int err = ftoe_sock_error(a->eng, esock);

		s->failed = true;
		shm_sock(c, i)->err = err ? err : -ECONNRESET;
		__atomic_or_fetch(&shm_sock(c, i)->flags, APPIF_SF_ERROR, __ATOMIC_RELEASE);
		post(c, APPIF_EV_ERROR, handle_of(c, i), err ? err : -ECONNRESET, 0, 0, 0);
	}
	if (events & FTOE_EV_CLOSED) {
		__atomic_or_fetch(&shm_sock(c, i)->flags, APPIF_SF_CLOSED, __ATOMIC_RELEASE);
		post(c, APPIF_EV_CLOSED, handle_of(c, i), 0, 0, 0, 0);
	}
	if ((events & (FTOE_EV_TX | FTOE_EV_ERROR | FTOE_EV_CLOSED)) && s->kind == SLOT_CONN)
		pump_tx(c, i);
}

int appif_create(struct ftoe_engine *eng, struct appif **out)
{
	struct appif *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->eng = eng;
	ftoe_sock_set_callback(eng, on_event, a);
	*out = a;
	return 0;
}

void appif_destroy(struct appif *a)
{
	if (!a)
		return;
	while (a->ctxs)
		appif_ctx_remove(a, a->ctxs);
	/* the engine stops: bytes orphans still hold cannot be delivered */
	while (a->orphans) {
		ftoe_sock_abort(a->eng, a->orphans->esock);
		orphan_free(a, a->orphans);
	}
	ftoe_sock_set_callback(a->eng, NULL, NULL);
	ftoe_splicer_destroy(a->splicer);
	free(a->conns);
	free(a);
}

int appif_ctx_add(struct appif *a, void *shm, uint32_t max_socks, uint32_t buf_size,
		  const struct appif_peer *peer, void (*notify)(void *arg, uint64_t groups),
		  void *arg,
		  struct appif_ctx **out)
{
	struct appif_ctx *c = calloc(1, sizeof(*c));
	struct appif_shm_hdr *h = shm;
	int err;

	if (!c)
		return -ENOMEM;
	err = appif_layout(max_socks, buf_size, &c->l);
	if (err) {
		free(c);
		return err;
	}
	c->slots = calloc(max_socks, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return -ENOMEM;
	}
	c->a = a;
	c->shm = shm;
	c->max_socks = c->nfree = max_socks;
	c->buf_size = buf_size;
	c->pid = peer->pid;
	c->uid = peer->uid;
	c->unpriv_port_start = peer->unpriv_port_start;
	c->notify = notify;
	c->notify_arg = arg;
	h->magic = APPIF_MAGIC;
	h->version = APPIF_VERSION;
	h->max_socks = max_socks;
	h->buf_size = buf_size;
	h->cmd_entries = c->l.cmd_entries;
	h->ev_entries = c->l.ev_entries;
	c->id = ++a->last_ctx_id;
	h->ctx_id = c->id;
	/* the sockets' rings become the connections' buffers (slot_attach) */
	c->region = ftoe_sock_region_add(a->eng, c->shm + c->l.bufs);
	if (c->region < 0)
		pr_warn("application pid %d: its sockets copy through the engine's buffers: %s",
			c->pid, strerror(-c->region));
	/* what a POSIX library needs to tell the engine's sockets from the
	 * kernel's (lib/posix) */
	h->local_ip = a->eng->cfg.ip_be;
	h->prefix_len = a->eng->cfg.prefix_len;
	h->gateway = a->eng->cfg.gateway_be;
	memcpy(h->local_ip6, a->eng->cfg.ip6, 16);
	h->prefix6_len = a->eng->cfg.prefix6_len;
	h->unpriv_port_start = c->unpriv_port_start;	/* lib/posix refuses bind() early */
	snprintf(h->cc_name, sizeof(h->cc_name), "%s", ftoe_cc_name(a->eng->cfg.cc));
	c->next = a->ctxs;
	a->ctxs = c;
	*out = c;
	return 0;
}

void appif_ctx_remove(struct appif *a, struct appif_ctx *c)
{
	unsigned int nconn = 0, ndrain = 0;

	for (struct appif_ctx **p = &a->ctxs; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	for (uint32_t i = 0; i < c->max_socks; i++) {
		struct slot *s = &c->slots[i];

		if (s->kind == SLOT_CONN && s->spliced) {
			/* the splice outlives its application */
			if (s->esock >= 0 && a->splicer)
				ftoe_splicer_release(a->splicer, s->esock);
		} else if (s->kind == SLOT_LISTEN) {
			ftoe_sock_close(a->eng, s->esock);
		} else if (s->kind == SLOT_CONN && s->closing && !s->failed &&
			   LOAD_ACQ(&shm_sock(c, i)->rx_tail) == s->rx_head) {
			/* Closed before the exit: its bytes are still delivered
			 * and a FIN follows, as after close(); exit() on Linux.
			 * (Unread data at close is a reset, RFC 2525 2.17.) */
			pump_tx(c, i);
			if (s->kind != SLOT_CONN)
				continue;	/* drained: finish_close() closed it */
			if (orphan_adopt(a, c, i)) {
				ftoe_sock_abort(a->eng, s->esock);
				nconn++;
				slot_free(c, i);
			} else {
				ndrain++;
			}
			continue;	/* the slot is free now */
		} else if (s->kind == SLOT_CONN) {
			/* the application died: its peers get a RST */
			ftoe_sock_abort(a->eng, s->esock);
			nconn++;
		} else {
			continue;
		}
		slot_free(c, i);
	}
	if (nconn)
		pr_info("application pid %d gone: reset %u connection%s", c->pid, nconn,
			nconn == 1 ? "" : "s");
	if (ndrain)
		pr_info("application pid %d gone: %u closed connection%s still sending", c->pid,
			ndrain, ndrain == 1 ? "" : "s");
	ftoe_sock_region_remove(a->eng, c->region);
	if (c->refused)
		pr_info("application pid %d uid %u gone: %llu command%s named no socket of its "
			"own and were refused", c->pid, c->uid, (unsigned long long)c->refused,
			c->refused == 1 ? "" : "s");
	free(c->slots);
	free(c);
}

uint64_t appif_ctx_refused(const struct appif_ctx *c)
{
	return c->refused;
}

/* Is the engine socket behind slot i context c's own?  A handle only
 * names a slot of the context that sends it, and a slot's engine socket
 * was recorded as that slot's (own()) when the engine made it; this holds
 * the two together, so no command can reach another context's socket
 * whatever a bug elsewhere does to the slots. */
static bool slot_owned(struct appif_ctx *c, uint32_t i)
{
	const struct slot *s = &c->slots[i];
	const struct owner *o;

	if (s->esock < 0)
		return true;	/* a splice ended: no engine socket is left */
	o = owner_of(c->a, s->esock);
	return o && o->c == c && o->idx == i;
}

/* A handle from the app: its slot if live and its own, else NULL (the
 * command is refused: counted, logged once per context). */
static struct slot *slot_of(struct appif_ctx *c, uint32_t h, uint32_t *idx)
{
	uint32_t i = appif_handle_idx(h);

	if (i >= c->max_socks || c->slots[i].kind == SLOT_FREE || c->slots[i].gen != (h >> 16) ||
	    !slot_owned(c, i)) {
		if (!c->refused++)
			pr_info("application pid %d uid %u: a command named handle %#x, not a "
				"socket of its own: refused (EBADF); further refusals are counted",
				c->pid, c->uid, h);
		return NULL;
	}
	*idx = i;
	return &c->slots[i];
}

/* Ports below ip_unprivileged_port_start need CAP_NET_BIND_SERVICE, as
 * Linux's bind() (inet_port_requires_bind_service): 0 or -EACCES. */
static int port_allowed(struct appif_ctx *c, uint32_t port, const char *what)
{
	if (port >= c->unpriv_port_start)
		return 0;
	if (!c->told_port)
		pr_info("application pid %d uid %u: %s port %u refused: ports below %u need "
			"CAP_NET_BIND_SERVICE", c->pid, c->uid, what, port, c->unpriv_port_start);
	c->told_port = true;
	return -EACCES;
}

/* Contexts share a port only when their applications are the same user,
 * as SO_REUSEPORT on Linux (inet_csk_bind_conflict), so that no user
 * takes a share of another's connections: 0 or -EADDRINUSE. */
static int share_allowed(struct appif_ctx *c, uint16_t port)
{
	struct appif *a = c->a;

	for (size_t li = 0; li < sizeof(a->lis) / sizeof(a->lis[0]); li++) {
		const struct owner *o = &a->lis[li];

		if (!o->c || o->c->uid == c->uid || o->c->slots[o->idx].kind != SLOT_LISTEN ||
		    o->c->slots[o->idx].lport != port)
			continue;
		if (!c->told_port)
			pr_info("application pid %d uid %u: shared listen on port %u refused: "
				"uid %u listens there", c->pid, c->uid, port, o->c->uid);
		c->told_port = true;
		return -EADDRINUSE;
	}
	return 0;
}

/* A listener on a port several contexts share: the engine gives a SYN to
 * the context the rx-pre classify program named (by this id). */
static int listen_shared(struct appif_ctx *c, uint16_t port, unsigned backlog)
{
	int idx = ftoe_conn_listen_shared(c->a->eng, port, backlog, c->id);

	return idx < 0 ? idx : FTOE_SOCK_LISTENER + idx;
}

_Static_assert(APPIF_LISTEN_V4 == FTOE_LISTEN_V4 && APPIF_LISTEN_V6 == FTOE_LISTEN_V6,
	       "appif listen families are the engine's");

static void do_listen(struct appif_ctx *c, const struct appif_cmd *cmd)
{
	int es, i, err;

	if (!cmd->arg0 || cmd->arg0 > 65535) {
		post(c, APPIF_EV_RESULT, 0, -EINVAL, 0, 0, cmd->req);
		return;
	}
	err = port_allowed(c, cmd->arg0, "listen");
	if (!err && cmd->op == APPIF_OP_LISTEN_SHARED)
		err = share_allowed(c, (uint16_t)cmd->arg0);
	if (err) {
		post(c, APPIF_EV_RESULT, 0, err, 0, 0, cmd->req);
		return;
	}
	if (!c->nfree) {
		post(c, APPIF_EV_RESULT, 0, -EMFILE, 0, 0, cmd->req);
		return;
	}
	if (cmd->op == APPIF_OP_LISTEN_SHARED)
		es = listen_shared(c, (uint16_t)cmd->arg0, cmd->arg1 ? cmd->arg1 : 128);
	else
		es = ftoe_sock_listen_fams(c->a->eng, (uint16_t)cmd->arg0,
					   cmd->arg1 ? cmd->arg1 : 128, cmd->_r);
	if (es >= 0 && cmd->_r && cmd->op == APPIF_OP_LISTEN_SHARED) {
		err = ftoe_sock_listen_families(c->a->eng, es, cmd->_r);
		if (err) {
			ftoe_sock_close(c->a->eng, es);
			es = err;
		}
	}
	if (es < 0) {
		post(c, APPIF_EV_RESULT, 0, es, 0, 0, cmd->req);
		return;
	}
	i = slot_alloc(c, SLOT_LISTEN, es);
	c->slots[i].lport = (uint16_t)cmd->arg0;
	shm_sock(c, (uint32_t)i)->local_port = cmd->arg0;
	err = own(c->a, es, c, (uint32_t)i);
	if (err) {
		slot_free(c, (uint32_t)i);
		ftoe_sock_close(c->a->eng, es);
		post(c, APPIF_EV_RESULT, 0, err, 0, 0, cmd->req);
		return;
	}
	post(c, APPIF_EV_RESULT, handle_of(c, (uint32_t)i), (int32_t)handle_of(c, (uint32_t)i),
	     0, 0, cmd->req);
	accept_all(c, (uint32_t)i);
}

static void do_connect(struct appif_ctx *c, const struct appif_cmd *cmd)
{
	bool v6 = cmd->op == APPIF_OP_CONNECT6;
	uint16_t port = (uint16_t)(v6 ? cmd->handle : cmd->arg1);
	uint8_t a6[16];
	int es, i, err;

	if (v6 ? !cmd->handle || cmd->handle > 65535 :
		 !cmd->arg1 || cmd->arg1 > 65535 || !cmd->arg0) {
		post(c, APPIF_EV_RESULT, 0, -EINVAL, 0, 0, cmd->req);
		return;
	}
	appif_cmd_addr6(cmd, a6);
	err = cmd->_r ? port_allowed(c, cmd->_r, "connect from") : 0;
	if (err) {
		post(c, APPIF_EV_RESULT, 0, err, 0, 0, cmd->req);
		return;
	}
	if (!c->nfree) {
		post(c, APPIF_EV_RESULT, 0, -EMFILE, 0, 0, cmd->req);
		return;
	}
	/* _r: a local port the application bound (0: ephemeral) */
	if (v6)
		es = ftoe_sock_connect6(c->a->eng, cmd->_r, a6, port);
	else if (cmd->_r)
		es = ftoe_sock_connect_from(c->a->eng, cmd->_r, cmd->arg0, port);
	else
		es = ftoe_sock_connect(c->a->eng, cmd->arg0, port);
	if (es < 0) {
		post(c, APPIF_EV_RESULT, 0, es, 0, 0, cmd->req);
		return;
	}
	i = slot_alloc(c, SLOT_CONN, es);
	{
		struct ftoe_sock_info info;

		if (!ftoe_sock_info(c->a->eng, es, &info)) {
			shm_sock(c, (uint32_t)i)->local_port = info.local_port;
			set_peer6(shm_sock(c, (uint32_t)i), &info);
		}
	}
	err = own(c->a, es, c, (uint32_t)i);
	if (err) {
		slot_free(c, (uint32_t)i);
		ftoe_sock_abort(c->a->eng, es);
		post(c, APPIF_EV_RESULT, 0, err, 0, 0, cmd->req);
		return;
	}
	slot_attach(c, (uint32_t)i);
	post(c, APPIF_EV_RESULT, handle_of(c, (uint32_t)i), (int32_t)handle_of(c, (uint32_t)i),
	     0, 0, cmd->req);
}

/* Splice two of the context's connections (core/control/splice.c): the
 * shared rings must be drained too, or their bytes would be stranded. */
static void do_splice(struct appif_ctx *c, const struct appif_cmd *cmd)
{
	struct slot *sa, *sb;
	uint32_t ia = 0, ib = 0;
	char err[256] = "";
	int ret;

	sa = slot_of(c, cmd->handle, &ia);
	sb = slot_of(c, cmd->arg0, &ib);
	if (!sa || !sb || sa->kind != SLOT_CONN || sb->kind != SLOT_CONN || sa->closing ||
	    sb->closing) {
		ret = -EBADF;
		snprintf(err, sizeof(err), "not two open connections");
	} else if (sa->spliced || sb->spliced) {
		ret = -EALREADY;
		snprintf(err, sizeof(err), "a connection is spliced already");
	} else if (!c->a->splicer) {
		ret = -ENOENT;
		snprintf(err, sizeof(err), "this engine has no splice support");
	} else if (sa->failed || sb->failed || sa->eof || sb->eof) {
		ret = -ENOTCONN;
		snprintf(err, sizeof(err), "a connection has ended");
	} else if (LOAD_ACQ(&shm_sock(c, ia)->tx_head) != sa->tx_tail ||
		   LOAD_ACQ(&shm_sock(c, ib)->tx_head) != sb->tx_tail ||
		   LOAD_ACQ(&shm_sock(c, ia)->rx_tail) != sa->rx_head ||
		   LOAD_ACQ(&shm_sock(c, ib)->rx_tail) != sb->rx_head) {
		ret = -EAGAIN;
		snprintf(err, sizeof(err), "unsent or unread bytes in the shared rings");
	} else {
		/* the splice program relays on the engine's state alone */
		slot_detach(c, ia);
		slot_detach(c, ib);
		ret = ftoe_splicer_splice(c->a->splicer, sa->esock, sb->esock, err, sizeof(err));
	}
	if (!ret) {
		sa->spliced = sb->spliced = true;
		pr_info("application pid %d: connections %d and %d spliced", c->pid, sa->esock,
			sb->esock);
	} else if (ret == -EAGAIN) {
		pr_debug("application pid %d: splice not yet: %s", c->pid, err);
	} else {
		pr_warn("application pid %d: splice refused: %s", c->pid, err);
	}
	post(c, APPIF_EV_RESULT, 0, ret, 0, 0, cmd->req);
}

/* Linux's numbering of TCP states (include/net/tcp_states.h), which
 * struct tcp_info reports. */
static uint32_t linux_state(int st)
{
	static const uint8_t map[] = {
		[TCP_S_CLOSED] = 7, [TCP_S_SYN_SENT] = 2, [TCP_S_SYN_RCVD] = 3,
		[TCP_S_ESTABLISHED] = 1, [TCP_S_FIN_WAIT_1] = 4, [TCP_S_FIN_WAIT_2] = 5,
		[TCP_S_CLOSE_WAIT] = 8, [TCP_S_CLOSING] = 11, [TCP_S_LAST_ACK] = 9,
		[TCP_S_TIME_WAIT] = 6,
	};

	return st >= 0 && (size_t)st < sizeof(map) ? map[st] : 7;
}

/* The socket's protocol state into its info block (TCP_INFO). */
static void do_info(struct appif_ctx *c, const struct appif_cmd *cmd)
{
	struct ftoe_sock_info fi;
	struct appif_tcp_info *ti;
	struct slot *s;
	uint32_t i;
	int ret;

	s = slot_of(c, cmd->handle, &i);
	if (!s || s->kind != SLOT_CONN || s->spliced || s->esock < 0) {
		post(c, APPIF_EV_RESULT, 0, s ? -ENOTCONN : -EBADF, 0, 0, cmd->req);
		return;
	}
	ti = &shm_sock(c, i)->info;
	memset(ti, 0, sizeof(*ti));
	ret = ftoe_sock_info(c->a->eng, s->esock, &fi);
	if (!ret) {
		ti->state = linux_state(fi.state);
		ti->srtt_us = fi.srtt_us;
		ti->rttvar_us = fi.rttvar_us;
		ti->rto_us = fi.rto_us;
		ti->snd_mss = fi.snd_mss;
		/* a rate-based controller has no window: report what the rate
		 * carries in one RTT, as segments */
		if (fi.cwnd)
			ti->snd_cwnd = fi.snd_mss ? fi.cwnd / fi.snd_mss : 0;
		else if (fi.snd_mss)
			ti->snd_cwnd = (uint32_t)((uint64_t)fi.rate_kbps * 125 * fi.srtt_us /
						  1000000 / fi.snd_mss);
		if (!ti->snd_cwnd)
			ti->snd_cwnd = 10;	/* unpaced: RFC 6928 initial window */
		ti->retransmits = fi.retransmits;
		ti->snd_wscale = fi.snd_wscale;
		ti->rcv_wscale = fi.rcv_wscale;
		ti->ts = fi.ts;
		ti->ecn = fi.ecn;
		ti->snd_wnd = fi.snd_wnd;
		ti->rcv_wnd = fi.rcv_wnd;
		ti->bytes_acked = fi.bytes_acked;
		ti->bytes_received = fi.bytes_received;
		ti->unacked = fi.tx_queued;
	}
	post(c, APPIF_EV_RESULT, 0, ret, 0, 0, cmd->req);
}

/* A command on a spliced socket: only closing it means anything. */
static void spliced_cmd(struct appif_ctx *c, struct slot *s, uint32_t i, const struct appif_cmd *cmd)
{
	if (cmd->op != APPIF_OP_CLOSE && cmd->op != APPIF_OP_ABORT)
		return;
	if (s->esock >= 0 && c->a->splicer)
		ftoe_splicer_release(c->a->splicer, s->esock);
	slot_free(c, i);
}

static void do_cmd(struct appif_ctx *c, const struct appif_cmd *cmd)
{
	struct slot *s;
	uint32_t i;

	if (cmd->op == APPIF_OP_LISTEN || cmd->op == APPIF_OP_LISTEN_SHARED)
		return do_listen(c, cmd);
	if (cmd->op == APPIF_OP_CONNECT || cmd->op == APPIF_OP_CONNECT6)
		return do_connect(c, cmd);
	if (cmd->op == APPIF_OP_SPLICE)
		return do_splice(c, cmd);
	if (cmd->op == APPIF_OP_INFO)
		return do_info(c, cmd);
	s = slot_of(c, cmd->handle, &i);
	if (!s) {
		/* not a socket of this context: one it closed, or a forged
		 * handle; answered when the command asked for an answer */
		if (cmd->req)
			post(c, APPIF_EV_RESULT, 0, -EBADF, 0, 0, cmd->req);
		return;
	}
	if (s->closing)
		return;	/* a socket the app already closed: nothing to do */
	if (s->spliced)
		return spliced_cmd(c, s, i, cmd);
	switch (cmd->op) {
	case APPIF_OP_CLOSE:
		if (s->kind == SLOT_LISTEN) {
			ftoe_sock_close(c->a->eng, s->esock);
			slot_free(c, i);
			break;
		}
		s->closing = true;
		pump_tx(c, i);
		break;
	case APPIF_OP_ABORT:
		if (s->kind == SLOT_CONN)
			ftoe_sock_abort(c->a->eng, s->esock);
		else
			ftoe_sock_close(c->a->eng, s->esock);
		slot_free(c, i);
		break;
	case APPIF_OP_SHUTDOWN:
		if (s->kind != SLOT_CONN)
			break;
		if (cmd->arg0 & FTOE_SHUT_WR)
			s->shut_wr = true;
		pump_tx(c, i);
		break;
	case APPIF_OP_TX:
		__atomic_store_n(&shm_sock(c, i)->tx_bell, 0, __ATOMIC_SEQ_CST);
		if (s->kind == SLOT_CONN)
			pump_tx(c, i);
		break;
	case APPIF_OP_RXDONE:
		__atomic_store_n(&shm_sock(c, i)->rx_bell, 0, __ATOMIC_SEQ_CST);
		if (s->kind == SLOT_CONN)
			pump_rx(c, i);
		break;
	default:
		break;
	}
}

unsigned int appif_ctx_poll(struct appif *a, struct appif_ctx *c)
{
	struct appif_ring *r = (struct appif_ring *)(c->shm + c->l.cmd_ring);
	unsigned int n = 0;

	(void)a;
	for (;;) {
		uint32_t head = LOAD_ACQ(&r->head);
		struct appif_cmd cmd;

		if (head == c->cmd_tail || head - c->cmd_tail > c->l.cmd_entries)
			break;
		/* copy first: the app may scribble on the entry meanwhile */
		memcpy(&cmd, (struct appif_cmd *)(c->shm + c->l.cmd) +
		       (c->cmd_tail & (c->l.cmd_entries - 1)), sizeof(cmd));
		STORE_REL(&r->tail, ++c->cmd_tail);
		do_cmd(c, &cmd);
		n++;
	}
	if (c->accept_blocked && c->nfree) {
		c->accept_blocked = false;
		for (uint32_t i = 0; i < c->max_socks; i++)
			if (c->slots[i].kind == SLOT_LISTEN && c->slots[i].accept_blocked)
				accept_all(c, i);
	}
	return n;
}

void appif_flush(struct appif *a)
{
	for (struct appif_ctx *c = a->ctxs; c; c = c->next)
		if (c->dirty) {
			uint64_t groups = c->wake;

			c->dirty = false;
			c->wake = 0;
			c->notify(c->notify_arg, groups);
		}
}

/* ---- splicing ------------------------------------------------------------- */

int appif_splice_enable(struct appif *a, const struct ftoe_splice_map_ops *ops)
{
	if (a->splicer)
		return -EEXIST;
	return ftoe_splicer_create(a->eng, ops, &a->splicer);
}

/* A splice ended: the application's socket reads end of stream (and the
 * error of a RST); the engine socket is gone, so the slot lets go of it. */
static void splice_done(void *arg, int esock, int err, const struct ftoe_splice_counts *cnt)
{
	struct appif *a = arg;
	struct owner *o = owner_of(a, esock);
	struct appif_sock *ss;
	struct appif_ctx *c;
	uint32_t i;

	if (!o)
		return;
	c = o->c;
	i = o->idx;
	o->c = NULL;
	c->slots[i].esock = -1;
	c->slots[i].eof = true;
	ss = shm_sock(c, i);
	ss->splice_from_peer_bytes = cnt->from_peer_bytes;
	ss->splice_to_peer_bytes = cnt->to_peer_bytes;
	ss->splice_from_peer_segs = (uint32_t)cnt->from_peer_segs;
	ss->splice_to_peer_segs = (uint32_t)cnt->to_peer_segs;
	__atomic_or_fetch(&ss->flags, APPIF_SF_SPLICE_END, __ATOMIC_RELEASE);
	if (err) {
		c->slots[i].failed = true;
		ss->err = err;
		__atomic_or_fetch(&ss->flags, APPIF_SF_ERROR, __ATOMIC_RELEASE);
		post(c, APPIF_EV_ERROR, handle_of(c, i), err, 0, 0, 0);
	}
	__atomic_or_fetch(&ss->flags, APPIF_SF_EOF | APPIF_SF_CLOSED, __ATOMIC_RELEASE);
	post_once(c, i, &ss->rx_ev, APPIF_EV_RX);
	post(c, APPIF_EV_CLOSED, handle_of(c, i), 0, 0, 0, 0);
}

unsigned int appif_splice_poll(struct appif *a)
{
	unsigned int n;

	if (!a->splicer || !ftoe_splicer_count(a->splicer))
		return 0;
	n = ftoe_splicer_poll(a->splicer, splice_done, a);
	if (n)
		pr_info("%u splice%s ended; %u in effect", n, n == 1 ? "" : "s",
			ftoe_splicer_count(a->splicer));
	return n;
}

unsigned int appif_splice_count(struct appif *a)
{
	return a->splicer ? ftoe_splicer_count(a->splicer) : 0;
}

int appif_owner(const struct appif *a, uint32_t sock, int lis, uint32_t *ctx_id, int *pid)
{
	const struct owner *o;

	if (lis >= 0)
		o = (size_t)lis < sizeof(a->lis) / sizeof(a->lis[0]) ? &a->lis[lis] : NULL;
	else
		o = sock < a->nconns ? &a->conns[sock] : NULL;
	if (!o || !o->c)
		return -ENOENT;
	*ctx_id = o->c->id;
	*pid = o->c->pid;
	return 0;
}
