/* fork.c - fork, exec and exit: a child shares its parent's context and takes a reference on every engine fd it inherits; exec drops the close-on-exec ones; exit and _exit drop the rest. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/posix/internal.h"

/* Add d to the reference count of every engine fd this process has;
 * only fds whose FD_CLOEXEC matches cloexec_only (-1: all). */
static void refs_add(int d, int cloexec_only)
{
	for (unsigned int i = 0; i < px_fd_hi; i++) {
		struct px_fd *f = &px_fds[i];
		struct px_sock *ps;

		if (f->kind != FD_ENGINE)
			continue;
		if (cloexec_only >= 0 &&
		    !!(px_real.fcntl((int)i, F_GETFD) & FD_CLOEXEC) != cloexec_only)
			continue;
		ps = &px.sh->socks[f->sock];
		if (d > 0) {
			ps->refs++;
		} else if (ps->refs && --ps->refs == 0) {
			px_sock_release((uint32_t)f->sock);
		}
	}
}

pid_t px_fork(void)
{
	pid_t pid;

	if (!px.up)
		return px_real.fork();
	/* The child's references exist before it does, so a parent that
	 * closes its copy right after fork (fork after accept) never ends
	 * the child's connection. */
	px_lock();
	refs_add(1, -1);
	px_unlock();
	pid = px_real.fork();
	if (pid == 0) {
		px.pid = getpid();
		return 0;
	}
	if (pid < 0) {
		int e = errno;

		px_lock();
		refs_add(-1, -1);
		px_unlock();
		errno = e;
	}
	return pid;
}

void px_exec_prepare(void)
{
	if (!px.up)
		return;
	px_lock();
	refs_add(-1, 1);
	px_unlock();
}

void px_exec_failed(void)
{
	if (!px.up)
		return;
	px_lock();
	refs_add(1, 1);
	px_unlock();
}

void px_exit_release(void)
{
	if (!px.up || px.pid != getpid())
		return;
	px_lock();
	for (unsigned int i = 0; i < px_fd_hi; i++)
		if (px_fds[i].kind == FD_ENGINE)
			px_fd_detach((int)i);
	px_unlock();
}
