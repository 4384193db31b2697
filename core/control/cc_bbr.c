/* cc_bbr.c - a delivery-rate controller after BBR v1: pace at a gain over the highest recent delivery rate; random loss is not a signal. */
#include <string.h>

#include "core/control/cc.h"

/*
 * Why this exists: on issue 12's relay (2 % random loss) the Linux sender
 * the engine is measured against runs BBR (the kernel's default here),
 * not CUBIC, and BBR does not cut for those losses; Linux's own CUBIC
 * is slower than the engine's there (docs/engine.md, "What Linux's
 * sender does on the relay").  A loss-based controller is held near the
 * Mathis bound at 2 % loss whatever it does in recovery.
 *
 * The model (Cardwell et al., "BBR: Congestion-Based Congestion
 * Control", ACM Queue 14(5), 2016; draft-cardwell-iccrg-bbr-congestion-
 * control): the bottleneck rate is the highest delivery rate seen over
 * the last ten rounds, and the sender paces at a gain over it - 2/ln 2
 * while that maximum still grows by a quarter per round (startup), one
 * round at ln 2/2 when it has not for three rounds (drain), then the
 * cycle 5/4, 3/4 and six rounds at 1 (probe bandwidth, averaging 1).
 *
 * In the engine a round is the control interval (max(2 SRTT, 100 us),
 * cc.c) and a delivery-rate sample is what that interval's ACKs
 * delivered, cumulatively or SACKed, over its length.  The rate is the
 * only control: no in-flight cap (BBR's cwnd of two BDPs; "bbr" in
 * docs/engine.md for what one did here), no packet conservation in
 * recovery, no policer model, no PROBE_RTT, and application-limited
 * intervals are not told apart (an idle flow's maximum decays to what it
 * delivered); losses and undos are ignored.
 */

#define BBR_FILTER_LEN   10   /* rounds in the max filter (BBR's bbr_bw_rtts) */
#define BBR_STARTUP_PCT  289  /* 2 / ln 2 */
#define BBR_DRAIN_PCT    35   /* ln 2 / 2 */
#define BBR_FULL_BW_PCT  125  /* the maximum must grow this much per round... */
#define BBR_FULL_ROUNDS  3    /* ...or after this many rounds startup is over */
#define BBR_CYCLE_LEN    8
#define BBR_MIN_ACKS     4    /* fewer ACKs: the interval is added to the next */
#define BBR_IW_BYTES     (10u * 1448u)  /* RFC 6928's initial window */
#define BBR_DEFAULT_SRTT_US 1000u
#define BBR_MIN_KBPS     1000u
#define BBR_MAX_KBPS     (40u * 1000 * 1000)

static const uint16_t bbr_cycle_pct[BBR_CYCLE_LEN] = { 125, 75, 100, 100, 100, 100, 100, 100 };

enum bbr_mode { BBR_STARTUP, BBR_DRAIN, BBR_PROBE_BW };

struct cc_bbr {
	uint32_t bw_kbps[BBR_FILTER_LEN]; /* one delivery-rate sample per round, a ring */
	uint32_t full_bw_kbps;            /* the maximum when startup last saw it grow */
	uint32_t rate_kbps;
	uint32_t pend_acked, pend_acks, pend_us;
	uint8_t idx, mode, full_rounds, cycle;
};
_Static_assert(sizeof(struct cc_bbr) <= FTOE_CC_PRIV_SIZE,
	       "BBR state must fit the per-flow congestion-control area");

static uint32_t bbr_max_bw(const struct cc_bbr *b)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < BBR_FILTER_LEN; i++)
		if (b->bw_kbps[i] > m)
			m = b->bw_kbps[i];
	return m;
}

static uint32_t bbr_pace(struct cc_bbr *b, uint64_t kbps, unsigned pct)
{
	kbps = kbps * pct / 100;
	if (kbps < BBR_MIN_KBPS)
		kbps = BBR_MIN_KBPS;
	if (kbps > BBR_MAX_KBPS)
		kbps = BBR_MAX_KBPS;
	b->rate_kbps = (uint32_t)kbps;
	return b->rate_kbps;
}

static uint32_t bbr_init(void *priv, uint64_t param, uint32_t srtt_us)
{
	struct cc_bbr *b = priv;

	(void)param;
	memset(b, 0, sizeof(*b));
	b->mode = BBR_STARTUP;
	/* before any sample: the initial window per SRTT, at startup's gain */
	return bbr_pace(b, (uint64_t)BBR_IW_BYTES * 8000u / (srtt_us ? srtt_us : BBR_DEFAULT_SRTT_US),
			BBR_STARTUP_PCT);
}

/* Startup is over when three rounds in a row did not raise the maximum
 * by a quarter (BBR's full-pipe estimate). */
static void bbr_check_full(struct cc_bbr *b, uint32_t max_kbps)
{
	if ((uint64_t)max_kbps * 100 >= (uint64_t)b->full_bw_kbps * BBR_FULL_BW_PCT) {
		b->full_bw_kbps = max_kbps;
		b->full_rounds = 0;
		return;
	}
	if (++b->full_rounds >= BBR_FULL_ROUNDS)
		b->mode = BBR_DRAIN;
}

static uint32_t bbr_on_interval(void *priv, const struct ftoe_cc_stats *st)
{
	struct cc_bbr *b = priv;
	uint64_t us, kbps;
	uint32_t max;

	b->pend_acked = ftoe_cc_sat_add(b->pend_acked, st->acked_bytes);
	b->pend_acks = ftoe_cc_sat_add(b->pend_acks, st->acks);
	b->pend_us = ftoe_cc_sat_add(b->pend_us, st->interval_us);
	if (b->pend_acks < BBR_MIN_ACKS || !b->pend_us)
		return b->rate_kbps;
	us = b->pend_us;
	kbps = (uint64_t)b->pend_acked * 8000u / us;	/* bytes per us * 8000 */
	b->pend_acked = b->pend_acks = b->pend_us = 0;

	b->bw_kbps[b->idx] = kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)kbps;
	b->idx = (uint8_t)((b->idx + 1) % BBR_FILTER_LEN);
	max = bbr_max_bw(b);

	switch (b->mode) {
	case BBR_STARTUP:
		bbr_check_full(b, max);
		if (b->mode == BBR_STARTUP)
			return bbr_pace(b, max, BBR_STARTUP_PCT);
		return bbr_pace(b, max, BBR_DRAIN_PCT);
	case BBR_DRAIN:
		/* one round to drain what startup queued, then cruise */
		b->mode = BBR_PROBE_BW;
		b->cycle = 2;
		break;
	default:
		b->cycle = (uint8_t)((b->cycle + 1) % BBR_CYCLE_LEN);
		break;
	}
	return bbr_pace(b, max, bbr_cycle_pct[b->cycle]);
}

const struct ftoe_cc_ops ftoe_cc_bbr = {
	.name = "bbr",
	.summary = "experimental: a delivery-rate model after BBR v1 (pace at a gain over the highest "
		   "delivery rate of the last 10 intervals; no in-flight cap but the buffer); "
		   "random loss does not cut it",
	.priv_size = sizeof(struct cc_bbr),
	.init = bbr_init,
	.on_interval = bbr_on_interval,
};
