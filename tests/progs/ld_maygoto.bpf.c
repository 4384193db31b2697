/* ld_maygoto.bpf.c - compat corpus: a loop bounded by may_goto, as newer bpf_helpers.h spell `for (i = 0; i < n && can_loop; i++)`, hand-assembled (clang 14 cannot emit may_goto). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* may_goto +off: BPF_JMP | BPF_JCOND (0xe5) with src_reg BPF_MAY_GOTO (0);
 * falls through while the run's loop budget lasts, then jumps. */
#define MAY_GOTO(off) ".byte 0xe5, 0x00\n\t.short " #off "\n\t.long 0\n\t"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} loops SEC(".maps");	/* 0: iterations run, 1: the last hash */

/* Hashes byte 15 over p[14] rounds; the hash goes back into bytes 14..15
 * and picks the verdict. */
SEC("xdp")
int xdp_can_loop(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u64 n, seed, i, h, *iters, *last;
	__u32 k0 = 0, k1 = 1;

	if (p + 16 > end)
		return XDP_PASS;
	iters = bpf_map_lookup_elem(&loops, &k0);
	last = bpf_map_lookup_elem(&loops, &k1);
	if (!iters || !last)
		return XDP_ABORTED;
	n = p[14];
	seed = p[15];
	asm volatile(
		"r1 = %[n]\n\t"
		"r2 = 0\n\t"
		"r3 = %[seed]\n\t"
		"1:\n\t"
		MAY_GOTO(5)			/* budget spent: leave */
		"if r2 >= r1 goto 2f\n\t"
		"r3 *= 31\n\t"
		"r3 += r2\n\t"
		"r2 += 1\n\t"
		"goto 1b\n\t"
		"2:\n\t"
		"%[i] = r2\n\t"
		"%[h] = r3\n\t"
		: [i] "=&r"(i), [h] "=&r"(h)
		: [n] "r"(n), [seed] "r"(seed)
		: "r1", "r2", "r3");
	__sync_fetch_and_add(iters, i);
	*last = h;
	p[14] = (__u8)h;
	p[15] = (__u8)(h >> 8);
	return (h & 3) == 3 ? XDP_TX : (h & 1) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
