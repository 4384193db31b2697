/* xdp.c - XDP buffers below 2 GiB, so xdp_md's 32-bit pointers are real. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

#define XDP_FRAME_MAX	(64u * 1024)
#define ADDR_LIMIT	(1ull << 31)	/* data/data_end are u32 read as s32 too */

/* The struct and the frame share one mapping: the struct in the first
 * page, the frame from the second page on, so the frame starts page
 * aligned as a driver's frame does. */
static size_t buff_map_size(uint32_t frame_sz)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t ps = page > 0 ? (size_t)page : 4096;

	return ps + ((frame_sz + ps - 1) / ps) * ps;
}

int ebpf_xdp_buff_alloc(uint32_t frame_sz, struct ebpf_xdp_buff **out)
{
	struct ebpf_xdp_buff *x;
	size_t size;
	void *mem;
	long page = sysconf(_SC_PAGESIZE);

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!frame_sz || frame_sz > XDP_FRAME_MAX) {
		pr_warn("ebpf: XDP frame size %u out of range (1..%u)", frame_sz,
			XDP_FRAME_MAX);
		return -EINVAL;
	}
	size = buff_map_size(frame_sz);
	/* MAP_32BIT places the mapping in the low 2 GiB on x86-64 (the
	 * kernel picks from 0x40000000..0x80000000). */
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (mem == MAP_FAILED) {
		int err = -errno;

		pr_warn("ebpf: cannot map an XDP buffer below 2 GiB: %s",
			strerror(-err));
		return err;
	}
	if ((uint64_t)(uintptr_t)mem + size > ADDR_LIMIT) {
		munmap(mem, size);
		pr_warn("ebpf: XDP buffer mapped above 2 GiB (MAP_32BIT unsupported?)");
		return -ENOMEM;
	}
	x = mem;
	memset(x, 0, sizeof(*x));
	x->hard_start = (uint8_t *)mem + (page > 0 ? (size_t)page : 4096);
	x->frame_sz = frame_sz;
	/* The tailroom the kernel keeps for skb_shared_info, when the frame
	 * is large enough to afford it. */
	x->tailroom = frame_sz > 2 * EBPF_XDP_TEST_TAILROOM ? EBPF_XDP_TEST_TAILROOM : 0;
	x->md.data = x->md.data_end = x->md.data_meta =
		(uint32_t)(uintptr_t)(x->hard_start + (frame_sz > XDP_PACKET_HEADROOM * 2 ?
						       XDP_PACKET_HEADROOM : 0));
	*out = x;
	return 0;
}

void ebpf_xdp_buff_free(struct ebpf_xdp_buff *xdp)
{
	if (!xdp)
		return;
	munmap(xdp, buff_map_size(xdp->frame_sz));
}

int ebpf_xdp_buff_set(struct ebpf_xdp_buff *xdp, const void *data, size_t len,
		      uint32_t headroom)
{
	uint8_t *start;

	if (!xdp || (!data && len))
		return -EINVAL;
	if ((uint64_t)headroom + len + xdp->tailroom > xdp->frame_sz)
		return -EINVAL;
	start = xdp->hard_start + headroom;
	/* Headroom is zeroed: adjust_head/adjust_meta can expose it, and the
	 * kernel's test_run frames start zeroed.  The tail is zeroed by
	 * adjust_tail when it grows, as in the kernel. */
	if (len)
		memmove(start, data, len);
	memset(xdp->hard_start, 0, headroom);
	xdp->md.data = (uint32_t)(uintptr_t)start;
	xdp->md.data_meta = xdp->md.data;
	xdp->md.data_end = xdp->md.data + (uint32_t)len;
	xdp->redirect_ifindex = 0;
	xdp->redirect_flags = 0;
	xdp->redirect_map = NULL;
	xdp->redirect_key = 0;
	return 0;
}
