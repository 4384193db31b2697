/* common.c - helpers shared by the flextoe-bpf verbs: messages, object opening, program choice, files. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/util/hex.h"
#include "loader/bpf-cli/cli.h"
#include "loader/loaderd/client.h"

/* Large enough for the verifier log of a big program. */
#define CLI_LOG_SZ	(16u << 20)

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", CLI_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", CLI_NAME, verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun '%s %s -h' for usage.\n", CLI_NAME, verb);
	return CLI_EXIT_USAGE;
}

int cli_parse_preset(struct cli_load_opts *lo, int c, const char *arg, const char *verb)
{
	char err[256] = "";
	int ret = c == 'S' ? ebpf_presets_add_size(&lo->ps, arg, err, sizeof(err)) :
			     ebpf_presets_add_global(&lo->ps, arg, err, sizeof(err));

	if (ret == -ENOMEM)
		return cli_fail("out of memory");
	if (ret)
		return cli_usage_error(verb, "%s", err);
	return 0;
}

void cli_load_opts_free(struct cli_load_opts *lo)
{
	ebpf_presets_free(&lo->ps);
}

static void print_skipped(const char *path, struct ebpf_object *obj)
{
	const struct ebpf_skipped_prog *sk;
	size_t n, i;

	sk = ebpf_object_skipped_progs(obj, &n);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s: program %s (section %s) skipped: a %s program; the "
			"runtime runs XDP programs only\n", path, sk[i].name, sk[i].section,
			sk[i].type);
}

struct ebpf_object *cli_open_object(const char *path, enum ebpf_engine engine,
				    bool keep_kernel, const struct cli_load_opts *lo)
{
	struct ebpf_object_opts opts;
	struct ebpf_object *obj = NULL;
	char err[1024] = "";
	char *log;
	int ret;

	log = calloc(1, CLI_LOG_SZ);
	if (!log) {
		cli_fail("out of memory");
		return NULL;
	}
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.engine = engine;
	opts.log_buf = log;
	opts.log_size = CLI_LOG_SZ;
	opts.err_buf = err;
	opts.err_size = sizeof(err);
	opts.keep_kernel = keep_kernel;
	if (lo) {
		opts.prog_name = lo->prog;
		opts.map_sizes = lo->ps.sizes;
		opts.nr_map_sizes = lo->ps.nr_sizes;
		opts.globals = lo->ps.globals;
		opts.nr_globals = lo->ps.nr_globals;
	}
	ret = ebpf_object_open(path, &opts, &obj);
	if (ret) {
		if (log[0]) {
			size_t n = strlen(log);

			fprintf(stderr, "--- kernel verifier log for %s ---\n%s%s"
				"--- end of verifier log ---\n", path, log,
				log[n - 1] == '\n' ? "" : "\n");
		}
		cli_fail("%s", err[0] ? err : strerror(-ret));
		obj = NULL;
	} else {
		print_skipped(path, obj);
	}
	free(log);
	return obj;
}

static void list_progs(FILE *f, struct ebpf_object *obj)
{
	struct ebpf_prog *p = NULL;

	while ((p = ebpf_object_next_prog(obj, p)))
		fprintf(f, "  %s (section %s)\n", ebpf_prog_name(p), ebpf_prog_section(p));
}

struct ebpf_prog *cli_pick_prog(struct ebpf_object *obj, const char *path,
				const char *name)
{
	struct ebpf_prog *first, *p;

	if (name) {
		p = ebpf_object_find_prog(obj, name);
		if (!p) {
			cli_fail("%s has no program named '%s'; its programs are:", path, name);
			list_progs(stderr, obj);
		}
		return p;
	}
	first = ebpf_object_next_prog(obj, NULL);
	if (first && !ebpf_object_next_prog(obj, first))
		return first;
	cli_fail("%s has several programs; choose one with --prog NAME:", path);
	list_progs(stderr, obj);
	return NULL;
}

int cli_write_file(const char *path, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd) ? -errno : 0;
}

const char *cli_xdp_action_name(uint32_t act)
{
	static const char *const names[] = {
		"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT",
	};

	return act < sizeof(names) / sizeof(names[0]) ? names[act] : "unknown action";
}

const char *cli_run_dir(const char *opt)
{
	return ldr_run_dir(opt);
}

json_object *cli_loaderd_call(const char *run_dir, json_object *req, int *rc)
{
	char path[256];
	json_object *resp, *log;
	int err;

	*rc = CLI_EXIT_FAIL;
	if (ldr_sock_path(run_dir, LDR_SOCK, path, sizeof(path))) {
		cli_fail("run directory %s: path too long for a UNIX socket", run_dir);
		return NULL;
	}
	resp = ldr_call(path, req, &err);
	if (!resp) {
		if (err == -ENOENT || err == -ECONNREFUSED)
			cli_fail("cannot reach flextoe-loaderd at %s: %s. Is flextoe running with "
				 "this run directory? (set FLEXTOE_RUN_DIR or --run-dir; if the "
				 "engine runs, start flextoe-loaderd --run-dir %s)", path,
				 strerror(-err), run_dir);
		else
			cli_fail("talking to flextoe-loaderd at %s: %s", path, strerror(-err));
		return NULL;
	}
	if (ldr_resp_errno(resp)) {
		if (json_object_object_get_ex(resp, "verifier_log", &log)) {
			const char *l = json_object_get_string(log);
			size_t n = strlen(l);

			fprintf(stderr, "--- kernel verifier log ---\n%s%s--- end of verifier log ---\n",
				l, n && l[n - 1] == '\n' ? "" : "\n");
		}
		cli_fail("%s", ldr_resp_error(resp));
		json_object_put(resp);
		return NULL;
	}
	*rc = 0;
	return resp;
}

void cli_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}
