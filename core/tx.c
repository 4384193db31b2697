/* tx.c - segment building (Ethernet/IPv4 or IPv6/TCP headers, payload, checksums) and transmission. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/csum.h"
#include "core/engine_internal.h"
#include "core/hooks.h"
#include "core/md_snapshot.h"
#include "core/pipeline.h"

#define IP_DF 0x4000
#define IP_TTL 64

void ftoe_tx_addr_flow(struct ftoe_engine *e, uint32_t id, struct ftoe_tx_addr *a)
{
	const struct flow_conn *c = &e->conn[id];

	memcpy(a->src_mac, c->local_mac, 6);
	memcpy(a->dst_mac, c->remote_mac, 6);
	a->saddr = c->local_ip;
	a->daddr = c->remote_ip;
	a->sport = c->local_port;
	a->dport = c->remote_port;
	a->family = 4;
	if (c->flags & FLOW_CONN_IPV6) {
		a->family = 6;
		memcpy(a->shi, c->local_hi, sizeof(a->shi));
		memcpy(a->dhi, c->remote_hi, sizeof(a->dhi));
	}
	/* The peer's VLAN, recorded at connection setup (conn.c). */
	a->vlan.flags = 0;
	a->vlan.tci = c->vlan_tci;
	a->vlan.stci = c->svlan_tci;
	if (c->flags & FLOW_CONN_VLAN)
		a->vlan.flags |= FTOE_VLAN_C;
	if (c->flags & FLOW_CONN_SVLAN)
		a->vlan.flags |= FTOE_VLAN_S;
}

void ftoe_tx_addr_key(struct ftoe_engine *e, const struct ftoe_flow_key *k,
		      const uint8_t mac[6], const struct ftoe_vlan *v, struct ftoe_tx_addr *a)
{
	memcpy(a->src_mac, e->cfg.mac, 6);
	memcpy(a->dst_mac, mac, 6);
	a->saddr = k->laddr;
	a->daddr = k->raddr;
	a->sport = k->lport;
	a->dport = k->rport;
	a->vlan = *v;
	a->family = 4;
	if (ftoe_flow_key_is_v6(k)) {
		a->family = 6;
		memcpy(a->shi, k->lhi, sizeof(a->shi));
		memcpy(a->dhi, k->rhi, sizeof(a->dhi));
	}
}

/* Copy len bytes starting at ring position pos (wrapping) to dst. */
static void ring_copy_out(uint8_t *dst, const uint8_t *ring, uint32_t size,
			  uint32_t pos, uint32_t len)
{
	uint32_t off = pos & (size - 1), first = size - off;

	if (first > len)
		first = len;
	memcpy(dst, ring + off, first);
	if (len > first)
		memcpy(dst + first, ring, len - first);
}

/* TCP options (RFC 9293 3.2, RFC 7323 2.2/3.2, RFC 2018 2/3): 4-byte
 * aligned with NOPs.  At most MSS 4 + WS 4 + SACKP 4 + TS 12 (SYN), or
 * TS 12 + 3 SACK blocks 28, or 4 SACK blocks 36 (ACK): within the 40
 * bytes (ftoe_proto_ack sizes nsack for that). */
static uint32_t put_options(uint8_t *o, const struct ftoe_tx_item *it)
{
	uint32_t n = 0;

	if (it->opts & FTOE_TX_O_SYN) {
		o[n++] = FTOE_TCPOPT_MSS;
		o[n++] = 4;
		ftoe_put_be16(o + n, it->mss);
		n += 2;
		if (it->opts & FTOE_TX_O_WS) {
			o[n++] = FTOE_TCPOPT_NOP;
			o[n++] = FTOE_TCPOPT_WS;
			o[n++] = 3;
			o[n++] = it->wscale;
		}
		if (it->opts & FTOE_TX_O_SACKP) {
			o[n++] = FTOE_TCPOPT_NOP;
			o[n++] = FTOE_TCPOPT_NOP;
			o[n++] = FTOE_TCPOPT_SACKP;
			o[n++] = 2;
		}
	}
	if (it->opts & FTOE_TX_O_TS) {
		o[n++] = FTOE_TCPOPT_NOP;
		o[n++] = FTOE_TCPOPT_NOP;
		o[n++] = FTOE_TCPOPT_TS;
		o[n++] = 10;
		ftoe_put_be32(o + n, it->ts_val);
		ftoe_put_be32(o + n + 4, it->ts_ecr);
		n += 8;
	}
	if ((it->opts & FTOE_TX_O_SACK) && it->nsack) {
		unsigned nb = it->nsack > FTOE_TX_SACK_MAX ? FTOE_TX_SACK_MAX : it->nsack;

		if ((it->opts & FTOE_TX_O_TS) && nb > 3)
			nb = 3;
		o[n++] = FTOE_TCPOPT_NOP;
		o[n++] = FTOE_TCPOPT_NOP;
		o[n++] = FTOE_TCPOPT_SACK;
		o[n++] = (uint8_t)(2 + 8 * nb);
		for (unsigned i = 0; i < nb; i++, n += 8) {
			ftoe_put_be32(o + n, it->sack[i].start);
			ftoe_put_be32(o + n + 4, it->sack[i].end);
		}
	}
	return n;
}

/* The tx-post hook's snapshot of segment it (docs/design.md section 4).  The
 * protocol stage builds a whole batch before it is sent, so the flow's
 * snd_nxt may already be past later segments of the batch: a segment that
 * occupies sequence space reports the snd_nxt it left behind (its end,
 * RFC 9293 3.4: SYN and FIN count one), as if sent on its own; a pure ACK
 * or probe reports the flow's snd_nxt.  -ENOENT for a segment of no flow
 * (a RST answering an unknown one). */
static int tx_md(struct ftoe_engine *e, const struct ftoe_tx_item *it, struct flextoe_md *md)
{
	uint32_t span = it->len + ((it->tcp_flags & FTOE_TCP_SYN) ? 1 : 0) +
			((it->tcp_flags & FTOE_TCP_FIN) ? 1 : 0);

	if (ftoe_md_snapshot(e, it->flow, FLEXTOE_HOOK_TX_POST, md))
		return -ENOENT;
	if (span && !(it->tcp_flags & FTOE_TCP_RST))
		md->snd_nxt = it->seq + span;
	if (it->retx)
		md->flags |= FLEXTOE_MDF_RETRANSMIT;
	return 0;
}

/* Hand the frame to the backend; with the flow's snapshot only while the
 * tx-post hook has programs, so the data path pays one check otherwise. */
static int tx_xmit(struct ftoe_engine *e, const struct ftoe_tx_item *it,
		   const uint8_t *f, size_t len)
{
	struct flextoe_md md;

	if (e->io.xmit_md && e->cfg.hooks &&
	    ftoe_hooks_active(e->cfg.hooks, FLEXTOE_HOOK_TX_POST) && !tx_md(e, it, &md))
		return e->io.xmit_md(e->io.ctx, 0, f, len, &md);
	return e->io.xmit(e->io.ctx, 0, f, len);
}

/* RFC 791 header; ECN codepoint in the low two bits of TOS (RFC 3168).
 * Returns the TCP checksum's pseudo-header sum in native-order words
 * (core/csum.h). */
static uint64_t put_ipv4(struct ftoe_engine *e, uint8_t *ip, const struct ftoe_tx_addr *a,
			 const struct ftoe_tx_item *it, uint32_t iplen)
{
	ip[0] = 0x45;
	ip[1] = it->ecn & 3;
	ftoe_put_be16(ip + 2, (uint16_t)iplen);
	ftoe_put_be16(ip + 4, e->ip_id++);
	ftoe_put_be16(ip + 6, IP_DF);
	ip[8] = IP_TTL;
	ip[9] = FTOE_IPPROTO_TCP;
	ftoe_put_be16(ip + 10, 0);
	ftoe_put_be32(ip + 12, a->saddr);
	ftoe_put_be32(ip + 16, a->daddr);
	ftoe_put_be16(ip + 10, ftoe_csum20(ip));
	return ftoe_csum_pseudo4_native(ip + 12, ip + 16, FTOE_IPPROTO_TCP, (uint16_t)(iplen - 20));
}

/* RFC 8200 section 3: version 6, traffic class (ECN in its low two bits,
 * RFC 3168 section 5), flow label 0, no extension headers; hop limit as
 * IPv4's TTL.  RFC 8200 8.1: the TCP checksum's pseudo-header is the
 * IPv6 one. */
static uint64_t put_ipv6(uint8_t *ip, const struct ftoe_tx_addr *a,
			 const struct ftoe_tx_item *it, uint32_t plen)
{
	ftoe_put_be32(ip, 6u << 28 | (uint32_t)(it->ecn & 3) << 20);
	ftoe_put_be16(ip + 4, (uint16_t)plen);
	ip[6] = FTOE_IPPROTO_TCP;
	ip[7] = IP_TTL;
	memcpy(ip + 8, a->shi, 12);
	ftoe_put_be32(ip + 20, a->saddr);
	memcpy(ip + 24, a->dhi, 12);
	ftoe_put_be32(ip + 36, a->daddr);
	return ftoe_csum_to_native(ftoe_csum_pseudo6(ip + 8, ip + 24, FTOE_IPPROTO_TCP, plen));
}

int ftoe_tx_send(struct ftoe_engine *e, const struct ftoe_tx_addr *a,
		 const struct ftoe_tx_item *it)
{
	uint8_t *f = e->frame, *ip, *th;
	uint32_t optlen, thlen, iplen, l2len;
	uint64_t sum;
	uint32_t iphlen = a->family == 6 ? 40 : 20;
	uint16_t etype = a->family == 6 ? FTOE_ETH_P_IPV6 : FTOE_ETH_P_IPV4;
	int err;

	/* IEEE 802.1Q: the tags sit between the source MAC and the
	 * ethertype; they lengthen the frame, not the IP packet, so the MTU
	 * (an IP packet size) still bounds iplen and the buffer has room
	 * for two tags beyond it (engine.c). */
	memcpy(f, a->dst_mac, 6);
	memcpy(f + 6, a->src_mac, 6);
	if (a->vlan.flags) {
		l2len = 12 + ftoe_vlan_put(f + 12, &a->vlan, etype);
	} else {
		ftoe_put_be16(f + 12, etype);
		l2len = FTOE_ETH_HLEN;
	}
	ip = f + l2len;
	th = ip + iphlen;

	optlen = put_options(th + 20, it);
	thlen = 20 + optlen;
	iplen = iphlen + thlen + it->len;
	if (iplen > e->cfg.mtu || l2len + iplen > e->frame_size)
		return -EMSGSIZE; /* a bug: segment sizes come from the MSS */

	if (a->family == 6)
		sum = put_ipv6(ip, a, it, thlen + it->len);
	else
		sum = put_ipv4(e, ip, a, it, iplen);

	ftoe_put_be16(th, a->sport);
	ftoe_put_be16(th + 2, a->dport);
	ftoe_put_be32(th + 4, it->seq);
	ftoe_put_be32(th + 8, it->ack);
	th[12] = (uint8_t)((thlen / 4) << 4);
	th[13] = it->tcp_flags;
	ftoe_put_be16(th + 14, it->win);
	ftoe_put_be16(th + 16, 0);
	ftoe_put_be16(th + 18, 0);
	if (it->len)
		ring_copy_out(th + thlen, flow_tx_ring(e, it->flow),
			      e->mem[it->flow].tx_size, it->tx_pos, it->len);

	if (it->len)
		sum = ftoe_csum_add_native(sum, th, thlen + it->len);
	else if (thlen == 32)	/* a pure ACK with timestamps: written out */
		sum = ftoe_csum_words_native(sum, th, 32);
	else
		sum = ftoe_csum_words_native(sum, th, thlen);
	ftoe_put_be16(th + 16, (uint16_t)~sum);

	err = tx_xmit(e, it, f, l2len + iplen);
	if (err) {
		e->st.tx_ring_full++;
		return err;
	}
	e->st.tx_frames++;
	e->st.tx_bytes += it->len;
	if (it->retx && it->len) {
		e->st.retransmits++;
		e->cc[it->flow].retrans_total++;
	}
	if (it->tcp_flags & FTOE_TCP_RST)
		e->st.tx_rst++;
	else if (!it->len && !(it->tcp_flags & (FTOE_TCP_SYN | FTOE_TCP_FIN)))
		e->st.tx_acks++;
	return 0;
}

void ftoe_tx_batch(struct ftoe_engine *e, struct ftoe_tx_item *items, unsigned n)
{
	struct ftoe_tx_addr a;
	unsigned i;

	for (i = 0; i < n; i++) {
		ftoe_tx_addr_flow(e, items[i].flow, &a);
		if (ftoe_tx_send(e, &a, &items[i]))
			break;
	}
	/* Ring full: give back the sequence space of what was not sent,
	 * newest first, so snd_nxt returns to the first unsent byte. */
	while (n > i) {
		n--;
		ftoe_proto_tx_undo(e, &items[n]);
	}
}
