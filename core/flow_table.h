/* flow_table.h - fixed-capacity 4-tuple -> flow id table, lock-free lookups. */
#ifndef FTOE_CORE_FLOW_TABLE_H
#define FTOE_CORE_FLOW_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/siphash.h"

/*
 * Maps a 4-tuple (as seen locally) to the flow id that indexes the
 * per-stage state arrays (core/flow_state.h).
 *
 * IPv4 and IPv6 share the key: laddr and raddr hold an IPv4 address or the
 * last 32 bits of an IPv6 one, and lhi/rhi the first 96 bits of an IPv6
 * address (zero for IPv4).  So the IPv4 code builds keys as it always did,
 * an IPv4 key hashes the same 12 bytes as before, and only an IPv6 key pays
 * for the longer hash.  An IPv6 address whose first 96 bits are zero (::,
 * ::1, the deprecated IPv4-compatible ::a.b.c.d) would read as IPv4: the
 * parser never lets one reach the flow table (core/segment.c).
 *
 * Layout: open addressing with linear probing and Robin Hood ordering
 * (Celis 1986): within a run, entries stay sorted by home slot, so a lookup
 * stops as soon as it meets an entry closer to its home than the probe is,
 * and misses cost about as much as hits even at 90% load; deletion shifts
 * the run back (no tombstones, so the table never degrades).
 * Slots are sized at init: the smallest power of two holding the capacity
 * at <= 90% load.  Memory comes from the caller (ftoe_ft_mem_size), so no
 * operation allocates.
 *
 * Hash: SipHash-1-3 keyed with a secret chosen at init.  Remote address and
 * port are chosen by the peer; with an unkeyed hash an attacker can aim
 * every connection at one run (hash flooding), so the key matters more
 * than the few nanoseconds a weaker mix would save.
 *
 * Concurrency: ONE writer (the control plane: insert/remove) and any number
 * of concurrent readers (data-path lookups).  Slots are grouped into
 * stripes of 64, each with a sequence counter.  A writer first computes the
 * slot range it will move (the rest of the run), makes those stripes' counters
 * odd, moves the slots, makes them even again.  A reader records the counter
 * of every stripe its probe enters and re-checks them all at the end; if
 * one moved it retries.  Readers never block writers; writes are short, so
 * readers retry rarely.  All slot words are read and written with atomic
 * (relaxed) 32-bit accesses, fenced as a seqlock.
 */

struct ftoe_flow_key {
	uint32_t laddr, raddr; /* IPv4, or an IPv6 address's last 32 bits; host order */
	uint16_t lport, rport; /* host order */
	uint32_t lhi[3], rhi[3]; /* IPv6: the first 96 bits, as on the wire; IPv4: 0 */
};

static inline int ftoe_flow_key_is_v6(const struct ftoe_flow_key *k)
{
	return (k->lhi[0] | k->lhi[1] | k->lhi[2] | k->rhi[0] | k->rhi[1] | k->rhi[2]) != 0;
}

struct ftoe_ft_slot {
	uint32_t hash;  /* 0: empty */
	uint32_t id;
	uint32_t laddr, raddr;
	uint32_t ports; /* lport << 16 | rport */
	uint32_t lhi[3], rhi[3];
};

#define FTOE_FT_STRIPE_SHIFT 6
#define FTOE_FT_MAX_STRIPES  16   /* a probe spans at most this many stripes */
#define FTOE_FT_MAX_CAPACITY (1u << 24)

struct ftoe_flow_table {
	struct ftoe_ft_slot *slots;
	uint32_t *stripe_seq;
	uint32_t mask;       /* nslots - 1 */
	uint32_t capacity;
	uint32_t count;
	uint32_t max_dist;   /* longest probe distance present (statistics) */
	uint8_t key[FTOE_SIPHASH_KEY_LEN];
};

/* Bytes of memory ftoe_ft_init needs for capacity flows; 0 if capacity is 0
 * or above FTOE_FT_MAX_CAPACITY. */
size_t ftoe_ft_mem_size(uint32_t capacity);

/* mem: ftoe_ft_mem_size(capacity) bytes, 8-byte aligned; key: the hash
 * secret (random at engine start; fixed in tests).  0 or -EINVAL. */
int ftoe_ft_init(struct ftoe_flow_table *ft, void *mem, size_t mem_size,
		 uint32_t capacity, const uint8_t key[FTOE_SIPHASH_KEY_LEN]);

/* Writer.  -EEXIST if the key is present, -ENOSPC if capacity flows are
 * already in the table (or, in theory, a run grew too long). */
int ftoe_ft_insert(struct ftoe_flow_table *ft, const struct ftoe_flow_key *key,
		   uint32_t id);

/* Writer.  -ENOENT if absent; *id (may be NULL) gets the removed id. */
int ftoe_ft_remove(struct ftoe_flow_table *ft, const struct ftoe_flow_key *key,
		   uint32_t *id);

/* Reader, safe concurrently with one writer.  0 and *id, or -ENOENT. */
int ftoe_ft_lookup(const struct ftoe_flow_table *ft,
		   const struct ftoe_flow_key *key, uint32_t *id);

/* Probe length (slots examined) a lookup of key needs right now; for
 * tests and statistics.  Writer context. */
uint32_t ftoe_ft_probe_len(const struct ftoe_flow_table *ft,
			   const struct ftoe_flow_key *key);

static inline uint32_t ftoe_ft_nslots(const struct ftoe_flow_table *ft)
{
	return ft->mask + 1;
}

#endif
