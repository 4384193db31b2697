/* netdev.c - facts about the engine's interface: index, MAC, MTU, queues, kernel addresses. */
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <net/if_arp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/x86/x86_internal.h"
#include "lib/util/log.h"

/* Real rx queues: AF_XDP binds to queue ids below the device's
 * real_num_rx_queues, which sysfs lists as queues/rx-N. */
static int count_sysfs_queues(const char *name)
{
	char path[128];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, "rx-", 3))
			n++;
	closedir(d);
	return n;
}

static int count_ethtool_queues(int sock, const char *name)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(sock, SIOCETHTOOL, &ifr))
		return -errno;
	return (int)(ch.combined_count + ch.rx_count);
}

int netdev_open(const char *name, struct netdev *nd)
{
	struct ifreq ifr = { 0 };
	int sock, n, err = 0;

	memset(nd, 0, sizeof(*nd));
	snprintf(nd->name, sizeof(nd->name), "%s", name);
	nd->ifindex = (int)if_nametoindex(name);
	if (!nd->ifindex) {
		pr_err("interface '%s' does not exist in this network namespace "
		       "(see 'ip link')", name);
		return -ENODEV;
	}
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		err = -errno;
		pr_err("socket: %s", strerror(errno));
		return err;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(sock, SIOCGIFHWADDR, &ifr)) {
		err = -errno;
		pr_err("%s: cannot read its hardware address: %s", name, strerror(errno));
		goto out;
	}
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		pr_err("%s is not an Ethernet interface (link type %u); the engine needs "
		       "Ethernet (e.g. a NIC or a veth)", name, ifr.ifr_hwaddr.sa_family);
		err = -EPROTONOSUPPORT;
		goto out;
	}
	memcpy(nd->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(sock, SIOCGIFMTU, &ifr)) {
		err = -errno;
		pr_err("%s: cannot read its MTU: %s", name, strerror(errno));
		goto out;
	}
	if (ifr.ifr_mtu < 576 || ifr.ifr_mtu > XQ_FRAME_SIZE - 256 - 14) {
		/* A frame must fit one umem frame after the kernel's headroom. */
		pr_err("%s: MTU %d is not supported (576..%d)", name, ifr.ifr_mtu,
		       XQ_FRAME_SIZE - 256 - 14);
		err = -EINVAL;
		goto out;
	}
	nd->mtu = (uint16_t)ifr.ifr_mtu;
	if (!ioctl(sock, SIOCGIFFLAGS, &ifr))
		nd->up = ifr.ifr_flags & IFF_UP;
	n = count_sysfs_queues(name);
	if (n <= 0)
		n = count_ethtool_queues(sock, name);
	nd->rx_queues = n > 0 ? (unsigned int)n : 1;
out:
	close(sock);
	return err;
}

int netdev_kernel_has_addr(uint32_t ip_be, char owner[IF_NAMESIZE])
{
	return netdev_kernel_has_addr_af(AF_INET, &ip_be, owner);
}

int netdev_kernel_has_addr_af(int af, const void *addr, char owner[IF_NAMESIZE])
{
	struct ifaddrs *ifa, *i;
	int found = 0;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		const void *a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != af)
			continue;
		a = af == AF_INET ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
				    (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (!memcmp(a, addr, af == AF_INET ? 4 : 16)) {
			snprintf(owner, IF_NAMESIZE, "%s", i->ifa_name);
			found = 1;
			break;
		}
	}
	freeifaddrs(ifa);
	return found;
}
