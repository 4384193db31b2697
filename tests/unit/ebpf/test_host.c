/* test_host.c - helpers answered from the host's network view: bpf_fib_lookup (routes, neighbours, return codes) and the raw SYN-cookie helpers, directly and through the forwarder and SYN proxy programs. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ebpf/internal.h"
#include "tests/unit/test.h"

#define IFX	7
static const uint8_t host_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t nb_mac[6] = { 0x02, 0, 0, 0, 0, 0x05 };
static const uint8_t gw_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };

static int stub_neigh(void *ctx, uint32_t ip, uint8_t mac[6])
{
	(void)ctx;
	if (ip == inet_addr("10.0.0.5"))
		return memcpy(mac, nb_mac, 6), 0;
	if (ip == inet_addr("10.0.0.254"))
		return memcpy(mac, gw_mac, 6), 0;
	return -ENOENT;
}

static void set_host(bool gateway)
{
	struct ebpf_host h = {
		.sz = sizeof(h), .ifindex = IFX, .ip_be = inet_addr("10.0.0.1"),
		.prefix_len = 24, .gateway_be = gateway ? inet_addr("10.0.0.254") : 0,
		.mtu = 1500, .neigh = stub_neigh,
	};

	memcpy(h.mac, host_mac, 6);
	ebpf_set_host(&h);
}

static long fib(const char *dst, uint32_t ifindex, uint16_t tot_len, uint32_t flags,
		struct bpf_fib_lookup *p)
{
	memset(p, 0, sizeof(*p));
	p->family = AF_INET;
	p->ifindex = ifindex;
	p->tot_len = tot_len;
	p->ipv4_src = inet_addr("10.0.0.9");
	p->ipv4_dst = inet_addr(dst);
	return (long)ebpf_h_fib_lookup(0, (uintptr_t)p, sizeof(*p), flags, 0);
}

START_TEST(test_fib_direct)
{
	struct bpf_fib_lookup p;

	/* no host: a fresh namespace's lo, not forwarding */
	ebpf_set_host(NULL);
	ck_assert_int_eq(fib("10.0.0.5", 1, 60, 0, &p), BPF_FIB_LKUP_RET_FWD_DISABLED);
	ck_assert_int_eq(fib("10.0.0.5", 2, 60, 0, &p), -ENODEV);

	set_host(true);
	ck_assert_int_eq(fib("10.0.0.5", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_SUCCESS);
	ck_assert_mem_eq(p.dmac, nb_mac, 6);
	ck_assert_mem_eq(p.smac, host_mac, 6);
	ck_assert_uint_eq(p.ipv4_dst, inet_addr("10.0.0.5"));	/* on-link: unchanged */
	ck_assert_uint_eq(p.mtu_result, 1500);
	ck_assert_uint_eq(p.ifindex, IFX);
	ck_assert_uint_eq(p.ipv4_src, inet_addr("10.0.0.9"));	/* kept without SRC */
	/* off-link: through the gateway, whose address replaces the dst */
	ck_assert_int_eq(fib("192.0.2.7", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_SUCCESS);
	ck_assert_uint_eq(p.ipv4_dst, inet_addr("10.0.0.254"));
	ck_assert_mem_eq(p.dmac, gw_mac, 6);
	ck_assert_int_eq(fib("192.0.2.7", IFX, 60, BPF_FIB_LOOKUP_SRC, &p), 0);
	ck_assert_uint_eq(p.ipv4_src, inet_addr("10.0.0.1"));
	/* no neighbour entry, unless the lookup skips it */
	ck_assert_int_eq(fib("10.0.0.6", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_NO_NEIGH);
	ck_assert_int_eq(fib("10.0.0.6", IFX, 60, BPF_FIB_LOOKUP_SKIP_NEIGH, &p), 0);
	/* local and broadcast addresses are not forwarded */
	ck_assert_int_eq(fib("10.0.0.1", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_NOT_FWDED);
	ck_assert_int_eq(fib("10.0.0.255", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_NOT_FWDED);
	ck_assert_int_eq(fib("127.0.0.1", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_NOT_FWDED);
	/* MTU: the kernel reports it in mtu_result (a union with tot_len) */
	ck_assert_int_eq(fib("10.0.0.5", IFX, 1501, 0, &p), BPF_FIB_LKUP_RET_FRAG_NEEDED);
	ck_assert_uint_eq(p.mtu_result, 1500);
	/* another interface, a table that is not main, bad arguments */
	ck_assert_int_eq(fib("10.0.0.5", IFX + 1, 60, 0, &p), -ENODEV);
	fib("10.0.0.5", IFX, 60, 0, &p);
	p.tbid = 100;
	ck_assert_int_eq((long)ebpf_h_fib_lookup(0, (uintptr_t)&p, sizeof(p),
					       BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID, 0),
			 BPF_FIB_LKUP_RET_NOT_FWDED);
	fib("10.0.0.5", IFX, 60, 0, &p);
	ck_assert_int_eq((long)ebpf_h_fib_lookup(0, (uintptr_t)&p, sizeof(p) - 1, 0, 0), -EINVAL);
	ck_assert_int_eq((long)ebpf_h_fib_lookup(0, (uintptr_t)&p, sizeof(p), 1u << 9, 0),
			 -EINVAL);
	p.family = 99;
	ck_assert_int_eq((long)ebpf_h_fib_lookup(0, (uintptr_t)&p, sizeof(p), 0, 0),
			 -EAFNOSUPPORT);
	/* without a gateway off-link has no route */
	set_host(false);
	ck_assert_int_eq(fib("192.0.2.7", IFX, 60, 0, &p), BPF_FIB_LKUP_RET_NOT_FWDED);
	ebpf_set_host(NULL);
}
END_TEST

/* ---- programs --------------------------------------------------------------- */

static struct ebpf_object *open_prog(const char *file, enum ebpf_engine engine)
{
	static char err[1024];
	struct ebpf_object_opts o = {
		.sz = sizeof(o), .engine = engine, .err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_object *obj = NULL;

	ck_assert_msg(ebpf_object_open(ftoe_test_path(file), &o, &obj) == 0, "%s", err);
	return obj;
}

static uint16_t csum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* An Ethernet + IPv4 frame (20-byte header, valid checksum) of l4. */
static size_t ip_frame(uint8_t *f, const char *src, const char *dst, uint8_t ttl, uint8_t proto,
		       const uint8_t *l4, size_t l4_len)
{
	uint32_t s = inet_addr(src), d = inet_addr(dst);
	uint8_t *ip = f + 14;
	uint16_t c;

	memcpy(f, host_mac, 6);
	memcpy(f + 6, "\x02\0\0\0\0\x09", 6);
	f[12] = 0x08, f[13] = 0;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4_len) >> 8), ip[3] = (uint8_t)(20 + l4_len);
	ip[8] = ttl, ip[9] = proto;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	c = (uint16_t)~csum16(ip, 20, 0);
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	memcpy(ip + 20, l4, l4_len);
	return 14 + 20 + l4_len;
}

static uint32_t run(struct ebpf_prog *prog, const uint8_t *f, size_t len, uint32_t ifindex,
		    uint8_t *out, size_t *out_len)
{
	struct ebpf_xdp_buff *x;
	uint32_t act;

	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	x->tailroom = EBPF_XDP_TEST_TAILROOM;
	ck_assert_int_eq(ebpf_xdp_buff_set(x, f, len, EBPF_XDP_TEST_HEADROOM), 0);
	x->md.ingress_ifindex = ifindex;
	act = ebpf_prog_run_xdp(prog, x);
	*out_len = ebpf_xdp_len(x);
	memcpy(out, ebpf_xdp_data(x), *out_len);
	ebpf_xdp_buff_free(x);
	return act;
}

static uint64_t counter(struct ebpf_object *obj, const char *map, uint32_t k)
{
	uint64_t v = 0;

	ck_assert_int_eq(ebpf_map_lookup_elem(ebpf_object_find_map(obj, map), &k, &v), 0);
	return v;
}

START_TEST(test_fib_fwd_prog)
{
	struct ebpf_object *obj = open_prog("tests/progs/ld_fib_fwd.bpf.o",
					    _i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP);
	struct ebpf_prog *prog = ebpf_object_find_prog(obj, "xdp_fib_fwd");
	static const uint8_t udp[8] = { 0x30, 0x39, 0, 53, 0, 8, 0, 0 };
	uint8_t f[128], out[4096];
	size_t len, olen;

	set_host(true);
	/* on-link neighbour: TTL 63, MACs from the lookup, back out (TX) */
	len = ip_frame(f, "10.0.0.9", "10.0.0.5", 64, 17, udp, sizeof(udp));
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_TX);
	ck_assert_uint_eq(olen, len);
	ck_assert_mem_eq(out, nb_mac, 6);
	ck_assert_mem_eq(out + 6, host_mac, 6);
	ck_assert_uint_eq(out[14 + 8], 63);
	ck_assert_uint_eq(csum16(out + 14, 20, 0), 0xffff);	/* header checksum still valid */
	/* through the gateway */
	len = ip_frame(f, "10.0.0.9", "198.51.100.1", 64, 17, udp, sizeof(udp));
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_TX);
	ck_assert_mem_eq(out, gw_mac, 6);
	/* no neighbour, local address, TTL 1, another interface: to the stack */
	len = ip_frame(f, "10.0.0.9", "10.0.0.6", 64, 17, udp, sizeof(udp));
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_PASS);
	len = ip_frame(f, "10.0.0.9", "10.0.0.1", 64, 17, udp, sizeof(udp));
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_PASS);
	len = ip_frame(f, "10.0.0.9", "10.0.0.5", 1, 17, udp, sizeof(udp));
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_PASS);
	len = ip_frame(f, "10.0.0.9", "10.0.0.5", 64, 17, udp, sizeof(udp));
	ck_assert_uint_eq(run(prog, f, len, IFX + 1, out, &olen), XDP_PASS);
	ck_assert_uint_eq(counter(obj, "fib_rc", BPF_FIB_LKUP_RET_SUCCESS), 2);
	ck_assert_uint_eq(counter(obj, "fib_rc", BPF_FIB_LKUP_RET_NO_NEIGH), 1);
	ck_assert_uint_eq(counter(obj, "fib_rc", BPF_FIB_LKUP_RET_NOT_FWDED), 1);
	ck_assert_uint_eq(counter(obj, "fib_rc", 15), 1);	/* -ENODEV */
	ebpf_set_host(NULL);
	ebpf_object_close(obj);
}
END_TEST

/* ---- SYN cookies -------------------------------------------------------------- */

/* A TCP header: 20 bytes, or 24 with an MSS option (mss non-zero). */
static size_t tcp_hdr(uint8_t *t, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		      uint8_t flags, uint16_t mss)
{
	size_t n = mss ? 24 : 20;

	memset(t, 0, n);
	t[0] = (uint8_t)(sport >> 8), t[1] = (uint8_t)sport;
	t[2] = (uint8_t)(dport >> 8), t[3] = (uint8_t)dport;
	for (int i = 0; i < 4; i++) {
		t[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
		t[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
	}
	t[12] = (uint8_t)(n / 4) << 4;
	t[13] = flags;
	t[14] = 0xff, t[15] = 0xff;
	if (mss)
		t[20] = 2, t[21] = 4, t[22] = (uint8_t)(mss >> 8), t[23] = (uint8_t)mss;
	return n;
}

START_TEST(test_syncookie_direct)
{
	uint8_t f[128], t[24], a[24];
	uint64_t r;
	uint32_t cookie;
	size_t n;

	ebpf_set_host(NULL);
	n = tcp_hdr(t, 40000, 80, 1000, 0, 0x02, 1460);
	ip_frame(f, "10.0.0.9", "10.0.0.1", 64, 6, t, n);
	r = ebpf_h_syncookie_gen4((uintptr_t)(f + 14), (uintptr_t)(f + 34), n, 0, 0);
	ck_assert_int_ge((int64_t)r, 0);
	ck_assert_uint_eq(r >> 32, 1460);
	cookie = (uint32_t)r;
	/* without an MSS option: 536 */
	n = tcp_hdr(t, 40000, 80, 1000, 0, 0x02, 0);
	memcpy(f + 34, t, n);
	ck_assert_uint_eq(ebpf_h_syncookie_gen4((uintptr_t)(f + 14), (uintptr_t)(f + 34), n, 0, 0)
			  >> 32, 536);
	/* th_len must be the header's length */
	ck_assert_int_eq((int64_t)ebpf_h_syncookie_gen4((uintptr_t)(f + 14), (uintptr_t)(f + 34),
						       24, 0, 0), -EINVAL);
	/* the completing ACK checks, a changed one does not */
	n = tcp_hdr(a, 40000, 80, 1001, cookie + 1, 0x10, 0);
	memcpy(f + 34, a, n);
	ck_assert_int_eq((int64_t)ebpf_h_syncookie_check4((uintptr_t)(f + 14), (uintptr_t)(f + 34),
							 0, 0, 0), 0);
	n = tcp_hdr(a, 40001, 80, 1001, cookie + 1, 0x10, 0);
	memcpy(f + 34, a, n);
	ck_assert_int_eq((int64_t)ebpf_h_syncookie_check4((uintptr_t)(f + 14), (uintptr_t)(f + 34),
							 0, 0, 0), -EACCES);
	/* IPv6: the engine has none */
	ck_assert_int_eq((int64_t)ebpf_h_syncookie_v6(0, 0, 20, 0, 0), -EOPNOTSUPP);
}
END_TEST

static int stub_make(void *ctx, uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint32_t seq,
		     uint16_t mss, uint32_t *cookie, uint16_t *mss_out)
{
	(void)ctx; (void)s; (void)d; (void)sp; (void)dp;
	*cookie = seq ^ 0x5a5a5a5a;
	*mss_out = mss > 1400 ? 1400 : mss;
	return 0;
}

static int stub_check(void *ctx, uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint32_t seq,
		      uint32_t ack, uint16_t *mss_out)
{
	(void)ctx; (void)s; (void)d; (void)sp; (void)dp;
	*mss_out = 1400;
	return ack - 1 == ((seq - 1) ^ 0x5a5a5a5a) ? 0 : -EACCES;
}

START_TEST(test_synproxy_prog)
{
	struct ebpf_object *obj = open_prog("tests/progs/ld_synproxy.bpf.o",
					    _i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP);
	struct ebpf_prog *prog = ebpf_object_find_prog(obj, "xdp_synproxy");
	struct ebpf_host h = {
		.sz = sizeof(h), .ifindex = IFX, .ip_be = inet_addr("10.0.0.1"), .prefix_len = 24,
		.mtu = 1500, .cookie_make = stub_make, .cookie_check = stub_check,
	};
	uint8_t f[128], t[24], out[4096], ph[12];
	uint32_t cookie, ack;
	size_t n, len, olen;

	ebpf_set_host(&h);
	/* a SYN with options (MSS) gets a 58-byte SYN-ACK with the cookie */
	n = tcp_hdr(t, 40000, 80, 7000, 0, 0x02, 1460);
	len = ip_frame(f, "10.0.0.9", "10.0.0.1", 64, 6, t, n);
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_TX);
	ck_assert_uint_eq(olen, 58);
	ck_assert_mem_eq(out, f + 6, 6);			/* back to the sender */
	ck_assert_uint_eq(csum16(out + 14, 20, 0), 0xffff);
	ck_assert_mem_eq(out + 14 + 12, f + 14 + 16, 4);	/* addresses swapped */
	ck_assert_uint_eq(out[34 + 13], 0x12);
	cookie = (uint32_t)out[38] << 24 | (uint32_t)out[39] << 16 | out[40] << 8 | out[41];
	ack = (uint32_t)out[42] << 24 | (uint32_t)out[43] << 16 | out[44] << 8 | out[45];
	ck_assert_uint_eq(cookie, 7000 ^ 0x5a5a5a5a);
	ck_assert_uint_eq(ack, 7001);
	ck_assert_uint_eq((uint32_t)out[56] << 8 | out[57], 1400);	/* the MSS the cookie holds */
	memcpy(ph, out + 26, 8);
	ph[8] = 0, ph[9] = 6, ph[10] = 0, ph[11] = 24;
	ck_assert_uint_eq(csum16(out + 34, 24, csum16(ph, 12, 0)), 0xffff);
	/* its ACK passes and is remembered; a guessed one is dropped */
	n = tcp_hdr(t, 40000, 80, 7001, cookie + 1, 0x10, 0);
	len = ip_frame(f, "10.0.0.9", "10.0.0.1", 64, 6, t, n);
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_PASS);
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_PASS);
	n = tcp_hdr(t, 40002, 80, 7001, 12345, 0x10, 0);
	len = ip_frame(f, "10.0.0.9", "10.0.0.1", 64, 6, t, n);
	ck_assert_uint_eq(run(prog, f, len, IFX, out, &olen), XDP_DROP);
	ck_assert_uint_eq(counter(obj, "stats", 0), 1);
	ck_assert_uint_eq(counter(obj, "stats", 1), 1);
	ck_assert_uint_eq(counter(obj, "stats", 2), 1);
	ck_assert_uint_eq(counter(obj, "stats", 3), 1);
	ebpf_set_host(NULL);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_synproxy_ct_refused)
{
	static char err[1024];
	struct ebpf_object_opts o = {
		.sz = sizeof(o), .err_buf = err, .err_size = sizeof(err),
	};
	struct ebpf_object *obj = NULL;

	ck_assert_int_eq(ebpf_object_open(ftoe_test_path("tests/progs/ld_synproxy_ct.bpf.o"), &o,
					  &obj), -EOPNOTSUPP);
	ck_assert_msg(strstr(err, "kfunc bpf_xdp_ct_lookup"), "%s", err);
}
END_TEST

static Suite *host_suite(void)
{
	Suite *s = suite_create("ebpf_host");
	TCase *d = tcase_create("direct");
	TCase *p = tcase_create("programs");

	tcase_add_test(d, test_fib_direct);
	tcase_add_test(d, test_syncookie_direct);
	/* loop index 0: interpreter, 1: JIT */
	tcase_add_loop_test(p, test_fib_fwd_prog, 0, 2);
	tcase_add_loop_test(p, test_synproxy_prog, 0, 2);
	tcase_add_test(p, test_synproxy_ct_refused);
	suite_add_tcase(s, d);
	suite_add_tcase(s, p);
	return s;
}

FTOE_TEST_SUITE(host_suite)
