/*
 * subscribe.c: engine events to subscribed control clients.
 *
 * The engine calls us synchronously for every event (ccd_on_engine_event).
 * For each event we encode the notification once, lazily (only if some
 * subscription wants it), into a reference-counted "note" holding the
 * params without their opening brace; each recipient gets a short head
 * with its subscription id, then the shared bytes (lldpd's
 * levent_ctl_notify serialises once for all subscribers too).
 *
 * Ordering: events arrive in the engine's order, which is version order
 * per node, and are queued in that order. Notifications raised while a
 * client's own request runs (a `set` by a subscriber, a batch) are held
 * and queued after its reply, so a subscription's snapshot always comes
 * before its first notification and nothing follows an `unsubscribe`
 * reply. Snapshots are read from the engine in the same loop iteration
 * the subscription starts, so there is no gap and no duplicate.
 *
 * Slow consumers: control_client_notify() applies the output cap; a
 * subscriber past it gets one "lagged" notification and is closed.
 *
 * Members: "joined"/"left"/"updated" follow the engine's published live
 * set (CC_EVENT_LIVE_NODES: live nodes passing config.c's predicate:
 * required keys, and no announced leave), diffed against the previous one
 * kept here; "added", "dead", "scheduled", "removed" and "reset" come from
 * CC_EVENT_NODE. "left" says whether the node announced its leave
 * ("graceful"); such a node then gets no "dead" when the failure detector
 * catches up with its exit (it already left), only "scheduled" and
 * "removed" later. "removed" says whether a force-leave did it ("forced").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_ctlproto.h"
#include "ccd.h"
#include "control.h"
#include "expiry.h"
#include "log.h"
#include "rpc.h"
#include "subscribe.h"

#define SUB_STR_(x)	#x
#define SUB_STR(x)	SUB_STR_(x)

struct sub {
	TAILQ_ENTRY(sub)	 entry;		/* client->subs */
	uint64_t		 id;
	enum subscribe_topic	 topic;
	char			*prefix;	/* keys */
	size_t			 prefix_len;
};

/* One encoded notification, shared by its recipients. */
struct note {
	unsigned	 refs;
	const char	*method;	/* static */
	size_t		 len;
	char		 body[];	/* params minus '{', then "}\n" */
};

struct sub_pending {
	TAILQ_ENTRY(sub_pending) entry;
	uint64_t		 sub_id;
	struct note		*note;
};

struct ready {
	struct cc_id	id;
	uint64_t	max_version;
};

struct subscriptions {
	uint64_t	 next_id;
	size_t		 n_keys;	/* open subscriptions per topic */
	size_t		 n_members;
	struct ready	*ready;		/* last published live set, id order */
	size_t		 n_ready;
};

struct subscriptions *
subscribe_new(void)
{
	struct subscriptions *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->next_id = 1;
	return s;
}

static void
ready_clear(struct ready *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cc_id_clear(&r[i].id);
	free(r);
}

void
subscribe_free(struct subscriptions *s)
{
	if (s == NULL)
		return;
	ready_clear(s->ready, s->n_ready);
	free(s);
}

static struct subscriptions *
subs_of(const struct ccd *ccd)
{
	return ccd->control != NULL ? ccd->control->subs : NULL;
}

size_t
subscribe_count(const struct ccd *ccd)
{
	const struct subscriptions *s = subs_of(ccd);

	return s != NULL ? s->n_keys + s->n_members : 0;
}

bool
subscribe_is_ready(const struct ccd *ccd, const struct cc_id *id)
{
	const struct subscriptions	*s = subs_of(ccd);
	size_t				 lo = 0, hi;

	if (s == NULL)
		return false;
	hi = s->n_ready;
	while (lo < hi) {
		size_t	mid = lo + (hi - lo) / 2;
		int	c = cc_id_cmp(&s->ready[mid].id, id);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

size_t
subscribe_num_ready(const struct ccd *ccd)
{
	const struct subscriptions *s = subs_of(ccd);

	return s != NULL ? s->n_ready : 0;
}

/* ---- notes ------------------------------------------------------------------- */

/* Encodes params (stolen, a non-empty object) once. NULL on ENOMEM. */
static struct note *
note_new(const char *method, json_t *params)
{
	struct note	*n = NULL;
	char		*enc;
	size_t		 len;

	if (params == NULL)
		return NULL;
	enc = cc_ctl_encode(params, &len);
	json_decref(params);
	if (enc == NULL || len < 4 || enc[0] != '{')
		goto done;
	/* "{...}\n" -> "...}" + "}\n" */
	if ((n = malloc(sizeof(*n) + len + 1)) == NULL)
		goto done;
	n->refs = 1;
	n->method = method;
	memcpy(n->body, enc + 1, len - 2);
	memcpy(n->body + len - 2, "}\n", 3);
	n->len = len;
done:
	free(enc);
	return n;
}

static void
note_unref(struct note *n)
{
	if (n != NULL && --n->refs == 0)
		free(n);
}

static struct sub *
sub_find(struct ctl_client *c, uint64_t id)
{
	struct sub *s;

	TAILQ_FOREACH(s, &c->subs, entry)
		if (s->id == id)
			return s;
	return NULL;
}

static bool
note_write(struct ctl_client *c, uint64_t sub_id, const struct note *n)
{
	char	head[128];
	int	len;

	len = snprintf(head, sizeof(head),
	    "{\"jsonrpc\":\"2.0\",\"method\":\"%s\",\"params\":{\"subscription\":%" PRIu64 ",",
	    n->method, sub_id);
	if (len < 0 || (size_t)len >= sizeof(head))
		return false;
	return control_client_notify(c, head, (size_t)len, n->body, n->len);
}

/*
 * Queues n for subscription s of c, or holds it while c's own request
 * runs. Returns false once c is no longer ACTIVE (its subs are gone).
 */
static bool
note_deliver(struct ctl_client *c, const struct sub *s, struct note *n)
{
	struct sub_pending *p;

	if (c->state != CTL_ACTIVE)
		return false;
	if (!c->busy)
		return note_write(c, s->id, n);
	if ((p = malloc(sizeof(*p))) == NULL) {
		control_client_close(c, false);
		return false;
	}
	p->sub_id = s->id;
	p->note = n;
	n->refs++;
	TAILQ_INSERT_TAIL(&c->pending, p, entry);
	return true;
}

void
subscribe_flush_pending(struct ccd *ccd, struct ctl_client *c)
{
	struct sub_pending *p;

	(void)ccd;
	while ((p = TAILQ_FIRST(&c->pending)) != NULL) {
		TAILQ_REMOVE(&c->pending, p, entry);
		/* unsubscribed meanwhile: the reply said so, nothing follows */
		if (c->state == CTL_ACTIVE && sub_find(c, p->sub_id) != NULL)
			(void)note_write(c, p->sub_id, p->note);
		note_unref(p->note);
		free(p);
	}
}

/* ---- subscriptions ------------------------------------------------------------ */

static void
sub_free(struct subscriptions *ss, struct ctl_client *c, struct sub *s)
{
	TAILQ_REMOVE(&c->subs, s, entry);
	c->n_subs--;
	if (s->topic == SUBSCRIBE_KEYS)
		ss->n_keys--;
	else
		ss->n_members--;
	free(s->prefix);
	free(s);
}

void
subscribe_client_gone(struct ccd *ccd, struct ctl_client *c)
{
	struct subscriptions	*ss = subs_of(ccd);
	struct sub_pending	*p;
	struct sub		*s;

	while ((p = TAILQ_FIRST(&c->pending)) != NULL) {
		TAILQ_REMOVE(&c->pending, p, entry);
		note_unref(p->note);
		free(p);
	}
	while ((s = TAILQ_FIRST(&c->subs)) != NULL)
		sub_free(ss, c, s);
}

int
subscribe_remove(struct ccd *ccd, struct ctl_client *c, uint64_t id)
{
	struct sub *s = sub_find(c, id);

	if (s == NULL) {
		errno = ENOENT;
		return -1;
	}
	sub_free(subs_of(ccd), c, s);
	return 0;
}

static bool
has_prefix(const char *key, size_t key_len, const char *prefix, size_t prefix_len)
{
	return key_len >= prefix_len && memcmp(key, prefix, prefix_len) == 0;
}

/* Visible entries of one node under prefix, each with the node's id fields. */
static int
snapshot_node_keys(json_t *arr, const struct cc_node *n, const char *prefix,
    size_t prefix_len, bool with_node)
{
	const struct cc_kv *kv;

	for (kv = cc_node_prefix_first(n, prefix, prefix_len, false); kv != NULL;
	    kv = cc_node_prefix_next(n, kv, prefix, prefix_len, false)) {
		json_t *o;

		if (!cc_ctl_key_is_listed(kv->key, kv->key_len, prefix, prefix_len))
			continue;
		o = json_object();

		if (o == NULL || (with_node && rpc_set_node_fields(o, cc_node_id(n)) == -1) ||
		    rpc_set_kv_fields(o, kv) == -1 || json_array_append_new(arr, o) == -1) {
			json_decref(o);
			return -1;
		}
	}
	return 0;
}

json_t *
subscribe_add(struct ccd *ccd, struct ctl_client *c, enum subscribe_topic topic,
    const char *prefix, size_t prefix_len, enum cc_ctl_err *err, const char **why)
{
	struct subscriptions	*ss = subs_of(ccd);
	struct sub		*s = NULL;
	json_t			*snap = NULL, *res;
	const struct cc_node	*n;

	*err = CC_CTL_ERR_INTERNAL;
	*why = "out of memory";
	if (ss == NULL)
		return NULL;
	if (c->n_subs >= CONTROL_MAX_SUBSCRIPTIONS) {
		*err = CC_CTL_ERR_TOO_MANY_SUBSCRIPTIONS;
		*why = "a connection may hold " SUB_STR(CONTROL_MAX_SUBSCRIPTIONS)
		    " subscriptions";
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->topic = topic;
	if (topic == SUBSCRIBE_KEYS) {
		if ((s->prefix = malloc(prefix_len + 1)) == NULL)
			goto fail;
		memcpy(s->prefix, prefix, prefix_len);
		s->prefix[prefix_len] = '\0';
		s->prefix_len = prefix_len;
		if ((snap = json_array()) == NULL)
			goto fail;
		for (n = cc_engine_node_first(ccd->engine); n != NULL;
		    n = cc_engine_node_next(ccd->engine, n))
			if (snapshot_node_keys(snap, n, prefix, prefix_len, true) == -1)
				goto fail;
	} else if ((snap = rpc_members_json(ccd, RPC_MEMBERS_ALL)) == NULL)
		goto fail;
	s->id = ss->next_id++;
	res = json_pack("{s:o,s:o}", "subscription", cc_ctl_u64(s->id), "snapshot", snap);
	snap = NULL;
	if (res == NULL)
		goto fail;
	TAILQ_INSERT_TAIL(&c->subs, s, entry);
	c->n_subs++;
	if (topic == SUBSCRIBE_KEYS)
		ss->n_keys++;
	else
		ss->n_members++;
	return res;
fail:
	json_decref(snap);
	if (s != NULL)
		free(s->prefix);
	free(s);
	return NULL;
}

/* ---- fan-out ----------------------------------------------------------------- */

/*
 * The event of an entry write is its status, except that a tombstone of a
 * key whose owner marked it expired (expiry.c) is an "expired" event.
 */
static json_t *
kv_params(struct ccd *ccd, const struct cc_event *ev)
{
	static const char	*names[] = { "set", "deleted", "ttl_marked" };
	const struct cc_kv	*kv = ev->kv;
	const char		*event;
	json_t			*o;

	if ((unsigned)kv->status > CC_STATUS_DELETE_AFTER_TTL || (o = json_object()) == NULL)
		return NULL;
	event = expiry_is_expired(ccd, ev->node, kv) ? "expired" : names[kv->status];
	if (json_object_set_new(o, "event", json_string(event)) == -1 ||
	    rpc_set_node_fields(o, ev->node) == -1 ||
	    json_object_set_new(o, "key", cc_ctl_string(kv->key, kv->key_len)) == -1 ||
	    json_object_set_new(o, "value", cc_ctl_string(kv->value, kv->value_len)) == -1 ||
	    json_object_set_new(o, "version", cc_ctl_u64(kv->version)) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
fanout_kv(struct ccd *ccd, const struct cc_event *ev)
{
	struct ctl_client	*c, *cnext;
	struct sub		*s, *snext;
	struct note		*n = NULL;

	for (c = TAILQ_FIRST(&ccd->control->clients); c != NULL; c = cnext) {
		cnext = TAILQ_NEXT(c, entry);
		if (c->state != CTL_ACTIVE)
			continue;
		for (s = TAILQ_FIRST(&c->subs); s != NULL; s = snext) {
			snext = TAILQ_NEXT(s, entry);
			if (s->topic != SUBSCRIBE_KEYS ||
			    !has_prefix(ev->kv->key, ev->kv->key_len, s->prefix, s->prefix_len) ||
			    !cc_ctl_key_is_listed(ev->kv->key, ev->kv->key_len, s->prefix,
			    s->prefix_len))
				continue;
			if (n == NULL && (n = note_new(CC_CTL_KEY_CHANGED, kv_params(ccd, ev))) == NULL) {
				log_warnx("subscribe: cannot encode a key notification");
				return;
			}
			if (!note_deliver(c, s, n))
				break;	/* lagged: its subs are gone */
		}
	}
	note_unref(n);
}

/* keys_reset: the node's entries under each subscription's prefix. */
static void
fanout_keys_reset(struct ccd *ccd, const struct cc_id *id, bool removed)
{
	const struct cc_node	*node = removed ? NULL : cc_engine_node(ccd->engine, id);
	struct ctl_client	*c, *cnext;
	struct sub		*s, *snext;

	for (c = TAILQ_FIRST(&ccd->control->clients); c != NULL; c = cnext) {
		cnext = TAILQ_NEXT(c, entry);
		if (c->state != CTL_ACTIVE)
			continue;
		for (s = TAILQ_FIRST(&c->subs); s != NULL; s = snext) {
			json_t		*o, *entries;
			struct note	*n;
			bool		 ok;

			snext = TAILQ_NEXT(s, entry);
			if (s->topic != SUBSCRIBE_KEYS)
				continue;
			/* rare: encoded per subscription, the entries depend on the prefix */
			o = json_object();
			entries = json_array();
			if (o == NULL || entries == NULL ||
			    json_object_set_new(o, "reason",
			    json_string(removed ? "removed" : "reset")) == -1 ||
			    rpc_set_node_fields(o, id) == -1 ||
			    (node != NULL && snapshot_node_keys(entries, node, s->prefix,
			    s->prefix_len, false) == -1)) {
				json_decref(o);
				json_decref(entries);
				log_warnx("subscribe: cannot encode a reset notification");
				return;
			}
			json_object_set_new(o, "entries", entries);
			if ((n = note_new(CC_CTL_KEYS_RESET, o)) == NULL) {
				log_warnx("subscribe: cannot encode a reset notification");
				return;
			}
			ok = note_deliver(c, s, n);
			note_unref(n);
			if (!ok)
				break;
		}
	}
}

/* What a member event says beyond the node's state. */
enum member_note {
	NOTE_NONE,
	NOTE_LEFT,	/* "graceful": whether it announced its leave */
	NOTE_REMOVED,	/* "forced": whether a force-leave removed it */
};

static json_t *
member_params(struct ccd *ccd, const char *event, const struct cc_id *id,
    enum member_note note)
{
	const struct cc_node	*node = cc_engine_node(ccd->engine, id);
	bool			 removed = note == NOTE_REMOVED;
	json_t			*o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "event", json_string(event)) == -1 ||
	    rpc_set_node_fields(o, id) == -1 ||
	    json_object_set_new(o, "status", json_string(removed || node == NULL ?
	    "removed" : rpc_member_status_name(rpc_member_status(ccd, node)))) == -1)
		goto fail;
	if (node != NULL && !removed &&
	    (json_object_set_new(o, "heartbeat", cc_ctl_u64(cc_node_heartbeat(node))) == -1 ||
	    json_object_set_new(o, "max_version", cc_ctl_u64(cc_node_max_version(node))) == -1))
		goto fail;
	if (note == NOTE_LEFT && json_object_set_new(o, "graceful",
	    json_boolean(node != NULL && ccd_node_is_leaving(ccd->cfg, node))) == -1)
		goto fail;
	if (removed && json_object_set_new(o, "forced", json_boolean(ccd->forcing)) == -1)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static void
fanout_member(struct ccd *ccd, const char *event, const struct cc_id *id,
    enum member_note note)
{
	struct ctl_client	*c, *cnext;
	struct sub		*s, *snext;
	struct note		*n = NULL;

	if (subs_of(ccd)->n_members == 0)
		return;
	for (c = TAILQ_FIRST(&ccd->control->clients); c != NULL; c = cnext) {
		cnext = TAILQ_NEXT(c, entry);
		if (c->state != CTL_ACTIVE)
			continue;
		for (s = TAILQ_FIRST(&c->subs); s != NULL; s = snext) {
			snext = TAILQ_NEXT(s, entry);
			if (s->topic != SUBSCRIBE_MEMBERS)
				continue;
			if (n == NULL && (n = note_new(CC_CTL_MEMBER_CHANGED,
			    member_params(ccd, event, id, note))) == NULL) {
				log_warnx("subscribe: cannot encode a member notification");
				return;
			}
			if (!note_deliver(c, s, n))
				break;
		}
	}
	note_unref(n);
}

/* Diffs the published live set against the last one, in id order. */
static void
live_set_changed(struct ccd *ccd, const struct cc_event *ev)
{
	struct subscriptions	*ss = subs_of(ccd);
	struct ready		*old = ss->ready, *nr;
	size_t			 n_old = ss->n_ready, i = 0, j = 0;

	if ((nr = calloc(ev->n_live ? ev->n_live : 1, sizeof(*nr))) == NULL) {
		log_warnx("subscribe: out of memory: live set not followed");
		return;
	}
	for (size_t k = 0; k < ev->n_live; k++) {
		const struct cc_node *node = cc_engine_node(ccd->engine, ev->live[k]);

		if (cc_id_copy(&nr[k].id, ev->live[k]) == -1) {
			ready_clear(nr, k);
			log_warnx("subscribe: out of memory: live set not followed");
			return;
		}
		nr[k].max_version = node != NULL ? cc_node_max_version(node) : 0;
	}
	ss->ready = nr;
	ss->n_ready = ev->n_live;
	while (i < n_old || j < ev->n_live) {
		int cmp = i == n_old ? 1 : j == ev->n_live ? -1 :
		    cc_id_cmp(&old[i].id, &nr[j].id);

		if (cmp < 0)
			fanout_member(ccd, "left", &old[i++].id, NOTE_LEFT);
		else if (cmp > 0)
			fanout_member(ccd, "joined", &nr[j++].id, NOTE_NONE);
		else {
			if (old[i].max_version != nr[j].max_version)
				fanout_member(ccd, "updated", &nr[j].id, NOTE_NONE);
			i++;
			j++;
		}
	}
	ready_clear(old, n_old);
}

/*
 * A node that announced its leave was reported "left" (graceful) when it
 * did: the failure detector finding it dead once it is gone is no news,
 * and "dead" would say it failed.
 */
static bool
has_left(struct ccd *ccd, const struct cc_event *ev)
{
	const struct cc_node *node;

	if (ev->change != CC_NODE_DEAD)
		return false;
	node = cc_engine_node(ccd->engine, ev->node);
	return node != NULL && ccd_node_is_leaving(ccd->cfg, node);
}

void
subscribe_engine_event(struct ccd *ccd, const struct cc_event *ev)
{
	static const char	*names[] = { "added", NULL, "dead", "scheduled",
				    "removed", "reset" };
	struct subscriptions	*ss = subs_of(ccd);

	if (ss == NULL || ccd->engine == NULL)
		return;
	switch (ev->type) {
	case CC_EVENT_KV:
		if (ss->n_keys > 0)
			fanout_kv(ccd, ev);
		break;
	case CC_EVENT_LIVE_NODES:
		live_set_changed(ccd, ev);
		break;
	case CC_EVENT_NODE:
		/* entering the live set is reported as "joined" (live set diff) */
		if ((unsigned)ev->change < sizeof(names) / sizeof(names[0]) &&
		    names[ev->change] != NULL && !has_left(ccd, ev))
			fanout_member(ccd, names[ev->change], ev->node,
			    ev->change == CC_NODE_REMOVED ? NOTE_REMOVED : NOTE_NONE);
		if (ss->n_keys > 0 &&
		    (ev->change == CC_NODE_RESET || ev->change == CC_NODE_REMOVED))
			fanout_keys_reset(ccd, ev->node, ev->change == CC_NODE_REMOVED);
		break;
	case CC_EVENT_CATCHUP:
		break;
	}
}
