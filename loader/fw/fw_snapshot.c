/* fw_snapshot.c - a generation's compiled tables and parsed rule set as a file, so that an update needs neither a parse nor a compile of the unchanged rules. */
#include "loader/fw/fw_internal.h"
#include "lib/util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/*
 * Layout: struct snap_hdr, then the arrays of struct fw_tables (tab,
 * bk, slots, defs, loc, written) and the rules, raw.  The file is only
 * ever read by the build that wrote it: the header carries the sizes of
 * the structs (a changed layout makes it stale, not misread), a tag the
 * caller ties to what the generation holds, and a 64-bit sum of the
 * arrays (sum64: four multiply-xor lanes over 8-byte words, a few ms for
 * the ~20 MB of a 100,000-rule set; zlib's Adler-32 took ~10 ms each way
 * and CRC-32 tens).  It guards against a torn or damaged file, not an
 * adversary: the run directory is root's.  Anything that does not match
 * is -ESTALE: the caller compiles in full, as without a snapshot.
 */

#define SNAP_MAGIC	"FTOEFWS"
#define SNAP_VERSION	2u

struct snap_hdr {
	char magic[8];
	uint32_t version;
	uint32_t sizes[6];	/* fw_rule, fw_rule_def, fw_table, fw_cbucket, fw_tuple, hdr */
	uint32_t gen, nr_rules, policy, nr_tab, nr_bk, nr_slots, nr_written, shadowed;
	uint32_t rs_nr, rs_policy, rs_policy_line, pad;
	uint64_t tag, payload, sum;
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

/* A running sum of parts: four independent lanes, so the multiplies
 * overlap; a part's tail under 32 bytes is mixed in byte by byte. */
struct sum64 {
	uint64_t lane[4];
};

static void sum64_init(struct sum64 *s)
{
	s->lane[0] = 0x9e3779b97f4a7c15ull;
	s->lane[1] = 0xc2b2ae3d27d4eb4full;
	s->lane[2] = 0x165667b19e3779f9ull;
	s->lane[3] = 0x27d4eb2f165667c5ull;
}

static void sum64_add(struct sum64 *s, const void *p, size_t size)
{
	const unsigned char *b = p;
	uint64_t w[4];
	size_t i = 0;

	for (; i + 32 <= size; i += 32) {
		memcpy(w, b + i, 32);
		for (int k = 0; k < 4; k++)
			s->lane[k] = (s->lane[k] ^ w[k]) * 0x100000001b3ull + (s->lane[k] >> 31);
	}
	for (; i < size; i++)
		s->lane[i & 3] = (s->lane[i & 3] ^ b[i]) * 0x100000001b3ull;
	/* the size too, so that moving a byte across parts changes the sum */
	s->lane[0] ^= size;
}

static uint64_t sum64_end(const struct sum64 *s)
{
	uint64_t h = s->lane[0];

	for (int k = 1; k < 4; k++)
		h = (h ^ (s->lane[k] >> 7)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
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

static int write_full(int fd, const void *p, size_t size, off_t *off)
{
	const char *b = p;

	while (size) {
		ssize_t w = pwrite(fd, b, size, *off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		size -= (size_t)w;
		*off += w;
	}
	return 0;
}

int fw_snapshot_write(const char *path, uint64_t tag, const struct fw_tables *t,
		      const struct fw_ruleset *rs)
{
	struct snap_hdr h = { .version = SNAP_VERSION };
	struct snap_part pt[7];
	char tmp[4096];
	size_t n, i;
	struct sum64 sum;
	int fd, err = 0;

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
	sum64_init(&sum);
	for (i = 0; i < n; i++) {
		sum64_add(&sum, pt[i].p, pt[i].size);
		h.payload += pt[i].size;
	}
	h.sum = sum64_end(&sum);
	/* Written beside and renamed: a reader sees the old file or the new.
	 * A PATH.tmp that is there already (the caller moved the previous
	 * snapshot aside: fw_snapshot_set_aside) is overwritten in place:
	 * its pages are in the page cache and mostly hold these bytes
	 * already, where a new file would allocate ~20 MB of them again. */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	{
		off_t off = 0;

		err = write_full(fd, &h, sizeof(h), &off);
		for (i = 0; i < n && !err; i++)
			err = write_full(fd, pt[i].p, pt[i].size, &off);
		if (!err && ftruncate(fd, off))
			err = -errno;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int fw_snapshot_set_aside(const char *path)
{
	char tmp[4096];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	if (!rename(path, tmp))
		return 0;
	if (errno != ENOENT)
		return -errno;
	return 0;
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
	struct sum64 sum;
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
	t->bk = ftoe_alloc_large((size_t)h.nr_bk * sizeof(*t->bk));
	t->slots = ftoe_alloc_large((size_t)h.nr_slots * sizeof(*t->slots));
	t->defs = ftoe_alloc_large(t->cap_rules * sizeof(*t->defs));
	t->loc = ftoe_alloc_large(t->cap_rules * sizeof(*t->loc));
	rs->nr = h.rs_nr;
	rs->cap = h.rs_nr ? h.rs_nr : 1;
	rs->policy = h.rs_policy;
	rs->policy_line = h.rs_policy_line;
	rs->rules = ftoe_alloc_large(rs->cap * sizeof(*rs->rules));
	if (!t->tab || !t->written || !t->bk || !t->slots || !t->defs || !t->loc || !rs->rules)
		goto out;
	if (!h.nr_rules)
		t->loc[0] = 0;
	/* straight into the arrays (in huge pages: ftoe_alloc_large), no
	 * second copy of 20 MB */
	n = snap_parts(&h, t, rs, pt);
	sum64_init(&sum);
	for (i = 0; i < n; i++) {
		err = read_full(fd, pt[i].p, pt[i].size);
		if (err)
			goto out;
		sum64_add(&sum, pt[i].p, pt[i].size);
	}
	err = -ESTALE;
	if (sum64_end(&sum) != h.sum || !snap_consistent(t, rs))
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
