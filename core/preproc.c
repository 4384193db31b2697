/* preproc.c - pre-processing stage: validate, flow lookup, summary; divert the slow path. */
#include "core/control/conn.h"
#include "core/engine_internal.h"
#include "core/pipeline.h"

/*
 * FlexTOE section 4 "pre-processing": parse and validate each frame once
 * (core/segment.c: lengths, checksums, options), look the flow up, and pass
 * a summary on.  Everything that is not a plain segment of a synchronized
 * flow - SYN, RST, unknown flows, unusual options, handshakes in progress -
 * goes to the control plane (ftoe_conn_slow_rx), which may re-inject it.
 */
unsigned ftoe_preproc(struct ftoe_engine *e, void *const frames[],
		      const uint16_t lens[], unsigned n, struct ftoe_rx_item *items)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++) {
		struct ftoe_rx_item *it = &items[k];
		struct ftoe_flow_key key;
		uint32_t id;

		e->st.rx_frames++;
		if (ftoe_seg_parse(frames[i], lens[i], 0, &it->seg)) {
			e->st.rx_malformed++;
			continue;
		}
		it->frame = frames[i];
		if (it->seg.family != 4 || it->seg.ip_proto != FTOE_IPPROTO_TCP ||
		    it->seg.daddr4 != e->local_ip) {
			/* not for us (ARP/ICMP are the backend's) */
			e->st.rx_slow++;
			continue;
		}
		if (!ftoe_seg_fast_path(&it->seg)) {
			e->st.rx_slow++;
			ftoe_conn_slow_rx(e, it);
			continue;
		}
		ftoe_seg_flow_key(&it->seg, &key);
		if (ftoe_ft_lookup(&e->ft, &key, &id) ||
		    !tcp_state_synced(e->ctl[id].state)) {
			/* unknown flow (maybe a SYN-cookie ACK) or a handshake
			 * in progress */
			e->st.rx_slow++;
			ftoe_conn_slow_rx(e, it);
			continue;
		}
		e->st.rx_fast++;
		it->flow = id;
		it->res = 0;
		k++;
	}
	return k;
}
