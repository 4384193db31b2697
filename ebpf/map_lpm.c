/* map_lpm.c - BPF_MAP_TYPE_LPM_TRIE: longest-prefix-match trie with the kernel's semantics. */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

/*
 * The same binary path-compressed trie as the kernel's lpm_trie.c, so
 * lookups, updates, deletes and get_next_key (post-order: more specific
 * prefixes first) give the same answers in the same order.  Keys are
 * struct bpf_lpm_trie_key_u8 { u32 prefixlen; u8 data[]; }, data in network
 * order.  A node whose prefix exists only to split two subtrees is
 * "intermediate" and holds no value.
 *
 * Concurrency: writers serialise on one spinlock (as the kernel's).  Nodes
 * are never freed while the map lives (value pointers handed to programs
 * stay valid memory) but are recycled, oldest freed first; instead of RCU
 * a sequence counter makes a program-side lookup that overlapped a change
 * walk again, and the walk is bounded so a recycled node cannot trap it.
 */

#define LPM_DATA_SIZE_MIN	1
#define LPM_DATA_SIZE_MAX	256
#define LPM_KEY_HDR		4	/* u32 prefixlen */
/* kernel: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node) */
#define LPM_VAL_SIZE_MAX	((4u << 20) - LPM_DATA_SIZE_MAX - 40)
#define LPM_CREATE_FLAGS	(BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_RDONLY | \
				 BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)
#define LPM_NODE_IM		1u	/* intermediate node */
#define LPM_CHUNK		64	/* nodes allocated at a time */

struct lpm_node {
	_Atomic(struct lpm_node *) child[2];
	_Atomic uint32_t prefixlen;
	_Atomic uint32_t flags;
	struct lpm_node *free_next;
	uint8_t data[] __attribute__((aligned(8)));	/* data_size, then the value */
};

struct lpm_chunk {
	struct lpm_chunk *next;
	char mem[] __attribute__((aligned(16)));
};

struct lpm_trie {
	pthread_spinlock_t lock;
	atomic_uint seq;			/* odd while a writer changes the trie */
	_Atomic(struct lpm_node *) root;
	size_t n_entries;
	uint32_t max_prefixlen, data_size, value_off;
	size_t node_size;
	struct lpm_node *free_head, *free_tail;	/* FIFO: delays reuse */
	struct lpm_chunk *chunks;
};

static struct lpm_trie *trie_of(const struct ebpf_map *map)
{
	return map->priv;
}

static inline uint32_t key_prefixlen(const void *key)
{
	uint32_t pl;

	memcpy(&pl, key, sizeof(pl));
	return pl;
}

static inline const uint8_t *key_data(const void *key)
{
	return (const uint8_t *)key + LPM_KEY_HDR;
}

static inline int extract_bit(const uint8_t *data, uint32_t index)
{
	return (data[index / 8] >> (7 - index % 8)) & 1;
}

/* Number of leading bits node and key share, capped at both prefixes.
 * Compared in 8-, 4-, 2- and 1-byte pieces (as the kernel's
 * __longest_prefix_match); size is a constant in the specialised walks. */
static inline __attribute__((always_inline)) uint32_t
lpm_match_n(const struct lpm_node *node, uint32_t node_pl, const uint8_t *kd, uint32_t key_pl,
	    uint32_t size)
{
	uint32_t limit = node_pl < key_pl ? node_pl : key_pl;
	uint32_t i = 0, m;

	for (; i + 8 <= size; i += 8) {
		uint64_t a, b, x;

		if (i * 8 >= limit)
			return limit;
		memcpy(&a, node->data + i, 8);
		memcpy(&b, kd + i, 8);
		x = be64toh(a ^ b);
		if (x) {
			m = i * 8 + (uint32_t)__builtin_clzll(x);
			return m < limit ? m : limit;
		}
	}
	if (i + 4 <= size) {
		uint32_t a, b, x;

		if (i * 8 >= limit)
			return limit;
		memcpy(&a, node->data + i, 4);
		memcpy(&b, kd + i, 4);
		x = be32toh(a ^ b);
		if (x) {
			m = i * 8 + (uint32_t)__builtin_clz(x);
			return m < limit ? m : limit;
		}
		i += 4;
	}
	if (i + 2 <= size) {
		uint16_t a, b;
		uint32_t x;

		if (i * 8 >= limit)
			return limit;
		memcpy(&a, node->data + i, 2);
		memcpy(&b, kd + i, 2);
		x = be16toh((uint16_t)(a ^ b));
		if (x) {
			m = i * 8 + (uint32_t)__builtin_clz(x) - 16;
			return m < limit ? m : limit;
		}
		i += 2;
	}
	if (i < size) {
		uint32_t x;

		if (i * 8 >= limit)
			return limit;
		x = (uint32_t)(node->data[i] ^ kd[i]);
		if (x) {
			m = i * 8 + (uint32_t)__builtin_clz(x) - 24;
			return m < limit ? m : limit;
		}
	}
	return limit;
}

static uint32_t longest_prefix_match(const struct lpm_trie *t, const struct lpm_node *node,
				     uint32_t node_pl, const uint8_t *kd, uint32_t key_pl)
{
	return lpm_match_n(node, node_pl, kd, key_pl, t->data_size);
}

static inline uint32_t npl(const struct lpm_node *n)
{
	return atomic_load_explicit(&n->prefixlen, memory_order_relaxed);
}

static inline bool is_im(const struct lpm_node *n)
{
	return atomic_load_explicit(&n->flags, memory_order_relaxed) & LPM_NODE_IM;
}

static inline struct lpm_node *child(const struct lpm_node *n, int i)
{
	return atomic_load_explicit(&((struct lpm_node *)n)->child[i], memory_order_acquire);
}

static inline void set_slot(_Atomic(struct lpm_node *) *slot, struct lpm_node *n)
{
	atomic_store_explicit(slot, n, memory_order_release);
}

/* ---- node memory (under the lock) ------------------------------------------ */

static struct lpm_node *node_alloc(struct lpm_trie *t)
{
	struct lpm_node *n = t->free_head;

	if (!n) {
		struct lpm_chunk *c = malloc(sizeof(*c) + t->node_size * LPM_CHUNK);

		if (!c)
			return NULL;
		c->next = t->chunks;
		t->chunks = c;
		for (size_t i = 0; i < LPM_CHUNK; i++) {
			struct lpm_node *m = (struct lpm_node *)(c->mem + t->node_size * i);

			m->free_next = NULL;
			if (t->free_tail)
				t->free_tail->free_next = m;
			else
				t->free_head = m;
			t->free_tail = m;
		}
		n = t->free_head;
	}
	t->free_head = n->free_next;
	if (!t->free_head)
		t->free_tail = NULL;
	atomic_store_explicit(&n->child[0], NULL, memory_order_relaxed);
	atomic_store_explicit(&n->child[1], NULL, memory_order_relaxed);
	atomic_store_explicit(&n->flags, 0, memory_order_relaxed);
	return n;
}

static void node_free(struct lpm_trie *t, struct lpm_node *n)
{
	n->free_next = NULL;
	if (t->free_tail)
		t->free_tail->free_next = n;
	else
		t->free_head = n;
	t->free_tail = n;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Writers bracket every change that readers can observe. */
static void write_begin(struct lpm_trie *t)
{
	atomic_fetch_add_explicit(&t->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct lpm_trie *t)
{
	atomic_fetch_add_explicit(&t->seq, 1, memory_order_release);
}

/* ---- lookup ------------------------------------------------------------------ */

/* kernel trie_lookup_elem(): the last non-intermediate node on the path
 * whose whole prefix matches the key.  size is t->data_size. */
static inline __attribute__((always_inline)) struct lpm_node *
trie_walk_n(struct lpm_trie *t, const void *key, uint32_t size)
{
	uint32_t key_pl = key_prefixlen(key), steps = 0, max_pl = size * 8;
	const uint8_t *kd = key_data(key);
	struct lpm_node *node = atomic_load_explicit(&t->root, memory_order_acquire);
	struct lpm_node *found = NULL;

	while (node && steps++ <= max_pl) {
		uint32_t pl = npl(node), m;

		if (pl > max_pl)
			break;		/* a recycled node seen mid-change */
		m = lpm_match_n(node, pl, kd, key_pl, size);
		if (m == max_pl) {
			found = node;
			break;
		}
		if (m < pl)
			break;
		if (!is_im(node))
			found = node;
		node = child(node, extract_bit(kd, pl));
	}
	return found;
}

static struct lpm_node *trie_walk(struct lpm_trie *t, const void *key)
{
	return trie_walk_n(t, key, t->data_size);
}

/* IPv4 keys (data_size 4), the common case: the key's address is turned
 * into host order once and each node costs one xor and one clz. */
static struct lpm_node *trie_walk_d4(struct lpm_trie *t, const void *key)
{
	uint32_t key_pl = key_prefixlen(key), steps = 0, kh;
	struct lpm_node *node = atomic_load_explicit(&t->root, memory_order_acquire);
	struct lpm_node *found = NULL;

	memcpy(&kh, key_data(key), 4);
	kh = be32toh(kh);
	while (node && steps++ <= 32) {
		uint32_t pl = npl(node), nd, x, m;

		if (pl > 32)
			break;		/* a recycled node seen mid-change */
		memcpy(&nd, node->data, 4);
		x = be32toh(nd) ^ kh;
		m = x ? (uint32_t)__builtin_clz(x) : 32;
		if (m > pl)
			m = pl;
		if (m > key_pl)
			m = key_pl;
		if (m == 32) {
			found = node;
			break;
		}
		if (m < pl)
			break;
		if (!is_im(node))
			found = node;
		node = child(node, (int)(kh >> (31 - pl)) & 1);	/* pl < 32 here */
	}
	return found;
}

/* Program side: walk again when a writer changed the trie meanwhile. */
static inline __attribute__((always_inline)) void *
trie_lookup_n(struct lpm_trie *t, const void *key, uint32_t size)
{
	struct lpm_node *found;
	unsigned int s;

	if (key_prefixlen(key) > size * 8)
		return NULL;
	for (;;) {
		s = atomic_load_explicit(&t->seq, memory_order_acquire);
		if (s & 1) {
			cpu_relax();
			continue;
		}
		found = size == 4 ? trie_walk_d4(t, key) : trie_walk_n(t, key, size);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&t->seq, memory_order_relaxed) == s)
			break;
	}
	return found ? found->data + t->value_off : NULL;
}

static void *trie_lookup(struct ebpf_map *map, const void *key)
{
	struct lpm_trie *t = trie_of(map);

	return trie_lookup_n(t, key, t->data_size);
}

/* Direct calls for the JIT (the kernel calls trie_lookup_elem directly
 * from the program), specialised for IPv4 and IPv6 keys. */
static void *trie_lookup_d4(void *t, const void *key) { return trie_lookup_n(t, key, 4); }
static void *trie_lookup_d16(void *t, const void *key) { return trie_lookup_n(t, key, 16); }

static void *trie_lookup_any(void *arg, const void *key)
{
	struct lpm_trie *t = arg;

	return trie_lookup_n(t, key, t->data_size);
}

static int trie_gen_lookup(struct ebpf_map *map, struct ebpf_map_gen_lookup *gen)
{
	struct lpm_trie *t = trie_of(map);

	memset(gen, 0, sizeof(*gen));
	gen->kind = EBPF_GEN_CALL;
	gen->call = t->data_size == 4 ? trie_lookup_d4 :
		    t->data_size == 16 ? trie_lookup_d16 : trie_lookup_any;
	gen->arg = t;
	return 0;
}

static int trie_sys_lookup(struct ebpf_map *map, const void *key, void *value)
{
	struct lpm_trie *t = trie_of(map);
	struct lpm_node *found;

	if (key_prefixlen(key) > t->max_prefixlen)
		return -ENOENT;
	pthread_spin_lock(&t->lock);
	found = trie_walk(t, key);
	if (found)
		memcpy(value, found->data + t->value_off, map->value_size);
	pthread_spin_unlock(&t->lock);
	return found ? 0 : -ENOENT;
}

/* ---- update ------------------------------------------------------------------- */

/* A new prefix counts against max_entries (kernel trie_check_add_elem). */
static int check_add(struct lpm_trie *t, struct ebpf_map *map, uint64_t flags)
{
	if (flags == BPF_EXIST)
		return -ENOENT;
	if (t->n_entries == map->max_entries)
		return -ENOSPC;
	t->n_entries++;
	return 0;
}

static long trie_update(struct ebpf_map *map, const void *key, const void *value,
			uint64_t flags)
{
	struct lpm_trie *t = trie_of(map);
	uint32_t key_pl = key_prefixlen(key), m = 0;
	const uint8_t *kd = key_data(key);
	struct lpm_node *node, *new_node, *im;
	_Atomic(struct lpm_node *) *slot;
	int ret = 0;

	if (flags > BPF_EXIST)
		return -EINVAL;
	if (key_pl > t->max_prefixlen)
		return -EINVAL;

	pthread_spin_lock(&t->lock);
	new_node = node_alloc(t);
	if (!new_node) {
		ret = -ENOMEM;
		goto out;
	}
	atomic_store_explicit(&new_node->prefixlen, key_pl, memory_order_relaxed);
	memcpy(new_node->data, kd, t->data_size);
	memcpy(new_node->data + t->value_off, value, map->value_size);

	/* Walk down while node's whole prefix matches and is shorter. */
	slot = &t->root;
	while ((node = atomic_load_explicit(slot, memory_order_relaxed))) {
		m = longest_prefix_match(t, node, npl(node), kd, key_pl);
		if (npl(node) != m || npl(node) == key_pl || npl(node) == t->max_prefixlen)
			break;
		slot = &node->child[extract_bit(kd, npl(node))];
	}

	if (!node) {
		ret = check_add(t, map, flags);
		if (ret)
			goto out;
		write_begin(t);
		set_slot(slot, new_node);
		write_end(t);
		new_node = NULL;
		goto out;
	}

	if (npl(node) == m) {
		/* Same prefix: replace the node, keep its subtrees. */
		if (!is_im(node)) {
			if (flags == BPF_NOEXIST) {
				ret = -EEXIST;
				goto out;
			}
		} else {
			ret = check_add(t, map, flags);
			if (ret)
				goto out;
		}
		atomic_store_explicit(&new_node->child[0], child(node, 0), memory_order_relaxed);
		atomic_store_explicit(&new_node->child[1], child(node, 1), memory_order_relaxed);
		write_begin(t);
		set_slot(slot, new_node);
		write_end(t);
		node_free(t, node);
		new_node = NULL;
		goto out;
	}

	ret = check_add(t, map, flags);
	if (ret)
		goto out;

	if (m == key_pl) {
		/* The new prefix covers node: it becomes node's parent. */
		atomic_store_explicit(&new_node->child[extract_bit(node->data, m)], node,
				      memory_order_relaxed);
		write_begin(t);
		set_slot(slot, new_node);
		write_end(t);
		new_node = NULL;
		goto out;
	}

	/* They diverge at bit m: an intermediate node splits them. */
	im = node_alloc(t);
	if (!im) {
		t->n_entries--;
		ret = -ENOMEM;
		goto out;
	}
	atomic_store_explicit(&im->prefixlen, m, memory_order_relaxed);
	atomic_store_explicit(&im->flags, LPM_NODE_IM, memory_order_relaxed);
	memcpy(im->data, node->data, t->data_size);
	if (extract_bit(kd, m)) {
		atomic_store_explicit(&im->child[0], node, memory_order_relaxed);
		atomic_store_explicit(&im->child[1], new_node, memory_order_relaxed);
	} else {
		atomic_store_explicit(&im->child[0], new_node, memory_order_relaxed);
		atomic_store_explicit(&im->child[1], node, memory_order_relaxed);
	}
	write_begin(t);
	set_slot(slot, im);
	write_end(t);
	new_node = NULL;
out:
	if (new_node)
		node_free(t, new_node);
	pthread_spin_unlock(&t->lock);
	return ret;
}

static int trie_sys_update(struct ebpf_map *map, const void *key, const void *value,
			   uint64_t flags)
{
	return (int)trie_update(map, key, value, flags);
}

/* ---- delete --------------------------------------------------------------------- */

/* kernel trie_delete_elem(): exact prefix only; keeps every intermediate
 * node with exactly two children. */
static long trie_remove(struct ebpf_map *map, const void *key)
{
	struct lpm_trie *t = trie_of(map);
	uint32_t key_pl = key_prefixlen(key), m = 0;
	const uint8_t *kd = key_data(key);
	_Atomic(struct lpm_node *) *trim, *trim2;
	struct lpm_node *node, *parent = NULL, *c0, *c1;
	int ret = 0;

	if (key_pl > t->max_prefixlen)
		return -EINVAL;

	pthread_spin_lock(&t->lock);
	trim = trim2 = &t->root;
	while ((node = atomic_load_explicit(trim, memory_order_relaxed))) {
		m = longest_prefix_match(t, node, npl(node), kd, key_pl);
		if (npl(node) != m || npl(node) == key_pl)
			break;
		parent = node;
		trim2 = trim;
		trim = &node->child[extract_bit(kd, npl(node))];
	}
	if (!node || npl(node) != key_pl || npl(node) != m || is_im(node)) {
		ret = -ENOENT;
		goto out;
	}
	t->n_entries--;
	c0 = child(node, 0);
	c1 = child(node, 1);

	write_begin(t);
	if (c0 && c1) {
		/* Still needed to split its subtrees. */
		atomic_store_explicit(&node->flags, LPM_NODE_IM, memory_order_relaxed);
	} else if (parent && is_im(parent) && !c0 && !c1) {
		/* A leaf under an intermediate: the sibling replaces both. */
		set_slot(trim2, child(parent, child(parent, 0) == node ? 1 : 0));
		node_free(t, parent);
		node_free(t, node);
	} else {
		set_slot(trim, c0 ? c0 : c1);
		node_free(t, node);
	}
	write_end(t);
out:
	pthread_spin_unlock(&t->lock);
	return ret;
}

/* ---- iteration ----------------------------------------------------------------- */

static void copy_key(struct lpm_trie *t, const struct lpm_node *n, void *next_key)
{
	uint32_t pl = npl(n);

	memcpy(next_key, &pl, sizeof(pl));
	memcpy((uint8_t *)next_key + LPM_KEY_HDR, n->data, t->data_size);
}

/* Leftmost non-intermediate node in post-order under root; intermediate
 * nodes always have two children, so there is one. */
static struct lpm_node *leftmost(struct lpm_node *root)
{
	struct lpm_node *node = root, *next = NULL;

	while (node) {
		if (is_im(node)) {
			node = child(node, 0);
		} else {
			next = node;
			node = child(next, 0);
			if (!node)
				node = child(next, 1);
		}
	}
	return next;
}

/* kernel trie_get_next_key(): post-order, so /24s come before the /16
 * that contains them; a missing or invalid key restarts at the first. */
static int trie_get_next_key(struct ebpf_map *map, const void *key, void *next_key)
{
	struct lpm_trie *t = trie_of(map);
	struct lpm_node **stack = NULL, *node, *root, *next = NULL;
	uint32_t key_pl, m = 0;
	const uint8_t *kd;
	int sp = -1, ret = 0;

	pthread_spin_lock(&t->lock);
	root = atomic_load_explicit(&t->root, memory_order_relaxed);
	if (!root) {
		ret = -ENOENT;
		goto out;
	}
	if (!key || key_prefixlen(key) > t->max_prefixlen)
		goto find_leftmost;
	stack = malloc(sizeof(*stack) * (t->max_prefixlen + 1));
	if (!stack) {
		ret = -ENOMEM;
		goto out;
	}
	key_pl = key_prefixlen(key);
	kd = key_data(key);
	for (node = root; node;) {
		stack[++sp] = node;
		m = longest_prefix_match(t, node, npl(node), kd, key_pl);
		if (npl(node) != m || npl(node) == key_pl)
			break;
		node = child(node, extract_bit(kd, npl(node)));
	}
	if (!node || npl(node) != m || is_im(node))
		goto find_leftmost;

	/* Found: the next node in post-order is the leftmost of the right
	 * sibling subtree, else the first real ancestor. */
	node = stack[sp];
	while (sp > 0) {
		struct lpm_node *parent = stack[sp - 1];

		if (child(parent, 0) == node && child(parent, 1)) {
			root = child(parent, 1);
			goto find_leftmost;
		}
		if (!is_im(parent)) {
			next = parent;
			goto copy;
		}
		node = parent;
		sp--;
	}
	ret = -ENOENT;
	goto out;
find_leftmost:
	next = leftmost(root);
copy:
	copy_key(t, next, next_key);
out:
	pthread_spin_unlock(&t->lock);
	free(stack);
	return ret;
}

/* ---- creation ------------------------------------------------------------------- */

static int trie_alloc(struct ebpf_map *map)
{
	const char *n = map->name;
	struct lpm_trie *t;

	/* kernel trie_alloc(): one -EINVAL for all of these */
	if (!map->max_entries) {
		pr_warn("map '%s': max_entries must not be 0", n);
		return -EINVAL;
	}
	if (!(map->map_flags & BPF_F_NO_PREALLOC)) {
		pr_warn("map '%s': LPM tries must be created with BPF_F_NO_PREALLOC", n);
		return -EINVAL;
	}
	if (map->map_flags & ~LPM_CREATE_FLAGS) {
		pr_warn("map '%s': map_flags 0x%x not valid for an LPM trie", n,
			map->map_flags & ~LPM_CREATE_FLAGS);
		return -EINVAL;
	}
	if ((map->map_flags & BPF_F_RDONLY_PROG) && (map->map_flags & BPF_F_WRONLY_PROG)) {
		pr_warn("map '%s': BPF_F_RDONLY_PROG and BPF_F_WRONLY_PROG exclude each other", n);
		return -EINVAL;
	}
	if (map->key_size < LPM_KEY_HDR + LPM_DATA_SIZE_MIN ||
	    map->key_size > LPM_KEY_HDR + LPM_DATA_SIZE_MAX) {
		pr_warn("map '%s': LPM key_size %u must be 4 (prefixlen) + 1..256 data bytes", n,
			map->key_size);
		return -EINVAL;
	}
	if (map->value_size < 1 || map->value_size > LPM_VAL_SIZE_MAX) {
		pr_warn("map '%s': LPM value_size %u out of range 1..%u", n, map->value_size,
			LPM_VAL_SIZE_MAX);
		return -EINVAL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	pthread_spin_init(&t->lock, PTHREAD_PROCESS_PRIVATE);
	t->data_size = map->key_size - LPM_KEY_HDR;
	t->max_prefixlen = t->data_size * 8;
	t->value_off = (t->data_size + 7) & ~7u;
	t->node_size = (sizeof(struct lpm_node) + t->value_off + map->value_size + 15) & ~(size_t)15;
	map->priv = t;
	return 0;
}

static void trie_free(struct ebpf_map *map)
{
	struct lpm_trie *t = trie_of(map);

	while (t->chunks) {
		struct lpm_chunk *c = t->chunks;

		t->chunks = c->next;
		free(c);
	}
	pthread_spin_destroy(&t->lock);
	free(t);
}

const struct ebpf_map_ops ebpf_lpm_trie_map_ops = {
	.alloc = trie_alloc,
	.free = trie_free,
	.lookup = trie_lookup,
	.gen_lookup = trie_gen_lookup,
	.update = trie_update,
	.remove = trie_remove,
	.sys_lookup = trie_sys_lookup,
	.sys_update = trie_sys_update,
	.get_next_key = trie_get_next_key,
};
