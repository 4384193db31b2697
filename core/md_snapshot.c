/* md_snapshot.c - fills struct flextoe_md with a flow's TCP state for the hooks (rx-post, tx-post). */
#include <errno.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/md_snapshot.h"
#include "core/segment.h"

/* The flow's addresses as the segment carries them (include/flextoe/bpf.h:
 * IPv4 as ::ffff:a.b.c.d): received, the peer's is the source. */
static void md_addrs(const struct flow_conn *fc, struct flextoe_md *md)
{
	uint8_t *local = md->dir == FLEXTOE_DIR_TX ? md->saddr : md->daddr;
	uint8_t *remote = md->dir == FLEXTOE_DIR_TX ? md->daddr : md->saddr;

	flow_addr16(fc->local_hi, fc->local_ip, local);
	flow_addr16(fc->remote_hi, fc->remote_ip, remote);
	md->ip_version = 4;
	if (fc->flags & FLOW_CONN_IPV6) {
		md->ip_version = 6;
		md->flags |= FLEXTOE_MDF_IPV6;
	}
}

void ftoe_md_frame_addrs(struct flextoe_md *md, const void *frame, uint32_t len)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	const uint8_t *f = frame;
	uint32_t off = 12;
	uint16_t type;

	for (int tags = 0; tags < 3; tags++) {
		if (len < off + 2)
			return;
		type = (uint16_t)(f[off] << 8 | f[off + 1]);
		if (type != FTOE_ETH_P_8021Q && type != FTOE_ETH_P_8021AD)
			break;
		off += 4;
	}
	off += 2;
	if (type == FTOE_ETH_P_IPV4 && len >= off + 20 && f[off] >> 4 == 4) {
		memcpy(md->saddr, v4mapped, 12);
		memcpy(md->saddr + 12, f + off + 12, 4);
		memcpy(md->daddr, v4mapped, 12);
		memcpy(md->daddr + 12, f + off + 16, 4);
		md->ip_version = 4;
	} else if (type == FTOE_ETH_P_IPV6 && len >= off + 40 && f[off] >> 4 == 6) {
		memcpy(md->saddr, f + off + 8, 16);
		memcpy(md->daddr, f + off + 24, 16);
		md->ip_version = 6;
		md->flags |= FLEXTOE_MDF_IPV6;
	}
}

int ftoe_md_snapshot(const struct ftoe_engine *e, uint32_t id, enum flextoe_hook hook,
		     struct flextoe_md *md)
{
	const struct flow_tcp *t;
	const struct flow_cc *cc;

	memset(md, 0, sizeof(*md));
	md->size = sizeof(*md);
	md->version = FLEXTOE_MD_VERSION;
	md->hook = (uint8_t)hook;
	md->dir = hook == FLEXTOE_HOOK_TX_POST ? FLEXTOE_DIR_TX : FLEXTOE_DIR_RX;
	md->tstamp_ns = e->now;
	if (id >= e->nflows || !e->ctl[id].in_use)
		return -ENOENT;
	t = &e->tcp[id];
	cc = &e->cc[id];
	md->flags = FLEXTOE_MDF_FLOW;
	md_addrs(&e->conn[id], md);
	md->flow_id = id;
	md->snd_una = t->snd_una;
	md->snd_nxt = t->snd_nxt;
	md->rcv_nxt = t->rcv_nxt;
	md->snd_wnd = t->snd_wnd;
	md->rcv_wnd = t->rcv_wnd;
	/* DCTCP paces by rate (docs/design.md section 3); a window-based
	 * controller keeps cwnd in bytes (its rate only spreads the window). */
	if (cc->rate_kbps && !cc->cwnd) {
		md->cwnd = cc->rate_kbps;
		md->flags |= FLEXTOE_MDF_RATE;
	} else {
		md->cwnd = cc->cwnd;
	}
	md->srtt_us = cc->rtt_us;
	return 0;
}
