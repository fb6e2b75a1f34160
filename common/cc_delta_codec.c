/*
 * cc_delta_codec.c: the delta layer of the chitchat wire format
 * (PROTOCOL.md §3.5): operations, the zstd block framing, the size
 * accounting that keeps a delta under its byte budget, and the reader.
 *
 * The writer reproduces chitchat's framing exactly (blocks cut at fixed
 * byte counts, each compressed at level 3 into a buffer of the raw size,
 * else stored raw), because peers and upstream tests observe its sizes.
 * The reader concatenates every block before it parses operations, since
 * an operation may straddle two blocks, and caps the rebuilt stream so a
 * small hostile datagram cannot make it allocate without bound.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "cc_wire.h"

struct cc_codec_ctx {
	ZSTD_CCtx	*cctx;
	ZSTD_DCtx	*dctx;
	uint8_t		*scratch;	/* CC_MAX_DECOMPRESSED_BLOCK bytes */
};

/* Reader state for one delta. */
struct delta_dec {
	struct cc_rbuf		*rb;
	struct cc_delta		*d;
	struct cc_delta_trace	*tr;
	struct cc_codec_ctx	*ctx;
	struct cc_wbuf		 stream;
};

/*
 * Grows *arr (of n elements of size sz) so that element n can be written.
 * Capacity is implicit: a power of two, reallocated when n reaches one.
 */
static int
grow_pow2(void **arr, size_t n, size_t sz)
{
	size_t	 ncap;
	void	*p;

	if (n != 0 && (n & (n - 1)) != 0)
		return 0;
	ncap = n == 0 ? 1 : n * 2;
	if (ncap > SIZE_MAX / sz) {
		errno = ENOMEM;
		return -1;
	}
	if ((p = realloc(*arr, ncap * sz)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	*arr = p;
	return 0;
}

static char *
mem_dup(const char *s, size_t n)
{
	char *p;

	if ((p = malloc(n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* ---- zstd contexts ------------------------------------------------------ */

struct cc_codec_ctx *
cc_codec_ctx_new(void)
{
	struct cc_codec_ctx *ctx;

	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		goto fail;
	ctx->cctx = ZSTD_createCCtx();
	ctx->dctx = ZSTD_createDCtx();
	ctx->scratch = malloc(CC_MAX_DECOMPRESSED_BLOCK);
	if (ctx->cctx == NULL || ctx->dctx == NULL || ctx->scratch == NULL)
		goto fail;
	return ctx;
fail:
	cc_codec_ctx_free(ctx);
	errno = ENOMEM;
	return NULL;
}

void
cc_codec_ctx_free(struct cc_codec_ctx *ctx)
{
	if (ctx == NULL)
		return;
	ZSTD_freeCCtx(ctx->cctx);
	ZSTD_freeDCtx(ctx->dctx);
	free(ctx->scratch);
	free(ctx);
}

/* ---- operations --------------------------------------------------------- */

static void
op_node_encode(struct cc_wbuf *wb, const struct cc_id *id, uint64_t gc,
    uint64_t from)
{
	cc_wbuf_u8(wb, CC_OP_NODE);
	cc_id_encode(wb, id);
	cc_wbuf_u64(wb, gc);
	cc_wbuf_u64(wb, from);
}

static void
op_kv_encode(struct cc_wbuf *wb, const char *key, size_t key_len,
    const char *value, size_t value_len, uint64_t version, uint8_t status)
{
	cc_wbuf_u8(wb, CC_OP_KV);
	cc_wbuf_str(wb, key, key_len);
	cc_wbuf_str(wb, value, value_len);
	cc_wbuf_u64(wb, version);
	cc_wbuf_u8(wb, status);
}

static void
op_smv_encode(struct cc_wbuf *wb, uint64_t max_version)
{
	cc_wbuf_u8(wb, CC_OP_SET_MAX_VERSION);
	cc_wbuf_u64(wb, max_version);
}

static void
kv_op_clear(struct cc_kv_op *kv)
{
	free(kv->key);
	free(kv->value);
	kv->key = kv->value = NULL;
}

static void
op_clear(struct cc_op *op)
{
	cc_id_clear(&op->id);
	kv_op_clear(&op->kv);
}

static int
kv_op_decode(struct cc_rbuf *rb, struct cc_kv_op *kv)
{
	memset(kv, 0, sizeof(*kv));
	if (cc_str_decode(rb, &kv->key, &kv->key_len) == -1)
		return -1;
	if (cc_str_decode(rb, &kv->value, &kv->value_len) == -1 ||
	    cc_rbuf_u64(rb, &kv->version) == -1 ||
	    cc_rbuf_u8(rb, &kv->status) == -1)
		goto fail;
	if (kv->status > CC_STATUS_DELETE_AFTER_TTL) {
		cc_rbuf_fail(rb, "unknown key-value status");
		goto fail;
	}
	return 0;
fail:
	kv_op_clear(kv);
	errno = EBADMSG;
	return -1;
}

/* Decodes one operation; on success *op owns its strings. */
static int
op_decode(struct cc_rbuf *rb, struct cc_op *op)
{
	memset(op, 0, sizeof(*op));
	if (cc_rbuf_u8(rb, &op->tag) == -1)
		return -1;
	switch (op->tag) {
	case CC_OP_NODE:
		if (cc_id_decode(rb, &op->id) == -1)
			return -1;
		if (cc_rbuf_u64(rb, &op->last_gc_version) == -1 ||
		    cc_rbuf_u64(rb, &op->from_version_excluded) == -1) {
			cc_id_clear(&op->id);
			return -1;
		}
		return 0;
	case CC_OP_KV:
		return kv_op_decode(rb, &op->kv);
	case CC_OP_SET_MAX_VERSION:
		return cc_rbuf_u64(rb, &op->max_version);
	default:
		return cc_rbuf_fail(rb, "unknown delta operation tag");
	}
}

static int
op_copy(struct cc_op *dst, const struct cc_op *src)
{
	*dst = *src;
	memset(&dst->id, 0, sizeof(dst->id));
	memset(&dst->kv, 0, sizeof(dst->kv));
	if (src->tag == CC_OP_NODE && cc_id_copy(&dst->id, &src->id) == -1)
		return -1;
	if (src->tag == CC_OP_KV) {
		dst->kv = src->kv;
		dst->kv.key = mem_dup(src->kv.key, src->kv.key_len);
		dst->kv.value = mem_dup(src->kv.value, src->kv.value_len);
		if (dst->kv.key == NULL || dst->kv.value == NULL) {
			kv_op_clear(&dst->kv);
			errno = ENOMEM;
			return -1;
		}
	}
	return 0;
}

/* ---- block writer (§3.5.4, §3.5.5) -------------------------------------- */

int
cc_blockw_init(struct cc_blockw *bw, size_t threshold, struct cc_codec_ctx *ctx)
{
	memset(bw, 0, sizeof(*bw));
	cc_wbuf_init(&bw->out);
	cc_wbuf_init(&bw->pending);
	if (threshold == 0 || threshold > CC_MAX_DECOMPRESSED_BLOCK) {
		errno = EINVAL;
		return -1;
	}
	if (ctx == NULL) {
		if ((ctx = cc_codec_ctx_new()) == NULL)
			return -1;
		bw->owns_ctx = true;
	}
	bw->ctx = ctx;
	bw->threshold = threshold;
	return 0;
}

void
cc_blockw_clear(struct cc_blockw *bw)
{
	if (bw->owns_ctx)
		cc_codec_ctx_free(bw->ctx);
	bw->ctx = NULL;
	bw->owns_ctx = false;
	cc_wbuf_clear(&bw->out);
	cc_wbuf_clear(&bw->pending);
}

size_t
cc_blockw_bound_after(const struct cc_blockw *bw, size_t item_len)
{
	size_t bound = 3 + bw->out.len + bw->pending.len + item_len + 1;

	/* This item will cause a flush: count a second block header. */
	if (bw->pending.len + item_len > bw->threshold)
		bound += 3;
	return bound;
}

/* Frames raw[0..k) as one block: compressed if it fits in k bytes, else raw. */
static void
blockw_frame(struct cc_blockw *bw, const uint8_t *raw, size_t k)
{
	size_t c;

	c = ZSTD_compressCCtx(bw->ctx->cctx, bw->ctx->scratch, k, raw, k,
	    CC_ZSTD_LEVEL);
	if (!ZSTD_isError(c)) {
		cc_wbuf_u8(&bw->out, CC_BLOCK_COMPRESSED);
		cc_wbuf_u16(&bw->out, (uint16_t)c);
		cc_wbuf_bytes(&bw->out, bw->ctx->scratch, c);
	} else {
		cc_wbuf_u8(&bw->out, CC_BLOCK_RAW);
		cc_wbuf_u16(&bw->out, (uint16_t)k);
		cc_wbuf_bytes(&bw->out, raw, k);
	}
}

static int
blockw_error(const struct cc_blockw *bw)
{
	if (bw->out.err != 0)
		return bw->out.err;
	return bw->pending.err;
}

int
cc_blockw_append(struct cc_blockw *bw, const void *item, size_t len)
{
	struct cc_wbuf	*p = &bw->pending;
	size_t		 off = 0;

	cc_wbuf_bytes(p, item, len);
	/* Flush whole blocks while strictly more than T bytes are pending. */
	while (p->err == 0 && p->len - off > bw->threshold) {
		blockw_frame(bw, p->data + off, bw->threshold);
		off += bw->threshold;
	}
	if (off > 0) {
		memmove(p->data, p->data + off, p->len - off);
		p->len -= off;
	}
	if (blockw_error(bw) != 0) {
		errno = blockw_error(bw);
		return -1;
	}
	return 0;
}

int
cc_blockw_finish(struct cc_blockw *bw, struct cc_wbuf *dst)
{
	if (blockw_error(bw) == 0 && bw->pending.len > 0) {
		blockw_frame(bw, bw->pending.data, bw->pending.len);
		bw->pending.len = 0;
	}
	cc_wbuf_u8(&bw->out, CC_BLOCK_END);
	if (blockw_error(bw) != 0) {
		errno = blockw_error(bw);
		return -1;
	}
	cc_wbuf_bytes(dst, bw->out.data, bw->out.len);
	if (dst->err != 0) {
		errno = dst->err;
		return -1;
	}
	return 0;
}

/* ---- delta builder under a budget --------------------------------------- */

int
cc_dw_init(struct cc_delta_writer *dw, size_t mtu, struct cc_codec_ctx *ctx)
{
	memset(dw, 0, sizeof(*dw));
	cc_wbuf_init(&dw->scratch);
	if (mtu < CC_MIN_DELTA_MTU) {
		errno = EINVAL;
		return -1;
	}
	dw->mtu = mtu;
	return cc_blockw_init(&dw->bw,
	    mtu < CC_BLOCK_THRESHOLD ? mtu : CC_BLOCK_THRESHOLD, ctx);
}

void
cc_dw_clear(struct cc_delta_writer *dw)
{
	cc_blockw_clear(&dw->bw);
	cc_wbuf_clear(&dw->scratch);
	dw->n_ops = 0;
}

/* Appends the op in scratch if the bound stays within the budget. */
static bool
dw_offer(struct cc_delta_writer *dw)
{
	if (dw->scratch.err != 0 || dw->bw.ctx == NULL)
		return false;
	if (cc_blockw_bound_after(&dw->bw, dw->scratch.len) > dw->mtu)
		return false;
	if (cc_blockw_append(&dw->bw, dw->scratch.data, dw->scratch.len) == -1)
		return false;
	dw->n_ops++;
	return true;
}

bool
cc_dw_add_node(struct cc_delta_writer *dw, const struct cc_id *id,
    uint64_t last_gc_version, uint64_t from_version_excluded)
{
	cc_wbuf_reset(&dw->scratch);
	op_node_encode(&dw->scratch, id, last_gc_version, from_version_excluded);
	return dw_offer(dw);
}

bool
cc_dw_add_kv(struct cc_delta_writer *dw, const char *key, size_t key_len,
    const char *value, size_t value_len, uint64_t version, uint8_t status)
{
	cc_wbuf_reset(&dw->scratch);
	op_kv_encode(&dw->scratch, key, key_len, value, value_len, version,
	    status);
	return dw_offer(dw);
}

bool
cc_dw_add_set_max_version(struct cc_delta_writer *dw, uint64_t max_version)
{
	cc_wbuf_reset(&dw->scratch);
	op_smv_encode(&dw->scratch, max_version);
	return dw_offer(dw);
}

int
cc_dw_finish(struct cc_delta_writer *dw, struct cc_wbuf *dst)
{
	if (dw->bw.ctx == NULL) {
		errno = EINVAL;
		return -1;
	}
	return cc_blockw_finish(&dw->bw, dst);
}

/* ---- unlimited encoder -------------------------------------------------- */

static int
delta_put_op(struct cc_blockw *bw, struct cc_wbuf *scratch)
{
	if (scratch->err != 0) {
		errno = scratch->err;
		return -1;
	}
	return cc_blockw_append(bw, scratch->data, scratch->len);
}

static int
delta_put_node(struct cc_blockw *bw, struct cc_wbuf *scratch,
    const struct cc_node_delta *nd)
{
	const struct cc_kv_op	*kv;
	size_t			 i;

	cc_wbuf_reset(scratch);
	op_node_encode(scratch, &nd->id, nd->last_gc_version,
	    nd->from_version_excluded);
	if (delta_put_op(bw, scratch) == -1)
		return -1;
	for (i = 0; i < nd->n_kvs; i++) {
		kv = &nd->kvs[i];
		cc_wbuf_reset(scratch);
		op_kv_encode(scratch, kv->key, kv->key_len, kv->value,
		    kv->value_len, kv->version, kv->status);
		if (delta_put_op(bw, scratch) == -1)
			return -1;
	}
	if (nd->n_kvs == 0 && nd->max_version > 0) {
		cc_wbuf_reset(scratch);
		op_smv_encode(scratch, nd->max_version);
		return delta_put_op(bw, scratch);
	}
	return 0;
}

int
cc_delta_encode(struct cc_wbuf *wb, const struct cc_delta *d,
    struct cc_codec_ctx *ctx)
{
	struct cc_blockw	bw;
	struct cc_wbuf		scratch;
	size_t			i;
	int			rc = -1;

	if (wb->err != 0) {
		errno = wb->err;
		return -1;
	}
	cc_wbuf_init(&scratch);
	if (cc_blockw_init(&bw, CC_BLOCK_THRESHOLD, ctx) == -1)
		return -1;
	for (i = 0; i < d->n; i++)
		if (delta_put_node(&bw, &scratch, &d->nodes[i]) == -1)
			goto out;
	rc = cc_blockw_finish(&bw, wb);
out:
	cc_blockw_clear(&bw);
	cc_wbuf_clear(&scratch);
	return rc;
}

/* ---- reader (§3.5.3) ---------------------------------------------------- */

void
cc_delta_clear(struct cc_delta *d)
{
	struct cc_node_delta	*nd;
	size_t			 i, j;

	for (i = 0; i < d->n; i++) {
		nd = &d->nodes[i];
		cc_id_clear(&nd->id);
		for (j = 0; j < nd->n_kvs; j++)
			kv_op_clear(&nd->kvs[j]);
		free(nd->kvs);
	}
	free(d->nodes);
	d->nodes = NULL;
	d->n = 0;
}

void
cc_delta_trace_clear(struct cc_delta_trace *tr)
{
	size_t i;

	for (i = 0; i < tr->n_ops; i++)
		op_clear(&tr->ops[i]);
	free(tr->ops);
	free(tr->blocks);
	free(tr->stream);
	memset(tr, 0, sizeof(*tr));
}

static int
trace_block(struct delta_dec *dd, uint8_t tag, size_t offset, size_t len,
    size_t dlen, const uint8_t *stored)
{
	struct cc_delta_trace	*tr = dd->tr;
	struct cc_block_info	*bi;

	if (tr == NULL)
		return 0;
	if (grow_pow2((void **)&tr->blocks, tr->n_blocks, sizeof(*bi)) == -1)
		return cc_rbuf_nomem(dd->rb);
	bi = &tr->blocks[tr->n_blocks++];
	memset(bi, 0, sizeof(*bi));
	bi->tag = tag;
	bi->offset = offset;
	bi->len = len;
	bi->decompressed_len = dlen;
	if (tag == CC_BLOCK_COMPRESSED)
		memcpy(bi->zstd_magic, stored, len < 4 ? len : 4);
	return 0;
}

static int
stream_append(struct delta_dec *dd, const uint8_t *p, size_t n)
{
	if (n > CC_MAX_DELTA_STREAM - dd->stream.len)
		return cc_rbuf_fail(dd->rb, "delta stream exceeds the size cap");
	cc_wbuf_bytes(&dd->stream, p, n);
	if (dd->stream.err != 0)
		return cc_rbuf_nomem(dd->rb);
	return 0;
}

/* Decompresses one block into the stream; returns its size in *dlen. */
static int
block_inflate(struct delta_dec *dd, const uint8_t *src, size_t len,
    size_t *dlen)
{
	size_t r;

	r = ZSTD_decompressDCtx(dd->ctx->dctx, dd->ctx->scratch,
	    CC_MAX_DECOMPRESSED_BLOCK, src, len);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return cc_rbuf_fail(dd->rb,
			    "zstd block decompresses to more than 65535 bytes");
		return cc_rbuf_fail(dd->rb, "invalid zstd block");
	}
	*dlen = r;
	return stream_append(dd, dd->ctx->scratch, r);
}

/* Reads blocks up to END, rebuilding the operation stream. */
static int
read_blocks(struct delta_dec *dd)
{
	struct cc_rbuf	*rb = dd->rb;
	const uint8_t	*b;
	size_t		 off, dlen;
	uint16_t	 len;
	uint8_t		 tag;

	for (;;) {
		off = rb->off;
		if (cc_rbuf_u8(rb, &tag) == -1)
			return cc_rbuf_fail(rb, "truncated delta (no end block)");
		if (tag == CC_BLOCK_END)
			return trace_block(dd, tag, off, 0, 0, NULL);
		if (tag != CC_BLOCK_COMPRESSED && tag != CC_BLOCK_RAW)
			return cc_rbuf_fail(rb, "unknown block type");
		if (cc_rbuf_u16(rb, &len) == -1 ||
		    cc_rbuf_bytes(rb, len, &b) == -1)
			return cc_rbuf_fail(rb, "truncated block");
		dlen = len;
		if (tag == CC_BLOCK_RAW) {
			if (stream_append(dd, b, len) == -1)
				return -1;
		} else if (block_inflate(dd, b, len, &dlen) == -1)
			return -1;
		if (trace_block(dd, tag, off, len, dlen, b) == -1)
			return -1;
	}
}

/* build_delta of §3.5.3, one operation at a time; each consumes *op. */
static int
build_node(struct delta_dec *dd, struct cc_op *op)
{
	struct cc_delta		*d = dd->d;
	struct cc_node_delta	*nd;

	if (grow_pow2((void **)&d->nodes, d->n, sizeof(*nd)) == -1)
		return cc_rbuf_nomem(dd->rb);
	nd = &d->nodes[d->n++];
	memset(nd, 0, sizeof(*nd));
	nd->id = op->id;
	memset(&op->id, 0, sizeof(op->id));
	nd->last_gc_version = op->last_gc_version;
	nd->from_version_excluded = op->from_version_excluded;
	return 0;
}

static int
build_kv(struct delta_dec *dd, struct cc_op *op)
{
	struct cc_delta		*d = dd->d;
	struct cc_node_delta	*nd;

	if (d->n == 0)
		return cc_rbuf_fail(dd->rb, "key-value before any node");
	nd = &d->nodes[d->n - 1];
	/* max starts at 0, so this also rejects version 0. */
	if (!(nd->max_version < op->kv.version))
		return cc_rbuf_fail(dd->rb,
		    "key-value versions do not strictly increase");
	if (grow_pow2((void **)&nd->kvs, nd->n_kvs, sizeof(*nd->kvs)) == -1)
		return cc_rbuf_nomem(dd->rb);
	nd->max_version = op->kv.version;
	nd->kvs[nd->n_kvs++] = op->kv;
	memset(&op->kv, 0, sizeof(op->kv));
	return 0;
}

static int
build_smv(struct delta_dec *dd, const struct cc_op *op)
{
	struct cc_delta		*d = dd->d;
	struct cc_node_delta	*nd;

	if (d->n == 0)
		return cc_rbuf_fail(dd->rb, "set-max-version before any node");
	nd = &d->nodes[d->n - 1];
	/* [C-CHOICE] Rust accepts this, then panics when it applies it. */
	if (nd->n_kvs > 0 && op->max_version < nd->kvs[nd->n_kvs - 1].version)
		return cc_rbuf_fail(dd->rb,
		    "set-max-version below a key-value version");
	nd->max_version = op->max_version;
	return 0;
}

static int
build_op(struct delta_dec *dd, struct cc_op *op)
{
	switch (op->tag) {
	case CC_OP_NODE:
		return build_node(dd, op);
	case CC_OP_KV:
		return build_kv(dd, op);
	default:
		return build_smv(dd, op);
	}
}

static int
trace_op(struct delta_dec *dd, const struct cc_op *op)
{
	struct cc_delta_trace *tr = dd->tr;

	if (tr == NULL)
		return 0;
	if (grow_pow2((void **)&tr->ops, tr->n_ops, sizeof(*tr->ops)) == -1 ||
	    op_copy(&tr->ops[tr->n_ops], op) == -1)
		return cc_rbuf_nomem(dd->rb);
	tr->n_ops++;
	return 0;
}

static int
parse_ops(struct delta_dec *dd)
{
	struct cc_rbuf	s;
	struct cc_op	op;
	int		rc;

	cc_rbuf_init(&s, dd->stream.data, dd->stream.len);
	while (cc_rbuf_left(&s) > 0) {
		if (op_decode(&s, &op) == -1) {
			dd->rb->why = s.why;
			return -1;
		}
		rc = trace_op(dd, &op);
		if (rc == 0)
			rc = build_op(dd, &op);
		op_clear(&op);
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
id_ptr_cmp(const void *a, const void *b)
{
	const struct cc_node_delta *const *x = a, *const *y = b;

	return cc_id_cmp(&(*x)->id, &(*y)->id);
}

/* Each ChitchatId may head at most one node delta: O(n log n). */
static int
check_duplicates(struct delta_dec *dd)
{
	const struct cc_node_delta	**v;
	size_t				  i, n = dd->d->n;
	int				  dup = 0;

	if (n < 2)
		return 0;
	if ((v = malloc(n * sizeof(*v))) == NULL)
		return cc_rbuf_nomem(dd->rb);
	for (i = 0; i < n; i++)
		v[i] = &dd->d->nodes[i];
	qsort(v, n, sizeof(*v), id_ptr_cmp);
	for (i = 1; i < n && !dup; i++)
		dup = cc_id_is_equal(&v[i - 1]->id, &v[i]->id);
	free(v);
	return dup ? cc_rbuf_fail(dd->rb, "duplicate node in delta") : 0;
}

static int
delta_decode_run(struct delta_dec *dd)
{
	size_t start = dd->rb->off;

	if (read_blocks(dd) == -1 || parse_ops(dd) == -1 ||
	    check_duplicates(dd) == -1)
		return -1;
	if (dd->tr != NULL) {
		dd->tr->serialized_len = dd->rb->off - start;
		dd->tr->stream = dd->stream.data;
		dd->tr->stream_len = dd->stream.len;
		cc_wbuf_init(&dd->stream);
	}
	return 0;
}

int
cc_delta_decode(struct cc_rbuf *rb, struct cc_delta *d,
    struct cc_delta_trace *tr, struct cc_codec_ctx *ctx)
{
	struct cc_codec_ctx	*tmp = NULL;
	struct delta_dec	 dd;
	int			 rc, saved;

	memset(d, 0, sizeof(*d));
	if (tr != NULL)
		memset(tr, 0, sizeof(*tr));
	if (ctx == NULL && (ctx = tmp = cc_codec_ctx_new()) == NULL)
		return cc_rbuf_nomem(rb);
	dd.rb = rb;
	dd.d = d;
	dd.tr = tr;
	dd.ctx = ctx;
	cc_wbuf_init(&dd.stream);
	rc = delta_decode_run(&dd);
	saved = errno;
	cc_wbuf_clear(&dd.stream);
	cc_codec_ctx_free(tmp);
	if (rc == -1) {
		cc_delta_clear(d);
		if (tr != NULL)
			cc_delta_trace_clear(tr);
		errno = saved;
	}
	return rc;
}
