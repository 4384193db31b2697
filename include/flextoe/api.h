/* api.h - libflextoe: applications use the FlexTOE engine's TCP through shared memory. */
#ifndef FLEXTOE_API_H
#define FLEXTOE_API_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A context (struct ftoe_ctx) is one connection to the engine daemon with
 * its own shared memory: a command queue, an event queue and the sockets'
 * receive/transmit rings.  Use one context per application thread: a
 * context is not thread-safe.  Sockets are small non-negative integers,
 * valid in the context that made them.
 *
 * Every call returns 0 / a count, or a negative errno (-EAGAIN, -ECONNRESET
 * ...); ftoe_strerror() names it.
 */
struct ftoe_ctx;

struct ftoe_ctx_opts {
	size_t sz;		/* sizeof(struct ftoe_ctx_opts) */
	const char *run_dir;	/* NULL: $FLEXTOE_RUN_DIR, else /run/flextoe */
	unsigned int max_socks;	/* sockets at once (default 1024) */
	unsigned int buf_size;	/* ring size per direction, power of two (default 64 KiB) */
	int nonblock;		/* new sockets start non-blocking */
};

int ftoe_ctx_create(const struct ftoe_ctx_opts *opts, struct ftoe_ctx **out);
/* Closes the context's sockets as ftoe_close does: bytes already sent are still
 * delivered, then a FIN (a connection with unread data is reset). */
void ftoe_ctx_destroy(struct ftoe_ctx *ctx);
/* An fd that is readable when ftoe_ctx_poll() has something to report;
 * put it into epoll/poll. */
int ftoe_ctx_fd(struct ftoe_ctx *ctx);

#define FTOE_POLLIN  0x1u	/* data, end of stream, or (listener) a connection to accept */
#define FTOE_POLLOUT 0x2u	/* send space, or connect() completed */
#define FTOE_POLLERR 0x4u	/* ftoe_error() has the error */
#define FTOE_POLLHUP 0x8u	/* the connection is closed */

struct ftoe_event {
	int sock;
	uint32_t events;	/* FTOE_POLL* */
};

/* Edge-triggered readiness: a socket is reported when something new
 * happened to it; read/write until -EAGAIN before waiting again.  Waits up
 * to timeout_ms (-1: forever, 0: not at all).  Returns the number of
 * events stored (0 on timeout). */
int ftoe_ctx_poll(struct ftoe_ctx *ctx, struct ftoe_event *evs, int max, int timeout_ms);

/* Sockets.  Blocking sockets wait in these calls; non-blocking ones
 * return -EAGAIN.  A non-blocking connect (opts.nonblock) returns the
 * socket at once; FTOE_POLLOUT (connected) or FTOE_POLLERR follows.
 * listen/connect wait for the engine's answer in either mode. */
int ftoe_set_nonblock(struct ftoe_ctx *ctx, int sock, int on);
int ftoe_listen(struct ftoe_ctx *ctx, uint16_t port, int backlog);
/* Listen on a port that other contexts (threads, processes) listen on
 * too, each with its own ftoe_listen_shared (as SO_REUSEPORT; a port
 * taken with plain ftoe_listen is -EADDRINUSE).  Each new connection goes
 * to the context the classify program at rx-pre names for it
 * (flextoe_md.app_ctx = that context's ftoe_ctx_id(), docs/programs.md);
 * without a classification, to one chosen by a hash of its addresses and
 * ports. */
int ftoe_listen_shared(struct ftoe_ctx *ctx, uint16_t port, int backlog);
/* The engine's id of this context (1, 2, ... in the order contexts were
 * created, never reused while the engine runs): the app_ctx value the
 * classify program's maps use to send connections here. */
int ftoe_ctx_id(struct ftoe_ctx *ctx);
/* peer: an IPv4 peer's address; for an IPv6 peer it holds family AF_INET6
 * and the port only (ftoe_getpeername gives the whole address). */
int ftoe_accept(struct ftoe_ctx *ctx, int lsock, struct sockaddr_in *peer);
int ftoe_connect(struct ftoe_ctx *ctx, const struct sockaddr_in *to);
/* To an IPv6 peer, from the engine's IPv6 address (flextoe --ip given
 * twice); -EINVAL when the engine has none. */
int ftoe_connect6(struct ftoe_ctx *ctx, const struct sockaddr_in6 *to);
/* A connection's peer: a struct sockaddr_in or sockaddr_in6, truncated to
 * *len, which gets the full size.  0, -EBADF, -ENOTCONN, -EINVAL. */
int ftoe_getpeername(struct ftoe_ctx *ctx, int sock, struct sockaddr *addr, socklen_t *len);
#define FTOE_SHUT_RD   1
#define FTOE_SHUT_WR   2
#define FTOE_SHUT_RDWR 3
int ftoe_shutdown(struct ftoe_ctx *ctx, int sock, int how);
int ftoe_close(struct ftoe_ctx *ctx, int sock);
/* 0 or the connection's error. */
int ftoe_error(struct ftoe_ctx *ctx, int sock);

/* Copying I/O: bytes moved; recv returns 0 at end of stream. */
ssize_t ftoe_send(struct ftoe_ctx *ctx, int sock, const void *buf, size_t len);
ssize_t ftoe_recv(struct ftoe_ctx *ctx, int sock, void *buf, size_t len);

/* Zero-copy I/O on the shared rings.  peek: *buf points at received bytes
 * (the contiguous part; returns their count, 0 at end of stream);
 * recv_done(n) releases the first n of them.  reserve: *buf points at free
 * send space (returns its contiguous size); send_commit(n) sends its
 * first n bytes.  Blocking sockets wait in peek and reserve. */
ssize_t ftoe_recv_peek(struct ftoe_ctx *ctx, int sock, const void **buf);
int ftoe_recv_done(struct ftoe_ctx *ctx, int sock, size_t n);
ssize_t ftoe_send_reserve(struct ftoe_ctx *ctx, int sock, void **buf);
int ftoe_send_commit(struct ftoe_ctx *ctx, int sock, size_t n);

/* Connection splicing (docs/api.md): join two established connections of
 * this context so that the splice program (xdp-progs/splice.bpf.c, loaded
 * at rx-pre) relays every later segment between their peers, rewritten,
 * without the engine or the application seeing the bytes.  Both sockets
 * must have nothing in flight the engine would still have to deliver:
 * everything sent acknowledged by the peer, everything received read.
 * Returns 0, or -EAGAIN (not yet: unacknowledged or unread bytes; retry
 * after the next event), -ENOENT (no splice program at rx-pre),
 * -ENOTCONN (not established, or ended), -EALREADY, -EBADF, -EINVAL,
 * -EOPNOTSUPP (timestamps on one connection only), -EMSGSIZE (a peer's
 * MSS is too small).  Afterwards the sockets carry nothing: sends fail
 * with -EPIPE and reads wait; when the splice ends (FIN both ways, or a RST)
 * both report end of stream and FTOE_POLLHUP (a RST: FTOE_POLLERR,
 * -ECONNRESET).  Close them as usual; closing earlier leaves the splice
 * running. */
int ftoe_splice(struct ftoe_ctx *ctx, int sock_a, int sock_b);

/* After a splice ended (FTOE_POLLHUP on a spliced socket): what the splice
 * program relayed for sock - the payload bytes and segments its peer sent
 * (passed on to the other peer) and those it received.  0, -EAGAIN while
 * the splice is in effect (or sock was never spliced), -EBADF, -ENOTCONN
 * (a listener), -EINVAL (st NULL). */
struct ftoe_splice_stats {
	uint64_t from_peer_bytes, to_peer_bytes;
	uint32_t from_peer_segs, to_peer_segs;
};
int ftoe_splice_stats(struct ftoe_ctx *ctx, int sock, struct ftoe_splice_stats *st);

/*
 * Raw-frame sockets: the engine's AF_XDP sockets for applications.  A
 * program at rx-pre that redirects into an XSKMAP slot holding a socket's
 * id (bpf_redirect_map; libxdp's xsk_def_xdp_prog redirects by
 * rx_queue_index, 0 in the engine) hands the frame, as the program left
 * it, to that socket's ring in shared memory instead of the TCP engine.
 * open: a socket of this context for queue (the XSKMAP key it is meant
 * for), a ring of entries slots (power of two, default 256, at most 8192)
 * of frame_size bytes (2048 or 4096, default 2048; a slot holds a frame
 * of frame_size - 8 bytes).  It closes with the context, and a closed
 * socket leaves every XSKMAP slot that held it.  A full ring drops the
 * frame and counts it (rx_dropped, as AF_XDP's XDP_STATISTICS).
 * docs/api.md "Raw-frame sockets".
 */
struct ftoe_xsk;
struct ftoe_xsk_opts {
	size_t sz;		/* sizeof(struct ftoe_xsk_opts) */
	uint32_t queue;
	uint32_t entries;	/* 0: 256 */
	uint32_t frame_size;	/* 0: 2048 */
};
struct ftoe_xsk_stats {
	uint64_t rx_frames;	/* frames put into the ring */
	uint64_t rx_dropped;	/* redirected here, dropped: ring full */
	uint64_t rx_too_big;	/* dropped: longer than a slot holds */
};
/* 0, -EINVAL (sizes), -EMFILE (the engine's 256 sockets are open),
 * -ECONNRESET (the engine is gone). */
int ftoe_xsk_open(struct ftoe_ctx *ctx, const struct ftoe_xsk_opts *opts, struct ftoe_xsk **out);
int ftoe_xsk_close(struct ftoe_xsk *xsk);
/* The value an XSKMAP slot holds for this socket (where the kernel takes
 * an AF_XDP socket's fd): `flextoe-bpf map update` may put it there. */
uint32_t ftoe_xsk_id(const struct ftoe_xsk *xsk);
uint32_t ftoe_xsk_queue(const struct ftoe_xsk *xsk);
/* Put the socket into the XSKMAP called map_name of a program at rx-pre,
 * at the key of its queue, as libxdp's xsk_socket__update_xskmap does.
 * 0, -ENOENT (no such map at rx-pre), -EINVAL (not an XSKMAP), -E2BIG
 * (queue past the map's entries). */
int ftoe_xsk_update_map(struct ftoe_xsk *xsk, const char *map_name);
/* Readable (poll/epoll) when frames may wait: written when a frame lands
 * in a ring that had been emptied, so read until -EAGAIN before waiting. */
int ftoe_xsk_fd(const struct ftoe_xsk *xsk);
/* The oldest frame in place: *frame and its length, or -EAGAIN; release
 * gives its slot back. */
ssize_t ftoe_xsk_peek(struct ftoe_xsk *xsk, const void **frame);
int ftoe_xsk_release(struct ftoe_xsk *xsk);
/* Wait up to timeout_ms (-1: no limit) for a frame: 0, -EAGAIN on
 * timeout, -ECONNRESET when the engine is gone. */
int ftoe_xsk_wait(struct ftoe_xsk *xsk, int timeout_ms);
/* The oldest frame copied into buf (truncated to len; returns its full
 * length), waiting up to timeout_ms (0: not at all, -1: no limit). */
ssize_t ftoe_xsk_recv(struct ftoe_xsk *xsk, void *buf, size_t len, int timeout_ms);
int ftoe_xsk_stats(const struct ftoe_xsk *xsk, struct ftoe_xsk_stats *st);

const char *ftoe_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
