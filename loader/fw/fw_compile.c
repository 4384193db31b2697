/* fw_compile.c - compiles a rule set into the firewall program's merged tuple-space maps, in full or as the difference to the set a generation holds. */
#include "loader/fw/fwrules.h"

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
 * signature relaxed (lengths rounded down to FW_RELAX_STEP bits), so that
 * later rules of nearby prefix lengths fit it; when that table exists and
 * is full for this rule, the rule's exact signature; failing that, another
 * table of the exact signature.  Tables are thus created in order of their
 * lowest rule, which is the order the program needs for its early stop.
 */

#define FW_RELAX_STEP	8

struct fw_sig {
	uint8_t fam, proto;		/* 1: the table keys on it */
	uint8_t splen, dplen;		/* address prefix lengths */
	uint8_t spplen, dpplen;		/* port prefix lengths, 0..16 */
};

struct fw_table {
	struct fw_sig sig;
	struct fw_fields mask;
	uint32_t min_rule;
};

struct fw_cbucket {
	uint32_t tid;
	struct fw_fields key;
	struct fw_bucket b;
};

/* One compiled generation, in memory. */
struct fw_compiled {
	uint32_t gen, nr_rules, policy;
	struct fw_table *tab;
	uint32_t nr_tab;
	struct fw_cbucket *bk;
	uint32_t nr_bk, cap_bk;
	uint32_t *slots;	/* open addressing over bk: index + 1, 0 empty */
	uint32_t nr_slots;	/* power of two */
	struct fw_rule_def *defs;
	uint32_t shadowed;
};

static int fw_fail(struct fw_error *err, unsigned int line, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fw_fail(struct fw_error *err, unsigned int line, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->line = line;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return ret;
}

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

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static uint32_t bucket_slot(const struct fw_compiled *c, uint32_t tid, const struct fw_fields *key)
{
	uint64_t h = fnv1a(key, sizeof(*key), fnv1a(&tid, sizeof(tid), 0xcbf29ce484222325ull));

	return (uint32_t)(h ^ (h >> 29)) & (c->nr_slots - 1);
}

/* The bucket (tid, key), or the empty slot where it would go. */
static struct fw_cbucket *bucket_find(const struct fw_compiled *c, uint32_t tid,
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

static int bucket_add(struct fw_compiled *c, uint32_t tid, const struct fw_fields *key,
		      uint32_t slot, struct fw_cbucket **out)
{
	struct fw_cbucket *b;

	if (c->nr_bk == FW_MAX_ENTRIES / FW_GENERATIONS)
		return -E2BIG;
	if (c->nr_bk == c->cap_bk) {
		uint32_t ncap = c->cap_bk ? c->cap_bk * 2 : 1024;
		struct fw_cbucket *n = realloc(c->bk, (size_t)ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->bk = n;
		c->cap_bk = ncap;
	}
	b = &c->bk[c->nr_bk++];
	memset(b, 0, sizeof(*b));
	b->tid = tid;
	b->key = *key;
	c->slots[slot] = c->nr_bk;
	*out = b;
	return 0;
}

/* Same packets, whatever the action: the later one never decides. */
static bool def_same_match(const struct fw_rule_def *a, const struct fw_rule_def *b)
{
	struct fw_rule_def x = *a, y = *b;

	x.action = y.action = 0;
	return !memcmp(&x, &y, sizeof(x));
}

enum place { PLACED, FULL, SHADOWED };

static int try_table(struct fw_compiled *c, uint32_t tid, uint32_t rule, enum place *res)
{
	const struct fw_rule_def *d = &c->defs[rule];
	struct fw_cbucket *b;
	struct fw_fields key;
	uint32_t slot, i;
	int err;

	rule_key(d, &c->tab[tid].mask, &key);
	b = bucket_find(c, tid, &key, &slot);
	if (b) {
		for (i = 0; i < b->b.nr; i++) {
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
	b->b.rule[b->b.nr++] = rule;
	*res = PLACED;
	return 0;
}

static int table_new(struct fw_compiled *c, const struct fw_sig *s, uint32_t rule, uint32_t *tid)
{
	struct fw_table *t;

	if (c->nr_tab == FW_MAX_TUPLES)
		return -ENOSPC;
	t = &c->tab[c->nr_tab];
	t->sig = *s;
	sig_mask(s, &t->mask);
	t->min_rule = rule;
	*tid = c->nr_tab++;
	return 0;
}

static int place_rule(struct fw_compiled *c, const struct fw_rule *r, uint32_t rule)
{
	struct fw_sig exact = rule_sig(r), relaxed = sig_relax(exact);
	bool have_relaxed = false;
	enum place res = FULL;
	uint32_t tid;
	int err;

	for (tid = 0; tid < c->nr_tab; tid++) {
		if (!sig_holds(&c->tab[tid].sig, &exact))
			continue;
		have_relaxed |= sig_eq(&c->tab[tid].sig, &relaxed);
		err = try_table(c, tid, rule, &res);
		if (err)
			return err;
		if (res != FULL) {
			if (res == SHADOWED)
				c->shadowed++;
			return 0;
		}
	}
	/* the relaxed table, or (it exists and is full here) the exact one,
	 * or (that too) a twin of the exact one */
	err = table_new(c, !have_relaxed ? &relaxed : &exact, rule, &tid);
	if (!err)
		err = try_table(c, tid, rule, &res);
	return err;
}

static void compiled_free(struct fw_compiled *c)
{
	if (!c)
		return;
	free(c->tab);
	free(c->bk);
	free(c->slots);
	free(c->defs);
	free(c);
}

static int compiled_build(const struct fw_ruleset *rs, uint32_t gen, struct fw_compiled **out,
			  struct fw_error *err)
{
	uint32_t n = (uint32_t)fw_ruleset_nr_rules(rs), i;
	struct fw_compiled *c;
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
	c->slots = calloc(c->nr_slots, sizeof(*c->slots));
	c->defs = calloc(n ? n : 1, sizeof(*c->defs));
	if (!c->tab || !c->slots || !c->defs) {
		compiled_free(c);
		return fw_fail(err, 0, -ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		rule_def(fw_ruleset_rule(rs, i), &c->defs[i]);
	for (i = 0; i < n && !ret; i++) {
		const struct fw_rule *r = fw_ruleset_rule(rs, i);

		ret = place_rule(c, r, i);
		if (ret == -ENOSPC)
			ret = fw_fail(err, r->line, -E2BIG,
				      "the rules need more than %u hash tables (distinct prefix "
				      "lengths and port ranges that overflow the shared ones)",
				      FW_MAX_TUPLES);
		else if (ret == -E2BIG)
			ret = fw_fail(err, r->line, ret, "the rules need more than %u table buckets",
				      FW_MAX_ENTRIES / FW_GENERATIONS);
		else if (ret)
			ret = fw_fail(err, r->line, ret, "out of memory");
	}
	if (ret) {
		compiled_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* ---- writing the maps ------------------------------------------------------ */

static int write_def(const struct fw_map_ops *ops, const struct fw_compiled *c, uint32_t i)
{
	uint32_t key = c->gen * FW_MAX_RULES + i;

	return ops->update(ops->ctx, "fw_defs", &key, sizeof(key), &c->defs[i], sizeof(c->defs[0]));
}

static void bucket_map_key(const struct fw_compiled *c, const struct fw_cbucket *b, struct fw_key *k)
{
	memset(k, 0, sizeof(*k));
	k->tuple = c->gen * FW_MAX_TUPLES + b->tid;
	k->f = b->key;
}

static int write_bucket(const struct fw_map_ops *ops, const struct fw_compiled *c,
			const struct fw_cbucket *b)
{
	struct fw_bucket v;
	struct fw_key k;

	bucket_map_key(c, b, &k);
	memset(&v, 0, sizeof(v));
	v.nr = b->b.nr;
	memcpy(v.rule, b->b.rule, b->b.nr * sizeof(v.rule[0]));
	return ops->update(ops->ctx, "fw_rules", &k, sizeof(k), &v, sizeof(v));
}

static void table_value(const struct fw_table *t, struct fw_tuple *v)
{
	memset(v, 0, sizeof(*v));
	v->min_rule = t->min_rule;
	v->mask = t->mask;
}

static int write_table(const struct fw_map_ops *ops, const struct fw_compiled *c, uint32_t i)
{
	uint32_t key = c->gen * FW_MAX_TUPLES + i;
	struct fw_tuple v;

	table_value(&c->tab[i], &v);
	return ops->update(ops->ctx, "fw_tuples", &key, sizeof(key), &v, sizeof(v));
}

/* fw_gens[gen], then the switch: fw_active = gen, the last write. */
static int write_switch(const struct fw_map_ops *ops, const struct fw_compiled *c)
{
	struct fw_gen g = { .nr_tuples = c->nr_tab, .nr_rules = c->nr_rules, .policy = c->policy };
	uint32_t key = c->gen;
	int ret;

	ret = ops->update(ops->ctx, "fw_gens", &key, sizeof(key), &g, sizeof(g));
	key = 0;
	return ret ? ret : ops->update(ops->ctx, "fw_active", &key, sizeof(key), &c->gen, sizeof(c->gen));
}

static void fill_stats(const struct fw_compiled *c, uint32_t writes, struct fw_compile_stats *st)
{
	if (!st)
		return;
	st->nr_rules = c->nr_rules;
	st->nr_tuples = c->nr_tab;
	st->nr_entries = c->nr_bk;
	st->nr_shadowed = c->shadowed;
	st->nr_writes = writes;
	/* what the generation occupies in the maps (values and keys) */
	st->mem_bytes = (uint64_t)c->nr_bk * (sizeof(struct fw_key) + sizeof(struct fw_bucket)) +
			(uint64_t)c->nr_rules * sizeof(struct fw_rule_def) +
			(uint64_t)c->nr_tab * sizeof(struct fw_tuple);
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

int fw_ruleset_compile(const struct fw_ruleset *rs, uint32_t gen, const struct fw_map_ops *ops,
		       struct fw_compile_stats *stats, struct fw_error *err)
{
	struct fw_compiled *c;
	uint32_t i, writes = 0;
	int ret;

	ret = check_args(gen, ops, err);
	if (!ret)
		ret = compiled_build(rs, gen, &c, err);
	if (ret)
		return ret;
	for (i = 0; i < c->nr_rules && !ret; i++, writes++)
		ret = write_def(ops, c, i);
	for (i = 0; i < c->nr_bk && !ret; i++, writes++)
		ret = write_bucket(ops, c, &c->bk[i]);
	for (i = 0; i < c->nr_tab && !ret; i++, writes++)
		ret = write_table(ops, c, i);
	if (!ret) {
		ret = write_switch(ops, c);
		writes += 2;
	}
	if (ret)
		ret = fw_fail(err, 0, ret, "writing the firewall maps failed: %s", strerror(-ret));
	else
		fill_stats(c, writes, stats);
	compiled_free(c);
	return ret;
}

int fw_ruleset_compile_update(const struct fw_ruleset *prev, const struct fw_ruleset *rs,
			      uint32_t gen, const struct fw_map_ops *ops,
			      struct fw_compile_stats *stats, struct fw_error *err)
{
	struct fw_compiled *o = NULL, *c = NULL;
	uint32_t i, slot, writes = 0;
	int ret;

	ret = check_args(gen, ops, err);
	if (!ret && !ops->del)
		ret = fw_fail(err, 0, -EINVAL, "an update needs a map delete callback");
	if (!ret)
		ret = compiled_build(rs, gen, &c, err);
	if (!ret)
		ret = compiled_build(prev, gen, &o, err);
	if (ret) {
		compiled_free(c);
		return ret;
	}
	/* Rules, buckets and tables that differ from what the generation
	 * holds; the generation is not live, so the order does not matter
	 * until the switch, which comes last as in a full compile. */
	for (i = 0; i < c->nr_rules && !ret; i++) {
		if (i < o->nr_rules && !memcmp(&o->defs[i], &c->defs[i], sizeof(c->defs[i])))
			continue;
		ret = write_def(ops, c, i);
		writes++;
	}
	for (i = 0; i < c->nr_bk && !ret; i++) {
		const struct fw_cbucket *b = &c->bk[i], *ob = bucket_find(o, b->tid, &b->key, &slot);

		if (ob && ob->b.nr == b->b.nr &&
		    !memcmp(ob->b.rule, b->b.rule, b->b.nr * sizeof(b->b.rule[0])))
			continue;
		ret = write_bucket(ops, c, b);
		writes++;
	}
	for (i = 0; i < o->nr_bk && !ret; i++) {
		const struct fw_cbucket *ob = &o->bk[i];
		struct fw_key k;

		if (bucket_find(c, ob->tid, &ob->key, &slot))
			continue;
		bucket_map_key(o, ob, &k);
		ret = ops->del(ops->ctx, "fw_rules", &k, sizeof(k));
		if (ret == -ENOENT)
			ret = 0;
		writes++;
	}
	for (i = 0; i < c->nr_tab && !ret; i++) {
		struct fw_tuple a, b;

		table_value(&c->tab[i], &b);
		if (i < o->nr_tab) {
			table_value(&o->tab[i], &a);
			if (!memcmp(&a, &b, sizeof(a)))
				continue;
		}
		ret = write_table(ops, c, i);
		writes++;
	}
	if (!ret) {
		ret = write_switch(ops, c);
		writes += 2;
	}
	if (ret)
		ret = fw_fail(err, 0, ret, "writing the firewall maps failed: %s", strerror(-ret));
	else
		fill_stats(c, writes, stats);
	compiled_free(o);
	compiled_free(c);
	return ret;
}
