/* cc.c - congestion control: the table of algorithms by name, and the glue the engine calls. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/control/cc.h"
#include "core/engine_internal.h"

/*
 * FlexTOE/TAS run congestion control out of the data path: the data path
 * only counts (bytes acked, bytes acked with ECE, losses) and the control
 * plane turns the counters into a pacing rate once per control interval
 * (about two RTTs).  The flow scheduler paces at flow_cc.rate_kbps.
 */

#define CC_MIN_INTERVAL_US 100

/* Window algorithms: RFC 6928's initial window, ssthresh at least two
 * segments (RFC 5681 3.1), and Linux's pacing ratios (tcp_pacing_ss_ratio 200 %,
 * tcp_pacing_ca_ratio 120 %): pacing spreads a window, cwnd limits it. */
#define CC_IW_SEGS 10
#define CC_MIN_SEGS 2
#define CC_PACE_SS_PCT 200
#define CC_PACE_CA_PCT 120
#define CC_CWND_MAX (1u << 30)

/* Every algorithm, listed once; the first is the default. */
static const struct ftoe_cc_ops *const cc_table[] = {
	&ftoe_cc_dctcp,
	&ftoe_cc_timely,
	&ftoe_cc_const,
	&ftoe_cc_cubic,
	&ftoe_cc_newreno,
	&ftoe_cc_cubic_rate,
	&ftoe_cc_bbr,
};

const struct ftoe_cc_ops *ftoe_cc_at(unsigned int i)
{
	return i < sizeof(cc_table) / sizeof(cc_table[0]) ? cc_table[i] : NULL;
}

const struct ftoe_cc_ops *ftoe_cc_find(const char *name, size_t len)
{
	const struct ftoe_cc_ops *ops;

	for (unsigned int i = 0; (ops = ftoe_cc_at(i)); i++)
		if (strlen(ops->name) == len && !strncmp(ops->name, name, len))
			return ops;
	return NULL;
}

int ftoe_cc_parse(const char *spec, const struct ftoe_cc_ops **out, uint64_t *param)
{
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	const struct ftoe_cc_ops *ops = ftoe_cc_find(spec, len);

	if (!ops)
		return -ENOENT;
	*param = 0;
	if (colon) {
		if (!ops->arg_name || !ops->parse_arg)
			return -EINVAL;
		if (ops->parse_arg(colon + 1, param))
			return -EINVAL;
	}
	*out = ops;
	return 0;
}

int ftoe_cc_names(char *buf, size_t size)
{
	const struct ftoe_cc_ops *ops;
	size_t off = 0;

	if (size)
		buf[0] = 0;
	for (unsigned int i = 0; (ops = ftoe_cc_at(i)); i++) {
		int n = snprintf(buf + off, size - off, "%s%s%s%s%s", i ? ", " : "", ops->name,
				 ops->arg_name ? "[:" : "", ops->arg_name ? ops->arg_name : "",
				 ops->arg_name ? "]" : "");

		if (n < 0 || (size_t)n >= size - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return 0;
}

const char *ftoe_cc_name(const struct ftoe_cc_ops *ops)
{
	return (ops ? ops : cc_table[0])->name;
}

static const struct ftoe_cc_ops *cc_ops(const struct ftoe_engine *e)
{
	return e->cfg.cc ? e->cfg.cc : cc_table[0];
}

static void *cc_priv(struct ftoe_engine *e, uint32_t id)
{
	return e->ctl[id].cc_priv;
}

static bool cc_window(const struct ftoe_cc_ops *ops)
{
	return ops->cong_avoid != NULL;
}

static uint32_t cc_mss(const struct ftoe_engine *e, uint32_t id)
{
	return e->tcp[id].snd_mss ? e->tcp[id].snd_mss : 536;
}

static void win_get(struct ftoe_engine *e, uint32_t id, struct ftoe_cc_win *w)
{
	w->cwnd = e->cc[id].cwnd;
	w->ssthresh = e->ctl[id].cc_ssthresh;
	w->mss = cc_mss(e, id);
	w->srtt_us = e->ctl[id].rto.have_sample ? ftoe_rto_srtt(&e->ctl[id].rto) : 0;
	w->now_us = e->now / 1000u;
}

/* Store the window back and pace at a gain over cwnd / SRTT (unpaced
 * before the first RTT sample: the window alone limits). */
static void win_set(struct ftoe_engine *e, uint32_t id, const struct ftoe_cc_win *w)
{
	uint32_t cwnd = w->cwnd, min = w->mss;
	uint64_t kbps;

	if (cwnd < min)
		cwnd = min;
	if (cwnd > CC_CWND_MAX)
		cwnd = CC_CWND_MAX;
	e->cc[id].cwnd = cwnd;
	e->ctl[id].cc_ssthresh = w->ssthresh;
	if (!w->srtt_us) {
		e->cc[id].rate_kbps = 0;
		return;
	}
	/* bytes per us * 8000 = kbps */
	kbps = (uint64_t)cwnd * 8000u / w->srtt_us;
	kbps = kbps * (cwnd < w->ssthresh ? CC_PACE_SS_PCT : CC_PACE_CA_PCT) / 100;
	e->cc[id].rate_kbps = kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)(kbps ? kbps : 1);
}

void ftoe_cc_init(struct ftoe_engine *e, uint32_t id)
{
	const struct ftoe_cc_ops *ops = cc_ops(e);
	struct flow_ctl *c = &e->ctl[id];
	struct flow_cc *cc = &e->cc[id];

	cc->acked_bytes = cc->ecn_bytes = cc->acks = cc->dupacks = 0;
	cc->retransmits = 0;
	c->cc_acked = c->cc_ecn = c->cc_acks = c->cc_losses = 0;
	c->cc_last_ns = e->now;
	memset(c->cc_priv, 0, sizeof(c->cc_priv));
	cc->cwnd = 0;
	c->cc_prior_cwnd = c->cc_prior_ssthresh = 0;
	cc->rate_kbps = ops->init(cc_priv(e, id), e->cfg.cc_param, ftoe_rto_srtt(&c->rto));
	if (cc_window(ops)) {
		struct ftoe_cc_win w;

		win_get(e, id, &w);
		w.cwnd = CC_IW_SEGS * w.mss;
		w.ssthresh = UINT32_MAX;
		win_set(e, id, &w);
	}
}

static void cc_update(struct ftoe_engine *e, uint32_t id)
{
	const struct ftoe_cc_ops *ops = cc_ops(e);
	struct flow_ctl *c = &e->ctl[id];
	uint64_t interval = 2ull * ftoe_rto_srtt(&c->rto), el;
	struct ftoe_cc_stats st;

	if (!ops->on_interval)
		return;
	if (interval < CC_MIN_INTERVAL_US)
		interval = CC_MIN_INTERVAL_US;
	el = (e->now - c->cc_last_ns) / 1000;
	if (el < interval)
		return;
	st.acked_bytes = c->cc_acked;
	st.ecn_bytes = c->cc_ecn;
	st.acks = c->cc_acks;
	st.losses = c->cc_losses;
	st.interval_us = el > UINT32_MAX ? UINT32_MAX : (uint32_t)el;
	c->cc_acked = c->cc_ecn = c->cc_acks = c->cc_losses = 0;
	c->cc_last_ns = e->now;
	if (st.losses)
		c->cc_undo_kbps = e->cc[id].rate_kbps;
	e->cc[id].rate_kbps = ops->on_interval(cc_priv(e, id), &st);
}

/* In fast recovery the window stays at ssthresh (RFC 6675 5, as Linux
 * outside PRR's reduction); after a timeout it regrows by slow start. */
static bool win_in_recovery(const struct ftoe_engine *e, uint32_t id)
{
	const struct flow_tcp *t = &e->tcp[id];

	if (!(t->flags & FLOW_TCP_SACK))
		return (t->flags & FLOW_TCP_RETX) && !(e->ctl[id].rto.backoffs);
	return (t->lt.flags & FTOE_LT_F_RECOV) && !(t->lt.flags & FTOE_LT_F_RTO);
}

/* RFC 5681 3.1 with Linux's choices: slow start adds what the ACK
 * delivered (no ABC limit), up to ssthresh, and the rest goes to the
 * algorithm's congestion avoidance.  Only a window the sender has been
 * using grows (RFC 7661's concern; Linux's tcp_is_cwnd_limited). */
static void win_ack(struct ftoe_engine *e, uint32_t id, uint32_t acked)
{
	const struct flow_tcp *t = &e->tcp[id];
	struct ftoe_cc_win w;
	uint32_t used;

	if (!acked || win_in_recovery(e, id))
		return;
	win_get(e, id, &w);
	used = t->snd_max - t->snd_una + acked;
	if (w.cwnd < w.ssthresh ? used < w.cwnd / 2 : used + w.mss < w.cwnd)
		return;
	if (w.cwnd < w.ssthresh) {
		uint32_t room = w.ssthresh - w.cwnd, grow = acked < room ? acked : room;

		w.cwnd += grow;
		acked -= grow;
	}
	if (acked && w.cwnd >= w.ssthresh)
		cc_ops(e)->cong_avoid(cc_priv(e, id), &w, acked);
	win_set(e, id, &w);
}

void ftoe_cc_on_ack(struct ftoe_engine *e, uint32_t id, uint32_t acked, bool ece)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_cc *cc = &e->cc[id];

	c->cc_acked += acked;
	c->cc_acks++;
	cc->acked_bytes += acked;
	cc->acks++;
	if (ece) {
		c->cc_ecn += acked;
		cc->ecn_bytes += acked;
	}
	if (cc_window(cc_ops(e)))
		win_ack(e, id, acked);
	else
		cc_update(e, id);
}

/* A congestion event for a window algorithm: remember the window for an
 * undo, take the algorithm's ssthresh, and restart from it (fast
 * recovery, RFC 5681 3.2 / RFC 6675 5) or from one segment (a timeout,
 * RFC 5681 3.1).  A timeout during a recovery or after another timeout
 * keeps the ssthresh it has (as Linux's tcp_enter_loss). */
static void win_cut(struct ftoe_engine *e, uint32_t id, bool timeout)
{
	const struct ftoe_lt *lt = &e->tcp[id].lt;
	struct flow_ctl *c = &e->ctl[id];
	struct ftoe_cc_win w;

	win_get(e, id, &w);
	if (!timeout || !(c->rto.backoffs > 1 || (lt->flags & FTOE_LT_F_RECOV))) {
		c->cc_prior_cwnd = w.cwnd;
		c->cc_prior_ssthresh = w.ssthresh;
		w.ssthresh = cc_ops(e)->ssthresh(cc_priv(e, id), &w);
		if (w.ssthresh < CC_MIN_SEGS * w.mss)
			w.ssthresh = CC_MIN_SEGS * w.mss;
	}
	w.cwnd = timeout ? w.mss : w.ssthresh;
	win_set(e, id, &w);
}

void ftoe_cc_on_loss(struct ftoe_engine *e, uint32_t id)
{
	e->cc[id].retransmits++;
	if (cc_window(cc_ops(e))) {
		win_cut(e, id, false);
		return;
	}
	e->ctl[id].cc_losses++;
	cc_update(e, id);
}

void ftoe_cc_on_timeout(struct ftoe_engine *e, uint32_t id)
{
	if (!cc_window(cc_ops(e))) {
		ftoe_cc_on_loss(e, id);
		return;
	}
	e->cc[id].retransmits++;
	win_cut(e, id, true);
}

/* Linux's tcp_undo_cwnd_reduction: back to the window and threshold
 * before the cut, never below what they are now. */
static void win_undo(struct ftoe_engine *e, uint32_t id)
{
	const struct ftoe_cc_ops *ops = cc_ops(e);
	struct flow_ctl *c = &e->ctl[id];
	struct ftoe_cc_win w;

	if (!c->cc_prior_cwnd)
		return;
	win_get(e, id, &w);
	if (c->cc_prior_cwnd > w.cwnd)
		w.cwnd = c->cc_prior_cwnd;
	if (c->cc_prior_ssthresh > w.ssthresh || w.ssthresh == UINT32_MAX)
		w.ssthresh = c->cc_prior_ssthresh;
	if (ops->undo_cwnd)
		ops->undo_cwnd(cc_priv(e, id), &w);
	c->cc_prior_cwnd = c->cc_prior_ssthresh = 0;
	win_set(e, id, &w);
}

void ftoe_cc_on_undo(struct ftoe_engine *e, uint32_t id)
{
	const struct ftoe_cc_ops *ops = cc_ops(e);
	struct flow_ctl *c = &e->ctl[id];

	if (cc_window(ops)) {
		win_undo(e, id);
		return;
	}

	/* Not yet applied: the next interval simply does not see it. */
	if (c->cc_losses) {
		c->cc_losses--;
		return;
	}
	if (ops->undo && c->cc_undo_kbps > e->cc[id].rate_kbps)
		e->cc[id].rate_kbps = ops->undo(cc_priv(e, id), c->cc_undo_kbps);
	c->cc_undo_kbps = 0;
}

void ftoe_cc_on_rtt(struct ftoe_engine *e, uint32_t id, uint32_t rtt_us)
{
	const struct ftoe_cc_ops *ops = cc_ops(e);

	if (cc_window(ops)) {
		struct ftoe_cc_win w;

		if (ops->on_rtt)
			ops->on_rtt(cc_priv(e, id), rtt_us);
		/* the pacing rate follows SRTT */
		win_get(e, id, &w);
		win_set(e, id, &w);
		return;
	}
	if (ops->on_rtt)
		e->cc[id].rate_kbps = ops->on_rtt(cc_priv(e, id), rtt_us);
}
