/*
 * subscribe.h: fan-out of engine events to subscribed control clients.
 */
#ifndef SUBSCRIBE_H
#define SUBSCRIBE_H

#include "cc.h"

struct ccd;

/* Called for every engine event, from ccd_on_engine_event(). */
void	subscribe_engine_event(struct ccd *, const struct cc_event *);

#endif /* SUBSCRIBE_H */
