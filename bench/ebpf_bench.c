/* ebpf_bench.c - ns per XDP program run: the runtime's JIT and interpreter against the kernel's own eBPF, in one run. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/ebpf.h"
#include "lib/util/log.h"
#include "tests/diff/mapcfg.h"
#include "tests/diff/pins.h"
#include "tests/diff/pktgen.h"

#define REPS		5		/* measurements per figure; the median is shown */
#define TARGET_NS	150000000ull	/* wall time of one measurement */
#define XDPFILT_DIR	"/usr/lib/x86_64-linux-gnu/bpf"

enum { E_JIT, E_INTERP, E_KERNEL, E_NR };
static const char *const engine_names[E_NR] = { "jit", "interp", "kernel" };

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
	double ns[E_NR];
	uint32_t verdict[E_NR];
	bool ok[E_NR];
};

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

/* The runtime's loop is timed in this thread's CPU time: the kernel's
 * test_run timer stops while its task is rescheduled (need_resched in
 * bpf_test_timer_continue), so wall-clock time here would charge the
 * runtime alone for the other core's load on this 2-core machine. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Ethernet + IPv4 + TCP frame, 64 bytes (minimum Ethernet size, no FCS). */
static uint32_t build_tcp4(uint8_t *b, const uint8_t smac[6], const uint8_t dmac[6],
			   const uint8_t s4[4], const uint8_t d4[4], uint16_t sport, uint16_t dport)
{
	const uint32_t len = 64;

	memset(b, 0, len);
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	pg_put16(b + 12, 0x0800);
	b[14] = 0x45;
	pg_put16(b + 16, (uint16_t)(len - 14));
	b[22] = 64;
	b[23] = 6;
	memcpy(b + 26, s4, 4);
	memcpy(b + 30, d4, 4);
	pg_put16(b + 24, pg_csum(b + 14, 20));
	pg_put16(b + 34, sport);
	pg_put16(b + 36, dport);
	b[46] = 5 << 4;
	b[47] = 0x10;	/* ACK */
	pg_put16(b + 48, 65535);
	return len;
}

/* The runtime's loop, shaped as the kernel's test_run loop (bpf_test_run
 * in net/bpf/test_run.c): the frame is copied in once, then the program
 * runs repeat times on the same xdp_buff.  The kernel does not even reset
 * the buffer between runs; we put data/data_end/data_meta back each time
 * (three stores), so a program that moves them sees the same frame on
 * every run - a cost the kernel does not pay. */
static double run_runtime(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp, uint64_t n,
			  uint32_t *verdict)
{
	uint32_t data = xdp->md.data, end = xdp->md.data_end, meta = xdp->md.data_meta;
	uint32_t v = 0;
	uint64_t i, t0, t1;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		xdp->md.data = data;
		xdp->md.data_end = end;
		xdp->md.data_meta = meta;
		v = ebpf_prog_run_xdp(prog, xdp);
	}
	t1 = now_ns();
	*verdict = v;
	return (double)(t1 - t0) / (double)n;
}

/* Kernel: BPF_PROG_TEST_RUN with repeat = n; duration is its own
 * ktime-based mean over the loop (ns, truncated to an integer). */
static int run_kernel(int fd, const struct bench_case *bc, uint32_t n, double *ns,
		      uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = bc->frame,
		.data_size_in = bc->frame_len,
		.repeat = n,
	);
	int err = bpf_prog_test_run_opts(fd, &opts);

	if (err)
		return err;
	*ns = opts.duration;
	*verdict = opts.retval;
	return 0;
}

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

static uint64_t iterations_for(double ns_per_run)
{
	double n = (double)TARGET_NS / (ns_per_run > 0.5 ? ns_per_run : 0.5);

	if (n < 10000)
		n = 10000;
	if (n > 50000000)
		n = 50000000;
	return (uint64_t)n;
}

static int bench_one(const struct bench_case *bc, struct figure *fig, int *entries)
{
	static const enum ebpf_engine engines[2] = { EBPF_ENGINE_JIT, EBPF_ENGINE_INTERP };
	struct ebpf_object *obj[2] = { 0 };
	struct ebpf_xdp_buff *xdp = NULL;
	double samples[REPS];
	struct pinlist pins;
	int e, r, err = 0, kfd;

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
				engine_names[e], errbuf[0] ? errbuf : "no reason given",
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
		uint64_t n;

		if (!prog) {
			fprintf(stderr, "ebpf_bench: %s has no program %s\n", bc->path, bc->prog);
			err = -ENOENT;
			goto out;
		}
		memset(xdp->hard_start, 0, xdp->frame_sz);
		xdp->tailroom = EBPF_XDP_TEST_TAILROOM;
		err = ebpf_xdp_buff_set(xdp, bc->frame, bc->frame_len, EBPF_XDP_TEST_HEADROOM);
		if (err) {
			fprintf(stderr, "ebpf_bench: cannot set the frame: %s\n", strerror(-err));
			goto out;
		}
		xdp->md.ingress_ifindex = 1;	/* test_run: loopback's queue 0 */
		n = iterations_for(run_runtime(prog, xdp, 20000, &fig->verdict[e]));
		for (r = 0; r < REPS; r++)
			samples[r] = run_runtime(prog, xdp, n, &fig->verdict[e]);
		qsort(samples, REPS, sizeof(samples[0]), cmp_double);
		fig->ns[e] = samples[REPS / 2];
		fig->ok[e] = true;
	}

	{
		struct ebpf_prog *kp = ebpf_object_find_prog(obj[0], bc->prog);
		double cal = 0;

		kfd = kp ? ebpf_prog_kernel_fd(kp) : -1;
		if (kfd < 0) {
			fprintf(stderr, "ebpf_bench: no kernel twin of %s (keep_kernel)\n", bc->prog);
			err = -EBADF;
			goto out;
		}
		err = run_kernel(kfd, bc, 20000, &cal, &fig->verdict[E_KERNEL]);
		for (r = 0; !err && r < REPS; r++)
			err = run_kernel(kfd, bc, (uint32_t)iterations_for(cal), &samples[r],
					 &fig->verdict[E_KERNEL]);
		if (err) {
			fprintf(stderr, "ebpf_bench: BPF_PROG_TEST_RUN failed: %s\n", strerror(-err));
			goto out;
		}
		qsort(samples, REPS, sizeof(samples[0]), cmp_double);
		fig->ns[E_KERNEL] = samples[REPS / 2];
		fig->ok[E_KERNEL] = true;
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

static const char *action_name(uint32_t a)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return a < 5 ? names[a] : "?";
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
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
	int c, i, jit_enable;

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
	libbpf_set_print(libbpf_quiet);
	ftoe_log_set_level(FTOE_LOG_ERROR);

	/* Frames that walk each program's longest path.  xdp-filter deny
	 * mode: no MAC or IPv4 entry matches, the TCP destination port (80)
	 * does, so every lookup runs and the verdict is PASS.  Firewall: the
	 * 5-tuple misses the flow table, the source hits the LPM rule
	 * 10.1.0.0/16 (pass). */
	snprintf(cases[0].path, sizeof(cases[0].path), "%s/xdpfilt_dny_all.o", XDPFILT_DIR);
	cases[0].frame_len = build_tcp4(cases[0].frame, miss_mac, miss_mac, s_dny, d_dny, 1234, 80);
	snprintf(cases[1].path, sizeof(cases[1].path), "%s/tests/progs/fw_bench.bpf.o", build);
	cases[1].frame_len = build_tcp4(cases[1].frame, miss_mac, miss_mac, s_fw, d_fw, 1234, 443);

	jit_enable = read_int_file("/proc/sys/net/core/bpf_jit_enable");
	printf("eBPF runtime benchmark: nanoseconds per XDP program run, median of %d "
	       "measurements of ~%llu ms each\n", REPS, TARGET_NS / 1000000);
	printf("  jit, interp: this runtime, ebpf_prog_run_xdp() in a loop on one 64-byte frame\n"
	       "  kernel:      BPF_PROG_TEST_RUN (repeat = N) on the same frame, its duration field;"
	       " kernel JIT %s\n\n",
	       jit_enable == 1 ? "on" : jit_enable == 0 ? "OFF (interpreter)" : "unknown");
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
		       action_name(fig.verdict[E_JIT]), fig.ns[E_JIT], fig.ns[E_INTERP],
		       fig.ns[E_KERNEL], fig.ns[E_JIT] / fig.ns[E_KERNEL],
		       fig.ns[E_INTERP] / fig.ns[E_KERNEL]);
		if (fig.verdict[E_JIT] != fig.verdict[E_KERNEL] ||
		    fig.verdict[E_INTERP] != fig.verdict[E_KERNEL])
			printf("  WARNING: verdicts differ: jit %s, interp %s, kernel %s\n",
			       action_name(fig.verdict[E_JIT]), action_name(fig.verdict[E_INTERP]),
			       action_name(fig.verdict[E_KERNEL]));
		if (fig.ns[E_JIT] > fig.ns[E_KERNEL])
			jit_ok = false;
		if (fig.ns[E_INTERP] > 10 * fig.ns[E_KERNEL])
			interp_ok = false;
	}
	printf("\ntargets: jit/kernel <= 1.0 %s; interp/kernel <= 10 %s\n",
	       !any ? "not measured" : jit_ok ? "met" : "MISSED",
	       !any ? "not measured" : interp_ok ? "met" : "MISSED");
	return any ? 0 : 1;
}
