/* test_arp.c - ARP responder, cache (RFC 826 merge, expiry), resolver retries, gateway. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/arp.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

/* Captured output. */
static uint8_t sent[16][FTOE_ARP_FRAME_LEN];
static size_t sent_len[16];
static unsigned int nr_sent;
static uint32_t resolved[16];
static unsigned int nr_resolved;
static int xmit_fail;

static uint32_t ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	uint8_t x[4] = { a, b, c, d };
	uint32_t v;

	memcpy(&v, x, 4);
	return v;
}

static int cap_xmit(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	if (xmit_fail)
		return -ENOBUFS;
	ck_assert_uint_le(len, FTOE_ARP_FRAME_LEN);
	if (nr_sent < 16) {
		memcpy(sent[nr_sent], frame, len);
		sent_len[nr_sent] = len;
	}
	nr_sent++;
	return 0;
}

static void cap_resolved(void *ctx, uint32_t ip_be)
{
	(void)ctx;
	if (nr_resolved < 16)
		resolved[nr_resolved] = ip_be;
	nr_resolved++;
}

static struct ftoe_arp *setup(uint32_t prefix, uint32_t gw)
{
	struct ftoe_arp *arp = calloc(1, sizeof(*arp));
	struct ftoe_arp_cfg cfg = { .ip_be = ip(10, 0, 0, 5), .prefix_len = prefix,
				    .gateway_be = gw };
	struct ftoe_arp_ops ops = { .xmit = cap_xmit, .resolved = cap_resolved };

	memcpy(cfg.mac, our_mac, 6);
	nr_sent = nr_resolved = 0;
	xmit_fail = 0;
	ck_assert_ptr_nonnull(arp);
	ck_assert_int_eq(ftoe_arp_init(arp, &cfg, &ops), 0);
	return arp;
}

/* An ARP frame of len bytes (>= 42; the rest zero padding). */
static void build(uint8_t *f, size_t len, uint16_t op, const uint8_t *sha, uint32_t spa,
		  const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a = f + 14;

	memset(f, 0, len);
	memcpy(f, op == 1 ? bc : our_mac, 6);
	memcpy(f + 6, sha, 6);
	ftoe_put_be16(f + 12, 0x0806);
	ftoe_put_be16(a, 1);
	ftoe_put_be16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	ftoe_put_be16(a + 6, op);
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, &spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, &tpa, 4);
}

static void check_frame(const uint8_t *f, uint16_t op, const uint8_t *eth_dst,
			const uint8_t *tha, uint32_t tpa)
{
	uint32_t spa = ip(10, 0, 0, 5);

	ck_assert_mem_eq(f, eth_dst, 6);
	ck_assert_mem_eq(f + 6, our_mac, 6);
	ck_assert_uint_eq(ftoe_get_be16(f + 12), 0x0806);
	ck_assert_uint_eq(ftoe_get_be16(f + 14), 1);
	ck_assert_uint_eq(ftoe_get_be16(f + 16), 0x0800);
	ck_assert_uint_eq(f[18], 6);
	ck_assert_uint_eq(f[19], 4);
	ck_assert_uint_eq(ftoe_get_be16(f + 20), op);
	ck_assert_mem_eq(f + 22, our_mac, 6);
	ck_assert_mem_eq(f + 28, &spa, 4);
	ck_assert_mem_eq(f + 32, tha, 6);
	ck_assert_mem_eq(f + 38, &tpa, 4);
}

START_TEST(arp_init_checks)
{
	struct ftoe_arp arp;
	struct ftoe_arp_cfg cfg = { .ip_be = ip(10, 0, 0, 5), .prefix_len = 24 };
	struct ftoe_arp_ops ops = { .xmit = cap_xmit };

	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), 0);
	cfg.prefix_len = 33;
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), -EINVAL);
	cfg.prefix_len = 24;
	cfg.gateway_be = ip(10, 0, 1, 1); /* off-link gateway */
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), -EINVAL);
	cfg.gateway_be = ip(10, 0, 0, 5); /* ourselves */
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), -EINVAL);
	cfg.gateway_be = ip(10, 0, 0, 1);
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), 0);
	cfg.mac[0] = 0x01; /* multicast MAC */
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), -EINVAL);
	memcpy(cfg.mac, our_mac, 6);
	cfg.ip_be = 0;
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), -EINVAL);
	cfg.ip_be = ip(10, 0, 0, 5);
	ops.xmit = NULL;
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), -EINVAL);
}
END_TEST

START_TEST(arp_replies_to_request_and_caches_sender)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	const struct ftoe_arp_entry *e;
	uint8_t f[42], mac[6];

	build(f, sizeof(f), 1, peer_mac, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), 5 * SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(sent_len[0], 60);
	check_frame(sent[0], 2, peer_mac, peer_mac, ip(10, 0, 0, 2));
	for (int i = 42; i < 60; i++)
		ck_assert_uint_eq(sent[0][i], 0);
	ck_assert_uint_eq(arp->stats.replies_sent, 1);
	/* RFC 826: the requester was added to the cache. */
	e = ftoe_arp_find(arp, ip(10, 0, 0, 2));
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(e->state, FTOE_ARP_REACHABLE);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, 6 * SEC), 0);
	ck_assert_mem_eq(mac, peer_mac, 6);
	ck_assert_uint_eq(nr_sent, 1); /* cached: no request */
	ck_assert_uint_eq(nr_resolved, 0); /* nobody was waiting */
	free(arp);
}
END_TEST

START_TEST(arp_ignores_others_but_merges_known)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	const uint8_t new_mac[6] = { 0x02, 0, 0, 0, 0, 0x22 };
	uint8_t f[60], mac[6];

	/* Not for us: no reply, nothing learned. */
	build(f, sizeof(f), 1, peer_mac, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 9));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC), 0);
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_ptr_null(ftoe_arp_find(arp, ip(10, 0, 0, 2)));
	/* Learn it from a request to us ... */
	build(f, sizeof(f), 1, peer_mac, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	/* ... then a request to someone else with a new MAC updates it (merge). */
	build(f, sizeof(f), 1, new_mac, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 9));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), 2 * SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, 2 * SEC), 0);
	ck_assert_mem_eq(mac, new_mac, 6);
	/* The merge also refreshed the age: still valid 61 s after the first. */
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, 61 * SEC), 0);
	free(arp);
}
END_TEST

START_TEST(arp_probe_and_conflict)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	const uint8_t thief[6] = { 0x02, 0, 0, 0, 0, 0x66 };
	uint8_t f[42];

	/* RFC 5227 probe for our address: defended with a reply, no entry. */
	build(f, sizeof(f), 1, peer_mac, 0, zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC), 0);
	ck_assert_uint_eq(nr_sent, 1);
	check_frame(sent[0], 2, peer_mac, peer_mac, 0);
	ck_assert_ptr_null(ftoe_arp_find(arp, 0));
	/* Someone else announcing our address: counted, not cached, no reply. */
	build(f, sizeof(f), 1, thief, ip(10, 0, 0, 5), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC), 0);
	ck_assert_uint_eq(arp->stats.rx_conflict, 1);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_ptr_null(ftoe_arp_find(arp, ip(10, 0, 0, 5)));
	/* Our own announcement looped back is not a conflict. */
	build(f, sizeof(f), 1, our_mac, ip(10, 0, 0, 5), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC), 0);
	ck_assert_uint_eq(arp->stats.rx_conflict, 1);
	free(arp);
}
END_TEST

START_TEST(arp_malformed_dropped)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	const uint8_t mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	uint8_t good[42], *f;
	uint64_t expect = 0;

	build(good, sizeof(good), 1, peer_mac, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 5));
	/* Every truncation, in an exact-size buffer (ASan sees overreads). */
	for (size_t len = 0; len < sizeof(good); len++) {
		f = malloc(len ? len : 1);
		memcpy(f, good, len);
		ck_assert_int_eq(ftoe_arp_rx(arp, f, len, SEC), -EINVAL);
		free(f);
		expect++;
	}
	/* Field by field: htype, ptype, hlen, plen, op 0 and 3, EtherType. */
	static const struct { unsigned int off; uint8_t val; } bad[] = {
		{ 15, 6 }, { 16, 0x86 }, { 18, 8 }, { 19, 16 }, { 21, 0 }, { 21, 3 }, { 12, 0x08 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t c[42];

		memcpy(c, good, sizeof(c));
		c[bad[i].off] = bad[i].val;
		if (bad[i].off == 12)
			c[13] = 0x00; /* IPv4 EtherType */
		ck_assert_int_eq(ftoe_arp_rx(arp, c, sizeof(c), SEC), -EINVAL);
		expect++;
	}
	/* Group or zero sender MAC. */
	build(good, sizeof(good), 1, mcast, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, good, sizeof(good), SEC), -EINVAL);
	build(good, sizeof(good), 1, zero, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, good, sizeof(good), SEC), -EINVAL);
	expect += 2;
	ck_assert_uint_eq(arp->stats.rx_malformed, expect);
	ck_assert_uint_eq(nr_sent, 0);
	ck_assert_ptr_null(ftoe_arp_find(arp, ip(10, 0, 0, 2)));
	free(arp);
}
END_TEST

START_TEST(arp_resolve_retry_and_timeout)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t mac[6];
	uint64_t t = 100 * SEC;

	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 7), mac, t), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 1);
	check_frame(sent[0], 1, bc, zero, ip(10, 0, 0, 7));
	/* A second lookup while pending sends nothing new. */
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 7), mac, t + 1), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 1);
	/* The retry is due 1 s later. */
	ck_assert_uint_eq(ftoe_arp_poll(arp, t), SEC);
	ck_assert_uint_eq(ftoe_arp_poll(arp, t + SEC - 1), 1);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_uint_eq(ftoe_arp_poll(arp, t + SEC), SEC);
	ck_assert_uint_eq(nr_sent, 2);
	ck_assert_uint_eq(ftoe_arp_poll(arp, t + 2 * SEC), SEC);
	ck_assert_uint_eq(nr_sent, 3);
	check_frame(sent[2], 1, bc, zero, ip(10, 0, 0, 7));
	/* Three requests unanswered: gives up, no fourth. */
	ck_assert_uint_eq(ftoe_arp_poll(arp, t + 3 * SEC), UINT64_MAX);
	ck_assert_uint_eq(nr_sent, 3);
	ck_assert_uint_eq(arp->stats.timeouts, 1);
	ck_assert_ptr_null(ftoe_arp_find(arp, ip(10, 0, 0, 7)));
	/* A new lookup starts over. */
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 7), mac, t + 4 * SEC), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 4);
	free(arp);
}
END_TEST

START_TEST(arp_reply_resolves_pending)
{
	struct ftoe_arp *arp = setup(24, 0);
	uint8_t f[42], mac[6];

	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, SEC), -EAGAIN);
	build(f, sizeof(f), 2, peer_mac, ip(10, 0, 0, 2), our_mac, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC + 1000), 0);
	ck_assert_uint_eq(nr_sent, 1); /* the request; no answer to a reply */
	ck_assert_uint_eq(nr_resolved, 1);
	ck_assert_uint_eq(resolved[0], ip(10, 0, 0, 2));
	ck_assert_uint_eq(arp->stats.resolved, 1);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, 2 * SEC), 0);
	ck_assert_mem_eq(mac, peer_mac, 6);
	/* No retry pending any more; the next deadline is the expiry. */
	ck_assert_uint_eq(ftoe_arp_poll(arp, 3 * SEC), 60 * SEC + 1000 - 2 * SEC);
	ck_assert_uint_eq(nr_sent, 1);
	free(arp);
}
END_TEST

START_TEST(arp_gateway_and_unreachable)
{
	struct ftoe_arp *arp = setup(24, ip(10, 0, 0, 1));
	uint8_t f[42], mac[6];
	uint32_t hop;

	/* Off-link: the gateway is resolved, and both are reported. */
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(192, 168, 1, 1), mac, SEC), -EAGAIN);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(192, 168, 1, 2), mac, SEC), -EAGAIN);
	ck_assert_uint_eq(nr_sent, 1);
	ck_assert_mem_eq(sent[0] + 38, &(uint32_t){ ip(10, 0, 0, 1) }, 4);
	ck_assert_int_eq(ftoe_arp_next_hop(arp, ip(192, 168, 1, 1), &hop), 0);
	ck_assert_uint_eq(hop, ip(10, 0, 0, 1));
	build(f, sizeof(f), 2, gw_mac, ip(10, 0, 0, 1), our_mac, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), SEC), 0);
	ck_assert_uint_eq(nr_resolved, 3);
	ck_assert_uint_eq(resolved[0], ip(10, 0, 0, 1));
	ck_assert_uint_eq(resolved[1], ip(192, 168, 1, 1));
	ck_assert_uint_eq(resolved[2], ip(192, 168, 1, 2));
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(192, 168, 1, 1), mac, SEC), 0);
	ck_assert_mem_eq(mac, gw_mac, 6);
	free(arp);

	/* Without a gateway, off-link is unreachable; so are special addresses. */
	arp = setup(24, 0);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(192, 168, 1, 1), mac, SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 5), mac, SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 255), mac, SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(224, 0, 0, 1), mac, SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(255, 255, 255, 255), mac, SEC), -EHOSTUNREACH);
	ck_assert_int_eq(ftoe_arp_lookup(arp, 0, mac, SEC), -EHOSTUNREACH);
	ck_assert_uint_eq(nr_sent, 0);
	free(arp);
}
END_TEST

START_TEST(arp_expiry)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	uint8_t f[42], mac[6];

	build(f, sizeof(f), 1, peer_mac, ip(10, 0, 0, 2), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), 10 * SEC), 0);
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, 70 * SEC - 1), 0);
	/* 60 s without a refresh: resolved afresh. */
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 0, 2), mac, 70 * SEC), -EAGAIN);
	ck_assert_uint_eq(arp->stats.expired, 1);
	ck_assert_uint_eq(nr_sent, 2);
	/* poll() ages out idle entries too. */
	build(f, sizeof(f), 1, peer_mac, ip(10, 0, 0, 3), zero, ip(10, 0, 0, 5));
	ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), 100 * SEC), 0);
	ck_assert_ptr_nonnull(ftoe_arp_find(arp, ip(10, 0, 0, 3)));
	ftoe_arp_poll(arp, 160 * SEC);
	ck_assert_ptr_null(ftoe_arp_find(arp, ip(10, 0, 0, 3)));
	free(arp);
}
END_TEST

START_TEST(arp_cache_full_evicts_oldest)
{
	struct ftoe_arp *arp = setup(16, 0);
	static const uint8_t zero[6];
	uint8_t f[42], mac[6];

	for (unsigned int i = 0; i < FTOE_ARP_CACHE_SIZE + 1; i++) {
		uint8_t m[6] = { 0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i };

		build(f, sizeof(f), 1, m, ip(10, 0, (uint8_t)(1 + i / 200), (uint8_t)(1 + i % 200)),
		      zero, ip(10, 0, 0, 5));
		ck_assert_int_eq(ftoe_arp_rx(arp, f, sizeof(f), (1 + i) * 1000ull), 0);
	}
	ck_assert_uint_eq(arp->stats.evictions, 1);
	/* The first (oldest) went, the last is there. */
	ck_assert_ptr_null(ftoe_arp_find(arp, ip(10, 0, 1, 1)));
	ck_assert_int_eq(ftoe_arp_lookup(arp, ip(10, 0, 2, 57), mac, SEC), 0);
	ck_assert_uint_eq(mac[5], 0);
	ck_assert_uint_eq(mac[4], 1);
	free(arp);
}
END_TEST

START_TEST(arp_announce_and_tx_error)
{
	struct ftoe_arp *arp = setup(24, 0);
	static const uint8_t zero[6];
	const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	ck_assert_int_eq(ftoe_arp_announce(arp), 0);
	ck_assert_uint_eq(nr_sent, 1);
	/* RFC 5227 announcement: request, sender = target = our address. */
	check_frame(sent[0], 1, bc, zero, ip(10, 0, 0, 5));
	xmit_fail = 1;
	ck_assert_int_eq(ftoe_arp_announce(arp), -ENOBUFS);
	ck_assert_uint_eq(arp->stats.tx_errors, 1);
	ck_assert_uint_eq(arp->stats.requests_sent, 1);
	free(arp);
}
END_TEST

static Suite *arp_suite(void)
{
	Suite *s = suite_create("core_arp");
	TCase *tc = tcase_create("arp");

	tcase_add_test(tc, arp_init_checks);
	tcase_add_test(tc, arp_replies_to_request_and_caches_sender);
	tcase_add_test(tc, arp_ignores_others_but_merges_known);
	tcase_add_test(tc, arp_probe_and_conflict);
	tcase_add_test(tc, arp_malformed_dropped);
	tcase_add_test(tc, arp_resolve_retry_and_timeout);
	tcase_add_test(tc, arp_reply_resolves_pending);
	tcase_add_test(tc, arp_gateway_and_unreachable);
	tcase_add_test(tc, arp_expiry);
	tcase_add_test(tc, arp_cache_full_evicts_oldest);
	tcase_add_test(tc, arp_announce_and_tx_error);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(arp_suite)
