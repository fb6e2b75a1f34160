/*
 * wait.c: `wait --members N` and `wait --key KEY[=VALUE]`: block until a
 * condition holds, for scripts that must not start before the cluster is
 * ready. Exit 0 when it holds, 5 when --timeout passes first.
 *
 * No polling: one subscription (docs/API.md) whose snapshot says whether
 * the condition already holds and whose notifications say when it starts
 * to. Members count as in `info`'s "ready": nodes in the published live
 * set (live, and carrying every --required-key of the daemon), this node
 * included. A key counts while it is visible ("set" or "ttl_marked").
 *
 * Silent; with --json one object:
 *   {"condition":"members","met":B,"members":N,"waited_ms":T}
 *   {"condition":"key","met":B,"key":K,"entry":RECORD|null,"waited_ms":T}
 * where RECORD is the entry as `watch keys --json` prints it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "cc_ctlproto.h"
#include "cc_wire.h"
#include "chitchatctl.h"

struct member {
	char	*id;		/* [node_id, generation, address] encoded */
	bool	 ready;
};

struct wait {
	struct ctl	*ctl;
	int64_t		 start;
	int64_t		 deadline;	/* -1: none */
	/* --members */
	long long	 want;
	struct member	*members;
	size_t		 nmembers;
	size_t		 nready;
	/* --key */
	char		*key;
	const char	*value;		/* NULL: any value */
	const char	*node;		/* NULL: self, unless all */
	bool		 all;
	json_t		*self_gen;	/* this node's generation */
	const char	*self_id;
	json_t		*found;		/* the matching entry */
};

int
cmd_wait_check(struct ctl *ctl)
{
	const char	*m = ctl_opt(ctl, "members"), *k = ctl_opt(ctl, "key");
	const char	*node = ctl_opt(ctl, "node"), *eq, *why;
	long long	 n;

	if (m == NULL && k == NULL)
		return ctl_usage_error(ctl->cmd, "wait: --members N or "
		    "--key KEY[=VALUE] is needed");
	if (m != NULL && k != NULL)
		return ctl_usage_error(ctl->cmd,
		    "wait: --members and --key exclude each other");
	if (m != NULL && ctl_parse_int(m, 1, 1000000, &n) == -1)
		return ctl_usage_error(ctl->cmd, "wait: --members: not a number "
		    "from 1 to 1000000: %s", m);
	if (m != NULL && (node != NULL || ctl_has(ctl, "all")))
		return ctl_usage_error(ctl->cmd,
		    "wait: --node and --all go with --key");
	if (node != NULL && ctl_has(ctl, "all"))
		return ctl_usage_error(ctl->cmd,
		    "wait: --node and --all exclude each other");
	if (node != NULL && !cc_utf8_is_valid(node, strlen(node)))
		return ctl_usage_error(ctl->cmd,
		    "wait: --node is not valid UTF-8");
	if (k != NULL) {
		eq = strchr(k, '=');
		if (!cc_kv_is_valid(k, eq != NULL ? (size_t)(eq - k) : strlen(k),
		    eq != NULL ? eq + 1 : "", eq != NULL ? strlen(eq + 1) : 0,
		    &why))
			return ctl_usage_error(ctl->cmd, "wait: --key: %s", why);
	}
	return CTL_EXIT_OK;
}

/* ---- members ---------------------------------------------------------------------- */

static char *
member_id(const json_t *o)
{
	json_t	*a = ctl_xjson(json_pack("[OOO]",
		    json_object_get(o, "node_id") ? json_object_get(o, "node_id") :
		    json_null(), json_object_get(o, "generation") ?
		    json_object_get(o, "generation") : json_null(),
		    json_object_get(o, "address") ? json_object_get(o, "address") :
		    json_null()));
	char	*s = cc_ctl_encode(a, NULL);

	json_decref(a);
	if (s == NULL) {
		ctl_warnx("out of memory");
		exit(CTL_EXIT_FAIL);
	}
	return s;
}

/* Sets (or, with remove, drops) one node's readiness. */
static void
member_set(struct wait *w, const json_t *o, bool ready, bool remove)
{
	char	*id = member_id(o);
	size_t	 i;

	for (i = 0; i < w->nmembers; i++)
		if (strcmp(w->members[i].id, id) == 0)
			break;
	if (i == w->nmembers) {
		if (remove) {
			free(id);
			return;
		}
		w->members = realloc(w->members, (w->nmembers + 1) *
		    sizeof(*w->members));
		if (w->members == NULL) {
			ctl_warnx("out of memory");
			exit(CTL_EXIT_FAIL);
		}
		w->members[w->nmembers].id = id;
		w->members[w->nmembers++].ready = false;
		id = NULL;
	}
	free(id);
	if (w->members[i].ready)
		w->nready--;
	if (remove) {
		free(w->members[i].id);
		w->members[i] = w->members[--w->nmembers];
		return;
	}
	w->members[i].ready = ready;
	if (ready)
		w->nready++;
}

static void
member_event(struct wait *w, const json_t *p)
{
	const char *ev = json_string_value(json_object_get(p, "event"));

	if (ev == NULL)
		return;
	if (strcmp(ev, "joined") == 0 || strcmp(ev, "updated") == 0)
		member_set(w, p, true, false);
	else if (strcmp(ev, "removed") == 0)
		member_set(w, p, false, true);
	else if (strcmp(ev, "reset") != 0)
		member_set(w, p, false, false);	/* added, left, dead, scheduled */
}

/* ---- keys ------------------------------------------------------------------------- */

/* Whether entry e (node id fields + entry fields) satisfies --key. */
static bool
key_matches(const struct wait *w, const json_t *node, const json_t *e,
    const char *status)
{
	const json_t	*k = json_object_get(e, "key");
	const json_t	*v = json_object_get(e, "value");
	const json_t	*id = json_object_get(node, "node_id");
	uint64_t	 g1, g2;

	if (strcmp(status, "set") != 0 && strcmp(status, "ttl_marked") != 0)
		return false;
	if (!json_is_string(k) || strlen(w->key) != json_string_length(k) ||
	    memcmp(w->key, json_string_value(k), json_string_length(k)) != 0)
		return false;
	if (w->value != NULL && (!json_is_string(v) ||
	    strlen(w->value) != json_string_length(v) ||
	    memcmp(w->value, json_string_value(v), json_string_length(v)) != 0))
		return false;
	if (w->all)
		return true;
	if (w->node != NULL)
		return json_is_string(id) &&
		    strcmp(json_string_value(id), w->node) == 0 &&
		    strlen(w->node) == json_string_length(id);
	return json_is_string(id) && w->self_id != NULL &&
	    strcmp(json_string_value(id), w->self_id) == 0 &&
	    cc_ctl_get_u64(json_object_get(node, "generation"), &g1) == 0 &&
	    cc_ctl_get_u64(w->self_gen, &g2) == 0 && g1 == g2;
}

/* The watch-style record of a match. */
static json_t *
key_found(const json_t *node, const json_t *e, const char *status)
{
	return ctl_xjson(json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:s}",
	    "node_id", json_object_get(node, "node_id"),
	    "generation", json_object_get(node, "generation"),
	    "address", json_object_get(node, "address"),
	    "key", json_object_get(e, "key"),
	    "value", json_object_get(e, "value"),
	    "version", json_object_get(e, "version"),
	    "status", status));
}

static void
key_entry(struct wait *w, const json_t *node, const json_t *e,
    const char *status)
{
	if (w->found == NULL && status != NULL &&
	    key_matches(w, node, e, status))
		w->found = key_found(node, e, status);
}

static void
key_notification(struct wait *w, const char *method, const json_t *p)
{
	const json_t	*e;
	size_t		 i;

	const json_t	*entries = json_object_get(p, "entries");

	if (strcmp(method, CC_CTL_KEY_CHANGED) == 0) {
		key_entry(w, p, p, json_string_value(json_object_get(p,
		    "event")));
		return;
	}
	if (strcmp(method, CC_CTL_KEYS_RESET) != 0)
		return;
	for (i = 0; i < json_array_size(entries); i++) {
		e = json_array_get(entries, i);
		key_entry(w, p, e, json_string_value(json_object_get(e,
		    "status")));
	}
}

/* ---- the loop ------------------------------------------------------------------------ */

static bool
met(const struct wait *w)
{
	return w->key != NULL ? w->found != NULL :
	    (long long)w->nready >= w->want;
}

static int
finish(struct wait *w, bool ok)
{
	int64_t	 waited = ctl_now_ms() - w->start;
	json_t	*o;

	if (w->ctl->json) {
		if (w->key != NULL)
			o = json_pack("{s:s,s:b,s:s,s:O,s:I}", "condition", "key",
			    "met", ok, "key", w->key, "entry",
			    w->found != NULL ? w->found : json_null(),
			    "waited_ms", (json_int_t)waited);
		else
			o = json_pack("{s:s,s:b,s:I,s:I}", "condition",
			    "members", "met", ok, "members",
			    (json_int_t)w->nready, "waited_ms",
			    (json_int_t)waited);
		ctl_print_json(ctl_xjson(o));
		json_decref(o);
	}
	if (ok)
		return CTL_EXIT_OK;
	if (w->key != NULL) {
		char *k = ctl_escape(w->key, strlen(w->key));

		ctl_warnx("wait: timed out after %lld ms: %s is not set%s%s%s",
		    (long long)waited, k, w->value != NULL ? " to the value" : "",
		    w->all ? " on any node" : w->node != NULL ? " on " : "",
		    w->node != NULL ? w->node : "");
		free(k);
	} else
		ctl_warnx("wait: timed out after %lld ms: %zu of %lld members "
		    "live", (long long)waited, w->nready, w->want);
	return CTL_EXIT_TIMEOUT;
}

static int
wait_loop(struct wait *w, struct ctl_conn *c)
{
	struct cc_ctl_reply	 r;
	json_t			*msg;

	while (!met(w)) {
		if (ctl_conn_next(c, w->deadline, NULL, &msg) == -1) {
			if (errno == ETIMEDOUT)
				return finish(w, false);
			if (errno == ECONNRESET)
				ctl_warnx("wait: the daemon closed the connection");
			else
				ctl_warnx("wait: %s: %s", w->ctl->socket,
				    strerror(errno));
			return CTL_EXIT_CONNECT;
		}
		if (cc_ctl_reply_parse(msg, &r) == 0 &&
		    r.kind == CC_CTL_NOTIFICATION) {
			if (strcmp(r.method, CC_CTL_LAGGED) == 0) {
				json_decref(msg);
				ctl_warnx("wait: the daemon dropped the "
				    "subscription (it fell behind)");
				return CTL_EXIT_FAIL;
			}
			if (w->key != NULL)
				key_notification(w, r.method, r.params);
			else if (strcmp(r.method, CC_CTL_MEMBER_CHANGED) == 0)
				member_event(w, r.params);
		}
		json_decref(msg);
	}
	return finish(w, true);
}

static int
subscribe(struct wait *w, struct ctl_conn *c)
{
	json_t	*params, *res, *e;
	size_t	 i;
	int	 rc;

	if (w->key != NULL && !w->all && w->node == NULL) {
		/* this node: its id and generation */
		rc = ctl_call(c, "wait: info", "info", NULL, &res, w->deadline);
		if (rc != CTL_EXIT_OK)
			return rc == CTL_EXIT_TIMEOUT ? finish(w, false) : rc;
		w->self_gen = json_incref(json_object_get(res, "generation"));
		w->self_id = ctl_xstrdup(json_string_value(json_object_get(res,
		    "node_id")) != NULL ? json_string_value(json_object_get(res,
		    "node_id")) : "");
		json_decref(res);
	}
	params = w->key != NULL ? json_pack("{s:s,s:s}", "topic", "keys",
	    "prefix", w->key) : json_pack("{s:s}", "topic", "members");
	rc = ctl_call(c, "wait: subscribe", "subscribe", ctl_xjson(params), &res,
	    w->deadline);
	if (rc != CTL_EXIT_OK)
		return rc == CTL_EXIT_TIMEOUT ? finish(w, false) : rc;
	json_array_foreach(json_object_get(res, "snapshot"), i, e) {
		if (w->key != NULL)
			key_entry(w, e, e, json_string_value(json_object_get(e,
			    "status")));
		else
			member_set(w, e, json_is_true(json_object_get(e,
			    "ready")), false);
	}
	json_decref(res);
	return wait_loop(w, c);
}

int
cmd_wait(struct ctl *ctl)
{
	struct wait	 w;
	struct ctl_conn	 c;
	const char	*k = ctl_opt(ctl, "key"), *eq;
	int		 rc;

	memset(&w, 0, sizeof(w));
	w.ctl = ctl;
	w.start = ctl_now_ms();
	w.deadline = ctl->timeout_ms > 0 ? w.start + ctl->timeout_ms : -1;
	if (k != NULL) {
		eq = strchr(k, '=');
		w.key = ctl_xstrdup(k);
		if (eq != NULL) {
			w.key[eq - k] = '\0';
			w.value = eq + 1;
		}
		w.node = ctl_opt(ctl, "node");
		w.all = ctl_has(ctl, "all");
	} else
		(void)ctl_parse_int(ctl_opt(ctl, "members"), 1, 1000000, &w.want);
	rc = ctl_connect(ctl, &c, w.deadline);
	if (rc == CTL_EXIT_OK) {
		rc = subscribe(&w, &c);
		ctl_conn_close(&c);
	} else if (rc == CTL_EXIT_TIMEOUT)
		rc = finish(&w, false);
	for (size_t i = 0; i < w.nmembers; i++)
		free(w.members[i].id);
	free(w.members);
	free(w.key);
	free((char *)w.self_id);
	json_decref(w.self_gen);
	json_decref(w.found);
	return rc;
}
