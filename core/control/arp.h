/* arp.h - ARP responder, neighbour cache and resolver for the engine's IPv4 address. */
#ifndef FTOE_CORE_CONTROL_ARP_H
#define FTOE_CORE_CONTROL_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "core/control/rx_md.h"

/*
 * The engine owns an IPv4 address the kernel does not have, so it answers
 * ARP for it itself (RFC 826) and resolves its peers' MACs.  Target
 * independent: no allocation, no clock, no locks; the caller passes the
 * time, serialises calls, and receives frames through ops.xmit.
 *
 *   - Requests for our address get a reply (also RFC 5227 probes, whose
 *     sender address is 0, so another host cannot take our address).
 *   - The cache follows RFC 826's packet reception algorithm: the sender's
 *     entry is refreshed from any ARP packet if it is already cached, and
 *     added when the packet is addressed to us.  Entries expire after
 *     cfg.expiry_ns (default 60 s) without a refresh.
 *   - ftoe_arp_lookup() resolves the next hop: on-link addresses directly,
 *     off-link ones through the gateway (no gateway: -EHOSTUNREACH).  A
 *     miss sends a broadcast request and retries every cfg.retry_ns (1 s)
 *     up to cfg.tries (3) requests in all; ops.resolved is called for the
 *     address and every off-link address waiting on it once a reply comes.
 *   - ftoe_arp_announce() sends a gratuitous ARP (RFC 5227 section 2.3
 *     announcement: a request with sender and target both our address).
 *   - VLANs: ftoe_arp_rx_vlan() takes the tags the frame came with (the
 *     backend reads them from vlan_strip's metadata, rx_md.h).  A tagged
 *     request gets a reply with the same tags, and the sender's entry
 *     remembers them (ftoe_arp_vlan), so the engine's own frames to it go
 *     on its VLAN.  Requests for an unknown address go untagged (the
 *     engine has no VLAN of its own); re-resolving an entry that expired
 *     asks on the VLAN it had.
 */

#define FTOE_ARP_CACHE_SIZE   256
#define FTOE_ARP_MAX_WAITERS  4     /* off-link addresses noted per next hop */
#define FTOE_ARP_PKT_LEN      28    /* IPv4-over-Ethernet ARP payload */
#define FTOE_ARP_FRAME_LEN    60    /* sent frames: padded to the Ethernet minimum (+ tags) */

#define FTOE_ARP_OP_REQUEST 1
#define FTOE_ARP_OP_REPLY   2

struct ftoe_arp_ops {
	void *ctx;
	/* Send one Ethernet frame; the buffer is only borrowed. */
	int (*xmit)(void *ctx, const void *frame, size_t len);
	/* An address a lookup returned -EAGAIN for is now resolved.  May be
	 * NULL.  Called from within ftoe_arp_rx(). */
	void (*resolved)(void *ctx, uint32_t ip_be);
};

struct ftoe_arp_cfg {
	uint32_t ip_be;          /* our address, network byte order */
	uint32_t prefix_len;     /* on-link prefix, 0..32 */
	uint32_t gateway_be;     /* 0: no gateway */
	uint8_t mac[6];          /* our MAC */
	uint64_t expiry_ns;      /* 0: 60 s */
	uint64_t retry_ns;       /* 0: 1 s */
	uint8_t tries;           /* requests per resolution; 0: 3 */
};

enum ftoe_arp_state {
	FTOE_ARP_FREE = 0,
	FTOE_ARP_INCOMPLETE,     /* request sent, no reply yet */
	FTOE_ARP_REACHABLE,      /* mac valid until updated_ns + expiry */
};

struct ftoe_arp_entry {
	uint32_t ip_be;
	uint8_t state;           /* enum ftoe_arp_state */
	uint8_t sent;            /* requests sent (INCOMPLETE) */
	uint8_t nr_waiters;
	uint8_t mac[6];
	uint64_t updated_ns;     /* REACHABLE: last confirmation */
	uint64_t next_ns;        /* INCOMPLETE: next retry or give-up time */
	uint32_t waiters[FTOE_ARP_MAX_WAITERS];
	struct ftoe_vlan vlan;   /* tags the neighbour's ARP packets came with */
};

struct ftoe_arp_stats {
	uint64_t rx;             /* ARP frames seen */
	uint64_t rx_malformed;   /* truncated / not IPv4-over-Ethernet / bad op */
	uint64_t rx_conflict;    /* another host claims our address */
	uint64_t replies_sent;
	uint64_t requests_sent;  /* including announcements */
	uint64_t resolved;       /* INCOMPLETE -> REACHABLE */
	uint64_t timeouts;       /* gave up after cfg.tries requests */
	uint64_t expired;        /* REACHABLE entries aged out */
	uint64_t evictions;      /* cache full: oldest entry replaced */
	uint64_t waiters_lost;   /* more off-link waiters than fit */
	uint64_t tx_errors;      /* ops.xmit failed */
};

struct ftoe_arp {
	struct ftoe_arp_cfg cfg;
	struct ftoe_arp_ops ops;
	uint32_t mask_be;
	struct ftoe_arp_stats stats;
	struct ftoe_arp_entry cache[FTOE_ARP_CACHE_SIZE];
};

/* 0, or -EINVAL: no address, prefix > 32, gateway off-link or equal to our
 * address, multicast/broadcast MAC, no xmit callback. */
int ftoe_arp_init(struct ftoe_arp *arp, const struct ftoe_arp_cfg *cfg,
		  const struct ftoe_arp_ops *ops);

/* Process one received frame (Ethernet header first).  0 when it was a
 * well-formed ARP packet (answered, cached or ignored as not for us), or
 * -EINVAL when malformed (counted in rx_malformed). */
int ftoe_arp_rx(struct ftoe_arp *arp, const void *frame, size_t len, uint64_t now_ns);
/* The same for a frame that came with VLAN tags vlan (popped already, the
 * frame starts untagged; NULL or flags 0: untagged). */
int ftoe_arp_rx_vlan(struct ftoe_arp *arp, const void *frame, size_t len,
		     const struct ftoe_vlan *vlan, uint64_t now_ns);
/* The tags of the neighbour entry for ip_be (a next hop): 0 with *vlan
 * filled, or -ENOENT when there is no resolved entry. */
int ftoe_arp_vlan(const struct ftoe_arp *arp, uint32_t ip_be, struct ftoe_vlan *vlan);

/* The MAC to send to ip_be: 0 with mac filled; -EAGAIN while resolving (a
 * request went out; ops.resolved follows); -EHOSTUNREACH for an off-link
 * address without a gateway, or our own, broadcast, multicast or zero
 * address; -ENOSPC when every cache entry is being resolved. */
int ftoe_arp_lookup(struct ftoe_arp *arp, uint32_t ip_be, uint8_t mac[6], uint64_t now_ns);

/* The address whose MAC a frame to ip_be needs (itself or the gateway);
 * -EHOSTUNREACH as for ftoe_arp_lookup. */
int ftoe_arp_next_hop(const struct ftoe_arp *arp, uint32_t ip_be, uint32_t *hop_be);

/* Retries and expiry; returns the ns until the next deadline (UINT64_MAX:
 * none). */
uint64_t ftoe_arp_poll(struct ftoe_arp *arp, uint64_t now_ns);

/* Gratuitous ARP announcing our address.  0 or the xmit error. */
int ftoe_arp_announce(struct ftoe_arp *arp);

/* The cache entry for ip_be, or NULL (for diagnostics and tests). */
const struct ftoe_arp_entry *ftoe_arp_find(const struct ftoe_arp *arp, uint32_t ip_be);

#endif
