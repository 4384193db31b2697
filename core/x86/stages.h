/* stages.h - what the two pipelines (pipe.c, fgpipe.c) share: the ring from the engine's xmit to egress, the borrowed frames' way back to their fill rings, and a stage thread's idle block. */
#ifndef FTOE_X86_STAGES_H
#define FTOE_X86_STAGES_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/x86/spsc.h"
#include "core/x86/x86_internal.h"

/* A borrowed rx frame on its way back to its queue's fill ring. */
struct x86_ret_slot {
	uint64_t addr;		/* the umem frame's base */
	uint32_t qi;		/* index into the receiving thread's queues */
	uint32_t pad;
};

/* A frame the engine sends, copied, with the tx-post hook's snapshot of
 * the flow (struct flextoe_md). */
struct x86_tx_slot {
	uint16_t len;
	uint8_t q;
	uint8_t has_md;
	uint32_t pad;
	struct flextoe_md md;
	uint8_t data[XQ_FRAME_SIZE];
} __attribute__((aligned(64)));

/*
 * The ring from the engine's xmit (one producer at a time: the protocol
 * thread, or whoever holds the engine's shared lock) to the egress thread.
 * A full ring is no reason to spin: the producer sets want before it
 * sleeps and egress wakes it when it made room.
 */
struct x86_txq {
	struct spsc_ring ring;
	_Atomic int want;		/* the producer found it full: wake it on space */
	struct spsc_waiter *out, *prod;	/* the egress thread's and the producer's */
	/* the producer's */
	bool pushed;			/* since the last kick of egress */
	bool full;			/* an xmit found it full this round */
	uint64_t frames, full_cnt, too_big;
	/* egress's */
	uint64_t out_frames, out_retry;
};

int x86_txq_init(struct x86_txq *t, uint32_t slots, struct spsc_waiter *out,
		 struct spsc_waiter *prod);
void x86_txq_fini(struct x86_txq *t);
/* The engine's xmit into the ring: 0, -EMSGSIZE, or -ENOBUFS (full: the
 * engine keeps the segment and retries). */
int x86_txq_xmit(struct x86_txq *t, unsigned int q, const void *frame, size_t len,
		 const struct flextoe_md *md);
/* Wake egress if frames went in since the last kick. */
void x86_txq_kick(struct x86_txq *t);
/* Egress: a batch onto the AF_XDP tx rings of be's queues (the tx-post
 * hook runs in xq_xmit_md), flushed; returns the frames it looked at. */
unsigned int x86_txq_out(struct x86_txq *t, struct x86_backend *be);

/* Put a borrowed frame on ret (its one producer); false: full (a frame
 * accounting bug, logged as name's). */
bool x86_ret_put(struct spsc_ring *ret, uint64_t addr, uint32_t qi, const char *name);
/* Take every frame on ret back into the fill rings of qs[0..nq) (the
 * receiving thread only), q_out[] counting down; returns the frames. */
unsigned int x86_ret_take(struct spsc_ring *ret, struct xsk_queue *const *qs, unsigned int nq,
			  uint32_t *q_out);

/* What every stage thread has: its name, the eventfd it sleeps on, and
 * its counters (read at exit).  The first member of each pipeline's
 * thread struct. */
struct x86_stage_thread {
	char name[16];
	struct spsc_waiter wait;	/* wait.efd -1 until x86_stage_thread_init */
	pthread_t tid;
	bool started;
	uint64_t items, sleeps;
};

/* Its eventfd, once its name is set (0 or -errno, logged). */
int x86_stage_thread_init(struct x86_stage_thread *s);
void x86_stage_thread_fini(struct x86_stage_thread *s);
/* Start it on fn(arg); 0 or -errno (logged). */
int x86_stage_thread_run(struct x86_stage_thread *s, void *(*fn)(void *), void *arg);
/* Write its eventfd (whether it sleeps or not), and join it. */
void x86_stage_thread_wake(struct x86_stage_thread *s);
void x86_stage_thread_join(struct x86_stage_thread *s);
void x86_stage_thread_log(const struct x86_stage_thread *s);
/* On the thread: its name, its idle-time slot (NULL: none left). */
struct x86_thread_time *x86_stage_thread_begin(struct x86_backend *be,
					       const struct x86_stage_thread *s);
/* After the sockets it polls went into pfd: its eventfd last, and the
 * thread a reader of the hooks (rx-pre, rx-post, tx-post run anywhere). */
void x86_stage_thread_ready(struct x86_backend *be, const struct x86_stage_thread *s,
			    struct pollfd *pfd, nfds_t *npfd);

/* The engine's xmit from a pipeline: into tx, or (NULL: before the
 * threads start, after they stop, or not the producer) straight onto
 * queue q (the tx-post hook runs in xq_xmit_md). */
int x86_stage_xmit(struct x86_backend *be, struct x86_txq *tx, unsigned int q,
		   const void *frame, size_t len, const struct flextoe_md *md);

/* The threads of a pipeline's array, each element (stride bytes apart)
 * beginning with its x86_stage_thread: stop them (be->stop, wake, join),
 * and log their counters. */
void x86_stage_threads_stop(struct x86_backend *be, struct x86_stage_thread *first,
			    unsigned int n, size_t stride);
void x86_stage_threads_log(const struct x86_stage_thread *first, unsigned int n, size_t stride);

/* The protocol thread, about to sleep: is there room again in the ring to
 * egress it found full (full: its pass's tx->full), or work from the
 * applications (x86_poller.idle)? */
bool x86_stage_proto_due(struct x86_backend *be, struct x86_txq *tx, bool full);

/*
 * A stage thread whose pass did no work: announce the sleep, look once
 * more (has_work(arg): 1, nothing slept), then block in ppoll() on
 * pfd[0..npfd) (the last one its eventfd), or on the eventfd alone
 * (efd_only: waiting for another stage, not for its sockets), at most
 * next ns (0: a deadline due now while egress is full, 1 ms), hook readers
 * offline meanwhile; then drain the eventfd: 0.  -errno when ppoll fails
 * (logged).  tt: the thread's idle time, or NULL.
 */
int x86_stage_idle(struct x86_backend *be, struct x86_stage_thread *s, bool (*has_work)(void *),
		   void *arg, struct pollfd *pfd, nfds_t npfd, bool efd_only, uint64_t next,
		   struct x86_thread_time *tt);

#endif
