/* capture.c - flextoe-bpf capture: attach the capture program (or xdpdump's own, --xdpdump) at a hook and write the frames it sees to a pcap file, like xdpdump. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <flextoe/bpf.h>
#include <flextoe/trace.h>

#include "loader/bpf-cli/cli.h"
#include "loader/bpf-cli/xdpdump.h"
#include "loader/bpf-cli/ringstream.h"

#define CAPTURE_OBJ "capture.bpf.o"
/* xdp-tools' xdpdump program as Debian ships it (scripts/deps.sh). */
#define XDPDUMP_OBJ "/usr/lib/x86_64-linux-gnu/bpf/xdpdump_xdp.o"

struct capture_ctx {
	struct rs_session *s;
	struct rs_pcap *pcap;
	uint64_t bad;		/* samples that are not xdpdump's */
};

static void usage(FILE *f)
{
	char names[64];

	fprintf(f,
		"Usage: %s capture --hook HOOK -w FILE.pcap [-s SNAPLEN] [--count N]\n"
		"       [--duration S] [--xdpdump] [--obj PATH] [--run-dir DIR]\n\n"
		"Attach the capture program at HOOK of the running engine and write every frame\n"
		"it sees to FILE.pcap (Ethernet) until SIGINT/SIGTERM, --count or --duration;\n"
		"the program is detached on exit (and by the engine if this process dies).\n\n"
		"  --hook HOOK     %s\n"
		"  -w FILE         the pcap file to write\n"
		"  -s SNAPLEN      bytes kept per frame, 1..%d (default %d)\n"
		"  --count N       stop after N frames\n"
		"  --duration S    stop S seconds after the program is attached\n"
		"  --xdpdump       capture with xdp-tools' own xdpdump program, read live from its\n"
		"                  perf event array (default object " XDPDUMP_OBJ ")\n"
		"  --obj PATH      capture object (default: found next to the binary)\n"
		"  --run-dir DIR   the engine's run directory\n"
		"  -h, --help      this help\n\n"
		"Needs root or membership of flextoe's --loader-group (as load).\n", CLI_NAME,
		flextoe_hook_names(names, sizeof(names), " or "), FLEXTOE_CAPTURE_MAX, FLEXTOE_CAPTURE_MAX);
}

static int on_frame(void *ctx, unsigned int ring, const void *data, size_t len)
{
	struct capture_ctx *c = ctx;
	struct flextoe_capture_hdr h;
	struct timespec ts;

	(void)ring;
	if (len < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	if (h.size < sizeof(h) || h.size > len || h.cap_len > len - h.size)
		return 0;	/* not a record this version understands */
	if (c->s->max_count && c->s->seen >= c->s->max_count)
		return 1;
	c->s->seen++;
	rs_time(c->s, h.tstamp_ns, &ts);
	rs_pcap_write(c->pcap, &ts, (const uint8_t *)data + h.size, h.cap_len, h.pkt_len);
	return 0;
}

/* One sample of xdpdump's program: its metadata, then the frame. */
static int on_xdpdump(void *ctx, unsigned int ring, const void *data, size_t len)
{
	struct capture_ctx *c = ctx;
	struct xdpdump_meta m;
	struct timespec ts;

	(void)ring;
	if (len < sizeof(m)) {
		c->bad++;
		return 0;
	}
	memcpy(&m, data, sizeof(m));
	if (m.cap_len > len - sizeof(m) || m.cap_len > m.pkt_len) {
		c->bad++;
		return 0;
	}
	if (c->s->max_count && c->s->seen >= c->s->max_count)
		return 1;
	c->s->seen++;
	rs_time(c->s, 0, &ts);	/* xdpdump stamps on receipt too */
	rs_pcap_write(c->pcap, &ts, (const uint8_t *)data + sizeof(m), m.cap_len, m.pkt_len);
	return 0;
}

/* Load xdpdump's program and set its trace_cfg (in .data) to capture
 * what the engine's interface receives; perf_map gets the name of its
 * perf event array as the engine has it. */
static int xdpdump_start(struct rs_session *s, const char *path, const char *hook,
			 uint32_t snaplen, char *perf_map, size_t size)
{
	struct xdpdump_cfg cfg = { .capture_snaplen = snaplen };
	char data_map[64];
	int rc;

	rc = rs_engine_ifindex(s, &cfg.capture_if_ifindex);
	if (!rc)
		rc = rs_load(s, path, hook);
	if (!rc)
		rc = rs_map_find(s, 0, "array", ".data", data_map, sizeof(data_map));
	if (!rc)
		rc = rs_map_find(s, 0, "perf_event_array", "", perf_map, size);
	if (!rc)
		rc = rs_map_set(s, 0, data_map, &cfg, sizeof(cfg));
	return rc;
}

static void flush_pcap(void *ctx)
{
	rs_pcap_flush(((struct capture_ctx *)ctx)->pcap);
}

static int cmd_capture(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "hook", required_argument, NULL, 'H' },
		{ "write", required_argument, NULL, 'w' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "obj", required_argument, NULL, 'o' },
		{ "xdpdump", no_argument, NULL, 'X' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *hook = NULL, *wfile = NULL, *obj = NULL, *run_dir = NULL;
	char names[64];
	struct flextoe_capture_cfg cfg = { 0 };
	struct capture_ctx cc = { 0 };
	struct rs_session s;
	char path[PATH_MAX], *end;
	unsigned long snap = FLEXTOE_CAPTURE_MAX;
	uint64_t count = 0;
	double duration = 0;
	bool xdpdump = false;
	char perf_map[64] = "";
	int c, rc;

	while ((c = getopt_long(argc, argv, "w:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': hook = optarg; break;
		case 'w': wfile = optarg; break;
		case 'o': obj = optarg; break;
		case 'X': xdpdump = true; break;
		case 'r': run_dir = optarg; break;
		case 's':
			errno = 0;
			snap = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || !snap || snap > FLEXTOE_CAPTURE_MAX)
				return cli_usage_error("capture", "bad snaplen '%s': expected 1..%d",
						       optarg, FLEXTOE_CAPTURE_MAX);
			break;
		case 'c':
			if ((rc = rs_parse_count("capture", optarg, &count)))
				return rc;
			break;
		case 'd':
			if ((rc = rs_parse_duration("capture", optarg, &duration)))
				return rc;
			break;
		case 'h': usage(stdout); return 0;
		default: return cli_usage_error("capture", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage_error("capture", "unexpected argument '%s'", argv[optind]);
	if (!hook)
		return cli_usage_error("capture", "--hook HOOK is required (%s)",
				       flextoe_hook_names(names, sizeof(names), " or "));
	if (flextoe_hook_id(hook) == FLEXTOE_HOOK_NONE)
		return cli_usage_error("capture", "unknown hook '%s': the hooks are %s", hook,
				       flextoe_hook_names(names, sizeof(names), " and "));
	if (!wfile)
		return cli_usage_error("capture", "-w FILE.pcap is required");
	if (xdpdump)
		rc = rs_find_object(obj ? obj : XDPDUMP_OBJ, NULL, path, sizeof(path));
	else
		rc = rs_find_object(obj, CAPTURE_OBJ, path, sizeof(path));
	if (rc)
		return rc;
	rs_session_init(&s, run_dir, duration, count);
	cc.s = &s;
	cc.pcap = rs_pcap_open(wfile, (int)snap);
	if (!cc.pcap)
		return CLI_EXIT_FAIL;
	if (xdpdump) {
		rc = xdpdump_start(&s, path, hook, (uint32_t)snap, perf_map, sizeof(perf_map));
	} else {
		rc = rs_load(&s, path, hook);
		cfg.snaplen = (uint32_t)snap;
		if (!rc)
			rc = rs_map_set(&s, 0, "capture_cfg", &cfg, sizeof(cfg));
	}
	if (!rc) {
		fprintf(stderr, "%s: capturing at %s (program %u%s) into %s; Ctrl-C stops\n",
			CLI_NAME, hook, s.ids[0], xdpdump ? ", xdpdump's" : "", wfile);
		rc = rs_stream(&s, xdpdump ? perf_map : "capture_events",
			       xdpdump ? on_xdpdump : on_frame, flush_pcap, &cc);
	}
	rs_unload_all(&s);
	rs_pcap_close(cc.pcap);
	if (!rc)
		fprintf(stderr, "%s: %llu frame%s written to %s, %llu lost%s; program detached\n",
			CLI_NAME, (unsigned long long)s.seen, s.seen == 1 ? "" : "s", wfile,
			(unsigned long long)s.lost, cc.bad ? " (and malformed samples skipped)" : "");
	return rc;
}

CLI_VERB(capture, "capture", "write the frames at a hook to a pcap file (like xdpdump)",
	 cmd_capture)
