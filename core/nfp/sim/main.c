/* main.c - flextoe-nfpsim: a discrete-event simulator of the NFP-4000 running FlexTOE's NFP build (a MODEL, docs/nfp.md). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nfp/sim/sim.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flextoe-nfpsim verify [--traffic rpc|bulk] [--conns N] [--loss PCT] [--seeds N]\n"
		"                              [--rpcs N] [--window N] [--bytes N]\n"
		"       (--no-reorder: a fault injected on purpose, the check must fail)\n"
		"       flextoe-nfpsim run    [--traffic rpc|bulk] [--conns N]   (the NFP run's counts, for\n"
		"                              core/nfp/sim/measure.sh under callgrind)\n"
		"       flextoe-nfpsim scale  [--traffic rpc|bulk] [--conns N] [--config FILE] [--json] [--plot PNG]\n"
		"       flextoe-nfpsim hooks  --hook HOOK:FILE[:PROG]... [--fw-rules FILE] [--traffic ..]\n"
		"                              [--conns N] [--config FILE] [--json]\n"
		"       (verify, run, scale: --hook HOOK:FILE[:PROG] attaches an eBPF program at the NIC's\n"
		"        rx-pre or rx-post hook, repeatable; --fw-rules FILE configures firewall.bpf.o)\n"
		"verify: the same traffic through the x86 engine's entry points and through the NFP\n"
		"        stages under N seeded context schedules; wire and application bytes must be equal.\n"
		"scale:  throughput, RPC latency and utilisation per stage as MEs grow to the 50-ME\n"
		"        layout, and the run-to-completion layout (docs/nfp.md).\n"
		"hooks:  throughput with each --hook program alone against none (docs/nfp.md).\n");
}

static int num(const char *opt, const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	if (errno || *end || *out < lo || *out > hi) {
		fprintf(stderr, "flextoe-nfpsim: bad %s '%s' (%lu..%lu)\n", opt, s, lo, hi);
		return -EINVAL;
	}
	return 0;
}

int sim_scale_main(const struct sim_world_cfg *c, const char *config, bool json, const char *plot);

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "traffic", required_argument, NULL, 't' },
		{ "conns", required_argument, NULL, 'c' },
		{ "loss", required_argument, NULL, 'l' },
		{ "seeds", required_argument, NULL, 's' },
		{ "rpcs", required_argument, NULL, 'r' },
		{ "window", required_argument, NULL, 'w' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-reorder", no_argument, NULL, 'R' },
		{ "plot", required_argument, NULL, 'p' },
		{ "hook", required_argument, NULL, 'H' },
		{ "fw-rules", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sim_world_cfg c = { .traffic = SIM_RPC, .conns = 1, .rpc_window = 4, .rpc_size = 64,
				   .rpcs = 2000, .bulk_bytes = 1 << 20 };
	const char *cmd, *config = "core/nfp/sim/nfpsim.conf", *plot = NULL;
	unsigned long v, seeds = 8;
	bool json = false, bytes_set = false;
	struct sim_hook_spec specs[SIM_MAX_HOOKS];
	struct sim_hooks hooks;
	const char *fw_rules = NULL;
	unsigned nspecs = 0;
	int o, rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	if (strcmp(cmd, "verify") && strcmp(cmd, "scale") && strcmp(cmd, "run") && strcmp(cmd, "hooks")) {
		fprintf(stderr, "flextoe-nfpsim: unknown command '%s' (verify, scale, run or hooks)\n", cmd);
		usage(stderr);
		return 2;
	}
	optind = 2;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 't':
			if (!strcmp(optarg, "rpc")) {
				c.traffic = SIM_RPC;
			} else if (!strcmp(optarg, "bulk")) {
				c.traffic = SIM_BULK;
			} else {
				fprintf(stderr, "flextoe-nfpsim: bad --traffic '%s' (rpc or bulk)\n", optarg);
				return 2;
			}
			break;
		case 'c':
			if (num("--conns", optarg, 1, 2000, &v))
				return 2;
			c.conns = (unsigned)v;
			break;
		case 'l':
			if (num("--loss", optarg, 0, 50, &v))
				return 2;
			c.loss_pct = (unsigned)v;
			break;
		case 's':
			if (num("--seeds", optarg, 1, 1000, &v))
				return 2;
			seeds = v;
			break;
		case 'r':
			if (num("--rpcs", optarg, 1, 10000000, &v))
				return 2;
			c.rpcs = v;
			break;
		case 'w':
			if (num("--window", optarg, 1, 64, &v))
				return 2;
			c.rpc_window = (unsigned)v;
			break;
		case 'b':
			if (num("--bytes", optarg, 1, 1ul << 32, &v))
				return 2;
			c.bulk_bytes = v;
			bytes_set = true;
			break;
		case 'f':
			config = optarg;
			break;
		case 'R':
			c.no_reorder = true;
			break;
		case 'j':
			json = true;
			break;
		case 'p':
			plot = optarg;
			break;
		case 'H':
			if (nspecs == SIM_MAX_HOOKS) {
				fprintf(stderr, "flextoe-nfpsim: at most %d --hook programs\n", SIM_MAX_HOOKS);
				return 2;
			}
			if (sim_hook_parse(optarg, &specs[nspecs]))
				return 2;
			nspecs++;
			break;
		case 'F':
			fw_rules = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "flextoe-nfpsim: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (c.traffic == SIM_BULK && !bytes_set && c.conns > 16)
		c.bulk_bytes = 64 * 1024;
	if (c.rpcs < c.conns)
		c.rpcs = c.conns;
	if (!strcmp(cmd, "hooks"))
		return sim_hooks_main(&c, config, json, specs, nspecs, fw_rules);
	if (fw_rules && !nspecs) {
		fprintf(stderr, "flextoe-nfpsim: --fw-rules needs --hook rx-pre:.../firewall.bpf.o\n");
		return 2;
	}
	if (nspecs) {
		if (sim_hooks_open(&hooks, specs, nspecs, fw_rules))
			return 2;
		c.hooks = &hooks;
	}
	if (!strcmp(cmd, "verify"))
		rc = sim_verify(&c, (unsigned)seeds);
	else if (!strcmp(cmd, "run"))
		rc = sim_run_counts(&c);
	else
		rc = sim_scale_main(&c, config, json, plot);
	if (nspecs)
		sim_hooks_close(&hooks);
	return rc;
}
