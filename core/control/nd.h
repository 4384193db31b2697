/* nd.h - IPv6 neighbour discovery (NS/NA), neighbour cache and resolver, and echo replies, for the engine's IPv6 address. */
#ifndef FTOE_CORE_CONTROL_ND_H
#define FTOE_CORE_CONTROL_ND_H

#include <stddef.h>
#include <stdint.h>

#include "core/control/rx_md.h"

/*
 * What arp.c and icmp.c do for IPv4, for the engine's IPv6 address: the
 * engine owns an address the kernel does not have, so it answers neighbour
 * solicitations for it, resolves its peers' MACs and answers pings itself.
 * Target independent: no allocation, no clock, no locks; the caller passes
 * the time, serialises calls and receives frames through ops.xmit.
 *
 *   - RFC 4861 section 7.1: a received NS or NA is checked before anything
 *     else (hop limit 255, code 0, ICMPv6 checksum, length, a target that
 *     is not multicast, option lengths non-zero, no source link-layer
 *     option from the unspecified address); anything else is dropped and
 *     counted.
 *   - An NS for our address gets an NA (7.2.4): solicited and override,
 *     with our MAC in a target link-layer option, to the solicitation's
 *     source, or to all nodes (ff02::1) for duplicate address detection
 *     (source ::), so another host cannot take our address.
 *   - The cache: an NS with a source link-layer option adds or refreshes
 *     its sender (7.2.3), an NA refreshes the entry of its target (7.2.5).
 *     Entries expire after cfg.expiry_ns (30 s, REACHABLE_TIME) without a
 *     refresh; a lookup of an expired entry resolves again.
 *   - ftoe_nd_lookup() resolves on-link addresses only (the engine has no
 *     IPv6 router yet): a miss sends an NS to the solicited-node multicast
 *     address (7.2.2) and retries every cfg.retry_ns (1 s, RETRANS_TIMER)
 *     up to cfg.tries (3, MAX_MULTICAST_SOLICIT); ops.resolved is called
 *     when an NA brings the address.
 *   - ICMPv6 echo requests to our address (RFC 4443 section 4.1) get their
 *     echo reply (4.2); other ICMPv6 types are ignored and counted.
 */

#define FTOE_ND_CACHE_SIZE 256
#define FTOE_ICMP6_ECHO_REQUEST 128
#define FTOE_ICMP6_ECHO_REPLY   129
#define FTOE_ICMP6_NS 135
#define FTOE_ICMP6_NA 136
#define FTOE_IPPROTO_ICMPV6 58

struct ftoe_nd_ops {
	void *ctx;
	/* Send one Ethernet frame; the buffer is only borrowed. */
	int (*xmit)(void *ctx, const void *frame, size_t len);
	/* An address a lookup returned -EAGAIN for is now resolved.  May be
	 * NULL.  Called from within ftoe_nd_rx(). */
	void (*resolved)(void *ctx, const uint8_t ip6[16]);
};

struct ftoe_nd_cfg {
	uint8_t ip6[16];         /* our address */
	uint32_t prefix_len;     /* on-link prefix, 1..128 */
	uint8_t mac[6];          /* our MAC */
	uint64_t expiry_ns;      /* 0: 30 s */
	uint64_t retry_ns;       /* 0: 1 s */
	uint8_t tries;           /* solicitations per resolution; 0: 3 */
};

enum ftoe_nd_state {
	FTOE_ND_FREE = 0,
	FTOE_ND_INCOMPLETE,      /* NS sent, no NA yet */
	FTOE_ND_REACHABLE,       /* mac valid until updated_ns + expiry */
};

struct ftoe_nd_entry {
	uint8_t ip6[16];
	uint8_t state;           /* enum ftoe_nd_state */
	uint8_t sent;            /* solicitations sent (INCOMPLETE) */
	uint8_t mac[6];
	uint64_t updated_ns;     /* REACHABLE: last confirmation */
	uint64_t next_ns;        /* INCOMPLETE: next retry or give-up time */
	struct ftoe_vlan vlan;   /* tags the neighbour's packets came with */
};

struct ftoe_nd_stats {
	uint64_t rx;             /* ICMPv6 frames handed in */
	uint64_t rx_malformed;   /* truncated, bad checksum, hop limit, options ... */
	uint64_t ns_rx, na_rx;
	uint64_t na_sent, ns_sent;
	uint64_t dad_answered;   /* another host's DAD for our address: defended */
	uint64_t echo_replies;
	uint64_t not_ours;       /* well-formed, not for us (other target or type) */
	uint64_t resolved;       /* INCOMPLETE -> REACHABLE */
	uint64_t timeouts;       /* gave up after cfg.tries solicitations */
	uint64_t expired;        /* REACHABLE entries aged out */
	uint64_t evictions;      /* cache full: oldest entry replaced */
	uint64_t tx_errors;
};

struct ftoe_nd {
	struct ftoe_nd_cfg cfg;
	struct ftoe_nd_ops ops;
	struct ftoe_nd_stats stats;
	struct ftoe_nd_entry cache[FTOE_ND_CACHE_SIZE];
};

/* 0, or -EINVAL: no address, prefix not 1..128, multicast MAC, no xmit. */
int ftoe_nd_init(struct ftoe_nd *nd, const struct ftoe_nd_cfg *cfg, const struct ftoe_nd_ops *ops);

/* One received IPv6 frame carrying ICMPv6 (Ethernet header first, any VLAN
 * tags popped already and passed as vlan, NULL: untagged).  0 when it was
 * handled (answered, cached, or ignored as not ours: -EOPNOTSUPP for that),
 * -EINVAL when malformed (counted). */
int ftoe_nd_rx(struct ftoe_nd *nd, const void *frame, size_t len, const struct ftoe_vlan *vlan,
	       uint64_t now_ns);

/* The MAC to send to ip6: 0 with mac filled; -EAGAIN while resolving (an
 * NS went out; ops.resolved follows); -EHOSTUNREACH for an off-link,
 * multicast or our own address; -ENOSPC when every entry is resolving. */
int ftoe_nd_lookup(struct ftoe_nd *nd, const uint8_t ip6[16], uint8_t mac[6], uint64_t now_ns);

/* The tags of the resolved entry for ip6: 0 with *vlan filled, or -ENOENT. */
int ftoe_nd_vlan(const struct ftoe_nd *nd, const uint8_t ip6[16], struct ftoe_vlan *vlan);

/* Retries and expiry; the ns until the next deadline (UINT64_MAX: none). */
uint64_t ftoe_nd_poll(struct ftoe_nd *nd, uint64_t now_ns);

/* The cache entry for ip6, or NULL (diagnostics and tests). */
const struct ftoe_nd_entry *ftoe_nd_find(const struct ftoe_nd *nd, const uint8_t ip6[16]);

#endif
