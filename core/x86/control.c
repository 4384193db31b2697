/* control.c - ARP, ICMP and IPv6 ND/echo on the engine's addresses for this backend, and the engine's ftoe_io (xmit, clock, neighbours). */
#include <errno.h>
#include <string.h>

#include "core/control/rx_md.h"
#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

#define ANNOUNCE_AGAIN_NS 2000000000ull  /* RFC 5227 2.3: a second announcement 2 s later */
#define CTL_POLL_MAX_NS   100000000ull   /* ARP timers run at least every 100 ms */
#define MAX_RESOLVED 16

/* ARP and ICMP frames leave on queue 0: the one thread that receives
 * them (the worker, or an ingress thread of the pipeline) serves it or
 * takes its tx_lock as anyone else does. */
static struct xsk_queue *ctl_queue(struct x86_backend *be)
{
	return &be->queues[0];
}

/* Addresses resolved inside ftoe_arp_rx are collected here and handed to
 * the engine after ctl_lock is dropped: the engine may call neigh_lookup
 * from ftoe_engine_neigh_ready, which takes ctl_lock again. */
static __thread uint32_t resolved_ips[MAX_RESOLVED];
static __thread unsigned int nr_resolved;

static int arp_xmit(void *ctx, const void *frame, size_t len)
{
	struct x86_backend *be = ctx;

	return xq_xmit(ctl_queue(be), frame, len);
}

static void arp_resolved(void *ctx, uint32_t ip_be)
{
	(void)ctx;
	if (nr_resolved < MAX_RESOLVED)
		resolved_ips[nr_resolved++] = ip_be;
}

static void notify_resolved(struct x86_backend *be)
{
	unsigned int n = nr_resolved;

	nr_resolved = 0;
	if (!n || !be->eng)
		return;
	for (unsigned int i = 0; i < n; i++)
		ftoe_engine_neigh_ready(be->eng, resolved_ips[i]);
}

/* IPv6 addresses nd.c resolved, handed over as resolved_ips are. */
static __thread uint8_t resolved6[MAX_RESOLVED][16];
static __thread unsigned int nr_resolved6;

static void nd_resolved(void *ctx, const uint8_t ip6[16])
{
	(void)ctx;
	if (nr_resolved6 < MAX_RESOLVED)
		memcpy(resolved6[nr_resolved6++], ip6, 16);
}

static void notify_resolved6(struct x86_backend *be)
{
	unsigned int n = nr_resolved6;

	nr_resolved6 = 0;
	if (!n || !be->eng)
		return;
	for (unsigned int i = 0; i < n; i++)
		ftoe_engine_neigh6_ready(be->eng, resolved6[i]);
}

static int icmp_xmit(void *ctx, const void *frame, size_t len)
{
	struct x86_backend *be = ctx;

	return xq_xmit(ctl_queue(be), frame, len);
}

int control_init(struct x86_backend *be)
{
	struct ftoe_arp_cfg acfg = {
		.ip_be = be->cfg.ip_be,
		.prefix_len = be->cfg.prefix_len,
		.gateway_be = be->cfg.gateway_be,
	};
	struct ftoe_arp_ops aops = { .ctx = be, .xmit = arp_xmit, .resolved = arp_resolved };
	struct ftoe_icmp_cfg icfg = { .ip_be = be->cfg.ip_be };
	struct ftoe_icmp_ops iops = { .ctx = be, .xmit = icmp_xmit };
	int err;

	pthread_mutex_init(&be->ctl_lock, NULL);
	memcpy(acfg.mac, be->nd.mac, 6);
	memcpy(icfg.mac, be->nd.mac, 6);
	err = ftoe_arp_init(&be->arp, &acfg, &aops);
	if (!err)
		err = ftoe_icmp_init(&be->icmp, &icfg, &iops);
	if (!err && be->cfg.prefix6_len) {
		struct ftoe_nd_cfg ncfg = { .prefix_len = be->cfg.prefix6_len };
		struct ftoe_nd_ops nops = { .ctx = be, .xmit = icmp_xmit, .resolved = nd_resolved };

		memcpy(ncfg.ip6, be->cfg.ip6, 16);
		memcpy(ncfg.mac, be->nd.mac, 6);
		err = ftoe_nd_init(&be->nd6, &ncfg, &nops);
		be->has_ip6 = !err;
	}
	if (err) {
		pr_err("%s: cannot set up ARP/ICMP (MAC %02x:%02x:%02x:%02x:%02x:%02x): %s",
		       be->nd.name, be->nd.mac[0], be->nd.mac[1], be->nd.mac[2], be->nd.mac[3],
		       be->nd.mac[4], be->nd.mac[5], strerror(-err));
		pthread_mutex_destroy(&be->ctl_lock);
		return err;
	}
	be->ctl_ready = true;
	return 0;
}

void control_fini(struct x86_backend *be)
{
	if (!be->ctl_ready)
		return;
	be->ctl_ready = false;
	pthread_mutex_destroy(&be->ctl_lock);
}

/* The tags vlan_strip popped, from the frame's rx-pre record: a tagged
 * request gets a tagged reply. */
static void frame_vlan(const struct flextoe_md *md, struct ftoe_vlan *vlan)
{
	if (md)
		ftoe_vlan_from_md(md, vlan);
	else
		memset(vlan, 0, sizeof(*vlan));
}

static void arp_rx(struct x86_backend *be, const void *frame, size_t len,
		   const struct flextoe_md *md)
{
	struct ftoe_vlan vlan;
	uint64_t now = x86_now_ns();

	frame_vlan(md, &vlan);
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_arp_rx_vlan(&be->arp, frame, len, &vlan, now);
	pthread_mutex_unlock(&be->ctl_lock);
	notify_resolved(be);
}

static void icmp_rx(struct x86_backend *be, void *frame, size_t len,
		    const struct flextoe_md *md)
{
	struct ftoe_vlan vlan;

	frame_vlan(md, &vlan);
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_icmp_rx_vlan(&be->icmp, frame, len, &vlan);
	pthread_mutex_unlock(&be->ctl_lock);
}

static void icmp6_rx(struct x86_backend *be, const void *frame, size_t len,
		     const struct flextoe_md *md)
{
	struct ftoe_vlan vlan;
	uint64_t now = x86_now_ns();

	if (!be->has_ip6)
		return;
	frame_vlan(md, &vlan);
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_nd_rx(&be->nd6, frame, len, &vlan, now);
	pthread_mutex_unlock(&be->ctl_lock);
	notify_resolved6(be);
}

void control_rx(struct x86_backend *be, unsigned int kind, void *frame, size_t len,
		const struct flextoe_md *md)
{
	if (kind == RX_ARP)
		arp_rx(be, frame, len, md);
	else if (kind == RX_ICMP)
		icmp_rx(be, frame, len, md);
	else if (kind == RX_ICMP6)
		icmp6_rx(be, frame, len, md);
}

/* ARP retries/expiry and the announcements; ns until the next deadline. */
static uint64_t arp_timers(struct x86_backend *be, uint64_t now)
{
	uint64_t next;

	pthread_mutex_lock(&be->ctl_lock);
	if (be->announce_at_ns && now >= be->announce_at_ns) {
		be->announce_at_ns = 0;
		ftoe_arp_announce(&be->arp);
	}
	next = ftoe_arp_poll(&be->arp, now);
	if (be->has_ip6) {
		uint64_t n6 = ftoe_nd_poll(&be->nd6, now);

		if (n6 < next)
			next = n6;
	}
	if (be->announce_at_ns && be->announce_at_ns - now < next)
		next = be->announce_at_ns - now;
	pthread_mutex_unlock(&be->ctl_lock);
	return next;
}

uint64_t control_poll(struct x86_backend *be)
{
	uint64_t now = x86_now_ns(), t;

	if (now >= be->ctl_next_ns) {
		t = arp_timers(be, now);
		be->ctl_next_ns = now + (t < CTL_POLL_MAX_NS ? t : CTL_POLL_MAX_NS);
	}
	return be->ctl_next_ns > now ? be->ctl_next_ns - now : 0;
}

void control_announce(struct x86_backend *be)
{
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_arp_announce(&be->arp);
	be->announce_at_ns = x86_now_ns() + ANNOUNCE_AGAIN_NS;
	pthread_mutex_unlock(&be->ctl_lock);
}

void control_log_stats(struct x86_backend *be)
{
	if (!be->ctl_ready)
		return;
	pthread_mutex_lock(&be->ctl_lock);
	pr_info("arp: rx %lu malformed %lu conflicts %lu; sent %lu replies %lu requests; "
		"resolved %lu timeouts %lu", be->arp.stats.rx, be->arp.stats.rx_malformed,
		be->arp.stats.rx_conflict, be->arp.stats.replies_sent, be->arp.stats.requests_sent,
		be->arp.stats.resolved, be->arp.stats.timeouts);
	pr_info("icmp: rx %lu echo replies %lu; dropped: truncated %lu bad checksum %lu "
		"fragments %lu not echo %lu", be->icmp.stats.rx, be->icmp.stats.echo_replies,
		be->icmp.stats.truncated, be->icmp.stats.bad_csum, be->icmp.stats.fragments,
		be->icmp.stats.not_echo);
	if (be->has_ip6)
		pr_info("nd: rx %lu malformed %lu; NS %lu NA %lu in, %lu NS %lu NA out; "
			"resolved %lu timeouts %lu; echo replies %lu", be->nd6.stats.rx,
			be->nd6.stats.rx_malformed, be->nd6.stats.ns_rx, be->nd6.stats.na_rx,
			be->nd6.stats.ns_sent, be->nd6.stats.na_sent, be->nd6.stats.resolved,
			be->nd6.stats.timeouts, be->nd6.stats.echo_replies);
	pthread_mutex_unlock(&be->ctl_lock);
}

/* ---- struct ftoe_io for the engine ------------------------------------ */

static int io_xmit(void *ctx, unsigned int q, const void *frame, size_t len)
{
	struct x86_backend *be = ctx;

	if (q >= be->nr_queues)
		q = 0;
	return xq_xmit(&be->queues[q], frame, len);
}

/* The engine's segments while the tx-post hook has programs: the hook
 * sees the flow's TCP state (docs/design.md section 4). */
static int io_xmit_md(void *ctx, unsigned int q, const void *frame, size_t len,
		      const struct flextoe_md *md)
{
	struct x86_backend *be = ctx;

	if (q >= be->nr_queues)
		q = 0;
	return xq_xmit_md(&be->queues[q], frame, len, md);
}

static uint64_t io_now_ns(void *ctx)
{
	(void)ctx;
	return x86_now_ns();
}

static int io_neigh_lookup(void *ctx, uint32_t ip_be, uint8_t mac[6])
{
	struct x86_backend *be = ctx;
	int err;

	pthread_mutex_lock(&be->ctl_lock);
	err = ftoe_arp_lookup(&be->arp, ip_be, mac, x86_now_ns());
	pthread_mutex_unlock(&be->ctl_lock);
	/* The engine only knows "resolving" (-EAGAIN) and failure. */
	return err;
}

/* The VLAN the neighbour cache learned ip_be (a next hop) on. */
static int io_neigh_vlan(void *ctx, uint32_t ip_be, struct ftoe_vlan *vlan)
{
	struct x86_backend *be = ctx;
	int err;

	pthread_mutex_lock(&be->ctl_lock);
	err = ftoe_arp_vlan(&be->arp, ip_be, vlan);
	pthread_mutex_unlock(&be->ctl_lock);
	return err;
}

static int io_neigh6_lookup(void *ctx, const uint8_t ip6[16], uint8_t mac[6])
{
	struct x86_backend *be = ctx;
	int err = -EHOSTUNREACH;

	pthread_mutex_lock(&be->ctl_lock);
	if (be->has_ip6)
		err = ftoe_nd_lookup(&be->nd6, ip6, mac, x86_now_ns());
	pthread_mutex_unlock(&be->ctl_lock);
	return err;
}

static int io_neigh6_vlan(void *ctx, const uint8_t ip6[16], struct ftoe_vlan *vlan)
{
	struct x86_backend *be = ctx;
	int err = -ENOENT;

	pthread_mutex_lock(&be->ctl_lock);
	if (be->has_ip6)
		err = ftoe_nd_vlan(&be->nd6, ip6, vlan);
	pthread_mutex_unlock(&be->ctl_lock);
	return err;
}

void control_io_init(struct x86_backend *be, struct ftoe_io *io)
{
	io->ctx = be;
	io->xmit = io_xmit;
	io->xmit_md = io_xmit_md;
	io->now_ns = io_now_ns;
	io->neigh_lookup = io_neigh_lookup;
	io->neigh_vlan = io_neigh_vlan;
	io->neigh6_lookup = io_neigh6_lookup;
	io->neigh6_vlan = io_neigh6_vlan;
}

/* A valid neighbour entry, without resolving (bpf_fib_lookup's view: the
 * kernel's helper does not send a request either). */
int x86_neigh_valid(struct x86_backend *be, uint32_t ip_be, uint8_t mac[6])
{
	const struct ftoe_arp_entry *e;
	int err = -ENOENT;

	pthread_mutex_lock(&be->ctl_lock);
	e = ftoe_arp_find(&be->arp, ip_be);
	if (e && e->state == FTOE_ARP_REACHABLE &&
	    x86_now_ns() - e->updated_ns < be->arp.cfg.expiry_ns) {
		memcpy(mac, e->mac, 6);
		err = 0;
	}
	pthread_mutex_unlock(&be->ctl_lock);
	return err;
}
