/* placement.h - where the NFP firmware keeps each table and runs each stage: the island map (a MODEL). */
#ifndef FTOE_NFP_PLACEMENT_H
#define FTOE_NFP_PLACEMENT_H

#include <stdint.h>

/*
 * After FlexTOE's public firmware (docs/nfp.md, "Placement"):
 *   islands 32-35  one flow group each: pre-processing ME0-3, protocol
 *                  ME11, post-processing ME5-8 (9 MEs per island);
 *   island 36      DMA engines (app tx/rx, NIC tx/rx), queue manager and
 *                  flow scheduler, application contexts, slow path (12);
 *   island 48      buffer list manager and the reorder (GRO) block (2).
 * 4 x 9 + 12 + 2 = 50 MEs.
 */
#define NFP_FLOW_GROUPS      4
#define NFP_FG_ISLAND0       32
#define NFP_PRE_MES_PER_FG   4
#define NFP_POST_MES_PER_FG  4
#define NFP_PROTO_MES_PER_FG 1
#define NFP_ISLAND36_MES     12
#define NFP_ISLAND48_MES     2
#define NFP_LAYOUT_MES (NFP_FLOW_GROUPS * (NFP_PRE_MES_PER_FG + NFP_PROTO_MES_PER_FG + \
					  NFP_POST_MES_PER_FG) + NFP_ISLAND36_MES + NFP_ISLAND48_MES)

/* Caches (FlexTOE firmware): the protocol ME caches 16 flows in LM (CAM
 * lookup) and 512 in its island's CLS; pre-processing keeps a 128-entry
 * LM flow-hash cache in front of the flow table in IMEM. */
#define NFP_PROTO_LM_FLOWS  16
#define NFP_PROTO_CLS_FLOWS 512
#define NFP_PRE_LM_HASH     128
#define NFP_MAX_FLOWS       65536u
#define NFP_PROTO_POST_RING 1024 /* island-local CLS ring, entries */
#define NFP_CTM_PKT_BYTES   2048 /* a packet beyond this spills to EMEM (MU) */

/*
 * The protocol stage's per-flow hot state, the part cached in LM/CLS.
 * FlexTOE budgets 64 bytes for it.  The engine's struct flow_tcp
 * (core/flow_state.h) is larger today (SACK blocks, RACK timestamps, the
 * OOO bookkeeping, window-update markers): the firmware keeps these fields
 * hot and the rest in EMEM, fetched only by segments that need them (loss,
 * SACK).  placement.c asserts both facts so neither changes silently.
 */
struct nfp_proto_hot {
	uint32_t snd_una, snd_nxt, snd_max, snd_wnd;
	uint32_t rcv_nxt, rcv_wnd, rcv_adv, rcv_unacked;
	uint32_t ooo_start, ooo_len;
	uint32_t ts_recent;
	uint32_t tx_seq0, rx_seq0;
	uint16_t flags, dupack_cnt;
	uint16_t snd_mss;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t flow_id;       /* the CAM/CLS tag */
};

/* The island's protocol -> post-processing ring's storage (placement.c). */
extern uint32_t nfp_proto_post_ring[NFP_PROTO_POST_RING];

#endif
