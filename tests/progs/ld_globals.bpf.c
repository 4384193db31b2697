/* ld_globals.bpf.c - loader test: global data (.rodata/.data/.bss), a bpf-to-bpf call, XDP_RUN_CONFIG. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

const volatile __u32 ro_add = 7;	/* .rodata */
__u32 data_mul = 3;			/* .data */
__u64 bss_count;			/* .bss */

/* A real subprogram (not inlined): the loader must append and relocate it. */
static __attribute__((noinline)) __u32 mix(__u32 x)
{
	return x * data_mul + ro_add;
}

struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
	__uint(XDP_DROP, 1);
} XDP_RUN_CONFIG(xdp_globals);

/* Byte 14: replaced by mix(byte 14); byte 13: the run count. */
SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (p + 15 > end)
		return XDP_ABORTED;
	bss_count++;
	p[14] = (__u8)mix(p[14]);
	p[13] = (__u8)bss_count;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
