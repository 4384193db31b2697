/* test_hostile.c - the tuple table, the SYN table under a flood, the TIME_WAIT table, martian sources. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/martian.h"
#include "core/control/syn_table.h"
#include "core/control/time_wait.h"
#include "core/control/tuple_tab.h"
#include "core/csum.h"
#include "core/engine_internal.h"
#include "core/segment.h"
#include "tests/unit/core/engine_link.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

static const uint8_t key16[16] = { 9, 8, 7, 6, 5, 4, 3, 2, 1 };

static struct ftoe_flow_key tk(uint32_t i)
{
	struct ftoe_flow_key k = { .laddr = 0x0a000002, .raddr = 0x0a000000 + (i >> 16),
				   .lport = 80, .rport = (uint16_t)i };

	return k;
}

START_TEST(tt_insert_lookup_remove_age)
{
	struct ftoe_tuple_tab t;
	struct ftoe_flow_key k;
	uint32_t idx, idx2, order[4], n = 0;

	ck_assert_int_eq(ftoe_tt_init(&t, 0, 8, key16), -EINVAL);
	ck_assert_int_eq(ftoe_tt_init(&t, 4, 0, key16), -EINVAL);
	ck_assert_int_eq(ftoe_tt_init(&t, 4, 8, key16), 0);
	for (uint32_t i = 0; i < 4; i++) {
		k = tk(i);
		ck_assert_int_eq(ftoe_tt_insert(&t, &k, &idx), 0);
		*(uint32_t *)ftoe_tt_rec(&t, idx) = 100 + i;
	}
	k = tk(9);
	ck_assert_int_eq(ftoe_tt_insert(&t, &k, &idx), -ENOSPC);
	k = tk(2);
	ck_assert_int_eq(ftoe_tt_insert(&t, &k, &idx), -EEXIST);
	ck_assert_uint_eq(*(uint32_t *)ftoe_tt_rec(&t, idx), 102);
	k = tk(7);
	ck_assert_int_eq(ftoe_tt_lookup(&t, &k, &idx2), -ENOENT);
	/* age order is insertion order; touch makes a record the youngest */
	k = tk(0);
	ck_assert_int_eq(ftoe_tt_lookup(&t, &k, &idx), 0);
	ftoe_tt_touch(&t, idx);
	for (uint32_t i = ftoe_tt_oldest(&t); i != FTOE_TT_NONE; i = ftoe_tt_younger(&t, i))
		order[n++] = *(uint32_t *)ftoe_tt_rec(&t, i);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(order[0], 101);
	ck_assert_uint_eq(order[3], 100);
	/* removing frees the place for a new record, zeroed */
	k = tk(1);
	ck_assert_int_eq(ftoe_tt_lookup(&t, &k, &idx), 0);
	ftoe_tt_remove(&t, idx);
	ck_assert_int_eq(ftoe_tt_lookup(&t, &k, &idx), -ENOENT);
	ck_assert_uint_eq(t.count, 3);
	k = tk(9);
	ck_assert_int_eq(ftoe_tt_insert(&t, &k, &idx), 0);
	ck_assert_uint_eq(*(uint32_t *)ftoe_tt_rec(&t, idx), 0);
	ck_assert_uint_eq(*(uint32_t *)ftoe_tt_rec(&t, ftoe_tt_oldest(&t)), 102);
	ftoe_tt_fini(&t);
}
END_TEST

START_TEST(tt_churn)
{
	struct ftoe_tuple_tab t;
	struct ftoe_flow_key k;
	uint32_t idx;

	/* a full table with records coming and going stays consistent:
	 * always the newest cap keys present, the oldest evicted */
	ck_assert_int_eq(ftoe_tt_init(&t, 1000, 4, key16), 0);
	for (uint32_t i = 0; i < 100000; i++) {
		k = tk(i);
		if (ftoe_tt_insert(&t, &k, &idx) == -ENOSPC) {
			ftoe_tt_remove(&t, ftoe_tt_oldest(&t));
			if (ftoe_tt_insert(&t, &k, &idx))
				ck_abort_msg("insert %u after eviction failed", i);
		}
		*(uint32_t *)ftoe_tt_rec(&t, idx) = i;
	}
	ck_assert_uint_eq(t.count, 1000);
	for (uint32_t i = 99000; i < 100000; i++) {
		k = tk(i);
		if (ftoe_tt_lookup(&t, &k, &idx) || *(uint32_t *)ftoe_tt_rec(&t, idx) != i)
			ck_abort_msg("key %u lost", i);
	}
	k = tk(98999);
	ck_assert_int_eq(ftoe_tt_lookup(&t, &k, &idx), -ENOENT);
	ck_assert_uint_eq(*(uint32_t *)ftoe_tt_rec(&t, ftoe_tt_oldest(&t)), 99000);
	ftoe_tt_fini(&t);
}
END_TEST

/* An IPv4/TCP frame to B from saddr, with optional options. */
static uint16_t mk_seg(uint8_t *f, uint32_t saddr, uint16_t sport, uint16_t dport, uint32_t seq,
		       uint32_t ack, uint8_t flags, const uint8_t *opt, uint8_t optlen)
{
	return lb_tcp_frame(f, saddr, sport, dport, seq, ack, flags, 65535, opt, optlen, NULL, 0);
}

/* What B sent back: count and the last frame's TCP flags. */
static unsigned nsent;
static uint8_t last_flags;
static uint32_t last_seq, last_ack;
static bool count_tap(struct lb_side *s, uint8_t *frame, uint16_t *len)
{
	(void)s;
	if (*len >= 54 && frame[23] == 6) {
		nsent++;
		last_flags = frame[14 + 20 + 13];
		last_seq = ftoe_get_be32(frame + 14 + 20 + 4);
		last_ack = ftoe_get_be32(frame + 14 + 20 + 8);
	}
	return true;
}

/* A bare segment from B (LB_IP_B) to A (LB_IP_A). */
static uint16_t seg_to_a(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
			 uint8_t flags)
{
	uint16_t len = mk_seg(f, LB_IP_B, sport, dport, seq, ack, flags, NULL, 0);
	uint8_t *th = f + 34, sa[4], da[4];
	uint32_t sum;

	ftoe_put_be32(f + 14 + 16, LB_IP_A);
	ftoe_put_be16(f + 14 + 10, 0);
	ftoe_put_be16(f + 14 + 10, ftoe_csum(f + 14, 20));
	ftoe_put_be16(th + 16, 0);
	ftoe_put_be32(sa, LB_IP_B);
	ftoe_put_be32(da, LB_IP_A);
	sum = ftoe_csum_add(0, sa, 4);
	sum = ftoe_csum_add(sum, da, 4);
	sum += 6 + 20;
	ftoe_put_be16(th + 16, ftoe_csum_finish(ftoe_csum_add(sum, th, 20)));
	return len;
}

START_TEST(syn_flood_takes_no_connection_slot)
{
	struct ftoe_engine_cfg cb;
	struct ftoe_engine_stats st;
	struct ftoe_sock_info ci;
	struct ftoe_engine *e;
	struct lb_world w;
	uint8_t f[128];
	uint16_t len;
	int l, c, a;

	lb_default_cfg(&cb, LB_IP_B);
	cb.syn_table_size = 32;
	lb_init(&w, 21, NULL, &cb);
	e = w.s[1].eng;
	w.s[1].tap = count_tap;
	l = ftoe_sock_listen(e, 80, 1000);
	ck_assert_int_ge(l, 0);
	/* 500 spoofed SYNs: 32 records, the rest answered with cookies; no
	 * connection slot taken (64 in this engine) */
	nsent = 0;
	for (uint32_t i = 0; i < 500; i++) {
		len = mk_seg(f, 0x0a000010 + i % 200, (uint16_t)(1024 + i), 80, i * 7919, 0,
			     FTOE_TCP_SYN, NULL, 0);
		lb_inject(&w, 1, f, len);
	}
	ck_assert_uint_eq(nsent, 500);
	ck_assert_uint_eq(last_flags, FTOE_TCP_SYN | FTOE_TCP_ACK);
	ck_assert_uint_eq(ftoe_syn_count(e), 32);
	ck_assert_uint_eq(e->lis[0].pending, 32);
	ck_assert_uint_eq(e->nfree, e->nflows);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.syn_table_full, 500 - 32);
	ck_assert_uint_eq(st.syn_cookies_sent, 500 - 32);
	/* a real client completes (by cookie) and moves data */
	c = ftoe_sock_connect(w.s[0].eng, __builtin_bswap32(LB_IP_B), 80);
	ck_assert_int_ge(c, 0);
	lb_run(&w, NULL, NULL, SEC / 10);
	a = ftoe_sock_accept(e, l);
	ck_assert_int_ge(a, 0);
	ck_assert_int_eq(ftoe_sock_info(w.s[0].eng, c, &ci), 0);
	ck_assert_int_eq(ci.state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(e->nfree, e->nflows - 1);
	/* the half-open records are resent 5 times (1+2+4+8+16 s) and are
	 * gone after the last one's 32 s */
	nsent = 0;
	lb_run(&w, NULL, NULL, 30 * SEC);
	ck_assert_uint_eq(ftoe_syn_count(e), 32);
	ck_assert_uint_ge(nsent, 32 * 4);
	lb_run(&w, NULL, NULL, 35 * SEC);
	ck_assert_uint_eq(ftoe_syn_count(e), 0);
	ck_assert_uint_eq(e->lis[0].pending, 0);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.syn_expired, 32);
	lb_fini(&w);
}
END_TEST

START_TEST(syn_backlog_per_listener)
{
	struct ftoe_engine_cfg cb;
	struct ftoe_engine_stats st;
	struct ftoe_engine *e;
	struct lb_world w;
	uint8_t f[128];
	uint16_t len;

	/* --syn-backlog 8: the ninth half-open connection of a listener gets
	 * a cookie although the table and the backlog have room */
	lb_default_cfg(&cb, LB_IP_B);
	cb.syn_backlog = 8;
	lb_init(&w, 25, NULL, &cb);
	e = w.s[1].eng;
	ck_assert_int_ge(ftoe_sock_listen(e, 80, 1000), 0);
	for (uint32_t i = 0; i < 20; i++) {
		len = mk_seg(f, 0x0a000010 + i, 2000, 80, i, 0, FTOE_TCP_SYN, NULL, 0);
		lb_inject(&w, 1, f, len);
	}
	ck_assert_uint_eq(ftoe_syn_count(e), 8);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.syn_cookies_sent, 12);
	ck_assert_uint_eq(st.syn_table_full, 0);
	lb_fini(&w);
}
END_TEST

START_TEST(syn_record_handshake_and_options)
{
	/* MSS 1000, WS 7, SACK-permitted, timestamps: the record keeps them
	 * and the connection made at the ACK has them */
	static const uint8_t opt[20] = { 2, 4, 0x03, 0xe8, 1, 3, 3, 7, 4, 2, 8, 10,
					 0, 0, 0, 5, 0, 0, 0, 0 };
	struct ftoe_flow_key key = { .laddr = LB_IP_B, .raddr = 0x0a000009, .lport = 80,
				     .rport = 4000 };
	struct ftoe_syn_rec *r;
	struct ftoe_engine *e;
	struct lb_world w;
	uint8_t f[128];
	uint32_t idx, iss, id;
	uint16_t len;
	int l;

	lb_init(&w, 22, NULL, NULL);
	e = w.s[1].eng;
	w.s[1].tap = count_tap;
	l = ftoe_sock_listen(e, 80, 8);
	nsent = 0;
	len = mk_seg(f, 0x0a000009, 4000, 80, 5000, 0, FTOE_TCP_SYN, opt, sizeof(opt));
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_int_eq(ftoe_syn_lookup(e, &key, &idx), 0);
	r = ftoe_syn_get(e, idx);
	ck_assert_uint_eq(r->irs, 5000);
	ck_assert_uint_eq(r->peer_mss, 1000);
	ck_assert_uint_eq(r->snd_wscale, 7);
	ck_assert_uint_eq(r->flags & (FTOE_SYN_F_WS | FTOE_SYN_F_TS | FTOE_SYN_F_SACK),
			  FTOE_SYN_F_WS | FTOE_SYN_F_TS | FTOE_SYN_F_SACK);
	ck_assert_uint_eq(r->ts_recent, 5);
	iss = r->iss;
	ck_assert_uint_eq(last_seq, iss);
	ck_assert_uint_eq(last_ack, 5001);
	/* the same SYN again: the SYN-ACK again, no second record */
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 2);
	ck_assert_uint_eq(ftoe_syn_count(e), 1);
	/* a wrong ACK gets a RST and leaves the record */
	len = mk_seg(f, 0x0a000009, 4000, 80, 5001, iss + 7, FTOE_TCP_ACK, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(last_flags, FTOE_TCP_RST);
	ck_assert_uint_eq(ftoe_syn_count(e), 1);
	ck_assert_uint_eq(e->nfree, e->nflows);
	/* the right ACK makes the connection */
	len = mk_seg(f, 0x0a000009, 4000, 80, 5001, iss + 1, FTOE_TCP_ACK, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(ftoe_syn_count(e), 0);
	ck_assert_uint_eq(e->nfree, e->nflows - 1);
	id = (uint32_t)ftoe_sock_accept(e, l);
	ck_assert_int_ge((int)id, 0);
	ck_assert_int_eq(e->ctl[id].state, TCP_S_ESTABLISHED);
	ck_assert_uint_eq(e->tcp[id].snd_wscale, 7);
	ck_assert(e->tcp[id].flags & FLOW_TCP_SACK);
	ck_assert(e->tcp[id].flags & FLOW_TCP_TS);
	ck_assert_uint_eq(e->tcp[id].ts_recent, 5);
	ck_assert_uint_eq(e->tcp[id].snd_mss, 1000 - 12);
	ck_assert_uint_eq(e->tcp[id].rcv_nxt, 5001);
	ck_assert_uint_eq(e->tcp[id].snd_una, iss + 1);
	ck_assert_uint_eq(e->lis[0].pending, 0);
	lb_fini(&w);
}
END_TEST

/* A SYN with another ISN for a half-open connection, as Linux: outside the
 * SYN-ACK's window an ACK (ISS + 1, IRS + 1), the record kept; inside it a
 * RST, the record gone. */
START_TEST(syn_record_other_isn)
{
	struct ftoe_flow_key key = { .laddr = LB_IP_B, .raddr = 0x0a000009, .lport = 80,
				     .rport = 4000 };
	struct ftoe_engine_stats st;
	struct ftoe_engine *e;
	struct lb_world w;
	uint8_t f[128];
	uint32_t idx, iss;
	uint16_t len;

	lb_init(&w, 22, NULL, NULL);
	e = w.s[1].eng;
	w.s[1].tap = count_tap;
	ck_assert_int_ge(ftoe_sock_listen(e, 80, 8), 0);
	nsent = 0;
	len = mk_seg(f, 0x0a000009, 4000, 80, 5000, 0, FTOE_TCP_SYN, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_int_eq(ftoe_syn_lookup(e, &key, &idx), 0);
	iss = ftoe_syn_get(e, idx)->iss;
	len = mk_seg(f, 0x0a000009, 4000, 80, 5000 + 0x40000000u, 0, FTOE_TCP_SYN, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 2);
	ck_assert_uint_eq(last_flags, FTOE_TCP_ACK);
	ck_assert_uint_eq(last_seq, iss + 1);
	ck_assert_uint_eq(last_ack, 5001);
	ck_assert_uint_eq(ftoe_syn_count(e), 1);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.syn_rec_acks, 1);
	len = mk_seg(f, 0x0a000009, 4000, 80, 5100, 0, FTOE_TCP_SYN, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 3);
	ck_assert_uint_eq(last_flags, FTOE_TCP_RST | FTOE_TCP_ACK);
	ck_assert_uint_eq(ftoe_syn_count(e), 0);
	ck_assert_uint_eq(e->lis[0].pending, 0);
	lb_fini(&w);
}
END_TEST

START_TEST(listener_drops_and_martians)
{
	/* SYN+FIN, no flags, FIN alone: dropped unanswered (RFC 9293
	 * 3.10.7.2, as Linux); SYNs from martian sources: dropped, counted */
	static const uint32_t martians[] = { 0xffffffffu, 0x0a0000ffu, 0xe0000001u, 0,
					     0x7f000001u, 0xf0000001u, LB_IP_B };
	static const uint8_t bad_mss[4] = { 2, 3, 5, 1 }, past_end[4] = { 1, 1, 8, 10 };
	struct ftoe_engine_stats st;
	struct ftoe_engine *e;
	struct lb_world w;
	uint8_t f[128];
	uint16_t len;

	lb_init(&w, 23, NULL, NULL);
	e = w.s[1].eng;
	w.s[1].tap = count_tap;
	ck_assert_int_ge(ftoe_sock_listen(e, 80, 8), 0);
	nsent = 0;
	len = mk_seg(f, 0x0a000009, 4001, 80, 1, 0, FTOE_TCP_SYN | FTOE_TCP_FIN, NULL, 0);
	lb_inject(&w, 1, f, len);
	len = mk_seg(f, 0x0a000009, 4002, 80, 1, 0, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	len = mk_seg(f, 0x0a000009, 4003, 80, 1, 0, FTOE_TCP_FIN, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 0);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.rx_listen_drop, 3);
	/* ... but a flagless segment to a closed port still gets a RST */
	len = mk_seg(f, 0x0a000009, 4004, 81, 1, 0, 0, NULL, 0);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 1);
	ck_assert_uint_eq(last_flags, FTOE_TCP_RST | FTOE_TCP_ACK);
	for (unsigned i = 0; i < sizeof(martians) / sizeof(martians[0]); i++) {
		ck_assert(ftoe_martian_src(e, martians[i]));
		len = mk_seg(f, martians[i], 4005, 80, 1, 0, FTOE_TCP_SYN, NULL, 0);
		lb_inject(&w, 1, f, len);
	}
	ck_assert_uint_eq(nsent, 1);
	ftoe_engine_get_stats(e, &st);
	ck_assert_uint_eq(st.rx_martian, 7);
	ck_assert(!ftoe_martian_src(e, 0x0a000009));
	ck_assert(!ftoe_martian_src(e, 0x0a000000)); /* the network address is a host on /31 */
	ck_assert(!ftoe_martian_src(e, 0x08080808));
	/* malformed options in a SYN are ignored, the SYN answered */
	len = mk_seg(f, 0x0a000009, 4006, 80, 1, 0, FTOE_TCP_SYN, bad_mss, 4);
	lb_inject(&w, 1, f, len);
	len = mk_seg(f, 0x0a000009, 4007, 80, 1, 0, FTOE_TCP_SYN, past_end, 4);
	lb_inject(&w, 1, f, len);
	ck_assert_uint_eq(nsent, 3);
	ck_assert_uint_eq(last_flags, FTOE_TCP_SYN | FTOE_TCP_ACK);
	lb_fini(&w);
}
END_TEST

/* A closes first each round, so A ends in TIME_WAIT. */
START_TEST(time_wait_table_frees_the_slot)
{
	struct ftoe_engine_cfg ca;
	struct ftoe_engine_stats st;
	struct ftoe_flow_key key;
	struct ftoe_tw_rec *r;
	struct ftoe_engine *ea;
	struct lb_world w;
	uint32_t idx, fin_seq;
	int l, c, b;

	lb_default_cfg(&ca, LB_IP_A);
	ca.tw_table_size = 4;
	lb_init(&w, 24, &ca, NULL);
	ea = w.s[0].eng;
	l = ftoe_sock_listen(w.s[1].eng, 80, 64);
	ck_assert_int_ge(l, 0);
	for (int round = 0; round < 6; round++) {
		c = ftoe_sock_connect(ea, __builtin_bswap32(LB_IP_B), 80);
		ck_assert_int_ge(c, 0);
		lb_run(&w, NULL, NULL, SEC / 100);
		b = ftoe_sock_accept(w.s[1].eng, l);
		ck_assert_int_ge(b, 0);
		key = (struct ftoe_flow_key){ .laddr = LB_IP_A, .raddr = LB_IP_B,
					      .lport = ea->conn[c].local_port, .rport = 80 };
		ck_assert_int_eq(ftoe_sock_close(ea, c), 0);
		lb_run(&w, NULL, NULL, SEC / 100);
		ck_assert_int_eq(ftoe_sock_close(w.s[1].eng, b), 0);
		lb_run(&w, NULL, NULL, SEC / 100);
		/* A is in TIME_WAIT without a connection slot */
		ck_assert_uint_eq(ea->nfree, ea->nflows);
		ck_assert_int_eq(ftoe_tw_lookup(ea, &key, &idx), 0);
	}
	/* 6 through a table of 4: the 2 oldest evicted */
	ck_assert_uint_eq(ftoe_tw_count(ea), 4);
	ftoe_engine_get_stats(ea, &st);
	ck_assert_uint_eq(st.tw_entered, 6);
	ck_assert_uint_eq(st.tw_evicted, 2);
	/* the peer's FIN again (its ACK was lost): A answers with an ACK */
	r = ftoe_tt_rec(ea->tw, idx);
	fin_seq = r->rcv_nxt - 1;
	{
		uint8_t f[128];
		uint16_t len;
		uint64_t acks = st.tw_acks;
		uint32_t old_snd_nxt = r->snd_nxt;

		len = seg_to_a(f, 80, key.lport, fin_seq, r->snd_nxt, FTOE_TCP_FIN | FTOE_TCP_ACK);
		nsent = 0;
		w.s[0].tap = count_tap;
		lb_inject(&w, 0, f, len);
		ck_assert_uint_eq(nsent, 1);
		ck_assert_uint_eq(last_flags, FTOE_TCP_ACK);
		ck_assert_uint_eq(last_ack, fin_seq + 1);
		ftoe_engine_get_stats(ea, &st);
		ck_assert_uint_eq(st.tw_acks, acks + 1);
		/* again at once: rate-limited (one ACK per 500 ms, as Linux) */
		lb_inject(&w, 0, f, len);
		ck_assert_uint_eq(nsent, 1);
		ftoe_engine_get_stats(ea, &st);
		ck_assert_uint_eq(st.tw_acks_limited, 1);
		/* 600 ms later it is answered again (the FIN restarted 2 MSL) */
		lb_run(&w, NULL, NULL, 6 * SEC / 10);
		nsent = 0;
		lb_inject(&w, 0, f, len);
		ck_assert_uint_eq(nsent, 1);
		ck_assert_uint_eq(last_ack, fin_seq + 1);
		ck_assert_uint_eq(last_ack, fin_seq + 1);
		/* a new SYN above the old sequence space reopens the 4-tuple;
		 * our ISN is the old snd_nxt + 65537, as Linux */
		ck_assert_int_ge(ftoe_sock_listen(ea, key.lport, 8), 0);
		len = seg_to_a(f, 80, key.lport, fin_seq + 100000, 0, FTOE_TCP_SYN);
		lb_inject(&w, 0, f, len);
		ck_assert_uint_eq(nsent, 2);
		ck_assert_uint_eq(last_flags, FTOE_TCP_SYN | FTOE_TCP_ACK);
		ck_assert_uint_eq(last_seq, old_snd_nxt + 65537);
		ck_assert_uint_eq(last_ack, fin_seq + 100001);
		ck_assert_int_ne(ftoe_tw_lookup(ea, &key, &idx), 0);
	}
	/* TIME_WAIT ends after time_wait_ms (1 s here) */
	lb_run(&w, NULL, NULL, 2 * SEC);
	ck_assert_uint_eq(ftoe_tw_count(ea), 0);
	lb_fini(&w);
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("core_hostile");
	TCase *tc = tcase_create("hostile");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tt_insert_lookup_remove_age);
	tcase_add_test(tc, tt_churn);
	tcase_add_test(tc, syn_flood_takes_no_connection_slot);
	tcase_add_test(tc, syn_backlog_per_listener);
	tcase_add_test(tc, syn_record_handshake_and_options);
	tcase_add_test(tc, syn_record_other_isn);
	tcase_add_test(tc, listener_drops_and_martians);
	tcase_add_test(tc, time_wait_table_frees_the_slot);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(hostile_suite)
