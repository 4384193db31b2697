/* ld_bad_kfunc.bpf.c - loader test: a kfunc the kernel has and the runtime does not implement; the load error must name it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern void bpf_rcu_read_lock(void) __ksym;
extern void bpf_rcu_read_unlock(void) __ksym;

SEC("xdp")
int xdp_bad_kfunc(struct xdp_md *ctx)
{
	(void)ctx;
	bpf_rcu_read_lock();
	bpf_rcu_read_unlock();
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
