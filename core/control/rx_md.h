/* rx_md.h - what the control plane takes from the rx-pre hook's struct flextoe_md: the VLAN tags vlan_strip popped. */
#ifndef FTOE_CORE_CONTROL_RX_MD_H
#define FTOE_CORE_CONTROL_RX_MD_H

#include "core/vlan.h"

struct flextoe_md;

/*
 * The backend passes the rx-pre hook's record of a frame with the frame
 * (ftoe_engine_rx_md, ftoe_engine_rx_prepare: struct ftoe_rx_item.md; ARP
 * and ICMP: the backend's own calls); nothing is read back from the
 * frame's headroom.  The control plane takes classify's app_ctx for SYNs
 * (conn.c) and the VLAN tags vlan_strip popped from it, so answers to a
 * tagged peer go back on its VLAN (a flow's VLAN is conn state).
 */

/* The tags vlan_strip popped (FLEXTOE_MDF_VLAN / FLEXTOE_MDF_QINQ); VIDs
 * only, PCP 0. */
void ftoe_vlan_from_md(const struct flextoe_md *md, struct ftoe_vlan *v);

#endif
