/* icmp.c - ICMP echo responder (RFC 792, RFC 1122 section 3.2.2.6). */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/icmp.h"
#include "core/csum.h"
#include "core/segment.h"

#define IP_HLEN_MIN 20
#define ICMP_HLEN   8
#define IP_MF       0x2000
#define IP_OFFMASK  0x1fff

int ftoe_icmp_init(struct ftoe_icmp *icmp, const struct ftoe_icmp_cfg *cfg,
		   const struct ftoe_icmp_ops *ops)
{
	if (!cfg || !ops || !ops->xmit || !cfg->ip_be || (cfg->mac[0] & 1))
		return -EINVAL;
	memset(icmp, 0, sizeof(*icmp));
	icmp->cfg = *cfg;
	icmp->ops = *ops;
	if (!icmp->cfg.ttl)
		icmp->cfg.ttl = 64;
	return 0;
}

/* RFC 1122 section 3.2.2: never answer a datagram whose source is not a
 * single host: 0/8, loopback, multicast, class E, limited broadcast. */
static int bad_source(const uint8_t *saddr, uint32_t ours_be)
{
	uint32_t s;

	memcpy(&s, saddr, 4);
	return saddr[0] == 0 || saddr[0] == 127 || saddr[0] >= 224 || s == ours_be;
}

int ftoe_icmp_rx(struct ftoe_icmp *icmp, void *frame, size_t len)
{
	return ftoe_icmp_rx_vlan(icmp, frame, len, NULL);
}

int ftoe_icmp_rx_vlan(struct ftoe_icmp *icmp, void *frame, size_t len,
		      const struct ftoe_vlan *vlan)
{
	uint8_t *f = frame, *ip = f + FTOE_ETH_HLEN, *msg, *out, *l2;
	unsigned vlen = ftoe_vlan_len(vlan);
	uint16_t tot_len, frag, icmp_len;
	uint8_t saddr[4], mac[6];
	uint32_t daddr;
	unsigned int ihl;
	int err;

	icmp->stats.rx++;
	if (len < FTOE_ETH_HLEN + IP_HLEN_MIN) {
		icmp->stats.truncated++;
		return -EINVAL;
	}
	if (ftoe_get_be16(f + 12) != FTOE_ETH_P_IPV4 || (ip[0] >> 4) != 4 ||
	    ip[9] != FTOE_IPPROTO_ICMP) {
		icmp->stats.bad_ip++;
		return -EINVAL;
	}
	ihl = (ip[0] & 0xf) * 4u;
	tot_len = ftoe_get_be16(ip + 2);
	if (ihl < IP_HLEN_MIN || tot_len < ihl) {
		icmp->stats.bad_ip++;
		return -EINVAL;
	}
	/* Lengths come from the IP header: the frame may carry Ethernet
	 * padding, but must hold the whole datagram. */
	if (tot_len > len - FTOE_ETH_HLEN || tot_len < ihl + ICMP_HLEN) {
		icmp->stats.truncated++;
		return -EINVAL;
	}
	if (ftoe_csum(ip, ihl) != 0) {
		icmp->stats.bad_csum++;
		return -EINVAL;
	}
	frag = ftoe_get_be16(ip + 6);
	if (frag & (IP_MF | IP_OFFMASK)) {
		/* We do not reassemble; large pings are not answered. */
		icmp->stats.fragments++;
		return -EOPNOTSUPP;
	}
	memcpy(&daddr, ip + 16, 4);
	if (daddr != icmp->cfg.ip_be || bad_source(ip + 12, icmp->cfg.ip_be)) {
		icmp->stats.bad_addr++;
		return -EOPNOTSUPP;
	}
	msg = ip + ihl;
	icmp_len = (uint16_t)(tot_len - ihl);
	if (ftoe_csum(msg, icmp_len) != 0) {
		icmp->stats.bad_csum++;
		return -EINVAL;
	}
	if (msg[0] != FTOE_ICMP_ECHO_REQUEST || msg[1] != 0) {
		icmp->stats.not_echo++;
		return -EOPNOTSUPP;
	}

	/* Build the reply in place.  Ethernet: back to the sender's MAC (the
	 * previous hop, which is also the right next hop for the reply). */
	memcpy(mac, f + 6, 6);
	memcpy(f, mac, 6);
	memcpy(f + 6, icmp->cfg.mac, 6);
	memcpy(saddr, ip + 12, 4);

	/* ICMP: type 8 -> 0, identifier, sequence and data unchanged (RFC
	 * 792); the checksum follows by RFC 1624 from the changed word.
	 * IP options (record route, timestamp) are not echoed: RFC 1122
	 * 3.2.2.6 makes that a SHOULD, and we send a plain 20-byte header, so
	 * the message moves up when the request had options. */
	msg[0] = FTOE_ICMP_ECHO_REPLY;
	ftoe_put_be16(msg + 2, ftoe_csum_update16(ftoe_get_be16(msg + 2),
						  FTOE_ICMP_ECHO_REQUEST << 8,
						  FTOE_ICMP_ECHO_REPLY << 8));
	out = ip + IP_HLEN_MIN;
	if (ihl != IP_HLEN_MIN)
		for (uint16_t i = 0; i < icmp_len; i++) /* dst < src: forward copy is safe */
			out[i] = msg[i];

	ip[0] = 0x45;
	/* ip[1] (DSCP/ECN) kept: the reply keeps the request's TOS, as Linux does. */
	ftoe_put_be16(ip + 2, (uint16_t)(IP_HLEN_MIN + icmp_len));
	ftoe_put_be16(ip + 4, icmp->ip_id++);
	ftoe_put_be16(ip + 6, 0);
	ip[8] = icmp->cfg.ttl;
	ip[9] = FTOE_IPPROTO_ICMP;
	ftoe_put_be16(ip + 10, 0);
	memcpy(ip + 12, &icmp->cfg.ip_be, 4);
	memcpy(ip + 16, saddr, 4);
	ftoe_put_be16(ip + 10, ftoe_csum(ip, IP_HLEN_MIN));

	/* Back on the request's VLAN (IEEE 802.1Q: the tags go between the
	 * source MAC and the ethertype): the MACs move in front of the frame. */
	l2 = f;
	if (vlen) {
		l2 = f - vlen;
		memmove(l2, f, 12);
		ftoe_vlan_put(l2 + 12, vlan, FTOE_ETH_P_IPV4);
	}
	err = icmp->ops.xmit(icmp->ops.ctx, l2, vlen + FTOE_ETH_HLEN + IP_HLEN_MIN + icmp_len);
	if (err) {
		icmp->stats.tx_errors++;
		return err;
	}
	icmp->stats.echo_replies++;
	return 0;
}
