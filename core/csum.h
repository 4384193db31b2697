/* csum.h - Internet checksum (RFC 1071) and incremental update (RFC 1624). */
#ifndef FTOE_CORE_CSUM_H
#define FTOE_CORE_CSUM_H

#include <stddef.h>
#include <stdint.h>

#include "core/byteorder.h"

/*
 * All values are in host order as numbers: the checksum field of a header
 * holds ftoe_get_be16() of its two bytes.  Sums are carried in 32 bits and
 * folded at the end (RFC 1071 section 4.1).
 */

/* Add len bytes (big-endian 16-bit words, odd tail padded with zero) to sum. */
uint32_t ftoe_csum_add(uint32_t sum, const void *buf, size_t len);

/* Fold a 32-bit accumulator to 16 bits with end-around carry (inline, as
 * the pseudo-header sum below: every segment received and sent has both). */
static inline uint16_t ftoe_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The value to store in a checksum field: one's complement of the fold. */
static inline uint16_t ftoe_csum_finish(uint32_t sum)
{
	return (uint16_t)~ftoe_csum_fold(sum);
}

/* RFC 1071 checksum of a buffer (e.g. an IPv4 header with its field zero).
 * Over a buffer that contains a correct checksum this returns 0. */
uint16_t ftoe_csum(const void *buf, size_t len);

/* A 64-bit one's-complement sum of native-order words folded to the 16-bit
 * big-endian number the callers use (RFC 1071 section 2(B): the sum does
 * not depend on byte order, so it is swapped once, here). */
static inline uint16_t ftoe_csum_fold64(uint64_t acc)
{
	uint32_t s;

	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	s = (uint32_t)acc;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = __builtin_bswap16((uint16_t)s);
#endif
	return (uint16_t)s;
}

/* ftoe_csum() of 20 bytes, an IPv4 header without options (every segment
 * received and sent has one): five native 32-bit words summed in 64 bits
 * cannot overflow; inline and without the general loop. */
static inline uint16_t ftoe_csum20(const void *buf)
{
	uint32_t w[5];

	__builtin_memcpy(w, buf, sizeof(w));
	return (uint16_t)~ftoe_csum_fold64((uint64_t)w[0] + w[1] + w[2] + w[3] + w[4]);
}

/* Pseudo-header sums (RFC 793 section 3.1; RFC 8200 section 8.1).  Addresses
 * are passed as the raw header bytes. */
static inline uint32_t ftoe_csum_pseudo4(const uint8_t saddr[4], const uint8_t daddr[4],
					 uint8_t proto, uint16_t l4_len)
{
	return (uint32_t)ftoe_get_be16(saddr) + ftoe_get_be16(saddr + 2) +
	       ftoe_get_be16(daddr) + ftoe_get_be16(daddr + 2) + proto + l4_len;
}
uint32_t ftoe_csum_pseudo6(const uint8_t saddr[16], const uint8_t daddr[16],
			   uint8_t next_hdr, uint32_t l4_len);

/*
 * The same sums kept in native-order words up to the one fold at the end
 * (RFC 1071 2(B)), for the TCP checksum of every segment received and
 * sent: the pseudo-header's addresses are two native 32-bit loads and the
 * sum is folded and swapped once, with the segment's, instead of twice.
 */
/* A 16-bit big-endian number as the native-order word that holds it. */
static inline uint64_t ftoe_csum_native16(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

static inline uint64_t ftoe_csum_pseudo4_native(const uint8_t saddr[4], const uint8_t daddr[4],
						uint8_t proto, uint16_t l4_len)
{
	uint32_t s, d;

	__builtin_memcpy(&s, saddr, 4);
	__builtin_memcpy(&d, daddr, 4);
	return (uint64_t)s + d + ftoe_csum_native16(proto) + ftoe_csum_native16(l4_len);
}

/* A sum of ftoe_csum_add's form (e.g. ftoe_csum_pseudo6) as a native one. */
static inline uint64_t ftoe_csum_to_native(uint32_t sum)
{
	return ftoe_csum_native16(ftoe_csum_fold(sum));
}

/* acc (native-order words) plus len bytes, folded to the 16-bit big-endian
 * number: 0xffff over a segment whose checksum is right; its complement is
 * the value to store. */
uint16_t ftoe_csum_add_native(uint64_t acc, const void *buf, size_t len);

/* ftoe_csum_add_native of a short buffer of 32-bit words (len a multiple of
 * 4, at most 60: a TCP header without payload, as every pure ACK), inline:
 * at most 15 words summed in 64 bits cannot overflow, and the general
 * function's loops and tail cost more than the words (bench/engine_cg.sh). */
static inline uint16_t ftoe_csum_words_native(uint64_t acc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i += 4) {
		uint32_t w;

		__builtin_memcpy(&w, p + i, 4);
		acc += w;
	}
	return ftoe_csum_fold64(acc);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m') when a 16-bit word changes from
 * old to new; the 32-bit form applies it to both halves. */
uint16_t ftoe_csum_update16(uint16_t csum, uint16_t old, uint16_t new_);
uint16_t ftoe_csum_update32(uint16_t csum, uint32_t old, uint32_t new_);

#endif
