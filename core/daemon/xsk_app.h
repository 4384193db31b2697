/* xsk_app.h - the engine's raw-frame sockets (XSKMAP targets): opened by applications on their context's UNIX connection, filled by rx-pre redirects (xsk_app.c). */
#ifndef FTOE_DAEMON_XSK_APP_H
#define FTOE_DAEMON_XSK_APP_H

#include <stdint.h>

#include "flextoe/appif_xsk.h"

struct daemon;

/* Sockets open at once, over all contexts. */
#define XSKA_MAX 256u

/* One request of the context owner (its UNIX connection fd): answered on
 * fd with a struct appif_xsk_reply (OPEN: with the ring's memfd and the
 * eventfd).  The engine's thread (app.c). */
void xska_request(struct daemon *d, int fd, const void *owner, const struct appif_xsk_req *r);
/* The context of owner is gone: close its sockets (they leave every
 * XSKMAP slot). */
void xska_close_owner(struct daemon *d, const void *owner);
/* Every socket, at shutdown (no program runs any more). */
void xska_close_all(struct daemon *d);

/* Data path, any thread: put a frame into socket id's ring.  0, -EBADF
 * (no such socket: closed, or never opened), -ENOBUFS (ring full),
 * -EMSGSIZE (longer than a slot); the last two are counted in the ring's
 * header. */
int xska_deliver(uint32_t id, const void *frame, uint32_t len);
/* struct ebpf_host xsk_check: 0 when id is an open socket, -EBADF. */
int xska_check(void *ctx, uint32_t id);

#endif
