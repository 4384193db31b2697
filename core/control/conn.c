/* conn.c - control plane connections: passive open, handshake segments, SYN cookies, RST, teardown. */
#include <sched.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/hooks.h"

#include "core/control/cc.h"
#include "core/control/conn.h"
#include "core/control/conn_internal.h"
#include "core/control/splice.h"
#include "core/control/rx_md.h"
#include "core/control/martian.h"
#include "core/control/syn_table.h"
#include "core/control/time_wait.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/siphash.h"
#include "core/slowpath.h"
#include "core/tcp_seq.h"

#define TS_OPT_LEN     12
#define CHAL_ACK_PER_S 1000 /* RFC 5961 section 7 rate limit */

/* ---- helpers ------------------------------------------------------------ */

/* Keyed hash of a 4-tuple and two more words (ISNs, cookies, listener
 * choice); an IPv6 tuple's upper address bits go in too, so peers that
 * differ only there get unrelated values. */
static uint64_t tuple_hash(struct ftoe_engine *e, const struct ftoe_flow_key *k,
			   uint32_t x, uint32_t y)
{
	uint32_t w[11] = { k->laddr, k->raddr, (uint32_t)k->lport << 16 | k->rport, x, y,
			   k->lhi[0], k->lhi[1], k->lhi[2], k->rhi[0], k->rhi[1], k->rhi[2] };
	size_t n = ftoe_flow_key_is_v6(k) ? sizeof(w) : 5 * sizeof(w[0]);

	return ftoe_siphash(e->key, w, n, 2, 4);
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a 4 us clock. */
uint32_t ftoe_conn_isn(struct ftoe_engine *e, const struct ftoe_flow_key *k)
{
	return (uint32_t)tuple_hash(e, k, 0, 0) + (uint32_t)(e->now / 4000);
}

/* The largest MSS the engine announces and sends with: the MTU less the
 * IP and TCP headers (RFC 9293 3.7.1; 40 bytes of IPv6 header, RFC 8200
 * section 8.3). */
static uint16_t conn_mss_max(const struct ftoe_engine *e, bool v6)
{
	return (uint16_t)(e->mss_max - (v6 ? 20 : 0));
}

/* Our TSval offset for a connection with ISS iss (RFC 7323 5.4). */
uint32_t ftoe_conn_ts_offset(struct ftoe_engine *e, uint32_t iss)
{
	struct ftoe_flow_key k = { .laddr = iss };

	return (uint32_t)tuple_hash(e, &k, 1, 1);
}

static void challenge_ack(struct ftoe_engine *e, uint32_t id)
{
	uint64_t epoch = e->now / 1000000000ull;

	if (epoch != e->chal_epoch) {
		e->chal_epoch = epoch;
		e->chal_count = 0;
	}
	if (e->chal_count++ >= CHAL_ACK_PER_S)
		return;
	e->st.challenge_acks++;
	ftoe_postproc_send_ack(e, id);
}

/* The VLAN a received segment came on, as vlan_strip recorded it in the
 * rx-pre record the backend passed with the frame (it->md); untagged
 * without one.  Answers go back on it: a VLAN subinterface only sees its
 * own tag. */
static void rx_vlan(const struct ftoe_rx_item *it, struct ftoe_vlan *v)
{
	if (it->md)
		ftoe_vlan_from_md(it->md, v);
	else
		memset(v, 0, sizeof(*v));
}

/* The answer to received segment rx goes back where it came from: to its
 * source MAC, address and port, on its VLAN. */
static void rx_addr(struct ftoe_engine *e, const struct ftoe_rx_item *rx, struct ftoe_tx_addr *a)
{
	struct ftoe_flow_key k;
	struct ftoe_vlan v;

	ftoe_seg_flow_key(&rx->seg, &k);
	rx_vlan(rx, &v);
	ftoe_tx_addr_key(e, &k, rx->seg.eth_src, &v, a);
}

/* A flow's VLAN is conn state (docs/design.md section 3): tx.c tags its frames. */
void ftoe_conn_set_vlan(struct flow_conn *fc, const struct ftoe_vlan *v)
{
	fc->flags &= (uint16_t)~(FLOW_CONN_VLAN | FLOW_CONN_SVLAN);
	fc->vlan_tci = (v->flags & FTOE_VLAN_C) ? v->tci : 0;
	fc->svlan_tci = (v->flags & FTOE_VLAN_S) ? v->stci : 0;
	if (v->flags & FTOE_VLAN_C)
		fc->flags |= FLOW_CONN_VLAN;
	if (v->flags & FTOE_VLAN_S)
		fc->flags |= FLOW_CONN_SVLAN;
}

/* RFC 9293 3.10.7.1: answer a segment for no connection with a RST (on
 * the VLAN the segment came on). */
static void send_rst_for(struct ftoe_engine *e, const struct ftoe_rx_item *rx)
{
	const struct ftoe_seg *s = &rx->seg;
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	if (s->tcp_flags & FTOE_TCP_RST)
		return;
	memset(&it, 0, sizeof(it));
	rx_addr(e, rx, &a);
	it.flow = FTOE_NO_FLOW;
	if (s->tcp_flags & FTOE_TCP_ACK) {
		it.seq = s->ack;
		it.tcp_flags = FTOE_TCP_RST;
	} else {
		it.seq = 0;
		it.ack = s->seq + s->payload_len +
			 ((s->tcp_flags & FTOE_TCP_SYN) ? 1 : 0) +
			 ((s->tcp_flags & FTOE_TCP_FIN) ? 1 : 0);
		it.tcp_flags = FTOE_TCP_RST | FTOE_TCP_ACK;
	}
	ftoe_tx_send(e, &a, &it);
}

static void send_rst_flow(struct ftoe_engine *e, uint32_t id)
{
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	ftoe_proto_ack(e, id, &it);
	it.tcp_flags = FTOE_TCP_RST | FTOE_TCP_ACK;
	it.opts = 0;
	it.ecn = 0;
	it.win = 0;
	ftoe_tx_addr_flow(e, id, &a);
	ftoe_tx_send(e, &a, &it);
}

/* The application context the rx-pre classify program chose for this
 * segment (flextoe_md.app_ctx with FLEXTOE_MDF_CLASS, in the record the
 * backend passed with the frame, it->md).  0 or -ENOENT. */
static int rx_class(const struct ftoe_rx_item *it, uint32_t *cls)
{
	if (!it->md || !(it->md->flags & FLEXTOE_MDF_CLASS))
		return -ENOENT;
	*cls = it->md->app_ctx;
	return 0;
}

/* The listener a SYN (or the ACK of a SYN cookie) to s->dport goes to.
 * Several application contexts may share the port
 * (ftoe_conn_listen_shared): the context classify named gets it; without
 * a classification, or for a context that does not listen there, a hash
 * of the 4-tuple picks one (as SO_REUSEPORT does), so a flow's SYN and
 * its cookie ACK agree. */
static bool listener_takes(const struct ftoe_listener *l, const struct ftoe_seg *s)
{
	unsigned fam = s->family == 6 ? FTOE_LISTEN_V6 : FTOE_LISTEN_V4;

	return !l->families || (l->families & fam);
}

static int pick_listener(struct ftoe_engine *e, const struct ftoe_rx_item *it)
{
	const struct ftoe_seg *s = &it->seg;
	int cand[FTOE_MAX_LISTENERS], n = 0;
	uint32_t cls;

	/* a listener of another address family is no listener for this SYN
	 * (an AF_INET socket's listener must not accept IPv6 peers) */
	for (int i = 0; i < FTOE_MAX_LISTENERS; i++)
		if (e->lis[i].port && e->lis[i].port == s->dport &&
		    listener_takes(&e->lis[i], s))
			cand[n++] = i;
	if (n <= 1)
		return n ? cand[0] : -1;
	if (!rx_class(it, &cls))
		for (int k = 0; k < n; k++)
			if (e->lis[cand[k]].owner == cls)
				return cand[k];
	{
		struct ftoe_flow_key k;

		ftoe_seg_flow_key(s, &k);
		return cand[tuple_hash(e, &k, 0, 2) % (unsigned)n];
	}
}

/* ---- flow allocation ------------------------------------------------------ */

int ftoe_conn_flow_alloc(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *out)
{
	uint32_t laddr = key->laddr, raddr = key->raddr;
	uint16_t lport = key->lport, rport = key->rport;
	struct flow_ctl *c;
	uint32_t id;
	uint8_t evq;
	int err;

	if (!e->nfree)
		return -ENOSPC;
	id = e->free_ids[e->nfree - 1];
	err = ftoe_ft_insert(&e->ft, key, id);
	if (err)
		return err;
	e->nfree--;
	if (id >= e->hwm)
		e->hwm = id + 1;

	/* first: a hint to this slot from another flow group stops here */
	__atomic_store_n(&e->flow_tag[id],
			 ftoe_flow_tag(ftoe_flow_key_is_v6(key) ? 6 : 4, raddr, laddr, rport, lport),
			 __ATOMIC_RELEASE);
	c = &e->ctl[id];
	evq = c->flags & CTL_F_EVQ;
	memset(c, 0, sizeof(*c));
	c->flags = evq;
	c->in_use = 1;
	c->listener = -1;
	c->acceptq_next = FTOE_NO_FLOW;
	{
		struct ftoe_rto_cfg rc;

		ftoe_rto_cfg_default(&rc);
		rc.min_us = e->cfg.rto_min_us;
		if (rc.initial_us < rc.min_us)
			rc.initial_us = rc.min_us;
		ftoe_rto_init(&c->rto, &rc);
	}
	memset(&e->tcp[id], 0, sizeof(e->tcp[id]));
	memset(&e->cc[id], 0, sizeof(e->cc[id]));
	{
		struct flow_mem *m = &e->mem[id];

		flow_mem_own(e, id);	/* the last user may have left it attached */
		m->rx_head = m->rx_tail = m->tx_head = m->tx_tail = m->tx_sent = 0;
		m->rx_pos_off = m->tx_pos_off = 0;
		m->flags = 0;
		m->app_ctx = 0;
		m->app_opaque = 0;
	}
	{
		struct flow_sched *s = &e->sch[id];

		s->tokens = 0;
		s->t_refill = e->now;
		s->t_wait = 0;
	}
	{
		struct flow_conn *fc = &e->conn[id];

		memset(fc, 0, sizeof(*fc));
		memcpy(fc->local_mac, e->cfg.mac, 6);
		fc->local_ip = laddr;
		fc->remote_ip = raddr;
		fc->local_port = lport;
		fc->remote_port = rport;
		fc->flow_group = (uint16_t)((lport ^ rport ^ raddr) %
					    (e->cfg.nr_queues ? e->cfg.nr_queues : 1));
		fc->flags = FLOW_CONN_VALID;
		if (ftoe_flow_key_is_v6(key)) {
			fc->flags |= FLOW_CONN_IPV6;
			memcpy(fc->local_hi, key->lhi, sizeof(fc->local_hi));
			memcpy(fc->remote_hi, key->rhi, sizeof(fc->remote_hi));
		}
	}
	*out = id;
	return 0;
}

/* The flow of a received segment's 4-tuple (passive open). */
static int flow_alloc_seg(struct ftoe_engine *e, const struct ftoe_seg *s, uint32_t *out)
{
	struct ftoe_flow_key key;

	ftoe_seg_flow_key(s, &key);
	return ftoe_conn_flow_alloc(e, &key, out);
}

/* The slot's life ends: its generation moves on, so a payload placement
 * for it that has not begun writes nothing, and one in progress is waited
 * for, so none writes after this returns (engine_internal.h flow_gen has
 * why).  The wait is one segment's copy on a thread that takes no lock, so
 * it cannot wait for us; it yields the CPU in case that thread was
 * preempted mid-copy.  Rare: a placement of this very slot must be under
 * way. */
static void conn_gen_retire(struct ftoe_engine *e, uint32_t id)
{
	uint64_t v = __atomic_add_fetch(&e->flow_gen[id], FLOW_GEN_ONE, __ATOMIC_ACQ_REL);

	if (!(uint32_t)v)
		return;
	e->st.flow_free_waits++;
	do {
		sched_yield();
		v = __atomic_load_n(&e->flow_gen[id], __ATOMIC_ACQUIRE);
	} while ((uint32_t)v);
}

void ftoe_conn_free(struct ftoe_engine *e, uint32_t id)
{
	struct flow_conn *fc = &e->conn[id];
	struct flow_ctl *c = &e->ctl[id];
	struct ftoe_flow_key key;

	if (!c->in_use)
		return;
	__atomic_store_n(&e->flow_tag[id], 0, __ATOMIC_RELEASE);
	conn_gen_retire(e, id);
	flow_conn_key(fc, &key);
	ftoe_ft_remove(&e->ft, &key, NULL);
	ftoe_sched_remove(e, id);
	c->in_use = 0;
	c->state = TCP_S_CLOSED;
	c->events = 0;
	for (int t = 0; t < FTOE_T__MAX; t++)
		c->timer[t] = 0;
	fc->flags = 0;
	e->free_ids[e->nfree++] = id;
}

/* Remove a not-yet-accepted child from its listener's books. */
static void listener_detach(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	struct ftoe_listener *l;
	uint32_t prev = FTOE_NO_FLOW, cur;

	if (c->listener < 0 || (c->flags & CTL_F_ACCEPTED))
		return;
	l = &e->lis[c->listener];
	if (c->flags & CTL_F_IN_ACCEPTQ) {
		for (cur = l->q_head; cur != FTOE_NO_FLOW && cur != id;
		     cur = e->ctl[cur].acceptq_next)
			prev = cur;
		if (cur == id) {
			if (prev == FTOE_NO_FLOW)
				l->q_head = c->acceptq_next;
			else
				e->ctl[prev].acceptq_next = c->acceptq_next;
			if (l->q_tail == id)
				l->q_tail = prev;
			l->queued--;
		}
		c->flags &= ~CTL_F_IN_ACCEPTQ;
	} else if (c->state == TCP_S_SYN_RCVD) {
		l->pending--;
	}
	c->listener = -1;
}

static bool app_owned(const struct flow_ctl *c)
{
	return (c->flags & (CTL_F_ACCEPTED | CTL_F_ACTIVE)) != 0;
}

/* Reached CLOSED normally: free unless the application still holds it. */
static void conn_closed(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];

	c->state = TCP_S_CLOSED;
	for (int t = 0; t < FTOE_T__MAX; t++)
		c->timer[t] = 0;
	ftoe_sched_remove(e, id);
	if (!app_owned(c) || (e->mem[id].flags & FLOW_MEM_CLOSED)) {
		listener_detach(e, id);
		ftoe_conn_free(e, id);
		return;
	}
	ftoe_sock_notify(e, id, FTOE_EV_CLOSED | FTOE_EV_RX);
}

void ftoe_conn_reset(struct ftoe_engine *e, uint32_t id, int err, bool send_rst)
{
	struct flow_ctl *c = &e->ctl[id];

	if (!c->in_use)
		return;
	if (send_rst && (tcp_state_synced(c->state) || c->state == TCP_S_SYN_RCVD) &&
	    c->state != TCP_S_TIME_WAIT)
		send_rst_flow(e, id);
	if (c->state == TCP_S_SYN_SENT || c->state == TCP_S_SYN_RCVD)
		e->st.attempt_fails++;
	if (err == -ECONNRESET)
		e->st.conn_reset++;
	else if (err == -ETIMEDOUT)
		e->st.conn_timeout++;
	if (err)
		c->err = err;
	listener_detach(e, id);
	c->state = TCP_S_CLOSED;
	for (int t = 0; t < FTOE_T__MAX; t++)
		c->timer[t] = 0;
	ftoe_sched_remove(e, id);
	if (!app_owned(c) || (e->mem[id].flags & FLOW_MEM_CLOSED)) {
		ftoe_conn_free(e, id);
		return;
	}
	ftoe_sock_notify(e, id, (err ? FTOE_EV_ERROR : 0) | FTOE_EV_CLOSED | FTOE_EV_RX |
			 FTOE_EV_TX);
}

/* ---- handshake ------------------------------------------------------------ */

void ftoe_conn_send_syn(struct ftoe_engine *e, uint32_t id, bool synack)
{
	struct flow_tcp *t = &e->tcp[id];
	struct flow_ctl *c = &e->ctl[id];
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;
	uint32_t space = ftoe_proto_rx_space(e, id);

	memset(&it, 0, sizeof(it));
	it.flow = id;
	it.seq = c->iss;
	it.tcp_flags = FTOE_TCP_SYN;
	if (synack) {
		it.tcp_flags |= FTOE_TCP_ACK;
		it.ack = t->rcv_nxt;
		if (t->flags & FLOW_TCP_ECN)
			it.tcp_flags |= FTOE_TCP_ECE; /* RFC 3168 6.1.1 */
	} else if (c->flags & CTL_F_SYN_ECN) {
		it.tcp_flags |= FTOE_TCP_ECE | FTOE_TCP_CWR;
	}
	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	it.win = wscale_advertise_syn(space);
	t->rcv_adv = t->rcv_nxt + it.win;
	it.opts = FTOE_TX_O_SYN;
	it.mss = conn_mss_max(e, e->conn[id].flags & FLOW_CONN_IPV6);
	if (t->flags & FLOW_TCP_WSCALE) {
		it.opts |= FTOE_TX_O_WS;
		it.wscale = t->rcv_wscale;
	}
	if (t->flags & FLOW_TCP_TS) {
		it.opts |= FTOE_TX_O_TS;
		it.ts_val = ftoe_proto_ts_now(e, id);
		it.ts_ecr = synack ? t->ts_recent : 0;
	}
	/* RFC 2018 2: offered in our SYN, answered in the SYN-ACK only when
	 * the peer offered it (FLOW_TCP_SACK then records the agreement). */
	if (t->flags & FLOW_TCP_SACK)
		it.opts |= FTOE_TX_O_SACKP;
	it.retx = c->syn_tries > 0;
	ftoe_tx_addr_flow(e, id, &a);
	ftoe_tx_send(e, &a, &it);
	ftoe_timer_set(e, id, FTOE_T_TX, e->now + ftoe_rto_current(&c->rto) * 1000ull);
}

/* Send MSS from the peer's MSS option (RFC 9293 3.7.1, RFC 6691: the
 * option excludes TCP options, so subtract the timestamps we will send). */
static void set_mss(struct ftoe_engine *e, uint32_t id, uint16_t peer_mss)
{
	struct flow_tcp *t = &e->tcp[id];
	uint32_t mss = peer_mss ? peer_mss : CONN_DEFAULT_MSS;

	if (mss > conn_mss_max(e, e->conn[id].flags & FLOW_CONN_IPV6))
		mss = conn_mss_max(e, e->conn[id].flags & FLOW_CONN_IPV6);
	if (t->flags & FLOW_TCP_TS)
		mss -= TS_OPT_LEN;
	if (mss < 64)
		mss = 64;
	t->snd_mss = (uint16_t)mss;
	e->ctl[id].peer_mss = peer_mss;
	if (!t->rcv_mss)
		t->rcv_mss = (uint16_t)mss;
}

/* Common sequence state once both ISNs are known. */
static void set_seq(struct ftoe_engine *e, uint32_t id, uint32_t irs, uint16_t syn_win)
{
	struct flow_tcp *t = &e->tcp[id];
	struct flow_ctl *c = &e->ctl[id];

	c->irs = irs;
	t->rcv_nxt = irs + 1;
	t->rx_seq0 = irs + 1;
	t->rcv_adv = t->rcv_nxt;
	t->snd_wnd = syn_win;
	t->max_snd_wnd = syn_win;
	t->snd_wl1 = irs;
	t->snd_wl2 = c->iss;
}

static void become_established(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_tcp *t = &e->tcp[id];

	/* Handshake RTT, unless the SYN was retransmitted (Karn). */
	if (c->syn_tries == 0 && c->rtt_ns) {
		uint64_t us = (e->now - c->rtt_ns) / 1000;

		ftoe_rto_sample(&c->rto, us ? (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us) : 1,
				false);
		e->cc[id].rtt_us = ftoe_rto_srtt(&c->rto);
	}
	c->rtt_on = false;
	c->rtt_ns = 0;
	c->syn_tries = 0;
	c->timer[FTOE_T_TX] = 0;
	t->snd_una = c->iss + 1;
	if (seq_before(t->snd_nxt, t->snd_una))
		t->snd_nxt = t->snd_una;
	t->snd_recover = t->snd_una;
	t->cwr_end = t->snd_una;
	c->state = TCP_S_ESTABLISHED;
	ftoe_cc_init(e, id);

	if (c->flags & CTL_F_ACTIVE) {
		e->st.conn_active++;
		ftoe_sock_notify(e, id, FTOE_EV_CONNECTED | FTOE_EV_TX);
	} else if (c->listener >= 0) {
		struct ftoe_listener *l = &e->lis[c->listener];

		e->st.conn_passive++;
		l->pending--;
		c->flags |= CTL_F_IN_ACCEPTQ;
		c->acceptq_next = FTOE_NO_FLOW;
		if (l->q_tail == FTOE_NO_FLOW)
			l->q_head = id;
		else
			e->ctl[l->q_tail].acceptq_next = id;
		l->q_tail = id;
		l->queued++;
		ftoe_sock_notify_listener(e, (unsigned)c->listener, FTOE_EV_ACCEPT);
	}
	if (e->mem[id].flags & FLOW_MEM_SHUT_WR)
		ftoe_conn_shutdown_wr(e, id);
	ftoe_sched_activate(e, id);
}

/* Negotiate options from the peer's SYN into its half-open record
 * (RFC 7323 2.2, 3.2; RFC 2018 2; RFC 3168 6.1.1).  A cookie cannot
 * remember them, so a cookie handshake has none (send_cookie). */
static void negotiate(struct ftoe_engine *e, struct ftoe_syn_rec *r, const struct ftoe_seg *s)
{
	if (!(e->cfg.flags & FTOE_ENG_F_NO_WSCALE) && (s->opts & FTOE_OPT_WS)) {
		r->flags |= FTOE_SYN_F_WS;
		r->snd_wscale = wscale_clamp(s->wscale);
	}
	if (!(e->cfg.flags & FTOE_ENG_F_NO_TS) && (s->opts & FTOE_OPT_TS)) {
		r->flags |= FTOE_SYN_F_TS;
		r->ts_recent = s->ts_val;
	}
	/* RFC 2018 2: SACK is used when both SYNs carry SACK-permitted. */
	if (s->opts & FTOE_OPT_SACKP)
		r->flags |= FTOE_SYN_F_SACK;
	if (!(e->cfg.flags & FTOE_ENG_F_NO_ECN) &&
	    (s->tcp_flags & (FTOE_TCP_ECE | FTOE_TCP_CWR)) == (FTOE_TCP_ECE | FTOE_TCP_CWR))
		r->flags |= FTOE_SYN_F_ECN;
	r->peer_mss = (s->opts & FTOE_OPT_MSS) ? s->mss : 0;
	r->peer_win = s->win;
}

/* The connection of a half-open record whose handshake ACK arrived: the
 * flow slot and its buffers are taken only now (RFC 4987 3.3). */
static void syn_rec_apply(struct ftoe_engine *e, uint32_t id, const struct ftoe_syn_rec *r)
{
	struct flow_tcp *t = &e->tcp[id];
	struct flow_ctl *c = &e->ctl[id];
	struct flow_conn *fc = &e->conn[id];

	memcpy(fc->remote_mac, r->remote_mac, 6);
	ftoe_conn_set_vlan(fc, &r->vlan);
	c->state = TCP_S_SYN_RCVD;
	c->listener = r->listener;
	c->iss = r->iss;
	if (r->flags & FTOE_SYN_F_WS) {
		t->flags |= FLOW_TCP_WSCALE;
		t->snd_wscale = r->snd_wscale;
		t->rcv_wscale = e->rx_wscale;
	}
	if (r->flags & FTOE_SYN_F_TS) {
		t->flags |= FLOW_TCP_TS;
		t->ts_recent = r->ts_recent;
	}
	if (r->flags & FTOE_SYN_F_SACK)
		t->flags |= FLOW_TCP_SACK;
	if (r->flags & FTOE_SYN_F_ECN)
		t->flags |= FLOW_TCP_ECN;
	t->ts_off = r->ts_off;
	set_mss(e, id, r->peer_mss);
	set_seq(e, id, r->irs, r->peer_win);
	t->snd_una = c->iss;
	t->snd_nxt = t->snd_max = c->iss + 1;
	t->tx_seq0 = c->iss + 1;
	t->rcv_adv = t->rcv_nxt + wscale_advertise_syn(e->cfg.rx_buf_size);
	/* the handshake RTT from the first SYN-ACK (Karn: none if resent) */
	c->syn_tries = r->retries;
	c->rtt_ns = e->now - (uint64_t)((uint32_t)(e->now / 1000u) - r->t0_us) * 1000u;
}

/* ---- SYN cookies (RFC 4987 3.6) ------------------------------------------- */

static const uint16_t cookie_mss[8] = { 536, 1220, 1360, 1440, 1460, 4312, 8960, 9000 };

static uint32_t cookie_make(struct ftoe_engine *e, const struct ftoe_seg *s,
			    uint32_t t, uint32_t mi)
{
	struct ftoe_flow_key k;
	uint64_t h;

	ftoe_seg_flow_key(s, &k);
	h = tuple_hash(e, &k, s->seq, t << 3 | mi);

	/* top 5 bits: time (64 s ticks), 3 bits: MSS index, 24 bits: MAC */
	return (t & 0x1f) << 27 | mi << 24 | ((uint32_t)h & 0xffffff);
}

static uint32_t cookie_time(struct ftoe_engine *e)
{
	return (uint32_t)(e->now >> 36); /* about 68.7 s */
}

static void send_cookie(struct ftoe_engine *e, const struct ftoe_rx_item *rx)
{
	const struct ftoe_seg *s = &rx->seg;
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;
	uint32_t mi = 0, mss = (s->opts & FTOE_OPT_MSS) ? s->mss : CONN_DEFAULT_MSS;
	uint16_t mss_max = conn_mss_max(e, s->family == 6);

	/* The cookie's SYN-ACK goes on the SYN's VLAN; the completing ACK
	 * comes on it too and records it (cookie_ack). */
	rx_addr(e, rx, &a);

	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss && cookie_mss[i] <= mss_max)
			mi = i;
	memset(&it, 0, sizeof(it));
	it.flow = FTOE_NO_FLOW;
	it.seq = cookie_make(e, s, cookie_time(e), mi);
	it.ack = s->seq + 1;
	it.tcp_flags = FTOE_TCP_SYN | FTOE_TCP_ACK;
	/* No window scaling, timestamps or ECN: the cookie cannot carry
	 * them, so we do not offer them (the peer then uses none). */
	it.win = wscale_advertise_syn(e->cfg.rx_buf_size);
	it.opts = FTOE_TX_O_SYN;
	it.mss = mss_max;
	e->st.syn_cookies_sent++;
	ftoe_tx_send(e, &a, &it);
}

/* The ACK completing a cookie handshake: 0 and the MSS, or -EINVAL. */
static int cookie_check(struct ftoe_engine *e, const struct ftoe_seg *s, uint16_t *mss)
{
	uint32_t c = s->ack - 1, now = cookie_time(e), mi = (c >> 24) & 7;
	struct ftoe_seg syn = *s;

	syn.seq = s->seq - 1; /* the client's ISN */
	for (uint32_t age = 0; age < 2; age++) {
		uint32_t t = now - age;

		if (((t & 0x1f) << 27) != (c & 0xf8000000u))
			continue;
		if (cookie_make(e, &syn, t, mi) == c) {
			*mss = cookie_mss[mi];
			return 0;
		}
	}
	return -EINVAL;
}

/* The same cookies for programs at the engine's hooks (the raw SYN-cookie
 * helpers, docs/runtime.md): a SYN proxy in XDP then answers with cookies
 * the engine itself accepts when their ACK arrives (cookie_ack).
 * Addresses, ports network order; seq host order. */
static void cookie_seg(struct ftoe_seg *s, uint32_t saddr_be, uint32_t daddr_be,
		       uint16_t sport_be, uint16_t dport_be, uint32_t seq)
{
	memset(s, 0, sizeof(*s));
	s->saddr4 = ftoe_get_be32((const uint8_t *)&saddr_be);
	s->daddr4 = ftoe_get_be32((const uint8_t *)&daddr_be);
	s->sport = ftoe_get_be16((const uint8_t *)&sport_be);
	s->dport = ftoe_get_be16((const uint8_t *)&dport_be);
	s->seq = seq;
}

int ftoe_engine_syncookie_make(struct ftoe_engine *e, uint32_t saddr_be, uint32_t daddr_be,
			       uint16_t sport_be, uint16_t dport_be, uint32_t seq, uint16_t mss,
			       uint32_t *cookie, uint16_t *mss_out)
{
	struct ftoe_seg s;
	uint32_t mi = 0;

	cookie_seg(&s, saddr_be, daddr_be, sport_be, dport_be, seq);
	for (uint32_t i = 0; i < 8; i++)
		if (cookie_mss[i] <= mss && cookie_mss[i] <= e->mss_max)
			mi = i;
	*cookie = cookie_make(e, &s, cookie_time(e), mi);
	*mss_out = cookie_mss[mi];
	return 0;
}

int ftoe_engine_syncookie_check(struct ftoe_engine *e, uint32_t saddr_be, uint32_t daddr_be,
				uint16_t sport_be, uint16_t dport_be, uint32_t seq, uint32_t ack,
				uint16_t *mss_out)
{
	struct ftoe_seg s;

	cookie_seg(&s, saddr_be, daddr_be, sport_be, dport_be, seq);
	s.ack = ack;
	return cookie_check(e, &s, mss_out) ? -EACCES : 0;
}

/* ---- slow path ------------------------------------------------------------- */

/* A segment the control plane hands back to the stages (the handshake's
 * last ACK, a cookie ACK, a synchronized flow's unusual segment).  This
 * runs inside a drain of the slow-path queue: the work the segment queues
 * is drained here, from the mark, before the entries still waiting behind
 * the one being handled. */
static void reinject(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t id)
{
	uint32_t mark = e->sp.n;

	it->flow = id;
	ftoe_proto_rx_one(e, it);
	ftoe_postproc_rx(e, it, 1, 0);
	ftoe_sp_drain_from(e, &e->sp, mark);
}

/* A SYN to listener li (RFC 9293 3.10.7.2): a half-open record and a
 * SYN-ACK; under pressure - the listener's backlog, its share of the SYN
 * table (cfg.syn_backlog) or the table full, or no connection slot
 * left - a SYN cookie instead (RFC 4987 3.6),
 * which costs nothing until its ACK comes back. */
static void passive_syn(struct ftoe_engine *e, struct ftoe_rx_item *it, int li,
			const uint32_t *isn)
{
	const struct ftoe_seg *s = &it->seg;
	struct ftoe_listener *l = &e->lis[li];
	struct ftoe_flow_key key;
	struct ftoe_syn_rec *r;
	uint32_t idx;
	int err = -ENOSPC;

	if (s->tcp_flags & FTOE_TCP_ACK) {
		send_rst_for(e, it);
		return;
	}
	ftoe_seg_flow_key(s, &key);
	if (l->pending + l->queued < l->backlog && e->nfree &&
	    (!e->cfg.syn_backlog || l->pending < e->cfg.syn_backlog)) {
		err = ftoe_syn_add(e, &key, &idx);
		if (err == -ENOSPC)
			e->st.syn_table_full++;
	}
	if (err == -EEXIST) {
		e->st.syn_dropped++; /* cannot happen: looked up first */
		return;
	}
	if (err) {
		if (e->cfg.flags & FTOE_ENG_F_NO_COOKIES) {
			e->st.syn_dropped++;
			return;
		}
		send_cookie(e, it);
		return;
	}
	r = ftoe_syn_get(e, idx);
	r->listener = (int8_t)li;
	l->pending++;
	/* a SYN that reopens a TIME_WAIT 4-tuple: our new sequence space
	 * starts above the old one (isn, as Linux's tw_snd_nxt + 65537) */
	r->iss = isn ? *isn : ftoe_conn_isn(e, &key);
	r->irs = s->seq;
	r->ts_off = ftoe_conn_ts_offset(e, r->iss);
	negotiate(e, r, s);
	memcpy(r->remote_mac, s->eth_src, 6);
	rx_vlan(it, &r->vlan);
	ftoe_syn_send_synack(e, idx);
}

/* A segment for half-open record idx (RFC 9293 3.10.7.4, SYN-RECEIVED). */
static void syn_rec_rx(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t idx)
{
	const struct ftoe_seg *s = &it->seg;
	struct ftoe_syn_rec *r = ftoe_syn_get(e, idx);
	uint8_t f = s->tcp_flags;
	uint32_t id;

	if (f & FTOE_TCP_RST) {
		/* RFC 5961 3.2: only the exact sequence number resets;
		 * RFC 9293 3.10.7.4: a passive open returns to LISTEN */
		if (s->seq == r->irs + 1) {
			e->st.attempt_fails++;
			ftoe_syn_remove(e, idx, 1);
		}
		return;
	}
	if (f & FTOE_TCP_SYN) {
		/* our SYN-ACK was lost: the peer sends its SYN again */
		if (!(f & FTOE_TCP_ACK) && s->seq == r->irs) {
			ftoe_syn_send_synack(e, idx);
		} else if (f & FTOE_TCP_ACK) {
			send_rst_for(e, it);
		} else if (s->seq - (r->irs + 1) < ftoe_syn_window(e)) {
			/* a SYN inside the window (RFC 9293 3.10.7.4 "fourth,
			 * check the SYN bit"): as Linux, reset the embryonic
			 * connection */
			send_rst_for(e, it);
			ftoe_syn_remove(e, idx, 1);
		} else {
			/* another ISN, outside the window: as Linux, an ACK
			 * that shows the peer (or a stale client) which
			 * connection is half-open here */
			ftoe_syn_send_ack(e, idx);
		}
		return;
	}
	if (!(f & FTOE_TCP_ACK))
		return; /* RFC 9293 3.10.7.4: no ACK bit, drop */
	if (s->ack != r->iss + 1) {
		send_rst_for(e, it); /* RFC 9293 3.10.7.4: unacceptable ACK */
		return;
	}
	/* As Linux: with the accept queue or the connection table full the
	 * ACK is dropped and the record kept; its SYN-ACK retransmission
	 * brings the ACK again when there may be room. */
	if (e->lis[r->listener].queued >= e->lis[r->listener].backlog ||
	    flow_alloc_seg(e, s, &id)) {
		e->st.syn_ack_dropped++;
		return;
	}
	syn_rec_apply(e, id, r);
	ftoe_syn_remove(e, idx, 0); /* become_established moves it to the accept queue */
	become_established(e, id);
	reinject(e, it, id);
}

static void cookie_ack(struct ftoe_engine *e, struct ftoe_rx_item *it, int li)
{
	const struct ftoe_seg *s = &it->seg;
	struct ftoe_listener *l = &e->lis[li];
	struct flow_ctl *c;
	uint16_t mss;
	uint32_t id;

	if (cookie_check(e, s, &mss) || l->queued >= l->backlog ||
	    flow_alloc_seg(e, s, &id)) {
		send_rst_for(e, it);
		return;
	}
	e->st.syn_cookies_ok++;
	c = &e->ctl[id];
	memcpy(e->conn[id].remote_mac, s->eth_src, 6);
	{
		struct ftoe_vlan v;

		rx_vlan(it, &v);
		ftoe_conn_set_vlan(&e->conn[id], &v);
	}
	c->iss = s->ack - 1;
	c->listener = (int16_t)li;
	c->state = TCP_S_SYN_RCVD;
	l->pending++;
	set_mss(e, id, mss);
	set_seq(e, id, s->seq - 1, s->win);
	e->tcp[id].snd_una = c->iss;
	e->tcp[id].snd_nxt = e->tcp[id].snd_max = c->iss + 1;
	e->tcp[id].tx_seq0 = c->iss + 1;
	c->syn_tries = 1; /* no handshake RTT sample */
	become_established(e, id);
	reinject(e, it, id);
}

/* RST (RFC 9293 3.10.7.4 second check, RFC 5961 3.2). */
static void rst_rx(struct ftoe_engine *e, uint32_t id, const struct ftoe_seg *s)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_tcp *t = &e->tcp[id];
	uint32_t wnd;

	if (c->state == TCP_S_SYN_SENT) {
		/* acceptable only if it acknowledges our SYN */
		if ((s->tcp_flags & FTOE_TCP_ACK) && s->ack == c->iss + 1)
			ftoe_conn_reset(e, id, -ECONNREFUSED, false);
		return;
	}
	/* Already over (TIME_WAIT ended, or a RST closed it) but the
	 * application still holds the socket: a late or duplicated RST for
	 * the old connection changes nothing (RFC 9293 3.10.7.4: CLOSED has
	 * no TCB to reset). */
	if (c->state == TCP_S_CLOSED)
		return;
	if (c->state == TCP_S_TIME_WAIT) {
		conn_closed(e, id);
		return;
	}
	wnd = ftoe_proto_rx_space(e, id);
	if (seq_after(t->rcv_adv, t->rcv_nxt) && t->rcv_adv - t->rcv_nxt > wnd)
		wnd = t->rcv_adv - t->rcv_nxt;
	if (s->seq == t->rcv_nxt && c->state == TCP_S_FIN_WAIT_2 &&
	    (e->mem[id].flags & FLOW_MEM_CLOSED))
		/* Orphaned after all our data and FIN were acknowledged: no
		 * application is left to lose anything, so this is the end of
		 * the connection, not a reset (the peer closed its socket). */
		conn_closed(e, id);
	else if (s->seq == t->rcv_nxt)
		ftoe_conn_reset(e, id, c->state == TCP_S_SYN_RCVD && !(c->flags & CTL_F_ACTIVE) ?
				0 : -ECONNRESET, false);
	else if (seq_in_range(s->seq, t->rcv_nxt, wnd ? wnd : 1))
		challenge_ack(e, id);
}

static void syn_rx(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t id)
{
	const struct ftoe_seg *s = &it->seg;
	struct flow_ctl *c = &e->ctl[id];
	struct flow_tcp *t = &e->tcp[id];
	bool ack = s->tcp_flags & FTOE_TCP_ACK;

	switch (c->state) {
	case TCP_S_SYN_SENT:
		if (ack && s->ack != c->iss + 1) {
			send_rst_for(e, it);
			return;
		}
		/* Options in a SYN-ACK answer ours; a bare SYN (simultaneous
		 * open) offers them the same way. */
		if (!(s->opts & FTOE_OPT_WS)) {
			t->flags &= ~FLOW_TCP_WSCALE;
			t->rcv_wscale = 0;
		} else if (t->flags & FLOW_TCP_WSCALE) {
			t->snd_wscale = wscale_clamp(s->wscale);
		}
		if ((t->flags & FLOW_TCP_TS) && (s->opts & FTOE_OPT_TS))
			t->ts_recent = s->ts_val;
		else
			t->flags &= ~FLOW_TCP_TS;
		if (!(s->opts & FTOE_OPT_SACKP))
			t->flags &= ~FLOW_TCP_SACK;
		/* RFC 3168 6.1.1: SYN-ACK with ECE (not CWR) accepts ECN;
		 * a simultaneous-open SYN offers it with ECE|CWR. */
		if (c->flags & CTL_F_SYN_ECN) {
			uint8_t f = s->tcp_flags & (FTOE_TCP_ECE | FTOE_TCP_CWR);

			if ((ack && f == FTOE_TCP_ECE) ||
			    (!ack && f == (FTOE_TCP_ECE | FTOE_TCP_CWR)))
				t->flags |= FLOW_TCP_ECN;
		}
		set_mss(e, id, (s->opts & FTOE_OPT_MSS) ? s->mss : 0);
		set_seq(e, id, s->seq, s->win);
		if (ack) {
			t->snd_wl2 = s->ack;
			become_established(e, id);
			ftoe_postproc_send_ack(e, id);
		} else {
			/* Simultaneous open (RFC 9293 3.5, figure 8). */
			c->state = TCP_S_SYN_RCVD;
			c->syn_tries = 0;
			ftoe_conn_send_syn(e, id, true);
		}
		return;
	case TCP_S_SYN_RCVD:
		if (!ack && s->seq == c->irs) {
			/* our SYN-ACK was lost: send it again */
			ftoe_conn_send_syn(e, id, true);
			return;
		}
		if (ack && (c->flags & CTL_F_ACTIVE) && s->seq == c->irs &&
		    s->ack == c->iss + 1) {
			/* the peer's SYN-ACK of a simultaneous open */
			become_established(e, id);
			ftoe_postproc_send_ack(e, id);
			return;
		}
		if (ack && s->ack != c->iss + 1) {
			send_rst_for(e, it);
			return;
		}
		challenge_ack(e, id);
		return;
	case TCP_S_TIME_WAIT: {
		/* RFC 9293 3.10.7.4 / RFC 6191: a new SYN above the old
		 * sequence space may reopen the 4-tuple. */
		int li = pick_listener(e, it);

		if (!ack && li >= 0 && seq_after(s->seq, t->rcv_nxt)) {
			uint32_t isn = ftoe_tw_reopen_isn(t->snd_max);

			conn_closed(e, id);
			if (e->ctl[id].in_use) /* app still holds it: drop */
				return;
			passive_syn(e, it, li, &isn);
			return;
		}
		ftoe_postproc_send_ack(e, id);
		return;
	}
	default:
		/* RFC 5961 4.2: any SYN in a synchronized state gets a
		 * challenge ACK and is dropped. */
		challenge_ack(e, id);
		return;
	}
}

void ftoe_conn_slow_rx(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	const struct ftoe_seg *s = &it->seg;
	struct ftoe_flow_key key;
	uint32_t id, tw_isn, *reopen = NULL;
	int li;

	/* Fragments, IPv6, stacked VLANs: not ours to handle. */
	if (s->slow & (FTOE_SLOW_NOT_IP | FTOE_SLOW_NOT_TCP | FTOE_SLOW_FRAG |
		       FTOE_SLOW_IPV6 | FTOE_SLOW_VLAN_STACK))
		return;
	/* RFC 1122 4.2.3.10, as Linux: never answer a martian source (an
	 * IPv6 source the parser already held to unicast, RFC 4291) */
	if (s->family == 4 && ftoe_martian_src(e, s->saddr4)) {
		e->st.rx_martian++;
		return;
	}
	ftoe_seg_flow_key(s, &key);
	if (ftoe_ft_lookup(&e->ft, &key, &id)) {
		e->st.rx_no_flow++;
		/* a half-open connection, or one in TIME_WAIT, holds no slot */
		if (!ftoe_syn_lookup(e, &key, &id)) {
			syn_rec_rx(e, it, id);
			return;
		}
		if (!ftoe_tw_lookup(e, &key, &id)) {
			if (!ftoe_tw_rx(e, it, id, &tw_isn))
				return;
			reopen = &tw_isn;
		}
		if (s->tcp_flags & FTOE_TCP_RST)
			return;
		li = pick_listener(e, it);
		if (li >= 0 && !(s->tcp_flags & FTOE_TCP_ACK) &&
		    (!(s->tcp_flags & FTOE_TCP_SYN) || (s->tcp_flags & FTOE_TCP_FIN))) {
			/* RFC 9293 3.10.7.2: in LISTEN, a segment without
			 * ACK or SYN is dropped; so is SYN+FIN (as Linux,
			 * a scanner's probe, not a connection) */
			e->st.rx_listen_drop++;
			return;
		}
		if (li >= 0 && (s->tcp_flags & FTOE_TCP_SYN)) {
			passive_syn(e, it, li, reopen);
			return;
		}
		if (li >= 0 && (s->tcp_flags & FTOE_TCP_ACK) &&
		    !(e->cfg.flags & FTOE_ENG_F_NO_COOKIES)) {
			cookie_ack(e, it, li);
			return;
		}
		send_rst_for(e, it);
		return;
	}
	if (e->conn[id].flags & FLOW_CONN_SPLICED) {
		/* The splice program relays this connection (splice.c); a
		 * segment that reached the engine anyway (in flight between
		 * threads when the entries went in, or after they were
		 * deleted) is relayed late or dropped, never answered. */
		ftoe_splice_late_rx(e, it);
		return;
	}
	if (s->tcp_flags & FTOE_TCP_RST) {
		rst_rx(e, id, s);
		return;
	}
	if (s->tcp_flags & FTOE_TCP_SYN) {
		syn_rx(e, it, id);
		return;
	}
	if (!(s->tcp_flags & FTOE_TCP_ACK))
		return; /* RFC 9293 3.10.7.4: no ACK bit, drop */

	switch (e->ctl[id].state) {
	case TCP_S_SYN_SENT:
		/* RFC 9293 3.10.7.3: an ACK not for our SYN gets a RST. */
		if (s->ack != e->ctl[id].iss + 1)
			send_rst_for(e, it);
		return;
	case TCP_S_SYN_RCVD:
		if (s->ack != e->ctl[id].iss + 1) {
			send_rst_for(e, it);
			return;
		}
		become_established(e, id);
		reinject(e, it, id);
		return;
	case TCP_S_CLOSED:
		return;
	default:
		/* synchronized: URG, unknown options, IP options - data as
		 * usual (the urgent pointer is ignored, RFC 6093) */
		reinject(e, it, id);
		return;
	}
}

/* ---- teardown ------------------------------------------------------------- */

/* TIME_WAIT (RFC 9293 3.6).  When the application has let the socket go,
 * the connection moves to the TIME_WAIT table (core/control/time_wait.c)
 * and its slot and buffers are freed at once; otherwise it waits in its
 * slot until the application closes it (ftoe_conn_app_close). */
static void enter_time_wait(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];

	if (!app_owned(c) || (e->mem[id].flags & FLOW_MEM_CLOSED)) {
		ftoe_tw_add(e, id);
		conn_closed(e, id);
		return;
	}
	c->state = TCP_S_TIME_WAIT;
	c->timer[FTOE_T_TX] = 0;
	c->timer[FTOE_T_DELACK] = 0;
	ftoe_sched_remove(e, id);
	ftoe_timer_set(e, id, FTOE_T_WAIT, e->now + e->cfg.time_wait_ms * 1000000ull);
}

void ftoe_conn_rx_event(struct ftoe_engine *e, uint32_t id, uint32_t res)
{
	struct flow_ctl *c = &e->ctl[id];

	if (c->state == TCP_S_TIME_WAIT) {
		/* a retransmitted FIN: the ACK goes out, 2MSL restarts */
		ftoe_timer_set(e, id, FTOE_T_WAIT, e->now + e->cfg.time_wait_ms * 1000000ull);
		return;
	}
	if (res & FTOE_RX_R_FIN_ACKED) {
		switch (c->state) {
		case TCP_S_FIN_WAIT_1:
			c->state = TCP_S_FIN_WAIT_2;
			/* orphaned: do not wait forever for the peer's FIN */
			if (e->mem[id].flags & FLOW_MEM_CLOSED)
				ftoe_timer_set(e, id, FTOE_T_WAIT,
					       e->now + e->cfg.time_wait_ms * 1000000ull);
			break;
		case TCP_S_CLOSING:
			enter_time_wait(e, id);
			break;
		case TCP_S_LAST_ACK:
			conn_closed(e, id);
			return;
		default:
			break;
		}
	}
	if (res & FTOE_RX_R_FIN) {
		switch (c->state) {
		case TCP_S_ESTABLISHED:
			c->state = TCP_S_CLOSE_WAIT;
			break;
		case TCP_S_FIN_WAIT_1:
			c->state = TCP_S_CLOSING;
			break;
		case TCP_S_FIN_WAIT_2:
			enter_time_wait(e, id);
			break;
		default:
			break;
		}
		ftoe_sock_notify(e, id, FTOE_EV_RX);
	}
}

void ftoe_conn_shutdown_wr(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];

	e->mem[id].flags |= FLOW_MEM_SHUT_WR;
	switch (c->state) {
	case TCP_S_ESTABLISHED:
		c->state = TCP_S_FIN_WAIT_1;
		break;
	case TCP_S_CLOSE_WAIT:
		c->state = TCP_S_LAST_ACK;
		break;
	case TCP_S_SYN_SENT:
		ftoe_conn_reset(e, id, 0, false);
		return;
	default:
		return; /* SYN_RCVD: done when established */
	}
	ftoe_sched_activate(e, id);
}

void ftoe_conn_app_close(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_mem *m = &e->mem[id];

	m->flags |= FLOW_MEM_CLOSED;
	if (c->state == TCP_S_CLOSED) {
		ftoe_conn_free(e, id);
		return;
	}
	if (c->state == TCP_S_TIME_WAIT) {
		/* the rest of TIME_WAIT needs no slot (enter_time_wait) */
		ftoe_tw_add(e, id);
		conn_closed(e, id);
		return;
	}
	/* Unread data: abort (RFC 2525 2.17, as Linux). */
	if (m->rx_head != m->rx_tail) {
		ftoe_conn_reset(e, id, -ECONNRESET, true);
		return;
	}
	if (!(m->flags & FLOW_MEM_SHUT_WR))
		ftoe_conn_shutdown_wr(e, id);
	if (e->ctl[id].in_use && c->state == TCP_S_FIN_WAIT_2)
		ftoe_timer_set(e, id, FTOE_T_WAIT, e->now + e->cfg.time_wait_ms * 1000000ull);
}

/* ---- timers ---------------------------------------------------------------- */

void ftoe_conn_wait_timeout(struct ftoe_engine *e, uint32_t id)
{
	conn_closed(e, id);
}

/* ---- the control plane's tables ------------------------------------------- */

int ftoe_conn_tables_create(struct ftoe_engine *e)
{
	int err;

	err = ftoe_syn_table_create(e, e->cfg.syn_table_size ? e->cfg.syn_table_size :
					     FTOE_SYN_TABLE_DEFAULT);
	if (!err)
		err = ftoe_tw_table_create(e, e->cfg.tw_table_size ? e->cfg.tw_table_size :
					       FTOE_TW_TABLE_DEFAULT);
	return err;
}

void ftoe_conn_tables_destroy(struct ftoe_engine *e)
{
	ftoe_syn_table_destroy(e);
	ftoe_tw_table_destroy(e);
}

/* ---- listen / accept ------------------------------------------------------- */

/* A listener on port; owner 0: exclusive (no other listener on the port),
 * else one of a shared group (one per application context; a port may not
 * mix the two, and an owner listens once). */
/* A listener's families as a mask (0: both). */
static unsigned lis_fams(unsigned f)
{
	return f ? f : FTOE_LISTEN_V4 | FTOE_LISTEN_V6;
}

static int listen_add(struct ftoe_engine *e, uint16_t port, unsigned backlog, uint32_t owner,
		      unsigned fams)
{
	int free_i = -1;

	if (!port || !backlog || (fams & ~(FTOE_LISTEN_V4 | FTOE_LISTEN_V6)))
		return -EINVAL;
	for (int i = 0; i < FTOE_MAX_LISTENERS; i++) {
		/* an IPv4-only and an IPv6-only listener may share a port,
		 * as Linux's AF_INET and IPV6_V6ONLY sockets do */
		if (e->lis[i].port == port &&
		    (!owner || !e->lis[i].owner || e->lis[i].owner == owner) &&
		    (lis_fams(e->lis[i].families) & lis_fams(fams)))
			return -EADDRINUSE;
		if (!e->lis[i].port && free_i < 0)
			free_i = i;
	}
	if (free_i < 0)
		return -ENOSPC;
	memset(&e->lis[free_i], 0, sizeof(e->lis[free_i]));
	e->lis[free_i].port = port;
	e->lis[free_i].backlog = backlog > 0xffff ? 0xffff : (uint16_t)backlog;
	e->lis[free_i].q_head = e->lis[free_i].q_tail = FTOE_NO_FLOW;
	e->lis[free_i].owner = owner;
	e->lis[free_i].families = (uint8_t)fams;
	return free_i;
}

int ftoe_conn_listen(struct ftoe_engine *e, uint16_t port, unsigned backlog)
{
	return listen_add(e, port, backlog, 0, 0);
}

int ftoe_conn_listen_fams(struct ftoe_engine *e, uint16_t port, unsigned backlog, unsigned fams)
{
	return listen_add(e, port, backlog, 0, fams);
}

bool ftoe_conn_listen_set_fams(struct ftoe_engine *e, unsigned idx, unsigned fams)
{
	for (int i = 0; i < FTOE_MAX_LISTENERS; i++)
		if ((unsigned)i != idx && e->lis[i].port == e->lis[idx].port &&
		    (!e->lis[idx].owner || !e->lis[i].owner || e->lis[i].owner == e->lis[idx].owner) &&
		    (lis_fams(e->lis[i].families) & lis_fams(fams)))
			return false;
	e->lis[idx].families = (uint8_t)fams;
	return true;
}

int ftoe_conn_listen_shared(struct ftoe_engine *e, uint16_t port, unsigned backlog,
			    uint32_t owner)
{
	if (!owner)
		return -EINVAL;
	return listen_add(e, port, backlog, owner, 0);
}

void ftoe_conn_unlisten(struct ftoe_engine *e, unsigned idx)
{
	/* children not yet accepted are reset (RFC 9293 3.10.4, as Linux) */
	for (uint32_t id = 0; id < e->hwm; id++) {
		struct flow_ctl *c = &e->ctl[id];

		if (c->in_use && c->listener == (int)idx && !(c->flags & CTL_F_ACCEPTED))
			ftoe_conn_reset(e, id, -ECONNRESET, true);
	}
	ftoe_syn_unlisten(e, (int)idx);
	e->lis[idx].port = 0;
}

int ftoe_conn_accept(struct ftoe_engine *e, unsigned idx)
{
	struct ftoe_listener *l = &e->lis[idx];
	uint32_t id = l->q_head;
	struct flow_ctl *c;

	if (id == FTOE_NO_FLOW)
		return -EAGAIN;
	c = &e->ctl[id];
	l->q_head = c->acceptq_next;
	if (l->q_head == FTOE_NO_FLOW)
		l->q_tail = FTOE_NO_FLOW;
	l->queued--;
	c->flags &= ~CTL_F_IN_ACCEPTQ;
	c->flags |= CTL_F_ACCEPTED;
	c->listener = -1;
	/* whatever arrived before accept is readable now */
	if (e->mem[id].rx_head != e->mem[id].rx_tail || c->state != TCP_S_ESTABLISHED)
		ftoe_sock_notify(e, id, FTOE_EV_RX);
	return (int)id;
}
