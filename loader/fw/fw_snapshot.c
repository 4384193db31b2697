/* fw_snapshot.c - a generation's compiled tables and parsed rule set as a file, so that an update needs neither a parse nor a compile of the unchanged rules. */
#include "loader/fw/fw_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


/*
 * Layout: struct snap_hdr, then the arrays of struct fw_tables (tab,
 * bk, slots, defs, loc, written) and the rules, raw.  The file is only
 * ever read by the build that wrote it: the header carries the sizes of
 * the structs (a changed layout makes it stale, not misread), a tag the
 * caller ties to what the generation holds, and an Adler-32 (zlib: a fraction of CRC-32's cost on the tens of MB of a 100,000-rule set) of the
 * arrays.  Anything that does not match is -ESTALE: the caller compiles
 * in full, as without a snapshot.
 */

#define SNAP_MAGIC	"FTOEFWS"
#define SNAP_VERSION	1u

struct snap_hdr {
	char magic[8];
	uint32_t version;
	uint32_t sizes[6];	/* fw_rule, fw_rule_def, fw_table, fw_cbucket, fw_tuple, hdr */
	uint32_t gen, nr_rules, policy, nr_tab, nr_bk, nr_slots, nr_written, shadowed;
	uint32_t rs_nr, rs_policy, rs_policy_line, crc;
	uint64_t tag, payload;
};

static void hdr_sizes(uint32_t *s)
{
	s[0] = sizeof(struct fw_rule);
	s[1] = sizeof(struct fw_rule_def);
	s[2] = sizeof(struct fw_table);
	s[3] = sizeof(struct fw_cbucket);
	s[4] = sizeof(struct fw_tuple);
	s[5] = sizeof(struct snap_hdr);
}

struct snap_part {
	void *p;
	size_t size;
};

static size_t snap_parts(const struct snap_hdr *h, struct fw_tables *t, struct fw_ruleset *rs,
			 struct snap_part *pt)
{
	pt[0] = (struct snap_part){ t->tab, (size_t)h->nr_tab * sizeof(*t->tab) };
	pt[1] = (struct snap_part){ t->bk, (size_t)h->nr_bk * sizeof(*t->bk) };
	pt[2] = (struct snap_part){ t->slots, (size_t)h->nr_slots * sizeof(*t->slots) };
	pt[3] = (struct snap_part){ t->defs, (size_t)h->nr_rules * sizeof(*t->defs) };
	pt[4] = (struct snap_part){ t->loc, (size_t)h->nr_rules * sizeof(*t->loc) };
	pt[5] = (struct snap_part){ t->written, (size_t)h->nr_tab * sizeof(*t->written) };
	pt[6] = (struct snap_part){ rs->rules, (size_t)h->rs_nr * sizeof(*rs->rules) };
	return 7;
}

int fw_snapshot_write(const char *path, uint64_t tag, const struct fw_tables *t,
		      const struct fw_ruleset *rs)
{
	struct snap_hdr h = { .version = SNAP_VERSION };
	struct snap_part pt[7];
	char tmp[4096];
	size_t n, i;
	uLong crc = adler32(0L, Z_NULL, 0);
	FILE *f;
	int err = 0;

	if (t->nr_dirty)
		return -EINVAL;	/* only what the maps hold is worth keeping */
	memcpy(h.magic, SNAP_MAGIC, sizeof(SNAP_MAGIC));
	hdr_sizes(h.sizes);
	h.gen = t->gen;
	h.nr_rules = t->nr_rules;
	h.policy = t->policy;
	h.nr_tab = t->nr_tab;
	h.nr_bk = t->nr_bk;
	h.nr_slots = t->nr_slots;
	h.nr_written = t->nr_written;
	h.shadowed = t->shadowed;
	h.rs_nr = (uint32_t)rs->nr;
	h.rs_policy = rs->policy;
	h.rs_policy_line = rs->policy_line;
	h.tag = tag;
	n = snap_parts(&h, (struct fw_tables *)t, (struct fw_ruleset *)rs, pt);
	for (i = 0; i < n; i++) {
		crc = adler32_z(crc, pt[i].p, pt[i].size);
		h.payload += pt[i].size;
	}
	h.crc = (uint32_t)crc;
	/* written beside and renamed: a reader sees the old file or the new */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fwrite(&h, sizeof(h), 1, f);
	for (i = 0; i < n; i++)
		if (pt[i].size)
			fwrite(pt[i].p, pt[i].size, 1, f);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* The arrays point into each other: every index in range. */
static bool snap_consistent(const struct fw_tables *t, const struct fw_ruleset *rs)
{
	uint32_t i;

	if (!t->nr_slots || t->nr_slots & (t->nr_slots - 1) || t->nr_slots < 2 * t->nr_bk || rs->nr != t->nr_rules)
		return false;
	for (i = 0; i < t->nr_slots; i++)
		if (t->slots[i] > t->nr_bk)
			return false;
	for (i = 0; i < t->nr_rules; i++)
		if (t->loc[i] > t->nr_bk)
			return false;
	for (i = 0; i < t->nr_bk; i++)
		if (t->bk[i].tid >= t->nr_tab || t->bk[i].b.nr > FW_BUCKET_RULES || t->bk[i].dirty)
			return false;
	return true;
}

/* A large array, in transparent huge pages where the kernel gives them
 * (MADV_HUGEPAGE): a 100,000-rule snapshot is about 20 MB, and touching
 * it 4 KiB page by page costs more than reading it on a virtual machine.
 * free() and realloc() take it as any malloc'd block. */
static void *big_alloc(size_t size)
{
	const size_t huge = 2u << 20;
	void *p;

	if (size < huge)
		return malloc(size ? size : 1);
	size = (size + huge - 1) & ~(huge - 1);
	p = aligned_alloc(huge, size);
	if (p)
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static int read_full(int fd, void *p, size_t size)
{
	char *b = p;

	while (size) {
		ssize_t r = read(fd, b, size);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ESTALE;
		b += r;
		size -= (size_t)r;
	}
	return 0;
}

int fw_snapshot_read(const char *path, uint64_t tag, struct fw_tables **tp, struct fw_ruleset **rsp)
{
	struct fw_tables *t = NULL;
	struct fw_ruleset *rs = NULL;
	struct snap_part pt[7];
	struct snap_hdr h, want = { 0 };
	struct stat st;
	size_t n, i;
	uLong sum = adler32(0L, Z_NULL, 0);
	int fd, err;

	*tp = NULL;
	*rsp = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = -ESTALE;
	if (fstat(fd, &st) || read_full(fd, &h, sizeof(h)))
		goto out;
	hdr_sizes(want.sizes);
	if (memcmp(h.magic, SNAP_MAGIC, sizeof(SNAP_MAGIC)) || h.version != SNAP_VERSION ||
	    memcmp(h.sizes, want.sizes, sizeof(want.sizes)) || h.tag != tag ||
	    h.payload != (uint64_t)st.st_size - sizeof(h) || h.gen >= FW_GENERATIONS ||
	    h.nr_tab > FW_MAX_TUPLES || h.nr_written > h.nr_tab || h.nr_rules > FW_MAX_RULES ||
	    h.rs_nr > FW_MAX_RULES || h.nr_bk > FW_MAX_ENTRIES ||
	    h.nr_slots > 4 * (uint32_t)FW_MAX_ENTRIES + 1024)
		goto out;
	err = -ENOMEM;
	t = calloc(1, sizeof(*t));
	rs = calloc(1, sizeof(*rs));
	if (!t || !rs)
		goto out;
	t->gen = h.gen;
	t->nr_rules = h.nr_rules;
	t->policy = h.policy;
	t->nr_tab = h.nr_tab;
	t->nr_bk = t->cap_bk = h.nr_bk;
	t->nr_slots = h.nr_slots;
	t->nr_written = h.nr_written;
	t->shadowed = h.shadowed;
	t->cap_rules = h.nr_rules ? h.nr_rules : 1;
	t->tab = calloc(FW_MAX_TUPLES, sizeof(*t->tab));
	t->written = calloc(FW_MAX_TUPLES, sizeof(*t->written));
	t->bk = big_alloc((size_t)h.nr_bk * sizeof(*t->bk));
	t->slots = big_alloc((size_t)h.nr_slots * sizeof(*t->slots));
	t->defs = big_alloc(t->cap_rules * sizeof(*t->defs));
	t->loc = big_alloc(t->cap_rules * sizeof(*t->loc));
	rs->nr = h.rs_nr;
	rs->cap = h.rs_nr ? h.rs_nr : 1;
	rs->policy = h.rs_policy;
	rs->policy_line = h.rs_policy_line;
	rs->rules = big_alloc(rs->cap * sizeof(*rs->rules));
	if (!t->tab || !t->written || !t->bk || !t->slots || !t->defs || !t->loc || !rs->rules)
		goto out;
	if (!h.nr_rules)
		t->loc[0] = 0;
	/* straight into the arrays: no second copy of 20 MB */
	n = snap_parts(&h, t, rs, pt);
	for (i = 0; i < n; i++) {
		err = read_full(fd, pt[i].p, pt[i].size);
		if (err)
			goto out;
		sum = adler32_z(sum, pt[i].p, pt[i].size);
	}
	err = -ESTALE;
	if ((uint32_t)sum != h.crc || !snap_consistent(t, rs))
		goto out;
	*tp = t;
	*rsp = rs;
	t = NULL;
	rs = NULL;
	err = 0;
out:
	close(fd);
	fw_tables_free(t);
	fw_ruleset_free(rs);
	return err;
}
