/* main.c - flextoe-run: run an unmodified program with its TCP sockets over the FlexTOE engine (LD_PRELOAD of libflextoe-posix.so). */
#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef FTOE_PREFIX
#define FTOE_PREFIX "/usr/local"
#endif
#define LIB_NAME "libflextoe-posix.so"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flextoe-run [--run-dir DIR] [--] CMD [ARGS...]\n"
		"Runs CMD with its IPv4 TCP sockets to and from the engine's address carried by\n"
		"the FlexTOE engine (docs/posix.md).\n"
		"  -r, --run-dir DIR  the engine's run directory (default $FLEXTOE_RUN_DIR, else\n"
		"                     /run/flextoe)\n"
		"Environment: FLEXTOE_FALLBACK=kernel runs CMD on the kernel's TCP, with a\n"
		"warning, when no engine answers.\n");
}

/* The library beside this binary (BUILD/bin/../lib), else the installed one. */
static int find_lib(char *out, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = 0;
		snprintf(out, len, "%s/../lib/%s", dirname(self), LIB_NAME);
		if (!access(out, R_OK))
			return 0;
	}
	snprintf(out, len, "%s/lib/%s", FTOE_PREFIX, LIB_NAME);
	return access(out, R_OK) ? -ENOENT : 0;
}

/* Does an engine answer on DIR/flextoe.sock?  0 or -errno. */
static int engine_reachable(const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err = 0;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/flextoe.sock", dir) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = -errno;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("FLEXTOE_RUN_DIR"), *fb = getenv("FLEXTOE_FALLBACK"), *old;
	char lib[PATH_MAX], *pre;
	int i = 1, err;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if ((!strcmp(argv[i], "-r") || !strcmp(argv[i], "--run-dir")) && i + 1 < argc) {
			dir = argv[++i];
			continue;
		}
		fprintf(stderr, "flextoe-run: unknown option %s\n", argv[i]);
		usage(stderr);
		return 2;
	}
	if (i >= argc) {
		fprintf(stderr, "flextoe-run: no command given\n");
		usage(stderr);
		return 2;
	}
	if (!dir || !*dir)
		dir = "/run/flextoe";
	if (setenv("FLEXTOE_RUN_DIR", dir, 1))
		return 1;
	err = engine_reachable(dir);
	if (err == -EACCES) {
		/* flextoe.sock is 0660 under --app-group (docs/engine.md) */
		fprintf(stderr, "flextoe-run: %sthe flextoe engine at %s does not admit this user "
			"(only root and the members of its --app-group may use it)%s\n",
			fb && !strcmp(fb, "kernel") ? "warning: " : "", dir,
			fb && !strcmp(fb, "kernel") ? "; FLEXTOE_FALLBACK=kernel: using the "
			"kernel's TCP" : "");
		if (fb && !strcmp(fb, "kernel"))
			goto run;
		return 1;
	}
	if (err) {
		if (fb && !strcmp(fb, "kernel")) {
			fprintf(stderr, "flextoe-run: warning: no flextoe engine at %s (%s); "
				"FLEXTOE_FALLBACK=kernel: %s uses the kernel's TCP\n",
				dir, strerror(-err), argv[i]);
			goto run;
		}
		fprintf(stderr, "flextoe-run: no flextoe engine at %s (%s): start flextoe, pass "
			"--run-dir, or set FLEXTOE_FALLBACK=kernel\n", dir, strerror(-err));
		return 1;
	}
	if (find_lib(lib, sizeof(lib))) {
		fprintf(stderr, "flextoe-run: %s not found beside flextoe-run nor in %s/lib "
			"(run make, or make install)\n", LIB_NAME, FTOE_PREFIX);
		return 1;
	}
	old = getenv("LD_PRELOAD");
	/* an ASan build of the library needs the ASan runtime loaded first */
#ifdef FTOE_LIBASAN
	if (asprintf(&pre, "%s:%s%s%s", FTOE_LIBASAN, lib, old && *old ? ":" : "",
		     old ? old : "") < 0)
		return 1;
#else
	if (asprintf(&pre, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "") < 0)
		return 1;
#endif
	if (setenv("LD_PRELOAD", pre, 1))
		return 1;
	free(pre);
run:
	execvp(argv[i], argv + i);
	fprintf(stderr, "flextoe-run: cannot run %s: %s\n", argv[i], strerror(errno));
	return 127;
}
