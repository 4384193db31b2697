/* nd.c - IPv6 neighbour discovery (RFC 4861), neighbour cache and resolver, echo replies (RFC 4443). */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/nd.h"
#include "core/csum.h"
#include "core/segment.h"
#include "core/vlan.h"

#define IP6_HLEN 40
#define ICMP6_HLEN 8
#define ND_HOP_LIMIT 255	/* RFC 4861 7.1.1: ND never crosses a router */
#define ND_MSG_LEN 24		/* NS/NA: header, flags, target */
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define NA_F_SOLICITED 0x40000000u
#define NA_F_OVERRIDE  0x20000000u
#define ECHO_HOP_LIMIT 64
#define ND_FRAME_MAX (FTOE_ETH_HLEN + FTOE_VLAN_MAX_LEN + IP6_HLEN + ND_MSG_LEN + 8)

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };

int ftoe_nd_init(struct ftoe_nd *nd, const struct ftoe_nd_cfg *cfg, const struct ftoe_nd_ops *ops)
{
	static const uint8_t zero[16];

	if (!cfg || !ops || !ops->xmit || !memcmp(cfg->ip6, zero, 16) ||
	    cfg->prefix_len < 1 || cfg->prefix_len > 128 || (cfg->mac[0] & 1))
		return -EINVAL;
	memset(nd, 0, sizeof(*nd));
	nd->cfg = *cfg;
	nd->ops = *ops;
	if (!nd->cfg.expiry_ns)
		nd->cfg.expiry_ns = 30000000000ull;
	if (!nd->cfg.retry_ns)
		nd->cfg.retry_ns = 1000000000ull;
	if (!nd->cfg.tries)
		nd->cfg.tries = 3;
	return 0;
}

static int ours(const struct ftoe_nd *nd, const uint8_t *a)
{
	return !memcmp(a, nd->cfg.ip6, 16);
}

static int on_link(const struct ftoe_nd *nd, const uint8_t *a)
{
	uint32_t bits = nd->cfg.prefix_len, bytes = bits / 8;

	if (memcmp(a, nd->cfg.ip6, bytes))
		return 0;
	if (bits % 8) {
		uint8_t m = (uint8_t)(0xff << (8 - bits % 8));

		return ((a[bytes] ^ nd->cfg.ip6[bytes]) & m) == 0;
	}
	return 1;
}

/* RFC 4291 2.7.1: ff02::1:ffXX:XXXX, the low 24 bits of the address. */
static void solicited_node(const uint8_t *a, uint8_t out[16])
{
	static const uint8_t pfx[13] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };

	memcpy(out, pfx, 13);
	memcpy(out + 13, a + 13, 3);
}

/* RFC 2464 section 7: 33:33 and the low 32 bits of a multicast address. */
static void multicast_mac(const uint8_t *a, uint8_t mac[6])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, a + 12, 4);
}

/* Ethernet (with tags) and IPv6 header of an ICMPv6 message of len bytes
 * already at the returned offset's payload; the checksum is filled in. */
static size_t put_icmp6(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
			const struct ftoe_vlan *vlan, const uint8_t *src, const uint8_t *dst,
			uint8_t hops, uint8_t *msg, uint16_t len)
{
	uint8_t *ip;
	size_t l2;
	uint32_t sum;

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, src_mac, 6);
	l2 = 12 + ftoe_vlan_put(f + 12, vlan, FTOE_ETH_P_IPV6);
	ip = f + l2;
	ftoe_put_be32(ip, 6u << 28);
	ftoe_put_be16(ip + 4, len);
	ip[6] = FTOE_IPPROTO_ICMPV6;
	ip[7] = hops;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	memmove(ip + IP6_HLEN, msg, len);
	ip[IP6_HLEN + 2] = ip[IP6_HLEN + 3] = 0;
	sum = ftoe_csum_pseudo6(src, dst, FTOE_IPPROTO_ICMPV6, len);
	ftoe_put_be16(ip + IP6_HLEN + 2,
		      ftoe_csum_finish(ftoe_csum_add(sum, ip + IP6_HLEN, len)));
	return l2 + IP6_HLEN + len;
}

static void nd_xmit(struct ftoe_nd *nd, const uint8_t *f, size_t len)
{
	if (nd->ops.xmit(nd->ops.ctx, f, len))
		nd->stats.tx_errors++;
}

/* NS (type 135) or NA (136) for target, with our MAC in a link-layer
 * option (source for NS, target for NA). */
static void send_nd(struct ftoe_nd *nd, uint8_t type, uint32_t flags, const uint8_t *target,
		    const uint8_t *dst, const uint8_t dst_mac[6], const struct ftoe_vlan *vlan)
{
	uint8_t f[ND_FRAME_MAX], msg[ND_MSG_LEN + 8];

	memset(msg, 0, sizeof(msg));
	msg[0] = type;
	ftoe_put_be32(msg + 4, flags);
	memcpy(msg + 8, target, 16);
	msg[24] = type == FTOE_ICMP6_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
	msg[25] = 1;	/* in units of 8 bytes */
	memcpy(msg + 26, nd->cfg.mac, 6);
	nd_xmit(nd, f, put_icmp6(f, dst_mac, nd->cfg.mac, vlan, nd->cfg.ip6, dst, ND_HOP_LIMIT,
				 msg, sizeof(msg)));
}

static void send_ns(struct ftoe_nd *nd, const uint8_t *target, const struct ftoe_vlan *vlan)
{
	uint8_t dst[16], mac[6];

	solicited_node(target, dst);
	multicast_mac(dst, mac);
	send_nd(nd, FTOE_ICMP6_NS, 0, target, dst, mac, vlan);
	nd->stats.ns_sent++;
}

static struct ftoe_nd_entry *find(struct ftoe_nd *nd, const uint8_t *a)
{
	for (unsigned i = 0; i < FTOE_ND_CACHE_SIZE; i++)
		if (nd->cache[i].state != FTOE_ND_FREE && !memcmp(nd->cache[i].ip6, a, 16))
			return &nd->cache[i];
	return NULL;
}

const struct ftoe_nd_entry *ftoe_nd_find(const struct ftoe_nd *nd, const uint8_t ip6[16])
{
	return find((struct ftoe_nd *)nd, ip6);
}

/* A free entry, or the reachable one confirmed longest ago; NULL when
 * every entry is resolving. */
static struct ftoe_nd_entry *alloc_entry(struct ftoe_nd *nd)
{
	struct ftoe_nd_entry *old = NULL;

	for (unsigned i = 0; i < FTOE_ND_CACHE_SIZE; i++) {
		struct ftoe_nd_entry *e = &nd->cache[i];

		if (e->state == FTOE_ND_FREE)
			return e;
		if (e->state == FTOE_ND_REACHABLE && (!old || e->updated_ns < old->updated_ns))
			old = e;
	}
	if (old)
		nd->stats.evictions++;
	return old;
}

/* Record a neighbour's MAC; create says whether a new entry may be made
 * (RFC 4861 7.2.5: an NA never creates one). */
static void learn(struct ftoe_nd *nd, const uint8_t *a, const uint8_t *mac,
		  const struct ftoe_vlan *vlan, uint64_t now, int create)
{
	struct ftoe_nd_entry *e = find(nd, a);
	int was_incomplete;

	if (!e) {
		if (!create || !(e = alloc_entry(nd)))
			return;
		memset(e, 0, sizeof(*e));
		memcpy(e->ip6, a, 16);
	}
	was_incomplete = e->state == FTOE_ND_INCOMPLETE;
	memcpy(e->mac, mac, 6);
	e->state = FTOE_ND_REACHABLE;
	e->updated_ns = now;
	memset(&e->vlan, 0, sizeof(e->vlan));
	if (vlan)
		e->vlan = *vlan;
	if (was_incomplete) {
		nd->stats.resolved++;
		if (nd->ops.resolved)
			nd->ops.resolved(nd->ops.ctx, a);
	}
}

/* RFC 4861 4.6: options of len units of 8 bytes, none of length 0.  The
 * link-layer option of type want, or NULL. */
static int nd_options(const uint8_t *o, size_t len, uint8_t want, const uint8_t **lla)
{
	*lla = NULL;
	while (len) {
		size_t olen;

		if (len < 2 || o[1] == 0 || (olen = (size_t)o[1] * 8) > len)
			return -EINVAL;
		if (o[0] == want && olen >= 8)
			*lla = o + 2;
		o += olen;
		len -= olen;
	}
	return 0;
}

static int rx_ns(struct ftoe_nd *nd, const uint8_t *ip, const uint8_t *m, size_t mlen,
		 const uint8_t *eth_src, const struct ftoe_vlan *vlan, uint64_t now)
{
	static const uint8_t unspec[16];
	const uint8_t *src = ip + 8, *target = m + 8, *lla;
	int dad = !memcmp(src, unspec, 16);

	if (nd_options(m + ND_MSG_LEN, mlen - ND_MSG_LEN, ND_OPT_SLLA, &lla) ||
	    (dad && lla)) {
		nd->stats.rx_malformed++;
		return -EINVAL;
	}
	nd->stats.ns_rx++;
	if (!ours(nd, target)) {
		nd->stats.not_ours++;
		return -EOPNOTSUPP;
	}
	if (dad) {
		/* RFC 4862 5.4.3: someone tests our address; the NA to all
		 * nodes tells it the address is taken. */
		uint8_t mac[6];

		multicast_mac(all_nodes, mac);
		send_nd(nd, FTOE_ICMP6_NA, NA_F_OVERRIDE, target, all_nodes, mac, vlan);
		nd->stats.dad_answered++;
		nd->stats.na_sent++;
		return 0;
	}
	if (lla)
		learn(nd, src, lla, vlan, now, 1);
	send_nd(nd, FTOE_ICMP6_NA, NA_F_SOLICITED | NA_F_OVERRIDE, target, src,
		lla ? lla : eth_src, vlan);
	nd->stats.na_sent++;
	return 0;
}

static int rx_na(struct ftoe_nd *nd, const uint8_t *m, size_t mlen, const uint8_t *eth_src,
		 const struct ftoe_vlan *vlan, uint64_t now)
{
	const uint8_t *target = m + 8, *lla;

	if (nd_options(m + ND_MSG_LEN, mlen - ND_MSG_LEN, ND_OPT_TLLA, &lla)) {
		nd->stats.rx_malformed++;
		return -EINVAL;
	}
	nd->stats.na_rx++;
	if (ours(nd, target)) {
		nd->stats.not_ours++;	/* another host claims our address */
		return -EOPNOTSUPP;
	}
	learn(nd, target, lla ? lla : eth_src, vlan, now, 0);
	return 0;
}

/* RFC 4443 4.2: the reply carries the request's identifier, sequence
 * number and data, from the address the request was sent to. */
static int rx_echo(struct ftoe_nd *nd, const uint8_t *f, const uint8_t *ip, const uint8_t *m,
		   size_t mlen, const struct ftoe_vlan *vlan)
{
	uint8_t out[FTOE_ETH_HLEN + FTOE_VLAN_MAX_LEN + IP6_HLEN + 1500];
	uint8_t src[16], dst[16], *msg;
	size_t l2 = 12 + 2 + ftoe_vlan_len(vlan);

	if (!ours(nd, ip + 24) || (ip[8] == 0xff)) {
		nd->stats.not_ours++;	/* multicast echo, or a source we cannot answer */
		return -EOPNOTSUPP;
	}
	if (mlen > sizeof(out) - l2 - IP6_HLEN) {
		nd->stats.rx_malformed++;
		return -EINVAL;
	}
	memcpy(src, ip + 24, 16);
	memcpy(dst, ip + 8, 16);
	msg = out + l2 + IP6_HLEN;
	memcpy(msg, m, mlen);
	msg[0] = FTOE_ICMP6_ECHO_REPLY;
	nd_xmit(nd, out, put_icmp6(out, f + 6, nd->cfg.mac, vlan, src, dst, ECHO_HOP_LIMIT, msg,
				   (uint16_t)mlen));
	nd->stats.echo_replies++;
	return 0;
}

int ftoe_nd_rx(struct ftoe_nd *nd, const void *frame, size_t len, const struct ftoe_vlan *vlan,
	       uint64_t now_ns)
{
	const uint8_t *f = frame, *ip = f + FTOE_ETH_HLEN, *m;
	uint32_t plen;

	nd->stats.rx++;
	/* RFC 8200 3 and RFC 4443 2.3: the header, no extension headers
	 * (the steering program and the engine send those elsewhere), a
	 * payload the frame holds and a correct checksum. */
	if (len < FTOE_ETH_HLEN + IP6_HLEN + ICMP6_HLEN ||
	    ftoe_get_be16(f + 12) != FTOE_ETH_P_IPV6 || (ip[0] >> 4) != 6 ||
	    ip[6] != FTOE_IPPROTO_ICMPV6) {
		nd->stats.rx_malformed++;
		return -EINVAL;
	}
	plen = ftoe_get_be16(ip + 4);
	if (plen < ICMP6_HLEN || plen > len - FTOE_ETH_HLEN - IP6_HLEN ||
	    ftoe_csum_finish(ftoe_csum_add(ftoe_csum_pseudo6(ip + 8, ip + 24,
							     FTOE_IPPROTO_ICMPV6, plen),
					   ip + IP6_HLEN, plen)) != 0) {
		nd->stats.rx_malformed++;
		return -EINVAL;
	}
	m = ip + IP6_HLEN;
	switch (m[0]) {
	case FTOE_ICMP6_ECHO_REQUEST:
		return rx_echo(nd, f, ip, m, plen, vlan);
	case FTOE_ICMP6_NS:
	case FTOE_ICMP6_NA:
		/* RFC 4861 7.1.1 / 7.1.2 */
		if (ip[7] != ND_HOP_LIMIT || m[1] != 0 || plen < ND_MSG_LEN || m[8] == 0xff) {
			nd->stats.rx_malformed++;
			return -EINVAL;
		}
		return m[0] == FTOE_ICMP6_NS ? rx_ns(nd, ip, m, plen, f + 6, vlan, now_ns) :
					       rx_na(nd, m, plen, f + 6, vlan, now_ns);
	default:
		nd->stats.not_ours++;
		return -EOPNOTSUPP;
	}
}

int ftoe_nd_lookup(struct ftoe_nd *nd, const uint8_t ip6[16], uint8_t mac[6], uint64_t now_ns)
{
	struct ftoe_nd_entry *e;

	if (ip6[0] == 0xff || ours(nd, ip6) || !on_link(nd, ip6))
		return -EHOSTUNREACH;
	e = find(nd, ip6);
	if (e && e->state == FTOE_ND_REACHABLE && now_ns - e->updated_ns < nd->cfg.expiry_ns) {
		memcpy(mac, e->mac, 6);
		return 0;
	}
	if (e && e->state == FTOE_ND_INCOMPLETE)
		return -EAGAIN;
	if (!e) {
		e = alloc_entry(nd);
		if (!e)
			return -ENOSPC;
		memset(e, 0, sizeof(*e));
		memcpy(e->ip6, ip6, 16);
	}
	/* new, or expired: ask again, on the VLAN it had */
	e->state = FTOE_ND_INCOMPLETE;
	e->sent = 1;
	e->next_ns = now_ns + nd->cfg.retry_ns;
	send_ns(nd, ip6, &e->vlan);
	return -EAGAIN;
}

int ftoe_nd_vlan(const struct ftoe_nd *nd, const uint8_t ip6[16], struct ftoe_vlan *vlan)
{
	const struct ftoe_nd_entry *e = ftoe_nd_find(nd, ip6);

	if (!e || e->state != FTOE_ND_REACHABLE)
		return -ENOENT;
	*vlan = e->vlan;
	return 0;
}

uint64_t ftoe_nd_poll(struct ftoe_nd *nd, uint64_t now_ns)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < FTOE_ND_CACHE_SIZE; i++) {
		struct ftoe_nd_entry *e = &nd->cache[i];
		uint64_t due;

		if (e->state == FTOE_ND_REACHABLE) {
			due = e->updated_ns + nd->cfg.expiry_ns;
			if (now_ns >= due) {
				e->state = FTOE_ND_FREE;
				nd->stats.expired++;
				continue;
			}
		} else if (e->state == FTOE_ND_INCOMPLETE) {
			if (now_ns >= e->next_ns) {
				if (e->sent >= nd->cfg.tries) {
					e->state = FTOE_ND_FREE;
					nd->stats.timeouts++;
					continue;
				}
				e->sent++;
				e->next_ns = now_ns + nd->cfg.retry_ns;
				send_ns(nd, e->ip6, &e->vlan);
			}
			due = e->next_ns;
		} else {
			continue;
		}
		if (due - now_ns < next)
			next = due - now_ns;
	}
	return next;
}
