/* test_object.c - loader: ELF objects through the kernel verifier onto runtime maps and programs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <elf.h>
#include <linux/btf.h>
#include <netinet/in.h>
#include <bpf/bpf.h>

#include "ebpf/internal.h"
#include "tests/unit/test.h"

static char err[1024];
static char vlog[1 << 20];

static int open_obj(const char *prog, enum ebpf_engine engine, bool keep,
		    struct ebpf_object **obj)
{
	struct ebpf_object_opts o = {
		.sz = sizeof(o), .engine = engine, .err_buf = err, .err_size = sizeof(err),
		.log_buf = vlog, .log_size = sizeof(vlog), .keep_kernel = keep,
	};
	char rel[256];

	snprintf(rel, sizeof(rel), "tests/progs/%s.bpf.o", prog);
	return ebpf_object_open(ftoe_test_path(rel), &o, obj);
}

static int read_whole(const char *prog, uint8_t **buf, size_t *len)
{
	char rel[256];
	FILE *f;
	long n;

	snprintf(rel, sizeof(rel), "tests/progs/%s.bpf.o", prog);
	f = fopen(ftoe_test_path(rel), "rb");
	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*buf = malloc((size_t)n);
	*len = fread(*buf, 1, (size_t)n, f);
	fclose(f);
	return 0;
}

/* One run in the kernel's test_run geometry; returns the verdict. */
static uint32_t run_pkt(struct ebpf_prog *prog, uint8_t *pkt, size_t len)
{
	struct ebpf_xdp_buff *x;
	uint32_t act;

	ck_assert_int_eq(ebpf_xdp_buff_alloc(EBPF_XDP_TEST_FRAME_SZ, &x), 0);
	x->tailroom = EBPF_XDP_TEST_TAILROOM;
	ck_assert_int_eq(ebpf_xdp_buff_set(x, pkt, len, EBPF_XDP_TEST_HEADROOM), 0);
	act = ebpf_prog_run_xdp(prog, x);
	memcpy(pkt, ebpf_xdp_data(x), len);
	ebpf_xdp_buff_free(x);
	return act;
}

START_TEST(test_globals_and_subprog)
{
	struct ebpf_object *obj;
	struct ebpf_prog *p;
	const struct ebpf_xdp_run_config *rc;
	struct ebpf_map *bss, *ro, *data;
	uint8_t pkt[64];
	uint64_t count = 0;
	uint32_t key = 0;
	int i, kfd;

	ck_assert_msg(open_obj("ld_globals", EBPF_ENGINE_INTERP, false, &obj) == 0, "%s", err);
	p = ebpf_object_find_prog(obj, "xdp_globals");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_eq(ebpf_object_find_prog(obj, "xdp"), p);	/* by section */
	ck_assert_str_eq(ebpf_prog_section(p), "xdp");
	ck_assert_ptr_null(ebpf_object_next_prog(obj, p));
	ck_assert_int_eq(ebpf_prog_kernel_fd(p), -1);		/* keep_kernel off */
	rc = ebpf_prog_run_config(p);
	ck_assert(rc->present);
	ck_assert_int_eq(rc->priority, 10);
	ck_assert_uint_eq(rc->chain_call_actions, (1u << XDP_PASS) | (1u << XDP_DROP));

	ro = ebpf_object_find_map(obj, ".rodata");
	data = ebpf_object_find_map(obj, ".data");
	bss = ebpf_object_find_map(obj, ".bss");
	ck_assert_ptr_nonnull(ro);
	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(bss);
	for (i = 0; i < 64; i++)
		pkt[i] = (uint8_t)i;
	ck_assert_uint_eq(run_pkt(p, pkt, sizeof(pkt)), XDP_PASS);
	ck_assert_uint_eq(pkt[14], 14 * 3 + 7);	/* .data 3, .rodata 7 */
	ck_assert_uint_eq(pkt[13], 1);
	ck_assert_int_eq(ebpf_map_lookup_elem(bss, &key, &count), 0);
	ck_assert_uint_eq(count, 1);
	/* .bss is backed by its mmapable kernel map: the kernel sees it. */
	kfd = ebpf_object_kernel_map_fd(obj, bss);
	ck_assert_int_ge(kfd, 0);
	count = 0;
	ck_assert_int_eq(bpf_map_lookup_elem(kfd, &key, &count), 0);
	ck_assert_uint_eq(count, 1);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_default_run_config_and_keep_kernel)
{
	struct ebpf_object *obj;
	struct ebpf_prog *p;
	struct ebpf_map *m;

	ck_assert_msg(open_obj("ld_maps", EBPF_ENGINE_INTERP, true, &obj) == 0, "%s", err);
	p = ebpf_object_next_prog(obj, NULL);
	ck_assert_ptr_nonnull(p);
	ck_assert(!ebpf_prog_run_config(p)->present);
	ck_assert_int_eq(ebpf_prog_run_config(p)->priority, 50);
	ck_assert_uint_eq(ebpf_prog_run_config(p)->chain_call_actions, 1u << XDP_PASS);
	ck_assert_int_ge(ebpf_prog_kernel_fd(p), 0);
	/* Every runtime map type, each with a kernel twin. */
	static const struct { const char *name; uint32_t type; } want[] = {
		{ "counts", BPF_MAP_TYPE_ARRAY }, { "pcpu_counts", BPF_MAP_TYPE_PERCPU_ARRAY },
		{ "verdicts", BPF_MAP_TYPE_HASH }, { "pcpu_hash", BPF_MAP_TYPE_PERCPU_HASH },
		{ "lru", BPF_MAP_TYPE_LRU_HASH }, { "lru_pcpu", BPF_MAP_TYPE_LRU_PERCPU_HASH },
		{ "prefixes", BPF_MAP_TYPE_LPM_TRIE }, { "events", BPF_MAP_TYPE_RINGBUF },
		{ "jumps", BPF_MAP_TYPE_PROG_ARRAY },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		m = ebpf_object_find_map(obj, want[i].name);
		ck_assert_msg(m != NULL, "map %s missing", want[i].name);
		ck_assert_uint_eq(ebpf_map_type(m), want[i].type);
		ck_assert_int_ge(ebpf_object_kernel_map_fd(obj, m), 0);
	}
	ck_assert_ptr_null(ebpf_object_find_map(obj, "nosuch"));
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_legacy_maps)
{
	struct ebpf_object *obj;
	struct ebpf_map *counts, *verdicts;
	struct ebpf_prog *p;
	uint8_t pkt[32] = { 0 };
	uint32_t key = 1, v = XDP_TX;
	uint64_t c = 0;

	ck_assert_msg(open_obj("ld_legacy", EBPF_ENGINE_INTERP, false, &obj) == 0, "%s", err);
	counts = ebpf_object_find_map(obj, "legacy_counts");
	verdicts = ebpf_object_find_map(obj, "legacy_verdicts");
	ck_assert_ptr_nonnull(counts);
	ck_assert_ptr_nonnull(verdicts);
	ck_assert_uint_eq(ebpf_map_type(counts), BPF_MAP_TYPE_ARRAY);
	ck_assert_uint_eq(ebpf_map_value_size(counts), 8);
	ck_assert_uint_eq(ebpf_map_type(verdicts), BPF_MAP_TYPE_HASH);
	ck_assert_uint_eq(ebpf_map_max_entries(verdicts), 16);
	p = ebpf_object_find_prog(obj, "xdp_legacy");
	ck_assert_ptr_nonnull(p);
	pkt[14] = 1;
	ck_assert_uint_eq(run_pkt(p, pkt, sizeof(pkt)), XDP_PASS);
	ck_assert_uint_eq(pkt[13], 1);
	ck_assert_int_eq(ebpf_map_update_elem(verdicts, &key, &v, BPF_ANY), 0);
	ck_assert_uint_eq(run_pkt(p, pkt, sizeof(pkt)), XDP_TX);
	ck_assert_uint_eq(pkt[13], 2);
	ck_assert_int_eq(ebpf_map_lookup_elem(counts, &key, &c), 0);
	ck_assert_uint_eq(c, 2);
	ebpf_object_close(obj);
}
END_TEST

/* ebpf_object_opts.max_map_bytes: over it, nothing is created and the
 * error names the map and the limit; legacy and libbpf maps alike. */
START_TEST(test_map_memory_limit)
{
	static const char *const progs[] = { "ld_legacy", "ld_maps" };

	for (unsigned i = 0; i < 2; i++) {
		struct ebpf_object_opts o = {
			.sz = sizeof(o), .engine = EBPF_ENGINE_INTERP, .err_buf = err,
			.err_size = sizeof(err), .max_map_bytes = 64,
		};
		struct ebpf_object *obj = NULL;
		char rel[256];

		snprintf(rel, sizeof(rel), "tests/progs/%s.bpf.o", progs[i]);
		err[0] = '\0';
		ck_assert_int_eq(ebpf_object_open(ftoe_test_path(rel), &o, &obj), -E2BIG);
		ck_assert_ptr_null(obj);
		ck_assert_msg(strstr(err, "max_map_bytes") && strstr(err, "map '"), "%s", err);
		o.max_map_bytes = 64ull << 20;
		ck_assert_msg(ebpf_object_open(ftoe_test_path(rel), &o, &obj) == 0, "%s: %s",
			      progs[i], err);
		ebpf_object_close(obj);
	}
}
END_TEST

START_TEST(test_tail_call_prog_array)
{
	struct ebpf_object *obj;
	struct ebpf_prog *entry, *target;
	struct ebpf_map *jt;
	uint8_t pkt[32] = { 0 };
	uint32_t key = 1, id = 0;

	ck_assert_msg(open_obj("ld_tailcall", _i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP,
			       false, &obj) == 0, "%s", err);
	entry = ebpf_object_find_prog(obj, "tail_entry");
	target = ebpf_object_find_prog(obj, "tail_target");
	jt = ebpf_object_find_map(obj, "jmp_table");
	ck_assert_ptr_nonnull(entry);
	ck_assert_ptr_nonnull(target);
	ck_assert_ptr_nonnull(jt);
	/* The static initialiser's slot points at the runtime program. */
	ck_assert_int_eq(ebpf_map_lookup_elem(jt, &key, &id), 0);
	ck_assert_uint_eq(id, ebpf_prog_id(target));
	pkt[14] = 1;
	ck_assert_uint_eq(run_pkt(entry, pkt, sizeof(pkt)), XDP_DROP);
	ck_assert_uint_eq(pkt[13], 0xaa);
	ck_assert_uint_eq(pkt[12], 0x55);
	memset(pkt, 0, sizeof(pkt));
	pkt[14] = 2;	/* empty slot: falls through */
	ck_assert_uint_eq(run_pkt(entry, pkt, sizeof(pkt)), XDP_PASS);
	ck_assert_uint_eq(pkt[13], 0);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_bad_helper)
{
	struct ebpf_object *obj = (void *)1;

	ck_assert_int_eq(open_obj("ld_bad_helper", EBPF_ENGINE_INTERP, false, &obj), -EOPNOTSUPP);
	ck_assert_ptr_null(obj);
	ck_assert_msg(strstr(err, "bpf_get_current_pid_tgid") && strstr(err, "xdp_bad_helper"),
		      "%s", err);
}
END_TEST

/* A TCP frame 10.1.2.3:1000 -> 10.0.0.1:dport (a VIP of ld_lb_mim). */
static void lb_frame(uint8_t *pkt, size_t len, uint16_t dport)
{
	static const uint8_t hdr[] = {
		0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00,
		0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 1, 2, 3, 10, 0, 0, 1,
		0x03, 0xe8,
	};

	memset(pkt, 0, len);
	memcpy(pkt, hdr, sizeof(hdr));
	pkt[36] = (uint8_t)(dport >> 8);
	pkt[37] = (uint8_t)dport;
	pkt[46] = 0x50;
}

/* ld_lb_mim's rings are inner maps: the object's static slots hold its own
 * ring maps; user space swaps in a new ring by map id (with the kernel's
 * checks), and the program follows it. */
START_TEST(test_map_in_map)
{
	enum ebpf_engine engine = _i ? EBPF_ENGINE_JIT : EBPF_ENGINE_INTERP;
	struct ebpf_map_spec spec = {
		.name = "ring_new", .type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
		.max_entries = 64,
	};
	struct ebpf_map *rings, *ring_a, *conns, *conn_0, *fresh, *small;
	struct ebpf_object *obj;
	struct ebpf_prog *p;
	uint32_t key = 0, id = 0, two = 2, bad = 0x7fffffff;
	uint8_t pkt[64];

	ck_assert_int_eq(open_obj("ld_lb_mim", engine, false, &obj), 0);
	p = ebpf_object_find_prog(obj, "xdp_lb");
	rings = ebpf_object_find_map(obj, "ch_rings");
	ring_a = ebpf_object_find_map(obj, "ring_a");
	conns = ebpf_object_find_map(obj, "conn_tables");
	conn_0 = ebpf_object_find_map(obj, "conn_0");
	ck_assert(p && rings && ring_a && conns && conn_0);
	ck_assert_int_eq(ebpf_map_type(rings), BPF_MAP_TYPE_ARRAY_OF_MAPS);
	ck_assert_int_eq(ebpf_map_type(conns), BPF_MAP_TYPE_HASH_OF_MAPS);

	/* the static slots: user space reads the inner maps' ids */
	ck_assert_int_eq(ebpf_map_lookup_elem(rings, &key, &id), 0);
	ck_assert_uint_eq(id, ebpf_map_id(ring_a));
	ck_assert_int_eq(ebpf_map_lookup_elem(conns, &key, &id), 0);
	ck_assert_uint_eq(id, ebpf_map_id(conn_0));
	key = 3;
	ck_assert_int_eq(ebpf_map_lookup_elem(conns, &key, &id), -ENOENT);

	/* a new ring that sends every flow to real 2 (10.10.10.12) */
	ck_assert_int_eq(ebpf_map_create(&spec, &fresh), 0);
	for (key = 0; key < 64; key++)
		ck_assert_int_eq(ebpf_map_update_elem(fresh, &key, &two, BPF_ANY), 0);
	spec.max_entries = 32;
	ck_assert_int_eq(ebpf_map_create(&spec, &small), 0);
	key = 0;
	id = ebpf_map_id(small);
	ck_assert_int_eq(ebpf_map_update_elem(rings, &key, &id, BPF_ANY), -EINVAL);	/* template */
	ck_assert_int_eq(ebpf_map_update_elem(rings, &key, &bad, BPF_ANY), -EBADF);
	id = ebpf_map_id(fresh);
	ck_assert_int_eq(ebpf_map_update_elem(rings, &key, &id, BPF_NOEXIST), -EINVAL);
	key = 2;
	ck_assert_int_eq(ebpf_map_update_elem(rings, &key, &id, BPF_ANY), -E2BIG);
	key = 0;
	ck_assert_int_eq(ebpf_map_update_elem(rings, &key, &id, BPF_ANY), 0);
	ebpf_map_put(fresh);	/* the slot holds its own reference */
	ebpf_map_put(small);

	lb_frame(pkt, sizeof(pkt), 80);		/* even port: ring 0 */
	ck_assert_uint_eq(run_pkt(p, pkt, sizeof(pkt)), XDP_TX);
	ck_assert_uint_eq(pkt[23], IPPROTO_IPIP);
	ck_assert_msg(pkt[30] == 10 && pkt[31] == 10 && pkt[32] == 10 && pkt[33] == 12,
		      "outer daddr %u.%u.%u.%u", pkt[30], pkt[31], pkt[32], pkt[33]);

	/* an emptied slot: the program finds no ring and drops */
	key = 1;
	ck_assert_int_eq(ebpf_map_delete_elem(rings, &key), 0);
	ck_assert_int_eq(ebpf_map_delete_elem(rings, &key), -ENOENT);
	lb_frame(pkt, sizeof(pkt), 81);
	ck_assert_uint_eq(run_pkt(p, pkt, sizeof(pkt)), XDP_DROP);
	ebpf_object_close(obj);
}
END_TEST

START_TEST(test_bad_kfunc)
{
	struct ebpf_object *obj = (void *)1;

	ck_assert_int_eq(open_obj("ld_bad_kfunc", EBPF_ENGINE_INTERP, false, &obj), -EOPNOTSUPP);
	ck_assert_ptr_null(obj);
	ck_assert_msg(strstr(err, "calls kfunc bpf_rcu_read_lock") && strstr(err, "xdp_bad_kfunc") &&
		      strstr(err, "bpf_iter_num_new"), "%s", err);
}
END_TEST

START_TEST(test_bad_map_type)
{
	struct ebpf_object *obj;

	ck_assert_int_eq(open_obj("ld_bad_maptype", EBPF_ENGINE_INTERP, false, &obj), -EOPNOTSUPP);
	ck_assert_msg(strstr(err, "map 'socks': type sockmap is not supported"), "%s", err);
}
END_TEST

START_TEST(test_verifier_reject)
{
	struct ebpf_object *obj;

	ck_assert_int_eq(open_obj("ld_bad_verifier", EBPF_ENGINE_INTERP, false, &obj), -EACCES);
	ck_assert_msg(strstr(err, "xdp_oob") && strstr(err, "verifier"), "%s", err);
	/* The kernel's own words, verbatim. */
	ck_assert_msg(strstr(vlog, "invalid access to packet"), "%s", vlog);
}
END_TEST

START_TEST(test_no_programs)
{
	struct ebpf_object *obj;

	ck_assert_int_eq(open_obj("ld_noprog", EBPF_ENGINE_INTERP, false, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "no programs"), "%s", err);
}
END_TEST

START_TEST(test_missing_file)
{
	struct ebpf_object *obj;

	ck_assert_int_eq(open_obj("does_not_exist", EBPF_ENGINE_INTERP, false, &obj), -ENOENT);
	ck_assert_msg(strstr(err, "does_not_exist"), "%s", err);
}
END_TEST

START_TEST(test_garbage_and_truncated)
{
	struct ebpf_object_opts o = { .sz = sizeof(o), .err_buf = err, .err_size = sizeof(err) };
	struct ebpf_object *obj;
	static const char garbage[] = "this is certainly not an ELF object, just text\n";
	uint8_t *img = NULL;
	size_t len = 0, cut;

	ck_assert_int_eq(ebpf_object_open_mem(garbage, sizeof(garbage), "garbage", &o, &obj),
			 -EINVAL);
	ck_assert_msg(strstr(err, "not an ELF"), "%s", err);
	ck_assert_int_eq(read_whole("ld_globals", &img, &len), 0);
	/* Cut anywhere: always a clean -EINVAL, never a crash. */
	for (cut = 0; cut < len; cut += len / 37 + 1) {
		err[0] = '\0';
		ck_assert_int_eq(ebpf_object_open_mem(img, cut, "cut", &o, &obj), -EINVAL);
		ck_assert_msg(err[0], "no message for a cut at %zu", cut);
	}
	ck_assert_int_eq(ebpf_object_open_mem(img, len / 2, "half", &o, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "truncated"), "%s", err);
	/* Not a BPF machine. */
	img[18] = 62;	/* EM_X86_64 */
	ck_assert_int_eq(ebpf_object_open_mem(img, len, "x86", &o, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "not a BPF object"), "%s", err);
	free(img);
}
END_TEST

/* A struct member naming a type id past the end of .BTF crashed libbpf
 * 1.1's .maps parser (found by fuzz_object); the loader must refuse it. */
START_TEST(test_btf_bad_type_reference)
{
	struct ebpf_object_opts o = { .sz = sizeof(o), .err_buf = err, .err_size = sizeof(err) };
	struct ebpf_object *obj;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const char *shstr;
	uint8_t *img = NULL, *btf = NULL, *types;
	size_t len = 0, pos;
	uint32_t type_len;
	int i, patched = 0;

	ck_assert_int_eq(read_whole("fw_bench", &img, &len), 0);
	eh = (const Elf64_Ehdr *)img;
	sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	shstr = (const char *)img + sh[eh->e_shstrndx].sh_offset;
	for (i = 0; i < eh->e_shnum; i++)
		if (!strcmp(shstr + sh[i].sh_name, ".BTF"))
			btf = img + sh[i].sh_offset;
	ck_assert_ptr_nonnull(btf);
	types = btf + ((struct btf_header *)btf)->hdr_len + ((struct btf_header *)btf)->type_off;
	type_len = ((struct btf_header *)btf)->type_len;
	for (pos = 0; pos < type_len && !patched;) {
		struct btf_type *t = (struct btf_type *)(types + pos);
		uint32_t kind = BTF_INFO_KIND(t->info), vlen = BTF_INFO_VLEN(t->info);

		if (kind == BTF_KIND_STRUCT && vlen) {
			((struct btf_member *)(t + 1))->type = 0x0501;
			patched = 1;
		}
		switch (kind) {
		case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: pos += 16; break;
		case BTF_KIND_ARRAY: pos += 24; break;
		case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC:
		case BTF_KIND_ENUM64: pos += 12 + 12 * vlen; break;
		case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO: pos += 12 + 8 * vlen; break;
		default: pos += 12;
		}
	}
	ck_assert_int_eq(patched, 1);
	ck_assert_int_eq(ebpf_object_open_mem(img, len, "badbtf", &o, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "malformed .BTF"), "%s", err);
	free(img);
}
END_TEST

/* A function symbol whose value points before its section made libbpf
 * 1.1 copy instructions from outside the image (found by fuzz_object). */
START_TEST(test_symbol_outside_section)
{
	struct ebpf_object_opts o = { .sz = sizeof(o), .err_buf = err, .err_size = sizeof(err) };
	struct ebpf_object *obj;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	uint8_t *img = NULL;
	size_t len = 0, n;
	int i, patched = 0;

	ck_assert_int_eq(read_whole("ld_helpers", &img, &len), 0);
	eh = (const Elf64_Ehdr *)img;
	sh = (const Elf64_Shdr *)(img + eh->e_shoff);
	for (i = 0; i < eh->e_shnum && !patched; i++) {
		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		for (n = 1; n < sh[i].sh_size / sizeof(Elf64_Sym); n++) {
			Elf64_Sym *sym = (Elf64_Sym *)(img + sh[i].sh_offset) + n;

			if (ELF64_ST_TYPE(sym->st_info) == STT_FUNC && sym->st_value) {
				sym->st_value = (uint64_t)-312;
				patched = 1;
				break;
			}
		}
	}
	ck_assert_int_eq(patched, 1);
	ck_assert_int_eq(ebpf_object_open_mem(img, len, "badsym", &o, &obj), -EINVAL);
	ck_assert_msg(strstr(err, "outside its section"), "%s", err);
	free(img);
}
END_TEST

/* Without CAP_BPF/CAP_SYS_ADMIN: -EPERM and the message that says so. */
START_TEST(test_unprivileged)
{
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct ebpf_object *obj;
		int ret;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(3);
		ret = open_obj("ld_globals", EBPF_ENGINE_INTERP, false, &obj);
		_exit(ret == -EPERM && strstr(err, "needs root") ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *object_suite(void)
{
	Suite *s = suite_create("ebpf_object");
	TCase *tc = tcase_create("load");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_globals_and_subprog);
	tcase_add_test(tc, test_default_run_config_and_keep_kernel);
	tcase_add_test(tc, test_legacy_maps);
	tcase_add_test(tc, test_map_memory_limit);
	tcase_add_loop_test(tc, test_tail_call_prog_array, 0, 2);
	tcase_add_test(tc, test_bad_helper);
	tcase_add_test(tc, test_bad_kfunc);
	tcase_add_loop_test(tc, test_map_in_map, 0, 2);
	tcase_add_test(tc, test_bad_map_type);
	tcase_add_test(tc, test_verifier_reject);
	tcase_add_test(tc, test_no_programs);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_garbage_and_truncated);
	tcase_add_test(tc, test_btf_bad_type_reference);
	tcase_add_test(tc, test_symbol_outside_section);
	tcase_add_test(tc, test_unprivileged);
	suite_add_tcase(s, tc);
	return s;
}

FTOE_TEST_SUITE(object_suite)
