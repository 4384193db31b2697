/* fw_compile.c - compiles a rule set into the firewall program's merged tuple-space maps, in full or as the difference to the set a generation holds. */
#include "loader/fw/fw_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The scheme (docs/firewall.md, "Matching scheme"), after TupleMerge
 * (Daly, Liu and Torng, IEEE/ACM ToN 2019):
 *
 * A rule's *signature* is what it pins down exactly: family and protocol
 * (yes/no), its two address prefix lengths and, per port, the length of
 * the common prefix of LO and HI (16 for one port, 0 for 0-65535 or
 * 1024-65535).  A *table* has a signature too, and may hold any rule whose
 * signature is at least as long in every field: the table hashes the
 * rule's fields under the table's mask, and since all the rule's packets
 * agree on those bits, they all land in the rule's bucket.  The bucket
 * then lists the rule as a candidate; the program checks candidates in
 * full against fw_defs.
 *
 * Rules are placed in file order, each into the first table (in creation
 * order) that can hold it and whose bucket for it has room
 * (FW_BUCKET_RULES).  When none can, a new table is made with the rule's
 * signature relaxed (sig_relax: addresses only, lengths rounded down), so
 * that later rules of nearby prefix lengths fit it; when that table exists
 * and is full for this rule, the rule's own address prefixes (still no
 * ports or protocol); then its exact signature; failing that, another
 * table of the exact signature.  The program needs the tables in
 * order of their lowest rule (for its early stop): write_tables sorts
 * them, and a table keeps its id (in its buckets' keys) whatever its place.
 */

#define FW_RELAX_STEP	8

int fw_port_prefixes(uint16_t lo16, uint16_t hi16, uint16_t *vals, uint8_t *plens)
{
	uint32_t lo = lo16, hi = hi16;
	int n = 0;

	while (lo <= hi) {
		unsigned int k = 0;

		/* grow the block while lo stays aligned to it and it fits */
		while (k < 16 && (lo & ((2u << k) - 1)) == 0 && lo + (2u << k) - 1 <= hi)
			k++;
		vals[n] = (uint16_t)lo;
		plens[n] = (uint8_t)(16 - k);
		n++;
		lo += 1u << k;
	}
	return n;
}

static uint16_t port_mask(uint8_t plen)
{
	return plen ? (uint16_t)(0xffffu << (16 - plen)) : 0;
}

static void addr_mask(uint8_t *m, uint8_t plen)
{
	unsigned int i;

	memset(m, 0, 16);
	for (i = 0; i < 16 && plen; i++) {
		uint8_t b = plen >= 8 ? 8 : plen;

		m[i] = (uint8_t)(0xff << (8 - b));
		plen -= b;
	}
}

/* Bits LO and HI share from the top: every port of [lo, hi] has them. */
static uint8_t port_common_plen(uint16_t lo, uint16_t hi)
{
	uint32_t x = (uint32_t)(lo ^ hi);
	uint8_t n = 16;

	while (x) {
		x >>= 1;
		n--;
	}
	return n;
}

static struct fw_sig rule_sig(const struct fw_rule *r)
{
	struct fw_sig s = {
		.fam = r->family != 0,
		.proto = r->proto != 0,
		.splen = r->src_plen,
		.dplen = r->dst_plen,
		.spplen = port_common_plen(r->sport_lo, r->sport_hi),
		.dpplen = port_common_plen(r->dport_lo, r->dport_hi),
	};

	return s;
}

/* A new table's signature for a rule that fits no existing one: keyed
 * on addresses only (ports and protocol are left to the full check of
 * each candidate, so rules that differ in them share the table), prefix
 * lengths rounded down to FW_RELAX_STEP, and a short prefix (/16 or
 * less) beside a long one (/24 or more) dropped - it adds little to the
 * hash's selectivity but would keep out every rule with a shorter one. */
static struct fw_sig sig_relax(struct fw_sig s)
{
	s.proto = 0;
	s.spplen = 0;
	s.dpplen = 0;
	s.splen -= s.splen % FW_RELAX_STEP;
	s.dplen -= s.dplen % FW_RELAX_STEP;
	if (s.splen <= 16 && s.dplen >= 24)
		s.splen = 0;
	else if (s.dplen <= 16 && s.splen >= 24)
		s.dplen = 0;
	return s;
}

static bool sig_holds(const struct fw_sig *t, const struct fw_sig *r)
{
	return t->fam <= r->fam && t->proto <= r->proto && t->splen <= r->splen &&
	       t->dplen <= r->dplen && t->spplen <= r->spplen && t->dpplen <= r->dpplen;
}

static bool sig_eq(const struct fw_sig *a, const struct fw_sig *b)
{
	return !memcmp(a, b, sizeof(*a));
}

static void sig_mask(const struct fw_sig *s, struct fw_fields *m)
{
	memset(m, 0, sizeof(*m));
	m->family = s->fam ? 0xff : 0;
	m->proto = s->proto ? 0xff : 0;
	m->sport = port_mask(s->spplen);
	m->dport = port_mask(s->dpplen);
	addr_mask(m->src, s->splen);
	addr_mask(m->dst, s->dplen);
}

static void rule_def(const struct fw_rule *r, struct fw_rule_def *d)
{
	unsigned int i;

	memset(d, 0, sizeof(*d));
	d->family = r->family;
	d->proto = r->proto;
	d->action = r->action;
	d->sport_lo = r->sport_lo;
	d->sport_hi = r->sport_hi;
	d->dport_lo = r->dport_lo;
	d->dport_hi = r->dport_hi;
	addr_mask(d->src_mask, r->src_plen);
	addr_mask(d->dst_mask, r->dst_plen);
	for (i = 0; i < 16; i++) {
		d->src[i] = r->src[i] & d->src_mask[i];
		d->dst[i] = r->dst[i] & d->dst_mask[i];
	}
}

/* The key of a rule's bucket in a table with mask m. */
static void rule_key(const struct fw_rule_def *d, const struct fw_fields *m, struct fw_fields *k)
{
	unsigned int i;

	memset(k, 0, sizeof(*k));
	k->family = d->family & m->family;
	k->proto = d->proto & m->proto;
	k->sport = d->sport_lo & m->sport;
	k->dport = d->dport_lo & m->dport;
	for (i = 0; i < 16; i++) {
		k->src[i] = d->src[i] & m->src[i];
		k->dst[i] = d->dst[i] & m->dst[i];
	}
}

static uint64_t key_hash(uint32_t tid, const struct fw_fields *key)
{
	uint64_t w[5], h = 0x9e3779b97f4a7c15ull ^ tid;
	unsigned int i;

	memcpy(w, key, sizeof(w));
	for (i = 0; i < 5; i++) {
		h ^= w[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	return h;
}

static uint32_t bucket_slot(const struct fw_tables *c, uint32_t tid, const struct fw_fields *key)
{
	return (uint32_t)key_hash(tid, key) & (c->nr_slots - 1);
}

/* The bucket (tid, key), or NULL and the empty slot where it would go. */
static struct fw_cbucket *bucket_find(const struct fw_tables *c, uint32_t tid,
				      const struct fw_fields *key, uint32_t *slot)
{
	uint32_t s = bucket_slot(c, tid, key);
	struct fw_cbucket *b;

	while (c->slots[s]) {
		b = &c->bk[c->slots[s] - 1];
		if (b->tid == tid && !memcmp(&b->key, key, sizeof(*key))) {
			*slot = s;
			return b;
		}
		s = (s + 1) & (c->nr_slots - 1);
	}
	*slot = s;
	return NULL;
}

/* free and realloc for c's arrays, which may live in the snapshot file
 * c was read from (fw_snapshot_read): such an array is not freed, and it
 * moves to the heap when it must grow. */
static void arr_free(const struct fw_tables *c, void *p)
{
	if (!fw_store_holds(c->store, p))
		free(p);
}

static void *arr_realloc(const struct fw_tables *c, void *p, size_t old_size, size_t size)
{
	void *n;

	if (!fw_store_holds(c->store, p))
		return realloc(p, size);
	n = malloc(size);
	if (n)
		memcpy(n, p, old_size < size ? old_size : size);
	return n;
}

static int slots_resize(struct fw_tables *c, uint32_t nr_slots)
{
	uint32_t *n = calloc(nr_slots, sizeof(*n)), i, s;

	if (!n)
		return -ENOMEM;
	arr_free(c, c->slots);
	c->slots = n;
	c->nr_slots = nr_slots;
	for (i = 0; i < c->nr_bk; i++) {
		bucket_find(c, c->bk[i].tid, &c->bk[i].key, &s);
		c->slots[s] = i + 1;
	}
	return 0;
}

static void mark_dirty(struct fw_tables *c, struct fw_cbucket *b)
{
	uint32_t idx = (uint32_t)(b - c->bk);

	if (b->dirty)
		return;
	if (c->nr_dirty == c->cap_dirty) {
		uint32_t ncap = c->cap_dirty ? c->cap_dirty * 2 : 1024;
		uint32_t *n = realloc(c->dirty, (size_t)ncap * sizeof(*n));

		if (!n)
			return;		/* checked by the caller through bucket_add's -ENOMEM path */
		c->dirty = n;
		c->cap_dirty = ncap;
	}
	b->dirty = true;
	c->dirty[c->nr_dirty++] = idx;
}

static int bucket_add(struct fw_tables *c, uint32_t tid, const struct fw_fields *key,
		      uint32_t slot, struct fw_cbucket **out)
{
	struct fw_cbucket *b;
	int err;

	if (c->nr_bk == FW_MAX_ENTRIES / FW_GENERATIONS)
		return -E2BIG;
	if (c->nr_bk == c->cap_bk) {
		uint32_t ncap = c->cap_bk ? c->cap_bk * 2 : 1024;
		struct fw_cbucket *n = arr_realloc(c, c->bk, (size_t)c->cap_bk * sizeof(*n),
						   (size_t)ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->bk = n;
		c->cap_bk = ncap;
	}
	if (c->cap_dirty < c->nr_bk + 1) {
		/* room for every bucket to be dirty: mark_dirty cannot fail */
		uint32_t *n = realloc(c->dirty, (size_t)c->cap_bk * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->dirty = n;
		c->cap_dirty = c->cap_bk;
	}
	b = &c->bk[c->nr_bk++];
	memset(b, 0, sizeof(*b));
	b->tid = tid;
	b->key = *key;
	c->slots[slot] = c->nr_bk;
	if (2 * c->nr_bk >= c->nr_slots) {
		err = slots_resize(c, c->nr_slots * 2);
		if (err)
			return err;
	}
	*out = b;
	return 0;
}

/* Same packets, whatever the action: the later one never decides. */
static bool def_same_match(const struct fw_rule_def *a, const struct fw_rule_def *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       !memcmp(&a->sport_lo, &b->sport_lo, sizeof(*a) - offsetof(struct fw_rule_def, sport_lo));
}

enum place { PLACED, FULL, SHADOWED };

/* Put rule into its bucket of table tid, keeping the bucket ascending. */
static int try_table(struct fw_tables *c, uint32_t tid, uint32_t rule, enum place *res)
{
	const struct fw_rule_def *d = &c->defs[rule];
	struct fw_cbucket *b;
	struct fw_fields key;
	uint32_t slot, i, pos;
	int err;

	rule_key(d, &c->tab[tid].mask, &key);
	b = bucket_find(c, tid, &key, &slot);
	if (b) {
		for (i = 0; i < b->b.nr && b->b.rule[i] < rule; i++) {
			if (def_same_match(&c->defs[b->b.rule[i]], d)) {
				*res = SHADOWED;
				return 0;
			}
		}
		if (b->b.nr == FW_BUCKET_RULES) {
			*res = FULL;
			return 0;
		}
	} else {
		err = bucket_add(c, tid, &key, slot, &b);
		if (err)
			return err;
	}
	for (pos = b->b.nr; pos > 0 && b->b.rule[pos - 1] > rule; pos--)
		b->b.rule[pos] = b->b.rule[pos - 1];
	b->b.rule[pos] = rule;
	b->b.nr++;
	mark_dirty(c, b);
	c->loc[rule] = (uint32_t)(b - c->bk) + 1;
	if (rule < c->tab[tid].min_rule)
		c->tab[tid].min_rule = rule;
	*res = PLACED;
	return 0;
}

static int table_new(struct fw_tables *c, const struct fw_sig *s, uint32_t *tid)
{
	struct fw_table *t;

	if (c->nr_tab == FW_MAX_TUPLES)
		return -ENOSPC;
	t = &c->tab[c->nr_tab];
	t->sig = *s;
	sig_mask(s, &t->mask);
	t->min_rule = FW_MAX_RULES;
	*tid = c->nr_tab++;
	return 0;
}

static int place_rule(struct fw_tables *c, const struct fw_rule *r, uint32_t rule)
{
	struct fw_sig cand[3];
	bool have[3] = { false, false, false };
	enum place res = FULL;
	uint32_t tid, k;
	int err;

	/* the new table's signature, most general first: relaxed; the
	 * addresses as they are (a relaxed bucket overflows when many rules
	 * share a short prefix); everything the rule pins down */
	cand[2] = rule_sig(r);
	cand[0] = sig_relax(cand[2]);
	cand[1] = cand[2];
	cand[1].proto = 0;
	cand[1].spplen = 0;
	cand[1].dpplen = 0;
	c->loc[rule] = 0;
	for (tid = 0; tid < c->nr_tab; tid++) {
		if (!sig_holds(&c->tab[tid].sig, &cand[2]))
			continue;
		for (k = 0; k < 3; k++)
			have[k] |= sig_eq(&c->tab[tid].sig, &cand[k]);
		err = try_table(c, tid, rule, &res);
		if (err)
			return err;
		if (res != FULL) {
			if (res == SHADOWED)
				c->shadowed++;
			return 0;
		}
	}
	/* the first of those not made yet; all full here: a twin of the last */
	for (k = 0; k < 2 && have[k]; k++)
		;
	err = table_new(c, &cand[k], &tid);
	if (!err)
		err = try_table(c, tid, rule, &res);
	return err;
}

/* Take rule out of its bucket (an update replaces or removes it). */
static void unplace_rule(struct fw_tables *c, uint32_t rule)
{
	struct fw_cbucket *b;
	struct fw_table *t;
	uint32_t i, j;

	if (!c->loc[rule]) {
		c->shadowed--;
		return;
	}
	b = &c->bk[c->loc[rule] - 1];
	c->loc[rule] = 0;
	for (i = 0; i < b->b.nr && b->b.rule[i] != rule; i++)
		;
	for (j = i; j + 1 < b->b.nr; j++)
		b->b.rule[j] = b->b.rule[j + 1];
	b->b.nr--;
	mark_dirty(c, b);
	t = &c->tab[b->tid];
	if (t->min_rule == rule) {
		t->min_rule = FW_MAX_RULES;
		for (i = 0; i < c->nr_bk; i++)
			if (c->bk[i].tid == b->tid && c->bk[i].b.nr && c->bk[i].b.rule[0] < t->min_rule)
				t->min_rule = c->bk[i].b.rule[0];
	}
}

static void tables_free(struct fw_tables *c)
{
	if (!c)
		return;
	arr_free(c, c->tab);
	arr_free(c, c->bk);
	arr_free(c, c->slots);
	arr_free(c, c->defs);
	arr_free(c, c->loc);
	free(c->dirty);
	arr_free(c, c->written);
	fw_store_put(c->store);
	free(c);
}

static int rules_reserve(struct fw_tables *c, uint32_t n)
{
	struct fw_rule_def *d;
	uint32_t *l;

	if (n <= c->cap_rules)
		return 0;
	d = arr_realloc(c, c->defs, (size_t)c->cap_rules * sizeof(*d), (size_t)n * sizeof(*d));
	if (d)
		c->defs = d;
	l = arr_realloc(c, c->loc, (size_t)c->cap_rules * sizeof(*l), (size_t)n * sizeof(*l));
	if (l)
		c->loc = l;
	if (!d || !l)
		return -ENOMEM;
	memset(c->loc + c->cap_rules, 0, (size_t)(n - c->cap_rules) * sizeof(*l));
	c->cap_rules = n;
	return 0;
}

static int place_error(const struct fw_rule *r, int ret, struct fw_error *err)
{
	if (ret == -ENOSPC)
		return fw_fail(err, r->line, -E2BIG,
			       "the rules need more than %u hash tables (distinct prefix "
			       "lengths and port ranges that overflow the shared ones)", FW_MAX_TUPLES);
	if (ret == -E2BIG)
		return fw_fail(err, r->line, ret, "the rules need more than %u table buckets",
			       FW_MAX_ENTRIES / FW_GENERATIONS);
	return fw_fail(err, r->line, ret, "out of memory");
}

static int tables_build(const struct fw_ruleset *rs, uint32_t gen, struct fw_tables **out,
			struct fw_error *err)
{
	uint32_t n = (uint32_t)fw_ruleset_nr_rules(rs), i;
	struct fw_tables *c;
	int ret = 0;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return fw_fail(err, 0, -ENOMEM, "out of memory");
	c->gen = gen;
	c->nr_rules = n;
	c->policy = fw_ruleset_policy(rs);
	for (c->nr_slots = 1024; c->nr_slots < 2 * n; c->nr_slots *= 2)
		;
	c->tab = calloc(FW_MAX_TUPLES, sizeof(*c->tab));
	c->written = calloc(FW_MAX_TUPLES, sizeof(*c->written));
	c->slots = calloc(c->nr_slots, sizeof(*c->slots));
	if (!c->tab || !c->written || !c->slots || rules_reserve(c, n ? n : 1)) {
		tables_free(c);
		return fw_fail(err, 0, -ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		rule_def(fw_ruleset_rule(rs, i), &c->defs[i]);
	for (i = 0; i < n && !ret; i++) {
		ret = place_rule(c, fw_ruleset_rule(rs, i), i);
		if (ret)
			ret = place_error(fw_ruleset_rule(rs, i), ret, err);
	}
	if (ret) {
		tables_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* ---- writing the maps ------------------------------------------------------ */

struct writer {
	const struct fw_map_ops *ops;
	uint32_t writes;
	int err;
	bool dry;		/* only bring the in-memory record up to date */
};

static void w_update(struct writer *w, const char *map, const void *k, size_t ks, const void *v, size_t vs)
{
	if (w->err || w->dry)
		return;
	w->err = w->ops->update(w->ops->ctx, map, k, ks, v, vs);
	w->writes++;
}

static void write_def(struct writer *w, const struct fw_tables *c, uint32_t i)
{
	uint32_t key = c->gen * FW_MAX_RULES + i;

	w_update(w, "fw_defs", &key, sizeof(key), &c->defs[i], sizeof(c->defs[0]));
}

static void bucket_map_key(const struct fw_tables *c, const struct fw_cbucket *b, struct fw_key *k)
{
	memset(k, 0, sizeof(*k));
	k->tuple = c->gen * FW_MAX_TUPLES + b->tid;
	k->f = b->key;
}

static void write_bucket(struct writer *w, const struct fw_tables *c, struct fw_cbucket *b)
{
	struct fw_bucket v;
	struct fw_key k;

	bucket_map_key(c, b, &k);
	if (!b->b.nr) {
		if (!b->in_map || w->err)
			return;
		if (!w->ops->del) {
			w->err = -EINVAL;
			return;
		}
		w->err = w->ops->del(w->ops->ctx, "fw_rules", &k, sizeof(k));
		if (w->err == -ENOENT)
			w->err = 0;
		w->writes++;
		b->in_map = false;
		return;
	}
	memset(&v, 0, sizeof(v));
	v.nr = b->b.nr;
	memcpy(v.rule, b->b.rule, b->b.nr * sizeof(v.rule[0]));
	w_update(w, "fw_rules", &k, sizeof(k), &v, sizeof(v));
	b->in_map = true;
}

static void write_dirty_buckets(struct writer *w, struct fw_tables *c)
{
	uint32_t i;

	for (i = 0; i < c->nr_dirty; i++) {
		write_bucket(w, c, &c->bk[c->dirty[i]]);
		c->bk[c->dirty[i]].dirty = false;
	}
	c->nr_dirty = 0;
}

static const struct fw_tables *sort_ctx;

static int table_cmp(const void *a, const void *b)
{
	const struct fw_table *x = &sort_ctx->tab[*(const uint32_t *)a];
	const struct fw_table *y = &sort_ctx->tab[*(const uint32_t *)b];

	if (x->min_rule != y->min_rule)
		return x->min_rule < y->min_rule ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* fw_tuples in order of min_rule (the program's early stop needs it),
 * writing the slots that differ from what they hold (all when full);
 * empty tables sort last and are not counted. */
static void write_tables(struct writer *w, struct fw_tables *c, bool full)
{
	uint32_t order[FW_MAX_TUPLES], i, live = 0;

	for (i = 0; i < c->nr_tab; i++)
		order[i] = i;
	sort_ctx = c;
	qsort(order, c->nr_tab, sizeof(order[0]), table_cmp);
	for (i = 0; i < c->nr_tab; i++) {
		const struct fw_table *t = &c->tab[order[i]];
		uint32_t key = c->gen * FW_MAX_TUPLES + i;
		struct fw_tuple v;

		if (t->min_rule >= FW_MAX_RULES)
			break;
		memset(&v, 0, sizeof(v));
		v.min_rule = t->min_rule;
		v.id = order[i];
		v.mask = t->mask;
		live++;
		if (!full && i < c->nr_written && !memcmp(&c->written[i], &v, sizeof(v)))
			continue;
		w_update(w, "fw_tuples", &key, sizeof(key), &v, sizeof(v));
		c->written[i] = v;
	}
	c->nr_written = live;
}

/* Queued writes out (ops->flush, when the ops batch them). */
static void w_flush(struct writer *w)
{
	if (w->err || w->dry || !w->ops->flush)
		return;
	w->err = w->ops->flush(w->ops->ctx);
}

/* fw_gens[gen], then the switch: fw_active = gen, the last write, once
 * every other write has reached the maps. */
static void write_switch(struct writer *w, const struct fw_tables *c)
{
	struct fw_gen g = { .nr_tuples = c->nr_written, .nr_rules = c->nr_rules, .policy = c->policy };
	uint32_t key = c->gen;

	w_update(w, "fw_gens", &key, sizeof(key), &g, sizeof(g));
	w_flush(w);
	key = 0;
	w_update(w, "fw_active", &key, sizeof(key), &c->gen, sizeof(c->gen));
	w_flush(w);
}

static void fill_stats(const struct fw_tables *c, uint32_t writes, struct fw_compile_stats *st)
{
	uint32_t i, live = 0;

	if (!st)
		return;
	for (i = 0; i < c->nr_bk; i++)
		live += c->bk[i].b.nr != 0;
	st->nr_rules = c->nr_rules;
	st->nr_tuples = c->nr_written;
	st->nr_entries = live;
	st->nr_shadowed = c->shadowed;
	st->nr_writes = writes;
	/* what the generation occupies in the maps (keys and values) */
	st->mem_bytes = (uint64_t)live * (sizeof(struct fw_key) + sizeof(struct fw_bucket)) +
			(uint64_t)c->nr_rules * sizeof(struct fw_rule_def) +
			(uint64_t)c->nr_written * sizeof(struct fw_tuple);
}

static int check_args(uint32_t gen, const struct fw_map_ops *ops, struct fw_error *err)
{
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (gen >= FW_GENERATIONS)
		return fw_fail(err, 0, -EINVAL, "generation %u: there are only %u", gen, FW_GENERATIONS);
	if (!ops || !ops->update)
		return fw_fail(err, 0, -EINVAL, "no map update callback");
	return 0;
}

static int write_result(struct writer *w, struct fw_error *err)
{
	if (!w->err)
		return 0;
	if (w->err == -EINVAL && !w->ops->del)
		return fw_fail(err, 0, -EINVAL, "an update that removes buckets needs a map delete callback");
	return fw_fail(err, 0, w->err, "writing the firewall maps failed: %s", strerror(-w->err));
}

int fw_tables_compile(const struct fw_ruleset *rs, uint32_t gen, const struct fw_map_ops *ops,
		      struct fw_tables **out, struct fw_compile_stats *stats, struct fw_error *err)
{
	struct writer w = { .ops = ops };
	struct fw_tables *c;
	uint32_t i;
	int ret;

	if (out)
		*out = NULL;
	ret = check_args(gen, ops, err);
	if (!ret)
		ret = tables_build(rs, gen, &c, err);
	if (ret)
		return ret;
	for (i = 0; i < c->nr_rules; i++)
		write_def(&w, c, i);
	write_dirty_buckets(&w, c);
	write_tables(&w, c, true);
	write_switch(&w, c);
	ret = write_result(&w, err);
	if (!ret)
		fill_stats(c, w.writes, stats);
	if (ret || !out)
		tables_free(c);
	else
		*out = c;
	return ret;
}

int fw_ruleset_compile(const struct fw_ruleset *rs, uint32_t gen, const struct fw_map_ops *ops,
		       struct fw_compile_stats *stats, struct fw_error *err)
{
	return fw_tables_compile(rs, gen, ops, NULL, stats, err);
}

void fw_tables_free(struct fw_tables *t)
{
	tables_free(t);
}

/* Many changes (or shifted rule positions): compile rs from scratch and
 * write what differs from the maps' content, c's; c becomes the result. */
static int update_rebuild(struct fw_tables *c, const struct fw_ruleset *rs, struct writer *w,
			  struct fw_error *err)
{
	struct fw_tables *n;
	uint32_t i, slot;
	int ret;

	ret = tables_build(rs, c->gen, &n, err);
	if (ret)
		return ret;
	for (i = 0; i < n->nr_rules; i++)
		if (i >= c->nr_rules || memcmp(&c->defs[i], &n->defs[i], sizeof(n->defs[i])))
			write_def(w, n, i);
	/* map keys are (table id, masked fields): compare bucket by key */
	for (i = 0; i < n->nr_dirty; i++) {
		struct fw_cbucket *b = &n->bk[n->dirty[i]];
		const struct fw_cbucket *o = bucket_find(c, b->tid, &b->key, &slot);

		b->dirty = false;
		if (o && o->in_map && o->b.nr == b->b.nr &&
		    !memcmp(o->b.rule, b->b.rule, b->b.nr * sizeof(b->b.rule[0]))) {
			b->in_map = true;
			continue;
		}
		write_bucket(w, n, b);
	}
	n->nr_dirty = 0;
	for (i = 0; i < c->nr_bk; i++) {
		struct fw_cbucket *o = &c->bk[i];

		if (o->in_map && !bucket_find(n, o->tid, &o->key, &slot)) {
			o->b.nr = 0;
			write_bucket(w, c, o);
		}
	}
	memcpy(n->written, c->written, FW_MAX_TUPLES * sizeof(*n->written));
	n->nr_written = c->nr_written;
	write_tables(w, n, false);
	/* c takes n's state */
	{
		struct fw_tables tmp = *c;

		*c = *n;
		*n = tmp;
	}
	tables_free(n);
	return 0;
}

/* Whether unchanged rule i, shadowed (in no bucket: an earlier rule
 * matches exactly its packets), may stop being shadowed: only when one
 * of the changed positions before it held or now holds a rule of the
 * same match (c->defs still has the old definitions, nd the new).  The
 * rest keep their earlier twin and stay out; placing them again cost a
 * walk of the tables each (6,870 of the 100,000-rule test set).  Past
 * 256 changes every shadowed rule is placed again, as before. */
static bool shadow_may_change(const struct fw_tables *c, uint32_t i, const uint32_t *changed,
			      const struct fw_rule_def *nd, uint32_t nr_changed)
{
	if (nr_changed > 256)
		return true;
	for (uint32_t k = 0; k < nr_changed && changed[k] < i; k++)
		if ((changed[k] < c->nr_rules && def_same_match(&c->defs[changed[k]], &c->defs[i])) ||
		    def_same_match(&nd[k], &c->defs[i]))
			return true;
	return false;
}

int fw_tables_update(struct fw_tables *c, const struct fw_ruleset *rs, const struct fw_map_ops *ops,
		     struct fw_compile_stats *stats, struct fw_error *err)
{
	uint32_t n = (uint32_t)fw_ruleset_nr_rules(rs), old = c->nr_rules, i, nr_changed = 0, cap = 0;
	struct writer w = { .ops = ops };
	struct fw_rule_def *nd = NULL;
	uint32_t *changed = NULL;
	int ret;

	ret = check_args(c->gen, ops, err);
	if (ret)
		return ret;
	/* the changed positions and their new definitions (few, usually) */
	for (i = 0; i < n; i++) {
		struct fw_rule_def d;

		rule_def(fw_ruleset_rule(rs, i), &d);
		if (i < old && !memcmp(&d, &c->defs[i], sizeof(d)))
			continue;
		if (nr_changed == cap) {
			uint32_t ncap = cap ? cap * 2 : 64;
			uint32_t *nc = realloc(changed, (size_t)ncap * sizeof(*nc));
			struct fw_rule_def *nn = nc ? realloc(nd, (size_t)ncap * sizeof(*nn)) : NULL;

			if (nc)
				changed = nc;
			if (nn)
				nd = nn;
			if (!nc || !nn) {
				ret = fw_fail(err, 0, -ENOMEM, "out of memory");
				goto out;
			}
			cap = ncap;
		}
		changed[nr_changed] = i;
		nd[nr_changed++] = d;
	}
	if (nr_changed + (old > n ? old - n : 0) > 64 + n / 8) {
		ret = update_rebuild(c, rs, &w, err);
		if (ret)
			goto out;
	} else {
		/* Out first, then in, in rule order.  A rule shadowed by an
		 * earlier identical one is in no bucket; it is placed again
		 * (and may stay shadowed), since that earlier rule may be one
		 * of those changing. */
		uint8_t *todo = calloc(n ? n : 1, 1);

		if (!todo) {
			ret = fw_fail(err, 0, -ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < nr_changed; i++)
			todo[changed[i]] = 1;
		for (i = 0; i < old; i++) {
			if (i < n && !todo[i] &&
			    (c->loc[i] || !shadow_may_change(c, i, changed, nd, nr_changed)))
				continue;
			unplace_rule(c, i);
			if (i < n)
				todo[i] = 1;
		}
		ret = rules_reserve(c, n);
		if (ret) {
			free(todo);
			ret = fw_fail(err, 0, ret, "out of memory");
			goto out;
		}
		c->nr_rules = n;
		for (i = 0; i < nr_changed; i++) {
			c->defs[changed[i]] = nd[i];
			write_def(&w, c, changed[i]);
		}
		for (i = 0; i < n && !ret; i++) {
			const struct fw_rule *r = fw_ruleset_rule(rs, i);

			if (!todo[i])
				continue;
			ret = place_rule(c, r, i);
			if (ret)
				ret = place_error(r, ret, err);
		}
		free(todo);
		if (ret)
			goto out;	/* c no longer matches the maps: the caller drops it */
		write_dirty_buckets(&w, c);
		write_tables(&w, c, false);
	}
	c->nr_rules = n;
	c->policy = fw_ruleset_policy(rs);
	write_switch(&w, c);
	ret = write_result(&w, err);
	if (!ret)
		fill_stats(c, w.writes, stats);
out:
	free(nd);
	free(changed);
	return ret;
}

int fw_tables_of(const struct fw_ruleset *prev, uint32_t gen, struct fw_tables **out,
		 struct fw_error *err)
{
	struct fw_map_ops none = { .update = NULL };
	struct writer dry = { .ops = &none, .dry = true };
	struct fw_tables *c;
	uint32_t i;
	int ret;

	*out = NULL;
	if (gen >= FW_GENERATIONS)
		return fw_fail(err, 0, -EINVAL, "generation %u: there are only %u", gen, FW_GENERATIONS);
	ret = tables_build(prev, gen, &c, err);
	if (ret)
		return ret;
	/* what the maps hold: prev as fw_ruleset_compile wrote it */
	for (i = 0; i < c->nr_dirty; i++) {
		c->bk[c->dirty[i]].dirty = false;
		c->bk[c->dirty[i]].in_map = true;
	}
	c->nr_dirty = 0;
	write_tables(&dry, c, true);
	*out = c;
	return 0;
}

int fw_ruleset_compile_update(const struct fw_ruleset *prev, const struct fw_ruleset *rs,
			      uint32_t gen, const struct fw_map_ops *ops,
			      struct fw_compile_stats *stats, struct fw_error *err)
{
	struct fw_tables *c;
	int ret;

	ret = check_args(gen, ops, err);
	if (!ret)
		ret = fw_tables_of(prev, gen, &c, err);
	if (ret)
		return ret;
	ret = fw_tables_update(c, rs, ops, stats, err);
	tables_free(c);
	return ret;
}
