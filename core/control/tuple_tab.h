/* tuple_tab.h - a bounded table of small per-4-tuple records in age order (the SYN and TIME_WAIT tables). */
#ifndef FTOE_CORE_CONTROL_TUPLE_TAB_H
#define FTOE_CORE_CONTROL_TUPLE_TAB_H

#include <stddef.h>
#include <stdint.h>

#include "core/flow_table.h"

/*
 * The control plane keeps connections that need no buffers - half-open
 * (SYN-RECEIVED, core/control/syn_table.c) and TIME_WAIT
 * (core/control/time_wait.c) - apart from the connection table, so a peer
 * cannot use them up.  Each such table is this: a fixed number of records
 * of a fixed size, allocated once (bounded memory), found by 4-tuple
 * through chained hash buckets (SipHash with the engine's secret, so a
 * peer cannot aim at one chain), and linked in age order (the oldest
 * first), which gives "evict the oldest" and, when every record lives
 * equally long, "expire in order" in O(1).
 *
 * Cost per record: 48 bytes of links and key (24 of them the key's IPv6
 * upper bits, core/flow_table.h), plus 4 for its bucket, plus the user's
 * record.  Single-threaded (the engine's thread).
 */

#define FTOE_TT_NONE UINT32_MAX

struct ftoe_tt_node {
	struct ftoe_flow_key key;
	uint32_t hnext;		/* bucket chain, or the free list */
	uint32_t older, younger; /* age list */
};

struct ftoe_tuple_tab {
	uint32_t cap, count;
	uint32_t nbuckets;	/* power of two */
	uint32_t rec_size;
	uint32_t free_head;
	uint32_t oldest, youngest;
	uint32_t *bucket;
	struct ftoe_tt_node *node;
	uint8_t *rec;
	uint8_t key[16];
	uint64_t next_due;	/* the owner's earliest record deadline (ns; may be early) */
};

/* cap records of rec_size bytes each; key: the hash secret.  0, -EINVAL
 * (cap 0 or above 16M, rec_size 0) or -ENOMEM. */
int ftoe_tt_init(struct ftoe_tuple_tab *t, uint32_t cap, uint32_t rec_size,
		 const uint8_t key[16]);
void ftoe_tt_fini(struct ftoe_tuple_tab *t);
/* The same, allocated: *out, or -EINVAL / -ENOMEM; free with ftoe_tt_free
 * (which takes NULL and clears *t). */
int ftoe_tt_new(struct ftoe_tuple_tab **out, uint32_t cap, uint32_t rec_size,
		const uint8_t key[16]);
void ftoe_tt_free(struct ftoe_tuple_tab **t);
/* Bytes ftoe_tt_init allocates for cap records of rec_size bytes. */
size_t ftoe_tt_mem_size(uint32_t cap, uint32_t rec_size);

/* A new record for key, the youngest, zeroed: 0 and its index, -EEXIST
 * (key present; *idx is that record) or -ENOSPC (full). */
int ftoe_tt_insert(struct ftoe_tuple_tab *t, const struct ftoe_flow_key *key, uint32_t *idx);
/* 0 and the record's index, or -ENOENT. */
int ftoe_tt_lookup(const struct ftoe_tuple_tab *t, const struct ftoe_flow_key *key,
		   uint32_t *idx);
void ftoe_tt_remove(struct ftoe_tuple_tab *t, uint32_t idx);
/* Make idx the youngest record (its lifetime restarted). */
void ftoe_tt_touch(struct ftoe_tuple_tab *t, uint32_t idx);

static inline void *ftoe_tt_rec(const struct ftoe_tuple_tab *t, uint32_t idx)
{
	return t->rec + (size_t)idx * t->rec_size;
}
static inline const struct ftoe_flow_key *ftoe_tt_key(const struct ftoe_tuple_tab *t,
						      uint32_t idx)
{
	return &t->node[idx].key;
}
/* Age order: ftoe_tt_oldest, then ftoe_tt_younger until FTOE_TT_NONE. */
static inline uint32_t ftoe_tt_oldest(const struct ftoe_tuple_tab *t)
{
	return t->oldest;
}
static inline uint32_t ftoe_tt_younger(const struct ftoe_tuple_tab *t, uint32_t idx)
{
	return t->node[idx].younger;
}

#endif
