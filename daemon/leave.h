/*
 * leave.h: graceful leave and force-leave (extensions "leave" and
 * "force-leave"; docs/API.md, methods leave and force_leave, and
 * "Reserved keys").
 */
#ifndef LEAVE_H
#define LEAVE_H

#include <stdbool.h>
#include <stdint.h>

#include "cc.h"

struct ccd;

/*
 * Starts a graceful leave: writes CCD_KEY_LEAVING, sends one SYN at once
 * to up to 3 live peers so that it spreads now, keeps gossiping for two
 * gossip intervals, then breaks the event loop (the daemon shuts down as
 * on SIGTERM). With no live peer there is nobody to tell: no key, and the
 * loop breaks at its next iteration. Sends STOPPING=1 to systemd. why is
 * logged. *in_ms gets the wait. -1 + ENOTSUP when the extension is off,
 * EALREADY when already leaving, or the engine's errno.
 */
int	leave_start(struct ccd *, const char *why, uint64_t *in_ms);

/*
 * Force-leave of node n, which must not be self (EBUSY) nor live here
 * (EAGAIN): forgets it now with a fence at its heartbeat, kept for the
 * dead-node grace period, and publishes the request to the other
 * chitchatd nodes as CCD_KEY_FORCE_LEAVE "<generation>.<node_id>",
 * marked for deletion after the grace period. *fence gets the heartbeat.
 * ENOTSUP when the extension is off; EINVAL if the request key would be
 * invalid (a node_id too long for one key); ENOMEM. n is freed on success.
 */
int	leave_force(struct ccd *, const struct cc_node *n, uint64_t *fence);

/*
 * Every KV event (ccd_on_engine_event): force-leave requests written by
 * other nodes are queued, and handled at the loop's next iteration, out
 * of the engine's callback (callbacks must not call engine mutators).
 */
void	leave_on_kv(struct ccd *, const struct cc_event *);
/* Handles the queued requests now (the loop does; tests call it). */
void	leave_run_pending(struct ccd *);

/* Frees the timers and the queue (shutdown; tests). */
void	leave_free(struct ccd *);

/*
 * Parses the part of a force-leave key after CCD_KEY_FORCE_LEAVE,
 * "<generation>.<node_id>" (node_id non-empty, any bytes), and its value,
 * a decimal heartbeat. False if malformed.
 */
bool	leave_parse_request(const char *rest, size_t len, const char *value,
	    size_t value_len, uint64_t *generation, const char **node_id,
	    size_t *node_id_len, uint64_t *fence);

#endif /* LEAVE_H */
