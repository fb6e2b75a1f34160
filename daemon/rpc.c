/*
 * rpc.c: the JSON-RPC 2.0 method table and its handlers.
 *
 * One flat table maps a method name to a handler that gets the call
 * (daemon, client, params) and returns a result or fails with a row of
 * the error table (common/cc_ctlproto.c). Engine errno values become
 * JSON-RPC errors in one place, rpc_fail_errno(). Requests with an id get
 * exactly one response; notifications (no id) get none, even on error;
 * a batch gets an array of the responses (none if all were
 * notifications). Unknown members of params are ignored, so new optional
 * parameters never need a protocol bump. See docs/API.md for each method.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cc_ctlproto.h"
#include "cc_seal.h"
#include "ccd.h"
#include "config.h"
#include "control.h"
#include "keyring.h"
#include "leave.h"
#include "expiry.h"
#include "log.h"
#include "metrics.h"
#include "rpc.h"
#include "subscribe.h"

_Static_assert(CC_CTL_PROTOCOL == CCD_CONTROL_PROTOCOL, "one control protocol version");

struct rpc_call {
	struct ccd		*ccd;
	struct ctl_client	*client;
	json_t			*params;	/* borrowed; never NULL */
	bool			 failed;
	enum cc_ctl_err		 err;
	char			 why[256];
	json_t			*data;		/* extra error.data members, owned */
};

typedef json_t *(*rpc_fn)(struct rpc_call *);

static json_t *
rpc_fail(struct rpc_call *call, enum cc_ctl_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails the call: the handler returns this NULL. */
static json_t *
rpc_fail(struct rpc_call *call, enum cc_ctl_err err, const char *fmt, ...)
{
	va_list ap;

	call->failed = true;
	call->err = err;
	va_start(ap, fmt);
	vsnprintf(call->why, sizeof(call->why), fmt, ap);
	va_end(ap);
	return NULL;
}

/* The one place where an engine errno becomes a JSON-RPC error. */
static json_t *
rpc_fail_errno(struct rpc_call *call, int errnum, const char *what)
{
	switch (errnum) {
	case ENOENT:
		return rpc_fail(call, CC_CTL_ERR_NOT_FOUND, "%s", what);
	case EINVAL:
		return rpc_fail(call, CC_CTL_ERR_INVALID_KV, "%s", what);
	default:
		return rpc_fail(call, CC_CTL_ERR_INTERNAL, "%s", strerror(errnum));
	}
}

static json_t *
rpc_nomem(struct rpc_call *call)
{
	return rpc_fail(call, CC_CTL_ERR_INTERNAL, "out of memory");
}

/* ---- params ------------------------------------------------------------------ */

/* 1 if present, 0 if absent (and optional), -1 (call failed) otherwise. */
static int
param_string(struct rpc_call *call, const char *name, bool required,
    const char **s, size_t *len)
{
	json_t *j = json_object_get(call->params, name);

	if (j == NULL || json_is_null(j)) {
		if (!required)
			return 0;
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"%s\" is required", name);
		return -1;
	}
	if (!json_is_string(j)) {
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"%s\" must be a string", name);
		return -1;
	}
	*s = json_string_value(j);
	*len = json_string_length(j);
	return 1;
}

static int
param_bool(struct rpc_call *call, const char *name, bool *v)
{
	json_t *j = json_object_get(call->params, name);

	if (j == NULL || json_is_null(j))
		return 0;
	if (!json_is_boolean(j)) {
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"%s\" must be true or false", name);
		return -1;
	}
	*v = json_is_true(j);
	return 1;
}

static int
param_u64(struct rpc_call *call, const char *name, bool required, uint64_t *v)
{
	json_t *j = json_object_get(call->params, name);

	if (j == NULL || json_is_null(j)) {
		if (!required)
			return 0;
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"%s\" is required", name);
		return -1;
	}
	if (cc_ctl_get_u64(j, v) == -1) {
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"%s\" must be a non-negative integer", name);
		return -1;
	}
	return 1;
}

/* Whether n is a better match than best: dead first if asked, then the highest generation. */
static bool
better_match(struct ccd *ccd, const struct cc_node *n, const struct cc_node *best,
    bool prefer_dead)
{
	if (prefer_dead) {
		enum cc_liveness ln = cc_engine_liveness(ccd->engine, cc_node_id(n));
		enum cc_liveness lb = cc_engine_liveness(ccd->engine, cc_node_id(best));
		bool dn = ln == CC_LIVENESS_DEAD || ln == CC_LIVENESS_SCHEDULED;
		bool db = lb == CC_LIVENESS_DEAD || lb == CC_LIVENESS_SCHEDULED;

		if (dn != db)
			return dn;
	}
	return cc_node_id(n)->generation > cc_node_id(best)->generation;
}

/*
 * A duration: a string with a unit ("30s", "500ms", "2h", config.c's
 * syntax) or an integer of milliseconds; from 1 ms to max_ms.
 */
static int
param_duration(struct rpc_call *call, const char *name, uint64_t max_ms, uint64_t *ms)
{
	json_t *j = json_object_get(call->params, name);

	if (j == NULL || json_is_null(j))
		return 0;
	*ms = 0;
	if (json_is_string(j)) {
		/* a "\u0000" inside would end the parse early */
		if (strlen(json_string_value(j)) != json_string_length(j) ||
		    config_parse_duration(json_string_value(j), ms) == -1)
			*ms = 0;
	} else if (json_is_integer(j) && json_integer_value(j) > 0)
		*ms = (uint64_t)json_integer_value(j);
	if (*ms == 0 || *ms > max_ms) {
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"%s\" must be a duration "
		    "(\"30s\", \"500ms\", \"2h\") or an integer of milliseconds, "
		    "above 0 and at most 365d", name);
		return -1;
	}
	return 1;
}

/* rpc_fail() for functions returning a node. */
static const struct cc_node *
node_fail(struct rpc_call *call, enum cc_ctl_err err, const char *why)
{
	rpc_fail(call, err, "%s", why);
	return NULL;
}

/*
 * "node": absent (self), a node_id string, or {node_id, generation?,
 * address?}. Several replicas may share a node_id (restarts): the highest
 * generation wins, then the first in ChitchatId order. With prefer_dead,
 * the states that are not live here come first (force_leave: a restarted
 * node's old, dead incarnation rather than the live one).
 */
static const struct cc_node *
param_node_among(struct rpc_call *call, bool prefer_dead)
{
	json_t			*j = json_object_get(call->params, "node"), *v;
	const struct cc_node	*n, *best = NULL;
	const char		*node_id;
	size_t			 len;
	uint64_t		 gen = 0;
	bool			 has_gen = false, has_addr = false;
	struct cc_addr		 addr;

	if (j == NULL || json_is_null(j))
		return cc_engine_self_node(call->ccd->engine);
	if (json_is_string(j)) {
		node_id = json_string_value(j);
		len = json_string_length(j);
	} else if (json_is_object(j)) {
		if (!json_is_string(v = json_object_get(j, "node_id")))
			return node_fail(call, CC_CTL_ERR_INVALID_PARAMS,
			    "\"node\": \"node_id\" must be a string");
		node_id = json_string_value(v);
		len = json_string_length(v);
		if ((v = json_object_get(j, "generation")) != NULL && !json_is_null(v)) {
			if (cc_ctl_get_u64(v, &gen) == -1)
				return node_fail(call, CC_CTL_ERR_INVALID_PARAMS,
				    "\"node\": \"generation\" must be a non-negative integer");
			has_gen = true;
		}
		if ((v = json_object_get(j, "address")) != NULL && !json_is_null(v)) {
			if (!json_is_string(v) || cc_addr_parse(json_string_value(v), &addr) == -1)
				return node_fail(call, CC_CTL_ERR_INVALID_PARAMS,
				    "\"node\": \"address\" must be \"ip:port\" or \"[ip6]:port\"");
			has_addr = true;
		}
	} else
		return node_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"node\" must be a node_id string or an object");
	for (n = cc_engine_node_first(call->ccd->engine); n != NULL;
	    n = cc_engine_node_next(call->ccd->engine, n)) {
		const struct cc_id *id = cc_node_id(n);

		if (id->node_id_len != len || memcmp(id->node_id, node_id, len) != 0 ||
		    (has_gen && id->generation != gen) ||
		    (has_addr && !cc_addr_is_equal(&id->addr, &addr)))
			continue;
		if (best == NULL || better_match(call->ccd, n, best, prefer_dead))
			best = n;
	}
	if (best == NULL)
		return node_fail(call, CC_CTL_ERR_NOT_FOUND, "no such node");
	return best;
}

static const struct cc_node *
param_node(struct rpc_call *call)
{
	return param_node_among(call, false);
}

/* ---- shapes -------------------------------------------------------------------- */

const char *
rpc_status_name(enum cc_status st)
{
	switch (st) {
	case CC_STATUS_SET:
		return "set";
	case CC_STATUS_DELETED:
		return "deleted";
	case CC_STATUS_DELETE_AFTER_TTL:
		return "ttl_marked";
	}
	return "unknown";
}

const char *
rpc_liveness_name(enum cc_liveness l)
{
	switch (l) {
	case CC_LIVENESS_SELF:
		return "self";
	case CC_LIVENESS_LIVE:
		return "live";
	case CC_LIVENESS_DEAD:
		return "dead";
	case CC_LIVENESS_SCHEDULED:
		return "scheduled";
	}
	return "unknown";
}

enum rpc_member_status
rpc_member_status(struct ccd *ccd, const struct cc_node *n)
{
	enum cc_liveness l = cc_engine_liveness(ccd->engine, cc_node_id(n));

	if (l == CC_LIVENESS_SELF)
		return RPC_MEMBER_SELF;
	/* left until removed: its heartbeat may still move, then phi catches up */
	if (ccd_node_is_leaving(ccd->cfg, n))
		return RPC_MEMBER_LEFT;
	switch (l) {
	case CC_LIVENESS_LIVE:
		return RPC_MEMBER_LIVE;
	case CC_LIVENESS_SCHEDULED:
		return RPC_MEMBER_SCHEDULED;
	default:
		return RPC_MEMBER_DEAD;
	}
}

const char *
rpc_member_status_name(enum rpc_member_status st)
{
	switch (st) {
	case RPC_MEMBER_SELF:
		return "self";
	case RPC_MEMBER_LIVE:
		return "live";
	case RPC_MEMBER_DEAD:
		return "dead";
	case RPC_MEMBER_SCHEDULED:
		return "scheduled";
	case RPC_MEMBER_LEFT:
		return "left";
	}
	return "unknown";
}

int
rpc_set_node_fields(json_t *o, const struct cc_id *id)
{
	char addr[CC_ADDR_STRLEN];

	cc_addr_format(&id->addr, addr, sizeof(addr));
	if (json_object_set_new(o, "node_id", cc_ctl_string(id->node_id, id->node_id_len)) == -1 ||
	    json_object_set_new(o, "generation", cc_ctl_u64(id->generation)) == -1 ||
	    json_object_set_new(o, "address", json_string(addr)) == -1)
		return -1;
	return 0;
}

json_t *
rpc_node_json(const struct cc_id *id)
{
	json_t *o = json_object();

	if (o == NULL || rpc_set_node_fields(o, id) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
rpc_set_kv_fields(json_t *o, const struct cc_kv *kv)
{
	if (json_object_set_new(o, "key", cc_ctl_string(kv->key, kv->key_len)) == -1 ||
	    json_object_set_new(o, "value", cc_ctl_string(kv->value, kv->value_len)) == -1 ||
	    json_object_set_new(o, "version", cc_ctl_u64(kv->version)) == -1 ||
	    json_object_set_new(o, "status", json_string(rpc_status_name(kv->status))) == -1)
		return -1;
	return 0;
}

static json_t *
rpc_kv_json(const struct cc_kv *kv)
{
	json_t *o = json_object();

	if (o == NULL || rpc_set_kv_fields(o, kv) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
rpc_phi_json(struct ccd *ccd, const struct cc_id *id)
{
	double phi;

	if (cc_engine_phi(ccd->engine, id, &phi) && isfinite(phi))
		return json_real(phi);
	return json_null();
}

static json_t *
rpc_heartbeat_age_json(struct ccd *ccd, const struct cc_id *id)
{
	cc_mtime_t	t;
	uint64_t	now;

	if (!cc_engine_last_heartbeat_time(ccd->engine, id, &t))
		return json_null();
	now = ccd->control != NULL ? control_now(ccd->control) : ccd_now_ms();
	return cc_ctl_u64(now > t.ms ? now - t.ms : 0);
}

json_t *
rpc_member_json(struct ccd *ccd, const struct cc_node *n)
{
	const struct cc_id	*id = cc_node_id(n);
	json_t			*o;

	/* json_object_set_new() consumes the value even when it fails */
	if ((o = json_object()) == NULL || rpc_set_node_fields(o, id) == -1 ||
	    json_object_set_new(o, "status",
	    json_string(rpc_member_status_name(rpc_member_status(ccd, n)))) == -1 ||
	    json_object_set_new(o, "ready", json_boolean(subscribe_is_ready(ccd, id))) == -1 ||
	    json_object_set_new(o, "heartbeat", cc_ctl_u64(cc_node_heartbeat(n))) == -1 ||
	    json_object_set_new(o, "max_version", cc_ctl_u64(cc_node_max_version(n))) == -1 ||
	    json_object_set_new(o, "last_gc_version",
	    cc_ctl_u64(cc_node_last_gc_version(n))) == -1 ||
	    json_object_set_new(o, "phi", rpc_phi_json(ccd, id)) == -1 ||
	    json_object_set_new(o, "last_heartbeat_ago_ms", rpc_heartbeat_age_json(ccd, id)) == -1 ||
	    json_object_set_new(o, "keys", cc_ctl_u64(cc_node_num_visible(n))) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
rpc_members_json(struct ccd *ccd, enum rpc_members_filter filter)
{
	const struct cc_node	*n;
	json_t			*arr;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (n = cc_engine_node_first(ccd->engine); n != NULL;
	    n = cc_engine_node_next(ccd->engine, n)) {
		enum rpc_member_status st = rpc_member_status(ccd, n);

		if ((filter == RPC_MEMBERS_LIVE && st != RPC_MEMBER_SELF &&
		    st != RPC_MEMBER_LIVE) ||
		    (filter == RPC_MEMBERS_DEAD && st != RPC_MEMBER_DEAD &&
		    st != RPC_MEMBER_SCHEDULED) ||
		    (filter == RPC_MEMBERS_SCHEDULED && st != RPC_MEMBER_SCHEDULED) ||
		    (filter == RPC_MEMBERS_LEFT && st != RPC_MEMBER_LEFT))
			continue;
		if (json_array_append_new(arr, rpc_member_json(ccd, n)) == -1) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

void
rpc_count_members(struct ccd *ccd, struct rpc_member_counts *c)
{
	const struct cc_node *n;

	memset(c, 0, sizeof(*c));
	for (n = cc_engine_node_first(ccd->engine); n != NULL;
	    n = cc_engine_node_next(ccd->engine, n))
		switch (rpc_member_status(ccd, n)) {
		case RPC_MEMBER_SELF:
		case RPC_MEMBER_LIVE:
			c->live++;
			break;
		case RPC_MEMBER_DEAD:
			c->dead++;
			break;
		case RPC_MEMBER_SCHEDULED:
			c->scheduled++;
			break;
		case RPC_MEMBER_LEFT:
			c->left++;
			break;
		}
}

/* ---- methods ---------------------------------------------------------------------- */

static json_t *
rpc_hello(struct rpc_call *call)
{
	const struct cc_id	*self = cc_engine_self_id(call->ccd->engine);
	const char		*client = NULL;
	size_t			 len;
	uint64_t		 proto;

	if (param_u64(call, "protocol", true, &proto) == -1 ||
	    param_string(call, "client", false, &client, &len) == -1)
		return NULL;
	if (proto != CC_CTL_PROTOCOL) {
		call->client->close_after_reply = true;
		call->data = json_pack("{s:i}", "protocol", CC_CTL_PROTOCOL);
		log_debug("control: client %" PRIu64 ": protocol %" PRIu64 " refused",
		    call->client->id, proto);
		return rpc_fail(call, CC_CTL_ERR_PROTOCOL,
		    "this daemon speaks protocol %d, not %" PRIu64, CC_CTL_PROTOCOL, proto);
	}
	call->client->hello = true;
	if (client != NULL)
		log_debug("control: client %" PRIu64 ": hello from \"%.*s\"",
		    call->client->id, (int)(len > 64 ? 64 : len), client);
	return json_pack("{s:i,s:s,s:o,s:s,s:s}", "protocol", CC_CTL_PROTOCOL,
	    "version", CHITCHATD_VERSION,
	    "node_id", cc_ctl_string(self->node_id, self->node_id_len),
	    "cluster_id", cc_engine_cluster_id(call->ccd->engine),
	    "access", control_client_access(call->client) == CONTROL_MAY_WRITE ?
	    "write" : "read");
}

static json_t *
rpc_info(struct rpc_call *call)
{
	struct ccd		*ccd = call->ccd;
	const struct cc_id	*self = cc_engine_self_id(ccd->engine);
	const struct cc_node	*me = cc_engine_self_node(ccd->engine);
	uint64_t		 now = control_now(ccd->control);
	struct rpc_member_counts cnt;
	char			 addr[CC_ADDR_STRLEN];
	json_t			*o;

	rpc_count_members(ccd, &cnt);
	cc_addr_format(&self->addr, addr, sizeof(addr));
	o = json_pack("{s:o,s:o,s:s,s:s,s:o,s:o,s:s,s:i,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I},"
	    "s:I,s:I}",
	    "node_id", cc_ctl_string(self->node_id, self->node_id_len),
	    "generation", cc_ctl_u64(self->generation),
	    "gossip_address", addr,
	    "cluster_id", cc_engine_cluster_id(ccd->engine),
	    "heartbeat", cc_ctl_u64(cc_node_heartbeat(me)),
	    "max_version", cc_ctl_u64(cc_node_max_version(me)),
	    "version", CHITCHATD_VERSION,
	    "protocol", CC_CTL_PROTOCOL,
	    "uptime_s", (json_int_t)(now > ccd->start_ms ? (now - ccd->start_ms) / 1000 : 0),
	    "counts",
	    "nodes", (json_int_t)cc_engine_num_nodes(ccd->engine),
	    "live", (json_int_t)cnt.live,
	    "dead", (json_int_t)cnt.dead,
	    "scheduled", (json_int_t)cnt.scheduled,
	    "left", (json_int_t)cnt.left,
	    "ready", (json_int_t)subscribe_num_ready(ccd),
	    "keys", (json_int_t)cc_node_num_visible(me),
	    "expiring_keys", (json_int_t)expiry_pending(ccd->expiry),
	    "cached_peers_loaded", (json_int_t)ccd->counters.cached_peers_loaded);
	return o != NULL ? o : rpc_nomem(call);
}

static json_t *
rpc_members(struct rpc_call *call)
{
	static const struct {
		const char		*name;
		enum rpc_members_filter	 filter;
	} filters[] = {
		{ "all", RPC_MEMBERS_ALL }, { "live", RPC_MEMBERS_LIVE },
		{ "dead", RPC_MEMBERS_DEAD }, { "scheduled", RPC_MEMBERS_SCHEDULED },
		{ "left", RPC_MEMBERS_LEFT },
	};
	const char	*f = "all";
	size_t		 len, i;
	json_t		*arr;

	if (param_string(call, "filter", false, &f, &len) == -1)
		return NULL;
	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (strcmp(f, filters[i].name) == 0)
			break;
	if (i == sizeof(filters) / sizeof(filters[0]))
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"filter\" must be \"all\", \"live\", \"dead\", \"scheduled\" or \"left\"");
	if ((arr = rpc_members_json(call->ccd, filters[i].filter)) == NULL)
		return rpc_nomem(call);
	return json_pack("{s:o}", "members", arr);
}

static json_t *
rpc_get(struct rpc_call *call)
{
	const struct cc_node	*n;
	const struct cc_kv	*kv;
	const char		*key;
	size_t			 len;
	json_t			*o;

	if (param_string(call, "key", true, &key, &len) == -1 ||
	    (n = param_node(call)) == NULL)
		return NULL;
	if ((kv = cc_node_get(n, key, len)) == NULL)
		return rpc_fail(call, CC_CTL_ERR_NOT_FOUND, "no such key");
	if ((o = rpc_kv_json(kv)) == NULL || expiry_add_fields(call->ccd, n, kv, o) == -1 ||
	    json_object_set_new(o, "node", rpc_node_json(cc_node_id(n))) == -1) {
		json_decref(o);
		return rpc_nomem(call);
	}
	return o;
}

/* One entry of n for get and keys: expires_at_ms too, if it has a deadline. */
static json_t *
rpc_entry_json(struct ccd *ccd, const struct cc_node *n, const struct cc_kv *kv,
    bool deadlines)
{
	json_t *o = rpc_kv_json(kv);

	if (o != NULL && deadlines && expiry_add_fields(ccd, n, kv, o) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
rpc_node_entries(struct ccd *ccd, const struct cc_node *n, const char *prefix, size_t plen,
    bool deleted)
{
	const struct cc_kv	*kv;
	json_t			*arr = json_array();
	/* one look-up per node, not one per entry, when it has no deadline */
	bool			 deadlines = expiry_node_has_deadlines(ccd, n);

	if (arr == NULL)
		return NULL;
	for (kv = cc_node_prefix_first(n, prefix, plen, deleted); kv != NULL;
	    kv = cc_node_prefix_next(n, kv, prefix, plen, deleted))
		if (cc_ctl_key_is_listed(kv->key, kv->key_len, prefix, plen) &&
		    json_array_append_new(arr, rpc_entry_json(ccd, n, kv, deadlines)) == -1) {
			json_decref(arr);
			return NULL;
		}
	return json_pack("{s:o,s:o}", "node", rpc_node_json(cc_node_id(n)), "entries", arr);
}

static json_t *
rpc_keys(struct rpc_call *call)
{
	const struct cc_node	*n;
	const char		*prefix = "";
	size_t			 plen = 0;
	bool			 all = false, deleted = false;
	json_t			*arr, *o;

	if (param_string(call, "prefix", false, &prefix, &plen) == -1 ||
	    param_bool(call, "all", &all) == -1 ||
	    param_bool(call, "include_deleted", &deleted) == -1)
		return NULL;
	if (!all) {
		if ((n = param_node(call)) == NULL)
			return NULL;
		if ((o = rpc_node_entries(call->ccd, n, prefix, plen, deleted)) == NULL)
			return rpc_nomem(call);
		return o;
	}
	if ((o = json_object_get(call->params, "node")) != NULL && !json_is_null(o))
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"node\" and \"all\" cannot be used together");
	if ((arr = json_array()) == NULL)
		return rpc_nomem(call);
	for (n = cc_engine_node_first(call->ccd->engine); n != NULL;
	    n = cc_engine_node_next(call->ccd->engine, n))
		if (json_array_append_new(arr, rpc_node_entries(call->ccd, n, prefix, plen,
		    deleted)) == -1) {
			json_decref(arr);
			return rpc_nomem(call);
		}
	return json_pack("{s:o}", "nodes", arr);
}

/* {"version": v} of the own entry just written. */
static json_t *
rpc_own_version(struct rpc_call *call, const char *key, size_t len)
{
	const struct cc_kv *kv;

	kv = cc_node_get_versioned(cc_engine_self_node(call->ccd->engine), key, len);
	if (kv == NULL)
		return rpc_fail(call, CC_CTL_ERR_INTERNAL, "entry vanished");
	return json_pack("{s:o}", "version", cc_ctl_u64(kv->version));
}

/* Reserved keys belong to the daemon's extensions (cc_ctlproto.h). */
static json_t *
rpc_fail_reserved(struct rpc_call *call)
{
	return rpc_fail(call, CC_CTL_ERR_INVALID_KV,
	    "keys under \"" CC_RESERVED_PREFIX "\" are reserved for chitchatd");
}

/*
 * "ttl": true is chitchat's delete-after-TTL mark; "expires_in" is the
 * key-ttl extension's deadline (expiry.c). They exclude each other.
 */
static json_t *
rpc_set(struct rpc_call *call)
{
	struct ccd	*ccd = call->ccd;
	const char	*key, *value, *why = NULL;
	size_t		 klen, vlen;
	bool		 ttl = false;
	uint64_t	 expires_in = 0;
	int		 rc, has_expiry;

	if (param_string(call, "key", true, &key, &klen) == -1 ||
	    param_string(call, "value", true, &value, &vlen) == -1 ||
	    param_bool(call, "ttl", &ttl) == -1 ||
	    (has_expiry = param_duration(call, "expires_in", EXPIRY_MAX_MS, &expires_in)) == -1)
		return NULL;
	if (has_expiry && ttl)
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"expires_in\" and "
		    "\"ttl\" exclude each other (\"ttl\" is chitchat's delete-after-TTL mark)");
	if (has_expiry && (!CCD_HAS_EXT(ccd, CCD_EXT_KEY_TTL) || ccd->expiry == NULL))
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"expires_in\" needs the "
		    "key-ttl extension, which is off on this node (option extensions)");
	if (!cc_kv_is_valid(key, klen, value, vlen, &why))
		return rpc_fail(call, CC_CTL_ERR_INVALID_KV, "%s", why ? why : "refused");
	if (cc_ctl_key_is_reserved(key, klen))
		return rpc_fail_reserved(call);
	if (has_expiry) {
		if (expiry_set(ccd, key, klen, value, vlen, expires_in, &why) == -1)
			return why != NULL ? rpc_fail(call, CC_CTL_ERR_INVALID_KV, "%s", why) :
			    rpc_fail_errno(call, errno, "refused by the engine");
		return rpc_own_version(call, key, klen);
	}
	expiry_forget(ccd, key, klen);
	rc = ttl ? cc_engine_set_with_ttl(ccd->engine, key, klen, value, vlen) :
	    cc_engine_set(ccd->engine, key, klen, value, vlen);
	if (rc == -1)
		return rpc_fail_errno(call, errno, "refused by the engine");
	return rpc_own_version(call, key, klen);
}

static json_t *
rpc_delete_common(struct rpc_call *call, bool after_ttl)
{
	const char	*key;
	size_t		 len;
	int		 rc;

	if (param_string(call, "key", true, &key, &len) == -1)
		return NULL;
	if (cc_ctl_key_is_reserved(key, len))
		return rpc_fail_reserved(call);
	/* only visible keys: deleting a tombstone again would bump its version */
	if (cc_node_get(cc_engine_self_node(call->ccd->engine), key, len) == NULL)
		return rpc_fail(call, CC_CTL_ERR_NOT_FOUND, "no such key");
	/* the deadline goes first: this deletion must not look like an expiry */
	expiry_forget(call->ccd, key, len);
	rc = after_ttl ? cc_engine_delete_after_ttl(call->ccd->engine, key, len) :
	    cc_engine_delete(call->ccd->engine, key, len);
	if (rc == -1)
		return rpc_fail_errno(call, errno, "no such key");
	return rpc_own_version(call, key, len);
}

static json_t *
rpc_delete(struct rpc_call *call)
{
	return rpc_delete_common(call, false);
}

static json_t *
rpc_delete_after_ttl(struct rpc_call *call)
{
	return rpc_delete_common(call, true);
}

static json_t *
rpc_subscribe(struct rpc_call *call)
{
	const char		*topic = "keys", *prefix = "", *why = NULL;
	size_t			 tlen, plen = 0;
	enum subscribe_topic	 t;
	enum cc_ctl_err		 err;
	json_t			*res;

	if (param_string(call, "topic", false, &topic, &tlen) == -1 ||
	    param_string(call, "prefix", false, &prefix, &plen) == -1)
		return NULL;
	if (strcmp(topic, "keys") == 0)
		t = SUBSCRIBE_KEYS;
	else if (strcmp(topic, "members") == 0)
		t = SUBSCRIBE_MEMBERS;
	else
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"topic\" must be \"keys\" or \"members\"");
	if ((res = subscribe_add(call->ccd, call->client, t, prefix, plen, &err, &why)) == NULL)
		return rpc_fail(call, err, "%s", why);
	return res;
}

static json_t *
rpc_unsubscribe(struct rpc_call *call)
{
	uint64_t id;

	if (param_u64(call, "subscription", true, &id) == -1)
		return NULL;
	if (subscribe_remove(call->ccd, call->client, id) == -1)
		return rpc_fail(call, CC_CTL_ERR_NOT_FOUND, "no such subscription");
	return json_pack("{s:o}", "subscription", cc_ctl_u64(id));
}

static json_t *
rpc_leave(struct rpc_call *call)
{
	uint64_t in_ms;

	if (leave_start(call->ccd, "leave requested on the control socket", &in_ms) == -1) {
		if (errno == ENOTSUP)
			return rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED,
			    "the leave extension is off (option extensions)");
		if (errno == EALREADY)
			return rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED, "this node is already leaving");
		return rpc_fail_errno(call, errno, "cannot announce the leave");
	}
	/* the reply is queued now; the loop sends it during the wait */
	return json_pack("{s:o}", "leaving_in_ms", cc_ctl_u64(in_ms));
}

static json_t *
rpc_force_leave(struct rpc_call *call)
{
	const struct cc_node	*n;
	json_t			*node, *j = json_object_get(call->params, "node");
	uint64_t		 fence;

	if (!CCD_HAS_EXT(call->ccd, CCD_EXT_FORCE_LEAVE))
		return rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED,
		    "the force-leave extension is off (option extensions)");
	if (j == NULL || json_is_null(j))
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS, "\"node\" is required");
	if ((n = param_node_among(call, true)) == NULL)
		return NULL;
	/* n is freed by the force-leave: its id is copied first */
	if ((node = rpc_node_json(cc_node_id(n))) == NULL)
		return rpc_nomem(call);
	if (leave_force(call->ccd, n, &fence) == 0)
		return json_pack("{s:o,s:o}", "removed", node, "fence_heartbeat",
		    cc_ctl_u64(fence));
	json_decref(node);
	switch (errno) {
	case EBUSY:
		return rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED,
		    "this node cannot force itself out (use leave)");
	case EAGAIN:
		return rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED,
		    "node is live; only dead nodes can be forced out");
	case EINVAL:
		return rpc_fail(call, CC_CTL_ERR_INVALID_KV,
		    "node_id too long for a force-leave request key");
	default:
		return rpc_fail_errno(call, errno, "force-leave");
	}
}

static json_t *
rpc_metrics(struct rpc_call *call)
{
	char	*text;
	size_t	 len;
	json_t	*o;

	if ((text = metrics_format(call->ccd, &len)) == NULL)
		return rpc_nomem(call);
	o = json_pack("{s:s%}", "text", text, len);
	free(text);
	return o;
}

/* ---- gossip encryption keys ---------------------------------------------------------- */

/*
 * Key ids only, never key material: the control socket may be open to a
 * group that must not be able to join the cluster.
 */
static json_t *
rpc_keyring_json(struct rpc_call *call)
{
	const struct gossip	*g = &call->ccd->gossip;
	json_t			*arr = json_array();
	char			 id[CC_KEY_ID_LEN + 1];

	if (arr == NULL)
		return rpc_nomem(call);
	for (size_t i = 0; g->encryption != GOSSIP_ENC_OFF && i < g->keyring.n; i++) {
		cc_key_id(g->keyring.keys[i], id);
		if (json_array_append_new(arr, json_pack("{s:s,s:b}", "key_id", id,
		    "primary", i == 0)) == -1) {
			json_decref(arr);
			return rpc_nomem(call);
		}
	}
	return json_pack("{s:s,s:o}", "encryption", gossip_encryption_name(g->encryption),
	    "keys", arr);
}

static json_t *
rpc_keys_list(struct rpc_call *call)
{
	return rpc_keyring_json(call);
}

/* The write methods need a keyring: -1 (call failed) when encryption is off. */
static int
keyring_needed(struct rpc_call *call)
{
	if (call->ccd->gossip.encryption != GOSSIP_ENC_OFF && call->ccd->cfg != NULL &&
	    call->ccd->cfg->keyring != NULL)
		return 0;
	rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED, "encryption is off (it needs encryption = "
	    "upshift or on, a keyring, and a restart)");
	return -1;
}

/* params.key as a key (base64); wiped by the caller. */
static int
param_key(struct rpc_call *call, uint8_t key[CC_KEY_LEN])
{
	const char	*s;
	size_t		 len;

	if (param_string(call, "key", true, &s, &len) == -1)
		return -1;
	if (cc_key_from_base64(s, len, key) == -1) {
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"key\" must be a key: 32 bytes in base64 (chitchatctl keygen)");
		return -1;
	}
	return 0;
}

/* params.key as a key or a key id: the index of that key in the keyring. */
static int
param_key_index(struct rpc_call *call, size_t *index)
{
	const struct cc_keyring	*kr = &call->ccd->gossip.keyring;
	uint8_t			 key[CC_KEY_LEN];
	const char		*s;
	size_t			 len;
	int			 i;

	if (param_string(call, "key", true, &s, &len) == -1)
		return -1;
	if (cc_key_id_is_valid(s, len))
		i = cc_keyring_find_id(kr, s, len);
	else if (cc_key_from_base64(s, len, key) == 0) {
		i = cc_keyring_find(kr, key);
		sodium_memzero(key, sizeof(key));
	} else {
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "\"key\" must be a key (base64) or a key id (16 hex digits)");
		return -1;
	}
	if (i == -1) {
		rpc_fail(call, CC_CTL_ERR_NOT_FOUND, "no such key in the keyring");
		return -1;
	}
	*index = (size_t)i;
	return 0;
}

/*
 * Saves next to the keyring file, then runs it: a change that cannot be
 * saved is not made, so a restart always comes back with the running keys.
 */
static json_t *
rpc_keyring_commit(struct rpc_call *call, const struct cc_keyring *next, const char *what,
    const uint8_t key[CC_KEY_LEN])
{
	struct ccd	*ccd = call->ccd;
	char		*cause = NULL, id[CC_KEY_ID_LEN + 1];

	cc_key_id(key, id);
	if (keyring_save(ccd->cfg->keyring, next, &cause) == -1) {
		log_warnx("keyring: %s key %s: not saved, not done: %s", what, id,
		    cause != NULL ? cause : "?");
		rpc_fail(call, CC_CTL_ERR_INTERNAL, "cannot save the keyring: %s",
		    cause != NULL ? cause : "?");
		free(cause);
		return NULL;
	}
	gossip_set_encryption(&ccd->gossip, ccd->gossip.encryption, next);
	log_info("keyring: %s key %s (%zu key%s, saved to %s)", what, id, next->n,
	    next->n == 1 ? "" : "s", ccd->cfg->keyring);
	return rpc_keyring_json(call);
}

static json_t *
rpc_keys_install(struct rpc_call *call)
{
	struct cc_keyring	 next;
	uint8_t			 key[CC_KEY_LEN];
	json_t			*res = NULL;

	if (keyring_needed(call) == -1 || param_key(call, key) == -1)
		return NULL;
	next = call->ccd->gossip.keyring;
	if (cc_keyring_find(&next, key) != -1)
		res = rpc_keyring_json(call);		/* already there: nothing to do */
	else if (cc_keyring_add(&next, key) == -1)
		rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "the keyring is full (%d keys): remove one first", CC_KEYRING_MAX);
	else
		res = rpc_keyring_commit(call, &next, "installed", key);
	cc_keyring_clear(&next);
	sodium_memzero(key, sizeof(key));
	return res;
}

static json_t *
rpc_keys_use(struct rpc_call *call)
{
	struct cc_keyring	 next;
	size_t			 i;
	json_t			*res;

	if (keyring_needed(call) == -1 || param_key_index(call, &i) == -1)
		return NULL;
	if (i == 0)
		return rpc_keyring_json(call);		/* already the primary */
	next = call->ccd->gossip.keyring;
	(void)cc_keyring_use(&next, i);
	res = rpc_keyring_commit(call, &next, "now using", next.keys[0]);
	cc_keyring_clear(&next);
	return res;
}

static json_t *
rpc_keys_remove(struct rpc_call *call)
{
	struct cc_keyring	 next;
	uint8_t			 key[CC_KEY_LEN];
	size_t			 i;
	json_t			*res;

	if (keyring_needed(call) == -1 || param_key_index(call, &i) == -1)
		return NULL;
	if (i == 0)
		return rpc_fail(call, CC_CTL_ERR_INVALID_PARAMS,
		    "the primary key cannot be removed: make another key primary first "
		    "(keys_use)");
	next = call->ccd->gossip.keyring;
	memcpy(key, next.keys[i], sizeof(key));
	(void)cc_keyring_remove(&next, i);
	res = rpc_keyring_commit(call, &next, "removed", key);
	cc_keyring_clear(&next);
	sodium_memzero(key, sizeof(key));
	return res;
}

/*
 * Each row says whether the method writes (changes the node's or the
 * cluster's state): write methods are refused on the read-only socket and
 * to clients outside control-write-users/-groups (control_client_access).
 * RPC_WRITE is 0, so a row that forgot the field would fail closed; -Wextra
 * (missing-field-initializers) refuses such a row anyway.
 */
enum rpc_access {
	RPC_WRITE,
	RPC_READ,
};

static const struct rpc_method {
	const char	*name;
	rpc_fn		 fn;
	enum rpc_access	 access;
} rpc_methods[] = {
	{ "hello",		rpc_hello,		RPC_READ },
	{ "info",		rpc_info,		RPC_READ },
	{ "members",		rpc_members,		RPC_READ },
	{ "get",		rpc_get,		RPC_READ },
	{ "keys",		rpc_keys,		RPC_READ },
	{ "set",		rpc_set,		RPC_WRITE },
	{ "delete",		rpc_delete,		RPC_WRITE },
	{ "delete_after_ttl",	rpc_delete_after_ttl,	RPC_WRITE },
	{ "subscribe",		rpc_subscribe,		RPC_READ },
	{ "unsubscribe",	rpc_unsubscribe,	RPC_READ },
	{ "metrics",		rpc_metrics,		RPC_READ },
	{ "keys_list",		rpc_keys_list,		RPC_READ },
	/* they change the gossip keyring and its file */
	{ "keys_install",	rpc_keys_install,	RPC_WRITE },
	{ "keys_use",		rpc_keys_use,		RPC_WRITE },
	{ "keys_remove",	rpc_keys_remove,	RPC_WRITE },
	/* leaving the cluster */
	{ "leave",		rpc_leave,		RPC_WRITE },
	{ "force_leave",	rpc_force_leave,	RPC_WRITE },
};

static const struct rpc_method *
rpc_method_find(const char *name)
{
	for (size_t i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++)
		if (strcmp(name, rpc_methods[i].name) == 0)
			return &rpc_methods[i];
	return NULL;
}

int
rpc_method_writes(const char *name)
{
	const struct rpc_method *m = rpc_method_find(name);

	return m == NULL ? -1 : m->access == RPC_WRITE;
}

/* A write method c may not call: counted, logged (rate-limited), refused. */
static void
rpc_check_access(struct rpc_call *call, const struct rpc_method *m)
{
	enum control_access why;

	if (m->access != RPC_WRITE ||
	    (why = control_client_access(call->client)) == CONTROL_MAY_WRITE)
		return;
	control_client_denied(call->client, m->name, why);
	if (why == CONTROL_READONLY_SOCKET)
		rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED,
		    "%s is a write method and this socket is read-only", m->name);
	else if (call->client->has_creds)
		rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED, "uid %lu may not call the write "
		    "method %s (see control-write-users, control-write-groups)",
		    (unsigned long)call->client->uid, m->name);
	else
		rpc_fail(call, CC_CTL_ERR_NOT_ALLOWED, "%s: unknown peer credentials may not "
		    "call write methods (see control-write-users)", m->name);
}

/* ---- dispatch ---------------------------------------------------------------------- */

static json_t *
rpc_error_reply(struct ccd *ccd, const json_t *id, enum cc_ctl_err err,
    const char *why, json_t *data)
{
	json_t *e;

	ccd->counters.request_errors++;
	if ((e = cc_ctl_error_new(err, why != NULL && why[0] != '\0' ? why : NULL)) == NULL) {
		json_decref(data);
		return NULL;
	}
	if (data != NULL) {
		json_t *d = json_object_get(e, "data");

		if (d == NULL)
			json_object_set_new(e, "data", data);
		else {
			json_object_update(d, data);
			json_decref(data);
		}
	}
	return cc_ctl_error_response_new(id, e);
}

json_t *
rpc_handle_message(struct ccd *ccd, struct ctl_client *client, json_t *msg)
{
	struct cc_ctl_request	 req;
	struct rpc_call		 call;
	const struct rpc_method	*m;
	enum cc_ctl_err		 err;
	const char		*why;
	json_t			*result, *empty = NULL, *reply;

	ccd->counters.requests++;
	if (cc_ctl_request_parse(msg, &req, &err, &why) == -1)
		return rpc_error_reply(ccd, req.id, err, why, NULL);
	m = rpc_method_find(req.method);
	memset(&call, 0, sizeof(call));
	call.ccd = ccd;
	call.client = client;
	if (m == NULL)
		rpc_fail(&call, CC_CTL_ERR_METHOD_NOT_FOUND, "no method \"%.64s\"", req.method);
	else if (client->close_after_reply)
		rpc_fail(&call, CC_CTL_ERR_NOT_ALLOWED, "the connection is closing");
	else if (ccd->engine == NULL)
		rpc_fail(&call, CC_CTL_ERR_INTERNAL, "the engine is not running");
	else if (m->access == RPC_WRITE && ccd->leaving)
		/* what is written now would hardly spread before we are gone */
		rpc_fail(&call, CC_CTL_ERR_NOT_ALLOWED,
		    "this node is leaving the cluster: no more changes");
	else
		rpc_check_access(&call, m);
	result = NULL;
	if (!call.failed) {
		if (req.params == NULL && (req.params = empty = json_object()) == NULL)
			rpc_nomem(&call);
		else {
			call.params = req.params;
			if ((result = m->fn(&call)) == NULL && !call.failed)
				rpc_nomem(&call);
		}
	}
	json_decref(empty);
	if (req.id == NULL) {
		/* a notification: no reply, even for an error */
		if (result == NULL)
			ccd->counters.request_errors++;
		json_decref(result);
		json_decref(call.data);
		return NULL;
	}
	if (result == NULL)
		return rpc_error_reply(ccd, req.id, call.err, call.why, call.data);
	reply = cc_ctl_response_new(req.id, result);
	json_decref(call.data);
	return reply;
}

static bool
rpc_is_blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	return true;
}

void
rpc_handle_line(struct ccd *ccd, struct ctl_client *client, const char *line, size_t len)
{
	char	 why[160];
	json_t	*msg, *reply = NULL;

	if (rpc_is_blank(line, len))
		return;
	if ((msg = cc_ctl_decode(line, len, why, sizeof(why))) == NULL) {
		ccd->counters.requests++;
		ccd->counters.parse_errors++;
		reply = rpc_error_reply(ccd, NULL, CC_CTL_ERR_PARSE, why, NULL);
	} else if (json_is_array(msg)) {
		if (json_array_size(msg) == 0) {
			ccd->counters.requests++;
			reply = rpc_error_reply(ccd, NULL, CC_CTL_ERR_INVALID_REQUEST,
			    "empty batch", NULL);
		} else if ((reply = json_array()) != NULL) {
			size_t	 i;
			json_t	*elem;

			json_array_foreach(msg, i, elem) {
				json_t *r = rpc_handle_message(ccd, client, elem);

				if (r != NULL)
					json_array_append_new(reply, r);
			}
			if (json_array_size(reply) == 0) {
				json_decref(reply);
				reply = NULL;	/* only notifications */
			}
		}
	} else
		reply = rpc_handle_message(ccd, client, msg);
	if (reply != NULL)
		control_client_reply(client, reply);
	json_decref(reply);
	json_decref(msg);
}
