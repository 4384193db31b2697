/* ctl_ring.c - control requests for trace sessions: draining ring-buffer and perf-event-array maps (ring_read) and unloading programs whose owner process exited. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "core/daemon/daemon.h"
#include "core/daemon/hooks_ebpf.h"
#include "core/daemon/ctl.h"
#include "ebpf/ebpf.h"
#include "lib/util/log.h"

/*
 * ring_read: {"rings": [{"id": N, "map": "NAME"}, ...], "timeout_ms": T}
 * answers {"rings": [{"id", "map", "records": ["hex", ...], "lost": L}]}.
 * A map is a ring buffer, or a perf event array (xdpdump's output): for
 * that the engine becomes the consumer libbpf's perf_buffer would be
 * (hx_perf_buffer: a ring in every slot, made by the first ring_read, so
 * bpf_perf_event_output delivers from then on), the records are the
 * samples' raw bytes and "lost" counts the samples the full rings
 * dropped.  When every ring is empty the ctl thread sleeps in poll() on
 * the rings' eventfds (ebpf_ringbuf_wait_fd, ebpf_perf_buffer_wait_fd:
 * written when a record arrives while the consumer has caught up, like
 * the kernel wakes epoll) and the stop eventfd, at most T ms (capped at
 * CTL_RING_MAX_WAIT_MS) - never a busy loop.  The ctl thread serves one
 * request at a time, so other requests wait at most that long behind a
 * ring_read.
 */
#define CTL_RING_MAX_WAIT_MS	500
#define CTL_RING_MAX_RINGS	8
/* One response stays well below FTOE_CTL_MSG_MAX (64 MiB): hex doubles. */
#define CTL_RING_MAX_BYTES	(16u << 20)

struct ring_sel {
	uint32_t id;
	struct ebpf_map *map;
	struct ebpf_perf_buffer *pb;	/* perf event arrays */
	json_object *records;
	uint64_t lost;
};

struct drain_ctx {
	json_object *records;
	size_t bytes;
	uint64_t lost;		/* perf: samples the full rings dropped */
};

static int add_record(void *ctx, void *data, size_t size)
{
	static const char digits[] = "0123456789abcdef";
	struct drain_ctx *d = ctx;
	const uint8_t *p = data;
	char *s = malloc(size * 2 + 1);

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * size] = 0;
	json_object_array_add(d->records, json_object_new_string(s));
	free(s);
	d->bytes += size;
	/* Stop after this record (it counts as consumed); the rest stays
	 * for the next request. */
	return d->bytes >= CTL_RING_MAX_BYTES ? -ENOBUFS : 0;
}

/* A perf sample is taken whole: a slot's ring (HX_PERF_PAGES) is far
 * below CTL_RING_MAX_BYTES. */
static void add_sample(void *ctx, int cpu, void *data, uint32_t size)
{
	(void)cpu;
	add_record(ctx, data, size);
}

static void add_lost(void *ctx, int cpu, uint64_t cnt)
{
	(void)cpu;
	((struct drain_ctx *)ctx)->lost += cnt;
}

static int drain(struct ring_sel *r, size_t n, size_t *total)
{
	*total = 0;
	for (size_t i = 0; i < n; i++) {
		struct drain_ctx d = { .records = r[i].records };
		int ret;

		if (r[i].pb)
			ret = ebpf_perf_buffer_consume(r[i].pb, add_sample, add_lost, &d);
		else
			ret = ebpf_ringbuf_consume(r[i].map, add_record, &d);
		r[i].lost += d.lost;
		if (ret < 0 && ret != -ENOBUFS)
			return ret;
		*total += json_object_array_length(r[i].records);
	}
	return 0;
}

static int parse_rings(struct daemon *d, json_object *arr, struct ring_sel *r, size_t *n,
		       char *err, size_t esz)
{
	size_t cnt = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;

	if (!cnt || cnt > CTL_RING_MAX_RINGS) {
		snprintf(err, esz, "ring_read needs 1 to %d rings ({\"id\": N, \"map\": NAME})",
			 CTL_RING_MAX_RINGS);
		return -EINVAL;
	}
	for (size_t i = 0; i < cnt; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *jid, *jm;
		struct hx_prog *p;
		int64_t id;

		if (!json_object_object_get_ex(o, "id", &jid) || !json_object_object_get_ex(o, "map", &jm) ||
		    !json_object_is_type(jm, json_type_string)) {
			snprintf(err, esz, "ring_read: each ring needs \"id\" and \"map\"");
			return -EINVAL;
		}
		id = json_object_get_int64(jid);
		p = id > 0 && id <= UINT32_MAX ? hx_find(d, (uint32_t)id) : NULL;
		if (!p) {
			snprintf(err, esz, "no program with id %lld is loaded (see flextoe-bpf list)",
				 (long long)id);
			return -ENOENT;
		}
		r[i].id = p->id;
		r[i].map = ebpf_object_find_map(p->obj, json_object_get_string(jm));
		if (!r[i].map) {
			snprintf(err, esz, "program %u has no map named '%s'", p->id,
				 json_object_get_string(jm));
			return -ENOENT;
		}
		r[i].pb = NULL;
		r[i].lost = 0;
		if (ebpf_map_type(r[i].map) == BPF_MAP_TYPE_PERF_EVENT_ARRAY) {
			int ret = hx_perf_buffer(p, r[i].map, &r[i].pb);

			if (ret) {
				snprintf(err, esz, "map %u:%s: cannot read it: %s%s", p->id,
					 json_object_get_string(jm), strerror(-ret),
					 ret == -ENOSPC ? " (4 perf event arrays per program)" : "");
				return ret;
			}
		} else if (ebpf_map_type(r[i].map) != BPF_MAP_TYPE_RINGBUF) {
			snprintf(err, esz, "map %u:%s is neither a ring buffer nor a perf event array",
				 p->id, json_object_get_string(jm));
			return -EINVAL;
		}
	}
	*n = cnt;
	return 0;
}

int ctl_ring_read(struct daemon *d, json_object *req, json_object *resp, char *err, size_t esz)
{
	struct ring_sel r[CTL_RING_MAX_RINGS];
	struct pollfd pfd[CTL_RING_MAX_RINGS + 1];
	json_object *arr = NULL, *out, *jt;
	size_t n = 0, total;
	int64_t timeout = 200;
	uint64_t junk;
	int ret;

	json_object_object_get_ex(req, "rings", &arr);
	ret = parse_rings(d, arr, r, &n, err, esz);
	if (ret)
		return ret;
	if (json_object_object_get_ex(req, "timeout_ms", &jt))
		timeout = json_object_get_int64(jt);
	if (timeout < 0)
		timeout = 0;
	if (timeout > CTL_RING_MAX_WAIT_MS)
		timeout = CTL_RING_MAX_WAIT_MS;
	out = json_object_new_array();
	json_object_object_add(resp, "rings", out);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		r[i].records = json_object_new_array();
		json_object_object_add(o, "id", json_object_new_int64(r[i].id));
		json_object_object_add(o, "map", json_object_new_string(ebpf_map_name(r[i].map)));
		json_object_object_add(o, "records", r[i].records);
		json_object_array_add(out, o);
		pfd[i].fd = r[i].pb ? ebpf_perf_buffer_wait_fd(r[i].pb) : ebpf_ringbuf_wait_fd(r[i].map);
		pfd[i].events = POLLIN;
		/* Reset the wakeup before consuming: a record submitted after
		 * the drain below writes it again, so the poll cannot miss it. */
		if (pfd[i].fd >= 0 && read(pfd[i].fd, &junk, sizeof(junk)) < 0 && errno != EAGAIN)
			pr_debug("ring_read: eventfd: %s", strerror(errno));
	}
	pfd[n].fd = d->ctl_stop_efd;
	pfd[n].events = POLLIN;
	ret = drain(r, n, &total);
	if (!ret && !total && timeout > 0) {
		if (poll(pfd, n + 1, (int)timeout) > 0 && !pfd[n].revents) {
			for (size_t i = 0; i < n; i++)
				if (pfd[i].revents & POLLIN &&
				    read(pfd[i].fd, &junk, sizeof(junk)) < 0 && errno != EAGAIN)
					pr_debug("ring_read: eventfd: %s", strerror(errno));
			ret = drain(r, n, &total);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (r[i].pb)
			json_object_object_add(json_object_array_get_idx(out, i), "lost",
					       json_object_new_int64((int64_t)r[i].lost));
	if (ret)
		snprintf(err, esz, "ring_read: %s", strerror(-ret));
	return ret;
}

/* ---- programs owned by a client process ------------------------------------- */

/*
 * A trace session's programs carry the pid of the flextoe-bpf process
 * that loaded them (loaderd takes it from SO_PEERCRED, never from the
 * client).  The engine holds a pidfd for it; the ctl thread polls the
 * pidfds with its sockets, and a pidfd turns readable when that process
 * exits (pidfd_open(2)) - then its programs are unloaded, even after
 * kill -9.  Only the ctl thread touches this table.
 */
struct owned {
	uint32_t id;
	int pidfd;
	pid_t pid;
};

static struct owned owned[CTL_MAX_OWNED];
static unsigned int nr_owned;

int ctl_owner_open(pid_t pid, char *err, size_t esz)
{
	int fd;

	if (nr_owned == CTL_MAX_OWNED) {
		snprintf(err, esz, "too many session programs (%d); stop another trace first",
			 CTL_MAX_OWNED);
		return -EMFILE;
	}
	fd = pidfd_open(pid, 0);
	if (fd < 0) {
		int e = -errno;

		snprintf(err, esz, "the session's process %d is gone or cannot be watched: %s",
			 (int)pid, strerror(errno));
		return e;
	}
	return fd;
}

void ctl_owner_add(uint32_t id, pid_t pid, int pidfd)
{
	owned[nr_owned++] = (struct owned){ .id = id, .pidfd = pidfd, .pid = pid };
}

void ctl_owner_forget(uint32_t id)
{
	for (unsigned int i = 0; i < nr_owned; i++) {
		if (owned[i].id != id)
			continue;
		close(owned[i].pidfd);
		owned[i] = owned[--nr_owned];
		return;
	}
}

pid_t ctl_owner_pid(uint32_t id)
{
	for (unsigned int i = 0; i < nr_owned; i++)
		if (owned[i].id == id)
			return owned[i].pid;
	return 0;
}

unsigned int ctl_owner_pollfds(struct pollfd *pfd)
{
	for (unsigned int i = 0; i < nr_owned; i++) {
		pfd[i].fd = owned[i].pidfd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return nr_owned;
}

void ctl_owner_reap(struct daemon *d, const struct pollfd *pfd, unsigned int n)
{
	uint32_t dead[CTL_MAX_OWNED];
	pid_t pids[CTL_MAX_OWNED];
	unsigned int nd = 0;

	for (unsigned int i = 0; i < n && i < nr_owned; i++) {
		if (pfd[i].revents && owned[i].pidfd == pfd[i].fd) {
			pids[nd] = owned[i].pid;
			dead[nd++] = owned[i].id;
		}
	}
	for (unsigned int i = 0; i < nd; i++) {
		int ret;

		ctl_owner_forget(dead[i]);
		ret = hx_unload(d, dead[i]);
		if (ret && ret != -ENOENT)
			pr_warn("unloading program %u of exited session %d: %s", dead[i],
				(int)pids[i], strerror(-ret));
		else if (!ret)
			pr_info("unloaded program %u: its trace session (pid %d) exited", dead[i],
				(int)pids[i]);
	}
}

void ctl_owner_fini(void)
{
	while (nr_owned)
		ctl_owner_forget(owned[0].id);
}
