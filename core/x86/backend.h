/* backend.h - the x86 AF_XDP backend's internal structures, shared by its source files. */
#ifndef FTOE_X86_BACKEND_H
#define FTOE_X86_BACKEND_H

#include <linux/types.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>
#include <xdp/xsk.h>

#include "core/control/arp.h"
#include "core/control/icmp.h"
#include "core/engine.h"
#include "core/hooks.h"
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
	const struct ftoe_cc_ops *cc; /* ftoe_cc_parse (NULL: the default) */
	uint64_t cc_param;
	uint32_t max_flows;
	const char *run_dir;
	int verbose;
	bool force;
	bool no_loaderd;           /* --no-loaderd */
	const char *loaderd_path;  /* --loaderd PATH (default: next to flextoe) */
	const char *loaderd_group; /* --loader-group NAME, passed to loaderd */
	unsigned int rto_retries;  /* --rto-retries N (0: the engine's default) */
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
	/* rx-pre verdicts acted on (owner only) and tx-post drops (tx_lock) */
	uint64_t rx_hook_drop, rx_hook_tx, rx_hook_redirect, rx_hook_too_big, tx_hook_drop;
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
/* Copy one frame into a tx frame and queue it: 0, -ENOBUFS, -EMSGSIZE.
 * The tx-post hook runs first (be_hooks): a frame it drops is gone and
 * reported as sent (0), as a NIC-side drop would be. */
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
	struct pipe *pipe;         /* --workers N > 1 (pipe.c), else NULL */

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

	/* Hooks and their eBPF programs (hooks_ebpf.c); the engine control
	 * socket (ctl.c) and flextoe-loaderd (loaderd_spawn.c). */
	struct ftoe_hooks *hooks;
	struct hx_prog *progs;     /* installed programs; ctl thread only */
	uint32_t nr_progs;
	int ctl_fd;                /* listening engine.sock, or -1 */
	pthread_t ctl_tid;
	bool ctl_started;
	int ctl_stop_efd;
	pid_t loaderd_pid;         /* 0: none running that we started */
};

/* The hooks of the running daemon, for the xmit path (xsk.c). */
extern struct ftoe_hooks *be_hooks;

uint64_t be_now_ns(void);

/* Longest idle block of a thread, whatever the deadlines (workers, pipe). */
#define BE_IDLE_MAX_MS 1000
/* An idle block's timeout for ppoll(), to the nanosecond: the flow
 * scheduler's pacing waits are microseconds, and poll()'s whole
 * milliseconds held a paced flow at a few segments per millisecond.
 * ns UINT64_MAX (no deadline) or beyond the cap gives BE_IDLE_MAX_MS. */
static inline struct timespec *be_timeout_ts(uint64_t ns, struct timespec *ts)
{
	if (ns == UINT64_MAX || ns >= (uint64_t)BE_IDLE_MAX_MS * 1000000ull)
		ns = (uint64_t)BE_IDLE_MAX_MS * 1000000ull;
	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
	return ts;
}

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
/* The rx-pre hook on one received frame: its new length, 0 if consumed. */
uint32_t worker_rx_pre(struct backend *be, struct xsk_queue *q, uint8_t *f, uint32_t len,
		       uint32_t room);
/* Mark a frame that skipped the rx-pre hook as carrying no metadata. */
void worker_rx_md_clear(uint8_t *f, uint32_t room);

/* pipe.c: --workers N > 1, the stages on threads joined by SPSC rings. */
int pipe_start(struct backend *be);
/* Stop and join the threads (no-op without a pipeline). */
void pipe_stop(struct backend *be);
void pipe_wake(struct backend *be);
void pipe_wake_proto(struct backend *be);
/* The engine's xmit through the pipeline; before ftoe_engine_create. */
void pipe_io_init(struct backend *be);


/* ---- hooks with eBPF programs (hooks_ebpf.c) --------------------------- */
struct ebpf_object;
struct ebpf_prog;
struct bpf_object;

/* One installed program (one loaded object each). */
struct hx_prog {
	struct hx_prog *next;
	uint32_t id;               /* runtime program id: unique in the engine */
	enum flextoe_hook hook;
	int32_t priority;
	uint32_t chain_call_actions;
	struct ebpf_object *obj;   /* the program's maps live here */
	struct ebpf_prog *prog;
	struct bpf_object *btf_obj; /* libbpf open (not loaded) for BTF, or NULL */
	char name[64];
	char tag[17];              /* the kernel's program tag (hex), or "" */
	uint32_t kernel_id;        /* the verified kernel twin's id, or 0 */
	char file[4096];           /* the object file it came from */
	uint64_t loaded_at;        /* CLOCK_REALTIME seconds */
};

struct hx_load_req {
	const char *path;
	enum flextoe_hook hook;
	const char *prog_name;     /* NULL: the object's only program */
	bool has_prio;
	int32_t priority;          /* with has_prio; else XDP_RUN_CONFIG's */
	uint32_t replace_id;       /* non-zero: take this program's place in one swap */
};

int hx_init(struct backend *be);
/* Detach and free every program, then the hooks. */
void hx_fini(struct backend *be);
/* Free the calling thread's execution buffer (thread exit). */
void hx_thread_exit(void);
/* 0 with *id, or -errno with a message in err. */
int hx_load(struct backend *be, const struct hx_load_req *r, uint32_t *id, char *err,
	    size_t err_size);
int hx_unload(struct backend *be, uint32_t id);
struct hx_prog *hx_find(struct backend *be, uint32_t id);
/* The map called name of the first program at hook (list order: newest
 * first), with a reference (ebpf_map_put it), or NULL.  Any thread: the
 * splice support (app_splice.c) finds splice_flows this way. */
struct ebpf_map *hx_map_get(struct backend *be, enum flextoe_hook hook, const char *name);
/* rx-pre/tx-post metadata for a frame at the backend. */
void hx_md_init(struct flextoe_md *md, enum flextoe_hook hook, uint8_t dir);

/* ---- the engine control socket (ctl.c) ----------------------------------- */
#define FTOE_ENGINE_SOCK "engine.sock"
int ctl_start(struct backend *be);
void ctl_stop(struct backend *be);

/* ---- flextoe-loaderd (loaderd_spawn.c) ------------------------------------- */
void loaderd_spawn(struct backend *be, const char *argv0);
/* A child exited (SIGCHLD): reap it, log if it was loaderd. */
void loaderd_reap(struct backend *be);
void loaderd_stop(struct backend *be);

#endif
