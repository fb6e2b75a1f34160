/*
 * check_limits.c: the limits against a hostile peer (docs/ENGINE.md,
 * "Limits against a hostile peer"; issue 7 item 3): max_nodes,
 * max_keys_per_node, max_state_bytes.
 *
 * Floods are built with the codec and fed through cc_engine_recv, as a
 * hostile peer would send them; convergence checks use real handshakes
 * between engines on fake environments.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cc_state.h"
#include "cc_wire.h"
#include "testutil.h"

#define FX_SEED		0x7157ULL
#define PORT_A		11001
#define PORT_B		11002
#define PORT_C		11003
#define PORT_EVIL	11666

/* ---- fixtures ------------------------------------------------------------ */

struct logsink {
	unsigned	n_warn;
	unsigned	n_nodes, n_keys, n_bytes;	/* warnings naming each limit */
};

static struct logsink logs;

static void
log_hook(void *arg, int level, const char *msg)
{
	(void)arg;
	if (level != CC_LOG_WARN)
		return;
	logs.n_warn++;
	if (strstr(msg, "max_nodes") != NULL)
		logs.n_nodes++;
	if (strstr(msg, "max_keys_per_node") != NULL)
		logs.n_keys++;
	if (strstr(msg, "max_state_bytes") != NULL)
		logs.n_bytes++;
}

/* An engine for port with the given limits (0: default) and a log sink. */
static void
fx_start(struct test_engine *f, uint16_t port, size_t max_nodes, size_t max_keys,
    uint64_t max_bytes)
{
	struct cc_config cfg;

	test_config(&cfg, &f->id, port);
	cfg.max_nodes = max_nodes;
	cfg.max_keys_per_node = max_keys;
	cfg.max_state_bytes = max_bytes;
	test_env_init(&f->env, &cfg.self.addr, FX_SEED + port);
	f->env.env.log = log_hook;
	f->e = cc_engine_new(&cfg, &f->env.env);
	ck_assert_ptr_nonnull(f->e);
}

static void
setup(void)
{
	memset(&logs, 0, sizeof(logs));
}

static void
feed(struct test_engine *f, const struct cc_msg *m)
{
	struct cc_wbuf	wb;
	struct cc_addr	from = test_addr4(PORT_EVIL);

	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, m, NULL), 0);
	ck_assert_int_eq(wb.err, 0);
	ck_assert_int_eq(cc_engine_recv(f->e, &from, wb.data, wb.len), 0);
	cc_wbuf_clear(&wb);
	test_env_drop_all(&f->env);
}

/* A SYN (right cluster) whose digest holds ids fake-<first>..fake-<first+n-1>. */
static void
feed_fake_digest(struct test_engine *f, size_t first, size_t n, uint64_t hb)
{
	struct cc_msg	m;
	char		name[32];

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN;
	m.cluster_id = (char *)cc_engine_cluster_id(f->e);
	m.cluster_id_len = strlen(m.cluster_id);
	m.digest.n = n;
	m.digest.entries = calloc(n, sizeof(*m.digest.entries));
	ck_assert_ptr_nonnull(m.digest.entries);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "fake-%zu", first + i);
		test_id_named(&m.digest.entries[i].id, name, 1, (uint16_t)(20000 + (first + i) % 40000));
		m.digest.entries[i].heartbeat = hb;
		m.digest.entries[i].max_version = 7;
	}
	feed(f, &m);
	for (size_t i = 0; i < n; i++)
		cc_id_clear(&m.digest.entries[i].id);
	free(m.digest.entries);
}

/* An ACK carrying one node delta for id: keys <prefix><i>, versions from+1... */
static void
feed_keys(struct test_engine *f, const struct cc_id *id, const char *prefix,
    uint64_t from, size_t n, size_t value_len)
{
	struct cc_msg		 m;
	struct cc_node_delta	 nd;
	char			*value = malloc(value_len + 1);
	char			 key[64];

	ck_assert_ptr_nonnull(value);
	memset(value, 'v', value_len);
	value[value_len] = '\0';
	memset(&m, 0, sizeof(m));
	memset(&nd, 0, sizeof(nd));
	m.type = CC_MSG_ACK;
	m.delta.nodes = &nd;
	m.delta.n = 1;
	nd.id = *id;
	nd.from_version_excluded = from;
	nd.kvs = calloc(n, sizeof(*nd.kvs));
	nd.n_kvs = n;
	ck_assert_ptr_nonnull(nd.kvs);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%zu", prefix, from + i + 1);
		nd.kvs[i].key = strdup(key);
		nd.kvs[i].key_len = strlen(key);
		nd.kvs[i].value = value;
		nd.kvs[i].value_len = value_len;
		nd.kvs[i].version = from + i + 1;
		nd.kvs[i].status = CC_STATUS_SET;
	}
	nd.max_version = from + n;
	feed(f, &m);
	for (size_t i = 0; i < n; i++)
		free(nd.kvs[i].key);
	free(nd.kvs);
	free(value);
}

/* Makes f hold a replica of id (heartbeat 1) through a digest, as a peer would. */
static void
introduce(struct test_engine *f, const struct cc_id *id)
{
	struct cc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN;
	m.cluster_id = (char *)cc_engine_cluster_id(f->e);
	m.cluster_id_len = strlen(m.cluster_id);
	m.digest.n = 1;
	m.digest.entries = calloc(1, sizeof(*m.digest.entries));
	ck_assert_ptr_nonnull(m.digest.entries);
	m.digest.entries[0].id = *id;
	m.digest.entries[0].heartbeat = 1;
	feed(f, &m);
	free(m.digest.entries);
	ck_assert_ptr_nonnull(cc_engine_node(f->e, id));
}

/* Sum of key + value bytes over the remote replicas, the slow way. */
static uint64_t
remote_bytes(const struct test_engine *f)
{
	const struct cc_node	*n;
	uint64_t		 sum = 0;

	for (n = cc_engine_node_first(f->e); n != NULL; n = cc_engine_node_next(f->e, n)) {
		const struct cc_kv *kv;

		if (n == cc_engine_self_node(f->e))
			continue;
		for (kv = cc_node_prefix_first(n, "", 0, true); kv != NULL;
		    kv = cc_node_prefix_next(n, kv, "", 0, true))
			sum += kv->key_len + kv->value_len;
	}
	return sum;
}

/*
 * The replica claims nothing it lacks: every stored entry is at or below
 * max_version, and every entry of the owner at or below it is held (same
 * version or newer).
 */
static void
assert_replica_honest(const struct cc_node *owner, const struct cc_node *replica)
{
	const struct cc_kv *kv;

	for (kv = cc_node_prefix_first(replica, "", 0, true); kv != NULL;
	    kv = cc_node_prefix_next(replica, kv, "", 0, true))
		ck_assert_uint_le(kv->version, cc_node_max_version(replica));
	for (kv = cc_node_prefix_first(owner, "", 0, true); kv != NULL;
	    kv = cc_node_prefix_next(owner, kv, "", 0, true)) {
		const struct cc_kv *r;

		if (kv->version > cc_node_max_version(replica))
			continue;
		r = cc_node_get_versioned(replica, kv->key, kv->key_len);
		ck_assert_msg(r != NULL && r->version >= kv->version,
		    "replica claims max_version %llu but lacks %s@%llu",
		    (unsigned long long)cc_node_max_version(replica), kv->key,
		    (unsigned long long)kv->version);
	}
}

/* Handshakes until b's replica of a matches a's own state, at most n rounds. */
static bool
sync_rounds(struct test_engine *a, struct test_engine *b, int n)
{
	for (int i = 0; i < n; i++) {
		const struct cc_node *r;

		test_handshake(a->e, &a->env, b->e, &b->env);
		r = cc_engine_node(b->e, cc_engine_self_id(a->e));
		if (r != NULL && cc_node_max_version(r) ==
		    cc_node_max_version(cc_engine_self_node(a->e)) &&
		    cc_node_num_stored(r) == cc_node_num_stored(cc_engine_self_node(a->e)))
			return true;
	}
	return false;
}

static void
set_keys(struct test_engine *f, const char *prefix, size_t n, size_t value_len)
{
	char	 key[64];
	char	*value = malloc(value_len + 1);

	ck_assert_ptr_nonnull(value);
	memset(value, 'x', value_len);
	value[value_len] = '\0';
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%s%03zu", prefix, i);
		ck_assert_int_eq(cc_engine_set(f->e, key, strlen(key), value, value_len), 0);
	}
	free(value);
}

/* ---- defaults -------------------------------------------------------------- */

START_TEST(test_limits_zero_means_default)
{
	struct cc_config cfg;

	cc_config_default(&cfg);
	ck_assert_uint_eq(cfg.max_nodes, 0);
	ck_assert_uint_eq(cfg.max_keys_per_node, 0);
	ck_assert_uint_eq(cfg.max_state_bytes, 0);
	ck_assert_uint_eq(CC_DEFAULT_MAX_NODES, 10000);
	ck_assert_uint_eq(CC_DEFAULT_MAX_KEYS_PER_NODE, 100000);
	ck_assert_uint_eq(CC_DEFAULT_MAX_STATE_BYTES, 256ULL * 1024 * 1024);
}
END_TEST

/* ---- max_nodes --------------------------------------------------------------- */

/* 100,000 distinct fake ids over 200 datagrams: the default limit holds. */
START_TEST(test_node_flood_default_limit)
{
	struct test_engine	f;
	size_t			total = 100000, per = 500;

	fx_start(&f, PORT_A, 0, 0, 0);
	for (size_t first = 0; first < total; first += per)
		feed_fake_digest(&f, first, per, 1);
	ck_assert_uint_eq(cc_engine_num_nodes(f.e), CC_DEFAULT_MAX_NODES);
	ck_assert_uint_eq(cc_engine_stats(f.e)->limit_nodes_refused,
	    total - (CC_DEFAULT_MAX_NODES - 1));
	ck_assert_uint_eq(cc_engine_state_bytes(f.e), 0);
	/* one warning for the whole flood (same minute) */
	ck_assert_uint_eq(logs.n_nodes, 1);
	test_engine_free(&f);
}
END_TEST

START_TEST(test_node_flood_small_limit_keeps_known_nodes)
{
	struct test_engine	f;
	struct cc_id		peer;
	const struct cc_node	*n;

	fx_start(&f, PORT_A, 50, 0, 0);
	test_id(&peer, PORT_B);
	introduce(&f, &peer);
	for (size_t first = 0; first < 20000; first += 1000)
		feed_fake_digest(&f, first, 1000, 1);
	ck_assert_uint_eq(cc_engine_num_nodes(f.e), 50);
	ck_assert_uint_eq(cc_engine_stats(f.e)->limit_nodes_refused, 20000 - 48);
	/* a node held before the flood still gets its heartbeats */
	n = cc_engine_node(f.e, &peer);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(cc_node_heartbeat(n), 1);
	{
		struct cc_msg m;

		memset(&m, 0, sizeof(m));
		m.type = CC_MSG_SYN;
		m.cluster_id = (char *)cc_engine_cluster_id(f.e);
		m.cluster_id_len = strlen(m.cluster_id);
		m.digest.n = 1;
		m.digest.entries = calloc(1, sizeof(*m.digest.entries));
		m.digest.entries[0].id = peer;
		m.digest.entries[0].heartbeat = 9;
		feed(&f, &m);
		free(m.digest.entries);
	}
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_node(f.e, &peer)), 9);
	/* a new flood one minute later warns again, once */
	ck_assert_uint_eq(logs.n_nodes, 1);
	f.env.now_ms += 59999;
	feed_fake_digest(&f, 50000, 10, 1);
	ck_assert_uint_eq(logs.n_nodes, 1);
	f.env.now_ms += 1;
	feed_fake_digest(&f, 60000, 10, 1);
	ck_assert_uint_eq(logs.n_nodes, 2);
	cc_id_clear(&peer);
	test_engine_free(&f);
}
END_TEST

/* Fake nodes never become live: once GC'd, room is back for real ones. */
START_TEST(test_node_flood_room_back_after_gc)
{
	struct test_engine	f;
	struct cc_config	cfg;
	struct cc_id		peer;

	test_config(&cfg, &f.id, PORT_A);
	cfg.max_nodes = 10;
	cfg.fd.dead_node_grace_period_ms = 10000;
	test_env_init(&f.env, &cfg.self.addr, FX_SEED);
	f.e = cc_engine_new(&cfg, &f.env.env);
	ck_assert_ptr_nonnull(f.e);
	feed_fake_digest(&f, 0, 100, 1);
	ck_assert_uint_eq(cc_engine_num_nodes(f.e), 10);
	test_id(&peer, PORT_B);
	{
		struct cc_msg m;

		memset(&m, 0, sizeof(m));
		m.type = CC_MSG_SYN;
		m.cluster_id = (char *)cc_engine_cluster_id(f.e);
		m.cluster_id_len = strlen(m.cluster_id);
		m.digest.n = 1;
		m.digest.entries = calloc(1, sizeof(*m.digest.entries));
		m.digest.entries[0].id = peer;
		m.digest.entries[0].heartbeat = 1;
		feed(&f, &m);
		ck_assert_ptr_null(cc_engine_node(f.e, &peer));	/* full */
		cc_engine_update_liveness(f.e);			/* all dead now */
		f.env.now_ms += 10001;
		cc_engine_update_liveness(f.e);			/* and GC'd */
		ck_assert_uint_eq(cc_engine_num_nodes(f.e), 1);
		feed(&f, &m);
		free(m.digest.entries);
	}
	ck_assert_ptr_nonnull(cc_engine_node(f.e, &peer));
	cc_id_clear(&peer);
	test_engine_free(&f);
}
END_TEST

/* ---- max_keys_per_node ------------------------------------------------------- */

START_TEST(test_key_flood_bounded)
{
	struct test_engine	f;
	struct cc_id		evil, other;
	const struct cc_node	*n;

	fx_start(&f, PORT_A, 0, 100, 0);
	test_id(&evil, PORT_EVIL);
	test_id(&other, PORT_C);
	introduce(&f, &evil);
	introduce(&f, &other);
	feed_keys(&f, &other, "o", 0, 10, 3);
	for (uint64_t from = 0; from < 5000; from += 500)
		feed_keys(&f, &evil, "k", cc_node_max_version(cc_engine_node(f.e, &evil)), 500, 1);
	n = cc_engine_node(f.e, &evil);
	ck_assert_uint_eq(cc_node_num_stored(n), 100);
	ck_assert_uint_eq(cc_node_max_version(n), 100);	/* the last stored, not 500 */
	ck_assert_uint_ge(cc_engine_stats(f.e)->limit_keys_refused, 1);
	ck_assert_uint_eq(logs.n_keys, 1);
	ck_assert_uint_eq(cc_engine_state_bytes(f.e), remote_bytes(&f));
	/* the other node is unaffected */
	n = cc_engine_node(f.e, &other);
	ck_assert_uint_eq(cc_node_num_stored(n), 10);
	ck_assert_uint_eq(cc_node_max_version(n), 10);
	/* updates of held keys still apply: they add no key */
	{
		struct cc_msg		m;
		struct cc_node_delta	nd;
		struct cc_kv_op		kv;

		memset(&m, 0, sizeof(m));
		memset(&nd, 0, sizeof(nd));
		memset(&kv, 0, sizeof(kv));
		m.type = CC_MSG_ACK;
		m.delta.nodes = &nd;
		m.delta.n = 1;
		nd.id = evil;
		nd.from_version_excluded = 100;
		nd.kvs = &kv;
		nd.n_kvs = 1;
		nd.max_version = 101;
		kv.key = (char *)"k1";
		kv.key_len = 2;
		kv.value = (char *)"new";
		kv.value_len = 3;
		kv.version = 101;
		feed(&f, &m);
	}
	n = cc_engine_node(f.e, &evil);
	ck_assert_uint_eq(cc_node_max_version(n), 101);
	ck_assert_uint_eq(cc_node_get(n, "k1", 2)->value_len, 3);
	cc_id_clear(&evil);
	cc_id_clear(&other);
	test_engine_free(&f);
}
END_TEST

/* Own keys through the API are not limited. */
START_TEST(test_own_keys_not_limited)
{
	struct test_engine f;

	fx_start(&f, PORT_A, 0, 5, 1024);
	set_keys(&f, "own", 50, 100);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(f.e)), 50);
	ck_assert_uint_eq(cc_engine_state_bytes(f.e), 0);
	ck_assert_uint_eq(cc_engine_stats(f.e)->limit_keys_refused, 0);
	ck_assert_uint_eq(cc_engine_stats(f.e)->limit_bytes_refused, 0);
	test_engine_free(&f);
}
END_TEST

/*
 * A real owner with 60 keys, a receiver limited to 25 per node: the
 * replica stalls at 25 entries and claims only what it holds; raising the
 * limit lets it converge with no other repair.
 */
START_TEST(test_refused_key_replica_converges_after_raise)
{
	struct test_engine	a, b;
	const struct cc_node	*r;

	fx_start(&a, PORT_A, 0, 0, 0);
	fx_start(&b, PORT_B, 0, 25, 0);
	set_keys(&a, "key", 60, 10);
	ck_assert(!sync_rounds(&a, &b, 5));
	r = cc_engine_node(b.e, cc_engine_self_id(a.e));
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(cc_node_num_stored(r), 25);
	ck_assert_uint_eq(cc_node_max_version(r), 25);
	assert_replica_honest(cc_engine_self_node(a.e), r);
	ck_assert_uint_ge(cc_engine_stats(b.e)->limit_keys_refused, 5);
	ck_assert_uint_eq(logs.n_keys, 1);
	/* b's own state went to a intact meanwhile */
	ck_assert_ptr_nonnull(cc_engine_node(a.e, cc_engine_self_id(b.e)));
	cc_engine_set_limits(b.e, 0, 1000, 0);
	ck_assert(sync_rounds(&a, &b, 5));
	r = cc_engine_node(b.e, cc_engine_self_id(a.e));
	ck_assert_uint_eq(cc_node_num_stored(r), 60);
	assert_replica_honest(cc_engine_self_node(a.e), r);
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), remote_bytes(&b));
	test_engine_free(&a);
	test_engine_free(&b);
}
END_TEST

/*
 * A refusal in the middle of a reset delta (§6.7): the replica keeps the
 * owner's last_gc_version with a lower max_version, claims nothing it
 * lacks, and converges once the limit is raised.
 */
START_TEST(test_refused_key_during_reset)
{
	struct test_engine	a, b;
	struct cc_config	cfg;
	const struct cc_node	*r;
	char			key[16];

	test_config(&cfg, &a.id, PORT_A);
	cfg.marked_for_deletion_grace_period_ms = 1000;
	test_env_init(&a.env, &cfg.self.addr, FX_SEED);
	a.e = cc_engine_new(&cfg, &a.env.env);
	ck_assert_ptr_nonnull(a.e);
	fx_start(&b, PORT_B, 0, 10, 0);
	set_keys(&a, "key", 30, 5);
	ck_assert(!sync_rounds(&a, &b, 3));
	r = cc_engine_node(b.e, cc_engine_self_id(a.e));
	ck_assert_uint_eq(cc_node_max_version(r), 10);
	/* the owner deletes 5 keys and purges the tombstones: b needs a reset */
	for (int i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "key%03d", i);
		ck_assert_int_eq(cc_engine_delete(a.e, key, strlen(key)), 0);
	}
	a.env.now_ms += 2000;
	cc_engine_gc_entries(a.e);
	ck_assert_uint_eq(cc_node_last_gc_version(cc_engine_self_node(a.e)), 35);
	test_handshake(a.e, &a.env, b.e, &b.env);
	r = cc_engine_node(b.e, cc_engine_self_id(a.e));
	ck_assert_uint_ge(cc_engine_stats(b.e)->resets_applied, 1);
	ck_assert_uint_eq(cc_node_last_gc_version(r), 35);
	ck_assert_uint_eq(cc_node_num_stored(r), 10);
	ck_assert_uint_eq(cc_node_max_version(r), 15);	/* key005..key014: versions 6..15 */
	assert_replica_honest(cc_engine_self_node(a.e), r);
	cc_engine_set_limits(b.e, 0, 0, 0);
	ck_assert(sync_rounds(&a, &b, 5));
	r = cc_engine_node(b.e, cc_engine_self_id(a.e));
	ck_assert_uint_eq(cc_node_num_stored(r), 25);
	ck_assert_uint_eq(cc_node_max_version(r), 35);
	assert_replica_honest(cc_engine_self_node(a.e), r);
	test_engine_free(&a);
	test_engine_free(&b);
}
END_TEST

/* ---- max_state_bytes ------------------------------------------------------------ */

START_TEST(test_byte_flood_bounded)
{
	struct test_engine	f;
	struct cc_id		evil;
	const struct cc_node	*n;

	fx_start(&f, PORT_A, 0, 0, 64 * 1024);
	test_id(&evil, PORT_EVIL);
	introduce(&f, &evil);
	for (int i = 0; i < 50; i++)
		feed_keys(&f, &evil, "big", cc_node_max_version(cc_engine_node(f.e, &evil)), 10,
		    1000);
	n = cc_engine_node(f.e, &evil);
	ck_assert_uint_le(cc_engine_state_bytes(f.e), 64 * 1024);
	ck_assert_uint_eq(cc_engine_state_bytes(f.e), remote_bytes(&f));
	ck_assert_uint_gt(cc_engine_state_bytes(f.e), 60 * 1024);
	ck_assert_uint_eq(cc_node_max_version(n), cc_node_num_stored(n));
	ck_assert_uint_ge(cc_engine_stats(f.e)->limit_bytes_refused, 40);
	ck_assert_uint_eq(logs.n_bytes, 1);
	cc_id_clear(&evil);
	test_engine_free(&f);
}
END_TEST

/* An update that grows a held value past the cap is refused too. */
START_TEST(test_byte_limit_growing_update)
{
	struct test_engine	a, b;
	const struct cc_node	*r;
	char			big[3000];

	fx_start(&a, PORT_A, 0, 0, 0);
	fx_start(&b, PORT_B, 0, 0, 2048);
	set_keys(&a, "k", 3, 100);
	ck_assert(sync_rounds(&a, &b, 3));
	memset(big, 'y', sizeof(big));
	ck_assert_int_eq(cc_engine_set(a.e, "k001", 4, big, sizeof(big)), 0);
	ck_assert(!sync_rounds(&a, &b, 3));
	r = cc_engine_node(b.e, cc_engine_self_id(a.e));
	ck_assert_uint_eq(cc_node_get(r, "k001", 4)->value_len, 100);
	ck_assert_uint_eq(cc_node_max_version(r), 3);
	ck_assert_uint_ge(cc_engine_stats(b.e)->limit_bytes_refused, 1);
	assert_replica_honest(cc_engine_self_node(a.e), r);
	/* shrinking is never refused */
	ck_assert_int_eq(cc_engine_set(a.e, "k001", 4, "s", 1), 0);
	ck_assert(sync_rounds(&a, &b, 3));
	ck_assert_uint_eq(cc_node_get(cc_engine_node(b.e, cc_engine_self_id(a.e)), "k001", 4)->value_len, 1);
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), remote_bytes(&b));
	test_engine_free(&a);
	test_engine_free(&b);
}
END_TEST

/* state_bytes follows GC of entries and of nodes, and resets. */
START_TEST(test_state_bytes_accounting)
{
	struct test_engine	a, b;
	struct cc_config	cfg;

	fx_start(&a, PORT_A, 0, 0, 0);
	test_config(&cfg, &b.id, PORT_B);
	cfg.marked_for_deletion_grace_period_ms = 1000;
	cfg.fd.dead_node_grace_period_ms = 5000;
	test_env_init(&b.env, &cfg.self.addr, FX_SEED);
	b.e = cc_engine_new(&cfg, &b.env.env);
	ck_assert_ptr_nonnull(b.e);
	set_keys(&a, "k", 10, 50);
	ck_assert(sync_rounds(&a, &b, 3));
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), 10 * (4 + 50));
	ck_assert_int_eq(cc_engine_delete(a.e, "k000", 4), 0);
	ck_assert(sync_rounds(&a, &b, 3));
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), remote_bytes(&b));
	b.env.now_ms += 2000;
	cc_engine_gc_entries(b.e);
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), 9 * (4 + 50));
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), remote_bytes(&b));
	/* a dies and is GC'd */
	for (int i = 0; i < 4; i++) {
		b.env.now_ms += 6000;
		cc_engine_update_liveness(b.e);
	}
	ck_assert_ptr_null(cc_engine_node(b.e, cc_engine_self_id(a.e)));
	ck_assert_uint_eq(cc_engine_state_bytes(b.e), 0);
	test_engine_free(&a);
	test_engine_free(&b);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_limits_zero_means_default);
	tcase_add_test(tc, test_node_flood_default_limit);
	tcase_add_test(tc, test_node_flood_small_limit_keeps_known_nodes);
	tcase_add_test(tc, test_node_flood_room_back_after_gc);
	tcase_add_test(tc, test_key_flood_bounded);
	tcase_add_test(tc, test_own_keys_not_limited);
	tcase_add_test(tc, test_refused_key_replica_converges_after_raise);
	tcase_add_test(tc, test_refused_key_during_reset);
	tcase_add_test(tc, test_byte_flood_bounded);
	tcase_add_test(tc, test_byte_limit_growing_update);
	tcase_add_test(tc, test_state_bytes_accounting);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(limits_suite)
