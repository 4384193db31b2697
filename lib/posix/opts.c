/* opts.c - socket options of engine sockets: a table of the options kept per socket, validated and normalised by a scratch kernel socket so that values read back are Linux's, and the few the engine answers itself (TCP_INFO, SO_ERROR, TCP_MAXSEG). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <linux/tcp.h>

#include "lib/posix/internal.h"

#ifndef SO_RCVTIMEO_NEW
#define SO_RCVTIMEO_NEW 66
#define SO_SNDTIMEO_NEW 67
#endif

/* How the engine treats an option (docs/posix.md lists the differences). */
enum {
	H_YES,		/* honoured */
	H_STORED,	/* kept and read back; no effect on the engine's TCP */
	H_NONZERO_NO,	/* only its default (0) is possible: others ENOPROTOOPT */
	H_NO,		/* cannot be set: ENOPROTOOPT */
};

struct opt_desc {
	int level, name;
	uint8_t how;
};

static const struct opt_desc table[PX_NOPTS] = {
	{ SOL_SOCKET, SO_REUSEADDR, H_STORED },
	{ SOL_SOCKET, SO_REUSEPORT, H_STORED },
	{ SOL_SOCKET, SO_KEEPALIVE, H_STORED },
	{ SOL_SOCKET, SO_RCVBUF, H_STORED },
	{ SOL_SOCKET, SO_SNDBUF, H_STORED },
	{ SOL_SOCKET, SO_LINGER, H_YES },
	{ SOL_SOCKET, SO_RCVTIMEO, H_YES },
	{ SOL_SOCKET, SO_SNDTIMEO, H_YES },
	{ SOL_SOCKET, SO_OOBINLINE, H_STORED },
	{ IPPROTO_TCP, TCP_NODELAY, H_YES },
	{ IPPROTO_TCP, TCP_CORK, H_STORED },
	{ IPPROTO_TCP, TCP_KEEPIDLE, H_STORED },
	{ IPPROTO_TCP, TCP_KEEPINTVL, H_STORED },
	{ IPPROTO_TCP, TCP_KEEPCNT, H_STORED },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, H_NONZERO_NO },
	{ IPPROTO_TCP, TCP_QUICKACK, H_STORED },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, H_STORED },
	{ IPPROTO_TCP, TCP_MAXSEG, H_STORED },	/* read: the engine's MSS once connected */
	{ IPPROTO_IP, IP_TOS, H_STORED },
	{ IPPROTO_IP, IP_TTL, H_STORED },
	{ SOL_SOCKET, SO_PRIORITY, H_STORED },
	/* AF_INET6 sockets only (an AF_INET scratch socket refuses them):
	 * IPV6_V6ONLY decides at listen() which families the engine's
	 * listener takes, and cannot change once bound (EINVAL, as Linux) */
	{ IPPROTO_IPV6, IPV6_V6ONLY, H_STORED },
	{ IPPROTO_IPV6, IPV6_TCLASS, H_STORED },
};

int px_opt_index(int level, int name)
{
	if (level == SOL_SOCKET && name == SO_RCVTIMEO_NEW)
		name = SO_RCVTIMEO;
	if (level == SOL_SOCKET && name == SO_SNDTIMEO_NEW)
		name = SO_SNDTIMEO;
	for (int i = 0; i < PX_NOPTS; i++)
		if (table[i].level == level && table[i].name == name)
			return i;
	return -1;
}

/* Read every table option of a kernel socket. */
static void read_all(int kfd, struct px_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < PX_NOPTS; i++) {
		socklen_t len = sizeof(o->val[i]);

		if (table[i].name == TCP_MAXSEG && table[i].level == IPPROTO_TCP)
			continue;	/* the engine's MSS, asked when read */
		if (!px_real.getsockopt(kfd, table[i].level, table[i].name, o->val[i], &len))
			o->len[i] = (uint8_t)len;
	}
}

static int scratch_socket(bool v6)
{
	return px_real.socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

void px_opts_default(struct px_opts *o)
{
	static struct px_opts def;
	static bool have;
	int fd;

	if (!__atomic_load_n(&have, __ATOMIC_ACQUIRE)) {
		fd = scratch_socket(false);
		if (fd >= 0) {
			read_all(fd, &def);
			px_real.close(fd);
		}
		__atomic_store_n(&have, true, __ATOMIC_RELEASE);
	}
	*o = def;
}

void px_opts_from_kernel(int kfd, struct px_opts *o)
{
	read_all(kfd, o);
}

void px_opts_to_kernel(int kfd, const struct px_opts *o)
{
	struct px_opts d;

	px_opts_default(&d);
	for (int i = 0; i < PX_NOPTS; i++) {
		uint8_t v[16];
		int x;

		if (!o->len[i] || (o->len[i] == d.len[i] && !memcmp(o->val[i], d.val[i], o->len[i])))
			continue;	/* never set: the new socket has it already */
		memcpy(v, o->val[i], o->len[i]);
		if (table[i].level == SOL_SOCKET && (table[i].name == SO_RCVBUF ||
		    table[i].name == SO_SNDBUF) && o->len[i] >= sizeof(x)) {
			/* Linux doubles what is set: set half of what it reports */
			memcpy(&x, v, sizeof(x));
			x /= 2;
			memcpy(v, &x, sizeof(x));
		}
		px_real.setsockopt(kfd, table[i].level, table[i].name, v, o->len[i]);
	}
}

struct timeval px_opt_timeo(const struct px_opts *o, bool snd)
{
	struct timeval tv = { 0, 0 };
	int i = px_opt_index(SOL_SOCKET, snd ? SO_SNDTIMEO : SO_RCVTIMEO);

	if (o->len[i] >= sizeof(tv))
		memcpy(&tv, o->val[i], sizeof(tv));
	return tv;
}

struct linger px_opt_linger(const struct px_opts *o)
{
	struct linger lg = { 0, 0 };
	int i = px_opt_index(SOL_SOCKET, SO_LINGER);

	if (o->len[i] >= sizeof(lg))
		memcpy(&lg, o->val[i], sizeof(lg));
	return lg;
}

bool px_opt_on(const struct px_opts *o, int name)
{
	int i = px_opt_index(SOL_SOCKET, name), v = 0;

	if (o->len[i] >= sizeof(v))
		memcpy(&v, o->val[i], sizeof(v));
	return v != 0;
}

int px_setsockopt(uint32_t s, int level, int name, const void *val, socklen_t len)
{
	struct px_opts *o = &px.sh->socks[s].opts;
	uint8_t buf[16];
	socklen_t blen = sizeof(buf);
	int i = px_opt_index(level, name), fd, err = 0;

	if (level == IPPROTO_TCP && name == TCP_CONGESTION) {
		/* do_tcp_setsockopt's checks; the engine runs one algorithm
		 * for every connection, so only its own name can be set, and
		 * any other is "not available" (ENOENT), as on a Linux host
		 * without that module */
		char want[sizeof(px.cc_name)] = "";
		size_t n = len < sizeof(want) - 1 ? len : sizeof(want) - 1;

		if ((int)len < 1)
			return -EINVAL;
		if (!val)
			return -EFAULT;
		memcpy(want, val, n);
		return px.cc_name[0] && !strcmp(want, px.cc_name) ? 0 : -ENOENT;
	}
	/* Linux validates first (length, range, read-only options): let a
	 * scratch socket do it and report the value Linux would keep. */
	fd = scratch_socket(px.sh->socks[s].v6);
	if (fd < 0)
		return -errno;
	if (px_real.setsockopt(fd, level, name, val, len))
		err = -errno;
	else if (i < 0)
		err = -ENOPROTOOPT;	/* valid on Linux, but not an option the engine has */
	else if (table[i].how == H_NO)
		err = -ENOPROTOOPT;
	else if (px_real.getsockopt(fd, level, name, buf, &blen))
		err = -errno;
	else if (table[i].how == H_NONZERO_NO && blen >= sizeof(int) && *(int *)buf)
		err = -ENOPROTOOPT;
	px_real.close(fd);
	if (!err && level == IPPROTO_IPV6 && name == IPV6_V6ONLY)
		err = -EINVAL;	/* do_ipv6_setsockopt: the socket has its port */
	if (err)
		return err;
	px_lock();
	memcpy(o->val[i], buf, blen);
	o->len[i] = (uint8_t)blen;
	px_unlock();
	return 0;
}

static int put(void *val, socklen_t *len, const void *v, size_t vlen)
{
	socklen_t n;

	if ((int)*len < 0)
		return -EINVAL;
	n = *len < vlen ? *len : (socklen_t)vlen;
	memcpy(val, v, n);
	*len = n;
	return 0;
}

static int put_int(void *val, socklen_t *len, int v)
{
	return put(val, len, &v, sizeof(v));
}

/* Linux's struct tcp_info from what the engine put in the info block. */
static int tcp_info(int fd, uint32_t s, void *val, socklen_t *len)
{
	struct px_sock *ps = &px.sh->socks[s];
	struct tcp_info ti;
	int err;

	memset(&ti, 0, sizeof(ti));
	if (ps->kind == PK_LISTEN) {
		ti.tcpi_state = 10;	/* TCP_LISTEN */
		ti.tcpi_unacked = ps->aq_len;
		ti.tcpi_sacked = ps->backlog;
		return put(val, len, &ti, sizeof(ti));
	}
	ti.tcpi_state = 7;	/* TCP_CLOSE: the engine is gone, or no answer */
	if (!px.sh->dead) {
		err = px_call(APPIF_OP_INFO, ps->handle, 0, 0, 0, PK_FREE, fd);
		if (!err) {
			const struct appif_tcp_info *ei = &px_ssock(s)->info;

			ti.tcpi_state = (uint8_t)ei->state;
			ti.tcpi_rto = ei->rto_us;
			ti.tcpi_snd_mss = ti.tcpi_rcv_mss = ti.tcpi_advmss = ei->snd_mss;
			ti.tcpi_unacked = ei->snd_mss ? (ei->unacked + ei->snd_mss - 1) / ei->snd_mss : 0;
			ti.tcpi_rtt = ei->srtt_us;
			ti.tcpi_rttvar = ei->rttvar_us;
			ti.tcpi_snd_cwnd = ei->snd_cwnd;
			ti.tcpi_snd_ssthresh = 0x7fffffff;	/* Linux's "infinite" */
			ti.tcpi_total_retrans = ei->retransmits;
			if (ei->ts)
				ti.tcpi_options |= TCPI_OPT_TIMESTAMPS;
			if (ei->snd_wscale != 0xff) {
				ti.tcpi_options |= TCPI_OPT_WSCALE;
				ti.tcpi_snd_wscale = ei->snd_wscale & 15;
				ti.tcpi_rcv_wscale = ei->rcv_wscale & 15;
			}
			if (ei->ecn)
				ti.tcpi_options |= TCPI_OPT_ECN;
			ti.tcpi_bytes_acked = ei->bytes_acked;
			ti.tcpi_bytes_received = ei->bytes_received;
			ti.tcpi_snd_wnd = ei->snd_wnd;
			ti.tcpi_pmtu = ei->snd_mss + 40;
		}
	}
	return put(val, len, &ti, sizeof(ti));
}

int px_getsockopt(int fd, uint32_t s, int level, int name, void *val, socklen_t *len)
{
	struct px_sock *ps = &px.sh->socks[s];
	int i;

	if (!val || !len)
		return -EFAULT;
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_TYPE:
			return put_int(val, len, SOCK_STREAM);
		case SO_DOMAIN:
			return put_int(val, len, ps->v6 ? AF_INET6 : AF_INET);
		case SO_PROTOCOL:
			return put_int(val, len, IPPROTO_TCP);
		case SO_ACCEPTCONN:
			return put_int(val, len, ps->kind == PK_LISTEN);
		case SO_ERROR:	/* reading it clears it */
			return put_int(val, len, ps->kind == PK_CONN ? -px_sock_err(s, true) : 0);
		default:
			break;
		}
	} else if (level == IPPROTO_TCP && name == TCP_CONGESTION && px.cc_name[0]) {
		/* the engine's real algorithm (Linux copies TCP_CA_NAME_MAX
		 * bytes at most, NUL-padded) */
		return put(val, len, px.cc_name, sizeof(px.cc_name));
	} else if (level == IPPROTO_TCP && name == TCP_INFO) {
		return tcp_info(fd, s, val, len);
	} else if (level == IPPROTO_TCP && name == TCP_MAXSEG) {
		int mss = 536;	/* Linux's answer before a connection has one */

		i = px_opt_index(level, name);
		if (ps->kind == PK_CONN && !px.sh->dead &&
		    !px_call(APPIF_OP_INFO, ps->handle, 0, 0, 0, PK_FREE, fd))
			mss = (int)px_ssock(s)->info.snd_mss;
		else if (ps->kind != PK_CONN && ps->opts.len[i] >= sizeof(int))
			memcpy(&mss, ps->opts.val[i], sizeof(int));	/* as set (Linux: user_mss) */
		return put_int(val, len, mss);
	}
	i = px_opt_index(level, name);
	if (i < 0 || !ps->opts.len[i])
		return -ENOPROTOOPT;
	if (level == IPPROTO_IP && (int)*len > 0 && *len < sizeof(int) &&
	    ps->opts.len[i] >= sizeof(int)) {
		/* do_ip_getsockopt: a short buffer gets a value 0..255 as one byte */
		int v;

		memcpy(&v, ps->opts.val[i], sizeof(v));
		if (v >= 0 && v <= 255) {
			unsigned char b = (unsigned char)v;

			return put(val, len, &b, 1);
		}
	}
	return put(val, len, ps->opts.val[i], ps->opts.len[i]);
}
