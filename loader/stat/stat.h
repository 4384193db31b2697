/* stat.h - flextoe-stat: the verbs (ss.c, counters.c) and what they share (main.c). */
#ifndef FTOE_STAT_H
#define FTOE_STAT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include <flextoe/ctl.h>

#define STAT_NAME "flextoe-stat"
/* Exit codes: 0 ok, 1 the engine could not be asked or refused, 2 usage. */
#define STAT_EXIT_FAIL 1
#define STAT_EXIT_USAGE 2

/* Print "flextoe-stat VERB: ...", "Try flextoe-stat VERB --help"; STAT_EXIT_USAGE. */
int stat_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ask the engine (through flextoe-loaderd in run_dir, or the engine's own
 * socket with direct) for op.  The response when ok; else prints why and
 * returns NULL. */
json_object *stat_call(const char *run_dir, bool direct, enum flextoe_ctl_op op);
void stat_print_json(json_object *o);
/* o[k] as a number (0 when missing). */
long long stat_geti(json_object *o, const char *k);
const char *stat_gets(json_object *o, const char *k);

int stat_ss(int argc, char **argv);
int stat_counters(int argc, char **argv);

#endif
