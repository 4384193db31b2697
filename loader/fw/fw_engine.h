/* fw_engine.h - flextoe-fw apply and stats: the firewall of a running engine, through flextoe-loaderd. */
#ifndef FTOE_LOADER_FW_ENGINE_H
#define FTOE_LOADER_FW_ENGINE_H

/* The verbs; argv[0] is the verb.  Return the process exit code:
 * 0 done, 1 failed (bad rule file, engine or loaderd unreachable,
 * refused), 2 wrong arguments. */
int fw_cmd_apply(int argc, char **argv);
int fw_cmd_stats(int argc, char **argv);

#endif
