/* ss.c - flextoe-stat ss: the engine's connections and listeners with ss(8)'s columns, options and filters. */
#include <arpa/inet.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loader/stat/stat.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s ss [options] [FILTER]\n\n"
		"The engine's TCP connections (without -l or -a) or listeners (-l), as ss -t\n"
		"shows the kernel's: state, receive and send queue bytes, addresses.\n\n"
		"  -a, --all        listeners and connections\n"
		"  -l, --listening  listeners only\n"
		"  -i, --info       TCP details: rtt/rttvar, rto, mss, cwnd, pacing rate,\n"
		"                   retransmits, bytes acked and received, flow group\n"
		"  -p, --processes  the application (pid, context) owning each socket\n"
		"  -H, --no-header  no header line\n"
		"  -t, -n           accepted for ss compatibility (TCP only, always numeric)\n"
		"  --json           a JSON array of the selected sockets\n"
		"  --run-dir DIR    the engine's run directory (default $FLEXTOE_RUN_DIR,\n"
		"                   else /run/flextoe)\n"
		"  --direct         ask the engine's socket (root) instead of flextoe-loaderd\n"
		"  -h, --help       this help\n\n"
		"FILTER: conditions that must all hold, as in ss(8):\n"
		"  state STATE      established syn-sent syn-recv fin-wait-1 fin-wait-2\n"
		"                   time-wait close-wait last-ack closing closed listening,\n"
		"                   or all, connected, synchronized (repeatable: any of them)\n"
		"  sport = :PORT    local port (also sport :PORT, sport == :PORT; != negates)\n"
		"  dport = :PORT    remote port\n"
		"  dst PREFIX[:PORT]  remote address in PREFIX (10.0.0.0/8, 10.1.2.3)\n"
		"  src PREFIX[:PORT]  local address in PREFIX\n", STAT_NAME);
}

/* ---- the filter ------------------------------------------------------------ */
#define MAX_STATES 32
#define MAX_CONDS 16

struct cond {
	enum { C_SPORT, C_DPORT, C_DST, C_SRC } kind;
	bool negate;
	uint16_t port;		/* 0: any (dst/src without :PORT) */
	uint32_t net, mask;	/* host order */
};

struct filter {
	const char *states[MAX_STATES];	/* ss names ("ESTAB" ...); none: any */
	unsigned int nstates;
	bool want_listen, want_conns;
	struct cond conds[MAX_CONDS];
	unsigned int nconds;
};

static const struct {
	const char *word;
	const char *names[12];	/* the engine's state names it stands for */
} state_words[] = {
	{ "established", { "ESTAB" } },
	{ "syn-sent", { "SYN-SENT" } },
	{ "syn-recv", { "SYN-RECV" } },
	{ "fin-wait-1", { "FIN-WAIT-1" } },
	{ "fin-wait-2", { "FIN-WAIT-2" } },
	{ "time-wait", { "TIME-WAIT" } },
	{ "close-wait", { "CLOSE-WAIT" } },
	{ "last-ack", { "LAST-ACK" } },
	{ "closing", { "CLOSING" } },
	{ "closed", { "CLOSE" } },
	{ "listening", { "LISTEN" } },
	{ "all", { "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
		   "CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSE", "LISTEN" } },
	{ "connected", { "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
			 "CLOSE-WAIT", "LAST-ACK", "CLOSING" } },
	{ "synchronized", { "ESTAB", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT", "LAST-ACK",
			    "CLOSING" } },
};

static int add_state(struct filter *f, const char *w)
{
	for (size_t i = 0; i < sizeof(state_words) / sizeof(state_words[0]); i++) {
		if (strcasecmp(w, state_words[i].word))
			continue;
		for (size_t k = 0; k < 12 && state_words[i].names[k]; k++) {
			if (f->nstates == MAX_STATES)
				return stat_usage_error("ss", "too many states");
			f->states[f->nstates++] = state_words[i].names[k];
		}
		return 0;
	}
	return stat_usage_error("ss", "unknown state '%s' (established, syn-sent, syn-recv, "
				"fin-wait-1, fin-wait-2, time-wait, close-wait, last-ack, closing, "
				"closed, listening, all, connected, synchronized)", w);
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (*s == ':')
		s++;
	v = strtol(s, &end, 10);
	if (!*s || *end || v <= 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* PREFIX[/LEN][:PORT] */
static int parse_prefix(const char *arg, struct cond *c)
{
	char buf[64], *colon, *slash;
	struct in_addr a;
	long len = 32;

	if (strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		if (parse_port(colon + 1, &c->port))
			return -1;
	}
	slash = strchr(buf, '/');
	if (slash) {
		char *end;

		*slash = '\0';
		len = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || len < 0 || len > 32)
			return -1;
	}
	if (!strcmp(buf, "*") || !buf[0])
		len = 0, a.s_addr = 0;
	else if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	c->mask = len ? 0xffffffffu << (32 - len) : 0;
	c->net = ntohl(a.s_addr) & c->mask;
	return 0;
}

static int parse_filter(int argc, char **argv, struct filter *f)
{
	for (int i = 0; i < argc; i++) {
		const char *w = argv[i];
		struct cond *c;

		if (!strcmp(w, "state") || !strcmp(w, "exclude")) {
			int err;

			if (!strcmp(w, "exclude"))
				return stat_usage_error("ss", "'exclude' is not supported: name the "
							"states to show");
			if (++i == argc)
				return stat_usage_error("ss", "'state' needs a state name");
			err = add_state(f, argv[i]);
			if (err)
				return err;
			continue;
		}
		if (f->nconds == MAX_CONDS)
			return stat_usage_error("ss", "more than %d conditions", MAX_CONDS);
		c = &f->conds[f->nconds];
		memset(c, 0, sizeof(*c));
		if (!strcmp(w, "sport") || !strcmp(w, "dport")) {
			const char *op = i + 1 < argc ? argv[i + 1] : "";

			c->kind = w[0] == 's' ? C_SPORT : C_DPORT;
			if (!strcmp(op, "=") || !strcmp(op, "==") || !strcmp(op, "eq") ||
			    !strcmp(op, "!=") || !strcmp(op, "neq")) {
				c->negate = op[0] == '!' || op[0] == 'n';
				i++;
			}
			if (++i == argc || parse_port(argv[i], &c->port))
				return stat_usage_error("ss", "'%s' needs a port (%s = :80)", w, w);
		} else if (!strcmp(w, "dst") || !strcmp(w, "src")) {
			c->kind = w[0] == 'd' ? C_DST : C_SRC;
			if (++i == argc || parse_prefix(argv[i], c))
				return stat_usage_error("ss", "'%s' needs an IPv4 prefix, e.g. %s "
							"10.0.0.0/8 or %s 10.1.2.3:80", w, w, w);
		} else {
			return stat_usage_error("ss", "unknown filter word '%s' (state, sport, "
						"dport, dst, src)", w);
		}
		f->nconds++;
	}
	return 0;
}

static bool cond_holds(const struct cond *c, json_object *s)
{
	struct in_addr a;
	bool ok;

	switch (c->kind) {
	case C_SPORT:
		ok = stat_geti(s, "local_port") == c->port;
		break;
	case C_DPORT:
		ok = stat_geti(s, "remote_port") == c->port;
		break;
	default: {
		const bool dst = c->kind == C_DST;
		const char *ip = stat_gets(s, dst ? "remote_ip" : "local_ip");

		if (inet_pton(AF_INET, ip, &a) != 1) {
			ok = false;	/* a listener has no remote address */
			break;
		}
		ok = (ntohl(a.s_addr) & c->mask) == c->net &&
		     (!c->port || stat_geti(s, dst ? "remote_port" : "local_port") == c->port);
		break;
	}
	}
	return ok != c->negate;
}

static bool selected(const struct filter *f, json_object *s)
{
	const char *st = stat_gets(s, "state");
	bool listen = !strcmp(st, "LISTEN");

	if (f->nstates) {
		bool any = false;

		for (unsigned int i = 0; i < f->nstates && !any; i++)
			any = !strcmp(f->states[i], st);
		if (!any)
			return false;
	} else if (listen ? !f->want_listen : !f->want_conns) {
		return false;
	}
	for (unsigned int i = 0; i < f->nconds; i++)
		if (!cond_holds(&f->conds[i], s))
			return false;
	return true;
}

/* ---- output -------------------------------------------------------------------- */
static void comm_of(long long pid, char *buf, size_t n)
{
	char path[64];
	FILE *fp;

	snprintf(buf, n, "?");
	snprintf(path, sizeof(path), "/proc/%lld/comm", pid);
	fp = fopen(path, "r");
	if (!fp)
		return;
	if (fgets(buf, (int)n, fp))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(fp);
}

static void print_info(json_object *s)
{
	long long rate = stat_geti(s, "rate_kbps");

	printf("\t%s%s%s", json_object_get_boolean(json_object_object_get(s, "ts")) ? " ts" : "",
	       json_object_get_boolean(json_object_object_get(s, "sack")) ? " sack" : "",
	       json_object_get_boolean(json_object_object_get(s, "ecn")) ? " ecn" : "");
	printf(" wscale:%lld,%lld rto:%.0f rtt:%.3f/%.3f mss:%lld rcvmss:%lld cwnd:%lld",
	       stat_geti(s, "snd_wscale"), stat_geti(s, "rcv_wscale"),
	       stat_geti(s, "rto_us") / 1000.0, stat_geti(s, "srtt_us") / 1000.0,
	       stat_geti(s, "rttvar_us") / 1000.0, stat_geti(s, "snd_mss"),
	       stat_geti(s, "rcv_mss"), stat_geti(s, "cwnd"));
	if (rate)
		printf(" pacing_rate %.1fMbps", rate / 1000.0);
	printf(" snd_wnd:%lld rcv_wnd:%lld bytes_acked:%lld bytes_received:%lld retrans:%lld "
	       "flow_group:%lld\n", stat_geti(s, "snd_wnd"), stat_geti(s, "rcv_wnd"),
	       stat_geti(s, "bytes_acked"), stat_geti(s, "bytes_received"),
	       stat_geti(s, "retrans"), stat_geti(s, "flow_group"));
}

static void print_row(json_object *s, bool procs, bool info)
{
	bool listen = !strcmp(stat_gets(s, "state"), "LISTEN");
	char local[64], peer[64];
	const char *lip = stat_gets(s, "local_ip"), *rip = stat_gets(s, "remote_ip");
	/* IPv6 addresses in brackets, as ss(8) prints them */
	bool v6 = strchr(lip, ':') != NULL;

	snprintf(local, sizeof(local), v6 ? "[%s]:%lld" : "%s:%lld", lip,
		 stat_geti(s, "local_port"));
	if (listen)
		snprintf(peer, sizeof(peer), "0.0.0.0:*");
	else
		snprintf(peer, sizeof(peer), v6 ? "[%s]:%lld" : "%s:%lld", rip,
			 stat_geti(s, "remote_port"));
	/* ss: a listener's Recv-Q is its accept queue, Send-Q its backlog */
	printf("%-10s %8lld %8lld %21s %21s", stat_gets(s, "state"),
	       stat_geti(s, listen ? "queued" : "recv_q"), stat_geti(s, listen ? "backlog" : "send_q"),
	       local, peer);
	if (procs && stat_geti(s, "pid")) {
		char comm[64];

		comm_of(stat_geti(s, "pid"), comm, sizeof(comm));
		printf(" users:((\"%s\",pid=%lld,ctx=%lld))", comm, stat_geti(s, "pid"),
		       stat_geti(s, "context"));
	}
	putchar('\n');
	if (info && !listen)
		print_info(s);
}

static void select_into(json_object *out, json_object *arr, const struct filter *f, bool procs)
{
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (!selected(f, s))
			continue;
		if (procs && stat_geti(s, "pid")) {
			char comm[64];

			comm_of(stat_geti(s, "pid"), comm, sizeof(comm));
			json_object_object_add(s, "process", json_object_new_string(comm));
		}
		json_object_array_add(out, json_object_get(s));
	}
}

int stat_ss(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "listening", no_argument, NULL, 'l' },
		{ "info", no_argument, NULL, 'i' },
		{ "processes", no_argument, NULL, 'p' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "tcp", no_argument, NULL, 't' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "direct", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct filter f = { .want_conns = true };
	bool info = false, procs = false, header = true, json = false, direct = false;
	const char *run_dir = NULL;
	json_object *resp, *sel;
	int c, err;

	while ((c = getopt_long(argc, argv, "+alipHtnh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': f.want_listen = f.want_conns = true; break;
		case 'l': f.want_listen = true, f.want_conns = false; break;
		case 'i': info = true; break;
		case 'p': procs = true; break;
		case 'H': header = false; break;
		case 't': case 'n': break;
		case 'j': json = true; break;
		case 'r': run_dir = optarg; break;
		case 'd': direct = true; break;
		case 'h': usage(stdout); return 0;
		default: return stat_usage_error("ss", "unknown option '%s'", argv[optind - 1]);
		}
	}
	err = parse_filter(argc - optind, argv + optind, &f);
	if (err)
		return err;
	resp = stat_call(run_dir, direct, FLEXTOE_CTL_OP_CONNS);
	if (!resp)
		return STAT_EXIT_FAIL;
	sel = json_object_new_array();
	select_into(sel, json_object_object_get(resp, "listeners"), &f, procs);
	select_into(sel, json_object_object_get(resp, "conns"), &f, procs);
	if (json) {
		stat_print_json(sel);
	} else {
		if (header)
			printf("%-10s %8s %8s %21s %21s%s\n", "State", "Recv-Q", "Send-Q",
			       "Local Address:Port", "Peer Address:Port", procs ? " Process" : "");
		for (size_t i = 0; i < json_object_array_length(sel); i++)
			print_row(json_object_array_get_idx(sel, i), procs, info);
	}
	if (stat_geti(resp, "total") > (long long)json_object_array_length(
		    json_object_object_get(resp, "conns")))
		fprintf(stderr, "%s ss: the engine has %lld connections; the first %zu are shown\n",
			STAT_NAME, stat_geti(resp, "total"),
			json_object_array_length(json_object_object_get(resp, "conns")));
	json_object_put(sel);
	json_object_put(resp);
	return 0;
}
