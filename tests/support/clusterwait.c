/*
 * clusterwait.c: see clusterwait.h.
 */
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "clusterwait.h"

size_t
cw_count_live(struct ctlc *c)
{
	json_t	*res = ctlc_ok(c, "members", "{\"filter\":\"live\"}");
	size_t	 n = json_array_size(json_object_get(res, "members"));

	json_decref(res);
	return n;
}

void
cw_wait_live(struct ctlc *c, const struct dproc *d, size_t want, int wait_ms)
{
	long long	deadline = dproc_now_ms() + wait_ms;
	size_t		n;

	while ((n = cw_count_live(c)) != want) {
		if (dproc_now_ms() > deadline) {
			json_t *res = ctlc_ok(c, "members", NULL);

			ck_abort_msg("%s: %zu live members, not %zu, after %d ms: %s\nlog: %s",
			    d->node_id, n, want, wait_ms, json_dumps(res, JSON_COMPACT),
			    dproc_log(d));
		}
		usleep(50000);
	}
}

double
cw_wait_metric(struct ctlc *c, const struct dproc *d, const char *name, double min,
    int wait_ms)
{
	long long	deadline = dproc_now_ms() + wait_ms;
	double		v;

	while ((v = ctlc_metric(c, name)) < min) {
		if (dproc_now_ms() > deadline)
			ck_abort_msg("%s: %s stayed at %g, below %g, for %d ms\nlog: %s", d->node_id,
			    name, v, min, wait_ms, dproc_log(d));
		usleep(20000);
	}
	return v;
}
