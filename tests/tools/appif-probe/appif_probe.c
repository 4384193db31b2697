/* appif_probe.c - test application for tests/integration/local_users.sh: listens on a port and says what the engine answered, or sends commands naming sockets that are not its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flextoe/api.h"
#include "lib/libflextoe/internal.h"

/*
 * appif-probe listen PORT [--shared] [--hold SECONDS]
 *     ftoe_listen (or ftoe_listen_shared) on PORT; prints
 *     "listen PORT: ok" or "listen PORT: ENAME (message)"; with --hold
 *     keeps the listener that long (accepting nothing).  Exit 0 on ok.
 * appif-probe forge [--own IPv4:PORT] [--handles N] [--gens G]
 *     Goes round libflextoe, which only sends handles of its own sockets,
 *     and sends the engine commands with the handles another application
 *     of the engine would have (slots 0..N-1, generations 1..G): INFO,
 *     SPLICE, SHUTDOWN, TX, RXDONE, CLOSE, ABORT, each asking for a
 *     RESULT.  With --own it first connects a socket of its own and
 *     also asks to splice that one with each forged handle.  Prints
 *     "forged N: R refused with EBADF, A accepted, O other" and exits 0
 *     only when every one was refused with EBADF.
 * Both take --run-dir DIR (else $FLEXTOE_RUN_DIR).  Exit 3: no context
 * ("context: ENAME (message)").
 */

static void usage(FILE *f)
{
	fprintf(f, "usage: appif-probe listen PORT [--shared] [--hold SECONDS] [--run-dir DIR]\n"
		   "       appif-probe forge [--own IPv4:PORT] [--handles N] [--gens G] "
		   "[--run-dir DIR]\n");
}

static const char *ename(int err)
{
	const char *n = strerrorname_np(err < 0 ? -err : err);

	return n ? n : "E?";
}

static int do_listen(struct ftoe_ctx *ctx, long port, int shared, long hold)
{
	int s = shared ? ftoe_listen_shared(ctx, (uint16_t)port, 16) :
			 ftoe_listen(ctx, (uint16_t)port, 16);

	if (s < 0) {
		printf("listen %ld: %s (%s)\n", port, ename(s), ftoe_strerror(s));
		return 1;
	}
	printf("listen %ld: ok\n", port);
	fflush(stdout);
	if (hold > 0)
		sleep((unsigned int)hold);
	return 0;
}

static int do_forge(struct ftoe_ctx *ctx, const struct sockaddr_in *own, unsigned int nh,
		    unsigned int ng)
{
	static const uint16_t ops[] = { APPIF_OP_INFO, APPIF_OP_SPLICE, APPIF_OP_SHUTDOWN,
					APPIF_OP_TX, APPIF_OP_RXDONE, APPIF_OP_CLOSE,
					APPIF_OP_ABORT };
	unsigned long n = 0, refused = 0, accepted = 0, other = 0;
	uint32_t mine = 0;
	int s;

	if (own) {
		s = ftoe_connect(ctx, own);
		if (s < 0) {
			printf("connect: %s (%s)\n", ename(s), ftoe_strerror(s));
			return 1;
		}
		mine = ctx->socks[s].handle;
	}
	for (uint32_t g = 1; g <= ng; g++)
		for (uint32_t i = 0; i < nh; i++) {
			uint32_t h = g << 16 | i;

			if (h == mine)
				continue;
			for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]) + !!own; k++) {
				int r;

				if (k < sizeof(ops) / sizeof(ops[0]))
					r = ctx_call_handle(ctx, ops[k], LS_FREE, h,
							    ops[k] == APPIF_OP_SPLICE ? (mine ? mine : h ^ 1) :
							    ops[k] == APPIF_OP_SHUTDOWN ? FTOE_SHUT_RDWR : 0, 0);
				else	/* my socket spliced with the forged one */
					r = ctx_call_handle(ctx, APPIF_OP_SPLICE, LS_FREE, mine, h, 0);
				n++;
				if (r == -EBADF)
					refused++;
				else if (r >= 0)
					accepted++;
				else
					other++;
				if (r != -EBADF && other + accepted <= 5)
					fprintf(stderr, "appif-probe: op %u on handle %#x: %d (%s)\n",
						k < sizeof(ops) / sizeof(ops[0]) ? ops[k] : APPIF_OP_SPLICE,
						h, r, r < 0 ? ename(r) : "ok");
				if (r == -ECONNRESET)
					goto out;	/* the engine went away */
			}
		}
out:
	printf("forged %lu: %lu refused with EBADF, %lu accepted, %lu other\n", n, refused,
	       accepted, other);
	return n && refused == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "shared", no_argument, NULL, 's' },
		{ "hold", required_argument, NULL, 'H' },
		{ "own", required_argument, NULL, 'o' },
		{ "handles", required_argument, NULL, 'n' },
		{ "gens", required_argument, NULL, 'g' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ftoe_ctx_opts o = { .sz = sizeof(o), .max_socks = 4 };
	struct sockaddr_in own = { .sin_family = AF_INET };
	unsigned long nh = 64, ng = 4;
	long port = 0, hold = 0;
	int c, shared = 0, have_own = 0, rc, err;
	struct ftoe_ctx *ctx;
	char *colon, *end;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			shared = 1;
			break;
		case 'H':
			hold = strtol(optarg, &end, 10);
			if (*end || hold < 0)
				return usage(stderr), 2;
			break;
		case 'o':
			colon = strrchr(optarg, ':');
			if (!colon || (*colon = 0, inet_pton(AF_INET, optarg, &own.sin_addr) != 1))
				return usage(stderr), 2;
			own.sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
			have_own = 1;
			break;
		case 'n':
			nh = strtoul(optarg, &end, 10);
			if (*end || !nh || nh > 65536)
				return usage(stderr), 2;
			break;
		case 'g':
			ng = strtoul(optarg, &end, 10);
			if (*end || !ng || ng > 0x7fff)
				return usage(stderr), 2;
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
	if (optind < argc && !strcmp(argv[optind], "listen") && optind + 2 == argc) {
		port = strtol(argv[optind + 1], &end, 10);
		if (*end || port < 1 || port > 65535)
			return usage(stderr), 2;
	} else if (!(optind + 1 == argc && !strcmp(argv[optind], "forge"))) {
		usage(stderr);
		return 2;
	}
	err = ftoe_ctx_create(&o, &ctx);
	if (err) {
		printf("context: %s (%s)\n", ename(err), ftoe_strerror(err));
		return 3;
	}
	if (port)
		rc = do_listen(ctx, port, shared, hold);
	else
		rc = do_forge(ctx, have_own ? &own : NULL, (unsigned int)nh, (unsigned int)ng);
	ftoe_ctx_destroy(ctx);
	return rc;
}
