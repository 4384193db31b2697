/* capture.h - the capture XDP program (frame capture into a ring buffer, like xdpdump); CAPTURE_KTIME selects the kernel-time variant.
 *
 * capture.bpf.c (CAPTURE_KTIME 0) takes the time from flextoe_md only
 * (0 without it: deterministic, covered by the differential tests);
 * capture_ktime.bpf.c (CAPTURE_KTIME 1) falls back to bpf_ktime_get_ns().
 */
#ifndef FTOE_XDP_CAPTURE_H
#define FTOE_XDP_CAPTURE_H

#include "parse.h"
#include <flextoe/bpf.h>
#include <flextoe/trace.h>

#ifndef CAPTURE_KTIME
#error "define CAPTURE_KTIME to 0 or 1"
#endif

struct capture_buf {
	struct flextoe_capture_hdr hdr;
	__u8 data[FLEXTOE_CAPTURE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23);
} capture_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flextoe_capture_cfg);
} capture_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLEXTOE_CAPTURE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} capture_stats SEC(".maps");

/* Per-CPU scratch record: the frame is copied here, then one
 * bpf_ringbuf_output of header + cap_len bytes, so records take only the
 * bytes captured (a reservation must have a constant size). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct capture_buf);
} capture_scratch SEC(".maps");

SEC("xdp")
int xdp_capture(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct flextoe_capture_cfg *cfg;
	struct flextoe_md *md;
	struct capture_buf *buf;
	__u32 zero = 0, len, snap, cap;

	COUNT(capture_stats, FLEXTOE_CAPTURE_SEEN);
	if (data + sizeof(struct ethhdr) > end)
		return XDP_PASS;
	buf = bpf_map_lookup_elem(&capture_scratch, &zero);
	if (!buf)
		return XDP_PASS;
	len = (__u32)(end - data);
	cfg = bpf_map_lookup_elem(&capture_cfg, &zero);
	snap = cfg && cfg->snaplen ? cfg->snaplen : FLEXTOE_CAPTURE_MAX;
	if (snap > FLEXTOE_CAPTURE_MAX)
		snap = FLEXTOE_CAPTURE_MAX;
	cap = len < snap ? len : snap;
	/* bpf_xdp_load_bytes wants a length the verifier can bound to
	 * [1, buffer]; keep clang from folding this check into the clamps
	 * above, which the verifier cannot follow */
	asm volatile("" : "+r"(cap));
	if (cap < 1 || cap > FLEXTOE_CAPTURE_MAX)
		return XDP_PASS;

	md = flextoe_md_get(ctx);
	buf->hdr.size = sizeof(buf->hdr);
	buf->hdr.version = FLEXTOE_TRACE_VERSION;
	buf->hdr.hook = md ? md->hook : FLEXTOE_HOOK_NONE;
	buf->hdr.dir = md ? md->dir : FLEXTOE_DIR_RX;
	buf->hdr.pad0[0] = buf->hdr.pad0[1] = buf->hdr.pad0[2] = 0;
	buf->hdr.tstamp_ns = md ? md->tstamp_ns : (CAPTURE_KTIME ? bpf_ktime_get_ns() : 0);
	buf->hdr.pkt_len = len;
	buf->hdr.cap_len = cap;
	buf->hdr.ifindex = ctx->ingress_ifindex;
	buf->hdr.rx_queue = ctx->rx_queue_index;
	if (bpf_xdp_load_bytes(ctx, 0, buf->data, cap))
		return XDP_PASS;
	if (bpf_ringbuf_output(&capture_events, buf, sizeof(buf->hdr) + cap, 0))
		COUNT(capture_stats, FLEXTOE_CAPTURE_LOST);
	else
		COUNT(capture_stats, FLEXTOE_CAPTURE_EMITTED);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

#endif /* FTOE_XDP_CAPTURE_H */
