/* mapcfg.h - writes xdp-filter's and the test firewall's map configuration into runtime maps or their kernel twins. */
#ifndef FTOE_TESTS_DIFF_MAPCFG_H
#define FTOE_TESTS_DIFF_MAPCFG_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf/ebpf.h"
#include "tests/diff/pktgen.h"

/* xdp-filter's map value bits (xdp-tools xdp-filter/common_kern_user.h):
 * the low bits of every filter map value say which direction and, for
 * ports, which protocol an entry applies to; the program adds
 * 1 << 6 per hit (COUNTER_SHIFT) above them. */
#define XF_FLAG_SRC	(1u << 0)
#define XF_FLAG_DST	(1u << 1)
#define XF_FLAG_TCP	(1u << 2)
#define XF_FLAG_UDP	(1u << 3)

static inline int mc_is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Write one element into map `name` of obj: the runtime map, or with
 * kernel set its kernel twin.  A per-CPU map gets value in every CPU slot
 * (as xdp-filter's map_set_flags does): the runtime has ebpf_nr_cpus()
 * slots, the kernel libbpf_num_possible_cpus(), each rounded up to 8
 * bytes as bpf(2) moves them.  -ENOENT when the object has no such map. */
static inline int mc_update(struct ebpf_object *obj, bool kernel, const char *name,
			    const void *key, const void *value)
{
	struct ebpf_map *map = ebpf_object_find_map(obj, name);
	uint32_t vsz, stride, ncpu = 1, i;
	uint8_t *buf;
	int err;

	if (!map)
		return -ENOENT;
	vsz = ebpf_map_value_size(map);
	stride = vsz;
	if (mc_is_percpu(ebpf_map_type(map))) {
		int n = kernel ? libbpf_num_possible_cpus() : (int)ebpf_nr_cpus();

		if (n <= 0)
			return n < 0 ? n : -EINVAL;
		ncpu = (uint32_t)n;
		stride = (vsz + 7) & ~7u;
	}
	buf = calloc(ncpu, stride);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < ncpu; i++)
		memcpy(buf + (size_t)i * stride, value, vsz);
	if (kernel) {
		int fd = ebpf_object_kernel_map_fd(obj, map);

		/* libbpf >= 1.0 returns -errno itself */
		err = fd < 0 ? -EBADF : bpf_map_update_elem(fd, key, buf, BPF_ANY);
	} else {
		err = ebpf_map_update_elem(map, key, buf, BPF_ANY);
	}
	free(buf);
	if (err)
		fprintf(stderr, "mapcfg: cannot update %s map %s: %s\n",
			kernel ? "kernel" : "runtime", name, strerror(-err));
	return err;
}

/* Like `xdp-filter port/ip/ether` commands would: a handful of ports,
 * IPv4/IPv6 addresses and MACs, drawn from the first PG_*_HITS entries of
 * the generator's pools.  Variants lack the maps of features they were
 * built without (xdpfilt_alw_eth has only filter_ethernet); at least one
 * filter map must exist.  Returns the number of entries written. */
static inline int mc_config_xdp_filter(struct ebpf_object *obj, bool kernel)
{
	static const struct { uint16_t port; uint64_t flags; } ports[PG_PORT_HITS] = {
		{ 80,   XF_FLAG_DST | XF_FLAG_TCP | XF_FLAG_UDP },
		{ 22,   XF_FLAG_SRC | XF_FLAG_DST | XF_FLAG_TCP },
		{ 53,   XF_FLAG_DST | XF_FLAG_UDP },
		{ 443,  XF_FLAG_SRC | XF_FLAG_TCP },
		{ 8080, XF_FLAG_SRC | XF_FLAG_DST | XF_FLAG_TCP | XF_FLAG_UDP },
		{ 123,  XF_FLAG_SRC | XF_FLAG_UDP },
	};
	static const uint64_t addr_flags[3] = {
		XF_FLAG_DST, XF_FLAG_SRC, XF_FLAG_SRC | XF_FLAG_DST,
	};
	int n = 0, maps = 0, err;
	unsigned int i;

	if (ebpf_object_find_map(obj, "filter_ports")) {
		maps++;
		for (i = 0; i < PG_PORT_HITS; i++) {
			/* key: the port in network order, widened to __u32
			 * (xdp-filter: map_key = htons(opt->port)) */
			uint32_t key = htons(ports[i].port);

			err = mc_update(obj, kernel, "filter_ports", &key, &ports[i].flags);
			if (err)
				return err;
			n++;
		}
	}
	if (ebpf_object_find_map(obj, "filter_ipv4")) {
		maps++;
		for (i = 0; i < PG_IPV4_HITS; i++) {
			uint32_t key;

			memcpy(&key, pg_ipv4[i], 4);
			err = mc_update(obj, kernel, "filter_ipv4", &key, &addr_flags[i % 3]);
			if (err)
				return err;
			n++;
		}
	}
	if (ebpf_object_find_map(obj, "filter_ipv6")) {
		maps++;
		for (i = 0; i < PG_IPV6_HITS; i++) {
			err = mc_update(obj, kernel, "filter_ipv6", pg_ipv6[i], &addr_flags[i % 3]);
			if (err)
				return err;
			n++;
		}
	}
	if (ebpf_object_find_map(obj, "filter_ethernet")) {
		maps++;
		for (i = 0; i < PG_MAC_HITS; i++) {
			err = mc_update(obj, kernel, "filter_ethernet", pg_macs[i],
					&addr_flags[i % 3]);
			if (err)
				return err;
			n++;
		}
	}
	if (!maps) {
		fprintf(stderr, "mapcfg: no filter_ports/ipv4/ipv6/ethernet map: "
			"not an xdp-filter object?\n");
		return -ENOENT;
	}
	return n;
}

/* tests/progs/fw_bench.bpf.c's key layouts and verdicts. */
struct mc_fw_lpm_key {
	uint32_t prefixlen;
	uint8_t addr[4];
};

struct mc_fw_tuple {
	uint8_t saddr[4], daddr[4];
	uint16_t sport, dport;	/* network order */
	uint8_t proto;
	uint8_t pad[3];
};

/* Firewall rules: overlapping CIDRs around the generator's addresses (so
 * the longest match decides), nr_random more random CIDRs /8../32, the
 * generator's flows plus nr_random_flows random ones.  The same seed gives
 * the same rules, so runtime and kernel get identical tables. */
static inline int mc_config_fw(struct ebpf_object *obj, bool kernel, uint32_t nr_random,
			       uint32_t nr_random_flows, uint64_t seed)
{
	static const struct { uint8_t addr[4]; uint32_t len, drop; } rules[] = {
		{ { 10, 0, 0, 0 }, 8, 1 },       { { 10, 1, 0, 0 }, 16, 0 },
		{ { 10, 1, 2, 3 }, 32, 1 },      { { 192, 168, 0, 0 }, 16, 0 },
		{ { 192, 168, 1, 0 }, 24, 1 },   { { 192, 168, 1, 1 }, 32, 0 },
		{ { 172, 16, 0, 0 }, 12, 1 },    { { 8, 8, 8, 0 }, 24, 0 },
	};
	struct pg_rng rng = { seed };
	uint32_t i;
	int err, n = 0;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]) + nr_random; i++) {
		struct mc_fw_lpm_key key = { 0 };
		uint32_t val;

		if (i < sizeof(rules) / sizeof(rules[0])) {
			key.prefixlen = rules[i].len;
			memcpy(key.addr, rules[i].addr, 4);
			val = rules[i].drop;
		} else {
			uint32_t a = (uint32_t)pg_next(&rng);

			key.prefixlen = 8 + pg_below(&rng, 25);
			/* Random rules stay out of 10/8, 172.16/12 and
			 * 192.168/16 so the fixed rules above keep deciding
			 * the generator's addresses. */
			a = (a & 0x3fffffff) | 0x40000000;	/* 64.0.0.0/2 */
			a &= key.prefixlen ? ~0u << (32 - key.prefixlen) : 0;
			key.addr[0] = (uint8_t)(a >> 24);
			key.addr[1] = (uint8_t)(a >> 16);
			key.addr[2] = (uint8_t)(a >> 8);
			key.addr[3] = (uint8_t)a;
			val = (uint32_t)pg_below(&rng, 2);
		}
		err = mc_update(obj, kernel, "fw_src_rules", &key, &val);
		if (err)
			return err;
		n++;
	}
	for (i = 0; i < PG_NR_FLOWS + nr_random_flows; i++) {
		struct mc_fw_tuple t = { 0 };
		uint32_t val;

		if (i < PG_NR_FLOWS) {
			memcpy(t.saddr, pg_flows[i].saddr, 4);
			memcpy(t.daddr, pg_flows[i].daddr, 4);
			t.sport = htons(pg_flows[i].sport);
			t.dport = htons(pg_flows[i].dport);
			t.proto = pg_flows[i].proto;
			val = pg_flows[i].drop;
		} else {
			pg_fill(&rng, t.saddr, 4);
			pg_fill(&rng, t.daddr, 4);
			t.sport = (uint16_t)pg_next(&rng);
			t.dport = (uint16_t)pg_next(&rng);
			t.proto = pg_chance(&rng, 50) ? 6 : 17;
			val = (uint32_t)pg_below(&rng, 2);
		}
		err = mc_update(obj, kernel, "fw_flows", &t, &val);
		if (err)
			return err;
		n++;
	}
	return n;
}

#endif
