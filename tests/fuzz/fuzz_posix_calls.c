/* fuzz_posix_calls.c - libFuzzer target: sequences of socket calls from fuzzer bytes never crash, hang or leak a descriptor, on the kernel or under flextoe-run. */
#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "tests/tools/sockdiff/seq.h"

/*
 * Each input is decoded into a sequence (5 bytes per call, seq_decode) and
 * run by the differential test's executor (tests/tools/sockdiff): the same
 * entry points, with the same bad descriptors, flags, lengths, addresses
 * and options.  Run under flextoe-run, every call goes through the POSIX
 * library first.  Checks:
 *   - AddressSanitizer/UBSan on everything the process runs;
 *   - the sequence closes every descriptor it opened: the process has as
 *     many open fds afterwards as before (a library that leaks its own
 *     descriptors, or keeps a closed socket's, fails);
 *   - with FUZZ_POSIX_B_OWN set (and FUZZ_POSIX_B_PEER, FUZZ_POSIX_B_CTL),
 *     the sequence also runs in that second world and, with
 *     FUZZ_POSIX_STRICT=1, any difference in results aborts.
 * World A is FUZZ_POSIX_OWN / FUZZ_POSIX_PEER / FUZZ_POSIX_CTL; without
 * them the target forks its own echo peer on 127.0.0.2 (port 7500 or
 * FUZZ_POSIX_PEER_PORT) and uses own address 127.0.0.1.
 */
static struct seq_world wa = { .name = "A", .port_base = 20000, .settle_ms = 300 };
static struct seq_world wb = { .name = "B", .port_base = 25000, .settle_ms = 300 };
static int have_b, strict;
static unsigned runs;
static char ctl_path[64];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static const char *env(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int port = atoi(env("FUZZ_POSIX_PEER_PORT", "7500"));

	(void)argc;
	(void)argv;
	wa.peer_port = wb.peer_port = (uint16_t)port;
	inet_pton(AF_INET, env("FUZZ_POSIX_OWN", "127.0.0.1"), &wa.own);
	inet_pton(AF_INET, env("FUZZ_POSIX_PEER", "127.0.0.2"), &wa.peer);
	if (getenv("FUZZ_POSIX_CTL")) {
		wa.peer_ctl = getenv("FUZZ_POSIX_CTL");
	} else {
		pid_t pid;

		snprintf(ctl_path, sizeof(ctl_path), "/tmp/fuzz-posix-%d.sock", (int)getpid());
		wa.peer_ctl = ctl_path;
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(peer_serve(wa.peer, (uint16_t)port, ctl_path) ? 1 : 0);
		}
		for (int i = 0; i < 100 && access(ctl_path, F_OK); i++)
			usleep(10000);
	}
	if (getenv("FUZZ_POSIX_B_OWN")) {
		have_b = 1;
		inet_pton(AF_INET, getenv("FUZZ_POSIX_B_OWN"), &wb.own);
		inet_pton(AF_INET, env("FUZZ_POSIX_B_PEER", "127.0.0.2"), &wb.peer);
		wb.peer_ctl = env("FUZZ_POSIX_B_CTL", wa.peer_ctl);
	}
	strict = getenv("FUZZ_POSIX_STRICT") && !strcmp(getenv("FUZZ_POSIX_STRICT"), "1");
	seq_exec_init();
	/* Warm-up: the library opens its own long-lived descriptors (the
	 * engine connection, shared memory) on first use; the per-input fd
	 * check starts after them. */
	{
		static struct seq s;
		static struct seq_res res[SEQ_MAX_OPS];
		uint64_t rng = 1;

		for (unsigned i = 0; i < 30; i++) {
			seq_generate(&s, &rng, 20);
			seq_run(&s, &wa, runs++, res);
			if (have_b)
				seq_run(&s, &wb, runs, res);
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seq s;
	static struct seq_res ra[SEQ_MAX_OPS], rb[SEQ_MAX_OPS];
	int before = count_fds(), after, d;

	seq_decode(&s, data, size);
	if (!s.n)
		return 0;
	seq_run(&s, &wa, runs, ra);
	after = count_fds();
	if (after != before) {
		fprintf(stderr, "fuzz_posix_calls: %d fds open before the sequence, %d after\n", before, after);
		abort();
	}
	if (have_b) {
		seq_run(&s, &wb, runs, rb);
		d = seq_compare(&s, ra, rb);
		if (d >= 0 && strict) {
			fprintf(stderr, "fuzz_posix_calls: worlds differ at step %d: ", d);
			seq_print_op(stderr, &s.op[d]);
			fprintf(stderr, ": ");
			seq_print_res(stderr, &ra[d]);
			fprintf(stderr, " vs ");
			seq_print_res(stderr, &rb[d]);
			fprintf(stderr, "\n");
			abort();
		}
	}
	runs++;
	return 0;
}
