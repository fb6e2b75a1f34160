/*
 * check_node.c: node-state operations (PROTOCOL.md §2.6-§2.9, §6.1-§6.4;
 * catalogue group C).
 *
 * Owner operations are exercised on bare node states (cc_node_*), with the
 * time passed explicitly, and through an engine where the public API is
 * concerned (lookups, digests, key validation).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cc_state.h"
#include "testutil.h"

#define T0	1000000		/* arbitrary origin of the fake clock, ms */

#define SETK(n, k, v, t)	cc_node_set((n), (k), strlen(k), (v), strlen(v), cc_mtime(t))
#define SETTTL(n, k, v, t)	cc_node_set_with_ttl((n), (k), strlen(k), (v), strlen(v), cc_mtime(t))
#define DEL(n, k, t)		cc_node_delete((n), (k), strlen(k), cc_mtime(t))
#define DELTTL(n, k, t)		cc_node_delete_after_ttl((n), (k), strlen(k), cc_mtime(t))
#define PUT(n, k, v, ver)	cc_node_store((n), (k), strlen(k), (v), strlen(v), (ver), \
				    CC_STATUS_SET, cc_mtime(T0), false)
#define GET(n, k)		cc_node_get((n), (k), strlen(k))
#define GETV(n, k)		cc_node_get_versioned((n), (k), strlen(k))

/* Asserts a stored entry's value, version and status. */
#define ASSERT_KV(kvexpr, val, ver, st) do {					\
	const struct cc_kv *kv_ = (kvexpr);					\
	ck_assert_ptr_nonnull(kv_);						\
	ck_assert_uint_eq(kv_->value_len, strlen(val));				\
	ck_assert_int_eq(memcmp(kv_->value, (val), kv_->value_len), 0);		\
	ck_assert_uint_eq(kv_->version, (ver));					\
	ck_assert_int_eq(kv_->status, (st));					\
} while (0)

static struct cc_node *
new_node(uint16_t port)
{
	struct cc_id	 id;
	struct cc_node	*n;

	test_id(&id, port);
	n = cc_node_new(&id);
	cc_id_clear(&id);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(n->heartbeat, 0);
	ck_assert_uint_eq(n->max_version, 0);
	ck_assert_uint_eq(n->last_gc_version, 0);
	return n;
}

/* An engine on id(port) with the for_test config, on a fake env. */
struct fixture {
	struct test_env		 te;
	struct cc_engine	*e;
	struct cc_id		 self;
};

static void
fixture_init(struct fixture *f, uint16_t port)
{
	struct cc_config	cfg;
	struct cc_addr		a = test_addr4(port);

	test_env_init(&f->te, &a, 42);
	test_config(&cfg, &f->self, port);
	f->e = cc_engine_new(&cfg, &f->te.env);
	ck_assert_ptr_nonnull(f->e);
}

static void
fixture_clear(struct fixture *f)
{
	cc_engine_free(f->e);
	cc_id_clear(&f->self);
	test_env_clear(&f->te);
}

/* ---- C1-C10 ----------------------------------------------------------------- */

START_TEST(test_C1_missing_node)
{
	struct fixture	f;
	struct cc_id	other;

	fixture_init(&f, 10001);
	test_id(&other, 10002);
	ck_assert_ptr_null(cc_engine_node(f.e, &other));
	/* self exists, nothing else */
	ck_assert_ptr_nonnull(cc_engine_node(f.e, &f.self));
	ck_assert_uint_eq(cc_engine_num_nodes(f.e), 1);
	cc_id_clear(&other);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_C2_first_version_is_one)
{
	struct cc_node *n = new_node(10001);

	ck_assert_int_eq(SETK(n, "key_a", "", T0), 1);
	ASSERT_KV(GETV(n, "key_a"), "", 1, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 1);
	cc_node_free(n);
}
END_TEST

START_TEST(test_C3_set)
{
	struct cc_node *n = new_node(10001);

	SETK(n, "key_a", "1", T0);
	ASSERT_KV(GET(n, "key_a"), "1", 1, CC_STATUS_SET);
	SETK(n, "key_b", "2", T0);
	ASSERT_KV(GET(n, "key_b"), "2", 2, CC_STATUS_SET);
	ASSERT_KV(GET(n, "key_a"), "1", 1, CC_STATUS_SET);
	SETK(n, "key_a", "3", T0);
	ASSERT_KV(GET(n, "key_a"), "3", 3, CC_STATUS_SET);
	ASSERT_KV(GET(n, "key_b"), "2", 2, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 3);
	cc_node_free(n);
}
END_TEST

START_TEST(test_C4_set_same_value_keeps_version)
{
	struct cc_node *n = new_node(10001);

	ck_assert_int_eq(SETK(n, "key", "1", T0), 1);
	ck_assert_int_eq(SETK(n, "key", "1", T0 + 10), 0);	/* no-op */
	ASSERT_KV(GET(n, "key"), "1", 1, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 1);
	cc_node_free(n);
}
END_TEST

START_TEST(test_C5_set_and_delete)
{
	struct cc_node		*n = new_node(10001);
	const struct cc_kv	*kv;

	SETK(n, "key", "1", T0);
	ck_assert_int_eq(DEL(n, "key", T0 + 7), 1);
	ck_assert_ptr_null(GET(n, "key"));
	kv = GETV(n, "key");
	ASSERT_KV(kv, "", 2, CC_STATUS_DELETED);
	ck_assert_uint_eq(kv->status_time.ms, T0 + 7);	/* the timestamp */
	ck_assert_uint_eq(n->max_version, 2);

	ck_assert_int_eq(SETK(n, "key", "2", T0 + 8), 1);
	ASSERT_KV(GET(n, "key"), "2", 3, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 3);
	cc_node_free(n);
}
END_TEST

START_TEST(test_C6_delete_after_ttl)
{
	struct cc_node		*n = new_node(10001);
	const struct cc_kv	*kv;

	SETK(n, "key", "1", T0);
	ck_assert_int_eq(DELTTL(n, "key", T0 + 5), 1);
	kv = GET(n, "key");		/* still visible */
	ASSERT_KV(kv, "1", 2, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(kv->status_time.ms, T0 + 5);
	ck_assert_uint_eq(cc_node_num_visible(n), 1);

	SETK(n, "key", "2", T0 + 6);
	ASSERT_KV(GET(n, "key"), "2", 3, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

START_TEST(test_C7_set_delete_ttl_variants)
{
	struct cc_node *n = new_node(10001);

	/* set then delete: absent */
	SETK(n, "a", "1", T0);
	DEL(n, "a", T0);
	ck_assert_ptr_null(GET(n, "a"));

	/* set, delete_after_ttl, set of another value: SET */
	SETK(n, "b", "1", T0);
	DELTTL(n, "b", T0);
	ck_assert_int_eq(GET(n, "b")->status, CC_STATUS_DELETE_AFTER_TTL);
	SETK(n, "b", "other", T0);
	ASSERT_KV(GET(n, "b"), "other", 5, CC_STATUS_SET);

	/* set_with_ttl: DELETE_AFTER_TTL, value visible */
	ck_assert_int_eq(SETTTL(n, "c", "v", T0 + 3), 1);
	ASSERT_KV(GET(n, "c"), "v", 6, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(GET(n, "c")->status_time.ms, T0 + 3);
	cc_node_free(n);
}
END_TEST

/* C8 through an engine: the digest of a SYN it sends (§4.3). */
START_TEST(test_C8_compute_digest)
{
	struct fixture		 f;
	struct cc_id		 id1, id2;
	struct cc_node		*n1, *n2;
	struct test_dgram	 d;
	struct cc_msg		 m;
	struct cc_addr		 peer = test_addr4(20000);

	fixture_init(&f, 10000);
	test_id(&id1, 10001);
	test_id(&id2, 10002);
	/* replicas with heartbeat 0 (a first heartbeat value is only stored) */
	cc_engine_report_heartbeat(f.e, &id1, 0);
	cc_engine_report_heartbeat(f.e, &id2, 0);
	n1 = cc_engine_node_mut(f.e, &id1);
	n2 = cc_engine_node_mut(f.e, &id2);
	ck_assert_ptr_nonnull(n1);
	ck_assert_ptr_nonnull(n2);
	SETK(n1, "key_a", "", T0);
	n2->last_gc_version = 10;
	SETK(n2, "key_a", "", T0);
	SETK(n2, "key_b", "", T0);
	ck_assert_uint_eq(n1->max_version, 1);
	ck_assert_uint_eq(n2->max_version, 2);

	ck_assert_int_eq(cc_engine_gossip(f.e, &peer), 0);
	ck_assert(test_env_pop(&f.te, &d));
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(cc_msg_decode(d.buf, d.len, &m, NULL, NULL), 0);
	ck_assert_uint_eq(m.type, CC_MSG_SYN);
	ck_assert_uint_eq(m.digest.n, 3);
	/* ChitchatId order: self (node-10000, heartbeat 1), then the replicas */
	ck_assert(cc_id_is_equal(&m.digest.entries[0].id, &f.self));
	ck_assert_uint_eq(m.digest.entries[0].heartbeat, 1);
	ck_assert_uint_eq(m.digest.entries[0].last_gc_version, 0);
	ck_assert_uint_eq(m.digest.entries[0].max_version, 0);
	ck_assert(cc_id_is_equal(&m.digest.entries[1].id, &id1));
	ck_assert_uint_eq(m.digest.entries[1].heartbeat, 0);
	ck_assert_uint_eq(m.digest.entries[1].last_gc_version, 0);
	ck_assert_uint_eq(m.digest.entries[1].max_version, 1);
	ck_assert(cc_id_is_equal(&m.digest.entries[2].id, &id2));
	ck_assert_uint_eq(m.digest.entries[2].heartbeat, 0);
	ck_assert_uint_eq(m.digest.entries[2].last_gc_version, 10);
	ck_assert_uint_eq(m.digest.entries[2].max_version, 2);
	cc_msg_clear(&m);
	test_dgram_free(&d);
	cc_id_clear(&id1);
	cc_id_clear(&id2);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_C9_gc_keys_marked_for_deletion)
{
	struct cc_node	*n = new_node(10001);
	const uint64_t	 grace = 10000;

	SETK(n, "key_a", "1", T0);		/* v1 */
	DEL(n, "key_a", T0);			/* v2 */
	cc_node_store(n, "key_b", 5, "3", 1, 13, CC_STATUS_SET, cc_mtime(T0 + 5000), false);
	ck_assert_uint_eq(cc_node_gc_expired(n, grace, cc_mtime(T0 + 5000)), 0);
	ck_assert_ptr_nonnull(GETV(n, "key_a"));
	ck_assert_ptr_nonnull(GETV(n, "key_b"));
	ck_assert_uint_eq(n->last_gc_version, 0);
	/* one millisecond before the boundary: still kept */
	ck_assert_uint_eq(cc_node_gc_expired(n, grace, cc_mtime(T0 + 9999)), 0);
	ck_assert_ptr_nonnull(GETV(n, "key_a"));
	/* the boundary itself counts as expired */
	ck_assert_uint_eq(cc_node_gc_expired(n, grace, cc_mtime(T0 + 10000)), 1);
	ck_assert_ptr_null(GETV(n, "key_a"));
	ASSERT_KV(GETV(n, "key_b"), "3", 13, CC_STATUS_SET);
	ck_assert_uint_eq(n->last_gc_version, 2);
	ck_assert_uint_eq(n->max_version, 13);	/* GC leaves max_version alone */
	cc_node_free(n);
}
END_TEST

static const char *const europe_keys[] = {
	"Europe", "Europe:", "Europe:UK", "Asia:Japan", "Europe:Italy",
	"Africa:Uganda", "Oceania",
};

static struct cc_node *
europe_node(void)
{
	struct cc_node *n = new_node(10001);

	for (size_t i = 0; i < sizeof(europe_keys) / sizeof(europe_keys[0]); i++)
		SETK(n, europe_keys[i], "", T0);
	DEL(n, "Europe:UK", T0);
	return n;
}

/* Collects prefix matches as "k1,k2,..." */
static void
collect_prefix(const struct cc_node *n, const char *prefix, bool include_deleted,
    char *buf, size_t len)
{
	const struct cc_kv *kv;

	buf[0] = '\0';
	for (kv = cc_node_prefix_first(n, prefix, strlen(prefix), include_deleted);
	    kv != NULL;
	    kv = cc_node_prefix_next(n, kv, prefix, strlen(prefix), include_deleted)) {
		if (buf[0] != '\0')
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, kv->key, len - strlen(buf) - 1);
	}
}

START_TEST(test_C10_iter_prefix)
{
	struct cc_node	*n = europe_node();
	char		 buf[256];

	collect_prefix(n, "Europe:", false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Europe:,Europe:Italy");
	cc_node_free(n);
}
END_TEST

/* ---- §6.1 reads beyond C10 ---------------------------------------------------- */

START_TEST(test_prefix_iteration_variants)
{
	struct cc_node	*n = europe_node();
	char		 buf[256];

	collect_prefix(n, "Europe:", true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Europe:,Europe:Italy,Europe:UK");
	collect_prefix(n, "Europe", false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Europe,Europe:,Europe:Italy");
	/* the empty prefix: every visible entry, ordered by key bytes */
	collect_prefix(n, "", false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Africa:Uganda,Asia:Japan,Europe,Europe:,Europe:Italy,Oceania");
	collect_prefix(n, "", true, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "Africa:Uganda,Asia:Japan,Europe,Europe:,Europe:Italy,Europe:UK,Oceania");
	collect_prefix(n, "Europe:UK", false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	collect_prefix(n, "Europe:UK", true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "Europe:UK");
	collect_prefix(n, "Zz", true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	collect_prefix(n, "Oceania:", true, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(cc_node_num_visible(n), 6);
	ck_assert_uint_eq(cc_node_num_stored(n), 7);
	cc_node_free(n);
}
END_TEST

START_TEST(test_prefix_byte_order)
{
	struct cc_node	*n = new_node(10001);
	char		 buf[256];

	/* byte order: uppercase before lowercase, a prefix before its extensions */
	SETK(n, "ab", "", T0);
	SETK(n, "a", "", T0);
	SETK(n, "B", "", T0);
	SETK(n, "a\x7f", "", T0);
	SETK(n, "a b", "", T0);
	collect_prefix(n, "", false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "B,a,a b,ab,a\x7f");
	collect_prefix(n, "a", false, buf, sizeof(buf));
	ck_assert_str_eq(buf, "a,a b,ab,a\x7f");
	cc_node_free(n);
}
END_TEST

START_TEST(test_reads_visibility)
{
	struct cc_node *n = new_node(10001);

	SETK(n, "set", "1", T0);
	SETK(n, "ttl", "2", T0);
	DELTTL(n, "ttl", T0);
	SETK(n, "del", "3", T0);
	DEL(n, "del", T0);
	/* get/contains: SET and DELETE_AFTER_TTL visible, tombstones not */
	ck_assert_ptr_nonnull(GET(n, "set"));
	ck_assert_ptr_nonnull(GET(n, "ttl"));
	ck_assert_ptr_null(GET(n, "del"));
	ck_assert_ptr_null(GET(n, "absent"));
	/* get_versioned returns the tombstone */
	ASSERT_KV(GETV(n, "del"), "", 5, CC_STATUS_DELETED);
	ck_assert_ptr_null(GETV(n, "absent"));
	ck_assert_uint_eq(cc_node_num_visible(n), 2);
	ck_assert_uint_eq(cc_node_num_stored(n), 3);
	ck_assert_uint_eq(cc_node_max_version(n), 5);
	ck_assert_uint_eq(cc_node_last_gc_version(n), 0);
	ck_assert_uint_eq(cc_node_heartbeat(n), 0);
	cc_node_free(n);
}
END_TEST

/* ---- §2.6 rules not in the catalogue ----------------------------------------- */

START_TEST(test_delete_absent_is_noop)
{
	struct cc_node *n = new_node(10001);

	SETK(n, "a", "1", T0);
	ck_assert_int_eq(DEL(n, "b", T0), 0);
	ck_assert_int_eq(DELTTL(n, "b", T0), 0);
	ck_assert_uint_eq(n->max_version, 1);
	ck_assert_ptr_null(GETV(n, "b"));
	ck_assert_uint_eq(cc_node_num_stored(n), 1);
	cc_node_free(n);
}
END_TEST

START_TEST(test_delete_absent_engine_enoent)
{
	struct fixture f;

	fixture_init(&f, 10001);
	errno = 0;
	ck_assert_int_eq(cc_engine_delete(f.e, "nope", 4), -1);
	ck_assert_int_eq(errno, ENOENT);
	errno = 0;
	ck_assert_int_eq(cc_engine_delete_after_ttl(f.e, "nope", 4), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_uint_eq(cc_node_max_version(cc_engine_self_node(f.e)), 0);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(f.e)), 0);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_delete_tombstone_bumps_version)
{
	struct cc_node		*n = new_node(10001);
	const struct cc_kv	*kv;

	SETK(n, "k", "v", T0);
	DEL(n, "k", T0 + 1);
	ck_assert_int_eq(DEL(n, "k", T0 + 50), 1);
	kv = GETV(n, "k");
	ASSERT_KV(kv, "", 3, CC_STATUS_DELETED);
	ck_assert_uint_eq(kv->status_time.ms, T0 + 50);	/* timestamp restarted */
	ck_assert_uint_eq(n->max_version, 3);
	cc_node_free(n);
}
END_TEST

START_TEST(test_set_with_ttl_noop_rule)
{
	struct cc_node *n = new_node(10001);

	ck_assert_int_eq(SETTTL(n, "k", "v", T0), 1);
	ASSERT_KV(GET(n, "k"), "v", 1, CC_STATUS_DELETE_AFTER_TTL);
	/* same value, same status: nothing, not even the timestamp */
	ck_assert_int_eq(SETTTL(n, "k", "v", T0 + 10), 0);
	ASSERT_KV(GET(n, "k"), "v", 1, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(GET(n, "k")->status_time.ms, T0);
	ck_assert_uint_eq(n->max_version, 1);
	/* another value: new version */
	ck_assert_int_eq(SETTTL(n, "k", "w", T0 + 20), 1);
	ASSERT_KV(GET(n, "k"), "w", 2, CC_STATUS_DELETE_AFTER_TTL);
	/* set with the same value on a TTL entry: new version, SET (cancels the TTL) */
	ck_assert_int_eq(SETK(n, "k", "w", T0 + 30), 1);
	ASSERT_KV(GET(n, "k"), "w", 3, CC_STATUS_SET);
	/* set_with_ttl with the same value on a SET entry: status differs */
	ck_assert_int_eq(SETTTL(n, "k", "w", T0 + 40), 1);
	ASSERT_KV(GET(n, "k"), "w", 4, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(GET(n, "k")->status_time.ms, T0 + 40);
	cc_node_free(n);
}
END_TEST

START_TEST(test_set_on_tombstone_new_version)
{
	struct cc_node *n = new_node(10001);

	SETK(n, "k", "", T0);
	DEL(n, "k", T0);
	/* the tombstone's value is "" too, but its status differs */
	ck_assert_int_eq(SETK(n, "k", "", T0), 1);
	ASSERT_KV(GET(n, "k"), "", 3, CC_STATUS_SET);
	DEL(n, "k", T0);
	ck_assert_int_eq(SETTTL(n, "k", "", T0), 1);
	ASSERT_KV(GET(n, "k"), "", 5, CC_STATUS_DELETE_AFTER_TTL);
	cc_node_free(n);
}
END_TEST

START_TEST(test_delete_after_ttl_on_tombstone_quirk)
{
	struct cc_node		*n = new_node(10001);
	const struct cc_kv	*kv;

	SETK(n, "k", "value", T0);
	DEL(n, "k", T0);
	ck_assert_ptr_null(GET(n, "k"));
	/* [RUST QUIRK] the tombstone becomes visible again, with value "" */
	ck_assert_int_eq(DELTTL(n, "k", T0 + 9), 1);
	kv = GET(n, "k");
	ASSERT_KV(kv, "", 3, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(kv->status_time.ms, T0 + 9);
	ck_assert_uint_eq(cc_node_num_visible(n), 1);
	cc_node_free(n);
}
END_TEST

START_TEST(test_delete_after_ttl_twice_bumps_version)
{
	struct cc_node		*n = new_node(10001);
	const struct cc_kv	*kv;

	SETK(n, "k", "value", T0);
	DELTTL(n, "k", T0 + 1);
	ck_assert_int_eq(DELTTL(n, "k", T0 + 2), 1);
	kv = GET(n, "k");
	ASSERT_KV(kv, "value", 3, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(kv->status_time.ms, T0 + 2);
	cc_node_free(n);
}
END_TEST

START_TEST(test_ttl_entry_gc)
{
	struct cc_node *n = new_node(10001);

	SETTTL(n, "a", "1", T0);	/* v1 */
	SETK(n, "b", "2", T0);		/* v2 */
	SETK(n, "c", "3", T0);		/* v3 */
	DELTTL(n, "c", T0 + 100);	/* v4 */
	ck_assert_uint_eq(cc_node_gc_expired(n, 1000, cc_mtime(T0 + 999)), 0);
	ck_assert_ptr_nonnull(GET(n, "a"));
	/* TTL entries disappear without a tombstone, each on its own clock */
	ck_assert_uint_eq(cc_node_gc_expired(n, 1000, cc_mtime(T0 + 1000)), 1);
	ck_assert_ptr_null(GETV(n, "a"));
	ck_assert_uint_eq(n->last_gc_version, 1);
	ck_assert_ptr_nonnull(GET(n, "c"));
	ck_assert_uint_eq(cc_node_gc_expired(n, 1000, cc_mtime(T0 + 1100)), 1);
	ck_assert_ptr_null(GETV(n, "c"));
	ck_assert_uint_eq(n->last_gc_version, 4);
	ASSERT_KV(GET(n, "b"), "2", 2, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 4);
	cc_node_free(n);
}
END_TEST

/* Entry GC runs on every node state, replicas included (§6.4). */
START_TEST(test_gc_entries_all_nodes)
{
	struct fixture	 f;
	struct cc_id	 id;
	struct cc_node	*r;
	const struct cc_node *self;
	const uint64_t	 grace = 10000ULL * 1000;	/* for_test */

	fixture_init(&f, 10001);
	self = cc_engine_self_node(f.e);
	test_id(&id, 10002);
	cc_engine_report_heartbeat(f.e, &id, 1);
	ck_assert_ptr_nonnull(r = cc_engine_node_mut(f.e, &id));
	cc_node_store(r, "x", 1, "", 0, 4, CC_STATUS_DELETED, cc_mtime(f.te.now_ms), false);
	cc_node_store(r, "y", 1, "v", 1, 6, CC_STATUS_DELETE_AFTER_TTL,
	    cc_mtime(f.te.now_ms + 1), false);
	cc_engine_set(f.e, "k", 1, "v", 1);
	cc_engine_delete(f.e, "k", 1);
	f.te.now_ms += grace;
	cc_engine_gc_entries(f.e);
	ck_assert_ptr_null(GETV(r, "x"));
	ck_assert_ptr_nonnull(GET(r, "y"));	/* one millisecond to go */
	ck_assert_uint_eq(r->last_gc_version, 4);
	ck_assert_ptr_null(GETV(self, "k"));
	ck_assert_uint_eq(cc_node_last_gc_version(self), 2);
	ck_assert_uint_eq(cc_node_max_version(self), 2);
	f.te.now_ms += 1;
	cc_engine_gc_entries(f.e);
	ck_assert_ptr_null(GETV(r, "y"));
	ck_assert_uint_eq(r->last_gc_version, 6);
	ck_assert_uint_eq(r->max_version, 6);
	cc_id_clear(&id);
	fixture_clear(&f);
}
END_TEST

/* The store primitive (§2.7). */
START_TEST(test_store_primitive)
{
	struct cc_node *n = new_node(10001);

	ck_assert_int_eq(cc_node_store(n, "k", 1, "a", 1, 5, CC_STATUS_SET, cc_mtime(T0), false), 1);
	/* older or equal: ignored, but max_version still raised to the max */
	ck_assert_int_eq(cc_node_store(n, "k", 1, "b", 1, 5, CC_STATUS_SET, cc_mtime(T0), false), 0);
	ck_assert_int_eq(cc_node_store(n, "k", 1, "c", 1, 3, CC_STATUS_SET, cc_mtime(T0), false), 0);
	ASSERT_KV(GET(n, "k"), "a", 5, CC_STATUS_SET);
	ck_assert_uint_eq(n->max_version, 5);
	ck_assert_int_eq(cc_node_store(n, "k", 1, "d", 1, 9, CC_STATUS_DELETED, cc_mtime(T0 + 3), false), 1);
	ASSERT_KV(GETV(n, "k"), "d", 9, CC_STATUS_DELETED);
	ck_assert_uint_eq(GETV(n, "k")->status_time.ms, T0 + 3);
	ck_assert_uint_eq(n->max_version, 9);
	/* a lower version of another key: stored, max unchanged */
	ck_assert_int_eq(cc_node_store(n, "j", 1, "x", 1, 2, CC_STATUS_SET, cc_mtime(T0), false), 1);
	ck_assert_uint_eq(n->max_version, 9);
	/* owner ops continue after the max */
	SETK(n, "z", "z", T0);
	ASSERT_KV(GET(n, "z"), "z", 10, CC_STATUS_SET);
	cc_node_free(n);
}
END_TEST

/* ---- §2.9 key and value rules ------------------------------------------------- */

START_TEST(test_kv_is_valid)
{
	static char	 big[CC_MAX_KV_OP + 8];
	const char	*why;

	memset(big, 'x', sizeof(big));
	ck_assert(cc_kv_is_valid("key", 3, "value", 5, NULL));
	ck_assert(cc_kv_is_valid("", 0, "", 0, NULL));
	/* non-ASCII after the first byte, and in values, is fine */
	ck_assert(cc_kv_is_valid("a\xc3\xa9", 3, "\xc3\xa9t\xc3\xa9", 5, NULL));
	ck_assert(cc_kv_is_valid("k", 1, "\xf0\x9f\x98\x80", 4, NULL));
	/* invalid UTF-8 in the key */
	why = NULL;
	ck_assert(!cc_kv_is_valid("a\xff", 2, "v", 1, &why));
	ck_assert_ptr_nonnull(why);
	ck_assert(!cc_kv_is_valid("a\xc3", 2, "v", 1, NULL));		/* truncated */
	ck_assert(!cc_kv_is_valid("a\xc0\xaf", 3, "v", 1, NULL));	/* overlong */
	ck_assert(!cc_kv_is_valid("a\xed\xa0\x80", 4, "v", 1, NULL));	/* surrogate */
	ck_assert(!cc_kv_is_valid("a\xf4\x90\x80\x80", 5, "v", 1, NULL)); /* > U+10FFFF */
	/* invalid UTF-8 in the value */
	ck_assert(!cc_kv_is_valid("k", 1, "\x80", 1, NULL));
	ck_assert(!cc_kv_is_valid("k", 1, "ab\xe2\x82", 4, NULL));
	/* first byte >= 0x80, even as valid UTF-8 */
	why = NULL;
	ck_assert(!cc_kv_is_valid("\xc3\xa9" "a", 3, "v", 1, &why));
	ck_assert_ptr_nonnull(why);
	ck_assert(!cc_kv_is_valid("\xf0\x9f\x98\x80", 4, "", 0, NULL));
	/* a NUL byte is valid UTF-8 */
	ck_assert(cc_kv_is_valid("a\0b", 3, "\0", 1, NULL));
	/* size: 14 + k + v <= 16384 */
	ck_assert(cc_kv_is_valid(big, 100, big, CC_MAX_KV_OP - 14 - 100, NULL));
	ck_assert(!cc_kv_is_valid(big, 100, big, CC_MAX_KV_OP - 14 - 99, NULL));
	ck_assert(cc_kv_is_valid(big, CC_MAX_KV_OP - 14, "", 0, NULL));
	ck_assert(!cc_kv_is_valid(big, CC_MAX_KV_OP - 13, "", 0, NULL));
	ck_assert(cc_kv_is_valid("", 0, big, CC_MAX_KV_OP - 14, NULL));
	why = NULL;
	ck_assert(!cc_kv_is_valid("", 0, big, CC_MAX_KV_OP - 13, &why));
	ck_assert_ptr_nonnull(why);
	ck_assert(!cc_kv_is_valid(big, sizeof(big), "", 0, NULL));
}
END_TEST

START_TEST(test_engine_set_rejects_invalid)
{
	static char		 big[CC_MAX_KV_OP];
	struct fixture		 f;
	const struct cc_node	*self;

	memset(big, 'y', sizeof(big));
	fixture_init(&f, 10001);
	self = cc_engine_self_node(f.e);

#define REJECT(call) do { errno = 0; ck_assert_int_eq((call), -1);		\
	ck_assert_int_eq(errno, EINVAL); } while (0)
	REJECT(cc_engine_set(f.e, "a\xff", 2, "v", 1));
	REJECT(cc_engine_set(f.e, "k", 1, "\xc3(", 2));
	REJECT(cc_engine_set(f.e, "\xc3\xa9", 2, "v", 1));
	REJECT(cc_engine_set(f.e, "\x80", 1, "v", 1));
	REJECT(cc_engine_set(f.e, big, 10, big, CC_MAX_KV_OP - 14 - 9));
	REJECT(cc_engine_set_with_ttl(f.e, "a\xff", 2, "v", 1));
	REJECT(cc_engine_set_with_ttl(f.e, "\xc3\xa9", 2, "v", 1));
	REJECT(cc_engine_set_with_ttl(f.e, "k", 1, big, CC_MAX_KV_OP - 14));
#undef REJECT
	ck_assert_uint_eq(cc_node_max_version(self), 0);
	ck_assert_uint_eq(cc_node_num_stored(self), 0);

	/* the largest accepted pair, and non-ASCII past the first byte */
	ck_assert_int_eq(cc_engine_set(f.e, big, 10, big, CC_MAX_KV_OP - 14 - 10), 0);
	ck_assert_int_eq(cc_engine_set(f.e, "a\xc3\xa9", 3, "\xc3\xa9", 2), 0);
	ck_assert_int_eq(cc_engine_set_with_ttl(f.e, "t", 1, "", 0), 0);
	ck_assert_uint_eq(cc_node_max_version(self), 3);
	ASSERT_KV(cc_node_get(self, "a\xc3\xa9", 3), "\xc3\xa9", 2, CC_STATUS_SET);
	ASSERT_KV(cc_node_get(self, "t", 1), "", 3, CC_STATUS_DELETE_AFTER_TTL);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_engine_owner_ops)
{
	struct fixture		 f;
	const struct cc_node	*self;

	fixture_init(&f, 10001);
	self = cc_engine_self_node(f.e);
	ck_assert_uint_eq(cc_node_heartbeat(self), 1);	/* §2.8: set to 1 at creation */
	ck_assert_int_eq(cc_engine_set(f.e, "k", 1, "v", 1), 0);
	ck_assert_int_eq(cc_engine_set(f.e, "k", 1, "v", 1), 0);	/* no-op */
	ck_assert_uint_eq(cc_node_max_version(self), 1);
	f.te.now_ms += 123;
	ck_assert_int_eq(cc_engine_delete(f.e, "k", 1), 0);
	ASSERT_KV(cc_node_get_versioned(self, "k", 1), "", 2, CC_STATUS_DELETED);
	ck_assert_uint_eq(cc_node_get_versioned(self, "k", 1)->status_time.ms, f.te.now_ms);
	ck_assert_int_eq(cc_engine_delete_after_ttl(f.e, "k", 1), 0);
	ASSERT_KV(cc_node_get(self, "k", 1), "", 3, CC_STATUS_DELETE_AFTER_TTL);
	fixture_clear(&f);
}
END_TEST

static Suite *
node_suite(void)
{
	Suite	*s = suite_create("node");
	TCase	*tc = tcase_create("catalogue_C");

	tcase_add_test(tc, test_C1_missing_node);
	tcase_add_test(tc, test_C2_first_version_is_one);
	tcase_add_test(tc, test_C3_set);
	tcase_add_test(tc, test_C4_set_same_value_keeps_version);
	tcase_add_test(tc, test_C5_set_and_delete);
	tcase_add_test(tc, test_C6_delete_after_ttl);
	tcase_add_test(tc, test_C7_set_delete_ttl_variants);
	tcase_add_test(tc, test_C8_compute_digest);
	tcase_add_test(tc, test_C9_gc_keys_marked_for_deletion);
	tcase_add_test(tc, test_C10_iter_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, test_prefix_iteration_variants);
	tcase_add_test(tc, test_prefix_byte_order);
	tcase_add_test(tc, test_reads_visibility);
	tcase_add_test(tc, test_delete_absent_is_noop);
	tcase_add_test(tc, test_delete_absent_engine_enoent);
	tcase_add_test(tc, test_delete_tombstone_bumps_version);
	tcase_add_test(tc, test_set_with_ttl_noop_rule);
	tcase_add_test(tc, test_set_on_tombstone_new_version);
	tcase_add_test(tc, test_delete_after_ttl_on_tombstone_quirk);
	tcase_add_test(tc, test_delete_after_ttl_twice_bumps_version);
	tcase_add_test(tc, test_ttl_entry_gc);
	tcase_add_test(tc, test_gc_entries_all_nodes);
	tcase_add_test(tc, test_store_primitive);
	tcase_add_test(tc, test_kv_is_valid);
	tcase_add_test(tc, test_engine_set_rejects_invalid);
	tcase_add_test(tc, test_engine_owner_ops);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(node_suite)
