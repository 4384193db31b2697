/* counters.c - flextoe-stat counters: the engine's MIB counters and AF_XDP queue numbers, absolute or since the last look, as nstat(8). */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader/loaderd/client.h"
#include "loader/stat/stat.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s counters [options] [PATTERN...]\n\n"
		"The engine's counters: TCP MIB counters under nstat's names (TcpInSegs,\n"
		"TcpExtTCPOFOQueue ...; Flextoe* for the engine's own), per-queue AF_XDP\n"
		"numbers (XskQ<N>*, the kernel's XDP_STATISTICS among them), hook verdicts\n"
		"(Hook*) and the engine's threads' wall and idle time (Thread*; the #util\n"
		"lines give each thread's busy share).  As nstat, it shows what changed\n"
		"since the last run (the history file) and remembers the values it saw.\n"
		"PATTERNs (shell globs) pick counters.\n\n"
		"  -a, --absolute     values since the engine started, not increments\n"
		"  -n, --nooutput     update the history only, print nothing\n"
		"  -s, --no-update    do not update the history\n"
		"  -r, --reset        forget the history first (so: absolute values)\n"
		"  -z, --zeros        show counters that are zero too\n"
		"  --json             JSON: {\"counters\": {NAME: VALUE}, \"batches\": [...],\n"
		"                     \"utilisation\": [{\"thread\", \"busy_pct\", ...}]}\n"
		"  --prometheus FILE  also write FILE in node_exporter's textfile format\n"
		"                     (absolute values; written to FILE.tmp, then renamed)\n"
		"  --history FILE     the history file (default $FLEXTOE_STAT_HISTORY, else\n"
		"                     $TMPDIR/.flextoe-stat.u<UID>.<run dir>)\n"
		"  --run-dir DIR      the engine's run directory (default $FLEXTOE_RUN_DIR,\n"
		"                     else /run/flextoe)\n"
		"  --direct           ask the engine's socket (root) instead of flextoe-loaderd\n"
		"  -h, --help         this help\n", STAT_NAME);
}

/* ---- the flat list of counters -------------------------------------------------- */
/* "rx_fill_ring_empty_descs" -> "RxFillRingEmptyDescs" */
static void camel(const char *in, char *out, size_t n)
{
	bool up = true;
	size_t k = 0;

	for (; *in && k + 1 < n; in++) {
		if (*in == '_' || *in == '-') {
			up = true;
			continue;
		}
		out[k++] = up ? (char)toupper((unsigned char)*in) : *in;
		up = false;
	}
	out[k] = '\0';
}

/* Thread "ftoe-proto", figure "IdleNs" -> "ThreadProtoIdleNs". */
static void thread_key(const char *thread, const char *figure, char *out, size_t n)
{
	char part[32];

	if (!strncmp(thread, "ftoe-", 5))
		thread += 5;
	camel(thread, part, sizeof(part));
	snprintf(out, n, "Thread%s%s", part, figure);
}

/* The engine's answer as one object NAME -> value. */
static json_object *flatten(json_object *resp)
{
	json_object *flat = json_object_new_object(), *queues, *threads, *hooks;
	char name[256], part[64];

	json_object_object_foreach(json_object_object_get(resp, "counters"), k, v)
		json_object_object_add(flat, k, json_object_get(v));
	queues = json_object_object_get(resp, "queues");
	for (size_t i = 0; queues && i < json_object_array_length(queues); i++) {
		json_object *q = json_object_array_get_idx(queues, i);

		json_object_object_foreach(q, k, v) {
			if (!strcmp(k, "queue") || !json_object_is_type(v, json_type_int))
				continue;
			camel(k, part, sizeof(part));
			snprintf(name, sizeof(name), "XskQ%lld%s", stat_geti(q, "queue"), part);
			json_object_object_add(flat, name, json_object_get(v));
		}
	}
	threads = json_object_object_get(resp, "threads");
	for (size_t i = 0; threads && i < json_object_array_length(threads); i++) {
		json_object *t = json_object_array_get_idx(threads, i);

		thread_key(stat_gets(t, "name"), "WallNs", name, sizeof(name));
		json_object_object_add(flat, name, json_object_new_int64(stat_geti(t, "wall_ns")));
		thread_key(stat_gets(t, "name"), "IdleNs", name, sizeof(name));
		json_object_object_add(flat, name, json_object_new_int64(stat_geti(t, "idle_ns")));
		thread_key(stat_gets(t, "name"), "Sleeps", name, sizeof(name));
		json_object_object_add(flat, name, json_object_new_int64(stat_geti(t, "sleeps")));
	}
	hooks = json_object_object_get(resp, "hooks");
	if (hooks) {
		json_object_object_foreach(hooks, hk, hv) {
			char hname[64];

			camel(hk, hname, sizeof(hname));
			json_object_object_foreach(hv, vk, vv) {
				camel(vk, part, sizeof(part));
				snprintf(name, sizeof(name), "Hook%s%s", hname, part);
				json_object_object_add(flat, name, json_object_get(vv));
			}
		}
	}
	return flat;
}

/* ---- history ----------------------------------------------------------------------- */
static void history_path(const char *opt, const char *run_dir, char *out, size_t n)
{
	const char *env = getenv("FLEXTOE_STAT_HISTORY"), *tmp = getenv("TMPDIR");
	char key[128];
	size_t k = 0;

	if (opt || env) {
		snprintf(out, n, "%s", opt ? opt : env);
		return;
	}
	for (const char *p = run_dir; *p && k + 1 < sizeof(key); p++)
		key[k++] = isalnum((unsigned char)*p) ? *p : '_';
	key[k] = '\0';
	snprintf(out, n, "%s/.flextoe-stat.u%u.%s", tmp && *tmp ? tmp : "/tmp",
		 (unsigned int)getuid(), key);
}

static int history_save(const char *path, json_object *flat)
{
	char tmp[4200];

	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	if (json_object_to_file_ext(tmp, flat, JSON_C_TO_STRING_PLAIN) || rename(tmp, path)) {
		fprintf(stderr, "%s counters: cannot write the history %s: %s\n", STAT_NAME, path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- output ----------------------------------------------------------------------------- */
static bool wanted(const char *name, char **pats, int npats)
{
	if (!npats)
		return true;
	for (int i = 0; i < npats; i++)
		if (!fnmatch(pats[i], name, 0))
			return true;
	return false;
}

/* The node_exporter textfile: TcpInSegs -> flextoe_netstat_Tcp_InSegs (as
 * node_netstat_Tcp_InSegs), XskQ0RxDropped -> flextoe_xsk_RxDropped{queue="0"},
 * HookRxPreDrop -> flextoe_hook_RxPreDrop. */
static int write_prometheus(const char *path, json_object *flat, json_object *help,
			    json_object *threads)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "%s counters: cannot write %s: %s\n", STAT_NAME, tmp, strerror(errno));
		return -1;
	}
	json_object_object_foreach(flat, k, v) {
		char metric[256], labels[32] = "";
		const char *h = stat_gets(help, k);
		int q;
		char rest[128];

		if (!strncmp(k, "Thread", 6))
			continue;	/* below, labelled by thread */
		if (!strncmp(k, "TcpExt", 6))
			snprintf(metric, sizeof(metric), "flextoe_netstat_TcpExt_%s", k + 6);
		else if (!strncmp(k, "Tcp", 3))
			snprintf(metric, sizeof(metric), "flextoe_netstat_Tcp_%s", k + 3);
		else if (!strncmp(k, "Flextoe", 7))
			snprintf(metric, sizeof(metric), "flextoe_netstat_Flextoe_%s", k + 7);
		else if (sscanf(k, "XskQ%d%127s", &q, rest) == 2) {
			snprintf(metric, sizeof(metric), "flextoe_xsk_%s", rest);
			snprintf(labels, sizeof(labels), "{queue=\"%d\"}", q);
		} else if (!strncmp(k, "Hook", 4))
			snprintf(metric, sizeof(metric), "flextoe_hook_%s", k + 4);
		else
			snprintf(metric, sizeof(metric), "flextoe_%s", k);
		/* HELP and TYPE once per metric: the queue series follow each other */
		if (!labels[0] || q == 0) {
			fprintf(f, "# HELP %s %s\n", metric, h[0] ? h : k);
			fprintf(f, "# TYPE %s counter\n", metric);
		}
		fprintf(f, "%s%s %lld\n", metric, labels, (long long)json_object_get_int64(v));
	}
	for (int m = 0; threads && json_object_array_length(threads) && m < 3; m++) {
		static const char *const metric[] = { "flextoe_thread_seconds_total",
			"flextoe_thread_idle_seconds_total", "flextoe_thread_sleeps_total" };
		static const char *const hlp[] = { "time since the thread started",
			"time the thread spent blocked with nothing to do",
			"times the thread blocked" };
		static const char *const key[] = { "wall_ns", "idle_ns", "sleeps" };

		fprintf(f, "# HELP %s %s\n# TYPE %s counter\n", metric[m], hlp[m], metric[m]);
		for (size_t i = 0; i < json_object_array_length(threads); i++) {
			json_object *t = json_object_array_get_idx(threads, i);
			long long v = stat_geti(t, key[m]);

			if (m < 2)
				fprintf(f, "%s{thread=\"%s\"} %.9f\n", metric[m], stat_gets(t, "name"),
					(double)v / 1e9);
			else
				fprintf(f, "%s{thread=\"%s\"} %lld\n", metric[m], stat_gets(t, "name"), v);
		}
	}
	if (fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "%s counters: cannot write %s: %s\n", STAT_NAME, path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static double ratio(json_object *o, const char *num, const char *den)
{
	long long d = stat_geti(o, den);

	return d ? (double)stat_geti(o, num) / (double)d : 0.0;
}

/* Frames per rx ring read and per tx kick, per queue, over what is shown. */
static json_object *batches(json_object *shown, unsigned int nq)
{
	json_object *arr = json_object_new_array();
	char a[64], b[64];

	for (unsigned int q = 0; q < nq; q++) {
		json_object *o = json_object_new_object();

		snprintf(a, sizeof(a), "XskQ%uRx", q);
		snprintf(b, sizeof(b), "XskQ%uRxBursts", q);
		json_object_object_add(o, "queue", json_object_new_int(q));
		json_object_object_add(o, "rx_frames_per_burst",
				       json_object_new_double(ratio(shown, a, b)));
		snprintf(a, sizeof(a), "XskQ%uTx", q);
		snprintf(b, sizeof(b), "XskQ%uTxKicks", q);
		json_object_object_add(o, "tx_frames_per_kick",
				       json_object_new_double(ratio(shown, a, b)));
		json_object_array_add(arr, o);
	}
	return arr;
}

/* The engine's text for a counter; the Thread* ones are flextoe-stat's. */
static const char *counter_help(json_object *help, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(name, "Thread", 6))
		return stat_gets(help, name);
	if (n > 6 && !strcmp(name + n - 6, "WallNs"))
		return "ns since the thread started";
	if (n > 6 && !strcmp(name + n - 6, "IdleNs"))
		return "ns the thread was blocked with nothing to do";
	return "times the thread blocked";
}

/* Busy share of each thread's time, over the increments (or since the
 * engine started): busy = wall - idle. */
static json_object *utilisation(json_object *delta, json_object *threads)
{
	json_object *arr = json_object_new_array();
	char w[64], i[64];

	for (size_t k = 0; threads && k < json_object_array_length(threads); k++) {
		const char *name = stat_gets(json_object_array_get_idx(threads, k), "name");
		json_object *o = json_object_new_object();
		long long wall, idle;

		thread_key(name, "WallNs", w, sizeof(w));
		thread_key(name, "IdleNs", i, sizeof(i));
		wall = stat_geti(delta, w);
		idle = stat_geti(delta, i);
		json_object_object_add(o, "thread", json_object_new_string(name));
		json_object_object_add(o, "wall_ns", json_object_new_int64(wall));
		json_object_object_add(o, "idle_ns", json_object_new_int64(idle));
		json_object_object_add(o, "busy_pct", json_object_new_double(
			wall > 0 ? 100.0 * (double)(wall - idle) / (double)wall : 0.0));
		json_object_array_add(arr, o);
	}
	return arr;
}

int stat_counters(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "absolute", no_argument, NULL, 'a' },
		{ "nooutput", no_argument, NULL, 'n' },
		{ "no-update", no_argument, NULL, 's' },
		{ "reset", no_argument, NULL, 'r' },
		{ "zeros", no_argument, NULL, 'z' },
		{ "json", no_argument, NULL, 'j' },
		{ "prometheus", required_argument, NULL, 'P' },
		{ "history", required_argument, NULL, 'y' },
		{ "run-dir", required_argument, NULL, 'R' },
		{ "direct", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool absolute = false, output = true, update = true, reset = false, zeros = false;
	bool json = false, direct = false;
	const char *prom = NULL, *hist_opt = NULL, *run_dir = NULL;
	json_object *resp, *flat, *prev = NULL, *shown, *delta;
	char hist[4096];
	unsigned int nq;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "+ansrzh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': absolute = true; break;
		case 'n': output = false; break;
		case 's': update = false; break;
		case 'r': reset = true; break;
		case 'z': zeros = true; break;
		case 'j': json = true; break;
		case 'P': prom = optarg; break;
		case 'y': hist_opt = optarg; break;
		case 'R': run_dir = optarg; break;
		case 'd': direct = true; break;
		case 'h': usage(stdout); return 0;
		default: return stat_usage_error("counters", "unknown option '%s'", argv[optind - 1]);
		}
	}
	resp = stat_call(run_dir, direct, FLEXTOE_CTL_OP_STATS);
	if (!resp)
		return STAT_EXIT_FAIL;
	flat = flatten(resp);
	nq = (unsigned int)json_object_array_length(json_object_object_get(resp, "queues"));
	history_path(hist_opt, ldr_run_dir(run_dir), hist, sizeof(hist));
	if (!absolute && !reset && access(hist, R_OK) == 0)
		prev = json_object_from_file(hist);

	/* What to show: the values, or the increments since the history's. An
	 * engine restarted since has smaller counters: its values are shown. */
	shown = json_object_new_object();
	delta = json_object_new_object();
	json_object_object_foreach(flat, k, v) {
		long long now = json_object_get_int64(v), was = 0;
		json_object *pv;

		if (prev && json_object_object_get_ex(prev, k, &pv))
			was = json_object_get_int64(pv);
		if (was > now)
			was = 0;
		json_object_object_add(delta, k, json_object_new_int64(now - was));
		if (!wanted(k, argv + optind, argc - optind))
			continue;
		json_object_object_add(shown, k, json_object_new_int64(now - was));
	}
	if (output && json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "absolute", json_object_new_boolean(!prev));
		json_object_object_add(o, "counters", json_object_get(shown));
		json_object_object_add(o, "batches", batches(shown, nq));
		json_object_object_add(o, "utilisation",
				       utilisation(delta, json_object_object_get(resp, "threads")));
		stat_print_json(o);
		json_object_put(o);
	} else if (output) {
		json_object *help = json_object_object_get(resp, "help");

		printf("#flextoe %s\n", prev ? "(increments since the last run)" : "(absolute)");
		json_object_object_foreach(shown, k2, v2) {
			long long x = json_object_get_int64(v2);

			if (x || zeros)
				printf("%-28s %16lld    %s\n", k2, x, counter_help(help, k2));
		}
		{
			json_object *b = batches(shown, nq);

			for (size_t i = 0; i < json_object_array_length(b); i++) {
				json_object *o = json_object_array_get_idx(b, i);

				printf("#batch queue %lld: %.1f frames per rx ring read, %.1f per tx kick\n",
				       stat_geti(o, "queue"),
				       json_object_get_double(json_object_object_get(o, "rx_frames_per_burst")),
				       json_object_get_double(json_object_object_get(o, "tx_frames_per_kick")));
			}
			json_object_put(b);
			b = utilisation(delta, json_object_object_get(resp, "threads"));
			for (size_t i = 0; i < json_object_array_length(b); i++) {
				json_object *o = json_object_array_get_idx(b, i);

				printf("#util thread %s: %.1f%% busy over %.3f s\n",
				       stat_gets(o, "thread"),
				       json_object_get_double(json_object_object_get(o, "busy_pct")),
				       (double)stat_geti(o, "wall_ns") / 1e9);
			}
			json_object_put(b);
		}
	}
	if (prom && write_prometheus(prom, flat, json_object_object_get(resp, "help"),
				     json_object_object_get(resp, "threads")))
		rc = STAT_EXIT_FAIL;
	if (update && history_save(hist, flat))
		rc = STAT_EXIT_FAIL;
	json_object_put(prev);
	json_object_put(shown);
	json_object_put(delta);
	json_object_put(flat);
	json_object_put(resp);
	return rc;
}
