/*
 * cc_wirejson.c: datagrams <-> the `decoded` JSON of the golden vectors.
 *
 * chitchatctl's `wire decode/encode` and the vector tests share this code,
 * so a datagram printed by the tool is exactly what the vectors describe
 * (member names, framing with block offsets, the raw operation stream, the
 * ops, and the node deltas a receiver builds), and a vector's `decoded`
 * object can be turned back into its bytes. The JSON text layer (exact
 * u64 values, sorted printing, hex) is in cc_wirejson_text.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "cc_wirejson.h"

static const char *const msg_type_names[] = {
	"Syn", "SynAck", "Ack", "BadCluster",
};
static const char *const status_names[] = {
	"Set", "Delete", "DeleteAfterTtl",
};
static const char *const op_names[] = {
	"Node", "KeyValue", "SetMaxVersion",
};
static const char *const block_names[] = {
	"NoMoreBlocks", "Compressed", "Uncompressed",
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* Index of name in names[], or -1. */
static int
name_index(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

/* ---- addresses as Rust prints them -------------------------------------- */

/* ---- decode: datagram -> JSON ------------------------------------------- */

/* Returns o, or NULL (and drops o) if any member failed to be set. */
static json_t *
obj_done(json_t *o, int rc)
{
	if (rc != 0) {
		json_decref(o);
		errno = ENOMEM;
		return NULL;
	}
	return o;
}

static int
set_u64(json_t *o, const char *k, uint64_t v)
{
	return json_object_set_new(o, k, cc_wirejson_u64(v));
}

static json_t *
id_to_json(const struct cc_id *id)
{
	char	 addr[CC_ADDR_STRLEN];
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	cc_addr_format(&id->addr, addr, sizeof(addr));
	rc |= json_object_set_new(o, "node_id",
	    json_stringn(id->node_id, id->node_id_len));
	rc |= set_u64(o, "generation_id", id->generation);
	rc |= json_object_set_new(o, "gossip_advertise_addr", json_string(addr));
	return obj_done(o, rc);
}

static json_t *
digest_entry_to_json(const struct cc_digest_entry *e)
{
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "chitchat_id", id_to_json(&e->id));
	rc |= set_u64(o, "heartbeat", e->heartbeat);
	rc |= set_u64(o, "last_gc_version", e->last_gc_version);
	rc |= set_u64(o, "max_version", e->max_version);
	return obj_done(o, rc);
}

static json_t *
digest_to_json(const struct cc_digest *d)
{
	json_t	*o, *a;
	size_t	 i;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= set_u64(o, "num_nodes", d->n);
	if ((a = json_array()) == NULL)
		rc = -1;
	for (i = 0; a != NULL && i < d->n; i++)
		rc |= json_array_append_new(a, digest_entry_to_json(&d->entries[i]));
	rc |= json_object_set_new(o, "node_digests", a);
	return obj_done(o, rc);
}

/* A key-value as node_deltas lists it (status_code only in ops). */
static json_t *
kv_to_json(const struct cc_kv_op *kv, bool with_op)
{
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "key", json_stringn(kv->key, kv->key_len));
	rc |= json_object_set_new(o, "value",
	    json_stringn(kv->value, kv->value_len));
	rc |= set_u64(o, "version", kv->version);
	rc |= json_object_set_new(o, "status",
	    json_string(status_names[kv->status]));
	if (with_op) {
		rc |= set_u64(o, "status_code", kv->status);
		rc |= json_object_set_new(o, "op", json_string("KeyValue"));
		rc |= set_u64(o, "tag", CC_OP_KV);
	}
	return obj_done(o, rc);
}

static json_t *
op_to_json(const struct cc_op *op)
{
	json_t	*o;
	int	 rc = 0;

	if (op->tag == CC_OP_KV)
		return kv_to_json(&op->kv, true);
	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "op", json_string(op_names[op->tag]));
	rc |= set_u64(o, "tag", op->tag);
	if (op->tag == CC_OP_NODE) {
		rc |= json_object_set_new(o, "chitchat_id", id_to_json(&op->id));
		rc |= set_u64(o, "last_gc_version", op->last_gc_version);
		rc |= set_u64(o, "from_version_excluded",
		    op->from_version_excluded);
	} else
		rc |= set_u64(o, "max_version", op->max_version);
	return obj_done(o, rc);
}

static json_t *
node_delta_to_json(const struct cc_node_delta *nd)
{
	json_t	*o, *a;
	size_t	 i;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "chitchat_id", id_to_json(&nd->id));
	rc |= set_u64(o, "from_version_excluded", nd->from_version_excluded);
	rc |= set_u64(o, "last_gc_version", nd->last_gc_version);
	rc |= set_u64(o, "max_version", nd->max_version);
	if ((a = json_array()) == NULL)
		rc = -1;
	for (i = 0; a != NULL && i < nd->n_kvs; i++)
		rc |= json_array_append_new(a, kv_to_json(&nd->kvs[i], false));
	rc |= json_object_set_new(o, "key_values", a);
	return obj_done(o, rc);
}

static json_t *
block_to_json(const struct cc_block_info *bi)
{
	char	*magic;
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "block_type",
	    json_string(block_names[bi->tag]));
	rc |= set_u64(o, "tag", bi->tag);
	rc |= set_u64(o, "offset", bi->offset);
	if (bi->tag != CC_BLOCK_END)
		rc |= set_u64(o, "len", bi->len);
	if (bi->tag == CC_BLOCK_COMPRESSED) {
		rc |= set_u64(o, "decompressed_len", bi->decompressed_len);
		magic = cc_wirejson_hex(bi->zstd_magic, bi->len < 4 ? bi->len : 4);
		rc |= json_object_set_new(o, "zstd_frame_magic_hex",
		    magic != NULL ? json_string(magic) : NULL);
		free(magic);
	}
	return obj_done(o, rc);
}

static json_t *
delta_to_json(const struct cc_delta *d, const struct cc_delta_trace *tr)
{
	json_t	*o, *blocks, *ops, *nds;
	char	*hex;
	size_t	 i;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	blocks = json_array();
	ops = json_array();
	nds = json_array();
	for (i = 0; blocks != NULL && i < tr->n_blocks; i++)
		rc |= json_array_append_new(blocks, block_to_json(&tr->blocks[i]));
	for (i = 0; ops != NULL && i < tr->n_ops; i++)
		rc |= json_array_append_new(ops, op_to_json(&tr->ops[i]));
	for (i = 0; nds != NULL && i < d->n; i++)
		rc |= json_array_append_new(nds, node_delta_to_json(&d->nodes[i]));
	rc |= json_object_set_new(o, "blocks", blocks);
	rc |= json_object_set_new(o, "ops", ops);
	rc |= json_object_set_new(o, "node_deltas", nds);
	rc |= set_u64(o, "serialized_len", tr->serialized_len);
	rc |= set_u64(o, "decompressed_stream_len", tr->stream_len);
	hex = cc_wirejson_hex(tr->stream, tr->stream_len);
	rc |= json_object_set_new(o, "decompressed_stream_hex",
	    hex != NULL ? json_string(hex) : NULL);
	free(hex);
	return obj_done(o, rc);
}

static json_t *
msg_to_json(const struct cc_msg *m, const struct cc_delta_trace *tr)
{
	json_t	*o;
	int	 rc = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(o, "kind", json_string("message"));
	rc |= set_u64(o, "magic_number", CC_MAGIC);
	rc |= set_u64(o, "protocol_version", CC_PROTOCOL_VERSION);
	rc |= set_u64(o, "message_type_code", m->type);
	rc |= json_object_set_new(o, "message_type",
	    json_string(msg_type_names[m->type]));
	if (m->type == CC_MSG_SYN || m->type == CC_MSG_SYN_ACK)
		rc |= json_object_set_new(o, "digest", digest_to_json(&m->digest));
	if (m->type == CC_MSG_SYN)
		rc |= json_object_set_new(o, "cluster_id",
		    json_stringn(m->cluster_id, m->cluster_id_len));
	if (m->type == CC_MSG_SYN_ACK || m->type == CC_MSG_ACK)
		rc |= json_object_set_new(o, "delta", delta_to_json(&m->delta, tr));
	return obj_done(o, rc);
}

json_t *
cc_wirejson_decode_msg(const uint8_t *buf, size_t len,
    struct cc_codec_ctx *ctx, const char **why)
{
	struct cc_msg		 m;
	struct cc_delta_trace	 tr;
	json_t			*j;

	if (cc_msg_decode_why(buf, len, &m, &tr, ctx, why) == -1)
		return NULL;
	j = msg_to_json(&m, &tr);
	cc_msg_clear(&m);
	cc_delta_trace_clear(&tr);
	if (j == NULL) {
		if (why != NULL)
			*why = "out of memory";
		errno = ENOMEM;
	}
	return j;
}

enum prim {
	PRIM_U16, PRIM_U64, PRIM_HEARTBEAT, PRIM_STRING, PRIM_IP_ADDR,
	PRIM_SOCKET_ADDR, PRIM_CHITCHAT_ID, PRIM_NODE_DIGEST,
};
static const char *const prim_names[] = {
	"u16", "u64", "heartbeat", "string", "ip_addr", "socket_addr",
	"chitchat_id", "node_digest",
};

/* An IP address alone: tag 4 or 6, then the octets. */
static json_t *
ip_decode(struct cc_rbuf *rb)
{
	const uint8_t	*b;
	char		 s[64];
	uint8_t		 tag;

	if (cc_rbuf_u8(rb, &tag) == -1)
		return NULL;
	if (tag != 4 && tag != 6) {
		rb->why = "unknown IP address tag";
		errno = EBADMSG;
		return NULL;
	}
	if (cc_rbuf_bytes(rb, tag == 4 ? 4 : 16, &b) == -1)
		return NULL;
	cc_ip_format(tag == 4 ? CC_AF_INET : CC_AF_INET6, b, s, sizeof(s));
	return json_string(s);
}

static json_t *
node_digest_decode(struct cc_rbuf *rb)
{
	uint64_t	hb, gc, max;
	json_t		*o;
	int		rc = 0;

	if (cc_rbuf_u64(rb, &hb) == -1 || cc_rbuf_u64(rb, &gc) == -1 ||
	    cc_rbuf_u64(rb, &max) == -1)
		return NULL;
	if ((o = json_object()) == NULL)
		return NULL;
	rc |= set_u64(o, "heartbeat", hb);
	rc |= set_u64(o, "last_gc_version", gc);
	rc |= set_u64(o, "max_version", max);
	return obj_done(o, rc);
}

static json_t *
prim_value_decode(enum prim p, struct cc_rbuf *rb)
{
	struct cc_addr	 a;
	struct cc_id	 id;
	char		*s, buf[CC_ADDR_STRLEN];
	size_t		 n;
	uint64_t	 v;
	uint16_t	 v16;
	json_t		*j;

	switch (p) {
	case PRIM_U16:
		return cc_rbuf_u16(rb, &v16) == -1 ? NULL : json_integer(v16);
	case PRIM_U64:
	case PRIM_HEARTBEAT:
		return cc_rbuf_u64(rb, &v) == -1 ? NULL : cc_wirejson_u64(v);
	case PRIM_STRING:
		if (cc_str_decode(rb, &s, &n) == -1)
			return NULL;
		j = json_stringn(s, n);
		free(s);
		return j;
	case PRIM_IP_ADDR:
		return ip_decode(rb);
	case PRIM_SOCKET_ADDR:
		if (cc_addr_decode(rb, &a) == -1)
			return NULL;
		cc_addr_format(&a, buf, sizeof(buf));
		return json_string(buf);
	case PRIM_CHITCHAT_ID:
		if (cc_id_decode(rb, &id) == -1)
			return NULL;
		j = id_to_json(&id);
		cc_id_clear(&id);
		return j;
	default:
		return node_digest_decode(rb);
	}
}

json_t *
cc_wirejson_decode_prim(const char *type, const uint8_t *buf, size_t len,
    const char **why)
{
	struct cc_rbuf	 rb;
	json_t		*v, *o;
	int		 p, rc = 0;

	if ((p = name_index(prim_names, NELEM(prim_names), type)) == -1) {
		if (why != NULL)
			*why = "unknown primitive type";
		errno = EINVAL;
		return NULL;
	}
	cc_rbuf_init(&rb, buf, len);
	errno = ENOMEM;
	if ((v = prim_value_decode((enum prim)p, &rb)) == NULL) {
		if (why != NULL)
			*why = rb.why != NULL ? rb.why : "out of memory";
		return NULL;
	}
	if (cc_rbuf_left(&rb) != 0) {
		json_decref(v);
		if (why != NULL)
			*why = "trailing bytes after the value";
		errno = EBADMSG;
		return NULL;
	}
	if ((o = json_object()) == NULL) {
		json_decref(v);
		return NULL;
	}
	rc |= json_object_set_new(o, "kind", json_string("primitive"));
	rc |= json_object_set_new(o, "type", json_string(prim_names[p]));
	rc |= json_object_set_new(o, "value", v);
	return obj_done(o, rc);
}

/* ---- encode: JSON -> datagram ------------------------------------------- */

struct enc {
	struct cc_codec_ctx	*ctx;
	char			*err;
	size_t			 errlen;
};

static int enc_bad(struct enc *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
enc_bad(struct enc *e, const char *fmt, ...)
{
	va_list ap;

	if (e->err != NULL && e->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(e->err, e->errlen, fmt, ap);
		va_end(ap);
	}
	errno = EINVAL;
	return -1;
}

/* Prefixes the current reason with where it happened: "<what> <i>: ...". */
static int
enc_where(struct enc *e, const char *what, size_t i)
{
	char inner[256];

	snprintf(inner, sizeof(inner), "%s",
	    e->err != NULL && e->err[0] != '\0' ? e->err : "invalid");
	return enc_bad(e, "%s %zu: %s", what, i, inner);
}

/* Fails with a system error (EMSGSIZE, ENOMEM) rather than EINVAL. */
static int
enc_sys(struct enc *e, int err)
{
	enc_bad(e, "%s", strerror(err));
	errno = err;
	return -1;
}

static int
get_u64(struct enc *e, const json_t *o, const char *k, uint64_t max,
    uint64_t *v)
{
	const json_t *j = json_object_get(o, k);

	*v = 0;
	if (j == NULL)
		return enc_bad(e, "missing member \"%s\"", k);
	if (cc_wirejson_get_u64(j, v) == -1)
		return enc_bad(e, "member \"%s\" is not an integer", k);
	if (*v > max)
		return enc_bad(e, "member \"%s\" is out of range", k);
	return 0;
}

static int
get_str(struct enc *e, const json_t *o, const char *k, const char **s,
    size_t *len)
{
	const json_t *j = json_object_get(o, k);

	*s = "";
	*len = 0;
	if (!json_is_string(j))
		return enc_bad(e, "missing or non-string member \"%s\"", k);
	*s = json_string_value(j);
	*len = json_string_length(j);
	return 0;
}

static const json_t *
get_obj(struct enc *e, const json_t *o, const char *k)
{
	const json_t *j = json_object_get(o, k);

	if (!json_is_object(j)) {
		enc_bad(e, "missing or non-object member \"%s\"", k);
		return NULL;
	}
	return j;
}

static const json_t *
get_array(struct enc *e, const json_t *o, const char *k)
{
	const json_t *j = json_object_get(o, k);

	if (!json_is_array(j)) {
		enc_bad(e, "missing or non-array member \"%s\"", k);
		return NULL;
	}
	return j;
}

/* A code from an integer member, else from a name member. */
static int
get_code(struct enc *e, const json_t *o, const char *code_key,
    const char *name_key, const char *const *names, size_t n, uint8_t *code)
{
	const json_t	*j;
	uint64_t	 v;
	int		 i;

	if (json_object_get(o, code_key) != NULL) {
		if (get_u64(e, o, code_key, UINT8_MAX, &v) == -1)
			return -1;
		*code = (uint8_t)v;
		return 0;
	}
	j = json_object_get(o, name_key);
	if ((i = name_index(names, n, json_string_value(j))) == -1)
		return enc_bad(e, "missing or unknown \"%s\"", name_key);
	*code = (uint8_t)i;
	return 0;
}

static int
put_addr(struct enc *e, struct cc_wbuf *wb, const char *s)
{
	struct cc_addr a;

	if (cc_addr_parse(s, &a) == -1)
		return enc_bad(e, "invalid socket address \"%s\"", s);
	cc_addr_encode(wb, &a);
	return 0;
}

static int
put_id(struct enc *e, struct cc_wbuf *wb, const json_t *id)
{
	const char	*node, *addr;
	size_t		 node_len, addr_len;
	uint64_t	 gen;

	if (!json_is_object(id))
		return enc_bad(e, "chitchat_id is not an object");
	if (get_str(e, id, "node_id", &node, &node_len) == -1 ||
	    get_u64(e, id, "generation_id", UINT64_MAX, &gen) == -1 ||
	    get_str(e, id, "gossip_advertise_addr", &addr, &addr_len) == -1)
		return -1;
	cc_wbuf_str(wb, node, node_len);
	cc_wbuf_u64(wb, gen);
	return put_addr(e, wb, addr);
}

static int
put_u64s(struct enc *e, struct cc_wbuf *wb, const json_t *o,
    const char *const *keys, size_t n)
{
	uint64_t	v;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (get_u64(e, o, keys[i], UINT64_MAX, &v) == -1)
			return -1;
		cc_wbuf_u64(wb, v);
	}
	return 0;
}

static const char *const digest_u64s[] = {
	"heartbeat", "last_gc_version", "max_version",
};
static const char *const node_u64s[] = {
	"last_gc_version", "from_version_excluded",
};

static int
put_digest(struct enc *e, struct cc_wbuf *wb, const json_t *d)
{
	const json_t	*a, *ent;
	uint64_t	 num;
	size_t		 i;

	if ((a = get_array(e, d, "node_digests")) == NULL)
		return -1;
	if (json_array_size(a) > UINT16_MAX)
		return enc_bad(e, "more than 65535 digest entries");
	if (json_object_get(d, "num_nodes") != NULL &&
	    (get_u64(e, d, "num_nodes", UINT16_MAX, &num) == -1 ||
	    num != json_array_size(a)))
		return enc_bad(e, "num_nodes does not match node_digests");
	cc_wbuf_u16(wb, (uint16_t)json_array_size(a));
	json_array_foreach(a, i, ent) {
		if (!json_is_object(ent) ||
		    put_id(e, wb, json_object_get(ent, "chitchat_id")) == -1 ||
		    put_u64s(e, wb, ent, digest_u64s, NELEM(digest_u64s)) == -1)
			return enc_where(e, "digest entry", i);
	}
	return 0;
}

static int
put_kv(struct enc *e, struct cc_wbuf *wb, const json_t *kv)
{
	const char	*k, *v;
	size_t		 klen, vlen;
	uint64_t	 ver;
	uint8_t		 st;

	if (get_str(e, kv, "key", &k, &klen) == -1 ||
	    get_str(e, kv, "value", &v, &vlen) == -1 ||
	    get_u64(e, kv, "version", UINT64_MAX, &ver) == -1 ||
	    get_code(e, kv, "status_code", "status", status_names,
	    NELEM(status_names), &st) == -1)
		return -1;
	cc_wbuf_u8(wb, CC_OP_KV);
	cc_wbuf_str(wb, k, klen);
	cc_wbuf_str(wb, v, vlen);
	cc_wbuf_u64(wb, ver);
	cc_wbuf_u8(wb, st);
	return 0;
}

static int
put_op(struct enc *e, struct cc_wbuf *wb, const json_t *op)
{
	uint64_t	max;
	uint8_t		tag;

	if (!json_is_object(op))
		return enc_bad(e, "op is not an object");
	if (get_code(e, op, "tag", "op", op_names, NELEM(op_names), &tag) == -1)
		return -1;
	switch (tag) {
	case CC_OP_NODE:
		cc_wbuf_u8(wb, CC_OP_NODE);
		if (put_id(e, wb, json_object_get(op, "chitchat_id")) == -1)
			return -1;
		return put_u64s(e, wb, op, node_u64s, NELEM(node_u64s));
	case CC_OP_KV:
		return put_kv(e, wb, op);
	case CC_OP_SET_MAX_VERSION:
		if (get_u64(e, op, "max_version", UINT64_MAX, &max) == -1)
			return -1;
		cc_wbuf_u8(wb, CC_OP_SET_MAX_VERSION);
		cc_wbuf_u64(wb, max);
		return 0;
	default:
		return enc_bad(e, "unknown op tag %u", (unsigned)tag);
	}
}

/* A node delta as its operations (§3.5.1). */
static int
put_node_delta(struct enc *e, struct cc_wbuf *wb, const json_t *nd)
{
	const json_t	*kvs, *kv;
	uint64_t	 max;
	size_t		 i;

	if (!json_is_object(nd))
		return enc_bad(e, "node delta is not an object");
	cc_wbuf_u8(wb, CC_OP_NODE);
	if (put_id(e, wb, json_object_get(nd, "chitchat_id")) == -1 ||
	    put_u64s(e, wb, nd, node_u64s, NELEM(node_u64s)) == -1 ||
	    get_u64(e, nd, "max_version", UINT64_MAX, &max) == -1 ||
	    (kvs = get_array(e, nd, "key_values")) == NULL)
		return -1;
	json_array_foreach(kvs, i, kv)
		if (!json_is_object(kv) || put_kv(e, wb, kv) == -1)
			return enc_where(e, "key-value", i);
	if (json_array_size(kvs) == 0 && max > 0) {
		cc_wbuf_u8(wb, CC_OP_SET_MAX_VERSION);
		cc_wbuf_u64(wb, max);
	}
	return 0;
}

/* The raw operation stream S of a delta object. */
static int
put_stream(struct enc *e, struct cc_wbuf *wb, const json_t *d)
{
	const json_t	*a, *x;
	size_t		 i;

	if ((a = json_object_get(d, "ops")) != NULL) {
		if (!json_is_array(a))
			return enc_bad(e, "ops is not an array");
		json_array_foreach(a, i, x)
			if (put_op(e, wb, x) == -1)
				return enc_where(e, "op", i);
		return 0;
	}
	if ((x = json_object_get(d, "decompressed_stream_hex")) != NULL) {
		if (!json_is_string(x) || cc_wirejson_unhex(json_string_value(x),
		    json_string_length(x), wb) == -1)
			return enc_bad(e, "invalid decompressed_stream_hex");
		return 0;
	}
	if ((a = get_array(e, d, "node_deltas")) == NULL)
		return -1;
	json_array_foreach(a, i, x)
		if (put_node_delta(e, wb, x) == -1)
			return enc_where(e, "node delta", i);
	return 0;
}

/* One Compressed block: level 3 into the raw size, else into the bound. */
static int
put_zstd_block(struct enc *e, struct cc_wbuf *wb, const uint8_t *raw,
    size_t n)
{
	size_t	 cap = ZSTD_compressBound(n), c;
	uint8_t	*dst;

	if ((dst = malloc(cap)) == NULL)
		return enc_sys(e, ENOMEM);
	c = ZSTD_compress(dst, n, raw, n, CC_ZSTD_LEVEL);
	if (ZSTD_isError(c))
		c = ZSTD_compress(dst, cap, raw, n, CC_ZSTD_LEVEL);
	if (ZSTD_isError(c) || c > UINT16_MAX) {
		free(dst);
		return enc_bad(e, "cannot compress a block of %zu bytes", n);
	}
	cc_wbuf_u8(wb, CC_BLOCK_COMPRESSED);
	cc_wbuf_u16(wb, (uint16_t)c);
	cc_wbuf_bytes(wb, dst, c);
	free(dst);
	return 0;
}

static int
block_tag(struct enc *e, const json_t *b, uint8_t *tag)
{
	if (!json_is_object(b))
		return enc_bad(e, "block is not an object");
	if (get_code(e, b, "tag", "block_type", block_names, NELEM(block_names),
	    tag) == -1)
		return -1;
	if (*tag > CC_BLOCK_RAW)
		return enc_bad(e, "unknown block tag %u", (unsigned)*tag);
	return 0;
}

/* Frames S exactly as the `blocks` list describes. */
static int
put_blocks(struct enc *e, struct cc_wbuf *wb, const json_t *blocks,
    const struct cc_wbuf *s)
{
	const json_t	*b;
	uint64_t	 n;
	size_t		 i, pos = 0;
	uint8_t		 tag;
	bool		 ended = false;

	json_array_foreach(blocks, i, b) {
		if (ended)
			return enc_bad(e, "block %zu follows NoMoreBlocks", i);
		if (block_tag(e, b, &tag) == -1)
			return -1;
		if (tag == CC_BLOCK_END) {
			ended = true;
			continue;
		}
		if (get_u64(e, b, tag == CC_BLOCK_RAW ? "len" : "decompressed_len",
		    UINT16_MAX, &n) == -1)
			return -1;
		if (n > s->len - pos)
			return enc_bad(e, "blocks exceed the operation stream");
		if (tag == CC_BLOCK_COMPRESSED) {
			if (put_zstd_block(e, wb, s->data + pos, n) == -1)
				return -1;
		} else {
			cc_wbuf_u8(wb, CC_BLOCK_RAW);
			cc_wbuf_u16(wb, (uint16_t)n);
			cc_wbuf_bytes(wb, s->data + pos, n);
		}
		pos += n;
	}
	if (pos != s->len)
		return enc_bad(e, "blocks do not cover the operation stream");
	cc_wbuf_u8(wb, CC_BLOCK_END);
	return 0;
}

static int
put_delta(struct enc *e, struct cc_wbuf *wb, const json_t *d)
{
	struct cc_wbuf		 s;
	struct cc_blockw	 bw;
	const json_t		*blocks;
	int			 rc = -1;

	cc_wbuf_init(&s);
	if (put_stream(e, &s, d) == -1)
		goto out;
	if (s.err != 0) {
		enc_sys(e, s.err);
		goto out;
	}
	if ((blocks = json_object_get(d, "blocks")) != NULL) {
		if (!json_is_array(blocks))
			enc_bad(e, "blocks is not an array");
		else
			rc = put_blocks(e, wb, blocks, &s);
		goto out;
	}
	if (cc_blockw_init(&bw, CC_BLOCK_THRESHOLD, e->ctx) == -1)
		goto out;
	if (cc_blockw_append(&bw, s.data, s.len) == 0)
		rc = cc_blockw_finish(&bw, wb);
	cc_blockw_clear(&bw);
out:
	cc_wbuf_clear(&s);
	return rc;
}

static int
put_msg(struct enc *e, struct cc_wbuf *wb, const json_t *m)
{
	const json_t	*d;
	const char	*cl;
	size_t		 cl_len;
	uint64_t	 magic = CC_MAGIC, proto = CC_PROTOCOL_VERSION;
	uint8_t		 type;

	if ((json_object_get(m, "magic_number") != NULL &&
	    get_u64(e, m, "magic_number", UINT16_MAX, &magic) == -1) ||
	    (json_object_get(m, "protocol_version") != NULL &&
	    get_u64(e, m, "protocol_version", UINT8_MAX, &proto) == -1) ||
	    get_code(e, m, "message_type_code", "message_type", msg_type_names,
	    NELEM(msg_type_names), &type) == -1)
		return -1;
	cc_wbuf_u16(wb, (uint16_t)magic);
	cc_wbuf_u8(wb, (uint8_t)proto);
	cc_wbuf_u8(wb, type);
	if (type == CC_MSG_SYN || type == CC_MSG_SYN_ACK) {
		if ((d = get_obj(e, m, "digest")) == NULL ||
		    put_digest(e, wb, d) == -1)
			return -1;
	}
	if (type == CC_MSG_SYN) {
		if (get_str(e, m, "cluster_id", &cl, &cl_len) == -1)
			return -1;
		cc_wbuf_str(wb, cl, cl_len);
	}
	if (type == CC_MSG_SYN_ACK || type == CC_MSG_ACK) {
		if ((d = get_obj(e, m, "delta")) == NULL ||
		    put_delta(e, wb, d) == -1)
			return -1;
	}
	return 0;
}

static int
put_ip(struct enc *e, struct cc_wbuf *wb, const char *s)
{
	uint8_t ip[16];

	if (inet_pton(AF_INET, s, ip) == 1) {
		cc_wbuf_u8(wb, 4);
		cc_wbuf_bytes(wb, ip, 4);
	} else if (inet_pton(AF_INET6, s, ip) == 1) {
		cc_wbuf_u8(wb, 6);
		cc_wbuf_bytes(wb, ip, 16);
	} else
		return enc_bad(e, "invalid IP address \"%s\"", s);
	return 0;
}

static int
put_prim(struct enc *e, struct cc_wbuf *wb, const json_t *o)
{
	const json_t	*v = json_object_get(o, "value");
	const char	*s;
	size_t		 len;
	uint64_t	 u;
	int		 p;

	p = name_index(prim_names, NELEM(prim_names),
	    json_string_value(json_object_get(o, "type")));
	if (p == -1)
		return enc_bad(e, "missing or unknown primitive \"type\"");
	if (v == NULL)
		return enc_bad(e, "missing member \"value\"");
	switch ((enum prim)p) {
	case PRIM_U16:
		if (get_u64(e, o, "value", UINT16_MAX, &u) == -1)
			return -1;
		cc_wbuf_u16(wb, (uint16_t)u);
		return 0;
	case PRIM_U64:
	case PRIM_HEARTBEAT:
		if (get_u64(e, o, "value", UINT64_MAX, &u) == -1)
			return -1;
		cc_wbuf_u64(wb, u);
		return 0;
	case PRIM_STRING:
		if (get_str(e, o, "value", &s, &len) == -1)
			return -1;
		cc_wbuf_str(wb, s, len);
		return 0;
	case PRIM_IP_ADDR:
	case PRIM_SOCKET_ADDR:
		if (get_str(e, o, "value", &s, &len) == -1)
			return -1;
		if (p == PRIM_IP_ADDR)
			return put_ip(e, wb, s);
		return put_addr(e, wb, s);
	case PRIM_CHITCHAT_ID:
		return put_id(e, wb, v);
	default:
		if (!json_is_object(v))
			return enc_bad(e, "node_digest value is not an object");
		return put_u64s(e, wb, v, digest_u64s, NELEM(digest_u64s));
	}
}

int
cc_wirejson_encode(const json_t *decoded, struct cc_wbuf *out,
    struct cc_codec_ctx *ctx, char *err, size_t errlen)
{
	struct enc	 e;
	const char	*kind;
	int		 rc;

	e.ctx = ctx;
	e.err = err;
	e.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (!json_is_object(decoded))
		return enc_bad(&e, "decoded value is not an object");
	kind = json_string_value(json_object_get(decoded, "kind"));
	if (kind != NULL && strcmp(kind, "message") == 0)
		rc = put_msg(&e, out, decoded);
	else if (kind != NULL && strcmp(kind, "primitive") == 0)
		rc = put_prim(&e, out, decoded);
	else
		return enc_bad(&e, "\"kind\" is neither message nor primitive");
	if (rc == 0 && out->err != 0)
		return enc_sys(&e, out->err);
	return rc;
}
