/* rx_md.c - the VLAN tags in the rx-pre hook's struct flextoe_md of a received frame. */
#include <string.h>

#include "core/control/rx_md.h"
#include "flextoe/bpf.h"

void ftoe_vlan_from_md(const struct flextoe_md *md, struct ftoe_vlan *v)
{
	memset(v, 0, sizeof(*v));
	/* vlan_strip records VIDs; the priority bits are not kept, so
	 * replies go with PCP 0 (best effort, IEEE 802.1Q Table 8-5). */
	if (md->flags & FLEXTOE_MDF_VLAN) {
		v->tci = md->vlan_id & 0x0fff;
		v->flags |= FTOE_VLAN_C;
	}
	if (md->flags & FLEXTOE_MDF_QINQ) {
		v->stci = md->svlan_id & 0x0fff;
		v->flags |= FTOE_VLAN_S;
	}
}
