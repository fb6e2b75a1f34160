/*
 * check_select.c: gossip rounds and peer selection at the engine level
 * (PROTOCOL.md §4.7, §5.6, §8.1-§8.2; catalogue group I).
 *
 * I7-I9 drive cc_select_peers() with a scripted random source whose draws
 * are all 0 (cc_rand_unit() = 0.0, every index 0), as upstream's counting
 * RNG makes its draws near 0. The statistical tests use a seeded PRNG and
 * generous bounds (several standard deviations). I1-I6 and I11 run real
 * engines on test_envs. I10 and I12 are about the daemon's server loop and
 * UDP transport; the engine-side parts are tested here.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "cc_state.h"
#include "cc_wire.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

#define FX_SEED		0xC0FFEEULL
#define fx		test_engine
#define fx_start(f, cfg)	test_engine_start((f), (cfg), FX_SEED)
#define fx_init(f, port)	test_engine_init((f), (port), FX_SEED)
#define fx_free(f)		test_engine_free(f)

#define decode(d, m)		test_decode((d), (m))

static uint32_t
zero_rng(void *arg)
{
	(void)arg;
	return 0;
}

static uint32_t
env_rng(void *arg)
{
	return test_rand_u32(arg);
}

static void
set_of(struct cc_addr_set *s, const uint16_t *ports, size_t n)
{
	cc_addr_set_init(s);
	for (size_t i = 0; i < n; i++) {
		struct cc_addr a = test_addr4(ports[i]);

		ck_assert_int_eq(cc_addr_set_add(s, &a), 0);
	}
}

static void
sets_clear(struct cc_addr_set *a, struct cc_addr_set *b, struct cc_addr_set *c,
    struct cc_addr_set *d)
{
	cc_addr_set_clear(a);
	cc_addr_set_clear(b);
	cc_addr_set_clear(c);
	cc_addr_set_clear(d);
}

static bool
targets_have(const struct cc_selection *sel, uint16_t port)
{
	struct cc_addr a = test_addr4(port);

	for (size_t i = 0; i < sel->n_targets; i++)
		if (cc_addr_is_equal(&sel->targets[i], &a))
			return true;
	return false;
}

static bool
targets_distinct_in(const struct cc_selection *sel, const struct cc_addr_set *pool)
{
	for (size_t i = 0; i < sel->n_targets; i++) {
		if (!cc_addr_set_has(pool, &sel->targets[i]))
			return false;
		for (size_t j = 0; j < i; j++)
			if (cc_addr_is_equal(&sel->targets[i], &sel->targets[j]))
				return false;
	}
	return true;
}

/* ---- I7-I9: scripted RNG ------------------------------------------------------ */

START_TEST(test_I7_select_nodes_for_gossip)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	static const uint16_t	p[] = { 1, 2, 3 }, l[] = { 1, 2 }, d[] = { 3 }, s[] = { 2 };
	struct cc_addr		a3 = test_addr4(3);

	set_of(&peers, p, 3);
	set_of(&live, l, 2);
	set_of(&dead, d, 1);
	set_of(&seeds, s, 1);
	cc_select_peers(&peers, &live, &dead, &seeds, zero_rng, NULL, &sel);
	ck_assert_uint_eq(sel.n_targets, 2);
	ck_assert(targets_have(&sel, 1));
	ck_assert(targets_have(&sel, 2));
	ck_assert(sel.has_dead);
	ck_assert(cc_addr_is_equal(&sel.dead_target, &a3));
	/* 2 is already a target, and live (2) >= seeds (1) */
	ck_assert(!sel.has_seed);
	sets_clear(&peers, &live, &dead, &seeds);
}
END_TEST

START_TEST(test_I8_no_dead_node_no_seed_nodes)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	static const uint16_t	p[] = { 1, 2, 3, 4, 5 };

	set_of(&peers, p, 5);
	set_of(&live, p, 5);
	set_of(&dead, NULL, 0);
	set_of(&seeds, NULL, 0);
	cc_select_peers(&peers, &live, &dead, &seeds, zero_rng, NULL, &sel);
	ck_assert_uint_eq(sel.n_targets, 3);
	ck_assert(targets_distinct_in(&sel, &live));
	ck_assert(!sel.has_dead);
	ck_assert(!sel.has_seed);
	sets_clear(&peers, &live, &dead, &seeds);
}
END_TEST

START_TEST(test_I9_dead_and_seed_node)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	static const uint16_t	p[] = { 10, 11, 12, 13, 14 }, l[] = { 10 },
				d[] = { 11, 12, 13, 14 }, s[] = { 13, 14 };

	set_of(&peers, p, 5);
	set_of(&live, l, 1);
	set_of(&dead, d, 4);
	set_of(&seeds, s, 2);
	cc_select_peers(&peers, &live, &dead, &seeds, zero_rng, NULL, &sel);
	ck_assert_uint_eq(sel.n_targets, 1);
	ck_assert(targets_have(&sel, 10));
	ck_assert(sel.has_dead);			/* p = 4/2 >= 1 */
	ck_assert(cc_addr_set_has(&dead, &sel.dead_target));
	ck_assert(sel.has_seed);			/* 0 <= 2/5 */
	ck_assert(cc_addr_set_has(&seeds, &sel.seed_target));
	sets_clear(&peers, &live, &dead, &seeds);
}
END_TEST

/* ---- selection statistics ------------------------------------------------------ */

#define ROUNDS 10000

START_TEST(test_select_uniform_over_live_peers)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	struct test_env		te;
	struct cc_addr		self = test_addr4(1);
	uint16_t		p[10];
	unsigned		count[10] = { 0 };
	double			expected = ROUNDS * 3.0 / 10.0, chi2 = 0;

	for (int i = 0; i < 10; i++)
		p[i] = (uint16_t)(100 + i);
	set_of(&peers, p, 10);
	set_of(&live, p, 10);
	set_of(&dead, NULL, 0);
	set_of(&seeds, NULL, 0);
	test_env_init(&te, &self, 42);
	for (int r = 0; r < ROUNDS; r++) {
		cc_select_peers(&peers, &live, &dead, &seeds, env_rng, &te, &sel);
		ck_assert_uint_eq(sel.n_targets, 3);
		ck_assert(targets_distinct_in(&sel, &live));
		ck_assert(!sel.has_dead);
		ck_assert(!sel.has_seed);
		for (size_t i = 0; i < sel.n_targets; i++)
			count[sel.targets[i].port - 100]++;
	}
	for (int i = 0; i < 10; i++)
		chi2 += (count[i] - expected) * (count[i] - expected) / expected;
	/* 9 degrees of freedom: mean 9, P(chi2 > 40) < 1e-5 */
	ck_assert_msg(chi2 < 40.0, "chi2 = %f", chi2);
	sets_clear(&peers, &live, &dead, &seeds);
	test_env_clear(&te);
}
END_TEST

static void
dead_probability(unsigned n_live, unsigned n_dead, uint64_t seed)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	struct test_env		te;
	struct cc_addr		self = test_addr4(1);
	uint16_t		p[64];
	unsigned		hits = 0, per_dead[64] = { 0 };
	double			prob, mean, sd;

	for (unsigned i = 0; i < n_live + n_dead; i++)
		p[i] = (uint16_t)(100 + i);
	set_of(&peers, p, n_live + n_dead);
	set_of(&live, p, n_live);
	set_of(&dead, p + n_live, n_dead);
	set_of(&seeds, NULL, 0);
	test_env_init(&te, &self, seed);
	for (int r = 0; r < ROUNDS; r++) {
		cc_select_peers(&peers, &live, &dead, &seeds, env_rng, &te, &sel);
		if (sel.has_dead) {
			ck_assert(cc_addr_set_has(&dead, &sel.dead_target));
			hits++;
			per_dead[sel.dead_target.port - 100 - n_live]++;
		}
	}
	prob = (double)n_dead / (n_live + 1);
	if (prob > 1.0)
		prob = 1.0;
	mean = ROUNDS * prob;
	sd = sqrt(ROUNDS * prob * (1 - prob));
	ck_assert_msg(fabs(hits - mean) <= 6 * sd + 1, "dead target %u times, expected %.0f",
	    hits, mean);
	/* the dead target is uniform among the dead */
	for (unsigned i = 0; i < n_dead; i++)
		ck_assert_msg(fabs(per_dead[i] - (double)hits / n_dead) <=
		    6 * sqrt((double)hits / n_dead) + 1, "dead %u chosen %u times", i, per_dead[i]);
	sets_clear(&peers, &live, &dead, &seeds);
	test_env_clear(&te);
}

START_TEST(test_select_dead_target_probability)
{
	dead_probability(5, 3, 7);	/* 3/6 = 0.5 */
	dead_probability(10, 2, 8);	/* 2/11 */
	dead_probability(1, 1, 9);	/* 1/2 */
	dead_probability(2, 6, 10);	/* 6/3 >= 1: always */
}
END_TEST

START_TEST(test_select_seed_probability_with_live_nodes)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	struct test_env		te;
	struct cc_addr		self = test_addr4(1);
	static const uint16_t	p[] = { 1, 2, 3, 4, 5, 6, 7, 8 }, s[] = { 900 };
	unsigned		hits = 0;
	double			prob = 1.0 / 8, mean = ROUNDS * prob,
				sd = sqrt(ROUNDS * prob * (1 - prob));

	set_of(&peers, p, 8);
	set_of(&live, p, 4);
	set_of(&dead, p + 4, 4);
	set_of(&seeds, s, 1);	/* never a target: p_seed = 1 / (4 + 4) */
	test_env_init(&te, &self, 11);
	for (int r = 0; r < ROUNDS; r++) {
		cc_select_peers(&peers, &live, &dead, &seeds, env_rng, &te, &sel);
		hits += sel.has_seed;
	}
	ck_assert_msg(fabs(hits - mean) <= 6 * sd, "seed %u times, expected %.0f", hits, mean);
	sets_clear(&peers, &live, &dead, &seeds);
	test_env_clear(&te);
}
END_TEST

START_TEST(test_select_no_live_seed_always_plus_peers)
{
	struct cc_addr_set	peers, live, dead, seeds;
	struct cc_selection	sel;
	struct test_env		te;
	struct cc_addr		self = test_addr4(1);
	static const uint16_t	p[] = { 1, 2, 3, 4, 5 }, s[] = { 4, 900 };

	test_env_init(&te, &self, 12);
	/* five known peers, all dead, two seeds */
	set_of(&peers, p, 5);
	set_of(&live, NULL, 0);
	set_of(&dead, p, 5);
	set_of(&seeds, s, 2);
	for (int r = 0; r < 1000; r++) {
		cc_select_peers(&peers, &live, &dead, &seeds, env_rng, &te, &sel);
		ck_assert_uint_eq(sel.n_targets, 3);
		ck_assert(targets_distinct_in(&sel, &peers));
		ck_assert(sel.has_seed);
		ck_assert(cc_addr_set_has(&seeds, &sel.seed_target));
		ck_assert(sel.has_dead);		/* 5 / 1 */
	}
	sets_clear(&peers, &live, &dead, &seeds);

	/* two known peers: both contacted, and a seed */
	set_of(&peers, p, 2);
	set_of(&live, NULL, 0);
	set_of(&dead, NULL, 0);
	set_of(&seeds, s + 1, 1);
	for (int r = 0; r < 100; r++) {
		cc_select_peers(&peers, &live, &dead, &seeds, env_rng, &te, &sel);
		ck_assert_uint_eq(sel.n_targets, 2);
		ck_assert(targets_have(&sel, 1) && targets_have(&sel, 2));
		ck_assert(sel.has_seed);
		ck_assert(!sel.has_dead);
	}
	sets_clear(&peers, &live, &dead, &seeds);

	/* nobody known: the seed alone */
	set_of(&peers, NULL, 0);
	set_of(&live, NULL, 0);
	set_of(&dead, NULL, 0);
	set_of(&seeds, s + 1, 1);
	cc_select_peers(&peers, &live, &dead, &seeds, env_rng, &te, &sel);
	ck_assert_uint_eq(sel.n_targets, 0);
	ck_assert(sel.has_seed);
	ck_assert_uint_eq(sel.seed_target.port, 900);
	sets_clear(&peers, &live, &dead, &seeds);
	test_env_clear(&te);
}
END_TEST

/* ---- I1-I6, I10-I12 on engines --------------------------------------------------- */

START_TEST(test_I1_syn)
{
	struct fx		a;
	struct cc_addr		to = test_addr4(1111);
	struct test_dgram	d;
	struct cc_msg		m;
	uint64_t		hb;

	fx_init(&a, 1112);
	hb = cc_node_heartbeat(cc_engine_self_node(a.e));
	ck_assert_int_eq(cc_engine_gossip(a.e, &to), 0);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert(cc_addr_is_equal(&d.to, &to));
	ck_assert(cc_addr_is_equal(&d.from, &a.id.addr));
	decode(&d, &m);
	ck_assert_uint_eq(m.type, CC_MSG_SYN);
	ck_assert_uint_eq(m.cluster_id_len, strlen("default-cluster"));
	ck_assert_int_eq(memcmp(m.cluster_id, "default-cluster", m.cluster_id_len), 0);
	ck_assert_uint_eq(m.digest.n, 1);
	ck_assert(cc_id_is_equal(&m.digest.entries[0].id, &a.id));
	ck_assert_uint_eq(m.digest.entries[0].heartbeat, hb);
	/* gossip(addr): no heartbeat bump, no round */
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_self_node(a.e)), hb);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rounds, 0);
	cc_msg_clear(&m);
	test_dgram_free(&d);
	fx_free(&a);
}
END_TEST

START_TEST(test_I2_syn_ack)
{
	struct fx		server, bare;
	struct test_dgram	d;
	struct cc_msg		m;

	fx_init(&server, 1);
	fx_init(&bare, 2);
	ck_assert_int_eq(cc_engine_gossip(bare.e, &server.id.addr), 0);
	ck_assert(test_env_pop(&bare.env, &d));
	ck_assert_int_eq(cc_engine_recv(server.e, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert_uint_eq(server.env.n_sent, 1);
	ck_assert(test_env_pop(&server.env, &d));
	ck_assert(cc_addr_is_equal(&d.to, &bare.id.addr));
	ck_assert(cc_addr_is_equal(&d.from, &server.id.addr));
	decode(&d, &m);
	ck_assert_uint_eq(m.type, CC_MSG_SYN_ACK);
	cc_msg_clear(&m);
	test_dgram_free(&d);
	fx_free(&server);
	fx_free(&bare);
}
END_TEST

START_TEST(test_I3_syn_bad_cluster)
{
	struct fx		server, other;
	struct cc_config	cfg;
	struct test_dgram	d;
	struct cc_msg		m;

	fx_init(&server, 1);
	test_config(&cfg, &other.id, 2);
	cfg.cluster_id = "another-cluster";
	fx_start(&other, &cfg);
	ck_assert_int_eq(cc_engine_gossip(other.e, &server.id.addr), 0);
	ck_assert(test_env_pop(&other.env, &d));
	ck_assert_int_eq(cc_engine_recv(server.e, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert(test_env_pop(&server.env, &d));
	ck_assert(cc_addr_is_equal(&d.to, &other.id.addr));
	decode(&d, &m);
	ck_assert_uint_eq(m.type, CC_MSG_BAD_CLUSTER);
	ck_assert_uint_eq(d.len, 4);
	/* the other side takes it: heartbeat +1, nothing else, no reply */
	ck_assert_int_eq(cc_engine_recv(other.e, &d.from, d.buf, d.len), 0);
	ck_assert_uint_eq(other.env.n_sent, 0);
	ck_assert_uint_eq(cc_engine_num_nodes(other.e), 1);
	ck_assert_uint_eq(cc_engine_num_nodes(server.e), 1);
	cc_msg_clear(&m);
	test_dgram_free(&d);
	fx_free(&server);
	fx_free(&other);
}
END_TEST

START_TEST(test_I4_seeding)
{
	struct fx		a;
	struct cc_config	cfg;
	struct cc_addr		seed = test_addr4(5551);
	struct test_dgram	d;
	struct cc_msg		m;
	cc_mtime_t		next;

	test_config(&cfg, &a.id, 5552);
	cfg.seeds = &seed;
	cfg.n_seeds = 1;
	fx_start(&a, &cfg);
	/* the first round runs at once; nothing is live, so the seed is chosen */
	next = cc_engine_tick(a.e);
	ck_assert_uint_eq(next.ms, a.env.now_ms + 50);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert(cc_addr_is_equal(&d.to, &seed));
	ck_assert(cc_addr_is_equal(&d.from, &a.id.addr));
	decode(&d, &m);
	ck_assert_uint_eq(m.type, CC_MSG_SYN);
	cc_msg_clear(&m);
	test_dgram_free(&d);
	/* not again before the interval */
	a.env.now_ms += 49;
	cc_engine_tick(a.e);
	ck_assert_uint_eq(a.env.n_sent, 0);
	a.env.now_ms += 1;
	cc_engine_tick(a.e);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert(cc_addr_is_equal(&a.env.sent[0].to, &seed));
	ck_assert_uint_eq(cc_engine_stats(a.e)->rounds, 2);
	/* the own address is never a seed target (§4.7) */
	ck_assert_int_eq(cc_engine_set_seeds(a.e, &a.id.addr, 1), 0);
	test_env_drop_all(&a.env);
	a.env.now_ms += 50;
	cc_engine_tick(a.e);
	ck_assert_uint_eq(a.env.n_sent, 0);
	fx_free(&a);
}
END_TEST

/* I5 made deterministic: the engine learns heartbeat 1 (startup) + 1 (by
 * hand); the server's ACK to its next exchange carries its node delta. */
START_TEST(test_I5_heartbeat)
{
	struct fx			 server, e;
	struct cc_node			*self;
	struct test_dgram		 d;
	struct cc_msg			 m;
	const struct cc_node_delta	*nd = NULL;

	fx_init(&server, 1);
	fx_init(&e, 2);
	ck_assert_int_eq(cc_engine_set(server.e, "key", 3, "value", 5), 0);
	self = cc_engine_node_mut(server.e, &server.id);
	ck_assert_uint_eq(self->heartbeat, 1);
	self->heartbeat++;

	ck_assert_int_eq(cc_engine_gossip(server.e, &e.id.addr), 0);
	ck_assert(test_env_pop(&server.env, &d));
	ck_assert_int_eq(cc_engine_recv(e.e, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert_ptr_nonnull(cc_engine_node(e.e, &server.id));
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_node(e.e, &server.id)), 2);
	test_env_drop_all(&e.env);		/* that SYN-ACK is lost */

	/* next SYN: the engine answers, the server ACKs with its node delta */
	ck_assert_int_eq(cc_engine_gossip(server.e, &e.id.addr), 0);
	ck_assert(test_env_pop(&server.env, &d));
	ck_assert_int_eq(cc_engine_recv(e.e, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert(test_env_pop(&e.env, &d));
	ck_assert_int_eq(cc_engine_recv(server.e, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert(test_env_pop(&server.env, &d));
	ck_assert(cc_addr_is_equal(&d.to, &e.id.addr));
	decode(&d, &m);
	ck_assert_uint_eq(m.type, CC_MSG_ACK);
	for (size_t i = 0; i < m.delta.n; i++)
		if (cc_id_is_equal(&m.delta.nodes[i].id, &server.id))
			nd = &m.delta.nodes[i];
	ck_assert_ptr_nonnull(nd);
	ck_assert_uint_eq(nd->last_gc_version, 0);
	ck_assert_uint_eq(nd->from_version_excluded, 0);
	ck_assert_uint_eq(nd->n_kvs, 1);
	ck_assert_uint_eq(nd->kvs[0].version, 1);
	ck_assert_int_eq(cc_engine_recv(e.e, &d.from, d.buf, d.len), 0);
	ck_assert_ptr_nonnull(cc_node_get(cc_engine_node(e.e, &server.id), "key", 3));
	cc_msg_clear(&m);
	test_dgram_free(&d);
	fx_free(&server);
	fx_free(&e);
}
END_TEST

/* I6: the live-nodes watch (CC_EVENT_LIVE_NODES). */
struct live_seen {
	size_t		 n_events;
	size_t		 first_n;
	bool		 first_is_self;
	size_t		 last_n;
	bool		 last_has_other;
	const struct cc_id *self;
	const struct cc_id *other;
};

static void
on_live(struct test_env *te, const struct cc_event *ev)
{
	struct live_seen *ls = te->user;

	if (ev->type != CC_EVENT_LIVE_NODES)
		return;
	if (ls->n_events++ == 0) {
		ls->first_n = ev->n_live;
		ls->first_is_self = ev->n_live == 1 && cc_id_is_equal(ev->live[0], ls->self);
	}
	ls->last_n = ev->n_live;
	ls->last_has_other = false;
	for (size_t i = 0; i < ev->n_live; i++)
		if (ls->other != NULL && cc_id_is_equal(ev->live[i], ls->other))
			ls->last_has_other = true;
}

/* Delivers every captured datagram to the engine it is addressed to, until
 * nothing is in flight. Datagrams to unknown addresses vanish. */
static void
pump(struct fx **fxs, size_t n)
{
	for (int guard = 0; guard < 1000; guard++) {
		bool moved = false;

		for (size_t i = 0; i < n; i++) {
			struct test_dgram d;

			while (test_env_pop(&fxs[i]->env, &d)) {
				moved = true;
				for (size_t j = 0; j < n; j++)
					if (cc_addr_is_equal(&d.to, &fxs[j]->id.addr))
						ck_assert_int_eq(cc_engine_recv(fxs[j]->e,
						    &d.from, d.buf, d.len), 0);
				test_dgram_free(&d);
			}
		}
		if (!moved)
			return;
	}
	ck_abort_msg("pump: datagrams never stop");
}

START_TEST(test_I6_member_change_event)
{
	struct fx		 s1, s2;
	struct fx		*all[2] = { &s1, &s2 };
	struct cc_config	 cfg;
	struct live_seen	 ls;
	int			 i;

	fx_init(&s1, 6663);
	memset(&ls, 0, sizeof(ls));
	ls.self = &s1.id;
	s1.env.user = &ls;
	s1.env.on_event = on_live;

	/* alone: the first round publishes {self} */
	cc_engine_tick(s1.e);
	ck_assert_uint_eq(ls.n_events, 1);
	ck_assert_uint_eq(ls.first_n, 1);
	ck_assert(ls.first_is_self);
	s1.env.now_ms += 50;
	cc_engine_tick(s1.e);
	ck_assert_uint_eq(ls.n_events, 1);	/* unchanged summary: no event */

	/* 6664 joins with seed 6663 */
	test_config(&cfg, &s2.id, 6664);
	cfg.seeds = &s1.id.addr;
	cfg.n_seeds = 1;
	fx_start(&s2, &cfg);
	s2.env.now_ms = s1.env.now_ms;
	ls.other = &s2.id;
	for (i = 0; i < 60; i++) {		/* 3 s of 50 ms rounds */
		cc_engine_tick(s2.e);
		cc_engine_tick(s1.e);
		pump(all, 2);
		if (ls.last_n == 2 && ls.last_has_other)
			break;
		s1.env.now_ms += 50;
		s2.env.now_ms += 50;
	}
	ck_assert_msg(i < 60, "6663 never saw 6664 live");
	ck_assert_uint_eq(cc_engine_num_live(s1.e), 2);
	ck_assert_uint_ge(ls.n_events, 2);
	fx_free(&s1);
	fx_free(&s2);
}
END_TEST

/* I10 (engine side): freeing an engine sends nothing (no "leave" message,
 * §8.5) and releases everything (the sanitizer build checks for leaks). */
START_TEST(test_I10_engine_free_sends_nothing)
{
	struct fx	a, b;
	struct fx	*all[2] = { &a, &b };

	fx_init(&a, 7001);
	fx_init(&b, 7002);
	ck_assert_int_eq(cc_engine_set(a.e, "k", 1, "v", 1), 0);
	ck_assert_int_eq(cc_engine_gossip(a.e, &b.id.addr), 0);
	pump(all, 2);
	ck_assert_ptr_nonnull(cc_engine_node(b.e, &a.id));
	test_env_drop_all(&a.env);
	cc_engine_free(a.e);
	a.e = NULL;
	ck_assert_uint_eq(a.env.n_sent, 0);
	cc_engine_free(NULL);		/* accepts NULL */
	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* I11: message type 255 (Rust's test-only "panic" message) is invalid. */
START_TEST(test_I11_type_255_dropped)
{
	struct fx		a, b;
	struct test_dgram	d;
	static const uint8_t	t255[] = { 0x53, 0xb0, 0x00, 0xff };
	uint64_t		hb;

	fx_init(&a, 8001);
	fx_init(&b, 8002);
	hb = cc_node_heartbeat(cc_engine_self_node(a.e));
	errno = 0;
	ck_assert_int_eq(cc_engine_recv(a.e, &b.id.addr, t255, sizeof(t255)), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_uint_eq(a.env.n_sent, 0);
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_self_node(a.e)), hb);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_decode_errors, 1);
	/* and it keeps working */
	ck_assert_int_eq(cc_engine_gossip(b.e, &a.id.addr), 0);
	ck_assert(test_env_pop(&b.env, &d));
	ck_assert_int_eq(cc_engine_recv(a.e, &d.from, d.buf, d.len), 0);
	test_dgram_free(&d);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert_uint_eq(a.env.sent[0].buf[3], CC_MSG_SYN_ACK);
	cc_engine_tick(a.e);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rounds, 1);
	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* I12 (engine side): a failed send is counted and the round goes on with
 * its other targets (§8.3); nothing about the socket lives in the engine. */
START_TEST(test_I12_send_errors_counted_round_continues)
{
	struct fx		a;
	struct cc_config	cfg;
	struct cc_addr		seed = test_addr4(9999);
	struct cc_id		x[3];

	test_config(&cfg, &a.id, 9001);
	cfg.seeds = &seed;
	cfg.n_seeds = 1;
	fx_start(&a, &cfg);
	for (int i = 0; i < 3; i++) {
		test_id(&x[i], (uint16_t)(9100 + i));
		cc_engine_report_heartbeat(a.e, &x[i], 1);
	}
	cc_engine_update_liveness(a.e);	/* never reported: all three dead */
	ck_assert_uint_eq(cc_engine_num_dead(a.e), 3);
	/* nothing live: 3 peers + the dead target (p = 3/1) + the seed */
	a.env.fail_sends = 2;
	cc_engine_round(a.e);
	ck_assert_uint_eq(a.env.n_sent, 3);
	ck_assert_uint_eq(cc_engine_stats(a.e)->tx_errors, 2);
	ck_assert_uint_eq(cc_engine_stats(a.e)->tx_datagrams, 3);
	ck_assert(cc_addr_is_equal(&a.env.sent[2].to, &seed));
	for (int i = 0; i < 3; i++)
		cc_id_clear(&x[i]);
	fx_free(&a);
}
END_TEST

static Suite *
select_suite(void)
{
	Suite	*s = suite_create("select");
	TCase	*sel = tcase_create("selection");
	TCase	*eng = tcase_create("engine");

	tcase_set_timeout(sel, 120);
	tcase_add_test(sel, test_I7_select_nodes_for_gossip);
	tcase_add_test(sel, test_I8_no_dead_node_no_seed_nodes);
	tcase_add_test(sel, test_I9_dead_and_seed_node);
	tcase_add_test(sel, test_select_uniform_over_live_peers);
	tcase_add_test(sel, test_select_dead_target_probability);
	tcase_add_test(sel, test_select_seed_probability_with_live_nodes);
	tcase_add_test(sel, test_select_no_live_seed_always_plus_peers);
	suite_add_tcase(s, sel);

	tcase_set_timeout(eng, 120);
	tcase_add_test(eng, test_I1_syn);
	tcase_add_test(eng, test_I2_syn_ack);
	tcase_add_test(eng, test_I3_syn_bad_cluster);
	tcase_add_test(eng, test_I4_seeding);
	tcase_add_test(eng, test_I5_heartbeat);
	tcase_add_test(eng, test_I6_member_change_event);
	tcase_add_test(eng, test_I10_engine_free_sends_nothing);
	tcase_add_test(eng, test_I11_type_255_dropped);
	tcase_add_test(eng, test_I12_send_errors_counted_round_continues);
	suite_add_tcase(s, eng);
	return s;
}

CC_TEST_MAIN(select_suite)
