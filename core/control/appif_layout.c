/* appif_layout.c - where the parts of an application context lie in its shared memory (used by the engine and libflextoe). */
#include <errno.h>

#include "core/control/appif.h"

int appif_layout(uint32_t max_socks, uint32_t buf_size, struct appif_layout *l)
{
	size_t off;

	if (!max_socks || max_socks > APPIF_MAX_SOCKS || buf_size < APPIF_MIN_BUF ||
	    buf_size > APPIF_MAX_BUF || (buf_size & (buf_size - 1)))
		return -EINVAL;
	/* Rings: one command and up to a few events outstanding per socket;
	 * powers of two so positions wrap cleanly. */
	l->cmd_entries = 256;
	while (l->cmd_entries < 2 * max_socks)
		l->cmd_entries <<= 1;
	l->ev_entries = l->cmd_entries * 4;
	off = 4096;
	l->cmd_ring = off;
	off += sizeof(struct appif_ring);
	l->cmd = off;
	off += (size_t)l->cmd_entries * sizeof(struct appif_cmd);
	l->ev_ring = off;
	off += sizeof(struct appif_ring);
	l->ev = off;
	off += (size_t)l->ev_entries * sizeof(struct appif_ev);
	l->socks = off;
	off += (size_t)max_socks * sizeof(struct appif_sock);
	off = (off + 4095) & ~(size_t)4095;
	l->bufs = off;
	off += (size_t)max_socks * 2 * buf_size;
	l->size = off;
	return 0;
}
