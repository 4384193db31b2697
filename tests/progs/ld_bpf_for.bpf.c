/* ld_bpf_for.bpf.c - compat corpus: bpf_for loops over the open-coded number iterator (the bpf_iter_num kfuncs), including a range the iterator refuses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

static __always_inline void iter_num_end(struct bpf_iter_num *it)
{
	bpf_iter_num_destroy(it);
}

/* bpf_for(i, start, end): i runs over [start, end), as newer libbpf's
 * bpf_helpers.h provides it (Debian 12's libbpf 1.1 has no such macro).
 * The iterator is destroyed when the loop's scope ends, break included. */
#define bpf_for(i, start, end)                                                 \
	for (struct bpf_iter_num it__ __attribute__((cleanup(iter_num_end))),  \
	     *it_p__ = (bpf_iter_num_new(&it__, (start), (end)), &it__);       \
	     ({ int *v__ = bpf_iter_num_next(it_p__); v__ ? ((i) = *v__, 1) : 0; }); )

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} iter_stats SEC(".maps");	/* 0: bytes hashed, 1: passes of the second loop, 2: last hash */

static __always_inline void add(__u32 key, __u64 v, int replace)
{
	__u64 *slot = bpf_map_lookup_elem(&iter_stats, &key);

	if (slot)
		*slot = replace ? v : *slot + v;
}

/* Hashes the first p[14] % 64 bytes of the frame, then loops over
 * [p[15], p[14]), which the iterator refuses (no pass) when p[15] > p[14]. */
SEC("xdp")
int xdp_bpf_for(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 h = 0, hashed = 0, passes = 0;
	int i;

	if (p + 16 > end)
		return XDP_PASS;
	bpf_for(i, 0, p[14] % 64) {
		if (i < 0 || i >= 64 || p + i + 1 > end)
			break;
		h = h * 31 + p[i];
		hashed++;
	}
	bpf_for(i, p[15], p[14])
		passes += (__u32)i & 1;
	add(0, hashed, 0);
	add(1, passes, 0);
	add(2, h, 1);
	p[14] = (__u8)h;
	p[15] = (__u8)passes;
	return (h & 3) == 3 ? XDP_TX : (h & 1) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
