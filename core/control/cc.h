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
 * Each flow gives its algorithm FTOE_CC_PRIV_SIZE bytes (8-byte aligned,
 * in struct flow_ctl) of private state; priv_size says how much it uses,
 * and each algorithm asserts at compile time that its state fits.
 */

/* FTOE_CC_PRIV_SIZE, the bytes of per-flow state an algorithm may use,
 * is core/engine_internal.h's (struct flow_ctl holds them), so the
 * engine's object needs no control-plane header. */
#include "core/engine_internal.h"

/* One control interval's observations. */
struct ftoe_cc_stats {
	uint32_t acked_bytes;
	uint32_t ecn_bytes;
	uint32_t acks;
	uint32_t losses;       /* drops, dupack recoveries, timeouts */
	uint32_t interval_us;  /* time covered by these counters */
};

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
};

/* The algorithms (one file each). */
extern const struct ftoe_cc_ops ftoe_cc_dctcp;   /* cc_dctcp.c, the default */
extern const struct ftoe_cc_ops ftoe_cc_timely;  /* cc_timely.c */
extern const struct ftoe_cc_ops ftoe_cc_const;   /* cc_const.c */
extern const struct ftoe_cc_ops ftoe_cc_cubic;   /* cc_cubic.c, for lossy paths */

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
/* The last loss was spurious: cancel it, or undo its cut. */
void ftoe_cc_on_undo(struct ftoe_engine *e, uint32_t id);
void ftoe_cc_on_rtt(struct ftoe_engine *e, uint32_t id, uint32_t rtt_us);

#endif
