/* test_segment.c - checksum helpers and Ethernet/IP/TCP segment parsing. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/csum.h"
#include "core/segment.h"
#include "tests/unit/test.h"

/* A TCP/IPv4 frame whose checksums were computed independently (Python):
 * 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x01020304, ack 0xa0b0c0d0, ACK|PSH,
 * win 512, NOP NOP TS(0x11223344, 0x55667788), ECT(0), payload "hello".
 * IP checksum 0x1487, TCP checksum 0x096f. */
static const uint8_t known_frame[] = {
	0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x08, 0x00, 0x45, 0x02, 0x00, 0x39, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
	0x14, 0x87, 0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x9c, 0x40,
	0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0, 0x80, 0x18,
	0x02, 0x00, 0x09, 0x6f, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0x11, 0x22,
	0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x68, 0x65, 0x6c, 0x6c, 0x6f,
};

struct spec {
	bool vlan, ipv6;
	uint16_t vlan_tci;
	uint8_t tos, ip_proto, ihl_words; /* ihl_words 0 -> 5 */
	uint16_t frag;
	uint8_t flags;
	const uint8_t *opts;
	unsigned opts_len;  /* multiple of 4 */
	unsigned payload_len;
	const uint8_t *src6, *dst6; /* NULL: fd00::1 -> fd00::2 */
};

/* Builds a frame like known_frame from spec, checksums via the library. */
static uint32_t build(uint8_t *f, const struct spec *s)
{
	uint32_t off = 12, l3, l4, tcp_len, ihl;
	uint8_t *ih, *th;
	uint32_t sum;

	memcpy(f, known_frame, 12);
	if (s->vlan) {
		ftoe_put_be16(f + 12, FTOE_ETH_P_8021Q);
		ftoe_put_be16(f + 14, s->vlan_tci);
		off = 16;
	}
	ftoe_put_be16(f + off, s->ipv6 ? FTOE_ETH_P_IPV6 : FTOE_ETH_P_IPV4);
	l3 = off + 2;
	ih = f + l3;
	tcp_len = 20 + s->opts_len + s->payload_len;
	if (s->ipv6) {
		static const uint8_t src6[16] = { 0xfd, [15] = 1 };
		static const uint8_t dst6[16] = { 0xfd, [15] = 2 };

		memset(ih, 0, 40);
		ih[0] = 0x60 | (s->tos >> 4);
		ih[1] = (uint8_t)(s->tos << 4);
		ftoe_put_be16(ih + 4, (uint16_t)tcp_len);
		ih[6] = s->ip_proto ? s->ip_proto : 6;
		ih[7] = 64;
		memcpy(ih + 8, s->src6 ? s->src6 : src6, 16);
		memcpy(ih + 24, s->dst6 ? s->dst6 : dst6, 16);
		ihl = 40;
	} else {
		ihl = (s->ihl_words ? s->ihl_words : 5) * 4u;
		memset(ih, 0, ihl);
		ih[0] = (uint8_t)(0x40 | ihl / 4);
		ih[1] = s->tos;
		ftoe_put_be16(ih + 2, (uint16_t)(ihl + tcp_len));
		ftoe_put_be16(ih + 4, 0x1234);
		ftoe_put_be16(ih + 6, s->frag ? s->frag : 0x4000);
		ih[8] = 64;
		ih[9] = s->ip_proto ? s->ip_proto : 6;
		memcpy(ih + 12, known_frame + 26, 8);
		if (ihl > 20)
			ih[20] = 1; /* NOP options */
		ftoe_put_be16(ih + 10, ftoe_csum(ih, ihl));
	}
	l4 = l3 + ihl;
	th = f + l4;
	memset(th, 0, 20);
	ftoe_put_be16(th, 40000);
	ftoe_put_be16(th + 2, 80);
	ftoe_put_be32(th + 4, 0x01020304);
	ftoe_put_be32(th + 8, 0xa0b0c0d0);
	th[12] = (uint8_t)((20 + s->opts_len) / 4 << 4);
	th[13] = s->flags;
	ftoe_put_be16(th + 14, 512);
	memcpy(th + 20, s->opts, s->opts_len);
	memcpy(th + 20 + s->opts_len, "hello, world, hello, world", s->payload_len);
	if (s->ipv6)
		sum = ftoe_csum_pseudo6(ih + 8, ih + 24, 6, tcp_len);
	else
		sum = ftoe_csum_pseudo4(ih + 12, ih + 16, 6, (uint16_t)tcp_len);
	ftoe_put_be16(th + 16, ftoe_csum_finish(ftoe_csum_add(sum, th, tcp_len)));
	return l4 + tcp_len;
}

static const uint8_t ts_opts[] = { 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };

static struct spec base_spec(void)
{
	struct spec s = {
		.tos = 2, .flags = FTOE_TCP_ACK | FTOE_TCP_PSH,
		.opts = ts_opts, .opts_len = sizeof(ts_opts), .payload_len = 5,
	};
	return s;
}

static int parse(const uint8_t *f, uint32_t len, struct ftoe_seg *seg)
{
	return ftoe_seg_parse(f, len, 0, seg);
}

START_TEST(csum_rfc1071_vectors)
{
	/* RFC 1071 section 3 example: the sum of these bytes is 0xddf2. */
	static const uint8_t ex[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	/* Widely used IPv4 header example, checksum 0xb861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };

	ck_assert_uint_eq(ftoe_csum_fold(ftoe_csum_add(0, ex, sizeof(ex))), 0xddf2);
	ck_assert_uint_eq(ftoe_csum(ex, sizeof(ex)), 0x220d);
	ck_assert_uint_eq(ftoe_csum(ip, 20), 0xb861);
	ftoe_put_be16(ip + 10, 0xb861);
	ck_assert_uint_eq(ftoe_csum(ip, 20), 0);
	/* Odd length: the last byte is padded with zero on the right. */
	ck_assert_uint_eq(ftoe_csum_fold(ftoe_csum_add(0, ex, 3)), 0x0001 + 0xf200);
	/* Split sums (at even offsets) equal one sum. */
	ck_assert_uint_eq(ftoe_csum_fold(ftoe_csum_add(ftoe_csum_add(0, known_frame, 30),
						       known_frame + 30, 41)),
			  ftoe_csum_fold(ftoe_csum_add(0, known_frame, 71)));
}
END_TEST

/* The RFC 1071 sum the slow way: big-endian 16-bit words, one at a time. */
static uint16_t csum_ref(uint32_t sum, const uint8_t *p, size_t len)
{
	uint64_t acc = sum;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

START_TEST(csum_matches_wordwise_sum)
{
	/* The word-at-a-time sum against the reference at every length up to
	 * two MTUs, from every alignment, on random bytes, on all-0xff (the
	 * carry-heavy case) and with a starting sum near 2^32. */
	static uint8_t buf[3008 + 8];
	uint32_t seed = 12345, starts[] = { 0, 1, 0xffff, 0xfffffffeu };
	size_t len, off, i;

	/* pattern 2, all zeros, is the other extreme of the vector sum's
	 * signed lanes (core/csum.c: every word counts as -32768) */
	for (int pattern = 0; pattern < 3; pattern++) {
		for (i = 0; i < sizeof(buf); i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = pattern == 2 ? 0 : pattern ? 0xff : (uint8_t)(seed >> 16);
		}
		for (off = 0; off < 8; off++)
			for (len = 0; len <= 3008; len += (len < 80 ? 1 : 37))
				for (i = 0; i < 4; i++)
					ck_assert_uint_eq(ftoe_csum_fold(ftoe_csum_add(starts[i], buf + off, len)),
							  csum_ref(starts[i], buf + off, len));
		/* the inline IPv4-header form, from every 20-byte window */
		for (off = 0; off + 20 <= sizeof(buf); off++)
			ck_assert_uint_eq(ftoe_csum20(buf + off),
					  (uint16_t)~csum_ref(0, buf + off, 20));
	}
}
END_TEST

START_TEST(csum_long_buffers)
{
	/* Past the vector sum's pass of 32 KiB (core/csum.c AVX2_CHUNK), where
	 * its lanes are flushed into the 64-bit total: lengths around one and
	 * several passes, random bytes and all-0xff. */
	static uint8_t big[3 * 32768 + 256];
	static const size_t lens[] = { 32767, 32768, 32769, 32768 + 96, 65536 + 31,
				       3 * 32768, 3 * 32768 + 255 };
	uint32_t seed = 777;

	for (int pattern = 0; pattern < 2; pattern++) {
		for (size_t i = 0; i < sizeof(big); i++) {
			seed = seed * 1103515245u + 12345u;
			big[i] = pattern ? 0xff : (uint8_t)(seed >> 16);
		}
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
			for (size_t off = 0; off < 2; off++)
				ck_assert_uint_eq(ftoe_csum_fold(ftoe_csum_add(7, big + off, lens[k])),
						  csum_ref(7, big + off, lens[k]));
	}
}
END_TEST

START_TEST(csum_incremental_rfc1624)
{
	uint8_t ip[20];
	uint16_t old_ttl_proto, c;

	memcpy(ip, known_frame + 14, 20);
	c = ftoe_get_be16(ip + 10);
	ck_assert_uint_eq(c, 0x1487);
	/* Decrement TTL: the 16-bit word TTL|proto changes. */
	old_ttl_proto = ftoe_get_be16(ip + 8);
	ip[8]--;
	c = ftoe_csum_update16(c, old_ttl_proto, ftoe_get_be16(ip + 8));
	ftoe_put_be16(ip + 10, c);
	ck_assert_uint_eq(ftoe_csum(ip, 20), 0);
	/* Rewrite the source address (NAT-like), 32-bit update. */
	{
		uint32_t old = ftoe_get_be32(ip + 12), new_ = 0xc0a80a0b;

		ftoe_put_be32(ip + 12, new_);
		c = ftoe_csum_update32(c, old, new_);
		ftoe_put_be16(ip + 10, c);
		ck_assert_uint_eq(ftoe_csum(ip, 20), 0);
		ftoe_put_be16(ip + 10, 0);
		ck_assert_uint_eq(ftoe_csum(ip, 20), c);
	}
	/* RFC 1624 section 3's point: updating a word 0x0000 -> 0xffff
	 * (or back) must not produce the -0 (0xffff) ambiguity for a
	 * header whose true checksum is 0x0000... check the round trip. */
	c = ftoe_csum_update16(0x1234, 0x0000, 0xffff);
	ck_assert_uint_eq(ftoe_csum_update16(c, 0xffff, 0x0000), 0x1234);
}
END_TEST

START_TEST(seg_known_frame)
{
	struct ftoe_seg seg;
	uint8_t built[128];
	struct spec s = base_spec();

	ck_assert_int_eq(parse(known_frame, sizeof(known_frame), &seg), 0);
	ck_assert_uint_eq(seg.slow, 0);
	ck_assert(ftoe_seg_fast_path(&seg));
	ck_assert_uint_eq(seg.family, 4);
	ck_assert_uint_eq(seg.saddr4, 0x0a000001);
	ck_assert_uint_eq(seg.daddr4, 0x0a000002);
	ck_assert_uint_eq(seg.sport, 40000);
	ck_assert_uint_eq(seg.dport, 80);
	ck_assert_uint_eq(seg.seq, 0x01020304);
	ck_assert_uint_eq(seg.ack, 0xa0b0c0d0);
	ck_assert_uint_eq(seg.win, 512);
	ck_assert_uint_eq(seg.tcp_flags, FTOE_TCP_ACK | FTOE_TCP_PSH);
	ck_assert_uint_eq(seg.ip_ecn, FTOE_ECN_ECT0);
	ck_assert_uint_eq(seg.opts, FTOE_OPT_TS);
	ck_assert_uint_eq(seg.ts_val, 0x11223344);
	ck_assert_uint_eq(seg.ts_ecr, 0x55667788);
	ck_assert_uint_eq(seg.l3_off, 14);
	ck_assert_uint_eq(seg.l4_off, 34);
	ck_assert_uint_eq(seg.payload_off, 66);
	ck_assert_uint_eq(seg.payload_len, 5);
	ck_assert(!seg.has_vlan);
	ck_assert_mem_eq(seg.eth_dst, known_frame, 6);
	ck_assert_mem_eq(seg.eth_src, known_frame + 6, 6);
	ck_assert_mem_eq(known_frame + seg.payload_off, "hello", 5);
	{
		struct ftoe_flow_key k;

		ftoe_seg_flow_key(&seg, &k);
		ck_assert_uint_eq(k.laddr, 0x0a000002);
		ck_assert_uint_eq(k.raddr, 0x0a000001);
		ck_assert_uint_eq(k.lport, 80);
		ck_assert_uint_eq(k.rport, 40000);
	}

	/* The builder (library checksums) reproduces the known bytes. */
	ck_assert_uint_eq(build(built, &s), sizeof(known_frame));
	ck_assert_mem_eq(built, known_frame, sizeof(known_frame));

	/* Ethernet padding after the IP datagram is ignored. */
	memset(built + sizeof(known_frame), 0, 20);
	ck_assert_int_eq(parse(built, sizeof(known_frame) + 20, &seg), 0);
	ck_assert_uint_eq(seg.payload_len, 5);
}
END_TEST

START_TEST(seg_truncated_every_length)
{
	struct ftoe_seg seg;

	for (uint32_t len = 0; len < sizeof(known_frame); len++) {
		enum ftoe_seg_err want = len < 14 ? FTOE_SEG_ERR_ETH_TRUNC :
					 len < 34 ? FTOE_SEG_ERR_IP_TRUNC :
						    FTOE_SEG_ERR_IP_LEN;
		uint8_t copy[sizeof(known_frame)];

		/* Exact-size copy so a sanitizer build sees any overread. */
		memcpy(copy, known_frame, len);
		ck_assert_int_eq(parse(copy, len, &seg), -EINVAL);
		ck_assert_msg(seg.err == want, "len %u: got %s want %s", len,
			      ftoe_seg_err_str(seg.err), ftoe_seg_err_str(want));
	}
}
END_TEST

START_TEST(seg_truncated_ip_length)
{
	/* Frames consistent at every IP total length shorter than the TCP
	 * header needs: the TCP layer must notice, not read past. */
	struct ftoe_seg seg;
	uint8_t f[128];

	for (uint16_t tl = 20; tl < 40; tl++) {
		memcpy(f, known_frame, sizeof(known_frame));
		ftoe_put_be16(f + 16, tl);
		ftoe_put_be16(f + 24, 0);
		ftoe_put_be16(f + 24, ftoe_csum(f + 14, 20));
		ck_assert_int_eq(parse(f, 14 + tl, &seg), -EINVAL);
		ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_TRUNC);
	}
	/* 40..51: 20-byte TCP header fits but the data offset (32) does not. */
	for (uint16_t tl = 40; tl < 52; tl++) {
		memcpy(f, known_frame, sizeof(known_frame));
		ftoe_put_be16(f + 16, tl);
		ftoe_put_be16(f + 24, 0);
		ftoe_put_be16(f + 24, ftoe_csum(f + 14, 20));
		ck_assert_int_eq(parse(f, 14 + tl, &seg), -EINVAL);
		ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_DOFF);
	}
}
END_TEST

START_TEST(seg_bad_ihl_and_version)
{
	struct ftoe_seg seg;
	uint8_t f[128];

	for (uint8_t ihl = 0; ihl < 16; ihl++) {
		if (ihl == 5)
			continue;
		memcpy(f, known_frame, sizeof(known_frame));
		f[14] = (uint8_t)(0x40 | ihl);
		ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
		/* ihl 6..14 fit the datagram: then the checksum is wrong
		 * (the header is longer than the one checksummed). */
		if (ihl < 5 || ihl * 4 > 57)
			ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_HLEN);
		else
			ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_CSUM);
	}
	memcpy(f, known_frame, sizeof(known_frame));
	f[14] = 0x65;
	ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_VERSION);
	/* Total length below the header length. */
	memcpy(f, known_frame, sizeof(known_frame));
	ftoe_put_be16(f + 16, 19);
	ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_HLEN);
}
END_TEST

START_TEST(seg_bad_checksums)
{
	struct ftoe_seg seg;
	uint8_t f[128];

	/* Any single bit flip in the IP header -> IP checksum error (except in
	 * fields checked before it: version/IHL/total length). */
	for (unsigned bit = 0; bit < 160; bit++) {
		unsigned byte = 14 + bit / 8;

		if (byte < 18)
			continue;
		memcpy(f, known_frame, sizeof(known_frame));
		f[byte] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
		ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_CSUM);
	}
	/* Any single bit flip in TCP header or payload -> TCP checksum error,
	 * except the data offset nibble which is validated first. */
	for (unsigned byte = 34; byte < sizeof(known_frame); byte++) {
		if (byte == 46)
			continue;
		memcpy(f, known_frame, sizeof(known_frame));
		f[byte] ^= 0x01;
		ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
		ck_assert_msg(seg.err == FTOE_SEG_ERR_TCP_CSUM, "byte %u: %s", byte,
			      ftoe_seg_err_str(seg.err));
	}
	/* A pseudo-header field (destination address) changed with the IP
	 * checksum fixed up: only the TCP checksum can notice. */
	memcpy(f, known_frame, sizeof(known_frame));
	f[33] = 3;
	ftoe_put_be16(f + 24, 0);
	ftoe_put_be16(f + 24, ftoe_csum(f + 14, 20));
	ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_CSUM);
	/* The NIC-verified flag skips both checks. */
	ck_assert_int_eq(ftoe_seg_parse(f, sizeof(known_frame), FTOE_SEG_F_NO_CSUM, &seg), 0);
	ck_assert_uint_eq(seg.daddr4, 0x0a000003);
}
END_TEST

START_TEST(seg_bad_data_offset)
{
	struct ftoe_seg seg;
	uint8_t f[128];

	for (unsigned doff = 0; doff < 16; doff++) {
		if (doff == 8)
			continue;
		memcpy(f, known_frame, sizeof(known_frame));
		f[46] = (uint8_t)(doff << 4);
		ck_assert_int_eq(parse(f, sizeof(known_frame), &seg), -EINVAL);
		/* 5..9 fit in the 37 bytes of TCP: then the checksum breaks. */
		if (doff < 5 || doff * 4 > 37)
			ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_DOFF);
		else
			ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_CSUM);
	}
}
END_TEST

static int parse_opts(const uint8_t *opts, unsigned len, uint8_t flags, struct ftoe_seg *seg)
{
	struct spec s = base_spec();
	uint8_t f[256];
	uint32_t n;

	s.opts = opts;
	s.opts_len = len;
	s.flags = flags;
	n = build(f, &s);
	return parse(f, n, seg);
}

START_TEST(seg_bad_option_lengths)
{
	static const struct { uint8_t o[12]; } bad[] = {
		{ { 8, 9, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1 } },   /* TS len 9 */
		{ { 8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },  /* TS len 11 */
		{ { 2, 5, 5, 0xb4, 0, 1, 1, 1, 1, 1, 1, 1 } },/* MSS len 5 */
		{ { 2, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1 } },   /* MSS len 3 */
		{ { 3, 4, 7, 0, 1, 1, 1, 1, 1, 1, 1, 1 } },   /* WS len 4 */
		{ { 4, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1 } },   /* SACKP len 3 */
		{ { 5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 } },  /* SACK 2+9 */
		{ { 5, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 } },   /* SACK no block */
		{ { 30, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 } },  /* len 0 */
		{ { 30, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 } },  /* len 1 */
		{ { 1, 1, 30, 11, 0, 0, 0, 0, 0, 0, 0, 0 } }, /* runs past end */
		{ { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 8 } },   /* kind, no length */
	};
	struct ftoe_seg seg;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse_opts(bad[i].o, 12, FTOE_TCP_ACK, &seg), -EINVAL);
		ck_assert_msg(seg.err == FTOE_SEG_ERR_TCP_OPT, "case %u: %s", i,
			      ftoe_seg_err_str(seg.err));
	}
}
END_TEST

START_TEST(seg_options_syn_and_unknown)
{
	/* A typical Linux SYN: MSS 1460, SACKP, TS, NOP, WS 7. */
	static const uint8_t syn[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9,
					 0, 0, 0, 0, 1, 3, 3, 7 };
	static const uint8_t unk[8] = { 253, 4, 0xaa, 0xbb, 1, 1, 1, 0 };
	static const uint8_t sack[12] = { 1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	/* Data after EOL is ignored, even if it looks like garbage. */
	static const uint8_t eol[8] = { 1, 0, 99, 99, 99, 99, 99, 99 };
	struct ftoe_seg seg;

	ck_assert_int_eq(parse_opts(syn, 20, FTOE_TCP_SYN, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_SYN);
	ck_assert_uint_eq(seg.opts, FTOE_OPT_MSS | FTOE_OPT_SACKP | FTOE_OPT_TS | FTOE_OPT_WS);
	ck_assert_uint_eq(seg.mss, 1460);
	ck_assert_uint_eq(seg.wscale, 7);
	ck_assert_uint_eq(seg.ts_val, 9);

	ck_assert_int_eq(parse_opts(unk, 8, FTOE_TCP_ACK, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_TCP_OPT);

	ck_assert_int_eq(parse_opts(sack, 12, FTOE_TCP_ACK, &seg), 0);
	ck_assert_uint_eq(seg.slow, 0);
	ck_assert_uint_eq(seg.opts, FTOE_OPT_SACK);
	ck_assert_uint_eq(seg.sack_blocks, 1);

	ck_assert_int_eq(parse_opts(eol, 8, FTOE_TCP_ACK, &seg), 0);
	ck_assert_uint_eq(seg.slow, 0);
	ck_assert_uint_eq(seg.opts, 0);
}
END_TEST

START_TEST(seg_flags_slow_path)
{
	static const struct { uint8_t flags; uint32_t slow; } cases[] = {
		{ FTOE_TCP_ACK, 0 },
		{ FTOE_TCP_ACK | FTOE_TCP_FIN, 0 },
		{ FTOE_TCP_ACK | FTOE_TCP_ECE | FTOE_TCP_CWR, 0 },
		{ FTOE_TCP_SYN, FTOE_SLOW_SYN },
		{ FTOE_TCP_SYN | FTOE_TCP_ACK, FTOE_SLOW_SYN },
		{ FTOE_TCP_RST, FTOE_SLOW_RST },
		{ FTOE_TCP_RST | FTOE_TCP_ACK, FTOE_SLOW_RST },
		{ FTOE_TCP_ACK | FTOE_TCP_URG, FTOE_SLOW_URG },
		{ FTOE_TCP_PSH, FTOE_SLOW_NO_ACK },
		{ 0, FTOE_SLOW_NO_ACK },
	};
	struct ftoe_seg seg;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(parse_opts(ts_opts, 12, cases[i].flags, &seg), 0);
		ck_assert_msg(seg.slow == cases[i].slow, "case %u: slow %#x", i, seg.slow);
		ck_assert_uint_eq(seg.tcp_flags, cases[i].flags);
	}
}
END_TEST

START_TEST(seg_vlan_frag_proto)
{
	struct spec s = base_spec();
	struct ftoe_seg seg;
	uint8_t f[256];
	uint32_t n;

	s.vlan = true;
	s.vlan_tci = 0x2064; /* PCP 1, VID 100 */
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, 0);
	ck_assert(seg.has_vlan);
	ck_assert_uint_eq(seg.vlan_tci, 0x2064);
	ck_assert_uint_eq(seg.l3_off, 18);
	ck_assert_uint_eq(seg.payload_off, 70);
	/* Truncated inside the tag. */
	ck_assert_int_eq(parse(f, 17, &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_ETH_TRUNC);
	/* Two tags (QinQ). */
	ftoe_put_be16(f + 16, FTOE_ETH_P_8021Q);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_VLAN_STACK | FTOE_SLOW_NOT_IP);

	/* Fragments: MF, and a non-zero offset. */
	s = base_spec();
	s.frag = 0x2000;
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_FRAG);
	s.frag = 0x0010;
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_FRAG);

	/* UDP, and ARP. */
	s = base_spec();
	s.ip_proto = 17;
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_NOT_TCP);
	ftoe_put_be16(f + 12, FTOE_ETH_P_ARP);
	ck_assert_int_eq(parse(f, 42, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_NOT_IP);
	ck_assert_uint_eq(seg.ethertype, FTOE_ETH_P_ARP);

	/* IP options: parsed, but slow. */
	s = base_spec();
	s.ihl_words = 6;
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_IP_OPTS);
	ck_assert_uint_eq(seg.l4_off, 38);
	ck_assert_uint_eq(seg.payload_len, 5);
	/* CE mark is reported. */
	s = base_spec();
	s.tos = 3;
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.ip_ecn, FTOE_ECN_CE);
}
END_TEST

START_TEST(seg_ipv6)
{
	struct spec s = base_spec();
	struct ftoe_seg seg;
	uint8_t f[256];
	uint32_t n;

	s.ipv6 = true;
	s.tos = 0x03; /* CE in the traffic class */
	s.payload_len = 11;
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.family, 6);
	ck_assert_uint_eq(seg.slow, 0);	/* IPv6 takes the fast path */
	ck_assert_uint_eq(seg.saddr4, 1);	/* the last 32 bits, host order */
	ck_assert_uint_eq(seg.daddr4, 2);
	{
		struct ftoe_flow_key k;

		ftoe_seg_flow_key(&seg, &k);
		ck_assert(ftoe_flow_key_is_v6(&k));
		ck_assert_uint_eq(k.laddr, 2);
		ck_assert_uint_eq(k.raddr, 1);
		ck_assert_mem_eq(k.lhi, seg.daddr, 12);
		ck_assert_mem_eq(k.rhi, seg.saddr, 12);
	}
	ck_assert_uint_eq(seg.ip_ecn, FTOE_ECN_CE);
	ck_assert_uint_eq(seg.saddr[0], 0xfd);
	ck_assert_uint_eq(seg.daddr[15], 2);
	ck_assert_uint_eq(seg.l4_off, 54);
	ck_assert_uint_eq(seg.payload_off, 86);
	ck_assert_uint_eq(seg.payload_len, 11);
	ck_assert_uint_eq(seg.ts_ecr, 0x55667788);

	for (uint32_t len = 14; len < n; len++) {
		ck_assert_int_eq(parse(f, len, &seg), -EINVAL);
		ck_assert_uint_eq(seg.err, len < 54 ? FTOE_SEG_ERR_IP_TRUNC : FTOE_SEG_ERR_IP_LEN);
	}
	f[n - 1] ^= 0x80;
	ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_CSUM);
	f[n - 1] ^= 0x80;
	f[14] = 0x40;
	ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_VERSION);

	s.ip_proto = 44; /* fragment header */
	n = build(f, &s);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_FRAG);
}
END_TEST

/* Adversarial IPv6: addresses TCP cannot have, extension headers (a
 * hop-by-hop header is also where a jumbo payload option would sit),
 * payload lengths that disagree with the frame. */
START_TEST(seg_ipv6_hostile)
{
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 };
	static const uint8_t compat[16] = { [12] = 10, 0, 0, 1 };
	static const uint8_t loop[16] = { [15] = 1 };
	static const uint8_t mcast[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t *const bad[] = { mapped, compat, loop, mcast };
	struct spec s = base_spec();
	struct ftoe_seg seg;
	uint8_t f[256];
	uint32_t n;

	s.ipv6 = true;
	for (unsigned i = 0; i < 4; i++) {
		s.src6 = bad[i];
		s.dst6 = NULL;
		n = build(f, &s);
		ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
		ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP6_ADDR);
		s.src6 = NULL;
		s.dst6 = bad[i];
		n = build(f, &s);
		ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
		ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP6_ADDR);
	}
	s.dst6 = NULL;
	/* hop-by-hop (jumbo payload, RFC 2675, lives there), routing,
	 * destination options: slow path, never walked */
	for (unsigned i = 0; i < 3; i++) {
		s.ip_proto = (uint8_t[]){ 43, 43, 60 }[i];
		n = build(f, &s);
		if (i == 0)
			f[20] = 0;	/* hop-by-hop: build() reads 0 as "TCP" */
		ck_assert_int_eq(parse(f, n, &seg), 0);
		ck_assert_uint_eq(seg.slow, FTOE_SLOW_FRAG);
	}
	/* the jumbo form: payload length 0 with a hop-by-hop header */
	n = build(f, &s);
	f[20] = 0;
	ftoe_put_be16(f + 18, 0);
	ck_assert_int_eq(parse(f, n, &seg), 0);
	ck_assert_uint_eq(seg.slow, FTOE_SLOW_FRAG);
	/* TCP with payload length 0, or too short for its header */
	s.ip_proto = 6;
	n = build(f, &s);
	ftoe_put_be16(f + 18, 0);
	ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_TRUNC);
	ftoe_put_be16(f + 18, 19);
	ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_TCP_TRUNC);
	/* longer than the frame */
	ftoe_put_be16(f + 18, 0xffff);
	ck_assert_int_eq(parse(f, n, &seg), -EINVAL);
	ck_assert_uint_eq(seg.err, FTOE_SEG_ERR_IP_LEN);
}
END_TEST

START_TEST(seg_err_strings)
{
	for (int e = 0; e < FTOE_SEG_ERR__MAX; e++) {
		const char *s = ftoe_seg_err_str((enum ftoe_seg_err)e);

		ck_assert_ptr_nonnull(s);
		ck_assert_str_ne(s, "unknown");
	}
	ck_assert_str_eq(ftoe_seg_err_str(FTOE_SEG_ERR__MAX), "unknown");
}
END_TEST

static Suite *segment_suite(void)
{
	Suite *s = suite_create("core_segment");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, csum_rfc1071_vectors);
	tcase_add_test(tc, csum_matches_wordwise_sum);
	tcase_add_test(tc, csum_long_buffers);
	tcase_add_test(tc, csum_incremental_rfc1624);
	tcase_add_test(tc, seg_known_frame);
	tcase_add_test(tc, seg_truncated_every_length);
	tcase_add_test(tc, seg_truncated_ip_length);
	tcase_add_test(tc, seg_bad_ihl_and_version);
	tcase_add_test(tc, seg_bad_checksums);
	tcase_add_test(tc, seg_bad_data_offset);
	tcase_add_test(tc, seg_bad_option_lengths);
	tcase_add_test(tc, seg_options_syn_and_unknown);
	tcase_add_test(tc, seg_flags_slow_path);
	tcase_add_test(tc, seg_vlan_frag_proto);
	tcase_add_test(tc, seg_ipv6);
	tcase_add_test(tc, seg_ipv6_hostile);
	tcase_add_test(tc, seg_err_strings);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(segment_suite)
