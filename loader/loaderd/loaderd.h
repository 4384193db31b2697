/* loaderd.h - flextoe-loaderd's internal interface: its state and the request handlers. */
#ifndef FTOE_LOADERD_H
#define FTOE_LOADERD_H

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

struct ldr_state {
	const char *run_dir;
	char engine_sock[108];
	char progs_dir[4096];		/* RUN_DIR/progs: copies of loaded objects */
	bool have_group;
	gid_t group;			/* --group: may change programs and maps */
	const char *group_name;
};

/* Who is asking (SO_PEERCRED + SO_PEERGROUPS). */
struct ldr_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged;		/* root or a member of --group */
};

/* Handle one client request; returns the response (never NULL). */
json_object *ldr_handle(struct ldr_state *st, const struct ldr_peer *peer, json_object *req);
/* After a (re)start: learn the engine's programs, drop copies of objects
 * the engine no longer runs.  Logs what it found. */
void ldr_resync(struct ldr_state *st);

#endif
