/* cc_const.c - constant-rate "congestion control": paces every flow at a fixed rate, ignoring feedback. */
#include <errno.h>
#include <stdlib.h>

#include "core/control/cc.h"

/* For testbeds and tests: a fixed rate (or none) makes runs comparable. */
struct cc_const {
	uint32_t rate_kbps;
};
_Static_assert(sizeof(struct cc_const) <= FTOE_CC_PRIV_SIZE,
	       "const state must fit the per-flow congestion-control area");

/* RATE in bit/s, with an optional k/m/g (decimal) suffix: "10g", "500m". */
static int const_parse_arg(const char *s, uint64_t *bps)
{
	char *end;
	unsigned long long v;
	uint64_t mult = 1;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mult = 1000ull; end++; break;
	case 'm': case 'M': mult = 1000000ull; end++; break;
	case 'g': case 'G': mult = 1000000000ull; end++; break;
	default: return -EINVAL;
	}
	if (*end || v == 0 || v > UINT64_MAX / mult)
		return -EINVAL;
	*bps = v * mult;
	return 0;
}

static uint32_t const_init(void *priv, uint64_t bps, uint32_t srtt_us)
{
	struct cc_const *c = priv;
	uint64_t kbps = bps / 1000;

	(void)srtt_us;
	c->rate_kbps = kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)kbps;
	return c->rate_kbps;
}

const struct ftoe_cc_ops ftoe_cc_const = {
	.name = "const",
	.arg_name = "RATE",
	.summary = "a constant rate, RATE in bit/s with a k/m/g suffix (no RATE: unpaced)",
	.priv_size = sizeof(struct cc_const),
	.parse_arg = const_parse_arg,
	.init = const_init,	/* no feedback callbacks: the rate never changes */
};
