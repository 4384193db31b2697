/* rto.c - RTT estimation and retransmission timeout (RFC 6298). */
#include <errno.h>

#include "core/rto.h"

void ftoe_rto_cfg_default(struct ftoe_rto_cfg *cfg)
{
	cfg->min_us = 200 * 1000;
	cfg->max_us = 60 * 1000 * 1000;
	cfg->initial_us = 1000 * 1000;
	cfg->granularity_us = 1;
	cfg->max_backoffs = FTOE_RTO_RETRIES_DEFAULT;
}

static uint32_t clamp_rto(const struct ftoe_rto *r, uint64_t v)
{
	if (v < r->cfg.min_us)
		return r->cfg.min_us;
	if (v > r->cfg.max_us)
		return r->cfg.max_us;
	return (uint32_t)v;
}

int ftoe_rto_init(struct ftoe_rto *r, const struct ftoe_rto_cfg *cfg)
{
	if (!cfg->min_us || !cfg->max_us || cfg->min_us > cfg->max_us ||
	    !cfg->initial_us)
		return -EINVAL;
	r->cfg = *cfg;
	r->srtt8 = 0;
	r->rttvar4 = 0;
	r->min_us = 0;
	r->backoffs = 0;
	r->have_sample = false;
	r->rto_us = clamp_rto(r, cfg->initial_us);
	return 0;
}

/* Section 2.2/2.3: RTO = SRTT + max(G, K * RTTVAR), K = 4. */
static void rto_update(struct ftoe_rto *r)
{
	uint64_t var = r->rttvar4; /* 4 * RTTVAR */

	if (var < r->cfg.granularity_us)
		var = r->cfg.granularity_us;
	r->rto_us = clamp_rto(r, (uint64_t)(r->srtt8 >> 3) + var);
}

void ftoe_rto_sample(struct ftoe_rto *r, uint32_t rtt_us, bool retransmitted)
{
	if (retransmitted)
		return; /* Karn */
	if (rtt_us == 0)
		rtt_us = 1;
	if (rtt_us > (UINT32_MAX >> 3))
		rtt_us = UINT32_MAX >> 3;

	if (!r->have_sample) {
		/* 2.2: SRTT = R, RTTVAR = R/2 */
		r->srtt8 = rtt_us << 3;
		r->rttvar4 = (rtt_us >> 1) << 2;
		r->have_sample = true;
	} else {
		/* 2.3, RTTVAR first (it uses the old SRTT):
		 * RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'|  (in units of 1/4)
		 * SRTT   = 7/8 SRTT   + 1/8 R'           (in units of 1/8) */
		uint32_t srtt = r->srtt8 >> 3;
		uint32_t err = srtt > rtt_us ? srtt - rtt_us : rtt_us - srtt;

		r->rttvar4 = r->rttvar4 - (r->rttvar4 >> 2) + err;
		r->srtt8 = r->srtt8 - (r->srtt8 >> 3) + rtt_us;
	}
	if (!r->min_us || rtt_us < r->min_us)
		r->min_us = rtt_us;
	r->backoffs = 0;
	rto_update(r);
}

uint32_t ftoe_rto_current(const struct ftoe_rto *r)
{
	uint64_t v = r->rto_us;

	for (unsigned i = 0; i < r->backoffs && v < r->cfg.max_us; i++)
		v <<= 1;
	return clamp_rto(r, v);
}

int ftoe_rto_timeout(struct ftoe_rto *r)
{
	if (r->backoffs >= r->cfg.max_backoffs)
		return -ETIMEDOUT;
	r->backoffs++;
	return 0;
}
