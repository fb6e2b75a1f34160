/*
 * check_engine.c: the engine without a network (PROTOCOL.md §4, §5.4-§5.6,
 * §6.5, §6.7; catalogue group F and A8).
 *
 * Engines run on test_envs (fake clock, seeded RNG, captured datagrams) and
 * talk through test_handshake() or through datagrams built by hand with the
 * codec, so every message-handling rule of §4.2 can be hit on its own.
 * Expected values come from the spec, never from a previous run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <zstd.h>

#include "cc_state.h"
#include "cc_wire.h"
#include "testutil.h"

#define HOUR_MS		(3600ULL * 1000)

/* ---- fixtures ------------------------------------------------------------ */

#define FX_SEED		0x1234567ULL
#define fx		test_engine
#define fx_start(f, cfg)	test_engine_start((f), (cfg), FX_SEED)
#define fx_init(f, port)	test_engine_init((f), (port), FX_SEED)
#define fx_free(f)		test_engine_free(f)

static void
fx_advance(struct fx *f, uint64_t ms)
{
	f->env.now_ms += ms;
}

static void
set_kv(struct fx *f, const char *k, const char *v)
{
	ck_assert_int_eq(cc_engine_set(f->e, k, strlen(k), v, strlen(v)), 0);
}

static uint64_t
self_hb(const struct fx *f)
{
	return cc_node_heartbeat(cc_engine_self_node(f->e));
}

static const struct cc_node *
node_of(const struct fx *f, const struct cc_id *id)
{
	return cc_engine_node(f->e, id);
}

static bool
kv_is(const struct cc_node *n, const char *k, const char *v)
{
	const struct cc_kv *kv = cc_node_get(n, k, strlen(k));

	return kv != NULL && kv->value_len == strlen(v) &&
	    memcmp(kv->value, v, kv->value_len) == 0;
}

/* sync(A, B) of §10: same node ids, same visible entries and values. */
static void
assert_sync(const struct fx *a, const struct fx *b)
{
	const struct cc_node *na, *nb;

	ck_assert_uint_eq(cc_engine_num_nodes(a->e), cc_engine_num_nodes(b->e));
	for (na = cc_engine_node_first(a->e); na != NULL;
	    na = cc_engine_node_next(a->e, na)) {
		const struct cc_kv *kv;

		nb = cc_engine_node(b->e, cc_node_id(na));
		ck_assert_ptr_nonnull(nb);
		ck_assert_uint_eq(cc_node_num_visible(na), cc_node_num_visible(nb));
		for (kv = cc_node_prefix_first(na, "", 0, false); kv != NULL;
		    kv = cc_node_prefix_next(na, kv, "", 0, false)) {
			const struct cc_kv *kb = cc_node_get(nb, kv->key, kv->key_len);

			ck_assert_ptr_nonnull(kb);
			ck_assert_uint_eq(kb->value_len, kv->value_len);
			ck_assert_int_eq(memcmp(kb->value, kv->value, kv->value_len), 0);
		}
	}
}

/* Every datagram an env captured is a legal UDP payload (§3.1). */
static void
assert_sent_fit(const struct test_env *te)
{
	for (size_t i = 0; i < te->n_sent; i++)
		ck_assert_uint_le(te->sent[i].len, CC_MAX_DATAGRAM);
}

/* handshake(A, B) that keeps the three datagrams for inspection. */
struct hs {
	struct test_dgram syn, synack, ack;
};

static void
recv_ok(struct fx *to, const struct test_dgram *d)
{
	ck_assert_uint_le(d->len, CC_MAX_DATAGRAM);
	ck_assert_int_eq(cc_engine_recv(to->e, &d->from, d->buf, d->len), 0);
}

static void
handshake_capture(struct fx *a, struct fx *b, struct hs *h)
{
	test_env_drop_all(&a->env);
	test_env_drop_all(&b->env);
	ck_assert_int_eq(cc_engine_gossip(a->e, &b->env.self), 0);
	ck_assert(test_env_pop(&a->env, &h->syn));
	recv_ok(b, &h->syn);
	ck_assert(test_env_pop(&b->env, &h->synack));
	recv_ok(a, &h->synack);
	ck_assert(test_env_pop(&a->env, &h->ack));
	recv_ok(b, &h->ack);
	ck_assert_uint_eq(b->env.n_sent, 0);
	ck_assert_uint_eq(a->env.n_sent, 0);
}

static void
hs_free(struct hs *h)
{
	test_dgram_free(&h->syn);
	test_dgram_free(&h->synack);
	test_dgram_free(&h->ack);
}

static void
handshake(struct fx *a, struct fx *b)
{
	struct hs h;

	handshake_capture(a, b, &h);
	hs_free(&h);
}

static void
decode(const uint8_t *buf, size_t len, struct cc_msg *m)
{
	const char *why = NULL;

	ck_assert_msg(cc_msg_decode_why(buf, len, m, NULL, NULL, &why) == 0,
	    "captured datagram does not decode: %s", why ? why : "?");
}

static const struct cc_node_delta *
find_nd(const struct cc_delta *d, const struct cc_id *id)
{
	for (size_t i = 0; i < d->n; i++)
		if (cc_id_is_equal(&d->nodes[i].id, id))
			return &d->nodes[i];
	return NULL;
}

/* Encodes m and hands it to `to` as if it came from `from`. */
static int
deliver_msg(struct fx *to, const struct cc_addr *from, const struct cc_msg *m)
{
	struct cc_wbuf	wb;
	int		rc;

	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, m, NULL), 0);
	ck_assert_uint_le(wb.len, CC_MAX_DATAGRAM);
	rc = cc_engine_recv(to->e, from, wb.data, wb.len);
	cc_wbuf_clear(&wb);
	return rc;
}

/* A SYN of `cluster` whose digest borrows `entries`. */
static int
deliver_syn(struct fx *to, const struct cc_addr *from, const char *cluster,
    struct cc_digest_entry *entries, size_t n)
{
	struct cc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN;
	m.digest.entries = entries;
	m.digest.n = n;
	m.cluster_id = (char *)(uintptr_t)cluster;
	m.cluster_id_len = strlen(cluster);
	return deliver_msg(to, from, &m);
}

static int
deliver_ack(struct fx *to, const struct cc_addr *from, struct cc_node_delta *nds, size_t n)
{
	struct cc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_ACK;
	m.delta.nodes = nds;
	m.delta.n = n;
	return deliver_msg(to, from, &m);
}

static struct cc_digest_entry
dentry(const struct cc_id *id, uint64_t hb, uint64_t gc, uint64_t max)
{
	struct cc_digest_entry e;

	e.id = *id;		/* borrowed */
	e.heartbeat = hb;
	e.last_gc_version = gc;
	e.max_version = max;
	return e;
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

static struct cc_node_delta
ndelta(const struct cc_id *id, uint64_t gc, uint64_t from, struct cc_kv_op *kvs, size_t n)
{
	struct cc_node_delta nd;

	memset(&nd, 0, sizeof(nd));
	nd.id = *id;		/* borrowed */
	nd.last_gc_version = gc;
	nd.from_version_excluded = from;
	nd.kvs = kvs;
	nd.n_kvs = n;
	nd.max_version = n > 0 ? kvs[n - 1].version : 0;
	return nd;
}

static size_t
count_to(const struct test_env *te, const struct cc_addr *to)
{
	size_t n = 0;

	for (size_t i = 0; i < te->n_sent; i++)
		if (cc_addr_is_equal(&te->sent[i].to, to))
			n++;
	return n;
}

static void
random_alnum(struct test_env *te, char *buf, size_t len)
{
	static const char alnum[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < len; i++)
		buf[i] = alnum[test_rand_u32(te) % (sizeof(alnum) - 1)];
	buf[len] = '\0';
}

/* An id with a node_id of `len` copies of `c`. */
static void
long_id(struct cc_id *out, char c, size_t len, uint64_t gen, uint16_t port)
{
	char		*name = malloc(len + 1);
	struct cc_addr	 a = test_addr4(port);

	ck_assert_ptr_nonnull(name);
	memset(name, c, len);
	name[len] = '\0';
	ck_assert_int_eq(cc_id_init(out, name, len, gen, &a), 0);
	free(name);
}

/* ---- F1 -------------------------------------------------------------------- */

START_TEST(test_F1_handshake)
{
	struct fx a, b;

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	set_kv(&a, "key1a", "1");
	set_kv(&a, "key2a", "2");
	set_kv(&b, "key1b", "1");
	set_kv(&b, "key2b", "2");

	handshake(&a, &b);
	assert_sync(&a, &b);
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), 2);
	ck_assert(kv_is(node_of(&b, &a.id), "key1a", "1"));
	ck_assert(kv_is(node_of(&a, &b.id), "key2b", "2"));

	handshake(&a, &b);		/* nothing new */
	assert_sync(&a, &b);

	set_kv(&a, "key1a", "3");
	set_kv(&a, "key1c", "4");
	handshake(&a, &b);
	assert_sync(&a, &b);
	ck_assert(kv_is(node_of(&b, &a.id), "key1a", "3"));
	ck_assert(kv_is(node_of(&b, &a.id), "key1c", "4"));
	ck_assert_uint_eq(cc_node_max_version(node_of(&b, &a.id)), 4);

	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* ---- F2 -------------------------------------------------------------------- */

START_TEST(test_F2_dead_node_liveness)
{
	struct fx		 a;
	struct cc_id		 x;
	const struct cc_node	*n;

	fx_init(&a, 10001);
	test_id(&x, 10);
	ck_assert_int_eq(cc_engine_reset_node_state(a.e, &x, NULL, 0, 10000, 10), 0);
	n = node_of(&a, &x);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(cc_node_last_gc_version(n), 10);
	ck_assert_uint_eq(cc_node_max_version(n), 0);
	ck_assert_ptr_nonnull(cc_engine_node_mut(a.e, &x)->window);

	cc_engine_report_heartbeat(a.e, &x, 10000);	/* first value: stored */
	cc_engine_report_heartbeat(a.e, &x, 10000);	/* not higher */
	ck_assert_uint_eq(cc_node_heartbeat(node_of(&a, &x)), 10000);
	cc_engine_update_liveness(a.e);
	ck_assert_uint_eq(cc_engine_num_live(a.e), 1);
	ck_assert_int_ne(cc_engine_liveness(a.e, &x), CC_LIVENESS_LIVE);

	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* ---- F3 -------------------------------------------------------------------- */

START_TEST(test_F3_no_reset_if_last_gc_version_is_higher)
{
	struct fx			 a, b;
	struct hs			 h;
	struct cc_msg			 m;
	const struct cc_node_delta	*nd;
	const struct cc_node		*rep;
	char				 key[16];
	size_t				 first, reset_n;
	uint64_t			 rep_max;

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		set_kv(&a, key, "first_value");
	}
	ck_assert_uint_eq(cc_node_max_version(cc_engine_self_node(a.e)), 20000);

	/* first handshake: the ACK carries a truncated delta (budget 65,506) */
	handshake_capture(&a, &b, &h);
	decode(h.ack.buf, h.ack.len, &m);
	ck_assert_uint_eq(m.type, CC_MSG_ACK);
	nd = find_nd(&m.delta, &a.id);
	ck_assert_ptr_nonnull(nd);
	ck_assert_uint_eq(nd->from_version_excluded, 0);
	ck_assert_uint_eq(nd->last_gc_version, 0);
	first = nd->n_kvs;
	ck_assert_uint_gt(first, 0);
	ck_assert_uint_lt(first, 20000);
	/* §10 F3: 19,357 keys, reproduced with libzstd 1.5.4 level 3 */
	if (ZSTD_versionNumber() == 10504)
		ck_assert_uint_eq(first, 19357);
	for (size_t i = 0; i < first; i++)
		ck_assert_uint_eq(nd->kvs[i].version, i + 1);
	ck_assert_uint_eq(nd->max_version, first);
	cc_msg_clear(&m);
	hs_free(&h);
	rep = node_of(&b, &a.id);
	ck_assert_ptr_nonnull(rep);
	ck_assert_uint_eq(cc_node_max_version(rep), first);
	ck_assert_uint_eq(cc_node_num_visible(rep), first);
	ck_assert_uint_eq(cc_engine_stats(a.e)->deltas_truncated, 1);

	/* second handshake completes it */
	handshake_capture(&a, &b, &h);
	decode(h.ack.buf, h.ack.len, &m);
	nd = find_nd(&m.delta, &a.id);
	ck_assert_ptr_nonnull(nd);
	ck_assert_uint_eq(nd->from_version_excluded, first);
	ck_assert_uint_eq(nd->n_kvs, 20000 - first);
	cc_msg_clear(&m);
	hs_free(&h);
	assert_sync(&a, &b);
	ck_assert_uint_eq(cc_node_max_version(node_of(&b, &a.id)), 20000);
	ck_assert_uint_eq(cc_engine_stats(a.e)->deltas_truncated, 1);	/* complete now */
	ck_assert_uint_eq(b.env.n_catchup, 0);

	/* delete k1 (v20001), 3 h later entry GC purges the tombstone */
	ck_assert_int_eq(cc_engine_delete(a.e, "k1", 2), 0);
	ck_assert_uint_eq(cc_node_max_version(cc_engine_self_node(a.e)), 20001);
	fx_advance(&a, 3 * HOUR_MS);
	fx_advance(&b, 3 * HOUR_MS);
	cc_engine_gc_entries(a.e);
	ck_assert_uint_eq(cc_node_last_gc_version(cc_engine_self_node(a.e)), 20001);
	ck_assert_ptr_null(cc_node_get_versioned(cc_engine_self_node(a.e), "k1", 2));

	/* third handshake: the ACK resets B's replica (gc 20001, from 0) */
	handshake_capture(&a, &b, &h);
	decode(h.ack.buf, h.ack.len, &m);
	nd = find_nd(&m.delta, &a.id);
	ck_assert_ptr_nonnull(nd);
	ck_assert_uint_eq(nd->last_gc_version, 20001);
	ck_assert_uint_eq(nd->from_version_excluded, 0);
	reset_n = nd->n_kvs;
	ck_assert_uint_gt(reset_n, 0);
	ck_assert_uint_lt(reset_n, 19999);	/* truncated: not everything fits */
	ck_assert_uint_eq(nd->kvs[0].version, 1);
	rep_max = nd->kvs[reset_n - 1].version;
	cc_msg_clear(&m);
	hs_free(&h);
	rep = node_of(&b, &a.id);
	ck_assert_uint_eq(cc_node_last_gc_version(rep), 20001);
	ck_assert_uint_eq(cc_node_max_version(rep), rep_max);
	ck_assert_uint_lt(cc_node_max_version(rep), cc_node_last_gc_version(rep));
	ck_assert_uint_eq(cc_node_num_visible(rep), reset_n);
	ck_assert_ptr_null(cc_node_get(rep, "k1", 2));
	ck_assert_uint_eq(b.env.n_catchup, 1);
	ck_assert_uint_eq(cc_engine_stats(b.e)->resets_applied, 1);

	/* fourth: the rest, from = the replica's max; compatible, no reset */
	handshake_capture(&a, &b, &h);
	decode(h.ack.buf, h.ack.len, &m);
	nd = find_nd(&m.delta, &a.id);
	ck_assert_ptr_nonnull(nd);
	ck_assert_uint_eq(nd->last_gc_version, 20001);
	ck_assert_uint_eq(nd->from_version_excluded, rep_max);
	ck_assert_uint_eq(nd->n_kvs, 19999 - reset_n);
	cc_msg_clear(&m);
	hs_free(&h);
	assert_sync(&a, &b);
	ck_assert_uint_eq(b.env.n_catchup, 1);
	ck_assert_uint_eq(cc_node_num_visible(node_of(&b, &a.id)), 19999);
	ck_assert_uint_eq(cc_node_last_gc_version(node_of(&b, &a.id)), 20001);

	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* ---- F4 -------------------------------------------------------------------- */

struct expect_listener {
	const char	*key;
	const char	*value;
	int		*counter;
};

static void
expect_cb(void *arg, const char *key, size_t key_len, const char *value,
    size_t value_len, const struct cc_id *owner, const struct cc_kv *kv)
{
	struct expect_listener *x = arg;

	(void)owner;
	(void)kv;
	ck_assert_uint_eq(key_len, strlen(x->key));
	ck_assert_int_eq(memcmp(key, x->key, key_len), 0);
	ck_assert_uint_eq(value_len, strlen(x->value));
	ck_assert_int_eq(memcmp(value, x->value, value_len), 0);
	(*x->counter)++;
}

START_TEST(test_F4_listener)
{
	struct fx		a, b;
	int			s = 0, o = 0;
	struct expect_listener	l1 = { "suffix1", "updated", &s };
	struct expect_listener	l2 = { "suffix", "hello", &o };
	struct expect_listener	l3 = { "suffix2", "hello2", &s };

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	set_kv(&a, "self1:suffix1", "hello1");
	ck_assert_uint_ne(cc_engine_subscribe(a.e, "self1:", 6, expect_cb, &l1), 0);
	ck_assert_uint_ne(cc_engine_subscribe(a.e, "other:", 6, expect_cb, &l2), 0);
	ck_assert_uint_ne(cc_engine_subscribe(a.e, "self2:", 6, expect_cb, &l3), 0);
	set_kv(&b, "other:suffix", "hello");

	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(o, 0);
	handshake(&a, &b);
	assert_sync(&a, &b);
	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(o, 1);

	handshake(&a, &b);
	ck_assert_int_eq(s, 0);
	ck_assert_int_eq(o, 1);

	set_kv(&a, "self2:suffix2", "hello2");
	ck_assert_int_eq(s, 1);
	ck_assert_int_eq(o, 1);

	handshake(&a, &b);
	ck_assert_int_eq(s, 1);
	ck_assert_int_eq(o, 1);

	set_kv(&a, "self1:suffix1", "updated");
	ck_assert_int_eq(s, 2);

	ck_assert_int_eq(cc_engine_delete(a.e, "self1:suffix1", 13), 0);
	ck_assert_int_eq(cc_engine_delete(b.e, "other:suffix", 12), 0);
	handshake(&a, &b);
	ck_assert_int_eq(s, 2);
	ck_assert_int_eq(o, 1);
	ck_assert_ptr_null(cc_node_get(node_of(&a, &b.id), "other:suffix", 12));

	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* ---- F5 -------------------------------------------------------------------- */

START_TEST(test_F5_catchup_callback)
{
	struct fx		a;
	struct cc_id		x;
	struct cc_digest_entry	de;
	struct cc_kv_op		kv;
	struct cc_node_delta	nd;
	struct cc_addr		from = test_addr4(10002);

	fx_init(&a, 10001);
	test_id(&x, 10002);
	de = dentry(&x, 0, 10, 30);
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
	ck_assert_ptr_nonnull(node_of(&a, &x));
	ck_assert_uint_eq(cc_node_max_version(node_of(&a, &x)), 0);
	ck_assert_uint_eq(cc_node_last_gc_version(node_of(&a, &x)), 0);

	ck_assert_int_eq(deliver_ack(&a, &from, NULL, 0), 0);	/* empty delta */
	ck_assert_uint_eq(a.env.n_catchup, 0);

	kv = kvop("key", "value", 1, CC_STATUS_SET);
	nd = ndelta(&x, 1000, 0, &kv, 1);
	ck_assert_int_eq(deliver_ack(&a, &from, &nd, 1), 0);
	ck_assert_uint_eq(a.env.n_catchup, 1);
	ck_assert_uint_eq(cc_node_last_gc_version(node_of(&a, &x)), 1000);
	ck_assert(kv_is(node_of(&a, &x), "key", "value"));

	/* §6.7: once per message, however many replicas it resets, and for a
	 * SYN-ACK as for an ACK */
	{
		struct cc_id		y;
		struct cc_digest_entry	des[2];
		struct cc_node_delta	nds[2];
		struct cc_msg		m;

		test_id(&y, 10003);
		des[0] = dentry(&x, 1, 0, 0);
		des[1] = dentry(&y, 1, 0, 0);
		nds[0] = ndelta(&x, 2000, 0, &kv, 1);
		nds[1] = ndelta(&y, 5, 0, &kv, 1);
		memset(&m, 0, sizeof(m));
		m.type = CC_MSG_SYN_ACK;
		m.digest.entries = des;
		m.digest.n = 2;
		m.delta.nodes = nds;
		m.delta.n = 2;
		ck_assert_int_eq(deliver_msg(&a, &from, &m), 0);
		ck_assert_uint_eq(cc_engine_stats(a.e)->resets_applied, 3);
		ck_assert_uint_eq(a.env.n_catchup, 2);
		ck_assert_uint_eq(cc_node_last_gc_version(node_of(&a, &x)), 2000);
		ck_assert_uint_eq(cc_node_last_gc_version(node_of(&a, &y)), 5);
		/* a compatible delta is no reset */
		nds[1] = ndelta(&y, 5, 1, NULL, 0);
		nds[1].max_version = 7;
		ck_assert_int_eq(deliver_ack(&a, &from, &nds[1], 1), 0);
		ck_assert_uint_eq(a.env.n_catchup, 2);
		ck_assert_uint_eq(cc_node_max_version(node_of(&a, &y)), 7);
		cc_id_clear(&y);
	}

	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* ---- F6 -------------------------------------------------------------------- */

static struct cc_kv
entry(const char *k, const char *v, uint64_t version)
{
	struct cc_kv kv;

	memset(&kv, 0, sizeof(kv));
	kv.key = k;
	kv.key_len = strlen(k);
	kv.value = v;
	kv.value_len = strlen(v);
	kv.version = version;
	kv.status = CC_STATUS_SET;
	return kv;
}

/* A replica of id(port) with foo=bar v1, qux=baz v2, toto=titi v3. */
static void
replica_with_three_keys(struct fx *f, struct cc_id *id, uint16_t port)
{
	struct cc_node *n;

	test_id(id, port);
	cc_engine_report_heartbeat(f->e, id, 1);
	n = cc_engine_node_mut(f->e, id);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(cc_node_set(n, "foo", 3, "bar", 3, cc_mtime(f->env.now_ms)), 1);
	ck_assert_int_eq(cc_node_set(n, "qux", 3, "baz", 3, cc_mtime(f->env.now_ms)), 1);
	ck_assert_int_eq(cc_node_set(n, "toto", 4, "titi", 4, cc_mtime(f->env.now_ms)), 1);
	ck_assert_uint_eq(n->max_version, 3);
}

START_TEST(test_F6_reset_node_state)
{
	struct fx		 a;
	struct cc_id		 x2, x3, x4;
	struct cc_kv		 e[2];
	const struct cc_node	*n;

	fx_init(&a, 10001);

	/* (a) unknown node */
	test_id(&x2, 10002);
	e[0] = entry("foo", "bar", 1);
	ck_assert_int_eq(cc_engine_reset_node_state(a.e, &x2, e, 1, 1, 1337), 0);
	n = node_of(&a, &x2);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_eq(cc_node_num_visible(n), 1);
	ck_assert(kv_is(n, "foo", "bar"));
	ck_assert_uint_eq(cc_node_max_version(n), 1);
	ck_assert_uint_eq(cc_node_last_gc_version(n), 1337);
	ck_assert_ptr_nonnull(cc_engine_node_mut(a.e, &x2)->window);

	/* (b) foo dropped, qux kept, toto replaced */
	replica_with_three_keys(&a, &x3, 10003);
	e[0] = entry("qux", "baz", 2);
	e[1] = entry("toto", "tutu", 4);
	ck_assert_int_eq(cc_engine_reset_node_state(a.e, &x3, e, 2, 4, 1337), 0);
	n = node_of(&a, &x3);
	ck_assert_uint_eq(cc_node_num_visible(n), 2);
	ck_assert_uint_eq(cc_node_num_stored(n), 2);
	ck_assert(kv_is(n, "qux", "baz"));
	ck_assert(kv_is(n, "toto", "tutu"));
	ck_assert_ptr_null(cc_node_get_versioned(n, "foo", 3));
	ck_assert_uint_eq(cc_node_max_version(n), 4);
	ck_assert_uint_eq(cc_node_last_gc_version(n), 1337);

	/* (c) max 2 <= 3: no-op */
	replica_with_three_keys(&a, &x4, 10004);
	e[0] = entry("foo", "bar", 1);
	e[1] = entry("qux", "baz", 2);
	ck_assert_int_eq(cc_engine_reset_node_state(a.e, &x4, e, 2, 2, 1337), 0);
	n = node_of(&a, &x4);
	ck_assert_uint_eq(cc_node_num_visible(n), 3);
	ck_assert(kv_is(n, "foo", "bar"));
	ck_assert(kv_is(n, "qux", "baz"));
	ck_assert(kv_is(n, "toto", "titi"));
	ck_assert_uint_eq(cc_node_max_version(n), 3);
	ck_assert_uint_eq(cc_node_last_gc_version(n), 0);

	cc_id_clear(&x2);
	cc_id_clear(&x3);
	cc_id_clear(&x4);
	fx_free(&a);
}
END_TEST

/* ---- F7 -------------------------------------------------------------------- */

START_TEST(test_F7_reset_garbage_collected_node_state)
{
	struct fx		a;
	struct cc_config	cfg;
	struct cc_id		x;
	struct cc_kv		e;
	uint64_t		hb;

	test_config(&cfg, &a.id, 10006);
	cfg.fd.dead_node_grace_period_ms = 4000;
	fx_start(&a, &cfg);

	replica_with_three_keys(&a, &x, 10007);		/* reports heartbeat 1 */
	fx_advance(&a, 50);
	cc_engine_report_heartbeat(a.e, &x, 2);
	fx_advance(&a, 50);
	cc_engine_report_heartbeat(a.e, &x, 3);
	cc_engine_update_liveness(a.e);
	ck_assert_int_eq(cc_engine_liveness(a.e, &x), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_live(a.e), 2);
	ck_assert_ptr_nonnull(node_of(&a, &x));

	fx_advance(&a, 60 * 1000);
	cc_engine_update_liveness(a.e);
	ck_assert_int_ne(cc_engine_liveness(a.e, &x), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_dead(a.e), 1);
	ck_assert_ptr_nonnull(node_of(&a, &x));

	fx_advance(&a, 5 * 1000);
	cc_engine_update_liveness(a.e);
	ck_assert_ptr_null(node_of(&a, &x));
	ck_assert(cc_engine_gc_nodes_has(a.e, &x, &hb));
	ck_assert_uint_eq(hb, 3);

	e = entry("foo", "bar", 1);
	ck_assert_int_eq(cc_engine_reset_node_state(a.e, &x, &e, 1, 2, 1337), 0);
	ck_assert_ptr_null(node_of(&a, &x));

	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* ---- F8 -------------------------------------------------------------------- */

START_TEST(test_F8_process_syn_budget_uses_own_digest)
{
	enum { N = 55 };
	struct fx		 a;
	struct cc_id		 ids[N];
	struct cc_digest_entry	 de[N];
	struct cc_kv_op		 kvs[N];
	struct cc_node_delta	 nds[N];
	char			*vals[N];
	struct cc_addr		 from = test_addr4(30000);
	struct test_dgram	 d;
	struct cc_msg		 m;
	size_t			 own_digest, with_kv = 0, without_kv = 0;

	fx_init(&a, 10006);
	for (int i = 0; i < N; i++) {
		long_id(&ids[i], 'a', 1000, (uint64_t)i, (uint16_t)(10000 + i));
		de[i] = dentry(&ids[i], 1, 0, 0);
		vals[i] = malloc(1001);
		ck_assert_ptr_nonnull(vals[i]);
		random_alnum(&a.env, vals[i], 1000);
		kvs[i] = kvop("key", vals[i], 1, CC_STATUS_SET);
		nds[i] = ndelta(&ids[i], 0, 0, &kvs[i], 1);
	}
	/* learned through a digest (heartbeat 1) */
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", de, N), 0);
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), N + 1);
	test_env_drop_all(&a.env);
	/* KVs through deltas (11 nodes per ACK: fits a datagram uncompressed) */
	for (int i = 0; i < N; i += 11)
		ck_assert_int_eq(deliver_ack(&a, &from, &nds[i], 11), 0);
	for (int i = 0; i < N; i++)
		ck_assert(kv_is(node_of(&a, &ids[i]), "key", vals[i]));
	ck_assert_uint_eq(a.env.n_sent, 0);

	/* a SYN with an empty digest */
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", NULL, 0), 0);
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert_uint_lt(d.len, CC_MAX_DATAGRAM);
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.type, CC_MSG_SYN_ACK);
	own_digest = cc_digest_encoded_len(&m.digest);
	ck_assert_uint_eq(m.digest.n, N + 1);
	ck_assert_uint_eq(own_digest, 57308);
	ck_assert_uint_eq(CC_MAX_DATAGRAM - 1 - own_digest, 8198);
	ck_assert_uint_le(d.len - 4 - own_digest, 8198);	/* delta within budget */
	ck_assert_uint_eq(m.delta.n, 4);
	for (size_t i = 0; i < m.delta.n; i++) {
		const struct cc_node_delta *x = &m.delta.nodes[i];

		ck_assert_uint_eq(x->from_version_excluded, 0);
		if (x->n_kvs == 1) {
			ck_assert_uint_eq(x->kvs[0].version, 1);
			with_kv++;
		} else {
			ck_assert_uint_eq(x->n_kvs, 0);
			ck_assert_uint_eq(x->max_version, 0);
			ck_assert_uint_eq(i, m.delta.n - 1);	/* the last one */
			without_kv++;
		}
	}
	ck_assert_uint_eq(with_kv, 3);
	ck_assert_uint_eq(without_kv, 1);
	cc_msg_clear(&m);
	test_dgram_free(&d);

	for (int i = 0; i < N; i++) {
		cc_id_clear(&ids[i]);
		free(vals[i]);
	}
	fx_free(&a);
}
END_TEST

/* ---- §4.2 message handling ------------------------------------------------------ */

START_TEST(test_msg_heartbeat_bumped_by_every_type)
{
	struct fx		a;
	struct cc_addr		from = test_addr4(40000);
	struct cc_msg		m;
	static const uint8_t	bad_cluster[] = { 0x53, 0xb0, 0x00, 0x03 };
	uint64_t		hb;

	fx_init(&a, 10001);
	hb = self_hb(&a);
	ck_assert_uint_eq(hb, 1);		/* §2.8: 1 at creation */

	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", NULL, 0), 0);
	ck_assert_uint_eq(self_hb(&a), ++hb);
	ck_assert_int_eq(deliver_syn(&a, &from, "another-cluster", NULL, 0), 0);
	ck_assert_uint_eq(self_hb(&a), ++hb);

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN_ACK;
	ck_assert_int_eq(deliver_msg(&a, &from, &m), 0);
	ck_assert_uint_eq(self_hb(&a), ++hb);
	ck_assert_int_eq(deliver_ack(&a, &from, NULL, 0), 0);
	ck_assert_uint_eq(self_hb(&a), ++hb);
	ck_assert_int_eq(cc_engine_recv(a.e, &from, bad_cluster, sizeof(bad_cluster)), 0);
	ck_assert_uint_eq(self_hb(&a), ++hb);

	/* our own entry in a digest is ignored (§4.6): +1 only */
	{
		struct cc_digest_entry de = dentry(&a.id, 1000, 0, 0);

		ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
		ck_assert_uint_eq(self_hb(&a), ++hb);
		ck_assert_uint_eq(cc_engine_num_nodes(a.e), 1);
	}

	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_by_type[CC_MSG_SYN], 3);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_by_type[CC_MSG_SYN_ACK], 1);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_by_type[CC_MSG_ACK], 1);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_by_type[CC_MSG_BAD_CLUSTER], 1);
	/* BAD_CLUSTER is answered by nothing */
	ck_assert_uint_eq(count_to(&a.env, &from), 4);	/* 2 SYN-ACKs, BAD_CLUSTER, ACK */
	fx_free(&a);
}
END_TEST

START_TEST(test_msg_other_cluster_syn_gets_bad_cluster)
{
	struct fx		a;
	struct cc_id		x;
	struct cc_digest_entry	de;
	struct cc_addr		from = test_addr4(40000);
	struct test_dgram	d;
	static const uint8_t	v1[] = { 0x53, 0xb0, 0x00, 0x03 };

	fx_init(&a, 10001);
	test_id(&x, 20002);		/* advertised 20002, sent from 40000 */
	de = dentry(&x, 5, 0, 3);
	ck_assert_int_eq(deliver_syn(&a, &from, "another-cluster", &de, 1), 0);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert(cc_addr_is_equal(&d.to, &from));
	ck_assert_uint_eq(d.len, 4);
	ck_assert_int_eq(memcmp(d.buf, v1, 4), 0);
	test_dgram_free(&d);
	/* the digest is not looked at */
	ck_assert_ptr_null(node_of(&a, &x));
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), 1);
	ck_assert_uint_eq(cc_engine_stats(a.e)->bad_cluster_rx, 1);
	/* exact byte comparison: a prefix or a case change is another cluster */
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluste", &de, 1), 0);
	ck_assert_int_eq(deliver_syn(&a, &from, "Default-cluster", &de, 1), 0);
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster\x01", &de, 1), 0);
	ck_assert_uint_eq(cc_engine_stats(a.e)->bad_cluster_rx, 4);
	ck_assert_ptr_null(node_of(&a, &x));

	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* SYN-ACK and ACK carry no cluster id and are processed whatever the
 * cluster of their sender (§4.1 RUST QUIRK). */
START_TEST(test_msg_other_cluster_synack_ack_processed)
{
	struct fx		a, b;
	struct cc_config	cfg;
	struct test_dgram	d;
	struct cc_msg		m;
	struct cc_wbuf		wb;

	test_config(&cfg, &a.id, 10001);
	cfg.cluster_id = "cluster-a";
	fx_start(&a, &cfg);
	test_config(&cfg, &b.id, 10002);
	cfg.cluster_id = "cluster-b";
	fx_start(&b, &cfg);
	set_kv(&a, "ka", "va");
	set_kv(&b, "kb", "vb");

	/* A's SYN, relabelled for B's cluster so that B answers it */
	ck_assert_int_eq(cc_engine_gossip(a.e, &b.env.self), 0);
	ck_assert(test_env_pop(&a.env, &d));
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.cluster_id_len, 9);
	ck_assert_int_eq(memcmp(m.cluster_id, "cluster-a", 9), 0);
	free(m.cluster_id);
	m.cluster_id = strdup("cluster-b");
	m.cluster_id_len = 9;
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, &m, NULL), 0);
	ck_assert_int_eq(cc_engine_recv(b.e, &a.env.self, wb.data, wb.len), 0);
	cc_wbuf_clear(&wb);
	cc_msg_clear(&m);
	test_dgram_free(&d);

	/* B's SYN-ACK to A (cluster-a): processed, ACK sent */
	ck_assert(test_env_pop(&b.env, &d));
	ck_assert_uint_eq(d.buf[3], CC_MSG_SYN_ACK);
	recv_ok(&a, &d);
	test_dgram_free(&d);
	ck_assert(kv_is(node_of(&a, &b.id), "kb", "vb"));
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert_uint_eq(d.buf[3], CC_MSG_ACK);
	ck_assert(cc_addr_is_equal(&d.to, &b.env.self));
	recv_ok(&b, &d);
	test_dgram_free(&d);
	ck_assert(kv_is(node_of(&b, &a.id), "ka", "va"));
	assert_sync(&a, &b);
	ck_assert_uint_eq(cc_engine_stats(a.e)->bad_cluster_rx, 0);
	ck_assert_uint_eq(cc_engine_stats(b.e)->bad_cluster_rx, 0);

	fx_free(&a);
	fx_free(&b);
}
END_TEST

START_TEST(test_msg_undecodable_dropped)
{
	struct fx		a;
	struct cc_addr		from = test_addr4(40000);
	static const uint8_t	junk[] = "junk";
	static const uint8_t	bad_magic[] = { 0x53, 0xb1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t	bad_proto[] = { 0x53, 0xb0, 0x01, 0x03 };
	static const uint8_t	short_hdr[] = { 0x53, 0xb0 };
	static const uint8_t	trunc_syn[] = { 0x53, 0xb0, 0x00, 0x00, 0x01, 0x00, 0x0a };
	/* ACK whose delta has a KV before any NODE (§3.6) */
	static const uint8_t	kv_first[] = { 0x53, 0xb0, 0x00, 0x02, 0x02, 0x10, 0x00,
		0x01, 0x01, 0x00, 0x6b, 0x01, 0x00, 0x76,
		0x01, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00 };
	const struct { const uint8_t *p; size_t len; } bad[] = {
		{ junk, 4 }, { bad_magic, sizeof(bad_magic) }, { bad_proto, sizeof(bad_proto) },
		{ short_hdr, sizeof(short_hdr) }, { trunc_syn, sizeof(trunc_syn) },
		{ kv_first, sizeof(kv_first) }, { junk, 0 },
	};
	uint64_t		hb;

	fx_init(&a, 10001);
	hb = self_hb(&a);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ck_assert_int_eq(cc_engine_recv(a.e, &from, bad[i].p, bad[i].len), -1);
		ck_assert_int_eq(errno, EBADMSG);
		ck_assert_uint_eq(self_hb(&a), hb);
		ck_assert_uint_eq(cc_engine_stats(a.e)->rx_decode_errors, i + 1);
	}
	ck_assert_uint_eq(a.env.n_sent, 0);
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), 1);
	fx_free(&a);
}
END_TEST

/* A8: junk, then a valid SYN: only the SYN is answered, to its source. */
START_TEST(test_A8_junk_then_valid_syn)
{
	struct fx		a, b;
	struct test_dgram	syn, d;

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	ck_assert_int_eq(cc_engine_recv(a.e, &b.env.self, (const uint8_t *)"junk", 4), -1);
	ck_assert_int_eq(cc_engine_gossip(b.e, &a.env.self), 0);
	ck_assert(test_env_pop(&b.env, &syn));
	recv_ok(&a, &syn);
	test_dgram_free(&syn);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert_uint_eq(d.buf[3], CC_MSG_SYN_ACK);
	ck_assert(cc_addr_is_equal(&d.to, &b.env.self));
	test_dgram_free(&d);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_decode_errors, 1);
	ck_assert_uint_eq(cc_engine_stats(a.e)->rx_by_type[CC_MSG_SYN], 1);
	ck_assert_ptr_nonnull(node_of(&a, &b.id));
	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* §3.1: replies go to the datagram's source, not to the advertised address. */
START_TEST(test_msg_reply_to_source_address)
{
	struct fx		a, b;
	struct test_dgram	syn, synack, ack;
	struct cc_addr		nat_b = test_addr4(45000), nat_a = test_addr4(45001);

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	set_kv(&a, "ka", "va");
	set_kv(&b, "kb", "vb");
	ck_assert_int_eq(cc_engine_gossip(b.e, &a.env.self), 0);
	ck_assert(test_env_pop(&b.env, &syn));
	ck_assert(cc_addr_is_equal(&syn.to, &a.env.self));
	ck_assert_int_eq(cc_engine_recv(a.e, &nat_b, syn.buf, syn.len), 0);
	ck_assert(test_env_pop(&a.env, &synack));
	ck_assert(cc_addr_is_equal(&synack.to, &nat_b));
	ck_assert_int_eq(cc_engine_recv(b.e, &nat_a, synack.buf, synack.len), 0);
	ck_assert(test_env_pop(&b.env, &ack));
	ck_assert(cc_addr_is_equal(&ack.to, &nat_a));
	ck_assert_int_eq(cc_engine_recv(a.e, &nat_b, ack.buf, ack.len), 0);
	ck_assert_uint_eq(a.env.n_sent, 0);
	/* the source address creates nothing: ids come from digests only */
	assert_sync(&a, &b);
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), 2);
	test_dgram_free(&syn);
	test_dgram_free(&synack);
	test_dgram_free(&ack);
	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* Liveness is evaluated at the end of a round only, never on receipt. */
START_TEST(test_msg_liveness_not_evaluated_on_receipt)
{
	struct fx		a;
	struct cc_id		x;
	struct cc_digest_entry	de;
	struct cc_addr		from = test_addr4(40000);

	fx_init(&a, 10001);
	test_id(&x, 20002);
	for (uint64_t hb = 1; hb <= 4; hb++) {
		de = dentry(&x, hb, 0, 0);
		ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
		fx_advance(&a, 50);
	}
	ck_assert_int_ne(cc_engine_liveness(a.e, &x), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_live(a.e), 1);
	cc_engine_update_liveness(a.e);
	ck_assert_int_eq(cc_engine_liveness(a.e, &x), CC_LIVENESS_LIVE);
	ck_assert_uint_eq(cc_engine_num_live(a.e), 2);
	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* §5.5: scheduled-for-deletion nodes are left out of digests and deltas,
 * but are still gossiped with as dead targets, and still take updates. */
START_TEST(test_scheduled_excluded_from_digest_and_delta)
{
	struct fx		 a;
	struct cc_config	 cfg;
	struct cc_id		 x;
	struct cc_digest_entry	 de;
	struct cc_kv_op		 kv[2];
	struct cc_node_delta	 nd;
	struct cc_addr		 from = test_addr4(40000);
	struct test_dgram	 d;
	struct cc_msg		 m;
	uint64_t		 t0;

	test_config(&cfg, &a.id, 10001);
	cfg.fd.dead_node_grace_period_ms = 10000;
	fx_start(&a, &cfg);
	set_kv(&a, "ka", "va");
	test_id(&x, 10003);
	de = dentry(&x, 1, 0, 1);
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
	kv[0] = kvop("kx", "vx", 1, CC_STATUS_SET);
	nd = ndelta(&x, 0, 0, &kv[0], 1);
	ck_assert_int_eq(deliver_ack(&a, &from, &nd, 1), 0);
	ck_assert(kv_is(node_of(&a, &x), "kx", "vx"));
	test_env_drop_all(&a.env);

	cc_engine_update_liveness(a.e);		/* never reported: dead now */
	t0 = a.env.now_ms;
	ck_assert_int_eq(cc_engine_liveness(a.e, &x), CC_LIVENESS_DEAD);
	fx_advance(&a, 5000);			/* tod + grace/2 == now: not yet */
	ck_assert_int_eq(cc_engine_liveness(a.e, &x), CC_LIVENESS_DEAD);
	ck_assert_int_eq(cc_engine_gossip(a.e, &from), 0);
	ck_assert(test_env_pop(&a.env, &d));
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.digest.n, 2);
	cc_msg_clear(&m);
	test_dgram_free(&d);

	fx_advance(&a, 1);			/* strictly after: scheduled */
	ck_assert_int_eq(cc_engine_liveness(a.e, &x), CC_LIVENESS_SCHEDULED);

	/* own SYN: digest without X */
	ck_assert_int_eq(cc_engine_gossip(a.e, &from), 0);
	ck_assert(test_env_pop(&a.env, &d));
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.digest.n, 1);
	ck_assert(cc_id_is_equal(&m.digest.entries[0].id, &a.id));
	cc_msg_clear(&m);
	test_dgram_free(&d);

	/* SYN-ACK to an empty digest: neither digest nor delta mention X */
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", NULL, 0), 0);
	ck_assert(test_env_pop(&a.env, &d));
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.digest.n, 1);
	ck_assert_uint_eq(m.delta.n, 1);
	ck_assert(cc_id_is_equal(&m.delta.nodes[0].id, &a.id));
	ck_assert_ptr_null(find_nd(&m.delta, &x));
	cc_msg_clear(&m);
	test_dgram_free(&d);

	/* ACK to a SYN-ACK with an empty digest: no delta about X either */
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN_ACK;
	ck_assert_int_eq(deliver_msg(&a, &from, &m), 0);
	ck_assert(test_env_pop(&a.env, &d));
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.type, CC_MSG_ACK);
	ck_assert_ptr_null(find_nd(&m.delta, &x));
	ck_assert_ptr_nonnull(find_nd(&m.delta, &a.id));
	cc_msg_clear(&m);
	test_dgram_free(&d);

	/* still takes delta updates (§4.5 DOC≠CODE) */
	kv[1] = kvop("kx2", "vx2", 2, CC_STATUS_SET);
	nd = ndelta(&x, 0, 1, &kv[1], 1);
	ck_assert_int_eq(deliver_ack(&a, &from, &nd, 1), 0);
	ck_assert(kv_is(node_of(&a, &x), "kx2", "vx2"));
	test_env_drop_all(&a.env);

	/* a round: nothing live, so X is a target (pool = peers) and, with
	 * p_dead = 1/(0+1), the dead target: two SYNs to X, without X inside */
	cc_engine_round(a.e);
	ck_assert_uint_eq(a.env.n_sent, 2);
	for (size_t i = 0; i < a.env.n_sent; i++) {
		ck_assert(cc_addr_is_equal(&a.env.sent[i].to, &x.addr));
		decode(a.env.sent[i].buf, a.env.sent[i].len, &m);
		ck_assert_uint_eq(m.type, CC_MSG_SYN);
		ck_assert_uint_eq(m.digest.n, 1);
		cc_msg_clear(&m);
	}
	ck_assert_ptr_nonnull(node_of(&a, &x));
	ck_assert_uint_eq(a.env.now_ms, t0 + 5001);

	/* node GC at tod + grace */
	fx_advance(&a, 4999);
	cc_engine_update_liveness(a.e);
	ck_assert_ptr_null(node_of(&a, &x));
	ck_assert(cc_engine_gc_nodes_has(a.e, &x, NULL));

	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* §4.6: a garbage-collected node comes back only with a higher heartbeat. */
START_TEST(test_gc_nodes_blocks_equal_heartbeat)
{
	struct fx		a;
	struct cc_config	cfg;
	struct cc_id		x;
	struct cc_digest_entry	de;
	struct cc_addr		from = test_addr4(40000);
	uint64_t		hb;

	test_config(&cfg, &a.id, 10001);
	cfg.fd.dead_node_grace_period_ms = 4000;
	fx_start(&a, &cfg);
	test_id(&x, 10003);
	de = dentry(&x, 5, 0, 0);
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
	cc_engine_update_liveness(a.e);
	fx_advance(&a, 4000);			/* now >= tod + grace */
	cc_engine_update_liveness(a.e);
	ck_assert_ptr_null(node_of(&a, &x));
	ck_assert(cc_engine_gc_nodes_has(a.e, &x, &hb));
	ck_assert_uint_eq(hb, 5);

	for (uint64_t h = 0; h <= 5; h++) {
		de = dentry(&x, h, 0, 0);
		ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
		ck_assert_ptr_null(node_of(&a, &x));
	}
	/* a SYN-ACK digest is handled the same way */
	{
		struct cc_msg m;

		memset(&m, 0, sizeof(m));
		m.type = CC_MSG_SYN_ACK;
		de = dentry(&x, 5, 0, 0);
		m.digest.entries = &de;
		m.digest.n = 1;
		ck_assert_int_eq(deliver_msg(&a, &from, &m), 0);
		ck_assert_ptr_null(node_of(&a, &x));
	}
	de = dentry(&x, 6, 0, 0);
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", &de, 1), 0);
	ck_assert_ptr_nonnull(node_of(&a, &x));
	ck_assert_uint_eq(cc_node_heartbeat(node_of(&a, &x)), 6);
	ck_assert_uint_eq(cc_node_max_version(node_of(&a, &x)), 0);
	ck_assert(!cc_engine_gc_nodes_has(a.e, &x, NULL));

	cc_id_clear(&x);
	fx_free(&a);
}
END_TEST

/* §4.4/§4.5: a peer holding a newer replica of our own id sends it, and
 * we apply it to our own state (restart with a reused ChitchatId). */
START_TEST(test_self_state_updated_by_delta)
{
	struct fx	a, b, a2;

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	set_kv(&a, "k1", "v1");
	set_kv(&a, "k2", "v2");
	handshake(&a, &b);
	ck_assert_uint_eq(cc_node_max_version(node_of(&b, &a.id)), 2);
	fx_free(&a);

	fx_init(&a2, 10001);		/* same ChitchatId, fresh state */
	ck_assert_uint_eq(cc_node_max_version(cc_engine_self_node(a2.e)), 0);
	handshake(&a2, &b);
	ck_assert_uint_eq(cc_node_max_version(cc_engine_self_node(a2.e)), 2);
	ck_assert(kv_is(cc_engine_self_node(a2.e), "k1", "v1"));
	ck_assert(kv_is(cc_engine_self_node(a2.e), "k2", "v2"));
	/* the next own write continues after the version learned */
	set_kv(&a2, "k3", "v3");
	ck_assert_uint_eq(cc_node_get(cc_engine_self_node(a2.e), "k3", 2)->version, 3);
	fx_free(&a2);
	fx_free(&b);
}
END_TEST

/* §4.5: deltas never create nodes. */
START_TEST(test_unknown_node_delta_ignored)
{
	struct fx		a;
	struct cc_id		y, z;
	struct cc_digest_entry	de;
	struct cc_kv_op		kvy, kvz;
	struct cc_node_delta	nd[2];
	struct cc_msg		m;
	struct cc_addr		from = test_addr4(40000);

	fx_init(&a, 10001);
	test_id(&y, 20002);
	test_id(&z, 20003);
	kvz = kvop("kz", "vz", 1, CC_STATUS_SET);
	nd[0] = ndelta(&z, 0, 0, &kvz, 1);
	ck_assert_int_eq(deliver_ack(&a, &from, nd, 1), 0);
	ck_assert_ptr_null(node_of(&a, &z));
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), 1);
	ck_assert_uint_eq(a.env.n_sent, 0);

	/* a SYN-ACK: its digest creates Y first, so Y's delta applies; Z's not */
	kvy = kvop("ky", "vy", 1, CC_STATUS_SET);
	nd[0] = ndelta(&y, 0, 0, &kvy, 1);
	nd[1] = ndelta(&z, 0, 0, &kvz, 1);
	de = dentry(&y, 3, 0, 1);
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN_ACK;
	m.digest.entries = &de;
	m.digest.n = 1;
	m.delta.nodes = nd;
	m.delta.n = 2;
	ck_assert_int_eq(deliver_msg(&a, &from, &m), 0);
	ck_assert(kv_is(node_of(&a, &y), "ky", "vy"));
	ck_assert_ptr_null(node_of(&a, &z));
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), 2);

	cc_id_clear(&y);
	cc_id_clear(&z);
	fx_free(&a);
}
END_TEST

/* §3.4 C-CHOICE: a SYN-ACK budget below 100 gives an empty delta. */
START_TEST(test_synack_budget_below_100_empty_delta)
{
	enum { N = 63 };
	struct fx		 a;
	struct cc_id		 ids[N + 1];
	struct cc_addr		 from = test_addr4(40000);
	struct test_dgram	 d;
	struct cc_msg		 m;
	uint64_t		 hb;

	fx_init(&a, 10001);
	set_kv(&a, "ka", "va");		/* something to send */
	/* own digest: 2 + 51 (self) + 62 x 1041 + (41 + 819) = 65,455 bytes */
	for (int i = 0; i < N - 1; i++)
		long_id(&ids[i], 'b', 1000, 0, (uint16_t)(20000 + i));
	long_id(&ids[N - 1], 'c', 819, 0, 21000);
	for (int i = 0; i < N; i++)
		cc_engine_report_heartbeat(a.e, &ids[i], 1);
	ck_assert_uint_eq(cc_engine_num_nodes(a.e), N + 1);

	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", NULL, 0), 0);
	ck_assert_uint_eq(a.env.n_sent, 1);
	ck_assert(test_env_pop(&a.env, &d));
	ck_assert_uint_le(d.len, CC_MAX_DATAGRAM);
	decode(d.buf, d.len, &m);
	ck_assert_uint_eq(m.type, CC_MSG_SYN_ACK);
	ck_assert_uint_eq(cc_digest_encoded_len(&m.digest), 65455);
	ck_assert_uint_lt(CC_MAX_DATAGRAM - 1 - 65455, CC_MIN_DELTA_MTU);
	ck_assert_uint_eq(m.delta.n, 0);
	ck_assert_uint_eq(d.len, 4 + 65455 + 1);
	ck_assert_uint_eq(cc_engine_stats(a.e)->empty_delta_budget, 1);
	cc_msg_clear(&m);
	test_dgram_free(&d);

	/* one more node: the digest alone is over 65,506 bytes. No crash, and
	 * nothing oversized is sent (the SYN-ACK cannot be sent at all) */
	long_id(&ids[N], 'd', 1000, 0, 22000);
	cc_engine_report_heartbeat(a.e, &ids[N], 1);
	hb = self_hb(&a);
	ck_assert_int_eq(deliver_syn(&a, &from, "default-cluster", NULL, 0), 0);
	ck_assert_uint_eq(self_hb(&a), hb + 1);
	assert_sent_fit(&a.env);
	ck_assert_uint_eq(a.env.n_sent, 0);
	ck_assert_uint_ge(cc_engine_stats(a.e)->tx_errors, 1);
	/* nor does a round */
	cc_engine_round(a.e);
	assert_sent_fit(&a.env);

	for (int i = 0; i <= N; i++)
		cc_id_clear(&ids[i]);
	fx_free(&a);
}
END_TEST

/* §3.1: no datagram above 65,507 bytes, even with incompressible values near
 * the 16 KiB per-KV limit (the -1 budget reserves 1 byte for a 4-byte
 * envelope). */
static void
set_big_values(struct fx *f, int n, char tag)
{
	char	key[16];
	size_t	vlen;
	char	*val;

	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%c%05d", tag, i);
		vlen = CC_MAX_KV_OP - CC_KV_OP_OVERHEAD - strlen(key);
		val = malloc(vlen + 1);
		ck_assert_ptr_nonnull(val);
		/* any byte 0x01..0x7f: 7 bits of entropy per byte, valid UTF-8 */
		for (size_t j = 0; j < vlen; j++)
			val[j] = (char)(1 + test_rand_u32(&f->env) % 127);
		val[vlen] = '\0';
		ck_assert_int_eq(cc_engine_set(f->e, key, strlen(key), val, vlen), 0);
		free(val);
	}
}

START_TEST(test_no_datagram_exceeds_max_payload)
{
	struct fx	a, b;
	struct hs	h;
	int		i;
	size_t		max_seen = 0;

	fx_init(&a, 10001);
	fx_init(&b, 10002);
	set_big_values(&a, 40, 'a');
	set_big_values(&b, 40, 'b');
	for (i = 0; i < 100; i++) {
		handshake_capture(i % 2 ? &b : &a, i % 2 ? &a : &b, &h);
		max_seen = h.synack.len > max_seen ? h.synack.len : max_seen;
		max_seen = h.ack.len > max_seen ? h.ack.len : max_seen;
		hs_free(&h);
		if (cc_node_num_visible(node_of(&b, &a.id)) == 40 &&
		    cc_node_num_visible(node_of(&a, &b.id)) == 40)
			break;
	}
	ck_assert_int_lt(i, 100);
	assert_sync(&a, &b);
	/* deltas were really cut by the budget, near the limit */
	ck_assert_uint_gt(max_seen, 40000);
	ck_assert_uint_le(max_seen, CC_MAX_DATAGRAM);
	/* rounds too */
	cc_engine_round(a.e);
	cc_engine_round(b.e);
	assert_sent_fit(&a.env);
	assert_sent_fit(&b.env);
	fx_free(&a);
	fx_free(&b);
}
END_TEST

/* ---- suite ------------------------------------------------------------------ */

static Suite *
engine_suite(void)
{
	Suite	*s = suite_create("engine");
	TCase	*f = tcase_create("F");
	TCase	*msg = tcase_create("message-handling");

	tcase_set_timeout(f, 300);
	tcase_add_test(f, test_F1_handshake);
	tcase_add_test(f, test_F2_dead_node_liveness);
	tcase_add_test(f, test_F3_no_reset_if_last_gc_version_is_higher);
	tcase_add_test(f, test_F4_listener);
	tcase_add_test(f, test_F5_catchup_callback);
	tcase_add_test(f, test_F6_reset_node_state);
	tcase_add_test(f, test_F7_reset_garbage_collected_node_state);
	tcase_add_test(f, test_F8_process_syn_budget_uses_own_digest);
	suite_add_tcase(s, f);

	tcase_set_timeout(msg, 300);
	tcase_add_test(msg, test_msg_heartbeat_bumped_by_every_type);
	tcase_add_test(msg, test_msg_other_cluster_syn_gets_bad_cluster);
	tcase_add_test(msg, test_msg_other_cluster_synack_ack_processed);
	tcase_add_test(msg, test_msg_undecodable_dropped);
	tcase_add_test(msg, test_A8_junk_then_valid_syn);
	tcase_add_test(msg, test_msg_reply_to_source_address);
	tcase_add_test(msg, test_msg_liveness_not_evaluated_on_receipt);
	tcase_add_test(msg, test_scheduled_excluded_from_digest_and_delta);
	tcase_add_test(msg, test_gc_nodes_blocks_equal_heartbeat);
	tcase_add_test(msg, test_self_state_updated_by_delta);
	tcase_add_test(msg, test_unknown_node_delta_ignored);
	tcase_add_test(msg, test_synack_budget_below_100_empty_delta);
	tcase_add_test(msg, test_no_datagram_exceeds_max_payload);
	suite_add_tcase(s, msg);
	return s;
}

CC_TEST_MAIN(engine_suite)
