/* placement.c - the NFP firmware's tables in their memories, with the budgets checked at compile time. */
#include <stddef.h>

#include "core/engine_internal.h"
#include "core/nfp/hal.h"
#include "core/nfp/placement.h"

/*
 * The island-local and ME-local tables are declared here with their
 * Micro-C qualifiers (section .nfp_MEM; `make nfp-check` adds each
 * memory's sections up against its size).  The chip-wide tables of every
 * flow would be hundreds of MB of zeros in an object file, so they are
 * checked as types: the same arithmetic, no storage.
 */

/* One flow group's island (32-35).  LM is per ME: the protocol ME's and
 * a pre-processing ME's each get their own section. */
__declspec(lm_proto) struct nfp_proto_hot nfp_proto_lm[NFP_PROTO_LM_FLOWS];
__declspec(lm_pre) uint32_t nfp_pre_lm_hash[NFP_PRE_LM_HASH][2]; /* tag, flow id */
__declspec(cls) struct nfp_proto_hot nfp_proto_cls[NFP_PROTO_CLS_FLOWS];
__declspec(cls) uint32_t nfp_proto_post_ring[NFP_PROTO_POST_RING];

/* FlexTOE's budget: protocol state of a flow in 64 bytes. */
_Static_assert(sizeof(struct nfp_proto_hot) <= 64,
	       "the protocol stage's hot per-flow state exceeds FlexTOE's 64-byte budget");
/* The gap, stated: the whole struct flow_tcp does not fit the budget today
 * (docs/nfp.md "Gaps").  If it ever does, this assert tells us to drop
 * the hot/cold split. */
_Static_assert(sizeof(struct flow_tcp) > 64,
	       "struct flow_tcp now fits 64 bytes: cache it whole and drop struct nfp_proto_hot");

/* Every cached field has a home in the engine's state. */
_Static_assert(sizeof(((struct flow_tcp *)0)->snd_una) == sizeof(uint32_t), "snd_una width");

/* The island's CLS holds the protocol cache and the protocol->post ring. */
_Static_assert(sizeof(nfp_proto_cls) + sizeof(nfp_proto_post_ring) <= NFP_CLS_BYTES,
	       "the protocol stage's CLS cache and ring exceed the island's CLS");
_Static_assert(sizeof(nfp_proto_lm) + sizeof(nfp_pre_lm_hash) <= NFP_LM_BYTES,
	       "LM tables exceed one ME's local memory");

/* Chip-wide: per-flow state in EMEM, the flow table in IMEM. */
typedef struct flow_conn nfp_emem_conn_t[NFP_MAX_FLOWS];
typedef struct flow_tcp nfp_emem_tcp_t[NFP_MAX_FLOWS];
typedef struct flow_mem nfp_emem_mem_t[NFP_MAX_FLOWS];
typedef struct flow_cc nfp_emem_cc_t[NFP_MAX_FLOWS];
_Static_assert((uint64_t)sizeof(nfp_emem_conn_t) + sizeof(nfp_emem_tcp_t) +
		       sizeof(nfp_emem_mem_t) + sizeof(nfp_emem_cc_t) <= NFP_EMEM_BYTES,
	       "per-flow state for NFP_MAX_FLOWS flows exceeds EMEM");
/* The flow table: one 16-byte entry (key hash, flow id) per flow, in a
 * CAM-hash table at half load. */
_Static_assert(2ull * 16 * NFP_MAX_FLOWS <= NFP_IMEM_BYTES,
	       "the flow table exceeds IMEM");
_Static_assert(NFP_LAYOUT_MES == 50, "FlexTOE's layout uses 50 MEs");
