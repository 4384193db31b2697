/* test_icmp.c - ICMP echo replies: headers, checksums, payload, malformed input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/icmp.h"
#include "core/csum.h"
#include "tests/unit/test.h"

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t our_ip[4] = { 10, 0, 0, 5 };
static const uint8_t peer_ip[4] = { 10, 0, 0, 2 };

static uint8_t out[2048];
static size_t out_len;
static unsigned int nr_out;

static int cap_xmit(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	ck_assert_uint_le(len, sizeof(out));
	memcpy(out, frame, len);
	out_len = len;
	nr_out++;
	return 0;
}

static void setup(struct ftoe_icmp *ic)
{
	struct ftoe_icmp_cfg cfg = { 0 };
	struct ftoe_icmp_ops ops = { .xmit = cap_xmit };

	memcpy(&cfg.ip_be, our_ip, 4);
	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_icmp_init(ic, &cfg, &ops), 0);
	nr_out = 0;
	out_len = 0;
}

/* An echo request with optlen bytes of IP options (multiple of 4) and
 * plen payload bytes; returns the frame length (before pad). */
static size_t build(uint8_t *f, unsigned int optlen, unsigned int plen, size_t pad)
{
	uint8_t *ip = f + 14, *icmp;
	unsigned int ihl = 20 + optlen;

	memset(f, 0, 14 + ihl + 8 + plen + pad);
	memcpy(f, our_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	ftoe_put_be16(f + 12, 0x0800);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	ip[1] = 0x10;
	ftoe_put_be16(ip + 2, (uint16_t)(ihl + 8 + plen));
	ftoe_put_be16(ip + 4, 0x1234);
	ftoe_put_be16(ip + 6, 0x4000); /* DF */
	ip[8] = 17;
	ip[9] = 1;
	memcpy(ip + 12, peer_ip, 4);
	memcpy(ip + 16, our_ip, 4);
	for (unsigned int i = 0; i < optlen; i++)
		ip[20 + i] = 1; /* NOP options */
	ftoe_put_be16(ip + 10, ftoe_csum(ip, ihl));
	icmp = ip + ihl;
	icmp[0] = 8;
	ftoe_put_be16(icmp + 4, 0xbeef); /* identifier */
	ftoe_put_be16(icmp + 6, 7);      /* sequence */
	for (unsigned int i = 0; i < plen; i++)
		icmp[8 + i] = (uint8_t)(i * 7 + 3);
	ftoe_put_be16(icmp + 2, ftoe_csum(icmp, 8 + plen));
	return 14 + ihl + 8 + plen;
}

static void check_reply(unsigned int plen)
{
	const uint8_t *ip = out + 14, *icmp = ip + 20;

	ck_assert_uint_eq(nr_out, 1);
	ck_assert_uint_eq(out_len, 14 + 20 + 8 + plen);
	ck_assert_mem_eq(out, peer_mac, 6);
	ck_assert_mem_eq(out + 6, our_mac, 6);
	ck_assert_uint_eq(ftoe_get_be16(out + 12), 0x0800);
	ck_assert_uint_eq(ip[0], 0x45);
	ck_assert_uint_eq(ip[1], 0x10);
	ck_assert_uint_eq(ftoe_get_be16(ip + 2), 20 + 8 + plen);
	ck_assert_uint_eq(ftoe_get_be16(ip + 6), 0);
	ck_assert_uint_eq(ip[8], 64);
	ck_assert_uint_eq(ip[9], 1);
	ck_assert_mem_eq(ip + 12, our_ip, 4);
	ck_assert_mem_eq(ip + 16, peer_ip, 4);
	ck_assert_uint_eq(ftoe_csum(ip, 20), 0);
	ck_assert_uint_eq(icmp[0], 0);
	ck_assert_uint_eq(icmp[1], 0);
	ck_assert_uint_eq(ftoe_get_be16(icmp + 4), 0xbeef);
	ck_assert_uint_eq(ftoe_get_be16(icmp + 6), 7);
	ck_assert_uint_eq(ftoe_csum(icmp, 8 + plen), 0);
	for (unsigned int i = 0; i < plen; i++)
		ck_assert_uint_eq(icmp[8 + i], (uint8_t)(i * 7 + 3));
}

START_TEST(icmp_echo_reply)
{
	static const unsigned int plens[] = { 0, 1, 56, 57, 1472 };
	struct ftoe_icmp ic;
	uint8_t f[1600];

	for (size_t i = 0; i < sizeof(plens) / sizeof(plens[0]); i++) {
		size_t len;

		setup(&ic);
		len = build(f, 0, plens[i], 0);
		ck_assert_int_eq(ftoe_icmp_rx(&ic, f, len), 0);
		check_reply(plens[i]);
		ck_assert_uint_eq(ic.stats.echo_replies, 1);
	}
}
END_TEST

START_TEST(icmp_padding_and_options)
{
	struct ftoe_icmp ic;
	uint8_t f[200];
	size_t len;

	/* 4 bytes of payload: a 46-byte frame padded to the 60-byte minimum. */
	setup(&ic);
	len = build(f, 0, 4, 14);
	ck_assert_int_eq(ftoe_icmp_rx(&ic, f, len + 14), 0);
	check_reply(4);
	/* IP options are not echoed: the reply has a 20-byte header. */
	setup(&ic);
	len = build(f, 8, 33, 0);
	ck_assert_int_eq(ftoe_icmp_rx(&ic, f, len), 0);
	check_reply(33);
	/* The IP id advances per reply. */
	len = build(f, 0, 8, 0);
	ck_assert_int_eq(ftoe_icmp_rx(&ic, f, len), 0);
	ck_assert_uint_eq(ftoe_get_be16(out + 18), 1);
}
END_TEST

static void expect_drop(struct ftoe_icmp *ic, uint8_t *f, size_t len, int err)
{
	uint8_t *copy = malloc(len ? len : 1);

	memcpy(copy, f, len);
	ck_assert_int_eq(ftoe_icmp_rx(ic, copy, len), err);
	ck_assert_mem_eq(copy, f, len); /* untouched */
	free(copy);
	ck_assert_uint_eq(nr_out, 0);
}

START_TEST(icmp_truncated)
{
	struct ftoe_icmp ic;
	uint8_t f[200];
	size_t len;

	setup(&ic);
	len = build(f, 4, 20, 0);
	/* Every shorter length in an exact-size buffer. */
	for (size_t l = 0; l < len; l++)
		expect_drop(&ic, f, l, -EINVAL);
	ck_assert_uint_eq(ic.stats.truncated, len);
	/* Total length below header + 8, and IHL below 5. */
	ftoe_put_be16(f + 16, 27);
	expect_drop(&ic, f, len, -EINVAL);
	len = build(f, 0, 20, 0);
	f[14] = 0x44;
	expect_drop(&ic, f, len, -EINVAL);
	ck_assert_uint_eq(ic.stats.bad_ip, 1);
}
END_TEST

START_TEST(icmp_bad_checksums)
{
	struct ftoe_icmp ic;
	uint8_t f[200];
	size_t len;

	setup(&ic);
	len = build(f, 0, 20, 0);
	f[14 + 10] ^= 0x01; /* IP header checksum */
	expect_drop(&ic, f, len, -EINVAL);
	len = build(f, 0, 20, 0);
	f[len - 1] ^= 0x80; /* payload byte: ICMP checksum no longer matches */
	expect_drop(&ic, f, len, -EINVAL);
	len = build(f, 0, 21, 0); /* odd length: the tail byte counts */
	f[len - 1] ^= 0x01;
	expect_drop(&ic, f, len, -EINVAL);
	ck_assert_uint_eq(ic.stats.bad_csum, 3);
}
END_TEST

static void fix_ip_csum(uint8_t *f)
{
	ftoe_put_be16(f + 24, 0);
	ftoe_put_be16(f + 24, ftoe_csum(f + 14, 20));
}

START_TEST(icmp_not_answered)
{
	struct ftoe_icmp ic;
	uint8_t f[200];
	size_t len;

	setup(&ic);
	/* Another address. */
	len = build(f, 0, 8, 0);
	f[14 + 19] = 6;
	fix_ip_csum(f);
	expect_drop(&ic, f, len, -EOPNOTSUPP);
	/* Broadcast and multicast sources. */
	len = build(f, 0, 8, 0);
	memset(f + 14 + 12, 0xff, 4);
	fix_ip_csum(f);
	expect_drop(&ic, f, len, -EOPNOTSUPP);
	len = build(f, 0, 8, 0);
	f[14 + 12] = 239;
	fix_ip_csum(f);
	expect_drop(&ic, f, len, -EOPNOTSUPP);
	ck_assert_uint_eq(ic.stats.bad_addr, 3);
	/* Fragments (MF, then an offset). */
	len = build(f, 0, 8, 0);
	ftoe_put_be16(f + 20, 0x2000);
	fix_ip_csum(f);
	expect_drop(&ic, f, len, -EOPNOTSUPP);
	ftoe_put_be16(f + 20, 0x0010);
	fix_ip_csum(f);
	expect_drop(&ic, f, len, -EOPNOTSUPP);
	ck_assert_uint_eq(ic.stats.fragments, 2);
	/* An echo reply or another type is not answered. */
	len = build(f, 0, 8, 0);
	f[34] = 0;
	ftoe_put_be16(f + 36, 0);
	ftoe_put_be16(f + 36, ftoe_csum(f + 34, 16));
	expect_drop(&ic, f, len, -EOPNOTSUPP);
	ck_assert_uint_eq(ic.stats.not_echo, 1);
	/* Not ICMP (UDP) and not IPv4. */
	len = build(f, 0, 8, 0);
	f[14 + 9] = 17;
	fix_ip_csum(f);
	expect_drop(&ic, f, len, -EINVAL);
	len = build(f, 0, 8, 0);
	f[13] = 0x06;
	expect_drop(&ic, f, len, -EINVAL);
	ck_assert_uint_eq(ic.stats.bad_ip, 2);
}
END_TEST

START_TEST(icmp_init_checks)
{
	struct ftoe_icmp ic;
	struct ftoe_icmp_cfg cfg = { 0 };
	struct ftoe_icmp_ops ops = { .xmit = cap_xmit };

	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_icmp_init(&ic, &cfg, &ops), -EINVAL);
	memcpy(&cfg.ip_be, our_ip, 4);
	ck_assert_int_eq(ftoe_icmp_init(&ic, &cfg, &ops), 0);
	ck_assert_uint_eq(ic.cfg.ttl, 64);
	ops.xmit = NULL;
	ck_assert_int_eq(ftoe_icmp_init(&ic, &cfg, &ops), -EINVAL);
}
END_TEST

static Suite *icmp_suite(void)
{
	Suite *s = suite_create("core_icmp");
	TCase *tc = tcase_create("icmp");

	tcase_add_test(tc, icmp_init_checks);
	tcase_add_test(tc, icmp_echo_reply);
	tcase_add_test(tc, icmp_padding_and_options);
	tcase_add_test(tc, icmp_truncated);
	tcase_add_test(tc, icmp_bad_checksums);
	tcase_add_test(tc, icmp_not_answered);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(icmp_suite)
