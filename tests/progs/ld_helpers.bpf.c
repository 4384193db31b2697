/* ld_helpers.bpf.c - helper tests: each program takes its arguments from the packet and writes the results back.
 *
 * The unit tests run these in the runtime and in the kernel
 * (bpf_prog_test_run) for many arguments and compare verdicts and bytes.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PKT(ctx, p, end)						\
	__u8 *p = (void *)(long)(ctx)->data, *end = (void *)(long)(ctx)->data_end

/* bpf_xdp_adjust_head(s32 at 14); result in bytes 0..3 of the new frame. */
SEC("xdp")
int xdp_head(struct xdp_md *ctx)
{
	PKT(ctx, p, end);
	__s32 off, r;

	if (p + 18 > end)
		return XDP_ABORTED;
	__builtin_memcpy(&off, p + 14, 4);
	r = bpf_xdp_adjust_head(ctx, off);
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p + 4 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p, &r, 4);
	return r ? XDP_DROP : XDP_PASS;
}

/* bpf_xdp_adjust_tail(s32 at 14); result in bytes 0..3. */
SEC("xdp")
int xdp_tail(struct xdp_md *ctx)
{
	PKT(ctx, p, end);
	__s32 off, r;

	if (p + 18 > end)
		return XDP_ABORTED;
	__builtin_memcpy(&off, p + 14, 4);
	r = bpf_xdp_adjust_tail(ctx, off);
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p + 4 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p, &r, 4);
	return r ? XDP_DROP : XDP_PASS;
}

/* bpf_xdp_load_bytes(u32 offset at 14, 8 bytes), then on success
 * bpf_xdp_store_bytes of them at offset 20; results in bytes 0..7. */
SEC("xdp")
int xdp_bytes(struct xdp_md *ctx)
{
	PKT(ctx, p, end);
	__u8 buf[8] = {};
	__u32 off;
	__s32 r, w = 0;

	if (p + 18 > end)
		return XDP_ABORTED;
	__builtin_memcpy(&off, p + 14, 4);
	r = bpf_xdp_load_bytes(ctx, off, buf, sizeof(buf));
	if (!r)
		w = bpf_xdp_store_bytes(ctx, 20, buf, sizeof(buf));
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p + 8 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p, &r, 4);
	__builtin_memcpy(p + 4, &w, 4);
	return XDP_PASS;
}

/* bpf_csum_diff(from = bytes 20..83, from_size = byte 14 & 63,
 * to = bytes 84..147, to_size = byte 15 & 63, seed = u32 at 16);
 * the s64 result in bytes 0..7. */
SEC("xdp")
int xdp_csum(struct xdp_md *ctx)
{
	PKT(ctx, p, end);
	__u8 from[64], to[64];
	__u32 fs, ts, seed;
	__s64 r;

	if (p + 148 > end)
		return XDP_ABORTED;
	__builtin_memcpy(from, p + 20, 64);
	__builtin_memcpy(to, p + 84, 64);
	__builtin_memcpy(&seed, p + 16, 4);
	fs = p[14] & 63;
	ts = p[15] & 63;
	r = bpf_csum_diff((void *)from, fs, (void *)to, ts, seed);
	__builtin_memcpy(p, &r, 8);
	return XDP_PASS;
}

/* bpf_redirect(ifindex = byte 15, flags = byte 14). */
SEC("xdp")
int xdp_redirect(struct xdp_md *ctx)
{
	PKT(ctx, p, end);

	if (p + 16 > end)
		return XDP_ABORTED;
	return bpf_redirect(p[15], p[14]);
}

/* bpf_trace_printk with three arguments; its result in bytes 0..3. */
SEC("xdp")
int xdp_printk(struct xdp_md *ctx)
{
	static const char fmt[] = "ld_helpers: %d %x %s\n";
	static const char word[] = "word";
	PKT(ctx, p, end);
	__s32 r;

	if (p + 16 > end)
		return XDP_ABORTED;
	r = bpf_trace_printk(fmt, sizeof(fmt), (int)(__s8)p[14], p[15], word);
	__builtin_memcpy(p, &r, 4);
	return XDP_PASS;
}

/* Clocks, randomness and the CPU number: plausibility only. */
SEC("xdp")
int xdp_misc(struct xdp_md *ctx)
{
	__u64 t0 = bpf_ktime_get_ns(), b = bpf_ktime_get_boot_ns();
	__u32 r1 = bpf_get_prandom_u32(), r2 = bpf_get_prandom_u32();
	__u32 cpu = bpf_get_smp_processor_id();
	__u64 t1 = bpf_ktime_get_ns();

	(void)ctx;
	if (!t0 || t1 < t0 || b < t0 / 2)
		return XDP_ABORTED;
	if (r1 == r2 && r1 == bpf_get_prandom_u32())
		return XDP_DROP;
	return cpu < 4096 ? XDP_PASS : XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
