/* fuzz_segment.c - libFuzzer target: segment parsing/validation never crashes or overreads. */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/csum.h"
#include "core/ooo.h"
#include "core/segment.h"
#include "core/tcp_seq.h"

/*
 * The input is the frame itself, copied into a heap buffer of exactly its
 * size so AddressSanitizer flags any read past the end.  Each input is
 * parsed twice (checksums verified, and trusted as if the NIC had checked
 * them, which lets the fuzzer reach the TCP option parser without forging
 * checksums), and the summary is checked for internal consistency.  The
 * parsed sequence numbers then drive the out-of-order interval logic.
 */
static void check_summary(const struct ftoe_seg *seg, uint32_t len, int ret)
{
	if (ret) {
		assert(ret == -EINVAL);
		assert(seg->err > FTOE_SEG_OK && seg->err < FTOE_SEG_ERR__MAX);
		return;
	}
	assert(seg->err == FTOE_SEG_OK);
	if (seg->slow & (FTOE_SLOW_NOT_IP | FTOE_SLOW_NOT_TCP | FTOE_SLOW_FRAG))
		return;
	/* A parsed TCP segment: offsets ordered and inside the frame. */
	assert(seg->l3_off >= FTOE_ETH_HLEN);
	assert(seg->l4_off >= seg->l3_off + 20);
	assert(seg->payload_off >= seg->l4_off + 20);
	assert((uint32_t)seg->payload_off + seg->payload_len <= len);
	if (seg->opts & FTOE_OPT_SACK)
		assert(seg->sack_blocks >= 1 && seg->sack_blocks <= 4);
	if (ftoe_seg_fast_path(seg))
		assert(!(seg->tcp_flags & (FTOE_TCP_SYN | FTOE_TCP_RST | FTOE_TCP_URG)) &&
		       (seg->tcp_flags & FTOE_TCP_ACK) && seg->family == 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftoe_seg seg;
	uint8_t *frame;
	int ret;

	if (size > 0xffff + 16)
		return 0;
	frame = malloc(size ? size : 1);
	if (!frame)
		return 0;
	memcpy(frame, data, size);

	ret = ftoe_seg_parse(frame, (uint32_t)size, 0, &seg);
	check_summary(&seg, (uint32_t)size, ret);
	if (ret == 0 && !(seg.slow & (FTOE_SLOW_NOT_IP | FTOE_SLOW_NOT_TCP | FTOE_SLOW_FRAG))) {
		/* Verified checksums really verify. */
		uint32_t l4 = seg.payload_off + seg.payload_len - seg.l4_off;
		uint32_t ps = seg.family == 4 ?
			ftoe_csum_pseudo4(seg.saddr, seg.daddr, 6, (uint16_t)l4) :
			ftoe_csum_pseudo6(seg.saddr, seg.daddr, 6, l4);

		assert(ftoe_csum_finish(ftoe_csum_add(ps, frame + seg.l4_off, l4)) == 0);
	}

	ret = ftoe_seg_parse(frame, (uint32_t)size, FTOE_SEG_F_NO_CSUM, &seg);
	check_summary(&seg, (uint32_t)size, ret);

	if (ret == 0 && size >= 58) {
		/* Interval logic on fuzzer-chosen numbers: invariants only. */
		uint32_t nxt = seg.ack, wnd = wscale_window(seg.win, seg.wscale);
		uint32_t len0 = seg.ts_ecr % (wnd + 1);
		struct ftoe_ooo iv = { .iv = { { seg.ts_val, seg.ts_val + len0 } }, .n = 1 };
		struct ftoe_ooo_more more = { { { 0, 0 } } };
		struct ftoe_ooo_result r;

		if (!len0 || !seq_after(seg.ts_val, nxt) || seq_after(seg.ts_val + len0, nxt + wnd))
			iv.n = 0;
		ftoe_ooo_rx(&nxt, wnd, &iv, &more, FTOE_OOO_IV_MAX, seg.seq, seg.payload_len, &r);
		assert(r.copy_len <= seg.payload_len);
		assert(r.trim_head + r.copy_len <= seg.payload_len || r.copy_len == 0);
		for (unsigned i = 0; i < iv.n; i++)
			assert(seq_after(iv.iv[i].start, nxt) &&
			       seq_after(iv.iv[i].end, iv.iv[i].start));
	}
	free(frame);
	return 0;
}
