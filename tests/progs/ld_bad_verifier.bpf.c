/* ld_bad_verifier.bpf.c - loader test: a packet read without a bounds check, which the kernel verifier rejects. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_oob(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data;

	return p[100] ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
