/* tcp_trace.bpf.c - emits one ring-buffer record per TCP segment: addresses, ports, seq/ack, flags, window, TCP state from flextoe_md, header bytes.
 *
 * What: every TCP segment (IPv4/IPv6, up to two VLAN tags) becomes a
 * struct flextoe_trace_rec (include/flextoe/trace.h) in the trace_events
 * ring buffer: time, direction and hook, addresses and ports, seq, ack,
 * payload length, TCP flags, raw window, and - when flextoe_md is present
 * (FlexTOE hooks) - the flow id, snd_una, snd_nxt, cwnd or rate, srtt and
 * the retransmit/OOO/dupack marks, plus the frame's first snap_len bytes
 * for pcap files.  The time is flextoe_md's timestamp; without metadata
 * it is 0 (the reader stamps on receipt) - use tcp_trace_ktime.bpf.o in
 * the kernel's hook for kernel timestamps.
 *
 * Maps: trace_events (ring buffer, 4 MiB), trace_cfg (array[1] of struct
 * flextoe_trace_cfg: optional port/address filter and snaplen; all zero
 * traces everything), trace_stats (per-CPU counters, enum
 * flextoe_trace_stat).
 *
 * Verdicts: XDP_PASS always: tracing never changes the data path.
 *
 * Load: in the kernel, xdp-loader load -m skb IFACE
 * build/xdp-progs/tcp_trace_ktime.bpf.o and read trace_events with a
 * libbpf ring_buffer consumer; in FlexTOE at rx-pre/rx-post/tx-post (the
 * flextoe-bpf trace command consumes the records).  Trace only port 80
 * (flags FLEXTOE_TRACE_CFG_PORT, port 80, 28-byte value):
 *   --map-update trace_cfg 00000000 01000000500000000000000000000000000000000000000000000000
 */
#define TRACE_KTIME 0
#include "tcp_trace.h"
