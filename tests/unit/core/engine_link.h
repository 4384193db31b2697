/* engine_link.h - two engines wired back to back in memory, with faults and a virtual clock. */
#ifndef FTOE_TESTS_UNIT_CORE_ENGINE_LINK_H
#define FTOE_TESTS_UNIT_CORE_ENGINE_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/engine.h"
#include "core/socket.h"

/* Fault model per direction, percentages drawn from a seeded PRNG. */
struct lb_faults {
	unsigned drop, dup, reorder, corrupt;
};

struct lb_pkt {
	uint64_t at;
	uint16_t len;
	uint8_t data[1600];
};

struct lb_queue {
	struct lb_pkt *p;
	unsigned head, len, cap;
};

struct lb_world;
/* Application step, called every loop iteration; returns true when done. */
typedef bool (*lb_step_fn)(struct lb_world *w, void *arg);

struct lb_side {
	struct lb_world *w;
	int idx;
	struct ftoe_engine *eng;
	struct lb_queue out;	/* frames this side sent, in flight */
	struct lb_faults f;
	uint64_t sent, dropped;
	/* optional tap: inspect/modify every frame this side sends (return
	 * false to drop it) */
	bool (*tap)(struct lb_side *s, uint8_t *frame, uint16_t *len);
};

struct lb_world {
	uint64_t now;
	uint64_t lat_ns;
	uint64_t rng;
	struct lb_side s[2];
	bool block_tx;		/* refuse xmit (ring full) */
	/* deliver through ftoe_engine_rx_prepare + ftoe_engine_rx_items (the
	 * pipelined backend's split) instead of ftoe_engine_rx */
	bool split_rx;
	/* deliver through ftoe_engine_rx_parse + ftoe_engine_rx_items (the
	 * single-thread x86 worker: parsed where received, no table lookup) */
	bool parse_rx;
	/* a staged rx path in front of side B's engine (tests/unit/core/
	 * test_flow_groups.c): when set, frames for side B go to rx_stage
	 * (copied: the frame is borrowed for the call), and lb_run calls
	 * pump every round, counting what it moved as progress */
	void (*rx_stage)(struct lb_world *w, const void *frame, uint16_t len);
	unsigned (*pump)(struct lb_world *w);
};

#define LB_IP_A 0x0a000001u /* 10.0.0.1 (host order) */
#define LB_IP_B 0x0a000002u

/* cfg_a/cfg_b may be NULL for defaults (small buffers, const unpaced cc). */
void lb_init(struct lb_world *w, uint64_t seed, const struct ftoe_engine_cfg *cfg_a,
	     const struct ftoe_engine_cfg *cfg_b);
void lb_fini(struct lb_world *w);
void lb_default_cfg(struct ftoe_engine_cfg *cfg, uint32_t ip);
/* Run until step returns true or max_ns of virtual time passes.  Returns
 * true when step finished. */
bool lb_run(struct lb_world *w, lb_step_fn step, void *arg, uint64_t max_ns);
/* Inject a raw frame into side idx's engine now. */
void lb_inject(struct lb_world *w, int idx, const void *frame, uint16_t len);
uint64_t lb_rand(struct lb_world *w);
/* Put a frame on the link as side s sending it (faults applied; no tap). */
void lb_wire_send(struct lb_side *s, const void *frame, uint16_t len);
/* Build an Ethernet/IPv4/TCP frame from saddr to side B (LB_IP_B) into f,
 * with optlen bytes of TCP options (a multiple of 4) and dlen bytes of
 * payload, checksums filled in; returns its length. */
uint16_t lb_tcp_frame(uint8_t *f, uint32_t saddr, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		      const void *opt, uint8_t optlen, const void *data, uint16_t dlen);

#endif
