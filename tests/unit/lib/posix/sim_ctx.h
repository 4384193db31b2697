/* sim_ctx.h - a simulated engine context for libflextoe-posix's unit tests: shared memory laid out as the engine's, commands read back, events posted by the test. */
#ifndef FTOE_TESTS_POSIX_SIM_CTX_H
#define FTOE_TESTS_POSIX_SIM_CTX_H

#include "lib/posix/internal.h"

/* A context of max_socks sockets with buf-byte rings, no daemon behind it. */
void sim_ctx_up(uint32_t max_socks, uint32_t buf);
/* The next command the library queued: 1, or 0 when there is none. */
int sim_cmd_next(struct appif_cmd *c);
/* Post an engine event and wake the library as the engine does. */
void sim_post(uint16_t type, uint32_t handle, int32_t res, uint32_t a0, uint32_t a1);
/* Engine slot s as a socket of kind with an eventfd for it in the fd table
 * (connections are established); returns the fd. */
int sim_sock(uint32_t s, uint8_t kind);
/* Bytes arriving on socket s: in the rx ring, with an APPIF_EV_RX. */
void sim_rx(uint32_t s, const void *data, uint32_t n);

#endif
