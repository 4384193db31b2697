/* classify_app.c - test application: several FlexTOE contexts listen on one shared port, each echoes and reports the connections it accepts. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flextoe/api.h"

#define MAX_CTX 8

/*
 * For tests/integration/classify.sh: N contexts (as N application threads
 * would have, here served by one thread) call ftoe_listen_shared() on the
 * same port.  Prints, line-buffered:
 *   ctx K id ID listening on port P      one per context, then "ready"
 *   accept id ID peer A.B.C.D:PORT       each accepted connection
 *   total id ID accepted N               per context at exit (SIGTERM)
 * and echoes every byte back, so clients can check their connection
 * works end to end.
 */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: classify-app --port PORT [--contexts N] [--run-dir DIR]\n"
		   "N (1..%d, default 2) contexts listen on PORT with ftoe_listen_shared;\n"
		   "each accepted connection is reported with the context's id and echoed.\n",
		MAX_CTX);
}

/* 1 when the connection is finished. */
static int echo(struct ftoe_ctx *ctx, int s)
{
	char buf[4096];

	for (;;) {
		ssize_t n = ftoe_recv(ctx, s, buf, sizeof(buf));

		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return 1;
		for (ssize_t off = 0; off < n;) {
			ssize_t m = ftoe_send(ctx, s, buf + off, (size_t)(n - off));

			if (m == -EAGAIN) {
				usleep(1000);	/* tiny test messages: the ring drains at once */
				continue;
			}
			if (m < 0)
				return 1;
			off += m;
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "contexts", required_argument, NULL, 'n' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ftoe_ctx_opts o = { .sz = sizeof(o), .max_socks = 256, .nonblock = 1 };
	struct ftoe_ctx *ctx[MAX_CTX] = { 0 };
	struct pollfd pfd[MAX_CTX];
	unsigned long accepted[MAX_CTX] = { 0 };
	int ls[MAX_CTX], id[MAX_CTX];
	long port = 0, n = 2;
	int c, rc = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "classify-app: bad --port '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > MAX_CTX) {
				fprintf(stderr, "classify-app: bad --contexts '%s' (1..%d)\n", optarg,
					MAX_CTX);
				return 2;
			}
			break;
		case 'r':
			o.run_dir = optarg;
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
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (int k = 0; k < n; k++) {
		int err = ftoe_ctx_create(&o, &ctx[k]);

		if (err) {
			fprintf(stderr, "classify-app: cannot reach the engine: %s\n", ftoe_strerror(err));
			rc = 1;
			goto out;
		}
		id[k] = ftoe_ctx_id(ctx[k]);
		ls[k] = ftoe_listen_shared(ctx[k], (uint16_t)port, 128);
		if (ls[k] < 0) {
			fprintf(stderr, "classify-app: context %d (id %d): listen on port %ld: %s\n", k,
				id[k], port, ftoe_strerror(ls[k]));
			rc = 1;
			goto out;
		}
		pfd[k].fd = ftoe_ctx_fd(ctx[k]);
		pfd[k].events = POLLIN;
		printf("ctx %d id %d listening on port %ld\n", k, id[k], port);
	}
	printf("ready\n");

	while (!stop) {
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR) {
			perror("classify-app: poll");
			rc = 1;
			break;
		}
		for (int k = 0; k < n; k++) {
			struct ftoe_event evs[64];
			int ne = ftoe_ctx_poll(ctx[k], evs, 64, 0);

			if (ne < 0) {
				fprintf(stderr, "classify-app: lost the engine: %s\n", ftoe_strerror(ne));
				rc = 1;
				stop = 1;
				break;
			}
			for (int i = 0; i < ne; i++) {
				int s = evs[i].sock;

				if (s == ls[k]) {
					struct sockaddr_in peer;

					while ((s = ftoe_accept(ctx[k], ls[k], &peer)) >= 0) {
						char ip[INET_ADDRSTRLEN];

						accepted[k]++;
						inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof(ip));
						printf("accept id %d peer %s:%u\n", id[k], ip,
						       (unsigned)ntohs(peer.sin_port));
						if (echo(ctx[k], s))
							ftoe_close(ctx[k], s);
					}
					continue;
				}
				if (echo(ctx[k], s))
					ftoe_close(ctx[k], s);
			}
		}
	}
	for (int k = 0; k < n; k++)
		printf("total id %d accepted %lu\n", id[k], accepted[k]);
out:
	for (int k = 0; k < n; k++)
		if (ctx[k])
			ftoe_ctx_destroy(ctx[k]);
	return rc;
}
