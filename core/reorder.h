/* reorder.h - ingress sequencer and reorder buffer that restore per-flow order. */
#ifndef FTOE_CORE_REORDER_H
#define FTOE_CORE_REORDER_H

#include <stdbool.h>
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
	int releasing;   /* ftoe_rob_release_shared: a thread is releasing (atomic) */
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

/*
 * Releasing from any thread (FlexTOE's reorder_signal_next): after its
 * complete or retire, a worker claims the release; if no other thread
 * holds it, it releases what is in order and delivers the items, in
 * sequence order, before it unclaims.  A worker that finds the release
 * held leaves its number to the holder, which looks at the head again when
 * it unclaims (true: finished numbers are waiting, claim again).  What the
 * holder delivers to (a flow group's ring) sees one producer at a time.
 */
bool ftoe_rob_release_claim(struct ftoe_rob *rob);
bool ftoe_rob_release_unclaim(struct ftoe_rob *rob);

/* Claim, release, deliver, unclaim, until nothing is left behind; returns
 * the items this call delivered (0 too when another thread holds the
 * release).  A hosted backend's helper: the NFP build calls no function
 * through a pointer. */
typedef void (*ftoe_rob_deliver_fn)(void *ctx, void *item);
static inline unsigned ftoe_rob_release_shared(struct ftoe_rob *rob, ftoe_rob_deliver_fn deliver,
					       void *ctx)
{
	void *out[32];
	unsigned total = 0, n;

	while (ftoe_rob_release_claim(rob)) {
		while ((n = ftoe_rob_release(rob, out, 32))) {
			for (unsigned i = 0; i < n; i++)
				deliver(ctx, out[i]);
			total += n;
		}
		if (!ftoe_rob_release_unclaim(rob))
			break;
	}
	return total;
}

/* Numbers reserved but not yet released (approximate from other threads). */
uint32_t ftoe_rob_in_flight(const struct ftoe_rob *rob);

/*
 * Flow groups (FlexTOE section 4.2): flows are partitioned by a hash of
 * their 4-tuple, so every segment of a flow, the handshake's included, is
 * in one group whether or not the flow has a slot yet, and one protocol
 * thread (or ME) owns the group.  Addresses and ports as received, in host
 * order; ngroups 0 or 1: group 0.
 */
static inline uint32_t ftoe_flow_hash(uint32_t saddr, uint32_t daddr, uint16_t sport,
				      uint16_t dport)
{
	uint32_t h = saddr ^ (daddr * 0x9e3779b1u) ^ ((uint32_t)sport << 16 | dport);

	/* murmur3's finaliser: every input bit moves the low ones */
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline unsigned ftoe_flow_group(uint32_t saddr, uint32_t daddr, uint16_t sport,
				       uint16_t dport, unsigned ngroups)
{
	if (ngroups < 2)
		return 0;
	return ftoe_flow_hash(saddr, daddr, sport, dport) % ngroups;
}

/* The flow group of an item ftoe_engine_rx_prepare has filled: its
 * 4-tuple's (above) for an IPv4 segment, group 0 for anything else (the
 * control plane's frames, which group 0's thread handles). */
struct ftoe_rx_item;
unsigned ftoe_rx_item_group(const struct ftoe_rx_item *it, unsigned ngroups);
/* Pre-processing found the frame malformed: no later stage needs it, so a
 * pipelined backend retires its number there (and counts it). */
bool ftoe_rx_item_malformed(const struct ftoe_rx_item *it);

#endif
