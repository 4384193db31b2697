/* ctl.c - the engine control socket (RUN_DIR/engine.sock): load, unload and list hook programs, map requests. */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <flextoe/ctl.h>

#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
#include "core/daemon/ctl.h"
#include "ebpf/ebpf.h"
#include "ebpf/presets_json.h"
#include "lib/util/jsonmsg.h"
#include "lib/util/log.h"

/*
 * Only flextoe-loaderd is meant to talk here (docs/loader.md): it checks
 * who may change what, keeps copies of the objects, and forwards.  The
 * socket is root's alone (mode 0600, and SO_PEERCRED must say uid 0 or
 * the engine's own uid), so nobody bypasses loaderd's checks.  One thread
 * serves every connection; requests are short, the longest being a load
 * (the kernel verifier), which the data path never waits for.
 */

#define CTL_MAX_CLIENTS 8
#define CTL_IO_TIMEOUT_S 5

static const char *get_str(json_object *req, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool get_int(json_object *req, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static int bad_hook(const char *name, char *err, size_t esz)
{
	char names[64];

	snprintf(err, esz, "unknown hook '%s': the hooks are %s", name ? name : "",
		 flextoe_hook_names(names, sizeof(names), " and "));
	return -EINVAL;
}

static int do_load(struct daemon *d, json_object *req, json_object *resp, char *err, size_t esz)
{
	struct hx_load_req r = { 0 };
	struct ebpf_presets ps = { 0 };
	pid_t owner_pid = 0;
	int64_t prio;
	uint32_t id;
	int ret, pidfd = -1;

	r.path = get_str(req, "path");
	if (!r.path) {
		snprintf(err, esz, "load without an object path");
		return -EINVAL;
	}
	r.hook = ftoe_hook_by_name(get_str(req, "hook"));
	if (r.hook == FLEXTOE_HOOK_NONE)
		return bad_hook(get_str(req, "hook"), err, esz);
	r.prog_name = get_str(req, "prog");
	if (get_int(req, "replace", &prio)) {
		if (prio <= 0 || prio > UINT32_MAX) {
			snprintf(err, esz, "no program with id %lld is loaded (see flextoe-bpf list)",
				 (long long)prio);
			return -ENOENT;
		}
		r.replace_id = (uint32_t)prio;
	}
	if (get_int(req, "prio", &prio)) {
		if (prio < INT32_MIN || prio > INT32_MAX) {
			snprintf(err, esz, "priority %lld out of range", (long long)prio);
			return -ERANGE;
		}
		r.has_prio = true;
		r.priority = (int32_t)prio;
	}
	/* A trace session's program: unloaded when its process exits. */
	if (get_int(req, "owner_pid", &prio)) {
		if (prio <= 0 || prio > INT32_MAX) {
			snprintf(err, esz, "bad owner_pid %lld", (long long)prio);
			return -EINVAL;
		}
		owner_pid = (pid_t)prio;
		pidfd = ctl_owner_open(owner_pid, err, esz);
		if (pidfd < 0)
			return pidfd;
	}
	ret = ebpf_presets_from_json(req, &ps, err, esz);
	if (!ret) {
		r.presets = &ps;
		ret = hx_load(d, &r, &id, err, esz);
	}
	ebpf_presets_free(&ps);
	if (ret) {
		if (pidfd >= 0)
			close(pidfd);
		return ret;
	}
	if (r.replace_id)
		ctl_owner_forget(r.replace_id);
	if (pidfd >= 0)
		ctl_owner_add(id, owner_pid, pidfd);
	{
		struct hx_prog *p = hx_find(d, id);

		json_object_object_add(resp, "id", json_object_new_int64(id));
		json_object_object_add(resp, "name", json_object_new_string(p->name));
		json_object_object_add(resp, "hook", json_object_new_string(ftoe_hook_name(p->hook)));
		json_object_object_add(resp, "prio", json_object_new_int64(p->priority));
		json_object_object_add(resp, "tag", json_object_new_string(p->tag));
	}
	return 0;
}

static int do_unload(struct daemon *d, json_object *req, json_object *resp, char *err, size_t esz)
{
	json_object *ids = json_object_new_array();
	int64_t id;
	int ret = 0;

	json_object_object_add(resp, "ids", ids);
	if (get_int(req, "id", &id)) {
		ret = id > 0 && id <= UINT32_MAX ? hx_unload(d, (uint32_t)id) : -ENOENT;
		if (ret == -ENOENT)
			snprintf(err, esz, "no program with id %lld is loaded (see flextoe-bpf list)",
				 (long long)id);
		else if (!ret) {
			ctl_owner_forget((uint32_t)id);
			json_object_array_add(ids, json_object_new_int64(id));
		}
		return ret;
	}
	{
		const char *hn = get_str(req, "hook");
		enum flextoe_hook hook = ftoe_hook_by_name(hn);
		struct hx_prog *p, *next;

		if (hook == FLEXTOE_HOOK_NONE)
			return bad_hook(hn, err, esz);
		for (p = d->progs; p; p = next) {
			next = p->next;
			if (p->hook != hook)
				continue;
			id = p->id;
			ret = hx_unload(d, (uint32_t)id);
			if (ret)
				break;
			ctl_owner_forget((uint32_t)id);
			json_object_array_add(ids, json_object_new_int64(id));
		}
	}
	if (ret)
		snprintf(err, esz, "unload: %s", strerror(-ret));
	return ret;
}

static const char *const verdict_names[FTOE_HOOK_NR_COUNTERS] = {
	"aborted", "drop", "pass", "tx", "redirect", "invalid",
};

static int do_list(struct daemon *d, json_object *resp)
{
	json_object *hooks = json_object_new_array();

	for (int k = FTOE_HOOK_FIRST; k < FTOE_HOOK_NR; k++) {
		struct ftoe_hook_prog chain[FTOE_HOOK_MAX_PROGS];
		uint64_t cnt[FTOE_HOOK_NR_COUNTERS];
		json_object *h = json_object_new_object(), *v = json_object_new_object();
		json_object *progs = json_object_new_array();
		int n = ftoe_hooks_list(d->hooks, (enum flextoe_hook)k, chain, FTOE_HOOK_MAX_PROGS);

		ftoe_hooks_counters(d->hooks, (enum flextoe_hook)k, cnt);
		for (int c = 0; c < FTOE_HOOK_NR_COUNTERS; c++)
			json_object_object_add(v, verdict_names[c], json_object_new_int64((int64_t)cnt[c]));
		for (int i = 0; i < n; i++) {
			struct hx_prog *p = hx_find(d, chain[i].id);
			struct ebpf_prog_stats st;
			json_object *o = json_object_new_object();

			if (!p)
				continue;
			ebpf_prog_get_stats(p->prog, &st);
			json_object_object_add(o, "id", json_object_new_int64(p->id));
			json_object_object_add(o, "name", json_object_new_string(p->name));
			json_object_object_add(o, "prio", json_object_new_int64(p->priority));
			json_object_object_add(o, "tag", json_object_new_string(p->tag));
			json_object_object_add(o, "kernel_id", json_object_new_int64(p->kernel_id));
			json_object_object_add(o, "chain_call_actions",
					       json_object_new_int64(p->chain_call_actions));
			json_object_object_add(o, "run_cnt", json_object_new_int64((int64_t)st.run_cnt));
			json_object_object_add(o, "run_time_ns",
					       json_object_new_int64((int64_t)st.run_time_ns));
			json_object_object_add(o, "avg_ns", json_object_new_int64(st.run_cnt ?
						(int64_t)(st.run_time_ns / st.run_cnt) : 0));
			json_object_object_add(o, "file", json_object_new_string(p->file));
			json_object_object_add(o, "loaded_at", json_object_new_int64((int64_t)p->loaded_at));
			if (ctl_owner_pid(p->id))
				json_object_object_add(o, "owner_pid",
						       json_object_new_int64(ctl_owner_pid(p->id)));
			json_object_array_add(progs, o);
		}
		json_object_object_add(h, "hook", json_object_new_string(ftoe_hook_name(k)));
		json_object_object_add(h, "verdicts", v);
		json_object_object_add(h, "progs", progs);
		json_object_array_add(hooks, h);
	}
	json_object_object_add(resp, "hooks", hooks);
	return 0;
}

static int do_hello(struct daemon *d, json_object *resp)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &d->opts.ip_be, ip, sizeof(ip));
	json_object_object_add(resp, "pid", json_object_new_int64(getpid()));
	json_object_object_add(resp, "iface", json_object_new_string(d->opts.iface));
	/* What programs at the hooks see as ingress_ifindex (xdpdump's
	 * capture_if_ifindex). */
	json_object_object_add(resp, "ifindex", json_object_new_int64(x86_netdev(d->x86)->ifindex));
	json_object_object_add(resp, "ip", json_object_new_string(ip));
	json_object_object_add(resp, "programs", json_object_new_int64(d->nr_progs));
	return 0;
}

/* One handler per request of include/flextoe/ctl.h, the protocol's list;
 * the adapters give every handler the same shape. */
typedef int ctl_handler(struct daemon *d, const char *op, json_object *req, json_object *resp,
			char *err, size_t esz);

static int h_hello(struct daemon *d, const char *op, json_object *req, json_object *resp,
		   char *err, size_t esz)
{
	(void)op, (void)req, (void)err, (void)esz;
	return do_hello(d, resp);
}

static int h_list(struct daemon *d, const char *op, json_object *req, json_object *resp,
		  char *err, size_t esz)
{
	(void)op, (void)req, (void)err, (void)esz;
	return do_list(d, resp);
}

static int h_load(struct daemon *d, const char *op, json_object *req, json_object *resp,
		  char *err, size_t esz)
{
	(void)op;
	return do_load(d, req, resp, err, esz);
}

static int h_unload(struct daemon *d, const char *op, json_object *req, json_object *resp,
		    char *err, size_t esz)
{
	(void)op;
	return do_unload(d, req, resp, err, esz);
}

static int h_ring_read(struct daemon *d, const char *op, json_object *req, json_object *resp,
		       char *err, size_t esz)
{
	(void)op;
	return ctl_ring_read(d, req, resp, err, esz);
}

static int h_map_list(struct daemon *d, const char *op, json_object *req, json_object *resp,
		      char *err, size_t esz)
{
	(void)op, (void)req, (void)err, (void)esz;
	return ctl_map_list(d, resp);
}

static ctl_handler *const ctl_handlers[FLEXTOE_CTL_OP__MAX] = {
	[FLEXTOE_CTL_OP_HELLO] = h_hello,
	[FLEXTOE_CTL_OP_LIST] = h_list,
	[FLEXTOE_CTL_OP_LOAD] = h_load,
	[FLEXTOE_CTL_OP_UNLOAD] = h_unload,
	[FLEXTOE_CTL_OP_RING_READ] = h_ring_read,
	[FLEXTOE_CTL_OP_MAP_LIST] = h_map_list,
	[FLEXTOE_CTL_OP_MAP_DUMP] = ctl_map_op,
	[FLEXTOE_CTL_OP_MAP_LOOKUP] = ctl_map_op,
	[FLEXTOE_CTL_OP_MAP_UPDATE] = ctl_map_op,
	[FLEXTOE_CTL_OP_MAP_DELETE] = ctl_map_op,
	[FLEXTOE_CTL_OP_MAP_LOOKUP_BATCH] = ctl_map_batch,
	[FLEXTOE_CTL_OP_MAP_UPDATE_BATCH] = ctl_map_batch,
	[FLEXTOE_CTL_OP_MAP_DELETE_BATCH] = ctl_map_batch,
	[FLEXTOE_CTL_OP_STATS] = ctl_stats,
	[FLEXTOE_CTL_OP_CONNS] = ctl_conns,
};

static json_object *handle(struct daemon *d, json_object *req)
{
	json_object *resp = json_object_new_object();
	const char *op = get_str(req, "op");
	enum flextoe_ctl_op id = flextoe_ctl_op_by_name(op);
	char err[1024] = "";
	int ret;

	if (!op)
		ret = -EINVAL, snprintf(err, sizeof(err), "request without \"op\"");
	else if (id == FLEXTOE_CTL_OP_NONE || !ctl_handlers[id])
		ret = -EOPNOTSUPP, snprintf(err, sizeof(err), "unknown request '%s'", op);
	else
		ret = ctl_handlers[id](d, op, req, resp, err, sizeof(err));
	json_object_object_add(resp, "ok", json_object_new_boolean(!ret));
	if (ret) {
		json_object_object_add(resp, "errno", json_object_new_int(-ret));
		json_object_object_add(resp, "error", json_object_new_string(err[0] ? err :
								      strerror(-ret)));
	}
	return resp;
}

static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void *ctl_main(void *arg)
{
	struct daemon *d = arg;
	struct pollfd pfd[CTL_MAX_CLIENTS + 2 + CTL_MAX_OWNED];
	int clients[CTL_MAX_CLIENTS];
	unsigned int nc = 0, no;

	for (;;) {
		pfd[0].fd = d->ctl_stop_efd;
		pfd[0].events = POLLIN;
		pfd[1].fd = d->ctl_fd;
		pfd[1].events = POLLIN;
		for (unsigned int i = 0; i < nc; i++) {
			pfd[2 + i].fd = clients[i];
			pfd[2 + i].events = POLLIN;
		}
		/* Session owners' pidfds go last: readable when they exit. */
		no = ctl_owner_pollfds(&pfd[2 + nc]);
		if (poll(pfd, nc + 2 + no, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("control socket: poll: %s", strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		/* Before the clients: their requests may change the table. */
		if (no)
			ctl_owner_reap(d, &pfd[2 + nc], no);
		for (unsigned int i = nc; i-- > 0;) {
			json_object *req, *resp;
			int err;

			if (!pfd[2 + i].revents)
				continue;
			req = ftoe_jsonmsg_recv(clients[i], &err);
			if (req) {
				resp = handle(d, req);
				err = ftoe_jsonmsg_send(clients[i], resp);
				json_object_put(resp);
				json_object_put(req);
			}
			if (err) {
				if (err != -ECONNRESET)
					pr_debug("control socket: client: %s", strerror(-err));
				close(clients[i]);
				clients[i] = clients[--nc];
			}
		}
		if (pfd[1].revents & POLLIN) {
			int fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
			struct timeval tv = { CTL_IO_TIMEOUT_S, 0 };

			if (fd < 0)
				continue;
			if (!peer_allowed(fd) || nc == CTL_MAX_CLIENTS) {
				pr_warn("control socket: refused a %s client",
					nc == CTL_MAX_CLIENTS ? "surplus" : "non-root");
				close(fd);
				continue;
			}
			/* A client that stops mid-message cannot hang us. */
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			clients[nc++] = fd;
		}
	}
	for (unsigned int i = 0; i < nc; i++)
		close(clients[i]);
	ctl_owner_fini();
	return NULL;
}

int ctl_start(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int err;

	d->ctl_fd = -1;
	d->ctl_stop_efd = -1;
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", d->opts.run_dir,
			     FTOE_ENGINE_SOCK) >= sizeof(sa.sun_path)) {
		pr_err("run directory %s: path too long for a UNIX socket (max %zu bytes)",
		       d->opts.run_dir, sizeof(sa.sun_path) - sizeof(FTOE_ENGINE_SOCK) - 1);
		return -ENAMETOOLONG;
	}
	d->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	d->ctl_stop_efd = eventfd(0, EFD_CLOEXEC);
	if (d->ctl_fd < 0 || d->ctl_stop_efd < 0) {
		err = -errno;
		pr_err("control socket: %s", strerror(errno));
		return err;
	}
	/* We hold the run directory's lock: a socket file there is a dead
	 * engine's. */
	unlink(sa.sun_path);
	if (bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(sa.sun_path, 0600) ||
	    listen(d->ctl_fd, 8)) {
		err = -errno;
		pr_err("cannot listen on %s: %s", sa.sun_path, strerror(errno));
		return err;
	}
	err = -pthread_create(&d->ctl_tid, NULL, ctl_main, d);
	if (err) {
		pr_err("cannot start the control thread: %s", strerror(-err));
		return err;
	}
	d->ctl_started = true;
	return 0;
}

void ctl_stop(struct daemon *d)
{
	char path[PATH_MAX];
	uint64_t one = 1;

	if (d->ctl_started) {
		if (write(d->ctl_stop_efd, &one, sizeof(one)) < 0)
			pr_debug("control socket: stop: %s", strerror(errno));
		pthread_join(d->ctl_tid, NULL);
		d->ctl_started = false;
	}
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		snprintf(path, sizeof(path), "%s/%s", d->opts.run_dir, FTOE_ENGINE_SOCK);
		unlink(path);
	}
	if (d->ctl_stop_efd >= 0)
		close(d->ctl_stop_efd);
	d->ctl_fd = d->ctl_stop_efd = -1;
}
