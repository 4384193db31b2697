/* cc_cubic.h - CUBIC (RFC 9438) as a pacing-rate controller, for lossy paths. */
#ifndef FTOE_CORE_CONTROL_CC_CUBIC_H
#define FTOE_CORE_CONTROL_CC_CUBIC_H

#include <stdbool.h>
#include <stdint.h>

#include "core/control/cc.h"

/*
 * The engine's controllers set a rate, not a window, so RFC 9438's window
 * W (segments) is carried as the rate W * MSS / SRTT.  The rules are the
 * RFC's, once per control interval (about 2 SRTT, core/control/cc.c):
 *
 * - slow start doubles the rate each interval until the first loss;
 * - a loss (one per recovery episode, as the data path reports them) sets
 *   W_max to the current rate, or less with fast convergence (4.7), and
 *   multiplies the rate by beta_cubic = 0.7 (4.6);
 * - without loss the rate follows W_cubic(t + RTT) = C (t + RTT - K)^3 +
 *   W_max, C = 0.4, K = cbrt(W_max (1 - beta) / C) (4.2), never more than
 *   1.5 times the current rate (the RFC's target bound), and never below
 *   the Reno-friendly estimate W_est, which gains alpha_cubic segments per
 *   RTT (4.3; alpha 3 (1 - beta) / (1 + beta) until W_max, 1 after).
 *
 * At LAN round trips (a few ms) the cubic curve is slow (C is in segments
 * per s^3) and W_est sets the pace, as it does in Linux's CUBIC there.
 *
 * Like DCTCP's rate controller, the rate never grows past 1.25 times the
 * rate the ACKs show delivered (SACKed bytes included), so a flow that is
 * limited by its application or its peer's window does not bank a rate it
 * cannot use.
 */
#define FTOE_CUBIC_MSS 1448u      /* segment size the window is counted in */

struct ftoe_cubic_cfg {
	uint32_t init_kbps;
	uint32_t min_kbps;
	uint32_t max_kbps;
	uint32_t min_acks;        /* shorter intervals carry over (as DCTCP) */
};

struct ftoe_cubic {
	struct ftoe_cubic_cfg cfg;
	uint32_t rate_kbps;
	uint32_t w_max_kbps;      /* rate before the last cut (W_max), after fast convergence */
	uint32_t w_last_max_kbps; /* the W_max before that (4.7) */
	uint32_t act_kbps;        /* smoothed delivered rate (EWMA 1/8) */
	uint32_t srtt_us;         /* smoothed RTT samples (1/8) */
	uint32_t k_us;            /* K, the time from the cut to W_max again */
	uint64_t epoch_us;        /* time since the last cut */
	double w_est;             /* Reno-friendly estimate, segments */
	bool slow_start;
	uint32_t pend_acked, pend_acks, pend_losses, pend_us;
};

/* The window form (the "cubic" algorithm): RFC 9438 on cwnd in bytes,
 * driven per ACK by the glue's ssthresh / cong_avoid / undo_cwnd. */
struct ftoe_cubic_win {
	double w_max;             /* segments: the window before the last cut (after fast convergence) */
	double w_last_max;        /* the W_max before that (4.7) */
	double w_est;             /* Reno-friendly estimate, segments (4.3) */
	double k_s;               /* K, seconds from the epoch to W_max (4.2) */
	uint64_t epoch_us;        /* start of this avoidance epoch, 0: none yet */
	double cwnd_prior;        /* segments: the window at the last cut (for undo) */
	double w_max_prior, w_last_max_prior;
};

uint32_t ftoe_cubic_win_ssthresh(struct ftoe_cubic_win *c, const struct ftoe_cc_win *w);
void ftoe_cubic_win_avoid(struct ftoe_cubic_win *c, struct ftoe_cc_win *w, uint32_t acked);
void ftoe_cubic_win_undo(struct ftoe_cubic_win *c, const struct ftoe_cc_win *w);

void ftoe_cubic_cfg_default(struct ftoe_cubic_cfg *cfg);
/* 0, or -EINVAL for an inconsistent cfg.  srtt_us: the handshake's RTT
 * (0: none yet, 1 ms is assumed until a sample comes). */
int ftoe_cubic_init(struct ftoe_cubic *c, const struct ftoe_cubic_cfg *cfg, uint32_t srtt_us);
void ftoe_cubic_rtt(struct ftoe_cubic *c, uint32_t rtt_us);
/* One control interval.  Returns the new rate in kbps. */
uint32_t ftoe_cubic_update(struct ftoe_cubic *c, const struct ftoe_cc_stats *st);
/* The last cut was spurious (RFC 3522 / RFC 2883): back to rate_kbps and
 * the W_max before it. */
uint32_t ftoe_cubic_undo(struct ftoe_cubic *c, uint32_t rate_kbps);

#endif
