/* xsk.c - libflextoe raw-frame sockets: frames an rx-pre program redirected into an XSKMAP slot, read from a shared ring. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flextoe/appif_xsk.h"
#include "lib/libflextoe/internal.h"

/* How long a request waits for the engine's answer: the engine's thread
 * answers between two passes, so anything near this means it is stuck. */
#define XSK_REPLY_TIMEOUT_MS 5000

struct ftoe_xsk {
	struct ftoe_ctx *ctx;
	uint32_t id, queue, entries, frame_size;
	void *shm;
	size_t shm_size;
	int efd;		/* engine -> us: frames after an empty ring */
};

/* One request on the context's UNIX connection and its reply (the engine
 * sends nothing else there after the welcome).  fds: room for two passed
 * fds (OPEN), or NULL. */
static int xsk_call(struct ftoe_ctx *c, const struct appif_xsk_req *r,
		    struct appif_xsk_reply *rep, int fds[2])
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { rep, sizeof(*rep) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t n;
	int nfd = 0;

	if (c->dead)
		return -ECONNRESET;
	if (send(c->fd, r, sizeof(*r), MSG_NOSIGNAL) != (ssize_t)sizeof(*r))
		return -errno ? -errno : -EIO;
	for (;;) {
		int k = poll(&pfd, 1, XSK_REPLY_TIMEOUT_MS);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k ? -errno : -ETIMEDOUT;
		break;
	}
	n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		if (nfd > 2)
			nfd = 2;
		if (fds)
			memcpy(fds, CMSG_DATA(cm), (size_t)nfd * sizeof(int));
		else
			for (int i = 0; i < nfd; i++)
				close(((int *)CMSG_DATA(cm))[i]);
	}
	if (n != sizeof(*rep) || rep->magic != APPIF_XSK_MAGIC)
		return -EPROTO;
	if (!rep->status && fds && nfd != 2)
		return -EPROTO;
	return rep->status;
}

int ftoe_xsk_open(struct ftoe_ctx *c, const struct ftoe_xsk_opts *opts, struct ftoe_xsk **out)
{
	struct appif_xsk_req r = { .magic = APPIF_XSK_MAGIC, .op = APPIF_XSK_OPEN };
	struct appif_xsk_reply rep;
	int fds[2] = { -1, -1 }, err;
	struct ftoe_xsk *x;

	if (!c || !out)
		return -EINVAL;
	if (opts && opts->sz >= sizeof(*opts)) {
		r.queue = opts->queue;
		r.entries = opts->entries;
		r.frame_size = opts->frame_size;
	}
	if ((r.entries || r.frame_size) &&
	    appif_xsk_check_size(r.entries ? r.entries : 256, r.frame_size ? r.frame_size : 2048))
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->efd = -1;
	err = xsk_call(c, &r, &rep, fds);
	if (err)
		goto fail;
	x->ctx = c;
	x->id = rep.id;
	x->queue = rep.queue;
	x->entries = rep.entries;
	x->frame_size = rep.frame_size;
	x->shm_size = rep.shm_size;
	x->efd = fds[1];
	fds[1] = -1;
	if (appif_xsk_check_size(x->entries, x->frame_size) ||
	    x->shm_size != appif_xsk_shm_size(x->entries, x->frame_size)) {
		err = -EPROTO;
		goto fail;
	}
	x->shm = mmap(NULL, x->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (x->shm == MAP_FAILED) {
		x->shm = NULL;
		err = -errno;
		goto fail;
	}
	close(fds[0]);
	*out = x;
	return 0;
fail:
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (x->id) {
		/* the engine made it: do not leave it open */
		r = (struct appif_xsk_req){ .magic = APPIF_XSK_MAGIC, .op = APPIF_XSK_CLOSE,
					    .id = x->id };
		xsk_call(c, &r, &rep, NULL);
	}
	if (x->efd >= 0)
		close(x->efd);
	free(x);
	return err;
}

int ftoe_xsk_close(struct ftoe_xsk *x)
{
	struct appif_xsk_req r = { .magic = APPIF_XSK_MAGIC, .op = APPIF_XSK_CLOSE };
	struct appif_xsk_reply rep;
	int err;

	if (!x)
		return -EINVAL;
	r.id = x->id;
	err = xsk_call(x->ctx, &r, &rep, NULL);
	if (x->shm)
		munmap(x->shm, x->shm_size);
	if (x->efd >= 0)
		close(x->efd);
	free(x);
	return err == -ECONNRESET ? 0 : err;	/* the engine closed it with the context */
}

uint32_t ftoe_xsk_id(const struct ftoe_xsk *x)
{
	return x ? x->id : 0;
}

uint32_t ftoe_xsk_queue(const struct ftoe_xsk *x)
{
	return x ? x->queue : 0;
}

int ftoe_xsk_fd(const struct ftoe_xsk *x)
{
	return x ? x->efd : -EINVAL;
}

int ftoe_xsk_update_map(struct ftoe_xsk *x, const char *map_name)
{
	struct appif_xsk_req r = { .magic = APPIF_XSK_MAGIC, .op = APPIF_XSK_UPDATE_MAP };
	struct appif_xsk_reply rep;

	if (!x || !map_name || strlen(map_name) >= sizeof(r.map))
		return -EINVAL;
	r.id = x->id;
	memcpy(r.map, map_name, strlen(map_name) + 1);
	return xsk_call(x->ctx, &r, &rep, NULL);
}

ssize_t ftoe_xsk_peek(struct ftoe_xsk *x, const void **frame)
{
	uint32_t len;

	if (!x || !frame)
		return -EINVAL;
	if (!appif_xsk_peek(x->shm, frame, &len))
		return -EAGAIN;
	return len;
}

int ftoe_xsk_release(struct ftoe_xsk *x)
{
	const void *f;
	uint32_t len;

	if (!x)
		return -EINVAL;
	if (!appif_xsk_peek(x->shm, &f, &len))
		return -EAGAIN;
	appif_xsk_release(x->shm);
	return 0;
}

/* Sleep until a frame may be there: read the eventfd empty first, then
 * look at the ring once more (appif_xsk_consumer_idle), so a frame put
 * between our last look and the sleep is never slept through. */
int ftoe_xsk_wait(struct ftoe_xsk *x, int timeout_ms)
{
	struct pollfd pfd[2];
	uint64_t v;

	if (!x)
		return -EINVAL;
	if (read(x->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	if (!appif_xsk_consumer_idle(x->shm))
		return 0;
	pfd[0] = (struct pollfd){ .fd = x->efd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = x->ctx->fd, .events = POLLRDHUP };
	for (;;) {
		int k = poll(pfd, 2, timeout_ms);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (!k)
			return -EAGAIN;
		if (pfd[1].revents & (POLLHUP | POLLRDHUP | POLLERR))
			return -ECONNRESET;
		return 0;
	}
}

ssize_t ftoe_xsk_recv(struct ftoe_xsk *x, void *buf, size_t len, int timeout_ms)
{
	const void *f;
	ssize_t n;
	int err;

	if (!x || (!buf && len))
		return -EINVAL;
	while ((n = ftoe_xsk_peek(x, &f)) == -EAGAIN) {
		if (!timeout_ms)
			return -EAGAIN;
		err = ftoe_xsk_wait(x, timeout_ms);
		if (err)
			return err;
	}
	if (n < 0)
		return n;
	/* As recv on a packet socket: the frame is consumed, truncated to len. */
	memcpy(buf, f, (size_t)n < len ? (size_t)n : len);
	appif_xsk_release(x->shm);
	return n;
}

int ftoe_xsk_stats(const struct ftoe_xsk *x, struct ftoe_xsk_stats *st)
{
	const struct appif_xsk_hdr *h;

	if (!x || !st)
		return -EINVAL;
	h = x->shm;
	st->rx_frames = __atomic_load_n(&h->st.rx_frames, __ATOMIC_RELAXED);
	st->rx_dropped = __atomic_load_n(&h->st.rx_dropped, __ATOMIC_RELAXED);
	st->rx_too_big = __atomic_load_n(&h->st.rx_too_big, __ATOMIC_RELAXED);
	return 0;
}
