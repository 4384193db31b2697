/* load.c - flextoe-bpf load: verify an object and install one of its programs at a hook of the running engine. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flextoe/bpf.h>

#include "lib/util/file.h"
#include "lib/util/hex.h"
#include "loader/bpf-cli/cli.h"
#include "loader/loaderd/client.h"

static void usage(FILE *f)
{
	char names[64];

	fprintf(f,
		"Usage: %s load OBJ --hook HOOK [--prog NAME] [--prio N] [--replace ID]\n"
		"       [--map-size NAME=N]... [--rodata NAME=HEX]... [--run-dir DIR] [--json]\n\n"
		"Verify OBJ with the kernel verifier and install its program at HOOK of the\n"
		"engine (through flextoe-loaderd). Prints the new program's id.\n\n"
		"  --hook HOOK     %s\n"
		"  --prog NAME     the program to install (needed when OBJ has several)\n"
		"  --prio N        run priority, lower first (default: the object's\n"
		"                  XDP_RUN_CONFIG priority, else 50)\n"
		"  --replace ID    take program ID's place (same hook) in one atomic swap:\n"
		"                  every frame runs either the old program or the new\n"
		CLI_PRESET_USAGE
		"  --run-dir DIR   the engine's run directory (default $FLEXTOE_RUN_DIR,\n"
		"                  else /run/flextoe)\n"
		"  --json          print the result as JSON\n"
		"  -h, --help      this help\n\n"
		"Loading needs root, or membership of flextoe's --loader-group.\n", CLI_NAME,
		flextoe_hook_names(names, sizeof(names), " or "));
}

/* What the options collected; cmd_load frees it whatever happened. */
struct load_presets {
	struct cli_load_opts lo;
	json_object *sizes, *globals;	/* the option texts, for the request */
};

static int load_run(int argc, char **argv, struct load_presets *lp)
{
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "prog", required_argument, NULL, 'p' },
		{ "prio", required_argument, NULL, 'P' },
		{ "replace", required_argument, NULL, 'X' },
		CLI_PRESET_LONGOPTS,
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *hook = NULL, *prog = NULL, *run_dir = NULL, *path, *base;
	char names[64];
	bool json = false, has_prio = false;
	long prio = 0;
	unsigned long replace = 0;
	json_object *req, *resp;
	uint8_t *buf;
	size_t len;
	char *hex, *end;
	int c, rc, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hook = optarg; break;
		case 'p': prog = optarg; break;
		case 'r': run_dir = optarg; break;
		case 'j': json = true; break;
		case 'P':
			errno = 0;
			prio = strtol(optarg, &end, 0);
			if (errno || !*optarg || *end || prio < INT32_MIN || prio > INT32_MAX)
				return cli_usage_error("load", "bad --prio '%s': expected an integer",
						       optarg);
			has_prio = true;
			break;
		case 'S':
		case 'R':
			/* checked here, sent as given: loaderd and the engine
			 * parse the same text (ebpf_presets_add_*) */
			rc = cli_parse_preset(&lp->lo, c, optarg, "load");
			if (rc)
				return rc;
			if (c == 'S' ? !lp->sizes && !(lp->sizes = json_object_new_array()) :
				       !lp->globals && !(lp->globals = json_object_new_array()))
				return cli_fail("out of memory");
			json_object_array_add(c == 'S' ? lp->sizes : lp->globals,
					      json_object_new_string(optarg));
			break;
		case 'X':
			errno = 0;
			replace = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || !replace || replace > UINT32_MAX)
				return cli_usage_error("load", "bad --replace '%s': expected a program "
						       "id (see '%s list')", optarg, CLI_NAME);
			break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error("load", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return optind >= argc ? cli_usage_error("load", "missing OBJ") :
				cli_usage_error("load", "unexpected argument '%s'", argv[optind + 1]);
	if (!hook)
		return cli_usage_error("load", "--hook HOOK is required (%s)",
				       flextoe_hook_names(names, sizeof(names), " or "));
	if (flextoe_hook_id(hook) == FLEXTOE_HOOK_NONE)
		return cli_usage_error("load", "unknown hook '%s': the hooks are %s", hook,
				       flextoe_hook_names(names, sizeof(names), " and "));
	path = argv[optind];
	/* Read as the caller: loaderd only ever sees the bytes. */
	buf = ftoe_read_file(path, &len, &err);
	if (!buf)
		return cli_fail("cannot read %s: %s", path, strerror(-err));
	hex = ftoe_hex_encode(buf, len);
	free(buf);
	if (!hex)
		return cli_fail("out of memory");
	base = strrchr(path, '/');
	req = ldr_request(FLEXTOE_CTL_OP_LOAD);
	json_object_object_add(req, "name", json_object_new_string(base ? base + 1 : path));
	json_object_object_add(req, "object", json_object_new_string(hex));
	json_object_object_add(req, "hook", json_object_new_string(hook));
	if (prog)
		json_object_object_add(req, "prog", json_object_new_string(prog));
	if (has_prio)
		json_object_object_add(req, "prio", json_object_new_int64(prio));
	if (replace)
		json_object_object_add(req, "replace", json_object_new_int64((int64_t)replace));
	if (lp->sizes)
		json_object_object_add(req, "map_sizes", json_object_get(lp->sizes));
	if (lp->globals)
		json_object_object_add(req, "globals", json_object_get(lp->globals));
	free(hex);
	resp = cli_loaderd_call(cli_run_dir(run_dir), req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	if (json) {
		json_object_object_del(resp, "ok");
		cli_print_json(resp);
	} else {
		printf("%ld\n", (long)json_object_get_int64(json_object_object_get(resp, "id")));
	}
	json_object_put(resp);
	return 0;
}

static int cmd_load(int argc, char **argv)
{
	struct load_presets lp = { 0 };
	int rc = load_run(argc, argv, &lp);

	json_object_put(lp.sizes);
	json_object_put(lp.globals);
	cli_load_opts_free(&lp.lo);
	return rc;
}

CLI_VERB(load, "load", "install a program at a hook of the running engine", cmd_load)
