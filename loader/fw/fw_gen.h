/* fw_gen.h - generated rule sets for tests and benchmarks: the site generator, ClassBench-style ACL, firewall and IP-chain sets, and the firewall set with IPv6 rules. */
#ifndef FTOE_LOADER_FW_GEN_H
#define FTOE_LOADER_FW_GEN_H

#include <stdint.h>
#include "loader/fw/fwrules.h"

enum fw_gen_kind {
	FW_GEN_SITE,	/* a site network 10/8 guarded against public sources */
	FW_GEN_ACL,	/* ClassBench-style access control list */
	FW_GEN_FW,	/* ClassBench-style firewall */
	FW_GEN_IPC,	/* ClassBench-style IP chain */
	FW_GEN_V6,	/* ClassBench-style firewall, IPv6 and IPv4 rules side by side */
	FW_GEN_NR,
};

/* "site", "acl", "fw", "ipc", "v6"; fw_gen_kind_parse returns -EINVAL for others. */
const char *fw_gen_kind_name(enum fw_gen_kind k);
int fw_gen_kind_parse(const char *name, enum fw_gen_kind *k);

/* A rule file of n rules (policy deny), malloc'd into *text.  The same
 * kind, n and seed give the same text.  No generated rule matches
 * FW_GEN_NOMATCH_SRC -> FW_GEN_NOMATCH_DST (TEST-NET-2 -> TEST-NET-1),
 * whatever the protocol and ports: every rule pins a source or a
 * destination prefix that covers neither.  0 or -ENOMEM. */
int fw_gen_rules(enum fw_gen_kind k, uint32_t n, uint64_t seed, char **text);

#define FW_GEN_NOMATCH_SRC	"198.51.100.7"
#define FW_GEN_NOMATCH_DST	"192.0.2.1"
/* The same for IPv6 (documentation prefix, RFC 3849): no generated IPv6
 * rule covers both. */
#define FW_GEN_NOMATCH6_SRC	"2001:db8:ffff::7"
#define FW_GEN_NOMATCH6_DST	"2001:db8:fffe::1"

/* A packet inside rule r (random host bits under its prefixes, ports from
 * its ranges, TCP or UDP when the rule's protocol is any), from the
 * generator state *rng. */
void fw_gen_packet_in(const struct fw_rule *r, uint64_t *rng, struct fw_packet *p);

/* A random packet (of a random rule's family) whose addresses come from the same prefixes as
 * the rules' (so that it may or may not match). */
void fw_gen_packet_near(const struct fw_ruleset *rs, uint64_t *rng, struct fw_packet *p);

#endif /* FTOE_LOADER_FW_GEN_H */
