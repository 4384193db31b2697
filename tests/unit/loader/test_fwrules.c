/* test_fwrules.c - firewall rule files: parsing and its errors, first-match semantics, port ranges, CIDR overlaps, compiled tables. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/fw/fw_gen.h"
#include "loader/fw/fwrules.h"
#include "tests/unit/test.h"

static struct fw_ruleset *parse_ok(const char *text)
{
	struct fw_ruleset *rs = NULL;
	struct fw_error err;
	int ret = fw_ruleset_parse_str(text, &rs, &err);

	ck_assert_msg(ret == 0, "parse failed at line %u: %s", err.line, err.msg);
	ck_assert_ptr_nonnull(rs);
	return rs;
}

static struct fw_packet pkt4(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto)
{
	struct fw_packet p;

	memset(&p, 0, sizeof(p));
	p.family = 4;
	p.proto = proto;
	p.sport = sport;
	p.dport = dport;
	ck_assert_int_eq(inet_pton(AF_INET, src, p.src), 1);
	ck_assert_int_eq(inet_pton(AF_INET, dst, p.dst), 1);
	return p;
}

static struct fw_packet pkt6(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto)
{
	struct fw_packet p;

	memset(&p, 0, sizeof(p));
	p.family = 6;
	p.proto = proto;
	p.sport = sport;
	p.dport = dport;
	ck_assert_int_eq(inet_pton(AF_INET6, src, p.src), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, dst, p.dst), 1);
	return p;
}

START_TEST(test_parse_fields)
{
	struct fw_ruleset *rs = parse_ok(
		"# a comment line\n"
		"\n"
		"policy deny   # trailing comment\n"
		"allow tcp 10.0.0.0/8 any 192.168.1.1 80\n"
		"  deny\tudp any 1000-2000 2001:db8::/32 any\n"
		"allow any any any any any\n");
	const struct fw_rule *r;

	ck_assert_uint_eq(fw_ruleset_nr_rules(rs), 3);
	ck_assert_uint_eq(fw_ruleset_policy(rs), FW_ACT_DENY);
	r = fw_ruleset_rule(rs, 0);
	ck_assert_uint_eq(r->line, 4);
	ck_assert_uint_eq(r->action, FW_ACT_ALLOW);
	ck_assert_uint_eq(r->proto, IPPROTO_TCP);
	ck_assert_uint_eq(r->family, 4);
	ck_assert_uint_eq(r->src_plen, 8);
	ck_assert_uint_eq(r->src[0], 10);
	ck_assert_uint_eq(r->dst_plen, 32);
	ck_assert_uint_eq(r->sport_lo, 0);
	ck_assert_uint_eq(r->sport_hi, 65535);
	ck_assert_uint_eq(r->dport_lo, 80);
	ck_assert_uint_eq(r->dport_hi, 80);
	r = fw_ruleset_rule(rs, 1);
	ck_assert_uint_eq(r->line, 5);
	ck_assert_uint_eq(r->action, FW_ACT_DENY);
	ck_assert_uint_eq(r->proto, IPPROTO_UDP);
	ck_assert_uint_eq(r->family, 6);
	ck_assert_uint_eq(r->dst_plen, 32);
	ck_assert_uint_eq(r->sport_lo, 1000);
	ck_assert_uint_eq(r->sport_hi, 2000);
	r = fw_ruleset_rule(rs, 2);
	ck_assert_uint_eq(r->family, 0);
	ck_assert_uint_eq(r->proto, 0);
	ck_assert_ptr_null(fw_ruleset_rule(rs, 3));
	fw_ruleset_free(rs);

	rs = parse_ok("");
	ck_assert_uint_eq(fw_ruleset_nr_rules(rs), 0);
	ck_assert_uint_eq(fw_ruleset_policy(rs), FW_ACT_ALLOW);	/* default */
	fw_ruleset_free(rs);
}
END_TEST

/* Every error a rule file can have: the line it is reported on and a
 * piece of the message that says what is wrong. */
static const struct {
	const char *text;
	unsigned int line;
	const char *msg;
} bad_files[] = {
	{ "allow tcp any any any\n", 1, "expected 6 fields" },
	{ "\n\nallow tcp any any any any any\n", 3, "expected 6 fields 'ACTION PROTO SRC SPORT DST DPORT' or 'policy allow|deny', got 7" },
	{ "allow tcp any any any any any any any\n", 1, "too many fields" },
	{ "# c\npermit tcp any any any any\n", 2, "unknown action 'permit'" },
	{ "allow icmp any any any any\n", 1, "unknown protocol 'icmp'" },
	{ "allow tcp 10.0.0.300 any any any\n", 1, "not a valid IPv4 address" },
	{ "allow tcp 10.0.0.0/33 any any any\n", 1, "prefix length '33'" },
	{ "allow tcp 10.0.0.0/x any any any\n", 1, "prefix length 'x'" },
	{ "allow tcp 10.1.2.3/8 any any any\n", 1, "host part must be zero" },
	{ "allow tcp 2001:db8::1/129 any any any\n", 1, "prefix length '129'" },
	{ "allow tcp 2001:db8::1/32 any any any\n", 1, "host part must be zero" },
	{ "allow tcp zz::zz any any any\n", 1, "not a valid IPv6 address" },
	{ "allow tcp /8 any any any\n", 1, "SRC '/8' is not an address" },
	{ "allow tcp any 70000 any any\n", 1, "SPORT '70000'" },
	{ "allow tcp any http any any\n", 1, "SPORT 'http'" },
	{ "allow tcp any any any 90-80\n", 1, "DPORT range '90-80' is empty" },
	{ "allow tcp any any any 80-\n", 1, "DPORT range '80-' needs two ports" },
	{ "allow tcp any any any 1-2-3\n", 1, "DPORT range '1-2-3'" },
	{ "allow tcp any any bogus any\n", 1, "DST 'bogus'" },
	{ "allow any any 80 any any\n", 1, "ports need protocol tcp or udp" },
	{ "allow any any any any 1-2\n", 1, "ports need protocol tcp or udp" },
	{ "allow tcp 10.0.0.0/8 any 2001:db8::/32 any\n", 1, "SRC is IPv4 but DST is IPv6" },
	{ "policy\n", 1, "expected 'policy allow' or 'policy deny'" },
	{ "policy drop\n", 1, "unknown policy 'drop'" },
	{ "policy allow\nallow tcp any any any any\npolicy deny\n", 3, "policy already set on line 1" },
	{ "allow tcp any any any 80\nallow tcp any any any 80 # ok\ndeny tcp any any any 99999\n", 3, "DPORT '99999'" },
};

START_TEST(test_parse_errors)
{
	struct fw_ruleset *rs = (struct fw_ruleset *)1;
	struct fw_error err;
	int ret;

	ret = fw_ruleset_parse_str(bad_files[_i].text, &rs, &err);
	ck_assert_msg(ret == -EINVAL, "case %d: ret %d", _i, ret);
	ck_assert_ptr_null(rs);
	ck_assert_msg(err.line == bad_files[_i].line, "case %d: line %u, expected %u (%s)", _i,
		      err.line, bad_files[_i].line, err.msg);
	ck_assert_msg(strstr(err.msg, bad_files[_i].msg), "case %d: message '%s' lacks '%s'", _i,
		      err.msg, bad_files[_i].msg);
}
END_TEST

START_TEST(test_parse_file_errors)
{
	struct fw_ruleset *rs;
	struct fw_error err;
	char path[] = "/tmp/ftoe-fw-XXXXXX";
	int fd;

	ck_assert_int_eq(fw_ruleset_parse_file("/nonexistent/x.rules", &rs, &err), -ENOENT);
	ck_assert_ptr_null(rs);
	ck_assert_uint_eq(err.line, 0);
	ck_assert_ptr_nonnull(strstr(err.msg, "cannot open /nonexistent/x.rules"));

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "policy deny\ndeny tcp any any any 22\nallow tcp any any any x\n", 59), 59);
	close(fd);
	ck_assert_int_eq(fw_ruleset_parse_file(path, &rs, &err), -EINVAL);
	ck_assert_uint_eq(err.line, 3);
	ck_assert_ptr_nonnull(strstr(err.msg, "DPORT 'x'"));
	unlink(path);
}
END_TEST

START_TEST(test_first_match)
{
	/* overlapping CIDRs: the more specific rule only wins when listed first */
	struct fw_ruleset *rs = parse_ok(
		"policy deny\n"
		"deny tcp 10.1.0.0/16 any any 22\n"
		"allow tcp 10.0.0.0/8 any any 22\n"
		"allow tcp 10.1.2.0/24 any any 22\n"		/* shadowed by rule 0 for port 22 */
		"allow udp any any any 53\n"
		"deny any 192.168.0.0/16 any any any\n"
		"allow any any any any any\n");
	struct fw_packet p;
	uint32_t rule;

	p = pkt4("10.1.2.3", 1000, "1.2.3.4", 22, IPPROTO_TCP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_DENY);
	ck_assert_uint_eq(rule, 0);
	p = pkt4("10.2.0.1", 1000, "1.2.3.4", 22, IPPROTO_TCP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_ALLOW);
	ck_assert_uint_eq(rule, 1);
	p = pkt4("192.168.5.5", 53, "1.1.1.1", 53, IPPROTO_UDP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_ALLOW);
	ck_assert_uint_eq(rule, 3);
	p = pkt4("192.168.5.5", 1, "1.1.1.1", 80, IPPROTO_TCP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_DENY);
	ck_assert_uint_eq(rule, 4);
	p = pkt4("11.0.0.1", 1, "1.1.1.1", 80, IPPROTO_TCP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_ALLOW);
	ck_assert_uint_eq(rule, 5);
	/* an IPv4 rule never matches IPv6; 'any any' rules match both */
	p = pkt6("2001:db8::1", 1, "2001:db8::2", 22, IPPROTO_TCP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_ALLOW);
	ck_assert_uint_eq(rule, 5);
	fw_ruleset_free(rs);

	rs = parse_ok("policy deny\nallow tcp any any 10.0.0.0/8 any\n");
	p = pkt4("1.1.1.1", 1, "11.0.0.1", 80, IPPROTO_TCP);
	ck_assert_uint_eq(fw_ruleset_match(rs, &p, &rule), FW_ACT_DENY);
	ck_assert_uint_eq(rule, FW_MAX_RULES);
	fw_ruleset_free(rs);
}
END_TEST

START_TEST(test_port_ranges)
{
	uint16_t v[32];
	uint8_t l[32];
	unsigned int seed = 7;
	int t, n, i;

	n = fw_port_prefixes(0, 65535, v, l);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(l[0], 0);
	n = fw_port_prefixes(80, 80, v, l);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(v[0], 80);
	ck_assert_uint_eq(l[0], 16);
	n = fw_port_prefixes(1024, 65535, v, l);
	ck_assert_int_eq(n, 6);		/* /6 /5 /4 /3 /2 /1 blocks */
	n = fw_port_prefixes(1, 65534, v, l);
	ck_assert_int_eq(n, 30);	/* the worst case */

	/* random ranges: the prefixes tile [lo, hi] exactly, in order */
	for (t = 0; t < 3000; t++) {
		uint32_t a = (uint32_t)rand_r(&seed) & 0xffff, b = (uint32_t)rand_r(&seed) & 0xffff;
		uint32_t lo = a < b ? a : b, hi = a < b ? b : a, next;

		if (t % 3 == 0)
			hi = lo + ((uint32_t)rand_r(&seed) & 0x3f) > 0xffff ? 0xffff : lo + ((uint32_t)rand_r(&seed) & 0x3f);
		n = fw_port_prefixes((uint16_t)lo, (uint16_t)hi, v, l);
		ck_assert_int_le(n, 30);
		next = lo;
		for (i = 0; i < n; i++) {
			uint32_t size = 1u << (16 - l[i]);

			ck_assert_uint_eq(v[i], next);
			ck_assert_uint_eq(v[i] & (size - 1), 0);	/* aligned prefix */
			next += size;
		}
		ck_assert_uint_eq(next, hi + 1);
	}
}
END_TEST

/* ---- compiled tables, looked up as firewall.bpf.c does ----------------- */

/* The maps as the program sees them: fw_rules a hash (open addressing,
 * tombstones), the arrays as arrays.  It records how the compiler writes
 * them: nothing after the fw_active switch, no key written twice by a
 * full compile, deletes only of present keys. */
struct sim_ent {
	uint8_t state;		/* 0 empty, 1 used, 2 deleted */
	struct fw_key k;
	struct fw_bucket v;
};

struct sim {
	struct sim_ent *ents;
	size_t cap, used, live;
	struct fw_rule_def *defs;
	struct fw_tuple tuples[FW_GENERATIONS * FW_MAX_TUPLES];
	struct fw_gen gens[FW_GENERATIONS];
	uint32_t active;
	unsigned int updates_after_active;	/* writes after the fw_active switch */
	bool active_written;
	bool no_rewrite;	/* a full compile writes each fw_rules key once */
	unsigned int deletes;
};

static size_t sim_slot(const struct sim *s, const struct fw_key *k, bool *found)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *b = (const uint8_t *)k;
	size_t i, tomb = SIZE_MAX;

	for (i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 1099511628211ull;
	for (i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (s->ents[i].state == 0) {
			*found = false;
			return tomb != SIZE_MAX ? tomb : i;
		}
		if (s->ents[i].state == 2) {
			if (tomb == SIZE_MAX)
				tomb = i;
		} else if (!memcmp(&s->ents[i].k, k, sizeof(*k))) {
			*found = true;
			return i;
		}
	}
}

static void sim_grow(struct sim *s)
{
	struct sim_ent *old = s->ents;
	size_t oc = s->cap, i;
	bool f;

	s->cap = s->cap ? s->cap * 2 : 1024;
	s->ents = calloc(s->cap, sizeof(*s->ents));
	ck_assert_ptr_nonnull(s->ents);
	s->used = s->live;
	for (i = 0; i < oc; i++)
		if (old[i].state == 1)
			s->ents[sim_slot(s, &old[i].k, &f)] = old[i];
	free(old);
}

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->defs = calloc(FW_GENERATIONS * FW_MAX_RULES, sizeof(*s->defs));
	ck_assert_ptr_nonnull(s->defs);
	sim_grow(s);
}

static int sim_update(void *ctx, const char *map, const void *key, size_t ksz, const void *val, size_t vsz)
{
	struct sim *s = ctx;
	uint32_t k;

	if (s->active_written)
		s->updates_after_active++;
	if (!strcmp(map, "fw_rules")) {
		struct fw_key fk;
		size_t i;
		bool found;

		ck_assert_uint_eq(ksz, sizeof(struct fw_key));
		ck_assert_uint_eq(vsz, sizeof(struct fw_bucket));
		if (2 * (s->used + 1) > s->cap)
			sim_grow(s);
		memcpy(&fk, key, ksz);
		i = sim_slot(s, &fk, &found);
		ck_assert_msg(!found || !s->no_rewrite, "fw_rules key written twice");
		if (!found) {
			if (s->ents[i].state == 0)
				s->used++;
			s->live++;
		}
		s->ents[i].state = 1;
		s->ents[i].k = fk;
		memcpy(&s->ents[i].v, val, vsz);
		return 0;
	}
	ck_assert_uint_eq(ksz, 4);
	memcpy(&k, key, 4);
	if (!strcmp(map, "fw_defs")) {
		ck_assert_uint_lt(k, FW_GENERATIONS * FW_MAX_RULES);
		ck_assert_uint_eq(vsz, sizeof(struct fw_rule_def));
		memcpy(&s->defs[k], val, vsz);
	} else if (!strcmp(map, "fw_tuples")) {
		ck_assert_uint_lt(k, FW_GENERATIONS * FW_MAX_TUPLES);
		ck_assert_uint_eq(vsz, sizeof(struct fw_tuple));
		memcpy(&s->tuples[k], val, vsz);
	} else if (!strcmp(map, "fw_gens")) {
		ck_assert_uint_lt(k, FW_GENERATIONS);
		memcpy(&s->gens[k], val, vsz);
	} else if (!strcmp(map, "fw_active")) {
		ck_assert_uint_eq(k, 0);
		memcpy(&s->active, val, 4);
		s->active_written = true;
	} else {
		ck_abort_msg("unknown map %s", map);
	}
	return 0;
}

static int sim_delete(void *ctx, const char *map, const void *key, size_t ksz)
{
	struct sim *s = ctx;
	struct fw_key fk;
	bool found;
	size_t i;

	ck_assert_str_eq(map, "fw_rules");
	ck_assert_uint_eq(ksz, sizeof(fk));
	memcpy(&fk, key, ksz);
	i = sim_slot(s, &fk, &found);
	ck_assert_msg(found, "delete of a key that is not there");
	s->ents[i].state = 2;
	s->live--;
	s->deletes++;
	return 0;
}

static const struct fw_bucket *sim_get(const struct sim *s, const struct fw_key *k)
{
	bool found;
	size_t i = sim_slot(s, k, &found);

	return found ? &s->ents[i].v : NULL;
}

static bool def_matches(const struct fw_rule_def *d, const struct fw_packet *p)
{
	unsigned int w;

	if ((d->family && d->family != p->family) || (d->proto && d->proto != p->proto))
		return false;
	if (p->sport < d->sport_lo || p->sport > d->sport_hi || p->dport < d->dport_lo || p->dport > d->dport_hi)
		return false;
	for (w = 0; w < 16; w++)
		if ((p->src[w] & d->src_mask[w]) != d->src[w] || (p->dst[w] & d->dst_mask[w]) != d->dst[w])
			return false;
	return true;
}

/* firewall.bpf.c's walk, step by step */
static uint32_t sim_lookup(const struct sim *s, const struct fw_packet *p, uint32_t *rule)
{
	uint32_t gen = s->active & 1, best = FW_MAX_RULES, action = s->gens[gen].policy, i, w, j;

	for (i = 0; i < s->gens[gen].nr_tuples; i++) {
		const struct fw_tuple *t = &s->tuples[gen * FW_MAX_TUPLES + i];
		const struct fw_bucket *b;
		struct fw_key k;

		if (t->min_rule >= best)
			break;
		memset(&k, 0, sizeof(k));
		k.tuple = gen * FW_MAX_TUPLES + t->id;
		k.f.family = p->family & t->mask.family;
		k.f.proto = p->proto & t->mask.proto;
		k.f.sport = p->sport & t->mask.sport;
		k.f.dport = p->dport & t->mask.dport;
		for (w = 0; w < 16; w++) {
			k.f.src[w] = p->src[w] & t->mask.src[w];
			k.f.dst[w] = p->dst[w] & t->mask.dst[w];
		}
		b = sim_get(s, &k);
		if (!b)
			continue;
		ck_assert_uint_le(b->nr, FW_BUCKET_RULES);
		for (j = 0; j < b->nr && b->rule[j] < best; j++) {
			const struct fw_rule_def *d = &s->defs[gen * FW_MAX_RULES + b->rule[j]];

			if (j)
				ck_assert_uint_lt(b->rule[j - 1], b->rule[j]);
			if (def_matches(d, p)) {
				best = b->rule[j];
				action = d->action;
				break;
			}
		}
	}
	*rule = best;
	return action;
}

static void sim_free(struct sim *s)
{
	free(s->ents);
	free(s->defs);
	s->ents = NULL;
	s->defs = NULL;
}

/* Random rule sets over a small address and port space, so rules overlap
 * a lot; the compiled tables must give the reference verdict and rule. */
START_TEST(test_compile_matches_reference)
{
	static const char *nets4[] = { "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3",
				       "192.168.0.0/16", "0.0.0.0/0", "any", "10.128.0.0/9" };
	static const char *nets6[] = { "2001:db8::/32", "2001:db8:1::/48", "2001:db8:1::5", "any" };
	static const char *ports[] = { "any", "80", "1000-2000", "1-1023", "443", "1024-65535", "0-7" };
	static const char *hosts4[] = { "10.1.2.3", "10.1.2.4", "10.1.3.1", "10.200.0.1", "192.168.1.1", "8.8.8.8" };
	static const char *hosts6[] = { "2001:db8:1::5", "2001:db8:1::6", "2001:db8:2::1", "fe80::1" };
	static const uint16_t pports[] = { 0, 7, 8, 80, 443, 1000, 1500, 2000, 2001, 1023, 1024, 65535 };
	unsigned int seed = 42 + (unsigned int)_i;
	struct fw_compile_stats st;
	struct fw_map_ops ops;
	struct fw_ruleset *rs;
	struct fw_error err;
	char text[16384];
	size_t off = 0;
	int r, n, t;
	struct sim s;

	sim_init(&s);
	s.no_rewrite = true;
	n = 5 + rand_r(&seed) % 40;
	off += (size_t)snprintf(text + off, sizeof(text) - off, "policy %s\n",
				rand_r(&seed) % 2 ? "deny" : "allow");
	for (r = 0; r < n; r++) {
		int v6 = rand_r(&seed) % 4 == 0;
		const char *proto = (const char *[]){ "tcp", "udp", "any" }[rand_r(&seed) % 3];
		const char *src = v6 ? nets6[rand_r(&seed) % 4] : nets4[rand_r(&seed) % 8];
		const char *dst = v6 ? nets6[rand_r(&seed) % 4] : nets4[rand_r(&seed) % 8];
		const char *sp = strcmp(proto, "any") ? ports[rand_r(&seed) % 7] : "any";
		const char *dp = strcmp(proto, "any") ? ports[rand_r(&seed) % 7] : "any";

		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s %s %s %s %s %s\n",
					rand_r(&seed) % 2 ? "allow" : "deny", proto, src, sp, dst, dp);
	}
	rs = parse_ok(text);
	ops.update = sim_update;
	ops.ctx = &s;
	ck_assert_int_eq(fw_ruleset_compile(rs, (uint32_t)(_i & 1), &ops, &st, &err), 0);
	ck_assert_uint_eq(s.active, (uint32_t)(_i & 1));
	ck_assert_uint_eq(s.updates_after_active, 0);	/* the switch comes last */
	ck_assert_uint_eq(st.nr_entries, s.live);
	ck_assert_uint_eq(st.nr_tuples, s.gens[_i & 1].nr_tuples);
	for (t = 1; t < (int)st.nr_tuples; t++)	/* sorted by lowest rule */
		ck_assert_uint_le(s.tuples[(_i & 1) * FW_MAX_TUPLES + t - 1].min_rule,
				  s.tuples[(_i & 1) * FW_MAX_TUPLES + t].min_rule);
	for (t = 0; t < 3000; t++) {
		int v6 = rand_r(&seed) % 4 == 0;
		uint8_t proto = (uint8_t[]){ IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP }[rand_r(&seed) % 3];
		uint16_t sp = proto == IPPROTO_ICMP ? 0 : pports[rand_r(&seed) % 12];
		uint16_t dp = proto == IPPROTO_ICMP ? 0 : pports[rand_r(&seed) % 12];
		struct fw_packet p = v6 ? pkt6(hosts6[rand_r(&seed) % 4], sp, hosts6[rand_r(&seed) % 4], dp, proto)
					: pkt4(hosts4[rand_r(&seed) % 6], sp, hosts4[rand_r(&seed) % 6], dp, proto);
		uint32_t want_rule, got_rule;
		uint32_t want = fw_ruleset_match(rs, &p, &want_rule);
		uint32_t got = sim_lookup(&s, &p, &got_rule);

		ck_assert_msg(want == got && want_rule == got_rule,
			      "set %d packet %d: reference rule %u action %u, compiled rule %u action %u\n%s",
			      _i, t, want_rule, want, got_rule, got, text);
	}
	fw_ruleset_free(rs);
	sim_free(&s);
}
END_TEST

START_TEST(test_compile_limits)
{
	struct fw_compile_stats st;
	struct fw_map_ops ops = { .update = sim_update, .del = sim_delete };
	struct fw_ruleset *rs;
	struct fw_error err;
	char *text = malloc(16 << 20);
	size_t off = 0;
	struct sim s;
	int sp, dp, p, q;

	sim_init(&s);
	ops.ctx = &s;
	/* an exact duplicate is shadowed, not written twice */
	rs = parse_ok("deny tcp 10.0.0.0/8 any any 22\nallow tcp 10.0.0.0/8 any any 22\n");
	ck_assert_int_eq(fw_ruleset_compile(rs, 0, &ops, &st, &err), 0);
	ck_assert_uint_eq(st.nr_entries, 1);
	ck_assert_uint_eq(st.nr_shadowed, 1);
	ck_assert_int_eq(fw_ruleset_compile(rs, 2, &ops, &st, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "generation 2"));
	fw_ruleset_free(rs);

	/* Rules under one address pair: a table holds at most one bucket
	 * of them (FW_BUCKET_RULES), so 71,580 rules need over 4,096
	 * tables.  Their signatures (prefix and port-block lengths of
	 * constant sum, three source-port ranges each) are not nested, so
	 * few tables can take any one rule and the compile stays fast.  The
	 * error names the line of the rule that needed one table too many. */
	{
		int v;

		for (v = 0; v < 3; v++)
			for (p = 0; p <= 16; p++)
				for (q = 0; q <= 16; q++)
					for (sp = 0; sp <= 96; sp++) {
						dp = 112 - sp - p - q;
						if (dp < 0 || dp > 96 || (p == 16 ? v > 0 : v > (1 << (15 - p)) - 1))
							continue;
						off += (size_t)sprintf(text + off,
								       "allow tcp 2001:db8::/%d 0-%u 2001:db9::/%d 0-%u\n",
								       32 + sp, (1u << (16 - p)) - 1 - (unsigned int)v,
								       32 + dp, (1u << (16 - q)) - 1);
					}
	}
	rs = parse_ok(text);
	sim_free(&s);
	sim_init(&s);
	ck_assert_int_eq(fw_ruleset_compile(rs, 0, &ops, &st, &err), -E2BIG);
	ck_assert_uint_gt(err.line, FW_MAX_TUPLES);
	ck_assert_ptr_nonnull(strstr(err.msg, "hash tables"));
	fw_ruleset_free(rs);
	sim_free(&s);
	free(text);
}
END_TEST

/* ---- generated rule sets, 10 to 100,000 rules ---------------------------- */

static struct fw_ruleset *gen_set(enum fw_gen_kind k, uint32_t n, uint64_t seed)
{
	struct fw_ruleset *rs;
	char *text;

	ck_assert_int_eq(fw_gen_rules(k, n, seed, &text), 0);
	rs = parse_ok(text);
	free(text);
	ck_assert_uint_eq(fw_ruleset_nr_rules(rs), n);
	return rs;
}

/* Packets near and inside the rules, and the no-match one: the compiled
 * tables give the reference's rule and action for each. */
static void check_packets(const struct sim *s, const struct fw_ruleset *rs, uint64_t seed, int count,
			  const char *what)
{
	struct fw_packet p;
	uint32_t want_rule, got_rule, want, got;
	uint64_t rng = seed;
	int i;

	for (i = 0; i <= count; i++) {
		if (i < count) {
			fw_gen_packet_near(rs, &rng, &p);
		} else {
			memset(&p, 0, sizeof(p));
			p.family = 4;
			p.proto = IPPROTO_TCP;
			p.sport = 40000;
			p.dport = 443;
			inet_pton(AF_INET, FW_GEN_NOMATCH_SRC, p.src);
			inet_pton(AF_INET, FW_GEN_NOMATCH_DST, p.dst);
		}
		want = fw_ruleset_match(rs, &p, &want_rule);
		got = sim_lookup(s, &p, &got_rule);
		ck_assert_msg(want == got && want_rule == got_rule,
			      "%s, packet %d: reference rule %u action %u, compiled rule %u action %u",
			      what, i, want_rule, want, got_rule, got);
		if (i == count)
			ck_assert_uint_eq(want_rule, FW_MAX_RULES);
	}
}

/* _i: the generator (site, acl, fw, ipc, v6) */
START_TEST(test_generated_sets)
{
	const uint32_t sizes[] = { 10, 1000, (uint32_t)ftoe_test_scaled(100000) };
	enum fw_gen_kind kind = (enum fw_gen_kind)_i;
	struct fw_map_ops ops = { .update = sim_update };
	struct fw_compile_stats st;
	struct fw_error err;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		/* v6 up to 20,000 rules (test time); make bench checks its
		 * 100,000-rule set on three engines (bench/fw_bench.c) */
		uint32_t n = kind == FW_GEN_V6 && sizes[i] > 20000 ? 20000 : sizes[i];
		struct fw_ruleset *rs = gen_set(kind, n, 77 + i);
		char what[64];
		struct sim s;

		sim_init(&s);
		s.no_rewrite = true;
		ops.ctx = &s;
		ck_assert_int_eq(fw_ruleset_compile(rs, i & 1, &ops, &st, &err), 0);
		ck_assert_uint_eq(st.nr_entries, s.live);
		/* the point of merging tuples: a few tables for any size */
		ck_assert_uint_le(st.nr_tuples, 32);
		snprintf(what, sizeof(what), "%s, %u rules", fw_gen_kind_name(kind), n);
		check_packets(&s, rs, 1000 + i, i == 2 ? 300 : 2000, what);
		sim_free(&s);
		fw_ruleset_free(rs);
	}
}
END_TEST

/* A rule file with the rules at positions pos[0..n) replaced by those of
 * other (same-kind) rules, optionally with rules appended or cut. */
static char *edit_text(const struct fw_ruleset *rs, const struct fw_ruleset *donor, const uint32_t *pos,
		       int npos, int append, int cut, const char *policy)
{
	size_t n = fw_ruleset_nr_rules(rs), i, off = 0, cap = (n + (size_t)append + 4) * 128;
	char *t = malloc(cap), a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	size_t d = 0;
	int j;

	off += (size_t)snprintf(t + off, cap - off, "policy %s\n", policy);
	for (i = 0; i + (size_t)cut < n + (size_t)append; i++) {
		const struct fw_rule *r = i < n ? fw_ruleset_rule(rs, i) : fw_ruleset_rule(donor, d++);
		int af;

		for (j = 0; j < npos; j++)
			if (pos[j] == i)
				r = fw_ruleset_rule(donor, d++);
		af = r->family == 6 ? AF_INET6 : AF_INET;
		inet_ntop(af, r->src, a, sizeof(a));
		inet_ntop(af, r->dst, b, sizeof(b));
		off += (size_t)snprintf(t + off, cap - off, "%s %s %s/%u %u-%u %s/%u %u-%u\n",
					r->action == FW_ACT_DENY ? "deny" : "allow",
					r->proto == IPPROTO_TCP ? "tcp" : r->proto == IPPROTO_UDP ? "udp" : "any",
					r->family ? a : "any", r->src_plen, r->sport_lo, r->sport_hi,
					r->family ? b : "any", r->dst_plen, r->dport_lo, r->dport_hi);
		if (!r->family)	/* "any/0" is not a CIDR: drop the /0 */
			ck_abort_msg("generated rule without family");
	}
	return t;
}

/* Incremental updates of a 100,000-rule set: each result must equal the
 * reference, and an in-place edit of 10 rules must write a few entries. */
START_TEST(test_incremental_update)
{
	enum fw_gen_kind kind = (enum fw_gen_kind)_i;
	struct fw_map_ops ops = { .update = sim_update, .del = sim_delete };
	/* the v6 set's update paths are those of the others: 20,000 rules
	 * keep its share of the suite's time small */
	const uint32_t n = (uint32_t)ftoe_test_scaled(kind == FW_GEN_V6 ? 20000 : 100000);
	struct fw_ruleset *rs = gen_set(kind, n, 5), *donor = gen_set(kind, 64, 6), *next;
	struct fw_compile_stats st;
	struct fw_tables *t;
	struct fw_error err;
	uint32_t pos[10];
	char *text;
	struct sim s;
	int i, step;

	sim_init(&s);
	ops.ctx = &s;
	ck_assert_int_eq(fw_tables_compile(rs, 0, &ops, &t, &st, &err), 0);
	for (step = 0; step < 5; step++) {
		char what[64];

		for (i = 0; i < 10; i++)
			pos[i] = (uint32_t)(i * 9973 + step * 17) % n;
		switch (step) {
		case 0:		/* 10 rules edited in place */
			text = edit_text(rs, donor, pos, 10, 0, 0, "deny");
			break;
		case 1:		/* 5 appended */
			text = edit_text(rs, donor, NULL, 0, 5, 0, "deny");
			break;
		case 2:		/* 7 cut from the end, policy flipped */
			text = edit_text(rs, donor, NULL, 0, 0, 7, "allow");
			break;
		case 3:		/* one inserted at the top: every position moves */
			text = edit_text(rs, donor, NULL, 0, 0, 0, "allow");
			{
				const struct fw_rule *r0 = fw_ruleset_rule(donor, 63);
				char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], *t2 = malloc(strlen(text) + 160);
				int af = r0->family == 6 ? AF_INET6 : AF_INET;

				inet_ntop(af, r0->src, a, sizeof(a));
				inet_ntop(af, r0->dst, b, sizeof(b));
				sprintf(t2, "deny any %s/%u any %s/%u any\n%s", a, r0->src_plen, b, r0->dst_plen, text);
				free(text);
				text = t2;
			}
			break;
		default:	/* back to a set edited in place */
			text = edit_text(rs, donor, pos, 10, 0, 0, "deny");
			break;
		}
		next = parse_ok(text);
		free(text);
		s.deletes = 0;
		ck_assert_int_eq(fw_tables_update(t, next, &ops, &st, &err), 0);
		if (step == 0 || step == 1 || step == 2)
			ck_assert_msg(st.nr_writes <= 80, "step %d: %u map writes for a small edit", step,
				      st.nr_writes);
		ck_assert_uint_eq(st.nr_entries, s.live);
		snprintf(what, sizeof(what), "%s, update step %d", fw_gen_kind_name(kind), step);
		check_packets(&s, next, 3000 + (uint64_t)step, 200, what);
		/* packets inside the edited rules */
		{
			uint64_t rng = (uint64_t)step;
			struct fw_packet p;
			uint32_t wr, gr, want, got;

			for (i = 0; i < 10; i++) {
				fw_gen_packet_in(fw_ruleset_rule(next, pos[i] < fw_ruleset_nr_rules(next) ? pos[i] : 0),
						 &rng, &p);
				want = fw_ruleset_match(next, &p, &wr);
				got = sim_lookup(&s, &p, &gr);
				ck_assert_msg(want == got && wr == gr, "%s: edited rule %u: reference rule %u, "
					      "compiled rule %u", what, pos[i], wr, gr);
			}
		}
		fw_ruleset_free(rs);
		rs = next;
	}
	/* the library's one-shot form gives the same verdicts */
	{
		struct sim s2;
		struct fw_ruleset *prev = gen_set(kind, 1000, 8), *cur = gen_set(kind, 1000, 9);

		sim_init(&s2);
		ops.ctx = &s2;
		ck_assert_int_eq(fw_ruleset_compile(prev, 1, &ops, NULL, &err), 0);
		ck_assert_int_eq(fw_ruleset_compile_update(prev, cur, 1, &ops, &st, &err), 0);
		ck_assert_uint_eq(st.nr_entries, s2.live);
		check_packets(&s2, cur, 11, 2000, "compile_update");
		ops.del = NULL;
		ck_assert_int_eq(fw_ruleset_compile_update(cur, prev, 1, &ops, &st, &err), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err.msg, "delete"));
		fw_ruleset_free(prev);
		fw_ruleset_free(cur);
		sim_free(&s2);
	}
	fw_tables_free(t);
	fw_ruleset_free(rs);
	fw_ruleset_free(donor);
	sim_free(&s);
}
END_TEST

/* ---- parse_edit and snapshots ------------------------------------------------ */

static void rules_equal(const struct fw_ruleset *a, const struct fw_ruleset *b, const char *what)
{
	size_t i;

	ck_assert_msg(fw_ruleset_nr_rules(a) == fw_ruleset_nr_rules(b), "%s: %zu rules, want %zu", what,
		      fw_ruleset_nr_rules(a), fw_ruleset_nr_rules(b));
	ck_assert_msg(fw_ruleset_policy(a) == fw_ruleset_policy(b), "%s: policy", what);
	for (i = 0; i < fw_ruleset_nr_rules(a); i++) {
		const struct fw_rule *x = fw_ruleset_rule(a, i), *y = fw_ruleset_rule(b, i);

		ck_assert_msg(x->line == y->line && x->action == y->action && x->proto == y->proto &&
			      x->family == y->family && x->src_plen == y->src_plen &&
			      x->dst_plen == y->dst_plen && !memcmp(x->src, y->src, 16) &&
			      !memcmp(x->dst, y->dst, 16) && x->sport_lo == y->sport_lo &&
			      x->sport_hi == y->sport_hi && x->dport_lo == y->dport_lo &&
			      x->dport_hi == y->dport_hi,
			      "%s: rule %zu (line %u) differs from the full parse's (line %u)", what, i,
			      x->line, y->line);
	}
}

/* The lines of text (copies) into *lines; returns how many. */
static size_t split_lines(const char *text, char ***lines)
{
	size_t n = 0, cap = 1024;
	const char *p = text, *nl;

	*lines = malloc(cap * sizeof(**lines));
	while (*p) {
		nl = strchr(p, '\n');
		if (n == cap)
			*lines = realloc(*lines, (cap *= 2) * sizeof(**lines));
		(*lines)[n++] = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

/* Edits of a generated 2,000-rule file: parse_edit gives what a full parse
 * of the new text gives - the same rules with the same lines, or the same
 * error on the same line. */
START_TEST(test_parse_edit)
{
	static const char *const extra[] = {
		"deny tcp 10.9.9.0/24 any any 22", "allow udp any 53 any any", "# a comment",
		"", "policy deny", "deny icmp any any any any", "allow tcp 10.1.1.1 1-1023 any 80",
		"  deny any 2001:db8::/32 any any any  # trailing"
	};
	char *gen, **lines, *old_text, *new_text;
	size_t n, i, len;
	uint64_t rng = 77 + (uint64_t)_i;

	ck_assert_int_eq(fw_gen_rules(FW_GEN_ACL, 2000, 3, &gen), 0);
	n = split_lines(gen, &lines);
	free(gen);
	for (int round = 0; round < 40; round++) {
		struct fw_ruleset *old, *full = NULL, *edit = NULL;
		struct fw_error e1, e2;
		size_t nn = 0, k;
		char **nl = malloc((n + 8) * sizeof(*nl));
		int r1, r2;

		/* old: the lines as they are; new: a few replaced, dropped or
		 * inserted, near the top, the middle or the end */
		for (i = 0; i < n; i++) {
			uint64_t x;

			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			x = rng >> 33;
			if (x % 400 == 0 && nn < n + 6)
				nl[nn++] = strdup(extra[(x / 400) % (sizeof(extra) / sizeof(extra[0]))]);
			if (x % 397 == 1)
				continue;	/* dropped */
			nl[nn++] = strdup(lines[i]);
		}
		if (round % 5 == 0)
			nl[nn++] = strdup(extra[round % 4]);	/* appended */
		for (len = 1, i = 0; i < n; i++)
			len += strlen(lines[i]) + 1;
		old_text = malloc(len);
		for (k = 0, i = 0; i < n; i++)
			k += (size_t)sprintf(old_text + k, "%s\n", lines[i]);
		for (len = 1, i = 0; i < nn; i++)
			len += strlen(nl[i]) + 1;
		new_text = malloc(len);
		for (k = 0, i = 0; i < nn; i++)
			k += (size_t)sprintf(new_text + k, round % 3 == 2 && i == nn - 1 ? "%s" : "%s\n", nl[i]);
		old = parse_ok(old_text);
		r1 = fw_ruleset_parse_str(new_text, &full, &e1);
		r2 = fw_ruleset_parse_edit(old, old_text, new_text, &edit, &e2);
		ck_assert_int_eq(r2, r1);
		if (r1) {
			ck_assert_uint_eq(e2.line, e1.line);
			ck_assert_str_eq(e2.msg, e1.msg);
			ck_assert_ptr_null(edit);
		} else {
			char what[64];

			snprintf(what, sizeof(what), "round %d", round);
			rules_equal(edit, full, what);
		}
		/* and against itself: no change */
		fw_ruleset_free(edit);
		ck_assert_int_eq(fw_ruleset_parse_edit(old, old_text, old_text, &edit, &e2), 0);
		rules_equal(edit, old, "unchanged");
		fw_ruleset_free(edit);
		fw_ruleset_free(full);
		fw_ruleset_free(old);
		for (i = 0; i < nn; i++)
			free(nl[i]);
		free(nl);
		free(old_text);
		free(new_text);
	}
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}
END_TEST

/* A shadowed rule (an exact twin of an earlier one) stays out of the
 * buckets across updates that leave its twin alone, and decides again
 * when the twin changes or goes: one packet in the twins' fields. */
START_TEST(test_update_shadowed)
{
	static const char *const texts[] = {
		/* rule 1 shadows rule 4 (same fields, other action) */
		"allow tcp 10.0.0.0/8 any 192.0.2.0/24 81\n"
		"deny  tcp 10.1.0.0/16 any 192.0.2.7 80\n"
		"allow udp 10.2.0.0/16 any any 53\n"
		"allow tcp 10.3.0.0/16 any 192.0.2.0/24 22\n"
		"allow tcp 10.1.0.0/16 any 192.0.2.7 80\n",
		/* rule 2 edited (not a twin): 4 stays shadowed */
		"allow tcp 10.0.0.0/8 any 192.0.2.0/24 81\n"
		"deny  tcp 10.1.0.0/16 any 192.0.2.7 80\n"
		"deny  udp 10.2.0.0/16 any any 53\n"
		"allow tcp 10.3.0.0/16 any 192.0.2.0/24 22\n"
		"allow tcp 10.1.0.0/16 any 192.0.2.7 80\n",
		/* the twin changes: rule 4 must decide its packets now */
		"allow tcp 10.0.0.0/8 any 192.0.2.0/24 81\n"
		"deny  tcp 10.1.0.0/16 any 192.0.2.7 8080\n"
		"deny  udp 10.2.0.0/16 any any 53\n"
		"allow tcp 10.3.0.0/16 any 192.0.2.0/24 22\n"
		"allow tcp 10.1.0.0/16 any 192.0.2.7 80\n",
		/* a new twin before it (rule 3) */
		"allow tcp 10.0.0.0/8 any 192.0.2.0/24 81\n"
		"deny  tcp 10.1.0.0/16 any 192.0.2.7 8080\n"
		"deny  udp 10.2.0.0/16 any any 53\n"
		"deny  tcp 10.1.0.0/16 any 192.0.2.7 80\n"
		"allow tcp 10.1.0.0/16 any 192.0.2.7 80\n",
	};
	static const uint32_t want_rule[] = { 1, 1, 4, 3 };
	struct fw_map_ops ops = { .update = sim_update, .del = sim_delete };
	struct fw_compile_stats st;
	struct fw_ruleset *rs;
	struct fw_tables *t;
	struct fw_error err;
	struct fw_packet p = { .family = 4, .proto = IPPROTO_TCP, .sport = 5000, .dport = 80 };
	struct sim s;
	uint32_t rule;

	inet_pton(AF_INET, "10.1.2.3", p.src);
	inet_pton(AF_INET, "192.0.2.7", p.dst);
	sim_init(&s);
	ops.ctx = &s;
	for (unsigned int k = 0; k < 4; k++) {
		rs = parse_ok(texts[k]);
		if (!k)
			ck_assert_int_eq(fw_tables_compile(rs, 0, &ops, &t, &st, &err), 0);
		else
			ck_assert_int_eq(fw_tables_update(t, rs, &ops, &st, &err), 0);
		fw_ruleset_match(rs, &p, &rule);
		ck_assert_uint_eq(rule, want_rule[k]);
		sim_lookup(&s, &p, &rule);
		ck_assert_msg(rule == want_rule[k], "set %u: compiled rule %u, want %u", k, rule,
			      want_rule[k]);
		check_packets(&s, rs, 40 + k, 200, "shadowed twins");
		fw_ruleset_free(rs);
	}
	fw_tables_free(t);
	sim_free(&s);
}
END_TEST

/* A snapshot of a generation's tables reads back only with its tag and
 * intact; updating the read-back tables gives the reference verdicts with
 * the few writes of an in-memory update. */
START_TEST(test_snapshot)
{
	struct fw_map_ops ops = { .update = sim_update, .del = sim_delete };
	struct fw_ruleset *rs = gen_set(FW_GEN_FW, 1000, 12), *donor = gen_set(FW_GEN_FW, 16, 13);
	struct fw_ruleset *back_rs, *next;
	struct fw_tables *t, *back;
	struct fw_compile_stats st;
	struct fw_error err;
	char path[] = "/tmp/ftoe-fwsnap.XXXXXX", *text;
	uint32_t pos[10];
	struct sim s;
	FILE *f;
	long sz;
	int fd, i;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	sim_init(&s);
	ops.ctx = &s;
	ck_assert_int_eq(fw_tables_compile(rs, 1, &ops, &t, &st, &err), 0);
	ck_assert_int_eq(fw_snapshot_write(path, 42, t, rs), 0);
	ck_assert_int_eq(fw_snapshot_read(path, 43, &back, &back_rs), -ESTALE);
	ck_assert_ptr_null(back);
	ck_assert_int_eq(fw_snapshot_read(path, 42, &back, &back_rs), 0);
	rules_equal(back_rs, rs, "snapshot rules");

	/* 10 rules edited in place, applied to the read-back tables */
	for (i = 0; i < 10; i++)
		pos[i] = (uint32_t)(i * 97 + 5);
	text = edit_text(rs, donor, pos, 10, 0, 0, "deny");
	next = parse_ok(text);
	free(text);
	ck_assert_int_eq(fw_tables_update(back, next, &ops, &st, &err), 0);
	ck_assert_msg(st.nr_writes <= 80, "%u map writes for 10 edited rules", st.nr_writes);
	ck_assert_uint_eq(st.nr_entries, s.live);
	check_packets(&s, next, 21, 1000, "update of read-back tables");
	fw_tables_free(back);
	fw_ruleset_free(back_rs);

	/* one flipped byte, a cut file, no file: not read */
	f = fopen(path, "r+");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, sz / 2, SEEK_SET);
	i = fgetc(f);
	fseek(f, sz / 2, SEEK_SET);
	fputc(i ^ 0x10, f);
	fclose(f);
	ck_assert_int_eq(fw_snapshot_read(path, 42, &back, &back_rs), -ESTALE);
	ck_assert_int_eq(fw_snapshot_write(path, 42, t, rs), 0);
	ck_assert_int_eq(truncate(path, sz - 4), 0);
	ck_assert_int_eq(fw_snapshot_read(path, 42, &back, &back_rs), -ESTALE);
	unlink(path);
	ck_assert_int_eq(fw_snapshot_read(path, 42, &back, &back_rs), -ENOENT);
	ck_assert_ptr_null(back_rs);

	/* set aside (no snapshot meanwhile), then rewritten in place over
	 * that longer file: reads back as written, and the aside is gone */
	{
		struct fw_tables *small;
		char aside[sizeof(path) + 4];

		ck_assert_int_eq(fw_snapshot_write(path, 42, t, rs), 0);
		ck_assert_int_eq(fw_snapshot_set_aside(path), 0);
		ck_assert_int_eq(fw_snapshot_read(path, 42, &back, &back_rs), -ENOENT);
		ck_assert_int_eq(fw_tables_of(donor, 0, &small, &err), 0);
		ck_assert_int_eq(fw_snapshot_write(path, 7, small, donor), 0);
		ck_assert_int_eq(fw_snapshot_read(path, 7, &back, &back_rs), 0);
		rules_equal(back_rs, donor, "snapshot written over a set-aside one");
		snprintf(aside, sizeof(aside), "%s.tmp", path);
		ck_assert_int_ne(access(aside, F_OK), 0);
		ck_assert_int_eq(fw_snapshot_set_aside(path), 0);
		ck_assert_int_eq(fw_snapshot_set_aside(path), 0);	/* none: fine */
		unlink(aside);
		fw_tables_free(small);
		fw_tables_free(back);
		fw_ruleset_free(back_rs);
	}

	fw_tables_free(t);
	fw_ruleset_free(rs);
	fw_ruleset_free(next);
	fw_ruleset_free(donor);
	sim_free(&s);
}
END_TEST

/* Read, updated and written again, a snapshot stays the same file:
 * the tables changed in its pages, the write brings in the rules and
 * rewrites the header.  Then 40 rules added (into the room the parts
 * have to grow), and tables not read from it: a new file. */
START_TEST(test_snapshot_in_place)
{
	struct fw_map_ops ops = { .update = sim_update, .del = sim_delete };
	struct fw_ruleset *rs = gen_set(FW_GEN_ACL, 2000, 21), *donor = gen_set(FW_GEN_ACL, 64, 22);
	struct fw_ruleset *back_rs, *next, *more;
	struct fw_tables *t, *back;
	struct fw_compile_stats st;
	struct fw_error err;
	char path[] = "/tmp/ftoe-fwsnap.XXXXXX", *text;
	struct stat a, b;
	uint32_t pos[10];
	struct sim s;
	int fd, i;

	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	sim_init(&s);
	ops.ctx = &s;
	ck_assert_int_eq(fw_tables_compile(rs, 0, &ops, &t, &st, &err), 0);
	ck_assert_int_eq(fw_snapshot_write(path, 5, t, rs), 0);
	ck_assert_int_eq(stat(path, &a), 0);

	ck_assert_int_eq(fw_snapshot_read(path, 5, &back, &back_rs), 0);
	for (i = 0; i < 10; i++)
		pos[i] = (uint32_t)(i * 151 + 3);
	text = edit_text(rs, donor, pos, 10, 0, 0, "deny");
	next = parse_ok(text);
	free(text);
	ck_assert_int_eq(fw_snapshot_set_aside(path), 0);
	ck_assert_int_eq(fw_tables_update(back, next, &ops, &st, &err), 0);
	ck_assert_int_eq(fw_snapshot_write(path, 6, back, next), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_msg(a.st_ino == b.st_ino, "the snapshot was rewritten, not updated in place");
	fw_tables_free(back);
	fw_ruleset_free(back_rs);
	ck_assert_int_eq(fw_snapshot_read(path, 5, &back, &back_rs), -ESTALE);
	ck_assert_int_eq(fw_snapshot_read(path, 6, &back, &back_rs), 0);
	rules_equal(back_rs, next, "snapshot updated in place");

	/* 40 rules appended: definitions and buckets added in the room */
	text = edit_text(next, donor, pos, 0, 40, 0, "allow");
	more = parse_ok(text);
	free(text);
	ck_assert_int_eq(fw_snapshot_set_aside(path), 0);
	ck_assert_int_eq(fw_tables_update(back, more, &ops, &st, &err), 0);
	check_packets(&s, more, 31, 1000, "update from a snapshot updated in place");
	ck_assert_int_eq(fw_snapshot_write(path, 7, back, more), 0);
	fw_tables_free(back);
	fw_ruleset_free(back_rs);
	ck_assert_int_eq(fw_snapshot_read(path, 7, &back, &back_rs), 0);
	rules_equal(back_rs, more, "snapshot after 40 inserted rules");
	fw_tables_free(back);
	fw_ruleset_free(back_rs);

	/* tables not read from it: a new file in its place */
	ck_assert_int_eq(fw_snapshot_write(path, 8, t, rs), 0);
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_msg(a.st_ino != b.st_ino, "expected a new file");
	ck_assert_int_eq(fw_snapshot_read(path, 8, &back, &back_rs), 0);
	rules_equal(back_rs, rs, "snapshot written anew");
	fw_tables_free(back);
	fw_ruleset_free(back_rs);

	unlink(path);
	fw_tables_free(t);
	fw_ruleset_free(rs);
	fw_ruleset_free(next);
	fw_ruleset_free(more);
	fw_ruleset_free(donor);
	sim_free(&s);
}
END_TEST

static Suite *fwrules_suite(void)
{
	Suite *s = suite_create("loader_fwrules");
	TCase *tc = tcase_create("fwrules"), *tc6;

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_fields);
	tcase_add_loop_test(tc, test_parse_errors, 0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, test_parse_file_errors);
	tcase_add_test(tc, test_first_match);
	tcase_add_test(tc, test_port_ranges);
	tcase_add_loop_test(tc, test_compile_matches_reference, 0, 24);
	tcase_add_test(tc, test_compile_limits);
	tcase_add_loop_test(tc, test_generated_sets, 0, FW_GEN_V6);
	tcase_add_loop_test(tc, test_incremental_update, 0, FW_GEN_V6);
	tcase_add_loop_test(tc, test_parse_edit, 0, 3);
	tcase_add_test(tc, test_update_shadowed);
	tcase_add_test(tc, test_snapshot);
	tcase_add_test(tc, test_snapshot_in_place);
	suite_add_tcase(s, tc);
	/* the IPv6 generator apart, so CK_RUN_CASE can time or pick it */
	tc6 = tcase_create("fwrules_v6");
	tcase_set_timeout(tc6, 60);
	tcase_add_loop_test(tc6, test_generated_sets, FW_GEN_V6, FW_GEN_NR);
	tcase_add_loop_test(tc6, test_incremental_update, FW_GEN_V6, FW_GEN_NR);
	suite_add_tcase(s, tc6);
	return s;
}

FTOE_TEST_SUITE(fwrules_suite)
