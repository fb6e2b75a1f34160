/*
 * update.c: the commands that change this node's keys: set and del.
 *
 * Keys and values are checked with the engine's own rule
 * (cc_kv_is_valid: UTF-8, no key starting with a non-ASCII byte, key and
 * value within one delta block) before connecting, so a bad argument is a
 * usage error (2) and the daemon is never asked.
 *
 * `set KEY -` reads the value from stdin, byte for byte, minus exactly one
 * trailing newline if there is one: `echo v | chitchatctl set k -` stores
 * "v", and `chitchatctl get a | chitchatctl set b -` copies a value
 * exactly (get adds that one newline).
 *
 * `set --ttl DURATION` makes the key expire (the daemon's key-ttl
 * extension: "expires_in", sent in milliseconds); `--mark-ttl` (and
 * `del --mark-ttl`) is chitchat's own delete-after-TTL mark. Earlier,
 * `--ttl` was that mark; it was renamed because `--ttl 30s` is what users
 * expect of a TTL (issue 8).
 *
 * Silent on success; with --json, {"key":KEY,"version":V}.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cc.h"
#include "cc_ctlproto.h"
#include "chitchatctl.h"

/* Up to max bytes of stdin into *buf (caller frees); -1 if more or on error. */
static int
read_stdin(char **buf, size_t *len, size_t max)
{
	size_t	 cap = max + 2, n = 0;
	char	*b = ctl_xmalloc(cap);

	for (;;) {
		ssize_t r = read(STDIN_FILENO, b + n, cap - n);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			free(b);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max + 1) {
			free(b);
			errno = EFBIG;
			return -1;
		}
	}
	*buf = b;
	*len = n;
	return 0;
}

static int
check_key(const struct ctl *ctl, const char *key, const char *value)
{
	const char *why;

	if (!cc_kv_is_valid(key, strlen(key), value, strlen(value), &why))
		return ctl_usage_error(ctl->cmd, "%s: %s", ctl->cmd->name, why);
	return CTL_EXIT_OK;
}

static void
print_version(const struct ctl *ctl, const char *key, size_t key_len,
    const json_t *res)
{
	json_t *o;

	if (!ctl->json)
		return;
	o = ctl_xjson(json_pack("{s:s%,s:O}", "key", key, key_len, "version",
	    json_object_get(res, "version")));
	ctl_print_json(o);
	json_decref(o);
}

static char *
describe(const char *verb, const char *key)
{
	char	*k = ctl_escape(key, strlen(key));
	size_t	 len = strlen(verb) + strlen(k) + 2;
	char	*s = ctl_xmalloc(len);

	snprintf(s, len, "%s %s", verb, k);
	free(k);
	return s;
}

/* --ttl: above 0, at most a year (the daemon's own bounds). */
static int
parse_ttl(const char *s, int64_t *ms)
{
	return ctl_parse_duration(s, ms) == -1 || *ms <= 0 ||
	    *ms > 365LL * 86400 * 1000 ? -1 : 0;
}

int
cmd_set_check(struct ctl *ctl)
{
	const char	*value = ctl->args[1];
	int64_t		 ms;

	if (ctl_has(ctl, "ttl") && ctl_has(ctl, "mark-ttl"))
		return ctl_usage_error(ctl->cmd,
		    "set: --ttl and --mark-ttl exclude each other");
	if (ctl_has(ctl, "ttl") && parse_ttl(ctl_opt(ctl, "ttl"), &ms) == -1)
		return ctl_usage_error(ctl->cmd, "set: --ttl %s: expected a "
		    "duration above 0 and at most 365d: 500ms, 30s, 2h",
		    ctl_opt(ctl, "ttl"));
	return check_key(ctl, ctl->args[0], strcmp(value, "-") == 0 ? "" : value);
}

int
cmd_set(struct ctl *ctl)
{
	const char	*key = ctl->args[0], *why;
	char		*value = NULL, *what;
	size_t		 len;
	json_t		*params, *res;
	int64_t		 ttl_ms;
	int		 rc;

	if (strcmp(ctl->args[1], "-") == 0) {
		if (read_stdin(&value, &len, CC_MAX_KV_OP) == -1) {
			ctl_warnx("set: reading the value from stdin: %s",
			    errno == EFBIG ? "too large (at most 16 KiB)" :
			    strerror(errno));
			return CTL_EXIT_FAIL;
		}
		if (len > 0 && value[len - 1] == '\n')
			len--;
		if (!cc_kv_is_valid(key, strlen(key), value, len, &why)) {
			ctl_warnx("set: the value on stdin: %s", why);
			free(value);
			return CTL_EXIT_FAIL;
		}
		params = ctl_xjson(json_pack("{s:s,s:s%}", "key", key, "value",
		    value, len));
		free(value);
	} else
		params = ctl_xjson(json_pack("{s:s,s:s}", "key", key, "value",
		    ctl->args[1]));
	if (ctl_has(ctl, "ttl") && parse_ttl(ctl_opt(ctl, "ttl"), &ttl_ms) == 0)
		json_object_set_new(params, "expires_in",
		    ctl_xjson(json_integer((json_int_t)ttl_ms)));
	if (ctl_has(ctl, "mark-ttl"))
		json_object_set_new(params, "ttl", json_true());
	what = describe("set", key);
	rc = ctl_oneshot(ctl, what, "set", params, &res);
	free(what);
	if (rc != CTL_EXIT_OK)
		return rc;
	print_version(ctl, key, strlen(key), res);
	json_decref(res);
	return CTL_EXIT_OK;
}

int
cmd_del_check(struct ctl *ctl)
{
	return check_key(ctl, ctl->args[0], "");
}

int
cmd_del(struct ctl *ctl)
{
	const char	*key = ctl->args[0];
	char		*what = describe("del", key);
	json_t		*res;
	int		 rc;

	rc = ctl_oneshot(ctl, what, ctl_has(ctl, "mark-ttl") ? "delete_after_ttl" :
	    "delete", ctl_xjson(json_pack("{s:s}", "key", key)), &res);
	free(what);
	if (rc != CTL_EXIT_OK)
		return rc;
	print_version(ctl, key, strlen(key), res);
	json_decref(res);
	return CTL_EXIT_OK;
}
