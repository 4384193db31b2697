/* appif_client.c - the client half of the context handshake: connect to the daemon, hello, welcome with three fds, map the context. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/libflextoe/appif_client.h"

static int recv_welcome(int fd, int cloexec, struct appif_welcome *w, int fds[3])
{
	char cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = { w, sizeof(*w) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n;

	do
		n = recvmsg(fd, &mh, cloexec ? MSG_CMSG_CLOEXEC : 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != sizeof(*w))
		return -EPROTO;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(3 * sizeof(int))) {
			memcpy(fds, CMSG_DATA(cm), 3 * sizeof(int));
			return w->status;
		}
	return w->status ? w->status : -EPROTO;
}

int appif_client_open(const char *dir, uint32_t max_socks, uint32_t buf_size, int cloexec,
		      struct appif_client *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct appif_hello h = { APPIF_MAGIC, APPIF_VERSION, max_socks, buf_size };
	struct appif_welcome w;
	const struct appif_shm_hdr *hdr;
	int fds[3] = { -1, -1, -1 }, err, n;

	memset(c, 0, sizeof(*c));
	c->fd = c->efd_in = c->efd_out = -1;
	err = appif_layout(max_socks, buf_size, &c->l);
	if (err)
		return err;
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, APPIF_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | (cloexec ? SOCK_CLOEXEC : 0), 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(c->fd, &h, sizeof(h), MSG_NOSIGNAL) != sizeof(h)) {
		err = -errno;
		goto fail;
	}
	err = recv_welcome(c->fd, cloexec, &w, fds);
	c->efd_in = fds[1];
	c->efd_out = fds[2];
	if (err)
		goto fail;
	if (w.shm_size != c->l.size || w.cmd_entries != c->l.cmd_entries ||
	    w.ev_entries != c->l.ev_entries) {
		err = -EPROTO;
		goto fail;
	}
	c->shm = mmap(NULL, c->l.size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	fds[0] = -1;
	if (c->shm == MAP_FAILED) {
		c->shm = NULL;
		err = -errno;
		goto fail;
	}
	hdr = (const struct appif_shm_hdr *)c->shm;
	if (hdr->magic != APPIF_MAGIC || hdr->max_socks != max_socks) {
		err = -EPROTO;
		goto fail;
	}
	return 0;
fail:
	if (fds[0] >= 0)
		close(fds[0]);
	appif_client_close(c);
	return err;
}

void appif_client_close(struct appif_client *c)
{
	if (c->shm)
		munmap(c->shm, c->l.size);
	if (c->fd >= 0)
		close(c->fd);
	if (c->efd_in >= 0)
		close(c->efd_in);
	if (c->efd_out >= 0)
		close(c->efd_out);
	c->shm = NULL;
	c->fd = c->efd_in = c->efd_out = -1;
}

int appif_ring_put(uint8_t *shm, size_t ring_off, size_t ent_off, uint32_t entries, size_t esz,
		   uint32_t *pos, const void *e)
{
	struct appif_ring *r = (struct appif_ring *)(shm + ring_off);

	if (*pos - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >= entries)
		return -EAGAIN;
	memcpy(shm + ent_off + (size_t)(*pos & (entries - 1)) * esz, e, esz);
	__atomic_store_n(&r->head, ++*pos, __ATOMIC_RELEASE);
	return 0;
}

int appif_ring_take(uint8_t *shm, size_t ring_off, size_t ent_off, uint32_t entries, size_t esz,
		    uint32_t *pos, void *e)
{
	struct appif_ring *r = (struct appif_ring *)(shm + ring_off);

	if (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == *pos)
		return 0;
	/* copy first: the other side may reuse the entry once tail moves */
	memcpy(e, shm + ent_off + (size_t)(*pos & (entries - 1)) * esz, esz);
	__atomic_store_n(&r->tail, ++*pos, __ATOMIC_RELEASE);
	return 1;
}

bool appif_doorbell_needed(uint8_t *shm, const struct appif_layout *l)
{
	struct appif_ring *r = (struct appif_ring *)(shm + l->cmd_ring);
	uint32_t idle = 0;

	/* Orders the caller's head store before the load of the flag, as
	 * the engine orders its clearing of the flag before its last look
	 * at head: one of the two sees the other's store. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->polling, __ATOMIC_RELAXED))
		return false;
	/* fails when the engine just woke up (1): it looks at head anyway */
	return __atomic_compare_exchange_n(&r->polling, &idle, APPIF_POLLING_RUNG, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}
