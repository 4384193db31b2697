/* flextoe/firewall.h - map layouts of the firewall XDP program, shared with the rule compiler (loader/fw).
 *
 * Matching is merged tuple space search (docs/firewall.md; after Daly et
 * al.'s TupleMerge): every rule goes, as one whole rule, into one bucket
 * of one hash table ("tuple").  A table hashes the fields under its mask -
 * address prefixes and port blocks no longer than those of any rule it
 * holds - so rules of many different prefix lengths share a few tables.
 * A bucket (fw_rules value) lists up to FW_BUCKET_RULES rule indices in
 * ascending order; each candidate is checked in full against its
 * fw_defs entry (prefixes and port ranges).  Per packet, the program
 * walks the active generation's tables in order of the lowest rule index
 * each holds, keeps the lowest matching index and stops once no later
 * table can hold a lower one: first match wins.  Two generations of
 * tables live side by side; fw_active selects one, so a new rule set is
 * written next to the old one and switched in with one 4-byte update.
 *
 * All fields host order except addresses (network order bytes).
 */
#ifndef FLEXTOE_FIREWALL_H
#define FLEXTOE_FIREWALL_H

#include <linux/types.h>

#define FW_GENERATIONS	2
#define FW_MAX_TUPLES	4096		/* tables per generation */
#define FW_MAX_RULES	131072		/* rules per generation */
#define FW_MAX_ENTRIES	524288		/* fw_rules buckets, both generations */
#define FW_BUCKET_RULES	24		/* rule indices per bucket */

#define FW_ACT_ALLOW	0
#define FW_ACT_DENY	1

/* The fields a rule looks at, already masked.  IPv4 addresses sit in the
 * first 4 bytes of src/dst, the rest zero.  family is 4 or 6, or 0 in a
 * rule that matches both (addresses "any"); ports are 0 for protocols
 * other than TCP/UDP and for IPv4 fragments after the first. */
struct fw_fields {
	__u8 family;
	__u8 proto;		/* IPPROTO_*, 0 in rules for any protocol */
	__u16 sport;
	__u16 dport;
	__u16 pad;		/* zero */
	__u8 src[16];
	__u8 dst[16];
};

/* fw_rules key: the table (gen * FW_MAX_TUPLES + its id) and the packet
 * fields under that table's mask. */
struct fw_key {
	__u32 tuple;
	struct fw_fields f;
};

/* fw_rules value: the rules whose fields, under the table's mask, equal
 * the key - candidates, each still checked against its fw_defs entry.
 * rule[0..nr) ascending (rule index in file order: lower wins). */
struct fw_bucket {
	__u32 nr;
	__u32 rule[FW_BUCKET_RULES];
};

/* fw_defs value (array, gen * FW_MAX_RULES + rule): one rule in full.
 * family/proto 0 match any; addresses match when (a & mask) == addr. */
struct fw_rule_def {
	__u8 family;
	__u8 proto;
	__u8 action;		/* FW_ACT_* */
	__u8 pad;
	__u16 sport_lo, sport_hi;	/* inclusive */
	__u16 dport_lo, dport_hi;
	__u8 src[16];
	__u8 src_mask[16];
	__u8 dst[16];
	__u8 dst_mask[16];
};

/* fw_tuples value: the table's mask, its id (fixed for the table's life,
 * so its buckets' keys stay put when an update reorders the tables) and
 * the lowest rule index among its buckets.  A generation's tables are
 * stored sorted by min_rule; nr_tuples of them are probed. */
struct fw_tuple {
	__u32 min_rule;
	__u32 id;
	struct fw_fields mask;
};

/* fw_gens value, one per generation. */
struct fw_gen {
	__u32 nr_tuples;
	__u32 nr_rules;
	__u32 policy;		/* FW_ACT_* when no rule matches */
	__u32 pad;
};

/* fw_counters (per-CPU array): hits per rule, per generation, then the
 * default policy's hits at index FW_MAX_RULES of the generation. */
#define FW_COUNTER_SLOTS	(FW_MAX_RULES + 1)
#define FW_COUNTER_IDX(gen, rule)	((gen) * FW_COUNTER_SLOTS + (rule))

/* fw_stats (per-CPU array) */
enum fw_stat {
	FW_STAT_PACKETS = 0,
	FW_STAT_NON_IP,		/* not IPv4/IPv6: passed, not filtered */
	FW_STAT_MALFORMED,	/* truncated or bad IP/L4 header: dropped */
	FW_STAT_ALLOWED,
	FW_STAT_DENIED,
	FW_STAT_MAX,
};

_Static_assert(sizeof(struct fw_fields) == 40, "fw_fields layout");
_Static_assert(sizeof(struct fw_key) == 44, "fw_key layout");
_Static_assert(sizeof(struct fw_tuple) == 48, "fw_tuple layout");
_Static_assert(sizeof(struct fw_bucket) == 4 + 4 * FW_BUCKET_RULES, "fw_bucket layout");
_Static_assert(sizeof(struct fw_rule_def) == 76, "fw_rule_def layout");
_Static_assert(sizeof(struct fw_gen) == 16, "fw_gen layout");

#endif /* FLEXTOE_FIREWALL_H */
