/* cc.h - congestion control: the ops an algorithm fills, the registry by name, the engine's glue. */
#ifndef FTOE_CORE_CONTROL_CC_H
#define FTOE_CORE_CONTROL_CC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ftoe_engine;

/*
 * Shaped after Linux's struct tcp_congestion_ops (include/net/tcp.h): one
 * file per algorithm fills one ftoe_cc_ops and is listed once in the
 * table in cc.c; the engine calls an algorithm only through its ops.
 *
 * As in FlexTOE and TAS the algorithms are rate based and run out of the
 * data path: the data path only counts (bytes acked, bytes acked with ECE,
 * losses) and hands over RTT samples; an algorithm turns them into the
 * flow's pacing rate (kbps, 0: unpaced), which the flow scheduler applies.
 * Window-based algorithms (cubic, newreno) fill ssthresh and cong_avoid
 * instead, as Linux's ops: the glue keeps flow_cc.cwnd, in bytes, and the
 * flow scheduler never lets the data in flight (RFC 6675's pipe with
 * SACK) exceed it; the pacing rate then only spreads a window over an
 * RTT (a gain over cwnd / SRTT, as Linux's pacing ratios).  Rates alone
 * leave the pipe empty on a lossy path (issue 12: a controller that cuts
 * a rate once per loss episode stays near the Mathis bound).
 * Each flow gives its algorithm FTOE_CC_PRIV_SIZE bytes (8-byte aligned,
 * in struct flow_ctl) of private state; priv_size says how much it uses,
 * and each algorithm asserts at compile time that its state fits.
 */

/* FTOE_CC_PRIV_SIZE, the bytes of per-flow state an algorithm may use,
 * is core/engine_internal.h's (struct flow_ctl holds them), so the
 * engine's object needs no control-plane header. */
#include "core/engine_internal.h"

/* A window algorithm's view of the flow (bytes). */
struct ftoe_cc_win {
	uint32_t cwnd;
	uint32_t ssthresh;     /* UINT32_MAX: none yet (slow start until the first loss) */
	uint32_t mss;
	uint32_t srtt_us;      /* 0: no sample yet */
	uint64_t now_us;
};

/* One control interval's observations. */
struct ftoe_cc_stats {
	uint32_t acked_bytes;
	uint32_t ecn_bytes;
	uint32_t acks;
	uint32_t losses;       /* drops, dupack recoveries, timeouts */
	uint32_t interval_us;  /* time covered by these counters */
};

/* a + b, held at UINT32_MAX: rate controllers add up an interval's counters
 * across intervals too short to act on (cc_cubic.c, cc_dctcp.c). */
static inline uint32_t ftoe_cc_sat_add(uint32_t a, uint32_t b)
{
	return a + b < a ? UINT32_MAX : a + b;
}

struct ftoe_cc_ops {
	const char *name;      /* --cc NAME */
	/* NULL: takes no argument.  Otherwise the ARG of --cc NAME:ARG, as
	 * shown in --help ("RATE"); the argument is optional. */
	const char *arg_name;
	const char *summary;   /* one line for --help and docs */
	size_t priv_size;      /* <= FTOE_CC_PRIV_SIZE */
	/* With arg_name: parse ARG into *param (cfg.cc_param); 0 or -EINVAL. */
	int (*parse_arg)(const char *arg, uint64_t *param);
	/* A flow became established: set up priv; return the initial rate.
	 * param is cfg.cc_param, srtt_us the handshake's RTT (0: none). */
	uint32_t (*init)(void *priv, uint64_t param, uint32_t srtt_us);
	/* Optional.  One RTT sample: a timed segment (never retransmitted,
	 * RFC 6298 3) was acknowledged.  Returns the new rate. */
	uint32_t (*on_rtt)(void *priv, uint32_t rtt_us);
	/* Optional.  Once per control interval, max(2 SRTT, 100 us), with
	 * that interval's counters.  Returns the new rate. */
	uint32_t (*on_interval)(void *priv, const struct ftoe_cc_stats *st);
	/* Optional.  The last loss cut was spurious (RFC 3522, RFC 2883):
	 * go back to rate_kbps, the rate before it.  Returns the new rate. */
	uint32_t (*undo)(void *priv, uint32_t rate_kbps);

	/* Window algorithms (Linux's ssthresh, cong_avoid, undo_cwnd).
	 * ssthresh: a congestion event (once per recovery episode, or a
	 * timeout): the new slow-start threshold.  cong_avoid: acked bytes
	 * newly delivered above ssthresh (slow start below it is the glue's);
	 * grow w->cwnd.  undo_cwnd (optional): the last cut was spurious,
	 * the glue restores cwnd and ssthresh; the algorithm restores its own
	 * state (e.g. CUBIC's W_max). */
	uint32_t (*ssthresh)(void *priv, const struct ftoe_cc_win *w);
	void (*cong_avoid)(void *priv, struct ftoe_cc_win *w, uint32_t acked);
	void (*undo_cwnd)(void *priv, const struct ftoe_cc_win *w);
};

/* The algorithms (one file each). */
extern const struct ftoe_cc_ops ftoe_cc_dctcp;   /* cc_dctcp.c, the default */
extern const struct ftoe_cc_ops ftoe_cc_timely;  /* cc_timely.c */
extern const struct ftoe_cc_ops ftoe_cc_const;   /* cc_const.c */
extern const struct ftoe_cc_ops ftoe_cc_cubic;   /* cc_cubic.c, window-based, for lossy paths */
extern const struct ftoe_cc_ops ftoe_cc_cubic_rate; /* cc_cubic.c, its rate-based form */
extern const struct ftoe_cc_ops ftoe_cc_newreno; /* cc_newreno.c */
extern const struct ftoe_cc_ops ftoe_cc_bbr;     /* cc_bbr.c, a delivery-rate model */

/* The registry (cc.c).  ftoe_cc_parse and ftoe_cc_names are declared in
 * engine.h for the backends. */
const struct ftoe_cc_ops *ftoe_cc_find(const char *name, size_t len);
/* The i-th registered algorithm; NULL past the end. */
const struct ftoe_cc_ops *ftoe_cc_at(unsigned int i);

/* The engine's glue (cc.c). */
void ftoe_cc_init(struct ftoe_engine *e, uint32_t id);
/* Data path feedback: acked bytes (ECE-marked or not), losses, RTT samples. */
void ftoe_cc_on_ack(struct ftoe_engine *e, uint32_t id, uint32_t acked, bool ece);
void ftoe_cc_on_loss(struct ftoe_engine *e, uint32_t id);
/* A retransmission timeout (a window algorithm restarts from one segment). */
void ftoe_cc_on_timeout(struct ftoe_engine *e, uint32_t id);
/* The last loss was spurious: cancel it, or undo its cut. */
void ftoe_cc_on_undo(struct ftoe_engine *e, uint32_t id);
void ftoe_cc_on_rtt(struct ftoe_engine *e, uint32_t id, uint32_t rtt_us);

#endif
