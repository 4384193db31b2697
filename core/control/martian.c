/* martian.c - source addresses a TCP segment may not come from (RFC 1122 3.2.1.3, 4.2.3.10). */
#include "core/control/martian.h"
#include "core/engine_internal.h"

bool ftoe_martian_src(const struct ftoe_engine *e, uint32_t saddr)
{
	uint32_t pl = e->cfg.prefix_len, host;
	uint8_t top = (uint8_t)(saddr >> 24);

	/* RFC 1122 3.2.1.3 (a), (g): "this network" and loopback; RFC 5771
	 * multicast and RFC 1112 class E (reserved, with the limited
	 * broadcast 255.255.255.255) */
	if (top == 0 || top == 127 || top >= 224)
		return true;
	if (saddr == e->local_ip)
		return true;
	/* RFC 1122 4.2.3.10: a SYN from a broadcast address is ignored;
	 * the directed broadcast of our prefix (not on /31, /32: RFC 3021) */
	if (pl && pl < 31) {
		host = ~0u >> pl;
		if ((saddr & ~host) == (e->local_ip & ~host) && (saddr & host) == host)
			return true;
	}
	return false;
}
