/* reorder.c - ingress sequencer and reorder buffer that restore per-flow order. */
#include <errno.h>
#include <stdbool.h>

#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/reorder.h"

#define STAMP_DONE    1u
#define STAMP_RETIRED 2u

static inline uint64_t stamp_of(uint32_t seqno, unsigned flags)
{
	return (uint64_t)seqno << 2 | flags;
}

int ftoe_rob_init(struct ftoe_rob *rob, struct ftoe_rob_slot *slots, uint32_t nslots)
{
	if (!rob || !slots || nslots < 2 || nslots > (1u << 30) ||
	    (nslots & (nslots - 1)))
		return -EINVAL;
	rob->slots = slots;
	rob->mask = nslots - 1;
	rob->next = 0;
	rob->head = 0;
	rob->released = 0;
	rob->retired = 0;
	rob->releasing = 0;
	/* Stamp 0 means "number 0, not done": the right start state for slot
	 * 0, and never equal to a done stamp of any later lap. */
	for (uint32_t i = 0; i < nslots; i++) {
		slots[i].item = 0;
		slots[i].stamp = 0;
	}
	return 0;
}

int ftoe_rob_reserve(struct ftoe_rob *rob, uint32_t *seqno)
{
	uint32_t head = __atomic_load_n(&rob->head, __ATOMIC_ACQUIRE);

	uint32_t next = rob->next;

	if (next - head > rob->mask)
		return -ENOBUFS;
	*seqno = next;
	/* Atomic only so ftoe_rob_in_flight() may read it from elsewhere. */
	__atomic_store_n(&rob->next, next + 1, __ATOMIC_RELAXED);
	return 0;
}

static int rob_finish(struct ftoe_rob *rob, uint32_t seqno, void *item, unsigned flags)
{
	struct ftoe_rob_slot *s = &rob->slots[seqno & rob->mask];
	uint32_t head = __atomic_load_n(&rob->head, __ATOMIC_ACQUIRE);

	/* Cheap misuse check: the number must be within one ring of head. */
	if (seqno - head > rob->mask)
		return -ERANGE;
	s->item = item;
	__atomic_store_n(&s->stamp, stamp_of(seqno, flags), __ATOMIC_RELEASE);
	return 0;
}

int ftoe_rob_complete(struct ftoe_rob *rob, uint32_t seqno, void *item)
{
	return rob_finish(rob, seqno, item, STAMP_DONE);
}

int ftoe_rob_retire(struct ftoe_rob *rob, uint32_t seqno)
{
	return rob_finish(rob, seqno, 0, STAMP_DONE | STAMP_RETIRED);
}

unsigned ftoe_rob_release(struct ftoe_rob *rob, void **out, unsigned max)
{
	uint32_t head = rob->head;
	unsigned n = 0;

	while (n < max) {
		struct ftoe_rob_slot *s = &rob->slots[head & rob->mask];
		uint64_t st = __atomic_load_n(&s->stamp, __ATOMIC_ACQUIRE);

		if (st == stamp_of(head, STAMP_DONE)) {
			out[n++] = s->item;
			rob->released++;
		} else if (st == stamp_of(head, STAMP_DONE | STAMP_RETIRED)) {
			rob->retired++;
		} else {
			break;
		}
		head++;
	}
	/* Publish the freed slots to the producer. */
	__atomic_store_n(&rob->head, head, __ATOMIC_RELEASE);
	return n;
}

static bool head_finished(struct ftoe_rob *rob)
{
	uint32_t head = __atomic_load_n(&rob->head, __ATOMIC_SEQ_CST);
	uint64_t st = __atomic_load_n(&rob->slots[head & rob->mask].stamp, __ATOMIC_SEQ_CST);

	return st == stamp_of(head, STAMP_DONE) || st == stamp_of(head, STAMP_DONE | STAMP_RETIRED);
}

bool ftoe_rob_release_claim(struct ftoe_rob *rob)
{
	/* The caller's stamp is visible before it looks at the flag, and the
	 * releaser's unclaim before it looks at the head again: of the two,
	 * one sees the other, so no number is left behind. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !__atomic_exchange_n(&rob->releasing, 1, __ATOMIC_ACQUIRE);
}

bool ftoe_rob_release_unclaim(struct ftoe_rob *rob)
{
	__atomic_store_n(&rob->releasing, 0, __ATOMIC_SEQ_CST);
	return head_finished(rob);
}

uint32_t ftoe_rob_in_flight(const struct ftoe_rob *rob)
{
	uint32_t head = __atomic_load_n(&rob->head, __ATOMIC_ACQUIRE);

	return __atomic_load_n(&rob->next, __ATOMIC_RELAXED) - head;
}

unsigned ftoe_rx_item_group(const struct ftoe_rx_item *it, unsigned ngroups)
{
	if (it->res != FTOE_RXP_FAST && it->res != FTOE_RXP_SLOW)
		return 0;
	if (it->seg.family != 4)
		return 0;
	return ftoe_flow_group(it->seg.saddr4, it->seg.daddr4, it->seg.sport, it->seg.dport,
			       ngroups);
}

bool ftoe_rx_item_malformed(const struct ftoe_rx_item *it)
{
	return it->res == FTOE_RXP_MALFORMED;
}
