/*
 * expiry.h: keys that expire (extension key-ttl, CCD_EXT_KEY_TTL; see
 * expiry.c and docs/API.md "Reserved keys").
 *
 * The owner of a key set with a duration writes the reserved key
 * EXPIRY_PREFIX<key> = the deadline (wall-clock unix milliseconds, in
 * decimal) and, at the deadline, replaces it with "expired" (marked for
 * deletion after the grace period) and deletes the key: an ordinary
 * tombstone every peer applies, Rust ones included. A chitchatd peer with
 * the extension reports that deletion as "expired".
 */
#ifndef EXPIRY_H
#define EXPIRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cc.h"
#include "cc_ctlproto.h"

#define EXPIRY_PREFIX		CC_RESERVED_PREFIX "ttl."
#define EXPIRY_PREFIX_LEN	(sizeof(EXPIRY_PREFIX) - 1)
/* The meta key's value once its key has expired. */
#define EXPIRY_EXPIRED		"expired"
/* Longest duration accepted: a year. */
#define EXPIRY_MAX_MS		(365ULL * 86400 * 1000)

struct ccd;
struct expiry;

/*
 * The pending expiries of ccd's own keys, with one timer on ccd->base
 * (none if ccd->base is NULL: expiry_run() is then called by hand).
 * NULL + ENOMEM.
 */
struct expiry	*expiry_new(struct ccd *);
/* Drops every pending expiry (nothing is written). Accepts NULL. */
void	expiry_free(struct expiry *);
/* Replaces the monotonic clock (default ccd_now_ms), for tests. */
void	expiry_set_clock(struct expiry *, uint64_t (*now)(void *), void *arg);

/* ---- bookkeeping: one deadline per key, earliest first ---------------------- */

/*
 * Schedules key (copied) to expire at deadline (monotonic ms) if its
 * version is still version then; replaces the key's earlier deadline.
 * -1 + ENOMEM.
 */
int	expiry_schedule(struct expiry *, const char *key, size_t len,
	    uint64_t version, uint64_t deadline);
/* Forgets key's deadline; false if it had none. */
bool	expiry_cancel(struct expiry *, const char *key, size_t len);
/* Pending deadlines. */
size_t	expiry_pending(const struct expiry *);
/* The earliest deadline; false if none. */
bool	expiry_next(const struct expiry *, uint64_t *deadline);
/*
 * Expires every key whose deadline has come (earliest first) and re-arms
 * the timer. A key whose version changed since it was scheduled is only
 * forgotten. Returns the number of keys deleted.
 */
size_t	expiry_run(struct expiry *);

/* ---- owner operations (rpc.c) ------------------------------------------------ */

/*
 * Sets key = value and makes it expire in ttl_ms (1..EXPIRY_MAX_MS):
 * the key first, then its meta key holding the deadline. -1 + EINVAL
 * with *why (static text) when the meta key would not be a valid
 * chitchat pair (key too long), before anything is written; -1 + errno
 * from the engine otherwise.
 */
int	expiry_set(struct ccd *, const char *key, size_t klen, const char *value,
	    size_t vlen, uint64_t ttl_ms, const char **why);
/*
 * Before any other write of own key (set without a duration, delete,
 * delete_after_ttl): cancels its pending expiry and tombstones its meta
 * key if visible, so a later deletion is not taken for an expiry. A
 * no-op when the extension is off.
 */
void	expiry_forget(struct ccd *, const char *key, size_t klen);

/* ---- readers (rpc.c, subscribe.c) -------------------------------------------- */

/*
 * Whether kv, an entry of node id just written as a tombstone, is an
 * expiry: node's meta key of kv's key holds "expired". False when the
 * extension is off.
 */
bool	expiry_is_expired(struct ccd *, const struct cc_id *id, const struct cc_kv *kv);
/* Whether node n holds any meta key (so per-entry look-ups are worth it). */
bool	expiry_node_has_deadlines(struct ccd *, const struct cc_node *n);
/*
 * Sets "expires_at_ms" on o when kv, a visible entry of n, has a pending
 * deadline in n's meta key. -1 on ENOMEM.
 */
int	expiry_add_fields(struct ccd *, const struct cc_node *n, const struct cc_kv *kv,
	    json_t *o);

#endif /* EXPIRY_H */
