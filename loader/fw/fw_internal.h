/* fw_internal.h - the firewall compiler's in-memory records (rule sets, a generation's tables), shared by its files only. */
#ifndef FTOE_LOADER_FW_INTERNAL_H
#define FTOE_LOADER_FW_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader/fw/fwrules.h"

/* A snapshot file mapped shared (fw_snapshot.c): arrays of a rule set
 * or of tables read from it live in the file's page cache instead of in
 * fresh memory, and are changed there in place.  Counted: the tables and
 * the rule set read from one file each hold a reference. */
struct fw_store;

/* Whether p lies in s's mapping (NULL s: no) - not the caller's to free. */
bool fw_store_holds(const struct fw_store *s, const void *p);
void fw_store_put(struct fw_store *s);

struct fw_ruleset {
	struct fw_rule *rules;
	size_t nr, cap;
	uint32_t policy;
	unsigned int policy_line;	/* 0: not set, default allow */
	struct fw_store *store;		/* rules may live in it (fw_snapshot_read) */
};

struct fw_sig {
	uint8_t fam, proto;		/* 1: the table keys on it */
	uint8_t splen, dplen;		/* address prefix lengths */
	uint8_t spplen, dpplen;		/* port prefix lengths, 0..16 */
};

struct fw_table {
	struct fw_sig sig;
	struct fw_fields mask;
	uint32_t min_rule;	/* FW_MAX_RULES when empty */
};

/* A bucket in memory; nr 0 once its last rule left (its map key is then
 * deleted; the slot stays for reuse). */
struct fw_cbucket {
	uint32_t tid;
	struct fw_fields key;
	struct fw_bucket b;
	bool in_map;		/* written to fw_rules and not deleted since */
	bool dirty;		/* changed since the last write */
};

/* One generation's tables, in memory: what its maps hold after the last
 * write, so that an update can write only what changes. */
struct fw_tables {
	uint32_t gen, nr_rules, policy;
	struct fw_table *tab;
	uint32_t nr_tab;
	struct fw_cbucket *bk;
	uint32_t nr_bk, cap_bk;
	uint32_t *slots;	/* open addressing over bk: index + 1, 0 empty */
	uint32_t nr_slots;	/* power of two, > 2 * nr_bk */
	struct fw_rule_def *defs;
	uint32_t *loc;		/* rule -> its bucket + 1; 0: shadowed, in no bucket */
	uint32_t cap_rules;
	uint32_t *dirty;	/* buckets changed since the last write */
	uint32_t nr_dirty, cap_dirty;
	struct fw_tuple *written;	/* fw_tuples as last written, by slot */
	uint32_t nr_written;		/* fw_gens nr_tuples as last written */
	uint32_t shadowed;
	struct fw_store *store;	/* bk, slots, defs, loc may live in it (fw_snapshot_read) */
};

/* Fill err (when given) with the line and message; returns ret (fwrules.c). */
int fw_fail(struct fw_error *err, unsigned int line, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif /* FTOE_LOADER_FW_INTERNAL_H */
