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

/* Every algorithm, listed once; the first is the default. */
static const struct ftoe_cc_ops *const cc_table[] = {
	&ftoe_cc_dctcp,
	&ftoe_cc_timely,
	&ftoe_cc_const,
	&ftoe_cc_cubic,
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

void ftoe_cc_init(struct ftoe_engine *e, uint32_t id)
{
	struct flow_ctl *c = &e->ctl[id];
	struct flow_cc *cc = &e->cc[id];

	cc->acked_bytes = cc->ecn_bytes = cc->acks = cc->dupacks = 0;
	cc->retransmits = 0;
	c->cc_acked = c->cc_ecn = c->cc_acks = c->cc_losses = 0;
	c->cc_last_ns = e->now;
	memset(c->cc_priv, 0, sizeof(c->cc_priv));
	cc->rate_kbps = cc_ops(e)->init(cc_priv(e, id), e->cfg.cc_param,
					ftoe_rto_srtt(&c->rto));
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
	cc_update(e, id);
}

void ftoe_cc_on_loss(struct ftoe_engine *e, uint32_t id)
{
	e->ctl[id].cc_losses++;
	e->cc[id].retransmits++;
	cc_update(e, id);
}

void ftoe_cc_on_undo(struct ftoe_engine *e, uint32_t id)
{
	const struct ftoe_cc_ops *ops = cc_ops(e);
	struct flow_ctl *c = &e->ctl[id];

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

	if (ops->on_rtt)
		e->cc[id].rate_kbps = ops->on_rtt(cc_priv(e, id), rtt_us);
}
