/* main.c - the flextoe engine daemon: set up the interface, steering, AF_XDP queues and workers; tear down on a signal. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/x86/app.h"
#include "core/x86/backend.h"
#include "lib/util/log.h"

static int libbpf_verbosity;

/* libbpf's own messages: warnings with -v, everything with -vv. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if ((int)level > libbpf_verbosity)
		return 0;
	ftoe_vlog(level == LIBBPF_WARN ? FTOE_LOG_WARN : FTOE_LOG_DEBUG, fmt, ap);
	return 0;
}

static void dump_stats(struct backend *be)
{
	uint64_t steer[FTOE_STEER__MAX];
	struct ftoe_engine_stats es;

	for (unsigned int i = 0; i < be->nr_queues; i++) {
		const struct xq_stats *s = &be->queues[i].st;

		pr_info("queue %u: rx %lu (tcp %lu arp %lu icmp %lu other %lu runt %lu) "
			"tx %lu (ring full %lu, kicks %lu)", i, s->rx_frames, s->rx_tcp, s->rx_arp,
			s->rx_icmp, s->rx_other, s->rx_runt, s->tx_frames, s->tx_full, s->kicks);
		if (be->hooks)
			pr_info("queue %u: rx-pre drop %lu tx %lu redirect %lu too big %lu; "
				"tx-post drop %lu", i, s->rx_hook_drop, s->rx_hook_tx,
				s->rx_hook_redirect, s->rx_hook_too_big, s->tx_hook_drop);
	}
	if (!be->arp.ops.xmit)
		goto no_ctl; /* control plane not set up yet */
	pthread_mutex_lock(&be->ctl_lock);
	pr_info("arp: rx %lu malformed %lu conflicts %lu; sent %lu replies %lu requests; "
		"resolved %lu timeouts %lu", be->arp.stats.rx, be->arp.stats.rx_malformed,
		be->arp.stats.rx_conflict, be->arp.stats.replies_sent, be->arp.stats.requests_sent,
		be->arp.stats.resolved, be->arp.stats.timeouts);
	pr_info("icmp: rx %lu echo replies %lu; dropped: truncated %lu bad checksum %lu "
		"fragments %lu not echo %lu", be->icmp.stats.rx, be->icmp.stats.echo_replies,
		be->icmp.stats.truncated, be->icmp.stats.bad_csum, be->icmp.stats.fragments,
		be->icmp.stats.not_echo);
	pthread_mutex_unlock(&be->ctl_lock);
no_ctl:
	if (be->steer.obj) {
		steer_read_stats(&be->steer, steer);
		pr_info("steering: tcp %lu arp %lu icmp %lu to the engine; %lu passed to the kernel",
			steer[FTOE_STEER_TCP], steer[FTOE_STEER_ARP], steer[FTOE_STEER_ICMP],
			steer[FTOE_STEER_PASS]);
	}
	if (be->hooks) {
		for (int k = FTOE_HOOK_FIRST; k < FTOE_HOOK_NR; k++) {
			uint64_t c[FTOE_HOOK_NR_COUNTERS];

			ftoe_hooks_counters(be->hooks, (enum flextoe_hook)k, c);
			pr_info("hook %s: aborted %lu drop %lu pass %lu tx %lu redirect %lu invalid %lu",
				ftoe_hook_name((enum flextoe_hook)k), c[0], c[1], c[2], c[3], c[4], c[5]);
		}
	}
	if (be->eng) {
		ftoe_engine_get_stats(be->eng, &es);
		pr_info("engine: rx %lu (malformed %lu) tx %lu", es.rx_frames, es.rx_malformed,
			es.tx_frames);
		/* loss recovery at a glance: what impaired-link tests look at */
		pr_info("engine tcp: rx ooo %lu dup %lu out-of-window %lu; retransmits %lu "
			"(fast %lu) timeouts %lu; connections reset %lu timed out %lu",
			es.rx_ooo, es.rx_dup, es.rx_out_of_window, es.retransmits,
			es.fast_retransmits, es.timeouts, es.conn_reset, es.conn_timeout);
		if (es.splice_late_tx)
			pr_info("splice: %lu segments relayed late (in flight between threads "
				"when their splice began)", es.splice_late_tx);
	}
}

static int create_engine(struct backend *be)
{
	struct ftoe_engine_cfg cfg = {
		.ip_be = be->opts.ip_be,
		.prefix_len = be->opts.prefix_len,
		.gateway_be = be->opts.gateway_be,
		.mtu = be->nd.mtu,
		.max_flows = be->opts.max_flows,
		.nr_queues = be->nr_queues,
		.cc = be->opts.cc,
		.cc_param = be->opts.cc_param,
		.rto_retries = be->opts.rto_retries,
		.hooks = be->hooks,
		.flags = FTOE_ENG_F_RX_MD,	/* rx_pre() keeps the hook's flextoe_md in front */
	};
	int err;

	memcpy(cfg.mac, be->nd.mac, 6);
	/* ISN / SYN-cookie key: fresh per start (RFC 6528). */
	if (getrandom(cfg.secret, sizeof(cfg.secret), 0) != sizeof(cfg.secret)) {
		err = -errno;
		pr_err("getrandom: %s", strerror(errno));
		return err;
	}
	err = ftoe_engine_create(&cfg, &be->io, &be->eng);
	if (err) {
		be->eng = NULL;
		pr_err("cannot create the TCP engine (max flows %u): %s", cfg.max_flows,
		       strerror(-err));
	}
	return err;
}

/* Wait for SIGINT/SIGTERM/SIGHUP; SIGUSR1 logs the counters. */
static void wait_for_signal(struct backend *be, int sfd)
{
	struct signalfd_siginfo si;

	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(si)) {
			pr_err("signalfd: %s", n < 0 ? strerror(errno) : "short read");
			return;
		}
		if (si.ssi_signo == SIGCHLD) {
			loaderd_reap(be);
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			enum ftoe_log_level lvl = ftoe_log_get_level();

			if (lvl < FTOE_LOG_INFO)
				ftoe_log_set_level(FTOE_LOG_INFO);
			dump_stats(be);
			ftoe_log_set_level(lvl);
			continue;
		}
		pr_info("signal %u (%s): stopping", si.ssi_signo, strsignal((int)si.ssi_signo));
		return;
	}
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct backend *be;
	char owner[IF_NAMESIZE], ipstr[INET_ADDRSTRLEN];
	sigset_t sigs;
	int lock_fd = -1, sfd = -1, err, rc = FTOE_EXIT_RUNTIME;
	unsigned int nq_made = 0;

	ftoe_log_set_prefix("flextoe");
	be = calloc(1, sizeof(*be));
	if (!be) {
		pr_err("out of memory");
		return FTOE_EXIT_RUNTIME;
	}
	be->ctl_fd = be->ctl_stop_efd = -1;
	err = opts_parse(argc, argv, &be->opts);
	if (err) {
		free(be);
		return err > 0 ? 0 : FTOE_EXIT_USAGE;
	}
	ftoe_log_set_level(be->opts.verbose >= 1 ? FTOE_LOG_DEBUG : FTOE_LOG_INFO);
	libbpf_verbosity = be->opts.verbose >= 2 ? LIBBPF_DEBUG :
			   be->opts.verbose == 1 ? LIBBPF_WARN : -1;
	libbpf_set_print(libbpf_print);
	inet_ntop(AF_INET, &be->opts.ip_be, ipstr, sizeof(ipstr));

	if (geteuid() != 0)
		pr_warn("not running as root: attaching XDP and AF_XDP sockets needs "
			"CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW");
	setrlimit(RLIMIT_MEMLOCK, &rl); /* umem pinning on older kernels */

	if (netdev_open(be->opts.iface, &be->nd))
		goto out;
	if (be->opts.queues > be->nd.rx_queues) {
		pr_err("--queues %u: %s has only %u rx queue%s", be->opts.queues, be->nd.name,
		       be->nd.rx_queues, be->nd.rx_queues == 1 ? "" : "s");
		goto out;
	}
	err = netdev_kernel_has_addr(be->opts.ip_be, owner);
	if (err > 0) {
		pr_err("%s is an address of the kernel's (on %s); the engine needs an address "
		       "of its own that the kernel does not have", ipstr, owner);
		goto out;
	}
	if (!be->nd.up)
		pr_warn("%s is down; nothing will arrive until 'ip link set %s up'", be->nd.name,
			be->nd.name);
	if (rundir_acquire(be->opts.run_dir, &lock_fd))
		goto out;

	/* Signals go to the signalfd only; worker threads inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGCHLD);	/* flextoe-loaderd */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		goto out;
	}

	if (steer_load(&be->steer, be->opts.ip_be))
		goto out;
	if (steer_clear_stale(&be->nd, be->opts.force))
		goto out;

	be->nr_queues = be->opts.queues;
	be->queues = calloc(be->nr_queues, sizeof(*be->queues));
	if (!be->queues) {
		pr_err("out of memory");
		goto out;
	}
	for (; nq_made < be->nr_queues; nq_made++) {
		struct xsk_queue *q = &be->queues[nq_made];

		if (xq_create(q, be->nd.name, nq_made))
			goto out;
		err = xsk_socket__update_xskmap(q->xsk, be->steer.xsks_fd);
		if (err) {
			pr_err("queue %u: cannot insert the AF_XDP socket into the XSKMAP: %s",
			       nq_made, strerror(-err));
			nq_made++;
			goto out;
		}
	}

	if (control_init(be))
		goto out;
	control_io_init(be);
	/* One thread runs the engine whatever --workers says (the PROTO
	 * thread of pipe.c when N > 1): no lock around it. */
	be->eng_locked = false;
	if (be->opts.workers > 1)
		pipe_io_init(be);
	pthread_mutex_init(&be->eng_lock, NULL);
	if (hx_init(be))
		goto out;
	if (create_engine(be))
		goto out;
	if (steer_attach(&be->steer, &be->nd))
		goto out;
	if (app_server_start(be))
		goto out;
	if (workers_start(be))
		goto out;
	control_announce(be);
	/* The control socket, then loaderd, which connects to it. */
	if (ctl_start(be))
		goto out;
	loaderd_spawn(be, argv[0]);
	pr_info("ready: %s on %s (%02x:%02x:%02x:%02x:%02x:%02x, mtu %u), %u queue%s, "
		"%u worker%s, %s polling, congestion control %s, run dir %s", ipstr, be->nd.name, be->nd.mac[0],
		be->nd.mac[1], be->nd.mac[2], be->nd.mac[3], be->nd.mac[4], be->nd.mac[5],
		be->nd.mtu, be->nr_queues, be->nr_queues == 1 ? "" : "s", be->opts.workers,
		be->opts.workers == 1 ? "" : "s", be->opts.busy_poll ? "busy" : "adaptive",
		ftoe_cc_name(be->opts.cc), be->opts.run_dir);

	wait_for_signal(be, sfd);
	rc = 0;

out:
	/* Stop steering first, so nothing more arrives for sockets about to
	 * close, then stop the workers before their queues go away. */
	loaderd_stop(be);
	ctl_stop(be);
	steer_detach(&be->steer, &be->nd);
	workers_stop(be);
	app_server_stop(be);
	if (be->queues && nq_made)
		dump_stats(be);
	if (be->eng)
		ftoe_engine_destroy(be->eng);
	hx_fini(be);
	for (unsigned int i = 0; i < nq_made; i++)
		xq_destroy(&be->queues[i]);
	free(be->queues);
	steer_unload(&be->steer);
	if (sfd >= 0)
		close(sfd);
	rundir_release(be->opts.run_dir, lock_fd);
	free(be);
	return rc;
}
