/* test_flow_groups_mt.c - two flow groups' protocol stages on two threads at once, under the locks core/x86/fgpipe.c takes: byte-exact streams and per-flow order (built with TSan too: make tsan-fg). */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/pipeline.h"
#include "core/reorder.h"
#include "tests/unit/core/fg_streams.h"
#include "tests/unit/test.h"


/*
 * Side B's engine is fed as fgpipe.c feeds it, with real threads: the
 * link's thread is ingress (the sequencer stamps each frame, pre-processing
 * finishes the frames in a random order, the reorder point releases them
 * in stamp order into their group's FIFO); then, in each round, two group
 * threads take their FIFOs at once in random batch sizes, each run's
 * protocol stage under its group's lock (ftoe_engine_rx_proto) and its
 * post-processing or control-plane item under the shared lock
 * (ftoe_engine_rx_post, _divert), as engine.h "Flow groups" prescribes.
 * During a round the link's thread polls side B's engine (timers, the
 * flow scheduler) under every lock, as fgpipe.c's first protocol thread
 * does; everything else (the applications, side A, the link) runs on it
 * between rounds, when the group threads wait.
 *
 * Checked: every stream byte-exact, each flow's segments reach the
 * protocol stage in arrival order, both threads worked, nothing is left
 * in flight.  Under ThreadSanitizer (build/tsan/tests/fg-mt) any data race
 * between the two groups' stages fails the run; FTOE_FG_MT_NO_SHARED_LOCK=1
 * leaves the shared lock out on purpose, which it must catch.
 */

#define MT_GROUPS 2
#define MT_SLOTS  1024
#define MT_FLOWS  64
#define NCONN     6

struct mt_flow {
	uint64_t arrived;	/* ingress thread */
	uint64_t last_proto;	/* the flow's group thread */
};

struct mt_rx {
	struct ftoe_rx_item it;
	uint8_t frame[1600];
	uint16_t len;
	struct mt_flow *flow;	/* NULL: not TCP */
	uint64_t arrival;
};

struct mt_sim;

struct mt_thread {
	struct mt_sim *s;
	unsigned g;
	pthread_t tid;
	uint64_t rng;
	uint64_t items, order_bad;
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
		if (ftoe_rx_item_malformed(&r->it))
			ck_assert_int_eq(ftoe_rob_retire(&s->rob, sn), 0);
		else
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
	if (fg_frame_key(r->frame, len, false)) {
		r->flow = flow_of(s, fg_frame_key(r->frame, len, false));
		r->arrival = ++r->flow->arrived;
	}
	s->pre[s->npre++] = sn;
}

/* ---- the group threads --------------------------------------------------- */

static void proto_run(struct mt_thread *t, struct ftoe_rx_item *items, unsigned n)
{
	struct mt_sim *s = t->s;
	struct ftoe_engine *e = s->w->s[1].eng;
	unsigned i = 0, k;

	while (i < n) {
		pthread_mutex_lock(&s->grp_lock[t->g]);
		if (atomic_fetch_add(&s->in_proto, 1))
			atomic_fetch_add_explicit(&s->overlaps, 1, memory_order_relaxed);
		k = ftoe_engine_rx_proto(e, items + i, n - i);
		if (xs(&t->rng) % 4 == 0)
			sched_yield();	/* widen the window the other stage runs in */
		atomic_fetch_sub(&s->in_proto, 1);
		pthread_mutex_unlock(&s->grp_lock[t->g]);
		if (s->shared_lock)
			pthread_mutex_lock(&s->eng_lock);
		if (k)
			ftoe_engine_rx_post(e, items + i, k);
		else
			ftoe_engine_rx_divert(e, &items[i]);
		if (s->shared_lock)
			pthread_mutex_unlock(&s->eng_lock);
		i += k ? k : 1;
	}
}

/* This round's FIFO of the thread's group, in random batches. */
static void group_round(struct mt_thread *t)
{
	struct mt_sim *s = t->s;
	struct ftoe_rx_item items[16];
	unsigned head = 0, len = s->gq_len[t->g];

	while (head < len) {
		unsigned n = 1 + (unsigned)(xs(&t->rng) % 16);

		if (n > len - head)
			n = len - head;
		for (unsigned i = 0; i < n; i++) {
			struct mt_rx *r = &s->rx[s->gq[t->g][head + i]];

			items[i] = r->it;
			if (r->flow) {
				if (r->arrival <= r->flow->last_proto)
					t->order_bad++;
				r->flow->last_proto = r->arrival;
			}
		}
		head += n;
		proto_run(t, items, n);
		pthread_mutex_lock(&s->eng_lock);
		ftoe_engine_rx_end(s->w->s[1].eng);
		pthread_mutex_unlock(&s->eng_lock);
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
	while (s->finished < MT_GROUPS) {
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

static void mt_start(struct mt_sim *s, struct lb_world *w, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	lb_init(w, seed, NULL, NULL);
	s->w = w;
	s->shared_lock = !getenv("FTOE_FG_MT_NO_SHARED_LOCK");
	ck_assert_int_eq(ftoe_rob_init(&s->rob, s->rob_slots, MT_SLOTS), 0);
	for (unsigned g = 0; g < MT_GROUPS; g++)
		pthread_mutex_init(&s->grp_lock[g], NULL);
	pthread_mutex_init(&s->eng_lock, NULL);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->go, NULL);
	pthread_cond_init(&s->done, NULL);
	g_mt = s;
	w->rx_stage = rx_stage;
	w->pump = pump;
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
	for (unsigned g = 0; g < MT_GROUPS; g++) {
		bad += sim.th[g].order_bad;
		ck_assert_msg(sim.th[g].items > 0, "seed %llu: group %u got no segment",
			      (unsigned long long)seed, g);
	}
	ck_assert_uint_eq(bad, 0);
	printf("fg-mt seed %llu: %llu rounds, %llu polls beside them, %llu + %llu segments, "
	       "%llu protocol stages began while the other group's ran\n", (unsigned long long)seed,
	       (unsigned long long)sim.rounds, (unsigned long long)sim.polls,
	       (unsigned long long)sim.th[0].items,
	       (unsigned long long)sim.th[1].items, (unsigned long long)atomic_load(&sim.overlaps));
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
