/* xsk.h - one AF_XDP socket per queue (xsk.c): umem, fill/completion rings, rx and tx. */
#ifndef FTOE_X86_XSK_H
#define FTOE_X86_XSK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <xdp/xsk.h>

#include "flextoe/bpf.h"

struct ftoe_hooks;

#define XQ_FRAME_SIZE  XSK_UMEM__DEFAULT_FRAME_SIZE  /* 4096 */
#define XQ_RX_FRAMES   4096   /* owned by fill + rx rings */
#define XQ_TX_FRAMES   1024   /* owned by the tx free list + tx/comp rings */
#define XQ_RING_SIZE   4096
#define XQ_BATCH       64
#define XQ_KICK_BATCH  32     /* tx descriptors before a forced sendto */

struct xq_stats {
	uint64_t rx_frames, rx_arp, rx_icmp, rx_tcp, rx_other, rx_runt;
	uint64_t rx_bursts;	/* rx ring reads that found frames: rx_frames / rx_bursts is the batch */
	uint64_t tx_frames, tx_full, tx_too_big, kicks;
	/* rx-pre verdicts acted on (owner only) and tx-post drops (tx_lock);
	 * of the redirects, the copies a devmap sent out (redirect_tx) and
	 * the frames a cpumap handed to the engine's path (redirect_cpu) */
	uint64_t rx_hook_drop, rx_hook_tx, rx_hook_redirect, rx_hook_too_big, tx_hook_drop;
	uint64_t rx_hook_redirect_tx, rx_hook_redirect_cpu;
	/* redirects to the interface dropped: longer than its MTU allows */
	uint64_t rx_hook_redirect_too_big;
};

struct xsk_queue {
	unsigned int id;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	void *area;
	size_t area_size;
	int fd;
	struct ftoe_hooks *hooks;  /* tx-post runs in xq_xmit (rx-pre: loop.c) */

	pthread_mutex_t tx_lock;   /* tx ring, comp ring, free list */
	uint64_t tx_free[XQ_TX_FRAMES];
	unsigned int nr_tx_free;
	unsigned int tx_unkicked;
	pthread_t owner;           /* the thread that kicks this queue's tx */
	bool has_owner;

	struct xq_stats st;        /* rx_*: the receiving thread only; tx_*: under tx_lock */
};

int xq_create(struct xsk_queue *q, const char *ifname, unsigned int id, struct ftoe_hooks *hooks);
void xq_destroy(struct xsk_queue *q);
/* The calling thread batches q's tx kicks (xq_flush once per loop). */
void xq_set_owner(struct xsk_queue *q);

/* Copy one frame into a tx frame and queue it: 0, -ENOBUFS, -EMSGSIZE.
 * The tx-post hook runs first: a frame it drops is gone and reported as
 * sent (0), as a NIC-side drop would be. */
int xq_xmit(struct xsk_queue *q, const void *frame, size_t len);
/* As xq_xmit, the tx-post hook seeing md (the engine's snapshot of the
 * segment's flow) instead of a bare one; md NULL: exactly xq_xmit. */
int xq_xmit_md(struct xsk_queue *q, const void *frame, size_t len,
	       const struct flextoe_md *md);
/* The same without the tx-post hook (XDP_TX of an rx-pre program: the
 * kernel's XDP_TX does not pass egress hooks either). */
int xq_xmit_raw(struct xsk_queue *q, const void *frame, size_t len);
/* Push queued tx descriptors to the kernel and reap completions. */
void xq_flush(struct xsk_queue *q);

/* Receive: up to max descriptors from the rx ring (*idx for xq_rx_desc),
 * then xq_rx_release them.  The frames stay the receiver's until xq_fill
 * gives them back (their base addresses) - never lost, since the fill
 * ring holds every rx frame. */
unsigned int xq_rx_peek(struct xsk_queue *q, unsigned int max, uint32_t *idx);
const struct xdp_desc *xq_rx_desc(struct xsk_queue *q, uint32_t idx);
void xq_rx_release(struct xsk_queue *q, unsigned int n);
void xq_fill(struct xsk_queue *q, const uint64_t *addrs, unsigned int n);
/* The base of the umem frame that holds desc addr (aligned mode). */
static inline uint64_t xq_frame_base(uint64_t addr)
{
	return addr & ~(uint64_t)(XQ_FRAME_SIZE - 1);
}
/* Busy polling: wake the driver if the fill ring asks for it. */
void xq_rx_kick(struct xsk_queue *q);

/* rx-pre/tx-post metadata for a frame at the backend (no flow). */
/* The kernel's counters of q's socket (XDP_STATISTICS) to the log: the
 * frames it dropped because the rx ring was full or the fill ring empty. */
void xq_log_kernel_stats(struct xsk_queue *q);
void xq_md_init(struct flextoe_md *md, enum flextoe_hook hook, uint8_t dir);

#endif
