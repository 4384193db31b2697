/* backend.h - the x86 AF_XDP backend's internal structures, shared by its source files. */
#ifndef FTOE_X86_BACKEND_H
#define FTOE_X86_BACKEND_H

#include <linux/types.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <xdp/xsk.h>

#include "core/control/arp.h"
#include "core/control/icmp.h"
#include "core/engine.h"
#include "core/x86/steer_cfg.h"

/* Exit codes (documented in docs/engine.md). */
#define FTOE_EXIT_RUNTIME 1
#define FTOE_EXIT_USAGE   2

#define FTOE_DEFAULT_RUN_DIR "/run/flextoe"

/* ---- options (opts.c) ------------------------------------------------- */
struct x86_opts {
	const char *iface;
	uint32_t ip_be, prefix_len, gateway_be;
	unsigned int workers;      /* 0: one per queue */
	unsigned int queues;
	bool busy_poll;
	int cc;                    /* FTOE_CC_* */
	uint64_t const_rate_bps;
	uint32_t max_flows;
	const char *run_dir;
	int verbose;
	bool force;
};

/* 0, 1 when help was printed (exit 0), or -EINVAL after printing the
 * error (exit FTOE_EXIT_USAGE). */
int opts_parse(int argc, char **argv, struct x86_opts *o);

/* ---- the interface (netdev.c) ----------------------------------------- */
struct netdev {
	char name[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];
	uint16_t mtu;
	unsigned int rx_queues;
	bool up;
};

/* Look the interface up; prints what was wrong.  0 or -errno. */
int netdev_open(const char *name, struct netdev *nd);
/* Name of a kernel interface that has ip_be configured (0 if none). */
int netdev_kernel_has_addr(uint32_t ip_be, char owner[IF_NAMESIZE]);

/* ---- run directory (rundir.c) ----------------------------------------- */
/* Create dir if missing and take its lock file (flextoe.pid).  0, -EBUSY
 * when another engine holds it, or -errno; prints what was wrong. */
int rundir_acquire(const char *dir, int *lock_fd);
void rundir_release(const char *dir, int lock_fd);

/* ---- steering program (steer.c) --------------------------------------- */
struct steer {
	struct bpf_object *obj;
	int prog_fd, xsks_fd, stats_fd;
	int ifindex;
	__u32 attach_flags;        /* XDP_FLAGS_DRV_MODE or _SKB_MODE once attached */
};

/* The steering object embedded in the binary (steer_obj.c). */
extern const unsigned char ftoe_steer_obj[];
extern const unsigned char ftoe_steer_obj_end[];

int steer_load(struct steer *s, uint32_t engine_ip_be);
/* Remove a stale attachment of ours; refuse (-EEXIST) a foreign program
 * unless force, and (-EBUSY) one that a live engine owns. */
int steer_clear_stale(const struct netdev *nd, bool force);
int steer_attach(struct steer *s, const struct netdev *nd);
void steer_detach(struct steer *s, const struct netdev *nd);
void steer_unload(struct steer *s);
void steer_read_stats(const struct steer *s, uint64_t out[FTOE_STEER__MAX]);

/* ---- AF_XDP queues (xsk.c) -------------------------------------------- */
#define XQ_FRAME_SIZE  XSK_UMEM__DEFAULT_FRAME_SIZE  /* 4096 */
#define XQ_RX_FRAMES   1024   /* owned by fill + rx rings */
#define XQ_TX_FRAMES   1024   /* owned by the tx free list + tx/comp rings */
#define XQ_RING_SIZE   1024
#define XQ_BATCH       64
#define XQ_KICK_BATCH  32     /* tx descriptors before a forced sendto */

struct xq_stats {
	uint64_t rx_frames, rx_arp, rx_icmp, rx_tcp, rx_other, rx_runt;
	uint64_t tx_frames, tx_full, tx_too_big, kicks;
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

	pthread_mutex_t tx_lock;   /* tx ring, comp ring, free list */
	uint64_t tx_free[XQ_TX_FRAMES];
	unsigned int nr_tx_free;
	unsigned int tx_unkicked;
	pthread_t owner;           /* the worker that polls this queue */
	bool has_owner;

	struct xq_stats st;        /* rx_*: owner only; tx_*: under tx_lock */
};

int xq_create(struct xsk_queue *q, const char *ifname, unsigned int id);
void xq_destroy(struct xsk_queue *q);
/* Copy one frame into a tx frame and queue it: 0, -ENOBUFS, -EMSGSIZE. */
int xq_xmit(struct xsk_queue *q, const void *frame, size_t len);
/* Push queued tx descriptors to the kernel and reap completions. */
void xq_flush(struct xsk_queue *q);
/* Receive up to XQ_BATCH frames; *idx for xq_rx_done. */
unsigned int xq_rx_peek(struct xsk_queue *q, uint32_t *idx);
const struct xdp_desc *xq_rx_desc(struct xsk_queue *q, uint32_t idx);
/* Return n received frames to the fill ring. */
void xq_rx_done(struct xsk_queue *q, uint32_t idx, unsigned int n);
/* Busy polling: wake the driver if the fill ring asks for it. */
void xq_rx_kick(struct xsk_queue *q);

/* ---- the daemon (control.c, worker.c, main.c) ------------------------- */
struct worker;

struct backend {
	struct x86_opts opts;
	struct netdev nd;
	struct steer steer;
	struct xsk_queue *queues;
	unsigned int nr_queues;
	struct worker *workers;
	unsigned int nr_workers;

	struct ftoe_engine *eng;
	struct ftoe_io io;
	/* Serialises the engine's entry points when several workers run:
	 * engine.h does not (yet) promise that queues are independent. */
	pthread_mutex_t eng_lock;
	bool eng_locked;

	pthread_mutex_t ctl_lock;  /* ARP cache and ICMP state */
	struct ftoe_arp arp;
	struct ftoe_icmp icmp;
	uint64_t announce_at_ns;   /* second gratuitous ARP */

	atomic_bool stop;
};

uint64_t be_now_ns(void);

/* control.c: ARP/ICMP glue and the ftoe_io the engine uses. */
int control_init(struct backend *be);
void control_arp_rx(struct backend *be, const void *frame, size_t len);
void control_icmp_rx(struct backend *be, struct xsk_queue *q, void *frame, size_t len);
uint64_t control_poll(struct backend *be);
void control_io_init(struct backend *be);
/* Gratuitous ARP now, and again 2 s later (RFC 5227 section 2.3). */
void control_announce(struct backend *be);

/* worker.c */
int workers_start(struct backend *be);
void workers_stop(struct backend *be);
void workers_wake(struct backend *be);
/* The queue the calling thread polls (its first), or NULL. */
struct xsk_queue *worker_current_queue(void);

#endif
