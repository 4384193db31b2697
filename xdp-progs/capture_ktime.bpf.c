/* capture_ktime.bpf.c - capture for the kernel's XDP hook: frames without flextoe_md get bpf_ktime_get_ns() time.
 *
 * Identical to capture.bpf.c (maps, records, verdicts: see there) except
 * the timestamp fallback.  Skipped by the differential tests, as any
 * program reading the clock is.
 *
 * Load: xdp-loader load -m skb IFACE build/xdp-progs/capture_ktime.bpf.o
 */
#define CAPTURE_KTIME 1
#include "capture.h"
