/* rx_md.h - the rx-pre hook's struct flextoe_md kept in front of a received frame, and the VLAN tags it records. */
#ifndef FTOE_CORE_CONTROL_RX_MD_H
#define FTOE_CORE_CONTROL_RX_MD_H

#include <stddef.h>
#include <stdint.h>

#include "core/vlan.h"

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

#endif
