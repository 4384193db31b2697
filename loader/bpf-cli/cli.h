/* cli.h - shared pieces of the flextoe-bpf CLI: verb registration, exit codes, helpers. */
#ifndef FTOE_BPF_CLI_H
#define FTOE_BPF_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ebpf/ebpf.h"

#define CLI_NAME	"flextoe-bpf"
#define CLI_EXIT_FAIL	1	/* the command ran and failed */
#define CLI_EXIT_USAGE	2	/* wrong flags or arguments */

/* One verb per file: the file defines its command and registers it with
 * CLI_VERB(), so adding a verb needs no edit elsewhere.  argv[0] is the
 * verb's name; the command returns the process exit code. */
struct cli_verb {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	struct cli_verb *next;
};

void cli_register_verb(struct cli_verb *verb);

#define CLI_VERB(id, verb_name, verb_summary, fn)                               \
	static struct cli_verb cli_verb_##id = {                               \
		.name = verb_name, .summary = verb_summary, .run = fn,         \
	};                                                                     \
	static void __attribute__((constructor)) cli_register_##id(void)      \
	{                                                                      \
		cli_register_verb(&cli_verb_##id);                             \
	}

/* Print "flextoe-bpf: error: ..." (stderr) and return CLI_EXIT_FAIL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "flextoe-bpf VERB: ..." and the hint to -h; return CLI_EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* What load, verify and test-run set before the object is loaded, as a
 * libbpf skeleton would: --prog NAME (load only it), --map-size NAME=N,
 * --rodata NAME=HEX. */
struct cli_load_opts {
	const char *prog;
	struct ebpf_presets ps;
};

#define CLI_PRESET_USAGE \
	"  -S, --map-size NAME=N  size map NAME (max_entries) before load; maps\n" \
	"                         declared with max_entries 0 need one\n" \
	"  -R, --rodata NAME=HEX  set global variable NAME (.rodata, .data or .bss)\n" \
	"                         before load: its bytes as in memory, exactly its size\n"
#define CLI_PRESET_LONGOPTS \
	{ "map-size", required_argument, NULL, 'S' }, \
	{ "rodata", required_argument, NULL, 'R' }

/* Take --map-size (c 'S') or --rodata (c 'R') into lo; 0, or the usage
 * error's exit code. */
int cli_parse_preset(struct cli_load_opts *lo, int c, const char *arg, const char *verb);
void cli_load_opts_free(struct cli_load_opts *lo);

/* Open an object through the runtime (kernel verifier included), with lo
 * (may be NULL).  Lists the programs skipped as not XDP on stderr.  On
 * failure prints the verifier log (if any) and the reason, and returns
 * NULL. */
struct ebpf_object *cli_open_object(const char *path, enum ebpf_engine engine,
				    bool keep_kernel, const struct cli_load_opts *lo);

/* The program to work on: --prog NAME, or the only program.  Prints what
 * is wrong (unknown name, several programs) and returns NULL. */
struct ebpf_prog *cli_pick_prog(struct ebpf_object *obj, const char *path,
				const char *name);

int cli_write_file(const char *path, const void *buf, size_t len);

const char *cli_xdp_action_name(uint32_t act);

/* ---- talking to flextoe-loaderd (load, unload, list, map) ------------- */
#include <json-c/json.h>

/* --run-dir DIR, else $FLEXTOE_RUN_DIR, else /run/flextoe. */
const char *cli_run_dir(const char *opt);
/* Send req to the loaderd of run_dir.  The response when it says ok;
 * otherwise prints the daemon's error (and a verifier log) or why it
 * cannot be reached, sets *rc to CLI_EXIT_FAIL and returns NULL. */
json_object *cli_loaderd_call(const char *run_dir, json_object *req, int *rc);
/* Print o as JSON on stdout (pretty). */
void cli_print_json(json_object *o);

#endif
