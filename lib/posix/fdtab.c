/* fdtab.c - the per-process fd table (which fds are engine sockets) and the shared sockets' references: dup, close and fork count them, the last one closes the connection. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "lib/posix/internal.h"

struct px_fd *px_fds;
unsigned int px_nfds;
unsigned int px_fd_hi;

/* One entry per possible fd, so lookups need no lock: the mapping is
 * reserved for the hard RLIMIT_NOFILE and only touched pages cost memory. */
int px_fdtab_init(void)
{
	struct rlimit rl;
	size_t n = 1u << 20;
	void *p;

	if (px_fds)
		return 0;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < n)
		n = rl.rlim_max;
	if (n < 1024)
		n = 1024;
	p = mmap(NULL, n * sizeof(struct px_fd), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	px_fds = p;
	px_nfds = (unsigned int)n;
	return 0;
}

struct px_sock *px_sock_install(uint32_t s, uint32_t handle, uint8_t kind)
{
	struct px_sock *ps = &px.sh->socks[s];

	if (ps->sig_pending)
		px.sh->npending--;
	memset(ps, 0, sizeof(*ps));
	ps->handle = handle;
	ps->kind = kind;
	ps->kfd = -1;
	ps->aq_head = ps->aq_tail = ps->aq_next = ps->listener = -1;
	px_opts_default(&ps->opts);
	for (int p = 0; p < PX_PROCS; p++)
		px.byproc[(size_t)p * px.max_socks + s] = 0;
	return ps;
}

void px_ref(uint32_t s, int slot, int d)
{
	struct px_sock *ps = &px.sh->socks[s];
	uint16_t *mine = &px.byproc[(size_t)slot * px.max_socks + s];

	if (d > 0) {
		ps->refs += (uint32_t)d;
		*mine += (uint16_t)d;
		return;
	}
	d = -d;
	*mine = *mine > d ? (uint16_t)(*mine - d) : 0;
	if (ps->refs <= (uint32_t)d) {
		ps->refs = 0;
		px_sock_release(s);
	} else {
		ps->refs -= (uint32_t)d;
	}
}

uint64_t px_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = px_real.read(fd, buf, sizeof(buf) - 1);
	px_real.close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) S ppid ..." - comm may hold spaces: start after ')' */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	/* starttime is field 22; p + 2 is field 3 */
	for (int f = 3; f < 22 && p; f++)
		p = strchr(p + 1 + (f == 3), ' ');
	if (!p || sscanf(p + 1, "%llu", &start) != 1)
		return 0;
	return start ? start : 1;
}

int px_proc_alloc(void)
{
	px_reap();
	for (int i = 0; i < PX_PROCS; i++)
		if (!px.sh->procs[i].used) {
			px.sh->procs[i] = (struct px_proc){ .pid = 0, .used = 1 };
			if (!px.sh->reap_ns)
				px.sh->reap_ns = 1;	/* a family now: the reaper runs */
			return i;
		}
	return -1;
}

void px_reap(void)
{
	for (int i = 0; i < PX_PROCS; i++) {
		struct px_proc *pr = &px.sh->procs[i];

		if (!pr->used || i == px.slot || pr->pid <= 0)
			continue;
		if (pr->start && px_proc_start(pr->pid) == pr->start)
			continue;	/* alive */
		for (uint32_t s = 0; s < px.max_socks; s++) {
			uint16_t n = px.byproc[(size_t)i * px.max_socks + s];

			if (n && px.sh->socks[s].kind != PK_FREE)
				px_ref(s, i, -(int)n);
			px.byproc[(size_t)i * px.max_socks + s] = 0;
		}
		pr->used = 0;
	}
}

void px_fd_attach(int fd, uint32_t s)
{
	struct px_fd *f = px_fd(fd);

	if (!f)
		return;
	f->sock = (int32_t)s;
	f->ep = NULL;
	px_fd_note(fd);
	__atomic_store_n(&f->kind, FD_ENGINE, __ATOMIC_RELEASE);
	px_ref(s, px.slot, 1);
	if (px.sfd[s] < 0 || px_sock_of(px.sfd[s]) != (int)s)
		px.sfd[s] = fd;
}

/* Does this process still hold socket s through an fd other than skip? */
static int other_local_fd(uint32_t s, int skip)
{
	for (unsigned int i = 0; i < px_fd_hi; i++)
		if ((int)i != skip && px_fds[i].kind == FD_ENGINE && px_fds[i].sock == (int32_t)s)
			return (int)i;
	return -1;
}

void px_fd_detach(int fd)
{
	struct px_fd *f = px_fd(fd);
	struct px_sock *ps;
	uint32_t s;

	if (!f || f->kind != FD_ENGINE)
		return;
	s = (uint32_t)f->sock;
	__atomic_store_n(&f->kind, FD_NONE, __ATOMIC_RELEASE);
	ps = &px.sh->socks[s];
	if (px.sfd[s] == fd)
		px.sfd[s] = other_local_fd(s, fd);
	/* The kernel listener's fd came with the engine fd (fork): this
	 * process lets go of it with its last fd of the listener. */
	if (px.sfd[s] < 0 && ps->kind == PK_LISTEN && ps->kfd >= 0)
		px_real.close(ps->kfd);
	if (ps->refs)
		px_ref(s, px.slot, -1);
}

void px_cand_init(int fd)
{
	struct px_fd *f = px_fd(fd);
	struct stat st;

	if (!f)
		return;
	px_fd_note(fd);
	f->bound_engine = 0;
	f->bound_port = 0;
	f->port_locked = 0;
	f->kerr = 0;
	f->kshut = 0;
	f->twin = 0;
	f->kino = fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
	__atomic_store_n(&f->kind, FD_CAND, __ATOMIC_RELEASE);
}

static void cand_copy(struct px_fd *to, const struct px_fd *from)
{
	to->bound_engine = from->bound_engine;
	to->bound_port = from->bound_port;
	to->port_locked = from->port_locked;
	to->kerr = from->kerr;
	to->kshut = from->kshut;
	to->twin = from->twin;
	to->kino = from->kino;
	__atomic_store_n(&to->kind, from->kind, __ATOMIC_RELEASE);
}

void px_cand_dup(int from, int to)
{
	struct px_fd *f = px_fd(from), *t = px_fd(to);

	if (!f || !t || f->kind != FD_CAND)
		return;
	px_fd_note(to);
	cand_copy(t, f);
}

int px_fd_peers(int fd, int *out, int max)
{
	struct px_fd *f = px_fd(fd);
	int n = 0;

	if (!f)
		return 0;
	for (unsigned int i = 0; i < px_fd_hi && n < max; i++) {
		struct px_fd *o = &px_fds[i];

		if ((int)i == fd || o->kind != f->kind)
			continue;
		if ((f->kind == FD_CAND && f->kino && o->kino == f->kino) ||
		    (f->kind == FD_ENGINE && o->sock == f->sock))
			out[n++] = (int)i;
	}
	return n;
}

void px_cand_sync(int fd)
{
	struct px_fd *f = px_fd(fd);

	if (!f || !f->kino)
		return;
	for (unsigned int i = 0; i < px_fd_hi; i++)
		if ((int)i != fd && px_fds[i].kind == FD_CAND && px_fds[i].kino == f->kino)
			cand_copy(&px_fds[i], f);
}

void px_fd_forget(int fd)
{
	struct px_fd *f = px_fd(fd);

	uint8_t kind;

	if (!f)
		return;
	kind = f->kind;
	if (kind == FD_EPOLL)
		px_epoll_forget(fd);
	__atomic_store_n(&f->kind, FD_NONE, __ATOMIC_RELEASE);
	f->bound_engine = 0;
	f->bound_port = 0;
	f->kerr = 0;
	f->kshut = 0;
	f->twin = 0;
	f->kino = 0;
	/* only engine fds are in our epoll lists (kernel sockets are the
	 * kernel epoll's own); callers that move dups hold the lock */
	if (px.up && kind == FD_ENGINE)
		px_epoll_fd_closed(fd);
}

/* A connection closed with our FIN first (the peer's not yet in, or ours
 * sent before it came) goes through FIN_WAIT to TIME_WAIT and holds its
 * port there (RFC 9293 3.6); a passive close (LAST_ACK) or a reset frees
 * it at once.  Lock held. */
static void tw_note(const struct px_sock *ps, uint32_t fl)
{
	struct px_tw *t = &px.sh->tw[0];
	int64_t now;

	if (px.sh->dead || !(fl & APPIF_SF_CONNECTED) || (fl & APPIF_SF_ERROR) ||
	    ((fl & APPIF_SF_EOF) && !ps->fin_first))
		return;
	now = px_now_ns();
	for (int i = 0; i < PX_TW; i++) {
		if (px.sh->tw[i].until_ns <= now) {
			t = &px.sh->tw[i];	/* free or expired */
			break;
		}
		if (px.sh->tw[i].until_ns < t->until_ns)
			t = &px.sh->tw[i];	/* else the oldest */
	}
	t->until_ns = now + PX_TIME_WAIT_NS;
	t->port = ps->local_port;
	t->reuseaddr = px_opt_on(&ps->opts, SO_REUSEADDR);
	t->reuseport = px_opt_on(&ps->opts, SO_REUSEPORT);
}

bool px_tw_busy(uint16_t port, const struct px_opts *mine)
{
	int64_t now = px_now_ns();

	for (int i = 0; i < PX_TW; i++) {
		const struct px_tw *t = &px.sh->tw[i];

		if (t->until_ns <= now || t->port != port)
			continue;
		/* inet_bind_conflict: both SO_REUSEPORT, or both SO_REUSEADDR
		 * (a timewait socket is never a listener), may share */
		if (!(t->reuseport && px_opt_on(mine, SO_REUSEPORT)) &&
		    !(t->reuseaddr && px_opt_on(mine, SO_REUSEADDR)))
			return true;
	}
	return false;
}

void px_sock_release(uint32_t s)
{
	struct px_sock *ps = &px.sh->socks[s];

	if (ps->kind == PK_LISTEN) {
		/* connections nobody accepted yet are refused (RST), as Linux
		 * does when a listener with a non-empty queue closes */
		for (int32_t q = ps->aq_head; q >= 0;) {
			int32_t next = px.sh->socks[q].aq_next;

			px_cmd(APPIF_OP_ABORT, px.sh->socks[q].handle, 0, 0, 0);
			px.sh->socks[q].kind = PK_FREE;
			q = next;
		}
		px_cmd(APPIF_OP_CLOSE, ps->handle, 0, 0, 0);
	} else if (ps->kind == PK_CONN) {
		/* SO_LINGER on with a zero timeout: reset (RFC 9293 3.10.4 ABORT) */
		struct linger lg = px_opt_linger(&ps->opts);
		bool abort = lg.l_onoff && !lg.l_linger;

		px_cmd(abort ? APPIF_OP_ABORT : APPIF_OP_CLOSE, ps->handle, 0, 0, 0);
		if (!abort)
			tw_note(ps, LOAD_ACQ(&px_ssock(s)->flags));
	}
	if (ps->sig_pending) {
		ps->sig_pending = 0;
		px.sh->npending--;
	}
	ps->kind = PK_FREE;
	ps->handle = 0;
}
