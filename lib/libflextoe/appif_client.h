/* appif_client.h - the client half of the context handshake (hello, welcome, mapping), shared by libflextoe and libflextoe-posix. */
#ifndef FTOE_LIB_APPIF_CLIENT_H
#define FTOE_LIB_APPIF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
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

/* The context's two rings (single producer, single consumer; positions
 * free-running, as appif.h says).  The producer keeps its head and the
 * consumer its tail in *pos.  put: 0, or -EAGAIN while the ring is full.
 * take: 1 with the entry copied out, or 0 when the ring is empty. */
int appif_ring_put(uint8_t *shm, size_t ring_off, size_t ent_off, uint32_t entries, size_t esz,
		   uint32_t *pos, const void *e);
int appif_ring_take(uint8_t *shm, size_t ring_off, size_t ent_off, uint32_t entries, size_t esz,
		    uint32_t *pos, void *e);
/* The same for the command ring (app -> engine) and the event ring. */
static inline int appif_cmd_put(uint8_t *shm, const struct appif_layout *l, uint32_t *head,
				const struct appif_cmd *c)
{
	return appif_ring_put(shm, l->cmd_ring, l->cmd, l->cmd_entries, sizeof(*c), head, c);
}

/* After a command was published (appif_cmd_put): must the producer write
 * the app -> engine eventfd?  Only when the engine may be asleep
 * (appif_ring.polling 0), and once per sleep: it leaves
 * APPIF_POLLING_RUNG, so the commands that follow before the engine wakes
 * (a send's TX, then its RXDONE) do not ring again (docs/api.md
 * "Doorbells").  One thread of the context at a time. */
bool appif_doorbell_needed(uint8_t *shm, const struct appif_layout *l);

static inline int appif_ev_take(uint8_t *shm, const struct appif_layout *l, uint32_t *tail,
				struct appif_ev *ev)
{
	return appif_ring_take(shm, l->ev_ring, l->ev, l->ev_entries, sizeof(*ev), tail, ev);
}

#endif
