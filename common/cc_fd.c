/*
 * cc_fd.c: chitchat's failure detector sampling window (PROTOCOL.md §5.2).
 *
 * Despite its name, chitchat's phi is a plain ratio: time since the last
 * heartbeat increase divided by a smoothed mean interval, where the mean
 * is pulled towards initial_interval by a prior worth 5 samples. We
 * reproduce that exactly rather than the accrual paper's logarithm, since
 * Rust peers and operators compare thresholds with the same number.
 */
#include <errno.h>
#include <stdlib.h>

#include "cc_state.h"

#define CC_FD_PRIOR_WEIGHT	5.0

struct cc_fd_window *
cc_fd_window_new(uint32_t capacity)
{
	struct cc_fd_window *w;

	if (capacity == 0)
		capacity = 1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if ((w->ring = calloc(capacity, sizeof(*w->ring))) == NULL) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->capacity = capacity;
	return w;
}

void
cc_fd_window_free(struct cc_fd_window *w)
{
	if (w == NULL)
		return;
	free(w->ring);
	free(w);
}

void
cc_fd_window_push(struct cc_fd_window *w, double v)
{
	if (w->count == w->capacity) {
		/* head is also the oldest sample once full */
		w->sum -= w->ring[w->head];
	} else
		w->count++;
	w->ring[w->head] = v;
	w->sum += v;
	w->head = (w->head + 1) % w->capacity;
}

void
cc_fd_window_report(struct cc_fd_window *w, const struct cc_fd_config *cfg,
    cc_mtime_t now)
{
	if (w->has_last) {
		uint64_t dt_ms = now.ms >= w->last.ms ? now.ms - w->last.ms : 0;

		if (dt_ms <= cfg->max_interval_ms)
			cc_fd_window_push(w, (double)dt_ms / 1000.0);
	}
	w->has_last = true;
	w->last = now;
}

void
cc_fd_window_reset(struct cc_fd_window *w)
{
	w->count = 0;
	w->head = 0;
	w->sum = 0.0;
}

bool
cc_fd_window_phi(const struct cc_fd_window *w, const struct cc_fd_config *cfg,
    cc_mtime_t now, double *phi)
{
	double mean, since;

	if (w->count == 0 || !w->has_last)
		return false;
	mean = (w->sum + CC_FD_PRIOR_WEIGHT * ((double)cfg->initial_interval_ms / 1000.0)) /
	    ((double)w->count + CC_FD_PRIOR_WEIGHT);
	since = now.ms >= w->last.ms ? (double)(now.ms - w->last.ms) / 1000.0 : 0.0;
	*phi = since / mean;
	return true;
}
