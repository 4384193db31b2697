/* internal.h - libflextoe-posix: the per-process fd table, the context state shared by forked processes, and the calls between the library's files. */
#ifndef FTOE_POSIX_INTERNAL_H
#define FTOE_POSIX_INTERNAL_H

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <flextoe/appif.h>
#include "lib/libflextoe/appif_client.h"

#pragma GCC visibility push(hidden)

/* ---- the real functions (real.c): what the interposed names hide -------- */
struct px_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*shutdown)(int, int);
	int (*close)(int);
	int (*close_range)(unsigned int, unsigned int, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned int, int, struct timespec *);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned int, int);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_pwait2)(int, struct epoll_event *, int, const struct timespec *,
			    const sigset_t *);
	int (*epoll_pwait)(int, struct epoll_event *, int, int, const sigset_t *);
	pid_t (*fork)(void);
	int (*execve)(const char *, char *const[], char *const[]);
	int (*execveat)(int, const char *, char *const[], char *const[], int);
	int (*fexecve)(int, char *const[], char *const[]);
	void (*_exit)(int) __attribute__((noreturn));
	int (*sigaction)(int, const struct sigaction *, struct sigaction *);
};
extern struct px_real px_real;
void px_real_init(void);

/* ---- the context (ctx.c) -------------------------------------------------- */

/* Kinds of an engine socket's shared entry. */
enum { PK_FREE = 0, PK_LISTEN, PK_CONN, PK_PREACC /* engine accepted, the app not yet */ };

/* Socket options an engine socket keeps, as Linux reports them (opts.c
 * has the table). */
#define PX_NOPTS 23
struct px_opts {
	uint8_t val[PX_NOPTS][16];	/* by table index */
	uint8_t len[PX_NOPTS];
};

/* One engine socket, shared by every process of the context (fork), indexed
 * by the engine's slot index.  Guarded by px_shared.lock. */
struct px_sock {
	uint32_t handle;		/* the engine's, with generation */
	uint8_t kind;			/* PK_* */
	uint8_t nonblock;		/* O_NONBLOCK of the open file description */
	uint8_t shut_rd, shut_wr;
	uint8_t connecting;		/* connect() in progress */
	uint8_t sig_pending;		/* an event no process here could signal yet */
	uint8_t want_out;		/* a waiter waits for send space */
	uint8_t any_bound;		/* listener bound to 0.0.0.0: kfd serves loopback */
	uint8_t err_taken;		/* the connection's error was reported once */
	uint8_t bound_engine;		/* bind() gave it the engine's address and port (1),
					 * or its listener did (2, accepted) */
	uint8_t disconnecting;		/* shutdown() of a failed connect: SS_DISCONNECTING */
	uint8_t fin_first;		/* our FIN went before the peer's: close leads to TIME_WAIT */
	uint8_t v6;			/* the application's socket is AF_INET6: its names are
					 * sockaddr_in6, IPv4 peers as ::ffff:a.b.c.d */
	uint8_t v6only;			/* AF_INET6 listener with IPV6_V6ONLY */
	uint8_t port_locked;		/* bind() to 0.0.0.0 asked for this port
					 * (SOCK_BINDPORT_LOCK: a failed connect keeps it) */
	uint32_t refs;			/* fds referring to it, in all processes */
	uint32_t ev_seq;		/* bumped by every engine event (edge triggers) */
	uint32_t nwait;			/* threads blocked on it */
	uint32_t npoll;			/* poll/select calls sleeping on it */
	int32_t so_error;		/* pending SO_ERROR (-errno), 0 */
	int32_t kfd;			/* listener on 0.0.0.0: the kernel listener's fd, -1 */
	uint32_t local_ip, peer_ip;	/* network order */
	uint16_t local_port, peer_port;	/* network order */
	int32_t aq_head, aq_tail, aq_next; /* accept queue (engine slot indices), -1 ends */
	uint32_t aq_len, backlog;
	int32_t listener;		/* PK_PREACC: its listener's index */
	struct px_opts opts;
};

/* A blocking command's answer, matched by req. */
struct px_result {
	uint64_t req;
	int32_t res, pid, fd;		/* fd: the waiter's eventfd in process pid */
	uint8_t used, done, kind;	/* kind: PK_* the result installs */
};

#define PX_NRESULTS 64
/* Ports that connections of the family closed first hold in the engine's
 * TIME_WAIT (2 MSL, the engine's default 60 s, as Linux): bind() refuses
 * them as Linux does (inet_bind_conflict with a timewait socket).  The
 * engine has no call to ask, so the library keeps its own record; when
 * it is full the oldest entry goes. */
#define PX_TW 256
#define PX_TIME_WAIT_NS 60000000000ll
struct px_tw {
	int64_t until_ns;		/* 0: free */
	uint16_t port;			/* network order */
	uint8_t reuseaddr, reuseport;	/* the closed socket's SO_REUSEADDR, SO_REUSEPORT */
};
/* Processes of the family, for their references (a process that died
 * without closing its fds - SIGKILL, a crash - gives them back when the
 * reaper finds it gone). */
#define PX_PROCS 256
struct px_proc {
	int32_t pid;			/* 0: being forked */
	uint8_t used;
	uint64_t start;			/* /proc/PID/stat starttime: a reused pid is another process */
};

struct px_shared {
	pthread_mutex_t lock;		/* process-shared, robust */
	uint32_t dead;			/* the engine is gone */
	uint32_t cmd_head, ev_tail;	/* our ends of the two rings */
	uint64_t req_seq;
	uint32_t npending;		/* px_sock.sig_pending set */
	struct px_result res[PX_NRESULTS];
	struct px_proc procs[PX_PROCS];
	int64_t reap_ns;		/* when the reaper looks next */
	struct px_tw tw[PX_TW];
	/* Wake groups (appif.h) of the family's epolls: how many processes
	 * hold each (fork copies an epoll); 0: free. */
	uint32_t grp_refs[APPIF_WAKE_GROUPS];
	uint32_t thr_grps;		/* of them, threads' own (ctx.c px_sleep) */
	struct px_sock socks[];		/* max_socks, then uint16_t refs[PX_PROCS][max_socks] */
};

/* Per process: the context's fds and mappings. */
struct px_ctx {
	bool up;			/* a context is open */
	bool failed;			/* opening failed; FLEXTOE_FALLBACK=kernel */
	struct appif_client ac;
	struct px_shared *sh;
	size_t sh_size;
	uint32_t max_socks, buf_size;
	uint32_t ip, mask, gateway;	/* network order */
	uint8_t ip6[16];		/* the engine's IPv6 address (has_ip6) */
	uint32_t prefix6_len;
	bool has_ip6;
	uint32_t unpriv_port_start;	/* ports below need CAP_NET_BIND_SERVICE (0: none) */
	char cc_name[16];		/* the engine's congestion control (TCP_CONGESTION) */
	int32_t *sfd;			/* per socket: an fd of this process for it, -1 */
	uint16_t *byproc;		/* refs[PX_PROCS][max_socks] in the shared region */
	int slot;			/* this process's entry in procs[] */
	pid_t pid;
};
extern struct px_ctx px;

/* Open the context if needed: 0, or -errno (no engine). */
int px_ctx_get(void);
/* Does the engine carry a connection between local and remote (network
 * order; local INADDR_ANY when unbound)? */
bool px_engine_route(uint32_t local, uint32_t remote);
void px_lock(void);
void px_unlock(void);
/* Under the lock: push a command (waits while the ring is full). */
int px_cmd(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r);
/* Under the lock: run a command that answers with RESULT; the waiter
 * sleeps on efd (its socket's eventfd).  Releases and retakes the lock.
 * Returns the result (a handle, or -errno).  kind: PK_* to install. */
int px_call(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r, uint8_t kind,
	    int efd);
/* The same with the command's _r2 (APPIF_OP_CONNECT6's address). */
int px_call_r2(uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1, uint16_t r, uint64_t r2,
	       uint8_t kind, int efd);
/* Under the lock: apply the engine's queued events. */
void px_pump(void);
/* Under the lock: wake whoever waits on socket s. */
void px_signal(uint32_t s);
/* Before a waiter on fd (-1: none) sleeps: the first time, drain fd and
 * the context's event fd and return true - the caller pumps and looks
 * again, as a wake-up drained here would be lost otherwise; the second
 * time return false: go to sleep.  Calls that find their data never
 * drain anything (no system call). */
bool px_drain_once(int fd, bool *drained);
/* Drain fd's eventfd counter. */
void px_efd_drain(int fd);
void px_efd_kick(int fd);
/* Sleep (without the lock) until one of fds is ready, the engine posts
 * events, the engine dies, a signal arrives, or timeout_ns passes (-1:
 * no limit).  Returns the number of fds ready, 0 on timeout/engine
 * event, -EINTR. */
int px_sleep(struct pollfd *fds, unsigned int n, int64_t timeout_ns, const sigset_t *mask);
/* Under the lock: wait until the engine has applied the commands queued
 * so far, h being a handle just closed (a listener's close: a SYN that
 * comes after close() returns is refused, as on Linux, not accepted and
 * then reset).  Releases and retakes the lock. */
void px_engine_sync(uint32_t h);
/* Under the lock: mark the engine dead and wake everyone. */
void px_set_dead(void);

static inline struct appif_sock *px_ssock(uint32_t s)
{
	return (struct appif_sock *)(px.ac.shm + px.ac.l.socks) + s;
}

static inline uint8_t *px_rxbuf(uint32_t s)
{
	return px.ac.shm + px.ac.l.bufs + (size_t)s * 2 * px.buf_size;
}

static inline uint8_t *px_txbuf(uint32_t s)
{
	return px_rxbuf(s) + px.buf_size;
}

#define LOAD_ACQ(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

/* ---- the per-process fd table (fdtab.c) -------------------------------- */
enum {
	FD_NONE = 0,		/* not ours: every call goes to the kernel */
	FD_CAND,		/* an AF_INET stream kernel socket not yet placed */
	FD_ENGINE,		/* an engine socket (an eventfd here) */
	FD_EPOLL,		/* an epoll instance (epoll.c keeps its engine fds) */
};
struct px_fd {
	uint8_t kind;
	uint8_t bound_engine;	/* FD_CAND bound to the engine's address */
	uint16_t bound_port;	/* FD_CAND: network order */
	uint8_t port_locked;	/* FD_CAND bound to 0.0.0.0 on a port it asked for */
	int32_t sock;		/* FD_ENGINE: socket index */
	uint8_t twin;		/* FD_CAND: a kernel socket put into an engine
				 * socket's end state (twin.c): connect asks it first */
	int32_t kerr;		/* FD_CAND: errno to report once (a reset connection
				 * that connect(AF_UNSPEC) turned back into this
				 * kernel socket: Linux's sk_err after tcp_disconnect) */
	uint8_t kshut;		/* FD_CAND: shutdown() bits (1 rd, 2 wr) the kernel
				 * socket recorded before it connected: Linux keeps
				 * sk_shutdown across connect (inet_shutdown sets it
				 * even when it answers ENOTCONN) */
	uint64_t kino;		/* FD_CAND: the kernel socket's inode: dup'ed fds
				 * share it, and with it the state above */
	struct px_ep *ep;	/* FD_EPOLL */
};
extern struct px_fd *px_fds;
extern unsigned int px_nfds;
extern unsigned int px_fd_hi;	/* above every engine fd this process had */

int px_fdtab_init(void);
/* fd is now one of ours (px_fd_hi bounds the table scans). */
static inline void px_fd_note(int fd)
{
	if (fd >= 0 && (unsigned int)fd >= px_fd_hi)
		__atomic_store_n(&px_fd_hi, (unsigned int)fd + 1, __ATOMIC_RELAXED);
}
static inline struct px_fd *px_fd(int fd)
{
	return fd >= 0 && (unsigned int)fd < px_nfds ? &px_fds[fd] : NULL;
}
/* The socket of an engine fd, or -1. */
static inline int px_sock_of(int fd)
{
	struct px_fd *f = px_fd(fd);

	return f && __atomic_load_n(&f->kind, __ATOMIC_ACQUIRE) == FD_ENGINE ? f->sock : -1;
}
/* The pending error of a kernel socket fd (px_fd.kerr) as -errno, taken
 * (SO_ERROR, send, recv) or only looked at (poll); 0 if none. */
static inline int px_kerr(int fd, bool take)
{
	struct px_fd *f = px_fd(fd);

	if (!f || __atomic_load_n(&f->kind, __ATOMIC_ACQUIRE) != FD_CAND ||
	    !__atomic_load_n(&f->kerr, __ATOMIC_ACQUIRE))
		return 0;
	return -(take ? __atomic_exchange_n(&f->kerr, 0, __ATOMIC_ACQ_REL) :
		 __atomic_load_n(&f->kerr, __ATOMIC_ACQUIRE));
}
/* Under the lock: fd now refers to socket s (one more reference). */
void px_fd_attach(int fd, uint32_t s);
/* Under the lock: fd no longer refers to its socket; the last reference
 * closes it.  Does not close fd itself. */
void px_fd_detach(int fd);
/* Forget whatever the table knows about fd (it was closed). */
void px_fd_forget(int fd);
/* fd (a new AF_INET stream kernel socket) becomes FD_CAND. */
void px_cand_init(int fd);
/* to, a dup of from, shares from's FD_CAND state. */
void px_cand_dup(int from, int to);
/* fd's FD_CAND state changed: its dups (same socket) get it too. */
void px_cand_sync(int fd);
/* The other fds of this process that share fd's socket (dups of an
 * FD_CAND kernel socket, or fds of the same engine socket), at most max;
 * returns how many. */
int px_fd_peers(int fd, int *out, int max);
#define PX_MAX_PEERS 64
/* Under the lock: d more references on socket s held by process slot;
 * the last one releases the socket. */
void px_ref(uint32_t s, int slot, int d);
/* Under the lock: give back the references of processes that are gone. */
void px_reap(void);
/* /proc/PID/stat: the process's start time, 0 if it is gone or a zombie. */
uint64_t px_proc_start(pid_t pid);
/* Under the lock: a process slot for a child about to be forked (-1: none). */
int px_proc_alloc(void);
/* Under the lock: release socket s (its last reference went away). */
void px_sock_release(uint32_t s);
/* Under the lock: the engine's slot s as a fresh socket of kind. */
struct px_sock *px_sock_install(uint32_t s, uint32_t handle, uint8_t kind);

/* ---- options (opts.c) --------------------------------------------------- */
/* The table index of (level, name), or -1. */
int px_opt_index(int level, int name);
/* Defaults for a new socket (what a fresh Linux TCP socket reports). */
void px_opts_default(struct px_opts *o);
/* Copy a kernel socket's option values (a socket being moved to the engine). */
void px_opts_from_kernel(int kfd, struct px_opts *o);
/* Set on a kernel socket the options o holds that differ from the defaults
 * (an engine socket turned back into a kernel socket: disconnect). */
void px_opts_to_kernel(int kfd, const struct px_opts *o);
int px_setsockopt(uint32_t s, int level, int name, const void *val, socklen_t len);
/* Under the lock (TCP_INFO asks the engine: fd is the socket's fd). */
int px_getsockopt(int fd, uint32_t s, int level, int name, void *val, socklen_t *len);
/* SO_RCVTIMEO / SO_SNDTIMEO / SO_LINGER of an option set. */
struct timeval px_opt_timeo(const struct px_opts *o, bool snd);
struct linger px_opt_linger(const struct px_opts *o);
/* Under the lock: does a connection of the family that we closed first
 * still hold port (network order) in TIME_WAIT, against a bind with the
 * options mine? */
bool px_tw_busy(uint16_t port, const struct px_opts *mine);
/* Is the SOL_SOCKET flag option name (SO_REUSEADDR, ...) on? */
bool px_opt_on(const struct px_opts *o, int name);

/* ---- readiness (poll.c, epoll.c) ------------------------------------------ */
/* Under the lock: a waiter wants socket s's next freed send space (it
 * found the ring full): the engine's space event then also signals the
 * epolls' wake groups.  Set before the caller looks at the space again. */
static inline void px_want_out(struct px_sock *ps, uint32_t s)
{
	ps->want_out = 1;
	__atomic_store_n(&px_ssock(s)->tx_wake, 1, __ATOMIC_SEQ_CST);
}
/* A wake group of the family (appif.h): its number, its eventfd in *gfd;
 * -1 when the engine has none, all are taken, FLEXTOE_EPOLL_WAKE=context,
 * or max_thread (0: no limit) threads' groups are in use already: the
 * caller then wakes on the context's event fd. */
int px_grp_open(int *gfd, uint32_t max_thread);
/* This process lets go of group k (thread: a thread's, px_grp_open with a
 * limit); the family's last holder drops it. */
void px_grp_put(int k, int gfd, bool thread);
/* This thread's wake group goes (the thread or the process ends, it execs). */
void px_thread_grp_release(void);
/* A forked child: the thread's group stays with the parent. */
void px_thread_grp_forget(void);
/* Under the lock: POLLIN/POLLOUT/... of socket s now. */
uint32_t px_sock_revents(uint32_t s);
void px_epoll_forget(int epfd);
void px_epoll_fd_closed(int fd);
/* Under the lock: the epolls of this process are copied into a child
 * (d 1), or the copy failed (d -1): their wake groups' references. */
void px_epoll_fork(int d);
/* This process's epolls let go of their wake groups: it exits or execs
 * (the epolls then wake on the context's event fd, should exec fail). */
void px_epoll_release_groups(void);
int px_epoll_create(int flags);
int px_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev);
int px_epoll_wait(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns,
		  const sigset_t *mask);
int px_poll(struct pollfd *fds, nfds_t n, int64_t timeout_ns, const sigset_t *mask);
int px_select(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t timeout_ns,
	      const sigset_t *mask);

/* ---- sockets (socket.c) --------------------------------------------------- */
int px_socket(int domain, int type, int proto);
int px_bind(int fd, const struct sockaddr *a, socklen_t len);
int px_listen(int fd, int backlog);
int px_accept4(int fd, struct sockaddr *a, socklen_t *len, int flags);
int px_connect(int fd, const struct sockaddr *a, socklen_t len);
int px_shutdown(int fd, int how);
int px_close(int fd);
int px_getname(int fd, struct sockaddr *a, socklen_t *len, bool peer);
/* Deadline (ns, CLOCK_MONOTONIC) of a call on s with option timeout tv, -1: none. */
int64_t px_deadline(const struct timeval *tv);
/* Deadline of a receive (snd false) or send call on socket s, from its
 * SO_RCVTIMEO / SO_SNDTIMEO; -1: none.  Lock held. */
int64_t px_sock_deadline(uint32_t s, bool snd);
int64_t px_now_ns(void);
/* Under the lock: the error socket s has to report (-errno) or 0; take:
 * report it now (Linux reports a connection's error once). */
int px_sock_err(uint32_t s, bool take);
/* Sleep (without the lock) until socket s's eventfd (fd), or kfd (-1:
 * none), is signalled: 0, -EINTR, -ETIMEDOUT.  restartable: a signal
 * whose handler has SA_RESTART makes it return 0 (the caller retries). */
int px_block(int fd, int kfd, int64_t deadline, bool restartable);

/* ---- twins (twin.c) -------------------------------------------------------- */
/* Let kernel socket k fail a connect to a closed loopback port, blocking
 * (as connect(2) returns ECONNREFUSED) or not (the error stays pending):
 * 0, or -errno if it could not. */
int px_twin_refused(int k, bool blocking);
/* Connect kernel socket k to a loopback listener.  TWIN_RESET: the peer
 * then resets it; TWIN_FINISHED: k sends its FIN, then the peer sends
 * unread (len bytes: what the engine socket held unread) and its FIN; both
 * return 0.  TWIN_OPEN: returns the peer's fd, which the caller closes
 * after its own step on k.  -errno if it could not. */
enum { TWIN_OPEN, TWIN_RESET, TWIN_FINISHED };
int px_twin_connected(int k, int how, const void *unread, size_t len);
/* Before a twin k connects anew: 0 if its state lets a new connection
 * start, else the -errno connect(2) gives in that state. */
int px_twin_connect_check(int k);

/* ---- data (data.c) ------------------------------------------------------- */
ssize_t px_recv(int fd, uint32_t s, const struct iovec *iov, int iovcnt, int flags);
ssize_t px_send(int fd, uint32_t s, const struct iovec *iov, int iovcnt, int flags);
ssize_t px_sendfile(int out, uint32_t s, int in, off_t *off, size_t count);

/* ---- signals (signals.c) -------------------------------------------------- */
/* After a wait returned EINTR: restart the call (SA_RESTART handler)? */
bool px_sig_restart(void);
void px_sig_clear(void);
int px_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* ---- fork, exec, exit (fork.c) ---------------------------------------------- */
pid_t px_fork(void);
/* Before exec: let go of the engine fds that close on exec; undo after a
 * failed exec. */
void px_exec_prepare(void);
void px_exec_failed(void);
/* The process ends: its fds' references go (as the kernel closes fds). */
void px_exit_release(void);

#pragma GCC visibility pop

/* errno-style return helper: r < 0 -> errno = -r, -1 */
static inline long px_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* In a data call on fd: fail with its pending error, if it has one. */
#define PX_KERR_RET(fd)                             \
	do {                                        \
		int kerr_ = px_kerr((fd), true);    \
		if (kerr_)                          \
			return px_ret(kerr_);       \
	} while (0)

#endif
