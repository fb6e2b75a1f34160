/*
 * check_sim.c: multi-node scenarios on the deterministic simulator
 * (tests/support/memnet.c): handshake, convergence of 100 nodes, key
 * propagation, failure detection through scheduling for deletion to node
 * GC, restart with a new generation, partitions, loss, duplication and
 * reordering, and the reset of a node that lagged past the tombstone GC
 * horizon (PROTOCOL.md §4, §5, §6). Also the transport model itself
 * (§8.6).
 *
 * Every run is a function of its seed, printed by MN_ASSERT on failure;
 * MEMNET_SEED=<n> in the environment replaces every test's default seed.
 * Times are simulated: nothing sleeps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"
#include "cc_wire.h"
#include "memnet.h"
#include "testutil.h"

#define MAXN		128
#define SEC		1000ULL

static char explain_buf[512];
#define EXPLAIN(net)	memnet_explain((net), explain_buf, sizeof(explain_buf))

static uint64_t
seed_or_env(uint64_t dflt)
{
	const char *s = getenv("MEMNET_SEED");

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

/* A cluster of nodes id(port) = {"node-<port>", 0, 127.0.0.1:<port>}. */
struct cluster {
	struct memnet	*net;
	struct cc_id	 ids[MAXN];
	struct cc_addr	 addrs[MAXN];
	size_t		 n;
	uint64_t	 gossip_ms;
	uint64_t	 dead_grace_ms;
	uint64_t	 entry_grace_ms;
	size_t		 n_seeds;	/* seeds: the first n_seeds nodes */
};

/* A cluster on this very seed (MEMNET_SEED ignored). */
static void
cluster_init_exact(struct cluster *c, uint64_t seed)
{
	struct memnet_config mc;

	memset(c, 0, sizeof(*c));
	memnet_config_default(&mc, seed);
	c->net = memnet_new(&mc);
	MN_NONNULL(c->net);
	c->gossip_ms = 100;
	c->dead_grace_ms = 3600 * SEC;
	c->entry_grace_ms = 3600 * SEC;
	c->n_seeds = 1;
}

static void
cluster_init(struct cluster *c, uint64_t seed)
{
	cluster_init_exact(c, seed_or_env(seed));
}

static void
cluster_config(const struct cluster *c, struct cc_config *cfg, const struct cc_id *id)
{
	memnet_cfg_sim(cfg, id, c->entry_grace_ms);
	cfg->gossip_interval_ms = c->gossip_ms;
	cfg->fd.dead_node_grace_period_ms = c->dead_grace_ms;
	cfg->seeds = c->addrs;
	cfg->n_seeds = c->n_seeds;
}

/* Adds node index c->n on port base + n; returns its index. */
static int
cluster_add(struct cluster *c, uint16_t base_port)
{
	struct cc_config	cfg;
	size_t			i = c->n;
	int			idx;

	MN_CMP_U(i, <, MAXN);
	test_id(&c->ids[i], (uint16_t)(base_port + i));
	c->addrs[i] = c->ids[i].addr;
	cluster_config(c, &cfg, &c->ids[i]);
	/* seeds added so far (the engine drops its own address) */
	if (cfg.n_seeds > i + 1)
		cfg.n_seeds = i + 1;
	idx = memnet_add_node(c->net, &cfg);
	MN_ASSERT(idx == (int)i, "add node %zu: %d (%s)", i, idx, strerror(errno));
	c->n++;
	return idx;
}

static void
cluster_start(struct cluster *c, size_t n, uint16_t base_port, uint64_t stagger_ms)
{
	for (size_t i = 0; i < n; i++) {
		cluster_add(c, base_port);
		if (stagger_ms > 0)
			memnet_run_for(c->net, memnet_rand_range(c->net, 0, stagger_ms));
	}
}

static void
cluster_free(struct cluster *c)
{
	if (getenv("MEMNET_VERBOSE") != NULL) {
		const struct memnet_counters *k = memnet_counters(c->net);

		fprintf(stderr, "seed %" PRIu64 ": t=%" PRIu64 " ms, %zu nodes, sent %" PRIu64
		    " (%" PRIu64 " bytes), delivered %" PRIu64 ", lost %" PRIu64
		    ", dup %" PRIu64 ", cut %" PRIu64 ", queue full %" PRIu64
		    ", catch-ups %zu\n", memnet_seed(c->net), memnet_now(c->net), c->n,
		    k->sent, k->sent_bytes, k->delivered, k->lost, k->duplicated, k->cut,
		    k->queue_full, memnet_num_catchups(c->net));
	}
	MN_ASSERT(memnet_decode_errors(c->net) == 0, "%" PRIu64 " datagrams did not decode",
	    memnet_decode_errors(c->net));
	memnet_free(c->net);
	for (size_t i = 0; i < c->n; i++)
		cc_id_clear(&c->ids[i]);
}

static void
expect_converged(struct cluster *c, uint64_t within_ms)
{
	MN_ASSERT(memnet_run_until_pred(c->net, memnet_converged, NULL, within_ms),
	    "not converged within %" PRIu64 " ms: %s", within_ms, EXPLAIN(c->net));
}

/* Every running node other than `except` sees node j's `key` = `value`. */
struct kv_goal {
	int		 owner;
	const char	*key;
	const char	*value;		/* NULL: absent (not stored at all) */
};

static bool
kv_goal_holds(struct memnet *net, void *arg)
{
	const struct kv_goal *g = arg;

	for (size_t i = 0; i < memnet_num_nodes(net); i++) {
		if (!memnet_is_running(net, (int)i))
			continue;
		if (g->value == NULL) {
			if (memnet_get_versioned(net, (int)i, g->owner, g->key) != NULL)
				return false;
		} else if (!memnet_has_value(net, (int)i, g->owner, g->key, g->value))
			return false;
	}
	return true;
}

/* ---- the transport model (§8.6) ----------------------------------------------- */

START_TEST(test_memnet_transport)
{
	struct cluster			 c;
	struct memnet			*net;
	static uint8_t			 big[MEMNET_MTU + 1];
	struct cc_addr			 nowhere = test_addr4(12999);
	const struct memnet_counters	*cb;
	struct cc_config		 cfg;
	uint8_t				 junk[10] = { 1, 2, 3 };
	int				 idx;

	cluster_init(&c, 0x7A11);
	c.n_seeds = 0;		/* two lonely nodes: they send nothing */
	net = c.net;
	cluster_start(&c, 2, 12001, 0);
	memnet_run_for(net, 1000);
	MN_EQ_U(memnet_counters(net)->sent, 0);

	/* over the MTU: send fails; at the MTU: accepted */
	errno = 0;
	MN_EQ_I(memnet_send_raw(net, &c.addrs[0], &c.addrs[1], big, sizeof(big)), -1);
	MN_EQ_I(errno, EMSGSIZE);
	MN_EQ_I(memnet_send_raw(net, &c.addrs[0], &c.addrs[1], big, MEMNET_MTU), 0);
	MN_EQ_U(memnet_counters(net)->send_errors, 1);

	/* unbound address: the send succeeds and the datagram vanishes */
	MN_EQ_I(memnet_send_raw(net, &c.addrs[0], &nowhere, junk, sizeof(junk)), 0);
	memnet_run_for(net, 10);
	MN_EQ_U(memnet_counters(net)->unbound, 1);
	cb = memnet_node_counters(net, 1);
	MN_EQ_U(cb->delivered, 1);		/* the 65,507-byte one */
	MN_EQ_U(cb->decode_errors, 1);	/* zeros are no message */

	/* bounded receive queue: 150 at the same instant, 100 kept */
	memnet_cfg(net)->latency_min_ms = memnet_cfg(net)->latency_max_ms = 3;
	for (int k = 0; k < 150; k++)
		MN_EQ_I(memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk,
		    sizeof(junk)), 0);
	memnet_run_for(net, 10);
	MN_EQ_U(cb->delivered, 101);
	MN_EQ_U(cb->queue_full, 50);

	/* cut links drop both directions, restored links deliver again */
	memnet_cut(net, 0, 1);
	MN_CHECK(memnet_is_cut(net, &c.addrs[1], &c.addrs[0]));
	memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk, sizeof(junk));
	memnet_send_raw(net, &c.addrs[1], &c.addrs[0], junk, sizeof(junk));
	memnet_run_for(net, 10);
	MN_EQ_U(memnet_counters(net)->cut, 2);
	MN_EQ_U(cb->delivered, 101);
	memnet_restore(net, 0, 1);
	MN_CHECK(!memnet_is_cut(net, &c.addrs[0], &c.addrs[1]));
	memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk, sizeof(junk));
	memnet_run_for(net, 10);
	MN_EQ_U(cb->delivered, 102);

	/* a cut made while a datagram is in flight drops it at delivery */
	memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk, sizeof(junk));
	memnet_cut(net, 1, 0);
	memnet_run_for(net, 10);
	MN_EQ_U(cb->delivered, 102);
	memnet_heal(net);

	/* duplication and loss */
	memnet_cfg(net)->dup = 1.0;
	memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk, sizeof(junk));
	memnet_run_for(net, 10);
	MN_EQ_U(cb->delivered, 104);
	memnet_cfg(net)->dup = 0;
	memnet_cfg(net)->loss = 1.0;
	memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk, sizeof(junk));
	memnet_run_for(net, 10);
	MN_EQ_U(cb->delivered, 104);
	MN_EQ_U(memnet_counters(net)->lost, 1);
	memnet_cfg(net)->loss = 0;

	/* an address binds once; a stopped node frees it */
	cluster_config(&c, &cfg, &c.ids[1]);
	errno = 0;
	MN_EQ_I(memnet_add_node(net, &cfg), -1);
	MN_EQ_I(errno, EADDRINUSE);
	memnet_stop(net, 1);
	MN_EQ_I(memnet_node_at(net, &c.addrs[1]), -1);
	memnet_send_raw(net, &c.addrs[0], &c.addrs[1], junk, sizeof(junk));
	memnet_run_for(net, 10);
	MN_EQ_U(memnet_counters(net)->unbound, 2);
	idx = memnet_add_node(net, &cfg);
	MN_EQ_I(idx, 2);
	MN_EQ_I(memnet_node_at(net, &c.addrs[1]), 2);
	MN_EQ_U(memnet_counters(net)->sent_bytes, MEMNET_MTU + sizeof(junk) * (1 + 150 + 2 + 1 + 1 + 1 + 1 + 1));

	/* these datagrams were garbage on purpose */
	memnet_free(net);
	for (size_t i = 0; i < c.n; i++)
		cc_id_clear(&c.ids[i]);
}
END_TEST

/* Runs a lossy 5-node script and returns a fingerprint of the end state. */
static uint64_t
script_fingerprint(uint64_t seed)
{
	struct cluster	c;
	uint64_t	h = 1469598103934665603ULL;

	cluster_init_exact(&c, seed);
	memnet_cfg(c.net)->loss = 0.2;
	memnet_cfg(c.net)->dup = 0.1;
	memnet_cfg(c.net)->latency_max_ms = 50;
	cluster_start(&c, 5, 12101, 30);
	memnet_set(c.net, 3, "k", "v");
	memnet_run_for(c.net, 3000);
	for (size_t i = 0; i < c.n; i++) {
		const struct cc_node *n;

		for (n = cc_engine_node_first(memnet_engine(c.net, (int)i)); n != NULL;
		    n = cc_engine_node_next(memnet_engine(c.net, (int)i), n))
			h = (h ^ cc_node_heartbeat(n) ^ (cc_node_max_version(n) << 32)) *
			    1099511628211ULL;
	}
	h ^= memnet_counters(c.net)->delivered_bytes * 31 + memnet_counters(c.net)->lost;
	cluster_free(&c);
	return h;
}

START_TEST(test_memnet_deterministic)
{
	uint64_t a = script_fingerprint(77), b = script_fingerprint(77);
	uint64_t d = script_fingerprint(78);

	MN_EQ_U(a, b);
	MN_CMP_U(a, !=, d);
}
END_TEST

/* ---- scenarios ------------------------------------------------------------------- */

START_TEST(test_sim_three_node_handshake)
{
	struct cluster	c;
	char		key[32], val[32];

	cluster_init(&c, 0x3A11);
	cluster_start(&c, 3, 11001, 0);
	for (size_t i = 0; i < 3; i++) {
		snprintf(val, sizeof(val), "hello from %zu", i);
		memnet_set(c.net, (int)i, "greeting", val);
	}
	expect_converged(&c, 5 * SEC);
	for (size_t i = 0; i < 3; i++) {
		MN_ASSERT(memnet_watch_len(c.net, (int)i) == 3, "node %zu watch %zu", i,
		    memnet_watch_len(c.net, (int)i));
		MN_EQ_U(cc_engine_num_nodes(memnet_engine(c.net, (int)i)), 3);
		for (size_t j = 0; j < 3; j++) {
			snprintf(val, sizeof(val), "hello from %zu", j);
			MN_ASSERT(memnet_has_value(c.net, (int)i, (int)j, "greeting", val),
			    "node %zu lacks node %zu's greeting", i, j);
		}
	}
	/* a second round of writes flows the same way */
	snprintf(key, sizeof(key), "late");
	memnet_set(c.net, 2, key, "1");
	expect_converged(&c, 2 * SEC);
	MN_CHECK(memnet_has_value(c.net, 0, 2, key, "1"));
	MN_EQ_U(memnet_num_catchups(c.net), 0);
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_hundred_nodes_converge)
{
	struct cluster	c;
	size_t		n = 100;

	/*
	 * Gossip every second, default failure detector (phi 8, initial
	 * interval 5 s), seeds: the first three nodes, starts spread over
	 * about a second. Membership spreads epidemically (O(log N) rounds)
	 * and a node needs 3 heartbeat increases to be live: 60 s of
	 * simulated time is several times what this needs.
	 */
	cluster_init(&c, 0x100);
	c.gossip_ms = 1000;
	c.n_seeds = 3;
	memnet_cfg(c.net)->poll_ms = 1000;
	for (size_t i = 0; i < n; i++) {
		struct cc_config	cfg;
		int			idx;

		test_id(&c.ids[i], (uint16_t)(20000 + i));
		c.addrs[i] = c.ids[i].addr;
		c.n++;
		cluster_config(&c, &cfg, &c.ids[i]);
		cfg.fd.initial_interval_ms = 5000;
		cfg.n_seeds = 3;	/* even seeds not started yet */
		idx = memnet_add_node(c.net, &cfg);
		MN_ASSERT(idx == (int)i, "add %zu", i);
		memnet_run_for(c.net, memnet_rand_range(c.net, 0, 20));
	}
	MN_ASSERT(memnet_run_until_pred(c.net, memnet_all_live, NULL, 60 * SEC),
	    "100 nodes: no full membership within 60 s: %s", EXPLAIN(c.net));
	for (size_t i = 0; i < n; i++) {
		struct cc_engine *e = memnet_engine(c.net, (int)i);

		MN_ASSERT(cc_engine_num_nodes(e) == n, "node %zu knows %zu nodes", i,
		    cc_engine_num_nodes(e));
		MN_ASSERT(cc_engine_num_live(e) == n, "node %zu: %zu live", i,
		    cc_engine_num_live(e));
		MN_ASSERT(cc_engine_num_dead(e) == 0, "node %zu: %zu dead", i,
		    cc_engine_num_dead(e));
	}
	/* the watch catches up at the next round of each node */
	memnet_run_for(c.net, 1100);
	for (size_t i = 0; i < n; i++)
		MN_ASSERT(memnet_watch_len(c.net, (int)i) == n, "node %zu watch %zu", i,
		    memnet_watch_len(c.net, (int)i));
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_key_reaches_all)
{
	struct cluster	c;
	struct kv_goal	g = { 7, "color", "blue" };

	cluster_init(&c, 0x4E7);
	c.gossip_ms = 200;
	c.n_seeds = 3;
	cluster_start(&c, 30, 13001, 10);
	expect_converged(&c, 30 * SEC);
	memnet_set(c.net, 7, "color", "blue");
	MN_ASSERT(memnet_run_until_pred(c.net, kv_goal_holds, &g, 10 * SEC),
	    "key did not reach all 30 nodes within 10 s");
	expect_converged(&c, 5 * SEC);
	/* an update and a deletion travel the same way */
	memnet_set(c.net, 7, "color", "red");
	g.value = "red";
	MN_ASSERT(memnet_run_until_pred(c.net, kv_goal_holds, &g, 10 * SEC),
	    "update did not reach all 30 nodes");
	memnet_delete(c.net, 7, "color");
	MN_ASSERT(memnet_run_until_pred(c.net, memnet_all_replicas_equal, NULL, 10 * SEC),
	    "deletion did not reach all: %s", EXPLAIN(c.net));
	for (size_t i = 0; i < c.n; i++) {
		const struct cc_kv *kv = memnet_get_versioned(c.net, (int)i, 7, "color");

		MN_ASSERT(kv != NULL && kv->status == CC_STATUS_DELETED,
		    "node %zu has no tombstone", i);
	}
	cluster_free(&c);
}
END_TEST

struct liveness_goal {
	const struct cc_id	*id;
	enum cc_liveness	 want;	/* DEAD means DEAD or SCHEDULED */
};

/* Every running node holds id's state with the wanted liveness. */
static bool
everybody_judges(struct memnet *net, void *arg)
{
	const struct liveness_goal *g = arg;

	for (size_t i = 0; i < memnet_num_nodes(net); i++) {
		struct cc_engine	*e = memnet_engine(net, (int)i);
		enum cc_liveness	 l;

		if (e == NULL)
			continue;
		if (cc_engine_node(e, g->id) == NULL)
			return false;
		l = cc_engine_liveness(e, g->id);
		if (g->want == CC_LIVENESS_DEAD ? l == CC_LIVENESS_LIVE : l != g->want)
			return false;
	}
	return true;
}

START_TEST(test_sim_dead_scheduled_gc)
{
	struct cluster		c;
	struct cc_id		victim;
	struct liveness_goal	g;

	cluster_init(&c, 0xDEAD);
	c.dead_grace_ms = 6 * SEC;	/* scheduled after 3 s, GC after 6 s */
	cluster_start(&c, 5, 14001, 30);
	memnet_set(c.net, 2, "k", "v");
	expect_converged(&c, 10 * SEC);
	MN_EQ_I(cc_id_copy(&victim, memnet_id(c.net, 2)), 0);
	memnet_stop(c.net, 2);
	g.id = &victim;

	/*
	 * phi = silence / mean interval, the mean being pulled towards
	 * initial_interval (1 s) by a prior worth 5 samples: with few samples
	 * a node is dead after at most 8 x 1 s of silence, plus a round.
	 */
	g.want = CC_LIVENESS_DEAD;
	MN_ASSERT(memnet_run_until_pred(c.net, everybody_judges, &g, 9 * SEC),
	    "stopped node not judged dead by all within 9 s");
	/* dead, but still replicated with its keys */
	for (int i = 0; i < 5; i++)
		if (i != 2)
			MN_ASSERT(memnet_has_value(c.net, i, 2, "k", "v"), "node %d", i);
	g.want = CC_LIVENESS_SCHEDULED;
	MN_ASSERT(memnet_run_until_pred(c.net, everybody_judges, &g, 4 * SEC),
	    "not scheduled for deletion everywhere");
	for (int i = 0; i < 5; i++)
		if (i != 2)
			MN_ASSERT(cc_engine_num_dead(memnet_engine(c.net, i)) == 1, "node %d", i);
	MN_ASSERT(memnet_run_until_pred(c.net, memnet_nobody_has, &victim, 4 * SEC),
	    "dead node not garbage-collected everywhere");
	for (int i = 0; i < 5; i++) {
		if (i == 2)
			continue;
		MN_ASSERT(cc_engine_stats(memnet_engine(c.net, i))->nodes_gced == 1,
		    "node %d", i);
		MN_ASSERT(cc_engine_gc_nodes_has(memnet_engine(c.net, i), &victim, NULL),
		    "node %d does not remember the GC'd node", i);
	}
	/* nobody brings it back */
	memnet_run_for(c.net, 5 * SEC);
	MN_ASSERT(memnet_nobody_has(c.net, &victim), "GC'd node came back");
	MN_ASSERT(memnet_converged(c.net, NULL), "%s", EXPLAIN(c.net));
	cc_id_clear(&victim);
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_restart_new_generation)
{
	struct cluster		c;
	struct cc_id		old, fresh;
	struct cc_config	cfg;
	struct kv_goal		g = { 2, "app", "new" };

	cluster_init(&c, 0x6E4);
	c.dead_grace_ms = 6 * SEC;
	cluster_start(&c, 5, 15001, 30);
	memnet_set(c.net, 2, "app", "old");
	memnet_set(c.net, 2, "only_old", "x");
	expect_converged(&c, 10 * SEC);
	MN_EQ_I(cc_id_copy(&old, memnet_id(c.net, 2)), 0);
	memnet_stop(c.net, 2);
	memnet_run_for(c.net, 500);

	/* same name and address, generation 1 */
	MN_EQ_I(cc_id_init(&fresh, old.node_id, old.node_id_len, 1, &old.addr), 0);
	cluster_config(&c, &cfg, &fresh);
	MN_EQ_I(memnet_restart(c.net, 2, &cfg), 0);
	memnet_set(c.net, 2, "app", "new");
	memnet_set(c.net, 2, "gen", "1");

	expect_converged(&c, 20 * SEC);
	MN_ASSERT(memnet_run_until_pred(c.net, memnet_nobody_sees_live, &old, 10 * SEC),
	    "old generation still live somewhere");
	MN_ASSERT(memnet_run_until_pred(c.net, kv_goal_holds, &g, 5 * SEC), "new keys");
	for (int i = 0; i < 5; i++) {
		MN_ASSERT(memnet_has_value(c.net, i, 2, "gen", "1"), "node %d", i);
		MN_ASSERT(memnet_get(c.net, i, 2, "only_old") == NULL, "node %d", i);
		MN_ASSERT(memnet_watch_has(c.net, i, &fresh), "node %d watch", i);
		MN_ASSERT(!memnet_watch_has(c.net, i, &old), "node %d watch", i);
	}
	MN_ASSERT(memnet_run_until_pred(c.net, memnet_nobody_has, &old, 10 * SEC),
	    "old generation never garbage-collected");
	memnet_run_for(c.net, 3 * SEC);
	MN_ASSERT(memnet_nobody_has(c.net, &old), "old generation came back");
	expect_converged(&c, 1);
	cc_id_clear(&old);
	cc_id_clear(&fresh);
	cluster_free(&c);
}
END_TEST

struct split {
	const int	*a, *b;
	size_t		 na, nb;
};

/* No node of one side sees a node of the other side live. */
static bool
split_is_seen(struct memnet *net, void *arg)
{
	const struct split *s = arg;

	for (size_t i = 0; i < s->na; i++)
		for (size_t j = 0; j < s->nb; j++)
			if (memnet_sees_live(net, s->a[i], memnet_id(net, s->b[j])) ||
			    memnet_sees_live(net, s->b[j], memnet_id(net, s->a[i])))
				return false;
	return true;
}

START_TEST(test_sim_partition_heal)
{
	struct cluster	c;
	static const int a[] = { 0, 1, 2 }, b[] = { 3, 4, 5 };
	struct split	s = { a, b, 3, 3 };

	cluster_init(&c, 0x9A27);
	c.n_seeds = 2;
	cluster_start(&c, 6, 16001, 30);
	expect_converged(&c, 10 * SEC);
	memnet_partition(c.net, a, 3, b, 3);
	MN_ASSERT(memnet_run_until_pred(c.net, split_is_seen, &s, 10 * SEC),
	    "the two sides still see each other live");
	memnet_set(c.net, 0, "side", "a");
	memnet_set(c.net, 3, "side", "b");
	memnet_run_for(c.net, 3 * SEC);
	for (int i = 0; i < 6; i++) {
		bool in_a = i < 3;

		MN_ASSERT(memnet_has_value(c.net, i, 0, "side", "a") == in_a, "node %d", i);
		MN_ASSERT(memnet_has_value(c.net, i, 3, "side", "b") == !in_a, "node %d", i);
		/* each side still holds the other's (dead) states */
		MN_EQ_U(cc_engine_num_nodes(memnet_engine(c.net, i)), 6);
	}
	memnet_heal(c.net);
	expect_converged(&c, 20 * SEC);
	for (int i = 0; i < 6; i++) {
		MN_CHECK(memnet_has_value(c.net, i, 0, "side", "a"));
		MN_CHECK(memnet_has_value(c.net, i, 3, "side", "b"));
	}
	MN_CMP_U(memnet_counters(c.net)->cut, >, 0);
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_loss_30_percent)
{
	struct cluster	c;
	char		key[16];

	cluster_init(&c, 0x1055);
	memnet_cfg(c.net)->loss = 0.3;
	memnet_cfg(c.net)->latency_max_ms = 20;
	c.n_seeds = 2;
	cluster_start(&c, 10, 17001, 30);
	expect_converged(&c, 30 * SEC);
	for (int i = 0; i < 10; i += 3) {
		snprintf(key, sizeof(key), "key%d", i);
		memnet_set(c.net, i, key, "x");
		memnet_set(c.net, i, "common", key);
	}
	memnet_delete(c.net, 0, "key0");
	expect_converged(&c, 30 * SEC);
	for (int i = 0; i < 10; i++) {
		MN_ASSERT(memnet_has_value(c.net, i, 9, "key9", "x"), "node %d", i);
		MN_ASSERT(memnet_has_value(c.net, i, 6, "common", "key6"), "node %d", i);
		MN_ASSERT(memnet_get(c.net, i, 0, "key0") == NULL, "node %d", i);
	}
	MN_ASSERT(memnet_counters(c.net)->lost > memnet_counters(c.net)->sent / 5,
	    "lost %" PRIu64 " of %" PRIu64, memnet_counters(c.net)->lost,
	    memnet_counters(c.net)->sent);
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_lagging_node_reset)
{
	struct cluster		 c;
	static const int	 lag[] = { 3 }, rest[] = { 0, 1, 2 };
	char			 key[16];
	const struct cc_node	*own, *rep;
	uint64_t		 catchups, resets;

	cluster_init(&c, 0x1A66);
	c.entry_grace_ms = 2 * SEC;
	c.n_seeds = 2;
	cluster_start(&c, 4, 18001, 30);
	for (int k = 0; k < 10; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		memnet_set(c.net, 0, key, "v");
	}
	expect_converged(&c, 10 * SEC);
	MN_CHECK(memnet_has_value(c.net, 3, 0, "k0", "v"));

	memnet_partition(c.net, lag, 1, rest, 3);
	for (int k = 0; k < 5; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		memnet_delete(c.net, 0, key);
	}
	memnet_set(c.net, 0, "k5", "new");
	memnet_delete_after_ttl(c.net, 0, "k6");
	memnet_set_with_ttl(c.net, 0, "k10", "ttl");
	memnet_run_for(c.net, 6 * SEC);	/* > entry grace: tombstones purged */

	own = cc_engine_self_node(memnet_engine(c.net, 0));
	rep = memnet_replica(c.net, 3, 0);
	MN_NONNULL(rep);
	MN_ASSERT(cc_node_last_gc_version(own) > cc_node_max_version(rep),
	    "owner gc %" PRIu64 ", lagging replica max %" PRIu64,
	    cc_node_last_gc_version(own), cc_node_max_version(rep));
	MN_ASSERT(memnet_has_value(c.net, 3, 0, "k0", "v"), "lagging node lost k0 early");
	MN_EQ_U(cc_node_num_stored(own), 4);	/* k5, k7, k8, k9 */
	catchups = memnet_node_catchups(c.net, 3);
	resets = cc_engine_stats(memnet_engine(c.net, 3))->resets_applied;

	memnet_heal(c.net);
	expect_converged(&c, 10 * SEC);
	MN_ASSERT(memnet_node_catchups(c.net, 3) > catchups, "no catch-up on the lagging node");
	MN_ASSERT(cc_engine_stats(memnet_engine(c.net, 3))->resets_applied > resets,
	    "no reset applied");
	rep = memnet_replica(c.net, 3, 0);
	MN_EQ_U(cc_node_num_stored(rep), 4);
	MN_EQ_U(cc_node_last_gc_version(rep), cc_node_last_gc_version(own));
	for (int k = 0; k < 11; k++) {
		snprintf(key, sizeof(key), "k%d", k);
		MN_ASSERT((memnet_get_versioned(c.net, 3, 0, key) != NULL) ==
		    (k >= 5 && k != 6 && k != 10), "key %s", key);
	}
	MN_CHECK(memnet_has_value(c.net, 3, 0, "k5", "new"));
	/* the nodes that were not cut off never needed a reset of node 0 */
	for (int i = 1; i < 3; i++)
		MN_EQ_U(memnet_node_catchups(c.net, i), 0);
	cluster_free(&c);
}
END_TEST

/* Node obs's replica of node owner has last_gc_version `gc`. */
struct gc_goal {
	int		obs, owner;
	uint64_t	gc, max;	/* max: 0 = any */
};

static bool
gc_goal_holds(struct memnet *net, void *arg)
{
	const struct gc_goal	*g = arg;
	const struct cc_node	*rep = memnet_replica(net, g->obs, g->owner);

	return rep != NULL && cc_node_last_gc_version(rep) == g->gc &&
	    (g->max == 0 || cc_node_max_version(rep) == g->max);
}

/*
 * A protocol-level limitation that Rust chitchat shares (found by
 * check_property; compare upstream issue #110): a reset node delta ends at
 * its last KV (§4.4: SET_MAX_VERSION only when no KV was added), so the
 * reset replica may have max_version < last_gc_version (§4.5 allows it).
 * A lagging peer then sends, with from = that max, an old SET entry whose
 * later deletion was purged: it is compatible (its last_gc is lower) and
 * §4.5 stores SET entries whatever last_gc_version says. The replica keeps
 * a deleted key for good, with the owner's max_version. Parity says: same
 * outcome as Rust, so this test pins the behaviour down.
 */
START_TEST(test_sim_stale_entry_survives_reset)
{
	struct cluster		 c;
	struct gc_goal		 g;
	const struct cc_node	*rep;
	const struct cc_kv	*kv;

	cluster_init(&c, 0x110);
	c.entry_grace_ms = 1 * SEC;
	c.n_seeds = 2;
	cluster_start(&c, 3, 19601, 30);	/* 0 owner, 1 lagging relay, 2 victim */
	memnet_set(c.net, 0, "k", "a");
	memnet_set(c.net, 0, "y", "b");
	expect_converged(&c, 10 * SEC);
	memnet_set(c.net, 0, "k", "c");		/* v3 */
	expect_converged(&c, 10 * SEC);

	memnet_cut(c.net, 0, 1);
	memnet_cut(c.net, 0, 2);
	memnet_cut(c.net, 1, 2);
	memnet_delete(c.net, 0, "k");		/* v4, purged 1 s later */
	memnet_run_for(c.net, 3 * SEC);
	MN_EQ_U(cc_node_last_gc_version(cc_engine_self_node(memnet_engine(c.net, 0))), 4);

	/* the victim gets the reset, and nothing after it */
	memnet_cfg(c.net)->poll_ms = 1;
	memnet_restore(c.net, 0, 2);
	g.obs = 2;
	g.owner = 0;
	g.gc = 4;
	g.max = 0;
	MN_ASSERT(memnet_run_until_pred(c.net, gc_goal_holds, &g, 2 * SEC), "no reset");
	memnet_cut(c.net, 0, 2);
	rep = memnet_replica(c.net, 2, 0);
	MN_EQ_U(cc_node_max_version(rep), 2);	/* the reset's last KV, y v2 */
	MN_NULL(cc_node_get_versioned(rep, "k", 1));

	/* the lagging relay sends k="c" v3: in (max, last_gc], compatible */
	memnet_restore(c.net, 1, 2);
	g.max = 3;
	MN_ASSERT(memnet_run_until_pred(c.net, gc_goal_holds, &g, 2 * SEC), "no delta from the relay");
	memnet_cfg(c.net)->poll_ms = 100;

	memnet_heal(c.net);
	memnet_run_for(c.net, 5 * SEC);
	MN_CHECK(memnet_all_live(c.net, NULL));
	/*
	 * The relay is reset by the owner, but may then catch the same stale
	 * entry from the victim, the same way: either way it ends at (4, 4).
	 */
	rep = memnet_replica(c.net, 1, 0);
	MN_EQ_U(cc_node_max_version(rep), 4);
	MN_EQ_U(cc_node_last_gc_version(rep), 4);
	kv = cc_node_get_versioned(rep, "k", 1);
	MN_CHECK(kv == NULL || (kv->version == 3 && strcmp(kv->value, "c") == 0));
	/* the victim keeps the deleted key, for good */
	rep = memnet_replica(c.net, 2, 0);
	MN_EQ_U(cc_node_max_version(rep), 4);
	MN_EQ_U(cc_node_last_gc_version(rep), 4);
	kv = cc_node_get(rep, "k", 1);
	MN_NONNULL(kv);
	MN_STR_EQ(kv->value, "c");
	MN_EQ_U(kv->version, 3);
	MN_NULL(cc_node_get_versioned(cc_engine_self_node(memnet_engine(c.net, 0)), "k", 1));
	MN_CHECK(!memnet_replica_is_equal(c.net, 2, 0));
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_dup_reorder)
{
	struct cluster	c;
	char		key[16], val[16];

	cluster_init(&c, 0xD0D0);
	memnet_cfg(c.net)->dup = 0.3;
	memnet_cfg(c.net)->latency_max_ms = 400;	/* 4 gossip periods: reorders */
	c.n_seeds = 2;
	cluster_start(&c, 8, 19001, 30);
	expect_converged(&c, 30 * SEC);
	for (int step = 0; step < 100; step++) {
		int node = (int)memnet_rand_range(c.net, 0, 7);

		snprintf(key, sizeof(key), "k%u", (unsigned)memnet_rand_range(c.net, 0, 5));
		snprintf(val, sizeof(val), "v%d", step);
		if (memnet_rand_range(c.net, 0, 3) == 0 &&
		    memnet_get(c.net, node, node, key) != NULL)
			memnet_delete(c.net, node, key);
		else
			memnet_set(c.net, node, key, val);
		memnet_run_for(c.net, 50);
	}
	expect_converged(&c, 30 * SEC);
	MN_ASSERT(memnet_counters(c.net)->duplicated > 0, "nothing duplicated");
	MN_EQ_U(memnet_num_catchups(c.net), 0);
	cluster_free(&c);
}
END_TEST

START_TEST(test_sim_wrong_cluster)
{
	struct cluster		c;
	struct cc_config	cfg;
	struct cc_id		stranger;
	int			s;

	cluster_init(&c, 0xBAD);
	cluster_start(&c, 3, 19501, 30);
	expect_converged(&c, 10 * SEC);
	test_id(&stranger, 19599);
	cluster_config(&c, &cfg, &stranger);
	cfg.cluster_id = "another-cluster";
	cfg.n_seeds = 1;	/* node 0 */
	s = memnet_add_node(c.net, &cfg);
	MN_EQ_I(s, 3);
	memnet_run_for(c.net, 3 * SEC);
	/* the stranger is answered BAD_CLUSTER and never joins, nor learns */
	MN_EQ_U(cc_engine_num_nodes(memnet_engine(c.net, s)), 1);
	MN_CMP_U(cc_engine_stats(memnet_engine(c.net, s))->rx_by_type[CC_MSG_BAD_CLUSTER], >, 0);
	MN_CMP_U(cc_engine_stats(memnet_engine(c.net, 0))->bad_cluster_rx, >, 0);
	for (int i = 0; i < 3; i++)
		MN_NULL(cc_engine_node(memnet_engine(c.net, i), &stranger));
	cc_id_clear(&stranger);
	cluster_free(&c);
}
END_TEST

static Suite *
sim_suite(void)
{
	Suite	*s = suite_create("sim");
	TCase	*tc;

	tc = tcase_create("memnet");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_memnet_transport);
	tcase_add_test(tc, test_memnet_deterministic);
	suite_add_tcase(s, tc);

	tc = tcase_create("scenarios");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sim_three_node_handshake);
	tcase_add_test(tc, test_sim_hundred_nodes_converge);
	tcase_add_test(tc, test_sim_key_reaches_all);
	tcase_add_test(tc, test_sim_dead_scheduled_gc);
	tcase_add_test(tc, test_sim_restart_new_generation);
	tcase_add_test(tc, test_sim_partition_heal);
	tcase_add_test(tc, test_sim_loss_30_percent);
	tcase_add_test(tc, test_sim_lagging_node_reset);
	tcase_add_test(tc, test_sim_dup_reorder);
	tcase_add_test(tc, test_sim_wrong_cluster);
	tcase_add_test(tc, test_sim_stale_entry_survives_reset);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(sim_suite)
