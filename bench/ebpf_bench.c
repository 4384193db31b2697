/* ebpf_bench.c - ns per XDP program run: the runtime's JIT and interpreter against the kernel's own eBPF, in one run. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench/bench_util.h"
#include "ebpf/ebpf.h"
#include "lib/util/log.h"
#include "tests/diff/mapcfg.h"
#include "tests/diff/pins.h"
#include "tests/diff/pktgen.h"

#define REPS		5		/* measurements per figure; the median is shown */
#define TARGET_NS	150000000ull	/* wall time of one measurement */
#define XDPFILT_DIR	"/usr/lib/x86_64-linux-gnu/bpf"

/* A 20,000-run calibration, then 10,000 .. 50,000,000 runs per measurement. */
static const struct bu_params params = {
	.reps = REPS, .target_ns = TARGET_NS, .cal_n = 20000, .min_n = 10000, .max_n = 50000000,
};

enum bench_cfg { CFG_XDP_FILTER, CFG_FW };

struct bench_case {
	const char *label;
	char path[512];
	const char *prog;
	enum bench_cfg cfg;
	const char *frame_desc;
	uint8_t frame[128];
	uint32_t frame_len;
};

struct figure {
	double ns[BU_NR];
	uint32_t verdict[BU_NR];
	bool ok[BU_NR];
};

static int configure(struct ebpf_object *obj, bool kernel, enum bench_cfg cfg,
		     int *entries)
{
	int n = cfg == CFG_XDP_FILTER ? mc_config_xdp_filter(obj, kernel)
				      : mc_config_fw(obj, kernel, 4096, 1024, 42);

	if (n < 0)
		return n;
	*entries = n;
	return 0;
}

static int bench_one(const struct bench_case *bc, struct figure *fig, int *entries)
{
	static const enum ebpf_engine engines[2] = { EBPF_ENGINE_JIT, EBPF_ENGINE_INTERP };
	struct ebpf_object *obj[2] = { 0 };
	struct ebpf_xdp_buff *xdp = NULL;
	struct pinlist pins;
	int e, err = 0, kfd;

	pins_list(&pins);
	memset(fig, 0, sizeof(*fig));
	for (e = 0; e < 2; e++) {
		char errbuf[256] = "";
		struct ebpf_object_opts opts = {
			.sz = sizeof(opts),
			.engine = engines[e],
			.err_buf = errbuf,
			.err_size = sizeof(errbuf),
			/* the kernel twin of the first object is the
			 * "kernel" engine; the second has its own maps */
			.keep_kernel = e == 0,
		};

		err = ebpf_object_open(bc->path, &opts, &obj[e]);
		if (err) {
			fprintf(stderr, "ebpf_bench: cannot load %s for %s: %s (%s)\n", bc->path,
				bu_engine_names[e], errbuf[0] ? errbuf : "no reason given",
				strerror(-err));
			goto out;
		}
		err = configure(obj[e], false, bc->cfg, entries);
		if (err)
			goto out;
	}
	err = configure(obj[0], true, bc->cfg, entries);
	if (err)
		goto out;

	err = ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &xdp);
	if (err) {
		fprintf(stderr, "ebpf_bench: cannot allocate an XDP buffer: %s\n", strerror(-err));
		goto out;
	}

	for (e = 0; e < 2; e++) {
		struct ebpf_prog *prog = ebpf_object_find_prog(obj[e], bc->prog);

		if (!prog) {
			fprintf(stderr, "ebpf_bench: %s has no program %s\n", bc->path, bc->prog);
			err = -ENOENT;
			goto out;
		}
		err = bu_xdp_set(xdp, bc->frame, bc->frame_len);
		if (err) {
			fprintf(stderr, "ebpf_bench: cannot set the frame: %s\n", strerror(-err));
			goto out;
		}
		bu_measure(&params, prog, xdp, -1, NULL, 0, &fig->ns[e], &fig->verdict[e]);
		fig->ok[e] = true;
	}

	{
		struct ebpf_prog *kp = ebpf_object_find_prog(obj[0], bc->prog);

		kfd = kp ? ebpf_prog_kernel_fd(kp) : -1;
		if (kfd < 0) {
			fprintf(stderr, "ebpf_bench: no kernel twin of %s (keep_kernel)\n", bc->prog);
			err = -EBADF;
			goto out;
		}
		err = bu_measure(&params, NULL, NULL, kfd, bc->frame, bc->frame_len,
				 &fig->ns[BU_KERNEL], &fig->verdict[BU_KERNEL]);
		if (err) {
			fprintf(stderr, "ebpf_bench: BPF_PROG_TEST_RUN failed: %s\n", strerror(-err));
			goto out;
		}
		fig->ok[BU_KERNEL] = true;
	}
out:
	if (xdp)
		ebpf_xdp_buff_free(xdp);
	if (obj[0])
		pins_check(&pins, obj[0], bc->label, "WARNING");
	for (e = 0; e < 2; e++)
		if (obj[e])
			ebpf_object_close(obj[e]);
	free(pins.names);
	return err;
}

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s [--build DIR]\n"
		"Measure ns per XDP program run on the runtime's JIT and interpreter and in\n"
		"the kernel (BPF_PROG_TEST_RUN, repeat), median of %d, and print the ratios.\n"
		"  -b, --build DIR   build directory holding tests/progs/fw_bench.bpf.o\n"
		"                    (default: build)\n",
		argv0, REPS);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "build", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const uint8_t miss_mac[6] = { 0x02, 0, 0, 0, 0, 0x10 };
	static const uint8_t s_dny[4] = { 192, 168, 1, 77 }, d_dny[4] = { 10, 0, 0, 2 };
	static const uint8_t s_fw[4] = { 10, 1, 5, 6 }, d_fw[4] = { 10, 0, 0, 1 };
	struct bench_case cases[2] = {
		{ .label = "xdpfilt_dny_all", .prog = "xdpfilt_dny_all", .cfg = CFG_XDP_FILTER,
		  .frame_desc = "ipv4 tcp 192.168.1.77->10.0.0.2:80" },
		{ .label = "fw_bench", .prog = "fw_bench", .cfg = CFG_FW,
		  .frame_desc = "ipv4 tcp 10.1.5.6->10.0.0.1:443" },
	};
	const char *build = "build";
	bool jit_ok = true, interp_ok = true, any = false;
	int c, i;

	while ((c = getopt_long(argc, argv, "b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			build = optarg;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "ebpf_bench: run as root: the kernel verifier and "
			"BPF_PROG_TEST_RUN need CAP_BPF/CAP_SYS_ADMIN\n");
		return 1;
	}
	libbpf_set_print(bu_libbpf_quiet);
	ftoe_log_set_level(FTOE_LOG_ERROR);

	/* Frames that walk each program's longest path.  xdp-filter deny
	 * mode: no MAC or IPv4 entry matches, the TCP destination port (80)
	 * does, so every lookup runs and the verdict is PASS.  Firewall: the
	 * 5-tuple misses the flow table, the source hits the LPM rule
	 * 10.1.0.0/16 (pass). */
	snprintf(cases[0].path, sizeof(cases[0].path), "%s/xdpfilt_dny_all.o", XDPFILT_DIR);
	cases[0].frame_len = bu_build_ip4(cases[0].frame, miss_mac, miss_mac, s_dny, d_dny, 6, 1234, 80);
	snprintf(cases[1].path, sizeof(cases[1].path), "%s/tests/progs/fw_bench.bpf.o", build);
	cases[1].frame_len = bu_build_ip4(cases[1].frame, miss_mac, miss_mac, s_fw, d_fw, 6, 1234, 443);

	printf("eBPF runtime benchmark: nanoseconds per XDP program run, median of %d "
	       "measurements of ~%llu ms each\n", REPS, TARGET_NS / 1000000);
	printf("  jit, interp: this runtime, ebpf_prog_run_xdp() in a loop on one 64-byte frame\n"
	       "  kernel:      BPF_PROG_TEST_RUN (repeat = N) on the same frame, its duration field;"
	       " kernel JIT %s\n\n",
	       bu_kernel_jit_state());
	printf("%-17s %-42s %-8s %9s %10s %10s %11s %14s\n", "program", "frame (map entries)", "verdict",
	       "jit ns", "interp ns", "kernel ns", "jit/kernel", "interp/kernel");

	for (i = 0; i < 2; i++) {
		struct figure fig;
		char frame[64];
		int entries = 0, err;

		if (access(cases[i].path, R_OK)) {
			printf("%-17s missing %s: %s\n", cases[i].label, cases[i].path,
			       i == 0 ? "install xdp-tools (scripts/deps.sh)" : "run make first");
			jit_ok = interp_ok = false;
			continue;
		}
		err = bench_one(&cases[i], &fig, &entries);
		if (err) {
			printf("%-17s failed: %s\n", cases[i].label, strerror(-err));
			jit_ok = interp_ok = false;
			continue;
		}
		any = true;
		snprintf(frame, sizeof(frame), "%s (%d)", cases[i].frame_desc, entries);
		printf("%-17s %-42s %-8s %9.1f %10.1f %10.1f %11.2f %14.2f\n", cases[i].label, frame,
		       bu_action_name(fig.verdict[BU_JIT]), fig.ns[BU_JIT], fig.ns[BU_INTERP],
		       fig.ns[BU_KERNEL], fig.ns[BU_JIT] / fig.ns[BU_KERNEL],
		       fig.ns[BU_INTERP] / fig.ns[BU_KERNEL]);
		if (fig.verdict[BU_JIT] != fig.verdict[BU_KERNEL] ||
		    fig.verdict[BU_INTERP] != fig.verdict[BU_KERNEL])
			printf("  WARNING: verdicts differ: jit %s, interp %s, kernel %s\n",
			       bu_action_name(fig.verdict[BU_JIT]), bu_action_name(fig.verdict[BU_INTERP]),
			       bu_action_name(fig.verdict[BU_KERNEL]));
		if (fig.ns[BU_JIT] > fig.ns[BU_KERNEL])
			jit_ok = false;
		if (fig.ns[BU_INTERP] > 10 * fig.ns[BU_KERNEL])
			interp_ok = false;
	}
	printf("\ntargets: jit/kernel <= 1.0 %s; interp/kernel <= 10 %s\n",
	       !any ? "not measured" : jit_ok ? "met" : "MISSED",
	       !any ? "not measured" : interp_ok ? "met" : "MISSED");
	return any ? 0 : 1;
}
