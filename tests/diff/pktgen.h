/* pktgen.h - seeded generator of Ethernet frames (valid, truncated, corrupted, random) for differential tests and benchmarks. */
#ifndef FTOE_TESTS_DIFF_PKTGEN_H
#define FTOE_TESTS_DIFF_PKTGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

/* The kernel's XDP test_run copies at most PAGE_SIZE - headroom (256) -
 * SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) (320) = 3520 bytes of
 * data (net/bpf/test_run.c: bpf_prog_test_run_xdp), and refuses less than
 * ETH_HLEN (bpf_test_init). */
#define PG_MAX_LEN	3520u
#define PG_ETH_HLEN	14u
#define PG_MAX_CUTS	48

/* ---- PRNG: splitmix64 (Steele et al.), tiny and fully reproducible ---- */
struct pg_rng {
	uint64_t s;
};

static inline uint64_t pg_next(struct pg_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static inline uint32_t pg_below(struct pg_rng *r, uint32_t n)
{
	return n ? (uint32_t)(pg_next(r) % n) : 0;
}

static inline bool pg_chance(struct pg_rng *r, uint32_t percent)
{
	return pg_below(r, 100) < percent;
}

static inline void pg_fill(struct pg_rng *r, uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)pg_next(r);
}

/* ---- address pools ------------------------------------------------------
 * The first PG_*_HITS entries of each pool are the ones the map
 * configurations (mapcfg.h) write into the filter maps, so frames built
 * from the pools hit and miss them about equally often. */
#define PG_MAC_HITS	3
static const uint8_t pg_macs[][6] = {
	{ 0x02, 0, 0, 0, 0, 0x01 }, { 0x02, 0, 0, 0, 0, 0x02 }, { 0x02, 0, 0, 0, 0, 0x03 },
	{ 0x02, 0, 0, 0, 0, 0x10 }, { 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f },
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
};
#define PG_NR_MACS (sizeof(pg_macs) / sizeof(pg_macs[0]))

#define PG_IPV4_HITS	3
static const uint8_t pg_ipv4[][4] = {
	{ 10, 0, 0, 1 }, { 192, 168, 1, 1 }, { 10, 1, 2, 3 },
	{ 10, 0, 0, 2 }, { 172, 16, 5, 4 }, { 8, 8, 8, 8 }, { 192, 168, 1, 77 },
	{ 100, 64, 3, 9 },
};
#define PG_NR_IPV4 (sizeof(pg_ipv4) / sizeof(pg_ipv4[0]))

#define PG_IPV6_HITS	3
static const uint8_t pg_ipv6[][16] = {
	{ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 },
	{ 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42 },
	{ 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 },
	{ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02 },
	{ 0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42 },
	{ 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0, 0, 0x01 },
};
#define PG_NR_IPV6 (sizeof(pg_ipv6) / sizeof(pg_ipv6[0]))

#define PG_PORT_HITS	6
static const uint16_t pg_ports[] = { 80, 22, 53, 443, 8080, 123,
				     1234, 5000, 65535, 0, 8081, 33000 };
#define PG_NR_PORTS (sizeof(pg_ports) / sizeof(pg_ports[0]))

/* Flows the firewall configuration lists exactly (5-tuple hits). */
struct pg_flow {
	uint8_t saddr[4], daddr[4];
	uint16_t sport, dport;	/* host order */
	uint8_t proto;
	uint8_t drop;		/* verdict configured for it */
};
static const struct pg_flow pg_flows[] = {
	{ { 192, 168, 1, 1 }, { 10, 0, 0, 1 }, 1234, 80, 6, 0 },
	{ { 10, 0, 0, 2 }, { 8, 8, 8, 8 }, 5000, 53, 17, 0 },
	{ { 10, 1, 2, 3 }, { 10, 0, 0, 1 }, 22, 22, 6, 1 },
	{ { 172, 16, 5, 4 }, { 192, 168, 1, 77 }, 33000, 443, 6, 1 },
	{ { 8, 8, 8, 8 }, { 100, 64, 3, 9 }, 123, 123, 17, 1 },
};
#define PG_NR_FLOWS (sizeof(pg_flows) / sizeof(pg_flows[0]))

/* ---- frames ---------------------------------------------------------- */
struct pg_frame {
	uint8_t buf[PG_MAX_LEN];
	uint32_t len;
	/* Offsets where a header or option ends or begins: truncating
	 * there (+-1) exercises every bounds check of a parser. */
	uint32_t cuts[PG_MAX_CUTS];
	uint32_t nr_cuts;
	char desc[128];
};

static inline void pg_cut(struct pg_frame *f, uint32_t off)
{
	if (f->nr_cuts < PG_MAX_CUTS)
		f->cuts[f->nr_cuts++] = off;
}

static inline void pg_desc(struct pg_frame *f, const char *s)
{
	size_t n = strlen(f->desc);

	snprintf(f->desc + n, sizeof(f->desc) - n, "%s%s", n ? " " : "", s);
}

static inline void pg_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = (uint8_t)v;
}

/* RFC 1071 one's complement sum over an IPv4 header. */
static inline uint16_t pg_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

enum pg_l3 { PG_L3_IPV4, PG_L3_IPV6, PG_L3_ARP, PG_L3_OTHER };
enum pg_l4 { PG_L4_TCP, PG_L4_UDP, PG_L4_ICMP, PG_L4_OTHER };

/* What one well-formed frame looks like; pg_shape_random() picks one. */
struct pg_shape {
	int vlans;		/* 0..3 tags (3 is deeper than most parsers go) */
	bool outer_8021ad;	/* first tag 0x88a8 rather than 0x8100 */
	enum pg_l3 l3;
	enum pg_l4 l4;
	int ip_opt_words;	/* IPv4 options, 32-bit words (0..10) */
	int ip6_ext;		/* IPv6 extension headers before L4 (0..3) */
	int tcp_opt_words;	/* TCP options, 32-bit words (0..10) */
	bool fragment;		/* IPv4 non-first fragment / IPv6 frag hdr */
	int icmp6_type;		/* 128 echo, 135 NS, 136 NA */
	uint32_t payload;
	const uint8_t *smac, *dmac;
	const uint8_t *s4, *d4, *s6, *d6;
	uint16_t sport, dport;
};

static inline const uint8_t *pg_pick_mac(struct pg_rng *r)
{
	return pg_macs[pg_below(r, PG_NR_MACS)];
}

static inline uint32_t pg_payload_len(struct pg_rng *r)
{
	uint32_t p = pg_below(r, 100);

	if (p < 55)
		return pg_below(r, 65);
	if (p < 85)
		return 65 + pg_below(r, 1436);
	return pg_below(r, PG_MAX_LEN);
}

static inline void pg_shape_random(struct pg_rng *r, struct pg_shape *s)
{
	uint32_t p;

	memset(s, 0, sizeof(*s));
	p = pg_below(r, 100);
	s->vlans = p < 60 ? 0 : p < 80 ? 1 : p < 95 ? 2 : 3;
	s->outer_8021ad = pg_chance(r, 50);
	p = pg_below(r, 100);
	s->l3 = p < 50 ? PG_L3_IPV4 : p < 85 ? PG_L3_IPV6 : p < 93 ? PG_L3_ARP : PG_L3_OTHER;
	p = pg_below(r, 100);
	s->l4 = p < 45 ? PG_L4_TCP : p < 80 ? PG_L4_UDP : p < 93 ? PG_L4_ICMP : PG_L4_OTHER;
	s->ip_opt_words = pg_chance(r, 20) ? 1 + (int)pg_below(r, 10) : 0;
	s->ip6_ext = pg_chance(r, 25) ? 1 + (int)pg_below(r, 3) : 0;
	s->tcp_opt_words = pg_chance(r, 50) ? 1 + (int)pg_below(r, 10) : 0;
	s->fragment = pg_chance(r, 7);
	p = pg_below(r, 3);
	s->icmp6_type = p == 0 ? 128 : p == 1 ? 135 : 136;
	s->payload = pg_payload_len(r);
	s->smac = pg_pick_mac(r);
	s->dmac = pg_pick_mac(r);
	s->s4 = pg_ipv4[pg_below(r, PG_NR_IPV4)];
	s->d4 = pg_ipv4[pg_below(r, PG_NR_IPV4)];
	s->s6 = pg_ipv6[pg_below(r, PG_NR_IPV6)];
	s->d6 = pg_ipv6[pg_below(r, PG_NR_IPV6)];
	s->sport = pg_chance(r, 85) ? pg_ports[pg_below(r, PG_NR_PORTS)] : (uint16_t)pg_next(r);
	s->dport = pg_chance(r, 85) ? pg_ports[pg_below(r, PG_NR_PORTS)] : (uint16_t)pg_next(r);
	/* A fifth of IPv4 TCP/UDP frames reuse a configured flow exactly. */
	if (s->l3 == PG_L3_IPV4 && pg_chance(r, 20)) {
		const struct pg_flow *fl = &pg_flows[pg_below(r, PG_NR_FLOWS)];

		s->l4 = fl->proto == 6 ? PG_L4_TCP : PG_L4_UDP;
		s->s4 = fl->saddr;
		s->d4 = fl->daddr;
		s->sport = fl->sport;
		s->dport = fl->dport;
		s->fragment = false;
	}
}

/* TCP options of n words: a realistic SYN set (MSS, SACK-permitted,
 * timestamps, window scale) cycled, NOP-padded. */
static inline void pg_tcp_options(struct pg_rng *r, uint8_t *p, int words)
{
	uint32_t n = (uint32_t)words * 4, i = 0;

	while (i < n) {
		uint32_t left = n - i, k = pg_below(r, 5);

		if (k == 0 && left >= 4) {
			p[i] = 2; p[i + 1] = 4; pg_put16(p + i + 2, 1460); i += 4;
		} else if (k == 1 && left >= 2) {
			p[i] = 4; p[i + 1] = 2; i += 2;
		} else if (k == 2 && left >= 10) {
			p[i] = 8; p[i + 1] = 10; pg_fill(r, p + i + 2, 8); i += 10;
		} else if (k == 3 && left >= 3) {
			p[i] = 3; p[i + 1] = 3; p[i + 2] = 7; i += 3;
		} else {
			p[i++] = 1;	/* NOP */
		}
	}
}

/* Build a well-formed frame of shape s (payload shrunk to fit). */
static inline void pg_build(struct pg_rng *r, const struct pg_shape *s, struct pg_frame *f)
{
	uint8_t *b = f->buf;
	uint32_t off = 0, l3off, l4off, hdr_end, i;
	uint16_t ethertype;
	uint8_t l4proto;

	memset(f, 0, offsetof(struct pg_frame, desc) + sizeof(f->desc));
	memcpy(b, s->dmac, 6);
	memcpy(b + 6, s->smac, 6);
	pg_cut(f, 6);
	pg_cut(f, 12);
	off = 12;
	switch (s->l3) {
	case PG_L3_IPV4: ethertype = 0x0800; break;
	case PG_L3_IPV6: ethertype = 0x86dd; break;
	case PG_L3_ARP:  ethertype = 0x0806; break;
	default:         ethertype = pg_chance(r, 50) ? 0x88cc : (uint16_t)pg_next(r); break;
	}
	for (i = 0; i < (uint32_t)s->vlans; i++) {
		pg_put16(b + off, i == 0 && s->outer_8021ad ? 0x88a8 : 0x8100);
		pg_put16(b + off + 2, (uint16_t)(pg_below(r, 4096) | pg_below(r, 8) << 13));
		pg_cut(f, off + 2);
		off += 4;
		pg_cut(f, off);
	}
	if (s->vlans)
		pg_desc(f, s->vlans == 1 ? "vlan" : s->outer_8021ad ? "qinq-ad" : "qinq");
	pg_put16(b + off, ethertype);
	off += 2;
	pg_cut(f, off);
	l3off = off;

	if (s->l3 == PG_L3_ARP) {
		uint16_t op = pg_chance(r, 50) ? 1 : 2;

		pg_put16(b + off, 1);		/* htype Ethernet */
		pg_put16(b + off + 2, 0x0800);
		b[off + 4] = 6;
		b[off + 5] = 4;
		pg_put16(b + off + 6, op);
		memcpy(b + off + 8, s->smac, 6);
		memcpy(b + off + 14, s->s4, 4);
		memcpy(b + off + 18, s->dmac, 6);
		memcpy(b + off + 24, s->d4, 4);
		pg_cut(f, off + 8);
		off += 28;
		pg_cut(f, off);
		pg_desc(f, op == 1 ? "arp-req" : "arp-reply");
		f->len = off;
		return;
	}
	if (s->l3 == PG_L3_OTHER) {
		uint32_t n = s->payload;

		if (off + n > PG_MAX_LEN)
			n = PG_MAX_LEN - off;
		pg_fill(r, b + off, n);
		f->len = off + n;
		pg_desc(f, "other-ethertype");
		return;
	}

	switch (s->l4) {
	case PG_L4_TCP:  l4proto = 6; break;
	case PG_L4_UDP:  l4proto = 17; break;
	case PG_L4_ICMP: l4proto = s->l3 == PG_L3_IPV4 ? 1 : 58; break;
	default:         l4proto = pg_chance(r, 50) ? 47 : (uint8_t)pg_next(r); break;
	}

	if (s->l3 == PG_L3_IPV4) {
		uint32_t ihl = 5 + (uint32_t)s->ip_opt_words;

		b[off] = (uint8_t)(0x40 | ihl);
		b[off + 1] = (uint8_t)pg_below(r, 256);		/* DSCP/ECN */
		pg_put16(b + off + 4, (uint16_t)pg_next(r));	/* id */
		if (s->fragment)
			pg_put16(b + off + 6, (uint16_t)(0x2000 | (1 + pg_below(r, 0x1ffe))));
		else if (pg_chance(r, 30))
			pg_put16(b + off + 6, 0x4000);		/* DF */
		b[off + 8] = (uint8_t)(1 + pg_below(r, 255));
		b[off + 9] = l4proto;
		memcpy(b + off + 12, s->s4, 4);
		memcpy(b + off + 16, s->d4, 4);
		pg_cut(f, off + 1);
		pg_cut(f, off + 10);
		pg_cut(f, off + 16);
		pg_cut(f, off + 20);
		if (s->ip_opt_words) {
			/* Record-route style option, then NOP padding. */
			uint32_t n = (uint32_t)s->ip_opt_words * 4;

			memset(b + off + 20, 1, n);
			if (n >= 4) {
				b[off + 20] = 7;
				b[off + 21] = (uint8_t)(n - 1 < 3 ? 3 : n - 1);
				b[off + 22] = 4;
			}
			b[off + 20 + n - 1] = 0;		/* EOL */
		}
		off += ihl * 4;
		pg_cut(f, off);
		pg_desc(f, s->ip_opt_words ? "ipv4+opts" : "ipv4");
		if (s->fragment)
			pg_desc(f, "frag");
	} else {
		uint8_t *nh = b + off + 6;
		uint32_t k;

		b[off] = 0x60 | (uint8_t)pg_below(r, 16);
		b[off + 1] = (uint8_t)pg_next(r);
		pg_put16(b + off + 2, (uint16_t)pg_next(r));
		b[off + 7] = (uint8_t)(1 + pg_below(r, 255));
		memcpy(b + off + 8, s->s6, 16);
		memcpy(b + off + 24, s->d6, 16);
		pg_cut(f, off + 7);
		pg_cut(f, off + 24);
		pg_cut(f, off + 40);
		off += 40;
		for (k = 0; k < (uint32_t)s->ip6_ext; k++) {
			/* hop-by-hop (0), routing (43), fragment (44), dest opts (60) */
			static const uint8_t ext[] = { 0, 43, 44, 60 };
			uint8_t type = ext[pg_below(r, 4)];
			uint32_t len = type == 44 ? 8 : 8 * (1 + pg_below(r, 3));

			*nh = type;
			nh = b + off;
			b[off + 1] = type == 44 ? 0 : (uint8_t)(len / 8 - 1);
			if (type == 44) {
				pg_put16(b + off + 2, (uint16_t)(s->fragment ? 8 : 0));
				pg_fill(r, b + off + 4, 4);
			} else if (type == 43) {
				b[off + 2] = 0;
				b[off + 3] = 0;
			} else {
				b[off + 2] = 1;	/* PadN covering the rest */
				b[off + 3] = (uint8_t)(len - 4);
			}
			pg_cut(f, off + 2);
			off += len;
			pg_cut(f, off);
		}
		*nh = l4proto;
		pg_desc(f, s->ip6_ext ? "ipv6+ext" : "ipv6");
	}
	l4off = off;

	switch (s->l4) {
	case PG_L4_TCP: {
		uint32_t doff = 5 + (uint32_t)s->tcp_opt_words;

		pg_put16(b + off, s->sport);
		pg_put16(b + off + 2, s->dport);
		pg_fill(r, b + off + 4, 8);			/* seq, ack */
		b[off + 12] = (uint8_t)(doff << 4);
		b[off + 13] = (uint8_t)pg_next(r);		/* flags */
		pg_put16(b + off + 14, (uint16_t)pg_next(r));
		pg_cut(f, off + 2);
		pg_cut(f, off + 4);
		pg_cut(f, off + 13);
		pg_cut(f, off + 20);
		if (s->tcp_opt_words)
			pg_tcp_options(r, b + off + 20, s->tcp_opt_words);
		off += doff * 4;
		pg_cut(f, off);
		pg_desc(f, s->tcp_opt_words ? "tcp+opts" : "tcp");
		break;
	}
	case PG_L4_UDP:
		pg_put16(b + off, s->sport);
		pg_put16(b + off + 2, s->dport);
		pg_cut(f, off + 2);
		pg_cut(f, off + 4);
		off += 8;
		pg_cut(f, off);
		pg_desc(f, "udp");
		break;
	case PG_L4_ICMP:
		if (l4proto == 58 && s->icmp6_type != 128) {
			b[off] = (uint8_t)s->icmp6_type;	/* NS/NA + target */
			memcpy(b + off + 8, pg_ipv6[pg_below(r, PG_NR_IPV6)], 16);
			pg_cut(f, off + 8);
			off += 24;
			pg_cut(f, off);
			pg_desc(f, s->icmp6_type == 135 ? "icmp6-ns" : "icmp6-na");
		} else {
			b[off] = l4proto == 58 ? 128 : 8;	/* echo request */
			pg_fill(r, b + off + 4, 4);
			pg_cut(f, off + 1);
			off += 8;
			pg_cut(f, off);
			pg_desc(f, l4proto == 58 ? "icmp6" : "icmp");
		}
		break;
	default:
		pg_desc(f, "l4-other");
		break;
	}
	hdr_end = off;
	{
		uint32_t n = s->payload;

		if (hdr_end + n > PG_MAX_LEN)
			n = PG_MAX_LEN - hdr_end;
		pg_fill(r, b + off, n);
		off += n;
	}
	f->len = off;

	/* Lengths and checksum last, over what was really built. */
	if (s->l3 == PG_L3_IPV4) {
		pg_put16(b + l3off + 2, (uint16_t)(off - l3off));
		pg_put16(b + l3off + 10, pg_csum(b + l3off, (size_t)(b[l3off] & 0xf) * 4));
	} else {
		pg_put16(b + l3off + 4, (uint16_t)(off - l3off - 40));
	}
	if (s->l4 == PG_L4_UDP)
		pg_put16(b + l4off + 4, (uint16_t)(off - l4off));
}

/* Break one header field of a well-formed frame, the way hostile
 * traffic would: bad version/IHL/length, TCP data offset below 5 or past
 * the end, a VLAN tag claiming another VLAN, and so on. */
static inline void pg_corrupt(struct pg_rng *r, struct pg_frame *f)
{
	uint32_t l3 = 12;
	uint8_t *b = f->buf;

	while (l3 + 4 <= f->len && (b[l3] == 0x81 || b[l3] == 0x88) &&
	       (b[l3 + 1] == 0x00 || b[l3 + 1] == 0xa8))
		l3 += 4;
	l3 += 2;
	if (l3 + 20 > f->len) {
		pg_fill(r, b + pg_below(r, f->len), 1);
		pg_desc(f, "corrupt-byte");
		return;
	}
	switch (pg_below(r, 6)) {
	case 0:
		b[l3] = (uint8_t)((b[l3] & 0xf0) | pg_below(r, 5));	/* IHL < 5 */
		pg_desc(f, "corrupt-ihl-small");
		break;
	case 1:
		b[l3] = (uint8_t)(b[l3] | 0x0f);		/* IHL 15 */
		pg_desc(f, "corrupt-ihl-big");
		break;
	case 2:
		b[l3] = (uint8_t)((b[l3] & 0x0f) | pg_below(r, 16) << 4);
		pg_desc(f, "corrupt-version");
		break;
	case 3:
		pg_put16(b + l3 + 2, (uint16_t)pg_next(r));
		pg_desc(f, "corrupt-length");
		break;
	case 4: {
		/* TCP data offset anywhere in 0..15 */
		uint32_t l4 = l3 + (b[l3] >> 4 == 4 ? (uint32_t)(b[l3] & 0xf) * 4 : 40);

		if (l4 + 13 < f->len)
			b[l4 + 12] = (uint8_t)(pg_below(r, 16) << 4);
		pg_desc(f, "corrupt-doff");
		break;
	}
	default:
		b[l3 - 2] = (uint8_t)pg_next(r);		/* ethertype */
		pg_desc(f, "corrupt-ethertype");
		break;
	}
}

/* Frame number idx of a test sequence.  The first 15 are 0..14 bytes
 * long (below and at the Ethernet header), then a mix: 55% well-formed,
 * 20% truncated at an interesting cut +-1, 10% corrupted, 5% of the
 * maximum size, 10% random bytes (sometimes behind a real Ethernet/VLAN/
 * IP type). */
static inline void pg_frame_gen(struct pg_rng *r, uint32_t idx, struct pg_frame *f)
{
	struct pg_shape s;
	uint32_t p;

	pg_shape_random(r, &s);
	if (idx <= PG_ETH_HLEN) {
		pg_build(r, &s, f);
		f->len = idx < f->len ? idx : f->len;
		snprintf(f->desc, sizeof(f->desc), "short-%u", idx);
		return;
	}
	p = pg_below(r, 100);
	if (p >= 85 && p < 90)
		s.payload = PG_MAX_LEN;
	pg_build(r, &s, f);
	if (p < 55 || (p >= 85 && p < 90))
		return;
	if (p < 75) {
		uint32_t c = f->cuts[pg_below(r, f->nr_cuts)];
		int d = (int)pg_below(r, 3) - 1;
		uint32_t cut = (uint32_t)((int)c + d);
		char tmp[24];

		if (cut < f->len)
			f->len = cut;
		snprintf(tmp, sizeof(tmp), "cut@%u", f->len);
		pg_desc(f, tmp);
		return;
	}
	if (p < 85) {
		pg_corrupt(r, f);
		return;
	}
	/* p >= 90 */
	/* random bytes */
	f->len = pg_below(r, 100) < 70 ? pg_below(r, 128) : pg_below(r, PG_MAX_LEN + 1);
	pg_fill(r, f->buf, f->len);
	if (f->len >= 14 && pg_chance(r, 60)) {
		static const uint16_t types[] = { 0x0800, 0x86dd, 0x8100, 0x88a8, 0x0806 };

		pg_put16(f->buf + 12, types[pg_below(r, 5)]);
		if (f->len >= 15 && f->buf[12] == 0x08 && f->buf[13] == 0x00)
			f->buf[14] = (uint8_t)(0x40 | (f->buf[14] & 0xf));
	}
	snprintf(f->desc, sizeof(f->desc), "random");
}

#endif
