/* md_snapshot.h - the flow's TCP-state snapshot in struct flextoe_md, shared by the rx-post and tx-post hooks. */
#ifndef FTOE_CORE_MD_SNAPSHOT_H
#define FTOE_CORE_MD_SNAPSHOT_H

#include <stdint.h>

#include "flextoe/bpf.h"

struct ftoe_engine;

/* Fill md for a segment of flow id at hook (docs/design.md section 4): header
 * (size, version, hook, dir), FLEXTOE_MDF_FLOW, flow_id, the engine's
 * time, and snd_una/snd_nxt/rcv_nxt/snd_wnd/rcv_wnd/cwnd (or the DCTCP
 * rate with FLEXTOE_MDF_RATE)/srtt_us as the flow holds them now.  The
 * caller adds what only it knows (per-segment flags, a per-segment
 * snd_nxt).  -ENOENT (md zeroed but for the header) when id is not a
 * flow in use. */
int ftoe_md_snapshot(const struct ftoe_engine *e, uint32_t id, enum flextoe_hook hook,
		     struct flextoe_md *md);

/* ip_version and saddr/daddr of md from the frame's own IP header (after
 * up to two VLAN tags): for the hooks where there is no flow to take them
 * from (rx-pre; tx-post of ARP, ICMP, ND, a RST for no flow).  A frame that
 * is not IP, or too short for its header, leaves them zero. */
void ftoe_md_frame_addrs(struct flextoe_md *md, const void *frame, uint32_t len);

#endif
