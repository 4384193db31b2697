/* syn_table.c - half-open passive connections (SYN-RECEIVED) in a compact table of their own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/syn_table.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/tcp_seq.h"

#define SYNACK_RTO_NS 1000000000ull /* RFC 6298 2.1: 1 s before any sample */
/* Deadlines are rounded up to this (about 16.8 ms), so a flood of records
 * due at scattered times costs a table scan at most ~60 times a second. */
#define DUE_GRAIN_NS (1ull << 24)

int ftoe_syn_table_create(struct ftoe_engine *e, uint32_t cap)
{
	return ftoe_tt_new(&e->syn, cap, sizeof(struct ftoe_syn_rec), e->key);
}

void ftoe_syn_table_destroy(struct ftoe_engine *e)
{
	ftoe_tt_free(&e->syn);
}

int ftoe_syn_add(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *idx)
{
	return ftoe_tt_insert(e->syn, key, idx);
}

int ftoe_syn_lookup(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *idx)
{
	if (!e->syn->count)
		return -ENOENT;
	return ftoe_tt_lookup(e->syn, key, idx);
}

struct ftoe_syn_rec *ftoe_syn_get(struct ftoe_engine *e, uint32_t idx)
{
	return ftoe_tt_rec(e->syn, idx);
}

const struct ftoe_flow_key *ftoe_syn_key(struct ftoe_engine *e, uint32_t idx)
{
	return ftoe_tt_key(e->syn, idx);
}

uint32_t ftoe_syn_count(const struct ftoe_engine *e)
{
	return e->syn ? e->syn->count : 0;
}

void ftoe_syn_remove(struct ftoe_engine *e, uint32_t idx, int unlisted)
{
	struct ftoe_syn_rec *r = ftoe_syn_get(e, idx);

	if (unlisted && r->listener >= 0 && e->lis[r->listener].pending)
		e->lis[r->listener].pending--;
	ftoe_tt_remove(e->syn, idx);
}

void ftoe_syn_send_synack(struct ftoe_engine *e, uint32_t idx)
{
	struct ftoe_syn_rec *r = ftoe_syn_get(e, idx);
	const struct ftoe_flow_key *k = ftoe_syn_key(e, idx);
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;
	uint64_t due;

	memset(&it, 0, sizeof(it));
	ftoe_tx_addr_key(e, k, r->remote_mac, &r->vlan, &a);
	it.flow = FTOE_NO_FLOW;
	it.seq = r->iss;
	it.ack = r->irs + 1;
	it.tcp_flags = FTOE_TCP_SYN | FTOE_TCP_ACK;
	if (r->flags & FTOE_SYN_F_ECN)
		it.tcp_flags |= FTOE_TCP_ECE; /* RFC 3168 6.1.1 */
	/* RFC 7323 2.2: the window of a SYN is never scaled; the connection
	 * will have a whole empty receive buffer. */
	it.win = (uint16_t)ftoe_syn_window(e);
	it.opts = FTOE_TX_O_SYN;
	/* the MTU less 40 (IPv4) or 60 (IPv6) bytes of headers */
	it.mss = (uint16_t)(e->mss_max - (ftoe_flow_key_is_v6(k) ? 20 : 0));
	if (r->flags & FTOE_SYN_F_WS) {
		it.opts |= FTOE_TX_O_WS;
		it.wscale = e->rx_wscale;
	}
	if (r->flags & FTOE_SYN_F_TS) {
		it.opts |= FTOE_TX_O_TS;
		it.ts_val = (uint32_t)(e->now / 1000000u) + r->ts_off; /* as ftoe_proto_ts_now */
		it.ts_ecr = r->ts_recent;
	}
	if (r->flags & FTOE_SYN_F_SACK)
		it.opts |= FTOE_TX_O_SACKP;
	it.retx = r->retries > 0;
	if (!r->retries)
		r->t0_us = (uint32_t)(e->now / 1000u);
	ftoe_tx_send(e, &a, &it);
	due = e->now + (SYNACK_RTO_NS << r->retries);
	due = (due + DUE_GRAIN_NS - 1) & ~(DUE_GRAIN_NS - 1);
	r->due = due;
	if (due < e->syn->next_due)
		e->syn->next_due = due;
	ftoe_next_timer_lower(e, due);
}

uint32_t ftoe_syn_window(const struct ftoe_engine *e)
{
	return wscale_advertise_syn(e->cfg.rx_buf_size);
}

void ftoe_syn_send_ack(struct ftoe_engine *e, uint32_t idx)
{
	struct ftoe_syn_rec *r = ftoe_syn_get(e, idx);
	const struct ftoe_flow_key *k = ftoe_syn_key(e, idx);
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	memset(&it, 0, sizeof(it));
	ftoe_tx_addr_key(e, k, r->remote_mac, &r->vlan, &a);
	it.flow = FTOE_NO_FLOW;
	it.seq = r->iss + 1;
	it.ack = r->irs + 1;
	it.tcp_flags = FTOE_TCP_ACK;
	it.win = (uint16_t)ftoe_syn_window(e);
	if (r->flags & FTOE_SYN_F_TS) {
		it.opts = FTOE_TX_O_TS;
		it.ts_val = (uint32_t)(e->now / 1000000u) + r->ts_off; /* as ftoe_proto_ts_now */
		it.ts_ecr = r->ts_recent;
	}
	e->st.syn_rec_acks++;
	ftoe_tx_send(e, &a, &it);
}

void ftoe_syn_unlisten(struct ftoe_engine *e, int li)
{
	struct ftoe_tuple_tab *tt = e->syn;

	for (uint32_t i = ftoe_tt_oldest(tt), n; i != FTOE_TT_NONE; i = n) {
		n = ftoe_tt_younger(tt, i);
		if (ftoe_syn_get(e, i)->listener == li)
			ftoe_syn_remove(e, i, 1);
	}
}

uint64_t ftoe_syn_timers_run(struct ftoe_engine *e)
{
	struct ftoe_tuple_tab *tt = e->syn;
	uint64_t next = UINT64_MAX;

	if (e->now < tt->next_due)
		return tt->next_due;
	/* sending a SYN-ACK lowers next_due: start afresh */
	tt->next_due = UINT64_MAX;
	for (uint32_t i = ftoe_tt_oldest(tt), n; i != FTOE_TT_NONE; i = n) {
		struct ftoe_syn_rec *r = ftoe_syn_get(e, i);

		n = ftoe_tt_younger(tt, i);
		if (r->due > e->now) {
			if (r->due < next)
				next = r->due;
			continue;
		}
		if (r->retries >= FTOE_SYNACK_RETRIES) {
			e->st.syn_expired++;
			ftoe_syn_remove(e, i, 1);
			continue;
		}
		r->retries++;
		ftoe_syn_send_synack(e, i);
		if (r->due < next)
			next = r->due;
	}
	if (next < tt->next_due)
		tt->next_due = next;
	return tt->next_due;
}
