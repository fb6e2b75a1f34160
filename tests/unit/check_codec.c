/*
 * check_codec.c: the wire codec (PROTOCOL.md §3): catalogue groups A
 * (wire encoding) and B (delta builder), the §3.7 golden vectors V1-V10,
 * and decoder robustness: truncations, rejection rules, zstd bombs, and
 * 200,000 seeded random and mutated datagrams.
 *
 * Exact byte sizes come from the catalogue, computed with libzstd 1.5.4 at
 * level 3, the version these tests build against.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "cc_wire.h"
#include "cc_wirejson.h"
#include "testutil.h"
#include "wirevec.h"

static struct cc_codec_ctx *ctx;

static void
setup(void)
{
	ck_assert_ptr_nonnull(ctx = cc_codec_ctx_new());
}

static void
teardown(void)
{
	cc_codec_ctx_free(ctx);
	ctx = NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static void
hex_to(struct cc_wbuf *wb, const char *hex)
{
	ck_assert_int_eq(cc_wirejson_unhex(hex, strlen(hex), wb), 0);
}

static void
assert_bytes(const struct cc_wbuf *wb, const char *hex)
{
	struct cc_wbuf	exp;
	char		*got;

	cc_wbuf_init(&exp);
	hex_to(&exp, hex);
	got = cc_wirejson_hex(wb->data, wb->len);
	ck_assert_msg(wb->len == exp.len && memcmp(wb->data, exp.data,
	    exp.len) == 0, "bytes differ: got %s", got);
	free(got);
	cc_wbuf_clear(&exp);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Logical deltas built by hand. */
static struct cc_node_delta *
delta_add(struct cc_delta *d, uint16_t port, uint64_t gc, uint64_t from,
    uint64_t max)
{
	struct cc_node_delta *nd;

	d->nodes = realloc(d->nodes, (d->n + 1) * sizeof(*d->nodes));
	ck_assert_ptr_nonnull(d->nodes);
	nd = &d->nodes[d->n++];
	memset(nd, 0, sizeof(*nd));
	test_id(&nd->id, port);
	nd->last_gc_version = gc;
	nd->from_version_excluded = from;
	nd->max_version = max;
	return nd;
}

static void
nd_add_kv(struct cc_node_delta *nd, const char *k, const char *v,
    uint64_t ver, uint8_t st)
{
	struct cc_kv_op *kv;

	nd->kvs = realloc(nd->kvs, (nd->n_kvs + 1) * sizeof(*nd->kvs));
	ck_assert_ptr_nonnull(nd->kvs);
	kv = &nd->kvs[nd->n_kvs++];
	kv->key = xstrdup(k);
	kv->key_len = strlen(k);
	kv->value = xstrdup(v);
	kv->value_len = strlen(v);
	kv->version = ver;
	kv->status = st;
	nd->max_version = ver;
}

static void
digest_add(struct cc_digest *d, uint16_t port, uint64_t hb, uint64_t gc,
    uint64_t max)
{
	struct cc_digest_entry	*e;
	struct cc_id		 id;
	size_t			 i;

	test_id(&id, port);
	/* As chitchat's BTreeMap: a second insert replaces the first. */
	for (i = 0; i < d->n; i++) {
		if (cc_id_is_equal(&d->entries[i].id, &id)) {
			cc_id_clear(&id);
			d->entries[i].heartbeat = hb;
			d->entries[i].last_gc_version = gc;
			d->entries[i].max_version = max;
			return;
		}
	}
	d->entries = realloc(d->entries, (d->n + 1) * sizeof(*d->entries));
	ck_assert_ptr_nonnull(d->entries);
	e = &d->entries[d->n++];
	e->id = id;
	e->heartbeat = hb;
	e->last_gc_version = gc;
	e->max_version = max;
}

static bool
kv_eq(const struct cc_kv_op *a, const struct cc_kv_op *b)
{
	return a->key_len == b->key_len && a->value_len == b->value_len &&
	    memcmp(a->key, b->key, a->key_len) == 0 &&
	    memcmp(a->value, b->value, a->value_len) == 0 &&
	    a->version == b->version && a->status == b->status;
}

/*
 * Logical equality. max_version is compared only for node deltas without
 * KVs: with KVs an encoder only conveys the last KV version.
 */
static bool
delta_eq(const struct cc_delta *a, const struct cc_delta *b)
{
	const struct cc_node_delta	*x, *y;
	size_t				 i, j;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		x = &a->nodes[i];
		y = &b->nodes[i];
		if (!cc_id_is_equal(&x->id, &y->id) ||
		    x->last_gc_version != y->last_gc_version ||
		    x->from_version_excluded != y->from_version_excluded ||
		    x->n_kvs != y->n_kvs ||
		    (x->n_kvs == 0 && x->max_version != y->max_version))
			return false;
		for (j = 0; j < x->n_kvs; j++)
			if (!kv_eq(&x->kvs[j], &y->kvs[j]))
				return false;
	}
	return true;
}

static bool
digest_eq(const struct cc_digest *a, const struct cc_digest *b)
{
	const struct cc_digest_entry	*x, *y;
	size_t				 i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++) {
		x = &a->entries[i];
		y = &b->entries[i];
		if (!cc_id_is_equal(&x->id, &y->id) ||
		    x->heartbeat != y->heartbeat ||
		    x->last_gc_version != y->last_gc_version ||
		    x->max_version != y->max_version)
			return false;
	}
	return true;
}

static bool
msg_eq(const struct cc_msg *a, const struct cc_msg *b)
{
	if (a->type != b->type || !digest_eq(&a->digest, &b->digest) ||
	    !delta_eq(&a->delta, &b->delta))
		return false;
	if (a->type != CC_MSG_SYN)
		return true;
	return a->cluster_id_len == b->cluster_id_len &&
	    memcmp(a->cluster_id, b->cluster_id, a->cluster_id_len) == 0;
}

/* Operation builders for hand-made streams. */
static void
put_node(struct cc_wbuf *wb, uint16_t port, uint64_t gc, uint64_t from)
{
	struct cc_id id;

	test_id(&id, port);
	cc_wbuf_u8(wb, CC_OP_NODE);
	cc_id_encode(wb, &id);
	cc_wbuf_u64(wb, gc);
	cc_wbuf_u64(wb, from);
	cc_id_clear(&id);
}

static void
put_kv(struct cc_wbuf *wb, const char *k, const char *v, uint64_t ver,
    uint8_t st)
{
	cc_wbuf_u8(wb, CC_OP_KV);
	cc_wbuf_str(wb, k, strlen(k));
	cc_wbuf_str(wb, v, strlen(v));
	cc_wbuf_u64(wb, ver);
	cc_wbuf_u8(wb, st);
}

static void
put_smv(struct cc_wbuf *wb, uint64_t m)
{
	cc_wbuf_u8(wb, CC_OP_SET_MAX_VERSION);
	cc_wbuf_u64(wb, m);
}

/* An ACK carrying stream s in RAW blocks of at most 65535 bytes. */
static void
ack_raw(struct cc_wbuf *out, const struct cc_wbuf *s)
{
	size_t off = 0, k;

	cc_msg_put_header(out, CC_MSG_ACK);
	while (off < s->len) {
		k = s->len - off < 65535 ? s->len - off : 65535;
		cc_wbuf_u8(out, CC_BLOCK_RAW);
		cc_wbuf_u16(out, (uint16_t)k);
		cc_wbuf_bytes(out, s->data + off, k);
		off += k;
	}
	cc_wbuf_u8(out, CC_BLOCK_END);
	ck_assert_int_eq(out->err, 0);
}

static void
put_zstd_block(struct cc_wbuf *out, const void *raw, size_t n, int level)
{
	size_t	 cap = ZSTD_compressBound(n), c;
	uint8_t	*dst = malloc(cap);

	ck_assert_ptr_nonnull(dst);
	c = ZSTD_compress(dst, cap, raw, n, level);
	ck_assert(!ZSTD_isError(c));
	ck_assert_uint_le(c, 65535);
	cc_wbuf_u8(out, CC_BLOCK_COMPRESSED);
	cc_wbuf_u16(out, (uint16_t)c);
	cc_wbuf_bytes(out, dst, c);
	free(dst);
}

static int
decode(const struct cc_wbuf *wb, struct cc_msg *m, const char **why)
{
	return cc_msg_decode_why(wb->data, wb->len, m, NULL, ctx, why);
}

/* The datagram must be dropped, for the given reason if not NULL. */
static void
expect_bad(const struct cc_wbuf *wb, const char *reason)
{
	struct cc_delta_trace	 tr;
	struct cc_msg		 m;
	const char		*why = NULL;

	errno = 0;
	ck_assert_int_eq(cc_msg_decode_why(wb->data, wb->len, &m, &tr, ctx,
	    &why), -1);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_ptr_nonnull(why);
	if (reason != NULL)
		ck_assert_str_eq(why, reason);
	ck_assert_ptr_null(m.digest.entries);
	ck_assert_ptr_null(m.delta.nodes);
	ck_assert_ptr_null(m.cluster_id);
	ck_assert_ptr_null(tr.ops);
	ck_assert_ptr_null(tr.blocks);
	ck_assert_ptr_null(tr.stream);
}

static void
expect_ok(const struct cc_wbuf *wb, struct cc_msg *m)
{
	const char *why = NULL;

	ck_assert_msg(decode(wb, m, &why) == 0, "decode failed: %s", why);
}

/* Decodes a generic block stream (A5-A7 write strings, not operations). */
static void
read_block_stream(const uint8_t *p, size_t n, struct cc_wbuf *s,
    size_t *consumed)
{
	struct cc_rbuf	 rb;
	const uint8_t	*b;
	uint8_t		 tag, *tmp = malloc(65535);
	uint16_t	 len;
	size_t		 r;

	ck_assert_ptr_nonnull(tmp);
	cc_rbuf_init(&rb, p, n);
	for (;;) {
		ck_assert_int_eq(cc_rbuf_u8(&rb, &tag), 0);
		if (tag == 0)
			break;
		ck_assert_int_eq(cc_rbuf_u16(&rb, &len), 0);
		ck_assert_int_eq(cc_rbuf_bytes(&rb, len, &b), 0);
		if (tag == CC_BLOCK_RAW) {
			cc_wbuf_bytes(s, b, len);
			continue;
		}
		ck_assert_int_eq(tag, CC_BLOCK_COMPRESSED);
		r = ZSTD_decompress(tmp, 65535, b, len);
		ck_assert(!ZSTD_isError(r));
		cc_wbuf_bytes(s, tmp, r);
	}
	free(tmp);
	*consumed = rb.off;
}

/* Checks that a block stream holds exactly the strings items[0..n). */
static void
assert_stream_strings(const struct cc_wbuf *out, char **items, size_t n)
{
	struct cc_wbuf	s;
	struct cc_rbuf	rb;
	size_t		consumed, i, len;
	char		*str;

	cc_wbuf_init(&s);
	read_block_stream(out->data, out->len, &s, &consumed);
	ck_assert_uint_eq(consumed, out->len);
	cc_rbuf_init(&rb, s.data, s.len);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(cc_str_decode(&rb, &str, &len), 0);
		ck_assert_uint_eq(len, strlen(items[i]));
		ck_assert_int_eq(memcmp(str, items[i], len), 0);
		free(str);
	}
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
	cc_wbuf_clear(&s);
}

static void
blockw_put_str(struct cc_blockw *bw, const char *s)
{
	struct cc_wbuf item;

	cc_wbuf_init(&item);
	cc_wbuf_str(&item, s, strlen(s));
	ck_assert_int_eq(cc_blockw_append(bw, item.data, item.len), 0);
	cc_wbuf_clear(&item);
}

static size_t
str_item_len(const char *s)
{
	return 2 + strlen(s);
}

static const char *const sentences[10] = {
	"I am glad.",
	"The cat sleeps all day.",
	"Our train leaves at noon.",
	"Rain is falling again.",
	"We cook pasta on Fridays.",
	"You should call your mother.",
	"The shop does not open today.",
	"Nobody wants cold coffee.",
	"see you tomorrow",
	"is it late?",
};

/* ---- A. wire encoding --------------------------------------------------- */

/* Encodes a primitive JSON object; returns the bytes in *wb. */
static void
prim_encode(const char *type, json_t *value, struct cc_wbuf *wb)
{
	json_t	*o = json_pack("{s:s, s:s, s:o}", "kind", "primitive",
		    "type", type, "value", value);
	char	 err[128];

	ck_assert_ptr_nonnull(o);
	ck_assert_msg(cc_wirejson_encode(o, wb, NULL, err, sizeof(err)) == 0,
	    "%s", err);
	json_decref(o);
}

static void
prim_roundtrip(const char *type, json_t *value, size_t expect_len)
{
	struct cc_wbuf	 wb;
	json_t		*back, *v = json_deep_copy(value);
	const char	*why = NULL;

	cc_wbuf_init(&wb);
	prim_encode(type, value, &wb);
	ck_assert_uint_eq(wb.len, expect_len);
	back = cc_wirejson_decode_prim(type, wb.data, wb.len, &why);
	ck_assert_msg(back != NULL, "%s: %s", type, why);
	ck_assert(json_equal(json_object_get(back, "value"), v));
	json_decref(back);
	json_decref(v);
	cc_wbuf_clear(&wb);
}

START_TEST(test_A1_primitive_roundtrip)
{
	struct cc_addr	a, a2;
	struct cc_id	id, id2;
	struct cc_wbuf	wb;
	struct cc_rbuf	rb;
	uint64_t	hb;
	uint8_t		b;
	int		i;

	/* bool: one byte, any non-zero byte reads as true. */
	cc_wbuf_init(&wb);
	cc_wbuf_u8(&wb, 1);
	ck_assert_uint_eq(wb.len, 1);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_rbuf_u8(&rb, &b), 0);
	ck_assert(b != 0);
	cc_wbuf_reset(&wb);

	/* ChitchatId {"node-id", 1, 127.0.0.1:7280}: 24 bytes. */
	ck_assert_int_eq(cc_addr_parse("127.0.0.1:7280", &a), 0);
	ck_assert_int_eq(cc_id_init(&id, "node-id", 7, 1, &a), 0);
	ck_assert_uint_eq(cc_id_encoded_len(&id), 24);
	cc_id_encode(&wb, &id);
	ck_assert_uint_eq(wb.len, 24);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_id_decode(&rb, &id2), 0);
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
	ck_assert(cc_id_is_equal(&id, &id2));
	cc_id_clear(&id);
	cc_id_clear(&id2);
	cc_wbuf_reset(&wb);

	/* Heartbeat 1: 8 bytes. */
	cc_wbuf_u64(&wb, 1);
	ck_assert_uint_eq(wb.len, 8);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_rbuf_u64(&rb, &hb), 0);
	ck_assert_uint_eq(hb, 1);
	cc_wbuf_reset(&wb);

	/* IPv4 127.1.3.9: 5 bytes; IPv6 with octets 0..15: 17 bytes. */
	prim_roundtrip("ip_addr", json_string("127.1.3.9"), 5);
	prim_roundtrip("ip_addr", json_string("1:203:405:607:809:a0b:c0d:e0f"),
	    17);
	prim_roundtrip("u64", cc_wirejson_u64(UINT64_MAX), 8);

	/* Socket addresses, and the predicted lengths. */
	memset(&a, 0, sizeof(a));
	a.family = CC_AF_INET6;
	for (i = 0; i < 16; i++)
		a.ip[i] = (uint8_t)i;
	a.port = 7280;
	ck_assert_uint_eq(cc_addr_encoded_len(&a), 19);
	cc_addr_encode(&wb, &a);
	ck_assert_uint_eq(wb.len, 19);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_addr_decode(&rb, &a2), 0);
	ck_assert(cc_addr_is_equal(&a, &a2));
	ck_assert_int_eq(wb.err, 0);
	cc_wbuf_clear(&wb);
}
END_TEST

/* Datagram: ACK with one block of the given tag (payload valid for 1, 2). */
static void
block_tag_dgram(struct cc_wbuf *wb, uint8_t tag)
{
	cc_msg_put_header(wb, CC_MSG_ACK);
	if (tag == CC_BLOCK_COMPRESSED)
		put_zstd_block(wb, "", 0, 3);
	else {
		cc_wbuf_u8(wb, tag);
		cc_wbuf_u16(wb, 0);
	}
	cc_wbuf_u8(wb, CC_BLOCK_END);
}

START_TEST(test_A2_code_domains)
{
	struct cc_delta_trace	 tr;
	struct cc_wbuf		 wb, s, re;
	struct cc_msg		 m;
	const char		*why;
	int			 b, nblock = 0, nstatus = 0, nop = 0;

	cc_wbuf_init(&wb);
	cc_wbuf_init(&s);
	cc_wbuf_init(&re);
	for (b = 0; b < 256; b++) {
		/* Block types. */
		cc_wbuf_reset(&wb);
		block_tag_dgram(&wb, (uint8_t)b);
		if (cc_msg_decode_why(wb.data, wb.len, &m, &tr, ctx, &why) == 0) {
			nblock++;
			ck_assert_uint_eq(tr.blocks[0].tag, b);
			cc_msg_clear(&m);
			cc_delta_trace_clear(&tr);
		} else
			ck_assert_str_eq(why, "unknown block type");

		/* KV status codes; a valid one re-encodes to the same byte. */
		cc_wbuf_reset(&s);
		cc_wbuf_reset(&wb);
		put_node(&s, 10001, 0, 0);
		put_kv(&s, "k", "v", 1, (uint8_t)b);
		ack_raw(&wb, &s);
		if (decode(&wb, &m, &why) == 0) {
			nstatus++;
			cc_wbuf_reset(&re);
			cc_msg_put_header(&re, CC_MSG_ACK);
			ck_assert_int_eq(cc_delta_encode(&re, &m.delta, ctx), 0);
			cc_msg_clear(&m);
			ck_assert_int_eq(cc_msg_decode(re.data, re.len, &m, &tr,
			    ctx), 0);
			ck_assert_uint_eq(tr.stream[tr.stream_len - 1], b);
			cc_msg_clear(&m);
			cc_delta_trace_clear(&tr);
		} else
			ck_assert_str_eq(why, "unknown key-value status");

		/* Delta operation tags. */
		cc_wbuf_reset(&s);
		cc_wbuf_reset(&wb);
		put_node(&s, 10001, 0, 0);
		if (b == CC_OP_NODE)
			put_node(&s, 10002, 0, 0);
		else if (b == CC_OP_KV)
			put_kv(&s, "k", "v", 1, 0);
		else {
			cc_wbuf_u8(&s, (uint8_t)b);
			cc_wbuf_u64(&s, 1);
		}
		ack_raw(&wb, &s);
		if (cc_msg_decode_why(wb.data, wb.len, &m, &tr, ctx, &why) == 0) {
			nop++;
			ck_assert_uint_eq(tr.n_ops, 2);
			ck_assert_uint_eq(tr.ops[1].tag, b);
			cc_msg_clear(&m);
			cc_delta_trace_clear(&tr);
		} else
			ck_assert_str_eq(why, "unknown delta operation tag");
	}
	ck_assert_int_eq(nblock, 3);
	ck_assert_int_eq(nstatus, 3);
	ck_assert_int_eq(nop, 3);
	cc_wbuf_clear(&wb);
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&re);
}
END_TEST

START_TEST(test_A3_digest_encoding)
{
	struct cc_digest	d = { NULL, 0, NULL }, back;
	struct cc_wbuf		wb;
	struct cc_rbuf		rb;
	json_t			*nd;

	/* A NodeDigest (heartbeat, last_gc, max) is 24 bytes. */
	nd = json_pack("{s:i, s:i, s:i}", "heartbeat", 100,
	    "last_gc_version", 2, "max_version", 3);
	prim_roundtrip("node_digest", nd, 24);

	digest_add(&d, 10001, 101, 1, 11);
	digest_add(&d, 10002, 102, 20, 12);
	digest_add(&d, 10002, 103, 0, 13);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_uint_eq(cc_digest_encoded_len(&d), 104);
	cc_wbuf_init(&wb);
	cc_digest_encode(&wb, &d);
	ck_assert_uint_eq(wb.len, 104);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_digest_decode(&rb, &back), 0);
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
	ck_assert(digest_eq(&d, &back));
	ck_assert_uint_eq(back.entries[1].heartbeat, 103);
	cc_digest_clear(&back);

	/* The decoder keeps duplicates in wire order (the engine resolves). */
	d.entries = realloc(d.entries, 3 * sizeof(*d.entries));
	ck_assert_ptr_nonnull(d.entries);
	ck_assert_int_eq(cc_id_copy(&d.entries[2].id, &d.entries[1].id), 0);
	d.entries[2].heartbeat = 7;
	d.entries[2].last_gc_version = 0;
	d.entries[2].max_version = 0;
	d.n = 3;
	cc_wbuf_reset(&wb);
	cc_digest_encode(&wb, &d);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_digest_decode(&rb, &back), 0);
	ck_assert_uint_eq(back.n, 3);
	ck_assert_uint_eq(back.entries[2].heartbeat, 7);
	cc_digest_clear(&back);
	cc_digest_clear(&d);
	cc_wbuf_clear(&wb);
}
END_TEST

/* Encodes m, checks its size and that it decodes back equal. */
static void
msg_roundtrip(const struct cc_msg *m, size_t expect_len, struct cc_wbuf *wb)
{
	struct cc_msg back;

	cc_wbuf_reset(wb);
	ck_assert_int_eq(cc_msg_encode(wb, m, ctx), 0);
	ck_assert_uint_eq(wb->len, expect_len);
	expect_ok(wb, &back);
	ck_assert(msg_eq(m, &back));
	cc_msg_clear(&back);
}

/* Parses the payload of an encoded SYN_ACK/ACK part by part. */
static void
assert_consumes_all(const struct cc_wbuf *wb, uint8_t type)
{
	struct cc_digest	d;
	struct cc_delta		delta;
	struct cc_rbuf		rb;

	cc_rbuf_init(&rb, wb->data, wb->len);
	rb.off = 4;
	if (type == CC_MSG_SYN_ACK) {
		ck_assert_int_eq(cc_digest_decode(&rb, &d), 0);
		cc_digest_clear(&d);
	}
	ck_assert_int_eq(cc_delta_decode(&rb, &delta, NULL, ctx), 0);
	cc_delta_clear(&delta);
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
}

START_TEST(test_A4_message_sizes)
{
	struct cc_node_delta	*nd;
	struct cc_wbuf		 wb;
	struct cc_msg		 m;

	cc_wbuf_init(&wb);
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN;
	m.cluster_id = xstrdup("cluster-a");
	m.cluster_id_len = 9;
	msg_roundtrip(&m, 17, &wb);
	digest_add(&m.digest, 10001, 0, 0, 0);
	ck_assert_uint_eq(cc_digest_encoded_len(&m.digest), 53);
	msg_roundtrip(&m, 68, &wb);

	m.type = CC_MSG_SYN_ACK;
	cc_digest_clear(&m.digest);
	msg_roundtrip(&m, 7, &wb);
	assert_consumes_all(&wb, CC_MSG_SYN_ACK);
	digest_add(&m.digest, 10001, 0, 0, 0);
	nd = delta_add(&m.delta, 10001, 0, 0, 0);
	nd_add_kv(nd, "key", "value", 1, CC_STATUS_DELETED);
	msg_roundtrip(&m, 127, &wb);
	assert_consumes_all(&wb, CC_MSG_SYN_ACK);
	ck_assert_uint_eq(wb.data[57], CC_BLOCK_RAW);	/* 70-byte RAW delta */

	m.type = CC_MSG_ACK;
	cc_digest_clear(&m.digest);
	msg_roundtrip(&m, 74, &wb);
	assert_consumes_all(&wb, CC_MSG_ACK);
	cc_delta_clear(&m.delta);
	msg_roundtrip(&m, 5, &wb);
	assert_consumes_all(&wb, CC_MSG_ACK);

	m.type = CC_MSG_BAD_CLUSTER;
	msg_roundtrip(&m, 4, &wb);
	cc_msg_clear(&m);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_A5_compressed_stream)
{
	struct cc_blockw	 bw;
	struct cc_wbuf		 out;
	char			*items[100];
	size_t			 raw = 0, i;

	cc_wbuf_init(&out);
	ck_assert_int_eq(cc_blockw_init(&bw, 1000, ctx), 0);
	for (i = 0; i < 100; i++) {
		items[i] = (char *)sentences[i % 10];
		blockw_put_str(&bw, items[i]);
		raw += strlen(items[i]);
	}
	ck_assert_int_eq(cc_blockw_finish(&bw, &out), 0);
	cc_blockw_clear(&bw);
	ck_assert_msg(out.len * 3 < raw, "%zu bytes for %zu raw", out.len, raw);
	assert_stream_strings(&out, items, 100);
	cc_wbuf_clear(&out);
}
END_TEST

START_TEST(test_A6_exact_bound_without_compression)
{
	struct cc_blockw	bw;
	struct cc_wbuf		out;
	size_t			bound;

	/* (a) empty writer, one 8-byte item: bound 12, final 12. */
	cc_wbuf_init(&out);
	ck_assert_int_eq(cc_blockw_init(&bw, 10, ctx), 0);
	bound = cc_blockw_bound_after(&bw, str_item_len("xu1Y3l"));
	ck_assert_uint_eq(bound, 12);
	blockw_put_str(&bw, "xu1Y3l");
	ck_assert_int_eq(cc_blockw_finish(&bw, &out), 0);
	ck_assert_uint_eq(out.len, 12);
	cc_blockw_clear(&bw);

	/* (b) 9 bytes pending, then 10: two RAW blocks (13 + 12) and END. */
	cc_wbuf_reset(&out);
	ck_assert_int_eq(cc_blockw_init(&bw, 10, NULL), 0);
	blockw_put_str(&bw, "pTs2yYd");
	bound = cc_blockw_bound_after(&bw, str_item_len("vLQRFPN6"));
	ck_assert_uint_eq(bound, 26);
	blockw_put_str(&bw, "vLQRFPN6");
	ck_assert_int_eq(cc_blockw_finish(&bw, &out), 0);
	ck_assert_uint_eq(out.len, 26);
	ck_assert_uint_eq(out.data[0], CC_BLOCK_RAW);
	ck_assert_uint_eq(out.data[1], 10);
	ck_assert_uint_eq(out.data[13], CC_BLOCK_RAW);
	ck_assert_uint_eq(out.data[14], 9);
	ck_assert_uint_eq(out.data[25], CC_BLOCK_END);
	cc_blockw_clear(&bw);
	cc_wbuf_clear(&out);
}
END_TEST

/* A random string of n Unicode scalar values (no control characters). */
static char *
random_unicode(struct test_env *te, size_t nchars)
{
	struct cc_wbuf	wb;
	uint32_t	cp;
	size_t		i;
	uint8_t		u[4];

	cc_wbuf_init(&wb);
	for (i = 0; i < nchars; i++) {
		switch (test_rand_u32(te) % 4) {
		case 0:
			cp = 0x20 + test_rand_u32(te) % 0x5f;
			break;
		case 1:
			cp = 0xa0 + test_rand_u32(te) % (0x800 - 0xa0);
			break;
		case 2:
			do
				cp = 0x800 + test_rand_u32(te) % (0x10000 - 0x800);
			while (cp >= 0xd800 && cp <= 0xdfff);
			break;
		default:
			cp = 0x10000 + test_rand_u32(te) % 0x100000;
			break;
		}
		if (cp < 0x80) {
			cc_wbuf_u8(&wb, (uint8_t)cp);
		} else if (cp < 0x800) {
			u[0] = (uint8_t)(0xc0 | cp >> 6);
			u[1] = (uint8_t)(0x80 | (cp & 0x3f));
			cc_wbuf_bytes(&wb, u, 2);
		} else if (cp < 0x10000) {
			u[0] = (uint8_t)(0xe0 | cp >> 12);
			u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			u[2] = (uint8_t)(0x80 | (cp & 0x3f));
			cc_wbuf_bytes(&wb, u, 3);
		} else {
			u[0] = (uint8_t)(0xf0 | cp >> 18);
			u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
			u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
			u[3] = (uint8_t)(0x80 | (cp & 0x3f));
			cc_wbuf_bytes(&wb, u, 4);
		}
	}
	cc_wbuf_u8(&wb, 0);
	ck_assert_int_eq(wb.err, 0);
	ck_assert(cc_utf8_is_valid((char *)wb.data, wb.len - 1));
	return (char *)wb.data;
}

static void
a7_property_case(struct test_env *te)
{
	struct cc_blockw	 bw;
	struct cc_wbuf		 out;
	char			*items[100];
	size_t			 n = 1 + test_rand_u32(te) % 99, i, bound = 0;

	cc_wbuf_init(&out);
	ck_assert_int_eq(cc_blockw_init(&bw, 1000, ctx), 0);
	for (i = 0; i < n; i++) {
		items[i] = random_unicode(te, test_rand_u32(te) % 1001);
		if (i == n - 1)
			bound = cc_blockw_bound_after(&bw, str_item_len(items[i]));
		blockw_put_str(&bw, items[i]);
	}
	ck_assert_int_eq(cc_blockw_finish(&bw, &out), 0);
	ck_assert_uint_ge(bound, out.len);
	assert_stream_strings(&out, items, n);
	for (i = 0; i < n; i++)
		free(items[i]);
	cc_blockw_clear(&bw);
	cc_wbuf_clear(&out);
}

START_TEST(test_A7_mixed_and_edge_items)
{
	struct test_env		 te;
	struct cc_addr		 self = test_addr4(1);
	struct cc_blockw	 bw;
	struct cc_wbuf		 out;
	char			*items[130], *empty[1] = { "" };
	size_t			 i, j;
	int			 round;

	test_env_init(&te, &self, 0xA7);
	/* (a) T=200: sentences, then 30 random alphanumeric strings. */
	cc_wbuf_init(&out);
	ck_assert_int_eq(cc_blockw_init(&bw, 200, ctx), 0);
	for (i = 0; i < 130; i++) {
		if (i < 100)
			items[i] = xstrdup(sentences[i % 10]);
		else {
			ck_assert_ptr_nonnull(items[i] = calloc(31, 1));
			for (j = 0; j < 30; j++)
				items[i][j] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    [test_rand_u32(&te) % 62];
		}
		blockw_put_str(&bw, items[i]);
	}
	ck_assert_int_eq(cc_blockw_finish(&bw, &out), 0);
	assert_stream_strings(&out, items, 130);
	for (i = 0; i < 130; i++)
		free(items[i]);
	cc_blockw_clear(&bw);

	/* (b) T=1000, one empty string: bound 6, final 6. */
	cc_wbuf_reset(&out);
	ck_assert_int_eq(cc_blockw_init(&bw, 1000, ctx), 0);
	ck_assert_uint_eq(cc_blockw_bound_after(&bw, str_item_len("")), 6);
	blockw_put_str(&bw, "");
	ck_assert_int_eq(cc_blockw_finish(&bw, &out), 0);
	ck_assert_uint_eq(out.len, 6);
	assert_stream_strings(&out, empty, 1);
	cc_blockw_clear(&bw);
	cc_wbuf_clear(&out);

	/* (c) property: the bound before the last append is never low. */
	for (round = 0; round < 48; round++)
		a7_property_case(&te);
	test_env_clear(&te);
}
END_TEST

START_TEST(test_A8_invalid_then_valid)
{
	struct cc_wbuf	wb;
	struct cc_msg	m;

	cc_wbuf_init(&wb);
	cc_wbuf_bytes(&wb, "junk", 4);
	expect_bad(&wb, "bad magic number");
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00000 0000 0900 636c75737465722d61");
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.type, CC_MSG_SYN);
	ck_assert_str_eq(m.cluster_id, "cluster-a");
	cc_msg_clear(&m);
	cc_wbuf_clear(&wb);
}
END_TEST

/* Socket addresses print as Rust's Display (Rust >= 1.72) prints them. */
START_TEST(test_wirejson_ipv6_text)
{
	static const char *const cases[][2] = {
		{ "06 00000000000000000000000000000001", "::1" },
		{ "06 00000000000000000000000000000000", "::" },
		{ "06 000000000000000000000000c0a80001", "::c0a8:1" },
		{ "06 00000000000000000000ffffc0a80001", "::ffff:192.168.0.1" },
		{ "06 20010db8000000000001000000000001", "2001:db8::1:0:0:1" },
		{ "06 20010db8000000010000000000000001", "2001:db8:0:1::1" },
		{ "06 00010002000300040005000600070008", "1:2:3:4:5:6:7:8" },
		{ "06 00000000000000000000000000010000", "::1:0" },
		{ "06 20010000000100000001000000010000", "2001:0:1:0:1:0:1:0" },
		{ "04 0a010203", "10.1.2.3" },
	};
	struct cc_wbuf	 wb;
	json_t		*j, *v;
	const char	*why;
	size_t		 i;

	cc_wbuf_init(&wb);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cc_wbuf_reset(&wb);
		hex_to(&wb, cases[i][0]);
		j = cc_wirejson_decode_prim("ip_addr", wb.data, wb.len, &why);
		ck_assert_ptr_nonnull(j);
		ck_assert_str_eq(json_string_value(json_object_get(j, "value")),
		    cases[i][1]);
		json_decref(j);
		/* And back. */
		v = json_string(cases[i][1]);
		cc_wbuf_reset(&wb);
		prim_encode("ip_addr", v, &wb);
		ck_assert_uint_eq(wb.len, cases[i][0][0] == '0' &&
		    cases[i][0][1] == '6' ? 17 : 5);
	}
	cc_wbuf_clear(&wb);
}
END_TEST

/* ---- B. delta builder --------------------------------------------------- */

static bool
dw_node(struct cc_delta_writer *dw, uint16_t port, uint64_t gc, uint64_t from)
{
	struct cc_id	id;
	bool		ok;

	test_id(&id, port);
	ok = cc_dw_add_node(dw, &id, gc, from);
	cc_id_clear(&id);
	return ok;
}

static bool
dw_kv(struct cc_delta_writer *dw, const char *k, const char *v, uint64_t ver,
    uint8_t st)
{
	return cc_dw_add_kv(dw, k, strlen(k), v, strlen(v), ver, st);
}

/* Finishes the builder and decodes the delta back. */
static void
dw_done(struct cc_delta_writer *dw, size_t expect_len, struct cc_delta *back,
    struct cc_wbuf *out)
{
	struct cc_rbuf rb;

	cc_wbuf_init(out);
	ck_assert_int_eq(cc_dw_finish(dw, out), 0);
	cc_dw_clear(dw);
	ck_assert_uint_eq(out->len, expect_len);
	cc_rbuf_init(&rb, out->data, out->len);
	ck_assert_int_eq(cc_delta_decode(&rb, back, NULL, ctx), 0);
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
}

START_TEST(test_B1_delta_empty)
{
	struct cc_delta		d = { NULL, 0 }, back;
	struct cc_wbuf		wb;
	struct cc_delta_writer	dw;

	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_delta_encode(&wb, &d, ctx), 0);
	assert_bytes(&wb, "00");
	cc_wbuf_clear(&wb);
	ck_assert_int_eq(cc_dw_init(&dw, 100, ctx), 0);
	dw_done(&dw, 1, &back, &wb);
	ck_assert_uint_eq(back.n, 0);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_B2_set_max_version)
{
	struct cc_delta_writer	dw;
	struct cc_delta		back;
	struct cc_wbuf		wb;

	ck_assert_int_eq(cc_dw_init(&dw, 198, ctx), 0);
	ck_assert(dw_node(&dw, 10001, 80, 50));
	ck_assert(cc_dw_add_set_max_version(&dw, 100));
	dw_done(&dw, 57, &back, &wb);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_uint_eq(back.nodes[0].last_gc_version, 80);
	ck_assert_uint_eq(back.nodes[0].from_version_excluded, 50);
	ck_assert_uint_eq(back.nodes[0].n_kvs, 0);
	ck_assert_uint_eq(back.nodes[0].max_version, 100);
	cc_delta_clear(&back);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_B3_simple_foo)
{
	struct cc_delta_writer	 dw;
	struct cc_delta		 back, d = { NULL, 0 };
	struct cc_node_delta	*nd;
	struct cc_wbuf		 wb;

	ck_assert_int_eq(cc_dw_init(&dw, 198, ctx), 0);
	ck_assert(dw_node(&dw, 10001, 0, 0));
	ck_assert(dw_kv(&dw, "key11", "val11", 1, CC_STATUS_SET));
	ck_assert(dw_kv(&dw, "key12", "", 2, CC_STATUS_DELETED));
	ck_assert(dw_node(&dw, 10002, 0, 0));
	ck_assert(dw_kv(&dw, "key21", "val21", 2, CC_STATUS_SET));
	ck_assert(dw_kv(&dw, "key22", "val22", 3, CC_STATUS_SET));
	dw_done(&dw, 98, &back, &wb);
	nd = delta_add(&d, 10001, 0, 0, 0);
	nd_add_kv(nd, "key11", "val11", 1, CC_STATUS_SET);
	nd_add_kv(nd, "key12", "", 2, CC_STATUS_DELETED);
	nd = delta_add(&d, 10002, 0, 0, 0);
	nd_add_kv(nd, "key21", "val21", 2, CC_STATUS_SET);
	nd_add_kv(nd, "key22", "val22", 3, CC_STATUS_SET);
	ck_assert(delta_eq(&d, &back));
	ck_assert_uint_eq(back.nodes[1].max_version, 3);
	cc_delta_clear(&d);
	cc_delta_clear(&back);
	cc_wbuf_clear(&wb);
}
END_TEST

#define V9_HEX \
	"01 4c 00 28 b5 2f fd 20 88 1d 02 00 c4 02 00 0a 00 6e 6f 64 65 2d" \
	"31 30 30 30 31 00 04 7f 00 00 01 11 27 00 01 05 00 6b 65 79 31 31" \
	"05 00 76 61 6c 31 31 01 00 32 32 02 32 12 09 00 60 16 38 ee 0b 3c" \
	"00 82 60 f0 ce 6c 83 6c 81 ce 65 40 09 00"

/* B4/B5: N1(0,0), KV key11, KV key12, N2(0,0) under the given budget. */
static void
b4_ops(size_t mtu)
{
	struct cc_delta_writer	dw;
	struct cc_delta		back;
	struct cc_wbuf		wb;

	ck_assert_int_eq(cc_dw_init(&dw, mtu, ctx), 0);
	ck_assert(dw_node(&dw, 10001, 0, 0));
	ck_assert(dw_kv(&dw, "key11", "val11", 1, CC_STATUS_SET));
	ck_assert(dw_kv(&dw, "key12", "val12", 2, CC_STATUS_SET));
	ck_assert(dw_node(&dw, 10002, 0, 0));
	ck_assert_uint_eq(dw.n_ops, 4);
	dw_done(&dw, 80, &back, &wb);
	assert_bytes(&wb, V9_HEX);
	ck_assert_uint_eq(back.n, 2);
	ck_assert_uint_eq(back.nodes[0].n_kvs, 2);
	ck_assert_uint_eq(back.nodes[1].n_kvs, 0);
	cc_delta_clear(&back);
	cc_wbuf_clear(&wb);
}

START_TEST(test_B4_simple_node)
{
	b4_ops(140);
}
END_TEST

START_TEST(test_B5_nodes_to_reset)
{
	b4_ops(155);
}
END_TEST

START_TEST(test_B6_exceed_mtu_on_add_node)
{
	struct cc_delta_writer	dw;
	struct cc_delta		back;
	struct cc_wbuf		wb;
	struct cc_id		id;
	size_t			before;

	ck_assert_int_eq(cc_dw_init(&dw, 100, ctx), 0);
	ck_assert(dw_node(&dw, 10001, 0, 0));
	ck_assert(dw_kv(&dw, "key11", "val11", 1, CC_STATUS_SET));
	ck_assert(dw_kv(&dw, "key12", "val12", 2, CC_STATUS_SET));
	test_id(&id, 10002);
	ck_assert_uint_eq(cc_blockw_bound_after(&dw.bw,
	    1 + cc_id_encoded_len(&id) + 16), 143);
	cc_id_clear(&id);
	before = dw.bw.pending.len;
	ck_assert(!dw_node(&dw, 10002, 0, 1));
	ck_assert_uint_eq(dw.bw.pending.len, before);	/* no change */
	ck_assert_uint_eq(dw.n_ops, 3);
	dw_done(&dw, 72, &back, &wb);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_uint_eq(back.nodes[0].n_kvs, 2);
	cc_delta_clear(&back);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_B7_exceed_mtu_on_add_kv)
{
	struct cc_delta_writer	dw;
	struct cc_delta		back;
	struct cc_wbuf		wb;

	ck_assert_int_eq(cc_dw_init(&dw, 100, ctx), 0);
	ck_assert(dw_node(&dw, 10001, 0, 1));
	ck_assert(dw_kv(&dw, "key11", "val11", 1, CC_STATUS_SET));
	ck_assert(!dw_kv(&dw, "key12", "val12aaaaaaaaaabcc", 2, CC_STATUS_SET));
	dw_done(&dw, 72, &back, &wb);
	ck_assert_uint_eq(back.n, 1);
	ck_assert_uint_eq(back.nodes[0].n_kvs, 1);
	cc_delta_clear(&back);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_B8_mtu_below_minimum)
{
	struct cc_delta_writer dw;

	errno = 0;
	ck_assert_int_eq(cc_dw_init(&dw, 62, ctx), -1);
	ck_assert_int_eq(errno, EINVAL);
	cc_dw_clear(&dw);
	ck_assert_int_eq(cc_dw_init(&dw, 99, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	cc_dw_clear(&dw);
	ck_assert_int_eq(cc_dw_init(&dw, 100, NULL), 0);
	cc_dw_clear(&dw);
}
END_TEST

/* ---- §3.7 golden vectors ------------------------------------------------ */

#define V1_HEX	"53 b0 00 03"
#define V2_HEX	"53 b0 00 00 00 00 09 00 63 6c 75 73 74 65 72 2d 61"
#define NODE_10001_HEX \
	"0a 00 6e 6f 64 65 2d 31 30 30 30 31 00 00 00 00 00 00 00 00" \
	"04 7f 00 00 01 11 27"
#define V3_HEX \
	"53 b0 00 00 01 00" NODE_10001_HEX \
	"00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" \
	"00 00 00 00 00 00 00 00 09 00 63 6c 75 73 74 65 72 2d 61"
#define V4_HEX \
	"53 b0 00 00 01 00 0a 00 6e 6f 64 65 2d 31 30 30 30 31 00 00 00 00" \
	"00 00 00 00 04 7f 00 00 01 11 27 07 00 00 00 00 00 00 00 03 00 00" \
	"00 00 00 00 00 0c 00 00 00 00 00 00 00 0f 00 64 65 66 61 75 6c 74" \
	"2d 63 6c 75 73 74 65 72"
#define V5_HEX	"53 b0 00 01 00 00 00"
#define V6_HEX	"53 b0 00 02 00"
#define V7_HEX \
	"02 35 00 00" NODE_10001_HEX \
	"50 00 00 00 00 00 00 00 32 00 00 00 00 00 00 00" \
	"02 64 00 00 00 00 00 00 00 00"
#define V8_HEX \
	"53 b0 00 02 02 42 00 00" NODE_10001_HEX \
	"00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00" \
	"01 03 00 6b 65 79 05 00 76 61 6c 75 65 01 00 00 00 00 00 00 00 01 00"
#define V10A_HEX \
	"07 00 6e 6f 64 65 2d 69 64 01 00 00 00 00 00 00 00 04 7f 00 00 01 70 1c"
#define V10B_HEX \
	"02 00 6e 36 01 00 00 00 00 00 00 00 06 00 00 00 00 00 00 00 00 00 00" \
	"00 00 00 00 00 01 70 1c"

/* Encodes m, compares with hex, decodes hex and compares with m. */
static void
golden_msg(const struct cc_msg *m, const char *hex, size_t len)
{
	struct cc_wbuf	wb, in;
	struct cc_msg	back;

	cc_wbuf_init(&wb);
	cc_wbuf_init(&in);
	ck_assert_int_eq(cc_msg_encode(&wb, m, ctx), 0);
	ck_assert_uint_eq(wb.len, len);
	assert_bytes(&wb, hex);
	hex_to(&in, hex);
	expect_ok(&in, &back);
	ck_assert(msg_eq(m, &back));
	cc_msg_clear(&back);
	cc_wbuf_clear(&wb);
	cc_wbuf_clear(&in);
}

static void
golden_delta(const struct cc_delta *d, const char *hex, size_t len)
{
	struct cc_wbuf	wb, in;
	struct cc_rbuf	rb;
	struct cc_delta	back;

	cc_wbuf_init(&wb);
	cc_wbuf_init(&in);
	ck_assert_int_eq(cc_delta_encode(&wb, d, ctx), 0);
	ck_assert_uint_eq(wb.len, len);
	assert_bytes(&wb, hex);
	hex_to(&in, hex);
	cc_rbuf_init(&rb, in.data, in.len);
	ck_assert_int_eq(cc_delta_decode(&rb, &back, NULL, ctx), 0);
	ck_assert_uint_eq(cc_rbuf_left(&rb), 0);
	ck_assert(delta_eq(d, &back));
	cc_delta_clear(&back);
	cc_wbuf_clear(&wb);
	cc_wbuf_clear(&in);
}

static void
syn(struct cc_msg *m, const char *cluster)
{
	memset(m, 0, sizeof(*m));
	m->type = CC_MSG_SYN;
	m->cluster_id = xstrdup(cluster);
	m->cluster_id_len = strlen(cluster);
}

START_TEST(test_V1_bad_cluster)
{
	struct cc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_BAD_CLUSTER;
	golden_msg(&m, V1_HEX, 4);
}
END_TEST

START_TEST(test_V2_syn_empty_digest)
{
	struct cc_msg m;

	syn(&m, "cluster-a");
	golden_msg(&m, V2_HEX, 17);
	cc_msg_clear(&m);
}
END_TEST

START_TEST(test_V3_syn_one_digest_entry)
{
	struct cc_msg m;

	syn(&m, "cluster-a");
	digest_add(&m.digest, 10001, 0, 0, 0);
	golden_msg(&m, V3_HEX, 68);
	cc_msg_clear(&m);
}
END_TEST

START_TEST(test_V4_syn_default_cluster)
{
	struct cc_msg m;

	syn(&m, "default-cluster");
	digest_add(&m.digest, 10001, 7, 3, 12);
	golden_msg(&m, V4_HEX, 74);
	cc_msg_clear(&m);
}
END_TEST

START_TEST(test_V5_synack_empty)
{
	struct cc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN_ACK;
	golden_msg(&m, V5_HEX, 7);
}
END_TEST

START_TEST(test_V6_ack_empty)
{
	struct cc_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_ACK;
	golden_msg(&m, V6_HEX, 5);
}
END_TEST

START_TEST(test_V7_set_max_version_delta)
{
	struct cc_delta d = { NULL, 0 };

	delta_add(&d, 10001, 80, 50, 100);
	golden_delta(&d, V7_HEX, 57);
	cc_delta_clear(&d);
}
END_TEST

START_TEST(test_V8_ack_kv_deleted)
{
	struct cc_node_delta	*nd;
	struct cc_msg		 m;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_ACK;
	nd = delta_add(&m.delta, 10001, 0, 0, 0);
	nd_add_kv(nd, "key", "value", 1, CC_STATUS_DELETED);
	golden_msg(&m, V8_HEX, 74);
	cc_msg_clear(&m);
}
END_TEST

START_TEST(test_V9_compressed_delta)
{
	struct cc_delta_trace	 tr;
	struct cc_node_delta	*nd;
	struct cc_delta		 d = { NULL, 0 }, back;
	struct cc_wbuf		 in;
	struct cc_rbuf		 rb;

	nd = delta_add(&d, 10001, 0, 0, 0);
	nd_add_kv(nd, "key11", "val11", 1, CC_STATUS_SET);
	nd_add_kv(nd, "key12", "val12", 2, CC_STATUS_SET);
	delta_add(&d, 10002, 0, 0, 0);
	golden_delta(&d, V9_HEX, 80);

	/* The trace: one compressed block of 76 bytes, 136 raw bytes. */
	cc_wbuf_init(&in);
	hex_to(&in, V9_HEX);
	cc_rbuf_init(&rb, in.data, in.len);
	ck_assert_int_eq(cc_delta_decode(&rb, &back, &tr, ctx), 0);
	ck_assert_uint_eq(tr.n_blocks, 2);
	ck_assert_uint_eq(tr.blocks[0].tag, CC_BLOCK_COMPRESSED);
	ck_assert_uint_eq(tr.blocks[0].len, 76);
	ck_assert_uint_eq(tr.blocks[0].decompressed_len, 136);
	ck_assert_uint_eq(tr.blocks[1].tag, CC_BLOCK_END);
	ck_assert_uint_eq(tr.blocks[1].offset, 79);
	ck_assert_uint_eq(tr.serialized_len, 80);
	ck_assert_uint_eq(tr.stream_len, 136);
	ck_assert_uint_eq(tr.n_ops, 4);
	ck_assert_int_eq(memcmp(tr.blocks[0].zstd_magic, "\x28\xb5\x2f\xfd", 4),
	    0);
	cc_delta_trace_clear(&tr);
	cc_delta_clear(&back);
	cc_delta_clear(&d);
	cc_wbuf_clear(&in);
}
END_TEST

static void
golden_id(const char *addr, const char *name, const char *hex, size_t len)
{
	struct cc_addr	a;
	struct cc_id	id, back;
	struct cc_wbuf	wb;
	struct cc_rbuf	rb;

	ck_assert_int_eq(cc_addr_parse(addr, &a), 0);
	ck_assert_int_eq(cc_id_init(&id, name, strlen(name), 1, &a), 0);
	ck_assert_uint_eq(cc_id_encoded_len(&id), len);
	cc_wbuf_init(&wb);
	cc_id_encode(&wb, &id);
	assert_bytes(&wb, hex);
	cc_rbuf_init(&rb, wb.data, wb.len);
	ck_assert_int_eq(cc_id_decode(&rb, &back), 0);
	ck_assert(cc_id_is_equal(&id, &back));
	cc_id_clear(&id);
	cc_id_clear(&back);
	cc_wbuf_clear(&wb);
}

START_TEST(test_V10_chitchat_ids)
{
	golden_id("127.0.0.1:7280", "node-id", V10A_HEX, 24);
	golden_id("[::1]:7280", "n6", V10B_HEX, 31);
}
END_TEST

/* ---- rejection rules ---------------------------------------------------- */

START_TEST(test_reject_header_errors)
{
	struct cc_wbuf wb;

	cc_wbuf_init(&wb);
	expect_bad(&wb, NULL);			/* empty */
	hex_to(&wb, "53b0");
	expect_bad(&wb, "shorter than a message header");
	hex_to(&wb, "00");
	expect_bad(&wb, "missing message type");
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b10002 00");
	expect_bad(&wb, "bad magic number");
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00102 00");
	expect_bad(&wb, "unsupported protocol version");
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00004");
	expect_bad(&wb, "unknown message type");
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_message_type_255)
{
	struct cc_wbuf wb;

	cc_wbuf_init(&wb);
	hex_to(&wb, "53b000ff");
	expect_bad(&wb, "unknown message type");
	hex_to(&wb, "00");
	expect_bad(&wb, "unknown message type");
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_smv_below_kv)
{
	struct cc_wbuf	s, wb;
	struct cc_msg	m;

	cc_wbuf_init(&s);
	cc_wbuf_init(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "k", "v", 10, 0);
	put_smv(&s, 5);
	ack_raw(&wb, &s);
	expect_bad(&wb, "set-max-version below a key-value version");

	/* Equal or higher is accepted, and sets the node delta's max. */
	cc_wbuf_reset(&s);
	cc_wbuf_reset(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "k", "v", 10, 0);
	put_smv(&s, 12);
	ack_raw(&wb, &s);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.nodes[0].max_version, 12);
	cc_msg_clear(&m);

	/* Without KVs the value is simply overwritten (as Rust). */
	cc_wbuf_reset(&s);
	cc_wbuf_reset(&wb);
	put_node(&s, 10001, 0, 0);
	put_smv(&s, 9);
	put_smv(&s, 4);
	ack_raw(&wb, &s);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.nodes[0].max_version, 4);
	cc_msg_clear(&m);

	/* A KV after a SET_MAX_VERSION must exceed it. */
	cc_wbuf_reset(&s);
	cc_wbuf_reset(&wb);
	put_node(&s, 10001, 0, 0);
	put_smv(&s, 9);
	put_kv(&s, "k", "v", 9, 0);
	ack_raw(&wb, &s);
	expect_bad(&wb, "key-value versions do not strictly increase");
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_duplicate_node)
{
	struct cc_wbuf	s, wb;
	struct cc_msg	m;
	int		i;

	cc_wbuf_init(&s);
	cc_wbuf_init(&wb);
	put_node(&s, 10001, 0, 0);
	put_node(&s, 10002, 0, 0);
	put_node(&s, 10001, 5, 5);
	ack_raw(&wb, &s);
	expect_bad(&wb, "duplicate node in delta");

	/* Many distinct nodes are fine; one duplicate among them is not. */
	cc_wbuf_reset(&s);
	for (i = 0; i < 1400; i++)
		put_node(&s, (uint16_t)(20000 + i), 0, 0);
	cc_wbuf_reset(&wb);
	ack_raw(&wb, &s);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.n, 1400);
	cc_msg_clear(&m);
	put_node(&s, 20700, 0, 0);
	cc_wbuf_reset(&wb);
	ack_raw(&wb, &s);
	expect_bad(&wb, "duplicate node in delta");
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_kv_before_node)
{
	struct cc_wbuf s, wb;

	cc_wbuf_init(&s);
	cc_wbuf_init(&wb);
	put_kv(&s, "k", "v", 1, 0);
	put_node(&s, 10001, 0, 0);
	ack_raw(&wb, &s);
	expect_bad(&wb, "key-value before any node");
	cc_wbuf_reset(&s);
	cc_wbuf_reset(&wb);
	put_smv(&s, 1);
	ack_raw(&wb, &s);
	expect_bad(&wb, "set-max-version before any node");
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_version_zero)
{
	struct cc_wbuf s, wb;

	cc_wbuf_init(&s);
	cc_wbuf_init(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "k", "v", 0, 0);
	ack_raw(&wb, &s);
	expect_bad(&wb, "key-value versions do not strictly increase");
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_non_increasing_versions)
{
	struct cc_wbuf	s, wb;
	struct cc_msg	m;

	cc_wbuf_init(&s);
	cc_wbuf_init(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "a", "v", 3, 0);
	put_kv(&s, "b", "v", 3, 0);
	ack_raw(&wb, &s);
	expect_bad(&wb, "key-value versions do not strictly increase");
	cc_wbuf_reset(&s);
	cc_wbuf_reset(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "a", "v", 3, 0);
	put_kv(&s, "b", "v", 2, 0);
	ack_raw(&wb, &s);
	expect_bad(&wb, "key-value versions do not strictly increase");

	/* Versions restart with each node delta. */
	cc_wbuf_reset(&s);
	cc_wbuf_reset(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "a", "v", 3, 0);
	put_node(&s, 10002, 0, 0);
	put_kv(&s, "a", "v", 1, 0);
	put_kv(&s, "b", "v", UINT64_MAX, 0);
	ack_raw(&wb, &s);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.nodes[1].max_version, UINT64_MAX);
	cc_msg_clear(&m);
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

static void
kv_with_raw_key(struct cc_wbuf *wb, const char *key, size_t klen)
{
	struct cc_wbuf s;

	cc_wbuf_init(&s);
	put_node(&s, 10001, 0, 0);
	cc_wbuf_u8(&s, CC_OP_KV);
	cc_wbuf_str(&s, key, klen);
	cc_wbuf_str(&s, "v", 1);
	cc_wbuf_u64(&s, 1);
	cc_wbuf_u8(&s, 0);
	cc_wbuf_reset(wb);
	ack_raw(wb, &s);
	cc_wbuf_clear(&s);
}

START_TEST(test_reject_invalid_utf8)
{
	static const char *const bad[] = {
		"\x80", "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf",
		"\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\xaf",
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "a\xc3",
		"\xe2\x82", "\xf0\x9f\x98", "\xc3\x28",
	};
	static const char *const good[] = {
		"", "a", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
		"\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf", "\xc3\xa9t\xc3\xa9", "\xf0\x9f\x98\x80",
	};
	struct cc_wbuf	wb;
	struct cc_msg	m;
	size_t		i;

	cc_wbuf_init(&wb);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!cc_utf8_is_valid(bad[i], strlen(bad[i])),
		    "bad[%zu] accepted", i);
		kv_with_raw_key(&wb, bad[i], strlen(bad[i]));
		expect_bad(&wb, "invalid UTF-8 string");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(cc_utf8_is_valid(good[i], strlen(good[i])),
		    "good[%zu] refused", i);
		kv_with_raw_key(&wb, good[i], strlen(good[i]));
		expect_ok(&wb, &m);
		cc_msg_clear(&m);
	}
	/* NUL is valid UTF-8; a key may start with a byte >= 0x80. */
	ck_assert(cc_utf8_is_valid("a\0b", 3));
	kv_with_raw_key(&wb, "\xc3\xa9" "a", 3);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.nodes[0].kvs[0].key_len, 3);
	cc_msg_clear(&m);

	/* In the cluster id of a SYN too. */
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00000 0000 0200 c0af");
	expect_bad(&wb, "invalid UTF-8 string");
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_status_3)
{
	struct cc_wbuf s, wb;

	cc_wbuf_init(&s);
	cc_wbuf_init(&wb);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "k", "v", 1, 3);
	ack_raw(&wb, &s);
	expect_bad(&wb, "unknown key-value status");
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_ip_tag_5)
{
	struct cc_wbuf wb;

	/* V3 with the IP tag of its digest entry set to 5. */
	cc_wbuf_init(&wb);
	hex_to(&wb, V3_HEX);
	ck_assert_uint_eq(wb.data[26], 4);
	wb.data[26] = 5;
	expect_bad(&wb, "unknown IP address tag");
	wb.data[26] = 6;	/* IPv6 tag: now too short */
	expect_bad(&wb, NULL);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_reject_block_tag_3)
{
	struct cc_wbuf wb;

	cc_wbuf_init(&wb);
	hex_to(&wb, "53b00002 03 0000 00");
	expect_bad(&wb, "unknown block type");
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00002 02 0100 00");		/* RAW, no END */
	expect_bad(&wb, NULL);
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00002 02 0500 0000");	/* short block */
	expect_bad(&wb, "truncated block");
	cc_wbuf_reset(&wb);
	hex_to(&wb, "53b00002 01 0400 28b52ffd 00");	/* bad zstd */
	expect_bad(&wb, "invalid zstd block");
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_op_straddles_blocks)
{
	struct cc_wbuf	s, wb;
	struct cc_msg	m;
	size_t		cut;

	cc_wbuf_init(&s);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "key", "value", 1, 0);
	put_node(&s, 10002, 0, 0);
	put_smv(&s, 7);
	cc_wbuf_init(&wb);
	/* Every cut point, one side compressed, the other raw. */
	for (cut = 0; cut <= s.len; cut++) {
		cc_wbuf_reset(&wb);
		cc_msg_put_header(&wb, CC_MSG_ACK);
		put_zstd_block(&wb, s.data, cut, 3);
		cc_wbuf_u8(&wb, CC_BLOCK_RAW);
		cc_wbuf_u16(&wb, (uint16_t)(s.len - cut));
		cc_wbuf_bytes(&wb, s.data + cut, s.len - cut);
		cc_wbuf_u8(&wb, CC_BLOCK_END);
		expect_ok(&wb, &m);
		ck_assert_uint_eq(m.delta.n, 2);
		ck_assert_uint_eq(m.delta.nodes[0].kvs[0].version, 1);
		ck_assert_uint_eq(m.delta.nodes[1].max_version, 7);
		cc_msg_clear(&m);
	}
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_trailing_bytes_ignored)
{
	struct cc_wbuf	wb;
	struct cc_msg	m;

	cc_wbuf_init(&wb);
	hex_to(&wb, V8_HEX "deadbeef ff 00");
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.n, 1);
	cc_msg_clear(&m);
	cc_wbuf_reset(&wb);
	hex_to(&wb, V1_HEX "ffff");
	expect_ok(&wb, &m);
	cc_msg_clear(&m);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_digest_count_overclaim)
{
	struct cc_wbuf wb;

	/* 65535 entries claimed, 41 bytes present: refused before calloc. */
	cc_wbuf_init(&wb);
	hex_to(&wb, "53b00000 ffff");
	cc_wbuf_bytes(&wb, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 41);
	expect_bad(&wb, "truncated digest");
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_wbuf_limits)
{
	struct cc_wbuf	 wb;
	char		*big = calloc(70000, 1);

	ck_assert_ptr_nonnull(big);
	cc_wbuf_init(&wb);
	cc_wbuf_str(&wb, big, 65536);
	ck_assert_int_eq(wb.err, EMSGSIZE);
	cc_wbuf_u8(&wb, 1);			/* sticky: nothing more */
	ck_assert_uint_eq(wb.len, 0);
	cc_wbuf_reset(&wb);
	cc_wbuf_str(&wb, big, 65535);
	ck_assert_int_eq(wb.err, 0);
	ck_assert_uint_eq(wb.len, 65537);
	cc_wbuf_bytes(&wb, big, SIZE_MAX - 10);	/* overflow is caught */
	ck_assert_int_eq(wb.err, ENOMEM);
	ck_assert_uint_eq(wb.len, 65537);
	cc_wbuf_clear(&wb);
	free(big);
}
END_TEST

/* ---- zstd bombs --------------------------------------------------------- */

static void
zero_frame(struct cc_wbuf *wb, size_t n, int level)
{
	uint8_t *z = calloc(n, 1);

	ck_assert_ptr_nonnull(z);
	put_zstd_block(wb, z, n, level);
	free(z);
}

START_TEST(test_zstd_bomb_rejected)
{
	struct cc_wbuf	wb, frame;
	size_t		blk;
	int		i;

	/* ~2800 blocks of 65535 zeros each: ~187 MB if unbounded. */
	cc_wbuf_init(&frame);
	zero_frame(&frame, 65535, 19);
	blk = frame.len;
	ck_assert_uint_le(blk, 30);
	cc_wbuf_init(&wb);
	cc_msg_put_header(&wb, CC_MSG_ACK);
	while (wb.len + blk + 1 <= CC_MAX_DATAGRAM)
		cc_wbuf_bytes(&wb, frame.data, blk);
	cc_wbuf_clear(&frame);
	cc_wbuf_u8(&wb, CC_BLOCK_END);
	ck_assert_uint_ge((wb.len - 5) / blk * 65535, 150u * 1000 * 1000);
	expect_bad(&wb, "delta stream exceeds the size cap");

	/* One block may decompress to 65535 bytes, not one more. */
	cc_wbuf_reset(&wb);
	cc_msg_put_header(&wb, CC_MSG_ACK);
	zero_frame(&wb, 65536, 3);
	cc_wbuf_u8(&wb, CC_BLOCK_END);
	expect_bad(&wb, "zstd block decompresses to more than 65535 bytes");

	/* Many blocks under the cap: the zeros then fail as operations. */
	cc_wbuf_reset(&wb);
	cc_msg_put_header(&wb, CC_MSG_ACK);
	for (i = 0; i < 100; i++)
		zero_frame(&wb, 65535, 3);
	cc_wbuf_u8(&wb, CC_BLOCK_END);
	expect_bad(&wb, "unknown IP address tag");
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_zstd_largest_block)
{
	struct cc_wbuf	 s, wb;
	struct cc_msg	 m;
	char		*val;
	size_t		 vlen;

	/* NODE (44) + KV "k" (15 + value) = exactly 65535 bytes. */
	vlen = 65535 - 44 - 15;
	ck_assert_ptr_nonnull(val = malloc(vlen + 2));
	memset(val, 'a', vlen + 1);
	val[vlen] = '\0';
	cc_wbuf_init(&s);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "k", val, 1, 0);
	ck_assert_uint_eq(s.len, 65535);
	cc_wbuf_init(&wb);
	cc_msg_put_header(&wb, CC_MSG_ACK);
	put_zstd_block(&wb, s.data, s.len, 3);
	cc_wbuf_u8(&wb, CC_BLOCK_END);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.nodes[0].kvs[0].value_len, vlen);
	cc_msg_clear(&m);
	free(val);
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_zstd_frame_without_content_size)
{
	struct cc_wbuf	 s, wb;
	struct cc_msg	 m;
	ZSTD_CCtx	*cc = ZSTD_createCCtx();
	uint8_t		 dst[512];
	size_t		 c;

	cc_wbuf_init(&s);
	put_node(&s, 10001, 0, 0);
	put_kv(&s, "key", "value", 1, 0);
	ck_assert_ptr_nonnull(cc);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	c = ZSTD_compress2(cc, dst, sizeof(dst), s.data, s.len);
	ck_assert(!ZSTD_isError(c));
	ZSTD_freeCCtx(cc);
	cc_wbuf_init(&wb);
	cc_msg_put_header(&wb, CC_MSG_ACK);
	cc_wbuf_u8(&wb, CC_BLOCK_COMPRESSED);
	cc_wbuf_u16(&wb, (uint16_t)c);
	cc_wbuf_bytes(&wb, dst, c);
	cc_wbuf_u8(&wb, CC_BLOCK_END);
	expect_ok(&wb, &m);
	ck_assert_uint_eq(m.delta.nodes[0].n_kvs, 1);
	cc_msg_clear(&m);
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&wb);
}
END_TEST

START_TEST(test_writer_block_cut)
{
	struct cc_node_delta	*nd;
	struct cc_delta_trace	 tr;
	struct cc_delta		 d = { NULL, 0 };
	struct cc_wbuf		 wb;
	struct cc_msg		 m;
	char			 key[32], val[64];
	int			 i;

	/* A delta over 16384 raw bytes is cut at exactly 16384. */
	nd = delta_add(&d, 10001, 0, 0, 0);
	for (i = 1; i <= 600; i++) {
		snprintf(key, sizeof(key), "key:%06d", i);
		snprintf(val, sizeof(val), "value-%d-%x", i * 7919, i * 104729);
		nd_add_kv(nd, key, val, (uint64_t)i, CC_STATUS_SET);
	}
	cc_wbuf_init(&wb);
	cc_msg_put_header(&wb, CC_MSG_ACK);
	ck_assert_int_eq(cc_delta_encode(&wb, &d, ctx), 0);
	ck_assert_int_eq(cc_msg_decode(wb.data, wb.len, &m, &tr, ctx), 0);
	ck_assert_uint_ge(tr.n_blocks, 3);
	ck_assert_uint_eq(tr.blocks[0].decompressed_len, 16384);
	ck_assert_uint_gt(tr.stream_len, 16384);
	ck_assert_uint_eq(tr.serialized_len, wb.len - 4);
	ck_assert(delta_eq(&d, &m.delta));
	cc_delta_trace_clear(&tr);
	cc_msg_clear(&m);
	cc_delta_clear(&d);
	cc_wbuf_clear(&wb);
}
END_TEST

/* ---- robustness: truncations and fuzzing -------------------------------- */

struct seeds {
	struct cc_wbuf	*v;
	size_t		 n;
};

static void
seed_add_hex(struct seeds *s, const char *hex)
{
	s->v = realloc(s->v, (s->n + 1) * sizeof(*s->v));
	ck_assert_ptr_nonnull(s->v);
	cc_wbuf_init(&s->v[s->n]);
	hex_to(&s->v[s->n], hex);
	s->n++;
}

/* The §3.7 datagrams, plus every message vector if the directory exists. */
static void
seeds_load(struct seeds *s)
{
	struct wirevec	*v;
	DIR		*d;
	size_t		 n, i;

	memset(s, 0, sizeof(*s));
	seed_add_hex(s, V1_HEX);
	seed_add_hex(s, V2_HEX);
	seed_add_hex(s, V3_HEX);
	seed_add_hex(s, V4_HEX);
	seed_add_hex(s, V5_HEX);
	seed_add_hex(s, V6_HEX);
	seed_add_hex(s, "53b00002" V7_HEX);
	seed_add_hex(s, V8_HEX);
	seed_add_hex(s, "53b00002" V9_HEX);
	if ((d = opendir(wirevec_dir())) == NULL)
		return;
	closedir(d);
	n = wirevec_load_all(&v);
	for (i = 0; i < n; i++)
		if (strcmp(v[i].kind, "message") == 0)
			seed_add_hex(s, v[i].hex);
	wirevec_free_all(v, n);
}

static void
seeds_free(struct seeds *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		cc_wbuf_clear(&s->v[i]);
	free(s->v);
}

/*
 * Decodes buf; a success must survive encode + decode unchanged.
 * Returns the decode result.
 */
static int
check_one(const uint8_t *buf, size_t len, struct cc_wbuf *scratch)
{
	struct cc_msg	m, back;
	int		rc;

	errno = 0;
	rc = cc_msg_decode(buf, len, &m, NULL, ctx);
	if (rc == -1) {
		ck_assert_int_eq(errno, EBADMSG);
		return -1;
	}
	cc_wbuf_reset(scratch);
	ck_assert_int_eq(cc_msg_encode(scratch, &m, ctx), 0);
	ck_assert_int_eq(cc_msg_decode(scratch->data, scratch->len, &back, NULL,
	    ctx), 0);
	ck_assert(msg_eq(&m, &back));
	cc_msg_clear(&m);
	cc_msg_clear(&back);
	return 0;
}

START_TEST(test_truncations)
{
	struct cc_wbuf	scratch;
	struct seeds	s;
	size_t		i, k;
	int		ok;

	seeds_load(&s);
	cc_wbuf_init(&scratch);
	for (i = 0; i < s.n; i++) {
		ok = 0;
		for (k = 0; k <= s.v[i].len; k++)
			if (check_one(s.v[i].data, k, &scratch) == 0)
				ok++;
		ck_assert_int_ge(ok, 1);	/* the whole datagram decodes */
	}
	cc_wbuf_clear(&scratch);
	seeds_free(&s);
}
END_TEST

/*
 * Reference build_delta (§3.5.3) over a raw operation stream, written
 * independently of the codec, for differential testing.
 */
/* Skips a string; false if it does not decode. */
static bool
ref_skip_str(struct cc_rbuf *rb)
{
	char	*str;
	size_t	 len;

	if (cc_str_decode(rb, &str, &len) == -1)
		return false;
	free(str);
	return true;
}

struct ref_state {
	struct cc_id	ids[64];
	size_t		nids;
	size_t		nkv;
	uint64_t	max;
	uint64_t	last_kv;
};

static bool
ref_op(struct ref_state *st, struct cc_rbuf *rb)
{
	struct cc_id	*id;
	uint64_t	 v;
	uint8_t		 tag, status;
	size_t		 i;

	if (cc_rbuf_u8(rb, &tag) == -1)
		return false;
	switch (tag) {
	case 0:
		if (st->nids == 64)
			return false;
		id = &st->ids[st->nids];
		if (cc_id_decode(rb, id) == -1)
			return false;
		st->nids++;
		if (cc_rbuf_u64(rb, &v) == -1 || cc_rbuf_u64(rb, &v) == -1)
			return false;
		for (i = 0; i + 1 < st->nids; i++)
			if (cc_id_is_equal(&st->ids[i], id))
				return false;
		st->max = 0;
		st->nkv = 0;
		return true;
	case 1:
		if (!ref_skip_str(rb) || !ref_skip_str(rb) ||
		    cc_rbuf_u64(rb, &v) == -1 || cc_rbuf_u8(rb, &status) == -1)
			return false;
		if (status > 2 || st->nids == 0 || !(st->max < v))
			return false;
		st->max = st->last_kv = v;
		st->nkv++;
		return true;
	case 2:
		if (cc_rbuf_u64(rb, &v) == -1 || st->nids == 0 ||
		    (st->nkv > 0 && v < st->last_kv))
			return false;
		st->max = v;
		return true;
	default:
		return false;
	}
}

/*
 * Reference build_delta (§3.5.3) over a raw operation stream, written
 * independently of the codec, for differential testing.
 */
static bool
ref_stream_is_valid(const uint8_t *p, size_t n)
{
	struct ref_state	st;
	struct cc_rbuf		rb;
	size_t			i;
	bool			ok = true;

	memset(&st, 0, sizeof(st));
	cc_rbuf_init(&rb, p, n);
	while (ok && cc_rbuf_left(&rb) > 0)
		ok = ref_op(&st, &rb);
	for (i = 0; i < st.nids; i++)
		cc_id_clear(&st.ids[i]);
	return ok;
}

/* A random, mostly plausible operation stream. */
static void
gen_stream(struct test_env *te, struct cc_wbuf *s)
{
	static const char *const keys[] = { "a", "b", "key", "\xc3\xa9", "" };
	uint32_t	r;
	int		i, nops = (int)(test_rand_u32(te) % 10);
	uint64_t	ver = 0;

	for (i = 0; i < nops; i++) {
		r = test_rand_u32(te) % 100;
		if (r < 30) {
			put_node(s, (uint16_t)(10001 + test_rand_u32(te) % 4),
			    test_rand_u32(te) % 3, test_rand_u32(te) % 3);
			ver = 0;
		} else if (r < 80) {
			ver += test_rand_u32(te) % 4;
			if (test_rand_u32(te) % 16 == 0)
				ver = UINT64_MAX - test_rand_u32(te) % 2;
			put_kv(s, keys[test_rand_u32(te) % 5],
			    keys[test_rand_u32(te) % 5], ver,
			    (uint8_t)(test_rand_u32(te) % 7 == 0 ? 3 :
			    test_rand_u32(te) % 3));
		} else if (r < 95)
			put_smv(s, ver + test_rand_u32(te) % 5 - 2);
		else
			cc_wbuf_u8(s, (uint8_t)test_rand_u32(te));
	}
}

/* Frames s into random blocks (raw or compressed) inside an ACK/SYN_ACK. */
static void
gen_framed(struct test_env *te, const struct cc_wbuf *s, struct cc_wbuf *out)
{
	size_t	off = 0, k;

	cc_wbuf_reset(out);
	if (test_rand_u32(te) % 2) {
		cc_msg_put_header(out, CC_MSG_SYN_ACK);
		cc_wbuf_u16(out, 0);
	} else
		cc_msg_put_header(out, CC_MSG_ACK);
	while (off < s->len) {
		k = 1 + test_rand_u32(te) % (s->len - off);
		if (test_rand_u32(te) % 2)
			put_zstd_block(out, s->data + off, k, 1);
		else {
			cc_wbuf_u8(out, CC_BLOCK_RAW);
			cc_wbuf_u16(out, (uint16_t)k);
			cc_wbuf_bytes(out, s->data + off, k);
		}
		off += k;
	}
	cc_wbuf_u8(out, CC_BLOCK_END);
}

static void
mutate(struct test_env *te, const struct seeds *s, struct cc_wbuf *out)
{
	const struct cc_wbuf	*src;
	size_t			 i, n, pos;
	uint32_t		 r;

	/* Favour small seeds: big compressed ones are slow under ASan. */
	do
		src = &s->v[test_rand_u32(te) % s->n];
	while (src->len > 600 && test_rand_u32(te) % 32 != 0);
	cc_wbuf_reset(out);
	cc_wbuf_bytes(out, src->data, src->len);
	n = 1 + test_rand_u32(te) % 4;
	for (i = 0; i < n && out->len > 0; i++) {
		pos = test_rand_u32(te) % out->len;
		r = test_rand_u32(te) % 6;
		if (r == 0)
			out->data[pos] ^= (uint8_t)(1u << (test_rand_u32(te) % 8));
		else if (r == 1)
			out->data[pos] = (uint8_t)test_rand_u32(te);
		else if (r == 2)
			out->len = pos;
		else if (r == 3 && out->len + 8 < 65507) {
			cc_wbuf_u8(out, 0);
			memmove(out->data + pos + 1, out->data + pos,
			    out->len - pos - 1);
			out->data[pos] = (uint8_t)test_rand_u32(te);
		} else if (r == 4) {
			memmove(out->data + pos, out->data + pos + 1,
			    out->len - pos - 1);
			out->len--;
		} else
			out->data[pos] = (uint8_t)(test_rand_u32(te) % 4);
	}
	/* Keep the header valid most of the time, to reach the payload. */
	if (out->len >= 4 && test_rand_u32(te) % 8 != 0) {
		out->data[0] = 0x53;
		out->data[1] = 0xb0;
		out->data[2] = 0;
	}
}

#define FUZZ_ROUNDS	200000

START_TEST(test_fuzz_random_datagrams)
{
	struct test_env	te;
	struct cc_addr	self = test_addr4(1);
	struct cc_wbuf	dg, s, scratch;
	struct seeds	sd;
	size_t		i, n_ok = 0, n_gen = 0, n_gen_ok = 0;
	bool		expect;
	int		rc;

	test_env_init(&te, &self, 0xC0DEC);
	seeds_load(&sd);
	cc_wbuf_init(&dg);
	cc_wbuf_init(&s);
	cc_wbuf_init(&scratch);
	for (i = 0; i < FUZZ_ROUNDS; i++) {
		if (i % 4 == 0) {
			/* Structure-aware, checked against the reference. */
			cc_wbuf_reset(&s);
			gen_stream(&te, &s);
			gen_framed(&te, &s, &dg);
			expect = ref_stream_is_valid(s.data, s.len);
			rc = check_one(dg.data, dg.len, &scratch);
			ck_assert_msg((rc == 0) == expect,
			    "round %zu: decode %d, reference %d", i, rc, expect);
			n_gen++;
			n_gen_ok += rc == 0;
		} else if (i % 4 == 1) {
			cc_wbuf_reset(&dg);
			cc_msg_put_header(&dg, (uint8_t)(test_rand_u32(&te) % 4));
			while (test_rand_u32(&te) % 16 != 0)
				cc_wbuf_u8(&dg, (uint8_t)(test_rand_u32(&te) %
				    (test_rand_u32(&te) % 2 ? 256 : 8)));
			rc = check_one(dg.data, dg.len, &scratch);
		} else {
			mutate(&te, &sd, &dg);
			rc = check_one(dg.data, dg.len, &scratch);
		}
		n_ok += rc == 0;
		ck_assert_int_eq(dg.err, 0);
	}
	/* Both outcomes must be well represented. */
	ck_assert_uint_gt(n_ok, FUZZ_ROUNDS / 50);
	ck_assert_uint_gt(n_gen_ok, n_gen / 10);
	ck_assert_uint_lt(n_gen_ok, n_gen - n_gen / 10);
	seeds_free(&sd);
	cc_wbuf_clear(&dg);
	cc_wbuf_clear(&s);
	cc_wbuf_clear(&scratch);
	test_env_clear(&te);
}
END_TEST

/* ---- suite -------------------------------------------------------------- */

static Suite *
codec_suite(void)
{
	Suite	*s = suite_create("codec");
	TCase	*a = tcase_create("A_wire_encoding");
	TCase	*b = tcase_create("B_delta_builder");
	TCase	*v = tcase_create("golden_vectors");
	TCase	*r = tcase_create("rejections");
	TCase	*f = tcase_create("robustness");

	tcase_add_checked_fixture(a, setup, teardown);
	tcase_add_test(a, test_A1_primitive_roundtrip);
	tcase_add_test(a, test_A2_code_domains);
	tcase_add_test(a, test_A3_digest_encoding);
	tcase_add_test(a, test_A4_message_sizes);
	tcase_add_test(a, test_A5_compressed_stream);
	tcase_add_test(a, test_A6_exact_bound_without_compression);
	tcase_add_test(a, test_A7_mixed_and_edge_items);
	tcase_add_test(a, test_A8_invalid_then_valid);
	tcase_add_test(a, test_wirejson_ipv6_text);
	suite_add_tcase(s, a);

	tcase_add_checked_fixture(b, setup, teardown);
	tcase_add_test(b, test_B1_delta_empty);
	tcase_add_test(b, test_B2_set_max_version);
	tcase_add_test(b, test_B3_simple_foo);
	tcase_add_test(b, test_B4_simple_node);
	tcase_add_test(b, test_B5_nodes_to_reset);
	tcase_add_test(b, test_B6_exceed_mtu_on_add_node);
	tcase_add_test(b, test_B7_exceed_mtu_on_add_kv);
	tcase_add_test(b, test_B8_mtu_below_minimum);
	suite_add_tcase(s, b);

	tcase_add_checked_fixture(v, setup, teardown);
	tcase_add_test(v, test_V1_bad_cluster);
	tcase_add_test(v, test_V2_syn_empty_digest);
	tcase_add_test(v, test_V3_syn_one_digest_entry);
	tcase_add_test(v, test_V4_syn_default_cluster);
	tcase_add_test(v, test_V5_synack_empty);
	tcase_add_test(v, test_V6_ack_empty);
	tcase_add_test(v, test_V7_set_max_version_delta);
	tcase_add_test(v, test_V8_ack_kv_deleted);
	tcase_add_test(v, test_V9_compressed_delta);
	tcase_add_test(v, test_V10_chitchat_ids);
	suite_add_tcase(s, v);

	tcase_add_checked_fixture(r, setup, teardown);
	tcase_add_test(r, test_reject_header_errors);
	tcase_add_test(r, test_reject_message_type_255);
	tcase_add_test(r, test_reject_smv_below_kv);
	tcase_add_test(r, test_reject_duplicate_node);
	tcase_add_test(r, test_reject_kv_before_node);
	tcase_add_test(r, test_reject_version_zero);
	tcase_add_test(r, test_reject_non_increasing_versions);
	tcase_add_test(r, test_reject_invalid_utf8);
	tcase_add_test(r, test_reject_status_3);
	tcase_add_test(r, test_reject_ip_tag_5);
	tcase_add_test(r, test_reject_block_tag_3);
	tcase_add_test(r, test_op_straddles_blocks);
	tcase_add_test(r, test_trailing_bytes_ignored);
	tcase_add_test(r, test_digest_count_overclaim);
	tcase_add_test(r, test_wbuf_limits);
	suite_add_tcase(s, r);

	tcase_add_checked_fixture(f, setup, teardown);
	tcase_set_timeout(f, 120);
	tcase_add_test(f, test_zstd_bomb_rejected);
	tcase_add_test(f, test_zstd_largest_block);
	tcase_add_test(f, test_zstd_frame_without_content_size);
	tcase_add_test(f, test_writer_block_cut);
	tcase_add_test(f, test_truncations);
	tcase_add_test(f, test_fuzz_random_datagrams);
	suite_add_tcase(s, f);
	return s;
}

CC_TEST_MAIN(codec_suite)
