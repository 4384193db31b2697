/* test_engine_sack.c - engine loss recovery: SACK blocks on the wire, dupacks per out-of-order segment, lost retransmissions. */
#include <string.h>

#include "core/byteorder.h"
#include "core/engine_internal.h"
#include "core/segment.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull
#define MS 1000000ull

/* What the taps saw. */
#define MAX_REC 4096
struct ack_rec {
	uint64_t at;
	uint32_t ack;
	unsigned nblocks;
	uint32_t l, r;		/* first SACK block */
};
struct data_rec {
	uint64_t at;
	uint32_t seq, len;
	bool dropped;
};

static struct {
	struct ack_rec acks[MAX_REC];	/* pure ACKs side 1 sent */
	unsigned nacks;
	struct data_rec data[MAX_REC];	/* data segments side 0 sent */
	unsigned ndata;
	uint32_t drop_seq;		/* data segment to drop ... */
	unsigned drop_times;		/* ... this many times */
	bool hold_sacks;		/* keep side 1's ACKs with SACK blocks off the wire ... */
	struct lb_pkt held[16];		/* ... here */
	unsigned nheld;
	bool synack_sackp, syn_sackp;
} R;

/* First SACK block of a parsed segment's options; returns the count. */
static unsigned sack_blocks(const uint8_t *f, const struct ftoe_seg *s, uint32_t *l, uint32_t *r)
{
	const uint8_t *o = f + s->l4_off + 20, *end = f + s->payload_off;

	while (o < end && *o != FTOE_TCPOPT_EOL) {
		if (*o == FTOE_TCPOPT_NOP) {
			o++;
			continue;
		}
		if (o[0] == FTOE_TCPOPT_SACK) {
			*l = ftoe_get_be32(o + 2);
			*r = ftoe_get_be32(o + 6);
			return (o[1] - 2u) / 8u;
		}
		o += o[1];
	}
	return 0;
}

static bool tap_sender(struct lb_side *sd, uint8_t *f, uint16_t *len)
{
	struct ftoe_seg s;

	if (ftoe_seg_parse(f, *len, 0, &s))
		return true;
	if (s.tcp_flags & FTOE_TCP_SYN)
		R.syn_sackp = (s.opts & FTOE_OPT_SACKP) != 0;
	if (!s.payload_len || R.ndata >= MAX_REC)
		return true;
	R.data[R.ndata] = (struct data_rec){ sd->w->now, s.seq, s.payload_len, false };
	if (s.seq == R.drop_seq && R.drop_times) {
		R.drop_times--;
		R.data[R.ndata++].dropped = true;
		return false;
	}
	R.ndata++;
	return true;
}

static bool tap_receiver(struct lb_side *sd, uint8_t *f, uint16_t *len)
{
	struct ftoe_seg s;
	struct ack_rec *a;

	if (ftoe_seg_parse(f, *len, 0, &s))
		return true;
	if (s.tcp_flags & FTOE_TCP_SYN)
		R.synack_sackp = (s.opts & FTOE_OPT_SACKP) != 0;
	if (s.payload_len || !(s.tcp_flags & FTOE_TCP_ACK) || R.nacks >= MAX_REC)
		return true;
	a = &R.acks[R.nacks++];
	a->at = sd->w->now;
	a->ack = s.ack;
	a->nblocks = sack_blocks(f, &s, &a->l, &a->r);
	if (R.hold_sacks && a->nblocks && R.nheld < 16) {
		R.held[R.nheld].len = *len;
		memcpy(R.held[R.nheld++].data, f, *len);
		return false;
	}
	return true;
}

static bool stream_step(struct lb_world *w, void *arg)
{
	return app_stream_step(w, arg);
}

static void setup(struct lb_world *w, int *c, int *a, uint64_t rate_bps, uint32_t buf)
{
	struct ftoe_engine_cfg ca, cb;

	memset(&R, 0, sizeof(R));
	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.cc_param = cb.cc_param = rate_bps;
	ca.rx_buf_size = ca.tx_buf_size = cb.rx_buf_size = cb.tx_buf_size = buf;
	lb_init(w, 5, &ca, &cb);
	w->s[0].tap = tap_sender;
	w->s[1].tap = tap_receiver;
	ck_assert(app_connect(w, 80, c, a));
}

/*
 * SACK-permitted both ways; one lost segment in a burst of ten: every
 * out-of-order segment gets its own immediate duplicate ACK carrying the
 * out-of-order interval as a SACK block (RFC 2018 4) whose right edge grows
 * with each segment; the sender resends only the hole (the SACK block
 * covers the rest); the segment filling the hole gets an immediate ACK
 * without a block.
 */
START_TEST(sack_blocks_and_dupacks)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct app_stream as;
	uint32_t seg0, mss, first_ack;
	unsigned i, n_sack = 0, fill = 0;
	int c, a;

	setup(&w, &c, &a, 0, 64 * 1024);
	ck_assert(R.syn_sackp && R.synack_sackp);
	ck_assert(w.s[0].eng->tcp[c].flags & FLOW_TCP_SACK);
	ck_assert(w.s[1].eng->tcp[a].flags & FLOW_TCP_SACK);
	mss = w.s[0].eng->tcp[c].snd_mss;
	seg0 = w.s[0].eng->tcp[c].snd_nxt;
	R.drop_seq = seg0 + mss; /* the second segment */
	R.drop_times = 1;
	R.nacks = 0;
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 21, .len = 10 * mss };
	ck_assert(lb_run(&w, stream_step, &as, 5 * SEC));
	ck_assert_uint_eq(as.bad, 0);

	first_ack = seg0 + mss;
	for (i = 0; i < R.nacks; i++) {
		struct ack_rec *k = &R.acks[i];

		if (k->ack == first_ack && k->nblocks) {
			/* the k-th out-of-order segment: [seg 2, seg 2 + k) */
			ck_assert_uint_eq(k->nblocks, 1);
			ck_assert_uint_eq(k->l, seg0 + 2 * mss);
			ck_assert_uint_eq(k->r, seg0 + (3 + n_sack) * mss);
			n_sack++;
		} else if (k->ack == seg0 + 10 * mss && !fill) {
			ck_assert_uint_eq(k->nblocks, 0);
			fill = i + 1;
		}
	}
	/* eight out-of-order segments, eight duplicate ACKs */
	ck_assert_uint_eq(n_sack, 8);
	ck_assert_uint_ne(fill, 0);
	/* the hole's retransmission was ACKed the moment it arrived (one link
	 * latency after it was sent) */
	for (i = 0; i < R.ndata; i++)
		if (R.data[i].seq == R.drop_seq && !R.data[i].dropped)
			break;
	ck_assert_uint_lt(i, R.ndata);
	ck_assert_uint_le(R.acks[fill - 1].at, R.data[i].at + w.lat_ns + 1000);
	/* only the hole went out again: the SACK block covered the rest */
	ftoe_engine_get_stats(w.s[0].eng, &st);
	ck_assert_uint_eq(st.retransmits, 1);
	ck_assert_uint_eq(st.timeouts, 0);
	lb_fini(&w);
}
END_TEST

/*
 * A lost retransmission: the segment and its first retransmission are both
 * dropped while data keeps flowing (paced sender, large window).  The
 * duplicate ACKs that keep arriving more than an RTT after the
 * retransmission show it was lost; the sender resends well before the RTO
 * (200 ms minimum here, the RTT is 40 us).
 */
START_TEST(lost_retransmission_without_rto)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct app_stream as;
	uint64_t t_retx[3] = { 0, 0, 0 };
	unsigned i, n = 0;
	uint32_t mss;
	int c, a;

	setup(&w, &c, &a, 100000000ull, 256 * 1024);
	mss = w.s[0].eng->tcp[c].snd_mss;
	R.drop_seq = w.s[0].eng->tcp[c].snd_nxt + 10 * mss;
	R.drop_times = 2;
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 22, .len = 150 * mss };
	ck_assert(lb_run(&w, stream_step, &as, 10 * SEC));
	ck_assert_uint_eq(as.bad, 0);
	ck_assert_uint_eq(as.rcvd, 150ull * mss);
	for (i = 0; i < R.ndata && n < 3; i++)
		if (R.data[i].seq == R.drop_seq)
			t_retx[n++] = R.data[i].at;
	ck_assert_uint_eq(n, 3);
	ck_assert(R.data[0].at <= t_retx[0]);
	/* the third transmission follows the lost second within a few ms,
	 * far below the 200 ms RTO */
	ck_assert_msg(t_retx[2] - t_retx[1] < 5 * MS, "resent after %llu ns",
		      (unsigned long long)(t_retx[2] - t_retx[1]));
	ftoe_engine_get_stats(w.s[0].eng, &st);
	ck_assert_uint_eq(st.timeouts, 0);
	ck_assert_uint_ge(st.fast_retransmits, 2);
	lb_fini(&w);
}
END_TEST

/*
 * The engine reads ACKs late: the ACKs whose SACK blocks show a hole
 * under 8 delivered segments reach it only after its RTO fell due (as
 * when the engine was off the CPU while they queued).  It reads them
 * before it scans its timers, so RACK marks the hole lost first: the
 * hole goes out as RACK's retransmission, with no timeout (which would
 * also count as one "after 3 SACKed").
 */
START_TEST(late_sack_ack_beats_overdue_rto)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct app_stream as;
	uint32_t mss, n_before;
	uint64_t t_in;
	int c, a;

	setup(&w, &c, &a, 100000000ull, 256 * 1024);
	mss = w.s[0].eng->tcp[c].snd_mss;
	/* the 12th segment: the receiver's delayed ACK of the two before it
	 * reaches the sender, so snd_una stands at the hole */
	R.drop_seq = w.s[0].eng->tcp[c].snd_nxt + 11 * mss;
	R.drop_times = 1;
	R.hold_sacks = true;
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 25, .len = 20 * mss };
	lb_run(&w, stream_step, &as, 5 * MS);
	ck_assert_uint_eq(R.nheld, 8);
	ck_assert_uint_eq(w.s[0].eng->tcp[c].snd_una, R.drop_seq);
	n_before = R.ndata;
	/* the RTO (200 ms floor) is overdue when the ACKs are read */
	w.now += 300 * MS;
	t_in = w.now;
	for (unsigned i = 0; i < R.nheld; i++)
		lb_inject(&w, 0, R.held[i].data, R.held[i].len);
	R.hold_sacks = false;
	ftoe_engine_poll(w.s[0].eng, 0);
	ftoe_engine_get_stats(w.s[0].eng, &st);
	ck_assert_uint_eq(st.timeouts, 0);
	ck_assert_uint_eq(st.timeouts_sacked, 0);
	ck_assert_uint_eq(R.ndata, n_before + 1);
	ck_assert_uint_eq(R.data[n_before].seq, R.drop_seq);
	ck_assert_uint_eq(R.data[n_before].at, t_in);
	ck_assert(lb_run(&w, stream_step, &as, 5 * SEC));
	ck_assert_uint_eq(as.bad, 0);
	ck_assert_uint_eq(as.rcvd, 20ull * mss);
	lb_fini(&w);
}
END_TEST

/*
 * The ACKs stop for an RTO just after RACK resent a hole under SACKed
 * data (all of the receiver's frames dropped until the timeout; RACK may
 * resend once more on ACKs already on their way).  If a resend got
 * through, the timeout's own resend reaches the receiver twice and its
 * first ACK D-SACKs it and covers everything: nothing was left to find,
 * and "after 3 SACKed" does not count it.  If every resend was lost as
 * well, the timeout was needed, and counts.
 */
static bool blackout_step(struct lb_world *w, void *arg)
{
	struct app_stream *as = arg;
	struct ftoe_engine_stats st;
	unsigned sent = 0;

	for (unsigned i = 0; i < R.ndata; i++)
		sent += R.data[i].seq == R.drop_seq;
	ftoe_engine_get_stats(w->s[0].eng, &st);
	/* from the hole's second transmission to the timeout */
	w->s[1].f.drop = sent >= 2 && !st.timeouts ? 100 : 0;
	/* done when the sender has its ACKs too */
	return app_stream_step(w, as) &&
	       w->s[0].eng->tcp[as->stx].snd_una == w->s[0].eng->tcp[as->stx].snd_max;
}

static void blackout(unsigned drop_times, struct ftoe_engine_stats *st)
{
	struct lb_world w;
	struct app_stream as;
	uint32_t mss;
	int c, a;

	/* 1 Gbit/s: 3 segments SACKed within the RTT (40 us), so RACK
	 * resends the hole at DupThresh */
	setup(&w, &c, &a, 1000000000ull, 256 * 1024);
	mss = w.s[0].eng->tcp[c].snd_mss;
	R.drop_seq = w.s[0].eng->tcp[c].snd_nxt + 11 * mss;
	R.drop_times = drop_times;
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 26, .len = 40 * mss };
	ck_assert(lb_run(&w, blackout_step, &as, 10 * SEC));
	ck_assert_uint_eq(as.bad, 0);
	ck_assert_uint_eq(as.rcvd, 40ull * mss);
	ftoe_engine_get_stats(w.s[0].eng, st);
	lb_fini(&w);
}

START_TEST(timeout_after_ack_blackout_not_counted)
{
	struct ftoe_engine_stats st;

	blackout(1, &st);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.timeouts_sacked, 0);
}
END_TEST

START_TEST(timeout_for_lost_resend_counted)
{
	struct ftoe_engine_stats st;

	blackout(3, &st);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.timeouts_sacked, 1);
}
END_TEST

/*
 * A lost resend at the tail: the hole three segments before the end is
 * lost, and so is its resend; everything else is SACKed and nothing is
 * left to send, so no ACK can show RACK the resend was lost.  The
 * recovery probe resends it once more a PTO later, long before the RTO.
 */
START_TEST(tail_lost_resend_probed)
{
	struct lb_world w;
	struct ftoe_engine_stats st;
	struct app_stream as;
	uint64_t t0;
	unsigned n = 0;
	uint32_t mss;
	int c, a;

	setup(&w, &c, &a, 1000000000ull, 256 * 1024);
	mss = w.s[0].eng->tcp[c].snd_mss;
	R.drop_seq = w.s[0].eng->tcp[c].snd_nxt + 17 * mss;
	R.drop_times = 2;
	t0 = w.now;
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 27, .len = 20 * mss };
	ck_assert(lb_run(&w, stream_step, &as, 5 * SEC));
	ck_assert_uint_eq(as.rcvd, 20ull * mss);
	for (unsigned i = 0; i < R.ndata; i++)
		n += R.data[i].seq == R.drop_seq;
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_lt(w.now - t0, 100 * MS);
	ftoe_engine_get_stats(w.s[0].eng, &st);
	ck_assert_uint_eq(st.timeouts, 0);
	ck_assert_uint_ge(st.tlp_probes, 1);
	lb_fini(&w);
}
END_TEST

/* The peer vanishes while a hole is open under SACKed data: RACK resends
 * the hole, but without an ACK the RTO backs off and the connection gives
 * up after rto_retries timeouts; the engine does not resend the hole
 * forever at RACK's pace. */
static uint64_t dead_at;

static bool dead_after(struct lb_world *w, void *arg)
{
	struct app_stream *as = arg;

	if (w->now > dead_at) {
		w->s[0].f.drop = 100;
		w->s[1].f.drop = 100;
		return w->s[0].eng->ctl[as->stx].state == TCP_S_CLOSED ||
		       !w->s[0].eng->ctl[as->stx].in_use;
	}
	app_stream_step(w, as);
	return false;
}

START_TEST(dead_peer_with_sack_holes_gives_up)
{
	struct ftoe_engine_cfg ca, cb;
	struct ftoe_engine_stats st;
	struct app_stream as;
	struct lb_world w;
	unsigned before = 0;
	uint32_t mss;
	int c, a;

	memset(&R, 0, sizeof(R));
	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.cc_param = cb.cc_param = 100000000ull;
	ca.rto_retries = 3;
	lb_init(&w, 6, &ca, &cb);
	w.s[0].tap = tap_sender;
	w.s[1].tap = tap_receiver;
	ck_assert(app_connect(&w, 80, &c, &a));
	mss = w.s[0].eng->tcp[c].snd_mss;
	R.drop_seq = w.s[0].eng->tcp[c].snd_nxt + 10 * mss;
	R.drop_times = 1000; /* lost every time: the hole stays */
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 24, .len = 4000ull * mss };
	dead_at = w.now + 50 * MS;
	lb_run(&w, dead_after, &as, 30 * SEC);
	for (unsigned i = 0; i < R.ndata; i++)
		if (R.data[i].at > dead_at)
			break;
		else
			before++;
	ftoe_engine_get_stats(w.s[0].eng, &st);
	/* gave up: 3 timeouts, after about 0.2 + 0.4 + 0.8 + 1.6 s */
	ck_assert_uint_eq(st.conn_timeout, 1);
	ck_assert_uint_ge(st.timeouts, 3);
	ck_assert_uint_lt(w.now - dead_at, 10 * SEC);
	/* and not a resend every 2 SRTT meanwhile */
	ck_assert_uint_lt(R.ndata - before, 50);
	lb_fini(&w);
}
END_TEST

/* Duplicated and corrupted frames around a loss: the corrupted ones are
 * dropped by the checksum check, duplicates change nothing; all data
 * arrives intact without a timeout storm. */
START_TEST(dup_and_corrupt_with_sack)
{
	struct lb_world w;
	struct app_stream as;
	int c, a;

	setup(&w, &c, &a, 100000000ull, 256 * 1024);
	w.s[0].tap = NULL;
	w.s[1].tap = NULL;
	w.s[0].f = (struct lb_faults){ .drop = 2, .dup = 2, .reorder = 25, .corrupt = 1 };
	w.s[1].f = w.s[0].f;
	as = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 23, .len = 2 << 20 };
	ck_assert(lb_run(&w, stream_step, &as, 120 * SEC));
	ck_assert_uint_eq(as.bad, 0);
	ck_assert_uint_eq(as.rcvd, 2u << 20);
	lb_fini(&w);
}
END_TEST

static Suite *engine_sack_suite(void)
{
	Suite *s = suite_create("core_engine_sack");
	TCase *tc = tcase_create("sack");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, sack_blocks_and_dupacks);
	tcase_add_test(tc, lost_retransmission_without_rto);
	tcase_add_test(tc, late_sack_ack_beats_overdue_rto);
	tcase_add_test(tc, timeout_after_ack_blackout_not_counted);
	tcase_add_test(tc, timeout_for_lost_resend_counted);
	tcase_add_test(tc, tail_lost_resend_probed);
	tcase_add_test(tc, dead_peer_with_sack_holes_gives_up);
	tcase_add_test(tc, dup_and_corrupt_with_sack);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(engine_sack_suite)
