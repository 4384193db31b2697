/* test_xdp_progs.c - the shipped XDP programs in the runtime with struct flextoe_md present: classify, vlan_strip, tcp_trace, capture, firewall, filter, over IPv4 and IPv6. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ebpf/ebpf.h"
#include "loader/fw/fw_gen.h"
#include "loader/fw/fwrules.h"
#include <bpf/bpf.h>
#include "tests/unit/test.h"
#include <flextoe/bpf.h>
#include <flextoe/classify.h>
#include <flextoe/filter.h>
#include <flextoe/firewall.h>
#include <flextoe/splice.h>
#include <flextoe/trace.h>

static struct ebpf_object *open_prog(const char *name, enum ebpf_engine engine, struct ebpf_prog **prog)
{
	struct ebpf_object_opts opts = { .sz = sizeof(opts), .engine = engine };
	struct ebpf_object *obj = NULL;
	char rel[128];
	int ret;

	snprintf(rel, sizeof(rel), "xdp-progs/%s.bpf.o", name);
	ret = ebpf_object_open(ftoe_test_path(rel), &opts, &obj);
	ck_assert_msg(ret == 0, "cannot open %s: %d (run as root after make)", rel, ret);
	*prog = ebpf_object_next_prog(obj, NULL);
	ck_assert_ptr_nonnull(*prog);
	return obj;
}

static void map_set(struct ebpf_object *obj, const char *name, const void *key, const void *val)
{
	struct ebpf_map *m = ebpf_object_find_map(obj, name);

	ck_assert_msg(m != NULL, "no map %s", name);
	ck_assert_int_eq(ebpf_map_update_elem(m, key, val, BPF_ANY), 0);
}

/* Ethernet [+ tags] + IPv4 + TCP (20-byte header) + payload. */
static size_t tcp4_frame(uint8_t *f, const uint16_t *tpids, int ntags, const char *src, uint16_t sport,
			 const char *dst, uint16_t dport, uint32_t seq, uint32_t ack, size_t payload)
{
	size_t off = 12, ip, tcp;
	int i;

	memset(f, 0, 14 + 8 + 40 + payload);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < ntags; i++) {
		f[off] = (uint8_t)(tpids[i] >> 8);
		f[off + 1] = (uint8_t)tpids[i];
		f[off + 2] = (uint8_t)(0x20 | (100 + i) >> 8);	/* PCP 1, VID 100+i */
		f[off + 3] = (uint8_t)(100 + i);
		off += 4;
	}
	f[off] = 0x08;
	f[off + 1] = 0x00;
	ip = off + 2;
	f[ip] = 0x45;
	f[ip + 2] = (uint8_t)((40 + payload) >> 8);
	f[ip + 3] = (uint8_t)(40 + payload);
	f[ip + 8] = 64;
	f[ip + 9] = IPPROTO_TCP;
	inet_pton(AF_INET, src, f + ip + 12);
	inet_pton(AF_INET, dst, f + ip + 16);
	tcp = ip + 20;
	f[tcp] = (uint8_t)(sport >> 8);
	f[tcp + 1] = (uint8_t)sport;
	f[tcp + 2] = (uint8_t)(dport >> 8);
	f[tcp + 3] = (uint8_t)dport;
	seq = htonl(seq);
	ack = htonl(ack);
	memcpy(f + tcp + 4, &seq, 4);
	memcpy(f + tcp + 8, &ack, 4);
	f[tcp + 12] = 5 << 4;
	f[tcp + 13] = 0x18;	/* PSH ACK */
	f[tcp + 14] = 0x12;	/* window 0x1234 */
	f[tcp + 15] = 0x34;
	return tcp + 20 + payload;
}

/* Ethernet [+ tags] + IPv6 [+ extension headers] + TCP (20-byte header)
 * + payload.  exts lists the extension headers (IPPROTO_HOPOPTS, _ROUTING,
 * _DSTOPTS: 8 bytes each; IPPROTO_FRAGMENT: offset frag_off, in 8-byte
 * units) between the IPv6 header and TCP. */
static size_t tcp6_frame(uint8_t *f, const uint16_t *tpids, int ntags, const char *src, uint16_t sport,
			 const char *dst, uint16_t dport, uint32_t seq, uint32_t ack, size_t payload,
			 const uint8_t *exts, int nexts, uint16_t frag_off)
{
	size_t off = 12, ip, tcp, plen;
	uint8_t *next;
	int i;

	memset(f, 0, 14 + 8 + 40 + 8 * (size_t)nexts + 20 + payload);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (i = 0; i < ntags; i++) {
		f[off] = (uint8_t)(tpids[i] >> 8);
		f[off + 1] = (uint8_t)tpids[i];
		f[off + 3] = (uint8_t)(100 + i);	/* VID 100+i */
		off += 4;
	}
	f[off] = 0x86;
	f[off + 1] = 0xdd;
	ip = off + 2;
	plen = 8 * (size_t)nexts + 20 + payload;
	f[ip] = 0x60;
	f[ip + 4] = (uint8_t)(plen >> 8);
	f[ip + 5] = (uint8_t)plen;
	f[ip + 7] = 64;		/* hop limit */
	ck_assert_int_eq(inet_pton(AF_INET6, src, f + ip + 8), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, dst, f + ip + 24), 1);
	next = &f[ip + 6];
	tcp = ip + 40;
	for (i = 0; i < nexts; i++) {
		*next = exts[i];
		next = &f[tcp];		/* each header's first byte: the next one */
		if (exts[i] == IPPROTO_FRAGMENT) {
			f[tcp + 2] = (uint8_t)(frag_off >> 5);
			f[tcp + 3] = (uint8_t)(frag_off << 3 | 1);	/* M: more fragments */
		}
		tcp += 8;	/* hdr ext len 0: 8 bytes */
	}
	*next = IPPROTO_TCP;
	f[tcp] = (uint8_t)(sport >> 8);
	f[tcp + 1] = (uint8_t)sport;
	f[tcp + 2] = (uint8_t)(dport >> 8);
	f[tcp + 3] = (uint8_t)dport;
	seq = htonl(seq);
	ack = htonl(ack);
	memcpy(f + tcp + 4, &seq, 4);
	memcpy(f + tcp + 8, &ack, 4);
	f[tcp + 12] = 5 << 4;
	f[tcp + 13] = 0x18;	/* PSH ACK */
	f[tcp + 14] = 0x12;	/* window 0x1234 */
	f[tcp + 15] = 0x34;
	return tcp + 20 + payload;
}

static const uint8_t ext_hop_dst[] = { IPPROTO_HOPOPTS, IPPROTO_DSTOPTS };
static const uint8_t ext_seven[] = {
	IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
	IPPROTO_DSTOPTS, IPPROTO_DSTOPTS,
};
static const uint8_t ext_frag[] = { IPPROTO_FRAGMENT };

/* Sum over the runtime's CPUs of a per-CPU __u64 counter. */
static uint64_t percpu_sum(struct ebpf_object *obj, const char *map, uint32_t idx)
{
	uint64_t vals[512], sum = 0;
	unsigned int c;

	ck_assert_uint_le(ebpf_nr_cpus(), 512);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, map), &idx, vals), 0);
	for (c = 0; c < ebpf_nr_cpus(); c++)
		sum += vals[c];
	return sum;
}

/* Place frame in a test-run geometry buffer with md (when given) in
 * data_meta .. data, as the engine does at its hooks. */
static struct ebpf_xdp_buff *make_buff(const uint8_t *frame, size_t len, const struct flextoe_md *md)
{
	struct ebpf_xdp_buff *x;

	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	x->tailroom = EBPF_XDP_TEST_TAILROOM;
	ck_assert_int_eq(ebpf_xdp_buff_set(x, frame, len, EBPF_XDP_TEST_HEADROOM), 0);
	if (md) {
		x->md.data_meta = x->md.data - sizeof(*md);
		memcpy((void *)(uintptr_t)x->md.data_meta, md, sizeof(*md));
	}
	return x;
}

static struct flextoe_md base_md(uint8_t hook, uint8_t dir)
{
	struct flextoe_md md;

	memset(&md, 0, sizeof(md));
	md.size = sizeof(md);
	md.version = FLEXTOE_MD_VERSION;
	md.hook = hook;
	md.dir = dir;
	md.flags = FLEXTOE_MDF_FLOW;
	md.flow_id = 17;
	md.flow_group = 3;
	md.tstamp_ns = 123456789;
	md.snd_una = 1000;
	md.snd_nxt = 2000;
	md.rcv_nxt = 3000;
	md.cwnd = 14600;
	md.srtt_us = 250;
	return md;
}

/* A copy of the metadata: after adjust_head it may be only 4-byte aligned
 * (as XDP metadata in the kernel), too little for a direct u64 read in C. */
static const struct flextoe_md *buff_md(const struct ebpf_xdp_buff *x)
{
	static struct flextoe_md copy;

	ck_assert_uint_eq(x->md.data - x->md.data_meta, sizeof(struct flextoe_md));
	memcpy(&copy, (const void *)(uintptr_t)x->md.data_meta, sizeof(copy));
	return &copy;
}

START_TEST(test_classify)
{
	struct classify_port_key pk = { .proto = IPPROTO_TCP, .port = 80 };
	struct classify_val pv = { .app_ctx = 7, .priority = 2 }, fv = { .app_ctx = 9, .priority = 5, .flow_group = 11 };
	struct classify_flow_key fk = { .family = 4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 };
	struct flextoe_md md;
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	const struct flextoe_md *out;
	uint8_t f[256];
	size_t len;

	obj = open_prog("classify", (enum ebpf_engine)_i, &prog);
	map_set(obj, "classify_ports", &pk, &pv);
	inet_pton(AF_INET, "10.0.0.9", fk.saddr);
	inet_pton(AF_INET, "10.0.0.1", fk.daddr);
	map_set(obj, "classify_flows", &fk, &fv);

	/* RX to port 80 from another peer: the port entry */
	len = tcp4_frame(f, NULL, 0, "10.0.0.2", 40000, "10.0.0.1", 80, 1, 2, 10);
	md = base_md(FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	out = buff_md(x);
	ck_assert_uint_eq(out->app_ctx, 7);
	ck_assert_uint_eq(out->priority, 2);
	ck_assert_uint_eq(out->flow_group, 3);	/* value's 0 keeps it */
	ck_assert_uint_eq(out->flags, FLEXTOE_MDF_FLOW | FLEXTOE_MDF_CLASS);
	ck_assert_int_eq(memcmp(ebpf_xdp_data(x), f, len), 0);	/* frame untouched */
	ebpf_xdp_buff_free(x);

	/* the exact 5-tuple wins over the port */
	len = tcp4_frame(f, NULL, 0, "10.0.0.9", 40000, "10.0.0.1", 80, 1, 2, 0);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	out = buff_md(x);
	ck_assert_uint_eq(out->app_ctx, 9);
	ck_assert_uint_eq(out->priority, 5);
	ck_assert_uint_eq(out->flow_group, 11);
	ebpf_xdp_buff_free(x);

	/* TX: the local port is the source port; RX to port 81 misses */
	len = tcp4_frame(f, NULL, 0, "10.0.0.1", 80, "10.0.0.2", 40000, 1, 2, 0);
	md = base_md(FLEXTOE_HOOK_TX_POST, FLEXTOE_DIR_TX);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_uint_eq(buff_md(x)->app_ctx, 7);
	ebpf_xdp_buff_free(x);
	len = tcp4_frame(f, NULL, 0, "10.0.0.2", 40000, "10.0.0.1", 81, 1, 2, 0);
	md = base_md(FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(memcmp(buff_md(x), &md, sizeof(md)), 0);
	ebpf_xdp_buff_free(x);

	/* a wrong version is not metadata: nothing written */
	md.version = 99;
	len = tcp4_frame(f, NULL, 0, "10.0.0.2", 40000, "10.0.0.1", 80, 1, 2, 0);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(memcmp(buff_md(x), &md, sizeof(md)), 0);
	ebpf_xdp_buff_free(x);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_vlan_strip)
{
	static const uint16_t qinq[2] = { 0x88a8, 0x8100 }, dot1q[1] = { 0x8100 }, ad[1] = { 0x88a8 };
	static const struct { const uint16_t *tpids; int n; uint16_t flags, vid, svid; } cases[] = {
		{ qinq, 2, FLEXTOE_MDF_VLAN | FLEXTOE_MDF_QINQ, 101, 100 },
		{ dot1q, 1, FLEXTOE_MDF_VLAN, 100, 0 },
		{ ad, 1, FLEXTOE_MDF_QINQ, 0, 100 },
	};
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	uint8_t tagged[256], plain[256];
	size_t tlen, plen;
	unsigned int c;

	obj = open_prog("vlan_strip", (enum ebpf_engine)_i, &prog);
	plen = tcp4_frame(plain, NULL, 0, "10.0.0.2", 1, "10.0.0.1", 2, 3, 4, 30);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct flextoe_md md = base_md(FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
		const struct flextoe_md *out;
		struct ebpf_xdp_buff *x;

		tlen = tcp4_frame(tagged, cases[c].tpids, cases[c].n, "10.0.0.2", 1, "10.0.0.1", 2, 3, 4, 30);
		ck_assert_uint_eq(tlen, plen + 4 * (size_t)cases[c].n);
		x = make_buff(tagged, tlen, &md);
		ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
		ck_assert_uint_eq(ebpf_xdp_len(x), plen);
		ck_assert_int_eq(memcmp(ebpf_xdp_data(x), plain, plen), 0);
		out = buff_md(x);	/* moved along with the data */
		ck_assert_uint_eq(out->flags, FLEXTOE_MDF_FLOW | cases[c].flags);
		ck_assert_uint_eq(out->vlan_id, cases[c].vid);
		ck_assert_uint_eq(out->svlan_id, cases[c].svid);
		ck_assert_uint_eq(out->tstamp_ns, md.tstamp_ns);
		ebpf_xdp_buff_free(x);
	}
	ebpf_object_close(obj);
}
END_TEST

struct rec_box {
	int n;
	uint8_t buf[4096];
	size_t size;
};

static int grab(void *ctx, void *data, size_t size)
{
	struct rec_box *b = ctx;

	b->n++;
	b->size = size < sizeof(b->buf) ? size : sizeof(b->buf);
	memcpy(b->buf, data, b->size);
	return 0;
}

START_TEST(test_tcp_trace)
{
	static const uint16_t dot1q[1] = { 0x8100 };
	struct flextoe_md md = base_md(FLEXTOE_HOOK_TX_POST, FLEXTOE_DIR_TX);
	struct flextoe_trace_rec rec;
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct rec_box box = { 0 };
	struct ebpf_map *rb;
	uint8_t f[512];
	size_t len;

	obj = open_prog("tcp_trace", (enum ebpf_engine)_i, &prog);
	rb = ebpf_object_find_map(obj, "trace_events");
	ck_assert_ptr_nonnull(rb);
	md.flags |= FLEXTOE_MDF_RETRANSMIT;
	len = tcp4_frame(f, dot1q, 1, "10.0.0.1", 5000, "10.0.0.2", 80, 0x11223344, 0x55667788, 200);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 1);
	ck_assert_uint_eq(box.size, sizeof(rec));
	memcpy(&rec, box.buf, sizeof(rec));
	ck_assert_uint_eq(rec.size, sizeof(rec));
	ck_assert_uint_eq(rec.family, 4);
	ck_assert_uint_eq(rec.dir, FLEXTOE_DIR_TX);
	ck_assert_uint_eq(rec.hook, FLEXTOE_HOOK_TX_POST);
	ck_assert_uint_eq(rec.flags, FLEXTOE_TRF_MD | FLEXTOE_TRF_RETRANSMIT | FLEXTOE_TRF_VLAN);
	ck_assert_uint_eq(rec.tstamp_ns, 123456789);
	ck_assert_uint_eq(rec.sport, 5000);
	ck_assert_uint_eq(rec.dport, 80);
	ck_assert_uint_eq(rec.seq, 0x11223344);
	ck_assert_uint_eq(rec.ack, 0x55667788);
	ck_assert_uint_eq(rec.len, 200);
	ck_assert_uint_eq(rec.tcp_flags, 0x18);
	ck_assert_uint_eq(rec.win, 0x1234);
	ck_assert_uint_eq(rec.flow_id, 17);
	ck_assert_uint_eq(rec.snd_una, 1000);
	ck_assert_uint_eq(rec.snd_nxt, 2000);
	ck_assert_uint_eq(rec.cwnd, 14600);
	ck_assert_uint_eq(rec.srtt_us, 250);
	ck_assert_uint_eq(rec.pkt_len, len);
	ck_assert_uint_eq(rec.snap_len, FLEXTOE_TRACE_SNAP);
	ck_assert_int_eq(memcmp(rec.snap, f, FLEXTOE_TRACE_SNAP), 0);
	ck_assert_uint_eq(rec.saddr[0], 10);
	ck_assert_uint_eq(rec.daddr[3], 2);
	ebpf_xdp_buff_free(x);

	/* without metadata: RX, no TCP state, time 0 in this variant */
	x = make_buff(f, len, NULL);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 1);
	memcpy(&rec, box.buf, sizeof(rec));
	ck_assert_uint_eq(rec.flags, FLEXTOE_TRF_VLAN);
	ck_assert_uint_eq(rec.dir, FLEXTOE_DIR_RX);
	ck_assert_uint_eq(rec.tstamp_ns, 0);
	ck_assert_uint_eq(rec.snd_una, 0);
	ebpf_xdp_buff_free(x);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_capture)
{
	struct flextoe_md md = base_md(FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	struct flextoe_capture_cfg cfg = { .snaplen = 60 };
	struct flextoe_capture_hdr h;
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct rec_box box = { 0 };
	struct ebpf_map *rb;
	uint32_t zero = 0;
	uint8_t f[512];
	size_t len;

	obj = open_prog("capture", (enum ebpf_engine)_i, &prog);
	rb = ebpf_object_find_map(obj, "capture_events");
	len = tcp4_frame(f, NULL, 0, "10.0.0.1", 5000, "10.0.0.2", 80, 1, 2, 100);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 1);
	ck_assert_uint_eq(box.size, sizeof(h) + len);
	memcpy(&h, box.buf, sizeof(h));
	ck_assert_uint_eq(h.pkt_len, len);
	ck_assert_uint_eq(h.cap_len, len);
	ck_assert_uint_eq(h.tstamp_ns, 123456789);
	ck_assert_int_eq(memcmp(box.buf + sizeof(h), f, len), 0);
	ebpf_xdp_buff_free(x);

	map_set(obj, "capture_cfg", &zero, &cfg);
	x = make_buff(f, len, NULL);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 1);
	ck_assert_uint_eq(box.size, sizeof(h) + 60);
	memcpy(&h, box.buf, sizeof(h));
	ck_assert_uint_eq(h.cap_len, 60);
	ck_assert_uint_eq(h.pkt_len, len);
	ck_assert_int_eq(memcmp(box.buf + sizeof(h), f, 60), 0);
	ebpf_xdp_buff_free(x);
	ebpf_object_close(obj);
}
END_TEST

static int rt_update(void *ctx, const char *map, const void *key, size_t ksz, const void *val, size_t vsz)
{
	(void)ksz;
	(void)vsz;
	return ebpf_map_update_elem(ebpf_object_find_map(ctx, map), key, val, BPF_ANY);
}

static uint32_t fw_run(struct ebpf_prog *prog, const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
	struct ebpf_xdp_buff *x;
	uint8_t f[256];
	uint32_t act;
	size_t len = tcp4_frame(f, NULL, 0, src, sport, dst, dport, 1, 2, 0);

	x = make_buff(f, len, NULL);
	act = ebpf_prog_run_xdp(prog, x);
	ebpf_xdp_buff_free(x);
	return act;
}

/* The compiled rules in the real program, and the generation switch. */
START_TEST(test_firewall_generations)
{
	struct fw_map_ops ops = { .update = rt_update };
	struct fw_ruleset *a, *b;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct fw_error err;
	uint64_t cnt[512];
	uint32_t idx;

	ck_assert_int_eq(fw_ruleset_parse_str("policy deny\ndeny tcp 10.1.0.0/16 any any 22\n"
					      "allow tcp 10.0.0.0/8 any any 20-25\n", &a, &err), 0);
	ck_assert_int_eq(fw_ruleset_parse_str("policy allow\ndeny tcp any any any 80\n", &b, &err), 0);
	obj = open_prog("firewall", (enum ebpf_engine)_i, &prog);
	ops.ctx = obj;
	/* unconfigured: generation 0 with no tuples and policy allow */
	ck_assert_uint_eq(fw_run(prog, "1.1.1.1", 1, "2.2.2.2", 80), XDP_PASS);

	ck_assert_int_eq(fw_ruleset_compile(a, 0, &ops, NULL, &err), 0);
	ck_assert_uint_eq(fw_run(prog, "10.1.0.5", 1, "2.2.2.2", 22), XDP_DROP);	/* rule 0 */
	ck_assert_uint_eq(fw_run(prog, "10.2.0.5", 1, "2.2.2.2", 22), XDP_PASS);	/* rule 1 */
	ck_assert_uint_eq(fw_run(prog, "10.2.0.5", 1, "2.2.2.2", 26), XDP_DROP);	/* policy */
	ck_assert_uint_eq(fw_run(prog, "1.1.1.1", 1, "2.2.2.2", 80), XDP_DROP);

	ck_assert_int_eq(fw_ruleset_compile(b, 1, &ops, NULL, &err), 0);
	ck_assert_uint_eq(fw_run(prog, "10.1.0.5", 1, "2.2.2.2", 22), XDP_PASS);
	ck_assert_uint_eq(fw_run(prog, "1.1.1.1", 1, "2.2.2.2", 80), XDP_DROP);

	/* per-rule counters: generation 0 rule 0 hit once, its policy three
	 * times (the unconfigured run counts there too) */
	ck_assert_uint_le(ebpf_nr_cpus(), 512);
	idx = FW_COUNTER_IDX(0, 0);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "fw_counters"), &idx, cnt), 0);
	{
		uint64_t sum = 0;

		for (unsigned int c = 0; c < ebpf_nr_cpus(); c++)
			sum += cnt[c];
		ck_assert_uint_eq(sum, 1);
	}
	idx = FW_COUNTER_IDX(0, FW_MAX_RULES);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "fw_counters"), &idx, cnt), 0);
	{
		uint64_t sum = 0;

		for (unsigned int c = 0; c < ebpf_nr_cpus(); c++)
			sum += cnt[c];
		ck_assert_uint_eq(sum, 3);
	}
	fw_ruleset_free(a);
	fw_ruleset_free(b);
	ebpf_object_close(obj);
}
END_TEST

/* ---- generated rule sets on the JIT, the interpreter and the kernel ------- */

/* Map writes go to the JIT object, its kernel twin and the interpreter's object. */
struct fw3 {
	struct ebpf_object *jit, *interp;
};

static int fw3_update(void *ctx, const char *map, const void *key, size_t ksz, const void *val, size_t vsz)
{
	struct fw3 *f = ctx;
	struct ebpf_map *m = ebpf_object_find_map(f->jit, map);
	int err;

	(void)ksz;
	(void)vsz;
	err = ebpf_map_update_elem(m, key, val, BPF_ANY);
	if (!err)
		err = ebpf_map_update_elem(ebpf_object_find_map(f->interp, map), key, val, BPF_ANY);
	if (!err && bpf_map_update_elem(ebpf_object_kernel_map_fd(f->jit, m), key, val, BPF_ANY))
		err = -errno;
	return err;
}

static int fw3_delete(void *ctx, const char *map, const void *key, size_t ksz)
{
	struct fw3 *f = ctx;
	struct ebpf_map *m = ebpf_object_find_map(f->jit, map);
	int err;

	(void)ksz;
	err = ebpf_map_delete_elem(m, key);
	if (!err)
		err = ebpf_map_delete_elem(ebpf_object_find_map(f->interp, map), key);
	if (!err && bpf_map_delete_elem(ebpf_object_kernel_map_fd(f->jit, m), key))
		err = -errno;
	return err;
}

/* Ethernet + IPv4 or IPv6 + TCP or UDP header of packet p */
static size_t fw_frame(const struct fw_packet *p, uint8_t *f)
{
	size_t l4 = p->proto == IPPROTO_UDP ? 8 : 20, l3 = p->family == 6 ? 40 : 20, t = 14 + l3;

	memset(f, 0, 14 + l3 + l4);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	if (p->family == 6) {
		f[12] = 0x86;
		f[13] = 0xdd;
		f[14] = 0x60;
		f[19] = (uint8_t)l4;	/* payload length */
		f[20] = p->proto;
		f[21] = 64;
		memcpy(f + 22, p->src, 16);
		memcpy(f + 38, p->dst, 16);
	} else {
		f[14] = 0x45;
		f[17] = (uint8_t)(20 + l4);
		f[22] = 64;
		f[23] = p->proto;
		memcpy(f + 26, p->src, 4);
		memcpy(f + 30, p->dst, 4);
	}
	f[t] = (uint8_t)(p->sport >> 8);
	f[t + 1] = (uint8_t)p->sport;
	f[t + 2] = (uint8_t)(p->dport >> 8);
	f[t + 3] = (uint8_t)p->dport;
	if (p->proto == IPPROTO_UDP)
		f[t + 5] = 8;
	else
		f[t + 12] = 0x50;	/* data offset 5 */
	return t + l4;
}

/* _i: the generator.  10, 1,000 and 100,000 rules, written alternately
 * into the two generations (the later sets as updates of what the
 * generation held): the three engines give the reference's verdict on
 * packets near and inside the rules. */
START_TEST(test_firewall_engines_agree)
{
	const uint32_t sizes[] = { 10, 1000, (uint32_t)ftoe_test_scaled(100000) };
	enum fw_gen_kind kind = (enum fw_gen_kind)_i;
	struct ebpf_object_opts jo = { .sz = sizeof(jo), .engine = EBPF_ENGINE_JIT, .keep_kernel = true };
	struct ebpf_object_opts io = { .sz = sizeof(io), .engine = EBPF_ENGINE_INTERP };
	struct fw_tables *tab[2] = { NULL, NULL };
	struct ebpf_prog *pj, *pi;
	struct fw3 f3 = { 0 };
	struct fw_map_ops ops = { .update = fw3_update, .del = fw3_delete, .ctx = &f3 };
	struct fw_error err;
	int kfd, i, n;

	ck_assert_int_eq(ebpf_object_open(ftoe_test_path("xdp-progs/firewall.bpf.o"), &jo, &f3.jit), 0);
	ck_assert_int_eq(ebpf_object_open(ftoe_test_path("xdp-progs/firewall.bpf.o"), &io, &f3.interp), 0);
	pj = ebpf_object_find_prog(f3.jit, "xdp_firewall");
	pi = ebpf_object_find_prog(f3.interp, "xdp_firewall");
	ck_assert_ptr_nonnull(pj);
	ck_assert_ptr_nonnull(pi);
	kfd = ebpf_prog_kernel_fd(pj);
	ck_assert_int_ge(kfd, 0);
	for (i = 0; i < 3; i++) {
		uint32_t gen = (uint32_t)i & 1;
		/* v6: 20,000 rules at most, to keep its time small; its
		 * 100,000-rule tables are checked in test_fwrules.c */
		uint32_t size = kind == FW_GEN_V6 && sizes[i] > 20000 ? 20000 : sizes[i];
		struct fw_ruleset *rs;
		uint64_t rng = 99 + (uint64_t)i;
		char *text;

		ck_assert_int_eq(fw_gen_rules(kind, size, 21 + (uint64_t)i, &text), 0);
		ck_assert_int_eq(fw_ruleset_parse_str(text, &rs, &err), 0);
		free(text);
		if (tab[gen])
			ck_assert_int_eq(fw_tables_update(tab[gen], rs, &ops, NULL, &err), 0);
		else
			ck_assert_int_eq(fw_tables_compile(rs, gen, &ops, &tab[gen], NULL, &err), 0);
		for (n = 0; n < 300; n++) {
			struct fw_packet p;
			uint8_t frame[128];
			size_t len;
			uint32_t want, rule, vj, vi;
			struct ebpf_xdp_buff *x;
			LIBBPF_OPTS(bpf_test_run_opts, topts);

			fw_gen_packet_near(rs, &rng, &p);
			len = fw_frame(&p, frame);
			want = fw_ruleset_match(rs, &p, &rule) == FW_ACT_DENY ? XDP_DROP : XDP_PASS;
			x = make_buff(frame, len, NULL);
			vj = ebpf_prog_run_xdp(pj, x);
			ebpf_xdp_buff_free(x);
			x = make_buff(frame, len, NULL);
			vi = ebpf_prog_run_xdp(pi, x);
			ebpf_xdp_buff_free(x);
			topts.data_in = frame;
			topts.data_size_in = (uint32_t)len;
			topts.repeat = 1;
			ck_assert_int_eq(bpf_prog_test_run_opts(kfd, &topts), 0);
			ck_assert_msg(vj == want && vi == want && topts.retval == want,
				      "%s, %u rules, packet %d (rule %u): jit %u, interp %u, kernel %u, reference %u",
				      fw_gen_kind_name(kind), size, n, rule, vj, vi, topts.retval, want);
		}
		fw_ruleset_free(rs);
	}
	fw_tables_free(tab[0]);
	fw_tables_free(tab[1]);
	ebpf_object_close(f3.interp);
	ebpf_object_close(f3.jit);
}
END_TEST

/* ---- IPv6 ------------------------------------------------------------------ */

static uint32_t run_frame(struct ebpf_prog *prog, const uint8_t *f, size_t len, const struct flextoe_md *md)
{
	struct ebpf_xdp_buff *x = make_buff(f, len, md);
	uint32_t act = ebpf_prog_run_xdp(prog, x);

	ebpf_xdp_buff_free(x);
	return act;
}

START_TEST(test_classify_ipv6)
{
	struct classify_port_key pk = { .proto = IPPROTO_TCP, .port = 80 };
	struct classify_val pv = { .app_ctx = 7, .priority = 2 }, fv = { .app_ctx = 9, .priority = 5, .flow_group = 11 };
	struct classify_flow_key fk = { .family = 6, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80 };
	struct flextoe_md md = base_md(FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	const struct flextoe_md *out;
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	uint8_t f[512];
	size_t len;

	obj = open_prog("classify", (enum ebpf_engine)_i, &prog);
	map_set(obj, "classify_ports", &pk, &pv);
	inet_pton(AF_INET6, "fd00::9", fk.saddr);
	inet_pton(AF_INET6, "fd00::1", fk.daddr);
	map_set(obj, "classify_flows", &fk, &fv);

	/* another peer: the port entry */
	len = tcp6_frame(f, NULL, 0, "fd00::2", 40000, "fd00::1", 80, 1, 2, 10, NULL, 0, 0);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	out = buff_md(x);
	ck_assert_uint_eq(out->app_ctx, 7);
	ck_assert_uint_eq(out->flags, FLEXTOE_MDF_FLOW | FLEXTOE_MDF_CLASS);
	ebpf_xdp_buff_free(x);

	/* the 5-tuple, also behind hop-by-hop and destination options */
	len = tcp6_frame(f, NULL, 0, "fd00::9", 40000, "fd00::1", 80, 1, 2, 0, ext_hop_dst, 2, 0);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	out = buff_md(x);
	ck_assert_uint_eq(out->app_ctx, 9);
	ck_assert_uint_eq(out->flow_group, 11);
	ebpf_xdp_buff_free(x);

	/* an IPv4 frame with the same ports is not the IPv6 flow */
	len = tcp4_frame(f, NULL, 0, "10.0.0.9", 40000, "10.0.0.1", 80, 1, 2, 0);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_uint_eq(buff_md(x)->app_ctx, 7);
	ebpf_xdp_buff_free(x);

	/* seven extension headers hide the port: a miss, md untouched */
	len = tcp6_frame(f, NULL, 0, "fd00::9", 40000, "fd00::1", 80, 1, 2, 0, ext_seven, 7, 0);
	x = make_buff(f, len, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_int_eq(memcmp(buff_md(x), &md, sizeof(md)), 0);
	ebpf_xdp_buff_free(x);
	ck_assert_uint_eq(percpu_sum(obj, "classify_stats", CLASSIFY_MISS), 1);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_vlan_strip_ipv6)
{
	static const uint16_t qinq[2] = { 0x88a8, 0x8100 };
	struct flextoe_md md = base_md(FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	uint8_t tagged[256], plain[256];
	size_t tlen, plen;

	obj = open_prog("vlan_strip", (enum ebpf_engine)_i, &prog);
	plen = tcp6_frame(plain, NULL, 0, "fd00::2", 1, "fd00::1", 2, 3, 4, 30, ext_hop_dst, 2, 0);
	tlen = tcp6_frame(tagged, qinq, 2, "fd00::2", 1, "fd00::1", 2, 3, 4, 30, ext_hop_dst, 2, 0);
	x = make_buff(tagged, tlen, &md);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_PASS);
	ck_assert_uint_eq(ebpf_xdp_len(x), plen);
	ck_assert_int_eq(memcmp(ebpf_xdp_data(x), plain, plen), 0);
	ck_assert_uint_eq(buff_md(x)->vlan_id, 101);
	ck_assert_uint_eq(buff_md(x)->svlan_id, 100);
	ebpf_xdp_buff_free(x);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_tcp_trace_ipv6)
{
	static const uint16_t dot1q[1] = { 0x8100 };
	struct flextoe_md md = base_md(FLEXTOE_HOOK_RX_POST, FLEXTOE_DIR_RX);
	struct flextoe_trace_cfg cfg = { .flags = FLEXTOE_TRACE_CFG_ADDR, .family = 6 };
	struct flextoe_trace_rec rec;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct rec_box box = { 0 };
	struct ebpf_map *rb;
	uint8_t f[512], a6[16];
	uint32_t zero = 0;
	size_t len;

	obj = open_prog("tcp_trace", (enum ebpf_engine)_i, &prog);
	rb = ebpf_object_find_map(obj, "trace_events");
	len = tcp6_frame(f, dot1q, 1, "2001:db8::1", 5000, "fd00::2", 80, 0x11223344, 0x55667788, 200,
			 ext_hop_dst, 2, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, &md), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 1);
	memcpy(&rec, box.buf, sizeof(rec));
	ck_assert_uint_eq(rec.version, FLEXTOE_TRACE_VERSION);
	ck_assert_uint_eq(rec.family, 6);
	inet_pton(AF_INET6, "2001:db8::1", a6);
	ck_assert_int_eq(memcmp(rec.saddr, a6, 16), 0);
	inet_pton(AF_INET6, "fd00::2", a6);
	ck_assert_int_eq(memcmp(rec.daddr, a6, 16), 0);
	ck_assert_uint_eq(rec.sport, 5000);
	ck_assert_uint_eq(rec.dport, 80);
	ck_assert_uint_eq(rec.seq, 0x11223344);
	ck_assert_uint_eq(rec.len, 200);	/* payload length minus extension and TCP headers */
	ck_assert_uint_eq(rec.flags, FLEXTOE_TRF_MD | FLEXTOE_TRF_VLAN);
	ck_assert_uint_eq(rec.pkt_len, len);
	ck_assert_int_eq(memcmp(rec.snap, f, FLEXTOE_TRACE_SNAP), 0);

	/* a host filter on an IPv6 address: only its segments */
	inet_pton(AF_INET6, "fd00::2", cfg.addr);
	map_set(obj, "trace_cfg", &zero, &cfg);
	ck_assert_uint_eq(run_frame(prog, f, len, &md), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 1);
	len = tcp6_frame(f, NULL, 0, "fd00::3", 5000, "fd00::4", 80, 1, 2, 0, NULL, 0, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, &md), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 0);
	/* an IPv4 address whose bytes start the same is another family */
	len = tcp4_frame(f, NULL, 0, "253.0.0.0", 5000, "10.0.0.4", 80, 1, 2, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, &md), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 0);
	ck_assert_uint_eq(percpu_sum(obj, "trace_stats", FLEXTOE_TRACE_FILTERED), 2);

	/* a later fragment has no TCP header: nothing to trace */
	len = tcp6_frame(f, NULL, 0, "fd00::2", 5000, "fd00::4", 80, 1, 2, 0, ext_frag, 1, 100);
	ck_assert_uint_eq(run_frame(prog, f, len, &md), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(rb, grab, &box), 0);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_capture_ipv6)
{
	struct flextoe_capture_hdr h;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct rec_box box = { 0 };
	uint8_t f[512];
	size_t len;

	obj = open_prog("capture", (enum ebpf_engine)_i, &prog);
	len = tcp6_frame(f, NULL, 0, "fd00::1", 5000, "fd00::2", 80, 1, 2, 100, ext_hop_dst, 2, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_PASS);
	ck_assert_int_eq(ebpf_ringbuf_consume(ebpf_object_find_map(obj, "capture_events"), grab, &box), 1);
	ck_assert_uint_eq(box.size, sizeof(h) + len);
	memcpy(&h, box.buf, sizeof(h));
	ck_assert_uint_eq(h.cap_len, len);
	ck_assert_uint_eq(h.hook, FLEXTOE_HOOK_NONE);
	ck_assert_int_eq(memcmp(box.buf + sizeof(h), f, len), 0);
	ebpf_object_close(obj);
}
END_TEST

static uint32_t fw6(struct ebpf_prog *prog, const char *src, const char *dst, uint16_t dport,
		    const uint8_t *exts, int nexts, uint16_t frag_off)
{
	uint8_t f[256];
	size_t len = tcp6_frame(f, NULL, 0, src, 40000, dst, dport, 1, 2, 0, exts, nexts, frag_off);

	return run_frame(prog, f, len, NULL);
}

/* IPv6 CIDRs beside IPv4 ones, compiled into the same tables. */
START_TEST(test_firewall_ipv6)
{
	struct fw_map_ops ops = { .update = rt_update };
	struct fw_ruleset *rs;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct fw_error err;
	uint8_t f[256];
	size_t len;

	ck_assert_int_eq(fw_ruleset_parse_str("policy deny\n"
					      "deny tcp 2001:db8:1::/48 any any 22\n"
					      "allow tcp 2001:db8::/32 any fd00::/8 20-25\n"
					      "allow tcp 10.0.0.0/8 any any 22\n"
					      "allow any any any fd00::53 any\n", &rs, &err), 0);
	obj = open_prog("firewall", (enum ebpf_engine)_i, &prog);
	ops.ctx = obj;
	ck_assert_int_eq(fw_ruleset_compile(rs, 0, &ops, NULL, &err), 0);
	ck_assert_uint_eq(fw6(prog, "2001:db8:1::5", "fd00::1", 22, NULL, 0, 0), XDP_DROP);	/* rule 0 */
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::1", 22, NULL, 0, 0), XDP_PASS);	/* rule 1 */
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::1", 26, NULL, 0, 0), XDP_DROP);	/* policy */
	ck_assert_uint_eq(fw6(prog, "2001:db9::5", "fd00::1", 22, NULL, 0, 0), XDP_DROP);	/* policy */
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::53", 9, NULL, 0, 0), XDP_PASS);	/* rule 3 */
	/* ports behind extension headers */
	ck_assert_uint_eq(fw6(prog, "2001:db8:1::5", "fd00::1", 22, ext_hop_dst, 2, 0), XDP_DROP);
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::1", 22, ext_hop_dst, 2, 0), XDP_PASS);
	/* a later fragment has port 0: not rule 1's 20-25 */
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::1", 22, ext_frag, 1, 100), XDP_DROP);
	/* a first fragment carries the ports */
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::1", 22, ext_frag, 1, 0), XDP_PASS);
	/* IPv4 keeps its own rules */
	ck_assert_uint_eq(fw_run(prog, "10.1.0.5", 1, "2.2.2.2", 22), XDP_PASS);		/* rule 2 */
	ck_assert_uint_eq(fw_run(prog, "11.1.0.5", 1, "2.2.2.2", 22), XDP_DROP);
	ck_assert_uint_eq(percpu_sum(obj, "fw_stats", FW_STAT_MALFORMED), 0);

	/* malformed: dropped and counted, even where a rule would allow */
	ck_assert_uint_eq(fw6(prog, "2001:db8:2::5", "fd00::1", 22, ext_seven, 7, 0), XDP_DROP);
	len = tcp6_frame(f, NULL, 0, "2001:db8:2::5", 40000, "fd00::53", 22, 1, 2, 0, NULL, 0, 0);
	ck_assert_uint_eq(run_frame(prog, f, 14 + 39, NULL), XDP_DROP);		/* cut IPv6 header */
	ck_assert_uint_eq(run_frame(prog, f, 14 + 40 + 10, NULL), XDP_DROP);	/* cut TCP header */
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_PASS);	/* rule 1 before rule 3 */
	ck_assert_uint_eq(percpu_sum(obj, "fw_stats", FW_STAT_MALFORMED), 3);
	ck_assert_uint_eq(percpu_sum(obj, "fw_counters", FW_COUNTER_IDX(0, 1)), 4);
	fw_ruleset_free(rs);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_filter_ipv6)
{
	uint32_t src = FILTER_SRC, dst_tcp = FILTER_DST | FILTER_TCP, port = 8080;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	uint8_t a6[16], f[256];
	size_t len;

	obj = open_prog("filter_deny", (enum ebpf_engine)_i, &prog);
	inet_pton(AF_INET6, "fd00::66", a6);
	map_set(obj, "filter_ipv6", a6, &src);
	map_set(obj, "filter_ports", &port, &dst_tcp);
	len = tcp6_frame(f, NULL, 0, "fd00::66", 1000, "fd00::1", 80, 1, 2, 0, NULL, 0, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_DROP);
	len = tcp6_frame(f, NULL, 0, "fd00::67", 1000, "fd00::1", 80, 1, 2, 0, NULL, 0, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_PASS);
	len = tcp6_frame(f, NULL, 0, "fd00::1", 1000, "fd00::66", 80, 1, 2, 0, NULL, 0, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_PASS);	/* listed for the source only */
	len = tcp6_frame(f, NULL, 0, "fd00::67", 1000, "fd00::1", 8080, 1, 2, 0, ext_hop_dst, 2, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_DROP);	/* port behind options */
	len = tcp4_frame(f, NULL, 0, "253.0.0.0", 1000, "10.0.0.1", 80, 1, 2, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_PASS);
	ebpf_object_close(obj);
}
END_TEST

/* One's complement sum (RFC 1071) of the IPv6 pseudo-header and the TCP
 * segment of the frame whose IPv6 header is at ip (no extension headers):
 * 0xffff when the checksum field is right. */
static uint16_t tcp6_sum(const uint8_t *ip)
{
	uint32_t len = (uint32_t)ip[4] << 8 | ip[5], sum = len + IPPROTO_TCP, i;

	for (i = 8; i < 40; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	for (i = 0; i < len; i += 2)
		sum += (uint32_t)ip[40 + i] << 8 | (i + 1 < len ? ip[40 + i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void tcp6_fix_sum(uint8_t *ip)
{
	uint16_t s;

	ip[40 + 16] = ip[40 + 17] = 0;
	s = (uint16_t)~tcp6_sum(ip);
	ip[40 + 16] = (uint8_t)(s >> 8);
	ip[40 + 17] = (uint8_t)s;
}

static void splice6_entry(struct splice_key6 *k, struct splice_entry6 *v, const char *peer, uint16_t pport,
			  const char *eng, uint16_t eport, const char *other, uint16_t oport, uint16_t out_port)
{
	memset(k, 0, sizeof(*k));
	memset(v, 0, sizeof(*v));
	inet_pton(AF_INET6, peer, k->saddr);
	inet_pton(AF_INET6, eng, k->daddr);
	k->sport = htons(pport);
	k->dport = htons(eport);
	memcpy(v->eth_src, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(v->eth_dst, "\x02\x00\x00\x00\x00\x20", 6);
	inet_pton(AF_INET6, eng, v->saddr);
	inet_pton(AF_INET6, other, v->daddr);
	v->sport = htons(out_port);
	v->dport = htons(oport);
}

/* IPv6 splicing: the rewrite (addresses in the pseudo-header only,
 * ports, seq/ack, ECN in the traffic class), RST teardown, and a
 * spliced flow's segment with extension headers dropped. */
START_TEST(test_splice_ipv6)
{
	struct splice_key6 k, rk;
	struct splice_entry6 v, rv;
	struct splice_end end;
	struct ebpf_xdp_buff *x;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	uint8_t f[256], a6[16];
	const uint8_t *o, *ip;
	uint32_t w;
	size_t len;

	obj = open_prog("splice", (enum ebpf_engine)_i, &prog);
	/* peer fd00::9:40000 -> engine fd00::1:80 spliced to engine fd00::1:50000 -> backend fd00::20:9000 */
	splice6_entry(&k, &v, "fd00::9", 40000, "fd00::1", 80, "fd00::20", 9000, 50000);
	v.seq_off = 1000;
	v.ack_off = 2000;
	v.flags = SPLICE_F_STRIP_ECN;
	splice6_entry(&rk, &rv, "fd00::20", 9000, "fd00::1", 50000, "fd00::9", 40000, 80);
	map_set(obj, "splice_flows6", &k, &v);
	map_set(obj, "splice_flows6", &rk, &rv);

	len = tcp6_frame(f, NULL, 0, "fd00::9", 40000, "fd00::1", 80, 1, 2, 10, NULL, 0, 0);
	ip = f + 14;
	f[15] |= 0x10;		/* ECT(0) in the traffic class */
	tcp6_fix_sum(f + 14);
	ck_assert_uint_eq(tcp6_sum(ip), 0xffff);
	x = make_buff(f, len, NULL);
	ck_assert_uint_eq(ebpf_prog_run_xdp(prog, x), XDP_TX);
	o = ebpf_xdp_data(x);
	ck_assert_int_eq(memcmp(o, "\x02\x00\x00\x00\x00\x20\x02\x00\x00\x00\x00\x01", 12), 0);
	ck_assert_uint_eq(o[15] & 0x30, 0);			/* ECN cleared */
	inet_pton(AF_INET6, "fd00::1", a6);
	ck_assert_int_eq(memcmp(o + 22, a6, 16), 0);
	inet_pton(AF_INET6, "fd00::20", a6);
	ck_assert_int_eq(memcmp(o + 38, a6, 16), 0);
	ck_assert_uint_eq((uint32_t)o[54] << 8 | o[55], 50000);
	ck_assert_uint_eq((uint32_t)o[56] << 8 | o[57], 9000);
	memcpy(&w, o + 58, 4);
	ck_assert_uint_eq(ntohl(w), 1001);
	memcpy(&w, o + 62, 4);
	ck_assert_uint_eq(ntohl(w), 2002);
	ck_assert_uint_eq(tcp6_sum(o + 14), 0xffff);		/* incremental update is right */
	ebpf_xdp_buff_free(x);

	/* a spliced flow's segment behind a destination-options header */
	len = tcp6_frame(f, NULL, 0, "fd00::9", 40000, "fd00::1", 80, 1, 2, 0, ext_hop_dst + 1, 1, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_DROP);
	ck_assert_uint_eq(percpu_sum(obj, "splice_stats", SPLICE_STAT_UNSUPPORTED), 1);
	/* another flow passes to the engine */
	len = tcp6_frame(f, NULL, 0, "fd00::8", 40000, "fd00::1", 80, 1, 2, 0, NULL, 0, 0);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_PASS);

	/* RST: relayed, both entries gone, the end recorded for the engine */
	len = tcp6_frame(f, NULL, 0, "fd00::9", 40000, "fd00::1", 80, 11, 2, 0, NULL, 0, 0);
	f[14 + 40 + 13] = 0x14;	/* RST ACK */
	tcp6_fix_sum(f + 14);
	ck_assert_uint_eq(run_frame(prog, f, len, NULL), XDP_TX);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "splice_flows6"), &k, &v), -ENOENT);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "splice_flows6"), &rk, &rv), -ENOENT);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "splice_ends6"), &k, &end), 0);
	ck_assert_uint_eq(end.state & SPLICE_ST_RST, SPLICE_ST_RST);
	ck_assert_uint_eq(end.packets, 2);
	ck_assert_uint_eq(end.bytes, 10);
	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, "splice_ends6"), &rk, &end), 0);
	ebpf_object_close(obj);
}
END_TEST

/* The IPv6 splice rewrite in the kernel gives the runtime's bytes: the
 * same entries in the JIT object's maps and its kernel twin's. */
START_TEST(test_splice_ipv6_vs_kernel)
{
	struct ebpf_object_opts jo = { .sz = sizeof(jo), .engine = EBPF_ENGINE_JIT, .keep_kernel = true };
	struct splice_key6 k, rk;
	struct splice_entry6 v, rv;
	struct ebpf_object *obj;
	struct ebpf_prog *prog;
	struct ebpf_map *m;
	uint8_t f[512], kout[512];
	struct ebpf_xdp_buff *x;
	size_t len;
	int c, kfd;

	ck_assert_int_eq(ebpf_object_open(ftoe_test_path("xdp-progs/splice.bpf.o"), &jo, &obj), 0);
	prog = ebpf_object_find_prog(obj, "splice");
	ck_assert_ptr_nonnull(prog);
	kfd = ebpf_prog_kernel_fd(prog);
	ck_assert_int_ge(kfd, 0);
	m = ebpf_object_find_map(obj, "splice_flows6");
	splice6_entry(&k, &v, "fd00::9", 40000, "fd00::1", 80, "2001:db8::20", 9000, 50000);
	v.seq_off = 0x80000000u;
	v.ack_off = 77;
	v.in_wscale = 7;
	v.out_wscale = 9;
	v.flags = SPLICE_F_STRIP_ECN;
	splice6_entry(&rk, &rv, "2001:db8::20", 9000, "fd00::1", 50000, "fd00::9", 40000, 80);
	for (c = 0; c < 2; c++) {
		const struct splice_key6 *kk = c ? &rk : &k;
		const struct splice_entry6 *vv = c ? &rv : &v;

		ck_assert_int_eq(ebpf_map_update_elem(m, kk, vv, BPF_ANY), 0);
		ck_assert_int_eq(bpf_map_update_elem(ebpf_object_kernel_map_fd(obj, m), kk, vv, BPF_ANY), 0);
	}
	/* data with ECT(1), a pure ACK, and a segment behind an extension header */
	for (c = 0; c < 3; c++) {
		LIBBPF_OPTS(bpf_test_run_opts, topts);
		uint32_t vj;

		len = tcp6_frame(f, NULL, 0, "fd00::9", 40000, "fd00::1", 80, 0x7fffffff, 5, c == 1 ? 0 : 200,
				 c == 2 ? ext_hop_dst : NULL, c == 2 ? 1 : 0, 0);
		if (c == 0)
			f[15] |= 0x20;
		if (c == 1)
			f[14 + 40 + 13] = 0x10;
		if (c != 2)
			tcp6_fix_sum(f + 14);
		x = make_buff(f, len, NULL);
		vj = ebpf_prog_run_xdp(prog, x);
		topts.data_in = f;
		topts.data_size_in = (uint32_t)len;
		topts.data_out = kout;
		topts.data_size_out = sizeof(kout);
		topts.repeat = 1;
		ck_assert_int_eq(bpf_prog_test_run_opts(kfd, &topts), 0);
		ck_assert_uint_eq(vj, topts.retval);
		ck_assert_uint_eq(vj, c == 2 ? XDP_DROP : XDP_TX);
		ck_assert_uint_eq(topts.data_size_out, ebpf_xdp_len(x));
		ck_assert_int_eq(memcmp(kout, ebpf_xdp_data(x), ebpf_xdp_len(x)), 0);
		if (c != 2)
			ck_assert_uint_eq(tcp6_sum(kout + 14), 0xffff);
		ebpf_xdp_buff_free(x);
	}
	ebpf_object_close(obj);
}
END_TEST

static Suite *xdp_progs_suite(void)
{
	Suite *s = suite_create("loader_xdp_progs");
	TCase *tc = tcase_create("xdp_progs"), *tc6;

	if (geteuid() != 0)
		return s;	/* the kernel verifier needs root: nothing to run */
	tcase_set_timeout(tc, 60);
	/* _i is the engine: EBPF_ENGINE_INTERP (0), EBPF_ENGINE_JIT (1) */
	tcase_add_loop_test(tc, test_classify, 0, 2);
	tcase_add_loop_test(tc, test_vlan_strip, 0, 2);
	tcase_add_loop_test(tc, test_tcp_trace, 0, 2);
	tcase_add_loop_test(tc, test_capture, 0, 2);
	tcase_add_loop_test(tc, test_firewall_generations, 0, 2);
	tcase_add_loop_test(tc, test_firewall_engines_agree, 0, FW_GEN_V6);
	suite_add_tcase(s, tc);
	/* IPv6 frames through every program, apart so CK_RUN_CASE can pick them */
	tc6 = tcase_create("xdp_progs_ipv6");
	tcase_set_timeout(tc6, 60);
	tcase_add_loop_test(tc6, test_classify_ipv6, 0, 2);
	tcase_add_loop_test(tc6, test_vlan_strip_ipv6, 0, 2);
	tcase_add_loop_test(tc6, test_tcp_trace_ipv6, 0, 2);
	tcase_add_loop_test(tc6, test_capture_ipv6, 0, 2);
	/* JIT only: a firewall object takes seconds to load (its maps), and
	 * engines_agree below runs the interpreter on IPv6 frames too */
	tcase_add_loop_test(tc6, test_firewall_ipv6, 1, 2);
	tcase_add_loop_test(tc6, test_filter_ipv6, 0, 2);
	tcase_add_loop_test(tc6, test_splice_ipv6, 0, 2);
	tcase_add_test(tc6, test_splice_ipv6_vs_kernel);
	tcase_add_loop_test(tc6, test_firewall_engines_agree, FW_GEN_V6, FW_GEN_NR);
	suite_add_tcase(s, tc6);
	return s;
}

FTOE_TEST_SUITE(xdp_progs_suite)
