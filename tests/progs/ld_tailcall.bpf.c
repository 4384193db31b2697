/* ld_tailcall.bpf.c - loader test: a tail call through a statically initialised prog array. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (p + 15 > end)
		return XDP_ABORTED;
	p[13] = 0xaa;
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jmp_table SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

/* Byte 14 selects the slot: 1 jumps to tail_target (XDP_DROP), an empty
 * slot falls through to XDP_PASS. */
SEC("xdp")
int tail_entry(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (p + 15 > end)
		return XDP_ABORTED;
	p[12] = 0x55;
	bpf_tail_call(ctx, &jmp_table, p[14]);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
