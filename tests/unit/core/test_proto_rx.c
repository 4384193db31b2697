/* test_proto_rx.c - protocol stage receive rules: batch order, TS.Recent updates, PAWS slack, SACK and D-SACK on ACKs, the advertised edge within the ring. */
#include <errno.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/segment.h"
#include "core/socket.h"
#include "core/tcp_seq.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

/* Payload bytes the items claim; the protocol stage never reads them. */
static uint8_t frame[1600];

/* An established pair (timestamps on); *id is side 1's flow. */
static struct ftoe_engine *setup(struct lb_world *w, uint32_t *id)
{
	int c, a;

	lb_init(w, 7, NULL, NULL);
	ck_assert(app_connect(w, 80, &c, &a));
	for (uint32_t i = 0; i < w->s[1].eng->nflows; i++) {
		const struct flow_ctl *ctl = &w->s[1].eng->ctl[i];

		if (ctl->in_use && ctl->state == TCP_S_ESTABLISHED) {
			*id = i;
			ck_assert(w->s[1].eng->tcp[i].flags & FLOW_TCP_TS);
			return w->s[1].eng;
		}
	}
	ck_abort_msg("no established flow on side 1");
	return NULL;
}

/* A segment of flow id from the peer, as pre-processing would summarise
 * it: ACK of everything, the window unchanged, TSval ts. */
static void mk_item(struct ftoe_engine *e, uint32_t id, struct ftoe_rx_item *it,
		    uint32_t seq, uint16_t len, uint32_t ts)
{
	const struct flow_tcp *t = &e->tcp[id];

	memset(it, 0, sizeof(*it));
	it->flow = id;
	it->frame = frame;
	it->seg.seq = seq;
	it->seg.ack = t->snd_una;
	it->seg.win = (uint16_t)(t->snd_wnd >> ((t->flags & FLOW_TCP_WSCALE) ? t->snd_wscale : 0));
	it->seg.tcp_flags = FTOE_TCP_ACK;
	it->seg.opts = FTOE_OPT_TS;
	it->seg.ts_val = ts;
	it->seg.l4_off = 34;
	it->seg.payload_off = 54;
	it->seg.payload_len = len;
}

/*
 * A pair overtaken on the wire (n+1 before n) that arrives in one batch is
 * taken in sequence order, so both advance rcv_nxt while an out-of-order
 * interval holds data further on.  The same two segments in two batches:
 * the first opens a second interval.
 */
START_TEST(batch_taken_in_sequence_order)
{
	struct lb_world w;
	struct ftoe_rx_item it[3];
	struct ftoe_engine *e;
	struct flow_tcp *t;
	uint32_t id, nxt, ts;

	e = setup(&w, &id);
	t = &e->tcp[id];
	nxt = t->rcv_nxt;
	ts = t->ts_recent + 1;
	/* the interval, far ahead */
	mk_item(e, id, &it[0], nxt + 3000, 100, ts);
	ftoe_proto_rx(e, it, 1);
	ck_assert(t->ooo.n == 1 && t->ooo.iv[0].start == nxt + 3000 &&
		  t->ooo.iv[0].end == nxt + 3100);
	/* one batch: [nxt+100, +100) then [nxt, +100) */
	mk_item(e, id, &it[0], nxt + 100, 100, ts);
	mk_item(e, id, &it[1], nxt, 100, ts);
	ftoe_proto_rx(e, it, 2);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 200);
	ck_assert(it[0].res & FTOE_RX_R_ADVANCED);
	ck_assert(it[1].res & FTOE_RX_R_ADVANCED);
	ck_assert(!(it[0].res & FTOE_RX_R_DROP) && !(it[1].res & FTOE_RX_R_DROP));
	/* each item still says where its own bytes go */
	ck_assert_uint_eq(it[0].copy_pos, nxt + 100 - t->rx_seq0);
	ck_assert_uint_eq(it[1].copy_pos, nxt - t->rx_seq0);
	ck_assert(t->ooo.n == 1);
	/* what post-processing publishes, item by item in slot order, covers
	 * only bytes of items up to that slot: the first (nxt+100) may not
	 * publish bytes the second brings, the second publishes both */
	ck_assert_uint_eq(it[0].rx_head, nxt - t->rx_seq0);
	ck_assert_uint_eq(it[1].rx_head, nxt + 200 - t->rx_seq0);

	/* three, [C, A, B]: A's head at slot 1, then C's (all three) at slot 2 */
	nxt = t->rcv_nxt;
	mk_item(e, id, &it[0], nxt + 200, 100, ts);
	mk_item(e, id, &it[1], nxt, 100, ts);
	mk_item(e, id, &it[2], nxt + 100, 100, ts);
	ftoe_proto_rx(e, it, 3);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 300);
	ck_assert_uint_eq(it[0].rx_head, nxt - t->rx_seq0);
	ck_assert_uint_eq(it[1].rx_head, nxt + 100 - t->rx_seq0);
	ck_assert_uint_eq(it[2].rx_head, nxt + 300 - t->rx_seq0);
	/* an old duplicate sorted first holds nothing up: [A, dup] */
	nxt = t->rcv_nxt;
	mk_item(e, id, &it[0], nxt, 100, ts);
	mk_item(e, id, &it[1], nxt - 100, 100, ts);
	ftoe_proto_rx(e, it, 2);
	ck_assert_uint_eq(it[0].rx_head, nxt + 100 - t->rx_seq0);
	ck_assert(!(it[1].res & FTOE_RX_R_ADVANCED));

	/* two batches: the overtaking segment opens a second interval, which
	 * the overtaken one then joins to rcv_nxt */
	nxt = t->rcv_nxt;
	mk_item(e, id, &it[0], nxt + 100, 100, ts);
	ftoe_proto_rx(e, it, 1);
	ck_assert(it[0].res & FTOE_RX_R_DATA);
	ck_assert(it[0].res & FTOE_RX_R_ACK_NOW);
	ck_assert_uint_eq(t->ooo.n, 2);
	mk_item(e, id, &it[0], nxt, 100, ts);
	ftoe_proto_rx(e, it, 1);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 200);
	ck_assert(it[0].res & FTOE_RX_R_ACK_NOW);
	ck_assert_uint_eq(t->ooo.n, 1);

	/* other flows' and pure-ACK items keep their relative order: a batch
	 * already in order is taken as it comes */
	nxt = t->rcv_nxt;
	mk_item(e, id, &it[0], nxt, 100, ts);
	mk_item(e, id, &it[1], nxt + 100, 0, ts);
	mk_item(e, id, &it[2], nxt + 100, 100, ts);
	ftoe_proto_rx(e, it, 3);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 200);
	lb_fini(&w);
}
END_TEST

/* A head more than a ring from the tail (a stage that published heads
 * out of order) is read as nothing, and counted: never a ring of stale
 * bytes, nor 4 GiB of them when the head is behind. */
START_TEST(bogus_head_reads_nothing)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct ftoe_engine *e;
	struct flow_mem *m;
	uint8_t buf[64];
	uint32_t id, head = 0, head0, tail0;

	e = setup(&w, &id);
	m = &e->mem[id];
	head0 = m->rx_head;
	tail0 = m->rx_tail;
	m->rx_tail = head0 + 1000;	/* the head 1,000 bytes behind */
	ck_assert_int_eq(ftoe_sock_recv(e, (int)id, buf, sizeof(buf)), -EAGAIN);
	ck_assert_int_eq(ftoe_sock_rx_read(e, (int)id, head0 + 1000, &head), 0);
	ck_assert_uint_eq(head, head0 + 1000);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.rx_head_bogus, 2);
	ck_assert_uint_eq(m->rx_tail, head0 + 1000);	/* nothing consumed */
	m->rx_tail = tail0;
	ck_assert_int_eq(ftoe_sock_recv(e, (int)id, buf, sizeof(buf)), -EAGAIN);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.rx_head_bogus, 2);
	lb_fini(&w);
}
END_TEST

/*
 * RFC 7323 4.3 (2): TS.Recent comes from a segment covering Last.ACK.sent
 * (SEG.SEQ <= rcv_nxt < SEG.SEQ + SEG.LEN) or a bare ACK at it, not from an
 * old duplicate that merely ends there.  Otherwise a spurious
 * retransmission with a new TSval makes the still-travelling original of
 * the next segment fail PAWS.
 */
START_TEST(ts_recent_from_segments_covering_rcv_nxt)
{
	struct lb_world w;
	struct ftoe_rx_item it;
	struct ftoe_engine *e;
	struct flow_tcp *t;
	uint32_t id, nxt, ts;

	e = setup(&w, &id);
	t = &e->tcp[id];
	nxt = t->rcv_nxt;
	ts = t->ts_recent + 5;
	mk_item(e, id, &it, nxt, 100, ts);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->ts_recent, ts);
	/* a duplicate of that segment, resent 20 ticks later */
	mk_item(e, id, &it, nxt, 100, ts + 20);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->ts_recent, ts);
	ck_assert(it.res & FTOE_RX_R_ACK_NOW);
	/* the next segment's original, sent before that duplicate */
	mk_item(e, id, &it, nxt + 100, 100, ts + 1);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 200);
	ck_assert_uint_eq(t->ts_recent, ts + 1);
	/* a segment overlapping rcv_nxt counts */
	mk_item(e, id, &it, nxt + 150, 100, ts + 2);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->ts_recent, ts + 2);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 250);
	/* out of order: not yet */
	mk_item(e, id, &it, nxt + 400, 100, ts + 3);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->ts_recent, ts + 2);
	/* a bare ACK right at rcv_nxt does (keeps our echo fresh for the
	 * peer's RTT samples when we are the sender) */
	mk_item(e, id, &it, nxt + 250, 0, ts + 4);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->ts_recent, ts + 4);
	lb_fini(&w);
}
END_TEST

/*
 * PAWS (RFC 7323 5.3) with a few ticks of slack: an original overtaken by a
 * retransmission is a few ms older than TS.Recent and still accepted; a
 * timestamp further back is an old duplicate and dropped with an ACK.
 */
START_TEST(paws_slack)
{
	struct lb_world w;
	struct ftoe_rx_item it;
	struct ftoe_engine *e;
	struct flow_tcp *t;
	uint32_t id, nxt, ts;
	uint64_t paws;

	e = setup(&w, &id);
	t = &e->tcp[id];
	nxt = t->rcv_nxt;
	ts = t->ts_recent + 100;
	mk_item(e, id, &it, nxt, 100, ts);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->ts_recent, ts);
	paws = e->st.rx_paws_drop;
	/* 8 ticks older: accepted (opens the interval) */
	mk_item(e, id, &it, nxt + 200, 100, ts - 8);
	ftoe_proto_rx(e, &it, 1);
	ck_assert(!(it.res & FTOE_RX_R_DROP));
	ck_assert(t->ooo.n == 1 && t->ooo.iv[0].end - t->ooo.iv[0].start == 100);
	ck_assert_uint_eq(e->st.rx_paws_drop, paws);
	/* 9 ticks older: PAWS drops it, and says so with an ACK */
	mk_item(e, id, &it, nxt + 300, 100, ts - 9);
	ftoe_proto_rx(e, &it, 1);
	ck_assert(it.res & FTOE_RX_R_DROP);
	ck_assert(it.res & FTOE_RX_R_ACK_NOW);
	ck_assert_uint_eq(e->st.rx_paws_drop, paws + 1);
	ck_assert(t->ooo.n == 1 && t->ooo.iv[0].end - t->ooo.iv[0].start == 100);
	/* a much older one at rcv_nxt too */
	mk_item(e, id, &it, nxt + 100, 100, ts - 1000);
	ftoe_proto_rx(e, &it, 1);
	ck_assert(it.res & FTOE_RX_R_DROP);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 100);
	lb_fini(&w);
}
END_TEST

/*
 * The ACK's SACK option (RFC 2018 4, RFC 2883 4): intervals most recent
 * first, 3 blocks beside timestamps; an old duplicate that the
 * acceptability test drops still comes back as a D-SACK block, once.
 */
START_TEST(ack_sack_and_dsack_blocks)
{
	struct lb_world w;
	struct ftoe_rx_item it;
	struct ftoe_tx_item ack;
	struct ftoe_engine *e;
	struct flow_tcp *t;
	uint32_t id, nxt, ts;

	e = setup(&w, &id);
	t = &e->tcp[id];
	ck_assert(t->flags & FLOW_TCP_SACK);
	nxt = t->rcv_nxt;
	ts = t->ts_recent + 1;
	for (unsigned k = 0; k < 4; k++) {	/* intervals at +200, +400, +600, +800 */
		mk_item(e, id, &it, nxt + 200 + 200 * k, 100, ts);
		ftoe_proto_rx(e, &it, 1);
		ck_assert(it.res & FTOE_RX_R_ACK_NOW);
	}
	ftoe_proto_ack(e, id, &ack);
	ck_assert(ack.opts & FTOE_TX_O_SACK);
	ck_assert_uint_eq(ack.nsack, 3);
	ck_assert_uint_eq(ack.sack[0].start, nxt + 800);
	ck_assert_uint_eq(ack.sack[1].start, nxt + 600);
	ck_assert_uint_eq(ack.sack[2].start, nxt + 400);
	/* fill [nxt, +200): rcv_nxt reaches +300, an immediate ACK */
	mk_item(e, id, &it, nxt, 200, ts);
	ftoe_proto_rx(e, &it, 1);
	ck_assert_uint_eq(t->rcv_nxt, nxt + 300);
	ck_assert(it.res & FTOE_RX_R_ACK_NOW);
	/* in order while holes remain: still at once, no delayed ACK */
	mk_item(e, id, &it, nxt + 300, 50, ts);
	ftoe_proto_rx(e, &it, 1);
	ck_assert(it.res & FTOE_RX_R_ACK_NOW);
	/* an old duplicate, entirely below rcv_nxt: dropped, D-SACKed */
	mk_item(e, id, &it, nxt, 100, ts);
	ftoe_proto_rx(e, &it, 1);
	ck_assert(it.res & FTOE_RX_R_DROP);
	ck_assert(it.res & FTOE_RX_R_ACK_NOW);
	ftoe_proto_ack(e, id, &ack);
	ck_assert_uint_eq(ack.nsack, 3);
	ck_assert_uint_eq(ack.sack[0].start, nxt);
	ck_assert_uint_eq(ack.sack[0].end, nxt + 100);
	ck_assert(seq_before_eq(ack.sack[0].end, ack.ack));
	ck_assert_uint_eq(ack.sack[1].start, nxt + 800);
	/* reported once */
	ftoe_proto_ack(e, id, &ack);
	ck_assert_uint_eq(ack.sack[0].start, nxt + 800);
	lb_fini(&w);
}
END_TEST

/*
 * With window scaling the advertised right edge (rcv_nxt + field << shift)
 * moves in steps of 2^shift.  Rounding up to keep the previous edge (RFC
 * 7323 2.4) must not promise more than the ring holds: each round-up could
 * add up to 2^shift - 1 bytes beyond its free space, the sender then fills
 * what we advertised, and the bytes past the ring's end were cut off,
 * leaving a hole that every later segment counted as out of order (seen
 * with `bench/engine_bulk.sh` at 1 MiB: a 240-byte segment up to the edge,
 * 224 bytes of room).  Odd-sized segments with nobody reading: the edge
 * never passes the ring's end, and filling the window is taken in full.
 */
START_TEST(window_edge_within_ring)
{
	struct lb_world w;
	struct ftoe_rx_item it;
	struct ftoe_engine *e;
	struct flow_tcp *t;
	uint32_t id, ts, edge, ooo;
	uint8_t shift;

	e = setup(&w, &id);
	t = &e->tcp[id];
	ck_assert(t->flags & FLOW_TCP_WSCALE);
	shift = t->rcv_wscale;
	ck_assert_uint_gt(shift, 0);
	ts = t->ts_recent + 1;
	ooo = e->st.rx_ooo;
	while (ftoe_proto_rx_space(e, id) > 0) {
		uint32_t room = ftoe_proto_rx_space(e, id);
		uint16_t field = ftoe_proto_window(e, id);
		uint32_t len;

		edge = t->rcv_nxt + ((uint32_t)field << shift);
		ck_assert_msg(!seq_after(edge, t->rcv_nxt + room),
			      "advertised edge %u bytes beyond the ring's free space",
			      edge - (t->rcv_nxt + room));
		ck_assert(!seq_after(t->rcv_adv, t->rcv_nxt + room));
		/* the sender sends up to the edge it was given, 1447 bytes a
		 * segment (odd: rcv_nxt leaves the 2^shift grid) */
		len = edge - t->rcv_nxt;
		if (len > 1447)
			len = 1447;
		if (!len)
			break;
		mk_item(e, id, &it, t->rcv_nxt, (uint16_t)len, ts);
		ftoe_proto_rx(e, &it, 1);
		ck_assert(!(it.res & FTOE_RX_R_DROP));
		ck_assert_uint_eq(it.copy_len, len);
	}
	ck_assert_uint_eq(e->st.rx_ooo, ooo);
	ck_assert_uint_eq(t->ooo.n, 0);
	lb_fini(&w);
}
END_TEST

static Suite *proto_rx_suite(void)
{
	Suite *s = suite_create("core_proto_rx");
	TCase *tc = tcase_create("proto_rx");

	tcase_add_test(tc, batch_taken_in_sequence_order);
	tcase_add_test(tc, bogus_head_reads_nothing);
	tcase_add_test(tc, ts_recent_from_segments_covering_rcv_nxt);
	tcase_add_test(tc, paws_slack);
	tcase_add_test(tc, ack_sack_and_dsack_blocks);
	tcase_add_test(tc, window_edge_within_ring);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(proto_rx_suite)
