/* flextoe-echo.c - an echo server on the FlexTOE engine: many connections, one context, epoll on its event fd, zero-copy. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "flextoe/api.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: flextoe-echo --port PORT [--max-conns N] [--run-dir DIR]\n"
		   "Echo every byte back on each connection accepted on PORT, through the\n"
		   "flextoe engine found in DIR ($FLEXTOE_RUN_DIR, default /run/flextoe).\n");
}

/* Move what is readable into the send ring, without copying through a
 * buffer of ours.  Returns 1 when the connection is finished. */
static int echo(struct ftoe_ctx *ctx, int s, unsigned long long *bytes)
{
	for (;;) {
		const void *in;
		void *out;
		ssize_t n = ftoe_recv_peek(ctx, s, &in), m;

		if (n == -EAGAIN)
			return 0;
		if (n <= 0)
			return 1;	/* end of stream (all echoed) or an error */
		m = ftoe_send_reserve(ctx, s, &out);
		if (m == -EAGAIN)
			return 0;	/* FTOE_POLLOUT will come */
		if (m < 0)
			return 1;
		if (m > n)
			m = n;
		memcpy(out, in, (size_t)m);
		if (ftoe_send_commit(ctx, s, (size_t)m) || ftoe_recv_done(ctx, s, (size_t)m))
			return 1;
		*bytes += (unsigned long long)m;
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ftoe_ctx_opts o = { .sz = sizeof(o), .max_socks = 2048, .nonblock = 1 };
	struct ftoe_event evs[256];
	struct epoll_event ee = { .events = EPOLLIN };
	struct ftoe_ctx *ctx;
	unsigned long long bytes = 0, conns = 0;
	long port = 0;
	int c, ls, ep, err, rc = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "p:m:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, &end, 10);
			if (*end || port < 1 || port > 65535) {
				fprintf(stderr, "flextoe-echo: bad --port '%s' (1..65535)\n", optarg);
				return 2;
			}
			break;
		case 'm':
			o.max_socks = (unsigned int)strtoul(optarg, &end, 10) + 1;
			if (*end || o.max_socks < 2 || o.max_socks > 65535) {
				fprintf(stderr, "flextoe-echo: bad --max-conns '%s' (1..65534)\n", optarg);
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
	err = ftoe_ctx_create(&o, &ctx);
	if (err) {
		fprintf(stderr, "flextoe-echo: cannot reach the engine: %s\n", ftoe_strerror(err));
		return 1;
	}
	ls = ftoe_listen(ctx, (uint16_t)port, 4096);
	if (ls < 0) {
		fprintf(stderr, "flextoe-echo: listen on port %ld: %s\n", port, ftoe_strerror(ls));
		ftoe_ctx_destroy(ctx);
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ftoe_ctx_fd(ctx), &ee)) {
		perror("flextoe-echo: epoll");
		ftoe_ctx_destroy(ctx);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("flextoe-echo: listening on port %ld (pid %d)\n", port, (int)getpid());
	fflush(stdout);

	while (!stop) {
		int n;

		if (epoll_wait(ep, &ee, 1, 1000) < 0 && errno != EINTR) {
			perror("flextoe-echo: epoll_wait");
			break;
		}
		n = ftoe_ctx_poll(ctx, evs, 256, 0);
		if (n < 0) {
			fprintf(stderr, "flextoe-echo: lost the engine: %s\n", ftoe_strerror(n));
			rc = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			int s = evs[i].sock;

			if (s == ls) {
				while ((s = ftoe_accept(ctx, ls, NULL)) >= 0) {
					conns++;
					if (echo(ctx, s, &bytes))
						ftoe_close(ctx, s);
				}
				continue;
			}
			if (echo(ctx, s, &bytes))
				ftoe_close(ctx, s);
		}
	}
	printf("flextoe-echo: %llu connections, %llu bytes echoed\n", conns, bytes);
	close(ep);
	ftoe_ctx_destroy(ctx);
	return rc;
}
