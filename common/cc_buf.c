/*
 * cc_buf.c: bounds-checked little-endian cursors (PROTOCOL.md §3.2).
 *
 * Every wire field goes through these: the read cursor refuses to run past
 * its end (EBADMSG, with a reason kept on the cursor), and the write buffer
 * grows with overflow checks and a sticky error, so encoders can append a
 * whole message and check once. The same idea as ibuf_get_* in imsg.h.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cc_wire.h"

/* ---- read cursor -------------------------------------------------------- */

void
cc_rbuf_init(struct cc_rbuf *rb, const uint8_t *p, size_t len)
{
	rb->p = p;
	rb->len = p != NULL ? len : 0;
	rb->off = 0;
	rb->why = NULL;
}

size_t
cc_rbuf_left(const struct cc_rbuf *rb)
{
	return rb->len - rb->off;
}

static int
rbuf_short(struct cc_rbuf *rb)
{
	rb->why = "truncated";
	errno = EBADMSG;
	return -1;
}

int
cc_rbuf_bytes(struct cc_rbuf *rb, size_t n, const uint8_t **out)
{
	if (n > cc_rbuf_left(rb))
		return rbuf_short(rb);
	/* An empty cursor may have a NULL base: no arithmetic on it. */
	*out = rb->p != NULL ? rb->p + rb->off : rb->p;
	rb->off += n;
	return 0;
}

int
cc_rbuf_u8(struct cc_rbuf *rb, uint8_t *v)
{
	if (cc_rbuf_left(rb) < 1)
		return rbuf_short(rb);
	*v = rb->p[rb->off++];
	return 0;
}

int
cc_rbuf_u16(struct cc_rbuf *rb, uint16_t *v)
{
	const uint8_t *b;

	if (cc_rbuf_bytes(rb, 2, &b) == -1)
		return -1;
	*v = (uint16_t)(b[0] | (b[1] << 8));
	return 0;
}

int
cc_rbuf_u64(struct cc_rbuf *rb, uint64_t *v)
{
	const uint8_t	*b;
	uint64_t	 x = 0;
	int		 i;

	if (cc_rbuf_bytes(rb, 8, &b) == -1)
		return -1;
	for (i = 7; i >= 0; i--)
		x = (x << 8) | b[i];
	*v = x;
	return 0;
}

/* ---- write buffer ------------------------------------------------------- */

void
cc_wbuf_init(struct cc_wbuf *wb)
{
	wb->data = NULL;
	wb->len = 0;
	wb->cap = 0;
	wb->err = 0;
}

void
cc_wbuf_clear(struct cc_wbuf *wb)
{
	free(wb->data);
	cc_wbuf_init(wb);
}

/* Also clears a sticky error, so a scratch buffer can be reused. */
void
cc_wbuf_reset(struct cc_wbuf *wb)
{
	wb->len = 0;
	wb->err = 0;
}

/* Makes room for n more bytes; -1 (and err set) if impossible. */
static int
wbuf_reserve(struct cc_wbuf *wb, size_t n)
{
	size_t	 need, ncap;
	uint8_t	*p;

	if (wb->err != 0)
		return -1;
	if (n > SIZE_MAX - wb->len) {
		wb->err = ENOMEM;
		return -1;
	}
	need = wb->len + n;
	if (need <= wb->cap)
		return 0;
	ncap = wb->cap < 64 ? 64 : wb->cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if ((p = realloc(wb->data, ncap)) == NULL) {
		wb->err = ENOMEM;
		return -1;
	}
	wb->data = p;
	wb->cap = ncap;
	return 0;
}

void
cc_wbuf_bytes(struct cc_wbuf *wb, const void *p, size_t n)
{
	if (wbuf_reserve(wb, n) == -1)
		return;
	if (n > 0)
		memcpy(wb->data + wb->len, p, n);
	wb->len += n;
}

/*
 * cc_wbuf_bytes for the fixed-size integers: inlined, so the copy is a
 * store rather than a memcpy call (encoding digests is a large part of an
 * idle daemon's work).
 */
static inline void
wbuf_put_fixed(struct cc_wbuf *wb, const uint8_t *b, size_t n)
{
	if (wb->err == 0 && n <= wb->cap - wb->len) {
		memcpy(wb->data + wb->len, b, n);
		wb->len += n;
		return;
	}
	cc_wbuf_bytes(wb, b, n);
}

void
cc_wbuf_u8(struct cc_wbuf *wb, uint8_t v)
{
	cc_wbuf_bytes(wb, &v, 1);
}

void
cc_wbuf_u16(struct cc_wbuf *wb, uint16_t v)
{
	uint8_t b[2];

	b[0] = (uint8_t)(v & 0xff);
	b[1] = (uint8_t)(v >> 8);
	wbuf_put_fixed(wb, b, sizeof(b));
}

void
cc_wbuf_u64(struct cc_wbuf *wb, uint64_t v)
{
	uint8_t	b[8];
	int	i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wbuf_put_fixed(wb, b, sizeof(b));
}

void
cc_wbuf_str(struct cc_wbuf *wb, const char *s, size_t len)
{
	if (len > UINT16_MAX) {
		if (wb->err == 0)
			wb->err = EMSGSIZE;
		return;
	}
	cc_wbuf_u16(wb, (uint16_t)len);
	cc_wbuf_bytes(wb, s, len);
}

int
cc_rbuf_fail(struct cc_rbuf *rb, const char *why)
{
	rb->why = why;
	errno = EBADMSG;
	return -1;
}

int
cc_rbuf_nomem(struct cc_rbuf *rb)
{
	rb->why = "out of memory";
	errno = ENOMEM;
	return -1;
}

int
cc_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
