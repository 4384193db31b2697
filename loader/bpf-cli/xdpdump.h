/* xdpdump.h - the layout of xdp-tools' xdpdump program (Debian's xdpdump_xdp.o), as its samples and settings lie in memory.
 *
 * Facts from xdp-tools xdpdump/xdpdump.h: each perf sample is a struct
 * pkt_trace_metadata (20 bytes) followed by cap_len bytes of the frame;
 * the program's settings are struct trace_configuration, the only variable
 * of the object's .data, which xdpdump sets before load.  Used by
 * `flextoe-bpf capture --xdpdump` (capture.c) and tests/compat/xdpdump_pcap.c.
 */
#ifndef FTOE_LOADER_BPF_CLI_XDPDUMP_H
#define FTOE_LOADER_BPF_CLI_XDPDUMP_H

#include <stdint.h>

struct xdpdump_meta {
	uint32_t ifindex;
	uint32_t rx_queue;
	uint16_t pkt_len;
	uint16_t cap_len;
	uint16_t flags;
	uint16_t prog_index;
	int32_t action;
} __attribute__((packed));

_Static_assert(sizeof(struct xdpdump_meta) == 20, "xdpdump's pkt_trace_metadata is 20 bytes");

struct xdpdump_cfg {
	uint32_t capture_if_ifindex;
	uint32_t capture_snaplen;
	uint32_t capture_prog_index;
};

#endif
