/* cc_dctcp.h - DCTCP (RFC 8257) alpha estimation, window- and rate-based control. */
#ifndef FTOE_CORE_CONTROL_CC_DCTCP_H
#define FTOE_CORE_CONTROL_CC_DCTCP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/control/cc.h"

/*
 * Fixed point: alpha and fractions are Q20 (1.0 = FTOE_DCTCP_ONE), enough
 * resolution for g = 1/16 steps and cheap on cores without division
 * hardware (only the per-window fraction divides).
 */
#define FTOE_DCTCP_SHIFT   20
#define FTOE_DCTCP_ONE     (1u << FTOE_DCTCP_SHIFT)
#define FTOE_DCTCP_G_SHIFT 4   /* g = 1/16 (RFC 8257 section 4.2) */

/* RFC 8257 section 3.3: per observation window (about one RTT) count the
 * bytes acknowledged and those acknowledged with ECE; at its end fold
 * F = marked / acked into alpha = (1 - g) * alpha + g * F. */
struct ftoe_dctcp_alpha {
	uint32_t alpha;        /* Q20 */
	uint32_t acked;        /* bytes acked in the current window */
	uint32_t marked;       /* of which acked with ECE */
	uint32_t window_end;   /* snd_nxt when this window began */
	bool window_started;
};

/* alpha starts at 1 (RFC 8257 4.2: "initialized to 1", conservative). */
void ftoe_dctcp_alpha_init(struct ftoe_dctcp_alpha *a, uint32_t alpha_init);

/* Fold one window's fraction: returns the new alpha.  marked > acked is
 * treated as acked (all marked); acked == 0 leaves alpha unchanged. */
uint32_t ftoe_dctcp_alpha_fold(struct ftoe_dctcp_alpha *a, uint32_t acked,
			       uint32_t marked);

/*
 * Per-ACK bookkeeping (RFC 8257 3.3 steps 1-6): account acked bytes
 * (and ECE); when snd_una passes the window's end, fold and start the next
 * window at snd_nxt.  Returns true when a window ended (alpha updated).
 */
bool ftoe_dctcp_on_ack(struct ftoe_dctcp_alpha *a, uint32_t snd_una,
		       uint32_t snd_nxt, uint32_t acked_bytes, bool ece);

/* RFC 8257 3.3 step 9: cwnd = cwnd * (1 - alpha / 2), at least min_cwnd. */
uint32_t ftoe_dctcp_cwnd_reduce(uint32_t cwnd, uint32_t alpha, uint32_t min_cwnd);

/*
 * Rate-based DCTCP as FlexTOE/TAS run it in the control plane: every
 * control interval (a few RTTs) the controller reads the flow's counters
 * (bytes acked, bytes acked with ECE, losses) and sets a pacing rate:
 *   - slow start: double the rate each interval until the first sign of
 *     congestion (ECN mark, loss, retransmission);
 *   - loss: halve the rate;
 *   - ECN marks: rate *= (1 - alpha / 2), alpha folded from the interval's
 *     marked fraction as above;
 *   - otherwise: additive increase by step_kbps;
 *   - the rate never exceeds 1.2x the rate actually achieved (smoothed),
 *     so an application-limited flow does not bank an unusable rate, and
 *     never drops below min_kbps.
 * Intervals with fewer than min_acks ACKs are carried over, so the fraction
 * is not computed from a handful of packets.
 */
struct ftoe_dctcp_rate_cfg {
	uint32_t init_kbps;
	uint32_t min_kbps;
	uint32_t max_kbps;     /* line rate */
	uint32_t step_kbps;    /* additive increase per interval */
	uint32_t min_acks;
};

struct ftoe_dctcp_rate {
	struct ftoe_dctcp_rate_cfg cfg;
	uint32_t rate_kbps;
	uint32_t alpha;        /* Q20 */
	uint32_t act_kbps;     /* smoothed achieved rate (EWMA 1/8) */
	bool slow_start;
	/* counters carried over from short intervals */
	uint32_t pend_acked, pend_marked, pend_acks, pend_losses;
	uint32_t pend_us;
};

void ftoe_dctcp_rate_cfg_default(struct ftoe_dctcp_rate_cfg *cfg);
int ftoe_dctcp_rate_init(struct ftoe_dctcp_rate *d, const struct ftoe_dctcp_rate_cfg *cfg);
/* Returns the new rate in kbps. */
uint32_t ftoe_dctcp_rate_update(struct ftoe_dctcp_rate *d, const struct ftoe_cc_stats *st);

#endif
