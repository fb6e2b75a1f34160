/*
 * check_cluster.c: end-to-end tests of chitchatd (issue 3, item 8): real
 * daemon processes on 127.0.0.1 with free ports, each with its control
 * socket in a temporary directory, driven through that socket
 * (docs/API.md) by the blocking client of tests/support/ctlclient.c.
 *
 * The daemon is the one of this test's build directory: in build/san the
 * daemons run under ASan+UBSan, and every test ends by stopping its
 * daemons with SIGTERM and asserting exit status 0 and the socket file
 * removed (dproc_stop), so an ASan error or a leak report in any scenario
 * fails the test.
 *
 * Timing: gossip every 100 ms; the failure detector's prior interval is
 * 500 ms and the phi threshold 8, so a node that stops is declared dead
 * within about 3 s in these young clusters (1 to 2 s once the window
 * holds many 100 ms samples), while scheduling hiccups of the sanitizer
 * build stay far below that. Each test starts its own daemons, in a
 * cluster id of its own. Every wait is bounded (bounds sized for the
 * sanitizer build) and says what it waited for.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cc_ctlproto.h"
#include "cc_wire.h"
#include "ctlclient.h"
#include "daemonproc.h"
#include "testutil.h"

#define WAIT_MS		20000	/* convergence, propagation, death, counters */
#define QUIET_MS	300	/* "nothing more arrives" */

static char cluster_id[64];

static void
setup(void)
{
	dproc_new_cluster_id(cluster_id, sizeof(cluster_id), "e2e");
}

/* ---- daemons ---------------------------------------------------------------------- */

/* chitchatd with the test timing, seeded with seed (if not NULL), plus extra args. */
static void
start_node(struct dproc *d, const char *name, const struct dproc *seed,
    const char *const *extra)
{
	static const char *const timing[] = { "--gossip-interval", "100ms", "--phi-threshold",
	    "8", "--initial-interval", "500ms", "--log-level", "info", NULL };

	dproc_start_in(d, name, cluster_id, seed, timing, extra);
}

/* The member entry of node_id in `members` (a new reference), NULL if absent. */
static json_t *
member(struct ctlc *c, const char *node_id)
{
	json_t	*res = ctlc_ok(c, "members", NULL), *m, *found = NULL;
	size_t	 i;

	json_array_foreach(json_object_get(res, "members"), i, m)
		if (strcmp(ctlc_str(m, "node_id"), node_id) == 0)
			found = json_incref(m);
	json_decref(res);
	return found;
}

/* Self and live members, as `members` with filter "live" reports them. */
static size_t
count_live(struct ctlc *c, json_t **members)
{
	json_t	*res = ctlc_ok(c, "members", "{\"filter\":\"live\"}"), *m;
	size_t	 i, n = 0;

	json_array_foreach(json_object_get(res, "members"), i, m) {
		const char *st = ctlc_str(m, "status");

		ck_assert_msg(strcmp(st, "self") == 0 || strcmp(st, "live") == 0,
		    "filter live gave status %s", st);
		n++;
	}
	if (members != NULL)
		*members = json_incref(json_object_get(res, "members"));
	json_decref(res);
	return n;
}

static void
wait_live(struct ctlc *c, const struct dproc *d, size_t want)
{
	long long	 deadline = dproc_now_ms() + WAIT_MS;
	json_t		*members = NULL;
	size_t		 n;

	for (;;) {
		json_decref(members);
		if ((n = count_live(c, &members)) == want)
			break;
		if (dproc_now_ms() > deadline)
			ck_abort_msg("%s: %zu live members, not %zu, after %d ms: %s\nlog: %s",
			    d->node_id, n, want, WAIT_MS, json_dumps(members, JSON_COMPACT),
			    dproc_log(d));
		usleep(50000);
	}
	json_decref(members);
}

/* The heartbeat of node_id as c sees it (asserts it is listed). */
static long long
heartbeat_of(struct ctlc *c, const char *node_id, const char **status)
{
	json_t		*m = member(c, node_id);
	long long	 hb;
	static char	 st[16];

	ck_assert_msg(m != NULL, "%s not in members", node_id);
	hb = ctlc_int(m, "heartbeat");
	snprintf(st, sizeof(st), "%s", ctlc_str(m, "status"));
	if (status != NULL)
		*status = st;
	json_decref(m);
	return hb;
}

/* Waits until c sees node_id live with a heartbeat above the current one. */
static void
wait_heartbeat_advances(struct ctlc *c, const char *who, const char *node_id)
{
	const char	*st;
	long long	 h0 = heartbeat_of(c, node_id, &st), h = h0;
	long long	 deadline = dproc_now_ms() + WAIT_MS;

	for (;;) {
		usleep(100000);
		h = heartbeat_of(c, node_id, &st);
		if (h > h0 + 2 && strcmp(st, "live") == 0)
			return;
		if (dproc_now_ms() > deadline)
			ck_abort_msg("%s: heartbeat of %s stuck at %lld -> %lld (%s) for %d ms", who,
			    node_id, h0, h, st, WAIT_MS);
	}
}

/* Waits (bounded) until a metric reaches at least min; returns its value. */
static double
wait_metric(struct ctlc *c, const char *name, double min)
{
	long long	deadline = dproc_now_ms() + WAIT_MS;
	double		v;

	while ((v = ctlc_metric(c, name)) < min) {
		if (dproc_now_ms() > deadline)
			ck_abort_msg("%s stayed at %g, below %g, for %d ms", name, v, min, WAIT_MS);
		usleep(50000);
	}
	return v;
}

/* Three daemons: b and c seeded with a; returns once each sees 3 live members. */
struct cluster {
	struct dproc	 d[3];
	struct ctlc	*c[3];
	long long	 gen[3];
};

static void
cluster_start(struct cluster *cl)
{
	static const char *names[3] = { "node-a", "node-b", "node-c" };

	start_node(&cl->d[0], names[0], NULL, NULL);
	start_node(&cl->d[1], names[1], &cl->d[0], NULL);
	start_node(&cl->d[2], names[2], &cl->d[0], NULL);
	for (int i = 0; i < 3; i++) {
		json_t *info;

		cl->c[i] = ctlc_open(cl->d[i].sock);
		json_decref(ctlc_ok(cl->c[i], "hello", "{\"protocol\":1,\"client\":\"check_cluster\"}"));
		info = ctlc_ok(cl->c[i], "info", NULL);
		ck_assert_str_eq(ctlc_str(info, "node_id"), names[i]);
		ck_assert_str_eq(ctlc_str(info, "cluster_id"), cluster_id);
		ck_assert_str_eq(ctlc_str(info, "gossip_address"), cl->d[i].listen);
		cl->gen[i] = ctlc_int(info, "generation");
		json_decref(info);
	}
	for (int i = 0; i < 3; i++)
		wait_live(cl->c[i], &cl->d[i], 3);
}

static void
cluster_stop(struct cluster *cl)
{
	for (int i = 0; i < 3; i++) {
		ctlc_close(cl->c[i]);
		cl->c[i] = NULL;
		if (cl->d[i].pid > 0)
			dproc_stop(&cl->d[i]);
	}
}

/* ---- cluster behaviour --------------------------------------------------------------------- */

START_TEST(test_three_daemons_converge_and_share_a_key)
{
	struct cluster	 cl;
	json_t		*res, *m;
	long long	 version;
	size_t		 i;

	cluster_start(&cl);
	/* each daemon: itself and the two others, live, with info counts to match */
	for (int d = 0; d < 3; d++) {
		int self = 0, live = 0;

		res = ctlc_ok(cl.c[d], "members", NULL);
		ck_assert_uint_eq(json_array_size(json_object_get(res, "members")), 3);
		json_array_foreach(json_object_get(res, "members"), i, m) {
			const char *st = ctlc_str(m, "status");

			self += strcmp(st, "self") == 0;
			live += strcmp(st, "live") == 0;
			ck_assert_int_gt(ctlc_int(m, "heartbeat"), 0);
			for (int k = 0; k < 3; k++)
				if (strcmp(ctlc_str(m, "node_id"), cl.d[k].node_id) == 0) {
					ck_assert_int_eq(ctlc_int(m, "generation"), cl.gen[k]);
					ck_assert_str_eq(ctlc_str(m, "address"), cl.d[k].listen);
				}
		}
		ck_assert_int_eq(self, 1);
		ck_assert_int_eq(live, 2);
		json_decref(res);
		res = ctlc_ok(cl.c[d], "info", NULL);
		ck_assert_int_eq(ctlc_int(json_object_get(res, "counts"), "live"), 3);
		ck_assert_int_eq(ctlc_int(json_object_get(res, "counts"), "nodes"), 3);
		json_decref(res);
	}

	/* a key set through a's socket is read with get on b and c */
	res = ctlc_ok(cl.c[0], "set", "{\"key\":\"conv/greeting\",\"value\":\"hello from a\"}");
	version = ctlc_int(res, "version");
	json_decref(res);
	for (int d = 1; d < 3; d++) {
		long long	 deadline = dproc_now_ms() + WAIT_MS;
		json_t		*reply, *node;

		for (;;) {
			reply = ctlc_call(cl.c[d], "get",
			    "{\"key\":\"conv/greeting\",\"node\":\"node-a\"}");
			if (ctlc_reply_code(reply) == 0)
				break;
			ck_assert_int_eq(ctlc_reply_code(reply), -32000);	/* not there yet */
			json_decref(reply);
			ck_assert_msg(dproc_now_ms() < deadline, "%s never got a's key in %d ms",
			    cl.d[d].node_id, WAIT_MS);
			usleep(50000);
		}
		res = json_object_get(reply, "result");
		ck_assert_str_eq(ctlc_str(res, "key"), "conv/greeting");
		ck_assert_str_eq(ctlc_str(res, "value"), "hello from a");
		ck_assert_str_eq(ctlc_str(res, "status"), "set");
		ck_assert_int_eq(ctlc_int(res, "version"), version);
		node = json_object_get(res, "node");
		ck_assert_str_eq(ctlc_str(node, "node_id"), "node-a");
		ck_assert_int_eq(ctlc_int(node, "generation"), cl.gen[0]);
		ck_assert_str_eq(ctlc_str(node, "address"), cl.d[0].listen);
		json_decref(reply);
	}
	cluster_stop(&cl);
}
END_TEST

/* Asserts one key_changed notification of subscription sub. */
static long long
expect_key_event(struct ctlc *c, long long sub, const char *event, const char *key,
    const char *value, long long version, long long gen)
{
	json_t		*n = ctlc_notification(c, WAIT_MS), *p;
	long long	 v;

	ck_assert_msg(n != NULL, "no key_changed %s %s within %d ms", event, key, WAIT_MS);
	ck_assert_str_eq(ctlc_str(n, "method"), "key_changed");
	p = json_object_get(n, "params");
	ck_assert_int_eq(ctlc_int(p, "subscription"), sub);
	ck_assert_msg(strcmp(ctlc_str(p, "event"), event) == 0 &&
	    strcmp(ctlc_str(p, "key"), key) == 0,
	    "expected %s %s, got %s", event, key, json_dumps(n, JSON_COMPACT));
	ck_assert_str_eq(ctlc_str(p, "value"), value);
	ck_assert_str_eq(ctlc_str(p, "node_id"), "node-a");
	ck_assert_int_eq(ctlc_int(p, "generation"), gen);
	v = ctlc_int(p, "version");
	ck_assert_int_eq(v, version);
	json_decref(n);
	return v;
}

START_TEST(test_key_subscription_snapshot_then_events_in_order)
{
	struct cluster	 cl;
	struct ctlc	*a, *sub;
	json_t		*res, *e;
	long long	 deadline, subid, v[4], last = 0;
	size_t		 i;
	int		 seen = 0;

	cluster_start(&cl);
	a = cl.c[0];
	/* before subscribing: three keys under app/ and one outside it */
	json_decref(ctlc_ok(a, "set", "{\"key\":\"app/before\",\"value\":\"v1\"}"));
	json_decref(ctlc_ok(a, "set", "{\"key\":\"app/ttl\",\"value\":\"t\"}"));
	json_decref(ctlc_ok(a, "set", "{\"key\":\"app/gone\",\"value\":\"g\"}"));
	json_decref(ctlc_ok(a, "set", "{\"key\":\"other/x\",\"value\":\"o\"}"));
	deadline = dproc_now_ms() + WAIT_MS;
	for (;;) {
		res = ctlc_ok(cl.c[1], "keys", "{\"prefix\":\"app/\",\"node\":\"node-a\"}");
		i = json_array_size(json_object_get(res, "entries"));
		json_decref(res);
		if (i == 3)
			break;
		ck_assert_msg(dproc_now_ms() < deadline, "b has %zu of a's app/ keys after %d ms", i,
		    WAIT_MS);
		usleep(50000);
	}

	/* the snapshot holds them (a's entries under the prefix, nothing else) */
	sub = ctlc_open(cl.d[1].sock);
	res = ctlc_ok(sub, "subscribe", "{\"topic\":\"keys\",\"prefix\":\"app/\"}");
	subid = ctlc_int(res, "subscription");
	ck_assert_uint_eq(json_array_size(json_object_get(res, "snapshot")), 3);
	json_array_foreach(json_object_get(res, "snapshot"), i, e) {
		const char *key = ctlc_str(e, "key");

		ck_assert_str_eq(ctlc_str(e, "node_id"), "node-a");
		ck_assert_int_eq(ctlc_int(e, "generation"), cl.gen[0]);
		ck_assert_str_eq(ctlc_str(e, "address"), cl.d[0].listen);
		ck_assert_str_eq(ctlc_str(e, "status"), "set");
		ck_assert_int_gt(ctlc_int(e, "version"), 0);
		if (strcmp(key, "app/before") == 0) {
			seen |= 1;
			ck_assert_str_eq(ctlc_str(e, "value"), "v1");
		} else if (strcmp(key, "app/ttl") == 0) {
			seen |= 2;
			ck_assert_str_eq(ctlc_str(e, "value"), "t");
		} else if (strcmp(key, "app/gone") == 0) {
			seen |= 4;
			ck_assert_str_eq(ctlc_str(e, "value"), "g");
		}
		if (ctlc_int(e, "version") > last)
			last = ctlc_int(e, "version");
	}
	ck_assert_int_eq(seen, 7);
	json_decref(res);

	/*
	 * Then, without waiting between them: a new key, an update, a TTL
	 * mark, a delete (one key each, so gossip cannot fold two into one),
	 * and a key outside the prefix. b must report the four in a's order.
	 */
	res = ctlc_ok(a, "set", "{\"key\":\"app/new\",\"value\":\"n1\"}");
	v[0] = ctlc_int(res, "version");
	json_decref(res);
	res = ctlc_ok(a, "set", "{\"key\":\"app/before\",\"value\":\"v2\"}");
	v[1] = ctlc_int(res, "version");
	json_decref(res);
	res = ctlc_ok(a, "delete_after_ttl", "{\"key\":\"app/ttl\"}");
	v[2] = ctlc_int(res, "version");
	json_decref(res);
	res = ctlc_ok(a, "delete", "{\"key\":\"app/gone\"}");
	v[3] = ctlc_int(res, "version");
	json_decref(res);
	json_decref(ctlc_ok(a, "set", "{\"key\":\"other/y\",\"value\":\"not for us\"}"));
	ck_assert_int_gt(v[0], last);
	for (int k = 1; k < 4; k++)
		ck_assert_int_gt(v[k], v[k - 1]);

	expect_key_event(sub, subid, "set", "app/new", "n1", v[0], cl.gen[0]);
	expect_key_event(sub, subid, "set", "app/before", "v2", v[1], cl.gen[0]);
	expect_key_event(sub, subid, "ttl_marked", "app/ttl", "t", v[2], cl.gen[0]);
	expect_key_event(sub, subid, "deleted", "app/gone", "", v[3], cl.gen[0]);
	/* nothing else: other/y is outside the prefix */
	e = ctlc_notification(sub, QUIET_MS);
	ck_assert_msg(e == NULL, "unexpected %s", json_dumps(e, JSON_COMPACT));

	/* the state b now serves matches the events */
	res = ctlc_ok(cl.c[1], "get", "{\"key\":\"app/ttl\",\"node\":\"node-a\"}");
	ck_assert_str_eq(ctlc_str(res, "status"), "ttl_marked");
	json_decref(res);
	ck_assert_int_eq(ctlc_err(cl.c[1], "get", "{\"key\":\"app/gone\",\"node\":\"node-a\"}"),
	    -32000);
	ctlc_close(sub);
	cluster_stop(&cl);
}
END_TEST

START_TEST(test_member_subscription_sees_killed_daemon_dead)
{
	struct cluster	 cl;
	struct ctlc	*sub;
	json_t		*res, *m;
	long long	 subid, killed_at, deadline, dead_ms = -1, left_ms = -1;
	size_t		 i;
	bool		 c_live = false;

	cluster_start(&cl);
	sub = ctlc_open(cl.d[1].sock);
	res = ctlc_ok(sub, "subscribe", "{\"topic\":\"members\"}");
	subid = ctlc_int(res, "subscription");
	json_array_foreach(json_object_get(res, "snapshot"), i, m)
		if (strcmp(ctlc_str(m, "node_id"), "node-c") == 0)
			c_live = strcmp(ctlc_str(m, "status"), "live") == 0;
	ck_assert_msg(c_live, "c not live in b's snapshot: %s", json_dumps(res, JSON_COMPACT));
	json_decref(res);

	ctlc_close(cl.c[2]);
	cl.c[2] = NULL;
	dproc_kill9(&cl.d[2]);
	killed_at = dproc_now_ms();
	deadline = killed_at + WAIT_MS;
	while (left_ms == -1) {
		long long	 left = deadline - dproc_now_ms();
		json_t		*n = ctlc_notification(sub, left > 0 ? (int)left : 0), *p;
		const char	*event;

		ck_assert_msg(n != NULL, "b saw no dead/left for c within %d ms of SIGKILL "
		    "(dead after %lld ms)\nlog: %s", WAIT_MS, dead_ms, dproc_log(&cl.d[1]));
		ck_assert_str_eq(ctlc_str(n, "method"), "member_changed");
		p = json_object_get(n, "params");
		ck_assert_int_eq(ctlc_int(p, "subscription"), subid);
		event = ctlc_str(p, "event");
		if (strcmp(ctlc_str(p, "node_id"), "node-c") != 0) {
			/* a and b themselves stay in the live set */
			ck_assert_msg(strcmp(event, "left") != 0 && strcmp(event, "dead") != 0,
			    "%s", json_dumps(n, JSON_COMPACT));
			json_decref(n);
			continue;
		}
		ck_assert_int_eq(ctlc_int(p, "generation"), cl.gen[2]);
		ck_assert_str_eq(ctlc_str(p, "address"), cl.d[2].listen);
		if (strcmp(event, "dead") == 0) {
			ck_assert_str_eq(ctlc_str(p, "status"), "dead");
			dead_ms = dproc_now_ms() - killed_at;
		} else if (strcmp(event, "left") == 0) {
			ck_assert_msg(dead_ms != -1, "left before dead");
			ck_assert_str_eq(ctlc_str(p, "status"), "dead");
			left_ms = dproc_now_ms() - killed_at;
		} else
			ck_abort_msg("unexpected event for c: %s", json_dumps(n, JSON_COMPACT));
		json_decref(n);
	}
	/* members agrees, on b and on a */
	for (int d = 0; d < 2; d++) {
		const char *st;

		deadline = dproc_now_ms() + WAIT_MS;
		for (;;) {
			heartbeat_of(cl.c[d], "node-c", &st);
			if (strcmp(st, "dead") == 0)
				break;
			ck_assert_msg(dproc_now_ms() < deadline, "%s: c is %s, not dead",
			    cl.d[d].node_id, st);
			usleep(50000);
		}
		wait_live(cl.c[d], &cl.d[d], 2);
	}
	ctlc_close(sub);
	cluster_stop(&cl);
}
END_TEST

/* ---- bad input on the control socket ---------------------------------------------------------- */

/* Sends a raw line and returns the error code of the reply (asserts id null if null_id). */
static int
raw_error(struct ctlc *c, const char *line, bool null_id)
{
	json_t	*reply;
	int	 code;

	ck_assert(ctlc_send_line(c, line));
	reply = ctlc_read_reply(c, CTLC_REPLY_MS);
	ck_assert_msg(reply != NULL, "no reply to %s", line);
	code = ctlc_reply_code(reply);
	if (null_id)
		ck_assert_msg(json_is_null(json_object_get(reply, "id")), "id not null: %s",
		    json_dumps(reply, JSON_COMPACT));
	json_decref(reply);
	return code;
}

/* Proves the connection still works: hello, then info of this node. */
static void
still_serving(struct ctlc *c, const struct dproc *d)
{
	json_t *res = ctlc_ok(c, "hello", "{\"protocol\":1}");

	ck_assert_int_eq(ctlc_int(res, "protocol"), 1);
	json_decref(res);
	res = ctlc_ok(c, "info", NULL);
	ck_assert_str_eq(ctlc_str(res, "node_id"), d->node_id);
	json_decref(res);
}

START_TEST(test_malformed_unknown_and_bad_params_get_errors)
{
	static const char bad_utf8[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\xfe\"}";
	struct dproc	 d;
	struct ctlc	*c;
	json_t		*reply;

	start_node(&d, "node-bad", NULL, NULL);
	c = ctlc_open(d.sock);
	still_serving(c, &d);

	/* malformed JSON: -32700, "id": null, and the connection keeps working */
	ck_assert_int_eq(raw_error(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",", true),
	    -32700);
	still_serving(c, &d);
	ck_assert_int_eq(raw_error(c, "not json at all", true), -32700);
	ck_assert_int_eq(raw_error(c, bad_utf8, true), -32700);
	still_serving(c, &d);
	/* not a request: -32600 */
	ck_assert_int_eq(raw_error(c, "42", true), -32600);
	ck_assert_int_eq(raw_error(c, "[]", true), -32600);
	ck_assert_int_eq(raw_error(c, "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"info\"}", false),
	    -32600);
	still_serving(c, &d);

	/* unknown method: -32601, with our id */
	reply = ctlc_call(c, "no_such_method", "{}");
	ck_assert_int_eq(ctlc_reply_code(reply), -32601);
	json_decref(reply);
	still_serving(c, &d);

	/* bad params: -32602 */
	ck_assert_int_eq(ctlc_err(c, "set", "{\"key\":\"a\"}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "set", "{\"key\":1,\"value\":\"x\"}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "set", "[\"a\",\"b\"]"), -32602);
	ck_assert_int_eq(ctlc_err(c, "get", "{}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "members", "{\"filter\":\"sleepy\"}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "subscribe", "{\"topic\":\"weather\"}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "unsubscribe", "{\"subscription\":\"one\"}"), -32602);
	ck_assert_int_eq(ctlc_err(c, "set", "{\"key\":\"k\",\"value\":\"v\",\"ttl\":\"yes\"}"),
	    -32602);
	still_serving(c, &d);
	/* the daemon's own errors: not found, invalid key */
	ck_assert_int_eq(ctlc_err(c, "get", "{\"key\":\"nope\"}"), -32000);
	ck_assert_int_eq(ctlc_err(c, "unsubscribe", "{\"subscription\":999}"), -32000);
	ck_assert_int_eq(ctlc_err(c, "set", "{\"key\":\"\\u00e9\",\"value\":\"1\"}"),
	    -32001);
	json_decref(ctlc_ok(c, "set", "{\"key\":\"ok\",\"value\":\"still works\"}"));
	still_serving(c, &d);

	/* counted */
	ck_assert_int_eq((int)ctlc_metric(c, "chitchatd_control_parse_errors_total"), 3);
	ck_assert_int_ge((int)ctlc_metric(c, "chitchatd_control_request_errors_total"), 17);
	ctlc_close(c);
	dproc_stop(&d);
}
END_TEST

START_TEST(test_oversized_line_closes_that_client_only)
{
	const char	*extra[] = { "--max-line", "1024", NULL };
	struct dproc	 d;
	struct ctlc	*other, *big, *fresh;
	char		 line[4096], value[3000];
	json_t		*reply, *err;

	start_node(&d, "node-maxline", NULL, extra);
	other = ctlc_open(d.sock);
	still_serving(other, &d);

	/* a line under the limit is fine */
	big = ctlc_open(d.sock);
	memset(value, 'x', 900);
	value[900] = '\0';
	snprintf(line, sizeof(line), "{\"key\":\"k\",\"value\":\"%s\"}", value);
	json_decref(ctlc_ok(big, "set", line));

	/* over it: one -32600 "request too large" with id null, then the connection closes */
	memset(value, 'y', 2000);
	value[2000] = '\0';
	snprintf(line, sizeof(line),
	    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"set\",\"params\":{\"key\":\"k\",\"value\":\"%s\"}}\n",
	    value);
	/* the daemon may close before it has read it all: a failed send is fine */
	(void)ctlc_send(big, line, strlen(line));
	reply = ctlc_read_reply(big, CTLC_REPLY_MS);
	ck_assert_ptr_nonnull(reply);
	ck_assert(json_is_null(json_object_get(reply, "id")));
	err = json_object_get(reply, "error");
	ck_assert_int_eq(ctlc_int(err, "code"), -32600);
	ck_assert_str_eq(ctlc_str(err, "message"), "request too large");
	json_decref(reply);
	ck_assert_msg(ctlc_wait_eof(big, CTLC_REPLY_MS, NULL), "not closed after an oversized line");
	ctlc_close(big);

	/* the same without a newline: the daemon does not wait for the end of it */
	big = ctlc_open(d.sock);
	memset(line, 'z', 3000);
	(void)ctlc_send(big, line, 3000);
	reply = ctlc_read_reply(big, CTLC_REPLY_MS);
	ck_assert_msg(reply != NULL, "no error for 3000 bytes without a newline");
	ck_assert_int_eq(ctlc_reply_code(reply), -32600);
	json_decref(reply);
	ck_assert(ctlc_wait_eof(big, CTLC_REPLY_MS, NULL));
	ctlc_close(big);

	/* everyone else is still served, the old client and a new one */
	still_serving(other, &d);
	fresh = ctlc_open(d.sock);
	still_serving(fresh, &d);
	reply = ctlc_ok(fresh, "get", "{\"key\":\"k\"}");
	ck_assert_uint_eq(strlen(ctlc_str(reply, "value")), 900);
	json_decref(reply);
	ck_assert_int_eq((int)ctlc_metric(fresh, "chitchatd_control_oversized_lines_total"), 2);
	ctlc_close(fresh);
	ctlc_close(other);
	dproc_stop(&d);
}
END_TEST

START_TEST(test_clients_over_max_clients_are_refused)
{
	const char	*extra[] = { "--max-clients", "3", NULL };
	struct dproc	 d;
	struct ctlc	*c[3], *over, *again = NULL;
	json_t		*reply, *last;
	long long	 deadline;

	start_node(&d, "node-maxclients", NULL, extra);
	for (int i = 0; i < 3; i++) {
		c[i] = ctlc_open(d.sock);
		still_serving(c[i], &d);
	}
	/* the fourth is accepted, told -32005 "too many clients", and closed */
	over = ctlc_open(d.sock);
	reply = ctlc_read_reply(over, CTLC_REPLY_MS);
	ck_assert_msg(reply != NULL, "no error for a client over --max-clients");
	ck_assert_int_eq(ctlc_reply_code(reply), -32005);
	ck_assert(json_is_null(json_object_get(reply, "id")));
	json_decref(reply);
	ck_assert(ctlc_wait_eof(over, CTLC_REPLY_MS, &last));
	ck_assert_ptr_null(last);
	ctlc_close(over);
	/* the three are served */
	for (int i = 0; i < 3; i++)
		still_serving(c[i], &d);
	/* one leaves: a new client gets its place (once the daemon has reaped it) */
	ctlc_close(c[1]);
	deadline = dproc_now_ms() + WAIT_MS;
	for (;;) {
		again = ctlc_open(d.sock);
		ck_assert(ctlc_send_line(again,
		    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}"));
		reply = ctlc_read_reply(again, CTLC_REPLY_MS);
		ck_assert_ptr_nonnull(reply);
		if (ctlc_reply_code(reply) == 0)
			break;
		ck_assert_int_eq(ctlc_reply_code(reply), -32005);	/* not reaped yet */
		json_decref(reply);
		ctlc_close(again);
		ck_assert_msg(dproc_now_ms() < deadline, "no room for a client %d ms after one left",
		    WAIT_MS);
		usleep(20000);
	}
	json_decref(reply);
	still_serving(again, &d);
	ck_assert_int_ge((int)ctlc_metric(again, "chitchatd_control_clients_rejected_total"), 1);
	ck_assert_int_eq((int)ctlc_metric(again, "chitchatd_control_clients"), 3);
	ctlc_close(again);
	ctlc_close(c[0]);
	ctlc_close(c[2]);
	dproc_stop(&d);
}
END_TEST

/* Waits until the daemon holds exactly `clients` connections and `subs` subscriptions. */
static void
wait_clients(struct ctlc *c, int clients, int subs)
{
	long long	deadline = dproc_now_ms() + WAIT_MS;
	int		nc, ns;

	for (;;) {
		nc = (int)ctlc_metric(c, "chitchatd_control_clients");
		ns = (int)ctlc_metric(c, "chitchatd_control_subscriptions");
		if (nc == clients && ns == subs)
			return;
		ck_assert_msg(dproc_now_ms() < deadline, "%d clients and %d subscriptions, not %d and %d",
		    nc, ns, clients, subs);
		usleep(20000);
	}
}

START_TEST(test_clients_vanishing_mid_line_and_mid_subscription)
{
	struct dproc	 d;
	struct ctlc	*c, *gone, *sub;
	json_t		*params, *n;
	char		 value[2048];
	long long	 subid;

	start_node(&d, "node-vanish", NULL, NULL);
	c = ctlc_open(d.sock);
	still_serving(c, &d);

	/* half a line, then gone at once */
	gone = ctlc_open(d.sock);
	ck_assert(ctlc_send(gone, "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth", 30));
	ctlc_close(gone);
	/* half a line, read by the daemon, then gone */
	gone = ctlc_open(d.sock);
	ck_assert(ctlc_send(gone, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set\",\"params\":{", 50));
	usleep(100000);
	ctlc_close(gone);
	/* a pipelined batch of requests whose replies nobody reads */
	gone = ctlc_open(d.sock);
	for (int i = 0; i < 50; i++)
		ck_assert(ctlc_send_line(gone, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"members\"}"));
	ctlc_close(gone);
	wait_clients(c, 1, 0);
	still_serving(c, &d);

	/* subscribed to keys and members, notifications flowing, then gone */
	gone = ctlc_open(d.sock);
	json_decref(ctlc_ok(gone, "subscribe", "{\"topic\":\"keys\"}"));
	json_decref(ctlc_ok(gone, "subscribe", "{\"topic\":\"members\"}"));
	wait_clients(c, 2, 2);
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 60; i++) {
		char key[32];

		if (i == 20) {
			ctlc_close(gone);	/* vanishes with notifications in flight */
			gone = NULL;
		}
		snprintf(key, sizeof(key), "churn/%d", i % 7);
		value[0] = (char)('a' + i % 26);
		params = json_pack("{s:s,s:s}", "key", key, "value", value);
		json_decref(ctlc_ok_json(c, "set", params));
	}
	wait_clients(c, 1, 0);
	still_serving(c, &d);

	/* subscriptions still work for a newcomer */
	sub = ctlc_open(d.sock);
	params = ctlc_ok(sub, "subscribe", "{\"topic\":\"keys\",\"prefix\":\"churn/\"}");
	subid = ctlc_int(params, "subscription");
	ck_assert_uint_eq(json_array_size(json_object_get(params, "snapshot")), 7);
	json_decref(params);
	json_decref(ctlc_ok(c, "set", "{\"key\":\"churn/0\",\"value\":\"last\"}"));
	n = ctlc_notification(sub, WAIT_MS);
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(ctlc_int(json_object_get(n, "params"), "subscription"), subid);
	ck_assert_str_eq(ctlc_str(json_object_get(n, "params"), "value"), "last");
	json_decref(n);
	ctlc_close(sub);
	ctlc_close(c);
	dproc_stop(&d);
}
END_TEST

START_TEST(test_subscriber_that_never_reads_lags_and_is_closed)
{
	const char	*extra[] = { "--max-output", "64k", NULL };
	struct dproc	 a, b;
	struct ctlc	*ca, *cb, *sub, *other;
	json_t		*res, *last, *p;
	char		*value;
	const size_t	 vlen = 8000;
	char		 lastval[16];
	long long	 deadline;
	int		 sets = 0;

	start_node(&a, "node-a", NULL, NULL);
	start_node(&b, "node-b", &a, extra);
	ca = ctlc_open(a.sock);
	cb = ctlc_open(b.sock);
	wait_live(ca, &a, 2);
	wait_live(cb, &b, 2);

	sub = ctlc_open(b.sock);
	res = ctlc_ok(sub, "subscribe", "{\"topic\":\"keys\",\"prefix\":\"big/\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(res, "snapshot")), 0);
	json_decref(res);
	/* sub never reads again; b's own key changes quickly, 8 kB a time */
	value = malloc(vlen + 1);
	ck_assert_ptr_nonnull(value);
	memset(value, 'w', vlen);
	value[vlen] = '\0';
	while (ctlc_metric(cb, "chitchatd_control_lagged_clients_total") < 1) {
		for (int i = 0; i < 10; i++, sets++) {
			snprintf(lastval, sizeof(lastval), "%08d", sets);
			memcpy(value, lastval, 8);
			json_decref(ctlc_ok_json(cb, "set",
			    json_pack("{s:s,s:s}", "key", "big/k", "value", value)));
		}
		ck_assert_msg(sets < 2000, "no lag after %d notifications of 8 kB", sets);
	}

	/* other clients are still served, old and new */
	still_serving(cb, &b);
	other = ctlc_open(b.sock);
	still_serving(other, &b);

	/* the subscriber: complete lines, the last one "lagged", then the end */
	ck_assert_msg(ctlc_wait_eof(sub, WAIT_MS, &last), "lagged subscriber not closed");
	ck_assert_msg(last != NULL, "nothing before the close");
	ck_assert_str_eq(ctlc_str(last, "method"), "lagged");
	p = json_object_get(last, "params");
	ck_assert_int_eq(ctlc_int(p, "code"), -32006);
	ck_assert_int_eq(ctlc_int(p, "limit"), 65536);
	ck_assert_int_gt(ctlc_int(p, "queued"), 65536);
	ck_assert_ptr_null(json_object_get(p, "subscription"));
	json_decref(last);
	ctlc_close(sub);
	wait_clients(cb, 2, 0);
	ck_assert_int_eq((int)ctlc_metric(other, "chitchatd_control_lagged_clients_total"), 1);

	/* gossip went on: a sees b's heartbeat advance and gets b's last value */
	wait_heartbeat_advances(ca, a.node_id, "node-b");
	deadline = dproc_now_ms() + WAIT_MS;
	for (;;) {
		res = ctlc_ok(ca, "get", "{\"key\":\"big/k\",\"node\":\"node-b\"}");
		if (strncmp(ctlc_str(res, "value"), lastval, 8) == 0)
			break;
		json_decref(res);
		ck_assert_msg(dproc_now_ms() < deadline, "a never got b's last value %s", lastval);
		usleep(50000);
	}
	json_decref(res);
	free(value);
	ctlc_close(other);
	ctlc_close(ca);
	ctlc_close(cb);
	dproc_stop(&b);
	dproc_stop(&a);
}
END_TEST

/* ---- garbage datagrams ----------------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545F4914F6CDD1DULL) >> 32);
}

/* A SYN from node name at 127.0.0.1:port with n digest entries, for cluster. */
static void
build_syn(struct cc_wbuf *w, const char *name, uint16_t port, size_t n, const char *cluster)
{
	struct cc_digest	d;
	struct cc_digest_entry	entries[4];

	ck_assert_uint_le(n, 4);
	memset(entries, 0, sizeof(entries));
	for (size_t i = 0; i < n; i++) {
		char nm[64];

		snprintf(nm, sizeof(nm), "%s-%zu", name, i);
		test_id_named(&entries[i].id, nm, 1, port);
		entries[i].heartbeat = 10 + i;
		entries[i].max_version = i;
	}
	d.entries = entries;
	d.n = n;
	cc_wbuf_init(w);
	cc_msg_put_header(w, CC_MSG_SYN);
	cc_digest_encode(w, &d);
	cc_wbuf_str(w, cluster, strlen(cluster));
	ck_assert_int_eq(w->err, 0);
	for (size_t i = 0; i < n; i++)
		cc_id_clear(&entries[i].id);
}

START_TEST(test_200_garbage_datagrams_are_counted_and_dropped)
{
	struct dproc		 a, b;
	struct ctlc		*ca, *cb;
	struct sockaddr_in	 to;
	uint16_t		 port;
	int			 fd = dproc_udp_socket(&port);
	int			 undecodable = 0, mismatched = 0, other_sent = 0, decodable = 0;
	double			 dec0, mis0, dec, mis;
	char			 other_cluster[80];

	start_node(&a, "node-a", NULL, NULL);
	start_node(&b, "node-b", &a, NULL);
	ca = ctlc_open(a.sock);
	cb = ctlc_open(b.sock);
	wait_live(ca, &a, 2);
	wait_live(cb, &b, 2);
	dec0 = ctlc_metric(ca, "chitchatd_gossip_decode_errors_total");
	mis0 = ctlc_metric(ca, "chitchatd_gossip_cluster_mismatches_total");
	snprintf(other_cluster, sizeof(other_cluster), "other-%s", cluster_id);

	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	to.sin_port = htons(a.port);
	for (int i = 0; i < 200; i++) {
		uint8_t		 buf[1024];
		size_t		 len = 0;
		struct cc_wbuf	 w;
		struct cc_msg	 m;

		cc_wbuf_init(&w);
		switch (i % 4) {
		case 0:		/* random bytes */
			len = 1 + rnd() % 600;
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rnd();
			break;
		case 1:		/* a SYN header, then random bytes */
			cc_msg_put_header(&w, CC_MSG_SYN);
			len = w.len + rnd() % 200;
			memcpy(buf, w.data, w.len);
			for (size_t j = w.len; j < len; j++)
				buf[j] = (uint8_t)rnd();
			break;
		case 2:		/* a valid SYN of this cluster, truncated */
			build_syn(&w, "trunc", port, 1 + rnd() % 4, cluster_id);
			len = 1 + rnd() % (w.len - 1);
			memcpy(buf, w.data, len);
			break;
		case 3:		/* a valid SYN of another cluster */
			build_syn(&w, "intruder", port, 1 + rnd() % 4, other_cluster);
			len = w.len;
			memcpy(buf, w.data, len);
			other_sent++;
			break;
		}
		cc_wbuf_clear(&w);
		/* what the daemon will make of it, by the same decoder */
		memset(&m, 0, sizeof(m));
		if (cc_msg_decode(buf, len, &m, NULL, NULL) == -1)
			undecodable++;
		else {
			decodable++;
			if (m.type == CC_MSG_SYN && (m.cluster_id_len != strlen(cluster_id) ||
			    memcmp(m.cluster_id, cluster_id, m.cluster_id_len) != 0))
				mismatched++;
			cc_msg_clear(&m);
		}
		ck_assert_int_eq(sendto(fd, buf, len, 0, (struct sockaddr *)&to, sizeof(to)),
		    (ssize_t)len);
		if (i % 10 == 9)
			usleep(5000);	/* paced: loopback drops what overflows a socket buffer */
	}
	ck_assert_int_ge(undecodable, 140);
	ck_assert_int_eq(mismatched, other_sent);
	ck_assert_int_eq(decodable, other_sent);

	/* counted: exactly what was sent (nothing else sends garbage) */
	dec = wait_metric(ca, "chitchatd_gossip_decode_errors_total", dec0 + undecodable);
	mis = wait_metric(ca, "chitchatd_gossip_cluster_mismatches_total", mis0 + mismatched);
	ck_assert_int_eq((int)(dec - dec0), undecodable);
	ck_assert_int_eq((int)(mis - mis0), mismatched);
	ck_assert_int_eq((int)ctlc_metric(ca, "chitchatd_gossip_tx_messages_total{type=\"bad_cluster\"}"),
	    mismatched);

	/* and a is still in the cluster: no intruder, b live, heartbeats advancing */
	ck_assert_ptr_null(member(ca, "intruder-0"));
	wait_heartbeat_advances(cb, b.node_id, "node-a");
	wait_heartbeat_advances(ca, a.node_id, "node-b");
	ck_assert_uint_eq(count_live(ca, NULL), 2);
	ck_assert_uint_eq(count_live(cb, NULL), 2);
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"after\",\"value\":\"garbage\"}"));
	{
		long long	 deadline = dproc_now_ms() + WAIT_MS;
		json_t		*reply;

		while (ctlc_reply_code(reply = ctlc_call(cb, "get",
		    "{\"key\":\"after\",\"node\":\"node-a\"}")) != 0) {
			json_decref(reply);
			ck_assert_msg(dproc_now_ms() < deadline, "b never got a's key after the garbage");
			usleep(50000);
		}
		json_decref(reply);
	}
	close(fd);
	ctlc_close(ca);
	ctlc_close(cb);
	dproc_stop(&b);
	dproc_stop(&a);
}
END_TEST

/* ---- shutdown ---------------------------------------------------------------------------------------- */

START_TEST(test_sigterm_exits_0_and_removes_the_socket)
{
	struct dproc	 d;
	struct ctlc	*sub, *half;
	struct stat	 st;

	start_node(&d, "node-term", NULL, NULL);
	/* with a subscriber and a client in the middle of a line */
	sub = ctlc_open(d.sock);
	json_decref(ctlc_ok(sub, "subscribe", "{\"topic\":\"members\"}"));
	half = ctlc_open(d.sock);
	ck_assert(ctlc_send(half, "{\"jsonrpc\":\"2.0\",", 17));
	ck_assert_int_eq(stat(d.sock, &st), 0);
	dproc_stop(&d);		/* exit status 0, socket file removed */
	ck_assert_int_eq(d.status, 0);
	ck_assert_int_eq(stat(d.sock, &st), -1);
	/* the clients see the end */
	ck_assert(ctlc_wait_eof(sub, CTLC_REPLY_MS, NULL));
	ck_assert(ctlc_wait_eof(half, CTLC_REPLY_MS, NULL));
	ctlc_close(sub);
	ctlc_close(half);
}
END_TEST

/* Two daemons on [::1] (IPv6 gossip and advertise addresses) find each other. */
START_TEST(test_ipv6_daemons_converge)
{
	struct dproc	 a, b;
	struct ctlc	*ca, *cb;
	char		 la[64], lb[64];
	const char	*aa[] = { "--listen", la, NULL };
	const char	*ba[] = { "--listen", lb, "--seed", la, NULL };
	json_t		*m;

	snprintf(la, sizeof(la), "[::1]:%u", (unsigned)dproc_free_port());
	snprintf(lb, sizeof(lb), "[::1]:%u", (unsigned)dproc_free_port());
	start_node(&a, "v6-a", NULL, aa);
	start_node(&b, "v6-b", NULL, ba);
	ca = ctlc_open(a.sock);
	cb = ctlc_open(b.sock);
	wait_live(ca, &a, 2);
	wait_live(cb, &b, 2);
	m = member(cb, "v6-a");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(ctlc_str(m, "address"), la);
	ck_assert_str_eq(ctlc_str(m, "status"), "live");
	json_decref(m);
	ctlc_close(ca);
	ctlc_close(cb);
	dproc_stop(&a);
	dproc_stop(&b);
}
END_TEST

/*
 * A datagram longer than chitchat's 65,507 bytes (possible over IPv6) is
 * truncated by the receive buffer, so it is counted and dropped, never
 * decoded; the daemon keeps serving.
 */
START_TEST(test_ipv6_oversized_datagram_counted)
{
	struct dproc		 a;
	struct ctlc		*ca;
	char			 la[64];
	const char		*aa[] = { "--listen", la, NULL };
	static uint8_t		 big[65520];
	struct sockaddr_in6	 sin6;
	int			 fd;
	long long		 deadline;
	uint16_t		 port = dproc_free_port();

	/* the last --listen wins over the IPv4 one dproc_start gives (a.port) */
	snprintf(la, sizeof(la), "[::1]:%u", (unsigned)port);
	start_node(&a, "v6-big", NULL, aa);
	ca = ctlc_open(a.sock);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_gossip_oversized_datagrams_total"), 0);
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	sin6.sin6_port = htons(port);
	ck_assert_int_ge(fd = socket(AF_INET6, SOCK_DGRAM, 0), 0);
	memset(big, 0x53, sizeof(big));
	ck_assert_int_eq(sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&sin6,
	    sizeof(sin6)), (ssize_t)sizeof(big));
	close(fd);
	deadline = dproc_now_ms() + WAIT_MS;
	while (ctlc_metric(ca, "chitchatd_gossip_oversized_datagrams_total") < 1) {
		ck_assert_msg(dproc_now_ms() < deadline, "the oversized datagram was not counted");
		usleep(20000);
	}
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_gossip_oversized_datagrams_total"), 1);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_gossip_decode_errors_total"), 0);
	ctlc_close(ca);
	dproc_stop(&a);
}
END_TEST

static Suite *
cluster_suite(void)
{
	Suite	*s = suite_create("cluster");
	TCase	*tc = tcase_create("cluster");

	/* the daemons' temporary directories, removed even if a test fails */
	tcase_add_unchecked_fixture(tc, dproc_setup, dproc_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_three_daemons_converge_and_share_a_key);
	tcase_add_test(tc, test_ipv6_oversized_datagram_counted);
	tcase_add_test(tc, test_key_subscription_snapshot_then_events_in_order);
	tcase_add_test(tc, test_member_subscription_sees_killed_daemon_dead);
	tcase_add_test(tc, test_malformed_unknown_and_bad_params_get_errors);
	tcase_add_test(tc, test_oversized_line_closes_that_client_only);
	tcase_add_test(tc, test_clients_over_max_clients_are_refused);
	tcase_add_test(tc, test_clients_vanishing_mid_line_and_mid_subscription);
	tcase_add_test(tc, test_subscriber_that_never_reads_lags_and_is_closed);
	tcase_add_test(tc, test_200_garbage_datagrams_are_counted_and_dropped);
	tcase_add_test(tc, test_sigterm_exits_0_and_removes_the_socket);
	tcase_add_test(tc, test_ipv6_daemons_converge);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(cluster_suite)
