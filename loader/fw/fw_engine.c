/* fw_engine.c - flextoe-fw apply: loads the firewall into a running engine and swaps its rule sets atomically; the loaderd requests stats shares. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <flextoe/bpf.h>

#include "lib/util/file.h"
#include "lib/util/hex.h"
#include "loader/fw/fw_engine.h"
#include "loader/fw/fw_engine_internal.h"
#include "loader/fw/fwrules.h"
#include "loader/loaderd/client.h"


/*
 * Atomic swap (docs/firewall.md): the program reads fw_active once per
 * packet and then only the tables of that generation.  apply writes the
 * new rule set into the generation that is NOT active - its fw_rules
 * entries, fw_tuples, its fw_gens element - and switches fw_active last,
 * with one 4-byte map update.  A packet therefore sees the old set or the
 * new one, never a mix.  The old generation is left intact: a packet
 * that read fw_active just before the switch still finds a complete old
 * set.  Its entries are removed at the next apply, before that generation
 * is rewritten (by then no packet can still be walking it).
 *
 * Which entries the inactive generation holds is known from the rule
 * file that apply saved for it (RUN_DIR/fw/gen<G>.rules, which stats also
 * uses to print the rules): compilation is deterministic, so
 * fw_ruleset_compile_update recompiles it in memory and writes only the
 * rules, buckets and tables in which the new set differs from it - a few
 * map updates when a few rules changed.  Without that record (maps
 * written by hand) the generation's fw_rules entries are deleted and the
 * set is written in full.
 */



int fw_err(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "flextoe-fw %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}


int fw_usage_err(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "flextoe-fw %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun 'flextoe-fw %s -h' for usage.\n", verb);
	return 2;
}

/* Connect to loaderd: 0, or 1 with what went wrong in msg. */
static int conn_try(struct fw_conn *c, const char *verb, const char *run_dir, char *msg, size_t msz)
{
	int err;

	c->verb = verb;
	c->fd = -1;
	if (ldr_sock_path(run_dir, LDR_SOCK, c->sock, sizeof(c->sock))) {
		snprintf(msg, msz, "run directory %s: path too long for a UNIX socket", run_dir);
		return 1;
	}
	err = ldr_connect(c->sock, &c->fd);
	if (err == -ENOENT || err == -ECONNREFUSED)
		snprintf(msg, msz, "cannot reach flextoe-loaderd at %s (%s): is the engine running "
			 "with this run directory? Start flextoe --run-dir %s, or point "
			 "--run-dir / FLEXTOE_RUN_DIR at the engine's", c->sock, strerror(-err), run_dir);
	else if (err == -EACCES)
		snprintf(msg, msz, "cannot reach flextoe-loaderd at %s: permission denied "
			 "(run as root)", c->sock);
	else if (err)
		snprintf(msg, msz, "cannot reach flextoe-loaderd at %s: %s", c->sock, strerror(-err));
	return err ? 1 : 0;
}

int fw_conn_open(struct fw_conn *c, const char *verb, const char *run_dir)
{
	char msg[1024];

	return conn_try(c, verb, run_dir, msg, sizeof(msg)) ? fw_err(verb, "%s", msg) : 0;
}

void fw_conn_close(struct fw_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* One request (consumed).  Returns the response when it is ok; else NULL
 * and *err: the daemon's -errno (its message in msg) or a socket error. */
static json_object *call(struct fw_conn *c, json_object *req, int *err, char *msg, size_t msz)
{
	json_object *resp;

	msg[0] = 0;
	*err = ftoe_jsonmsg_send(c->fd, req);
	json_object_put(req);
	if (*err) {
		snprintf(msg, msz, "talking to flextoe-loaderd at %s: %s", c->sock, strerror(-*err));
		return NULL;
	}
	resp = ftoe_jsonmsg_recv(c->fd, err);
	if (!resp) {
		snprintf(msg, msz, "talking to flextoe-loaderd at %s: %s", c->sock, strerror(-*err));
		return NULL;
	}
	*err = ldr_resp_errno(resp);
	if (*err) {
		snprintf(msg, msz, "%s", ldr_resp_error(resp));
		json_object_put(resp);
		return NULL;
	}
	return resp;
}

/* The id of the firewall program at rx-pre: 0 with *id (0: none). */
int fw_find_firewall(struct fw_conn *c, uint32_t *id)
{
	json_object *resp, *hooks;
	char msg[2048];
	int err;

	*id = 0;
	resp = call(c, ldr_request(FLEXTOE_CTL_OP_LIST), &err, msg, sizeof(msg));
	if (!resp) {
		fw_err(c->verb, "%s", msg);
		return err ? err : -EIO;
	}
	hooks = json_object_object_get(resp, "hooks");
	for (size_t h = 0; hooks && h < json_object_array_length(hooks); h++) {
		json_object *hk = json_object_array_get_idx(hooks, h);
		json_object *progs = json_object_object_get(hk, "progs");

		if (strcmp(json_object_get_string(json_object_object_get(hk, "hook")), FW_HOOK))
			continue;
		for (size_t i = 0; progs && i < json_object_array_length(progs); i++) {
			json_object *p = json_object_array_get_idx(progs, i);
			const char *name = json_object_get_string(json_object_object_get(p, "name"));

			if (name && !strcmp(name, FW_PROG_NAME) && !*id)
				*id = (uint32_t)json_object_get_int64(json_object_object_get(p, "id"));
		}
	}
	json_object_put(resp);
	return 0;
}

/* The firewall object: --obj, else next to the binary (build tree:
 * bin/../xdp-progs; installed: bin/../lib/flextoe/xdp-progs). */
static int find_object(const char *opt, char *out, size_t size)
{
	static const char *const rel[] = { "../xdp-progs/" FW_OBJ_NAME,
					   "../lib/flextoe/xdp-progs/" FW_OBJ_NAME };
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (opt) {
		snprintf(out, size, "%s", opt);
		return access(out, R_OK) ? -errno : 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -ENOENT;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	slash[1] = 0;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		if ((size_t)snprintf(out, size, "%s%s", exe, rel[i]) < size && !access(out, R_OK))
			return 0;
	}
	return -ENOENT;
}

static int load_firewall(struct fw_conn *c, const char *obj, uint32_t *id)
{
	json_object *req, *resp;
	char msg[4096], *buf, *hex;
	size_t len;
	int err;

	buf = ftoe_read_file(obj, &len, &err);
	if (!buf) {
		fw_err(c->verb, "cannot read %s: %s", obj, strerror(-err));
		return err;
	}
	hex = ftoe_hex_encode(buf, len);
	free(buf);
	if (!hex)
		return -ENOMEM;
	req = ldr_request(FLEXTOE_CTL_OP_LOAD);
	json_object_object_add(req, "name", json_object_new_string(FW_OBJ_NAME));
	json_object_object_add(req, "object", json_object_new_string(hex));
	json_object_object_add(req, "hook", json_object_new_string(FW_HOOK));
	json_object_object_add(req, "prog", json_object_new_string(FW_PROG_NAME));
	free(hex);
	resp = call(c, req, &err, msg, sizeof(msg));
	if (!resp) {
		fw_err(c->verb, "cannot load %s at %s: %s", obj, FW_HOOK, msg);
		return err ? err : -EIO;
	}
	*id = (uint32_t)json_object_get_int64(json_object_object_get(resp, "id"));
	json_object_put(resp);
	return *id ? 0 : -EIO;
}

/* ---- map access through loaderd ---------------------------------------- */

/* Writes are queued per map and sent as one map_update_batch /
 * map_delete_batch request of up to FW_BATCH_MAX elements (flushed when
 * the map or the kind of write changes, and by the compiler before and
 * after the switch): a full 100,000-rule set is a few tens of requests
 * instead of ~140,000 round trips through loaderd. */
#define FW_BATCH_MAX	8192



static json_object *map_req(struct fw_target *t, enum flextoe_ctl_op op, const char *map,
			    const void *key, size_t ksz)
{
	json_object *req = ldr_request(op);
	char sel[96], *hex;

	snprintf(sel, sizeof(sel), "%u:%s", t->id, map);
	json_object_object_add(req, "map", json_object_new_string(sel));
	if (key) {
		hex = ftoe_hex_encode(key, ksz);
		json_object_object_add(req, "key", json_object_new_string(hex ? hex : ""));
		free(hex);
	}
	return req;
}

static int map_update_one(struct fw_target *t, const char *map, const void *key, size_t ksz,
			  const void *val, size_t vsz)
{
	json_object *req = map_req(t, FLEXTOE_CTL_OP_MAP_UPDATE, map, key, ksz), *resp;
	char *hex = ftoe_hex_encode(val, vsz);
	int err;

	json_object_object_add(req, "value", json_object_new_string(hex ? hex : ""));
	free(hex);
	resp = call(t->c, req, &err, t->msg, sizeof(t->msg));
	t->requests++;
	if (!resp)
		return err ? err : -EIO;
	json_object_put(resp);
	t->updates++;
	return 0;
}

static int map_delete_one(struct fw_target *t, const char *map, const void *key, size_t ksz)
{
	json_object *resp;
	int err;

	resp = call(t->c, map_req(t, FLEXTOE_CTL_OP_MAP_DELETE, map, key, ksz), &err, t->msg,
		    sizeof(t->msg));
	t->requests++;
	if (!resp)
		return err == -ENOENT ? 0 : err ? err : -EIO;
	json_object_put(resp);
	t->deletes++;
	return 0;
}

static void hex_field(json_object *req, const char *name, const uint8_t *p, size_t len)
{
	char *hex = ftoe_hex_encode(p, len);

	json_object_object_add(req, name, json_object_new_string(hex ? hex : ""));
	free(hex);
}

/* One batch request for elements [from, n) of the queue: 0 with *done
 * (elements written before a failure), or -errno. */
static int batch_send(struct fw_target *t, uint32_t from, uint32_t *done)
{
	struct fw_batch *q = &t->q;
	json_object *req, *resp;
	int err;

	req = map_req(t, q->del ? FLEXTOE_CTL_OP_MAP_DELETE_BATCH : FLEXTOE_CTL_OP_MAP_UPDATE_BATCH,
		      q->map, NULL, 0);
	hex_field(req, "keys", q->keys + from * q->ksz, (q->n - from) * q->ksz);
	if (!q->del)
		hex_field(req, "values", q->vals + from * q->vsz, (q->n - from) * q->vsz);
	t->msg[0] = 0;
	*done = 0;
	err = ftoe_jsonmsg_send(t->c->fd, req);
	json_object_put(req);
	t->requests++;
	resp = err ? NULL : ftoe_jsonmsg_recv(t->c->fd, &err);
	if (!resp) {
		snprintf(t->msg, sizeof(t->msg), "talking to flextoe-loaderd at %s: %s", t->c->sock,
			 strerror(-err));
		return err ? err : -EIO;
	}
	err = ldr_resp_errno(resp);
	*done = (uint32_t)json_object_get_int64(json_object_object_get(resp, "done"));
	if (err)
		snprintf(t->msg, sizeof(t->msg), "%s", ldr_resp_error(resp));
	json_object_put(resp);
	return err;
}

/* The queued writes out, in order. */
static int map_flush(void *ctx)
{
	struct fw_target *t = ctx;
	struct fw_batch *q = &t->q;
	uint32_t from = 0, done, i;
	int err = 0;

	while (from < q->n && !t->no_batch) {
		err = batch_send(t, from, &done);
		if (err == -EOPNOTSUPP && from == 0 && done == 0) {
			t->no_batch = true;	/* an older engine: one request per write */
			err = 0;
			break;
		}
		if (done > q->n - from)
			done = q->n - from;
		if (q->del)
			t->deletes += done;
		else
			t->updates += done;
		from += done;
		if (err == -ENOENT && q->del) {
			from++;		/* a missing key is already deleted */
			err = 0;
		}
		if (err)
			break;
	}
	for (i = from; i < q->n && t->no_batch && !err; i++)
		err = q->del ? map_delete_one(t, q->map, q->keys + i * q->ksz, q->ksz) :
			map_update_one(t, q->map, q->keys + i * q->ksz, q->ksz, q->vals + i * q->vsz,
				       q->vsz);
	q->n = 0;
	return err;
}

static int queue_write(struct fw_target *t, bool del, const char *map, const void *key,
		       size_t ksz, const void *val, size_t vsz)
{
	struct fw_batch *q = &t->q;
	int err;

	if (q->n && (q->del != del || strcmp(q->map, map) || q->ksz != ksz || q->vsz != vsz ||
		     q->n == FW_BATCH_MAX)) {
		err = map_flush(t);
		if (err)
			return err;
	}
	if (!q->keys) {
		/* room for the largest element (fw_rules: 44-byte key, 100-byte bucket) */
		q->keys = malloc((size_t)FW_BATCH_MAX * 64);
		q->vals = malloc((size_t)FW_BATCH_MAX * 128);
		if (!q->keys || !q->vals)
			return -ENOMEM;
	}
	if (ksz > 64 || vsz > 128 || strlen(map) >= sizeof(q->map))
		return -EINVAL;
	if (!q->n) {
		snprintf(q->map, sizeof(q->map), "%s", map);
		q->del = del;
		q->ksz = ksz;
		q->vsz = vsz;
	}
	memcpy(q->keys + q->n * ksz, key, ksz);
	if (vsz)
		memcpy(q->vals + q->n * vsz, val, vsz);
	q->n++;
	return 0;
}

static int map_update(void *ctx, const char *map, const void *key, size_t ksz, const void *val,
		      size_t vsz)
{
	return queue_write(ctx, false, map, key, ksz, val, vsz);
}

/* Deletes fw_rules keys (a missing one is fine); other maps untouched.
 * In the shape of fw_map_ops.update, for the scan of a generation. */
static int map_delete_rules(void *ctx, const char *map, const void *key, size_t ksz,
			    const void *val, size_t vsz)
{
	(void)val; (void)vsz;
	if (strcmp(map, "fw_rules"))
		return 0;
	return queue_write(ctx, true, map, key, ksz, NULL, 0);
}

static void target_free(struct fw_target *t)
{
	free(t->q.keys);
	free(t->q.vals);
	t->q.keys = t->q.vals = NULL;
	t->q.n = 0;
}

/* A map value: plain bytes into out (exactly osz), or for a per-CPU map
 * the sum over CPUs of u64 values into *sum.  -ENOENT when absent. */
int fw_map_lookup(struct fw_target *t, const char *map, const void *key, size_t ksz,
		      void *out, size_t osz, uint64_t *sum)
{
	json_object *resp, *entry, *vals, *v;
	unsigned char *b;
	size_t n;
	int err;

	resp = call(t->c, map_req(t, FLEXTOE_CTL_OP_MAP_LOOKUP, map, key, ksz), &err, t->msg, sizeof(t->msg));
	if (!resp)
		return err ? err : -EIO;
	entry = json_object_object_get(resp, "entry");
	err = -EPROTO;
	if (sum && json_object_object_get_ex(entry, "values", &vals)) {
		*sum = 0;
		err = 0;
		for (size_t i = 0; i < json_object_array_length(vals) && !err; i++) {
			uint64_t x = 0;

			err = ftoe_hex_decode(json_object_get_string(json_object_array_get_idx(vals, i)),
					     &b, &n);
			if (err)
				break;
			memcpy(&x, b, n < sizeof(x) ? n : sizeof(x));
			free(b);
			*sum += x;
		}
	} else if (out && json_object_object_get_ex(entry, "value", &v) &&
		   !ftoe_hex_decode(json_object_get_string(v), &b, &n)) {
		err = n == osz ? 0 : -EPROTO;
		if (!err)
			memcpy(out, b, osz);
		free(b);
	}
	json_object_put(resp);
	if (err == -EPROTO)
		snprintf(t->msg, sizeof(t->msg), "unexpected answer for map %s", map);
	return err;
}

/* hits[i] = the sum over CPUs of fw_counters[gen's rule i], i < n: map_lookup_batch
 * requests of up to FW_BATCH_MAX keys (one map_lookup per rule from an
 * engine without it). */
int fw_counters_read(struct fw_target *t, uint32_t gen, uint32_t n, uint64_t *hits)
{
	uint32_t keys[FW_BATCH_MAX];

	for (uint32_t from = 0; from < n;) {
		uint32_t m = n - from < FW_BATCH_MAX ? n - from : FW_BATCH_MAX, got;
		json_object *req, *resp;
		unsigned char *b = NULL;
		size_t len = 0, stride;
		int err;

		for (uint32_t i = 0; i < m; i++)
			keys[i] = FW_COUNTER_IDX(gen, from + i);
		if (t->no_batch) {
			for (uint32_t i = 0; i < m; i++) {
				err = fw_map_lookup(t, "fw_counters", &keys[i], sizeof(keys[i]), NULL, 0,
						 &hits[from + i]);
				if (err)
					return err;
			}
			from += m;
			continue;
		}
		req = map_req(t, FLEXTOE_CTL_OP_MAP_LOOKUP_BATCH, "fw_counters", NULL, 0);
		hex_field(req, "keys", (const uint8_t *)keys, m * sizeof(keys[0]));
		resp = call(t->c, req, &err, t->msg, sizeof(t->msg));
		t->requests++;
		if (!resp && err == -EOPNOTSUPP && from == 0) {
			t->no_batch = true;	/* an older engine */
			continue;
		}
		if (!resp)
			return err ? err : -EIO;
		stride = (size_t)json_object_get_int64(json_object_object_get(resp, "value_size"));
		got = (uint32_t)json_object_get_int64(json_object_object_get(resp, "done"));
		err = ftoe_hex_decode(json_object_get_string(json_object_object_get(resp, "values")),
				      &b, &len);
		json_object_put(resp);
		if (err || got != m || !stride || stride % sizeof(uint64_t) || len != m * stride) {
			free(b);
			snprintf(t->msg, sizeof(t->msg), "unexpected answer for map fw_counters");
			return -EPROTO;
		}
		for (uint32_t i = 0; i < m; i++) {
			uint64_t sum = 0, x;

			for (size_t c = 0; c < stride; c += sizeof(x)) {
				memcpy(&x, b + i * stride + c, sizeof(x));
				sum += x;
			}
			hits[from + i] = sum;
		}
		free(b);
		from += m;
	}
	return 0;
}

/* The counters of gen's rules 0 .. n - 1 and of its policy to zero: one
 * ranged map_update ("count") for the rules, one for the policy. */
static int counters_reset(struct fw_target *t, uint32_t gen, uint32_t n)
{
	uint64_t zero64 = 0;
	uint32_t k = FW_COUNTER_IDX(gen, FW_MAX_RULES);
	json_object *req, *resp, *upd;
	char *hex;
	int err;

	err = map_update_one(t, "fw_counters", &k, sizeof(k), &zero64, sizeof(zero64));
	if (err || !n)
		return err;
	k = FW_COUNTER_IDX(gen, 0);
	req = map_req(t, FLEXTOE_CTL_OP_MAP_UPDATE, "fw_counters", &k, sizeof(k));
	hex = ftoe_hex_encode(&zero64, sizeof(zero64));
	json_object_object_add(req, "value", json_object_new_string(hex ? hex : ""));
	free(hex);
	json_object_object_add(req, "count", json_object_new_int64(n));
	resp = call(t->c, req, &err, t->msg, sizeof(t->msg));
	if (!resp)
		return err ? err : -EIO;
	/* An engine that does not know "count" wrote only the first key. */
	upd = json_object_object_get(resp, "updated");
	err = upd && json_object_get_int64(upd) == n ? 0 : -EPROTO;
	if (err)
		snprintf(t->msg, sizeof(t->msg), "the engine did not reset %u counters in one "
			 "request (an engine older than this flextoe-fw?)", n);
	json_object_put(resp);
	t->updates++;
	return err;
}

static int map_del(void *ctx, const char *map, const void *key, size_t ksz)
{
	return map_delete_rules(ctx, map, key, ksz, NULL, 0);
}

static int map_nop(void *ctx, const char *map, const void *key, size_t ksz, const void *val,
		   size_t vsz)
{
	(void)ctx; (void)map; (void)key; (void)ksz; (void)val; (void)vsz;
	return 0;
}

/* ---- the saved rule files ------------------------------------------------ */

static int save_path(const char *run_dir, uint32_t gen, char *out, size_t size)
{
	return (size_t)snprintf(out, size, "%s/" FW_SAVE_DIR "/gen%u.rules", run_dir, gen) < size ?
		0 : -ENAMETOOLONG;
}

/* The copy's first line: "# flextoe-fw apply: program ID generation G from PATH";
 * the rule file follows verbatim, so rule lines are one further down. */
#define SAVE_HDR "# flextoe-fw apply: program %u generation %u from "

/* The rule set saved for gen of program id: 0 with *rs (parsed from the
 * copy) and *text (the whole copy), -ENOENT when there is none for this
 * program. */
int fw_saved_load(const char *run_dir, uint32_t id, uint32_t gen, struct fw_ruleset **rs,
		      char **text, char *src, size_t srcsz)
{
	char path[PATH_MAX], *buf, *nl;
	unsigned int pid, pgen;
	struct fw_error ferr;
	size_t len;
	int n = 0, err;

	if (save_path(run_dir, gen, path, sizeof(path)))
		return -ENAMETOOLONG;
	buf = ftoe_read_file(path, &len, &err);
	if (!buf)
		return err;
	nl = strchr(buf, '\n');
	if (!nl || sscanf(buf, SAVE_HDR "%n", &pid, &pgen, &n) != 2 || !n || pid != id ||
	    pgen != gen) {
		free(buf);
		return -ENOENT;
	}
	if (src)
		snprintf(src, srcsz, "%.*s", (int)(nl - (buf + n)), buf + n);
	err = fw_ruleset_parse_str(nl + 1, rs, &ferr);
	if (err) {
		free(buf);
		return err;
	}
	if (text)
		*text = buf;
	else
		free(buf);
	return 0;
}

static int saved_write(const char *run_dir, uint32_t id, uint32_t gen, const char *src,
		       const char *rules)
{
	char path[PATH_MAX], dir[PATH_MAX];
	FILE *f;
	int err = 0;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/" FW_SAVE_DIR, run_dir) >= sizeof(dir) ||
	    save_path(run_dir, gen, path, sizeof(path)))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, SAVE_HDR "%s\n%s", id, gen, src, rules);
	if (rules[0] && rules[strlen(rules) - 1] != '\n')
		fputc('\n', f);
	if (ferror(f))
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

/* ---- apply ---------------------------------------------------------------- */

/* One apply at a time per engine: two would write the same inactive
 * generation.  The lock goes with the process (flock). */
static int apply_lock(const char *run_dir)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/" FW_SAVE_DIR, run_dir) >= sizeof(dir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/apply.lock", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void apply_usage(FILE *f)
{
	fprintf(f,
		"Usage: flextoe-fw apply RULES [--run-dir DIR] [--obj FILE] [-v]\n\n"
		"Make RULES the firewall of the running engine.  Loads the firewall program\n"
		"(firewall.bpf.o) at the rx-pre hook through flextoe-loaderd if it is not\n"
		"loaded yet, writes RULES into the rule-set generation that is not active\n"
		"and then switches generations with one map write: every packet is matched\n"
		"against the old rule set or the new one, never a mix, and established\n"
		"connections the new set still allows are not disturbed.  Hit counters of\n"
		"the new set start at zero (flextoe-fw stats).\n\n"
		"  --run-dir DIR  the engine's run directory (default $FLEXTOE_RUN_DIR, else\n"
		"                 /run/flextoe)\n"
		"  -v, --verbose  print the time each step took (stderr)\n"
		"  --obj FILE     the firewall object to load (default: firewall.bpf.o next\n"
		"                 to this binary, build/xdp-progs or PREFIX/lib/flextoe/xdp-progs)\n"
		"  -h, --help     this help\n\n"
		"Needs root (or flextoe's --loader-group).  Exit status: 0 applied, 1 bad\n"
		"rule file or the engine refused/unreachable, 2 wrong arguments.\n");
}

/* apply -v: the time of each step on stderr */
static bool apply_verbose;
static struct timespec apply_t0;

static void apply_step(const char *what)
{
	struct timespec now;

	if (!apply_verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "flextoe-fw apply: %7.1f ms  %s\n",
		(double)(now.tv_sec - apply_t0.tv_sec) * 1e3 + (double)(now.tv_nsec - apply_t0.tv_nsec) / 1e6,
		what);
}

/* stats --generation G: the counters of generation G, active or not (-1: the active one) */
int fw_stats_gen = -1;

int fw_parse_common(int argc, char **argv, const char *verb, bool with_obj, const char **run_dir,
			const char **obj, bool *json, void (*usage)(FILE *))
{
	static const struct option opts[] = {
		{ "run-dir", required_argument, NULL, 'r' },
		{ "obj", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "generation", required_argument, NULL, 'g' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "r:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'v':
			if (!with_obj)
				return fw_usage_err(verb, "--verbose belongs to apply");
			apply_verbose = true;
			break;
		case 'r': *run_dir = optarg; break;
		case 'o':
			if (!with_obj)
				return fw_usage_err(verb, "--obj belongs to apply");
			*obj = optarg;
			break;
		case 'j':
			if (!json)
				return fw_usage_err(verb, "--json belongs to stats");
			*json = true;
			break;
		case 'g':
			if (!json)
				return fw_usage_err(verb, "--generation belongs to stats");
			if (strcmp(optarg, "0") && strcmp(optarg, "1"))
				return fw_usage_err(verb, "--generation is 0 or 1, not '%s'", optarg);
			fw_stats_gen = optarg[0] - '0';
			break;
		case 'h': usage(stdout); return -1;
		default: return fw_usage_err(verb, "unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

/* ---- the snapshot beside the saved rule file ---------------------------- */

/* RUN_DIR/fw/gen<G>.tables: the generation's compiled tables and parsed
 * rules (fw_snapshot_write), tagged with the program, the generation and
 * a hash of the saved rule text they were compiled from. */
static int snap_path(const char *run_dir, uint32_t gen, char *out, size_t size)
{
	return (size_t)snprintf(out, size, "%s/" FW_SAVE_DIR "/gen%u.tables", run_dir, gen) < size ?
		0 : -ENAMETOOLONG;
}

/* The tag of rule text, the same for the text and for its copy (which
 * saved_write ends with a newline; the hash leaves one last newline out):
 * program, generation and 32 bits of the text's XXH3 (~0.3 ms for the
 * 4.6 MB of 100,000 rules; the hand-written FNV-style loop it replaced
 * took a few ms, twice per apply). */
static uint64_t snap_tag(uint32_t id, uint32_t gen, const char *text)
{
	size_t len = strlen(text);
	uint64_t h;

	if (len && text[len - 1] == '\n')
		len--;
	h = XXH3_64bits(text, len);
	h ^= h >> 32;
	return (uint64_t)id << 33 | (uint64_t)gen << 32 | (uint32_t)h;
}

/* The saved rule text of a generation, mapped: read into fresh memory it
 * cost a copy and ~1,100 page faults at 100,000 rules (docs/firewall.md,
 * "The first edit after a full apply").  The file is apply's own, under
 * its lock; it is unmapped before saved_write rewrites it. */
struct saved_map {
	char *p;
	size_t len;
	bool heap;	/* read: a text of whole pages has no NUL after it */
};

static void saved_release(struct saved_map *m)
{
	if (m->p && m->heap)
		free(m->p);
	else if (m->p)
		munmap(m->p, m->len);
	m->p = NULL;
}

/* The saved rule text of gen (without its header line) into *body. */
static int saved_text(const char *run_dir, uint32_t id, uint32_t gen, struct saved_map *m,
		      char **body)
{
	char path[PATH_MAX], *nl;
	unsigned int pid, pgen;
	struct stat st;
	int n = 0, fd;

	m->p = NULL;
	if (save_path(run_dir, gen, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || !st.st_size) {
		close(fd);
		return -ENOENT;
	}
	m->len = (size_t)st.st_size;
	m->heap = st.st_size % sysconf(_SC_PAGESIZE) == 0;
	if (m->heap) {
		/* a NUL must follow the text; mapped, the rest of its last
		 * page is zero, but a text of whole pages has no rest */
		int err;

		m->p = ftoe_read_file(path, &m->len, &err);
	} else {
		m->p = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m->p == MAP_FAILED)
			m->p = NULL;
	}
	close(fd);
	if (!m->p)
		return -ENOENT;
	nl = strchr(m->p, '\n');
	if (!nl || strlen(m->p) != m->len || sscanf(m->p, SAVE_HDR "%n", &pid, &pgen, &n) != 2 ||
	    !n || pid != id || pgen != gen) {
		saved_release(m);
		return -ENOENT;
	}
	*body = nl + 1;
	return 0;
}

static void report_parse_error(const char *path, const struct fw_error *ferr)
{
	if (ferr->line)
		fprintf(stderr, "%s:%u: %s\n", path, ferr->line, ferr->msg);
	else
		fprintf(stderr, "flextoe-fw apply: %s: %s\n", path, ferr->msg);
}

/* Empty gen's fw_rules entries, found by dumping the map: for a
 * generation whose content apply has no record of (maps written by hand,
 * or a failed apply). */
static int empty_generation(struct fw_target *t, uint32_t gen)
{
	json_object *resp, *ents;
	char msg[2048];
	int err;

	resp = call(t->c, map_req(t, FLEXTOE_CTL_OP_MAP_DUMP, "fw_rules", NULL, 0), &err, msg, sizeof(msg));
	if (!resp)
		return fw_err("apply", "reading fw_rules: %s", msg);
	ents = json_object_object_get(resp, "entries");
	for (size_t i = 0; ents && i < json_object_array_length(ents); i++) {
		const char *k = json_object_get_string(
			json_object_object_get(json_object_array_get_idx(ents, i), "key"));
		unsigned char *kb;
		size_t kn;
		uint32_t tuple;

		if (!k || ftoe_hex_decode(k, &kb, &kn))
			continue;
		memcpy(&tuple, kb, sizeof(tuple));
		if (kn == sizeof(struct fw_key) && tuple / FW_MAX_TUPLES == gen &&
		    map_delete_rules(t, "fw_rules", kb, kn, NULL, 0)) {
			free(kb);
			json_object_put(resp);
			return fw_err("apply", "removing old rules: %s", t->msg);
		}
		free(kb);
	}
	json_object_put(resp);
	return map_flush(t) ? fw_err("apply", "removing old rules: %s", t->msg) : 0;
}

int fw_cmd_apply(int argc, char **argv)
{
	const char *run_dir_opt = NULL, *obj_opt = NULL, *run_dir, *rules_path;
	struct fw_ruleset *rs = NULL, *old = NULL;
	struct fw_tables *tabs = NULL;
	struct fw_compile_stats st = { 0 };
	struct fw_map_ops ops = { 0 };
	struct fw_target t = { 0 };
	struct fw_conn c = { .fd = -1 };
	struct fw_error ferr;
	char obj[PATH_MAX], abs_rules[PATH_MAX], snap[PATH_MAX], cmsg[1024];
	char *text = NULL, *body = NULL;
	struct saved_map saved = { 0 };
	uint32_t id, active = 0, target;
	struct fw_gen g = { 0 };
	bool loaded = false, from_snapshot = false;
	size_t len;
	int ret, err, lock_fd = -1;

	ret = fw_parse_common(argc, argv, "apply", true, &run_dir_opt, &obj_opt, NULL, apply_usage);
	if (ret)
		return ret < 0 ? 0 : ret;
	if (optind != argc - 1)
		return fw_usage_err("apply", optind >= argc ? "missing RULES file" :
				 "expected exactly one RULES file");
	rules_path = argv[optind];
	run_dir = ldr_run_dir(run_dir_opt);
	clock_gettime(CLOCK_MONOTONIC, &apply_t0);

	/* 1. The rule file (read here, parsed in step 4, before any write:
	 * a bad line changes nothing). */
	text = ftoe_read_file(rules_path, &len, &err);
	if (!text)
		return fw_err("apply", "cannot read %s: %s", rules_path, strerror(-err));
	if (strlen(text) != len) {
		free(text);
		return fw_err("apply", "%s: not a text file (NUL byte)", rules_path);
	}
	if (!realpath(rules_path, abs_rules))
		snprintf(abs_rules, sizeof(abs_rules), "%s", rules_path);

	apply_step("rule file read");
	/* 2. The firewall in the engine: find it or load it.  Without an
	 * engine, a bad rule file is still the first thing reported. */
	ret = 1;
	if (conn_try(&c, "apply", run_dir, cmsg, sizeof(cmsg))) {
		if (fw_ruleset_parse_str(text, &rs, &ferr))
			report_parse_error(rules_path, &ferr);
		else
			fw_err("apply", "%s", cmsg);
		goto out;
	}
	/* Without the lock (a run directory we may not write: loaderd
	 * decides who may change the firewall) apply still works; only two
	 * at the same time would not. */
	lock_fd = apply_lock(run_dir);
	if (lock_fd < 0 && lock_fd != -EACCES && lock_fd != -EPERM && lock_fd != -EROFS) {
		fw_err("apply", "cannot lock %s/" FW_SAVE_DIR "/apply.lock: %s", run_dir,
		       strerror(-lock_fd));
		goto out;
	}
	if (fw_find_firewall(&c, &id))
		goto out;
	if (!id) {
		/* a bad file must not load the program either */
		if (fw_ruleset_parse_str(text, &rs, &ferr)) {
			report_parse_error(rules_path, &ferr);
			goto out;
		}
		err = find_object(obj_opt, obj, sizeof(obj));
		if (err) {
			if (obj_opt)
				fw_err("apply", "cannot read %s: %s", obj_opt, strerror(-err));
			else
				fw_err("apply", "cannot find %s next to this binary (../xdp-progs or "
				       "../lib/flextoe/xdp-progs); give it with --obj FILE",
				       FW_OBJ_NAME);
			goto out;
		}
		if (load_firewall(&c, obj, &id))
			goto out;
		loaded = true;
	}
	t.c = &c;
	t.id = id;

	/* 3. Which generation is live; the other one is rewritten. */
	{
		uint32_t zero = 0;

		err = fw_map_lookup(&t, "fw_active", &zero, sizeof(zero), &active, sizeof(active), NULL);
		if (err) {
			fw_err("apply", "reading fw_active of program %u: %s", id, t.msg);
			goto out;
		}
	}
	active &= 1;
	target = active ^ 1;
	apply_step("firewall found, active generation read");
	if (snap_path(run_dir, target, snap, sizeof(snap))) {
		fw_err("apply", "run directory %s: path too long", run_dir);
		goto out;
	}

	/* 4. What the target generation holds (the set saved for it two
	 * applies ago) and the new set.  With its snapshot, only the lines
	 * that differ from the saved text are parsed and the tables are
	 * updated without compiling the rest; without one, both sets are
	 * parsed and the old one compiled in memory; without a record at
	 * all, its fw_rules entries are deleted and the set written in full. */
	if (!rs && !saved_text(run_dir, id, target, &saved, &body)) {
		struct fw_ruleset *snap_rs = NULL;

		if (!fw_snapshot_read(snap, snap_tag(id, target, body), &tabs, &snap_rs)) {
			err = fw_ruleset_parse_edit(snap_rs, body, text, &rs, &ferr);
			fw_ruleset_free(snap_rs);
			if (err) {
				report_parse_error(rules_path, &ferr);
				goto out;
			}
			from_snapshot = true;
		} else if (fw_ruleset_parse_str(body, &old, &ferr)) {
			old = NULL;
		}
	}
	saved_release(&saved);
	if (!rs && fw_ruleset_parse_str(text, &rs, &ferr)) {
		report_parse_error(rules_path, &ferr);
		goto out;
	}
	if (!from_snapshot) {
		/* A dry compile catches "too many tables/buckets" before any
		 * write (the snapshot path finds them before its bucket writes,
		 * in the inactive generation). */
		struct fw_map_ops dry = { .update = map_nop };

		err = fw_ruleset_compile(rs, 0, &dry, NULL, &ferr);
		if (!err && old)
			err = fw_tables_of(old, target, &tabs, &ferr);
		if (err) {
			report_parse_error(rules_path, &ferr);
			goto out;
		}
		if (!old && !loaded && empty_generation(&t, target))
			goto out;
	}

	apply_step(from_snapshot ? "snapshot read, changed lines parsed" : "rule sets parsed and compiled");
	/* 5. Its counters from zero, the rule text for stats, then the
	 * tables and - last, inside the compile or update - the switch. */
	err = counters_reset(&t, target, (uint32_t)fw_ruleset_nr_rules(rs));
	if (err) {
		fw_err("apply", "resetting counters: %s", t.msg);
		goto out;
	}
	apply_step("counters reset");
	if (fw_snapshot_set_aside(snap))
		unlink(snap);
	err = saved_write(run_dir, id, target, abs_rules, text);
	if (err)
		fprintf(stderr, "flextoe-fw apply: warning: cannot keep a copy of the rules in "
			"%s/" FW_SAVE_DIR ": %s (stats will show rule numbers only)\n", run_dir,
			strerror(-err));
	apply_step("rule text saved");
	ops.update = map_update;
	ops.del = map_del;
	ops.flush = map_flush;
	ops.ctx = &t;
	if (tabs)
		err = fw_tables_update(tabs, rs, &ops, &st, &ferr);
	else
		err = fw_tables_compile(rs, target, &ops, &tabs, &st, &ferr);
	if (err) {
		char path[PATH_MAX];

		/* The generation holds part of the new set: forget what it
		 * holds, so that the next apply empties it by scanning. */
		if (!save_path(run_dir, target, path, sizeof(path)))
			unlink(path);
		fw_err("apply", "writing the rules into program %u: %s (the previous rule set "
		       "stays active)", id, t.msg[0] ? t.msg : ferr.msg);
		goto out;
	}
	apply_step("maps written, generation switched");
	/* Read back: the switch is what a packet sees. */
	{
		uint32_t zero = 0, now = 0;

		err = fw_map_lookup(&t, "fw_active", &zero, sizeof(zero), &now, sizeof(now), NULL);
		if (!err)
			err = fw_map_lookup(&t, "fw_gens", &target, sizeof(target), &g, sizeof(g), NULL);
		if (err || now != target || g.nr_rules != st.nr_rules) {
			fw_err("apply", "the firewall does not show generation %u after the switch "
			       "(%s)", target, err ? t.msg : "another apply at the same time?");
			goto out;
		}
	}
	/* For the apply after next, into this generation (a failure only
	 * costs that one its speed). */
	err = fw_snapshot_write(snap, snap_tag(id, target, text), tabs, rs);
	if (err)
		fprintf(stderr, "flextoe-fw apply: warning: cannot keep the compiled tables in %s: "
			"%s (the next apply into generation %u compiles in full)\n", snap,
			strerror(-err), target);
	apply_step("snapshot written");
	printf("%s: %u rules (%u tables, %u buckets; %u map writes%s; %lu requests), policy %s -> "
	       "firewall program %u at %s%s, generation %u active (was %u)\n", rules_path,
	       st.nr_rules, st.nr_tuples, st.nr_entries, st.nr_writes,
	       from_snapshot ? ", changes only, from the snapshot" : old ? ", changes only" : "",
	       t.requests,
	       fw_ruleset_policy(rs) == FW_ACT_DENY ? "deny" : "allow", id, FW_HOOK,
	       loaded ? " (loaded now)" : "", target, active);
	ret = 0;
out:
	if (lock_fd >= 0)
		close(lock_fd);
	target_free(&t);
	fw_conn_close(&c);
	fw_tables_free(tabs);
	fw_ruleset_free(rs);
	fw_ruleset_free(old);
	saved_release(&saved);
	free(text);
	return ret;
}
