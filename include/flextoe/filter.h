/* flextoe/filter.h - map layouts of the filter XDP programs (filter_allow, filter_deny).
 *
 * As xdp-filter: ports, IPv4/IPv6 addresses and MAC addresses are listed
 * in maps with flags saying which side (source/destination) and, for
 * ports, which protocol an entry applies to.  filter_deny drops a frame
 * that matches any entry; filter_allow passes only frames that match one.
 */
#ifndef FLEXTOE_FILTER_H
#define FLEXTOE_FILTER_H

#include <linux/types.h>

/* Value bits of every filter map (a __u32). */
#define FILTER_SRC	(1u << 0)	/* match the source port / address */
#define FILTER_DST	(1u << 1)	/* match the destination */
#define FILTER_TCP	(1u << 2)	/* ports: for TCP */
#define FILTER_UDP	(1u << 3)	/* ports: for UDP */

/* Maps:
 *   filter_ports    array[65536], key __u32 port (host order), value flags
 *   filter_ipv4     hash, key __u8[4] address (network order), value flags
 *   filter_ipv6     hash, key __u8[16], value flags
 *   filter_ethernet hash, key __u8[6] MAC, value flags
 *   filter_stats    per-CPU array[5], key XDP action, value __u64 frames
 */
#define FILTER_MAX_ADDRS	16384

#endif /* FLEXTOE_FILTER_H */
