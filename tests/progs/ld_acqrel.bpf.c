/* ld_acqrel.bpf.c - compat corpus: load-acquire and store-release of every size on a map value and the stack, hand-assembled (clang 14 cannot emit them). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* BPF_STX | BPF_ATOMIC | size with imm BPF_LOAD_ACQ (0x100): dst =
 * [src + off]; imm BPF_STORE_REL (0x110): [dst + off] = src.  Clang 18+
 * writes them as __atomic_load_n(p, __ATOMIC_ACQUIRE) and
 * __atomic_store_n(p, v, __ATOMIC_RELEASE) at -mcpu=v4; here they are
 * spelled as bytes.  Sizes: W 0x00, H 0x08, B 0x10, DW 0x18. */
#define ACQ_REL(size, dst, src, off, imm)                                      \
	".byte 0xc3 | " #size ", (" #src " << 4) | " #dst "\n\t"               \
	".short " #off "\n\t"                                                  \
	".long " #imm "\n\t"
#define LOAD_ACQ(size, dst, src, off)  ACQ_REL(size, dst, src, off, 0x100)
#define STORE_REL(size, dst, src, off) ACQ_REL(size, dst, src, off, 0x110)

struct published {
	__u64 dw;
	__u32 w;
	__u16 h;
	__u8 b;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct published);
} pub SEC(".maps");

/* Each field accumulates the frame's first 8 bytes at its own width
 * (read with load-acquire, written back with store-release, so the
 * narrow forms must truncate and zero-extend).  The frame's bytes 8..15
 * go through a stack slot the same way and come back in bytes 14..15;
 * the verdict is the low bits of the byte counter. */
SEC("xdp")
int xdp_acqrel(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct published *v;
	__u64 x, y, slot, out;
	__u32 key = 0;

	if (p + 16 > end)
		return XDP_PASS;
	v = bpf_map_lookup_elem(&pub, &key);
	if (!v)
		return XDP_ABORTED;
	__builtin_memcpy(&x, p, 8);
	__builtin_memcpy(&y, p + 8, 8);
	asm volatile(
		"r1 = %[v]\n\t"
		"r2 = %[x]\n\t"
		LOAD_ACQ(0x18, 3, 1, 0)
		"r3 += r2\n\t"
		STORE_REL(0x18, 1, 3, 0)
		LOAD_ACQ(0x00, 3, 1, 8)
		"r3 += r2\n\t"
		STORE_REL(0x00, 1, 3, 8)
		LOAD_ACQ(0x08, 3, 1, 12)
		"r3 += r2\n\t"
		STORE_REL(0x08, 1, 3, 12)
		LOAD_ACQ(0x10, 3, 1, 14)
		"r3 += r2\n\t"
		STORE_REL(0x10, 1, 3, 14)
		LOAD_ACQ(0x10, 3, 1, 14)	/* the stored byte, zero-extended */
		"r4 = %[slot]\n\t"
		"r5 = %[y]\n\t"
		STORE_REL(0x18, 4, 5, 0)
		LOAD_ACQ(0x08, 5, 4, 2)
		"r5 <<= 8\n\t"
		"r3 |= r5\n\t"
		"%[out] = r3\n\t"
		: [out] "=&r"(out)
		: [v] "r"(v), [x] "r"(x), [y] "r"(y), [slot] "r"(&slot)
		: "r1", "r2", "r3", "r4", "r5", "memory");
	p[14] = (__u8)out;
	p[15] = (__u8)(out >> 8);
	if (out >> 24)
		return XDP_ABORTED;	/* a narrow load that did not zero-extend */
	return (out & 3) == 3 ? XDP_TX : (out & 1) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
