/* ld_spinlock.bpf.c - loader test: bpf_spin_lock around a shared value, as xdp-trafficgen keeps its flow state. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_state {
	struct bpf_spin_lock lock;
	__u32 seq;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flow_state);
} state SEC(".maps");

/* Under the lock: seq + 1 and bytes + the frame's length; the new seq
 * goes into byte 14. */
SEC("xdp")
int xdp_locked(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct flow_state *st;
	__u32 key = 0, seq;

	if (p + 16 > end)
		return XDP_ABORTED;
	st = bpf_map_lookup_elem(&state, &key);
	if (!st)
		return XDP_ABORTED;
	bpf_spin_lock(&st->lock);
	seq = ++st->seq;
	st->bytes += end - p;
	bpf_spin_unlock(&st->lock);
	p[14] = (__u8)seq;
	return seq % 2 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
