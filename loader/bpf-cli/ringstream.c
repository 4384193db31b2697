/* ringstream.c - shared by trace and capture: finding their objects, session loads through loaderd, streaming ring buffers, stop conditions. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util/file.h"
#include "lib/util/hex.h"
#include "loader/bpf-cli/cli.h"
#include "loader/bpf-cli/ringstream.h"
#include "loader/loaderd/client.h"

static volatile sig_atomic_t stop_sig;

static void on_signal(int sig)
{
	stop_sig = sig;
}

int rs_find_object(const char *opt, const char *file, char *out, size_t size)
{
	char exe[PATH_MAX], *dir;
	ssize_t n;

	if (opt) {
		if (access(opt, R_OK))
			return cli_fail("cannot read %s: %s", opt, strerror(errno));
		snprintf(out, size, "%s", opt);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		static const char *const rel[] = { "../lib/flextoe/xdp-progs", "../xdp-progs" };

		exe[n] = 0;
		dir = dirname(exe);
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if ((size_t)snprintf(out, size, "%s/%s/%s", dir, rel[i], file) < size &&
			    !access(out, R_OK))
				return 0;
		}
	}
	return cli_fail("cannot find %s next to %s (looked in ../lib/flextoe/xdp-progs and "
			"../xdp-progs); give its path with --obj PATH", file, CLI_NAME);
}

int rs_session_init(struct rs_session *s, const char *run_dir, double duration, uint64_t count)
{
	struct sigaction sa;

	memset(s, 0, sizeof(*s));
	s->run_dir = cli_run_dir(run_dir);
	s->max_count = count;
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	s->duration = duration;
	{
		struct timespec rt, mono;

		clock_gettime(CLOCK_REALTIME, &rt);
		clock_gettime(CLOCK_MONOTONIC, &mono);
		s->mono_to_real_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll +
				     (rt.tv_nsec - mono.tv_nsec);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: nothing blocks long anyway */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int rs_load(struct rs_session *s, const char *path, const char *hook)
{
	json_object *req, *resp;
	uint8_t *buf;
	size_t len;
	char *hex;
	int rc, err;

	if (s->nr >= RS_MAX_PROGS)
		return cli_fail("too many programs in one session");
	buf = ftoe_read_file(path, &len, &err);
	if (!buf)
		return cli_fail("cannot read %s: %s", path, strerror(-err));
	hex = ftoe_hex_encode(buf, len);
	free(buf);
	if (!hex)
		return cli_fail("out of memory");
	req = ldr_request(FLEXTOE_CTL_OP_LOAD);
	json_object_object_add(req, "name", json_object_new_string(basename((char *)path)));
	json_object_object_add(req, "object", json_object_new_string(hex));
	json_object_object_add(req, "hook", json_object_new_string(hook));
	/* The engine unloads it if this process dies without doing so. */
	json_object_object_add(req, "session", json_object_new_boolean(true));
	free(hex);
	resp = cli_loaderd_call(s->run_dir, req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	s->ids[s->nr] = (uint32_t)json_object_get_int64(json_object_object_get(resp, "id"));
	snprintf(s->hooks[s->nr], sizeof(s->hooks[s->nr]), "%s", hook);
	s->nr++;
	json_object_put(resp);
	return 0;
}

int rs_map_find(struct rs_session *s, unsigned int i, const char *type, const char *suffix,
		char *out, size_t size)
{
	json_object *req = ldr_request(FLEXTOE_CTL_OP_MAP_LIST), *resp, *maps;
	size_t sl = strlen(suffix);
	int rc;

	resp = cli_loaderd_call(s->run_dir, req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	rc = -1;
	maps = json_object_object_get(resp, "maps");
	for (size_t k = 0; maps && k < json_object_array_length(maps); k++) {
		json_object *m = json_object_array_get_idx(maps, k);
		const char *name = json_object_get_string(json_object_object_get(m, "name"));
		const char *t = json_object_get_string(json_object_object_get(m, "type"));
		size_t nl = name ? strlen(name) : 0;

		if (json_object_get_int64(json_object_object_get(m, "prog_id")) != s->ids[i] ||
		    !t || strcmp(t, type) || nl < sl || strcmp(name + nl - sl, suffix))
			continue;
		snprintf(out, size, "%s", name);
		rc = 0;
		break;
	}
	json_object_put(resp);
	if (rc)
		rc = cli_fail("program %u has no %s map%s%s", s->ids[i], type, sl ? " named *" : "",
			      suffix);
	return rc;
}

int rs_map_set(struct rs_session *s, unsigned int i, const char *map, const void *val,
	       size_t len)
{
	json_object *req, *resp;
	char sel[128], *hex = ftoe_hex_encode(val, len);
	int rc;

	if (!hex)
		return cli_fail("out of memory");
	snprintf(sel, sizeof(sel), "%u:%s", s->ids[i], map);
	req = ldr_request(FLEXTOE_CTL_OP_MAP_UPDATE);
	json_object_object_add(req, "map", json_object_new_string(sel));
	json_object_object_add(req, "key", json_object_new_string("00000000"));
	json_object_object_add(req, "value", json_object_new_string(hex));
	free(hex);
	resp = cli_loaderd_call(s->run_dir, req, &rc);
	json_object_put(req);
	json_object_put(resp);
	return resp ? 0 : rc;
}

void rs_unload_all(struct rs_session *s)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		json_object *req = ldr_request(FLEXTOE_CTL_OP_UNLOAD), *resp;
		int rc;

		json_object_object_add(req, "id", json_object_new_int64(s->ids[i]));
		resp = cli_loaderd_call(s->run_dir, req, &rc);
		json_object_put(req);
		json_object_put(resp);
	}
	s->nr = 0;
}

int rs_engine_ifindex(struct rs_session *s, uint32_t *ifindex)
{
	json_object *req = ldr_request(FLEXTOE_CTL_OP_HELLO), *resp, *j;
	int rc;

	resp = cli_loaderd_call(s->run_dir, req, &rc);
	json_object_put(req);
	if (!resp)
		return rc;
	rc = json_object_object_get_ex(resp, "ifindex", &j) ? 0 :
		cli_fail("the engine does not report its ifindex (an older engine?)");
	if (!rc)
		*ifindex = (uint32_t)json_object_get_int64(j);
	json_object_put(resp);
	return rc;
}

bool rs_should_stop(struct rs_session *s)
{
	struct timespec now;

	if (stop_sig || s->failed)
		return true;
	if (s->max_count && s->seen >= s->max_count)
		return true;
	if (s->duration > 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)(now.tv_sec - s->start.tv_sec) +
		    (double)(now.tv_nsec - s->start.tv_nsec) / 1e9 >= s->duration)
			return true;
	}
	return false;
}

int rs_poll(struct rs_session *s, const char *map, int timeout_ms, rs_record_fn fn, void *ctx)
{
	json_object *req, *resp, *rings, *arr;
	int rc = 0;

	req = ldr_request(FLEXTOE_CTL_OP_RING_READ);
	rings = json_object_new_array();
	for (unsigned int i = 0; i < s->nr; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "id", json_object_new_int64(s->ids[i]));
		json_object_object_add(o, "map", json_object_new_string(map));
		json_object_array_add(rings, o);
	}
	json_object_object_add(req, "rings", rings);
	json_object_object_add(req, "timeout_ms", json_object_new_int(timeout_ms));
	resp = cli_loaderd_call(s->run_dir, req, &rc);
	json_object_put(req);
	if (!resp) {
		s->failed = true;
		return rc;
	}
	arr = json_object_object_get(resp, "rings");
	for (size_t r = 0; arr && r < json_object_array_length(arr); r++) {
		json_object *ring = json_object_array_get_idx(arr, r);
		json_object *recs = json_object_object_get(ring, "records"), *jl;

		if (json_object_object_get_ex(ring, "lost", &jl))
			s->lost += (uint64_t)json_object_get_int64(jl);

		for (size_t k = 0; recs && k < json_object_array_length(recs); k++) {
			unsigned char *buf;
			size_t len;

			if (ftoe_hex_decode(json_object_get_string(json_object_array_get_idx(recs, k)),
					   &buf, &len))
				continue;
			rc = fn(ctx, (unsigned int)r, buf, len);
			free(buf);
			if (rc)
				break;
		}
	}
	json_object_put(resp);
	return rc;
}

int rs_stream(struct rs_session *s, const char *map, rs_record_fn fn, rs_flush_fn flush,
	      void *ctx)
{
	bool last;
	int rc;

	/* The window the user asked for starts now that the programs are
	 * attached; loading them may have taken most of it. */
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	do {
		/* Once stopping, one more read that does not wait: records the
		 * programs emitted since the previous read (this process may
		 * not have run for a while) would go with the rings at unload. */
		last = rs_should_stop(s);
		if (s->max_count && s->seen >= s->max_count)
			break;
		rc = rs_poll(s, map, last ? 0 : RS_WAIT_MS, fn, ctx);
		if (rc < 0 || s->failed)
			return rc > 0 ? rc : CLI_EXIT_FAIL;
		if (flush)
			flush(ctx);
	} while (!last);
	return 0;
}

void rs_time(const struct rs_session *s, uint64_t tstamp_ns, struct timespec *out)
{
	int64_t ns;

	if (tstamp_ns) {
		ns = (int64_t)tstamp_ns + s->mono_to_real_ns;
		out->tv_sec = ns / 1000000000ll;
		out->tv_nsec = ns % 1000000000ll;
	} else {
		clock_gettime(CLOCK_REALTIME, out);	/* no metadata: stamp on receipt */
	}
}

int rs_parse_count(const char *verb, const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || !*out)
		return cli_usage_error(verb, "bad --count '%s': expected a positive integer", s);
	return 0;
}

int rs_parse_duration(const char *verb, const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || !*s || *end || !(*out > 0))
		return cli_usage_error(verb, "bad --duration '%s': expected seconds (> 0)", s);
	return 0;
}
