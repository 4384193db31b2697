/* conn_info.c - the engine's connections and listeners as operators see them (flextoe-stat ss). */
#include <string.h>

#include "core/engine_internal.h"

/* The names ss(8) prints, so operators read one vocabulary. */
static const char *const state_names[] = {
	[TCP_S_CLOSED] = "CLOSE",
	[TCP_S_SYN_SENT] = "SYN-SENT",
	[TCP_S_SYN_RCVD] = "SYN-RECV",
	[TCP_S_ESTABLISHED] = "ESTAB",
	[TCP_S_FIN_WAIT_1] = "FIN-WAIT-1",
	[TCP_S_FIN_WAIT_2] = "FIN-WAIT-2",
	[TCP_S_CLOSE_WAIT] = "CLOSE-WAIT",
	[TCP_S_CLOSING] = "CLOSING",
	[TCP_S_LAST_ACK] = "LAST-ACK",
	[TCP_S_TIME_WAIT] = "TIME-WAIT",
};

static void conn_fill(const struct ftoe_engine *e, uint32_t id, struct ftoe_conn_info *ci)
{
	const struct flow_ctl *c = &e->ctl[id];
	const struct flow_tcp *t = &e->tcp[id];
	const struct flow_mem *m = &e->mem[id];
	const struct flow_conn *fc = &e->conn[id];

	memset(ci, 0, sizeof(*ci));
	ci->id = id;
	ci->state = c->state < sizeof(state_names) / sizeof(state_names[0]) ?
		    state_names[c->state] : "UNKNOWN";
	ci->local_ip = fc->local_ip;
	ci->remote_ip = fc->remote_ip;
	ci->local_port = fc->local_port;
	ci->remote_port = fc->remote_port;
	ci->ip_version = (fc->flags & FLOW_CONN_IPV6) ? 6 : 4;
	flow_addr16(fc->local_hi, fc->local_ip, ci->local_ip6);
	flow_addr16(fc->remote_hi, fc->remote_ip, ci->remote_ip6);
	ci->flow_group = fc->flow_group;
	ci->region = m->region;
	ci->send_q = m->tx_head - m->tx_tail;
	ci->recv_q = m->rx_head - m->rx_tail;
	ci->srtt_us = ftoe_rto_srtt(&c->rto);
	ci->rttvar_us = ftoe_rto_rttvar(&c->rto);
	ci->rto_us = ftoe_rto_current(&c->rto);
	ci->cwnd = e->cc[id].cwnd;
	ci->rate_kbps = e->cc[id].rate_kbps;
	ci->retrans_total = e->cc[id].retrans_total;
	ci->snd_mss = t->snd_mss;
	ci->rcv_mss = t->rcv_mss;
	ci->snd_wnd = t->snd_wnd;
	ci->rcv_wnd = t->rcv_wnd;
	ci->bytes_acked = (uint64_t)(uint32_t)(m->tx_tail + m->tx_pos_off);
	ci->bytes_received = (uint64_t)(uint32_t)(m->rx_head + m->rx_pos_off);
	ci->snd_wscale = t->snd_wscale;
	ci->rcv_wscale = t->rcv_wscale;
	ci->ts = !!(t->flags & FLOW_TCP_TS);
	ci->sack = !!(t->flags & FLOW_TCP_SACK);
	ci->ecn = !!(t->flags & FLOW_TCP_ECN);
}

uint32_t ftoe_engine_conns(const struct ftoe_engine *e, struct ftoe_conn_info *out, uint32_t max)
{
	uint32_t n = 0;

	/* Half-open and TIME_WAIT connections live in the compact tables
	 * (core/control/syn_table.h, time_wait.h), without a flow: counted
	 * there (flextoe-stat counters), not listed here. */
	for (uint32_t id = 0; id < e->hwm && id < e->nflows; id++) {
		if (!e->ctl[id].in_use || !(e->conn[id].flags & FLOW_CONN_VALID))
			continue;
		if (n < max)
			conn_fill(e, id, &out[n]);
		n++;
	}
	return n;
}

uint32_t ftoe_engine_listeners(const struct ftoe_engine *e, struct ftoe_listener_info *out,
			       uint32_t max)
{
	uint32_t n = 0;

	for (unsigned int i = 0; i < FTOE_MAX_LISTENERS; i++) {
		const struct ftoe_listener *l = &e->lis[i];

		if (!l->port)
			continue;
		if (n < max)
			out[n] = (struct ftoe_listener_info){
				.index = i, .port = l->port, .backlog = l->backlog, .pending = l->pending,
				.queued = l->queued, .owner = l->owner,
			};
		n++;
	}
	return n;
}
