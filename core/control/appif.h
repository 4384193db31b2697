/* appif.h - the application interface: hello/welcome messages, the shared-memory layout of a context, and the engine-side context logic. */
#ifndef FTOE_CORE_APPIF_H
#define FTOE_CORE_APPIF_H

#include <stddef.h>
#include <stdint.h>

/*
 * One context = one UNIX-socket connection to the daemon = one memfd.  The
 * memfd holds, in order (offsets from appif_layout()):
 *   struct appif_shm_hdr                      (one page)
 *   command ring  app -> engine  (SPSC, struct appif_cmd entries)
 *   event ring    engine -> app  (SPSC, struct appif_ev entries)
 *   struct appif_sock[max_socks]               (per-socket ring positions)
 *   buffers: socket i has rx at buf + 2*i*buf_size, tx right after it.
 * All positions are free-running uint32_t counters (index = pos & (size-1)),
 * each written by exactly one side.  The engine never trusts a position the
 * application wrote: it keeps its own copy and clamps what it reads.
 */
#define APPIF_MAGIC    0x464c5854u	/* "FLXT" */
#define APPIF_VERSION  1
#define APPIF_SOCK_NAME "flextoe.sock"
#define APPIF_MAX_SOCKS 65535u
#define APPIF_MIN_BUF  4096u
#define APPIF_MAX_BUF  (16u << 20)

/* app -> engine, first message on the UNIX socket. */
struct appif_hello {
	uint32_t magic, version;
	uint32_t max_socks;		/* sockets the context may hold */
	uint32_t buf_size;		/* per direction and socket, power of two */
};

/* engine -> app reply; with status 0 it carries three fds (SCM_RIGHTS):
 * the memfd, the eventfd the app writes to wake the engine, and the
 * eventfd the engine writes to wake the app. */
struct appif_welcome {
	int32_t status;			/* 0 or -errno */
	uint32_t version;
	uint64_t shm_size;
	uint32_t max_socks, buf_size, cmd_entries, ev_entries;
};

struct appif_ring {
	uint32_t head;			/* producer */
	uint8_t _pad0[60];
	uint32_t tail;			/* consumer */
	uint8_t _pad1[60];
};

enum appif_op {
	APPIF_OP_LISTEN = 1,		/* arg0 port, arg1 backlog -> RESULT (handle) */
	APPIF_OP_CONNECT,		/* arg0 ip (network order), arg1 port -> RESULT */
	APPIF_OP_CLOSE,			/* handle */
	APPIF_OP_SHUTDOWN,		/* handle, arg0 how (1 rd, 2 wr, 3 both) */
	APPIF_OP_TX,			/* handle: the tx ring has new bytes */
	APPIF_OP_RXDONE,		/* handle: the app freed rx ring space */
	APPIF_OP_ABORT,			/* handle: reset now */
	APPIF_OP_SPLICE,		/* handle, arg0 the other handle: splice the two -> RESULT (0 or -errno) */
	APPIF_OP_LISTEN_SHARED,		/* as LISTEN, on a port other contexts may share (classify) */
};

struct appif_cmd {
	uint16_t op;
	uint16_t _r;
	uint32_t handle;
	uint32_t arg0, arg1;
	uint64_t req;			/* echoed in the RESULT */
	uint64_t _r2;
};

enum appif_ev_type {
	APPIF_EV_RESULT = 1,		/* req, res: handle or -errno */
	APPIF_EV_ACCEPT,		/* handle: new connection; arg0 listener, arg1 peer ip, res peer port */
	APPIF_EV_CONNECTED,		/* handle */
	APPIF_EV_RX,			/* handle: bytes or end of stream readable */
	APPIF_EV_TX,			/* handle: tx space freed */
	APPIF_EV_ERROR,			/* handle, res -errno */
	APPIF_EV_CLOSED,		/* handle: connection fully closed */
};

struct appif_ev {
	uint16_t type;
	uint16_t _r;
	uint32_t handle;
	int32_t res;
	uint32_t arg0, arg1;
	uint32_t _r1;
	uint64_t req;
};

/* flags (engine-written) */
#define APPIF_SF_CONNECTED (1u << 0)
#define APPIF_SF_EOF       (1u << 1)	/* peer's FIN is in the rx ring after rx_head */
#define APPIF_SF_ERROR     (1u << 2)	/* err holds -errno */
#define APPIF_SF_CLOSED    (1u << 3)
#define APPIF_SF_SPLICE_END (1u << 4)	/* a splice ended: splice_* below are final */

struct appif_sock {
	/* written by the engine */
	uint32_t rx_head;		/* bytes placed in rx */
	uint32_t tx_tail;		/* bytes taken from tx */
	uint32_t flags;			/* APPIF_SF_* */
	int32_t err;
	uint32_t rx_ev, tx_ev;		/* event outstanding: set by engine, cleared by app */
	/* what the splice program relayed (valid with APPIF_SF_SPLICE_END) */
	uint64_t splice_from_peer_bytes, splice_to_peer_bytes;
	uint32_t splice_from_peer_segs, splice_to_peer_segs;
	uint8_t _pad0[16];
	/* written by the application */
	uint32_t rx_tail;
	uint32_t tx_head;
	uint32_t rx_bell, tx_bell;	/* command outstanding: set by app, cleared by engine */
	uint8_t _pad1[48];
};

struct appif_shm_hdr {
	uint32_t magic, version;
	uint32_t max_socks, buf_size, cmd_entries, ev_entries;
	uint32_t ctx_id;		/* the engine's id of the context: classify's app_ctx */
};

struct appif_layout {
	size_t cmd_ring, cmd, ev_ring, ev, socks, bufs, size;
	uint32_t cmd_entries, ev_entries;
};

/* Offsets of a context's parts; 0, or -EINVAL for unsupported sizes. */
int appif_layout(uint32_t max_socks, uint32_t buf_size, struct appif_layout *l);

/* Handles: slot index in the low 16 bits, a generation above, so an event
 * for a closed socket is not mistaken for its slot's next occupant. */
static inline uint32_t appif_handle_idx(uint32_t h) { return h & 0xffff; }

/* ---- engine side (appif.c): runs on the engine's thread only ---------- */
struct ftoe_engine;
struct appif;
struct appif_ctx;

/* Registers the engine's socket event callback. */
int appif_create(struct ftoe_engine *eng, struct appif **out);
void appif_destroy(struct appif *a);
/* A new context in shm (already sized by appif_layout and zeroed);
 * notify(arg) wakes the application.  pid is for log messages. */
int appif_ctx_add(struct appif *a, void *shm, uint32_t max_socks, uint32_t buf_size, int pid,
		  void (*notify)(void *arg), void *arg, struct appif_ctx **out);
/* The application is gone: reset its connections, close its listeners. */
void appif_ctx_remove(struct appif *a, struct appif_ctx *c);
/* Execute the context's queued commands; returns how many. */
unsigned int appif_ctx_poll(struct appif *a, struct appif_ctx *c);
/* Wake every application that has new events. */
void appif_flush(struct appif *a);

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
