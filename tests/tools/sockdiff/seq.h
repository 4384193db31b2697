/* seq.h - sequences of socket calls for the POSIX differential test and its fuzz target: ops, generation, execution, comparison. */
#ifndef SOCKDIFF_SEQ_H
#define SOCKDIFF_SEQ_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A sequence is a list of socket calls on a few slots (SEQ_SLOTS), each slot
 * holding the fd a call returned.  The same sequence runs in two "worlds":
 * one whose own address and peer are reached through the kernel, one through
 * the engine (or, in the self-check, both through the kernel).  Every call's
 * result is normalized (fd numbers, addresses and ports differ between
 * worlds by construction) and the two worlds' results are compared step by
 * step.
 */
#define SEQ_SLOTS   4
#define SEQ_MAX_OPS 64

enum seq_opcode {
	OP_SOCKET,	/* a: type flags variant, b: domain/type/protocol variant */
	OP_BIND,	/* a: address variant, b: port variant */
	OP_LISTEN,	/* a: backlog variant */
	OP_ACCEPT,	/* a: accept/accept4 flags variant, b: address-buffer variant */
	OP_CONNECT,	/* a: target variant */
	OP_PEER_CONNECT,/* the peer connects to the slot's bound port (for accept) */
	OP_SHUTDOWN,	/* a: how (0..3, 3 is invalid) */
	OP_CLOSE,
	OP_SETSOCKOPT,	/* a: option index, b: value variant, c: optlen variant */
	OP_GETSOCKOPT,	/* a: option index, c: optlen variant */
	OP_SEND,	/* a: call (send/sendto/sendmsg/write/writev), b: length, c: flags */
	OP_RECV,	/* a: call (recv/recvfrom/recvmsg/read/readv), b: length, c: flags */
	OP_FCNTL,	/* a: command variant */
	OP_IOCTL,	/* a: request variant */
	OP_DUP,		/* a: dup/dup2/dup3 variant, b: target slot */
	OP_GETNAME,	/* a: getsockname/getpeername, b: length variant */
	OP_POLL,	/* poll(POLLIN|POLLOUT|POLLRDHUP, timeout 0) */
	OP__COUNT
};

struct seq_op {
	uint8_t code;	/* enum seq_opcode */
	uint8_t slot;	/* < SEQ_SLOTS, or a bad-fd variant (slot_fd()) */
	uint8_t a, b, c;
};

struct seq {
	unsigned n;
	struct seq_op op[SEQ_MAX_OPS];
};

/* One call's normalized outcome. */
struct seq_res {
	int ret;	/* -1, 0, 1 for "an fd / a positive count" unless exact */
	int err;	/* errno when ret == -1, else 0 */
	long long val;	/* option value, revents, flags, normalized address... */
	int has_val;
};

/* Where a world's sockets go. */
struct seq_world {
	const char *name;
	struct in_addr own;	/* the address sockets bind to ("own") */
	struct in_addr peer;	/* the echo peer */
	uint16_t peer_port;	/* the peer's echo port (peer_port + 1 is closed) */
	uint16_t port_base;	/* this world's ports: port_base + 0..63 per sequence */
	const char *peer_ctl;	/* the peer's UNIX control socket (OP_PEER_CONNECT) */
	int settle_ms;		/* how long to wait for data/connections the model expects */
};

/* seq_gen.c */
void seq_generate(struct seq *s, uint64_t *rng, unsigned len);
/* Decode fuzzer bytes into a sequence: 5 bytes per op. */
void seq_decode(struct seq *s, const uint8_t *data, size_t size);
void seq_print_op(FILE *f, const struct seq_op *op);
extern const char *const seq_opname[OP__COUNT];

/* seq_exec.c */
/* Run s in world w; seq_index picks this sequence's ports.  res gets one
 * entry per op.  Every fd the sequence opened is closed on return. */
void seq_run(const struct seq *s, const struct seq_world *w, unsigned seq_index,
	     struct seq_res *res);
/* Index of the first step whose results differ, or -1. */
int seq_compare(const struct seq *s, const struct seq_res *a, const struct seq_res *b);
void seq_print_res(FILE *f, const struct seq_res *r);
/* The call as the executor makes it, e.g. "send(MSG_DONTWAIT,len=100)" (static buffer). */
const char *seq_variant(const struct seq_op *op);
/* Ignore SIGPIPE (a send on a reset connection returns EPIPE in both worlds). */
void seq_exec_init(void);
/* Waits for the model's expectations that ran out (a sign of a wrong model). */
extern unsigned seq_settle_timeouts;
/* Call shapes both worlds skip, each for a difference docs/posix.md lists
 * as inherent to the engine; the run prints how many it skipped and why. */
#define SEQ_SKIPPED (-100)	/* seq_res.ret of a skipped call */
enum { SKIP_OOB_SEND, SKIP_USER_TIMEOUT, SKIP__COUNT };
extern bool seq_skip_known;	/* skip them (sockdiff run; the fuzzer calls them all) */
extern unsigned seq_skipped[SKIP__COUNT];
extern const char *const seq_skip_reason[SKIP__COUNT];

/* peer.c: the echo peer and its control socket */
int peer_serve(struct in_addr bind_addr, uint16_t port, const char *ctl_path);
/* Ask the peer at ctl_path to connect to addr:port; returns 0 or -errno of
 * the peer's connect(), or -EIO if the peer did not answer. */
int peer_request_connect(const char *ctl_path, struct in_addr addr, uint16_t port);

#endif
