/*
 * check_seal.c: common/cc_seal.c alone: sealing and opening datagrams
 * (round trip, wrong key, every flipped bit, truncations, fresh nonces,
 * secondary keys), keys (base64, key ids) and the keyring (changes, the
 * file's text: parse errors and format round trip).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cc_seal.h"
#include "testutil.h"

/* A real chitchat datagram: a SYN of "test-cluster" with an empty digest. */
static const uint8_t syn[] = {
	0x53, 0xb0, 0x00, 0x00, 0x0c, 0x00, 't', 'e', 's', 't', '-', 'c', 'l', 'u', 's', 't',
	'e', 'r', 0x00, 0x00,
};

static uint8_t sealed[CC_MAX_DATAGRAM], opened[CC_MAX_DATAGRAM];

static void
setup(void)
{
	ck_assert_int_eq(cc_seal_init(), 0);
}

static void
keyring_of(struct cc_keyring *kr, size_t n, uint8_t keys[][CC_KEY_LEN])
{
	memset(kr, 0, sizeof(*kr));
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(cc_keyring_add(kr, keys[i]), 0);
}

/* ---- sealing ---------------------------------------------------------------------- */

START_TEST(test_round_trip)
{
	struct cc_keyring	kr;
	uint8_t			key[1][CC_KEY_LEN];
	size_t			slen, olen, which = 99;

	cc_key_generate(key[0]);
	keyring_of(&kr, 1, key);
	ck_assert_int_eq(cc_seal(key[0], syn, sizeof(syn), sealed, sizeof(sealed), &slen), 0);
	ck_assert_uint_eq(slen, sizeof(syn) + CC_SEAL_OVERHEAD);
	ck_assert_uint_eq(CC_SEAL_OVERHEAD, 42);
	/* the frame: 0xEC, version 1, then no plaintext in sight */
	ck_assert_uint_eq(sealed[0], 0xEC);
	ck_assert_uint_eq(sealed[1], 1);
	ck_assert(cc_seal_is_sealed(sealed, slen));
	ck_assert(!cc_seal_is_sealed(syn, sizeof(syn)));
	ck_assert_ptr_null(memmem(sealed, slen, "test-cluster", 12));
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, &which), 0);
	ck_assert_uint_eq(olen, sizeof(syn));
	ck_assert_mem_eq(opened, syn, sizeof(syn));
	ck_assert_uint_eq(which, 0);
	/* an empty message seals too: 42 bytes */
	ck_assert_int_eq(cc_seal(key[0], syn, 0, sealed, sizeof(sealed), &slen), 0);
	ck_assert_uint_eq(slen, 42);
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, NULL), 0);
	ck_assert_uint_eq(olen, 0);
	/* a 65,465-byte message fills a 65,507-byte datagram, one more does not fit */
	memset(opened, 0x5a, sizeof(opened));
	ck_assert_int_eq(cc_seal(key[0], opened, CC_MAX_DATAGRAM - 42, sealed, sizeof(sealed),
	    &slen), 0);
	ck_assert_uint_eq(slen, CC_MAX_DATAGRAM);
	errno = 0;
	ck_assert_int_eq(cc_seal(key[0], opened, CC_MAX_DATAGRAM - 41, sealed, sizeof(sealed),
	    &slen), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	cc_keyring_clear(&kr);
	ck_assert_uint_eq(kr.n, 0);
}
END_TEST

START_TEST(test_wrong_key_fails)
{
	struct cc_keyring	kr;
	uint8_t			keys[2][CC_KEY_LEN];
	size_t			slen, olen;

	cc_key_generate(keys[0]);
	cc_key_generate(keys[1]);
	keyring_of(&kr, 1, &keys[1]);
	ck_assert_int_eq(cc_seal(keys[0], syn, sizeof(syn), sealed, sizeof(sealed), &slen), 0);
	errno = 0;
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, NULL), -1);
	ck_assert_int_eq(errno, EBADMSG);
	/* an empty keyring opens nothing */
	memset(&kr, 0, sizeof(kr));
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, NULL), -1);
}
END_TEST

START_TEST(test_every_flipped_bit_fails)
{
	struct cc_keyring	kr;
	uint8_t			key[1][CC_KEY_LEN], copy[sizeof(syn) + CC_SEAL_OVERHEAD];
	size_t			slen, olen;

	cc_key_generate(key[0]);
	keyring_of(&kr, 1, key);
	ck_assert_int_eq(cc_seal(key[0], syn, sizeof(syn), sealed, sizeof(sealed), &slen), 0);
	ck_assert_uint_eq(slen, sizeof(copy));
	/* header, nonce, ciphertext and tag: each of their bits is checked */
	for (size_t bit = 0; bit < slen * 8; bit++) {
		memcpy(copy, sealed, slen);
		copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(cc_open(&kr, copy, slen, opened, sizeof(opened), &olen, NULL) == -1,
		    "bit %zu (byte %zu) flipped and still opened", bit, bit / 8);
	}
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, NULL), 0);
}
END_TEST

START_TEST(test_truncated_inputs_fail)
{
	struct cc_keyring	kr;
	uint8_t			key[1][CC_KEY_LEN];
	size_t			slen, olen;

	cc_key_generate(key[0]);
	keyring_of(&kr, 1, key);
	ck_assert_int_eq(cc_seal(key[0], syn, sizeof(syn), sealed, sizeof(sealed), &slen), 0);
	/* 0 to 41 bytes are shorter than any sealed datagram; each prefix of a real one fails */
	for (size_t n = 0; n < slen; n++) {
		static uint8_t	one[CC_MAX_DATAGRAM];

		memcpy(one, sealed, n);	/* its own buffer, so ASan sees any overread */
		errno = 0;
		ck_assert_msg(cc_open(&kr, n == 0 ? NULL : one, n, opened, sizeof(opened), &olen,
		    NULL) == -1 && errno == EBADMSG, "a %zu-byte prefix opened", n);
	}
	/* the output buffer is checked, not overrun */
	errno = 0;
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(syn) - 1, &olen, NULL), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	/* a future version is not opened */
	sealed[1] = 2;
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, NULL), -1);
}
END_TEST

START_TEST(test_two_seals_differ)
{
	uint8_t	key[CC_KEY_LEN], other[sizeof(syn) + CC_SEAL_OVERHEAD];
	size_t	slen, olen2;

	cc_key_generate(key);
	ck_assert_int_eq(cc_seal(key, syn, sizeof(syn), sealed, sizeof(sealed), &slen), 0);
	ck_assert_int_eq(cc_seal(key, syn, sizeof(syn), other, sizeof(other), &olen2), 0);
	ck_assert_uint_eq(slen, olen2);
	/* fresh nonces, so different ciphertexts */
	ck_assert(memcmp(sealed + 2, other + 2, CC_SEAL_NONCE) != 0);
	ck_assert(memcmp(sealed + 26, other + 26, slen - 26) != 0);
}
END_TEST

START_TEST(test_open_with_a_secondary_key_reports_it)
{
	struct cc_keyring	kr;
	uint8_t			keys[3][CC_KEY_LEN];
	size_t			slen, olen, which = 99;

	for (int i = 0; i < 3; i++)
		cc_key_generate(keys[i]);
	keyring_of(&kr, 3, keys);
	ck_assert_int_eq(cc_seal(keys[2], syn, sizeof(syn), sealed, sizeof(sealed), &slen), 0);
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, &which), 0);
	ck_assert_uint_eq(which, 2);
	ck_assert_mem_eq(opened, syn, sizeof(syn));
	/* once removed, that key opens nothing */
	ck_assert_int_eq(cc_keyring_remove(&kr, 2), 0);
	ck_assert_int_eq(cc_open(&kr, sealed, slen, opened, sizeof(opened), &olen, &which), -1);
}
END_TEST

/* ---- keys and the keyring ---------------------------------------------------------- */

START_TEST(test_base64_and_key_ids)
{
	static const char	zero_b64[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	uint8_t			key[CC_KEY_LEN], back[CC_KEY_LEN];
	char			b64[CC_KEY_B64_LEN + 1], id[CC_KEY_ID_LEN + 1];
	unsigned char		h[64];
	char			want[17];

	cc_key_generate(key);
	cc_key_to_base64(key, b64);
	ck_assert_uint_eq(strlen(b64), 44);
	ck_assert_int_eq(cc_key_from_base64(b64, strlen(b64), back), 0);
	ck_assert_mem_eq(key, back, CC_KEY_LEN);
	/* the key id: hex of the first 8 bytes of BLAKE2b-512 (b2sum's default) */
	memset(key, 0, sizeof(key));
	ck_assert_int_eq(cc_key_from_base64(zero_b64, strlen(zero_b64), back), 0);
	ck_assert_mem_eq(key, back, CC_KEY_LEN);
	crypto_generichash(h, sizeof(h), key, sizeof(key), NULL, 0);
	for (int i = 0; i < 8; i++)
		snprintf(want + 2 * i, 3, "%02x", h[i]);
	cc_key_id(key, id);
	ck_assert_str_eq(id, want);
	ck_assert(cc_key_id_is_valid(id, strlen(id)));
	ck_assert(!cc_key_id_is_valid(zero_b64, strlen(zero_b64)));
	ck_assert(!cc_key_id_is_valid("0123456789abcdeg", 16));
	ck_assert(cc_key_id_is_valid("0123456789ABCDEF", 16));
	/* not keys: wrong lengths, bad characters, whitespace, URL-safe alphabet */
	{
		static const char *bad[] = {
			"", "AAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==",
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			" AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!=",
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-=",
			"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			errno = 0;
			ck_assert_msg(cc_key_from_base64(bad[i], strlen(bad[i]), back) == -1 &&
			    errno == EINVAL, "\"%s\" taken for a key", bad[i]);
		}
	}
}
END_TEST

START_TEST(test_keyring_changes)
{
	struct cc_keyring	kr;
	uint8_t			keys[3][CC_KEY_LEN];
	char			id[CC_KEY_ID_LEN + 1];

	for (int i = 0; i < 3; i++)
		cc_key_generate(keys[i]);
	memset(&kr, 0, sizeof(kr));
	ck_assert_int_eq(cc_keyring_add(&kr, keys[0]), 0);
	ck_assert_int_eq(cc_keyring_add(&kr, keys[1]), 0);
	errno = 0;
	ck_assert_int_eq(cc_keyring_add(&kr, keys[1]), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(cc_keyring_find(&kr, keys[1]), 1);
	ck_assert_int_eq(cc_keyring_find(&kr, keys[2]), -1);
	cc_key_id(keys[1], id);
	ck_assert_int_eq(cc_keyring_find_id(&kr, id, strlen(id)), 1);
	for (char *p = id; *p != '\0'; p++)	/* any case */
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	ck_assert_int_eq(cc_keyring_find_id(&kr, id, strlen(id)), 1);
	cc_key_id(keys[2], id);
	ck_assert_int_eq(cc_keyring_find_id(&kr, id, strlen(id)), -1);
	/* the primary cannot be removed; use swaps it with the new primary */
	errno = 0;
	ck_assert_int_eq(cc_keyring_remove(&kr, 0), -1);
	ck_assert_int_eq(errno, EBUSY);
	ck_assert_int_eq(cc_keyring_use(&kr, 1), 0);
	ck_assert_mem_eq(kr.keys[0], keys[1], CC_KEY_LEN);
	ck_assert_mem_eq(kr.keys[1], keys[0], CC_KEY_LEN);
	ck_assert_int_eq(cc_keyring_remove(&kr, 1), 0);
	ck_assert_uint_eq(kr.n, 1);
	ck_assert_mem_eq(kr.keys[0], keys[1], CC_KEY_LEN);
	errno = 0;
	ck_assert_int_eq(cc_keyring_remove(&kr, 1), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(cc_keyring_use(&kr, 5), -1);
	/* full at CC_KEYRING_MAX */
	while (kr.n < CC_KEYRING_MAX) {
		cc_key_generate(keys[2]);
		ck_assert_int_eq(cc_keyring_add(&kr, keys[2]), 0);
	}
	cc_key_generate(keys[2]);
	errno = 0;
	ck_assert_int_eq(cc_keyring_add(&kr, keys[2]), -1);
	ck_assert_int_eq(errno, ENOSPC);
	cc_keyring_clear(&kr);
}
END_TEST

/* Parses text; on success the keyring, on failure the reason. */
static int
parse(const char *text, struct cc_keyring *kr, char *why, size_t whylen)
{
	why[0] = '\0';
	return cc_keyring_parse(text, strlen(text), kr, why, whylen);
}

START_TEST(test_keyring_text_parse_errors)
{
	static const char	k1[] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
	static const char	k2[] = "c2VjcmV0IGtleSBudW1iZXIgdHdvLCAzMiBieXRlcyE=";
	static const struct {
		const char	*text;
		const char	*why;	/* a substring of the reason */
	} bad[] = {
		{ "", "expected a JSON array" },
		{ "   \n", "expected a JSON array" },
		{ "{}", "expected a JSON array" },
		{ "[]", "no keys" },
		{ " [ \n ] ", "no keys" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"", "expected a JSON array" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "expected a JSON array" },
		{ "[MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=]", "expected a JSON array" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\",]", "expected a JSON array" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\" \"x\"]",
		    "expected a JSON array" },
		{ "[1]", "expected a JSON array" },
		{ "[\"\"]", "key 1: not a key" },
		{ "[\"not base64 at all, sorry, not at all, nope\"]", "key 1: not a key" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\", \"MDEy\"]", "key 2: not a key" },
		/* 31 and 33 bytes */
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZQ==\"]", "key 1: not a key" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWZn\"]", "key 1: not a key" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"]",
		    "key 1: not a key" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\", "
		    "\"c2VjcmV0IGtleSBudW1iZXIgdHdvLCAzMiBieXRlcyE=\", "
		    "\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"]", "key 3: the same as key 1" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"] x", "unexpected text" },
		{ "[\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"][]", "unexpected text" },
	};
	struct cc_keyring	kr;
	char			why[200], text[2048];
	size_t			off;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&kr, 0xff, sizeof(kr));
		ck_assert_msg(parse(bad[i].text, &kr, why, sizeof(why)) == -1,
		    "parsed: %s", bad[i].text);
		ck_assert_msg(strstr(why, bad[i].why) != NULL, "%s: \"%s\", not \"%s\"",
		    bad[i].text, why, bad[i].why);
		ck_assert_msg(strchr(why, '\n') == NULL, "multi-line reason");
		ck_assert_ptr_null(strstr(why, "MDEy"));	/* never the key material */
		ck_assert_uint_eq(kr.n, 0);			/* wiped */
	}
	/* good ones: spacing, JSON's escaped slash, one or two keys */
	ck_assert_int_eq(parse(" [ \"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\" ] \n", &kr, why,
	    sizeof(why)), 0);
	ck_assert_uint_eq(kr.n, 1);
	ck_assert_mem_eq(kr.keys[0], "0123456789abcdef0123456789abcdef", 32);
	snprintf(text, sizeof(text), "[\"%s\",\n\t\"%s\"]", k1, k2);
	ck_assert_int_eq(parse(text, &kr, why, sizeof(why)), 0);
	ck_assert_uint_eq(kr.n, 2);
	ck_assert_mem_eq(kr.keys[1], "secret key number two, 32 bytes!", 32);
	ck_assert_int_eq(parse("[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\\/AAA=\"]", &kr, why,
	    sizeof(why)), 0);
	/* 16 keys parse, 17 do not */
	off = (size_t)snprintf(text, sizeof(text), "[");
	for (int i = 0; i < CC_KEYRING_MAX + 1; i++) {
		uint8_t	key[CC_KEY_LEN];
		char	b64[CC_KEY_B64_LEN + 1];

		if (i == CC_KEYRING_MAX) {
			ck_assert_int_eq(cc_keyring_parse(text, off, &kr, why, sizeof(why)), -1);
			ck_assert_str_eq(why, "expected a JSON array of base64 keys, "
			    "[\"primary\", \"secondary\", ...]");
			snprintf(text + off, sizeof(text) - off, "]");
			ck_assert_int_eq(parse(text, &kr, why, sizeof(why)), 0);
			ck_assert_uint_eq(kr.n, CC_KEYRING_MAX);
			text[off] = '\0';
		}
		cc_key_generate(key);
		cc_key_to_base64(key, b64);
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s\"%s\"", i > 0 ? "," : "",
		    b64);
	}
	snprintf(text + off, sizeof(text) - off, "]");
	ck_assert_int_eq(parse(text, &kr, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "more than 16 keys");
	cc_keyring_clear(&kr);
}
END_TEST

START_TEST(test_keyring_text_round_trip)
{
	struct cc_keyring	kr, back;
	char			*text, why[200];
	size_t			len;

	memset(&kr, 0, sizeof(kr));
	for (int i = 0; i < 3; i++) {
		uint8_t key[CC_KEY_LEN];

		cc_key_generate(key);
		ck_assert_int_eq(cc_keyring_add(&kr, key), 0);
	}
	text = cc_keyring_format(&kr, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_int_eq(text[0], '[');
	ck_assert_int_eq(text[len - 1], '\n');
	ck_assert_int_eq(cc_keyring_parse(text, len, &back, why, sizeof(why)), 0);
	ck_assert(cc_keyring_is_equal(&kr, &back));
	/* order matters: the primary is first */
	ck_assert_int_eq(cc_keyring_use(&back, 2), 0);
	ck_assert(!cc_keyring_is_equal(&kr, &back));
	cc_keyring_text_free(text, len);
	cc_keyring_clear(&kr);
	cc_keyring_clear(&back);
}
END_TEST

static Suite *
seal_suite(void)
{
	Suite	*s = suite_create("seal");
	TCase	*tc = tcase_create("seal");
	TCase	*tk = tcase_create("keyring");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_wrong_key_fails);
	tcase_add_test(tc, test_every_flipped_bit_fails);
	tcase_add_test(tc, test_truncated_inputs_fail);
	tcase_add_test(tc, test_two_seals_differ);
	tcase_add_test(tc, test_open_with_a_secondary_key_reports_it);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tk, setup, NULL);
	tcase_add_test(tk, test_base64_and_key_ids);
	tcase_add_test(tk, test_keyring_changes);
	tcase_add_test(tk, test_keyring_text_parse_errors);
	tcase_add_test(tk, test_keyring_text_round_trip);
	suite_add_tcase(s, tk);
	return s;
}

CC_TEST_MAIN(seal_suite)
