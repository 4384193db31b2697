/* test_ooo.c - the single out-of-order interval: merging, trimming, wrap. */
#include <string.h>

#include "core/ooo.h"
#include "tests/unit/test.h"

/* Check records every assertion it evaluates; in hot loops only call it
 * when the condition actually failed. */
#define FAST_ASSERT(c) do { if (!(c)) ck_assert(c); } while (0)
#define FAST_EQ(a, b) do { if ((a) != (b)) ck_assert_int_eq((a), (b)); } while (0)

struct ooo_case {
	const char *name;
	uint32_t rcv_nxt, wnd;
	struct ftoe_ooo iv;
	uint32_t seq, len;
	/* expected */
	enum ftoe_ooo_verdict verdict;
	uint32_t rcv_nxt_after;
	struct ftoe_ooo iv_after;
	uint32_t trim, copy_seq, copy_len, advance;
};

/* An interval (no drop marker). */
#define IV(s, l) { .start = (s), .len = (l) }

/* Each case is run at base 0x1000 and again shifted so it straddles 2^32. */
static const struct ooo_case cases[] = {
	{ "empty", 100, 1000, IV(0, 0), 100, 0, FTOE_OOO_EMPTY, 100, IV(0, 0), 0, 100, 0, 0 },
	{ "in order", 100, 1000, IV(0, 0), 100, 50, FTOE_OOO_IN_ORDER, 150, IV(0, 0), 0, 100, 50, 50 },
	{ "old dup", 100, 1000, IV(0, 0), 40, 60, FTOE_OOO_DUP, 100, IV(0, 0), 0, 100, 0, 0 },
	{ "partial old", 100, 1000, IV(0, 0), 80, 40, FTOE_OOO_IN_ORDER, 120, IV(0, 0), 20, 100, 20, 20 },
	{ "beyond window", 100, 1000, IV(0, 0), 1100, 10, FTOE_OOO_DROP_WINDOW, 100, IV(0, 0), 0, 100, 0, 0 },
	{ "zero window", 100, 0, IV(0, 0), 100, 10, FTOE_OOO_DROP_WINDOW, 100, IV(0, 0), 0, 100, 0, 0 },
	{ "tail trimmed", 100, 1000, IV(0, 0), 1000, 200, FTOE_OOO_NEW, 100, IV(1000, 100), 0, 1000, 100, 0 },
	{ "in order tail trimmed", 100, 50, IV(0, 0), 100, 80, FTOE_OOO_IN_ORDER, 150, IV(0, 0), 0, 100, 50, 50 },
	{ "new interval", 100, 1000, IV(0, 0), 300, 100, FTOE_OOO_NEW, 100, IV(300, 100), 0, 300, 100, 0 },
	{ "extend right adjacent", 100, 1000, IV(300, 100), 400, 50, FTOE_OOO_MERGED, 100, IV(300, 150), 0, 400, 50, 0 },
	{ "extend left adjacent", 100, 1000, IV(300, 100), 250, 50, FTOE_OOO_MERGED, 100, IV(250, 150), 0, 250, 50, 0 },
	{ "overlap both sides", 100, 1000, IV(300, 100), 280, 200, FTOE_OOO_MERGED, 100, IV(280, 200), 0, 280, 200, 0 },
	{ "overlap left", 100, 1000, IV(300, 100), 250, 100, FTOE_OOO_MERGED, 100, IV(250, 150), 0, 250, 100, 0 },
	{ "inside interval", 100, 1000, IV(300, 100), 320, 50, FTOE_OOO_DUP, 100, IV(300, 100), 0, 100, 0, 0 },
	{ "second hole right", 100, 1000, IV(300, 100), 401, 50, FTOE_OOO_DROP_HOLE, 100, IV(300, 100), 0, 100, 0, 0 },
	{ "second hole left", 100, 1000, IV(300, 100), 200, 99, FTOE_OOO_DROP_HOLE, 100, IV(300, 100), 0, 100, 0, 0 },
	{ "fills gap exactly", 100, 1000, IV(300, 100), 100, 200, FTOE_OOO_IN_ORDER, 400, IV(0, 0), 0, 100, 200, 300 },
	{ "fills gap overlapping", 100, 1000, IV(300, 100), 100, 250, FTOE_OOO_IN_ORDER, 400, IV(0, 0), 0, 100, 250, 300 },
	{ "fills past interval", 100, 1000, IV(300, 100), 100, 500, FTOE_OOO_IN_ORDER, 600, IV(0, 0), 0, 100, 500, 500 },
	{ "in order short of gap", 100, 1000, IV(300, 100), 100, 100, FTOE_OOO_IN_ORDER, 200, IV(300, 100), 0, 100, 100, 100 },
	{ "retransmit covers all", 100, 1000, IV(300, 100), 50, 400, FTOE_OOO_IN_ORDER, 450, IV(0, 0), 50, 100, 350, 350 },
	{ "ooo trimmed to window", 100, 400, IV(300, 100), 400, 300, FTOE_OOO_MERGED, 100, IV(300, 200), 0, 400, 100, 0 },
	{ "at right edge", 100, 400, IV(0, 0), 500, 1, FTOE_OOO_DROP_WINDOW, 100, IV(0, 0), 0, 100, 0, 0 },
	{ "last window byte", 100, 400, IV(0, 0), 499, 10, FTOE_OOO_NEW, 100, IV(499, 1), 0, 499, 1, 0 },
};

static void run_case(const struct ooo_case *c, uint32_t shift)
{
	uint32_t nxt = c->rcv_nxt + shift;
	struct ftoe_ooo iv = c->iv;
	struct ftoe_ooo_result r;

	if (iv.len)
		iv.start += shift;
	ftoe_ooo_rx(&nxt, c->wnd, &iv, c->seq + shift, c->len, &r);
	ck_assert_msg(r.verdict == c->verdict, "%s (+%#x): verdict %d want %d",
		      c->name, shift, r.verdict, c->verdict);
	ck_assert_msg(nxt == c->rcv_nxt_after + shift, "%s (+%#x): rcv_nxt %#x",
		      c->name, shift, nxt);
	ck_assert_msg(iv.len == c->iv_after.len &&
		      (!iv.len || iv.start == c->iv_after.start + shift),
		      "%s (+%#x): interval [%#x,+%u)", c->name, shift, iv.start, iv.len);
	ck_assert_msg(r.trim_head == c->trim && r.copy_len == c->copy_len &&
		      (!r.copy_len || r.copy_seq == c->copy_seq + shift) &&
		      r.advance == c->advance,
		      "%s (+%#x): trim %u copy %#x+%u adv %u", c->name, shift,
		      r.trim_head, r.copy_seq, r.copy_len, r.advance);
}

START_TEST(ooo_table)
{
	/* Shifts: plain, and so that every case straddles 2^32 somewhere. */
	static const uint32_t shifts[] = { 0x1000, 0xffffff00u, 0xfffffed0u,
					   0xfffffe70u, 0xfffffc00u, 0xffffff9cu };

	for (unsigned s = 0; s < sizeof(shifts) / sizeof(shifts[0]); s++)
		for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			run_case(&cases[i], shifts[s]);
}
END_TEST

/* While data dropped as a second hole is outstanding, a new interval opens
 * only near rcv_nxt; the marker clears once rcv_nxt passes the dropped data.
 * Run plain and straddling 2^32. */
static void drop_marker_case(uint32_t b)
{
	uint32_t nxt = b + 100;
	struct ftoe_ooo iv = IV(b + 300, 100);
	struct ftoe_ooo_result r;

	/* A second hole after the interval: dropped and remembered. */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 500, 50, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DROP_HOLE);
	ck_assert(iv.dropped && iv.drop_end == b + 550);
	/* The hole fills and the interval is absorbed; [400, 550) is still
	 * owed by the sender. */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 100, 200, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_IN_ORDER);
	ck_assert_uint_eq(nxt, b + 400);
	ck_assert(iv.len == 0 && iv.dropped);
	/* Far past rcv_nxt (200 > near): kept out of the only interval. */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 600, 50, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DROP_FAR);
	ck_assert_uint_eq(r.copy_len, 0);
	ck_assert(iv.len == 0 && iv.drop_end == b + 650);
	/* Near rcv_nxt (an overtaken or lost head of the resent range): the
	 * interval opens, and the sender learns of the hole from its SACK. */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 480, 50, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_NEW);
	ck_assert(iv.start == b + 480 && iv.len == 50);
	/* Data adjacent to the interval is still accepted, near or not. */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 530, 200, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_MERGED);
	ck_assert(iv.start == b + 480 && iv.len == 250);
	/* rcv_nxt passes everything dropped: the marker clears ... */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 400, 80, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_IN_ORDER);
	ck_assert_uint_eq(nxt, b + 730);
	ck_assert(iv.len == 0 && !iv.dropped);
	/* ... and a far segment opens the interval again (a genuine loss). */
	ftoe_ooo_rx_near(&nxt, 1000, &iv, b + 1500, 10, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_NEW);
	ck_assert(iv.start == b + 1500 && iv.len == 10);
}

START_TEST(ooo_drop_marker)
{
	drop_marker_case(0x1000);
	drop_marker_case(0xfffffe00u);
	drop_marker_case(0xfffffb00u);
}
END_TEST

/* Simulate a receive stream of 1-byte-granular random segments across the
 * wrap and check the reassembled stream equals the sent one; near limits
 * where a new interval may open while dropped data is outstanding
 * (UINT32_MAX: anywhere, as ftoe_ooo_rx). */
static void reassembly_model(uint32_t near)
{
	enum { STREAM = 20000, WND = 3000 };
	static uint8_t have[STREAM];
	uint32_t isn = 0xffffd000u, nxt = isn, rng = 12345;
	struct ftoe_ooo iv = IV(0, 0);
	unsigned steps = 0;
	uint32_t verified = 0;

	memset(have, 0, sizeof(have));

	while (nxt - isn < STREAM && steps++ < 200000) {
		struct ftoe_ooo_result r;
		struct ftoe_ooo before;
		uint32_t off, len;

		rng = rng * 1103515245u + 12345u;
		/* Segment start: around rcv_nxt, some before it, some far. */
		off = (nxt - isn) + (rng >> 8) % (WND + 400) - 200;
		len = 1 + (rng >> 20) % 400;
		if ((int32_t)off < 0)
			off = 0;
		if (off >= STREAM)
			continue;
		if (off + len > STREAM)
			len = STREAM - off;
		before = iv;
		ftoe_ooo_rx_near(&nxt, WND, &iv, isn + off, len, near, &r);
		/* Never renege: held data stays held (in the interval, or
		 * below rcv_nxt once absorbed). */
		if (before.len && iv.len)
			FAST_ASSERT((int32_t)(iv.start - before.start) <= 0 &&
				    (int32_t)(iv.start + iv.len - before.start - before.len) >= 0);
		if (before.len && !iv.len)
			FAST_ASSERT((int32_t)(nxt - before.start - before.len) >= 0);
		/* Whatever is copied must be inside the window and the segment. */
		if (r.copy_len) {
			uint32_t cs = r.copy_seq - isn;

			FAST_EQ(cs, off + r.trim_head);
			FAST_ASSERT(cs + r.copy_len <= off + len);
			for (uint32_t b = cs; b < cs + r.copy_len; b++)
				have[b] = 1;
		}
		/* Invariants: everything below rcv_nxt is held; the interval
		 * lies after rcv_nxt and is fully held. */
		for (; verified < nxt - isn; verified++)
			FAST_ASSERT(have[verified]);
		if (iv.len) {
			FAST_ASSERT((int32_t)(iv.start - nxt) > 0);
			for (uint32_t b = iv.start - isn; b < iv.start - isn + iv.len; b++)
				FAST_ASSERT(have[b]);
		}
	}
	FAST_EQ(nxt - isn, STREAM);
}

START_TEST(ooo_reassembly_model)
{
	reassembly_model(UINT32_MAX);
	reassembly_model(400);
	reassembly_model(0);
}
END_TEST

static Suite *ooo_suite(void)
{
	Suite *s = suite_create("core_ooo");
	TCase *tc = tcase_create("ooo");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ooo_table);
	tcase_add_test(tc, ooo_reassembly_model);
	tcase_add_test(tc, ooo_drop_marker);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(ooo_suite)
