/* ld_drop_nth.bpf.c - test program: drops the drop_at-th IPv4 TCP segment that carries payload, once
 * (tests/integration/rx_accounting.sh: a segment lost after the link, which the sender must resend). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

const volatile __u32 drop_at = 20000;	/* .rodata: --rodata drop_at=HEX */
__u32 seen;				/* .bss: data segments seen so far */

SEC("xdp")
int xdp_drop_nth(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct tcphdr *tcp;
	__u32 hl;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	hl = ip->ihl * 4;
	if (hl < sizeof(*ip))
		return XDP_PASS;
	tcp = (void *)ip + hl;
	if ((void *)(tcp + 1) > end)
		return XDP_PASS;
	/* payload: the IP total length beyond both headers */
	if (bpf_ntohs(ip->tot_len) <= hl + tcp->doff * 4)
		return XDP_PASS;
	return ++seen == drop_at ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
