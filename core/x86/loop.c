/* loop.c - the steps both schedulers share: a receive burst (rx-pre hook, classification) and the engine thread's pass. */
#include <errno.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/hooks.h"
#include "core/md_snapshot.h"
#include "core/segment.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

#define IPPROTO_ICMP_ 1
#define IPPROTO_ICMPV6_ 58

/* An rx-pre redirect the redirect op accepted: true when the frame goes
 * on as a received one (a cpumap slot: the engine's own path, in this
 * thread, whatever CPU the slot names - one engine, and the flow's state
 * belongs to the worker that received it); false when it is consumed:
 * taken (an xskmap slot: an application's raw-frame socket, which counts
 * its own drops), or sent back out of the port it came in on, once per
 * devmap target (every target is the engine's interface). */
static bool rx_pre_redirect(struct xsk_queue *q, const struct ftoe_hook_frame *hf)
{
	switch (hf->redirect_as) {
	case FTOE_REDIRECT_XMIT:
		for (unsigned int i = 0; i < hf->redirect_copies; i++)
			if (!xq_xmit_raw(q, hf->data, hf->len))
				q->st.rx_hook_redirect_tx++;
		return false;
	case FTOE_REDIRECT_STACK:
		q->st.rx_hook_redirect_cpu++;
		return true;
	default:
		return false;
	}
}

/* The rx-pre hook on one received frame (docs/design.md: ingress,
 * before validation; every frame the engine receives, ARP and ICMP
 * included).  Returns the frame's new length, or 0 when it is consumed
 * (dropped, aborted, sent back with XDP_TX, or redirected); *md gets the
 * programs' metadata, which travels with the frame to the engine and the
 * control plane. */
static uint32_t rx_pre(struct x86_backend *be, struct xsk_queue *q, uint8_t *f, uint32_t len,
		       uint32_t room, struct flextoe_md *md)
{
	static atomic_bool redirect_noted;
	struct ftoe_hook_frame hf = { .data = f, .len = len };
	uint32_t v;

	xq_md_init(&hf.md, FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	ftoe_md_frame_addrs(&hf.md, f, len);
	v = ftoe_hooks_run(be->cfg.hooks, FLEXTOE_HOOK_RX_PRE, &hf);
	switch (v) {
	case FTOE_XDP_PASS:
		break;
	case FTOE_XDP_TX:
		q->st.rx_hook_tx++;
		xq_xmit_raw(q, hf.data, hf.len);
		return 0;
	case FTOE_XDP_REDIRECT:
		q->st.rx_hook_redirect++;
		if (hf.redirect_err == -EOPNOTSUPP && !atomic_exchange(&redirect_noted, true))
			pr_warn("an rx-pre program redirected a frame to a target the engine does "
				"not have (XDP_REDIRECT without a redirect helper, or bpf_redirect "
				"to a device other than its interface): the engine has no redirect "
				"targets but its own interface, its own path and applications' "
				"raw-frame sockets; such frames are counted and dropped");
		if (hf.redirect_err == -EMSGSIZE)
			q->st.rx_hook_redirect_too_big++;
		if (hf.redirect_err || !rx_pre_redirect(q, &hf))
			return 0;
		break;
	default:		/* DROP, ABORTED */
		q->st.rx_hook_drop++;
		return 0;
	}
	if (hf.data != f) {
		/* The programs ran on the execution buffer: the result goes
		 * back into the umem frame, which the rest of the batch uses. */
		if (hf.len > room) {
			q->st.rx_hook_too_big++;
			return 0;
		}
		memcpy(f, hf.data, hf.len);
	}
	*md = hf.md;
	return hf.len;
}

/* IPv6 (the steering program let only the engine's through): ICMPv6 to
 * nd.c; TCP, and extension headers, to the engine, which drops and counts
 * the latter. */
static int rx_classify6(struct xsk_queue *q, const uint8_t *f, uint32_t len)
{
	if (len < FTOE_ETH_HLEN + 40) {
		q->st.rx_runt++;
		return -1;
	}
	if (f[FTOE_ETH_HLEN + 6] == IPPROTO_ICMPV6_) {
		q->st.rx_icmp++;
		return RX_ICMP6;
	}
	q->st.rx_tcp++;
	return RX_TCP;
}

/* Who takes the frame: RX_TCP, RX_ARP, RX_ICMP, RX_ICMP6, or -1 (counted, dropped). */
static int rx_classify(struct xsk_queue *q, const uint8_t *f, uint32_t len)
{
	uint16_t type;

	if (len < FTOE_ETH_HLEN) {
		q->st.rx_runt++;
		return -1;
	}
	type = ftoe_get_be16(f + 12);
	if (type == FTOE_ETH_P_ARP) {
		q->st.rx_arp++;
		return RX_ARP;
	}
	if (type == FTOE_ETH_P_IPV6)
		return rx_classify6(q, f, len);
	if (type != FTOE_ETH_P_IPV4) {
		q->st.rx_other++;
		return -1;
	}
	if (len < FTOE_ETH_HLEN + 20) {
		q->st.rx_runt++;
		return -1;
	}
	switch (f[FTOE_ETH_HLEN + 9]) {
	case FTOE_IPPROTO_TCP:
		q->st.rx_tcp++;
		return RX_TCP;
	case IPPROTO_ICMP_:
		q->st.rx_icmp++;
		return RX_ICMP;
	default:
		q->st.rx_other++;
		return -1;
	}
}

unsigned int rx_burst(struct x86_backend *be, struct xsk_queue *q, unsigned int max,
		      struct rx_frame *out, unsigned int *nout)
{
	uint64_t back[XQ_BATCH];
	unsigned int n, nback = 0, nf = 0;
	uint32_t idx;

	*nout = 0;
	if (max > XQ_BATCH)
		max = XQ_BATCH;
	n = xq_rx_peek(q, max, &idx);
	if (!n)
		return 0;
	q->st.rx_bursts++;
	for (unsigned int i = 0; i < n; i++) {
		const struct xdp_desc *d = xq_rx_desc(q, idx + i);
		uint8_t *f = xsk_umem__get_data(q->area, d->addr);
		uint32_t room = XQ_FRAME_SIZE - (uint32_t)(d->addr & (XQ_FRAME_SIZE - 1));
		uint32_t len = d->len;
		int kind;

		q->st.rx_frames++;
		out[nf].has_md = ftoe_hooks_active(be->cfg.hooks, FLEXTOE_HOOK_RX_PRE);
		if (out[nf].has_md) {
			len = rx_pre(be, q, f, len, room, &out[nf].md);
			if (!len)
				goto back;
		}
		kind = rx_classify(q, f, len);
		if (kind < 0)
			goto back;
		out[nf].data = f;
		out[nf].addr = xq_frame_base(d->addr);
		out[nf].len = (uint16_t)len;
		out[nf++].kind = (uint8_t)kind;
		continue;
back:
		back[nback++] = xq_frame_base(d->addr);
	}
	xq_rx_release(q, n);
	xq_fill(q, back, nback);
	*nout = nf;
	return n;
}

unsigned int engine_pass(struct x86_backend *be, uint64_t *next)
{
	unsigned int work = 0;
	uint64_t t;

	/* The engine keeps one set of timers and one scheduler for all
	 * queues (its q argument is not used), so one poll serves them all. */
	*next = ftoe_engine_poll(be->eng, be->queues[0].id);
	if (be->app.poll)
		work = be->app.poll(be->app.ctx, be->app_fd_ready);
	be->app_fd_ready = false;
	t = control_poll(be);
	if (t < *next)
		*next = t;
	return work;
}
