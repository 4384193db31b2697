/* cc.h - per-flow congestion control glue: DCTCP rate-based (default) or constant rate. */
#ifndef FTOE_CORE_CONTROL_CC_H
#define FTOE_CORE_CONTROL_CC_H

#include <stdbool.h>
#include <stdint.h>

struct ftoe_engine;

/* Set the initial rate of a new connection. */
void ftoe_cc_init(struct ftoe_engine *e, uint32_t id);
/* Data path feedback: acked bytes (ECE-marked or not), losses. */
void ftoe_cc_on_ack(struct ftoe_engine *e, uint32_t id, uint32_t acked, bool ece);
void ftoe_cc_on_loss(struct ftoe_engine *e, uint32_t id);

#endif
