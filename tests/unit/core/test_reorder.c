/* test_reorder.c - sequencer/reorder buffer: order, retirement, threads. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/reorder.h"
#include "tests/unit/test.h"

START_TEST(rob_basic_order)
{
	struct ftoe_rob_slot slots[8];
	struct ftoe_rob rob;
	void *out[16];
	uint32_t sn[8], x;

	ck_assert_int_eq(ftoe_rob_init(&rob, slots, 6), -EINVAL);
	ck_assert_int_eq(ftoe_rob_init(&rob, slots, 1), -EINVAL);
	ck_assert_int_eq(ftoe_rob_init(&rob, slots, 8), 0);
	for (int i = 0; i < 8; i++) {
		ck_assert_int_eq(ftoe_rob_reserve(&rob, &sn[i]), 0);
		ck_assert_uint_eq(sn[i], (uint32_t)i);
	}
	/* Full: the ninth waits for a release. */
	ck_assert_int_eq(ftoe_rob_reserve(&rob, &x), -ENOBUFS);
	ck_assert_uint_eq(ftoe_rob_in_flight(&rob), 8);

	/* Finish 2, 1 (retired), 3: nothing can go before 0 is done. */
	ck_assert_int_eq(ftoe_rob_complete(&rob, 2, (void *)(uintptr_t)102), 0);
	ck_assert_int_eq(ftoe_rob_retire(&rob, 1), 0);
	ck_assert_int_eq(ftoe_rob_complete(&rob, 3, (void *)(uintptr_t)103), 0);
	ck_assert_uint_eq(ftoe_rob_release(&rob, out, 16), 0);
	ck_assert_int_eq(ftoe_rob_complete(&rob, 0, (void *)(uintptr_t)100), 0);
	ck_assert_uint_eq(ftoe_rob_release(&rob, out, 16), 3);
	ck_assert_ptr_eq(out[0], (void *)(uintptr_t)100);
	ck_assert_ptr_eq(out[1], (void *)(uintptr_t)102);
	ck_assert_ptr_eq(out[2], (void *)(uintptr_t)103);
	ck_assert_uint_eq(rob.retired, 1);
	ck_assert_uint_eq(ftoe_rob_in_flight(&rob), 4);

	/* Batch limit: release at most max items. */
	for (uint32_t i = 4; i < 8; i++)
		ck_assert_int_eq(ftoe_rob_complete(&rob, i, (void *)(uintptr_t)(100 + i)), 0);
	ck_assert_uint_eq(ftoe_rob_release(&rob, out, 3), 3);
	ck_assert_ptr_eq(out[2], (void *)(uintptr_t)106);
	ck_assert_uint_eq(ftoe_rob_release(&rob, out, 3), 1);
	ck_assert_ptr_eq(out[0], (void *)(uintptr_t)107);

	/* Numbers not in flight are refused. */
	ck_assert_int_eq(ftoe_rob_complete(&rob, 3, NULL), -ERANGE);   /* released */
	ck_assert_int_eq(ftoe_rob_complete(&rob, 8 + 8, NULL), -ERANGE); /* a lap ahead */
	ck_assert_int_eq(ftoe_rob_retire(&rob, 0xffffffffu), -ERANGE);
	ck_assert_int_eq(ftoe_rob_retire(&rob, 1000), -ERANGE);
}
END_TEST

START_TEST(rob_wraps_seqno_space)
{
	/* Start near 2^32 so the 32-bit numbers wrap in the middle. */
	struct ftoe_rob_slot slots[4];
	struct ftoe_rob rob;
	void *out[4];
	uint32_t sn;

	ck_assert_int_eq(ftoe_rob_init(&rob, slots, 4), 0);
	rob.next = rob.head = 0xfffffffeu;
	for (int lap = 0; lap < 5; lap++) {
		uint32_t first = rob.next;

		for (int i = 0; i < 4; i++)
			ck_assert_int_eq(ftoe_rob_reserve(&rob, &sn), 0);
		/* complete in reverse */
		for (int i = 3; i >= 0; i--)
			ck_assert_int_eq(ftoe_rob_complete(&rob, first + (uint32_t)i,
							   (void *)(uintptr_t)(first + (uint32_t)i + 1)), 0);
		ck_assert_uint_eq(ftoe_rob_release(&rob, out, 4), 4);
		for (int i = 0; i < 4; i++)
			ck_assert_ptr_eq(out[i], (void *)(uintptr_t)(first + (uint32_t)i + 1));
	}
}
END_TEST

/* Threads: one producer, several completers finishing in scrambled order
 * (some retire), one releaser checking strict order and completeness. */
enum { MT_ITEMS = 200000, MT_WORKERS = 3, MT_RING = 64 };

struct mt_ctx {
	struct ftoe_rob rob;
	struct ftoe_rob_slot slots[MT_RING];
	uint32_t work[MT_ITEMS];     /* seqno per ticket */
	uint32_t published;          /* tickets the producer has published */
	uint32_t claimed;            /* tickets taken by completers */
	uint32_t released_ok;
	uint32_t errors;
};

static void *mt_producer(void *arg)
{
	struct mt_ctx *c = arg;

	for (uint32_t i = 0; i < MT_ITEMS; i++) {
		uint32_t sn;

		while (ftoe_rob_reserve(&c->rob, &sn))
			sched_yield();
		c->work[i] = sn;
		__atomic_store_n(&c->published, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *mt_worker(void *arg)
{
	struct mt_ctx *c = arg;
	unsigned rng = (unsigned)(uintptr_t)&rng;

	for (;;) {
		uint32_t t = __atomic_fetch_add(&c->claimed, 1, __ATOMIC_RELAXED), sn;

		if (t >= MT_ITEMS)
			return NULL;
		while (__atomic_load_n(&c->published, __ATOMIC_ACQUIRE) <= t)
			sched_yield();
		sn = c->work[t];
		rng = rng * 1103515245u + 12345u;
		if ((rng >> 16) % 8 == 0)
			sched_yield(); /* scramble completion order */
		if (t % 7 == 3) {
			if (ftoe_rob_retire(&c->rob, sn))
				__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
		} else if (ftoe_rob_complete(&c->rob, sn, (void *)(uintptr_t)(t + 1))) {
			__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
		}
	}
}

static void *mt_releaser(void *arg)
{
	struct mt_ctx *c = arg;
	uint32_t expect = 0; /* next ticket expected (tickets map 1:1 to seqnos) */
	void *out[16];

	while (expect < MT_ITEMS) {
		unsigned n = ftoe_rob_release(&c->rob, out, 16);
		/* retired tickets are skipped silently: advance over them */
		for (unsigned i = 0; i < n; i++) {
			uint32_t t = (uint32_t)(uintptr_t)out[i] - 1;

			while (expect % 7 == 3)
				expect++;
			if (t != expect)
				c->errors++;
			expect = t + 1;
			c->released_ok++;
		}
		if (!n) {
			if (c->rob.released + c->rob.retired == MT_ITEMS)
				break;
			sched_yield();
		}
	}
	return NULL;
}

START_TEST(rob_multithreaded)
{
	struct mt_ctx *c = calloc(1, sizeof(*c));
	pthread_t prod, rel, wk[MT_WORKERS];
	uint32_t want = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ftoe_rob_init(&c->rob, c->slots, MT_RING), 0);
	pthread_create(&rel, NULL, mt_releaser, c);
	for (int i = 0; i < MT_WORKERS; i++)
		pthread_create(&wk[i], NULL, mt_worker, c);
	pthread_create(&prod, NULL, mt_producer, c);
	pthread_join(prod, NULL);
	for (int i = 0; i < MT_WORKERS; i++)
		pthread_join(wk[i], NULL);
	pthread_join(rel, NULL);

	for (uint32_t t = 0; t < MT_ITEMS; t++)
		want += t % 7 != 3;
	ck_assert_uint_eq(c->errors, 0);
	ck_assert_uint_eq(c->released_ok, want);
	ck_assert_uint_eq(c->rob.released, want);
	ck_assert_uint_eq(c->rob.retired, MT_ITEMS - want);
	ck_assert_uint_eq(ftoe_rob_in_flight(&c->rob), 0);
	free(c);
}
END_TEST

/* The same producer and completers, but no releaser thread: every
 * completer releases after its complete or retire (ftoe_rob_release_shared),
 * as the x86 flow-group pipeline's threads do.  Delivery must be in strict
 * order and nothing may be left behind when the last worker returns. */
struct sh_ctx {
	struct mt_ctx *c;
	uint32_t expect;	/* only the release holder touches it */
};

static void sh_deliver(void *ctx, void *item)
{
	struct sh_ctx *x = ctx;
	uint32_t t = (uint32_t)(uintptr_t)item - 1;

	while (x->expect % 7 == 3)
		x->expect++;
	if (t != x->expect)
		x->c->errors++;
	x->expect = t + 1;
	x->c->released_ok++;
}

static struct sh_ctx sh;

static void *sh_worker(void *arg)
{
	struct mt_ctx *c = arg;
	unsigned rng = (unsigned)(uintptr_t)&rng;

	for (;;) {
		uint32_t t = __atomic_fetch_add(&c->claimed, 1, __ATOMIC_RELAXED), sn;

		if (t >= MT_ITEMS)
			return NULL;
		while (__atomic_load_n(&c->published, __ATOMIC_ACQUIRE) <= t)
			sched_yield();
		sn = c->work[t];
		rng = rng * 1103515245u + 12345u;
		if ((rng >> 16) % 8 == 0)
			sched_yield();
		if (t % 7 == 3 ? ftoe_rob_retire(&c->rob, sn) :
		    ftoe_rob_complete(&c->rob, sn, (void *)(uintptr_t)(t + 1)))
			__atomic_fetch_add(&c->errors, 1, __ATOMIC_RELAXED);
		ftoe_rob_release_shared(&c->rob, sh_deliver, &sh);
	}
}

START_TEST(rob_release_from_any_thread)
{
	struct mt_ctx *c = calloc(1, sizeof(*c));
	pthread_t prod, wk[MT_WORKERS];
	uint32_t want = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(ftoe_rob_init(&c->rob, c->slots, MT_RING), 0);
	sh = (struct sh_ctx){ .c = c };
	pthread_create(&prod, NULL, mt_producer, c);
	for (int i = 0; i < MT_WORKERS; i++)
		pthread_create(&wk[i], NULL, sh_worker, c);
	pthread_join(prod, NULL);
	for (int i = 0; i < MT_WORKERS; i++)
		pthread_join(wk[i], NULL);
	for (uint32_t t = 0; t < MT_ITEMS; t++)
		want += t % 7 != 3;
	ck_assert_uint_eq(c->errors, 0);
	ck_assert_uint_eq(c->released_ok, want);
	ck_assert_uint_eq(c->rob.retired, MT_ITEMS - want);
	ck_assert_uint_eq(ftoe_rob_in_flight(&c->rob), 0);
	free(c);
}
END_TEST

static Suite *reorder_suite(void)
{
	Suite *s = suite_create("core_reorder");
	TCase *tc = tcase_create("rob");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rob_basic_order);
	tcase_add_test(tc, rob_wraps_seqno_space);
	tcase_add_test(tc, rob_multithreaded);
	tcase_add_test(tc, rob_release_from_any_thread);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(reorder_suite)
