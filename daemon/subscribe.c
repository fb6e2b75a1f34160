/*
 * subscribe.c: placeholder until subscriptions land (issue 3).
 */
#include "ccd.h"
#include "subscribe.h"

void
subscribe_engine_event(struct ccd *ccd, const struct cc_event *ev)
{
	(void)ccd;
	(void)ev;
}
