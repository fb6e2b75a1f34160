/*
 * cc_codec.c: chitchat 0.10 primitives, digests and message envelopes
 * (PROTOCOL.md §3.2-3.4, §3.6).
 *
 * Decoders treat every byte as hostile: they are total functions that
 * either fill their output or free whatever they built and fail with
 * EBADMSG, naming the reason on the cursor. Nothing is allocated before
 * the input proves it holds enough bytes for it. The delta layer (blocks,
 * zstd, operations) lives in cc_delta_codec.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cc_wire.h"

/* Smallest encoded digest entry: empty node id, IPv4 address. */
#define DIGEST_ENTRY_MIN	(2 + 8 + 7 + 24)

/* ---- strings ------------------------------------------------------------ */

/* Length of the UTF-8 sequence starting at s[0..n), or 0 if invalid. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char	c = s[0], lo = 0x80, hi = 0xbf;
	size_t		len, i;

	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;		/* no overlongs */
		else if (c == 0xed)
			hi = 0x9f;		/* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;		/* no overlongs */
		else if (c == 0xf4)
			hi = 0x8f;		/* nothing above U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Strict UTF-8, as Rust's str::from_utf8. */
bool
cc_utf8_is_valid(const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, l;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((l = utf8_seq_len(s + i, n - i)) == 0)
			return false;
		i += l;
	}
	return true;
}

int
cc_str_decode(struct cc_rbuf *rb, char **out, size_t *out_len)
{
	const uint8_t	*b;
	uint16_t	 n;
	char		*s;

	*out = NULL;
	*out_len = 0;
	if (cc_rbuf_u16(rb, &n) == -1 || cc_rbuf_bytes(rb, n, &b) == -1)
		return -1;
	if (!cc_utf8_is_valid((const char *)b, n))
		return cc_rbuf_fail(rb, "invalid UTF-8 string");
	if ((s = malloc((size_t)n + 1)) == NULL)
		return cc_rbuf_nomem(rb);
	if (n > 0)
		memcpy(s, b, n);
	s[n] = '\0';
	*out = s;
	*out_len = n;
	return 0;
}

/* ---- addresses and ChitchatIds ------------------------------------------ */

/* Anything but CC_AF_INET6 is carried as IPv4. */
size_t
cc_addr_encoded_len(const struct cc_addr *a)
{
	return a->family == CC_AF_INET6 ? 19 : 7;
}

void
cc_addr_encode(struct cc_wbuf *wb, const struct cc_addr *a)
{
	if (a->family == CC_AF_INET6) {
		cc_wbuf_u8(wb, 6);
		cc_wbuf_bytes(wb, a->ip, 16);
	} else {
		cc_wbuf_u8(wb, 4);
		cc_wbuf_bytes(wb, a->ip, 4);
	}
	cc_wbuf_u16(wb, a->port);
}

int
cc_addr_decode(struct cc_rbuf *rb, struct cc_addr *a)
{
	const uint8_t	*b;
	uint8_t		 tag;
	size_t		 n;

	memset(a, 0, sizeof(*a));
	if (cc_rbuf_u8(rb, &tag) == -1)
		return -1;
	if (tag == 4)
		n = 4;
	else if (tag == 6)
		n = 16;
	else
		return cc_rbuf_fail(rb, "unknown IP address tag");
	if (cc_rbuf_bytes(rb, n, &b) == -1 || cc_rbuf_u16(rb, &a->port) == -1)
		return -1;
	a->family = tag == 4 ? CC_AF_INET : CC_AF_INET6;
	memcpy(a->ip, b, n);
	return 0;
}

size_t
cc_id_encoded_len(const struct cc_id *id)
{
	return 2 + id->node_id_len + 8 + cc_addr_encoded_len(&id->addr);
}

void
cc_id_encode(struct cc_wbuf *wb, const struct cc_id *id)
{
	cc_wbuf_str(wb, id->node_id, id->node_id_len);
	cc_wbuf_u64(wb, id->generation);
	cc_addr_encode(wb, &id->addr);
}

int
cc_id_decode(struct cc_rbuf *rb, struct cc_id *id)
{
	memset(id, 0, sizeof(*id));
	if (cc_str_decode(rb, &id->node_id, &id->node_id_len) == -1)
		return -1;
	if (cc_rbuf_u64(rb, &id->generation) == -1 ||
	    cc_addr_decode(rb, &id->addr) == -1) {
		cc_id_clear(id);
		return -1;
	}
	return 0;
}

/* ---- digest ------------------------------------------------------------- */

void
cc_digest_clear(struct cc_digest *d)
{
	size_t i;

	if (d->strings == NULL)
		for (i = 0; i < d->n; i++)
			cc_id_clear(&d->entries[i].id);
	free(d->strings);
	d->strings = NULL;
	free(d->entries);
	d->entries = NULL;
	d->n = 0;
}

size_t
cc_digest_encoded_len(const struct cc_digest *d)
{
	size_t i, len = 2;

	for (i = 0; i < d->n; i++)
		len += cc_id_encoded_len(&d->entries[i].id) + 24;
	return len;
}

void
cc_digest_encode(struct cc_wbuf *wb, const struct cc_digest *d)
{
	const struct cc_digest_entry	*e;
	size_t				 i;

	if (d->n > UINT16_MAX) {
		if (wb->err == 0)
			wb->err = EMSGSIZE;
		return;
	}
	cc_wbuf_u16(wb, (uint16_t)d->n);
	for (i = 0; i < d->n; i++) {
		e = &d->entries[i];
		cc_id_encode(wb, &e->id);
		cc_wbuf_u64(wb, e->heartbeat);
		cc_wbuf_u64(wb, e->last_gc_version);
		cc_wbuf_u64(wb, e->max_version);
	}
}

/*
 * One entry; its node_id is copied to strings + *used (NUL-terminated).
 * The caller sized strings for every string the datagram can hold.
 */
static int
digest_entry_decode(struct cc_rbuf *rb, struct cc_digest_entry *e, char *strings,
    size_t *used)
{
	const uint8_t	*b;
	uint16_t	 n;

	if (cc_rbuf_u16(rb, &n) == -1 || cc_rbuf_bytes(rb, n, &b) == -1)
		return -1;
	if (!cc_utf8_is_valid((const char *)b, n))
		return cc_rbuf_fail(rb, "invalid UTF-8 string");
	e->id.node_id = strings + *used;
	e->id.node_id_len = n;
	if (n > 0)
		memcpy(e->id.node_id, b, n);
	e->id.node_id[n] = '\0';
	*used += (size_t)n + 1;
	if (cc_rbuf_u64(rb, &e->id.generation) == -1 ||
	    cc_addr_decode(rb, &e->id.addr) == -1 ||
	    cc_rbuf_u64(rb, &e->heartbeat) == -1 ||
	    cc_rbuf_u64(rb, &e->last_gc_version) == -1 ||
	    cc_rbuf_u64(rb, &e->max_version) == -1)
		return -1;
	return 0;
}

int
cc_digest_decode(struct cc_rbuf *rb, struct cc_digest *d)
{
	uint16_t	n;
	int		saved;
	size_t		used = 0;

	d->entries = NULL;
	d->n = 0;
	d->strings = NULL;
	if (cc_rbuf_u16(rb, &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	/* Never allocate more entries than the bytes left could hold. */
	if ((size_t)n * DIGEST_ENTRY_MIN > cc_rbuf_left(rb))
		return cc_rbuf_fail(rb, "truncated digest");
	/* the node ids are at most the bytes left, plus one NUL each */
	if ((d->entries = calloc(n, sizeof(*d->entries))) == NULL ||
	    (d->strings = malloc(cc_rbuf_left(rb) + n)) == NULL) {
		free(d->entries);
		d->entries = NULL;
		return cc_rbuf_nomem(rb);
	}
	for (; d->n < n; d->n++) {
		if (digest_entry_decode(rb, &d->entries[d->n], d->strings, &used) == -1) {
			saved = errno;
			cc_digest_clear(d);
			errno = saved;
			return -1;
		}
	}
	return 0;
}

/* ---- messages ----------------------------------------------------------- */

void
cc_msg_clear(struct cc_msg *m)
{
	cc_digest_clear(&m->digest);
	free(m->cluster_id);
	m->cluster_id = NULL;
	m->cluster_id_len = 0;
	cc_delta_clear(&m->delta);
}

void
cc_msg_put_header(struct cc_wbuf *wb, uint8_t type)
{
	cc_wbuf_u16(wb, CC_MAGIC);
	cc_wbuf_u8(wb, CC_PROTOCOL_VERSION);
	cc_wbuf_u8(wb, type);
}

int
cc_msg_encode(struct cc_wbuf *wb, const struct cc_msg *m,
    struct cc_codec_ctx *ctx)
{
	if (m->type > CC_MSG_BAD_CLUSTER) {
		errno = EINVAL;
		return -1;
	}
	cc_msg_put_header(wb, m->type);
	switch (m->type) {
	case CC_MSG_SYN:
		cc_digest_encode(wb, &m->digest);
		cc_wbuf_str(wb, m->cluster_id != NULL ? m->cluster_id : "",
		    m->cluster_id != NULL ? m->cluster_id_len : 0);
		break;
	case CC_MSG_SYN_ACK:
		cc_digest_encode(wb, &m->digest);
		if (wb->err == 0 && cc_delta_encode(wb, &m->delta, ctx) == -1)
			return -1;
		break;
	case CC_MSG_ACK:
		if (wb->err == 0 && cc_delta_encode(wb, &m->delta, ctx) == -1)
			return -1;
		break;
	default:
		break;
	}
	if (wb->err != 0) {
		errno = wb->err;
		return -1;
	}
	return 0;
}

static int
msg_header_decode(struct cc_rbuf *rb, uint8_t *type)
{
	uint16_t	magic;
	uint8_t		proto;

	if (cc_rbuf_left(rb) < 3)
		return cc_rbuf_fail(rb, "shorter than a message header");
	if (cc_rbuf_u16(rb, &magic) == -1 || cc_rbuf_u8(rb, &proto) == -1)
		return -1;
	if (magic != CC_MAGIC)
		return cc_rbuf_fail(rb, "bad magic number");
	if (proto != CC_PROTOCOL_VERSION)
		return cc_rbuf_fail(rb, "unsupported protocol version");
	if (cc_rbuf_u8(rb, type) == -1)
		return cc_rbuf_fail(rb, "missing message type");
	if (*type > CC_MSG_BAD_CLUSTER)
		return cc_rbuf_fail(rb, "unknown message type");
	return 0;
}

static int
msg_payload_decode(struct cc_rbuf *rb, struct cc_msg *m,
    struct cc_delta_trace *tr, struct cc_codec_ctx *ctx)
{
	switch (m->type) {
	case CC_MSG_SYN:
		if (cc_digest_decode(rb, &m->digest) == -1)
			return -1;
		return cc_str_decode(rb, &m->cluster_id, &m->cluster_id_len);
	case CC_MSG_SYN_ACK:
		if (cc_digest_decode(rb, &m->digest) == -1)
			return -1;
		return cc_delta_decode(rb, &m->delta, tr, ctx);
	case CC_MSG_ACK:
		return cc_delta_decode(rb, &m->delta, tr, ctx);
	default:
		return 0;
	}
}

int
cc_msg_decode_why(const uint8_t *buf, size_t len, struct cc_msg *m,
    struct cc_delta_trace *tr, struct cc_codec_ctx *ctx, const char **why)
{
	struct cc_rbuf	rb;
	int		saved;

	memset(m, 0, sizeof(*m));
	if (tr != NULL)
		memset(tr, 0, sizeof(*tr));
	if (why != NULL)
		*why = NULL;
	cc_rbuf_init(&rb, buf, len);
	if (msg_header_decode(&rb, &m->type) == 0 &&
	    msg_payload_decode(&rb, m, tr, ctx) == 0)
		return 0;
	saved = errno;
	cc_msg_clear(m);
	if (tr != NULL)
		cc_delta_trace_clear(tr);
	if (why != NULL)
		*why = rb.why != NULL ? rb.why : "undecodable";
	errno = saved;
	return -1;
}

int
cc_msg_decode(const uint8_t *buf, size_t len, struct cc_msg *m,
    struct cc_delta_trace *tr, struct cc_codec_ctx *ctx)
{
	return cc_msg_decode_why(buf, len, m, tr, ctx, NULL);
}
