/*
 * subscribe.h: fan-out of engine events to subscribed control clients.
 *
 * Two topics: "keys" (entries under a prefix, any node) and "members"
 * (membership changes). A subscription starts with a snapshot taken in the
 * same loop iteration, so snapshot + notifications have no gap and no
 * duplicate. Each event is encoded once and the same bytes are queued for
 * every subscriber (only the subscription id differs, in a short head).
 */
#ifndef SUBSCRIBE_H
#define SUBSCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cc.h"
#include "cc_ctlproto.h"

struct ccd;
struct ctl_client;
struct subscriptions;

/* Called for every engine event, from ccd_on_engine_event(). */
void	subscribe_engine_event(struct ccd *, const struct cc_event *);

/* Daemon-wide state (owned by struct control). NULL + ENOMEM. */
struct subscriptions *subscribe_new(void);
void	subscribe_free(struct subscriptions *);

enum subscribe_topic {
	SUBSCRIBE_KEYS,
	SUBSCRIBE_MEMBERS,
};

/*
 * Subscribes the client and returns the result of the `subscribe` call,
 * {"subscription": id, "snapshot": [...]} (caller decrefs). On error,
 * NULL with *err and *why (static text) set.
 */
json_t	*subscribe_add(struct ccd *, struct ctl_client *, enum subscribe_topic,
	    const char *prefix, size_t prefix_len, enum cc_ctl_err *err,
	    const char **why);
/* -1 + ENOENT if the client has no such subscription. */
int	subscribe_remove(struct ccd *, struct ctl_client *, uint64_t id);
/* Drops every subscription and held notification of the client. */
void	subscribe_client_gone(struct ccd *, struct ctl_client *);
/* Queues the notifications held while the client's request was handled. */
void	subscribe_flush_pending(struct ccd *, struct ctl_client *);

/* Subscriptions open, over all clients. */
size_t	subscribe_count(const struct ccd *);
/*
 * Whether id is in the last published live set (live, and carrying the
 * required keys): what member "joined"/"left" events follow.
 */
bool	subscribe_is_ready(const struct ccd *, const struct cc_id *);
size_t	subscribe_num_ready(const struct ccd *);

#endif /* SUBSCRIBE_H */
