/* engine.h - the TCP engine's boundary: what a backend (x86 AF_XDP, NFP,
 * a test harness) provides to the core, and what the core offers back.
 *
 * The backend owns the NIC queues and threads; it hands the engine the
 * frames of TCP segments addressed to the engine's IP and calls its
 * timer/poll entry; the engine sends frames through ftoe_io.  ARP and ICMP
 * are answered by core/control/arp.c and icmp.c, which the backend calls
 * first; the engine asks the backend's neighbour cache for peer MACs.
 */
#ifndef FTOE_CORE_ENGINE_H
#define FTOE_CORE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct ftoe_engine;

/* Provided by the backend. */
struct ftoe_io {
	void *ctx;
	/* Send one frame (the engine's buffer is copied) on queue q.
	 * 0, or -ENOBUFS when the ring is full (the engine retries later). */
	int (*xmit)(void *ctx, unsigned int q, const void *frame, size_t len);
	/* Monotonic time in ns. */
	uint64_t (*now_ns)(void *ctx);
	/* MAC of an on-link IPv4 address (network byte order): 0 with mac
	 * filled, or -EAGAIN while resolution is in progress (the backend
	 * sends the ARP request and calls ftoe_engine_neigh_ready later). */
	int (*neigh_lookup)(void *ctx, uint32_t ip_be, uint8_t mac[6]);
	/* Wake the thread that runs ftoe_engine_poll (e.g. an eventfd write):
	 * called when work arrives from another thread (an application). */
	void (*wake)(void *ctx);
};

struct ftoe_engine_cfg {
	uint32_t ip_be;			/* the engine's address */
	uint32_t prefix_len;
	uint32_t gateway_be;		/* 0: none */
	uint8_t mac[6];			/* the interface's MAC */
	uint16_t mtu;			/* IP MTU, e.g. 1500 */
	uint32_t max_flows;		/* >= 65536 supported */
	unsigned int nr_queues;
	enum { FTOE_CC_DCTCP = 0, FTOE_CC_CONST = 1 } cc;
	uint64_t const_rate_bps;	/* FTOE_CC_CONST */
};

/* Provided by the core (core/engine.c and the stages). */
int ftoe_engine_create(const struct ftoe_engine_cfg *cfg, const struct ftoe_io *io,
		       struct ftoe_engine **out);
void ftoe_engine_destroy(struct ftoe_engine *eng);
/* Frames of TCP segments for the engine's address, Ethernet header first
 * (VLAN tags already removed by the backend or an rx-pre program).  The
 * frames are only borrowed for the duration of the call. */
void ftoe_engine_rx(struct ftoe_engine *eng, unsigned int q, void *const frames[],
		    const uint16_t lens[], unsigned int n);
/* Run timers and transmit what is scheduled on queue q; returns the ns
 * until the next deadline (UINT64_MAX: none), for the caller to block. */
uint64_t ftoe_engine_poll(struct ftoe_engine *eng, unsigned int q);
/* A neighbour the engine asked for (-EAGAIN) has been resolved. */
void ftoe_engine_neigh_ready(struct ftoe_engine *eng, uint32_t ip_be);

#endif
