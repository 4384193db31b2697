/* rs_pcap.c - pcap file output for trace and capture (libpcap, DLT_EN10MB); kept apart because pcap/bpf.h clashes with linux/bpf.h. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rs_pcap {
	pcap_t *pc;
	pcap_dumper_t *d;
};

/* Declared in ringstream.h, which pulls in linux/bpf.h through cli.h. */
struct rs_pcap *rs_pcap_open(const char *file, int snaplen);
void rs_pcap_write(struct rs_pcap *p, const struct timespec *ts, const void *data,
		   uint32_t caplen, uint32_t len);
void rs_pcap_flush(struct rs_pcap *p);
void rs_pcap_close(struct rs_pcap *p);

struct rs_pcap *rs_pcap_open(const char *file, int snaplen)
{
	struct rs_pcap *p = calloc(1, sizeof(*p));

	if (!p) {
		fprintf(stderr, "flextoe-bpf: error: out of memory\n");
		return NULL;
	}
	p->pc = pcap_open_dead(DLT_EN10MB, snaplen);
	if (!p->pc) {
		fprintf(stderr, "flextoe-bpf: error: pcap_open_dead failed\n");
		free(p);
		return NULL;
	}
	p->d = pcap_dump_open(p->pc, file);
	if (!p->d) {
		fprintf(stderr, "flextoe-bpf: error: cannot write %s: %s\n", file,
			pcap_geterr(p->pc));
		pcap_close(p->pc);
		free(p);
		return NULL;
	}
	return p;
}

void rs_pcap_write(struct rs_pcap *p, const struct timespec *ts, const void *data,
		   uint32_t caplen, uint32_t len)
{
	struct pcap_pkthdr h;

	memset(&h, 0, sizeof(h));
	h.ts.tv_sec = ts->tv_sec;
	h.ts.tv_usec = ts->tv_nsec / 1000;
	h.caplen = caplen;
	h.len = len < caplen ? caplen : len;	/* the frame length on the wire */
	pcap_dump((u_char *)p->d, &h, data);
}

void rs_pcap_flush(struct rs_pcap *p)
{
	pcap_dump_flush(p->d);
}

void rs_pcap_close(struct rs_pcap *p)
{
	if (!p)
		return;
	pcap_dump_close(p->d);
	pcap_close(p->pc);
	free(p);
}
