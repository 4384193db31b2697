/* x86.c - the AF_XDP backend's interface to the daemon: open the interface, set up steering and queues, start and stop the scheduler. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>

#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

_Static_assert(X86_MAX_QUEUES == FTOE_STEER_MAX_QUEUES, "x86.h and steer_cfg.h disagree");

int x86_open(const struct x86_cfg *cfg, struct x86_backend **out)
{
	struct x86_backend *be = calloc(1, sizeof(*be));
	char owner[IF_NAMESIZE], ipstr[INET_ADDRSTRLEN];
	int err;

	*out = NULL;
	if (!be) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	be->cfg = *cfg;
	be->app.fd = -1;
	err = netdev_open(cfg->iface, &be->nd);
	if (err)
		goto fail;
	if (cfg->queues > be->nd.rx_queues) {
		pr_err("--queues %u: %s has only %u rx queue%s", cfg->queues, be->nd.name,
		       be->nd.rx_queues, be->nd.rx_queues == 1 ? "" : "s");
		err = -EINVAL;
		goto fail;
	}
	if (netdev_kernel_has_addr(cfg->ip_be, owner) > 0) {
		inet_ntop(AF_INET, &cfg->ip_be, ipstr, sizeof(ipstr));
		pr_err("%s is an address of the kernel's (on %s); the engine needs an address "
		       "of its own that the kernel does not have", ipstr, owner);
		err = -EADDRINUSE;
		goto fail;
	}
	if (cfg->prefix6_len && netdev_kernel_has_addr_af(AF_INET6, cfg->ip6, owner) > 0) {
		char ip6str[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, cfg->ip6, ip6str, sizeof(ip6str));
		pr_err("%s is an address of the kernel's (on %s); the engine needs an address "
		       "of its own that the kernel does not have", ip6str, owner);
		err = -EADDRINUSE;
		goto fail;
	}
	if (!be->nd.up)
		pr_warn("%s is down; nothing will arrive until 'ip link set %s up'", be->nd.name,
			be->nd.name);
	*out = be;
	return 0;
fail:
	free(be);
	return err;
}

const struct netdev *x86_netdev(const struct x86_backend *be)
{
	return &be->nd;
}

static void io_wake(void *ctx)
{
	struct x86_backend *be = ctx;

	if (be->fgp)
		fg_wake_proto(be);
	else if (be->pipe)
		pipe_wake_proto(be);
	else
		worker_wake(be);
}

int x86_setup(struct x86_backend *be, struct ftoe_io *io)
{
	int err;

	err = steer_load(&be->steer, be->cfg.ip_be, be->cfg.ip6);
	if (!err)
		err = steer_clear_stale(&be->nd, be->cfg.force);
	if (err)
		return err;
	be->queues = calloc(be->cfg.queues, sizeof(*be->queues));
	if (!be->queues) {
		pr_err("out of memory");
		return -ENOMEM;
	}
	while (be->nr_queues < be->cfg.queues) {
		struct xsk_queue *q = &be->queues[be->nr_queues];

		err = xq_create(q, be->nd.name, be->nr_queues, be->cfg.hooks);
		if (err)
			return err;
		be->nr_queues++;
		err = xsk_socket__update_xskmap(q->xsk, be->steer.xsks_fd);
		if (err) {
			pr_err("queue %u: cannot insert the AF_XDP socket into the XSKMAP: %s",
			       q->id, strerror(-err));
			return err;
		}
	}
	err = control_init(be);
	if (err)
		return err;
	memset(io, 0, sizeof(*io));
	control_io_init(be, io);
	io->wake = io_wake;
	/* One thread runs the engine whatever --workers says (the PROTO
	 * thread of pipe.c when N > 1): the engine needs no lock. */
	if (be->cfg.workers > 1 && be->cfg.flow_groups)
		fg_io_init(be, io);	/* (the protocol threads take the engine's lock) */
	else if (be->cfg.workers > 1)
		pipe_io_init(be, io);
	return 0;
}

int x86_start(struct x86_backend *be, struct ftoe_engine *eng, const struct x86_poller *app)
{
	int err;

	be->eng = eng;
	if (app)
		be->app = *app;
	err = steer_attach(&be->steer, &be->nd);
	if (err)
		return err;
	/* --workers N > 1: the stages on their own threads (pipe.c). */
	err = be->cfg.workers == 1 ? worker_start(be) :
	      be->cfg.flow_groups ? fg_start(be) : pipe_start(be);
	if (err)
		return err;
	control_announce(be);
	return 0;
}

void x86_stop(struct x86_backend *be)
{
	if (!be)
		return;
	/* Stop steering first, so nothing more arrives for sockets about to
	 * close, then stop the threads before their queues go away. */
	steer_detach(&be->steer, &be->nd);
	fg_stop(be);
	pipe_stop(be);
	worker_stop(be);
}

void x86_log_stats(struct x86_backend *be)
{
	uint64_t steer[FTOE_STEER__MAX];

	for (unsigned int i = 0; i < be->nr_queues; i++) {
		const struct xq_stats *s = &be->queues[i].st;

		pr_info("queue %u: rx %lu (tcp %lu arp %lu icmp %lu other %lu runt %lu) "
			"tx %lu (ring full %lu, kicks %lu)", i, s->rx_frames, s->rx_tcp, s->rx_arp,
			s->rx_icmp, s->rx_other, s->rx_runt, s->tx_frames, s->tx_full, s->kicks);
		xq_log_kernel_stats(&be->queues[i]);
		if (be->cfg.hooks)
			pr_info("queue %u: rx-pre drop %lu tx %lu redirect %lu (sent %lu, to the "
				"engine %lu, over the MTU %lu) too big %lu; tx-post drop %lu", i,
				s->rx_hook_drop, s->rx_hook_tx, s->rx_hook_redirect,
				s->rx_hook_redirect_tx, s->rx_hook_redirect_cpu,
				s->rx_hook_redirect_too_big, s->rx_hook_too_big, s->tx_hook_drop);
	}
	control_log_stats(be);
	fg_log_stats(be);
	if (be->steer.obj) {
		steer_read_stats(&be->steer, steer);
		pr_info("steering: tcp %lu arp %lu icmp %lu ipv6 %lu icmpv6 %lu to the engine; "
			"%lu passed to the kernel", steer[FTOE_STEER_TCP], steer[FTOE_STEER_ARP],
			steer[FTOE_STEER_ICMP], steer[FTOE_STEER_TCP6], steer[FTOE_STEER_ICMP6],
			steer[FTOE_STEER_PASS]);
	}
}

unsigned int x86_nr_queues(const struct x86_backend *be)
{
	return be->nr_queues;
}

struct x86_thread_time *x86_thread_time_start(struct x86_backend *be, const char *name)
{
	unsigned int i = atomic_fetch_add(&be->nthr, 1);
	struct x86_thread_time *tt;

	if (i >= X86_THREADS_MAX) {
		atomic_store(&be->nthr, X86_THREADS_MAX);
		pr_warn("%s: no slot left for its utilisation figures", name);
		return NULL;
	}
	tt = &be->thr[i];
	snprintf(tt->name, sizeof(tt->name), "%s", name);
	__atomic_store_n(&tt->start_ns, x86_now_ns(), __ATOMIC_RELEASE);
	return tt;
}

unsigned int x86_nr_threads(const struct x86_backend *be)
{
	unsigned int n = atomic_load(&be->nthr);

	return n < X86_THREADS_MAX ? n : X86_THREADS_MAX;
}

int x86_thread_stats(const struct x86_backend *be, unsigned int i, struct x86_thread_stats *out)
{
	const struct x86_thread_time *tt;
	uint64_t start, since, idle, sleeps, now;
	uint32_t s1, s2;

	if (i >= x86_nr_threads(be))
		return -ERANGE;
	tt = &be->thr[i];
	memset(out, 0, sizeof(*out));
	start = __atomic_load_n(&tt->start_ns, __ATOMIC_ACQUIRE);
	if (!start)
		return 0;	/* claimed, not named yet: nothing to show */
	snprintf(out->name, sizeof(out->name), "%s", tt->name);
	do {
		s1 = atomic_load_explicit(&tt->seq, memory_order_acquire);
		since = __atomic_load_n(&tt->blocked_since, __ATOMIC_RELAXED);
		idle = __atomic_load_n(&tt->idle_ns, __ATOMIC_RELAXED);
		sleeps = __atomic_load_n(&tt->sleeps, __ATOMIC_RELAXED);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&tt->seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
	now = x86_now_ns();
	if (since && now > since)
		idle += now - since;	/* blocked right now: count it so far */
	out->wall_ns = now - start;
	out->idle_ns = idle < out->wall_ns ? idle : out->wall_ns;
	out->sleeps = sleeps;
	return 0;
}

int x86_queue_stats(const struct x86_backend *be, unsigned int i, struct x86_queue_stats *out)
{
	const struct xsk_queue *q;
	struct xdp_statistics xs;
	socklen_t len = sizeof(xs);

	if (i >= be->nr_queues)
		return -ERANGE;
	q = &be->queues[i];
	memset(out, 0, sizeof(*out));
	out->queue = q->id;
	/* Plain 64-bit loads of counters their threads keep: each is whole,
	 * the set is not one instant (as /proc/net/snmp). */
	out->rx_frames = __atomic_load_n(&q->st.rx_frames, __ATOMIC_RELAXED);
	out->rx_bursts = __atomic_load_n(&q->st.rx_bursts, __ATOMIC_RELAXED);
	out->tx_frames = __atomic_load_n(&q->st.tx_frames, __ATOMIC_RELAXED);
	out->tx_ring_full = __atomic_load_n(&q->st.tx_full, __ATOMIC_RELAXED);
	out->tx_kicks = __atomic_load_n(&q->st.kicks, __ATOMIC_RELAXED);
	out->rx_arp = __atomic_load_n(&q->st.rx_arp, __ATOMIC_RELAXED);
	out->rx_icmp = __atomic_load_n(&q->st.rx_icmp, __ATOMIC_RELAXED);
	out->rx_runt = __atomic_load_n(&q->st.rx_runt, __ATOMIC_RELAXED);
	out->rx_other = __atomic_load_n(&q->st.rx_other, __ATOMIC_RELAXED);
	out->rx_hook_drop = __atomic_load_n(&q->st.rx_hook_drop, __ATOMIC_RELAXED);
	out->rx_hook_redirect = __atomic_load_n(&q->st.rx_hook_redirect, __ATOMIC_RELAXED);
	out->rx_hook_too_big = __atomic_load_n(&q->st.rx_hook_too_big, __ATOMIC_RELAXED);
	out->rx_hook_tx = __atomic_load_n(&q->st.rx_hook_tx, __ATOMIC_RELAXED);
	out->rx_hook_redirect_tx = __atomic_load_n(&q->st.rx_hook_redirect_tx, __ATOMIC_RELAXED);
	out->rx_hook_redirect_cpu = __atomic_load_n(&q->st.rx_hook_redirect_cpu, __ATOMIC_RELAXED);
	out->rx_hook_redirect_too_big = __atomic_load_n(&q->st.rx_hook_redirect_too_big,
							 __ATOMIC_RELAXED);
	out->tx_too_big = __atomic_load_n(&q->st.tx_too_big, __ATOMIC_RELAXED);
	out->tx_hook_drop = __atomic_load_n(&q->st.tx_hook_drop, __ATOMIC_RELAXED);
	if (q->xsk && !getsockopt(xsk_socket__fd(q->xsk), SOL_XDP, XDP_STATISTICS, &xs, &len)) {
		out->xdp_stats = true;
		out->rx_dropped = xs.rx_dropped;
		out->rx_invalid_descs = xs.rx_invalid_descs;
		out->tx_invalid_descs = xs.tx_invalid_descs;
		/* the three below came with Linux 5.9; older kernels give a shorter struct */
		if (len >= sizeof(xs)) {
			out->rx_ring_full = xs.rx_ring_full;
			out->rx_fill_ring_empty_descs = xs.rx_fill_ring_empty_descs;
			out->tx_ring_empty_descs = xs.tx_ring_empty_descs;
		}
	}
	return 0;
}

void x86_close(struct x86_backend *be)
{
	if (!be)
		return;
	x86_stop(be);
	control_fini(be);
	for (unsigned int i = 0; i < be->nr_queues; i++)
		xq_destroy(&be->queues[i]);
	free(be->queues);
	steer_unload(&be->steer);
	free(be);
}
