/* host.c - helpers that answer from the host's network view: bpf_fib_lookup and the raw SYN-cookie helpers. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "ebpf/internal.h"

/*
 * The engine's routing table is two routes: its on-link prefix through its
 * interface and, when it has one, a default route through its gateway;
 * its local table holds its own address and the prefix's broadcast
 * address.  bpf_fib_lookup answers from that with the kernel's order of
 * checks and return codes (net/core/filter.c, bpf_ipv4_fib_lookup), so a
 * forwarding program written for the kernel decides the same way.
 */

#define LOOPBACK_IFINDEX	1
#define RT_TABLE_MAIN_		254
#define TCP_MSS_DEFAULT_	536	/* RFC 1122: the MSS without an option */
/* BPF_FIB_LOOKUP_MARK (the packet mark for FIB rules) is newer than this
 * linux/bpf.h; the kernel here accepts it, and the engine has no rules. */
#define FIB_LOOKUP_MARK_	(1u << 5)
#define FIB_FLAGS_KNOWN		(BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT | \
				 BPF_FIB_LOOKUP_SKIP_NEIGH | BPF_FIB_LOOKUP_TBID | \
				 BPF_FIB_LOOKUP_SRC | FIB_LOOKUP_MARK_)

#define PTR(x)	((void *)(uintptr_t)(x))
#define NEG(e)	((uint64_t)(int64_t)-(e))

static struct ebpf_host host_copy;
static _Atomic(const struct ebpf_host *) host;

void ebpf_set_host(const struct ebpf_host *h)
{
	if (!h) {
		atomic_store(&host, NULL);
		return;
	}
	memset(&host_copy, 0, sizeof(host_copy));
	memcpy(&host_copy, h, h->sz < sizeof(host_copy) ? h->sz : sizeof(host_copy));
	host_copy.sz = sizeof(host_copy);
	atomic_store(&host, &host_copy);
}

int ebpf_host_xsk_check(uint32_t id)
{
	const struct ebpf_host *h = atomic_load(&host);

	if (!h || !h->xsk_check)
		return -EOPNOTSUPP;
	return h->xsk_check(h->ctx, id);
}

int ebpf_host_devmap_check(uint32_t ifindex)
{
	const struct ebpf_host *h = atomic_load(&host);

	if (!h || !h->devmap_check)
		return 0;
	return h->devmap_check(h->ctx, ifindex);
}

/* ---- bpf_fib_lookup ------------------------------------------------------------ */

static uint32_t prefix_mask(uint32_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

/* The route for dst: local and broadcast addresses are not forwarded
 * (RTN_LOCAL/RTN_BROADCAST in the local table: 1); 0 and *gw for a
 * unicast route, -ENETUNREACH for none.  As in the kernel, everything
 * else follows the default route, multicast, 0.0.0.0 and 255.255.255.255
 * included, and the loopback net (on lo) does not match a lookup bound
 * to the interface (OUTPUT). */
static int route_v4(const struct ebpf_host *h, uint32_t dst, uint32_t tbid, bool tbid_only,
		    bool output, uint32_t *gw)
{
	uint32_t mask = prefix_mask(h->prefix_len);

	if (tbid_only && tbid != RT_TABLE_MAIN_)
		return -ENETUNREACH;	/* no such table, or nothing to forward in it */
	if (dst == h->ip_be || (h->prefix_len < 31 && dst == (h->ip_be | ~mask)) ||
	    (!output && (ntohl(dst) >> 24) == 127))
		return 1;
	*gw = 0;
	if ((dst & mask) == (h->ip_be & mask))
		return 0;
	if (!h->gateway_be)
		return -ENETUNREACH;
	*gw = h->gateway_be;
	return 0;
}

static int fib_v4(const struct ebpf_host *h, struct bpf_fib_lookup *p, uint32_t flags)
{
	uint32_t gw;
	int r;

	if (!h) {
		/* A fresh namespace: lo, not forwarding. */
		return p->ifindex == LOOPBACK_IFINDEX ? BPF_FIB_LKUP_RET_FWD_DISABLED : -ENODEV;
	}
	if (p->ifindex != h->ifindex)
		return -ENODEV;
	/* DIRECT alone looks in main, which holds the local routes too while
	 * there are no rules (the kernel merges the two tables then). */
	r = route_v4(h, p->ipv4_dst, p->tbid,
		     (flags & (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID)) ==
		     (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_TBID),
		     flags & BPF_FIB_LOOKUP_OUTPUT, &gw);
	if (r)
		return BPF_FIB_LKUP_RET_NOT_FWDED;
	if (p->tot_len > h->mtu) {
		p->mtu_result = h->mtu;		/* union with tot_len */
		return BPF_FIB_LKUP_RET_FRAG_NEEDED;
	}
	p->rt_metric = 0;			/* connected and default routes */
	p->ifindex = h->ifindex;
	if (flags & BPF_FIB_LOOKUP_SRC)
		p->ipv4_src = h->ip_be;
	if (gw)
		p->ipv4_dst = gw;
	if (!(flags & BPF_FIB_LOOKUP_SKIP_NEIGH)) {
		uint8_t mac[6];

		if (!h->neigh || h->neigh(h->ctx, p->ipv4_dst, mac))
			return BPF_FIB_LKUP_RET_NO_NEIGH;
		memcpy(p->dmac, mac, 6);
		memcpy(p->smac, h->mac, 6);
	}
	p->h_vlan_TCI = 0;
	p->h_vlan_proto = 0;
	p->mtu_result = h->mtu;
	return BPF_FIB_LKUP_RET_SUCCESS;
}

/* long bpf_fib_lookup(void *ctx, struct bpf_fib_lookup *params, int plen, u32 flags) */
uint64_t ebpf_h_fib_lookup(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	const struct ebpf_host *h = atomic_load(&host);
	struct bpf_fib_lookup *p = PTR(r2);

	(void)r1; (void)r5;
	if ((int32_t)r3 < (int32_t)sizeof(*p) || (r4 & ~(uint64_t)FIB_FLAGS_KNOWN))
		return NEG(EINVAL);
	switch (p->family) {
	case AF_INET:
		return (uint64_t)(int64_t)fib_v4(h, p, (uint32_t)r4);
	case AF_INET6:
		/* The engine has no IPv6 address or route. */
		if (!h)
			return p->ifindex == LOOPBACK_IFINDEX ? BPF_FIB_LKUP_RET_FWD_DISABLED
							      : NEG(ENODEV);
		return p->ifindex == h->ifindex ? BPF_FIB_LKUP_RET_NOT_FWDED : NEG(ENODEV);
	}
	return NEG(EAFNOSUPPORT);
}

/* ---- raw SYN cookies ----------------------------------------------------------------- */

/* What the helpers see of the headers (the verifier guarantees the
 * iphdr and th_len bytes of TCP header).  Packed: in a frame they sit
 * 2 bytes off a 4-byte boundary, behind the 14-byte Ethernet header. */
struct tcp_hdr_ {
	uint16_t source, dest;
	uint32_t seq, ack_seq;
	uint8_t doff_res, flags;
	uint16_t window, check, urg_ptr;
} __attribute__((packed));

struct ip_hdr_ {
	uint8_t ver_ihl, tos;
	uint16_t tot_len, id, frag_off;
	uint8_t ttl, protocol;
	uint16_t check;
	uint32_t saddr, daddr;
} __attribute__((packed));

/* The MSS option of a SYN, 0 without one (the kernel's
 * tcp_parse_mss_option with no user MSS). */
static uint16_t parse_mss(const struct tcp_hdr_ *th)
{
	const uint8_t *p = (const uint8_t *)(th + 1);
	int len = (th->doff_res >> 4) * 4 - (int)sizeof(*th);
	uint16_t mss = 0;

	while (len > 0) {
		int op = *p++, sz;

		if (op == 0)			/* end of options */
			return mss;
		if (op == 1) {			/* NOP */
			len--;
			continue;
		}
		if (len < 2)
			return mss;
		sz = *p++;
		if (sz < 2 || sz > len)
			return mss;
		if (op == 2 && sz == 4) {
			uint16_t v = (uint16_t)(p[0] << 8 | p[1]);

			if (v)
				mss = v;
		}
		p += sz - 2;
		len -= sz;
	}
	return mss;
}

/* Without a host: cookies of this process's own secret, in the kernel's
 * layout idea (a time counter, an MSS index, a keyed hash), with the
 * kernel's MSS table.  Only for test runs: no engine checks them. */
static const uint16_t own_mss[4] = { 536, 1300, 1440, 1460 };
static uint64_t own_key[2];
static pthread_once_t own_once = PTHREAD_ONCE_INIT;

static void own_key_init(void)
{
	if (getrandom(own_key, sizeof(own_key), 0) != sizeof(own_key))
		own_key[0] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull, own_key[1] = ~own_key[0];
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t own_cookie(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint32_t seq,
			   uint32_t t, uint32_t mi)
{
	uint64_t h = mix64(own_key[0] ^ ((uint64_t)s << 32 | d));

	h = mix64(h ^ own_key[1] ^ ((uint64_t)sp << 48 | (uint64_t)dp << 32 | seq));
	h = mix64(h ^ (t << 2 | mi));
	return (t & 0x3f) << 26 | mi << 24 | ((uint32_t)h & 0xffffff);
}

static uint32_t own_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)(ts.tv_sec >> 6);	/* 64 s, as the kernel's cookie clock */
}

static int own_make(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint32_t seq,
		    uint16_t mss, uint32_t *cookie, uint16_t *mss_out)
{
	uint32_t mi = 0;

	pthread_once(&own_once, own_key_init);
	for (uint32_t i = 0; i < 4; i++)
		if (own_mss[i] <= mss)
			mi = i;
	*cookie = own_cookie(s, d, sp, dp, seq, own_time(), mi);
	*mss_out = own_mss[mi];
	return 0;
}

static int own_check(uint32_t s, uint32_t d, uint16_t sp, uint16_t dp, uint32_t seq,
		     uint32_t ack, uint16_t *mss_out)
{
	uint32_t c = ack - 1, mi = (c >> 24) & 3, now = own_time();

	pthread_once(&own_once, own_key_init);
	for (uint32_t age = 0; age < 2; age++)	/* the kernel accepts 2 minutes */
		if (own_cookie(s, d, sp, dp, seq - 1, now - age, mi) == c) {
			*mss_out = own_mss[mi];
			return 0;
		}
	return -EACCES;
}

/* s64 bpf_tcp_raw_gen_syncookie_ipv4(struct iphdr *iph, struct tcphdr *th, u32 th_len):
 * the cookie in the low 32 bits, the MSS it encodes above, or -EINVAL. */
uint64_t ebpf_h_syncookie_gen4(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	const struct ebpf_host *h = atomic_load(&host);
	const struct ip_hdr_ *ip = PTR(r1);
	const struct tcp_hdr_ *th = PTR(r2);
	uint32_t th_len = (uint32_t)r3, cookie;
	uint16_t mss, mss_out;
	int err;

	(void)r4; (void)r5;
	if (th_len < sizeof(*th) || th_len != (uint32_t)(th->doff_res >> 4) * 4)
		return NEG(EINVAL);
	mss = parse_mss(th);
	if (!mss)
		mss = TCP_MSS_DEFAULT_;
	if (h && h->cookie_make)
		err = h->cookie_make(h->ctx, ip->saddr, ip->daddr, th->source, th->dest,
				     ntohl(th->seq), mss, &cookie, &mss_out);
	else
		err = own_make(ip->saddr, ip->daddr, th->source, th->dest, ntohl(th->seq), mss,
			       &cookie, &mss_out);
	if (err)
		return NEG(-err);
	return (uint64_t)cookie | (uint64_t)mss_out << 32;
}

/* long bpf_tcp_raw_check_syncookie_ipv4(struct iphdr *iph, struct tcphdr *th):
 * 0 when th's ACK completes a cookie handshake, else -EACCES. */
uint64_t ebpf_h_syncookie_check4(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
				 uint64_t r5)
{
	const struct ebpf_host *h = atomic_load(&host);
	const struct ip_hdr_ *ip = PTR(r1);
	const struct tcp_hdr_ *th = PTR(r2);
	uint16_t mss;
	int err;

	(void)r3; (void)r4; (void)r5;
	if (h && h->cookie_check)
		err = h->cookie_check(h->ctx, ip->saddr, ip->daddr, th->source, th->dest,
				      ntohl(th->seq), ntohl(th->ack_seq), &mss);
	else
		err = own_check(ip->saddr, ip->daddr, th->source, th->dest, ntohl(th->seq),
				ntohl(th->ack_seq), &mss);
	return err ? NEG(EACCES) : 0;
}

/* The IPv6 forms: the engine has no IPv6 address, so there is no cookie
 * to make or check; the kernel's answer without SYN-cookie support. */
uint64_t ebpf_h_syncookie_v6(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	return NEG(EOPNOTSUPP);
}
