/* verify.c - `flextoe-bpf verify`: run an object through the kernel verifier and the runtime's loader. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <json-c/json.h>

#include "loader/bpf-cli/cli.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s verify OBJ [--prog NAME] [--map-size NAME=N]... [--rodata NAME=HEX]...\n"
		"         [--json]\n\n"
		"Load every XDP program of the BPF object OBJ the way the engine would:\n"
		"the kernel verifier checks it as an XDP program with kernel twins of\n"
		"its maps, then the runtime relocates and compiles it.  Prints one\n"
		"line per verified program, or the verifier log and the reason.\n"
		"Programs of other types (tc, tracing, iterators) are skipped and\n"
		"listed as such.\n\n"
		"Options:\n"
		"  -p, --prog NAME        load and verify only this program (function or\n"
		"                         section name)\n"
		CLI_PRESET_USAGE
		"  -e, --engine E         compile for jit (default) or interp\n"
		"  -j, --json             print the result as JSON\n"
		"  -h, --help             this help\n", CLI_NAME);
}

static void print_prog(struct ebpf_prog *p, const char *path, json_object *arr)
{
	const struct ebpf_xdp_run_config *rc = ebpf_prog_run_config(p);

	if (arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "name", json_object_new_string(ebpf_prog_name(p)));
		json_object_object_add(o, "section", json_object_new_string(ebpf_prog_section(p)));
		json_object_object_add(o, "insns", json_object_new_int64((int64_t)ebpf_prog_insn_cnt(p)));
		json_object_object_add(o, "priority", json_object_new_int(rc->priority));
		json_object_object_add(o, "chain_call_actions",
				       json_object_new_int64(rc->chain_call_actions));
		json_object_array_add(arr, o);
		return;
	}
	printf("%s: program %s (section %s): verified, %zu instructions, priority %d\n",
	       path, ebpf_prog_name(p), ebpf_prog_section(p), ebpf_prog_insn_cnt(p),
	       rc->priority);
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "engine", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		CLI_PRESET_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum ebpf_engine engine = EBPF_ENGINE_JIT;
	struct cli_load_opts lo = { 0 };
	const char *prog_name = NULL, *path;
	const struct ebpf_skipped_prog *sk;
	size_t nsk, i;
	struct ebpf_object *obj;
	struct ebpf_prog *p;
	json_object *arr = NULL;
	bool json = false;
	int c, rc = CLI_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "p:e:jhS:R:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			prog_name = optarg;
			break;
		case 'S':
		case 'R':
			rc = cli_parse_preset(&lo, c, optarg, "verify");
			if (rc)
				goto out;
			break;
		case 'e':
			if (ebpf_engine_parse(optarg, &engine)) {
				rc = cli_usage_error("verify", "unknown engine '%s' "
						     "(jit or interp)", optarg);
				goto out;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error("verify", "invalid option");
			goto out;
		}
	}
	rc = CLI_EXIT_USAGE;
	if (optind >= argc) {
		cli_usage_error("verify", "missing OBJ");
		goto out;
	}
	if (optind + 1 < argc) {
		cli_usage_error("verify", "unexpected argument '%s'", argv[optind + 1]);
		goto out;
	}
	path = argv[optind];

	rc = CLI_EXIT_FAIL;
	lo.prog = prog_name;
	obj = cli_open_object(path, engine, false, &lo);
	if (!obj)
		goto out;
	if (prog_name && !(p = cli_pick_prog(obj, path, prog_name))) {
		ebpf_object_close(obj);
		goto out;
	}
	if (json)
		arr = json_object_new_array();
	if (prog_name) {
		print_prog(p, path, arr);
	} else {
		for (p = ebpf_object_next_prog(obj, NULL); p; p = ebpf_object_next_prog(obj, p))
			print_prog(p, path, arr);
	}
	if (arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "object", json_object_new_string(path));
		json_object_object_add(o, "programs", arr);
		arr = json_object_new_array();
		sk = ebpf_object_skipped_progs(obj, &nsk);
		for (i = 0; i < nsk; i++) {
			json_object *so = json_object_new_object();

			json_object_object_add(so, "name", json_object_new_string(sk[i].name));
			json_object_object_add(so, "section",
					       json_object_new_string(sk[i].section));
			json_object_object_add(so, "type", json_object_new_string(sk[i].type));
			json_object_array_add(arr, so);
		}
		json_object_object_add(o, "skipped", arr);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	}
	ebpf_object_close(obj);
	rc = 0;
out:
	cli_load_opts_free(&lo);
	return rc;
}

CLI_VERB(verify, "verify", "check an object with the kernel verifier and the runtime's loader",
	 cmd_verify)
