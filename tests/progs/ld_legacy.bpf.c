/* ld_legacy.bpf.c - loader test: legacy SEC("maps") definitions, used from a subprogram too. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* The old libbpf/samples layout, written out by hand. */
struct bpf_map_def_legacy {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def_legacy legacy_counts SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_map_def_legacy legacy_verdicts SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 16,
};

static __attribute__((noinline)) int bump(__u32 k)
{
	__u64 *c = bpf_map_lookup_elem(&legacy_counts, &k);

	if (!c)
		return 0;
	*c += 1;
	return (int)*c;
}

/* Byte 13: how often slot (byte 14 & 3) was hit; verdict from
 * legacy_verdicts[byte 14], else XDP_PASS. */
SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 key, *v;

	if (p + 15 > end)
		return XDP_ABORTED;
	key = p[14];
	p[13] = (__u8)bump(key & 3);
	v = bpf_map_lookup_elem(&legacy_verdicts, &key);
	return v ? *v : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
