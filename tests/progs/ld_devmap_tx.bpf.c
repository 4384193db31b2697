/* ld_devmap_tx.bpf.c - loader test (integration/devmap.sh, the compatibility corpus): an rx-pre program that sends a peer's TCP segments back through DEVMAP/DEVMAP_HASH slots and bpf_redirect, and hands ICMP echo requests to the engine through a CPUMAP slot. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * A reflector in the way xdp-bench's redirect_devmap and xdp-forward use
 * their maps: a TCP segment to one of the engine's ports below gets its
 * MACs, addresses and ports swapped (both checksums stay right: the sums
 * do not depend on the order) and is redirected, so the peer receives it
 * as a segment from the engine's address and port.  (Only the engine's
 * own traffic meets its hooks - TCP, ARP, ICMP echo - so no UDP here.)
 *
 *   8080   tx_port slot 0, fallback XDP_PASS
 *   8081   tx_port, BPF_F_BROADCAST (a copy per full slot)
 *   5000   tx_port, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS
 *   1234   tx_hash keyed by the ingress ifindex (as xdp-forward), fallback XDP_PASS
 *   33000  bpf_redirect(ingress_ifindex)
 *   8082   grown by 1,500 bytes (bpf_xdp_adjust_tail), past the MTU, then
 *          tx_port slot 0: the device may not send it (the kernel's
 *          xdp_ok_fwd_dev), the redirect fails
 *
 * (Ports the differential tests' frame generator favours, so that
 * tests/diff meets every branch; tests/integration/devmap.sh sends to
 * each.)
 *
 * An ICMP echo request is redirected to cpus slot 0, fallback XDP_DROP:
 * the engine answers the ping only when the slot is full.
 */

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} tx_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

static __always_inline void swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

static __always_inline int reflect(struct xdp_md *ctx, struct ethhdr *eth, struct iphdr *iph,
				   struct tcphdr *tcp)
{
	__u16 port = bpf_ntohs(tcp->dest);
	__be32 addr = iph->saddr;
	__be16 p = tcp->source;

	if (port != 8080 && port != 8081 && port != 5000 && port != 1234 && port != 33000 &&
	    port != 8082)
		return XDP_PASS;
	swap_macs(eth);
	iph->saddr = iph->daddr;
	iph->daddr = addr;
	tcp->source = tcp->dest;
	tcp->dest = p;
	switch (port) {
	case 8080:
		return bpf_redirect_map(&tx_port, 0, XDP_PASS);
	case 8081:
		return bpf_redirect_map(&tx_port, 0, BPF_F_BROADCAST);
	case 5000:
		return bpf_redirect_map(&tx_port, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	case 1234:
		return bpf_redirect_map(&tx_hash, ctx->ingress_ifindex, XDP_PASS);
	case 8082:
		if (bpf_xdp_adjust_tail(ctx, 1500))
			return XDP_DROP;
		return bpf_redirect_map(&tx_port, 0, XDP_PASS);
	default:
		return bpf_redirect(ctx->ingress_ifindex, 0);
	}
}

SEC("xdp")
int xdp_devmap_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph = data + sizeof(*eth);
	struct tcphdr *tcp = (void *)(iph + 1);
	__u8 *icmp_type = (void *)(iph + 1);

	if ((void *)(iph + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5)
		return XDP_PASS;
	if (iph->protocol == IPPROTO_ICMP && (void *)(icmp_type + 1) <= end && *icmp_type == 8)
		return bpf_redirect_map(&cpus, 0, XDP_DROP);
	if (iph->protocol != IPPROTO_TCP || (void *)(tcp + 1) > end)
		return XDP_PASS;
	return reflect(ctx, eth, iph, tcp);
}

char LICENSE[] SEC("license") = "GPL";
