/*
 * check_expiry.c: keys that expire (daemon/expiry.c, extension key-ttl),
 * without sockets and on simulated time.
 *
 * First the deadline bookkeeping alone (earliest first, replace, cancel,
 * ties in schedule order). Then three engines on a memnet (a deterministic
 * in-memory network on a fake clock), each the engine of a daemon of its
 * own (struct ccd, control, subscriptions, detached clients): node 0 owns
 * the keys, node 1 runs the extension, node 2 has it off (extensions =
 * none), as a Rust peer would. Expiries run when the test calls
 * expiry_run() after moving the simulated clock, so every check is exact.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "cc_ctlproto.h"
#include "../../daemon/ccd.h"
#include "../../daemon/control.h"
#include "../../daemon/expiry.h"
#include "../../daemon/log.h"
#include "memnet.h"
#include "testutil.h"

#define NODES	3
#define OWNER	0
#define PEER	1
#define PLAIN	2	/* extensions = none */

struct daemon {
	struct ccd_config	 cfg;
	struct ccd		 ccd;
	struct ctl_client	*c;
	struct ctl_client	*sub;		/* subscribed to "" */
	json_t			*notes;		/* key_changed params, in order */
};

static struct {
	struct event_base	*base;
	struct memnet		*net;
	struct cc_id		 id[NODES];
	struct cc_addr		 seed;
	struct daemon		 d[NODES];
	int			 next_id;
} F;

static void
fx_event(struct memnet *net, int node, const struct cc_event *ev, void *arg)
{
	(void)net;
	(void)arg;
	if (node >= 0 && node < NODES && F.d[node].ccd.engine != NULL)
		ccd_on_engine_event(&F.d[node].ccd, ev);
}

static uint64_t
fx_now(void *arg)
{
	return memnet_now(arg);
}

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- control clients ------------------------------------------------------------- */

static json_t *
read_line(struct ctl_client *c)
{
	json_error_t	 e;
	json_t		*j;
	size_t		 n;
	char		*line = evbuffer_readln(control_client_output(c), &n, EVBUFFER_EOL_LF);

	if (line == NULL)
		return NULL;
	j = json_loadb(line, n, JSON_ALLOW_NUL, &e);
	ck_assert_msg(j != NULL, "not JSON: %s (%s)", line, e.text);
	free(line);
	return j;
}

/* The reply to one request (single quotes stand for double ones); caller decrefs. */
static json_t *
call(int node, const char *method, const char *params)
{
	char	 buf[20000];
	json_t	*j;

	snprintf(buf, sizeof(buf), "{'jsonrpc':'2.0','id':%d,'method':'%s','params':%s}",
	    ++F.next_id, method, params);
	for (char *p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	control_client_line(F.d[node].c, buf, strlen(buf));
	while ((j = read_line(F.d[node].c)) != NULL && json_object_get(j, "id") == NULL)
		json_decref(j);
	ck_assert_msg(j != NULL, "%s: no reply", method);
	return j;
}

static json_t *
ok(int node, const char *method, const char *params)
{
	json_t *r = call(node, method, params), *res = json_incref(json_object_get(r, "result"));

	ck_assert_msg(res != NULL, "%s %s: %s", method, params, json_dumps(r, JSON_COMPACT));
	json_decref(r);
	return res;
}

/* The error code of a call that must fail; *why (if not NULL) its reason, copied. */
static int
err(int node, const char *method, const char *params, char *why, size_t len)
{
	json_t	*r = call(node, method, params), *e = json_object_get(r, "error");
	int	 code;

	ck_assert_msg(e != NULL, "%s %s succeeded", method, params);
	code = (int)json_integer_value(json_object_get(e, "code"));
	if (why != NULL)
		snprintf(why, len, "%s", json_string_value(json_object_get(json_object_get(e,
		    "data"), "reason")));
	json_decref(r);
	return code;
}

/* Moves the subscriber's key_changed notifications to d->notes. */
static void
collect(int node)
{
	struct daemon	*d = &F.d[node];
	json_t		*j;

	while ((j = read_line(d->sub)) != NULL) {
		if (strcmp(json_string_value(json_object_get(j, "method")), CC_CTL_KEY_CHANGED) == 0)
			json_array_append(d->notes, json_object_get(j, "params"));
		json_decref(j);
	}
}

/* The events of key on node's subscriber, "set,expired", collected so far. */
static const char *
events_of(int node, const char *key)
{
	static char	 buf[512];
	json_t		*p;
	size_t		 i, used = 0;

	collect(node);
	buf[0] = '\0';
	json_array_foreach(F.d[node].notes, i, p) {
		if (strcmp(json_string_value(json_object_get(p, "key")), key) != 0)
			continue;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s",
		    used > 0 ? "," : "", json_string_value(json_object_get(p, "event")));
	}
	return buf;
}

/* ---- fixture ------------------------------------------------------------------------ */

static void
daemon_up(int node, unsigned extensions)
{
	struct daemon *d = &F.d[node];

	d->cfg.extensions = extensions;
	d->ccd.base = F.base;
	d->ccd.cfg = &d->cfg;
	d->ccd.engine = memnet_engine(F.net, node);
	d->ccd.start_ms = memnet_now(F.net);
	ck_assert_ptr_nonnull(control_new(&d->ccd));
	control_set_clock(d->ccd.control, fx_now, F.net);
	if ((extensions & CCD_EXT_KEY_TTL) != 0) {
		ck_assert_ptr_nonnull(d->ccd.expiry = expiry_new(&d->ccd));
		expiry_set_clock(d->ccd.expiry, fx_now, F.net);
	}
	ck_assert_ptr_nonnull(d->c = control_client_new(d->ccd.control, -1));
	ck_assert_ptr_nonnull(d->sub = control_client_new(d->ccd.control, -1));
	d->notes = json_array();
}

static void
setup(void)
{
	struct memnet_config	mc;
	struct cc_config	cfg;
	char			line[128];
	json_t			*r;

	log_init(CC_LOG_ERROR);
	memset(&F, 0, sizeof(F));
	ck_assert_ptr_nonnull(F.base = event_base_new());
	memnet_config_default(&mc, 11);
	ck_assert_ptr_nonnull(F.net = memnet_new(&mc));
	memnet_set_event_hook(F.net, fx_event, NULL);
	for (int i = 0; i < NODES; i++) {
		memnet_tid(&F.id[i], (uint16_t)(11001 + i));
		memnet_cfg_lib(&cfg, &F.id[i]);
		if (i > 0) {
			F.seed = F.id[0].addr;
			cfg.seeds = &F.seed;
			cfg.n_seeds = 1;
		}
		ck_assert_int_eq(memnet_add_node(F.net, &cfg), i);
	}
	daemon_up(OWNER, CCD_EXT_ALL);
	daemon_up(PEER, CCD_EXT_ALL);
	daemon_up(PLAIN, 0);
	ck_assert(memnet_run_until_pred(F.net, memnet_all_live, NULL, 30000));
	for (int i = 0; i < NODES; i++) {
		snprintf(line, sizeof(line), "{'jsonrpc':'2.0','id':1,'method':'subscribe',"
		    "'params':{'prefix':''}}");
		for (char *p = line; *p; p++)
			if (*p == '\'')
				*p = '"';
		control_client_line(F.d[i].sub, line, strlen(line));
		ck_assert_ptr_nonnull(r = read_line(F.d[i].sub));
		ck_assert_ptr_nonnull(json_object_get(r, "result"));
		json_decref(r);
	}
}

static void
teardown(void)
{
	for (int i = 0; i < NODES; i++) {
		json_decref(F.d[i].notes);
		expiry_free(F.d[i].ccd.expiry);
		control_close(&F.d[i].ccd);
	}
	memnet_free(F.net);
	for (int i = 0; i < NODES; i++)
		cc_id_clear(&F.id[i]);
	event_base_free(F.base);
}

/* Node i's replica of the owner converged with the owner. */
static bool
replicas_equal(struct memnet *net, void *arg)
{
	(void)arg;
	return memnet_replica_is_equal(net, PEER, OWNER) &&
	    memnet_replica_is_equal(net, PLAIN, OWNER);
}

static void
sync_all(void)
{
	char why[256];

	ck_assert_msg(memnet_run_until_pred(F.net, replicas_equal, NULL, 30000), "%s",
	    memnet_explain(F.net, why, sizeof(why)));
}

/* Runs the owner's due expiries at simulated time +ms; returns how many. */
static size_t
advance(uint64_t ms)
{
	memnet_run_for(F.net, ms);
	return expiry_run(F.d[OWNER].ccd.expiry);
}

/* ---- bookkeeping alone ------------------------------------------------------------------ */

START_TEST(test_deadlines_earliest_first)
{
	struct ccd	ccd;
	struct expiry	*x;
	uint64_t	 t;

	memset(&ccd, 0, sizeof(ccd));	/* no base: no timer, no engine */
	ck_assert_ptr_nonnull(x = expiry_new(&ccd));
	ck_assert(!expiry_next(x, &t));
	ck_assert_int_eq(expiry_schedule(x, "b", 1, 1, 300), 0);
	ck_assert_int_eq(expiry_schedule(x, "a", 1, 1, 200), 0);
	ck_assert_int_eq(expiry_schedule(x, "c", 1, 1, 100), 0);
	ck_assert_uint_eq(expiry_pending(x), 3);
	ck_assert(expiry_next(x, &t));
	ck_assert_uint_eq(t, 100);
	/* a new deadline replaces the key's old one */
	ck_assert_int_eq(expiry_schedule(x, "c", 1, 2, 500), 0);
	ck_assert_uint_eq(expiry_pending(x), 3);
	ck_assert(expiry_next(x, &t));
	ck_assert_uint_eq(t, 200);
	ck_assert(expiry_cancel(x, "a", 1));
	ck_assert(!expiry_cancel(x, "a", 1));
	ck_assert(!expiry_cancel(x, "ab", 2));
	ck_assert(expiry_next(x, &t));
	ck_assert_uint_eq(t, 300);
	/* equal deadlines and keys that are prefixes of each other */
	ck_assert_int_eq(expiry_schedule(x, "ab", 2, 1, 300), 0);
	ck_assert_int_eq(expiry_schedule(x, "", 0, 1, 300), 0);
	ck_assert_uint_eq(expiry_pending(x), 4);
	ck_assert(expiry_cancel(x, "", 0));
	ck_assert(expiry_cancel(x, "b", 1));
	ck_assert(expiry_next(x, &t));
	ck_assert_uint_eq(t, 300);
	ck_assert(expiry_cancel(x, "ab", 2));
	ck_assert(expiry_next(x, &t));
	ck_assert_uint_eq(t, 500);
	ck_assert(expiry_cancel(x, "c", 1));
	ck_assert(!expiry_next(x, &t));
	ck_assert_uint_eq(expiry_pending(x), 0);
	/* freed with entries left */
	ck_assert_int_eq(expiry_schedule(x, "z", 1, 1, 1), 0);
	expiry_free(x);
	expiry_free(NULL);
}
END_TEST

/* ---- owner and peers -------------------------------------------------------------------- */

START_TEST(test_expiry_seen_everywhere)
{
	const struct cc_kv	*meta, *tomb, *k;
	json_t			*res, *e;
	uint64_t		 before = wall_ms(), at, t0 = memnet_now(F.net);

	res = ok(OWNER, "set", "{'key':'svc/x','value':'1','expires_in':'10s'}");
	json_decref(res);
	res = ok(OWNER, "set", "{'key':'svc/other','value':'stays'}");
	json_decref(res);
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 1);
	/* the meta key holds the wall-clock deadline */
	meta = memnet_get(F.net, OWNER, OWNER, EXPIRY_PREFIX "svc/x");
	ck_assert_ptr_nonnull(meta);
	at = strtoull(meta->value, NULL, 10);
	ck_assert_msg(at >= before + 10000 && at <= wall_ms() + 10000, "deadline %llu",
	    (unsigned long long)at);
	sync_all();
	/* every node reads it; expires_at_ms where the extension runs */
	res = ok(PEER, "get", "{'key':'svc/x','node':'node_11001'}");
	ck_assert_uint_eq((uint64_t)json_integer_value(json_object_get(res, "expires_at_ms")), at);
	json_decref(res);
	res = ok(OWNER, "keys", "{'prefix':'svc/'}");
	e = json_array_get(json_object_get(res, "entries"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "key")), "svc/x");
	ck_assert_uint_eq((uint64_t)json_integer_value(json_object_get(e, "expires_at_ms")), at);
	ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(res, "entries"), 0),
	    "expires_at_ms"));
	json_decref(res);
	res = ok(PLAIN, "get", "{'key':'svc/x','node':'node_11001'}");
	ck_assert_ptr_null(json_object_get(res, "expires_at_ms"));
	json_decref(res);
	/* the meta key is listed only under the reserved prefix */
	res = ok(PLAIN, "keys", "{'prefix':'','node':'node_11001'}");
	ck_assert_uint_eq(json_array_size(json_object_get(res, "entries")), 2);
	json_decref(res);
	res = ok(PLAIN, "keys", "{'prefix':'__chitchatd.','node':'node_11001'}");
	ck_assert_uint_eq(json_array_size(json_object_get(res, "entries")), 1);
	json_decref(res);

	/* not before the deadline */
	ck_assert_uint_lt(memnet_now(F.net), t0 + 9900);
	ck_assert_uint_eq(advance(t0 + 9900 - memnet_now(F.net)), 0);
	ck_assert_ptr_nonnull(memnet_get(F.net, OWNER, OWNER, "svc/x"));
	ck_assert_uint_eq(advance(200), 1);
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 0);
	ck_assert_uint_eq(F.d[OWNER].ccd.counters.keys_expired, 1);
	/* the owner: meta "expired" and marked (one write), then the tombstone */
	meta = memnet_get_versioned(F.net, OWNER, OWNER, EXPIRY_PREFIX "svc/x");
	tomb = memnet_get_versioned(F.net, OWNER, OWNER, "svc/x");
	ck_assert_str_eq(meta->value, EXPIRY_EXPIRED);
	ck_assert_int_eq(meta->status, CC_STATUS_DELETE_AFTER_TTL);
	ck_assert_int_eq(tomb->status, CC_STATUS_DELETED);
	ck_assert_uint_lt(meta->version, tomb->version);
	sync_all();
	k = memnet_get(F.net, PEER, OWNER, "svc/x");
	ck_assert_ptr_null(k);
	ck_assert_ptr_null(memnet_get(F.net, PLAIN, OWNER, "svc/x"));
	ck_assert_ptr_nonnull(memnet_get(F.net, PLAIN, OWNER, "svc/other"));
	/* events: expired with the extension, deleted without */
	ck_assert_str_eq(events_of(OWNER, "svc/x"), "set,expired");
	ck_assert_str_eq(events_of(PEER, "svc/x"), "set,expired");
	ck_assert_str_eq(events_of(PLAIN, "svc/x"), "set,deleted");
	/* reserved keys never reach a subscription to "" */
	ck_assert_str_eq(events_of(OWNER, EXPIRY_PREFIX "svc/x"), "");
	ck_assert_str_eq(events_of(PEER, EXPIRY_PREFIX "svc/x"), "");
	/* the meta key is purged with the tombstone after the grace period */
	memnet_run_for(F.net, 3700 * 1000);
	ck_assert_ptr_null(memnet_get_versioned(F.net, PEER, OWNER, EXPIRY_PREFIX "svc/x"));
	ck_assert_ptr_null(memnet_get_versioned(F.net, OWNER, OWNER, EXPIRY_PREFIX "svc/x"));
}
END_TEST

/*
 * A peer cut off during the expiry catches up in one delta: it gets the
 * latest entry of each key in version order, so "expired" (meta) must
 * come before the tombstone, or the peer would report "deleted".
 */
START_TEST(test_expiry_seen_by_a_peer_catching_up)
{
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':500}"));
	sync_all();
	memnet_cut(F.net, OWNER, PEER);
	memnet_cut(F.net, PEER, PLAIN);
	ck_assert_uint_eq(advance(600), 1);
	memnet_run_for(F.net, 500);
	ck_assert_ptr_nonnull(memnet_get(F.net, PEER, OWNER, "k"));
	memnet_restore(F.net, OWNER, PEER);
	memnet_restore(F.net, PEER, PLAIN);
	sync_all();
	ck_assert_str_eq(events_of(PEER, "k"), "set,expired");
	ck_assert_str_eq(events_of(PLAIN, "k"), "set,deleted");
}
END_TEST

START_TEST(test_reset_without_expiry_cancels)
{
	const struct cc_kv *meta;

	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':'1s'}"));
	/* the same value again, without a duration: still cancels */
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v'}"));
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 0);
	meta = memnet_get_versioned(F.net, OWNER, OWNER, EXPIRY_PREFIX "k");
	ck_assert_int_eq(meta->status, CC_STATUS_DELETED);
	ck_assert_uint_eq(advance(2000), 0);
	ck_assert_ptr_nonnull(memnet_get(F.net, OWNER, OWNER, "k"));
	sync_all();
	{
		json_t *res = ok(PEER, "get", "{'key':'k','node':'node_11001'}");

		ck_assert_ptr_null(json_object_get(res, "expires_at_ms"));
		json_decref(res);
	}
	/* a new duration replaces the deadline */
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':'5s'}"));
	json_decref(ok(OWNER, "set", "{'key':'k','value':'w','expires_in':'1s'}"));
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 1);
	ck_assert_uint_eq(advance(1100), 1);
	ck_assert_ptr_null(memnet_get(F.net, OWNER, OWNER, "k"));
	/* a key expired, then set again and deleted: a plain deletion */
	json_decref(ok(OWNER, "set", "{'key':'k','value':'again'}"));
	json_decref(ok(OWNER, "delete", "{'key':'k'}"));
	sync_all();
	ck_assert_str_eq(events_of(OWNER, "k"), "set,set,expired,set,deleted");
	ck_assert_str_eq(events_of(PEER, "k"), "set,set,deleted");
}
END_TEST

START_TEST(test_delete_before_expiry)
{
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':'1s'}"));
	sync_all();
	json_decref(ok(OWNER, "delete", "{'key':'k'}"));
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 0);
	ck_assert_uint_eq(advance(2000), 0);
	sync_all();
	ck_assert_str_eq(events_of(OWNER, "k"), "set,deleted");
	ck_assert_str_eq(events_of(PEER, "k"), "set,deleted");
	/* delete_after_ttl cancels too */
	json_decref(ok(OWNER, "set", "{'key':'m','value':'v','expires_in':'1s'}"));
	json_decref(ok(OWNER, "delete_after_ttl", "{'key':'m'}"));
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 0);
	ck_assert_uint_eq(advance(2000), 0);
	ck_assert_int_eq(memnet_get(F.net, OWNER, OWNER, "m")->status,
	    CC_STATUS_DELETE_AFTER_TTL);
}
END_TEST

/* A key changed behind the bookkeeping's back (never by the API) is left alone. */
START_TEST(test_changed_version_is_left_alone)
{
	const struct cc_kv *k;

	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':'1s'}"));
	memnet_set(F.net, OWNER, "k", "changed");
	ck_assert_uint_eq(advance(1100), 0);
	ck_assert_uint_eq(expiry_pending(F.d[OWNER].ccd.expiry), 0);
	k = memnet_get(F.net, OWNER, OWNER, "k");
	ck_assert_ptr_nonnull(k);
	ck_assert_str_eq(k->value, "changed");
}
END_TEST

START_TEST(test_bad_params)
{
	static const char *const bad[] = {
		"'0'", "'0s'", "'-1s'", "'soon'", "'30'", "'366d'", "0", "-5", "1.5", "true",
		"31536000001", "'1s\\u0000x'", "{}", "[]",
	};
	char	params[256], why[256];
	int	code;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(params, sizeof(params), "{'key':'k','value':'v','expires_in':%s}", bad[i]);
		code = err(OWNER, "set", params, why, sizeof(why));
		ck_assert_msg(code == -32602, "%s: %d", bad[i], code);
		ck_assert_msg(strstr(why, "expires_in") != NULL, "%s: %s", bad[i], why);
	}
	/* at most a year, in both forms */
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':'365d'}"));
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':31536000000}"));
	json_decref(ok(OWNER, "set", "{'key':'k','value':'v','expires_in':'1.5s','ttl':false}"));
	/* with chitchat's mark */
	code = err(OWNER, "set", "{'key':'k','value':'v','expires_in':'1s','ttl':true}", why,
	    sizeof(why));
	ck_assert_int_eq(code, -32602);
	ck_assert_ptr_nonnull(strstr(why, "ttl"));
	/* the extension off */
	code = err(PLAIN, "set", "{'key':'k','value':'v','expires_in':'1s'}", why, sizeof(why));
	ck_assert_int_eq(code, -32602);
	ck_assert_ptr_nonnull(strstr(why, "key-ttl"));
	/* a key whose meta key would not fit one operation: nothing written */
	{
		size_t	 klen = CC_MAX_KV_OP - CC_KV_OP_OVERHEAD - 1 - 10;
		char	*big = malloc(klen + 200);

		memcpy(big, "{'key':'", 8);
		memset(big + 8, 'x', klen);
		snprintf(big + 8 + klen, 100, "','value':'v','expires_in':'1s'}");
		code = err(OWNER, "set", big, why, sizeof(why));
		ck_assert_int_eq(code, -32001);
		ck_assert_ptr_nonnull(strstr(why, "too long"));
		big[8 + klen] = '\0';
		ck_assert_ptr_null(memnet_get(F.net, OWNER, OWNER, big + 8));
		free(big);
	}
	/* reserved keys stay refused */
	code = err(OWNER, "set", "{'key':'__chitchatd.ttl.k','value':'1','expires_in':'1s'}",
	    NULL, 0);
	ck_assert_int_eq(code, -32001);
}
END_TEST

static Suite *
expiry_suite(void)
{
	Suite	*s = suite_create("expiry");
	TCase	*alone = tcase_create("bookkeeping");
	TCase	*tc = tcase_create("cluster");

	tcase_add_test(alone, test_deadlines_earliest_first);
	suite_add_tcase(s, alone);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_expiry_seen_everywhere);
	tcase_add_test(tc, test_expiry_seen_by_a_peer_catching_up);
	tcase_add_test(tc, test_reset_without_expiry_cancels);
	tcase_add_test(tc, test_delete_before_expiry);
	tcase_add_test(tc, test_changed_version_is_left_alone);
	tcase_add_test(tc, test_bad_params);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(expiry_suite)
