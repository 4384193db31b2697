/* test_flow_groups.c - the flow-group pipeline under randomised schedules: sequencer at ingress, pre-processing in any order, a reorder point before each group's protocol step, payload placement in any order, items finished one at a time at a second reorder point, one before the wire; a dropped segment retires its number. */
#include <stdlib.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/pipeline.h"
#include "core/reorder.h"
#include "tests/unit/core/fg_streams.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

/*
 * Side B's engine is fed the way a pipelined backend feeds it
 * (core/x86/pipe.c with --flow-groups): every received frame is stamped by
 * the sequencer; pre-processing (ftoe_engine_rx_prepare) finishes the
 * frames in a random order, as any number of threads would; a reorder
 * point releases them in stamp order into their flow group's FIFO; the
 * groups' protocol steps (ftoe_engine_rx_items) run in a random order with
 * random batch sizes, as --flow-groups runs it (core/x86/fgpipe.c): the
 * protocol step of a run (ftoe_engine_rx_proto), then each item's payload
 * placed in a random order (ftoe_engine_rx_post_place, the ftoe-postK
 * threads) and its number completed at a second reorder point, which
 * finishes the items in number order one at a time
 * (ftoe_engine_rx_post_finish), so the applications read between two
 * finishes; an item for the control plane (ftoe_engine_rx_divert), or a
 * run with one that needs it, holds its group until it is finished.
 * What the engine transmits is stamped again, finished
 * in a random order (the egress threads' tx-post work) and put on the wire
 * through a second reorder point.  The schedule comes from the world's
 * seeded PRNG, so a failing seed replays.
 *
 * Checked: every stream byte-exact (app_stream); each flow's segments
 * reach the protocol step in arrival order, and its frames reach the wire
 * in the order the engine sent them; nothing is left in flight.
 */

#define FG_SLOTS   256		/* rx: reorder slots and frame storage */
#define FG_TX      4096		/* tx: the same */
#define FG_GROUPS  4
#define FG_FLOWS   64

struct fg_rx {
	struct ftoe_rx_item it;
	uint8_t frame[1600];
	uint16_t len;
	bool busy;		/* from ingress until it is finished */
	bool divert;		/* the control plane's: finished by ftoe_engine_rx_divert */
	uint32_t sn;		/* its number (both reorder points) */
	uint32_t key;		/* the flow's ports */
	uint64_t arrival;	/* the flow's arrival count */
};

struct fg_tx {
	uint8_t frame[1600];
	uint16_t len;
	uint32_t key;
	uint64_t sent;		/* the flow's send count */
};

struct fg_flow {
	uint64_t arrived, last_proto;	/* rx: counts, the last seen at protocol */
	uint64_t sent, last_wire;	/* tx */
};

struct fg_sim {
	struct lb_world *w;
	unsigned ngroups;
	struct ftoe_rob rob, rob2, txrob;
	struct ftoe_rob_slot rob_slots[FG_SLOTS], rob2_slots[FG_SLOTS], tx_slots[FG_TX];
	struct fg_rx rx[FG_SLOTS];
	struct fg_tx tx[FG_TX];
	uint32_t pre[FG_SLOTS];		/* numbers waiting for pre-processing */
	unsigned npre;
	uint32_t gq[FG_GROUPS][FG_SLOTS]; /* released, per group, FIFO */
	unsigned gq_head[FG_GROUPS], gq_len[FG_GROUPS];
	uint32_t post[FG_SLOTS];	/* numbers past the protocol step, to be placed */
	unsigned npost;
	uint32_t fin[FG_SLOTS];		/* released at reorder point 2, to be finished, FIFO */
	unsigned fin_head, fin_len;
	bool barrier[FG_GROUPS];	/* the group waits until ... */
	uint32_t barrier_sn[FG_GROUPS];	/* ... this number is finished */
	uint32_t txq[FG_TX];		/* tx numbers waiting for egress */
	unsigned ntx;
	struct fg_flow flows[FG_FLOWS];
	uint32_t keys[FG_FLOWS];	/* flows[i]'s key (fg_key_slot) */
	/* results */
	uint64_t proto_items, wire_frames, malformed, order_proto, order_wire, groups_used;
	uint32_t drop_next;		/* test hook: corrupt this many data frames at ingress */
};

static struct fg_sim *g_sim;	/* the world's callbacks reach it through here */

static struct fg_flow *flow_of(struct fg_sim *s, uint32_t key)
{
	return &s->flows[fg_key_slot(s->keys, FG_FLOWS, key)];
}

/* ---- rx ---------------------------------------------------------------- */

static unsigned pump(struct lb_world *w);
static void deliver_fin(void *ctx, void *item);

static void deliver_group(void *ctx, void *item)
{
	struct fg_sim *s = ctx;
	struct fg_rx *r = item;
	unsigned g = ftoe_rx_item_group(&r->it, s->ngroups);

	ck_assert_uint_lt(g, s->ngroups);
	s->gq[g][(s->gq_head[g] + s->gq_len[g]) % FG_SLOTS] = (uint32_t)(r - s->rx);
	s->gq_len[g]++;
	s->groups_used |= 1ull << g;
}

/* Ingress: stamp, store (copied: the link lends the frame), queue for pre. */
static void rx_stage(struct lb_world *w, const void *frame, uint16_t len)
{
	struct fg_sim *s = g_sim;
	struct fg_rx *r;
	uint32_t sn;

	/* a full ring or a slot still in use: the stages run until it frees */
	for (;;) {
		if (!ftoe_rob_reserve(&s->rob, &sn)) {
			if (!s->rx[sn & (FG_SLOTS - 1)].busy)
				break;
			/* (cannot unreserve: the producer waits for the slot) */
			while (s->rx[sn & (FG_SLOTS - 1)].busy)
				ck_assert_msg(pump(w), "rx slot stuck");
			break;
		}
		ck_assert_msg(pump(w), "rx ring stuck");
	}
	{
		uint32_t sn2;

		ck_assert_int_eq(ftoe_rob_reserve(&s->rob2, &sn2), 0);
		ck_assert_uint_eq(sn2, sn);
	}
	r = &s->rx[sn & (FG_SLOTS - 1)];
	r->busy = true;
	r->sn = sn;
	r->len = len;
	memcpy(r->frame, frame, len);
	r->key = fg_frame_key(r->frame, len, false);
	if (s->drop_next && r->key && len > 14 + 20 + 20 + 32) {
		/* a corrupt payload byte: the checksum check drops it */
		r->frame[len - 1] ^= 0x5a;
		s->drop_next--;
	}
	r->arrival = r->key ? ++flow_of(s, r->key)->arrived : 0;
	s->pre[s->npre++] = sn;
}

/* One pre-processing worker finishes a random waiting frame. */
static void pre_one(struct fg_sim *s)
{
	unsigned i = (unsigned)(lb_rand(s->w) % s->npre);
	uint32_t sn = s->pre[i];
	struct fg_rx *r = &s->rx[sn & (FG_SLOTS - 1)];

	s->pre[i] = s->pre[--s->npre];
	ftoe_engine_rx_prepare(s->w->s[1].eng, r->frame, r->len, NULL, &r->it);
	if (ftoe_rx_item_malformed(&r->it)) {
		s->malformed++;
		r->busy = false;
		ck_assert_int_eq(ftoe_rob_retire(&s->rob, sn), 0);
		ck_assert_int_eq(ftoe_rob_retire(&s->rob2, sn), 0);
		ftoe_rob_release_shared(&s->rob2, deliver_fin, s);
	} else {
		ck_assert_int_eq(ftoe_rob_complete(&s->rob, sn, r), 0);
	}
	ftoe_rob_release_shared(&s->rob, deliver_group, s);
}

static void deliver_fin(void *ctx, void *item)
{
	struct fg_sim *s = ctx;

	s->fin[(s->fin_head + s->fin_len) % FG_SLOTS] = (uint32_t)((struct fg_rx *)item - s->rx);
	s->fin_len++;
}

/* Number sn at reorder point 2: completed, and what is in order released
 * to be finished. */
static void post_complete(struct fg_sim *s, struct fg_rx *r)
{
	ck_assert_int_eq(ftoe_rob_complete(&s->rob2, r->sn, r), 0);
	ftoe_rob_release_shared(&s->rob2, deliver_fin, s);
}

/* Whether number sn was finished (its slot is free, or holds a later one). */
static bool finished(const struct fg_sim *s, uint32_t sn)
{
	const struct fg_rx *r = &s->rx[sn & (FG_SLOTS - 1)];

	return !r->busy || r->sn != sn;
}

/* A group's protocol step over a random batch from its FIFO's head: each
 * fast-path run on to placement; the first item for the control plane, or
 * the end of a run with one that needs it, stops the batch and holds the
 * group until it is finished (the rest go back to the FIFO). */
static void proto_batch(struct fg_sim *s, unsigned g)
{
	struct ftoe_engine *e = s->w->s[1].eng;
	struct ftoe_rx_item items[16];
	unsigned n = 1 + (unsigned)(lb_rand(s->w) % 16), idx[16], i = 0, k;

	if (n > s->gq_len[g])
		n = s->gq_len[g];
	for (unsigned j = 0; j < n; j++) {
		idx[j] = s->gq[g][(s->gq_head[g] + j) % FG_SLOTS];
		items[j] = s->rx[idx[j]].it;
	}
	while (i < n) {
		bool ctl = false;

		k = ftoe_engine_rx_proto(e, items + i, n - i);
		if (!k) {
			s->rx[idx[i]].it = items[i];
			s->rx[idx[i]].divert = true;
			k = 1;
			ctl = true;
			post_complete(s, &s->rx[idx[i]]);
		} else {
			for (unsigned j = i; j < i + k; j++) {
				s->rx[idx[j]].it = items[j];
				s->rx[idx[j]].divert = false;
				s->post[s->npost++] = s->rx[idx[j]].sn;
				ctl |= items[j].res & FTOE_RX_R_CTL;
			}
		}
		for (unsigned j = i; j < i + k; j++) {
			struct fg_rx *r = &s->rx[idx[j]];

			if (r->key) {
				struct fg_flow *f = flow_of(s, r->key);

				if (r->arrival <= f->last_proto)
					s->order_proto++;
				f->last_proto = r->arrival;
			}
		}
		i += k;
		if (ctl && !finished(s, s->rx[idx[i - 1]].sn)) {
			s->barrier[g] = true;
			s->barrier_sn[g] = s->rx[idx[i - 1]].sn;
			break;
		}
	}
	s->gq_head[g] = (s->gq_head[g] + i) % FG_SLOTS;
	s->gq_len[g] -= i;
	s->proto_items += i;
}

/* One post-processing worker places a random item's payload. */
static void place_one(struct fg_sim *s)
{
	unsigned i = (unsigned)(lb_rand(s->w) % s->npost);
	struct fg_rx *r = &s->rx[s->post[i] & (FG_SLOTS - 1)];

	s->post[i] = s->post[--s->npost];
	ftoe_engine_rx_post_place(s->w->s[1].eng, &r->it, 1);
	post_complete(s, r);
}

/* The next item in number order finished, alone. */
static void finish_one(struct fg_sim *s)
{
	struct ftoe_engine *e = s->w->s[1].eng;
	struct fg_rx *r = &s->rx[s->fin[s->fin_head]];

	s->fin_head = (s->fin_head + 1) % FG_SLOTS;
	s->fin_len--;
	if (r->divert)
		ftoe_engine_rx_divert(e, &r->it);
	else
		ftoe_engine_rx_post_finish(e, &r->it, 1);
	ftoe_engine_rx_end(e);
	r->busy = false;
	for (unsigned g = 0; g < s->ngroups; g++)
		if (s->barrier[g] && finished(s, s->barrier_sn[g]))
			s->barrier[g] = false;
}

/* ---- tx ---------------------------------------------------------------- */

/* Everything side B's engine transmits: stamped, left for egress. */
static bool tx_tap(struct lb_side *side, uint8_t *frame, uint16_t *len)
{
	struct fg_sim *s = g_sim;
	struct fg_tx *t;
	uint32_t sn;

	(void)side;
	ck_assert_msg(!ftoe_rob_reserve(&s->txrob, &sn), "tx reorder ring full");
	t = &s->tx[sn & (FG_TX - 1)];
	t->len = *len;
	memcpy(t->frame, frame, *len);
	t->key = fg_frame_key(frame, *len, true);
	t->sent = t->key ? ++flow_of(s, t->key)->sent : 0;
	s->txq[s->ntx++] = sn;
	return false;	/* the wire gets it from the reorder point */
}

static void deliver_wire(void *ctx, void *item)
{
	struct fg_sim *s = ctx;
	struct fg_tx *t = item;

	if (t->key) {
		struct fg_flow *f = flow_of(s, t->key);

		if (t->sent <= f->last_wire)
			s->order_wire++;
		f->last_wire = t->sent;
	}
	lb_wire_send(&s->w->s[1], t->frame, t->len);
	s->wire_frames++;
}

static void egress_one(struct fg_sim *s)
{
	unsigned i = (unsigned)(lb_rand(s->w) % s->ntx);
	uint32_t sn = s->txq[i];

	s->txq[i] = s->txq[--s->ntx];
	ck_assert_int_eq(ftoe_rob_complete(&s->txrob, sn, &s->tx[sn & (FG_TX - 1)]), 0);
	ftoe_rob_release_shared(&s->txrob, deliver_wire, s);
}

/* ---- the schedule -------------------------------------------------------- */

/* A random number of random steps of random stages; returns the steps. */
static unsigned pump(struct lb_world *w)
{
	struct fg_sim *s = g_sim;
	unsigned want = 1 + (unsigned)(lb_rand(w) % 8), done = 0;

	while (done < want || s->ntx > FG_TX / 2) {
		unsigned g, ready = 0, pick;
		unsigned cand[4 + FG_GROUPS];

		if (s->npre)
			cand[ready++] = 0;
		if (s->ntx)
			cand[ready++] = 1;
		if (s->npost)
			cand[ready++] = 2;
		if (s->fin_len)
			cand[ready++] = 3;
		for (g = 0; g < s->ngroups; g++)
			if (s->gq_len[g] && !s->barrier[g])
				cand[ready++] = 4 + g;
		if (!ready)
			break;
		pick = cand[lb_rand(w) % ready];
		if (pick == 0)
			pre_one(s);
		else if (pick == 1)
			egress_one(s);
		else if (pick == 2)
			place_one(s);
		else if (pick == 3) {
			finish_one(s);
			/* often the applications read right after one item's
			 * finish, before the rest of the run is placed */
			if (lb_rand(w) % 2 && s->ntx <= FG_TX / 2) {
				done++;
				break;
			}
		}
		else
			proto_batch(s, pick - 4);
		done++;
	}
	return done;
}

static void sim_init(struct fg_sim *s, struct lb_world *w, uint64_t seed, unsigned ngroups)
{
	memset(s, 0, sizeof(*s));
	lb_init(w, seed, NULL, NULL);
	s->w = w;
	s->ngroups = ngroups;
	ck_assert_int_eq(ftoe_rob_init(&s->rob, s->rob_slots, FG_SLOTS), 0);
	ck_assert_int_eq(ftoe_rob_init(&s->rob2, s->rob2_slots, FG_SLOTS), 0);
	ck_assert_int_eq(ftoe_rob_init(&s->txrob, s->tx_slots, FG_TX), 0);
	g_sim = s;
	w->rx_stage = rx_stage;
	w->pump = pump;
	w->s[1].tap = tx_tap;
}

static void sim_check_drained(struct fg_sim *s)
{
	while (pump(s->w))
		;
	ck_assert_uint_eq(s->npre, 0);
	ck_assert_uint_eq(s->ntx, 0);
	ck_assert_uint_eq(s->npost, 0);
	ck_assert_uint_eq(s->fin_len, 0);
	ck_assert_uint_eq(ftoe_rob_in_flight(&s->rob), 0);
	ck_assert_uint_eq(ftoe_rob_in_flight(&s->rob2), 0);
	ck_assert_uint_eq(ftoe_rob_in_flight(&s->txrob), 0);
	ck_assert_uint_eq(s->order_proto, 0);
	ck_assert_uint_eq(s->order_wire, 0);
}

#define NCONN 4

/* NCONN connections, len bytes each way; faults on the link on odd seeds. */
static void run_seed(uint64_t seed, uint64_t len)
{
	static struct fg_sim sim;
	static struct fg_streams t;
	struct lb_world w;

	sim_init(&sim, &w, seed, 1 + (unsigned)(seed % FG_GROUPS));
	if (seed & 1)
		w.s[0].f = w.s[1].f = (struct lb_faults){ .drop = 2, .dup = 2, .reorder = 3,
							  .corrupt = 1 };
	fg_streams_open(&w, &t, seed, NCONN, 80, len);
	fg_streams_run(&w, &t);
	sim_check_drained(&sim);
	ck_assert_uint_gt(sim.proto_items, 0);
	ck_assert_uint_gt(sim.wire_frames, 0);
	lb_fini(&w);
}

/* Hundreds of seeded schedules, 1 to 4 flow groups, clean and faulty links. */
START_TEST(fg_schedule_fuzz)
{
	const char *env = getenv("FTOE_FG_SEEDS");
	unsigned seeds = env ? (unsigned)atoi(env) : 300;

	for (uint64_t seed = 1; seed <= seeds; seed++)
		run_seed(seed, 24 << 10);
}
END_TEST

/* A link that swaps a quarter of the frames: runs often hold a flow's
 * segments out of order, the protocol step takes them in sequence order,
 * and the items are still placed in any order and finished one at a time
 * (each finish may publish only bytes of items up to its own). */
START_TEST(fg_schedule_swapped_runs)
{
	static struct fg_sim sim;
	static struct fg_streams t;
	const char *env = getenv("FTOE_FG_SEEDS");
	unsigned seeds = env ? (unsigned)atoi(env) : 300;

	for (uint64_t seed = 1; seed <= seeds / 3; seed++) {
		struct lb_world w;

		sim_init(&sim, &w, 5000 + seed, 1 + (unsigned)(seed % FG_GROUPS));
		w.s[0].f = w.s[1].f = (struct lb_faults){ .reorder = 25 };
		fg_streams_open(&w, &t, 5000 + seed, NCONN, 80, 48 << 10);
		fg_streams_run(&w, &t);
		sim_check_drained(&sim);
		lb_fini(&w);
	}
}
END_TEST

/* With 4 groups and 8 connections, the flows spread: more than one group
 * carries traffic (the hash partitions, it does not collapse to one). */
START_TEST(fg_flows_spread)
{
	static struct fg_sim sim;
	struct lb_world w;
	int c, a;

	sim_init(&sim, &w, 7, 4);
	for (int i = 0; i < 8; i++)
		ck_assert(app_connect(&w, (uint16_t)(90 + i), &c, &a));
	sim_check_drained(&sim);
	ck_assert_msg(__builtin_popcountll(sim.groups_used) > 1, "groups used: %llx",
		      (unsigned long long)sim.groups_used);
	lb_fini(&w);
}
END_TEST

/* A segment dropped in pre-processing (bad checksum) retires its number:
 * the segments after it are released to the protocol step at once (the
 * receiver sees a hole and asks for it), and the stream completes. */
static bool one_step(struct lb_world *w, void *arg)
{
	return app_stream_step(w, arg);
}

START_TEST(fg_drop_retires_number)
{
	static struct fg_sim sim;
	struct app_stream st;
	struct lb_world w;
	int c, a;
	uint64_t items_before, len = 256 << 10;

	sim_init(&sim, &w, 42, 2);
	ck_assert(app_connect(&w, 80, &c, &a));
	st = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 5, .len = len };
	/* part of the stream, then one data frame dropped */
	ck_assert(!lb_run(&w, one_step, &st, 200000));
	ck_assert_uint_gt(st.rcvd, 0);
	ck_assert_uint_lt(st.rcvd, len);
	items_before = sim.proto_items;
	sim.drop_next = 1;
	ck_assert_msg(lb_run(&w, one_step, &st, 60 * SEC), "stalled at %llu",
		      (unsigned long long)st.rcvd);
	ck_assert_uint_eq(sim.drop_next, 0);
	ck_assert_uint_eq(sim.malformed, 1);
	ck_assert_uint_eq(sim.rob.retired, 1);
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_uint_eq(st.rcvd, len);
	ck_assert_uint_gt(sim.proto_items, items_before);
	sim_check_drained(&sim);
	lb_fini(&w);
}
END_TEST

static Suite *flow_groups_suite(void)
{
	Suite *s = suite_create("core_flow_groups");
	TCase *tc = tcase_create("schedules");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, fg_drop_retires_number);
	tcase_add_test(tc, fg_flows_spread);
	tcase_add_test(tc, fg_schedule_fuzz);
	tcase_add_test(tc, fg_schedule_swapped_runs);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(flow_groups_suite)
