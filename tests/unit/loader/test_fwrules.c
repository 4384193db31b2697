/* test_fwrules.c - firewall rule files: parsing and its errors, first-match semantics, port ranges, CIDR overlaps, compiled tables. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

struct sim {
	struct fw_key *keys;
	struct fw_rule_val *vals;
	size_t nr, cap;
	struct fw_tuple tuples[FW_GENERATIONS * FW_MAX_TUPLES];
	struct fw_gen gens[FW_GENERATIONS];
	uint32_t active;
	unsigned int updates_after_active;	/* writes after the fw_active switch */
	bool active_written;
};

static int sim_update(void *ctx, const char *map, const void *key, size_t ksz, const void *val, size_t vsz)
{
	struct sim *s = ctx;
	uint32_t k;

	if (s->active_written)
		s->updates_after_active++;
	if (!strcmp(map, "fw_rules")) {
		ck_assert_uint_eq(ksz, sizeof(struct fw_key));
		ck_assert_uint_eq(vsz, sizeof(struct fw_rule_val));
		if (s->nr == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
			s->vals = realloc(s->vals, s->cap * sizeof(*s->vals));
		}
		for (size_t i = 0; i < s->nr; i++)
			ck_assert_msg(memcmp(&s->keys[i], key, ksz), "fw_rules key written twice");
		memcpy(&s->keys[s->nr], key, ksz);
		memcpy(&s->vals[s->nr], val, vsz);
		s->nr++;
		return 0;
	}
	ck_assert_uint_eq(ksz, 4);
	memcpy(&k, key, 4);
	if (!strcmp(map, "fw_tuples")) {
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

static uint32_t sim_lookup(const struct sim *s, const struct fw_packet *p, uint32_t *rule)
{
	uint32_t gen = s->active & 1, best = FW_MAX_RULES, action = s->gens[gen].policy, i, w;

	for (i = 0; i < s->gens[gen].nr_tuples; i++) {
		const struct fw_tuple *t = &s->tuples[gen * FW_MAX_TUPLES + i];
		struct fw_key k;

		if (t->min_rule >= best)
			break;
		memset(&k, 0, sizeof(k));
		k.tuple = gen * FW_MAX_TUPLES + i;
		k.f.family = p->family & t->mask.family;
		k.f.proto = p->proto & t->mask.proto;
		k.f.sport = p->sport & t->mask.sport;
		k.f.dport = p->dport & t->mask.dport;
		for (w = 0; w < 16; w++) {
			k.f.src[w] = p->src[w] & t->mask.src[w];
			k.f.dst[w] = p->dst[w] & t->mask.dst[w];
		}
		for (size_t e = 0; e < s->nr; e++) {
			if (!memcmp(&s->keys[e], &k, sizeof(k)) && s->vals[e].rule < best) {
				best = s->vals[e].rule;
				action = s->vals[e].action;
			}
		}
	}
	*rule = best;
	return action;
}

static void sim_free(struct sim *s)
{
	free(s->keys);
	free(s->vals);
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

	memset(&s, 0, sizeof(s));
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
	ck_assert_uint_eq(st.nr_entries, s.nr);
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
	struct fw_map_ops ops;
	struct fw_ruleset *rs;
	struct fw_error err;
	char *text = malloc(1 << 20);
	size_t off = 0;
	struct sim s;
	int i;

	memset(&s, 0, sizeof(s));
	ops.update = sim_update;
	ops.ctx = &s;
	/* an exact duplicate is shadowed, not written twice */
	rs = parse_ok("deny tcp 10.0.0.0/8 any any 22\nallow tcp 10.0.0.0/8 any any 22\n");
	ck_assert_int_eq(fw_ruleset_compile(rs, 0, &ops, &st, &err), 0);
	ck_assert_uint_eq(st.nr_entries, 1);
	ck_assert_uint_eq(st.nr_shadowed, 1);
	ck_assert_int_eq(fw_ruleset_compile(rs, 2, &ops, &st, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "generation 2"));
	fw_ruleset_free(rs);

	/* 33 x 33 source/destination prefix lengths x 4 port-prefix
	 * lengths are 4,356 distinct masks, more than FW_MAX_TUPLES: the
	 * error names the line of the rule that needed one too many */
	for (i = 0; i < 33 * 33 * 4; i++)
		off += (size_t)sprintf(text + off, "allow tcp 0.0.0.0/%d any 0.0.0.0/%d %s\n", i / 132,
				       i / 4 % 33, (const char *[]){ "any", "0-32767", "0-16383", "0-8191" }[i % 4]);
	rs = parse_ok(text);
	sim_free(&s);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(fw_ruleset_compile(rs, 0, &ops, &st, &err), -E2BIG);
	ck_assert_uint_eq(err.line, FW_MAX_TUPLES + 1);
	ck_assert_ptr_nonnull(strstr(err.msg, "distinct masks"));
	fw_ruleset_free(rs);
	sim_free(&s);
	free(text);
}
END_TEST

static Suite *fwrules_suite(void)
{
	Suite *s = suite_create("loader_fwrules");
	TCase *tc = tcase_create("fwrules");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_parse_fields);
	tcase_add_loop_test(tc, test_parse_errors, 0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, test_parse_file_errors);
	tcase_add_test(tc, test_first_match);
	tcase_add_test(tc, test_port_ranges);
	tcase_add_loop_test(tc, test_compile_matches_reference, 0, 24);
	tcase_add_test(tc, test_compile_limits);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(fwrules_suite)
