/* ctl_stats.c - the control socket's "stats" and "conns" requests: MIB counters, AF_XDP queues, threads' busy time, connections (flextoe-stat). */
#include <arpa/inet.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/control/appif.h"
#include "core/daemon/app.h"
#include "core/daemon/ctl.h"
#include "core/daemon/daemon.h"

/*
 * Both read the engine's tables on the engine's thread (app_server_call),
 * where no stage changes them meanwhile, and build the JSON here on the
 * control thread.  docs/operating.md lists the counters.
 */

#define CTL_CALL_TIMEOUT_MS 2000
#define CTL_CONNS_MAX 65536	/* listed; "total" says when there are more */

/* The engine's counters under the names nstat(8) shows for the kernel's
 * where one means the same (RFC 4022's tcp MIB, Linux's TcpExt), else a
 * Flextoe one.  X(NAME, field of struct ftoe_engine_stats, HELP). */
#define FTOE_MIB_LIST(X) \
	X(TcpInSegs,              rx_frames,        "frames the engine received (TCP for its address and malformed ones)") \
	X(TcpOutSegs,             tx_frames,        "segments sent") \
	X(TcpRetransSegs,         retransmits,      "segments sent again") \
	X(TcpInErrs,              rx_malformed,     "segments dropped as malformed (checksum, lengths, options)") \
	X(TcpInCsumErrors,        rx_bad_csum,      "of TcpInErrs: a wrong IPv4 or TCP checksum") \
	X(TcpActiveOpens,         conn_active,      "connections opened by the engine's applications (SYN sent)") \
	X(TcpPassiveOpens,        conn_passive,     "connections accepted on a listener") \
	X(TcpAttemptFails,        attempt_fails,    "opens that failed: SYN-SENT or SYN-RECV to CLOSED or LISTEN (RST, timeout, close)") \
	X(TcpEstabResets,         conn_reset,       "connections reset") \
	X(TcpOutRsts,             tx_rst,           "RST segments sent") \
	X(TcpExtTCPAbortOnTimeout, conn_timeout,    "connections given up after the retransmission timeouts") \
	X(TcpExtSyncookiesSent,   syn_cookies_sent, "SYN cookies sent") \
	X(TcpExtSyncookiesRecv,   syn_cookies_ok,   "SYN cookies validated") \
	X(TcpExtTCPChallengeACK,  challenge_acks,   "challenge ACKs sent (RFC 5961)") \
	X(TcpExtTCPOFOQueue,      rx_ooo,           "out-of-order segments queued") \
	X(TcpExtTCPOFODrop,       rx_ooo_full,      "out-of-order segments dropped: every interval in use") \
	X(TcpExtTCPFastRetrans,   fast_retransmits, "fast retransmissions") \
	X(TcpExtTCPTimeouts,      timeouts,         "retransmission timeouts") \
	X(TcpExtTCPLossProbes,    tlp_probes,       "tail loss probes (RFC 8985)") \
	X(TcpExtTCPWinProbe,      probes,           "zero-window probes sent") \
	X(TcpExtPAWSEstab,        rx_paws_drop,     "segments dropped by PAWS (RFC 7323)") \
	X(TcpExtListenDrops,      rx_listen_drop,   "segments to a listener dropped") \
	X(FlextoeInOutOfWindow,   rx_out_of_window, "segments outside the receive window") \
	X(FlextoeInDupSegs,       rx_dup,           "segments carrying only data received before") \
	X(FlextoeInMartians,      rx_martian,       "segments from martian sources dropped") \
	X(FlextoeInFastPath,      rx_fast,          "segments the fast path handled") \
	X(FlextoeInSlowPath,      rx_slow,          "segments handed to the control plane") \
	X(FlextoeInNotOurs,       rx_not_ours,      "frames dropped: not IPv4 TCP to the engine's address") \
	X(FlextoeInBadAck,        rx_bad_ack,       "segments dropped: ACK of data never sent or too old (RFC 5961 5.2)") \
	X(FlextoeInFlowClosed,    rx_flow_closed,   "segments dropped: flow closed or in TIME-WAIT, or no ACK flag") \
	X(FlextoeSynRecvAcks,     syn_rec_acks,     "ACKs to a half-open connection not matching it, dropped") \
	X(FlextoeTimeWaitAcksLimited, tw_acks_limited, "TIME-WAIT ACKs not sent: one per 500 ms") \
	X(FlextoeInNoFlow,        rx_no_flow,       "segments for no known flow") \
	X(FlextoeInBytes,         rx_bytes,         "payload bytes placed in receive buffers") \
	X(FlextoeOutBytes,        tx_bytes,         "payload bytes sent, retransmissions included") \
	X(FlextoeOutAcks,         tx_acks,          "pure ACKs sent") \
	X(FlextoeOutRingFull,     tx_ring_full,     "sends refused by a full transmit ring (retried)") \
	X(FlextoeSpuriousUndos,   spurious_undos,   "loss recoveries undone (Eifel, D-SACK)") \
	X(TcpExtTCPDSACKUndo,     dsack_undos,      "of those, undone by D-SACKs of every retransmission (RFC 3708)") \
	X(TcpExtTCPDSACKRecv,     rx_dsacks,        "D-SACKs received: data that reached the peer twice (RFC 2883)") \
	X(FlextoeSackFull,        sack_full,        "SACKed ranges the sender's scoreboard could not keep") \
	X(FlextoeSackForgotSegs,  sack_forgot_segs, "segments in those ranges, counted in flight again") \
	X(FlextoeRtoResends,      rto_resends,      "segments resent by a retransmission timeout's walk") \
	X(FlextoeSynDropped,      syn_dropped,      "SYNs dropped") \
	X(FlextoeSynTableFull,    syn_table_full,   "SYNs answered with a cookie: half-open table full") \
	X(FlextoeSynExpired,      syn_expired,      "half-open connections given up") \
	X(FlextoeSynAckDropped,   syn_ack_dropped,  "handshake ACKs dropped: accept queue or slots full") \
	X(FlextoeTimeWaitEntered, tw_entered,       "connections that entered TIME-WAIT") \
	X(FlextoeTimeWaitEvicted, tw_evicted,       "TIME-WAIT entries evicted by a full table") \
	X(FlextoeTimeWaitAcks,    tw_acks,          "ACKs sent from TIME-WAIT") \
	X(FlextoeSpliceLateTx,    splice_late_tx,   "spliced-flow segments relayed late") \
	X(FlextoeIn6ExtHdrDrops,  rx_ip6_ext,       "IPv6 segments with extension headers dropped") \
	X(FlextoeInStaleFlow,     rx_stale,         "segments whose flow was freed between the protocol stage and post-processing: dropped") \
	X(FlextoeInStalePlace,    rx_stale_place,   "of those, payload placements that wrote nothing") \
	X(FlextoeRxHeadBogus,     rx_head_bogus,    "reads that found rx_head more than a ring from rx_tail: nothing read (a bug)")

static const char *const hook_verdicts[FTOE_HOOK_NR_COUNTERS] = {
	"aborted", "drop", "pass", "tx", "redirect", "invalid",
};

static void read_stats(struct daemon *d, struct appif *a, void *arg)
{
	(void)a;
	ftoe_engine_get_stats(d->eng, arg);
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

int ctl_stats(struct daemon *d, const char *op, json_object *req, json_object *resp,
	      char *err, size_t esz)
{
	struct ftoe_engine_stats es;
	json_object *mib, *help, *queues, *threads, *hooks;
	int ret;

	(void)op, (void)req;
	ret = app_server_call(d, read_stats, &es, CTL_CALL_TIMEOUT_MS);
	if (ret) {
		snprintf(err, esz, "the engine's thread did not answer in %u ms: %s",
			 CTL_CALL_TIMEOUT_MS, strerror(-ret));
		return ret;
	}
	mib = json_object_new_object();
	help = json_object_new_object();
#define X(name, field, text) \
	add_u64(mib, #name, es.field); \
	json_object_object_add(help, #name, json_object_new_string(text));
	FTOE_MIB_LIST(X)
#undef X
	json_object_object_add(resp, "counters", mib);
	json_object_object_add(resp, "help", help);

	queues = json_object_new_array();
	for (unsigned int i = 0; i < x86_nr_queues(d->x86); i++) {
		struct x86_queue_stats qs;
		json_object *q = json_object_new_object();

		x86_queue_stats(d->x86, i, &qs);
		add_u64(q, "queue", qs.queue);
		add_u64(q, "rx", qs.rx_frames);
		add_u64(q, "rx_bursts", qs.rx_bursts);
		add_u64(q, "tx", qs.tx_frames);
		add_u64(q, "tx_kicks", qs.tx_kicks);
		add_u64(q, "tx_ring_full", qs.tx_ring_full);
		json_object_object_add(q, "xdp_statistics", json_object_new_boolean(qs.xdp_stats));
		add_u64(q, "rx_dropped", qs.rx_dropped);
		add_u64(q, "rx_invalid_descs", qs.rx_invalid_descs);
		add_u64(q, "tx_invalid_descs", qs.tx_invalid_descs);
		add_u64(q, "rx_ring_full", qs.rx_ring_full);
		add_u64(q, "rx_fill_ring_empty_descs", qs.rx_fill_ring_empty_descs);
		add_u64(q, "tx_ring_empty_descs", qs.tx_ring_empty_descs);
		add_u64(q, "rx_arp", qs.rx_arp);
		add_u64(q, "rx_icmp", qs.rx_icmp);
		add_u64(q, "rx_runt", qs.rx_runt);
		add_u64(q, "rx_other", qs.rx_other);
		add_u64(q, "rx_hook_drop", qs.rx_hook_drop);
		add_u64(q, "rx_hook_redirect", qs.rx_hook_redirect);
		add_u64(q, "rx_hook_redirect_tx", qs.rx_hook_redirect_tx);
		add_u64(q, "rx_hook_redirect_cpu", qs.rx_hook_redirect_cpu);
		add_u64(q, "rx_hook_redirect_too_big", qs.rx_hook_redirect_too_big);
		add_u64(q, "rx_hook_tx", qs.rx_hook_tx);
		add_u64(q, "rx_hook_too_big", qs.rx_hook_too_big);
		add_u64(q, "tx_too_big", qs.tx_too_big);
		add_u64(q, "tx_hook_drop", qs.tx_hook_drop);
		json_object_array_add(queues, q);
	}
	json_object_object_add(resp, "queues", queues);

	/* per-stage utilisation: busy = wall - idle (docs/operating.md) */
	threads = json_object_new_array();
	for (unsigned int i = 0; i < x86_nr_threads(d->x86); i++) {
		struct x86_thread_stats ts;
		json_object *t;

		if (x86_thread_stats(d->x86, i, &ts) || !ts.name[0])
			continue;
		t = json_object_new_object();
		json_object_object_add(t, "name", json_object_new_string(ts.name));
		add_u64(t, "wall_ns", ts.wall_ns);
		add_u64(t, "idle_ns", ts.idle_ns);
		add_u64(t, "sleeps", ts.sleeps);
		json_object_array_add(threads, t);
	}
	json_object_object_add(resp, "threads", threads);

	hooks = json_object_new_object();
	for (int k = FTOE_HOOK_FIRST; d->hooks && k < FTOE_HOOK_NR; k++) {
		uint64_t c[FTOE_HOOK_NR_COUNTERS];
		json_object *v = json_object_new_object();

		ftoe_hooks_counters(d->hooks, (enum flextoe_hook)k, c);
		for (int i = 0; i < FTOE_HOOK_NR_COUNTERS; i++)
			add_u64(v, hook_verdicts[i], c[i]);
		json_object_object_add(hooks, ftoe_hook_name((enum flextoe_hook)k), v);
	}
	json_object_object_add(resp, "hooks", hooks);
	return 0;
}

struct conns_snap {
	struct ftoe_conn_info *conns;
	uint32_t nconns, total;
	struct ftoe_listener_info lis[FTOE_LISTENERS_MAX];
	uint32_t nlis;
	/* owners, by the index in conns / lis: context id and pid (0: none) */
	uint32_t *ctx;
	int *pid;
	uint32_t lis_ctx[FTOE_LISTENERS_MAX];
	int lis_pid[FTOE_LISTENERS_MAX];
};

static void read_conns(struct daemon *d, struct appif *a, void *arg)
{
	struct conns_snap *s = arg;

	s->total = ftoe_engine_conns(d->eng, s->conns, CTL_CONNS_MAX);
	s->nconns = s->total < CTL_CONNS_MAX ? s->total : CTL_CONNS_MAX;
	s->nlis = ftoe_engine_listeners(d->eng, s->lis, FTOE_LISTENERS_MAX);
	if (s->nlis > FTOE_LISTENERS_MAX)
		s->nlis = FTOE_LISTENERS_MAX;
	for (uint32_t i = 0; i < s->nconns; i++)
		if (!a || appif_owner(a, s->conns[i].id, -1, &s->ctx[i], &s->pid[i]))
			s->ctx[i] = 0, s->pid[i] = 0;
	for (uint32_t i = 0; i < s->nlis; i++)
		if (!a || appif_owner(a, 0, (int)s->lis[i].index, &s->lis_ctx[i], &s->lis_pid[i]))
			s->lis_ctx[i] = 0, s->lis_pid[i] = 0;
}

static void add_ip(json_object *o, const char *k, uint32_t ip_host)
{
	char buf[INET_ADDRSTRLEN];
	uint32_t be = htonl(ip_host);

	inet_ntop(AF_INET, &be, buf, sizeof(buf));
	json_object_object_add(o, k, json_object_new_string(buf));
}

static void add_ip6(json_object *o, const char *k, const uint8_t a[16])
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(AF_INET6, a, buf, sizeof(buf));
	json_object_object_add(o, k, json_object_new_string(buf));
}

static json_object *conn_json(const struct ftoe_conn_info *c, uint32_t ctx, int pid)
{
	json_object *o = json_object_new_object();

	add_u64(o, "id", c->id);
	json_object_object_add(o, "state", json_object_new_string(c->state));
	/* an IPv6 connection's addresses as IPv6 text ("fd00::5") */
	if (c->ip_version == 6) {
		add_ip6(o, "local_ip", c->local_ip6);
		add_ip6(o, "remote_ip", c->remote_ip6);
	} else {
		add_ip(o, "local_ip", c->local_ip);
		add_ip(o, "remote_ip", c->remote_ip);
	}
	add_u64(o, "local_port", c->local_port);
	add_u64(o, "remote_port", c->remote_port);
	add_u64(o, "send_q", c->send_q);
	add_u64(o, "recv_q", c->recv_q);
	add_u64(o, "srtt_us", c->srtt_us);
	add_u64(o, "rttvar_us", c->rttvar_us);
	add_u64(o, "rto_us", c->rto_us);
	add_u64(o, "cwnd", c->cwnd);
	add_u64(o, "rate_kbps", c->rate_kbps);
	add_u64(o, "snd_mss", c->snd_mss);
	add_u64(o, "rcv_mss", c->rcv_mss);
	add_u64(o, "snd_wnd", c->snd_wnd);
	add_u64(o, "rcv_wnd", c->rcv_wnd);
	add_u64(o, "snd_wscale", c->snd_wscale);
	add_u64(o, "rcv_wscale", c->rcv_wscale);
	json_object_object_add(o, "ts", json_object_new_boolean(c->ts));
	json_object_object_add(o, "sack", json_object_new_boolean(c->sack));
	json_object_object_add(o, "ecn", json_object_new_boolean(c->ecn));
	add_u64(o, "retrans", c->retrans_total);
	add_u64(o, "bytes_acked", c->bytes_acked);
	add_u64(o, "bytes_received", c->bytes_received);
	add_u64(o, "flow_group", c->flow_group);
	add_u64(o, "context", ctx);
	add_u64(o, "pid", (uint64_t)pid);
	return o;
}

int ctl_conns(struct daemon *d, const char *op, json_object *req, json_object *resp,
	      char *err, size_t esz)
{
	struct conns_snap *s = calloc(1, sizeof(*s));
	json_object *arr, *lis;
	char ip[INET_ADDRSTRLEN];
	int ret = -ENOMEM;

	(void)op, (void)req;
	if (!s)
		goto out;
	s->conns = calloc(CTL_CONNS_MAX, sizeof(*s->conns));
	s->ctx = calloc(CTL_CONNS_MAX, sizeof(*s->ctx));
	s->pid = calloc(CTL_CONNS_MAX, sizeof(*s->pid));
	if (!s->conns || !s->ctx || !s->pid)
		goto out;
	ret = app_server_call(d, read_conns, s, CTL_CALL_TIMEOUT_MS);
	if (ret) {
		snprintf(err, esz, "the engine's thread did not answer in %u ms: %s",
			 CTL_CALL_TIMEOUT_MS, strerror(-ret));
		goto out;
	}
	arr = json_object_new_array();
	for (uint32_t i = 0; i < s->nconns; i++)
		json_object_array_add(arr, conn_json(&s->conns[i], s->ctx[i], s->pid[i]));
	json_object_object_add(resp, "conns", arr);
	add_u64(resp, "total", s->total);
	inet_ntop(AF_INET, &d->opts.ip_be, ip, sizeof(ip));
	lis = json_object_new_array();
	for (uint32_t i = 0; i < s->nlis; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "state", json_object_new_string("LISTEN"));
		json_object_object_add(o, "local_ip", json_object_new_string(ip));
		add_u64(o, "local_port", s->lis[i].port);
		add_u64(o, "backlog", s->lis[i].backlog);
		add_u64(o, "pending", s->lis[i].pending);
		add_u64(o, "queued", s->lis[i].queued);
		add_u64(o, "shared_owner", s->lis[i].owner);
		add_u64(o, "context", s->lis_ctx[i]);
		add_u64(o, "pid", (uint64_t)s->lis_pid[i]);
		json_object_array_add(lis, o);
	}
	json_object_object_add(resp, "listeners", lis);
	ret = 0;
out:
	if (ret == -ENOMEM)
		snprintf(err, esz, "out of memory");
	if (s) {
		free(s->conns);
		free(s->ctx);
		free(s->pid);
		free(s);
	}
	return ret;
}
