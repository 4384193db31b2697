/* cc.c - per-flow congestion control glue: DCTCP rate-based (default) or constant rate. */
#include "core/control/cc.h"
#include "core/control/dctcp.h"
#include "core/engine_internal.h"

/*
 * FlexTOE/TAS run congestion control out of the data path: the data path
 * only counts (bytes acked, bytes acked with ECE, losses) and the control
 * plane turns the counters into a pacing rate once per control interval
 * (about two RTTs).  The flow scheduler paces at flow_cc.rate_kbps.
 */

#define CC_MIN_INTERVAL_US 100

void ftoe_cc_init(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_cc *cc = &e->cc[id];
	struct ftoe_dctcp_rate_cfg cfg;

	cc->acked_bytes = cc->ecn_bytes = cc->acks = cc->dupacks = 0;
	cc->retransmits = 0;
	c->cc_acked = c->cc_ecn = c->cc_acks = c->cc_losses = 0;
	c->cc_last_ns = e->now;
	if (e->cfg.cc == FTOE_CC_CONST) {
		uint64_t kbps = e->cfg.const_rate_bps / 1000;

		cc->rate_kbps = kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)kbps;
		return;
	}
	ftoe_dctcp_rate_cfg_default(&cfg);
	ftoe_dctcp_rate_init(&c->dctcp, &cfg);
	cc->rate_kbps = c->dctcp.rate_kbps;
}

static void cc_update(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	uint64_t interval = 2ull * ftoe_rto_srtt(&c->rto), el;
	struct ftoe_cc_stats st;

	if (e->cfg.cc != FTOE_CC_DCTCP)
		return;
	if (interval < CC_MIN_INTERVAL_US)
		interval = CC_MIN_INTERVAL_US;
	el = (e->now - c->cc_last_ns) / 1000;
	if (el < interval)
		return;
	st.acked_bytes = c->cc_acked;
	st.ecn_bytes = c->cc_ecn;
	st.acks = c->cc_acks;
	st.losses = c->cc_losses;
	st.interval_us = el > UINT32_MAX ? UINT32_MAX : (uint32_t)el;
	c->cc_acked = c->cc_ecn = c->cc_acks = c->cc_losses = 0;
	c->cc_last_ns = e->now;
	e->cc[id].rate_kbps = ftoe_dctcp_rate_update(&c->dctcp, &st);
}

void ftoe_cc_on_ack(struct ftoe_engine *e, uint32_t id, uint32_t acked, bool ece)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_cc *cc = &e->cc[id];

	c->cc_acked += acked;
	c->cc_acks++;
	cc->acked_bytes += acked;
	cc->acks++;
	if (ece) {
		c->cc_ecn += acked;
		cc->ecn_bytes += acked;
	}
	cc_update(e, id);
}

void ftoe_cc_on_loss(struct ftoe_engine *e, uint32_t id)
{
	e->ctl[id].cc_losses++;
	e->cc[id].retransmits++;
	cc_update(e, id);
}
