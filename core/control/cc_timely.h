/* cc_timely.h - TIMELY (Mittal et al., SIGCOMM 2015): rate control from RTT gradients. */
#ifndef FTOE_CORE_CONTROL_CC_TIMELY_H
#define FTOE_CORE_CONTROL_CC_TIMELY_H

#include <stdint.h>

#include "core/control/cc.h"

/*
 * TIMELY, the paper's Algorithm 1, once per RTT sample (the paper's
 * completion event; here the engine's timed segment, one per RTT):
 *
 *   new_rtt_diff = new_rtt - prev_rtt;  prev_rtt = new_rtt
 *   rtt_diff = (1 - alpha) * rtt_diff + alpha * new_rtt_diff
 *   gradient = rtt_diff / min_rtt
 *   new_rtt < T_low:   rate += delta
 *   new_rtt > T_high:  rate *= 1 - beta * (1 - T_high / new_rtt)
 *   gradient <= 0:     rate += N * delta, N = hai_n after hai_n such
 *                      increases in a row (hyperactive increase), else 1
 *   gradient > 0:      rate *= 1 - beta * gradient
 *
 * min_rtt is the flow's smallest sample, never below cfg.min_rtt_us (the
 * paper's fixed minRTT).  Loss is outside the paper (its fabric does not
 * drop): a control interval with losses halves the rate, as DCTCP does.
 * Fixed point: alpha and beta Q16 (1.0 = 65536), rtt_diff in 1/256 us.
 */
#define FTOE_TIMELY_ONE 65536u

struct ftoe_timely_cfg {
	uint32_t t_low_us, t_high_us;
	uint32_t step_kbps;        /* delta */
	uint32_t beta_q16;         /* multiplicative decrease factor */
	uint32_t alpha_q16;        /* EWMA weight of the newest difference */
	uint32_t hai_n;            /* N */
	uint32_t min_rtt_us;       /* floor of the gradient's normaliser */
	uint32_t init_kbps, min_kbps, max_kbps;
};

struct ftoe_timely {
	struct ftoe_timely_cfg cfg;
	uint32_t rate_kbps;
	uint32_t prev_rtt_us;      /* 0: no sample yet */
	uint32_t min_rtt_us;       /* smallest sample (0: none) */
	int32_t rtt_diff_q8;       /* EWMA of RTT differences, 1/256 us */
	uint32_t incr_run;         /* gradient <= 0 increases in a row */
};

/* The paper's parameters: T_low 50 us, T_high 500 us, delta 10 Mbps,
 * beta 0.8, alpha 0.875, N 5, minRTT 20 us; rates 10 Mbps..40 Gbps,
 * starting at 1 Gbps. */
void ftoe_timely_cfg_default(struct ftoe_timely_cfg *cfg);
/* 0, or -EINVAL for an inconsistent cfg. */
int ftoe_timely_init(struct ftoe_timely *t, const struct ftoe_timely_cfg *cfg);
/* One RTT sample; returns the new rate in kbps. */
uint32_t ftoe_timely_on_rtt(struct ftoe_timely *t, uint32_t rtt_us);
/* A control interval's counters: halves on loss; returns the rate. */
uint32_t ftoe_timely_on_interval(struct ftoe_timely *t, const struct ftoe_cc_stats *st);

#endif
