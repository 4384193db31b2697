/* x86_internal.h - the AF_XDP backend's own structures and the calls between its files (not for the daemon: x86.h). */
#ifndef FTOE_X86_INTERNAL_H
#define FTOE_X86_INTERNAL_H

#include <linux/types.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <flextoe/bpf.h>

#include "core/control/arp.h"
#include "core/control/icmp.h"
#include "core/control/nd.h"
#include "core/x86/steer_cfg.h"
#include "core/x86/x86.h"
#include "core/x86/xsk.h"

/*
 * Calls go one way: x86.c (the API) -> the schedulers (worker.c, pipe.c,
 * fgpipe.c; the last two share stages.c) -> loop.c (the receive loop and the engine thread's pass) -> control.c
 * (ARP, ICMP) -> xsk.c, a caller also calling further down (a scheduler
 * hands ARP to control.c, flushes xsk.c); steer.c and netdev.c are
 * leaves that x86.c calls.
 */

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

int steer_load(struct steer *s, uint32_t engine_ip_be, const uint8_t ip6[16]);
/* Remove a stale attachment of ours; refuse (-EEXIST) a foreign program
 * unless force, and (-EBUSY) one that a live engine owns. */
int steer_clear_stale(const struct netdev *nd, bool force);
int steer_attach(struct steer *s, const struct netdev *nd);
void steer_detach(struct steer *s, const struct netdev *nd);
void steer_unload(struct steer *s);
void steer_read_stats(const struct steer *s, uint64_t out[FTOE_STEER__MAX]);

/* ---- the backend (x86.c) ------------------------------------------------ */
struct worker;
struct pipe;
struct fgp;

/* A thread's idle time, kept by the thread, read by any (x86_thread_stats)
 * under a sequence count: blocked_since and idle_ns change together. */
#define X86_THREADS_MAX (FTOE_STEER_MAX_QUEUES + 2)
struct x86_thread_time {
	char name[16];
	uint64_t start_ns;		/* 0 until the thread runs */
	_Atomic uint32_t seq;		/* odd while the three below change */
	uint64_t blocked_since;		/* in ppoll() since (0: running) */
	uint64_t idle_ns, sleeps;
};

struct x86_backend {
	struct x86_cfg cfg;
	struct netdev nd;
	struct steer steer;
	struct xsk_queue *queues;
	unsigned int nr_queues;	/* created (cfg.queues once x86_setup succeeded) */
	struct worker *worker;	/* --workers 1 (worker.c), else NULL */
	struct pipe *pipe;	/* --workers N > 1 (pipe.c), else NULL */
	struct fgp *fgp;	/* --workers N > 1 --flow-groups G (fgpipe.c), else NULL */
	struct ftoe_engine *eng;	/* the daemon's; from x86_start */
	struct x86_poller app;	/* the daemon's application server */
	bool app_fd_ready;	/* app.fd was readable in the last ppoll() (engine thread) */
	atomic_bool stop;

	pthread_mutex_t ctl_lock;	/* ARP cache and ICMP state */
	bool ctl_ready;
	struct ftoe_arp arp;
	struct ftoe_icmp icmp;
	struct ftoe_nd nd6;		/* IPv6 ND and echo (cfg.ip6); has_ip6: in use */
	bool has_ip6;
	uint64_t announce_at_ns;	/* second gratuitous ARP */
	uint64_t ctl_next_ns;		/* next ARP timer run (the engine's thread) */
	/* the threads' idle time: slots are claimed, never given back */
	struct x86_thread_time thr[X86_THREADS_MAX];
	_Atomic unsigned int nthr;
};

/* The calling thread, named name, starts: its slot, NULL if none is left
 * (then the helpers below do nothing). */
struct x86_thread_time *x86_thread_time_start(struct x86_backend *x, const char *name);

static inline void thread_time_set(struct x86_thread_time *tt, uint64_t since, uint64_t idle,
				   uint64_t sleeps)
{
	atomic_fetch_add_explicit(&tt->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	__atomic_store_n(&tt->blocked_since, since, __ATOMIC_RELAXED);
	__atomic_store_n(&tt->idle_ns, idle, __ATOMIC_RELAXED);
	__atomic_store_n(&tt->sleeps, sleeps, __ATOMIC_RELAXED);
	atomic_fetch_add_explicit(&tt->seq, 1, memory_order_release);
}
/* Around the thread's ppoll(): two clock reads per sleep, no syscall. */
static inline void x86_thread_block(struct x86_thread_time *tt)
{
	if (tt)
		thread_time_set(tt, x86_now_ns(), tt->idle_ns, tt->sleeps + 1);
}
static inline void x86_thread_unblock(struct x86_thread_time *tt)
{
	if (tt)
		thread_time_set(tt, 0, tt->idle_ns + (x86_now_ns() - tt->blocked_since),
				tt->sleeps);
}

/* ---- the interface (netdev.c) ----------------------------------------- */
/* Look the interface up; prints what was wrong.  0 or -errno. */
int netdev_open(const char *name, struct netdev *nd);
/* Name of a kernel interface that has ip_be configured (0 if none). */
int netdev_kernel_has_addr(uint32_t ip_be, char owner[IF_NAMESIZE]);
/* The same for an address of family af (AF_INET: 4 bytes, AF_INET6: 16). */
int netdev_kernel_has_addr_af(int af, const void *addr, char owner[IF_NAMESIZE]);

/* ---- ARP and ICMP on the engine's address (control.c) ------------------ */
int control_init(struct x86_backend *x);
void control_fini(struct x86_backend *x);
/* An ARP, ICMP or ICMPv6 frame (enum rx_kind) of a receive burst. */
/* md: the frame's rx-pre record (its VLAN tags), NULL: none */
void control_rx(struct x86_backend *x, unsigned int kind, void *frame, size_t len,
		const struct flextoe_md *md);
/* ARP retries/expiry and the announcements when due (at most every
 * 100 ms); ns until the next run.  The engine's thread only. */
uint64_t control_poll(struct x86_backend *x);
/* Gratuitous ARP now, and again 2 s later (RFC 5227 section 2.3). */
void control_announce(struct x86_backend *x);
/* The engine's io, all but wake (x86.c) and the staged xmit (pipe.c). */
void control_io_init(struct x86_backend *x, struct ftoe_io *io);
void control_log_stats(struct x86_backend *x);

/* ---- the receive loop both schedulers share (loop.c) ------------------- */
enum rx_kind { RX_TCP = 0, RX_ARP, RX_ICMP, RX_ICMP6 };

struct rx_frame {
	uint8_t *data;		/* in the queue's umem, from the Ethernet header */
	uint64_t addr;		/* the umem frame's base: xq_fill gives it back */
	uint16_t len;
	uint8_t kind;		/* enum rx_kind */
	bool has_md;		/* the rx-pre hook's programs saw the frame: md is theirs */
	struct flextoe_md md;	/* the programs' record (classify's app_ctx, vlan_strip's tags) */
};

/* Take up to max (<= XQ_BATCH) frames from q's rx ring, each through the
 * rx-pre hook and classified.  Those for the engine (TCP) and the control
 * plane (ARP, ICMP) go to out[], *nout of them in arrival order, and are
 * the caller's until it gives them back with xq_fill; the rest (dropped,
 * consumed by the hook) go back to the fill ring now.  Returns the number
 * taken from the ring (0: it was empty).  q's receiving thread only. */
unsigned int rx_burst(struct x86_backend *x, struct xsk_queue *q, unsigned int max,
		      struct rx_frame *out, unsigned int *nout);
/* The engine thread's pass after its receives: the engine's timers and
 * scheduler, the applications (cfg's poller), the ARP timers.  Returns
 * the work done (0: idle); *next the ns until the next deadline. */
unsigned int engine_pass(struct x86_backend *x, uint64_t *next);

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

/* ---- the schedulers ------------------------------------------------------
 * worker.c: --workers 1, one thread runs every queue and the engine.
 * pipe.c: --workers N > 1, the stages on threads joined by SPSC rings. */
int worker_start(struct x86_backend *x);
void worker_stop(struct x86_backend *x);	/* no-op without one */
void worker_wake(struct x86_backend *x);
int pipe_start(struct x86_backend *x);
void pipe_stop(struct x86_backend *x);	/* no-op without a pipeline */
/* io.wake: work for the PROTO thread (an application's data to send). */
void pipe_wake_proto(struct x86_backend *x);
/* The engine's xmit through the pipeline (before ftoe_engine_create). */
void pipe_io_init(struct x86_backend *x, struct ftoe_io *io);
/* fgpipe.c: --flow-groups G with --workers N > 1; the same four calls. */
int fg_start(struct x86_backend *x);
void fg_stop(struct x86_backend *x);	/* no-op without one */
void fg_wake_proto(struct x86_backend *x);
void fg_io_init(struct x86_backend *x, struct ftoe_io *io);
void fg_log_stats(struct x86_backend *x);	/* no-op without one */

#endif
