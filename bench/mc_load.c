/* mc_load.c - closed-loop memcached load generator (text protocol): throughput and per-request latency percentiles over N connections. */
/*
 * mc_load HOST PORT [--conns N] [--seconds S] [--warmup S] [--keys K]
 *         [--value B] [--get-ratio R]
 *
 * Stores K keys with B-byte values first, then keeps exactly one request
 * outstanding on each of N connections for S seconds (after a warm-up of
 * --warmup seconds that is not recorded): a get of a random key with
 * probability R (default 0.9), else a set.  A request is timed
 * (CLOCK_MONOTONIC) from the send() of the request to the recv() of the last
 * byte of its reply; every reply is parsed and checked (a get's value must
 * be the key's), and any error ends the run with exit 1.  One thread, epoll.
 * Prints one line:
 *   conns=N ops=X rps=Y p50_us=A p99_us=B p999_us=C mean_us=D max_us=E
 * (memtier_benchmark, the usual tool, is not packaged in Debian.)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256
#define RBUF      65536

struct conn {
	int fd;
	uint64_t t0;
	unsigned key;
	int is_get;
	size_t rlen;
	char rbuf[RBUF];
};

static unsigned value_len = 64;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The value of key k: recognizable, so a wrong reply is caught. */
static void value_of(unsigned k, char *out)
{
	for (unsigned i = 0; i < value_len; i++)
		out[i] = (char)('a' + (k + i) % 26);
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_request(struct conn *c, unsigned nkeys, double get_ratio)
{
	char req[256 + 65536];
	int n;

	c->key = (unsigned)(rnd() % nkeys);
	c->is_get = (double)(rnd() % 1000000) / 1e6 < get_ratio;
	if (c->is_get) {
		n = snprintf(req, sizeof(req), "get k%u\r\n", c->key);
	} else {
		n = snprintf(req, sizeof(req), "set k%u 0 0 %u\r\n", c->key, value_len);
		value_of(c->key, req + n);
		memcpy(req + n + value_len, "\r\n", 2);
		n += (int)value_len + 2;
	}
	c->rlen = 0;
	c->t0 = now_ns();
	return send_all(c->fd, req, (size_t)n);
}

/* 1: a whole, correct reply is in rbuf; 0: not yet; -1: a wrong reply. */
static int reply_done(struct conn *c)
{
	char hdr[64], want[65536];
	int hl;

	if (!c->is_get) {
		if (c->rlen < 8)
			return 0;
		return c->rlen == 8 && !memcmp(c->rbuf, "STORED\r\n", 8) ? 1 : -1;
	}
	hl = snprintf(hdr, sizeof(hdr), "VALUE k%u 0 %u\r\n", c->key, value_len);
	if (c->rlen < (size_t)hl + value_len + 7)
		return 0;
	value_of(c->key, want);
	if (memcmp(c->rbuf, hdr, (size_t)hl) || memcmp(c->rbuf + hl, want, value_len) ||
	    memcmp(c->rbuf + hl + value_len, "\r\nEND\r\n", 7) || c->rlen != (size_t)hl + value_len + 7)
		return -1;
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int dial(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Store every key once, over connection c (sequentially). */
static int preload(struct conn *c, unsigned nkeys)
{
	for (unsigned k = 0; k < nkeys; k++) {
		char req[256 + 65536];
		int n = snprintf(req, sizeof(req), "set k%u 0 0 %u\r\n", k, value_len);
		char rep[16];
		size_t got = 0;

		value_of(k, req + n);
		memcpy(req + n + value_len, "\r\n", 2);
		if (send_all(c->fd, req, (size_t)n + value_len + 2) < 0)
			return -1;
		while (got < 8) {
			ssize_t r = recv(c->fd, rep + got, 8 - got, 0);

			if (r <= 0)
				return -1;
			got += (size_t)r;
		}
		if (memcmp(rep, "STORED\r\n", 8))
			return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "conns", required_argument, NULL, 'c' }, { "seconds", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' }, { "keys", required_argument, NULL, 'k' },
		{ "value", required_argument, NULL, 'v' }, { "get-ratio", required_argument, NULL, 'g' },
		{ 0 } };
	unsigned nconns = 1, nkeys = 10000;
	double seconds = 5, warmup = 1, get_ratio = 0.9;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static struct conn conns[MAX_CONNS];
	uint64_t *lat, nlat = 0, cap, t_start, t_rec, t_end, sum = 0;
	int ep, o;

	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'c': nconns = (unsigned)atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'w': warmup = atof(optarg); break;
		case 'k': nkeys = (unsigned)atoi(optarg); break;
		case 'v': value_len = (unsigned)atoi(optarg); break;
		case 'g': get_ratio = atof(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1 ||
	    nconns < 1 || nconns > MAX_CONNS || nkeys < 1 || value_len < 1 || value_len > 60000 ||
	    seconds <= 0 || warmup < 0)
		goto usage;
	sa.sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	cap = (uint64_t)(seconds * 2e6) + 1000;	/* room for 2M requests per second */
	lat = malloc(cap * sizeof(*lat));
	ep = epoll_create1(0);
	if (!lat || ep < 0) {
		perror("mc_load");
		return 1;
	}
	for (unsigned i = 0; i < nconns; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		conns[i].fd = dial(&sa);
		if (conns[i].fd < 0) {
			fprintf(stderr, "mc_load: connect %s:%s: %s\n", argv[optind], argv[optind + 1],
				strerror(-conns[i].fd));
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
	}
	if (preload(&conns[0], nkeys) < 0) {
		fprintf(stderr, "mc_load: storing the %u keys failed\n", nkeys);
		return 1;
	}
	t_start = now_ns();
	t_rec = t_start + (uint64_t)(warmup * 1e9);
	t_end = t_rec + (uint64_t)(seconds * 1e9);
	for (unsigned i = 0; i < nconns; i++)
		if (send_request(&conns[i], nkeys, get_ratio) < 0) {
			fprintf(stderr, "mc_load: send failed\n");
			return 1;
		}
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, 1000);
		uint64_t now;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("mc_load: epoll_wait");
			return 1;
		}
		if (n == 0) {
			fprintf(stderr, "mc_load: no reply for 1 s\n");
			return 1;
		}
		for (int e = 0; e < n; e++) {
			struct conn *c = &conns[evs[e].data.u32];
			ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF - c->rlen, 0);
			int d;

			if (r <= 0) {
				fprintf(stderr, "mc_load: connection %u: %s\n", evs[e].data.u32,
					r == 0 ? "closed by the server" : strerror(errno));
				return 1;
			}
			c->rlen += (size_t)r;
			d = reply_done(c);
			if (d < 0) {
				fprintf(stderr, "mc_load: wrong reply to %s k%u: %.*s\n",
					c->is_get ? "get" : "set", c->key, (int)(c->rlen < 80 ? c->rlen : 80), c->rbuf);
				return 1;
			}
			if (!d)
				continue;
			now = now_ns();
			if (c->t0 >= t_rec && nlat < cap) {
				lat[nlat++] = now - c->t0;
				sum += now - c->t0;
			}
			if (now >= t_end)
				goto done;
			if (send_request(c, nkeys, get_ratio) < 0) {
				fprintf(stderr, "mc_load: send failed\n");
				return 1;
			}
		}
	}
done:
	if (!nlat) {
		fprintf(stderr, "mc_load: no request completed\n");
		return 1;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	printf("conns=%u ops=%llu rps=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f mean_us=%.1f max_us=%.1f\n",
	       nconns, (unsigned long long)nlat, nlat / seconds, lat[nlat / 2] / 1e3,
	       lat[nlat * 99 / 100] / 1e3, lat[nlat * 999 / 1000] / 1e3, (double)sum / nlat / 1e3,
	       lat[nlat - 1] / 1e3);
	return 0;
usage:
	fprintf(stderr, "usage: mc_load HOST PORT [--conns N] [--seconds S] [--warmup S] [--keys K]"
			" [--value B] [--get-ratio R]\n");
	return 2;
}
