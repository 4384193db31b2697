/* fg_streams.c - the flow-group tests' shared pieces: frame keys, a key table, bulk streams both ways. */
#include <string.h>

#include "core/byteorder.h"
#include "tests/unit/core/fg_streams.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

uint32_t fg_frame_key(const uint8_t *f, uint16_t len, bool from_b)
{
	unsigned ihl;
	uint16_t sp, dp;

	if (len < 14 + 20 + 20 || ftoe_get_be16(f + 12) != 0x0800 || f[14 + 9] != 6)
		return 0;
	ihl = (f[14] & 15u) * 4;
	sp = ftoe_get_be16(f + 14 + ihl);
	dp = ftoe_get_be16(f + 14 + ihl + 2);
	return from_b ? (uint32_t)dp << 16 | sp : (uint32_t)sp << 16 | dp;
}

unsigned fg_key_slot(uint32_t *keys, unsigned n, uint32_t key)
{
	for (unsigned i = 0; i < n; i++) {
		unsigned at = (key * 2654435761u + i) % n;

		if (keys[at] == key)
			return at;
		if (!keys[at]) {
			keys[at] = key;
			return at;
		}
	}
	ck_abort_msg("more than %u flows", n);
	return 0;
}

static bool streams_step(struct lb_world *w, void *arg)
{
	struct fg_streams *t = arg;
	bool all = true;

	for (unsigned i = 0; i < t->n; i++)
		all &= app_stream_step(w, &t->s[i]);
	return all;
}

void fg_streams_open(struct lb_world *w, struct fg_streams *t, uint64_t seed, unsigned nconn,
		     uint16_t port0, uint64_t len)
{
	int c, a;

	ck_assert_uint_le(nconn, FG_STREAMS_MAX_CONN);
	memset(t, 0, sizeof(*t));
	t->seed = seed;
	t->len = len;
	for (unsigned i = 0; i < nconn; i++) {
		ck_assert_msg(app_connect(w, (uint16_t)(port0 + i), &c, &a),
			      "seed %llu: connection %u", (unsigned long long)seed, i);
		t->s[t->n++] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a,
						    .id = (uint32_t)(seed * 16 + 2 * i),
						    .len = len };
		t->s[t->n++] = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c,
						    .id = (uint32_t)(seed * 16 + 2 * i + 1),
						    .len = len };
	}
}

void fg_streams_run(struct lb_world *w, struct fg_streams *t)
{
	ck_assert_msg(lb_run(w, streams_step, t, 600 * SEC), "seed %llu stalled",
		      (unsigned long long)t->seed);
	for (unsigned i = 0; i < t->n; i++)
		ck_assert_msg(t->s[i].bad == 0 && t->s[i].rcvd == t->len,
			      "seed %llu stream %u: %llu of %llu bytes, %llu wrong",
			      (unsigned long long)t->seed, i, (unsigned long long)t->s[i].rcvd,
			      (unsigned long long)t->len, (unsigned long long)t->s[i].bad);
}
