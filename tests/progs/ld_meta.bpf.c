/* ld_meta.bpf.c - the bpf_xdp_adjust_meta test program, apart from ld_helpers.bpf.c.
 *
 * Some kernels refuse bpf_xdp_adjust_meta in XDP programs at load time
 * ("program of this type cannot use helper"; seen on 6.18 here), and a
 * kernel refuses a whole object for one such program.  On its own, this
 * program leaves the other helper tests running against the kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define PKT(ctx, p, end)						\
	__u8 *p = (void *)(long)(ctx)->data, *end = (void *)(long)(ctx)->data_end

/* bpf_xdp_adjust_meta(s32 at 14); tags the first metadata word and
 * writes the result to bytes 0..3. */
SEC("xdp")
int xdp_meta(struct xdp_md *ctx)
{
	PKT(ctx, p, end);
	__u8 *meta;
	__u32 tag = 0xfeedbeef;
	__s32 off, r;

	if (p + 18 > end)
		return XDP_ABORTED;
	__builtin_memcpy(&off, p + 14, 4);
	r = bpf_xdp_adjust_meta(ctx, off);
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	meta = (void *)(long)ctx->data_meta;
	if (meta + 4 <= p)
		__builtin_memcpy(meta, &tag, 4);
	if (p + 4 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p, &r, 4);
	return r ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
