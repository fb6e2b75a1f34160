/*
 * cc_catchup.c: the catch-up side channel's frames (docs/CATCHUP.md):
 * encoders and total decoders for each body, the server's answer built
 * chunk by chunk from a live engine, and the client's checked
 * accumulation of an answer.
 *
 * Chunks reuse the chitchat delta codec (cc_delta_codec.c): a chunk is a
 * delta with one node delta, so entries travel in the same operations and
 * zstd blocks as on the gossip port, and are decoded by the same fuzzed
 * reader with its caps. Every decoder treats its input as hostile.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc_catchup.h"
#include "cc_state.h"

/* ---- primitives ---------------------------------------------------------- */

static void
put_u32(struct cc_wbuf *wb, uint32_t v)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	cc_wbuf_bytes(wb, b, sizeof(b));
}

static uint32_t
get_u32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24;
}

static int
rbuf_u32(struct cc_rbuf *rb, uint32_t *v)
{
	const uint8_t *b;

	if (cc_rbuf_bytes(rb, 4, &b) == -1)
		return -1;
	*v = get_u32(b);
	return 0;
}

/* Opens a body of the expected type and checks the magic after it. */
static int
open_body(struct cc_rbuf *rb, const uint8_t *p, size_t len, uint8_t want, bool magic)
{
	uint8_t		type;
	uint32_t	m;

	cc_rbuf_init(rb, p, len);
	if (cc_rbuf_u8(rb, &type) == -1)
		return -1;
	if (type != want)
		return cc_rbuf_fail(rb, "unexpected frame type");
	if (magic && (rbuf_u32(rb, &m) == -1 || m != CC_CATCHUP_MAGIC))
		return cc_rbuf_fail(rb, "bad magic");
	return 0;
}

static int
close_body(struct cc_rbuf *rb)
{
	return cc_rbuf_left(rb) == 0 ? 0 : cc_rbuf_fail(rb, "trailing bytes");
}

/* ---- framing ------------------------------------------------------------- */

void
cc_catchup_put_prefix(struct cc_wbuf *wb, size_t len)
{
	if (len > UINT32_MAX) {
		if (wb->err == 0)
			wb->err = EMSGSIZE;
		return;
	}
	put_u32(wb, (uint32_t)len);
}

int
cc_catchup_get_prefix(const uint8_t prefix[CC_CATCHUP_PREFIX], size_t max, size_t *len)
{
	uint32_t v = get_u32(prefix);

	if (v == 0 || v > max) {
		errno = EMSGSIZE;
		return -1;
	}
	*len = v;
	return 0;
}

int
cc_catchup_body_type(const uint8_t *p, size_t len, uint8_t *type)
{
	if (p == NULL || len == 0) {
		errno = EBADMSG;
		return -1;
	}
	*type = p[0];
	return 0;
}

/* ---- request -------------------------------------------------------------- */

void
cc_catchup_request_encode(struct cc_wbuf *wb, const struct cc_catchup_request *r)
{
	cc_wbuf_u8(wb, CC_CATCHUP_REQUEST);
	put_u32(wb, CC_CATCHUP_MAGIC);
	cc_wbuf_u8(wb, r->version);
	cc_wbuf_str(wb, r->cluster_id, r->cluster_id_len);
	cc_id_encode(wb, &r->id);
	cc_wbuf_u64(wb, r->last_gc_version);
	cc_wbuf_u64(wb, r->max_version);
}

void
cc_catchup_request_clear(struct cc_catchup_request *r)
{
	free(r->cluster_id);
	r->cluster_id = NULL;
	cc_id_clear(&r->id);
}

int
cc_catchup_request_decode(const uint8_t *p, size_t len, struct cc_catchup_request *r)
{
	struct cc_rbuf rb;

	memset(r, 0, sizeof(*r));
	if (open_body(&rb, p, len, CC_CATCHUP_REQUEST, true) == -1 ||
	    cc_rbuf_u8(&rb, &r->version) == -1)
		return -1;
	/* a later version may say more: only the version is read then */
	if (r->version != CC_CATCHUP_VERSION)
		return 0;
	if (cc_str_decode(&rb, &r->cluster_id, &r->cluster_id_len) == -1)
		return -1;
	if (cc_id_decode(&rb, &r->id) == -1 ||
	    cc_rbuf_u64(&rb, &r->last_gc_version) == -1 ||
	    cc_rbuf_u64(&rb, &r->max_version) == -1 || close_body(&rb) == -1) {
		cc_catchup_request_clear(r);
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* ---- header and end ------------------------------------------------------- */

void
cc_catchup_header_encode(struct cc_wbuf *wb, const struct cc_catchup_header *h)
{
	cc_wbuf_u8(wb, CC_CATCHUP_HEADER);
	put_u32(wb, CC_CATCHUP_MAGIC);
	cc_wbuf_u8(wb, h->version);
	cc_wbuf_u8(wb, h->status);
	cc_wbuf_u64(wb, h->heartbeat);
	cc_wbuf_u64(wb, h->last_gc_version);
	cc_wbuf_u64(wb, h->max_version);
}

int
cc_catchup_header_decode(const uint8_t *p, size_t len, struct cc_catchup_header *h)
{
	struct cc_rbuf rb;

	memset(h, 0, sizeof(*h));
	if (open_body(&rb, p, len, CC_CATCHUP_HEADER, true) == -1 ||
	    cc_rbuf_u8(&rb, &h->version) == -1 || cc_rbuf_u8(&rb, &h->status) == -1 ||
	    cc_rbuf_u64(&rb, &h->heartbeat) == -1 ||
	    cc_rbuf_u64(&rb, &h->last_gc_version) == -1 ||
	    cc_rbuf_u64(&rb, &h->max_version) == -1 || close_body(&rb) == -1)
		return -1;
	if (h->status > CC_CATCHUP_BAD_REQUEST)
		return cc_rbuf_fail(&rb, "unknown header status");
	return 0;
}

void
cc_catchup_end_encode(struct cc_wbuf *wb, const struct cc_catchup_end *e)
{
	cc_wbuf_u8(wb, CC_CATCHUP_END);
	cc_wbuf_u8(wb, e->status);
	cc_wbuf_u64(wb, e->heartbeat);
	cc_wbuf_u64(wb, e->last_gc_version);
	cc_wbuf_u64(wb, e->max_version);
	cc_wbuf_u64(wb, e->n_entries);
}

int
cc_catchup_end_decode(const uint8_t *p, size_t len, struct cc_catchup_end *e)
{
	struct cc_rbuf rb;

	memset(e, 0, sizeof(*e));
	if (open_body(&rb, p, len, CC_CATCHUP_END, false) == -1 ||
	    cc_rbuf_u8(&rb, &e->status) == -1 || cc_rbuf_u64(&rb, &e->heartbeat) == -1 ||
	    cc_rbuf_u64(&rb, &e->last_gc_version) == -1 ||
	    cc_rbuf_u64(&rb, &e->max_version) == -1 ||
	    cc_rbuf_u64(&rb, &e->n_entries) == -1 || close_body(&rb) == -1)
		return -1;
	if (e->status > CC_CATCHUP_ABORTED)
		return cc_rbuf_fail(&rb, "unknown end status");
	return 0;
}

/* ---- chunk ------------------------------------------------------------------ */

int
cc_catchup_chunk_decode(const uint8_t *p, size_t len, struct cc_delta *d,
    struct cc_codec_ctx *ctx)
{
	struct cc_rbuf rb;

	memset(d, 0, sizeof(*d));
	if (open_body(&rb, p, len, CC_CATCHUP_CHUNK, false) == -1 ||
	    cc_delta_decode(&rb, d, NULL, ctx) == -1)
		return -1;
	if (close_body(&rb) == -1 || d->n != 1 || d->nodes[0].n_kvs == 0) {
		cc_delta_clear(d);
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

/* ---- server ------------------------------------------------------------------ */

static bool
cluster_is(const struct cc_engine *e, const char *id, size_t len)
{
	const char *mine = cc_engine_cluster_id(e);

	return strlen(mine) == len && (len == 0 || memcmp(mine, id, len) == 0);
}

int
cc_catchup_tx_start(struct cc_catchup_tx *tx, const struct cc_engine *e,
    const struct cc_catchup_request *req, struct cc_wbuf *out)
{
	struct cc_catchup_header	 h;
	const struct cc_node		*n = NULL;

	memset(tx, 0, sizeof(*tx));
	memset(&h, 0, sizeof(h));
	h.version = CC_CATCHUP_VERSION;
	if (req->version != CC_CATCHUP_VERSION)
		h.status = CC_CATCHUP_BAD_VERSION;
	else if (!cluster_is(e, req->cluster_id, req->cluster_id_len))
		h.status = CC_CATCHUP_WRONG_CLUSTER;
	else if ((n = cc_engine_node(e, &req->id)) == NULL)
		h.status = CC_CATCHUP_NOT_FOUND;
	/*
	 * Useful only if newer than the client's replica and not behind its
	 * GC horizon (the reset API would skip it as stale).
	 */
	else if (cc_node_max_version(n) <= req->max_version ||
	    cc_node_last_gc_version(n) < req->last_gc_version)
		h.status = CC_CATCHUP_UP_TO_DATE;
	else {
		h.status = CC_CATCHUP_FOUND;
		h.heartbeat = cc_node_heartbeat(n);
		h.last_gc_version = cc_node_last_gc_version(n);
		h.max_version = cc_node_max_version(n);
		if (cc_id_copy(&tx->id, &req->id) == -1)
			return -1;
		tx->last_gc_version = h.last_gc_version;
	}
	tx->status = h.status;
	tx->done = h.status != CC_CATCHUP_FOUND;
	cc_catchup_header_encode(out, &h);
	if (out->err != 0) {
		errno = out->err;
		return -1;
	}
	return h.status;
}

static int
tx_end(struct cc_catchup_tx *tx, const struct cc_node *n, uint8_t status,
    struct cc_wbuf *out)
{
	struct cc_catchup_end end;

	memset(&end, 0, sizeof(end));
	end.status = status;
	if (n != NULL) {
		end.heartbeat = cc_node_heartbeat(n);
		end.last_gc_version = cc_node_last_gc_version(n);
		end.max_version = cc_node_max_version(n);
	}
	end.n_entries = tx->n_sent;
	cc_catchup_end_encode(out, &end);
	tx->done = true;
	tx->aborted = status != CC_CATCHUP_COMPLETE;
	if (out->err != 0) {
		errno = out->err;
		return -1;
	}
	return 0;
}

/*
 * One chunk from the cursor; *n_kvs KVs went in and the cursor moved past
 * every entry examined (skipped unrelayable ones included). *full: an
 * entry did not fit, more remain.
 */
static int
tx_chunk(struct cc_catchup_tx *tx, const struct cc_node *n, struct cc_codec_ctx *ctx,
    struct cc_wbuf *out, size_t *n_kvs, bool *full)
{
	struct cc_delta_writer	 w;
	struct cc_entry		*en;
	uint64_t		 cursor = tx->cursor;
	int			 rc;

	*n_kvs = 0;
	*full = false;
	if (cc_dw_init(&w, CC_CATCHUP_CHUNK_BUDGET, ctx) == -1)
		return -1;
	if (!cc_dw_add_node(&w, &n->id, n->last_gc_version, tx->cursor)) {
		cc_dw_clear(&w);
		errno = EMSGSIZE;
		return -1;
	}
	for (en = cc_node_stale_first(n, tx->cursor); en != NULL;
	    en = RB_NEXT(cc_version_tree, NULL, en)) {
		if (cc_entry_is_relayable(en)) {
			if (!cc_dw_add_kv(&w, en->kv.key, en->kv.key_len, en->kv.value,
			    en->kv.value_len, en->kv.version, (uint8_t)en->kv.status)) {
				*full = true;
				break;
			}
			(*n_kvs)++;
		}
		cursor = en->kv.version;
	}
	rc = 0;
	if (*n_kvs > 0) {
		cc_wbuf_u8(out, CC_CATCHUP_CHUNK);
		rc = cc_dw_finish(&w, out);
	}
	cc_dw_clear(&w);
	if (rc == 0) {
		tx->cursor = cursor;
		tx->n_sent += *n_kvs;
	}
	return rc;
}

int
cc_catchup_tx_next(struct cc_catchup_tx *tx, const struct cc_engine *e,
    struct cc_codec_ctx *ctx, struct cc_wbuf *out)
{
	const struct cc_node	*n;
	size_t			 n_kvs;
	bool			 full;

	if (tx->done)
		return 0;
	n = cc_engine_node(e, &tx->id);
	/* GC moved on, or a reset replaced the state: what was sent may be stale */
	if (n == NULL || cc_node_last_gc_version(n) != tx->last_gc_version)
		return tx_end(tx, n, CC_CATCHUP_ABORTED, out);
	if (tx_chunk(tx, n, ctx, out, &n_kvs, &full) == -1)
		return -1;
	if (n_kvs > 0)
		return 0;
	/* nothing fitted an empty chunk: cannot happen under the budget */
	return tx_end(tx, n, full ? CC_CATCHUP_ABORTED : CC_CATCHUP_COMPLETE, out);
}

void
cc_catchup_tx_clear(struct cc_catchup_tx *tx)
{
	cc_id_clear(&tx->id);
	memset(tx, 0, sizeof(*tx));
}

/* ---- client ------------------------------------------------------------------ */

int
cc_catchup_rx_init(struct cc_catchup_rx *rx, const struct cc_id *id, size_t max_entries,
    uint64_t max_bytes)
{
	memset(rx, 0, sizeof(*rx));
	rx->max_entries = max_entries;
	rx->max_bytes = max_bytes;
	rx->state = CC_CATCHUP_RX_HEADER;
	if (cc_id_copy(&rx->id, id) == -1 || (rx->ctx = cc_codec_ctx_new()) == NULL) {
		cc_catchup_rx_clear(rx);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
cc_catchup_rx_clear(struct cc_catchup_rx *rx)
{
	for (size_t i = 0; i < rx->n; i++) {
		free((char *)rx->entries[i].key);
		free((char *)rx->entries[i].value);
	}
	free(rx->entries);
	cc_codec_ctx_free(rx->ctx);
	cc_id_clear(&rx->id);
	memset(rx, 0, sizeof(*rx));
}

static int
rx_fail(struct cc_catchup_rx *rx, int err, const char *why)
{
	rx->why = why;
	errno = err;
	return -1;
}

static int
rx_header(struct cc_catchup_rx *rx, const uint8_t *p, size_t len)
{
	if (cc_catchup_header_decode(p, len, &rx->hdr) == -1)
		return rx_fail(rx, EBADMSG, "malformed header");
	if (rx->hdr.status != CC_CATCHUP_FOUND) {
		rx->state = CC_CATCHUP_RX_DONE;
		return 1;
	}
	if (rx->hdr.version != CC_CATCHUP_VERSION)
		return rx_fail(rx, EBADMSG, "unknown protocol version");
	rx->state = CC_CATCHUP_RX_CHUNKS;
	return 0;
}

/* Takes the chunk's KVs (their strings move into rx->entries). */
static int
rx_take(struct cc_catchup_rx *rx, struct cc_node_delta *nd)
{
	if (nd->n_kvs > rx->max_entries - rx->n)
		return rx_fail(rx, EMSGSIZE, "more entries than max_keys_per_node");
	if (rx->n + nd->n_kvs > rx->cap) {
		size_t		 ncap = rx->cap ? rx->cap : 64;
		struct cc_kv	*v;

		while (ncap < rx->n + nd->n_kvs)
			ncap *= 2;
		if ((v = realloc(rx->entries, ncap * sizeof(*v))) == NULL)
			return rx_fail(rx, ENOMEM, "out of memory");
		rx->entries = v;
		rx->cap = ncap;
	}
	for (size_t i = 0; i < nd->n_kvs; i++) {
		struct cc_kv_op	*op = &nd->kvs[i];
		struct cc_kv	*kv = &rx->entries[rx->n];
		uint64_t	 sz = (uint64_t)op->key_len + op->value_len;

		if (sz > rx->max_bytes - rx->bytes)
			return rx_fail(rx, EMSGSIZE, "more key and value bytes than allowed");
		memset(kv, 0, sizeof(*kv));
		kv->key = op->key;
		kv->key_len = op->key_len;
		kv->value = op->value;
		kv->value_len = op->value_len;
		kv->version = op->version;
		kv->status = (enum cc_status)op->status;
		op->key = op->value = NULL;
		rx->bytes += sz;
		rx->n++;
	}
	rx->cursor = nd->max_version;
	return 0;
}

static int
rx_chunk(struct cc_catchup_rx *rx, const uint8_t *p, size_t len)
{
	struct cc_delta		 d;
	struct cc_node_delta	*nd;
	int			 rc;

	if (cc_catchup_chunk_decode(p, len, &d, rx->ctx) == -1)
		return rx_fail(rx, errno == ENOMEM ? ENOMEM : EBADMSG, "malformed chunk");
	nd = &d.nodes[0];
	if (!cc_id_is_equal(&nd->id, &rx->id))
		rc = rx_fail(rx, EBADMSG, "chunk of another node");
	else if (nd->last_gc_version != rx->hdr.last_gc_version)
		rc = rx_fail(rx, EBADMSG, "chunk with another last_gc_version");
	/* chunks follow each other in version order, from the server's cursor */
	else if (nd->from_version_excluded < rx->cursor ||
	    nd->kvs[0].version <= nd->from_version_excluded)
		rc = rx_fail(rx, EBADMSG, "chunk out of version order");
	else
		rc = rx_take(rx, nd);
	cc_delta_clear(&d);
	return rc;
}

static int
rx_end(struct cc_catchup_rx *rx, const uint8_t *p, size_t len)
{
	if (cc_catchup_end_decode(p, len, &rx->end) == -1)
		return rx_fail(rx, EBADMSG, "malformed end");
	rx->state = CC_CATCHUP_RX_DONE;
	if (rx->end.status != CC_CATCHUP_COMPLETE)
		return 1;
	if (rx->end.n_entries != rx->n)
		return rx_fail(rx, EBADMSG, "end counts other entries than received");
	if (rx->end.last_gc_version != rx->hdr.last_gc_version ||
	    rx->end.max_version < rx->cursor)
		return rx_fail(rx, EBADMSG, "end inconsistent with the entries");
	return 1;
}

int
cc_catchup_rx_feed(struct cc_catchup_rx *rx, const uint8_t *p, size_t len)
{
	uint8_t type;

	if (cc_catchup_body_type(p, len, &type) == -1)
		return rx_fail(rx, EBADMSG, "empty frame");
	switch (rx->state) {
	case CC_CATCHUP_RX_HEADER:
		return rx_header(rx, p, len);
	case CC_CATCHUP_RX_CHUNKS:
		if (type == CC_CATCHUP_CHUNK)
			return rx_chunk(rx, p, len);
		if (type == CC_CATCHUP_END)
			return rx_end(rx, p, len);
		return rx_fail(rx, EBADMSG, "unexpected frame type");
	default:
		return rx_fail(rx, EBADMSG, "frame after the end");
	}
}
