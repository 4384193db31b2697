/* siphash.h - SipHash keyed hash (Aumasson & Bernstein, 2012). */
#ifndef FTOE_CORE_SIPHASH_H
#define FTOE_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define FTOE_SIPHASH_KEY_LEN 16

/*
 * SipHash-c-d over len bytes with a 128-bit key.  The flow table uses
 * c = 1, d = 3 (SipHash-1-3, what Rust's HashMap chose as fast enough and
 * still keyed); tests check the c = 2, d = 4 reference vectors of the paper.
 */
uint64_t ftoe_siphash(const uint8_t key[FTOE_SIPHASH_KEY_LEN], const void *data,
		      size_t len, unsigned c_rounds, unsigned d_rounds);

#endif
