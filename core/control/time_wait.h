/* time_wait.h - connections in TIME_WAIT, kept in a compact table once their connection slot is given back. */
#ifndef FTOE_CORE_CONTROL_TIME_WAIT_H
#define FTOE_CORE_CONTROL_TIME_WAIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/control/tuple_tab.h"
#include "core/vlan.h"

struct ftoe_engine;
struct ftoe_rx_item;

/*
 * RFC 9293 3.6 / 3.10.7.4: TIME_WAIT lasts 2 MSL so a retransmitted FIN is
 * acknowledged and old duplicates die out.  It needs no buffers and no
 * connection slot, so a connection the application has let go moves here
 * (as Linux's inet_timewait_sock): 4-tuple, snd_nxt, rcv_nxt, TS.Recent,
 * the expiry.  When the table is full the oldest record is evicted
 * (counted, engine stats tw_evicted): a busy server closing thousands of
 * connections a second never runs out of connection slots for it.
 */

/* One connection in TIME_WAIT: 48 bytes (plus the table's 28). */
struct ftoe_tw_rec {
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent;	/* 0 with no FTOE_TW_F_TS */
	uint32_t ts_off;	/* our TSval offset */
	uint64_t expiry;	/* ns */
	uint16_t win;		/* window field of our ACKs */
	struct ftoe_vlan vlan;	/* the connection's tags */
	uint8_t remote_mac[6];
	uint8_t flags;		/* FTOE_TW_F_* */
	uint8_t pad;
	uint32_t ack_ms;	/* when our last ACK went (ms, wraps); FTOE_TW_F_ACKED */
};
#define FTOE_TW_F_TS (1u << 0) /* timestamps in use (RFC 7323) */
#define FTOE_TW_F_ACKED (1u << 1) /* ack_ms is set */
/* ACKs from TIME_WAIT are rate-limited, as Linux's tcp_invalid_ratelimit
 * (500 ms): a peer (or an attacker replaying its segments) cannot make the
 * engine answer every segment. */
#define FTOE_TW_ACK_GAP_MS 500u

/* The default number of records (flextoe --tw-table). */
#define FTOE_TW_TABLE_DEFAULT 16384

int ftoe_tw_table_create(struct ftoe_engine *e, uint32_t cap);
void ftoe_tw_table_destroy(struct ftoe_engine *e);

/* Flow id enters TIME_WAIT here (its slot may then be freed); the oldest
 * record is evicted when the table is full. */
void ftoe_tw_add(struct ftoe_engine *e, uint32_t id);
int ftoe_tw_lookup(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *idx);
/* A segment for the connection in record idx (RFC 9293 3.10.7.4, RFC 6191,
 * as Linux): a RST ends it; a SYN that opens a new incarnation (sequence
 * number above rcv_nxt, or with timestamps a newer TSval) ends it and
 * returns true, for the caller to treat as a SYN to the listener, with the
 * new connection's ISN in *isn (ftoe_tw_reopen_isn); anything else except
 * a bare in-window ACK is answered with an ACK, at most one per
 * FTOE_TW_ACK_GAP_MS per record, and a FIN restarts the 2 MSL. */
bool ftoe_tw_rx(struct ftoe_engine *e, struct ftoe_rx_item *it, uint32_t idx, uint32_t *isn);

/* The ISN of a connection that reopens a TIME_WAIT 4-tuple: past the old
 * one's send space by more than a maximum unscaled window, so no old
 * duplicate can be taken for new data (Linux: tw_snd_nxt + 65535 + 2). */
static inline uint32_t ftoe_tw_reopen_isn(uint32_t snd_nxt)
{
	return snd_nxt + 65537u;
}
/* Expire records; returns the next expiry (UINT64_MAX: none). */
uint64_t ftoe_tw_timers_run(struct ftoe_engine *e);
uint32_t ftoe_tw_count(const struct ftoe_engine *e);

#endif
