/* test_md_snapshot.c - the flow's TCP snapshot in struct flextoe_md at rx-post and at tx-post (xmit_md). */
#include <string.h>

#include "core/byteorder.h"
#include "core/engine_internal.h"
#include "core/hooks.h"
#include "core/md_snapshot.h"
#include "core/segment.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

/* A TCP segment's fields, parsed from an Ethernet/IPv4 frame. */
struct seg_view {
	uint32_t seq, ack, len;
	uint8_t flags;
};

static void parse(const uint8_t *f, size_t len, struct seg_view *v)
{
	const uint8_t *ip = f + FTOE_ETH_HLEN;
	uint32_t ihl = (ip[0] & 0xf) * 4u, iplen = ftoe_get_be16(ip + 2);
	const uint8_t *th = ip + ihl;
	uint32_t thlen = (th[12] >> 4) * 4u;

	ck_assert_uint_ge(len, FTOE_ETH_HLEN + iplen);
	v->seq = ftoe_get_be32(th + 4);
	v->ack = ftoe_get_be32(th + 8);
	v->flags = th[13];
	v->len = iplen - ihl - thlen;
}

/* ip_version and the addresses (offsets 60-95) are the frame's, IPv4 as
 * ::ffff:a.b.c.d (include/flextoe/bpf.h). */
static void check_addrs(const struct flextoe_md *md, const uint8_t *f)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *ip = f + FTOE_ETH_HLEN;

	ck_assert_uint_eq(md->ip_version, 4);
	ck_assert(!(md->flags & FLEXTOE_MDF_IPV6));
	ck_assert_mem_eq(md->saddr, mapped, 12);
	ck_assert_mem_eq(md->saddr + 12, ip + 12, 4);
	ck_assert_mem_eq(md->daddr, mapped, 12);
	ck_assert_mem_eq(md->daddr + 12, ip + 16, 4);
	ck_assert_uint_eq(md->pad1, 0);
	ck_assert_uint_eq(md->reserved, 0);
}

static bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(b - a) >= 0;
}

/* ---- tx-post: what the engine hands to xmit_md --------------------------- */

static int (*orig_xmit)(void *ctx, unsigned int q, const void *frame, size_t len);
static unsigned long md_calls, md_data, md_acks, plain_calls;

static int check_xmit_md(void *ctx, unsigned int q, const void *frame, size_t len,
			 const struct flextoe_md *md)
{
	struct seg_view v;
	uint32_t span;

	parse(frame, len, &v);
	span = v.len + !!(v.flags & FTOE_TCP_SYN) + !!(v.flags & FTOE_TCP_FIN);
	ck_assert_uint_eq(md->size, sizeof(*md));
	ck_assert_uint_eq(md->version, FLEXTOE_MD_VERSION);
	ck_assert_uint_eq(md->hook, FLEXTOE_HOOK_TX_POST);
	ck_assert_uint_eq(md->dir, FLEXTOE_DIR_TX);
	ck_assert(md->flags & FLEXTOE_MDF_FLOW);
	ck_assert(md->tstamp_ns != 0);
	check_addrs(md, frame);
	/* The ACK field is rcv_nxt when the segment was built (RFC 9293 3.4). */
	if (v.flags & FTOE_TCP_ACK)
		ck_assert_uint_eq(md->rcv_nxt, v.ack);
	if (span && !(v.flags & FTOE_TCP_RST)) {
		/* snd_nxt as this segment left it, however many of the batch follow */
		ck_assert_uint_eq(md->snd_nxt, v.seq + span);
		ck_assert(seq_le(md->snd_una, v.seq));
		if (v.len)
			md_data++;
	} else if (!(v.flags & FTOE_TCP_RST) && v.seq != md->snd_una - 1 /* probe */) {
		ck_assert_uint_eq(md->snd_nxt, v.seq);
		md_acks++;
	}
	ck_assert(seq_le(md->snd_una, md->snd_nxt));
	ck_assert_uint_le(md->rcv_wnd, 64 * 1024);	/* lb_default_cfg's rx buffer */
	md_calls++;
	return orig_xmit(ctx, q, frame, len);
}

static int count_xmit(void *ctx, unsigned int q, const void *frame, size_t len)
{
	plain_calls++;
	return orig_xmit(ctx, q, frame, len);
}

/* ---- rx-post: what the engine hands to the hook (begin) ------------------ */

static unsigned long rx_runs, rx_data;

static int snap_begin(void *ctx, enum flextoe_hook hook, struct ftoe_hook_frame *f)
{
	struct seg_view v;

	(void)ctx;
	ck_assert_uint_eq(hook, FLEXTOE_HOOK_RX_POST);
	ck_assert_uint_eq(f->md.hook, FLEXTOE_HOOK_RX_POST);
	ck_assert_uint_eq(f->md.dir, FLEXTOE_DIR_RX);
	ck_assert(f->md.flags & FLEXTOE_MDF_FLOW);
	check_addrs(&f->md, f->data);
	parse(f->data, f->len, &v);
	/* After the protocol stage: in-order data has advanced rcv_nxt past it. */
	if (v.len && !(f->md.flags & FLEXTOE_MDF_OOO)) {
		ck_assert(seq_le(v.seq + v.len, f->md.rcv_nxt));
		rx_data++;
	}
	ck_assert(seq_le(f->md.snd_una, f->md.snd_nxt));
	rx_runs++;
	return 0;
}

static uint32_t pass_run(void *ctx, void *handle)
{
	(void)ctx;
	(void)handle;
	return FTOE_XDP_PASS;
}

static void nop_end(void *ctx, struct ftoe_hook_frame *f, bool commit)
{
	(void)ctx;
	(void)f;
	(void)commit;
}

static const struct ftoe_hook_ops snap_ops = {
	.begin = snap_begin, .run = pass_run, .end = nop_end,
};

struct both {
	struct app_stream s[2];
};

static bool both_step(struct lb_world *w, void *arg)
{
	struct both *b = arg;
	bool x = app_stream_step(w, &b->s[0]);
	bool y = app_stream_step(w, &b->s[1]);

	return x && y;
}

static void run_transfer(struct lb_world *w, uint16_t port, uint64_t there, uint64_t back)
{
	struct both b;
	int c, a;

	memset(&b, 0, sizeof(b));
	ck_assert(app_connect(w, port, &c, &a));
	b.s[0] = (struct app_stream){ .tx_side = 0, .stx = c, .srx = a, .id = 1, .len = there };
	b.s[1] = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c, .id = 2, .len = back };
	ck_assert(lb_run(w, both_step, &b, 10 * SEC));
	ck_assert_uint_eq(b.s[0].bad + b.s[1].bad, 0);
}

START_TEST(snapshot_at_both_hooks)
{
	struct ftoe_hook_prog tx = { .handle = (void *)1, .id = 1,
				     .chain_call_actions = FTOE_HOOK_CHAIN_DEFAULT };
	struct ftoe_hook_prog rx = { .handle = (void *)2, .id = 2,
				     .chain_call_actions = FTOE_HOOK_CHAIN_DEFAULT };
	struct ftoe_engine_cfg ca;
	struct ftoe_hooks *h;
	struct lb_world w;
	struct ftoe_engine *e;
	unsigned long calls;

	ck_assert_int_eq(ftoe_hooks_create(&snap_ops, &h), 0);
	lb_default_cfg(&ca, LB_IP_A);
	ca.hooks = h;
	lb_init(&w, 7, &ca, NULL);
	e = w.s[0].eng;
	orig_xmit = e->io.xmit;
	e->io.xmit = count_xmit;
	e->io.xmit_md = check_xmit_md;
	md_calls = md_data = md_acks = plain_calls = rx_runs = rx_data = 0;

	/* No program at tx-post: the engine never builds a snapshot. */
	run_transfer(&w, 80, 100000, 30000);
	ck_assert_uint_eq(md_calls, 0);
	ck_assert_uint_gt(plain_calls, 0);
	ck_assert_uint_eq(rx_runs, 0);

	/* Programs at tx-post and rx-post: every segment of a flow goes
	 * through xmit_md with its snapshot. */
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_TX_POST, &tx), 0);
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_RX_POST, &rx), 0);
	plain_calls = 0;
	run_transfer(&w, 81, 200000, 50000);
	ck_assert_uint_gt(md_data, 100);	/* 200000 / 1448 */
	ck_assert_uint_gt(md_acks, 0);
	ck_assert_uint_eq(plain_calls, 0);
	ck_assert_uint_gt(rx_data, 20);		/* 50000 / 1448 */

	/* Detached again: back to plain xmit. */
	ck_assert_int_eq(ftoe_hooks_detach(h, 1, NULL), 0);
	ck_assert_int_eq(ftoe_hooks_detach(h, 2, NULL), 0);
	calls = md_calls;
	run_transfer(&w, 82, 50000, 0);
	ck_assert_uint_eq(md_calls, calls);
	ck_assert_uint_gt(plain_calls, 0);

	lb_fini(&w);
	ftoe_hooks_destroy(h);
}
END_TEST

/* Where there is no flow (rx-pre, tx-post of ARP/ICMP/ND): the addresses
 * come from the frame, behind up to two VLAN tags. */
START_TEST(frame_addrs)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t f[128] = { 0 }, src6[16] = { 0xfd, [15] = 1 }, dst6[16] = { 0xfd, [15] = 2 };
	struct flextoe_md md;

	/* IPv4 */
	memset(&md, 0, sizeof(md));
	ftoe_put_be16(f + 12, FTOE_ETH_P_IPV4);
	f[14] = 0x45;
	ftoe_put_be32(f + 14 + 12, 0x0a000001);
	ftoe_put_be32(f + 14 + 16, 0x0a000002);
	ftoe_md_frame_addrs(&md, f, 60);
	ck_assert_uint_eq(md.ip_version, 4);
	ck_assert(!(md.flags & FLEXTOE_MDF_IPV6));
	ck_assert_mem_eq(md.saddr, mapped, 12);
	ck_assert_uint_eq(ftoe_get_be32(md.saddr + 12), 0x0a000001);
	ck_assert_uint_eq(ftoe_get_be32(md.daddr + 12), 0x0a000002);
	/* IPv6 behind 802.1ad + 802.1Q */
	memset(&md, 0, sizeof(md));
	memset(f, 0, sizeof(f));
	ftoe_put_be16(f + 12, FTOE_ETH_P_8021AD);
	ftoe_put_be16(f + 16, FTOE_ETH_P_8021Q);
	ftoe_put_be16(f + 20, FTOE_ETH_P_IPV6);
	f[22] = 0x60;
	memcpy(f + 22 + 8, src6, 16);
	memcpy(f + 22 + 24, dst6, 16);
	ftoe_md_frame_addrs(&md, f, 22 + 40);
	ck_assert_uint_eq(md.ip_version, 6);
	ck_assert(md.flags & FLEXTOE_MDF_IPV6);
	ck_assert_mem_eq(md.saddr, src6, 16);
	ck_assert_mem_eq(md.daddr, dst6, 16);
	/* one byte short of the header, or ARP: nothing */
	memset(&md, 0, sizeof(md));
	ftoe_md_frame_addrs(&md, f, 22 + 39);
	ck_assert_uint_eq(md.ip_version, 0);
	ftoe_put_be16(f + 20, FTOE_ETH_P_ARP);
	ftoe_md_frame_addrs(&md, f, sizeof(f));
	ck_assert_uint_eq(md.ip_version, 0);
	ck_assert_uint_eq(md.flags, 0);
}
END_TEST

static Suite *md_snapshot_suite(void)
{
	Suite *s = suite_create("core_md_snapshot");
	TCase *tc = tcase_create("md");

	tcase_add_test(tc, snapshot_at_both_hooks);
	tcase_add_test(tc, frame_addrs);
	suite_add_tcase(s, tc);
	return s;
}
FTOE_TEST_SUITE(md_snapshot_suite)
