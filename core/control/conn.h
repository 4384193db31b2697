/* conn.h - control plane connection management: handshakes, teardown, slow-path segments.
 * conn.c implements it, but for the active open (connect, the SYN's timer,
 * the next hop's MAC), which is connect.c. */
#ifndef FTOE_CORE_CONTROL_CONN_H
#define FTOE_CORE_CONTROL_CONN_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

struct ftoe_engine;
struct ftoe_rx_item;

/* A segment pre-processing could not keep on the fast path (FTOE_SP_SEG,
 * core/control/slowpath.c). */
void ftoe_conn_slow_rx(struct ftoe_engine *e, struct ftoe_rx_item *it);
/* State changes reported by the data path (FTOE_RX_R_FIN / _FIN_ACKED, a
 * segment in TIME_WAIT). */
void ftoe_conn_rx_event(struct ftoe_engine *e, uint32_t id, uint32_t res);
/* Abort a connection with err (-ECONNRESET, -ETIMEDOUT ...), optionally
 * sending RST; frees it unless the application still holds it. */
void ftoe_conn_reset(struct ftoe_engine *e, uint32_t id, int err, bool send_rst);
void ftoe_conn_free(struct ftoe_engine *e, uint32_t id);

int ftoe_conn_listen(struct ftoe_engine *e, uint16_t port, unsigned backlog);
/* The same taking SYNs of families fams only (FTOE_LISTEN_V4 | _V6, core/socket.h;
 * 0 both): listeners of disjoint families may share a port. */
int ftoe_conn_listen_fams(struct ftoe_engine *e, uint16_t port, unsigned backlog, unsigned fams);
/* Change listener idx's families; false (unchanged) when another
 * listener of the port takes one of them. */
bool ftoe_conn_listen_set_fams(struct ftoe_engine *e, unsigned idx, unsigned fams);
/* A listener on a port that several application contexts share (each
 * calls this with its own non-zero owner id, like SO_REUSEPORT): a SYN
 * goes to the owner the rx-pre classify program named, else to one picked
 * by the 4-tuple's hash.  -EADDRINUSE when the port has a sole listener or
 * one of this owner already.  Returns the listener index. */
int ftoe_conn_listen_shared(struct ftoe_engine *e, uint16_t port, unsigned backlog,
			    uint32_t owner);
void ftoe_conn_unlisten(struct ftoe_engine *e, unsigned idx);
int ftoe_conn_accept(struct ftoe_engine *e, unsigned idx);
/* Active open (connect.c); lport 0: an ephemeral port. */
int ftoe_conn_connect(struct ftoe_engine *e, uint16_t lport, uint32_t ip_be, uint16_t port);
/* The same to an IPv6 peer (the engine's cfg.ip6 is the local address);
 * -EINVAL without one, or for an address TCP cannot use. */
int ftoe_conn_connect6(struct ftoe_engine *e, uint16_t lport, const uint8_t ip6[16],
		       uint16_t port);
/* Application: no more data (FIN after what is queued). */
void ftoe_conn_shutdown_wr(struct ftoe_engine *e, uint32_t id);
/* Application released the socket. */
void ftoe_conn_app_close(struct ftoe_engine *e, uint32_t id);

/* Timers (core/control/timers.c calls these).  The SYN's (connect.c): resend
 * it, or fail the connection with -ETIMEDOUT once its retries are spent. */
void ftoe_conn_syn_timeout(struct ftoe_engine *e, uint32_t id);
void ftoe_conn_wait_timeout(struct ftoe_engine *e, uint32_t id);
/* ftoe_conn_neigh_ready, _neigh6_ready: core/slowpath.h (the engine calls
 * them; connect.c). */

#endif
