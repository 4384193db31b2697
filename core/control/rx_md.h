/* rx_md.h - the rx-pre hook's struct flextoe_md kept in front of a received frame, and the VLAN tags it records. */
#ifndef FTOE_CORE_CONTROL_RX_MD_H
#define FTOE_CORE_CONTROL_RX_MD_H

#include <stddef.h>
#include <stdint.h>

struct ftoe_engine;
struct ftoe_hooks;
struct flextoe_md;

/*
 * After the rx-pre hook passes a frame, the backend copies the hook's
 * struct flextoe_md into the headroom right in front of the frame
 * (FTOE_ENG_F_RX_MD; core/x86/worker.c rx_pre()).  The control plane reads
 * it there: classify's app_ctx for SYNs (conn.c) and the VLAN tags
 * vlan_strip popped, so answers to a tagged peer go back on its VLAN (a
 * flow's VLAN is conn state, DESIGN.md section 3).
 *
 * The record is trusted only while the hook has programs (otherwise the
 * headroom holds whatever an earlier frame left), when its size, version
 * and hook match, and when its timestamp is recent: a frame reaches the
 * control plane in the batch it arrived with, so an older record is a
 * previous occupant's of the buffer.  A valid record also means the
 * sizeof(struct flextoe_md) bytes in front of the frame are writable (the
 * backend only writes it where they are), which a tagged reply built in
 * place may use.
 */
#define FTOE_RX_MD_MAX_AGE_NS 100000000ull

/* VLAN tags of a frame: an 802.1Q C-tag (TPID 0x8100), an 802.1ad S-tag
 * (TPID 0x88a8), or both, the S-tag outside (IEEE 802.1Q-2018 6.9, QinQ).
 * flags 0: untagged. */
#define FTOE_VLAN_C (1u << 0) /* tci holds the 802.1Q tag */
#define FTOE_VLAN_S (1u << 1) /* stci holds the outer 802.1ad tag */
#define FTOE_VLAN_TPID_C 0x8100
#define FTOE_VLAN_TPID_S 0x88a8
#define FTOE_VLAN_TAG_LEN 4
#define FTOE_VLAN_MAX_LEN 8   /* two tags */

struct ftoe_vlan {
	uint16_t tci;   /* PCP/DEI/VID; this engine sends PCP 0, DEI 0 */
	uint16_t stci;
	uint8_t flags;  /* FTOE_VLAN_* */
};

/* The metadata record in front of frame: 0 with *md filled, or -ENOENT
 * (no hook programs, none written, stale or of another layout).  hooks may
 * be NULL (then -ENOENT). */
int ftoe_rx_md_read(struct ftoe_hooks *hooks, uint64_t now_ns, const void *frame,
		    struct flextoe_md *md);
/* The same for the engine's received frames (needs FTOE_ENG_F_RX_MD). */
int ftoe_rx_md_engine(struct ftoe_engine *e, const uint8_t *frame, struct flextoe_md *md);

/* The tags vlan_strip popped (FLEXTOE_MDF_VLAN / FLEXTOE_MDF_QINQ); VIDs
 * only, PCP 0. */
void ftoe_vlan_from_md(const struct flextoe_md *md, struct ftoe_vlan *v);
/* ftoe_rx_md_read + ftoe_vlan_from_md; untagged (flags 0) without a valid
 * record. */
void ftoe_rx_vlan(struct ftoe_hooks *hooks, uint64_t now_ns, const void *frame,
		  struct ftoe_vlan *v);

/* Bytes the tags add to a frame: 0, 4 or 8. */
static inline unsigned ftoe_vlan_len(const struct ftoe_vlan *v)
{
	return v ? ((v->flags & FTOE_VLAN_C) ? FTOE_VLAN_TAG_LEN : 0) +
		   ((v->flags & FTOE_VLAN_S) ? FTOE_VLAN_TAG_LEN : 0) : 0;
}

/* Write the tags and then ethertype at p (frame + 12, after the MACs);
 * returns the bytes written: 2 + ftoe_vlan_len(v).  v may be NULL. */
unsigned ftoe_vlan_put(uint8_t *p, const struct ftoe_vlan *v, uint16_t ethertype);

#endif
