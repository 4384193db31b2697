/* des.c - the discrete-event model of the NFP-4000: MEs with non-preemptive contexts, memories, PCIe, MACs, reorder points. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/flow_state.h"
#include "core/nfp/sim/des.h"
#include "core/nfp/sim/hook.h"

/*
 * A segment is a job that walks a route of stations (docs/nfp.md
 * "Method").  At an ME station it takes a context and runs a list of ops:
 * compute (the ME is busy; one context at a time, never preempted) and
 * memory commands (the context swaps out; the ME runs another ready
 * context; the command queues at its memory unit for bandwidth, then pays
 * the unit's latency).  Reorder points release jobs in sequence order.
 */

const char *const des_stage_name[DES__STAGES] = {
	"pre", "proto", "post", "rtc", "isl36", "pcie", "mac-rx", "mac-tx",
};

enum station {
	S_MAC_RX, S_PRE, S_ROB_PROTO, S_PROTO, S_POST, S_ROB_HOST, S_DMA, S_END_RX,
	S_DOORBELL, S_QMAN, S_PROTO_TX, S_POST_TX, S_ROB_WIRE, S_MAC_TX, S_WIRE, S_END_TX,
	S_RTC, S_RTC_TX,
};
enum job_kind { J_REQ, J_DATA, J_RESP, J_ACK };

/* The reorder point before the host sits after the DMA MEs, which may
 * finish a flow's segments out of order too. */
static const uint8_t route_rx[] = { S_MAC_RX, S_PRE, S_ROB_PROTO, S_PROTO, S_POST, S_DMA,
				    S_ROB_HOST, S_END_RX };
static const uint8_t route_rx_rtc[] = { S_MAC_RX, S_RTC, S_DMA, S_ROB_HOST, S_END_RX };
static const uint8_t route_tx[] = { S_DOORBELL, S_QMAN, S_PROTO_TX, S_POST_TX, S_ROB_WIRE,
				    S_MAC_TX, S_WIRE, S_END_TX };
static const uint8_t route_tx_rtc[] = { S_DOORBELL, S_QMAN, S_RTC_TX, S_MAC_TX, S_WIRE, S_END_TX };
static const uint8_t route_ack[] = { S_MAC_TX, S_WIRE, S_END_TX };

#define MAX_OPS 250 /* nops is 8 bits; an eBPF hook adds ~2 ops per memory command */
#define JOB_CHUNK 1024
#define RESP_Q 64 /* > rpc_window: answered requests waiting for the protocol step */
struct op {
	int8_t mem;             /* -1: compute */
	uint32_t amount;        /* cycles, or bytes */
};

struct me;
struct job {
	struct job *next;       /* queue link */
	const uint8_t *route;
	uint8_t step, kind;
	uint16_t fg, island;
	uint32_t flow;
	uint32_t seq;           /* at the next reorder point */
	uint32_t fseq;          /* the peer's per-connection send order */
	uint32_t payload, frame;
	double t0;              /* RPC: when the peer sent the request */
	struct me *me;
	uint8_t nops, op;
	struct op ops[MAX_OPS];
};

struct fifo {
	struct job *head, *tail;
};

struct pool;
struct me {
	struct pool *pool;
	struct fifo ready;      /* contexts waiting for the ME */
	unsigned free_ctx;
	bool busy;
	struct job *running;
};

struct pool {
	struct me *me;
	unsigned n;
	struct fifo wait;       /* jobs waiting for a context */
	enum des_stage stage;
	double busy_ns;
};

struct unit {                   /* a memory, PCIe or a MAC port */
	double free_at, ns_per_byte, lat_ns;
	double busy_ns;
	enum des_stage stage;   /* for the links' utilisation */
};

struct rob {                    /* a reorder point: release in seq order */
	uint32_t assign, release;
	struct job **slot;
	uint32_t mask;
};

struct flow_lock {              /* the protocol step of a flow is serial */
	bool busy;
	struct fifo wait;
};

enum ev_type { EV_ARRIVE, EV_COMPUTE_DONE, EV_MEM_DONE, EV_SEND };
struct event {
	double t;
	uint64_t order;
	uint8_t type;
	void *p;
	uint32_t arg;
};

struct conn {
	uint32_t rx_count;      /* bulk: segments through post (ACK every 2nd) */
	uint32_t sent, delivered; /* the peer's segments: sent, reached the host in order */
	/* RPC: when each answered request was sent, oldest first.  Responses
	 * are interchangeable until the protocol step gives one the next
	 * bytes of the stream: that one carries the oldest request's time. */
	double t0q[RESP_Q];
	uint32_t t0_head, t0_tail;
	uint32_t resp_wire, resp_seen; /* responses: numbered at the protocol step, at the peer */
};

struct des {
	const struct sim_params *p;
	const struct des_costs *c;
	struct des_layout l;
	enum sim_traffic t;
	unsigned nconns;
	struct conn *conns;
	double cyc_ns;          /* one ME cycle */
	uint64_t rng;
	/* event heap */
	struct event *ev;
	size_t nev, cap;
	uint64_t order, events;
	/* resources */
	struct pool *pre, *proto, *post, *rtc, isl36;
	struct unit cls[NFP_FLOW_GROUPS], ctm[NFP_FLOW_GROUPS], imem, emem, pcie;
	struct unit mac_rx[4], mac_tx[4];
	struct rob (*rob)[3];   /* per flow group: before proto, before host, before wire */
	struct flow_lock *lock;
	struct job *free_jobs;
	struct job **chunks;    /* every job allocated, freed at the end */
	size_t nchunks;
	/* measurement */
	double now, t_start, t_end;
	uint64_t frames, payload_bytes, rpcs;
	uint64_t order_faults;
	double *lat;
	size_t nlat, lat_cap;
	bool oom;
};

static uint64_t rnd(struct des *d)
{
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 2685821657736338717ull;
}

static double rnd01(struct des *d)
{
	return (double)(rnd(d) >> 11) / 9007199254740992.0;
}

/* ---- events ------------------------------------------------------------ */
static bool ev_less(const struct event *a, const struct event *b)
{
	return a->t < b->t || (a->t == b->t && a->order < b->order);
}

static void ev_push(struct des *d, double t, enum ev_type type, void *p, uint32_t arg)
{
	size_t i;

	if (d->nev == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4096;
		struct event *n = realloc(d->ev, cap * sizeof(*n));

		if (!n) {
			d->oom = true;
			return;
		}
		d->ev = n;
		d->cap = cap;
	}
	i = d->nev++;
	d->ev[i] = (struct event){ .t = t, .order = d->order++, .type = (uint8_t)type, .p = p,
				   .arg = arg };
	while (i && ev_less(&d->ev[i], &d->ev[(i - 1) / 2])) {
		struct event tmp = d->ev[i];

		d->ev[i] = d->ev[(i - 1) / 2];
		d->ev[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static struct event ev_pop(struct des *d)
{
	struct event top = d->ev[0];
	size_t i = 0;

	d->ev[0] = d->ev[--d->nev];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < d->nev && ev_less(&d->ev[l], &d->ev[m]))
			m = l;
		if (r < d->nev && ev_less(&d->ev[r], &d->ev[m]))
			m = r;
		if (m == i)
			break;
		struct event tmp = d->ev[i];

		d->ev[i] = d->ev[m];
		d->ev[m] = tmp;
		i = m;
	}
	return top;
}

/* ---- queues, jobs ------------------------------------------------------ */
static void fifo_put(struct fifo *f, struct job *j)
{
	j->next = NULL;
	if (f->tail)
		f->tail->next = j;
	else
		f->head = j;
	f->tail = j;
}

static struct job *fifo_get(struct fifo *f)
{
	struct job *j = f->head;

	if (j) {
		f->head = j->next;
		if (!f->head)
			f->tail = NULL;
	}
	return j;
}

static struct job *job_new(struct des *d, enum job_kind k, uint32_t flow)
{
	struct job *j;

	if (!d->free_jobs) {
		/* jobs come in chunks; all are freed with the run */
		struct job **nc = realloc(d->chunks, (d->nchunks + 1) * sizeof(*nc));
		struct job *chunk = nc ? malloc(JOB_CHUNK * sizeof(*chunk)) : NULL;

		if (nc)
			d->chunks = nc;
		if (!chunk) {
			d->oom = true;
			return NULL;
		}
		d->chunks[d->nchunks++] = chunk;
		for (unsigned i = 0; i < JOB_CHUNK; i++) {
			chunk[i].next = d->free_jobs;
			d->free_jobs = &chunk[i];
		}
	}
	j = d->free_jobs;
	d->free_jobs = j->next;
	memset(j, 0, offsetof(struct job, ops));
	j->kind = (uint8_t)k;
	j->flow = flow;
	j->fg = (uint16_t)(flow % d->l.fg);
	j->island = (uint16_t)(d->l.rtc ? (flow % d->l.rtc) % NFP_FLOW_GROUPS : j->fg);
	j->payload = k == J_DATA ? (uint32_t)d->p->mss : k == J_ACK ? 0 : (uint32_t)d->p->rpc_size;
	j->frame = j->payload + 66; /* Ethernet, IPv4, TCP with timestamps */
	j->route = k == J_ACK ? route_ack :
		   (k == J_REQ || k == J_DATA) ? (d->l.rtc ? route_rx_rtc : route_rx) :
		   (d->l.rtc ? route_tx_rtc : route_tx);
	return j;
}

static void job_free(struct des *d, struct job *j)
{
	j->next = d->free_jobs;
	d->free_jobs = j;
}

/* ---- ops: what a job does at an ME station ------------------------------ */
static void op_add(struct job *j, int mem, double amount)
{
	if (amount <= 0)
		return;
	if (j->nops == MAX_OPS) {
		/* full (a program with hundreds of map accesses): compute
		 * still counts, on the last op; a memory command is lost */
		if (mem < 0) {
			for (int i = j->nops - 1; i >= 0; i--)
				if (j->ops[i].mem < 0) {
					j->ops[i].amount += (uint32_t)lround(amount);
					break;
				}
		}
		return;
	}
	if (mem < 0 && j->nops && j->ops[j->nops - 1].mem < 0) {
		j->ops[j->nops - 1].amount += (uint32_t)lround(amount);
		return;
	}
	j->ops[j->nops++] = (struct op){ .mem = (int8_t)mem, .amount = (uint32_t)lround(amount) };
}

/* instr instructions of compute, spread between the memory commands the
 * functional run measured for stage st (LM reads are compute: no swap). */
static void ops_stage(struct des *d, struct job *j, int st, double instr, uint32_t host_bytes)
{
	const struct sim_params *p = d->p;
	double cycles = instr * p->cpi + (st >= 0 ? d->c->hook_cycles[st] : 0), per;
	unsigned n[NFP_MEM__MAX], total = 0;

	for (int m = 0; m < NFP_MEM__MAX; m++) {
		double avg = st >= 0 ? d->c->cmds[st][m] : 0;

		n[m] = (unsigned)avg + (rnd01(d) < avg - floor(avg));
		if (m == NFP_MEM_LM) {
			cycles += n[m] * p->lat_lm;
			n[m] = 0;
		}
		if (m == NFP_MEM_HOST)
			n[m] = host_bytes ? 1 : 0;
		total += n[m];
	}
	per = cycles / (total + 1);
	op_add(j, -1, per);
	for (int m = 0; m < NFP_MEM__MAX; m++)
		for (unsigned k = 0; k < n[m]; k++) {
			double b = m == NFP_MEM_HOST ? host_bytes :
				   m == NFP_MEM_CTM && st == SIM_ST_POST ? j->payload : d->c->bytes[st][m];

			op_add(j, m, b > 0 ? b : 4);
			op_add(j, -1, per + p->ctx_swap_cycles);
		}
}

static double ir(struct des *d, double rpc, double bulk)
{
	return d->t == SIM_RPC ? rpc : bulk;
}

static void ops_for(struct des *d, struct job *j, int station)
{
	const struct sim_params *p = d->p;
	bool rx_payload = j->kind == J_REQ || j->kind == J_DATA;

	j->nops = j->op = 0;
	switch (station) {
	case S_PRE:
		ops_stage(d, j, SIM_ST_PRE, ir(d, p->ir_pre_rpc, p->ir_pre_bulk), 0);
		break;
	case S_PROTO:
		ops_stage(d, j, SIM_ST_PROTO, ir(d, p->ir_proto_rpc, p->ir_proto_bulk), 0);
		break;
	case S_POST:
		ops_stage(d, j, SIM_ST_POST, ir(d, p->ir_post_rpc, p->ir_post_bulk),
			  rx_payload ? j->payload : 0);
		break;
	case S_RTC:
		ops_stage(d, j, SIM_ST_PRE, ir(d, p->ir_pre_rpc, p->ir_pre_bulk), 0);
		ops_stage(d, j, SIM_ST_PROTO, ir(d, p->ir_proto_rpc, p->ir_proto_bulk), 0);
		ops_stage(d, j, SIM_ST_POST, ir(d, p->ir_post_rpc, p->ir_post_bulk), j->payload);
		break;
	case S_QMAN: /* the flow scheduler and the DMA engine's descriptor */
		ops_stage(d, j, -1, ir(d, p->ir_sched_rpc, p->ir_sched_bulk) + p->dma_ir, 0);
		op_add(j, NFP_MEM_EMEM, 16);
		op_add(j, -1, p->ctx_swap_cycles);
		break;
	case S_DMA:
		ops_stage(d, j, -1, p->dma_ir, 0);
		break;
	case S_PROTO_TX:
		ops_stage(d, j, SIM_ST_PROTO, ir(d, p->ir_proto_tx_rpc, p->ir_proto_tx_bulk), 0);
		break;
	case S_POST_TX: /* headers, the payload fetched from the host, frame to CTM */
		ops_stage(d, j, -1, ir(d, p->ir_tx_build_rpc, p->ir_tx_build_bulk), 0);
		op_add(j, NFP_MEM_EMEM, sizeof(struct flow_mem));
		op_add(j, -1, p->ctx_swap_cycles);
		op_add(j, NFP_MEM_HOST, j->payload);
		op_add(j, -1, p->ctx_swap_cycles);
		op_add(j, NFP_MEM_CTM, j->frame);
		op_add(j, -1, p->ctx_swap_cycles);
		break;
	case S_RTC_TX:
		ops_stage(d, j, SIM_ST_PROTO, ir(d, p->ir_proto_tx_rpc, p->ir_proto_tx_bulk), 0);
		op_add(j, -1, ir(d, p->ir_tx_build_rpc, p->ir_tx_build_bulk) * p->cpi);
		op_add(j, NFP_MEM_EMEM, sizeof(struct flow_mem));
		op_add(j, -1, p->ctx_swap_cycles);
		op_add(j, NFP_MEM_HOST, j->payload);
		op_add(j, -1, p->ctx_swap_cycles);
		op_add(j, NFP_MEM_CTM, j->frame);
		op_add(j, -1, p->ctx_swap_cycles);
		break;
	}
}

/* ---- resources ------------------------------------------------------------ */
/* A command of `bytes` on u issued now: when it completes. */
/* The part of [a, b) inside the measured window. */
static double in_window(const struct des *d, double a, double b)
{
	a = a > d->t_start ? a : d->t_start;
	b = b < d->t_end ? b : d->t_end;
	return b > a ? b - a : 0;
}

static double unit_issue(struct des *d, struct unit *u, double bytes)
{
	double start = u->free_at > d->now ? u->free_at : d->now, dur = bytes * u->ns_per_byte;

	u->free_at = start + dur;
	u->busy_ns += in_window(d, start, u->free_at);
	return u->free_at + u->lat_ns;
}

static struct unit *mem_unit(struct des *d, const struct job *j, int mem)
{
	switch (mem) {
	case NFP_MEM_CLS:
		return &d->cls[j->island];
	case NFP_MEM_CTM:
		return &d->ctm[j->island];
	case NFP_MEM_IMEM:
		return &d->imem;
	case NFP_MEM_EMEM:
		return &d->emem;
	default:
		return &d->pcie;
	}
}

static void me_kick(struct des *d, struct me *m);
static void station_enter(struct des *d, struct job *j);
static void station_leave(struct des *d, struct job *j);

/* The job's context runs its next op on its ME (or is done). */
static void ctx_next(struct des *d, struct job *j)
{
	struct me *m = j->me;

	if (j->op == j->nops) {
		/* station done: the context is free again */
		m->free_ctx++;
		j->me = NULL;
		struct job *w = fifo_get(&m->pool->wait);

		if (w) {
			m->free_ctx--;
			w->me = m;
			fifo_put(&m->ready, w);
		}
		me_kick(d, m);
		station_leave(d, j);
		return;
	}
	if (j->ops[j->op].mem < 0) {
		fifo_put(&m->ready, j);
		me_kick(d, m);
		return;
	}
	/* a memory command: the context swaps out until its signal */
	struct op *o = &j->ops[j->op++];

	ev_push(d, unit_issue(d, mem_unit(d, j, o->mem), o->amount), EV_MEM_DONE, j, 0);
	me_kick(d, m);
}

/* The ME runs the next ready context's compute, to its next memory
 * command (non-preemptive). */
static void me_kick(struct des *d, struct me *m)
{
	struct job *j;
	double dur;

	if (m->busy || !(j = fifo_get(&m->ready)))
		return;
	if (j->op == j->nops) { /* nothing left to compute */
		ctx_next(d, j);
		return;
	}
	dur = j->ops[j->op++].amount * d->cyc_ns;
	m->busy = true;
	m->running = j;
	m->pool->busy_ns += in_window(d, d->now, d->now + dur);
	ev_push(d, d->now + dur, EV_COMPUTE_DONE, m, 0);
}

/* Give j a context in pool p: a random ME among those with one free (the
 * seeded, randomised context scheduling), else the pool's wait queue. */
static void pool_submit(struct des *d, struct pool *p, struct job *j)
{
	unsigned cand = 0, pick = 0;

	for (unsigned i = 0; i < p->n; i++)
		if (p->me[i].free_ctx && rnd(d) % ++cand == 0)
			pick = i;
	if (!cand) {
		fifo_put(&p->wait, j);
		return;
	}
	p->me[pick].free_ctx--;
	j->me = &p->me[pick];
	fifo_put(&p->me[pick].ready, j);
	me_kick(d, &p->me[pick]);
}

static void rob_complete(struct des *d, struct rob *r, struct job *j)
{
	r->slot[j->seq & r->mask] = j;
	while (r->slot[r->release & r->mask]) {
		struct job *k = r->slot[r->release & r->mask];

		r->slot[r->release & r->mask] = NULL;
		r->release++;
		k->step++;
		station_enter(d, k);
	}
}

static void next_station(struct des *d, struct job *j, double at)
{
	j->step++;
	if (at <= d->now)
		station_enter(d, j);
	else
		ev_push(d, at, EV_ARRIVE, j, 0);
}

/* The peer sends: a request or a data segment of connection c. */
static void peer_send(struct des *d, uint32_t c)
{
	struct job *j = job_new(d, d->t == SIM_RPC ? J_REQ : J_DATA, c);

	if (!j)
		return;
	j->t0 = d->now;
	j->fseq = d->conns[c].sent++;
	j->step = 0;
	station_enter(d, j); /* the wire's latency was paid before */
}

static void serial_lock(struct des *d, struct job *j, struct pool *p)
{
	struct flow_lock *fl = &d->lock[j->flow];

	if (fl->busy) {
		fifo_put(&fl->wait, j);
		return;
	}
	fl->busy = true;
	pool_submit(d, p, j);
}

static void serial_unlock(struct des *d, struct job *j)
{
	struct flow_lock *fl = &d->lock[j->flow];
	struct job *w = fifo_get(&fl->wait);

	if (!w) {
		fl->busy = false;
		return;
	}
	pool_submit(d, d->l.rtc ? &d->rtc[w->flow % d->l.rtc] : &d->proto[w->fg], w);
}

static bool measuring(const struct des *d)
{
	return d->now >= d->t_start && d->now < d->t_end;
}

static void station_enter(struct des *d, struct job *j)
{
	const struct sim_params *p = d->p;
	int s = j->route[j->step];

	switch (s) {
	case S_MAC_RX:
		if (j->kind != J_ACK)
			j->seq = d->rob[j->fg][0].assign++; /* the ingress sequencer */
		next_station(d, j, unit_issue(d, &d->mac_rx[j->flow % (unsigned)p->mac_ports],
					      j->frame + 20));
		return;
	case S_PRE:
		ops_for(d, j, s);
		pool_submit(d, &d->pre[j->fg], j);
		return;
	case S_ROB_PROTO:
		rob_complete(d, &d->rob[j->fg][0], j);
		return;
	case S_PROTO:
	case S_PROTO_TX:
		ops_for(d, j, s);
		serial_lock(d, j, &d->proto[j->fg]);
		return;
	case S_RTC:
	case S_RTC_TX:
		ops_for(d, j, s);
		serial_lock(d, j, &d->rtc[j->flow % d->l.rtc]);
		return;
	case S_POST:
	case S_POST_TX:
		ops_for(d, j, s);
		pool_submit(d, &d->post[j->fg], j);
		return;
	case S_ROB_HOST:
		rob_complete(d, &d->rob[j->fg][1], j);
		return;
	case S_ROB_WIRE:
		rob_complete(d, &d->rob[j->fg][2], j);
		return;
	case S_DMA:
	case S_QMAN:
		ops_for(d, j, s);
		pool_submit(d, &d->isl36, j);
		return;
	case S_DOORBELL: /* the application's doorbell write crosses PCIe */
		next_station(d, j, d->now + p->pcie_lat_ns / 2);
		return;
	case S_MAC_TX:
		next_station(d, j, unit_issue(d, &d->mac_tx[j->flow % (unsigned)p->mac_ports],
					      j->frame + 20));
		return;
	case S_WIRE:
		next_station(d, j, d->now + p->wire_lat_ns);
		return;
	case S_END_RX:
		/* the pipeline must hand every connection's segments to the
		 * host in the order the peer sent them */
		if (j->fseq != d->conns[j->flow].delivered++)
			d->order_faults++;
		if (measuring(d)) {
			d->frames++;
			d->payload_bytes += j->payload;
		}
		if (j->kind == J_REQ) {
			/* the application answers */
			struct job *r = job_new(d, J_RESP, j->flow);

			if (r) {
				struct conn *cn = &d->conns[j->flow];

				if (cn->t0_tail - cn->t0_head == RESP_Q)
					d->order_faults++; /* cannot happen: window < RESP_Q */
				else
					cn->t0q[cn->t0_tail++ % RESP_Q] = j->t0;
				ev_push(d, d->now + p->host_turnaround_ns, EV_ARRIVE, r, 0);
			}
		}
		job_free(d, j);
		return;
	case S_END_TX: /* at the peer */
		if (measuring(d)) {
			d->frames++;
			d->payload_bytes += j->payload;
		}
		if (j->kind == J_RESP) {
			/* and every connection's responses to the peer in order */
			if (j->fseq != d->conns[j->flow].resp_seen++)
				d->order_faults++;
			if (measuring(d)) {
				d->rpcs++;
				if (d->nlat == d->lat_cap) {
					size_t cap = d->lat_cap ? d->lat_cap * 2 : 65536;
					double *n = realloc(d->lat, cap * sizeof(*n));

					if (!n) {
						d->oom = true;
						job_free(d, j);
						return;
					}
					d->lat = n;
					d->lat_cap = cap;
				}
				d->lat[d->nlat++] = d->now - j->t0;
			}
			ev_push(d, d->now, EV_SEND, NULL, j->flow);
		} else if (j->kind == J_ACK) {
			/* each ACK covers two segments: the peer sends two more */
			ev_push(d, d->now, EV_SEND, NULL, j->flow);
			ev_push(d, d->now, EV_SEND, NULL, j->flow);
		}
		job_free(d, j);
		return;
	}
}

/* A response leaves the (serial) protocol step: it carries the next bytes
 * of the flow's stream, i.e. the oldest answered request. */
static void resp_take(struct des *d, struct job *j)
{
	struct conn *cn = &d->conns[j->flow];

	if (j->kind != J_RESP)
		return;
	if (cn->t0_head == cn->t0_tail) {
		d->order_faults++; /* cannot happen: one entry per response */
		return;
	}
	j->t0 = cn->t0q[cn->t0_head++ % RESP_Q];
	j->fseq = cn->resp_wire++;
}

/* A job finished its ops at an ME station. */
static void station_leave(struct des *d, struct job *j)
{
	int s = j->route[j->step];

	switch (s) {
	case S_PROTO:
		j->seq = d->rob[j->fg][1].assign++;
		serial_unlock(d, j);
		break;
	case S_PROTO_TX:
		j->seq = d->rob[j->fg][2].assign++;
		resp_take(d, j);
		serial_unlock(d, j);
		break;
	case S_RTC:
		j->seq = d->rob[j->fg][1].assign++;
		serial_unlock(d, j);
		break;
	case S_RTC_TX:
		resp_take(d, j);
		serial_unlock(d, j);
		break;
	default:
		break;
	}
	if ((s == S_POST || s == S_RTC) && j->kind == J_DATA &&
	    ++d->conns[j->flow].rx_count % 2 == 0) {
		/* delayed ACK: every second segment (RFC 9293 3.8.6.3) */
		struct job *a = job_new(d, J_ACK, j->flow);

		if (a)
			station_enter(d, a);
	}
	next_station(d, j, d->now);
}

/* ---- a run ----------------------------------------------------------------- */
static int pools_init(struct des *d, struct pool **pp, unsigned npools, unsigned per,
		      enum des_stage st)
{
	struct pool *p = calloc(npools, sizeof(*p));

	*pp = p;
	if (!p)
		return -ENOMEM;
	for (unsigned i = 0; i < npools; i++) {
		p[i].n = per;
		p[i].stage = st;
		p[i].me = calloc(per, sizeof(struct me));
		if (!p[i].me)
			return -ENOMEM;
		for (unsigned k = 0; k < per; k++) {
			p[i].me[k].pool = &p[i];
			p[i].me[k].free_ctx = (unsigned)d->p->contexts;
		}
	}
	return 0;
}

static void pools_free(struct pool *p, unsigned n)
{
	if (!p)
		return;
	for (unsigned i = 0; i < n; i++)
		free(p[i].me);
	free(p);
}

/* The busiest pool's busy fraction: a flow group's pre/post MEs together,
 * its protocol ME, one run-to-completion ME (a single hot flow group or
 * ME shows, instead of vanishing in an average over idle ones). */
static double pools_util(const struct pool *p, unsigned n, double span)
{
	double u = 0;

	for (unsigned i = 0; p && i < n; i++)
		if (p[i].busy_ns / span / p[i].n > u)
			u = p[i].busy_ns / span / p[i].n;
	return u;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int des_run(const struct sim_params *p, const struct des_costs *c, const struct des_layout *l,
	    enum sim_traffic t, unsigned conns, uint64_t seed, struct des_result *r)
{
	struct des *d = calloc(1, sizeof(*d));
	unsigned fg = l->rtc ? 1 : l->fg, ports = (unsigned)p->mac_ports;
	int rc = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!d)
		return -ENOMEM;
	d->p = p;
	d->c = c;
	d->l = *l;
	if (l->rtc)
		d->l.fg = 1;
	d->t = t;
	d->nconns = conns;
	d->cyc_ns = 1000.0 / p->clock_mhz;
	d->rng = seed * 0x9e3779b97f4a7c15ull + 11;
	d->t_start = p->warmup_us * 1000;
	d->t_end = d->t_start + p->measure_us * 1000;
	if (ports > 4)
		ports = 4;
	for (unsigned i = 0; i < NFP_FLOW_GROUPS; i++) {
		d->cls[i] = (struct unit){ .ns_per_byte = d->cyc_ns / p->bw_cls, .lat_ns = p->lat_cls * d->cyc_ns };
		d->ctm[i] = (struct unit){ .ns_per_byte = d->cyc_ns / p->bw_ctm, .lat_ns = p->lat_ctm * d->cyc_ns };
	}
	d->imem = (struct unit){ .ns_per_byte = d->cyc_ns / p->bw_imem, .lat_ns = p->lat_imem * d->cyc_ns };
	d->emem = (struct unit){ .ns_per_byte = d->cyc_ns / p->bw_emem, .lat_ns = p->lat_emem * d->cyc_ns };
	d->pcie = (struct unit){ .ns_per_byte = 8.0 / p->pcie_gbps, .lat_ns = p->pcie_lat_ns };
	for (unsigned i = 0; i < ports; i++) {
		d->mac_rx[i] = (struct unit){ .ns_per_byte = 8.0 / p->mac_gbps };
		d->mac_tx[i] = (struct unit){ .ns_per_byte = 8.0 / p->mac_gbps };
	}
	d->conns = calloc(conns, sizeof(*d->conns));
	d->lock = calloc(conns, sizeof(*d->lock));
	d->rob = calloc(fg, sizeof(*d->rob));
	if (!d->conns || !d->lock || !d->rob)
		goto out;
	for (unsigned i = 0; i < fg; i++)
		for (int k = 0; k < 3; k++) {
			/* room for every job in flight */
			uint32_t n = 1;

			while (n < conns * (unsigned)(p->rpc_window + p->bulk_window) * 2 + 64)
				n <<= 1;
			d->rob[i][k].mask = n - 1;
			d->rob[i][k].slot = calloc(n, sizeof(struct job *));
			if (!d->rob[i][k].slot)
				goto out;
		}
	if (l->rtc) {
		if (pools_init(d, &d->rtc, l->rtc, 1, DES_RTC))
			goto out;
	} else if (pools_init(d, &d->pre, fg, l->pre, DES_PRE) ||
		   pools_init(d, &d->proto, fg, 1, DES_PROTO) ||
		   pools_init(d, &d->post, fg, l->post, DES_POST)) {
		goto out;
	}
	{
		struct pool *i36;

		if (pools_init(d, &i36, 1, l->isl36 ? l->isl36 : 1, DES_ISL36))
			goto out;
		d->isl36 = *i36;
		free(i36);
		for (unsigned k = 0; k < d->isl36.n; k++)
			d->isl36.me[k].pool = &d->isl36;
	}
	/* The peer opens every connection's window at once.  The windows are
	 * one connection's; over many connections each gets its share, at
	 * least one RPC or two segments (many clients with little in flight
	 * each), so the backlog, and the time to steady state, stay bounded. */
	unsigned w = (unsigned)(t == SIM_RPC ? p->rpc_window : p->bulk_window) / conns;

	if (w < (t == SIM_RPC ? 1u : 2u))
		w = t == SIM_RPC ? 1 : 2;
	for (unsigned i = 0; i < conns; i++) {
		for (unsigned k = 0; k < w; k++)
			ev_push(d, (double)(rnd(d) % 1000), EV_SEND, NULL, i);
	}
	while (d->nev && !d->oom) {
		struct event e = ev_pop(d);

		d->now = e.t;
		d->events++;
		if (d->now >= d->t_end)
			break;
		switch (e.type) {
		case EV_ARRIVE:
			station_enter(d, e.p);
			break;
		case EV_COMPUTE_DONE: {
			struct me *m = e.p;
			struct job *j = m->running;

			m->busy = false;
			m->running = NULL;
			ctx_next(d, j);
			me_kick(d, m);
			break;
		}
		case EV_MEM_DONE: {
			struct job *j = e.p;

			/* the signal arrived: the context is ready again */
			ctx_next(d, j);
			break;
		}
		case EV_SEND:
			peer_send(d, e.arg);
			break;
		}
	}
	if (d->oom)
		goto out;
	{
		double span = d->t_end - d->t_start, best = -1;

		r->events = d->events;
		r->order_faults = d->order_faults;
		r->mpps = d->frames / span * 1e3;
		r->gbps = d->payload_bytes * 8.0 / span;
		r->rpc_mops = d->rpcs / span * 1e3;
		if (d->nlat) {
			qsort(d->lat, d->nlat, sizeof(double), cmp_double);
			r->lat_p50_us = d->lat[d->nlat / 2] / 1000;
			r->lat_p99_us = d->lat[(size_t)(d->nlat * 0.99)] / 1000;
			r->lat_p999_us = d->lat[(size_t)(d->nlat * 0.999)] / 1000;
		}
		r->util[DES_PRE] = pools_util(d->pre, fg, span);
		r->util[DES_PROTO] = pools_util(d->proto, fg, span);
		r->util[DES_POST] = pools_util(d->post, fg, span);
		r->util[DES_RTC] = pools_util(d->rtc, l->rtc, span);
		r->util[DES_ISL36] = pools_util(&d->isl36, 1, span);
		r->util[DES_PCIE] = d->pcie.busy_ns / span;
		for (unsigned i = 0; i < ports; i++) {
			r->util[DES_MAC_RX] = fmax(r->util[DES_MAC_RX], d->mac_rx[i].busy_ns / span);
			r->util[DES_MAC_TX] = fmax(r->util[DES_MAC_TX], d->mac_tx[i].busy_ns / span);
		}
		for (int s = 0; s < DES__STAGES; s++)
			if (r->util[s] > best) {
				best = r->util[s];
				r->bottleneck = (enum des_stage)s;
			}
	}
	rc = 0;
out:
	for (size_t i = 0; i < d->nchunks; i++)
		free(d->chunks[i]);
	free(d->chunks);
	free(d->ev);
	free(d->lat);
	free(d->conns);
	free(d->lock);
	if (d->rob)
		for (unsigned i = 0; i < fg; i++)
			for (int k = 0; k < 3; k++)
				free(d->rob[i][k].slot);
	free(d->rob);
	pools_free(d->pre, fg);
	pools_free(d->proto, fg);
	pools_free(d->post, fg);
	pools_free(d->rtc, l->rtc);
	free(d->isl36.me);
	free(d);
	return rc;
}

void des_costs_from_world(const struct sim_world *w, const struct sim_params *p, struct des_costs *c)
{
	/* rx-pre runs on the pre-processing ME, rx-post on post-processing */
	static const struct { enum flextoe_hook hook; int st; } at[] = {
		{ FLEXTOE_HOOK_RX_PRE, SIM_ST_PRE }, { FLEXTOE_HOOK_RX_POST, SIM_ST_POST },
	};

	memset(c, 0, sizeof(*c));
	for (int s = 0; s < SIM_ST__MAX; s++)
		for (int m = 0; m < NFP_MEM__MAX; m++) {
			double items = w->st[s].items ? (double)w->st[s].items : 1;

			c->cmds[s][m] = w->st[s].acct.cmds[m] / items;
			c->bytes[s][m] = w->st[s].acct.cmds[m] ?
				(double)w->st[s].acct.bytes[m] / w->st[s].acct.cmds[m] : 0;
		}
	for (unsigned i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		struct sim_hook_cost hc;
		int s = at[i].st;
		double per; /* runs per item of the stage */

		sim_hook_cost(w->cfg.hooks, at[i].hook, p, &hc);
		if (!hc.runs || !w->st[s].items)
			continue;
		per = hc.runs / (double)w->st[s].items;
		c->hook_cycles[s] += hc.cycles * per;
		c->hook_insns[s] += hc.insns * per;
		for (int m = 0; m < NFP_MEM__MAX; m++) {
			double add = hc.cmds[m] * per;

			if (add <= 0)
				continue;
			c->bytes[s][m] = (c->bytes[s][m] * c->cmds[s][m] + hc.bytes[m] * add) /
					 (c->cmds[s][m] + add);
			c->cmds[s][m] += add;
			c->hook_cmds[s] += add;
		}
	}
}
