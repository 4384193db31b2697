/* md_snapshot.c - fills struct flextoe_md with a flow's TCP state for the hooks (rx-post, tx-post). */
#include <errno.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/md_snapshot.h"

int ftoe_md_snapshot(const struct ftoe_engine *e, uint32_t id, enum flextoe_hook hook,
		     struct flextoe_md *md)
{
	const struct flow_tcp *t;
	const struct flow_cc *cc;

	memset(md, 0, sizeof(*md));
	md->size = sizeof(*md);
	md->version = FLEXTOE_MD_VERSION;
	md->hook = (uint8_t)hook;
	md->dir = hook == FLEXTOE_HOOK_TX_POST ? FLEXTOE_DIR_TX : FLEXTOE_DIR_RX;
	md->tstamp_ns = e->now;
	if (id >= e->nflows || !e->ctl[id].in_use)
		return -ENOENT;
	t = &e->tcp[id];
	cc = &e->cc[id];
	md->flags = FLEXTOE_MDF_FLOW;
	md->flow_id = id;
	md->snd_una = t->snd_una;
	md->snd_nxt = t->snd_nxt;
	md->rcv_nxt = t->rcv_nxt;
	md->snd_wnd = t->snd_wnd;
	md->rcv_wnd = t->rcv_wnd;
	/* DCTCP paces by rate (docs/design.md section 3); a window-based
	 * controller keeps cwnd in bytes (its rate only spreads the window). */
	if (cc->rate_kbps && !cc->cwnd) {
		md->cwnd = cc->rate_kbps;
		md->flags |= FLEXTOE_MDF_RATE;
	} else {
		md->cwnd = cc->cwnd;
	}
	md->srtt_us = cc->rtt_us;
	return 0;
}
