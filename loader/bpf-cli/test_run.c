/* test_run.c - `flextoe-bpf test-run`: run one program on one packet in the runtime or the kernel. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "lib/util/file.h"
#include "lib/util/hex.h"
#include "loader/bpf-cli/cli.h"

#define ETH_HLEN_	14
/* The kernel's test_run frame holds at most this much linear data. */
#define MAX_DATA	(EBPF_XDP_TEST_FRAME_SZ - EBPF_XDP_TEST_HEADROOM - EBPF_XDP_TEST_TAILROOM)
#define LOOPBACK_IFINDEX 1

enum run_engine { RUN_JIT, RUN_INTERP, RUN_KERNEL };

struct map_update {
	const char *map, *key, *value;
};

struct run_args {
	const char *path, *prog, *data_in, *data_out;
	unsigned long repeat;
	enum run_engine engine;
	struct map_update *updates;
	size_t nr_updates;
	struct cli_load_opts lo;
	bool json;
};

struct run_result {
	uint32_t retval;
	uint8_t out[EBPF_XDP_TEST_FRAME_SZ];
	uint32_t out_size;
	uint64_t duration_ns;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: %s test-run OBJ [--prog NAME] --data-in FILE [--data-out FILE]\n"
		"         [--repeat N] [--engine jit|interp|kernel]\n"
		"         [--map-update MAP KEYHEX VALHEX]... [--map-size NAME=N]...\n"
		"         [--rodata NAME=HEX]... [--json]\n\n"
		"Run an XDP program of OBJ once (or N times) on the packet in FILE, in\n"
		"the runtime (jit, interp) or in the kernel (bpf_prog_test_run), with\n"
		"the kernel's test_run frame geometry, and print the verdict (retval),\n"
		"the output size (data_size_out) and the mean time per run (duration_ns).\n\n"
		"Options:\n"
		"  -p, --prog NAME        the program (needed when OBJ has several XDP\n"
		"                         programs; the others load too, as tail-call\n"
		"                         targets)\n"
		"  -i, --data-in FILE     input packet, %d..%d bytes\n"
		"  -o, --data-out FILE    write the output frame (metadata + packet) here\n"
		"  -r, --repeat N         run N times on the same frame (default 1)\n"
		"  -e, --engine E         jit (default), interp or kernel\n"
		"  -m, --map-update MAP KEYHEX VALHEX\n"
		"                         set MAP[KEY] = VALUE first (runtime map and its\n"
		"                         kernel twin); repeatable.  For a program array\n"
		"                         VALHEX is a program's name, for an array or hash\n"
		"                         of maps an inner map's name (in OBJ)\n"
		CLI_PRESET_USAGE
		"  -j, --json             print {\"retval\", \"data_size_out\", \"duration_ns\"}\n"
		"  -h, --help             this help\n", CLI_NAME, ETH_HLEN_, (int)MAX_DATA);
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{ "prog", required_argument, NULL, 'p' },
		{ "data-in", required_argument, NULL, 'i' },
		{ "data-out", required_argument, NULL, 'o' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "engine", required_argument, NULL, 'e' },
		{ "map-update", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		CLI_PRESET_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct map_update *u;
	char *end;
	int c;

	a->repeat = 1;
	a->engine = RUN_JIT;
	while ((c = getopt_long(argc, argv, "p:i:o:r:e:m:jhS:R:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			a->prog = optarg;
			break;
		case 'i':
			a->data_in = optarg;
			break;
		case 'o':
			a->data_out = optarg;
			break;
		case 'r':
			errno = 0;
			a->repeat = strtoul(optarg, &end, 0);
			if (errno || *end || !*optarg || optarg[0] == '-' || !a->repeat ||
			    a->repeat > UINT32_MAX)
				return cli_usage_error("test-run", "--repeat wants a count "
						       "from 1 to %u, not '%s'", UINT32_MAX, optarg);
			break;
		case 'e':
			if (!strcmp(optarg, "jit"))
				a->engine = RUN_JIT;
			else if (!strcmp(optarg, "interp") || !strcmp(optarg, "interpreter"))
				a->engine = RUN_INTERP;
			else if (!strcmp(optarg, "kernel"))
				a->engine = RUN_KERNEL;
			else
				return cli_usage_error("test-run", "unknown engine '%s' (jit, "
						       "interp or kernel)", optarg);
			break;
		case 'm':
			/* Three values: MAP (optarg) and the next two words. */
			if (optind + 1 >= argc)
				return cli_usage_error("test-run", "--map-update wants MAP "
						       "KEYHEX VALHEX");
			u = realloc(a->updates, (a->nr_updates + 1) * sizeof(*u));
			if (!u)
				return cli_fail("out of memory");
			a->updates = u;
			u[a->nr_updates++] = (struct map_update){
				optarg, argv[optind], argv[optind + 1]
			};
			optind += 2;
			break;
		case 'j':
			a->json = true;
			break;
		case 'S':
		case 'R':
			c = cli_parse_preset(&a->lo, c, optarg, "test-run");
			if (c)
				return c;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return cli_usage_error("test-run", "invalid option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("test-run", "missing OBJ");
	if (optind + 1 < argc)
		return cli_usage_error("test-run", "unexpected argument '%s'", argv[optind + 1]);
	a->path = argv[optind];
	if (!a->data_in)
		return cli_usage_error("test-run", "missing --data-in FILE");
	return 0;
}

/* Per-CPU maps move one value per CPU (rounded up to 8 bytes); one value
 * on the command line is given to every CPU. */
static int expand_value(const uint8_t *v, uint32_t value_size, bool percpu,
			unsigned int ncpus, uint8_t **out, size_t *out_len)
{
	size_t stride = (value_size + 7) & ~7u, n = percpu ? ncpus : 1, i;
	uint8_t *b;

	b = calloc(n, percpu ? stride : value_size);
	if (!b)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		memcpy(b + i * stride, v, value_size);
	*out = b;
	*out_len = n * (percpu ? stride : value_size);
	return 0;
}

/* Program arrays and map-in-map take a program or map of the object by
 * name: the runtime slot gets its runtime id, the kernel twin its kernel
 * twin's fd (as bpftool's "value name/id"). */
static int apply_ref_update(struct ebpf_object *obj, struct ebpf_map *map,
			    const struct map_update *u, const uint8_t *key)
{
	bool progs = ebpf_map_type(map) == BPF_MAP_TYPE_PROG_ARRAY;
	struct ebpf_prog *p = progs ? ebpf_object_find_prog(obj, u->value) : NULL;
	struct ebpf_map *inner = progs ? NULL : ebpf_object_find_map(obj, u->value);
	uint32_t id;
	int ret, kfd, kval;

	if (!p && !inner)
		return cli_fail("map '%s' holds %s: VALUE names one of the object's %s, and "
				"'%s' is none", u->map, progs ? "programs" : "maps",
				progs ? "programs" : "maps", u->value);
	id = p ? ebpf_prog_id(p) : ebpf_map_id(inner);
	ret = ebpf_map_update_elem(map, key, &id, BPF_ANY);
	if (ret)
		return cli_fail("map '%s': cannot put %s '%s' in the slot: %s%s", u->map,
				progs ? "program" : "map", u->value, strerror(-ret),
				ret == -EINVAL && !progs ? " (the inner map does not match the "
				"map's inner template)" : "");
	kfd = ebpf_object_kernel_map_fd(obj, map);
	if (kfd < 0)
		return 0;
	kval = p ? ebpf_prog_kernel_fd(p) : ebpf_object_kernel_map_fd(obj, inner);
	if (kval < 0 || bpf_map_update_elem(kfd, key, &kval, BPF_ANY))
		return cli_fail("map '%s': update of the kernel twin failed: %s", u->map,
				kval < 0 ? "no kernel twin of the value" : strerror(errno));
	return 0;
}

static int apply_update(struct ebpf_object *obj, const struct map_update *u)
{
	struct ebpf_map *map = ebpf_object_find_map(obj, u->map);
	uint8_t *key = NULL, *val = NULL, *rt = NULL, *kv = NULL;
	size_t rt_len, kv_len;
	int kfd, ret, rc = CLI_EXIT_FAIL;
	int kcpus;

	if (!map) {
		struct ebpf_map *m = NULL;

		cli_fail("no map named '%s' in the object; its maps are:", u->map);
		while ((m = ebpf_object_next_map(obj, m)))
			fprintf(stderr, "  %s\n", ebpf_map_name(m));
		return CLI_EXIT_FAIL;
	}
	if (ebpf_map_type(map) == BPF_MAP_TYPE_RINGBUF ||
	    ebpf_map_type(map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY)
		return cli_fail("map '%s': --map-update does not apply to %s maps", u->map,
				ebpf_map_type(map) == BPF_MAP_TYPE_RINGBUF ? "ring buffer" :
									   "perf event array");
	key = calloc(1, ebpf_map_key_size(map) + 1);
	val = calloc(1, ebpf_map_value_size(map) + 1);
	if (!key || !val) {
		cli_fail("out of memory");
		goto out;
	}
	if (ftoe_hex_parse(u->key, key, ebpf_map_key_size(map))) {
		cli_fail("map '%s': key '%s' is not %u bytes of hex", u->map, u->key,
			 ebpf_map_key_size(map));
		goto out;
	}
	if (ebpf_map_type(map) == BPF_MAP_TYPE_PROG_ARRAY ||
	    ebpf_map_type(map) == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
	    ebpf_map_type(map) == BPF_MAP_TYPE_HASH_OF_MAPS) {
		rc = apply_ref_update(obj, map, u, key) ? CLI_EXIT_FAIL : 0;
		goto out;
	}
		if (ftoe_hex_parse(u->value, val, ebpf_map_value_size(map))) {
		cli_fail("map '%s': value '%s' is not %u bytes of hex", u->map, u->value,
			 ebpf_map_value_size(map));
		goto out;
	}
	if (expand_value(val, ebpf_map_value_size(map), ebpf_map_type_percpu(ebpf_map_type(map)),
			 ebpf_nr_cpus(), &rt, &rt_len)) {
		cli_fail("out of memory");
		goto out;
	}
	ret = ebpf_map_update_elem(map, key, rt, BPF_ANY);
	if (ret) {
		cli_fail("map '%s': update failed: %s", u->map, strerror(-ret));
		goto out;
	}
	kfd = ebpf_object_kernel_map_fd(obj, map);
	if (kfd >= 0) {
		kcpus = libbpf_num_possible_cpus();
		if (kcpus <= 0 || expand_value(val, ebpf_map_value_size(map),
					       ebpf_map_type_percpu(ebpf_map_type(map)),
					       (unsigned int)kcpus, &kv, &kv_len)) {
			cli_fail("cannot size a per-CPU value for the kernel map");
			goto out;
		}
		if (bpf_map_update_elem(kfd, key, kv, BPF_ANY)) {
			cli_fail("map '%s': update of the kernel twin failed: %s", u->map,
				 strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(key);
	free(val);
	free(rt);
	free(kv);
	return rc;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The first run of a thread pays once for things the kernel's test run
 * has long paid for: the thread's CPU slot (the first one reads the
 * possible CPUs from sysfs), the run path's and the engine's code and
 * the clock.  A two-instruction program on the same engine pays them
 * without touching the program's maps or the frame, so a single timed
 * run measures the program, as the kernel's does (64 us -> 0.7 us for a
 * ten-instruction JIT program). */
static void warm_up(enum ebpf_engine engine, struct ebpf_xdp_buff *xdp)
{
	static const struct bpf_insn ret_pass[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct ebpf_prog_opts po = { .sz = sizeof(po), .name = "warm_up", .engine = engine };
	struct ebpf_prog *p;
	int i;

	ebpf_thread_cpu();
	now_ns();
	if (ebpf_prog_load_raw(ret_pass, 2, &po, &p))
		return;		/* only the timing suffers */
	for (i = 0; i < 2; i++)
		ebpf_prog_run_xdp(p, xdp);
	ebpf_prog_put(p);
}

/* Same frame as the kernel's bpf_prog_test_run_xdp(): 4 KiB, 256 bytes of
 * headroom, skb_shared_info tailroom, metadata empty but allowed, the
 * loopback device as ingress; repeated runs see each other's changes. */
static int run_runtime(struct ebpf_prog *prog, const uint8_t *pkt, size_t len,
		       unsigned long repeat, struct run_result *res)
{
	struct ebpf_xdp_buff *xdp;
	uint64_t t0, t;
	unsigned long i;
	int ret;

	ret = ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &xdp);
	if (ret)
		return cli_fail("cannot allocate an XDP buffer: %s", strerror(-ret));
	xdp->tailroom = EBPF_XDP_TEST_TAILROOM;
	ret = ebpf_xdp_buff_set(xdp, pkt, len, EBPF_XDP_TEST_HEADROOM);
	if (ret) {
		ebpf_xdp_buff_free(xdp);
		return cli_fail("the packet does not fit the XDP frame");
	}
	xdp->md.ingress_ifindex = LOOPBACK_IFINDEX;
	warm_up(ebpf_prog_engine(prog), xdp);
	t0 = now_ns();
	for (i = 0; i < repeat; i++)
		res->retval = ebpf_prog_run_xdp(prog, xdp);
	t = now_ns() - t0;
	res->duration_ns = t / repeat;
	res->out_size = xdp->md.data_end - xdp->md.data_meta;
	memcpy(res->out, (const void *)(uintptr_t)xdp->md.data_meta, res->out_size);
	ebpf_xdp_buff_free(xdp);
	return 0;
}

static int run_kernel(struct ebpf_prog *prog, const uint8_t *pkt, size_t len,
		      unsigned long repeat, struct run_result *res)
{
	LIBBPF_OPTS(bpf_test_run_opts, topts,
		.data_in = pkt,
		.data_size_in = (uint32_t)len,
		.data_out = res->out,
		.data_size_out = sizeof(res->out),
		.repeat = (int)repeat,
	);
	int fd = ebpf_prog_kernel_fd(prog);

	if (fd < 0)
		return cli_fail("program %s has no kernel twin", ebpf_prog_name(prog));
	if (bpf_prog_test_run_opts(fd, &topts))
		return cli_fail("the kernel's test run failed: %s", strerror(errno));
	res->retval = topts.retval;
	res->out_size = topts.data_size_out;
	res->duration_ns = topts.duration;
	return 0;
}

static int report(const struct run_args *a, const struct run_result *res)
{
	int ret;

	if (a->data_out) {
		ret = cli_write_file(a->data_out, res->out, res->out_size);
		if (ret)
			return cli_fail("cannot write %s: %s", a->data_out, strerror(-ret));
	}
	if (a->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "retval", json_object_new_int64(res->retval));
		json_object_object_add(o, "data_size_out", json_object_new_int64(res->out_size));
		json_object_object_add(o, "duration_ns",
				       json_object_new_int64((int64_t)res->duration_ns));
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("retval: %u (%s)\ndata_size_out: %u\nduration_ns: %llu\n",
		       res->retval, cli_xdp_action_name(res->retval), res->out_size,
		       (unsigned long long)res->duration_ns);
	}
	return 0;
}

static int cmd_test_run(int argc, char **argv)
{
	struct run_args a = { 0 };
	struct run_result *res = NULL;
	struct ebpf_object *obj = NULL;
	struct ebpf_prog *prog;
	uint8_t *pkt = NULL;
	size_t len = 0, i;
	int rc, ret;

	rc = parse_args(argc, argv, &a);
	if (rc)
		goto out;
	rc = CLI_EXIT_FAIL;
	pkt = ftoe_read_file(a.data_in, &len, &ret);
	if (!pkt) {
		cli_fail("cannot read %s: %s", a.data_in, strerror(-ret));
		goto out;
	}
	if (len < ETH_HLEN_ || len > MAX_DATA) {
		cli_fail("%s holds %zu bytes; an XDP test packet has %d..%d (an Ethernet "
			 "header, and what fits a 4 KiB frame after headroom and tailroom)",
			 a.data_in, len, ETH_HLEN_, (int)MAX_DATA);
		goto out;
	}
	/* The kernel twin is kept for the kernel engine and so that map
	 * updates reach both copies. */
	obj = cli_open_object(a.path, a.engine == RUN_INTERP ? EBPF_ENGINE_INTERP :
				      EBPF_ENGINE_JIT,
			      a.engine == RUN_KERNEL || a.nr_updates, &a.lo);
	if (!obj)
		goto out;
	prog = cli_pick_prog(obj, a.path, a.prog);
	if (!prog)
		goto out;
	for (i = 0; i < a.nr_updates; i++)
		if (apply_update(obj, &a.updates[i]))
			goto out;
	res = calloc(1, sizeof(*res));
	if (!res) {
		cli_fail("out of memory");
		goto out;
	}
	ret = a.engine == RUN_KERNEL ? run_kernel(prog, pkt, len, a.repeat, res) :
				       run_runtime(prog, pkt, len, a.repeat, res);
	if (ret)
		goto out;
	rc = report(&a, res) ? CLI_EXIT_FAIL : 0;
out:
	ebpf_object_close(obj);
	free(res);
	free(pkt);
	free(a.updates);
	cli_load_opts_free(&a.lo);
	return rc;
}

CLI_VERB(test_run, "test-run", "run a program on a packet (runtime or kernel engine)",
	 cmd_test_run)
