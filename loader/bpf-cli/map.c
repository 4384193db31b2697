/* map.c - flextoe-bpf map: list, dump, lookup, update and delete the maps of the running engine's programs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <flextoe/ctl.h>

#include "loader/bpf-cli/cli.h"
#include "loader/loaderd/client.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s map list                 [--run-dir DIR] [--json]\n"
		"       %s map dump MAP             [--run-dir DIR] [--json]\n"
		"       %s map lookup MAP KEY       [--run-dir DIR] [--json]\n"
		"       %s map update MAP KEY VALUE [--noexist|--exist] [--run-dir DIR]\n"
		"       %s map delete MAP KEY       [--run-dir DIR]\n\n"
		"The maps of the programs loaded in the engine (they live in the engine,\n"
		"by name, as long as a program that uses them is loaded).\n\n"
		"  MAP      a map name, or ID:NAME when several loaded programs have a map\n"
		"           of that name (ID from '%s list')\n"
		"  KEY, VALUE  exactly the map's key/value size in hex bytes, in memory\n"
		"           order (\"16000000\", \"0a 00 00 09\"); or, when the object has\n"
		"           BTF and the type is an integer or enum, a number (22, 0x16)\n"
		"           or an enumerator name. Per-CPU maps: VALUE goes to every CPU.\n"
		"  --noexist / --exist  update only a new / an existing key\n"
		"  --run-dir DIR   the engine's run directory (default $FLEXTOE_RUN_DIR,\n"
		"                  else /run/flextoe)\n"
		"  --json   JSON output (list, dump, lookup)\n"
		"  -h, --help  this help\n\n"
		"Reading is open to everyone; update and delete need root or flextoe's\n"
		"--loader-group.\n", CLI_NAME, CLI_NAME, CLI_NAME, CLI_NAME, CLI_NAME, CLI_NAME);
}

static const char *gets_(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

/* "16000000" -> "16 00 00 00". */
static void print_hex(const char *h)
{
	for (size_t i = 0; h[i] && h[i + 1]; i += 2)
		printf("%s%c%c", i ? " " : "", h[i], h[i + 1]);
}

static void print_entry(json_object *e)
{
	json_object *vals = json_object_object_get(e, "values");
	json_object *typed = json_object_object_get(e, "values_btf");
	const char *t;

	printf("key: ");
	print_hex(gets_(e, "key"));
	if ((t = gets_(e, "key_btf")))
		printf("  %s", t);
	if (vals) {
		printf("\n");
		for (size_t c = 0; c < json_object_array_length(vals); c++) {
			printf("  cpu %zu value: ", c);
			print_hex(json_object_get_string(json_object_array_get_idx(vals, c)));
			if (typed && c < json_object_array_length(typed))
				printf("  %s",
				       json_object_get_string(json_object_array_get_idx(typed, c)));
			printf("\n");
		}
		return;
	}
	printf("  value: ");
	print_hex(gets_(e, "value"));
	if ((t = gets_(e, "value_btf")))
		printf("  %s", t);
	printf("\n");
}

static void print_list(json_object *maps)
{
	printf("%6s %-24s %-16s %5s %6s %9s  %s\n", "PROG", "NAME", "TYPE", "KEY", "VALUE",
	       "ENTRIES", "BTF KEY/VALUE");
	for (size_t i = 0; maps && i < json_object_array_length(maps); i++) {
		json_object *m = json_object_array_get_idx(maps, i);
		const char *kt = gets_(m, "key_type"), *vt = gets_(m, "value_type");

		printf("%6s %-24s %-16s %5s %6s %9s  %s%s%s\n", gets_(m, "prog_id"), gets_(m, "name"),
		       gets_(m, "type"), gets_(m, "key_size"), gets_(m, "value_size"),
		       gets_(m, "max_entries"), kt ? kt : "-", "/", vt ? vt : "-");
	}
}

static int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "noexist", no_argument, NULL, 'n' },
		{ "exist", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct { const char *sub; enum flextoe_ctl_op op; int nargs; } subs[] = {
		{ "list", FLEXTOE_CTL_OP_MAP_LIST, 0 },
		{ "dump", FLEXTOE_CTL_OP_MAP_DUMP, 1 },
		{ "lookup", FLEXTOE_CTL_OP_MAP_LOOKUP, 2 },
		{ "update", FLEXTOE_CTL_OP_MAP_UPDATE, 3 },
		{ "delete", FLEXTOE_CTL_OP_MAP_DELETE, 2 },
	};
	const char *run_dir = NULL, *flags = NULL, *sub;
	json_object *req, *resp;
	bool json = false;
	int c, rc, s, nargs;

	/* Options may come before or after the operands (GNU getopt permutes). */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': run_dir = optarg; break;
		case 'j': json = true; break;
		case 'n': flags = "noexist"; break;
		case 'e': flags = "exist"; break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error("map", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage_error("map", "missing subcommand (list, dump, lookup, update, delete)");
	sub = argv[optind++];
	for (s = 0; s < (int)(sizeof(subs) / sizeof(subs[0])); s++)
		if (!strcmp(sub, subs[s].sub))
			break;
	if (s == (int)(sizeof(subs) / sizeof(subs[0])))
		return cli_usage_error("map", "unknown subcommand '%s' (list, dump, lookup, update, "
				       "delete)", sub);
	nargs = argc - optind;
	if (nargs != subs[s].nargs)
		return cli_usage_error("map", "'map %s' takes %s", sub,
				       subs[s].nargs == 0 ? "no arguments" :
				       subs[s].nargs == 1 ? "MAP" :
				       subs[s].nargs == 2 ? "MAP KEY" : "MAP KEY VALUE");
	if (json && flextoe_ctl_op_desc(subs[s].op)->perm != FLEXTOE_CTL_READ)
		return cli_usage_error("map", "--json is for list, dump and lookup");
	if (flags && strcmp(sub, "update"))
		return cli_usage_error("map", "--noexist/--exist are for update");
	req = ldr_request(subs[s].op);
	if (nargs >= 1)
		json_object_object_add(req, "map", json_object_new_string(argv[optind]));
	if (nargs >= 2)
		json_object_object_add(req, "key", json_object_new_string(argv[optind + 1]));
	if (nargs >= 3)
		json_object_object_add(req, "value", json_object_new_string(argv[optind + 2]));
	if (flags)
		json_object_object_add(req, "flags", json_object_new_string(flags));
	resp = cli_loaderd_call(cli_run_dir(run_dir), req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	if (!strcmp(sub, "list")) {
		if (json)
			cli_print_json(json_object_object_get(resp, "maps"));
		else
			print_list(json_object_object_get(resp, "maps"));
	} else if (!strcmp(sub, "dump")) {
		json_object *ents = json_object_object_get(resp, "entries");

		if (json) {
			cli_print_json(ents);
		} else {
			for (size_t i = 0; ents && i < json_object_array_length(ents); i++)
				print_entry(json_object_array_get_idx(ents, i));
			printf("Found %zu element%s\n", ents ? json_object_array_length(ents) : 0,
			       ents && json_object_array_length(ents) == 1 ? "" : "s");
		}
	} else if (!strcmp(sub, "lookup")) {
		if (json)
			cli_print_json(json_object_object_get(resp, "entry"));
		else
			print_entry(json_object_object_get(resp, "entry"));
	}
	json_object_put(resp);
	return 0;
}

CLI_VERB(map, "map", "list, dump, look up, update and delete the engine's maps", cmd_map)
