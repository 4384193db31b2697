/* csum.c - Internet checksum (RFC 1071) and incremental update (RFC 1624). */
#include <stdbool.h>

#include "core/csum.h"
#include "core/byteorder.h"

/*
 * RFC 1071 section 2(B): the one's complement sum does not depend on byte
 * order, so the buffer is summed as native 64-bit words (the carries out of
 * bit 63 added back, eight bytes per add instead of two) and the 16-bit
 * result is swapped into the big-endian number the callers use.  This is
 * the receive path's largest cost: every data segment's TCP checksum is
 * verified over its whole payload (bench/engine_cg.sh).
 */
static inline uint64_t load64(const uint8_t *p)
{
	uint64_t w;

	__builtin_memcpy(&w, p, sizeof(w));
	return w;
}

static inline uint64_t add_carry(uint64_t a, uint64_t b)
{
	uint64_t s = a + b;

	return s + (s < b);	/* end-around carry */
}

#if defined(__x86_64__) && __STDC_HOSTED__
#include <immintrin.h>
/*
 * The bulk of a long buffer with AVX2, where the CPU has it (not in the
 * freestanding NFP build, which has no vector registers).  vpmaddwd adds
 * pairs of 16-bit words into 32-bit lanes, but as signed numbers: each word
 * u is first flipped to u ^ 0x8000, which read as signed is exactly
 * u - 32768, so the lanes sum to (sum of u) - 32768 * words and the sum of
 * the words is got back without loss.  Three instructions per 32 bytes
 * where the add-with-carry chain takes four and its loop (bench/engine_cg.sh:
 * about 60 of the ~300 instructions a full-sized segment's checksum took).
 * At most AVX2_CHUNK blocks per pass keep the lanes' total within int32.
 */
#define AVX2_CHUNK 1024u	/* 32-byte blocks: the 32 lanes get 1024 terms of |x| <= 65536 */

__attribute__((target("avx2"))) static inline __m256i madd32(__m256i acc, const uint8_t *p)
{
	const __m256i flip = _mm256_set1_epi16((short)0x8000), ones = _mm256_set1_epi16(1);
	__m256i w = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)p), flip);

	return _mm256_add_epi32(_mm256_madd_epi16(w, ones), acc);
}

/* The sum of the 16-bit words of blocks * 32 bytes. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *p, size_t blocks)
{
	uint64_t total = 0;

	while (blocks) {
		size_t n = blocks < AVX2_CHUNK ? blocks : AVX2_CHUNK;
		__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
		__m128i h;

		blocks -= n;
		total += (uint64_t)n * 16 * 32768;	/* n * 16 words, 32768 each */
		if (n >= 4) {
			const __m256i flip = _mm256_set1_epi16((short)0x8000);
			const __m256i ones = _mm256_set1_epi16(1);
			size_t iters = n / 4;

			/* written out: the compiler's version moves each
			 * accumulator between registers once per block */
			__asm__("1:\n\t"
				"vpxor (%[p]), %[f], %%ymm12\n\t"
				"vpxor 32(%[p]), %[f], %%ymm13\n\t"
				"vpxor 64(%[p]), %[f], %%ymm14\n\t"
				"vpxor 96(%[p]), %[f], %%ymm15\n\t"
				"vpmaddwd %[o], %%ymm12, %%ymm12\n\t"
				"vpmaddwd %[o], %%ymm13, %%ymm13\n\t"
				"vpmaddwd %[o], %%ymm14, %%ymm14\n\t"
				"vpmaddwd %[o], %%ymm15, %%ymm15\n\t"
				"vpaddd %%ymm12, %[a0], %[a0]\n\t"
				"vpaddd %%ymm13, %[a1], %[a1]\n\t"
				"vpaddd %%ymm14, %[a2], %[a2]\n\t"
				"vpaddd %%ymm15, %[a3], %[a3]\n\t"
				"subq $-128, %[p]\n\t"
				"decq %[n]\n\t"
				"jnz 1b"
				: [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3),
				  [p] "+r"(p), [n] "+r"(iters)
				: [f] "x"(flip), [o] "x"(ones)
				: "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory");
			n &= 3;
		}
		for (; n; n--, p += 32)
			a0 = madd32(a0, p);
		a0 = _mm256_add_epi32(_mm256_add_epi32(a0, a1), _mm256_add_epi32(a2, a3));
		h = _mm_add_epi32(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a0, 1));
		h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
		h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
		/* >= -32768 * words: the sum stays >= 0 */
		total += (uint64_t)(int64_t)_mm_cvtsi128_si32(h);
	}
	return total;
}

/* The answer libgcc's constructor recorded before main (a load and a test:
 * no state of ours, so no race between the pipelined backend's threads). */
static inline bool have_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}
#endif

uint16_t ftoe_csum_add_native(uint64_t acc0, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t acc = 0, acc2 = 0;

#if defined(__x86_64__) && __STDC_HOSTED__
	if (len >= 256 && have_avx2()) {
		/* the sum of the words (< 2^63 for any buffer that fits in
		 * memory) stands for them in the one's-complement sum */
		acc = sum_avx2(p, len / 32);	/* < 2^48: acc0 below cannot overflow it */
		p += len & ~(size_t)31;
		len &= 31;
	}
#endif
#if defined(__x86_64__)
	/* One add-with-carry chain over all the 64-byte blocks: the carry
	 * flag is the end-around carry of the previous word (what C cannot
	 * say), and it survives the loop's own lea and dec, so it is added
	 * back once at the end rather than once per block. */
	if (len >= 64) {
		size_t blocks = len / 64;

		__asm__("clc\n\t"
			"1:\n\t"
			"adcq 0(%[p]), %[acc]\n\t"
			"adcq 8(%[p]), %[acc]\n\t"
			"adcq 16(%[p]), %[acc]\n\t"
			"adcq 24(%[p]), %[acc]\n\t"
			"adcq 32(%[p]), %[acc]\n\t"
			"adcq 40(%[p]), %[acc]\n\t"
			"adcq 48(%[p]), %[acc]\n\t"
			"adcq 56(%[p]), %[acc]\n\t"
			"leaq 64(%[p]), %[p]\n\t"
			"decq %[n]\n\t"
			"jnz 1b\n\t"
			"adcq $0, %[acc]"
			: [acc] "+r"(acc), [p] "+r"(p), [n] "+r"(blocks)
			: /* the blocks it reads: a memory clobber, as clang
			   * takes no operand of an incomplete array type */
			: "cc", "memory");
		len &= 63;
	}
#endif
	/* Two accumulators so consecutive adds do not wait on one carry chain. */
	while (len >= 32) {
		acc = add_carry(acc, load64(p));
		acc2 = add_carry(acc2, load64(p + 8));
		acc = add_carry(acc, load64(p + 16));
		acc2 = add_carry(acc2, load64(p + 24));
		p += 32;
		len -= 32;
	}
	acc = add_carry(acc, acc2);
	while (len >= 8) {
		acc = add_carry(acc, load64(p));
		p += 8;
		len -= 8;
	}
	if (len) {
		/* The tail sits where it would in a whole word, padded with zeros:
		 * fixed-size pieces at their offsets (no call to memcpy). */
		uint8_t tail[8] = { 0 };
		size_t i = 0;

		if (len & 4) {
			__builtin_memcpy(tail, p, 4);
			i = 4;
		}
		if (len & 2) {
			__builtin_memcpy(tail + i, p + i, 2);
			i += 2;
		}
		if (len & 1)
			tail[i] = p[i];
		acc = add_carry(acc, load64(tail));
	}
	return ftoe_csum_fold64(add_carry(acc, acc0));
}

uint32_t ftoe_csum_add(uint32_t sum, const void *buf, size_t len)
{
	uint64_t acc = (uint64_t)sum + ftoe_csum_add_native(0, buf, len);

	return (uint32_t)((acc & 0xffffffffu) + (acc >> 32));
}

uint16_t ftoe_csum(const void *buf, size_t len)
{
	return ftoe_csum_finish(ftoe_csum_add(0, buf, len));
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
