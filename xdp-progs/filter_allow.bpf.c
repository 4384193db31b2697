/* filter_allow.bpf.c - passes only frames whose MAC, IPv4/IPv6 address or TCP/UDP port is listed (xdp-filter's allow mode).
 *
 * What: the same matching as filter_deny.bpf.c (include/flextoe/filter.h),
 * the opposite verdicts: anything not listed is dropped, ARP included -
 * list the peers' MACs (FILTER_SRC) to keep ARP working.
 *
 * Maps: filter_ports, filter_ipv4, filter_ipv6, filter_ethernet,
 * filter_stats, as filter_deny.
 *
 * Verdicts: XDP_PASS on a match, XDP_DROP otherwise.
 *
 * Load: xdp-loader load -m skb IFACE build/xdp-progs/filter_allow.bpf.o
 * (configure the maps first with bpftool, or every frame is dropped).
 * In FlexTOE: at rx-pre; test with flextoe-bpf test-run --map-update.
 */
#define FILTER_MODE_ALLOW 1
#include "filter.h"
