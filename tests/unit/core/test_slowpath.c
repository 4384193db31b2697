/* test_slowpath.c - the slow-path queue (core/slowpath.h) cannot overflow: post-processing stops for a drain before an item that might not fit. */
#include <string.h>

#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/slowpath.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

/*
 * A whole batch whose every item queues two entries (ACKED and LOSS) is
 * more than FTOE_SP_CAP holds.  The drain is simulated (the entries are
 * counted and forgotten, as the items carry no real ACK for the control
 * plane to act on): what is checked is that post-processing hands the
 * batch over in pieces, never refusing an entry.
 */
START_TEST(postproc_stops_before_the_queue_fills_simulated_drain)
{
	struct ftoe_rx_item items[FTOE_RX_BATCH];
	struct lb_world w;
	struct ftoe_engine *e;
	unsigned int done = 0, calls = 0, queued = 0;
	int c, a;

	lb_init(&w, 31, NULL, NULL);
	ck_assert(app_connect(&w, 81, &c, &a));
	e = w.s[0].eng;
	memset(items, 0, sizeof(items));
	for (unsigned int i = 0; i < FTOE_RX_BATCH; i++) {
		items[i].flow = (uint32_t)c;
		items[i].res = FTOE_RX_R_ACKED | FTOE_RX_R_FAST_RETX;
	}
	ck_assert_uint_gt(FTOE_RX_BATCH * 2, FTOE_SP_CAP);
	ck_assert_uint_eq(e->sp.n, 0);
	while (done < FTOE_RX_BATCH) {
		unsigned int next = ftoe_postproc_rx(e, items, FTOE_RX_BATCH, done);

		ck_assert_uint_gt(next, done);	/* progress on every call */
		ck_assert_uint_le(e->sp.n, FTOE_SP_CAP);
		ck_assert_uint_eq(e->sp.overflow, 0);
		for (uint32_t k = 0; k < e->sp.n; k++)
			ck_assert_ptr_eq(e->sp.q[k].rx, &items[done + k / 2]);
		queued += e->sp.n;
		e->sp.n = 0;	/* the simulated drain */
		done = next;
		calls++;
	}
	ck_assert_uint_eq(queued, 2 * FTOE_RX_BATCH);
	ck_assert_uint_gt(calls, 1);
	lb_fini(&w);
}
END_TEST

static Suite *slowpath_suite(void)
{
	Suite *s = suite_create("core_slowpath");
	TCase *tc = tcase_create("queue");

	tcase_add_test(tc, postproc_stops_before_the_queue_fills_simulated_drain);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(slowpath_suite)
