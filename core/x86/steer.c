/* steer.c - load, attach and detach the steering XDP program; clean up a crashed predecessor's. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

int steer_load(struct steer *s, uint32_t engine_ip_be, const uint8_t ip6[16])
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "flextoe_steer");
	struct ftoe_steer_cfg cfg = { .engine_ip = engine_ip_be, .owner_pid = (__u32)getpid() };
	size_t size = (size_t)(ftoe_steer_obj_end - ftoe_steer_obj);
	struct bpf_map *map, *rodata = NULL;
	int err;

	memcpy(cfg.engine_ip6, ip6, 16);
	for (int i = 0; i < 16; i++)
		cfg.has_ip6 |= ip6[i];
	memset(s, 0, sizeof(*s));
	s->prog_fd = s->xsks_fd = s->stats_fd = -1;
	s->obj = bpf_object__open_mem(ftoe_steer_obj, size, &oo);
	if (!s->obj) {
		err = -errno;
		pr_err("cannot open the embedded steering program: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_map(map, s->obj) {
		const char *name = bpf_map__name(map);
		size_t len = strlen(name);

		if (bpf_map__is_internal(map) && len >= 7 && !strcmp(name + len - 7, ".rodata"))
			rodata = map;
	}
	if (!rodata || bpf_map__value_size(rodata) != sizeof(cfg)) {
		pr_err("embedded steering program: no .rodata config of %zu bytes (build problem)",
		       sizeof(cfg));
		err = -ENOENT;
		goto fail;
	}
	err = bpf_map__set_initial_value(rodata, &cfg, sizeof(cfg));
	if (err)
		goto fail_msg;
	err = bpf_object__load(s->obj);
	if (err) {
		pr_err("the kernel refused the steering XDP program: %s (needs root or "
		       "CAP_BPF+CAP_NET_ADMIN; run with -vv for libbpf's log)", strerror(-err));
		goto fail;
	}
	s->prog_fd = bpf_program__fd(bpf_object__find_program_by_name(s->obj, FTOE_STEER_PROG_NAME));
	s->xsks_fd = bpf_object__find_map_fd_by_name(s->obj, "xsks");
	s->stats_fd = bpf_object__find_map_fd_by_name(s->obj, "stats");
	if (s->prog_fd < 0 || s->xsks_fd < 0 || s->stats_fd < 0) {
		pr_err("embedded steering program lacks its program or maps (build problem)");
		err = -ENOENT;
		goto fail;
	}
	return 0;

fail_msg:
	pr_err("cannot configure the steering program: %s", strerror(-err));
fail:
	bpf_object__close(s->obj);
	s->obj = NULL;
	return err;
}

void steer_unload(struct steer *s)
{
	if (s->obj)
		bpf_object__close(s->obj);
	s->obj = NULL;
}

/* The owner pid recorded in an attached steering program's .rodata, or 0. */
static __u32 owner_of(int prog_fd)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), ids[8], pid = 0;

	info.nr_map_ids = 8;
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return 0;
	for (__u32 i = 0; i < info.nr_map_ids && i < 8 && !pid; i++) {
		struct bpf_map_info mi = { 0 };
		__u32 mlen = sizeof(mi), key = 0;
		struct ftoe_steer_cfg cfg;
		int fd = bpf_map_get_fd_by_id(ids[i]);
		size_t nlen;

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &mi, &mlen) &&
		    (nlen = strnlen(mi.name, sizeof(mi.name))) >= 7 &&
		    !strcmp(mi.name + nlen - 7, ".rodata") && mi.value_size == sizeof(cfg) &&
		    !bpf_map_lookup_elem(fd, &key, &cfg))
			pid = cfg.owner_pid;
		close(fd);
	}
	return pid;
}

/* Is pid a running flextoe (and not us)? */
static bool engine_alive(__u32 pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	if (!pid || pid == (__u32)getpid())
		return false;
	if (kill((pid_t)pid, 0) && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = 0;
	fclose(f);
	comm[strcspn(comm, "\n")] = 0;
	return !strcmp(comm, "flextoe");
}

static int check_one(const struct netdev *nd, __u32 id, __u32 mode_flag, const char *mode,
		     bool force)
{
	struct bpf_prog_info info = { 0 };
	__u32 len = sizeof(info), pid;
	int fd, err;
	bool ours;

	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			return 0; /* detached meanwhile */
		pr_err("%s: cannot inspect its XDP program (id %u): %s", nd->name, id,
		       strerror(-err));
		return err;
	}
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		close(fd);
		pr_err("%s: cannot inspect its XDP program (id %u): %s", nd->name, id,
		       strerror(-err));
		return err;
	}
	ours = !strcmp(info.name, FTOE_STEER_PROG_NAME);
	pid = ours ? owner_of(fd) : 0;
	close(fd);
	if (ours && engine_alive(pid)) {
		pr_err("%s is in use by a running flextoe engine (pid %u); stop it first",
		       nd->name, pid);
		return -EBUSY;
	}
	if (!ours && !force) {
		pr_err("%s already has an XDP program '%s' (id %u, %s mode); refusing to replace "
		       "it. Remove it (ip link set dev %s xdp off) or use --force",
		       nd->name, info.name, id, mode, nd->name);
		return -EEXIST;
	}
	err = bpf_xdp_detach(nd->ifindex, mode_flag, NULL);
	if (err) {
		pr_err("%s: cannot detach XDP program '%s' (id %u): %s", nd->name, info.name, id,
		       strerror(-err));
		return err;
	}
	if (ours)
		pr_warn("%s: removed a stale flextoe steering program (id %u, %s mode) left by "
			"pid %u, which is no longer running", nd->name, id, mode, pid);
	else
		pr_warn("%s: --force: detached XDP program '%s' (id %u, %s mode)", nd->name,
			info.name, id, mode);
	return 0;
}

int steer_clear_stale(const struct netdev *nd, bool force)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int err;

	err = bpf_xdp_query(nd->ifindex, 0, &q);
	if (err) {
		pr_err("%s: cannot query its XDP programs: %s", nd->name, strerror(-err));
		return err;
	}
	if (q.hw_prog_id) {
		pr_err("%s has an offloaded (hw) XDP program (id %u); remove it first",
		       nd->name, q.hw_prog_id);
		return -EEXIST;
	}
	if (q.drv_prog_id) {
		err = check_one(nd, q.drv_prog_id, XDP_FLAGS_DRV_MODE, "native", force);
		if (err)
			return err;
	}
	if (q.skb_prog_id)
		return check_one(nd, q.skb_prog_id, XDP_FLAGS_SKB_MODE, "generic", force);
	return 0;
}

int steer_attach(struct steer *s, const struct netdev *nd)
{
	int err;

	s->ifindex = nd->ifindex;
	/* UPDATE_IF_NOEXIST: never replace a program attached since our check. */
	err = bpf_xdp_attach(nd->ifindex, s->prog_fd,
			     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (!err) {
		s->attach_flags = XDP_FLAGS_DRV_MODE;
		pr_info("%s: steering program attached in native mode", nd->name);
		return 0;
	}
	if (err == -EEXIST || err == -EBUSY) {
		pr_err("%s: another XDP program was attached meanwhile; not replacing it",
		       nd->name);
		return err;
	}
	pr_warn("%s: native XDP not available (%s); using generic (skb) mode, which is "
		"slower", nd->name, strerror(-err));
	err = bpf_xdp_attach(nd->ifindex, s->prog_fd,
			     XDP_FLAGS_SKB_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err) {
		pr_err("%s: cannot attach the steering XDP program: %s", nd->name, strerror(-err));
		return err;
	}
	s->attach_flags = XDP_FLAGS_SKB_MODE;
	return 0;
}

void steer_detach(struct steer *s, const struct netdev *nd)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = s->prog_fd);
	int err;

	if (!s->attach_flags)
		return;
	/* old_prog_fd: only if it is still ours (XDP_FLAGS_REPLACE). */
	err = bpf_xdp_detach(nd->ifindex, s->attach_flags, &o);
	if (err)
		pr_warn("%s: detaching the steering program failed: %s", nd->name, strerror(-err));
	else
		pr_info("%s: steering program detached", nd->name);
	s->attach_flags = 0;
}

void steer_read_stats(const struct steer *s, uint64_t out[FTOE_STEER__MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t vals[ncpu > 0 ? ncpu : 1];

	for (__u32 k = 0; k < FTOE_STEER__MAX; k++) {
		out[k] = 0;
		if (ncpu <= 0 || bpf_map_lookup_elem(s->stats_fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
}
