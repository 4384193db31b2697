/* control.c - glue between the workers, the ARP/ICMP control plane and the engine's ftoe_io. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core/x86/backend.h"
#include "lib/util/log.h"

#define ANNOUNCE_AGAIN_NS 2000000000ull  /* RFC 5227 2.3: a second announcement 2 s later */
#define MAX_RESOLVED 16

uint64_t be_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ARP and ICMP frames leave on the calling worker's queue, or queue 0. */
static struct xsk_queue *ctl_queue(struct backend *be)
{
	struct xsk_queue *q = worker_current_queue();

	return q ? q : &be->queues[0];
}

/* Addresses resolved inside ftoe_arp_rx are collected here and handed to
 * the engine after ctl_lock is dropped: the engine may call neigh_lookup
 * from ftoe_engine_neigh_ready, which takes ctl_lock again. */
static __thread uint32_t resolved_ips[MAX_RESOLVED];
static __thread unsigned int nr_resolved;

static int arp_xmit(void *ctx, const void *frame, size_t len)
{
	struct backend *be = ctx;

	return xq_xmit(ctl_queue(be), frame, len);
}

static void arp_resolved(void *ctx, uint32_t ip_be)
{
	(void)ctx;
	if (nr_resolved < MAX_RESOLVED)
		resolved_ips[nr_resolved++] = ip_be;
}

static void notify_resolved(struct backend *be)
{
	unsigned int n = nr_resolved;

	nr_resolved = 0;
	if (!n || !be->eng)
		return;
	if (be->eng_locked)
		pthread_mutex_lock(&be->eng_lock);
	for (unsigned int i = 0; i < n; i++)
		ftoe_engine_neigh_ready(be->eng, resolved_ips[i]);
	if (be->eng_locked)
		pthread_mutex_unlock(&be->eng_lock);
}

static int icmp_xmit(void *ctx, const void *frame, size_t len)
{
	struct backend *be = ctx;

	return xq_xmit(ctl_queue(be), frame, len);
}

int control_init(struct backend *be)
{
	struct ftoe_arp_cfg acfg = {
		.ip_be = be->opts.ip_be,
		.prefix_len = be->opts.prefix_len,
		.gateway_be = be->opts.gateway_be,
	};
	struct ftoe_arp_ops aops = { .ctx = be, .xmit = arp_xmit, .resolved = arp_resolved };
	struct ftoe_icmp_cfg icfg = { .ip_be = be->opts.ip_be };
	struct ftoe_icmp_ops iops = { .ctx = be, .xmit = icmp_xmit };
	int err;

	pthread_mutex_init(&be->ctl_lock, NULL);
	memcpy(acfg.mac, be->nd.mac, 6);
	memcpy(icfg.mac, be->nd.mac, 6);
	err = ftoe_arp_init(&be->arp, &acfg, &aops);
	if (!err)
		err = ftoe_icmp_init(&be->icmp, &icfg, &iops);
	if (err)
		pr_err("%s: cannot set up ARP/ICMP (MAC %02x:%02x:%02x:%02x:%02x:%02x): %s",
		       be->nd.name, be->nd.mac[0], be->nd.mac[1], be->nd.mac[2], be->nd.mac[3],
		       be->nd.mac[4], be->nd.mac[5], strerror(-err));
	return err;
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

void control_arp_rx(struct backend *be, const void *frame, size_t len,
		    const struct flextoe_md *md)
{
	struct ftoe_vlan vlan;
	uint64_t now = be_now_ns();

	frame_vlan(md, &vlan);
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_arp_rx_vlan(&be->arp, frame, len, &vlan, now);
	pthread_mutex_unlock(&be->ctl_lock);
	notify_resolved(be);
}

void control_icmp_rx(struct backend *be, struct xsk_queue *q, void *frame, size_t len,
		     const struct flextoe_md *md)
{
	struct ftoe_vlan vlan;

	(void)q;
	frame_vlan(md, &vlan);
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_icmp_rx_vlan(&be->icmp, frame, len, &vlan);
	pthread_mutex_unlock(&be->ctl_lock);
}

/* ARP retries/expiry and the announcements; ns until the next deadline. */
uint64_t control_poll(struct backend *be)
{
	uint64_t now = be_now_ns(), next;

	pthread_mutex_lock(&be->ctl_lock);
	if (be->announce_at_ns && now >= be->announce_at_ns) {
		be->announce_at_ns = 0;
		ftoe_arp_announce(&be->arp);
	}
	next = ftoe_arp_poll(&be->arp, now);
	if (be->announce_at_ns && be->announce_at_ns - now < next)
		next = be->announce_at_ns - now;
	pthread_mutex_unlock(&be->ctl_lock);
	return next;
}

/* ---- struct ftoe_io for the engine ------------------------------------ */

static int io_xmit(void *ctx, unsigned int q, const void *frame, size_t len)
{
	struct backend *be = ctx;

	if (q >= be->nr_queues)
		q = 0;
	return xq_xmit(&be->queues[q], frame, len);
}

/* The engine's segments while the tx-post hook has programs: the hook
 * sees the flow's TCP state (DESIGN.md section 4). */
static int io_xmit_md(void *ctx, unsigned int q, const void *frame, size_t len,
		      const struct flextoe_md *md)
{
	struct backend *be = ctx;

	if (q >= be->nr_queues)
		q = 0;
	return xq_xmit_md(&be->queues[q], frame, len, md);
}

static uint64_t io_now_ns(void *ctx)
{
	(void)ctx;
	return be_now_ns();
}

static int io_neigh_lookup(void *ctx, uint32_t ip_be, uint8_t mac[6])
{
	struct backend *be = ctx;
	int err;

	pthread_mutex_lock(&be->ctl_lock);
	err = ftoe_arp_lookup(&be->arp, ip_be, mac, be_now_ns());
	pthread_mutex_unlock(&be->ctl_lock);
	/* The engine only knows "resolving" (-EAGAIN) and failure. */
	return err;
}

/* The VLAN the neighbour cache learned ip_be (a next hop) on. */
static int io_neigh_vlan(void *ctx, uint32_t ip_be, struct ftoe_vlan *vlan)
{
	struct backend *be = ctx;
	int err;

	pthread_mutex_lock(&be->ctl_lock);
	err = ftoe_arp_vlan(&be->arp, ip_be, vlan);
	pthread_mutex_unlock(&be->ctl_lock);
	return err;
}

static void io_wake(void *ctx)
{
	workers_wake(ctx);
}

void control_io_init(struct backend *be)
{
	be->io.ctx = be;
	be->io.xmit = io_xmit;
	be->io.xmit_md = io_xmit_md;
	be->io.now_ns = io_now_ns;
	be->io.neigh_lookup = io_neigh_lookup;
	be->io.neigh_vlan = io_neigh_vlan;
	be->io.wake = io_wake;
}

void control_announce(struct backend *be)
{
	pthread_mutex_lock(&be->ctl_lock);
	ftoe_arp_announce(&be->arp);
	be->announce_at_ns = be_now_ns() + ANNOUNCE_AGAIN_NS;
	pthread_mutex_unlock(&be->ctl_lock);
}
