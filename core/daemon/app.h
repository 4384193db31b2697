/* app.h - the daemon's application server (RUN_DIR/flextoe.sock): contexts over a UNIX socket, memfd and eventfds. */
#ifndef FTOE_X86_APP_H
#define FTOE_X86_APP_H

#include <stdbool.h>

struct daemon;

/* Listen on RUN_DIR/flextoe.sock; call after the engine exists.  0 or -errno
 * (with a message). */
int app_server_start(struct daemon *d);
/* An fd that becomes readable when the server has work (for the poll set
 * of the backend's engine thread: struct x86_poller), or -1 when the
 * server is not running. */
int app_server_fd(void);
/* Accept applications, run their commands, wake them; on the thread that
 * runs the engine.  fd_ready: app_server_fd() was seen readable (else its
 * sources are looked at every APP_EPOLL_NS only).  Returns the number of
 * commands run (0: idle). */
unsigned int app_server_poll(struct daemon *d, bool fd_ready);
/* The engine's thread is about to block: from now on the applications
 * ring their doorbells (appif_ring.polling 0).  True when a command came
 * in meanwhile: poll again instead of blocking. */
bool app_server_idle(struct daemon *d);
/* Run fn(d, appif, arg) on the engine's thread, from another thread (the
 * control socket's: flextoe-stat reads the engine's tables there, where
 * nothing changes them meanwhile).  Waits up to timeout_ms: 0, -ETIMEDOUT
 * (fn did not run and will not), or -ESRCH when the server is not running. */
struct appif;
typedef void app_engine_fn(struct daemon *d, struct appif *a, void *arg);
int app_server_call(struct daemon *d, app_engine_fn *fn, void *arg, unsigned int timeout_ms);
/* Reset every application's connections and remove the socket. */
void app_server_stop(struct daemon *d);

#endif
