/* requests.c - flextoe-loaderd's requests: permission checks, verifying objects, keeping their copies, forwarding to the engine. */
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <flextoe/bpf.h>
#include <flextoe/ctl.h>

#include "ebpf/ebpf.h"
#include "ebpf/presets_json.h"
#include "lib/util/hex.h"
#include "lib/util/log.h"
#include "loader/loaderd/client.h"
#include "loader/loaderd/loaderd.h"

#define VERIFIER_LOG_SZ (4u << 20)

static json_object *fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_object *fail(int err, const char *fmt, ...)
{
	json_object *r = json_object_new_object();
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(r, "ok", json_object_new_boolean(false));
	json_object_object_add(r, "errno", json_object_new_int(err < 0 ? -err : err));
	json_object_object_add(r, "error", json_object_new_string(msg));
	return r;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Forward req to the engine and return its response. */
static json_object *engine_call(struct ldr_state *st, json_object *req)
{
	json_object *resp;
	int err;

	resp = ldr_call(st->engine_sock, req, &err);
	if (resp)
		return resp;
	if (err == -ENOENT || err == -ECONNREFUSED)
		return fail(-EHOSTDOWN, "the engine is not running (no %s): start flextoe with "
			    "--run-dir %s", st->engine_sock, st->run_dir);
	return fail(err, "cannot talk to the engine at %s: %s", st->engine_sock, strerror(-err));
}

static bool valid_hook(const char *h)
{
	return flextoe_hook_id(h) != FLEXTOE_HOOK_NONE;
}

/* The object's copy: RUN_DIR/progs/N.o with N one past the largest there. */
static int new_copy(struct ldr_state *st, const void *buf, size_t len, char *path, size_t size)
{
	unsigned long max = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	if (mkdir(st->progs_dir, 0700) && errno != EEXIST)
		return -errno;
	d = opendir(st->progs_dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long n = strtoul(de->d_name, &end, 10);

		if (end != de->d_name && !strcmp(end, ".o") && n > max)
			max = n;
	}
	closedir(d);
	if ((size_t)snprintf(path, size, "%s/%lu.o", st->progs_dir, max + 1) >= size)
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (const char *p = buf; len;) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			int err = -errno;

			close(fd);
			unlink(path);
			return err;
		}
		p += w;
		len -= (size_t)w;
	}
	return close(fd) ? -errno : 0;
}

static json_object *do_load(struct ldr_state *st, const struct ldr_peer *peer, json_object *req)
{
	const char *hex = get_str(req, "object"), *hook = get_str(req, "hook");
	const char *prog = get_str(req, "prog"), *name = get_str(req, "name");
	struct ebpf_object_opts opts;
	struct ebpf_presets ps = { 0 };
	struct ebpf_object *obj = NULL;
	json_object *ereq, *resp;
	unsigned char *buf = NULL;
	char err[1024] = "", path[PATH_MAX], *log = NULL;
	size_t len;
	int ret;

	if (!name)
		name = "object";
	if (!valid_hook(hook)) {
		char names[64];

		return fail(-EINVAL, "unknown hook '%s': the hooks are %s", hook ? hook : "",
			    flextoe_hook_names(names, sizeof(names), " and "));
	}
	if (!hex || ftoe_hex_decode(hex, &buf, &len))
		return fail(-EINVAL, "load request without a valid object");

	/* The gate: the kernel verifier, through the runtime, before the
	 * engine sees anything (a clear error early, with the log). */
	log = calloc(1, VERIFIER_LOG_SZ);
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.engine = EBPF_ENGINE_JIT;
	opts.log_buf = log;
	opts.log_size = log ? VERIFIER_LOG_SZ : 0;
	opts.err_buf = err;
	opts.err_size = sizeof(err);
	ret = ebpf_presets_from_json(req, &ps, err, sizeof(err));
	if (ret) {
		resp = fail(ret, "%s", err[0] ? err : strerror(-ret));
		goto out;
	}
	opts.map_sizes = ps.sizes;
	opts.nr_map_sizes = ps.nr_sizes;
	opts.globals = ps.globals;
	opts.nr_globals = ps.nr_globals;
	ret = ebpf_object_open_mem(buf, len, name, &opts, &obj);
	if (ret) {
		resp = fail(ret, "%s", err[0] ? err : strerror(-ret));
		if (log && log[0])
			json_object_object_add(resp, "verifier_log", json_object_new_string(log));
		goto out;
	}
	if (prog && !ebpf_object_find_prog(obj, prog)) {
		char names[512] = "";
		size_t off = 0;
		struct ebpf_prog *p = NULL;

		while ((p = ebpf_object_next_prog(obj, p)) && off < sizeof(names))
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
						off ? ", " : "", ebpf_prog_name(p));
		resp = fail(-ENOENT, "%s has no program named '%s' (its programs: %s)", name, prog,
			    names);
		goto out;
	}
	ebpf_object_close(obj);
	obj = NULL;

	ret = new_copy(st, buf, len, path, sizeof(path));
	if (ret) {
		resp = fail(ret, "cannot keep a copy of %s in %s: %s", name, st->progs_dir,
			    strerror(-ret));
		goto out;
	}
	ereq = ldr_request(FLEXTOE_CTL_OP_LOAD);
	json_object_object_add(ereq, "path", json_object_new_string(path));
	json_object_object_add(ereq, "hook", json_object_new_string(hook));
	if (prog)
		json_object_object_add(ereq, "prog", json_object_new_string(prog));
	{
		json_object *v;

		if (json_object_object_get_ex(req, "prio", &v))
			json_object_object_add(ereq, "prio", json_object_get(v));
		if (json_object_object_get_ex(req, "replace", &v))
			json_object_object_add(ereq, "replace", json_object_get(v));
		if (json_object_object_get_ex(req, "map_sizes", &v))
			json_object_object_add(ereq, "map_sizes", json_object_get(v));
		if (json_object_object_get_ex(req, "globals", &v))
			json_object_object_add(ereq, "globals", json_object_get(v));
		/* A trace session: the engine unloads the program when the
		 * client exits.  The pid is the peer's (SO_PEERCRED), never a
		 * number the client sends, so nobody ties a program to someone
		 * else's process. */
		if (json_object_object_get_ex(req, "session", &v) && json_object_get_boolean(v) &&
		    peer->pid > 0)
			json_object_object_add(ereq, "owner_pid", json_object_new_int64(peer->pid));
	}
	resp = engine_call(st, ereq);
	json_object_put(ereq);
	if (ldr_resp_errno(resp)) {
		unlink(path);
		/* The engine names its copy; the user knows the original. */
		if (!strncmp(ldr_resp_error(resp), path, strlen(path))) {
			json_object *r2 = fail(ldr_resp_errno(resp), "%s%s", name,
					       ldr_resp_error(resp) + strlen(path));

			json_object_put(resp);
			resp = r2;
		}
	} else {
		pr_info("loaded %s (%s) at %s: id %ld", name, path, hook,
			(long)json_object_get_int64(json_object_object_get(resp, "id")));
	}
out:
	ebpf_object_close(obj);
	ebpf_presets_free(&ps);
	free(log);
	free(buf);
	return resp;
}

/* Remove the copies of objects the engine does not run (any more). */
static void prune_copies(struct ldr_state *st, json_object *list)
{
	json_object *hooks;
	struct dirent *de;
	DIR *d;

	if (!json_object_object_get_ex(list, "hooks", &hooks))
		return;
	d = opendir(st->progs_dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX + 256];
		bool used = false;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", st->progs_dir, de->d_name);
		for (size_t h = 0; h < json_object_array_length(hooks) && !used; h++) {
			json_object *progs = json_object_object_get(json_object_array_get_idx(hooks, h),
								     "progs");

			for (size_t i = 0; progs && i < json_object_array_length(progs); i++) {
				const char *f = get_str(json_object_array_get_idx(progs, i), "file");

				if (f && !strcmp(f, path))
					used = true;
			}
		}
		if (!used && !unlinkat(dirfd(d), de->d_name, 0))
			pr_debug("removed %s (not loaded in the engine)", path);
	}
	closedir(d);
}

void ldr_resync(struct ldr_state *st)
{
	json_object *req = ldr_request(FLEXTOE_CTL_OP_LIST), *resp;
	unsigned long n = 0;

	resp = engine_call(st, req);
	json_object_put(req);
	if (ldr_resp_errno(resp)) {
		pr_info("%s", ldr_resp_error(resp));
		json_object_put(resp);
		return;
	}
	{
		json_object *hooks = json_object_object_get(resp, "hooks");

		for (size_t h = 0; hooks && h < json_object_array_length(hooks); h++) {
			json_object *progs = json_object_object_get(json_object_array_get_idx(hooks, h),
								     "progs");

			n += progs ? json_object_array_length(progs) : 0;
		}
	}
	pr_info("the engine runs %lu program%s", n, n == 1 ? "" : "s");
	prune_copies(st, resp);
	json_object_put(resp);
}

json_object *ldr_handle(struct ldr_state *st, const struct ldr_peer *peer, json_object *req)
{
	const char *name = get_str(req, "op");
	enum flextoe_ctl_op op = flextoe_ctl_op_by_name(name);
	const struct flextoe_ctl_op_desc *d = flextoe_ctl_op_desc(op);
	json_object *resp;

	/* The requests and the right each needs: include/flextoe/ctl.h. */
	if (!d)
		return fail(-EOPNOTSUPP, "unknown request '%s'", name ? name : "");
	if (d->perm == FLEXTOE_CTL_WRITE && !peer->privileged) {
		if (st->have_group)
			return fail(-EPERM, "permission denied: only root or members of group '%s' "
				    "may %s (you are uid %u)", st->group_name, d->what,
				    (unsigned int)peer->uid);
		return fail(-EPERM, "permission denied: only root may %s (you are uid %u; "
			    "flextoe --loader-group GROUP admits a group)", d->what,
			    (unsigned int)peer->uid);
	}
	if (op == FLEXTOE_CTL_OP_LOAD)
		return do_load(st, peer, req);
	if (op == FLEXTOE_CTL_OP_HELLO) {
		resp = engine_call(st, req);
		json_object_object_add(resp, "loaderd_pid", json_object_new_int64(getpid()));
		return resp;
	}
	resp = engine_call(st, req);
	if (op == FLEXTOE_CTL_OP_UNLOAD && !ldr_resp_errno(resp)) {
		/* Drop the copies of what went away. */
		json_object *lreq = ldr_request(FLEXTOE_CTL_OP_LIST), *list;

		list = engine_call(st, lreq);
		if (!ldr_resp_errno(list))
			prune_copies(st, list);
		json_object_put(list);
		json_object_put(lreq);
		pr_info("unloaded %s", json_object_to_json_string(json_object_object_get(resp, "ids")));
	}
	return resp;
}
