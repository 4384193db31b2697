/* ringstream.h - shared by trace and capture: session loads, ring-buffer streaming through loaderd, pcap output. */
#ifndef FTOE_BPF_CLI_RINGSTREAM_H
#define FTOE_BPF_CLI_RINGSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RS_MAX_PROGS	4
/* Each ring_read waits at most this long in the engine when the rings are
 * empty (on their eventfds), so SIGINT/--duration are noticed quickly. */
#define RS_WAIT_MS	200

struct rs_session {
	const char *run_dir;
	uint32_t ids[RS_MAX_PROGS];
	char hooks[RS_MAX_PROGS][16];
	unsigned int nr;
	uint64_t seen, max_count;
	uint64_t lost;			/* perf event arrays: samples the engine's rings dropped */
	double duration;
	struct timespec start;
	int64_t mono_to_real_ns;	/* engine timestamps are CLOCK_MONOTONIC */
	bool failed;
};

/* --obj PATH, else FILE in ../lib/flextoe/xdp-progs or ../xdp-progs next
 * to the binary.  0 or the exit code (message printed). */
int rs_find_object(const char *opt, const char *file, char *out, size_t size);
/* Also installs SIGINT/SIGTERM/SIGHUP handlers that end the session. */
int rs_session_init(struct rs_session *s, const char *run_dir, double duration, uint64_t count);
/* Load path at hook as a session program (unloaded by the engine if we
 * die).  0 or the exit code. */
int rs_load(struct rs_session *s, const char *path, const char *hook);
/* The name of program i's map of libbpf type name TYPE ("array") whose
 * name ends in SUFFIX ("" for any), as the engine lists it (kernel names
 * are cut to 15 characters; internal maps are named after the object's
 * file).  0 or an exit code. */
int rs_map_find(struct rs_session *s, unsigned int i, const char *type, const char *suffix,
		char *out, size_t size);
/* Element 0 of program i's array map. */
int rs_map_set(struct rs_session *s, unsigned int i, const char *map, const void *val,
	       size_t len);
void rs_unload_all(struct rs_session *s);
/* The engine's interface's ifindex (what programs see as ingress_ifindex):
 * 0 with *ifindex, or an exit code. */
int rs_engine_ifindex(struct rs_session *s, uint32_t *ifindex);
bool rs_should_stop(struct rs_session *s);

/* ring is the program's index in the session; non-zero stops. */
typedef int (*rs_record_fn)(void *ctx, unsigned int ring, const void *data, size_t len);
/* One ring_read of map (a ring buffer or a perf event array) in every
 * session program (blocking up to
 * timeout_ms in the engine when empty).  0 or an exit code. */
int rs_poll(struct rs_session *s, const char *map, int timeout_ms, rs_record_fn fn, void *ctx);
/* Called after each ring_read (write out what fn printed). */
typedef void (*rs_flush_fn)(void *ctx);
/* Once the programs are attached: rs_poll map until rs_should_stop, then
 * drain the rings once more without waiting, before the caller unloads the
 * programs (and their rings).  --duration counts from here, not from
 * rs_session_init: on a loaded machine the loads can take seconds.  0 or an
 * exit code. */
int rs_stream(struct rs_session *s, const char *map, rs_record_fn fn, rs_flush_fn flush,
	      void *ctx);

/* Engine timestamp (0: now) to wall-clock time. */
void rs_time(const struct rs_session *s, uint64_t tstamp_ns, struct timespec *out);

/* pcap output (rs_pcap.c, apart: libpcap's pcap/bpf.h clashes with
 * linux/bpf.h).  DLT_EN10MB; NULL after printing why. */
struct rs_pcap;
struct rs_pcap *rs_pcap_open(const char *file, int snaplen);
void rs_pcap_write(struct rs_pcap *p, const struct timespec *ts, const void *data,
		   uint32_t caplen, uint32_t len);
void rs_pcap_flush(struct rs_pcap *p);
void rs_pcap_close(struct rs_pcap *p);

int rs_parse_count(const char *verb, const char *s, uint64_t *out);
int rs_parse_duration(const char *verb, const char *s, double *out);

#endif
