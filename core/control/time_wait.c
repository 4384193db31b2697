/* time_wait.c - connections in TIME_WAIT, kept in a compact table once their connection slot is given back. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/time_wait.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/tcp_seq.h"

int ftoe_tw_table_create(struct ftoe_engine *e, uint32_t cap)
{
	return ftoe_tt_new(&e->tw, cap, sizeof(struct ftoe_tw_rec), e->key);
}

void ftoe_tw_table_destroy(struct ftoe_engine *e)
{
	ftoe_tt_free(&e->tw);
}

uint32_t ftoe_tw_count(const struct ftoe_engine *e)
{
	return e->tw ? e->tw->count : 0;
}

static uint64_t tw_expiry(const struct ftoe_engine *e)
{
	return e->now + e->cfg.time_wait_ms * 1000000ull;
}

static void arm(struct ftoe_engine *e, uint64_t t)
{
	ftoe_next_timer_lower(e, t);
}

void ftoe_tw_add(struct ftoe_engine *e, uint32_t id)
{
	struct ftoe_tuple_tab *tt = e->tw;
	const struct flow_conn *fc = &e->conn[id];
	const struct flow_tcp *t = &e->tcp[id];
	struct ftoe_flow_key key;
	struct ftoe_tw_rec *r;
	uint32_t idx, wnd;
	int err;

	flow_conn_key(fc, &key);
	err = ftoe_tt_insert(tt, &key, &idx);
	if (err == -ENOSPC) {
		e->st.tw_evicted++;
		ftoe_tt_remove(tt, ftoe_tt_oldest(tt));
		err = ftoe_tt_insert(tt, &key, &idx);
	}
	if (err == -EEXIST)
		ftoe_tt_touch(tt, idx);
	else if (err)
		return;
	r = ftoe_tt_rec(tt, idx);
	memset(r, 0, sizeof(*r));
	r->snd_nxt = t->snd_max;
	r->rcv_nxt = t->rcv_nxt;
	if (t->flags & FLOW_TCP_TS) {
		r->flags |= FTOE_TW_F_TS;
		r->ts_recent = t->ts_recent;
		r->ts_off = t->ts_off;
	}
	/* the window we last offered, as the field carries it */
	wnd = seq_after(t->rcv_adv, t->rcv_nxt) ? (t->rcv_adv - t->rcv_nxt) >> t->rcv_wscale : 0;
	r->win = wnd > 0xffff ? 0xffff : (uint16_t)wnd;
	memcpy(r->remote_mac, fc->remote_mac, 6);
	{
		struct ftoe_tx_addr a;

		ftoe_tx_addr_flow(e, id, &a);
		r->vlan = a.vlan;
	}
	r->expiry = tw_expiry(e);
	arm(e, r->expiry);
	e->st.tw_entered++;
}

int ftoe_tw_lookup(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *idx)
{
	if (!e->tw->count)
		return -ENOENT;
	return ftoe_tt_lookup(e->tw, key, idx);
}

/* Our ACK in TIME_WAIT: SND.NXT, RCV.NXT, with timestamps if in use; at
 * most one per FTOE_TW_ACK_GAP_MS (Linux: tcp_timewait_check_oow_rate_limit). */
static void tw_send_ack(struct ftoe_engine *e, uint32_t idx)
{
	struct ftoe_tw_rec *r = ftoe_tt_rec(e->tw, idx);
	const struct ftoe_flow_key *k = ftoe_tt_key(e->tw, idx);
	uint32_t now_ms = (uint32_t)(e->now / 1000000u);
	struct ftoe_tx_item it;
	struct ftoe_tx_addr a;

	if ((r->flags & FTOE_TW_F_ACKED) && now_ms - r->ack_ms < FTOE_TW_ACK_GAP_MS) {
		e->st.tw_acks_limited++;
		return;
	}
	r->flags |= FTOE_TW_F_ACKED;
	r->ack_ms = now_ms;
	memset(&it, 0, sizeof(it));
	ftoe_tx_addr_key(e, k, r->remote_mac, &r->vlan, &a);
	it.flow = FTOE_NO_FLOW;
	it.seq = r->snd_nxt;
	it.ack = r->rcv_nxt;
	it.tcp_flags = FTOE_TCP_ACK;
	it.win = r->win;
	if (r->flags & FTOE_TW_F_TS) {
		it.opts = FTOE_TX_O_TS;
		it.ts_val = (uint32_t)(e->now / 1000000u) + r->ts_off; /* as ftoe_proto_ts_now */
		it.ts_ecr = r->ts_recent;
	}
	e->st.tw_acks++;
	ftoe_tx_send(e, &a, &it);
}

bool ftoe_tw_rx(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t idx, uint32_t *isn)
{
	const struct ftoe_seg *s = &it->seg;
	struct ftoe_tuple_tab *tt = e->tw;
	struct ftoe_tw_rec *r = ftoe_tt_rec(tt, idx);
	bool ts = (r->flags & FTOE_TW_F_TS) && (s->opts & FTOE_OPT_TS);
	uint8_t f = s->tcp_flags;

	/* RFC 9293 3.10.7.4: a RST ends TIME_WAIT (Linux does the same
	 * unless tcp_rfc1337 is set). */
	if (f & FTOE_TCP_RST) {
		ftoe_tt_remove(tt, idx);
		return false;
	}
	/* RFC 7323 5.3 PAWS: an older TSval is an old duplicate. */
	if (ts && (int32_t)(s->ts_val - r->ts_recent) < 0) {
		tw_send_ack(e, idx);
		return false;
	}
	/* RFC 6191 (and RFC 9293 3.10.7.4's note on TIME_WAIT): a SYN whose
	 * sequence number is above the old connection's, or whose TSval is
	 * newer than TS.Recent, may start a new incarnation. */
	if ((f & FTOE_TCP_SYN) && !(f & FTOE_TCP_ACK) &&
	    (seq_after(s->seq, r->rcv_nxt) || (ts && (int32_t)(s->ts_val - r->ts_recent) > 0))) {
		*isn = ftoe_tw_reopen_isn(r->snd_nxt);
		ftoe_tt_remove(tt, idx);
		return true;
	}
	/* Linux: a bare ACK at rcv_nxt (the peer's ACK of our ACK, or a
	 * keepalive answered) needs nothing; everything else gets our ACK,
	 * and a FIN (retransmitted: ours was lost) restarts the 2 MSL. */
	if (!(f & (FTOE_TCP_SYN | FTOE_TCP_FIN)) && !s->payload_len && s->seq == r->rcv_nxt)
		return false;
	if (f & FTOE_TCP_FIN) {
		if (ts)
			r->ts_recent = s->ts_val;
		r->expiry = tw_expiry(e);
		ftoe_tt_touch(tt, idx);
		arm(e, r->expiry);
	}
	tw_send_ack(e, idx);
	return false;
}

uint64_t ftoe_tw_timers_run(struct ftoe_engine *e)
{
	struct ftoe_tuple_tab *tt = e->tw;
	uint32_t i;

	/* every record lives time_wait_ms from its last touch, so age order
	 * is expiry order */
	while ((i = ftoe_tt_oldest(tt)) != FTOE_TT_NONE) {
		struct ftoe_tw_rec *r = ftoe_tt_rec(tt, i);

		if (r->expiry > e->now)
			return r->expiry;
		ftoe_tt_remove(tt, i);
	}
	return UINT64_MAX;
}
