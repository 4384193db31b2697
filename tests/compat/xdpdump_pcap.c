/* xdpdump_pcap.c - runs xdpdump's XDP program (Debian's xdpdump_xdp.o) in the runtime on the frames of a pcap file, reads its perf samples back through ebpf_perf_buffer and writes them as pcap, as xdpdump's user space does. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#define PCAP_DONT_INCLUDE_PCAP_BPF_H	/* pcap/bpf.h clashes with linux/bpf.h */
#include <pcap/pcap.h>
#include <pcap/dlt.h>

#include "ebpf/ebpf.h"
#include "loader/bpf-cli/xdpdump.h"

#define CAPTURE_IFINDEX 1	/* the frames are given to the program as from lo */

struct sink {
	pcap_dumper_t *d;
	uint64_t samples, lost, bad;
};

static void on_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	struct sink *s = ctx;
	struct xdpdump_meta m;
	struct pcap_pkthdr h;
	struct timespec now;

	(void)cpu;
	if (size < sizeof(m)) {
		s->bad++;
		return;
	}
	memcpy(&m, data, sizeof(m));
	if (m.cap_len > size - sizeof(m) || m.ifindex != CAPTURE_IFINDEX) {
		s->bad++;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = now.tv_sec;
	h.ts.tv_usec = now.tv_nsec / 1000;
	h.caplen = m.cap_len;
	h.len = m.pkt_len;
	pcap_dump((u_char *)s->d, &h, (const u_char *)data + sizeof(m));
	s->samples++;
}

static void on_lost(void *ctx, int cpu, uint64_t cnt)
{
	(void)cpu;
	((struct sink *)ctx)->lost += cnt;
}

static void usage(FILE *f, const char *argv0)
{
	fprintf(f, "usage: %s [--engine jit|interp] [--snaplen N] OBJ IN.pcap OUT.pcap\n"
		"Run xdpdump's XDP program (OBJ, e.g. Debian's xdpdump_xdp.o) in the runtime on\n"
		"every frame of IN.pcap (as received on ifindex %d) and write the frames its\n"
		"perf samples carry to OUT.pcap, read back through the runtime's perf consumer.\n",
		argv0, CAPTURE_IFINDEX);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "engine", required_argument, NULL, 'e' },
		{ "snaplen", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct xdpdump_cfg cfg = { CAPTURE_IFINDEX, 65535, 0 };
	struct ebpf_global_init g = { "trace_cfg", &cfg, sizeof(cfg) };
	char err[512] = "", perr[PCAP_ERRBUF_SIZE];
	struct ebpf_object_opts opts = {
		.sz = sizeof(opts), .engine = EBPF_ENGINE_JIT, .err_buf = err,
		.err_size = sizeof(err), .globals = &g, .nr_globals = 1,
	};
	struct ebpf_perf_buffer *pb = NULL;
	struct ebpf_xdp_buff *xdp = NULL;
	struct ebpf_object *obj = NULL;
	struct sink sink = { 0 };
	struct pcap_pkthdr *ph;
	const u_char *pkt;
	pcap_t *in = NULL, *dead = NULL;
	struct ebpf_prog *prog;
	struct ebpf_map *map;
	uint64_t frames = 0, passed = 0;
	int c, ret, rc = 1;

	while ((c = getopt_long(argc, argv, "e:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			if (!strcmp(optarg, "jit"))
				opts.engine = EBPF_ENGINE_JIT;
			else if (!strcmp(optarg, "interp"))
				opts.engine = EBPF_ENGINE_INTERP;
			else {
				fprintf(stderr, "xdpdump_pcap: unknown engine '%s' (jit or interp)\n",
					optarg);
				return 2;
			}
			break;
		case 's':
			cfg.capture_snaplen = (uint32_t)strtoul(optarg, NULL, 10);
			if (!cfg.capture_snaplen || cfg.capture_snaplen > 65535) {
				fprintf(stderr, "xdpdump_pcap: --snaplen wants 1..65535\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (argc - optind != 3) {
		usage(stderr, argv[0]);
		return 2;
	}
	ret = ebpf_object_open(argv[optind], &opts, &obj);
	if (ret) {
		fprintf(stderr, "xdpdump_pcap: cannot load %s: %s\n", argv[optind],
			err[0] ? err : strerror(-ret));
		return 1;
	}
	prog = ebpf_object_find_prog(obj, "xdpdump");
	/* its one perf event array (xdpdump_perf_map; map names keep 15 bytes) */
	for (map = NULL; (map = ebpf_object_next_map(obj, map));)
		if (ebpf_map_type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
			break;
	if (!prog || !map) {
		fprintf(stderr, "xdpdump_pcap: %s has no program xdpdump or no perf event "
			"array\n", argv[optind]);
		goto out;
	}
	ret = ebpf_perf_buffer_new(map, 64, &pb);
	if (!ret)
		ret = ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &xdp);
	if (ret) {
		fprintf(stderr, "xdpdump_pcap: %s\n", strerror(-ret));
		goto out;
	}
	in = pcap_open_offline(argv[optind + 1], perr);
	dead = pcap_open_dead(DLT_EN10MB, 65535);
	sink.d = dead ? pcap_dump_open(dead, argv[optind + 2]) : NULL;
	if (!in || !sink.d) {
		fprintf(stderr, "xdpdump_pcap: %s\n", !in ? perr : "cannot write the output file");
		goto out;
	}
	while (pcap_next_ex(in, &ph, &pkt) == 1) {
		if (ebpf_xdp_buff_set(xdp, pkt, ph->caplen, 256))
			continue;	/* larger than a test frame */
		xdp->md.ingress_ifindex = CAPTURE_IFINDEX;
		frames++;
		passed += ebpf_prog_run_xdp(prog, xdp) == XDP_PASS;
		/* Read as xdpdump does, while frames keep coming. */
		if (ebpf_perf_buffer_consume(pb, on_sample, on_lost, &sink) < 0)
			goto out;
	}
	printf("%llu frames run (%llu passed), %llu samples written, %llu lost, %llu malformed\n",
	       (unsigned long long)frames, (unsigned long long)passed,
	       (unsigned long long)sink.samples, (unsigned long long)sink.lost,
	       (unsigned long long)sink.bad);
	rc = sink.lost || sink.bad || sink.samples != frames;
out:
	if (sink.d)
		pcap_dump_close(sink.d);
	if (dead)
		pcap_close(dead);
	if (in)
		pcap_close(in);
	ebpf_perf_buffer_free(pb);
	if (xdp)
		ebpf_xdp_buff_free(xdp);
	ebpf_object_close(obj);
	return rc;
}
