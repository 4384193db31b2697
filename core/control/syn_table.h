/* syn_table.h - half-open passive connections (SYN-RECEIVED) in a compact table of their own. */
#ifndef FTOE_CORE_CONTROL_SYN_TABLE_H
#define FTOE_CORE_CONTROL_SYN_TABLE_H

#include <stdint.h>

#include "core/control/tuple_tab.h"
#include "core/vlan.h"

struct ftoe_engine;

/*
 * RFC 4987 section 3.3/3.6: a SYN to a listener costs a record here, not a
 * connection slot with its buffers; the connection (flow id, rx/tx rings)
 * is created when the handshake's ACK arrives (core/control/conn.c).
 * When this table or the listener's backlog is full, SYN cookies carry
 * the handshake instead, so a flood of spoofed SYNs can neither exhaust
 * the connection table nor lock legitimate clients out.
 */

#define FTOE_SYN_F_WS   (1u << 0) /* window scaling agreed (RFC 7323 2.2) */
#define FTOE_SYN_F_TS   (1u << 1) /* timestamps agreed (RFC 7323 3.2) */
#define FTOE_SYN_F_SACK (1u << 2) /* SACK-permitted both ways (RFC 2018 2) */
#define FTOE_SYN_F_ECN  (1u << 3) /* ECN agreed (RFC 3168 6.1.1) */

/* One half-open connection: 48 bytes (plus the table's 28 per record). */
struct ftoe_syn_rec {
	uint32_t iss, irs;
	uint32_t ts_recent;	/* the peer's TSval in its SYN */
	uint32_t ts_off;	/* our TSval offset for this connection */
	uint64_t due;		/* next SYN-ACK retransmission (ns) */
	uint32_t t0_us;		/* first SYN-ACK sent (us, wraps): handshake RTT */
	uint16_t peer_mss;	/* the peer's MSS option, 0: none */
	uint16_t peer_win;	/* the SYN's window (never scaled) */
	struct ftoe_vlan vlan;	/* the SYN's tags: the answers go on them */
	uint8_t remote_mac[6];
	uint8_t snd_wscale;
	uint8_t flags;		/* FTOE_SYN_F_* */
	uint8_t retries;	/* SYN-ACKs sent again */
	int8_t listener;	/* index in ftoe_engine.lis */
};

/* The default number of records (flextoe --syn-table). */
#define FTOE_SYN_TABLE_DEFAULT 4096
/* SYN-ACKs resent before a half-open connection is dropped (as Linux
 * tcp_synack_retries): 1+2+4+8+16+32 s. */
#define FTOE_SYNACK_RETRIES 5

int ftoe_syn_table_create(struct ftoe_engine *e, uint32_t cap);
void ftoe_syn_table_destroy(struct ftoe_engine *e);

/* A new zeroed record for key: 0 and its index, -ENOSPC (full) or -EEXIST. */
int ftoe_syn_add(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *idx);
int ftoe_syn_lookup(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *idx);
struct ftoe_syn_rec *ftoe_syn_get(struct ftoe_engine *e, uint32_t idx);
const struct ftoe_flow_key *ftoe_syn_key(struct ftoe_engine *e, uint32_t idx);
/* Forget record idx; with its listener's pending count when unlisted is
 * set (the handshake did not complete). */
void ftoe_syn_remove(struct ftoe_engine *e, uint32_t idx, int unlisted);
/* (Re)send the SYN-ACK of record idx and arm its retransmission
 * (RFC 6298 2.1: 1 s, doubling). */
void ftoe_syn_send_synack(struct ftoe_engine *e, uint32_t idx);
/* The window of our SYN-ACK (never scaled, RFC 7323 2.2): the receive
 * window of a half-open connection. */
uint32_t ftoe_syn_window(const struct ftoe_engine *e);
/* An ACK for record idx (SEQ = ISS + 1, ACK = IRS + 1), as Linux answers
 * a segment outside the half-open connection's window. */
void ftoe_syn_send_ack(struct ftoe_engine *e, uint32_t idx);
/* Drop every record of listener li (it stopped listening). */
void ftoe_syn_unlisten(struct ftoe_engine *e, int li);
/* Retransmissions and expiries that are due; returns the next deadline
 * (UINT64_MAX: none). */
uint64_t ftoe_syn_timers_run(struct ftoe_engine *e);
/* Records in use (tests, stats). */
uint32_t ftoe_syn_count(const struct ftoe_engine *e);

#endif
