/* flextoe/firewall.h - map layouts of the firewall XDP program, shared with the rule compiler (loader/fw).
 *
 * Matching is tuple space search (docs/firewall.md): every rule is
 * expanded into (mask, masked key) pairs - CIDRs are prefix masks, port
 * ranges become a few port prefixes - and each distinct mask is a "tuple"
 * with one slot in fw_tuples.  Per packet, the program walks the active
 * generation's tuples in order of the lowest rule index each contains,
 * looks the masked packet fields up in fw_rules, keeps the lowest rule
 * index found and stops once no later tuple can hold a lower one: first
 * match wins.  Two generations of tables live side by side; fw_active
 * selects one, so a new rule set is written next to the old one and then
 * switched in with a single 4-byte map update.
 *
 * All fields host order except addresses (network order bytes).
 */
#ifndef FLEXTOE_FIREWALL_H
#define FLEXTOE_FIREWALL_H

#include <linux/types.h>

#define FW_GENERATIONS	2
#define FW_MAX_TUPLES	4096		/* distinct masks per generation */
#define FW_MAX_RULES	131072		/* rules per generation */
#define FW_MAX_ENTRIES	524288		/* fw_rules entries, both generations */

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

/* fw_rules key: the tuple slot (gen * FW_MAX_TUPLES + i) and the packet
 * fields under that tuple's mask. */
struct fw_key {
	__u32 tuple;
	struct fw_fields f;
};

struct fw_rule_val {
	__u32 rule;		/* rule index in the file order: lower wins */
	__u32 action;		/* FW_ACT_* */
};

/* fw_tuples value: the mask and the lowest rule index among the tuple's
 * entries.  A generation's tuples are stored sorted by min_rule. */
struct fw_tuple {
	__u32 min_rule;
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
_Static_assert(sizeof(struct fw_tuple) == 44, "fw_tuple layout");
_Static_assert(sizeof(struct fw_gen) == 16, "fw_gen layout");

#endif /* FLEXTOE_FIREWALL_H */
