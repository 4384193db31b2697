/* main.c - flextoe-stat: what the engine's connections and counters are, as ss(8) and nstat(8) show the kernel's. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "loader/loaderd/client.h"
#include "loader/stat/stat.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *what;
} verbs[] = {
	{ "ss", stat_ss, "connections and listeners, like ss -t" },
	{ "counters", stat_counters, "MIB counters and AF_XDP queues, like nstat" },
	{ "nstat", stat_counters, "the same as counters" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s COMMAND [options]\n\nCommands:\n", STAT_NAME);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].what);
	fprintf(f, "\n%s COMMAND --help for its options; man flextoe-stat(8).\n", STAT_NAME);
}

int stat_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", STAT_NAME, verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help'.\n", STAT_NAME, verb);
	return STAT_EXIT_USAGE;
}

json_object *stat_call(const char *run_dir, bool direct, enum flextoe_ctl_op op)
{
	const char *dir = ldr_run_dir(run_dir);
	const char *sock = direct ? LDR_ENGINE_SOCK : LDR_SOCK;
	json_object *req = ldr_request(op), *resp;
	char path[256];
	int err;

	if (!req) {
		fprintf(stderr, "%s: out of memory\n", STAT_NAME);
		return NULL;
	}
	if (ldr_sock_path(dir, sock, path, sizeof(path))) {
		fprintf(stderr, "%s: run directory %s: path too long for a UNIX socket\n",
			STAT_NAME, dir);
		json_object_put(req);
		return NULL;
	}
	resp = ldr_call(path, req, &err);
	json_object_put(req);
	if (!resp) {
		if (err == -ENOENT || err == -ECONNREFUSED)
			fprintf(stderr, "%s: cannot reach %s at %s: %s. Is flextoe running with "
				"this run directory? (set FLEXTOE_RUN_DIR or --run-dir)\n", STAT_NAME,
				direct ? "the engine" : "flextoe-loaderd", path, strerror(-err));
		else if (err == -EACCES)
			fprintf(stderr, "%s: %s: %s (%s)\n", STAT_NAME, path, strerror(-err),
				direct ? "the engine's socket is root's; without --direct the "
				"request goes through flextoe-loaderd" : "ask for --loader-group");
		else
			fprintf(stderr, "%s: talking to %s: %s\n", STAT_NAME, path, strerror(-err));
		return NULL;
	}
	if (ldr_resp_errno(resp)) {
		fprintf(stderr, "%s: %s\n", STAT_NAME, ldr_resp_error(resp));
		json_object_put(resp);
		return NULL;
	}
	return resp;
}

void stat_print_json(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					       JSON_C_TO_STRING_NOSLASHESCAPE));
}

long long stat_geti(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? (long long)json_object_get_int64(v) : 0;
}

const char *stat_gets(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return STAT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'\n", STAT_NAME, argv[1]);
	usage(stderr);
	return STAT_EXIT_USAGE;
}
