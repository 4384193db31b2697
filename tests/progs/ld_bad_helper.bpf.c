/* ld_bad_helper.bpf.c - loader test: calls a helper the runtime does not offer (bpf_get_current_pid_tgid). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_bad_helper(struct xdp_md *ctx)
{
	/* Called through its id, as bpf_helper_defs.h does. */
	__u64 (*get_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;

	(void)ctx;
	return get_pid_tgid() & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
