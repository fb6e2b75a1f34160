/*
 * cc_wirejson_text.c: the JSON text and hex layer under cc_wirejson.c.
 *
 * jansson stores integers as signed 64-bit, but heartbeats, versions and
 * generations are u64 and may exceed INT64_MAX. Rather than wrap or round
 * them silently, values above INT64_MAX live in the json_t tree as the
 * negative json_int_t with the same bits (the wire JSON has no negative
 * numbers), and this file parses and prints their exact decimal text.
 * The printer also sorts object keys, so output is stable and matches the
 * layout of the golden vector files.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cc_wirejson.h"

/* ---- u64 values --------------------------------------------------------- */

json_t *
cc_wirejson_u64(uint64_t v)
{
	if (v > INT64_MAX)
		return json_integer(-(json_int_t)(UINT64_MAX - v) - 1);
	return json_integer((json_int_t)v);
}

int
cc_wirejson_get_u64(const json_t *j, uint64_t *v)
{
	json_int_t x;

	if (!json_is_integer(j)) {
		errno = EINVAL;
		return -1;
	}
	x = json_integer_value(j);
	if (x >= 0)
		*v = (uint64_t)x;
	else
		*v = UINT64_MAX - (uint64_t)(-(x + 1));
	return 0;
}

/* ---- JSON text ---------------------------------------------------------- */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Copies the digit run s[0..n) to out, rewriting a plain integer literal
 * in (INT64_MAX, UINT64_MAX] as the negative literal with the same bits.
 */
static void
widen_digits(const char *s, size_t n, char prev, char next, struct cc_wbuf *out)
{
	char			buf[24];
	unsigned long long	v;

	if (n >= 19 && n <= 20 && strchr("-+.eE", prev) == NULL &&
	    strchr(".eE", next) == NULL) {
		memcpy(buf, s, n);
		buf[n] = '\0';
		errno = 0;
		v = strtoull(buf, NULL, 10);
		if (errno == 0 && v > INT64_MAX) {
			snprintf(buf, sizeof(buf), "-%llu", UINT64_MAX - v + 1);
			cc_wbuf_bytes(out, buf, strlen(buf));
			return;
		}
	}
	cc_wbuf_bytes(out, s, n);
}

static void
widen_u64_literals(const char *s, size_t n, struct cc_wbuf *out)
{
	size_t	i = 0, j;
	bool	in_str = false;

	while (i < n) {
		if (in_str) {
			if (s[i] == '\\' && i + 1 < n) {
				cc_wbuf_bytes(out, s + i, 2);
				i += 2;
				continue;
			}
			in_str = s[i] != '"';
			cc_wbuf_u8(out, (uint8_t)s[i++]);
		} else if (is_digit(s[i])) {
			for (j = i; j < n && is_digit(s[j]); j++)
				;
			widen_digits(s + i, j - i, i > 0 ? s[i - 1] : ' ',
			    j < n ? s[j] : ' ', out);
			i = j;
		} else {
			in_str = s[i] == '"';
			cc_wbuf_u8(out, (uint8_t)s[i++]);
		}
	}
}

json_t *
cc_wirejson_loads(const char *text, size_t len, json_error_t *err)
{
	struct cc_wbuf	 wb;
	json_t		*j;

	cc_wbuf_init(&wb);
	widen_u64_literals(text, len, &wb);
	if (wb.err != 0) {
		cc_wbuf_clear(&wb);
		if (err != NULL)
			snprintf(err->text, sizeof(err->text), "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	j = json_loadb(wb.len > 0 ? (const char *)wb.data : "", wb.len,
	    JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, err);
	cc_wbuf_clear(&wb);
	if (j == NULL)
		errno = EINVAL;
	return j;
}

static void
dump_string(struct cc_wbuf *wb, const char *s, size_t n)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		c;
	size_t			i;

	cc_wbuf_u8(wb, '"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			cc_wbuf_u8(wb, '\\');
			cc_wbuf_u8(wb, c);
		} else if (c == '\n')
			cc_wbuf_bytes(wb, "\\n", 2);
		else if (c == '\t')
			cc_wbuf_bytes(wb, "\\t", 2);
		else if (c == '\r')
			cc_wbuf_bytes(wb, "\\r", 2);
		else if (c < 0x20) {
			cc_wbuf_bytes(wb, "\\u00", 4);
			cc_wbuf_u8(wb, (uint8_t)hex[c >> 4]);
			cc_wbuf_u8(wb, (uint8_t)hex[c & 0xf]);
		} else
			cc_wbuf_u8(wb, c);
	}
	cc_wbuf_u8(wb, '"');
}

static void
dump_newline(struct cc_wbuf *wb, int flags, int depth)
{
	int i;

	if (!(flags & CC_WIREJSON_PRETTY))
		return;
	cc_wbuf_u8(wb, '\n');
	for (i = 0; i < depth; i++)
		cc_wbuf_bytes(wb, "  ", 2);
}

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void dump_value(struct cc_wbuf *, const json_t *, int, int);

static void
dump_object(struct cc_wbuf *wb, const json_t *j, int flags, int depth)
{
	const char	**keys, *k;
	json_t		 *v;
	size_t		  n = json_object_size(j), i = 0;

	if (n == 0) {
		cc_wbuf_bytes(wb, "{}", 2);
		return;
	}
	if ((keys = calloc(n, sizeof(*keys))) == NULL) {
		wb->err = ENOMEM;
		return;
	}
	json_object_foreach((json_t *)j, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof(*keys), key_cmp);
	cc_wbuf_u8(wb, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			cc_wbuf_u8(wb, ',');
		dump_newline(wb, flags, depth + 1);
		dump_string(wb, keys[i], strlen(keys[i]));
		cc_wbuf_bytes(wb, ": ", (flags & CC_WIREJSON_PRETTY) ? 2 : 1);
		dump_value(wb, json_object_get(j, keys[i]), flags, depth + 1);
	}
	dump_newline(wb, flags, depth);
	cc_wbuf_u8(wb, '}');
	free(keys);
}

static void
dump_array(struct cc_wbuf *wb, const json_t *j, int flags, int depth)
{
	size_t i, n = json_array_size(j);

	if (n == 0) {
		cc_wbuf_bytes(wb, "[]", 2);
		return;
	}
	cc_wbuf_u8(wb, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			cc_wbuf_u8(wb, ',');
		dump_newline(wb, flags, depth + 1);
		dump_value(wb, json_array_get(j, i), flags, depth + 1);
	}
	dump_newline(wb, flags, depth);
	cc_wbuf_u8(wb, ']');
}

static void
dump_value(struct cc_wbuf *wb, const json_t *j, int flags, int depth)
{
	char		buf[32];
	uint64_t	u;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		dump_object(wb, j, flags, depth);
		return;
	case JSON_ARRAY:
		dump_array(wb, j, flags, depth);
		return;
	case JSON_STRING:
		dump_string(wb, json_string_value(j), json_string_length(j));
		return;
	case JSON_INTEGER:
		cc_wirejson_get_u64(j, &u);
		snprintf(buf, sizeof(buf), "%" PRIu64, u);
		break;
	case JSON_REAL:
		/* Keep a real a real: 1000.0, not 1000. */
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(j));
		if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 3 <= sizeof(buf))
			memcpy(buf + strlen(buf), ".0", 3);
		break;
	case JSON_TRUE:
		snprintf(buf, sizeof(buf), "true");
		break;
	case JSON_FALSE:
		snprintf(buf, sizeof(buf), "false");
		break;
	default:
		snprintf(buf, sizeof(buf), "null");
		break;
	}
	cc_wbuf_bytes(wb, buf, strlen(buf));
}

char *
cc_wirejson_dumps(const json_t *j, int flags)
{
	struct cc_wbuf wb;

	cc_wbuf_init(&wb);
	if (j != NULL)
		dump_value(&wb, j, flags, 0);
	cc_wbuf_u8(&wb, '\0');
	if (wb.err != 0) {
		cc_wbuf_clear(&wb);
		errno = ENOMEM;
		return NULL;
	}
	return (char *)wb.data;
}

/* ---- hex ---------------------------------------------------------------- */

char *
cc_wirejson_hex(const uint8_t *p, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	char			*s;
	size_t			 i;

	if (n > (SIZE_MAX - 1) / 2 || (s = malloc(2 * n + 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		s[2 * i] = hex[p[i] >> 4];
		s[2 * i + 1] = hex[p[i] & 0xf];
	}
	s[2 * n] = '\0';
	return s;
}

int
cc_wirejson_unhex(const char *s, size_t n, struct cc_wbuf *out)
{
	size_t	i;
	int	d, hi = -1;

	for (i = 0; i < n; i++) {
		if (strchr(" \t\r\n\v\f", s[i]) != NULL && s[i] != '\0')
			continue;
		if ((d = cc_hex_digit(s[i])) == -1) {
			errno = EINVAL;
			return -1;
		}
		if (hi == -1)
			hi = d;
		else {
			cc_wbuf_u8(out, (uint8_t)(hi << 4 | d));
			hi = -1;
		}
	}
	if (hi != -1) {
		errno = EINVAL;
		return -1;
	}
	if (out->err != 0) {
		errno = out->err;
		return -1;
	}
	return 0;
}
