/* bench_util.h - the measuring code the benchmarks share: runtime and kernel timing loops, calibration, medians, frames. */
#ifndef FTOE_BENCH_UTIL_H
#define FTOE_BENCH_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/ebpf.h"
#include "tests/diff/pktgen.h"

/* Static functions only: the Makefile links each bench .c file into a
 * program of its own, so shared code lives in this header. */

enum { BU_JIT, BU_INTERP, BU_KERNEL, BU_NR };
static const char *const bu_engine_names[BU_NR] __attribute__((unused)) = {
	"jit", "interp", "kernel",
};

/* How one figure is measured: reps measurements of ~target_ns each, the
 * median is the figure.  Each measurement's iteration count comes from a
 * calibration run of cal_n iterations (cal_n 0: doubling from 1 until one
 * run takes >= BU_CAL_MIN_NS, for programs whose cost per run is unknown
 * and may be many microseconds), clamped to [min_n, max_n]. */
struct bu_params {
	unsigned int reps;		/* <= BU_MAX_REPS */
	uint64_t target_ns;
	uint64_t cal_n;
	uint64_t min_n, max_n;
};

#define BU_MAX_REPS	15
#define BU_CAL_MIN_NS	5000000ull	/* 5 ms: well above timer resolution */

static inline int bu_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

/* The runtime's loop is timed in this thread's CPU time: the kernel's
 * test_run timer stops while its task is rescheduled (need_resched in
 * bpf_test_timer_continue), so wall-clock time here would charge the
 * runtime alone for the other core's load on this 2-core machine. */
static inline uint64_t bu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int bu_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double bu_median(double *samples, unsigned int n)
{
	qsort(samples, n, sizeof(samples[0]), bu_cmp_double);
	return samples[n / 2];
}

static inline uint64_t bu_iterations_for(const struct bu_params *p, double ns_per_run)
{
	double n = (double)p->target_ns / (ns_per_run > 0.5 ? ns_per_run : 0.5);

	if (n < (double)p->min_n)
		n = (double)p->min_n;
	if (n > (double)p->max_n)
		n = (double)p->max_n;
	return (uint64_t)n;
}

/* Ethernet + IPv4 + TCP or UDP frame, 64 bytes (minimum Ethernet size, no
 * FCS); a UDP datagram carries the rest as payload.  Returns the length. */
static inline uint32_t bu_build_ip4(uint8_t *b, const uint8_t smac[6], const uint8_t dmac[6],
				    const uint8_t s4[4], const uint8_t d4[4], uint8_t proto,
				    uint16_t sport, uint16_t dport)
{
	const uint32_t len = 64;

	memset(b, 0, len);
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	pg_put16(b + 12, 0x0800);
	b[14] = 0x45;
	pg_put16(b + 16, (uint16_t)(len - 14));
	b[22] = 64;
	b[23] = proto;
	memcpy(b + 26, s4, 4);
	memcpy(b + 30, d4, 4);
	pg_put16(b + 24, pg_csum(b + 14, 20));
	pg_put16(b + 34, sport);
	pg_put16(b + 36, dport);
	if (proto == 17) {
		pg_put16(b + 38, (uint16_t)(len - 34));	/* UDP length; checksum 0 = none */
	} else {
		b[46] = 5 << 4;
		b[47] = 0x10;	/* ACK */
		pg_put16(b + 48, 65535);
	}
	return len;
}

/* Ethernet + IPv6 + TCP (20-byte header) or UDP frame, 74 or 62 bytes
 * (no payload; below 64 a UDP frame is not padded, as nothing here sends
 * it on a wire).  Returns the length. */
static inline uint32_t bu_build_ip6(uint8_t *b, const uint8_t smac[6], const uint8_t dmac[6],
				    const uint8_t s6[16], const uint8_t d6[16], uint8_t proto,
				    uint16_t sport, uint16_t dport)
{
	const uint32_t l4 = proto == 17 ? 8 : 20, len = 14 + 40 + l4;

	memset(b, 0, len);
	memcpy(b, dmac, 6);
	memcpy(b + 6, smac, 6);
	pg_put16(b + 12, 0x86dd);
	b[14] = 0x60;
	pg_put16(b + 18, (uint16_t)l4);	/* payload length */
	b[20] = proto;
	b[21] = 64;			/* hop limit */
	memcpy(b + 22, s6, 16);
	memcpy(b + 38, d6, 16);
	pg_put16(b + 54, sport);
	pg_put16(b + 56, dport);
	if (proto == 17) {
		pg_put16(b + 58, (uint16_t)l4);
	} else {
		b[66] = 5 << 4;
		b[67] = 0x10;	/* ACK */
		pg_put16(b + 68, 65535);
	}
	return len;
}

/* Put frame into xdp the way the kernel's test_run lays it out
 * (EBPF_XDP_TEST_FRAME_SZ page, 256 bytes headroom, loopback's rx queue). */
static inline int bu_xdp_set(struct ebpf_xdp_buff *xdp, const uint8_t *frame, uint32_t len)
{
	int err;

	memset(xdp->hard_start, 0, xdp->frame_sz);
	xdp->tailroom = EBPF_XDP_TEST_TAILROOM;
	err = ebpf_xdp_buff_set(xdp, frame, len, EBPF_XDP_TEST_HEADROOM);
	if (err)
		return err;
	xdp->md.ingress_ifindex = 1;	/* test_run: loopback's queue 0 */
	return 0;
}

/* The runtime's loop, shaped as the kernel's test_run loop (bpf_test_run
 * in net/bpf/test_run.c): the frame is copied in once, then the program
 * runs repeat times on the same xdp_buff.  The kernel does not even reset
 * the buffer between runs; we put data/data_end/data_meta back each time
 * (three stores), so a program that moves them sees the same frame on
 * every run - a cost the kernel does not pay.  Returns ns per run. */
static inline double bu_run_runtime(struct ebpf_prog *prog, struct ebpf_xdp_buff *xdp,
				    uint64_t n, uint32_t *verdict)
{
	uint32_t data = xdp->md.data, end = xdp->md.data_end, meta = xdp->md.data_meta;
	uint32_t v = 0;
	uint64_t i, t0, t1;

	t0 = bu_now_ns();
	for (i = 0; i < n; i++) {
		xdp->md.data = data;
		xdp->md.data_end = end;
		xdp->md.data_meta = meta;
		v = ebpf_prog_run_xdp(prog, xdp);
	}
	t1 = bu_now_ns();
	*verdict = v;
	return (double)(t1 - t0) / (double)n;
}

/* Kernel: BPF_PROG_TEST_RUN with repeat = n; *ns is its own ktime-based
 * mean over the loop (ns, truncated to an integer).  0 or -errno (libbpf
 * >= 1.0 returns -errno itself). */
static inline int bu_run_kernel(int fd, const uint8_t *frame, uint32_t len, uint32_t n,
				double *ns, uint32_t *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		.data_in = frame,
		.data_size_in = len,
		.repeat = n,
	);
	int err = bpf_prog_test_run_opts(fd, &opts);

	if (err)
		return err;
	*ns = opts.duration;
	*verdict = opts.retval;
	return 0;
}

/* One engine's figure: calibrate, then the median of p->reps measurements.
 * The runtime when kfd < 0 (xdp already holds the frame), else the kernel
 * program kfd on frame.  0 or -errno from BPF_PROG_TEST_RUN. */
static inline int bu_measure(const struct bu_params *p, struct ebpf_prog *prog,
			     struct ebpf_xdp_buff *xdp, int kfd, const uint8_t *frame,
			     uint32_t len, double *ns, uint32_t *verdict)
{
	double samples[BU_MAX_REPS], cal = 0;
	uint64_t n = p->cal_n ? p->cal_n : 1;
	unsigned int r, reps = p->reps < BU_MAX_REPS ? p->reps : BU_MAX_REPS;
	int err;

	for (;;) {
		uint64_t t0 = bu_now_ns();

		if (kfd < 0) {
			cal = bu_run_runtime(prog, xdp, n, verdict);
		} else {
			err = bu_run_kernel(kfd, frame, len, (uint32_t)n, &cal, verdict);
			if (err)
				return err;
		}
		/* the kernel's loop runs in this thread, so its CPU time counts */
		if (p->cal_n || bu_now_ns() - t0 >= BU_CAL_MIN_NS || n >= p->max_n)
			break;
		n *= 2;
	}
	n = bu_iterations_for(p, cal);
	for (r = 0; r < reps; r++) {
		if (kfd < 0) {
			samples[r] = bu_run_runtime(prog, xdp, n, verdict);
		} else {
			err = bu_run_kernel(kfd, frame, len, (uint32_t)n, &samples[r], verdict);
			if (err)
				return err;
		}
	}
	*ns = bu_median(samples, reps);
	return 0;
}

static inline const char *bu_action_name(uint32_t a)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };

	return a < 5 ? names[a] : "?";
}

static inline int bu_read_int_file(const char *path)
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

/* "on", "OFF (interpreter)" or "unknown": net.core.bpf_jit_enable. */
static inline const char *bu_kernel_jit_state(void)
{
	int v = bu_read_int_file("/proc/sys/net/core/bpf_jit_enable");

	return v >= 1 ? "on" : v == 0 ? "OFF (interpreter)" : "unknown";
}

#endif /* FTOE_BENCH_UTIL_H */
