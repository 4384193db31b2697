/* cc_newreno.c - Reno's window rules (RFC 5681), with the NewReno/SACK recovery the protocol stage runs. */
#include "core/control/cc.h"

/*
 * The glue (cc.c) does slow start, the cut's bookkeeping and undo; what is
 * Reno's own: ssthresh is half the window (RFC 5681 eq. 4, the flight
 * being the window here), and congestion avoidance adds one segment per
 * window's worth of acknowledged bytes (RFC 5681 3.1, eq. 3 with byte
 * counting, RFC 3465).
 */

struct cc_newreno {
	uint32_t acked;		/* bytes acknowledged toward the next whole segment of growth */
};
_Static_assert(sizeof(struct cc_newreno) <= FTOE_CC_PRIV_SIZE,
	       "NewReno state must fit the per-flow congestion-control area");

static uint32_t newreno_init(void *priv, uint64_t param, uint32_t srtt_us)
{
	struct cc_newreno *r = priv;

	(void)param;
	(void)srtt_us;
	r->acked = 0;
	return 0;
}

static uint32_t newreno_ssthresh(void *priv, const struct ftoe_cc_win *w)
{
	struct cc_newreno *r = priv;

	r->acked = 0;
	return w->cwnd / 2;
}

static void newreno_avoid(void *priv, struct ftoe_cc_win *w, uint32_t acked)
{
	struct cc_newreno *r = priv;

	r->acked += acked;
	while (r->acked >= w->cwnd) {
		r->acked -= w->cwnd;
		w->cwnd += w->mss;
	}
}

const struct ftoe_cc_ops ftoe_cc_newreno = {
	.name = "newreno",
	.summary = "Reno's window (RFC 5681) with SACK/NewReno recovery",
	.priv_size = sizeof(struct cc_newreno),
	.init = newreno_init,
	.ssthresh = newreno_ssthresh,
	.cong_avoid = newreno_avoid,
};
