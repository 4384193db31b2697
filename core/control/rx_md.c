/* rx_md.c - reading the rx-pre hook's metadata in front of a received frame. */
#include <errno.h>
#include <string.h>

#include "core/control/rx_md.h"
#include "core/engine_internal.h"
#include "core/hooks.h"

int ftoe_rx_md_read(struct ftoe_hooks *hooks, uint64_t now_ns, const void *frame,
		    struct flextoe_md *md)
{
	if (!hooks || !frame || !ftoe_hooks_active(hooks, FLEXTOE_HOOK_RX_PRE))
		return -ENOENT;
	/* The headroom is 4-byte aligned only (vlan_strip moves the frame
	 * by one tag): copy rather than cast. */
	memcpy(md, (const uint8_t *)frame - sizeof(*md), sizeof(*md));
	if (md->size != sizeof(*md) || md->version != FLEXTOE_MD_VERSION ||
	    md->hook != FLEXTOE_HOOK_RX_PRE ||
	    md->tstamp_ns > now_ns + FTOE_RX_MD_MAX_AGE_NS ||
	    md->tstamp_ns + FTOE_RX_MD_MAX_AGE_NS < now_ns)
		return -ENOENT;
	return 0;
}

int ftoe_rx_md_engine(struct ftoe_engine *e, const uint8_t *frame, struct flextoe_md *md)
{
	if (!(e->cfg.flags & FTOE_ENG_F_RX_MD))
		return -ENOENT;
	return ftoe_rx_md_read(e->cfg.hooks, e->now, frame, md);
}

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

void ftoe_rx_vlan(struct ftoe_hooks *hooks, uint64_t now_ns, const void *frame,
		  struct ftoe_vlan *v)
{
	struct flextoe_md md;

	if (ftoe_rx_md_read(hooks, now_ns, frame, &md)) {
		memset(v, 0, sizeof(*v));
		return;
	}
	ftoe_vlan_from_md(&md, v);
}
