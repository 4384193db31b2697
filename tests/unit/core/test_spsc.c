/* test_spsc.c - the pipeline's SPSC ring (core/x86/spsc.h): bounds, FIFO order across index wrap, two threads, sleep/wake handshake. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/x86/spsc.h"
#include "tests/unit/test.h"

START_TEST(spsc_init_checks)
{
	struct spsc_ring r;

	ck_assert_int_eq(spsc_init(&r, 6, 8), -EINVAL);
	ck_assert_int_eq(spsc_init(&r, 1, 8), -EINVAL);
	ck_assert_int_eq(spsc_init(&r, 8, 12), -EINVAL);
	ck_assert_int_eq(spsc_init(&r, 8, 0), -EINVAL);
	ck_assert_int_eq(spsc_init(&r, 8, 16), 0);
	ck_assert_uint_eq(spsc_capacity(&r), 8);
	ck_assert_uint_eq(spsc_count(&r), 0);
	spsc_fini(&r);
}
END_TEST

/* Fill to capacity, refuse more, drain in order; across the 2^32 wrap of
 * the free-running indices. */
START_TEST(spsc_full_empty_wrap)
{
	struct spsc_ring r;
	uint32_t idx, n, next_in = 0, next_out = 0;

	ck_assert_int_eq(spsc_init(&r, 8, 8), 0);
	/* start just below the wrap of the 32-bit counters */
	atomic_store(&r.prod, UINT32_MAX - 3);
	atomic_store(&r.cons, UINT32_MAX - 3);
	r.cons_cached = r.prod_cached = UINT32_MAX - 3;
	for (int round = 0; round < 5; round++) {
		n = spsc_prod_reserve(&r, 100, &idx);
		ck_assert_uint_eq(n, 8);
		for (uint32_t i = 0; i < n; i++)
			*(uint64_t *)spsc_slot(&r, idx + i) = next_in++;
		spsc_prod_submit(&r, n);
		ck_assert_uint_eq(spsc_prod_reserve(&r, 1, &idx), 0);
		ck_assert_uint_eq(spsc_count(&r), 8);
		/* consume 3, then the other 5 */
		n = spsc_cons_peek(&r, 3, &idx);
		ck_assert_uint_eq(n, 3);
		for (uint32_t i = 0; i < n; i++)
			ck_assert_uint_eq(*(uint64_t *)spsc_slot(&r, idx + i), next_out++);
		spsc_cons_release(&r, n);
		ck_assert_uint_eq(spsc_prod_reserve(&r, 8, &idx), 3);
		n = spsc_cons_peek(&r, 64, &idx);
		ck_assert_uint_eq(n, 5);
		for (uint32_t i = 0; i < n; i++)
			ck_assert_uint_eq(*(uint64_t *)spsc_slot(&r, idx + i), next_out++);
		spsc_cons_release(&r, n);
		ck_assert_uint_eq(spsc_cons_peek(&r, 64, &idx), 0);
	}
	ck_assert_uint_lt(atomic_load(&r.prod), 100);	/* it did wrap */
	spsc_fini(&r);
}
END_TEST

START_TEST(spsc_waiter_handshake)
{
	struct spsc_waiter w = { .efd = eventfd(0, EFD_NONBLOCK) };
	uint64_t v;

	ck_assert_int_ge(w.efd, 0);
	/* awake consumer: no syscall, nothing to read */
	ck_assert(!spsc_waiter_kick(&w));
	ck_assert_int_lt(read(w.efd, &v, sizeof(v)), 0);
	/* sleeping consumer: one write, even for several producers' kicks */
	spsc_waiter_prepare(&w);
	ck_assert(spsc_waiter_kick(&w));
	ck_assert(!spsc_waiter_kick(&w));
	ck_assert_int_eq(read(w.efd, &v, sizeof(v)), sizeof(v));
	ck_assert_uint_eq(v, 1);
	ck_assert_uint_eq(atomic_load(&w.wakeups), 1);
	spsc_waiter_done(&w);
	close(w.efd);
}
END_TEST

/* Two threads: every value arrives once and in order, and a consumer that
 * blocks whenever the ring is empty is always woken (a lost wakeup shows
 * as a poll() that times out). */
#define SPSC_N ((uint32_t)ftoe_test_scaled(2000000))

struct pc {
	struct spsc_ring r;
	struct spsc_waiter w;
};

static void *producer(void *arg)
{
	struct pc *pc = arg;
	uint32_t idx, n, next = 0, burst = 1;

	while (next < SPSC_N) {
		n = spsc_prod_reserve(&pc->r, burst, &idx);
		if (n > SPSC_N - next)
			n = SPSC_N - next;
		for (uint32_t i = 0; i < n; i++)
			*(uint64_t *)spsc_slot(&pc->r, idx + i) = next++;
		if (n) {
			spsc_prod_submit(&pc->r, n);
			spsc_waiter_kick(&pc->w);
		}
		burst = burst % 37 + 1;	/* batches of 1..37 */
	}
	return NULL;
}

START_TEST(spsc_two_threads_fifo)
{
	struct pc pc;
	pthread_t tid;
	uint64_t expect = 0, v;
	unsigned int timeouts = 0;

	ck_assert_int_eq(spsc_init(&pc.r, 64, 8), 0);
	memset(&pc.w, 0, sizeof(pc.w));
	pc.w.efd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ge(pc.w.efd, 0);
	ck_assert_int_eq(pthread_create(&tid, NULL, producer, &pc), 0);
	while (expect < SPSC_N) {
		uint32_t idx, n = spsc_cons_peek(&pc.r, 16, &idx);

		if (!n) {
			struct pollfd p = { .fd = pc.w.efd, .events = POLLIN };

			spsc_waiter_prepare(&pc.w);
			if (!spsc_count(&pc.r)) {
				if (poll(&p, 1, 2000) == 0)
					timeouts++;
				if (read(pc.w.efd, &v, sizeof(v)) < 0) {
					/* nothing pending: woken by the timeout */
				}
			}
			spsc_waiter_done(&pc.w);
			continue;
		}
		for (uint32_t i = 0; i < n; i++)
			ck_assert_uint_eq(*(uint64_t *)spsc_slot(&pc.r, idx + i), expect++);
		spsc_cons_release(&pc.r, n);
	}
	pthread_join(tid, NULL);
	ck_assert_uint_eq(timeouts, 0);
	ck_assert_uint_eq(spsc_count(&pc.r), 0);
	close(pc.w.efd);
	spsc_fini(&pc.r);
}
END_TEST

static Suite *spsc_suite(void)
{
	Suite *s = suite_create("core_spsc");
	TCase *tc = tcase_create("spsc");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, spsc_init_checks);
	tcase_add_test(tc, spsc_full_empty_wrap);
	tcase_add_test(tc, spsc_waiter_handshake);
	tcase_add_test(tc, spsc_two_threads_fifo);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(spsc_suite)
