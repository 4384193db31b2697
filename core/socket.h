/* socket.h - the engine's socket API for applications (listen/accept/connect/send/recv). */
#ifndef FTOE_CORE_SOCKET_H
#define FTOE_CORE_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ftoe_engine;

/*
 * Sockets are small integers: a connection is its flow id, a listener is
 * FTOE_SOCK_LISTENER + index.  All calls run on the engine's thread today
 * (the shared-memory interface comes later and will be built on these; the
 * buffers already are rings of free-running positions with one producer and
 * one consumer each).  Calls never block: they return -EAGAIN and the
 * event callback says when to retry.  A socket number is reused after
 * ftoe_sock_close(), so it must not be used after closing.
 */
#define FTOE_SOCK_LISTENER 0x40000000

/* Events (a bitmask) passed to the callback. */
#define FTOE_EV_ACCEPT    (1u << 0) /* listener: a connection is ready for accept */
#define FTOE_EV_CONNECTED (1u << 1) /* active open completed */
#define FTOE_EV_RX        (1u << 2) /* data (or end of stream) readable */
#define FTOE_EV_TX        (1u << 3) /* send space became free */
#define FTOE_EV_ERROR     (1u << 4) /* ftoe_sock_error() is set: reset, timeout, refused */
#define FTOE_EV_CLOSED    (1u << 5) /* connection fully closed; only close() remains */

/* Called from ftoe_engine_rx/poll (after the stages, never from inside a
 * stage); it may call back into the ftoe_sock_* functions. */
typedef void (*ftoe_sock_event_fn)(void *ctx, int sock, uint32_t events);
void ftoe_sock_set_callback(struct ftoe_engine *eng, ftoe_sock_event_fn fn, void *ctx);

/* Listen on local port (host order).  backlog bounds handshakes in
 * progress plus connections not yet accepted; beyond it SYN cookies answer
 * (RFC 4987 section 3.6).  Returns a socket or -EADDRINUSE, -ENOSPC, -EINVAL. */
int ftoe_sock_listen(struct ftoe_engine *eng, uint16_t port, unsigned backlog);
/* The address families listener lsock takes SYNs of (a socket's family
 * decides it: an AF_INET listener never sees IPv6 peers, an IPv6-only one
 * never IPv4 peers).  A listener starts with both; a SYN of a family it
 * refuses finds no listener (a reset).  0 or -EBADF, -EINVAL (mask 0),
 * -EADDRINUSE (another listener of the port takes one of them). */
#define FTOE_LISTEN_V4 1u
#define FTOE_LISTEN_V6 2u
int ftoe_sock_listen_families(struct ftoe_engine *eng, int lsock, unsigned mask);
/* Listen taking SYNs of families fams only (0: both, as ftoe_sock_listen).
 * An IPv4-only and an IPv6-only listener may share a port (as Linux's
 * AF_INET and IPV6_V6ONLY sockets); overlapping families: -EADDRINUSE. */
int ftoe_sock_listen_fams(struct ftoe_engine *eng, uint16_t port, unsigned backlog, unsigned fams);
/* Next established connection, or -EAGAIN. */
int ftoe_sock_accept(struct ftoe_engine *eng, int lsock);
/* Start an active open to ip (network order):port (host order) from an
 * ephemeral port.  Returns the socket; FTOE_EV_CONNECTED or FTOE_EV_ERROR
 * follows.  -ENOSPC when out of connections. */
int ftoe_sock_connect(struct ftoe_engine *eng, uint32_t ip_be, uint16_t port);
/* The same to an IPv6 peer from the engine's IPv6 address (cfg.ip6);
 * lport 0: an ephemeral port. */
int ftoe_sock_connect6(struct ftoe_engine *eng, uint16_t lport, const uint8_t ip6[16],
		       uint16_t port);
/* The same from a chosen local port (host order): -EADDRINUSE if taken. */
int ftoe_sock_connect_from(struct ftoe_engine *eng, uint16_t lport, uint32_t ip_be,
			   uint16_t port);
/* Copy up to len bytes into the send ring: bytes accepted, -EAGAIN when
 * the ring is full, -EPIPE after shutdown, -ENOTCONN before the handshake. */
ssize_t ftoe_sock_send(struct ftoe_engine *eng, int sock, const void *buf, size_t len);
/* Copy out up to len bytes: bytes read, 0 at end of stream (peer's FIN),
 * -EAGAIN when empty, or the connection's error (-ECONNRESET ...). */
ssize_t ftoe_sock_recv(struct ftoe_engine *eng, int sock, void *buf, size_t len);
#define FTOE_SHUT_RD 1
#define FTOE_SHUT_WR 2
#define FTOE_SHUT_RDWR 3
int ftoe_sock_shutdown(struct ftoe_engine *eng, int sock, int how);
/* Release the socket.  A connection with unread data is reset (RFC 2525
 * 2.17); otherwise a FIN is sent after the queued data and the flow lives
 * on (FIN_WAIT, TIME_WAIT) inside the engine.  Listeners stop listening. */
int ftoe_sock_close(struct ftoe_engine *eng, int sock);
/* Abort: send RST and release at once. */
int ftoe_sock_abort(struct ftoe_engine *eng, int sock);
/* 0 or the connection's error as -errno. */
int ftoe_sock_error(struct ftoe_engine *eng, int sock);

struct ftoe_sock_info {
	int state;			/* enum ftoe_tcp_state (engine_internal.h) */
	uint32_t local_ip, remote_ip;	/* host order (IPv6: the last 32 bits) */
	uint16_t local_port, remote_port;
	uint16_t snd_mss;
	uint8_t ip_version;		/* 4 or 6 */
	uint8_t local_ip6[16], remote_ip6[16];	/* IPv6 (IPv4: ::ffff:a.b.c.d) */
	uint8_t snd_wscale, rcv_wscale;	/* 0xff: window scaling not in use */
	uint8_t ts, ecn;		/* negotiated */
	uint32_t snd_wnd, rcv_wnd;
	uint32_t rx_ready, tx_queued;	/* bytes readable, bytes not yet acked */
	uint32_t srtt_us, rto_us, rate_kbps;
	uint32_t retransmits;
	/* additions (POSIX TCP_INFO) */
	uint32_t rttvar_us;
	uint32_t cwnd;			/* bytes; 0: rate-based (rate_kbps) */
	uint32_t bytes_acked;		/* free-running: wraps at 4 GiB */
	uint32_t bytes_received;	/* free-running: wraps at 4 GiB */
};
int ftoe_sock_info(struct ftoe_engine *eng, int sock, struct ftoe_sock_info *info);

/*
 * One copy each way (docs/design.md section 3): a connection's rx and tx
 * buffers can be rings in an application's shared memory, so that
 * post-processing writes the payload straight into what the application
 * reads, and the transmit stage reads what it wrote.  The positions then
 * are the application's counters (starting at 0); the engine still keeps
 * its own and only moves them within what the application may have done.
 */
/* Register memory flows' rings may live in: a region id (> 0) or -ENOMEM. */
int ftoe_sock_region_add(struct ftoe_engine *eng, uint8_t *base);
/* Detach every connection still in the region, then forget it. */
void ftoe_sock_region_remove(struct ftoe_engine *eng, int region);
/* Make the rings at rx_off and tx_off of region (size bytes each, a power
 * of two no larger than the engine's own) the connection's buffers: what
 * they hold moves there and positions restart at 0.  -ENOSPC when more is
 * held than fits, -E2BIG for a ring larger than the engine's, -EBUSY when
 * attached already, -EINVAL, -EBADF; the connection is unchanged then. */
int ftoe_sock_attach(struct ftoe_engine *eng, int sock, int region, uint64_t rx_off,
		     uint64_t tx_off, uint32_t size);
/* Back to the engine's own rings, contents and positions kept.  Close and
 * abort detach first. */
int ftoe_sock_detach(struct ftoe_engine *eng, int sock);
/* Attached receive: the application read up to position tail (ignored
 * outside rx_tail..rx_head); *head gets rx_head.  0 while more may come,
 * 1 at the end of the stream, or the connection's error. */
int ftoe_sock_rx_read(struct ftoe_engine *eng, int sock, uint32_t tail, uint32_t *head);
/* Attached transmit: the application wrote up to position head; *tail
 * gets the oldest unacknowledged position (its space is free before it).
 * Bytes newly queued (0 for a head outside the ring's room), or -EPIPE,
 * -ENOTCONN, the connection's error, -EBADF as ftoe_sock_send. */
ssize_t ftoe_sock_tx_write(struct ftoe_engine *eng, int sock, uint32_t head, uint32_t *tail);

#endif
