/* flextoe-bulk.c - bulk transfer over the FlexTOE engine with SHA-256 of the bytes moved (zero-copy rings, blocking mode). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flextoe/api.h"
#include "lib/util/sha256.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flextoe-bulk (--listen PORT | --connect HOST:PORT) (--recv | --send BYTES)\n"
		"HOST: an IPv4 address, or an IPv6 one in brackets ([fd00::1]:5001)\n"
		"                    [--buf SIZE] [--run-dir DIR] [--no-hash]\n"
		"--recv reads until the peer closes; --send writes BYTES of pseudo-random data\n"
		"(suffix k/m/g), then closes.  The last line is\n"
		"  bytes=N sha256=HEX secs=S gbps=G\n"
		"--no-hash: no SHA-256 (sha256=skipped); --send repeats one 64 KiB block.\n");
}

static int parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end || end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

#define PATTERN_SIZE (64u << 10)

/* Cycle through the pre-generated block (--no-hash). */
static void copy_pattern(uint8_t *p, size_t n, const uint8_t *pat, size_t *off)
{
	while (n) {
		size_t k = PATTERN_SIZE - *off;

		if (k > n)
			k = n;
		memcpy(p, pat + *off, k);
		p += k;
		n -= k;
		*off = (*off + k) % PATTERN_SIZE;
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64: cheap deterministic payload */
static void fill(uint8_t *p, size_t n, uint64_t *st)
{
	for (size_t i = 0; i < n; i++) {
		if (!(i & 7)) {
			*st ^= *st << 13;
			*st ^= *st >> 7;
			*st ^= *st << 17;
		}
		p[i] = (uint8_t)(*st >> ((i & 7) * 8));
	}
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "connect", required_argument, NULL, 'c' },
		{ "recv", no_argument, NULL, 'R' },
		{ "send", required_argument, NULL, 'S' },
		{ "buf", required_argument, NULL, 'b' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "no-hash", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ftoe_ctx_opts o = { .sz = sizeof(o), .max_socks = 4, .buf_size = 1u << 20 };
	struct sockaddr_in to = { .sin_family = AF_INET };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6 };
	bool v6 = false;
	unsigned long long total = 0, done = 0, v;
	int c, s = -1, ls = -1, mode = 0, err;
	long lport = 0;
	char *host = NULL, *colon;
	struct ftoe_ctx *ctx;
	struct sha256 sha;
	uint8_t dig[32];
	uint64_t st = 0x9e3779b97f4a7c15ull;
	/* --no-hash: send copies of one pre-generated block (as the Linux
	 * peers of bench/engine_bulk.sh do) and hash nothing, so the figure
	 * is the transfer's, not SHA-256's (about 1.3-2 Gbit/s on one core) */
	static uint8_t pattern[PATTERN_SIZE];
	bool hash = true;
	size_t pat_off = 0;
	double t0, secs;

	while ((c = getopt_long(argc, argv, "l:c:RS:b:r:Nh", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			lport = strtol(optarg, &colon, 10);
			if (*colon || lport < 1 || lport > 65535) {
				fprintf(stderr, "flextoe-bulk: bad --listen port '%s'\n", optarg);
				return 2;
			}
			break;
		case 'c':
			host = optarg;
			colon = strrchr(host, ':');
			v6 = host[0] == '[';
			if (v6 && colon && colon > host && colon[-1] == ']') {
				colon[-1] = 0;
				host++;
			}
			if (!colon || (*colon = 0,
				       v6 ? inet_pton(AF_INET6, host, &to6.sin6_addr) :
					    inet_pton(AF_INET, host, &to.sin_addr)) != 1 ||
			    (v = strtoul(colon + 1, NULL, 10)) < 1 || v > 65535) {
				fprintf(stderr, "flextoe-bulk: bad --connect (expected IPv4:PORT or "
					"[IPv6]:PORT)\n");
				return 2;
			}
			to.sin_port = htons((uint16_t)v);
			to6.sin6_port = to.sin_port;
			break;
		case 'R':
			mode = 'R';
			break;
		case 'S':
			mode = 'S';
			if (parse_size(optarg, &total)) {
				fprintf(stderr, "flextoe-bulk: bad --send size '%s'\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_size(optarg, &v) || v < 4096 || v > (16u << 20) || (v & (v - 1))) {
				fprintf(stderr, "flextoe-bulk: --buf must be a power of two, 4k..16m\n");
				return 2;
			}
			o.buf_size = (unsigned int)v;
			break;
		case 'r':
			o.run_dir = optarg;
			break;
		case 'N':
			hash = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!mode || !!lport == !!host || optind != argc) {
		usage(stderr);
		return 2;
	}
	err = ftoe_ctx_create(&o, &ctx);
	if (err) {
		fprintf(stderr, "flextoe-bulk: cannot reach the engine: %s\n", ftoe_strerror(err));
		return 1;
	}
	if (lport) {
		ls = ftoe_listen(ctx, (uint16_t)lport, 16);
		if (ls < 0) {
			fprintf(stderr, "flextoe-bulk: listen: %s\n", ftoe_strerror(ls));
			goto fail;
		}
		printf("flextoe-bulk: listening on port %ld\n", lport);
		fflush(stdout);
		s = ftoe_accept(ctx, ls, NULL);
	} else {
		s = v6 ? ftoe_connect6(ctx, &to6) : ftoe_connect(ctx, &to);
	}
	if (s < 0) {
		fprintf(stderr, "flextoe-bulk: %s: %s\n", lport ? "accept" : "connect",
			ftoe_strerror(s));
		goto fail;
	}
	sha256_init(&sha);
	if (!hash)
		fill(pattern, sizeof(pattern), &st);
	t0 = now_s();
	if (mode == 'S') {
		while (done < total) {
			void *p;
			ssize_t n = ftoe_send_reserve(ctx, s, &p);

			if (n < 0) {
				fprintf(stderr, "flextoe-bulk: send: %s\n", ftoe_strerror((int)n));
				goto fail;
			}
			if ((unsigned long long)n > total - done)
				n = (ssize_t)(total - done);
			if (hash) {
				fill(p, (size_t)n, &st);
				sha256_update(&sha, p, (size_t)n);
			} else {
				copy_pattern(p, (size_t)n, pattern, &pat_off);
			}
			ftoe_send_commit(ctx, s, (size_t)n);
			done += (unsigned long long)n;
		}
		ftoe_shutdown(ctx, s, FTOE_SHUT_WR);
	}
	/* the receiver reads to the end; the sender waits for the peer's close */
	for (;;) {
		const void *p;
		ssize_t n = ftoe_recv_peek(ctx, s, &p);

		if (n == 0)
			break;
		if (n < 0) {
			fprintf(stderr, "flextoe-bulk: recv: %s\n", ftoe_strerror((int)n));
			goto fail;
		}
		if (mode == 'R') {
			if (hash)
				sha256_update(&sha, p, (size_t)n);
			done += (unsigned long long)n;
		}
		ftoe_recv_done(ctx, s, (size_t)n);
	}
	secs = now_s() - t0;
	ftoe_close(ctx, s);
	if (ls >= 0)
		ftoe_close(ctx, ls);
	sha256_final(&sha, dig);
	printf("bytes=%llu sha256=", done);
	for (int i = 0; hash && i < 32; i++)
		printf("%02x", dig[i]);
	if (!hash)
		printf("skipped");
	printf(" secs=%.3f gbps=%.3f\n", secs, secs > 0 ? (double)done * 8 / secs / 1e9 : 0.0);
	ftoe_ctx_destroy(ctx);
	return 0;
fail:
	ftoe_ctx_destroy(ctx);
	return 1;
}
