/* internal.h - libflextoe's context and socket state, shared by its source files. */
#ifndef FTOE_LIBFLEXTOE_INTERNAL_H
#define FTOE_LIBFLEXTOE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <flextoe/appif.h>
#include "flextoe/api.h"

enum { LS_FREE = 0, LS_LISTEN, LS_CONN };

struct lsock {
	uint8_t kind;
	bool nonblock;
	bool queued;			/* in ctx->ready */
	bool shut_wr;
	uint32_t handle;		/* the engine's, with generation */
	uint32_t pending;		/* FTOE_POLL* not yet reported */
	/* listener: connections accepted by the engine, not yet by the app */
	int *aq;
	unsigned int aq_head, aq_len, aq_cap;
	struct sockaddr_in peer;	/* connection: its peer (AF_INET6: see peer6) */
	struct sockaddr_in6 peer6;	/* an IPv6 connection's peer (v6) */
	bool v6;
};

struct ftoe_ctx {
	int fd, efd_in, efd_out;
	int epfd;			/* efd_out + fd: what ftoe_ctx_fd() gives out */
	uint8_t *shm;
	struct appif_layout l;
	uint32_t max_socks, buf_size;
	struct lsock *socks;		/* by slot index */
	uint32_t cmd_head, ev_tail;
	uint64_t req_seq, want_req;
	int32_t res;
	uint8_t want_kind;		/* LS_* the awaited RESULT creates */
	bool got_res, dead, nonblock;
	int *ready;			/* sockets with pending events */
	unsigned int nready;
};

#define LOAD_ACQ(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static inline struct appif_sock *ctx_ssock(struct ftoe_ctx *c, uint32_t i)
{
	return (struct appif_sock *)(c->shm + c->l.socks) + i;
}

static inline uint8_t *ctx_rx(struct ftoe_ctx *c, uint32_t i)
{
	return c->shm + c->l.bufs + (size_t)i * 2 * c->buf_size;
}

static inline uint8_t *ctx_tx(struct ftoe_ctx *c, uint32_t i)
{
	return ctx_rx(c, i) + c->buf_size;
}

/* ctx.c; not exported from libflextoe.so */
#pragma GCC visibility push(hidden)
int ctx_push_cmd(struct ftoe_ctx *c, uint16_t op, uint32_t handle, uint32_t a0, uint32_t a1,
		 uint64_t req);
/* Run a command that answers with a RESULT: the handle or -errno. */
int ctx_call(struct ftoe_ctx *c, uint16_t op, uint8_t kind, uint32_t a0, uint32_t a1);
/* As ctx_call with a whole command (cmd->req is set here). */
int ctx_call_cmd(struct ftoe_ctx *c, uint8_t kind, struct appif_cmd *cmd);
int ctx_push(struct ftoe_ctx *c, const struct appif_cmd *cmd);
void ctx_peer6(struct ftoe_ctx *c, struct lsock *n, uint16_t port);
/* The same for a command on an existing socket's engine handle. */
int ctx_call_handle(struct ftoe_ctx *c, uint16_t op, uint8_t kind, uint32_t handle, uint32_t a0,
		    uint32_t a1);
/* Apply queued events to the sockets' state. */
void ctx_process(struct ftoe_ctx *c);
/* Block until the engine posts something (or timeout_ms passes, -1: no
 * limit): 0, or -ECONNRESET when the engine is gone. */
int ctx_wait(struct ftoe_ctx *c, int timeout_ms);
void ctx_mark(struct ftoe_ctx *c, int s, uint32_t ev);
struct lsock *ctx_sock(struct ftoe_ctx *c, int s);
#pragma GCC visibility pop

#endif
