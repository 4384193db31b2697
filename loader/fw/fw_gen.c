/* fw_gen.c - generated rule sets for tests and benchmarks: the site generator, ClassBench-style ACL, firewall and IP-chain sets, and the firewall set with IPv6 rules. */
#include "loader/fw/fw_gen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOMATCH_SRC	0xc6336407u	/* 198.51.100.7, FW_GEN_NOMATCH_SRC */
#define NOMATCH_DST	0xc0000201u	/* 192.0.2.1, FW_GEN_NOMATCH_DST */

/* splitmix64, as tests/diff/pktgen.h: the site sets stay what fw_bench
 * generated before it moved here */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(rng_next(s) % n) : 0;
}

static bool rng_chance(uint64_t *s, uint32_t percent)
{
	return rng_below(s, 100) < percent;
}

/* ---- the site generator ----------------------------------------------------- */

struct strbuf {
	char *s;
	size_t len, cap;
};

static int sb_printf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sb_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return -EINVAL;
		if (b->s && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return 0;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 1 << 16;
			char *p;

			while (cap < b->len + (size_t)n + 1)
				cap *= 2;
			p = realloc(b->s, cap);
			if (!p)
				return -ENOMEM;
			b->s = p;
			b->cap = cap;
		}
	}
}

static uint32_t plen_mask(uint32_t plen)
{
	return plen ? ~0u << (32 - plen) : 0;
}

/* A prefix length drawn from a weighted table (weights sum to 100).  Real
 * ACLs concentrate on the octet boundaries and a few subnet sizes; the
 * number of distinct lengths is what multiplies the masks. */
struct plen_weight {
	uint8_t plen, weight;
};

static uint32_t draw_plen(uint64_t *r, const struct plen_weight *t, size_t n)
{
	uint32_t p = rng_below(r, 100), acc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		acc += t[i].weight;
		if (p < acc)
			return t[i].plen;
	}
	return t[n - 1].plen;
}

static void fmt_ip4(char *out, size_t sz, uint32_t a, uint32_t plen)
{
	if (plen == 32)
		snprintf(out, sz, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	else
		snprintf(out, sz, "%u.%u.%u.%u/%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
			 a & 255, plen);
}

/* Source: any (20%), else a public prefix (first octet 1..223 but not 10
 * or 127) that does not cover NOMATCH_SRC. */
static void gen_src(uint64_t *r, char *out, size_t sz)
{
	static const struct plen_weight w[] = {
		{ 32, 40 }, { 24, 32 }, { 16, 15 }, { 8, 4 }, { 12, 2 }, { 20, 3 }, { 28, 4 },
	};
	uint32_t a, plen;

	if (rng_chance(r, 20)) {
		snprintf(out, sz, "any");
		return;
	}
	plen = draw_plen(r, w, sizeof(w) / sizeof(w[0]));
	do {
		a = (uint32_t)rng_next(r);
		a = (a & 0x00ffffff) | (1 + rng_below(r, 223)) << 24;
		a &= plen_mask(plen);
	} while ((a >> 24) == 10 || (a >> 24) == 127 ||
		 (NOMATCH_SRC & plen_mask(plen)) == a);
	fmt_ip4(out, sz, a, plen);
}

/* Destination: inside 10.0.0.0/8, mostly hosts and /24s; any (10%) only
 * when the source is not any, so that no rule matches every source. */
static void gen_dst(uint64_t *r, bool src_any, char *out, size_t sz)
{
	static const struct plen_weight w[] = {
		{ 32, 64 }, { 24, 22 }, { 16, 6 }, { 8, 1 }, { 28, 4 }, { 30, 3 },
	};
	uint32_t a, plen;

	if (!src_any && rng_chance(r, 10)) {
		snprintf(out, sz, "any");
		return;
	}
	plen = draw_plen(r, w, sizeof(w) / sizeof(w[0]));
	a = (10u << 24 | ((uint32_t)rng_next(r) & 0x00ffffff)) & plen_mask(plen);
	fmt_ip4(out, sz, a, plen);
}

static void gen_dport(uint64_t *r, char *out, size_t sz)
{
	static const uint16_t services[] = {
		22, 25, 53, 80, 110, 123, 143, 161, 389, 443, 445, 993, 995,
		1433, 3306, 3389, 5432, 6379, 8080, 8443,
	};
	static const char *const ranges[] = {
		"1024-65535", "49152-65535", "6000-6063", "8000-8099", "137-139", "5060-5061",
		"20-21",
	};
	uint32_t p = rng_below(r, 100);

	if (p < 60)
		snprintf(out, sz, "%u", services[rng_below(r, sizeof(services) / sizeof(services[0]))]);
	else if (p < 72)
		snprintf(out, sz, "%u", 1 + rng_below(r, 65535));
	else if (p < 80)
		snprintf(out, sz, "%s", ranges[rng_below(r, sizeof(ranges) / sizeof(ranges[0]))]);
	else
		snprintf(out, sz, "any");
}

static void gen_sport(uint64_t *r, char *out, size_t sz)
{
	static const uint16_t ports[] = { 20, 53, 123 };
	uint32_t p = rng_below(r, 100);

	if (p < 95)
		snprintf(out, sz, "any");
	else
		snprintf(out, sz, "%u", ports[rng_below(r, 3)]);
}

/* n rules, policy deny: 60% allow, 40% deny; tcp 60%, udp 25%, any 15%
 * (without ports).  The same seed and n give the same text. */
static int gen_site(uint32_t n, uint64_t seed, struct strbuf *b)
{
	uint64_t r = seed ^ ((uint64_t)n << 32);
	uint32_t i;
	int err;

	err = sb_printf(b, "# site rule set: %u rules, seed 0x%" PRIx64 "\npolicy deny\n", n,
			seed);
	for (i = 0; !err && i < n; i++) {
		char src[24], dst[24], sport[16] = "any", dport[16] = "any";
		const char *proto, *action = rng_chance(&r, 60) ? "allow" : "deny";
		uint32_t p = rng_below(&r, 100);

		proto = p < 60 ? "tcp" : p < 85 ? "udp" : "any";
		gen_src(&r, src, sizeof(src));
		gen_dst(&r, !strcmp(src, "any"), dst, sizeof(dst));
		if (strcmp(proto, "any")) {
			gen_sport(&r, sport, sizeof(sport));
			gen_dport(&r, dport, sizeof(dport));
		}
		err = sb_printf(b, "%-5s %-3s %-18s %-10s %-15s %s\n", action, proto, src, sport,
				dst, dport);
	}
	return err;
}

/* ---- ClassBench-style generators ------------------------------------------
 *
 * Shaped after the seed statistics Taylor and Turner publish with
 * ClassBench (ToN 2007, section IV; the acl1, fw1 and ipc1 parameter
 * files): a protocol mix, a distribution over port-pair classes - WC
 * (any), HI (1024-65535), LO (0-1023), AR (an arbitrary range), EM (one
 * port) - and per-field prefix-length distributions; addresses nest
 * (a new prefix often extends one already used, as their skewed prefix
 * trees do).  The weights below are our approximation of those shapes,
 * not the parameter files' numbers:
 *   acl: destinations mostly hosts, sources of every length, one
 *        destination port (WC/EM) dominates;
 *   fw:  many wildcard addresses on either side, WC/WC and WC/EM ports,
 *        HI ranges;
 *   ipc: host pairs and subnets on both sides, exact ports both ways.
 */

enum port_class { PC_WC, PC_HI, PC_LO, PC_AR, PC_EM };

struct port_pair {
	uint8_t sport, dport, weight;
};

struct cb_params {
	uint8_t tcp, udp;		/* percent; the rest any (no ports) */
	uint8_t v6;			/* percent of rules with IPv6 prefixes */
	const struct port_pair *pairs;
	size_t nr_pairs;
	const struct plen_weight *src, *dst;
	size_t nr_src, nr_dst;
	uint8_t nest;			/* percent of prefixes that extend an earlier one */
};

static const struct port_pair acl_pairs[] = {
	{ PC_WC, PC_EM, 55 }, { PC_WC, PC_AR, 14 }, { PC_WC, PC_WC, 15 }, { PC_WC, PC_HI, 8 },
	{ PC_HI, PC_EM, 4 }, { PC_EM, PC_WC, 4 },
};
static const struct plen_weight acl_src[] = {
	{ 0, 8 }, { 8, 3 }, { 16, 10 }, { 20, 4 }, { 22, 4 }, { 24, 24 }, { 26, 4 }, { 27, 4 },
	{ 28, 5 }, { 29, 2 }, { 30, 2 }, { 32, 30 },
};
static const struct plen_weight acl_dst[] = {
	{ 32, 55 }, { 24, 15 }, { 28, 8 }, { 30, 7 }, { 29, 5 }, { 16, 5 }, { 26, 5 },
};
static const struct port_pair fw_pairs[] = {
	{ PC_WC, PC_WC, 30 }, { PC_WC, PC_EM, 30 }, { PC_WC, PC_HI, 10 }, { PC_HI, PC_EM, 8 },
	{ PC_EM, PC_WC, 6 }, { PC_WC, PC_AR, 10 }, { PC_HI, PC_HI, 6 },
};
static const struct plen_weight fw_src[] = {
	{ 0, 40 }, { 32, 25 }, { 24, 15 }, { 16, 8 }, { 8, 4 }, { 28, 4 }, { 30, 4 },
};
static const struct plen_weight fw_dst[] = {
	{ 0, 30 }, { 32, 40 }, { 24, 15 }, { 16, 7 }, { 29, 4 }, { 30, 4 },
};
static const struct port_pair ipc_pairs[] = {
	{ PC_WC, PC_WC, 40 }, { PC_WC, PC_EM, 25 }, { PC_EM, PC_WC, 10 }, { PC_EM, PC_EM, 10 },
	{ PC_WC, PC_HI, 5 }, { PC_LO, PC_HI, 5 }, { PC_HI, PC_LO, 5 },
};
static const struct plen_weight ipc_plen[] = {
	{ 32, 45 }, { 24, 20 }, { 16, 10 }, { 0, 15 }, { 8, 5 }, { 28, 5 },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* IPv6: hosts, the /64 of a subnet, /48 and /56 site and customer
 * allocations, /32 provider blocks (RFC 6177's assignment sizes) */
static const struct plen_weight v6_src[] = {
	{ 0, 35 }, { 128, 20 }, { 64, 20 }, { 48, 12 }, { 56, 6 }, { 32, 4 }, { 40, 3 },
};
static const struct plen_weight v6_dst[] = {
	{ 0, 25 }, { 128, 40 }, { 64, 18 }, { 48, 8 }, { 56, 5 }, { 120, 4 },
};

static const struct cb_params cb_params[FW_GEN_NR] = {
	[FW_GEN_ACL] = { 70, 20, 0, acl_pairs, N(acl_pairs), acl_src, acl_dst, N(acl_src), N(acl_dst), 70 },
	[FW_GEN_FW] = { 60, 25, 0, fw_pairs, N(fw_pairs), fw_src, fw_dst, N(fw_src), N(fw_dst), 60 },
	[FW_GEN_IPC] = { 50, 30, 0, ipc_pairs, N(ipc_pairs), ipc_plen, ipc_plen, N(ipc_plen), N(ipc_plen), 70 },
	/* fw's ports and IPv4 shapes, three rules in four IPv6 */
	[FW_GEN_V6] = { 60, 25, 75, fw_pairs, N(fw_pairs), fw_src, fw_dst, N(fw_src), N(fw_dst), 60 },
};

#define POOL	4096

struct addr_pool {
	uint32_t a[POOL];
	uint32_t nr;
	uint8_t a6[POOL][16];
	uint32_t nr6;
};

/* A prefix of length plen that covers neither no-match address; often
 * the start of an earlier address (nesting). */
static uint32_t draw_prefix(uint64_t *r, struct addr_pool *pool, uint32_t plen, uint8_t nest)
{
	uint32_t a;

	do {
		if (pool->nr && rng_chance(r, nest))
			a = pool->a[rng_below(r, pool->nr)] ^ (rng_below(r, 4) ? 0 : (uint32_t)rng_next(r) & 0xff);
		else
			a = (uint32_t)rng_next(r);
		a &= plen_mask(plen);
	} while ((NOMATCH_SRC & plen_mask(plen)) == a || (NOMATCH_DST & plen_mask(plen)) == a);
	if (pool->nr < POOL)
		pool->a[pool->nr++] = a;
	else
		pool->a[rng_below(r, POOL)] = a;
	return a;
}

/* Does the IPv6 prefix a/plen cover addr? */
static bool covers6(const uint8_t *a, uint32_t plen, const uint8_t *addr)
{
	uint32_t i;

	for (i = 0; i < 16; i++) {
		uint32_t first = i * 8;
		uint8_t keep = first >= plen ? 0 : plen - first >= 8 ? 0xff : (uint8_t)(0xff << (8 - (plen - first)));

		if ((a[i] & keep) != (addr[i] & keep))
			return false;
	}
	return true;
}

static void mask6(uint8_t *a, uint32_t plen)
{
	uint32_t i;

	for (i = 0; i < 16; i++) {
		uint32_t first = i * 8;

		a[i] &= first >= plen ? 0 : plen - first >= 8 ? 0xff : (uint8_t)(0xff << (8 - (plen - first)));
	}
}

/* An IPv6 prefix of length plen (16..128) in 2000::/3 that covers
 * neither no-match address; often an earlier one's start, with the last
 * byte of the prefix changed now and then (nesting, as draw_prefix). */
static void draw_prefix6(uint64_t *r, struct addr_pool *pool, uint32_t plen, uint8_t nest, uint8_t *out)
{
	uint8_t ns[16], nd[16];
	uint32_t i;

	inet_pton(AF_INET6, FW_GEN_NOMATCH6_SRC, ns);
	inet_pton(AF_INET6, FW_GEN_NOMATCH6_DST, nd);
	do {
		if (pool->nr6 && rng_chance(r, nest)) {
			memcpy(out, pool->a6[rng_below(r, pool->nr6)], 16);
			if (!rng_below(r, 4))
				out[(plen - 1) / 8] ^= (uint8_t)rng_next(r);
		} else {
			for (i = 0; i < 16; i++)
				out[i] = (uint8_t)rng_next(r);
			out[0] = (uint8_t)(0x20 | (out[0] & 0x1f));	/* global unicast */
		}
		mask6(out, plen);
	} while (covers6(out, plen, ns) || covers6(out, plen, nd));
	if (pool->nr6 < POOL)
		memcpy(pool->a6[pool->nr6++], out, 16);
	else
		memcpy(pool->a6[rng_below(r, POOL)], out, 16);
}

static void fmt_ip6(char *out, size_t sz, const uint8_t *a, uint32_t plen)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	if (plen == 128)
		snprintf(out, sz, "%s", buf);
	else
		snprintf(out, sz, "%s/%u", buf, plen);
}

static void fmt_ports(uint64_t *r, enum port_class c, char *out, size_t sz)
{
	static const uint16_t popular[] = {
		80, 443, 53, 22, 25, 21, 23, 110, 143, 161, 389, 445, 1433, 3306, 3389, 8080,
	};
	static const char *const ranges[] = {
		"6000-6063", "8000-8099", "137-139", "20-21", "5000-5100", "1024-5000",
		"49152-65535", "10000-20000",
	};
	uint32_t lo, hi;

	switch (c) {
	case PC_WC:
		snprintf(out, sz, "any");
		break;
	case PC_HI:
		snprintf(out, sz, "1024-65535");
		break;
	case PC_LO:
		snprintf(out, sz, "0-1023");
		break;
	case PC_AR:
		if (rng_chance(r, 60)) {
			snprintf(out, sz, "%s", ranges[rng_below(r, N(ranges))]);
			break;
		}
		lo = rng_below(r, 65536);
		hi = lo + rng_below(r, 65536 - lo);
		snprintf(out, sz, "%u-%u", lo, hi);
		break;
	case PC_EM:
		if (rng_chance(r, 70))
			snprintf(out, sz, "%u", popular[rng_below(r, N(popular))]);
		else
			snprintf(out, sz, "%u", rng_below(r, 65536));
		break;
	}
}

static int gen_classbench(const struct cb_params *p, uint32_t n, uint64_t seed, const char *name,
			  struct strbuf *b)
{
	struct addr_pool *sp = calloc(1, sizeof(*sp)), *dp = calloc(1, sizeof(*dp));
	uint64_t r = seed ^ ((uint64_t)n << 32) ^ ((uint64_t)p->tcp << 56);
	uint32_t i, total = 0, k;
	int err = 0;

	if (!sp || !dp) {
		free(sp);
		free(dp);
		return -ENOMEM;
	}
	for (k = 0; k < p->nr_pairs; k++)
		total += p->pairs[k].weight;
	err = sb_printf(b, "# ClassBench-style %s rule set: %u rules, seed 0x%" PRIx64 "\npolicy deny\n",
			name, n, seed);
	for (i = 0; !err && i < n; i++) {
		char src[64] = "any", dst[64] = "any", sport[16] = "any", dport[16] = "any";
		uint32_t pp = rng_below(&r, 100), sl, dl, w;
		const char *proto = pp < p->tcp ? "tcp" : pp < p->tcp + p->udp ? "udp" : "any";
		bool v6 = p->v6 && rng_chance(&r, p->v6);

		if (v6) {
			uint8_t a[16];

			sl = draw_plen(&r, v6_src, N(v6_src));
			dl = draw_plen(&r, v6_dst, N(v6_dst));
			while (!sl && !dl)
				dl = draw_plen(&r, v6_dst, N(v6_dst));
			if (sl) {
				draw_prefix6(&r, sp, sl, p->nest, a);
				fmt_ip6(src, sizeof(src), a, sl);
			}
			if (dl) {
				draw_prefix6(&r, dp, dl, p->nest, a);
				fmt_ip6(dst, sizeof(dst), a, dl);
			}
		} else {
			sl = draw_plen(&r, p->src, p->nr_src);
			dl = draw_plen(&r, p->dst, p->nr_dst);
			while (!sl && !dl)	/* one side pinned: no rule matches everything */
				dl = draw_plen(&r, p->dst, p->nr_dst);
			if (sl)
				fmt_ip4(src, sizeof(src), draw_prefix(&r, sp, sl, p->nest), sl);
			if (dl)
				fmt_ip4(dst, sizeof(dst), draw_prefix(&r, dp, dl, p->nest), dl);
		}
		if (strcmp(proto, "any")) {
			w = rng_below(&r, total);
			for (k = 0; k + 1 < p->nr_pairs && w >= p->pairs[k].weight; k++)
				w -= p->pairs[k].weight;
			fmt_ports(&r, (enum port_class)p->pairs[k].sport, sport, sizeof(sport));
			fmt_ports(&r, (enum port_class)p->pairs[k].dport, dport, sizeof(dport));
		}
		err = sb_printf(b, v6 ? "%-5s %-3s %-28s %-11s %-28s %s\n" : "%-5s %-3s %-18s %-11s %-18s %s\n",
				rng_chance(&r, 60) ? "allow" : "deny", proto, src, sport, dst, dport);
	}
	free(sp);
	free(dp);
	return err;
}

/* ---- public ------------------------------------------------------------------ */

static const char *const kind_names[FW_GEN_NR] = { "site", "acl", "fw", "ipc", "v6" };

const char *fw_gen_kind_name(enum fw_gen_kind k)
{
	return (unsigned int)k < FW_GEN_NR ? kind_names[k] : "?";
}

int fw_gen_kind_parse(const char *name, enum fw_gen_kind *k)
{
	unsigned int i;

	for (i = 0; i < FW_GEN_NR; i++) {
		if (!strcmp(name, kind_names[i])) {
			*k = (enum fw_gen_kind)i;
			return 0;
		}
	}
	return -EINVAL;
}

int fw_gen_rules(enum fw_gen_kind k, uint32_t n, uint64_t seed, char **text)
{
	struct strbuf b = { 0 };
	int err;

	*text = NULL;
	if ((unsigned int)k >= FW_GEN_NR)
		return -EINVAL;
	err = k == FW_GEN_SITE ? gen_site(n, seed, &b) :
	      gen_classbench(&cb_params[k], n, seed, kind_names[k], &b);
	if (err) {
		free(b.s);
		return err;
	}
	*text = b.s;
	return 0;
}

static void fill_addr(uint64_t *r, const uint8_t *prefix, uint8_t plen, uint8_t family, uint8_t *out)
{
	unsigned int i, bits = family == 6 ? 128 : 32;

	memset(out, 0, 16);
	for (i = 0; i < bits / 8; i++) {
		unsigned int first = i * 8;
		uint8_t keep = first >= plen ? 0 : (plen - first >= 8 ? 0xff : (uint8_t)(0xff << (8 - (plen - first))));

		out[i] = (uint8_t)((prefix[i] & keep) | ((uint8_t)rng_next(r) & ~keep));
	}
}

void fw_gen_packet_in(const struct fw_rule *rule, uint64_t *r, struct fw_packet *p)
{
	memset(p, 0, sizeof(*p));
	p->family = rule->family ? rule->family : 4;
	p->proto = rule->proto ? rule->proto : (rng_chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP);
	fill_addr(r, rule->src, rule->src_plen, p->family, p->src);
	fill_addr(r, rule->dst, rule->dst_plen, p->family, p->dst);
	p->sport = (uint16_t)(rule->sport_lo + rng_below(r, (uint32_t)rule->sport_hi - rule->sport_lo + 1));
	p->dport = (uint16_t)(rule->dport_lo + rng_below(r, (uint32_t)rule->dport_hi - rule->dport_lo + 1));
}

void fw_gen_packet_near(const struct fw_ruleset *rs, uint64_t *r, struct fw_packet *p)
{
	size_t n = fw_ruleset_nr_rules(rs);
	unsigned int bit;

	if (!n) {
		memset(p, 0, sizeof(*p));
		p->family = 4;
		p->proto = IPPROTO_TCP;
		return;
	}
	fw_gen_packet_in(fw_ruleset_rule(rs, rng_below(r, (uint32_t)n)), r, p);
	switch (rng_below(r, 4)) {
	case 0:		/* inside that rule: maybe an earlier one decides */
		break;
	case 1:
		bit = rng_below(r, p->family == 6 ? 128 : 32);
		p->src[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		break;
	case 2:
		bit = rng_below(r, p->family == 6 ? 128 : 32);
		p->dst[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		break;
	default:
		p->dport = (uint16_t)rng_next(r);
		p->proto = rng_chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP;
		break;
	}
}
