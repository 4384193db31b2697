/* vlan.h - IEEE 802.1Q / 802.1ad tags of a frame: what a flow sends with, and writing them. */
#ifndef FTOE_CORE_VLAN_H
#define FTOE_CORE_VLAN_H

#include <stdint.h>

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
