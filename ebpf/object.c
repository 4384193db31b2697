/* object.c - ELF objects: open with libbpf, verify with the kernel, relocate onto runtime maps. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ebpf/internal.h"
#include "lib/util/file.h"
#include "lib/util/log.h"

/* Per-program verifier log: large enough for the log of a big program's
 * failure (the kernel keeps the tail, where the error is, if it is not). */
#define VERIFIER_LOG_SZ		(1u << 20)
#define PRIV_MSG		"loading BPF programs needs root (CAP_BPF and " \
				"CAP_NET_ADMIN or CAP_SYS_ADMIN)"

struct obj_map {
	struct ebpf_map *map;
	int kfd;		/* kernel twin kept open, or -1 */
};

struct ebpf_object {
	char name[128];
	struct ebpf_prog **progs;
	size_t nr_progs;
	struct obj_map *maps;
	size_t nr_maps;
	struct ebpf_skipped_prog *skipped;
	size_t nr_skipped;
};

/* Everything one load needs until the object is built. */
struct loader {
	const char *name;
	struct ebpf_object_opts opts;
	struct ebpf_object *obj;
	uint8_t *img;
	size_t len;
	struct ebpf_legacy_map *lmaps;
	size_t nr_lmaps;
	int *lfds;		/* kernel twins of the legacy maps (ours to close) */
	struct bpf_object *lobj;
	/* Per object map (same index as obj->maps): its kernel fd while
	 * loading and the libbpf map behind it (NULL for legacy maps). */
	int *kfd;
	struct bpf_map **lbmap;
	struct ebpf_map **rmaps;	/* obj->maps[i].map, for ebpf_prog_opts */
	struct bpf_program **lprogs;
	char **logs;
	uint32_t *kprog_id;
	size_t nr_lprogs;
};

/* ---- libbpf's messages ------------------------------------------------------------ */

static __thread char libbpf_last_warn[512];

/* libbpf's output goes to our log at DEBUG; the last warning is kept to
 * explain a failure in one line. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (level == LIBBPF_WARN && n)
		snprintf(libbpf_last_warn, sizeof(libbpf_last_warn), "%s", msg);
	pr_debug("libbpf: %s", msg);
	return 0;
}

static pthread_once_t libbpf_print_once = PTHREAD_ONCE_INIT;

static void libbpf_print_setup(void)
{
	libbpf_set_print(libbpf_print_fn);
}

static int fail(struct loader *ld, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct loader *ld, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ebpf_set_err(ld->opts.err_buf, ld->opts.err_size, "%s", msg);
	return err;
}

/* ---- maps --------------------------------------------------------------------------- */

static int add_map(struct loader *ld, const struct ebpf_map_spec *spec, int kfd,
		   struct bpf_map *lbmap)
{
	struct ebpf_object *obj = ld->obj;
	size_t i = obj->nr_maps;
	struct ebpf_map *map;
	int ret;

	if (!ebpf_map_type_supported(spec->type))
		return fail(ld, -EOPNOTSUPP, "map '%s': type %s is not supported by the "
			    "runtime (%s are; see docs/runtime.md)", spec->name,
			    ebpf_map_type_name(spec->type), ebpf_map_types_supported_str());
	ret = ebpf_map_create(spec, &map);
	if (ret)
		return fail(ld, ret, "map '%s': the runtime cannot create it (%s map, key %u, "
			    "value %u, %u entries, flags 0x%x): %s", spec->name,
			    ebpf_map_type_name(spec->type), spec->key_size, spec->value_size,
			    spec->max_entries, spec->map_flags, strerror(-ret));
	obj->maps[i].map = map;
	obj->maps[i].kfd = -1;
	ld->rmaps[i] = map;
	ld->kfd[i] = kfd;
	ld->lbmap[i] = lbmap;
	obj->nr_maps++;
	return 0;
}

static int alloc_map_tables(struct loader *ld, size_t n)
{
	ld->obj->maps = calloc(n ? n : 1, sizeof(*ld->obj->maps));
	ld->rmaps = calloc(n ? n : 1, sizeof(*ld->rmaps));
	ld->kfd = calloc(n ? n : 1, sizeof(*ld->kfd));
	ld->lbmap = calloc(n ? n : 1, sizeof(*ld->lbmap));
	if (!ld->obj->maps || !ld->rmaps || !ld->kfd || !ld->lbmap)
		return fail(ld, -ENOMEM, "out of memory");
	return 0;
}

/* Legacy maps get their kernel twins before libbpf sees the object,
 * because their fds are written into the instructions (object_elf.c). */
static int create_legacy_kernel_maps(struct loader *ld, int *fds)
{
	size_t i;

	for (i = 0; i < ld->nr_lmaps; i++) {
		const struct ebpf_legacy_map *lm = &ld->lmaps[i];
		LIBBPF_OPTS(bpf_map_create_opts, mopts, .map_flags = lm->map_flags);
		int ret;

		if (!ebpf_map_type_supported(lm->type))
			return fail(ld, -EOPNOTSUPP, "map '%s': type %s is not supported "
				    "by the runtime", lm->name, ebpf_map_type_name(lm->type));
		fds[i] = bpf_map_create(lm->type, lm->name, lm->key_size, lm->value_size,
					lm->max_entries, &mopts);
		if (fds[i] < 0) {
			ret = -errno;
			if (ret == -EPERM || ret == -EACCES)
				return fail(ld, -EPERM, "%s: %s", ld->name, PRIV_MSG);
			return fail(ld, ret, "map '%s': the kernel refused the legacy "
				    "definition: %s", lm->name, strerror(-ret));
		}
	}
	return 0;
}

static int add_legacy_maps(struct loader *ld, const int *fds)
{
	size_t i;

	for (i = 0; i < ld->nr_lmaps; i++) {
		const struct ebpf_legacy_map *lm = &ld->lmaps[i];
		struct ebpf_map_spec spec = {
			.name = lm->name, .type = lm->type, .key_size = lm->key_size,
			.value_size = lm->value_size, .max_entries = lm->max_entries,
			.map_flags = lm->map_flags,
		};
		int ret = add_map(ld, &spec, fds[i], NULL);

		if (ret)
			return ret;
	}
	return 0;
}

static int create_libbpf_maps(struct loader *ld)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, ld->lobj) {
		struct ebpf_map_spec spec = {
			.name = bpf_map__name(m), .type = bpf_map__type(m),
			.key_size = bpf_map__key_size(m),
			.value_size = bpf_map__value_size(m),
			.max_entries = bpf_map__max_entries(m),
			.map_flags = bpf_map__map_flags(m),
		}, inner;
		struct bpf_map *im = bpf_map__inner_map(m);
		int ret;

		if (im) {	/* map-in-map: the template libbpf made from BTF */
			inner = (struct ebpf_map_spec){
				.name = bpf_map__name(im), .type = bpf_map__type(im),
				.key_size = bpf_map__key_size(im),
				.value_size = bpf_map__value_size(im),
				.max_entries = bpf_map__max_entries(im),
				.map_flags = bpf_map__map_flags(im),
			};
			spec.inner = &inner;
		}
		ret = add_map(ld, &spec, -1, m);

		if (ret)
			return ret;
	}
	return 0;
}

/* Global data (.rodata/.data/.bss) is the only content a map has right
 * after loading; prog arrays are filled once the programs exist. */
static int copy_initial_values(struct loader *ld)
{
	size_t i;

	for (i = 0; i < ld->obj->nr_maps; i++) {
		struct ebpf_map *map = ld->rmaps[i];
		size_t sz;
		uint32_t key = 0;
		void *val;
		int ret;

		if (!ld->lbmap[i] || map->type != BPF_MAP_TYPE_ARRAY ||
		    !bpf_map__initial_value(ld->lbmap[i], &sz))
			continue;
		val = calloc(1, map->value_size);
		if (!val)
			return fail(ld, -ENOMEM, "out of memory");
		ret = bpf_map_lookup_elem(ld->kfd[i], &key, val) ? -errno : 0;
		if (!ret)
			ret = ebpf_map_update_elem(map, &key, val, BPF_ANY);
		free(val);
		if (ret)
			return fail(ld, ret, "map '%s': cannot copy its initial value: %s",
				    map->name, strerror(-ret));
	}
	return 0;
}

/* Statically initialised map-in-map slots (libbpf's .values = { &inner })
 * hold the object's kernel maps; put the runtime twins in the runtime's
 * slots, found by kernel map id. */
static int fill_map_in_map_slots(struct loader *ld)
{
	for (size_t i = 0; i < ld->obj->nr_maps; i++) {
		struct ebpf_map *outer = ld->rmaps[i];
		uint8_t key[outer->key_size ? outer->key_size : 1], next[sizeof(key)];
		const void *prev = NULL;
		uint32_t inner_id;

		if ((outer->type != BPF_MAP_TYPE_ARRAY_OF_MAPS &&
		     outer->type != BPF_MAP_TYPE_HASH_OF_MAPS) || ld->kfd[i] < 0)
			continue;
		while (!bpf_map_get_next_key(ld->kfd[i], prev, next)) {
			struct ebpf_map *inner = NULL;
			int ret;

			memcpy(key, next, sizeof(key));
			prev = key;
			if (bpf_map_lookup_elem(ld->kfd[i], key, &inner_id))
				continue;	/* an empty slot */
			for (size_t j = 0; j < ld->obj->nr_maps && !inner; j++) {
				struct bpf_map_info info;
				uint32_t len = sizeof(info);

				memset(&info, 0, sizeof(info));
				if (ld->kfd[j] >= 0 && !bpf_obj_get_info_by_fd(ld->kfd[j], &info, &len) &&
				    info.id == inner_id)
					inner = ld->rmaps[j];
			}
			if (!inner)
				return fail(ld, -ENOENT, "map '%s': a slot holds kernel map %u, "
					    "which is not one of the object's maps", outer->name,
					    inner_id);
			ret = ebpf_map_update_elem(outer, key, &inner->id, BPF_ANY);
			if (ret)
				return fail(ld, ret, "map '%s': cannot put map '%s' in a slot: %s",
					    outer->name, inner->name, strerror(-ret));
		}
	}
	return 0;
}

/* Writable mmapable arrays (.data, .bss, BPF_F_MMAPABLE maps) share the
 * kernel map's memory, so bpftool sees live values.  .rodata is frozen
 * by libbpf and cannot be mapped writable: it keeps its own copy. */
static void attach_kernel_mmaps(struct loader *ld)
{
	size_t i;

	for (i = 0; i < ld->obj->nr_maps; i++) {
		struct ebpf_map *map = ld->rmaps[i];
		int fd, ret;

		if (map->type != BPF_MAP_TYPE_ARRAY || !(map->map_flags & BPF_F_MMAPABLE) ||
		    (map->map_flags & (BPF_F_RDONLY_PROG | BPF_F_RDONLY)) || ld->kfd[i] < 0)
			continue;
		fd = fcntl(ld->kfd[i], F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			continue;
		ret = ebpf_map_attach_kernel_mmap(map, fd);
		if (ret) {
			pr_warn("map '%s': not backed by its kernel map (%s); bpftool will "
				"not show its live values", map->name, strerror(-ret));
			close(fd);
			continue;
		}
		ld->obj->maps[i].kfd = fd;
	}
}

/* ---- programs ---------------------------------------------------------------------- */

static int map_index_of_fd(const struct loader *ld, int fd)
{
	size_t i;

	for (i = 0; i < ld->obj->nr_maps; i++)
		if (ld->kfd[i] == fd)
			return (int)i;
	return -1;
}

/* Instructions after libbpf's relocation name maps by kernel fd; the
 * runtime wants an index into the maps it is given. */
static int rewrite_map_refs(struct loader *ld, const char *prog, struct bpf_insn *insns,
			    size_t cnt)
{
	size_t i;

	for (i = 0; i < cnt; i++) {
		struct bpf_insn *insn = &insns[i];
		int idx;

		if (insn->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (i + 1 >= cnt)
			return fail(ld, -EINVAL, "program '%s': truncated ld_imm64", prog);
		switch (insn->src_reg) {
		case 0:
		case BPF_PSEUDO_FUNC:
			break;
		case BPF_PSEUDO_MAP_FD:
		case BPF_PSEUDO_MAP_VALUE:
			idx = map_index_of_fd(ld, insn->imm);
			if (idx < 0)
				return fail(ld, -EINVAL, "program '%s': insn %zu refers to a "
					    "map that is not part of the object", prog, i);
			insn->imm = idx;
			break;
		case BPF_PSEUDO_BTF_ID:
			return fail(ld, -EOPNOTSUPP, "program '%s': kernel symbols (__ksym "
				    "externs) are not supported by the runtime", prog);
		default:
			return fail(ld, -EOPNOTSUPP, "program '%s': insn %zu: ld_imm64 form "
				    "%u is not supported", prog, i, insn->src_reg);
		}
		i++;
	}
	return 0;
}

/* The kernel's BTF, read once, to name the kfuncs libbpf resolved. */
static struct btf *vmlinux_btf;
static int vmlinux_btf_err;
static pthread_once_t vmlinux_btf_once = PTHREAD_ONCE_INIT;

static void load_vmlinux_btf(void)
{
	vmlinux_btf = btf__load_vmlinux_btf();
	if (!vmlinux_btf)
		vmlinux_btf_err = errno ? -errno : -ENOENT;
}

/* After libbpf's relocation a kfunc call's imm is the function's id in
 * the kernel's BTF (off 0; a module's BTF otherwise); the runtime wants
 * its own kfunc id, found by name. */
static int resolve_kfunc_calls(struct loader *ld, const char *prog, struct bpf_insn *insns,
			       size_t cnt)
{
	for (size_t i = 0; i < cnt; i++) {
		struct bpf_insn *insn = &insns[i];
		const struct btf_type *t;
		const char *fname;
		char names[256];
		int id;

		if (insn->code != (BPF_JMP | BPF_CALL) || insn->src_reg != BPF_PSEUDO_KFUNC_CALL)
			continue;
		if (insn->off)
			return fail(ld, -EOPNOTSUPP, "program '%s': insn %zu calls a kfunc of a "
				    "kernel module, which the runtime does not implement", prog, i);
		pthread_once(&vmlinux_btf_once, load_vmlinux_btf);
		if (!vmlinux_btf)
			return fail(ld, vmlinux_btf_err, "program '%s' calls kfuncs and the "
				    "kernel's BTF (/sys/kernel/btf/vmlinux) cannot be read to "
				    "name them: %s", prog, strerror(-vmlinux_btf_err));
		t = btf__type_by_id(vmlinux_btf, (uint32_t)insn->imm);
		fname = t ? btf__name_by_offset(vmlinux_btf, t->name_off) : NULL;
		id = fname ? ebpf_kfunc_by_name(fname) : -ENOENT;
		if (id < 0) {
			ebpf_kfunc_list(names, sizeof(names));
			return fail(ld, -EOPNOTSUPP, "program '%s' calls kfunc %s, which the "
				    "runtime does not implement (it implements %s)", prog,
				    fname ? fname : "<unnamed>", names);
		}
		insn->imm = id;
	}
	return 0;
}

static int build_prog(struct loader *ld, size_t pi)
{
	struct bpf_program *lp = ld->lprogs[pi];
	const char *name = bpf_program__name(lp);
	size_t cnt = bpf_program__insn_cnt(lp);
	const struct bpf_insn *src = bpf_program__insns(lp);
	struct bpf_prog_info info;
	uint32_t info_len = sizeof(info);
	struct ebpf_prog_opts po;
	struct ebpf_prog *prog;
	struct bpf_insn *insns;
	char err[512] = "";
	int ret, kfd = bpf_program__fd(lp);

	if (!src || !cnt)
		return fail(ld, -EINVAL, "program '%s': no instructions after loading", name);
	insns = malloc(cnt * sizeof(*insns));
	if (!insns)
		return fail(ld, -ENOMEM, "out of memory");
	memcpy(insns, src, cnt * sizeof(*insns));
	ret = rewrite_map_refs(ld, name, insns, cnt);
	if (!ret)
		ret = resolve_kfunc_calls(ld, name, insns, cnt);
	if (ret) {
		free(insns);
		return ret;
	}
	memset(&po, 0, sizeof(po));
	po.sz = sizeof(po);
	po.name = name;
	po.engine = ld->opts.engine;
	po.helpers = EBPF_HELPERS_XDP;
	po.maps = ld->rmaps;
	po.nr_maps = ld->obj->nr_maps;
	po.err_buf = err;
	po.err_size = sizeof(err);
	ret = ebpf_prog_create(insns, cnt, &po, &prog);
	free(insns);
	if (ret)
		return fail(ld, ret, "program '%s': the runtime cannot build it: %s", name,
			    err[0] ? err : strerror(-ret));
	ld->obj->progs[ld->obj->nr_progs++] = prog;
	snprintf(prog->section, sizeof(prog->section), "%s", bpf_program__section_name(lp));
	ret = ebpf_run_config_parse(bpf_object__btf(ld->lobj), name, &prog->run_cfg,
				    ld->opts.err_buf, ld->opts.err_size);
	if (ret)
		return ret;
	memset(&info, 0, sizeof(info));
	if (kfd >= 0 && !bpf_obj_get_info_by_fd(kfd, &info, &info_len))
		ld->kprog_id[pi] = info.id;
	if (ld->opts.keep_kernel && kfd >= 0) {
		prog->kernel_fd = fcntl(kfd, F_DUPFD_CLOEXEC, 3);
		if (prog->kernel_fd < 0)
			return fail(ld, -errno, "program '%s': cannot keep its kernel twin: %s",
				    name, strerror(errno));
	}
	return 0;
}

/* Statically initialised prog arrays (libbpf's .values = { &prog }) hold
 * kernel programs; point the runtime's slots at the runtime programs. */
static int fill_prog_arrays(struct loader *ld)
{
	size_t i, p;

	for (i = 0; i < ld->obj->nr_maps; i++) {
		struct ebpf_map *map = ld->rmaps[i];
		uint32_t key, kid;

		if (map->type != BPF_MAP_TYPE_PROG_ARRAY || ld->kfd[i] < 0)
			continue;
		for (key = 0; key < map->max_entries; key++) {
			struct ebpf_prog *target = NULL;
			uint32_t rid;
			int ret;

			if (bpf_map_lookup_elem(ld->kfd[i], &key, &kid))
				continue;	/* empty slot */
			for (p = 0; p < ld->nr_lprogs; p++)
				if (ld->kprog_id[p] == kid)
					target = ebpf_object_find_prog(ld->obj,
								       bpf_program__name(ld->lprogs[p]));
			if (!target) {
				pr_warn("map '%s': slot %u holds a kernel program that is not "
					"part of the object; left empty", map->name, key);
				continue;
			}
			rid = ebpf_prog_id(target);
			ret = ebpf_map_update_elem(map, &key, &rid, BPF_ANY);
			if (ret)
				return fail(ld, ret, "map '%s': cannot set slot %u: %s",
					    map->name, key, strerror(-ret));
		}
	}
	return 0;
}

/* ---- the kernel-verifier gate --------------------------------------------------------- */

static void print_verifier_log(const char *prog, const char *log)
{
	const char *p = log;

	pr_err("verifier log of program '%s':", prog);
	while (*p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		pr_err("  %.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

static int diagnose_load_failure(struct loader *ld, int err)
{
	size_t i;

	for (i = 0; i < ld->nr_lprogs; i++) {
		const char *name = bpf_program__name(ld->lprogs[i]);
		const char *log = ld->logs[i], *helper;

		if (!log || bpf_program__fd(ld->lprogs[i]) >= 0 || !log[0])
			continue;
		if (ld->opts.log_buf && ld->opts.log_size)
			snprintf(ld->opts.log_buf, ld->opts.log_size, "%s", log);
		else
			print_verifier_log(name, log);
		helper = strstr(log, "cannot use helper ");
		if (helper) {
			/* Not the program's fault: this kernel does not offer the
			 * helper to XDP programs, and nothing runs unverified. */
			helper += strlen("cannot use helper ");
			return fail(ld, -EACCES, "program '%s' calls %.*s, which this kernel's "
				    "verifier does not allow in XDP programs; every program must "
				    "pass it before it runs", name, (int)strcspn(helper, "#\n"), helper);
		}
		return fail(ld, -EACCES, "program '%s' was rejected by the kernel verifier "
			    "(%s); see its verifier log", name, strerror(-err));
	}
	if (err == -EPERM || err == -EACCES)
		return fail(ld, -EPERM, "%s: %s", ld->name, PRIV_MSG);
	return fail(ld, err, "%s: the kernel refused the object: %s%s%s", ld->name,
		    strerror(-err), libbpf_last_warn[0] ? " - libbpf: " : "",
		    libbpf_last_warn);
}

/* Exit codes of the parse probe's child. */
#define PROBE_PARSED	0
#define PROBE_REFUSED	3

/* libbpf 1.1 parses untrusted ELF and BTF with gaps in its checks (the two
 * fuzz_object found are closed in object_elf.c).  So that no malformed
 * object can crash the caller - the loader daemon above all - libbpf
 * first parses the image in a short-lived child; only if the child
 * survives is it parsed again here.  A crash (a signal, or the exit code
 * a sanitizer uses) means the object is refused. */
static int parse_in_child(struct loader *ld)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fail(ld, -errno, "%s: cannot fork to parse the object safely: %s",
			    ld->name, strerror(errno));
	if (pid == 0) {
		LIBBPF_OPTS(bpf_object_open_opts, oopts, .object_name = ld->name);
		struct bpf_object *o;

		libbpf_set_print(NULL);
		o = bpf_object__open_mem(ld->img, ld->len, &oopts);
		_exit(libbpf_get_error(o) ? PROBE_REFUSED : PROBE_PARSED);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return fail(ld, -errno, "%s: waiting for the parse probe: %s",
				    ld->name, strerror(errno));
	}
	if (WIFEXITED(status) && (WEXITSTATUS(status) == PROBE_PARSED ||
				  WEXITSTATUS(status) == PROBE_REFUSED))
		return 0;
	return fail(ld, -EINVAL, "%s: malformed BPF object: libbpf failed while "
		    "parsing it (%s %d)", ld->name,
		    WIFSIGNALED(status) ? "signal" : "exit code",
		    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}

static bool prog_is(struct bpf_program *p, const char *name)
{
	return !strcmp(bpf_program__name(p), name) ||
	       !strcmp(bpf_program__section_name(p), name);
}

/* Programs of other types stay in the object (their maps are created,
 * their code is not loaded) and are listed as skipped. */
static void skip_prog(struct loader *ld, struct bpf_program *p)
{
	struct ebpf_skipped_prog *sk = &ld->obj->skipped[ld->obj->nr_skipped++];
	const char *type = libbpf_bpf_prog_type_str(bpf_program__type(p));

	bpf_program__set_autoload(p, false);
	snprintf(sk->name, sizeof(sk->name), "%s", bpf_program__name(p));
	snprintf(sk->section, sizeof(sk->section), "%s", bpf_program__section_name(p));
	snprintf(sk->type, sizeof(sk->type), "%s", type ? type : "unknown");
	pr_info("%s: program '%s' (section %s) skipped: a %s program, and the runtime "
		"runs XDP programs only", ld->name, sk->name, sk->section, sk->type);
}

/* --prog NAME: it must exist and be an XDP program; it is loaded even if
 * its section marks it autoload-off. */
static int choose_named_prog(struct loader *ld)
{
	const char *want = ld->opts.prog_name;
	char names[512] = "";
	struct bpf_program *p;
	size_t used = 0;

	if (!want)
		return 0;
	bpf_object__for_each_program(p, ld->lobj) {
		if (!prog_is(p, want)) {
			used += (size_t)snprintf(names + used, used < sizeof(names) ?
						 sizeof(names) - used : 0, "%s%s",
						 used ? ", " : "", bpf_program__name(p));
			continue;
		}
		if (ebpf_sec_is_foreign(bpf_program__section_name(p))) {
			const char *type = libbpf_bpf_prog_type_str(bpf_program__type(p));

			return fail(ld, -EOPNOTSUPP, "%s: program '%s' (section %s) is a %s "
				    "program; the runtime runs XDP programs only", ld->name,
				    bpf_program__name(p), bpf_program__section_name(p),
				    type ? type : "non-XDP");
		}
		bpf_program__set_autoload(p, true);
		return 0;
	}
	return fail(ld, -ENOENT, "%s: no program named '%s'; its programs are: %s",
		    ld->name, want, names);
}

static int open_with_libbpf(struct loader *ld)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .object_name = ld->name);
	struct bpf_program *p;
	struct bpf_map *m;
	size_t n = 0;
	int err;

	err = parse_in_child(ld);
	if (err)
		return err;
	libbpf_last_warn[0] = '\0';
	ld->lobj = bpf_object__open_mem(ld->img, ld->len, &oopts);
	err = libbpf_get_error(ld->lobj);
	if (err) {
		ld->lobj = NULL;
		/* libbpf's own codes (-4000 and beyond) all mean a malformed object. */
		return fail(ld, err <= -4000 || err == -ENOTSUP ? -EINVAL : err,
			    "%s: not a loadable BPF object: %s", ld->name,
			    libbpf_last_warn[0] ? libbpf_last_warn : strerror(-err));
	}
	/* Maps declared with LIBBPF_PIN_BY_NAME would be shared through
	 * /sys/fs/bpf with any other loader of the same object (a real
	 * xdp-filter, another engine, a test's second engine): the runtime
	 * owns its maps, so it never reuses or creates pins. */
	bpf_object__for_each_map(m, ld->lobj) {
		err = bpf_map__set_pin_path(m, NULL);
		if (err)
			return fail(ld, err, "map '%s': cannot clear its pin path: %s",
				    bpf_map__name(m), strerror(-err));
	}
	bpf_object__for_each_program(p, ld->lobj)
		n++;
	if (!n)
		return fail(ld, -EINVAL, "%s: the object contains no programs "
			    "(no executable sections)", ld->name);
	ld->lprogs = calloc(n, sizeof(*ld->lprogs));
	ld->logs = calloc(n, sizeof(*ld->logs));
	ld->kprog_id = calloc(n, sizeof(*ld->kprog_id));
	ld->obj->progs = calloc(n, sizeof(*ld->obj->progs));
	if (!ld->lprogs || !ld->logs || !ld->kprog_id || !ld->obj->progs)
		return fail(ld, -ENOMEM, "out of memory");
	ld->obj->skipped = calloc(n, sizeof(*ld->obj->skipped));
	if (!ld->obj->skipped)
		return fail(ld, -ENOMEM, "out of memory");
	err = choose_named_prog(ld);
	if (err)
		return err;
	bpf_object__for_each_program(p, ld->lobj) {
		size_t i = ld->nr_lprogs++;

		ld->lprogs[i] = p;
		if (ebpf_sec_is_foreign(bpf_program__section_name(p))) {
			skip_prog(ld, p);
			continue;
		}
		if (ld->opts.prog_name && !prog_is(p, ld->opts.prog_name)) {
			bpf_program__set_autoload(p, false);
			continue;
		}
		ld->logs[i] = calloc(1, VERIFIER_LOG_SZ);
		if (!ld->logs[i])
			return fail(ld, -ENOMEM, "out of memory");
		/* The runtime runs XDP programs and the kernel verifies them
		 * as such, whatever an unknown section name says. */
		bpf_program__set_type(p, BPF_PROG_TYPE_XDP);
		bpf_program__set_expected_attach_type(p, BPF_XDP);
		bpf_program__set_log_buf(p, ld->logs[i], VERIFIER_LOG_SZ);
	}
	return 0;
}

static int keep_kernel_maps(struct loader *ld)
{
	size_t i;

	for (i = 0; i < ld->obj->nr_maps; i++) {
		if (ld->obj->maps[i].kfd >= 0 || ld->kfd[i] < 0)
			continue;
		ld->obj->maps[i].kfd = fcntl(ld->kfd[i], F_DUPFD_CLOEXEC, 3);
		if (ld->obj->maps[i].kfd < 0)
			return fail(ld, -errno, "map '%s': cannot keep its kernel twin: %s",
				    ld->rmaps[i]->name, strerror(errno));
	}
	return 0;
}

/* Legacy maps are created before libbpf opens the object, so their
 * sizes are set here; the rest in ebpf_object_presets(). */
static int size_legacy_maps(struct loader *ld)
{
	size_t i, k;

	for (k = 0; k < ld->opts.nr_map_sizes; k++)
		for (i = 0; i < ld->nr_lmaps; i++)
			if (!strcmp(ld->lmaps[i].name, ld->opts.map_sizes[k].name))
				ld->lmaps[i].max_entries = ld->opts.map_sizes[k].max_entries;
	for (i = 0; i < ld->nr_lmaps; i++)
		if (!ld->lmaps[i].max_entries)
			return fail(ld, -EINVAL, "map '%s' is declared with max_entries 0: its "
				    "loader sizes it before load; give it a size (flextoe-bpf "
				    "--map-size %s=N)", ld->lmaps[i].name, ld->lmaps[i].name);
	return 0;
}

/* What a map of this shape takes, about (ebpf_object_opts.max_map_bytes):
 * arrays store values only, a ring buffer its max_entries bytes, the rest
 * keys and values; per-CPU maps one copy per CPU. */
static uint64_t map_bytes(uint32_t type, uint32_t key, uint32_t value, uint32_t entries)
{
	uint64_t v = ((uint64_t)value + 7) & ~7ull, k = ((uint64_t)key + 7) & ~7ull;

	switch (type) {
	case BPF_MAP_TYPE_RINGBUF:
		return entries;
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PROG_ARRAY:
		return v * entries;
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return v * entries * ebpf_nr_cpus();
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
		return (k + v * ebpf_nr_cpus()) * entries;
	default:
		return (k + v) * entries;
	}
}

/* Adds one map to *total; an error when that passes the limit. */
static int map_budget(struct loader *ld, uint64_t *total, const char *name, uint32_t type,
		      uint32_t key, uint32_t value, uint32_t entries)
{
	uint64_t b = map_bytes(type, key, value, entries);

	*total += b;
	if (!ld->opts.max_map_bytes || *total <= ld->opts.max_map_bytes)
		return 0;
	return fail(ld, -E2BIG, "map '%s': %u entries need about %llu MiB, which brings the "
		    "object's maps over their limit of %llu MiB (max_map_bytes)", name, entries,
		    (unsigned long long)(b >> 20),
		    (unsigned long long)(ld->opts.max_map_bytes >> 20));
}

static int load(struct loader *ld)
{
	uint64_t map_total = 0;
	struct bpf_map *m;
	size_t nmaps, i;
	int ret;

	ret = ebpf_elf_inspect(ld->img, ld->len, ld->name, ld->opts.prog_name, &ld->lmaps,
			       &ld->nr_lmaps, ld->opts.err_buf, ld->opts.err_size);
	if (ret)
		return ret;
	ret = size_legacy_maps(ld);
	for (i = 0; !ret && i < ld->nr_lmaps; i++)
		ret = map_budget(ld, &map_total, ld->lmaps[i].name, ld->lmaps[i].type,
				 ld->lmaps[i].key_size, ld->lmaps[i].value_size,
				 ld->lmaps[i].max_entries);
	if (ret)
		return ret;
	if (ld->nr_lmaps) {
		ld->lfds = malloc(ld->nr_lmaps * sizeof(*ld->lfds));
		if (!ld->lfds)
			return fail(ld, -ENOMEM, "out of memory");
		for (i = 0; i < ld->nr_lmaps; i++)
			ld->lfds[i] = -1;
		ret = create_legacy_kernel_maps(ld, ld->lfds);
		if (ret)
			return ret;
		ret = ebpf_elf_patch_legacy(ld->img, ld->len, ld->lmaps, ld->lfds,
					    ld->nr_lmaps, ld->opts.err_buf, ld->opts.err_size);
		if (ret)
			return ret;
	}
	ret = open_with_libbpf(ld);
	if (!ret)
		ret = ebpf_object_presets(ld->lobj, ld->name, ld->opts.map_sizes,
					  ld->opts.nr_map_sizes, ld->opts.globals,
					  ld->opts.nr_globals, ld->lmaps, ld->nr_lmaps,
					  ld->opts.err_buf,
					  ld->opts.err_size);
	if (ret)
		return ret;
	nmaps = ld->nr_lmaps;
	bpf_object__for_each_map(m, ld->lobj) {
		ret = map_budget(ld, &map_total, bpf_map__name(m), bpf_map__type(m),
				 bpf_map__key_size(m), bpf_map__value_size(m),
				 bpf_map__max_entries(m));
		if (ret)
			return ret;
		nmaps++;
	}
	ret = alloc_map_tables(ld, nmaps);
	if (ret)
		return ret;
	ret = add_legacy_maps(ld, ld->lfds);
	if (!ret)
		ret = create_libbpf_maps(ld);
	if (ret)
		return ret;

	/* The gate: the kernel verifies every program with kernel twins of
	 * the maps.  Nothing runs in the runtime unless this passes. */
	libbpf_last_warn[0] = '\0';
	ret = bpf_object__load(ld->lobj);
	if (ret)
		return diagnose_load_failure(ld, ret);
	bpf_object__for_each_map(m, ld->lobj) {
		for (i = 0; i < ld->obj->nr_maps; i++)
			if (ld->lbmap[i] == m)
				ld->kfd[i] = bpf_map__fd(m);
	}

	ret = copy_initial_values(ld);
	if (!ret)
		ret = fill_map_in_map_slots(ld);
	if (ret)
		return ret;
	attach_kernel_mmaps(ld);
	for (i = 0; i < ld->nr_lprogs; i++) {
		if (bpf_program__fd(ld->lprogs[i]) < 0)
			continue;	/* autoload off (SEC("?...")) */
		ret = build_prog(ld, i);
		if (ret)
			return ret;
	}
	if (!ld->obj->nr_progs && ld->obj->nr_skipped)
		return fail(ld, -EOPNOTSUPP, "%s: no XDP program to load: its %zu "
			    "program(s) are of other types (%s: %s); the runtime runs XDP "
			    "programs only", ld->name, ld->obj->nr_skipped,
			    ld->obj->skipped[0].name, ld->obj->skipped[0].type);
	if (!ld->obj->nr_progs)
		return fail(ld, -EINVAL, "%s: no program was loaded (all have autoload "
			    "off)", ld->name);
	ret = fill_prog_arrays(ld);
	if (!ret && ld->opts.keep_kernel)
		ret = keep_kernel_maps(ld);
	return ret;
}

static void loader_cleanup(struct loader *ld)
{
	size_t i;

	if (ld->lobj)
		bpf_object__close(ld->lobj);
	for (i = 0; ld->lfds && i < ld->nr_lmaps; i++)
		if (ld->lfds[i] >= 0)
			close(ld->lfds[i]);
	for (i = 0; ld->logs && i < ld->nr_lprogs; i++)
		free(ld->logs[i]);
	free(ld->logs);
	free(ld->lfds);
	free(ld->lmaps);
	free(ld->lprogs);
	free(ld->kprog_id);
	free(ld->kfd);
	free(ld->lbmap);
	free(ld->rmaps);
	free(ld->img);
}

/* Size-versioned opts, as libbpf's: unknown trailing fields must be 0. */
static int copy_object_opts(const struct ebpf_object_opts *opts, struct ebpf_object_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (!opts)
		return 0;
	if (opts->sz < offsetof(struct ebpf_object_opts, engine) + sizeof(opts->engine)) {
		ebpf_set_err(NULL, 0, "ebpf_object_opts.sz (%zu) is too small", opts->sz);
		return -EINVAL;
	}
	if (opts->sz > sizeof(*o)) {
		const char *tail = (const char *)opts + sizeof(*o);
		size_t k;

		for (k = 0; k < opts->sz - sizeof(*o); k++)
			if (tail[k]) {
				ebpf_set_err(NULL, 0, "ebpf_object_opts has fields this "
					     "runtime does not know (sz %zu)", opts->sz);
				return -EINVAL;
			}
	}
	memcpy(o, opts, opts->sz < sizeof(*o) ? opts->sz : sizeof(*o));
	return 0;
}

int ebpf_object_open_mem(const void *buf, size_t len, const char *name,
			 const struct ebpf_object_opts *opts, struct ebpf_object **out)
{
	struct loader ld;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	memset(&ld, 0, sizeof(ld));
	ret = copy_object_opts(opts, &ld.opts);
	if (ret)
		return ret;
	if (ld.opts.err_buf && ld.opts.err_size)
		ld.opts.err_buf[0] = '\0';
	if (ld.opts.log_buf && ld.opts.log_size)
		ld.opts.log_buf[0] = '\0';
	ld.name = name && *name ? name : "object";
	if (ld.opts.engine != EBPF_ENGINE_INTERP && ld.opts.engine != EBPF_ENGINE_JIT)
		return fail(&ld, -EINVAL, "unknown engine %d", (int)ld.opts.engine);
	if (!buf || !len)
		return fail(&ld, -EINVAL, "%s: empty file (not an ELF object)", ld.name);
	pthread_once(&libbpf_print_once, libbpf_print_setup);

	ld.obj = calloc(1, sizeof(*ld.obj));
	/* libbpf and the legacy rewrite both work on a private copy. */
	ld.img = malloc(len);
	if (!ld.obj || !ld.img) {
		free(ld.obj);
		free(ld.img);
		return fail(&ld, -ENOMEM, "out of memory");
	}
	memcpy(ld.img, buf, len);
	ld.len = len;
	snprintf(ld.obj->name, sizeof(ld.obj->name), "%s", ld.name);

	ret = load(&ld);
	loader_cleanup(&ld);
	if (ret) {
		ebpf_object_close(ld.obj);
		return ret;
	}
	*out = ld.obj;
	return 0;
}

int ebpf_object_open(const char *path, const struct ebpf_object_opts *opts,
		     struct ebpf_object **out)
{
	struct ebpf_object_opts o;
	const char *base;
	uint8_t *buf = NULL;
	size_t len = 0;
	int ret;

	if (!out || !path)
		return -EINVAL;
	*out = NULL;
	ret = copy_object_opts(opts, &o);
	if (ret)
		return ret;
	buf = ftoe_read_file(path, &len, &ret);
	if (!buf) {
		ebpf_set_err(o.err_buf, o.err_size, "cannot read %s: %s", path, strerror(-ret));
		return ret;
	}
	/* Named after the file, as libbpf names objects (and its internal
	 * maps: "<name>.rodata"). */
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	ret = ebpf_object_open_mem(buf, len, base, opts, out);
	free(buf);
	return ret;
}

void ebpf_object_close(struct ebpf_object *obj)
{
	size_t i;

	if (!obj)
		return;
	for (i = 0; i < obj->nr_progs; i++)
		ebpf_prog_put(obj->progs[i]);
	for (i = 0; obj->maps && i < obj->nr_maps; i++) {
		ebpf_map_put(obj->maps[i].map);
		if (obj->maps[i].kfd >= 0)
			close(obj->maps[i].kfd);
	}
	free(obj->progs);
	free(obj->maps);
	free(obj->skipped);
	free(obj);
}

/* ---- lookups ----------------------------------------------------------------------- */

struct ebpf_prog *ebpf_object_find_prog(struct ebpf_object *obj, const char *name)
{
	size_t i;

	if (!obj || !name)
		return NULL;
	for (i = 0; i < obj->nr_progs; i++)
		if (!strcmp(ebpf_prog_name(obj->progs[i]), name))
			return obj->progs[i];
	for (i = 0; i < obj->nr_progs; i++)
		if (!strcmp(ebpf_prog_section(obj->progs[i]), name))
			return obj->progs[i];
	return NULL;
}

struct ebpf_prog *ebpf_object_next_prog(struct ebpf_object *obj, struct ebpf_prog *prev)
{
	size_t i;

	if (!obj || !obj->nr_progs)
		return NULL;
	if (!prev)
		return obj->progs[0];
	for (i = 0; i + 1 < obj->nr_progs; i++)
		if (obj->progs[i] == prev)
			return obj->progs[i + 1];
	return NULL;
}

/* Internal maps carry libbpf's kernel name ("<object>.rodata"); they are
 * also found by their section name (".rodata"). */
static bool map_name_matches(const struct ebpf_map *map, const char *name)
{
	const char *dot;

	if (!strcmp(map->name, name))
		return true;
	if (name[0] != '.')
		return false;
	dot = strchr(map->name, '.');
	return dot && !strcmp(dot, name);
}

struct ebpf_map *ebpf_object_find_map(struct ebpf_object *obj, const char *name)
{
	size_t i;

	if (!obj || !name)
		return NULL;
	for (i = 0; i < obj->nr_maps; i++)
		if (map_name_matches(obj->maps[i].map, name))
			return obj->maps[i].map;
	return NULL;
}

struct ebpf_map *ebpf_object_next_map(struct ebpf_object *obj, struct ebpf_map *prev)
{
	size_t i;

	if (!obj || !obj->nr_maps)
		return NULL;
	if (!prev)
		return obj->maps[0].map;
	for (i = 0; i + 1 < obj->nr_maps; i++)
		if (obj->maps[i].map == prev)
			return obj->maps[i + 1].map;
	return NULL;
}

const struct ebpf_skipped_prog *ebpf_object_skipped_progs(const struct ebpf_object *obj,
							  size_t *n)
{
	*n = obj ? obj->nr_skipped : 0;
	return obj ? obj->skipped : NULL;
}

int ebpf_object_kernel_map_fd(struct ebpf_object *obj, struct ebpf_map *map)
{
	size_t i;

	if (!obj || !map)
		return -1;
	for (i = 0; i < obj->nr_maps; i++)
		if (obj->maps[i].map == map)
			return obj->maps[i].kfd;
	return -1;
}
