/*
 * ccd.c: daemon-wide helpers shared by the daemon's modules and the
 * daemon tests (kept out of chitchatd.c, which holds only main).
 */
#include <time.h>

#include "catchup.h"
#include "ccd.h"
#include "log.h"
#include "subscribe.h"

uint64_t
ccd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
ccd_on_engine_event(void *arg, const struct cc_event *ev)
{
	static const char	*change[] = { "added", "live", "dead",
				    "scheduled for deletion", "removed", "reset" };
	struct ccd		*ccd = arg;
	char			 id[512];

	if (ev->type == CC_EVENT_NODE) {
		cc_id_format(ev->node, id, sizeof(id));
		log_msg(ev->change == CC_NODE_LIVE || ev->change == CC_NODE_DEAD ?
		    CC_LOG_INFO : CC_LOG_DEBUG, "node %s: %s", id, change[ev->change]);
	}
	subscribe_engine_event(ccd, ev);
	catchup_on_engine_event(ccd->catchup, ev, ccd->gossip.rx_from);
}
