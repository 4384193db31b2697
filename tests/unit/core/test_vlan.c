/* test_vlan.c - answering VLAN peers on their VLAN: tagged tx frames, VLAN from the rx-pre metadata, ARP and ICMP replies. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/arp.h"
#include "core/control/conn.h"
#include "core/control/icmp.h"
#include "core/control/rx_md.h"
#include "core/control/syn_table.h"
#include "core/csum.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/segment.h"
#include "tests/unit/core/engine_app.h"
#include "flextoe/bpf.h"
#include "tests/unit/test.h"

#define SEC 1000000000ull

/* ---- checking a frame ---------------------------------------------------- */

struct tagged {
	unsigned ntags;
	uint16_t tpid[2], tci[2];
	uint16_t etype;
	unsigned l3;		/* offset of the IP header */
};

static void read_tags(const uint8_t *f, size_t len, struct tagged *t)
{
	unsigned off = 12;

	memset(t, 0, sizeof(*t));
	ck_assert_uint_ge(len, 14);
	while (t->ntags < 2) {
		uint16_t type = ftoe_get_be16(f + off);

		if (type != FTOE_ETH_P_8021Q && type != FTOE_ETH_P_8021AD)
			break;
		ck_assert_uint_ge(len, off + 6);
		t->tpid[t->ntags] = type;
		t->tci[t->ntags] = ftoe_get_be16(f + off + 2);
		t->ntags++;
		off += 4;
	}
	t->etype = ftoe_get_be16(f + off);
	t->l3 = off + 2;
}

/* IPv4 + TCP of a frame at t->l3: lengths and both checksums. */
static void check_tcp(const uint8_t *f, size_t len, const struct tagged *t, size_t *payload)
{
	const uint8_t *ip = f + t->l3, *th;
	uint16_t iplen;
	unsigned thlen;
	uint32_t sum;

	ck_assert_uint_eq(t->etype, FTOE_ETH_P_IPV4);
	ck_assert_uint_eq(ip[0], 0x45);
	iplen = ftoe_get_be16(ip + 2);
	/* the frame is exactly the tags plus the IP packet: no padding */
	ck_assert_uint_eq(len, t->l3 + iplen);
	ck_assert_uint_le(iplen, 1500);	/* the MTU bounds the packet, not the frame */
	ck_assert_uint_eq(ftoe_csum(ip, 20), 0);
	ck_assert_uint_eq(ip[9], FTOE_IPPROTO_TCP);
	th = ip + 20;
	thlen = (th[12] >> 4) * 4u;
	sum = ftoe_csum_pseudo4(ip + 12, ip + 16, FTOE_IPPROTO_TCP, (uint16_t)(iplen - 20));
	ck_assert_uint_eq(ftoe_csum_finish(ftoe_csum_add(sum, th, iplen - 20u)), 0);
	*payload = iplen - 20u - thlen;
}

/* ---- tx: a flow with a VLAN ---------------------------------------------- */

static unsigned long tagged_frames, tagged_bytes, untagged_frames;
static uint16_t want_tci, want_stci;
static bool want_qinq;

/* Side B's frames: every one tagged as the flow says; the tags come off
 * before side A, an untagged engine, gets them. */
static bool strip_tap(struct lb_side *s, uint8_t *f, uint16_t *len)
{
	struct tagged t;
	size_t payload;

	(void)s;
	read_tags(f, *len, &t);
	if (!t.ntags) {
		untagged_frames++;
		return true;
	}
	if (want_qinq) {
		ck_assert_uint_eq(t.ntags, 2);
		ck_assert_uint_eq(t.tpid[0], FTOE_ETH_P_8021AD);
		ck_assert_uint_eq(t.tci[0], want_stci);
		ck_assert_uint_eq(t.tpid[1], FTOE_ETH_P_8021Q);
		ck_assert_uint_eq(t.tci[1], want_tci);
	} else {
		ck_assert_uint_eq(t.ntags, 1);
		ck_assert_uint_eq(t.tpid[0], FTOE_ETH_P_8021Q);
		ck_assert_uint_eq(t.tci[0], want_tci);
	}
	check_tcp(f, *len, &t, &payload);
	tagged_frames++;
	tagged_bytes += payload;
	memmove(f + 12, f + t.l3 - 2, *len - (t.l3 - 2));
	*len = (uint16_t)(*len - 4 * t.ntags);
	return true;
}

static void flows_set_vlan(struct ftoe_engine *e, uint16_t tci, uint16_t stci, bool qinq)
{
	for (uint32_t id = 0; id < e->hwm; id++) {
		if (!(e->conn[id].flags & FLOW_CONN_VALID))
			continue;
		e->conn[id].vlan_tci = tci;
		e->conn[id].flags |= FLOW_CONN_VLAN;
		if (qinq) {
			e->conn[id].svlan_tci = stci;
			e->conn[id].flags |= FLOW_CONN_SVLAN;
		}
	}
}

static void tagged_transfer(bool qinq)
{
	struct app_stream st;
	struct lb_world w;
	int c, a;

	lb_init(&w, 11, NULL, NULL);
	ck_assert(app_connect(&w, 80, &c, &a));
	want_tci = 100;
	want_stci = 200;
	want_qinq = qinq;
	tagged_frames = tagged_bytes = untagged_frames = 0;
	flows_set_vlan(w.s[1].eng, want_tci, want_stci, qinq);
	w.s[1].tap = strip_tap;
	/* B -> A: full-sized segments (MSS 1460) fill the MTU: the tags make
	 * the frame 1518 / 1522 bytes, the IP packet stays 1500. */
	st = (struct app_stream){ .tx_side = 1, .stx = a, .srx = c, .id = 3, .len = 300000 };
	ck_assert(lb_run(&w, (lb_step_fn)app_stream_step, &st, 10 * SEC));
	ck_assert_uint_eq(st.bad, 0);
	ck_assert_uint_eq(untagged_frames, 0);
	ck_assert_uint_gt(tagged_frames, 300000 / 1460);
	ck_assert_uint_ge(tagged_bytes, 300000);
	lb_fini(&w);
}

START_TEST(vlan_tx_flow_tagged)
{
	tagged_transfer(false);
}
END_TEST

START_TEST(vlan_tx_flow_qinq)
{
	tagged_transfer(true);
}
END_TEST

/* ---- rx: the VLAN and class from the rx-pre record passed with the frame -- */

static uint8_t sent[8][1600];
static uint16_t sent_len[8];
static unsigned nsent;

static bool record_tap(struct lb_side *s, uint8_t *f, uint16_t *len)
{
	(void)s;
	if (nsent < 8) {
		memcpy(sent[nsent], f, *len);
		sent_len[nsent++] = *len;
	}
	return false;	/* the other side never sees them */
}

/* The rx-pre record a backend passes with a frame (what rx_pre() gets
 * from the hook's programs). */
static void make_md(struct flextoe_md *md, uint64_t tstamp, uint16_t md_flags)
{
	memset(md, 0, sizeof(*md));
	md->size = sizeof(*md);
	md->version = FLEXTOE_MD_VERSION;
	md->hook = FLEXTOE_HOOK_RX_PRE;
	md->tstamp_ns = tstamp;
	md->flags = md_flags;
	md->vlan_id = 100;
	md->svlan_id = 200;
}

/* A TCP segment from A to B at buf + sizeof(struct flextoe_md) (room in
 * front, as a umem headroom); returns the frame length. */
static uint16_t make_seg(uint8_t *buf, uint16_t dport, uint8_t flags, uint32_t seq, uint32_t ack)
{
	uint8_t *f = buf + sizeof(struct flextoe_md), *ip = f + 14, *th = ip + 20;
	uint8_t sa[4], da[4];
	uint32_t sum;

	memset(f, 0, 14 + 20 + 24);
	memcpy(f, (uint8_t[]){ 2, 0, 0, 0, 0, 2 }, 6);
	memcpy(f + 6, (uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 6);
	ftoe_put_be16(f + 12, FTOE_ETH_P_IPV4);
	ip[0] = 0x45;
	ftoe_put_be16(ip + 2, 20 + 24);
	ip[8] = 64;
	ip[9] = FTOE_IPPROTO_TCP;
	ftoe_put_be32(ip + 12, LB_IP_A);
	ftoe_put_be32(ip + 16, LB_IP_B);
	ftoe_put_be16(ip + 10, ftoe_csum(ip, 20));
	ftoe_put_be16(th, 40000);
	ftoe_put_be16(th + 2, dport);
	ftoe_put_be32(th + 4, seq);
	ftoe_put_be32(th + 8, ack);
	th[12] = 6 << 4;
	th[13] = flags;
	ftoe_put_be16(th + 14, 65535);
	th[20] = FTOE_TCPOPT_MSS;
	th[21] = 4;
	ftoe_put_be16(th + 22, 1460);
	memcpy(sa, ip + 12, 4);
	memcpy(da, ip + 16, 4);
	sum = ftoe_csum_pseudo4(sa, da, FTOE_IPPROTO_TCP, 24);
	ftoe_put_be16(th + 16, ftoe_csum_finish(ftoe_csum_add(sum, th, 24)));
	return 14 + 20 + 24;
}

/* Hand the frame to B with its record md (NULL: none), through
 * ftoe_engine_rx_md, or through the split entry (rx_prepare +
 * rx_items, as the --workers pipeline does) when split. */
static void deliver(struct lb_world *w, uint8_t *buf, uint16_t len,
		    const struct flextoe_md *md, bool split)
{
	void *fr = buf + sizeof(struct flextoe_md);

	if (split) {
		struct ftoe_rx_item it;

		ftoe_engine_rx_prepare(w->s[1].eng, fr, len, md, &it);
		ftoe_engine_rx_items(w->s[1].eng, 0, &it, 1);
		return;
	}
	ftoe_engine_rx_md(w->s[1].eng, 0, (void *const[]){ fr }, &len,
			  (const struct flextoe_md *const[]){ md }, 1);
}

/* One segment to B with a record of md_flags (0: no record), through
 * either rx entry; B's one answer's tags in *t. */
static void answer_tags(struct lb_world *w, uint8_t *buf, uint16_t md_flags, uint16_t dport,
			uint8_t flags, uint32_t seq, uint32_t ack, bool split, struct tagged *t)
{
	struct flextoe_md md;
	uint16_t len;

	nsent = 0;
	make_md(&md, w->now, md_flags);
	len = make_seg(buf, dport, flags, seq, ack);
	deliver(w, buf, len, md_flags ? &md : NULL, split);
	ck_assert_uint_eq(nsent, 1);
	read_tags(sent[0], sent_len[0], t);
}

START_TEST(vlan_rx_md_answers)
{
	static uint8_t buf[256] __attribute__((aligned(8)));
	struct flextoe_md md;
	struct ftoe_engine *e;
	struct lb_world w;
	struct tagged t;
	size_t payload;
	uint32_t id;

	lb_init(&w, 5, NULL, NULL);
	e = w.s[1].eng;
	w.s[1].tap = record_tap;
	ck_assert_int_ge(ftoe_sock_listen(e, 80, 4), 0);

	/* A SYN that came tagged: the connection records the VLAN and the
	 * SYN-ACK goes back on it. */
	answer_tags(&w, buf, FLEXTOE_MDF_VLAN, 80, FTOE_TCP_SYN, 1000, 0, false, &t);
	ck_assert_uint_eq(t.ntags, 1);
	ck_assert_uint_eq(t.tpid[0], FTOE_ETH_P_8021Q);
	ck_assert_uint_eq(t.tci[0], 100);
	check_tcp(sent[0], sent_len[0], &t, &payload);
	ck_assert_uint_eq(sent[0][t.l3 + 20 + 13], FTOE_TCP_SYN | FTOE_TCP_ACK);
	/* the half-open connection (SYN table, no flow yet) keeps it */
	ck_assert_uint_eq(e->hwm, 0);
	ck_assert_uint_eq(ftoe_syn_count(e), 1);
	id = ftoe_tt_oldest(e->syn);
	ck_assert(ftoe_syn_get(e, id)->vlan.flags & FTOE_VLAN_C);
	ck_assert(!(ftoe_syn_get(e, id)->vlan.flags & FTOE_VLAN_S));
	ck_assert_uint_eq(ftoe_syn_get(e, id)->vlan.tci, 100);

	/* A segment for no connection, double-tagged: the RST goes back with
	 * both tags, the 802.1ad one outside; the same through the split
	 * entry. */
	for (int split = 0; split < 2; split++) {
		answer_tags(&w, buf, FLEXTOE_MDF_VLAN | FLEXTOE_MDF_QINQ, 81, FTOE_TCP_ACK, 5, 77,
			    split, &t);
		ck_assert_uint_eq(t.ntags, 2);
		ck_assert_uint_eq(t.tpid[0], FTOE_ETH_P_8021AD);
		ck_assert_uint_eq(t.tci[0], 200);
		ck_assert_uint_eq(t.tpid[1], FTOE_ETH_P_8021Q);
		ck_assert_uint_eq(t.tci[1], 100);
		check_tcp(sent[0], sent_len[0], &t, &payload);
		ck_assert_uint_eq(sent[0][t.l3 + 20 + 13], FTOE_TCP_RST);
	}

	/* No record with the frame: untagged, whatever lies in front of the
	 * frame (here a valid-looking tagged record, as an earlier frame in
	 * the same umem buffer may leave): the engine never reads there. */
	for (int split = 0; split < 2; split++) {
		make_md(&md, w.now, FLEXTOE_MDF_VLAN);
		memcpy(buf, &md, sizeof(md));
		answer_tags(&w, buf, 0, 81, FTOE_TCP_ACK, 5, 78, split, &t);
		ck_assert_uint_eq(t.ntags, 0);
	}
	lb_fini(&w);
}
END_TEST

/* classify's app_ctx in the record picks the listener of a port several
 * application contexts share (ftoe_conn_listen_shared); without one the
 * 4-tuple's hash picks, the same for the same 4-tuple. */
START_TEST(vlan_rx_md_class_picks_listener)
{
	static uint8_t buf[256] __attribute__((aligned(8)));
	struct flextoe_md md;
	struct ftoe_engine *e;
	struct lb_world w;
	uint16_t len;
	int l7, l9;

	lb_init(&w, 6, NULL, NULL);
	e = w.s[1].eng;
	w.s[1].tap = record_tap;
	l7 = ftoe_conn_listen_shared(e, 80, 4, 7);
	l9 = ftoe_conn_listen_shared(e, 80, 4, 9);
	ck_assert_int_ge(l7, 0);
	ck_assert_int_ge(l9, 0);
	for (uint32_t want = 7; want <= 9; want += 2) {
		make_md(&md, w.now, FLEXTOE_MDF_CLASS);
		md.app_ctx = want;
		nsent = 0;
		len = make_seg(buf, 80, FTOE_TCP_SYN, 1000 + want, 0);
		deliver(&w, buf, len, &md, want == 9);
		ck_assert_uint_eq(nsent, 1);
		/* the same 4-tuple both times: its hash alone would pick
		 * the same listener twice */
		ck_assert_uint_eq(e->lis[want == 7 ? l7 : l9].pending, 1);
		ck_assert_uint_eq(e->lis[want == 7 ? l9 : l7].pending, 0);
		/* the SYN's half-open record is gone again before the next
		 * (same 4-tuple) */
		while (ftoe_syn_count(e))
			ftoe_syn_remove(e, ftoe_tt_oldest(e->syn), 1);
		ck_assert_uint_eq(e->lis[l7].pending + e->lis[l9].pending, 0);
	}
	lb_fini(&w);
}
END_TEST

/* The tags of a record: VIDs only (PCP/DEI bits dropped), the 802.1ad one
 * alone or outside the 802.1Q one. */
START_TEST(vlan_from_md_rules)
{
	struct flextoe_md md;
	struct ftoe_vlan v;

	make_md(&md, 0, FLEXTOE_MDF_QINQ);
	ftoe_vlan_from_md(&md, &v);
	ck_assert_uint_eq(v.flags, FTOE_VLAN_S);
	ck_assert_uint_eq(v.stci, 200);
	ck_assert_uint_eq(ftoe_vlan_len(&v), 4);
	make_md(&md, 0, FLEXTOE_MDF_VLAN | FLEXTOE_MDF_QINQ);
	md.vlan_id = 0xe064;	/* PCP 7, VID 100 */
	ftoe_vlan_from_md(&md, &v);
	ck_assert_uint_eq(v.flags, FTOE_VLAN_C | FTOE_VLAN_S);
	ck_assert_uint_eq(v.tci, 100);
	ck_assert_uint_eq(ftoe_vlan_len(&v), 8);
	make_md(&md, 0, FLEXTOE_MDF_CLASS);
	ftoe_vlan_from_md(&md, &v);
	ck_assert_uint_eq(v.flags, 0);
	ck_assert_uint_eq(ftoe_vlan_len(&v), 0);
}
END_TEST

/* ---- ARP and ICMP --------------------------------------------------------- */

static uint8_t out[2048];
static size_t out_len;
static unsigned nr_out;

static int cap_xmit(void *ctx, const void *frame, size_t len)
{
	(void)ctx;
	ck_assert_uint_le(len, sizeof(out));
	memcpy(out, frame, len);
	out_len = len;
	nr_out++;
	return 0;
}

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x05 };
static const uint8_t peer_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t our_ip[4] = { 10, 0, 0, 5 };
static const uint8_t peer_ip[4] = { 10, 0, 0, 2 };

static size_t arp_request(uint8_t *f)
{
	uint8_t *a = f + 14;

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, peer_mac, 6);
	ftoe_put_be16(f + 12, FTOE_ETH_P_ARP);
	ftoe_put_be16(a, 1);
	ftoe_put_be16(a + 2, FTOE_ETH_P_IPV4);
	a[4] = 6;
	a[5] = 4;
	ftoe_put_be16(a + 6, FTOE_ARP_OP_REQUEST);
	memcpy(a + 8, peer_mac, 6);
	memcpy(a + 14, peer_ip, 4);
	memcpy(a + 24, our_ip, 4);
	return 60;
}

START_TEST(vlan_arp)
{
	static struct ftoe_arp arp;
	struct ftoe_arp_cfg cfg = { .prefix_len = 24 };
	struct ftoe_arp_ops ops = { .xmit = cap_xmit };
	struct ftoe_vlan v = { .tci = 100, .flags = FTOE_VLAN_C }, got;
	uint32_t peer_be;
	uint8_t f[64], mac[6];
	struct tagged t;

	memcpy(&cfg.ip_be, our_ip, 4);
	memcpy(&peer_be, peer_ip, 4);
	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_arp_init(&arp, &cfg, &ops), 0);

	/* A tagged request: a reply with the same tag, 60 bytes + 4. */
	nr_out = 0;
	ck_assert_int_eq(ftoe_arp_rx_vlan(&arp, f, arp_request(f), &v, SEC), 0);
	ck_assert_uint_eq(nr_out, 1);
	ck_assert_uint_eq(out_len, 64);
	read_tags(out, out_len, &t);
	ck_assert_uint_eq(t.ntags, 1);
	ck_assert_uint_eq(t.tpid[0], FTOE_ETH_P_8021Q);
	ck_assert_uint_eq(t.tci[0], 100);
	ck_assert_uint_eq(t.etype, FTOE_ETH_P_ARP);
	ck_assert_uint_eq(ftoe_get_be16(out + t.l3 + 6), FTOE_ARP_OP_REPLY);
	ck_assert_mem_eq(out, peer_mac, 6);
	ck_assert_mem_eq(out + t.l3 + 8, our_mac, 6);
	ck_assert_mem_eq(out + t.l3 + 14, our_ip, 4);
	ck_assert_mem_eq(out + t.l3 + 24, peer_ip, 4);

	/* The neighbour remembers the VLAN for the engine's own frames. */
	ck_assert_int_eq(ftoe_arp_lookup(&arp, peer_be, mac, SEC), 0);
	ck_assert_mem_eq(mac, peer_mac, 6);
	ck_assert_int_eq(ftoe_arp_vlan(&arp, peer_be, &got), 0);
	ck_assert_uint_eq(got.flags, FTOE_VLAN_C);
	ck_assert_uint_eq(got.tci, 100);

	/* Expired: resolving again asks on that VLAN. */
	nr_out = 0;
	ck_assert_int_eq(ftoe_arp_lookup(&arp, peer_be, mac, SEC + 61 * SEC), -EAGAIN);
	ck_assert_uint_eq(nr_out, 1);
	read_tags(out, out_len, &t);
	ck_assert_uint_eq(t.ntags, 1);
	ck_assert_uint_eq(t.tci[0], 100);
	ck_assert_uint_eq(ftoe_get_be16(out + t.l3 + 6), FTOE_ARP_OP_REQUEST);
	ck_assert_int_eq(ftoe_arp_vlan(&arp, peer_be, &got), -ENOENT);	/* not resolved yet */

	/* An untagged request now: the reply and the entry are untagged. */
	nr_out = 0;
	ck_assert_int_eq(ftoe_arp_rx(&arp, f, arp_request(f), 63 * SEC), 0);
	ck_assert_uint_eq(nr_out, 1);
	ck_assert_uint_eq(out_len, 60);
	read_tags(out, out_len, &t);
	ck_assert_uint_eq(t.ntags, 0);
	ck_assert_int_eq(ftoe_arp_vlan(&arp, peer_be, &got), 0);
	ck_assert_uint_eq(got.flags, 0);
}
END_TEST

START_TEST(vlan_icmp)
{
	static uint8_t buf[256];
	struct ftoe_icmp_cfg cfg = { 0 };
	struct ftoe_icmp_ops ops = { .xmit = cap_xmit };
	struct ftoe_vlan v = { .tci = 100, .stci = 200, .flags = FTOE_VLAN_C | FTOE_VLAN_S };
	struct ftoe_icmp ic;
	uint8_t *f = buf + 64, *ip = f + 14, *m = ip + 20;
	struct tagged t;

	memcpy(&cfg.ip_be, our_ip, 4);
	memcpy(cfg.mac, our_mac, 6);
	ck_assert_int_eq(ftoe_icmp_init(&ic, &cfg, &ops), 0);
	memcpy(f, our_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	ftoe_put_be16(f + 12, FTOE_ETH_P_IPV4);
	ip[0] = 0x45;
	ftoe_put_be16(ip + 2, 20 + 8 + 32);
	ip[8] = 64;
	ip[9] = FTOE_IPPROTO_ICMP;
	memcpy(ip + 12, peer_ip, 4);
	memcpy(ip + 16, our_ip, 4);
	ftoe_put_be16(ip + 10, ftoe_csum(ip, 20));
	m[0] = FTOE_ICMP_ECHO_REQUEST;
	ftoe_put_be16(m + 4, 0x1234);
	ftoe_put_be16(m + 6, 7);
	for (int i = 0; i < 32; i++)
		m[8 + i] = (uint8_t)i;
	ftoe_put_be16(m + 2, ftoe_csum(m, 40));

	nr_out = 0;
	ck_assert_int_eq(ftoe_icmp_rx_vlan(&ic, f, 14 + 60, &v), 0);
	ck_assert_uint_eq(nr_out, 1);
	ck_assert_uint_eq(out_len, 8 + 14 + 60);
	read_tags(out, out_len, &t);
	ck_assert_uint_eq(t.ntags, 2);
	ck_assert_uint_eq(t.tpid[0], FTOE_ETH_P_8021AD);
	ck_assert_uint_eq(t.tci[0], 200);
	ck_assert_uint_eq(t.tpid[1], FTOE_ETH_P_8021Q);
	ck_assert_uint_eq(t.tci[1], 100);
	ck_assert_uint_eq(t.etype, FTOE_ETH_P_IPV4);
	ck_assert_mem_eq(out, peer_mac, 6);
	ck_assert_mem_eq(out + 6, our_mac, 6);
	ck_assert_uint_eq(ftoe_csum(out + t.l3, 20), 0);
	ck_assert_mem_eq(out + t.l3 + 16, peer_ip, 4);
	ck_assert_uint_eq(out[t.l3 + 20], FTOE_ICMP_ECHO_REPLY);
	ck_assert_uint_eq(ftoe_csum(out + t.l3 + 20, 40), 0);
	for (int i = 0; i < 32; i++)
		ck_assert_uint_eq(out[t.l3 + 28 + i], i);
}
END_TEST

static Suite *vlan_suite(void)
{
	Suite *s = suite_create("core_vlan");
	TCase *tc = tcase_create("vlan");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, vlan_tx_flow_tagged);
	tcase_add_test(tc, vlan_tx_flow_qinq);
	tcase_add_test(tc, vlan_rx_md_answers);
	tcase_add_test(tc, vlan_rx_md_class_picks_listener);
	tcase_add_test(tc, vlan_from_md_rules);
	tcase_add_test(tc, vlan_arp);
	tcase_add_test(tc, vlan_icmp);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(vlan_suite)
