/* impair.c - command line, signal handling and poll loop of the impair link-impairment relay. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/log.h"
#include "impair.h"

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC  1000000000ULL
/* Batches read from one interface before the other gets its turn. */
#define RX_BUDGET     4

/* The impairments settable per direction: --NAME, --NAME-ab, --NAME-ba. */
enum param { P_LOSS, P_REORDER, P_DUP, P_CORRUPT, P_DELAY, P_JITTER, P_HOLD, P_COUNT };
static const char *const param_names[P_COUNT] = {
	"loss", "reorder", "dup", "corrupt", "delay", "jitter", "reorder-hold",
};

enum {
	OPT_A = 256, OPT_B, OPT_SEED, OPT_STATS, OPT_LIMIT, OPT_HELP,
	OPT_PARAM = 512, /* + param * 3 + (0 both, 1 a->b, 2 b->a) */
};

struct config {
	const char *ifa, *ifb;
	struct impair_profile prof[2]; /* [0] a->b, [1] b->a */
	uint64_t seed;
	bool seed_set;
	double stats_interval;
	uint32_t limit;
};

static void usage(FILE *f)
{
	fprintf(f,
"Usage: impair --a IF --b IF [options]\n"
"Relay every Ethernet frame between interfaces IF(a) and IF(b) of this network\n"
"namespace over AF_PACKET, impairing each direction (run it in a namespace that\n"
"sits between two hosts: A <-veth-> [a  impair  b] <-veth-> B).\n"
"\n"
"Impairments (both directions; add -ab or -ba to the name, e.g. --loss-ab,\n"
"for a -> b or b -> a only):\n"
"  --loss P            drop P%% of frames\n"
"  --reorder P         hold back P%% of frames until the next frame passed them\n"
"  --dup P             send P%% of frames twice\n"
"  --corrupt P         flip one random bit past the Ethernet header in P%% of\n"
"                      IPv4/IPv6 frames (checksums at the receiver catch it)\n"
"  --delay MS          delay every frame by MS milliseconds\n"
"  --jitter MS         add uniform jitter in [-MS, +MS] (order is kept)\n"
"  --reorder-hold MS   longest wait of a held frame for a successor (default 2)\n"
"Other options:\n"
"  --seed N            seed of the random choices (default: from the clock;\n"
"                      printed at start, so any run can be repeated)\n"
"  --limit N           frames queued per direction at most (default 10000)\n"
"  --stats-interval S  print counters every S seconds (default 0: never)\n"
"  -h, --help          this text\n"
"Percentages and milliseconds may have fractions (0.5).  Counters are printed\n"
"on SIGUSR1 and at exit (SIGINT, SIGTERM).\n");
}

static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) {
		pr_err("--%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (end == s || *end || errno || *s == '-' || v > max) {
		pr_err("--%s: '%s' is not a whole number from 0 to %" PRIu64, opt, s, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int set_param(struct config *c, int p, int which, const char *name, const char *arg)
{
	double v;
	int err;

	if (p <= P_CORRUPT)
		err = parse_double(name, arg, 0, 100, &v);
	else
		err = parse_double(name, arg, 0, 60000, &v);
	if (err)
		return err;
	for (int d = 0; d < 2; d++) {
		struct impair_profile *pr = &c->prof[d];

		if (which && which - 1 != d)
			continue;
		switch (p) {
		case P_LOSS:    pr->loss = v / 100; break;
		case P_REORDER: pr->reorder = v / 100; break;
		case P_DUP:     pr->dup = v / 100; break;
		case P_CORRUPT: pr->corrupt = v / 100; break;
		case P_DELAY:   pr->delay_ns = (uint64_t)llround(v * NSEC_PER_MSEC); break;
		case P_JITTER:  pr->jitter_ns = (uint64_t)llround(v * NSEC_PER_MSEC); break;
		case P_HOLD:    pr->hold_ns = (uint64_t)llround(v * NSEC_PER_MSEC); break;
		}
	}
	return 0;
}

/* Returns 0, 1 for --help, or -EINVAL. */
static int parse_args(int argc, char **argv, struct config *c)
{
	static char names[P_COUNT * 3][32];
	struct option opts[P_COUNT * 3 + 8];
	int n = 0, opt;
	uint64_t v;

	opts[n++] = (struct option){ "a", required_argument, NULL, OPT_A };
	opts[n++] = (struct option){ "b", required_argument, NULL, OPT_B };
	opts[n++] = (struct option){ "seed", required_argument, NULL, OPT_SEED };
	opts[n++] = (struct option){ "stats-interval", required_argument, NULL, OPT_STATS };
	opts[n++] = (struct option){ "limit", required_argument, NULL, OPT_LIMIT };
	opts[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	for (int p = 0; p < P_COUNT; p++) {
		static const char *const sfx[3] = { "", "-ab", "-ba" };

		for (int w = 0; w < 3; w++) {
			snprintf(names[p * 3 + w], sizeof(names[0]), "%s%s", param_names[p], sfx[w]);
			opts[n++] = (struct option){ names[p * 3 + w], required_argument, NULL,
						     OPT_PARAM + p * 3 + w };
		}
	}
	opts[n] = (struct option){ NULL, 0, NULL, 0 };

	memset(c, 0, sizeof(*c));
	c->limit = 10000;
	for (int d = 0; d < 2; d++)
		c->prof[d].hold_ns = 2 * NSEC_PER_MSEC;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case OPT_A: c->ifa = optarg; break;
		case OPT_B: c->ifb = optarg; break;
		case OPT_SEED:
			if (parse_u64("seed", optarg, UINT64_MAX, &c->seed))
				return -EINVAL;
			c->seed_set = true;
			break;
		case OPT_STATS:
			if (parse_double("stats-interval", optarg, 0, 86400, &c->stats_interval))
				return -EINVAL;
			break;
		case OPT_LIMIT:
			if (parse_u64("limit", optarg, 1000000, &v))
				return -EINVAL;
			if (!v) {
				pr_err("--limit: must be at least 1");
				return -EINVAL;
			}
			c->limit = (uint32_t)v;
			break;
		case 'h':
		case OPT_HELP:
			return 1;
		case ':':
			pr_err("%s needs a value (see --help)", argv[optind - 1]);
			return -EINVAL;
		case '?':
			pr_err("unknown option '%s' (see --help)", argv[optind - 1]);
			return -EINVAL;
		default:
			if (set_param(c, (opt - OPT_PARAM) / 3, (opt - OPT_PARAM) % 3,
				      names[opt - OPT_PARAM], optarg))
				return -EINVAL;
		}
	}
	if (optind < argc) {
		pr_err("unexpected argument '%s' (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (!c->ifa || !c->ifb) {
		pr_err("both --a IF and --b IF are required (see --help)");
		return -EINVAL;
	}
	if (!strcmp(c->ifa, c->ifb)) {
		pr_err("--a and --b name the same interface '%s'; give the two sides of the relay",
		       c->ifa);
		return -EINVAL;
	}
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void print_stats(const char *tag, struct direction *dirs)
{
	for (int i = 0; i < 2; i++) {
		struct direction *d = &dirs[i];
		struct impair_counters *c = &d->cnt;

		link_collect_drops(d->in, c);
		printf("impair: %s %s rx=%" PRIu64 " relayed=%" PRIu64 " dropped=%" PRIu64
		       " duplicated=%" PRIu64 " corrupted=%" PRIu64 " reordered=%" PRIu64
		       " hold_expired=%" PRIu64 " overflow=%" PRIu64 " truncated=%" PRIu64
		       " tx_errors=%" PRIu64 " kernel_drops=%" PRIu64 " queued=%u\n",
		       tag, d->name, c->rx, c->relayed, c->dropped, c->duplicated, c->corrupted,
		       c->reordered, c->hold_expired, c->overflow, c->truncated, c->tx_errors,
		       c->kernel_drops, d->queue.count + (unsigned int)d->nheld);
	}
	fflush(stdout);
}

static void print_profile(const struct direction *d)
{
	const struct impair_profile *p = &d->prof;

	printf("impair: profile %s loss=%g%% reorder=%g%% dup=%g%% corrupt=%g%% delay=%gms "
	       "jitter=%gms reorder-hold=%gms\n", d->name, p->loss * 100, p->reorder * 100,
	       p->dup * 100, p->corrupt * 100, (double)p->delay_ns / NSEC_PER_MSEC,
	       (double)p->jitter_ns / NSEC_PER_MSEC, (double)p->hold_ns / NSEC_PER_MSEC);
}

/* Reads what is waiting on d->in, up to RX_BUDGET batches; returns 0 or a
 * fatal -errno. */
static int pump_rx(struct direction *d)
{
	struct rx_frame fr[IMPAIR_BATCH];
	uint64_t now;
	int n;

	for (int b = 0; b < RX_BUDGET; b++) {
		n = link_rx(d->in, fr, &d->cnt);
		if (n == -ENETDOWN)
			return 0;   /* the interface went down; reading cleared it */
		if (n < 0) {
			pr_err("reading from '%s': %s", d->in->ifname, strerror(-n));
			return n;
		}
		if (!n)
			return 0;
		now = now_ns();
		for (int i = 0; i < n; i++)
			dir_ingest(d, fr[i].data, fr[i].len, now);
		if (n < IMPAIR_BATCH)
			return 0;
	}
	return 0;
}

/* Returns true when asked to stop. */
static bool handle_signals(int sfd, struct direction *dirs)
{
	struct signalfd_siginfo si;
	bool stop = false;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_stats("stats", dirs);
		else
			stop = true;
	}
	return stop;
}

static int relay(struct direction *dirs, double stats_interval)
{
	uint64_t interval = (uint64_t)(stats_interval * NSEC_PER_SEC);
	uint64_t next_stats = interval ? now_ns() + interval : UINT64_MAX;
	struct pollfd pfd[3];
	sigset_t mask;
	int sfd, err = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0) {
		err = -errno;
		pr_err("signalfd: %s", strerror(errno));
		return err;
	}
	pfd[0] = (struct pollfd){ .fd = dirs[0].in->fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = dirs[1].in->fd, .events = POLLIN };
	pfd[2] = (struct pollfd){ .fd = sfd, .events = POLLIN };

	printf("impair: ready pid=%d a=%s b=%s\n", (int)getpid(), dirs[0].in->ifname,
	       dirs[1].in->ifname);
	fflush(stdout);

	for (;;) {
		uint64_t now = now_ns(), deadline = next_stats;
		struct timespec ts, *tsp = NULL;

		for (int i = 0; i < 2; i++) {
			uint64_t t = dir_next_deadline(&dirs[i]);

			if (t < deadline)
				deadline = t;
		}
		/* Sleep exactly until the next frame is due: never busy-poll. */
		if (deadline != UINT64_MAX) {
			uint64_t wait = deadline > now ? deadline - now : 0;

			ts.tv_sec = (time_t)(wait / NSEC_PER_SEC);
			ts.tv_nsec = (long)(wait % NSEC_PER_SEC);
			tsp = &ts;
		}
		if (ppoll(pfd, 3, tsp, NULL) < 0 && errno != EINTR) {
			err = -errno;
			pr_err("ppoll: %s", strerror(errno));
			break;
		}
		if ((pfd[2].revents & POLLIN) && handle_signals(sfd, dirs))
			break;
		for (int i = 0; i < 2 && !err; i++)
			if (pfd[i].revents)
				err = pump_rx(&dirs[i]);
		if (err)
			break;
		now = now_ns();
		for (int i = 0; i < 2; i++) {
			dir_expire_holds(&dirs[i], now);
			dir_release(&dirs[i], now);
		}
		if (now >= next_stats) {
			print_stats("stats", dirs);
			next_stats = now + interval;
		}
	}
	close(sfd);
	return err;
}

int main(int argc, char **argv)
{
	struct direction dirs[2];
	struct link la, lb;
	struct config cfg;
	int err;

	ftoe_log_set_prefix("impair");
	setvbuf(stdout, NULL, _IOLBF, 0);
	err = parse_args(argc, argv, &cfg);
	if (err) {
		if (err > 0) {
			usage(stdout);
			return 0;
		}
		return 2;
	}
	if (!cfg.seed_set)
		cfg.seed = now_ns() ^ ((uint64_t)getpid() << 32);

	if (link_open(&la, cfg.ifa))
		return 1;
	if (link_open(&lb, cfg.ifb)) {
		link_close(&la);
		return 1;
	}
	/* Sleeps end within a microsecond of the due time instead of the
	 * default 50 us slack, which matters for sub-millisecond jitter. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);

	memset(dirs, 0, sizeof(dirs));
	for (int i = 0; i < 2; i++) {
		struct direction *d = &dirs[i];
		uint64_t s = cfg.seed;

		d->name = i ? "b->a" : "a->b";
		d->prof = cfg.prof[i];
		d->in = i ? &lb : &la;
		d->out = i ? &la : &lb;
		d->limit = cfg.limit;
		/* Independent streams per direction from one seed. */
		rng_seed(&d->rng, s + (uint64_t)i * 0x632be59bd9b4e019ULL);
		print_profile(d);
	}
	printf("impair: seed=%" PRIu64 "\n", cfg.seed);

	err = relay(dirs, cfg.stats_interval);
	print_stats("final", dirs);
	for (int i = 0; i < 2; i++)
		dir_free(&dirs[i]);
	link_close(&la);
	link_close(&lb);
	return err ? 1 : 0;
}
