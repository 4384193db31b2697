/* fpc.h - the NFP firmware's stages on flow-processing cores (MEs): per-ME state and the stage entry points. */
#ifndef FTOE_NFP_FPC_H
#define FTOE_NFP_FPC_H

#include <stdint.h>

#include "core/nfp/hal.h"
#include "core/nfp/placement.h"

struct ftoe_engine;
struct ftoe_rx_item;

/*
 * The stages are the core's own functions (core/preproc.c, protocol.c,
 * postproc.c); these wrappers are what each ME runs around them: the
 * lookups in the ME's caches and the memory commands the placement
 * (core/nfp/placement.h) implies, accounted on nfp_cur_acct.  The slow
 * path (divert, control plane) is the host's, over the island-36
 * interface: the caller drains it (core/nfp/sim/pipeline.c).
 */

/* A pre-processing ME: its LM flow-hash cache (direct mapped). */
struct nfp_pre_me {
	uint32_t hash_tag[NFP_PRE_LM_HASH]; /* flow id + 1; 0: empty */
	uint32_t hits, misses;
};

/* A flow group's protocol ME: CAM over the LM cache, the CLS cache tags. */
struct nfp_proto_me {
	struct nfp_cam cam;
	uint32_t cls_tag[NFP_PROTO_CLS_FLOWS]; /* flow id + 1; 0: empty */
	uint32_t lm_hits, cls_hits, emem_fills;
};

/* Entries post-processing took from the protocol->post ring that were
 * not the item it was at (must stay 0: the ring keeps the items' order). */
extern uint32_t nfp_fpc_ring_faults;

/* Pre-processing of one frame (read only, any ME, any order). */
void nfp_fpc_pre(struct nfp_pre_me *me, const struct ftoe_engine *e, void *frame,
		 uint16_t len, struct ftoe_rx_item *it);
/* The protocol stage over n claimed items, in order; item i's state is
 * fetched by its flow group's protocol ME, mes[flow % nfg]. */
void nfp_fpc_proto(struct nfp_proto_me *mes, unsigned nfg, struct ftoe_engine *e,
		   struct ftoe_rx_item *items, unsigned n);
/* Post-processing from item `from` (ftoe_postproc_rx's contract): the
 * payload DMA to the host's buffers and the flow's positions in EMEM. */
unsigned nfp_fpc_post(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n,
		      unsigned from);

#endif
