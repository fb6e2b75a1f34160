/*
 * check_listen.c: key-change listeners (PROTOCOL.md §6.6; catalogue group
 * H) on the registry itself and through an engine, and the engine's event
 * rules: which writes notify listeners, and CC_EVENT_KV for every written
 * entry.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cc_state.h"
#include "testutil.h"

#define S(str)	(str), strlen(str)

/* ---- a recording listener -------------------------------------------------------- */

struct rec {
	const char	*name;		/* for the shared call log */
	unsigned	 count;
	char		 key[128];
	char		 value[128];
	struct cc_id	 owner;		/* copy of the last owner */
	bool		 has_owner;
	enum cc_status	 status;
	uint64_t	 version;
};

static char call_log[512];

static void
rec_cb(void *arg, const char *key, size_t key_len, const char *value,
    size_t value_len, const struct cc_id *owner, const struct cc_kv *kv)
{
	struct rec *r = arg;

	r->count++;
	ck_assert_uint_lt(key_len, sizeof(r->key));
	ck_assert_uint_lt(value_len, sizeof(r->value));
	memcpy(r->key, key, key_len);
	r->key[key_len] = '\0';
	memcpy(r->value, value, value_len);
	r->value[value_len] = '\0';
	if (r->has_owner)
		cc_id_clear(&r->owner);
	ck_assert_int_eq(cc_id_copy(&r->owner, owner), 0);
	r->has_owner = true;
	r->status = kv->status;
	r->version = kv->version;
	if (r->name != NULL) {
		strncat(call_log, r->name, sizeof(call_log) - strlen(call_log) - 1);
		strncat(call_log, ";", sizeof(call_log) - strlen(call_log) - 1);
	}
}

static void
rec_clear(struct rec *r)
{
	if (r->has_owner)
		cc_id_clear(&r->owner);
	r->has_owner = false;
}

static struct cc_kv
mkkv(const char *key, const char *value)
{
	struct cc_kv kv;

	memset(&kv, 0, sizeof(kv));
	kv.key = key;
	kv.key_len = strlen(key);
	kv.value = value;
	kv.value_len = strlen(value);
	kv.version = 1;
	kv.status = CC_STATUS_SET;
	return kv;
}

/* ---- engine fixture with a KV-event recorder -------------------------------------- */

struct kv_events {
	unsigned	n;
	unsigned	n_local;
	unsigned	by_status[3];
	char		last_key[64];
	bool		last_local;
	enum cc_status	last_status;
};

static void
on_event(struct test_env *te, const struct cc_event *ev)
{
	struct kv_events *k = te->user;

	if (ev->type != CC_EVENT_KV || k == NULL)
		return;
	ck_assert_ptr_nonnull(ev->kv);
	ck_assert_ptr_nonnull(ev->node);
	k->n++;
	if (ev->local)
		k->n_local++;
	k->by_status[ev->kv->status]++;
	snprintf(k->last_key, sizeof(k->last_key), "%.*s", (int)ev->kv->key_len, ev->kv->key);
	k->last_local = ev->local;
	k->last_status = ev->kv->status;
}

struct fixture {
	struct test_env		 te;
	struct cc_engine	*e;
	struct cc_id		 self;
	struct kv_events	 kv;
};

static void
fixture_init(struct fixture *f, uint16_t port)
{
	struct cc_config	cfg;
	struct cc_addr		a = test_addr4(port);

	memset(f, 0, sizeof(*f));
	test_env_init(&f->te, &a, port);
	f->te.on_event = on_event;
	f->te.user = &f->kv;
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

/* A replica of id(port) on f's engine, created as a digest would. */
static struct cc_node *
replica(struct fixture *f, struct cc_id *id, uint16_t port)
{
	struct cc_node *n;

	test_id(id, port);
	cc_engine_report_heartbeat(f->e, id, 1);
	n = cc_engine_node_mut(f->e, id);
	ck_assert_ptr_nonnull(n);
	return n;
}

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

static enum cc_delta_status
apply(struct fixture *f, struct cc_node *n, uint64_t gc, uint64_t from, uint64_t max,
    struct cc_kv_op *kvs, size_t n_kvs, bool *reset_out)
{
	struct cc_node_delta	nd;
	enum cc_delta_status	st;
	bool			reset;

	memset(&nd, 0, sizeof(nd));
	nd.id = n->id;
	nd.last_gc_version = gc;
	nd.from_version_excluded = from;
	nd.max_version = max;
	nd.kvs = kvs;
	nd.n_kvs = n_kvs;
	ck_assert_int_eq(cc_node_apply_delta(n, &nd, cc_mtime(f->te.now_ms), &reset, &st), 0);
	if (reset_out != NULL)
		*reset_out = reset;
	return st;
}

/* ---- H1-H3 --------------------------------------------------------------------------- */

START_TEST(test_H1_listeners_simple)
{
	struct cc_listeners	 ls;
	struct rec		 r = { 0 };
	struct cc_kv		 kv = mkkv("prefix:strippedprefix", "value");
	struct cc_id		 owner;
	uint64_t		 h;

	test_id(&owner, 10001);
	cc_listeners_init(&ls);
	h = cc_listeners_add(&ls, S("prefix:"), rec_cb, &r);
	ck_assert_uint_gt(h, 0);
	cc_listeners_fire(&ls, &owner, &kv);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq(r.key, "strippedprefix");
	ck_assert_str_eq(r.value, "value");
	ck_assert(cc_id_is_equal(&r.owner, &owner));
	/* dropping the handle unsubscribes */
	ck_assert_int_eq(cc_listeners_remove(&ls, h), 0);
	cc_listeners_fire(&ls, &owner, &kv);
	ck_assert_uint_eq(r.count, 1);
	errno = 0;
	ck_assert_int_eq(cc_listeners_remove(&ls, h), -1);
	ck_assert_int_eq(errno, ENOENT);
	cc_listeners_clear(&ls);
	rec_clear(&r);
	cc_id_clear(&owner);
}
END_TEST

START_TEST(test_H1_listeners_simple_engine)
{
	struct fixture	f;
	struct rec	r = { 0 };
	uint64_t	h;

	fixture_init(&f, 10001);
	h = cc_engine_subscribe(f.e, S("prefix:"), rec_cb, &r);
	ck_assert_uint_gt(h, 0);
	ck_assert_int_eq(cc_engine_set(f.e, S("prefix:strippedprefix"), S("value")), 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq(r.key, "strippedprefix");
	ck_assert_str_eq(r.value, "value");
	ck_assert(cc_id_is_equal(&r.owner, &f.self));
	ck_assert_int_eq(cc_engine_unsubscribe(f.e, h), 0);
	ck_assert_int_eq(cc_engine_set(f.e, S("prefix:strippedprefix"), S("value2")), 0);
	ck_assert_uint_eq(r.count, 1);
	errno = 0;
	ck_assert_int_eq(cc_engine_unsubscribe(f.e, h), -1);
	ck_assert_int_eq(errno, ENOENT);
	rec_clear(&r);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_H2_empty_prefix_and_forever)
{
	struct cc_listeners	 ls;
	struct rec		 all = { 0 }, pre = { 0 };
	struct cc_kv		 kv = mkkv("prefix:strippedprefix", "value");
	struct cc_id		 owner;

	test_id(&owner, 10001);
	cc_listeners_init(&ls);
	/* "forever": handles that are never removed */
	ck_assert_uint_gt(cc_listeners_add(&ls, S(""), rec_cb, &all), 0);
	ck_assert_uint_gt(cc_listeners_add(&ls, S("prefix:"), rec_cb, &pre), 0);
	cc_listeners_fire(&ls, &owner, &kv);
	ck_assert_uint_eq(all.count, 1);
	ck_assert_str_eq(all.key, "prefix:strippedprefix");
	ck_assert_uint_eq(pre.count, 1);
	cc_listeners_fire(&ls, &owner, &kv);
	ck_assert_uint_eq(pre.count, 2);
	ck_assert_uint_eq(all.count, 2);
	cc_listeners_clear(&ls);
	rec_clear(&all);
	rec_clear(&pre);
	cc_id_clear(&owner);
}
END_TEST

START_TEST(test_H2_empty_prefix_and_forever_engine)
{
	struct fixture	f;
	struct rec	all = { 0 }, pre = { 0 };

	fixture_init(&f, 10001);
	ck_assert_uint_gt(cc_engine_subscribe(f.e, S(""), rec_cb, &all), 0);
	ck_assert_uint_gt(cc_engine_subscribe(f.e, S("prefix:"), rec_cb, &pre), 0);
	cc_engine_set(f.e, S("prefix:strippedprefix"), S("value"));
	ck_assert_uint_eq(all.count, 1);
	ck_assert_str_eq(all.key, "prefix:strippedprefix");
	ck_assert_uint_eq(pre.count, 1);
	cc_engine_set(f.e, S("prefix:strippedprefix"), S("value2"));
	ck_assert_uint_eq(pre.count, 2);
	ck_assert_str_eq(pre.value, "value2");
	ck_assert_uint_eq(all.count, 2);
	rec_clear(&all);
	rec_clear(&pre);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_H3_prefixes)
{
	struct cc_listeners	 ls;
	struct rec		 empty = { .name = "" }, b = { .name = "b" },
				 bb1 = { .name = "bb1" }, bb2 = { .name = "bb2" },
				 bc = { .name = "bc" };
	struct cc_id		 owner;
	static const struct {
		const char	*key;
		unsigned	 empty, b, bb, bc;	/* cumulative counts */
	} steps[] = {
		{ "hello", 1, 0, 0, 0 },
		{ "",      2, 0, 0, 0 },
		{ "a",     3, 0, 0, 0 },
		{ "b",     4, 1, 0, 0 },
		{ "ba",    5, 2, 0, 0 },
		{ "bb",    6, 3, 1, 0 },
	};

	test_id(&owner, 10001);
	cc_listeners_init(&ls);
	/* registered out of order on purpose */
	cc_listeners_add(&ls, S("bc"), rec_cb, &bc);
	cc_listeners_add(&ls, S("bb"), rec_cb, &bb1);
	cc_listeners_add(&ls, S(""), rec_cb, &empty);
	cc_listeners_add(&ls, S("b"), rec_cb, &b);
	cc_listeners_add(&ls, S("bb"), rec_cb, &bb2);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		struct cc_kv kv = mkkv(steps[i].key, "v");

		call_log[0] = '\0';
		cc_listeners_fire(&ls, &owner, &kv);
		ck_assert_uint_eq(empty.count, steps[i].empty);
		ck_assert_uint_eq(b.count, steps[i].b);
		ck_assert_uint_eq(bb1.count, steps[i].bb);
		ck_assert_uint_eq(bb2.count, steps[i].bb);
		ck_assert_uint_eq(bc.count, steps[i].bc);
	}
	/* "bb": "" first, then increasing prefixes; the key minus each prefix */
	ck_assert(strcmp(call_log, ";b;bb1;bb2;") == 0 || strcmp(call_log, ";b;bb2;bb1;") == 0);
	ck_assert_str_eq(empty.key, "bb");
	ck_assert_str_eq(b.key, "b");
	ck_assert_str_eq(bb1.key, "");
	ck_assert_str_eq(bb2.key, "");
	cc_listeners_clear(&ls);
	rec_clear(&empty);
	rec_clear(&b);
	rec_clear(&bb1);
	rec_clear(&bb2);
	rec_clear(&bc);
	cc_id_clear(&owner);
}
END_TEST

/* Order with several non-empty prefixes: increasing byte order (§6.6). */
START_TEST(test_listener_order_by_prefix_bytes)
{
	struct cc_listeners	 ls;
	struct rec		 r[5] = { { .name = "" }, { .name = "a" }, { .name = "ab" },
				    { .name = "abc" }, { .name = "abd" } };
	struct cc_kv		 kv = mkkv("abc", "v");
	struct cc_id		 owner;
	static const int	 order[] = { 3, 1, 4, 0, 2 };

	test_id(&owner, 10001);
	cc_listeners_init(&ls);
	for (size_t i = 0; i < 5; i++)
		cc_listeners_add(&ls, S(r[order[i]].name), rec_cb, &r[order[i]]);
	call_log[0] = '\0';
	cc_listeners_fire(&ls, &owner, &kv);
	ck_assert_str_eq(call_log, ";a;ab;abc;");
	ck_assert_str_eq(r[0].key, "abc");
	ck_assert_str_eq(r[1].key, "bc");
	ck_assert_str_eq(r[2].key, "c");
	ck_assert_str_eq(r[3].key, "");
	ck_assert_uint_eq(r[4].count, 0);
	cc_listeners_clear(&ls);
	for (size_t i = 0; i < 5; i++)
		rec_clear(&r[i]);
	cc_id_clear(&owner);
}
END_TEST

/* ---- engine event rules (§6.6) ------------------------------------------------------ */

START_TEST(test_event_local_set_fires)
{
	struct fixture	f;
	struct rec	r = { 0 };

	fixture_init(&f, 10001);
	cc_engine_subscribe(f.e, S("k"), rec_cb, &r);
	ck_assert_int_eq(cc_engine_set(f.e, S("key"), S("v1")), 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq(r.key, "ey");
	ck_assert_str_eq(r.value, "v1");
	ck_assert_uint_eq(r.version, 1);
	ck_assert(cc_id_is_equal(&r.owner, &f.self));
	ck_assert_int_eq(cc_engine_set_with_ttl(f.e, S("kt"), S("v2")), 0);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_int_eq(r.status, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(f.kv.n, 2);
	ck_assert_uint_eq(f.kv.n_local, 2);
	rec_clear(&r);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_event_noop_set_silent)
{
	struct fixture	f;
	struct rec	r = { 0 };

	fixture_init(&f, 10001);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	cc_engine_set(f.e, S("k"), S("v"));
	cc_engine_set(f.e, S("k"), S("v"));
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(f.kv.n, 1);
	cc_engine_set_with_ttl(f.e, S("t"), S("w"));
	cc_engine_set_with_ttl(f.e, S("t"), S("w"));
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(f.kv.n, 2);
	rec_clear(&r);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_event_local_delete_silent)
{
	struct fixture	f;
	struct rec	r = { 0 };

	fixture_init(&f, 10001);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	cc_engine_set(f.e, S("k"), S("v"));
	ck_assert_int_eq(cc_engine_delete(f.e, S("k")), 0);
	ck_assert_uint_eq(r.count, 1);
	/* the env still sees the tombstone being written */
	ck_assert_uint_eq(f.kv.n, 2);
	ck_assert_str_eq(f.kv.last_key, "k");
	ck_assert_int_eq(f.kv.last_status, CC_STATUS_DELETED);
	ck_assert(f.kv.last_local);
	/* deleting the tombstone again: still no listener call */
	ck_assert_int_eq(cc_engine_delete(f.e, S("k")), 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(f.kv.n, 3);
	rec_clear(&r);
	fixture_clear(&f);
}
END_TEST

START_TEST(test_event_local_delete_after_ttl_silent)
{
	struct fixture	f;
	struct rec	r = { 0 };

	fixture_init(&f, 10001);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	cc_engine_set(f.e, S("k"), S("v"));
	ck_assert_int_eq(cc_engine_delete_after_ttl(f.e, S("k")), 0);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(f.kv.n, 2);
	ck_assert_int_eq(f.kv.last_status, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert(f.kv.last_local);
	rec_clear(&r);
	fixture_clear(&f);
}
END_TEST

/* Replicated writes: SET and DELETE_AFTER_TTL notify, tombstones do not. */
START_TEST(test_event_replicated_statuses)
{
	struct fixture	 f;
	struct rec	 r = { 0 };
	struct cc_id	 id;
	struct cc_node	*n;
	struct cc_kv_op	 k[3];

	fixture_init(&f, 10001);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	n = replica(&f, &id, 10002);
	k[0] = kvop("a", "1", 1, CC_STATUS_SET);
	k[1] = kvop("b", "", 2, CC_STATUS_DELETED);
	k[2] = kvop("c", "3", 3, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_int_eq(apply(&f, n, 0, 0, 3, k, 3, NULL), CC_DELTA_APPLY);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_str_eq(r.key, "c");
	ck_assert_str_eq(r.value, "3");
	ck_assert_int_eq(r.status, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert(cc_id_is_equal(&r.owner, &id));
	/* CC_EVENT_KV for all three, tombstone included, none local */
	ck_assert_uint_eq(f.kv.n, 3);
	ck_assert_uint_eq(f.kv.n_local, 0);
	ck_assert_uint_eq(f.kv.by_status[CC_STATUS_SET], 1);
	ck_assert_uint_eq(f.kv.by_status[CC_STATUS_DELETED], 1);
	ck_assert_uint_eq(f.kv.by_status[CC_STATUS_DELETE_AFTER_TTL], 1);
	/* the same delta again: REJECT, no event of any kind */
	ck_assert_int_eq(apply(&f, n, 0, 0, 3, k, 3, NULL), CC_DELTA_REJECT);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(f.kv.n, 3);
	/* overlapping: skipped entries do not notify */
	k[0] = kvop("c", "x", 3, CC_STATUS_SET);
	k[1] = kvop("d", "4", 4, CC_STATUS_SET);
	ck_assert_int_eq(apply(&f, n, 0, 2, 4, k, 2, NULL), CC_DELTA_APPLY);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_str_eq(r.key, "d");
	ck_assert_uint_eq(f.kv.n, 4);
	rec_clear(&r);
	cc_id_clear(&id);
	fixture_clear(&f);
}
END_TEST

/*
 * [RUST QUIRK] delete_after_ttl is silent on the owner but notifies every
 * replica, with the unchanged value. End to end over a handshake.
 */
START_TEST(test_event_replicated_delete_after_ttl_fires)
{
	struct fixture	a, b;
	struct rec	ra = { 0 }, rb = { 0 };

	fixture_init(&a, 10001);
	fixture_init(&b, 10002);
	cc_engine_subscribe(a.e, S(""), rec_cb, &ra);
	cc_engine_subscribe(b.e, S(""), rec_cb, &rb);
	ck_assert_int_eq(cc_engine_set(b.e, S("key"), S("val")), 0);
	ck_assert_uint_eq(rb.count, 1);
	test_handshake(a.e, &a.te, b.e, &b.te);
	ck_assert_uint_eq(ra.count, 1);
	ck_assert_str_eq(ra.key, "key");
	ck_assert_str_eq(ra.value, "val");
	ck_assert(cc_id_is_equal(&ra.owner, &b.self));

	ck_assert_int_eq(cc_engine_delete_after_ttl(b.e, S("key")), 0);
	ck_assert_uint_eq(rb.count, 1);			/* silent on the owner */
	test_handshake(a.e, &a.te, b.e, &b.te);
	ck_assert_uint_eq(ra.count, 2);			/* the replica fires */
	ck_assert_str_eq(ra.value, "val");
	ck_assert_int_eq(ra.status, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_uint_eq(ra.version, 2);

	ck_assert_int_eq(cc_engine_delete(b.e, S("key")), 0);
	test_handshake(a.e, &a.te, b.e, &b.te);
	ck_assert_uint_eq(ra.count, 2);			/* tombstones never fire */
	ck_assert_ptr_null(cc_node_get(cc_engine_node(a.e, &b.self), S("key")));
	ck_assert_uint_eq(a.kv.by_status[CC_STATUS_DELETED], 1);
	ck_assert_uint_eq(rb.count, 1);
	rec_clear(&ra);
	rec_clear(&rb);
	fixture_clear(&a);
	fixture_clear(&b);
}
END_TEST

/* A replica reset: removals are silent, the registry survives (§6.6). */
START_TEST(test_event_replica_reset)
{
	struct fixture	 f;
	struct rec	 r = { 0 };
	struct cc_id	 id;
	struct cc_node	*n;
	struct cc_kv_op	 k[2];
	bool		 reset;

	fixture_init(&f, 10001);
	n = replica(&f, &id, 10002);
	k[0] = kvop("a", "1", 1, CC_STATUS_SET);
	k[1] = kvop("b", "2", 2, CC_STATUS_SET);
	apply(&f, n, 0, 0, 2, k, 2, NULL);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	f.kv.n = 0;
	k[0] = kvop("c", "3", 9, CC_STATUS_SET);
	ck_assert_int_eq(apply(&f, n, 5, 0, 9, k, 1, &reset), CC_DELTA_APPLY_AFTER_RESET);
	ck_assert(reset);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_str_eq(r.key, "c");
	ck_assert_uint_eq(f.kv.n, 1);
	ck_assert_ptr_null(cc_node_get(n, S("a")));
	rec_clear(&r);
	cc_id_clear(&id);
	fixture_clear(&f);
}
END_TEST

/* Entries written by the reset API notify (tombstones excepted); removals do not. */
START_TEST(test_event_reset_api)
{
	struct fixture	f;
	struct rec	r = { 0 };
	struct cc_id	id;
	struct cc_kv	e1[3], e2[1];

	fixture_init(&f, 10001);
	test_id(&id, 10003);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	e1[0] = mkkv("a", "1");
	e1[1] = mkkv("b", "");
	e1[1].version = 2;
	e1[1].status = CC_STATUS_DELETED;
	e1[2] = mkkv("c", "3");
	e1[2].version = 3;
	e1[2].status = CC_STATUS_DELETE_AFTER_TTL;
	ck_assert_int_eq(cc_engine_reset_node_state(f.e, &id, e1, 3, 3, 0), 0);
	ck_assert_uint_eq(r.count, 2);
	ck_assert(cc_id_is_equal(&r.owner, &id));
	ck_assert_uint_eq(f.kv.n, 3);
	ck_assert_uint_eq(f.kv.n_local, 0);
	/* a newer state with only "d": a, b and c go silently */
	e2[0] = mkkv("d", "4");
	e2[0].version = 7;
	ck_assert_int_eq(cc_engine_reset_node_state(f.e, &id, e2, 1, 7, 5), 0);
	ck_assert_uint_eq(r.count, 3);
	ck_assert_str_eq(r.key, "d");
	ck_assert_uint_eq(f.kv.n, 4);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_node(f.e, &id)), 1);
	rec_clear(&r);
	cc_id_clear(&id);
	fixture_clear(&f);
}
END_TEST

/* GC removes expired entries without any event (§6.4). */
START_TEST(test_event_gc_silent)
{
	struct fixture	f;
	struct rec	r = { 0 };

	fixture_init(&f, 10001);
	cc_engine_subscribe(f.e, S(""), rec_cb, &r);
	cc_engine_set_with_ttl(f.e, S("t"), S("v"));
	cc_engine_set(f.e, S("d"), S("v"));
	cc_engine_delete(f.e, S("d"));
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(f.kv.n, 3);
	f.te.now_ms += 10000ULL * 1000;		/* for_test entry grace */
	cc_engine_gc_entries(f.e);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(f.e)), 0);
	ck_assert_uint_eq(r.count, 2);
	ck_assert_uint_eq(f.kv.n, 3);
	rec_clear(&r);
	fixture_clear(&f);
}
END_TEST

static Suite *
listen_suite(void)
{
	Suite	*s = suite_create("listen");
	TCase	*tc = tcase_create("catalogue_H");

	tcase_add_test(tc, test_H1_listeners_simple);
	tcase_add_test(tc, test_H1_listeners_simple_engine);
	tcase_add_test(tc, test_H2_empty_prefix_and_forever);
	tcase_add_test(tc, test_H2_empty_prefix_and_forever_engine);
	tcase_add_test(tc, test_H3_prefixes);
	tcase_add_test(tc, test_listener_order_by_prefix_bytes);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine_events");
	tcase_add_test(tc, test_event_local_set_fires);
	tcase_add_test(tc, test_event_noop_set_silent);
	tcase_add_test(tc, test_event_local_delete_silent);
	tcase_add_test(tc, test_event_local_delete_after_ttl_silent);
	tcase_add_test(tc, test_event_replicated_statuses);
	tcase_add_test(tc, test_event_replicated_delete_after_ttl_fires);
	tcase_add_test(tc, test_event_replica_reset);
	tcase_add_test(tc, test_event_reset_api);
	tcase_add_test(tc, test_event_gc_silent);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(listen_suite)
