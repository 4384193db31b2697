/* reorder.h - ingress sequencer and reorder buffer that restore per-flow order. */
#ifndef FTOE_CORE_REORDER_H
#define FTOE_CORE_REORDER_H

#include <stdint.h>

/*
 * FlexTOE section 4 ("sequencing and reordering"): when pipeline stages run
 * in parallel on several workers, segments can finish out of order.  The
 * ingress stage gives each segment a sequence number (ftoe_rob_reserve);
 * whichever worker finishes it hands it back (ftoe_rob_complete), or, when
 * the segment was dropped or diverted to the slow path, retires its number
 * (ftoe_rob_retire) so the sequence has no hole; the egress side releases
 * finished items strictly in sequence-number order (ftoe_rob_release).
 *
 * Concurrency contract:
 *   - one producer thread calls ftoe_rob_reserve();
 *   - any number of threads call ftoe_rob_complete()/ftoe_rob_retire(),
 *     each reserved number exactly once;
 *   - one releaser thread calls ftoe_rob_release() (may be the producer).
 * No locks: each slot carries a stamp (number << 2 | flags) written with
 * release semantics after the item, so the releaser, reading it with
 * acquire, sees the item; the stamp includes the full 32-bit number, so a
 * slot's previous lap is never mistaken for the current one.
 * Capacity is fixed at init (a power of two, slots supplied by the caller):
 * the producer gets -ENOBUFS when all slots are in flight.
 */

struct ftoe_rob_slot {
	void *item;
	uint64_t stamp;
};

struct ftoe_rob {
	struct ftoe_rob_slot *slots;
	uint32_t mask;
	uint32_t next;   /* producer: next number to hand out */
	uint32_t head;   /* releaser: oldest unreleased number (atomic) */
	uint64_t released, retired; /* releaser-side statistics */
};

/* nslots must be a power of two in [2, 2^30]. 0 or -EINVAL. */
int ftoe_rob_init(struct ftoe_rob *rob, struct ftoe_rob_slot *slots, uint32_t nslots);

/* Producer: next sequence number, or -ENOBUFS when the ring is full. */
int ftoe_rob_reserve(struct ftoe_rob *rob, uint32_t *seqno);

/* Any thread: seqno finished with item (released later, in order);
 * -ERANGE if seqno is not in flight. */
int ftoe_rob_complete(struct ftoe_rob *rob, uint32_t seqno, void *item);

/* Any thread: seqno was dropped/diverted; it is skipped on release. */
int ftoe_rob_retire(struct ftoe_rob *rob, uint32_t seqno);

/* Releaser: move up to max finished items, in order, to out[]; retired
 * numbers are consumed without output.  Returns the number of items. */
unsigned ftoe_rob_release(struct ftoe_rob *rob, void **out, unsigned max);

/* Numbers reserved but not yet released (approximate from other threads). */
uint32_t ftoe_rob_in_flight(const struct ftoe_rob *rob);

#endif
