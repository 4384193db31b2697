/* xsk_reader.c - test application: opens a raw-frame socket of the engine, puts it into an rx-pre program's XSKMAP and prints the frames it reads back, in hex. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flextoe/api.h"

/*
 * For tests/integration/xsk.sh.  Prints, line-buffered:
 *   open id ID queue Q                  the socket is open
 *   map NAME ok | map NAME error -E TEXT    ftoe_xsk_update_map
 *   ready                               reading starts
 *   frame LEN HEX                       each frame read
 *   stats frames F dropped D too_big T read R
 * --hold FILE: wait until FILE exists before reading (the ring fills).
 * Reading ends after --count frames or --idle-ms without one.
 */

static void usage(FILE *f)
{
	fprintf(f, "usage: xsk-reader [--map NAME] [--queue Q] [--entries N] [--frame-size S]\n"
		   "                  [--count N] [--idle-ms MS] [--hold FILE] [--run-dir DIR]\n");
}

static void print_frame(const unsigned char *p, ssize_t n)
{
	printf("frame %zd ", n);
	for (ssize_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	printf("\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "map", 1, NULL, 'm' }, { "queue", 1, NULL, 'q' }, { "entries", 1, NULL, 'e' },
		{ "frame-size", 1, NULL, 'f' }, { "count", 1, NULL, 'c' },
		{ "idle-ms", 1, NULL, 'i' }, { "hold", 1, NULL, 'H' }, { "run-dir", 1, NULL, 'r' },
		{ "help", 0, NULL, 'h' }, { 0 }
	};
	struct ftoe_ctx_opts co = { .sz = sizeof(co) };
	struct ftoe_xsk_opts xo = { .sz = sizeof(xo) };
	const char *map = NULL, *hold = NULL;
	long count = -1, idle_ms = 2000, nread = 0;
	struct ftoe_xsk_stats st;
	struct ftoe_ctx *ctx;
	struct ftoe_xsk *xsk;
	unsigned char buf[4096];
	int opt, err, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'm': map = optarg; break;
		case 'q': xo.queue = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'e': xo.entries = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'f': xo.frame_size = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': count = strtol(optarg, NULL, 0); break;
		case 'i': idle_ms = strtol(optarg, NULL, 0); break;
		case 'H': hold = optarg; break;
		case 'r': co.run_dir = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	err = ftoe_ctx_create(&co, &ctx);
	if (err) {
		fprintf(stderr, "xsk-reader: context: %s\n", ftoe_strerror(err));
		return 1;
	}
	err = ftoe_xsk_open(ctx, &xo, &xsk);
	if (err) {
		printf("open error %d %s\n", err, ftoe_strerror(err));
		ftoe_ctx_destroy(ctx);
		return 1;
	}
	printf("open id %u queue %u\n", ftoe_xsk_id(xsk), ftoe_xsk_queue(xsk));
	if (map) {
		err = ftoe_xsk_update_map(xsk, map);
		if (err) {
			printf("map %s error %d %s\n", map, err, ftoe_strerror(err));
			rc = 3;
			goto out;
		}
		printf("map %s ok\n", map);
	}
	while (hold && access(hold, F_OK))
		usleep(20000);
	printf("ready\n");
	while (count < 0 || nread < count) {
		ssize_t n = ftoe_xsk_recv(xsk, buf, sizeof(buf), (int)idle_ms);

		if (n == -EAGAIN)
			break;
		if (n < 0) {
			printf("recv error %zd %s\n", n, ftoe_strerror((int)n));
			rc = 1;
			break;
		}
		print_frame(buf, n < (ssize_t)sizeof(buf) ? n : (ssize_t)sizeof(buf));
		nread++;
	}
	ftoe_xsk_stats(xsk, &st);
	printf("stats frames %llu dropped %llu too_big %llu read %ld\n",
	       (unsigned long long)st.rx_frames, (unsigned long long)st.rx_dropped,
	       (unsigned long long)st.rx_too_big, nread);
out:
	err = ftoe_xsk_close(xsk);
	if (err)
		printf("close error %d %s\n", err, ftoe_strerror(err));
	ftoe_ctx_destroy(ctx);
	return rc;
}
