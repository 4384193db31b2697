/* test_flow_groups_mt.c - two flow groups' protocol stages on two threads at once and post-processing on two more, under the locks and reorder points core/x86/fgpipe.c has: byte-exact streams and per-flow order (built with TSan too: make tsan-fg). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/pipeline.h"
#include "core/reorder.h"
#include "core/tcp_seq.h"
#include "tests/unit/core/fg_streams.h"
#include "tests/unit/test.h"


/*
 * Side B's engine is fed as fgpipe.c feeds it, with real threads: the
 * link's thread is ingress (the sequencer stamps each frame, pre-processing
 * finishes the frames in a random order, the reorder point releases them
 * in stamp order into their group's FIFO); then, in each round, two group
 * threads take their FIFOs at once in random batch sizes, each run's
 * protocol stage under its group's lock (ftoe_engine_rx_proto); its items
 * go to two post-processing threads in turn, which place the payload
 * (ftoe_engine_rx_post_place, no lock) and complete the numbers at a
 * second reorder point; whichever thread releases finishes them in number
 * order (ftoe_engine_rx_post_finish, _divert for the control plane's
 * items) under the group's lock and the shared one, as fgpipe.c does.  A
 * run with an item for the control plane is a barrier: its group thread
 * waits until it is finished.
 * During a round the link's thread polls side B's engine (timers, the
 * flow scheduler) under every lock, as fgpipe.c's first protocol thread
 * does; everything else (the applications, side A, the link) runs on it
 * between rounds, when the group threads wait.
 *
 * Checked: every stream byte-exact, each flow's segments reach the
 * protocol stage and post-processing's finish in arrival order, side B's
 * frames carry each flow's ACK numbers in order on the wire, every thread
 * worked, nothing is left in flight.  Under ThreadSanitizer
 * (build/tsan/tests/fg-mt) any data race between the stages fails the
 * run; FTOE_FG_MT_NO_SHARED_LOCK=1 leaves the shared lock out on purpose,
 * and FTOE_FG_MT_NO_REORDER=1 finishes each item where its payload was
 * placed, bypassing the second reorder point: both must fail.
 */

#define MT_GROUPS 2
#define MT_SLOTS  1024
#define MT_FLOWS  64
#define NCONN     6
#define MT_POST   2

struct mt_flow {
	uint64_t arrived;	/* ingress thread */
	uint64_t last_proto;	/* the flow's group thread */
	uint64_t last_fin;	/* the finisher (under the shared lock) */
	uint32_t wire_ack;	/* the last ACK number side B sent (under the shared lock) */
	bool wire_acked;
};

enum mt_fin { MT_FIN_POST, MT_FIN_DIVERT, MT_FIN_DONE };

struct mt_rx {
	struct ftoe_rx_item it;
	uint8_t frame[1600];
	uint16_t len;
	struct mt_flow *flow;	/* NULL: not TCP */
	uint64_t arrival;
	uint32_t sn;
	unsigned g;
	enum mt_fin fin;
};

struct mt_post {
	struct mt_sim *s;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t q[MT_SLOTS];	/* slots handed on (the group threads, under mu) */
	unsigned head, tail;
	_Atomic uint64_t items;
	bool stop;		/* (under mu) */
};

struct mt_sim;

struct mt_thread {
	struct mt_sim *s;
	unsigned g;
	pthread_t tid;
	uint64_t rng;
	uint64_t items, order_bad;
	unsigned post_turn;
};

struct mt_sim {
	struct lb_world *w;
	struct ftoe_rob rob;
	struct ftoe_rob_slot rob_slots[MT_SLOTS];
	struct mt_rx rx[MT_SLOTS];
	uint32_t pre[MT_SLOTS];		/* numbers waiting for pre-processing */
	unsigned npre;
	uint32_t gq[MT_GROUPS][MT_SLOTS]; /* released, per group (ingress fills between rounds) */
	unsigned gq_len[MT_GROUPS];
	struct mt_flow flows[MT_FLOWS];
	uint32_t keys[MT_FLOWS];	/* flows[i]'s key (fg_key_slot) */

	pthread_mutex_t grp_lock[MT_GROUPS], eng_lock;
	bool shared_lock;		/* false: the fault the test must catch */
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	unsigned round, finished;
	bool stop;
	struct mt_thread th[MT_GROUPS];
	_Atomic unsigned in_proto;	/* group threads inside a protocol stage */
	_Atomic uint64_t overlaps;	/* a stage began while the other one ran */
	uint64_t rounds, polls;

	/* post-processing and reorder point 2 */
	struct ftoe_rob rob2;
	struct ftoe_rob_slot rob2_slots[MT_SLOTS];
	struct mt_post post[MT_POST];
	bool no_reorder;		/* the bypass the test must catch */
	_Atomic uint32_t finished_to;
	pthread_mutex_t fin_mu;
	pthread_cond_t fin_cv;
	_Atomic uint64_t place_overlaps;	/* a placement began during a protocol stage */
	uint64_t fin_bad, wire_bad;	/* (under the shared lock) */
	_Atomic uint64_t barriers;
};

static struct mt_sim *g_mt;

static uint64_t xs(uint64_t *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

static struct mt_flow *flow_of(struct mt_sim *s, uint32_t key)
{
	return &s->flows[fg_key_slot(s->keys, MT_FLOWS, key)];
}

static void mt_release2(struct mt_sim *s);

/* ---- ingress (the link's thread) ------------------------------------------ */

static void deliver_group(void *ctx, void *item)
{
	struct mt_sim *s = ctx;
	struct mt_rx *r = item;
	unsigned g = ftoe_rx_item_group(&r->it, MT_GROUPS);

	ck_assert_uint_lt(s->gq_len[g], MT_SLOTS);
	s->gq[g][s->gq_len[g]++] = (uint32_t)(r - s->rx);
}

static void pre_all(struct mt_sim *s)
{
	while (s->npre) {
		unsigned i = (unsigned)(lb_rand(s->w) % s->npre);
		uint32_t sn = s->pre[i];
		struct mt_rx *r = &s->rx[sn & (MT_SLOTS - 1)];

		s->pre[i] = s->pre[--s->npre];
		ftoe_engine_rx_prepare(s->w->s[1].eng, r->frame, r->len, NULL, &r->it);
		if (ftoe_rx_item_malformed(&r->it)) {
			ck_assert_int_eq(ftoe_rob_retire(&s->rob, sn), 0);
			ck_assert_int_eq(ftoe_rob_retire(&s->rob2, sn), 0);
			mt_release2(s);
		} else
			ck_assert_int_eq(ftoe_rob_complete(&s->rob, sn, r), 0);
		ftoe_rob_release_shared(&s->rob, deliver_group, s);
	}
}

static unsigned pump(struct lb_world *w);

static void rx_stage(struct lb_world *w, const void *frame, uint16_t len)
{
	struct mt_sim *s = g_mt;
	struct mt_rx *r;
	uint32_t sn;

	/* the slots are free again after every round: a full ring means a round now */
	if (ftoe_rob_in_flight(&s->rob) >= MT_SLOTS / 2)
		pump(w);
	ck_assert_int_eq(ftoe_rob_reserve(&s->rob, &sn), 0);
	r = &s->rx[sn & (MT_SLOTS - 1)];
	r->len = len;
	memcpy(r->frame, frame, len);
	r->flow = NULL;
	r->arrival = 0;
	r->sn = sn;
	if (fg_frame_key(r->frame, len, false)) {
		r->flow = flow_of(s, fg_frame_key(r->frame, len, false));
		r->arrival = ++r->flow->arrived;
	}
	s->pre[s->npre++] = sn;
}

/* ---- the group threads --------------------------------------------------- */

/* ---- post-processing and reorder point 2 ------------------------------------ */

/* Finished items of one flow must come in arrival order (under the shared
 * lock). */
static void fin_order(struct mt_sim *s, const struct mt_rx *r)
{
	if (!r->flow)
		return;
	if (r->arrival <= r->flow->last_fin)
		s->fin_bad++;
	r->flow->last_fin = r->arrival;
}

/* rs[0..n) in number order: runs of one group's items finished under its
 * lock and the shared one (fgpipe.c fg_finish). */
static void mt_finish(struct mt_sim *s, struct mt_rx *const *rs, unsigned n)
{
	struct ftoe_engine *e = s->w->s[1].eng;
	struct ftoe_rx_item items[MT_SLOTS / 16];
	unsigned i = 0, k, g;

	while (i < n) {
		if (rs[i]->fin == MT_FIN_DONE) {
			i++;
			continue;
		}
		g = rs[i]->g;
		pthread_mutex_lock(&s->grp_lock[g]);
		pthread_mutex_lock(&s->eng_lock);
		if (rs[i]->fin == MT_FIN_DIVERT) {
			fin_order(s, rs[i]);
			ftoe_engine_rx_divert(e, &rs[i]->it);
			i++;
		} else {
			for (k = 0; i + k < n && k < MT_SLOTS / 16 && rs[i + k]->fin == MT_FIN_POST &&
				    rs[i + k]->g == g; k++) {
				fin_order(s, rs[i + k]);
				items[k] = rs[i + k]->it;
			}
			ftoe_engine_rx_post_finish(e, items, k);
			i += k;
		}
		ftoe_engine_rx_end(e);
		pthread_mutex_unlock(&s->eng_lock);
		pthread_mutex_unlock(&s->grp_lock[g]);
	}
}

/* Release and finish what is in order at reorder point 2, unless another
 * thread is at it (fgpipe.c fg_finish_release). */
static void mt_release2(struct mt_sim *s)
{
	void *out[32];
	struct mt_rx *rs[32];
	unsigned n;

	while (ftoe_rob_release_claim(&s->rob2)) {
		do {
			n = ftoe_rob_release(&s->rob2, out, 32);
			for (unsigned i = 0; i < n; i++)
				rs[i] = out[i];
			mt_finish(s, rs, n);
			atomic_store(&s->finished_to, __atomic_load_n(&s->rob2.head, __ATOMIC_RELAXED));
		} while (n);
		pthread_mutex_lock(&s->fin_mu);
		pthread_cond_broadcast(&s->fin_cv);
		pthread_mutex_unlock(&s->fin_mu);
		if (!ftoe_rob_release_unclaim(&s->rob2))
			break;
	}
}

static bool fin_passed(struct mt_sim *s, uint32_t sn)
{
	return (int32_t)(atomic_load(&s->finished_to) - sn) > 0;
}

/* A group thread's barrier: sn needs the control plane first. */
static void mt_wait_finished(struct mt_sim *s, uint32_t sn)
{
	mt_release2(s);
	pthread_mutex_lock(&s->fin_mu);
	while (!fin_passed(s, sn))
		pthread_cond_wait(&s->fin_cv, &s->fin_mu);
	pthread_mutex_unlock(&s->fin_mu);
}

static void *post_main(void *arg)
{
	struct mt_post *q = arg;
	struct mt_sim *s = q->s;
	struct ftoe_engine *e = s->w->s[1].eng;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (q->head == q->tail && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->head == q->tail)
			break;
		struct mt_rx *r = &s->rx[q->q[q->head++ % MT_SLOTS]];

		pthread_mutex_unlock(&q->mu);
		if (atomic_load(&s->in_proto))
			atomic_fetch_add_explicit(&s->place_overlaps, 1, memory_order_relaxed);
		ftoe_engine_rx_post_place(e, &r->it, 1);
		if (s->no_reorder) {
			/* the fault: finished where placed, in whatever order */
			pthread_mutex_lock(&s->grp_lock[r->g]);
			pthread_mutex_lock(&s->eng_lock);
			fin_order(s, r);
			ftoe_engine_rx_post_finish(e, &r->it, 1);
			ftoe_engine_rx_end(e);
			pthread_mutex_unlock(&s->eng_lock);
			pthread_mutex_unlock(&s->grp_lock[r->g]);
			r->fin = MT_FIN_DONE;
		}
		ck_assert_int_eq(ftoe_rob_complete(&s->rob2, r->sn, r), 0);
		mt_release2(s);
		q->items++;
		pthread_mutex_lock(&q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* A run the protocol stage took, to the next post-processing thread. */
static void hand_on(struct mt_thread *t, struct mt_rx *const *rs, unsigned k)
{
	struct mt_post *q = &t->s->post[t->post_turn++ % MT_POST];

	pthread_mutex_lock(&q->mu);
	for (unsigned i = 0; i < k; i++)
		q->q[q->tail++ % MT_SLOTS] = (uint32_t)(rs[i] - t->s->rx);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static void proto_run(struct mt_thread *t, struct mt_rx *const *rs, struct ftoe_rx_item *items,
		      unsigned n)
{
	struct mt_sim *s = t->s;
	struct ftoe_engine *e = s->w->s[1].eng;
	unsigned i = 0, k;

	while (i < n) {
		bool ctl = false;

		pthread_mutex_lock(&s->grp_lock[t->g]);
		if (atomic_fetch_add(&s->in_proto, 1))
			atomic_fetch_add_explicit(&s->overlaps, 1, memory_order_relaxed);
		k = ftoe_engine_rx_proto(e, items + i, n - i);
		if (xs(&t->rng) % 4 == 0)
			sched_yield();	/* widen the window the other stages run in */
		atomic_fetch_sub(&s->in_proto, 1);
		pthread_mutex_unlock(&s->grp_lock[t->g]);
		if (!k) {
			rs[i]->it = items[i];
			rs[i]->g = t->g;
			if (s->no_reorder || !s->shared_lock) {
				/* (the faults: finished here, at once) */
				if (s->shared_lock)
					pthread_mutex_lock(&s->eng_lock);
				ftoe_engine_rx_divert(e, &rs[i]->it);
				if (s->shared_lock)
					pthread_mutex_unlock(&s->eng_lock);
				rs[i]->fin = MT_FIN_DONE;
			} else {
				rs[i]->fin = MT_FIN_DIVERT;
			}
			ck_assert_int_eq(ftoe_rob_complete(&s->rob2, rs[i]->sn, rs[i]), 0);
			mt_wait_finished(s, rs[i]->sn);
			i++;
			continue;
		}
		for (unsigned j = i; j < i + k; j++) {
			rs[j]->it = items[j];
			rs[j]->g = t->g;
			rs[j]->fin = MT_FIN_POST;
			ctl |= items[j].res & FTOE_RX_R_CTL;
		}
		if (!s->shared_lock) {
			/* the old fault: post-processing without the shared lock */
			ftoe_engine_rx_post(e, items + i, k);
			for (unsigned j = i; j < i + k; j++) {
				rs[j]->fin = MT_FIN_DONE;
				ck_assert_int_eq(ftoe_rob_complete(&s->rob2, rs[j]->sn, rs[j]), 0);
			}
			mt_release2(s);
		} else {
			hand_on(t, rs + i, k);
		}
		i += k;
		if (ctl) {
			atomic_fetch_add(&s->barriers, 1);
			mt_wait_finished(s, rs[i - 1]->sn);
		}
	}
}

/* This round's FIFO of the thread's group, in random batches. */
static void group_round(struct mt_thread *t)
{
	struct mt_sim *s = t->s;
	struct ftoe_rx_item items[16];
	struct mt_rx *rs[16];
	unsigned head = 0, len = s->gq_len[t->g];

	while (head < len) {
		unsigned n = 1 + (unsigned)(xs(&t->rng) % 16);

		if (n > len - head)
			n = len - head;
		for (unsigned i = 0; i < n; i++) {
			struct mt_rx *r = &s->rx[s->gq[t->g][head + i]];

			items[i] = r->it;
			rs[i] = r;
			if (r->flow) {
				if (r->arrival <= r->flow->last_proto)
					t->order_bad++;
				r->flow->last_proto = r->arrival;
			}
		}
		head += n;
		proto_run(t, rs, items, n);
		t->items += n;
	}
}

static void *group_main(void *arg)
{
	struct mt_thread *t = arg;
	struct mt_sim *s = t->s;
	unsigned seen = 0;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->round == seen && !s->stop)
			pthread_cond_wait(&s->go, &s->mu);
		if (s->stop)
			break;
		seen = s->round;
		pthread_mutex_unlock(&s->mu);
		group_round(t);
		pthread_mutex_lock(&s->mu);
		s->finished++;
		pthread_cond_signal(&s->done);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* A round: pre-processing and the reorder point here, then both group
 * threads at once; returns the items they took. */
static unsigned pump(struct lb_world *w)
{
	struct mt_sim *s = g_mt;
	unsigned n;

	(void)w;
	pre_all(s);
	n = s->gq_len[0] + s->gq_len[1];
	if (!n)
		return 0;
	pthread_mutex_lock(&s->mu);
	s->finished = 0;
	s->round++;
	pthread_cond_broadcast(&s->go);
	/* meanwhile, the engine's poll (timers, the flow scheduler) under
	 * every lock, as fgpipe.c's first protocol thread runs it beside the
	 * groups' stages */
	while (s->finished < MT_GROUPS || !fin_passed(s, s->rob.next - 1)) {
		pthread_mutex_unlock(&s->mu);
		for (unsigned g = 0; g < MT_GROUPS; g++)
			pthread_mutex_lock(&s->grp_lock[g]);
		pthread_mutex_lock(&s->eng_lock);
		ftoe_engine_poll(s->w->s[1].eng, 0);
		pthread_mutex_unlock(&s->eng_lock);
		for (unsigned g = MT_GROUPS; g-- > 0;)
			pthread_mutex_unlock(&s->grp_lock[g]);
		s->polls++;
		sched_yield();
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	s->gq_len[0] = s->gq_len[1] = 0;
	s->rounds++;
	return n;
}

/* ---- the run ---------------------------------------------------------------- */

/* Side B's frames on the wire: each flow's ACK numbers never go back
 * (the engine sends under the shared lock). */
static bool wire_tap(struct lb_side *side, uint8_t *f, uint16_t *len)
{
	struct mt_sim *s = g_mt;
	uint32_t key = fg_frame_key(f, *len, true);
	unsigned ihl;
	uint32_t ack;
	struct mt_flow *fl;

	(void)side;
	if (!key)
		return true;
	ihl = (f[14] & 15u) * 4;
	if (!(f[14 + ihl + 13] & 0x10))	/* ACK flag */
		return true;
	ack = ftoe_get_be32(f + 14 + ihl + 8);
	fl = flow_of(s, key);
	if (fl->wire_acked && seq_before(ack, fl->wire_ack))
		s->wire_bad++;
	fl->wire_ack = ack;
	fl->wire_acked = true;
	return true;
}

static void mt_start(struct mt_sim *s, struct lb_world *w, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	lb_init(w, seed, NULL, NULL);
	s->w = w;
	s->shared_lock = !getenv("FTOE_FG_MT_NO_SHARED_LOCK");
	s->no_reorder = getenv("FTOE_FG_MT_NO_REORDER") != NULL;
	ck_assert_int_eq(ftoe_rob_init(&s->rob, s->rob_slots, MT_SLOTS), 0);
	ck_assert_int_eq(ftoe_rob_init(&s->rob2, s->rob2_slots, MT_SLOTS), 0);
	pthread_mutex_init(&s->fin_mu, NULL);
	pthread_cond_init(&s->fin_cv, NULL);
	for (unsigned g = 0; g < MT_GROUPS; g++)
		pthread_mutex_init(&s->grp_lock[g], NULL);
	pthread_mutex_init(&s->eng_lock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->go, NULL);
	pthread_cond_init(&s->done, NULL);
	g_mt = s;
	w->rx_stage = rx_stage;
	w->pump = pump;
	w->s[1].tap = wire_tap;
	for (unsigned i = 0; i < MT_POST; i++) {
		struct mt_post *q = &s->post[i];

		q->s = s;
		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->cv, NULL);
		ck_assert_int_eq(pthread_create(&q->tid, NULL, post_main, q), 0);
	}
	for (unsigned g = 0; g < MT_GROUPS; g++) {
		s->th[g] = (struct mt_thread){ .s = s, .g = g, .rng = seed * 0x9e3779b97f4a7c15ull + g + 1 };
		ck_assert_int_eq(pthread_create(&s->th[g].tid, NULL, group_main, &s->th[g]), 0);
	}
}

static void mt_stop(struct mt_sim *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->go);
	pthread_mutex_unlock(&s->mu);
	for (unsigned g = 0; g < MT_GROUPS; g++)
		pthread_join(s->th[g].tid, NULL);
	for (unsigned i = 0; i < MT_POST; i++) {
		pthread_mutex_lock(&s->post[i].mu);
		s->post[i].stop = true;
		pthread_cond_signal(&s->post[i].cv);
		pthread_mutex_unlock(&s->post[i].mu);
		pthread_join(s->post[i].tid, NULL);
	}
	lb_fini(s->w);
}

static void run_seed(uint64_t seed, uint64_t len)
{
	static struct mt_sim sim;
	static struct fg_streams t;
	struct lb_world w;
	uint64_t bad = 0;

	mt_start(&sim, &w, seed);
	if (seed & 1)
		w.s[0].f = (struct lb_faults){ .drop = 1, .dup = 1, .reorder = 2 };
	fg_streams_open(&w, &t, seed, NCONN, 200, len);
	fg_streams_run(&w, &t);
	while (pump(&w))
		;
	ck_assert_uint_eq(ftoe_rob_in_flight(&sim.rob), 0);
	ck_assert_msg(fin_passed(&sim, sim.rob.next - 1), "seed %llu: reorder point 2 holds numbers",
		      (unsigned long long)seed);
	for (unsigned g = 0; g < MT_GROUPS; g++) {
		bad += sim.th[g].order_bad;
		ck_assert_msg(sim.th[g].items > 0, "seed %llu: group %u got no segment",
			      (unsigned long long)seed, g);
	}
	ck_assert_msg(bad == 0, "seed %llu: %llu segments reached the protocol stage out of order",
		      (unsigned long long)seed, (unsigned long long)bad);
	ck_assert_msg(sim.fin_bad == 0, "seed %llu: post-processing finished %llu segments out of "
		      "their flow's order", (unsigned long long)seed, (unsigned long long)sim.fin_bad);
	ck_assert_msg(sim.wire_bad == 0, "seed %llu: %llu frames on the wire behind their flow's "
		      "ACK number", (unsigned long long)seed, (unsigned long long)sim.wire_bad);
	for (unsigned i = 0; i < MT_POST; i++)
		ck_assert_msg(atomic_load(&sim.post[i].items) > 0, "seed %llu: post-processing thread %u placed "
			      "nothing", (unsigned long long)seed, i);
	printf("fg-mt seed %llu: %llu rounds, %llu polls beside them, %llu + %llu segments, "
	       "%llu protocol stages began while the other group's ran; %llu + %llu placed, "
	       "%llu placements began during a protocol stage, %llu barriers\n",
	       (unsigned long long)seed,
	       (unsigned long long)sim.rounds, (unsigned long long)sim.polls,
	       (unsigned long long)sim.th[0].items,
	       (unsigned long long)sim.th[1].items, (unsigned long long)atomic_load(&sim.overlaps),
	       (unsigned long long)atomic_load(&sim.post[0].items),
	       (unsigned long long)atomic_load(&sim.post[1].items),
	       (unsigned long long)atomic_load(&sim.place_overlaps),
	       (unsigned long long)atomic_load(&sim.barriers));
	mt_stop(&sim);
}

/* Bulk both ways on six connections over the two groups, clean and lossy
 * links, a few seeds (each a real-thread schedule, not a replayable one). */
START_TEST(fg_mt_two_groups_concurrent)
{
	const char *env = getenv("FTOE_FG_MT_SEEDS");
	unsigned seeds = env ? (unsigned)atoi(env) : 4;

	for (uint64_t seed = 1; seed <= seeds; seed++)
		run_seed(seed, 256 << 10);
}
END_TEST

static Suite *flow_groups_mt_suite(void)
{
	Suite *s = suite_create("core_flow_groups_mt");
	TCase *tc = tcase_create("concurrent");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, fg_mt_two_groups_concurrent);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(flow_groups_mt_suite)
