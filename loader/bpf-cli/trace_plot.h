/* trace_plot.h - flextoe-bpf trace --plot: the traced connection drawn as Wireshark's TCP stream graphs (gnuplot). */
#ifndef FTOE_TRACE_PLOT_H
#define FTOE_TRACE_PLOT_H

#include <time.h>

#include <flextoe/trace.h>

struct trace_plot;

/* FILE must end in .svg or .png; NULL after a message otherwise.  The
 * records given to tp_add are drawn by tp_finish. */
struct trace_plot *tp_open(const char *file);
/* Keep one record (ts: its wall-clock time, as printed). 0 or -ENOMEM. */
int tp_add(struct trace_plot *p, const struct flextoe_trace_rec *r, const struct timespec *ts);
/* Pick the connection that carried the most payload, write its records to
 * FILE.dat and draw FILE with gnuplot; free p.  0 or CLI_EXIT_FAIL after a
 * message. */
int tp_finish(struct trace_plot *p);

#endif
