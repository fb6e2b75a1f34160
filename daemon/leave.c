/*
 * leave.c: graceful leave and force-leave, two extensions beyond chitchat
 * that travel as reserved keys (docs/API.md "Reserved keys").
 *
 * Graceful leave: chitchat has no way to say goodbye, so peers find a
 * stopped node dead only when phi passes its threshold, seconds later.
 * A leaving chitchatd node writes CCD_KEY_LEAVING, pushes it at once with
 * one SYN to up to 3 live peers, and keeps gossiping for two intervals so
 * that it spreads; chitchatd peers with the extension drop it from the
 * live set as soon as they see the key (config.c's liveness predicate) and
 * report it "left". A Rust peer, or a chitchatd node with the extension
 * off, stores and relays the key like any other and finds the node dead
 * by phi as usual.
 *
 * Force-leave: an operator removes a dead node from this node's view at
 * once (cc_engine_forget_node, with a fence at its last heartbeat so that
 * peers still gossiping it cannot bring it back) and publishes the request
 * as CCD_KEY_FORCE_LEAVE "<generation>.<node_id>", marked for deletion so
 * that GC removes it after the grace period. chitchatd peers with the
 * extension apply it when they see the key, unless the node is live for
 * them: a node that is in fact alive keeps its heartbeat moving past every
 * fence and comes back by the normal rules.
 *
 * Requests arrive inside the engine's KV callback, where the engine must
 * not be mutated: they are queued and handled at the loop's next
 * iteration (an activated event).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>

#include "ccd.h"
#include "leave.h"
#include "log.h"
#include "notify.h"

#define LEAVE_ANNOUNCE_PEERS	3	/* SYNs sent at once, as a round's fan-out */
#define LEAVE_INTERVALS		2	/* gossip intervals kept after the announce */

/* One force-leave request seen in a peer's state. */
struct request {
	TAILQ_ENTRY(request)	 entry;
	char			*node_id;
	size_t			 node_id_len;
	uint64_t		 generation;
	uint64_t		 fence;
	char			 origin[128];	/* the requesting node, for logs */
};

TAILQ_HEAD(request_list, request);

struct leave {
	struct event		*done_ev;	/* end of the leave wait */
	struct event		*pending_ev;	/* queued requests */
	struct request_list	 pending;
};

static void	on_pending(evutil_socket_t, short, void *);

static struct leave *
leave_get(struct ccd *ccd)
{
	struct leave *l = ccd->leave;

	if (l != NULL)
		return l;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	TAILQ_INIT(&l->pending);
	ccd->leave = l;
	return l;
}

static void
request_free(struct request *r)
{
	free(r->node_id);
	free(r);
}

void
leave_free(struct ccd *ccd)
{
	struct leave	*l = ccd->leave;
	struct request	*r;

	if (l == NULL)
		return;
	while ((r = TAILQ_FIRST(&l->pending)) != NULL) {
		TAILQ_REMOVE(&l->pending, r, entry);
		request_free(r);
	}
	if (l->done_ev != NULL)
		event_free(l->done_ev);
	if (l->pending_ev != NULL)
		event_free(l->pending_ev);
	free(l);
	ccd->leave = NULL;
}

/* ---- graceful leave --------------------------------------------------------------- */

static uint64_t
unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Addresses of the peers live here, self excluded; caller frees. */
static struct cc_addr *
live_peers(struct ccd *ccd, size_t *n)
{
	const struct cc_node	*node;
	struct cc_addr		*v;
	size_t			 cap = cc_engine_num_nodes(ccd->engine);

	*n = 0;
	if ((v = calloc(cap > 0 ? cap : 1, sizeof(*v))) == NULL)
		return NULL;
	for (node = cc_engine_node_first(ccd->engine); node != NULL;
	    node = cc_engine_node_next(ccd->engine, node))
		if (cc_engine_liveness(ccd->engine, cc_node_id(node)) == CC_LIVENESS_LIVE)
			v[(*n)++] = cc_node_id(node)->addr;
	return v;
}

/* One SYN to each of up to LEAVE_ANNOUNCE_PEERS of them, picked at random. */
static size_t
announce(struct ccd *ccd, struct cc_addr *peers, size_t n)
{
	size_t sent = 0;

	for (; sent < LEAVE_ANNOUNCE_PEERS && n > 0; sent++) {
		size_t		k = arc4random_uniform((uint32_t)n);
		struct cc_addr	tmp = peers[k];

		peers[k] = peers[--n];
		(void)cc_engine_gossip(ccd->engine, &tmp);
	}
	return sent;
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct ccd *ccd = arg;

	(void)fd;
	(void)what;
	log_info("leave: done, shutting down");
	event_base_loopbreak(ccd->base);
}

static int
write_leaving_key(struct ccd *ccd)
{
	char value[24];

	snprintf(value, sizeof(value), "%" PRIu64, unix_ms());
	return cc_engine_set(ccd->engine, CCD_KEY_LEAVING, strlen(CCD_KEY_LEAVING),
	    value, strlen(value));
}

int
leave_start(struct ccd *ccd, const char *why, uint64_t *in_ms)
{
	struct leave	*l;
	struct cc_addr	*peers;
	size_t		 n_live, told = 0;
	uint64_t	 wait;
	struct timeval	 tv;

	if (!CCD_HAS_EXT(ccd, CCD_EXT_LEAVE)) {
		errno = ENOTSUP;
		return -1;
	}
	if (ccd->leaving) {
		errno = EALREADY;
		return -1;
	}
	if ((l = leave_get(ccd)) == NULL || (peers = live_peers(ccd, &n_live)) == NULL)
		return -1;
	/* with nobody live to tell there is nothing to wait for */
	wait = n_live > 0 ? LEAVE_INTERVALS * ccd->cfg->gossip_interval_ms : 0;
	if (n_live > 0) {
		if (write_leaving_key(ccd) == -1) {
			free(peers);
			return -1;
		}
		told = announce(ccd, peers, n_live);
	}
	free(peers);
	if (l->done_ev == NULL &&
	    (l->done_ev = evtimer_new(ccd->base, on_done, ccd)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(l->done_ev, &tv);
	ccd->leaving = true;
	(void)notify_send("STOPPING=1");
	if (n_live > 0)
		log_info("%s: leaving the cluster: announced to %zu of %zu live peer(s), "
		    "shutting down in %" PRIu64 " ms", why, told, n_live, wait);
	else
		log_info("%s: shutting down (no live peer to tell of a leave)", why);
	*in_ms = wait;
	return 0;
}

/* ---- force-leave ------------------------------------------------------------------ */

bool
leave_parse_request(const char *rest, size_t len, const char *value, size_t value_len,
    uint64_t *generation, const char **node_id, size_t *node_id_len, uint64_t *fence)
{
	uint64_t	g = 0, h = 0;
	size_t		i = 0;

	/* decimal, no sign, no leading zero but "0" itself, no overflow */
	for (; i < len && rest[i] >= '0' && rest[i] <= '9'; i++) {
		if (g > (UINT64_MAX - (uint64_t)(rest[i] - '0')) / 10 || (i == 1 && rest[0] == '0'))
			return false;
		g = g * 10 + (uint64_t)(rest[i] - '0');
	}
	if (i == 0 || i + 1 >= len || rest[i] != '.')
		return false;
	if (value_len == 0 || value_len > 20)
		return false;
	for (size_t k = 0; k < value_len; k++) {
		if (value[k] < '0' || value[k] > '9' ||
		    h > (UINT64_MAX - (uint64_t)(value[k] - '0')) / 10)
			return false;
		h = h * 10 + (uint64_t)(value[k] - '0');
	}
	*generation = g;
	*node_id = rest + i + 1;
	*node_id_len = len - i - 1;
	*fence = h;
	return true;
}

/* The request key of id; caller frees. NULL + ENOMEM. */
static char *
request_key(const struct cc_id *id, size_t *len)
{
	size_t	 plen = strlen(CCD_KEY_FORCE_LEAVE), cap = plen + 21 + 1 + id->node_id_len + 1;
	char	*k;
	int	 n;

	if ((k = malloc(cap)) == NULL)
		return NULL;
	n = snprintf(k, cap, "%s%" PRIu64 ".", CCD_KEY_FORCE_LEAVE, id->generation);
	memcpy(k + n, id->node_id, id->node_id_len);
	k[(size_t)n + id->node_id_len] = '\0';
	*len = (size_t)n + id->node_id_len;
	return k;
}

/* Forgets id with a fence at fence, for the dead-node grace period: removals are forced. */
static int
forget(struct ccd *ccd, const struct cc_id *id, uint64_t fence)
{
	cc_mtime_t	until = cc_engine_now(ccd->engine);
	int		rc;

	until.ms += ccd->cfg->fd.dead_node_grace_period_ms;
	ccd->forcing = true;
	rc = cc_engine_forget_node(ccd->engine, id, fence, until);
	ccd->forcing = false;
	return rc;
}

int
leave_force(struct ccd *ccd, const struct cc_node *n, uint64_t *fence)
{
	struct cc_id	 id;
	char		*key, value[24];
	size_t		 klen;
	int		 rc = -1;

	if (!CCD_HAS_EXT(ccd, CCD_EXT_FORCE_LEAVE)) {
		errno = ENOTSUP;
		return -1;
	}
	switch (cc_engine_liveness(ccd->engine, cc_node_id(n))) {
	case CC_LIVENESS_SELF:
		errno = EBUSY;
		return -1;
	case CC_LIVENESS_LIVE:
		errno = EAGAIN;
		return -1;
	default:
		break;
	}
	*fence = cc_node_heartbeat(n);
	snprintf(value, sizeof(value), "%" PRIu64, *fence);
	if ((key = request_key(cc_node_id(n), &klen)) == NULL)
		return -1;
	/* checked before anything changes: a node_id may be too long for one key */
	if (!cc_kv_is_valid(key, klen, value, strlen(value), NULL)) {
		free(key);
		errno = EINVAL;
		return -1;
	}
	if (cc_id_copy(&id, cc_node_id(n)) == -1) {
		free(key);
		return -1;
	}
	if (forget(ccd, &id, *fence) == 0 &&
	    cc_engine_set_with_ttl(ccd->engine, key, klen, value, strlen(value)) == 0) {
		char buf[256];

		cc_id_format(&id, buf, sizeof(buf));
		log_info("force-leave: %s removed (fence heartbeat %" PRIu64
		    "); asking the other chitchatd nodes to do the same", buf, *fence);
		rc = 0;
	}
	cc_id_clear(&id);
	free(key);
	return rc;
}

void
leave_on_kv(struct ccd *ccd, const struct cc_event *ev)
{
	const struct cc_kv	*kv = ev->kv;
	size_t			 plen = strlen(CCD_KEY_FORCE_LEAVE);
	struct leave		*l;
	struct request		*r;
	const char		*node_id;
	size_t			 id_len;
	uint64_t		 gen, fence;

	if (!CCD_HAS_EXT(ccd, CCD_EXT_FORCE_LEAVE) || ev->local ||
	    kv->status == CC_STATUS_DELETED || kv->key_len <= plen ||
	    memcmp(kv->key, CCD_KEY_FORCE_LEAVE, plen) != 0)
		return;
	if (!leave_parse_request(kv->key + plen, kv->key_len - plen, kv->value,
	    kv->value_len, &gen, &node_id, &id_len, &fence)) {
		log_debug("force-leave: malformed request key ignored");
		return;
	}
	if (ccd->base == NULL || (l = leave_get(ccd)) == NULL ||
	    (l->pending_ev == NULL &&
	    (l->pending_ev = event_new(ccd->base, -1, 0, on_pending, ccd)) == NULL) ||
	    (r = calloc(1, sizeof(*r))) == NULL) {
		log_warnx("force-leave: out of memory: a request is ignored");
		return;
	}
	if ((r->node_id = malloc(id_len + 1)) == NULL) {
		free(r);
		log_warnx("force-leave: out of memory: a request is ignored");
		return;
	}
	memcpy(r->node_id, node_id, id_len);
	r->node_id[id_len] = '\0';
	r->node_id_len = id_len;
	r->generation = gen;
	r->fence = fence;
	cc_id_format(ev->node, r->origin, sizeof(r->origin));
	TAILQ_INSERT_TAIL(&l->pending, r, entry);
	event_active(l->pending_ev, 0, 0);
}

static bool
request_matches(const struct request *r, const struct cc_id *id)
{
	return id->generation == r->generation && id->node_id_len == r->node_id_len &&
	    memcmp(id->node_id, r->node_id, r->node_id_len) == 0;
}

/*
 * Applies a request to one replica. It stays when live here (it will
 * reassert itself anyway), and when its heartbeat moved past the request's
 * while it was never live here: a node still joining that is alive, seen
 * by a node that received the request late (a newcomer), must not be
 * removed and re-added. A node that failed here is removed even with a
 * newer heartbeat than the requester knew, with the higher fence.
 */
static void
apply_one(struct ccd *ccd, const struct request *r, const struct cc_id *id)
{
	const struct cc_node	*n = cc_engine_node(ccd->engine, id);
	char			 buf[256];
	uint64_t		 known;

	if (n == NULL)
		return;
	cc_id_format(id, buf, sizeof(buf));
	switch (cc_engine_liveness(ccd->engine, id)) {
	case CC_LIVENESS_SELF:
		log_info("force-leave: %s asks to force this node out: ignored, "
		    "we are alive", r->origin);
		return;
	case CC_LIVENESS_LIVE:
		log_info("force-leave of %s, asked by %s: ignored, it is live here", buf,
		    r->origin);
		return;
	default:
		break;
	}
	known = cc_node_heartbeat(n);
	if (known > r->fence && !cc_engine_was_live(ccd->engine, id)) {
		log_info("force-leave of %s, asked by %s: ignored, its heartbeat moved "
		    "past the request's (%" PRIu64 " > %" PRIu64 ")", buf, r->origin, known,
		    r->fence);
		return;
	}
	if (forget(ccd, id, known > r->fence ? known : r->fence) == 0)
		log_info("force-leave of %s, asked by %s: removed", buf, r->origin);
}

/* The replicas a request names (any address), copied: forgetting frees them. */
static struct cc_id *
request_targets(struct ccd *ccd, const struct request *r, size_t *n)
{
	const struct cc_node	*node;
	struct cc_id		*ids = NULL;
	size_t			 cap = 0;

	*n = 0;
	for (node = cc_engine_node_first(ccd->engine); node != NULL;
	    node = cc_engine_node_next(ccd->engine, node)) {
		if (!request_matches(r, cc_node_id(node)))
			continue;
		if (*n == cap) {
			struct cc_id *tmp = reallocarray(ids, cap ? cap * 2 : 2, sizeof(*ids));

			if (tmp == NULL)
				break;
			ids = tmp;
			cap = cap ? cap * 2 : 2;
		}
		if (cc_id_copy(&ids[*n], cc_node_id(node)) == -1)
			break;
		(*n)++;
	}
	return ids;
}

void
leave_run_pending(struct ccd *ccd)
{
	struct leave	*l = ccd->leave;
	struct request	*r;

	if (l == NULL || ccd->engine == NULL)
		return;
	while ((r = TAILQ_FIRST(&l->pending)) != NULL) {
		struct cc_id	*ids;
		size_t		 n;

		TAILQ_REMOVE(&l->pending, r, entry);
		ids = request_targets(ccd, r, &n);
		for (size_t i = 0; i < n; i++) {
			apply_one(ccd, r, &ids[i]);
			cc_id_clear(&ids[i]);
		}
		free(ids);
		request_free(r);
	}
}

static void
on_pending(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	leave_run_pending(arg);
}
