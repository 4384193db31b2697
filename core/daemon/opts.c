/* opts.c - command line of the flextoe engine daemon. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flextoe/appif.h>

#include "core/daemon/daemon.h"
#include "core/ooo.h"
#include "lib/util/log.h"
#include "lib/util/peercred.h"

#define MAX_FLOWS_LIMIT (16u << 20)   /* the flow table's capacity limit */
#define TABLE_LIMIT (1u << 20)        /* --syn-table, --tw-table */

static void usage(FILE *out)
{
	char cc_names[256];

	if (ftoe_cc_names(cc_names, sizeof(cc_names)))
		cc_names[0] = 0;
	fprintf(out,
		"usage: flextoe --iface IF --ip ADDR/PREFIX [options]\n"
		"\n"
		"Runs the FlexTOE TCP engine on interface IF (AF_XDP), owning address ADDR,\n"
		"which the kernel must not have; the kernel's own traffic on IF is untouched.\n"
		"\n"
		"  -i, --iface IF          network interface to attach to (required)\n"
		"  -a, --ip ADDR/PREFIX    the engine's IPv4 address and on-link prefix (required);\n"
		"                          given once more with an IPv6 address, e.g. fd00::2/64,\n"
		"                          the engine also serves IPv6 at that address\n"
		"  -g, --gateway ADDR      next hop for off-link addresses (inside the prefix)\n"
		"  -w, --workers N         worker threads: 1 runs every stage; N > 1 spreads the stages\n"
		"                          (ingress, protocol, egress) over N threads (default: queues)\n"
		"      --flow-groups G     partition the flows into G groups (1..16), each owned by\n"
		"                          one protocol thread; frames are numbered at ingress,\n"
		"                          pre-processed on any thread and put back in order\n"
		"                          (needs --workers 2 or more; docs/engine.md)\n"
		"      --show-layout       print which thread runs which stage, and exit\n"
		"  -q, --queues N          NIC rx queues to serve, 1..device queues (default 1)\n"
		"  -p, --poll MODE         adaptive (default: block when idle) or busy (spin; benchmarks)\n"
		"      --cc ALG            congestion control: %s\n"
		"                          (the first is the default; RATE in bit/s, k/m/g suffix)\n"
		"      --max-flows N       flow table capacity (default 65536)\n"
		"      --buf SIZE          each connection's receive and transmit buffer, a power\n"
		"                          of two, 4k..16m (k/m suffix; default 256k): bounds the\n"
		"                          receive window, and an application's rings attach\n"
		"                          (one copy) only when they are no larger; address space\n"
		"                          reserved: max-flows x 2 x SIZE\n"
		"      --rto-retries N     retransmission timeouts in a row before a connection\n"
		"                          fails with ETIMEDOUT, 1..255 (default 15, as Linux\n"
		"                          tcp_retries2; each doubles the timeout, up to 60 s)\n"
		"      --ooo-intervals N   out-of-order intervals kept per connection, 1..%u\n"
		"                          (default %u; see docs/loss.md)\n"
		"      --syn-table N       half-open connections held, 1..1048576 (default 4096,\n"
		"                          76 bytes each); when full, SYN cookies answer\n"
		"      --syn-backlog N     half-open connections per listener before SYN cookies,\n"
		"                          1..1048576 (default: the listener's backlog)\n"
		"      --tw-table N        connections held in TIME_WAIT, 1..1048576 (default\n"
		"                          16384, 76 bytes each); when full the oldest goes\n"
		"  -r, --run-dir DIR       run directory (default " FTOE_DEFAULT_RUN_DIR ")\n"
		"  -f, --force             replace another XDP program already on IF\n"
		"      --no-loaderd        do not start flextoe-loaderd (start it yourself)\n"
		"      --loaderd PATH      the flextoe-loaderd to start (default: next to flextoe)\n"
		"      --loader-group NAME members of group NAME may load/unload programs and\n"
		"                          change maps through loaderd (default: root only)\n"
		"      --app-group GROUP   only root and members of GROUP (name or gid) may use\n"
		"                          the engine through flextoe.sock (default: any user)\n"
		"  -c, --config FILE       settings from FILE first (flextoe.conf(5): NAME = VALUE,\n"
		"                          NAME any long option here); the command line wins\n"
		"  -v, --verbose           more output (twice: debug)\n"
		"  -h, --help              this text\n"
		"\n"
		"Exit status: 0 after SIGINT/SIGTERM, 1 on a runtime failure, 2 on a usage error.\n",
		cc_names, FTOE_OOO_IV_MAX,
		FTOE_OOO_IV_DEFAULT < FTOE_OOO_IV_MAX ? FTOE_OOO_IV_DEFAULT : FTOE_OOO_IV_MAX);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "flextoe: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'flextoe --help'.\n");
	return -EINVAL;
}

/* A size with an optional k or m suffix (powers of 1024). */
static int parse_size(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		v <<= 10;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v <<= 20;
		end++;
	}
	if (*end || v > (1ul << 30))
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_ip(const char *s, uint32_t *ip_be)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip_be = a.s_addr;
	return 0;
}

/* Not a usable host address: 0/8, loopback, multicast, class E (RFC 5735). */
static bool ip_special(uint32_t ip_be)
{
	uint8_t a = (uint8_t)(ntohl(ip_be) >> 24);

	return a == 0 || a == 127 || a >= 224;
}

/* Not an address an engine may own (RFC 4291 2.5-2.7): unspecified,
 * loopback, IPv4-mapped or -compatible (the first 96 bits zero, or
 * ::ffff:0:0/96), multicast ff00::/8, link-local fe80::/10 (the engine
 * has no per-link scope). */
static bool ip6_special(const uint8_t a[16])
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[12];

	return !memcmp(a, zero, 12) || !memcmp(a, v4mapped, 12) || a[0] == 0xff ||
	       (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

/* --ip with an IPv6 address (the engine's second address).  As for IPv4,
 * a later --ip of the family replaces an earlier one (the command line wins
 * over --config). */
static int parse_cidr6(const char *arg, const char *addr, const char *plen,
		       struct daemon_opts *o)
{
	unsigned long prefix;

	if (inet_pton(AF_INET6, addr, o->ip6) != 1)
		return bad("bad --ip '%s': not an IPv6 address; expected ADDR/PREFIX, "
			   "e.g. fd00::2/64", arg);
	if (parse_uint(plen, 1, 128, &prefix))
		return bad("bad --ip '%s': the prefix length must be 1..128", arg);
	if (ip6_special(o->ip6))
		return bad("bad --ip '%s': not a global or unique-local unicast address "
			   "(::, ::1, IPv4-mapped, multicast and link-local are not allowed)", arg);
	o->prefix6_len = (uint32_t)prefix;
	o->has_ip6 = true;
	return 0;
}

static int parse_cidr(const char *arg, struct daemon_opts *o)
{
	char buf[64], *slash;
	unsigned long prefix;
	uint32_t host, mask;

	if (strlen(arg) >= sizeof(buf))
		return bad("bad --ip '%s': expected ADDR/PREFIX, e.g. 10.0.0.5/24", arg);
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (!slash)
		return bad("bad --ip '%s': the prefix length is missing; expected ADDR/PREFIX, "
			   "e.g. 10.0.0.5/24", arg);
	*slash = 0;
	if (strchr(buf, ':'))
		return parse_cidr6(arg, buf, slash + 1, o);
	if (parse_ip(buf, &o->ip_be))
		return bad("bad --ip '%s': not an IPv4 address; expected ADDR/PREFIX, "
			   "e.g. 10.0.0.5/24", arg);
	if (parse_uint(slash + 1, 1, 32, &prefix)) {
		o->ip_be = 0;
		return bad("bad --ip '%s': the prefix length must be 1..32", arg);
	}
	o->prefix_len = (uint32_t)prefix;
	if (ip_special(o->ip_be))
		return bad("bad --ip '%s': not a unicast host address "
			   "(0/8, 127/8, multicast and 240/4 are not allowed)", arg);
	host = ntohl(o->ip_be);
	mask = ~0u << (32 - prefix);
	if (prefix <= 30 && ((host & ~mask) == 0 || (host & ~mask) == ~mask))
		return bad("bad --ip '%s': that is the network or broadcast address of its prefix",
			   arg);
	return 0;
}

enum { OPT_CC = 256, OPT_MAX_FLOWS, OPT_BUF, OPT_NO_LOADERD, OPT_LOADERD, OPT_LOADER_GROUP,
       OPT_RTO_RETRIES, OPT_OOO_INTERVALS,
       OPT_APP_GROUP,
       OPT_SYN_TABLE, OPT_TW_TABLE, OPT_SYN_BACKLOG, OPT_FLOW_GROUPS, OPT_SHOW_LAYOUT,
       OPT_CONFIG };

int opts_parse(int argc, char **argv, struct daemon_opts *o)
{
	static const struct option longopts[] = {
		{ "iface",     required_argument, NULL, 'i' },
		{ "ip",        required_argument, NULL, 'a' },
		{ "gateway",   required_argument, NULL, 'g' },
		{ "workers",   required_argument, NULL, 'w' },
		{ "queues",    required_argument, NULL, 'q' },
		{ "flow-groups", required_argument, NULL, OPT_FLOW_GROUPS },
		{ "show-layout", no_argument,     NULL, OPT_SHOW_LAYOUT },
		{ "poll",      required_argument, NULL, 'p' },
		{ "cc",        required_argument, NULL, OPT_CC },
		{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
		{ "buf",       required_argument, NULL, OPT_BUF },
		{ "rto-retries", required_argument, NULL, OPT_RTO_RETRIES },
		{ "ooo-intervals", required_argument, NULL, OPT_OOO_INTERVALS },
		{ "syn-table", required_argument, NULL, OPT_SYN_TABLE },
		{ "tw-table",  required_argument, NULL, OPT_TW_TABLE },
		{ "syn-backlog", required_argument, NULL, OPT_SYN_BACKLOG },
		{ "run-dir",   required_argument, NULL, 'r' },
		{ "force",     no_argument,       NULL, 'f' },
		{ "no-loaderd", no_argument,      NULL, OPT_NO_LOADERD },
		{ "loaderd",   required_argument, NULL, OPT_LOADERD },
		{ "loader-group", required_argument, NULL, OPT_LOADER_GROUP },
		{ "app-group", required_argument, NULL, OPT_APP_GROUP },
		{ "verbose",   no_argument,       NULL, 'v' },
		{ "config",    required_argument, NULL, OPT_CONFIG },
		{ "help",      no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *gateway = NULL;
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->queues = 1;
	o->max_flows = 65536;
	o->run_dir = FTOE_DEFAULT_RUN_DIR;

	/* --config FILE: its settings go in front of the command line's */
	if (conf_expand(&argc, &argv, longopts))
		return -EINVAL;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":i:a:g:w:q:p:r:c:fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			if (!*optarg || strlen(optarg) >= IF_NAMESIZE)
				return bad("bad --iface '%s': not an interface name", optarg);
			o->iface = optarg;
			break;
		case 'a':
			if (parse_cidr(optarg, o))
				return -EINVAL;
			break;
		case 'g':
			gateway = optarg;
			break;
		case 'w':
			if (parse_uint(optarg, 1, X86_MAX_QUEUES, &v))
				return bad("bad --workers '%s': expected a number of threads, 1..64",
					   optarg);
			o->workers = (unsigned int)v;
			break;
		case OPT_FLOW_GROUPS:
			if (parse_uint(optarg, 1, X86_MAX_FLOW_GROUPS, &v))
				return bad("bad --flow-groups '%s': expected a number of groups, 1..16",
					   optarg);
			o->flow_groups = (unsigned int)v;
			break;
		case OPT_SHOW_LAYOUT:
			o->show_layout = true;
			break;
		case 'q':
			if (parse_uint(optarg, 1, X86_MAX_QUEUES, &v))
				return bad("bad --queues '%s': expected a number of queues, 1..64",
					   optarg);
			o->queues = (unsigned int)v;
			break;
		case 'p':
			if (!strcmp(optarg, "busy"))
				o->busy_poll = true;
			else if (strcmp(optarg, "adaptive"))
				return bad("bad --poll '%s': expected adaptive or busy", optarg);
			break;
		case OPT_CC: {
			char names[256];
			int err = ftoe_cc_parse(optarg, &o->cc, &o->cc_param);

			if (!err)
				break;
			if (ftoe_cc_names(names, sizeof(names)))
				names[0] = 0;
			fprintf(stderr, "flextoe: bad --cc '%s': %s; the algorithms are %s\n",
				optarg, err == -ENOENT ? "unknown algorithm" : "bad argument", names);
			fprintf(stderr, "Try 'flextoe --help'.\n");
			return -EINVAL;
		}
		case OPT_MAX_FLOWS:
			if (parse_uint(optarg, 1, MAX_FLOWS_LIMIT, &v))
				return bad("bad --max-flows '%s': expected 1..16777216", optarg);
			o->max_flows = (uint32_t)v;
			break;
		case OPT_BUF:
			if (parse_size(optarg, &v) || v < APPIF_MIN_BUF || v > APPIF_MAX_BUF ||
			    (v & (v - 1)))
				return bad("bad --buf '%s': expected a power of two from 4k to 16m",
					   optarg);
			o->buf_size = (uint32_t)v;
			break;
		case OPT_RTO_RETRIES:
			if (parse_uint(optarg, 1, 255, &v))
				return bad("bad --rto-retries '%s': expected a number of timeouts, "
					   "1..255", optarg);
			o->rto_retries = (unsigned int)v;
			break;
		case OPT_OOO_INTERVALS:
			if (parse_uint(optarg, 1, FTOE_OOO_IV_MAX, &v)) {
				fprintf(stderr, "flextoe: bad --ooo-intervals '%s': expected a number "
					"of intervals, 1..%u (the build's FTOE_OOO_IV_MAX)\n"
					"Try 'flextoe --help'.\n", optarg, FTOE_OOO_IV_MAX);
				return -EINVAL;
			}
			o->ooo_intervals = (unsigned int)v;
			break;
		case OPT_SYN_TABLE:
			if (parse_uint(optarg, 1, TABLE_LIMIT, &v))
				return bad("bad --syn-table '%s': expected a number of half-open "
					   "connections, 1..1048576", optarg);
			o->syn_table = (uint32_t)v;
			break;
		case OPT_SYN_BACKLOG:
			if (parse_uint(optarg, 1, TABLE_LIMIT, &v))
				return bad("bad --syn-backlog '%s': expected a number of half-open "
					   "connections per listener, 1..1048576", optarg);
			o->syn_backlog = (uint32_t)v;
			break;
		case OPT_TW_TABLE:
			if (parse_uint(optarg, 1, TABLE_LIMIT, &v))
				return bad("bad --tw-table '%s': expected a number of connections "
					   "in TIME_WAIT, 1..1048576", optarg);
			o->tw_table = (uint32_t)v;
			break;
		case 'r':
			if (!*optarg || strlen(optarg) > PATH_MAX - 32)
				return bad("bad --run-dir '%s'", optarg);
			o->run_dir = optarg;
			break;
		case 'f':
			o->force = true;
			break;
		case OPT_NO_LOADERD:
			o->no_loaderd = true;
			break;
		case OPT_LOADERD:
			if (!*optarg)
				return bad("bad --loaderd '%s'", optarg);
			o->loaderd_path = optarg;
			break;
		case OPT_LOADER_GROUP:
			if (!*optarg)
				return bad("bad --loader-group '%s'", optarg);
			o->loaderd_group = optarg;
			break;
		case OPT_APP_GROUP:
			if (ftoe_group_parse(optarg, &o->app_gid))
				return bad("bad --app-group '%s': no such group (a name from "
					   "/etc/group, or a number)", optarg);
			o->app_group = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case OPT_CONFIG:
		case 'c':
			break;	/* read by conf_expand */
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			return bad("option '%s' needs an argument", argv[optind - 1]);
		default:
			return bad("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return bad("unexpected argument '%s'", argv[optind]);
	if (!o->iface && !o->show_layout)
		return bad("%s", "--iface IF is required");
	if (!o->ip_be && !o->show_layout)
		return bad("%s", o->has_ip6 ? "an IPv4 --ip ADDR/PREFIX is required as well: the "
			   "engine does not run IPv6-only yet" : "--ip ADDR/PREFIX is required");
	if (gateway) {
		uint32_t mask = ~0u << (32 - o->prefix_len);

		if (parse_ip(gateway, &o->gateway_be) || ip_special(o->gateway_be))
			return bad("bad --gateway '%s': not a unicast IPv4 address", gateway);
		if ((ntohl(o->gateway_be) ^ ntohl(o->ip_be)) & mask)
			return bad("bad --gateway '%s': not inside the --ip prefix (a gateway must "
				   "be on-link)", gateway);
		if (o->gateway_be == o->ip_be)
			return bad("bad --gateway '%s': that is the engine's own address", gateway);
	}
	if (o->workers > o->queues + 2 && !o->flow_groups)
		return bad("%s", "--workers must not exceed --queues + 2 (a protocol and an "
			   "egress thread, and at least one queue per ingress thread)");
	if (!o->workers)
		o->workers = o->queues;
	if (o->flow_groups && o->workers == 1 && !o->show_layout)
		return bad("%s", "--flow-groups needs --workers 2 or more (with --workers 1 one "
			   "thread runs every stage of every group)");
	if (o->show_layout) {
		struct x86_layout l;

		if (x86_layout_plan(o->workers, o->flow_groups, o->queues, &l))
			return bad("%s", "no layout for these --workers/--queues/--flow-groups");
		x86_layout_print(&l, stdout);
		return 1;
	}
	return 0;
}
