/* app.h - the daemon's application server (RUN_DIR/flextoe.sock): contexts over a UNIX socket, memfd and eventfds. */
#ifndef FTOE_X86_APP_H
#define FTOE_X86_APP_H

struct daemon;

/* Listen on RUN_DIR/flextoe.sock; call after the engine exists.  0 or -errno
 * (with a message). */
int app_server_start(struct daemon *d);
/* An fd that becomes readable when the server has work (for the poll set
 * of the backend's engine thread: struct x86_poller), or -1 when the
 * server is not running. */
int app_server_fd(void);
/* Accept applications, run their commands, wake them; on the thread that
 * runs the engine.  Returns the number of commands run (0: idle). */
unsigned int app_server_poll(struct daemon *d);
/* Reset every application's connections and remove the socket. */
void app_server_stop(struct daemon *d);

#endif
