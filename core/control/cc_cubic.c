/* cc_cubic.c - CUBIC (RFC 9438) on a window (cubic) and as a pacing-rate controller (cubic-rate). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "core/control/cc_cubic.h"

#define CUBIC_C     0.4   /* RFC 9438 4.2, segments / s^3 */
#define CUBIC_BETA  0.7   /* RFC 9438 4.6 */
/* RFC 9438 4.3: alpha_cubic = 3 (1 - beta) / (1 + beta) */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))
#define DEFAULT_SRTT_US 1000u

void ftoe_cubic_cfg_default(struct ftoe_cubic_cfg *cfg)
{
	cfg->init_kbps = 10 * 1000;
	cfg->min_kbps = 1000;
	cfg->max_kbps = 40u * 1000 * 1000;
	cfg->min_acks = 8;
}

int ftoe_cubic_init(struct ftoe_cubic *c, const struct ftoe_cubic_cfg *cfg, uint32_t srtt_us)
{
	if (!cfg->min_kbps || cfg->min_kbps > cfg->max_kbps ||
	    cfg->init_kbps < cfg->min_kbps || cfg->init_kbps > cfg->max_kbps)
		return -EINVAL;
	c->cfg = *cfg;
	c->rate_kbps = cfg->init_kbps;
	c->w_max_kbps = c->w_last_max_kbps = 0;
	c->act_kbps = 0;
	c->srtt_us = srtt_us ? srtt_us : DEFAULT_SRTT_US;
	c->k_us = 0;
	c->epoch_us = 0;
	c->w_est = 0;
	c->slow_start = true;
	c->pend_acked = c->pend_acks = c->pend_losses = c->pend_us = 0;
	return 0;
}

void ftoe_cubic_rtt(struct ftoe_cubic *c, uint32_t rtt_us)
{
	if (!rtt_us)
		rtt_us = 1;
	c->srtt_us = (uint32_t)((7ull * c->srtt_us + rtt_us) / 8);
	if (!c->srtt_us)
		c->srtt_us = 1;
}

/* Window in segments <-> rate in kbps (bits per ms) at the current SRTT. */
static double to_segs(const struct ftoe_cubic *c, double kbps)
{
	return kbps * c->srtt_us / (8000.0 * FTOE_CUBIC_MSS);
}

static double to_kbps(const struct ftoe_cubic *c, double segs)
{
	return segs * 8000.0 * FTOE_CUBIC_MSS / c->srtt_us;
}

static uint32_t clamp_rate(const struct ftoe_cubic *c, double kbps)
{
	if (kbps < c->cfg.min_kbps)
		return c->cfg.min_kbps;
	if (kbps > c->cfg.max_kbps)
		return c->cfg.max_kbps;
	return (uint32_t)kbps;
}

/* RFC 9438 4.6 and 4.7: a congestion event. */
static void cubic_cut(struct ftoe_cubic *c)
{
	uint32_t w = c->rate_kbps;

	/* Fast convergence: a flow whose W_max keeps falling gives room
	 * to newer flows by remembering less than it had. */
	if (w < c->w_last_max_kbps)
		c->w_max_kbps = (uint32_t)(w * (1.0 + CUBIC_BETA) / 2.0);
	else
		c->w_max_kbps = w;
	c->w_last_max_kbps = w;
	c->rate_kbps = clamp_rate(c, w * CUBIC_BETA);
	c->w_est = to_segs(c, c->rate_kbps);
	c->k_us = (uint32_t)(cbrt(to_segs(c, c->w_max_kbps) * (1.0 - CUBIC_BETA) / CUBIC_C) * 1e6);
	c->epoch_us = 0;
	c->slow_start = false;
}

/* RFC 9438 4.2-4.5: the window's growth over one interval. */
static void cubic_grow(struct ftoe_cubic *c, uint32_t interval_us)
{
	double cur = to_segs(c, c->rate_kbps), w_max = to_segs(c, c->w_max_kbps);
	double t, target, alpha;

	c->epoch_us += interval_us;
	/* W_cubic(t + RTT) */
	t = ((double)c->epoch_us + c->srtt_us - c->k_us) / 1e6;
	target = CUBIC_C * t * t * t + w_max;
	/* 4.3: the Reno-friendly estimate, alpha_cubic segments per RTT
	 * below W_max, 1 above it. */
	alpha = c->w_est >= w_max ? 1.0 : CUBIC_ALPHA;
	c->w_est += alpha * interval_us / c->srtt_us;
	if (c->w_est > target)
		target = c->w_est;
	/* 4.2: the target is bounded by 1.5 cwnd; below cwnd, cwnd stays */
	if (target > 1.5 * cur)
		target = 1.5 * cur;
	if (target > cur) {
		uint32_t r = clamp_rate(c, to_kbps(c, target));

		if (r > c->rate_kbps)
			c->rate_kbps = r;
	}
}

uint32_t ftoe_cubic_update(struct ftoe_cubic *c, const struct ftoe_cc_stats *st)
{
	uint32_t acked = ftoe_cc_sat_add(c->pend_acked, st->acked_bytes);
	uint32_t acks = ftoe_cc_sat_add(c->pend_acks, st->acks);
	uint32_t losses = ftoe_cc_sat_add(c->pend_losses, st->losses);
	uint32_t us = ftoe_cc_sat_add(c->pend_us, st->interval_us);
	uint64_t act = 0;

	if (acks < c->cfg.min_acks && losses == 0) {
		c->pend_acked = acked;
		c->pend_acks = acks;
		c->pend_losses = losses;
		c->pend_us = us;
		return c->rate_kbps;
	}
	c->pend_acked = c->pend_acks = c->pend_losses = c->pend_us = 0;

	if (us) {
		act = (uint64_t)acked * 8 * 1000 / us;
		if (act > UINT32_MAX)
			act = UINT32_MAX;
		c->act_kbps = (uint32_t)((7 * (uint64_t)c->act_kbps + act) / 8);
		if (act < c->act_kbps)
			act = c->act_kbps;
	}
	if (losses)
		cubic_cut(c);
	else if (c->slow_start)
		c->rate_kbps = clamp_rate(c, 2.0 * c->rate_kbps);
	else
		cubic_grow(c, us);
	/* Never bank a rate the path was not shown to carry. */
	if (us && c->rate_kbps > act + act / 4)
		c->rate_kbps = clamp_rate(c, (double)(act + act / 4));
	return c->rate_kbps;
}

uint32_t ftoe_cubic_undo(struct ftoe_cubic *c, uint32_t rate_kbps)
{
	if (rate_kbps <= c->rate_kbps)
		return c->rate_kbps;
	/* RFC 9438 4.9: back to the state before the cut, which had reached
	 * W_max (the plateau of the curve): go on from there. */
	c->rate_kbps = clamp_rate(c, rate_kbps);
	if (c->rate_kbps > c->w_max_kbps)
		c->w_max_kbps = c->rate_kbps;
	c->w_est = to_segs(c, c->rate_kbps);
	c->k_us = 0;
	c->epoch_us = 0;
	return c->rate_kbps;
}

/* ---- the window form ------------------------------------------------- */

/* RFC 9438 4.6 and 4.7, at a congestion event: W_max, with fast
 * convergence, and the new ssthresh, beta_cubic times the window. */
uint32_t ftoe_cubic_win_ssthresh(struct ftoe_cubic_win *c, const struct ftoe_cc_win *w)
{
	double cwnd = (double)w->cwnd / w->mss;

	c->cwnd_prior = cwnd;
	c->w_max_prior = c->w_max;
	c->w_last_max_prior = c->w_last_max;
	if (cwnd < c->w_last_max)
		c->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
	else
		c->w_max = cwnd;
	c->w_last_max = cwnd;
	c->epoch_us = 0;
	return (uint32_t)(w->cwnd * CUBIC_BETA);
}

/* RFC 9438 4.2-4.5 per ACK: toward W_cubic(t + RTT), never below the
 * Reno-friendly estimate, the target at most 1.5 cwnd. */
void ftoe_cubic_win_avoid(struct ftoe_cubic_win *c, struct ftoe_cc_win *w, uint32_t acked)
{
	double cwnd = (double)w->cwnd / w->mss, segs = (double)acked / w->mss, t, target;
	double rtt_s = (w->srtt_us ? w->srtt_us : DEFAULT_SRTT_US) / 1e6;

	if (!c->epoch_us) {
		/* 4.2: a new epoch starts from the current window */
		c->epoch_us = w->now_us ? w->now_us : 1;
		if (c->w_max < cwnd)
			c->w_max = cwnd;
		c->k_s = cbrt((c->w_max - cwnd) / CUBIC_C);
		c->w_est = cwnd;
	}
	t = (double)(w->now_us - c->epoch_us) / 1e6 + rtt_s;
	target = CUBIC_C * (t - c->k_s) * (t - c->k_s) * (t - c->k_s) + c->w_max;
	if (target < cwnd)
		target = cwnd;
	if (target > 1.5 * cwnd)
		target = 1.5 * cwnd;
	/* 4.3: alpha_cubic segments per RTT below W_max, 1 above it */
	c->w_est += (c->w_est >= c->w_max ? 1.0 : CUBIC_ALPHA) * segs / cwnd;
	if (c->w_est > target)
		cwnd = c->w_est;
	else
		cwnd += (target - cwnd) / cwnd * segs;
	w->cwnd = cwnd * w->mss > 4e9 ? 4000000000u : (uint32_t)(cwnd * w->mss);
}

/* RFC 9438 4.9: a spurious cut is taken back, W_max and all. */
void ftoe_cubic_win_undo(struct ftoe_cubic_win *c, const struct ftoe_cc_win *w)
{
	(void)w;
	if (c->cwnd_prior <= 0)
		return;
	c->w_max = c->w_max_prior;
	c->w_last_max = c->w_last_max_prior;
	c->epoch_us = 0;
	c->cwnd_prior = 0;
}

_Static_assert(sizeof(struct ftoe_cubic_win) <= FTOE_CC_PRIV_SIZE,
	       "CUBIC's window state must fit the per-flow congestion-control area");

static uint32_t cubic_win_init(void *priv, uint64_t param, uint32_t srtt_us)
{
	(void)param;
	(void)srtt_us;
	memset(priv, 0, sizeof(struct ftoe_cubic_win));
	return 0;
}

static uint32_t cubic_win_ssthresh(void *priv, const struct ftoe_cc_win *w)
{
	return ftoe_cubic_win_ssthresh(priv, w);
}

static void cubic_win_avoid(void *priv, struct ftoe_cc_win *w, uint32_t acked)
{
	ftoe_cubic_win_avoid(priv, w, acked);
}

static void cubic_win_undo(void *priv, const struct ftoe_cc_win *w)
{
	ftoe_cubic_win_undo(priv, w);
}

const struct ftoe_cc_ops ftoe_cc_cubic = {
	.name = "cubic",
	.summary = "CUBIC (RFC 9438) on a window in bytes: loss-based, for lossy paths",
	.priv_size = sizeof(struct ftoe_cubic_win),
	.init = cubic_win_init,
	.ssthresh = cubic_win_ssthresh,
	.cong_avoid = cubic_win_avoid,
	.undo_cwnd = cubic_win_undo,
};

/* ---- the rate form ---------------------------------------------------- */

/* The engine's rate-based CUBIC: the controller above with its defaults. */
_Static_assert(sizeof(struct ftoe_cubic) <= FTOE_CC_PRIV_SIZE,
	       "CUBIC state must fit the per-flow congestion-control area");

static uint32_t cubic_init(void *priv, uint64_t param, uint32_t srtt_us)
{
	struct ftoe_cubic *c = priv;
	struct ftoe_cubic_cfg cfg;

	(void)param;
	ftoe_cubic_cfg_default(&cfg);
	ftoe_cubic_init(c, &cfg, srtt_us);
	return c->rate_kbps;
}

static uint32_t cubic_on_rtt(void *priv, uint32_t rtt_us)
{
	struct ftoe_cubic *c = priv;

	ftoe_cubic_rtt(c, rtt_us);
	return c->rate_kbps;
}

static uint32_t cubic_on_interval(void *priv, const struct ftoe_cc_stats *st)
{
	return ftoe_cubic_update(priv, st);
}

static uint32_t cubic_undo(void *priv, uint32_t rate_kbps)
{
	return ftoe_cubic_undo(priv, rate_kbps);
}

const struct ftoe_cc_ops ftoe_cc_cubic_rate = {
	.name = "cubic-rate",
	.summary = "CUBIC (RFC 9438) carried over to a pacing rate (the engine's earlier cubic)",
	.priv_size = sizeof(struct ftoe_cubic),
	.init = cubic_init,
	.on_rtt = cubic_on_rtt,
	.on_interval = cubic_on_interval,
	.undo = cubic_undo,
};
