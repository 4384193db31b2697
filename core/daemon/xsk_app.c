/* xsk_app.c - the engine's raw-frame sockets (XSKMAP targets): opened by applications on their context's UNIX connection, filled by rx-pre redirects. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
#include "core/daemon/xsk_app.h"
#include "ebpf/ebpf.h"
#include "lib/util/log.h"

/*
 * Why a table behind a read-write lock: frames are delivered from the
 * receive threads (several with --workers), sockets come and go on the
 * engine's thread.  A delivery holds the read lock while it copies, so a
 * close, which takes the write lock to unlink the socket, never unmaps a
 * ring under a copy.  The socket's own mutex orders the producers (the
 * ring has one producer at a time, appif_xsk_put).
 *
 * An id is the table index + 1 plus XSKA_MAX times a generation, so an
 * XSKMAP slot left with a closed socket's id never reaches the socket
 * that reuses the index.
 */

#define XSKA_DEF_ENTRIES 256u
#define XSKA_DEF_FRAME   2048u

struct xska {
	uint32_t id, queue;
	uint32_t entries, frame_size;
	const void *owner;	/* the context's connection */
	void *shm;
	size_t shm_size;
	int efd;		/* engine -> application */
	pthread_mutex_t lock;	/* producers */
};

static struct {
	pthread_rwlock_t lock;
	struct xska *tab[XSKA_MAX];
	uint32_t gen;
} X = { .lock = PTHREAD_RWLOCK_INITIALIZER };

static struct xska *find_locked(uint32_t id)
{
	struct xska *s;

	if (!id)
		return NULL;
	s = X.tab[(id - 1) % XSKA_MAX];
	return s && s->id == id ? s : NULL;
}

int xska_check(void *ctx, uint32_t id)
{
	int ret;

	(void)ctx;
	pthread_rwlock_rdlock(&X.lock);
	ret = find_locked(id) ? 0 : -EBADF;
	pthread_rwlock_unlock(&X.lock);
	return ret;
}

int xska_deliver(uint32_t id, const void *frame, uint32_t len)
{
	struct xska *s;
	int ret, wake = 0;
	uint64_t one = 1;

	pthread_rwlock_rdlock(&X.lock);
	s = find_locked(id);
	if (!s) {
		pthread_rwlock_unlock(&X.lock);
		return -EBADF;
	}
	pthread_mutex_lock(&s->lock);
	ret = appif_xsk_put(s->shm, s->entries, s->frame_size, frame, len, &wake);
	pthread_mutex_unlock(&s->lock);
	/* Only when the application may sleep: once per drained ring. */
	if (wake && write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_debug("raw-frame socket %u: eventfd: %s", id, strerror(errno));
	pthread_rwlock_unlock(&X.lock);
	return ret;
}

static void xska_free(struct xska *s)
{
	if (s->shm)
		munmap(s->shm, s->shm_size);
	if (s->efd >= 0)
		close(s->efd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Unlink, take the id out of every XSKMAP, free. */
static void xska_close(struct daemon *d, struct xska *s)
{
	uint32_t id = s->id;
	int n;

	pthread_rwlock_wrlock(&X.lock);
	X.tab[(id - 1) % XSKA_MAX] = NULL;
	pthread_rwlock_unlock(&X.lock);
	n = d ? hx_xsk_forget(d, id) : 0;
	pr_debug("raw-frame socket %u closed (%d xskmap slot%s emptied)", id, n, n == 1 ? "" : "s");
	xska_free(s);
}

static int send_reply(int fd, const struct appif_xsk_reply *rep, const int *fds, int nfd)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { (void *)rep, sizeof(*rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (nfd) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfd * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN((size_t)nfd * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, (size_t)nfd * sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* A free index with the next generation's id, under the write lock. */
static int claim_slot(struct xska *s)
{
	for (uint32_t i = 0; i < XSKA_MAX; i++) {
		if (X.tab[i])
			continue;
		X.gen++;
		s->id = i + 1 + (X.gen % (UINT32_MAX / XSKA_MAX - 1)) * XSKA_MAX;
		X.tab[i] = s;
		return 0;
	}
	return -EMFILE;
}

static int xska_open(const void *owner, const struct appif_xsk_req *r, struct appif_xsk_reply *rep,
		     int *memfd, int *efd)
{
	uint32_t entries = r->entries ? r->entries : XSKA_DEF_ENTRIES;
	uint32_t frame_size = r->frame_size ? r->frame_size : XSKA_DEF_FRAME;
	struct appif_xsk_hdr *h;
	struct xska *s;
	int ret;

	if (appif_xsk_check_size(entries, frame_size))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->efd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->owner = owner;
	s->queue = r->queue;
	s->entries = entries;
	s->frame_size = frame_size;
	s->shm_size = appif_xsk_shm_size(entries, frame_size);
	*memfd = memfd_create("flextoe-xsk", MFD_CLOEXEC);
	if (*memfd < 0 || ftruncate(*memfd, (off_t)s->shm_size) < 0)
		goto sys_fail;
	s->shm = mmap(NULL, s->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
	if (s->shm == MAP_FAILED) {
		s->shm = NULL;
		goto sys_fail;
	}
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	*efd = dup(s->efd);
	if (s->efd < 0 || *efd < 0)
		goto sys_fail;
	h = s->shm;
	h->entries = entries;
	h->frame_size = frame_size;
	pthread_rwlock_wrlock(&X.lock);
	ret = claim_slot(s);
	pthread_rwlock_unlock(&X.lock);
	if (ret) {
		xska_free(s);
		return ret;
	}
	rep->id = s->id;
	rep->queue = s->queue;
	rep->entries = entries;
	rep->frame_size = frame_size;
	rep->shm_size = s->shm_size;
	return 0;
sys_fail:
	ret = -errno;
	xska_free(s);
	return ret;
}

/* A socket of owner's, by id (engine's thread: no other thread unlinks). */
static struct xska *owned(const void *owner, uint32_t id)
{
	struct xska *s = find_locked(id);

	return s && s->owner == owner ? s : NULL;
}

/* Put the socket into the XSKMAP of that name at rx-pre, key = its queue,
 * as libxdp's xsk_socket__update_xskmap does with the map's fd. */
static int xska_update_map(struct daemon *d, struct xska *s, const char *name)
{
	struct ebpf_map *map = hx_map_get(d, FLEXTOE_HOOK_RX_PRE, name);
	int ret;

	if (!map)
		return -ENOENT;
	if (ebpf_map_type(map) != BPF_MAP_TYPE_XSKMAP)
		ret = -EINVAL;
	else
		ret = ebpf_map_update_elem(map, &s->queue, &s->id, 0 /* BPF_ANY */);
	ebpf_map_put(map);
	return ret;
}

void xska_request(struct daemon *d, int fd, const void *owner, const struct appif_xsk_req *r)
{
	struct appif_xsk_reply rep = { .magic = APPIF_XSK_MAGIC };
	int fds[2] = { -1, -1 }, nfd = 0, err;
	struct xska *s;
	char name[APPIF_XSK_MAP_NAME];

	switch (r->op) {
	case APPIF_XSK_OPEN:
		rep.status = xska_open(owner, r, &rep, &fds[0], &fds[1]);
		if (!rep.status) {
			nfd = 2;
			pr_debug("raw-frame socket %u open for queue %u (%u x %u bytes)", rep.id,
				 rep.queue, rep.entries, rep.frame_size);
		}
		break;
	case APPIF_XSK_CLOSE:
		s = owned(owner, r->id);
		rep.id = r->id;
		rep.status = s ? 0 : -EBADF;
		if (s)
			xska_close(d, s);
		break;
	case APPIF_XSK_UPDATE_MAP:
		s = owned(owner, r->id);
		rep.id = r->id;
		memcpy(name, r->map, sizeof(name));
		name[sizeof(name) - 1] = 0;
		rep.status = !s ? -EBADF : xska_update_map(d, s, name);
		if (s)
			rep.queue = s->queue;
		break;
	default:
		rep.status = -EOPNOTSUPP;
	}
	err = send_reply(fd, &rep, fds, nfd);
	if (err)
		pr_debug("raw-frame socket reply: %s", strerror(-err));
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);	/* the application has its copies */
	if (err && r->op == APPIF_XSK_OPEN && !rep.status) {
		/* nobody got it: do not keep it for the context's life */
		pthread_rwlock_rdlock(&X.lock);
		s = find_locked(rep.id);
		pthread_rwlock_unlock(&X.lock);
		if (s)
			xska_close(d, s);
	}
}

void xska_close_owner(struct daemon *d, const void *owner)
{
	for (uint32_t i = 0; i < XSKA_MAX; i++) {
		struct xska *s = X.tab[i];	/* only this thread writes tab */

		if (s && s->owner == owner)
			xska_close(d, s);
	}
}

void xska_close_all(struct daemon *d)
{
	for (uint32_t i = 0; i < XSKA_MAX; i++)
		if (X.tab[i])
			xska_close(d, X.tab[i]);
}
