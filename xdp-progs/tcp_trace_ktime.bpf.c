/* tcp_trace_ktime.bpf.c - tcp_trace for the kernel's XDP hook: records without flextoe_md get bpf_ktime_get_ns() time.
 *
 * Identical to tcp_trace.bpf.c (maps, records, verdicts: see there and
 * include/flextoe/trace.h) except the timestamp fallback.  Skipped by the
 * differential tests, as any program reading the clock is.
 *
 * Load: xdp-loader load -m skb IFACE build/xdp-progs/tcp_trace_ktime.bpf.o
 */
#define TRACE_KTIME 1
#include "tcp_trace.h"
