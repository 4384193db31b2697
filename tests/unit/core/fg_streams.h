/* fg_streams.h - what the flow-group tests share: a flow's key from a frame, a small key table, and bulk streams both ways over several connections. */
#ifndef FTOE_TESTS_UNIT_CORE_FG_STREAMS_H
#define FTOE_TESTS_UNIT_CORE_FG_STREAMS_H

#include "tests/unit/core/engine_app.h"

#define FG_STREAMS_MAX_CONN 8

/* The flow's ports, client's first, from an IPv4/TCP frame (from_b: side
 * B sent it); 0: not TCP. */
uint32_t fg_frame_key(const uint8_t *f, uint16_t len, bool from_b);
/* The slot of key in keys[0..n) (open addressing; a free slot, 0, is
 * taken); fails the test when the table is full. */
unsigned fg_key_slot(uint32_t *keys, unsigned n, uint32_t key);

/* len bytes each way on nconn connections from port port0 up; odd seeds
 * get faults on the link (fault_b: on side B's frames too). */
struct fg_streams {
	struct app_stream s[2 * FG_STREAMS_MAX_CONN];
	unsigned n;
	uint64_t seed, len;
};
void fg_streams_open(struct lb_world *w, struct fg_streams *t, uint64_t seed, unsigned nconn,
		     uint16_t port0, uint64_t len);
/* lb_run until every stream is through (600 s of virtual time at most),
 * then every byte checked. */
void fg_streams_run(struct lb_world *w, struct fg_streams *t);

#endif
