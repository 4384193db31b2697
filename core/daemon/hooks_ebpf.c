/* hooks_ebpf.c - runs eBPF/XDP programs at the core's hooks, and the engine's registry of installed programs. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
#include "core/daemon/xsk_app.h"
#include "ebpf/ebpf.h"
#include "lib/util/log.h"

/*
 * Frames at the hooks live in the umem (rx) or in the engine's buffers
 * (tx), neither below 2 GiB, where the runtime needs XDP packet memory
 * (docs/runtime.md).  So a chain runs on a per-thread execution buffer:
 * the frame is copied in at the kernel's XDP_PACKET_HEADROOM with the
 * struct flextoe_md right below it (data_meta .. data), the programs run
 * one after the other on that buffer (changes carry over, as in a
 * dispatcher), and the caller takes the result (ftoe_hook_frame data/len)
 * from it.  The copy is only made when a hook has programs.
 */

#define HX_FRAME_SZ  4096u	/* as an AF_XDP frame */
#define HX_HEADROOM  256u	/* XDP_PACKET_HEADROOM */
#define HX_ETH_HLEN  14u
#define HX_VLAN_HLEN 4u

/* Guards the links of d->progs against readers on other threads than the
 * control socket's (hx_map_get, from the workers); the control thread
 * itself, the only writer, reads without it. */
static pthread_mutex_t hx_progs_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread struct ebpf_xdp_buff *tls_buf;
/* The interface's ifindex, what programs see as ingress_ifindex (and
 * give bpf_fib_lookup); set once before programs load (hx_set_host). */
static uint32_t hx_ifindex;
/* and its MTU, for redirected frames it transmits (hx_redirect) */
static uint32_t hx_mtu;
/* Frees a thread's buffer when the thread exits, whichever thread it is
 * (the backend's threads do not know about it). */
static pthread_key_t tls_buf_key;
static pthread_once_t tls_buf_once = PTHREAD_ONCE_INIT;

static void tls_buf_free(void *x)
{
	ebpf_xdp_buff_free(x);
}

static void tls_buf_key_init(void)
{
	if (pthread_key_create(&tls_buf_key, tls_buf_free))
		pr_warn("hooks: no thread-exit destructor; execution buffers leak at thread exit");
}

static int hx_begin(void *ctx, enum flextoe_hook hook, struct ftoe_hook_frame *f)
{
	struct ebpf_xdp_buff *x = tls_buf;
	uint8_t *data;

	(void)ctx;
	(void)hook;
	if (!x) {
		if (ebpf_xdp_buff_alloc(HX_FRAME_SZ, &x))
			return -ENOMEM;
		tls_buf = x;
		pthread_once(&tls_buf_once, tls_buf_key_init);
		pthread_setspecific(tls_buf_key, x);
	}
	if (ebpf_xdp_buff_set(x, f->data, f->len, HX_HEADROOM))
		return -EMSGSIZE;	/* larger than a 4 KiB frame allows */
	data = ebpf_xdp_data(x);
	memcpy(data - sizeof(f->md), &f->md, sizeof(f->md));
	x->md.data_meta = x->md.data - (uint32_t)sizeof(f->md);
	x->md.ingress_ifindex = hx_ifindex;
	x->md.rx_queue_index = 0;
	return 0;
}

static uint32_t hx_run(void *ctx, void *handle)
{
	(void)ctx;
	return ebpf_prog_run_xdp(handle, tls_buf);
}

static void hx_end(void *ctx, struct ftoe_hook_frame *f, bool commit)
{
	struct ebpf_xdp_buff *x = tls_buf;

	(void)ctx;
	if (!commit || !x)
		return;
	f->data = ebpf_xdp_data(x);
	f->len = ebpf_xdp_len(x);
	/* The metadata moves with the data (adjust_head); a program that
	 * shrank it below a flextoe_md leaves the caller's copy as it was. */
	if (x->md.data - x->md.data_meta >= sizeof(f->md))
		memcpy(&f->md, f->data - sizeof(f->md), sizeof(f->md));
}

/* A devmap target (net/core/filter.c xdp_do_redirect_frame, devmap.c):
 * one slot's device, or with BPF_F_BROADCAST every full slot's but the
 * ingress device under BPF_F_EXCLUDE_INGRESS.  Slots can only name the
 * engine's interface (hx_devmap_check), the device the frame came in on,
 * so the caller sends the copies out of that port, as the kernel's
 * ndo_xdp_xmit would; it picks the receiving queue's tx ring. */
static int redirect_devmap(struct ebpf_xdp_buff *x, struct ftoe_hook_frame *f)
{
	uint32_t ifindex, same;
	int n;

	if (x->redirect_flags & BPF_F_BROADCAST) {
		n = ebpf_devmap_targets(x->redirect_map,
					x->redirect_flags & BPF_F_EXCLUDE_INGRESS ? hx_ifindex : 0,
					hx_ifindex, &same);
		if (n < 0)
			return n;
		if ((uint32_t)n != same)
			return -EOPNOTSUPP;	/* another device: none can be a slot's */
		/* No copy at all (every slot was the ingress device) is a
		 * success in the kernel too: the frame is consumed. */
		f->redirect_copies = (uint16_t)(same > UINT16_MAX ? UINT16_MAX : same);
		f->redirect_as = FTOE_REDIRECT_XMIT;
		return 0;
	}
	if (!x->redirect_value)
		return -EOPNOTSUPP;
	memcpy(&ifindex, x->redirect_value, sizeof(ifindex));
	if (ifindex != hx_ifindex)
		return -EOPNOTSUPP;
	f->redirect_as = FTOE_REDIRECT_XMIT;
	f->redirect_copies = 1;
	return 0;
}

/* The chain ended with XDP_REDIRECT, to the target the last redirect
 * helper chose (docs/runtime.md "Redirect targets inside the engine"):
 * an xskmap slot's socket takes the frame as the programs left it (the
 * execution buffer); a devmap slot, or bpf_redirect to the engine's own
 * ifindex, sends it back out of the engine's interface; a cpumap slot
 * hands it to the engine's own path, the stack a cpumap would feed.  A
 * device other than the engine's cannot be reached: -EOPNOTSUPP. */
static int redirect_target(struct ebpf_xdp_buff *x, struct ftoe_hook_frame *f)
{
	uint32_t id;

	if (!x->redirect_map) {
		if (!x->redirect_ifindex || x->redirect_ifindex != hx_ifindex)
			return -EOPNOTSUPP;
		f->redirect_as = FTOE_REDIRECT_XMIT;
		f->redirect_copies = 1;
		return 0;
	}
	switch (ebpf_map_type(x->redirect_map)) {
	case BPF_MAP_TYPE_XSKMAP:
		if (!x->redirect_value)
			return -EOPNOTSUPP;
		memcpy(&id, x->redirect_value, sizeof(id));
		return xska_deliver(id, ebpf_xdp_data(x), ebpf_xdp_len(x));
	case BPF_MAP_TYPE_DEVMAP:
	case BPF_MAP_TYPE_DEVMAP_HASH:
		return redirect_devmap(x, f);
	case BPF_MAP_TYPE_CPUMAP:
		f->redirect_as = FTOE_REDIRECT_STACK;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

/* The target, then what the kernel checks before a device transmits a
 * redirected frame (xdp_ok_fwd_dev): no longer than the interface's MTU
 * plus its Ethernet and one VLAN header, or it is dropped, -EMSGSIZE (a
 * program that grew the frame: encapsulation, adjust_tail). */
static int hx_redirect(void *ctx, struct ftoe_hook_frame *f)
{
	struct ebpf_xdp_buff *x = tls_buf;
	int err;

	(void)ctx;
	if (!x)
		return -EOPNOTSUPP;
	err = redirect_target(x, f);
	if (!err && f->redirect_as == FTOE_REDIRECT_XMIT &&
	    ebpf_xdp_len(x) > hx_mtu + HX_ETH_HLEN + HX_VLAN_HLEN) {
		f->redirect_as = FTOE_REDIRECT_TAKEN;
		f->redirect_copies = 0;
		return -EMSGSIZE;
	}
	return err;
}

/* Devmap slots may only name the engine's interface: the engine sends on
 * no other device (docs/runtime.md). */
static int hx_devmap_check(void *ctx, uint32_t ifindex)
{
	(void)ctx;
	return ifindex == hx_ifindex ? 0 : -EXDEV;
}

static int host_neigh(void *ctx, uint32_t ip_be, uint8_t mac[6])
{
	return x86_neigh_valid(((struct daemon *)ctx)->x86, ip_be, mac);
}

static int host_cookie_make(void *ctx, uint32_t saddr, uint32_t daddr, uint16_t sport,
			    uint16_t dport, uint32_t seq, uint16_t mss, uint32_t *cookie,
			    uint16_t *mss_out)
{
	return ftoe_engine_syncookie_make(((struct daemon *)ctx)->eng, saddr, daddr, sport, dport,
					  seq, mss, cookie, mss_out);
}

static int host_cookie_check(void *ctx, uint32_t saddr, uint32_t daddr, uint16_t sport,
			     uint16_t dport, uint32_t seq, uint32_t ack, uint16_t *mss_out)
{
	return ftoe_engine_syncookie_check(((struct daemon *)ctx)->eng, saddr, daddr, sport, dport,
					   seq, ack, mss_out);
}

void hx_set_host(struct daemon *d)
{
	const struct netdev *nd = x86_netdev(d->x86);
	struct ebpf_host h = {
		.sz = sizeof(h), .ctx = d, .ifindex = (uint32_t)nd->ifindex,
		.ip_be = d->opts.ip_be, .prefix_len = d->opts.prefix_len,
		.gateway_be = d->opts.gateway_be, .mtu = nd->mtu,
		.neigh = host_neigh, .cookie_make = host_cookie_make,
		.cookie_check = host_cookie_check, .xsk_check = xska_check,
		.devmap_check = hx_devmap_check,
	};

	memcpy(h.mac, nd->mac, 6);
	hx_ifindex = h.ifindex;
	hx_mtu = nd->mtu;
	ebpf_set_host(&h);
}

int hx_init(struct daemon *d)
{
	static const struct ftoe_hook_ops ops = {
		.begin = hx_begin, .run = hx_run, .redirect = hx_redirect, .end = hx_end,
	};
	int err = ftoe_hooks_create(&ops, &d->hooks);

	if (err) {
		pr_err("cannot create the hook points: %s", strerror(-err));
		return err;
	}
	/* Per-program run time for `flextoe-bpf list` (two clock reads per
	 * run, only for frames that meet a program). */
	ebpf_stats_enable(true);
	return 0;
}

/* Rings of 32 pages (128 KiB) a slot: a few dozen full frames between
 * two reads of a capture. */
#define HX_PERF_PAGES 32

int hx_perf_buffer(struct hx_prog *p, struct ebpf_map *map, struct ebpf_perf_buffer **pb)
{
	unsigned int i;
	int ret;

	for (i = 0; i < HX_MAX_PERF && p->perf[i].map; i++)
		if (p->perf[i].map == map) {
			*pb = p->perf[i].pb;
			return 0;
		}
	if (i == HX_MAX_PERF)
		return -ENOSPC;
	ret = ebpf_perf_buffer_new(map, HX_PERF_PAGES, pb);
	if (ret)
		return ret;
	p->perf[i].map = map;
	p->perf[i].pb = *pb;
	return 0;
}

static void prog_free(struct hx_prog *p)
{
	if (!p)
		return;
	/* The program is detached: nothing writes the rings any more. */
	for (unsigned int i = 0; i < HX_MAX_PERF && p->perf[i].map; i++)
		ebpf_perf_buffer_free(p->perf[i].pb);
	ebpf_object_close(p->obj);
	if (p->btf_obj)
		bpf_object__close(p->btf_obj);
	free(p);
}

void hx_fini(struct daemon *d)
{
	struct hx_prog *p, *next;

	if (!d->hooks)
		return;
	ftoe_hooks_detach_all(d->hooks, FLEXTOE_HOOK_NONE, NULL, 0);
	pthread_mutex_lock(&hx_progs_lock);
	p = d->progs;
	d->progs = NULL;
	pthread_mutex_unlock(&hx_progs_lock);
	for (; p; p = next) {
		next = p->next;
		prog_free(p);
	}
	d->progs = NULL;
	d->nr_progs = 0;
	ftoe_hooks_destroy(d->hooks);
	d->hooks = NULL;
	/* The main thread's buffer (resets at shutdown ran tx-post here):
	 * no destructor runs when main returns. */
	if (tls_buf) {
		pthread_setspecific(tls_buf_key, NULL);
		ebpf_xdp_buff_free(tls_buf);
		tls_buf = NULL;
	}
}

struct hx_prog *hx_find(struct daemon *d, uint32_t id)
{
	for (struct hx_prog *p = d->progs; p; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

static void list_progs(struct ebpf_object *obj, char *buf, size_t size)
{
	struct ebpf_prog *p = NULL;
	size_t off = 0;

	buf[0] = 0;
	while ((p = ebpf_object_next_prog(obj, p)) && off < size)
		off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? ", " : "",
					ebpf_prog_name(p));
}

/* The verified kernel twin's tag and id, as bpftool shows them. */
static void kernel_info(struct hx_prog *p)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info);
	int fd = ebpf_prog_kernel_fd(p->prog);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	for (int i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(p->tag + 2 * i, 3, "%02x", info.tag[i]);
	p->kernel_id = info.id;
}

static void hx_forget(struct daemon *d, struct hx_prog *p);

int hx_load(struct daemon *d, const struct hx_load_req *r, uint32_t *id, char *err,
	    size_t err_size)
{
	struct ebpf_object_opts opts;
	const struct ebpf_xdp_run_config *rc;
	struct ftoe_hook_prog hp;
	struct hx_prog *p;
	char oerr[512] = "", names[512];
	int ret;

	if (!ftoe_hook_name(r->hook)) {
		snprintf(err, err_size, "unknown hook");
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.engine = EBPF_ENGINE_JIT;
	opts.err_buf = oerr;
	opts.err_size = sizeof(oerr);
	/* The kernel twin stays: its tag and id identify the program in
	 * bpftool, and its arrays back the runtime's (bpftool map dump). */
	opts.keep_kernel = true;
	if (r->presets) {
		opts.map_sizes = r->presets->sizes;
		opts.nr_map_sizes = r->presets->nr_sizes;
		opts.globals = r->presets->globals;
		opts.nr_globals = r->presets->nr_globals;
	}
	ret = ebpf_object_open(r->path, &opts, &p->obj);
	if (ret) {
		snprintf(err, err_size, "%s: %s", r->path, oerr[0] ? oerr : strerror(-ret));
		free(p);
		return ret;
	}
	if (r->prog_name) {
		p->prog = ebpf_object_find_prog(p->obj, r->prog_name);
		if (!p->prog) {
			list_progs(p->obj, names, sizeof(names));
			snprintf(err, err_size, "%s has no program named '%s' (its programs: %s)",
				 r->path, r->prog_name, names);
			ret = -ENOENT;
			goto fail;
		}
	} else {
		p->prog = ebpf_object_next_prog(p->obj, NULL);
		if (!p->prog || ebpf_object_next_prog(p->obj, p->prog)) {
			list_progs(p->obj, names, sizeof(names));
			snprintf(err, err_size, "%s has %s programs; choose one with --prog NAME (%s)",
				 r->path, p->prog ? "several" : "no", names);
			ret = -EINVAL;
			goto fail;
		}
	}
	rc = ebpf_prog_run_config(p->prog);
	p->id = ebpf_prog_id(p->prog);
	p->hook = r->hook;
	p->priority = r->has_prio ? r->priority : rc->priority;
	p->chain_call_actions = rc->chain_call_actions;
	snprintf(p->name, sizeof(p->name), "%s", ebpf_prog_name(p->prog));
	snprintf(p->file, sizeof(p->file), "%s", r->path);
	p->loaded_at = (uint64_t)time(NULL);
	kernel_info(p);
	/* BTF for typed map keys and values; objects libbpf cannot open
	 * alone (legacy maps) are simply untyped. */
	p->btf_obj = bpf_object__open_file(r->path, NULL);
	if (libbpf_get_error(p->btf_obj))
		p->btf_obj = NULL;

	hp.handle = p->prog;
	hp.id = p->id;
	hp.priority = p->priority;
	hp.chain_call_actions = p->chain_call_actions;
	if (r->replace_id) {
		struct hx_prog *old = hx_find(d, r->replace_id);

		if (!old) {
			snprintf(err, err_size, "no program with id %u is loaded (see flextoe-bpf list)",
				 r->replace_id);
			ret = -ENOENT;
			goto fail;
		}
		if (old->hook != r->hook) {
			snprintf(err, err_size, "program %u runs at %s, not %s: a replacement takes "
				 "its place at the same hook", old->id, ftoe_hook_name(old->hook),
				 ftoe_hook_name(r->hook));
			ret = -EINVAL;
			goto fail;
		}
		/* One swap: every frame runs either the old program or the new. */
		ret = ftoe_hooks_replace(d->hooks, old->id, &hp, NULL);
		if (ret) {
			snprintf(err, err_size, "cannot replace program %u: %s", old->id,
				 strerror(-ret));
			goto fail;
		}
		pr_info("program %u '%s' replaced by %u '%s' at %s", old->id, old->name, p->id,
			p->name, ftoe_hook_name(r->hook));
		hx_forget(d, old);
		goto installed;
	}
	ret = ftoe_hooks_attach(d->hooks, r->hook, &hp);
	if (ret) {
		snprintf(err, err_size, "cannot attach to %s: %s", ftoe_hook_name(r->hook),
			 ret == -ENOSPC ? "the hook is full (32 programs)" : strerror(-ret));
		goto fail;
	}
	pr_info("program %u '%s' (%s) installed at %s, priority %d", p->id, p->name, r->path,
		ftoe_hook_name(r->hook), p->priority);
installed:
	pthread_mutex_lock(&hx_progs_lock);
	p->next = d->progs;
	d->progs = p;
	d->nr_progs++;
	pthread_mutex_unlock(&hx_progs_lock);
	*id = p->id;
	return 0;
fail:
	prog_free(p);
	return ret;
}

/* Unlink an entry that no hook uses any more and free it. */
static void hx_forget(struct daemon *d, struct hx_prog *p)
{
	struct hx_prog **pp;

	pthread_mutex_lock(&hx_progs_lock);
	for (pp = &d->progs; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = p->next;
		d->nr_progs--;
	}
	pthread_mutex_unlock(&hx_progs_lock);
	prog_free(p);
}

int hx_unload(struct daemon *d, uint32_t id)
{
	struct hx_prog **pp, *p;
	int ret;

	for (pp = &d->progs; *pp && (*pp)->id != id; pp = &(*pp)->next)
		;
	p = *pp;
	if (!p)
		return -ENOENT;
	/* Returns once no worker can still be running it. */
	ret = ftoe_hooks_detach(d->hooks, id, NULL);
	if (ret)
		return ret;
	pthread_mutex_lock(&hx_progs_lock);
	*pp = p->next;
	d->nr_progs--;
	pthread_mutex_unlock(&hx_progs_lock);
	pr_info("program %u '%s' removed from %s", p->id, p->name, ftoe_hook_name(p->hook));
	prog_free(p);
	return 0;
}

struct ebpf_map *hx_map_get(struct daemon *d, enum flextoe_hook hook, const char *name)
{
	struct ebpf_map *m = NULL;

	pthread_mutex_lock(&hx_progs_lock);
	for (struct hx_prog *p = d->progs; p && !m; p = p->next)
		if (p->hook == hook && (m = ebpf_object_find_map(p->obj, name)))
			ebpf_map_get(m);
	pthread_mutex_unlock(&hx_progs_lock);
	return m;
}

int hx_xsk_forget(struct daemon *d, uint32_t id)
{
	int n = 0;

	pthread_mutex_lock(&hx_progs_lock);
	for (struct hx_prog *p = d->progs; p; p = p->next)
		for (struct ebpf_map *m = ebpf_object_next_map(p->obj, NULL); m;
		     m = ebpf_object_next_map(p->obj, m))
			if (ebpf_map_type(m) == BPF_MAP_TYPE_XSKMAP) {
				int k = ebpf_xskmap_forget(m, id);

				n += k > 0 ? k : 0;
			}
	pthread_mutex_unlock(&hx_progs_lock);
	return n;
}
