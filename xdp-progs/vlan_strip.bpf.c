/* vlan_strip.bpf.c - pops 802.1Q and 802.1ad (QinQ) tags and records the VLAN ids in flextoe_md.
 *
 * What: up to two tags (outer 802.1ad or 802.1Q, inner 802.1Q) are
 * removed: the destination and source MACs are saved, the frame start
 * moves forward by 4 bytes per tag (bpf_xdp_adjust_head) and the MACs and
 * the inner ethertype are written in front of the payload, so the result
 * is byte for byte the untagged frame.  With flextoe_md (FlexTOE's rx-pre
 * hook) the 802.1Q VID goes to md->vlan_id (FLEXTOE_MDF_VLAN) and an
 * 802.1ad VID to md->svlan_id (FLEXTOE_MDF_QINQ); of two 802.1Q tags the
 * outer goes to svlan_id.  In the kernel the ids are only counted.
 * Frames too short for their tags are left alone.
 *
 * Maps: vlan_stats (per-CPU array[VLAN_STAT_MAX]): frames, untagged,
 * one tag popped, two tags popped, truncated.
 *
 * Verdicts: XDP_PASS always (XDP_ABORTED if adjust_head failed, which a
 * well-formed frame cannot cause).
 *
 * Load: xdp-loader load -m skb IFACE build/xdp-progs/vlan_strip.bpf.o
 * (note: the kernel's own VLAN offload may strip tags before XDP); in
 * FlexTOE at rx-pre, ahead of the other programs (priority 10).
 */
#include "parse.h"
#include <xdp/xdp_helpers.h>
#include <flextoe/bpf.h>

enum vlan_stat {
	VLAN_STAT_FRAMES = 0,
	VLAN_STAT_UNTAGGED,
	VLAN_STAT_POPPED1,
	VLAN_STAT_POPPED2,
	VLAN_STAT_TRUNCATED,
	VLAN_STAT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VLAN_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vlan_stats SEC(".maps");

/* libxdp's run config: strip before anything else looks at the frame */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xdp_vlan_strip);

static __always_inline int is_vlan_tpid(__u16 tpid)
{
	return tpid == bpf_htons(ETH_P_8021Q) || tpid == bpf_htons(ETH_P_8021AD);
}

SEC("xdp")
int xdp_vlan_strip(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u16 tpid[2] = {}, vid[2] = {}, proto;
	struct flextoe_md *md;
	struct vlan_hdr *vh;
	__u8 macs[12];
	int n = 0, i;

	COUNT(vlan_stats, VLAN_STAT_FRAMES);
	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (!is_vlan_tpid(proto))
			break;
		vh = data + sizeof(*eth) + i * sizeof(*vh);
		if ((void *)(vh + 1) > end) {
			COUNT(vlan_stats, VLAN_STAT_TRUNCATED);
			return XDP_PASS;
		}
		tpid[i] = proto;
		vid[i] = bpf_ntohs(vh->tci) & 0x0fff;	/* IEEE 802.1Q: VID is the low 12 bits of the TCI */
		proto = vh->inner_proto;
		n++;
	}
	if (n == 0) {
		COUNT(vlan_stats, VLAN_STAT_UNTAGGED);
		return XDP_PASS;
	}
	__builtin_memcpy(macs, eth, sizeof(macs));
	if (bpf_xdp_adjust_head(ctx, n * (int)sizeof(struct vlan_hdr)))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	__builtin_memcpy(eth, macs, sizeof(macs));
	eth->h_proto = proto;
	COUNT(vlan_stats, n == 1 ? VLAN_STAT_POPPED1 : VLAN_STAT_POPPED2);

	/* adjust_head moved the metadata with the data; fetch it again */
	md = flextoe_md_get(ctx);
	if (!md)
		return XDP_PASS;
	if (n == 2) {
		md->svlan_id = vid[0];
		md->vlan_id = vid[1];
		md->flags |= FLEXTOE_MDF_VLAN | FLEXTOE_MDF_QINQ;
	} else if (tpid[0] == bpf_htons(ETH_P_8021AD)) {
		md->svlan_id = vid[0];
		md->flags |= FLEXTOE_MDF_QINQ;
	} else {
		md->vlan_id = vid[0];
		md->flags |= FLEXTOE_MDF_VLAN;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
