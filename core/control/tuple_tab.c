/* tuple_tab.c - a bounded table of small per-4-tuple records in age order (the SYN and TIME_WAIT tables). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/tuple_tab.h"
#include "core/siphash.h"

#define TT_MAX_CAP (1u << 24)

static uint32_t buckets_for(uint32_t cap)
{
	uint32_t n = 1;

	while (n < cap)
		n <<= 1;
	return n;
}

size_t ftoe_tt_mem_size(uint32_t cap, uint32_t rec_size)
{
	return (size_t)buckets_for(cap) * sizeof(uint32_t) +
	       (size_t)cap * (sizeof(struct ftoe_tt_node) + rec_size);
}

int ftoe_tt_init(struct ftoe_tuple_tab *t, uint32_t cap, uint32_t rec_size,
		 const uint8_t key[16])
{
	memset(t, 0, sizeof(*t));
	if (!cap || cap > TT_MAX_CAP || !rec_size)
		return -EINVAL;
	t->cap = cap;
	t->rec_size = rec_size;
	t->nbuckets = buckets_for(cap);
	t->bucket = malloc((size_t)t->nbuckets * sizeof(*t->bucket));
	t->node = malloc((size_t)cap * sizeof(*t->node));
	t->rec = calloc(cap, rec_size);
	if (!t->bucket || !t->node || !t->rec) {
		ftoe_tt_fini(t);
		return -ENOMEM;
	}
	memcpy(t->key, key, sizeof(t->key));
	for (uint32_t i = 0; i < t->nbuckets; i++)
		t->bucket[i] = FTOE_TT_NONE;
	for (uint32_t i = 0; i < cap; i++)
		t->node[i].hnext = i + 1 < cap ? i + 1 : FTOE_TT_NONE;
	t->free_head = 0;
	t->oldest = t->youngest = FTOE_TT_NONE;
	t->next_due = UINT64_MAX;
	return 0;
}

int ftoe_tt_new(struct ftoe_tuple_tab **out, uint32_t cap, uint32_t rec_size,
		const uint8_t key[16])
{
	struct ftoe_tuple_tab *t = malloc(sizeof(*t));
	int err;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	err = ftoe_tt_init(t, cap, rec_size, key);
	if (err) {
		free(t);
		return err;
	}
	*out = t;
	return 0;
}

void ftoe_tt_free(struct ftoe_tuple_tab **t)
{
	if (!*t)
		return;
	ftoe_tt_fini(*t);
	free(*t);
	*t = NULL;
}

void ftoe_tt_fini(struct ftoe_tuple_tab *t)
{
	free(t->bucket);
	free(t->node);
	free(t->rec);
	memset(t, 0, sizeof(*t));
}

static uint32_t bucket_of(const struct ftoe_tuple_tab *t, const struct ftoe_flow_key *k)
{
	uint32_t w[9] = { k->laddr, k->raddr, (uint32_t)k->lport << 16 | k->rport,
			  k->lhi[0], k->lhi[1], k->lhi[2], k->rhi[0], k->rhi[1], k->rhi[2] };
	/* An IPv4 key hashes its 3 words only (core/flow_table.h). */
	size_t n = ftoe_flow_key_is_v6(k) ? sizeof(w) : 3 * sizeof(w[0]);

	return (uint32_t)ftoe_siphash(t->key, w, n, 1, 3) & (t->nbuckets - 1);
}

static int key_eq(const struct ftoe_flow_key *a, const struct ftoe_flow_key *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr && a->lport == b->lport &&
	       a->rport == b->rport && !memcmp(a->lhi, b->lhi, sizeof(a->lhi)) &&
	       !memcmp(a->rhi, b->rhi, sizeof(a->rhi));
}

int ftoe_tt_lookup(const struct ftoe_tuple_tab *t, const struct ftoe_flow_key *key,
		   uint32_t *idx)
{
	if (!t->cap)
		return -ENOENT;
	for (uint32_t i = t->bucket[bucket_of(t, key)]; i != FTOE_TT_NONE; i = t->node[i].hnext)
		if (key_eq(&t->node[i].key, key)) {
			*idx = i;
			return 0;
		}
	return -ENOENT;
}

static void age_unlink(struct ftoe_tuple_tab *t, uint32_t i)
{
	struct ftoe_tt_node *n = &t->node[i];

	if (n->older != FTOE_TT_NONE)
		t->node[n->older].younger = n->younger;
	else
		t->oldest = n->younger;
	if (n->younger != FTOE_TT_NONE)
		t->node[n->younger].older = n->older;
	else
		t->youngest = n->older;
}

static void age_append(struct ftoe_tuple_tab *t, uint32_t i)
{
	struct ftoe_tt_node *n = &t->node[i];

	n->older = t->youngest;
	n->younger = FTOE_TT_NONE;
	if (t->youngest != FTOE_TT_NONE)
		t->node[t->youngest].younger = i;
	else
		t->oldest = i;
	t->youngest = i;
}

int ftoe_tt_insert(struct ftoe_tuple_tab *t, const struct ftoe_flow_key *key, uint32_t *idx)
{
	uint32_t b, i;

	if (!ftoe_tt_lookup(t, key, idx))
		return -EEXIST;
	if (t->free_head == FTOE_TT_NONE || !t->cap)
		return -ENOSPC;
	i = t->free_head;
	t->free_head = t->node[i].hnext;
	b = bucket_of(t, key);
	t->node[i].key = *key;
	t->node[i].hnext = t->bucket[b];
	t->bucket[b] = i;
	age_append(t, i);
	memset(ftoe_tt_rec(t, i), 0, t->rec_size);
	t->count++;
	*idx = i;
	return 0;
}

void ftoe_tt_remove(struct ftoe_tuple_tab *t, uint32_t idx)
{
	uint32_t *p = &t->bucket[bucket_of(t, &t->node[idx].key)];

	while (*p != FTOE_TT_NONE && *p != idx)
		p = &t->node[*p].hnext;
	if (*p != idx)
		return; /* not in use */
	*p = t->node[idx].hnext;
	age_unlink(t, idx);
	t->node[idx].hnext = t->free_head;
	t->free_head = idx;
	t->count--;
}

void ftoe_tt_touch(struct ftoe_tuple_tab *t, uint32_t idx)
{
	if (t->youngest == idx)
		return;
	age_unlink(t, idx);
	age_append(t, idx);
}
