/*
 * check_forget.c: cc_engine_forget_node() and its fence (force-leave,
 * issue 8 item 2) on the deterministic simulator.
 *
 * The fence is what makes force-leave stick: other nodes (a chitchatd
 * with the extension off, a Rust peer) keep gossiping a dead node's last
 * heartbeat for as long as they hold it, and without the fence the next
 * digest would re-create the replica we just dropped. The fence must not
 * be a trap either: a node that is in fact alive shows a newer heartbeat
 * and comes back by the normal rules. Every test runs a "lib cluster"
 * (gossip 100 ms, phi 5, initial interval 100 ms, dead grace 20 s) on
 * memnet; MEMNET_SEED=<n> replaces the default seeds.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_state.h"
#include "memnet.h"
#include "testutil.h"

#define N	3
#define SEC	1000ULL

struct fnet {
	struct memnet	*net;
	struct cc_id	 ids[N];
	struct cc_addr	 seed;
	/* per node: CC_NODE_ADDED / CC_NODE_REMOVED of ids[target] */
	int		 target;
	unsigned	 added[N];
	unsigned	 removed[N];
};

static uint64_t
seed_or_env(uint64_t dflt)
{
	const char *s = getenv("MEMNET_SEED");

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static void
on_event(struct memnet *net, int node, const struct cc_event *ev, void *arg)
{
	struct fnet *f = arg;

	(void)net;
	if (ev->type != CC_EVENT_NODE || f->target < 0 ||
	    !cc_id_is_equal(ev->node, &f->ids[f->target]))
		return;
	if (ev->change == CC_NODE_ADDED)
		f->added[node]++;
	else if (ev->change == CC_NODE_REMOVED)
		f->removed[node]++;
}

/* N nodes seeded with node 0, all live everywhere. */
static void
fnet_start(struct fnet *f, uint64_t seed)
{
	struct memnet_config mc;

	memset(f, 0, sizeof(*f));
	f->target = -1;
	memnet_config_default(&mc, seed_or_env(seed));
	f->net = memnet_new(&mc);
	MN_NONNULL(f->net);
	memnet_set_event_hook(f->net, on_event, f);
	for (int i = 0; i < N; i++)
		test_id(&f->ids[i], (uint16_t)(41000 + i));
	f->seed = f->ids[0].addr;
	for (int i = 0; i < N; i++) {
		struct cc_config cfg;

		memnet_cfg_lib(&cfg, &f->ids[i]);
		cfg.seeds = &f->seed;
		cfg.n_seeds = 1;
		MN_EQ_I(memnet_add_node(f->net, &cfg), i);
	}
	MN_ASSERT(memnet_run_until_pred(f->net, memnet_all_live, NULL, 10 * SEC),
	    "the %d nodes never all saw each other live", N);
}

static void
fnet_free(struct fnet *f)
{
	MN_EQ_U(memnet_decode_errors(f->net), 0);
	memnet_free(f->net);
	for (int i = 0; i < N; i++)
		cc_id_clear(&f->ids[i]);
}

static struct cc_engine *
eng(struct fnet *f, int i)
{
	return memnet_engine(f->net, i);
}

static const struct cc_node *
replica(struct fnet *f, int obs, int of)
{
	return cc_engine_node(eng(f, obs), &f->ids[of]);
}

/* Node obs judges ids[of] dead (it holds the replica, not live). */
struct dead_goal {
	struct fnet	*f;
	int		 obs;
	int		 of;
};

static bool
sees_dead(struct memnet *net, void *arg)
{
	struct dead_goal *g = arg;

	(void)net;
	return replica(g->f, g->obs, g->of) != NULL &&
	    cc_engine_liveness(eng(g->f, g->obs), &g->f->ids[g->of]) == CC_LIVENESS_DEAD;
}

static void
expect_dead(struct fnet *f, int obs, int of)
{
	struct dead_goal g = { f, obs, of };

	MN_ASSERT(memnet_run_until_pred(f->net, sees_dead, &g, 10 * SEC),
	    "node %d never saw node %d dead", obs, of);
}

static bool
sees_live(struct memnet *net, void *arg)
{
	struct dead_goal *g = arg;

	return memnet_sees_live(net, g->obs, &g->f->ids[g->of]);
}

static uint64_t
until_from_now(struct fnet *f, uint64_t ms)
{
	return memnet_now(f->net) + ms;
}

/*
 * A dead node forgotten on node 0 stays forgotten there, although nodes 1
 * and 2 keep gossiping it (its last heartbeat) for the whole run; the
 * others are untouched; the fence goes at its time.
 */
START_TEST(test_forgotten_dead_node_does_not_come_back)
{
	struct fnet		 f;
	uint64_t		 hb, fence, rounds;
	size_t			 before;

	fnet_start(&f, 0xf01);
	f.target = 2;
	memnet_stop(f.net, 2);
	expect_dead(&f, 0, 2);
	expect_dead(&f, 1, 2);
	memnet_run_for(f.net, 1 * SEC);	/* node 2's last heartbeat reaches everyone */
	hb = cc_node_heartbeat(replica(&f, 0, 2));
	MN_EQ_U(cc_node_heartbeat(replica(&f, 1, 2)), hb);
	before = cc_engine_num_nodes(eng(&f, 0));
	rounds = cc_engine_stats(eng(&f, 0))->rounds;

	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &f.ids[2], hb,
	    cc_mtime(until_from_now(&f, 10 * SEC))), 0);
	MN_NULL(replica(&f, 0, 2));
	MN_EQ_U(f.removed[0], 1);
	MN_EQ_U(cc_engine_num_nodes(eng(&f, 0)), before - 1);
	MN_EQ_U(cc_engine_stats(eng(&f, 0))->nodes_forgotten, 1);
	MN_CHECK(cc_engine_is_fenced(eng(&f, 0), &f.ids[2], &fence));
	MN_EQ_U(fence, hb);

	/* 5 s: about 50 rounds of digests from node 1, which still holds node 2 */
	for (int t = 0; t < 50; t++) {
		memnet_run_for(f.net, 100);
		MN_ASSERT(replica(&f, 0, 2) == NULL, "node 2 came back on node 0");
		MN_NONNULL(replica(&f, 1, 2));
	}
	MN_CMP_U(cc_engine_stats(eng(&f, 0))->rounds, >=, rounds + 40);
	MN_EQ_U(f.added[0], 0);
	MN_EQ_U(f.removed[1], 0);
	/* node 1 is still live for node 0, and node 1 still has node 2 as dead */
	MN_CHECK(memnet_sees_live(f.net, 0, &f.ids[1]));
	MN_EQ_I(cc_engine_liveness(eng(&f, 1), &f.ids[2]), CC_LIVENESS_DEAD);

	/* the fence ends at its time (the memory of GC'd nodes stays) */
	memnet_run_for(f.net, 6 * SEC);
	MN_CHECK(!cc_engine_is_fenced(eng(&f, 0), &f.ids[2], NULL));
	MN_CHECK(cc_engine_gc_nodes_has(eng(&f, 0), &f.ids[2], NULL));
	MN_NULL(replica(&f, 0, 2));
	fnet_free(&f);
}
END_TEST

/*
 * The force-leave race the e2e extensions scenario found: node 0 forgets a
 * dead node at a heartbeat below the last one node 1 still holds and
 * gossips (node 0 missed the dead node's last increments: here it was cut
 * off). That stale heartbeat rises past the fence once and then stops: it
 * must not bring the dead node back.
 */
START_TEST(test_stale_higher_heartbeat_does_not_bring_a_dead_node_back)
{
	struct fnet	f;
	const int	zero[] = { 0 }, others[] = { 1, 2 };
	uint64_t	stale, last, fence;

	fnet_start(&f, 0xf05);
	f.target = 2;
	/* node 0 is cut off: its view of node 2's heartbeat stops here */
	memnet_partition(f.net, zero, 1, others, 2);
	memnet_run_for(f.net, 2 * SEC);
	memnet_stop(f.net, 2);
	expect_dead(&f, 0, 2);
	expect_dead(&f, 1, 2);
	memnet_run_for(f.net, 1 * SEC);
	stale = cc_node_heartbeat(replica(&f, 0, 2));
	last = cc_node_heartbeat(replica(&f, 1, 2));
	MN_CMP_U(last, >, stale);
	/* node 0 forgets node 2 at its stale heartbeat, then hears node 1 again */
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &f.ids[2], stale,
	    cc_mtime(until_from_now(&f, 60 * SEC))), 0);
	memnet_heal(f.net);
	for (int t = 0; t < 50; t++) {
		memnet_run_for(f.net, 100);
		MN_ASSERT(replica(&f, 0, 2) == NULL, "node 2 came back on node 0 (round %d)", t);
	}
	MN_EQ_U(f.added[0], 0);
	/* the relayed last heartbeat rose past the fence once, and raised it */
	MN_CHECK(cc_engine_is_fenced(eng(&f, 0), &f.ids[2], &fence));
	MN_EQ_U(fence, last);
	fnet_free(&f);
}
END_TEST

/*
 * A lying or racing request: node 1 is alive, node 0 forgets it anyway.
 * Its heartbeat moves past the fence, so node 0 re-adds it and judges it
 * live again within a few rounds; node 1 itself never notices.
 */
START_TEST(test_forgotten_live_node_reasserts_itself)
{
	struct fnet		f;
	struct dead_goal	g;
	uint64_t		hb;

	fnet_start(&f, 0xf02);
	f.target = 1;
	hb = cc_node_heartbeat(replica(&f, 0, 1));
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &f.ids[1], hb,
	    cc_mtime(until_from_now(&f, 3600 * SEC))), 0);
	MN_NULL(replica(&f, 0, 1));
	MN_EQ_U(f.removed[0], 1);
	g.f = &f;
	g.obs = 0;
	g.of = 1;
	MN_ASSERT(memnet_run_until_pred(f.net, sees_live, &g, 2 * SEC),
	    "node 1 not live again on node 0 within 2 s");
	MN_EQ_U(f.added[0], 1);
	MN_CMP_U(cc_node_heartbeat(replica(&f, 0, 1)), >, hb);
	/* re-added by the normal rules: the fence is gone with it */
	MN_CHECK(!cc_engine_is_fenced(eng(&f, 0), &f.ids[1], NULL));
	MN_CHECK(memnet_all_live(f.net, NULL));
	MN_ASSERT(memnet_run_until_pred(f.net, memnet_converged, NULL, 5 * SEC),
	    "not converged after the re-add");
	fnet_free(&f);
}
END_TEST

/*
 * A fence above every heartbeat the node will reach keeps even a live node
 * out, but only until the fence's time; then it comes back.
 */
START_TEST(test_fence_expires)
{
	struct fnet		f;
	struct dead_goal	g;
	uint64_t		hb;

	fnet_start(&f, 0xf03);
	f.target = 1;
	hb = cc_node_heartbeat(replica(&f, 0, 1));
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &f.ids[1], hb + 1000000,
	    cc_mtime(until_from_now(&f, 3 * SEC))), 0);
	for (int t = 0; t < 25; t++) {
		memnet_run_for(f.net, 100);
		MN_ASSERT(replica(&f, 0, 1) == NULL, "node 1 back before the fence expired");
	}
	MN_CHECK(cc_engine_is_fenced(eng(&f, 0), &f.ids[1], NULL));
	g.f = &f;
	g.obs = 0;
	g.of = 1;
	MN_ASSERT(memnet_run_until_pred(f.net, sees_live, &g, 3 * SEC),
	    "node 1 not back on node 0 after its fence expired");
	MN_CHECK(!cc_engine_is_fenced(eng(&f, 0), &f.ids[1], NULL));
	MN_EQ_U(f.added[0], 1);
	fnet_free(&f);
}
END_TEST

/* The API edges: self refused, unknown ids fenced, the reset API skips, re-forget raises. */
START_TEST(test_forget_api)
{
	struct fnet	f;
	struct cc_id	other;
	struct cc_kv	kv;
	uint64_t	fence;

	fnet_start(&f, 0xf04);
	errno = 0;
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &f.ids[0], 1,
	    cc_mtime(until_from_now(&f, SEC))), -1);
	MN_EQ_I(errno, EBUSY);
	MN_NONNULL(cc_engine_self_node(eng(&f, 0)));

	/* an id held by nobody: fenced all the same; the reset API skips it */
	test_id_named(&other, "ghost", 7, 41999);
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &other, 5,
	    cc_mtime(until_from_now(&f, 10 * SEC))), 0);
	MN_CHECK(cc_engine_is_fenced(eng(&f, 0), &other, &fence));
	MN_EQ_U(fence, 5);
	memset(&kv, 0, sizeof(kv));
	kv.key = "k";
	kv.key_len = 1;
	kv.value = "v";
	kv.value_len = 1;
	kv.version = 1;
	MN_EQ_I(cc_engine_reset_node_state(eng(&f, 0), &other, &kv, 1, 1, 0), 0);
	MN_NULL(cc_engine_node(eng(&f, 0), &other));
	MN_EQ_U(cc_engine_stats(eng(&f, 0))->nodes_forgotten, 0);

	/* forgetting again keeps the higher heartbeat */
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &other, 3,
	    cc_mtime(until_from_now(&f, 10 * SEC))), 0);
	MN_CHECK(cc_engine_is_fenced(eng(&f, 0), &other, &fence));
	MN_EQ_U(fence, 5);
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &other, 9,
	    cc_mtime(until_from_now(&f, 10 * SEC))), 0);
	MN_CHECK(cc_engine_is_fenced(eng(&f, 0), &other, &fence));
	MN_EQ_U(fence, 9);

	/* the same node_id and generation at another address is another id */
	cc_id_clear(&other);
	test_id_named(&other, "ghost", 7, 41998);
	MN_CHECK(!cc_engine_is_fenced(eng(&f, 0), &other, NULL));
	cc_id_clear(&other);

	/* the replica's own heartbeat is a floor for its fence */
	memnet_stop(f.net, 2);
	expect_dead(&f, 0, 2);
	expect_dead(&f, 1, 2);
	memnet_run_for(f.net, 1 * SEC);
	MN_EQ_I(cc_engine_forget_node(eng(&f, 0), &f.ids[2], 0,
	    cc_mtime(until_from_now(&f, 10 * SEC))), 0);
	memnet_run_for(f.net, 3 * SEC);
	MN_NULL(replica(&f, 0, 2));
	MN_NONNULL(replica(&f, 1, 2));
	fnet_free(&f);
}
END_TEST

static Suite *
forget_suite(void)
{
	Suite	*s = suite_create("forget");
	TCase	*tc = tcase_create("forget");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_forgotten_dead_node_does_not_come_back);
	tcase_add_test(tc, test_stale_higher_heartbeat_does_not_bring_a_dead_node_back);
	tcase_add_test(tc, test_forgotten_live_node_reasserts_itself);
	tcase_add_test(tc, test_fence_expires);
	tcase_add_test(tc, test_forget_api);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(forget_suite)
