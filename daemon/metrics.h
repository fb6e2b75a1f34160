/*
 * metrics.h: the daemon's counters in the Prometheus text exposition
 * format (version 0.0.4), every name prefixed chitchatd_. Served by the
 * `metrics` control method.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>

struct ccd;

/*
 * The whole exposition, NUL-terminated, *len bytes (not counting the
 * NUL). Caller frees. NULL + ENOMEM.
 */
char	*metrics_format(struct ccd *, size_t *len);

#endif /* METRICS_H */
