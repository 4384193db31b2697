/* hal.h - a hardware abstraction of the NFP-4000 (a MODEL: memories, CAM, rings, signals, reorder) for the firmware build. */
#ifndef FTOE_NFP_HAL_H
#define FTOE_NFP_HAL_H

#include <stdbool.h>
#include <stdint.h>

/*
 * No NFP hardware and no NFP SDK exist here (docs/nfp.md).  This header is
 * what the firmware target is written against instead: the NFP-4000's
 * memories with their sizes, the per-ME CAM, work rings, signals and
 * context swaps, and the reorder (GRO) block.  Every memory command goes
 * through nfp_mem_cmd(), which accounts it on the running context
 * (struct nfp_acct); the simulator (core/nfp/sim/) turns those accounts
 * into time.  On real hardware each of these would be a Micro-C intrinsic
 * (mem_read32, cls_read, mem_ring_get, cam_lookup, ...).  The reorder
 * (GRO) block is core/reorder.c's struct ftoe_rob: the ingress sequencer
 * reserves, whichever context finishes completes or retires, the block
 * releases in order (reorder_start / reorder_signal_next in FlexTOE).
 */

/* The memories, nearest first (FlexTOE section 5; NFP-4000 product brief). */
#define NFP_MEM_LIST(X)                                                           \
	X(LM,   "lm",   4096u)              /* local memory: 1024 words per ME */ \
	X(CLS,  "cls",  64u * 1024u)        /* cluster local scratch, per island */ \
	X(CTM,  "ctm",  256u * 1024u)       /* cluster target memory, per island */ \
	X(IMEM, "imem", 4u * 1024u * 1024u) /* internal memory unit, chip-wide */ \
	X(EMEM, "emem", 2048u * 1024u * 1024u) /* external DRAM behind its cache */ \
	X(HOST, "host", 0u)                 /* host memory over PCIe DMA */

enum nfp_mem {
#define NFP_MEM_ENUM_(id, name, bytes) NFP_MEM_##id,
	NFP_MEM_LIST(NFP_MEM_ENUM_)
#undef NFP_MEM_ENUM_
	NFP_MEM__MAX
};

#define NFP_MEM_BYTES_(id, name, bytes) NFP_##id##_BYTES = bytes,
enum { NFP_MEM_LIST(NFP_MEM_BYTES_) };
#undef NFP_MEM_BYTES_

#define NFP_CONTEXTS   8   /* per ME (firmware Makefile: 8 contexts) */
#define NFP_CAM_ENTRIES 16 /* per ME CAM (Micro-C cam_lookup) */
#define NFP_MES_PER_ISLAND 12

/*
 * Micro-C qualifiers, as attributes: a table declared __declspec(cls)
 * lands in section .nfp_cls, and `make nfp-check` adds up each memory's
 * sections against its size.  Transfer registers and signals are plain
 * storage in this model.
 */
#define __declspec(mem) __attribute__((section(".nfp_" #mem), aligned(8)))
#define __lmem __declspec(lmem)
#define __cls  __declspec(cls)
#define __ctm  __declspec(ctm)
#define __imem __declspec(imem)
#define __emem __declspec(emem)
#define __xread
#define __xwrite
#define __shared

/* What one context did: memory commands and bytes per memory, context
 * swaps (each memory command swaps: the context waits on its signal). */
struct nfp_acct {
	uint32_t cmds[NFP_MEM__MAX];
	uint32_t bytes[NFP_MEM__MAX];
	uint32_t swaps;
};

/* The account of the context that runs now (set by whoever schedules the
 * contexts: the simulator; NULL: not accounted). */
extern struct nfp_acct *nfp_cur_acct;

/* A memory command of `bytes` on memory m: the context swaps out until its
 * signal arrives (SIGNAL + __wait_for_all in Micro-C).  Out of line, like
 * the CAM and ring calls, so core/nfp/sim/measure.sh can leave the
 * model's own bookkeeping out of the stages' instruction counts. */
void nfp_mem_cmd(enum nfp_mem m, uint32_t bytes);

/* The per-ME CAM: 16 tags, least recently used replaced on a miss. */
struct nfp_cam {
	uint32_t tag[NFP_CAM_ENTRIES];
	uint8_t age[NFP_CAM_ENTRIES]; /* 0 = newest */
	uint8_t valid;                /* entries in use */
};
/* Look tag up: true and *slot on a hit; false and *slot = the entry now
 * holding tag (the LRU victim, already retagged) on a miss. */
bool nfp_cam_lookup(struct nfp_cam *cam, uint32_t tag, unsigned *slot);

/* A work ring (mem_ring in EMEM, or an island-local CLS ring): 32-bit
 * entries, power-of-two size, storage supplied by the caller. */
struct nfp_ring {
	uint32_t *slot;
	uint32_t mask;
	uint32_t head, tail; /* get at head, put at tail */
	enum nfp_mem mem;
};
int nfp_ring_init(struct nfp_ring *r, uint32_t *slots, uint32_t n, enum nfp_mem mem);
/* 0, or -ENOSPC when full (mem_ring_put's full status). */
int nfp_ring_put(struct nfp_ring *r, uint32_t v);
/* 0 with *v, or -ENOENT when empty. */
int nfp_ring_get(struct nfp_ring *r, uint32_t *v);

#endif
