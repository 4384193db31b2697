/* byteorder.h - unaligned big-endian loads and stores for packet headers. */
#ifndef FTOE_CORE_BYTEORDER_H
#define FTOE_CORE_BYTEORDER_H

#include <stdint.h>

/*
 * Byte-wise so they are alignment- and host-endian-independent (frames may
 * start at any offset; the NFP target is big-endian); compilers turn these
 * into a single load plus bswap on x86.
 */
static inline uint16_t ftoe_get_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t ftoe_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void ftoe_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ftoe_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif
