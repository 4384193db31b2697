/* fw_stats.c - flextoe-fw stats: the hit counters of a running engine's firewall, per rule with its line of the applied file. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <flextoe/bpf.h>

#include "loader/fw/fw_engine.h"
#include "loader/fw/fw_engine_internal.h"
#include "loader/fw/fwrules.h"
#include "loader/loaderd/client.h"

static void stats_usage(FILE *f)
{
	fprintf(f,
		"Usage: flextoe-fw stats [--run-dir DIR] [--json] [--generation G]\n\n"
		"Hits per rule of the firewall's active rule set in the running engine (rule\n"
		"line and text, from the file flextoe-fw apply applied), the default\n"
		"policy's hits, and the program's totals.  A hit is one frame that reached\n"
		"the rx-pre hook and was decided by that rule (every segment of a\n"
		"connection counts, not only its SYN); frames that are not IP are passed\n"
		"without a hit.  Counters start at zero with each apply.\n\n"
		"  --run-dir DIR  the engine's run directory (default $FLEXTOE_RUN_DIR, else\n"
		"                 /run/flextoe)\n"
		"  --json         JSON output\n"
		"  --generation G the counters of rule-set generation G (0 or 1), also the one\n"
		"                 not active: what the previous set decided until the last\n"
		"                 apply switched (until the next apply resets them)\n"
		"  -h, --help     this help\n");
}

/* Where each line of text starts: starts[i] is line i + 1 (*nr lines);
 * stats looks up 100,000 rules' lines, which a walk from the top per rule
 * would make quadratic. */
static const char **line_starts(const char *text, size_t *nr)
{
	size_t n = 1, i = 0;
	const char **st;

	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	st = malloc(n * sizeof(*st));
	if (!st)
		return NULL;
	st[i++] = text;
	for (const char *p = text; (p = strchr(p, '\n')); p++)
		st[i++] = p + 1;
	*nr = n;
	return st;
}

/* Line n (1-based) of the text, without its newline, into out. */
static void line_of(const char **starts, size_t nr, unsigned int n, char *out, size_t size)
{
	const char *p, *e;

	if (!n || n > nr) {
		out[0] = 0;
		return;
	}
	p = starts[n - 1];
	e = strchr(p, '\n');
	snprintf(out, size, "%.*s", (int)(e ? e - p : (ptrdiff_t)strlen(p)), p);
	/* a trailing comment is not part of the rule */
	{
		char *hash = strchr(out, '#');

		if (hash)
			*hash = 0;
	}
	for (size_t l = strlen(out); l && (out[l - 1] == ' ' || out[l - 1] == '\t' ||
					   out[l - 1] == '\r'); l--)
		out[l - 1] = 0;
	while (out[0] == ' ' || out[0] == '\t')
		memmove(out, out + 1, strlen(out));
}

int fw_cmd_stats(int argc, char **argv)
{
	static const char *const stat_names[FW_STAT_MAX] = { "packets", "non_ip", "malformed",
							     "allowed", "denied" };
	const char *run_dir_opt = NULL, *run_dir;
	struct fw_ruleset *rs = NULL;
	struct fw_conn c = { .fd = -1 };
	struct fw_target t = { 0 };
	char src[PATH_MAX] = "", *text = NULL, line[512];
	uint64_t totals[FW_STAT_MAX] = { 0 }, policy_hits = 0, *hits = NULL;
	const char **starts = NULL;
	size_t nr_lines = 0;
	json_object *jr = NULL, *jrules = NULL;
	uint32_t id, active = 0, shown, zero = 0;
	struct fw_gen g = { 0 };
	bool json = false;
	int ret, err;

	ret = fw_parse_common(argc, argv, "stats", false, &run_dir_opt, NULL, &json, stats_usage);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind != argc)
		return fw_usage_err("stats", "unexpected argument '%s'", argv[optind]);
	run_dir = ldr_run_dir(run_dir_opt);
	ret = 1;
	if (fw_conn_open(&c, "stats", run_dir))
		goto out;
	if (fw_find_firewall(&c, &id))
		goto out;
	if (!id) {
		fw_err("stats", "no firewall program (%s) at %s in the engine of %s: apply a rule "
		       "file first (flextoe-fw apply RULES)", FW_PROG_NAME, FW_HOOK, run_dir);
		goto out;
	}
	t.c = &c;
	t.id = id;
	if ((err = fw_map_lookup(&t, "fw_active", &zero, sizeof(zero), &active, sizeof(active), NULL))) {
		fw_err("stats", "reading fw_active: %s", t.msg);
		goto out;
	}
	active &= 1;
	shown = fw_stats_gen >= 0 ? (uint32_t)fw_stats_gen : active;
	if ((err = fw_map_lookup(&t, "fw_gens", &shown, sizeof(shown), &g, sizeof(g), NULL))) {
		fw_err("stats", "reading fw_gens: %s", t.msg);
		goto out;
	}
	if (g.nr_rules > FW_MAX_RULES)
		g.nr_rules = FW_MAX_RULES;
	for (uint32_t s = 0; s < FW_STAT_MAX; s++)
		if ((err = fw_map_lookup(&t, "fw_stats", &s, sizeof(s), NULL, 0, &totals[s]))) {
			fw_err("stats", "reading fw_stats: %s", t.msg);
			goto out;
		}
	{
		uint32_t k = FW_COUNTER_IDX(shown, FW_MAX_RULES);

		if ((err = fw_map_lookup(&t, "fw_counters", &k, sizeof(k), NULL, 0, &policy_hits))) {
			fw_err("stats", "reading fw_counters: %s", t.msg);
			goto out;
		}
	}
	if (fw_saved_load(run_dir, id, shown, &rs, &text, src, sizeof(src)) ||
	    fw_ruleset_nr_rules(rs) != g.nr_rules) {
		fw_ruleset_free(rs);
		rs = NULL;
		src[0] = 0;
	}

	if (json) {
		jr = json_object_new_object();
		jrules = json_object_new_array();
		json_object_object_add(jr, "prog_id", json_object_new_int64(id));
		json_object_object_add(jr, "hook", json_object_new_string(FW_HOOK));
		json_object_object_add(jr, "generation", json_object_new_int64(shown));
		json_object_object_add(jr, "active", json_object_new_boolean(shown == active));
		json_object_object_add(jr, "source", src[0] ? json_object_new_string(src) : NULL);
		json_object_object_add(jr, "policy", json_object_new_string(
					       g.policy == FW_ACT_DENY ? "deny" : "allow"));
	} else {
		printf("firewall program %u at %s, generation %u%s, %u rules%s%s, policy %s\n", id,
		       FW_HOOK, shown, shown == active ? "" : " (not active)", g.nr_rules, src[0] ? " from " : "", src,
		       g.policy == FW_ACT_DENY ? "deny" : "allow");
		printf("%12s %6s  %s\n", "HITS", "LINE", "RULE");
	}
	hits = calloc(g.nr_rules ? g.nr_rules : 1, sizeof(*hits));
	if (!hits) {
		fw_err("stats", "out of memory");
		goto out;
	}
	if ((err = fw_counters_read(&t, shown, g.nr_rules, hits))) {
		fw_err("stats", "reading fw_counters: %s", t.msg);
		goto out;
	}
	if (text && !(starts = line_starts(text, &nr_lines))) {
		fw_err("stats", "out of memory");
		goto out;
	}
	for (uint32_t i = 0; i < g.nr_rules; i++) {
		const struct fw_rule *r = rs ? fw_ruleset_rule(rs, i) : NULL;
		line[0] = 0;
		if (r && starts)
			line_of(starts, nr_lines, r->line + 1, line, sizeof(line));	/* +1: the header */
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "index", json_object_new_int64(i));
			json_object_object_add(o, "line", r ? json_object_new_int64(r->line) : NULL);
			json_object_object_add(o, "rule", line[0] ? json_object_new_string(line) : NULL);
			json_object_object_add(o, "hits", json_object_new_int64((int64_t)hits[i]));
			json_object_array_add(jrules, o);
		} else if (r) {
			printf("%12llu %6u  %s\n", (unsigned long long)hits[i], r->line, line);
		} else {
			printf("%12llu %6s  rule #%u\n", (unsigned long long)hits[i], "-", i);
		}
	}
	if (json) {
		json_object *tot = json_object_new_object();

		json_object_object_add(jr, "rules", jrules);
		jrules = NULL;
		json_object_object_add(jr, "policy_hits", json_object_new_int64((int64_t)policy_hits));
		for (int s = 0; s < FW_STAT_MAX; s++)
			json_object_object_add(tot, stat_names[s],
					       json_object_new_int64((int64_t)totals[s]));
		json_object_object_add(jr, "totals", tot);
		puts(json_object_to_json_string_ext(jr, JSON_C_TO_STRING_PRETTY |
						    JSON_C_TO_STRING_SPACED |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("%12llu %6s  policy %s (no rule matched)\n", (unsigned long long)policy_hits,
		       "-", g.policy == FW_ACT_DENY ? "deny" : "allow");
		printf("frames %llu: allowed %llu, denied %llu, not IP (passed) %llu, malformed "
		       "(dropped) %llu\n", (unsigned long long)totals[FW_STAT_PACKETS],
		       (unsigned long long)totals[FW_STAT_ALLOWED],
		       (unsigned long long)totals[FW_STAT_DENIED],
		       (unsigned long long)totals[FW_STAT_NON_IP],
		       (unsigned long long)totals[FW_STAT_MALFORMED]);
	}
	ret = 0;
out:
	json_object_put(jr);
	json_object_put(jrules);
	fw_conn_close(&c);
	fw_ruleset_free(rs);
	free(hits);
	free(starts);
	free(text);
	return ret;
}
