/* test_splice.c - connection splicing: the rewrite arithmetic (offsets, checksums, windows) and the control plane's checks, silence and release over the in-memory engine link. */
#include <errno.h>
#include <string.h>

#include "core/control/splice.h"
#include "core/engine_internal.h"
#include "core/hooks.h"
#include "core/segment.h"
#include "tests/unit/core/engine_app.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

/* ---- the arithmetic -------------------------------------------------------- */

/* RFC 1071 checksum of n bytes (n even), as the receiver computes it. */
static uint16_t csum_full(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i < n; i += 2) {
		uint16_t w;

		memcpy(&w, p + i, 2);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

START_TEST(csum_incremental_matches_full)
{
	uint64_t st = 0x1234567887654321ull;

	for (int round = 0; round < 20000; round++) {
		uint8_t buf[60];
		uint16_t ck;
		uint32_t sum;
		int nfields = 1 + (int)(xs(&st) % 6);

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)xs(&st);
		/* word 8 (bytes 16-17) is the checksum field, as in TCP */
		memset(buf + 16, 0, 2);
		ck = csum_full(buf, sizeof(buf), 0);
		memcpy(buf + 16, &ck, 2);
		ck_assert_uint_eq(csum_full(buf, sizeof(buf), 0), 0);
		sum = (uint16_t)~ck;
		for (int f = 0; f < nfields; f++) {
			/* a 32-bit or 16-bit field at an even offset, not the checksum */
			size_t off = 2 * (xs(&st) % 29);
			uint32_t ov, nv = xs(&st);

			if (off >= 14 && off <= 18)
				off = 20;
			if (round & 1) {
				memcpy(&ov, buf + off, 4);
				memcpy(buf + off, &nv, 4);
				sum = splice_csum_upd32(sum, ov, nv);
			} else {
				uint16_t o16, n16 = (uint16_t)nv;

				memcpy(&o16, buf + off, 2);
				memcpy(buf + off, &n16, 2);
				sum = splice_csum_upd16(sum, o16, n16);
			}
		}
		ck = (uint16_t)~splice_csum_fold(sum);
		memcpy(buf + 16, &ck, 2);
		/* the receiver's check (RFC 1071): the sum over everything,
		 * checksum included, is 0xffff */
		ck_assert_msg(csum_full(buf, sizeof(buf), 0) == 0, "round %d", round);
	}
}
END_TEST

START_TEST(window_rescaling)
{
	ck_assert_uint_eq(splice_window(1000, 7, 7), 1000);
	ck_assert_uint_eq(splice_window(1000, 7, 9), 250);
	ck_assert_uint_eq(splice_window(1000, 9, 7), 4000);
	ck_assert_uint_eq(splice_window(65535, 14, 0), 65535);	/* saturates */
	ck_assert_uint_eq(splice_window(3, 0, 2), 0);		/* rounds down */
}
END_TEST

START_TEST(entry_offsets)
{
	struct ftoe_splice_side x = {
		.local_mac = { 2, 0, 0, 0, 0, 5 }, .remote_mac = { 2, 0, 0, 0, 0, 1 },
		.local_ip = 0x0a000005, .remote_ip = 0x0a000001, .local_port = 80,
		.remote_port = 40000, .snd_nxt = 1000, .rcv_nxt = 0xfffffff0u, .ts_now = 500,
		.ts_recent = 7000, .snd_wscale = 7, .rcv_wscale = 9, .ts = true, .ecn = false,
		.sack = true, .flow_id = 3,
	};
	struct ftoe_splice_side y = {
		.local_mac = { 2, 0, 0, 0, 0, 5 }, .remote_mac = { 2, 0, 0, 0, 0, 9 },
		.local_ip = 0x0a000005, .remote_ip = 0x0a000009, .local_port = 33000,
		.remote_port = 9000, .snd_nxt = 50, .rcv_nxt = 2000000, .ts_now = 800,
		.ts_recent = 123, .snd_wscale = 2, .rcv_wscale = 9, .ts = true, .ecn = true,
		.sack = false, .flow_id = 4,
	};
	struct splice_key k, rk;
	struct splice_entry v, rv;
	uint32_t seq = 0xfffffff0u + 100, ack = 1000 + 5;

	ftoe_splice_entry(&x, &y, &k, &v);
	ftoe_splice_entry(&y, &x, &rk, &rv);
	/* keys as in the incoming frame (network order) */
	ck_assert_uint_eq(k.saddr, __builtin_bswap32(0x0a000001));
	ck_assert_uint_eq(k.daddr, __builtin_bswap32(0x0a000005));
	ck_assert_uint_eq(k.sport, __builtin_bswap16(40000));
	ck_assert_uint_eq(k.dport, __builtin_bswap16(80));
	ck_assert_uint_eq(v.daddr, __builtin_bswap32(0x0a000009));
	ck_assert_uint_eq(v.sport, __builtin_bswap16(33000));
	ck_assert_uint_eq(v.dport, __builtin_bswap16(9000));
	ck_assert_int_eq(memcmp(v.eth_dst, y.remote_mac, 6), 0);
	/* the reverse entry's key is the forward entry's rewrite, reversed */
	ck_assert_uint_eq(rk.saddr, v.daddr);
	ck_assert_uint_eq(rk.daddr, v.saddr);
	ck_assert_uint_eq(rk.sport, v.dport);
	ck_assert_uint_eq(rk.dport, v.sport);
	/* x's peer's next byte (rcv_nxt, wrapping) becomes y's snd_nxt */
	ck_assert_uint_eq((uint32_t)(x.rcv_nxt + v.seq_off), y.snd_nxt);
	ck_assert_uint_eq((uint32_t)(seq + v.seq_off), y.snd_nxt + 100);
	/* an ACK of what y's peer sent (through the reverse entry) maps back */
	ck_assert_uint_eq((uint32_t)(ack + v.ack_off), y.rcv_nxt + 5);
	ck_assert_uint_eq((uint32_t)(v.seq_off + rv.ack_off), 0);
	ck_assert_uint_eq((uint32_t)(v.ack_off + rv.seq_off), 0);
	/* TSval continues y's clock; an echo of a relayed TSval returns to it */
	ck_assert_uint_eq((uint32_t)(x.ts_recent + v.tsval_off), y.ts_now);
	ck_assert_uint_eq((uint32_t)(123 + 55 + rv.tsval_off + v.tsecr_off), 123 + 55);
	ck_assert_uint_eq(v.in_wscale, 7);
	ck_assert_uint_eq(v.out_wscale, 9);
	ck_assert_uint_eq(v.flags, SPLICE_F_TS | SPLICE_F_SACK);	/* y has ECN: keep it */
	ck_assert_uint_eq(rv.flags, SPLICE_F_TS | SPLICE_F_STRIP_ECN);
	ck_assert_uint_eq(v.engine_id, 3);
}
END_TEST

/* ---- the control plane over the engine link -------------------------------------
 * Side 1 plays the proxy: side 0 opens two connections to it, side 1
 * splices them.  No program runs here, so the "map" is a small table. */

#define FAKE_N 8
struct fake_map {
	bool gone;			/* no program: -ENODEV */
	struct { bool used; struct splice_key k; struct splice_entry v; } f[FAKE_N];
	struct { bool used; struct splice_key k; struct splice_end end; } e[FAKE_N];
	int done_sock[4], done_err[4], ndone;
	struct ftoe_splice_counts done_cnt[4];
};

static int fm_find(struct fake_map *m, enum ftoe_splice_map which, const void *key)
{
	for (int i = 0; i < FAKE_N; i++) {
		if (which == FTOE_SPLICE_FLOWS && m->f[i].used && !memcmp(&m->f[i].k, key, 12))
			return i;
		if (which == FTOE_SPLICE_ENDS && m->e[i].used && !memcmp(&m->e[i].k, key, 12))
			return i;
	}
	return -1;
}

static int fm_update(void *ctx, enum ftoe_splice_map which, const void *key, const void *val)
{
	struct fake_map *m = ctx;
	int i = fm_find(m, which, key);

	if (m->gone)
		return -ENODEV;
	for (int j = 0; i < 0 && j < FAKE_N; j++)
		if (!(which == FTOE_SPLICE_FLOWS ? m->f[j].used : m->e[j].used))
			i = j;
	if (i < 0)
		return -E2BIG;
	if (which == FTOE_SPLICE_FLOWS) {
		m->f[i].used = true;
		memcpy(&m->f[i].k, key, 12);
		memcpy(&m->f[i].v, val, sizeof(m->f[i].v));
	} else {
		m->e[i].used = true;
		memcpy(&m->e[i].k, key, 12);
		memcpy(&m->e[i].end, val, sizeof(m->e[i].end));
	}
	return 0;
}

static int fm_lookup(void *ctx, enum ftoe_splice_map which, const void *key, void *val)
{
	struct fake_map *m = ctx;
	int i = fm_find(m, which, key);

	if (m->gone)
		return -ENODEV;
	if (i < 0)
		return -ENOENT;
	if (which == FTOE_SPLICE_FLOWS)
		memcpy(val, &m->f[i].v, sizeof(m->f[i].v));
	else
		memcpy(val, &m->e[i].end, sizeof(m->e[i].end));
	return 0;
}

static int fm_remove(void *ctx, enum ftoe_splice_map which, const void *key)
{
	struct fake_map *m = ctx;
	int i = fm_find(m, which, key);

	if (m->gone)
		return -ENODEV;
	if (i < 0)
		return -ENOENT;
	if (which == FTOE_SPLICE_FLOWS)
		m->f[i].used = false;
	else
		m->e[i].used = false;
	return 0;
}

static void fm_done(void *arg, int sock, int err, const struct ftoe_splice_counts *cnt)
{
	struct fake_map *m = arg;

	if (m->ndone < 4) {
		m->done_cnt[m->ndone] = *cnt;
		m->done_sock[m->ndone] = sock;
		m->done_err[m->ndone++] = err;
	}
}

struct proxy {
	struct lb_world w;
	struct fake_map m;
	struct ftoe_splicer *sp;
	int c1, a1, c2, a2;	/* side 0 sockets c*, side 1 (proxy) sockets a* */
};

static void proxy_setup(struct proxy *p, uint64_t seed)
{
	struct ftoe_splice_map_ops ops = { &p->m, fm_update, fm_lookup, fm_remove };

	memset(&p->m, 0, sizeof(p->m));
	lb_init(&p->w, seed, NULL, NULL);
	ck_assert(app_connect(&p->w, 80, &p->c1, &p->a1));
	ck_assert(app_connect(&p->w, 81, &p->c2, &p->a2));
	ck_assert_int_eq(ftoe_splicer_create(p->w.s[1].eng, &ops, &p->sp), 0);
}

static void proxy_teardown(struct proxy *p)
{
	ftoe_splicer_destroy(p->sp);
	lb_fini(&p->w);
}

/* IPv6: the same offsets as the IPv4 entry, 16-byte addresses as on the wire */
START_TEST(entry6_offsets_and_addresses)
{
	struct ftoe_splice_side x = {
		.remote_mac = { 2, 0, 0, 0, 0, 1 }, .ipv6 = true,
		.local_ip6 = { 0xfd, [15] = 5 }, .remote_ip6 = { 0xfd, [15] = 1 },
		.local_port = 80, .remote_port = 40000, .snd_nxt = 1000, .rcv_nxt = 0xfffffff0u,
		.ts_now = 500, .ts_recent = 7000, .snd_wscale = 7, .rcv_wscale = 9, .ts = true,
		.sack = true, .flow_id = 3,
	};
	struct ftoe_splice_side y = {
		.remote_mac = { 2, 0, 0, 0, 0, 9 }, .ipv6 = true,
		.local_ip6 = { 0xfd, [15] = 5 }, .remote_ip6 = { 0xfd, [14] = 1, [15] = 9 },
		.local_port = 33000, .remote_port = 9000, .snd_nxt = 50, .rcv_nxt = 2000000,
		.ts_now = 800, .ts_recent = 123, .snd_wscale = 2, .rcv_wscale = 9, .ts = true,
		.ecn = true, .flow_id = 4,
	};
	struct splice_key k4;
	struct splice_entry v4;
	struct splice_key6 k;
	struct splice_entry6 v;

	ftoe_splice_entry(&x, &y, &k4, &v4);
	ftoe_splice_entry6(&x, &y, &k, &v);
	ck_assert_int_eq(memcmp(k.saddr, x.remote_ip6, 16), 0);
	ck_assert_int_eq(memcmp(k.daddr, x.local_ip6, 16), 0);
	ck_assert_uint_eq(k.sport, __builtin_bswap16(40000));
	ck_assert_uint_eq(k.dport, __builtin_bswap16(80));
	ck_assert_int_eq(memcmp(v.saddr, y.local_ip6, 16), 0);
	ck_assert_int_eq(memcmp(v.daddr, y.remote_ip6, 16), 0);
	ck_assert_int_eq(memcmp(v.eth_dst, y.remote_mac, 6), 0);
	ck_assert_uint_eq(v.sport, __builtin_bswap16(33000));
	ck_assert_uint_eq(v.dport, __builtin_bswap16(9000));
	ck_assert_uint_eq(v.seq_off, v4.seq_off);
	ck_assert_uint_eq((uint32_t)(x.rcv_nxt + v.seq_off), y.snd_nxt);
	ck_assert_uint_eq(v.ack_off, v4.ack_off);
	ck_assert_uint_eq(v.tsval_off, v4.tsval_off);
	ck_assert_uint_eq(v.tsecr_off, v4.tsecr_off);
	ck_assert_uint_eq(v.in_wscale, 7);
	ck_assert_uint_eq(v.out_wscale, 9);
	ck_assert_uint_eq(v.flags, SPLICE_F_TS | SPLICE_F_SACK);
	ck_assert_uint_eq(v.engine_id, 3);
	ck_assert_uint_eq(v.state, 0);
	ck_assert_uint_eq(v.packets, 0);
}
END_TEST

START_TEST(refuses_bad_input)
{
	struct proxy p;
	char err[256];
	char b[64];
	int c3;

	proxy_setup(&p, 11);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a1, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, 4000, err, sizeof(err)), -EBADF);
	ck_assert_ptr_nonnull(strstr(err, "not a connection"));
	/* a connection still in its handshake (side 1 connects out, nobody
	 * answers on that port: SYN_SENT, then refused) */
	c3 = ftoe_sock_connect(p.w.s[1].eng, __builtin_bswap32(LB_IP_A), 9);
	ck_assert_int_ge(c3, 0);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, c3, err, sizeof(err)), -ENOTCONN);
	ck_assert_ptr_nonnull(strstr(err, "not established"));
	/* received bytes the application has not read */
	ck_assert_int_eq(ftoe_sock_send(p.w.s[0].eng, p.c1, "hello", 5), 5);
	lb_run(&p.w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(err, "has not read"));
	ck_assert_int_eq(ftoe_sock_recv(p.w.s[1].eng, p.a1, b, sizeof(b)), 5);
	/* sent bytes the peer has not acknowledged yet */
	ck_assert_int_eq(ftoe_sock_send(p.w.s[1].eng, p.a2, "world", 5), 5);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(err, "unacknowledged"));
	lb_run(&p.w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_sock_recv(p.w.s[0].eng, p.c2, b, sizeof(b)), 5);
	/* no program: a clear error, nothing changed */
	p.m.gone = true;
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no splice program is loaded at rx-pre"));
	ck_assert_uint_eq(ftoe_splicer_count(p.sp), 0);
	/* quiet now: it works, and not twice */
	p.m.gone = false;
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), 0);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a2, p.a1, err, sizeof(err)), -EALREADY);
	proxy_teardown(&p);
}
END_TEST

START_TEST(spliced_flows_are_silent_and_released)
{
	struct proxy p;
	struct splice_entry v;
	struct ftoe_engine *pe;
	char err[256];
	uint64_t sent;
	struct splice_end end0 = { SPLICE_ST_FIN | SPLICE_ST_FIN_ACKED, 0, 70, 100000 };
	struct splice_end end1 = { SPLICE_ST_FIN | SPLICE_ST_FIN_ACKED, 0, 9, 500 };

	proxy_setup(&p, 12);
	pe = p.w.s[1].eng;
	lb_run(&p.w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), 0);
	ck_assert_uint_eq(ftoe_splicer_count(p.sp), 1);
	ck_assert(ftoe_splicer_is_spliced(p.sp, p.a1));
	/* both entries are in, computed from the engine's own state */
	ck_assert(p.m.f[0].used && p.m.f[1].used);
	ck_assert_uint_eq(p.m.f[0].v.engine_id, (uint32_t)p.a1);
	ck_assert_uint_eq((uint32_t)(pe->tcp[p.a1].rcv_nxt + p.m.f[0].v.seq_off),
			  pe->tcp[p.a2].snd_nxt);
	/* the peer keeps sending on the first connection; without a program
	 * the segments reach the engine, which must not answer at all */
	sent = p.w.s[1].sent;
	ck_assert_int_eq(ftoe_sock_send(p.w.s[0].eng, p.c1, "late data", 9), 9);
	lb_run(&p.w, NULL, NULL, 3 * SEC);
	ck_assert_uint_eq(p.w.s[1].sent, sent);
	ck_assert(pe->ctl[p.a1].in_use && pe->ctl[p.a2].in_use);	/* still reserved */
	/* entries present: nothing ends */
	ck_assert_uint_eq(ftoe_splicer_poll(p.sp, fm_done, &p.m), 0);
	/* the program's FIN/FIN/ACK teardown: entries deleted, endings recorded */
	ck_assert_int_eq(fm_lookup(&p.m, FTOE_SPLICE_FLOWS, &p.m.f[0].k, &v), 0);
	fm_update(&p.m, FTOE_SPLICE_ENDS, &p.m.f[0].k, &end0);
	fm_update(&p.m, FTOE_SPLICE_ENDS, &p.m.f[1].k, &end1);
	p.m.f[0].used = p.m.f[1].used = false;
	ck_assert_uint_eq(ftoe_splicer_poll(p.sp, fm_done, &p.m), 1);
	ck_assert_int_eq(p.m.ndone, 2);
	ck_assert_int_eq(p.m.done_err[0], 0);
	ck_assert_int_eq(p.m.done_err[1], 0);
	/* each socket hears what its own peer sent and what went to it */
	ck_assert_int_eq(p.m.done_sock[0], p.a1);
	ck_assert_uint_eq(p.m.done_cnt[0].from_peer_bytes, 100000);
	ck_assert_uint_eq(p.m.done_cnt[0].to_peer_bytes, 500);
	ck_assert_uint_eq(p.m.done_cnt[0].from_peer_segs, 70);
	ck_assert_uint_eq(p.m.done_cnt[1].from_peer_bytes, 500);
	ck_assert_uint_eq(p.m.done_cnt[1].to_peer_segs, 70);
	ck_assert(!p.m.e[0].used && !p.m.e[1].used);	/* endings consumed */
	ck_assert(!pe->ctl[p.a1].in_use && !pe->ctl[p.a2].in_use);
	ck_assert_uint_eq(pe->nfree, pe->nflows);
	ck_assert_uint_eq(ftoe_splicer_count(p.sp), 0);
	proxy_teardown(&p);
}
END_TEST

/* ---- late segments: in flight between threads when the splice began ----- */

/* A stand-in for the splice program at rx-pre: it relays every frame it is
 * shown (XDP_TX) and counts the payload it saw. */
static uint8_t late_buf[2048];
static unsigned long late_runs, late_payload;

static int late_begin(void *ctx, enum flextoe_hook hook, struct ftoe_hook_frame *f)
{
	(void)ctx;
	ck_assert_uint_eq(hook, FLEXTOE_HOOK_RX_PRE);
	ck_assert_uint_eq(f->md.hook, FLEXTOE_HOOK_RX_PRE);
	ck_assert_uint_le(f->len, sizeof(late_buf));
	memcpy(late_buf, f->data, f->len);
	return 0;
}

static uint32_t late_run(void *ctx, void *handle)
{
	(void)ctx;
	(void)handle;
	late_runs++;
	return FTOE_XDP_TX;
}

static void late_end(void *ctx, struct ftoe_hook_frame *f, bool commit)
{
	const uint8_t *ip = late_buf + FTOE_ETH_HLEN;
	uint32_t ihl = (ip[0] & 0xf) * 4u, thl = (ip[ihl + 12] >> 4) * 4u;

	(void)ctx;
	if (!commit)
		return;
	late_payload += ((uint32_t)ip[2] << 8 | ip[3]) - ihl - thl;
	f->data = late_buf;
}

static const struct ftoe_hook_ops late_ops = {
	.begin = late_begin, .run = late_run, .end = late_end,
};

START_TEST(late_segments_rerun_rx_pre)
{
	struct ftoe_hook_prog prog = { .handle = (void *)1, .id = 1,
				       .chain_call_actions = FTOE_HOOK_CHAIN_DEFAULT };
	struct ftoe_splice_map_ops ops;
	struct ftoe_engine_cfg cb;
	struct ftoe_hooks *h;
	struct ftoe_engine *pe;
	struct proxy p;
	char err[256];
	uint64_t sent;

	/* The proxy side (1) runs hooks; the chain is empty until the splice. */
	ck_assert_int_eq(ftoe_hooks_create(&late_ops, &h), 0);
	lb_default_cfg(&cb, LB_IP_B);
	cb.hooks = h;
	memset(&p.m, 0, sizeof(p.m));
	ops = (struct ftoe_splice_map_ops){ &p.m, fm_update, fm_lookup, fm_remove };
	lb_init(&p.w, 13, NULL, &cb);
	ck_assert(app_connect(&p.w, 80, &p.c1, &p.a1));
	ck_assert(app_connect(&p.w, 81, &p.c2, &p.a2));
	ck_assert_int_eq(ftoe_splicer_create(p.w.s[1].eng, &ops, &p.sp), 0);
	pe = p.w.s[1].eng;
	lb_run(&p.w, NULL, NULL, SEC / 10);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), 0);

	/* Without a program at rx-pre a segment that reaches the spliced flow
	 * is dropped silently (the splice has ended, or never had a program). */
	sent = p.w.s[1].sent;
	ck_assert_int_eq(ftoe_sock_send(p.w.s[0].eng, p.c1, "dropped", 7), 7);
	lb_run(&p.w, NULL, NULL, SEC / 10);
	ck_assert_uint_eq(p.w.s[1].sent, sent);
	ck_assert_uint_eq(pe->st.splice_late_tx, 0);

	/* With one, the engine shows it the segment again and sends what it
	 * relays: the bytes are not lost to a drop and a retransmission. */
	ck_assert_int_eq(ftoe_hooks_attach(h, FLEXTOE_HOOK_RX_PRE, &prog), 0);
	late_runs = late_payload = 0;
	ck_assert_int_eq(ftoe_sock_send(p.w.s[0].eng, p.c1, "relayed late", 12), 12);
	lb_run(&p.w, NULL, NULL, SEC / 100);
	ck_assert_uint_ge(late_runs, 1);
	ck_assert_uint_ge(late_payload, 12);
	ck_assert_uint_eq(pe->st.splice_late_tx, late_runs);
	ck_assert_uint_eq(p.w.s[1].sent, sent + late_runs);

	ck_assert_int_eq(ftoe_hooks_detach(h, 1, NULL), 0);
	proxy_teardown(&p);
	ftoe_hooks_destroy(h);
}
END_TEST

START_TEST(reset_and_unload_endings)
{
	struct proxy p;
	char err[256];
	struct splice_end rst = { SPLICE_ST_RST, 0, 1, 0 };
	int c3, a3, c4, a4;

	proxy_setup(&p, 13);
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, p.a1, p.a2, err, sizeof(err)), 0);
	/* the application let go of one socket: the splice goes on */
	ftoe_splicer_release(p.sp, p.a1);
	fm_update(&p.m, FTOE_SPLICE_ENDS, &p.m.f[1].k, &rst);
	p.m.f[0].used = p.m.f[1].used = false;
	ck_assert_uint_eq(ftoe_splicer_poll(p.sp, fm_done, &p.m), 1);
	ck_assert_int_eq(p.m.ndone, 1);		/* only the held socket is told */
	ck_assert_int_eq(p.m.done_sock[0], p.a2);
	ck_assert_int_eq(p.m.done_err[0], -ECONNRESET);
	/* the program unloaded under a splice */
	ck_assert(app_connect(&p.w, 82, &c3, &a3));
	ck_assert(app_connect(&p.w, 83, &c4, &a4));
	ck_assert_int_eq(ftoe_splicer_splice(p.sp, a3, a4, err, sizeof(err)), 0);
	p.m.gone = true;
	p.m.ndone = 0;
	ck_assert_uint_eq(ftoe_splicer_poll(p.sp, fm_done, &p.m), 1);
	ck_assert_int_eq(p.m.ndone, 2);
	ck_assert_int_eq(p.m.done_err[0], -ECONNABORTED);
	(void)c3;
	(void)c4;
	proxy_teardown(&p);
}
END_TEST

static Suite *splice_suite(void)
{
	Suite *s = suite_create("splice");
	TCase *t = tcase_create("arith");

	tcase_add_test(t, csum_incremental_matches_full);
	tcase_add_test(t, window_rescaling);
	tcase_add_test(t, entry_offsets);
	tcase_add_test(t, entry6_offsets_and_addresses);
	suite_add_tcase(s, t);
	t = tcase_create("control");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, refuses_bad_input);
	tcase_add_test(t, spliced_flows_are_silent_and_released);
	tcase_add_test(t, reset_and_unload_endings);
	tcase_add_test(t, late_segments_rerun_rx_pre);
	suite_add_tcase(s, t);
	return s;
}

FTOE_TEST_SUITE(splice_suite)
