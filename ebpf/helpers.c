/* helpers.c - the XDP helper table and the helpers themselves. */
#include <ctype.h>
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ebpf/internal.h"
#include "lib/util/log.h"

/* ---- constants of the kernel's rules -------------------------------------- */

#define ETH_HLEN_		14	/* an XDP frame never shrinks below it */
/* sizeof(struct xdp_frame) on x86-64: the kernel converts an xdp_buff to
 * an xdp_frame in place at data_hard_start, so adjust_head/adjust_meta may
 * not move data (or metadata) into those bytes (net/core/filter.c). */
#define XDP_FRAME_SZ_		40
/* Metadata size: a multiple of 4, at most what skb_shared_info.meta_len
 * (a u8) can hold (include/net/xdp.h xdp_metalen_invalid()). */
#define XDP_META_MAX_		255
/* The kernel's internal ENOTSUPP, returned by bpf_xdp_adjust_meta when
 * the driver has no metadata support. */
#define ENOTSUPP_		524
/* bpf_trace_printk: 3 arguments, formatted into a bounded buffer. */
#define TRACE_MAX_ARGS		3
#define TRACE_BUF_SZ		1024

#define PTR(x)	((void *)(uintptr_t)(x))
#define U64(x)	((uint64_t)(uintptr_t)(x))
#define NEG(e)	((uint64_t)(int64_t)-(e))

/* ---- maps ----------------------------------------------------------------- */

static uint64_t h_map_lookup_elem(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	struct ebpf_map *map = PTR(r1);

	(void)r3; (void)r4; (void)r5;
	if (!map->ops->lookup)
		return 0;
	return U64(map->ops->lookup(map, PTR(r2)));
}

static uint64_t h_map_update_elem(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	struct ebpf_map *map = PTR(r1);

	(void)r5;
	if (!map->ops->update)
		return NEG(EINVAL);
	return (uint64_t)map->ops->update(map, PTR(r2), PTR(r3), r4);
}

static uint64_t h_map_delete_elem(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	struct ebpf_map *map = PTR(r1);

	(void)r3; (void)r4; (void)r5;
	if (!map->ops->remove)
		return NEG(EINVAL);
	return (uint64_t)map->ops->remove(map, PTR(r2));
}

/* ---- time, randomness, CPU -------------------------------------------------- */

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t h_ktime_get_ns(uint64_t r1, uint64_t r2, uint64_t r3,
			       uint64_t r4, uint64_t r5)
{
	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t h_ktime_get_boot_ns(uint64_t r1, uint64_t r2, uint64_t r3,
				    uint64_t r4, uint64_t r5)
{
	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	return clock_ns(CLOCK_BOOTTIME);
}

/* The kernel's coarse clock is its jiffy-resolution monotonic clock;
 * CLOCK_MONOTONIC_COARSE is the same clock from user space. */
static uint64_t h_ktime_get_coarse_ns(uint64_t r1, uint64_t r2, uint64_t r3,
				      uint64_t r4, uint64_t r5)
{
	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	return clock_ns(CLOCK_MONOTONIC_COARSE);
}

/* struct bpf_spin_lock is a u32 in a map value.  The verifier allows one
 * lock held at a time, no calls while held and an unlock on every path,
 * so a test-and-set lock suffices; a waiter yields after a while because
 * the holder is a thread that may be preempted, not a CPU with
 * interrupts off. */
static uint64_t h_spin_lock(uint64_t r1, uint64_t r2, uint64_t r3,
			    uint64_t r4, uint64_t r5)
{
	uint32_t *lock = PTR(r1);
	unsigned int spins = 0;

	(void)r2; (void)r3; (void)r4; (void)r5;
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(lock, __ATOMIC_RELAXED)) {
			if (++spins % 1024 == 0)
				sched_yield();
			else
				__builtin_ia32_pause();
		}
	}
	return 0;
}

static uint64_t h_spin_unlock(uint64_t r1, uint64_t r2, uint64_t r3,
			      uint64_t r4, uint64_t r5)
{
	(void)r2; (void)r3; (void)r4; (void)r5;
	__atomic_store_n((uint32_t *)PTR(r1), 0, __ATOMIC_RELEASE);
	return 0;
}

static __thread uint64_t prandom_state;

/* xorshift64*: fast, per thread, no locking; like the kernel's per-CPU
 * prandom state it is not meant to be cryptographically strong. */
static uint64_t h_get_prandom_u32(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	uint64_t x = prandom_state;

	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	if (!x)
		x = clock_ns(CLOCK_MONOTONIC) ^ U64(&prandom_state) ^
		    0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	prandom_state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

static uint64_t h_get_smp_processor_id(uint64_t r1, uint64_t r2, uint64_t r3,
				       uint64_t r4, uint64_t r5)
{
	(void)r1; (void)r2; (void)r3; (void)r4; (void)r5;
	return ebpf_cpu();
}

/* ---- bpf_trace_printk --------------------------------------------------------- */

static void trace_default_sink(const char *line)
{
	pr_debug("trace_printk: %s", line);
}

static _Atomic(void (*)(const char *)) trace_sink = trace_default_sink;

void ebpf_set_trace_sink(void (*fn)(const char *line))
{
	atomic_store(&trace_sink, fn ? fn : trace_default_sink);
}

/* Copy a NUL-terminated string from an address the program supplied.
 * The verifier does not check %s arguments, so, as the kernel reads them
 * with strncpy_from_kernel_nofault(), read through process_vm_readv():
 * a bad address gives an empty string instead of a crash. */
static void read_str_nofault(uint64_t addr, char *out, size_t size)
{
	size_t got = 0;

	out[0] = '\0';
	while (got + 1 < size) {
		/* Never cross a page boundary in one read: the next page may
		 * be unmapped even when the string ends before it. */
		size_t page_left = 4096 - ((addr + got) & 4095);
		size_t n = size - 1 - got < page_left ? size - 1 - got : page_left;
		struct iovec local = { out + got, n };
		struct iovec remote = { PTR(addr + got), n };
		ssize_t r;

		r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (r <= 0)
			break;
		if (memchr(out + got, '\0', (size_t)r))
			return;
		got += (size_t)r;
	}
	out[got] = '\0';
}

/* Format as the kernel's bpf_bprintf_prepare() + bstr_printf() would for
 * the conversions the kernel accepts: %d %i %u %x %X %o %c %s %p (and %%),
 * with l/ll and flags/width/precision digits.  -EINVAL for anything else,
 * for more than 3 arguments, or for non-printable format characters. */
static int trace_format(const char *fmt, size_t fmt_len, const uint64_t *args,
			char *out, size_t out_size)
{
	size_t pos = 0, i;
	int nargs = 0;

	out[0] = '\0';
	for (i = 0; i < fmt_len; i++) {
		char spec[32], str[256];
		size_t s = 0, room = pos < out_size ? out_size - pos : 0;
		int lmod = 0, n = 0;
		uint64_t a;

		if (fmt[i] != '%') {
			if (!isprint((unsigned char)fmt[i]) &&
			    !isspace((unsigned char)fmt[i]))
				return -EINVAL;
			if (room > 1)
				out[pos] = fmt[i], out[pos + 1] = '\0';
			pos++;
			continue;
		}
		if (i + 1 < fmt_len && fmt[i + 1] == '%') {
			if (room > 1)
				out[pos] = '%', out[pos + 1] = '\0';
			pos++;
			i++;
			continue;
		}
		if (nargs >= TRACE_MAX_ARGS)
			return -EINVAL;
		spec[s++] = '%';
		i++;
		while (i < fmt_len && strchr("-+ #0", fmt[i]) && s < 8)
			spec[s++] = fmt[i++];
		while (i < fmt_len && isdigit((unsigned char)fmt[i]) && s < 16)
			spec[s++] = fmt[i++];
		if (i < fmt_len && fmt[i] == '.') {
			spec[s++] = fmt[i++];
			while (i < fmt_len && isdigit((unsigned char)fmt[i]) && s < 24)
				spec[s++] = fmt[i++];
		}
		while (i < fmt_len && fmt[i] == 'l' && lmod < 2) {
			lmod++;
			i++;
		}
		if (i >= fmt_len)
			return -EINVAL;
		a = args[nargs++];
		switch (fmt[i]) {
		case 'd': case 'i':
			memcpy(spec + s, "lld", 4);
			n = snprintf(out + pos, room, spec,
				     lmod ? (long long)a : (long long)(int32_t)a);
			break;
		case 'u': case 'x': case 'X': case 'o':
			memcpy(spec + s, "ll", 2);
			spec[s + 2] = fmt[i];
			spec[s + 3] = '\0';
			n = snprintf(out + pos, room, spec,
				     lmod ? (unsigned long long)a :
					    (unsigned long long)(uint32_t)a);
			break;
		case 'c':
			if (lmod)
				return -EINVAL;
			memcpy(spec + s, "c", 2);
			n = snprintf(out + pos, room, spec, (int)(uint8_t)a);
			break;
		case 's':
			if (lmod)
				return -EINVAL;
			read_str_nofault(a, str, sizeof(str));
			memcpy(spec + s, "s", 2);
			n = snprintf(out + pos, room, spec, str);
			break;
		case 'p':
			if (lmod)
				return -EINVAL;
			/* %pK, %px, ... variants: print the raw value. */
			if (i + 1 < fmt_len && isalnum((unsigned char)fmt[i + 1]) &&
			    strchr("Kx", fmt[i + 1]))
				i++;
			else if (i + 1 < fmt_len && isalnum((unsigned char)fmt[i + 1]))
				return -EINVAL;
			n = snprintf(out + pos, room, "0x%llx", (unsigned long long)a);
			break;
		default:
			return -EINVAL;
		}
		if (n > 0)
			pos += (size_t)n;
	}
	return (int)pos;
}

/* long bpf_trace_printk(const char *fmt, u32 fmt_size, ...): the format
 * must be NUL-terminated within fmt_size; returns the formatted length. */
static uint64_t h_trace_printk(uint64_t r1, uint64_t r2, uint64_t r3,
			       uint64_t r4, uint64_t r5)
{
	const char *fmt = PTR(r1);
	uint64_t args[TRACE_MAX_ARGS] = { r3, r4, r5 };
	char line[TRACE_BUF_SZ];
	const char *end;
	size_t len;
	int n;

	if (!fmt || !r2)
		return NEG(EINVAL);
	end = memchr(fmt, '\0', (size_t)(uint32_t)r2);
	if (!end)
		return NEG(EINVAL);
	n = trace_format(fmt, (size_t)(end - fmt), args, line, sizeof(line));
	if (n < 0)
		return (uint64_t)(int64_t)n;
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	atomic_load(&trace_sink)(line);
	return (uint64_t)n;
}

/* ---- redirects (state kept per thread, as the kernel's per-CPU
 * bpf_redirect_info) ---------------------------------------------------------- */

static uint64_t h_redirect(uint64_t r1, uint64_t r2, uint64_t r3,
			   uint64_t r4, uint64_t r5)
{
	struct ebpf_xdp_buff *xdp = ebpf_run_ctx.xdp;

	(void)r3; (void)r4; (void)r5;
	/* net/core/filter.c bpf_xdp_redirect: no flags are defined for XDP. */
	if (r2)
		return XDP_ABORTED;
	if (xdp) {
		xdp->redirect_ifindex = (uint32_t)r1;
		xdp->redirect_flags = r2;
		xdp->redirect_map = NULL;
		xdp->redirect_key = 0;
		xdp->redirect_value = NULL;
	}
	return XDP_REDIRECT;
}

static uint64_t h_redirect_map(uint64_t r1, uint64_t r2, uint64_t r3,
			       uint64_t r4, uint64_t r5)
{
	/* The low bits of flags are the action on a failed lookup; devmaps
	 * also accept BPF_F_BROADCAST / BPF_F_EXCLUDE_INGRESS
	 * (__bpf_xdp_redirect_map). */
	const uint64_t action_mask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
	struct ebpf_xdp_buff *xdp = ebpf_run_ctx.xdp;
	struct ebpf_map *map = PTR(r1);
	uint64_t flags = r3, flag_mask = 0;
	uint32_t key = (uint32_t)r2;
	void *val = NULL;

	(void)r4; (void)r5;
	if (map->type == BPF_MAP_TYPE_DEVMAP || map->type == BPF_MAP_TYPE_DEVMAP_HASH)
		flag_mask = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
	if (flags & ~(action_mask | flag_mask))
		return XDP_ABORTED;
	if (map->ops->lookup)
		val = map->ops->lookup(map, &key);
	if (!val && !(flags & BPF_F_BROADCAST)) {
		if (xdp) {
			xdp->redirect_map = NULL;
			xdp->redirect_ifindex = 0;
			xdp->redirect_value = NULL;
		}
		return flags & action_mask;
	}
	if (xdp) {
		xdp->redirect_map = map;
		xdp->redirect_key = key;
		xdp->redirect_value = val;
		xdp->redirect_flags = flags;
		xdp->redirect_ifindex = 0;
	}
	return XDP_REDIRECT;
}

/* ---- checksum ------------------------------------------------------------------ */

/* 32-bit ones'-complement accumulation of little-endian 16-bit words, a
 * trailing odd byte counting as the low byte, as csum_partial(). */
static uint32_t csum_partial_(const uint8_t *p, uint32_t len, uint32_t seed)
{
	uint64_t sum = seed;
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] | ((uint32_t)p[i + 1] << 8);
	if (len & 1)
		sum += p[len - 1];
	while (sum >> 32)
		sum = (sum & 0xffffffffu) + (sum >> 32);
	return (uint32_t)sum;
}

static uint32_t csum_add_(uint32_t a, uint32_t b)
{
	uint32_t r = a + b;

	return r + (r < b);
}

/* s64 bpf_csum_diff(from, from_size, to, to_size, seed), as the kernel
 * (net/core/filter.c since 6.12): csum(to) - csum(from) + seed, folded to
 * 16 bits so the value is the same on every architecture. */
static uint64_t h_csum_diff(uint64_t r1, uint64_t r2, uint64_t r3,
			    uint64_t r4, uint64_t r5)
{
	const uint8_t *from = PTR(r1), *to = PTR(r3);
	uint32_t from_size = (uint32_t)r2, to_size = (uint32_t)r4;
	uint32_t ret = (uint32_t)r5;

	if (from_size && to_size)
		ret = csum_add_(csum_partial_(to, to_size, ret),
				~csum_partial_(from, from_size, 0));
	else if (to_size)
		ret = csum_partial_(to, to_size, ret);
	else if (from_size)
		ret = ~csum_partial_(from, from_size, ~ret);
	ret = (ret & 0xffff) + (ret >> 16);
	ret = (ret & 0xffff) + (ret >> 16);
	return ret;
}

/* ---- XDP frame geometry (net/core/filter.c) --------------------------------------- */

static inline struct ebpf_xdp_buff *ctx_xdp(uint64_t r1)
{
	return PTR(r1);	/* struct xdp_md is the first member */
}

static inline bool meta_unsupported(const struct ebpf_xdp_buff *x)
{
	return x->md.data_meta > x->md.data;
}

static uint64_t h_xdp_adjust_head(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	struct ebpf_xdp_buff *x = ctx_xdp(r1);
	int32_t off = (int32_t)r2;
	uint64_t frame_end = U64(x->hard_start) + XDP_FRAME_SZ_;
	uint64_t metalen = meta_unsupported(x) ? 0 : x->md.data - x->md.data_meta;
	int64_t data = (int64_t)x->md.data + off;

	(void)r3; (void)r4; (void)r5;
	/* Data (after any metadata) stays above the xdp_frame area and keeps
	 * at least an Ethernet header. */
	if (data < (int64_t)(frame_end + metalen) ||
	    data > (int64_t)x->md.data_end - ETH_HLEN_)
		return NEG(EINVAL);
	if (metalen)
		memmove(PTR((uint64_t)((int64_t)x->md.data_meta + off)),
			PTR(x->md.data_meta), metalen);
	x->md.data_meta = (uint32_t)((int64_t)x->md.data_meta + off);
	x->md.data = (uint32_t)data;
	return 0;
}

static uint64_t h_xdp_adjust_meta(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	struct ebpf_xdp_buff *x = ctx_xdp(r1);
	int64_t meta = (int64_t)x->md.data_meta + (int32_t)r2;
	int64_t frame_end = (int64_t)U64(x->hard_start) + XDP_FRAME_SZ_;
	int64_t metalen = (int64_t)x->md.data - meta;

	(void)r3; (void)r4; (void)r5;
	if (meta_unsupported(x))
		return NEG(ENOTSUPP_);
	if (meta < frame_end || meta > (int64_t)x->md.data)
		return NEG(EINVAL);
	if ((metalen & 3) || metalen > XDP_META_MAX_)
		return NEG(EACCES);
	x->md.data_meta = (uint32_t)meta;
	return 0;
}

static uint64_t h_xdp_adjust_tail(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	struct ebpf_xdp_buff *x = ctx_xdp(r1);
	int32_t off = (int32_t)r2;
	int64_t hard_end = (int64_t)U64(x->hard_start) + x->frame_sz - x->tailroom;
	int64_t end = (int64_t)x->md.data_end + off;

	(void)r3; (void)r4; (void)r5;
	if (end > hard_end || end < (int64_t)x->md.data + ETH_HLEN_)
		return NEG(EINVAL);
	/* Grown bytes are zeroed, as the kernel does (they may hold stale
	 * data of an earlier frame). */
	if (off > 0)
		memset(PTR(x->md.data_end), 0, (size_t)off);
	x->md.data_end = (uint32_t)end;
	return 0;
}

/* bpf_xdp_pointer() for a linear frame: -EFAULT for offsets or lengths
 * beyond 0xffff, -EINVAL outside the frame. */
static int xdp_range(const struct ebpf_xdp_buff *x, uint32_t off, uint32_t len,
		     uint8_t **p)
{
	if (off > 0xffff || len > 0xffff)
		return -EFAULT;
	if ((uint64_t)off + len > ebpf_xdp_len(x))
		return -EINVAL;
	*p = ebpf_xdp_data(x) + off;
	return 0;
}

static uint64_t h_xdp_load_bytes(uint64_t r1, uint64_t r2, uint64_t r3,
				 uint64_t r4, uint64_t r5)
{
	uint8_t *p;
	int err = xdp_range(ctx_xdp(r1), (uint32_t)r2, (uint32_t)r4, &p);

	(void)r5;
	if (err)
		return (uint64_t)(int64_t)err;
	memcpy(PTR(r3), p, (uint32_t)r4);
	return 0;
}

static uint64_t h_xdp_store_bytes(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	uint8_t *p;
	int err = xdp_range(ctx_xdp(r1), (uint32_t)r2, (uint32_t)r4, &p);

	(void)r5;
	if (err)
		return (uint64_t)(int64_t)err;
	memmove(p, PTR(r3), (uint32_t)r4);
	return 0;
}

/* ---- bpf_perf_event_output -------------------------------------------------------- */

/* long bpf_perf_event_output(ctx, map, flags, data, size), as the kernel's
 * XDP form (net/core/filter.c bpf_xdp_event_output): flags other than
 * the index and the ctx length are -EINVAL, a ctx length beyond the
 * frame is -EFAULT; the ctx length's bytes of the frame follow data. */
static uint64_t h_perf_event_output(uint64_t r1, uint64_t r2, uint64_t r3,
				    uint64_t r4, uint64_t r5)
{
	const struct ebpf_xdp_buff *x = ctx_xdp(r1);
	uint64_t ctx_len = (r3 & BPF_F_CTXLEN_MASK) >> 32;

	if (r3 & ~(BPF_F_CTXLEN_MASK | BPF_F_INDEX_MASK))
		return NEG(EINVAL);
	if (ctx_len > ebpf_xdp_len(x))
		return NEG(EFAULT);
	return (uint64_t)ebpf_perf_event_output(PTR(r2), r3, PTR(r4), (uint32_t)r5,
						 ebpf_xdp_data(x), (uint32_t)ctx_len);
}

/* ---- bpf_loop ------------------------------------------------------------------- */

/* long bpf_loop(u32 nr_loops, callback, void *ctx, u64 flags)
 * (kernel/bpf/bpf_iter.c): a callback's non-zero return stops the loop;
 * the result is the number of iterations run. */
static uint64_t h_loop(uint64_t r1, uint64_t r2, uint64_t r3,
		       uint64_t r4, uint64_t r5)
{
	const struct ebpf_callback *cb = PTR(r2);
	uint32_t nr = (uint32_t)r1, i;

	(void)r5;
	if (r4)
		return NEG(EINVAL);
	if (nr > EBPF_MAX_LOOPS)
		return NEG(E2BIG);
	for (i = 0; i < nr; i++) {
		if (cb->invoke(cb, i, r3, 0, 0, 0))
			return (uint64_t)i + 1;
	}
	return i;
}

/* ---- ring buffer (map_ringbuf.c) --------------------------------------------- */

static uint64_t h_ringbuf_output(uint64_t r1, uint64_t r2, uint64_t r3,
				 uint64_t r4, uint64_t r5)
{
	(void)r5;
	return (uint64_t)ebpf_ringbuf_output(PTR(r1), PTR(r2), r3, r4);
}

static uint64_t h_ringbuf_reserve(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	(void)r4; (void)r5;
	return U64(ebpf_ringbuf_reserve(PTR(r1), r2, r3));
}

static uint64_t h_ringbuf_submit(uint64_t r1, uint64_t r2, uint64_t r3,
				 uint64_t r4, uint64_t r5)
{
	(void)r3; (void)r4; (void)r5;
	ebpf_ringbuf_submit(PTR(r1), r2);
	return 0;
}

static uint64_t h_ringbuf_discard(uint64_t r1, uint64_t r2, uint64_t r3,
				  uint64_t r4, uint64_t r5)
{
	(void)r3; (void)r4; (void)r5;
	ebpf_ringbuf_discard(PTR(r1), r2);
	return 0;
}

static uint64_t h_ringbuf_query(uint64_t r1, uint64_t r2, uint64_t r3,
				uint64_t r4, uint64_t r5)
{
	(void)r3; (void)r4; (void)r5;
	return ebpf_ringbuf_query(PTR(r1), r2);
}

/* ---- tables --------------------------------------------------------------------- */

#define XDP_HELPER(id, f) [BPF_FUNC_##id] = { "bpf_" #id, f }

static const struct ebpf_helper xdp_helpers[__BPF_FUNC_MAX_ID] = {
	XDP_HELPER(map_lookup_elem, h_map_lookup_elem),
	XDP_HELPER(map_update_elem, h_map_update_elem),
	XDP_HELPER(map_delete_elem, h_map_delete_elem),
	XDP_HELPER(ktime_get_ns, h_ktime_get_ns),
	XDP_HELPER(ktime_get_boot_ns, h_ktime_get_boot_ns),
	XDP_HELPER(ktime_get_coarse_ns, h_ktime_get_coarse_ns),
	XDP_HELPER(spin_lock, h_spin_lock),
	XDP_HELPER(spin_unlock, h_spin_unlock),
	XDP_HELPER(trace_printk, h_trace_printk),
	XDP_HELPER(get_prandom_u32, h_get_prandom_u32),
	XDP_HELPER(get_smp_processor_id, h_get_smp_processor_id),
	XDP_HELPER(tail_call, NULL),
	XDP_HELPER(redirect, h_redirect),
	XDP_HELPER(redirect_map, h_redirect_map),
	XDP_HELPER(csum_diff, h_csum_diff),
	XDP_HELPER(xdp_adjust_head, h_xdp_adjust_head),
	XDP_HELPER(xdp_adjust_meta, h_xdp_adjust_meta),
	XDP_HELPER(xdp_adjust_tail, h_xdp_adjust_tail),
	XDP_HELPER(xdp_load_bytes, h_xdp_load_bytes),
	XDP_HELPER(xdp_store_bytes, h_xdp_store_bytes),
	XDP_HELPER(loop, h_loop),
	XDP_HELPER(perf_event_output, h_perf_event_output),
	XDP_HELPER(ringbuf_output, h_ringbuf_output),
	XDP_HELPER(ringbuf_reserve, h_ringbuf_reserve),
	XDP_HELPER(ringbuf_submit, h_ringbuf_submit),
	XDP_HELPER(ringbuf_discard, h_ringbuf_discard),
	XDP_HELPER(ringbuf_query, h_ringbuf_query),
	XDP_HELPER(fib_lookup, ebpf_h_fib_lookup),
	XDP_HELPER(tcp_raw_gen_syncookie_ipv4, ebpf_h_syncookie_gen4),
	XDP_HELPER(tcp_raw_check_syncookie_ipv4, ebpf_h_syncookie_check4),
	XDP_HELPER(tcp_raw_gen_syncookie_ipv6, ebpf_h_syncookie_v6),
	XDP_HELPER(tcp_raw_check_syncookie_ipv6, ebpf_h_syncookie_v6),
};

const struct ebpf_helper *ebpf_helper_get(enum ebpf_helper_set set, uint32_t id)
{
	switch (set) {
	case EBPF_HELPERS_XDP:
		if (id >= __BPF_FUNC_MAX_ID || !xdp_helpers[id].name)
			return NULL;
		return &xdp_helpers[id];
	case EBPF_HELPERS_CONFORMANCE:
		return ebpf_helper_conformance_get(id);
	}
	return NULL;
}

/* Every helper name the UAPI header knows, from its own mapper macro. */
#define KERNEL_HELPER_NAME(x) [BPF_FUNC_##x] = "bpf_" #x
static const char *const kernel_helper_names[__BPF_FUNC_MAX_ID] = {
	__BPF_FUNC_MAPPER(KERNEL_HELPER_NAME)
};
#undef KERNEL_HELPER_NAME

const char *ebpf_helper_kernel_name(uint32_t id)
{
	static __thread char unknown[32];

	if (id > 0 && id < __BPF_FUNC_MAX_ID && kernel_helper_names[id])
		return kernel_helper_names[id];
	snprintf(unknown, sizeof(unknown), "helper #%u", id);
	return unknown;
}
