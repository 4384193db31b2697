/* interpose.c - the exported entry points LD_PRELOAD puts in front of the C library's: each sends an engine fd to the library and everything else to the real function. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "lib/posix/internal.h"

#define API __attribute__((visibility("default")))

extern void __chk_fail(void) __attribute__((noreturn));

/* Another library's constructor may call in before ours has run. */
#define INIT()								\
	do {								\
		if (__builtin_expect(!px_real.close, 0))		\
			px_real_init();					\
	} while (0)

__attribute__((constructor)) static void px_init(void)
{
	px_real_init();
	px_fdtab_init();
}

__attribute__((destructor)) static void px_fini(void)
{
	px_exit_release();
}

/* ---- sockets ------------------------------------------------------------------ */

API int socket(int domain, int type, int proto)
{
	INIT();
	return (int)px_ret(px_socket(domain, type, proto));
}

API int bind(int fd, const struct sockaddr *a, socklen_t len)
{
	INIT();
	return (int)px_ret(px_bind(fd, a, len));
}

API int listen(int fd, int backlog)
{
	INIT();
	return (int)px_ret(px_listen(fd, backlog));
}

API int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags)
{
	INIT();
	if (px_sock_of(fd) < 0)
		return px_real.accept4(fd, a, len, flags);
	return (int)px_ret(px_accept4(fd, a, len, flags));
}

API int accept(int fd, struct sockaddr *a, socklen_t *len)
{
	INIT();
	return accept4(fd, a, len, 0);
}

API int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	INIT();
	return (int)px_ret(px_connect(fd, a, len));
}

API int shutdown(int fd, int how)
{
	INIT();
	return (int)px_ret(px_shutdown(fd, how));
}

API int close(int fd)
{
	INIT();
	return (int)px_ret(px_close(fd));
}

API int getsockname(int fd, struct sockaddr *a, socklen_t *len)
{
	INIT();
	return (int)px_ret(px_getname(fd, a, len, false));
}

API int getpeername(int fd, struct sockaddr *a, socklen_t *len)
{
	INIT();
	return (int)px_ret(px_getname(fd, a, len, true));
}

API int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	INIT();
	int s = px_sock_of(fd), r;

	if (s < 0) {
		if (level == SOL_SOCKET && name == SO_ERROR && val && len && (int)*len >= 0 &&
		    px_kerr(fd, false)) {
			int e = -px_kerr(fd, true);

			*len = *len < sizeof(e) ? *len : (socklen_t)sizeof(e);
			memcpy(val, &e, *len);
			return 0;
		}
		return px_real.getsockopt(fd, level, name, val, len);
	}
	px_lock();
	r = px_getsockopt(fd, (uint32_t)s, level, name, val, len);
	px_unlock();
	return (int)px_ret(r);
}

API int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	INIT();
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.setsockopt(fd, level, name, val, len);
	return (int)px_ret(px_setsockopt((uint32_t)s, level, name, val, len));
}

/* ---- data ------------------------------------------------------------------ */

API ssize_t read(int fd, void *buf, size_t n)
{
	INIT();
	if (n)
		PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.read(fd, buf, n);
	if (!n)
		return 0;	/* sock_read_iter: nothing to read is 0, in any state */
	return px_ret(px_recv(fd, (uint32_t)s, &(struct iovec){ buf, n }, 1, 0));
}

API ssize_t write(int fd, const void *buf, size_t n)
{
	INIT();
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.write(fd, buf, n);
	return px_ret(px_send(fd, (uint32_t)s, &(struct iovec){ (void *)buf, n }, 1, 0));
}

/* readv/writev of nothing: vfs_readv/vfs_writev return 0 before the
 * socket sees the call, whatever its state or pending error. */
static bool iov_empty(const struct iovec *iov, int n)
{
	if (n < 0 || n > IOV_MAX || (n && !iov))
		return false;	/* the kernel's error */
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len)
			return false;
	return true;
}

API ssize_t readv(int fd, const struct iovec *iov, int n)
{
	INIT();
	if (iov_empty(iov, n) && (px_sock_of(fd) >= 0 || px_kerr(fd, false)))
		return 0;
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.readv(fd, iov, n);
	if (n < 0 || n > IOV_MAX)
		return px_ret(-EINVAL);
	for (int i = 0; i < n; i++)
		if (iov[i].iov_len)
			return px_ret(px_recv(fd, (uint32_t)s, iov, n, 0));
	return 0;	/* as read() */
}

API ssize_t writev(int fd, const struct iovec *iov, int n)
{
	INIT();
	if (iov_empty(iov, n) && (px_sock_of(fd) >= 0 || px_kerr(fd, false)))
		return 0;
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.writev(fd, iov, n);
	if (n < 0 || n > IOV_MAX)
		return px_ret(-EINVAL);
	return px_ret(px_send(fd, (uint32_t)s, iov, n, 0));
}

API ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a, socklen_t *alen)
{
	INIT();
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.recvfrom(fd, buf, n, flags, a, alen);
	if (a && alen)
		*alen = 0;	/* a stream socket names no sender */
	return px_ret(px_recv(fd, (uint32_t)s, &(struct iovec){ buf, n }, 1, flags));
}

API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	INIT();
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

API ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
		   socklen_t alen)
{
	INIT();
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.sendto(fd, buf, n, flags, a, alen);
	return px_ret(px_send(fd, (uint32_t)s, &(struct iovec){ (void *)buf, n }, 1, flags));
}

API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	INIT();
	return sendto(fd, buf, n, flags, NULL, 0);
}

API ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	INIT();
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);
	ssize_t r;

	if (s < 0)
		return px_real.recvmsg(fd, m, flags);
	if (!m)
		return px_ret(-EFAULT);
	if (m->msg_iovlen > IOV_MAX)
		return px_ret(-EMSGSIZE);
	r = px_recv(fd, (uint32_t)s, m->msg_iov, (int)m->msg_iovlen, flags);
	if (r >= 0) {
		m->msg_namelen = 0;
		m->msg_controllen = 0;
		m->msg_flags = 0;
	}
	return px_ret(r);
}

API ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	INIT();
	PX_KERR_RET(fd);
	int s = px_sock_of(fd);

	if (s < 0)
		return px_real.sendmsg(fd, m, flags);
	if (!m)
		return px_ret(-EFAULT);
	if (m->msg_iovlen > IOV_MAX)
		return px_ret(-EMSGSIZE);
	return px_ret(px_send(fd, (uint32_t)s, m->msg_iov, (int)m->msg_iovlen, flags));
}

API int recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags, struct timespec *tmo)
{
	INIT();
	int s = px_sock_of(fd);
	unsigned int i;

	if (s < 0)
		return px_real.recvmmsg(fd, v, n, flags, tmo);
	for (i = 0; i < n; i++) {
		ssize_t r = px_recv(fd, (uint32_t)s, v[i].msg_hdr.msg_iov,
				    (int)v[i].msg_hdr.msg_iovlen, flags & ~MSG_WAITFORONE);

		if (r < 0) {
			if (!i)
				return (int)px_ret(r);
			break;
		}
		v[i].msg_len = (unsigned int)r;
		v[i].msg_hdr.msg_namelen = 0;
		v[i].msg_hdr.msg_controllen = 0;
		v[i].msg_hdr.msg_flags = 0;
		if (!r)
			{ i++; break; }
		if (flags & MSG_WAITFORONE)
			flags |= MSG_DONTWAIT;
	}
	return (int)i;
}

API int sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	INIT();
	int s = px_sock_of(fd);
	unsigned int i;

	if (s < 0)
		return px_real.sendmmsg(fd, v, n, flags);
	for (i = 0; i < n; i++) {
		ssize_t r = px_send(fd, (uint32_t)s, v[i].msg_hdr.msg_iov,
				    (int)v[i].msg_hdr.msg_iovlen, flags);

		if (r < 0) {
			if (!i)
				return (int)px_ret(r);
			break;
		}
		v[i].msg_len = (unsigned int)r;
	}
	return (int)i;
}

API ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	INIT();
	int s = px_sock_of(out);

	if (s < 0)
		return px_real.sendfile(out, in, off, count);
	return px_ret(px_sendfile(out, (uint32_t)s, in, off, count));
}

API ssize_t sendfile64(int out, int in, off_t *off, size_t count)
{
	INIT();
	return sendfile(out, in, off, count);
}

/* ---- glibc's _FORTIFY_SOURCE variants ---------------------------------------- */

API ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	INIT();
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

API ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	INIT();
	if (n > buflen)
		__chk_fail();
	return recv(fd, buf, n, flags);
}

API ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			   struct sockaddr *a, socklen_t *alen)
{
	INIT();
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, a, alen);
}

/* ---- descriptors ----------------------------------------------------------------- */

/* An fd the application wants (dup2/dup3 target, close_range) that the
 * context uses: move the context's copy out of the way. */
static void ctx_fd_evict(int fd)
{
	int *own[3] = { &px.ac.fd, &px.ac.efd_in, &px.ac.efd_out };

	if (!px.up)
		return;
	for (int i = 0; i < 3; i++)
		if (*own[i] == fd) {
			int n = px_real.fcntl(fd, F_DUPFD_CLOEXEC, 3);

			if (n >= 0)
				*own[i] = n;
		}
}

static int dup_common(int old, int nfd, int flags, bool is_dup2)
{
	int s = px_sock_of(old), r;
	struct px_fd *f = px_fd(nfd);

	if (old == nfd || nfd < 0 || px_real.fcntl(old, F_GETFD) < 0 ||
	    (!is_dup2 && (flags & ~O_CLOEXEC)))
		/* the kernel's error (EBADF, EINVAL); nfd stays what it was */
		return is_dup2 ? px_real.dup2(old, nfd) : px_real.dup3(old, nfd, flags);
	ctx_fd_evict(nfd);
	if (f && f->kind == FD_ENGINE) {
		px_lock();
		px_fd_detach(nfd);	/* dup2 closes what nfd was */
		px_unlock();
	}
	if (f && f->kind != FD_NONE)
		px_fd_forget(nfd);
	r = is_dup2 ? px_real.dup2(old, nfd) : px_real.dup3(old, nfd, flags);
	if (r >= 0 && s >= 0) {
		px_lock();
		px_fd_attach(r, (uint32_t)s);
		px_unlock();
	} else if (r >= 0) {
		px_cand_dup(old, r);	/* a dup follows its kernel socket to the engine */
	}
	return r;
}

API int dup(int fd)
{
	INIT();
	int s = px_sock_of(fd), r = px_real.dup(fd);

	if (r >= 0 && s >= 0) {
		px_lock();
		px_fd_attach(r, (uint32_t)s);
		px_unlock();
	} else if (r >= 0) {
		px_cand_dup(fd, r);
	}
	return r;
}

API int dup2(int old, int nfd)
{
	INIT();
	return dup_common(old, nfd, 0, true);
}

API int dup3(int old, int nfd, int flags)
{
	INIT();
	return dup_common(old, nfd, flags, false);
}

API int close_range(unsigned int first, unsigned int last, int flags)
{
	INIT();
	int own[3] = { -1, -1, -1 };

	if (!px_real.close_range)
		return (int)px_ret(-ENOSYS);
	if (first > last)
		return (int)px_ret(-EINVAL);
	if (flags & CLOSE_RANGE_CLOEXEC)
		return px_real.close_range(first, last, flags);
	for (unsigned int fd = first; fd <= last && fd < px_fd_hi; fd++) {
		if (px_fds[fd].kind == FD_ENGINE) {
			px_lock();
			px_fd_detach((int)fd);
			px_unlock();
		}
		if (px_fds[fd].kind != FD_NONE)
			px_fd_forget((int)fd);
	}
	if (px.up) {
		own[0] = px.ac.fd;
		own[1] = px.ac.efd_in;
		own[2] = px.ac.efd_out;
	}
	/* the context's own fds stay: close around them */
	for (;;) {
		unsigned int cut = last + 1u;

		for (int i = 0; i < 3; i++)
			if (own[i] >= 0 && (unsigned int)own[i] >= first &&
			    (unsigned int)own[i] <= last && (unsigned int)own[i] < cut)
				cut = (unsigned int)own[i];
		if (cut == last + 1u || cut == 0)
			return cut == 0 && first == 0 && last == 0 ? 0 :
			       px_real.close_range(first, last, flags);
		if (cut > first && px_real.close_range(first, cut - 1, flags))
			return -1;
		if (cut == last)
			return 0;
		first = cut + 1;
	}
}

static int fcntl_engine(int fd, int s, int cmd, long arg)
{
	struct px_sock *ps = &px.sh->socks[s];
	int r;

	switch (cmd) {
	case F_GETFL:
		return O_RDWR | (ps->nonblock ? O_NONBLOCK : 0);
	case F_SETFL:
		ps->nonblock = !!(arg & O_NONBLOCK);
		return 0;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		r = px_real.fcntl(fd, cmd, arg);
		if (r >= 0) {
			px_lock();
			px_fd_attach(r, (uint32_t)s);
			px_unlock();
		}
		return r;
	default:
		return px_real.fcntl(fd, cmd, arg);
	}
}

API int fcntl(int fd, int cmd, ...)
{
	INIT();
	va_list ap;
	long arg;
	int s = px_sock_of(fd), r;

	va_start(ap, cmd);
	arg = va_arg(ap, long);	/* every command's argument fits (int or pointer) */
	va_end(ap);
	if (s >= 0)
		return fcntl_engine(fd, s, cmd, arg);
	r = px_real.fcntl(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		px_cand_dup(fd, r);
	return r;
}

API int fcntl64(int fd, int cmd, ...)
{
	INIT();
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return fcntl(fd, cmd, arg);
}

API int ioctl(int fd, unsigned long req, ...)
{
	INIT();
	va_list ap;
	void *arg;
	int s = px_sock_of(fd), r = 0;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (s < 0)
		return px_real.ioctl(fd, req, arg);
	px_lock();
	switch (req) {
	case FIONBIO:
		if (!arg)
			r = -EFAULT;
		else
			px.sh->socks[s].nonblock = !!*(int *)arg;
		break;
	case FIONREAD: /* SIOCINQ */
		if (px.sh->socks[s].kind == PK_LISTEN)
			r = -EINVAL;
		else if (!arg)
			r = -EFAULT;
		else
			*(int *)arg = (int)(LOAD_ACQ(&px_ssock((uint32_t)s)->rx_head) -
					    px_ssock((uint32_t)s)->rx_tail);
		break;
	case SIOCOUTQ:
		if (px.sh->socks[s].kind == PK_LISTEN)
			r = -EINVAL;
		else if (!arg)
			r = -EFAULT;
		else
			*(int *)arg = (int)(px_ssock((uint32_t)s)->tx_head -
					    LOAD_ACQ(&px_ssock((uint32_t)s)->tx_tail));
		break;
	case FIOCLEX:
	case FIONCLEX:
		px_unlock();
		return px_real.ioctl(fd, req, arg);
	default:
		r = -ENOTTY;
	}
	px_unlock();
	return (int)px_ret(r);
}

/* ---- readiness ----------------------------------------------------------------- */

static int64_t ms_ns(int ms)
{
	return ms < 0 ? -1 : (int64_t)ms * 1000000;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return ts ? (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec : -1;
}

API int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	INIT();
	if (!px.up)
		return px_real.ppoll(fds, n, timeout < 0 ? NULL : &(struct timespec){
			timeout / 1000, (timeout % 1000) * 1000000 }, NULL);
	return (int)px_ret(px_poll(fds, n, ms_ns(timeout), NULL));
}

API int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	INIT();
	if (!px.up)
		return px_real.ppoll(fds, n, ts, mask);
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return (int)px_ret(-EINVAL);
	return (int)px_ret(px_poll(fds, n, ts_ns(ts), mask));
}

API int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	INIT();
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return poll(fds, n, timeout);
}

API int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		    const sigset_t *mask, size_t fdslen)
{
	INIT();
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return ppoll(fds, n, ts, mask);
}

API int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	INIT();
	int64_t t = -1, start;
	int ret;

	if (tv) {
		if (tv->tv_sec < 0 || tv->tv_usec < 0)
			return (int)px_ret(-EINVAL);
		t = (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000;
	}
	start = px_now_ns();
	ret = px_select(nfds, r, w, e, t, NULL);
	if (tv) {	/* Linux leaves the time not slept */
		int64_t left = t - (px_now_ns() - start);

		if (left < 0 || ret > 0 || ret == 0)
			left = ret == 0 ? 0 : left < 0 ? 0 : left;
		tv->tv_sec = left / 1000000000;
		tv->tv_usec = (left % 1000000000) / 1000;
	}
	return (int)px_ret(ret);
}

API int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts,
		const sigset_t *mask)
{
	INIT();
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000))
		return (int)px_ret(-EINVAL);
	return (int)px_ret(px_select(nfds, r, w, e, ts_ns(ts), mask));
}

API int epoll_create1(int flags)
{
	INIT();
	return (int)px_ret(px_epoll_create(flags));
}

API int epoll_create(int size)
{
	INIT();
	if (size <= 0)
		return (int)px_ret(-EINVAL);
	return epoll_create1(0);
}

API int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	INIT();
	return (int)px_ret(px_epoll_ctl(epfd, op, fd, ev));
}

static bool plain_epoll(int epfd)
{
	struct px_fd *f = px_fd(epfd);

	return !px.up || !f || f->kind != FD_EPOLL || !f->ep;
}

API int epoll_pwait2(int epfd, struct epoll_event *evs, int max, const struct timespec *ts,
		     const sigset_t *mask)
{
	INIT();
	if (plain_epoll(epfd) && px_real.epoll_pwait2)
		return px_real.epoll_pwait2(epfd, evs, max, ts, mask);
	return (int)px_ret(px_epoll_wait(epfd, evs, max, ts_ns(ts), mask));
}

API int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout, const sigset_t *mask)
{
	INIT();
	if (plain_epoll(epfd))
		return px_real.epoll_pwait(epfd, evs, max, timeout, mask);
	return (int)px_ret(px_epoll_wait(epfd, evs, max, ms_ns(timeout), mask));
}

API int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	INIT();
	return epoll_pwait(epfd, evs, max, timeout, NULL);
}

/* ---- processes and signals -------------------------------------------------------- */

API pid_t fork(void)
{
	INIT();
	return px_fork();
}

API pid_t vfork(void)
{
	INIT();
	/* POSIX lets vfork be fork; the child's references need fork's care */
	return px_fork();
}

API int execve(const char *path, char *const argv[], char *const envp[])
{
	INIT();
	int r;

	px_exec_prepare();
	r = px_real.execve(path, argv, envp);
	px_exec_failed();
	return r;
}

API int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	INIT();
	int r;

	px_exec_prepare();
	r = px_real.execveat(dirfd, path, argv, envp, flags);
	px_exec_failed();
	return r;
}

API int fexecve(int fd, char *const argv[], char *const envp[])
{
	INIT();
	int r;

	px_exec_prepare();
	r = px_real.fexecve(fd, argv, envp);
	px_exec_failed();
	return r;
}

/* glibc's other exec calls reach execve inside the library, not through
 * the interposed name: wrap them too. */
#define EXEC_WRAP(name, proto, args)						\
	API int name proto							\
	{									\
		static int (*real) proto;					\
		int r;								\
		if (!real)							\
			*(void **)&real = dlsym(RTLD_NEXT, #name);		\
		px_exec_prepare();						\
		r = real args;							\
		px_exec_failed();						\
		return r;							\
	}
EXEC_WRAP(execv, (const char *p, char *const a[]), (p, a))
EXEC_WRAP(execvp, (const char *p, char *const a[]), (p, a))
EXEC_WRAP(execvpe, (const char *p, char *const a[], char *const e[]), (p, a, e))

/* execl*: the argument list as an array, then the v form. */
static char **arglist(const char *first, va_list ap, char *const **envp)
{
	va_list c;
	size_t n = 1;
	char **v;

	va_copy(c, ap);
	while (va_arg(c, char *))
		n++;
	va_end(c);
	v = malloc((n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	v[0] = (char *)first;
	for (size_t i = 1; i <= n; i++)
		v[i] = va_arg(ap, char *);
	if (envp)
		*envp = va_arg(ap, char *const *);
	return v;
}

/* execl and execlp: the list as an array, then execv or execvp. */
static int exec_list(const char *file, const char *arg, va_list ap, bool search)
{
	char **v = arglist(arg, ap, NULL);
	int r;

	if (!v)
		return (int)px_ret(-ENOMEM);
	r = search ? execvp(file, v) : execv(file, v);
	free(v);
	return r;
}

API int execl(const char *path, const char *arg, ...)
{
	INIT();
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(path, arg, ap, false);
	va_end(ap);
	return r;
}

API int execlp(const char *file, const char *arg, ...)
{
	INIT();
	va_list ap;
	int r;

	va_start(ap, arg);
	r = exec_list(file, arg, ap, true);
	va_end(ap);
	return r;
}

API int execle(const char *path, const char *arg, ...)
{
	INIT();
	char *const *envp;
	va_list ap;
	char **v;
	int r;

	va_start(ap, arg);
	v = arglist(arg, ap, &envp);
	va_end(ap);
	if (!v)
		return (int)px_ret(-ENOMEM);
	r = execve(path, v, envp);
	free(v);
	return r;
}

API void _exit(int status)
{
	INIT();
	px_exit_release();
	px_real._exit(status);
}

API void _Exit(int status)
{
	INIT();
	_exit(status);
}

API int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	INIT();
	return px_sigaction(sig, act, old);
}

API sighandler_t signal(int sig, sighandler_t h)
{
	INIT();
	struct sigaction a = { .sa_handler = h, .sa_flags = SA_RESTART }, old;

	/* glibc's signal() has BSD semantics: SA_RESTART, the signal blocked
	 * while its handler runs */
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, sig);
	if (sigaction(sig, &a, &old))
		return SIG_ERR;
	return old.sa_handler;
}

/* ---- stdio on engine fds ----------------------------------------------------------- */
/* glibc's FILE functions call the kernel from inside the C library, past
 * the interposed names: an engine fd gets a FILE whose I/O comes back here. */

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	return read((int)(intptr_t)c, buf, n);
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write((int)(intptr_t)c, buf + done, n - done);

		if (r < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

static int cookie_close(void *c)
{
	return close((int)(intptr_t)c);
}

API FILE *fdopen(int fd, const char *mode)
{
	INIT();
	static FILE *(*real)(int, const char *);
	cookie_io_functions_t io = { cookie_read, cookie_write, NULL, cookie_close };

	if (px_sock_of(fd) >= 0)
		return fopencookie((void *)(intptr_t)fd, mode, io);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "fdopen");
	return real(fd, mode);
}

API int vdprintf(int fd, const char *fmt, va_list ap)
{
	INIT();
	static int (*real)(int, const char *, va_list);
	char *s;
	int n;

	if (px_sock_of(fd) < 0) {
		if (!real)
			*(void **)&real = dlsym(RTLD_NEXT, "vdprintf");
		return real(fd, fmt, ap);
	}
	n = vasprintf(&s, fmt, ap);
	if (n < 0)
		return n;
	n = cookie_write((void *)(intptr_t)fd, s, (size_t)n) < 0 ? -1 : n;
	free(s);
	return n;
}

API int dprintf(int fd, const char *fmt, ...)
{
	INIT();
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}
