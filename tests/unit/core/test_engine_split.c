/* test_engine_split.c - the engine's rx entries: the split one (ftoe_engine_rx_prepare or ftoe_engine_rx_parse + ftoe_engine_rx_items: transfers, arrival order across the slow path, stale flow hints, late placements for a freed flow) and the order of a one-call batch around the slow path. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/byteorder.h"
#include "core/csum.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "tests/unit/core/engine_app.h"
#include "core/reorder.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

struct two {
	struct app_stream s[2];
};

static bool two_step(struct lb_world *w, void *arg)
{
	struct two *t = arg;
	bool a = app_stream_step(w, &t->s[0]);
	bool b = app_stream_step(w, &t->s[1]);

	return a && b;
}

static void both_ways(struct lb_world *w, int c, int a, uint64_t len, uint32_t id)
{
	struct two t;

	memset(&t, 0, sizeof(t));
	t.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = id, .len = len };
	t.s[1] = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c, .id = id + 1, .len = len };
	ck_assert_msg(lb_run(w, two_step, &t, 600 * SEC), "stalled at %llu and %llu",
		      (unsigned long long)t.s[0].rcvd, (unsigned long long)t.s[1].rcvd);
	ck_assert_uint_eq(t.s[0].bad, 0);
	ck_assert_uint_eq(t.s[1].bad, 0);
	ck_assert_uint_eq(t.s[0].rcvd, len);
	ck_assert_uint_eq(t.s[1].rcvd, len);
}

/* Transfers both ways on a clean, then on a faulty link, with w set up
 * for one of the entries: the same results as ftoe_engine_rx
 * (tests/unit/core/test_engine.c). */
static void transfer_clean_and_faulty(struct lb_world *w, int *c, int *a)
{
	struct ftoe_engine_stats st;

	ck_assert(app_connect(w, 80, c, a));
	both_ways(w, *c, *a, 1 << 20, 1);
	w->s[0].f = w->s[1].f = (struct lb_faults){ .drop = 3, .dup = 3, .reorder = 3, .corrupt = 2 };
	both_ways(w, *c, *a, 256 << 10, 3);
	ftoe_engine_get_stats(w->s[1].eng, &st);
	ck_assert_uint_gt(st.rx_fast, 500);
	ck_assert_uint_gt(st.rx_malformed, 0);
	ck_assert_uint_gt(st.retransmits, 0);
}

/* The whole engine fed through the split entry. */
START_TEST(split_transfer_clean_and_faulty)
{
	struct lb_world w;
	int c, a;

	lb_init(&w, 11, NULL, NULL);
	w.split_rx = true;
	transfer_clean_and_faulty(&w, &c, &a);
	lb_fini(&w);
}
END_TEST

/* Frames side 0 sends, taken off the link. */
static uint8_t cap[8][1600];
static uint16_t cap_len[8];
static unsigned int ncap;

static bool capture(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	struct ftoe_seg seg;

	(void)s;
	if (ftoe_seg_parse(frame, *len, 0, &seg) || !seg.payload_len || ncap == 8)
		return true;
	memcpy(cap[ncap], frame, *len);
	cap_len[ncap++] = *len;
	return false;
}

static bool captured(struct lb_world *w, void *arg)
{
	(void)w;
	return ncap >= *(unsigned int *)arg;
}

/* Connect, then take n data segments of c's off the link. */
static void capture_data(struct lb_world *w, int c, size_t bytes, unsigned int n)
{
	static uint8_t buf[4096];

	ncap = 0;
	w->s[0].tap = capture;
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(ftoe_sock_send(w->s[0].eng, c, buf, bytes), (ssize_t)bytes);
	ck_assert(lb_run(w, captured, &n, SEC));
	w->s[0].tap = NULL;
}

/* frame f (a data segment) turned into a bare RST with its sequence number. */
static uint16_t make_rst(uint8_t *f, uint16_t len)
{
	struct ftoe_seg s;
	uint8_t *ip, *th;
	uint16_t iplen;
	uint32_t sum;

	ck_assert_int_eq(ftoe_seg_parse(f, len, 0, &s), 0);
	ip = f + s.l3_off;
	th = f + s.l4_off;
	iplen = (uint16_t)(s.payload_off - s.l3_off);
	ftoe_put_be16(ip + 2, iplen);
	ip[10] = ip[11] = 0;
	ftoe_put_be16(ip + 10, ftoe_csum(ip, (size_t)(s.l4_off - s.l3_off)));
	th[13] = FTOE_TCP_RST;
	th[16] = th[17] = 0;
	sum = ftoe_csum_pseudo4(ip + 12, ip + 16, FTOE_IPPROTO_TCP,
				(uint16_t)(s.payload_off - s.l4_off));
	ftoe_put_be16(th + 16, ftoe_csum_finish(ftoe_csum_add(sum, th, s.payload_off - s.l4_off)));
	return s.payload_off;
}

/* [data, RST at the data's end, data] in one call: the RST is handled
 * after the first segment and before the second (arrival order), so the
 * first one's bytes are taken, the RST is exact (RFC 5961 3.2: reset), and
 * the second finds no flow. */
START_TEST(split_slow_path_keeps_arrival_order)
{
	struct lb_world w;
	struct ftoe_engine_stats st0, st1;
	struct ftoe_rx_item it[3];
	uint8_t rst[1600];
	uint16_t rst_len;
	int c, a;

	lb_init(&w, 12, NULL, NULL);
	w.split_rx = true;
	ck_assert(app_connect(&w, 80, &c, &a));
	capture_data(&w, c, 2000, 2);
	memcpy(rst, cap[1], cap_len[1]);
	rst_len = make_rst(rst, cap_len[1]);

	ftoe_engine_get_stats(w.s[1].eng, &st0);
	ftoe_engine_rx_prepare(w.s[1].eng, cap[0], cap_len[0], NULL, &it[0]);
	ftoe_engine_rx_prepare(w.s[1].eng, rst, rst_len, NULL, &it[1]);
	ftoe_engine_rx_prepare(w.s[1].eng, cap[1], cap_len[1], NULL, &it[2]);
	ck_assert_uint_eq(it[0].res, FTOE_RXP_FAST);
	ck_assert_uint_eq(it[1].res, FTOE_RXP_SLOW);
	ck_assert_uint_eq(it[2].res, FTOE_RXP_FAST);
	ck_assert_uint_eq(it[0].flow, (uint32_t)a);	/* the hint */
	ftoe_engine_rx_items(w.s[1].eng, 0, it, 3);
	ftoe_engine_get_stats(w.s[1].eng, &st1);
	ck_assert_uint_eq(st1.rx_frames - st0.rx_frames, 3);
	ck_assert_uint_eq(st1.rx_fast - st0.rx_fast, 1);
	ck_assert_uint_eq(st1.rx_bytes - st0.rx_bytes, it[0].seg.payload_len);
	ck_assert_uint_eq(st1.conn_reset - st0.conn_reset, 1);
	ck_assert_uint_eq(st1.challenge_acks, st0.challenge_acks);
	lb_fini(&w);
}
END_TEST

/* A connection with two 1000-byte segments from A to B captured (cap[]),
 * for one-call batches built from them. */
static void two_segments(struct lb_world *w, uint32_t seed)
{
	int c, a;

	lb_init(w, seed, NULL, NULL);
	ck_assert(app_connect(w, 80, &c, &a));
	capture_data(w, c, 2000, 2);
}

/* frames[0..n) to B in one ftoe_engine_rx call, B's counters around it. */
static void rx_one_call(struct lb_world *w, void *fr[], uint16_t lens[], unsigned n,
			struct ftoe_engine_stats *st0, struct ftoe_engine_stats *st1)
{
	ftoe_engine_get_stats(w->s[1].eng, st0);
	ftoe_engine_rx(w->s[1].eng, 0, fr, lens, n);
	ftoe_engine_get_stats(w->s[1].eng, st1);
}

/* The one-call entry (ftoe_engine_rx) with the same batch: pre-processing
 * hands the RST to the control plane before the protocol stage sees the
 * batch's data, so the RST, one segment ahead of rcv_nxt, only gets a
 * challenge ACK (RFC 5961 3.2) and both segments are taken after it. */
START_TEST(rx_batch_slow_frame_first)
{
	struct lb_world w;
	struct ftoe_engine_stats st0, st1;
	uint8_t rst[1600];
	uint16_t lens[3];
	void *fr[3];

	two_segments(&w, 14);
	memcpy(rst, cap[1], cap_len[1]);
	fr[0] = cap[0], lens[0] = cap_len[0];
	fr[1] = rst, lens[1] = make_rst(rst, cap_len[1]);
	fr[2] = cap[1], lens[2] = cap_len[1];
	rx_one_call(&w, fr, lens, 3, &st0, &st1);
	ck_assert_uint_eq(st1.rx_fast - st0.rx_fast, 2);
	ck_assert_uint_eq(st1.rx_slow - st0.rx_slow, 1);
	ck_assert_uint_eq(st1.challenge_acks - st0.challenge_acks, 1);
	ck_assert_uint_eq(st1.conn_reset, st0.conn_reset);
	ck_assert_uint_eq(st1.rx_bytes - st0.rx_bytes, 2000);
	lb_fini(&w);
}
END_TEST

/* [RST at rcv_nxt, data] in one ftoe_engine_rx call: the control plane
 * resets the connection before the next frame is looked up, so the data
 * segment finds it closed and goes the slow way too (dropped), rather than
 * being taken as a fast-path segment of a flow that is gone. */
START_TEST(rx_batch_slow_frame_seen_by_next_lookup)
{
	struct lb_world w;
	struct ftoe_engine_stats st0, st1;
	uint8_t rst[1600];
	uint16_t lens[2];
	void *fr[2];

	two_segments(&w, 15);
	memcpy(rst, cap[0], cap_len[0]);
	fr[0] = rst, lens[0] = make_rst(rst, cap_len[0]);
	fr[1] = cap[1], lens[1] = cap_len[1];
	rx_one_call(&w, fr, lens, 2, &st0, &st1);
	ck_assert_uint_eq(st1.conn_reset - st0.conn_reset, 1);
	ck_assert_uint_eq(st1.rx_fast, st0.rx_fast);
	ck_assert_uint_eq(st1.rx_slow - st0.rx_slow, 2);
	ck_assert_uint_eq(st1.rx_bytes, st0.rx_bytes);
	lb_fini(&w);
}
END_TEST

/* The same through ftoe_engine_rx_parse (the single-thread x86 worker:
 * the frame parsed where it is received, no flow hint, the flow found
 * through the engine's cache). */
START_TEST(parsed_transfer_clean_and_faulty)
{
	struct lb_world w;
	struct ftoe_rx_item it;
	int c, a;

	lb_init(&w, 12, NULL, NULL);
	w.parse_rx = true;
	transfer_clean_and_faulty(&w, &c, &a);
	memset(&w.s[0].f, 0, sizeof(w.s[0].f));
	memset(&w.s[1].f, 0, sizeof(w.s[1].f));
	capture_data(&w, c, 1000, 1);
	ftoe_engine_rx_parse(w.s[1].eng, cap[0], cap_len[0], NULL, &it);
	ck_assert_uint_eq(it.res, FTOE_RXP_FAST);
	ck_assert_uint_eq(it.flow, FTOE_NO_FLOW);	/* no lookup: the engine's cache finds it */
	ftoe_engine_rx_items(w.s[1].eng, 0, &it, 1);
	ck_assert_uint_eq(it.flow, (uint32_t)a);
	lb_fini(&w);
}
END_TEST

/* A hint that went stale between the ingress thread's lookup and the
 * protocol thread (the flow closed, its id went to a new flow) is caught:
 * the segment goes the slow way and the new flow is untouched. */
START_TEST(split_stale_hint_rejected)
{
	struct lb_world w;
	struct ftoe_engine_stats st0, st1;
	struct ftoe_rx_item it;
	struct ftoe_sock_info info;
	int c, a, c2, a2;

	lb_init(&w, 13, NULL, NULL);
	w.split_rx = true;
	ck_assert(app_connect(&w, 80, &c, &a));
	capture_data(&w, c, 1000, 1);
	ftoe_engine_rx_prepare(w.s[1].eng, cap[0], cap_len[0], NULL, &it);
	ck_assert_uint_eq(it.flow, (uint32_t)a);
	/* the flow goes; a new one takes its id */
	ck_assert_int_eq(ftoe_sock_abort(w.s[1].eng, a), 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert(app_connect(&w, 80, &c2, &a2));
	ck_assert_int_eq(a2, a);

	ftoe_engine_get_stats(w.s[1].eng, &st0);
	ftoe_engine_rx_items(w.s[1].eng, 0, &it, 1);
	ftoe_engine_get_stats(w.s[1].eng, &st1);
	ck_assert_uint_eq(st1.rx_fast, st0.rx_fast);
	ck_assert_uint_eq(st1.rx_slow - st0.rx_slow, 1);
	ck_assert_uint_eq(st1.rx_bytes, st0.rx_bytes);
	ck_assert_int_eq(ftoe_sock_info(w.s[1].eng, a2, &info), 0);
	ck_assert_int_eq(info.state, TCP_S_ESTABLISHED);
	both_ways(&w, c2, a2, 64 << 10, 5);
	lb_fini(&w);
}
END_TEST

static bool rx_ready_3000(struct lb_world *w, void *arg)
{
	struct ftoe_sock_info info;

	return !ftoe_sock_info(w->s[1].eng, *(int *)arg, &info) && info.rx_ready >= 3000;
}

/* A late payload placement (core/x86/fgpipe.c runs it on a
 * post-processing thread, without a lock) after the flow was reset and a
 * new connection took its slot, whose rx ring is the same memory: the
 * protocol stage took a segment of flow a; a was aborted; a new flow got
 * a's slot and 3000 bytes its application has not read.  Placing and
 * finishing the old segment then must leave the new flow's ring and
 * rx_head as they were, and count it (engine_internal.h flow_gen). */
START_TEST(split_stale_placement_writes_nothing)
{
	static uint8_t buf[3000];
	struct lb_world w;
	struct ftoe_engine_stats st0, st1;
	struct ftoe_rx_item it;
	struct ftoe_engine *e;
	uint8_t *ring;
	uint32_t size, head, got;
	int c, a, c2, a2;

	lb_init(&w, 17, NULL, NULL);
	w.split_rx = true;
	e = w.s[1].eng;
	ck_assert(app_connect(&w, 80, &c, &a));
	capture_data(&w, c, 1000, 1);
	ftoe_engine_rx_prepare(e, cap[0], cap_len[0], NULL, &it);
	ck_assert_uint_eq(ftoe_engine_rx_proto(e, &it, 1), 1);
	ck_assert(it.res & FTOE_RX_R_DATA);
	ck_assert_uint_eq(it.copy_len, 1000);

	ck_assert_int_eq(ftoe_sock_abort(e, a), 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	ck_assert(app_connect(&w, 80, &c2, &a2));
	ck_assert_int_eq(a2, a);
	memset(buf, 'y', sizeof(buf));
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c2, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	ck_assert(lb_run(&w, rx_ready_3000, &a2, SEC));
	/* the old segment's bytes would land where the new flow's are */
	ck_assert(it.copy_pos - e->mem[a2].rx_tail < 3000);
	size = e->mem[a2].rx_size;
	head = e->mem[a2].rx_head;
	ring = malloc(size);
	ck_assert_ptr_nonnull(ring);
	memcpy(ring, flow_rx_ring(e, (uint32_t)a2), size);

	ftoe_engine_get_stats(e, &st0);
	ftoe_engine_rx_post_place(e, &it, 1);
	ftoe_engine_rx_post_finish(e, &it, 1);
	ftoe_engine_rx_end(e);
	ftoe_engine_get_stats(e, &st1);
	ck_assert_msg(!memcmp(ring, flow_rx_ring(e, (uint32_t)a2), size),
		      "a placement for the freed flow wrote into the new flow's ring");
	ck_assert_uint_eq(e->mem[a2].rx_head, head);
	ck_assert_uint_eq(st1.rx_stale - st0.rx_stale, 1);
	ck_assert_uint_eq(st1.rx_stale_place - st0.rx_stale_place, 1);
	ck_assert_uint_eq(st1.rx_bytes, st0.rx_bytes);
	ck_assert_uint_eq(st1.tx_acks, st0.tx_acks);
	/* and the new flow reads its own bytes, then goes on */
	ck_assert_int_eq(ftoe_sock_recv(e, a2, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	for (got = 0; got < sizeof(buf) && buf[got] == 'y'; got++)
		;
	ck_assert_uint_eq(got, sizeof(buf));
	free(ring);
	both_ways(&w, c2, a2, 64 << 10, 7);
	lb_fini(&w);
}
END_TEST

/* Re-pointing a live flow's rx ring while one of its segments is between
 * the protocol stage and the finish (core/x86/fgpipe.c: the control plane
 * runs between them on another thread): engine_internal.h
 * FLOW_GEN_MOVING.  The segment's bytes must arrive, byte for byte, at
 * the rings of the moment, and rx_head must count on them.  The modes
 * force each order:
 *   0 protocol stage, attach, placement, finish
 *   1 protocol stage, placement, attach, finish (placed, not published)
 *   2 protocol stage, placement during the move (it must leave its bytes
 *     to the finish), attach, finish
 *   3 attached; protocol stage, region given back (detach), placement,
 *     finish
 *   4 attached; protocol stage, placement, region given back, finish */
#define MV_READ  300	/* read before: positions restart from here on attach */
#define MV_FIRST 700
#define MV_SEG   1000
#define MV_RING  8192

static uint8_t mv_byte(uint32_t i)
{
	return (uint8_t)(i * 7u + 13u + (i >> 8));
}

static bool rx_ready_n(struct lb_world *w, void *arg)
{
	struct ftoe_sock_info info;
	int *sn = arg;

	return !ftoe_sock_info(w->s[1].eng, sn[0], &info) && info.rx_ready >= (uint32_t)sn[1];
}

START_TEST(split_ring_move_between_stages)
{
	static uint8_t buf[MV_FIRST + MV_SEG], got[MV_FIRST + MV_SEG];
	const int mode = _i;
	struct lb_world w;
	struct ftoe_rx_item it;
	struct ftoe_engine *e;
	uint8_t *region;
	uint32_t held = MV_FIRST - MV_READ + MV_SEG, base;
	int c, a, r, sn[2];

	lb_init(&w, 19 + (unsigned)mode, NULL, NULL);
	w.split_rx = true;
	e = w.s[1].eng;
	region = malloc(2 * MV_RING);
	ck_assert_ptr_nonnull(region);
	memset(region, 0xee, 2 * MV_RING);
	ck_assert(app_connect(&w, 80, &c, &a));
	r = ftoe_sock_region_add(e, region);
	ck_assert_int_gt(r, 0);
	if (mode >= 3)
		ck_assert_int_eq(ftoe_sock_attach(e, a, r, 0, MV_RING, MV_RING), 0);
	for (uint32_t i = 0; i < sizeof(buf); i++)
		buf[i] = mv_byte(i);
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, buf, MV_FIRST), MV_FIRST);
	sn[0] = a;
	sn[1] = MV_FIRST;
	ck_assert(lb_run(&w, rx_ready_n, sn, SEC));
	ck_assert_int_eq(ftoe_sock_recv(e, a, got, MV_READ), MV_READ);
	ck_assert(!memcmp(got, buf, MV_READ));

	/* the next segment, through the protocol stage only */
	ncap = 0;
	w.s[0].tap = capture;
	ck_assert_int_eq(ftoe_sock_send(w.s[0].eng, c, buf + MV_FIRST, MV_SEG), MV_SEG);
	sn[1] = 1;
	ck_assert(lb_run(&w, captured, &sn[1], SEC));
	w.s[0].tap = NULL;
	ftoe_engine_rx_prepare(e, cap[0], cap_len[0], NULL, &it);
	ck_assert_uint_eq(ftoe_engine_rx_proto(e, &it, 1), 1);
	ck_assert(it.res & FTOE_RX_R_DATA);
	ck_assert_uint_eq(it.copy_len, MV_SEG);

	switch (mode) {
	case 0:
		ck_assert_int_eq(ftoe_sock_attach(e, a, r, 0, MV_RING, MV_RING), 0);
		ftoe_engine_rx_post_place(e, &it, 1);
		break;
	case 1:
		ftoe_engine_rx_post_place(e, &it, 1);
		ck_assert_int_eq(ftoe_sock_attach(e, a, r, 0, MV_RING, MV_RING), 0);
		break;
	case 2:
		/* a placement meeting a move: what ftoe_sock_attach holds */
		__atomic_fetch_or(&e->flow_gen[a], FLOW_GEN_MOVING, __ATOMIC_ACQ_REL);
		ftoe_engine_rx_post_place(e, &it, 1);
		__atomic_fetch_and(&e->flow_gen[a], ~FLOW_GEN_MOVING, __ATOMIC_RELEASE);
		ck_assert(it.res & FTOE_RX_R_PLACE_LATE);
		ck_assert_uint_eq(region[MV_FIRST - MV_READ], 0xee);
		ck_assert_int_eq(ftoe_sock_attach(e, a, r, 0, MV_RING, MV_RING), 0);
		break;
	case 3:
		ftoe_sock_region_remove(e, r);
		memset(region, 0xee, 2 * MV_RING);
		ftoe_engine_rx_post_place(e, &it, 1);
		break;
	case 4:
		ftoe_engine_rx_post_place(e, &it, 1);
		ftoe_sock_region_remove(e, r);
		memset(region, 0xee, 2 * MV_RING);
		break;
	}
	ftoe_engine_rx_post_finish(e, &it, 1);
	ftoe_engine_rx_end(e);
	ck_assert(!(it.res & FTOE_RX_R_PLACE_LATE));

	/* attached: positions restart at what was read; detached: as they were */
	base = mode >= 3 ? MV_READ : 0;
	ck_assert_uint_eq(e->mem[a].rx_tail, base);
	ck_assert_uint_eq(e->mem[a].rx_head, base + held);
	if (mode < 3) {
		ck_assert_uint_eq(e->mem[a].region, (uint32_t)r);
		ck_assert_msg(!memcmp(region, buf + MV_READ, held),
			      "the application's ring does not hold the bytes in order");
	} else {
		ck_assert_uint_eq(e->mem[a].region, 0);
		for (uint32_t i = 0; i < 2 * MV_RING; i++)
			ck_assert_msg(region[i] == 0xee, "a region given back was written at %u", i);
	}
	ck_assert_int_eq(ftoe_sock_recv(e, a, got, sizeof(got)), (ssize_t)held);
	ck_assert_msg(!memcmp(got, buf + MV_READ, held), "bytes read differ");
	both_ways(&w, c, a, 64 << 10, 9);
	if (mode < 3)
		ftoe_sock_region_remove(e, r);
	lb_fini(&w);
	free(region);
}
END_TEST

struct placer {
	struct ftoe_engine *e;
	uint32_t id, gen;
	bool ok;
	_Atomic int begun, ended;
};

/* A placement in progress that takes its time (a thread preempted
 * mid-copy). */
static void *slow_placement(void *arg)
{
	struct placer *p = arg;
	struct timespec ts = { .tv_nsec = 50 * 1000 * 1000 };

	p->ok = flow_place_begin(p->e, p->id, p->gen) == FLOW_PLACE_OK;
	atomic_store(&p->begun, 1);
	if (!p->ok)
		return NULL;
	nanosleep(&ts, NULL);
	atomic_store(&p->ended, 1);
	flow_place_end(p->e, p->id);
	return NULL;
}

/* Freeing a flow waits for a placement of its slot in progress, so no
 * placement writes after the free returns; one that begins after the
 * free writes nothing. */
START_TEST(flow_free_waits_for_placement)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct placer p;
	pthread_t tid;
	int c, a;

	lb_init(&w, 19, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	memset(&p, 0, sizeof(p));
	p.e = w.s[1].eng;
	p.id = (uint32_t)a;
	p.gen = flow_gen(p.e, p.id);
	ck_assert_int_eq(pthread_create(&tid, NULL, slow_placement, &p), 0);
	while (!atomic_load(&p.begun))
		sched_yield();
	ck_assert(p.ok);
	ck_assert_int_eq(ftoe_sock_abort(p.e, a), 0);
	ck_assert_msg(atomic_load(&p.ended), "the free returned while a placement was writing");
	pthread_join(tid, NULL);
	ftoe_engine_get_stats(p.e, &st);
	ck_assert_uint_eq(st.flow_free_waits, 1);
	ck_assert(flow_place_begin(p.e, p.id, p.gen) == FLOW_PLACE_STALE);
	ck_assert_uint_eq(p.e->flow_gen[p.id] & 0xffffffffu, 0);
	lb_fini(&w);
}
END_TEST

/* Frame f (len bytes, offsets from s, parsed before the change): IPv4
 * header and TCP checksums computed again. */
static void refill_csums(uint8_t *f, uint16_t len, const struct ftoe_seg *s)
{
	uint8_t *ip = f + s->l3_off, *th = f + s->l4_off;
	uint16_t tcplen = (uint16_t)(len - s->l4_off);
	uint32_t sum;

	ip[10] = ip[11] = 0;
	ftoe_put_be16(ip + 10, ftoe_csum(ip, (size_t)(s->l4_off - s->l3_off)));
	th[16] = th[17] = 0;
	sum = ftoe_csum_pseudo4(ip + 12, ip + 16, FTOE_IPPROTO_TCP, tcplen);
	ftoe_put_be16(th + 16, ftoe_csum_finish(ftoe_csum_add(sum, th, tcplen)));
}

/* Every frame the stages drop is counted where it is dropped
 * (flextoe-stat counters): one segment acknowledging data never sent
 * (RFC 5961 5.2: dropped, answered), one frame for another address (not
 * the control plane's either) and a plain segment, through the x86
 * worker's entry.  Before, the first two left no trace but TcpInSegs,
 * the second counted as handed to the control plane. */
START_TEST(rx_every_drop_counted)
{
	struct lb_world w;
	struct ftoe_engine_stats st0, st1;
	struct ftoe_rx_item it[3];
	uint8_t bad_ack[1600], other[1600];
	struct ftoe_seg s;

	two_segments(&w, 16);
	w.parse_rx = true;
	ck_assert_int_eq(ftoe_seg_parse(cap[1], cap_len[1], 0, &s), 0);
	memcpy(bad_ack, cap[1], cap_len[1]);
	ftoe_put_be32(bad_ack + s.l4_off + 8, s.ack + 100000);
	refill_csums(bad_ack, cap_len[1], &s);
	memcpy(other, cap[1], cap_len[1]);
	other[s.l3_off + 19] ^= 0x40;	/* destination address */
	refill_csums(other, cap_len[1], &s);

	ftoe_engine_get_stats(w.s[1].eng, &st0);
	ftoe_engine_rx_parse(w.s[1].eng, bad_ack, cap_len[1], NULL, &it[0]);
	ftoe_engine_rx_parse(w.s[1].eng, other, cap_len[1], NULL, &it[1]);
	ftoe_engine_rx_parse(w.s[1].eng, cap[0], cap_len[0], NULL, &it[2]);
	ck_assert_uint_eq(it[0].res, FTOE_RXP_FAST);
	ck_assert_uint_eq(it[1].res, FTOE_RXP_NOT_OURS);
	ftoe_engine_rx_items(w.s[1].eng, 0, it, 3);
	ftoe_engine_get_stats(w.s[1].eng, &st1);
	ck_assert_uint_eq(st1.rx_frames - st0.rx_frames, 3);
	ck_assert_uint_eq(st1.rx_fast - st0.rx_fast, 2);
	ck_assert_uint_eq(st1.rx_bad_ack - st0.rx_bad_ack, 1);
	ck_assert_uint_eq(st1.rx_not_ours - st0.rx_not_ours, 1);
	ck_assert_uint_eq(st1.rx_slow, st0.rx_slow);
	ck_assert_uint_eq(st1.rx_flow_closed, st0.rx_flow_closed);
	ck_assert_uint_eq(st1.rx_bytes - st0.rx_bytes, it[2].seg.payload_len);

	/* A malformed frame a pipelined backend drops where it parsed it
	 * (core/x86/fgpipe.c) counts as one the engine's thread dropped. */
	bad_ack[s.l4_off + 16] ^= 0xff;	/* the TCP checksum */
	ftoe_engine_rx_prepare(w.s[1].eng, bad_ack, cap_len[1], NULL, &it[0]);
	ck_assert(ftoe_rx_item_malformed(&it[0]));
	ftoe_engine_rx_drop_malformed(w.s[1].eng, &it[0]);
	ftoe_engine_get_stats(w.s[1].eng, &st0);
	ck_assert_uint_eq(st0.rx_frames - st1.rx_frames, 1);
	ck_assert_uint_eq(st0.rx_malformed - st1.rx_malformed, 1);
	ck_assert_uint_eq(st0.rx_bad_csum - st1.rx_bad_csum, 1);
	lb_fini(&w);
}
END_TEST

static Suite *split_suite(void)
{
	Suite *s = suite_create("core_engine_split");
	TCase *tc = tcase_create("split");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, split_transfer_clean_and_faulty);
	tcase_add_test(tc, parsed_transfer_clean_and_faulty);
	tcase_add_test(tc, split_slow_path_keeps_arrival_order);
	tcase_add_test(tc, split_stale_hint_rejected);
	tcase_add_test(tc, split_stale_placement_writes_nothing);
	tcase_add_test(tc, flow_free_waits_for_placement);
	tcase_add_loop_test(tc, split_ring_move_between_stages, 0, 5);
	tcase_add_test(tc, rx_batch_slow_frame_first);
	tcase_add_test(tc, rx_batch_slow_frame_seen_by_next_lookup);
	tcase_add_test(tc, rx_every_drop_counted);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(split_suite)
