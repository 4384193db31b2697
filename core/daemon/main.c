/* main.c - the flextoe engine daemon: open the backend, create the engine, serve applications and the control socket; tear down on a signal. */
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
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "core/daemon/app.h"
#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
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

static void dump_stats(struct daemon *d)
{
	struct ftoe_engine_stats es;

	x86_log_stats(d->x86);
	if (d->hooks) {
		for (int k = FTOE_HOOK_FIRST; k < FTOE_HOOK_NR; k++) {
			uint64_t c[FTOE_HOOK_NR_COUNTERS];

			ftoe_hooks_counters(d->hooks, (enum flextoe_hook)k, c);
			pr_info("hook %s: aborted %lu drop %lu pass %lu tx %lu redirect %lu invalid %lu",
				ftoe_hook_name((enum flextoe_hook)k), c[0], c[1], c[2], c[3], c[4], c[5]);
		}
	}
	if (d->eng) {
		ftoe_engine_get_stats(d->eng, &es);
		pr_info("engine: rx %lu (malformed %lu, not ours %lu, bad ack %lu, flow closed %lu) "
			"tx %lu", es.rx_frames, es.rx_malformed, es.rx_not_ours, es.rx_bad_ack,
			es.rx_flow_closed, es.tx_frames);
		/* loss recovery at a glance: what impaired-link tests look at */
		pr_info("engine tcp: rx ooo %lu dup %lu out-of-window %lu paws %lu; retransmits %lu "
			"(fast %lu) timeouts %lu (after 3 SACKed %lu) tlp %lu undone %lu (dsack %lu); "
			"connections reset %lu timed out %lu",
			es.rx_ooo, es.rx_dup, es.rx_out_of_window, es.rx_paws_drop, es.retransmits,
			es.fast_retransmits, es.timeouts, es.timeouts_sacked, es.tlp_probes,
			es.spurious_undos, es.dsack_undos,
			es.conn_reset, es.conn_timeout);
		pr_info("engine ooo: %lu segments dropped with every out-of-order interval in use",
			es.rx_ooo_full);
		/* the sender's scoreboard (issue 12): what it had to forget, and
		 * what came back as data the receiver already had */
		pr_info("engine sack: d-sacks received %lu; scoreboard full %lu (%lu segments "
			"forgotten); resent by timeouts %lu",
			es.rx_dsacks, es.sack_full, es.sack_forgot_segs, es.rto_resends);
		/* hostile peers: what floods and scanners cost (docs/engine.md) */
		pr_info("engine peers: martian dropped %lu, listener drops %lu; syn cookies "
			"sent %lu ok %lu, syn table full %lu, half-open expired %lu, handshake "
			"acks dropped %lu, other-ISN acks %lu; time-wait entered %lu evicted %lu "
			"acks %lu (%lu rate-limited)",
			es.rx_martian, es.rx_listen_drop, es.syn_cookies_sent, es.syn_cookies_ok,
			es.syn_table_full, es.syn_expired, es.syn_ack_dropped, es.syn_rec_acks,
			es.tw_entered, es.tw_evicted, es.tw_acks, es.tw_acks_limited);
		if (es.rx_stale || es.flow_free_waits)
			pr_info("engine: %lu segments of flows freed after their protocol stage "
				"dropped (%lu placements wrote nothing); %lu frees waited for a "
				"placement in progress", es.rx_stale, es.rx_stale_place,
				es.flow_free_waits);
		if (es.splice_late_tx)
			pr_info("splice: %lu segments relayed late (in flight between threads "
				"when their splice began)", es.splice_late_tx);
	}
}

static int create_engine(struct daemon *d)
{
	const struct netdev *nd = x86_netdev(d->x86);
	struct ftoe_engine_cfg cfg = {
		.ip_be = d->opts.ip_be,
		.prefix_len = d->opts.prefix_len,
		.gateway_be = d->opts.gateway_be,
		.mtu = nd->mtu,
		.max_flows = d->opts.max_flows,
		.rx_buf_size = d->opts.buf_size,
		.tx_buf_size = d->opts.buf_size,
		.nr_queues = d->opts.queues,
		.cc = d->opts.cc,
		.cc_param = d->opts.cc_param,
		.rto_retries = d->opts.rto_retries,
		.ooo_intervals = d->opts.ooo_intervals,
		.syn_table_size = d->opts.syn_table,
		.tw_table_size = d->opts.tw_table,
		.syn_backlog = d->opts.syn_backlog,
		.hooks = d->hooks,
	};
	int err;

	memcpy(cfg.mac, nd->mac, 6);
	if (d->opts.has_ip6) {
		memcpy(cfg.ip6, d->opts.ip6, 16);
		cfg.prefix6_len = d->opts.prefix6_len;
	}
	/* ISN / SYN-cookie key: fresh per start (RFC 6528). */
	if (getrandom(cfg.secret, sizeof(cfg.secret), 0) != sizeof(cfg.secret)) {
		err = -errno;
		pr_err("getrandom: %s", strerror(errno));
		return err;
	}
	err = ftoe_engine_create(&cfg, &d->io, &d->eng);
	if (err) {
		d->eng = NULL;
		pr_err("cannot create the TCP engine (max flows %u): %s", cfg.max_flows,
		       strerror(-err));
	}
	return err;
}

/* systemd's readiness (Type=notify, sd_notify(3); a no-op without
 * $NOTIFY_SOCKET): ready once the sockets clients use are up, which for
 * flextoe-loaderd's loader.sock means waiting for the child we started
 * (up to 5 s; it may be restarted later, the engine does not need it). */
static void notify_ready(struct daemon *d, const char *status)
{
	char path[4200];
	struct stat st;

	snprintf(path, sizeof(path), "%s/loader.sock", d->opts.run_dir);
	for (int i = 0; d->loaderd_pid && i < 250 && stat(path, &st); i++)
		nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%ld", status, (long)getpid());
}

/* Wait for SIGINT/SIGTERM/SIGHUP; SIGUSR1 logs the counters. */
static void wait_for_signal(struct daemon *d, int sfd)
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
			loaderd_reap(d);
			continue;
		}
		if (si.ssi_signo == SIGUSR1) {
			enum ftoe_log_level lvl = ftoe_log_get_level();

			if (lvl < FTOE_LOG_INFO)
				ftoe_log_set_level(FTOE_LOG_INFO);
			dump_stats(d);
			ftoe_log_set_level(lvl);
			continue;
		}
		pr_info("signal %u (%s): stopping", si.ssi_signo, strsignal((int)si.ssi_signo));
		sd_notify(0, "STOPPING=1");
		return;
	}
}

/* Serve the applications on the backend's engine thread. */
static unsigned int app_poll(void *ctx, bool fd_ready)
{
	return app_server_poll(ctx, fd_ready);
}

static bool app_idle(void *ctx)
{
	return app_server_idle(ctx);
}

int main(int argc, char **argv)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct daemon *d;
	char ipstr[INET_ADDRSTRLEN + INET6_ADDRSTRLEN + 8];
	const struct netdev *nd;
	sigset_t sigs;
	int lock_fd = -1, sfd = -1, err, rc = FTOE_EXIT_RUNTIME;
	bool set_up = false;

	ftoe_log_set_prefix("flextoe");
	d = calloc(1, sizeof(*d));
	if (!d) {
		pr_err("out of memory");
		return FTOE_EXIT_RUNTIME;
	}
	d->ctl_fd = d->ctl_stop_efd = -1;
	err = opts_parse(argc, argv, &d->opts);
	if (err) {
		free(d);
		return err > 0 ? 0 : FTOE_EXIT_USAGE;
	}
	ftoe_log_set_level(d->opts.verbose >= 1 ? FTOE_LOG_DEBUG : FTOE_LOG_INFO);
	libbpf_verbosity = d->opts.verbose >= 2 ? LIBBPF_DEBUG :
			   d->opts.verbose == 1 ? LIBBPF_WARN : -1;
	libbpf_set_print(libbpf_print);
	inet_ntop(AF_INET, &d->opts.ip_be, ipstr, sizeof(ipstr));
	if (d->opts.has_ip6) {
		size_t n = strlen(ipstr);

		memcpy(ipstr + n, " and ", 6);
		inet_ntop(AF_INET6, d->opts.ip6, ipstr + n + 5, (socklen_t)(sizeof(ipstr) - n - 5));
	}

	if (geteuid() != 0)
		pr_warn("not running as root: attaching XDP and AF_XDP sockets needs "
			"CAP_NET_ADMIN, CAP_BPF and CAP_NET_RAW");
	setrlimit(RLIMIT_MEMLOCK, &rl); /* umem pinning on older kernels */

	/* The hooks first: the backend runs rx-pre and tx-post on them. */
	if (hx_init(d))
		goto out;
	{
		struct x86_cfg xcfg = {
			.iface = d->opts.iface,
			.ip_be = d->opts.ip_be,
			.prefix_len = d->opts.prefix_len,
			.gateway_be = d->opts.gateway_be,
			.queues = d->opts.queues,
			.workers = d->opts.workers,
			.flow_groups = d->opts.flow_groups,
			.busy_poll = d->opts.busy_poll,
			.force = d->opts.force,
			.hooks = d->hooks,
			.prefix6_len = d->opts.prefix6_len,
		};

		memcpy(xcfg.ip6, d->opts.ip6, 16);
		if (x86_open(&xcfg, &d->x86))
			goto out;
	}
	if (rundir_acquire(d->opts.run_dir, &lock_fd))
		goto out;

	/* Signals go to the signalfd only; the backend's threads inherit the mask. */
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

	if (x86_setup(d->x86, &d->io))
		goto out;
	set_up = true;
	if (create_engine(d))
		goto out;
	hx_set_host(d);
	if (app_server_start(d))
		goto out;
	{
		const struct x86_poller apps = {
			.ctx = d, .fd = app_server_fd(), .poll = app_poll,
			.idle = app_idle,
		};

		if (x86_start(d->x86, d->eng, &apps))
			goto out;
	}
	/* The control socket, then loaderd, which connects to it. */
	if (ctl_start(d))
		goto out;
	loaderd_spawn(d, argv[0]);
	nd = x86_netdev(d->x86);
	pr_info("ready: %s on %s (%02x:%02x:%02x:%02x:%02x:%02x, mtu %u), %u queue%s, "
		"%u worker%s, %s polling, congestion control %s, run dir %s", ipstr, nd->name, nd->mac[0],
		nd->mac[1], nd->mac[2], nd->mac[3], nd->mac[4], nd->mac[5],
		nd->mtu, d->opts.queues, d->opts.queues == 1 ? "" : "s", d->opts.workers,
		d->opts.workers == 1 ? "" : "s", d->opts.busy_poll ? "busy" : "adaptive",
		ftoe_cc_name(d->opts.cc), d->opts.run_dir);
	{
		char status[256];

		snprintf(status, sizeof(status), "serving %s on %s, run dir %s", ipstr, nd->name,
			 d->opts.run_dir);
		notify_ready(d, status);
	}

	wait_for_signal(d, sfd);
	rc = 0;

out:
	/* The backend stops steering first, so nothing more arrives for
	 * sockets about to close, then its threads before their queues go. */
	loaderd_stop(d);
	ctl_stop(d);
	x86_stop(d->x86);
	app_server_stop(d);
	if (set_up)
		dump_stats(d);
	if (d->eng)
		ftoe_engine_destroy(d->eng);
	x86_close(d->x86);
	hx_fini(d);
	if (sfd >= 0)
		close(sfd);
	rundir_release(d->opts.run_dir, lock_fd);
	free(d);
	return rc;
}
