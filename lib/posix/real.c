/* real.c - the C library's own socket, I/O and process functions, found behind the interposed names with dlsym(RTLD_NEXT). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/posix/internal.h"

struct px_real px_real;

static void *next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		/* the library cannot work without the real call */
		fprintf(stderr, "libflextoe-posix: %s not found in the C library\n", name);
		abort();
	}
	return p;
}

/* close_range and epoll_pwait2 are newer than some C libraries: optional. */
static void *next_opt(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#define R(f) *(void **)&px_real.f = next(#f)
static void load(void)
{
	R(socket); R(bind); R(listen); R(accept4); R(connect); R(shutdown); R(close);
	*(void **)&px_real.close_range = next_opt("close_range");
	R(getsockname); R(getpeername); R(getsockopt); R(setsockopt);
	R(read); R(write); R(readv); R(writev); R(recvfrom); R(sendto); R(recvmsg);
	R(sendmsg); R(recvmmsg); R(sendmmsg); R(sendfile); R(fcntl); R(ioctl);
	R(dup); R(dup2); R(dup3); R(ppoll); R(epoll_create1); R(epoll_ctl);
	*(void **)&px_real.epoll_pwait2 = next_opt("epoll_pwait2");
	R(epoll_pwait); R(fork); R(execve); R(execveat); R(fexecve); R(_exit); R(sigaction);
}

void px_real_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, load);
}
