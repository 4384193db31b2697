/* fpc.c - the core's rx stages as the NFP firmware runs them on MEs, with the memory commands the placement implies. */
#include "core/engine_internal.h"
#include "core/nfp/fpc.h"
#include "core/pipeline.h"

/* Bytes the pre-processing ME reads from the packet in CTM: Ethernet,
 * IPv4 and TCP headers with options (the payload stays where it is). */
#define PRE_HDR_BYTES 64

void nfp_fpc_pre(struct nfp_pre_me *me, const struct ftoe_engine *e, void *frame,
		 uint16_t len, struct ftoe_rx_item *it)
{
	nfp_mem_cmd(NFP_MEM_CTM, PRE_HDR_BYTES);
	ftoe_preproc_prepare(e, frame, len, NULL, it);
	if (it->res != FTOE_RXP_FAST || it->flow == FTOE_NO_FLOW)
		return;
	/* The LM flow-hash cache in front of the flow table (FlexTOE
	 * firmware): a hit costs an LM read; a miss reads the table's bucket
	 * in IMEM and the flow's identity in EMEM. */
	uint32_t *tag = &me->hash_tag[it->flow % NFP_PRE_LM_HASH];

	if (*tag == it->flow + 1) {
		nfp_mem_cmd(NFP_MEM_LM, 8);
		me->hits++;
		return;
	}
	nfp_mem_cmd(NFP_MEM_IMEM, 16);
	nfp_mem_cmd(NFP_MEM_EMEM, sizeof(struct flow_conn));
	*tag = it->flow + 1;
	me->misses++;
}

/* Bring flow id's hot state into the protocol ME's LM: CAM hit, else the
 * island's CLS cache, else EMEM (writing the CLS victim back). */
static void proto_fetch(struct nfp_proto_me *me, uint32_t id)
{
	unsigned slot;
	uint32_t *cls = &me->cls_tag[id % NFP_PROTO_CLS_FLOWS];

	if (nfp_cam_lookup(&me->cam, id, &slot)) {
		nfp_mem_cmd(NFP_MEM_LM, sizeof(struct nfp_proto_hot));
		me->lm_hits++;
		return;
	}
	/* the LM victim goes back to CLS, the flow comes from CLS or EMEM */
	nfp_mem_cmd(NFP_MEM_CLS, sizeof(struct nfp_proto_hot));
	if (*cls == id + 1) {
		nfp_mem_cmd(NFP_MEM_CLS, sizeof(struct nfp_proto_hot));
		me->cls_hits++;
		return;
	}
	if (*cls)
		nfp_mem_cmd(NFP_MEM_EMEM, sizeof(struct nfp_proto_hot));
	nfp_mem_cmd(NFP_MEM_EMEM, sizeof(struct nfp_proto_hot));
	*cls = id + 1;
	me->emem_fills++;
}

/* The protocol ME hands each item's index to post-processing over the
 * island-local CLS ring (FlexTOE firmware; storage in placement.c). */
static struct nfp_ring proto_post;
uint32_t nfp_fpc_ring_faults;

static struct nfp_ring *proto_post_ring(void)
{
	if (!proto_post.slot)
		nfp_ring_init(&proto_post, nfp_proto_post_ring, NFP_PROTO_POST_RING, NFP_MEM_CLS);
	return &proto_post;
}

void nfp_fpc_proto(struct nfp_proto_me *mes, unsigned nfg, struct ftoe_engine *e,
		   struct ftoe_rx_item *items, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		proto_fetch(&mes[items[i].flow % nfg], items[i].flow);
		/* the cold part of flow_tcp (SACK blocks, RACK times) only for
		 * segments that carry SACK blocks */
		if (items[i].seg.sack_blocks)
			nfp_mem_cmd(NFP_MEM_EMEM, sizeof(struct flow_tcp) - sizeof(struct nfp_proto_hot));
	}
	ftoe_proto_rx(e, items, n);
	for (unsigned i = 0; i < n; i++)
		if (nfp_ring_put(proto_post_ring(), i))
			nfp_fpc_ring_faults++; /* full: cannot happen, a batch is < ring */
}

unsigned nfp_fpc_post(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned n,
		      unsigned from)
{
	unsigned done;
	uint32_t idx;

	/* ftoe_postproc_rx places the whole batch's payload on its first
	 * call: from CTM, DMA'd into the host's buffers */
	if (from == 0)
		for (unsigned i = 0; i < n; i++)
			if (!(items[i].res & FTOE_RX_R_DROP) && items[i].res & FTOE_RX_R_DATA &&
			    items[i].copy_len) {
				nfp_mem_cmd(NFP_MEM_CTM, items[i].copy_len);
				nfp_mem_cmd(NFP_MEM_HOST, items[i].copy_len);
			}
	done = ftoe_postproc_rx(e, items, n, from);
	for (unsigned i = from; i < done; i++) {
		if (nfp_ring_get(proto_post_ring(), &idx) || idx != i)
			nfp_fpc_ring_faults++;
		if (items[i].res & FTOE_RX_R_DROP)
			continue;
		/* the flow's buffer positions, read and written back */
		nfp_mem_cmd(NFP_MEM_EMEM, sizeof(struct flow_mem));
		nfp_mem_cmd(NFP_MEM_EMEM, 8);
	}
	return done;
}
