/* ld_loop.bpf.c - loader/helper test: bpf_loop with early stop, E2BIG and bad flags. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct loop_ctx {
	__u32 sum;
	__u32 limit;
};

static int add_square(__u32 i, struct loop_ctx *c)
{
	c->sum += i * i;
	return c->sum > c->limit ? 1 : 0;	/* 1 stops the loop */
}

/* Byte 14: iterations; byte 15: limit / 4.  Writes the sum (bytes 0..3),
 * the iteration count (4..7), and the results of an oversized loop (8..11)
 * and of a loop with flags set (12..13: low 16 bits). */
SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct loop_ctx c = { 0, 0 };
	long n, big, flagged;

	if (p + 16 > end)
		return XDP_ABORTED;
	c.limit = (__u32)p[15] * 4;
	n = bpf_loop(p[14], add_square, &c, 0);
	big = bpf_loop((1u << 23) + 1, add_square, &c, 0);
	flagged = bpf_loop(1, add_square, &c, 1);
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p + 16 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p, &c.sum, 4);
	*(__u32 *)(p + 4) = (__u32)n;
	*(__u32 *)(p + 8) = (__u32)big;
	*(__u16 *)(p + 12) = (__u16)flagged;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
