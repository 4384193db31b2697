/* siphash.c - SipHash keyed hash (Aumasson & Bernstein, 2012). */
#include "core/siphash.h"

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

/* Little-endian load of n <= 8 bytes, as the algorithm specifies (one
 * unaligned load on little-endian hosts: the flow table hashes every
 * received segment's 4-tuple). */
static inline uint64_t load_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	__builtin_memcpy(&v, p, n);
#else
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
#endif
	return v;
}

struct sip_state {
	uint64_t v0, v1, v2, v3;
};

static inline void sip_round(struct sip_state *s)
{
	s->v0 += s->v1; s->v1 = rotl(s->v1, 13); s->v1 ^= s->v0; s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3; s->v3 = rotl(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = rotl(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = rotl(s->v1, 17); s->v1 ^= s->v2; s->v2 = rotl(s->v2, 32);
}

static inline void sip_compress(struct sip_state *s, uint64_t m, unsigned rounds)
{
	s->v3 ^= m;
	for (unsigned r = 0; r < rounds; r++)
		sip_round(s);
	s->v0 ^= m;
}

uint64_t ftoe_siphash(const uint8_t key[FTOE_SIPHASH_KEY_LEN], const void *data,
		      size_t len, unsigned c_rounds, unsigned d_rounds)
{
	const uint8_t *p = data;
	uint64_t k0 = load_le(key, 8), k1 = load_le(key + 8, 8);
	struct sip_state s = {
		/* "somepseudorandomlygeneratedbytes" */
		.v0 = k0 ^ 0x736f6d6570736575ull,
		.v1 = k1 ^ 0x646f72616e646f6dull,
		.v2 = k0 ^ 0x6c7967656e657261ull,
		.v3 = k1 ^ 0x7465646279746573ull,
	};
	size_t left = len;

	for (; left >= 8; p += 8, left -= 8)
		sip_compress(&s, load_le(p, 8), c_rounds);
	/* Last block: remaining bytes plus the length's low byte on top. */
	sip_compress(&s, load_le(p, left) | (uint64_t)(len & 0xff) << 56, c_rounds);

	s.v2 ^= 0xff;
	for (unsigned r = 0; r < d_rounds; r++)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
