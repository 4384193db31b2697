/* engine_app.h - test applications over the engine socket API: bulk transfer with byte checks. */
#ifndef FTOE_TESTS_UNIT_CORE_ENGINE_APP_H
#define FTOE_TESTS_UNIT_CORE_ENGINE_APP_H

#include "tests/unit/core/engine_link.h"

/* Pattern byte at stream offset off of stream id (never constant). */
static inline uint8_t app_pat(uint32_t id, uint64_t off)
{
	uint64_t x = (off >> 4) * 0x9e3779b97f4a7c15ull + id;

	return (uint8_t)((x >> 29) ^ off ^ (off >> 8));
}

/* One direction of a transfer: side tx sends len bytes on sock stx,
 * side rx reads on srx and checks every byte. */
struct app_stream {
	int tx_side, stx, srx;
	uint32_t id;
	uint64_t len, sent, rcvd;
	uint64_t bad;		/* mismatching bytes */
	bool eof, close_after;	/* shutdown after sending */
	bool shut;
	bool paused;		/* receiver does not read */
};

/* Push and pull what the rings allow; true when all was received. */
bool app_stream_step(struct lb_world *w, struct app_stream *s);

/* Connect side 0 to side 1 on port: sets *c (side 0) and *a (side 1). */
bool app_connect(struct lb_world *w, uint16_t port, int *c, int *a);
/* The same to side B's IPv6 address ip6 (NULL: its IPv4 one, as app_connect). */
bool app_connect_to(struct lb_world *w, uint16_t port, const uint8_t *ip6, int *c, int *a);

#endif
