/* loaderd_spawn.c - start flextoe-loaderd next to the engine, reap it, stop it at exit. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/daemon/daemon.h"
#include "lib/util/log.h"

/* flextoe-loaderd in the directory of our own binary (build/bin, or the
 * install prefix's bin), unless --loaderd says otherwise. */
static int loaderd_path(const struct daemon *d, char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (d->opts.loaderd_path) {
		snprintf(out, size, "%s", d->opts.loaderd_path);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	slash = strrchr(self, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;
	if (strlen(self) + sizeof("/flextoe-loaderd") > size)
		return -ENAMETOOLONG;
	strcpy(out, self);
	strcat(out, "/flextoe-loaderd");
	return 0;
}

void loaderd_spawn(struct daemon *d, const char *argv0)
{
	char path[PATH_MAX];
	char *argv[8];
	int argc = 0;
	pid_t pid;
	sigset_t none;

	(void)argv0;
	if (d->opts.no_loaderd)
		return;
	if (loaderd_path(d, path, sizeof(path)) || access(path, X_OK)) {
		pr_warn("flextoe-loaderd not found (%s); programs cannot be loaded until one runs: "
			"flextoe-loaderd --run-dir %s", path, d->opts.run_dir);
		return;
	}
	argv[argc++] = path;
	argv[argc++] = "--run-dir";
	argv[argc++] = (char *)d->opts.run_dir;
	if (d->opts.loaderd_group) {
		argv[argc++] = "--group";
		argv[argc++] = (char *)d->opts.loaderd_group;
	}
	argv[argc] = NULL;
	pid = fork();
	if (pid < 0) {
		pr_warn("cannot start flextoe-loaderd: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* The engine blocks its signals for its signalfd: loaderd
		 * must get them. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Nothing of the engine's may stay open in loaderd: an
		 * inherited AF_XDP socket (libxdp does not set CLOEXEC)
		 * would keep the queue bound after the engine dies. */
		close_range(3, ~0u, 0);
		/* A loaderd started by an engine goes with it (kill -9 too). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		execv(path, argv);
		fprintf(stderr, "flextoe: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	d->loaderd_pid = pid;
	pr_info("started flextoe-loaderd (pid %d)", (int)pid);
}

void loaderd_reap(struct daemon *d)
{
	int status;
	pid_t pid;

	/* Only loaderd: other children (the runtime's short-lived object
	 * parser) are waited for by whoever started them. */
	if (d->loaderd_pid <= 0)
		return;
	while ((pid = waitpid(d->loaderd_pid, &status, WNOHANG)) > 0) {
		d->loaderd_pid = 0;
		if (WIFSIGNALED(status))
			pr_warn("flextoe-loaderd (pid %d) was killed by signal %d; installed programs "
				"keep running; start it again with flextoe-loaderd --run-dir %s",
				(int)pid, WTERMSIG(status), d->opts.run_dir);
		else
			pr_warn("flextoe-loaderd (pid %d) exited with status %d; installed programs "
				"keep running; start it again with flextoe-loaderd --run-dir %s",
				(int)pid, WEXITSTATUS(status), d->opts.run_dir);
	}
}

void loaderd_stop(struct daemon *d)
{
	if (d->loaderd_pid <= 0)
		return;
	kill(d->loaderd_pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		int status;

		if (waitpid(d->loaderd_pid, &status, WNOHANG) == d->loaderd_pid) {
			d->loaderd_pid = 0;
			return;
		}
		usleep(20000);
	}
	kill(d->loaderd_pid, SIGKILL);
	waitpid(d->loaderd_pid, NULL, 0);
	d->loaderd_pid = 0;
}
