/* close_exit.c - test application: connects, writes N bytes, ftoe_close()s and exits at once, so the engine still holds unsent bytes of a closed socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flextoe/api.h"
#include "lib/util/sha256.h"

/*
 * For tests/integration/engine_apps.sh: Linux delivers what was written
 * before close() even when the process exits right after it; so must the
 * engine (core/control/appif.c, orphans).  Prints, before closing,
 *   bytes=N sha256=HEX
 * of the pseudo-random bytes it wrote, then closes and exits with 0
 * without waiting for anything (no ftoe_ctx_destroy either).
 */

static void usage(FILE *f)
{
	fprintf(f, "usage: close-exit --connect IPv4:PORT --bytes N [--buf SIZE] [--run-dir DIR]\n"
		   "writes N pseudo-random bytes, prints bytes=N sha256=HEX, closes, exits.\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "connect", required_argument, NULL, 'c' },
		{ "bytes", required_argument, NULL, 'n' },
		{ "buf", required_argument, NULL, 'b' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ftoe_ctx_opts o = { .sz = sizeof(o) };
	struct sockaddr_in to = { .sin_family = AF_INET };
	unsigned long long total = 0, done = 0;
	uint64_t st = 0x2545f4914f6cdd1dull;
	uint8_t *data;
	struct ftoe_ctx *ctx;
	struct sha256 sha;
	uint8_t dig[32];
	char *colon, *end;
	unsigned long v;
	int c, s, err;

	while ((c = getopt_long(argc, argv, "c:n:b:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c':
			colon = strrchr(optarg, ':');
			if (!colon || (*colon = 0, inet_pton(AF_INET, optarg, &to.sin_addr) != 1) ||
			    (v = strtoul(colon + 1, &end, 10)) < 1 || v > 65535 || *end) {
				fprintf(stderr, "close-exit: bad --connect (expected IPv4:PORT)\n");
				return 2;
			}
			to.sin_port = htons((uint16_t)v);
			break;
		case 'n':
			total = strtoull(optarg, &end, 10);
			if (*end || !total || total > (1ull << 30)) {
				fprintf(stderr, "close-exit: bad --bytes '%s' (1..1073741824)\n", optarg);
				return 2;
			}
			break;
		case 'b':
			v = strtoul(optarg, &end, 10);
			if (*end || v < 4096 || v > (16u << 20) || (v & (v - 1))) {
				fprintf(stderr, "close-exit: --buf must be a power of two, 4096..16777216\n");
				return 2;
			}
			o.buf_size = (unsigned int)v;
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
	if (!to.sin_port || !total || optind != argc) {
		usage(stderr);
		return 2;
	}
	/* The bytes and their hash come first, so that the sending outpaces
	 * the network and the shared ring is full when we close. */
	data = malloc(total);
	if (!data) {
		fprintf(stderr, "close-exit: out of memory for %llu bytes\n", total);
		return 1;
	}
	for (unsigned long long k = 0; k < total; k++) {	/* xorshift64 */
		st ^= st << 13;
		st ^= st >> 7;
		st ^= st << 17;
		data[k] = (uint8_t)(st >> 24);
	}
	sha256_init(&sha);
	sha256_update(&sha, data, (size_t)total);
	err = ftoe_ctx_create(&o, &ctx);
	if (err) {
		fprintf(stderr, "close-exit: cannot reach the engine: %s\n", ftoe_strerror(err));
		return 1;
	}
	s = ftoe_connect(ctx, &to);
	if (s < 0) {
		fprintf(stderr, "close-exit: connect: %s\n", ftoe_strerror(s));
		return 1;
	}
	while (done < total) {
		ssize_t r = ftoe_send(ctx, s, data + done, (size_t)(total - done));

		if (r < 0) {
			fprintf(stderr, "close-exit: send: %s\n", ftoe_strerror((int)r));
			return 1;
		}
		done += (unsigned long long)r;
	}
	free(data);	/* copied into the shared ring by now */
	sha256_final(&sha, dig);
	printf("bytes=%llu sha256=", done);
	for (int i = 0; i < 32; i++)
		printf("%02x", dig[i]);
	printf("\n");
	fflush(stdout);
	err = ftoe_close(ctx, s);
	if (err) {
		fprintf(stderr, "close-exit: close: %s\n", ftoe_strerror(err));
		return 1;
	}
	exit(0);	/* at once: the engine still has bytes of s to send */
}
