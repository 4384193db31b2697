/* hook.h - eBPF programs at the simulated NIC's hooks: run in the runtime's counting interpreter, their instructions and map accesses charged to the ME stage that runs them. */
#ifndef FTOE_NFPSIM_HOOK_H
#define FTOE_NFPSIM_HOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "core/hooks.h"
#include "core/nfp/hal.h"
#include "core/nfp/sim/config.h"
#include "ebpf/ebpf.h"

#define SIM_MAX_HOOKS 4

/* --hook HOOK:FILE[:PROG] (rx-pre or rx-post). */
struct sim_hook_spec {
	enum flextoe_hook hook;
	char path[512];
	char prog[64];          /* "" : the object's only program */
};

struct sim_hooks {
	struct ftoe_hooks *h;
	struct ebpf_object *obj[SIM_MAX_HOOKS];
	unsigned n;
	struct ebpf_xdp_buff *buf;
	struct ebpf_map *rings[SIM_MAX_HOOKS * 4]; /* ring buffers the host drains */
	unsigned nrings;
	enum flextoe_hook cur;  /* the chain running now (begin .. end) */
	/* per hook, since the last sim_hooks_reset */
	struct ebpf_insn_counts cnt[FTOE_HOOK_NR];
	uint64_t runs[FTOE_HOOK_NR];
	uint64_t verdict[FTOE_HOOK_NR][FTOE_XDP_NR_ACTIONS + 1];
};

/* Parse "rx-pre:FILE[:PROG]"; -EINVAL with a message. */
int sim_hook_parse(const char *arg, struct sim_hook_spec *s);
/* Load every spec's program (interpreter) and attach it; fw_rules (a
 * firewall rule file, docs/firewall.md, or NULL) is compiled into each
 * object that has the firewall's maps.  0, or -errno with a message. */
int sim_hooks_open(struct sim_hooks *sh, const struct sim_hook_spec *specs, unsigned n,
		   const char *fw_rules);
void sim_hooks_close(struct sim_hooks *sh);
void sim_hooks_reset(struct sim_hooks *sh);

/* rx-pre on one frame the MAC received (as core/x86/loop.c): the verdict
 * (PASS: *len and fr may have changed; anything else: the frame is gone). */
uint32_t sim_hooks_rx_pre(struct sim_hooks *sh, uint8_t *fr, uint16_t *len, uint16_t room);

/* What the programs at hook cost per run on an ME, from their counted
 * instructions: ME cycles of compute, and memory commands (and bytes per
 * command) by memory.  Zero when the hook did not run. */
struct sim_hook_cost {
	double runs;
	double insns;           /* eBPF instructions per run */
	double cycles;          /* ME cycles of compute per run */
	double cmds[NFP_MEM__MAX], bytes[NFP_MEM__MAX];
};
void sim_hook_cost(const struct sim_hooks *sh, enum flextoe_hook hook, const struct sim_params *p,
		   struct sim_hook_cost *c);

#endif
