/* fw_engine_internal.h - what flextoe-fw apply (fw_engine.c) and stats (fw_stats.c) share: the loaderd connection, map requests, the saved rule files. */
#ifndef FTOE_LOADER_FW_ENGINE_INTERNAL_H
#define FTOE_LOADER_FW_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loader/fw/fwrules.h"

#define FW_PROG_NAME	"xdp_firewall"	/* the program in firewall.bpf.o */
#define FW_OBJ_NAME	"firewall.bpf.o"
#define FW_HOOK		flextoe_hook_name_of(FLEXTOE_HOOK_RX_PRE)
#define FW_SAVE_DIR	"fw"		/* RUN_DIR/fw/gen<G>.rules */

struct fw_conn {
	int fd;
	const char *verb;
	char sock[256];
};

struct fw_batch {
	char map[32];
	bool del;
	size_t ksz, vsz;
	uint8_t *keys, *vals;
	uint32_t n;
};

struct fw_target {
	struct fw_conn *c;
	uint32_t id;		/* the firewall's program id */
	unsigned long updates, deletes, requests;
	bool no_batch;		/* an engine without the batch requests */
	struct fw_batch q;
	char msg[2048];		/* the last failure */
};

/* "flextoe-fw VERB: ..." on stderr; returns 1 (the exit code). */
int fw_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for wrong arguments; returns 2. */
int fw_usage_err(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int fw_conn_open(struct fw_conn *c, const char *verb, const char *run_dir);
void fw_conn_close(struct fw_conn *c);
/* The firewall program's id at rx-pre, 0 when none is loaded. */
int fw_find_firewall(struct fw_conn *c, uint32_t *id);
int fw_map_lookup(struct fw_target *t, const char *map, const void *key, size_t ksz,
		  void *val, size_t vsz, uint64_t *percpu_sum);
int fw_counters_read(struct fw_target *t, uint32_t gen, uint32_t n, uint64_t *hits);
int fw_saved_load(const char *run_dir, uint32_t id, uint32_t gen, struct fw_ruleset **rs,
		  char **text, char *src, size_t srcsz);

/* stats --generation G (-1: the active one) */
extern int fw_stats_gen;
int fw_parse_common(int argc, char **argv, const char *verb, bool with_obj, const char **run_dir,
		    const char **obj, bool *json, void (*usage)(FILE *));

#endif /* FTOE_LOADER_FW_ENGINE_INTERNAL_H */
