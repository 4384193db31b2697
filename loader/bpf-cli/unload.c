/* unload.c - flextoe-bpf unload: remove programs from the running engine's hooks. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flextoe/bpf.h>

#include "loader/bpf-cli/cli.h"
#include "loader/loaderd/client.h"

static void usage(FILE *f)
{
	char names[64];

	fprintf(f,
		"Usage: %s unload ID [--run-dir DIR] [--json]\n"
		"       %s unload --hook HOOK --all [--run-dir DIR] [--json]\n\n"
		"Remove program ID (see '%s list'), or every program of HOOK, from the\n"
		"engine. Frames in flight finish on the program they started with.\n\n"
		"  --hook HOOK     %s (with --all)\n"
		"  --all           every program of --hook\n"
		"  --run-dir DIR   the engine's run directory (default $FLEXTOE_RUN_DIR,\n"
		"                  else /run/flextoe)\n"
		"  --json          print the removed ids as JSON\n"
		"  -h, --help      this help\n", CLI_NAME, CLI_NAME, CLI_NAME,
		flextoe_hook_names(names, sizeof(names), " or "));
}

static int cmd_unload(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "all", no_argument, NULL, 'a' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *hook = NULL, *run_dir = NULL;
	bool all = false, json = false;
	json_object *req, *resp, *ids;
	unsigned long id = 0;
	char *end;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hook = optarg; break;
		case 'a': all = true; break;
		case 'r': run_dir = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error("unload", "unknown option '%s'", argv[optind - 1]);
		}
	}
	req = ldr_request(FLEXTOE_CTL_OP_UNLOAD);
	if (hook || all) {
		if (!hook || !all || optind != argc) {
			json_object_put(req);
			return cli_usage_error("unload", "use either ID or --hook HOOK --all");
		}
		json_object_object_add(req, "hook", json_object_new_string(hook));
		json_object_object_add(req, "all", json_object_new_boolean(true));
	} else {
		if (optind != argc - 1) {
			json_object_put(req);
			return optind >= argc ? cli_usage_error("unload", "missing ID") :
				cli_usage_error("unload", "unexpected argument '%s'", argv[optind + 1]);
		}
		errno = 0;
		id = strtoul(argv[optind], &end, 10);
		if (errno || !*argv[optind] || *end || !id || id > UINT32_MAX) {
			json_object_put(req);
			return cli_usage_error("unload", "bad ID '%s': expected a program id "
					       "(see '%s list')", argv[optind], CLI_NAME);
		}
		json_object_object_add(req, "id", json_object_new_int64((int64_t)id));
	}
	resp = cli_loaderd_call(cli_run_dir(run_dir), req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	ids = json_object_object_get(resp, "ids");
	if (json) {
		json_object_object_del(resp, "ok");
		cli_print_json(resp);
	} else if (!ids || !json_object_array_length(ids)) {
		printf("no programs at %s\n", hook);
	} else {
		for (size_t i = 0; i < json_object_array_length(ids); i++)
			printf("unloaded %ld\n",
			       (long)json_object_get_int64(json_object_array_get_idx(ids, i)));
	}
	json_object_put(resp);
	return 0;
}

CLI_VERB(unload, "unload", "remove programs from the running engine's hooks", cmd_unload)
