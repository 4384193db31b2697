/* engine_link.c - two engines wired back to back in memory, with faults and a virtual clock. */
#include <stdlib.h>
#include <string.h>

#include "core/byteorder.h"
#include "core/control/cc.h"
#include "core/csum.h"
#include "core/pipeline.h"
#include "tests/unit/core/engine_link.h"

static const uint8_t mac_a[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t mac_b[6] = { 2, 0, 0, 0, 0, 2 };

uint64_t lb_rand(struct lb_world *w)
{
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ull;
}

static bool chance(struct lb_world *w, unsigned pct)
{
	return pct && lb_rand(w) % 100 < pct;
}

static struct lb_pkt *q_push(struct lb_queue *q)
{
	if (q->len == q->cap) {
		unsigned ncap = q->cap ? q->cap * 2 : 256;
		struct lb_pkt *np = malloc(sizeof(*np) * ncap);

		for (unsigned i = 0; i < q->len; i++)
			np[i] = q->p[(q->head + i) % q->cap];
		free(q->p);
		q->p = np;
		q->head = 0;
		q->cap = ncap;
	}
	q->len++;
	return &q->p[(q->head + q->len - 1) % q->cap];
}

static int lb_xmit(void *ctx, unsigned q, const void *frame, size_t len)
{
	struct lb_side *s = ctx;
	struct lb_world *w = s->w;
	uint8_t buf[1600];
	uint16_t l = (uint16_t)len;

	(void)q;
	if (w->block_tx)
		return -105; /* -ENOBUFS */
	if (len > sizeof(buf))
		abort();
	s->sent++;
	if (!s->tap) {
		/* no tap to see or change it: one copy, onto the wire (as a
		 * backend copies the frame into its ring; bench/engine_cg.sh
		 * counts this transmit) */
		lb_wire_send(s, frame, l);
		return 0;
	}
	memcpy(buf, frame, len);
	if (!s->tap(s, buf, &l))
		return 0;
	lb_wire_send(s, buf, l);
	return 0;
}

void lb_wire_send(struct lb_side *s, const void *frame, uint16_t len)
{
	struct lb_world *w = s->w;
	uint8_t buf[1600];
	const uint8_t *src = frame;
	uint16_t l = len;
	struct lb_pkt *p;
	unsigned copies = 1;

	if (chance(w, s->f.drop)) {
		s->dropped++;
		return;
	}
	if (chance(w, s->f.corrupt) && l > 14) {
		/* the sender's frame stays as it was: flip the bit in a copy */
		memcpy(buf, frame, len);
		buf[14 + lb_rand(w) % (l - 14)] ^= (uint8_t)(1u << (lb_rand(w) % 8));
		src = buf;
	}
	if (chance(w, s->f.dup))
		copies = 2;
	while (copies--) {
		p = q_push(&s->out);
		p->at = w->now + w->lat_ns;
		p->len = l;
		memcpy(p->data, src, l);
		/* reorder: swap with the previous frame in flight */
		if (s->out.len > 1 && chance(w, s->f.reorder)) {
			struct lb_pkt *prev = &s->out.p[(s->out.head + s->out.len - 2) % s->out.cap];
			struct lb_pkt tmp = *prev;

			*prev = *p;
			prev->at = tmp.at;
			tmp.at = p->at;
			*p = tmp;
		}
	}
}

static uint64_t lb_now(void *ctx)
{
	return ((struct lb_side *)ctx)->w->now;
}

static int lb_neigh(void *ctx, uint32_t ip_be, uint8_t mac[6])
{
	struct lb_side *s = ctx;

	(void)ip_be;
	memcpy(mac, s->idx ? mac_a : mac_b, 6);
	return 0;
}

/* On the link, every IPv6 neighbour is the other side. */
static int lb_neigh6(void *ctx, const uint8_t ip6[16], uint8_t mac[6])
{
	struct lb_side *s = ctx;

	(void)ip6;
	memcpy(mac, s->idx ? mac_a : mac_b, 6);
	return 0;
}

void lb_default_cfg(struct ftoe_engine_cfg *cfg, uint32_t ip)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ip_be = __builtin_bswap32(ip);
	cfg->prefix_len = 24;
	cfg->mtu = 1500;
	cfg->max_flows = 256;
	cfg->max_conns = 64;
	cfg->nr_queues = 1;
	cfg->cc = &ftoe_cc_const;
	cfg->rx_buf_size = 64 * 1024;
	cfg->tx_buf_size = 64 * 1024;
	cfg->time_wait_ms = 1000;
	cfg->secret[0] = 0x1234 + ip;
	cfg->secret[1] = 0x5678;
}

void lb_init(struct lb_world *w, uint64_t seed, const struct ftoe_engine_cfg *cfg_a,
	     const struct ftoe_engine_cfg *cfg_b)
{
	struct ftoe_engine_cfg c[2];

	memset(w, 0, sizeof(*w));
	w->now = 1000000000ull;
	w->lat_ns = 20000;
	w->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	if (cfg_a)
		c[0] = *cfg_a;
	else
		lb_default_cfg(&c[0], LB_IP_A);
	if (cfg_b)
		c[1] = *cfg_b;
	else
		lb_default_cfg(&c[1], LB_IP_B);
	memcpy(c[0].mac, mac_a, 6);
	memcpy(c[1].mac, mac_b, 6);
	for (int i = 0; i < 2; i++) {
		struct ftoe_io io = { .ctx = &w->s[i], .xmit = lb_xmit, .now_ns = lb_now,
				      .neigh_lookup = lb_neigh, .neigh6_lookup = lb_neigh6 };

		w->s[i].w = w;
		w->s[i].idx = i;
		if (ftoe_engine_create(&c[i], &io, &w->s[i].eng))
			abort();
	}
}

void lb_fini(struct lb_world *w)
{
	for (int i = 0; i < 2; i++) {
		ftoe_engine_destroy(w->s[i].eng);
		free(w->s[i].out.p);
	}
}

/* One frame into side idx's engine, by either entry point. */
static void engine_rx(struct lb_world *w, int idx, void *frame, uint16_t len)
{
	struct ftoe_rx_item it;

	if (idx == 1 && w->rx_stage) {
		w->rx_stage(w, frame, len);
		return;
	}
	if (w->split_rx || w->parse_rx) {
		if (w->parse_rx)
			ftoe_engine_rx_parse(w->s[idx].eng, frame, len, NULL, &it);
		else
			ftoe_engine_rx_prepare(w->s[idx].eng, frame, len, NULL, &it);
		ftoe_engine_rx_items(w->s[idx].eng, 0, &it, 1);
		return;
	}
	ftoe_engine_rx(w->s[idx].eng, 0, (void *const[]){ frame }, &len, 1);
}

void lb_inject(struct lb_world *w, int idx, const void *frame, uint16_t len)
{
	engine_rx(w, idx, (void *)frame, len);
}

/* Deliver the frames side i sent that are due to the other side. */
static unsigned deliver(struct lb_world *w, int i)
{
	struct lb_queue *q = &w->s[i].out;
	unsigned n = 0;

	while (q->len && q->p[q->head].at <= w->now) {
		struct lb_pkt pkt = q->p[q->head];

		q->head = (q->head + 1) % q->cap;
		q->len--;
		engine_rx(w, !i, pkt.data, pkt.len);
		n++;
	}
	return n;
}

bool lb_run(struct lb_world *w, lb_step_fn step, void *arg, uint64_t max_ns)
{
	uint64_t end = w->now + max_ns;

	while (w->now <= end) {
		uint64_t d[2], next = UINT64_MAX;
		unsigned moved;

		if (step && step(w, arg))
			return true;
		moved = deliver(w, 0) + deliver(w, 1);
		if (w->pump)
			moved += w->pump(w);
		d[0] = ftoe_engine_poll(w->s[0].eng, 0);
		d[1] = ftoe_engine_poll(w->s[1].eng, 0);
		if (moved || d[0] == 0 || d[1] == 0)
			continue;
		for (int i = 0; i < 2; i++) {
			if (d[i] != UINT64_MAX && w->now + d[i] < next)
				next = w->now + d[i];
			if (w->s[i].out.len && w->s[i].out.p[w->s[i].out.head].at < next)
				next = w->s[i].out.p[w->s[i].out.head].at;
		}
		if (next == UINT64_MAX) {
			/* idle: give the application one more look */
			return step ? step(w, arg) : false;
		}
		if (next > end) {
			/* never jump past the caller's horizon: a timer beyond
			 * it must not fire inside this run */
			w->now = end;
			return step ? step(w, arg) : false;
		}
		w->now = next > w->now ? next : w->now + 1;
	}
	return false;
}

uint16_t lb_tcp_frame(uint8_t *f, uint32_t saddr, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		      const void *opt, uint8_t optlen, const void *data, uint16_t dlen)
{
	uint8_t *ip = f + 14, *th = ip + 20;
	uint16_t tl = (uint16_t)(20 + optlen + dlen);
	uint32_t sum;

	memcpy(f, (uint8_t[]){ 2, 0, 0, 0, 0, 2 }, 6);
	memcpy(f + 6, (uint8_t[]){ 2, 0, 0, 0, 0, 1 }, 6);
	ftoe_put_be16(f + 12, 0x0800);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ftoe_put_be16(ip + 2, (uint16_t)(20 + tl));
	ip[8] = 64;
	ip[9] = 6;
	ftoe_put_be32(ip + 12, saddr);
	ftoe_put_be32(ip + 16, LB_IP_B);
	ftoe_put_be16(ip + 10, ftoe_csum(ip, 20));
	ftoe_put_be16(th, sport);
	ftoe_put_be16(th + 2, dport);
	ftoe_put_be32(th + 4, seq);
	ftoe_put_be32(th + 8, ack);
	th[12] = (uint8_t)((5 + optlen / 4) << 4);
	th[13] = flags;
	ftoe_put_be16(th + 14, win);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (dlen)
		memcpy(th + 20 + optlen, data, dlen);
	sum = ftoe_csum_pseudo4(ip + 12, ip + 16, 6, tl);
	ftoe_put_be16(th + 16, ftoe_csum_finish(ftoe_csum_add(sum, th, tl)));
	return (uint16_t)(14 + 20 + tl);
}
