/* fuzz_object.c - libFuzzer target: arbitrary bytes opened as a BPF ELF object (ebpf_object_open_mem) must fail cleanly or load and run. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "ebpf/ebpf.h"
#include "lib/util/log.h"

/* Every descriptor an input opens (kernel programs and maps, ELF files)
 * must be closed again, or the engine would run out after a few thousand
 * objects.  The open set is taken before and after each input: libFuzzer
 * and the sanitizers open descriptors of their own between inputs (the
 * symbolizer's pipes), so a plain "lowest free fd" test would blame us. */
#define FD_MAX 4096
static struct ebpf_xdp_buff *xdp;

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level; (void)fmt; (void)ap;
	return 0;
}

static void log_sink(enum ftoe_log_level level, const char *msg)
{
	(void)level; (void)msg;
}

static void open_fds(uint8_t set[FD_MAX / 8])
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self;

	memset(set, 0, FD_MAX / 8);
	if (!d)
		return;
	self = dirfd(d);
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != self && fd >= 0 && fd < FD_MAX)
			set[fd / 8] |= (uint8_t)(1u << (fd % 8));
	}
	closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	/* libbpf and the runtime describe every rejected object at length;
	 * at thousands of objects a second that is noise, not signal. */
	libbpf_set_print(libbpf_quiet);
	ftoe_log_set_sink(log_sink);
	ftoe_log_set_level(FTOE_LOG_ERROR);
	if (ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &xdp)) {
		fprintf(stderr, "fuzz_object: cannot allocate an XDP buffer\n");
		abort();
	}
	return 0;
}

/* A small IPv4/UDP frame for programs that did load. */
static const uint8_t frame[60] = {
	0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00,
	0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
	0x04, 0xd2, 0x00, 0x35, 0, 26, 0, 0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char log[1 << 16];
	char err[256] = "";
	struct ebpf_object_opts opts = {
		.sz = sizeof(opts),
		/* both engines compile what loads; pick by a byte that
		 * mutations change independently of the ELF structure */
		.engine = size && (data[size - 1] & 1) ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP,
		.log_buf = log,
		.log_size = sizeof(log),
		.err_buf = err,
		.err_size = sizeof(err),
		/* a mutated max_entries may ask for gigabytes: the kernel
		 * takes up to 10 s to create such a map, a hang to libFuzzer */
		.max_map_bytes = 256ull << 20,
	};
	struct ebpf_object *obj = NULL;
	struct ebpf_prog *prog = NULL;
	uint8_t before[FD_MAX / 8], after[FD_MAX / 8];
	int rc, fd;

	open_fds(before);
	rc = ebpf_object_open_mem(data, size, "fuzz", &opts, &obj);
	if (rc > 0 || (rc < 0 && obj) || (rc == 0 && !obj)) {
		fprintf(stderr, "fuzz_object: ebpf_object_open_mem broke its contract: rc %d, obj %p\n",
			rc, (void *)obj);
		abort();
	}
	if (rc < 0 && !err[0]) {
		fprintf(stderr, "fuzz_object: failure %d (%s) without a reason in err_buf\n",
			rc, strerror(-rc));
		abort();
	}
	if (obj) {
		/* What loaded was verified: it must run without harm. */
		while ((prog = ebpf_object_next_prog(obj, prog))) {
			memset(xdp->hard_start, 0, xdp->frame_sz);
			xdp->tailroom = EBPF_XDP_TEST_TAILROOM;
			if (!ebpf_xdp_buff_set(xdp, frame, sizeof(frame), EBPF_XDP_TEST_HEADROOM))
				(void)ebpf_prog_run_xdp(prog, xdp);
		}
		ebpf_object_close(obj);
	}

	open_fds(after);
	for (fd = 0; fd < FD_MAX; fd++) {
		char link[64], target[256] = "?";
		ssize_t n;

		if (!(after[fd / 8] & ~before[fd / 8] & (1u << (fd % 8))))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		fprintf(stderr, "fuzz_object: file descriptor leak: fd %d (%s) left open "
			"(rc %d: %s)\n", fd, target, rc, err);
		abort();
	}
	return 0;
}
