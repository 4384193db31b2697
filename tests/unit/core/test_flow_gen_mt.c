/* test_flow_gen_mt.c - a payload placement on another thread racing the flow's reset and the reuse of its slot (engine_internal.h flow_gen), built with TSan too (make tsan-fg): nothing is written into the slot after the free returns; and the same placement racing an attach and a region's removal (FLOW_GEN_MOVING). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

/*
 * As core/x86/fgpipe.c: the protocol stage took a data segment of flow a
 * (ftoe_engine_rx_proto), and a post-processing thread places its payload
 * (ftoe_engine_rx_post_place, no lock) - here again and again, so that
 * placements are under way while this thread resets a, connects a new
 * flow into a's slot and writes that flow's ring.  Every placement must
 * either have finished before the free returned (ordered before the new
 * flow's writes: ThreadSanitizer sees no race) or write nothing; the new
 * flow's ring holds its own bytes at the end.  FTOE_FLOW_GEN_MT_NO_CHECK=1
 * gives the placer the slot's current generation instead of the item's,
 * as if placement did not check: TSan must then report the race
 * (tests/unit/tsan.sh).
 */

#define SEC 1000000000ull

struct placer {
	struct ftoe_engine *e;
	struct ftoe_rx_item it;
	bool no_check;
	_Atomic int stop;
	_Atomic unsigned long placed_tries;
};

static void *place_loop(void *arg)
{
	struct placer *p = arg;

	while (!atomic_load_explicit(&p->stop, memory_order_relaxed)) {
		struct ftoe_rx_item it = p->it;

		if (p->no_check)
			it.gen = flow_gen(p->e, it.flow);
		ftoe_engine_rx_post_place(p->e, &it, 1);
		atomic_fetch_add_explicit(&p->placed_tries, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Frames side 0 sends with payload: the first taken off the link. */
static uint8_t cap[1600];
static uint16_t cap_len;

static bool capture(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	struct ftoe_seg seg;

	(void)s;
	if (cap_len || ftoe_seg_parse(frame, *len, 0, &seg) || !seg.payload_len)
		return true;
	memcpy(cap, frame, *len);
	cap_len = *len;
	return false;
}

static bool captured(struct lb_world *w, void *arg)
{
	(void)w, (void)arg;
	return cap_len != 0;
}

/* One 1,000-byte segment side 0 sends on connection c, captured on the
 * wire and taken through side 1's protocol stage into p->it (its payload
 * not yet placed). */
static void data_item(struct lb_world *w, int c, struct placer *p)
{
	static uint8_t buf[1000];

	cap_len = 0;
	w->s[0].tap = capture;
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(ftoe_sock_send(w->s[0].eng, c, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	ck_assert(lb_run(w, captured, NULL, SEC));
	w->s[0].tap = NULL;
	ftoe_engine_rx_prepare(p->e, cap, cap_len, NULL, &p->it);
	ck_assert_uint_eq(ftoe_engine_rx_proto(p->e, &p->it, 1), 1);
	ck_assert(p->it.res & FTOE_RX_R_DATA);
}

START_TEST(flow_gen_placement_races_reset)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct placer *p;
	pthread_t tid;
	uint8_t *ring;
	uint32_t size;
	int c, a, c2, a2;

	p = calloc(1, sizeof(*p));
	ck_assert_ptr_nonnull(p);
	p->no_check = getenv("FTOE_FLOW_GEN_MT_NO_CHECK") != NULL;
	lb_init(&w, 23, NULL, NULL);
	p->e = w.s[1].eng;
	ck_assert(app_connect(&w, 80, &c, &a));
	data_item(&w, c, p);

	ck_assert_int_eq(pthread_create(&tid, NULL, place_loop, p), 0);
	while (atomic_load(&p->placed_tries) < 100)
		sched_yield();
	/* reset, and a new flow in the slot, while placements go on */
	ck_assert_int_eq(ftoe_sock_abort(p->e, a), 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert(app_connect(&w, 80, &c2, &a2));
	ck_assert_int_eq(a2, a);
	size = p->e->mem[a2].rx_size;
	ring = flow_rx_ring(p->e, (uint32_t)a2);
	memset(ring, 'y', size);	/* the new flow's bytes */
	{
		unsigned long t0 = atomic_load(&p->placed_tries);

		while (atomic_load(&p->placed_tries) < t0 + 100)
			sched_yield();
	}
	atomic_store(&p->stop, 1);
	pthread_join(tid, NULL);
	for (uint32_t i = 0; i < size; i++)
		ck_assert_msg(ring[i] == 'y', "byte %u of the new flow's ring overwritten", i);
	ftoe_engine_get_stats(p->e, &st);
	ck_assert_uint_ge(st.rx_stale_place, 100);
	free(p);
	lb_fini(&w);
}
END_TEST

/* Wait until the placer has tried n more times. */
static void placements_go_on(struct placer *p, unsigned long n)
{
	unsigned long t0 = atomic_load(&p->placed_tries);

	while (atomic_load(&p->placed_tries) < t0 + n)
		sched_yield();
}

/*
 * The same placer while this thread attaches an application's rings to
 * the live flow and then gives the region back (ftoe_sock_attach,
 * ftoe_sock_region_remove: engine_internal.h FLOW_GEN_MOVING): no data
 * race with the move (ThreadSanitizer), no write into the region after
 * it was given back, and the placements after it write the segment's
 * bytes where the flow's rings of the moment have them.
 */
#define MT_RING 4096

START_TEST(placement_races_ring_move)
{
	struct lb_world w;
	struct placer *p;
	pthread_t tid;
	uint8_t *region, *ring;
	uint32_t pos, size;
	int c, a, r;

	p = calloc(1, sizeof(*p));
	region = malloc(2 * MT_RING);
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(region);
	lb_init(&w, 29, NULL, NULL);
	p->e = w.s[1].eng;
	ck_assert(app_connect(&w, 80, &c, &a));
	data_item(&w, c, p);
	r = ftoe_sock_region_add(p->e, region);
	ck_assert_int_gt(r, 0);

	ck_assert_int_eq(pthread_create(&tid, NULL, place_loop, p), 0);
	placements_go_on(p, 100);
	ck_assert_int_eq(ftoe_sock_attach(p->e, a, r, 0, MT_RING, MT_RING), 0);
	placements_go_on(p, 100);
	ftoe_sock_region_remove(p->e, r);
	memset(region, 'z', 2 * MT_RING);	/* the application's again */
	placements_go_on(p, 100);
	atomic_store(&p->stop, 1);
	pthread_join(tid, NULL);

	for (uint32_t i = 0; i < 2 * MT_RING; i++)
		ck_assert_msg(region[i] == 'z', "byte %u of a region given back written", i);
	ck_assert_uint_eq(p->e->mem[a].region, 0);
	ring = flow_rx_ring(p->e, (uint32_t)a);
	size = p->e->mem[a].rx_size;
	pos = p->it.copy_pos + p->it.pos_off - p->e->mem[a].rx_pos_off;
	for (uint32_t i = 0; i < p->it.copy_len; i++)
		ck_assert_msg(ring[(pos + i) & (size - 1)] == 'x', "segment byte %u not in the ring", i);
	free(p);
	lb_fini(&w);
	free(region);
}
END_TEST

static Suite *flow_gen_mt_suite(void)
{
	Suite *s = suite_create("core_flow_gen_mt");
	TCase *tc = tcase_create("concurrent");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, flow_gen_placement_races_reset);
	tcase_add_test(tc, placement_races_ring_move);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(flow_gen_mt_suite)
