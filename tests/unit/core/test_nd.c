/* test_nd.c - IPv6 neighbour discovery (NS/NA, cache, expiry, resolver retries) and echo replies. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/nd.h"
#include "core/csum.h"
#include "core/segment.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull
#define FMAX 1600

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t ours6[16] = { 0xfd, 0, [15] = 5 };
static const uint8_t peer6[16] = { 0xfd, 0, [15] = 2 };
static const uint8_t other6[16] = { 0xfd, 0, [15] = 9 };
static const uint8_t offlink6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
static const uint8_t unspec6[16];

static uint8_t sent[16][FMAX];
static size_t sent_len[16];
static unsigned int nr_sent;
static uint8_t resolved[16][16];
static unsigned int nr_resolved;

static int cap_xmit(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	ck_assert_uint_le(len, FMAX);
	if (nr_sent < 16) {
		memcpy(sent[nr_sent], frame, len);
		sent_len[nr_sent] = len;
	}
	nr_sent++;
	return 0;
}

static void cap_resolved(void *ctx, const uint8_t ip6[16])
{
	(void)ctx;
	if (nr_resolved < 16)
		memcpy(resolved[nr_resolved], ip6, 16);
	nr_resolved++;
}

static struct ftoe_nd *setup(void)
{
	struct ftoe_nd *nd = calloc(1, sizeof(*nd));
	struct ftoe_nd_cfg cfg = { .prefix_len = 64 };
	struct ftoe_nd_ops ops = { .xmit = cap_xmit, .resolved = cap_resolved };

	memcpy(cfg.ip6, ours6, 16);
	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_nd_init(nd, &cfg, &ops), 0);
	nr_sent = nr_resolved = 0;
	return nd;
}

/* An ICMPv6 frame from src to dst with message msg (checksum filled). */
static size_t mk(uint8_t *f, const uint8_t *src_mac, const uint8_t *src, const uint8_t *dst,
		 uint8_t hops, const uint8_t *msg, size_t mlen)
{
	uint8_t *ip = f + 14;

	memcpy(f, our_mac, 6);
	memcpy(f + 6, src_mac, 6);
	ftoe_put_be16(f + 12, FTOE_ETH_P_IPV6);
	memset(ip, 0, 40);
	ip[0] = 0x60;
	ftoe_put_be16(ip + 4, (uint16_t)mlen);
	ip[6] = FTOE_IPPROTO_ICMPV6;
	ip[7] = hops;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	memcpy(ip + 40, msg, mlen);
	ip[42] = ip[43] = 0;
	ftoe_put_be16(ip + 42, ftoe_csum_finish(ftoe_csum_add(
		ftoe_csum_pseudo6(src, dst, FTOE_IPPROTO_ICMPV6, (uint32_t)mlen), ip + 40, mlen)));
	return 14 + 40 + mlen;
}

/* NS for target, with a source link-layer option of mac (NULL: none). */
static size_t mk_ns(uint8_t *f, const uint8_t *src, const uint8_t *target, const uint8_t *mac)
{
	uint8_t m[32] = { FTOE_ICMP6_NS };

	memcpy(m + 8, target, 16);
	if (!mac)
		return mk(f, peer_mac, src, ours6, 255, m, 24);
	m[24] = 1;
	m[25] = 1;
	memcpy(m + 26, mac, 6);
	return mk(f, peer_mac, src, ours6, 255, m, 32);
}

static size_t mk_na(uint8_t *f, const uint8_t *target, const uint8_t *mac)
{
	uint8_t m[32] = { FTOE_ICMP6_NA, 0, 0, 0, 0x60 };

	memcpy(m + 8, target, 16);
	m[24] = 2;
	m[25] = 1;
	memcpy(m + 26, mac, 6);
	return mk(f, peer_mac, target, ours6, 255, m, 32);
}

/* The checksum of a sent ICMPv6 frame is right. */
static void check_sent_csum(unsigned i)
{
	const uint8_t *ip = sent[i] + 14;
	uint32_t plen = ftoe_get_be16(ip + 4);

	ck_assert_uint_eq(ftoe_csum_finish(ftoe_csum_add(
		ftoe_csum_pseudo6(ip + 8, ip + 24, FTOE_IPPROTO_ICMPV6, plen), ip + 40, plen)), 0);
}

START_TEST(nd_init_checks)
{
	struct ftoe_nd nd;
	struct ftoe_nd_cfg cfg = { .prefix_len = 64 };
	struct ftoe_nd_ops ops = { .xmit = cap_xmit };

	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_nd_init(&nd, &cfg, &ops), -EINVAL);	/* no address */
	memcpy(cfg.ip6, ours6, 16);
	cfg.prefix_len = 129;
	ck_assert_int_eq(ftoe_nd_init(&nd, &cfg, &ops), -EINVAL);
	cfg.prefix_len = 64;
	cfg.mac[0] = 1;
	ck_assert_int_eq(ftoe_nd_init(&nd, &cfg, &ops), -EINVAL);	/* multicast MAC */
	cfg.mac[0] = 2;
	ck_assert_int_eq(ftoe_nd_init(&nd, &cfg, &ops), 0);
}
END_TEST

/* RFC 4861 7.2.3/7.2.4: an NS for our address gets a solicited NA with
 * our MAC, to the solicitation's source; its sender is cached. */
START_TEST(nd_ns_answered_and_cached)
{
	struct ftoe_nd *nd = setup();
	uint8_t f[FMAX], mac[6];
	size_t n = mk_ns(f, peer6, ours6, peer_mac);
	const uint8_t *ip, *m;

	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, 1 * SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	ip = sent[0] + 14;
	m = ip + 40;
	ck_assert_mem_eq(sent[0], peer_mac, 6);
	ck_assert_mem_eq(sent[0] + 6, our_mac, 6);
	ck_assert_uint_eq(ftoe_get_be16(sent[0] + 12), FTOE_ETH_P_IPV6);
	ck_assert_uint_eq(ip[7], 255);
	ck_assert_mem_eq(ip + 8, ours6, 16);
	ck_assert_mem_eq(ip + 24, peer6, 16);
	ck_assert_uint_eq(m[0], FTOE_ICMP6_NA);
	ck_assert_uint_eq(m[4], 0x60);	/* solicited, override */
	ck_assert_mem_eq(m + 8, ours6, 16);
	ck_assert_uint_eq(m[24], 2);	/* target link-layer address */
	ck_assert_mem_eq(m + 26, our_mac, 6);
	check_sent_csum(0);
	/* the sender is known now: no solicitation for it */
	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, 2 * SEC), 0);
	ck_assert_mem_eq(mac, peer_mac, 6);
	ck_assert_uint_eq(nr_sent, 1);
	/* an NS for another address is not ours */
	n = mk_ns(f, peer6, other6, peer_mac);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, 2 * SEC), -EOPNOTSUPP);
	ck_assert_uint_eq(nr_sent, 1);
	free(nd);
}
END_TEST

/* RFC 4862 5.4.3: duplicate address detection of our address is answered
 * to all nodes; an unspecified source with a link-layer option is bad. */
START_TEST(nd_dad_defended)
{
	struct ftoe_nd *nd = setup();
	uint8_t f[FMAX];
	size_t n = mk_ns(f, unspec6, ours6, NULL);

	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent[0][0], 0x33);
	ck_assert_uint_eq(sent[0][14 + 24], 0xff);	/* ff02::1 */
	ck_assert_uint_eq(sent[0][14 + 39], 1);
	ck_assert_uint_eq(sent[0][14 + 40 + 4], 0x20);	/* override, not solicited */
	ck_assert_uint_eq(nd->stats.dad_answered, 1);
	n = mk_ns(f, unspec6, ours6, peer_mac);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	ck_assert_uint_eq(nr_sent, 1);
	free(nd);
}
END_TEST

/* RFC 4861 7.1.1: hop limit 255, code 0, checksum, length, options. */
START_TEST(nd_malformed_dropped)
{
	struct ftoe_nd *nd = setup();
	uint8_t f[FMAX], m[32] = { FTOE_ICMP6_NS };
	size_t n;

	memcpy(m + 8, ours6, 16);
	n = mk(f, peer_mac, peer6, ours6, 64, m, 24);	/* hop limit */
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	m[1] = 1;					/* code */
	n = mk(f, peer_mac, peer6, ours6, 255, m, 24);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	m[1] = 0;
	n = mk(f, peer_mac, peer6, ours6, 255, m, 20);	/* too short */
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	m[24] = 1;					/* option of length 0 */
	n = mk(f, peer_mac, peer6, ours6, 255, m, 32);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	m[25] = 2;					/* option past the end */
	n = mk(f, peer_mac, peer6, ours6, 255, m, 32);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	n = mk_ns(f, peer6, ours6, peer_mac);		/* checksum */
	f[n - 1] ^= 1;
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EINVAL);
	f[n - 1] ^= 1;
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n - 8, NULL, SEC), -EINVAL);	/* truncated */
	ck_assert_int_eq(ftoe_nd_rx(nd, f, 30, NULL, SEC), -EINVAL);
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_uint_eq(nd->stats.rx_malformed, 8);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	free(nd);
}
END_TEST

/* 7.2.2: a miss solicits the solicited-node group, retries every second,
 * gives up after 3; an NA resolves and calls resolved. */
START_TEST(nd_resolve_retry_timeout_and_na)
{
	struct ftoe_nd *nd = setup();
	uint8_t f[FMAX], mac[6];
	size_t n;

	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, 0), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent[0][0], 0x33);
	ck_assert_uint_eq(sent[0][2], 0xff);		/* 33:33:ff:xx:xx:xx */
	ck_assert_uint_eq(sent[0][5], peer6[15]);
	ck_assert_uint_eq(sent[0][14 + 40], FTOE_ICMP6_NS);
	ck_assert_mem_eq(sent[0] + 14 + 40 + 8, peer6, 16);
	ck_assert_mem_eq(sent[0] + 14 + 40 + 26, our_mac, 6);	/* source link-layer */
	check_sent_csum(0);
	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, SEC / 2), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(ftoe_nd_poll(nd, SEC / 2), SEC / 2);
	ftoe_nd_poll(nd, SEC);
	ftoe_nd_poll(nd, 2 * SEC);
	ck_assert_uint_eq(nr_sent, 3);
	ck_assert_uint_eq(ftoe_nd_poll(nd, 3 * SEC), UINT64_MAX);
	ck_assert_uint_eq(nd->stats.timeouts, 1);
	ck_assert_ptr_null(ftoe_nd_find(nd, peer6));
	/* again, answered this time */
	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, 4 * SEC), -EAGAIN);
	n = mk_na(f, peer6, peer_mac);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, 4 * SEC), 0);
	ck_assert_uint_eq(nr_resolved, 1);
	ck_assert_mem_eq(resolved[0], peer6, 16);
	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, 5 * SEC), 0);
	ck_assert_mem_eq(mac, peer_mac, 6);
	/* an NA nobody asked for creates nothing */
	n = mk_na(f, other6, peer_mac);
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, 5 * SEC), 0);
	ck_assert_ptr_null(ftoe_nd_find(nd, other6));
	free(nd);
}
END_TEST

/* Entries expire after 30 s without a confirmation; off-link, multicast
 * and our own address are unreachable. */
START_TEST(nd_expiry_and_unreachable)
{
	struct ftoe_nd *nd = setup();
	uint8_t f[FMAX], mac[6];
	static const uint8_t mcast[16] = { 0xff, 0x02, [15] = 1 };
	size_t n = mk_ns(f, peer6, ours6, peer_mac);

	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), 0);
	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, 30 * SEC), 0);
	ftoe_nd_poll(nd, 31 * SEC);
	ck_assert_uint_eq(nd->stats.expired, 1);
	nr_sent = 0;
	ck_assert_int_eq(ftoe_nd_lookup(nd, peer6, mac, 31 * SEC), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_int_eq(ftoe_nd_lookup(nd, offlink6, mac, 31 * SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_nd_lookup(nd, mcast, mac, 31 * SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_nd_lookup(nd, ours6, mac, 31 * SEC), -EHOSTUNREACH);
	free(nd);
}
END_TEST

/* RFC 4443 4.2: the reply carries the request's data back, from our
 * address; echo to another address or a multicast source is ignored. */
START_TEST(nd_echo_reply)
{
	struct ftoe_nd *nd = setup();
	uint8_t f[FMAX], m[64] = { FTOE_ICMP6_ECHO_REQUEST, 0, 0, 0, 0x12, 0x34, 0, 7 };
	static const uint8_t mcast[16] = { 0xff, 0x02, [15] = 1 };
	size_t n;

	memcpy(m + 8, "ping data", 9);
	n = mk(f, peer_mac, peer6, ours6, 64, m, sizeof(m));
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent_len[0], n);
	ck_assert_mem_eq(sent[0], peer_mac, 6);
	ck_assert_mem_eq(sent[0] + 14 + 8, ours6, 16);
	ck_assert_mem_eq(sent[0] + 14 + 24, peer6, 16);
	ck_assert_uint_eq(sent[0][14 + 40], FTOE_ICMP6_ECHO_REPLY);
	ck_assert_mem_eq(sent[0] + 14 + 44, m + 4, sizeof(m) - 4);
	check_sent_csum(0);
	n = mk(f, peer_mac, peer6, other6, 64, m, sizeof(m));
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EOPNOTSUPP);
	n = mk(f, peer_mac, mcast, ours6, 64, m, sizeof(m));
	ck_assert_int_eq(ftoe_nd_rx(nd, f, n, NULL, SEC), -EOPNOTSUPP);
	ck_assert_uint_eq(nr_sent, 1);
	free(nd);
}
END_TEST

static Suite *nd_suite(void)
{
	Suite *s = suite_create("core_nd");
	TCase *tc = tcase_create("nd");

	tcase_add_test(tc, nd_init_checks);
	tcase_add_test(tc, nd_ns_answered_and_cached);
	tcase_add_test(tc, nd_dad_defended);
	tcase_add_test(tc, nd_malformed_dropped);
	tcase_add_test(tc, nd_resolve_retry_timeout_and_na);
	tcase_add_test(tc, nd_expiry_and_unreachable);
	tcase_add_test(tc, nd_echo_reply);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(nd_suite)
