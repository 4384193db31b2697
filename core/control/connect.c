/* connect.c - active open: connect(), ephemeral ports, the next hop's MAC, the SYN's retransmission. */
#include <string.h>

#include "core/byteorder.h"
#include "core/control/conn.h"
#include "core/control/conn_internal.h"
#include "core/control/syn_table.h"
#include "core/control/time_wait.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/slowpath.h"

/* Retransmissions before the handshake fails with ETIMEDOUT: an active
 * open's SYN, or its SYN-ACK in a simultaneous open (as Linux
 * tcp_syn_retries); a flow not opened actively, as the SYN table's
 * SYN-ACKs (a half-open passive connection is resent from its record in
 * syn_table.c, not from a flow). */
#define SYN_RETRIES    6
#define SYNACK_RETRIES FTOE_SYNACK_RETRIES
#define EPHEMERAL_LO   32768
#define EPHEMERAL_HI   60999

static uint32_t make_isn(struct ftoe_engine *e, const struct flow_conn *c)
{
	struct ftoe_flow_key k;

	flow_conn_key(c, &k);
	return ftoe_conn_isn(e, &k);
}

static bool port_has_listener(struct ftoe_engine *e, uint16_t port)
{
	for (int i = 0; i < FTOE_MAX_LISTENERS; i++)
		if (e->lis[i].port == port)
			return true;
	return false;
}

/* ---- the next hop --------------------------------------------------------- */

/* The on-link address to resolve for remote address raddr (host order):
 * the peer itself, or the gateway.  Network order, for neigh_lookup. */
static uint32_t next_hop_be(struct ftoe_engine *e, uint32_t raddr)
{
	uint32_t pl = e->cfg.prefix_len;

	if (e->cfg.gateway_be && pl < 32 &&
	    (pl == 0 || ((raddr ^ e->local_ip) >> (32 - pl))))
		return e->cfg.gateway_be;
	return __builtin_bswap32(raddr);
}

/* An active open goes on the VLAN the neighbour cache learned the next
 * hop hop_be on (its tagged ARP packets, arp.c), when the backend says. */
static void neigh_set_vlan(struct ftoe_engine *e, uint32_t id, uint32_t hop_be)
{
	struct ftoe_vlan v;

	memset(&v, 0, sizeof(v));
	if (e->io.neigh_vlan && e->io.neigh_vlan(e->io.ctx, hop_be, &v))
		memset(&v, 0, sizeof(v));
	ftoe_conn_set_vlan(&e->conn[id], &v);
}

/* The MAC of flow id's next hop, by its family: ARP through the gateway
 * or on-link (IPv4), neighbour discovery on-link (IPv6).  0, -EAGAIN while
 * resolving, or another error. */
static int conn_neigh(struct ftoe_engine *e, uint32_t id, uint8_t mac[6])
{
	const struct flow_conn *fc = &e->conn[id];
	uint8_t a[16];

	if (!(fc->flags & FLOW_CONN_IPV6))
		return e->io.neigh_lookup(e->io.ctx, next_hop_be(e, fc->remote_ip), mac);
	if (!e->io.neigh6_lookup)
		return -EHOSTUNREACH;
	flow_addr16(fc->remote_hi, fc->remote_ip, a);
	return e->io.neigh6_lookup(e->io.ctx, a, mac);
}

/* The MAC resolved: the flow takes it and the VLAN it was learned on. */
static void conn_neigh_done(struct ftoe_engine *e, uint32_t id, const uint8_t mac[6])
{
	const struct flow_conn *fc = &e->conn[id];
	struct ftoe_vlan v;
	uint8_t a[16];

	memcpy(e->conn[id].remote_mac, mac, 6);
	if (!(fc->flags & FLOW_CONN_IPV6)) {
		neigh_set_vlan(e, id, next_hop_be(e, fc->remote_ip));
		return;
	}
	memset(&v, 0, sizeof(v));
	flow_addr16(fc->remote_hi, fc->remote_ip, a);
	if (e->io.neigh6_vlan && e->io.neigh6_vlan(e->io.ctx, a, &v))
		memset(&v, 0, sizeof(v));
	ftoe_conn_set_vlan(&e->conn[id], &v);
}

/* ---- connect --------------------------------------------------------------- */

/* A 4-tuple still in TIME_WAIT or half-open is not free for a new
 * connection (RFC 9293 3.6; Linux without tcp_tw_reuse). */
static bool tuple_in_wait(struct ftoe_engine *e, const struct ftoe_flow_key *key)
{
	uint32_t idx;

	return !ftoe_tw_lookup(e, key, &idx) || !ftoe_syn_lookup(e, key, &idx);
}

/* Active open to the remote side of key (its local address and remote
 * address and port set; lport_req 0: an ephemeral port). */
static int conn_connect_key(struct ftoe_engine *e, uint16_t lport_req, struct ftoe_flow_key *key)
{
	uint32_t id = 0;
	struct flow_ctl *c;
	struct flow_tcp *t;
	uint8_t mac[6];
	int err = -EADDRNOTAVAIL;

	if (lport_req) {
		key->lport = lport_req;
		err = tuple_in_wait(e, key) ? -EEXIST : ftoe_conn_flow_alloc(e, key, &id);
		if (err == -EEXIST)
			return -EADDRINUSE;
	}
	/* next ephemeral port whose 4-tuple is free */
	for (uint32_t n = 0; !lport_req && n <= EPHEMERAL_HI - EPHEMERAL_LO; n++) {
		key->lport = (uint16_t)(EPHEMERAL_LO + e->port_next);
		e->port_next = (e->port_next + 1) % (EPHEMERAL_HI - EPHEMERAL_LO + 1);
		if (port_has_listener(e, key->lport) || tuple_in_wait(e, key))
			continue;
		err = ftoe_conn_flow_alloc(e, key, &id);
		if (err != -EEXIST)
			break;
	}
	if (err)
		return err;
	c = &e->ctl[id];
	t = &e->tcp[id];
	c->flags |= CTL_F_ACTIVE;
	c->state = TCP_S_SYN_SENT;
	c->iss = make_isn(e, &e->conn[id]);
	t->snd_una = c->iss;
	t->snd_nxt = t->snd_max = c->iss + 1;
	t->tx_seq0 = c->iss + 1;
	t->ts_off = ftoe_conn_ts_offset(e, c->iss);
	if (!(e->cfg.flags & FTOE_ENG_F_NO_WSCALE)) {
		t->flags |= FLOW_TCP_WSCALE;
		t->rcv_wscale = e->rx_wscale;
	}
	if (!(e->cfg.flags & FTOE_ENG_F_NO_TS))
		t->flags |= FLOW_TCP_TS;
	t->flags |= FLOW_TCP_SACK; /* offered; cleared unless the SYN-ACK agrees */
	if (!(e->cfg.flags & FTOE_ENG_F_NO_ECN))
		c->flags |= CTL_F_SYN_ECN;
	t->snd_mss = CONN_DEFAULT_MSS;
	t->rcv_mss = CONN_DEFAULT_MSS;
	c->rtt_ns = e->now;

	/* Resolving (or failing, then retried with the SYN's timer until
	 * the handshake's retries run out, as before) */
	if (conn_neigh(e, id, mac)) {
		c->flags |= CTL_F_NEIGH_WAIT;
		ftoe_timer_set(e, id, FTOE_T_TX, e->now + ftoe_rto_current(&c->rto) * 1000ull);
		return (int)id;
	}
	conn_neigh_done(e, id, mac);
	ftoe_conn_send_syn(e, id, false);
	return (int)id;
}

int ftoe_conn_connect(struct ftoe_engine *e, uint16_t lport_req, uint32_t ip_be, uint16_t port)
{
	struct ftoe_flow_key key = { .laddr = e->local_ip, .raddr = __builtin_bswap32(ip_be),
				     .rport = port };

	if (!port || !ip_be)
		return -EINVAL;
	return conn_connect_key(e, lport_req, &key);
}

int ftoe_conn_connect6(struct ftoe_engine *e, uint16_t lport_req, const uint8_t ip6[16],
		       uint16_t port)
{
	struct ftoe_flow_key key = { .laddr = e->local6_lo, .rport = port };

	if (!port || !engine_has_ip6(e))
		return -EINVAL;
	memcpy(key.lhi, e->local6_hi, sizeof(key.lhi));
	memcpy(key.rhi, ip6, sizeof(key.rhi));
	key.raddr = ftoe_get_be32(ip6 + 12);
	/* the flow key's IPv4 marker, multicast: not a TCP peer (segment.c) */
	if (!ftoe_flow_key_is_v6(&key) || ip6[0] == 0xff)
		return -EINVAL;
	return conn_connect_key(e, lport_req, &key);
}

/* Connections waiting for the next hop's MAC take it now (IPv6: on-link
 * only, so the next hop is the peer). */
void ftoe_conn_neigh6_ready(struct ftoe_engine *e, const uint8_t ip6[16])
{
	for (uint32_t id = 0; id < e->hwm; id++) {
		struct flow_ctl *c = &e->ctl[id];
		const struct flow_conn *fc = &e->conn[id];
		uint8_t a[16], mac[6];

		if (!c->in_use || !(c->flags & CTL_F_NEIGH_WAIT) || !(fc->flags & FLOW_CONN_IPV6))
			continue;
		flow_addr16(fc->remote_hi, fc->remote_ip, a);
		if (memcmp(a, ip6, 16) || conn_neigh(e, id, mac))
			continue;
		conn_neigh_done(e, id, mac);
		c->flags &= ~CTL_F_NEIGH_WAIT;
		c->rtt_ns = e->now;
		ftoe_conn_send_syn(e, id, false);
	}
}

void ftoe_conn_neigh_ready(struct ftoe_engine *e, uint32_t ip_be)
{
	for (uint32_t id = 0; id < e->hwm; id++) {
		struct flow_ctl *c = &e->ctl[id];
		uint8_t mac[6];

		if (!c->in_use || !(c->flags & CTL_F_NEIGH_WAIT) ||
		    (e->conn[id].flags & FLOW_CONN_IPV6) ||
		    next_hop_be(e, e->conn[id].remote_ip) != ip_be)
			continue;
		if (e->io.neigh_lookup(e->io.ctx, ip_be, mac))
			continue;
		memcpy(e->conn[id].remote_mac, mac, 6);
		neigh_set_vlan(e, id, ip_be);
		c->flags &= ~CTL_F_NEIGH_WAIT;
		c->rtt_ns = e->now;
		ftoe_conn_send_syn(e, id, false);
	}
}

/* ---- the SYN's timer (core/control/timers.c) ------------------------------- */

void ftoe_conn_syn_timeout(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	unsigned max = (c->flags & CTL_F_ACTIVE) ? SYN_RETRIES : SYNACK_RETRIES;

	if (++c->syn_tries > max) {
		ftoe_conn_reset(e, id, -ETIMEDOUT, false);
		return;
	}
	ftoe_rto_timeout(&c->rto);
	if (c->flags & CTL_F_NEIGH_WAIT) {
		uint8_t mac[6];

		if (conn_neigh(e, id, mac)) {
			ftoe_timer_set(e, id, FTOE_T_TX,
				       e->now + ftoe_rto_current(&c->rto) * 1000ull);
			return;
		}
		conn_neigh_done(e, id, mac);
		c->flags &= ~CTL_F_NEIGH_WAIT;
	}
	ftoe_conn_send_syn(e, id, c->state == TCP_S_SYN_RCVD);
}
