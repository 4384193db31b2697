/* seq_gen.c - socket-call sequences from a seeded PRNG or from fuzzer bytes, and their printing. */
#include "seq.h"

const char *const seq_opname[OP__COUNT] = {
	[OP_SOCKET] = "socket", [OP_BIND] = "bind", [OP_LISTEN] = "listen",
	[OP_ACCEPT] = "accept", [OP_CONNECT] = "connect", [OP_PEER_CONNECT] = "peer-connect",
	[OP_SHUTDOWN] = "shutdown", [OP_CLOSE] = "close", [OP_SETSOCKOPT] = "setsockopt",
	[OP_GETSOCKOPT] = "getsockopt", [OP_SEND] = "send", [OP_RECV] = "recv",
	[OP_FCNTL] = "fcntl", [OP_IOCTL] = "ioctl", [OP_DUP] = "dup", [OP_GETNAME] = "getname",
	[OP_POLL] = "poll",
};

/* xorshift64*: small, seedable, the same on every machine */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static unsigned pick(uint64_t *s, unsigned n)
{
	return (unsigned)((rnd(s) >> 33) % n);
}

/* Op weights: mostly the calls that move a connection along, with options,
 * descriptor calls and bad arguments mixed in. */
static const struct { uint8_t code; uint8_t weight; } weights[] = {
	{ OP_SOCKET, 8 }, { OP_BIND, 8 }, { OP_LISTEN, 6 }, { OP_ACCEPT, 6 },
	{ OP_CONNECT, 10 }, { OP_PEER_CONNECT, 5 }, { OP_SHUTDOWN, 3 }, { OP_CLOSE, 4 },
	{ OP_SETSOCKOPT, 10 }, { OP_GETSOCKOPT, 10 }, { OP_SEND, 12 }, { OP_RECV, 12 },
	{ OP_FCNTL, 6 }, { OP_IOCTL, 5 }, { OP_DUP, 4 }, { OP_GETNAME, 6 }, { OP_POLL, 5 },
};

/* Canned starts that reach the deeper states: a server with a connection
 * the peer made and it accepted, or a client connected to the echo peer. */
static const struct seq_op server_start[] = {
	{ OP_SOCKET, 0, 0, 0, 0 }, { OP_SETSOCKOPT, 0, 0, 2, 0 },	/* SO_REUSEADDR */
	{ OP_BIND, 0, 0, 1, 0 }, { OP_LISTEN, 0, 2, 0, 0 },
	{ OP_PEER_CONNECT, 0, 0, 0, 0 }, { OP_ACCEPT, 0, 1, 1, 0 },	/* into slot 1 */
};
static const struct seq_op client_start[] = {
	{ OP_SOCKET, 0, 0, 0, 0 }, { OP_CONNECT, 0, 0, 0, 0 },
	{ OP_SEND, 0, 0, 2, 0 },
};

static void emit(struct seq *s, const struct seq_op *ops, unsigned n, unsigned len, unsigned slot0)
{
	for (unsigned i = 0; i < n && s->n < len; i++) {
		s->op[s->n] = ops[i];
		s->op[s->n].slot = (uint8_t)((ops[i].slot + slot0) % SEQ_SLOTS);
		s->n++;
	}
}

void seq_generate(struct seq *s, uint64_t *rng, unsigned len)
{
	unsigned total = 0, i, w, open = 0;	/* open: slots a call may have filled */

	for (i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		total += weights[i].weight;
	if (len > SEQ_MAX_OPS)
		len = SEQ_MAX_OPS;
	s->n = 0;
	switch (pick(rng, 3)) {
	case 0: emit(s, server_start, 6, len, 0); open = 3; break;
	case 1: emit(s, client_start, 3, len, 0); open = 1; break;
	}
	while (s->n < len) {
		struct seq_op *op = &s->op[s->n++];

		if (!open || pick(rng, 10) == 0) {
			op->code = OP_SOCKET;
		} else {
			w = pick(rng, total);
			for (i = 0; w >= weights[i].weight; i++)
				w -= weights[i].weight;
			op->code = weights[i].code;
		}
		/* 1 in 12 calls gets a bad descriptor (slot 4..7); the rest
		 * mostly a slot that holds a socket */
		if (pick(rng, 12) == 0) {
			op->slot = (uint8_t)(4 + pick(rng, 4));
		} else if (op->code == OP_SOCKET || !open || pick(rng, 8) == 0) {
			op->slot = (uint8_t)pick(rng, SEQ_SLOTS);
		} else {
			do
				op->slot = (uint8_t)pick(rng, SEQ_SLOTS);
			while (!(open & (1u << op->slot)));
		}
		op->a = (uint8_t)rnd(rng);
		op->b = (uint8_t)rnd(rng);
		op->c = (uint8_t)rnd(rng);
		/* the valid variants are the low ones: bias towards them */
		if (pick(rng, 4)) {
			op->a &= 3;
			op->b &= 3;
			op->c &= 1;
		}
		if (op->slot < SEQ_SLOTS) {
			if (op->code == OP_SOCKET)
				open |= 1u << op->slot;
			else if (op->code == OP_ACCEPT)
				open |= 1u << ((op->slot + 1) % SEQ_SLOTS);
			else if (op->code == OP_DUP)
				open |= 1u << (op->b % SEQ_SLOTS);
			else if (op->code == OP_CLOSE)
				open &= ~(1u << op->slot);
		}
	}
}

void seq_decode(struct seq *s, const uint8_t *data, size_t size)
{
	s->n = 0;
	while (size >= 5 && s->n < SEQ_MAX_OPS) {
		struct seq_op *op = &s->op[s->n++];

		op->code = data[0] % OP__COUNT;
		op->slot = data[1] % 8;
		op->a = data[2];
		op->b = data[3];
		op->c = data[4];
		data += 5;
		size -= 5;
	}
}

void seq_print_op(FILE *f, const struct seq_op *op)
{
	fprintf(f, "%-12s slot=%u a=%u b=%u c=%u", seq_opname[op->code], op->slot, op->a, op->b, op->c);
}
