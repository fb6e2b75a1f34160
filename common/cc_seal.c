/*
 * cc_seal.c: sealing and opening gossip datagrams (libsodium's
 * XChaCha20-Poly1305), keys, and the in-memory keyring with its text form.
 *
 * Opening tries the primary key first, then each secondary key in order:
 * during a rotation (docs/SECURITY.md) peers seal with either, and the
 * datagram carries no key id, so that nothing in it helps an observer
 * link datagrams to keys. The cost of a forged datagram is at most
 * CC_KEYRING_MAX tag checks.
 *
 * The keyring text is parsed by hand rather than with jansson: the format
 * is a flat array of base64 strings, and this way the key material never
 * passes through an allocator we cannot wipe.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cc_seal.h"
#include "cc_wire.h"

_Static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == CC_KEY_LEN, "key size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == CC_SEAL_NONCE, "nonce size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == CC_SEAL_TAG, "tag size");
_Static_assert(CC_SEAL_OVERHEAD == 42, "the documented overhead");

int
cc_seal_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* ---- sealing ----------------------------------------------------------------- */

bool
cc_seal_is_sealed(const uint8_t *buf, size_t len)
{
	return len > 0 && buf[0] == CC_SEAL_MAGIC;
}

int
cc_seal(const uint8_t key[CC_KEY_LEN], const uint8_t *msg, size_t len, uint8_t *out,
    size_t cap, size_t *out_len)
{
	unsigned long long clen;

	if (cap < CC_SEAL_OVERHEAD || len > cap - CC_SEAL_OVERHEAD) {
		errno = EMSGSIZE;
		return -1;
	}
	out[0] = CC_SEAL_MAGIC;
	out[1] = CC_SEAL_VERSION;
	randombytes_buf(out + CC_SEAL_HEADER, CC_SEAL_NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + CC_SEAL_HEADER + CC_SEAL_NONCE, &clen,
	    msg, len, out, CC_SEAL_HEADER, NULL, out + CC_SEAL_HEADER, key);
	*out_len = CC_SEAL_HEADER + CC_SEAL_NONCE + (size_t)clen;
	return 0;
}

int
cc_open(const struct cc_keyring *kr, const uint8_t *in, size_t len, uint8_t *out,
    size_t cap, size_t *out_len, size_t *which)
{
	const uint8_t		*nonce = in + CC_SEAL_HEADER;
	const uint8_t		*ct = in + CC_SEAL_HEADER + CC_SEAL_NONCE;
	unsigned long long	 mlen;
	size_t			 ctlen;

	if (len < CC_SEAL_OVERHEAD || in[0] != CC_SEAL_MAGIC || in[1] != CC_SEAL_VERSION) {
		errno = EBADMSG;
		return -1;
	}
	ctlen = len - CC_SEAL_HEADER - CC_SEAL_NONCE;
	if (ctlen - CC_SEAL_TAG > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	for (size_t i = 0; i < kr->n; i++) {
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, ct, ctlen,
		    in, CC_SEAL_HEADER, nonce, kr->keys[i]) != 0)
			continue;
		*out_len = (size_t)mlen;
		if (which != NULL)
			*which = i;
		return 0;
	}
	errno = EBADMSG;
	return -1;
}

/* ---- keys -------------------------------------------------------------------- */

void
cc_key_generate(uint8_t key[CC_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
}

void
cc_key_to_base64(const uint8_t key[CC_KEY_LEN], char out[CC_KEY_B64_LEN + 1])
{
	sodium_bin2base64(out, CC_KEY_B64_LEN + 1, key, CC_KEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
}

int
cc_key_from_base64(const char *s, size_t len, uint8_t key[CC_KEY_LEN])
{
	uint8_t		buf[CC_KEY_LEN + 3];
	size_t		n = 0;
	const char	*end = NULL;
	int		rc = -1;

	/* exactly 44 characters: no whitespace, no other length that decodes to 32 */
	if (len == CC_KEY_B64_LEN && sodium_base642bin(buf, sizeof(buf), s, len, NULL, &n,
	    &end, sodium_base64_VARIANT_ORIGINAL) == 0 && end == s + len && n == CC_KEY_LEN) {
		memcpy(key, buf, CC_KEY_LEN);
		rc = 0;
	}
	sodium_memzero(buf, sizeof(buf));
	if (rc == -1)
		errno = EINVAL;
	return rc;
}

void
cc_key_id(const uint8_t key[CC_KEY_LEN], char out[CC_KEY_ID_LEN + 1])
{
	uint8_t h[crypto_generichash_BYTES_MAX];

	crypto_generichash(h, sizeof(h), key, CC_KEY_LEN, NULL, 0);
	sodium_bin2hex(out, CC_KEY_ID_LEN + 1, h, CC_KEY_ID_LEN / 2);
}

bool
cc_key_id_is_valid(const char *s, size_t len)
{
	if (len != CC_KEY_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (cc_hex_digit(s[i]) == -1)
			return false;
	return true;
}

/* ---- the keyring --------------------------------------------------------------- */

void
cc_keyring_clear(struct cc_keyring *kr)
{
	sodium_memzero(kr, sizeof(*kr));
}

int
cc_keyring_find(const struct cc_keyring *kr, const uint8_t key[CC_KEY_LEN])
{
	for (size_t i = 0; i < kr->n; i++)
		if (sodium_memcmp(kr->keys[i], key, CC_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

int
cc_keyring_find_id(const struct cc_keyring *kr, const char *id, size_t len)
{
	char mine[CC_KEY_ID_LEN + 1];

	if (!cc_key_id_is_valid(id, len))
		return -1;
	for (size_t i = 0; i < kr->n; i++) {
		size_t k;

		cc_key_id(kr->keys[i], mine);
		for (k = 0; k < CC_KEY_ID_LEN; k++)
			if (cc_hex_digit(mine[k]) != cc_hex_digit(id[k]))
				break;
		if (k == CC_KEY_ID_LEN)
			return (int)i;
	}
	return -1;
}

int
cc_keyring_add(struct cc_keyring *kr, const uint8_t key[CC_KEY_LEN])
{
	if (cc_keyring_find(kr, key) != -1) {
		errno = EEXIST;
		return -1;
	}
	if (kr->n >= CC_KEYRING_MAX) {
		errno = ENOSPC;
		return -1;
	}
	memcpy(kr->keys[kr->n++], key, CC_KEY_LEN);
	return 0;
}

static void
swap_keys(struct cc_keyring *kr, size_t a, size_t b)
{
	uint8_t tmp[CC_KEY_LEN];

	memcpy(tmp, kr->keys[a], CC_KEY_LEN);
	memcpy(kr->keys[a], kr->keys[b], CC_KEY_LEN);
	memcpy(kr->keys[b], tmp, CC_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
}

int
cc_keyring_use(struct cc_keyring *kr, size_t i)
{
	if (i >= kr->n) {
		errno = ENOENT;
		return -1;
	}
	/* the former primary takes the new one's place */
	if (i != 0)
		swap_keys(kr, 0, i);
	return 0;
}

int
cc_keyring_remove(struct cc_keyring *kr, size_t i)
{
	if (i >= kr->n) {
		errno = ENOENT;
		return -1;
	}
	if (i == 0) {
		errno = EBUSY;
		return -1;
	}
	memmove(kr->keys[i], kr->keys[i + 1], (kr->n - i - 1) * CC_KEY_LEN);
	kr->n--;
	sodium_memzero(kr->keys[kr->n], CC_KEY_LEN);
	return 0;
}

bool
cc_keyring_is_equal(const struct cc_keyring *a, const struct cc_keyring *b)
{
	if (a->n != b->n)
		return false;
	return a->n == 0 || sodium_memcmp(a->keys, b->keys, a->n * CC_KEY_LEN) == 0;
}

/* ---- the keyring's text ------------------------------------------------------------ */

struct scan {
	const char	*p;
	const char	*end;
};

static void
skip_space(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
	    *s->p == '\r'))
		s->p++;
}

/*
 * One JSON string (JSON's "\/" is '/') into buf, NUL-terminated; *len is
 * its whole length, which may exceed what buf holds (cap - 1 bytes).
 */
static int
scan_string(struct scan *s, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	if (s->p >= s->end || *s->p != '"')
		return -1;
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
		char c = *s->p;

		if (c == '\\' && s->p + 1 < s->end && s->p[1] == '/')
			c = *++s->p;
		if (*len + 1 < cap)
			buf[*len] = c;
		(*len)++;
	}
	if (s->p >= s->end)
		return -1;
	s->p++;
	return 0;
}

static int __attribute__((format(printf, 4, 5)))
parse_fail(struct cc_keyring *kr, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	cc_keyring_clear(kr);
	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	errno = EINVAL;
	return -1;
}

int
cc_keyring_parse(const char *text, size_t len, struct cc_keyring *kr, char *why,
    size_t whylen)
{
	static const char	 shape[] = "expected a JSON array of base64 keys, "
				    "[\"primary\", \"secondary\", ...]";
	struct scan		 s = { text, text + len };
	char			 b64[CC_KEY_B64_LEN + 8];
	uint8_t			 key[CC_KEY_LEN];
	size_t			 n;
	int			 dup;

	cc_keyring_clear(kr);
	skip_space(&s);
	if (s.p >= s.end || *s.p++ != '[')
		return parse_fail(kr, why, whylen, "%s", shape);
	skip_space(&s);
	if (s.p < s.end && *s.p == ']')
		return parse_fail(kr, why, whylen, "no keys (the array is empty)");
	for (;;) {
		skip_space(&s);
		if (scan_string(&s, b64, sizeof(b64), &n) == -1) {
			sodium_memzero(b64, sizeof(b64));
			return parse_fail(kr, why, whylen, "%s", shape);
		}
		if (n >= sizeof(b64) || cc_key_from_base64(b64, n, key) == -1) {
			sodium_memzero(b64, sizeof(b64));
			return parse_fail(kr, why, whylen,
			    "key %zu: not a key (base64 of 32 bytes, 44 characters)", kr->n + 1);
		}
		sodium_memzero(b64, sizeof(b64));
		if ((dup = cc_keyring_find(kr, key)) != -1) {
			sodium_memzero(key, sizeof(key));
			return parse_fail(kr, why, whylen, "key %zu: the same as key %d",
			    kr->n + 1, dup + 1);
		}
		if (cc_keyring_add(kr, key) == -1) {
			sodium_memzero(key, sizeof(key));
			return parse_fail(kr, why, whylen, "more than %d keys", CC_KEYRING_MAX);
		}
		sodium_memzero(key, sizeof(key));
		skip_space(&s);
		if (s.p < s.end && *s.p == ',') {
			s.p++;
			continue;
		}
		if (s.p < s.end && *s.p == ']')
			break;
		return parse_fail(kr, why, whylen, "%s", shape);
	}
	s.p++;
	skip_space(&s);
	if (s.p != s.end)
		return parse_fail(kr, why, whylen, "unexpected text after the array");
	return 0;
}

char *
cc_keyring_format(const struct cc_keyring *kr, size_t *len)
{
	/* "[\n" + per key: "  \"<44>\",\n" + "]\n" */
	size_t	 cap = 2 + kr->n * (CC_KEY_B64_LEN + 6) + 3, off = 0;
	char	*text = malloc(cap);

	if (text == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	off += (size_t)snprintf(text + off, cap - off, "[\n");
	for (size_t i = 0; i < kr->n; i++) {
		char b64[CC_KEY_B64_LEN + 1];

		cc_key_to_base64(kr->keys[i], b64);
		off += (size_t)snprintf(text + off, cap - off, "  \"%s\"%s\n", b64,
		    i + 1 < kr->n ? "," : "");
		sodium_memzero(b64, sizeof(b64));
	}
	off += (size_t)snprintf(text + off, cap - off, "]\n");
	*len = off;
	return text;
}

void
cc_keyring_text_free(char *text, size_t len)
{
	if (text == NULL)
		return;
	sodium_memzero(text, len);
	free(text);
}
