/* des.h - the discrete-event timing model of the NFP-4000: layouts, one simulated run, its figures. */
#ifndef FTOE_NFPSIM_DES_H
#define FTOE_NFPSIM_DES_H

#include <stdbool.h>
#include <stdint.h>

#include "core/nfp/sim/config.h"
#include "core/nfp/sim/world.h"

/* Where the stages run.  Pipelined: per flow group (an island) `pre`
 * pre-processing MEs, one protocol ME, `post` post-processing MEs.
 * Run-to-completion: `rtc` MEs, each running every stage for its own flows
 * (flow id modulo rtc), as a TAS-style design would.  Both add island 36
 * (DMA, queue manager: isl36 MEs) and island 48 (isl48). */
struct des_layout {
	unsigned fg, pre, post;
	unsigned rtc;           /* 0: pipelined */
	unsigned isl36, isl48;
};
static inline unsigned des_layout_mes(const struct des_layout *l)
{
	return (l->rtc ? l->rtc : l->fg * (l->pre + 1 + l->post)) + l->isl36 + l->isl48;
}

enum des_stage { DES_PRE, DES_PROTO, DES_POST, DES_RTC, DES_ISL36, DES_PCIE, DES_MAC_RX, DES_MAC_TX,
		 DES__STAGES };
extern const char *const des_stage_name[DES__STAGES];

struct des_result {
	double mpps;            /* frames the NIC received and sent, millions per second */
	double gbps;            /* payload delivered to the host and sent, Gbit/s */
	double rpc_mops;        /* RPC: responses per second, millions */
	double lat_p50_us, lat_p99_us, lat_p999_us;
	double util[DES__STAGES]; /* busy fraction: the stage's busiest flow group (pre,
				 * proto, post), busiest ME (rtc), island 36, the links */
	enum des_stage bottleneck;
	uint64_t events;
	uint64_t order_faults;  /* segments that reached the host, or responses the
				 * peer, out of their connection's order (must be 0) */
};

/* Per-item memory commands measured by the functional run (world.c). */
struct des_costs {
	double cmds[SIM_ST__MAX][NFP_MEM__MAX];
	double bytes[SIM_ST__MAX][NFP_MEM__MAX]; /* per command */
	/* of that: the eBPF programs at the stage's hook (hook.c), per item */
	double hook_cycles[SIM_ST__MAX], hook_insns[SIM_ST__MAX], hook_cmds[SIM_ST__MAX];
};
void des_costs_from_world(const struct sim_world *w, const struct sim_params *p, struct des_costs *c);

/* One run: conns connections of traffic t on layout l; 0 or -ENOMEM. */
int des_run(const struct sim_params *p, const struct des_costs *c, const struct des_layout *l,
	    enum sim_traffic t, unsigned conns, uint64_t seed, struct des_result *r);

#endif
