/* app_cred.h - who may use the engine through flextoe.sock, and which ports an application may take (docs/engine.md "Who may use the engine"). */
#ifndef FTOE_DAEMON_APP_CRED_H
#define FTOE_DAEMON_APP_CRED_H

#include "core/control/appif.h"

struct daemon_opts;

/* The application on the UNIX connection fd: fill peer (pid, uid, gid,
 * the ports it may take).  0, or -EACCES when --app-group keeps it out
 * (logged: the application gets the -EACCES in its welcome). */
int app_cred_admit(const struct daemon_opts *o, int fd, struct appif_peer *peer);
/* flextoe.sock's owner and mode: 0666 (any local user, as kernel
 * sockets), or 0660 with the --app-group group.  0, or -errno with errno
 * set. */
int app_cred_socket_mode(const struct daemon_opts *o, const char *path);

#endif
