/* impair.h - shared types of the impair link-impairment relay. */
#ifndef FTOE_IMPAIR_H
#define FTOE_IMPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest frame we accept: a 64 KiB GSO-free frame plus room for one VLAN
 * tag the kernel moved out of band (see link.c). */
#define IMPAIR_FRAME_MAX  (65536 + 4)
/* Frames moved per recvmmsg()/sendmmsg() call. */
#define IMPAIR_BATCH      32
/* Frames a direction may hold back for reordering at once. */
#define IMPAIR_HOLD_MAX   4

/* One direction's impairments.  Probabilities are 0..1. */
struct impair_profile {
	double loss;
	double reorder;
	double dup;
	double corrupt;
	uint64_t delay_ns;
	uint64_t jitter_ns;
	/* How long a frame picked for reordering waits for a successor to
	 * overtake it before it is released anyway. */
	uint64_t hold_ns;
};

struct impair_counters {
	uint64_t rx;            /* frames read from the input interface */
	uint64_t relayed;       /* frames written to the output (incl. dups) */
	uint64_t dropped;       /* lost on purpose */
	uint64_t duplicated;    /* extra copies made */
	uint64_t corrupted;     /* frames with one bit flipped */
	uint64_t reordered;     /* frames overtaken by a later frame */
	uint64_t hold_expired;  /* held frames no successor overtook */
	uint64_t overflow;      /* dropped because the queue was full */
	uint64_t truncated;     /* larger than IMPAIR_FRAME_MAX, dropped */
	uint64_t tx_errors;     /* the output interface refused the frame */
	uint64_t kernel_drops;  /* the input socket's buffer overflowed */
};

struct frame {
	struct frame *next;
	uint64_t due_ns;        /* release time, CLOCK_MONOTONIC */
	uint32_t len;
	uint8_t data[];
};

/* Release queue.  Due times never decrease along it (impair keeps each
 * direction in order unless told to reorder), so a FIFO is a complete
 * timer queue: its head is always the next frame due. */
struct frame_fifo {
	struct frame *head;
	struct frame *tail;
	uint32_t count;
};

/* xoshiro256** state: small, fast, and seedable for repeatable runs. */
struct impair_rng {
	uint64_t s[4];
};

/* One AF_PACKET endpoint (link.c). */
struct link {
	const char *ifname;
	int ifindex;
	int fd;
	uint8_t *rxbuf;         /* IMPAIR_BATCH slots of IMPAIR_FRAME_MAX + 4 */
	bool warned_csum;
	bool warned_size;
};

/* A received frame, pointing into the link's rx buffer. */
struct rx_frame {
	uint8_t *data;
	uint32_t len;
};

/* Everything about frames going from one interface to the other. */
struct direction {
	const char *name;       /* "a->b" or "b->a" */
	struct impair_profile prof;
	struct impair_rng rng;
	struct link *in;
	struct link *out;
	struct frame_fifo queue;
	struct frame *held[IMPAIR_HOLD_MAX];
	uint64_t held_deadline[IMPAIR_HOLD_MAX];
	int nheld;
	uint64_t last_due_ns;
	uint32_t limit;         /* queued + held frames at most */
	struct impair_counters cnt;
};

/* link.c */
int link_open(struct link *l, const char *ifname);
void link_close(struct link *l);
/* Reads up to IMPAIR_BATCH frames without blocking; returns how many were
 * stored in out[] (0 when none are waiting) or -errno. */
int link_rx(struct link *l, struct rx_frame *out, struct impair_counters *cnt);
/* Sends n frames; counts successes and failures in cnt. */
void link_tx(struct link *l, struct frame **frames, int n, struct impair_counters *cnt);
/* Adds frames the kernel dropped since the last call to cnt->kernel_drops. */
void link_collect_drops(struct link *l, struct impair_counters *cnt);

/* fault.c */
void rng_seed(struct impair_rng *r, uint64_t seed);
uint64_t rng_next(struct impair_rng *r);
bool rng_chance(struct impair_rng *r, double p);
/* Flips one random bit past the link-layer header of an IPv4/IPv6 frame;
 * returns false (and leaves the frame alone) for any other frame. */
bool fault_corrupt(struct impair_rng *r, uint8_t *data, uint32_t len);
/* Applies the direction's impairments to one received frame and queues
 * whatever survives. */
void dir_ingest(struct direction *d, const uint8_t *data, uint32_t len, uint64_t now);

/* queue.c */
/* Appends f to d's release queue, due no earlier than the frame before. */
void queue_push(struct direction *d, struct frame *f, uint64_t due);
/* Releases held frames whose wait expired into the queue. */
void dir_expire_holds(struct direction *d, uint64_t now);
/* Sends every queued frame due by now. */
void dir_release(struct direction *d, uint64_t now);
/* Earliest time anything in d needs attention, UINT64_MAX if idle. */
uint64_t dir_next_deadline(const struct direction *d);
void dir_free(struct direction *d);

#endif
