/* trace_plot.c - flextoe-bpf trace --plot: a Stevens-style sequence/time graph, cwnd (or rate) and srtt over time, drawn by gnuplot from a data file of the traced records. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <flextoe/bpf.h>

#include "loader/bpf-cli/cli.h"
#include "loader/bpf-cli/trace_plot.h"

/*
 * The data file FILE.dat is what gnuplot reads and is kept next to the
 * picture, one row per trace record of the drawn connection, in the order
 * printed: so what is drawn can be checked against the trace
 * (tests/integration/ops_plot.sh).  Columns:
 *   time (as the trace prints it), t (s from the first row), dir (tx/rx:
 *   the engine's), data (1: a segment of the drawn direction), seq and end
 *   (relative to the first data byte), ack (relative, of the other
 *   direction's segments), len, retransmit, ooo, cwnd (bytes, or kbit/s
 *   with rate 1), rate, srtt_us, then the SACK blocks of the other
 *   direction's ACKs: nsack and four pairs sack_start sack_end (relative;
 *   0 past nsack), read from the TCP options in the record's snap[].
 */

#define TP_SACK_MAX 4	/* blocks in 40 option bytes (RFC 2018 section 3) */

struct tp_rec {
	struct flextoe_trace_rec r;
	struct timespec ts;
};

struct trace_plot {
	char *file;
	bool png;
	struct tp_rec *recs;
	size_t n, cap;
};

struct trace_plot *tp_open(const char *file)
{
	size_t len = strlen(file);
	struct trace_plot *p;
	bool svg = len > 4 && !strcmp(file + len - 4, ".svg");
	bool png = len > 4 && !strcmp(file + len - 4, ".png");

	if (!svg && !png) {
		cli_usage_error("trace", "--plot '%s': the file must end in .svg or .png", file);
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p || !(p->file = strdup(file))) {
		free(p);
		cli_fail("out of memory");
		return NULL;
	}
	p->png = png;
	return p;
}

int tp_add(struct trace_plot *p, const struct flextoe_trace_rec *r, const struct timespec *ts)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		struct tp_rec *n = realloc(p->recs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->recs = n;
		p->cap = cap;
	}
	p->recs[p->n].r = *r;
	p->recs[p->n++].ts = *ts;
	return 0;
}

static uint32_t get_be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* The SACK option's blocks (RFC 2018 section 3) of the segment whose first
 * bytes the record kept: Ethernet, VLAN tags, IPv4 or IPv6 (no extension
 * headers), TCP options as far as the snap reaches.  How many (0: none). */
static unsigned int sack_blocks(const struct flextoe_trace_rec *r, uint32_t blk[TP_SACK_MAX][2])
{
	const uint8_t *s = r->snap;
	unsigned int len = r->snap_len < FLEXTOE_TRACE_SNAP ? r->snap_len : FLEXTOE_TRACE_SNAP;
	unsigned int off = 14, l4, end, n = 0;
	uint16_t type;

	if (len < 14)
		return 0;
	type = (uint16_t)(s[12] << 8 | s[13]);
	while ((type == 0x8100 || type == 0x88a8) && off + 4 <= len) {
		type = (uint16_t)(s[off + 2] << 8 | s[off + 3]);
		off += 4;
	}
	if (type == 0x0800 && off + 20 <= len && s[off + 9] == 6)
		l4 = off + (s[off] & 15u) * 4;
	else if (type == 0x86dd && off + 40 <= len && s[off + 6] == 6)
		l4 = off + 40;
	else
		return 0;
	if (l4 + 20 > len)
		return 0;
	end = l4 + (s[l4 + 12] >> 4) * 4u;
	if (end > len)
		end = len;
	for (unsigned int o = l4 + 20; o < end;) {
		unsigned int kind = s[o], olen;

		if (kind == 0)		/* end of options */
			break;
		if (kind == 1) {	/* no-operation */
			o++;
			continue;
		}
		if (o + 1 >= end || (olen = s[o + 1]) < 2 || o + olen > end)
			break;
		if (kind == 5)
			for (unsigned int b = o + 2; b + 8 <= o + olen && n < TP_SACK_MAX; b += 8) {
				blk[n][0] = get_be32(s + b);
				blk[n++][1] = get_be32(s + b + 4);
			}
		o += olen;
	}
	return n;
}

/* The 4-tuple, with the lower (addr, port) end first: both directions. */
struct tp_key {
	uint8_t a[16], b[16];
	uint16_t pa, pb;
};

static void key_of(const struct flextoe_trace_rec *r, struct tp_key *k, bool *a_is_src)
{
	int c = memcmp(r->saddr, r->daddr, 16);

	*a_is_src = c < 0 || (c == 0 && r->sport <= r->dport);
	memset(k, 0, sizeof(*k));
	memcpy(k->a, *a_is_src ? r->saddr : r->daddr, 16);
	memcpy(k->b, *a_is_src ? r->daddr : r->saddr, 16);
	k->pa = *a_is_src ? r->sport : r->dport;
	k->pb = *a_is_src ? r->dport : r->sport;
}

/* The connection and direction (from a: true) with the most payload. */
static bool pick(const struct trace_plot *p, struct tp_key *best, bool *best_from_a)
{
	struct tp_key *keys = calloc(p->n ? p->n : 1, sizeof(*keys));
	uint64_t *bytes = calloc(p->n ? p->n * 2 : 2, sizeof(*bytes)), top = 0;
	size_t nk = 0;
	bool found = false;

	if (!keys || !bytes) {
		free(keys);
		free(bytes);
		return false;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct tp_key k;
		bool from_a;
		size_t j;

		key_of(&p->recs[i].r, &k, &from_a);
		for (j = 0; j < nk && memcmp(&keys[j], &k, sizeof(k)); j++)
			;
		if (j == nk)
			keys[nk++] = k;
		bytes[j * 2 + !from_a] += p->recs[i].r.len;
	}
	for (size_t j = 0; j < nk; j++)
		for (int d = 0; d < 2; d++)
			if (!found || bytes[j * 2 + d] > top) {
				top = bytes[j * 2 + d];
				*best = keys[j];
				*best_from_a = d == 0;
				found = true;
			}
	free(keys);
	free(bytes);
	return found;
}

static int write_data(const struct trace_plot *p, const char *dat, const struct tp_key *key,
		      bool from_a, size_t *rows, bool *rate)
{
	FILE *f = fopen(dat, "w");
	uint32_t base = 0;
	bool have_base = false;
	struct timespec t0 = { 0, 0 };

	if (!f)
		return cli_fail("--plot: cannot write %s: %s", dat, strerror(errno));
	fprintf(f, "# flextoe-bpf trace --plot: one row per trace record of the drawn connection\n"
		   "# time t dir data seq end ack len retransmit ooo cwnd rate srtt_us "
		   "nsack sack_start sack_end (x%d)\n", TP_SACK_MAX);
	*rows = 0;
	*rate = false;
	for (size_t i = 0; i < p->n; i++) {
		const struct flextoe_trace_rec *r = &p->recs[i].r;
		uint32_t first, blk[TP_SACK_MAX][2];
		unsigned int nsack = 0;
		struct tp_key k;
		bool a_src, data;

		key_of(r, &k, &a_src);
		if (memcmp(&k, key, sizeof(k)))
			continue;
		data = a_src == from_a;
		/* the sequence base: the first data byte (after a SYN: seq + 1) */
		if (data && !have_base) {
			first = r->seq + ((r->tcp_flags & 0x02) ? 1 : 0);
			base = first;
			have_base = true;
		}
		if (!*rows)
			t0 = p->recs[i].ts;
		if (r->flags & FLEXTOE_TRF_RATE)
			*rate = true;
		fprintf(f, "%lld.%06ld %.6f %s %d %d %d %d %u %d %d %u %d %u",
			(long long)p->recs[i].ts.tv_sec, p->recs[i].ts.tv_nsec / 1000,
			(double)(p->recs[i].ts.tv_sec - t0.tv_sec) +
				(double)(p->recs[i].ts.tv_nsec / 1000 - t0.tv_nsec / 1000) / 1e6,
			r->dir == FLEXTOE_DIR_TX ? "tx" : "rx", data,
			data ? (int32_t)(r->seq - base) : 0,
			data ? (int32_t)(r->seq + r->len - base) : 0,
			!data && (r->tcp_flags & 0x10) ? (int32_t)(r->ack - base) : 0,
			r->len, !!(r->flags & FLEXTOE_TRF_RETRANSMIT), !!(r->flags & FLEXTOE_TRF_OOO),
			r->cwnd, !!(r->flags & FLEXTOE_TRF_RATE), r->srtt_us);
		/* SACK blocks acknowledge the drawn data: on the other side's
		 * ACKs, and only once the base is known */
		if (!data && have_base && (r->tcp_flags & 0x10))
			nsack = sack_blocks(r, blk);
		fprintf(f, " %u", nsack);
		for (unsigned int b = 0; b < TP_SACK_MAX; b++)
			fprintf(f, " %d %d", b < nsack ? (int32_t)(blk[b][0] - base) : 0,
				b < nsack ? (int32_t)(blk[b][1] - base) : 0);
		fputc('\n', f);
		(*rows)++;
	}
	if (fclose(f))
		return cli_fail("--plot: cannot write %s: %s", dat, strerror(errno));
	return 0;
}

static int run_gnuplot(const char *script)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return cli_fail("--plot: fork: %s", strerror(errno));
	if (!pid) {
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		fprintf(stderr, "%s: --plot: cannot run gnuplot: %s (Debian: apt install "
			"gnuplot-nox)\n", CLI_NAME, strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return cli_fail("--plot: gnuplot failed (status %d)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

int tp_finish(struct trace_plot *p)
{
	char dat[4200], gp[4200], title[160], a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	struct tp_key key;
	bool from_a, rate = false;
	size_t rows = 0;
	FILE *f;
	int rc = CLI_EXIT_FAIL;

	snprintf(dat, sizeof(dat), "%s.dat", p->file);
	snprintf(gp, sizeof(gp), "%s.gp", p->file);
	if (!pick(p, &key, &from_a)) {
		cli_fail("--plot: no record was traced: nothing to draw");
		goto out;
	}
	if (write_data(p, dat, &key, from_a, &rows, &rate))
		goto out;
	inet_ntop(p->recs[0].r.family == 6 ? AF_INET6 : AF_INET, from_a ? key.a : key.b, a, sizeof(a));
	inet_ntop(p->recs[0].r.family == 6 ? AF_INET6 : AF_INET, from_a ? key.b : key.a, b, sizeof(b));
	snprintf(title, sizeof(title), "%s:%u > %s:%u", a, from_a ? key.pa : key.pb, b,
		 from_a ? key.pb : key.pa);
	f = fopen(gp, "w");
	if (!f) {
		cli_fail("--plot: cannot write %s: %s", gp, strerror(errno));
		goto out;
	}
	/* Three panels as Wireshark's TCP stream graphs: Stevens (sequence
	 * over time; retransmissions and out-of-order arrivals marked, the
	 * other side's ACKs as a step line and their SACK blocks as vertical
	 * bars, as tcptrace draws them), cwnd or rate, srtt.  1/0 leaves a
	 * row out of a series. */
	fprintf(f,
		"set terminal %s size 1000,900\n"
		"set output '%s'\n"
		"set datafile commentschars '#'\n"
		"set multiplot layout 3,1 title 'flextoe-bpf trace: %s'\n"
		"set xlabel 'time (s)'\n"
		"set key top left\n"
		"set ylabel 'relative sequence (bytes)'\n"
		"plot '%s' using 2:($4==1 && $9==0 && $10==0 ? $5 : 1/0):(0):($6-$5) with vectors nohead lc rgb '#1f4e9c' title 'data', \\\n"
		"     '' using 2:($4==1 && $9==1 ? $5 : 1/0) with points pt 7 ps 0.6 lc rgb '#d62728' title 'retransmission', \\\n"
		"     '' using 2:($4==1 && $10==1 ? $5 : 1/0) with points pt 6 ps 0.6 lc rgb '#2ca02c' title 'out of order (OOO)', \\\n"
		"     '' using 2:($4==0 && $7!=0 ? $7 : 1/0) with steps lc rgb '#7f7f7f' title 'ACK', \\\n"
		"     '' using 2:($14>=1 ? $15 : 1/0):(0):($16-$15) with vectors nohead lw 2 lc rgb '#e377c2' title 'SACK', \\\n"
		"     '' using 2:($14>=2 ? $17 : 1/0):(0):($18-$17) with vectors nohead lw 2 lc rgb '#e377c2' notitle, \\\n"
		"     '' using 2:($14>=3 ? $19 : 1/0):(0):($20-$19) with vectors nohead lw 2 lc rgb '#e377c2' notitle, \\\n"
		"     '' using 2:($14>=4 ? $21 : 1/0):(0):($22-$21) with vectors nohead lw 2 lc rgb '#e377c2' notitle\n"
		"set ylabel '%s'\n"
		"plot '%s' using 2:($11 > 0 ? $11 : 1/0) with steps lc rgb '#9467bd' title '%s'\n"
		"set ylabel 'srtt (us)'\n"
		"plot '%s' using 2:($13 > 0 ? $13 : 1/0) with steps lc rgb '#ff7f0e' title 'srtt'\n"
		"unset multiplot\n",
		p->png ? "pngcairo" : "svg", p->file, title, dat,
		rate ? "rate (kbit/s)" : "cwnd (bytes)", dat, rate ? "rate" : "cwnd", dat);
	if (fclose(f)) {
		cli_fail("--plot: cannot write %s: %s", gp, strerror(errno));
		goto out;
	}
	rc = run_gnuplot(gp);
	if (!rc)
		fprintf(stderr, "%s: plotted %zu records of %s to %s (data: %s)\n", CLI_NAME, rows,
			title, p->file, dat);
out:
	free(p->recs);
	free(p->file);
	free(p);
	return rc;
}
