/*
 * ccd.c: daemon-wide helpers shared by the daemon's modules and the
 * daemon tests (kept out of chitchatd.c, which holds only main).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catchup.h"
#include "ccd.h"
#include "leave.h"
#include "log.h"
#include "peercache.h"
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
		/* NULL while cc_engine_new() adds the self node */
		const struct cc_node *n = ccd->engine != NULL ?
		    cc_engine_node(ccd->engine, ev->node) : NULL;

		cc_id_format(ev->node, id, sizeof(id));
		log_msg(ev->change == CC_NODE_LIVE || ev->change == CC_NODE_DEAD ?
		    CC_LOG_INFO : CC_LOG_DEBUG, "node %s: %s%s", id, change[ev->change],
		    ev->change == CC_NODE_DEAD && n != NULL && ccd_node_is_leaving(ccd->cfg, n) ?
		    " (it had announced its leave)" : ccd->forcing &&
		    ev->change == CC_NODE_REMOVED ? " (force-leave)" : "");
	}
	peercache_engine_event(ccd->peercache, ev);
	subscribe_engine_event(ccd, ev);
	if (ev->type == CC_EVENT_KV)
		leave_on_kv(ccd, ev);
	catchup_on_engine_event(ccd->catchup, ev, ccd->gossip.rx_from);
}

bool
ccd_node_is_leaving(const struct ccd_config *cfg, const struct cc_node *n)
{
	return (cfg->extensions & CCD_EXT_LEAVE) != 0 &&
	    cc_node_get(n, CCD_KEY_LEAVING, strlen(CCD_KEY_LEAVING)) != NULL;
}

int
ccd_cause(char **cause, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (cause != NULL) {
		va_start(ap, fmt);
		if (vasprintf(cause, fmt, ap) == -1)
			*cause = NULL;
		va_end(ap);
	}
	errno = saved;
	return -1;
}
