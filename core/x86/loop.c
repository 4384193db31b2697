/* loop.c - receiving a frame: the rx-pre hook, or the mark that it has no metadata. */
#include <string.h>

#include "core/hooks.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

/* The rx-pre hook on one received frame (DESIGN.md section 4: ingress,
 * before validation; every frame the engine receives, ARP and ICMP
 * included).  Returns the frame's new length, or 0 when it is consumed
 * (dropped, aborted, sent back with XDP_TX, or redirected). */
uint32_t rx_pre(struct x86_backend *be, struct xsk_queue *q, uint8_t *f, uint32_t len,
		uint32_t room)
{
	static atomic_bool redirect_noted;
	struct ftoe_hook_frame hf = { .data = f, .len = len };
	uint32_t v;

	xq_md_init(&hf.md, FLEXTOE_HOOK_RX_PRE, FLEXTOE_DIR_RX);
	v = ftoe_hooks_run(be->cfg.hooks, FLEXTOE_HOOK_RX_PRE, &hf);
	switch (v) {
	case FTOE_XDP_PASS:
		break;
	case FTOE_XDP_TX:
		q->st.rx_hook_tx++;
		xq_xmit_raw(q, hf.data, hf.len);
		return 0;
	case FTOE_XDP_REDIRECT:
		/* No redirect targets in this backend (no devmap/cpumap/xskmap
		 * of the engine's): counted and dropped. */
		q->st.rx_hook_redirect++;
		if (!atomic_exchange(&redirect_noted, true))
			pr_warn("an rx-pre program returned XDP_REDIRECT: the x86 backend has no "
				"redirect targets; such frames are counted and dropped");
		return 0;
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
	/* The programs' metadata (classify's app_ctx) for the control plane:
	 * in the umem headroom right in front of the frame (FTOE_ENG_F_RX_MD). */
	if (XQ_FRAME_SIZE - room >= sizeof(hf.md))
		memcpy(f - sizeof(hf.md), &hf.md, sizeof(hf.md));
	return hf.len;
}

/* A frame that did not pass the rx-pre hook: no metadata in front of it.
 * The umem frame may hold an md of its previous use, which the control
 * plane must not take for this frame's (FTOE_ENG_F_RX_MD). */
void rx_md_clear(uint8_t *f, uint32_t room)
{
	static const uint16_t none;	/* struct flextoe_md.size 0 */

	if (XQ_FRAME_SIZE - room >= sizeof(struct flextoe_md))
		memcpy(f - sizeof(struct flextoe_md), &none, sizeof(none));
}

