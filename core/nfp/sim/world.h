/* world.h - the simulator's functional side: a TCP peer and the NIC's engine run by the NFP stages, with what each emits logged. */
#ifndef FTOE_NFPSIM_WORLD_H
#define FTOE_NFPSIM_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "core/nfp/fpc.h"
#include "core/reorder.h"
#include "tests/unit/core/engine_link.h"

enum sim_traffic { SIM_RPC, SIM_BULK };

struct sim_hooks;

struct sim_bytelog {
	uint8_t *p;
	size_t len, cap;
};

/* What the NFP run measured, per stage, for the timing model. */
struct sim_stage_acct {
	struct nfp_acct acct;
	uint64_t items;
};
enum { SIM_ST_PRE, SIM_ST_PROTO, SIM_ST_POST, SIM_ST__MAX };

struct sim_world_cfg {
	enum sim_traffic traffic;
	unsigned conns;
	unsigned rpc_window;    /* requests in flight per connection */
	unsigned rpc_size;      /* bytes per request and response */
	uint64_t rpcs;          /* RPC: responses to complete */
	uint64_t bulk_bytes;    /* BULK: bytes per connection */
	unsigned loss_pct;      /* peer -> NIC drops */
	bool nfp;               /* false: the x86 engine's entry points */
	uint64_t sched_seed;    /* NFP: context scheduling (completion order) */
	unsigned flow_groups;
	bool no_reorder;        /* fault injection (tests): bypass the reorder block */
	struct sim_hooks *hooks; /* eBPF programs at the NIC's rx-pre/rx-post (hook.h); NULL: none */
};

struct sim_world {
	struct sim_world_cfg cfg;
	struct lb_world lb;     /* side 0: the peer (client); side 1: the NIC */
	uint64_t rng;
	/* the NIC's wire output and the applications' received bytes */
	struct sim_bytelog wire, app;
	/* NFP state */
	struct nfp_pre_me pre[NFP_PRE_MES_PER_FG];
	struct nfp_proto_me proto[NFP_FLOW_GROUPS];
	struct ftoe_rob rob;
	struct ftoe_rob_slot rob_slots[512];
	struct sim_stage_acct st[SIM_ST__MAX];
	/* counts */
	uint64_t nic_rx_frames, nic_rx_payload, nic_tx_frames, nic_tx_data, nic_tx_payload;
	uint64_t peer_tx_frames;
	uint64_t nic_rx_hook_drops; /* frames rx-pre did not pass */
	uint64_t done_rpcs, done_bytes;
	uint64_t vtime_ns;      /* virtual time the exchange took */
};

/* Run the exchange; 0, or -ETIMEDOUT when it stalls (message printed). */
int sim_world_run(struct sim_world *w, const struct sim_world_cfg *cfg);
void sim_world_free(struct sim_world *w);

#endif
