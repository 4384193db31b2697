/* xdp_diff.c - differential test: one XDP object on the runtime's JIT, its interpreter and the kernel, same frames, same answers. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/ebpf.h"
#include "lib/util/log.h"
#include "tests/diff/mapcfg.h"
#include "tests/diff/pins.h"
#include "tests/diff/pktgen.h"
#include "tests/diff/ringcmp.h"
#include "tests/diff/updates.h"

/* The three engines compared, in report order. */
enum { E_JIT, E_INTERP, E_KERNEL, E_NR };
static const char *const engine_names[E_NR] = { "jit", "interp", "kernel" };
static const int pairs[3][2] = { { E_JIT, E_INTERP }, { E_JIT, E_KERNEL }, { E_INTERP, E_KERNEL } };

#define MAX_DETAILS	8	/* mismatches printed in full per program */
#define OUT_SZ		EBPF_XDP_TEST_FRAME_SZ

enum cfg_kind { CFG_AUTO, CFG_NONE, CFG_XDP_FILTER, CFG_FW };

struct options {
	const char *path;
	const char *prog;
	uint32_t packets;
	uint64_t seed;
	enum cfg_kind cfg;
	struct upd_file *updates;	/* -u FILE, parsed; NULL without */
	bool maps;
	bool verbose;
	bool check_verdicts;		/* -V */
	/* -S NAME=N, -R NAME=HEX: set before load on every copy */
	struct ebpf_map_size sizes[16];
	size_t nr_sizes;
	struct ebpf_global_init globals[16];
	size_t nr_globals;
};

static void set_presets(const struct options *o, struct ebpf_object_opts *opts)
{
	opts->map_sizes = o->sizes;
	opts->nr_map_sizes = o->nr_sizes;
	opts->globals = o->globals;
	opts->nr_globals = o->nr_globals;
}

/* -S NAME=N or -R NAME=HEX into o; 0, or 2 (a bad argument, said). */
static int add_preset(struct options *o, int c, char *arg, const char *argv0)
{
	char *eq = strchr(arg, '='), *end;
	const char *why = "needs NAME=VALUE";
	unsigned long n;
	uint8_t *b;
	size_t len;

	if (eq && eq != arg && (c == 'S' ? o->nr_sizes : o->nr_globals) < 16) {
		*eq = '\0';
		if (c == 'S') {
			n = strtoul(eq + 1, &end, 0);
			if (!*end && eq[1] && n && n <= UINT32_MAX) {
				o->sizes[o->nr_sizes++] = (struct ebpf_map_size){ arg, (uint32_t)n };
				return 0;
			}
			why = "wants a size from 1";
		} else if (!upd_parse_hex(eq + 1, &b, &len, &why)) {
			o->globals[o->nr_globals++] = (struct ebpf_global_init){ arg, b, len };
			return 0;
		}
	}
	fprintf(stderr, "%s: -%c %s: %s\n", argv0, c, arg, why);
	return 2;
}

/* What one engine did with one frame. */
struct result {
	int err;		/* 0, or -errno when the engine could not run it */
	uint32_t ret;		/* XDP action */
	uint32_t len;		/* bytes from data_meta to data_end */
	uint8_t out[OUT_SZ];
};

struct pair_stat {
	uint32_t compared;
	uint32_t mismatched;
	bool maps_differ;
};

static int lo_ifindex = 1;

/* ---- small utilities ---------------------------------------------------- */

static void hexdump(const char *indent, const uint8_t *p, uint32_t len, uint32_t base)
{
	uint32_t i, j;

	for (i = 0; i < len; i += 16) {
		printf("%s%04x:", indent, base + i);
		for (j = i; j < i + 16 && j < len; j++)
			printf(" %02x", p[j]);
		printf("\n");
	}
}

static const char *action_name(uint32_t a)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };
	static __thread char buf[16];

	if (a < 5)
		return names[a];
	snprintf(buf, sizeof(buf), "%u", a);
	return buf;
}

/* Objects a test suite keeps on purpose to be refused (verifier
 * rejections, unsupported helpers or maps) say so in their file name. */
static bool name_marks_bad(const char *path)
{
	static const char *const marks[] = { "reject", "bad", "unsupported", "invalid",
					     "noprog" };
	const char *base = strrchr(path, '/');
	unsigned int i;

	base = base ? base + 1 : path;
	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strcasestr(base, marks[i]))
			return true;
	return false;
}

/* Helpers whose results differ between runs or between engines by nature
 * (clocks, random numbers, the CPU number): comparing programs that call
 * them would test nothing but chance. */
static const char *nondeterministic_helper(const struct ebpf_prog *prog)
{
	const struct bpf_insn *insn = ebpf_prog_insns(prog);
	size_t i, n = ebpf_prog_insn_cnt(prog);

	for (i = 0; i < n; i++) {
		if (insn[i].code != (BPF_JMP | BPF_CALL) || insn[i].src_reg != 0)
			continue;
		switch (insn[i].imm) {
		case BPF_FUNC_ktime_get_ns:		return "bpf_ktime_get_ns";
		case BPF_FUNC_ktime_get_boot_ns:	return "bpf_ktime_get_boot_ns";
		case BPF_FUNC_ktime_get_coarse_ns:	return "bpf_ktime_get_coarse_ns";
		case BPF_FUNC_ktime_get_tai_ns:		return "bpf_ktime_get_tai_ns";
		case BPF_FUNC_jiffies64:		return "bpf_jiffies64";
		case BPF_FUNC_get_prandom_u32:		return "bpf_get_prandom_u32";
		case BPF_FUNC_get_smp_processor_id:	return "bpf_get_smp_processor_id";
		default:				break;
		}
	}
	return NULL;
}

static bool calls_helper(const struct ebpf_prog *prog, int id)
{
	const struct bpf_insn *insn = ebpf_prog_insns(prog);

	for (size_t i = 0; i < ebpf_prog_insn_cnt(prog); i++)
		if (insn[i].code == (BPF_JMP | BPF_CALL) && insn[i].src_reg == 0 &&
		    insn[i].imm == id)
			return true;
	return false;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

/* ---- running one frame ---------------------------------------------------- */

/* Lay the frame out as the kernel's XDP test_run does (net/bpf/test_run.c):
 * a zeroed 4096-byte frame, data at XDP_PACKET_HEADROOM, a tailroom for
 * skb_shared_info, data_meta == data, and the receive queue of the
 * loopback device (ingress_ifindex = lo, rx_queue_index = 0). */
static void run_runtime(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp,
			const struct pg_frame *f, struct result *res)
{
	uint8_t *meta, *end;

	memset(xdp->hard_start, 0, xdp->frame_sz);
	xdp->tailroom = EBPF_XDP_TEST_TAILROOM;
	res->err = ebpf_xdp_buff_set(xdp, f->buf, f->len, EBPF_XDP_TEST_HEADROOM);
	if (res->err)
		return;
	xdp->md.ingress_ifindex = (uint32_t)lo_ifindex;
	xdp->md.rx_queue_index = 0;
	xdp->md.egress_ifindex = 0;
	xdp->redirect_ifindex = 0;
	xdp->redirect_flags = 0;
	xdp->redirect_map = NULL;
	xdp->redirect_key = 0;
	res->ret = ebpf_prog_run_xdp(prog, xdp);
	meta = (uint8_t *)(uintptr_t)xdp->md.data_meta;
	end = (uint8_t *)(uintptr_t)xdp->md.data_end;
	if (meta < xdp->hard_start || end > xdp->hard_start + xdp->frame_sz || end < meta) {
		res->err = -ERANGE;	/* the engine broke the buffer bounds */
		return;
	}
	res->len = (uint32_t)(end - meta);
	memcpy(res->out, meta, res->len);
}

static void run_kernel(int fd, const struct pg_frame *f, struct result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = f->buf,
		.data_size_in = f->len,
		.data_out = res->out,
		.data_size_out = sizeof(res->out),
		.repeat = 1,
	);

	res->err = bpf_prog_test_run_opts(fd, &opts);
	res->ret = opts.retval;
	res->len = opts.data_size_out;
}

static bool same_result(const struct result *a, const struct result *b)
{
	return !a->err && !b->err && a->ret == b->ret && a->len == b->len &&
	       !memcmp(a->out, b->out, a->len);
}

/* Offset of the TCP header of an untagged IPv4 SYN-ACK in out, or 0. */
static uint32_t synack_tcp_off(const struct result *r)
{
	uint32_t ihl;

	if (r->len < 14 + 20 || r->out[12] != 0x08 || r->out[13] != 0 || r->out[14 + 9] != 6)
		return 0;
	ihl = (r->out[14] & 15u) * 4;
	if (ihl < 20 || r->len < 14 + ihl + 20 || (r->out[14 + ihl + 13] & 0x12) != 0x12)
		return 0;
	return 14 + ihl;
}

/* same_result, with the cookie fields of SYN-ACKs left out (cookies). */
static bool same_result_cookies(const struct result *a, const struct result *b, bool *masked)
{
	static struct result ma, mb;
	uint32_t off = synack_tcp_off(a);

	*masked = false;
	if (same_result(a, b))
		return true;
	if (!off || off != synack_tcp_off(b) || a->len != b->len)
		return false;
	ma = *a;
	mb = *b;
	memset(ma.out + off + 4, 0, 4);		/* sequence number: the cookie */
	memset(mb.out + off + 4, 0, 4);
	memset(ma.out + off + 16, 0, 2);	/* checksum, which covers it */
	memset(mb.out + off + 16, 0, 2);
	*masked = true;
	return same_result(&ma, &mb);
}

static void print_result(const char *name, const struct result *r, const struct result *ref)
{
	uint32_t i, n;

	if (r->err) {
		printf("    %-6s: error %d (%s)\n", name, r->err, strerror(-r->err));
		return;
	}
	printf("    %-6s: verdict %s, output %u bytes", name, action_name(r->ret), r->len);
	if (ref && ref != r && !ref->err) {
		n = r->len < ref->len ? r->len : ref->len;
		for (i = 0; i < n && r->out[i] == ref->out[i]; i++)
			;
		if (i < n || r->len != ref->len)
			printf(", first difference from jit at byte %u", i);
	}
	printf("\n");
}

/* ---- maps: dump, normalise, compare --------------------------------------
 * Each engine has its own maps (one object per engine), and they must end
 * up alike.  Per-CPU maps are compared by the change of the sum over CPUs
 * of each value (lane-wise), since the runtime and the kernel have
 * different CPU counts and the initial values sit in every CPU. */

struct mdump {
	uint32_t ksz, vsz, n;
	uint8_t *data;		/* n sorted entries of ksz + vsz bytes */
};

struct maccess {
	struct ebpf_map *map;	/* runtime map, or */
	int fd;			/* kernel twin when map == NULL */
	uint32_t type, ksz, vsz, ncpu;
};

static int macc_next(struct maccess *a, const void *key, void *next)
{
	if (a->map)
		return ebpf_map_get_next_key(a->map, key, next);
	return bpf_map_get_next_key(a->fd, key, next);
}

static int macc_lookup(struct maccess *a, const void *key, void *val)
{
	if (a->map)
		return ebpf_map_lookup_elem(a->map, key, val);
	return bpf_map_lookup_elem(a->fd, key, val);
}

static size_t mdump_esz(const struct mdump *d)
{
	return d->ksz + d->vsz;
}

static uint32_t lane_size(uint32_t vsz)
{
	return vsz % 8 == 0 ? 8 : vsz % 4 == 0 ? 4 : 1;
}

static uint64_t lane_get(const uint8_t *p, uint32_t ls)
{
	uint64_t v = 0;

	memcpy(&v, p, ls);	/* little-endian host */
	return v;
}

static void lane_put(uint8_t *p, uint32_t ls, uint64_t v)
{
	memcpy(p, &v, ls);
}

static uint32_t cmp_ksz;
static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, cmp_ksz);
}

static void mdump_free(struct mdump *d)
{
	free(d->data);
	memset(d, 0, sizeof(*d));
}

static int mdump_take(struct maccess *a, struct mdump *d)
{
	bool percpu = mc_is_percpu(a->type);
	uint32_t stride = percpu ? (a->vsz + 7) & ~7u : a->vsz;
	uint32_t ncpu = percpu ? a->ncpu : 1, cap = 64, ls = lane_size(a->vsz);
	uint8_t *key = calloc(1, a->ksz), *next = calloc(1, a->ksz);
	uint8_t *val = calloc(ncpu, stride);
	int err = 0;
	bool first = true;

	memset(d, 0, sizeof(*d));
	d->ksz = a->ksz;
	d->vsz = a->vsz;
	d->data = malloc(cap * mdump_esz(d));
	if (!key || !next || !val || !d->data) {
		err = -ENOMEM;
		goto out;
	}
	for (;;) {
		uint8_t *e;
		uint32_t c, o;

		err = macc_next(a, first ? NULL : key, next);
		if (err == -ENOENT) {
			err = 0;
			break;
		}
		if (err)
			goto out;
		first = false;
		memcpy(key, next, a->ksz);
		err = macc_lookup(a, key, val);
		if (err == -ENOENT) {	/* deleted meanwhile: not here */
			err = 0;
			continue;
		}
		if (err)
			goto out;
		if (d->n == cap) {
			uint8_t *p = realloc(d->data, 2 * cap * mdump_esz(d));

			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			d->data = p;
			cap *= 2;
		}
		e = d->data + d->n++ * mdump_esz(d);
		memcpy(e, key, a->ksz);
		memset(e + a->ksz, 0, a->vsz);
		for (c = 0; c < ncpu; c++)
			for (o = 0; o + ls <= a->vsz; o += ls)
				lane_put(e + a->ksz + o, ls,
					 lane_get(e + a->ksz + o, ls) +
					 lane_get(val + (size_t)c * stride + o, ls));
		if (d->n > 4u * (1u << 20)) {
			err = -E2BIG;	/* get_next_key looping */
			goto out;
		}
	}
	cmp_ksz = d->ksz;
	qsort(d->data, d->n, mdump_esz(d), cmp_key);
out:
	free(key);
	free(next);
	free(val);
	if (err)
		mdump_free(d);
	return err;
}

/* after - before, per key and lane (keys absent before count from 0). */
static void mdump_delta(struct mdump *after, const struct mdump *before)
{
	uint32_t i, o, ls = lane_size(after->vsz);
	size_t esz = mdump_esz(after);

	cmp_ksz = after->ksz;
	for (i = 0; i < after->n; i++) {
		uint8_t *e = after->data + i * esz;
		const uint8_t *b = bsearch(e, before->data, before->n, esz, cmp_key);

		if (!b)
			continue;
		for (o = 0; o + ls <= after->vsz; o += ls)
			lane_put(e + after->ksz + o, ls,
				 lane_get(e + after->ksz + o, ls) - lane_get(b + after->ksz + o, ls));
	}
}

static bool mdump_equal(const struct mdump *a, const struct mdump *b, const char *map,
			const char *na, const char *nb)
{
	size_t esz = mdump_esz(a);
	uint32_t i;

	if (a->n != b->n) {
		printf("  map %s: %s has %u entries, %s has %u\n", map, na, a->n, nb, b->n);
		return false;
	}
	for (i = 0; i < a->n; i++) {
		const uint8_t *ea = a->data + i * esz, *eb = b->data + i * esz;

		if (memcmp(ea, eb, esz)) {
			printf("  map %s: entry %u differs between %s and %s\n", map, i, na, nb);
			printf("   %s key/value:\n", na);
			hexdump("    ", ea, (uint32_t)(esz < 64 ? esz : 64), 0);
			printf("   %s key/value:\n", nb);
			hexdump("    ", eb, (uint32_t)(esz < 64 ? esz : 64), 0);
			return false;
		}
	}
	return true;
}

struct objset {
	struct ebpf_object *obj[E_NR];	/* E_KERNEL: its kernel twins are used */
	struct ebpf_object *base;	/* -V: an unconfigured JIT copy */
	bool configured;		/* maps were written (-c or -u) */
};

static bool map_comparable(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_LPM_TRIE:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
	case BPF_MAP_TYPE_PERCPU_HASH:
		return true;
	default:	/* LRU eviction order, ring buffers, prog arrays: no */
		return false;
	}
}

static int maccess_init(struct objset *os, int e, const char *name, struct maccess *a)
{
	struct ebpf_map *m = ebpf_object_find_map(os->obj[e], name);
	int n;

	if (!m)
		return -ENOENT;
	memset(a, 0, sizeof(*a));
	a->type = ebpf_map_type(m);
	a->ksz = ebpf_map_key_size(m);
	a->vsz = ebpf_map_value_size(m);
	if (e == E_KERNEL) {
		a->fd = ebpf_object_kernel_map_fd(os->obj[e], m);
		if (a->fd < 0)
			return -EBADF;
		n = libbpf_num_possible_cpus();
	} else {
		a->map = m;
		n = (int)ebpf_nr_cpus();
	}
	a->ncpu = n > 0 ? (uint32_t)n : 1;
	return 0;
}

/* Snapshots of every comparable map, per engine: taken once after the
 * configuration (base, for per-CPU deltas), then after each program. */
struct snapshot {
	char name[BPF_OBJ_NAME_LEN];
	bool percpu;
	struct mdump base[E_NR];
};

struct mapset {
	struct snapshot *s;
	uint32_t n;
};

static int mapset_init(struct objset *os, struct mapset *ms)
{
	struct ebpf_map *m = NULL;
	int e, err;

	memset(ms, 0, sizeof(*ms));
	while ((m = ebpf_object_next_map(os->obj[E_JIT], m))) {
		struct snapshot *s, *p;

		if (!map_comparable(ebpf_map_type(m)) ||
		    ebpf_map_max_entries(m) > (1u << 20))
			continue;
		p = realloc(ms->s, (ms->n + 1) * sizeof(*ms->s));
		if (!p)
			return -ENOMEM;
		ms->s = p;
		s = &ms->s[ms->n++];
		memset(s, 0, sizeof(*s));
		snprintf(s->name, sizeof(s->name), "%s", ebpf_map_name(m));
		s->percpu = mc_is_percpu(ebpf_map_type(m));
		for (e = 0; e < E_NR; e++) {
			struct maccess a;

			err = maccess_init(os, e, s->name, &a);
			if (!err && s->percpu)
				err = mdump_take(&a, &s->base[e]);
			if (err) {
				printf("  map %s: cannot read the %s copy: %s\n", s->name,
				       engine_names[e], strerror(-err));
				return err;
			}
		}
	}
	return 0;
}

static void mapset_free(struct mapset *ms)
{
	uint32_t i;
	int e;

	for (i = 0; i < ms->n; i++)
		for (e = 0; e < E_NR; e++)
			mdump_free(&ms->s[i].base[e]);
	free(ms->s);
	memset(ms, 0, sizeof(*ms));
}

/* Compare every map across the engine pairs in pair_mask (bit = index in
 * pairs[]); marks the pairs that differ. */
static void mapset_compare(struct objset *os, struct mapset *ms, unsigned int pair_mask,
			   struct pair_stat *ps)
{
	uint32_t i;
	int e, p;

	for (i = 0; i < ms->n; i++) {
		struct snapshot *s = &ms->s[i];
		struct mdump now[E_NR] = { 0 };
		bool ok[E_NR] = { 0 };

		for (e = 0; e < E_NR; e++) {
			struct maccess a;
			int err = maccess_init(os, e, s->name, &a);

			if (!err)
				err = mdump_take(&a, &now[e]);
			if (err) {
				printf("  map %s: cannot read the %s copy: %s\n", s->name,
				       engine_names[e], strerror(-err));
				continue;
			}
			if (s->percpu)
				mdump_delta(&now[e], &s->base[e]);
			ok[e] = true;
		}
		for (p = 0; p < 3; p++) {
			int a = pairs[p][0], b = pairs[p][1];

			if (!(pair_mask & (1u << p)))
				continue;
			if (!ok[a] || !ok[b] ||
			    !mdump_equal(&now[a], &now[b], s->name, engine_names[a], engine_names[b]))
				ps[p].maps_differ = true;
		}
		for (e = 0; e < E_NR; e++)
			mdump_free(&now[e]);
	}
}

/* ---- one program ------------------------------------------------------------
 * Two phases per object.  Phase 1 runs every program on the frames of at
 * least ETH_HLEN bytes on all three engines and compares the maps after
 * each program.  Phase 2 runs the shorter frames, which the kernel's
 * test_run refuses (bpf_test_init: -EINVAL), on the JIT and the
 * interpreter only - after phase 1, so the runtime maps' extra updates do
 * not set them apart from the kernel's in the comparisons of phase 1. */

struct counts {
	uint32_t passed, failed, skipped;
	bool bad_input;		/* the -u file does not fit the object: exit 2 */
};

struct progtest {
	const char *name;
	struct ebpf_prog *prog[2];
	struct ebpf_prog *base;		/* the unconfigured copy (-V), or NULL */
	int kfd;
	bool runnable;
	struct pair_stat ps[3];
	/* per engine, per action (index 5: any other value); frames an
	 * engine could not run (the kernel's short frames) are not counted */
	uint32_t verdicts[E_NR][6];
	uint32_t kernel_refused, details;
	uint32_t decided;		/* jit verdict differs from the unconfigured one */
	uint32_t base_compared;
	uint64_t ring_records[E_NR];	/* ring buffer records per engine */
	uint32_t ring_errors;
	/* Makes raw SYN cookies: against the kernel, whose cookie secret is
	 * its own, a SYN-ACK's sequence number and TCP checksum are not
	 * compared (everything else is). */
	bool cookies;
	uint32_t cookies_masked;
};

/* xdp[E_JIT], xdp[E_INTERP], and xdp[2] for the unconfigured copy. */
struct runner {
	const struct options *o;
	const char *objname;
	bool configured;
	struct ebpf_xdp_buff *xdp[3];
	struct result *res;		/* E_NR results, then the unconfigured copy's */
	struct pg_frame *f;
	struct rc_set *rings;		/* the object's ring buffers */
};

static void report_mismatch(struct runner *rn, struct progtest *t, uint32_t idx)
{
	struct result *res = rn->res;
	struct pg_frame *f = rn->f;
	int e;

	printf("MISMATCH %s:%s packet #%u (%s), %u bytes, seed %" PRIu64 "\n",
	       rn->objname, t->name, idx, f->desc, f->len, rn->o->seed);
	hexdump("    ", f->buf, f->len < 512 ? f->len : 512, 0);
	if (f->len > 512)
		printf("    ... (%u more bytes)\n", f->len - 512);
	for (e = 0; e < E_NR; e++)
		print_result(engine_names[e], &res[e], &res[E_JIT]);
	for (e = 1; e < E_NR; e++)
		if (rn->rings->n && !rc_equal(rn->rings, E_JIT, e))
			rc_describe(rn->rings, E_JIT, e, engine_names[E_JIT], engine_names[e]);
	for (e = 1; e < E_NR; e++) {
		uint32_t k, n;

		if (res[e].err || res[E_JIT].err ||
		    (res[e].len == res[E_JIT].len && !memcmp(res[e].out, res[E_JIT].out, res[e].len)))
			continue;	/* only the verdict differs */
		n = res[e].len < res[E_JIT].len ? res[e].len : res[E_JIT].len;
		for (k = 0; k < n && res[e].out[k] == res[E_JIT].out[k]; k++)
			;
		k &= ~15u;
		printf("    jit output from byte %u:\n", k);
		hexdump("      ", res[E_JIT].out + k,
			res[E_JIT].len - k < 48 ? res[E_JIT].len - k : 48, k);
		printf("    %s output from byte %u:\n", engine_names[e], k);
		hexdump("      ", res[e].out + k, res[e].len - k < 48 ? res[e].len - k : 48, k);
	}
}

static void run_phase(struct runner *rn, struct progtest *t, int phase)
{
	struct pg_rng rng = { rn->o->seed };
	struct result *res = rn->res;
	struct pg_frame *f = rn->f;
	uint32_t i;
	int p, e, ring_err;

	for (i = 0; i < rn->o->packets; i++) {
		bool differ = false, short_frame;

		/* the same sequence in both phases: generate every frame */
		pg_frame_gen(&rng, i, f);
		short_frame = f->len < PG_ETH_HLEN;
		if (short_frame != (phase == 2))
			continue;
		run_runtime(t->prog[E_JIT], rn->xdp[E_JIT], f, &res[E_JIT]);
		run_runtime(t->prog[E_INTERP], rn->xdp[E_INTERP], f, &res[E_INTERP]);
		run_kernel(t->kfd, f, &res[E_KERNEL]);
		if (short_frame && res[E_KERNEL].err == -EINVAL)
			t->kernel_refused++;
		/* what this frame wrote into the ring buffers */
		ring_err = rn->rings->n ? rc_drain(rn->rings, t->ring_records) : 0;
		if (ring_err && t->ring_errors++ == 0)
			printf("FAIL %s:%s packet #%u: cannot drain the ring buffers: %s\n",
			       rn->objname, t->name, i, strerror(-ring_err));
		for (e = 0; e < E_NR; e++)
			if (!res[e].err)
				t->verdicts[e][res[e].ret < 5 ? res[e].ret : 5]++;
		if (t->base) {
			struct result *b = &res[E_NR];

			run_runtime(t->base, rn->xdp[2], f, b);
			if (!b->err && !res[E_JIT].err) {
				t->base_compared++;
				if (b->ret != res[E_JIT].ret)
					t->decided++;
			}
		}
		for (p = 0; p < 3; p++) {
			int a = pairs[p][0], b = pairs[p][1];

			if (b == E_KERNEL && short_frame && res[E_KERNEL].err == -EINVAL)
				continue;
			t->ps[p].compared++;
			if (t->cookies && b == E_KERNEL) {
				bool masked, same = same_result_cookies(&res[a], &res[b], &masked);

				t->cookies_masked += masked && same;
				if (!same || ring_err) {
					t->ps[p].mismatched++;
					differ = true;
				}
				continue;
			}
			if (!same_result(&res[a], &res[b]) || ring_err ||
			    (rn->rings->n && !rc_equal(rn->rings, a, b))) {
				t->ps[p].mismatched++;
				differ = true;
			}
		}
		if (differ && t->details++ < MAX_DETAILS)
			report_mismatch(rn, t, i);
	}
}

static bool prog_setup(struct objset *os, const char *objname, struct progtest *t,
		       struct counts *cnt)
{
	struct ebpf_prog *kp;
	const char *nd;

	t->prog[E_JIT] = ebpf_object_find_prog(os->obj[E_JIT], t->name);
	t->prog[E_INTERP] = ebpf_object_find_prog(os->obj[E_INTERP], t->name);
	kp = ebpf_object_find_prog(os->obj[E_KERNEL], t->name);
	t->kfd = kp ? ebpf_prog_kernel_fd(kp) : -1;
	if (!t->prog[E_JIT] || !t->prog[E_INTERP] || t->kfd < 0) {
		printf("FAIL %s:%s: program missing in one of the engines' objects "
		       "(jit %p, interp %p, kernel fd %d)\n", objname, t->name,
		       (void *)t->prog[E_JIT], (void *)t->prog[E_INTERP], t->kfd);
		cnt->failed += 3;
		return false;
	}
	t->cookies = calls_helper(t->prog[E_JIT], BPF_FUNC_tcp_raw_gen_syncookie_ipv4);
	nd = nondeterministic_helper(t->prog[E_JIT]);
	if (nd) {
		printf("SKIP %s:%s: calls %s, whose result differs run to run\n",
		       objname, t->name, nd);
		cnt->skipped += 3 + (os->base ? 1 : 0);
		return false;
	}
	if (os->base) {
		t->base = ebpf_object_find_prog(os->base, t->name);
		if (!t->base) {
			printf("FAIL %s:%s: program missing in the unconfigured copy\n",
			       objname, t->name);
			cnt->failed += 4;
			return false;
		}
	}
	return true;
}

/* -V: a configured filter must take both sides on every engine - a
 * filter that passes (or drops) everything was not hit by its
 * configuration, or was hit by all of it - and the configuration must
 * change some verdicts against the unconfigured copy.  ABORTED is the
 * error path (truncated frames, failed helpers), not a decision, so it
 * does not count as one of the two kinds. */
static void verdict_check(const struct runner *rn, const struct progtest *t, struct counts *cnt)
{
	char why[256] = "";
	size_t n = 0;
	int e, a;

	for (e = 0; e < E_NR; e++) {
		int kinds = 0, only = -1;

		for (a = 1; a < 6; a++)
			if (t->verdicts[e][a]) {
				kinds++;
				only = a;
			}
		if (kinds < 2 && n < sizeof(why))
			n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s returned %s%s",
					      n ? "; " : "", engine_names[e],
					      kinds ? "only " : "no verdict but ABORTED",
					      kinds ? action_name((uint32_t)only) : "");
	}
	if (rn->configured && !t->decided && n < sizeof(why))
		n += (size_t)snprintf(why + n, sizeof(why) - n, "%sthe configuration changed "
				      "no verdict of the unconfigured program",
				      n ? "; " : "");
	if (n) {
		printf("FAIL %s:%s verdicts: %s: the configuration does not hit (or hits "
		       "everything)\n", rn->objname, t->name, why);
		cnt->failed++;
		return;
	}
	printf("PASS %s:%s verdicts: at least two kinds besides ABORTED on every engine",
	       rn->objname, t->name);
	if (rn->configured)
		printf("; the configuration decided %u of %u frames", t->decided,
		       t->base_compared);
	printf("\n");
	cnt->passed++;
}

static void prog_report(const struct runner *rn, const struct progtest *t, struct counts *cnt)
{
	int p, e;

	printf("  %s:%s: %u frames (%u below 14 bytes, refused by the kernel)\n",
	       rn->objname, t->name, rn->o->packets, t->kernel_refused);
	for (e = 0; e < E_NR; e++) {
		const uint32_t *v = t->verdicts[e];

		printf("  %s:%s: %s verdicts: ABORTED %u, DROP %u, PASS %u, TX %u, REDIRECT %u, "
		       "other %u\n", rn->objname, t->name, engine_names[e], v[0], v[1], v[2],
		       v[3], v[4], v[5]);
	}
	if (t->base)
		printf("  %s:%s: unconfigured jit differs on %u of %u frames\n", rn->objname,
		       t->name, t->decided, t->base_compared);
	if (t->cookies)
		printf("  %s:%s: makes SYN cookies: %u SYN-ACKs (two engines against the kernel) "
		       "compared without their cookie and TCP checksum\n", rn->objname, t->name,
		       t->cookies_masked);
	if (rn->rings->n)
		printf("  %s:%s: ring buffer records: jit %" PRIu64 ", interp %" PRIu64
		       ", kernel %" PRIu64 "\n", rn->objname, t->name, t->ring_records[E_JIT],
		       t->ring_records[E_INTERP], t->ring_records[E_KERNEL]);
	for (p = 0; p < 3; p++) {
		int a = pairs[p][0], b = pairs[p][1];
		const struct pair_stat *ps = &t->ps[p];
		bool ok = !ps->mismatched && !ps->maps_differ && ps->compared >= 1000;

		printf("%s %s:%s %s-vs-%s: %u frames compared, %u differ%s%s\n",
		       ok ? "PASS" : "FAIL", rn->objname, t->name, engine_names[a],
		       engine_names[b], ps->compared, ps->mismatched,
		       ps->maps_differ ? ", maps differ" : "",
		       ps->compared < 1000 ? ", fewer than 1000 frames compared" : "");
		if (ok)
			cnt->passed++;
		else
			cnt->failed++;
	}
	if (rn->o->check_verdicts)
		verdict_check(rn, t, cnt);
}

static void test_progs(const struct options *o, struct objset *os, struct mapset *ms,
		       struct rc_set *rings, const char *objname, struct counts *cnt)
{
	struct runner rn = { .o = o, .objname = objname, .configured = os->configured,
			     .rings = rings };
	struct progtest *t = NULL;
	struct ebpf_prog *prog = NULL;
	size_t n = 0, i;
	int e, err, phase;

	while ((prog = ebpf_object_next_prog(os->obj[E_JIT], prog))) {
		const char *pname = ebpf_prog_name(prog);
		struct progtest *nt;

		if (o->prog && strcmp(o->prog, pname) && strcmp(o->prog, ebpf_prog_section(prog)))
			continue;
		nt = realloc(t, (n + 1) * sizeof(*t));
		if (!nt)
			goto oom;
		t = nt;
		memset(&t[n], 0, sizeof(t[n]));
		t[n].name = pname;
		t[n].runnable = prog_setup(os, objname, &t[n], cnt);
		n++;
	}
	if (!n) {
		printf("FAIL %s: %s\n", objname, o->prog ? "no program of that name" : "no programs");
		cnt->failed++;
		return;
	}

	rn.res = calloc(E_NR + 1, sizeof(*rn.res));
	rn.f = calloc(1, sizeof(*rn.f));
	if (!rn.res || !rn.f)
		goto oom;
	for (e = 0; e < (os->base ? 3 : 2); e++) {
		err = ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &rn.xdp[e]);
		if (err) {
			printf("FAIL %s: cannot allocate an XDP buffer: %s\n", objname,
			       strerror(-err));
			cnt->failed += (os->base ? 4 : 3) * (uint32_t)n;
			goto out;
		}
	}
	for (phase = 1; phase <= 2; phase++) {
		for (i = 0; i < n; i++) {
			struct pair_stat ps[3] = { 0 };

			if (!t[i].runnable)
				continue;
			run_phase(&rn, &t[i], phase);
			if (!o->maps)
				continue;
			/* phase 2 left the kernel out: only jit-vs-interp */
			mapset_compare(os, ms, phase == 1 ? 7u : 1u, ps);
			for (e = 0; e < 3; e++)
				if (ps[e].maps_differ)
					t[i].ps[e].maps_differ = true;
		}
	}
	for (i = 0; i < n; i++)
		if (t[i].runnable)
			prog_report(&rn, &t[i], cnt);
	goto out;
oom:
	printf("FAIL %s: out of memory\n", objname);
	cnt->failed++;
out:
	for (e = 0; e < 3; e++)
		if (rn.xdp[e])
			ebpf_xdp_buff_free(rn.xdp[e]);
	free(rn.res);
	free(rn.f);
	free(t);
}

/* ---- object ----------------------------------------------------------------- */

/* The built-in configuration (-c), then the -u file, on every engine's
 * maps.  Returns 0, -EINVAL when the -u file does not fit the object
 * (reported by line), or another -errno. */
static int configure(const struct options *o, struct objset *os, const char *objname)
{
	enum cfg_kind k = o->cfg;
	int e, n = 0, err;

	if (k == CFG_AUTO)
		k = !strncmp(objname, "xdpfilt_", 8) ? CFG_XDP_FILTER :
		    !strncmp(objname, "fw_", 3) ? CFG_FW : CFG_NONE;
	for (e = 0; e < E_NR && k != CFG_NONE; e++) {
		/* the runtime maps of the jit and interp objects; the
		 * kernel twins of the kernel object */
		bool kernel = e == E_KERNEL;

		n = k == CFG_XDP_FILTER ? mc_config_xdp_filter(os->obj[e], kernel)
					: mc_config_fw(os->obj[e], kernel, 1000, 200, 42);
		if (n < 0)
			return n;
	}
	if (k != CFG_NONE) {
		printf("  %s: configured as %s (%d entries per engine)\n", objname,
		       k == CFG_XDP_FILTER ? "xdp-filter" : "firewall", n);
		os->configured = true;
	}
	if (!o->updates)
		return 0;
	if (upd_check(o->updates, os->obj[E_JIT]))
		return -EINVAL;
	for (e = 0; e < E_NR; e++) {
		err = upd_apply(o->updates, os->obj[e], e == E_KERNEL);
		if (err)
			return -EINVAL;
	}
	printf("  %s: %zu map updates from %s applied to every engine\n", objname,
	       o->updates->n, o->updates->path);
	os->configured = o->updates->n > 0 || os->configured;
	return 0;
}

static int run(const struct options *o, struct counts *cnt)
{
	static const enum ebpf_engine engines[E_NR] = {
		EBPF_ENGINE_JIT, EBPF_ENGINE_INTERP, EBPF_ENGINE_INTERP,
	};
	char *pathcopy = strdup(o->path);
	const char *objname = pathcopy ? basename(pathcopy) : o->path;
	struct objset os = { 0 };
	struct mapset ms = { 0 };
	struct rc_set rings = { 0 };
	struct pinlist pins;
	int e, err = 0;

	pins_list(&pins);

	for (e = 0; e < E_NR; e++) {
		char errbuf[512] = "", *log = calloc(1, 1 << 20);
		struct ebpf_object_opts opts = {
			.sz = sizeof(opts),
			.engine = engines[e],
			.log_buf = log,
			.log_size = log ? 1 << 20 : 0,
			.err_buf = errbuf,
			.err_size = sizeof(errbuf),
			.keep_kernel = true,
		};

		set_presets(o, &opts);
		err = ebpf_object_open(o->path, &opts, &os.obj[e]);
		if (err) {
			bool bad = name_marks_bad(o->path);

			printf("%s %s: cannot load for %s: %s (%s)\n", bad ? "SKIP" : "FAIL",
			       objname, engine_names[e], errbuf[0] ? errbuf : "no reason given",
			       strerror(-err));
			if (bad) {
				printf("  (expected: the file name marks it as a bad object)\n");
				err = 0;
				cnt->skipped++;
			} else {
				if (log && log[0] && o->verbose)
					printf("%s\n", log);
				cnt->failed++;
			}
			free(log);
			goto out;
		}
		free(log);
	}

	err = configure(o, &os, objname);
	if (err) {
		if (err == -EINVAL && o->updates) {
			printf("FAIL %s: %s does not fit the object (lines reported above)\n",
			       objname, o->updates->path);
			cnt->bad_input = true;
		} else {
			printf("FAIL %s: cannot configure its maps: %s\n", objname,
			       strerror(-err));
		}
		cnt->failed++;
		goto out;
	}
	if (o->check_verdicts) {
		/* an unconfigured copy: what the configuration changes */
		struct ebpf_object_opts opts = { .sz = sizeof(opts), .engine = EBPF_ENGINE_JIT };

		set_presets(o, &opts);
		err = ebpf_object_open(o->path, &opts, &os.base);
		if (err) {
			printf("FAIL %s: cannot load the unconfigured copy: %s\n", objname,
			       strerror(-err));
			cnt->failed++;
			goto out;
		}
	}
	if (o->maps) {
		err = mapset_init(&os, &ms);
		if (err) {
			printf("FAIL %s: cannot read its maps: %s\n", objname, strerror(-err));
			cnt->failed++;
			goto out;
		}
	}

	err = rc_init(os.obj, &rings);
	if (err) {
		printf("FAIL %s: cannot read its ring buffers: %s\n", objname, strerror(-err));
		cnt->failed++;
		goto out;
	}

	test_progs(o, &os, &ms, &rings, objname, cnt);
out:
	rc_free(&rings);
	mapset_free(&ms);
	/* before closing: the object's map names are needed */
	for (e = 0; e < E_NR; e++)
		if (os.obj[e]) {
			/* one failure per object, however many maps */
			cnt->failed += pins_check(&pins, os.obj[e], objname, "FAIL") ? 1 : 0;
			break;
		}
	for (e = 0; e < E_NR; e++)
		if (os.obj[e])
			ebpf_object_close(os.obj[e]);
	if (os.base)
		ebpf_object_close(os.base);
	free(pins.names);
	free(pathcopy);
	return err;
}

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [options] OBJECT.o\n"
		"Run every XDP program of OBJECT (or -p NAME) on generated frames with the\n"
		"runtime's JIT, its interpreter and the kernel (BPF_PROG_TEST_RUN), and\n"
		"check they return the same verdict and bytes and leave the same maps.\n"
		"  -p, --prog NAME     only this program (function or section name)\n"
		"  -n, --packets N     frames per program (default 2000, at least 1000)\n"
		"  -s, --seed S        generator seed (default 1)\n"
		"  -c, --config KIND   map configuration: auto (default: by file name,\n"
		"                      xdpfilt_* -> xdp-filter, fw_* -> fw), none,\n"
		"                      xdp-filter, fw\n"
		"  -u, --updates FILE  then apply the map updates of FILE to every engine:\n"
		"                      lines 'MAP KEYHEX VALHEX' (hex bytes in memory order,\n"
		"                      per-CPU maps get the value on every CPU; '#'\n"
		"                      comments), as flextoe-fw compile --print-updates\n"
		"                      prints and flextoe-bpf test-run --map-update takes\n"
		"  -V, --check-verdicts one more test per program: every engine returned\n"
		"                      at least two verdict kinds, and the configuration\n"
		"                      changed some verdicts of an unconfigured copy\n"
		"  -M, --no-maps       do not compare map contents afterwards\n"
		"  -S, --map-size NAME=N, -R, --rodata NAME=HEX\n"
		"                      set before load, as flextoe-bpf's options (repeatable)\n"
		"  -v, --verbose       runtime and libbpf messages, verifier logs\n"
		"  -h, --help\n"
		"Objects whose name contains reject/bad/unsupported/invalid/noprog may fail\n"
		"to load (reported as SKIP); any other load failure is a test failure.\n"
		"Ends with \"N passed, N failed\"; exit status 1 if any failed, 2 on a bad\n"
		"argument or a bad line in the -u file.\n",
		argv0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "packets", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "updates", required_argument, NULL, 'u' },
		{ "check-verdicts", no_argument, NULL, 'V' },
		{ "no-maps", no_argument, NULL, 'M' },
		{ "map-size", required_argument, NULL, 'S' },
		{ "rodata", required_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct options o = { .packets = 2000, .seed = 1, .maps = true };
	struct counts cnt = { 0 };
	const char *updates_path = NULL;
	struct upd_file updates;
	cpu_set_t set;
	char *end;
	int c, cpu;

	while ((c = getopt_long(argc, argv, "p:n:s:c:u:VMvhS:R:", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.prog = optarg;
			break;
		case 'n':
			o.packets = (uint32_t)strtoul(optarg, &end, 0);
			if (*end || o.packets < 1000 || o.packets > 10000000) {
				fprintf(stderr, "%s: --packets wants 1000..10000000, not '%s'\n",
					argv[0], optarg);
				return 2;
			}
			break;
		case 's':
			o.seed = strtoull(optarg, &end, 0);
			if (*end) {
				fprintf(stderr, "%s: --seed wants a number, not '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		case 'c':
			if (!strcmp(optarg, "auto"))
				o.cfg = CFG_AUTO;
			else if (!strcmp(optarg, "none"))
				o.cfg = CFG_NONE;
			else if (!strcmp(optarg, "xdp-filter"))
				o.cfg = CFG_XDP_FILTER;
			else if (!strcmp(optarg, "fw"))
				o.cfg = CFG_FW;
			else {
				fprintf(stderr, "%s: --config wants auto, none, xdp-filter or fw, "
					"not '%s'\n", argv[0], optarg);
				return 2;
			}
			break;
		case 'u':
			updates_path = optarg;
			break;
		case 'V':
			o.check_verdicts = true;
			break;
		case 'M':
			o.maps = false;
			break;
		case 'S':
		case 'R':
			if (add_preset(&o, c, optarg, argv[0]))
				return 2;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr, argv[0]);
		return 2;
	}
	o.path = argv[optind];
	if (access(o.path, R_OK)) {
		fprintf(stderr, "%s: cannot read %s: %s\n", argv[0], o.path, strerror(errno));
		return 2;
	}
	if (updates_path) {
		/* syntax first, before anything is loaded */
		if (upd_load(updates_path, &updates))
			return 2;
		o.updates = &updates;
	}

	/* One CPU for the whole run: the kernel's test_run executes on the
	 * caller's CPU, so per-CPU map state stays in one slot as in the
	 * runtime's thread. */
	cpu = sched_getcpu();
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	lo_ifindex = (int)if_nametoindex("lo");
	if (lo_ifindex <= 0)
		lo_ifindex = 1;
	if (!o.verbose)
		libbpf_set_print(libbpf_quiet);
	ftoe_log_set_level(o.verbose ? FTOE_LOG_DEBUG : FTOE_LOG_ERROR);
	/* A hung engine must end as a failure, not stall `make test`. */
	alarm(900);
	setvbuf(stdout, NULL, _IOLBF, 0);

	run(&o, &cnt);
	if (o.updates)
		upd_free(o.updates);
	for (size_t i = 0; i < o.nr_globals; i++)
		free((void *)o.globals[i].data);	/* upd_parse_hex's bytes */
	if (cnt.skipped)
		printf("%u skipped\n", cnt.skipped);
	printf("%u passed, %u failed\n", cnt.passed, cnt.failed);
	return cnt.bad_input ? 2 : cnt.failed ? 1 : 0;
}
