/* ld_redirect.bpf.c - loader test: redirect target maps used as xdp-bench, xdp-forward and libxdp's xsk program use them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} tx_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

static __always_inline int key_byte(struct xdp_md *ctx, __u32 *key)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (p + 16 > end)
		return -1;
	*key = p[14];
	return 0;
}

/* Byte 14 picks the port; an empty slot drops.  A full slot's ifindex is
 * written to byte 15 first (a program reading its devmap, as xdp-forward). */
SEC("xdp")
int xdp_devmap(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct bpf_devmap_val *v;
	__u32 key;

	if (key_byte(ctx, &key) || p + 16 > end)
		return XDP_ABORTED;
	v = bpf_map_lookup_elem(&tx_ports, &key);
	if (v)
		p[15] = (__u8)v->ifindex;
	return bpf_redirect_map(&tx_ports, key, XDP_DROP);
}

SEC("xdp")
int xdp_devhash(struct xdp_md *ctx)
{
	__u32 key;

	if (key_byte(ctx, &key))
		return XDP_ABORTED;
	return bpf_redirect_map(&tx_hash, key, XDP_PASS);
}

SEC("xdp")
int xdp_cpu(struct xdp_md *ctx)
{
	__u32 key;

	if (key_byte(ctx, &key))
		return XDP_ABORTED;
	return bpf_redirect_map(&cpus, key, XDP_PASS);
}

/* libxdp's xsk_def_xdp_prog, both of its forms: look the socket up, then
 * redirect; or redirect with XDP_PASS as the fallback. */
SEC("xdp")
int xdp_xsk(struct xdp_md *ctx)
{
	__u32 index = ctx->rx_queue_index;

	if (bpf_map_lookup_elem(&xsks, &index))
		return bpf_redirect_map(&xsks, index, 0);
	return bpf_redirect_map(&xsks, index, XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
