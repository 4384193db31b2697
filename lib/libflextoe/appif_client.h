/* appif_client.h - the client half of the context handshake (hello, welcome, mapping), shared by libflextoe and libflextoe-posix. */
#ifndef FTOE_LIB_APPIF_CLIENT_H
#define FTOE_LIB_APPIF_CLIENT_H

#include <stdint.h>

#include <flextoe/appif.h>

struct appif_client {
	int fd;			/* the UNIX connection to the daemon */
	int efd_in;		/* app -> engine */
	int efd_out;		/* engine -> app */
	uint8_t *shm;
	struct appif_layout l;
};

/* Connect to DIR/flextoe.sock, ask for a context of max_socks sockets with
 * buf_size-byte rings, and map it.  cloexec: the three fds get
 * FD_CLOEXEC.  0 or -errno (-ENOENT/-ECONNREFUSED: no engine there,
 * -EPROTO: another contract version); on failure nothing stays open. */
int appif_client_open(const char *dir, uint32_t max_socks, uint32_t buf_size, int cloexec,
		      struct appif_client *out);
void appif_client_close(struct appif_client *c);

#endif
