/* appif.h - the engine side of the application interface: contexts, their commands and events (the contract itself is include/flextoe/appif.h). */
#ifndef FTOE_CORE_APPIF_H
#define FTOE_CORE_APPIF_H

#include <flextoe/appif.h>

/* ---- engine side (appif.c): runs on the engine's thread only ---------- */
struct ftoe_engine;
struct appif;
struct appif_ctx;

/* Registers the engine's socket event callback. */
int appif_create(struct ftoe_engine *eng, struct appif **out);
void appif_destroy(struct appif *a);
/* Who the application is, as the daemon learned it when it connected
 * (SO_PEERCRED, its capabilities, docs/engine.md "Who may use the
 * engine"). */
struct appif_peer {
	int pid;			/* for log messages */
	uint32_t uid, gid;
	/* ports below it need CAP_NET_BIND_SERVICE, which the application
	 * lacks: ip_unprivileged_port_start, or 0 (any port) */
	uint32_t unpriv_port_start;
};

/* A new context in shm (already sized by appif_layout and zeroed);
 * notify(arg, groups) wakes the application: its eventfd, and the wake
 * groups (appif.h) of the sockets that had events since the last call. */
int appif_ctx_add(struct appif *a, void *shm, uint32_t max_socks, uint32_t buf_size,
		  const struct appif_peer *peer, void (*notify)(void *arg, uint64_t groups),
		  void *arg,
		  struct appif_ctx **out);
/* Commands a context sent that named no socket of its own (refused with
 * -EBADF), e.g. another application's handle. */
uint64_t appif_ctx_refused(const struct appif_ctx *c);
/* The application is gone: reset its connections, close its listeners. */
void appif_ctx_remove(struct appif *a, struct appif_ctx *c);
/* Execute the context's queued commands; returns how many. */
unsigned int appif_ctx_poll(struct appif *a, struct appif_ctx *c);
/* Wake every application that has new events. */
void appif_flush(struct appif *a);
/* Who owns engine socket (flow id) sock, or the listener with index lis
 * (-1: look at sock): the context's id and its pid; 0 when an application
 * owns it, -ENOENT when none does (an orphan draining, an engine-side flow).
 * For flextoe-stat ss -p. */
int appif_owner(const struct appif *a, uint32_t sock, int lis, uint32_t *ctx_id, int *pid);

/* Connection splicing (core/control/splice.h): the backend's access to
 * the splice program's maps.  Without it APPIF_OP_SPLICE fails with
 * -ENOENT.  0 or -errno. */
struct ftoe_splice_map_ops;
int appif_splice_enable(struct appif *a, const struct ftoe_splice_map_ops *ops);
/* Release the connections of splices the program has ended and tell
 * their applications; call every ~100 ms.  Returns how many ended. */
unsigned int appif_splice_poll(struct appif *a);
/* Splices in effect (0 without splice support). */
unsigned int appif_splice_count(struct appif *a);

#endif
