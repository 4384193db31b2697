/* scale.c - flextoe-nfpsim scale: the scaling table (pipelined layouts up to 50 MEs against run-to-completion), --json and the PNG plot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/nfp/sim/des.h"
#include "core/nfp/sim/hook.h"
#include "core/nfp/sim/sim.h"

/* MEs per stage growing to FlexTOE's layout (4 flow groups x (4 pre + 1
 * protocol + 4 post) + island 36's 12 + island 48's 2 = 50). */
static const struct des_layout steps[] = {
	{ .fg = 1, .pre = 1, .post = 1 },
	{ .fg = 1, .pre = 2, .post = 2 },
	{ .fg = 1, .pre = 4, .post = 4 },
	{ .fg = 2, .pre = 4, .post = 4 },
	{ .fg = 4, .pre = 4, .post = 4 },
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

struct point {
	struct des_layout l;
	struct des_result r;
};

/* The functional NFP run that gives the per-stage memory commands. */
static int costs_for(const struct sim_world_cfg *c, const struct sim_params *p, struct des_costs *out)
{
	struct sim_world *w = calloc(1, sizeof(*w));
	struct sim_world_cfg fc = *c;
	int rc;

	if (!w)
		return -ENOMEM;
	fc.nfp = true;
	fc.sched_seed = 1;
	/* one RPC per segment, as the timing model sends them */
	fc.rpc_window = 1;
	if (fc.traffic == SIM_RPC)
		fc.rpcs = fc.conns > 1000 ? fc.conns : 2000;
	else if (fc.bulk_bytes * fc.conns > (64u << 20))
		fc.bulk_bytes = (64u << 20) / fc.conns;
	rc = sim_world_run(w, &fc);
	if (!rc)
		des_costs_from_world(w, p, out);
	sim_world_free(w);
	free(w);
	return rc;
}

static const char *tname(enum sim_traffic t)
{
	return t == SIM_RPC ? "rpc" : "bulk";
}

static void print_row(const char *kind, const struct point *pt, enum sim_traffic t)
{
	const struct des_result *r = &pt->r;
	char lay[32];

	if (pt->l.rtc)
		snprintf(lay, sizeof(lay), "rtc x%u", pt->l.rtc);
	else
		snprintf(lay, sizeof(lay), "%ufg %u/1/%u", pt->l.fg, pt->l.pre, pt->l.post);
	printf("%-10s %-12s %4u %8.2f %8.2f", kind, lay, des_layout_mes(&pt->l), r->mpps, r->gbps);
	if (t == SIM_RPC)
		printf(" %8.2f %7.2f %7.2f", r->rpc_mops, r->lat_p50_us, r->lat_p99_us);
	else
		printf(" %8s %7s %7s", "-", "-", "-");
	printf("  %4.0f%% %4.0f%% %4.0f%% %4.0f%% %4.0f%% %4.0f%% %4.0f%%  %s\n",
	       100 * r->util[DES_PRE], 100 * r->util[DES_PROTO], 100 * r->util[DES_POST],
	       100 * r->util[DES_RTC], 100 * r->util[DES_ISL36], 100 * r->util[DES_PCIE],
	       100 * (r->util[DES_MAC_RX] > r->util[DES_MAC_TX] ? r->util[DES_MAC_RX] : r->util[DES_MAC_TX]),
	       des_stage_name[r->bottleneck]);
}

static void json_point(FILE *f, const struct point *pt, bool last)
{
	const struct des_result *r = &pt->r;

	fprintf(f, "    {\"layout\": \"%s\", \"flow_groups\": %u, \"pre\": %u, \"post\": %u, \"rtc\": %u, "
		   "\"mes\": %u, \"mpps\": %.4f, \"gbps\": %.4f, \"rpc_mops\": %.4f, "
		   "\"lat_p50_us\": %.3f, \"lat_p99_us\": %.3f, \"lat_p999_us\": %.3f, \"util\": {",
		pt->l.rtc ? "run-to-completion" : "pipelined", pt->l.rtc ? 0 : pt->l.fg,
		pt->l.rtc ? 0 : pt->l.pre, pt->l.rtc ? 0 : pt->l.post, pt->l.rtc, des_layout_mes(&pt->l),
		r->mpps, r->gbps, r->rpc_mops, r->lat_p50_us, r->lat_p99_us, r->lat_p999_us);
	for (int s = 0; s < DES__STAGES; s++)
		fprintf(f, "\"%s\": %.4f%s", des_stage_name[s], r->util[s], s + 1 < DES__STAGES ? ", " : "");
	fprintf(f, "}, \"bottleneck\": \"%s\"}%s\n", des_stage_name[r->bottleneck], last ? "" : ",");
}

/* gnuplot (Debian gnuplot-nox, scripts/deps.sh) draws the scaling curves. */
static int plot_png(const char *png, const struct point *pipe, const struct point *rtc, unsigned n,
		    enum sim_traffic t, unsigned conns)
{
	char dat[] = "/tmp/ftoe-nfpsim-plot.XXXXXX";
	int fd, st;
	FILE *f, *g;

	if (strchr(png, '\'') || strchr(png, '\n')) {
		fprintf(stderr, "flextoe-nfpsim: --plot %s: a quote or newline in the name cannot be "
				"passed to gnuplot\n", png);
		return -EINVAL;
	}
	fd = mkstemp(dat);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "flextoe-nfpsim: cannot write the plot's data: %s\n", strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%u %.4f %u %.4f\n", des_layout_mes(&pipe[i].l),
			t == SIM_RPC ? pipe[i].r.rpc_mops : pipe[i].r.gbps, des_layout_mes(&rtc[i].l),
			t == SIM_RPC ? rtc[i].r.rpc_mops : rtc[i].r.gbps);
	fclose(f);
	g = popen("gnuplot", "w");
	if (!g) {
		unlink(dat);
		fprintf(stderr, "flextoe-nfpsim: cannot run gnuplot (scripts/deps.sh installs gnuplot-nox)\n");
		return -ENOENT;
	}
	fprintf(g, "set terminal pngcairo size 800,500\nset output '%s'\n"
		   "set title 'flextoe-nfpsim (a model of the NFP-4000): %s, %u connection%s'\n"
		   "set xlabel 'MEs'\nset ylabel '%s'\nset key right center\nset grid\n"
		   "plot '%s' using 1:2 with linespoints title 'pipelined (FlexTOE)', "
		   "'' using 3:4 with linespoints title 'run-to-completion'\n",
		png, tname(t), conns, conns == 1 ? "" : "s", t == SIM_RPC ? "RPCs (millions/s)" : "Gbit/s",
		dat);
	st = pclose(g);
	unlink(dat);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "flextoe-nfpsim: gnuplot could not draw %s (its message is above; "
				"without gnuplot: scripts/deps.sh installs gnuplot-nox)\n", png);
		return -EIO;
	}
	return 0;
}

int sim_scale_main(const struct sim_world_cfg *c, const char *config, bool json, const char *plot)
{
	struct sim_params p;
	struct des_costs costs;
	struct point pipe[NSTEPS], rtc[NSTEPS];
	int rc;

	if (sim_params_load(config, &p))
		return 2;
	rc = costs_for(c, &p, &costs);
	if (rc) {
		fprintf(stderr, "flextoe-nfpsim: the functional run failed (%d)\n", rc);
		return 1;
	}
	if (getenv("NFPSIM_DEBUG"))
		for (int st = 0; st < SIM_ST__MAX; st++)
			for (int m = 0; m < NFP_MEM__MAX; m++)
				fprintf(stderr, "stage %d mem %d: %.3f cmds x %.1f B\n", st, m, costs.cmds[st][m], costs.bytes[st][m]);
	for (unsigned i = 0; i < NSTEPS; i++) {
		pipe[i].l = steps[i];
		pipe[i].l.isl36 = NFP_ISLAND36_MES;
		pipe[i].l.isl48 = NFP_ISLAND48_MES;
		rtc[i].l = (struct des_layout){ .rtc = steps[i].fg * (steps[i].pre + 1 + steps[i].post),
						.isl36 = NFP_ISLAND36_MES, .isl48 = NFP_ISLAND48_MES };
		if (des_run(&p, &costs, &pipe[i].l, c->traffic, c->conns, 1, &pipe[i].r) ||
		    des_run(&p, &costs, &rtc[i].l, c->traffic, c->conns, 1, &rtc[i].r)) {
			fprintf(stderr, "flextoe-nfpsim: out of memory in the timing model\n");
			return 1;
		}
	}
	for (unsigned i = 0; i < NSTEPS; i++)
		if (pipe[i].r.order_faults || rtc[i].r.order_faults) {
			fprintf(stderr, "flextoe-nfpsim: the timing model delivered %llu segments out of "
					"order (layout %u): a bug in the model\n",
				(unsigned long long)(pipe[i].r.order_faults + rtc[i].r.order_faults), i);
			return 1;
		}
	if (json) {
		printf("{\"model\": \"flextoe-nfpsim (NFP-4000 MODEL, docs/nfp.md)\", \"traffic\": \"%s\", "
		       "\"connections\": %u, \"config\": \"%s\", \"hook_programs\": %u,\n  \"points\": [\n",
		       tname(c->traffic), c->conns, config, c->hooks ? c->hooks->n : 0);
		for (unsigned i = 0; i < NSTEPS; i++)
			json_point(stdout, &pipe[i], false);
		for (unsigned i = 0; i < NSTEPS; i++)
			json_point(stdout, &rtc[i], i + 1 == NSTEPS);
		printf("  ],\n  \"pipelined_over_rtc_at_50\": %.3f\n}\n",
		       c->traffic == SIM_RPC ? pipe[NSTEPS - 1].r.rpc_mops / rtc[NSTEPS - 1].r.rpc_mops :
					       pipe[NSTEPS - 1].r.gbps / rtc[NSTEPS - 1].r.gbps);
	} else {
		printf("== flextoe-nfpsim (a MODEL of the NFP-4000, docs/nfp.md): %s, %u connection%s\n",
		       tname(c->traffic), c->conns, c->conns == 1 ? "" : "s");
		if (c->hooks)
			printf("   with %u eBPF program%s at the NIC's hooks (costs: docs/nfp.md)\n",
			       c->hooks->n, c->hooks->n == 1 ? "" : "s");
		printf("%-10s %-12s %4s %8s %8s %8s %7s %7s  %5s %5s %5s %5s %5s %5s %5s  %s\n", "layout",
		       "fg pre/pr/po", "MEs", "Mpps", "Gbit/s", "Mrpc/s", "p50us", "p99us", "pre", "proto",
		       "post", "rtc", "i36", "pcie", "mac", "busiest");
		for (unsigned i = 0; i < NSTEPS; i++)
			print_row("pipelined", &pipe[i], c->traffic);
		for (unsigned i = 0; i < NSTEPS; i++)
			print_row("run-to-c.", &rtc[i], c->traffic);
		if (c->traffic == SIM_RPC)
			printf("pipelined/run-to-completion at %u MEs: %.2fx RPC throughput\n",
			       des_layout_mes(&pipe[NSTEPS - 1].l),
			       pipe[NSTEPS - 1].r.rpc_mops / rtc[NSTEPS - 1].r.rpc_mops);
		else
			printf("pipelined/run-to-completion at %u MEs: %.2fx throughput\n",
			       des_layout_mes(&pipe[NSTEPS - 1].l),
			       pipe[NSTEPS - 1].r.gbps / rtc[NSTEPS - 1].r.gbps);
	}
	if (plot && plot_png(plot, pipe, rtc, NSTEPS, c->traffic, c->conns))
		return 1;
	return 0;
}

/* ---- flextoe-nfpsim hooks: throughput with each program against none ---------- */

struct hook_point {
	const char *name, *hook;
	struct des_costs costs;
	struct des_result small, full; /* 1 flow group x (1,1,1); the 50-ME layout */
};

static double metric(enum sim_traffic t, const struct des_result *r)
{
	return t == SIM_RPC ? r->rpc_mops : r->gbps;
}

static int hook_point_run(const struct sim_world_cfg *c, const struct sim_params *p,
			  struct hook_point *hp)
{
	struct des_layout small = steps[0], full = steps[NSTEPS - 1];
	int rc = costs_for(c, p, &hp->costs);

	if (rc) {
		fprintf(stderr, "flextoe-nfpsim: the functional run with %s failed (%d)\n", hp->name, rc);
		return rc;
	}
	small.isl36 = full.isl36 = NFP_ISLAND36_MES;
	small.isl48 = full.isl48 = NFP_ISLAND48_MES;
	if (des_run(p, &hp->costs, &small, c->traffic, c->conns, 1, &hp->small) ||
	    des_run(p, &hp->costs, &full, c->traffic, c->conns, 1, &hp->full)) {
		fprintf(stderr, "flextoe-nfpsim: out of memory in the timing model\n");
		return -ENOMEM;
	}
	if (hp->small.order_faults || hp->full.order_faults) {
		fprintf(stderr, "flextoe-nfpsim: the timing model delivered segments out of order\n");
		return -EPROTO;
	}
	return 0;
}

int sim_hooks_main(const struct sim_world_cfg *c, const char *config, bool json,
		   const struct sim_hook_spec *specs, unsigned n, const char *fw_rules)
{
	struct hook_point pts[1 + SIM_MAX_HOOKS];
	struct sim_world_cfg fc = *c;
	struct sim_params p;
	struct sim_hooks sh;
	const char *unit = c->traffic == SIM_RPC ? "Mrpc/s" : "Gbit/s";

	if (sim_params_load(config, &p))
		return 2;
	if (!n) {
		fprintf(stderr, "flextoe-nfpsim hooks: give at least one --hook HOOK:FILE to compare "
				"with none\n");
		return 2;
	}
	memset(pts, 0, sizeof(pts));
	pts[0].name = "none";
	pts[0].hook = "-";
	fc.hooks = NULL;
	if (hook_point_run(&fc, &p, &pts[0]))
		return 1;
	for (unsigned i = 0; i < n; i++) {
		const char *slash = strrchr(specs[i].path, '/');
		int rc;

		pts[i + 1].name = slash ? slash + 1 : specs[i].path;
		pts[i + 1].hook = ftoe_hook_name(specs[i].hook);
		/* fw_rules go to the firewall only; other objects ignore them */
		if (sim_hooks_open(&sh, &specs[i], 1, NULL))
			return 2;
		if (fw_rules && ebpf_object_find_map(sh.obj[0], "fw_rules")) {
			sim_hooks_close(&sh);
			if (sim_hooks_open(&sh, &specs[i], 1, fw_rules))
				return 2;
		}
		fc.hooks = &sh;
		rc = hook_point_run(&fc, &p, &pts[i + 1]);
		sim_hooks_close(&sh);
		if (rc)
			return 1;
	}
	if (json) {
		printf("{\"model\": \"flextoe-nfpsim (NFP-4000 MODEL, docs/nfp.md)\", \"traffic\": \"%s\", "
		       "\"connections\": %u, \"config\": \"%s\", \"unit\": \"%s\",\n  \"hooks\": [\n",
		       tname(c->traffic), c->conns, config, unit);
	} else {
		printf("== flextoe-nfpsim (a MODEL of the NFP-4000, docs/nfp.md): eBPF at the NIC's hooks, "
		       "%s, %u connection%s\n", tname(c->traffic), c->conns, c->conns == 1 ? "" : "s");
		printf("   per frame at the hook's stage: eBPF instructions run (counting interpreter), ME "
		       "cycles (nfp JIT expansion), memory commands;\n   throughput (%s) on 1 flow group "
		       "x (1 pre, 1 protocol, 1 post) and on the 50-ME layout, and its ratio to none\n", unit);
		printf("%-20s %-7s %9s %9s %8s  %10s %6s  %10s %6s  %s\n", "program", "hook", "insn/fr",
		       "cycles/fr", "cmds/fr", "1/1/1", "ratio", "50 MEs", "ratio", "busiest (50)");
	}
	for (unsigned i = 0; i <= n; i++) {
		const struct hook_point *hp = &pts[i];
		int st = !strcmp(hp->hook, "rx-post") ? SIM_ST_POST : SIM_ST_PRE;
		double rs = metric(c->traffic, &hp->small) / metric(c->traffic, &pts[0].small);
		double rf = metric(c->traffic, &hp->full) / metric(c->traffic, &pts[0].full);

		if (json)
			printf("    {\"program\": \"%s\", \"hook\": \"%s\", \"insns_per_frame\": %.2f, "
			       "\"cycles_per_frame\": %.2f, \"mem_cmds_per_frame\": %.3f, "
			       "\"small\": {\"mes\": %u, \"mpps\": %.4f, \"gbps\": %.4f, \"rpc_mops\": %.4f, "
			       "\"ratio\": %.4f}, \"full\": {\"mes\": %u, \"mpps\": %.4f, \"gbps\": %.4f, "
			       "\"rpc_mops\": %.4f, \"ratio\": %.4f, \"bottleneck\": \"%s\"}}%s\n",
			       hp->name, hp->hook, hp->costs.hook_insns[st], hp->costs.hook_cycles[st],
			       hp->costs.hook_cmds[st], des_layout_mes(&steps[0]) + NFP_ISLAND36_MES +
			       NFP_ISLAND48_MES, hp->small.mpps, hp->small.gbps, hp->small.rpc_mops, rs,
			       NFP_LAYOUT_MES, hp->full.mpps, hp->full.gbps, hp->full.rpc_mops, rf,
			       des_stage_name[hp->full.bottleneck], i == n ? "" : ",");
		else
			printf("%-20s %-7s %9.1f %9.1f %8.2f  %10.3f %5.2fx  %10.3f %5.2fx  %s\n", hp->name,
			       hp->hook, hp->costs.hook_insns[st], hp->costs.hook_cycles[st],
			       hp->costs.hook_cmds[st], metric(c->traffic, &hp->small), rs,
			       metric(c->traffic, &hp->full), rf, des_stage_name[hp->full.bottleneck]);
	}
	if (json)
		printf("  ]\n}\n");
	return 0;
}
