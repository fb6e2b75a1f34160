/*
 * clusterwait.h: bounded waits on real daemons through their control
 * sockets, shared by the process tests. Each fails the test, with the
 * daemon's log, if the condition does not hold within wait_ms.
 */
#ifndef CLUSTERWAIT_H
#define CLUSTERWAIT_H

#include <stddef.h>

#include "ctlclient.h"
#include "daemonproc.h"

/* Members in c's live set (self included). */
size_t	cw_count_live(struct ctlc *c);
/* Until c's live set has exactly want members. */
void	cw_wait_live(struct ctlc *c, const struct dproc *d, size_t want, int wait_ms);
/* Until metric name reaches at least min; returns its value. */
double	cw_wait_metric(struct ctlc *c, const struct dproc *d, const char *name, double min,
	    int wait_ms);

#endif /* CLUSTERWAIT_H */
