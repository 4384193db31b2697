/* fw_bench.c - ns per packet of the firewall (xdp-progs/firewall.bpf.c) with 10, 1,000 and 100,000 generated rules: runtime JIT and interpreter against the kernel. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench/bench_util.h"
#include "ebpf/ebpf.h"
#include "lib/util/log.h"
#include "loader/fw/fwrules.h"
#include "tests/diff/pins.h"

/* Measured as ebpf_bench does (bench/README.md), except that the
 * calibration doubles from one run (a packet that walks every tuple of a
 * 100,000-rule set costs a hundred microseconds in the interpreter, so a
 * fixed 20,000-run calibration would take seconds) and one measurement
 * takes ~100 ms, not 150: there are 27 figures, and the whole run must
 * stay well under 90 s on a loaded 2-core machine. */
#define REPS		5
#define TARGET_NS	100000000ull
#define DEFAULT_SEED	0x5eed0f1e57ull
#define PROG_NAME	"xdp_firewall"

static const struct bu_params params = {
	.reps = REPS, .target_ns = TARGET_NS, .cal_n = 0, .min_n = 50, .max_n = 50000000,
};

static const uint32_t set_sizes[] = { 10, 1000, 100000 };

/* The generated sets guard a site network, 10.0.0.0/8 (destinations), and
 * name sources anywhere in the public IPv4 space.  The "no rule" packet
 * comes from NOMATCH_SRC, which no generated source prefix covers, and
 * goes outside 10/8, so rules whose source is any cannot match it either. */
static const uint8_t nomatch_src[4] = { 198, 51, 100, 7 };	/* TEST-NET-2 */
static const uint8_t nomatch_dst[4] = { 192, 0, 2, 1 };	/* TEST-NET-1 */

/* ---- rule-set generator ------------------------------------------------ */

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

static uint32_t ip4_be(const uint8_t a[4])
{
	return (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
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

static uint32_t draw_plen(struct pg_rng *r, const struct plen_weight *t, size_t n)
{
	uint32_t p = pg_below(r, 100), acc = 0;
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
static void gen_src(struct pg_rng *r, char *out, size_t sz)
{
	static const struct plen_weight w[] = {
		{ 32, 40 }, { 24, 32 }, { 16, 15 }, { 8, 4 }, { 12, 2 }, { 20, 3 }, { 28, 4 },
	};
	uint32_t a, plen;

	if (pg_chance(r, 20)) {
		snprintf(out, sz, "any");
		return;
	}
	plen = draw_plen(r, w, sizeof(w) / sizeof(w[0]));
	do {
		a = (uint32_t)pg_next(r);
		a = (a & 0x00ffffff) | (1 + pg_below(r, 223)) << 24;
		a &= plen_mask(plen);
	} while ((a >> 24) == 10 || (a >> 24) == 127 ||
		 (ip4_be(nomatch_src) & plen_mask(plen)) == a);
	fmt_ip4(out, sz, a, plen);
}

/* Destination: inside 10.0.0.0/8, mostly hosts and /24s; any (10%) only
 * when the source is not any, so that no rule matches every source. */
static void gen_dst(struct pg_rng *r, bool src_any, char *out, size_t sz)
{
	static const struct plen_weight w[] = {
		{ 32, 64 }, { 24, 22 }, { 16, 6 }, { 8, 1 }, { 28, 4 }, { 30, 3 },
	};
	uint32_t a, plen;

	if (!src_any && pg_chance(r, 10)) {
		snprintf(out, sz, "any");
		return;
	}
	plen = draw_plen(r, w, sizeof(w) / sizeof(w[0]));
	a = (10u << 24 | ((uint32_t)pg_next(r) & 0x00ffffff)) & plen_mask(plen);
	fmt_ip4(out, sz, a, plen);
}

static void gen_dport(struct pg_rng *r, char *out, size_t sz)
{
	static const uint16_t services[] = {
		22, 25, 53, 80, 110, 123, 143, 161, 389, 443, 445, 993, 995,
		1433, 3306, 3389, 5432, 6379, 8080, 8443,
	};
	static const char *const ranges[] = {
		"1024-65535", "49152-65535", "6000-6063", "8000-8099", "137-139", "5060-5061",
		"20-21",
	};
	uint32_t p = pg_below(r, 100);

	if (p < 60)
		snprintf(out, sz, "%u", services[pg_below(r, sizeof(services) / sizeof(services[0]))]);
	else if (p < 72)
		snprintf(out, sz, "%u", 1 + pg_below(r, 65535));
	else if (p < 80)
		snprintf(out, sz, "%s", ranges[pg_below(r, sizeof(ranges) / sizeof(ranges[0]))]);
	else
		snprintf(out, sz, "any");
}

static void gen_sport(struct pg_rng *r, char *out, size_t sz)
{
	static const uint16_t ports[] = { 20, 53, 123 };
	uint32_t p = pg_below(r, 100);

	if (p < 95)
		snprintf(out, sz, "any");
	else
		snprintf(out, sz, "%u", ports[pg_below(r, 3)]);
}

/* n rules, policy deny: 60% allow, 40% deny; tcp 60%, udp 25%, any 15%
 * (without ports).  The same seed and n give the same text. */
static int gen_rules(uint32_t n, uint64_t seed, struct strbuf *b)
{
	struct pg_rng r = { seed ^ ((uint64_t)n << 32) };
	uint32_t i;
	int err;

	err = sb_printf(b, "# fw_bench rule set: %u rules, seed 0x%" PRIx64 "\npolicy deny\n", n,
			seed);
	for (i = 0; !err && i < n; i++) {
		char src[24], dst[24], sport[16] = "any", dport[16] = "any";
		const char *proto, *action = pg_chance(&r, 60) ? "allow" : "deny";
		uint32_t p = pg_below(&r, 100);

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

/* ---- applying the compiled tables --------------------------------------- */

/* fw_ruleset_compile's map writes go to both runtime objects and to the
 * kernel twins of the first (the "kernel" engine). */
struct apply_ctx {
	struct ebpf_object *obj[2];
	struct {
		char name[32];
		struct ebpf_map *rt[2];
		int kfd;
	} maps[8];
	unsigned int nr_maps;
};

static int apply_update(void *vctx, const char *map, const void *key, size_t ksz,
			const void *val, size_t vsz)
{
	struct apply_ctx *c = vctx;
	unsigned int i, e;
	int err;

	for (i = 0; i < c->nr_maps && strcmp(c->maps[i].name, map); i++)
		;
	if (i == c->nr_maps) {
		if (i == sizeof(c->maps) / sizeof(c->maps[0]))
			return -E2BIG;
		snprintf(c->maps[i].name, sizeof(c->maps[i].name), "%s", map);
		for (e = 0; e < 2; e++) {
			c->maps[i].rt[e] = ebpf_object_find_map(c->obj[e], map);
			if (!c->maps[i].rt[e]) {
				fprintf(stderr, "fw_bench: the firewall object has no map %s\n", map);
				return -ENOENT;
			}
		}
		c->maps[i].kfd = ebpf_object_kernel_map_fd(c->obj[0], c->maps[i].rt[0]);
		if (c->maps[i].kfd < 0) {
			fprintf(stderr, "fw_bench: map %s has no kernel twin\n", map);
			return -EBADF;
		}
		c->nr_maps++;
	}
	if (ksz != ebpf_map_key_size(c->maps[i].rt[0]) ||
	    vsz != ebpf_map_value_size(c->maps[i].rt[0])) {
		fprintf(stderr, "fw_bench: %s: key/value sizes %zu/%zu do not match the map's\n",
			map, ksz, vsz);
		return -EINVAL;
	}
	for (e = 0; e < 2; e++) {
		err = ebpf_map_update_elem(c->maps[i].rt[e], key, val, BPF_ANY);
		if (err) {
			fprintf(stderr, "fw_bench: runtime map %s: %s\n", map, strerror(-err));
			return err;
		}
	}
	err = bpf_map_update_elem(c->maps[i].kfd, key, val, BPF_ANY);
	if (err)
		fprintf(stderr, "fw_bench: kernel map %s: %s\n", map, strerror(-err));
	return err;
}

/* ---- packets ------------------------------------------------------------ */

enum { PK_EARLY, PK_LATE, PK_NONE, PK_NR };
static const char *const pk_names[PK_NR] = { "early", "late", "none" };

struct pkt_case {
	struct fw_packet p;
	uint32_t rule;		/* the reference's match, FW_MAX_RULES = policy */
	uint32_t expect;	/* XDP verdict */
	uint8_t frame[64];
	uint32_t len;
};

/* A packet inside rule r: random host bits under its prefixes, ports
 * drawn from its ranges (ephemeral/443 when any), TCP when proto is any. */
static void packet_for(struct pg_rng *rng, const struct fw_rule *r, struct fw_packet *p)
{
	uint32_t s, d, m, i;

	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = r->proto ? r->proto : 6;
	m = plen_mask(r->src_plen);
	s = (ip4_be(r->src) & m) | ((uint32_t)pg_next(rng) & ~m);
	m = plen_mask(r->dst_plen);
	d = (ip4_be(r->dst) & m) | ((uint32_t)pg_next(rng) & ~m);
	for (i = 0; i < 4; i++) {
		p->src[i] = (uint8_t)(s >> (24 - 8 * i));
		p->dst[i] = (uint8_t)(d >> (24 - 8 * i));
	}
	p->sport = (uint16_t)(r->sport_lo + pg_below(rng, (uint32_t)r->sport_hi - r->sport_lo + 1));
	p->dport = (uint16_t)(r->dport_lo + pg_below(rng, (uint32_t)r->dport_hi - r->dport_lo + 1));
	if (r->sport_lo == 0 && r->sport_hi == 65535)
		p->sport = (uint16_t)(32768 + pg_below(rng, 28232));
	if (r->dport_lo == 0 && r->dport_hi == 65535)
		p->dport = 443;
}

static void finish_case(const struct fw_ruleset *rs, struct pkt_case *pc)
{
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };
	uint32_t act = fw_ruleset_match(rs, &pc->p, &pc->rule);

	pc->expect = act == FW_ACT_DENY ? 1 /* XDP_DROP */ : 2 /* XDP_PASS */;
	pc->len = bu_build_ip4(pc->frame, mac, mac, pc->p.src, pc->p.dst, pc->p.proto, pc->p.sport,
			       pc->p.dport);
}

/* early: the first rule whose own packet it decides (rule 0 unless an
 * earlier rule shadows it); late: the same from the end; none: from
 * NOMATCH_SRC to NOMATCH_DST.  The reference semantics confirm each. */
static int pick_packets(const struct fw_ruleset *rs, uint64_t seed, struct pkt_case pc[PK_NR])
{
	struct pg_rng rng = { seed };
	size_t n = fw_ruleset_nr_rules(rs), i, tries;

	for (i = 0; i < n; i++) {
		packet_for(&rng, fw_ruleset_rule(rs, i), &pc[PK_EARLY].p);
		finish_case(rs, &pc[PK_EARLY]);
		if (pc[PK_EARLY].rule == i)
			break;
	}
	for (i = n, tries = 0; i-- > 0 && tries < 10000; tries++) {
		packet_for(&rng, fw_ruleset_rule(rs, i), &pc[PK_LATE].p);
		finish_case(rs, &pc[PK_LATE]);
		if (pc[PK_LATE].rule == i)
			break;
	}
	memset(&pc[PK_NONE].p, 0, sizeof(pc[PK_NONE].p));
	pc[PK_NONE].p.family = 4;
	pc[PK_NONE].p.proto = 6;
	pc[PK_NONE].p.sport = 40000;
	pc[PK_NONE].p.dport = 443;
	memcpy(pc[PK_NONE].p.src, nomatch_src, 4);
	memcpy(pc[PK_NONE].p.dst, nomatch_dst, 4);
	finish_case(rs, &pc[PK_NONE]);
	if (pc[PK_EARLY].rule >= n || pc[PK_LATE].rule >= n || pc[PK_NONE].rule != FW_MAX_RULES) {
		fprintf(stderr, "fw_bench: generator bug: packet kinds not found (early rule %u, "
			"late rule %u, none matched rule %u)\n", pc[PK_EARLY].rule,
			pc[PK_LATE].rule, pc[PK_NONE].rule);
		return -EINVAL;
	}
	return 0;
}

/* ---- one rule set ---------------------------------------------------------- */

struct figure {
	double ns[BU_NR];
	uint32_t verdict[BU_NR];
};

struct set_result {
	struct fw_compile_stats st;
	double load_s, compile_s, measure_s;
	struct pkt_case pc[PK_NR];
	struct figure fig[PK_NR];
};

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_set(const char *path, uint32_t nr_rules, uint64_t seed, struct set_result *res)
{
	static const enum ebpf_engine engines[2] = { EBPF_ENGINE_JIT, EBPF_ENGINE_INTERP };
	struct apply_ctx actx = { 0 };
	struct fw_map_ops ops = { .update = apply_update, .ctx = &actx };
	struct ebpf_xdp_buff *xdp = NULL;
	struct fw_ruleset *rs = NULL;
	struct strbuf text = { 0 };
	struct fw_error ferr = { 0 };
	struct pinlist pins;
	double t0;
	int e, k, err, kfd;

	memset(res, 0, sizeof(*res));
	pins_list(&pins);
	err = gen_rules(nr_rules, seed, &text);
	if (err) {
		fprintf(stderr, "fw_bench: cannot generate rules: %s\n", strerror(-err));
		goto out;
	}
	err = fw_ruleset_parse_str(text.s, &rs, &ferr);
	if (err) {
		fprintf(stderr, "fw_bench: generated rule set: line %u: %s\n", ferr.line, ferr.msg);
		goto out;
	}
	err = pick_packets(rs, seed + nr_rules, res->pc);
	if (err)
		goto out;

	t0 = wall_s();
	for (e = 0; e < 2; e++) {
		char errbuf[256] = "";
		struct ebpf_object_opts opts = {
			.sz = sizeof(opts),
			.engine = engines[e],
			.err_buf = errbuf,
			.err_size = sizeof(errbuf),
			/* the kernel twin of the first object is the
			 * "kernel" engine; the second has its own maps */
			.keep_kernel = e == 0,
		};

		err = ebpf_object_open(path, &opts, &actx.obj[e]);
		if (err) {
			fprintf(stderr, "fw_bench: cannot load %s for %s: %s (%s)\n", path,
				bu_engine_names[e], errbuf[0] ? errbuf : "no reason given",
				strerror(-err));
			goto out;
		}
	}
	res->load_s = wall_s() - t0;
	t0 = wall_s();
	err = fw_ruleset_compile(rs, 0, &ops, &res->st, &ferr);
	res->compile_s = wall_s() - t0;
	if (err) {
		fprintf(stderr, "fw_bench: compiling %u rules: %s%s\n", nr_rules, ferr.msg,
			ferr.msg[0] ? "" : strerror(-err));
		goto out;
	}

	err = ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &xdp);
	if (err) {
		fprintf(stderr, "fw_bench: cannot allocate an XDP buffer: %s\n", strerror(-err));
		goto out;
	}
	{
		struct ebpf_prog *kp = ebpf_object_find_prog(actx.obj[0], PROG_NAME);

		kfd = kp ? ebpf_prog_kernel_fd(kp) : -1;
		if (kfd < 0) {
			fprintf(stderr, "fw_bench: no kernel twin of %s (keep_kernel)\n", PROG_NAME);
			err = -EBADF;
			goto out;
		}
	}
	t0 = wall_s();
	for (k = 0; k < PK_NR; k++) {
		struct pkt_case *pc = &res->pc[k];
		struct figure *fig = &res->fig[k];

		for (e = 0; e < 2; e++) {
			struct ebpf_prog *prog = ebpf_object_find_prog(actx.obj[e], PROG_NAME);

			if (!prog) {
				fprintf(stderr, "fw_bench: %s has no program %s\n", path, PROG_NAME);
				err = -ENOENT;
				goto out;
			}
			err = bu_xdp_set(xdp, pc->frame, pc->len);
			if (err) {
				fprintf(stderr, "fw_bench: cannot set the frame: %s\n", strerror(-err));
				goto out;
			}
			bu_measure(&params, prog, xdp, -1, NULL, 0, &fig->ns[e], &fig->verdict[e]);
		}
		err = bu_measure(&params, NULL, NULL, kfd, pc->frame, pc->len, &fig->ns[BU_KERNEL],
				 &fig->verdict[BU_KERNEL]);
		if (err) {
			fprintf(stderr, "fw_bench: BPF_PROG_TEST_RUN failed: %s\n", strerror(-err));
			goto out;
		}
	}
	res->measure_s = wall_s() - t0;
out:
	if (xdp)
		ebpf_xdp_buff_free(xdp);
	if (actx.obj[0])
		pins_check(&pins, actx.obj[0], "firewall", "WARNING");
	for (e = 0; e < 2; e++)
		if (actx.obj[e])
			ebpf_object_close(actx.obj[e]);
	fw_ruleset_free(rs);
	free(text.s);
	free(pins.names);
	return err;
}

/* ---- main ------------------------------------------------------------------- */

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--build DIR] [--seed N]\n"
		"       %s --dump-rules N [--seed N]\n"
		"Measure ns per packet of the firewall (xdp-progs/firewall.bpf.o) with 10, 1,000\n"
		"and 100,000 generated rules, on the runtime's JIT and interpreter and in the\n"
		"kernel (BPF_PROG_TEST_RUN, repeat), median of %d, and print the ratios.\n"
		"  -b, --build DIR       build directory holding xdp-progs/firewall.bpf.o\n"
		"                        (default: build)\n"
		"  -s, --seed N          rule generator seed (default 0x%llx)\n"
		"  -d, --dump-rules N    print the generated N-rule file and exit\n"
		"                        (e.g. for flextoe-fw compile)\n",
		argv0, argv0, REPS, (unsigned long long)DEFAULT_SEED);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

static void print_row(uint32_t rules, const struct set_result *res, int k)
{
	const struct figure *f = &res->fig[k];
	const struct pkt_case *pc = &res->pc[k];
	char kind[40];

	if (k == PK_NONE)
		snprintf(kind, sizeof(kind), "none (policy)");
	else
		snprintf(kind, sizeof(kind), "%s (rule %u)", pk_names[k], pc->rule);
	printf("%7u %6u  %-19s %-7s %9.1f %10.1f %10.1f %11.2f %14.2f\n", rules, res->st.nr_tuples,
	       kind, bu_action_name(f->verdict[BU_KERNEL]), f->ns[BU_JIT], f->ns[BU_INTERP],
	       f->ns[BU_KERNEL], f->ns[BU_JIT] / f->ns[BU_KERNEL],
	       f->ns[BU_INTERP] / f->ns[BU_KERNEL]);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "build", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' },
		{ "dump-rules", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *build = "build";
	uint64_t seed = DEFAULT_SEED, dump = 0;
	bool do_dump = false, agree = true, failed = false;
	double t_start = wall_s();
	char path[512];
	int c, err = 0;
	size_t i, k;

	while ((c = getopt_long(argc, argv, "b:s:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			build = optarg;
			break;
		case 's':
			if (parse_u64(optarg, UINT64_MAX, &seed)) {
				fprintf(stderr, "fw_bench: --seed '%s': not a number\n", optarg);
				return 2;
			}
			break;
		case 'd':
			if (parse_u64(optarg, FW_MAX_RULES, &dump)) {
				fprintf(stderr, "fw_bench: --dump-rules '%s': a rule count 0..%u\n",
					optarg, FW_MAX_RULES);
				return 2;
			}
			do_dump = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (do_dump) {
		struct strbuf text = { 0 };

		err = gen_rules((uint32_t)dump, seed, &text);
		if (!err)
			fputs(text.s, stdout);
		free(text.s);
		return err ? 1 : 0;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "fw_bench: run as root: the kernel verifier and "
			"BPF_PROG_TEST_RUN need CAP_BPF/CAP_SYS_ADMIN\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/xdp-progs/firewall.bpf.o", build);
	if (access(path, R_OK)) {
		fprintf(stderr, "fw_bench: missing %s: run make first\n", path);
		return 1;
	}
	libbpf_set_print(bu_libbpf_quiet);
	ftoe_log_set_level(FTOE_LOG_ERROR);

	printf("Firewall benchmark: nanoseconds per packet of %s, median of %d "
	       "measurements of ~%llu ms each\n", path, REPS, TARGET_NS / 1000000);
	printf("  rules: generated (seed 0x%" PRIx64 "), policy deny; masks: distinct tuples the "
	       "packet may probe (tuple space search)\n"
	       "  jit, interp: this runtime, ebpf_prog_run_xdp() in a loop on one 64-byte frame\n"
	       "  kernel:      BPF_PROG_TEST_RUN (repeat = N) on the same frame, its duration field;"
	       " kernel JIT %s\n\n", seed, bu_kernel_jit_state());
	printf("%7s %6s  %-19s %-7s %9s %10s %10s %11s %14s\n", "rules", "masks", "packet", "verdict",
	       "jit ns", "interp ns", "kernel ns", "jit/kernel", "interp/kernel");

	for (i = 0; i < sizeof(set_sizes) / sizeof(set_sizes[0]); i++) {
		struct set_result res;

		err = bench_set(path, set_sizes[i], seed, &res);
		if (err) {
			printf("%7u failed: %s\n", set_sizes[i], strerror(-err));
			failed = true;
			continue;
		}
		for (k = 0; k < PK_NR; k++) {
			const struct figure *f = &res.fig[k];
			uint32_t want = res.pc[k].expect;

			print_row(set_sizes[i], &res, (int)k);
			if (f->verdict[BU_JIT] != want || f->verdict[BU_INTERP] != want ||
			    f->verdict[BU_KERNEL] != want) {
				printf("  ERROR: verdicts differ: jit %s, interp %s, kernel %s, "
				       "rule list says %s\n", bu_action_name(f->verdict[BU_JIT]),
				       bu_action_name(f->verdict[BU_INTERP]),
				       bu_action_name(f->verdict[BU_KERNEL]), bu_action_name(want));
				agree = false;
			}
		}
		printf("%7s %6s  (%u entries, %u shadowed; load %.2f s, compile and write to 3 "
		       "engines' maps %.2f s, measure %.1f s)\n", "", "", res.st.nr_entries,
		       res.st.nr_shadowed, res.load_s, res.compile_s, res.measure_s);
	}
	printf("\nverdicts: %s%s; total %.1f s\n",
	       agree ? "jit, interp and kernel agree with the rule list" : "DISAGREE (see ERROR lines)",
	       failed ? " (where measured; some rule sets FAILED)" : "", wall_s() - t_start);
	return agree && !failed ? 0 : 1;
}
