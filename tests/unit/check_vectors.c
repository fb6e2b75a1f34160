/*
 * check_vectors.c: every golden vector of shared/vectors, bytes captured
 * from the real Rust chitchat 0.10.1.
 *
 * The directory is iterated, not listed, so new vectors are picked up
 * automatically. Each vector must decode to exactly its `decoded` object,
 * re-encode from the decoded structs to the same bytes, and encode from
 * the `decoded` JSON to the same bytes (byte-exact zstd blocks hold with
 * libzstd 1.5.4, the version the vectors were made with).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_wire.h"
#include "cc_wirejson.h"
#include "testutil.h"
#include "wirevec.h"

static struct wirevec	*vecs;
static size_t		 nvecs;
static struct cc_codec_ctx *ctx;

static void
setup(void)
{
	nvecs = wirevec_load_all(&vecs);
	ck_assert_ptr_nonnull(ctx = cc_codec_ctx_new());
}

static void
teardown(void)
{
	wirevec_free_all(vecs, nvecs);
	vecs = NULL;
	nvecs = 0;
	cc_codec_ctx_free(ctx);
	ctx = NULL;
}

static bool
is_message(const struct wirevec *v)
{
	return strcmp(v->kind, "message") == 0;
}

/* Decodes a vector's bytes into a `decoded` object. */
static json_t *
decode_vec(const struct wirevec *v, const char **why)
{
	if (is_message(v))
		return cc_wirejson_decode_msg(v->bytes, v->len, ctx, why);
	return cc_wirejson_decode_prim(v->type, v->bytes, v->len, why);
}

static void
assert_json_eq(const struct wirevec *v, const json_t *got, const json_t *exp)
{
	char *g, *e;

	if (json_equal(got, exp))
		return;
	g = cc_wirejson_dumps(got, 0);
	e = cc_wirejson_dumps(exp, 0);
	ck_abort_msg("%s: decoded differs\n got: %.2000s\nwant: %.2000s",
	    v->name, g, e);
}

static void
assert_hex_eq(const struct wirevec *v, const struct cc_wbuf *wb,
    const char *what)
{
	char *hex = cc_wirejson_hex(wb->data, wb->len);

	ck_assert_ptr_nonnull(hex);
	ck_assert_msg(strcmp(hex, v->hex) == 0, "%s: %s differs:\n got %.400s\n"
	    "want %.400s", v->name, what, hex, v->hex);
	free(hex);
}

START_TEST(test_vectors_present)
{
	size_t i, nmsg = 0, nprim = 0;

	ck_assert_uint_ge(nvecs, 1);
	for (i = 0; i < nvecs; i++) {
		ck_assert_str_eq(json_string_value(json_object_get(vecs[i].file,
		    "name")), vecs[i].name);
		if (is_message(&vecs[i]))
			nmsg++;
		else {
			ck_assert_str_eq(vecs[i].kind, "primitive");
			ck_assert_ptr_nonnull(vecs[i].type);
			nprim++;
		}
	}
	ck_assert_uint_eq(nmsg + nprim, nvecs);
}
END_TEST

START_TEST(test_vectors_decode)
{
	const char	*why;
	json_t		*j;
	size_t		 i;

	for (i = 0; i < nvecs; i++) {
		why = NULL;
		j = decode_vec(&vecs[i], &why);
		ck_assert_msg(j != NULL, "%s: does not decode: %s",
		    vecs[i].name, why);
		assert_json_eq(&vecs[i], j, vecs[i].decoded);
		json_decref(j);
	}
}
END_TEST

/* Messages: decode to structs, encode the structs, compare bytes. */
START_TEST(test_vectors_reencode)
{
	struct cc_wbuf	 wb;
	struct cc_msg	 m;
	size_t		 i, n = 0;

	cc_wbuf_init(&wb);
	for (i = 0; i < nvecs; i++) {
		if (!is_message(&vecs[i]))
			continue;
		ck_assert_int_eq(cc_msg_decode(vecs[i].bytes, vecs[i].len, &m,
		    NULL, ctx), 0);
		cc_wbuf_reset(&wb);
		ck_assert_int_eq(cc_msg_encode(&wb, &m, ctx), 0);
		assert_hex_eq(&vecs[i], &wb, "re-encoding");
		cc_msg_clear(&m);
		n++;
	}
	ck_assert_uint_ge(n, 1);
	cc_wbuf_clear(&wb);
}
END_TEST

/* Every vector: encode its `decoded` JSON, compare bytes. */
START_TEST(test_vectors_encode_from_json)
{
	struct cc_wbuf	wb;
	char		err[256];
	size_t		i;

	cc_wbuf_init(&wb);
	for (i = 0; i < nvecs; i++) {
		cc_wbuf_reset(&wb);
		ck_assert_msg(cc_wirejson_encode(vecs[i].decoded, &wb, ctx, err,
		    sizeof(err)) == 0, "%s: %s", vecs[i].name, err);
		assert_hex_eq(&vecs[i], &wb, "encoding of decoded");
	}
	cc_wbuf_clear(&wb);
}
END_TEST

/*
 * Without `blocks`, ops or the raw stream, the encoder rebuilds the delta
 * from node_deltas with the standard writer: the same bytes again.
 */
START_TEST(test_vectors_encode_from_node_deltas)
{
	struct cc_wbuf	 wb;
	json_t		*d, *delta;
	char		 err[256];
	size_t		 i;

	cc_wbuf_init(&wb);
	for (i = 0; i < nvecs; i++) {
		delta = json_object_get(vecs[i].decoded, "delta");
		if (delta == NULL)
			continue;
		d = json_deep_copy(vecs[i].decoded);
		delta = json_object_get(d, "delta");
		json_object_del(delta, "blocks");
		json_object_del(delta, "ops");
		json_object_del(delta, "decompressed_stream_hex");
		cc_wbuf_reset(&wb);
		ck_assert_msg(cc_wirejson_encode(d, &wb, ctx, err,
		    sizeof(err)) == 0, "%s: %s", vecs[i].name, err);
		assert_hex_eq(&vecs[i], &wb, "encoding of node_deltas");
		json_decref(d);
	}
	cc_wbuf_clear(&wb);
}
END_TEST

/* Bytes after a complete message are ignored: same decoded object. */
START_TEST(test_vectors_trailing_bytes)
{
	const char	*why;
	uint8_t		*buf;
	json_t		*j;
	size_t		 i;

	for (i = 0; i < nvecs; i++) {
		if (!is_message(&vecs[i]))
			continue;
		ck_assert_ptr_nonnull(buf = malloc(vecs[i].len + 3));
		memcpy(buf, vecs[i].bytes, vecs[i].len);
		memcpy(buf + vecs[i].len, "\xff\x00\x01", 3);
		j = cc_wirejson_decode_msg(buf, vecs[i].len + 3, ctx, &why);
		ck_assert_msg(j != NULL, "%s: %s", vecs[i].name, why);
		assert_json_eq(&vecs[i], j, vecs[i].decoded);
		json_decref(j);
		free(buf);
	}
}
END_TEST

/* Every strict prefix of a message fails cleanly or decodes. */
START_TEST(test_vectors_truncated)
{
	struct cc_msg	m;
	size_t		i, k;

	for (i = 0; i < nvecs; i++) {
		if (!is_message(&vecs[i]))
			continue;
		for (k = 0; k < vecs[i].len; k++) {
			errno = 0;
			if (cc_msg_decode(vecs[i].bytes, k, &m, NULL, ctx) == 0)
				cc_msg_clear(&m);
			else
				ck_assert_int_eq(errno, EBADMSG);
		}
	}
}
END_TEST

/*
 * u64 values above INT64_MAX: jansson cannot hold them as integers, so
 * check the raw text of prim_u64_max against the decoded value.
 */
START_TEST(test_vectors_u64_max_text)
{
	const struct wirevec	*v = NULL;
	const char		*p;
	uint64_t		 u;
	size_t			 i;

	for (i = 0; i < nvecs; i++)
		if (strcmp(vecs[i].name, "prim_u64_max") == 0)
			v = &vecs[i];
	if (v == NULL)
		return;		/* not in this vector set */
	p = strstr(v->text, "\"value\":");
	ck_assert_ptr_nonnull(p);
	p += strlen("\"value\":");
	while (*p == ' ')
		p++;
	errno = 0;
	ck_assert_uint_eq(strtoull(p, NULL, 10), UINT64_MAX);
	ck_assert_int_eq(errno, 0);
	ck_assert_int_eq(cc_wirejson_get_u64(json_object_get(v->decoded,
	    "value"), &u), 0);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_uint_eq(v->len, 8);
	for (i = 0; i < 8; i++)
		ck_assert_uint_eq(v->bytes[i], 0xff);
}
END_TEST

/* The text layer round-trips the u64 range exactly. */
START_TEST(test_wirejson_u64_text)
{
	static const char text[] = "{\"a\":18446744073709551615,"
	    "\"b\":9223372036854775808,\"c\":9223372036854775807,\"d\":0,"
	    "\"e\":\"18446744073709551615\",\"f\":[1.5,-2,1e3]}";
	json_t		*j;
	char		*out;
	uint64_t	 u;

	ck_assert_ptr_nonnull(j = cc_wirejson_loads(text, strlen(text), NULL));
	ck_assert_int_eq(cc_wirejson_get_u64(json_object_get(j, "a"), &u), 0);
	ck_assert_uint_eq(u, UINT64_MAX);
	ck_assert_int_eq(cc_wirejson_get_u64(json_object_get(j, "b"), &u), 0);
	ck_assert_uint_eq(u, 9223372036854775808ULL);
	ck_assert_int_eq(cc_wirejson_get_u64(json_object_get(j, "c"), &u), 0);
	ck_assert_uint_eq(u, INT64_MAX);
	ck_assert_str_eq(json_string_value(json_object_get(j, "e")),
	    "18446744073709551615");
	out = cc_wirejson_dumps(j, 0);
	ck_assert_str_eq(out, "{\"a\":18446744073709551615,"
	    "\"b\":9223372036854775808,\"c\":9223372036854775807,\"d\":0,"
	    "\"e\":\"18446744073709551615\",\"f\":[1.5,18446744073709551614,"
	    "1000.0]}");
	free(out);
	json_decref(j);
	/* Beyond u64: refused, as jansson refuses any too-big integer. */
	ck_assert_ptr_null(cc_wirejson_loads("[18446744073709551616]", 22,
	    NULL));
}
END_TEST

static Suite *
vectors_suite(void)
{
	Suite	*s = suite_create("vectors");
	TCase	*tc = tcase_create("vectors");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_vectors_present);
	tcase_add_test(tc, test_vectors_decode);
	tcase_add_test(tc, test_vectors_reencode);
	tcase_add_test(tc, test_vectors_encode_from_json);
	tcase_add_test(tc, test_vectors_encode_from_node_deltas);
	tcase_add_test(tc, test_vectors_trailing_bytes);
	tcase_add_test(tc, test_vectors_truncated);
	tcase_add_test(tc, test_vectors_u64_max_text);
	tcase_add_test(tc, test_wirejson_u64_text);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(vectors_suite)
