/* vlan.c - writing a frame's IEEE 802.1Q / 802.1ad tags (segment building, replies). */
#include "core/byteorder.h"
#include "core/vlan.h"

unsigned ftoe_vlan_put(uint8_t *p, const struct ftoe_vlan *v, uint16_t ethertype)
{
	unsigned n = 0;

	if (v && (v->flags & FTOE_VLAN_S)) {
		ftoe_put_be16(p + n, FTOE_VLAN_TPID_S);
		ftoe_put_be16(p + n + 2, v->stci);
		n += FTOE_VLAN_TAG_LEN;
	}
	if (v && (v->flags & FTOE_VLAN_C)) {
		ftoe_put_be16(p + n, FTOE_VLAN_TPID_C);
		ftoe_put_be16(p + n + 2, v->tci);
		n += FTOE_VLAN_TAG_LEN;
	}
	ftoe_put_be16(p + n, ethertype);
	return n + 2;
}
