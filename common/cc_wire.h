/*
 * cc_wire.h: the chitchat 0.10 wire codec (PROTOCOL.md §3).
 *
 * Bounds-checked little-endian cursors, primitives (strings, addresses,
 * ChitchatIds), digests, the delta operation stream with its zstd block
 * framing and exact size accounting, and whole messages.
 *
 * Every decoder is total: any byte string yields a value or -1 with
 * errno = EBADMSG (ENOMEM on allocation failure). Decoders never allocate
 * more than the input justifies, except the decompressed delta stream, which
 * is capped at CC_MAX_DELTA_STREAM bytes.
 *
 * Ownership: every struct filled by a *_decode function owns its heap
 * memory; release it with the matching *_clear. Encoders append to a
 * cc_wbuf, whose error is sticky (check cc_wbuf.err once at the end).
 */
#ifndef CC_WIRE_H
#define CC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cc.h"

#define CC_MAGIC			45139	/* 0xB053, bytes 53 b0 */
#define CC_PROTOCOL_VERSION		0
#define CC_MAX_DATAGRAM			65507
#define CC_BLOCK_THRESHOLD		16384
#define CC_MAX_DECOMPRESSED_BLOCK	65535
#define CC_MIN_DELTA_MTU		100
#define CC_MAX_DELTA_STREAM		(16u * 1024 * 1024)
#define CC_ZSTD_LEVEL			3

enum cc_msg_type {
	CC_MSG_SYN = 0,
	CC_MSG_SYN_ACK = 1,
	CC_MSG_ACK = 2,
	CC_MSG_BAD_CLUSTER = 3,
};

enum cc_block_type {
	CC_BLOCK_END = 0,
	CC_BLOCK_COMPRESSED = 1,
	CC_BLOCK_RAW = 2,
};

enum cc_op_tag {
	CC_OP_NODE = 0,
	CC_OP_KV = 1,
	CC_OP_SET_MAX_VERSION = 2,
};

/* ---- cursors ---------------------------------------------------------- */

/*
 * Read cursor over borrowed bytes. On a decode failure, why names the
 * error (a static string, e.g. "truncated"); cc_rbuf_init sets it to NULL.
 */
struct cc_rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	const char	*why;
};

void	cc_rbuf_init(struct cc_rbuf *, const uint8_t *, size_t);
size_t	cc_rbuf_left(const struct cc_rbuf *);
int	cc_rbuf_u8(struct cc_rbuf *, uint8_t *);
int	cc_rbuf_u16(struct cc_rbuf *, uint16_t *);
int	cc_rbuf_u64(struct cc_rbuf *, uint64_t *);
/* Records why decoding failed; -1 with errno EBADMSG (or ENOMEM). */
int	cc_rbuf_fail(struct cc_rbuf *, const char *why);
int	cc_rbuf_nomem(struct cc_rbuf *);
/* Borrow n bytes: *out points into the buffer. */
int	cc_rbuf_bytes(struct cc_rbuf *, size_t n, const uint8_t **out);

/* Growable write buffer. err is sticky: 0, or ENOMEM/EMSGSIZE. */
struct cc_wbuf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

void	cc_wbuf_init(struct cc_wbuf *);
void	cc_wbuf_clear(struct cc_wbuf *);	/* frees data, back to empty */
void	cc_wbuf_reset(struct cc_wbuf *);	/* len = 0, err = 0, keeps capacity */
void	cc_wbuf_u8(struct cc_wbuf *, uint8_t);
void	cc_wbuf_u16(struct cc_wbuf *, uint16_t);
void	cc_wbuf_u64(struct cc_wbuf *, uint64_t);
void	cc_wbuf_bytes(struct cc_wbuf *, const void *, size_t);
/* u16 length then bytes; sets err = EMSGSIZE if len > 65535. */
void	cc_wbuf_str(struct cc_wbuf *, const char *, size_t);

/* The value of one hexadecimal digit (either case), or -1. */
int	cc_hex_digit(char);

/* ---- primitives --------------------------------------------------------- */

bool	cc_utf8_is_valid(const char *, size_t);

/* Decodes a string into a fresh NUL-terminated copy (caller frees). */
int	cc_str_decode(struct cc_rbuf *, char **out, size_t *out_len);

size_t	cc_addr_encoded_len(const struct cc_addr *);	/* 7 or 19 */
void	cc_addr_encode(struct cc_wbuf *, const struct cc_addr *);
int	cc_addr_decode(struct cc_rbuf *, struct cc_addr *);
size_t	cc_id_encoded_len(const struct cc_id *);
void	cc_id_encode(struct cc_wbuf *, const struct cc_id *);
int	cc_id_decode(struct cc_rbuf *, struct cc_id *);	/* cc_id_clear after */

/* ---- digest ------------------------------------------------------------- */

struct cc_digest_entry {
	struct cc_id	id;
	uint64_t	heartbeat;
	uint64_t	last_gc_version;
	uint64_t	max_version;
};

/* Entries in wire order; duplicates are kept (the engine resolves them). */
struct cc_digest {
	struct cc_digest_entry	*entries;
	size_t			 n;
	/*
	 * Decoded digests: one owned block holding every entry's node_id
	 * (one allocation instead of one per entry), freed by
	 * cc_digest_clear. NULL: each entry's id owns its node_id.
	 */
	char			*strings;
};

void	cc_digest_clear(struct cc_digest *);
size_t	cc_digest_encoded_len(const struct cc_digest *);
void	cc_digest_encode(struct cc_wbuf *, const struct cc_digest *);
int	cc_digest_decode(struct cc_rbuf *, struct cc_digest *);

/* ---- delta ---------------------------------------------------------------- */

struct cc_kv_op {
	char		*key;		/* NUL-terminated copy */
	size_t		 key_len;
	char		*value;		/* NUL-terminated copy */
	size_t		 value_len;
	uint64_t	 version;
	uint8_t		 status;	/* enum cc_status */
};

struct cc_node_delta {
	struct cc_id	 id;
	uint64_t	 last_gc_version;
	uint64_t	 from_version_excluded;
	uint64_t	 max_version;	/* last KV version, or SET_MAX_VERSION, or 0 */
	struct cc_kv_op	*kvs;
	size_t		 n_kvs;
};

struct cc_delta {
	struct cc_node_delta	*nodes;
	size_t			 n;
};

void	cc_delta_clear(struct cc_delta *);

/*
 * Reusable zstd contexts. Optional everywhere (NULL: a temporary context is
 * made per call). One per engine; not thread-safe.
 */
struct cc_codec_ctx;
struct cc_codec_ctx *cc_codec_ctx_new(void);	/* NULL + ENOMEM */
void	cc_codec_ctx_free(struct cc_codec_ctx *);

/*
 * Compressed block stream writer (PROTOCOL.md §3.5.4-3.5.5): raw items are
 * appended to a pending buffer that is cut into blocks of exactly
 * `threshold` bytes, each zstd-compressed at level 3 into a buffer of the
 * raw block's size, else stored raw.
 */
struct cc_blockw {
	struct cc_codec_ctx	*ctx;		/* borrowed or owned */
	bool			 owns_ctx;
	size_t			 threshold;
	struct cc_wbuf		 out;		/* framed blocks written so far */
	struct cc_wbuf		 pending;	/* raw bytes not yet framed */
};

int	cc_blockw_init(struct cc_blockw *, size_t threshold, struct cc_codec_ctx *);
void	cc_blockw_clear(struct cc_blockw *);
/* Pessimistic final size if an item of item_len bytes were appended now. */
size_t	cc_blockw_bound_after(const struct cc_blockw *, size_t item_len);
int	cc_blockw_append(struct cc_blockw *, const void *, size_t);
/* Flushes, appends END, and appends the whole stream to *dst. */
int	cc_blockw_finish(struct cc_blockw *, struct cc_wbuf *dst);

/*
 * Delta builder under a byte budget (`mtu`, >= CC_MIN_DELTA_MTU, else
 * EINVAL), threshold min(16384, mtu). Each add refuses (returns false, no
 * change) when the bound would exceed mtu. The builder enforces the writer
 * rules of §3.5.1 only through its callers: the engine adds ops in order.
 */
struct cc_delta_writer {
	struct cc_blockw	bw;
	size_t			mtu;
	struct cc_wbuf		scratch;
	size_t			n_ops;
};

int	cc_dw_init(struct cc_delta_writer *, size_t mtu, struct cc_codec_ctx *);
void	cc_dw_clear(struct cc_delta_writer *);
bool	cc_dw_add_node(struct cc_delta_writer *, const struct cc_id *,
	    uint64_t last_gc_version, uint64_t from_version_excluded);
bool	cc_dw_add_kv(struct cc_delta_writer *, const char *key, size_t key_len,
	    const char *value, size_t value_len, uint64_t version, uint8_t status);
bool	cc_dw_add_set_max_version(struct cc_delta_writer *, uint64_t);
/* Appends the encoded delta to *dst. The writer must then be cleared. */
int	cc_dw_finish(struct cc_delta_writer *, struct cc_wbuf *dst);

/* Encodes a logical delta with an unlimited budget (tests, tools). */
int	cc_delta_encode(struct cc_wbuf *, const struct cc_delta *,
	    struct cc_codec_ctx *);

/*
 * Optional decode trace, for tools (chitchatctl wire decode) and tests:
 * how the delta was framed, and the raw operation stream.
 */
struct cc_block_info {
	uint8_t		tag;		/* enum cc_block_type */
	size_t		offset;		/* of the tag byte, from message start */
	size_t		len;		/* stored bytes after the length field */
	size_t		decompressed_len;
	uint8_t		zstd_magic[4];	/* first 4 stored bytes (compressed) */
};

struct cc_op {
	uint8_t		tag;		/* enum cc_op_tag */
	struct cc_id	id;		/* NODE */
	uint64_t	last_gc_version;	/* NODE */
	uint64_t	from_version_excluded;	/* NODE */
	struct cc_kv_op	kv;		/* KV */
	uint64_t	max_version;	/* SET_MAX_VERSION */
};

struct cc_delta_trace {
	struct cc_block_info	*blocks;	/* END included, last */
	size_t			 n_blocks;
	size_t			 serialized_len;
	uint8_t			*stream;
	size_t			 stream_len;
	struct cc_op		*ops;
	size_t			 n_ops;
};

void	cc_delta_trace_clear(struct cc_delta_trace *);

/*
 * Decodes a delta at the cursor. Block offsets in the trace are cursor
 * offsets, so a cursor over the whole message gives message offsets.
 * trace may be NULL.
 */
int	cc_delta_decode(struct cc_rbuf *, struct cc_delta *,
	    struct cc_delta_trace *, struct cc_codec_ctx *);

/* ---- messages ----------------------------------------------------------- */

struct cc_msg {
	uint8_t			 type;		/* enum cc_msg_type */
	struct cc_digest	 digest;	/* SYN, SYN_ACK */
	char			*cluster_id;	/* SYN */
	size_t			 cluster_id_len;
	struct cc_delta		 delta;		/* SYN_ACK, ACK */
};

void	cc_msg_clear(struct cc_msg *);
/* magic, protocol, type */
void	cc_msg_put_header(struct cc_wbuf *, uint8_t type);
int	cc_msg_encode(struct cc_wbuf *, const struct cc_msg *,
	    struct cc_codec_ctx *);
/* Trailing bytes after a complete message are ignored. trace may be NULL. */
int	cc_msg_decode(const uint8_t *, size_t, struct cc_msg *,
	    struct cc_delta_trace *, struct cc_codec_ctx *);
/* The same; on failure *why (if not NULL) names the error (static string). */
int	cc_msg_decode_why(const uint8_t *, size_t, struct cc_msg *,
	    struct cc_delta_trace *, struct cc_codec_ctx *, const char **why);

#endif /* CC_WIRE_H */
