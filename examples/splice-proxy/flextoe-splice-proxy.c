/* flextoe-splice-proxy.c - an L7 proxy that reads a CONNECT line, connects the backend and splices the two connections in the engine (ftoe_splice), counting any payload it still receives. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flextoe/api.h"

/*
 * Protocol (examples/splice-proxy/README.md):
 *   client -> proxy   "CONNECT IP:PORT\n"   (with --backend: "CONNECT\n" is enough)
 *   proxy  -> client  "OK\n", or "ERR reason\n" and close
 * then the bytes of both directions belong to the client and the backend.
 * The proxy splices as soon as the engine allows it: when "OK\n" is
 * acknowledged and nothing is unread.  A client should wait for "OK\n"
 * before sending; bytes that arrive before the splice anyway are relayed
 * here (counted as pre-splice bytes) and the splice is retried.  After the
 * splice the proxy only watches: every payload byte it still receives is
 * counted (there should be none) and the splice's end closes the pair.
 */

#define MAX_PAIRS   256
#define LINE_MAX_   256
#define RETRY_MS    2	/* splice retry period while it is not yet possible */

/* A backend of either family (sa.sa_family tells which). */
union addr {
	struct sockaddr sa;
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

enum pair_state { P_FREE = 0, P_LINE, P_CONNECTING, P_SPLICING, P_SPLICED };

struct pair {
	enum pair_state st;
	unsigned int no;		/* connection number, for the log */
	int cs, bs;			/* client and backend sockets, -1: none */
	char line[LINE_MAX_];
	size_t line_len;
	unsigned long long pre_c2b, pre_b2c;	/* relayed before the splice */
	unsigned long long post;		/* payload received after the splice */
	bool c_end, b_end;		/* end of stream seen after the splice */
	bool c_eof, b_eof;		/* end of stream relayed before any splice */
	bool relay_only;		/* a peer closed before the splice: relay to the end */
	int end_err;
};

static struct {
	struct ftoe_ctx *ctx;
	struct pair pairs[MAX_PAIRS];
	union addr backend;
	bool has_backend, once, verbose;
	unsigned int conns, spliced, failed, ended;
	unsigned long long post, pre, relayed;
	volatile sig_atomic_t stop;
} P;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flextoe-splice-proxy --port PORT [--backend IP:PORT|[IPV6]:PORT] [--once] [--run-dir DIR] [-v]\n"
		"Reads \"CONNECT IP:PORT\\n\" (or \"CONNECT\\n\" with --backend), connects the backend,\n"
		"answers \"OK\\n\" and splices the two connections in the engine: the splice program\n"
		"(build/xdp-progs/splice.bpf.o) must be loaded at rx-pre.  --once: exit after the\n"
		"first connection ends.  Per connection and at exit it prints the payload bytes it\n"
		"received after the splice (post_splice_bytes, expected 0).\n");
}

/* IP:PORT or [IPV6]:PORT */
static int parse_addr(const char *s, union addr *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	size_t hl;
	char *end;
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	hl = (size_t)(colon - s);
	memcpy(host, s, hl);
	host[hl] = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (host[0] == '[') {
		if (hl < 3 || host[hl - 1] != ']')
			return -EINVAL;
		host[hl - 1] = 0;
		out->v6.sin6_family = AF_INET6;
		out->v6.sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &out->v6.sin6_addr) == 1 ? 0 : -EINVAL;
	}
	out->v4.sin_family = AF_INET;
	out->v4.sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->v4.sin_addr) == 1 ? 0 : -EINVAL;
}

static bool addr_equal(const union addr *a, const union addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET6)
		return a->v6.sin6_port == b->v6.sin6_port &&
		       !memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(a->v6.sin6_addr));
	return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
}

/* "conn N: client ADDR:PORT"; ftoe_accept's address holds IPv4 only, so
 * an IPv6 client's comes from ftoe_getpeername. */
static void print_client(unsigned int no, int sock, const struct sockaddr_in *peer4)
{
	union addr a;
	socklen_t len = sizeof(a);
	char host[INET6_ADDRSTRLEN] = "?";

	if (ftoe_getpeername(P.ctx, sock, &a.sa, &len) == 0 && a.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a.v6.sin6_addr, host, sizeof(host));
		printf("conn %u: client [%s]:%u\n", no, host, ntohs(a.v6.sin6_port));
		return;
	}
	inet_ntop(AF_INET, &peer4->sin_addr, host, sizeof(host));
	printf("conn %u: client %s:%u\n", no, host, ntohs(peer4->sin_port));
}

static struct pair *pair_of(int sock, bool *is_client)
{
	for (int i = 0; i < MAX_PAIRS; i++) {
		struct pair *p = &P.pairs[i];

		if (p->st == P_FREE)
			continue;
		if (p->cs == sock || p->bs == sock) {
			*is_client = p->cs == sock;
			return p;
		}
	}
	return NULL;
}

static void pair_close(struct pair *p)
{
	if (p->cs >= 0)
		ftoe_close(P.ctx, p->cs);
	if (p->bs >= 0)
		ftoe_close(P.ctx, p->bs);
	p->cs = p->bs = -1;
	p->st = P_FREE;
	P.pre += p->pre_c2b + p->pre_b2c;
	P.ended++;
	if (P.once)
		P.stop = 1;
}

static void pair_fail(struct pair *p, const char *reply, const char *why)
{
	fprintf(stderr, "conn %u: %s\n", p->no, why);
	if (reply && p->cs >= 0)
		ftoe_send(P.ctx, p->cs, reply, strlen(reply));
	P.failed++;
	pair_close(p);
}

/* Pre-splice relay: whatever is readable on from goes to to; the end of
 * the stream is passed on as a half-close (*eof). */
static int relay(int from, int to, unsigned long long *count, bool *eof)
{
	char buf[16384];

	while (!*eof) {
		ssize_t n = ftoe_recv(P.ctx, from, buf, sizeof(buf)), m, done = 0;

		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		if (n == 0) {
			*eof = true;
			return ftoe_shutdown(P.ctx, to, FTOE_SHUT_WR);
		}
		while (done < n) {
			m = ftoe_send(P.ctx, to, buf + done, (size_t)(n - done));
			if (m == -EAGAIN) {
				usleep(100);	/* the engine takes it as it drains */
				continue;
			}
			if (m < 0)
				return (int)m;
			done += m;
		}
		*count += (unsigned long long)n;
	}
	return 0;
}

static void try_splice(struct pair *p)
{
	int err = -EAGAIN;

	/* after a half-close the connections are no longer both established:
	 * the rest is relayed here */
	if (!p->c_eof && !p->b_eof && !p->relay_only)
		err = ftoe_splice(P.ctx, p->cs, p->bs);
	if (err == -ENOTCONN) {
		/* a peer's FIN (or reset) came before the splice could */
		p->relay_only = true;
		err = -EAGAIN;
	}
	if (!err) {
		p->st = P_SPLICED;
		P.spliced++;
		printf("conn %u: spliced (pre-splice bytes relayed: client->backend %llu, "
		       "backend->client %llu)\n", p->no, p->pre_c2b, p->pre_b2c);
		fflush(stdout);
		return;
	}
	if (err != -EAGAIN) {
		char why[256];

		if (err == -ENOENT)
			snprintf(why, sizeof(why), "ftoe_splice: no splice program is loaded at rx-pre "
				 "(flextoe-bpf load --hook rx-pre build/xdp-progs/splice.bpf.o)");
		else
			snprintf(why, sizeof(why), "ftoe_splice: %s", strerror(-err));
		pair_fail(p, NULL, why);
		return;
	}
	/* Not yet: move what arrived meanwhile, try again later. */
	err = relay(p->cs, p->bs, &p->pre_c2b, &p->c_eof);
	if (!err)
		err = relay(p->bs, p->cs, &p->pre_b2c, &p->b_eof);
	if (err) {
		char why[128];

		snprintf(why, sizeof(why), "ended before the splice: %s", strerror(-err));
		pair_fail(p, NULL, why);
	} else if (p->c_eof && p->b_eof) {
		printf("conn %u: relayed without a splice (client->backend %llu, backend->client "
		       "%llu)\n", p->no, p->pre_c2b, p->pre_b2c);
		fflush(stdout);
		pair_close(p);
	}
}

static void on_line(struct pair *p)
{
	union addr to;
	char *nl = memchr(p->line, '\n', p->line_len), *arg;
	int s;

	*nl = 0;
	if (nl > p->line && nl[-1] == '\r')
		nl[-1] = 0;
	if (strncmp(p->line, "CONNECT", 7) || (p->line[7] && p->line[7] != ' ')) {
		pair_fail(p, "ERR expected CONNECT\n", "bad request line");
		return;
	}
	arg = p->line + 7;
	while (*arg == ' ')
		arg++;
	if (!*arg) {
		if (!P.has_backend) {
			pair_fail(p, "ERR no backend given\n", "CONNECT without a backend");
			return;
		}
		to = P.backend;
	} else if (parse_addr(arg, &to)) {
		pair_fail(p, "ERR bad address\n", "CONNECT to a bad address");
		return;
	} else if (P.has_backend && !addr_equal(&to, &P.backend)) {
		pair_fail(p, "ERR backend not allowed\n", "CONNECT to another backend than --backend");
		return;
	}
	/* non-blocking: POLLOUT or POLLERR follows */
	s = to.sa.sa_family == AF_INET6 ? ftoe_connect6(P.ctx, &to.v6) : ftoe_connect(P.ctx, &to.v4);
	if (s < 0) {
		char why[128];

		snprintf(why, sizeof(why), "connect: %s", strerror(-s));
		pair_fail(p, "ERR connect failed\n", why);
		return;
	}
	p->bs = s;
	p->st = P_CONNECTING;
	if (P.verbose) {
		char host[INET6_ADDRSTRLEN];
		bool v6 = to.sa.sa_family == AF_INET6;

		inet_ntop(to.sa.sa_family, v6 ? (void *)&to.v6.sin6_addr : (void *)&to.v4.sin_addr,
			  host, sizeof(host));
		fprintf(stderr, "conn %u: connecting %s%s%s:%u\n", p->no, v6 ? "[" : "", host,
			v6 ? "]" : "", ntohs(v6 ? to.v6.sin6_port : to.v4.sin_port));
	}
}

static void client_readable(struct pair *p)
{
	while (p->st == P_LINE) {
		ssize_t n = ftoe_recv(P.ctx, p->cs, p->line + p->line_len, 1);

		if (n == -EAGAIN)
			return;
		if (n <= 0) {
			pair_fail(p, NULL, "client left before its request line");
			return;
		}
		p->line_len++;
		if (p->line[p->line_len - 1] == '\n') {
			on_line(p);
			return;
		}
		if (p->line_len == sizeof(p->line)) {
			pair_fail(p, "ERR line too long\n", "request line too long");
			return;
		}
	}
}

/* After the splice: count what still arrives; both ends: done. */
static void spliced_event(struct pair *p, bool client, uint32_t ev)
{
	char buf[4096];
	bool *end = client ? &p->c_end : &p->b_end;
	int sock = client ? p->cs : p->bs;

	if (*end)
		return;
	for (;;) {
		ssize_t n = ftoe_recv(P.ctx, sock, buf, sizeof(buf));

		if (n > 0) {
			p->post += (unsigned long long)n;
			P.post += (unsigned long long)n;
			continue;
		}
		if (n == -EAGAIN && !(ev & FTOE_POLLHUP))
			return;
		if (n < 0 && n != -EAGAIN)
			p->end_err = (int)n;
		*end = true;
		break;
	}
	if (p->c_end && p->b_end) {
		struct ftoe_splice_stats st;

		/* what the splice program relayed, from the client's side */
		if (ftoe_splice_stats(P.ctx, p->cs, &st))
			memset(&st, 0, sizeof(st));
		P.relayed += st.from_peer_bytes + st.to_peer_bytes;
		printf("conn %u: splice ended: %s; relayed client->backend %llu bytes (%u segments), "
		       "backend->client %llu bytes (%u segments); post_splice_bytes=%llu\n", p->no,
		       p->end_err ? ftoe_strerror(p->end_err) : "closed",
		       (unsigned long long)st.from_peer_bytes, st.from_peer_segs,
		       (unsigned long long)st.to_peer_bytes, st.to_peer_segs, p->post);
		fflush(stdout);
		pair_close(p);
	}
}

static void accept_all(int ls)
{
	for (;;) {
		struct sockaddr_in peer;
		int s = ftoe_accept(P.ctx, ls, &peer);
		struct pair *p = NULL;

		if (s < 0)
			return;
		for (int i = 0; i < MAX_PAIRS && !p; i++)
			if (P.pairs[i].st == P_FREE)
				p = &P.pairs[i];
		if (!p) {
			fprintf(stderr, "too many connections: refusing one\n");
			ftoe_close(P.ctx, s);
			continue;
		}
		memset(p, 0, sizeof(*p));
		p->st = P_LINE;
		p->no = ++P.conns;
		p->cs = s;
		p->bs = -1;
		print_client(p->no, s, &peer);
		fflush(stdout);
		client_readable(p);
	}
}

static void on_stop(int sig)
{
	(void)sig;
	P.stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "backend", required_argument, NULL, 'b' },
		{ "once", no_argument, NULL, '1' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ftoe_ctx_opts o = { .sz = sizeof(o), .max_socks = 2 * MAX_PAIRS + 2,
				   .buf_size = 1u << 16, .nonblock = 1 };
	struct ftoe_event evs[64];
	long port = 0;
	int c, ls, err;
	char *end;

	while ((c = getopt_long(argc, argv, "p:b:1r:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "flextoe-splice-proxy: bad port '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_addr(optarg, &P.backend)) {
				fprintf(stderr, "flextoe-splice-proxy: --backend wants IP:PORT, not '%s'\n",
					optarg);
				return 2;
			}
			P.has_backend = true;
			break;
		case '1':
			P.once = true;
			break;
		case 'r':
			o.run_dir = optarg;
			break;
		case 'v':
			P.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!port || optind != argc) {
		usage(stderr);
		return 2;
	}
	err = ftoe_ctx_create(&o, &P.ctx);
	if (err) {
		fprintf(stderr, "flextoe-splice-proxy: %s\n", ftoe_strerror(err));
		return 1;
	}
	ls = ftoe_listen(P.ctx, (uint16_t)port, 128);
	if (ls < 0) {
		fprintf(stderr, "flextoe-splice-proxy: port %ld: %s\n", port, ftoe_strerror(ls));
		ftoe_ctx_destroy(P.ctx);
		return 1;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	printf("listening on port %ld (pid %d)\n", port, (int)getpid());
	fflush(stdout);

	while (!P.stop) {
		bool pending = false;
		int n;

		for (int i = 0; i < MAX_PAIRS; i++)
			pending |= P.pairs[i].st == P_SPLICING;
		n = ftoe_ctx_poll(P.ctx, evs, 64, pending ? RETRY_MS : 200);
		if (n < 0) {
			fprintf(stderr, "flextoe-splice-proxy: the engine went away: %s\n",
				ftoe_strerror(n));
			break;
		}
		for (int i = 0; i < n; i++) {
			bool client;
			struct pair *p;

			if (evs[i].sock == ls) {
				accept_all(ls);
				continue;
			}
			p = pair_of(evs[i].sock, &client);
			if (!p)
				continue;
			if (p->st == P_LINE && client) {
				client_readable(p);
			} else if (p->st == P_CONNECTING && !client) {
				if (evs[i].events & FTOE_POLLERR) {
					char why[128];

					snprintf(why, sizeof(why), "backend: %s",
						 strerror(-ftoe_error(P.ctx, p->bs)));
					pair_fail(p, "ERR backend unreachable\n", why);
				} else if (evs[i].events & FTOE_POLLOUT) {
					ftoe_send(P.ctx, p->cs, "OK\n", 3);
					p->st = P_SPLICING;
				}
			} else if (p->st == P_SPLICED) {
				spliced_event(p, client, evs[i].events);
			}
		}
		for (int i = 0; i < MAX_PAIRS; i++)
			if (P.pairs[i].st == P_SPLICING)
				try_splice(&P.pairs[i]);
	}
	for (int i = 0; i < MAX_PAIRS; i++)
		if (P.pairs[i].st != P_FREE)
			pair_close(&P.pairs[i]);
	printf("total: conns=%u spliced=%u failed=%u pre_splice_bytes=%llu post_splice_bytes=%llu "
	       "spliced_bytes=%llu\n", P.conns, P.spliced, P.failed, P.pre, P.post, P.relayed);
	ftoe_ctx_destroy(P.ctx);
	return P.failed && !P.spliced ? 1 : 0;
}
