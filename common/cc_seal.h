/*
 * cc_seal.h: authenticated encryption of gossip datagrams, and the
 * in-memory keyring (see docs/SECURITY.md, "Gossip encryption").
 *
 * A sealed datagram wraps one whole plaintext chitchat datagram:
 *
 *   offset 0        u8   0xEC (CC_SEAL_MAGIC; a chitchat datagram starts 53 b0)
 *   offset 1        u8   format version, 1
 *   offset 2..25    24-byte random nonce
 *   offset 26..     XChaCha20-Poly1305 (IETF) ciphertext of the datagram,
 *                   then its 16-byte tag; associated data: bytes 0 and 1
 *
 * 42 bytes of overhead. The AEAD is libsodium's
 * crypto_aead_xchacha20poly1305_ietf: 192-bit nonces are safe to draw at
 * random for every datagram, for the life of a key.
 *
 * No sockets, no files, no libevent: the daemon reads and writes the
 * keyring file (daemon/keyring.c); this module parses and formats its
 * text. Key material is wiped (sodium_memzero) by cc_keyring_clear() and
 * by every function that held a copy. cc_seal_init() (sodium_init) must
 * have been called once before anything else here.
 */
#ifndef CC_SEAL_H
#define CC_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CC_SEAL_MAGIC		0xEC
#define CC_SEAL_VERSION		1
#define CC_SEAL_HEADER		2
#define CC_SEAL_NONCE		24
#define CC_SEAL_TAG		16
#define CC_SEAL_OVERHEAD	(CC_SEAL_HEADER + CC_SEAL_NONCE + CC_SEAL_TAG)	/* 42 */

#define CC_KEY_LEN		32
#define CC_KEY_B64_LEN		44	/* base64 of 32 bytes, padded; without the NUL */
#define CC_KEY_ID_LEN		16	/* hex of 8 bytes; without the NUL */
/*
 * Keys a keyring holds at most: a datagram that opens with none is tried
 * with each, so the cap bounds what a flood of forged datagrams costs.
 */
#define CC_KEYRING_MAX		16

/* Keys; keys[0] is the primary (the one that seals), the others are accepted. */
struct cc_keyring {
	size_t	n;
	uint8_t	keys[CC_KEYRING_MAX][CC_KEY_LEN];
};

/* sodium_init(): 0, or -1 if libsodium cannot work here. Idempotent. */
int	cc_seal_init(void);

/* ---- sealing ------------------------------------------------------------- */

/* Whether buf looks like a sealed datagram (its first byte is 0xEC). */
bool	cc_seal_is_sealed(const uint8_t *buf, size_t len);

/*
 * Seals msg[0..len) with key into out (cap bytes), *out_len = len + 42.
 * A fresh random nonce each call. -1 + EMSGSIZE if out is too small.
 */
int	cc_seal(const uint8_t key[CC_KEY_LEN], const uint8_t *msg, size_t len,
	    uint8_t *out, size_t cap, size_t *out_len);

/*
 * Opens a sealed datagram with the primary key, then each secondary one.
 * On success 0, the plaintext in out (*out_len = len - 42) and *which (if
 * not NULL) the index of the key that opened it (0: the primary). -1 +
 * EBADMSG if no key opens it (or it is malformed or truncated), -1 +
 * EMSGSIZE if out is too small; out is then unspecified. Any input is safe.
 */
int	cc_open(const struct cc_keyring *, const uint8_t *in, size_t len,
	    uint8_t *out, size_t cap, size_t *out_len, size_t *which);

/* ---- keys ------------------------------------------------------------------ */

/* A new random key. */
void	cc_key_generate(uint8_t key[CC_KEY_LEN]);
/* Standard padded base64 (44 characters) into out, NUL-terminated. */
void	cc_key_to_base64(const uint8_t key[CC_KEY_LEN], char out[CC_KEY_B64_LEN + 1]);
/* Decodes exactly 32 bytes of standard base64. -1 + EINVAL otherwise. */
int	cc_key_from_base64(const char *s, size_t len, uint8_t key[CC_KEY_LEN]);
/*
 * The key's public name: hex of the first 8 bytes of its BLAKE2b-512 hash
 * (what `base64 -d | b2sum | cut -c1-16` prints), NUL-terminated.
 */
void	cc_key_id(const uint8_t key[CC_KEY_LEN], char out[CC_KEY_ID_LEN + 1]);
/* Whether s is 16 lower- or upper-case hex digits (a key id, not a key). */
bool	cc_key_id_is_valid(const char *s, size_t len);

/* ---- the keyring ------------------------------------------------------------ */

/* Wipes every key; the keyring is then empty. */
void	cc_keyring_clear(struct cc_keyring *);
/* The index of key, or -1. */
int	cc_keyring_find(const struct cc_keyring *, const uint8_t key[CC_KEY_LEN]);
/* The index of the key whose id is the 16 hex digits id (any case), or -1. */
int	cc_keyring_find_id(const struct cc_keyring *, const char *id, size_t len);
/*
 * Appends key (the primary if the keyring was empty). -1 + EEXIST if it
 * is there already, + ENOSPC past CC_KEYRING_MAX.
 */
int	cc_keyring_add(struct cc_keyring *, const uint8_t key[CC_KEY_LEN]);
/*
 * Makes key i the primary; the former primary becomes a secondary (the
 * others keep their order). -1 + ENOENT if there is no key i.
 */
int	cc_keyring_use(struct cc_keyring *, size_t i);
/* Removes secondary key i. -1 + EBUSY for the primary, ENOENT for no key i. */
int	cc_keyring_remove(struct cc_keyring *, size_t i);
/* Whether a and b hold the same keys in the same order. */
bool	cc_keyring_is_equal(const struct cc_keyring *, const struct cc_keyring *);

/*
 * Parses the keyring file's text: a JSON array of base64 keys, the primary
 * first (Serf's format), e.g. ["base64...", "base64..."]. Refuses an
 * empty array, a key that is not base64 of 32 bytes, duplicates and more
 * than CC_KEYRING_MAX keys. On error -1 + EINVAL and a one-line reason in
 * why (never key material). kr is wiped on error.
 */
int	cc_keyring_parse(const char *text, size_t len, struct cc_keyring *kr,
	    char *why, size_t whylen);
/*
 * The file's text, one key per line, ending in a newline. *len bytes
 * (NUL-terminated, not counted). Caller frees with cc_keyring_text_free().
 * NULL + ENOMEM.
 */
char	*cc_keyring_format(const struct cc_keyring *, size_t *len);
/* Wipes and frees a text from cc_keyring_format (NULL: no-op). */
void	cc_keyring_text_free(char *text, size_t len);

#endif /* CC_SEAL_H */
