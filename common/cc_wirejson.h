/*
 * cc_wirejson.h: datagrams <-> the `decoded` JSON objects of the golden
 * vectors (shared/vectors/README.md), for chitchatctl and the tests.
 *
 * u64 values: jansson integers are signed 64-bit (json_int_t), so a u64
 * above INT64_MAX cannot be a jansson integer. This module stores such a
 * value as the negative json_int_t with the same 64 bits; the format has
 * no negative numbers, so the mapping is unambiguous. Use cc_wirejson_u64
 * and cc_wirejson_get_u64 to build and read values, and
 * cc_wirejson_loads/cc_wirejson_dumps for text, which print and parse the
 * exact decimal u64 (plain jansson would refuse or mangle 2^63..2^64-1).
 * Consequence: a hand-written negative number in a u64 field is read as
 * its two's-complement u64.
 */
#ifndef CC_WIREJSON_H
#define CC_WIREJSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cc_wire.h"

#define CC_WIREJSON_PRETTY	0x1	/* 2-space indent, one member a line */

/* A u64 as a JSON integer (see above). NULL on ENOMEM. */
json_t	*cc_wirejson_u64(uint64_t);
/* Reads a u64 integer; -1 + EINVAL if j is not an integer. */
int	 cc_wirejson_get_u64(const json_t *j, uint64_t *);

/*
 * Parses JSON text whose integer literals may go up to 2^64-1. NULL on
 * error, with err (if not NULL) filled as jansson does.
 */
json_t	*cc_wirejson_loads(const char *text, size_t len, json_error_t *err);
/*
 * Serializes any JSON value, object keys sorted, negative integers printed
 * as u64. Compact by default. Returns a NUL-terminated string (caller
 * frees) or NULL + ENOMEM.
 */
char	*cc_wirejson_dumps(const json_t *, int flags);

/* Lowercase hex of bytes; NUL-terminated, caller frees. NULL + ENOMEM. */
char	*cc_wirejson_hex(const uint8_t *, size_t);
/*
 * Appends the bytes of hex text to out. Whitespace is ignored; anything
 * else that is not a hex digit, or an odd digit count, gives -1 + EINVAL.
 */
int	 cc_wirejson_unhex(const char *, size_t, struct cc_wbuf *out);

/*
 * Decodes one datagram into a `decoded` object of kind "message".
 * NULL + errno (EBADMSG, ENOMEM); *why (if not NULL) names the error.
 */
json_t	*cc_wirejson_decode_msg(const uint8_t *, size_t,
	    struct cc_codec_ctx *, const char **why);

/*
 * Decodes one primitive of the given type (u16, u64, heartbeat, string,
 * ip_addr, socket_addr, chitchat_id, node_digest) that must span all len
 * bytes, into a `decoded` object of kind "primitive". NULL + errno
 * (EINVAL for an unknown type, EBADMSG, ENOMEM); *why names the error.
 */
json_t	*cc_wirejson_decode_prim(const char *type, const uint8_t *, size_t,
	    const char **why);

/*
 * Encodes a `decoded` object (kind "message" or "primitive") and appends
 * the bytes to out. For a message delta, the operation stream comes from
 * `ops`, else `decompressed_stream_hex`, else `node_deltas`; if `blocks`
 * is present its framing is reproduced (Compressed blocks at zstd level 3,
 * capacity = raw size), else the standard writer (T = 16384) frames it.
 * magic_number, protocol_version, message_type_code, status_code and tags
 * are written as given, so malformed datagrams can be crafted. -1 + errno
 * (EINVAL for a malformed object, EMSGSIZE, ENOMEM); the reason is written
 * into err[errlen] (if err is not NULL).
 */
int	 cc_wirejson_encode(const json_t *decoded, struct cc_wbuf *out,
	    struct cc_codec_ctx *, char *err, size_t errlen);

#endif /* CC_WIREJSON_H */
