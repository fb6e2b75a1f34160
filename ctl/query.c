/*
 * query.c: the commands that read the daemon's state: info, members, get,
 * keys, metrics.
 *
 * Each is one request. With --json the result is printed as one object:
 * the daemon's own result (docs/API.md) for info, members, get and
 * metrics; for keys always {"nodes":[{"node":{...},"entries":[...]}]},
 * whether one node or all were asked for, so that scripts need one shape.
 * Without --json: a table on a terminal, tab-separated lines otherwise
 * (output.c); `get` prints the value alone. A key that expires (the
 * daemon's key-ttl extension) carries "expires_at_ms" in JSON and "in 29s"
 * in the EXPIRES column of `keys`.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cc_ctlproto.h"
#include "cc_wire.h"
#include "chitchatctl.h"

/* ---- shared checks -------------------------------------------------------------- */

/* Usage error unless s is valid UTF-8 (JSON strings must be). */
static int
check_utf8(const struct ctl *ctl, const char *what, const char *s)
{
	if (!cc_utf8_is_valid(s, strlen(s)))
		return ctl_usage_error(ctl->cmd, "%s: %s is not valid UTF-8",
		    ctl->cmd->name, what);
	return CTL_EXIT_OK;
}

/* "get KEY [on NODE]": what failed, escaped to one line. Caller frees. */
static char *
describe(const char *verb, const char *key, const char *node)
{
	char	*k = ctl_escape(key, strlen(key));
	char	*n = node != NULL ? ctl_escape(node, strlen(node)) : NULL;
	size_t	 len = strlen(verb) + strlen(k) + (n != NULL ? strlen(n) : 0) + 16;
	char	*s = ctl_xmalloc(len);

	snprintf(s, len, "%s%s%s%s%s", verb, k[0] != '\0' ? " " : "", k,
	    n != NULL ? " on " : "", n != NULL ? n : "");
	free(k);
	free(n);
	return s;
}

/* ---- info ----------------------------------------------------------------------- */

static void
info_row(struct ctl_table *t, const char *name, const char *value)
{
	const char *cells[2] = { name, value };

	ctl_table_add(t, cells);
}

static void
info_int(struct ctl_table *t, const json_t *o, const char *name)
{
	char buf[32];

	info_row(t, name, ctl_u64_member(o, name, buf, sizeof(buf)));
}

static void
info_str(struct ctl_table *t, const json_t *o, const char *name)
{
	char *v = ctl_escape_member(o, name);

	info_row(t, name, v);
	free(v);
}

int
cmd_info(struct ctl *ctl)
{
	struct ctl_table	*t;
	json_t			*res, *counts;
	int			 rc;

	if ((rc = ctl_oneshot(ctl, "info", "info", NULL, &res)) != CTL_EXIT_OK)
		return rc;
	if (ctl_json_done(ctl, res))
		return CTL_EXIT_OK;
	counts = json_object_get(res, "counts");
	t = ctl_table_new(ctl, 2, NULL);
	info_str(t, res, "node_id");
	info_int(t, res, "generation");
	info_str(t, res, "gossip_address");
	info_str(t, res, "cluster_id");
	info_str(t, res, "version");
	info_int(t, res, "protocol");
	info_int(t, res, "uptime_s");
	info_int(t, res, "heartbeat");
	info_int(t, res, "max_version");
	info_int(t, counts, "nodes");
	info_int(t, counts, "live");
	info_int(t, counts, "dead");
	info_int(t, counts, "scheduled");
	info_int(t, counts, "left");
	info_int(t, counts, "ready");
	info_int(t, counts, "keys");
	ctl_table_print(t);
	json_decref(res);
	return CTL_EXIT_OK;
}

/* ---- members -------------------------------------------------------------------- */

int
cmd_members_check(struct ctl *ctl)
{
	if (ctl_has(ctl, "all") + ctl_has(ctl, "dead") + ctl_has(ctl, "left") > 1)
		return ctl_usage_error(ctl->cmd,
		    "members: --all, --dead and --left exclude each other");
	return CTL_EXIT_OK;
}

/* "96ms", "2.3s", "4m05s", "3h12m", "2d04h". */
static void
format_ms(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", ms / 60000,
		    ms / 1000 % 60);
	else if (ms < 86400000)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", ms / 3600000,
		    ms / 60000 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", ms / 86400000,
		    ms / 3600000 % 24);
}

/* An age as format_ms() writes it; "-" when null. */
static void
format_ago(const json_t *v, char *buf, size_t len)
{
	uint64_t ms;

	if (cc_ctl_get_u64(v, &ms) == -1)
		snprintf(buf, len, "-");
	else
		format_ms(ms, buf, len);
}

/* "in 29.4s" until expires_at_ms (wall clock), "now" past it, "-" if none. */
static void
format_expires(const json_t *v, char *buf, size_t len)
{
	struct timespec	ts;
	uint64_t	at, now;
	char		left[32];

	if (cc_ctl_get_u64(v, &at) == -1) {
		snprintf(buf, len, "-");
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (at <= now) {
		snprintf(buf, len, "now");
		return;
	}
	format_ms(at - now, left, sizeof(left));
	snprintf(buf, len, "in %s", left);
}

int
cmd_members(struct ctl *ctl)
{
	static const char *const headers[] = { "NODE", "GENERATION", "ADDRESS",
	    "STATUS", "HEARTBEAT", "PHI", "LAST SEEN", "KEYS" };
	const char	*filter = ctl_has(ctl, "all") ? "all" :
			    ctl_has(ctl, "dead") ? "dead" : ctl_has(ctl, "left") ? "left" : "live";
	struct ctl_table *t;
	json_t		*res, *m;
	size_t		 i;
	int		 rc;

	rc = ctl_oneshot(ctl, "members", "members",
	    ctl_xjson(json_pack("{s:s}", "filter", filter)), &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl_json_done(ctl, res))
		return CTL_EXIT_OK;
	t = ctl_table_new(ctl, 8, headers);
	ctl_table_color_column(t, 3);
	json_array_foreach(json_object_get(res, "members"), i, m) {
		char	 gen[32], hb[32], phi[32], ago[32], keys[32];
		char	*id = ctl_escape_member(m, "node_id");
		char	*addr = ctl_escape_member(m, "address");
		char	*st = ctl_escape_member(m, "status");
		json_t	*p = json_object_get(m, "phi");
		const char *cells[8];

		if (json_is_number(p))
			snprintf(phi, sizeof(phi), "%.2f", json_number_value(p));
		else
			snprintf(phi, sizeof(phi), "-");
		format_ago(json_object_get(m, "last_heartbeat_ago_ms"), ago,
		    sizeof(ago));
		cells[0] = id;
		cells[1] = ctl_u64_member(m, "generation", gen, sizeof(gen));
		cells[2] = addr;
		cells[3] = st;
		cells[4] = ctl_u64_member(m, "heartbeat", hb, sizeof(hb));
		cells[5] = phi;
		cells[6] = ago;
		cells[7] = ctl_u64_member(m, "keys", keys, sizeof(keys));
		ctl_table_add(t, cells);
		free(id);
		free(addr);
		free(st);
	}
	ctl_table_print(t);
	json_decref(res);
	return CTL_EXIT_OK;
}

/* ---- get ------------------------------------------------------------------------ */

int
cmd_get_check(struct ctl *ctl)
{
	int rc;

	if ((rc = check_utf8(ctl, "KEY", ctl->args[0])) != CTL_EXIT_OK)
		return rc;
	if (ctl_has(ctl, "node"))
		return check_utf8(ctl, "--node", ctl_opt(ctl, "node"));
	return CTL_EXIT_OK;
}

int
cmd_get(struct ctl *ctl)
{
	const char	*node = ctl_opt(ctl, "node");
	json_t		*params, *res, *v;
	char		*what = describe("get", ctl->args[0], node);
	int		 rc;

	params = ctl_xjson(json_pack("{s:s}", "key", ctl->args[0]));
	if (node != NULL)
		json_object_set_new(params, "node", ctl_xjson(json_string(node)));
	rc = ctl_oneshot(ctl, what, "get", params, &res);
	free(what);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (ctl->json)
		ctl_print_json(res);
	else {
		v = json_object_get(res, "value");
		if (json_is_string(v))
			fwrite(json_string_value(v), 1, json_string_length(v),
			    stdout);
		putchar('\n');
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

/* ---- keys ----------------------------------------------------------------------- */

int
cmd_keys_check(struct ctl *ctl)
{
	int rc;

	if (ctl_has(ctl, "node") && ctl_has(ctl, "all"))
		return ctl_usage_error(ctl->cmd,
		    "keys: --node and --all exclude each other");
	if (ctl->nargs > 0 &&
	    (rc = check_utf8(ctl, "PREFIX", ctl->args[0])) != CTL_EXIT_OK)
		return rc;
	if (ctl_has(ctl, "node"))
		return check_utf8(ctl, "--node", ctl_opt(ctl, "node"));
	return CTL_EXIT_OK;
}

int
cmd_keys(struct ctl *ctl)
{
	static const char *const headers[] = { "NODE", "KEY", "VALUE",
	    "VERSION", "STATUS", "EXPIRES" };
	const char		*node = ctl_opt(ctl, "node");
	bool			 all = ctl_has(ctl, "all");
	struct ctl_table	*t;
	json_t			*params, *res, *nodes, *n, *e;
	char			*what;
	size_t			 i, k;
	int			 rc, off = all ? 0 : 1;

	params = ctl_xjson(json_pack("{s:s,s:b,s:b}", "prefix",
	    ctl->nargs > 0 ? ctl->args[0] : "", "all", all,
	    "include_deleted", ctl_has(ctl, "deleted")));
	if (node != NULL)
		json_object_set_new(params, "node", ctl_xjson(json_string(node)));
	what = describe("keys", ctl->nargs > 0 ? ctl->args[0] : "", node);
	rc = ctl_oneshot(ctl, what, "keys", params, &res);
	free(what);
	if (rc != CTL_EXIT_OK)
		return rc;
	/* one shape: {"nodes":[{"node":..., "entries":[...]}...]} */
	if ((nodes = json_object_get(res, "nodes")) != NULL)
		json_incref(nodes);
	else
		nodes = ctl_xjson(json_pack("[{s:O,s:O}]", "node",
		    json_object_get(res, "node"), "entries",
		    json_object_get(res, "entries")));
	json_decref(res);
	if (ctl->json) {
		res = ctl_xjson(json_pack("{s:o}", "nodes", nodes));
		ctl_print_json(res);
		json_decref(res);
		return CTL_EXIT_OK;
	}
	t = ctl_table_new(ctl, 6 - off, headers + off);
	ctl_table_color_column(t, 4 - off);
	json_array_foreach(nodes, i, n) {
		char *id = ctl_escape_member(json_object_get(n, "node"),
		    "node_id");

		json_array_foreach(json_object_get(n, "entries"), k, e) {
			char		 ver[32], exp[48];
			char		*key = ctl_escape_member(e, "key");
			char		*val = ctl_escape_member(e, "value");
			char		*st = ctl_escape_member(e, "status");
			const char	*cells[6] = { id, key, val,
					    ctl_u64_member(e, "version", ver,
					    sizeof(ver)), st, exp };

			format_expires(json_object_get(e, "expires_at_ms"), exp,
			    sizeof(exp));

			ctl_table_add(t, cells + off);
			free(key);
			free(val);
			free(st);
		}
		free(id);
	}
	ctl_table_print(t);
	json_decref(nodes);
	return CTL_EXIT_OK;
}

/* ---- metrics -------------------------------------------------------------------- */

int
cmd_metrics(struct ctl *ctl)
{
	json_t	*res, *text;
	int	 rc;

	if ((rc = ctl_oneshot(ctl, "metrics", "metrics", NULL, &res)) !=
	    CTL_EXIT_OK)
		return rc;
	text = json_object_get(res, "text");
	if (ctl->json)
		ctl_print_json(res);
	else if (json_is_string(text)) {
		size_t len = json_string_length(text);

		fwrite(json_string_value(text), 1, len, stdout);
		if (len > 0 && json_string_value(text)[len - 1] != '\n')
			putchar('\n');
	}
	json_decref(res);
	return CTL_EXIT_OK;
}
