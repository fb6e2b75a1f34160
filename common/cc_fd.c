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
#define CC_FD_FIRST_ALLOC	8

struct cc_fd_window *
cc_fd_window_new(uint32_t capacity)
{
	struct cc_fd_window *w;

	if (capacity == 0)
		capacity = 1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->alloc = capacity < CC_FD_FIRST_ALLOC ? capacity : CC_FD_FIRST_ALLOC;
	if ((w->ring = calloc(w->alloc, sizeof(*w->ring))) == NULL) {
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

/*
 * Doubles the ring (up to capacity) when it is full of samples but below
 * capacity. Until the window is full, samples sit at [0, count) in order,
 * so growing keeps them where they are. Out of memory: the window simply
 * stays at its current size, which only shortens its memory.
 */
static void
fd_window_grow(struct cc_fd_window *w)
{
	uint32_t	 nalloc;
	uint32_t	*nring;

	if (w->count < w->alloc || w->alloc == w->capacity)
		return;
	nalloc = w->alloc > w->capacity / 2 ? w->capacity : w->alloc * 2;
	if ((nring = realloc(w->ring, (size_t)nalloc * sizeof(*nring))) == NULL) {
		w->capacity = w->alloc;
		return;
	}
	w->ring = nring;
	w->alloc = nalloc;
	w->head = w->count;	/* it had wrapped to 0 when the old ring filled */
}

void
cc_fd_window_push(struct cc_fd_window *w, uint32_t interval_ms)
{
	fd_window_grow(w);
	if (w->count == w->alloc) {
		/* full at capacity: head is also the oldest sample */
		w->sum_ms -= w->ring[w->head];
	} else
		w->count++;
	w->ring[w->head] = interval_ms;
	w->sum_ms += interval_ms;
	w->head = (w->head + 1) % w->alloc;
}

void
cc_fd_window_report(struct cc_fd_window *w, const struct cc_fd_config *cfg,
    cc_mtime_t now)
{
	if (w->has_last) {
		uint64_t dt_ms = now.ms >= w->last.ms ? now.ms - w->last.ms : 0;

		/* max_interval_ms is far below 2^32 ms (~49 days) in any sane config */
		if (dt_ms <= cfg->max_interval_ms && dt_ms <= UINT32_MAX)
			cc_fd_window_push(w, (uint32_t)dt_ms);
	}
	w->has_last = true;
	w->last = now;
}

void
cc_fd_window_reset(struct cc_fd_window *w)
{
	w->count = 0;
	w->head = 0;
	w->sum_ms = 0;
}

bool
cc_fd_window_phi(const struct cc_fd_window *w, const struct cc_fd_config *cfg,
    cc_mtime_t now, double *phi)
{
	double mean, since;

	if (w->count == 0 || !w->has_last)
		return false;
	mean = ((double)w->sum_ms / 1000.0 + CC_FD_PRIOR_WEIGHT * ((double)cfg->initial_interval_ms / 1000.0)) /
	    ((double)w->count + CC_FD_PRIOR_WEIGHT);
	since = now.ms >= w->last.ms ? (double)(now.ms - w->last.ms) / 1000.0 : 0.0;
	*phi = since / mean;
	return true;
}
