/* flextoe/ctl.h - the control protocol of engine.sock and loader.sock: every request ("op") once, with the right it needs.
 *
 * Messages are length-prefixed JSON objects (lib/util/jsonmsg.h); a request
 * carries "op", a response "ok" and, when false, "errno" and "error"
 * (docs/loader.md).  FLEXTOE_CTL_OP_LIST is the one list of requests: the
 * engine's dispatch table (core/x86/ctl.c), flextoe-loaderd's permission
 * check and the CLI expand or look it up.  X(ID, NAME, PERM, WHAT):
 * FLEXTOE_CTL_OP_##ID; NAME on the wire; PERM READ (anyone who can reach
 * loader.sock) or WRITE (root or --loader-group); WHAT completes "only root
 * may ..." in a refusal.
 */
#ifndef FLEXTOE_CTL_H
#define FLEXTOE_CTL_H

#include <string.h>

#define FLEXTOE_CTL_OP_LIST(X)                                                          \
	X(HELLO,      "hello",      READ,  "ask for the engine's identity")            \
	X(LIST,       "list",       READ,  "list programs")                            \
	X(LOAD,       "load",       WRITE, "load programs")                            \
	X(UNLOAD,     "unload",     WRITE, "unload programs")                          \
	/* ring_read consumes records (another reader would lose them) and             \
	 * carries packet headers of every flow, which tcpdump also keeps from         \
	 * unprivileged users: it needs the same rights as load. */                    \
	X(RING_READ,  "ring_read",  WRITE, "read ring buffers (traced packets)")       \
	X(MAP_LIST,   "map_list",   READ,  "list maps")                                \
	X(MAP_DUMP,   "map_dump",   READ,  "read maps")                                \
	X(MAP_LOOKUP, "map_lookup", READ,  "read maps")                                \
	X(MAP_LOOKUP_BATCH, "map_lookup_batch", READ, "read maps")                     \
	X(MAP_UPDATE, "map_update", WRITE, "change maps")                              \
	X(MAP_DELETE, "map_delete", WRITE, "change maps")                              \
	/* as bpf(2)'s BPF_MAP_UPDATE_BATCH / _DELETE_BATCH: many keys per request */ \
	X(MAP_UPDATE_BATCH, "map_update_batch", WRITE, "change maps")                  \
	X(MAP_DELETE_BATCH, "map_delete_batch", WRITE, "change maps")                  \
	/* flextoe-stat (docs/operating.md): counters, connections, listeners */      \
	X(STATS,      "stats",      READ,  "read counters")                            \
	X(CONNS,      "conns",      READ,  "list connections")

enum flextoe_ctl_op {
	FLEXTOE_CTL_OP_NONE = 0,	/* not a request */
#define FLEXTOE_CTL_ENUM_(id, name, perm, what) FLEXTOE_CTL_OP_##id,
	FLEXTOE_CTL_OP_LIST(FLEXTOE_CTL_ENUM_)
#undef FLEXTOE_CTL_ENUM_
	FLEXTOE_CTL_OP__MAX,
};

enum flextoe_ctl_perm {
	FLEXTOE_CTL_READ = 0,
	FLEXTOE_CTL_WRITE = 1,
};

struct flextoe_ctl_op_desc {
	const char *name;
	enum flextoe_ctl_perm perm;
	const char *what;
};

/* The description of op (NULL for FLEXTOE_CTL_OP_NONE or out of range). */
static inline const struct flextoe_ctl_op_desc *flextoe_ctl_op_desc(int op)
{
	static const struct flextoe_ctl_op_desc descs[FLEXTOE_CTL_OP__MAX] = {
#define FLEXTOE_CTL_DESC_(id, nm, pm, wh) \
		[FLEXTOE_CTL_OP_##id] = { .name = nm, .perm = FLEXTOE_CTL_##pm, .what = wh },
		FLEXTOE_CTL_OP_LIST(FLEXTOE_CTL_DESC_)
#undef FLEXTOE_CTL_DESC_
	};

	return op > FLEXTOE_CTL_OP_NONE && op < FLEXTOE_CTL_OP__MAX ? &descs[op] : NULL;
}

/* The op a request names, FLEXTOE_CTL_OP_NONE when none (or name NULL). */
static inline enum flextoe_ctl_op flextoe_ctl_op_by_name(const char *name)
{
	for (int op = FLEXTOE_CTL_OP_NONE + 1; name && op < FLEXTOE_CTL_OP__MAX; op++)
		if (!strcmp(flextoe_ctl_op_desc(op)->name, name))
			return (enum flextoe_ctl_op)op;
	return FLEXTOE_CTL_OP_NONE;
}

static inline const char *flextoe_ctl_op_name(enum flextoe_ctl_op op)
{
	const struct flextoe_ctl_op_desc *d = flextoe_ctl_op_desc(op);

	return d ? d->name : NULL;
}

#endif
