/* ld_mixed.bpf.c - loader test: XDP programs beside tc/tracing ones, a max_entries 0 map and .rodata set before load (as xdp-bench). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Sized by the loader (--map-size counts=N), as xdp-bench sizes its maps. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 0);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* Set by the loader before load (--rodata cfg_verdict=HEX), as a skeleton
 * sets skel->rodata->cfg_verdict. */
const volatile __u32 cfg_verdict = XDP_PASS;
const volatile __u8 cfg_key_off = 14;

/* Counts frames by the byte at cfg_key_off; returns cfg_verdict. */
SEC("xdp")
int xdp_cfg(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 off = cfg_key_off & 63, key;
	__u64 one = 1, *v;

	if (p + off + 1 > end)
		return XDP_ABORTED;
	key = p[off];
	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST))
		return XDP_ABORTED;
	return cfg_verdict;
}

SEC("xdp")
int xdp_other(struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data > 100 ? XDP_DROP : XDP_PASS;
}

/* Not XDP: skipped by the runtime.  The helper is one the runtime lacks,
 * so the object also shows that skipped code is not scanned. */
SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	return bpf_get_current_pid_tgid() ? skb->len : 0;
}

/* A tracing program needs its target's BTF at load; loaded as XDP it
 * would fail with "No such process". */
SEC("tp_btf/xdp_exception")
int trace_exc(__u64 *ctx)
{
	return ctx[0] ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
