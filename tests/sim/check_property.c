/*
 * check_property.c: randomized property test of the gossip engine on the
 * deterministic simulator.
 *
 * Each seed builds a cluster of 5-10 nodes and, for a random period, does
 * random set / delete / set_with_ttl / delete_after_ttl on random nodes
 * under random loss, duplication, reordering (random latency) and
 * partitions (cut pairs, splits in two, heals). Then it heals everything,
 * stops writing, and checks the invariant of chitchat's ALGORITHM.md:
 * every live node's replica of every node equals the owner's own state
 * (same visible keys, values, versions and statuses, same max_version),
 * and that every node sees every other node live.
 *
 * Choice about GC (entry grace period). Tombstones and TTL entries are
 * purged on each node independently, `grace` after the mutation was
 * applied *there* (§6.3, §6.4), so while such entries are alive a replica
 * may legitimately differ from its owner: the owner may have purged a TTL
 * entry (no longer visible) that a replica, which applied it later, still
 * shows. Rather than avoid GC with a grace period longer than the run, we
 * keep it short (0.5-3 s), so tombstone purges, resets and catch-ups happen
 * during the run, and we compare at a time when every expiring entry is gone
 * everywhere: in the quiet period nothing new is written, and an expiring
 * entry is applied to a replica once (later copies have versions at or
 * below the replica's max) or again only after a reset, each followed by
 * its purge `grace` later. So the end state is: no DELETED or
 * DELETE_AFTER_TTL entry stored anywhere, and replicas equal to owners. We
 * wait for that (bounded: 60 s of simulated time), then check that it still
 * holds 2 s later.
 *
 * Safety checks along the way, at every step of the active period:
 * - every stored entry of every replica (tombstones included) is a version
 *   its owner really wrote, with that key, value and status;
 * - (last_gc_version, max_version) of a replica never decreases (§2.4), and
 *   a replica's max_version never exceeds its owner's.
 *
 * Seeds: PROPERTY_BASE + 0 .. PROPERTY_SEEDS-1 (defaults 1000 and 50), one
 * Check test per seed. MEMNET_SEED=<n> runs that single seed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memnet.h"
#include "testutil.h"

#define MAXN		10
#define NKEYS		8
#define SEC		1000ULL

/* What owner j wrote at version v. */
struct write {
	char		key[8];
	char		value[16];
	enum cc_status	status;
	bool		set;
};

struct history {
	struct write	*w;	/* indexed by version */
	size_t		 cap;
};

struct prop {
	struct memnet	*net;
	size_t		 n;
	struct cc_id	 ids[MAXN];
	struct cc_addr	 addrs[MAXN];
	struct history	 hist[MAXN];
	uint64_t	 last_gc[MAXN][MAXN];	/* [observer][owner] */
	uint64_t	 last_max[MAXN][MAXN];
	bool		 seen[MAXN][MAXN];
	unsigned	 value_counter;
};

static char explain_buf[512];

static void
trace_kv(struct prop *p, int node, const struct cc_event *ev)
{
	fprintf(stderr, "t=%" PRIu64 " node %d: %s %s[%s]=%s v%" PRIu64 " st%d\n",
	    memnet_now(p->net), node, ev->local ? "local" : "apply", ev->node->node_id,
	    ev->kv->key, ev->kv->value, ev->kv->version, (int)ev->kv->status);
}

static void
record_write(struct memnet *net, int node, const struct cc_event *ev, void *arg)
{
	struct prop		*p = arg;
	struct history		*h;
	struct write		*w;
	uint64_t		 v;

	(void)net;
	if (ev->type == CC_EVENT_NODE && ev->change == CC_NODE_REMOVED) {
		/* node GC: the replica may come back, fresh */
		for (size_t j = 0; j < p->n; j++)
			if (cc_id_is_equal(ev->node, &p->ids[j]))
				p->seen[node][j] = false;
		return;
	}
	if (getenv("PROPERTY_TRACE") != NULL && ev->type == CC_EVENT_KV)
		trace_kv(p, node, ev);
	if (ev->type != CC_EVENT_KV || !ev->local)
		return;
	h = &p->hist[node];
	v = ev->kv->version;
	if (v >= h->cap) {
		size_t ncap = h->cap ? h->cap : 64;

		while (ncap <= v)
			ncap *= 2;
		h->w = realloc(h->w, ncap * sizeof(*h->w));
		MN_NONNULL(h->w);
		memset(&h->w[h->cap], 0, (ncap - h->cap) * sizeof(*h->w));
		h->cap = ncap;
	}
	w = &h->w[v];
	MN_ASSERT(!w->set, "node %d wrote version %" PRIu64 " twice", node, v);
	MN_ASSERT(ev->kv->key_len < sizeof(w->key) && ev->kv->value_len < sizeof(w->value),
	    "unexpected key or value size");
	memcpy(w->key, ev->kv->key, ev->kv->key_len);
	memcpy(w->value, ev->kv->value, ev->kv->value_len);
	w->status = ev->kv->status;
	w->set = true;
}

/* Safety checks of the header comment. */
static void
check_safety(struct prop *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct cc_engine *e = memnet_engine(p->net, (int)i);

		for (size_t j = 0; j < p->n; j++) {
			const struct cc_node	*rep = cc_engine_node(e, &p->ids[j]);
			const struct cc_node	*own = cc_engine_self_node(memnet_engine(p->net, (int)j));
			const struct cc_kv	*kv;
			uint64_t		 gc, max;

			if (rep == NULL) {
				p->seen[i][j] = false;	/* node GC: a new replica may come */
				continue;
			}
			gc = cc_node_last_gc_version(rep);
			max = cc_node_max_version(rep);
			MN_ASSERT(max <= cc_node_max_version(own),
			    "node %zu's replica of node %zu is ahead: %" PRIu64 " > %" PRIu64,
			    i, j, max, cc_node_max_version(own));
			if (p->seen[i][j])
				MN_ASSERT(gc > p->last_gc[i][j] ||
				    (gc == p->last_gc[i][j] && max >= p->last_max[i][j]),
				    "node %zu's replica of node %zu went back: (%" PRIu64 ", %" PRIu64
				    ") -> (%" PRIu64 ", %" PRIu64 ")", i, j, p->last_gc[i][j],
				    p->last_max[i][j], gc, max);
			p->seen[i][j] = true;
			p->last_gc[i][j] = gc;
			p->last_max[i][j] = max;
			for (kv = cc_node_prefix_first(rep, "", 0, true); kv != NULL;
			    kv = cc_node_prefix_next(rep, kv, "", 0, true)) {
				const struct history	*h = &p->hist[j];
				const struct write	*w;

				MN_ASSERT(kv->version < h->cap && h->w[kv->version].set,
				    "node %zu holds version %" PRIu64 " of node %zu, never written",
				    i, kv->version, j);
				w = &h->w[kv->version];
				MN_ASSERT(kv->key_len == strlen(w->key) &&
				    memcmp(kv->key, w->key, kv->key_len) == 0 &&
				    kv->value_len == strlen(w->value) &&
				    memcmp(kv->value, w->value, kv->value_len) == 0 &&
				    kv->status == w->status,
				    "node %zu's replica of node %zu: version %" PRIu64 " is %s=%s/%d,"
				    " the owner wrote %s=%s/%d", i, j, kv->version, kv->key,
				    kv->value, (int)kv->status, w->key, w->value, (int)w->status);
			}
		}
	}
}

static bool
no_expiring_entries(struct memnet *net, void *arg)
{
	struct prop *p = arg;

	for (size_t i = 0; i < p->n; i++) {
		struct cc_engine	*e = memnet_engine(net, (int)i);
		const struct cc_node	*n;

		for (n = cc_engine_node_first(e); n != NULL; n = cc_engine_node_next(e, n))
			if (cc_node_num_stored(n) != cc_node_num_visible(n))
				return false;	/* a tombstone */
		for (n = cc_engine_node_first(e); n != NULL; n = cc_engine_node_next(e, n)) {
			const struct cc_kv *kv;

			for (kv = cc_node_prefix_first(n, "", 0, false); kv != NULL;
			    kv = cc_node_prefix_next(n, kv, "", 0, false))
				if (kv->status != CC_STATUS_SET)
					return false;
		}
	}
	return true;
}

static bool
kv_is_equal(const struct cc_kv *a, const struct cc_kv *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
	    a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0 &&
	    a->version == b->version && a->status == b->status;
}

/*
 * Whether replica entry kv of owner j is a "stale entry kept below the GC
 * horizon" (see the header comment): the owner no longer stores the key,
 * the entry is at or below the replica's last_gc_version, and the owner
 * did later delete (or TTL-mark) that key at a version it has purged.
 */
static bool
is_stale_below_gc(const struct prop *p, int j, const struct cc_node *own,
    const struct cc_node *rep, const struct cc_kv *kv)
{
	const struct history *h = &p->hist[j];

	if (cc_node_get_versioned(own, kv->key, kv->key_len) != NULL ||
	    kv->version > cc_node_last_gc_version(rep))
		return false;
	for (uint64_t w = kv->version + 1; w <= cc_node_last_gc_version(own) && w < h->cap; w++)
		if (h->w[w].set && h->w[w].status != CC_STATUS_SET &&
		    strlen(h->w[w].key) == kv->key_len &&
		    memcmp(h->w[w].key, kv->key, kv->key_len) == 0)
			return true;
	return false;
}

/*
 * Node i's replica of node j against j's own state: -1 if they differ,
 * else the number of stale entries kept below the GC horizon (0: equal).
 */
static int
compare_replica(const struct prop *p, int i, int j, char *why, size_t len)
{
	const struct cc_node	*own = cc_engine_self_node(memnet_engine(p->net, j));
	const struct cc_node	*rep = cc_engine_node(memnet_engine(p->net, i), &p->ids[j]);
	const struct cc_kv	*kv, *other;
	int			 stale = 0;

	if (rep == NULL) {
		snprintf(why, len, "node %d has no replica of node %d", i, j);
		return -1;
	}
	if (cc_node_max_version(rep) != cc_node_max_version(own)) {
		snprintf(why, len, "node %d's replica of node %d: max %" PRIu64 ", owner %" PRIu64,
		    i, j, cc_node_max_version(rep), cc_node_max_version(own));
		return -1;
	}
	for (kv = cc_node_prefix_first(own, "", 0, false); kv != NULL;
	    kv = cc_node_prefix_next(own, kv, "", 0, false)) {
		other = cc_node_get(rep, kv->key, kv->key_len);
		if (other == NULL || !kv_is_equal(kv, other)) {
			snprintf(why, len, "node %d's replica of node %d: %s is %s (v%" PRIu64
			    "), owner %s (v%" PRIu64 ")", i, j, kv->key,
			    other ? other->value : "(absent)", other ? other->version : 0,
			    kv->value, kv->version);
			return -1;
		}
	}
	for (kv = cc_node_prefix_first(rep, "", 0, false); kv != NULL;
	    kv = cc_node_prefix_next(rep, kv, "", 0, false)) {
		if (cc_node_get(own, kv->key, kv->key_len) != NULL)
			continue;	/* compared above */
		if (!is_stale_below_gc(p, j, own, rep, kv)) {
			snprintf(why, len, "node %d's replica of node %d has %s=%s (v%" PRIu64
			    "), absent on the owner", i, j, kv->key, kv->value, kv->version);
			return -1;
		}
		stale++;
	}
	return stale;
}

/* Replicas equal to owners, up to stale entries below the GC horizon. */
static bool
replicas_match(struct prop *p, char *why, size_t len, size_t *n_stale)
{
	size_t stale = 0;

	for (size_t i = 0; i < p->n; i++)
		for (size_t j = 0; j < p->n; j++) {
			int c = compare_replica(p, (int)i, (int)j, why, len);

			if (c < 0)
				return false;
			stale += (size_t)c;
		}
	if (n_stale != NULL)
		*n_stale = stale;
	return true;
}

static bool
settled(struct memnet *net, void *arg)
{
	struct prop	*p = arg;
	char		 why[256];

	return memnet_all_live(net, NULL) && no_expiring_entries(net, arg) &&
	    replicas_match(p, why, sizeof(why), NULL);
}

static const char *
explain(struct prop *p)
{
	if (!memnet_all_live(p->net, NULL))
		return memnet_explain(p->net, explain_buf, sizeof(explain_buf));
	if (!no_expiring_entries(p->net, p))
		return "tombstones or TTL entries left";
	if (!replicas_match(p, explain_buf, sizeof(explain_buf), NULL))
		return explain_buf;
	return "settled";
}

static void
random_op(struct prop *p)
{
	struct memnet		*net = p->net;
	int			 i = (int)memnet_rand_range(net, 0, p->n - 1);
	struct cc_engine	*e = memnet_engine(net, i);
	char			 key[8], value[16];
	uint32_t		 r = (uint32_t)memnet_rand_range(net, 0, 99);
	int			 rc;

	snprintf(key, sizeof(key), "k%u", (unsigned)memnet_rand_range(net, 0, NKEYS - 1));
	snprintf(value, sizeof(value), "v%u", p->value_counter++);
	errno = 0;
	if (r < 40)
		rc = cc_engine_set(e, key, strlen(key), value, strlen(value));
	else if (r < 60)
		rc = cc_engine_delete(e, key, strlen(key));
	else if (r < 80)
		rc = cc_engine_set_with_ttl(e, key, strlen(key), value, strlen(value));
	else
		rc = cc_engine_delete_after_ttl(e, key, strlen(key));
	MN_ASSERT(rc == 0 || errno == ENOENT, "op %u on node %d: %s", r, i, strerror(errno));
}

static void
random_network_change(struct prop *p)
{
	struct memnet	*net = p->net;
	uint32_t	 r = (uint32_t)memnet_rand_range(net, 0, 99);

	if (r < 40) {
		int a = (int)memnet_rand_range(net, 0, p->n - 1);
		int b = (int)memnet_rand_range(net, 0, p->n - 1);

		if (a != b)
			memnet_cut(net, a, b);
	} else if (r < 60) {
		int	a[MAXN], b[MAXN];
		size_t	na = 0, nb = 0;

		for (size_t i = 0; i < p->n; i++) {
			if (memnet_rand_range(net, 0, 1) == 0)
				a[na++] = (int)i;
			else
				b[nb++] = (int)i;
		}
		memnet_partition(net, a, na, b, nb);
	} else if (r < 80) {
		int a = (int)memnet_rand_range(net, 0, p->n - 1);
		int b = (int)memnet_rand_range(net, 0, p->n - 1);

		if (a != b)
			memnet_restore(net, a, b);
	} else
		memnet_heal(net);
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static void
run_seed(uint64_t seed)
{
	struct memnet_config	 mc;
	struct prop		*p;
	uint64_t		 entry_grace, dead_grace, active_ms, end;
	double			 loss, dup;
	uint32_t		 lat_max;
	size_t			 stale = 0, stale2 = 0;

	p = calloc(1, sizeof(*p));
	MN_NONNULL(p);
	memnet_config_default(&mc, seed);
	p->net = memnet_new(&mc);
	MN_NONNULL(p->net);
	memnet_set_event_hook(p->net, record_write, p);

	/* the scenario's shape, from the seed */
	p->n = (size_t)memnet_rand_range(p->net, 5, MAXN);
	entry_grace = memnet_rand_range(p->net, 500, 3000);
	dead_grace = memnet_rand_range(p->net, 0, 1) ? 3600 * SEC :
	    memnet_rand_range(p->net, 2 * SEC, 8 * SEC);
	loss = (double)memnet_rand_range(p->net, 0, 30) / 100.0;
	dup = (double)memnet_rand_range(p->net, 0, 20) / 100.0;
	lat_max = (uint32_t)memnet_rand_range(p->net, 1, 300);
	active_ms = memnet_rand_range(p->net, 3 * SEC, 15 * SEC);

	for (size_t i = 0; i < p->n; i++) {
		test_id(&p->ids[i], (uint16_t)(30000 + i));
		p->addrs[i] = p->ids[i].addr;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct cc_config cfg;

		memnet_cfg_sim(&cfg, &p->ids[i], entry_grace);
		cfg.fd.dead_node_grace_period_ms = dead_grace;
		cfg.seeds = p->addrs;
		cfg.n_seeds = 2;
		MN_ASSERT(memnet_add_node(p->net, &cfg) == (int)i, "add node %zu", i);
		memnet_run_for(p->net, memnet_rand_range(p->net, 0, 50));
	}
	memnet_cfg(p->net)->loss = loss;
	memnet_cfg(p->net)->dup = dup;
	memnet_cfg(p->net)->latency_max_ms = lat_max;

	/* active period: writes and network trouble */
	end = memnet_now(p->net) + active_ms;
	while (memnet_now(p->net) < end) {
		uint32_t r = (uint32_t)memnet_rand_range(p->net, 0, 99);

		if (r < 85)
			random_op(p);
		else
			random_network_change(p);
		memnet_run_for(p->net, memnet_rand_range(p->net, 10, 200));
		check_safety(p);
	}

	/* heal everything, stop writing */
	memnet_heal(p->net);
	memnet_cfg(p->net)->loss = 0;
	MN_ASSERT(memnet_run_until_pred(p->net, settled, p, 60 * SEC),
	    "n=%zu grace=%" PRIu64 " dead_grace=%" PRIu64 " loss=%.2f dup=%.2f lat<=%u "
	    "active=%" PRIu64 ": not settled after 60 s quiet: %s", p->n, entry_grace,
	    dead_grace, loss, dup, lat_max, active_ms, explain(p));
	check_safety(p);
	MN_CHECK(replicas_match(p, explain_buf, sizeof(explain_buf), &stale));
	memnet_run_for(p->net, 2 * SEC);
	MN_ASSERT(settled(p->net, p), "settled state did not hold: %s", explain(p));
	MN_CHECK(replicas_match(p, explain_buf, sizeof(explain_buf), &stale2));
	MN_ASSERT(stale2 == stale, "stale entries changed while quiet");
	check_safety(p);
	MN_ASSERT(memnet_decode_errors(p->net) == 0, "decode errors");

	if (getenv("MEMNET_VERBOSE") != NULL)
		fprintf(stderr, "seed %" PRIu64 ": n=%zu grace=%" PRIu64 " dead_grace=%" PRIu64
		    " loss=%.2f dup=%.2f lat<=%u active=%" PRIu64 " settled at +%" PRIu64
		    " ms, sent %" PRIu64 ", catch-ups %zu, stale below gc %zu\n", seed, p->n,
		    entry_grace, dead_grace, loss, dup, lat_max, active_ms,
		    memnet_now(p->net) - end, memnet_counters(p->net)->sent,
		    memnet_num_catchups(p->net), stale);

	memnet_free(p->net);
	for (size_t i = 0; i < p->n; i++) {
		cc_id_clear(&p->ids[i]);
		free(p->hist[i].w);
	}
	free(p);
}

START_TEST(test_property_replicas_converge)
{
	uint64_t seed = getenv("MEMNET_SEED") != NULL ? env_u64("MEMNET_SEED", 0) :
	    env_u64("PROPERTY_BASE", 1000) + (uint64_t)_i;

	run_seed(seed);
}
END_TEST

static Suite *
property_suite(void)
{
	Suite	*s = suite_create("property");
	TCase	*tc = tcase_create("seeds");
	int	 n = getenv("MEMNET_SEED") != NULL ? 1 : (int)env_u64("PROPERTY_SEEDS", 50);

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_property_replicas_converge, 0, n);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(property_suite)
