/* list.c - flextoe-bpf list: the running engine's hooks, their programs, run statistics and verdict counts. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "loader/bpf-cli/cli.h"
#include "loader/loaderd/client.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s list [--run-dir DIR] [--json]\n\n"
		"Show every hook of the engine in run order: priority, id, name, tag (the\n"
		"kernel's program tag, as bpftool shows it), run count and average run time\n"
		"of each program, and the hook's verdict counters.\n\n"
		"  --run-dir DIR   the engine's run directory (default $FLEXTOE_RUN_DIR,\n"
		"                  else /run/flextoe)\n"
		"  --json          JSON output\n"
		"  -h, --help      this help\n", CLI_NAME);
}

static long long geti(json_object *o, const char *k)
{
	return (long long)json_object_get_int64(json_object_object_get(o, k));
}

static int cmd_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *run_dir = NULL;
	json_object *req, *resp, *hooks;
	bool json = false;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': run_dir = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error("list", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return cli_usage_error("list", "unexpected argument '%s'", argv[optind]);
	req = ldr_request(FLEXTOE_CTL_OP_LIST);
	resp = cli_loaderd_call(cli_run_dir(run_dir), req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	hooks = json_object_object_get(resp, "hooks");
	if (json) {
		cli_print_json(hooks);
		json_object_put(resp);
		return 0;
	}
	printf("%-8s %5s %6s %-20s %-16s %12s %8s\n", "HOOK", "PRIO", "ID", "NAME", "TAG", "RUNS",
	       "AVG_NS");
	for (size_t h = 0; hooks && h < json_object_array_length(hooks); h++) {
		json_object *hk = json_object_array_get_idx(hooks, h);
		json_object *progs = json_object_object_get(hk, "progs");
		json_object *v = json_object_object_get(hk, "verdicts");
		const char *name = json_object_get_string(json_object_object_get(hk, "hook"));
		size_t n = progs ? json_object_array_length(progs) : 0;

		if (!n)
			printf("%-8s %5s %6s %-20s\n", name, "-", "-", "(no programs)");
		for (size_t i = 0; i < n; i++) {
			json_object *p = json_object_array_get_idx(progs, i);

			printf("%-8s %5lld %6lld %-20s %-16s %12lld %8lld\n", name, geti(p, "prio"),
			       geti(p, "id"),
			       json_object_get_string(json_object_object_get(p, "name")),
			       json_object_get_string(json_object_object_get(p, "tag")),
			       geti(p, "run_cnt"), geti(p, "avg_ns"));
		}
		printf("%-8s verdicts: pass %lld drop %lld tx %lld redirect %lld aborted %lld "
		       "invalid %lld\n", name, geti(v, "pass"), geti(v, "drop"), geti(v, "tx"),
		       geti(v, "redirect"), geti(v, "aborted"), geti(v, "invalid"));
	}
	json_object_put(resp);
	return 0;
}

CLI_VERB(list, "list", "show the engine's hooks, programs, run statistics and verdicts", cmd_list)
