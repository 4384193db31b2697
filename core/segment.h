/* segment.h - Ethernet/IP/TCP parsing into a pre-processing summary. */
#ifndef FTOE_CORE_SEGMENT_H
#define FTOE_CORE_SEGMENT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/flow_table.h"

/*
 * Pre-processing (FlexTOE section 4, "pre-processing" stage) validates a
 * received frame once and condenses it into struct ftoe_seg, so the later
 * stages never touch the headers again.  A frame ends in one of three ways:
 *
 *   - ftoe_seg_parse() returns -EINVAL and seg->err names the defect
 *     (truncated, bad header length, bad checksum, malformed option): drop
 *     and count it;
 *   - it returns 0 with seg->slow != 0: a well-formed frame the fast path
 *     does not handle (SYN, RST, fragment, unknown option, not TCP ...), to
 *     be handed to the control plane's slow path; the bits say why;
 *   - it returns 0 with seg->slow == 0: a plain segment of an established
 *     flow, ready for the flow lookup and the protocol stage.
 *
 * The parser never reads beyond frame[len - 1].  Layer 3 is dispatched on
 * the EtherType to one parser per family (IPv4 and IPv6 both exist), each
 * producing the same summary.  Both families take the fast path; an IPv6
 * frame with extension headers goes to the slow path (FTOE_SLOW_FRAG).
 */

#define FTOE_ETH_ALEN 6
#define FTOE_ETH_HLEN 14
#define FTOE_VLAN_HLEN 4
#define FTOE_ETH_P_IPV4 0x0800
#define FTOE_ETH_P_IPV6 0x86dd
#define FTOE_ETH_P_ARP  0x0806
#define FTOE_ETH_P_8021Q  0x8100
#define FTOE_ETH_P_8021AD 0x88a8
#define FTOE_IPPROTO_TCP 6

/* TCP header flags (RFC 793 section 3.1, RFC 3168 section 6.1 for ECE/CWR). */
#define FTOE_TCP_FIN 0x01
#define FTOE_TCP_SYN 0x02
#define FTOE_TCP_RST 0x04
#define FTOE_TCP_PSH 0x08
#define FTOE_TCP_ACK 0x10
#define FTOE_TCP_URG 0x20
#define FTOE_TCP_ECE 0x40
#define FTOE_TCP_CWR 0x80

/* IP ECN codepoints (RFC 3168 section 5). */
#define FTOE_ECN_NOT_ECT 0
#define FTOE_ECN_ECT1    1
#define FTOE_ECN_ECT0    2
#define FTOE_ECN_CE      3

/* TCP options (IANA): which ones were seen, in ftoe_seg.opts. */
#define FTOE_TCPOPT_EOL   0
#define FTOE_TCPOPT_NOP   1
#define FTOE_TCPOPT_MSS   2
#define FTOE_TCPOPT_WS    3
#define FTOE_TCPOPT_SACKP 4
#define FTOE_TCPOPT_SACK  5
#define FTOE_TCPOPT_TS    8

#define FTOE_OPT_MSS   (1u << 0)
#define FTOE_OPT_WS    (1u << 1)
#define FTOE_OPT_SACKP (1u << 2)
#define FTOE_OPT_TS    (1u << 3)
#define FTOE_OPT_SACK  (1u << 4)

/* Why a frame is dropped as malformed (seg->err when parse returns -EINVAL). */
enum ftoe_seg_err {
	FTOE_SEG_OK = 0,
	FTOE_SEG_ERR_ETH_TRUNC,   /* shorter than the Ethernet (+VLAN) header */
	FTOE_SEG_ERR_IP_TRUNC,    /* shorter than the fixed IP header */
	FTOE_SEG_ERR_IP_VERSION,  /* version field does not match EtherType */
	FTOE_SEG_ERR_IP_HLEN,     /* IHL < 5 or beyond the frame/total length */
	FTOE_SEG_ERR_IP_LEN,      /* total/payload length vs header or frame */
	FTOE_SEG_ERR_IP_CSUM,     /* IPv4 header checksum */
	FTOE_SEG_ERR_TCP_TRUNC,   /* IP payload shorter than 20 bytes of TCP */
	FTOE_SEG_ERR_TCP_DOFF,    /* data offset < 5 or beyond the IP payload */
	FTOE_SEG_ERR_TCP_CSUM,    /* TCP checksum over the pseudo-header */
	FTOE_SEG_ERR_TCP_OPT,     /* option runs past the header or bad length */
	FTOE_SEG_ERR_IP6_ADDR,    /* IPv6 TCP with an address TCP cannot use (RFC 4291) */
	FTOE_SEG_ERR__MAX,
};

/* Why a well-formed frame must take the slow path (bits of seg->slow). */
#define FTOE_SLOW_NOT_IP     (1u << 0)  /* ARP or another EtherType */
#define FTOE_SLOW_NOT_TCP    (1u << 1)  /* IP but not TCP (ICMP, UDP ...) */
#define FTOE_SLOW_FRAG       (1u << 2)  /* IPv4 fragment / IPv6 ext headers */
#define FTOE_SLOW_IP_OPTS    (1u << 3)  /* IPv4 options present */
#define FTOE_SLOW_SYN        (1u << 4)  /* connection setup */
#define FTOE_SLOW_RST        (1u << 5)  /* connection reset */
#define FTOE_SLOW_URG        (1u << 6)  /* urgent data: not offloaded */
#define FTOE_SLOW_NO_ACK     (1u << 7)  /* non-SYN without ACK */
#define FTOE_SLOW_TCP_OPT    (1u << 8)  /* unknown option, or SYN-only option later */
#define FTOE_SLOW_IPV6       (1u << 9)  /* unused since IPv6 takes the fast path */
#define FTOE_SLOW_VLAN_STACK (1u << 10) /* more than one VLAN tag */

/* Flags for ftoe_seg_parse(). */
#define FTOE_SEG_F_NO_CSUM (1u << 0) /* NIC already verified the checksums */

struct ftoe_seg {
	/* Layer 2 */
	uint8_t eth_dst[FTOE_ETH_ALEN];
	uint8_t eth_src[FTOE_ETH_ALEN];
	uint16_t ethertype;      /* inner EtherType after an 802.1Q tag */
	uint16_t vlan_tci;       /* valid when has_vlan */
	bool has_vlan;

	/* Layer 3: family 4 or 6 (0: not IP).  saddr4/daddr4: the IPv4
	 * addresses, or the IPv6 ones' last 32 bits, as host order numbers
	 * (the flow key's laddr/raddr, core/flow_table.h). */
	uint8_t family;
	uint8_t ip_ecn;          /* FTOE_ECN_* of the IP header */
	uint8_t ip_proto;
	uint8_t saddr[16], daddr[16]; /* raw bytes; IPv4 uses the first 4 */
	uint32_t saddr4, daddr4;

	/* Layer 4 */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint16_t win;            /* raw 16-bit field, unscaled */
	uint8_t tcp_flags;       /* FTOE_TCP_* */
	uint8_t opts;            /* FTOE_OPT_* seen */
	uint16_t mss;            /* when FTOE_OPT_MSS */
	uint8_t wscale;          /* raw shift when FTOE_OPT_WS (clamp on use) */
	uint8_t sack_blocks;     /* number of SACK blocks when FTOE_OPT_SACK */
	uint32_t ts_val, ts_ecr; /* when FTOE_OPT_TS */

	/* Offsets into the frame. */
	uint16_t l3_off, l4_off;
	uint16_t payload_off, payload_len;

	uint32_t slow;           /* FTOE_SLOW_* bits; 0 = fast path */
	enum ftoe_seg_err err;   /* when parse returned -EINVAL */
};

/* Parse and validate frame[0..len).  0 or -EINVAL (see above). */
int ftoe_seg_parse(const void *frame, uint32_t len, uint32_t flags,
		   struct ftoe_seg *seg);

/* Short, stable name of an error (for counters and messages). */
const char *ftoe_seg_err_str(enum ftoe_seg_err err);

static inline bool ftoe_seg_fast_path(const struct ftoe_seg *seg)
{
	return seg->slow == 0;
}

/* The flow-table key of a received segment: we are the destination. */
static inline void ftoe_seg_flow_key(const struct ftoe_seg *seg,
				     struct ftoe_flow_key *key)
{
	key->laddr = seg->daddr4;
	key->raddr = seg->saddr4;
	key->lport = seg->dport;
	key->rport = seg->sport;
	if (__builtin_expect(seg->family == 6, 0)) {
		memcpy(key->lhi, seg->daddr, 12);
		memcpy(key->rhi, seg->saddr, 12);
	} else {
		memset(key->lhi, 0, sizeof(key->lhi));
		memset(key->rhi, 0, sizeof(key->rhi));
	}
}

#endif
