/* vlan_tag.bpf.c - TC programs that make a Linux host's veth speak 802.1Q / 802.1ad: push tags on egress, pop them on ingress.
 *
 * This kernel has no 8021q module, so a VLAN subinterface cannot be
 * made; these clsact programs tag a plain interface instead:
 *
 *   tc qdisc add dev IF clsact
 *   tc filter add dev IF egress  bpf da obj vlan_tag.bpf.o sec tc/push_1q     (802.1Q VID 100)
 *   tc filter add dev IF egress  bpf da obj vlan_tag.bpf.o sec tc/push_qinq   (802.1ad 200 + 802.1Q 100)
 *   tc filter add dev IF ingress bpf da obj vlan_tag.bpf.o sec tc/pop
 *   tc filter add dev IF ingress bpf da obj vlan_tag.bpf.o sec tc/pop_strict       (only VID 100)
 *   tc filter add dev IF ingress bpf da obj vlan_tag.bpf.o sec tc/pop_strict_qinq  (only 200/100)
 *
 * bpf_skb_vlan_push() puts the tag into the skb's offload field (and a
 * tag already there into the frame); the device's transmit path writes
 * the offloaded tag into the frame when the device does not insert tags
 * itself - so turn that off on the veth (ethtool -K IF txvlan off
 * tx-vlan-stag-hw-insert off) and every frame on the wire carries its
 * tags in-band.  Ingress pops the offloaded tag (the receive path moves
 * an in-band outer tag there) and then any in-band ones; tc/pop lets
 * untagged frames pass unchanged.  The strict ones behave like a VLAN
 * subinterface (802.1Q VID 100, or 802.1ad 200 over 802.1Q 100): a frame
 * with exactly those tags has them popped, any other - untagged, another
 * VID or TPID, more or fewer tags - is dropped (TAG_REJECTED), so a peer
 * using them only hears answers sent on its VLAN.
 *
 * Counters (array "vlan_tag_stats", see enum below) for the test.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define VID_INNER	100
#define VID_OUTER	200

enum { TAG_PUSHED = 0, TAG_POPPED, TAG_UNTAGGED_IN, TAG_FAILED, TAG_REJECTED, TAG_STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TAG_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} vlan_tag_stats SEC(".maps");

static __always_inline void count(__u32 i, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&vlan_tag_stats, &i);

	if (c)
		__sync_fetch_and_add(c, n);
}

SEC("tc/push_1q")
int push_1q(struct __sk_buff *skb)
{
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), VID_INNER)) {
		count(TAG_FAILED, 1);
		return TC_ACT_SHOT;
	}
	count(TAG_PUSHED, 1);
	return TC_ACT_OK;
}

/* Inner first: the second push moves it into the frame and offloads the
 * outer, which the transmit path then writes in front of it. */
SEC("tc/push_qinq")
int push_qinq(struct __sk_buff *skb)
{
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), VID_INNER) ||
	    bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), VID_OUTER)) {
		count(TAG_FAILED, 1);
		return TC_ACT_SHOT;
	}
	count(TAG_PUSHED, 2);
	return TC_ACT_OK;
}

static __always_inline int in_band_tag(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return 0;
	return eth->h_proto == bpf_htons(ETH_P_8021Q) || eth->h_proto == bpf_htons(ETH_P_8021AD);
}

SEC("tc/pop")
int pop(struct __sk_buff *skb)
{
	int popped = 0;

	/* the offloaded tag, then up to two in the frame */
	for (int i = 0; i < 3; i++) {
		if (!skb->vlan_present && !in_band_tag(skb))
			break;
		if (bpf_skb_vlan_pop(skb)) {
			count(TAG_FAILED, 1);
			return TC_ACT_SHOT;
		}
		popped++;
	}
	if (popped)
		count(TAG_POPPED, (__u64)popped);
	else
		count(TAG_UNTAGGED_IN, 1);
	return TC_ACT_OK;
}

/* The outermost tag: the offloaded one (the receive path moves an in-band
 * outer tag there) or else one in the frame.  1 with *tpid (network order)
 * and *vid, 0 when the frame has none. */
static __always_inline int outer_tag(struct __sk_buff *skb, __u16 *tpid, __u16 *vid)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	__be16 *tci = (__be16 *)(eth + 1);

	if (skb->vlan_present) {
		*tpid = (__u16)skb->vlan_proto;	/* as the skb holds it: network order */
		*vid = skb->vlan_tci & 0x0fff;
		return 1;
	}
	if ((void *)(tci + 2) > end || !in_band_tag(skb))
		return 0;
	*tpid = eth->h_proto;
	*vid = bpf_ntohs(*tci) & 0x0fff;
	return 1;
}

/* Pop the outer tag if it is tpid/vid: 0, or -1 (wrong, missing, failed). */
static __always_inline int pop_expected(struct __sk_buff *skb, __u16 tpid, __u16 vid)
{
	__u16 t, v;

	if (!outer_tag(skb, &t, &v) || t != bpf_htons(tpid) || v != vid)
		return -1;
	return bpf_skb_vlan_pop(skb) ? -1 : 0;
}

SEC("tc/pop_strict")
int pop_strict(struct __sk_buff *skb)
{
	__u16 t, v;

	if (pop_expected(skb, ETH_P_8021Q, VID_INNER) || outer_tag(skb, &t, &v)) {
		count(TAG_REJECTED, 1);
		return TC_ACT_SHOT;
	}
	count(TAG_POPPED, 1);
	return TC_ACT_OK;
}

SEC("tc/pop_strict_qinq")
int pop_strict_qinq(struct __sk_buff *skb)
{
	__u16 t, v;

	if (pop_expected(skb, ETH_P_8021AD, VID_OUTER) ||
	    pop_expected(skb, ETH_P_8021Q, VID_INNER) || outer_tag(skb, &t, &v)) {
		count(TAG_REJECTED, 1);
		return TC_ACT_SHOT;
	}
	count(TAG_POPPED, 2);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
