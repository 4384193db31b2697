/* csum.c - Internet checksum (RFC 1071) and incremental update (RFC 1624). */
#include "core/csum.h"
#include "core/byteorder.h"

uint32_t ftoe_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;

	/* 64-bit accumulator: cannot overflow below 2^47 bytes of input. */
	while (len >= 8) {
		acc += ftoe_get_be16(p) + ftoe_get_be16(p + 2) +
		       ftoe_get_be16(p + 4) + ftoe_get_be16(p + 6);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		acc += ftoe_get_be16(p);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t ftoe_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint16_t ftoe_csum(const void *buf, size_t len)
{
	return ftoe_csum_finish(ftoe_csum_add(0, buf, len));
}

uint32_t ftoe_csum_pseudo4(const uint8_t saddr[4], const uint8_t daddr[4],
			   uint8_t proto, uint16_t l4_len)
{
	uint32_t sum = ftoe_csum_add(0, saddr, 4);

	sum = ftoe_csum_add(sum, daddr, 4);
	return sum + proto + l4_len;
}

uint32_t ftoe_csum_pseudo6(const uint8_t saddr[16], const uint8_t daddr[16],
			   uint8_t next_hdr, uint32_t l4_len)
{
	uint32_t sum = ftoe_csum_add(0, saddr, 16);

	sum = ftoe_csum_add(sum, daddr, 16);
	sum = ftoe_csum_fold(sum);
	return sum + (l4_len >> 16) + (l4_len & 0xffff) + next_hdr;
}

uint16_t ftoe_csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint32_t sum = (uint16_t)~csum;

	sum += (uint16_t)~old;
	sum += new_;
	return (uint16_t)~ftoe_csum_fold(sum);
}

uint16_t ftoe_csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	csum = ftoe_csum_update16(csum, (uint16_t)(old >> 16), (uint16_t)(new_ >> 16));
	return ftoe_csum_update16(csum, (uint16_t)old, (uint16_t)new_);
}
