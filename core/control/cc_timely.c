/* cc_timely.c - TIMELY (Mittal et al., SIGCOMM 2015): rate control from RTT gradients. */
#include <errno.h>

#include "core/control/cc_timely.h"

_Static_assert(sizeof(struct ftoe_timely) <= FTOE_CC_PRIV_SIZE,
	       "TIMELY state must fit the per-flow congestion-control area");

void ftoe_timely_cfg_default(struct ftoe_timely_cfg *cfg)
{
	cfg->t_low_us = 50;
	cfg->t_high_us = 500;
	cfg->step_kbps = 10 * 1000;
	cfg->beta_q16 = FTOE_TIMELY_ONE * 8 / 10;
	cfg->alpha_q16 = FTOE_TIMELY_ONE * 7 / 8;
	cfg->hai_n = 5;
	cfg->min_rtt_us = 20;
	cfg->init_kbps = 1000 * 1000;
	cfg->min_kbps = 100 * 1000;
	cfg->max_kbps = 40u * 1000 * 1000;
}

int ftoe_timely_init(struct ftoe_timely *t, const struct ftoe_timely_cfg *cfg)
{
	if (!cfg->min_kbps || cfg->min_kbps > cfg->max_kbps || cfg->init_kbps < cfg->min_kbps ||
	    cfg->init_kbps > cfg->max_kbps || !cfg->t_low_us || cfg->t_low_us > cfg->t_high_us ||
	    cfg->beta_q16 > FTOE_TIMELY_ONE || cfg->alpha_q16 > FTOE_TIMELY_ONE ||
	    !cfg->hai_n || !cfg->min_rtt_us)
		return -EINVAL;
	t->cfg = *cfg;
	t->rate_kbps = cfg->init_kbps;
	t->prev_rtt_us = 0;
	t->min_rtt_us = 0;
	t->rtt_diff_q8 = 0;
	t->incr_run = 0;
	return 0;
}

/* rate * (1 - f), f in Q16; f >= 1 leaves nothing (the caller clamps). */
static uint64_t rate_cut(uint64_t rate, uint64_t f_q16)
{
	return f_q16 >= FTOE_TIMELY_ONE ? 0 : rate - ((rate * f_q16) >> 16);
}

static uint32_t rate_clamp(const struct ftoe_timely *t, uint64_t rate)
{
	if (rate < t->cfg.min_kbps)
		return t->cfg.min_kbps;
	if (rate > t->cfg.max_kbps)
		return t->cfg.max_kbps;
	return (uint32_t)rate;
}

uint32_t ftoe_timely_on_rtt(struct ftoe_timely *t, uint32_t rtt_us)
{
	const struct ftoe_timely_cfg *cfg = &t->cfg;
	int64_t new_diff_q8 = 0, diff, norm, grad_q16;
	uint64_t rate = t->rate_kbps;

	if (rtt_us == 0)
		rtt_us = 1;
	if (t->prev_rtt_us)
		new_diff_q8 = ((int64_t)rtt_us - t->prev_rtt_us) * 256;
	t->prev_rtt_us = rtt_us;
	/* Rounded to nearest (not truncated): with a flat RTT the average
	 * must reach 0 exactly, or a leftover 1/256 us would read as a rising
	 * RTT for ever and the rate never increase. */
	diff = (int64_t)t->rtt_diff_q8;
	diff += ((new_diff_q8 - diff) * (int64_t)cfg->alpha_q16 + FTOE_TIMELY_ONE / 2) >> 16;
	if (diff > INT32_MAX)
		diff = INT32_MAX;
	if (diff < INT32_MIN)
		diff = INT32_MIN;
	t->rtt_diff_q8 = (int32_t)diff;
	if (!t->min_rtt_us || rtt_us < t->min_rtt_us)
		t->min_rtt_us = rtt_us;

	if (rtt_us < cfg->t_low_us) {
		rate += cfg->step_kbps;
	} else if (rtt_us > cfg->t_high_us) {
		uint64_t d_q16 = (uint64_t)cfg->t_high_us * FTOE_TIMELY_ONE / rtt_us;

		rate = rate_cut(rate, (cfg->beta_q16 * (FTOE_TIMELY_ONE - d_q16)) >> 16);
		t->incr_run = 0;
	} else {
		norm = t->min_rtt_us > cfg->min_rtt_us ? t->min_rtt_us : cfg->min_rtt_us;
		/* gradient = rtt_diff / min_rtt, Q16; beyond 16 the cut is total anyway */
		grad_q16 = diff * 256 / norm;
		if (grad_q16 > 16 * (int64_t)FTOE_TIMELY_ONE)
			grad_q16 = 16 * (int64_t)FTOE_TIMELY_ONE;
		if (grad_q16 <= 0) {
			rate += (uint64_t)cfg->step_kbps * (t->incr_run >= cfg->hai_n ? cfg->hai_n : 1);
			t->incr_run++;
		} else {
			rate = rate_cut(rate, ((uint64_t)cfg->beta_q16 * (uint64_t)grad_q16) >> 16);
			t->incr_run = 0;
		}
	}
	t->rate_kbps = rate_clamp(t, rate);
	return t->rate_kbps;
}

uint32_t ftoe_timely_on_interval(struct ftoe_timely *t, const struct ftoe_cc_stats *st)
{
	if (st->losses) {
		t->rate_kbps = rate_clamp(t, t->rate_kbps / 2);
		t->incr_run = 0;
	}
	return t->rate_kbps;
}

static uint32_t timely_init(void *priv, uint64_t param, uint32_t srtt_us)
{
	struct ftoe_timely *t = priv;
	struct ftoe_timely_cfg cfg;

	(void)param;
	(void)srtt_us;
	ftoe_timely_cfg_default(&cfg);
	ftoe_timely_init(t, &cfg);
	return t->rate_kbps;
}

static uint32_t timely_on_rtt(void *priv, uint32_t rtt_us)
{
	return ftoe_timely_on_rtt(priv, rtt_us);
}

static uint32_t timely_on_interval(void *priv, const struct ftoe_cc_stats *st)
{
	return ftoe_timely_on_interval(priv, st);
}

/* A spurious loss (Eifel, D-SACK): the rate before the halving. */
static uint32_t timely_undo(void *priv, uint32_t rate_kbps)
{
	struct ftoe_timely *t = priv;

	if (rate_kbps > t->rate_kbps)
		t->rate_kbps = rate_clamp(t, rate_kbps);
	return t->rate_kbps;
}

const struct ftoe_cc_ops ftoe_cc_timely = {
	.name = "timely",
	.summary = "TIMELY (SIGCOMM 2015): the rate follows the RTT gradient",
	.priv_size = sizeof(struct ftoe_timely),
	.init = timely_init,
	.on_rtt = timely_on_rtt,
	.on_interval = timely_on_interval,
	.undo = timely_undo,
};
