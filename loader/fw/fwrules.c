/* fwrules.c - parses firewall rule files and compiles them into the firewall program's tuple-space maps. */
#include "lib/util/file.h"
#include "loader/fw/fwrules.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_MAX_TOKENS	8

struct fw_ruleset {
	struct fw_rule *rules;
	size_t nr, cap;
	uint32_t policy;
	unsigned int policy_line;	/* 0: not set, default allow */
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

/* ---- parsing ------------------------------------------------------------- */

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/* "any", "A", "A/LEN" (IPv4 or IPv6).  Host bits must be zero, so a
 * typo such as 10.1.2.3/8 is reported rather than silently widened. */
static int parse_addr(const char *tok, const char *what, unsigned int line, uint8_t *family,
		      uint8_t *addr, uint8_t *plen, struct fw_error *err)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned long len, bits;
	const char *slash;
	size_t alen, i;
	int fam, r;

	memset(addr, 0, 16);
	*family = 0;
	*plen = 0;
	if (!strcmp(tok, "any"))
		return 0;
	slash = strchr(tok, '/');
	alen = slash ? (size_t)(slash - tok) : strlen(tok);
	if (alen == 0 || alen >= INET6_ADDRSTRLEN)
		return fw_fail(err, line, -EINVAL, "%s '%s' is not an address, CIDR or 'any'", what, tok);
	memcpy(buf, tok, alen);
	buf[alen] = '\0';
	fam = strchr(buf, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, buf, addr) != 1)
		return fw_fail(err, line, -EINVAL, "%s '%s': '%s' is not a valid %s address", what, tok,
			       buf, fam == AF_INET ? "IPv4" : "IPv6");
	bits = fam == AF_INET ? 32 : 128;
	len = bits;
	if (slash) {
		r = parse_uint(slash + 1, bits, &len);
		if (r)
			return fw_fail(err, line, -EINVAL, "%s '%s': prefix length '%s' is not a number 0..%lu",
				       what, tok, slash + 1, bits);
	}
	for (i = 0; i < bits / 8; i++) {
		unsigned long first = i * 8;
		uint8_t keep = first >= len ? 0 : (len - first >= 8 ? 0xff : (uint8_t)(0xff << (8 - (len - first))));

		if (addr[i] & ~keep)
			return fw_fail(err, line, -EINVAL,
				       "%s '%s' has bits set beyond the /%lu prefix (host part must be zero)",
				       what, tok, len);
	}
	*family = fam == AF_INET ? 4 : 6;
	*plen = (uint8_t)len;
	return 0;
}

/* "any", "N" or "LO-HI" */
static int parse_ports(const char *tok, const char *what, unsigned int line, uint16_t *lo,
		       uint16_t *hi, struct fw_error *err)
{
	unsigned long a, b;
	char buf[16];
	const char *dash;

	*lo = 0;
	*hi = 65535;
	if (!strcmp(tok, "any"))
		return 0;
	dash = strchr(tok, '-');
	if (!dash) {
		if (parse_uint(tok, 65535, &a))
			return fw_fail(err, line, -EINVAL, "%s '%s' is not a port 0..65535, a range LO-HI or 'any'",
				       what, tok);
		*lo = *hi = (uint16_t)a;
		return 0;
	}
	if ((size_t)(dash - tok) >= sizeof(buf))
		return fw_fail(err, line, -EINVAL, "%s '%s' is not a port range LO-HI", what, tok);
	memcpy(buf, tok, (size_t)(dash - tok));
	buf[dash - tok] = '\0';
	if (parse_uint(buf, 65535, &a) || parse_uint(dash + 1, 65535, &b))
		return fw_fail(err, line, -EINVAL, "%s range '%s' needs two ports 0..65535 as LO-HI", what, tok);
	if (a > b)
		return fw_fail(err, line, -EINVAL, "%s range '%s' is empty: %lu is above %lu", what, tok, a, b);
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int parse_rule(char **tok, int ntok, unsigned int line, struct fw_rule *r, struct fw_error *err)
{
	uint8_t sfam, dfam;
	int ret;

	memset(r, 0, sizeof(*r));
	r->line = line;
	if (ntok != 6)
		return fw_fail(err, line, -EINVAL,
			       "expected 6 fields 'ACTION PROTO SRC SPORT DST DPORT' or 'policy allow|deny', got %d",
			       ntok);
	if (!strcmp(tok[0], "allow"))
		r->action = FW_ACT_ALLOW;
	else if (!strcmp(tok[0], "deny"))
		r->action = FW_ACT_DENY;
	else
		return fw_fail(err, line, -EINVAL, "unknown action '%s' (allow or deny)", tok[0]);
	if (!strcmp(tok[1], "tcp"))
		r->proto = IPPROTO_TCP;
	else if (!strcmp(tok[1], "udp"))
		r->proto = IPPROTO_UDP;
	else if (!strcmp(tok[1], "any"))
		r->proto = 0;
	else
		return fw_fail(err, line, -EINVAL, "unknown protocol '%s' (tcp, udp or any)", tok[1]);
	ret = parse_addr(tok[2], "SRC", line, &sfam, r->src, &r->src_plen, err);
	if (!ret)
		ret = parse_ports(tok[3], "SPORT", line, &r->sport_lo, &r->sport_hi, err);
	if (!ret)
		ret = parse_addr(tok[4], "DST", line, &dfam, r->dst, &r->dst_plen, err);
	if (!ret)
		ret = parse_ports(tok[5], "DPORT", line, &r->dport_lo, &r->dport_hi, err);
	if (ret)
		return ret;
	if (sfam && dfam && sfam != dfam)
		return fw_fail(err, line, -EINVAL, "SRC is IPv%u but DST is IPv%u: a rule matches one family",
			       sfam, dfam);
	r->family = sfam ? sfam : dfam;
	if (!r->proto && (r->sport_lo != 0 || r->sport_hi != 65535 ||
			  r->dport_lo != 0 || r->dport_hi != 65535))
		return fw_fail(err, line, -EINVAL, "ports need protocol tcp or udp, not any");
	return 0;
}

static int ruleset_add(struct fw_ruleset *rs, const struct fw_rule *r, struct fw_error *err)
{
	if (rs->nr >= FW_MAX_RULES)
		return fw_fail(err, r->line, -E2BIG, "too many rules: at most %u", FW_MAX_RULES);
	if (rs->nr == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 64;
		struct fw_rule *n = realloc(rs->rules, ncap * sizeof(*n));

		if (!n)
			return fw_fail(err, r->line, -ENOMEM, "out of memory");
		rs->rules = n;
		rs->cap = ncap;
	}
	rs->rules[rs->nr++] = *r;
	return 0;
}

static int parse_line(struct fw_ruleset *rs, char *s, unsigned int line, struct fw_error *err)
{
	char *tok[FW_MAX_TOKENS + 1];
	struct fw_rule r;
	int ntok = 0, ret;
	char *hash = strchr(s, '#');

	if (hash)
		*hash = '\0';
	while (*s) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		if (ntok == FW_MAX_TOKENS)
			return fw_fail(err, line, -EINVAL,
				       "too many fields: expected 'ACTION PROTO SRC SPORT DST DPORT'");
		tok[ntok++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
	if (ntok == 0)
		return 0;
	if (!strcmp(tok[0], "policy")) {
		if (ntok != 2)
			return fw_fail(err, line, -EINVAL, "expected 'policy allow' or 'policy deny'");
		if (rs->policy_line)
			return fw_fail(err, line, -EINVAL, "policy already set on line %u", rs->policy_line);
		if (!strcmp(tok[1], "allow"))
			rs->policy = FW_ACT_ALLOW;
		else if (!strcmp(tok[1], "deny"))
			rs->policy = FW_ACT_DENY;
		else
			return fw_fail(err, line, -EINVAL, "unknown policy '%s' (allow or deny)", tok[1]);
		rs->policy_line = line;
		return 0;
	}
	ret = parse_rule(tok, ntok, line, &r, err);
	return ret ? ret : ruleset_add(rs, &r, err);
}

int fw_ruleset_parse_str(const char *text, struct fw_ruleset **out, struct fw_error *err)
{
	struct fw_ruleset *rs;
	unsigned int line = 0;
	char *copy, *cur, *nl;
	int ret = 0;

	*out = NULL;
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	rs = calloc(1, sizeof(*rs));
	copy = strdup(text);
	if (!rs || !copy) {
		free(rs);
		free(copy);
		return fw_fail(err, 0, -ENOMEM, "out of memory");
	}
	rs->policy = FW_ACT_ALLOW;
	for (cur = copy; cur && *cur; cur = nl) {
		nl = strchr(cur, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		if (strlen(cur) > 4096) {
			ret = fw_fail(err, line, -EINVAL, "line longer than 4096 characters");
			break;
		}
		ret = parse_line(rs, cur, line, err);
		if (ret)
			break;
	}
	free(copy);
	if (ret) {
		fw_ruleset_free(rs);
		return ret;
	}
	*out = rs;
	return 0;
}

int fw_ruleset_parse_file(const char *path, struct fw_ruleset **out, struct fw_error *err)
{
	size_t len = 0;
	char *buf;
	int ret;

	*out = NULL;
	buf = ftoe_read_file(path, &len, &ret);
	if (!buf)
		return fw_fail(err, 0, ret, "cannot open %s: %s", path, strerror(-ret));
	if (strlen(buf) != len) {
		free(buf);
		return fw_fail(err, 0, -EINVAL, "%s contains NUL bytes: not a rule file", path);
	}
	ret = fw_ruleset_parse_str(buf, out, err);
	free(buf);
	return ret;
}

void fw_ruleset_free(struct fw_ruleset *rs)
{
	if (!rs)
		return;
	free(rs->rules);
	free(rs);
}

size_t fw_ruleset_nr_rules(const struct fw_ruleset *rs)
{
	return rs->nr;
}

const struct fw_rule *fw_ruleset_rule(const struct fw_ruleset *rs, size_t i)
{
	return i < rs->nr ? &rs->rules[i] : NULL;
}

uint32_t fw_ruleset_policy(const struct fw_ruleset *rs)
{
	return rs->policy;
}

/* ---- reference semantics -------------------------------------------------- */

static bool prefix_match(const uint8_t *a, const uint8_t *prefix, unsigned int plen)
{
	unsigned int i;

	for (i = 0; i < plen / 8; i++)
		if (a[i] != prefix[i])
			return false;
	if (plen % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - plen % 8));

		if ((a[i] & m) != prefix[i])
			return false;
	}
	return true;
}

static bool rule_matches(const struct fw_rule *r, const struct fw_packet *p)
{
	if (r->family && r->family != p->family)
		return false;
	if (r->proto && r->proto != p->proto)
		return false;
	if (!prefix_match(p->src, r->src, r->src_plen) || !prefix_match(p->dst, r->dst, r->dst_plen))
		return false;
	return p->sport >= r->sport_lo && p->sport <= r->sport_hi &&
	       p->dport >= r->dport_lo && p->dport <= r->dport_hi;
}

uint32_t fw_ruleset_match(const struct fw_ruleset *rs, const struct fw_packet *pkt, uint32_t *rule)
{
	size_t i;

	for (i = 0; i < rs->nr; i++) {
		if (rule_matches(&rs->rules[i], pkt)) {
			if (rule)
				*rule = (uint32_t)i;
			return rs->rules[i].action;
		}
	}
	if (rule)
		*rule = FW_MAX_RULES;
	return rs->policy;
}

/* ---- compilation ---------------------------------------------------------- */

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

struct fw_entry {
	struct fw_fields key;
	uint32_t tid;		/* mask index, in order of first use */
	uint32_t rule;
	uint32_t action;
};

struct fw_compiler {
	struct fw_fields masks[FW_MAX_TUPLES];
	uint32_t min_rule[FW_MAX_TUPLES];
	uint32_t nr_masks;
	struct fw_entry *ent;
	uint32_t nr_ent, cap_ent;
	uint32_t *slots;	/* open addressing over ent: index + 1, 0 empty */
	uint32_t nr_slots;	/* power of two */
	uint32_t shadowed;
};

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static int mask_id(struct fw_compiler *c, const struct fw_fields *m, uint32_t rule, uint32_t *id)
{
	uint32_t i;

	/* masks repeat rule after rule: look at the newest first */
	for (i = c->nr_masks; i-- > 0;) {
		if (!memcmp(&c->masks[i], m, sizeof(*m))) {
			*id = i;
			return 0;
		}
	}
	if (c->nr_masks == FW_MAX_TUPLES)
		return -E2BIG;
	c->masks[c->nr_masks] = *m;
	c->min_rule[c->nr_masks] = rule;
	*id = c->nr_masks++;
	return 0;
}

/* Add (tid, key) -> rule unless an earlier rule has that exact key:
 * then the earlier one wins every packet this entry would match. */
static int add_entry(struct fw_compiler *c, uint32_t tid, const struct fw_fields *key,
		     uint32_t rule, uint32_t action)
{
	uint64_t h = fnv1a(key, sizeof(*key), fnv1a(&tid, sizeof(tid), 0xcbf29ce484222325ull));
	uint32_t s = (uint32_t)h & (c->nr_slots - 1);
	struct fw_entry *e;

	while (c->slots[s]) {
		e = &c->ent[c->slots[s] - 1];
		if (e->tid == tid && !memcmp(&e->key, key, sizeof(*key))) {
			c->shadowed++;
			return 0;
		}
		s = (s + 1) & (c->nr_slots - 1);
	}
	if (c->nr_ent == FW_MAX_ENTRIES / FW_GENERATIONS)
		return -E2BIG;
	if (c->nr_ent == c->cap_ent) {
		uint32_t ncap = c->cap_ent ? c->cap_ent * 2 : 1024;
		struct fw_entry *n = realloc(c->ent, (size_t)ncap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->ent = n;
		c->cap_ent = ncap;
	}
	e = &c->ent[c->nr_ent++];
	e->key = *key;
	e->tid = tid;
	e->rule = rule;
	e->action = action;
	c->slots[s] = c->nr_ent;
	return 0;
}

static int expand_rule(struct fw_compiler *c, const struct fw_rule *r, uint32_t idx)
{
	uint16_t sv[32], dv[32];
	uint8_t sl[32], dl[32];
	struct fw_fields m, k;
	int ns, nd, i, j, w, ret;
	uint32_t tid;

	ns = fw_port_prefixes(r->sport_lo, r->sport_hi, sv, sl);
	nd = fw_port_prefixes(r->dport_lo, r->dport_hi, dv, dl);
	for (i = 0; i < ns; i++) {
		for (j = 0; j < nd; j++) {
			memset(&m, 0, sizeof(m));
			memset(&k, 0, sizeof(k));
			m.family = r->family ? 0xff : 0;
			m.proto = r->proto ? 0xff : 0;
			m.sport = port_mask(sl[i]);
			m.dport = port_mask(dl[j]);
			addr_mask(m.src, r->src_plen);
			addr_mask(m.dst, r->dst_plen);
			k.family = r->family;
			k.proto = r->proto;
			k.sport = sv[i] & m.sport;
			k.dport = dv[j] & m.dport;
			for (w = 0; w < 16; w++) {
				k.src[w] = r->src[w] & m.src[w];
				k.dst[w] = r->dst[w] & m.dst[w];
			}
			ret = mask_id(c, &m, idx, &tid);
			if (!ret)
				ret = add_entry(c, tid, &k, idx, r->action);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int fw_ruleset_compile(const struct fw_ruleset *rs, uint32_t gen, const struct fw_map_ops *ops,
		       struct fw_compile_stats *stats, struct fw_error *err)
{
	uint32_t order[FW_MAX_TUPLES], pos[FW_MAX_TUPLES];
	struct fw_compiler *c;
	struct fw_gen g = { 0 };
	uint32_t i, j, key;
	int ret = 0;

	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (gen >= FW_GENERATIONS)
		return fw_fail(err, 0, -EINVAL, "generation %u: there are only %u", gen, FW_GENERATIONS);
	if (!ops || !ops->update)
		return fw_fail(err, 0, -EINVAL, "no map update callback");
	c = calloc(1, sizeof(*c));
	if (!c)
		return fw_fail(err, 0, -ENOMEM, "out of memory");
	c->nr_slots = 1u << 20;		/* > 2x FW_MAX_ENTRIES / FW_GENERATIONS */
	c->slots = calloc(c->nr_slots, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return fw_fail(err, 0, -ENOMEM, "out of memory");
	}
	for (i = 0; i < rs->nr; i++) {
		ret = expand_rule(c, &rs->rules[i], i);
		if (ret == -E2BIG) {
			ret = fw_fail(err, rs->rules[i].line, ret, c->nr_masks == FW_MAX_TUPLES ?
				      "the rules need more than %u distinct masks (prefix lengths x port-range "
				      "prefixes); use fewer distinct prefix lengths or port ranges" :
				      "the rules expand to more than %u map entries (port ranges expand to "
				      "port prefixes)", c->nr_masks == FW_MAX_TUPLES ? FW_MAX_TUPLES
				      : FW_MAX_ENTRIES / FW_GENERATIONS);
			goto out;
		}
		if (ret) {
			ret = fw_fail(err, rs->rules[i].line, ret, "out of memory");
			goto out;
		}
	}
	/* tuples in order of their lowest rule (ties by first use): the
	 * program stops at the first tuple that cannot beat its best match */
	for (i = 0; i < c->nr_masks; i++)
		order[i] = i;
	for (i = 1; i < c->nr_masks; i++) {
		uint32_t t = order[i];

		for (j = i; j > 0 && c->min_rule[order[j - 1]] > c->min_rule[t]; j--)
			order[j] = order[j - 1];
		order[j] = t;
	}
	for (i = 0; i < c->nr_masks; i++)
		pos[order[i]] = i;

	for (i = 0; i < c->nr_ent && !ret; i++) {
		struct fw_key k;
		struct fw_rule_val v;

		memset(&k, 0, sizeof(k));
		k.tuple = gen * FW_MAX_TUPLES + pos[c->ent[i].tid];
		k.f = c->ent[i].key;
		v.rule = c->ent[i].rule;
		v.action = c->ent[i].action;
		ret = ops->update(ops->ctx, "fw_rules", &k, sizeof(k), &v, sizeof(v));
	}
	for (i = 0; i < c->nr_masks && !ret; i++) {
		struct fw_tuple t;

		memset(&t, 0, sizeof(t));
		t.min_rule = c->min_rule[order[i]];
		t.mask = c->masks[order[i]];
		key = gen * FW_MAX_TUPLES + i;
		ret = ops->update(ops->ctx, "fw_tuples", &key, sizeof(key), &t, sizeof(t));
	}
	if (!ret) {
		g.nr_tuples = c->nr_masks;
		g.nr_rules = (uint32_t)rs->nr;
		g.policy = rs->policy;
		key = gen;
		ret = ops->update(ops->ctx, "fw_gens", &key, sizeof(key), &g, sizeof(g));
	}
	if (!ret) {
		key = 0;
		ret = ops->update(ops->ctx, "fw_active", &key, sizeof(key), &gen, sizeof(gen));
	}
	if (ret) {
		ret = fw_fail(err, 0, ret, "writing the firewall maps failed: %s", strerror(-ret));
		goto out;
	}
	if (stats) {
		stats->nr_rules = (uint32_t)rs->nr;
		stats->nr_tuples = c->nr_masks;
		stats->nr_entries = c->nr_ent;
		stats->nr_shadowed = c->shadowed;
	}
out:
	free(c->ent);
	free(c->slots);
	free(c);
	return ret;
}
