/* appif.h - the application contract: hello/welcome messages and the shared-memory layout of a context, included by the engine and by every library that talks to it. */
#ifndef FLEXTOE_APPIF_H
#define FLEXTOE_APPIF_H

#include <errno.h>
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
#define APPIF_VERSION  2
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
	/* The consumer is awake and looks at the ring again before it sleeps,
	 * so the producer may leave out its eventfd write (the doorbell).  The
	 * consumer clears it, then (full fence) looks at head once more before
	 * it blocks; the producer publishes head, then (full fence) reads it.
	 * The command ring's is the engine's (docs/api.md "Doorbells", from
	 * APPIF_VERSION 2); the event ring's is unused, 0. */
	uint32_t polling;
	uint8_t _pad1[56];
};
/* appif_ring.polling: 0 the consumer may sleep (ring); 1 it is awake;
 * APPIF_POLLING_RUNG a producer rang since it last went idle (no need to
 * ring again).  Only 0 -> RUNG is the producer's (compare-and-swap). */
#define APPIF_POLLING_RUNG 2u

enum appif_op {
	APPIF_OP_LISTEN = 1,		/* arg0 port, arg1 backlog, _r the families
					 * (APPIF_LISTEN_V4 | _V6, 0: both) -> RESULT (handle) */
	APPIF_OP_CONNECT,		/* arg0 ip (network order), arg1 port -> RESULT */
	APPIF_OP_CLOSE,			/* handle */
	APPIF_OP_SHUTDOWN,		/* handle, arg0 how (1 rd, 2 wr, 3 both) */
	APPIF_OP_TX,			/* handle: the tx ring has new bytes */
	APPIF_OP_RXDONE,		/* handle: the app freed rx ring space */
	APPIF_OP_ABORT,			/* handle: reset now */
	APPIF_OP_SPLICE,		/* handle, arg0 the other handle: splice the two -> RESULT (0 or -errno) */
	APPIF_OP_LISTEN_SHARED,		/* as LISTEN, on a port other contexts may share (classify) */
	APPIF_OP_INFO,			/* handle: fill the socket's info block -> RESULT (0 or -errno) */
	APPIF_OP_CONNECT6,		/* to an IPv6 peer: handle the port, _r the local port (0:
					 * ephemeral), the address in arg0, arg1 and _r2
					 * (appif_cmd_set_addr6) -> RESULT */
};

/* APPIF_OP_LISTEN(_SHARED)'s _r: the address families of the peers the
 * listener accepts (a SYN of another family finds no listener, as an
 * AF_INET socket in Linux never sees IPv6 peers).  0: both. */
#define APPIF_LISTEN_V4 1u
#define APPIF_LISTEN_V6 2u

struct appif_cmd {
	uint16_t op;
	uint16_t _r;
	uint32_t handle;
	uint32_t arg0, arg1;
	uint64_t req;			/* echoed in the RESULT */
	uint64_t _r2;
};

/* APPIF_OP_CONNECT6's address (16 bytes, network order): bytes 0-7 in
 * arg0 and arg1, bytes 8-15 in _r2, as raw memory. */
static inline void appif_cmd_set_addr6(struct appif_cmd *cmd, const uint8_t a[16])
{
	__builtin_memcpy(&cmd->arg0, a, 4);
	__builtin_memcpy(&cmd->arg1, a + 4, 4);
	__builtin_memcpy(&cmd->_r2, a + 8, 8);
}

static inline void appif_cmd_addr6(const struct appif_cmd *cmd, uint8_t a[16])
{
	__builtin_memcpy(a, &cmd->arg0, 4);
	__builtin_memcpy(a + 4, &cmd->arg1, 4);
	__builtin_memcpy(a + 8, &cmd->_r2, 8);
}

enum appif_ev_type {
	APPIF_EV_RESULT = 1,		/* req, res: handle or -errno */
	APPIF_EV_ACCEPT,		/* handle: new connection; arg0 listener, arg1 peer ip, res peer port
					 * (an IPv6 peer: arg1 0, its address in the socket's peer6) */
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

/* A connection's protocol state, as the engine sees it (APPIF_OP_INFO);
 * what Linux reports in struct tcp_info. */
struct appif_tcp_info {
	uint32_t state;			/* RFC 9293 state, Linux TCP_* numbering */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t snd_mss, snd_cwnd;	/* cwnd in segments */
	uint32_t retransmits;		/* segments sent again */
	uint8_t snd_wscale, rcv_wscale;	/* 0xff: not in use */
	uint8_t ts, ecn;
	uint32_t snd_wnd, rcv_wnd;
	uint64_t bytes_acked, bytes_received;
	uint32_t unacked;		/* bytes sent, not yet acknowledged */
	uint8_t _pad[12];
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
	uint32_t local_port;		/* host order; set with the slot (accept, connect, listen) */
	uint8_t _pad0[12];
	/* written by the application */
	uint32_t rx_tail;
	uint32_t tx_head;
	uint32_t rx_bell, tx_bell;	/* command outstanding: set by app, cleared by engine */
	/* Wake groups (struct appif_wake_msg) to signal besides the context's
	 * eventfd when an event for this socket is posted: bit k is group k.
	 * The engine reads it after it published the event (full fence), the
	 * application sets a bit before it looks at the rings, so one of the
	 * two sees the other.  Zeroed when the engine gives the slot out. */
	uint64_t wake_mask;
	/* Space-freed events (APPIF_EV_TX) signal the wake groups only while
	 * this is set: a writer found the ring full, as Linux wakes EPOLLOUT
	 * only after SOCK_NOSPACE.  The engine reads it after the event, the
	 * application sets it before it looks at tx_tail again. */
	uint32_t tx_wake;
	/* written by the engine with the slot, before the event that hands
	 * it over (ACCEPT, or CONNECT6's RESULT): an IPv6 connection's peer
	 * address (network order, peer_is_v6 1), and the engine's address */
	uint8_t peer6[16];
	uint32_t peer_is_v6;
	uint8_t _pad1[16];
	/* written by the engine on APPIF_OP_INFO, before its RESULT */
	struct appif_tcp_info info;
};

struct appif_shm_hdr {
	uint32_t magic, version;
	uint32_t max_socks, buf_size, cmd_entries, ev_entries;
	uint32_t ctx_id;		/* the engine's id of the context: classify's app_ctx */
	uint32_t local_ip;		/* the engine's address, network order */
	uint32_t prefix_len;		/* its on-link prefix */
	uint32_t gateway;		/* network order; 0: none */
	/* Ports below this need CAP_NET_BIND_SERVICE, which the context's
	 * application did not have when it connected: LISTEN and a bound
	 * CONNECT on them get -EACCES (0: it may use any port). */
	uint32_t unpriv_port_start;
	char cc_name[16];		/* the congestion control's name, NUL-padded
					 * (TCP_CONGESTION); empty: not told */
	/* Wake groups the engine accepts (APPIF_WAKE_GROUPS), 0: none (an
	 * engine that only writes the context's eventfd). */
	uint32_t wake_groups;
	/* The engine's IPv6 address (all zero: none) and its on-link prefix;
	 * the POSIX layer moves AF_INET6 sockets bound to it or to :: */
	uint8_t local_ip6[16];
	uint32_t prefix6_len;
};

/*
 * Wake groups: an application may hand the engine up to APPIF_WAKE_GROUPS
 * more eventfds, one per group, over its UNIX connection (SCM_RIGHTS, one
 * struct appif_wake_msg with one fd; without an fd the group is dropped).
 * The engine writes group k's eventfd when it posts an event for a socket
 * whose wake_mask has bit k, in the same flush that writes the context's
 * eventfd (which it always writes).  A group's first write after it was
 * set is the engine's acknowledgement.  lib/posix gives each epoll instance
 * a group, so that an event wakes only the epolls that hold its socket.
 */
#define APPIF_WAKE_GROUPS 64
#define APPIF_WAKE_MAGIC  0x464c5857u	/* "FLXW" */
struct appif_wake_msg {
	uint32_t magic;
	uint32_t group;
};

struct appif_layout {
	size_t cmd_ring, cmd, ev_ring, ev, socks, bufs, size;
	uint32_t cmd_entries, ev_entries;
};

/* Offsets of a context's parts; 0, or -EINVAL for unsupported sizes. */
static inline int appif_layout(uint32_t max_socks, uint32_t buf_size, struct appif_layout *l)
{
	size_t off;

	if (!max_socks || max_socks > APPIF_MAX_SOCKS || buf_size < APPIF_MIN_BUF ||
	    buf_size > APPIF_MAX_BUF || (buf_size & (buf_size - 1)))
		return -EINVAL;
	/* Rings: one command and up to a few events outstanding per socket;
	 * powers of two so positions wrap cleanly. */
	l->cmd_entries = 256;
	while (l->cmd_entries < 2 * max_socks)
		l->cmd_entries <<= 1;
	l->ev_entries = l->cmd_entries * 4;
	off = 4096;
	l->cmd_ring = off;
	off += sizeof(struct appif_ring);
	l->cmd = off;
	off += (size_t)l->cmd_entries * sizeof(struct appif_cmd);
	l->ev_ring = off;
	off += sizeof(struct appif_ring);
	l->ev = off;
	off += (size_t)l->ev_entries * sizeof(struct appif_ev);
	l->socks = off;
	off += (size_t)max_socks * sizeof(struct appif_sock);
	off = (off + 4095) & ~(size_t)4095;
	l->bufs = off;
	off += (size_t)max_socks * 2 * buf_size;
	l->size = off;
	return 0;
}


/* Handles: slot index in the low 16 bits, a generation above, so an event
 * for a closed socket is not mistaken for its slot's next occupant. */
static inline uint32_t appif_handle_idx(uint32_t h) { return h & 0xffff; }

/* Application side: publish n more bytes at *pos (rx_tail after reading,
 * tx_head after writing) and claim the socket's doorbell flag (rx_bell,
 * tx_bell).  True when the caller must queue the command (RXDONE, TX):
 * one outstanding per socket is enough, the engine takes all it can. */
static inline int appif_publish(uint32_t *pos, uint32_t *bell, uint32_t n)
{
	__atomic_store_n(pos, *pos + n, __ATOMIC_RELEASE);
	return !__atomic_exchange_n(bell, 1, __ATOMIC_SEQ_CST);
}

#endif
