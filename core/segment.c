/* segment.c - Ethernet/IP/TCP parsing into a pre-processing summary. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/csum.h"
#include "core/segment.h"

#define IPV4_HLEN_MIN 20
#define IPV6_HLEN 40
#define TCP_HLEN_MIN 20
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff
/* NOP, NOP, kind 8, length 10 (RFC 7323 Appendix A) */
#define TCPOPT_TS_ALIGNED 0x0101080au

static int seg_fail(struct ftoe_seg *seg, enum ftoe_seg_err err)
{
	seg->err = err;
	return -EINVAL;
}

/*
 * Options (RFC 793 section 3.1, RFC 9293 section 3.2): EOL ends the list,
 * NOP is one byte, every other kind carries a length byte counting kind and
 * length, which must be >= 2 and stay inside the header.  A known kind with
 * the wrong length is malformed (RFC 9293 3.2: "MUST be prepared to handle
 * an illegal option length ... e.g. by resetting"; we drop).  Unknown kinds
 * are skipped by length but send the segment to the slow path.
 *
 * A SYN is the exception (lenient): as Linux (tcp_parse_options), a known
 * kind with the wrong length is ignored and a length that cannot be
 * right (< 2, or past the header) ends the list, keeping what came
 * before, so the SYN is answered without the bad options rather than
 * dropped; a connection it opens simply lacks them.
 */
#define OPT_BAD(seg, lenient) do { if (lenient) goto bad_opt; \
	return seg_fail(seg, FTOE_SEG_ERR_TCP_OPT); } while (0)
static int tcp_parse_options(const uint8_t *p, uint32_t len, struct ftoe_seg *seg, bool lenient)
{
	uint32_t i = 0;

	while (i < len) {
		uint8_t kind = p[i], olen;

		if (kind == FTOE_TCPOPT_EOL)
			break;
		if (kind == FTOE_TCPOPT_NOP) {
			i++;
			continue;
		}
		olen = i + 1 < len ? p[i + 1] : 0;
		if (olen < 2 || olen > len - i) {
			if (lenient)
				break;
			return seg_fail(seg, FTOE_SEG_ERR_TCP_OPT);
		}

		switch (kind) {
		case FTOE_TCPOPT_MSS:   /* RFC 9293 3.7.1 */
			if (olen != 4)
				OPT_BAD(seg, lenient);
			seg->opts |= FTOE_OPT_MSS;
			seg->mss = ftoe_get_be16(p + i + 2);
			break;
		case FTOE_TCPOPT_WS:    /* RFC 7323 2.2 */
			if (olen != 3)
				OPT_BAD(seg, lenient);
			seg->opts |= FTOE_OPT_WS;
			seg->wscale = p[i + 2];
			break;
		case FTOE_TCPOPT_SACKP: /* RFC 2018 2 */
			if (olen != 2)
				OPT_BAD(seg, lenient);
			seg->opts |= FTOE_OPT_SACKP;
			break;
		case FTOE_TCPOPT_SACK:  /* RFC 2018 3: 2 + 8n, n = 1..4 */
			if (olen < 10 || (olen - 2) % 8)
				OPT_BAD(seg, lenient);
			seg->opts |= FTOE_OPT_SACK;
			seg->sack_blocks = (uint8_t)((olen - 2) / 8);
			break;
		case FTOE_TCPOPT_TS:    /* RFC 7323 3.2 */
			if (olen != 10)
				OPT_BAD(seg, lenient);
			seg->opts |= FTOE_OPT_TS;
			seg->ts_val = ftoe_get_be32(p + i + 2);
			seg->ts_ecr = ftoe_get_be32(p + i + 6);
			break;
		default:
			seg->slow |= FTOE_SLOW_TCP_OPT;
			break;
		}
bad_opt:
		i += olen;
	}
	return 0;
}
#undef OPT_BAD

/* TCP over l4_len bytes at frame + seg->l4_off; pseudo is the L3 part of
 * the checksum (already summed by the family parser, in native-order
 * words: ftoe_csum_pseudo4_native). */
static int tcp_parse(const uint8_t *frame, uint32_t l4_len, uint64_t pseudo,
		     uint32_t flags, struct ftoe_seg *seg)
{
	const uint8_t *th = frame + seg->l4_off;
	uint32_t doff;
	uint8_t tf;
	int err;

	if (l4_len < TCP_HLEN_MIN)
		return seg_fail(seg, FTOE_SEG_ERR_TCP_TRUNC);
	doff = (uint32_t)(th[12] >> 4) * 4;
	if (doff < TCP_HLEN_MIN || doff > l4_len)
		return seg_fail(seg, FTOE_SEG_ERR_TCP_DOFF);

	/* RFC 793 3.1: the checksum covers pseudo-header, header and data; a
	 * correct one sums to 0xffff, i.e. finishes to 0. */
	if (!(flags & FTOE_SEG_F_NO_CSUM) &&
	    ftoe_csum_add_native(pseudo, th, l4_len) != 0xffff)
		return seg_fail(seg, FTOE_SEG_ERR_TCP_CSUM);

	seg->sport = ftoe_get_be16(th);
	seg->dport = ftoe_get_be16(th + 2);
	seg->seq = ftoe_get_be32(th + 4);
	seg->ack = ftoe_get_be32(th + 8);
	tf = th[13];
	seg->tcp_flags = tf;
	seg->win = ftoe_get_be16(th + 14);
	seg->payload_off = (uint16_t)(seg->l4_off + doff);
	seg->payload_len = (uint16_t)(l4_len - doff);

	/* The layout RFC 7323 Appendix A recommends, and nearly every segment
	 * of an established flow carries: NOP, NOP, timestamps.  Recognized by
	 * one word, as Linux's tcp_fast_parse_options(); anything else walks
	 * the list. */
	if (doff == TCP_HLEN_MIN + 12 && ftoe_get_be32(th + TCP_HLEN_MIN) == TCPOPT_TS_ALIGNED) {
		seg->opts = FTOE_OPT_TS;
		seg->ts_val = ftoe_get_be32(th + TCP_HLEN_MIN + 4);
		seg->ts_ecr = ftoe_get_be32(th + TCP_HLEN_MIN + 8);
	} else if (doff > TCP_HLEN_MIN) {
		err = tcp_parse_options(th + TCP_HLEN_MIN, doff - TCP_HLEN_MIN, seg,
					(tf & FTOE_TCP_SYN) != 0);
		if (err)
			return err;
	}

	/* Only plain established-flow segments stay on the fast path
	 * (docs/design.md section 3).  FIN stays: the protocol stage records it in
	 * order and tells the control plane. */
	if (tf & FTOE_TCP_SYN)
		seg->slow |= FTOE_SLOW_SYN;
	if (tf & FTOE_TCP_RST)
		seg->slow |= FTOE_SLOW_RST;
	if (tf & FTOE_TCP_URG)
		seg->slow |= FTOE_SLOW_URG;
	if (!(tf & (FTOE_TCP_ACK | FTOE_TCP_SYN | FTOE_TCP_RST)))
		seg->slow |= FTOE_SLOW_NO_ACK;
	return 0;
}

/* RFC 791 3.1. */
static int ipv4_parse(const uint8_t *frame, uint32_t len, uint32_t flags,
		      struct ftoe_seg *seg)
{
	const uint8_t *ih = frame + seg->l3_off;
	uint32_t avail = len - seg->l3_off, ihl, tot_len;
	uint16_t frag;
	uint64_t pseudo;

	if (avail < IPV4_HLEN_MIN)
		return seg_fail(seg, FTOE_SEG_ERR_IP_TRUNC);
	if (ih[0] >> 4 != 4)
		return seg_fail(seg, FTOE_SEG_ERR_IP_VERSION);
	ihl = (uint32_t)(ih[0] & 0xf) * 4;
	if (ihl < IPV4_HLEN_MIN || ihl > avail)
		return seg_fail(seg, FTOE_SEG_ERR_IP_HLEN);
	tot_len = ftoe_get_be16(ih + 2);
	/* Total length covers header and payload and may be shorter than the
	 * frame (Ethernet pads to 60 bytes), never longer. */
	if (tot_len < ihl)
		return seg_fail(seg, FTOE_SEG_ERR_IP_HLEN);
	if (tot_len > avail)
		return seg_fail(seg, FTOE_SEG_ERR_IP_LEN);
	if (!(flags & FTOE_SEG_F_NO_CSUM) &&
	    (ihl == IPV4_HLEN_MIN ? ftoe_csum20(ih) : ftoe_csum(ih, ihl)) != 0)
		return seg_fail(seg, FTOE_SEG_ERR_IP_CSUM);

	seg->family = 4;
	seg->ip_ecn = ih[1] & 3;
	seg->ip_proto = ih[9];
	memcpy(seg->saddr, ih + 12, 4);
	memcpy(seg->daddr, ih + 16, 4);
	seg->saddr4 = ftoe_get_be32(ih + 12);
	seg->daddr4 = ftoe_get_be32(ih + 16);
	seg->l4_off = (uint16_t)(seg->l3_off + ihl);
	if (ihl > IPV4_HLEN_MIN)
		seg->slow |= FTOE_SLOW_IP_OPTS;

	/* Any fragment (MF set or non-zero offset) goes to the slow path
	 * un-parsed: the TCP header may be incomplete or absent. */
	frag = ftoe_get_be16(ih + 6);
	if (frag & (IPV4_MF | IPV4_OFFMASK)) {
		seg->slow |= FTOE_SLOW_FRAG;
		return 0;
	}
	if (seg->ip_proto != FTOE_IPPROTO_TCP) {
		seg->slow |= FTOE_SLOW_NOT_TCP;
		return 0;
	}
	pseudo = ftoe_csum_pseudo4_native(ih + 12, ih + 16, FTOE_IPPROTO_TCP,
					  (uint16_t)(tot_len - ihl));
	return tcp_parse(frame, tot_len - ihl, pseudo, flags, seg);
}

/* A TCP endpoint's IPv6 address: not unspecified or loopback, nor with the
 * first 96 bits zero (IPv4-compatible, and the flow key's IPv4 marker,
 * core/flow_table.h), nor IPv4-mapped (RFC 4291 2.5.5.2: never on the
 * wire; Linux drops them as well), nor multicast (TCP is unicast). */
static bool ip6_tcp_addr_ok(const uint8_t *a)
{
	uint32_t w0 = ftoe_get_be32(a), w1 = ftoe_get_be32(a + 4), w2 = ftoe_get_be32(a + 8);

	if (a[0] == 0xff)
		return false;
	return (w0 | w1) != 0 || (w2 != 0 && w2 != 0xffff);
}

/* RFC 8200 3.  Extension headers are not walked: they go to the slow path. */
static int ipv6_parse(const uint8_t *frame, uint32_t len, uint32_t flags,
		      struct ftoe_seg *seg)
{
	const uint8_t *ih = frame + seg->l3_off;
	uint32_t avail = len - seg->l3_off, plen;
	uint64_t pseudo;

	if (avail < IPV6_HLEN)
		return seg_fail(seg, FTOE_SEG_ERR_IP_TRUNC);
	if (ih[0] >> 4 != 6)
		return seg_fail(seg, FTOE_SEG_ERR_IP_VERSION);
	plen = ftoe_get_be16(ih + 4);
	if (plen > avail - IPV6_HLEN)
		return seg_fail(seg, FTOE_SEG_ERR_IP_LEN);

	seg->family = 6;
	/* Traffic class straddles bytes 0 and 1; ECN is its low two bits. */
	seg->ip_ecn = (ih[1] >> 4) & 3;
	seg->ip_proto = ih[6];
	memcpy(seg->saddr, ih + 8, 16);
	memcpy(seg->daddr, ih + 24, 16);
	seg->saddr4 = ftoe_get_be32(ih + 20);
	seg->daddr4 = ftoe_get_be32(ih + 36);
	seg->l4_off = (uint16_t)(seg->l3_off + IPV6_HLEN);

	switch (seg->ip_proto) {
	case FTOE_IPPROTO_TCP:
		break;
	case 0: case 43: case 44: case 50: case 51: case 60: case 135:
		/* hop-by-hop, routing, fragment, ESP, AH, dest opts, mobility */
		seg->slow |= FTOE_SLOW_FRAG;
		return 0;
	default:
		seg->slow |= FTOE_SLOW_NOT_TCP;
		return 0;
	}
	if (!ip6_tcp_addr_ok(ih + 8) || !ip6_tcp_addr_ok(ih + 24))
		return seg_fail(seg, FTOE_SEG_ERR_IP6_ADDR);
	pseudo = ftoe_csum_to_native(ftoe_csum_pseudo6(ih + 8, ih + 24, FTOE_IPPROTO_TCP, plen));
	return tcp_parse(frame, plen, pseudo, flags, seg);
}

int ftoe_seg_parse(const void *frame_, uint32_t len, uint32_t flags,
		   struct ftoe_seg *seg)
{
	const uint8_t *frame = frame_;
	uint32_t off = FTOE_ETH_HLEN;
	uint16_t etype;

	memset(seg, 0, sizeof(*seg));
	/* Offsets are 16 bits: a frame this long is no Ethernet frame. */
	if (len > 0xffff)
		return seg_fail(seg, FTOE_SEG_ERR_IP_LEN);
	if (len < FTOE_ETH_HLEN)
		return seg_fail(seg, FTOE_SEG_ERR_ETH_TRUNC);
	memcpy(seg->eth_dst, frame, FTOE_ETH_ALEN);
	memcpy(seg->eth_src, frame + 6, FTOE_ETH_ALEN);
	etype = ftoe_get_be16(frame + 12);

	/* IEEE 802.1Q: record one tag; stacked tags (QinQ) go slow. */
	if (etype == FTOE_ETH_P_8021Q || etype == FTOE_ETH_P_8021AD) {
		if (len < FTOE_ETH_HLEN + FTOE_VLAN_HLEN)
			return seg_fail(seg, FTOE_SEG_ERR_ETH_TRUNC);
		seg->has_vlan = true;
		seg->vlan_tci = ftoe_get_be16(frame + 14);
		etype = ftoe_get_be16(frame + 16);
		off += FTOE_VLAN_HLEN;
		if (etype == FTOE_ETH_P_8021Q || etype == FTOE_ETH_P_8021AD) {
			seg->ethertype = etype;
			seg->slow |= FTOE_SLOW_VLAN_STACK | FTOE_SLOW_NOT_IP;
			return 0;
		}
	}
	seg->ethertype = etype;
	seg->l3_off = (uint16_t)off;

	switch (etype) {
	case FTOE_ETH_P_IPV4:
		return ipv4_parse(frame, len, flags, seg);
	case FTOE_ETH_P_IPV6:
		return ipv6_parse(frame, len, flags, seg);
	default:
		seg->slow |= FTOE_SLOW_NOT_IP;
		return 0;
	}
}

const char *ftoe_seg_err_str(enum ftoe_seg_err err)
{
	static const char *const names[FTOE_SEG_ERR__MAX] = {
		[FTOE_SEG_OK] = "ok",
		[FTOE_SEG_ERR_ETH_TRUNC] = "eth-truncated",
		[FTOE_SEG_ERR_IP_TRUNC] = "ip-truncated",
		[FTOE_SEG_ERR_IP_VERSION] = "ip-bad-version",
		[FTOE_SEG_ERR_IP_HLEN] = "ip-bad-header-length",
		[FTOE_SEG_ERR_IP_LEN] = "ip-bad-total-length",
		[FTOE_SEG_ERR_IP_CSUM] = "ip-bad-checksum",
		[FTOE_SEG_ERR_TCP_TRUNC] = "tcp-truncated",
		[FTOE_SEG_ERR_TCP_DOFF] = "tcp-bad-data-offset",
		[FTOE_SEG_ERR_TCP_CSUM] = "tcp-bad-checksum",
		[FTOE_SEG_ERR_TCP_OPT] = "tcp-bad-option",
		[FTOE_SEG_ERR_IP6_ADDR] = "ip6-bad-address",
	};

	if ((unsigned)err >= FTOE_SEG_ERR__MAX)
		return "unknown";
	return names[err];
}
