/* arp.c - ARP responder, neighbour cache and resolver (RFC 826, RFC 5227). */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/arp.h"
#include "core/segment.h"

#define NS_PER_SEC 1000000000ull

/* Offsets of the IPv4-over-Ethernet ARP payload (RFC 826 "Packet format"). */
#define ARP_HTYPE 0
#define ARP_PTYPE 2
#define ARP_HLEN  4
#define ARP_PLEN  5
#define ARP_OP    6
#define ARP_SHA   8
#define ARP_SPA   14
#define ARP_THA   18
#define ARP_TPA   24
#define ARP_HTYPE_ETHER 1

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Addresses are kept as the raw header bytes in a uint32_t (network order);
 * these give the numeric value for prefix and class tests. */
static uint32_t to_host(uint32_t be)
{
	uint8_t b[4];

	memcpy(b, &be, 4);
	return ftoe_get_be32(b);
}

static uint32_t load_ip(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static int mac_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1; /* IEEE 802: group bit, covers broadcast too */
}

static int mac_eq(const uint8_t *x, const uint8_t *y)
{
	return !((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		 (x[3] ^ y[3]) | (x[4] ^ y[4]) | (x[5] ^ y[5]));
}

static int mac_is_zero(const uint8_t *mac)
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

/* Not a usable unicast destination: 0.0.0.0/8, 127/8, multicast, class E
 * and limited broadcast (RFC 1122 section 3.2.1.3, RFC 5735). */
static int ip_is_special(uint32_t host)
{
	uint8_t a = (uint8_t)(host >> 24);

	return a == 0 || a == 127 || a >= 224;
}

int ftoe_arp_init(struct ftoe_arp *arp, const struct ftoe_arp_cfg *cfg,
		  const struct ftoe_arp_ops *ops)
{
	uint32_t mask;

	if (!cfg || !ops || !ops->xmit || !cfg->ip_be || cfg->prefix_len > 32 ||
	    mac_is_multicast(cfg->mac) || mac_is_zero(cfg->mac))
		return -EINVAL;
	mask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
	if (cfg->gateway_be &&
	    (cfg->gateway_be == cfg->ip_be ||
	     ((to_host(cfg->gateway_be) ^ to_host(cfg->ip_be)) & mask)))
		return -EINVAL;
	memset(arp, 0, sizeof(*arp));
	arp->cfg = *cfg;
	arp->ops = *ops;
	if (!arp->cfg.expiry_ns)
		arp->cfg.expiry_ns = 60 * NS_PER_SEC;
	if (!arp->cfg.retry_ns)
		arp->cfg.retry_ns = NS_PER_SEC;
	if (!arp->cfg.tries)
		arp->cfg.tries = 3;
	ftoe_put_be32((uint8_t *)&arp->mask_be, mask);
	return 0;
}

/* One ARP packet, with the VLAN tags v (NULL: untagged).  Tagged frames
 * are the untagged minimum frame plus the tags, as a bridge that inserts
 * a tag makes them (IEEE 802.1Q 6.9). */
static int arp_send(struct ftoe_arp *arp, uint16_t op, const uint8_t *eth_dst,
		    const uint8_t *tha, uint32_t tpa_be, const struct ftoe_vlan *v)
{
	uint8_t f[FTOE_ARP_FRAME_LEN + FTOE_VLAN_MAX_LEN];
	size_t len = FTOE_ARP_FRAME_LEN + ftoe_vlan_len(v);
	uint8_t *a;
	int err;

	memset(f, 0, sizeof(f));
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, arp->cfg.mac, 6);
	a = f + 12 + ftoe_vlan_put(f + 12, v, FTOE_ETH_P_ARP);
	ftoe_put_be16(a + ARP_HTYPE, ARP_HTYPE_ETHER);
	ftoe_put_be16(a + ARP_PTYPE, FTOE_ETH_P_IPV4);
	a[ARP_HLEN] = 6;
	a[ARP_PLEN] = 4;
	ftoe_put_be16(a + ARP_OP, op);
	memcpy(a + ARP_SHA, arp->cfg.mac, 6);
	memcpy(a + ARP_SPA, &arp->cfg.ip_be, 4);
	memcpy(a + ARP_THA, tha, 6);
	memcpy(a + ARP_TPA, &tpa_be, 4);
	err = arp->ops.xmit(arp->ops.ctx, f, len);
	if (err) {
		arp->stats.tx_errors++;
		return err;
	}
	if (op == FTOE_ARP_OP_REPLY)
		arp->stats.replies_sent++;
	else
		arp->stats.requests_sent++;
	return 0;
}

static int send_request(struct ftoe_arp *arp, uint32_t ip_be, const struct ftoe_vlan *v)
{
	static const uint8_t zero_mac[6];

	/* RFC 826: the target hardware address of a request is unknown;
	 * zero is what every stack sends. */
	return arp_send(arp, FTOE_ARP_OP_REQUEST, bcast_mac, zero_mac, ip_be, v);
}

int ftoe_arp_announce(struct ftoe_arp *arp)
{
	return send_request(arp, arp->cfg.ip_be, NULL);
}

static struct ftoe_arp_entry *find(struct ftoe_arp *arp, uint32_t ip_be)
{
	for (unsigned int i = 0; i < FTOE_ARP_CACHE_SIZE; i++) {
		struct ftoe_arp_entry *e = &arp->cache[i];

		if (e->state != FTOE_ARP_FREE && e->ip_be == ip_be)
			return e;
	}
	return NULL;
}

const struct ftoe_arp_entry *ftoe_arp_find(const struct ftoe_arp *arp, uint32_t ip_be)
{
	return find((struct ftoe_arp *)arp, ip_be);
}

/* A free entry, else the least recently confirmed REACHABLE one; entries
 * being resolved are never taken (someone waits on them). */
static struct ftoe_arp_entry *alloc_entry(struct ftoe_arp *arp, uint32_t ip_be)
{
	struct ftoe_arp_entry *victim = NULL;

	for (unsigned int i = 0; i < FTOE_ARP_CACHE_SIZE; i++) {
		struct ftoe_arp_entry *e = &arp->cache[i];

		if (e->state == FTOE_ARP_FREE) {
			victim = e;
			break;
		}
		if (e->state == FTOE_ARP_REACHABLE &&
		    (!victim || e->updated_ns < victim->updated_ns))
			victim = e;
	}
	if (!victim)
		return NULL;
	if (victim->state != FTOE_ARP_FREE)
		arp->stats.evictions++;
	memset(victim, 0, sizeof(*victim));
	victim->ip_be = ip_be;
	return victim;
}

static void confirm(struct ftoe_arp *arp, struct ftoe_arp_entry *e,
		    const uint8_t *mac, const struct ftoe_vlan *v, uint64_t now_ns)
{
	int was_incomplete = e->state == FTOE_ARP_INCOMPLETE;
	uint32_t waiters[FTOE_ARP_MAX_WAITERS];
	uint8_t nr = e->nr_waiters;

	memcpy(e->mac, mac, 6);
	/* The neighbour is where its newest packet came from: a host moved
	 * to another VLAN is followed like one with a new MAC. */
	if (v)
		e->vlan = *v;
	else
		memset(&e->vlan, 0, sizeof(e->vlan));
	e->state = FTOE_ARP_REACHABLE;
	e->updated_ns = now_ns;
	e->sent = 0;
	e->nr_waiters = 0;
	if (!was_incomplete)
		return;
	arp->stats.resolved++;
	/* Copy first: a callback may look up (and so change) the cache. */
	memcpy(waiters, e->waiters, sizeof(waiters));
	if (arp->ops.resolved) {
		uint32_t ip = e->ip_be;

		arp->ops.resolved(arp->ops.ctx, ip);
		for (uint8_t i = 0; i < nr; i++)
			arp->ops.resolved(arp->ops.ctx, waiters[i]);
	}
}

int ftoe_arp_rx(struct ftoe_arp *arp, const void *frame, size_t len, uint64_t now_ns)
{
	return ftoe_arp_rx_vlan(arp, frame, len, NULL, now_ns);
}

int ftoe_arp_rx_vlan(struct ftoe_arp *arp, const void *frame, size_t len,
		     const struct ftoe_vlan *vlan, uint64_t now_ns)
{
	const uint8_t *f = frame;
	const uint8_t *a = f + FTOE_ETH_HLEN;
	struct ftoe_arp_entry *e;
	uint32_t spa, tpa;
	uint16_t op;
	int merged = 0;

	arp->stats.rx++;
	/* RFC 826: check hardware and protocol type and their lengths; we
	 * only speak IPv4 over Ethernet.  Frames may carry padding. */
	if (len < FTOE_ETH_HLEN + FTOE_ARP_PKT_LEN ||
	    ftoe_get_be16(f + 12) != FTOE_ETH_P_ARP ||
	    ftoe_get_be16(a + ARP_HTYPE) != ARP_HTYPE_ETHER ||
	    ftoe_get_be16(a + ARP_PTYPE) != FTOE_ETH_P_IPV4 ||
	    a[ARP_HLEN] != 6 || a[ARP_PLEN] != 4)
		goto malformed;
	op = ftoe_get_be16(a + ARP_OP);
	if (op != FTOE_ARP_OP_REQUEST && op != FTOE_ARP_OP_REPLY)
		goto malformed;
	/* A group sender address can only be forged; never cache it. */
	if (mac_is_multicast(a + ARP_SHA) || mac_is_zero(a + ARP_SHA))
		goto malformed;
	spa = load_ip(a + ARP_SPA);
	tpa = load_ip(a + ARP_TPA);

	if (spa == arp->cfg.ip_be) {
		/* Our own announcement looped back, or a conflict (RFC 5227
		 * section 2.4): someone else uses our address.  Not cached. */
		if (!mac_eq(a + ARP_SHA, arp->cfg.mac))
			arp->stats.rx_conflict++;
		return 0;
	}
	/* RFC 826 "merge": refresh the sender if we already know it.  A
	 * sender address of 0 is an RFC 5227 probe: nothing to learn. */
	if (spa) {
		e = find(arp, spa);
		if (e) {
			confirm(arp, e, a + ARP_SHA, vlan, now_ns);
			merged = 1;
		}
	}
	if (tpa != arp->cfg.ip_be)
		return 0;
	/* Addressed to us: add the sender, then answer a request. */
	if (spa && !merged && !ip_is_special(to_host(spa)) &&
	    !((to_host(spa) ^ to_host(arp->cfg.ip_be)) & to_host(arp->mask_be))) {
		e = alloc_entry(arp, spa);
		if (e)
			confirm(arp, e, a + ARP_SHA, vlan, now_ns);
	}
	/* The reply goes back on the request's VLAN: a host on a VLAN
	 * subinterface sees only frames with its tag. */
	if (op == FTOE_ARP_OP_REQUEST)
		arp_send(arp, FTOE_ARP_OP_REPLY, a + ARP_SHA, a + ARP_SHA, spa, vlan);
	return 0;

malformed:
	arp->stats.rx_malformed++;
	return -EINVAL;
}

int ftoe_arp_next_hop(const struct ftoe_arp *arp, uint32_t ip_be, uint32_t *hop_be)
{
	uint32_t host = to_host(ip_be), mask = to_host(arp->mask_be);

	if (ip_is_special(host) || ip_be == arp->cfg.ip_be)
		return -EHOSTUNREACH;
	if (!((host ^ to_host(arp->cfg.ip_be)) & mask)) {
		/* On-link; the subnet's all-ones broadcast address is not a
		 * neighbour (RFC 919), unless the prefix has no host part. */
		if (mask != ~0u && mask != ~1u && (host & ~mask) == ~mask)
			return -EHOSTUNREACH;
		*hop_be = ip_be;
		return 0;
	}
	if (!arp->cfg.gateway_be)
		return -EHOSTUNREACH;
	*hop_be = arp->cfg.gateway_be;
	return 0;
}

static void add_waiter(struct ftoe_arp *arp, struct ftoe_arp_entry *e, uint32_t ip_be)
{
	if (ip_be == e->ip_be)
		return;
	for (uint8_t i = 0; i < e->nr_waiters; i++)
		if (e->waiters[i] == ip_be)
			return;
	if (e->nr_waiters == FTOE_ARP_MAX_WAITERS) {
		arp->stats.waiters_lost++;
		return;
	}
	e->waiters[e->nr_waiters++] = ip_be;
}

int ftoe_arp_vlan(const struct ftoe_arp *arp, uint32_t ip_be, struct ftoe_vlan *vlan)
{
	const struct ftoe_arp_entry *e = ftoe_arp_find(arp, ip_be);

	if (!e || e->state != FTOE_ARP_REACHABLE)
		return -ENOENT;
	*vlan = e->vlan;
	return 0;
}

int ftoe_arp_lookup(struct ftoe_arp *arp, uint32_t ip_be, uint8_t mac[6], uint64_t now_ns)
{
	struct ftoe_arp_entry *e;
	struct ftoe_vlan vlan;
	uint32_t hop;
	int err;

	memset(&vlan, 0, sizeof(vlan));

	err = ftoe_arp_next_hop(arp, ip_be, &hop);
	if (err)
		return err;
	e = find(arp, hop);
	if (e && e->state == FTOE_ARP_REACHABLE) {
		if (now_ns - e->updated_ns < arp->cfg.expiry_ns) {
			memcpy(mac, e->mac, 6);
			return 0;
		}
		/* Aged out: resolve afresh rather than trust an old MAC,
		 * asking on the VLAN the neighbour was on. */
		arp->stats.expired++;
		vlan = e->vlan;
		e->state = FTOE_ARP_FREE;
		e = NULL;
	}
	if (!e) {
		e = alloc_entry(arp, hop);
		if (!e)
			return -ENOSPC;
		e->state = FTOE_ARP_INCOMPLETE;
		e->sent = 1;
		e->next_ns = now_ns + arp->cfg.retry_ns;
		e->vlan = vlan;
		send_request(arp, hop, &e->vlan);
	}
	add_waiter(arp, e, ip_be);
	return -EAGAIN;
}

uint64_t ftoe_arp_poll(struct ftoe_arp *arp, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	for (unsigned int i = 0; i < FTOE_ARP_CACHE_SIZE; i++) {
		struct ftoe_arp_entry *e = &arp->cache[i];
		uint64_t deadline;

		if (e->state == FTOE_ARP_REACHABLE) {
			deadline = e->updated_ns + arp->cfg.expiry_ns;
			if (now_ns >= deadline) {
				arp->stats.expired++;
				e->state = FTOE_ARP_FREE;
				continue;
			}
		} else if (e->state == FTOE_ARP_INCOMPLETE) {
			if (now_ns >= e->next_ns) {
				if (e->sent >= arp->cfg.tries) {
					/* No answer to cfg.tries requests, one
					 * retry interval apart: give up; a later
					 * lookup starts over. */
					arp->stats.timeouts++;
					e->state = FTOE_ARP_FREE;
					continue;
				}
				e->sent++;
				e->next_ns = now_ns + arp->cfg.retry_ns;
				send_request(arp, e->ip_be, &e->vlan);
			}
			deadline = e->next_ns;
		} else {
			continue;
		}
		if (deadline - now_ns < next)
			next = deadline - now_ns;
	}
	return next;
}
