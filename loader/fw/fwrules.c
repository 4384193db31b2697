/* fwrules.c - parses firewall rule files and gives their first-match reference semantics (compilation: fw_compile.c). */
#include "lib/util/file.h"
#include "loader/fw/fw_internal.h"

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


/* Fill err (when given) with the line and message; returns ret. */
int fw_fail(struct fw_error *err, unsigned int line, int ret, const char *fmt, ...)
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

/* A dotted quad as inet_pton(AF_INET) takes it - four decimal octets of
 * at most 255 without leading zeros - but several times faster: a rule
 * file of 100,000 rules has 200,000 of them.  0 or -EINVAL. */
static int parse_ip4(const char *s, uint8_t *out)
{
	unsigned int part, v, digits;

	for (part = 0; part < 4; part++) {
		for (v = 0, digits = 0; isdigit((unsigned char)*s); s++, digits++) {
			if (digits && v == 0)
				return -EINVAL;		/* leading zero */
			v = v * 10 + (unsigned int)(*s - '0');
			if (v > 255)
				return -EINVAL;
		}
		if (!digits || (part < 3 && *s++ != '.'))
			return -EINVAL;
		out[part] = (uint8_t)v;
	}
	return *s ? -EINVAL : 0;
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
	if (fam == AF_INET ? parse_ip4(buf, addr) != 0 : inet_pton(fam, buf, addr) != 1)
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
		struct fw_rule *n;

		if (fw_store_holds(rs->store, rs->rules)) {
			/* read from a snapshot: the rules move to the heap */
			n = malloc(ncap * sizeof(*n));
			if (n)
				memcpy(n, rs->rules, rs->nr * sizeof(*n));
		} else {
			n = realloc(rs->rules, ncap * sizeof(*n));
		}
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

struct text_lines {
	const char **start;
	uint32_t *len;
	size_t n;
};

static int split_text(const char *text, struct text_lines *tl)
{
	size_t cap = 1024;
	const char *p = text, *nl;

	tl->n = 0;
	/* a first guess from the size */
	for (size_t sz = strlen(text) / 48; cap < sz; cap *= 2)
		;
	tl->start = malloc(cap * sizeof(*tl->start));
	tl->len = malloc(cap * sizeof(*tl->len));
	while (tl->start && tl->len && *p) {
		if (tl->n == cap) {
			const char **ns = realloc(tl->start, 2 * cap * sizeof(*ns));
			uint32_t *nlen = ns ? realloc(tl->len, 2 * cap * sizeof(*nlen)) : NULL;

			if (ns)
				tl->start = ns;
			if (!nlen)
				break;
			tl->len = nlen;
			cap *= 2;
		}
		nl = strchr(p, '\n');
		tl->start[tl->n] = p;
		tl->len[tl->n++] = (uint32_t)(nl ? (size_t)(nl - p) : strlen(p));
		if (!nl)
			return 0;
		p = nl + 1;
	}
	return *p ? -ENOMEM : tl->start && tl->len ? 0 : -ENOMEM;
}

static bool same_line(const struct text_lines *a, size_t i, const struct text_lines *b, size_t j)
{
	return i < a->n && j < b->n && a->len[i] == b->len[j] &&
	       !memcmp(a->start[i], b->start[j], a->len[i]);
}

#define EDIT_WINDOW 64	/* lines searched ahead for where the two files meet again */

/* After a difference at old line i / new line j: the smallest skip
 * (di, dj) after which the files agree again, for 4 lines (or to the end). */
static bool resync(const struct text_lines *o, size_t i, const struct text_lines *n, size_t j,
		   size_t *di, size_t *dj)
{
	for (size_t sum = 1; sum <= 2 * EDIT_WINDOW; sum++)
		for (size_t a = sum > EDIT_WINDOW ? sum - EDIT_WINDOW : 0; a <= sum && a <= EDIT_WINDOW; a++) {
			size_t b = sum - a, k;

			if (i + a > o->n || j + b > n->n)
				continue;
			for (k = 0; k < 4 && same_line(o, i + a + k, n, j + b + k); k++)
				;
			if (k == 4 || (i + a + k == o->n && j + b + k == n->n)) {
				*di = a;
				*dj = b;
				return true;
			}
		}
	return false;
}

int fw_ruleset_parse_edit(const struct fw_ruleset *old, const char *old_text, const char *text,
			  struct fw_ruleset **out, struct fw_error *err)
{
	struct text_lines o = { 0 }, n = { 0 };
	struct fw_ruleset *rs = NULL;
	int32_t *rule_at = NULL;	/* old line -> its rule, -1 none */
	size_t i = 0, j = 0, r;
	char line[4097];
	bool full = false;
	int ret = 0;

	*out = NULL;
	if (err) {
		err->line = 0;
		err->msg[0] = '\0';
	}
	if (split_text(old_text, &o) || split_text(text, &n))
		goto nomem;
	rule_at = malloc((o.n ? o.n : 1) * sizeof(*rule_at));
	rs = calloc(1, sizeof(*rs));
	if (!rule_at || !rs)
		goto nomem;
	memset(rule_at, 0xff, (o.n ? o.n : 1) * sizeof(*rule_at));
	for (r = 0; r < old->nr; r++) {
		if (old->rules[r].line == 0 || old->rules[r].line > o.n) {
			full = true;	/* old does not come from old_text */
			goto done;
		}
		rule_at[old->rules[r].line - 1] = (int32_t)r;
	}
	rs->policy = old->policy;
	rs->cap = old->nr + 64;
	rs->rules = malloc(rs->cap * sizeof(*rs->rules));
	if (!rs->rules)
		goto nomem;
	/* New lines in order: an unchanged one keeps old's rule (renumbered),
	 * a changed one is parsed.  A changed policy line, a bad line or
	 * files that do not meet again within EDIT_WINDOW lines: the full
	 * parse (it reports errors as for any file). */
	while (j < n.n) {
		size_t di, dj, k;

		if (same_line(&o, i, &n, j)) {
			if (old->policy_line == i + 1)
				rs->policy_line = (unsigned int)(j + 1);
			if (rule_at[i] >= 0) {
				if (rs->nr == FW_MAX_RULES) {
					full = true;
					goto done;
				}
				ret = ruleset_add(rs, &old->rules[rule_at[i]], err);
				if (ret)
					goto done;
				rs->rules[rs->nr - 1].line = (unsigned int)(j + 1);
			}
			i++;
			j++;
			continue;
		}
		if (!resync(&o, i, &n, j, &di, &dj)) {
			di = o.n - i;
			dj = n.n - j;
		}
		for (k = 0; k < di; k++)
			if (old->policy_line == i + k + 1)
				full = true;	/* the policy line changed */
		for (k = 0; k < dj && !full; k++) {
			unsigned int saved = rs->policy_line;

			if (n.len[j + k] >= sizeof(line)) {
				full = true;
				break;
			}
			memcpy(line, n.start[j + k], n.len[j + k]);
			line[n.len[j + k]] = '\0';
			rs->policy_line = 0;
			if (parse_line(rs, line, (unsigned int)(j + k + 1), err) || rs->policy_line)
				full = true;
			rs->policy_line = saved;
		}
		if (full)
			goto done;
		i += di;
		j += dj;
	}
	if (old->policy_line && !rs->policy_line && old->policy_line > i)
		full = true;	/* a policy line among old's dropped last lines */
	if (!old->policy_line)
		rs->policy_line = 0;
	goto done;
nomem:
	ret = fw_fail(err, 0, -ENOMEM, "out of memory");
done:
	free(o.start);
	free(o.len);
	free(n.start);
	free(n.len);
	free(rule_at);
	if (full || ret) {
		fw_ruleset_free(rs);
		return full ? fw_ruleset_parse_str(text, out, err) : ret;
	}
	if (!rs->policy_line)
		rs->policy = old->policy_line ? FW_ACT_ALLOW : old->policy;
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
	if (!fw_store_holds(rs->store, rs->rules))
		free(rs->rules);
	fw_store_put(rs->store);
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
