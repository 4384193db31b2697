/* fork.c - fork, exec and exit: a child shares its parent's context and takes a reference on every engine fd it inherits; exec drops the close-on-exec ones; exit and _exit drop the rest. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/posix/internal.h"

/* Add d to the reference count of every engine fd this process has;
 * only fds whose FD_CLOEXEC matches cloexec_only (-1: all). */
static void refs_add(int slot, int d, int cloexec_only)
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
		if (d > 0 || ps->refs)
			px_ref((uint32_t)f->sock, slot, d);
	}
}

pid_t px_fork(void)
{
	pid_t pid;
	int child;

	if (!px.up)
		return px_real.fork();
	/* The child's references exist before it does, so a parent that
	 * closes its copy right after fork (fork after accept) never ends
	 * the child's connection.  Without a free process slot the child
	 * counts in its parent's (then the reaper cannot tell them apart). */
	px_epoll_fork(1);	/* the child's copies of our epolls */
	px_lock();
	child = px_proc_alloc();
	if (child < 0)
		child = px.slot;
	refs_add(child, 1, -1);
	px_unlock();
	pid = px_real.fork();
	if (pid == 0) {
		px.pid = getpid();
		px_thread_grp_forget();	/* the parent's thread keeps it */
		if (child != px.slot) {
			px.slot = child;
			px_lock();
			px.sh->procs[child].pid = px.pid;
			px.sh->procs[child].start = px_proc_start(px.pid);
			px_unlock();
		}
		return 0;
	}
	px_lock();
	if (pid < 0) {
		int e = errno;

		refs_add(child, -1, -1);
		if (child != px.slot)
			px.sh->procs[child].used = 0;
		px_unlock();
		px_epoll_fork(-1);
		errno = e;
		return pid;
	}
	if (child != px.slot && !px.sh->procs[child].pid) {
		px.sh->procs[child].pid = pid;
		px.sh->procs[child].start = px_proc_start(pid);
	}
	px_unlock();
	return pid;
}

void px_exec_prepare(void)
{
	if (!px.up)
		return;
	px_epoll_release_groups();	/* the new image does not know our epolls */
	px_thread_grp_release();
	px_lock();
	refs_add(px.slot, -1, 1);
	px_unlock();
}

void px_exec_failed(void)
{
	if (!px.up)
		return;
	px_lock();
	refs_add(px.slot, 1, 1);
	px_unlock();
}

void px_exit_release(void)
{
	if (!px.up || px.pid != getpid())
		return;
	px_epoll_release_groups();
	px_thread_grp_release();
	px_lock();
	for (unsigned int i = 0; i < px_fd_hi; i++)
		if (px_fds[i].kind == FD_ENGINE)
			px_fd_detach((int)i);
	if (px.slot)
		px.sh->procs[px.slot].used = 0;
	px_unlock();
}
