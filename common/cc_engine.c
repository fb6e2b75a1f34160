/*
 * cc_engine.c: the chitchat engine: message handling (SYN, SYN-ACK, ACK,
 * BAD_CLUSTER), heartbeats, gossip rounds, liveness, node GC, the reset
 * API and the own-key API (PROTOCOL.md §4, §5, §6.5).
 *
 * The engine is pure: time, randomness, sending and events all go through
 * the injected struct cc_env, so the same code runs under libevent in the
 * daemon and on a fake clock over an in-memory network in the simulator.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "cc_state.h"

#define GC_NODES_CAPACITY	500

/* A recently garbage-collected node and its last heartbeat (§2.5). */
struct gc_node {
	struct cc_id		id;
	uint64_t		heartbeat;
	RB_ENTRY(gc_node)	by_id;
	TAILQ_ENTRY(gc_node)	order;		/* least recently put first */
};

static int
gc_node_cmp(struct gc_node *a, struct gc_node *b)
{
	return cc_id_cmp(&a->id, &b->id);
}

RB_HEAD(gc_node_tree, gc_node);
RB_GENERATE_STATIC(gc_node_tree, gc_node, by_id, gc_node_cmp)
TAILQ_HEAD(gc_node_list, gc_node);

/*
 * A forgotten node (cc_engine_forget_node): news of this exact id up to
 * `heartbeat` is stale until `until`. Unlike the LRU of GC'd nodes above,
 * a fence is never evicted early by unrelated GC, so a force-leave holds
 * for as long as peers may still gossip the node's last heartbeat.
 */
struct fence {
	struct cc_id		id;
	uint64_t		heartbeat;	/* raised by every rise seen */
	cc_mtime_t		until;
	bool			rising;		/* a rise past the fence was seen */
	cc_mtime_t		rise_since;	/* when the first one was */
	RB_ENTRY(fence)		by_id;
	TAILQ_ENTRY(fence)	order;		/* oldest first */
};

static int
fence_cmp(struct fence *a, struct fence *b)
{
	return cc_id_cmp(&a->id, &b->id);
}

RB_HEAD(fence_tree, fence);
RB_GENERATE_STATIC(fence_tree, fence, by_id, fence_cmp)
TAILQ_HEAD(fence_list, fence);

/* Live summary entry: id -> max_version (§5.6). */
struct summary_entry {
	struct cc_id	id;
	uint64_t	max_version;
};

struct cc_engine {
	struct cc_env		 env;
	struct cc_id		 self_id;
	char			*cluster_id;
	size_t			 cluster_id_len;
	uint64_t		 gossip_interval_ms;
	uint64_t		 entry_grace_ms;
	struct cc_fd_config	 fd;
	size_t			 max_dgram;	/* delta budgets aim under it */
	bool			(*predicate)(const struct cc_node *, void *);
	void			*predicate_arg;
	struct cc_addr		*seeds;
	size_t			 n_seeds;

	struct cc_node_tree	 nodes;
	size_t			 n_nodes;
	struct cc_node		*self;
	struct gc_node_tree	 gc_by_id;
	struct gc_node_list	 gc_order;
	size_t			 n_gc;
	struct fence_tree	 fences_by_id;
	struct fence_list	 fences;
	size_t			 n_fences;
	struct summary_entry	*summary;
	size_t			 n_summary;
	struct cc_listeners	 listeners;
	struct cc_codec_ctx	*codec;
	struct cc_wbuf		 tx;
	cc_mtime_t		 next_round;
	struct cc_stats		 stats;
	/* hostile-peer limits (cc.h) */
	size_t			 max_nodes;
	size_t			 max_keys;
	uint64_t		 max_state_bytes;
	uint64_t		 state_bytes;	/* key + value bytes of remote replicas */
	bool			 warned[3];	/* per enum limit_kind */
	cc_mtime_t		 warned_at[3];
};

#define LIMIT_WARN_INTERVAL_MS	60000

enum limit_kind { LIMIT_NODES, LIMIT_KEYS, LIMIT_BYTES };

static int
cc_node_cmp(struct cc_node *a, struct cc_node *b)
{
	return cc_id_cmp(&a->id, &b->id);
}

RB_GENERATE(cc_node_tree, cc_node, entry, cc_node_cmp)

/* ---- small helpers ------------------------------------------------------- */

static cc_mtime_t
now_of(const struct cc_engine *e)
{
	return e->env.now(e->env.arg);
}

static void __attribute__((format(printf, 3, 4)))
engine_log(const struct cc_engine *e, int level, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (e->env.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->env.log(e->env.arg, level, msg);
}

static void
emit(const struct cc_engine *e, const struct cc_event *ev)
{
	if (e->env.event != NULL)
		e->env.event(e->env.arg, ev);
}

static void
emit_node_partial(const struct cc_engine *e, const struct cc_node *n,
    enum cc_node_change c, bool partial)
{
	struct cc_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.type = CC_EVENT_NODE;
	ev.node = &n->id;
	ev.change = c;
	ev.partial = partial;
	emit(e, &ev);
}

static void
emit_node(const struct cc_engine *e, const struct cc_node *n, enum cc_node_change c)
{
	emit_node_partial(e, n, c, false);
}

void
cc_engine_on_store(struct cc_engine *e, const struct cc_node *n,
    const struct cc_kv *kv, bool local, bool notify)
{
	struct cc_event ev;

	if (notify)
		cc_listeners_fire(&e->listeners, &n->id, kv);
	memset(&ev, 0, sizeof(ev));
	ev.type = CC_EVENT_KV;
	ev.node = &n->id;
	ev.kv = kv;
	ev.local = local;
	emit(e, &ev);
}

/* ---- configuration ------------------------------------------------------- */

void
cc_fd_config_default(struct cc_fd_config *fd)
{
	fd->phi_threshold = 8.0;
	fd->sampling_window_size = 1000;
	fd->max_interval_ms = 10 * 1000;
	fd->initial_interval_ms = 5 * 1000;
	fd->dead_node_grace_period_ms = 24ULL * 3600 * 1000;
}

void
cc_config_default(struct cc_config *cfg)
{
	static const struct cc_addr loopback = { CC_AF_INET, { 127, 0, 0, 1 }, 10000 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->self.node_id = (char *)"node-10000";
	cfg->self.node_id_len = strlen("node-10000");
	cfg->self.addr = loopback;
	cfg->cluster_id = "default-cluster";
	cfg->gossip_interval_ms = 1000;
	cfg->marked_for_deletion_grace_period_ms = 2ULL * 3600 * 1000;
	cc_fd_config_default(&cfg->fd);
}

static bool
config_is_valid(const struct cc_config *cfg)
{
	return cfg->self.node_id != NULL && cfg->self.node_id_len <= 65535 &&
	    cc_utf8_is_valid(cfg->self.node_id, cfg->self.node_id_len) &&
	    cfg->cluster_id != NULL && strlen(cfg->cluster_id) <= 65535 &&
	    cc_utf8_is_valid(cfg->cluster_id, strlen(cfg->cluster_id)) &&
	    (cfg->self.addr.family == CC_AF_INET || cfg->self.addr.family == CC_AF_INET6) &&
	    cfg->gossip_interval_ms > 0 && cfg->fd.sampling_window_size > 0 &&
	    cfg->fd.phi_threshold > 0 && (cfg->n_seeds == 0 || cfg->seeds != NULL);
}

/* ---- node map --------------------------------------------------------------- */

static struct cc_node *
node_find(const struct cc_engine *e, const struct cc_id *id)
{
	struct cc_node probe;

	memset(&probe, 0, sizeof(probe));
	probe.id = *id;
	return RB_FIND(cc_node_tree, (struct cc_node_tree *)&e->nodes, &probe);
}

static struct gc_node *
gc_find(const struct cc_engine *e, const struct cc_id *id)
{
	struct gc_node probe;

	memset(&probe, 0, sizeof(probe));
	probe.id = *id;
	return RB_FIND(gc_node_tree, (struct gc_node_tree *)&e->gc_by_id, &probe);
}

static void
gc_remove(struct cc_engine *e, struct gc_node *g)
{
	RB_REMOVE(gc_node_tree, &e->gc_by_id, g);
	TAILQ_REMOVE(&e->gc_order, g, order);
	e->n_gc--;
	cc_id_clear(&g->id);
	free(g);
}

/* LRU put: insert or refresh, evicting the oldest past the capacity. */
static void
gc_put(struct cc_engine *e, const struct cc_id *id, uint64_t heartbeat)
{
	struct gc_node *g = gc_find(e, id);

	if (g != NULL) {
		g->heartbeat = heartbeat;
		TAILQ_REMOVE(&e->gc_order, g, order);
		TAILQ_INSERT_TAIL(&e->gc_order, g, order);
		return;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL || cc_id_copy(&g->id, id) == -1) {
		free(g);
		return;		/* only a memory of GC'd nodes: losing it is safe */
	}
	g->heartbeat = heartbeat;
	RB_INSERT(gc_node_tree, &e->gc_by_id, g);
	TAILQ_INSERT_TAIL(&e->gc_order, g, order);
	if (++e->n_gc > GC_NODES_CAPACITY)
		gc_remove(e, TAILQ_FIRST(&e->gc_order));
}

bool
cc_engine_gc_nodes_has(const struct cc_engine *e, const struct cc_id *id, uint64_t *hb)
{
	struct gc_node *g = gc_find(e, id);

	if (g != NULL && hb != NULL)
		*hb = g->heartbeat;
	return g != NULL;
}

/* ---- fences (force-leave) ------------------------------------------------ */

static struct fence *
fence_find(const struct cc_engine *e, const struct cc_id *id)
{
	struct fence probe;

	memset(&probe, 0, sizeof(probe));
	probe.id = *id;
	return RB_FIND(fence_tree, (struct fence_tree *)&e->fences_by_id, &probe);
}

static void
fence_remove(struct cc_engine *e, struct fence *f)
{
	RB_REMOVE(fence_tree, &e->fences_by_id, f);
	TAILQ_REMOVE(&e->fences, f, order);
	e->n_fences--;
	cc_id_clear(&f->id);
	free(f);
}

/* The fence of id if it still holds now (an expired one is as good as gone). */
static struct fence *
fence_active(const struct cc_engine *e, const struct cc_id *id)
{
	struct fence *f = fence_find(e, id);

	return f != NULL && now_of(e).ms < f->until.ms ? f : NULL;
}

/* Drops the fences whose time is over. */
static void
fence_expire(struct cc_engine *e, cc_mtime_t now)
{
	struct fence *f, *next;

	for (f = TAILQ_FIRST(&e->fences); f != NULL; f = next) {
		next = TAILQ_NEXT(f, order);
		if (now.ms >= f->until.ms)
			fence_remove(e, f);
	}
}

/*
 * Records (or raises) the fence of id. Fences are bounded like replicas
 * (max_nodes): past it the oldest goes, since a flood of force-leave
 * requests must not grow memory without bound.
 */
static int
fence_put(struct cc_engine *e, const struct cc_id *id, uint64_t hb, cc_mtime_t until)
{
	struct fence *f = fence_find(e, id);

	if (f != NULL) {
		if (hb > f->heartbeat)
			f->heartbeat = hb;
		if (until.ms > f->until.ms)
			f->until = until;
		return 0;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL || cc_id_copy(&f->id, id) == -1) {
		free(f);
		errno = ENOMEM;
		return -1;
	}
	f->heartbeat = hb;
	f->until = until;
	RB_INSERT(fence_tree, &e->fences_by_id, f);
	TAILQ_INSERT_TAIL(&e->fences, f, order);
	if (++e->n_fences > e->max_nodes)
		fence_remove(e, TAILQ_FIRST(&e->fences));
	return 0;
}

bool
cc_engine_is_fenced(const struct cc_engine *e, const struct cc_id *id, uint64_t *hb)
{
	const struct fence *f = fence_active(e, id);

	if (f != NULL && hb != NULL)
		*hb = f->heartbeat;
	return f != NULL;
}

/* One warning per limit per minute at most: a flood must not flood the log. */
static void
limit_warn(struct cc_engine *e, enum limit_kind k, const char *what, uint64_t limit)
{
	static const char *option[3] = { "max_nodes", "max_keys_per_node", "max_state_bytes" };
	cc_mtime_t now = now_of(e);

	if (e->warned[k] && now.ms - e->warned_at[k].ms < LIMIT_WARN_INTERVAL_MS)
		return;
	e->warned[k] = true;
	e->warned_at[k] = now;
	engine_log(e, CC_LOG_WARN, "limit reached: %s refused (%s %llu; "
	    "further refusals are counted, not logged, for a minute)", what, option[k],
	    (unsigned long long)limit);
}

static struct cc_node *
node_create(struct cc_engine *e, const struct cc_id *id)
{
	struct cc_node	*n;
	struct gc_node	*g;
	struct fence	*f;

	if ((n = cc_node_new(id)) == NULL)
		return NULL;
	n->engine = e;
	/* remote replicas' entry bytes add up in state_bytes (max_state_bytes) */
	if (!cc_id_is_equal(id, &e->self_id))
		n->bytes_total = &e->state_bytes;
	RB_INSERT(cc_node_tree, &e->nodes, n);
	e->n_nodes++;
	if ((g = gc_find(e, id)) != NULL)
		gc_remove(e, g);
	if ((f = fence_find(e, id)) != NULL)
		fence_remove(e, f);	/* re-added: the node proved it moved on */
	emit_node(e, n, CC_NODE_ADDED);
	return n;
}

static void
node_destroy(struct cc_engine *e, struct cc_node *n)
{
	RB_REMOVE(cc_node_tree, &e->nodes, n);
	e->n_nodes--;
	cc_node_free(n);	/* its entries leave e->state_bytes */
}

/* Node GC and force-leave alike: the event, the GC memory, then the state. */
static void
node_remove(struct cc_engine *e, struct cc_node *n)
{
	emit_node(e, n, CC_NODE_REMOVED);
	gc_put(e, &n->id, n->heartbeat);
	node_destroy(e, n);
}

struct cc_node *
cc_engine_node_mut(struct cc_engine *e, const struct cc_id *id)
{
	return node_find(e, id);
}

static bool
fd_ensure_window(struct cc_engine *e, struct cc_node *n)
{
	if (n->window == NULL)
		n->window = cc_fd_window_new(e->fd.sampling_window_size);
	return n->window != NULL;
}

/* ---- lifecycle ---------------------------------------------------------------- */

struct cc_engine *
cc_engine_new(const struct cc_config *cfg, const struct cc_env *env)
{
	struct cc_engine *e;

	if (!config_is_valid(cfg) || env == NULL || env->now == NULL ||
	    env->random_u32 == NULL || env->send == NULL) {
		errno = EINVAL;
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->env = *env;
	RB_INIT(&e->nodes);
	RB_INIT(&e->gc_by_id);
	TAILQ_INIT(&e->gc_order);
	RB_INIT(&e->fences_by_id);
	TAILQ_INIT(&e->fences);
	cc_listeners_init(&e->listeners);
	cc_wbuf_init(&e->tx);
	e->gossip_interval_ms = cfg->gossip_interval_ms;
	e->entry_grace_ms = cfg->marked_for_deletion_grace_period_ms;
	e->fd = cfg->fd;
	e->predicate = cfg->liveness_predicate;
	e->max_dgram = cfg->max_datagram == 0 || cfg->max_datagram > CC_MAX_DATAGRAM ?
	    CC_MAX_DATAGRAM : cfg->max_datagram;
	e->predicate_arg = cfg->predicate_arg;
	cc_engine_set_limits(e, cfg->max_nodes, cfg->max_keys_per_node, cfg->max_state_bytes);
	e->cluster_id_len = strlen(cfg->cluster_id);
	if (cc_id_copy(&e->self_id, &cfg->self) == -1 ||
	    (e->cluster_id = strdup(cfg->cluster_id)) == NULL ||
	    (e->codec = cc_codec_ctx_new()) == NULL ||
	    cc_engine_set_seeds(e, cfg->seeds, cfg->n_seeds) == -1 ||
	    (e->self = node_create(e, &e->self_id)) == NULL) {
		cc_engine_free(e);
		errno = ENOMEM;
		return NULL;
	}
	e->self->heartbeat = 1;
	e->next_round = now_of(e);	/* the first round runs at once */
	return e;
}

void
cc_engine_free(struct cc_engine *e)
{
	struct cc_node	*n, *next;
	struct gc_node	*g;
	struct fence	*f;

	if (e == NULL)
		return;
	for (n = RB_MIN(cc_node_tree, &e->nodes); n != NULL; n = next) {
		next = RB_NEXT(cc_node_tree, &e->nodes, n);
		node_destroy(e, n);
	}
	while ((g = TAILQ_FIRST(&e->gc_order)) != NULL)
		gc_remove(e, g);
	while ((f = TAILQ_FIRST(&e->fences)) != NULL)
		fence_remove(e, f);
	for (size_t i = 0; i < e->n_summary; i++)
		cc_id_clear(&e->summary[i].id);
	free(e->summary);
	cc_listeners_clear(&e->listeners);
	cc_codec_ctx_free(e->codec);
	cc_wbuf_clear(&e->tx);
	free(e->seeds);
	free(e->cluster_id);
	cc_id_clear(&e->self_id);
	free(e);
}

void
cc_engine_set_limits(struct cc_engine *e, size_t max_nodes, size_t max_keys,
    uint64_t max_bytes)
{
	e->max_nodes = max_nodes != 0 ? max_nodes : CC_DEFAULT_MAX_NODES;
	e->max_keys = max_keys != 0 ? max_keys : CC_DEFAULT_MAX_KEYS_PER_NODE;
	e->max_state_bytes = max_bytes != 0 ? max_bytes : CC_DEFAULT_MAX_STATE_BYTES;
}

int
cc_engine_set_seeds(struct cc_engine *e, const struct cc_addr *seeds, size_t n)
{
	struct cc_addr *copy = NULL;

	if (n > 0) {
		if ((copy = calloc(n, sizeof(*copy))) == NULL)
			return -1;
		memcpy(copy, seeds, n * sizeof(*copy));
	}
	free(e->seeds);
	e->seeds = copy;
	e->n_seeds = n;
	return 0;
}

/* ---- liveness helpers ------------------------------------------------------------ */

bool
cc_engine_is_scheduled(const struct cc_engine *e, const struct cc_node *n)
{
	cc_mtime_t now;

	if (!n->dead)
		return false;
	now = now_of(e);
	/* strictly after half the grace period (§5.5) */
	return n->time_of_death.ms + e->fd.dead_node_grace_period_ms / 2 < now.ms;
}

static bool
skip_scheduled(const struct cc_node *n, void *arg)
{
	return cc_engine_is_scheduled(arg, n);
}

/* ---- sending ---------------------------------------------------------------------- */

static void
send_tx(struct cc_engine *e, const struct cc_addr *to, uint8_t type)
{
	if (e->tx.err != 0 || e->tx.len > CC_MAX_DATAGRAM) {
		e->stats.tx_errors++;
		return;
	}
	if (e->env.send(e->env.arg, to, e->tx.data, e->tx.len) == -1) {
		e->stats.tx_errors++;
		return;
	}
	e->stats.tx_datagrams++;
	e->stats.tx_bytes += e->tx.len;
	e->stats.tx_by_type[type]++;
}

/* Our digest, without nodes scheduled for deletion (§4.3). Borrows ids. */
static int
build_digest(struct cc_engine *e, struct cc_digest *d)
{
	struct cc_node *n;

	d->n = 0;
	if ((d->entries = calloc(e->n_nodes, sizeof(*d->entries))) == NULL)
		return -1;
	RB_FOREACH(n, cc_node_tree, &e->nodes) {
		if (cc_engine_is_scheduled(e, n))
			continue;
		d->entries[d->n].id = n->id;
		d->entries[d->n].heartbeat = n->heartbeat;
		d->entries[d->n].last_gc_version = n->last_gc_version;
		d->entries[d->n].max_version = n->max_version;
		d->n++;
	}
	return 0;
}

/* Our SYN into e->tx. -1 (counted) if out of memory. */
static int
encode_syn(struct cc_engine *e)
{
	struct cc_digest d;

	if (build_digest(e, &d) == -1) {
		e->stats.tx_errors++;
		return -1;
	}
	cc_wbuf_reset(&e->tx);
	cc_msg_put_header(&e->tx, CC_MSG_SYN);
	cc_digest_encode(&e->tx, &d);
	cc_wbuf_str(&e->tx, e->cluster_id, e->cluster_id_len);
	free(d.entries);
	return 0;
}

static void
send_syn(struct cc_engine *e, const struct cc_addr *to)
{
	if (encode_syn(e) == 0)
		send_tx(e, to, CC_MSG_SYN);
}

/*
 * Appends a delta for `peer` under `budget`. chitchat reserves one byte for
 * the envelope although it takes four, so an incompressible delta could
 * make the datagram exceed 65,507 bytes (or the configured max_datagram);
 * should that happen we rebuild it with the overshoot taken off the budget,
 * never sending it oversized.
 */
static int
put_delta(struct cc_engine *e, const struct cc_digest *peer, size_t budget)
{
	struct cc_digest_index	ix;
	struct cc_delta_report	rep;
	size_t			base = e->tx.len, over;
	int			rc = -1;

	if (cc_digest_index_init(&ix, peer) == -1)
		return -1;
	if (budget < CC_MIN_DELTA_MTU)
		e->stats.empty_delta_budget++;
	for (int attempt = 0; attempt < 3; attempt++) {
		e->tx.len = base;
		rc = cc_compute_delta_report(&e->nodes, &ix, budget, skip_scheduled, e,
		    e->env.random_u32, e->env.arg, e->codec, &e->tx, &rep);
		if (rc == -1 || e->tx.len <= e->max_dgram || budget < CC_MIN_DELTA_MTU)
			break;
		over = e->tx.len - e->max_dgram;
		budget = over < budget ? budget - over : 0;
	}
	if (rc == 0) {
		e->stats.resets_sent += rep.n_resets;
		if (rep.truncated)
			e->stats.deltas_truncated++;
	}
	cc_digest_index_clear(&ix);
	return rc;
}

/* ---- receiving ------------------------------------------------------------------- */

/*
 * Whether news of a fenced node with heartbeat hb proves it alive. A higher
 * heartbeat alone does not: peers may still hold, and relay for a few
 * rounds, heartbeats of a dead node that the node that forgot it never
 * saw (the requester of a force-leave issued right after the death). A
 * live node's heartbeat keeps rising, a dead one's stops: the first rise
 * starts a probation of FENCE_PROBATION_ROUNDS gossip intervals, each rise
 * raises the fence, and only a rise after the probation re-adds the node.
 */
#define FENCE_PROBATION_ROUNDS	5

static bool
fence_passed(struct cc_engine *e, struct fence *f, uint64_t hb, cc_mtime_t now)
{
	if (hb <= f->heartbeat)
		return false;
	f->heartbeat = hb;
	if (!f->rising) {
		f->rising = true;
		f->rise_since = now;
		return false;
	}
	return now.ms - f->rise_since.ms >= FENCE_PROBATION_ROUNDS * e->gossip_interval_ms;
}

/* cc_engine_report_heartbeat with the replica already looked up (n may be NULL). */
static void
report_heartbeat_found(struct cc_engine *e, struct cc_node *n, const struct cc_id *id,
    uint64_t hb, cc_mtime_t now)
{
	struct gc_node	*g;
	struct fence	*f;

	if (n == e->self || (n == NULL && cc_id_is_equal(id, &e->self_id)))
		return;
	if (n == NULL) {
		/* a forgotten node comes back only if it proves to be alive */
		if ((f = fence_active(e, id)) != NULL && !fence_passed(e, f, hb, now))
			return;
		/* a recently GC'd node comes back only if it really moved on */
		if ((g = gc_find(e, id)) != NULL && !(g->heartbeat < hb))
			return;
		if (e->n_nodes >= e->max_nodes) {
			e->stats.limit_nodes_refused++;
			limit_warn(e, LIMIT_NODES, "new node", e->max_nodes);
			return;
		}
		if ((n = node_create(e, id)) == NULL)
			return;
	}
	/* try_set_heartbeat (§2.8): the first value is not an update */
	if (n->heartbeat == 0) {
		n->heartbeat = hb;
		return;
	}
	if (hb <= n->heartbeat)
		return;
	n->heartbeat = hb;
	if (fd_ensure_window(e, n))
		cc_fd_window_report(n->window, &e->fd, now);
}

void
cc_engine_report_heartbeat(struct cc_engine *e, const struct cc_id *id, uint64_t hb)
{
	report_heartbeat_found(e, cc_id_is_equal(id, &e->self_id) ? e->self : node_find(e, id),
	    id, hb, now_of(e));
}

static void
report_digest(struct cc_engine *e, const struct cc_digest *d)
{
	struct cc_digest_index	 ix;
	struct cc_node		*cursor;
	cc_mtime_t		 now = now_of(e);	/* one clock read per digest */

	/* chitchat reads the digest into an ordered map: later entries win,
	 * and they are visited in id order */
	if (cc_digest_index_init(&ix, d) == -1)
		return;
	/*
	 * Both the index and the node tree are in ChitchatId order, so one
	 * merge walk finds every entry's replica: N + M comparisons instead of
	 * M tree searches (those were ~10% of an idle daemon's CPU at N = 100).
	 * A replica created for an unknown entry sorts before the cursor, so
	 * the cursor stays right for the entries after it.
	 */
	cursor = RB_MIN(cc_node_tree, &e->nodes);
	for (size_t i = 0; i < ix.n; i++) {
		const struct cc_id	*id = &ix.sorted[i]->id;
		int			 c = 1;

		while (cursor != NULL && (c = cc_id_cmp(&cursor->id, id)) < 0)
			cursor = RB_NEXT(cc_node_tree, &e->nodes, cursor);
		report_heartbeat_found(e, cursor != NULL && c == 0 ? cursor : NULL, id,
		    ix.sorted[i]->heartbeat, now);
	}
	cc_digest_index_clear(&ix);
}

static void
apply_delta(struct cc_engine *e, const struct cc_delta *delta)
{
	cc_mtime_t	now = now_of(e);
	bool		any_reset = false;

	for (size_t i = 0; i < delta->n; i++) {
		const struct cc_node_delta	*nd = &delta->nodes[i];
		struct cc_node			*n = node_find(e, &nd->id);
		struct cc_node_limits		 lim;
		enum cc_delta_status		 st;
		bool				 reset;

		if (n == NULL)
			continue;	/* deltas never create nodes */
		lim.max_keys = e->max_keys;
		/* the byte cap is on remote replicas; self is never limited by it */
		lim.max_bytes = n == e->self ? UINT64_MAX : e->max_state_bytes;
		lim.other_bytes = n == e->self ? 0 : e->state_bytes - n->bytes;
		if (cc_node_apply_delta_limited(n, nd, now, &lim, &reset, &st) == -1)
			engine_log(e, CC_LOG_ERROR, "apply_delta: out of memory");
		if (lim.hit == CC_LIMIT_KEYS) {
			e->stats.limit_keys_refused++;
			limit_warn(e, LIMIT_KEYS, "new key", e->max_keys);
		} else if (lim.hit == CC_LIMIT_BYTES) {
			e->stats.limit_bytes_refused++;
			limit_warn(e, LIMIT_BYTES, "key-value bytes", e->max_state_bytes);
		}
		if (st == CC_DELTA_REJECT)
			e->stats.node_deltas_rejected++;
		if (reset) {
			e->stats.resets_applied++;
			any_reset = true;
			/* only the last node delta can have been cut (§4.4) */
			emit_node_partial(e, n, CC_NODE_RESET, i + 1 == delta->n);
		}
	}
	if (any_reset) {
		struct cc_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.type = CC_EVENT_CATCHUP;
		emit(e, &ev);
	}
}

static void
handle_syn(struct cc_engine *e, const struct cc_addr *from, const struct cc_msg *m)
{
	struct cc_digest	mine;
	size_t			budget, digest_len;

	if (m->cluster_id_len != e->cluster_id_len ||
	    memcmp(m->cluster_id, e->cluster_id, e->cluster_id_len) != 0) {
		e->stats.bad_cluster_rx++;
		cc_wbuf_reset(&e->tx);
		cc_msg_put_header(&e->tx, CC_MSG_BAD_CLUSTER);
		send_tx(e, from, CC_MSG_BAD_CLUSTER);
		return;
	}
	report_digest(e, &m->digest);
	if (build_digest(e, &mine) == -1)
		return;
	digest_len = cc_digest_encoded_len(&mine);
	budget = digest_len + 1 < e->max_dgram ? e->max_dgram - 1 - digest_len : 0;
	cc_wbuf_reset(&e->tx);
	cc_msg_put_header(&e->tx, CC_MSG_SYN_ACK);
	cc_digest_encode(&e->tx, &mine);
	free(mine.entries);
	if (put_delta(e, &m->digest, budget) == -1) {
		e->stats.tx_errors++;
		return;
	}
	send_tx(e, from, CC_MSG_SYN_ACK);
}

static void
handle_syn_ack(struct cc_engine *e, const struct cc_addr *from, const struct cc_msg *m)
{
	report_digest(e, &m->digest);
	apply_delta(e, &m->delta);
	cc_wbuf_reset(&e->tx);
	cc_msg_put_header(&e->tx, CC_MSG_ACK);
	if (put_delta(e, &m->digest, e->max_dgram - 1) == -1) {
		e->stats.tx_errors++;
		return;
	}
	send_tx(e, from, CC_MSG_ACK);
}

int
cc_engine_recv(struct cc_engine *e, const struct cc_addr *from,
    const uint8_t *buf, size_t len)
{
	struct cc_msg m;

	e->stats.rx_datagrams++;
	e->stats.rx_bytes += len;
	memset(&m, 0, sizeof(m));
	if (cc_msg_decode(buf, len, &m, NULL, e->codec) == -1) {
		e->stats.rx_decode_errors++;
		errno = EBADMSG;
		return -1;
	}
	e->stats.rx_by_type[m.type]++;
	e->self->heartbeat++;
	switch (m.type) {
	case CC_MSG_SYN:
		handle_syn(e, from, &m);
		break;
	case CC_MSG_SYN_ACK:
		handle_syn_ack(e, from, &m);
		break;
	case CC_MSG_ACK:
		apply_delta(e, &m.delta);
		break;
	case CC_MSG_BAD_CLUSTER:
		engine_log(e, CC_LOG_DEBUG, "rejected by peer: wrong cluster");
		break;
	}
	cc_msg_clear(&m);
	return 0;
}

int
cc_engine_gossip(struct cc_engine *e, const struct cc_addr *to)
{
	send_syn(e, to);
	return 0;
}

/*
 * Force-leave: the replica goes as node GC would take it, and a fence
 * keeps the same node from being re-created by peers that still gossip
 * its last heartbeat. Deltas never create nodes, so with no replica the
 * node's deltas are ignored too; our digest no longer lists it, so
 * nothing of it is requested either (a peer may still send it unasked,
 * which is dropped like any delta of an unknown node).
 */
int
cc_engine_forget_node(struct cc_engine *e, const struct cc_id *id,
    uint64_t fence_heartbeat, cc_mtime_t until)
{
	struct cc_node *n;

	if (cc_id_is_equal(id, &e->self_id)) {
		errno = EBUSY;
		return -1;
	}
	if (fence_put(e, id, fence_heartbeat, until) == -1)
		return -1;
	if ((n = node_find(e, id)) != NULL) {
		node_remove(e, n);
		e->stats.nodes_forgotten++;
	}
	return 0;
}

/* ---- liveness (§5.4-§5.6) -------------------------------------------------------- */

static void
update_node_liveness(struct cc_engine *e, struct cc_node *n, cc_mtime_t now)
{
	double	phi;
	bool	has_phi = n->window != NULL &&
		    cc_fd_window_phi(n->window, &e->fd, now, &phi);

	if (has_phi && phi <= e->fd.phi_threshold) {
		bool was_live = n->live;

		n->live = true;
		n->was_live = true;
		n->dead = false;
		n->scheduled = false;
		if (!was_live)
			emit_node(e, n, CC_NODE_LIVE);
		return;
	}
	if (n->live || !n->dead) {
		bool was_live = n->live;

		n->live = false;
		if (!n->dead) {
			n->dead = true;
			n->time_of_death = now;	/* recorded once per dead period */
		}
		/* a node never seen live is "joining", not a failure to report */
		if (was_live)
			emit_node(e, n, CC_NODE_DEAD);
	}
	if (n->window != NULL)
		cc_fd_window_reset(n->window);
	if (!n->scheduled && cc_engine_is_scheduled(e, n)) {
		n->scheduled = true;
		emit_node(e, n, CC_NODE_SCHEDULED);
	}
}

/* True if the live summary {id -> max_version} differs from the last one. */
static bool
summary_changed(const struct cc_engine *e)
{
	struct cc_node	*n;
	size_t		 i = 0;

	RB_FOREACH(n, cc_node_tree, (struct cc_node_tree *)&e->nodes) {
		if (n != e->self && !n->live)
			continue;
		if (i >= e->n_summary || !cc_id_is_equal(&e->summary[i].id, &n->id) ||
		    e->summary[i].max_version != n->max_version)
			return true;
		i++;
	}
	return i != e->n_summary;
}

static void
publish_live_nodes(struct cc_engine *e)
{
	struct summary_entry	*sum;
	const struct cc_id	**ids;
	struct cc_node		*n;
	size_t			 n_live = 0, n_pub = 0;
	struct cc_event		 ev;

	RB_FOREACH(n, cc_node_tree, &e->nodes)
		if (n == e->self || n->live)
			n_live++;
	sum = calloc(n_live, sizeof(*sum));
	ids = calloc(n_live, sizeof(*ids));
	if (sum == NULL || ids == NULL) {
		free(sum);
		free(ids);
		return;		/* retried at the next round: summary unchanged */
	}
	n_live = 0;
	RB_FOREACH(n, cc_node_tree, &e->nodes) {
		if (n != e->self && !n->live)
			continue;
		if (cc_id_copy(&sum[n_live].id, &n->id) == -1)
			break;
		sum[n_live++].max_version = n->max_version;
		if (e->predicate == NULL || e->predicate(n, e->predicate_arg))
			ids[n_pub++] = &n->id;
	}
	for (size_t i = 0; i < e->n_summary; i++)
		cc_id_clear(&e->summary[i].id);
	free(e->summary);
	e->summary = sum;
	e->n_summary = n_live;
	memset(&ev, 0, sizeof(ev));
	ev.type = CC_EVENT_LIVE_NODES;
	ev.live = ids;
	ev.n_live = n_pub;
	emit(e, &ev);
	free(ids);
}

static void
gc_dead_nodes(struct cc_engine *e, cc_mtime_t now)
{
	struct cc_node *n, *next;

	for (n = RB_MIN(cc_node_tree, &e->nodes); n != NULL; n = next) {
		next = RB_NEXT(cc_node_tree, &e->nodes, n);
		if (n == e->self || !n->dead ||
		    now.ms < n->time_of_death.ms + e->fd.dead_node_grace_period_ms)
			continue;
		node_remove(e, n);
		e->stats.nodes_gced++;
	}
	fence_expire(e, now);
}

void
cc_engine_update_liveness(struct cc_engine *e)
{
	cc_mtime_t	 now = now_of(e);
	struct cc_node	*n;

	RB_FOREACH(n, cc_node_tree, &e->nodes)
		if (n != e->self)
			update_node_liveness(e, n, now);
	if (summary_changed(e))
		publish_live_nodes(e);
	gc_dead_nodes(e, now);
}

void
cc_engine_gc_entries(struct cc_engine *e)
{
	cc_mtime_t	 now = now_of(e);
	struct cc_node	*n;

	RB_FOREACH(n, cc_node_tree, &e->nodes)
		e->stats.kvs_gced += cc_node_gc_expired(n, e->entry_grace_ms, now);
}

/* ---- gossip round (§4.7) ---------------------------------------------------------- */

/* The round's candidate sets: sets of addresses, ids sharing one collapse. */
static int
collect_sets(struct cc_engine *e, struct cc_addr_set *peers, struct cc_addr_set *live,
    struct cc_addr_set *dead, struct cc_addr_set *seeds)
{
	struct cc_node	*n;
	int		 rc = 0;

	RB_FOREACH(n, cc_node_tree, &e->nodes) {
		if (n == e->self)
			continue;
		rc |= cc_addr_set_push(peers, &n->id.addr);
		if (n->live)
			rc |= cc_addr_set_push(live, &n->id.addr);
		if (n->dead)
			rc |= cc_addr_set_push(dead, &n->id.addr);
	}
	for (size_t i = 0; i < e->n_seeds; i++)
		if (!cc_addr_is_equal(&e->seeds[i], &e->self_id.addr))
			rc |= cc_addr_set_push(seeds, &e->seeds[i]);
	cc_addr_set_seal(peers);
	cc_addr_set_seal(live);
	cc_addr_set_seal(dead);
	cc_addr_set_seal(seeds);
	return rc;
}

void
cc_engine_round(struct cc_engine *e)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;

	cc_addr_set_init(&peers);
	cc_addr_set_init(&live);
	cc_addr_set_init(&dead);
	cc_addr_set_init(&seeds);
	if (collect_sets(e, &peers, &live, &dead, &seeds) == -1)
		engine_log(e, CC_LOG_ERROR, "gossip round: out of memory");
	cc_select_peers(&peers, &live, &dead, &seeds, e->env.random_u32, e->env.arg, &sel);
	cc_addr_set_clear(&peers);
	cc_addr_set_clear(&live);
	cc_addr_set_clear(&dead);
	cc_addr_set_clear(&seeds);

	e->stats.rounds++;
	e->self->heartbeat++;
	cc_engine_gc_entries(e);
	/*
	 * The round's SYNs are the same message (nothing changes between
	 * them: sending never re-enters the engine), so it is encoded once:
	 * encoding the digest was the largest part of an idle round.
	 */
	if (encode_syn(e) == 0) {
		for (size_t i = 0; i < sel.n_targets; i++)
			send_tx(e, &sel.targets[i], CC_MSG_SYN);
		if (sel.has_dead)
			send_tx(e, &sel.dead_target, CC_MSG_SYN);
		if (sel.has_seed)
			send_tx(e, &sel.seed_target, CC_MSG_SYN);
	}
	cc_engine_update_liveness(e);
}

cc_mtime_t
cc_engine_tick(struct cc_engine *e)
{
	cc_mtime_t now = now_of(e);

	if (now.ms >= e->next_round.ms) {
		cc_engine_round(e);
		/* fixed rate; after a long stall, restart from now (no burst) */
		e->next_round.ms += e->gossip_interval_ms;
		if (e->next_round.ms <= now.ms)
			e->next_round.ms = now.ms + e->gossip_interval_ms;
	}
	return e->next_round;
}

/* ---- own keys ------------------------------------------------------------------------- */

static int
check_kv(const char *key, size_t key_len, const char *value, size_t value_len)
{
	if (key == NULL || (value == NULL && value_len > 0) ||
	    !cc_kv_is_valid(key, key_len, value != NULL ? value : "", value_len, NULL)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

static int
result_of(int rc)
{
	if (rc == -1) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

int
cc_engine_set(struct cc_engine *e, const char *key, size_t key_len,
    const char *value, size_t value_len)
{
	if (check_kv(key, key_len, value, value_len) == -1)
		return -1;
	return result_of(cc_node_set(e->self, key, key_len, value ? value : "",
	    value_len, now_of(e)));
}

int
cc_engine_set_with_ttl(struct cc_engine *e, const char *key, size_t key_len,
    const char *value, size_t value_len)
{
	if (check_kv(key, key_len, value, value_len) == -1)
		return -1;
	return result_of(cc_node_set_with_ttl(e->self, key, key_len,
	    value ? value : "", value_len, now_of(e)));
}

int
cc_engine_delete(struct cc_engine *e, const char *key, size_t key_len)
{
	int rc = cc_node_delete(e->self, key, key_len, now_of(e));

	if (rc == 0) {
		errno = ENOENT;
		return -1;
	}
	return result_of(rc);
}

int
cc_engine_delete_after_ttl(struct cc_engine *e, const char *key, size_t key_len)
{
	int rc;

	/* keeping the value must not smuggle in an invalid one */
	rc = cc_node_delete_after_ttl(e->self, key, key_len, now_of(e));
	if (rc == 0) {
		errno = ENOENT;
		return -1;
	}
	return result_of(rc);
}

/* ---- reset API (§6.5) ------------------------------------------------------------- */

static int
kv_ptr_key_cmp(const void *a, const void *b)
{
	const struct cc_kv *const *x = a, *const *y = b;

	return cc_bytes_cmp((*x)->key, (*x)->key_len, (*y)->key, (*y)->key_len);
}

/* Whether kv's key is among the sorted entries: O(log n). */
static bool
sorted_have_key(const struct cc_kv **sorted, size_t n, const struct cc_kv *kv)
{
	const struct cc_kv *probe = kv;

	return n > 0 && bsearch(&probe, sorted, n, sizeof(*sorted), kv_ptr_key_cmp) != NULL;
}

/*
 * The entries by key, so that the keys to drop are found in O(n log n):
 * a catch-up brings tens of thousands of entries, and a linear search per
 * stored key (O(n^2)) stalled the event loop for seconds.
 */
static const struct cc_kv **
sort_entries(const struct cc_kv *entries, size_t n)
{
	const struct cc_kv **v;

	if ((v = calloc(n > 0 ? n : 1, sizeof(*v))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = &entries[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), kv_ptr_key_cmp);
	return v;
}

int
cc_engine_reset_node_state(struct cc_engine *e, const struct cc_id *id,
    const struct cc_kv *entries, size_t n, uint64_t max_v, uint64_t gc_v)
{
	struct cc_node	*ns = node_find(e, id);
	struct cc_entry	*en, *next;
	const struct cc_kv **sorted = NULL;
	uint64_t	 before_gc, before_max;
	cc_mtime_t	 now = now_of(e);
	int		 rc = -1;

	if (ns == NULL) {
		if (gc_find(e, id) != NULL || fence_active(e, id) != NULL)
			return 0;	/* recently garbage collected or forgotten: skip */
		if ((ns = node_create(e, id)) == NULL)
			return -1;
	}
	if (ns->max_version >= max_v)
		return 0;		/* already up to date */
	if (max_v < ns->last_gc_version) {
		engine_log(e, CC_LOG_WARN, "reset_node_state: obsolete state ignored");
		return 0;
	}
	before_gc = ns->last_gc_version;
	before_max = ns->max_version;
	/* allocations first: a failure then changes nothing */
	if (!fd_ensure_window(e, ns) || (sorted = sort_entries(entries, n)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (cc_node_store(ns, entries[i].key, entries[i].key_len,
		    entries[i].value, entries[i].value_len, entries[i].version,
		    entries[i].status, now, false) == -1)
			goto out;
	/* keys absent from the new state go, with no tombstone and no event */
	for (en = RB_MIN(cc_key_tree, &ns->by_key); en != NULL; en = next) {
		next = RB_NEXT(cc_key_tree, &ns->by_key, en);
		if (!sorted_have_key(sorted, n, &en->kv))
			cc_node_remove_entry(ns, en);
	}
	ns->last_gc_version = gc_v;
	/* [C-CHOICE] hosts learn that keys may have gone without an event */
	emit_node(e, ns, CC_NODE_RESET);
	if (ns->last_gc_version > before_gc ||
	    (ns->last_gc_version == before_gc && ns->max_version > before_max)) {
		rc = 0;
		goto out;
	}
	/* [C-CHOICE] Rust panics on this assertion; we report it */
	engine_log(e, CC_LOG_ERROR, "reset_node_state: state did not move forward");
	errno = EINVAL;
out:
	free(sorted);
	return rc;
}

/* ---- reads ---------------------------------------------------------------------------- */

cc_mtime_t
cc_engine_now(const struct cc_engine *e)
{
	return now_of(e);
}

const struct cc_id *
cc_engine_self_id(const struct cc_engine *e)
{
	return &e->self_id;
}

const char *
cc_engine_cluster_id(const struct cc_engine *e)
{
	return e->cluster_id;
}

const struct cc_node *
cc_engine_self_node(const struct cc_engine *e)
{
	return e->self;
}

const struct cc_node *
cc_engine_node(const struct cc_engine *e, const struct cc_id *id)
{
	return node_find(e, id);
}

const struct cc_node *
cc_engine_node_first(const struct cc_engine *e)
{
	return RB_MIN(cc_node_tree, (struct cc_node_tree *)&e->nodes);
}

const struct cc_node *
cc_engine_node_next(const struct cc_engine *e, const struct cc_node *n)
{
	(void)e;
	return RB_NEXT(cc_node_tree, (struct cc_node_tree *)&e->nodes, (struct cc_node *)n);
}

size_t
cc_engine_num_nodes(const struct cc_engine *e)
{
	return e->n_nodes;
}

uint64_t
cc_engine_state_bytes(const struct cc_engine *e)
{
	return e->state_bytes;
}

enum cc_liveness
cc_engine_liveness(const struct cc_engine *e, const struct cc_id *id)
{
	const struct cc_node *n = node_find(e, id);

	if (n == e->self)
		return CC_LIVENESS_SELF;
	if (n != NULL && n->live)
		return CC_LIVENESS_LIVE;
	if (n != NULL && cc_engine_is_scheduled(e, n))
		return CC_LIVENESS_SCHEDULED;
	return CC_LIVENESS_DEAD;
}

bool
cc_engine_was_live(const struct cc_engine *e, const struct cc_id *id)
{
	const struct cc_node *n = node_find(e, id);

	return n != NULL && (n == e->self || n->was_live);
}

bool
cc_engine_phi(const struct cc_engine *e, const struct cc_id *id, double *phi)
{
	const struct cc_node *n = node_find(e, id);

	return n != NULL && n->window != NULL &&
	    cc_fd_window_phi(n->window, &e->fd, now_of(e), phi);
}

bool
cc_engine_last_heartbeat_time(const struct cc_engine *e, const struct cc_id *id,
    cc_mtime_t *t)
{
	const struct cc_node *n = node_find(e, id);

	if (n == NULL || n->window == NULL || !n->window->has_last)
		return false;
	*t = n->window->last;
	return true;
}

size_t
cc_engine_num_live(const struct cc_engine *e)
{
	struct cc_node	*n;
	size_t		 count = 0;

	RB_FOREACH(n, cc_node_tree, (struct cc_node_tree *)&e->nodes)
		if (n == e->self || n->live)
			count++;
	return count;
}

size_t
cc_engine_num_dead(const struct cc_engine *e)
{
	struct cc_node	*n;
	size_t		 count = 0;

	RB_FOREACH(n, cc_node_tree, (struct cc_node_tree *)&e->nodes)
		if (n->dead)
			count++;
	return count;
}

const struct cc_stats *
cc_engine_stats(const struct cc_engine *e)
{
	return &e->stats;
}

uint64_t
cc_engine_subscribe(struct cc_engine *e, const char *prefix, size_t len,
    cc_listener_fn fn, void *arg)
{
	return cc_listeners_add(&e->listeners, prefix, len, fn, arg);
}

int
cc_engine_unsubscribe(struct cc_engine *e, uint64_t handle)
{
	return cc_listeners_remove(&e->listeners, handle);
}

/* ---- node accessors (cc.h) ------------------------------------------------------------ */

const struct cc_id *
cc_node_id(const struct cc_node *n)
{
	return &n->id;
}

uint64_t
cc_node_heartbeat(const struct cc_node *n)
{
	return n->heartbeat;
}

uint64_t
cc_node_max_version(const struct cc_node *n)
{
	return n->max_version;
}

uint64_t
cc_node_last_gc_version(const struct cc_node *n)
{
	return n->last_gc_version;
}

size_t
cc_node_num_visible(const struct cc_node *n)
{
	return n->n_visible;
}

size_t
cc_node_num_stored(const struct cc_node *n)
{
	return n->n_stored;
}

uint64_t
cc_node_bytes(const struct cc_node *n)
{
	return n->bytes;
}

const struct cc_kv *
cc_node_get_versioned(const struct cc_node *n, const char *key, size_t key_len)
{
	struct cc_entry *en = cc_node_find(n, key, key_len);

	return en != NULL ? &en->kv : NULL;
}

const struct cc_kv *
cc_node_get(const struct cc_node *n, const char *key, size_t key_len)
{
	const struct cc_kv *kv = cc_node_get_versioned(n, key, key_len);

	return kv != NULL && kv->status != CC_STATUS_DELETED ? kv : NULL;
}

static bool
has_prefix(const struct cc_kv *kv, const char *prefix, size_t len)
{
	return kv->key_len >= len && (len == 0 || memcmp(kv->key, prefix, len) == 0);
}

/* From `en` on, the first entry that matches, or NULL once past the prefix. */
static const struct cc_kv *
prefix_scan(struct cc_entry *en, const char *prefix, size_t len, bool include_deleted)
{
	for (; en != NULL; en = RB_NEXT(cc_key_tree, NULL, en)) {
		if (!has_prefix(&en->kv, prefix, len))
			return NULL;	/* keys are ordered: no more matches */
		if (include_deleted || en->kv.status != CC_STATUS_DELETED)
			return &en->kv;
	}
	return NULL;
}

const struct cc_kv *
cc_node_prefix_first(const struct cc_node *n, const char *prefix, size_t len,
    bool include_deleted)
{
	struct cc_entry probe;

	memset(&probe, 0, sizeof(probe));
	probe.kv.key = prefix;
	probe.kv.key_len = len;
	return prefix_scan(RB_NFIND(cc_key_tree, (struct cc_key_tree *)&n->by_key, &probe),
	    prefix, len, include_deleted);
}

const struct cc_kv *
cc_node_prefix_next(const struct cc_node *n, const struct cc_kv *kv,
    const char *prefix, size_t len, bool include_deleted)
{
	/* kv is the first member of its entry */
	struct cc_entry *en = (struct cc_entry *)(uintptr_t)kv;

	(void)n;
	return prefix_scan(RB_NEXT(cc_key_tree, NULL, en), prefix, len, include_deleted);
}
