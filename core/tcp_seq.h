/* tcp_seq.h - TCP sequence-number serial arithmetic and window-scaling math. */
#ifndef FTOE_CORE_TCP_SEQ_H
#define FTOE_CORE_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Sequence numbers live in a 2^32 circle (RFC 793 section 3.3, serial
 * arithmetic as in RFC 1982 with SERIAL_BITS = 32).  a is "before" b when
 * the signed distance b - a is positive; this is only meaningful while the
 * two are less than 2^31 apart, which TCP guarantees because a window never
 * exceeds 2^30 (RFC 7323 section 2.3).  Never compare sequence numbers with
 * < or > directly: go through these helpers.
 */

/* Signed distance from b to a (a - b), valid for |a - b| < 2^31. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline bool seq_before(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) > 0;
}

static inline bool seq_before_eq(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) <= 0;
}

static inline bool seq_after_eq(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) >= 0;
}

/* lo <= s <= hi on the circle, measured from lo (works for any hi - lo). */
static inline bool seq_between(uint32_t s, uint32_t lo, uint32_t hi)
{
	return s - lo <= hi - lo;
}

/* s in the half-open range [start, start + len) (len may be 0: empty). */
static inline bool seq_in_range(uint32_t s, uint32_t start, uint32_t len)
{
	return s - start < len;
}

static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_after(a, b) ? a : b;
}

static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return seq_before(a, b) ? a : b;
}

/*
 * Window scaling (RFC 7323 section 2).  The shift count is sent once in the
 * SYN; a received shift above 14 is treated as 14 (section 2.3), so that the
 * largest window, 65535 << 14, stays below 2^30 and serial arithmetic holds.
 */
#define FTOE_TCP_MAX_WSCALE 14
#define FTOE_TCP_MAX_WIN16  0xffffu
/* Largest window any scaling can express: 65535 << 14 (< 2^30). */
#define FTOE_TCP_MAX_WIN    ((uint32_t)FTOE_TCP_MAX_WIN16 << FTOE_TCP_MAX_WSCALE)

/* The shift to use for a peer-announced value (section 2.3: clamp to 14). */
static inline uint8_t wscale_clamp(uint8_t shift)
{
	return shift > FTOE_TCP_MAX_WSCALE ? FTOE_TCP_MAX_WSCALE : shift;
}

/*
 * The smallest shift whose scaled 16-bit field can express a receive buffer
 * of buf bytes: what we announce in our SYN.  Smallest, because a larger
 * shift only coarsens the granularity of every later advertisement.
 */
static inline uint8_t wscale_for_buffer(uint32_t buf)
{
	uint8_t shift = 0;

	while (shift < FTOE_TCP_MAX_WSCALE &&
	       ((uint32_t)FTOE_TCP_MAX_WIN16 << shift) < buf)
		shift++;
	return shift;
}

/* Window in bytes from a received 16-bit field (never for SYN segments:
 * section 2.2, the window in a SYN is never scaled). */
static inline uint32_t wscale_window(uint16_t field, uint8_t shift)
{
	return (uint32_t)field << wscale_clamp(shift);
}

/*
 * The 16-bit field to advertise for avail bytes of receive space.  Rounds
 * down (we never promise space we do not have) and saturates at 65535.
 * Rounding down could move the right edge left by up to 2^shift - 1 bytes;
 * callers that must not shrink the window (RFC 7323 section 2.4, RFC 793
 * "the window should not shrink") use wscale_advertise_noshrink().
 */
static inline uint16_t wscale_advertise(uint32_t avail, uint8_t shift)
{
	uint32_t field = avail >> wscale_clamp(shift);

	return field > FTOE_TCP_MAX_WIN16 ? FTOE_TCP_MAX_WIN16 : (uint16_t)field;
}

/*
 * Like wscale_advertise(), but never lets the advertised right edge
 * (rcv_nxt + field << shift) fall before prev_right_edge: when it would, the
 * field is rounded up to keep the edge (RFC 7323 section 2.4).
 */
static inline uint16_t wscale_advertise_noshrink(uint32_t avail, uint8_t shift,
						 uint32_t rcv_nxt,
						 uint32_t prev_right_edge)
{
	uint8_t s = wscale_clamp(shift);
	uint32_t field = wscale_advertise(avail, s);
	uint32_t need;

	if (seq_before_eq(prev_right_edge, rcv_nxt + (field << s)))
		return (uint16_t)field;
	need = prev_right_edge - rcv_nxt;
	field = (need + (1u << s) - 1) >> s;
	return field > FTOE_TCP_MAX_WIN16 ? FTOE_TCP_MAX_WIN16 : (uint16_t)field;
}

/* The window field of a SYN or SYN-ACK: unscaled (section 2.2). */
static inline uint16_t wscale_advertise_syn(uint32_t avail)
{
	return avail > FTOE_TCP_MAX_WIN16 ? FTOE_TCP_MAX_WIN16 : (uint16_t)avail;
}

#endif
