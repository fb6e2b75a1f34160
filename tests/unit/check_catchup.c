/*
 * check_catchup.c: the catch-up side channel's codec (common/cc_catchup.c,
 * docs/CATCHUP.md) and the engine pieces it relies on: body round trips,
 * truncated, mutated and hostile frames rejected without a crash, size
 * limits, a whole multi-chunk state served from one engine and applied to
 * another with the reset API (also with writes and GC during the answer),
 * the answers other than FOUND, and the engine's reset events (the
 * reset API's NODE RESET, the `partial` flag of delta resets).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_catchup.h"
#include "cc_state.h"
#include "testutil.h"

#define SEED	0xC47CULL

/* ---- helpers -------------------------------------------------------------- */

static void
advance(struct test_engine *f, uint64_t ms)
{
	f->env.now_ms += ms;
}

static void
set_kv(struct test_engine *f, const char *k, const char *v)
{
	ck_assert_int_eq(cc_engine_set(f->e, k, strlen(k), v, strlen(v)), 0);
}

/* n keys "k%05d" with size-byte pseudo-random printable values. */
static void
fill(struct test_engine *f, size_t n, size_t size)
{
	char	key[32], *v = malloc(size + 1);

	ck_assert_ptr_nonnull(v);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < size; j++)
			v[j] = (char)('!' + test_rand_u32(&f->env) % 90);
		v[size] = '\0';
		snprintf(key, sizeof(key), "k%05zu", i);
		set_kv(f, key, v);
	}
	free(v);
}

/* Deletes every step-th key and GCs the tombstones: last_gc_version > 0. */
static void
delete_and_gc(struct test_engine *f, size_t n, size_t step)
{
	char key[32];

	for (size_t i = 0; i < n; i += step) {
		snprintf(key, sizeof(key), "k%05zu", i);
		ck_assert_int_eq(cc_engine_delete(f->e, key, strlen(key)), 0);
	}
	advance(f, 10001ULL * 1000);	/* past test_config's entry grace */
	cc_engine_gc_entries(f->e);
	ck_assert_uint_gt(cc_node_last_gc_version(cc_engine_self_node(f->e)), 0);
}

static void
request_of(struct cc_catchup_request *r, const struct test_engine *a, const struct cc_id *id,
    uint64_t gc, uint64_t max)
{
	const char *cluster = cc_engine_cluster_id(a->e);

	memset(r, 0, sizeof(*r));
	r->version = CC_CATCHUP_VERSION;
	r->cluster_id = (char *)(uintptr_t)cluster;
	r->cluster_id_len = strlen(cluster);
	r->id = *id;
	r->last_gc_version = gc;
	r->max_version = max;
}

/* Encodes a request, decodes it as the server does, starts the answer into *out. */
static int
start_answer(struct test_engine *a, const struct cc_catchup_request *r,
    struct cc_catchup_tx *tx, struct cc_wbuf *out)
{
	struct cc_catchup_request	got;
	struct cc_wbuf			wb;
	int				st;

	cc_wbuf_init(&wb);
	cc_catchup_request_encode(&wb, r);
	ck_assert_int_eq(wb.err, 0);
	ck_assert_int_eq(cc_catchup_request_decode(wb.data, wb.len, &got), 0);
	cc_wbuf_reset(out);
	st = cc_catchup_tx_start(tx, a->e, &got, out);
	cc_catchup_request_clear(&got);
	cc_wbuf_clear(&wb);
	return st;
}

/*
 * Serves a's node id to rx, one body at a time; between chunks, mid(a, k)
 * (if not NULL) runs after the k-th chunk. Returns the number of chunks.
 */
static size_t
transfer(struct test_engine *a, const struct cc_catchup_request *r, struct cc_catchup_rx *rx,
    void (*mid)(struct test_engine *, size_t))
{
	struct cc_catchup_tx	tx;
	struct cc_wbuf		out;
	size_t			chunks = 0;
	int			rc;

	cc_wbuf_init(&out);
	(void)start_answer(a, r, &tx, &out);
	rc = cc_catchup_rx_feed(rx, out.data, out.len);
	while (rc == 0) {
		ck_assert(!tx.done);
		cc_wbuf_reset(&out);
		ck_assert_int_eq(cc_catchup_tx_next(&tx, a->e, NULL, &out), 0);
		ck_assert_uint_le(out.len, CC_CATCHUP_MAX_FRAME);
		if (out.data[0] == CC_CATCHUP_CHUNK && mid != NULL)
			mid(a, ++chunks);
		else if (out.data[0] == CC_CATCHUP_CHUNK)
			chunks++;
		rc = cc_catchup_rx_feed(rx, out.data, out.len);
		ck_assert_msg(rc != -1, "rx: %s", rx->why);
	}
	ck_assert_int_eq(rc, 1);
	ck_assert(tx.done);
	cc_catchup_tx_clear(&tx);
	cc_wbuf_clear(&out);
	return chunks;
}

/* b's replica of id equals a's node id, entry for entry (tombstones included). */
static void
assert_same_state(const struct test_engine *a, const struct test_engine *b,
    const struct cc_id *id)
{
	const struct cc_node	*na = cc_engine_node(a->e, id), *nb = cc_engine_node(b->e, id);
	const struct cc_kv	*kv, *got;

	ck_assert_ptr_nonnull(na);
	ck_assert_ptr_nonnull(nb);
	ck_assert_uint_eq(cc_node_num_stored(na), cc_node_num_stored(nb));
	ck_assert_uint_eq(cc_node_num_visible(na), cc_node_num_visible(nb));
	ck_assert_uint_eq(cc_node_last_gc_version(na), cc_node_last_gc_version(nb));
	ck_assert_uint_eq(cc_node_max_version(na), cc_node_max_version(nb));
	ck_assert_uint_eq(cc_node_bytes(na), cc_node_bytes(nb));
	for (kv = cc_node_prefix_first(na, "", 0, true); kv != NULL;
	    kv = cc_node_prefix_next(na, kv, "", 0, true)) {
		got = cc_node_get_versioned(nb, kv->key, kv->key_len);
		ck_assert_ptr_nonnull(got);
		ck_assert_uint_eq(got->version, kv->version);
		ck_assert_int_eq(got->status, kv->status);
		ck_assert_uint_eq(got->value_len, kv->value_len);
		ck_assert(memcmp(got->value, kv->value, kv->value_len) == 0);
	}
}

/* Applies a complete answer to b with the reset API. */
static void
apply(struct test_engine *b, const struct cc_catchup_rx *rx)
{
	ck_assert_int_eq(rx->state, CC_CATCHUP_RX_DONE);
	ck_assert_int_eq(rx->hdr.status, CC_CATCHUP_FOUND);
	ck_assert_int_eq(rx->end.status, CC_CATCHUP_COMPLETE);
	ck_assert_int_eq(cc_engine_reset_node_state(b->e, &rx->id, rx->entries, rx->n,
	    rx->end.max_version, rx->end.last_gc_version), 0);
}

/* Every strict prefix of body, and body plus a byte, fails decode(). */
static void
assert_exact_length(const struct cc_wbuf *body,
    int (*decode)(const uint8_t *, size_t, void *), void *out)
{
	uint8_t *copy = malloc(body->len + 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, body->data, body->len);
	copy[body->len] = 0;
	for (size_t n = 0; n < body->len; n++) {
		errno = 0;
		ck_assert_msg(decode(copy, n, out) == -1, "a %zu-byte prefix decoded", n);
		ck_assert_int_eq(errno, EBADMSG);
	}
	ck_assert_int_eq(decode(copy, body->len + 1, out), -1);
	free(copy);
}

static int
dec_header(const uint8_t *p, size_t n, void *out)
{
	return cc_catchup_header_decode(p, n, out);
}

static int
dec_end(const uint8_t *p, size_t n, void *out)
{
	return cc_catchup_end_decode(p, n, out);
}

static int
dec_request(const uint8_t *p, size_t n, void *out)
{
	int rc = cc_catchup_request_decode(p, n, out);

	if (rc == 0)
		cc_catchup_request_clear(out);
	return rc;
}

static int
dec_chunk(const uint8_t *p, size_t n, void *out)
{
	int rc = cc_catchup_chunk_decode(p, n, out, NULL);

	if (rc == 0)
		cc_delta_clear(out);
	return rc;
}

/* ---- frames --------------------------------------------------------------- */

START_TEST(test_length_prefix)
{
	struct cc_wbuf	wb;
	size_t		len = 0;

	cc_wbuf_init(&wb);
	cc_catchup_put_prefix(&wb, 300000);
	ck_assert_uint_eq(wb.len, CC_CATCHUP_PREFIX);
	ck_assert(wb.data[0] == 0xe0 && wb.data[1] == 0x93 && wb.data[2] == 0x04 &&
	    wb.data[3] == 0);	/* little-endian */
	ck_assert_int_eq(cc_catchup_get_prefix(wb.data, CC_CATCHUP_MAX_FRAME, &len), 0);
	ck_assert_uint_eq(len, 300000);
	/* oversized and empty frames are refused before anything is buffered */
	errno = 0;
	ck_assert_int_eq(cc_catchup_get_prefix(wb.data, 299999, &len), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	cc_wbuf_reset(&wb);
	cc_catchup_put_prefix(&wb, 0);
	ck_assert_int_eq(cc_catchup_get_prefix(wb.data, CC_CATCHUP_MAX_FRAME, &len), -1);
	cc_wbuf_reset(&wb);
	cc_catchup_put_prefix(&wb, 0xffffffffu);
	ck_assert_int_eq(cc_catchup_get_prefix(wb.data, CC_CATCHUP_MAX_FRAME, &len), -1);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_bodies_round_trip_and_exact_length)
{
	struct cc_catchup_request	r, got;
	struct cc_catchup_header	h, hg;
	struct cc_catchup_end		e, eg;
	struct cc_id			id;
	struct cc_wbuf			wb;

	cc_wbuf_init(&wb);
	test_id_named(&id, "node-é", 1700000000000000001ULL, 7281);
	memset(&r, 0, sizeof(r));
	r.version = CC_CATCHUP_VERSION;
	r.cluster_id = (char *)"prod";
	r.cluster_id_len = 4;
	r.id = id;
	r.last_gc_version = 17;
	r.max_version = 12;
	cc_catchup_request_encode(&wb, &r);
	ck_assert_int_eq(wb.data[0], CC_CATCHUP_REQUEST);
	ck_assert(memcmp(wb.data + 1, "ccup", 4) == 0);
	ck_assert_int_eq(cc_catchup_request_decode(wb.data, wb.len, &got), 0);
	ck_assert_int_eq(got.version, CC_CATCHUP_VERSION);
	ck_assert_uint_eq(got.cluster_id_len, 4);
	ck_assert_str_eq(got.cluster_id, "prod");
	ck_assert(cc_id_is_equal(&got.id, &id));
	ck_assert_uint_eq(got.last_gc_version, 17);
	ck_assert_uint_eq(got.max_version, 12);
	cc_catchup_request_clear(&got);
	assert_exact_length(&wb, dec_request, &got);
	/* bad magic */
	wb.data[2] ^= 0x40;
	ck_assert_int_eq(cc_catchup_request_decode(wb.data, wb.len, &got), -1);
	/* a later protocol version: the version alone is read (the server answers BAD_VERSION) */
	wb.data[2] ^= 0x40;
	wb.data[5] = 2;
	ck_assert_int_eq(cc_catchup_request_decode(wb.data, wb.len, &got), 0);
	ck_assert_int_eq(got.version, 2);
	cc_catchup_request_clear(&got);

	cc_wbuf_reset(&wb);
	memset(&h, 0, sizeof(h));
	h.version = CC_CATCHUP_VERSION;
	h.status = CC_CATCHUP_FOUND;
	h.heartbeat = 99;
	h.last_gc_version = 5;
	h.max_version = UINT64_MAX;
	cc_catchup_header_encode(&wb, &h);
	ck_assert_uint_eq(wb.len, 31);
	ck_assert_int_eq(cc_catchup_header_decode(wb.data, wb.len, &hg), 0);
	ck_assert(memcmp(&h, &hg, sizeof(h)) == 0);
	assert_exact_length(&wb, dec_header, &hg);
	wb.data[6] = 6;		/* unknown status */
	ck_assert_int_eq(cc_catchup_header_decode(wb.data, wb.len, &hg), -1);
	wb.data[0] = CC_CATCHUP_END;	/* wrong type */
	ck_assert_int_eq(cc_catchup_header_decode(wb.data, wb.len, &hg), -1);

	cc_wbuf_reset(&wb);
	memset(&e, 0, sizeof(e));
	e.status = CC_CATCHUP_ABORTED;
	e.heartbeat = 3;
	e.last_gc_version = 4;
	e.max_version = 5;
	e.n_entries = 6;
	cc_catchup_end_encode(&wb, &e);
	ck_assert_uint_eq(wb.len, 34);
	ck_assert_int_eq(cc_catchup_end_decode(wb.data, wb.len, &eg), 0);
	ck_assert(memcmp(&e, &eg, sizeof(e)) == 0);
	assert_exact_length(&wb, dec_end, &eg);

	ck_assert_int_eq(cc_catchup_body_type(NULL, 0, &h.status), -1);
	cc_id_clear(&id);
	cc_wbuf_clear(&wb);
}
END_TEST

/* ---- a whole state ------------------------------------------------------------ */

START_TEST(test_whole_state_in_chunks_applied_by_the_reset_api)
{
	struct test_engine		a, b;
	struct cc_catchup_request	r;
	struct cc_catchup_rx		rx;
	const struct cc_id		*ida;
	size_t				chunks;

	test_engine_init(&a, 10001, SEED);
	test_engine_init(&b, 10002, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 3000, 200);		/* ~630 KB, ~500 KB compressed: several chunks */
	delete_and_gc(&a, 3000, 7);
	ck_assert_int_eq(cc_engine_delete(a.e, "k00001", 6), 0);	/* a live tombstone */
	ck_assert_int_eq(cc_engine_delete_after_ttl(a.e, "k00002", 6), 0);
	set_kv(&a, "", "the empty key");

	/* b's replica as a reset left it: empty, with a's GC horizon */
	request_of(&r, &a, ida, 0, 0);
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	chunks = transfer(&a, &r, &rx, NULL);
	ck_assert_uint_ge(chunks, 2);
	ck_assert_uint_eq(rx.n, cc_node_num_stored(cc_engine_self_node(a.e)));
	ck_assert_uint_eq(rx.end.n_entries, rx.n);
	ck_assert_uint_eq(rx.bytes, cc_node_bytes(cc_engine_self_node(a.e)));
	apply(&b, &rx);
	assert_same_state(&a, &b, ida);
	cc_catchup_rx_clear(&rx);
	test_engine_free(&a);
	test_engine_free(&b);
}
END_TEST

/* Overwrites a key already sent and adds one: both move above the cursor. */
static void
write_after_first_chunk(struct test_engine *a, size_t k)
{
	if (k != 1)
		return;
	set_kv(a, "k00003", "rewritten while the answer was streaming");
	set_kv(a, "zz-new", "added while the answer was streaming");
}

START_TEST(test_writes_during_the_answer_are_picked_up)
{
	struct test_engine		a, b;
	struct cc_catchup_request	r;
	struct cc_catchup_rx		rx;
	const struct cc_id		*ida;
	const struct cc_kv		*kv;

	test_engine_init(&a, 10001, SEED);
	test_engine_init(&b, 10002, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 3000, 200);
	request_of(&r, &a, ida, 0, 0);
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	ck_assert_uint_ge(transfer(&a, &r, &rx, write_after_first_chunk), 2);
	ck_assert_uint_eq(rx.n, 3002);		/* k00003 twice, in version order */
	apply(&b, &rx);
	assert_same_state(&a, &b, ida);
	kv = cc_node_get(cc_engine_node(b.e, ida), "k00003", 6);
	ck_assert_ptr_nonnull(kv);
	ck_assert_uint_eq(kv->value_len, strlen("rewritten while the answer was streaming"));
	cc_catchup_rx_clear(&rx);
	test_engine_free(&a);
	test_engine_free(&b);
}
END_TEST

/* GC after the first chunk: what was sent may belong to a state that is gone. */
static void
gc_after_first_chunk(struct test_engine *a, size_t k)
{
	if (k == 1)
		delete_and_gc(a, 3000, 1000);
}

START_TEST(test_gc_during_the_answer_aborts_it)
{
	struct test_engine		a;
	struct cc_catchup_request	r;
	struct cc_catchup_rx		rx;
	const struct cc_id		*ida;

	test_engine_init(&a, 10001, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 3000, 200);
	request_of(&r, &a, ida, 0, 0);
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	ck_assert_uint_eq(transfer(&a, &r, &rx, gc_after_first_chunk), 1);
	ck_assert_int_eq(rx.state, CC_CATCHUP_RX_DONE);
	ck_assert_int_eq(rx.end.status, CC_CATCHUP_ABORTED);
	cc_catchup_rx_clear(&rx);
	test_engine_free(&a);
}
END_TEST

START_TEST(test_answers_other_than_found)
{
	struct test_engine		a;
	struct cc_catchup_request	r;
	struct cc_catchup_tx		tx;
	struct cc_catchup_rx		rx;
	struct cc_wbuf			out;
	struct cc_id			unknown;
	const struct cc_id		*ida;
	uint64_t			max;

	test_engine_init(&a, 10001, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 10, 10);
	delete_and_gc(&a, 10, 5);
	max = cc_node_max_version(cc_engine_self_node(a.e));
	cc_wbuf_init(&out);

	request_of(&r, &a, ida, 0, max);		/* the client has it all */
	ck_assert_int_eq(start_answer(&a, &r, &tx, &out), CC_CATCHUP_UP_TO_DATE);
	ck_assert(tx.done);
	cc_catchup_tx_clear(&tx);
	request_of(&r, &a, ida, 1000, 0);		/* the client's GC is ahead */
	ck_assert_int_eq(start_answer(&a, &r, &tx, &out), CC_CATCHUP_UP_TO_DATE);
	cc_catchup_tx_clear(&tx);
	test_id(&unknown, 10099);
	request_of(&r, &a, &unknown, 0, 0);
	ck_assert_int_eq(start_answer(&a, &r, &tx, &out), CC_CATCHUP_NOT_FOUND);
	cc_catchup_tx_clear(&tx);
	request_of(&r, &a, ida, 0, 0);
	r.cluster_id = (char *)"another-cluster";
	r.cluster_id_len = strlen(r.cluster_id);
	ck_assert_int_eq(start_answer(&a, &r, &tx, &out), CC_CATCHUP_WRONG_CLUSTER);
	cc_catchup_tx_clear(&tx);
	request_of(&r, &a, ida, 0, 0);
	r.version = 2;
	ck_assert_int_eq(start_answer(&a, &r, &tx, &out), CC_CATCHUP_BAD_VERSION);
	ck_assert(tx.done);
	/* the client takes any of these as a complete answer without entries */
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 10, 100), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, out.data, out.len), 1);
	ck_assert_int_eq(rx.hdr.status, CC_CATCHUP_BAD_VERSION);
	ck_assert_int_eq(rx.hdr.version, CC_CATCHUP_VERSION);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, out.data, out.len), -1);	/* after the end */
	cc_catchup_rx_clear(&rx);
	cc_catchup_tx_clear(&tx);
	cc_id_clear(&unknown);
	cc_wbuf_clear(&out);
	test_engine_free(&a);
}
END_TEST

/* ---- hostile answers ------------------------------------------------------------ */

/* The bodies of a FOUND answer of a's own state (caller frees each and the array). */
static struct cc_wbuf *
answer_bodies(struct test_engine *a, size_t *n)
{
	struct cc_catchup_request	 r;
	struct cc_catchup_tx		 tx;
	struct cc_wbuf			*v = calloc(64, sizeof(*v));

	ck_assert_ptr_nonnull(v);
	request_of(&r, a, cc_engine_self_id(a->e), 0, 0);
	ck_assert_int_eq(start_answer(a, &r, &tx, &v[0]), CC_CATCHUP_FOUND);
	for (*n = 1; !tx.done; (*n)++) {
		ck_assert_uint_lt(*n, 64);
		cc_wbuf_init(&v[*n]);
		ck_assert_int_eq(cc_catchup_tx_next(&tx, a->e, NULL, &v[*n]), 0);
	}
	cc_catchup_tx_clear(&tx);
	return v;
}

static void
bodies_free(struct cc_wbuf *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cc_wbuf_clear(&v[i]);
	free(v);
}

/* Feeds bodies[0..n) to a fresh rx for id; returns the last result. */
static int
feed_all(struct cc_catchup_rx *rx, const struct cc_id *id, struct cc_wbuf *v, size_t n,
    size_t max_entries, uint64_t max_bytes)
{
	int rc = 0;

	ck_assert_int_eq(cc_catchup_rx_init(rx, id, max_entries, max_bytes), 0);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = cc_catchup_rx_feed(rx, v[i].data, v[i].len);
	return rc;
}

START_TEST(test_limits_refuse_oversized_answers)
{
	struct test_engine	 a;
	struct cc_catchup_rx	 rx;
	struct cc_wbuf		*v;
	size_t			 n;
	const struct cc_id	*ida;

	test_engine_init(&a, 10001, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 3000, 200);
	v = answer_bodies(&a, &n);
	ck_assert_uint_ge(n, 4);
	ck_assert_int_eq(feed_all(&rx, ida, v, n, 100000, 1 << 30), 1);
	cc_catchup_rx_clear(&rx);
	/* one entry too many */
	errno = 0;
	ck_assert_int_eq(feed_all(&rx, ida, v, n, 2999, 1 << 30), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_ptr_nonnull(rx.why);
	cc_catchup_rx_clear(&rx);
	/* one byte too many */
	errno = 0;
	ck_assert_int_eq(feed_all(&rx, ida, v, n, 100000,
	    cc_node_bytes(cc_engine_self_node(a.e)) - 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	cc_catchup_rx_clear(&rx);
	bodies_free(v, n);
	test_engine_free(&a);
}
END_TEST

START_TEST(test_hostile_answers_are_rejected)
{
	struct test_engine	 a, other;
	struct cc_catchup_rx	 rx;
	struct cc_catchup_end	 end;
	struct cc_delta		 d;
	struct cc_wbuf		*v, *w, chunk;
	size_t			 n, nw;
	const struct cc_id	*ida;

	test_engine_init(&a, 10001, SEED);
	test_engine_init(&other, 10003, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 3000, 200);
	fill(&other, 3000, 200);
	v = answer_bodies(&a, &n);
	w = answer_bodies(&other, &nw);

	/* a chunk before the header */
	ck_assert_int_eq(feed_all(&rx, ida, &v[1], 1, 100000, 1 << 30), -1);
	cc_catchup_rx_clear(&rx);
	/* a chunk of another node */
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, v[0].data, v[0].len), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, w[1].data, w[1].len), -1);
	ck_assert_str_eq(rx.why, "chunk of another node");
	cc_catchup_rx_clear(&rx);
	/* chunks out of order: the second one twice */
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(cc_catchup_rx_feed(&rx, v[i].data, v[i].len), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, v[2].data, v[2].len), -1);
	ck_assert_str_eq(rx.why, "chunk out of version order");
	cc_catchup_rx_clear(&rx);
	/* a chunk missing: the end counts other entries */
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	for (size_t i = 0; i < n; i++)
		if (i != 2)
			(void)cc_catchup_rx_feed(&rx, v[i].data, v[i].len);
	ck_assert_int_eq(rx.state, CC_CATCHUP_RX_DONE);
	cc_catchup_rx_clear(&rx);
	ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, v[0].data, v[0].len), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, v[1].data, v[1].len), 0);
	ck_assert_int_eq(cc_catchup_rx_feed(&rx, v[n - 1].data, v[n - 1].len), -1);
	ck_assert_str_eq(rx.why, "end counts other entries than received");
	cc_catchup_rx_clear(&rx);
	/* an end whose max_version is below the entries */
	ck_assert_int_eq(cc_catchup_end_decode(v[n - 1].data, v[n - 1].len, &end), 0);
	end.max_version = 3;
	cc_wbuf_reset(&v[n - 1]);
	cc_catchup_end_encode(&v[n - 1], &end);
	ck_assert_int_eq(feed_all(&rx, ida, v, n, 100000, 1 << 30), -1);
	cc_catchup_rx_clear(&rx);
	/* a chunk without KVs (a SET_MAX_VERSION alone) */
	memset(&d, 0, sizeof(d));
	d.n = 1;
	d.nodes = calloc(1, sizeof(*d.nodes));
	ck_assert_ptr_nonnull(d.nodes);
	ck_assert_int_eq(cc_id_copy(&d.nodes[0].id, ida), 0);
	d.nodes[0].max_version = 5000;
	cc_wbuf_init(&chunk);
	cc_wbuf_u8(&chunk, CC_CATCHUP_CHUNK);
	ck_assert_int_eq(cc_delta_encode(&chunk, &d, NULL), 0);
	cc_delta_clear(&d);
	ck_assert_int_eq(dec_chunk(chunk.data, chunk.len, &d), -1);
	/* trailing bytes after the delta */
	ck_assert_int_eq(cc_catchup_chunk_decode(v[1].data, v[1].len - 1, &d, NULL), -1);
	cc_wbuf_u8(&v[1], 0);
	ck_assert_int_eq(cc_catchup_chunk_decode(v[1].data, v[1].len, &d, NULL), -1);
	v[1].len--;
	ck_assert_int_eq(dec_chunk(v[1].data, v[1].len, &d), 0);
	cc_wbuf_clear(&chunk);
	cc_delta_clear(&d);

	bodies_free(v, n);
	bodies_free(w, nw);
	test_engine_free(&a);
	test_engine_free(&other);
}
END_TEST

/* Truncations and byte flips of every body of an answer: rejected or accepted, never a crash. */
START_TEST(test_mutated_answers_never_crash)
{
	struct test_engine	 a;
	struct test_env		 rnd;
	struct cc_catchup_rx	 rx;
	struct cc_wbuf		*v;
	struct cc_addr		 self = test_addr4(1);
	size_t			 n, rejected = 0;
	const struct cc_id	*ida;

	test_engine_init(&a, 10001, SEED);
	test_env_init(&rnd, &self, SEED);
	ida = cc_engine_self_id(a.e);
	fill(&a, 300, 100);
	set_kv(&a, "aaaa", "bbbb");	/* compressible: zstd blocks too */
	v = answer_bodies(&a, &n);
	for (int round = 0; round < 400; round++) {
		size_t	 i = test_rand_u32(&rnd) % n, len = v[i].len;
		uint8_t	*copy = malloc(len);
		int	 rc = 0;

		ck_assert_ptr_nonnull(copy);
		memcpy(copy, v[i].data, len);
		if (round % 2 == 0)
			len = test_rand_u32(&rnd) % len;
		else
			for (int k = 0; k < 4; k++)
				copy[test_rand_u32(&rnd) % len] ^= (uint8_t)(1 + test_rand_u32(&rnd) % 255);
		ck_assert_int_eq(cc_catchup_rx_init(&rx, ida, 100000, 1 << 30), 0);
		for (size_t j = 0; j < n && rc == 0; j++)
			rc = j == i ? cc_catchup_rx_feed(&rx, copy, len) :
			    cc_catchup_rx_feed(&rx, v[j].data, v[j].len);
		rejected += rc == -1;
		cc_catchup_rx_clear(&rx);
		free(copy);
	}
	ck_assert_uint_ge(rejected, 200);	/* every truncation, most flips */
	/* truncated chunk bodies, every length */
	for (size_t len = 0; len < v[1].len; len++) {
		struct cc_delta d;

		ck_assert_int_eq(cc_catchup_chunk_decode(v[1].data, len, &d, NULL), -1);
	}
	bodies_free(v, n);
	test_env_clear(&rnd);
	test_engine_free(&a);
}
END_TEST

/* ---- engine ------------------------------------------------------------------------ */

struct seen {
	size_t	kv_events;
	size_t	resets;
	size_t	partial;
	size_t	kv_after_reset;
};

static void
record(struct test_env *te, const struct cc_event *ev)
{
	struct seen *s = te->user;

	if (ev->type == CC_EVENT_KV && s->resets > 0)
		s->kv_after_reset++;
	if (ev->type == CC_EVENT_KV)
		s->kv_events++;
	if (ev->type == CC_EVENT_NODE && ev->change == CC_NODE_RESET) {
		s->resets++;
		s->partial += ev->partial;
	}
}

START_TEST(test_reset_api_reports_reset_after_its_entries)
{
	struct test_engine	 b;
	struct seen		 s;
	struct cc_id		 x;
	struct cc_kv		*e;
	char			(*keys)[32];
	const size_t		 n = 20000;

	test_engine_init(&b, 10002, SEED);
	memset(&s, 0, sizeof(s));
	b.env.user = &s;
	b.env.on_event = record;
	test_id(&x, 10005);
	e = calloc(n, sizeof(*e));
	keys = calloc(n, sizeof(*keys));
	ck_assert(e != NULL && keys != NULL);
	/* a large state, with one key twice (as an answer with a rewrite carries it) */
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%05zu", i % (n - 1));
		e[i].key = keys[i];
		e[i].key_len = strlen(keys[i]);
		e[i].value = "v";
		e[i].value_len = 1;
		e[i].version = i + 1;
		e[i].status = CC_STATUS_SET;
	}
	ck_assert_int_eq(cc_engine_reset_node_state(b.e, &x, e, n, n, 7), 0);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_node(b.e, &x)), n - 1);
	ck_assert_uint_eq(cc_node_max_version(cc_engine_node(b.e, &x)), n);
	ck_assert_uint_eq(s.kv_events, n);
	ck_assert_uint_eq(s.resets, 1);
	ck_assert_uint_eq(s.partial, 0);
	ck_assert_uint_eq(s.kv_after_reset, 0);
	/* the second half only: the first half goes, without events */
	ck_assert_int_eq(cc_engine_reset_node_state(b.e, &x, e + n / 2, n / 2, n + 1, 8), 0);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_node(b.e, &x)), n / 2);
	ck_assert_uint_eq(s.resets, 2);
	/* skipped (already up to date): no event */
	ck_assert_int_eq(cc_engine_reset_node_state(b.e, &x, e, 1, 2, 8), 0);
	ck_assert_uint_eq(s.resets, 2);
	free(e);
	free(keys);
	cc_id_clear(&x);
	test_engine_free(&b);
}
END_TEST

/* A node delta followed by another one was not cut: only the last reset is partial. */
START_TEST(test_delta_resets_mark_only_the_last_as_partial)
{
	struct test_engine	 b;
	struct seen		 s;
	struct cc_id		 x, y;
	struct cc_msg		 m;
	struct cc_kv_op		 kv;
	struct cc_wbuf		 wb;
	struct cc_addr		 from = test_addr4(10005);

	test_engine_init(&b, 10002, SEED);
	memset(&s, 0, sizeof(s));
	b.env.user = &s;
	b.env.on_event = record;
	test_id(&x, 10005);
	test_id(&y, 10006);
	cc_engine_report_heartbeat(b.e, &x, 1);	/* replicas: gc 0, max 0 */
	cc_engine_report_heartbeat(b.e, &y, 1);
	memset(&m, 0, sizeof(m));
	memset(&kv, 0, sizeof(kv));
	kv.key = (char *)"a";
	kv.key_len = 1;
	kv.value = (char *)"1";
	kv.value_len = 1;
	kv.version = 9;
	m.type = CC_MSG_ACK;
	m.delta.n = 2;
	m.delta.nodes = calloc(2, sizeof(*m.delta.nodes));
	ck_assert_ptr_nonnull(m.delta.nodes);
	m.delta.nodes[0].id = x;
	m.delta.nodes[1].id = y;
	for (int i = 0; i < 2; i++) {
		m.delta.nodes[i].last_gc_version = 5;	/* incompatible, from 0: reset */
		m.delta.nodes[i].kvs = &kv;
		m.delta.nodes[i].n_kvs = 1;
		m.delta.nodes[i].max_version = 9;
	}
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, &m, NULL), 0);
	free(m.delta.nodes);
	ck_assert_int_eq(cc_engine_recv(b.e, &from, wb.data, wb.len), 0);
	ck_assert_uint_eq(s.resets, 2);
	ck_assert_uint_eq(s.partial, 1);
	ck_assert_uint_eq(b.env.n_catchup, 1);
	cc_wbuf_clear(&wb);
	cc_id_clear(&x);
	cc_id_clear(&y);
	test_engine_free(&b);
}
END_TEST

static Suite *
catchup_suite(void)
{
	Suite	*s = suite_create("catchup");
	TCase	*tc = tcase_create("catchup");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_length_prefix);
	tcase_add_test(tc, test_bodies_round_trip_and_exact_length);
	tcase_add_test(tc, test_whole_state_in_chunks_applied_by_the_reset_api);
	tcase_add_test(tc, test_writes_during_the_answer_are_picked_up);
	tcase_add_test(tc, test_gc_during_the_answer_aborts_it);
	tcase_add_test(tc, test_answers_other_than_found);
	tcase_add_test(tc, test_limits_refuse_oversized_answers);
	tcase_add_test(tc, test_hostile_answers_are_rejected);
	tcase_add_test(tc, test_mutated_answers_never_crash);
	tcase_add_test(tc, test_reset_api_reports_reset_after_its_entries);
	tcase_add_test(tc, test_delta_resets_mark_only_the_last_as_partial);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(catchup_suite)
