/* flow_state.h - per-flow state, split by the pipeline stage that owns it. */
#ifndef FTOE_CORE_FLOW_STATE_H
#define FTOE_CORE_FLOW_STATE_H

#include <stdint.h>
#include <string.h>

#include "core/flow_table.h"
#include "core/loss_tx.h"
#include "core/ooo.h"

/*
 * docs/design.md section 3 (after FlexTOE section 4.2): each part of a flow's
 * state has exactly one writer, so the protocol stage can own the hot TCP
 * variables without locks and the other stages never share a cache line
 * with them.  Every array is indexed by the flow id from the flow table.
 * Fixed-size structs, no pointers into host memory (the NFP target keeps
 * these in its own memories): buffers are offsets into a shared region.
 */

/* Connection identity: written by the control plane at setup, read by
 * pre-processing (to validate) and post-processing (to build headers). */
struct flow_conn {
	uint8_t local_mac[6];
	uint8_t remote_mac[6];
	uint32_t local_ip, remote_ip;     /* host order: IPv4, or an IPv6 address's last 32 bits */
	uint16_t local_port, remote_port; /* host order */
	uint16_t flow_group;   /* pins the flow to one protocol-stage worker */
	uint16_t vlan_tci;     /* valid when FLOW_CONN_VLAN */
	uint16_t flags;
	uint16_t svlan_tci;    /* outer 802.1ad tag, valid when FLOW_CONN_SVLAN */
	/* IPv6 (FLOW_CONN_IPV6): the addresses' first 96 bits, as on the wire
	 * (struct ftoe_flow_key's lhi/rhi); zero for IPv4. */
	uint32_t local_hi[3], remote_hi[3];
};
#define FLOW_CONN_VLAN  (1u << 0) /* frames carry an 802.1Q tag */
#define FLOW_CONN_VALID (1u << 1) /* slot in use */
#define FLOW_CONN_SPLICED (1u << 2) /* relayed by the splice program (core/control/splice.c): the engine stays silent */
#define FLOW_CONN_SVLAN (1u << 3) /* frames carry an 802.1ad tag outside the 802.1Q one (QinQ) */
#define FLOW_CONN_IPV6  (1u << 4) /* an IPv6 connection (local_hi/remote_hi) */

/* The flow-table key of a connection. */
static inline void flow_conn_key(const struct flow_conn *fc, struct ftoe_flow_key *k)
{
	k->laddr = fc->local_ip;
	k->raddr = fc->remote_ip;
	k->lport = fc->local_port;
	k->rport = fc->remote_port;
	memcpy(k->lhi, fc->local_hi, sizeof(k->lhi));
	memcpy(k->rhi, fc->remote_hi, sizeof(k->rhi));
}

/* An address of a connection as 16 bytes on the wire: IPv6, or IPv4 as
 * ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2). */
static inline void flow_addr16(const uint32_t hi[3], uint32_t lo, uint8_t out[16])
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (hi[0] | hi[1] | hi[2])
		memcpy(out, hi, 12);
	else
		memcpy(out, v4mapped, 12);
	out[12] = (uint8_t)(lo >> 24);
	out[13] = (uint8_t)(lo >> 16);
	out[14] = (uint8_t)(lo >> 8);
	out[15] = (uint8_t)lo;
}

#define FLOW_TCP_SACK_MAX 4     /* blocks an ACK can carry with timestamps: 3 */

/* TCP protocol state: written only by the protocol stage. */
struct flow_tcp {
	/* send side (RFC 9293 section 3.3.1) */
	uint32_t snd_una;
	uint32_t snd_nxt;
	uint32_t snd_wnd;       /* peer's window, bytes (already scaled) */
	/* receive side */
	uint32_t rcv_nxt;
	uint32_t rcv_wnd;       /* free receive buffer, bytes */
	struct ftoe_ooo ooo;    /* out-of-order intervals and the D-SACK block (core/ooo.h) */
	/* loss detection: duplicate ACKs trigger go-back-N (FlexTOE 4.2) */
	uint32_t dupack_cnt;
	/* RFC 7323 section 4.3: TS.Recent and the timestamp we echo */
	uint32_t ts_recent;
	uint8_t snd_wscale;     /* shift applied to the peer's window field */
	uint8_t rcv_wscale;     /* shift we announced for our window */
	uint16_t flags;
	/* engine additions */
	uint32_t snd_max;       /* highest sequence sent (snd_nxt goes back on go-back-N) */
	uint32_t snd_wl1, snd_wl2; /* seq/ack of the last window update (RFC 9293 3.10.7.4) */
	uint32_t max_snd_wnd;   /* largest window the peer offered (RFC 5961 5.2) */
	uint32_t snd_recover;   /* snd_max when go-back-N started */
	uint32_t tx_seq0;       /* sequence of tx ring position 0 (ISS + 1) */
	uint32_t rx_seq0;       /* sequence of rx ring position 0 (IRS + 1) */
	uint32_t rcv_adv;       /* right edge we last advertised */
	uint32_t rcv_unacked;   /* bytes received since our last ACK */
	uint32_t cwr_end;       /* no new CWR before snd_una passes this */
	uint16_t snd_mss;       /* payload bytes per segment (options excluded) */
	uint16_t rcv_mss;       /* largest payload seen from the peer */
	uint32_t ts_off;        /* per-connection offset of our TSval clock */
	/* Without SACK: lost-retransmission detection (RACK-like, RFC 8985
	 * 6.2): when the segment at snd_una was last (re)sent, at the latest,
	 * and when the newest retransmission went out */
	uint64_t hole_ns;
	uint64_t retx_ns;
	/* Sender loss recovery with SACK (core/loss_tx.h): the scoreboard,
	 * RACK-TLP and undo state (docs/design.md "Sender loss recovery") */
	struct ftoe_lt lt;
	/* out-of-order intervals past the first FTOE_OOO_IV_HOT (core/ooo.h):
	 * last, so they take no room in the lines every segment reads */
	struct ftoe_ooo_more ooo_more;
};
#define FLOW_TCP_TS        (1u << 0) /* timestamps negotiated */
#define FLOW_TCP_ECN       (1u << 1) /* ECN negotiated (RFC 3168) */
#define FLOW_TCP_FIN_RX    (1u << 2) /* peer's FIN received in order */
#define FLOW_TCP_FIN_TX    (1u << 3) /* our FIN sent */
#define FLOW_TCP_ECE_PEND  (1u << 4) /* echo CE on the next ACK (DCTCP) */
#define FLOW_TCP_RETX      (1u << 5) /* retransmitting: go-back-N, or with SACK the walk over lost holes */
#define FLOW_TCP_CE        (1u << 6) /* last data segment received carried CE */
#define FLOW_TCP_CWR_PEND  (1u << 7) /* send CWR on the next new data segment */
#define FLOW_TCP_FIN_ACKED (1u << 8) /* our FIN has been acknowledged */
#define FLOW_TCP_WSCALE    (1u << 9) /* window scaling negotiated (RFC 7323 2.2) */
#define FLOW_TCP_SACK      (1u << 10) /* SACK permitted both ways (RFC 2018 2) */

/* Application buffers: set up by the control plane, positions advanced by
 * post-processing (rx) and by the application / flow scheduler (tx).  The
 * rings live in a region: 0 is the engine's own buffers (a flow no
 * application has attached: tests, orphans, copy mode); another is the
 * shared memory of an application context, whose rings then are the flow's
 * (ftoe_sock_attach, core/socket.c), so payload is copied once each way. */
struct flow_mem {
	uint64_t rx_base;       /* offset of the rx ring in the region */
	uint64_t tx_base;
	uint32_t region;        /* 0: the engine's own buffers */
	uint32_t rx_size, tx_size;
	uint32_t rx_head;       /* next byte written by post-processing */
	uint32_t rx_tail;       /* next byte the application consumes */
	uint32_t tx_head;       /* next byte the application produces */
	uint32_t tx_tail;       /* oldest unacknowledged byte */
	uint32_t tx_sent;       /* next byte to transmit */
	uint32_t app_ctx;       /* application context queue to notify */
	uint64_t app_opaque;    /* the application's own handle for the flow */
	uint32_t flags;         /* FLOW_MEM_*, written by the application side */
	/* positions the rings dropped when attached (they restart at 0 there):
	 * bytes received = rx_head + rx_pos_off, acknowledged = tx_tail + tx_pos_off */
	uint32_t rx_pos_off, tx_pos_off;
};
/* Positions are free-running 32-bit counters: ring index = pos & (size - 1),
 * fill = head - tail.  rx: ring position p holds sequence tcp.rx_seq0 + p;
 * tx: position p is sequence tcp.tx_seq0 + p. */
#define FLOW_MEM_SHUT_WR   (1u << 0) /* application will send no more: FIN after tx_head */
#define FLOW_MEM_CLOSED    (1u << 1) /* application closed the socket */

/* Congestion control: rate written by the control plane's controller,
 * counters accumulated by the data path and read each control interval. */
struct flow_cc {
	uint32_t rate_kbps;     /* pacing rate; 0 = unlimited */
	uint32_t cwnd;          /* bytes, for window-based controllers */
	uint32_t rtt_us;        /* latest RTT estimate (from timestamps) */
	uint32_t acked_bytes;   /* counters since the controller last read */
	uint32_t ecn_bytes;     /* bytes acked with ECE set */
	uint32_t acks;
	uint32_t dupacks;
	uint32_t retransmits;   /* go-back-N events / timeouts */
	uint32_t tx_pending;    /* bytes waiting to be sent */
	uint32_t retrans_total; /* segments sent again over the connection's life (flextoe-stat ss) */
};

#endif
