/* ld_maps.bpf.c - loader test: one BTF-defined map of every type the runtime supports. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_counts SEC(".maps");

/* Verdict by packet byte 14 (tests set it with --map-update). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u32);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
} lru_pcpu SEC(".maps");

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} jumps SEC(".maps");

SEC("xdp")
int xdp_maps(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct lpm_key lk = { .prefixlen = 32 };
	__u32 key, zero = 0, *v, ret = XDP_PASS;
	__u64 one = 1, *c;

	if (p + 20 > end)
		return XDP_ABORTED;
	key = p[14];
	v = bpf_map_lookup_elem(&verdicts, &key);
	if (v)
		ret = *v;
	c = bpf_map_lookup_elem(&counts, &zero);
	if (c)
		__sync_fetch_and_add(c, 1);
	c = bpf_map_lookup_elem(&pcpu_counts, &zero);
	if (c)
		*c += 1;
	bpf_map_update_elem(&pcpu_hash, &key, &one, BPF_ANY);
	bpf_map_update_elem(&lru, &key, &one, BPF_ANY);
	bpf_map_update_elem(&lru_pcpu, &key, &one, BPF_ANY);
	__builtin_memcpy(lk.addr, p + 16, 4);
	v = bpf_map_lookup_elem(&prefixes, &lk);
	if (v)
		p[15] = (__u8)*v;
	bpf_ringbuf_output(&events, &key, sizeof(key), 0);
	bpf_tail_call(ctx, &jumps, 0);
	return ret;
}

char LICENSE[] SEC("license") = "GPL";
