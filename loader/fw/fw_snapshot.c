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
#include <xxhash.h>


/*
 * Layout: struct snap_hdr in the first page, then the arrays of struct
 * fw_tables (tab, bk, slots, defs, loc, written) and the rules, raw, each
 * at a page boundary and with room to grow (a hole in the file).  The
 * file is only ever read by the build that wrote it: the header carries
 * the sizes of the structs (a changed layout makes it stale, not
 * misread), a tag the caller ties to what the generation holds, and a
 * 64-bit sum of the arrays: XXH3 (libxxhash), ~2 ms for the ~25 MB of a
 * 100,000-rule set where the hand-written multiply-xor sum it replaced
 * took 8-17 ms, zlib's Adler-32 ~10 ms and CRC-32 tens - and it is taken
 * twice per update (read, write).  It guards against a torn or damaged
 * file, not an adversary: the run directory is root's.  Anything
 * that does not match is -ESTALE: the caller compiles in full, as
 * without a snapshot.
 *
 * Read maps the file shared and leaves the big arrays (bk, slots, defs,
 * loc, the rules) in it: an update changes them in the page cache, and
 * the next write only copies in what moved and rewrites the header.  A
 * copy into fresh memory is what made the first edit after a full apply
 * slow on the development VM: its free 2 MiB blocks are handed back to
 * the host (virtio-balloon free page reporting), and touching one again
 * cost ~2.4 ms of system time per MiB - ~0.1 s for the ~40 MB an edit
 * read (docs/firewall.md).  The page cache of the file is memory in use.
 */

#define SNAP_MAGIC	"FTOEFWS"
#define SNAP_VERSION	3u
#define SNAP_ALIGN	4096u

enum { P_TAB, P_BK, P_SLOTS, P_DEFS, P_LOC, P_WRITTEN, P_RULES, NR_PARTS };

struct snap_hdr {
	char magic[8];
	uint32_t version;
	uint32_t sizes[6];	/* fw_rule, fw_rule_def, fw_table, fw_cbucket, fw_tuple, hdr */
	uint32_t gen, nr_rules, policy, nr_tab, nr_bk, nr_slots, nr_written, shadowed;
	uint32_t rs_nr, rs_policy, rs_policy_line, pad;
	uint64_t tag, sum;
	uint64_t off[NR_PARTS], cap[NR_PARTS];	/* bytes, page-aligned */
};

struct fw_store {
	int refs, fd;
	bool shared;		/* MAP_SHARED: changes reach the file */
	unsigned char *base;
	size_t len;
};

bool fw_store_holds(const struct fw_store *s, const void *p)
{
	const unsigned char *b = p;

	return s && b >= s->base && b < s->base + s->len;
}

void fw_store_put(struct fw_store *s)
{
	if (!s || --s->refs)
		return;
	munmap(s->base, s->len);
	close(s->fd);
	free(s);
}

static void hdr_sizes(uint32_t *s)
{
	s[0] = sizeof(struct fw_rule);
	s[1] = sizeof(struct fw_rule_def);
	s[2] = sizeof(struct fw_table);
	s[3] = sizeof(struct fw_cbucket);
	s[4] = sizeof(struct fw_tuple);
	s[5] = sizeof(struct snap_hdr);
}

/* Where each part is in memory and how many bytes of it count. */
struct snap_part {
	void *p;
	size_t size;
};

static void snap_parts(const struct snap_hdr *h, const struct fw_tables *t,
		       const struct fw_ruleset *rs, struct snap_part *pt)
{
	pt[P_TAB] = (struct snap_part){ t->tab, (size_t)h->nr_tab * sizeof(*t->tab) };
	pt[P_BK] = (struct snap_part){ t->bk, (size_t)h->nr_bk * sizeof(*t->bk) };
	pt[P_SLOTS] = (struct snap_part){ t->slots, (size_t)h->nr_slots * sizeof(*t->slots) };
	pt[P_DEFS] = (struct snap_part){ t->defs, (size_t)h->nr_rules * sizeof(*t->defs) };
	pt[P_LOC] = (struct snap_part){ t->loc, (size_t)h->nr_rules * sizeof(*t->loc) };
	pt[P_WRITTEN] = (struct snap_part){ t->written, (size_t)h->nr_tab * sizeof(*t->written) };
	pt[P_RULES] = (struct snap_part){ rs->rules, (size_t)h->rs_nr * sizeof(*rs->rules) };
}

static void hdr_fill(struct snap_hdr *h, uint64_t tag, const struct fw_tables *t,
		     const struct fw_ruleset *rs)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, SNAP_MAGIC, sizeof(SNAP_MAGIC));
	h->version = SNAP_VERSION;
	hdr_sizes(h->sizes);
	h->gen = t->gen;
	h->nr_rules = t->nr_rules;
	h->policy = t->policy;
	h->nr_tab = t->nr_tab;
	h->nr_bk = t->nr_bk;
	h->nr_slots = t->nr_slots;
	h->nr_written = t->nr_written;
	h->shadowed = t->shadowed;
	h->rs_nr = (uint32_t)rs->nr;
	h->rs_policy = rs->policy;
	h->rs_policy_line = rs->policy_line;
	h->tag = tag;
}

/* XXH3 of each part, seeded with the sum so far and the part's size (a
 * byte moved across parts changes the sum). */
static uint64_t parts_sum(const struct snap_part *pt)
{
	uint64_t h = 0;

	for (int i = 0; i < NR_PARTS; i++)
		h = XXH3_64bits_withSeed(pt[i].p, pt[i].size, h ^ pt[i].size);
	return h;
}

static size_t align_up(size_t n)
{
	return (n + SNAP_ALIGN - 1) & ~(size_t)(SNAP_ALIGN - 1);
}

/* Room for a part: the tables' fixed arrays whole, the others with an
 * eighth and some more to grow by (slots: one doubling), so that edits
 * that add rules and buckets still fit in place. */
static size_t part_cap(int i, const struct snap_part *p)
{
	switch (i) {
	case P_TAB:
		return align_up(FW_MAX_TUPLES * sizeof(struct fw_table));
	case P_WRITTEN:
		return align_up(FW_MAX_TUPLES * sizeof(struct fw_tuple));
	case P_SLOTS:
		return align_up(2 * p->size);
	default:
		return align_up(p->size + p->size / 8 + 1024 * 64);
	}
}

static int write_full(int fd, const void *p, size_t size, off_t off)
{
	const char *b = p;

	while (size) {
		ssize_t w = pwrite(fd, b, size, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		b += w;
		size -= (size_t)w;
		off += w;
	}
	return 0;
}

/* A new file at tmp: the header, each part at its offset, holes between. */
static int write_new(const char *tmp, struct snap_hdr *h, const struct snap_part *pt)
{
	uint64_t off = align_up(sizeof(*h));
	int fd, err = 0, i;

	for (i = 0; i < NR_PARTS; i++) {
		h->off[i] = off;
		h->cap[i] = part_cap(i, &pt[i]);
		off += h->cap[i];
	}
	h->sum = parts_sum(pt);
	/* A file of that name may be mapped (the tables were read from it
	 * and set aside): a new one, never a truncated one. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	err = write_full(fd, h, sizeof(*h), 0);
	for (i = 0; i < NR_PARTS && !err; i++)
		err = write_full(fd, pt[i].p, pt[i].size, (off_t)h->off[i]);
	if (!err && ftruncate(fd, (off_t)off))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Copy size bytes to dst where they differ, a page at a time: the pages
 * that already hold them are neither dirtied nor written back. */
static void copy_changed(unsigned char *dst, const unsigned char *src, size_t size)
{
	for (size_t o = 0; o < size; o += SNAP_ALIGN) {
		size_t n = size - o < SNAP_ALIGN ? size - o : SNAP_ALIGN;

		if (memcmp(dst + o, src + o, n))
			memcpy(dst + o, src + o, n);
	}
}

/* The tables were read from s (and changed there): bring the parts that
 * moved back into their room and rewrite the header.  -ENOSPC when a
 * part outgrew its room. */
static int commit_in_place(struct fw_store *s, struct snap_hdr *h, struct snap_part *pt)
{
	const struct snap_hdr *old = (const void *)s->base;
	int i;

	for (i = 0; i < NR_PARTS; i++)
		if (pt[i].size > old->cap[i])
			return -ENOSPC;
	for (i = 0; i < NR_PARTS; i++) {
		unsigned char *room = s->base + old->off[i];

		h->off[i] = old->off[i];
		h->cap[i] = old->cap[i];
		if (pt[i].p != room)
			copy_changed(room, pt[i].p, pt[i].size);
		pt[i].p = room;
	}
	h->sum = parts_sum(pt);
	memcpy(s->base, h, sizeof(*h));
	return 0;
}

int fw_snapshot_write(const char *path, uint64_t tag, const struct fw_tables *t,
		      const struct fw_ruleset *rs)
{
	struct fw_store *s = t->store;
	struct snap_part pt[NR_PARTS];
	struct snap_hdr h;
	char tmp[4096];
	int err;

	if (t->nr_dirty)
		return -EINVAL;	/* only what the maps hold is worth keeping */
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	hdr_fill(&h, tag, t, rs);
	snap_parts(&h, t, rs, pt);
	/* Read from the file that was set aside, or still at path: that
	 * file, in place.  Else (another file, or a part outgrew its room)
	 * a new one beside, renamed: a reader sees the old file or the new. */
	if (s && s->shared && (same_file(s->fd, tmp) || same_file(s->fd, path)) &&
	    !commit_in_place(s, &h, pt)) {
		if (same_file(s->fd, tmp) && rename(tmp, path))
			return -errno;
		return 0;
	}
	err = write_new(tmp, &h, pt);
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

/* The header fits this build, the tag and the file: parts in order,
 * page-aligned, inside the file, each used part inside its room. */
static bool hdr_valid(const struct snap_hdr *h, uint64_t tag, size_t file_size)
{
	struct snap_hdr want = { 0 };
	struct snap_part pt[NR_PARTS];
	struct fw_tables none = { 0 };
	struct fw_ruleset no_rs = { 0 };
	uint64_t end = align_up(sizeof(*h));

	hdr_sizes(want.sizes);
	if (memcmp(h->magic, SNAP_MAGIC, sizeof(SNAP_MAGIC)) || h->version != SNAP_VERSION ||
	    memcmp(h->sizes, want.sizes, sizeof(want.sizes)) || h->tag != tag ||
	    h->gen >= FW_GENERATIONS || h->nr_tab > FW_MAX_TUPLES || h->nr_written > h->nr_tab ||
	    h->nr_rules > FW_MAX_RULES || h->rs_nr > FW_MAX_RULES || h->nr_bk > FW_MAX_ENTRIES ||
	    h->nr_slots > 4 * (uint32_t)FW_MAX_ENTRIES + 1024)
		return false;
	snap_parts(h, &none, &no_rs, pt);
	for (int i = 0; i < NR_PARTS; i++) {
		if (h->off[i] < end || h->off[i] % SNAP_ALIGN || h->cap[i] < pt[i].size ||
		    h->cap[i] > file_size || h->off[i] > file_size - h->cap[i])
			return false;
		end = h->off[i] + h->cap[i];
	}
	/* defs and loc are indexed alike: room for as many of each */
	return h->cap[P_DEFS] / sizeof(struct fw_rule_def) <= h->cap[P_LOC] / sizeof(uint32_t);
}

static int store_open(const char *path, struct fw_store **out)
{
	struct fw_store *s;
	struct stat st;
	int prot = PROT_READ | PROT_WRITE, flags = MAP_SHARED;
	int fd, err;

	*out = NULL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS)) {
		/* not ours to change: a private copy of what changes */
		fd = open(path, O_RDONLY | O_CLOEXEC);
		flags = MAP_PRIVATE;
	}
	if (fd < 0)
		return -errno;
	err = -ESTALE;
	if (fstat(fd, &st) || (size_t)st.st_size < sizeof(struct snap_hdr))
		goto fail;
	err = -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		goto fail;
	s->base = mmap(NULL, (size_t)st.st_size, prot, flags, fd, 0);
	if (s->base == MAP_FAILED) {
		err = -errno;
		free(s);
		goto fail;
	}
	s->len = (size_t)st.st_size;
	s->fd = fd;
	s->refs = 1;
	s->shared = flags == MAP_SHARED;
	*out = s;
	return 0;
fail:
	close(fd);
	return err;
}

int fw_snapshot_read(const char *path, uint64_t tag, struct fw_tables **tp, struct fw_ruleset **rsp)
{
	struct fw_tables *t = NULL;
	struct fw_ruleset *rs = NULL;
	struct snap_part pt[NR_PARTS];
	const struct snap_hdr *h;
	struct fw_store *s;
	int err;

	*tp = NULL;
	*rsp = NULL;
	err = store_open(path, &s);
	if (err)
		return err;
	h = (const void *)s->base;
	err = -ESTALE;
	if (!hdr_valid(h, tag, s->len))
		goto out;
	err = -ENOMEM;
	t = calloc(1, sizeof(*t));
	rs = calloc(1, sizeof(*rs));
	if (!t || !rs)
		goto out;
	t->gen = h->gen;
	t->nr_rules = h->nr_rules;
	t->policy = h->policy;
	t->nr_tab = h->nr_tab;
	t->nr_bk = h->nr_bk;
	t->nr_slots = h->nr_slots;
	t->nr_written = h->nr_written;
	t->shadowed = h->shadowed;
	/* the small fixed arrays copied; the big ones stay in the file */
	t->tab = calloc(FW_MAX_TUPLES, sizeof(*t->tab));
	t->written = calloc(FW_MAX_TUPLES, sizeof(*t->written));
	if (!t->tab || !t->written)
		goto out;
	memcpy(t->tab, s->base + h->off[P_TAB], (size_t)h->nr_tab * sizeof(*t->tab));
	memcpy(t->written, s->base + h->off[P_WRITTEN], (size_t)h->nr_tab * sizeof(*t->written));
	t->bk = (void *)(s->base + h->off[P_BK]);
	t->cap_bk = (uint32_t)(h->cap[P_BK] / sizeof(*t->bk));
	t->slots = (void *)(s->base + h->off[P_SLOTS]);
	t->defs = (void *)(s->base + h->off[P_DEFS]);
	t->loc = (void *)(s->base + h->off[P_LOC]);
	t->cap_rules = (uint32_t)(h->cap[P_DEFS] / sizeof(*t->defs));
	rs->nr = h->rs_nr;
	rs->cap = h->cap[P_RULES] / sizeof(*rs->rules);
	rs->policy = h->rs_policy;
	rs->policy_line = h->rs_policy_line;
	rs->rules = (void *)(s->base + h->off[P_RULES]);
	/* each holds the file from here on */
	t->store = s;
	rs->store = s;
	s->refs++;
	s = NULL;
	err = -ESTALE;
	snap_parts(h, t, rs, pt);
	pt[P_TAB].p = t->store->base + h->off[P_TAB];
	pt[P_WRITTEN].p = t->store->base + h->off[P_WRITTEN];
	if (parts_sum(pt) != h->sum || !t->cap_rules || !snap_consistent(t, rs))
		goto out;
	*tp = t;
	*rsp = rs;
	t = NULL;
	rs = NULL;
	err = 0;
out:
	fw_store_put(s);
	fw_tables_free(t);
	fw_ruleset_free(rs);
	return err;
}
