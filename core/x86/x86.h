/* x86.h - the AF_XDP backend as the daemon sees it: open an interface, give the engine its ftoe_io, run the engine on threads, close. */
#ifndef FTOE_X86_H
#define FTOE_X86_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/engine.h"

/*
 * Depends on the core (engine.h, hooks.h, control/arp.h and icmp.h) and
 * never on the daemon (core/daemon/): what the daemon runs on the
 * backend's threads, the application server, it hands in as a
 * struct x86_poller.  docs/engine.md "Threads and CPU use".
 */

struct ftoe_hooks;
struct x86_backend;

/* Queues (and threads) at most: the steering program's XSKMAP size,
 * FTOE_STEER_MAX_QUEUES (x86.c checks that they agree). */
#define X86_MAX_QUEUES 64

struct x86_cfg {
	const char *iface;
	uint32_t ip_be, prefix_len, gateway_be;	/* the engine's address (ARP, ICMP, steering) */
	uint8_t ip6[16];		/* its IPv6 address (ND, ICMPv6, steering); all zero: none */
	uint32_t prefix6_len;
	unsigned int queues;		/* rx queues to serve, 1..the device's */
	unsigned int workers;		/* 1: one thread runs everything; N > 1: staged (pipe.c) */
	unsigned int flow_groups;	/* 0: pipe.c's one protocol thread; G: fgpipe.c */
	bool busy_poll;			/* spin instead of blocking when idle */
	bool force;			/* replace a foreign XDP program on iface */
	struct ftoe_hooks *hooks;	/* rx-pre and tx-post run here; outlives the backend */
};

/* Flow groups at most (--flow-groups). */
#define X86_MAX_FLOW_GROUPS 16

/* Which thread runs which stage (layout.c): what --show-layout prints. */
#define X86_L_IN    (1u << 0)	/* AF_XDP rx, rx-pre hook, classification */
#define X86_L_PRE   (1u << 1)	/* validation, checksums, flow lookup */
#define X86_L_PROTO (1u << 2)	/* protocol (and without --flow-groups post-processing) */
#define X86_L_CTL   (1u << 3)	/* control plane, timers, flow scheduler, applications */
#define X86_L_OUT   (1u << 4)	/* tx-post hook, AF_XDP tx */
#define X86_L_POST  (1u << 5)	/* post-processing's payload placement (--flow-groups) */

struct x86_layout_thread {
	char name[16];
	unsigned int roles;	/* X86_L_* */
	unsigned int queues;	/* X86_L_IN: how many it serves */
};

struct x86_layout {
	unsigned int workers, queues, flow_groups;
	unsigned int nthreads;
	struct x86_layout_thread th[X86_MAX_QUEUES];
	unsigned int group_thread[X86_MAX_FLOW_GROUPS];	/* index into th[] */
};

/* 0, -EINVAL (a count out of range), -ERANGE (too many flow groups) or
 * -ENOSPC (more ingress threads than queues). */
int x86_layout_plan(unsigned int workers, unsigned int flow_groups, unsigned int queues,
		    struct x86_layout *l);
void x86_layout_print(const struct x86_layout *l, FILE *out);

/* The interface as x86_open found it. */
struct netdev {
	char name[IF_NAMESIZE];
	int ifindex;
	uint8_t mac[6];
	uint16_t mtu;
	unsigned int rx_queues;
	bool up;
};

/* Work the engine's thread serves besides the queues (the daemon's
 * application server): fd becomes readable when poll has something to do;
 * poll runs on the engine's thread and returns the work done (0: idle).
 * fd_ready: the thread's last poll() found fd readable; false when it was
 * not readable or not looked at (the thread did not block), so poll may
 * leave out its own look at fd's sources (a system call per pass) for a
 * while. */
struct x86_poller {
	void *ctx;
	int fd;				/* -1: none */
	unsigned int (*poll)(void *ctx, bool fd_ready);
	/* The thread is about to block (after a poll that found nothing):
	 * from here on the applications must ring their doorbells (fd).
	 * Returns true when work arrived meanwhile (do not block).  NULL:
	 * the applications always ring. */
	bool (*idle)(void *ctx);
};

/* Look the interface up and check cfg against it (queues, an address the
 * kernel does not have); nothing is attached yet.  0 or -errno, with a
 * message.  The backend keeps cfg's pointers. */
int x86_open(const struct x86_cfg *cfg, struct x86_backend **out);
const struct netdev *x86_netdev(const struct x86_backend *x);
/* Load the steering program (removing a stale one of ours), create the
 * AF_XDP queues, set up ARP and ICMP, and fill the engine's io (before
 * ftoe_engine_create).  0 or -errno, with a message. */
int x86_setup(struct x86_backend *x, struct ftoe_io *io);
/* Attach steering and start the threads on eng; app is copied (NULL:
 * none).  The gratuitous ARP goes out.  0 or -errno, with a message. */
int x86_start(struct x86_backend *x, struct ftoe_engine *eng, const struct x86_poller *app);
/* Detach steering and join the threads (before the engine goes).  The
 * engine may still send (its resets) until x86_close. */
void x86_stop(struct x86_backend *x);
/* The neighbour cache's valid entry for ip_be: 0 with mac, else -ENOENT;
 * sends nothing.  Any thread. */
int x86_neigh_valid(struct x86_backend *x, uint32_t ip_be, uint8_t mac[6]);
/* Queues, ARP/ICMP and steering counters to the log (info level). */
void x86_log_stats(struct x86_backend *x);
/* One queue's counters (flextoe-stat counters): the backend's own and the
 * kernel's AF_XDP ones (getsockopt XDP_STATISTICS; xdp_stats false when
 * the kernel gave none). */
struct x86_queue_stats {
	unsigned int queue;		/* the device's rx queue id */
	uint64_t rx_frames, rx_bursts, tx_frames, tx_ring_full, tx_kicks;
	bool xdp_stats;
	uint64_t rx_dropped, rx_invalid_descs, tx_invalid_descs;
	uint64_t rx_ring_full, rx_fill_ring_empty_descs, tx_ring_empty_descs;
	/* the backend's own drops: runts and frames neither IPv4 nor ARP
	 * (or IP neither TCP nor ICMP), the rx-pre hook's DROP/ABORTED,
	 * REDIRECT and too-long results, the tx-post hook's drops and
	 * frames too long to send */
	uint64_t rx_arp, rx_icmp;	/* to the control plane (the rest of rx is TCP) */
	uint64_t rx_runt, rx_other, rx_hook_drop, rx_hook_redirect, rx_hook_too_big;
	uint64_t tx_too_big, tx_hook_drop;
	/* what the rx-pre hook sent back: XDP_TX frames, and copies sent by
	 * a devmap redirect; the cpumap redirects that went on to the engine */
	uint64_t rx_hook_tx, rx_hook_redirect_tx, rx_hook_redirect_cpu;
	/* ... and the redirects to the interface dropped for its MTU */
	uint64_t rx_hook_redirect_too_big;
};
unsigned int x86_nr_queues(const struct x86_backend *x);
/* Queue i (0 .. x86_nr_queues - 1); any thread.  0 or -ERANGE. */
int x86_queue_stats(const struct x86_backend *x, unsigned int i, struct x86_queue_stats *out);
/* One of the backend's threads (a pipeline stage, or the one worker): how
 * long it has run and how much of that it spent blocked in ppoll() with
 * nothing to do (flextoe-stat counters' per-stage utilisation:
 * busy = wall - idle).  Wall-clock time: a thread the scheduler preempted
 * counts as busy; with --poll busy a thread never blocks. */
struct x86_thread_stats {
	char name[16];			/* "ftoe-worker", "ftoe-in0", "ftoe-proto" ... */
	uint64_t wall_ns, idle_ns;	/* since the thread started */
	uint64_t sleeps;		/* times it blocked */
};
unsigned int x86_nr_threads(const struct x86_backend *x);
/* Thread i (0 .. x86_nr_threads - 1); any thread.  0 or -ERANGE. */
int x86_thread_stats(const struct x86_backend *x, unsigned int i, struct x86_thread_stats *out);
/* Everything x86_setup made, then x (NULL: nothing). */
void x86_close(struct x86_backend *x);

/* The clock the backend gives the engine (CLOCK_MONOTONIC, ns). */
static inline uint64_t x86_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
