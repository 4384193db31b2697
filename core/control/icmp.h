/* icmp.h - ICMP echo responder for the engine's IPv4 address (RFC 792, RFC 1122). */
#ifndef FTOE_CORE_CONTROL_ICMP_H
#define FTOE_CORE_CONTROL_ICMP_H

#include <stddef.h>
#include <stdint.h>

#include "core/control/rx_md.h"

/*
 * Answers echo requests to our address so `ping` works against the engine.
 * Target independent (no allocation, no libc but memcpy/memset); the reply
 * is built in place in the received frame, which the caller therefore lends
 * writable, and leaves through ops.xmit.  Input is validated before any
 * byte is written: truncated frames, bad IPv4 or ICMP checksums, fragments
 * and bad source addresses are dropped and counted.
 */

#define FTOE_ICMP_ECHO_REPLY   0
#define FTOE_ICMP_ECHO_REQUEST 8
#define FTOE_IPPROTO_ICMP      1

struct ftoe_icmp_ops {
	void *ctx;
	int (*xmit)(void *ctx, const void *frame, size_t len);
};

struct ftoe_icmp_cfg {
	uint32_t ip_be;      /* our address, network byte order */
	uint8_t mac[6];      /* our MAC */
	uint8_t ttl;         /* 0: 64 (RFC 1700 default TTL) */
};

struct ftoe_icmp_stats {
	uint64_t rx;            /* frames handed in */
	uint64_t echo_replies;  /* replies sent */
	uint64_t truncated;     /* shorter than its headers say */
	uint64_t bad_ip;        /* not IPv4 / bad header length / not ICMP */
	uint64_t bad_csum;      /* IPv4 header or ICMP checksum */
	uint64_t fragments;     /* fragmented requests: not reassembled */
	uint64_t bad_addr;      /* not to our address, or from a source we
				 * must not answer (broadcast, multicast ...) */
	uint64_t not_echo;      /* other ICMP types: ignored */
	uint64_t tx_errors;
};

struct ftoe_icmp {
	struct ftoe_icmp_cfg cfg;
	struct ftoe_icmp_ops ops;
	uint16_t ip_id;
	struct ftoe_icmp_stats stats;
};

/* 0, or -EINVAL without an address, a unicast MAC or xmit. */
int ftoe_icmp_init(struct ftoe_icmp *icmp, const struct ftoe_icmp_cfg *cfg,
		   const struct ftoe_icmp_ops *ops);

/*
 * One received frame (Ethernet header first, no VLAN tag).  0 when an echo
 * reply was sent; -EINVAL when dropped as malformed (truncated, checksum,
 * header); -EOPNOTSUPP for a well-formed frame we do not answer (other
 * ICMP types, fragments, other addresses); the xmit error otherwise.  The
 * frame's bytes are rewritten only on the success path.
 */
int ftoe_icmp_rx(struct ftoe_icmp *icmp, void *frame, size_t len);

/*
 * The same for a frame that came with VLAN tags vlan (popped already: the
 * frame starts untagged; NULL or flags 0: untagged).  The reply goes back
 * with those tags: it is built in place and its MAC addresses move
 * ftoe_vlan_len(vlan) bytes in front of frame, which must be writable
 * (the backend's metadata area the tags were read from, rx_md.h).
 */
int ftoe_icmp_rx_vlan(struct ftoe_icmp *icmp, void *frame, size_t len,
		      const struct ftoe_vlan *vlan);

#endif
