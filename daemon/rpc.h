/*
 * rpc.h: the JSON-RPC 2.0 method table and its handlers (see docs/API.md).
 *
 * rpc.c never touches a socket: it turns one request line into at most
 * one reply, queued with control_client_reply(). The tests call it on
 * detached clients (control_client_new(ctl, -1)).
 */
#ifndef RPC_H
#define RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cc.h"

struct ccd;
struct ctl_client;

/*
 * Handles one line (without its '\n'): a request, a notification or a
 * batch. Replies, if any, are queued on the client. A blank line is
 * ignored. Sets client->close_after_reply when the client must go
 * (protocol mismatch in hello).
 */
void	rpc_handle_line(struct ccd *, struct ctl_client *, const char *line, size_t len);

/*
 * Handles one request object. Returns the response (caller decrefs), or
 * NULL for a notification (a request without an id).
 */
json_t	*rpc_handle_message(struct ccd *, struct ctl_client *, json_t *msg);

/*
 * Whether the method of that name is a write method (1; access-
 * controlled, see control_client_access), a read method (0), or unknown
 * (-1).
 */
int	rpc_method_writes(const char *name);

/* ---- shapes shared with subscribe.c (new references, NULL on ENOMEM) ---- */

/* Sets "node_id", "generation", "address" on obj. -1 on ENOMEM. */
int	rpc_set_node_fields(json_t *obj, const struct cc_id *);
/* {"node_id", "generation", "address"} */
json_t	*rpc_node_json(const struct cc_id *);
/* Sets "key", "value", "version", "status" on obj. -1 on ENOMEM. */
int	rpc_set_kv_fields(json_t *obj, const struct cc_kv *);
/* "set", "deleted", "ttl_marked" */
const char *rpc_status_name(enum cc_status);

enum rpc_members_filter {
	RPC_MEMBERS_ALL,
	RPC_MEMBERS_LIVE,	/* self and live */
	RPC_MEMBERS_DEAD,	/* dead, scheduled included */
	RPC_MEMBERS_SCHEDULED,
	RPC_MEMBERS_LEFT,
};

/*
 * A member's status as the API reports it: the engine's liveness, except
 * that a node announcing its leave (CCD_KEY_LEAVING, leave extension on)
 * is "left" from then until it is removed, whatever the failure detector
 * says (self stays "self").
 */
enum rpc_member_status {
	RPC_MEMBER_SELF,
	RPC_MEMBER_LIVE,
	RPC_MEMBER_DEAD,
	RPC_MEMBER_SCHEDULED,
	RPC_MEMBER_LEFT,
};

enum rpc_member_status rpc_member_status(struct ccd *, const struct cc_node *);
/* "self", "live", "dead", "scheduled", "left" */
const char *rpc_member_status_name(enum rpc_member_status);

struct rpc_member_counts {
	size_t	live;		/* self included */
	size_t	dead;		/* not scheduled */
	size_t	scheduled;
	size_t	left;
};

/* One member: id fields, status, heartbeat, versions, phi, age, keys. */
json_t	*rpc_member_json(struct ccd *, const struct cc_node *);
/* The members list, in ChitchatId order. */
json_t	*rpc_members_json(struct ccd *, enum rpc_members_filter);
/* Replicas by status (they add up to all of them). */
void	rpc_count_members(struct ccd *, struct rpc_member_counts *);
/* "self", "live", "dead", "scheduled" */
const char *rpc_liveness_name(enum cc_liveness);

#endif /* RPC_H */
