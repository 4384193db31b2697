/* test_xsk_ring.c - the raw-frame socket's frame ring (include/flextoe/appif_xsk.h): frames in order and byte for byte across the wrap, a full ring and an oversized frame dropped and counted, the wake-up rule, and a tail the application corrupted. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flextoe/appif_xsk.h"
#include "tests/unit/test.h"

#define ENTRIES 8u
#define FRAME   2048u

static void *ring_new(void)
{
	void *shm = aligned_alloc(4096, appif_xsk_shm_size(ENTRIES, FRAME));
	struct appif_xsk_hdr *h = shm;

	ck_assert_ptr_nonnull(shm);
	memset(shm, 0, appif_xsk_shm_size(ENTRIES, FRAME));
	h->entries = ENTRIES;
	h->frame_size = FRAME;
	return shm;
}

static void fill(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seed * 31 + i);
}

START_TEST(test_sizes)
{
	ck_assert_int_eq(appif_xsk_check_size(256, 2048), 0);
	ck_assert_int_eq(appif_xsk_check_size(1, 4096), 0);
	ck_assert_int_eq(appif_xsk_check_size(0, 2048), -EINVAL);
	ck_assert_int_eq(appif_xsk_check_size(3, 2048), -EINVAL);
	ck_assert_int_eq(appif_xsk_check_size(16384, 2048), -EINVAL);
	ck_assert_int_eq(appif_xsk_check_size(8, 1024), -EINVAL);
	ck_assert_int_eq(appif_xsk_check_size(8, 8192), -EINVAL);
	ck_assert_int_eq(appif_xsk_check_size(8, 3000), -EINVAL);
	ck_assert_uint_eq(appif_xsk_frame_max(2048), 2040);
	ck_assert_uint_eq(sizeof(struct appif_xsk_hdr) <= APPIF_XSK_HDR_SIZE, 1);
}
END_TEST

/* 3 rounds of the ring: every frame comes out in order, byte for byte. */
START_TEST(test_order_and_wrap)
{
	void *shm = ring_new();
	const struct appif_xsk_hdr *h = shm;
	uint8_t in[FRAME], *expect = malloc(FRAME);
	uint32_t next_in = 0, next_out = 0;

	while (next_out < 3 * ENTRIES + 3) {
		/* put up to 5, take up to 3: the ring fills and wraps */
		for (int i = 0; i < 5; i++) {
			uint32_t len = 60 + (next_in * 97) % 1400;
			int wake, ret;

			fill(in, len, next_in);
			ret = appif_xsk_put(shm, ENTRIES, FRAME, in, len, &wake);
			if (ret == -ENOBUFS)
				break;
			ck_assert_int_eq(ret, 0);
			next_in++;
		}
		for (int i = 0; i < 3; i++) {
			const void *f;
			uint32_t len, want = 60 + (next_out * 97) % 1400;

			if (!appif_xsk_peek(shm, &f, &len))
				break;
			ck_assert_uint_eq(len, want);
			fill(expect, want, next_out);
			ck_assert_mem_eq(f, expect, want);
			appif_xsk_release(shm);
			next_out++;
		}
	}
	ck_assert_uint_eq(h->st.rx_frames, next_in);
	free(expect);
	free(shm);
}
END_TEST

/* A full ring drops and counts (AF_XDP's rx_dropped); so does a frame
 * longer than a slot; neither disturbs what is queued. */
START_TEST(test_full_and_too_big)
{
	void *shm = ring_new();
	const struct appif_xsk_hdr *h = shm;
	uint8_t in[FRAME + 16];
	const void *f;
	uint32_t len;
	int wake;

	for (uint32_t i = 0; i < ENTRIES; i++) {
		fill(in, 100, i);
		ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 100, &wake), 0);
	}
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 100, &wake), -ENOBUFS);
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 100, &wake), -ENOBUFS);
	ck_assert_int_eq(wake, 0);
	ck_assert_uint_eq(h->st.rx_dropped, 2);
	appif_xsk_release(shm);
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, appif_xsk_frame_max(FRAME) + 1,
					&wake), -EMSGSIZE);
	ck_assert_uint_eq(h->st.rx_too_big, 1);
	/* the largest frame a slot holds fits */
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, appif_xsk_frame_max(FRAME),
					&wake), 0);
	ck_assert_uint_eq(h->st.rx_frames, ENTRIES + 1);
	ck_assert_int_eq(appif_xsk_peek(shm, &f, &len), 1);
	fill(in, 100, 1);
	ck_assert_uint_eq(len, 100);
	ck_assert_mem_eq(f, in, 100);
	free(shm);
}
END_TEST

/* The producer asks for a wake-up only for a frame into a ring the
 * consumer had emptied (once per drain, not per frame); the consumer's
 * last look before sleeping sees frames that came meanwhile. */
START_TEST(test_wake_rule)
{
	void *shm = ring_new();
	uint8_t in[64] = { 1 };
	const void *f;
	uint32_t len;
	int wake;

	ck_assert_int_eq(appif_xsk_consumer_idle(shm), 1);
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 64, &wake), 0);
	ck_assert_int_eq(wake, 1);
	ck_assert_int_eq(appif_xsk_consumer_idle(shm), 0);
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 64, &wake), 0);
	ck_assert_int_eq(wake, 0);
	while (appif_xsk_peek(shm, &f, &len))
		appif_xsk_release(shm);
	ck_assert_int_eq(appif_xsk_consumer_idle(shm), 1);
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 64, &wake), 0);
	ck_assert_int_eq(wake, 1);
	free(shm);
}
END_TEST

/* An application that writes nonsense into tail, entries or frame_size
 * only hurts itself: the engine's put stays inside the ring (its own
 * sizes), and a tail past head reads as a full ring. */
START_TEST(test_corrupt_consumer)
{
	void *shm = ring_new();
	struct appif_xsk_hdr *h = shm;
	uint8_t in[64] = { 0 };
	int wake;

	h->tail = 1000;		/* past head */
	h->entries = 1u << 30;
	h->frame_size = 1u << 30;
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 64, &wake), -ENOBUFS);
	h->tail = 0;
	ck_assert_int_eq(appif_xsk_put(shm, ENTRIES, FRAME, in, 64, &wake), 0);
	free(shm);
}
END_TEST

/* Two threads: the engine's producer and the application's consumer,
 * 100,000 frames through 8 slots; each arrives once, in order, intact,
 * and put + dropped = offered. */
struct pc {
	void *shm;
	uint32_t n, put, dropped;
};

static void *producer(void *arg)
{
	struct pc *p = arg;
	uint8_t in[256];

	for (uint32_t i = 0; i < p->n; i++) {
		int wake;

		memcpy(in, &i, 4);
		fill(in + 4, 60, i);
		if (appif_xsk_put(p->shm, ENTRIES, FRAME, in, 64, &wake))
			p->dropped++;
		else
			p->put++;
	}
	return NULL;
}

START_TEST(test_threads)
{
	struct pc p = { .shm = ring_new(), .n = 100000 };
	const struct appif_xsk_hdr *h = p.shm;
	uint8_t expect[60];
	uint32_t got = 0, last = 0;
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, producer, &p), 0);
	for (;;) {
		const void *f;
		uint32_t len, seq;
		bool done = __atomic_load_n(&h->st.rx_frames, __ATOMIC_ACQUIRE) +
			    __atomic_load_n(&h->st.rx_dropped, __ATOMIC_ACQUIRE) == p.n;

		if (!appif_xsk_peek(p.shm, &f, &len)) {
			if (done)
				break;
			continue;
		}
		ck_assert_uint_eq(len, 64);
		memcpy(&seq, f, 4);
		ck_assert(got == 0 || seq > last);
		fill(expect, 60, seq);
		ck_assert_mem_eq((const uint8_t *)f + 4, expect, 60);
		last = seq;
		got++;
		appif_xsk_release(p.shm);
	}
	pthread_join(t, NULL);
	ck_assert_uint_eq(got, p.put);
	ck_assert_uint_eq(p.put + p.dropped, p.n);
	ck_assert_uint_eq(h->st.rx_dropped, p.dropped);
	free(p.shm);
}
END_TEST

static Suite *xsk_ring_suite(void)
{
	Suite *s = suite_create("xsk_ring");
	TCase *tc = tcase_create("ring");

	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_order_and_wrap);
	tcase_add_test(tc, test_full_and_too_big);
	tcase_add_test(tc, test_wake_rule);
	tcase_add_test(tc, test_corrupt_consumer);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(xsk_ring_suite)
