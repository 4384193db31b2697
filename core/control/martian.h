/* martian.h - source addresses a TCP segment may not come from (RFC 1122 3.2.1.3, 4.2.3.10). */
#ifndef FTOE_CORE_CONTROL_MARTIAN_H
#define FTOE_CORE_CONTROL_MARTIAN_H

#include <stdbool.h>
#include <stdint.h>

struct ftoe_engine;

/* True when saddr (host order) cannot be a TCP peer: 0.0.0.0/8, 127/8,
 * multicast 224/4, class E 240/4 (which holds 255.255.255.255), the
 * broadcast address of the engine's prefix, or the engine's own address.
 * Such segments are dropped unanswered and counted (rx_martian), as Linux
 * drops martian sources: a SYN-ACK or RST to them would go to many hosts
 * or to ourselves. */
bool ftoe_martian_src(const struct ftoe_engine *e, uint32_t saddr);

#endif
