/* pcap_out.c - xdp-ring's pcap file (libpcap, DLT_EN10MB); apart from xdp_ring.c because pcap/bpf.h clashes with linux/bpf.h. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tests/tools/xdp-ring/pcap_out.h"

static pcap_t *pc;
static pcap_dumper_t *dumper;

int pcap_out_open(const char *file)
{
	pc = pcap_open_dead(DLT_EN10MB, 65535);
	if (!pc)
		return -1;
	dumper = pcap_dump_open(pc, file);
	if (!dumper) {
		fprintf(stderr, "xdp-ring: cannot write %s: %s\n", file, pcap_geterr(pc));
		pcap_close(pc);
		pc = NULL;
		return -1;
	}
	return 0;
}

void pcap_out_write(const void *data, uint32_t caplen, uint32_t len)
{
	struct pcap_pkthdr h;
	struct timespec ts;

	if (!dumper)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = ts.tv_sec;
	h.ts.tv_usec = ts.tv_nsec / 1000;
	h.caplen = caplen;
	h.len = len < caplen ? caplen : len;
	pcap_dump((u_char *)dumper, &h, data);
}

void pcap_out_close(void)
{
	if (dumper)
		pcap_dump_close(dumper);
	if (pc)
		pcap_close(pc);
	dumper = NULL;
	pc = NULL;
}
