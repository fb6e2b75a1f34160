/*
 * expiry.c: keys that expire after a duration (extension key-ttl).
 *
 * chitchat has no per-key TTL (its delete_after_ttl only hides a key
 * after the cluster-wide grace period), so the owner does the work: its
 * own keys' deadlines sit in two red-black trees over the same entries,
 * one by key (to replace or cancel a deadline) and one by monotonic
 * deadline (earliest first), with one libevent timer on the earliest.
 *
 * On the wire everything is ordinary chitchat (docs/API.md "Reserved
 * keys"): the owner writes the meta key __chitchatd.ttl.<key> = deadline
 * in wall-clock unix milliseconds, so every node can show when the key
 * goes. At the deadline, if the key still has the version it had when it
 * was scheduled, the owner
 *   1. sets the meta key to "expired" *and* marks it for deletion after
 *      the grace period, in one write (set_with_ttl: one version, v1),
 *   2. deletes the key: a normal tombstone (v2 > v1).
 * One write for step 1 matters: a delta carries each key's latest entry
 * only, in version order, so a peer that catches up after the expiry
 * gets exactly meta (v1) then the tombstone (v2); had the meta key been
 * marked in a third write (v3), the tombstone would come first and the
 * peer could not tell an expiry from a deletion. So any node applying
 * the tombstone already holds "expired", and a chitchatd peer reports
 * the deletion as "expired" (expiry_is_expired). Rust peers, or
 * chitchatd with the extension off, see the deletion of the key and
 * relay the meta key as any other; it is purged with the tombstone after
 * the grace period.
 *
 * Any other write of the key (set without a duration, delete,
 * delete_after_ttl) goes through expiry_forget() first: the deadline is
 * dropped and the meta key tombstoned before the key changes, so a later
 * deletion is never taken for an expiry, on any node.
 *
 * Nothing is persisted: a restarted daemon is a new generation with an
 * empty state, and the old generation's keys go with its node state.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "ccd.h"
#include "compat/tree.h"
#include "expiry.h"
#include "log.h"

struct exp_entry {
	RB_ENTRY(exp_entry)	 by_key;
	RB_ENTRY(exp_entry)	 by_deadline;
	char			*key;
	size_t			 key_len;
	uint64_t		 version;	/* of the key when scheduled */
	uint64_t		 deadline;	/* monotonic ms */
	uint64_t		 seq;		/* equal deadlines: schedule order */
};

RB_HEAD(exp_key_tree, exp_entry);
RB_HEAD(exp_deadline_tree, exp_entry);

struct expiry {
	struct ccd			*ccd;
	struct event			*timer;		/* NULL without a base */
	struct exp_key_tree		 by_key;
	struct exp_deadline_tree	 by_deadline;
	size_t				 n;
	uint64_t			 next_seq;
	uint64_t			(*now)(void *);
	void				*now_arg;
};

static int
exp_key_cmp(const struct exp_entry *a, const struct exp_entry *b)
{
	size_t	n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int	c = n > 0 ? memcmp(a->key, b->key, n) : 0;

	if (c != 0)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int
exp_deadline_cmp(const struct exp_entry *a, const struct exp_entry *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

RB_GENERATE_STATIC(exp_key_tree, exp_entry, by_key, exp_key_cmp)
RB_GENERATE_STATIC(exp_deadline_tree, exp_entry, by_deadline, exp_deadline_cmp)

static uint64_t
default_now(void *arg)
{
	(void)arg;
	return ccd_now_ms();
}

static uint64_t
wall_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the timer ------------------------------------------------------------------- */

static void
arm(struct expiry *x)
{
	uint64_t	deadline, now, wait;
	struct timeval	tv;

	if (x->timer == NULL)
		return;
	if (!expiry_next(x, &deadline)) {
		evtimer_del(x->timer);
		return;
	}
	now = x->now(x->now_arg);
	wait = deadline > now ? deadline - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(x->timer, &tv);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)expiry_run(arg);
}

struct expiry *
expiry_new(struct ccd *ccd)
{
	struct expiry *x;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->ccd = ccd;
	x->now = default_now;
	RB_INIT(&x->by_key);
	RB_INIT(&x->by_deadline);
	if (ccd->base != NULL && (x->timer = evtimer_new(ccd->base, on_timer, x)) == NULL) {
		free(x);
		errno = ENOMEM;
		return NULL;
	}
	return x;
}

static void
entry_remove(struct expiry *x, struct exp_entry *e)
{
	RB_REMOVE(exp_key_tree, &x->by_key, e);
	RB_REMOVE(exp_deadline_tree, &x->by_deadline, e);
	x->n--;
	free(e->key);
	free(e);
}

void
expiry_free(struct expiry *x)
{
	struct exp_entry *e;

	if (x == NULL)
		return;
	while ((e = RB_MIN(exp_key_tree, &x->by_key)) != NULL)
		entry_remove(x, e);
	if (x->timer != NULL)
		event_free(x->timer);
	free(x);
}

void
expiry_set_clock(struct expiry *x, uint64_t (*now)(void *), void *arg)
{
	x->now = now;
	x->now_arg = arg;
	arm(x);
}

/* ---- bookkeeping ------------------------------------------------------------------ */

static struct exp_entry *
entry_find(struct expiry *x, const char *key, size_t len)
{
	struct exp_entry probe;

	memset(&probe, 0, sizeof(probe));
	probe.key = (char *)key;
	probe.key_len = len;
	return RB_FIND(exp_key_tree, &x->by_key, &probe);
}

int
expiry_schedule(struct expiry *x, const char *key, size_t len, uint64_t version,
    uint64_t deadline)
{
	struct exp_entry *e = entry_find(x, key, len);

	if (e != NULL) {
		/* re-keyed in the deadline tree only */
		RB_REMOVE(exp_deadline_tree, &x->by_deadline, e);
	} else {
		if ((e = calloc(1, sizeof(*e))) == NULL || (e->key = malloc(len + 1)) == NULL) {
			free(e);
			errno = ENOMEM;
			return -1;
		}
		memcpy(e->key, key, len);
		e->key[len] = '\0';
		e->key_len = len;
		RB_INSERT(exp_key_tree, &x->by_key, e);
		x->n++;
	}
	e->version = version;
	e->deadline = deadline;
	e->seq = x->next_seq++;
	RB_INSERT(exp_deadline_tree, &x->by_deadline, e);
	arm(x);
	return 0;
}

bool
expiry_cancel(struct expiry *x, const char *key, size_t len)
{
	struct exp_entry *e = entry_find(x, key, len);

	if (e == NULL)
		return false;
	entry_remove(x, e);
	arm(x);
	return true;
}

size_t
expiry_pending(const struct expiry *x)
{
	return x != NULL ? x->n : 0;
}

bool
expiry_next(const struct expiry *x, uint64_t *deadline)
{
	struct exp_entry *e = RB_MIN(exp_deadline_tree,
	    &((struct expiry *)x)->by_deadline);

	if (e == NULL)
		return false;
	*deadline = e->deadline;
	return true;
}

/* ---- meta keys -------------------------------------------------------------------- */

/*
 * EXPIRY_PREFIX + key into buf if it fits, else a new allocation (free it
 * when it is not buf). NULL on ENOMEM.
 */
static char *
meta_key(const char *key, size_t len, char *buf, size_t size, size_t *mlen)
{
	char *m = buf;

	*mlen = EXPIRY_PREFIX_LEN + len;
	if (*mlen + 1 > size && (m = malloc(*mlen + 1)) == NULL)
		return NULL;
	memcpy(m, EXPIRY_PREFIX, EXPIRY_PREFIX_LEN);
	memcpy(m + EXPIRY_PREFIX_LEN, key, len);
	m[*mlen] = '\0';
	return m;
}

static void
meta_free(char *m, char *buf)
{
	if (m != buf)
		free(m);
}

/* n's visible meta entry of key, or NULL. */
static const struct cc_kv *
meta_of(const struct cc_node *n, const char *key, size_t len)
{
	const struct cc_kv	*kv;
	char			 buf[256], *m;
	size_t			 mlen;

	if ((m = meta_key(key, len, buf, sizeof(buf), &mlen)) == NULL)
		return NULL;
	kv = cc_node_get(n, m, mlen);
	meta_free(m, buf);
	return kv;
}

/* A deadline as the meta key holds it: 1 to 19 decimal digits, not 0. */
static bool
parse_deadline(const struct cc_kv *kv, uint64_t *ms)
{
	uint64_t v = 0;

	if (kv->value_len == 0 || kv->value_len > 19)
		return false;
	for (size_t i = 0; i < kv->value_len; i++) {
		if (kv->value[i] < '0' || kv->value[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(kv->value[i] - '0');
	}
	*ms = v;
	return v != 0;
}

/* ---- expiring ------------------------------------------------------------------------ */

/* The expiry of one due key: "expired" (v1), then the tombstone (v2). */
static bool
expire_one(struct expiry *x, const struct exp_entry *e)
{
	struct ccd		*ccd = x->ccd;
	const struct cc_kv	*kv;
	char			 buf[256], *m;
	size_t			 mlen;

	kv = cc_node_get_versioned(cc_engine_self_node(ccd->engine), e->key, e->key_len);
	if (kv == NULL || kv->status == CC_STATUS_DELETED || kv->version != e->version) {
		log_debug("expiry: a key changed since its deadline was set: left alone");
		return false;
	}
	if ((m = meta_key(e->key, e->key_len, buf, sizeof(buf), &mlen)) == NULL ||
	    cc_engine_set_with_ttl(ccd->engine, m, mlen, EXPIRY_EXPIRED,
	    sizeof(EXPIRY_EXPIRED) - 1) == -1)
		log_warnx("expiry: cannot mark a key expired (%s); deleting it anyway",
		    strerror(errno));
	if (m != NULL)
		meta_free(m, buf);
	if (cc_engine_delete(ccd->engine, e->key, e->key_len) == -1) {
		log_warnx("expiry: cannot delete an expired key: %s", strerror(errno));
		return false;
	}
	ccd->counters.keys_expired++;
	return true;
}

size_t
expiry_run(struct expiry *x)
{
	struct exp_entry	*e;
	uint64_t		 now = x->now(x->now_arg);
	size_t			 n = 0;

	while ((e = RB_MIN(exp_deadline_tree, &x->by_deadline)) != NULL &&
	    e->deadline <= now) {
		/* out of the trees first: the engine's events may reach expiry_* */
		RB_REMOVE(exp_key_tree, &x->by_key, e);
		RB_REMOVE(exp_deadline_tree, &x->by_deadline, e);
		x->n--;
		if (x->ccd->engine != NULL && expire_one(x, e))
			n++;
		free(e->key);
		free(e);
	}
	arm(x);
	return n;
}

/* ---- owner operations ---------------------------------------------------------------- */

int
expiry_set(struct ccd *ccd, const char *key, size_t klen, const char *value,
    size_t vlen, uint64_t ttl_ms, const char **why)
{
	struct expiry		*x = ccd->expiry;
	const struct cc_kv	*kv;
	char			 buf[256], *m, text[24];
	size_t			 mlen;
	int			 tlen, rc = -1;

	*why = NULL;
	if (x == NULL || ttl_ms == 0 || ttl_ms > EXPIRY_MAX_MS) {
		errno = EINVAL;
		*why = "no expiry here";
		return -1;
	}
	tlen = snprintf(text, sizeof(text), "%" PRIu64, wall_now_ms() + ttl_ms);
	if ((m = meta_key(key, klen, buf, sizeof(buf), &mlen)) == NULL)
		return -1;
	if (!cc_kv_is_valid(m, mlen, text, (size_t)tlen, NULL)) {
		errno = EINVAL;
		*why = "key too long for an expiry (its reserved key \"" EXPIRY_PREFIX
		    "KEY\" must fit one chitchat operation)";
		goto done;
	}
	if (cc_engine_set(ccd->engine, key, klen, value, vlen) == -1)
		goto done;
	kv = cc_node_get_versioned(cc_engine_self_node(ccd->engine), key, klen);
	if (kv == NULL) {
		errno = ENOENT;
		goto done;
	}
	if (expiry_schedule(x, key, klen, kv->version, x->now(x->now_arg) + ttl_ms) == -1)
		goto done;
	if (cc_engine_set(ccd->engine, m, mlen, text, (size_t)tlen) == -1) {
		int saved = errno;

		(void)expiry_cancel(x, key, klen);
		errno = saved;
		goto done;
	}
	rc = 0;
done:
	meta_free(m, buf);
	return rc;
}

void
expiry_forget(struct ccd *ccd, const char *key, size_t klen)
{
	char	buf[256], *m;
	size_t	mlen;

	if (!CCD_HAS_EXT(ccd, CCD_EXT_KEY_TTL))
		return;
	if (ccd->expiry != NULL)
		(void)expiry_cancel(ccd->expiry, key, klen);
	if ((m = meta_key(key, klen, buf, sizeof(buf), &mlen)) == NULL) {
		log_warnx("expiry: out of memory: a stale deadline may stay");
		return;
	}
	/* a tombstone only over a visible entry: deleting one again bumps it */
	if (cc_node_get(cc_engine_self_node(ccd->engine), m, mlen) != NULL &&
	    cc_engine_delete(ccd->engine, m, mlen) == -1)
		log_warnx("expiry: cannot delete a deadline: %s", strerror(errno));
	meta_free(m, buf);
}

/* ---- readers ------------------------------------------------------------------------ */

bool
expiry_is_expired(struct ccd *ccd, const struct cc_id *id, const struct cc_kv *kv)
{
	const struct cc_node	*n;
	const struct cc_kv	*meta;

	if (!CCD_HAS_EXT(ccd, CCD_EXT_KEY_TTL) || kv->status != CC_STATUS_DELETED ||
	    cc_ctl_key_is_reserved(kv->key, kv->key_len) ||
	    (n = cc_engine_node(ccd->engine, id)) == NULL ||
	    (meta = meta_of(n, kv->key, kv->key_len)) == NULL)
		return false;
	return meta->value_len == sizeof(EXPIRY_EXPIRED) - 1 &&
	    memcmp(meta->value, EXPIRY_EXPIRED, meta->value_len) == 0;
}

bool
expiry_node_has_deadlines(struct ccd *ccd, const struct cc_node *n)
{
	return CCD_HAS_EXT(ccd, CCD_EXT_KEY_TTL) &&
	    cc_node_prefix_first(n, EXPIRY_PREFIX, EXPIRY_PREFIX_LEN, false) != NULL;
}

int
expiry_add_fields(struct ccd *ccd, const struct cc_node *n, const struct cc_kv *kv,
    json_t *o)
{
	const struct cc_kv	*meta;
	uint64_t		 at;

	if (!CCD_HAS_EXT(ccd, CCD_EXT_KEY_TTL) || kv->status == CC_STATUS_DELETED ||
	    cc_ctl_key_is_reserved(kv->key, kv->key_len) ||
	    (meta = meta_of(n, kv->key, kv->key_len)) == NULL ||
	    meta->status != CC_STATUS_SET || !parse_deadline(meta, &at))
		return 0;
	return json_object_set_new(o, "expires_at_ms", cc_ctl_u64(at));
}
