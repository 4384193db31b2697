/* capture.bpf.c - copies frames (up to snaplen bytes) into a ring buffer for pcap writing, like xdpdump.
 *
 * What: each frame becomes a struct flextoe_capture_hdr (time, hook,
 * direction, frame length, captured length, ingress ifindex and queue;
 * include/flextoe/trace.h) followed by its first cap_len bytes, in the
 * capture_events ring buffer.  The time comes from flextoe_md (0 without
 * it; capture_ktime.bpf.o uses the kernel clock then).
 *
 * Maps: capture_events (ring buffer, 8 MiB), capture_cfg (array[1]:
 * snaplen, 0 = FLEXTOE_CAPTURE_MAX = 1536), capture_stats (per-CPU:
 * seen, emitted, lost), capture_scratch (per-CPU staging record).
 *
 * Verdicts: XDP_PASS always.
 *
 * Load: xdp-loader load -m skb IFACE build/xdp-progs/capture_ktime.bpf.o
 * in the kernel; in FlexTOE at any hook (flextoe-bpf capture writes the
 * pcap).  Snaplen 96:  --map-update capture_cfg 00000000 6000000000000000
 */
#define CAPTURE_KTIME 0
#include "capture.h"
