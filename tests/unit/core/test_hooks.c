/* test_hooks.c - hook chains: priority order, chain-call actions, per-hook verdict rules, concurrent swaps. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/hooks.h"
#include "tests/unit/test.h"

#define MAGIC_LIVE 0x11feu
#define MAGIC_DEAD 0xdeadu

/* A fake program: returns a fixed verdict and logs its run. */
struct fake_prog {
	unsigned int magic;
	uint32_t verdict;
	char tag;
	atomic_ulong runs;
};

static __thread char run_log[64];
static __thread unsigned int run_log_n;
static __thread int begin_calls, end_calls, last_commit;
static int begin_fail;

static int fake_begin(void *ctx, enum flextoe_hook hook, struct ftoe_hook_frame *f)
{
	(void)ctx;
	ck_assert_int_eq(f->md.hook, hook);
	begin_calls++;
	return begin_fail ? -EMSGSIZE : 0;
}

static uint32_t fake_run(void *ctx, void *handle)
{
	struct fake_prog *p = handle;

	(void)ctx;
	/* A freed program would be caught here by ASan (use after free) or
	 * by the magic check. */
	ck_assert_uint_eq(p->magic, MAGIC_LIVE);
	atomic_fetch_add_explicit(&p->runs, 1, memory_order_relaxed);
	if (run_log_n < sizeof(run_log) - 1)
		run_log[run_log_n++] = p->tag;
	return p->verdict;
}

static void fake_end(void *ctx, struct ftoe_hook_frame *f, bool commit)
{
	(void)ctx;
	(void)f;
	end_calls++;
	last_commit = commit;
}

static const struct ftoe_hook_ops fake_ops = {
	.begin = fake_begin, .run = fake_run, .end = fake_end,
};

static struct ftoe_hooks *new_hooks(void)
{
	struct ftoe_hooks *h;

	ck_assert_int_eq(ftoe_hooks_create(&fake_ops, &h), 0);
	return h;
}

static struct fake_prog *fake(char tag, uint32_t verdict)
{
	struct fake_prog *p = calloc(1, sizeof(*p));

	ck_assert_ptr_nonnull(p);
	p->magic = MAGIC_LIVE;
	p->tag = tag;
	p->verdict = verdict;
	return p;
}

static void attach(struct ftoe_hooks *h, enum flextoe_hook hook, uint32_t id, int32_t prio,
		   uint32_t chain, struct fake_prog *p)
{
	struct ftoe_hook_prog hp = { .handle = p, .id = id, .priority = prio,
				     .chain_call_actions = chain };

	ck_assert_int_eq(ftoe_hooks_attach(h, hook, &hp), 0);
}

static uint32_t run_once(struct ftoe_hooks *h, enum flextoe_hook hook)
{
	uint8_t frame[64] = { 0 };
	struct ftoe_hook_frame f = { .data = frame, .len = sizeof(frame) };

	run_log_n = 0;
	memset(run_log, 0, sizeof(run_log));
	return ftoe_hooks_run(h, hook, &f);
}

static int redirect_calls, redirect_ret;
static uint16_t redirect_as, redirect_copies;

/* The op finds TAKEN and 0 copies, and answers with redirect_as. */
static int fake_redirect(void *ctx, struct ftoe_hook_frame *f)
{
	(void)ctx;
	ck_assert_uint_eq(f->redirect_as, FTOE_REDIRECT_TAKEN);
	ck_assert_uint_eq(f->redirect_copies, 0);
	redirect_calls++;
	f->redirect_as = redirect_as;
	f->redirect_copies = redirect_copies;
	return redirect_ret;
}

/* A chain that ends in XDP_REDIRECT at rx-pre hands the frame to the
 * backend's redirect op (an xskmap's socket) before the end op, and its
 * answer reaches the caller; without the op every redirect is dropped
 * with -EOPNOTSUPP.  Other verdicts never call it. */
START_TEST(test_redirect_op)
{
	static const struct ftoe_hook_ops ops = {
		.begin = fake_begin, .run = fake_run, .redirect = fake_redirect, .end = fake_end,
	};
	struct ftoe_hooks *h, *plain = new_hooks();
	struct fake_prog *r = fake('r', FTOE_XDP_REDIRECT), *r2 = fake('s', FTOE_XDP_REDIRECT);
	struct fake_prog *p = fake('p', FTOE_XDP_PASS);
	uint8_t frame[64] = { 0 };
	struct ftoe_hook_frame f = { .data = frame, .len = sizeof(frame), .redirect_err = 99 };

	ck_assert_int_eq(ftoe_hooks_create(&ops, &h), 0);
	attach(h, FLEXTOE_HOOK_RX_PRE, 1, 10, FTOE_HOOK_CHAIN_DEFAULT, r);
	redirect_calls = 0;
	redirect_ret = 0;
	redirect_as = FTOE_REDIRECT_TAKEN;
	redirect_copies = 0;
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_RX_PRE, &f), FTOE_XDP_REDIRECT);
	ck_assert_int_eq(redirect_calls, 1);
	ck_assert_int_eq(f.redirect_err, 0);
	ck_assert_int_eq(last_commit, 0);	/* taken: the caller only frees it */
	redirect_ret = -ENOBUFS;	/* a full ring */
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_RX_PRE, &f), FTOE_XDP_REDIRECT);
	ck_assert_int_eq(f.redirect_err, -ENOBUFS);
	ck_assert_int_eq(redirect_calls, 2);
	/* Left to the caller (a devmap: send copies; a cpumap: go on): the
	 * programs' result is handed over as for TX and PASS, with the op's
	 * answer; fields left over from a run before are reset. */
	redirect_ret = 0;
	redirect_as = FTOE_REDIRECT_XMIT;
	redirect_copies = 3;
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_RX_PRE, &f), FTOE_XDP_REDIRECT);
	ck_assert_int_eq(last_commit, 1);
	ck_assert_uint_eq(f.redirect_as, FTOE_REDIRECT_XMIT);
	ck_assert_uint_eq(f.redirect_copies, 3);
	redirect_as = FTOE_REDIRECT_STACK;
	redirect_copies = 0;
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_RX_PRE, &f), FTOE_XDP_REDIRECT);
	ck_assert_int_eq(last_commit, 1);
	ck_assert_uint_eq(f.redirect_as, FTOE_REDIRECT_STACK);
	/* ... but not when the op refused it, whatever it set */
	redirect_ret = -EOPNOTSUPP;
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_RX_PRE, &f), FTOE_XDP_REDIRECT);
	ck_assert_int_eq(last_commit, 0);
	ck_assert_int_eq(redirect_calls, 5);
	redirect_as = FTOE_REDIRECT_TAKEN;
	/* tx-post does not honour REDIRECT: aborted, the op not called */
	attach(h, FLEXTOE_HOOK_TX_POST, 2, 10, FTOE_HOOK_CHAIN_DEFAULT, r2);
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_TX_POST, &f), FTOE_XDP_ABORTED);
	ck_assert_int_eq(redirect_calls, 5);
	attach(h, FLEXTOE_HOOK_RX_POST, 3, 10, FTOE_HOOK_CHAIN_DEFAULT, p);
	ck_assert_uint_eq(ftoe_hooks_run(h, FLEXTOE_HOOK_RX_POST, &f), FTOE_XDP_PASS);
	ck_assert_int_eq(redirect_calls, 5);
	ftoe_hooks_detach_all(h, FLEXTOE_HOOK_NONE, NULL, 0);
	ftoe_hooks_destroy(h);
	/* without the op */
	attach(plain, FLEXTOE_HOOK_RX_PRE, 1, 10, FTOE_HOOK_CHAIN_DEFAULT, r);
	ck_assert_uint_eq(ftoe_hooks_run(plain, FLEXTOE_HOOK_RX_PRE, &f), FTOE_XDP_REDIRECT);
	ck_assert_int_eq(f.redirect_err, -EOPNOTSUPP);
	ftoe_hooks_detach_all(plain, FLEXTOE_HOOK_NONE, NULL, 0);
	ftoe_hooks_destroy(plain);
	free(r);
	free(r2);
	free(p);
}
END_TEST

START_TEST(test_names)
{
	ck_assert_int_eq(ftoe_hook_by_name("rx-pre"), FLEXTOE_HOOK_RX_PRE);
	ck_assert_int_eq(ftoe_hook_by_name("rx-post"), FLEXTOE_HOOK_RX_POST);
	ck_assert_int_eq(ftoe_hook_by_name("tx-post"), FLEXTOE_HOOK_TX_POST);
	ck_assert_int_eq(ftoe_hook_by_name("tx-pre"), FLEXTOE_HOOK_NONE);
	ck_assert_int_eq(ftoe_hook_by_name(NULL), FLEXTOE_HOOK_NONE);
	ck_assert_str_eq(ftoe_hook_name(FLEXTOE_HOOK_TX_POST), "tx-post");
	ck_assert_ptr_null(ftoe_hook_name(FLEXTOE_HOOK_NONE));
	ck_assert_ptr_null(ftoe_hook_name(FLEXTOE_HOOK_MAX));
}
END_TEST

START_TEST(test_empty_hook_passes_uncounted)
{
	struct ftoe_hooks *h = new_hooks();
	uint64_t cnt[FTOE_HOOK_NR_COUNTERS];

	begin_calls = 0;
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_PASS);
	ck_assert_int_eq(begin_calls, 0);
	ck_assert(!ftoe_hooks_active(h, FLEXTOE_HOOK_RX_PRE));
	ftoe_hooks_counters(h, FLEXTOE_HOOK_RX_PRE, cnt);
	for (int i = 0; i < FTOE_HOOK_NR_COUNTERS; i++)
		ck_assert_uint_eq(cnt[i], 0);
	/* Out-of-range hooks do nothing. */
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_NONE), FTOE_XDP_PASS);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_MAX), FTOE_XDP_PASS);
	ftoe_hooks_destroy(h);
}
END_TEST

START_TEST(test_priority_order)
{
	struct ftoe_hooks *h = new_hooks();
	struct fake_prog *a = fake('a', FTOE_XDP_PASS), *b = fake('b', FTOE_XDP_PASS),
			 *c = fake('c', FTOE_XDP_PASS), *d = fake('d', FTOE_XDP_PASS);
	struct ftoe_hook_prog list[8];

	attach(h, FLEXTOE_HOOK_RX_PRE, 1, 50, FTOE_HOOK_CHAIN_DEFAULT, a);
	attach(h, FLEXTOE_HOOK_RX_PRE, 2, 10, FTOE_HOOK_CHAIN_DEFAULT, b);
	attach(h, FLEXTOE_HOOK_RX_PRE, 3, 90, FTOE_HOOK_CHAIN_DEFAULT, c);
	/* Equal priority: after the ones already there. */
	attach(h, FLEXTOE_HOOK_RX_PRE, 4, 50, FTOE_HOOK_CHAIN_DEFAULT, d);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_PASS);
	ck_assert_str_eq(run_log, "badc");
	ck_assert_int_eq(ftoe_hooks_list(h, FLEXTOE_HOOK_RX_PRE, list, 8), 4);
	ck_assert_uint_eq(list[0].id, 2);
	ck_assert_uint_eq(list[3].id, 3);
	/* Other hooks are independent. */
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_TX_POST), FTOE_XDP_PASS);
	ck_assert_str_eq(run_log, "");
	ck_assert_int_eq(ftoe_hooks_find(h, 4, &list[0]), FLEXTOE_HOOK_RX_PRE);
	ck_assert_ptr_eq(list[0].handle, d);
	ck_assert_int_eq(ftoe_hooks_find(h, 99, NULL), FLEXTOE_HOOK_NONE);
	ck_assert_int_eq(ftoe_hooks_detach_all(h, FLEXTOE_HOOK_NONE, list, 8), 4);
	ftoe_hooks_destroy(h);
	free(a); free(b); free(c); free(d);
}
END_TEST

START_TEST(test_chain_call)
{
	struct ftoe_hooks *h = new_hooks();
	struct fake_prog *a = fake('a', FTOE_XDP_PASS), *b = fake('b', FTOE_XDP_DROP),
			 *c = fake('c', FTOE_XDP_TX);
	uint64_t cnt[FTOE_HOOK_NR_COUNTERS];
	void *handle;

	/* a PASS (chains on by default) -> b DROP (not in its actions) ends. */
	attach(h, FLEXTOE_HOOK_RX_PRE, 1, 1, FTOE_HOOK_CHAIN_DEFAULT, a);
	attach(h, FLEXTOE_HOOK_RX_PRE, 2, 2, FTOE_HOOK_CHAIN_DEFAULT, b);
	attach(h, FLEXTOE_HOOK_RX_PRE, 3, 3, FTOE_HOOK_CHAIN_DEFAULT, c);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_DROP);
	ck_assert_str_eq(run_log, "ab");
	/* b chains on DROP: c decides (TX). */
	ck_assert_int_eq(ftoe_hooks_detach(h, 2, &handle), 0);
	ck_assert_ptr_eq(handle, b);
	attach(h, FLEXTOE_HOOK_RX_PRE, 2, 2, (1u << FTOE_XDP_DROP), b);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_TX);
	ck_assert_str_eq(run_log, "abc");
	/* a no longer chains on PASS: its PASS is final. */
	ck_assert_int_eq(ftoe_hooks_detach(h, 1, NULL), 0);
	attach(h, FLEXTOE_HOOK_RX_PRE, 1, 1, 0, a);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_PASS);
	ck_assert_str_eq(run_log, "a");
	/* Every program chains on: the chain's verdict is XDP_PASS, even if
	 * the last one said TX (libxdp's dispatcher). */
	ck_assert_int_eq(ftoe_hooks_detach(h, 1, NULL), 0);
	ck_assert_int_eq(ftoe_hooks_detach(h, 3, NULL), 0);
	attach(h, FLEXTOE_HOOK_RX_PRE, 3, 3, (1u << FTOE_XDP_TX), c);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_PASS);
	ck_assert_str_eq(run_log, "bc");
	ftoe_hooks_counters(h, FLEXTOE_HOOK_RX_PRE, cnt);
	ck_assert_uint_eq(cnt[FTOE_XDP_DROP], 1);
	ck_assert_uint_eq(cnt[FTOE_XDP_TX], 1);
	ck_assert_uint_eq(cnt[FTOE_XDP_PASS], 2);
	ck_assert_uint_eq(cnt[FTOE_HOOK_CNT_INVALID], 0);
	ck_assert_int_eq(ftoe_hooks_detach(h, 1, NULL), -ENOENT);
	ftoe_hooks_detach_all(h, FLEXTOE_HOOK_NONE, NULL, 0);
	ftoe_hooks_destroy(h);
	free(a); free(b); free(c);
}
END_TEST

/* One program returning act at hook: the caller's verdict, commit, counters. */
static void check_rule(enum flextoe_hook hook, uint32_t act, uint32_t want, int want_commit,
		       int counter, bool want_invalid)
{
	struct ftoe_hooks *h = new_hooks();
	struct fake_prog *p = fake('p', act);
	uint64_t cnt[FTOE_HOOK_NR_COUNTERS];

	attach(h, hook, 7, 50, FTOE_HOOK_CHAIN_DEFAULT, p);
	end_calls = 0;
	ck_assert_uint_eq(run_once(h, hook), want);
	ck_assert_int_eq(end_calls, 1);
	ck_assert_int_eq(last_commit, want_commit);
	ftoe_hooks_counters(h, hook, cnt);
	for (int i = 0; i < FTOE_HOOK_NR_COUNTERS; i++) {
		uint64_t w = (i == counter) + (i == FTOE_HOOK_CNT_INVALID && want_invalid &&
					       counter != FTOE_HOOK_CNT_INVALID);

		ck_assert_msg(cnt[i] == w, "hook %d act %u: counter %d is %lu, want %lu",
			      hook, act, i, cnt[i], w);
	}
	ftoe_hooks_detach_all(h, FLEXTOE_HOOK_NONE, NULL, 0);
	ftoe_hooks_destroy(h);
	free(p);
}

START_TEST(test_rules_rx_pre)
{
	/* Every XDP action is honoured; only PASS and TX keep the frame. */
	check_rule(FLEXTOE_HOOK_RX_PRE, FTOE_XDP_PASS, FTOE_XDP_PASS, 1, FTOE_XDP_PASS, false);
	check_rule(FLEXTOE_HOOK_RX_PRE, FTOE_XDP_DROP, FTOE_XDP_DROP, 0, FTOE_XDP_DROP, false);
	check_rule(FLEXTOE_HOOK_RX_PRE, FTOE_XDP_TX, FTOE_XDP_TX, 1, FTOE_XDP_TX, false);
	check_rule(FLEXTOE_HOOK_RX_PRE, FTOE_XDP_REDIRECT, FTOE_XDP_REDIRECT, 0,
		   FTOE_XDP_REDIRECT, false);
	check_rule(FLEXTOE_HOOK_RX_PRE, FTOE_XDP_ABORTED, FTOE_XDP_ABORTED, 0,
		   FTOE_XDP_ABORTED, false);
	/* An unknown action is invalid and aborts. */
	check_rule(FLEXTOE_HOOK_RX_PRE, 77, FTOE_XDP_ABORTED, 0, FTOE_HOOK_CNT_INVALID, true);
}
END_TEST

START_TEST(test_rules_rx_post)
{
	/* Observe only: always PASS, never commits, verdicts counted. */
	check_rule(FLEXTOE_HOOK_RX_POST, FTOE_XDP_PASS, FTOE_XDP_PASS, 0, FTOE_XDP_PASS, false);
	check_rule(FLEXTOE_HOOK_RX_POST, FTOE_XDP_DROP, FTOE_XDP_PASS, 0, FTOE_XDP_DROP, false);
	check_rule(FLEXTOE_HOOK_RX_POST, FTOE_XDP_ABORTED, FTOE_XDP_PASS, 0, FTOE_XDP_ABORTED,
		   false);
	check_rule(FLEXTOE_HOOK_RX_POST, FTOE_XDP_TX, FTOE_XDP_PASS, 0, FTOE_XDP_TX, false);
	check_rule(FLEXTOE_HOOK_RX_POST, 9, FTOE_XDP_PASS, 0, FTOE_HOOK_CNT_INVALID, true);
}
END_TEST

START_TEST(test_rules_tx_post)
{
	check_rule(FLEXTOE_HOOK_TX_POST, FTOE_XDP_PASS, FTOE_XDP_PASS, 1, FTOE_XDP_PASS, false);
	check_rule(FLEXTOE_HOOK_TX_POST, FTOE_XDP_DROP, FTOE_XDP_DROP, 0, FTOE_XDP_DROP, false);
	check_rule(FLEXTOE_HOOK_TX_POST, FTOE_XDP_ABORTED, FTOE_XDP_ABORTED, 0,
		   FTOE_XDP_ABORTED, false);
	/* TX and REDIRECT are not honoured at tx-post: counted, invalid, aborted. */
	check_rule(FLEXTOE_HOOK_TX_POST, FTOE_XDP_TX, FTOE_XDP_ABORTED, 0, FTOE_XDP_TX, true);
	check_rule(FLEXTOE_HOOK_TX_POST, FTOE_XDP_REDIRECT, FTOE_XDP_ABORTED, 0,
		   FTOE_XDP_REDIRECT, true);
}
END_TEST

START_TEST(test_begin_failure_aborts)
{
	struct ftoe_hooks *h = new_hooks();
	struct fake_prog *p = fake('p', FTOE_XDP_PASS);
	uint64_t cnt[FTOE_HOOK_NR_COUNTERS];

	attach(h, FLEXTOE_HOOK_RX_PRE, 1, 50, FTOE_HOOK_CHAIN_DEFAULT, p);
	begin_fail = 1;
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_ABORTED);
	begin_fail = 0;
	ck_assert_str_eq(run_log, "");
	ftoe_hooks_counters(h, FLEXTOE_HOOK_RX_PRE, cnt);
	ck_assert_uint_eq(cnt[FTOE_XDP_ABORTED], 1);
	ftoe_hooks_detach_all(h, FLEXTOE_HOOK_NONE, NULL, 0);
	ftoe_hooks_destroy(h);
	free(p);
}
END_TEST

START_TEST(test_control_errors)
{
	struct ftoe_hooks *h = new_hooks();
	struct fake_prog *p = fake('p', FTOE_XDP_PASS), *q = fake('q', FTOE_XDP_DROP);
	struct ftoe_hook_prog hp = { .handle = p, .id = 1, .priority = 50,
				     .chain_call_actions = FTOE_HOOK_CHAIN_DEFAULT };
	void *old;

	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_NONE, &hp), -EINVAL);
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_MAX, &hp), -EINVAL);
	hp.id = 0;
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_RX_PRE, &hp), -EINVAL);
	hp.id = 1;
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_RX_PRE, &hp), 0);
	/* Ids are unique over all hooks. */
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_TX_POST, &hp), -EEXIST);
	for (uint32_t i = 2; i <= FTOE_HOOK_MAX_PROGS; i++) {
		hp.id = i;
		ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_RX_PRE, &hp), 0);
	}
	hp.id = 1000;
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_RX_PRE, &hp), -ENOSPC);
	/* Replace keeps the chain length and swaps the handle. */
	hp.handle = q;
	hp.id = 500;
	ck_assert_int_eq(ftoe_hooks_replace(h, 1, &hp, &old), 0);
	ck_assert_ptr_eq(old, p);
	ck_assert_int_eq(ftoe_hooks_replace(h, 1, &hp, &old), -EEXIST);	/* 500 is in use */
	hp.id = 501;
	ck_assert_int_eq(ftoe_hooks_replace(h, 1, &hp, &old), -ENOENT);
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_DROP);
	ck_assert_int_eq(ftoe_hooks_detach_all(h, FLEXTOE_HOOK_RX_PRE, NULL, 0), FTOE_HOOK_MAX_PROGS);
	ck_assert(!ftoe_hooks_active(h, FLEXTOE_HOOK_RX_PRE));
	ck_assert_uint_eq(run_once(h, FLEXTOE_HOOK_RX_PRE), FTOE_XDP_PASS);
	ftoe_hooks_destroy(h);
	free(p);
	free(q);
}
END_TEST

/* ---- concurrent swaps ---------------------------------------------------- */

struct mt {
	struct ftoe_hooks *h;
	atomic_bool stop;
	atomic_ulong runs, bad;
	atomic_ulong progress;	/* batches done so far, published live */
	bool registered;
};

/* Wait (sleeping, up to 10 s) until a reader has run a batch, so the swaps
 * below really race with it even when the machine is loaded. */
static void wait_started(struct mt *m)
{
	for (int i = 0; i < 10000 && !atomic_load(&m->progress); i++)
		usleep(1000);
	ck_assert_uint_gt(atomic_load(&m->progress), 0);
}

/* A reader: runs rx-pre (always exactly one DROP program, swapped under
 * it) and tx-post (PASS programs coming and going) in batches. */
static void *mt_reader(void *arg)
{
	struct mt *m = arg;
	unsigned long n = 0;

	if (m->registered)
		ck_assert_int_eq(ftoe_hooks_thread_register(m->h), 0);
	while (!atomic_load(&m->stop)) {
		for (int i = 0; i < 16; i++) {
			/* Never neither the old nor the new program. */
			if (run_once(m->h, FLEXTOE_HOOK_RX_PRE) != FTOE_XDP_DROP)
				atomic_fetch_add(&m->bad, 1);
			if (run_once(m->h, FLEXTOE_HOOK_TX_POST) != FTOE_XDP_PASS)
				atomic_fetch_add(&m->bad, 1);
			n++;
		}
		ftoe_hooks_quiescent(m->h);
		atomic_fetch_add(&m->progress, 1);
		if (m->registered && (n & 1023) == 0) {
			ftoe_hooks_thread_offline(m->h);
			ftoe_hooks_thread_online(m->h);
		}
	}
	if (m->registered)
		ftoe_hooks_thread_unregister(m->h);
	atomic_fetch_add(&m->runs, n);
	return NULL;
}

static void retire(struct fake_prog *p)
{
	/* After detach/replace returned, no reader may touch p: poison,
	 * then free, so a late reader trips the magic check or ASan. */
	p->magic = MAGIC_DEAD;
	free(p);
}

START_TEST(test_concurrent_swap)
{
	struct mt m = { .registered = true };
	pthread_t rd[2];
	struct fake_prog *cur = fake('x', FTOE_XDP_DROP);
	uint32_t id = 1, next_id = 2;
	uint64_t cnt[FTOE_HOOK_NR_COUNTERS];

	m.h = new_hooks();
	attach(m.h, FLEXTOE_HOOK_RX_PRE, id, 50, FTOE_HOOK_CHAIN_DEFAULT, cur);
	/* One registered reader (a worker) ... */
	ck_assert_int_eq(pthread_create(&rd[0], NULL, mt_reader, &m), 0);
	/* ... and one that never registers (the ad-hoc path). */
	{
		static struct mt adhoc;

		adhoc.h = m.h;
		adhoc.registered = false;
		atomic_store(&adhoc.stop, false);
		ck_assert_int_eq(pthread_create(&rd[1], NULL, mt_reader, &adhoc), 0);
		wait_started(&m);
		wait_started(&adhoc);
		for (int round = 0; round < 200; round++) {
			struct fake_prog *nw = fake('y', FTOE_XDP_DROP), *tp = fake('t', FTOE_XDP_PASS);
			struct ftoe_hook_prog hp = { .handle = nw, .id = next_id, .priority = 50,
						     .chain_call_actions = FTOE_HOOK_CHAIN_DEFAULT };
			void *old = NULL, *gone = NULL;

			ck_assert_int_eq(ftoe_hooks_replace(m.h, id, &hp, &old), 0);
			ck_assert_ptr_eq(old, cur);
			retire(cur);
			cur = nw;
			id = next_id++;
			attach(m.h, FLEXTOE_HOOK_TX_POST, 100000 + (uint32_t)round, round % 7,
			       FTOE_HOOK_CHAIN_DEFAULT, tp);
			ck_assert_int_eq(ftoe_hooks_detach(m.h, 100000 + (uint32_t)round, &gone), 0);
			ck_assert_ptr_eq(gone, tp);
			retire(tp);
		}
		atomic_store(&m.stop, true);
		atomic_store(&adhoc.stop, true);
		for (int i = 0; i < 2; i++)
			pthread_join(rd[i], NULL);
		ck_assert_uint_eq(atomic_load(&m.bad) + atomic_load(&adhoc.bad), 0);
		ck_assert_uint_gt(atomic_load(&m.runs), 0);
		ck_assert_uint_gt(atomic_load(&adhoc.runs), 0);
		/* Every rx-pre run was counted as a DROP (readers that left
		 * fold their counters in). */
		ftoe_hooks_counters(m.h, FLEXTOE_HOOK_RX_PRE, cnt);
		ck_assert_uint_eq(cnt[FTOE_XDP_DROP], atomic_load(&m.runs) + atomic_load(&adhoc.runs));
	}
	ck_assert_int_eq(ftoe_hooks_detach_all(m.h, FLEXTOE_HOOK_NONE, NULL, 0), 1);
	retire(cur);
	ftoe_hooks_destroy(m.h);
}
END_TEST

static Suite *hooks_suite(void)
{
	Suite *s = suite_create("core_hooks");
	TCase *tc = tcase_create("hooks");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_redirect_op);
	tcase_add_test(tc, test_empty_hook_passes_uncounted);
	tcase_add_test(tc, test_priority_order);
	tcase_add_test(tc, test_chain_call);
	tcase_add_test(tc, test_rules_rx_pre);
	tcase_add_test(tc, test_rules_rx_post);
	tcase_add_test(tc, test_rules_tx_post);
	tcase_add_test(tc, test_begin_failure_aborts);
	tcase_add_test(tc, test_control_errors);
	tcase_add_test(tc, test_concurrent_swap);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(hooks_suite)
