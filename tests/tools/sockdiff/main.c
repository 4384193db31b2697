/* main.c - sockdiff: run generated socket-call sequences in two worlds (kernel and engine, or kernel twice) and list where they differ. */
#include "seq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sockdiff peer --bind IP --port PORT --ctl PATH\n"
		"       sockdiff run --a-own IP --a-peer IP --a-ctl PATH --a-port-base N\n"
		"                    --b-own IP --b-peer IP --b-ctl PATH --b-port-base N\n"
		"                    --peer-port PORT [--a-name NAME] [--b-name NAME]\n"
		"                    [--seed S] [--count N] [--len L] [--only I] [--settle MS] [-v]\n"
		"\n"
		"peer: the echo peer (PORT echoes, PORT+1 is left closed) and its control socket.\n"
		"run:  N sequences of L calls from seed S, each in world A then world B;\n"
		"      prints every sequence whose results differ and exits 1 if any did.\n"
		"      --only I reruns sequence I alone (the same seed regenerates it).\n");
}

static int parse_ip(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "sockdiff: '%s' is not an IPv4 address\n", s);
		return -EINVAL;
	}
	return 0;
}

static int cmd_peer(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bind", required_argument, NULL, 'b' }, { "port", required_argument, NULL, 'p' },
		{ "ctl", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	struct in_addr a = { 0 };
	const char *ctl = NULL;
	int port = 0, c, ret;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'b': if (parse_ip(optarg, &a)) return 2; break;
		case 'p': port = atoi(optarg); break;
		case 'c': ctl = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!ctl || port <= 0 || port > 65534) {
		fprintf(stderr, "sockdiff peer: --ctl PATH and --port 1..65534 are required\n");
		return 2;
	}
	printf("sockdiff peer: echo on %s:%d, %d closed, control %s\n", inet_ntoa(a), port, port + 1, ctl);
	fflush(stdout);
	ret = peer_serve(a, (uint16_t)port, ctl);
	fprintf(stderr, "sockdiff peer: %s\n", strerror(-ret));
	return 1;
}

/* Distinct first differences: the call, its variant and both results. */
#define MAX_KINDS 128
static struct { char key[160]; unsigned n, first; } kinds[MAX_KINDS];
static unsigned nkinds;

static void note_kind(const struct seq_op *op, const struct seq_res *a, const struct seq_res *b, unsigned seq)
{
	char ra[64], rb[64], key[160];
	FILE *fa = fmemopen(ra, sizeof(ra), "w"), *fb = fmemopen(rb, sizeof(rb), "w");
	unsigned i;

	seq_print_res(fa, a);
	seq_print_res(fb, b);
	fclose(fa);
	fclose(fb);
	snprintf(key, sizeof(key), "%s %s | %s", seq_variant(op), ra, rb);
	for (i = 0; i < nkinds; i++)
		if (!strcmp(kinds[i].key, key))
			break;
	if (i == nkinds) {
		if (nkinds == MAX_KINDS)
			return;
		snprintf(kinds[nkinds].key, sizeof(kinds[0].key), "%s", key);
		kinds[nkinds++].first = seq;
	}
	kinds[i].n++;
}

static void print_seq(const struct seq *s, const struct seq_res *ra, const struct seq_res *rb,
		      const char *na, const char *nb)
{
	printf("  %-4s %-44s %-30s %s\n", "step", "call", na, nb);
	for (unsigned i = 0; i < s->n; i++) {
		int diff = ra[i].ret != rb[i].ret || ra[i].err != rb[i].err ||
			   ra[i].has_val != rb[i].has_val || (ra[i].has_val && ra[i].val != rb[i].val);
		char a[64], b[64];
		FILE *fa = fmemopen(a, sizeof(a), "w"), *fb = fmemopen(b, sizeof(b), "w");

		seq_print_res(fa, &ra[i]);
		seq_print_res(fb, &rb[i]);
		fclose(fa);
		fclose(fb);
		printf("%c %-4u ", diff ? '*' : ' ', i);
		printf("%-44s", seq_variant(&s->op[i]));
		printf("  %-30s %s\n", a, b);
	}
}

static int cmd_run(int argc, char **argv)
{
	seq_skip_known = true;
	enum { A_OWN = 256, A_PEER, A_CTL, A_BASE, A_NAME, B_OWN, B_PEER, B_CTL, B_BASE, B_NAME,
	       PEER_PORT, SEED, COUNT, LEN, ONLY, SETTLE };
	static const struct option lo[] = {
		{ "a-own", required_argument, NULL, A_OWN }, { "a-peer", required_argument, NULL, A_PEER },
		{ "a-ctl", required_argument, NULL, A_CTL }, { "a-port-base", required_argument, NULL, A_BASE },
		{ "a-name", required_argument, NULL, A_NAME },
		{ "b-own", required_argument, NULL, B_OWN }, { "b-peer", required_argument, NULL, B_PEER },
		{ "b-ctl", required_argument, NULL, B_CTL }, { "b-port-base", required_argument, NULL, B_BASE },
		{ "b-name", required_argument, NULL, B_NAME },
		{ "peer-port", required_argument, NULL, PEER_PORT }, { "seed", required_argument, NULL, SEED },
		{ "count", required_argument, NULL, COUNT }, { "len", required_argument, NULL, LEN },
		{ "only", required_argument, NULL, ONLY }, { "settle", required_argument, NULL, SETTLE },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0 } };
	struct seq_world wa = { .name = "A", .settle_ms = 1000 }, wb = { .name = "B", .settle_ms = 1000 };
	unsigned long long seed = 1;
	unsigned count = 300, len = 16, bad = 0, calls = 0, first_op[OP__COUNT] = { 0 };
	long only = -1;
	int c, peer_port = 0, verbose = 0, have = 0;
	static struct seq s;
	static struct seq_res ra[SEQ_MAX_OPS], rb[SEQ_MAX_OPS];

	while ((c = getopt_long(argc, argv, "vh", lo, NULL)) != -1) {
		switch (c) {
		case A_OWN: if (parse_ip(optarg, &wa.own)) return 2; have |= 1; break;
		case A_PEER: if (parse_ip(optarg, &wa.peer)) return 2; have |= 2; break;
		case A_CTL: wa.peer_ctl = optarg; have |= 4; break;
		case A_BASE: wa.port_base = (uint16_t)atoi(optarg); break;
		case A_NAME: wa.name = optarg; break;
		case B_OWN: if (parse_ip(optarg, &wb.own)) return 2; have |= 8; break;
		case B_PEER: if (parse_ip(optarg, &wb.peer)) return 2; have |= 16; break;
		case B_CTL: wb.peer_ctl = optarg; have |= 32; break;
		case B_BASE: wb.port_base = (uint16_t)atoi(optarg); break;
		case B_NAME: wb.name = optarg; break;
		case PEER_PORT: peer_port = atoi(optarg); break;
		case SEED: seed = strtoull(optarg, NULL, 0); break;
		case COUNT: count = (unsigned)atoi(optarg); break;
		case LEN: len = (unsigned)atoi(optarg); break;
		case ONLY: only = atol(optarg); break;
		case SETTLE: wa.settle_ms = wb.settle_ms = atoi(optarg); break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (have != 63 || peer_port <= 0 || peer_port > 65534 || wa.port_base < 1024 ||
	    wb.port_base < 1024 || wa.port_base > 65535 - 4096 || wb.port_base > 65535 - 4096 ||
	    len == 0 || len > SEQ_MAX_OPS) {
		fprintf(stderr, "sockdiff run: both worlds need --X-own, --X-peer, --X-ctl and a "
				"--X-port-base in 1024..61439; --peer-port 1..65534; --len 1..%d\n",
			SEQ_MAX_OPS);
		return 2;
	}
	wa.peer_port = wb.peer_port = (uint16_t)peer_port;
	seq_exec_init();
	uint64_t rng = seed ? seed : 1;

	for (unsigned i = 0; i < count; i++) {
		int d;

		seq_generate(&s, &rng, len);
		if (only >= 0 && i != (unsigned long)only)
			continue;
		seq_run(&s, &wa, i, ra);
		seq_run(&s, &wb, i, rb);
		calls += s.n;
		d = seq_compare(&s, ra, rb);
		if (d >= 0) {
			bad++;
			first_op[s.op[d].code]++;
			note_kind(&s.op[d], &ra[d], &rb[d], i);
			printf("MISMATCH sequence %u (--seed %llu --only %u): first at step %d, %s\n",
			       i, seed, i, d, seq_opname[s.op[d].code]);
			print_seq(&s, ra, rb, wa.name, wb.name);
		} else if (verbose) {
			printf("same: sequence %u\n", i);
			print_seq(&s, ra, rb, wa.name, wb.name);
		}
		fflush(stdout);
	}
	if (nkinds) {
		printf("distinct first differences (call and variant: %s | %s; count; first sequence):\n",
		       wa.name, wb.name);
		for (unsigned k = 0; k < nkinds; k++)
			printf("  %-64s %4u  --only %u\n", kinds[k].key, kinds[k].n, kinds[k].first);
	}
	if (bad) {
		printf("first differing call:");
		for (int k = 0; k < OP__COUNT; k++)
			if (first_op[k])
				printf(" %s=%u", seq_opname[k], first_op[k]);
		printf("\n");
	}
	for (int k = 0; k < SKIP__COUNT; k++)
		if (seq_skipped[k])
			printf("skipped (both worlds, a documented difference): %u calls of %s\n",
			       seq_skipped[k], seq_skip_reason[k]);
	printf("sockdiff: %u sequences, %u calls, %s vs %s: %u mismatching (%u waits timed out)\n",
	       only >= 0 ? 1 : count, calls, wa.name, wb.name, bad, seq_settle_timeouts);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "peer"))
		return cmd_peer(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	usage(argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout : stderr);
	return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
}
