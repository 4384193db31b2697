/* world.c - the simulator's functional run: a peer engine and the NIC's engine, the NIC's frames through the NFP stages in a randomised context order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/nfp/sim/hook.h"
#include "core/nfp/sim/world.h"
#include "core/pipeline.h"

#define PORT 7000
#define MAX_BATCH 256

struct app_conn {
	int c, a;               /* client (peer) and server (NIC) sockets */
	uint64_t sent, rcvd;    /* client: requests sent, responses read */
	uint64_t srv_in, srv_out; /* server: bytes read, bytes echoed */
	uint8_t srv_buf[4096];
	unsigned srv_len;
};

static void log_put(struct sim_bytelog *l, const void *p, size_t n)
{
	if (l->len + n > l->cap) {
		size_t cap = l->cap ? l->cap : 1 << 16;

		while (cap < l->len + n)
			cap *= 2;
		uint8_t *np = realloc(l->p, cap);

		if (!np) {
			fprintf(stderr, "flextoe-nfpsim: out of memory for the byte logs\n");
			exit(1);
		}
		l->p = np;
		l->cap = cap;
	}
	memcpy(l->p + l->len, p, n);
	l->len += n;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* TCP payload bytes of an Ethernet/IPv4/TCP frame. */
static unsigned payload_len(const uint8_t *f, uint16_t len)
{
	unsigned ihl, tot, doff;

	if (len < 54 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	ihl = (f[14] & 0xfu) * 4u;
	tot = (unsigned)f[16] << 8 | f[17];
	doff = (f[14 + ihl + 12] >> 4) * 4u;
	return tot >= ihl + doff ? tot - ihl - doff : 0;
}

/* Every frame the NIC puts on the wire (the MAC's tx). */
static bool nic_tap(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	struct sim_world *w = (struct sim_world *)((char *)s->w - offsetof(struct sim_world, lb));
	unsigned pl = payload_len(frame, *len);

	log_put(&w->wire, len, sizeof(*len));
	log_put(&w->wire, frame, *len);
	w->nic_tx_frames++;
	if (pl) {
		w->nic_tx_data++;
		w->nic_tx_payload += pl;
	}
	return true;
}

/* Protocol and post-processing of items already in sequence order: the
 * protocol ME of each item's flow group, then post-processing; what needs
 * the control plane goes to the host over the slow-path interface (the
 * drain).  The same run boundaries as ftoe_engine_rx_items (core/engine.c). */
static void nfp_stages(struct sim_world *w, struct ftoe_engine *e, struct ftoe_rx_item *items,
		       unsigned n)
{
	unsigned done;

	if (!n)
		return;
	/* a batch may mix flow groups: each item's state is fetched by its
	 * own group's protocol ME (nfp_fpc_proto) */
	nfp_cur_acct = &w->st[SIM_ST_PROTO].acct;
	w->st[SIM_ST_PROTO].items += n;
	nfp_fpc_proto(w->proto, w->cfg.flow_groups, e, items, n);
	nfp_cur_acct = NULL;
	if (e->cfg.hooks) /* as core/engine.c: rx-post programs, on the post-processing ME
			   * (their cost: hook.c, from the instructions they ran) */
		ftoe_proto_rx_post_hook(e, items, n);
	nfp_cur_acct = &w->st[SIM_ST_POST].acct;
	w->st[SIM_ST_POST].items += n;
	done = nfp_fpc_post(e, items, n, 0);
	nfp_cur_acct = NULL;
	if (e->sp.n) {
		ftoe_sp_drain_from(e, &e->sp, 0);
		while (done < n) {
			nfp_cur_acct = &w->st[SIM_ST_POST].acct;
			done = nfp_fpc_post(e, items, n, done);
			nfp_cur_acct = NULL;
			ftoe_sp_drain(e, &e->sp);
		}
	}
}

static void nfp_rx_ordered(struct sim_world *w, struct ftoe_engine *e, struct ftoe_rx_item *items,
			   unsigned n)
{
	unsigned start = 0;

	eng_now(e);
	for (unsigned i = 0; i < n; i++) {
		nfp_cur_acct = &w->st[SIM_ST_PROTO].acct;
		bool fast = ftoe_preproc_claim(e, &items[i]);

		nfp_cur_acct = NULL;
		if (fast) {
			if (i + 1 - start == FTOE_RX_BATCH) {
				nfp_stages(w, e, items + start, i + 1 - start);
				start = i + 1;
			}
			continue;
		}
		nfp_stages(w, e, items + start, i - start);
		ftoe_preproc_divert(e, &items[i]);
		ftoe_sp_drain(e, &e->sp);
		start = i + 1;
	}
	nfp_stages(w, e, items + start, n - start);
	ftoe_sock_deliver_events(e);
}

/* A batch of frames from the wire into the NIC. */
static void nic_rx(struct sim_world *w, uint8_t (*fr)[1600], uint16_t *len, unsigned n)
{
	struct ftoe_engine *e = w->lb.s[1].eng;
	static struct ftoe_rx_item items[MAX_BATCH], ordered[MAX_BATCH];
	unsigned perm[MAX_BATCH], seq[MAX_BATCH];
	void *out[MAX_BATCH];

	w->nic_rx_frames += n;
	for (unsigned i = 0; i < n; i++)
		w->nic_rx_payload += payload_len(fr[i], len[i]);
	if (!w->cfg.nfp && w->cfg.hooks && ftoe_hooks_active(w->cfg.hooks->h, FLEXTOE_HOOK_RX_PRE)) {
		/* as core/x86/loop.c: rx-pre on every frame before the engine */
		unsigned k = 0;

		for (unsigned i = 0; i < n; i++) {
			if (sim_hooks_rx_pre(w->cfg.hooks, fr[i], &len[i], sizeof(fr[i])) != FTOE_XDP_PASS) {
				w->nic_rx_hook_drops++;
				continue;
			}
			if (k != i) {
				memcpy(fr[k], fr[i], len[i]);
				len[k] = len[i];
			}
			k++;
		}
		n = k;
	}
	if (!w->cfg.nfp) {
		/* the x86 engine's pipelined entry points (core/x86/pipe.c) */
		for (unsigned i = 0; i < n; i++)
			ftoe_engine_rx_prepare(e, fr[i], len[i], NULL, &items[i]);
		ftoe_engine_rx_items(e, 0, items, n);
		return;
	}
	/* The sequencer numbers the frames at ingress; pre-processing MEs
	 * finish them in whatever order their contexts run (a seeded
	 * shuffle); the reorder block releases them in sequence order. */
	for (unsigned i = 0; i < n; i++) {
		perm[i] = i;
		if (ftoe_rob_reserve(&w->rob, &seq[i]))
			abort(); /* cannot happen: MAX_BATCH < slots, all released below */
	}
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(rnd(&w->rng) % i), t = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = t;
	}
	unsigned got = 0, passed = 0;
	bool rx_pre = w->cfg.hooks && ftoe_hooks_active(w->cfg.hooks->h, FLEXTOE_HOOK_RX_PRE);

	for (unsigned k = 0; k < n; k++) {
		unsigned i = perm[k];

		nfp_cur_acct = &w->st[SIM_ST_PRE].acct;
		w->st[SIM_ST_PRE].items++;
		/* rx-pre runs on the pre-processing ME, before the stage; a
		 * frame it does not pass retires its number */
		if (rx_pre && sim_hooks_rx_pre(w->cfg.hooks, fr[i], &len[i], sizeof(fr[i])) !=
				      FTOE_XDP_PASS) {
			nfp_cur_acct = NULL;
			w->nic_rx_hook_drops++;
			if (ftoe_rob_retire(&w->rob, seq[i]))
				abort();
		} else {
			nfp_fpc_pre(&w->pre[rnd(&w->rng) % NFP_PRE_MES_PER_FG], e, fr[i], len[i],
				    &items[i]);
			nfp_cur_acct = NULL;
			if (ftoe_rob_complete(&w->rob, seq[i], &items[i]))
				abort();
			if (w->cfg.no_reorder) /* the injected fault: completion order */
				ordered[passed] = items[i];
			passed++;
		}
		/* whatever the reorder block can release goes on now */
		unsigned r = ftoe_rob_release(&w->rob, out, MAX_BATCH);

		if (!w->cfg.no_reorder)
			for (unsigned j = 0; j < r; j++)
				ordered[got + j] = *(struct ftoe_rx_item *)out[j];
		got += r;
	}
	if (got != passed)
		abort();
	nfp_rx_ordered(w, e, ordered, passed);
}

/* Deliver what is due from side i to the other. */
static unsigned deliver(struct sim_world *w, int i)
{
	struct lb_queue *q = &w->lb.s[i].out;
	static uint8_t fr[MAX_BATCH][1600];
	uint16_t len[MAX_BATCH];
	unsigned n = 0, total = 0;

	for (;;) {
		n = 0;
		while (q->len && q->p[q->head].at <= w->lb.now && n < MAX_BATCH) {
			memcpy(fr[n], q->p[q->head].data, q->p[q->head].len);
			len[n] = q->p[q->head].len;
			q->head = (q->head + 1) % q->cap;
			q->len--;
			n++;
		}
		if (!n)
			return total;
		total += n;
		if (i == 0) {
			nic_rx(w, fr, len, n);
		} else {
			for (unsigned k = 0; k < n; k++) {
				void *f[1] = { fr[k] };

				ftoe_engine_rx(w->lb.s[0].eng, 0, f, &len[k], 1);
			}
		}
	}
}

static void req_bytes(uint8_t *b, unsigned n, unsigned conn, uint64_t k)
{
	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(conn * 31 + k * 7 + i);
}

/* The applications: returns true when the traffic is done; *moved: they
 * accepted, sent or read something.  That is a wake-up of its own: a
 * client that reads a response may send its next request only on the
 * next call, and the run must not skip ahead to an engine deadline (a
 * delayed ACK, the RTO) before it has made that call. */
static bool apps(struct sim_world *w, struct app_conn *ac, int lsock, bool *moved)
{
	struct ftoe_engine *cli = w->lb.s[0].eng, *srv = w->lb.s[1].eng;
	const struct sim_world_cfg *c = &w->cfg;
	uint8_t buf[16384];
	bool done = true;

	for (unsigned i = 0; i < c->conns; i++) {
		struct app_conn *a = &ac[i];
		ssize_t r;

		if (a->a < 0) {
			a->a = ftoe_sock_accept(srv, lsock);
			*moved |= a->a >= 0;
			/* the i-th accepted connection, not necessarily client
			 * i's: each echo goes back on the connection its
			 * request came in on, and both runs accept in the same
			 * order, so the logs compare */
		}
		if (c->traffic == SIM_RPC) {
			uint64_t per = c->rpcs / c->conns + (i < c->rpcs % c->conns);

			while (a->sent < per && a->sent - a->rcvd / c->rpc_size < c->rpc_window) {
				req_bytes(buf, c->rpc_size, i, a->sent);
				r = ftoe_sock_send(cli, a->c, buf, c->rpc_size);
				if (r != (ssize_t)c->rpc_size)
					break; /* a partial send cannot happen: ring much larger */
				a->sent++;
				*moved = true;
			}
			if (a->a >= 0) {
				while ((r = ftoe_sock_recv(srv, a->a, a->srv_buf + a->srv_len,
							   sizeof(a->srv_buf) - a->srv_len)) > 0) {
					log_put(&w->app, &i, sizeof(i));
					log_put(&w->app, a->srv_buf + a->srv_len, (size_t)r);
					a->srv_len += (unsigned)r;
					a->srv_in += (uint64_t)r;
					*moved = true;
				}
				/* echo whole requests */
				unsigned whole = a->srv_len / c->rpc_size * c->rpc_size;

				if (whole) {
					r = ftoe_sock_send(srv, a->a, a->srv_buf, whole);
					if (r > 0) {
						memmove(a->srv_buf, a->srv_buf + r, a->srv_len - (unsigned)r);
						a->srv_len -= (unsigned)r;
						a->srv_out += (uint64_t)r;
						*moved = true;
					}
				}
			}
			while ((r = ftoe_sock_recv(cli, a->c, buf, sizeof(buf))) > 0) {
				log_put(&w->app, &i, sizeof(i));
				log_put(&w->app, buf, (size_t)r);
				a->rcvd += (uint64_t)r;
				*moved = true;
			}
			if (a->rcvd < per * c->rpc_size)
				done = false;
		} else {
			while (a->sent < c->bulk_bytes) {
				uint64_t left = c->bulk_bytes - a->sent;
				unsigned n = left < sizeof(buf) ? (unsigned)left : (unsigned)sizeof(buf);

				req_bytes(buf, n, i, a->sent);
				r = ftoe_sock_send(cli, a->c, buf, n);
				if (r <= 0)
					break;
				a->sent += (uint64_t)r;
				*moved = true;
			}
			if (a->a >= 0)
				while ((r = ftoe_sock_recv(srv, a->a, buf, sizeof(buf))) > 0) {
					log_put(&w->app, &i, sizeof(i));
					log_put(&w->app, buf, (size_t)r);
					a->srv_in += (uint64_t)r;
					*moved = true;
				}
			if (a->srv_in < c->bulk_bytes)
				done = false;
		}
	}
	return done;
}

int sim_world_run(struct sim_world *w, const struct sim_world_cfg *cfg)
{
	struct ftoe_engine_cfg ca, cb;
	struct app_conn *ac;
	uint64_t start, limit = 60ull * 1000000000;
	int lsock, rc = 0;

	memset(w, 0, sizeof(*w));
	w->cfg = *cfg;
	if (!w->cfg.flow_groups || w->cfg.flow_groups > NFP_FLOW_GROUPS)
		w->cfg.flow_groups = NFP_FLOW_GROUPS;
	w->rng = cfg->sched_seed * 0x9e3779b97f4a7c15ull + 7;
	if (ftoe_rob_init(&w->rob, w->rob_slots, 512))
		return -EINVAL;
	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	/* (the engine's own minimum RTO: the loop below wakes on the
	 * applications' progress, so no timer has to) */
	ca.max_flows = cb.max_flows = 4096;
	ca.max_conns = cb.max_conns = cfg->conns + 8;
	ca.rx_buf_size = cb.rx_buf_size = cfg->traffic == SIM_BULK ? 64 * 1024 : 16 * 1024;
	ca.tx_buf_size = cb.tx_buf_size = cfg->traffic == SIM_BULK ? 64 * 1024 : 16 * 1024;
	if (cfg->hooks) {
		cb.hooks = cfg->hooks->h;
		sim_hooks_reset(cfg->hooks);
	}
	lb_init(&w->lb, 1, &ca, &cb);
	w->lb.lat_ns = 2000;
	w->lb.s[1].tap = nic_tap;
	w->lb.s[0].f.drop = cfg->loss_pct;
	ac = calloc(cfg->conns, sizeof(*ac));
	if (!ac) {
		lb_fini(&w->lb);
		return -ENOMEM;
	}
	lsock = ftoe_sock_listen(w->lb.s[1].eng, PORT, cfg->conns + 8);
	for (unsigned i = 0; i < cfg->conns; i++) {
		ac[i].a = -1;
		ac[i].c = ftoe_sock_connect(w->lb.s[0].eng, __builtin_bswap32(LB_IP_B), PORT);
		if (lsock < 0 || ac[i].c < 0) {
			fprintf(stderr, "flextoe-nfpsim: cannot open connection %u (%d, %d)\n", i,
				lsock, ac[i].c);
			rc = -ENOSPC;
			goto out;
		}
	}
	start = w->lb.now;
	/* lb_run's loop (tests/unit/core/engine_link.c) with the NIC's
	 * deliveries through nic_rx */
	for (;;) {
		uint64_t d[2], next = UINT64_MAX;
		unsigned moved;
		bool app_moved = false;

		if (apps(w, ac, lsock, &app_moved))
			break;
		moved = deliver(w, 0) + deliver(w, 1) + app_moved;
		d[0] = ftoe_engine_poll(w->lb.s[0].eng, 0);
		d[1] = ftoe_engine_poll(w->lb.s[1].eng, 0);
		if (moved || d[0] == 0 || d[1] == 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (d[i] != UINT64_MAX && w->lb.now + d[i] < next)
				next = w->lb.now + d[i];
			if (w->lb.s[i].out.len && w->lb.s[i].out.p[w->lb.s[i].out.head].at < next)
				next = w->lb.s[i].out.p[w->lb.s[i].out.head].at;
		}
		if (next == UINT64_MAX || next - start > limit) {
			fprintf(stderr, "flextoe-nfpsim: the exchange stalled after %llu ns of virtual time\n",
				(unsigned long long)(w->lb.now - start));
			rc = -ETIMEDOUT;
			break;
		}
		w->lb.now = next > w->lb.now ? next : w->lb.now + 1;
	}
	w->vtime_ns = w->lb.now - start;
	w->peer_tx_frames = w->lb.s[0].sent;
	for (unsigned i = 0; i < cfg->conns; i++) {
		w->done_rpcs += ac[i].rcvd / (cfg->rpc_size ? cfg->rpc_size : 1);
		w->done_bytes += ac[i].srv_in;
	}
out:
	free(ac);
	lb_fini(&w->lb);
	return rc;
}

void sim_world_free(struct sim_world *w)
{
	free(w->wire.p);
	free(w->app.p);
	w->wire.p = w->app.p = NULL;
}
