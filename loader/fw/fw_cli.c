/* fw_cli.c - flextoe-fw: checks firewall rule files and compiles them into the firewall program's map updates. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/fw/fw_engine.h"
#include "loader/fw/fwrules.h"

static const char *prog_name = "flextoe-fw";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s COMMAND [options] RULES\n"
		"\n"
		"Firewall rule files for build/xdp-progs/firewall.bpf.o (docs/firewall.md).\n"
		"\n"
		"Commands:\n"
		"  check RULES                 parse RULES; report the first bad line\n"
		"  compile RULES [options]     compile RULES into the firewall's map entries\n"
		"  apply RULES [options]       make RULES the running engine's firewall (loads it\n"
		"                              at rx-pre if needed; atomic rule-set swap)\n"
		"  stats [--json]              hits per rule of the running engine's firewall\n"
		"\n"
		"Each command takes -h for its own options.\n"
		"\n"
		"compile options:\n"
		"  -p, --print-updates   print one 'MAP KEYHEX VALHEX' line per map update, in\n"
		"                        the order to apply them (fw_active last), ready for\n"
		"                        flextoe-bpf test-run --map-update MAP KEYHEX VALHEX\n"
		"  -g, --gen N           the rule-set generation to write (0 or 1, default 0)\n"
		"  -h, --help            this help\n"
		"\n"
		"Exit status: 0 success, 1 bad rule file, 2 wrong arguments.\n",
		prog_name);
}

static void hex(FILE *f, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		fprintf(f, "%02x", *b++);
}

static int print_update(void *ctx, const char *map, const void *key, size_t ksz,
			const void *val, size_t vsz)
{
	FILE *f = ctx;

	fprintf(f, "%s ", map);
	hex(f, key, ksz);
	fputc(' ', f);
	hex(f, val, vsz);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

static int count_update(void *ctx, const char *map, const void *key, size_t ksz,
			const void *val, size_t vsz)
{
	(void)ctx; (void)map; (void)key; (void)ksz; (void)val; (void)vsz;
	return 0;
}

static int load_rules(const char *path, struct fw_ruleset **rs)
{
	struct fw_error err;
	int ret = fw_ruleset_parse_file(path, rs, &err);

	if (ret) {
		if (err.line)
			fprintf(stderr, "%s:%u: %s\n", path, err.line, err.msg);
		else
			fprintf(stderr, "%s: %s\n", prog_name, err.msg);
	}
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "print-updates", no_argument, NULL, 'p' },
		{ "gen", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fw_compile_stats st = { 0 };
	struct fw_map_ops ops = { 0 };
	struct fw_ruleset *rs;
	struct fw_error err;
	const char *cmd;
	int print = 0, c, ret;
	unsigned long gen = 0;
	char *end;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "apply"))
		return fw_cmd_apply(argc - 1, argv + 1);
	if (!strcmp(cmd, "stats"))
		return fw_cmd_stats(argc - 1, argv + 1);
	if (strcmp(cmd, "check") && strcmp(cmd, "compile")) {
		fprintf(stderr, "%s: unknown command '%s' (check, compile, apply, stats); see %s -h\n",
			prog_name, cmd, prog_name);
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "pg:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			print = 1;
			break;
		case 'g':
			errno = 0;
			gen = strtoul(optarg, &end, 10);
			if (errno || *end || end == optarg || gen >= FW_GENERATIONS) {
				fprintf(stderr, "%s: --gen '%s': must be 0 or 1\n", prog_name, optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "see %s -h\n", prog_name);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s %s: expected exactly one RULES file; see %s -h\n", prog_name, cmd, prog_name);
		return 2;
	}
	if (!strcmp(cmd, "check") && print) {
		fprintf(stderr, "%s check: --print-updates belongs to compile\n", prog_name);
		return 2;
	}
	if (load_rules(argv[optind], &rs))
		return 1;
	if (!strcmp(cmd, "check")) {
		printf("%s: %zu rules, policy %s\n", argv[optind], fw_ruleset_nr_rules(rs),
		       fw_ruleset_policy(rs) == FW_ACT_DENY ? "deny" : "allow");
		fw_ruleset_free(rs);
		return 0;
	}
	ops.update = print ? print_update : count_update;
	ops.ctx = stdout;
	ret = fw_ruleset_compile(rs, (uint32_t)gen, &ops, &st, &err);
	fw_ruleset_free(rs);
	if (ret) {
		if (err.line)
			fprintf(stderr, "%s:%u: %s\n", argv[optind], err.line, err.msg);
		else
			fprintf(stderr, "%s: %s\n", prog_name, err.msg);
		return 1;
	}
	fprintf(print ? stderr : stdout,
		"%s: %u rules -> %u tables, %u buckets (%u rules shadowed by earlier ones), generation %lu\n",
		argv[optind], st.nr_rules, st.nr_tuples, st.nr_entries, st.nr_shadowed, gen);
	return 0;
}
