/* pcap_out.h - xdp-ring's pcap output (pcap_out.c). */
#ifndef FTOE_TOOLS_XDP_RING_PCAP_OUT_H
#define FTOE_TOOLS_XDP_RING_PCAP_OUT_H

#include <stdint.h>

int pcap_out_open(const char *file);
void pcap_out_write(const void *data, uint32_t caplen, uint32_t len);
void pcap_out_close(void);

#endif
