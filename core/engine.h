/* engine.h - the TCP engine's boundary: what a backend (x86 AF_XDP, NFP,
 * a test harness) provides to the core, and what the core offers back.
 *
 * The backend owns the NIC queues and threads; it hands the engine the
 * frames of TCP segments addressed to the engine's IP and calls its
 * timer/poll entry; the engine sends frames through ftoe_io.  ARP and ICMP
 * are answered by core/control/arp.c and icmp.c, which the backend calls
 * first; the engine asks the backend's neighbour cache for peer MACs.
 */
#ifndef FTOE_CORE_ENGINE_H
#define FTOE_CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct ftoe_cc_ops;
struct ftoe_engine;
struct ftoe_hooks;
struct flextoe_md;
struct ftoe_vlan;

/* Provided by the backend. */
struct ftoe_io {
	void *ctx;
	/* Send one frame (the engine's buffer is copied) on queue q.
	 * 0, or -ENOBUFS when the ring is full (the engine retries later). */
	int (*xmit)(void *ctx, unsigned int q, const void *frame, size_t len);
	/* Monotonic time in ns. */
	uint64_t (*now_ns)(void *ctx);
	/* MAC of an on-link IPv4 address (network byte order): 0 with mac
	 * filled, or -EAGAIN while resolution is in progress (the backend
	 * sends the ARP request and calls ftoe_engine_neigh_ready later). */
	int (*neigh_lookup)(void *ctx, uint32_t ip_be, uint8_t mac[6]);
	/* Wake the thread that runs ftoe_engine_poll (e.g. an eventfd write):
	 * called when work arrives from another thread (an application). */
	void (*wake)(void *ctx);
	/* Optional (NULL: xmit only).  As xmit, with the snapshot of the
	 * segment's flow (struct flextoe_md, docs/design.md section 4) for the
	 * backend's tx-post hook.  The engine calls it instead of xmit only
	 * while the tx-post hook has programs (cfg.hooks) and the frame is
	 * a segment of a flow; md is borrowed for the call. */
	int (*xmit_md)(void *ctx, unsigned int q, const void *frame, size_t len,
		       const struct flextoe_md *md);
	/* Optional (NULL: neighbours are untagged).  The VLAN tags of the
	 * neighbour ip_be as the neighbour cache learned them from its tagged
	 * ARP packets (core/control/arp.c); 0 with vlan filled (flags 0:
	 * untagged), or an error as neigh_lookup.  The engine's own
	 * connections to it then send on that VLAN. */
	int (*neigh_vlan)(void *ctx, uint32_t ip_be, struct ftoe_vlan *vlan);
	/* Optional (NULL: the engine makes no IPv6 connections of its own).
	 * As neigh_lookup and neigh_vlan for an on-link IPv6 address (neighbour
	 * discovery, core/control/nd.c); the backend calls
	 * ftoe_engine_neigh6_ready when an -EAGAIN one resolves. */
	int (*neigh6_lookup)(void *ctx, const uint8_t ip6[16], uint8_t mac[6]);
	int (*neigh6_vlan)(void *ctx, const uint8_t ip6[16], struct ftoe_vlan *vlan);
};

struct ftoe_engine_cfg {
	uint32_t ip_be;			/* the engine's address */
	uint32_t prefix_len;
	uint32_t gateway_be;		/* 0: none */
	/* The engine's IPv6 address (network order) and its on-link prefix;
	 * all zero: the engine serves IPv4 only. */
	uint8_t ip6[16];
	uint32_t prefix6_len;
	uint8_t mac[6];			/* the interface's MAC */
	uint16_t mtu;			/* IP MTU, e.g. 1500 */
	uint32_t max_flows;		/* >= 65536 supported */
	unsigned int nr_queues;
	/* Congestion control (core/control/cc.h), from ftoe_cc_parse; NULL:
	 * the default (dctcp).  cc_param: its argument (const: bit/s, 0:
	 * unpaced). */
	const struct ftoe_cc_ops *cc;
	uint64_t cc_param;

	/* Additions (engine work); 0 selects the default. */
	uint32_t max_conns;		/* connections with buffers (min(max_flows, 4096)) */
	uint32_t rx_buf_size;		/* per connection, power of two (256 KiB) */
	uint32_t tx_buf_size;		/* per connection, power of two (256 KiB) */
	uint32_t rto_min_us;		/* RFC 6298 minimum RTO (200 ms, as Linux) */
	uint32_t time_wait_ms;		/* TIME_WAIT (2 MSL) duration (60 s, as Linux) */
	uint32_t delack_us;		/* delayed-ACK timeout (40 ms) */
	uint32_t rto_retries;		/* RTO backoffs before giving up, 1..255 (15, as
					 * Linux tcp_retries2); flextoe --rto-retries */
	uint32_t ooo_intervals;		/* out-of-order intervals per flow, 1..FTOE_OOO_IV_MAX
					 * (4; core/ooo.h); flextoe --ooo-intervals */
	uint32_t syn_table_size;	/* half-open connections (4096; flextoe --syn-table) */
	uint32_t tw_table_size;		/* connections in TIME_WAIT (16384; --tw-table) */
	uint32_t syn_backlog;		/* half-open per listener before cookies (0: its
					 * backlog; as Linux tcp_max_syn_backlog; --syn-backlog) */
	uint64_t secret[2];		/* ISN / SYN-cookie / hash key: random per start */
	/* Hook points the engine runs itself (rx-post, after the protocol
	 * stage); NULL: none.  The backend owns them (core/hooks.h). */
	struct ftoe_hooks *hooks;
	uint32_t flags;			/* FTOE_ENG_F_* */
};
#define FTOE_ENG_F_NO_WSCALE (1u << 0)	/* do not offer window scaling */
#define FTOE_ENG_F_NO_TS     (1u << 1)	/* do not offer timestamps */
#define FTOE_ENG_F_NO_ECN    (1u << 2)	/* do not offer/accept ECN */
#define FTOE_ENG_F_NO_COOKIES (1u << 3)	/* drop SYNs on a full backlog instead */

/* Congestion control by name (core/control/cc.c): spec is "NAME" or
 * "NAME:ARG".  0 with *ops and *param set; -ENOENT for an unknown name,
 * -EINVAL for a bad or unexpected ARG. */
int ftoe_cc_parse(const char *spec, const struct ftoe_cc_ops **ops, uint64_t *param);
/* The registered names for --help and errors, "dctcp, timely, const[:RATE]";
 * 0 or -ENOSPC. */
int ftoe_cc_names(char *buf, size_t size);
/* The name of ops (NULL: the default's). */
const char *ftoe_cc_name(const struct ftoe_cc_ops *ops);

/* The engine's SYN cookies (RFC 4987 3.6, its own secret), for the raw
 * SYN-cookie helpers of programs at its hooks: make gives the cookie the
 * engine would answer the SYN saddr:sport -> daddr:dport (sequence seq,
 * MSS option mss) with, and the MSS it encodes; check takes the ACK that
 * completes it (its seq and ack): 0 with the MSS, or -EACCES.  Addresses
 * and ports in network order.  Any thread. */
int ftoe_engine_syncookie_make(struct ftoe_engine *e, uint32_t saddr_be, uint32_t daddr_be,
			       uint16_t sport_be, uint16_t dport_be, uint32_t seq, uint16_t mss,
			       uint32_t *cookie, uint16_t *mss_out);
int ftoe_engine_syncookie_check(struct ftoe_engine *e, uint32_t saddr_be, uint32_t daddr_be,
				uint16_t sport_be, uint16_t dport_be, uint32_t seq, uint32_t ack,
				uint16_t *mss_out);

/* Provided by the core (core/engine.c and the stages). */
int ftoe_engine_create(const struct ftoe_engine_cfg *cfg, const struct ftoe_io *io,
		       struct ftoe_engine **out);
void ftoe_engine_destroy(struct ftoe_engine *eng);
/* Frames of TCP segments for the engine's address, Ethernet header first
 * (VLAN tags already removed by the backend or an rx-pre program).  The
 * frames are only borrowed for the duration of the call. */
void ftoe_engine_rx(struct ftoe_engine *eng, unsigned int q, void *const frames[],
		    const uint16_t lens[], unsigned int n);
/* The same with the rx-pre hook's record of each frame (struct flextoe_md,
 * include/flextoe/bpf.h): mds[i] for frames[i], NULL for a frame the hook's
 * programs did not see (mds NULL: none did).  The control plane takes
 * classify's app_ctx (FLEXTOE_MDF_CLASS: the listener of a port several
 * application contexts share) and vlan_strip's tags (answers go back on
 * the frame's VLAN) from it; the engine reads nothing in front of a frame.
 * Borrowed for the call, like the frames. */
void ftoe_engine_rx_md(struct ftoe_engine *eng, unsigned int q, void *const frames[],
		       const uint16_t lens[], const struct flextoe_md *const mds[],
		       unsigned int n);
/* The same, split for a backend that spreads the stages over threads
 * (core/x86/pipe.c).  ftoe_engine_rx_prepare: the read-only part of
 * pre-processing (validation, checksums, flow lookup) for one frame and its
 * rx-pre record md (NULL: none; kept by pointer, so it must live as long
 * as the frame), into *it (struct ftoe_rx_item, core/pipeline.h); safe on
 * any thread, concurrently with the engine's.  ftoe_engine_rx_items: the stateful rest
 * (protocol, rx-post hook, post-processing; the control plane for SYN,
 * RST, unknown flows) on the engine's thread, strictly in the order given;
 * the frames must stay valid until it returns. */
struct ftoe_rx_item;
void ftoe_engine_rx_prepare(const struct ftoe_engine *eng, void *frame, uint16_t len,
			    const struct flextoe_md *md, struct ftoe_rx_item *it);
void ftoe_engine_rx_items(struct ftoe_engine *eng, unsigned int q, struct ftoe_rx_item *items,
			  unsigned int n);
/* A frame ftoe_engine_rx_prepare found malformed that the backend drops
 * there rather than passing it on (core/x86/fgpipe.c): counted in the
 * engine's rx_frames and rx_malformed (TcpInErrs) as ftoe_engine_rx_items
 * would; safe on any thread. */
void ftoe_engine_rx_drop_malformed(struct ftoe_engine *eng, const struct ftoe_rx_item *it);
/*
 * Flow groups (FlexTOE section 4.2; core/x86/fgpipe.c): ftoe_engine_rx_items
 * one stage at a time, so a backend can run the protocol stages of
 * different flow groups (core/reorder.h ftoe_flow_group) on different
 * threads at once.  Per group, in its items' order:
 *   k = ftoe_engine_rx_proto(items, n)   the fast-path run at the head (at
 *           most a batch): claimed and through the protocol stage.  Holds:
 *           the group's own lock (no other thread runs that group's items).
 *   k > 0: ftoe_engine_rx_post(items, k) rx-post hook, post-processing and
 *           what they hand the control plane; then items += k.
 *   k == 0: ftoe_engine_rx_divert(items)  the head item is the control
 *           plane's; then items += 1.
 *   at the end of a batch: ftoe_engine_rx_end()  the applications' events.
 * post, divert, end and every other entry point (poll, ftoe_sock_*,
 * neigh_ready) hold the engine's shared lock; those that are not about one
 * group's items (poll, the sockets, ARP) hold every group's lock too, as
 * they touch any flow.  Items of one group must not be split across
 * threads, and a flow's segments must reach its group in arrival order.
 */
unsigned int ftoe_engine_rx_proto(struct ftoe_engine *eng, struct ftoe_rx_item *items,
				  unsigned int n);
void ftoe_engine_rx_post(struct ftoe_engine *eng, struct ftoe_rx_item *items, unsigned int k);
void ftoe_engine_rx_divert(struct ftoe_engine *eng, struct ftoe_rx_item *it);
/* ftoe_engine_rx_post split for post-processing on threads of its own:
 * _place copies the run's payload into the flows' rx rings and holds no
 * lock (any thread, beside every other stage: each item writes only its
 * own bytes, above the rx_head the application reads to); _finish is the
 * rest (rx-post hook, rx_head, ACKs, events, the control plane's work),
 * under the group's lock and the shared one, after _place, and for a
 * flow's items in their arrival order (a reorder point, core/reorder.h):
 * rx_head moves only over bytes already placed, and the wire gets a flow's
 * ACKs in order.  Both write nothing for a flow freed since its protocol
 * stage (its slot may be a new flow's): the free waits for a placement of
 * the slot in progress (engine_internal.h flow_gen), and counts them
 * (rx_stale, rx_stale_place). */
void ftoe_engine_rx_post_place(struct ftoe_engine *eng, struct ftoe_rx_item *items,
			       unsigned int k);
void ftoe_engine_rx_post_finish(struct ftoe_engine *eng, struct ftoe_rx_item *items,
				unsigned int k);
void ftoe_engine_rx_end(struct ftoe_engine *eng);
/* When ftoe_engine_poll is next due, on the engine's clock: 0 while the
 * flow scheduler has flows to send, else the earliest timer (UINT64_MAX:
 * none).  For a backend whose group threads' post-processing may make it
 * due sooner than the thread that polls planned (the shared lock). */
uint64_t ftoe_engine_poll_due(const struct ftoe_engine *eng);
/* ftoe_engine_rx_prepare without the flow-table lookup, for a backend that
 * calls it on the engine's thread right before ftoe_engine_rx_items
 * (core/x86/worker.c): the frame is parsed once, where it is received,
 * and its flow found through the engine's flow cache. */
void ftoe_engine_rx_parse(const struct ftoe_engine *eng, void *frame, uint16_t len,
			  const struct flextoe_md *md, struct ftoe_rx_item *it);
/* Run timers and transmit what is scheduled on queue q; returns the ns
 * until the next deadline (UINT64_MAX: none), for the caller to block. */
uint64_t ftoe_engine_poll(struct ftoe_engine *eng, unsigned int q);
/* A neighbour the engine asked for (-EAGAIN) has been resolved. */
void ftoe_engine_neigh_ready(struct ftoe_engine *eng, uint32_t ip_be);
/* The same for an IPv6 address (io.neigh6_lookup returned -EAGAIN for it). */
void ftoe_engine_neigh6_ready(struct ftoe_engine *eng, const uint8_t ip6[16]);

/* Counters (additions).  Read from the engine's thread. */
struct ftoe_engine_stats {
	uint64_t rx_frames, rx_malformed, rx_slow, rx_no_flow, rx_fast;
	uint64_t rx_bytes;		/* payload placed in receive buffers */
	uint64_t rx_ooo, rx_dup, rx_out_of_window, rx_paws_drop;
	uint64_t rx_ooo_full;		/* out-of-order data dropped: every interval in use */
	uint64_t rx_bad_csum;		/* of rx_malformed: a wrong IPv4 or TCP checksum */
	uint64_t rx_not_ours;		/* not IPv4 TCP to the engine's address: dropped */
	uint64_t rx_bad_ack;		/* ACK of data never sent, or too old (RFC 5961 5.2): dropped */
	uint64_t rx_flow_closed;	/* the flow closed before the protocol stage took it, in
					 * TIME-WAIT, or no ACK flag: dropped */
	uint64_t tx_frames, tx_bytes, tx_ring_full, tx_acks, tx_rst;
	uint64_t retransmits;		/* segments sent again (go-back-N) */
	uint64_t fast_retransmits, timeouts, probes;
	uint64_t tlp_probes;		/* tail loss probes (RFC 8985 7) */
	/* timeouts with 3 or more segments SACKed (RACK's to find), except
	 * those the first ACK after shows unneeded (protocol.c rto_verdict) */
	uint64_t timeouts_sacked;
	uint64_t spurious_undos;	/* recoveries undone: Eifel or D-SACK */
	uint64_t dsack_undos;		/* of those, by D-SACKs of every retransmission (RFC 3708) */
	uint64_t rx_dsacks;		/* ACKs whose first SACK block is a D-SACK (RFC 2883): data
					 * that reached the receiver twice (resent, or duplicated) */
	/* SACKed ranges the sender's scoreboard could not keep (every block in
	 * use, core/loss_tx.h FTOE_LT_R_FULL), and their segments: data the
	 * receiver holds that the sender counts as in flight again */
	uint64_t sack_full, sack_forgot_segs;
	uint64_t rto_resends;		/* segments resent by a timeout's walk */
	uint64_t conn_passive, conn_active, conn_reset, conn_timeout;
	uint64_t attempt_fails;	/* SYN-SENT or SYN-RECEIVED -> CLOSED or LISTEN (RFC 4022 tcpAttemptFails) */
	uint64_t syn_cookies_sent, syn_cookies_ok, syn_dropped;
	uint64_t challenge_acks;
	/* hostile peers (core/control/conn.c, syn_table.c, time_wait.c) */
	uint64_t rx_martian;		/* segments from martian sources, dropped */
	uint64_t rx_listen_drop;	/* to a listener without ACK, or SYN+FIN: dropped */
	uint64_t syn_table_full;	/* SYNs answered with a cookie: SYN table full */
	uint64_t syn_expired;		/* half-open connections given up */
	uint64_t syn_ack_dropped;	/* handshake ACKs dropped: accept queue or slots full */
	uint64_t tw_entered, tw_evicted, tw_acks;
	uint64_t tw_acks_limited;	/* TIME_WAIT ACKs not sent: one per 500 ms */
	uint64_t syn_rec_acks;		/* ACKs to a SYN not matching its half-open record */
	uint64_t splice_late_tx;	/* spliced-flow segments relayed late (splice.c) */
	uint64_t rx_ip6_ext;		/* IPv6 frames with extension headers, dropped */
	/* segments whose flow was freed (its slot perhaps a new flow's)
	 * between their protocol stage and post-processing's finish (on
	 * another thread with flow groups, or by the control plane's work for
	 * an earlier segment of the batch): no rx_head, ACK or event
	 * (engine_internal.h flow_gen) */
	uint64_t rx_stale;
	uint64_t rx_stale_place;	/* of those, payload placements that wrote nothing */
	uint64_t flow_free_waits;	/* frees that waited for a placement in progress */
	/* reads that found rx_head more than a ring behind or ahead of
	 * rx_tail (never, unless a stage published a head out of order):
	 * nothing is read, rather than a ring of stale bytes */
	uint64_t rx_head_bogus;
};
void ftoe_engine_get_stats(const struct ftoe_engine *eng, struct ftoe_engine_stats *st);

/* One connection as an operator sees it (flextoe-stat ss, docs/operating.md);
 * addresses and ports in host order. */
struct ftoe_conn_info {
	uint32_t id;			/* flow id */
	const char *state;		/* "ESTAB", "SYN-SENT", ... as ss names them */
	uint32_t local_ip, remote_ip;	/* IPv4 (IPv6: the last 32 bits) */
	uint16_t local_port, remote_port;
	uint8_t ip_version;		/* 4 or 6 */
	uint8_t local_ip6[16], remote_ip6[16];	/* IPv6 (IPv4: ::ffff:a.b.c.d) */
	uint16_t flow_group;
	uint32_t region;		/* buffers' region: 0 the engine's, else a context's */
	uint32_t send_q;		/* bytes queued by the application, not yet acknowledged */
	uint32_t recv_q;		/* bytes received, not yet read by the application */
	uint32_t srtt_us, rttvar_us, rto_us;
	uint32_t cwnd, rate_kbps;	/* the congestion controller's window and pacing rate */
	uint32_t snd_mss, rcv_mss, snd_wnd, rcv_wnd;
	uint32_t retrans_total;
	uint64_t bytes_acked, bytes_received;
	uint8_t snd_wscale, rcv_wscale;
	uint8_t ts, sack, ecn;		/* options negotiated */
};
/* Fill out with up to max connections (flow id order); returns how many
 * there are in all (may exceed max).  On the engine's thread. */
uint32_t ftoe_engine_conns(const struct ftoe_engine *eng, struct ftoe_conn_info *out,
			   uint32_t max);
/* A listening port (flextoe-stat ss -l). */
struct ftoe_listener_info {
	uint32_t index;			/* the engine's listener index */
	uint16_t port;
	uint16_t backlog;
	uint32_t pending;		/* half-open children (SYN-RECV) */
	uint32_t queued;		/* established, not yet accepted: ss's Recv-Q */
	uint32_t owner;			/* shared port: the owning context's id (0: sole) */
};
/* As ftoe_engine_conns, for the listeners (at most FTOE_LISTENERS_MAX). */
#define FTOE_LISTENERS_MAX 64
uint32_t ftoe_engine_listeners(const struct ftoe_engine *eng, struct ftoe_listener_info *out,
			       uint32_t max);

#endif
