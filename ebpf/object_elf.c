/* object_elf.c - raw-ELF pre-pass of a BPF object: sanity, helper scan, legacy "maps" rewrite. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/btf.h>
#include <bpf/libbpf.h>

#include "ebpf/internal.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif

#define LEGACY_MAPS_SEC	"maps"
#define LEGACY_DEF_MIN	16	/* type, key_size, value_size, max_entries */
#define LEGACY_DEF_SZ	20	/* struct bpf_map_def: + map_flags */

/* Everything is read with memcpy: sections of an in-memory image carry
 * no alignment guarantee. */
struct elf_view {
	uint8_t *img;
	size_t len;
	const char *name;
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	size_t shnum;
	size_t symtab;		/* section index, 0 when absent */
	size_t nsyms;
	size_t strtab;
};

static void elf_view_free(struct elf_view *v)
{
	free(v->sh);
	v->sh = NULL;
}

static const char *str_at(const struct elf_view *v, size_t sec, uint32_t off)
{
	const Elf64_Shdr *s;

	if (sec == 0 || sec >= v->shnum)
		return NULL;
	s = &v->sh[sec];
	if (s->sh_type != SHT_STRTAB || off >= s->sh_size)
		return NULL;
	/* The table must end with a NUL within the section. */
	if (!memchr(v->img + s->sh_offset + off, '\0', s->sh_size - off))
		return NULL;
	return (const char *)v->img + s->sh_offset + off;
}

static const char *sec_name(const struct elf_view *v, size_t idx)
{
	const char *n = idx < v->shnum ? str_at(v, v->eh.e_shstrndx, v->sh[idx].sh_name) : NULL;

	return n ? n : "<?>";
}

static void get_sym(const struct elf_view *v, size_t idx, Elf64_Sym *sym)
{
	memcpy(sym, v->img + v->sh[v->symtab].sh_offset + idx * sizeof(*sym), sizeof(*sym));
}

static const char *sym_name(const struct elf_view *v, const Elf64_Sym *sym)
{
	const char *n = str_at(v, v->strtab, sym->st_name);

	return n ? n : "<?>";
}

static int elf_view_open(struct elf_view *v, uint8_t *img, size_t len, const char *name,
			 char *err, size_t err_size)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->img = img;
	v->len = len;
	v->name = name;
	if (len < SELFMAG || memcmp(img, ELFMAG, SELFMAG)) {
		ebpf_set_err(err, err_size, "%s: not an ELF file (expected an object "
			     "built with clang -target bpf)", name);
		return -EINVAL;
	}
	if (len < sizeof(Elf64_Ehdr)) {
		ebpf_set_err(err, err_size, "%s: truncated ELF file (%zu bytes, shorter "
			     "than the ELF header)", name, len);
		return -EINVAL;
	}
	memcpy(&v->eh, img, sizeof(v->eh));
	if (v->eh.e_ident[EI_CLASS] != ELFCLASS64 || v->eh.e_machine != EM_BPF) {
		ebpf_set_err(err, err_size, "%s: not a BPF object (ELF machine %u, "
			     "class %u; build it with clang -target bpf)", name,
			     v->eh.e_machine, v->eh.e_ident[EI_CLASS]);
		return -EINVAL;
	}
	if (v->eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		ebpf_set_err(err, err_size, "%s: big-endian BPF objects are not supported "
			     "(use -target bpfel)", name);
		return -EINVAL;
	}
	v->shnum = v->eh.e_shnum;
	if (!v->shnum || v->eh.e_shentsize != sizeof(Elf64_Shdr) ||
	    v->eh.e_shstrndx >= v->shnum) {
		ebpf_set_err(err, err_size, "%s: malformed ELF (no usable section table)", name);
		return -EINVAL;
	}
	if (v->eh.e_shoff > len || v->shnum * sizeof(Elf64_Shdr) > len - v->eh.e_shoff) {
		ebpf_set_err(err, err_size, "%s: truncated ELF file (section table past "
			     "the end of its %zu bytes)", name, len);
		return -EINVAL;
	}
	v->sh = calloc(v->shnum, sizeof(*v->sh));
	if (!v->sh)
		return -ENOMEM;
	memcpy(v->sh, img + v->eh.e_shoff, v->shnum * sizeof(*v->sh));
	for (i = 1; i < v->shnum; i++) {
		const Elf64_Shdr *s = &v->sh[i];

		if (s->sh_type == SHT_NOBITS || s->sh_type == SHT_NULL)
			continue;
		if (s->sh_offset > len || s->sh_size > len - s->sh_offset) {
			ebpf_set_err(err, err_size, "%s: truncated ELF file (section %zu "
				     "ends past the end of its %zu bytes)", name, i, len);
			elf_view_free(v);
			return -EINVAL;
		}
	}
	for (i = 1; i < v->shnum; i++) {
		const Elf64_Shdr *s = &v->sh[i];

		if (s->sh_type != SHT_SYMTAB)
			continue;
		if (s->sh_entsize != sizeof(Elf64_Sym) || s->sh_link >= v->shnum ||
		    v->sh[s->sh_link].sh_type != SHT_STRTAB) {
			ebpf_set_err(err, err_size, "%s: malformed ELF symbol table", name);
			elf_view_free(v);
			return -EINVAL;
		}
		v->symtab = i;
		v->nsyms = s->sh_size / sizeof(Elf64_Sym);
		v->strtab = s->sh_link;
	}
	return 0;
}

static bool is_exec(const Elf64_Shdr *s)
{
	return s->sh_type == SHT_PROGBITS && (s->sh_flags & SHF_EXECINSTR);
}

/* libbpf 1.1 copies a program's instructions from its function symbol's
 * value and size, and patches the instructions relocations point at,
 * without checking either against the section (a fuzzed object made it
 * read out of bounds), so both are checked here. */
static int check_symbols_and_relocs(const struct elf_view *v, char *err, size_t err_size)
{
	size_t i, r;

	for (i = 1; v->symtab && i < v->nsyms; i++) {
		Elf64_Sym sym;
		const Elf64_Shdr *s;

		get_sym(v, i, &sym);
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
			continue;
		if (sym.st_shndx >= v->shnum)
			goto bad_sym;
		s = &v->sh[sym.st_shndx];
		if (s->sh_type == SHT_NOBITS)
			continue;
		if (sym.st_value > s->sh_size || sym.st_size > s->sh_size - sym.st_value)
			goto bad_sym;
		if (ELF64_ST_TYPE(sym.st_info) == STT_FUNC && is_exec(s) &&
		    (sym.st_value % sizeof(struct bpf_insn) || sym.st_size % sizeof(struct bpf_insn)))
			goto bad_sym;
		continue;
bad_sym:
		ebpf_set_err(err, err_size, "%s: malformed ELF: symbol '%s' lies outside "
			     "its section", v->name, sym_name(v, &sym));
		return -EINVAL;
	}
	for (r = 1; r < v->shnum; r++) {
		const Elf64_Shdr *rs = &v->sh[r], *ts;
		size_t n;

		if (rs->sh_type != SHT_REL)
			continue;
		if (rs->sh_info >= v->shnum || rs->sh_entsize != sizeof(Elf64_Rel))
			goto bad_rel;
		ts = &v->sh[rs->sh_info];
		if (!is_exec(ts))
			continue;	/* debug info: libbpf does not apply these */
		for (n = 0; n < rs->sh_size / sizeof(Elf64_Rel); n++) {
			Elf64_Rel rel;

			size_t need = sizeof(struct bpf_insn);

			memcpy(&rel, v->img + rs->sh_offset + n * sizeof(rel), sizeof(rel));
			if (rel.r_offset % sizeof(struct bpf_insn) || rel.r_offset >= ts->sh_size ||
			    ELF64_R_SYM(rel.r_info) >= v->nsyms)
				goto bad_rel;
			/* An ld_imm64 is patched in both of its halves. */
			if (v->img[ts->sh_offset + rel.r_offset] == (BPF_LD | BPF_IMM | BPF_DW))
				need *= 2;
			if (ts->sh_size - rel.r_offset < need)
				goto bad_rel;
		}
	}
	return 0;
bad_rel:
	ebpf_set_err(err, err_size, "%s: malformed ELF: relocation section '%s' "
		     "points outside its target", v->name, sec_name(v, r));
	return -EINVAL;
}

/* The function (program or subprogram) that holds byte off of section sec. */
static const char *func_at(const struct elf_view *v, size_t sec, uint64_t off)
{
	Elf64_Sym sym;
	size_t i;

	for (i = 1; v->symtab && i < v->nsyms; i++) {
		get_sym(v, i, &sym);
		if (sym.st_shndx == sec && ELF64_ST_TYPE(sym.st_info) == STT_FUNC &&
		    off >= sym.st_value && off < sym.st_value + sym.st_size)
			return sym_name(v, &sym);
	}
	return sec_name(v, sec);
}

bool ebpf_sec_is_foreign(const char *sec)
{
	enum bpf_prog_type type;
	enum bpf_attach_type attach;

	if (sec[0] == '?')	/* libbpf's autoload-off mark */
		sec++;
	/* An unknown section name is not a type: those load as XDP, as they
	 * always have (SEC("prog"), SEC("xdp_sock")). */
	return !strcmp(sec, ".text") ? false :
	       !libbpf_prog_type_by_name(sec, &type, &attach) && type != BPF_PROG_TYPE_XDP;
}

static bool sec_has_func(const struct elf_view *v, size_t sec, const char *name)
{
	Elf64_Sym sym;
	size_t i;

	for (i = 1; v->symtab && i < v->nsyms; i++) {
		get_sym(v, i, &sym);
		if (sym.st_shndx == sec && ELF64_ST_TYPE(sym.st_info) == STT_FUNC &&
		    !strcmp(sym_name(v, &sym), name))
			return true;
	}
	return false;
}

/* The undefined (extern) symbol a relocation at byte off of section sec
 * names, or NULL: clang's call of a __ksym function (a kfunc) is such a
 * relocation, which libbpf resolves against the kernel's BTF. */
static const char *extern_at(const struct elf_view *v, size_t sec, uint64_t off)
{
	for (size_t r = 1; r < v->shnum; r++) {
		const Elf64_Shdr *rs = &v->sh[r];

		if (rs->sh_type != SHT_REL || rs->sh_info != sec)
			continue;
		for (size_t n = 0; n < rs->sh_size / sizeof(Elf64_Rel); n++) {
			Elf64_Rel rel;
			Elf64_Sym sym;

			memcpy(&rel, v->img + rs->sh_offset + n * sizeof(rel), sizeof(rel));
			if (rel.r_offset != off || ELF64_R_SYM(rel.r_info) >= v->nsyms)
				continue;
			get_sym(v, ELF64_R_SYM(rel.r_info), &sym);
			return sym.st_shndx == SHN_UNDEF ? sym_name(v, &sym) : NULL;
		}
	}
	return NULL;
}

/* Sections the loader will not load: programs of other types, and with
 * prog_name every section but the one holding it. */
static bool sec_skipped(const struct elf_view *v, size_t i, const char *prog_name)
{
	const char *name = sec_name(v, i);

	if (!strcmp(name, ".text"))
		return false;
	if (ebpf_sec_is_foreign(name))
		return true;
	return prog_name && strcmp(name, prog_name) && !sec_has_func(v, i, prog_name);
}

/* Helper calls are checked here, on the raw sections, so subprograms in
 * .text are covered and the user hears about the helper by name before
 * the kernel verifier runs.  Sections that will not be loaded are not
 * checked (a tc program may call tc helpers); nor is .text then, since
 * its subprograms may be theirs: the kernel verifier and the runtime's
 * own check still see every instruction that is loaded. */
static int scan_helpers(const struct elf_view *v, const char *prog_name, char *err,
			size_t err_size)
{
	bool any_skipped = false;
	size_t i, off;

	for (i = 1; i < v->shnum; i++)
		if (is_exec(&v->sh[i]) && sec_skipped(v, i, prog_name))
			any_skipped = true;
	for (i = 1; i < v->shnum; i++) {
		const Elf64_Shdr *s = &v->sh[i];

		if (!is_exec(s) || sec_skipped(v, i, prog_name) ||
		    (any_skipped && !strcmp(sec_name(v, i), ".text")))
			continue;
		if (s->sh_size % sizeof(struct bpf_insn)) {
			ebpf_set_err(err, err_size, "%s: section '%s' is not a whole number "
				     "of instructions", v->name, sec_name(v, i));
			return -EINVAL;
		}
		for (off = 0; off < s->sh_size; off += sizeof(struct bpf_insn)) {
			struct bpf_insn insn;
			const char *kfunc;

			memcpy(&insn, v->img + s->sh_offset + off, sizeof(insn));
			if (insn.code == (BPF_LD | BPF_IMM | BPF_DW)) {
				off += sizeof(insn);
				continue;
			}
			if (insn.code != (BPF_JMP | BPF_CALL))
				continue;
			kfunc = insn.src_reg == BPF_PSEUDO_KFUNC_CALL || insn.imm == -1 ?
				extern_at(v, i, off) : NULL;
			if (kfunc && ebpf_kfunc_by_name(kfunc) < 0) {
				char names[256];

				ebpf_kfunc_list(names, sizeof(names));
				ebpf_set_err(err, err_size, "program '%s' (section %s) calls "
					     "kfunc %s, which the runtime does not implement (it "
					     "implements %s)", func_at(v, i, off), sec_name(v, i),
					     kfunc, names);
				return -EOPNOTSUPP;
			}
			if (kfunc)
				continue;
			if (insn.src_reg == BPF_PSEUDO_KFUNC_CALL) {
				ebpf_set_err(err, err_size, "program '%s' (section %s) calls a "
					     "kernel function (kfunc) without naming it",
					     func_at(v, i, off), sec_name(v, i));
				return -EOPNOTSUPP;
			}
			if (insn.src_reg != 0)
				continue;
			if (!ebpf_helper_get(EBPF_HELPERS_XDP, (uint32_t)insn.imm)) {
				ebpf_set_err(err, err_size, "program '%s' (section %s) calls "
					     "helper %s (#%u), which the runtime does not "
					     "support (see docs/runtime.md for the XDP helpers)",
					     func_at(v, i, off), sec_name(v, i),
					     ebpf_helper_kernel_name((uint32_t)insn.imm),
					     (uint32_t)insn.imm);
				return -EOPNOTSUPP;
			}
		}
	}
	return 0;
}

static size_t find_sec(const struct elf_view *v, const char *name)
{
	size_t i;

	for (i = 1; i < v->shnum; i++)
		if (!strcmp(sec_name(v, i), name))
			return i;
	return 0;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t x;

	memcpy(&x, p, 4);
	return x;
}

static void put32(uint8_t *p, uint32_t x)
{
	memcpy(p, &x, 4);
}

/* Legacy definitions: every non-section symbol in "maps" is one
 * definition, all of the same size (libbpf 0.x's rule). */
static int read_legacy_maps(const struct elf_view *v, size_t msec,
			    struct ebpf_legacy_map **out, size_t *nr_out,
			    char *err, size_t err_size)
{
	const Elf64_Shdr *s = &v->sh[msec];
	struct ebpf_legacy_map *maps;
	size_t i, nr = 0, def_sz, k = 0;
	Elf64_Sym sym;

	if (s->sh_type != SHT_PROGBITS || !v->symtab) {
		ebpf_set_err(err, err_size, "%s: legacy 'maps' section without "
			     "definitions or symbols", v->name);
		return -EINVAL;
	}
	for (i = 1; i < v->nsyms; i++) {
		get_sym(v, i, &sym);
		if (sym.st_shndx == msec && ELF64_ST_TYPE(sym.st_info) != STT_SECTION)
			nr++;
	}
	if (!nr)
		return 0;
	def_sz = s->sh_size / nr;
	if (def_sz * nr != s->sh_size || def_sz < LEGACY_DEF_MIN) {
		ebpf_set_err(err, err_size, "%s: legacy 'maps' section of %llu bytes does "
			     "not hold %zu struct bpf_map_def", v->name,
			     (unsigned long long)s->sh_size, nr);
		return -EINVAL;
	}
	maps = calloc(nr, sizeof(*maps));
	if (!maps)
		return -ENOMEM;
	for (i = 1; i < v->nsyms; i++) {
		const uint8_t *d;
		struct ebpf_legacy_map *m;
		size_t b;

		get_sym(v, i, &sym);
		if (sym.st_shndx != msec || ELF64_ST_TYPE(sym.st_info) == STT_SECTION)
			continue;
		m = &maps[k++];
		snprintf(m->name, sizeof(m->name), "%s", sym_name(v, &sym));
		if (sym.st_value > s->sh_size || def_sz > s->sh_size - sym.st_value) {
			ebpf_set_err(err, err_size, "%s: legacy map '%s' lies outside the "
				     "'maps' section", v->name, m->name);
			free(maps);
			return -EINVAL;
		}
		d = v->img + s->sh_offset + sym.st_value;
		m->sec_off = sym.st_value;
		m->type = get32(d);
		m->key_size = get32(d + 4);
		m->value_size = get32(d + 8);
		m->max_entries = get32(d + 12);
		m->map_flags = def_sz >= LEGACY_DEF_SZ ? get32(d + 16) : 0;
		/* Larger definitions (iproute2's struct bpf_elf_map: id,
		 * pinning, ...) are accepted only when the extra fields are
		 * unused, as libbpf 0.x did. */
		for (b = LEGACY_DEF_SZ; b < def_sz; b++) {
			if (d[b]) {
				ebpf_set_err(err, err_size, "map '%s': legacy definition has "
					     "fields beyond struct bpf_map_def set (pinning, "
					     "inner maps, ...), which are not supported",
					     m->name);
				free(maps);
				return -EOPNOTSUPP;
			}
		}
	}
	*out = maps;
	*nr_out = nr;
	return 0;
}

static int check_btf(const struct elf_view *v, char *err, size_t err_size);

int ebpf_elf_inspect(const uint8_t *img, size_t len, const char *obj_name,
		     const char *prog_name, struct ebpf_legacy_map **maps, size_t *nr_maps,
		     char *err, size_t err_size)
{
	struct elf_view v;
	size_t msec;
	int ret;

	*maps = NULL;
	*nr_maps = 0;
	/* The view never writes through img here. */
	ret = elf_view_open(&v, (uint8_t *)(uintptr_t)img, len, obj_name, err, err_size);
	if (ret)
		return ret;
	ret = check_btf(&v, err, err_size);
	if (!ret)
		ret = check_symbols_and_relocs(&v, err, err_size);
	if (!ret)
		ret = scan_helpers(&v, prog_name, err, err_size);
	if (!ret) {
		msec = find_sec(&v, LEGACY_MAPS_SEC);
		if (msec)
			ret = read_legacy_maps(&v, msec, maps, nr_maps, err, err_size);
	}
	elf_view_free(&v);
	return ret;
}

/* Size in bytes of what follows a BTF type's 12-byte header. */
static int btf_extra(uint32_t info, size_t *extra)
{
	uint32_t kind = (info >> 24) & 0x1f, vlen = info & 0xffff;

	switch (kind) {
	case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
		*extra = 4; return 0;
	case BTF_KIND_PTR: case BTF_KIND_FWD: case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC: case BTF_KIND_FLOAT: case BTF_KIND_TYPE_TAG:
		*extra = 0; return 0;
	case BTF_KIND_ARRAY:
		*extra = 12; return 0;
	case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC:
	case BTF_KIND_ENUM64:
		*extra = (size_t)vlen * 12; return 0;
	case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO:
		*extra = (size_t)vlen * 8; return 0;
	}
	return -EINVAL;
}

/* libbpf 1.1 trusts type ids inside .BTF and dereferences the result of
 * btf__type_by_id() unchecked while it parses .maps (a fuzzed object
 * crashed it), so every reference is checked here first: each type id a
 * type names must exist, and each name must lie inside the string table. */
static int check_btf(const struct elf_view *v, char *err, size_t err_size)
{
	size_t bsec = find_sec(v, ".BTF"), pos, nt = 0, sz;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
	const uint8_t *b, *types;
	const char *what = "truncated header";

	if (!bsec)
		return 0;
	b = v->img + v->sh[bsec].sh_offset;
	sz = v->sh[bsec].sh_size;
	if (sz < 24 || b[0] != 0x9f || b[1] != 0xeb)
		goto bad;
	hdr_len = get32(b + 4);
	type_off = get32(b + 8);
	type_len = get32(b + 12);
	str_off = get32(b + 16);
	str_len = get32(b + 20);
	what = "section bounds";
	if (hdr_len < 24 || (uint64_t)hdr_len + type_off + type_len > sz ||
	    (uint64_t)hdr_len + str_off + str_len > sz || !str_len ||
	    b[hdr_len + str_off + str_len - 1] != '\0')
		goto bad;
	types = b + hdr_len + type_off;
	/* First pass: count the types, so references can be range-checked. */
	for (pos = 0; pos + 12 <= type_len; nt++) {
		size_t extra;

		what = "unknown type kind";
		if (btf_extra(get32(types + pos + 4), &extra))
			goto bad;
		pos += 12 + extra;
	}
	what = "type section length";
	if (pos != type_len)
		goto bad;
	for (pos = 0; pos < type_len;) {
		const uint8_t *t = types + pos;
		uint32_t info = get32(t + 4), kind = (info >> 24) & 0x1f;
		uint32_t vlen = info & 0xffff, j;
		size_t extra;

		btf_extra(info, &extra);
		what = "name offset";
		if (get32(t) >= str_len)
			goto bad;
		what = "type reference";
		switch (kind) {
		case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_FUNC:
		case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
		case BTF_KIND_FUNC_PROTO:
			if (get32(t + 8) > nt)
				goto bad;
			break;
		case BTF_KIND_ARRAY:
			if (get32(t + 12) > nt || get32(t + 16) > nt)
				goto bad;
			break;
		}
		for (j = 0; j < vlen; j++) {
			const uint8_t *m = t + 12;

			switch (kind) {
			case BTF_KIND_STRUCT: case BTF_KIND_UNION:
				m += (size_t)j * 12;
				if (get32(m) >= str_len || get32(m + 4) > nt)
					goto bad;
				break;
			case BTF_KIND_FUNC_PROTO:
				m += (size_t)j * 8;
				if (get32(m) >= str_len || get32(m + 4) > nt)
					goto bad;
				break;
			case BTF_KIND_DATASEC:
				if (get32(m + (size_t)j * 12) > nt)
					goto bad;
				break;
			}
		}
		pos += 12 + extra;
	}
	return 0;
bad:
	ebpf_set_err(err, err_size, "%s: malformed .BTF section (%s)", v->name, what);
	return -EINVAL;
}

/* clang leaves the DATASEC of "maps" with size 0 and zero offsets; libbpf
 * would look the section up to fill them in, and we hide the section from
 * it, so fill them in here from the symbols (the kernel wants distinct,
 * increasing offsets). */
static int fix_btf_datasec(struct elf_view *v, size_t msec, char *err, size_t err_size)
{
	size_t bsec = find_sec(v, ".BTF"), pos, nt = 0, cap = 0, i;
	uint32_t hdr_len, type_off, type_len, str_off, str_len;
	uint8_t *b, *types;
	size_t *offs = NULL, sz;
	int ret = 0;

	if (!bsec)
		return 0;
	b = v->img + v->sh[bsec].sh_offset;
	sz = v->sh[bsec].sh_size;
	if (sz < 24 || b[0] != 0x9f || b[1] != 0xeb)
		goto bad;
	hdr_len = get32(b + 4);
	type_off = get32(b + 8);
	type_len = get32(b + 12);
	str_off = get32(b + 16);
	str_len = get32(b + 20);
	if ((uint64_t)hdr_len + type_off + type_len > sz ||
	    (uint64_t)hdr_len + str_off + str_len > sz)
		goto bad;
	types = b + hdr_len + type_off;
	for (pos = 0; pos + 12 <= type_len;) {
		size_t extra;

		if (btf_extra(get32(types + pos + 4), &extra))
			goto bad;
		if (nt == cap) {
			size_t *n = realloc(offs, (cap = cap ? cap * 2 : 256) * sizeof(*offs));

			if (!n) {
				free(offs);
				return -ENOMEM;
			}
			offs = n;
		}
		offs[nt++] = pos;	/* type id nt */
		pos += 12 + extra;
	}
	for (i = 0; i < nt; i++) {
		uint8_t *t = types + offs[i];
		uint32_t info = get32(t + 4), name = get32(t), j, vlen = info & 0xffff;
		const char *tn = name < str_len ? (const char *)b + hdr_len + str_off + name : "";

		if (((info >> 24) & 0x1f) != BTF_KIND_DATASEC || strcmp(tn, LEGACY_MAPS_SEC))
			continue;
		put32(t + 8, (uint32_t)v->sh[msec].sh_size);
		for (j = 0; j < vlen; j++) {
			uint8_t *vsi = t + 12 + (size_t)j * 12;
			uint32_t var_id = get32(vsi), vname;
			const char *vn;
			Elf64_Sym sym;
			size_t s;

			if (var_id == 0 || var_id > nt)
				goto bad;
			vname = get32(types + offs[var_id - 1]);
			if (vname >= str_len)
				goto bad;
			vn = (const char *)b + hdr_len + str_off + vname;
			for (s = 1; s < v->nsyms; s++) {
				get_sym(v, s, &sym);
				if (sym.st_shndx == msec && !strcmp(sym_name(v, &sym), vn)) {
					put32(vsi + 4, (uint32_t)sym.st_value);
					break;
				}
			}
		}
	}
	free(offs);
	return ret;
bad:
	free(offs);
	ebpf_set_err(err, err_size, "%s: malformed .BTF section", v->name);
	return -EINVAL;
}

int ebpf_elf_patch_legacy(uint8_t *img, size_t len,
			  const struct ebpf_legacy_map *maps, const int *kernel_fds,
			  size_t nr_maps, char *err, size_t err_size)
{
	struct elf_view v;
	size_t msec, r;
	int ret;

	ret = elf_view_open(&v, img, len, "object", err, err_size);
	if (ret)
		return ret;
	msec = find_sec(&v, LEGACY_MAPS_SEC);
	if (!msec)
		goto out;
	for (r = 1; r < v.shnum; r++) {
		Elf64_Shdr *rs = &v.sh[r];
		size_t n, i, kept = 0, tsec = rs->sh_info;
		uint8_t *rel;

		if (rs->sh_type != SHT_REL || tsec >= v.shnum || !is_exec(&v.sh[tsec]) ||
		    rs->sh_entsize != sizeof(Elf64_Rel) || rs->sh_link != v.symtab)
			continue;
		rel = img + rs->sh_offset;
		n = rs->sh_size / sizeof(Elf64_Rel);
		for (i = 0; i < n; i++) {
			Elf64_Rel re;
			Elf64_Sym sym;
			struct bpf_insn insn[2];
			uint64_t off;
			size_t m, symi;
			uint8_t *ip;

			memcpy(&re, rel + i * sizeof(re), sizeof(re));
			symi = ELF64_R_SYM(re.r_info);
			if (symi >= v.nsyms)
				goto keep;
			get_sym(&v, symi, &sym);
			if (sym.st_shndx != msec)
				goto keep;
			if (re.r_offset > v.sh[tsec].sh_size ||
			    v.sh[tsec].sh_size - re.r_offset < sizeof(insn)) {
				ebpf_set_err(err, err_size, "legacy map relocation outside "
					     "section '%s'", sec_name(&v, tsec));
				ret = -EINVAL;
				goto out;
			}
			ip = img + v.sh[tsec].sh_offset + re.r_offset;
			memcpy(insn, ip, sizeof(insn));
			if (insn[0].code != (BPF_LD | BPF_IMM | BPF_DW)) {
				ebpf_set_err(err, err_size, "function '%s' uses legacy map "
					     "'%s' in a non-ld_imm64 instruction",
					     func_at(&v, tsec, re.r_offset), sym_name(&v, &sym));
				ret = -EINVAL;
				goto out;
			}
			off = sym.st_value;
			if (ELF64_ST_TYPE(sym.st_info) == STT_SECTION)
				off += (uint32_t)insn[0].imm;
			for (m = 0; m < nr_maps && maps[m].sec_off != off; m++)
				;
			if (m == nr_maps) {
				ebpf_set_err(err, err_size, "function '%s' refers to offset "
					     "%llu of 'maps', which holds no map definition",
					     func_at(&v, tsec, re.r_offset),
					     (unsigned long long)off);
				ret = -EINVAL;
				goto out;
			}
			insn[0].src_reg = BPF_PSEUDO_MAP_FD;
			insn[0].imm = kernel_fds[m];
			insn[1].imm = 0;
			memcpy(ip, insn, sizeof(insn));
			continue;
keep:
			memmove(rel + kept * sizeof(re), &re, sizeof(re));
			kept++;
		}
		rs->sh_size = kept * sizeof(Elf64_Rel);
	}
	ret = fix_btf_datasec(&v, msec, err, err_size);
	if (ret)
		goto out;
	/* An empty name: libbpf skips it as an unrecognised data section
	 * instead of refusing the object. */
	v.sh[msec].sh_name = 0;
	memcpy(img + v.eh.e_shoff, v.sh, v.shnum * sizeof(*v.sh));
out:
	elf_view_free(&v);
	return ret;
}
