/* xsk.c - one AF_XDP socket per queue: umem, fill/completion rings, rx and tx. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/hooks.h"
#include "core/md_snapshot.h"
#include "core/x86/x86.h"
#include "core/x86/xsk.h"
#include "lib/util/log.h"

/*
 * Each queue has its own umem (no sharing between queues, so no locks
 * between workers): frames [0, XQ_RX_FRAMES) circulate through the fill
 * and rx rings, frames [XQ_RX_FRAMES, +XQ_TX_FRAMES) through a free list
 * and the tx and completion rings.  Since the rx frames only ever live in
 * those two rings or with the thread that received them (until xq_fill),
 * and the fill ring is as large as their number, returning a received
 * frame to the fill ring always finds space.
 */

int xq_create(struct xsk_queue *q, const char *ifname, unsigned int id, struct ftoe_hooks *hooks)
{
	struct xsk_umem_config ucfg = {
		.fill_size = XQ_RING_SIZE,
		.comp_size = XQ_RING_SIZE,
		.frame_size = XQ_FRAME_SIZE,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config scfg = {
		.rx_size = XQ_RING_SIZE,
		.tx_size = XQ_RING_SIZE,
		/* We attach our own program and fill our own XSKMAP: libxdp's
		 * dispatcher cannot load on this kernel. */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.xdp_flags = 0,
		.bind_flags = XDP_USE_NEED_WAKEUP,
	};
	uint32_t idx;
	int err;

	memset(q, 0, sizeof(*q));
	q->id = id;
	q->fd = -1;
	q->hooks = hooks;
	pthread_mutex_init(&q->tx_lock, NULL);
	q->area_size = (size_t)(XQ_RX_FRAMES + XQ_TX_FRAMES) * XQ_FRAME_SIZE;
	q->area = mmap(NULL, q->area_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (q->area == MAP_FAILED) {
		err = -errno;
		q->area = NULL;
		pr_err("queue %u: cannot allocate %zu bytes of umem: %s", id, q->area_size,
		       strerror(-err));
		return err;
	}
	err = xsk_umem__create(&q->umem, q->area, q->area_size, &q->fill, &q->comp, &ucfg);
	if (err) {
		pr_err("queue %u: cannot register the umem: %s", id, strerror(-err));
		goto fail;
	}
	/* A predecessor's socket on this queue is released by the kernel
	 * asynchronously (the buffer pool is cleared from deferred work), so
	 * a restart right after an exit may briefly see EBUSY: retry for 1 s. */
	for (int tries = 0;; tries++) {
		err = xsk_socket__create(&q->xsk, ifname, id, q->umem, &q->rx, &q->tx, &scfg);
		if (err != -EBUSY || tries == 20)
			break;
		usleep(50000);
	}
	if (err) {
		pr_err("%s: cannot create an AF_XDP socket on queue %u: %s%s", ifname, id,
		       strerror(-err), err == -EBUSY ?
		       " (another AF_XDP socket is bound to that queue)" : "");
		goto fail;
	}
	q->fd = xsk_socket__fd(q->xsk);

	if (xsk_ring_prod__reserve(&q->fill, XQ_RX_FRAMES, &idx) != XQ_RX_FRAMES) {
		pr_err("queue %u: the fill ring is smaller than expected", id);
		err = -ENOSPC;
		goto fail;
	}
	for (unsigned int i = 0; i < XQ_RX_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = (uint64_t)i * XQ_FRAME_SIZE;
	xsk_ring_prod__submit(&q->fill, XQ_RX_FRAMES);
	for (unsigned int i = 0; i < XQ_TX_FRAMES; i++)
		q->tx_free[i] = (uint64_t)(XQ_RX_FRAMES + i) * XQ_FRAME_SIZE;
	q->nr_tx_free = XQ_TX_FRAMES;
	return 0;

fail:
	xq_destroy(q);
	return err;
}

void xq_destroy(struct xsk_queue *q)
{
	if (q->xsk)
		xsk_socket__delete(q->xsk);
	if (q->umem)
		xsk_umem__delete(q->umem);
	if (q->area)
		munmap(q->area, q->area_size);
	q->xsk = NULL;
	q->umem = NULL;
	q->area = NULL;
	q->fd = -1;
	pthread_mutex_destroy(&q->tx_lock);
}

/* Completed tx frames back to the free list.  Under tx_lock. */
static void reap(struct xsk_queue *q)
{
	uint32_t idx;
	unsigned int n = xsk_ring_cons__peek(&q->comp, XQ_RING_SIZE, &idx);

	for (unsigned int i = 0; i < n; i++)
		q->tx_free[q->nr_tx_free++] = *xsk_ring_cons__comp_addr(&q->comp, idx + i);
	if (n)
		xsk_ring_cons__release(&q->comp, n);
}

/* In copy mode (veth, generic XDP) the kernel transmits inside sendto();
 * with need_wakeup it only asks for the call when the ring needs it.
 * Under tx_lock. */
static void kick(struct xsk_queue *q)
{
	q->tx_unkicked = 0;
	if (!xsk_ring_prod__needs_wakeup(&q->tx))
		return;
	q->st.kicks++;
	if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
	    errno != EAGAIN && errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN)
		pr_debug("queue %u: tx kick: %s", q->id, strerror(errno));
}

/* tx-post (docs/design.md section 4: egress, headers built, before the NIC):
 * every frame the engine sends - TCP segments, ARP and ICMP replies.
 * md: the engine's snapshot of a segment's flow, NULL for frames of no
 * flow (ARP, ICMP, a RST to an unknown flow), which get a bare one.
 * On return frame and len may point at the hook's execution buffer. */
static bool tx_post(struct xsk_queue *q, const void **frame, size_t *len,
		    const struct flextoe_md *md)
{
	struct ftoe_hook_frame hf = { .data = (uint8_t *)(uintptr_t)*frame, .len = (uint32_t)*len };

	if (*len > XQ_FRAME_SIZE)
		return true;	/* xq_xmit_raw refuses it */
	if (md) {
		hf.md = *md;
		hf.md.tstamp_ns = x86_now_ns();	/* now, not the engine's batch time */
	} else {
		xq_md_init(&hf.md, FLEXTOE_HOOK_TX_POST, FLEXTOE_DIR_TX);
		ftoe_md_frame_addrs(&hf.md, hf.data, hf.len);
	}
	if (ftoe_hooks_run(q->hooks, FLEXTOE_HOOK_TX_POST, &hf) != FTOE_XDP_PASS) {
		pthread_mutex_lock(&q->tx_lock);
		q->st.tx_hook_drop++;
		pthread_mutex_unlock(&q->tx_lock);
		return false;
	}
	*frame = hf.data;
	*len = hf.len;
	return true;
}

int xq_xmit(struct xsk_queue *q, const void *frame, size_t len)
{
	return xq_xmit_md(q, frame, len, NULL);
}

int xq_xmit_md(struct xsk_queue *q, const void *frame, size_t len,
	       const struct flextoe_md *md)
{
	if (ftoe_hooks_active(q->hooks, FLEXTOE_HOOK_TX_POST) && !tx_post(q, &frame, &len, md))
		return 0;
	return xq_xmit_raw(q, frame, len);
}

int xq_xmit_raw(struct xsk_queue *q, const void *frame, size_t len)
{
	struct xdp_desc *d;
	uint32_t idx;
	uint64_t addr;

	pthread_mutex_lock(&q->tx_lock);
	if (len > XQ_FRAME_SIZE) {
		q->st.tx_too_big++;
		pthread_mutex_unlock(&q->tx_lock);
		return -EMSGSIZE;
	}
	if (!q->nr_tx_free) {
		reap(q);
		if (!q->nr_tx_free) {
			/* Everything is in flight: push it, then look again. */
			kick(q);
			reap(q);
		}
	}
	if (!q->nr_tx_free || xsk_ring_prod__reserve(&q->tx, 1, &idx) != 1) {
		q->st.tx_full++;
		pthread_mutex_unlock(&q->tx_lock);
		return -ENOBUFS;
	}
	addr = q->tx_free[--q->nr_tx_free];
	memcpy(xsk_umem__get_data(q->area, addr), frame, len);
	d = xsk_ring_prod__tx_desc(&q->tx, idx);
	d->addr = addr;
	d->len = (uint32_t)len;
	d->options = 0;
	xsk_ring_prod__submit(&q->tx, 1);
	q->st.tx_frames++;
	/* The owning worker kicks once per loop; anyone else (or a long
	 * burst) kicks now so frames never wait for the next wakeup. */
	if (++q->tx_unkicked >= XQ_KICK_BATCH || !q->has_owner ||
	    !pthread_equal(q->owner, pthread_self()))
		kick(q);
	pthread_mutex_unlock(&q->tx_lock);
	return 0;
}

void xq_flush(struct xsk_queue *q)
{
	pthread_mutex_lock(&q->tx_lock);
	if (q->tx_unkicked)
		kick(q);
	if (q->nr_tx_free < XQ_TX_FRAMES)
		reap(q);
	pthread_mutex_unlock(&q->tx_lock);
}

unsigned int xq_rx_peek(struct xsk_queue *q, unsigned int max, uint32_t *idx)
{
	return xsk_ring_cons__peek(&q->rx, max, idx);
}

const struct xdp_desc *xq_rx_desc(struct xsk_queue *q, uint32_t idx)
{
	return xsk_ring_cons__rx_desc(&q->rx, idx);
}

void xq_rx_release(struct xsk_queue *q, unsigned int n)
{
	xsk_ring_cons__release(&q->rx, n);
}

void xq_fill(struct xsk_queue *q, const uint64_t *addrs, unsigned int n)
{
	uint32_t idx;

	if (!n)
		return;
	/* Cannot fail: see the comment at the top. */
	if (xsk_ring_prod__reserve(&q->fill, n, &idx) != n) {
		pr_err("queue %u: fill ring full (frame accounting bug); frames lost", q->id);
		return;
	}
	for (unsigned int i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = addrs[i];
	xsk_ring_prod__submit(&q->fill, n);
}

void xq_rx_kick(struct xsk_queue *q)
{
	if (xsk_ring_prod__needs_wakeup(&q->fill))
		recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

void xq_set_owner(struct xsk_queue *q)
{
	pthread_mutex_lock(&q->tx_lock);
	q->owner = pthread_self();
	q->has_owner = true;
	pthread_mutex_unlock(&q->tx_lock);
}

void xq_md_init(struct flextoe_md *md, enum flextoe_hook hook, uint8_t dir)
{
	memset(md, 0, sizeof(*md));
	md->size = sizeof(*md);
	md->version = FLEXTOE_MD_VERSION;
	md->hook = (uint8_t)hook;
	md->dir = dir;
	md->tstamp_ns = x86_now_ns();
}

void xq_log_kernel_stats(struct xsk_queue *q)
{
	struct xdp_statistics st;
	socklen_t len = sizeof(st);

	if (q->fd < 0)
		return;
	if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, &st, &len)) {
		pr_debug("queue %u: XDP_STATISTICS: %s", q->id, strerror(errno));
		return;
	}
	pr_info("queue %u: kernel: rx dropped %llu (rx ring full %llu, fill ring empty %llu), "
		"invalid rx %llu tx %llu", q->id, (unsigned long long)st.rx_dropped,
		(unsigned long long)st.rx_ring_full,
		(unsigned long long)st.rx_fill_ring_empty_descs,
		(unsigned long long)st.rx_invalid_descs, (unsigned long long)st.tx_invalid_descs);
}
