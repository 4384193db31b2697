/* splice.c - connection splicing in the control plane: checks, offsets, map entries, silent flows, release after the program's teardown. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/conn.h"
#include "core/control/splice.h"
#include "core/engine_internal.h"
#include "core/hooks.h"
#include "core/pipeline.h"
#include "core/socket.h"
#include "core/tcp_seq.h"

/*
 * After AccelTCP (NSDI 2019, section 4.2): the application asks for two
 * of its established connections to be joined; the control plane checks
 * that neither has bytes in flight that only the engine could still
 * deliver (so nothing is lost when the engine stops speaking TCP on
 * them), computes the rewrite for each direction from the TCP state it
 * owns, installs both entries in the splice program's map, and turns the
 * two flows silent: no timers, not scheduled, state CLOSED so that
 * pre-processing diverts any straggler to the slow path, where
 * FLOW_CONN_SPLICED makes conn.c drop it without an answer.  The flows
 * stay allocated (their 4-tuples reserved) until the program deletes the
 * entries after FIN/FIN/ACK or a RST; ftoe_splicer_poll notices that,
 * frees them and tells the application.
 */

struct splice_pair {
	int32_t sock[2];	/* engine sockets (flow ids); -1: slot free */
	bool held[2];		/* the application still holds the socket */
	bool ipv6;		/* keys and entries in splice_flows6/splice_ends6 */
	union splice_any_key {
		struct splice_key k4;
		struct splice_key6 k6;
	} key[2];		/* key[i]: segments arriving on sock[i] */
};

/* Either family's entry, for lookups that only ask whether it is there. */
union splice_any_entry {
	struct splice_entry v4;
	struct splice_entry6 v6;
};

struct ftoe_splicer {
	struct ftoe_engine *e;
	struct ftoe_splice_map_ops ops;
	struct splice_pair *pairs;
	uint32_t npairs, cap, live;
};

int ftoe_splicer_create(struct ftoe_engine *e, const struct ftoe_splice_map_ops *ops,
			struct ftoe_splicer **out)
{
	struct ftoe_splicer *sp = calloc(1, sizeof(*sp));

	if (!sp)
		return -ENOMEM;
	sp->e = e;
	sp->ops = *ops;
	*out = sp;
	return 0;
}

void ftoe_splicer_destroy(struct ftoe_splicer *sp)
{
	if (!sp)
		return;
	free(sp->pairs);
	free(sp);
}

unsigned int ftoe_splicer_count(const struct ftoe_splicer *sp)
{
	return sp->live;
}

static struct splice_pair *pair_of(struct ftoe_splicer *sp, int sock, int *side)
{
	for (uint32_t i = 0; i < sp->npairs && sock >= 0; i++)
		for (int s = 0; s < 2 && sp->pairs[i].sock[0] >= 0; s++)
			if (sp->pairs[i].sock[s] == sock) {
				if (side)
					*side = s;
				return &sp->pairs[i];
			}
	return NULL;
}

bool ftoe_splicer_is_spliced(struct ftoe_splicer *sp, int sock)
{
	return pair_of(sp, sock, NULL) != NULL;
}

/* The maps of a pair's family. */
static enum ftoe_splice_map flows_map(const struct splice_pair *p)
{
	return p->ipv6 ? FTOE_SPLICE_FLOWS6 : FTOE_SPLICE_FLOWS;
}

static enum ftoe_splice_map ends_map(const struct splice_pair *p)
{
	return p->ipv6 ? FTOE_SPLICE_ENDS6 : FTOE_SPLICE_ENDS;
}

void ftoe_splice_entry(const struct ftoe_splice_side *in, const struct ftoe_splice_side *out,
		       struct splice_key *k, struct splice_entry *v)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	k->saddr = __builtin_bswap32(in->remote_ip);
	k->daddr = __builtin_bswap32(in->local_ip);
	k->sport = __builtin_bswap16(in->remote_port);
	k->dport = __builtin_bswap16(in->local_port);
	memcpy(v->eth_src, out->local_mac, 6);
	memcpy(v->eth_dst, out->remote_mac, 6);
	v->saddr = __builtin_bswap32(out->local_ip);
	v->daddr = __builtin_bswap32(out->remote_ip);
	v->sport = __builtin_bswap16(out->local_port);
	v->dport = __builtin_bswap16(out->remote_port);
	/* The next byte in's peer sends (in.rcv_nxt) becomes the next byte
	 * out's peer expects from us (out.snd_nxt); the next byte in's peer
	 * expects (in.snd_nxt) is what out's peer will send next. */
	v->seq_off = out->snd_nxt - in->rcv_nxt;
	v->ack_off = out->rcv_nxt - in->snd_nxt;
	/* RFC 7323 5.3 (PAWS): out's peer holds our TSval as TS.Recent, so
	 * in's peer's clock is moved to continue ours; echoes move back
	 * the way the other direction moved them. */
	v->tsval_off = out->ts_now - in->ts_recent;
	v->tsecr_off = out->ts_recent - in->ts_now;
	v->in_wscale = in->snd_wscale;
	v->out_wscale = out->rcv_wscale;
	if (in->ts && out->ts)
		v->flags |= SPLICE_F_TS;
	if (!out->ecn)
		v->flags |= SPLICE_F_STRIP_ECN;
	if (in->sack)
		v->flags |= SPLICE_F_SACK;
	v->engine_id = in->flow_id;
}

/* The offsets are the IPv4 entry's: struct splice_entry6 repeats struct
 * splice_entry from sport on (include/flextoe/splice.h). */
void ftoe_splice_entry6(const struct ftoe_splice_side *in, const struct ftoe_splice_side *out,
			struct splice_key6 *k, struct splice_entry6 *v)
{
	struct splice_key k4;
	struct splice_entry v4;

	_Static_assert(sizeof(struct splice_entry) - offsetof(struct splice_entry, sport) ==
		       sizeof(struct splice_entry6) - offsetof(struct splice_entry6, sport),
		       "splice_entry6 repeats splice_entry from sport on");
	ftoe_splice_entry(in, out, &k4, &v4);
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	memcpy(k->saddr, in->remote_ip6, 16);
	memcpy(k->daddr, in->local_ip6, 16);
	k->sport = k4.sport;
	k->dport = k4.dport;
	memcpy(v->eth_src, v4.eth_src, 6);
	memcpy(v->eth_dst, v4.eth_dst, 6);
	memcpy(v->saddr, out->local_ip6, 16);
	memcpy(v->daddr, out->remote_ip6, 16);
	memcpy(&v->sport, &v4.sport, sizeof(v4) - offsetof(struct splice_entry, sport));
}

static void side_of(struct ftoe_engine *e, uint32_t id, struct ftoe_splice_side *s)
{
	const struct flow_conn *fc = &e->conn[id];
	const struct flow_tcp *t = &e->tcp[id];
	bool ws = t->flags & FLOW_TCP_WSCALE;

	memset(s, 0, sizeof(*s));
	memcpy(s->local_mac, fc->local_mac, 6);
	memcpy(s->remote_mac, fc->remote_mac, 6);
	s->local_ip = fc->local_ip;
	s->remote_ip = fc->remote_ip;
	if (fc->flags & FLOW_CONN_IPV6) {
		s->ipv6 = true;
		flow_addr16(fc->local_hi, fc->local_ip, s->local_ip6);
		flow_addr16(fc->remote_hi, fc->remote_ip, s->remote_ip6);
	}
	s->local_port = fc->local_port;
	s->remote_port = fc->remote_port;
	s->snd_nxt = t->snd_nxt;
	s->rcv_nxt = t->rcv_nxt;
	s->ts_now = ftoe_proto_ts_now(e, id);
	s->ts_recent = t->ts_recent;
	s->snd_wscale = ws ? t->snd_wscale : 0;
	s->rcv_wscale = ws ? t->rcv_wscale : 0;
	s->ts = t->flags & FLOW_TCP_TS;
	s->ecn = t->flags & FLOW_TCP_ECN;
	s->sack = t->flags & FLOW_TCP_SACK;
	s->flow_id = id;
}

/* Why connection id cannot be spliced now, or 0. */
static int check_conn(struct ftoe_splicer *sp, int sock, char *err, size_t esz)
{
	struct ftoe_engine *e = sp->e;
	const struct flow_ctl *c;
	const struct flow_tcp *t;
	const struct flow_mem *m;
	uint16_t mss;

	if (sock < 0 || (uint32_t)sock >= e->nflows || !e->ctl[sock].in_use ||
	    !(e->ctl[sock].flags & (CTL_F_ACCEPTED | CTL_F_ACTIVE)) ||
	    (e->mem[sock].flags & FLOW_MEM_CLOSED)) {
		snprintf(err, esz, "socket %d is not a connection", sock);
		return -EBADF;
	}
	if (ftoe_splicer_is_spliced(sp, sock)) {
		snprintf(err, esz, "connection %d is already spliced", sock);
		return -EALREADY;
	}
	c = &e->ctl[sock];
	t = &e->tcp[sock];
	m = &e->mem[sock];
	if (c->state != TCP_S_ESTABLISHED || (m->flags & FLOW_MEM_SHUT_WR)) {
		snprintf(err, esz, "connection %d is not established (or is shutting down)", sock);
		return -ENOTCONN;
	}
	/* Bytes only the engine could still deliver or retransmit would be
	 * lost once it stops speaking TCP on the flow. */
	if (m->tx_head != m->tx_tail || t->snd_una != t->snd_nxt ||
	    seq_before(t->snd_nxt, t->snd_max)) {
		snprintf(err, esz, "connection %d has unacknowledged data (%u bytes): retry when "
			 "the peer has acknowledged it", sock, m->tx_head - m->tx_tail);
		return -EAGAIN;
	}
	if (m->rx_head != m->rx_tail || ftoe_ooo_held(&t->ooo)) {
		snprintf(err, esz, "connection %d has received data the application has not read "
			 "(%u bytes%s): read it first", sock, m->rx_head - m->rx_tail,
			 ftoe_ooo_held(&t->ooo) ? ", and out-of-order data" : "");
		return -EAGAIN;
	}
	if (t->flags & FLOW_TCP_FIN_RX) {
		snprintf(err, esz, "connection %d: the peer has closed its side", sock);
		return -ENOTCONN;
	}
	/* Each peer may send segments as large as the MSS the engine
	 * announced (20 bytes less over IPv6: the larger header); the other
	 * peer must accept them whole. */
	mss = (uint16_t)(e->mss_max - ((e->conn[sock].flags & FLOW_CONN_IPV6) ? 20 : 0));
	if (c->peer_mss && c->peer_mss < mss) {
		snprintf(err, esz, "connection %d: its peer's MSS %u is below the engine's %u, so "
			 "segments from the other peer could not be relayed whole", sock,
			 c->peer_mss, mss);
		return -EMSGSIZE;
	}
	return 0;
}

/* The flow stops speaking TCP (see the top of the file). */
static void go_silent(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];

	for (int t = 0; t < FTOE_T__MAX; t++)
		c->timer[t] = 0;
	ftoe_sched_remove(e, id);
	c->state = TCP_S_CLOSED;
	c->events = 0;
	e->conn[id].flags |= FLOW_CONN_SPLICED;
}

static struct splice_pair *pair_new(struct ftoe_splicer *sp)
{
	for (uint32_t i = 0; i < sp->npairs; i++)
		if (sp->pairs[i].sock[0] < 0)
			return &sp->pairs[i];
	if (sp->npairs == sp->cap) {
		uint32_t cap = sp->cap ? sp->cap * 2 : 16;
		struct splice_pair *p = realloc(sp->pairs, cap * sizeof(*p));

		if (!p)
			return NULL;
		sp->pairs = p;
		sp->cap = cap;
	}
	sp->pairs[sp->npairs].sock[0] = sp->pairs[sp->npairs].sock[1] = -1;
	return &sp->pairs[sp->npairs++];
}

int ftoe_splicer_splice(struct ftoe_splicer *sp, int a, int b, char *err, size_t esz)
{
	struct ftoe_engine *e = sp->e;
	struct ftoe_splice_side sa, sb;
	union splice_any_entry va, vb;
	union splice_any_key ka, kb;
	struct splice_pair *p;
	bool v6;
	int ret;

	if (a == b) {
		snprintf(err, esz, "cannot splice a connection to itself");
		return -EINVAL;
	}
	ret = check_conn(sp, a, err, esz);
	if (!ret)
		ret = check_conn(sp, b, err, esz);
	if (ret)
		return ret;
	v6 = e->conn[a].flags & FLOW_CONN_IPV6;
	if (v6 != !!(e->conn[b].flags & FLOW_CONN_IPV6)) {
		/* The program rewrites addresses in place: the IP header
		 * cannot change family. */
		snprintf(err, esz, "connection %d is IPv%d and %d is IPv%d: both must be of one "
			 "family", a, v6 ? 6 : 4, b, v6 ? 4 : 6);
		return -EOPNOTSUPP;
	}
	if (!(e->tcp[a].flags & FLOW_TCP_TS) != !(e->tcp[b].flags & FLOW_TCP_TS)) {
		/* RFC 7323 3.2: once negotiated, every segment carries the
		 * option; the program does not add or remove options. */
		snprintf(err, esz, "timestamps are on for one connection only: the program cannot "
			 "add or remove the option");
		return -EOPNOTSUPP;
	}
	eng_now(e);
	/* A delayed ACK goes out now: then each peer has everything it sent
	 * acknowledged, and nothing to retransmit into the splice. */
	if (e->ctl[a].timer[FTOE_T_DELACK] || e->tcp[a].rcv_unacked)
		ftoe_postproc_send_ack(e, (uint32_t)a);
	if (e->ctl[b].timer[FTOE_T_DELACK] || e->tcp[b].rcv_unacked)
		ftoe_postproc_send_ack(e, (uint32_t)b);
	side_of(e, (uint32_t)a, &sa);
	side_of(e, (uint32_t)b, &sb);
	if (v6) {
		ftoe_splice_entry6(&sa, &sb, &ka.k6, &va.v6);
		ftoe_splice_entry6(&sb, &sa, &kb.k6, &vb.v6);
	} else {
		ftoe_splice_entry(&sa, &sb, &ka.k4, &va.v4);
		ftoe_splice_entry(&sb, &sa, &kb.k4, &vb.v4);
	}
	p = pair_new(sp);
	if (!p) {
		snprintf(err, esz, "out of memory");
		return -ENOMEM;
	}
	p->sock[0] = p->sock[1] = -1;	/* free until both entries are in */
	p->ipv6 = v6;
	ret = sp->ops.update(sp->ops.ctx, flows_map(p), &ka, &va);
	if (!ret) {
		ret = sp->ops.update(sp->ops.ctx, flows_map(p), &kb, &vb);
		if (ret)
			sp->ops.remove(sp->ops.ctx, flows_map(p), &ka);
	}
	if (ret == -ENODEV || ret == -ENOENT) {
		snprintf(err, esz, "no splice program%s is loaded at rx-pre (load it: flextoe-bpf "
			 "load --hook rx-pre splice.bpf.o)", v6 ? " with splice_flows6" : "");
		return -ENOENT;
	}
	if (ret) {
		snprintf(err, esz, "cannot install the splice entries: %s%s", strerror(-ret),
			 ret == -E2BIG || ret == -ENOSPC ?
			 (v6 ? " (splice_flows6 is full)" : " (splice_flows is full)") : "");
		return ret == -E2BIG ? -ENOSPC : ret;
	}
	/* stale endings of earlier connections with these 4-tuples */
	sp->ops.remove(sp->ops.ctx, ends_map(p), &ka);
	sp->ops.remove(sp->ops.ctx, ends_map(p), &kb);
	go_silent(e, (uint32_t)a);
	go_silent(e, (uint32_t)b);
	p->sock[0] = a;
	p->sock[1] = b;
	p->held[0] = p->held[1] = true;
	p->key[0] = ka;
	p->key[1] = kb;
	sp->live++;
	return 0;
}

void ftoe_splicer_release(struct ftoe_splicer *sp, int sock)
{
	int side;
	struct splice_pair *p = pair_of(sp, sock, &side);

	if (p)
		p->held[side] = false;
}

/* How the splice p ended: 0 (FINs both ways), -ECONNRESET or
 * -ECONNABORTED (entries gone without a recorded ending). */
static int ending(struct ftoe_splicer *sp, const struct splice_pair *p, struct splice_end end[2])
{
	int err = 0;

	for (int s = 0; s < 2; s++) {
		if (sp->ops.lookup(sp->ops.ctx, ends_map(p), &p->key[s], &end[s]))
			memset(&end[s], 0, sizeof(end[s]));
		else
			sp->ops.remove(sp->ops.ctx, ends_map(p), &p->key[s]);
	}
	if ((end[0].state | end[1].state) & SPLICE_ST_RST)
		err = -ECONNRESET;
	else if (!((end[0].state & SPLICE_ST_FIN_ACKED) && (end[1].state & SPLICE_ST_FIN_ACKED)))
		err = -ECONNABORTED;
	return err;
}

unsigned int ftoe_splicer_poll(struct ftoe_splicer *sp, ftoe_splice_done_fn done, void *arg)
{
	struct ftoe_engine *e = sp->e;
	unsigned int ended = 0;

	for (uint32_t i = 0; i < sp->npairs; i++) {
		struct splice_pair *p = &sp->pairs[i];
		struct splice_end end[2];
		union splice_any_entry v;
		int r0, r1, err;

		if (p->sock[0] < 0)
			continue;
		r0 = sp->ops.lookup(sp->ops.ctx, flows_map(p), &p->key[0], &v);
		r1 = sp->ops.lookup(sp->ops.ctx, flows_map(p), &p->key[1], &v);
		if (!r0 && !r1)
			continue;
		memset(end, 0, sizeof(end));
		if (r0 == -ENODEV || r1 == -ENODEV) {
			err = -ECONNABORTED;	/* the program was unloaded */
		} else {
			/* one may linger if a frame raced the deletion */
			sp->ops.remove(sp->ops.ctx, flows_map(p), &p->key[0]);
			sp->ops.remove(sp->ops.ctx, flows_map(p), &p->key[1]);
			err = ending(sp, p, end);
		}
		for (int s = 0; s < 2; s++) {
			uint32_t id = (uint32_t)p->sock[s];
			/* key[s]'s entry relayed what sock[s]'s peer sent */
			struct ftoe_splice_counts cnt = {
				.from_peer_bytes = end[s].bytes, .to_peer_bytes = end[1 - s].bytes,
				.from_peer_segs = end[s].packets, .to_peer_segs = end[1 - s].packets,
			};

			e->conn[id].flags &= (uint16_t)~FLOW_CONN_SPLICED;
			ftoe_conn_free(e, id);
			if (p->held[s] && done)
				done(arg, p->sock[s], err, &cnt);
		}
		p->sock[0] = p->sock[1] = -1;
		sp->live--;
		ended++;
	}
	return ended;
}

void ftoe_splice_late_rx(struct ftoe_engine *e, const struct ftoe_rx_item *it)
{
	struct ftoe_hook_frame hf;

	if (!e->cfg.hooks || !ftoe_hooks_active(e->cfg.hooks, FLEXTOE_HOOK_RX_PRE))
		return;
	memset(&hf, 0, sizeof(hf));
	/* The chain runs on a copy (the backend's execution buffer); hf.data
	 * then points at the result, the received frame is left as it is. */
	hf.data = (uint8_t *)(uintptr_t)it->frame;
	hf.len = (uint32_t)it->seg.payload_off + it->seg.payload_len;
	hf.md.size = sizeof(hf.md);
	hf.md.version = FLEXTOE_MD_VERSION;
	hf.md.hook = FLEXTOE_HOOK_RX_PRE;
	hf.md.dir = FLEXTOE_DIR_RX;
	hf.md.tstamp_ns = e->now;
	if (ftoe_hooks_run(e->cfg.hooks, FLEXTOE_HOOK_RX_PRE, &hf) != FTOE_XDP_TX)
		return;
	if (e->io.xmit(e->io.ctx, 0, hf.data, hf.len) == 0)
		e->st.splice_late_tx++;
}
