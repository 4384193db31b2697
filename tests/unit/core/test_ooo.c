/* test_ooo.c - the out-of-order intervals: merging, first copy wins, SACK order, D-SACK, wrap. */
#include <string.h>

#include "core/ooo.h"
#include "core/tcp_seq.h"
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
	struct ftoe_ooo iv_after;   /* intervals in array (recency) order, and the D-SACK block */
	uint32_t trim, copy_seq, copy_len, advance;
};

#define NONE { .n = 0 }
/* One interval [s, s + l); two, most recent first; each with a D-SACK block. */
#define IV(s, l) { .iv = { { (s), (s) + (l) } }, .n = 1 }
#define IV2(s, l, s2, l2) { .iv = { { (s), (s) + (l) }, { (s2), (s2) + (l2) } }, .n = 2 }
#define NONE_D(a, b) { .dsack = { (a), (b) }, .n = 0 }
#define IV_D(s, l, a, b) { .iv = { { (s), (s) + (l) } }, .dsack = { (a), (b) }, .n = 1 }

/* Each case is run at base 0x1000 and again shifted so it straddles 2^32;
 * every case allows FTOE_OOO_IV_MAX intervals. */
static const struct ooo_case cases[] = {
	{ "empty", 100, 1000, NONE, 100, 0, FTOE_OOO_EMPTY, 100, NONE, 0, 100, 0, 0 },
	{ "in order", 100, 1000, NONE, 100, 50, FTOE_OOO_IN_ORDER, 150, NONE, 0, 100, 50, 50 },
	{ "old dup", 100, 1000, NONE, 40, 60, FTOE_OOO_DUP, 100, NONE_D(40, 100), 0, 100, 0, 0 },
	{ "partial old", 100, 1000, NONE, 80, 40, FTOE_OOO_IN_ORDER, 120, NONE_D(80, 100), 20, 100, 20, 20 },
	{ "beyond window", 100, 1000, NONE, 1100, 10, FTOE_OOO_DROP_WINDOW, 100, NONE, 0, 100, 0, 0 },
	{ "zero window", 100, 0, NONE, 100, 10, FTOE_OOO_DROP_WINDOW, 100, NONE, 0, 100, 0, 0 },
	{ "tail trimmed", 100, 1000, NONE, 1000, 200, FTOE_OOO_NEW, 100, IV(1000, 100), 0, 1000, 100, 0 },
	{ "in order tail trimmed", 100, 50, NONE, 100, 80, FTOE_OOO_IN_ORDER, 150, NONE, 0, 100, 50, 50 },
	{ "new interval", 100, 1000, NONE, 300, 100, FTOE_OOO_NEW, 100, IV(300, 100), 0, 300, 100, 0 },
	{ "extend right adjacent", 100, 1000, IV(300, 100), 400, 50, FTOE_OOO_MERGED, 100, IV(300, 150), 0, 400, 50, 0 },
	{ "extend left adjacent", 100, 1000, IV(300, 100), 250, 50, FTOE_OOO_MERGED, 100, IV(250, 150), 0, 250, 50, 0 },
	/* first copy wins: only [280, 300) is new; the tail past the
	 * interval needs a second stretch and is left to the sender */
	{ "overlap both sides", 100, 1000, IV(300, 100), 280, 200, FTOE_OOO_MERGED, 100, IV_D(280, 120, 300, 400), 0, 280, 20, 0 },
	{ "overlap left", 100, 1000, IV(300, 100), 250, 100, FTOE_OOO_MERGED, 100, IV_D(250, 150, 300, 350), 0, 250, 50, 0 },
	{ "overlap right", 100, 1000, IV(300, 100), 350, 100, FTOE_OOO_MERGED, 100, IV_D(300, 150, 350, 400), 50, 400, 50, 0 },
	{ "inside interval", 100, 1000, IV(300, 100), 320, 50, FTOE_OOO_DUP, 100, IV_D(300, 100, 320, 370), 0, 100, 0, 0 },
	{ "second interval right", 100, 1000, IV(300, 100), 401, 50, FTOE_OOO_NEW, 100, IV2(401, 50, 300, 100), 0, 401, 50, 0 },
	{ "second interval left", 100, 1000, IV(300, 100), 200, 99, FTOE_OOO_NEW, 100, IV2(200, 99, 300, 100), 0, 200, 99, 0 },
	{ "joins two", 100, 1000, IV2(200, 50, 300, 100), 250, 50, FTOE_OOO_MERGED, 100, IV(200, 200), 0, 250, 50, 0 },
	{ "joins two overlapping", 100, 1000, IV2(200, 50, 300, 100), 230, 100, FTOE_OOO_MERGED, 100, IV_D(200, 200, 230, 250), 20, 250, 50, 0 },
	{ "fills gap exactly", 100, 1000, IV(300, 100), 100, 200, FTOE_OOO_IN_ORDER, 400, NONE, 0, 100, 200, 300 },
	{ "fills gap overlapping", 100, 1000, IV(300, 100), 100, 250, FTOE_OOO_IN_ORDER, 400, NONE_D(300, 350), 0, 100, 200, 300 },
	{ "fills past interval", 100, 1000, IV(300, 100), 100, 500, FTOE_OOO_IN_ORDER, 400, NONE_D(300, 400), 0, 100, 200, 300 },
	{ "in order short of gap", 100, 1000, IV(300, 100), 100, 100, FTOE_OOO_IN_ORDER, 200, IV(300, 100), 0, 100, 100, 100 },
	{ "in order reaches first of two", 100, 1000, IV2(450, 50, 200, 100), 100, 100, FTOE_OOO_IN_ORDER, 300, IV(450, 50), 0, 100, 100, 200 },
	{ "retransmit covers all", 100, 1000, IV(300, 100), 50, 400, FTOE_OOO_IN_ORDER, 400, NONE_D(50, 100), 50, 100, 200, 300 },
	{ "ooo trimmed to window", 100, 400, IV(300, 100), 400, 300, FTOE_OOO_MERGED, 100, IV(300, 200), 0, 400, 100, 0 },
	{ "at right edge", 100, 400, NONE, 500, 1, FTOE_OOO_DROP_WINDOW, 100, NONE, 0, 100, 0, 0 },
	{ "last window byte", 100, 400, NONE, 499, 10, FTOE_OOO_NEW, 100, IV(499, 1), 0, 499, 1, 0 },
};

static void shift_ooo(struct ftoe_ooo *o, uint32_t shift)
{
	for (unsigned i = 0; i < o->n; i++) {
		o->iv[i].start += shift;
		o->iv[i].end += shift;
	}
	if (o->dsack.start != o->dsack.end) {
		o->dsack.start += shift;
		o->dsack.end += shift;
	}
}

static void run_case(const struct ooo_case *c, uint32_t shift)
{
	uint32_t nxt = c->rcv_nxt + shift;
	struct ftoe_ooo iv = c->iv, want = c->iv_after;
	struct ftoe_ooo_more more;
	struct ftoe_ooo_result r;

	shift_ooo(&iv, shift);
	shift_ooo(&want, shift);
	ftoe_ooo_rx(&nxt, c->wnd, &iv, &more, FTOE_OOO_IV_MAX, c->seq + shift, c->len, &r);
	ck_assert_msg(r.verdict == c->verdict, "%s (+%#x): verdict %d want %d",
		      c->name, shift, r.verdict, c->verdict);
	ck_assert_msg(nxt == c->rcv_nxt_after + shift, "%s (+%#x): rcv_nxt %#x",
		      c->name, shift, nxt);
	ck_assert_msg(iv.n == want.n, "%s (+%#x): %u intervals, want %u", c->name, shift,
		      iv.n, want.n);
	for (unsigned i = 0; i < iv.n; i++)
		ck_assert_msg(iv.iv[i].start == want.iv[i].start && iv.iv[i].end == want.iv[i].end,
			      "%s (+%#x): interval %u [%#x,%#x)", c->name, shift, i,
			      iv.iv[i].start, iv.iv[i].end);
	ck_assert_msg((iv.dsack.start == iv.dsack.end && want.dsack.start == want.dsack.end) ||
		      (iv.dsack.start == want.dsack.start && iv.dsack.end == want.dsack.end),
		      "%s (+%#x): D-SACK [%#x,%#x)", c->name, shift, iv.dsack.start, iv.dsack.end);
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

/* Several intervals: a fifth disjoint one is dropped while four are in use
 * (and a third with the setting at 2); filling holes advances rcv_nxt over
 * every interval reached.  Plain and straddling 2^32. */
static void intervals_case(uint32_t b)
{
	uint32_t nxt = b + 100;
	struct ftoe_ooo o = NONE;
	struct ftoe_ooo_result r;

	for (unsigned i = 0; i < 4; i++) {
		ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 200 + 200 * i, 100, &r);
		ck_assert_int_eq(r.verdict, FTOE_OOO_NEW);
		ck_assert_uint_eq(r.copy_len, 100);
	}
	ck_assert_uint_eq(o.n, 4);
	/* [200,300) [400,500) [600,700) [800,900): a fifth is dropped ... */
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 1000, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DROP_FULL);
	ck_assert_uint_eq(r.copy_len, 0);
	ck_assert_uint_eq(o.n, 4);
	/* ... but data adjacent to one is still taken */
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 900, 50, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_MERGED);
	ck_assert(o.iv[0].start == b + 800 && o.iv[0].end == b + 950);
	/* joining [400,500) and [600,700) frees an interval */
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 500, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_MERGED);
	ck_assert_uint_eq(o.n, 3);
	ck_assert(o.iv[0].start == b + 400 && o.iv[0].end == b + 700);
	/* the hole at rcv_nxt fills: rcv_nxt moves over [200,300) only */
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 100, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_IN_ORDER);
	ck_assert_uint_eq(nxt, b + 300);
	ck_assert_uint_eq(r.advance, 200);
	ck_assert_uint_eq(o.n, 2);
	/* the next fill reaches [400,700), and the one after [800,950) */
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 300, 100, &r);
	ck_assert_uint_eq(nxt, b + 700);
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 4, b + 700, 100, &r);
	ck_assert_uint_eq(nxt, b + 950);
	ck_assert_uint_eq(r.advance, 250);
	ck_assert_uint_eq(o.n, 0);

	/* the runtime setting: at most 2 */
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 2, b + 1100, 10, &r);
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 2, b + 1200, 10, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_NEW);
	ftoe_ooo_rx(&nxt, 10000, &o, NULL, 2, b + 1300, 10, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DROP_FULL);
	ck_assert_uint_eq(o.n, 2);
}

START_TEST(ooo_intervals)
{
	intervals_case(0x1000);
	intervals_case(0xfffffe00u);
	intervals_case(0xfffffb00u);
}
END_TEST

/* Place a segment's bytes as post-processing would: only what the result
 * says, at its sequence position. */
static void place(uint8_t *buf, uint32_t base, const uint8_t *payload, uint32_t seq,
		  const struct ftoe_ooo_result *r)
{
	if (r->copy_len)
		memcpy(buf + (r->copy_seq - base), payload + (r->copy_seq - seq), r->copy_len);
}

/* Overlapping copies with different contents: the first one of each byte
 * stays, in an interval and below rcv_nxt (as Linux keeps it). */
START_TEST(ooo_first_copy_wins)
{
	uint8_t buf[64], a[64], bb[64], c[64];
	uint32_t base = 0xffffffe0u, nxt = base;
	struct ftoe_ooo o = NONE;
	struct ftoe_ooo_result r;

	memset(buf, 0, sizeof(buf));
	memset(a, 'A', sizeof(a));
	memset(bb, 'B', sizeof(bb));
	memset(c, 'C', sizeof(c));
	/* A: [20, 30) out of order */
	ftoe_ooo_rx(&nxt, 64, &o, NULL, 4, base + 20, 10, &r);
	place(buf, base, a, base + 20, &r);
	/* B: [15, 35) overlaps A on both sides: only [15, 20) is placed */
	ftoe_ooo_rx(&nxt, 64, &o, NULL, 4, base + 15, 20, &r);
	ck_assert_uint_eq(r.copy_seq, base + 15);
	ck_assert_uint_eq(r.copy_len, 5);
	place(buf, base, bb, base + 15, &r);
	/* C: [25, 40): [30, 40) is new */
	ftoe_ooo_rx(&nxt, 64, &o, NULL, 4, base + 25, 15, &r);
	place(buf, base, c, base + 25, &r);
	ck_assert(o.n == 1 && o.iv[0].start == base + 15 && o.iv[0].end == base + 40);
	/* C again from 0: fills [0, 15), rcv_nxt reaches 40 */
	ftoe_ooo_rx(&nxt, 64, &o, NULL, 4, base, 30, &r);
	place(buf, base, c, base, &r);
	ck_assert_uint_eq(nxt, base + 40);
	/* A below rcv_nxt: nothing placed */
	ftoe_ooo_rx(&nxt, 64, &o, NULL, 4, base + 5, 40, &r);
	place(buf, base, a, base + 5, &r);
	ck_assert_uint_eq(r.copy_seq, base + 40);
	ck_assert_uint_eq(nxt, base + 45);
	ck_assert(!memcmp(buf, "CCCCCCCCCCCCCCCBBBBBAAAAAAAAAACCCCCCCCCCAAAAA", 45));
}
END_TEST

/* RFC 2018 4: the block holding the newest segment first, then the others
 * by recency; at most `room`.  RFC 2883: a duplicate's block comes first,
 * once, followed by the interval holding it (4.1.2). */
START_TEST(ooo_sack_order)
{
	uint32_t b = 0xfffff000u, nxt = b;
	struct ftoe_ooo o = NONE;
	struct ftoe_seq_range s[4];
	struct ftoe_ooo_result r;
	unsigned n;

	n = ftoe_ooo_sack(&o, s, 3);
	ck_assert_uint_eq(n, 0);
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 1000, 100, &r);  /* A */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 3000, 100, &r);  /* B */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 2000, 100, &r);  /* C */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 5000, 100, &r);  /* D */
	n = ftoe_ooo_sack(&o, s, 3);
	ck_assert_uint_eq(n, 3);
	ck_assert(s[0].start == b + 5000 && s[1].start == b + 2000 && s[2].start == b + 3000);
	n = ftoe_ooo_sack(&o, s, 4);
	ck_assert_uint_eq(n, 4);
	ck_assert(s[3].start == b + 1000 && s[3].end == b + 1100);
	/* A grows: it goes first, the others keep their order */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 1100, 100, &r);
	n = ftoe_ooo_sack(&o, s, 3);
	ck_assert(s[0].start == b + 1000 && s[0].end == b + 1200);
	ck_assert(s[1].start == b + 5000 && s[2].start == b + 2000);
	/* a duplicate inside B: D-SACK block, then B, then the rest */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 3010, 50, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DUP);
	n = ftoe_ooo_sack(&o, s, 3);
	ck_assert_uint_eq(n, 3);
	ck_assert(s[0].start == b + 3010 && s[0].end == b + 3060);
	ck_assert(s[1].start == b + 3000 && s[1].end == b + 3100);
	ck_assert(s[2].start == b + 1000);
	/* reported once */
	n = ftoe_ooo_sack(&o, s, 3);
	ck_assert(s[0].start == b + 3000 && s[1].start == b + 1000 && s[2].start == b + 5000);
	/* a duplicate below rcv_nxt (D-SACK under the ACK, RFC 2883 4.1.1) */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b, 1000, &r);
	ck_assert_uint_eq(nxt, b + 1200);
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 200, 300, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DUP);
	n = ftoe_ooo_sack(&o, s, 4);
	ck_assert_uint_eq(n, 4);
	ck_assert(s[0].start == b + 200 && s[0].end == b + 500);
	ck_assert(s[1].start == b + 3000 && s[2].start == b + 5000 && s[3].start == b + 2000);
	/* room 1: the D-SACK block alone */
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, 4, b + 100, 10, &r);
	n = ftoe_ooo_sack(&o, s, 1);
	ck_assert(n == 1 && s[0].start == b + 100 && s[0].end == b + 110);
}
END_TEST

/* Simulate a receive stream of 1-byte-granular random segments across the
 * wrap, with max intervals allowed, and check: no byte is ever placed
 * twice (the first copy wins), nothing held is given up, the intervals
 * stay disjoint, apart, after rcv_nxt and held, and the stream completes. */
static unsigned reassembly_model(unsigned max)
{
	enum { STREAM = 20000, WND = 3000 };
	static uint8_t have[STREAM];
	uint32_t isn = 0xffffd000u, nxt = isn, rng = 12345 + max;
	struct ftoe_ooo o = NONE;
	struct ftoe_ooo_more m, *mp = max > FTOE_OOO_IV_HOT ? &m : NULL;
	unsigned steps = 0, peak = 0;
	uint32_t verified = 0;

	memset(have, 0, sizeof(have));
	memset(&m, 0, sizeof(m));

	while (nxt - isn < STREAM && steps++ < 200000) {
		struct ftoe_ooo_result r;
		struct ftoe_ooo before;
		struct ftoe_ooo_more before_m;
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
		before = o;
		before_m = m;
		ftoe_ooo_rx(&nxt, WND, &o, mp, max, isn + off, len, &r);
		FAST_ASSERT(o.n <= max);
		if (o.n > peak)
			peak = o.n;
		/* Never renege: every held byte stays held. */
		for (unsigned i = 0; i < before.n; i++) {
			struct ftoe_seq_range b = ftoe_ooo_iv_get(&before, &before_m, i);
			uint32_t s = b.start, e = b.end;
			bool kept = seq_after_eq(nxt, e);

			for (unsigned k = 0; k < o.n && !kept; k++) {
				struct ftoe_seq_range x = ftoe_ooo_iv_get(&o, &m, k);

				kept = seq_before_eq(x.start, s) && seq_after_eq(x.end, e);
			}
			FAST_ASSERT(kept);
		}
		if (r.copy_len) {
			uint32_t cs = r.copy_seq - isn;

			FAST_EQ(cs, off + r.trim_head);
			FAST_ASSERT(cs + r.copy_len <= off + len);
			for (uint32_t b = cs; b < cs + r.copy_len; b++) {
				FAST_ASSERT(!have[b]);   /* first copy wins */
				have[b] = 1;
			}
		}
		for (; verified < nxt - isn; verified++)
			FAST_ASSERT(have[verified]);
		for (unsigned i = 0; i < o.n; i++) {
			struct ftoe_seq_range x = ftoe_ooo_iv_get(&o, &m, i);

			FAST_ASSERT(seq_after(x.start, nxt));
			FAST_ASSERT(seq_after(x.end, x.start));
			for (unsigned k = i + 1; k < o.n; k++) {  /* disjoint, not adjacent */
				struct ftoe_seq_range y = ftoe_ooo_iv_get(&o, &m, k);

				FAST_ASSERT(seq_after(y.start, x.end) || seq_before(y.end, x.start));
			}
			for (uint32_t b = x.start - isn; b < x.end - isn; b++)
				FAST_ASSERT(have[b]);
		}
	}
	FAST_EQ(nxt - isn, STREAM);
	return peak;
}

START_TEST(ooo_reassembly_model)
{
	for (unsigned max = 1; max <= FTOE_OOO_IV_MAX; max++) {
		unsigned peak = reassembly_model(max);

		/* the model's holes fill every interval allowed up to the
		 * first part's, and run into the second part past it (its
		 * window has room for 7 to 10 holes) */
		if (max <= FTOE_OOO_IV_HOT)
			ck_assert_uint_eq(peak, max);
		else
			ck_assert_uint_gt(peak, FTOE_OOO_IV_HOT);
	}
}
END_TEST

/* Past FTOE_OOO_IV_HOT intervals the others live in struct ftoe_ooo_more:
 * the recency order runs on across both parts, the SACK blocks come from
 * the first, and an old interval taking a segment comes to the front.
 * Without the second part, the first part's size is the limit. */
START_TEST(ooo_second_part)
{
	const uint32_t b = 0xfffffc00u; /* straddles 2^32 */
	uint32_t nxt = b;
	struct ftoe_ooo o = NONE;
	struct ftoe_ooo_more m;
	struct ftoe_ooo_result r;
	struct ftoe_seq_range sk[4];
	unsigned n = FTOE_OOO_IV_MAX < 10 ? FTOE_OOO_IV_MAX : 10;

	memset(&m, 0, sizeof(m));
	ck_assert_uint_gt(FTOE_OOO_IV_MAX, FTOE_OOO_IV_HOT);
	for (unsigned i = 0; i < n; i++) {
		ftoe_ooo_rx(&nxt, 100000, &o, &m, FTOE_OOO_IV_MAX, b + 200 * (i + 1), 100, &r);
		ck_assert_int_eq(r.verdict, FTOE_OOO_NEW);
	}
	ck_assert_uint_eq(o.n, n);
	/* newest first: interval i opened at step i sits at n - 1 - i */
	for (unsigned i = 0; i < n; i++)
		ck_assert_uint_eq(ftoe_ooo_iv_get(&o, &m, n - 1 - i).start, b + 200 * (i + 1));
	ck_assert_uint_eq(ftoe_ooo_sack(&o, sk, 3), 3);
	ck_assert_uint_eq(sk[0].start, b + 200 * n);
	ck_assert_uint_eq(sk[2].start, b + 200 * (n - 2));
	/* the oldest (in the second part) grows: it comes first */
	ftoe_ooo_rx(&nxt, 100000, &o, &m, FTOE_OOO_IV_MAX, b + 300, 50, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_MERGED);
	ck_assert(o.iv[0].start == b + 200 && o.iv[0].end == b + 350);
	ck_assert_uint_eq(ftoe_ooo_iv_get(&o, &m, 1).start, b + 200 * n);
	ck_assert_uint_eq(ftoe_ooo_iv_get(&o, &m, n - 1).start, b + 400);
	/* the hole at rcv_nxt filled, then each hole: rcv_nxt crosses all */
	ftoe_ooo_rx(&nxt, 100000, &o, &m, FTOE_OOO_IV_MAX, b, 200, &r);
	ck_assert_uint_eq(nxt, b + 350);
	for (unsigned i = 1; i < n; i++) {
		ftoe_ooo_rx(&nxt, 100000, &o, &m, FTOE_OOO_IV_MAX, nxt, b + 200 * (i + 1) - nxt, &r);
		ck_assert_int_eq(r.verdict, FTOE_OOO_IN_ORDER);
		ck_assert_uint_eq(nxt, b + 200 * (i + 1) + 100);
		ck_assert_uint_eq(o.n, n - 1 - i);
	}
	/* no second part: four at most, whatever the setting */
	for (unsigned i = 0; i < FTOE_OOO_IV_HOT; i++)
		ftoe_ooo_rx(&nxt, 100000, &o, NULL, FTOE_OOO_IV_MAX, nxt + 200 * (i + 1), 100, &r);
	ck_assert_uint_eq(o.n, FTOE_OOO_IV_HOT);
	ftoe_ooo_rx(&nxt, 100000, &o, NULL, FTOE_OOO_IV_MAX, nxt + 5000, 100, &r);
	ck_assert_int_eq(r.verdict, FTOE_OOO_DROP_FULL);
}
END_TEST

static Suite *ooo_suite(void)
{
	Suite *s = suite_create("core_ooo");
	TCase *tc = tcase_create("ooo");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ooo_table);
	tcase_add_test(tc, ooo_intervals);
	tcase_add_test(tc, ooo_first_copy_wins);
	tcase_add_test(tc, ooo_sack_order);
	tcase_add_test(tc, ooo_reassembly_model);
	tcase_add_test(tc, ooo_second_part);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(ooo_suite)
