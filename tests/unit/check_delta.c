/*
 * check_delta.c: delta computation (PROTOCOL.md §4.4, catalogue group D)
 * and delta application (§4.5, group E, and the robustness table of §4.8).
 *
 * Group D builds node states in a bare node tree, computes deltas against
 * hand-made digests and decodes the produced bytes to check node deltas,
 * KVs and sizes. Exact compressed sizes are asserted only against the
 * libzstd they were computed with (1.5.4, §3.5.4). Group E applies
 * hand-built node deltas to node states.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zstd.h>

#include "cc_state.h"
#include "testutil.h"

#define T0		1000000
#define ACK_MTU		65506

#define PUT(n, k, v, ver)	ck_assert_int_eq(cc_node_store((n), (k), strlen(k), (v), \
				    strlen(v), (ver), CC_STATUS_SET, cc_mtime(T0), false), 1)
#define GET(n, k)		cc_node_get((n), (k), strlen(k))
#define GETV(n, k)		cc_node_get_versioned((n), (k), strlen(k))

#define ASSERT_KV(kvexpr, val, ver, st) do {					\
	const struct cc_kv *kv_ = (kvexpr);					\
	ck_assert_ptr_nonnull(kv_);						\
	ck_assert_uint_eq(kv_->value_len, strlen(val));				\
	ck_assert_int_eq(memcmp(kv_->value, (val), kv_->value_len), 0);		\
	ck_assert_uint_eq(kv_->version, (ver));					\
	ck_assert_int_eq(kv_->status, (st));					\
} while (0)

/* A KV operation of a decoded node delta. */
#define ASSERT_KVOP(opexpr, k, val, ver, st) do {				\
	const struct cc_kv_op *op_ = (opexpr);					\
	ck_assert_uint_eq(op_->key_len, strlen(k));				\
	ck_assert_int_eq(memcmp(op_->key, (k), op_->key_len), 0);		\
	ck_assert_uint_eq(op_->value_len, strlen(val));				\
	ck_assert_int_eq(memcmp(op_->value, (val), op_->value_len), 0);		\
	ck_assert_uint_eq(op_->version, (ver));					\
	ck_assert_uint_eq(op_->status, (st));					\
} while (0)

/* A decoded node delta: id(port), gc, from, number of KVs, max. */
#define ASSERT_ND(ndexpr, port, gc, from, nkvs, max) do {			\
	const struct cc_node_delta *nd_ = (ndexpr);				\
	struct cc_id id_;							\
	test_id(&id_, (port));							\
	ck_assert_msg(cc_id_is_equal(&nd_->id, &id_), "node delta for %s, want node-%u", \
	    nd_->id.node_id, (unsigned)(port));					\
	cc_id_clear(&id_);							\
	ck_assert_uint_eq(nd_->last_gc_version, (gc));				\
	ck_assert_uint_eq(nd_->from_version_excluded, (from));			\
	ck_assert_uint_eq(nd_->n_kvs, (nkvs));					\
	ck_assert_uint_eq(nd_->max_version, (max));				\
} while (0)

/* Exact compressed sizes were computed with libzstd 1.5.4, level 3. */
static bool
zstd_pinned(void)
{
	return ZSTD_versionNumber() == 10504;
}

#define ASSERT_SIZE(len, expected) do {						\
	if (zstd_pinned())							\
		ck_assert_uint_eq((len), (expected));				\
} while (0)

static uint32_t
rng_fn(void *arg)
{
	return test_rand_u32(arg);
}

/* ---- node trees and digests -------------------------------------------------- */

static struct cc_node *
tree_add(struct cc_node_tree *t, uint16_t port)
{
	struct cc_id	 id;
	struct cc_node	*n;

	test_id(&id, port);
	n = cc_node_new(&id);
	cc_id_clear(&id);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_null(RB_INSERT(cc_node_tree, t, n));
	return n;
}

static void
tree_free(struct cc_node_tree *t)
{
	struct cc_node *n, *tmp;

	RB_FOREACH_SAFE(n, cc_node_tree, t, tmp) {
		RB_REMOVE(cc_node_tree, t, n);
		cc_node_free(n);
	}
}

struct dg {
	struct cc_digest_entry	e[16];
	size_t			n;
	struct cc_digest	d;
	struct cc_digest_index	ix;
};

static void
dg_init(struct dg *d)
{
	memset(d, 0, sizeof(*d));
}

static void
dg_add(struct dg *d, uint16_t port, uint64_t gc, uint64_t max)
{
	ck_assert_uint_lt(d->n, 16);
	test_id(&d->e[d->n].id, port);
	d->e[d->n].heartbeat = 0;
	d->e[d->n].last_gc_version = gc;
	d->e[d->n].max_version = max;
	d->n++;
}

/* Indexes the digest (call after the last dg_add). */
static const struct cc_digest_index *
dg_index(struct dg *d)
{
	cc_digest_index_clear(&d->ix);
	d->d.entries = d->e;
	d->d.n = d->n;
	ck_assert_int_eq(cc_digest_index_init(&d->ix, &d->d), 0);
	return &d->ix;
}

static void
dg_clear(struct dg *d)
{
	cc_digest_index_clear(&d->ix);
	for (size_t i = 0; i < d->n; i++)
		cc_id_clear(&d->e[i].id);
	d->n = 0;
}

/*
 * Computes the delta for digest d under mtu, checks it fits, decodes it
 * into *out (cc_delta_clear after) and returns its encoded size.
 */
static size_t
compute(struct cc_node_tree *t, struct dg *d, size_t mtu,
    bool (*skip)(const struct cc_node *, void *), void *skip_arg,
    struct cc_delta *out, size_t *n_resets)
{
	struct cc_wbuf	wb;
	struct cc_rbuf	rb;
	size_t		len;

	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_compute_delta(t, dg_index(d), mtu, skip, skip_arg,
	    NULL, NULL, NULL, &wb, n_resets), 0);
	ck_assert_int_eq(wb.err, 0);
	len = wb.len;
	if (mtu >= CC_MIN_DELTA_MTU)
		ck_assert_uint_le(len, mtu);
	memset(out, 0, sizeof(*out));
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_msg(cc_delta_decode(&rb, out, NULL, NULL) == 0,
	    "produced delta does not decode: %s", rb.why ? rb.why : "?");
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
	cc_wbuf_clear(&wb);
	return len;
}

/* ---- group D --------------------------------------------------------------------- */

START_TEST(test_D1_stale_key_values)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n = tree_add(&t, 10001);
	struct cc_entry		*e;

	ck_assert_ptr_null(cc_node_stale_first(n, 0));
	ck_assert_uint_eq(cc_node_count_stale(n, 0), 0);
	PUT(n, "key_a", "a", 3);
	PUT(n, "key_b", "b", 2);
	PUT(n, "key_c", "c", 1);
	e = cc_node_stale_first(n, 1);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->kv.key, "key_b");
	ck_assert_uint_eq(e->kv.version, 2);
	e = RB_NEXT(cc_version_tree, &n->by_version, e);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->kv.key, "key_a");
	ck_assert_uint_eq(e->kv.version, 3);
	ck_assert_ptr_null(RB_NEXT(cc_version_tree, &n->by_version, e));
	ck_assert_uint_eq(cc_node_count_stale(n, 1), 2);
	ck_assert_uint_eq(cc_node_count_stale(n, 0), 3);
	ck_assert_uint_eq(cc_node_count_stale(n, 3), 0);
	tree_free(&t);
}
END_TEST

START_TEST(test_D2_sorted_stale_nodes_empty)
{
	struct cc_node_tree		 t = RB_INITIALIZER(&t);
	struct cc_stale_candidate	*c = NULL;
	struct cc_node			*n;
	struct dg			 d;
	size_t				 nc = 99;

	dg_init(&d);
	ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), NULL, NULL, NULL, NULL,
	    &c, &nc), 0);
	ck_assert_uint_eq(nc, 0);
	free(c);
	/* nodes the peer is not behind on are no candidates either */
	n = tree_add(&t, 10001);
	PUT(n, "k", "v", 4);
	dg_add(&d, 10001, 0, 4);
	c = NULL;
	nc = 99;
	ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), NULL, NULL, NULL, NULL,
	    &c, &nc), 0);
	ck_assert_uint_eq(nc, 0);
	free(c);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

START_TEST(test_D3_sorted_stale_nodes_insert)
{
	struct cc_node_tree		 t = RB_INITIALIZER(&t);
	struct cc_stale_candidate	*c;
	struct cc_node			*a, *b, *cc;
	struct dg			 d;
	size_t				 nc;
	struct test_env			 te;
	struct cc_addr			 self = test_addr4(1);

	a = tree_add(&t, 10001);
	a->max_version = 2;			/* forced, no entries */
	b = tree_add(&t, 10002);
	PUT(b, "k", "v", 1);
	cc = tree_add(&t, 10003);
	PUT(cc, "k2", "v", 2);
	PUT(cc, "k3", "v", 3);
	dg_init(&d);
	/* floor 0: once absent from the digest, once listed with max 0 */
	for (int listed = 0; listed < 2; listed++) {
		if (listed) {
			dg_add(&d, 10001, 0, 0);
			dg_add(&d, 10002, 0, 0);
			dg_add(&d, 10003, 0, 0);
		}
		for (uint64_t seed = 0; seed < 4; seed++) {
			test_env_init(&te, &self, seed + 1);
			ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), NULL, NULL,
			    seed ? rng_fn : NULL, &te, &c, &nc), 0);
			/* three groups of one, (UNKNOWN, 1) < (UNKNOWN, 2) < (UNKNOWN, 3) */
			ck_assert_uint_eq(nc, 3);
			ck_assert_ptr_eq(c[0].node, b);
			ck_assert_ptr_eq(c[1].node, a);
			ck_assert_ptr_eq(c[2].node, cc);
			for (size_t i = 0; i < 3; i++) {
				ck_assert(c[i].unknown);
				ck_assert_uint_eq(c[i].from, 0);
				ck_assert_uint_eq(c[i].key, i + 1);
				ck_assert(!c[i].reset);
			}
			free(c);
			test_env_clear(&te);
		}
	}
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

START_TEST(test_D4_sorted_stale_nodes_offer)
{
	struct cc_node_tree		 t = RB_INITIALIZER(&t);
	struct cc_stale_candidate	*c;
	struct cc_node			*n3;
	struct dg			 d;
	size_t				 nc;

	(void)tree_add(&t, 10001);		/* empty */
	PUT(tree_add(&t, 10002), "k1", "v", 1);
	n3 = tree_add(&t, 10003);
	PUT(n3, "k1", "v", 1);
	PUT(n3, "k2", "v", 2);
	PUT(n3, "k3", "v", 3);
	dg_init(&d);
	dg_add(&d, 10001, 0, 1);
	dg_add(&d, 10002, 0, 1);
	dg_add(&d, 10003, 0, 1);
	ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), NULL, NULL, NULL, NULL,
	    &c, &nc), 0);
	ck_assert_uint_eq(nc, 1);
	ck_assert_ptr_eq(c[0].node, n3);
	ck_assert(!c[0].unknown);
	ck_assert_uint_eq(c[0].key, 2);
	ck_assert_uint_eq(c[0].from, 1);
	free(c);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

START_TEST(test_D5_sorted_stale_nodes_into_iter)
{
	struct cc_node_tree		 t = RB_INITIALIZER(&t);
	struct cc_stale_candidate	*c;
	struct cc_node			*n;
	struct dg			 d;
	size_t				 nc;
	struct test_env			 te;
	struct cc_addr			 self = test_addr4(1);
	static const struct {
		uint16_t	port;
		uint64_t	versions[4];
		size_t		nv;
		uint64_t	floor;
	} spec[] = {
		{ 10001, { 1, 2, 3 }, 3, 1 },
		{ 10002, { 1, 2, 5 }, 3, 2 },
		{ 10003, { 1, 2, 3 }, 3, 7 },
		{ 10004, { 1, 2, 5, 7 }, 4, 1 },
		{ 10005, { 0 }, 0, 0 },
		{ 10006, { 1 }, 1, 0 },
	};
	static const uint16_t order[] = { 10006, 10004, 10001, 10002 };
	static const bool unknown[] = { true, false, false, false };
	static const uint64_t keys[] = { 1, 3, 2, 1 };

	dg_init(&d);
	for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		n = tree_add(&t, spec[i].port);
		for (size_t j = 0; j < spec[i].nv; j++) {
			char key[32];

			snprintf(key, sizeof(key), "key%zu", j);
			PUT(n, key, "v", spec[i].versions[j]);
		}
		dg_add(&d, spec[i].port, 0, spec[i].floor);
	}
	for (uint64_t seed = 0; seed < 8; seed++) {
		test_env_init(&te, &self, seed + 1);
		ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), NULL, NULL,
		    seed ? rng_fn : NULL, &te, &c, &nc), 0);
		ck_assert_uint_eq(nc, 4);
		for (size_t i = 0; i < 4; i++) {
			ck_assert_uint_eq(c[i].node->id.addr.port, order[i]);
			ck_assert(c[i].unknown == unknown[i]);
			ck_assert_uint_eq(c[i].key, keys[i]);
		}
		free(c);
		test_env_clear(&te);
	}
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

/* Ties (same class and key) are shuffled; groups never mix (§4.4). */
START_TEST(test_stale_ties_shuffled)
{
	struct cc_node_tree		 t = RB_INITIALIZER(&t);
	struct cc_stale_candidate	*c;
	struct cc_node			*n;
	struct dg			 d;
	size_t				 nc;
	struct test_env			 te;
	struct cc_addr			 self = test_addr4(1);
	unsigned			 first_unknown[2] = { 0, 0 }, first_known[2] = { 0, 0 };

	/* UNKNOWN, max 5: one entry vs five entries -> tie */
	n = tree_add(&t, 10001);
	PUT(n, "a", "v", 5);
	n = tree_add(&t, 10002);
	for (uint64_t v = 1; v <= 5; v++) {
		char key[32];

		snprintf(key, sizeof(key), "k%u", (unsigned)v);
		PUT(n, key, "v", v);
	}
	/* KNOWN, 2 stale entries each, different max_versions -> tie */
	n = tree_add(&t, 10003);
	PUT(n, "a", "v", 1);
	PUT(n, "b", "v", 2);
	PUT(n, "c", "v", 3);
	n = tree_add(&t, 10004);
	PUT(n, "a", "v", 4);
	PUT(n, "b", "v", 8);
	PUT(n, "c", "v", 9);
	/* UNKNOWN, max 6: alone, after the max-5 group */
	PUT(tree_add(&t, 10005), "z", "v", 6);
	dg_init(&d);
	dg_add(&d, 10003, 0, 1);
	dg_add(&d, 10004, 0, 4);
	for (uint64_t seed = 1; seed <= 200; seed++) {
		test_env_init(&te, &self, seed);
		ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), NULL, NULL,
		    rng_fn, &te, &c, &nc), 0);
		ck_assert_uint_eq(nc, 5);
		ck_assert(c[0].unknown && c[0].key == 5);
		ck_assert(c[1].unknown && c[1].key == 5);
		ck_assert(c[2].unknown && c[2].key == 6);
		ck_assert_uint_eq(c[2].node->id.addr.port, 10005);
		ck_assert(!c[3].unknown && c[3].key == 2);
		ck_assert(!c[4].unknown && c[4].key == 2);
		first_unknown[c[0].node->id.addr.port - 10001]++;
		first_known[c[3].node->id.addr.port - 10003]++;
		free(c);
		test_env_clear(&te);
	}
	/* both orders occur in both tie groups (uniform: ~100 each) */
	ck_assert_uint_gt(first_unknown[0], 50);
	ck_assert_uint_gt(first_unknown[1], 50);
	ck_assert_uint_gt(first_known[0], 50);
	ck_assert_uint_gt(first_known[1], 50);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

/* The test cluster state of group D (§10 D). */
static void
test_cluster_state(struct cc_node_tree *t, struct cc_node **n1, struct cc_node **n2)
{
	*n1 = tree_add(t, 10001);
	PUT(*n1, "key_a", "1", 1);
	PUT(*n1, "key_b", "2", 2);
	*n2 = tree_add(t, 10002);
	PUT(*n2, "key_a", "1", 1);
	PUT(*n2, "key_b", "2", 2);
	PUT(*n2, "key_c", "3", 3);
	PUT(*n2, "key_d", "4", 4);
	ck_assert_int_eq(cc_node_delete(*n2, "key_d", 5, cc_mtime(T0)), 1);
	ASSERT_KV(GETV(*n2, "key_d"), "", 5, CC_STATUS_DELETED);
	ck_assert_uint_eq((*n2)->max_version, 5);
}

START_TEST(test_D6_compute_delta_depth_first)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n1, *n2;
	struct cc_delta		 delta;
	struct dg		 d;
	size_t			 len;

	test_cluster_state(&t, &n1, &n2);
	dg_init(&d);
	dg_add(&d, 10001, 0, 1);
	dg_add(&d, 10002, 0, 2);

	len = compute(&t, &d, ACK_MTU, NULL, NULL, &delta, NULL);
	ASSERT_SIZE(len, 91);
	ck_assert_uint_eq(delta.n, 2);
	ASSERT_ND(&delta.nodes[0], 10002, 0, 2, 2, 5);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_c", "3", 3, CC_STATUS_SET);
	ASSERT_KVOP(&delta.nodes[0].kvs[1], "key_d", "", 5, CC_STATUS_DELETED);
	ASSERT_ND(&delta.nodes[1], 10001, 0, 1, 1, 2);
	ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_b", "2", 2, CC_STATUS_SET);
	cc_delta_clear(&delta);

	/* budget sweep */
	for (size_t mtu = 100; mtu <= 200; mtu++) {
		compute(&t, &d, mtu, NULL, NULL, &delta, NULL);
		ck_assert_msg(delta.n == (mtu <= 130 ? 1u : 2u), "mtu %zu: %zu node deltas",
		    mtu, delta.n);
		ASSERT_ND(&delta.nodes[0], 10002, 0, 2, 2, 5);
		ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_c", "3", 3, CC_STATUS_SET);
		ASSERT_KVOP(&delta.nodes[0].kvs[1], "key_d", "", 5, CC_STATUS_DELETED);
		if (mtu >= 131 && mtu <= 150)	/* bare NODE: no KV, max 0 */
			ASSERT_ND(&delta.nodes[1], 10001, 0, 1, 0, 0);
		else if (mtu >= 151) {
			ASSERT_ND(&delta.nodes[1], 10001, 0, 1, 1, 2);
			ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_b", "2", 2, CC_STATUS_SET);
		}
		cc_delta_clear(&delta);
	}
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

START_TEST(test_D7_missing_node_delta)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n1, *n2;
	struct cc_delta		 delta;
	struct dg		 d;
	size_t			 len;

	test_cluster_state(&t, &n1, &n2);
	dg_init(&d);
	dg_add(&d, 10002, 0, 3);

	len = compute(&t, &d, ACK_MTU, NULL, NULL, &delta, NULL);
	ASSERT_SIZE(len, 91);
	ck_assert_uint_eq(delta.n, 2);
	ASSERT_ND(&delta.nodes[0], 10001, 0, 0, 2, 2);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_a", "1", 1, CC_STATUS_SET);
	ASSERT_KVOP(&delta.nodes[0].kvs[1], "key_b", "2", 2, CC_STATUS_SET);
	ASSERT_ND(&delta.nodes[1], 10002, 0, 3, 1, 5);
	/* not upstream's `key_d "4" v4 SET`: the tombstone is what is stored */
	ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_d", "", 5, CC_STATUS_DELETED);
	cc_delta_clear(&delta);

	for (size_t mtu = 100; mtu <= 200; mtu++) {
		compute(&t, &d, mtu, NULL, NULL, &delta, NULL);
		ck_assert_msg(delta.n == (mtu <= 131 ? 1u : 2u), "mtu %zu: %zu node deltas",
		    mtu, delta.n);
		ASSERT_ND(&delta.nodes[0], 10001, 0, 0, 2, 2);
		ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_a", "1", 1, CC_STATUS_SET);
		ASSERT_KVOP(&delta.nodes[0].kvs[1], "key_b", "2", 2, CC_STATUS_SET);
		if (mtu >= 132 && mtu <= 150)
			ASSERT_ND(&delta.nodes[1], 10002, 0, 3, 0, 0);
		else if (mtu >= 151) {
			ASSERT_ND(&delta.nodes[1], 10002, 0, 3, 1, 5);
			ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_d", "", 5, CC_STATUS_DELETED);
		}
		cc_delta_clear(&delta);
	}
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

static bool
skip_node(const struct cc_node *n, void *arg)
{
	return n == arg;
}

START_TEST(test_D8_ignore_scheduled_nodes)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n1, *n2;
	struct cc_delta		 delta;
	struct cc_stale_candidate *c;
	struct dg		 d;
	size_t			 len, nc;

	test_cluster_state(&t, &n1, &n2);
	dg_init(&d);
	len = compute(&t, &d, ACK_MTU, skip_node, n2, &delta, NULL);
	ASSERT_SIZE(len, 68);
	ck_assert_uint_eq(delta.n, 1);
	ASSERT_ND(&delta.nodes[0], 10001, 0, 0, 2, 2);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_a", "1", 1, CC_STATUS_SET);
	ASSERT_KVOP(&delta.nodes[0].kvs[1], "key_b", "2", 2, CC_STATUS_SET);
	cc_delta_clear(&delta);
	/* the smallest budget is enough here */
	compute(&t, &d, 100, skip_node, n2, &delta, NULL);
	ck_assert_uint_eq(delta.n, 1);
	ck_assert_uint_eq(delta.nodes[0].n_kvs, 2);
	cc_delta_clear(&delta);
	ck_assert_int_eq(cc_stale_candidates(&t, dg_index(&d), skip_node, n2, NULL, NULL,
	    &c, &nc), 0);
	ck_assert_uint_eq(nc, 1);
	ck_assert_ptr_eq(c[0].node, n1);
	free(c);
	/* without the exclusion node2 is sent too */
	compute(&t, &d, ACK_MTU, NULL, NULL, &delta, NULL);
	ck_assert_uint_eq(delta.n, 2);
	cc_delta_clear(&delta);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

START_TEST(test_D9_old_node_state_needs_reset)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n1, *n2, *n;
	struct cc_delta		 delta;
	struct dg		 d;
	size_t			 len, resets;
	uint64_t		 now = T0;
	const size_t		 mtu = 65507;
	const uint64_t		 grace = 10000;

	n1 = tree_add(&t, 10001);
	n1->heartbeat = 10000;
	PUT(n1, "key_a", "1", 1);
	PUT(n1, "key_b", "2", 2);
	n2 = tree_add(&t, 10002);
	PUT(n2, "key_c", "3", 2);
	dg_init(&d);
	dg_add(&d, 10001, 0, 1);

	/* 1 */
	len = compute(&t, &d, mtu, NULL, NULL, &delta, &resets);
	ASSERT_SIZE(len, 76);
	ck_assert_uint_eq(resets, 0);
	ck_assert_uint_eq(delta.n, 2);
	ASSERT_ND(&delta.nodes[0], 10002, 0, 0, 1, 2);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_c", "3", 2, CC_STATUS_SET);
	ASSERT_ND(&delta.nodes[1], 10001, 0, 1, 1, 2);
	ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_b", "2", 2, CC_STATUS_SET);
	cc_delta_clear(&delta);

	/* 2 */
	ck_assert_int_eq(cc_node_delete(n1, "key_a", 5, cc_mtime(now)), 1);
	now += 5000;
	RB_FOREACH(n, cc_node_tree, &t)
		ck_assert_uint_eq(cc_node_gc_expired(n, grace, cc_mtime(now)), 0);
	len = compute(&t, &d, mtu, NULL, NULL, &delta, &resets);
	ASSERT_SIZE(len, 90);
	ck_assert_uint_eq(resets, 0);
	ck_assert_uint_eq(delta.n, 2);
	ASSERT_ND(&delta.nodes[0], 10002, 0, 0, 1, 2);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_c", "3", 2, CC_STATUS_SET);
	ASSERT_ND(&delta.nodes[1], 10001, 0, 1, 2, 3);
	ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_b", "2", 2, CC_STATUS_SET);
	ASSERT_KVOP(&delta.nodes[1].kvs[1], "key_a", "", 3, CC_STATUS_DELETED);
	cc_delta_clear(&delta);

	/* 3 */
	now += 10000;
	ck_assert_uint_eq(cc_node_gc_expired(n1, grace, cc_mtime(now)), 1);
	ck_assert_uint_eq(n1->last_gc_version, 3);
	len = compute(&t, &d, mtu, NULL, NULL, &delta, &resets);
	ASSERT_SIZE(len, 75);
	ck_assert_uint_eq(resets, 1);
	ck_assert_uint_eq(delta.n, 2);
	ASSERT_ND(&delta.nodes[0], 10002, 0, 0, 1, 2);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "key_c", "3", 2, CC_STATUS_SET);
	ASSERT_ND(&delta.nodes[1], 10001, 3, 0, 1, 2);	/* a reset */
	ASSERT_KVOP(&delta.nodes[1].kvs[0], "key_b", "2", 2, CC_STATUS_SET);
	cc_delta_clear(&delta);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

/* The reset test is `d_gc < gc && d_max < gc`, both strict (§4.4). */
START_TEST(test_reset_decision_boundaries)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n = tree_add(&t, 10001);
	struct cc_delta		 delta;
	struct dg		 d;
	size_t			 resets;

	PUT(n, "a", "1", 1);
	PUT(n, "b", "2", 7);
	PUT(n, "c", "3", 8);
	n->last_gc_version = 5;

	dg_init(&d);
	dg_add(&d, 10001, 4, 5);		/* d_max == gc: no reset */
	compute(&t, &d, ACK_MTU, NULL, NULL, &delta, &resets);
	ck_assert_uint_eq(resets, 0);
	ck_assert_uint_eq(delta.n, 1);
	ASSERT_ND(&delta.nodes[0], 10001, 5, 5, 2, 8);
	cc_delta_clear(&delta);
	dg_clear(&d);

	dg_add(&d, 10001, 5, 4);		/* d_gc == gc: no reset */
	compute(&t, &d, ACK_MTU, NULL, NULL, &delta, &resets);
	ck_assert_uint_eq(resets, 0);
	ASSERT_ND(&delta.nodes[0], 10001, 5, 4, 2, 8);
	cc_delta_clear(&delta);
	dg_clear(&d);

	dg_add(&d, 10001, 4, 4);		/* both below: reset, every entry */
	compute(&t, &d, ACK_MTU, NULL, NULL, &delta, &resets);
	ck_assert_uint_eq(resets, 1);
	ASSERT_ND(&delta.nodes[0], 10001, 5, 0, 3, 8);
	ASSERT_KVOP(&delta.nodes[0].kvs[0], "a", "1", 1, CC_STATUS_SET);
	cc_delta_clear(&delta);
	dg_clear(&d);

	dg_add(&d, 10001, 0, 9);		/* the peer is ahead: nothing */
	compute(&t, &d, ACK_MTU, NULL, NULL, &delta, &resets);
	ck_assert_uint_eq(delta.n, 0);
	cc_delta_clear(&delta);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

/* max_version above every stored entry (purged tombstones): SET_MAX_VERSION. */
START_TEST(test_set_max_version_when_no_stale_entry)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n = tree_add(&t, 10001);
	struct cc_delta		 delta;
	struct dg		 d;

	PUT(n, "a", "1", 1);
	PUT(n, "b", "2", 2);
	ck_assert_int_eq(cc_node_delete(n, "b", 1, cc_mtime(T0)), 1);	/* v3 */
	ck_assert_uint_eq(cc_node_gc_expired(n, 0, cc_mtime(T0)), 1);
	ck_assert_uint_eq(n->last_gc_version, 3);
	ck_assert_uint_eq(n->max_version, 3);
	dg_init(&d);
	dg_add(&d, 10001, 3, 2);
	compute(&t, &d, ACK_MTU, NULL, NULL, &delta, NULL);
	ck_assert_uint_eq(delta.n, 1);
	ASSERT_ND(&delta.nodes[0], 10001, 3, 2, 0, 3);
	cc_delta_clear(&delta);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

/* [C-CHOICE] §3.4: a budget below 100 gives an empty delta. */
START_TEST(test_budget_below_minimum_empty_delta)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_delta		 delta;
	struct dg		 d;
	struct cc_node		*n1, *n2;
	struct cc_wbuf		 wb;

	test_cluster_state(&t, &n1, &n2);
	dg_init(&d);
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_compute_delta(&t, dg_index(&d), 99, NULL, NULL, NULL, NULL,
	    NULL, &wb, NULL), 0);
	ck_assert_uint_eq(wb.len, 1);
	ck_assert_uint_eq(wb.data[0], 0);
	cc_wbuf_clear(&wb);
	compute(&t, &d, 0, NULL, NULL, &delta, NULL);
	ck_assert_uint_eq(delta.n, 0);
	cc_delta_clear(&delta);
	/* no candidates at all: the empty delta is one byte too */
	dg_add(&d, 10001, 0, 2);
	dg_add(&d, 10002, 0, 5);
	ck_assert_uint_eq(compute(&t, &d, ACK_MTU, NULL, NULL, &delta, NULL), 1);
	ck_assert_uint_eq(delta.n, 0);
	cc_delta_clear(&delta);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

/* ---- group E ------------------------------------------------------------------------- */

static struct cc_kv_op
kvop(const char *k, const char *v, uint64_t version, uint8_t status)
{
	struct cc_kv_op op;

	op.key = (char *)(uintptr_t)k;
	op.key_len = strlen(k);
	op.value = (char *)(uintptr_t)v;
	op.value_len = strlen(v);
	op.version = version;
	op.status = status;
	return op;
}

/* A node delta about n (its id is borrowed). */
static struct cc_node_delta
ndelta(const struct cc_node *n, uint64_t gc, uint64_t from, uint64_t max,
    struct cc_kv_op *kvs, size_t n_kvs)
{
	struct cc_node_delta nd;

	memset(&nd, 0, sizeof(nd));
	nd.id = n->id;
	nd.last_gc_version = gc;
	nd.from_version_excluded = from;
	nd.max_version = max;
	nd.kvs = kvs;
	nd.n_kvs = n_kvs;
	return nd;
}

/*
 * Applies nd, checks that the reported status is the one
 * cc_node_check_delta gives, and the monotonic property of §2.4.
 */
static enum cc_delta_status
apply(struct cc_node *n, const struct cc_node_delta *nd, uint64_t now, bool *reset_out)
{
	enum cc_delta_status	 expected = cc_node_check_delta(n, nd), st;
	uint64_t		 gc0 = n->last_gc_version, max0 = n->max_version;
	bool			 reset;

	ck_assert_int_eq(cc_node_apply_delta(n, nd, cc_mtime(now), &reset, &st), 0);
	ck_assert_int_eq(st, expected);
	ck_assert(reset == (st == CC_DELTA_APPLY_AFTER_RESET));
	ck_assert_msg(n->last_gc_version > gc0 ||
	    (n->last_gc_version == gc0 && n->max_version >= max0),
	    "monotonic property broken: (%llu, %llu) -> (%llu, %llu)",
	    (unsigned long long)gc0, (unsigned long long)max0,
	    (unsigned long long)n->last_gc_version, (unsigned long long)n->max_version);
	if (reset_out != NULL)
		*reset_out = reset;
	return st;
}

static struct cc_node *
test_node(void)
{
	struct cc_id	 id;
	struct cc_node	*n;

	test_id_named(&id, "test-node", 0, 7280);
	n = cc_node_new(&id);
	cc_id_clear(&id);
	ck_assert_ptr_nonnull(n);
	return n;
}

START_TEST(test_E1_apply_delta)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n1 = tree_add(&t, 10001), *n2 = tree_add(&t, 10002);
	struct cc_kv_op		 k1[2], k2[1];
	struct cc_node_delta	 nd1, nd2;
	bool			 reset;

	PUT(n1, "key_a", "1", 1);
	PUT(n1, "key_b", "3", 3);
	PUT(n2, "key_c", "3", 1);
	n2->heartbeat = 7;
	k1[0] = kvop("key_b", "2", 2, CC_STATUS_SET);
	k1[1] = kvop("key_a", "4", 4, CC_STATUS_SET);
	k2[0] = kvop("key_d", "4", 4, CC_STATUS_SET);
	nd1 = ndelta(n1, 0, 0, 4, k1, 2);
	nd2 = ndelta(n2, 3, 0, 4, k2, 1);

	ck_assert_int_eq(apply(n1, &nd1, T0, &reset), CC_DELTA_APPLY);
	ck_assert(!reset);
	ck_assert_int_eq(apply(n2, &nd2, T0, &reset), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert(reset);

	ASSERT_KV(GET(n1, "key_a"), "4", 4, CC_STATUS_SET);
	ASSERT_KV(GET(n1, "key_b"), "3", 3, CC_STATUS_SET);	/* stale v2 ignored */
	ck_assert_uint_eq(n1->max_version, 4);
	ck_assert_uint_eq(cc_node_num_stored(n2), 1);
	ck_assert_ptr_null(GETV(n2, "key_c"));
	ASSERT_KV(GET(n2, "key_d"), "4", 4, CC_STATUS_SET);
	ck_assert_uint_eq(n2->max_version, 4);
	ck_assert_uint_eq(n2->last_gc_version, 3);
	ck_assert_uint_eq(n2->heartbeat, 0);		/* a reset zeroes the heartbeat */
	tree_free(&t);
}
END_TEST

START_TEST(test_E2_apply_delta_simple)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[2];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 1);
	PUT(n, "key_b", "val_b", 2);
	/* not sorted: the receiver does not check */
	k[0] = kvop("key_c", "val_c", 4, CC_STATUS_SET);
	k[1] = kvop("key_b", "val_b2", 3, CC_STATUS_SET);
	nd = ndelta(n, 0, 2, 4, k, 2);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ck_assert_uint_eq(cc_node_num_visible(n), 3);
	ck_assert_uint_eq(n->max_version, 4);
	ck_assert_uint_eq(n->last_gc_version, 0);
	ASSERT_KV(GET(n, "key_a"), "val_a", 1, CC_STATUS_SET);
	ASSERT_KV(GET(n, "key_b"), "val_b2", 3, CC_STATUS_SET);
	ASSERT_KV(GET(n, "key_c"), "val_c", 4, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E3_same_value_different_version)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 1);
	k[0] = kvop("key_a", "val_a", 3, CC_STATUS_SET);
	nd = ndelta(n, 0, 1, 3, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ASSERT_KV(GET(n, "key_a"), "val_a", 3, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 3);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E4_skip_delta_from_the_future)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 5);
	k[0] = kvop("key_a", "new_val", 7, CC_STATUS_SET);
	nd = ndelta(n, 0, 6, 7, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	ASSERT_KV(GET(n, "key_a"), "val_a", 5, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 5);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E5_different_last_gc_ok_below_max)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;
	uint64_t		 now = T0;

	PUT(n, "key_a", "val_a", 17);
	ck_assert_int_eq(cc_node_delete(n, "key_a", 5, cc_mtime(now)), 1);
	ck_assert_uint_eq(GETV(n, "key_a")->version, 18);
	now += 10000;
	ck_assert_uint_eq(cc_node_gc_expired(n, 10000, cc_mtime(now)), 1);
	ck_assert_uint_eq(n->last_gc_version, 18);
	ck_assert_uint_eq(n->max_version, 18);
	ck_assert_int_eq(cc_node_store(n, "key_a", 5, "val_a", 5, 31, CC_STATUS_SET,
	    cc_mtime(now), false), 1);
	k[0] = kvop("key_a", "new_val", 32, CC_STATUS_SET);
	nd = ndelta(n, 30, 31, 32, k, 1);
	ck_assert_int_eq(apply(n, &nd, now, NULL), CC_DELTA_APPLY);
	ASSERT_KV(GET(n, "key_a"), "new_val", 32, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 32);
	ck_assert_uint_eq(n->last_gc_version, 18);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E6_reset_fresher_version)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 17);
	k[0] = kvop("key_b", "val_b", 32, CC_STATUS_SET);
	nd = ndelta(n, 30, 0, 32, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert_ptr_null(GETV(n, "key_a"));
	ASSERT_KV(GET(n, "key_b"), "val_b", 32, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 32);
	ck_assert_uint_eq(n->last_gc_version, 30);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E7_no_reset_if_older_version)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 31);
	PUT(n, "key_b", "val_b2", 32);
	k[0] = kvop("key_b", "val_b", 30, CC_STATUS_SET);
	nd = ndelta(n, 17, 0, 30, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	ck_assert_uint_eq(n->max_version, 32);
	ASSERT_KV(GET(n, "key_b"), "val_b2", 32, CC_STATUS_SET);
	ASSERT_KV(GET(n, "key_a"), "val_a", 31, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E8_reset_monotonic)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 50);
	PUT(n, "key_b", "val_b", 70);
	n->last_gc_version = 50;
	k[0] = kvop("key_c", "val_c", 80, CC_STATUS_SET);
	nd = ndelta(n, 120, 0, 80, k, 1);
	ck_assert_int_eq(cc_node_check_delta(n, &nd), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert_uint_eq(n->last_gc_version, 120);
	ck_assert_uint_eq(n->max_version, 80);
	ck_assert_ptr_null(GETV(n, "key_a"));
	ck_assert_ptr_null(GETV(n, "key_b"));
	ASSERT_KV(GET(n, "key_c"), "val_c", 80, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E9_sender_gc_equals_receiver_max)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "key_a", "val_a", 70);
	n->last_gc_version = 50;
	k[0] = kvop("key_b", "val_b", 100, CC_STATUS_SET);
	nd = ndelta(n, 70, 70, 100, k, 1);
	ck_assert_int_eq(cc_node_check_delta(n, &nd), CC_DELTA_APPLY);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ck_assert_uint_eq(n->max_version, 100);
	ck_assert_uint_eq(n->last_gc_version, 50);
	ASSERT_KV(GET(n, "key_b"), "val_b", 100, CC_STATUS_SET);
	ASSERT_KV(GET(n, "key_a"), "val_a", 70, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

START_TEST(test_E10_last_gc_equal_max_does_not_reset)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;
	bool			 reset = true;

	PUT(n, "key_a", "val_a", 20);
	k[0] = kvop("key_b", "val_b", 18, CC_STATUS_SET);
	nd = ndelta(n, 20, 0, 18, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, &reset), CC_DELTA_REJECT);
	ck_assert(!reset);
	ck_assert_uint_eq(n->max_version, 20);
	ck_assert_uint_eq(n->last_gc_version, 0);
	ASSERT_KV(GET(n, "key_a"), "val_a", 20, CC_STATUS_SET);
	ck_assert_ptr_null(GETV(n, "key_b"));
	cc_node_free(n);
}
END_TEST

/* ---- §4.8 robustness ---------------------------------------------------------------- */

START_TEST(test_robust_duplicate_delta)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[2];
	struct cc_node_delta	 nd;

	k[0] = kvop("a", "1", 1, CC_STATUS_SET);
	k[1] = kvop("b", "2", 2, CC_STATUS_DELETE_AFTER_TTL);
	nd = ndelta(n, 0, 0, 2, k, 2);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ASSERT_KV(GET(n, "b"), "2", 2, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(GET(n, "b")->status_time.ms, T0);
	/* the second copy changes nothing, not even the TTL timestamp */
	ck_assert_int_eq(apply(n, &nd, T0 + 500, NULL), CC_DELTA_REJECT);
	ck_assert_uint_eq(GET(n, "b")->status_time.ms, T0);
	ck_assert_uint_eq(n->max_version, 2);
	ck_assert_uint_eq(cc_node_num_stored(n), 2);
	cc_node_free(n);
}
END_TEST

START_TEST(test_robust_older_after_newer)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 ka[2], kb[2], kold[2];
	struct cc_node_delta	 a, b, old;

	ka[0] = kvop("x", "1", 1, CC_STATUS_SET);
	ka[1] = kvop("y", "1", 2, CC_STATUS_SET);
	kb[0] = kvop("y", "2", 3, CC_STATUS_SET);
	kb[1] = kvop("x", "2", 4, CC_STATUS_SET);
	a = ndelta(n, 0, 0, 2, ka, 2);
	b = ndelta(n, 0, 2, 4, kb, 2);
	ck_assert_int_eq(apply(n, &a, T0, NULL), CC_DELTA_APPLY);
	ck_assert_int_eq(apply(n, &b, T0, NULL), CC_DELTA_APPLY);
	/* a delta built against an older state arrives late */
	kold[0] = kvop("x", "1", 1, CC_STATUS_SET);
	kold[1] = kvop("y", "2", 3, CC_STATUS_SET);
	old = ndelta(n, 0, 0, 3, kold, 2);
	ck_assert_int_eq(apply(n, &old, T0, NULL), CC_DELTA_REJECT);
	ck_assert_int_eq(apply(n, &a, T0, NULL), CC_DELTA_REJECT);
	ASSERT_KV(GET(n, "x"), "2", 4, CC_STATUS_SET);
	ASSERT_KV(GET(n, "y"), "2", 3, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 4);
	cc_node_free(n);
}
END_TEST

START_TEST(test_robust_from_above_max)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	PUT(n, "a", "1", 2);
	k[0] = kvop("b", "x", 5, CC_STATUS_SET);
	nd = ndelta(n, 0, 3, 5, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	ck_assert_ptr_null(GETV(n, "b"));
	ck_assert_uint_eq(n->max_version, 2);
	/* even an incompatible one: from != 0 is never a reset */
	nd = ndelta(n, 50, 3, 5, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	nd = ndelta(n, 50, 1, 5, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	ck_assert_uint_eq(n->last_gc_version, 0);
	ASSERT_KV(GET(n, "a"), "1", 2, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

START_TEST(test_robust_overlapping_delta)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[4];
	struct cc_node_delta	 nd;

	PUT(n, "a", "1", 1);
	PUT(n, "b", "2", 2);
	PUT(n, "c", "3", 3);
	k[0] = kvop("b", "B", 2, CC_STATUS_SET);
	k[1] = kvop("c", "C", 3, CC_STATUS_SET);
	k[2] = kvop("d", "4", 4, CC_STATUS_SET);
	k[3] = kvop("a", "", 5, CC_STATUS_DELETED);
	nd = ndelta(n, 0, 1, 5, k, 4);
	ck_assert_int_eq(apply(n, &nd, T0 + 1, NULL), CC_DELTA_APPLY);
	/* entries in (from, floor] skipped, the rest applied */
	ASSERT_KV(GET(n, "b"), "2", 2, CC_STATUS_SET);
	ASSERT_KV(GET(n, "c"), "3", 3, CC_STATUS_SET);
	ASSERT_KV(GET(n, "d"), "4", 4, CC_STATUS_SET);
	ck_assert_ptr_null(GET(n, "a"));
	ASSERT_KV(GETV(n, "a"), "", 5, CC_STATUS_DELETED);
	ck_assert_uint_eq(GETV(n, "a")->status_time.ms, T0 + 1);	/* local time */
	ck_assert_uint_eq(n->max_version, 5);
	cc_node_free(n);
}
END_TEST

/*
 * Overlap below the floor never resurrects an entry we no longer hold: here
 * "b" was deleted at v4 and the tombstone purged, and a delta built from an
 * older state still carries b v3.
 */
START_TEST(test_robust_overlap_below_floor_no_resurrection)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[2];
	struct cc_node_delta	 nd;

	PUT(n, "a", "1", 1);
	PUT(n, "b", "2", 3);
	ck_assert_int_eq(cc_node_delete(n, "b", 1, cc_mtime(T0)), 1);	/* v4 */
	PUT(n, "c", "3", 5);
	ck_assert_uint_eq(cc_node_gc_expired(n, 0, cc_mtime(T0)), 1);
	ck_assert_uint_eq(n->last_gc_version, 4);
	ck_assert_uint_eq(n->max_version, 5);
	k[0] = kvop("b", "2", 3, CC_STATUS_SET);
	k[1] = kvop("d", "4", 6, CC_STATUS_SET);
	nd = ndelta(n, 0, 2, 6, k, 2);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ck_assert_ptr_null(GETV(n, "b"));
	ASSERT_KV(GET(n, "d"), "4", 6, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 6);
	cc_node_free(n);
}
END_TEST

START_TEST(test_robust_bare_reset_node_delta)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[2];
	struct cc_node_delta	 nd;

	PUT(n, "a", "1", 1);
	PUT(n, "b", "2", 5);
	n->heartbeat = 9;
	/* truncated reset: NODE only, max 0 */
	nd = ndelta(n, 10, 0, 0, NULL, 0);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert_uint_eq(cc_node_num_stored(n), 0);
	ck_assert_uint_eq(n->max_version, 0);
	ck_assert_uint_eq(n->last_gc_version, 10);
	ck_assert_uint_eq(n->heartbeat, 0);
	/* later deltas refill it: compatible through last_gc <= last_gc */
	k[0] = kvop("b", "2", 5, CC_STATUS_SET);
	k[1] = kvop("c", "3", 11, CC_STATUS_SET);
	nd = ndelta(n, 10, 0, 11, k, 2);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ASSERT_KV(GET(n, "b"), "2", 5, CC_STATUS_SET);
	ASSERT_KV(GET(n, "c"), "3", 11, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 11);
	ck_assert_uint_eq(n->last_gc_version, 10);
	cc_node_free(n);
}
END_TEST

/* A bare non-reset node delta (from > 0, or compatible) is rejected. */
START_TEST(test_robust_bare_non_reset_rejected)
{
	struct cc_node		*n = test_node();
	struct cc_node_delta	 nd;

	PUT(n, "a", "1", 3);
	nd = ndelta(n, 0, 2, 0, NULL, 0);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	nd = ndelta(n, 0, 0, 0, NULL, 0);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_REJECT);
	ck_assert_uint_eq(n->max_version, 3);
	ck_assert_ptr_nonnull(GET(n, "a"));
	cc_node_free(n);
}
END_TEST

/* A truncated reset leaves max below last_gc; later deltas fill in. */
START_TEST(test_robust_truncated_reset_then_fill)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k1[1], k2[2];
	struct cc_node_delta	 nd;

	PUT(n, "old", "x", 3);
	k1[0] = kvop("a", "1", 5, CC_STATUS_SET);
	nd = ndelta(n, 20, 0, 5, k1, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert_uint_eq(n->last_gc_version, 20);
	ck_assert_uint_eq(n->max_version, 5);
	k2[0] = kvop("b", "2", 12, CC_STATUS_SET);
	k2[1] = kvop("c", "3", 25, CC_STATUS_SET);
	nd = ndelta(n, 20, 5, 25, k2, 2);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ck_assert_uint_eq(n->max_version, 25);
	ck_assert_uint_eq(cc_node_num_visible(n), 3);
	ck_assert_ptr_null(GETV(n, "old"));
	cc_node_free(n);
}
END_TEST

/* Deletions at or below last_gc_version are not brought back (§4.5). */
START_TEST(test_robust_purged_deletions_skipped)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[4];
	struct cc_node_delta	 nd;

	PUT(n, "z", "z", 2);
	k[0] = kvop("a", "1", 7, CC_STATUS_SET);
	k[1] = kvop("b", "", 8, CC_STATUS_DELETED);
	k[2] = kvop("c", "3", 10, CC_STATUS_DELETE_AFTER_TTL);
	k[3] = kvop("d", "", 11, CC_STATUS_DELETED);
	nd = ndelta(n, 10, 0, 11, k, 4);
	ck_assert_int_eq(apply(n, &nd, T0 + 3, NULL), CC_DELTA_APPLY_AFTER_RESET);
	ASSERT_KV(GET(n, "a"), "1", 7, CC_STATUS_SET);
	ck_assert_ptr_null(GETV(n, "b"));
	ck_assert_ptr_null(GETV(n, "c"));
	ASSERT_KV(GETV(n, "d"), "", 11, CC_STATUS_DELETED);
	ck_assert_uint_eq(GETV(n, "d")->status_time.ms, T0 + 3);
	ck_assert_uint_eq(n->max_version, 11);
	ck_assert_uint_eq(n->last_gc_version, 10);
	cc_node_free(n);
}
END_TEST

/* SET_MAX_VERSION only: max raised even though nothing is stored. */
START_TEST(test_robust_set_max_version_only)
{
	struct cc_node		*n = test_node();
	struct cc_node_delta	 nd;

	PUT(n, "a", "1", 2);
	/* sender gc 2 <= our max 2: compatible */
	nd = ndelta(n, 2, 2, 3, NULL, 0);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	ck_assert_uint_eq(n->max_version, 3);
	ck_assert_uint_eq(n->last_gc_version, 0);
	ck_assert_uint_eq(cc_node_num_stored(n), 1);
	cc_node_free(n);
}
END_TEST

/* A fresh replica (0, 0) gets a reset from a sender with last_gc > 0. */
START_TEST(test_robust_first_delta_fresh_replica)
{
	struct cc_node		*n = test_node();
	struct cc_kv_op		 k[1];
	struct cc_node_delta	 nd;

	k[0] = kvop("a", "1", 30, CC_STATUS_SET);
	nd = ndelta(n, 10, 0, 30, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert_uint_eq(n->max_version, 30);
	ck_assert_uint_eq(n->last_gc_version, 10);
	/* with last_gc 0 on both sides it is an ordinary APPLY */
	cc_node_free(n);
	n = test_node();
	nd = ndelta(n, 0, 0, 30, k, 1);
	ck_assert_int_eq(apply(n, &nd, T0, NULL), CC_DELTA_APPLY);
	cc_node_free(n);
}
END_TEST

/*
 * Engine level: a received ACK applies node deltas to known replicas only
 * (deltas never create nodes) and reports a reset once (§4.5, §6.7).
 */
START_TEST(test_robust_unknown_node_ignored_engine)
{
	struct test_env		 te;
	struct cc_config	 cfg;
	struct cc_id		 self, id1, id9;
	struct cc_engine	*e;
	struct cc_node		*n1;
	struct cc_kv_op		 k1[1], k9[1];
	struct cc_node_delta	 nds[2];
	struct cc_msg		 m;
	struct cc_wbuf		 wb;
	struct cc_addr		 from = test_addr4(10001);
	struct cc_addr		 me = test_addr4(10000);
	uint64_t		 hb;

	test_env_init(&te, &me, 7);
	test_config(&cfg, &self, 10000);
	ck_assert_ptr_nonnull(e = cc_engine_new(&cfg, &te.env));
	test_id(&id1, 10001);
	test_id(&id9, 10099);
	cc_engine_report_heartbeat(e, &id1, 3);
	ck_assert_ptr_nonnull(n1 = cc_engine_node_mut(e, &id1));
	PUT(n1, "old", "x", 2);

	k1[0] = kvop("k", "v", 4, CC_STATUS_SET);
	k9[0] = kvop("k", "v", 1, CC_STATUS_SET);
	memset(nds, 0, sizeof(nds));
	nds[0].id = id1;
	nds[0].last_gc_version = 3;	/* incompatible with (0, 2): reset */
	nds[0].max_version = 4;
	nds[0].kvs = k1;
	nds[0].n_kvs = 1;
	nds[1].id = id9;
	nds[1].max_version = 1;
	nds[1].kvs = k9;
	nds[1].n_kvs = 1;
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_ACK;
	m.delta.nodes = nds;
	m.delta.n = 2;
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, &m, NULL), 0);
	ck_assert_int_eq(wb.err, 0);

	hb = cc_node_heartbeat(cc_engine_self_node(e));
	ck_assert_int_eq(cc_engine_recv(e, &from, wb.data, wb.len), 0);
	ck_assert_uint_eq(cc_node_heartbeat(cc_engine_self_node(e)), hb + 1);
	ck_assert_ptr_null(cc_engine_node(e, &id9));
	ck_assert_uint_eq(cc_engine_num_nodes(e), 2);
	ck_assert_ptr_null(GETV(n1, "old"));
	ASSERT_KV(GET(n1, "k"), "v", 4, CC_STATUS_SET);
	ck_assert_uint_eq(n1->last_gc_version, 3);
	ck_assert_uint_eq(n1->heartbeat, 0);
	ck_assert_uint_eq(te.n_catchup, 1);
	ck_assert_uint_eq(te.n_sent, 0);	/* an ACK gets no reply */

	/* the same datagram again: REJECT, no second catch-up */
	ck_assert_int_eq(cc_engine_recv(e, &from, wb.data, wb.len), 0);
	ck_assert_uint_eq(te.n_catchup, 1);
	ck_assert_ptr_null(cc_engine_node(e, &id9));

	cc_wbuf_clear(&wb);
	cc_id_clear(&id1);
	cc_id_clear(&id9);
	cc_id_clear(&self);
	cc_engine_free(e);
	test_env_clear(&te);
}
END_TEST

/*
 * §2.9 item 3 / §9: a visible key starting with a byte >= 0x80 crashes a
 * Rust peer that stores it. We accept one from the wire but never relay
 * it; the peer's max still catches up (through the other KVs, or through
 * SET_MAX_VERSION when nothing else is stale). Tombstones are harmless and
 * relayed.
 */
START_TEST(test_never_relay_keys_crashing_rust_peers)
{
	struct cc_node_tree	 t = RB_INITIALIZER(&t);
	struct cc_node		*n = tree_add(&t, 10001);
	struct dg		 d;
	struct cc_delta		 out;

	PUT(n, "a", "1", 1);
	PUT(n, "\xc3\xa9t\xc3\xa9", "x", 2);	/* "été" */
	PUT(n, "b", "2", 3);
	PUT(n, "\xc3\xa9", "y", 4);
	dg_init(&d);
	compute(&t, &d, 65506, NULL, NULL, &out, NULL);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(out.nodes[0].n_kvs, 2);
	ck_assert_str_eq(out.nodes[0].kvs[0].key, "a");
	ck_assert_str_eq(out.nodes[0].kvs[1].key, "b");
	ck_assert_uint_eq(out.nodes[0].max_version, 3);
	cc_delta_clear(&out);

	/* the peer now holds max 3: only the unrelayable v4 is stale */
	dg_add(&d, 10001, 0, 3);
	compute(&t, &d, 65506, NULL, NULL, &out, NULL);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_uint_eq(out.nodes[0].n_kvs, 0);
	ck_assert_uint_eq(out.nodes[0].max_version, 4);	/* SET_MAX_VERSION */
	cc_delta_clear(&out);

	/* a tombstone of such a key is relayed */
	ck_assert_int_eq(cc_node_store(n, "\xc3\xa9", 2, "", 0, 5, CC_STATUS_DELETED,
	    cc_mtime(0), false), 1);
	compute(&t, &d, 65506, NULL, NULL, &out, NULL);
	ck_assert_uint_eq(out.nodes[0].n_kvs, 1);
	ck_assert_uint_eq(out.nodes[0].kvs[0].status, CC_STATUS_DELETED);
	ck_assert_uint_eq(out.nodes[0].max_version, 5);
	cc_delta_clear(&out);
	dg_clear(&d);
	tree_free(&t);
}
END_TEST

static Suite *
delta_suite(void)
{
	Suite	*s = suite_create("delta");
	TCase	*tc = tcase_create("catalogue_D");

	tcase_add_test(tc, test_D1_stale_key_values);
	tcase_add_test(tc, test_D2_sorted_stale_nodes_empty);
	tcase_add_test(tc, test_D3_sorted_stale_nodes_insert);
	tcase_add_test(tc, test_D4_sorted_stale_nodes_offer);
	tcase_add_test(tc, test_D5_sorted_stale_nodes_into_iter);
	tcase_add_test(tc, test_D6_compute_delta_depth_first);
	tcase_add_test(tc, test_D7_missing_node_delta);
	tcase_add_test(tc, test_D8_ignore_scheduled_nodes);
	tcase_add_test(tc, test_D9_old_node_state_needs_reset);
	tcase_add_test(tc, test_stale_ties_shuffled);
	tcase_add_test(tc, test_reset_decision_boundaries);
	tcase_add_test(tc, test_set_max_version_when_no_stale_entry);
	tcase_add_test(tc, test_budget_below_minimum_empty_delta);
	tcase_add_test(tc, test_never_relay_keys_crashing_rust_peers);
	suite_add_tcase(s, tc);

	tc = tcase_create("catalogue_E");
	tcase_add_test(tc, test_E1_apply_delta);
	tcase_add_test(tc, test_E2_apply_delta_simple);
	tcase_add_test(tc, test_E3_same_value_different_version);
	tcase_add_test(tc, test_E4_skip_delta_from_the_future);
	tcase_add_test(tc, test_E5_different_last_gc_ok_below_max);
	tcase_add_test(tc, test_E6_reset_fresher_version);
	tcase_add_test(tc, test_E7_no_reset_if_older_version);
	tcase_add_test(tc, test_E8_reset_monotonic);
	tcase_add_test(tc, test_E9_sender_gc_equals_receiver_max);
	tcase_add_test(tc, test_E10_last_gc_equal_max_does_not_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_add_test(tc, test_robust_duplicate_delta);
	tcase_add_test(tc, test_robust_older_after_newer);
	tcase_add_test(tc, test_robust_from_above_max);
	tcase_add_test(tc, test_robust_overlapping_delta);
	tcase_add_test(tc, test_robust_overlap_below_floor_no_resurrection);
	tcase_add_test(tc, test_robust_bare_reset_node_delta);
	tcase_add_test(tc, test_robust_bare_non_reset_rejected);
	tcase_add_test(tc, test_robust_truncated_reset_then_fill);
	tcase_add_test(tc, test_robust_purged_deletions_skipped);
	tcase_add_test(tc, test_robust_set_max_version_only);
	tcase_add_test(tc, test_robust_first_delta_fresh_replica);
	tcase_add_test(tc, test_robust_unknown_node_ignored_engine);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(delta_suite)
