/* rpc_client.c - closed-loop echo RPC latency client (p50/p99/p99.9) and the Linux echo server it is compared with. */
/*
 * Client: rpc_client HOST PORT [--conns N] [--rounds N] [--size B] [--warmup N]
 *   Opens N TCP connections (TCP_NODELAY) and keeps exactly one request of
 *   B bytes outstanding on each: a round trip is timed from the send() of
 *   the request to the recv() of its last echoed byte.  The first --warmup
 *   round trips (over all connections) are not recorded; then --rounds are.
 *   Prints one line: conns, rounds, size, p50/p99/p99.9/mean/max in
 *   microseconds, the request rate, the round trips over 1 ms and the
 *   client's own CPU time per round trip (kernel TCP included).
 * Server: rpc_client --serve PORT [--bind ADDR]
 *   A single-threaded epoll echo server on the kernel's TCP (TCP_NODELAY),
 *   the Linux counterpart of flextoe-echo.  Runs until SIGTERM/SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	size_t got;
	uint64_t t0;
};

/* This thread's CPU time (user and system), ns. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int set_nodelay(int fd)
{
	int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* An IPv4 or IPv6 address (with port) in *ss; its length, or 0 if neither. */
static socklen_t parse_addr(const char *ip, long port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return sizeof(*s4);
	}
	if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return sizeof(*s6);
	}
	return 0;
}

static int serve(const char *bind_ip, long port)
{
	struct sockaddr_storage sa;
	socklen_t salen = parse_addr(bind_ip, port, &sa);
	struct epoll_event ev, evs[64];
	struct sigaction act = { .sa_handler = on_signal };
	static char buf[65536];
	int ls, ep, one = 1;

	if (!salen) {
		fprintf(stderr, "rpc_client: bad --bind address '%s'\n", bind_ip);
		return 2;
	}
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	ls = socket(sa.ss_family, SOCK_STREAM, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&sa, salen) || listen(ls, 1024)) {
		fprintf(stderr, "rpc_client: cannot listen on %s:%ld: %s\n", bind_ip, port,
			strerror(errno));
		return 1;
	}
	ep = epoll_create1(0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = ls };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev)) {
		fprintf(stderr, "rpc_client: epoll: %s\n", strerror(errno));
		return 1;
	}
	printf("rpc_client: serving echo on %s:%ld (pid %d)\n", bind_ip, port, (int)getpid());
	fflush(stdout);
	while (!stop) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == ls) {
				int c = accept(ls, NULL, NULL);

				if (c < 0)
					continue;
				set_nodelay(c);
				ev = (struct epoll_event){ .events = EPOLLIN, .data.fd = c };
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			ssize_t r = recv(fd, buf, sizeof(buf), 0);

			if (r <= 0 || send_all(fd, buf, (size_t)r)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rpc_client HOST PORT [--conns N] [--rounds N] [--size B] [--warmup N]\n"
		   "       rpc_client --serve PORT [--bind ADDR]\n");
}

static long num_arg(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < lo || v > hi) {
		fprintf(stderr, "rpc_client: bad %s '%s' (%ld..%ld)\n", name, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "conns", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "serve", required_argument, NULL, 'S' },
		{ "bind", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	long nconn = 1, rounds = 20000, size = 64, warmup = 1000, sport = 0;
	const char *bind_ip = "0.0.0.0";
	struct sockaddr_storage sa;
	socklen_t salen;
	struct epoll_event ev, evs[256];
	struct conn *cs;
	uint64_t *lat, t_start, t_total, sum = 0, cpu_start = 0;
	long over_1ms = 0;
	char *req, *rsp;
	long done = 0, issued = 0, total;
	int o, ep, rc = 1;

	while ((o = getopt_long(argc, argv, "c:n:s:w:S:b:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': nconn = num_arg("--conns", optarg, 1, 4096); break;
		case 'n': rounds = num_arg("--rounds", optarg, 1, 100000000); break;
		case 's': size = num_arg("--size", optarg, 1, 65536); break;
		case 'w': warmup = num_arg("--warmup", optarg, 0, 100000000); break;
		case 'S': sport = num_arg("--serve", optarg, 1, 65535); break;
		case 'b': bind_ip = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (sport)
		return optind == argc ? serve(bind_ip, sport) : (usage(stderr), 2);
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	salen = parse_addr(argv[optind], num_arg("PORT", argv[optind + 1], 1, 65535), &sa);
	if (!salen) {
		fprintf(stderr, "rpc_client: bad IPv4 or IPv6 address '%s'\n", argv[optind]);
		return 2;
	}

	total = warmup + rounds;
	cs = calloc((size_t)nconn, sizeof(*cs));
	lat = calloc((size_t)rounds, sizeof(*lat));
	req = malloc((size_t)size);
	rsp = malloc(65536);
	ep = epoll_create1(0);
	if (!cs || !lat || !req || !rsp || ep < 0) {
		fprintf(stderr, "rpc_client: out of memory\n");
		goto out;
	}
	for (long i = 0; i < nconn; i++)
		cs[i].fd = -1;
	for (long i = 0; i < size; i++)
		req[i] = (char)('a' + i % 26);
	for (long i = 0; i < nconn; i++) {
		cs[i].fd = socket(sa.ss_family, SOCK_STREAM, 0);
		if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&sa, salen)) {
			fprintf(stderr, "rpc_client: connect to %s:%s: %s\n", argv[optind],
				argv[optind + 1], strerror(errno));
			goto out;
		}
		set_nodelay(cs[i].fd);
		ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = (uint64_t)i };
		if (nconn > 1 && epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev)) {
			fprintf(stderr, "rpc_client: epoll: %s\n", strerror(errno));
			goto out;
		}
	}

	t_start = now_ns();
	cpu_start = cpu_ns();
	/* One request in flight per connection; the next leaves as soon as
	 * the previous one's echo is complete. */
	for (long i = 0; i < nconn && issued < total; i++, issued++) {
		cs[i].t0 = now_ns();
		if (send_all(cs[i].fd, req, (size_t)size)) {
			fprintf(stderr, "rpc_client: send: %s\n", strerror(errno));
			goto out;
		}
	}
	while (done < total) {
		int n = 1;

		if (nconn > 1) {
			n = epoll_wait(ep, evs, 256, 10000);
			if (n <= 0) {
				fprintf(stderr, "rpc_client: no echo for 10 s (%ld of %ld done)\n",
					done, total);
				goto out;
			}
		} else {
			evs[0].data.u64 = 0;	/* one connection: a blocking recv */
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = &cs[evs[k].data.u64];
			ssize_t r = recv(c->fd, rsp, (size_t)(size - (long)c->got), 0);

			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				fprintf(stderr, "rpc_client: recv: %s\n",
					r ? strerror(errno) : "the server closed the connection");
				goto out;
			}
			c->got += (size_t)r;
			if ((long)c->got < size)
				continue;
			c->got = 0;
			if (done >= warmup) {
				lat[done - warmup] = now_ns() - c->t0;
				sum += lat[done - warmup];
			} else if (done + 1 == warmup) {
				t_start = now_ns();
				cpu_start = cpu_ns();
			}
			done++;
			if (issued < total) {
				issued++;
				c->t0 = now_ns();
				if (send_all(c->fd, req, (size_t)size)) {
					fprintf(stderr, "rpc_client: send: %s\n", strerror(errno));
					goto out;
				}
			}
		}
	}
	t_total = now_ns() - t_start;
	cpu_start = cpu_ns() - cpu_start;
	for (long i = 0; i < rounds; i++)
		over_1ms += lat[i] > 1000000;
	qsort(lat, (size_t)rounds, sizeof(*lat), cmp_u64);
#define PCT(p) ((double)lat[(size_t)((double)(rounds - 1) * (p))] / 1000.0)
	printf("conns=%ld rounds=%ld size=%ld p50_us=%.1f p99_us=%.1f p999_us=%.1f mean_us=%.1f "
	       "max_us=%.1f rps=%.0f over_1ms=%ld cpu_us_per_rpc=%.1f\n",
	       nconn, rounds, size, PCT(0.50), PCT(0.99), PCT(0.999),
	       (double)sum / (double)rounds / 1000.0, (double)lat[rounds - 1] / 1000.0,
	       t_total ? (double)rounds * 1e9 / (double)t_total : 0.0, over_1ms,
	       (double)cpu_start / (double)rounds / 1000.0);
	rc = 0;
out:
	for (long i = 0; cs && i < nconn; i++)
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	if (ep >= 0)
		close(ep);
	free(cs);
	free(lat);
	free(req);
	free(rsp);
	return rc;
}
