/* engine.c - engine creation and the backend entry points (rx, poll, neighbour ready). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_internal.h"
#include "core/pipeline.h"
#include "core/slowpath.h"
#include "core/tcp_seq.h"

#define DEF_MAX_CONNS   4096u
#define DEF_BUF         (256u * 1024)
#define DEF_RTO_MIN_US  (200u * 1000)
#define DEF_TIME_WAIT   60000u
#define DEF_DELACK_US   40000u
#define MAX_BUF         (1u << 30)

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

void ftoe_engine_destroy(struct ftoe_engine *e)
{
	if (!e)
		return;
	ftoe_conn_tables_destroy(e);
	free(e->ft_mem);
	free(e->conn);
	free(e->flow_tag);
	free(e->flow_gen);
	free(e->tcp);
	free(e->mem);
	free(e->cc);
	free(e->ctl);
	free(e->sch);
	free(e->bufs);
	free(e->region);
	free(e->free_ids);
	free(e->evq);
	free(e->frame);
	free(e);
}

int ftoe_engine_create(const struct ftoe_engine_cfg *cfg, const struct ftoe_io *io,
		       struct ftoe_engine **out)
{
	struct ftoe_engine *e;
	uint32_t n, cap;
	uint64_t per_flow;
	size_t ftsz;

	*out = NULL;
	if (!cfg || !io || !io->xmit || !io->now_ns || !io->neigh_lookup)
		return -EINVAL;
	if (!cfg->ip_be || cfg->mtu < 576 || cfg->mtu > 9216 || cfg->prefix_len > 32)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->cfg = *cfg;
	e->io = *io;
	if (!e->cfg.max_flows)
		e->cfg.max_flows = 65536;
	if (!e->cfg.max_conns)
		e->cfg.max_conns = e->cfg.max_flows < DEF_MAX_CONNS ? e->cfg.max_flows : DEF_MAX_CONNS;
	if (e->cfg.max_conns > e->cfg.max_flows)
		e->cfg.max_conns = e->cfg.max_flows;
	if (!e->cfg.rx_buf_size)
		e->cfg.rx_buf_size = DEF_BUF;
	if (!e->cfg.tx_buf_size)
		e->cfg.tx_buf_size = DEF_BUF;
	if (!e->cfg.rto_min_us)
		e->cfg.rto_min_us = DEF_RTO_MIN_US;
	if (!e->cfg.time_wait_ms)
		e->cfg.time_wait_ms = DEF_TIME_WAIT;
	if (!e->cfg.delack_us)
		e->cfg.delack_us = DEF_DELACK_US;
	if (!e->cfg.ooo_intervals)
		e->cfg.ooo_intervals = FTOE_OOO_IV_DEFAULT;
	if (e->cfg.ooo_intervals > FTOE_OOO_IV_MAX)
		e->cfg.ooo_intervals = FTOE_OOO_IV_MAX;
	if (!e->cfg.nr_queues)
		e->cfg.nr_queues = 1;
	if (!pow2(e->cfg.rx_buf_size) || !pow2(e->cfg.tx_buf_size) ||
	    e->cfg.rx_buf_size > MAX_BUF || e->cfg.tx_buf_size > MAX_BUF ||
	    e->cfg.rx_buf_size < 2048 || e->cfg.tx_buf_size < 2048) {
		free(e);
		return -EINVAL;
	}
	n = e->nflows = e->cfg.max_conns;
	e->mss_max = (uint16_t)(e->cfg.mtu - 40);
	e->rx_wscale = wscale_for_buffer(e->cfg.rx_buf_size);
	e->local_ip = __builtin_bswap32(cfg->ip_be);
	memcpy(e->local6_hi, cfg->ip6, 12);
	e->local6_lo = (uint32_t)cfg->ip6[12] << 24 | (uint32_t)cfg->ip6[13] << 16 |
		       (uint32_t)cfg->ip6[14] << 8 | cfg->ip6[15];
	memcpy(e->key, e->cfg.secret, sizeof(e->key));
	if (!e->cfg.secret[0] && !e->cfg.secret[1]) {
		/* No secret from the backend: weak, but never constant. */
		uint64_t t = io->now_ns(io->ctx) ^ (uint64_t)(uintptr_t)e;

		memcpy(e->key, &t, 8);
	}

	cap = n;
	ftsz = ftoe_ft_mem_size(cap);
	per_flow = (uint64_t)e->cfg.rx_buf_size + e->cfg.tx_buf_size;
	e->ft_mem = calloc(1, ftsz);
	e->conn = calloc(n, sizeof(*e->conn));
	e->tcp = calloc(n, sizeof(*e->tcp));
	e->mem = calloc(n, sizeof(*e->mem));
	e->cc = calloc(n, sizeof(*e->cc));
	e->ctl = calloc(n, sizeof(*e->ctl));
	e->flow_tag = calloc(n, sizeof(*e->flow_tag));
	e->flow_gen = calloc(n, sizeof(*e->flow_gen));
	e->sch = calloc(n, sizeof(*e->sch));
	e->bufs = calloc(n, per_flow);
	e->region = calloc(1, sizeof(*e->region));
	e->nregion = 1;
	e->free_ids = calloc(n, sizeof(*e->free_ids));
	e->evq_cap = n + FTOE_MAX_LISTENERS;
	e->evq = calloc(e->evq_cap, sizeof(*e->evq));
	/* room for two VLAN tags (QinQ) in front of an MTU-sized packet (tx.c) */
	e->frame_size = FTOE_ETH_HLEN + FTOE_VLAN_MAX_LEN + e->cfg.mtu;
	e->frame = calloc(1, e->frame_size);
	if (!e->ft_mem || !e->conn || !e->tcp || !e->mem || !e->cc || !e->ctl || !e->flow_tag ||
	    !e->flow_gen || !e->sch || !e->bufs || !e->region || !e->free_ids || !e->evq || !e->frame ||
	    ftoe_ft_init(&e->ft, e->ft_mem, ftsz, cap, e->key)) {
		ftoe_engine_destroy(e);
		return -ENOMEM;
	}
	{
		int err = ftoe_conn_tables_create(e);

		if (err) {
			ftoe_engine_destroy(e);
			return err;
		}
	}
	for (uint32_t i = 0; i < FTOE_FLOW_CACHE; i++)
		e->flow_cache[i] = FTOE_NO_FLOW;
	for (uint32_t i = 0; i < n; i++) {
		flow_mem_own(e, i);
		/* lowest ids on top: reuse keeps the scanned range small */
		e->free_ids[i] = n - 1 - i;
		e->sch[i].next = FTOE_NO_FLOW;
	}
	e->region[0] = e->bufs;
	e->nfree = n;
	e->act_head = e->act_tail = FTOE_NO_FLOW;
	e->next_timer = UINT64_MAX;
	e->port_next = (uint32_t)(e->key[0] | e->key[1] << 8) % 28232;
	*out = e;
	return 0;
}

/*
 * The stages stop where the control plane must run before they go on
 * (core/slowpath.h): pre-processing after a frame it queued (the next
 * frame's lookup must see what the control plane made of it), post-
 * processing after an item whose rest waits for it.  The engine then
 * drains the queue and resumes them.  An empty queue after a stage means
 * it did not stop, so the fast path pays one test per stage; the rest is
 * out of line.
 */
static __attribute__((noinline)) unsigned int
rx_preproc_slow(struct ftoe_engine *e, void *const frames[], const uint16_t lens[],
		const struct flextoe_md *const mds[], unsigned int m, unsigned int done,
		struct ftoe_rx_item *items, unsigned int k)
{
	while (e->sp.n) {
		ftoe_sp_drain_from(e, &e->sp, 0);
		if (done == m)
			break;
		/* go on after the frame it stopped at */
		m -= done;
		frames += done;
		lens += done;
		if (mds)
			mds += done;
		done = m;
		k += ftoe_preproc(e, frames, lens, mds, m, items + k, &done);
	}
	return k;
}

static __attribute__((noinline)) void
rx_postproc_slow(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned int n,
		 unsigned int done)
{
	ftoe_sp_drain_from(e, &e->sp, 0);
	while (done < n) {
		done = ftoe_postproc_rx(e, items, n, done);
		ftoe_sp_drain(e, &e->sp);
	}
}

/* Protocol, rx-post hook and post-processing over n fast-path items. */
static inline __attribute__((always_inline)) void
rx_stages(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned int n)
{
	unsigned int done;

	if (!n)
		return;
	ftoe_proto_rx(e, items, n);
	if (e->cfg.hooks)
		ftoe_proto_rx_post_hook(e, items, n);
	done = ftoe_postproc_rx(e, items, n, 0);
	if (e->sp.n)
		rx_postproc_slow(e, items, n, done);
}

static inline __attribute__((always_inline)) void
engine_rx(struct ftoe_engine *e, void *const frames[], const uint16_t lens[],
	  const struct flextoe_md *const mds[], unsigned int n)
{
	struct ftoe_rx_item items[FTOE_RX_BATCH];

	eng_now(e);
	while (n) {
		unsigned int m = n > FTOE_RX_BATCH ? FTOE_RX_BATCH : n, k, used = m;

		k = ftoe_preproc(e, frames, lens, mds, m, items, &used);
		if (e->sp.n)
			k = rx_preproc_slow(e, frames, lens, mds, m, used, items, k);
		rx_stages(e, items, k);
		frames += m;
		lens += m;
		if (mds)
			mds += m;
		n -= m;
	}
	ftoe_sock_deliver_events(e);
}

void ftoe_engine_rx(struct ftoe_engine *e, unsigned int q, void *const frames[],
		    const uint16_t lens[], unsigned int n)
{
	(void)q;
	engine_rx(e, frames, lens, NULL, n);
}

void ftoe_engine_rx_md(struct ftoe_engine *e, unsigned int q, void *const frames[],
		       const uint16_t lens[], const struct flextoe_md *const mds[],
		       unsigned int n)
{
	(void)q;
	engine_rx(e, frames, lens, mds, n);
}

/* The flow scheduler and transmit, while flows are active: out of line, so
 * a poll with nothing to send does not set up their batch. */
static __attribute__((noinline)) unsigned int poll_tx(struct ftoe_engine *e, uint64_t *wait)
{
	struct ftoe_tx_item items[FTOE_TX_BATCH];
	unsigned int n, rounds = 0;

	/* A bounded number of batches, so rx is not starved. */
	do {
		uint64_t full = e->st.tx_ring_full;

		n = ftoe_sched_run(e, items, FTOE_TX_BATCH, wait);
		ftoe_tx_batch(e, items, n);
		if (e->st.tx_ring_full != full)
			break; /* the backend's ring is full: retry next poll */
	} while (n == FTOE_TX_BATCH && ++rounds < 8);
	return n;
}

uint64_t ftoe_engine_poll(struct ftoe_engine *e, unsigned int q)
{
	uint64_t wait = UINT64_MAX, next;
	unsigned int n = 0;

	(void)q;
	eng_now(e);
	/* (both calls return at once when nothing is due: test here, as
	 * this runs after every rx) */
	if (e->now >= ftoe_next_timer(e))
		ftoe_timers_run(e);
	if (e->evq_len)
		ftoe_sock_deliver_events(e);
	if (e->act_head != FTOE_NO_FLOW) {
		n = poll_tx(e, &wait);
		if (e->evq_len)
			ftoe_sock_deliver_events(e);
	}

	if (e->act_head != FTOE_NO_FLOW && n == FTOE_TX_BATCH)
		return 0; /* more to send right away */
	next = ftoe_next_timer(e);
	if (next != UINT64_MAX)
		next = next > e->now ? next - e->now : 0;
	if (e->act_head != FTOE_NO_FLOW && wait == UINT64_MAX)
		wait = 0;
	return wait < next ? wait : next;
}

uint64_t ftoe_engine_poll_due(const struct ftoe_engine *e)
{
	return e->act_head != FTOE_NO_FLOW ? 0 : ftoe_next_timer(e);
}

void ftoe_engine_neigh_ready(struct ftoe_engine *e, uint32_t ip_be)
{
	eng_now(e);
	ftoe_conn_neigh_ready(e, ip_be);
	ftoe_sock_deliver_events(e);
}

void ftoe_engine_neigh6_ready(struct ftoe_engine *e, const uint8_t ip6[16])
{
	eng_now(e);
	ftoe_conn_neigh6_ready(e, ip6);
	ftoe_sock_deliver_events(e);
}

void ftoe_engine_get_stats(const struct ftoe_engine *e, struct ftoe_engine_stats *st)
{
	*st = e->st;
}

void ftoe_engine_rx_prepare(const struct ftoe_engine *e, void *frame, uint16_t len,
			    const struct flextoe_md *md, struct ftoe_rx_item *it)
{
	ftoe_preproc_prepare(e, frame, len, md, it);
}

void ftoe_engine_rx_drop_malformed(struct ftoe_engine *e, const struct ftoe_rx_item *it)
{
	ftoe_preproc_count_malformed(e, it);
}

void ftoe_engine_rx_parse(const struct ftoe_engine *e, void *frame, uint16_t len,
			  const struct flextoe_md *md, struct ftoe_rx_item *it)
{
	ftoe_preproc_parse(e, frame, len, md, it);
}

/* The fast-path run at the head of items (at most a batch): claimed, then
 * through the protocol stage.  What it writes: the run's flows' own state,
 * and the engine's atomic fields (engine_internal.h "Threading"). */
unsigned int ftoe_engine_rx_proto(struct ftoe_engine *e, struct ftoe_rx_item *items,
				  unsigned int n)
{
	unsigned int k = 0;

	eng_now(e);
	if (n > FTOE_RX_BATCH)
		n = FTOE_RX_BATCH;
	while (k < n && ftoe_preproc_claim(e, &items[k]))
		k++;
	if (k)
		ftoe_proto_rx(e, items, k);
	return k;
}

/* The rest of a run ftoe_engine_rx_proto took: rx-post hook,
 * post-processing, and the control plane's work they queued. */
void ftoe_engine_rx_post(struct ftoe_engine *e, struct ftoe_rx_item *items, unsigned int k)
{
	unsigned int done;

	if (!k)
		return;
	if (e->cfg.hooks)
		ftoe_proto_rx_post_hook(e, items, k);
	done = ftoe_postproc_rx(e, items, k, 0);
	if (e->sp.n)
		rx_postproc_slow(e, items, k, done);
}

/* ftoe_engine_rx_post in two: the payload (any thread, several at once,
 * each on its own items), then, in arrival order, the rest. */
void ftoe_engine_rx_post_place(struct ftoe_engine *e, struct ftoe_rx_item *items,
			       unsigned int k)
{
	ftoe_postproc_rx_place(e, items, k);
}

void ftoe_engine_rx_post_finish(struct ftoe_engine *e, struct ftoe_rx_item *items,
				unsigned int k)
{
	unsigned int done;

	if (!k)
		return;
	if (e->cfg.hooks)
		ftoe_proto_rx_post_hook(e, items, k);
	done = ftoe_postproc_rx_placed(e, items, k, 0);
	if (e->sp.n)
		rx_postproc_slow(e, items, k, done);
}

/* An item ftoe_engine_rx_proto did not claim: the control plane's now. */
void ftoe_engine_rx_divert(struct ftoe_engine *e, struct ftoe_rx_item *it)
{
	ftoe_preproc_divert(e, it);
	ftoe_sp_drain(e, &e->sp);
}

void ftoe_engine_rx_end(struct ftoe_engine *e)
{
	ftoe_sock_deliver_events(e);
}

/* Runs of consecutive fast-path items go through the stages as one batch;
 * an item for the control plane first ends the run before it, so every
 * segment of a flow is handled in arrival order whichever path it takes. */
void ftoe_engine_rx_items(struct ftoe_engine *e, unsigned int q, struct ftoe_rx_item *items,
			  unsigned int n)
{
	unsigned int i = 0, k;

	(void)q;
	while (i < n) {
		k = ftoe_engine_rx_proto(e, items + i, n - i);
		if (k) {
			ftoe_engine_rx_post(e, items + i, k);
			i += k;
		} else {
			ftoe_engine_rx_divert(e, &items[i++]);
		}
	}
	ftoe_engine_rx_end(e);
}
