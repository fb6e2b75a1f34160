/*
 * keyring.c: the gossip-encryption commands: `keyring list|install|use|
 * remove|generate` and `keygen` (docs/SECURITY.md).
 *
 * They are not under `keys`, which lists key-value entries. A KEY is the
 * base64 text of a 32-byte key; use and remove also take a key id (16 hex
 * digits, as `keyring list` shows). `-` reads the key from stdin, so that
 * it stays out of shell history and of other users' ps(1). Keys are
 * checked before connecting (a malformed one is a usage error, 2), and
 * the daemon never sends key material back: list shows ids only.
 * `generate` (and `keygen`) needs no daemon.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cc_seal.h"
#include "chitchatctl.h"

enum keyring_op { K_LIST, K_INSTALL, K_USE, K_REMOVE, K_GENERATE };

static const struct {
	const char	*name;
	enum keyring_op	 op;
	bool		 takes_key;
	const char	*method;
} ops[] = {
	{ "list", K_LIST, false, "keys_list" },
	{ "install", K_INSTALL, true, "keys_install" },
	{ "use", K_USE, true, "keys_use" },
	{ "remove", K_REMOVE, true, "keys_remove" },
	{ "generate", K_GENERATE, false, NULL },
};

static int
find_op(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Whether s names a key: base64 of 32 bytes, or (if ids are allowed) a key id. */
static bool
is_key_ref(const char *s, bool id_ok)
{
	uint8_t	key[CC_KEY_LEN];
	bool	ok;

	if (id_ok && cc_key_id_is_valid(s, strlen(s)))
		return true;
	ok = cc_key_from_base64(s, strlen(s), key) == 0;
	sodium_memzero(key, sizeof(key));
	return ok;
}

int
cmd_keyring_check(struct ctl *ctl)
{
	int i = find_op(ctl->args[0]);

	if (i == -1)
		return ctl_usage_error(ctl->cmd, "keyring: unknown operation: %s "
		    "(list, install, use, remove or generate)", ctl->args[0]);
	if (ops[i].takes_key && ctl->nargs < 2)
		return ctl_usage_error(ctl->cmd, "keyring %s: missing KEY", ops[i].name);
	if (!ops[i].takes_key && ctl->nargs > 1)
		return ctl_usage_error(ctl->cmd, "keyring %s: unexpected argument: %s",
		    ops[i].name, ctl->args[1]);
	if (ops[i].takes_key && strcmp(ctl->args[1], "-") != 0 &&
	    !is_key_ref(ctl->args[1], ops[i].op != K_INSTALL))
		return ctl_usage_error(ctl->cmd, "keyring %s: not a key (base64 of 32 bytes%s)",
		    ops[i].name, ops[i].op != K_INSTALL ? ", or a key id of 16 hex digits" : "");
	return CTL_EXIT_OK;
}

static int
print_generated(const struct ctl *ctl)
{
	uint8_t	key[CC_KEY_LEN];
	char	b64[CC_KEY_B64_LEN + 1], id[CC_KEY_ID_LEN + 1];

	if (cc_seal_init() == -1) {
		ctl_warnx("keygen: libsodium cannot be initialised");
		return CTL_EXIT_FAIL;
	}
	cc_key_generate(key);
	cc_key_to_base64(key, b64);
	cc_key_id(key, id);
	sodium_memzero(key, sizeof(key));
	if (ctl->json) {
		json_t *o = ctl_xjson(json_pack("{s:s,s:s}", "key", b64, "key_id", id));

		ctl_print_json(o);
		json_decref(o);
	} else
		printf("%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return CTL_EXIT_OK;
}

int
cmd_keygen(struct ctl *ctl)
{
	return print_generated(ctl);
}

/* The key from stdin: one line, surrounding whitespace ignored. */
static int
read_key(char *buf, size_t cap)
{
	size_t	n = 0;
	ssize_t	r;

	while (n + 1 < cap) {
		r = read(STDIN_FILENO, buf + n, cap - 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	    buf[n - 1] == '\t'))
		buf[--n] = '\0';
	return n > 0 ? 0 : -1;
}

static void
print_keyring(const struct ctl *ctl, const json_t *res)
{
	static const char *const headers[] = { "KEY_ID", "PRIMARY" };
	struct ctl_table	*t;
	const char		*mode = json_string_value(json_object_get(res, "encryption"));
	const json_t		*k;
	size_t			 i;

	if (ctl->json) {
		ctl_print_json(res);
		return;
	}
	if (mode != NULL && strcmp(mode, "off") == 0)
		ctl_warnx("keyring: encryption is off: no keyring");
	t = ctl_table_new(ctl, 2, headers);
	json_array_foreach(json_object_get(res, "keys"), i, k) {
		char		*id = ctl_escape_member(k, "key_id");
		const char	*cells[2] = { id,
				    json_is_true(json_object_get(k, "primary")) ? "yes" : "no" };

		ctl_table_add(t, cells);
		free(id);
	}
	ctl_table_print(t);
}

int
cmd_keyring(struct ctl *ctl)
{
	int		 i = find_op(ctl->args[0]);
	char		 what[64], stdin_key[256];
	const char	*key = NULL;
	json_t		*params = NULL, *res;
	int		 rc;

	if (ops[i].op == K_GENERATE)
		return print_generated(ctl);
	snprintf(what, sizeof(what), "keyring %s", ops[i].name);
	if (ops[i].takes_key) {
		key = ctl->args[1];
		if (strcmp(key, "-") == 0) {
			if (read_key(stdin_key, sizeof(stdin_key)) == -1 ||
			    !is_key_ref(stdin_key, ops[i].op != K_INSTALL)) {
				sodium_memzero(stdin_key, sizeof(stdin_key));
				ctl_warnx("%s: stdin holds no key", what);
				return CTL_EXIT_FAIL;
			}
			key = stdin_key;
		}
		params = ctl_xjson(json_pack("{s:s}", "key", key));
		sodium_memzero(stdin_key, sizeof(stdin_key));
	}
	rc = ctl_oneshot(ctl, what, ops[i].method, params, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ops[i].op == K_LIST || ctl->json)
		print_keyring(ctl, res);
	json_decref(res);
	return CTL_EXIT_OK;
}
