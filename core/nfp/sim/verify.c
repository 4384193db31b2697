/* verify.c - the NIC target's correctness check: the same traffic through the x86 engine's entry points and through the NFP stages, byte for byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nfp/sim/hook.h"
#include "core/nfp/sim/sim.h"

/* First differing byte of two logs, or -1 when equal. */
static long first_diff(const struct sim_bytelog *a, const struct sim_bytelog *b)
{
	size_t n = a->len < b->len ? a->len : b->len;

	for (size_t i = 0; i < n; i++)
		if (a->p[i] != b->p[i])
			return (long)i;
	return a->len == b->len ? -1 : (long)n;
}

int sim_verify(const struct sim_world_cfg *base, unsigned seeds)
{
	struct sim_world *ref = calloc(1, sizeof(*ref)), *nfp = calloc(1, sizeof(*nfp));
	struct sim_world_cfg c = *base;
	unsigned pass = 0, fail = 0;

	if (!ref || !nfp) {
		fprintf(stderr, "flextoe-nfpsim: out of memory\n");
		free(ref);
		free(nfp);
		return 1;
	}
	c.nfp = false;
	if (sim_world_run(ref, &c)) {
		printf("reference run failed\n0 passed, 1 failed\n");
		sim_world_free(ref);
		free(ref);
		free(nfp);
		return 1;
	}
	for (unsigned s = 1; s <= seeds; s++) {
		long dw, da;
		int rc;

		c.nfp = true;
		c.sched_seed = s;
		rc = sim_world_run(nfp, &c);
		dw = first_diff(&ref->wire, &nfp->wire);
		da = first_diff(&ref->app, &nfp->app);
		if (rc == 0 && dw < 0 && da < 0 && ref->wire.len && ref->app.len &&
		    !nfp_fpc_ring_faults) {
			pass++;
			printf("ok   seed %u: %zu wire bytes (%llu frames), %zu application bytes equal\n",
			       s, nfp->wire.len, (unsigned long long)nfp->nic_tx_frames, nfp->app.len);
		} else {
			fail++;
			printf("FAIL seed %u: rc %d; wire %zu vs %zu bytes, first difference at %ld; "
			       "application %zu vs %zu bytes, first difference at %ld; "
			       "protocol->post ring faults %u\n",
			       s, rc, ref->wire.len, nfp->wire.len, dw, ref->app.len, nfp->app.len, da,
			       nfp_fpc_ring_faults);
		}
		sim_world_free(nfp);
	}
	sim_world_free(ref);
	free(ref);
	free(nfp);
	printf("%u passed, %u failed\n", pass, fail);
	return fail ? 1 : 0;
}

int sim_run_counts(const struct sim_world_cfg *base)
{
	struct sim_world *w = calloc(1, sizeof(*w));
	struct sim_world_cfg c = *base;
	int rc;

	if (!w)
		return 1;
	c.nfp = true;
	c.sched_seed = 1;
	rc = sim_world_run(w, &c);
	printf("pre_items=%llu proto_items=%llu post_items=%llu nic_tx_frames=%llu peer_tx_frames=%llu "
	       "nic_rx_frames=%llu rc=%d\n",
	       (unsigned long long)w->st[SIM_ST_PRE].items, (unsigned long long)w->st[SIM_ST_PROTO].items,
	       (unsigned long long)w->st[SIM_ST_POST].items, (unsigned long long)w->nic_tx_frames,
	       (unsigned long long)w->peer_tx_frames, (unsigned long long)w->nic_rx_frames, rc);
	/* what the applications received, and what the NIC's hooks did */
	printf("app_bytes=%zu rx_hook_drops=%llu\n", w->app.len,
	       (unsigned long long)w->nic_rx_hook_drops);
	for (int k = FLEXTOE_HOOK_RX_PRE; c.hooks && k <= FLEXTOE_HOOK_RX_POST; k++) {
		uint64_t insns = 0;

		for (int i = 0; i < EBPF_IC__MAX; i++)
			insns += c.hooks->cnt[k].cls[i];
		printf("hook=%s runs=%llu insns=%llu pass=%llu drop=%llu\n", ftoe_hook_name(k),
		       (unsigned long long)c.hooks->runs[k], (unsigned long long)insns,
		       (unsigned long long)c.hooks->verdict[k][FTOE_XDP_PASS],
		       (unsigned long long)c.hooks->verdict[k][FTOE_XDP_DROP]);
		if (!c.hooks->runs[k])
			continue;
		printf("hook=%s classes:", ftoe_hook_name(k));
		for (int i = 0; i < EBPF_IC__MAX; i++)
			if (c.hooks->cnt[k].cls[i])
				printf(" %s=%llu", ebpf_insn_class_name(i),
				       (unsigned long long)c.hooks->cnt[k].cls[i]);
		printf("\n");
	}
	sim_world_free(w);
	free(w);
	return rc ? 1 : 0;
}
