/* trace.c - flextoe-bpf trace: attach tcp_trace at rx-post and tx-post and print one record per TCP segment (text or JSON, optional pcap). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <flextoe/bpf.h>
#include <flextoe/trace.h>

#include "loader/bpf-cli/cli.h"
#include "loader/bpf-cli/ringstream.h"
#include "loader/bpf-cli/trace_plot.h"

#define TRACE_OBJ	"tcp_trace.bpf.o"
#define TRACE_MAX_TERMS	8

/* FILTER: terms "port N" / "host ADDR" joined by "and".  The first port
 * and the first host go into tcp_trace's trace_cfg (so unwanted segments
 * never reach the ring); every term is also checked here, which covers
 * filters trace_cfg cannot express (two ports). */
struct trace_term {
	bool is_port;
	uint16_t port;
	uint8_t family;
	uint8_t addr[16];
};

struct trace_ctx {
	struct rs_session *s;
	struct trace_term terms[TRACE_MAX_TERMS];
	unsigned int nterms;
	bool json;
	struct rs_pcap *pcap;
	struct trace_plot *plot;
	/* Records of both rings (rx-post, tx-post), printed in time order by
	 * flush_out.  The rings are read one after the other, so a record
	 * stamped just before one ring's read may reach the next read: each
	 * flush holds back what is younger than TRACE_HOLD_NS, and the last
	 * one (drain) prints the rest. */
	struct trace_item *batch;
	size_t nbatch, cap, order;
	bool failed, drain;
};

/* How long a record may take from its stamp to its ring and this reader's
 * read of it and still be printed in order (the engine's thread may wait
 * for a CPU between the two). */
#define TRACE_HOLD_NS 100000000ull

struct trace_item {
	struct flextoe_trace_rec r;
	size_t order;		/* arrival: ties keep it */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s trace [FILTER] [--format text|json] [-w FILE.pcap] [--count N]\n"
		"       [--duration S] [--plot FILE.svg|FILE.png] [--obj PATH] [--run-dir DIR]\n\n"
		"Attach tcp_trace at rx-post and tx-post of the running engine and print one\n"
		"record per TCP segment until SIGINT/SIGTERM, --count or --duration; the\n"
		"programs are detached on exit (and by the engine if this process dies).\n\n"
		"  FILTER          'port N', 'host ADDR' (IPv4 or IPv6), joined by 'and'\n"
		"  --format F      text (default) or json (one object per line, keys: time,\n"
		"                  saddr, sport, daddr, dport, dir, seq, ack, len, flags, win,\n"
		"                  snd_una, snd_nxt, cwnd (rate, kbit/s, for rate-based\n"
		"                  flows), srtt_us, retransmit, ooo)\n"
		"  --plot FILE     draw the connection that carried the most payload when the\n"
		"                  trace ends (gnuplot; FILE.svg or FILE.png): sequence over\n"
		"                  time with retransmissions, out-of-order arrivals and the\n"
		"                  peer's SACK blocks marked, cwnd or rate, srtt; its data in\n"
		"                  FILE.dat, one row per record\n"
		"  -w FILE         also write each segment's header bytes to a pcap file\n"
		"  --count N       stop after N records\n"
		"  --duration S    stop S seconds after the programs are attached\n"
		"  --obj PATH      tcp_trace object (default: found next to the binary)\n"
		"  --run-dir DIR   the engine's run directory\n"
		"  -h, --help      this help\n\n"
		"Needs root or membership of flextoe's --loader-group (as load).\n", CLI_NAME);
}

static int parse_filter(int argc, char **argv, struct trace_ctx *t)
{
	int i = 0;

	while (i < argc) {
		struct trace_term *term;

		if (t->nterms == TRACE_MAX_TERMS)
			return cli_usage_error("trace", "too many filter terms (at most %d)",
					       TRACE_MAX_TERMS);
		if (i + 1 >= argc)
			return cli_usage_error("trace", "filter term '%s' needs a value "
					       "(port N, host ADDR)", argv[i]);
		term = &t->terms[t->nterms++];
		memset(term, 0, sizeof(*term));
		if (!strcmp(argv[i], "port")) {
			char *end;
			unsigned long p;

			errno = 0;
			p = strtoul(argv[i + 1], &end, 10);
			if (errno || !*argv[i + 1] || *end || !p || p > 65535)
				return cli_usage_error("trace", "bad port '%s' in the filter",
						       argv[i + 1]);
			term->is_port = true;
			term->port = (uint16_t)p;
		} else if (!strcmp(argv[i], "host")) {
			if (inet_pton(AF_INET, argv[i + 1], term->addr) == 1)
				term->family = 4;
			else if (inet_pton(AF_INET6, argv[i + 1], term->addr) == 1)
				term->family = 6;
			else
				return cli_usage_error("trace", "bad address '%s' in the filter",
						       argv[i + 1]);
		} else {
			return cli_usage_error("trace", "unknown filter term '%s': the filter is "
					       "'port N' and 'host ADDR' joined by 'and'", argv[i]);
		}
		i += 2;
		if (i < argc) {
			if (strcmp(argv[i], "and") || i + 1 >= argc)
				return cli_usage_error("trace", "expected 'and' and another term "
						       "after '%s %s'", argv[i - 2], argv[i - 1]);
			i++;
		}
	}
	return 0;
}

static bool term_match(const struct trace_term *t, const struct flextoe_trace_rec *r)
{
	size_t n = t->family == 4 ? 4 : 16;

	if (t->is_port)
		return r->sport == t->port || r->dport == t->port;
	return r->family == t->family &&
	       (!memcmp(r->saddr, t->addr, n) || !memcmp(r->daddr, t->addr, n));
}

static void flags_str(uint8_t f, char *out)
{
	static const struct { uint8_t bit; char c; } map[] = {
		{ 0x02, 'S' }, { 0x01, 'F' }, { 0x04, 'R' }, { 0x08, 'P' },
		{ 0x20, 'U' }, { 0x40, 'E' }, { 0x80, 'W' }, { 0x10, '.' },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (f & map[i].bit)
			out[n++] = map[i].c;
	if (!n)
		out[n++] = '-';
	out[n] = 0;
}

static void addr_str(const struct flextoe_trace_rec *r, const uint8_t *a, char *out, size_t size)
{
	if (!inet_ntop(r->family == 6 ? AF_INET6 : AF_INET, a, out, (socklen_t)size))
		snprintf(out, size, "?");
}

static void emit(struct trace_ctx *t, const struct flextoe_trace_rec *rp)
{
	const struct flextoe_trace_rec r = *rp;
	char sa[INET6_ADDRSTRLEN], da[INET6_ADDRSTRLEN], fl[10];
	struct timespec ts;
	bool rate;

	rs_time(t->s, r.tstamp_ns, &ts);
	addr_str(&r, r.saddr, sa, sizeof(sa));
	addr_str(&r, r.daddr, da, sizeof(da));
	flags_str(r.tcp_flags, fl);
	rate = r.flags & FLEXTOE_TRF_RATE;
	if (t->json) {
		printf("{\"time\":%lld.%06ld,\"saddr\":\"%s\",\"sport\":%u,\"daddr\":\"%s\","
		       "\"dport\":%u,\"dir\":\"%s\",\"seq\":%u,\"ack\":%u,\"len\":%u,"
		       "\"flags\":\"%s\",\"win\":%u,\"snd_una\":%u,\"snd_nxt\":%u,\"%s\":%u,"
		       "\"srtt_us\":%u,\"retransmit\":%s,\"ooo\":%s}\n",
		       (long long)ts.tv_sec, ts.tv_nsec / 1000, sa, r.sport, da, r.dport,
		       r.dir == FLEXTOE_DIR_TX ? "tx" : "rx", r.seq, r.ack, r.len, fl, r.win,
		       r.snd_una, r.snd_nxt, rate ? "rate" : "cwnd", r.cwnd, r.srtt_us,
		       r.flags & FLEXTOE_TRF_RETRANSMIT ? "true" : "false",
		       r.flags & FLEXTOE_TRF_OOO ? "true" : "false");
	} else {
		struct tm tm;

		localtime_r(&ts.tv_sec, &tm);
		printf("%02d:%02d:%02d.%06ld %s %s.%u > %s.%u [%s] seq %u ack %u len %u win %u "
		       "snd_una %u snd_nxt %u %s %u srtt_us %u%s%s\n",
		       tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000,
		       r.dir == FLEXTOE_DIR_TX ? "tx" : "rx", sa, r.sport, da, r.dport, fl, r.seq,
		       r.ack, r.len, r.win, r.snd_una, r.snd_nxt, rate ? "rate" : "cwnd", r.cwnd,
		       r.srtt_us, r.flags & FLEXTOE_TRF_RETRANSMIT ? " RETRANSMIT" : "",
		       r.flags & FLEXTOE_TRF_OOO ? " OOO" : "");
	}
	if (t->pcap && r.snap_len)
		rs_pcap_write(t->pcap, &ts, r.snap, r.snap_len > FLEXTOE_TRACE_SNAP ?
			      FLEXTOE_TRACE_SNAP : r.snap_len, r.pkt_len);
	if (t->plot && !t->failed && tp_add(t->plot, &r, &ts)) {
		cli_fail("--plot: out of memory: the plot is left out");
		t->failed = true;
	}
}

static int on_record(void *ctx, unsigned int ring, const void *data, size_t len)
{
	struct trace_ctx *t = ctx;
	struct flextoe_trace_rec r;

	(void)ring;
	if (len < sizeof(r))
		return 0;	/* a record of another version: not ours */
	memcpy(&r, data, sizeof(r));
	for (unsigned int i = 0; i < t->nterms; i++)
		if (!term_match(&t->terms[i], &r))
			return 0;
	if (t->s->max_count && t->s->seen >= t->s->max_count)
		return 1;
	if (t->nbatch == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct trace_item *b = realloc(t->batch, cap * sizeof(*b));

		if (!b) {
			emit(t, &r);	/* no room to sort: in ring order */
			t->s->seen++;
			return 0;
		}
		t->batch = b;
		t->cap = cap;
	}
	t->batch[t->nbatch].r = r;
	t->batch[t->nbatch].order = t->order++;
	t->nbatch++;
	t->s->seen++;
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct trace_item *x = a, *y = b;

	if (x->r.tstamp_ns != y->r.tstamp_ns)
		return x->r.tstamp_ns < y->r.tstamp_ns ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void flush_out(void *ctx)
{
	struct trace_ctx *t = ctx;
	uint64_t cutoff = UINT64_MAX;
	struct timespec now;
	size_t i;

	if (!t->drain && !clock_gettime(CLOCK_MONOTONIC, &now)) {
		uint64_t ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;

		cutoff = ns > TRACE_HOLD_NS ? ns - TRACE_HOLD_NS : 0;
	}
	/* records without a time (stamped on receipt) sort first and go at once */
	qsort(t->batch, t->nbatch, sizeof(*t->batch), by_time);
	for (i = 0; i < t->nbatch && t->batch[i].r.tstamp_ns <= cutoff; i++)
		emit(t, &t->batch[i].r);
	memmove(t->batch, t->batch + i, (t->nbatch - i) * sizeof(*t->batch));
	t->nbatch -= i;
	fflush(stdout);
	if (t->pcap)
		rs_pcap_flush(t->pcap);
}

static int cmd_trace(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "write", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "obj", required_argument, NULL, 'o' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "plot", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *obj = NULL, *run_dir = NULL, *wfile = NULL, *plot = NULL;
	struct trace_ctx t = { 0 };
	struct rs_session s;
	struct flextoe_trace_cfg cfg = { 0 };
	char path[PATH_MAX];
	uint64_t count = 0;
	double duration = 0;
	char **words;
	int c, rc, nwords = 0;

	/* The filter's words may come before, between or after the options
	 * ("trace port 7 --format json"): '+' makes getopt stop at each word,
	 * which is collected, and then carry on from the next argument. */
	words = calloc((size_t)argc + 1, sizeof(*words));
	if (!words)
		return cli_fail("out of memory");
	while (optind < argc) {
		c = getopt_long(argc, argv, "+w:h", opts, NULL);
		if (c == -1) {
			if (optind >= argc)
				break;
			if (!strcmp(argv[optind], "--")) {
				optind++;
				while (optind < argc)
					words[nwords++] = argv[optind++];
				break;
			}
			words[nwords++] = argv[optind++];
			continue;
		}
		switch (c) {
		case 'f':
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				free(words);
				return cli_usage_error("trace", "unknown format '%s': text or json",
						       optarg);
			}
			t.json = !strcmp(optarg, "json");
			break;
		case 'w': wfile = optarg; break;
		case 'P': plot = optarg; break;
		case 'o': obj = optarg; break;
		case 'r': run_dir = optarg; break;
		case 'c':
			rc = rs_parse_count("trace", optarg, &count);
			if (rc) {
				free(words);
				return rc;
			}
			break;
		case 'd':
			rc = rs_parse_duration("trace", optarg, &duration);
			if (rc) {
				free(words);
				return rc;
			}
			break;
		case 'h': usage(stdout); free(words); return 0;
		default:
			free(words);
			return cli_usage_error("trace", "unknown option '%s'", argv[optind - 1]);
		}
	}
	rc = parse_filter(nwords, words, &t);
	free(words);
	if (rc)
		return rc;
	if ((rc = rs_find_object(obj, TRACE_OBJ, path, sizeof(path))))
		return rc;
	for (unsigned int i = 0; i < t.nterms; i++) {
		if (t.terms[i].is_port && !(cfg.flags & FLEXTOE_TRACE_CFG_PORT)) {
			cfg.flags |= FLEXTOE_TRACE_CFG_PORT;
			cfg.port = t.terms[i].port;
		} else if (!t.terms[i].is_port && !(cfg.flags & FLEXTOE_TRACE_CFG_ADDR)) {
			cfg.flags |= FLEXTOE_TRACE_CFG_ADDR;
			cfg.family = t.terms[i].family;
			memcpy(cfg.addr, t.terms[i].addr, 16);
		}
	}
	rs_session_init(&s, run_dir, duration, count);
	t.s = &s;
	if (plot && !(t.plot = tp_open(plot)))
		return CLI_EXIT_USAGE;
	if (wfile && !(t.pcap = rs_pcap_open(wfile, FLEXTOE_TRACE_SNAP)))
		return CLI_EXIT_FAIL;
	rc = rs_load(&s, path, flextoe_hook_name_of(FLEXTOE_HOOK_RX_POST));
	if (!rc)
		rc = rs_load(&s, path, flextoe_hook_name_of(FLEXTOE_HOOK_TX_POST));
	for (unsigned int i = 0; !rc && cfg.flags && i < s.nr; i++)
		rc = rs_map_set(&s, i, "trace_cfg", &cfg, sizeof(cfg));
	if (!rc) {
		fprintf(stderr, "%s: tracing at rx-post (program %u) and tx-post (program %u); "
			"Ctrl-C stops\n", CLI_NAME, s.ids[0], s.ids[1]);
		rc = rs_stream(&s, "trace_events", on_record, flush_out, &t);
	}
	/* what is held back, and what a failed read left behind */
	t.drain = true;
	flush_out(&t);
	rs_unload_all(&s);
	if (t.pcap)
		rs_pcap_close(t.pcap);
	free(t.batch);
	if (!rc)
		fprintf(stderr, "%s: %llu record%s; programs detached\n", CLI_NAME,
			(unsigned long long)s.seen, s.seen == 1 ? "" : "s");
	if (t.plot) {
		int prc = tp_finish(t.plot);	/* frees it */

		if (!rc)
			rc = t.failed ? CLI_EXIT_FAIL : prc;
	}
	return rc;
}

CLI_VERB(trace, "trace", "print one record per TCP segment at rx-post and tx-post", cmd_trace)
