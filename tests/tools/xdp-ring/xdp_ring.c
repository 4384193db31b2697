/* xdp_ring.c - xdp-ring: a shipped XDP program at the kernel's hook of an interface (skb mode), its maps written from an updates file, its ring buffer streamed (trace records as text, frames to pcap), its per-CPU counters printed at the end.
 *
 * For tests of the programs with Linux traffic where the engine does not
 * carry it (tests/integration/progs_ipv6.sh): the same objects, at the
 * kernel's XDP hook, where they run without struct flextoe_md.
 *
 * xdp-ring [--updates FILE] [--ring MAP] [--pcap FILE] [--stats MAP] [--seconds S] IFACE OBJ
 *   --updates FILE  lines "MAP KEYHEX VALHEX" (flextoe-fw compile --print-updates)
 *   --ring MAP      trace_events (tcp_trace: one line per record, snap to pcap)
 *                   or capture_events (capture: frames to pcap)
 *   --stats MAP     at the end, "stat MAP IDX SUM" for each index of a per-CPU __u64 array
 * Prints "attached" once the program is on IFACE; runs until SIGINT/SIGTERM
 * or S seconds; detaches on exit.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <flextoe/trace.h>
#include "lib/util/hex.h"
#include "tests/tools/xdp-ring/pcap_out.h"

static volatile sig_atomic_t stop;
static bool is_trace;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int apply_updates(struct bpf_object *obj, const char *path)
{
	char line[8192], name[128], key[4096], val[4096];
	unsigned int n = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "xdp-ring: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		uint8_t k[512], v[512];
		struct bpf_map *m;

		n++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%127s %4095s %4095s", name, key, val) != 3 ||
		    !(m = bpf_object__find_map_by_name(obj, name)) ||
		    bpf_map__key_size(m) > sizeof(k) || bpf_map__value_size(m) > sizeof(v) ||
		    ftoe_hex_parse(key, k, bpf_map__key_size(m)) ||
		    ftoe_hex_parse(val, v, bpf_map__value_size(m)) ||
		    bpf_map_update_elem(bpf_map__fd(m), k, v, BPF_ANY)) {
			fprintf(stderr, "xdp-ring: %s:%u: bad or refused update: %s", path, n, line);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

static int on_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	if (is_trace) {
		struct flextoe_trace_rec r;
		char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
		int af;

		if (len < sizeof(r))
			return 0;
		memcpy(&r, data, sizeof(r));
		af = r.family == 6 ? AF_INET6 : AF_INET;
		inet_ntop(af, r.saddr, s, sizeof(s));
		inet_ntop(af, r.daddr, d, sizeof(d));
		printf("trace v%u family %u %s.%u > %s.%u flags 0x%02x seq %u len %u\n", r.version,
		       r.family, s, r.sport, d, r.dport, r.tcp_flags, r.seq, r.len);
		pcap_out_write(r.snap, r.snap_len > FLEXTOE_TRACE_SNAP ? FLEXTOE_TRACE_SNAP : r.snap_len,
			       r.pkt_len);
	} else {
		struct flextoe_capture_hdr h;

		if (len < sizeof(h))
			return 0;
		memcpy(&h, data, sizeof(h));
		if (h.cap_len > len - sizeof(h))
			return 0;
		pcap_out_write((const uint8_t *)data + sizeof(h), h.cap_len, h.pkt_len);
	}
	fflush(stdout);
	return 0;
}

static void print_stats(struct bpf_object *obj, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;
	uint32_t i;

	if (!m || ncpu <= 0 || bpf_map__type(m) != BPF_MAP_TYPE_PERCPU_ARRAY) {
		fprintf(stderr, "xdp-ring: --stats %s: not a per-CPU array of the object\n", name);
		return;
	}
	vals = calloc((size_t)ncpu, sizeof(*vals));
	for (i = 0; vals && i < bpf_map__max_entries(m); i++) {
		uint64_t sum = 0;

		if (bpf_map_lookup_elem(bpf_map__fd(m), &i, vals))
			break;
		for (int c = 0; c < ncpu; c++)
			sum += vals[c];
		printf("stat %s %u %llu\n", name, i, (unsigned long long)sum);
	}
	free(vals);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "updates", required_argument, NULL, 'u' }, { "ring", required_argument, NULL, 'r' },
		{ "pcap", required_argument, NULL, 'w' }, { "stats", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 't' }, { 0 },
	};
	const char *updates = NULL, *ring = NULL, *pcap = NULL, *stats = NULL;
	struct ring_buffer *rb = NULL;
	struct bpf_program *prog;
	struct bpf_object *obj;
	double seconds = 3600;
	struct timespec t0, t;
	unsigned int ifindex;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': updates = optarg; break;
		case 'r': ring = optarg; break;
		case 'w': pcap = optarg; break;
		case 's': stats = optarg; break;
		case 't': seconds = atof(optarg); break;
		default: return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: xdp-ring [--updates FILE] [--ring MAP] [--pcap FILE] "
			"[--stats MAP] [--seconds S] IFACE OBJ\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "xdp-ring: no interface %s\n", argv[optind]);
		return 2;
	}
	obj = bpf_object__open_file(argv[optind + 1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "xdp-ring: cannot load %s\n", argv[optind + 1]);
		return 1;
	}
	prog = bpf_object__next_program(obj, NULL);
	if (!prog || (updates && apply_updates(obj, updates)))
		goto out;
	if (pcap && pcap_out_open(pcap))
		goto out;
	if (ring) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, ring);

		is_trace = !strcmp(ring, "trace_events");
		rb = m ? ring_buffer__new(bpf_map__fd(m), on_record, NULL, NULL) : NULL;
		if (!rb) {
			fprintf(stderr, "xdp-ring: no ring buffer %s in the object\n", ring);
			goto out;
		}
	}
	if (bpf_xdp_attach((int)ifindex, bpf_program__fd(prog), XDP_FLAGS_SKB_MODE, NULL)) {
		fprintf(stderr, "xdp-ring: cannot attach to %s: %s\n", argv[optind], strerror(errno));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached\n");
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (rb)
			ring_buffer__poll(rb, 100);
		else
			usleep(100000);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!stop && (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
	bpf_xdp_detach((int)ifindex, XDP_FLAGS_SKB_MODE, NULL);
	if (rb)
		ring_buffer__consume(rb);
	if (stats)
		print_stats(obj, stats);
	rc = 0;
out:
	ring_buffer__free(rb);
	pcap_out_close();
	bpf_object__close(obj);
	return rc;
}
