/* sim_ctx.c - a simulated engine context for libflextoe-posix's unit tests (sim_ctx.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/lib/posix/sim_ctx.h"

static uint32_t cmd_tail, ev_head;

void sim_ctx_up(uint32_t max_socks, uint32_t buf)
{
	pthread_mutexattr_t ma;

	px_real_init();
	px_fdtab_init();
	memset(&px.ac, 0, sizeof(px.ac));
	appif_layout(max_socks, buf, &px.ac.l);
	px.ac.shm = mmap(NULL, px.ac.l.size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			 -1, 0);
	px.ac.efd_in = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	px.ac.efd_out = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	px.ac.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);	/* "the daemon": never readable */
	px.max_socks = max_socks;
	px.buf_size = buf;
	px.ip = htonl(0x0a000005);
	px.mask = htonl(0xffffff00);
	px.sh_size = sizeof(struct px_shared) + max_socks * sizeof(struct px_sock) +
		     (size_t)PX_PROCS * max_socks * sizeof(uint16_t);
	px.sh = mmap(NULL, px.sh_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	px.byproc = (uint16_t *)(px.sh->socks + max_socks);
	px.slot = 0;
	px.sh->procs[0] = (struct px_proc){ .pid = getpid(), .used = 1,
					    .start = px_proc_start(getpid()) };
	px.sfd = malloc(max_socks * sizeof(*px.sfd));
	for (uint32_t i = 0; i < max_socks; i++)
		px.sfd[i] = -1;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&px.sh->lock, &ma);
	px.pid = getpid();
	px.up = true;
	cmd_tail = ev_head = 0;
}

int sim_cmd_next(struct appif_cmd *c)
{
	return appif_ring_take(px.ac.shm, px.ac.l.cmd_ring, px.ac.l.cmd, px.ac.l.cmd_entries,
			       sizeof(*c), &cmd_tail, c);
}

void sim_post(uint16_t type, uint32_t handle, int32_t res, uint32_t a0, uint32_t a1)
{
	struct appif_ev ev = { .type = type, .handle = handle, .res = res, .arg0 = a0,
			       .arg1 = a1 };

	appif_ring_put(px.ac.shm, px.ac.l.ev_ring, px.ac.l.ev, px.ac.l.ev_entries, sizeof(ev),
		       &ev_head, &ev);
	px_efd_kick(px.ac.efd_out);
}

int sim_sock(uint32_t s, uint8_t kind)
{
	int fd = eventfd(0, EFD_NONBLOCK);

	px_lock();
	px_sock_install(s, (1u << 16) | s, kind);
	if (kind == PK_CONN)
		px_ssock(s)->flags = APPIF_SF_CONNECTED;
	px_fd_attach(fd, s);
	px_unlock();
	return fd;
}

void sim_rx(uint32_t s, const void *data, uint32_t n)
{
	struct appif_sock *ss = px_ssock(s);
	uint32_t head = ss->rx_head;

	for (uint32_t i = 0; i < n; i++)
		px_rxbuf(s)[(head + i) & (px.buf_size - 1)] = ((const uint8_t *)data)[i];
	STORE_REL(&ss->rx_head, head + n);
	sim_post(APPIF_EV_RX, px.sh->socks[s].handle, 0, 0, 0);
}
