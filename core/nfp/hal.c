/* hal.c - the NFP model's CAM and work rings, with each access accounted as a memory command. */
#include <errno.h>

#include "core/nfp/hal.h"

struct nfp_acct *nfp_cur_acct;

/* (the rings account through this, not through nfp_mem_cmd, so no
 * accounting call nests in another: measure.sh toggles on each) */
static inline void acct(enum nfp_mem m, uint32_t bytes)
{
	struct nfp_acct *a = nfp_cur_acct;

	if (!a)
		return;
	a->cmds[m]++;
	a->bytes[m] += bytes;
	a->swaps++;
}

void nfp_mem_cmd(enum nfp_mem m, uint32_t bytes)
{
	acct(m, bytes);
}

bool nfp_cam_lookup(struct nfp_cam *cam, uint32_t tag, unsigned *slot)
{
	unsigned victim = 0, i;
	bool hit = false;

	/* the CAM is in the ME itself: no memory command */
	for (i = 0; i < cam->valid; i++)
		if (cam->tag[i] == tag) {
			hit = true;
			break;
		}
	if (!hit) {
		if (cam->valid < NFP_CAM_ENTRIES) {
			i = cam->valid++;
		} else {
			for (unsigned k = 1; k < NFP_CAM_ENTRIES; k++)
				if (cam->age[k] > cam->age[victim])
					victim = k;
			i = victim;
		}
		cam->tag[i] = tag;
		cam->age[i] = NFP_CAM_ENTRIES; /* older than every other, then reset below */
	}
	for (unsigned k = 0; k < cam->valid; k++)
		if (k != i && cam->age[k] < cam->age[i] && cam->age[k] < 255)
			cam->age[k]++;
	cam->age[i] = 0;
	*slot = i;
	return hit;
}

int nfp_ring_init(struct nfp_ring *r, uint32_t *slots, uint32_t n, enum nfp_mem mem)
{
	if (n < 2 || (n & (n - 1)))
		return -EINVAL;
	r->slot = slots;
	r->mask = n - 1;
	r->head = r->tail = 0;
	r->mem = mem;
	return 0;
}

int nfp_ring_put(struct nfp_ring *r, uint32_t v)
{
	acct(r->mem, 4);
	if (r->tail - r->head > r->mask)
		return -ENOSPC;
	r->slot[r->tail++ & r->mask] = v;
	return 0;
}

int nfp_ring_get(struct nfp_ring *r, uint32_t *v)
{
	acct(r->mem, 4);
	if (r->head == r->tail)
		return -ENOENT;
	*v = r->slot[r->head++ & r->mask];
	return 0;
}
