/* harness.c - runs the TCP engine over an AF_PACKET socket on a veth, for interop tests with Linux. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/engine.h"
#include "core/socket.h"
#include "lib/util/sha256.h"

/*
 * The engine's address is NOT configured in the kernel: the veth carries
 * no IPv4 address, so the kernel neither answers nor resets our peers'
 * segments; the harness answers ARP for the engine itself.
 */

#define MAX_FRAME 9216
#define RX_BATCH 64
#define NEIGH_MAX 64
#define ECHO_BUF 65536

enum mode { M_NONE, M_ECHO, M_RECV, M_SEND };

struct neigh {
	uint32_t ip_be;
	uint8_t mac[6];
	bool valid;
	uint64_t asked_ns;
};

struct conn {
	bool used, eof, shut;
	uint8_t *buf;	/* echo: received, not yet sent */
	uint32_t off, len;
};

static struct {
	int fd, ifindex;
	uint8_t mac[6];
	uint32_t ip_be;
	struct ftoe_engine *eng;
	struct neigh neigh[NEIGH_MAX];
	enum mode mode;
	uint16_t port;
	uint32_t peer_be;
	uint64_t bytes;
	int verbose;
	struct conn *conns;
	uint32_t nconns;
	int lsock;
	/* bulk */
	int bsock;
	uint64_t done, t0;
	/* progress: the longest time without a byte moving (since t0) */
	uint64_t last_progress, max_stall;
	struct sha256 sha;
	uint64_t rng;
	bool finished, failed;
	int exit_code;
} H;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t io_now(void *ctx)
{
	(void)ctx;
	return mono_ns();
}

static int io_xmit(void *ctx, unsigned q, const void *frame, size_t len)
{
	(void)ctx;
	(void)q;
	for (;;) {
		ssize_t r = send(H.fd, frame, len, MSG_DONTWAIT);

		if (r == (ssize_t)len)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == ENOBUFS))
			return -ENOBUFS;
		if (r < 0)
			fprintf(stderr, "tcp-harness: send: %s\n", strerror(errno));
		return 0; /* other errors: as a loss */
	}
}

/* ---- ARP (RFC 826), just enough for one link ---- */

static void arp_send(uint16_t op, const uint8_t *tha, uint32_t tpa_be)
{
	uint8_t f[42];

	memcpy(f, op == 1 ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" : tha, 6);
	memcpy(f + 6, H.mac, 6);
	f[12] = 0x08; f[13] = 0x06;
	f[14] = 0; f[15] = 1;		/* Ethernet */
	f[16] = 0x08; f[17] = 0;	/* IPv4 */
	f[18] = 6; f[19] = 4;
	f[20] = 0; f[21] = (uint8_t)op;
	memcpy(f + 22, H.mac, 6);
	memcpy(f + 28, &H.ip_be, 4);
	memcpy(f + 32, op == 1 ? (const uint8_t *)"\0\0\0\0\0\0" : tha, 6);
	memcpy(f + 38, &tpa_be, 4);
	io_xmit(NULL, 0, f, sizeof(f));
}

static struct neigh *neigh_find(uint32_t ip_be, bool create)
{
	for (int i = 0; i < NEIGH_MAX; i++)
		if (H.neigh[i].ip_be == ip_be)
			return &H.neigh[i];
	if (!create)
		return NULL;
	for (int i = 0; i < NEIGH_MAX; i++)
		if (!H.neigh[i].ip_be) {
			H.neigh[i].ip_be = ip_be;
			return &H.neigh[i];
		}
	return &H.neigh[0];
}

static int io_neigh(void *ctx, uint32_t ip_be, uint8_t mac[6])
{
	struct neigh *n = neigh_find(ip_be, true);

	(void)ctx;
	if (n->valid) {
		memcpy(mac, n->mac, 6);
		return 0;
	}
	if (mono_ns() - n->asked_ns > 100000000ull) {
		n->asked_ns = mono_ns();
		arp_send(1, NULL, ip_be);
	}
	return -EAGAIN;
}

static void arp_rx(const uint8_t *f, size_t len)
{
	uint32_t spa, tpa;
	struct neigh *n;
	uint16_t op;

	if (len < 42 || f[14] || f[15] != 1 || f[16] != 8 || f[17] || f[18] != 6 || f[19] != 4)
		return;
	op = (uint16_t)(f[20] << 8 | f[21]);
	memcpy(&spa, f + 28, 4);
	memcpy(&tpa, f + 38, 4);
	if (tpa != H.ip_be)
		return;
	n = neigh_find(spa, true);
	memcpy(n->mac, f + 22, 6);
	if (!n->valid) {
		n->valid = true;
		ftoe_engine_neigh_ready(H.eng, spa);
	}
	if (op == 1)
		arp_send(2, f + 22, spa);
}

/* ---- applications ---- */

static void conn_release(int s)
{
	if (s < 0 || (uint32_t)s >= H.nconns)
		return;
	free(H.conns[s].buf);
	memset(&H.conns[s], 0, sizeof(H.conns[s]));
	ftoe_sock_close(H.eng, s);
}

static void echo_service(int s)
{
	struct conn *c = &H.conns[s];

	for (;;) {
		if (c->len) {
			ssize_t r = ftoe_sock_send(H.eng, s, c->buf + c->off, c->len);

			if (r == -EAGAIN)
				return;
			if (r < 0) {
				conn_release(s);
				return;
			}
			c->off += (uint32_t)r;
			c->len -= (uint32_t)r;
			if (c->len)
				return;
			c->off = 0;
		}
		if (c->eof) {
			if (!c->shut) {
				ftoe_sock_shutdown(H.eng, s, FTOE_SHUT_WR);
				c->shut = true;
			}
			return;
		}
		{
			ssize_t r = ftoe_sock_recv(H.eng, s, c->buf, ECHO_BUF);

			if (r == -EAGAIN)
				return;
			if (r == 0) {
				c->eof = true;
				continue;
			}
			if (r < 0) {
				if (H.verbose)
					fprintf(stderr, "tcp-harness: conn %d: %s\n", s, strerror((int)-r));
				conn_release(s);
				return;
			}
			c->len = (uint32_t)r;
		}
	}
}

static void bulk_fill(uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		H.rng ^= H.rng << 13;
		H.rng ^= H.rng >> 7;
		H.rng ^= H.rng << 17;
		buf[i] = (uint8_t)H.rng;
	}
}

/* Called whenever bytes move (received, or queued after the tx ring freed
 * up): tracks the longest gap with no progress, which the fault tests bound. */
static void bulk_progress(void)
{
	uint64_t now = mono_ns();

	if (!H.last_progress)
		H.last_progress = H.t0;
	if (now - H.last_progress > H.max_stall)
		H.max_stall = now - H.last_progress;
	H.last_progress = now;
}

/* With -v, one line every 100 ms: bytes so far and the longest stall. */
static void bulk_tick(void)
{
	static uint64_t next;
	uint64_t now = mono_ns();

	if (H.verbose < 1 || H.bsock < 0 || H.finished || now < next)
		return;
	next = now + 100000000ull;
	fprintf(stderr, "tcp-harness: progress t=%.1f bytes=%llu max_stall_ms=%llu\n",
		(double)(now - H.t0) / 1e9, (unsigned long long)H.done,
		(unsigned long long)(H.max_stall / 1000000u));
}

static void bulk_report(void)
{
	uint8_t d[32];
	double secs = (double)(mono_ns() - H.t0) / 1e9;
	struct ftoe_sock_info info;

	bulk_progress(); /* the wait for the end counts as a stall too */
	if (!ftoe_sock_info(H.eng, H.bsock, &info))
		printf("wscale snd=%u rcv=%u ts=%u ecn=%u mss=%u retransmits=%u\n", info.snd_wscale,
		       info.rcv_wscale, info.ts, info.ecn, info.snd_mss, info.retransmits);
	sha256_final(&H.sha, d);
	printf("bytes=%llu sha256=", (unsigned long long)H.done);
	for (int i = 0; i < 32; i++)
		printf("%02x", d[i]);
	printf(" secs=%.3f gbps=%.3f max_stall_ms=%llu\n", secs,
	       secs > 0 ? (double)H.done * 8 / secs / 1e9 : 0.0,
	       (unsigned long long)(H.max_stall / 1000000u));
	fflush(stdout);
}

static void bulk_service(void)
{
	static uint8_t buf[65536], pending[65536];
	static size_t plen, poff;

	if (H.bsock < 0 || H.finished)
		return;
	if (H.mode == M_RECV) {
		for (;;) {
			ssize_t r = ftoe_sock_recv(H.eng, H.bsock, buf, sizeof(buf));

			if (r == -EAGAIN)
				return;
			if (r <= 0) {
				if (r < 0) {
					fprintf(stderr, "tcp-harness: recv: %s\n", strerror((int)-r));
					H.exit_code = 1;
				}
				bulk_report();
				ftoe_sock_close(H.eng, H.bsock);
				H.finished = true;
				return;
			}
			sha256_update(&H.sha, buf, (size_t)r);
			H.done += (uint64_t)r;
			bulk_progress();
		}
	}
	/* M_SEND */
	for (;;) {
		ssize_t r;

		if (!plen) {
			uint64_t left;

			if (H.done >= H.bytes)
				break;
			left = H.bytes - H.done;
			plen = left < sizeof(pending) ? (size_t)left : sizeof(pending);
			poff = 0;
			bulk_fill(pending, plen);
			sha256_update(&H.sha, pending, plen);
		}
		r = ftoe_sock_send(H.eng, H.bsock, pending + poff, plen - poff);
		if (r == -EAGAIN)
			return;
		if (r < 0) {
			fprintf(stderr, "tcp-harness: send: %s\n", strerror((int)-r));
			H.exit_code = 1;
			H.finished = true;
			return;
		}
		poff += (size_t)r;
		H.done += (uint64_t)r;
		bulk_progress();
		if (poff == plen)
			plen = poff = 0;
	}
	if (H.done >= H.bytes) {
		struct ftoe_sock_info info;
		ssize_t r;

		ftoe_sock_shutdown(H.eng, H.bsock, FTOE_SHUT_WR);
		/* done when all is acknowledged and the peer closed too */
		r = ftoe_sock_recv(H.eng, H.bsock, buf, sizeof(buf));
		if (ftoe_sock_info(H.eng, H.bsock, &info) == 0 && info.tx_queued == 0 &&
		    (r == 0 || r == -ECONNRESET)) {
			bulk_report();
			ftoe_sock_close(H.eng, H.bsock);
			H.finished = true;
		} else if (r < 0 && r != -EAGAIN) {
			fprintf(stderr, "tcp-harness: connection failed: %s\n", strerror((int)-r));
			H.exit_code = 1;
			H.finished = true;
		}
	}
}

static void on_event(void *ctx, int sock, uint32_t ev)
{
	(void)ctx;
	if (H.verbose > 1)
		fprintf(stderr, "tcp-harness: sock %d events %#x\n", sock, ev);
	if (sock >= FTOE_SOCK_LISTENER) {
		for (;;) {
			int s = ftoe_sock_accept(H.eng, sock);

			if (s < 0)
				break;
			if (H.mode == M_ECHO) {
				H.conns[s].used = true;
				H.conns[s].buf = malloc(ECHO_BUF);
				echo_service(s);
			} else if (H.bsock < 0) {
				H.bsock = s;
				H.t0 = mono_ns();
			} else {
				ftoe_sock_close(H.eng, s);
			}
		}
		return;
	}
	if (H.mode == M_ECHO) {
		if ((uint32_t)sock < H.nconns && H.conns[sock].used) {
			if (ev & FTOE_EV_CLOSED && !(ev & (FTOE_EV_RX)))
				conn_release(sock);
			else
				echo_service(sock);
			if (H.conns[sock].used && (ev & FTOE_EV_CLOSED))
				conn_release(sock);
		}
		return;
	}
	if (sock == H.bsock)
		bulk_service();
}

/* ---- main ---- */

static int open_if(const char *ifname)
{
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int one = 1, bufsz = 8 << 20;

	H.fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (H.fd < 0) {
		fprintf(stderr, "tcp-harness: AF_PACKET socket: %s (needs CAP_NET_RAW)\n",
			strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(H.fd, SIOCGIFINDEX, &ifr)) {
		fprintf(stderr, "tcp-harness: no interface %s: %s\n", ifname, strerror(errno));
		return -1;
	}
	H.ifindex = ifr.ifr_ifindex;
	if (ioctl(H.fd, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "tcp-harness: %s: no MAC: %s\n", ifname, strerror(errno));
		return -1;
	}
	memcpy(H.mac, ifr.ifr_hwaddr.sa_data, 6);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = H.ifindex;
	if (bind(H.fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "tcp-harness: bind %s: %s\n", ifname, strerror(errno));
		return -1;
	}
	/* our own transmissions are not input */
	setsockopt(H.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(H.fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz));
	setsockopt(H.fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz));
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: tcp-harness --if IFNAME --ip A.B.C.D/LEN MODE [options]\n"
		"modes:\n"
		"  --echo PORT              echo server\n"
		"  --recv PORT              accept one connection, read to EOF, print the digest\n"
		"  --send HOST:PORT BYTES   connect, send BYTES, close, print the digest\n"
		"options:\n"
		"  --buf BYTES    rx/tx ring per connection (power of two, default 1 MiB)\n"
		"  --conns N      connections (default 1024)\n"
		"  --cc NAME[:ARG] congestion control (flextoe --help lists them; default dctcp)\n"
		"  -v             more output (repeat for events)\n"
		"The last line in --recv/--send: bytes=N sha256=HEX secs=S gbps=G\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "if", required_argument, 0, 'i' }, { "ip", required_argument, 0, 'a' },
		{ "echo", required_argument, 0, 'e' }, { "recv", required_argument, 0, 'r' },
		{ "send", required_argument, 0, 's' }, { "buf", required_argument, 0, 'b' },
		{ "conns", required_argument, 0, 'n' }, { "cc", required_argument, 0, 'c' },
		{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 } };
	struct ftoe_engine_cfg cfg;
	struct ftoe_io io = { .xmit = io_xmit, .now_ns = io_now, .neigh_lookup = io_neigh };
	const char *ifname = NULL, *ip = NULL, *send_to = NULL;
	uint32_t buf = 1 << 20, conns = 1024;
	static uint8_t frames[RX_BATCH][MAX_FRAME];
	int o, err, plen = 24;
	struct ifreq ifr;

	memset(&cfg, 0, sizeof(cfg));
	H.bsock = -1;
	H.lsock = -1;
	while ((o = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (o) {
		case 'i': ifname = optarg; break;
		case 'a': ip = optarg; break;
		case 'e': H.mode = M_ECHO; H.port = (uint16_t)atoi(optarg); break;
		case 'r': H.mode = M_RECV; H.port = (uint16_t)atoi(optarg); break;
		case 's': H.mode = M_SEND; send_to = optarg; break;
		case 'b': buf = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'n': conns = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c':
			if (ftoe_cc_parse(optarg, &cfg.cc, &cfg.cc_param)) {
				char names[256];

				if (ftoe_cc_names(names, sizeof(names)))
					names[0] = 0;
				fprintf(stderr, "tcp-harness: bad --cc %s (%s)\n", optarg, names);
				return 2;
			}
			break;
		case 'v': H.verbose++; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (!ifname || !ip || H.mode == M_NONE) {
		usage();
		return 2;
	}
	{
		char addr[32], *slash;

		snprintf(addr, sizeof(addr), "%s", ip);
		slash = strchr(addr, '/');
		if (slash) {
			*slash = 0;
			plen = atoi(slash + 1);
		}
		if (inet_pton(AF_INET, addr, &H.ip_be) != 1 || plen < 0 || plen > 32) {
			fprintf(stderr, "tcp-harness: bad --ip %s (want A.B.C.D/LEN)\n", ip);
			return 2;
		}
	}
	if (H.mode == M_SEND) {
		char host[64], *colon;

		if (optind >= argc) {
			fprintf(stderr, "tcp-harness: --send HOST:PORT needs BYTES\n");
			return 2;
		}
		H.bytes = strtoull(argv[optind], NULL, 0);
		snprintf(host, sizeof(host), "%s", send_to);
		colon = strchr(host, ':');
		if (!colon || inet_pton(AF_INET, (*colon = 0, host), &H.peer_be) != 1) {
			fprintf(stderr, "tcp-harness: bad --send %s (want A.B.C.D:PORT)\n", send_to);
			return 2;
		}
		H.port = (uint16_t)atoi(colon + 1);
	}
	if (!H.port) {
		fprintf(stderr, "tcp-harness: port must be 1..65535\n");
		return 2;
	}
	if (open_if(ifname))
		return 1;

	cfg.ip_be = H.ip_be;
	cfg.prefix_len = (uint32_t)plen;
	memcpy(cfg.mac, H.mac, 6);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	cfg.mtu = ioctl(H.fd, SIOCGIFMTU, &ifr) ? 1500 : (uint16_t)ifr.ifr_mtu;
	cfg.max_flows = conns < 65536 ? 65536 : conns;
	cfg.max_conns = conns;
	cfg.nr_queues = 1;
	cfg.rx_buf_size = cfg.tx_buf_size = buf;
	if (getrandom(cfg.secret, sizeof(cfg.secret), 0) != sizeof(cfg.secret))
		cfg.secret[0] = mono_ns();
	err = ftoe_engine_create(&cfg, &io, &H.eng);
	if (err) {
		fprintf(stderr, "tcp-harness: engine: %s (buffers must be powers of two >= 2048)\n",
			strerror(-err));
		return 1;
	}
	H.nconns = conns;
	H.conns = calloc(conns, sizeof(*H.conns));
	ftoe_sock_set_callback(H.eng, on_event, NULL);
	sha256_init(&H.sha);
	H.rng = 0x2545f4914f6cdd1dull;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (H.mode == M_SEND) {
		H.bsock = ftoe_sock_connect(H.eng, H.peer_be, H.port);
		if (H.bsock < 0) {
			fprintf(stderr, "tcp-harness: connect: %s\n", strerror(-H.bsock));
			return 1;
		}
		H.t0 = mono_ns();
	} else {
		H.lsock = ftoe_sock_listen(H.eng, H.port, 128);
		if (H.lsock < 0) {
			fprintf(stderr, "tcp-harness: listen %u: %s\n", H.port, strerror(-H.lsock));
			return 1;
		}
	}
	if (H.verbose)
		fprintf(stderr, "tcp-harness: ready on %s\n", ifname);
	fflush(stderr);

	/* After the application is done, keep the engine running a little so
	 * the FIN handshake completes (until 300 ms pass without input). */
	uint64_t linger_until = UINT64_MAX, last_rx = mono_ns();

	while (!stop && mono_ns() < linger_until) {
		uint64_t wait = ftoe_engine_poll(H.eng, 0);
		struct pollfd pfd = { .fd = H.fd, .events = POLLIN };
		struct timespec ts, *tsp = NULL;
		void *fp[RX_BATCH];
		uint16_t lens[RX_BATCH];
		unsigned n = 0;

		bulk_service();
		bulk_tick();
		if (H.finished && linger_until == UINT64_MAX)
			linger_until = mono_ns() + 3000000000ull;
		if (H.finished && mono_ns() - last_rx > 300000000ull)
			break;
		if (H.finished && wait > 100000000ull)
			wait = 100000000ull;
		if (wait != UINT64_MAX) {
			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		if (ppoll(&pfd, 1, tsp, NULL) < 0 && errno != EINTR) {
			fprintf(stderr, "tcp-harness: ppoll: %s\n", strerror(errno));
			break;
		}
		while (n < RX_BATCH) {
			ssize_t r = recv(H.fd, frames[n], MAX_FRAME, MSG_DONTWAIT | MSG_TRUNC);

			if (r < 0)
				break;
			if (r < 14 || r > (ssize_t)(cfg.mtu + 14))
				continue; /* runt, or a GSO super-frame: turn offloads off */
			if (frames[n][12] == 0x08 && frames[n][13] == 0x06) {
				arp_rx(frames[n], (size_t)r);
				continue;
			}
			fp[n] = frames[n];
			lens[n] = (uint16_t)r;
			n++;
		}
		if (n) {
			ftoe_engine_rx(H.eng, 0, fp, lens, n);
			last_rx = mono_ns();
		}
	}
	if (H.verbose) {
		struct ftoe_engine_stats st;

		ftoe_engine_get_stats(H.eng, &st);
		fprintf(stderr,
			"tcp-harness: rx %llu frames (%llu malformed, %llu ooo), tx %llu frames, "
			"%llu retransmits (%llu fast, %llu timeouts), %llu passive, %llu active, "
			"%llu reset\n",
			(unsigned long long)st.rx_frames, (unsigned long long)st.rx_malformed,
			(unsigned long long)st.rx_ooo, (unsigned long long)st.tx_frames,
			(unsigned long long)st.retransmits, (unsigned long long)st.fast_retransmits,
			(unsigned long long)st.timeouts, (unsigned long long)st.conn_passive,
			(unsigned long long)st.conn_active, (unsigned long long)st.conn_reset);
	}
	ftoe_engine_destroy(H.eng);
	return H.exit_code;
}
