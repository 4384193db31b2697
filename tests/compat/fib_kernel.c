/* fib_kernel.c - bpf_fib_lookup in the runtime against the kernel's: the forwarder ld_fib_fwd runs on frames to many destinations, in the kernel (test_run on a real interface) and in the runtime with a host view of the same interface, and verdicts, bytes and the maps must agree. */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "ebpf/ebpf.h"

/*
 * The runtime's host view is built from the kernel's own view of IFNAME
 * (its ifindex, MAC, MTU, first IPv4 address and prefix, the default
 * route's gateway from /proc/net/route, and complete neighbour entries
 * from /proc/net/arp), so both answer from the same routes; what the
 * runtime's engine would know is exactly this much (one interface, its
 * prefix, a default route).  The script (fib_kernel.sh) builds such a
 * namespace, with forwarding on.
 */

static char ifname[IF_NAMESIZE];

static int neigh(void *ctx, uint32_t ip, uint8_t mac[6])
{
	FILE *f = fopen("/proc/net/arp", "r");
	char line[256], a[64], hw[64], dev[64];
	unsigned int type, flags, m[6];
	int err = -ENOENT;

	(void)ctx;
	if (!f)
		return -ENOENT;
	while (err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s 0x%x 0x%x %63s %*s %63s", a, &type, &flags, hw, dev) != 5 ||
		    strcmp(dev, ifname) || inet_addr(a) != ip || !(flags & 0x2))	/* ATF_COM */
			continue;
		if (sscanf(hw, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
			continue;
		for (int i = 0; i < 6; i++)
			mac[i] = (uint8_t)m[i];
		err = 0;
	}
	fclose(f);
	return err;
}

static int host_from_kernel(struct ebpf_host *h)
{
	struct ifaddrs *ifa, *i;
	struct ifreq ifr = { 0 };
	char line[256], dev[64];
	unsigned int dst, gw, fl;
	FILE *f;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->neigh = neigh;
	h->ifindex = if_nametoindex(ifname);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!h->ifindex || s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr))
		return -1;
	memcpy(h->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(s, SIOCGIFMTU, &ifr))
		return -1;
	h->mtu = (uint16_t)ifr.ifr_mtu;
	close(s);
	if (getifaddrs(&ifa))
		return -1;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, ifname)) {
			uint32_t mask = ((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr;

			h->ip_be = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
			h->prefix_len = (uint32_t)__builtin_popcount(mask);
			break;
		}
	freeifaddrs(ifa);
	f = fopen("/proc/net/route", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %x %x %x", dev, &dst, &gw, &fl) == 4 && !dst &&
		    !strcmp(dev, ifname))
			h->gateway_be = gw;
	if (f)
		fclose(f);
	return h->ip_be ? 0 : -1;
}

/* An IPv4 UDP frame to dst (tot_len as given, TTL 64, valid checksum). */
static size_t frame(uint8_t *b, uint32_t dst, uint16_t tot_len)
{
	uint32_t src = inet_addr("192.0.2.99"), sum = 0;

	memset(b, 0, 42);
	memcpy(b, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	b[14] = 0x45;
	b[16] = (uint8_t)(tot_len >> 8), b[17] = (uint8_t)tot_len;
	b[22] = 64, b[23] = 17;
	memcpy(b + 26, &src, 4);
	memcpy(b + 30, &dst, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(b[14 + i] << 8 | b[15 + i]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	b[24] = (uint8_t)(~sum >> 8), b[25] = (uint8_t)~sum;
	b[34] = 0x30, b[35] = 0x39, b[37] = 53, b[39] = 8;
	return 42;
}

struct run {
	uint32_t act, len;
	uint8_t out[4096];
	uint8_t last[64];	/* last_fib's value */
};

static int map_get(int fd, struct ebpf_map *m, void *val)
{
	uint32_t k = 0;

	return m ? ebpf_map_lookup_elem(m, &k, val) : bpf_map_lookup_elem(fd, &k, val);
}

int main(int argc, char **argv)
{
	static const char *const dsts[] = {
		"D.5", "D.6", "D.254", "D.1", "D.255", "D.0", "127.0.0.1", "198.51.100.7",
		"8.8.8.8", "224.0.0.5", "239.1.2.3", "255.255.255.255", "0.0.0.0", "D.77",
	};
	static const uint16_t lens[] = { 28, 1500, 1501, 9000 };
	static const uint32_t flags[] = { 0, BPF_FIB_LOOKUP_SKIP_NEIGH, BPF_FIB_LOOKUP_SRC,
					  BPF_FIB_LOOKUP_OUTPUT, BPF_FIB_LOOKUP_DIRECT };
	char err[512] = "";
	struct ebpf_object_opts o = { .sz = sizeof(o), .err_buf = err, .err_size = sizeof(err),
				      .keep_kernel = true };
	struct ebpf_object *obj[2] = { 0 };
	struct ebpf_host h;
	unsigned int pass = 0, fail = 0;
	uint32_t net;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IFNAME OBJ (ld_fib_fwd.bpf.o)\n", argv[0]);
		return 2;
	}
	snprintf(ifname, sizeof(ifname), "%s", argv[1]);
	if (host_from_kernel(&h)) {
		fprintf(stderr, "fib_kernel: cannot read %s's address, MAC and MTU\n", ifname);
		return 1;
	}
	ebpf_set_host(&h);
	for (int e = 0; e < 2; e++) {
		o.engine = e ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP;
		if (ebpf_object_open(argv[2], &o, &obj[e])) {
			fprintf(stderr, "fib_kernel: %s\n", err);
			return 1;
		}
	}
	net = ntohl(h.ip_be) & ~0xffu;
	for (size_t d = 0; d < sizeof(dsts) / sizeof(dsts[0]); d++)
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
	for (size_t fl = 0; fl < sizeof(flags) / sizeof(flags[0]); fl++) {
		struct run r[3];
		uint8_t pkt[64], cfg[12] = { 0 };
		uint32_t dst, k = 0;
		char name[64];
		size_t n;

		if (dsts[d][0] == 'D')
			dst = htonl(net | (uint32_t)atoi(dsts[d] + 2));
		else
			dst = inet_addr(dsts[d]);
		n = frame(pkt, dst, lens[l]);
		memcpy(cfg + 10, &flags[fl], 2);
		for (int e = 0; e < 3; e++) {
			struct ebpf_object *ob = obj[e < 2 ? e : 1];
			struct ebpf_map *cm = ebpf_object_find_map(ob, "fwd_cfg");
			struct ebpf_map *lm = ebpf_object_find_map(ob, "last_fib");
			struct ebpf_prog *p = ebpf_object_find_prog(ob, "xdp_fib_fwd");

			memset(&r[e], 0, sizeof(r[e]));
			if (e < 2) {
				struct ebpf_xdp_buff *x;

				ebpf_map_update_elem(cm, &k, cfg, 0);
				ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x);
				x->tailroom = EBPF_XDP_TEST_TAILROOM;
				ebpf_xdp_buff_set(x, pkt, n, EBPF_XDP_TEST_HEADROOM);
				x->md.ingress_ifindex = h.ifindex;
				r[e].act = ebpf_prog_run_xdp(p, x);
				r[e].len = ebpf_xdp_len(x);
				memcpy(r[e].out, ebpf_xdp_data(x), r[e].len);
				ebpf_xdp_buff_free(x);
				map_get(-1, lm, r[e].last);
			} else {
				/* test_run's context: data_end is the frame's size */
				struct xdp_md ctx = { .data_end = (uint32_t)n, .ingress_ifindex = h.ifindex };
				LIBBPF_OPTS(bpf_test_run_opts, t, .data_in = pkt, .data_size_in = (uint32_t)n,
					    .data_out = r[e].out, .data_size_out = sizeof(r[e].out),
					    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

				bpf_map_update_elem(ebpf_object_kernel_map_fd(ob, cm), &k, cfg, 0);
				if (bpf_prog_test_run_opts(ebpf_prog_kernel_fd(p), &t)) {
					fprintf(stderr, "fib_kernel: test_run: %s\n", strerror(errno));
					return 1;
				}
				r[e].act = t.retval;
				r[e].len = t.data_size_out;
				map_get(ebpf_object_kernel_map_fd(ob, lm), NULL, r[e].last);
			}
		}
		snprintf(name, sizeof(name), "%s tot_len %u flags %#x", dsts[d], lens[l], flags[fl]);
		for (int e = 0; e < 2; e++) {
			bool same = r[e].act == r[2].act && r[e].len == r[2].len &&
				    !memcmp(r[e].out, r[2].out, r[e].len) &&
				    !memcmp(r[e].last, r[2].last, sizeof(struct bpf_fib_lookup));

			if (same) {
				pass++;
				continue;
			}
			fail++;
			printf("FAIL %s (%s): verdict %u, kernel %u; bytes %s; last_fib %s\n", name,
			       e ? "jit" : "interp", r[e].act, r[2].act,
			       r[e].len == r[2].len && !memcmp(r[e].out, r[2].out, r[e].len) ?
			       "same" : "differ",
			       memcmp(r[e].last, r[2].last, sizeof(struct bpf_fib_lookup)) ?
			       "differs" : "same");
		}
	}
	/* fib_rc: every return code counted the same */
	for (uint32_t k = 0; k < 16; k++) {
		uint64_t a, b, c;
		struct ebpf_map *m0 = ebpf_object_find_map(obj[0], "fib_rc");
		struct ebpf_map *m1 = ebpf_object_find_map(obj[1], "fib_rc");

		ebpf_map_lookup_elem(m0, &k, &a);
		ebpf_map_lookup_elem(m1, &k, &b);
		bpf_map_lookup_elem(ebpf_object_kernel_map_fd(obj[1], m1), &k, &c);
		if (a == c && b == c) {
			if (c)
				printf("  return code %u: %llu lookups\n", k, (unsigned long long)c);
			continue;
		}
		fail++;
		printf("FAIL fib_rc[%u]: interp %llu, jit %llu, kernel %llu\n", k,
		       (unsigned long long)a, (unsigned long long)b, (unsigned long long)c);
	}
	printf("%u passed, %u failed\n", pass, fail);
	ebpf_object_close(obj[0]);
	ebpf_object_close(obj[1]);
	return fail ? 1 : 0;
}
