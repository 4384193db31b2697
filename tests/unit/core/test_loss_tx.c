/* test_loss_tx.c - the sender's SACK scoreboard, RACK marks and retransmission walk (core/loss_tx.c). */
#include <string.h>

#include "core/loss_tx.h"
#include "tests/unit/test.h"

#define MSS 1000u
#define UNA 1000000u  /* snd_una at the start of each test */

static struct ftoe_lt lt;

/* One ACK: cumulative ack, then up to 4 SACK blocks as (l, r) pairs. */
static unsigned ack(uint32_t una_prev, uint32_t una, uint32_t snd_max, uint32_t now,
		    unsigned nblk, const uint32_t *b)
{
	struct ftoe_lt_ack a;

	memset(&a, 0, sizeof(a));
	a.una_prev = una_prev;
	a.snd_una = una;
	a.snd_nxt = snd_max;
	a.snd_max = snd_max;
	a.now_us = now;
	a.nblk = (uint8_t)nblk;
	for (unsigned i = 0; i < nblk; i++) {
		a.blk_l[i] = b[2 * i];
		a.blk_r[i] = b[2 * i + 1];
	}
	return ftoe_lt_on_ack(&lt, &a);
}

static uint32_t seg(unsigned k)
{
	return UNA + k * MSS;
}

static void setup(void)
{
	ftoe_lt_reset(&lt);
}

/* Blocks from different ACKs are all remembered (the newest ACK names
 * only three), merged when they touch, and forgotten below snd_una. */
START_TEST(scoreboard_merges_over_acks)
{
	uint32_t b1[] = { seg(2), seg(3) }, b2[] = { seg(5), seg(6) }, b3[] = { seg(3), seg(4) };
	uint32_t b4[] = { seg(8), seg(9), seg(4), seg(5) };

	ck_assert_uint_eq(ack(UNA, UNA, seg(20), 100, 1, b1), FTOE_LT_R_NEWSACK);
	ack(UNA, UNA, seg(20), 110, 1, b2);
	ck_assert_uint_eq(lt.n, 2);
	/* [3,4) joins [2,3); [4,5) then bridges to [5,6) */
	ack(UNA, UNA, seg(20), 120, 1, b3);
	ck_assert_uint_eq(lt.n, 2);
	ack(UNA, UNA, seg(20), 130, 2, b4);
	ck_assert_uint_eq(lt.n, 2);
	ck_assert_uint_eq(lt.blk[0].start, seg(2));
	ck_assert_uint_eq(lt.blk[0].end, seg(6));
	ck_assert_uint_eq(lt.blk[1].start, seg(8));
	ck_assert_uint_eq(ftoe_lt_sacked(&lt), 5 * MSS);
	/* the cumulative ACK passes the first block */
	ack(UNA, seg(7), seg(20), 140, 0, NULL);
	ck_assert_uint_eq(lt.n, 1);
	ck_assert_uint_eq(lt.blk[0].start, seg(8));
	ack(seg(7), seg(8) + 500, seg(20), 150, 0, NULL);
	ck_assert_uint_eq(lt.blk[0].start, seg(8) + 500);
	ack(seg(8) + 500, seg(10), seg(20), 160, 0, NULL);
	ck_assert_uint_eq(lt.n, 0);
}
END_TEST

/* RFC 2883 4: a first block below the cumulative ACK, or inside the
 * second block, is a D-SACK and not scoreboard data. */
START_TEST(dsack_recognised)
{
	uint32_t below[] = { seg(0), seg(1) };
	uint32_t inside[] = { seg(4), seg(5), seg(3), seg(6) };
	uint32_t plain[] = { seg(7), seg(8), seg(3), seg(6) };

	ck_assert(ack(UNA, seg(2), seg(20), 100, 1, below) & FTOE_LT_R_DSACK);
	ck_assert_uint_eq(lt.n, 0);
	ck_assert(ack(seg(2), seg(2), seg(20), 110, 2, inside) & FTOE_LT_R_DSACK);
	ck_assert_uint_eq(lt.n, 1);
	ck_assert_uint_eq(lt.blk[0].start, seg(3));
	ck_assert(!(ack(seg(2), seg(2), seg(20), 120, 2, plain) & FTOE_LT_R_DSACK));
	ck_assert_uint_eq(lt.n, 2);
	/* outside a recovery the duplicate came from the network: the
	 * reordering window does not widen */
	ck_assert_uint_eq(lt.reo_mult, 1);
	lt.flags |= FTOE_LT_F_RECOV;
	lt.recover = seg(20);
	ack(seg(2), seg(2), seg(20), 130, 1, below);
	ck_assert_uint_eq(lt.reo_mult, 2);
	/* once per round trip */
	ack(seg(2), seg(2), seg(20), 140, 1, below);
	ck_assert_uint_eq(lt.reo_mult, 2);
}
END_TEST

/* RFC 2883 4 compares the first block with that ACK's own cumulative
 * ACK: an ACK overtaken by a later one (ack 2, after ack 6 arrived)
 * reports a block [3, 4) a later ACK has covered - old news, not a
 * duplicate; one below its own ack still is. */
START_TEST(dsack_of_an_overtaken_ack)
{
	uint32_t stale[] = { seg(3), seg(4) }, dup[] = { seg(0), seg(1) };
	struct ftoe_lt_ack a;

	memset(&a, 0, sizeof(a));
	a.una_prev = a.snd_una = seg(6);
	a.snd_nxt = a.snd_max = seg(20);
	a.now_us = 100;
	a.ack_behind = seg(6) - seg(2);
	a.nblk = 1;
	a.blk_l[0] = stale[0];
	a.blk_r[0] = stale[1];
	lt.flags |= FTOE_LT_F_RECOV;
	lt.recover = seg(20);
	ck_assert(!(ftoe_lt_on_ack(&lt, &a) & FTOE_LT_R_DSACK));
	ck_assert_uint_eq(lt.reo_mult, 1);
	ck_assert_uint_eq(lt.n, 0);
	a.blk_l[0] = dup[0];
	a.blk_r[0] = dup[1];
	ck_assert(ftoe_lt_on_ack(&lt, &a) & FTOE_LT_R_DSACK);
	ck_assert_uint_eq(lt.reo_mult, 2);
}
END_TEST

/* RFC 8985 6.2: a hole is lost once the reordering window has passed
 * since data above it was delivered; three SACKed segments without
 * reordering seen make the window 0 (DupThresh). */
START_TEST(rack_marks_after_window)
{
	uint32_t b1[] = { seg(1), seg(2) }, b2[] = { seg(1), seg(4) };
	uint32_t lowest = 0, srtt = 2000, reo;

	ack(UNA, UNA, seg(10), 1000, 1, b1);
	reo = ftoe_lt_reo_wnd(&lt, 800, srtt, ftoe_lt_sacked(&lt) / MSS);
	/* nothing measured yet: one segment past the hole waits up to SRTT */
	ck_assert_uint_eq(reo, srtt);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 1000 + srtt - 1, reo, srtt, true, &lowest), 0);
	ck_assert(ftoe_lt_next_due(&lt, reo, srtt, &lowest));
	ck_assert_uint_eq(lowest, 1000 + srtt);
	ack(UNA, UNA, seg(10), 1100, 1, b2);
	reo = ftoe_lt_reo_wnd(&lt, 800, srtt, ftoe_lt_sacked(&lt) / MSS);
	ck_assert_uint_eq(reo, 0);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 1100, reo, srtt, true, &lowest), 1);
	ck_assert_uint_eq(lowest, UNA);
	ck_assert_uint_eq(lt.hole[0], FTOE_LT_H_LOST);
}
END_TEST

/* A hole marked lost is pending until its resend; newly delivered data
 * re-allows the recovery probe (FTOE_LT_X_RPROBE). */
START_TEST(lost_pending_and_probe_rearm)
{
	uint32_t b1[] = { seg(2), seg(5) }, b2[] = { seg(2), seg(6) };
	uint32_t lowest = 0;

	ack(UNA, UNA, seg(10), 1000, 1, b1);
	ck_assert(!ftoe_lt_lost_pending(&lt));
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 1000, 0, 2000, true, &lowest), 1);
	ck_assert(ftoe_lt_lost_pending(&lt));
	lt.xflags |= FTOE_LT_X_RPROBE;
	/* part of the hole resent: still pending, the probe still spent */
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 1100);
	ck_assert(ftoe_lt_lost_pending(&lt));
	ack(UNA, UNA, seg(10), 1200, 0, NULL);
	ck_assert(lt.xflags & FTOE_LT_X_RPROBE);
	ftoe_lt_sent(&lt, UNA, seg(1), seg(2), 1300);
	ck_assert(!ftoe_lt_lost_pending(&lt));
	ack(UNA, UNA, seg(10), 1400, 1, b2);
	ck_assert(!(lt.xflags & FTOE_LT_X_RPROBE));
}
END_TEST

/* A resent hole is lost again only after an ACK with new data since the
 * resend (RACK's evidence); with no ACK at all no deadline is pending, so
 * the RTO, with its backoff, decides. */
START_TEST(resent_hole_needs_a_delivery)
{
	uint32_t b1[] = { seg(1), seg(4) }, b2[] = { seg(1), seg(5) };
	uint32_t lowest = 0, due = 0, srtt = 2000;

	ack(UNA, UNA, seg(10), 1000, 1, b1);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 1000, 0, srtt, true, &lowest), 1);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 1100);
	ck_assert_uint_eq(lt.hole[0], FTOE_LT_H_SENT);
	/* long after, no ACK since the resend: not lost, nothing due */
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 50000, 0, srtt, true, &lowest), 0);
	ck_assert(!ftoe_lt_next_due(&lt, 0, srtt, &due));
	/* an ACK with new data after the resend: due RTT after the resend */
	ck_assert(ack(UNA, UNA, seg(10), 1500, 1, b2) & FTOE_LT_R_NEWSACK);
	ck_assert(ftoe_lt_next_due(&lt, 0, srtt, &due));
	ck_assert_uint_eq(due, 1100 + srtt);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 1100 + srtt, 0, srtt, true, &lowest), 1);
	ck_assert_uint_eq(lt.hole[0], FTOE_LT_H_LOST);
}
END_TEST

/* Data that was never resent filling a hole is reordering: the flag is
 * set, its extent measured, and the window then covers it. */
START_TEST(reordering_widens_window)
{
	uint32_t b1[] = { seg(1), seg(2) };
	uint32_t reo;

	ack(UNA, UNA, seg(10), 1000, 1, b1);
	ck_assert(ack(UNA, seg(2), seg(10), 4000, 0, NULL) & FTOE_LT_R_REORDER);
	ck_assert(lt.flags & FTOE_LT_F_REORD);
	ck_assert_uint_eq(lt.reo_ext_us, 3000);
	/* min_RTT / 4 = 200 us, but 3000 us were seen: 3750, under 2 SRTT */
	reo = ftoe_lt_reo_wnd(&lt, 800, 2000, 0);
	ck_assert_uint_eq(reo, 3750);
	/* capped at 2 SRTT */
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 1000, 0), 2000);
	/* with reordering seen, three SACKed segments no longer mean loss */
	lt.reo_ext_us = 0;
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 5), 200);
	/* ... and with fewer than three the window stays SRTT, as before
	 * any reordering was seen (seeing it must not shrink the window);
	 * in a recovery the RFC's window applies */
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 1), 2000);
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 2), 2000);
	lt.flags |= FTOE_LT_F_RECOV;
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 1), 200);
	lt.flags &= (uint8_t)~FTOE_LT_F_RECOV;
	/* spurious retransmissions (reo_mult 3) without measured reordering:
	 * the RFC's min_RTT / 4 x 3, still under SRTT */
	lt.reo_mult = 3;
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 5), 600);
	/* ... on a path that reorders: 3 SRTT, and at most 4 SRTT */
	lt.reo_ext_us = 100;
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 5), 6000);
	lt.reo_mult = 9;
	ck_assert_uint_eq(ftoe_lt_reo_wnd(&lt, 800, 2000, 5), 8000);
}
END_TEST

/* The walk resends only lost holes, never SACKed data, then goes on at
 * snd_max. */
START_TEST(walk_sends_only_lost_holes)
{
	uint32_t b[] = { seg(1), seg(2), seg(4), seg(5), seg(7), seg(8) };
	uint32_t nxt = UNA, lim = 0;

	ack(UNA, UNA, seg(10), 1000, 3, b);
	ck_assert_uint_eq(lt.n, 3);
	/* holes: [0,1) [2,4) [5,7); only the first two are lost */
	lt.hole[0] = FTOE_LT_H_LOST;
	lt.hole[1] = FTOE_LT_H_LOST;
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(10), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(0));
	ck_assert_uint_eq(lim, MSS);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 1100);
	ck_assert_uint_eq(lt.hole[0], FTOE_LT_H_SENT);
	nxt = seg(1);
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(10), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(2));
	ck_assert_uint_eq(lim, 2 * MSS);
	/* half of the hole went out: the walk resumes there */
	ftoe_lt_sent(&lt, UNA, seg(2), seg(3), 1110);
	ck_assert_uint_eq(lt.hole[1], FTOE_LT_H_LOST);
	nxt = seg(3);
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(10), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(3));
	ck_assert_uint_eq(lim, MSS);
	ftoe_lt_sent(&lt, UNA, seg(3), seg(4), 1120);
	ck_assert_uint_eq(lt.hole[1], FTOE_LT_H_SENT);
	nxt = seg(4);
	/* [5,7) is only waiting, [8,10) in flight: done */
	ck_assert(!ftoe_lt_walk(&lt, UNA, seg(10), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(10));
}
END_TEST

/* A resent hole is lost again when data sent after it was delivered and
 * an RTT plus the window passed (RFC 8985 6.2); without such evidence it
 * is not. */
START_TEST(lost_retransmission_found)
{
	uint32_t b[] = { seg(1), seg(3) }, b2[] = { seg(1), seg(6) };
	uint32_t lowest = 0;

	ack(UNA, UNA, seg(10), 1000, 1, b);
	lt.hole[0] = FTOE_LT_H_LOST;
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 2000);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 2500, 100, 1000, true, &lowest), 0);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 3200, 100, 1000, false, &lowest), 0);
	ck_assert(ack(UNA, UNA, seg(10), 3200, 1, b2) & FTOE_LT_R_NEWSACK);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 3200, 100, 1000, true, &lowest), 1);
	ck_assert_uint_eq(lowest, UNA);
}
END_TEST

/* A timeout makes every hole and the unSACKed data above the blocks lost;
 * the walk then covers it all but the SACKed blocks.  Forgetting drops
 * the blocks (a reneging receiver). */
START_TEST(rto_walks_unsacked)
{
	uint32_t b[] = { seg(1), seg(2) };
	uint32_t nxt = UNA, lim = 0;

	ack(UNA, UNA, seg(5), 1000, 1, b);
	ftoe_lt_on_rto(&lt, UNA, seg(5), false);
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(5), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(0));
	ck_assert_uint_eq(lim, MSS);
	nxt = seg(1);
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(5), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(2));
	ck_assert_uint_eq(lim, 3 * MSS);
	nxt = seg(5);
	ck_assert(!ftoe_lt_walk(&lt, UNA, seg(5), &nxt, &lim));
	ftoe_lt_on_rto(&lt, UNA, seg(5), true);
	ck_assert_uint_eq(lt.n, 0);
	nxt = seg(1);
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(5), &nxt, &lim));
	ck_assert_uint_eq(nxt, seg(1));
	/* the cumulative ACK reaching rto_end ends it */
	ack(UNA, seg(5), seg(5), 2000, 0, NULL);
	ck_assert(!(lt.flags & FTOE_LT_F_RTO));
}
END_TEST

/* A full scoreboard keeps the lowest blocks: a block above them all is
 * left "in flight"; one in between pushes the highest out. */
START_TEST(full_scoreboard_keeps_lowest)
{
	uint32_t b[2];

	for (unsigned i = 0; i < FTOE_LT_BLOCKS; i++) {
		b[0] = seg(2 * i + 1);
		b[1] = seg(2 * i + 2);
		ack(UNA, UNA, seg(4 * FTOE_LT_BLOCKS), 1000, 1, b);
	}
	ck_assert_uint_eq(lt.n, FTOE_LT_BLOCKS);
	b[0] = seg(2 * FTOE_LT_BLOCKS + 2);
	b[1] = seg(2 * FTOE_LT_BLOCKS + 3);
	ck_assert(ack(UNA, UNA, seg(4 * FTOE_LT_BLOCKS), 1100, 1, b) & FTOE_LT_R_FULL);
	ck_assert_uint_eq(lt.blk[FTOE_LT_BLOCKS - 1].start, seg(2 * FTOE_LT_BLOCKS - 1));
	b[0] = seg(2) + 100;
	b[1] = seg(2) + 200;
	ack(UNA, UNA, seg(4 * FTOE_LT_BLOCKS), 1200, 1, b);
	ck_assert_uint_eq(lt.n, FTOE_LT_BLOCKS);
	ck_assert_uint_eq(lt.blk[1].start, seg(2) + 100);
	ck_assert_uint_eq(lt.blk[FTOE_LT_BLOCKS - 1].start, seg(2 * FTOE_LT_BLOCKS - 3));
}
END_TEST

/* Issue 12's window: 4 MiB in flight at 2 % loss holds ~58 holes at once.
 * Holes at the even segments 0 .. 2 * ISSUE12_HOLES - 2, the odd ones
 * SACKed, each block told once in ascending order (a receiver names only
 * its most recent ones). */
#define ISSUE12_HOLES 58

static void issue12_window(uint32_t snd_max)
{
	uint32_t b[2];

	for (unsigned i = 0; i < ISSUE12_HOLES; i++) {
		b[0] = seg(2 * i + 1);
		b[1] = seg(2 * i + 2);
		ack(UNA, UNA, snd_max, 1000 + i, 1, b);
	}
}

/* Run the walk from una to its end, one segment at a time as the
 * scheduler does; fail on any SACKed (odd) segment below
 * 2 * ISSUE12_HOLES.  resent[k] marks what went. */
static void walk_all(uint32_t una, uint32_t snd_max, uint32_t now, bool *resent)
{
	uint32_t nxt = una, lim = 0;
	unsigned cnt = 0;

	while (ftoe_lt_walk(&lt, una, snd_max, &nxt, &lim)) {
		uint32_t k = (nxt - UNA) / MSS, len = lim < MSS ? lim : MSS;

		ck_assert_uint_gt(lim, 0);
		ck_assert_msg(k >= 2 * ISSUE12_HOLES || k % 2 == 0, "SACKed segment %u resent", k);
		resent[k] = true;
		ftoe_lt_sent(&lt, una, nxt, nxt + len, now);
		nxt += len;
		ck_assert_uint_lt(++cnt, 1000);
	}
}

/* A timeout in issue 12's window resends every hole and nothing the
 * receiver SACKed (with 8 blocks: the 50 ranges above the eighth). */
START_TEST(issue12_window_rto_resends_no_sacked)
{
	uint32_t snd_max = seg(2 * ISSUE12_HOLES);
	bool resent[2 * ISSUE12_HOLES + 8] = { false };

	issue12_window(snd_max);
	ftoe_lt_on_rto(&lt, UNA, snd_max, false);
	walk_all(UNA, snd_max, 2000, resent);
	for (unsigned k = 0; k < 2 * ISSUE12_HOLES; k += 2)
		ck_assert_msg(resent[k], "hole %u not resent", k);
}
END_TEST

/* RACK in issue 12's window: once the cumulative ACK frees blocks, a new
 * block above them all opens one hole; the holes below it are resent,
 * the SACKed ranges between them are not. */
START_TEST(issue12_window_rack_resends_no_sacked)
{
	uint32_t snd_max = seg(2 * ISSUE12_HOLES + 4), lowest = 0;
	uint32_t b[2] = { seg(2 * ISSUE12_HOLES + 1), seg(2 * ISSUE12_HOLES + 2) };
	bool resent[2 * ISSUE12_HOLES + 8] = { false };

	issue12_window(snd_max);
	ack(UNA, seg(4), snd_max, 1100, 0, NULL);
	ack(seg(4), seg(4), snd_max, 1200, 1, b);
	ck_assert(ftoe_lt_detect(&lt, seg(4), 50000, 100, 1000, true, &lowest) > 0);
	walk_all(seg(4), snd_max, 60000, resent);
	for (unsigned k = 4; k <= 2 * ISSUE12_HOLES; k += 2)
		ck_assert_msg(resent[k], "hole %u not resent", k);
}
END_TEST

/* RFC 3708 with per-range marks: the episode is undone once D-SACKs have
 * covered every byte it resent; a D-SACK of data never resent (the
 * network's duplicate) counts for nothing. */
START_TEST(dsack_undo_only_for_our_retransmissions)
{
	uint32_t sack[] = { seg(2), seg(4) };
	uint32_t dup_orig[] = { seg(5), seg(6) }, dup0[] = { seg(0), seg(1) };
	uint32_t dup1a[] = { seg(1), seg(1) + 400 }, dup1b[] = { seg(1) + 400, seg(2) };
	uint32_t lowest = 0, nxt = UNA, lim = 0;

	ack(UNA, UNA, seg(10), 100, 1, sack);
	ck_assert_uint_eq(ftoe_lt_detect(&lt, UNA, 100, 0, 2000, true, &lowest), 1);
	ftoe_lt_undo_arm(&lt);
	ck_assert(ftoe_lt_walk(&lt, UNA, seg(10), &nxt, &lim));
	ck_assert_uint_eq(lim, 2 * MSS);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 200);
	ftoe_lt_sent(&lt, UNA, seg(1), seg(2), 201);
	ck_assert_uint_eq(lt.nrtx, 1);
	/* the cumulative ACK covers them; then duplicates are reported */
	ack(UNA, seg(4), seg(10), 300, 0, NULL);
	ck_assert(!(ack(seg(4), seg(6), seg(10), 310, 1, dup_orig) & FTOE_LT_R_DSUNDO));
	ck_assert(!(ack(seg(6), seg(6), seg(10), 320, 1, dup0) & FTOE_LT_R_DSUNDO));
	ck_assert(!(ack(seg(6), seg(6), seg(10), 330, 1, dup1a) & FTOE_LT_R_DSUNDO));
	/* the same D-SACK again (a network copy of the duplicate) */
	ck_assert(!(ack(seg(6), seg(6), seg(10), 335, 1, dup1a) & FTOE_LT_R_DSUNDO));
	ck_assert(ack(seg(6), seg(6), seg(10), 340, 1, dup1b) & FTOE_LT_R_DSUNDO);
	ck_assert(!(lt.flags & FTOE_LT_F_DSUNDO));
	/* disarmed: no second undo for the same episode */
	ck_assert(!(ack(seg(6), seg(6), seg(10), 350, 1, dup0) & FTOE_LT_R_DSUNDO));
}
END_TEST

/* A byte resent twice makes its D-SACK ambiguous (which copy was the
 * duplicate?): no D-SACK undo for that episode. */
START_TEST(dsack_undo_off_after_double_resend)
{
	uint32_t dup0[] = { seg(0), seg(1) };

	ftoe_lt_undo_arm(&lt);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 200);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 300);
	ck_assert(!(lt.flags & FTOE_LT_F_DSUNDO));
	ack(UNA, seg(1), seg(10), 400, 0, NULL);
	ck_assert(!(ack(seg(1), seg(1), seg(10), 410, 1, dup0) & FTOE_LT_R_DSUNDO));
	/* more ranges than remembered: off as well */
	ftoe_lt_undo_arm(&lt);
	for (unsigned k = 0; k <= FTOE_LT_RTX; k++)
		ftoe_lt_sent(&lt, seg(1), seg(1 + 2 * k), seg(2 + 2 * k), 500);
	ck_assert(!(lt.flags & FTOE_LT_F_DSUNDO));
}
END_TEST

/* RFC 6675 2 "pipe": what was sent minus what is SACKed or marked lost,
 * plus what of the lost data went out again. */
START_TEST(pipe_counts_in_flight)
{
	uint32_t sack[] = { seg(2), seg(4) }, lowest = 0;

	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(10), seg(10)), 10 * MSS);
	ack(UNA, UNA, seg(10), 100, 1, sack);
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(10), seg(10)), 8 * MSS);
	ftoe_lt_detect(&lt, UNA, 100, 0, 2000, true, &lowest);
	/* holes [0,2) lost: out of the pipe; the walk in it puts back what it resent */
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(10), seg(10)), 6 * MSS);
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(1), seg(10)), 7 * MSS);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(2), 200);
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(10), seg(10)), 8 * MSS);
	/* a timeout: everything unSACKed is lost until the walk resends it */
	ftoe_lt_on_rto(&lt, UNA, seg(10), false);
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, UNA, seg(10)), 0);
	ftoe_lt_sent(&lt, UNA, seg(0), seg(1), 300);
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(1), seg(10)), 1 * MSS);
	ftoe_lt_sent(&lt, UNA, seg(1), seg(2), 300);
	ftoe_lt_sent(&lt, UNA, seg(4), seg(6), 300);
	ck_assert_uint_eq(ftoe_lt_pipe(&lt, UNA, seg(6), seg(10)), 4 * MSS);
}
END_TEST

static Suite *loss_tx_suite(void)
{
	Suite *s = suite_create("core_loss_tx");
	TCase *tc = tcase_create("scoreboard");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, scoreboard_merges_over_acks);
	tcase_add_test(tc, dsack_recognised);
	tcase_add_test(tc, dsack_of_an_overtaken_ack);
	tcase_add_test(tc, rack_marks_after_window);
	tcase_add_test(tc, resent_hole_needs_a_delivery);
	tcase_add_test(tc, lost_pending_and_probe_rearm);
	tcase_add_test(tc, reordering_widens_window);
	tcase_add_test(tc, walk_sends_only_lost_holes);
	tcase_add_test(tc, lost_retransmission_found);
	tcase_add_test(tc, rto_walks_unsacked);
	tcase_add_test(tc, full_scoreboard_keeps_lowest);
	tcase_add_test(tc, issue12_window_rto_resends_no_sacked);
	tcase_add_test(tc, issue12_window_rack_resends_no_sacked);
	tcase_add_test(tc, dsack_undo_only_for_our_retransmissions);
	tcase_add_test(tc, dsack_undo_off_after_double_resend);
	tcase_add_test(tc, pipe_counts_in_flight);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(loss_tx_suite)
