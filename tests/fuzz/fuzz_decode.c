/*
 * fuzz_decode.c: libFuzzer target for the datagram decoder (cc_msg_decode,
 * with the delta trace). Whatever decodes is encoded again and must decode
 * to the same message: the codec is total (never crashes, never reads out
 * of bounds) and round-trips what it accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "fuzz_decode: %s:%d: %s\n", \
	__FILE__, __LINE__, #c); abort(); } } while (0)

static bool
kv_equal(const struct cc_kv_op *a, const struct cc_kv_op *b)
{
	return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0 &&
	    a->value_len == b->value_len && memcmp(a->value, b->value, a->value_len) == 0 &&
	    a->version == b->version && a->status == b->status;
}

static void
compare(const struct cc_msg *a, const struct cc_msg *b)
{
	CHECK(a->type == b->type);
	CHECK(a->digest.n == b->digest.n);
	for (size_t i = 0; i < a->digest.n; i++) {
		const struct cc_digest_entry *x = &a->digest.entries[i], *y = &b->digest.entries[i];

		CHECK(cc_id_is_equal(&x->id, &y->id));
		CHECK(x->heartbeat == y->heartbeat);
		CHECK(x->last_gc_version == y->last_gc_version);
		CHECK(x->max_version == y->max_version);
	}
	CHECK(a->cluster_id_len == b->cluster_id_len);
	CHECK(a->cluster_id_len == 0 ||
	    memcmp(a->cluster_id, b->cluster_id, a->cluster_id_len) == 0);
	CHECK(a->delta.n == b->delta.n);
	for (size_t i = 0; i < a->delta.n; i++) {
		const struct cc_node_delta *x = &a->delta.nodes[i], *y = &b->delta.nodes[i];

		CHECK(cc_id_is_equal(&x->id, &y->id));
		CHECK(x->last_gc_version == y->last_gc_version);
		CHECK(x->from_version_excluded == y->from_version_excluded);
		CHECK(x->n_kvs == y->n_kvs);
		for (size_t j = 0; j < x->n_kvs; j++)
			CHECK(kv_equal(&x->kvs[j], &y->kvs[j]));
		/*
		 * cc_delta_encode writes SET_MAX_VERSION only for a node delta
		 * without KVs: after KVs the max is the last KV's version.
		 */
		if (x->n_kvs == 0)
			CHECK(x->max_version == y->max_version);
		else {
			CHECK(y->max_version == x->kvs[x->n_kvs - 1].version);
			CHECK(x->max_version >= y->max_version);
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cc_codec_ctx	*ctx;
	struct cc_delta_trace		 tr;
	struct cc_msg			 m, m2;
	struct cc_wbuf			 wb;
	const char			*why = NULL;

	if (ctx == NULL && (ctx = cc_codec_ctx_new()) == NULL)
		abort();
	memset(&m, 0, sizeof(m));
	memset(&tr, 0, sizeof(tr));
	if (cc_msg_decode_why(data, size, &m, &tr, ctx, &why) == -1) {
		CHECK(why != NULL);
		cc_delta_trace_clear(&tr);
		cc_msg_clear(&m);
		return 0;
	}
	CHECK(m.type <= CC_MSG_BAD_CLUSTER);
	CHECK(tr.serialized_len <= size);
	cc_wbuf_init(&wb);
	if (cc_msg_encode(&wb, &m, ctx) == 0 && wb.err == 0) {
		memset(&m2, 0, sizeof(m2));
		CHECK(cc_msg_decode(wb.data, wb.len, &m2, NULL, ctx) == 0);
		compare(&m, &m2);
		cc_msg_clear(&m2);
	}
	cc_wbuf_clear(&wb);
	cc_delta_trace_clear(&tr);
	cc_msg_clear(&m);
	return 0;
}
