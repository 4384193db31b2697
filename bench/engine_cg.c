/* engine_cg.c - instruction count of the engine's receive path per MSS data segment (callgrind). */
/*
 * Two engines are wired back to back in memory (tests/unit/core/engine_link.c,
 * virtual clock, no NIC).  Engine A sends N MSS-sized segments of one
 * connection; engine B receives them.  Only B's work on A's data frames is
 * measured: ftoe_engine_rx() of the frame plus the ftoe_engine_poll() that
 * follows it (where a due ACK leaves), i.e. "one segment and its ACK" as a
 * backend worker would run it.  A's sending, the delivery of B's ACKs to A
 * and the application draining B's receive buffer are outside the region.
 *
 * Under valgrind the region is bracketed with CALLGRIND_TOGGLE_COLLECT
 * (run with --collect-atstart=no, see bench/engine_cg.sh), so callgrind's
 * "Collected" total divided by the printed segment count is the cost per
 * segment.  Natively it prints the same region's wall time per segment.
 *
 * Modes:
 *   inorder  every segment arrives in order (the loss-free fast path);
 *   ooo      each pair of segments arrives swapped: the second one is held
 *            as out-of-order data (duplicate ACK with a SACK block), the
 *            first one fills the hole and both are delivered (merge, ACK).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <valgrind/callgrind.h>

#include "tests/unit/core/engine_link.h"

#define PORT 5001
#define MAX_BURST 64

struct frame {
	uint16_t len;
	uint8_t data[1600];
};

/* TCP payload length of an Ethernet/IPv4/TCP frame (0 if not one). */
static unsigned payload_len(const uint8_t *f, uint16_t len)
{
	unsigned ihl, tot, doff;

	if (len < 14 + 20 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	ihl = (f[14] & 0xfu) * 4u;
	tot = (unsigned)f[16] << 8 | f[17];
	if (len < 14 + ihl + 20 || tot < ihl + 20)
		return 0;
	doff = (f[14 + ihl + 12] >> 4) * 4u;
	return tot >= ihl + doff ? tot - ihl - doff : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct conn_wait {
	int lsock, c, a;
};

static bool conn_step(struct lb_world *w, void *arg)
{
	struct conn_wait *cw = arg;
	struct ftoe_sock_info info;

	if (cw->a < 0)
		cw->a = ftoe_sock_accept(w->s[1].eng, cw->lsock);
	return cw->a >= 0 && ftoe_sock_info(w->s[0].eng, cw->c, &info) == 0 && info.state >= 3;
}

/* Move the frames side idx has sent (in flight in the link) into out[]. */
static unsigned take_frames(struct lb_world *w, int idx, struct frame *out, unsigned max)
{
	struct lb_queue *q = &w->s[idx].out;
	unsigned n = 0;

	while (q->len && n < max) {
		struct lb_pkt *p = &q->p[q->head];

		out[n].len = p->len;
		memcpy(out[n].data, p->data, p->len);
		q->head = (q->head + 1) % q->cap;
		q->len--;
		n++;
	}
	return n;
}

/* Hand every frame side idx has sent to the other side (not measured). */
static void deliver_all(struct lb_world *w, int idx)
{
	struct frame f;

	while (take_frames(w, idx, &f, 1)) {
		void *fr[1] = { f.data };

		ftoe_engine_rx(w->s[!idx].eng, 0, fr, &f.len, 1);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: engine_cg [--segments N] [--mode inorder|ooo]\n"
		   "Sends N MSS-sized segments from one in-memory engine to another and\n"
		   "measures the receiver's rx + poll per segment (callgrind toggles).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "segments", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "burst", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct ftoe_engine_cfg ca, cb;
	struct ftoe_engine_stats s0, s1;
	struct ftoe_sock_info info;
	struct conn_wait cw = { .a = -1 };
	struct lb_world w;
	struct frame *batch;
	void **frames;
	uint16_t *lens;
	static uint8_t buf[256 * 1024];
	unsigned long nseg = 10000;
	uint64_t want, sent = 0, rcvd = 0, segs = 0, payload = 0, others = 0, ns = 0;
	unsigned mss, maxb = 1024, burst = 1;
	bool ooo = false;
	int o;

	while ((o = getopt_long(argc, argv, "n:m:b:h", opts, NULL)) != -1) {
		char *end;

		switch (o) {
		case 'n':
			errno = 0;
			nseg = strtoul(optarg, &end, 0);
			if (errno || *end || nseg == 0 || nseg > 10000000) {
				fprintf(stderr, "engine_cg: bad --segments '%s' (1..10000000)\n", optarg);
				return 2;
			}
			break;
		case 'b':
			errno = 0;
			burst = (unsigned)strtoul(optarg, &end, 0);
			if (errno || *end || burst == 0 || burst > MAX_BURST) {
				fprintf(stderr, "engine_cg: bad --burst '%s' (1..%d)\n", optarg,
					MAX_BURST);
				return 2;
			}
			break;
		case 'm':
			if (!strcmp(optarg, "inorder")) {
				ooo = false;
			} else if (!strcmp(optarg, "ooo")) {
				ooo = true;
			} else {
				fprintf(stderr, "engine_cg: bad --mode '%s' (inorder or ooo)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/* Large buffers so one batch carries many segments; a constant,
	 * unpaced sender so only the receive window limits a batch. */
	lb_default_cfg(&ca, LB_IP_A);
	lb_default_cfg(&cb, LB_IP_B);
	ca.rx_buf_size = cb.rx_buf_size = 256 * 1024;
	ca.tx_buf_size = cb.tx_buf_size = 256 * 1024;
	lb_init(&w, 1, &ca, &cb);
	batch = calloc(maxb, sizeof(*batch));
	frames = calloc(maxb, sizeof(*frames));
	lens = calloc(maxb, sizeof(*lens));
	if (!batch || !frames || !lens) {
		fprintf(stderr, "engine_cg: out of memory\n");
		lb_fini(&w);
		return 1;
	}
	cw.lsock = ftoe_sock_listen(w.s[1].eng, PORT, 16);
	cw.c = cw.lsock < 0 ? cw.lsock : ftoe_sock_connect(w.s[0].eng, __builtin_bswap32(LB_IP_B), PORT);
	if (cw.c < 0 || !lb_run(&w, conn_step, &cw, 10ull * 1000000000)) {
		fprintf(stderr, "engine_cg: the in-memory handshake failed (%d)\n", cw.c);
		goto fail;
	}
	/* Let the handshake's last ACK and any window update settle. */
	lb_run(&w, NULL, NULL, 1000000);
	if (ftoe_sock_info(w.s[0].eng, cw.c, &info) || !info.snd_mss) {
		fprintf(stderr, "engine_cg: no MSS on the connection\n");
		goto fail;
	}
	mss = info.snd_mss;
	want = (uint64_t)nseg * mss;
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	ftoe_engine_get_stats(w.s[1].eng, &s0);

	while (rcvd < want) {
		unsigned n;
		uint64_t t0;

		/* A writes what its ring takes (only whole segments, so every
		 * segment is MSS-sized) and transmits it. */
		if (sent < want) {
			uint64_t left = want - sent, space = 0;
			ssize_t r = 0;

			if (ftoe_sock_info(w.s[0].eng, cw.c, &info) == 0 &&
			    info.tx_queued < ca.tx_buf_size)
				space = (ca.tx_buf_size - info.tx_queued) / mss * mss;
			if (left > space)
				left = space;
			if (left > sizeof(buf))
				left = sizeof(buf) / mss * mss;
			if (left)
				r = ftoe_sock_send(w.s[0].eng, cw.c, buf, left);
			if (r > 0)
				sent += (uint64_t)r;
		}
		for (int i = 0; i < 8 && ftoe_engine_poll(w.s[0].eng, 0) == 0; i++)
			;
		n = take_frames(&w, 0, batch, maxb);
		if (ooo)
			for (unsigned i = 0; i + 1 < n; i += 2) {
				struct frame t = batch[i];

				batch[i] = batch[i + 1];
				batch[i + 1] = t;
			}
		for (unsigned i = 0; i < n; i++) {
			unsigned pl = payload_len(batch[i].data, batch[i].len);

			if (pl) {
				segs++;
				payload += pl;
			} else {
				others++;
			}
		}
		for (unsigned i = 0; i < n; i++) {
			frames[i] = batch[i].data;
			lens[i] = batch[i].len;
		}
		/* The measured region: B receives each burst of frames and
		 * polls, as a backend's receive loop does. */
		t0 = now_ns();
		CALLGRIND_TOGGLE_COLLECT;
		for (unsigned i = 0; i < n; i += burst) {
			unsigned m = n - i < burst ? n - i : burst;

			ftoe_engine_rx(w.s[1].eng, 0, frames + i, lens + i, m);
			ftoe_engine_poll(w.s[1].eng, 0);
		}
		CALLGRIND_TOGGLE_COLLECT;
		ns += now_ns() - t0;

		/* Not measured: B's application reads, A gets B's ACKs. */
		for (;;) {
			ssize_t r = ftoe_sock_recv(w.s[1].eng, cw.a, buf, sizeof(buf));

			if (r <= 0)
				break;
			rcvd += (uint64_t)r;
		}
		ftoe_engine_poll(w.s[1].eng, 0); /* a window update, if any */
		deliver_all(&w, 1);
		w.now += 10000;
		if (n == 0 && rcvd < want) {
			/* nothing moved: let timers run (never expected) */
			if (!lb_run(&w, NULL, NULL, 100000000) && w.s[0].out.len == 0 &&
			    w.s[1].out.len == 0 && sent == want && rcvd < want) {
				fprintf(stderr, "engine_cg: stalled at %llu of %llu bytes\n",
					(unsigned long long)rcvd, (unsigned long long)want);
				goto fail;
			}
		}
	}
	ftoe_engine_get_stats(w.s[1].eng, &s1);

	printf("mode=%s segments=%llu mss=%u avg_payload=%.1f other_frames=%llu bytes=%llu\n",
	       ooo ? "ooo" : "inorder", (unsigned long long)segs, mss,
	       segs ? (double)payload / (double)segs : 0.0, (unsigned long long)others,
	       (unsigned long long)rcvd);
	printf("receiver: acks_sent=%llu (%.2f per segment) rx_fast=%llu rx_slow=%llu rx_ooo=%llu\n",
	       (unsigned long long)(s1.tx_frames - s0.tx_frames),
	       segs ? (double)(s1.tx_frames - s0.tx_frames) / (double)segs : 0.0,
	       (unsigned long long)(s1.rx_fast - s0.rx_fast),
	       (unsigned long long)(s1.rx_slow - s0.rx_slow),
	       (unsigned long long)(s1.rx_ooo - s0.rx_ooo));
	printf("native: %.1f ns per segment (rx + poll)%s\n",
	       segs ? (double)ns / (double)segs : 0.0,
	       RUNNING_ON_VALGRIND ? " [under valgrind: meaningless]" : "");
	if (rcvd != want || (ooo && s1.rx_ooo == s0.rx_ooo)) {
		fprintf(stderr, "engine_cg: expected %llu bytes%s, got %llu\n",
			(unsigned long long)want, ooo ? " and out-of-order arrivals" : "",
			(unsigned long long)rcvd);
		goto fail;
	}
	free(batch);
	free(frames);
	free(lens);
	lb_fini(&w);
	return 0;
fail:
	free(batch);
	free(frames);
	free(lens);
	lb_fini(&w);
	return 1;
}
