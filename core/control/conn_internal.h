/* conn_internal.h - what conn.c lends connect.c (the active open); nothing else includes it. */
#ifndef FTOE_CORE_CONTROL_CONN_INTERNAL_H
#define FTOE_CORE_CONTROL_CONN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

struct ftoe_engine;
struct ftoe_flow_key;
struct ftoe_vlan;
struct flow_conn;

#define CONN_DEFAULT_MSS 536 /* RFC 9293 3.7.1: without the option */

/* A flow slot for 4-tuple key, entered in the flow table: 0 and *out,
 * -ENOSPC with no slot free, or ftoe_ft_insert's error (-EEXIST: the
 * 4-tuple has a flow already). */
int ftoe_conn_flow_alloc(struct ftoe_engine *e, const struct ftoe_flow_key *key, uint32_t *out);
/* The ISN for 4-tuple k (RFC 6528). */
uint32_t ftoe_conn_isn(struct ftoe_engine *e, const struct ftoe_flow_key *k);
/* Our TSval offset for a connection with ISS iss (RFC 7323 5.4). */
uint32_t ftoe_conn_ts_offset(struct ftoe_engine *e, uint32_t iss);
void ftoe_conn_set_vlan(struct flow_conn *fc, const struct ftoe_vlan *v);
/* Send flow id's SYN (or SYN-ACK) with its options and arm its
 * retransmission timer. */
void ftoe_conn_send_syn(struct ftoe_engine *e, uint32_t id, bool synack);

#endif
