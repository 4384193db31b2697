/* sim.h - flextoe-nfpsim's parts: the functional run (world.c), the check (verify.c), the timing model (des.c), the parameters (config.c). */
#ifndef FTOE_NFPSIM_SIM_H
#define FTOE_NFPSIM_SIM_H

#include "core/nfp/sim/hook.h"
#include "core/nfp/sim/world.h"

/* Run base through the x86 entry points once and through the NFP stages
 * with scheduling seeds 1..seeds; prints a line per seed and
 * "N passed, N failed"; 0 when all are equal. */
int sim_verify(const struct sim_world_cfg *base, unsigned seeds);

/* One NFP functional run; prints its counts (items per stage, frames)
 * as key=value lines.  0 or 1. */
int sim_run_counts(const struct sim_world_cfg *c);

/* flextoe-nfpsim hooks: the throughput with each spec's program attached
 * alone against none, on the smallest and the 50-ME layout (scale.c). */
int sim_hooks_main(const struct sim_world_cfg *c, const char *config, bool json,
		   const struct sim_hook_spec *specs, unsigned n, const char *fw_rules);

#endif
