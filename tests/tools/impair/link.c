/* link.c - AF_PACKET endpoints of the impair relay: open, batch rx, batch tx. */
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "lib/util/log.h"
#include "impair.h"

/* Each rx slot keeps 4 spare bytes in front so a VLAN tag the kernel moved
 * into metadata can be put back with a 12-byte memmove. */
#define SLOT_SIZE (IMPAIR_FRAME_MAX + 4)
#define SOCK_BUF  (8 << 20)

static int set_buf(int fd, int force_opt, int opt)
{
	int v = SOCK_BUF;

	/* The FORCE variants ignore net.core.[rw]mem_max but need
	 * CAP_NET_ADMIN; fall back to the capped ones. */
	if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) == 0)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) == 0)
		return 0;
	return -errno;
}

static int check_ifindex(struct link *l)
{
	struct ifreq ifr;
	int fd = l->fd, err;

	if (strlen(l->ifname) >= IFNAMSIZ) {
		pr_err("interface name '%s' is longer than %d characters", l->ifname,
		       IFNAMSIZ - 1);
		return -EINVAL;
	}
	l->ifindex = (int)if_nametoindex(l->ifname);
	if (!l->ifindex) {
		err = -errno;
		pr_err("no interface '%s' in this network namespace (see 'ip link'): %s",
		       l->ifname, strerror(errno));
		return err;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, l->ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		err = -errno;
		pr_err("cannot query interface '%s': %s", l->ifname, strerror(errno));
		return err;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		pr_err("interface '%s' is not an Ethernet device (link type %u); "
		       "impair relays Ethernet frames between veth-like interfaces",
		       l->ifname, ifr.ifr_hwaddr.sa_family);
		return -EINVAL;
	}
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP))
		pr_warn("interface '%s' is down; nothing flows until 'ip link set %s up'",
			l->ifname, l->ifname);
	return 0;
}

int link_open(struct link *l, const char *ifname)
{
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	int one = 1, err;

	memset(l, 0, sizeof(*l));
	l->ifname = ifname;
	/* Protocol 0: receive nothing until bind() picks the interface, so no
	 * frame of another interface slips in. */
	l->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		err = -errno;
		if (errno == EPERM || errno == EACCES)
			pr_err("opening a packet socket needs CAP_NET_RAW: run impair as root "
			       "(e.g. 'ip netns exec NS impair ...')");
		else
			pr_err("socket(AF_PACKET): %s", strerror(errno));
		return err;
	}
	err = check_ifindex(l);
	if (err)
		goto fail;
	/* Without this the socket would read back every frame we send on it
	 * (packet taps see outgoing frames); link_rx also checks pkttype. */
	if (setsockopt(l->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0)
		pr_warn("%s: PACKET_IGNORE_OUTGOING unsupported (%s); filtering by packet type",
			ifname, strerror(errno));
	/* VLAN tags stripped on receive are only visible as metadata. */
	if (setsockopt(l->fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) {
		err = -errno;
		pr_err("%s: PACKET_AUXDATA: %s", ifname, strerror(errno));
		goto fail;
	}
	if (set_buf(l->fd, SO_RCVBUFFORCE, SO_RCVBUF) || set_buf(l->fd, SO_SNDBUFFORCE, SO_SNDBUF))
		pr_warn("%s: could not enlarge socket buffers: %s", ifname, strerror(errno));

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = l->ifindex;
	if (bind(l->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		pr_err("cannot bind a packet socket to '%s': %s", ifname, strerror(errno));
		goto fail;
	}
	/* A bump in the wire must see frames addressed to anyone. */
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = l->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(l->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		pr_warn("%s: cannot enable promiscuous mode: %s", ifname, strerror(errno));

	l->rxbuf = malloc((size_t)IMPAIR_BATCH * SLOT_SIZE);
	if (!l->rxbuf) {
		err = -ENOMEM;
		pr_err("out of memory");
		goto fail;
	}
	return 0;
fail:
	close(l->fd);
	l->fd = -1;
	return err;
}

void link_close(struct link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->rxbuf);
	l->rxbuf = NULL;
}

/* Puts a VLAN tag the kernel stripped into metadata back into the frame
 * (802.1Q: TPID and TCI follow the two MAC addresses). */
static uint8_t *restore_vlan(uint8_t *data, uint32_t *len, const struct tpacket_auxdata *aux)
{
	uint16_t tpid, tci;

	if (!(aux->tp_status & TP_STATUS_VLAN_VALID) || *len < 12)
		return data;
	tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
	tci = aux->tp_vlan_tci;
	memmove(data - 4, data, 12);
	data -= 4;
	tpid = htons(tpid);
	tci = htons(tci);
	memcpy(data + 12, &tpid, 2);
	memcpy(data + 14, &tci, 2);
	*len += 4;
	return data;
}

int link_rx(struct link *l, struct rx_frame *out, struct impair_counters *cnt)
{
	struct mmsghdr msgs[IMPAIR_BATCH];
	struct iovec iov[IMPAIR_BATCH];
	struct sockaddr_ll from[IMPAIR_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} ctl[IMPAIR_BATCH];
	int i, n, got = 0;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < IMPAIR_BATCH; i++) {
		iov[i].iov_base = l->rxbuf + (size_t)i * SLOT_SIZE + 4;
		iov[i].iov_len = IMPAIR_FRAME_MAX;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &from[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	do
		n = recvmmsg(l->fd, msgs, IMPAIR_BATCH, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;

	for (i = 0; i < n; i++) {
		struct msghdr *mh = &msgs[i].msg_hdr;
		uint8_t *data = iov[i].iov_base;
		uint32_t len = msgs[i].msg_len;
		struct cmsghdr *c;

		if (from[i].sll_pkttype == PACKET_OUTGOING)
			continue;
		if (mh->msg_flags & MSG_TRUNC) {
			cnt->rx++;
			cnt->truncated++;
			if (!l->warned_size) {
				l->warned_size = true;
				pr_warn("%s: frame larger than %d bytes dropped; turn off GRO/GSO/TSO "
					"on both ends (ethtool -K IF gro off gso off tso off)",
					l->ifname, IMPAIR_FRAME_MAX);
			}
			continue;
		}
		for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
			struct tpacket_auxdata aux;

			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
			    c->cmsg_len < CMSG_LEN(sizeof(aux)))
				continue;
			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			/* A frame whose checksum the sender left to offload
			 * reaches the far end with a wrong checksum. */
			if ((aux.tp_status & TP_STATUS_CSUMNOTREADY) && !l->warned_csum) {
				l->warned_csum = true;
				pr_warn("%s: frames arrive with checksums left to offload; "
					"turn tx checksum offload off on the sender "
					"(ethtool -K IF tx off) or the far end drops them",
					l->ifname);
			}
			data = restore_vlan(data, &len, &aux);
		}
		out[got].data = data;
		out[got].len = len;
		got++;
	}
	return got;
}

void link_tx(struct link *l, struct frame **frames, int n, struct impair_counters *cnt)
{
	struct mmsghdr msgs[IMPAIR_BATCH];
	struct iovec iov[IMPAIR_BATCH];
	int i, r;

	if (n > IMPAIR_BATCH)
		n = IMPAIR_BATCH;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = frames[i]->data;
		iov[i].iov_len = frames[i]->len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	/* The socket is bound to the output interface, so no address is
	 * needed; the kernel parses the protocol from the Ethernet header. */
	for (i = 0; i < n;) {
		r = sendmmsg(l->fd, msgs + i, (unsigned int)(n - i), MSG_DONTWAIT);
		if (r > 0) {
			cnt->relayed += (uint64_t)r;
			i += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* sendmmsg stops at the first failing frame: count it, skip it,
		 * never retry (a full peer backlog is loss, as on a wire). */
		cnt->tx_errors++;
		if (r < 0 && errno == EMSGSIZE && !l->warned_size) {
			l->warned_size = true;
			pr_warn("%s: %u-byte frame exceeds the MTU; give both sides the same MTU "
				"and turn off GRO/GSO/TSO", l->ifname, frames[i]->len);
		}
		i++;
	}
}

void link_collect_drops(struct link *l, struct impair_counters *cnt)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	/* Reading PACKET_STATISTICS also resets it, so accumulate. */
	if (getsockopt(l->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
		cnt->kernel_drops += st.tp_drops;
}
