/* rto.h - RTT estimation and retransmission timeout (RFC 6298). */
#ifndef FTOE_CORE_RTO_H
#define FTOE_CORE_RTO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * All times in microseconds.  SRTT is kept scaled by 8 and RTTVAR by 4 so
 * the RFC 6298 section 2.3 gains (alpha = 1/8, beta = 1/4) are exact in
 * integers.  RFC 6298 section 2.4 asks for a 1 s minimum; data centres use
 * far less (Linux: 200 ms), so the minimum is configurable; the maximum is
 * 60 s (section 2.5 allows a cap of at least 60 s).
 */
/* Consecutive timeouts before a connection fails (Linux tcp_retries2). */
#define FTOE_RTO_RETRIES_DEFAULT 15
#define FTOE_RTO_RETRIES_MAX 255

struct ftoe_rto_cfg {
	uint32_t min_us;       /* default 200 ms */
	uint32_t max_us;       /* default 60 s */
	uint32_t initial_us;   /* before the first sample; RFC 6298 2.1: 1 s */
	uint32_t granularity_us; /* G of section 2.3, clock granularity */
	uint8_t max_backoffs;  /* give up after this many consecutive timeouts */
};

struct ftoe_rto {
	struct ftoe_rto_cfg cfg;
	uint32_t srtt8;        /* SRTT * 8 */
	uint32_t rttvar4;      /* RTTVAR * 4 */
	uint32_t rto_us;       /* base RTO from the estimator, before backoff */
	uint32_t min_us;       /* smallest sample (RACK's min_RTT, RFC 8985 6.2) */
	uint8_t backoffs;      /* consecutive timeouts since the last sample */
	bool have_sample;
};

void ftoe_rto_cfg_default(struct ftoe_rto_cfg *cfg);

/* 0, or -EINVAL for an inconsistent cfg (min > max, zero values). */
int ftoe_rto_init(struct ftoe_rto *r, const struct ftoe_rto_cfg *cfg);

/*
 * A measured RTT.  Karn's algorithm (RFC 6298 section 3): a sample from a
 * segment that was retransmitted is ambiguous and ignored, unless it is
 * timestamp based (RFC 7323 section 4), which the caller says by passing
 * retransmitted = false.  A valid sample also ends the backoff (section 5.7
 * keeps the doubled RTO only until the next valid sample).
 */
void ftoe_rto_sample(struct ftoe_rto *r, uint32_t rtt_us, bool retransmitted);

/* The timer fired (section 5.5): double the RTO (capped at max).  Returns 0,
 * or -ETIMEDOUT when max_backoffs is exceeded: the connection has failed. */
int ftoe_rto_timeout(struct ftoe_rto *r);

/* Current timeout: base RTO << backoffs, clamped to [min, max]. */
uint32_t ftoe_rto_current(const struct ftoe_rto *r);

static inline uint32_t ftoe_rto_srtt(const struct ftoe_rto *r) { return r->srtt8 >> 3; }
static inline uint32_t ftoe_rto_rttvar(const struct ftoe_rto *r) { return r->rttvar4 >> 2; }

#endif
