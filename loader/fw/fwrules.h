/* fwrules.h - firewall rule files: parsing, first-match reference semantics, compilation into the firewall program's maps.
 *
 * Rule file syntax (docs/firewall.md): one rule per line,
 *     ACTION PROTO SRC SPORT DST DPORT
 * ACTION allow|deny; PROTO tcp|udp|any; SRC/DST an IPv4 or IPv6 CIDR, a
 * bare address (/32, /128) or any; SPORT/DPORT a port, a range LO-HI, or
 * any (ports need tcp or udp); `policy allow|deny` sets the default
 * (allow when absent); `#` starts a comment.  The first matching rule
 * wins.  Compilation follows include/flextoe/firewall.h.
 *
 * Functions return 0 or a negative errno.  Nothing here depends on the
 * runtime or libbpf: map writes go through struct fw_map_ops, so the
 * same code fills kernel maps, runtime maps or prints the updates.
 */
#ifndef FTOE_LOADER_FWRULES_H
#define FTOE_LOADER_FWRULES_H

#include <stddef.h>
#include <stdint.h>
#include <flextoe/firewall.h>

struct fw_rule {
	unsigned int line;	/* 1-based line in the rule file */
	uint8_t action;		/* FW_ACT_* */
	uint8_t proto;		/* IPPROTO_TCP / IPPROTO_UDP, 0 = any */
	uint8_t family;		/* 4 or 6, 0 when both addresses are any */
	uint8_t src_plen;	/* prefix lengths; 0 with any */
	uint8_t dst_plen;
	uint8_t src[16];	/* network order, host bits zero */
	uint8_t dst[16];
	uint16_t sport_lo, sport_hi;	/* inclusive; 0-65535 = any */
	uint16_t dport_lo, dport_hi;
};

struct fw_ruleset;

/* Where parsing failed: line (0 for errors not tied to a line, e.g. the
 * file cannot be read) and a message saying what was wrong. */
struct fw_error {
	unsigned int line;
	char msg[256];
};

/* Parse a rule file / a string (name is used in messages only).  On
 * failure *out is NULL, err says why: -EINVAL for a bad line, -E2BIG for
 * more than FW_MAX_RULES rules, -ENOENT/-EACCES/... when the file cannot
 * be read, -ENOMEM. */
int fw_ruleset_parse_file(const char *path, struct fw_ruleset **out, struct fw_error *err);
int fw_ruleset_parse_str(const char *text, struct fw_ruleset **out, struct fw_error *err);
/* text parsed as a change of old_text, which old was parsed from: the
 * lines the two share at the top and at the bottom keep old's rules
 * (renumbered), only the lines between are parsed.  The result and the
 * errors are those of fw_ruleset_parse_str(text); a change of the policy
 * line is parsed in full.  For a few edited lines of a large file. */
int fw_ruleset_parse_edit(const struct fw_ruleset *old, const char *old_text, const char *text,
			  struct fw_ruleset **out, struct fw_error *err);
void fw_ruleset_free(struct fw_ruleset *rs);

size_t fw_ruleset_nr_rules(const struct fw_ruleset *rs);
const struct fw_rule *fw_ruleset_rule(const struct fw_ruleset *rs, size_t i);
uint32_t fw_ruleset_policy(const struct fw_ruleset *rs);

/* A packet as the firewall program sees it (struct fw_fields without
 * masks): family 4/6, proto, ports host order (0 when absent), addresses
 * network order (IPv4 in the first 4 bytes). */
struct fw_packet {
	uint8_t family;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t src[16];
	uint8_t dst[16];
};

/* Reference semantics: the action for pkt, straight from the rule list;
 * *rule gets the matching rule's index or FW_MAX_RULES for the policy. */
uint32_t fw_ruleset_match(const struct fw_ruleset *rs, const struct fw_packet *pkt,
			  uint32_t *rule);

/* Map writes.  map is one of the firewall program's map names
 * ("fw_defs", "fw_rules", "fw_tuples", "fw_gens", "fw_active"); key and
 * value are in the layouts of include/flextoe/firewall.h.  del removes a
 * key (only fw_rules; -ENOENT for a missing key is fine); only
 * fw_ruleset_compile_update needs it.  flush (optional) lets update and
 * del queue their writes and send them in batches: it must make every
 * write issued so far reach the maps, in order; the compiler calls it
 * before the switch (the fw_active write) and after it, so the switch is
 * never seen before the rest.  Return 0 or -errno. */
struct fw_map_ops {
	int (*update)(void *ctx, const char *map, const void *key, size_t key_size,
		      const void *value, size_t value_size);
	void *ctx;
	int (*del)(void *ctx, const char *map, const void *key, size_t key_size);
	int (*flush)(void *ctx);
};

struct fw_compile_stats {
	uint32_t nr_rules;
	uint32_t nr_tuples;	/* hash tables */
	uint32_t nr_entries;	/* fw_rules buckets */
	uint32_t nr_shadowed;	/* rules dropped: an earlier one matches the same packets */
	uint32_t nr_writes;	/* map updates and deletes issued */
	uint64_t mem_bytes;	/* keys and values the generation occupies */
};

/* Compile rs into generation gen (0 or 1): fw_defs, fw_rules buckets,
 * fw_tuples, fw_gens[gen], and last fw_active = gen, the atomic
 * switch-over (the program reads fw_active once per packet).  Counters
 * are not touched.  The generation must hold nothing (stale buckets of an
 * earlier set would stay; use fw_ruleset_compile_update for that).
 * -E2BIG when the rules need more than FW_MAX_TUPLES tables or
 * FW_MAX_ENTRIES / FW_GENERATIONS buckets; ops errors are passed on. */
int fw_ruleset_compile(const struct fw_ruleset *rs, uint32_t gen, const struct fw_map_ops *ops,
		       struct fw_compile_stats *stats, struct fw_error *err);

/* Incremental updates.  struct fw_tables is a generation's compiled
 * tables kept in memory: exactly what its maps hold.
 *
 * fw_tables_compile is fw_ruleset_compile that also hands back the
 * tables (*out, free with fw_tables_free).  fw_tables_update makes the
 * generation hold rs instead: rules whose position and fields are
 * unchanged stay where they are; changed, added and removed rules are
 * taken out of and put into buckets one by one, and only the fw_defs,
 * fw_rules (ops->del for emptied buckets) and fw_tuples entries that
 * differ are written, then fw_gens and the switch, as in a full compile.
 * Its cost follows the number of changed rule positions: an edit in
 * place or at the end touches a few entries; an insert near the top
 * shifts every later rule, and past 64 + n/8 changed positions the set
 * is compiled anew and only the entries that differ are written.  On
 * failure the maps may hold a partial update of the (inactive)
 * generation and t no longer describes them: drop it, and compile the
 * generation in full next time.
 *
 * fw_ruleset_compile_update does the same when the generation holds
 * prev (compiled by any of these) but its tables are not at hand: prev
 * is compiled in memory first (no writes), then updated. */
struct fw_tables;

int fw_tables_compile(const struct fw_ruleset *rs, uint32_t gen, const struct fw_map_ops *ops,
		      struct fw_tables **out, struct fw_compile_stats *stats, struct fw_error *err);
int fw_tables_update(struct fw_tables *t, const struct fw_ruleset *rs, const struct fw_map_ops *ops,
		     struct fw_compile_stats *stats, struct fw_error *err);
void fw_tables_free(struct fw_tables *t);
int fw_ruleset_compile_update(const struct fw_ruleset *prev, const struct fw_ruleset *rs,
			      uint32_t gen, const struct fw_map_ops *ops,
			      struct fw_compile_stats *stats, struct fw_error *err);

/* The tables of a generation that holds prev (compiled by any of these),
 * rebuilt in memory without writing: what fw_ruleset_compile_update
 * starts from. */
int fw_tables_of(const struct fw_ruleset *prev, uint32_t gen, struct fw_tables **out,
		 struct fw_error *err);

/* Snapshots (fw_snapshot.c): t - as its maps hold it, after a successful
 * compile or update - and rs, the rule set it was compiled from, in a
 * file at path (written beside and renamed).  tag is the caller's: read
 * gives back only a snapshot written with the same tag, by the same
 * build (struct sizes), with an intact checksum; else -ESTALE (-ENOENT
 * when there is no file).  With one, an update neither parses nor
 * compiles the unchanged rules (fw_ruleset_parse_edit, fw_tables_update). */
int fw_snapshot_write(const char *path, uint64_t tag, const struct fw_tables *t,
		      const struct fw_ruleset *rs);
int fw_snapshot_read(const char *path, uint64_t tag, struct fw_tables **t, struct fw_ruleset **rs);
/* Before the generation's maps change: the snapshot at path stops being
 * one (renamed to PATH.tmp, so a failed update leaves none), and the
 * next fw_snapshot_write(path) overwrites that file in place. */
int fw_snapshot_set_aside(const char *path);

/* Split [lo, hi] into aligned port prefixes (value, prefix length 0..16),
 * as few as possible (at most 30); returns how many were written. */
int fw_port_prefixes(uint16_t lo, uint16_t hi, uint16_t *vals, uint8_t *plens);

#endif /* FTOE_LOADER_FWRULES_H */
