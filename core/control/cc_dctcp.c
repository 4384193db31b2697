/* cc_dctcp.c - DCTCP (RFC 8257) alpha estimation, window- and rate-based control. */
#include <errno.h>

#include "core/control/cc_dctcp.h"
#include "core/tcp_seq.h"

void ftoe_dctcp_alpha_init(struct ftoe_dctcp_alpha *a, uint32_t alpha_init)
{
	a->alpha = alpha_init > FTOE_DCTCP_ONE ? FTOE_DCTCP_ONE : alpha_init;
	a->acked = 0;
	a->marked = 0;
	a->window_end = 0;
	a->window_started = false;
}

static uint32_t alpha_fold(uint32_t alpha, uint32_t acked, uint32_t marked)
{
	uint32_t frac;

	if (acked == 0)
		return alpha;
	if (marked > acked)
		marked = acked;
	frac = (uint32_t)(((uint64_t)marked << FTOE_DCTCP_SHIFT) / acked);
	/* alpha - alpha*g + F*g.  With F = 1 this rises to exactly ONE (the
	 * truncated alpha >> 4 is then one short of ONE >> 4, so each step
	 * still adds); with F = 0 it decays as (1 - g)^n, rounded up. */
	return alpha - (alpha >> FTOE_DCTCP_G_SHIFT) + (frac >> FTOE_DCTCP_G_SHIFT);
}

uint32_t ftoe_dctcp_alpha_fold(struct ftoe_dctcp_alpha *a, uint32_t acked,
			       uint32_t marked)
{
	a->alpha = alpha_fold(a->alpha, acked, marked);
	if (a->alpha > FTOE_DCTCP_ONE)
		a->alpha = FTOE_DCTCP_ONE;
	return a->alpha;
}

bool ftoe_dctcp_on_ack(struct ftoe_dctcp_alpha *a, uint32_t snd_una,
		       uint32_t snd_nxt, uint32_t acked_bytes, bool ece)
{
	if (!a->window_started) {
		a->window_end = snd_nxt;
		a->window_started = true;
	}
	/* Saturating: a window never acks 4 GiB, but never wrap silently. */
	a->acked = a->acked + acked_bytes < a->acked ? UINT32_MAX : a->acked + acked_bytes;
	if (ece)
		a->marked = a->marked + acked_bytes < a->marked ? UINT32_MAX :
			    a->marked + acked_bytes;
	/* Step 6: the window ends when snd_una passes its end. */
	if (seq_before_eq(snd_una, a->window_end))
		return false;
	ftoe_dctcp_alpha_fold(a, a->acked, a->marked);
	a->acked = 0;
	a->marked = 0;
	a->window_end = snd_nxt;
	return true;
}

uint32_t ftoe_dctcp_cwnd_reduce(uint32_t cwnd, uint32_t alpha, uint32_t min_cwnd)
{
	uint64_t cut = ((uint64_t)cwnd * alpha) >> (FTOE_DCTCP_SHIFT + 1);
	uint32_t w = cwnd - (uint32_t)cut;

	return w < min_cwnd ? min_cwnd : w;
}

void ftoe_dctcp_rate_cfg_default(struct ftoe_dctcp_rate_cfg *cfg)
{
	/* The TAS defaults in spirit: start low, 10 Mbps steps, 40 Gbps cap. */
	cfg->init_kbps = 10 * 1000;
	cfg->min_kbps = 1000;
	cfg->max_kbps = 40u * 1000 * 1000;
	cfg->step_kbps = 10 * 1000;
	cfg->min_acks = 8;
}

int ftoe_dctcp_rate_init(struct ftoe_dctcp_rate *d, const struct ftoe_dctcp_rate_cfg *cfg)
{
	if (!cfg->min_kbps || cfg->min_kbps > cfg->max_kbps ||
	    cfg->init_kbps < cfg->min_kbps || cfg->init_kbps > cfg->max_kbps)
		return -EINVAL;
	d->cfg = *cfg;
	d->rate_kbps = cfg->init_kbps;
	d->alpha = FTOE_DCTCP_ONE;
	d->act_kbps = 0;
	d->slow_start = true;
	d->pend_acked = d->pend_marked = d->pend_acks = d->pend_losses = 0;
	d->pend_us = 0;
	return 0;
}

uint32_t ftoe_dctcp_rate_update(struct ftoe_dctcp_rate *d, const struct ftoe_cc_stats *st)
{
	uint32_t acked = ftoe_cc_sat_add(d->pend_acked, st->acked_bytes);
	uint32_t marked = ftoe_cc_sat_add(d->pend_marked, st->ecn_bytes);
	uint32_t acks = ftoe_cc_sat_add(d->pend_acks, st->acks);
	uint32_t losses = ftoe_cc_sat_add(d->pend_losses, st->losses);
	uint32_t us = ftoe_cc_sat_add(d->pend_us, st->interval_us);
	uint64_t rate = d->rate_kbps;

	if (acks < d->cfg.min_acks && losses == 0) {
		d->pend_acked = acked;
		d->pend_marked = marked;
		d->pend_acks = acks;
		d->pend_losses = losses;
		d->pend_us = us;
		return d->rate_kbps;
	}
	d->pend_acked = d->pend_marked = d->pend_acks = d->pend_losses = 0;
	d->pend_us = 0;

	/* Achieved rate: bytes * 8 / us = Mbit/s, * 1000 = kbps. */
	if (us) {
		uint64_t act = (uint64_t)acked * 8 * 1000 / us;

		if (act > UINT32_MAX)
			act = UINT32_MAX;
		d->act_kbps = (uint32_t)((7 * (uint64_t)d->act_kbps + act) / 8);
		if (act < d->act_kbps)
			act = d->act_kbps;
		if (rate > act * 12 / 10)
			rate = act * 12 / 10;
	}

	if (d->slow_start && (losses || marked))
		d->slow_start = false;

	if (d->slow_start) {
		rate *= 2;
	} else if (losses) {
		rate /= 2;
	} else {
		d->alpha = alpha_fold(d->alpha, acked, marked);
		if (marked)
			rate -= (rate * d->alpha) >> (FTOE_DCTCP_SHIFT + 1);
		else
			rate += d->cfg.step_kbps;
	}

	if (rate < d->cfg.min_kbps)
		rate = d->cfg.min_kbps;
	if (rate > d->cfg.max_kbps)
		rate = d->cfg.max_kbps;
	d->rate_kbps = (uint32_t)rate;
	return d->rate_kbps;
}

/* The engine's DCTCP: the rate controller above with its defaults, run
 * once per control interval. */
_Static_assert(sizeof(struct ftoe_dctcp_rate) <= FTOE_CC_PRIV_SIZE,
	       "DCTCP state must fit the per-flow congestion-control area");

static uint32_t dctcp_init(void *priv, uint64_t param, uint32_t srtt_us)
{
	struct ftoe_dctcp_rate *d = priv;
	struct ftoe_dctcp_rate_cfg cfg;

	(void)param;
	(void)srtt_us;
	ftoe_dctcp_rate_cfg_default(&cfg);
	ftoe_dctcp_rate_init(d, &cfg);
	return d->rate_kbps;
}

static uint32_t dctcp_on_interval(void *priv, const struct ftoe_cc_stats *st)
{
	return ftoe_dctcp_rate_update(priv, st);
}

/* A spurious loss (Eifel, D-SACK): the rate before the halving. */
static uint32_t dctcp_undo(void *priv, uint32_t rate_kbps)
{
	struct ftoe_dctcp_rate *d = priv;

	if (rate_kbps > d->cfg.max_kbps)
		rate_kbps = d->cfg.max_kbps;
	if (rate_kbps > d->rate_kbps)
		d->rate_kbps = rate_kbps;
	return d->rate_kbps;
}

const struct ftoe_cc_ops ftoe_cc_dctcp = {
	.name = "dctcp",
	.summary = "rate-based DCTCP (RFC 8257 alpha from ECN marks), the default",
	.priv_size = sizeof(struct ftoe_dctcp_rate),
	.init = dctcp_init,
	.on_interval = dctcp_on_interval,
	.undo = dctcp_undo,
};
