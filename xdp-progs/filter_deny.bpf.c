/* filter_deny.bpf.c - drops frames whose MAC, IPv4/IPv6 address or TCP/UDP port is listed (xdp-filter's deny mode).
 *
 * What: a frame matches when its source/destination MAC is in
 * filter_ethernet, its IP source/destination in filter_ipv4/filter_ipv6,
 * or its TCP/UDP source/destination port in filter_ports, with the entry's
 * FILTER_SRC/FILTER_DST (and, for ports, FILTER_TCP/FILTER_UDP) bits
 * saying which side and protocol count (include/flextoe/filter.h).
 * Truncated headers match only on what could be read.
 *
 * Maps: filter_ports (array[65536], key = port in host order),
 * filter_ipv4, filter_ipv6, filter_ethernet (hashes keyed by the address
 * bytes), filter_stats (per-CPU frames per XDP action).
 *
 * Verdicts: XDP_DROP on a match, XDP_PASS otherwise.
 *
 * Load: xdp-loader load -m skb IFACE build/xdp-progs/filter_deny.bpf.o,
 * then e.g. deny TCP destination port 22:
 *   bpftool map update name filter_ports key 22 0 0 0 value 6 0 0 0
 * In FlexTOE: at rx-pre (or tx-post); test with
 *   flextoe-bpf test-run build/xdp-progs/filter_deny.bpf.o --data-in F \
 *       --map-update filter_ports 16000000 06000000
 */
#define FILTER_MODE_ALLOW 0
#include "filter.h"
