/* rundir.c - the engine's run directory and its pid/lock file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/daemon/daemon.h"
#include "lib/util/log.h"

/*
 * Layout (docs/engine.md):
 *   DIR/flextoe.pid   pid of the running engine; flock()ed while it runs
 *   DIR/flextoe.sock  the application/control socket (later)
 * The lock is an flock on flextoe.pid: the kernel drops it when the process
 * dies, so a crashed engine never blocks the next start, while two live
 * engines can never share a directory.
 */

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int rundir_acquire(const char *dir, int *lock_fd)
{
	char path[PATH_MAX], buf[32];
	struct stat st;
	ssize_t n;
	int fd, err;

	err = mkdir_p(dir);
	if (err) {
		pr_err("cannot create run directory %s: %s (choose another with --run-dir)",
		       dir, strerror(-err));
		return err;
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		pr_err("run directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	snprintf(path, sizeof(path), "%s/flextoe.pid", dir);
retry:
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		pr_err("cannot open %s: %s", path, strerror(errno));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (errno == EWOULDBLOCK) {
			n = pread(fd, buf, sizeof(buf) - 1, 0);
			buf[n > 0 ? n : 0] = 0;
			buf[strcspn(buf, "\n")] = 0;
			pr_err("run directory %s is in use by another engine (pid %s); stop it "
			       "or use --run-dir", dir, *buf ? buf : "?");
			err = -EBUSY;
		} else {
			pr_err("cannot lock %s: %s", path, strerror(errno));
		}
		close(fd);
		return err;
	}
	{
		struct stat locked, now;

		/* The holder may have unlinked the file between our open and
		 * flock: then we locked an orphan; start over. */
		if (fstat(fd, &locked) || stat(path, &now) || locked.st_ino != now.st_ino ||
		    locked.st_dev != now.st_dev) {
			close(fd);
			goto retry;
		}
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n) {
		err = -errno;
		pr_err("cannot write %s: %s", path, strerror(errno));
		close(fd);
		return err;
	}
	*lock_fd = fd;
	return 0;
}

void rundir_release(const char *dir, int lock_fd)
{
	char path[PATH_MAX];

	if (lock_fd < 0)
		return;
	/* Unlink while still holding the lock, so a starting engine never
	 * locks a file that is about to disappear. */
	snprintf(path, sizeof(path), "%s/flextoe.pid", dir);
	unlink(path);
	close(lock_fd);
}
