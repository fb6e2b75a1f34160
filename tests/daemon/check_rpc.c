/*
 * check_rpc.c: the JSON-RPC handlers (daemon/rpc.c) and the subscription
 * fan-out (daemon/subscribe.c), called directly: no socket.
 *
 * The daemon's engine is node 0 of a memnet (tests/support/memnet.h), a
 * deterministic in-memory network on a fake clock, so membership events
 * (join, death, GC) happen in simulated seconds. Requests go through
 * control_client_line() on detached clients, whose output stays in an
 * evbuffer the test reads line by line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "cc_ctlproto.h"
#include "../../daemon/ccd.h"
#include "../../daemon/config.h"
#include "../../daemon/control.h"
#include "../../daemon/leave.h"
#include "../../daemon/log.h"
#include "memnet.h"
#include "../../daemon/rpc.h"
#include "../../daemon/subscribe.h"
#include "testutil.h"

#define PORT0	10001
#define PORT1	10002

static struct {
	struct event_base	*base;
	struct ccd_config	 cfg;
	struct ccd		 ccd;
	struct memnet		*net;
	struct cc_id		 id0, id1;
	struct cc_addr		 seed;
	struct ctl_client	*c;
	json_t			*last;		/* the last reply, freed by the next call */
	int			 next_id;
} F;

static void	held_clear(void);

static void
fx_event(struct memnet *net, int node, const struct cc_event *ev, void *arg)
{
	(void)net;
	if (node == 0)
		ccd_on_engine_event(arg, ev);
}

static uint64_t
fx_now(void *arg)
{
	return memnet_now(arg);
}

/*
 * Node 0 runs with the daemon's liveness predicate and F.cfg, whose
 * extensions are `extensions` (0 for most tests: the zeroed config of a
 * node that knows none) and whose timing is the lib cluster's.
 */
static void
setup_with(unsigned extensions)
{
	struct memnet_config	mc;
	struct cc_config	cfg;

	log_init(CC_LOG_ERROR);
	memset(&F, 0, sizeof(F));
	ck_assert_ptr_nonnull(F.base = event_base_new());
	memnet_config_default(&mc, 7);
	ck_assert_ptr_nonnull(F.net = memnet_new(&mc));
	memnet_set_event_hook(F.net, fx_event, &F.ccd);
	memnet_tid(&F.id0, PORT0);
	memnet_tid(&F.id1, PORT1);
	memnet_cfg_lib(&cfg, &F.id0);
	F.cfg.extensions = extensions;
	F.cfg.gossip_interval_ms = cfg.gossip_interval_ms;
	F.cfg.fd = cfg.fd;
	cfg.liveness_predicate = config_node_is_eligible;
	cfg.predicate_arg = &F.cfg;
	ck_assert_int_eq(memnet_add_node(F.net, &cfg), 0);
	F.ccd.base = F.base;
	F.ccd.cfg = &F.cfg;
	F.ccd.engine = memnet_engine(F.net, 0);
	F.ccd.start_ms = memnet_now(F.net);
	ck_assert_ptr_nonnull(control_new(&F.ccd));
	control_set_clock(F.ccd.control, fx_now, F.net);
	ck_assert_ptr_nonnull(F.c = control_client_new(F.ccd.control, -1));
}

static void
setup(void)
{
	setup_with(0);
}

static void
setup_ext(void)
{
	setup_with(CCD_EXT_ALL);
}

static void
teardown(void)
{
	json_decref(F.last);
	held_clear();
	leave_free(&F.ccd);
	control_close(&F.ccd);
	memnet_free(F.net);
	cc_id_clear(&F.id0);
	cc_id_clear(&F.id1);
	event_base_free(F.base);
}

/* Starts node 1 with node 0 as its seed. */
static void
add_node1(void)
{
	struct cc_config cfg;

	memnet_cfg_lib(&cfg, &F.id1);
	F.seed = F.id0.addr;
	cfg.seeds = &F.seed;
	cfg.n_seeds = 1;
	ck_assert_int_eq(memnet_add_node(F.net, &cfg), 1);
}

static bool
node0_sees_node1_live(struct memnet *net, void *arg)
{
	(void)arg;
	return memnet_sees_live(net, 0, &F.id1);
}

/* The next line queued for c, parsed, or NULL if none (caller decrefs). */
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

/* Notifications read while looking for a reply, per client, in order. */
static struct {
	struct ctl_client	*c;
	json_t			*lines;
} held[8];

static json_t *
held_of(struct ctl_client *c)
{
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		if (held[i].c == c)
			return held[i].lines;
		if (held[i].c == NULL) {
			held[i].c = c;
			held[i].lines = json_array();
			return held[i].lines;
		}
	}
	ck_abort_msg("too many clients");
	return NULL;
}

static void
held_clear(void)
{
	for (size_t i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		json_decref(held[i].lines);
		held[i].c = NULL;
		held[i].lines = NULL;
	}
}

/* The next line for c: held notifications first. */
static json_t *
next_line(struct ctl_client *c)
{
	json_t *h = held_of(c), *j;

	if (json_array_size(h) > 0) {
		j = json_incref(json_array_get(h, 0));
		json_array_remove(h, 0);
		return j;
	}
	return read_line(c);
}

static size_t
lines_queued(struct ctl_client *c)
{
	struct evbuffer_ptr	p;
	size_t			n = json_array_size(held_of(c));

	p = evbuffer_search(control_client_output(c), "\n", 1, NULL);
	while (p.pos != -1) {
		n++;
		evbuffer_ptr_set(control_client_output(c), &p, 1, EVBUFFER_PTR_ADD);
		p = evbuffer_search(control_client_output(c), "\n", 1, &p);
	}
	return n;
}

/*
 * Sends one raw line on c; returns the reply (kept in F.last), or NULL if
 * none. Notifications met on the way are held for next_line().
 */
static json_t *
raw_on(struct ctl_client *c, const char *line)
{
	json_t *j;

	json_decref(F.last);
	F.last = NULL;
	control_client_line(c, line, strlen(line));
	while ((j = read_line(c)) != NULL) {
		if (json_is_array(j) || json_object_get(j, "id") != NULL) {
			F.last = j;
			break;
		}
		json_array_append_new(held_of(c), j);
	}
	return F.last;
}

static json_t *
raw(const char *line)
{
	return raw_on(F.c, line);
}

/* Single quotes stand for double quotes, to keep the tests readable. */
static json_t *
call_on(struct ctl_client *c, const char *method, const char *params)
{
	static char	 buf[40000];
	json_t		*r;

	snprintf(buf, sizeof(buf), "{'jsonrpc':'2.0','id':%d,'method':'%s','params':%s}",
	    ++F.next_id, method, params != NULL ? params : "{}");
	for (char *p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	r = raw_on(c, buf);
	ck_assert_msg(r != NULL, "%s: no reply", method);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), F.next_id);
	return r;
}

/* The result of a call that must succeed (borrowed until the next call). */
static json_t *
ok_on(struct ctl_client *c, const char *method, const char *params)
{
	json_t *r = call_on(c, method, params), *res = json_object_get(r, "result");

	ck_assert_msg(res != NULL, "%s %s failed: %s", method, params ? params : "",
	    json_dumps(r, JSON_COMPACT));
	return res;
}

static json_t *
ok(const char *method, const char *params)
{
	return ok_on(F.c, method, params);
}

/* The error code of a reply (0 if it is not an error). */
static int
code_of(const json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static int
rpc_err(const char *method, const char *params)
{
	json_t *r = call_on(F.c, method, params);

	ck_assert_msg(json_object_get(r, "result") == NULL, "%s %s succeeded", method,
	    params ? params : "");
	return code_of(r);
}

static const char *
reason_of(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(r, "error"),
	    "data"), "reason"));
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	ck_assert_msg(s != NULL, "no string \"%s\"", k);
	return s;
}

static json_int_t
num(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	ck_assert_msg(json_is_integer(v), "no integer \"%s\"", k);
	return json_integer_value(v);
}

/* ---- hello, info, metrics ---------------------------------------------------- */

START_TEST(test_hello)
{
	json_t *r = ok("hello", "{'protocol':1,'client':'check_rpc 1.0','future':[1,2]}");

	ck_assert_int_eq(num(r, "protocol"), CC_CTL_PROTOCOL);
	ck_assert_str_eq(str(r, "version"), CHITCHATD_VERSION);
	ck_assert_str_eq(str(r, "node_id"), "node_10001");
	ck_assert_str_eq(str(r, "cluster_id"), "default-cluster");
	ck_assert(F.c->hello);
	ck_assert_int_eq(rpc_err("hello", "{}"), -32602);
	ck_assert_int_eq(rpc_err("hello", "{'protocol':'one'}"), -32602);
	ck_assert_int_eq(F.c->state, CTL_ACTIVE);
}
END_TEST

START_TEST(test_hello_mismatch)
{
	json_t *r;

	ck_assert_int_eq(rpc_err("hello", "{'protocol':2}"), -32002);
	r = F.last;
	ck_assert_int_eq(num(json_object_get(json_object_get(r, "error"), "data"), "protocol"),
	    1);
	ck_assert_ptr_nonnull(strstr(reason_of(r), "protocol 1"));
	/* the error went out, then the connection closed */
	ck_assert_int_ne(F.c->state, CTL_ACTIVE);
	ck_assert_ptr_null(raw("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"info\"}"));
}
END_TEST

START_TEST(test_hello_mismatch_in_batch)
{
	json_t *r = raw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":7}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"set\",\"params\":{\"key\":\"k\",\"value\":\"v\"}}]");

	ck_assert(json_is_array(r));
	ck_assert_int_eq(json_array_size(r), 2);
	ck_assert_int_eq(code_of(json_array_get(r, 0)), -32002);
	ck_assert_int_eq(code_of(json_array_get(r, 1)), -32003);	/* not run */
	ck_assert_ptr_null(cc_node_get(cc_engine_self_node(F.ccd.engine), "k", 1));
	ck_assert_int_ne(F.c->state, CTL_ACTIVE);
}
END_TEST

START_TEST(test_info)
{
	json_t *r, *counts;

	memnet_run_for(F.net, 2500);
	ok("set", "{'key':'a','value':'1'}");
	r = ok("info", NULL);
	ck_assert_str_eq(str(r, "node_id"), "node_10001");
	ck_assert_int_eq(num(r, "generation"), 0);
	ck_assert_str_eq(str(r, "gossip_address"), "127.0.0.1:10001");
	ck_assert_str_eq(str(r, "cluster_id"), "default-cluster");
	ck_assert_str_eq(str(r, "version"), CHITCHATD_VERSION);
	ck_assert_int_eq(num(r, "protocol"), 1);
	ck_assert_int_eq(num(r, "uptime_s"), 2);
	ck_assert_int_gt(num(r, "heartbeat"), 1);
	ck_assert_int_eq(num(r, "max_version"), 1);
	counts = json_object_get(r, "counts");
	ck_assert_int_eq(num(counts, "nodes"), 1);
	ck_assert_int_eq(num(counts, "live"), 1);
	ck_assert_int_eq(num(counts, "dead"), 0);
	ck_assert_int_eq(num(counts, "scheduled"), 0);
	ck_assert_int_eq(num(counts, "ready"), 1);
	ck_assert_int_eq(num(counts, "keys"), 1);
}
END_TEST

START_TEST(test_metrics)
{
	const char	*text;
	json_t		*r;

	memnet_run_for(F.net, 1000);
	ok("set", "{'key':'abc','value':'12345'}");
	ck_assert_int_eq(rpc_err("nope", NULL), -32601);
	raw("{broken");
	r = ok("metrics", NULL);
	text = str(r, "text");
	ck_assert_ptr_nonnull(strstr(text, "# TYPE chitchatd_live_nodes gauge\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_live_nodes 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_dead_nodes 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_scheduled_nodes 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_keys 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_cluster_state_bytes 8\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_uptime_seconds 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "chitchatd_info{version=\"" CHITCHATD_VERSION
	    "\",node_id=\"node_10001\",cluster_id=\"default-cluster\",generation=\"0\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE chitchatd_gossip_rounds_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "chitchatd_gossip_rx_messages_total{type=\"syn\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_control_requests_total 4\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_control_request_errors_total 2\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_control_parse_errors_total 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_control_clients 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_control_lagged_clients_total 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_dns_failures_total 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_limit_nodes_refused_total 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_limit_keys_refused_total 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_limit_bytes_refused_total 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_remote_state_bytes 0\n"));
	/* every sample line is "name[{labels}] value" and has a TYPE */
	for (const char *l = text; *l; l = strchr(l, '\n') + 1) {
		char name[128];

		if (*l == '#')
			continue;
		ck_assert_int_eq(sscanf(l, "%127[a-z_]", name), 1);
		ck_assert_msg(strncmp(name, "chitchatd_", 10) == 0, "%s", name);
		{
			char type[160];

			snprintf(type, sizeof(type), "# TYPE %s ", name);
			ck_assert_msg(strstr(text, type) != NULL, "no TYPE for %s", name);
		}
	}
}
END_TEST

/* ---- keys ---------------------------------------------------------------------- */

START_TEST(test_set_get_delete)
{
	const struct cc_node	*me = cc_engine_self_node(F.ccd.engine);
	json_t			*r, *node;

	r = ok("set", "{'key':'a','value':'1'}");
	ck_assert_int_eq(num(r, "version"), 1);
	ck_assert_ptr_nonnull(cc_node_get(me, "a", 1));
	r = ok("set", "{'key':'a','value':'2','unknown_member':true}");
	ck_assert_int_eq(num(r, "version"), 2);
	r = ok("set", "{'key':'a','value':'2'}");	/* the same value: a no-op */
	ck_assert_int_eq(num(r, "version"), 2);
	r = ok("get", "{'key':'a'}");
	ck_assert_str_eq(str(r, "key"), "a");
	ck_assert_str_eq(str(r, "value"), "2");
	ck_assert_int_eq(num(r, "version"), 2);
	ck_assert_str_eq(str(r, "status"), "set");
	node = json_object_get(r, "node");
	ck_assert_str_eq(str(node, "node_id"), "node_10001");
	ck_assert_int_eq(num(node, "generation"), 0);
	ck_assert_str_eq(str(node, "address"), "127.0.0.1:10001");
	/* ttl */
	r = ok("set", "{'key':'t','value':'x','ttl':true}");
	ck_assert_int_eq(num(r, "version"), 3);
	ck_assert_str_eq(str(ok("get", "{'key':'t'}"), "status"), "ttl_marked");
	r = ok("delete_after_ttl", "{'key':'a'}");
	ck_assert_int_eq(num(r, "version"), 4);
	r = ok("get", "{'key':'a'}");
	ck_assert_str_eq(str(r, "status"), "ttl_marked");
	ck_assert_str_eq(str(r, "value"), "2");
	/* delete */
	r = ok("delete", "{'key':'a'}");
	ck_assert_int_eq(num(r, "version"), 5);
	ck_assert_int_eq(rpc_err("get", "{'key':'a'}"), -32000);
	ck_assert_str_eq(reason_of(F.last), "no such key");
	ck_assert_int_eq(rpc_err("delete", "{'key':'missing'}"), -32000);
	/* a deleted key is gone: deleting it again changes nothing */
	ck_assert_int_eq(rpc_err("delete", "{'key':'a'}"), -32000);
	ck_assert_int_eq(rpc_err("delete_after_ttl", "{'key':'a'}"), -32000);
	ck_assert_int_eq(cc_node_max_version(cc_engine_self_node(F.ccd.engine)), 5);
	ck_assert_int_eq(rpc_err("delete_after_ttl", "{'key':'missing'}"), -32000);
	/* empty key and value are fine, and \u0000 inside strings too */
	ok("set", "{'key':'','value':''}");
	r = ok("set", "{'key':'nul','value':'a\\u0000b'}");
	r = ok("get", "{'key':'nul'}");
	ck_assert_int_eq(json_string_length(json_object_get(r, "value")), 3);
}
END_TEST

START_TEST(test_set_invalid)
{
	static char	 big[20000], params[20100];

	/* a key starting with a byte >= 0x80 would crash Rust peers */
	ck_assert_int_eq(rpc_err("set", "{'key':'\\u00e9t\\u00e9','value':'1'}"), -32001);
	ck_assert_ptr_nonnull(reason_of(F.last));
	memset(big, 'x', 16380);
	snprintf(params, sizeof(params), "{'key':'k','value':'%s'}", big);
	ck_assert_int_eq(rpc_err("set", params), -32001);
	ck_assert_ptr_nonnull(strstr(reason_of(F.last), "16384"));
	/* params checks */
	ck_assert_int_eq(rpc_err("set", "{'key':'a'}"), -32602);
	ck_assert_int_eq(rpc_err("set", "{'value':'a'}"), -32602);
	ck_assert_int_eq(rpc_err("set", "{'key':1,'value':'a'}"), -32602);
	ck_assert_int_eq(rpc_err("set", "{'key':'a','value':2}"), -32602);
	ck_assert_int_eq(rpc_err("set", "{'key':'a','value':'b','ttl':'yes'}"), -32602);
	ck_assert_int_eq(rpc_err("get", "{}"), -32602);
	ck_assert_int_eq(rpc_err("get", "{'key':'a','node':5}"), -32602);
	ck_assert_int_eq(rpc_err("get", "{'key':'a','node':{'generation':1}}"), -32602);
	ck_assert_int_eq(rpc_err("get", "{'key':'a','node':{'node_id':'x','address':'nope'}}"),
	    -32602);
	ck_assert_int_eq(rpc_err("keys", "{'prefix':3}"), -32602);
	ck_assert_int_eq(rpc_err("keys", "{'all':true,'node':'node_10001'}"), -32602);
	ck_assert_int_eq(rpc_err("members", "{'filter':'zombies'}"), -32602);
	ck_assert_int_eq(rpc_err("subscribe", "{'topic':'weather'}"), -32602);
	ck_assert_int_eq(rpc_err("unsubscribe", "{}"), -32602);
	ck_assert_int_eq(rpc_err("unsubscribe", "{'subscription':-1}"), -32602);
	ck_assert_int_eq(rpc_err("unsubscribe", "{'subscription':12345}"), -32000);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(F.ccd.engine)), 0);
}
END_TEST

START_TEST(test_keys)
{
	json_t *r, *e;

	ok("set", "{'key':'svc/b','value':'2'}");
	ok("set", "{'key':'svc/a','value':'1'}");
	ok("set", "{'key':'other','value':'3'}");
	ok("delete", "{'key':'svc/b'}");
	r = ok("keys", "{'prefix':'svc/'}");
	ck_assert_str_eq(str(json_object_get(r, "node"), "node_id"), "node_10001");
	e = json_object_get(r, "entries");
	ck_assert_int_eq(json_array_size(e), 1);
	ck_assert_str_eq(str(json_array_get(e, 0), "key"), "svc/a");
	r = ok("keys", "{'prefix':'svc/','include_deleted':true}");
	e = json_object_get(r, "entries");
	ck_assert_int_eq(json_array_size(e), 2);
	ck_assert_str_eq(str(json_array_get(e, 1), "key"), "svc/b");
	ck_assert_str_eq(str(json_array_get(e, 1), "status"), "deleted");
	r = ok("keys", NULL);
	ck_assert_int_eq(json_array_size(json_object_get(r, "entries")), 2);
	ck_assert_str_eq(str(json_array_get(json_object_get(r, "entries"), 0), "key"), "other");
	r = ok("keys", "{'all':true,'prefix':'svc/'}");
	ck_assert_int_eq(json_array_size(json_object_get(r, "nodes")), 1);
	ck_assert_int_eq(rpc_err("keys", "{'node':'nobody'}"), -32000);
	ck_assert_str_eq(reason_of(F.last), "no such node");
}
END_TEST

/* ---- JSON-RPC framing ------------------------------------------------------------ */

START_TEST(test_parse_errors)
{
	json_t *r;

	r = raw("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\"");
	ck_assert_int_eq(code_of(r), -32700);
	ck_assert(json_is_null(json_object_get(r, "id")));
	ck_assert_ptr_nonnull(reason_of(r));
	r = raw("\x01\xff garbage");
	ck_assert_int_eq(code_of(r), -32700);
	r = raw("{\"a\":1,\"a\":2}");
	ck_assert_int_eq(code_of(r), -32700);
	/* the connection keeps working */
	ok("info", NULL);
	ck_assert_int_eq(F.ccd.counters.parse_errors, 3);
	/* blank lines are ignored */
	ck_assert_ptr_null(raw(""));
	ck_assert_ptr_null(raw("  \r"));
}
END_TEST

START_TEST(test_invalid_requests)
{
	json_t *r;

	r = raw("{\"id\":1,\"method\":\"info\"}");		/* no jsonrpc */
	ck_assert_int_eq(code_of(r), -32600);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	r = raw("{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"info\"}");
	ck_assert_int_eq(code_of(r), -32600);
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":7}");
	ck_assert_int_eq(code_of(r), -32600);
	r = raw("{\"jsonrpc\":\"2.0\",\"method\":1,\"params\":\"bar\"}");	/* spec example */
	ck_assert_int_eq(code_of(r), -32600);
	ck_assert(json_is_null(json_object_get(r, "id")));
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":\"info\"}");
	ck_assert_int_eq(code_of(r), -32600);
	ck_assert(json_is_null(json_object_get(r, "id")));
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"info\",\"params\":[1]}");
	ck_assert_int_eq(code_of(r), -32602);
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"info\",\"params\":7}");
	ck_assert_int_eq(code_of(r), -32600);
	r = raw("42");
	ck_assert_int_eq(code_of(r), -32600);
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"no_such_method\"}");
	ck_assert_int_eq(code_of(r), -32601);
	ck_assert_str_eq(str(r, "id"), "abc");
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"info\"}");
	ck_assert(json_is_null(json_object_get(r, "id")));
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	r = raw("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"info\"}");
	ck_assert(json_real_value(json_object_get(r, "id")) == 1.5);
}
END_TEST

START_TEST(test_notifications)
{
	/* no id: run, no reply, even on error */
	ck_assert_ptr_null(raw("{\"jsonrpc\":\"2.0\",\"method\":\"set\","
	    "\"params\":{\"key\":\"n\",\"value\":\"1\"}}"));
	ck_assert_ptr_nonnull(cc_node_get(cc_engine_self_node(F.ccd.engine), "n", 1));
	ck_assert_ptr_null(raw("{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}"));
	ck_assert_ptr_null(raw("{\"jsonrpc\":\"2.0\",\"method\":\"get\",\"params\":{}}"));
	ck_assert_uint_eq(lines_queued(F.c), 0);
	ck_assert_int_eq(F.ccd.counters.request_errors, 2);
}
END_TEST

START_TEST(test_batches)
{
	json_t *r;

	r = raw("[]");
	ck_assert(json_is_object(r));
	ck_assert_int_eq(code_of(r), -32600);
	r = raw("[1,2]");
	ck_assert_int_eq(json_array_size(r), 2);
	ck_assert_int_eq(code_of(json_array_get(r, 0)), -32600);
	r = raw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set\",\"params\":{\"key\":\"b\",\"value\":\"1\"}},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"set\",\"params\":{\"key\":\"c\",\"value\":\"1\"}},"
	    "{\"foo\":\"boo\"},"
	    "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"frobnicate\"},"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"get\",\"params\":{\"key\":\"c\"}}]");
	ck_assert(json_is_array(r));
	ck_assert_int_eq(json_array_size(r), 4);
	ck_assert_int_eq(num(json_object_get(json_array_get(r, 0), "result"), "version"), 1);
	ck_assert_int_eq(code_of(json_array_get(r, 1)), -32600);
	ck_assert_int_eq(code_of(json_array_get(r, 2)), -32601);
	ck_assert_str_eq(str(json_object_get(json_array_get(r, 3), "result"), "value"), "1");
	/* only notifications: nothing at all */
	ck_assert_ptr_null(raw("[{\"jsonrpc\":\"2.0\",\"method\":\"info\"}]"));
	ck_assert_uint_eq(lines_queued(F.c), 0);
}
END_TEST

/* ---- access control --------------------------------------------------------------- */

static struct ccd_ident	users[] = { { (char *)"alice", 1000 } };
static struct ccd_ident	groups[] = { { (char *)"ops", 50 } };

/* F.c as a peer with these credentials (SO_PEERCRED, SO_PEERGROUPS). */
static void
as_peer(uid_t uid, gid_t gid, const gid_t *extra, size_t n_extra)
{
	free(F.c->groups);
	F.c->groups = NULL;
	F.c->n_groups = 0;
	F.c->has_creds = true;
	F.c->pid = 4242;
	F.c->uid = uid;
	F.c->gid = gid;
	if (n_extra > 0) {
		ck_assert_ptr_nonnull(F.c->groups = calloc(n_extra, sizeof(gid_t)));
		memcpy(F.c->groups, extra, n_extra * sizeof(gid_t));
		F.c->n_groups = n_extra;
	}
}

static void
restrict_writes(void)
{
	F.cfg.write_users = users;
	F.cfg.n_write_users = 1;
	F.cfg.write_groups = groups;
	F.cfg.n_write_groups = 1;
	F.ccd.control->self_uid = 4321;		/* the daemon's own uid */
}

/* Whether F.c may set a key now (any other error fails the test). */
static bool
may_set(void)
{
	json_t *r = call_on(F.c, "set", "{'key':'w','value':'1'}");

	if (json_object_get(r, "result") != NULL)
		return true;
	ck_assert_int_eq(code_of(r), -32003);
	return false;
}

START_TEST(test_access_method_table)
{
	static const char *writes[] = { "set", "delete", "delete_after_ttl", "keys_install",
	    "keys_use", "keys_remove", "leave", "force_leave" };
	static const char *reads[] = { "hello", "info", "members", "get", "keys", "subscribe",
	    "unsubscribe", "metrics", "keys_list" };

	for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		ck_assert_msg(rpc_method_writes(writes[i]) == 1, "%s", writes[i]);
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		ck_assert_msg(rpc_method_writes(reads[i]) == 0, "%s", reads[i]);
	ck_assert_int_eq(rpc_method_writes("nope"), -1);
}
END_TEST

START_TEST(test_access_open_by_default)
{
	/* no allow-list: whoever connected may write (the socket is the gate) */
	as_peer(65534, 65534, NULL, 0);
	ck_assert_str_eq(str(ok("hello", "{'protocol':1}"), "access"), "write");
	ck_assert(may_set());
	ck_assert_uint_eq(F.ccd.counters.denied, 0);
}
END_TEST

START_TEST(test_access_lists)
{
	static const gid_t	 other[] = { 7, 8 }, ops[] = { 7, 50 };
	json_t			*r;

	restrict_writes();
	/* not listed: every write method refused, every read method served */
	as_peer(2000, 2000, other, 2);
	ck_assert_str_eq(str(ok("hello", "{'protocol':1}"), "access"), "read");
	ck_assert(!may_set());
	ck_assert_str_eq(str(json_object_get(F.last, "error"), "message"), "not allowed");
	ck_assert_str_eq(reason_of(F.last), "uid 2000 may not call the write method set "
	    "(see control-write-users, control-write-groups)");
	r = call_on(F.c, "delete", "{'key':'w'}");
	ck_assert_int_eq(code_of(r), -32003);
	ck_assert_ptr_nonnull(strstr(reason_of(r), "method delete "));
	ck_assert_int_eq(code_of(call_on(F.c, "delete_after_ttl", "{'key':'w'}")), -32003);
	ck_assert_ptr_null(cc_node_get(cc_engine_self_node(F.ccd.engine), "w", 1));
	ok("info", NULL);
	ok("members", NULL);
	ok("keys", NULL);
	ok("metrics", NULL);
	ck_assert_int_eq(rpc_err("get", "{'key':'w'}"), -32000);	/* served: no such key */
	ok("subscribe", "{'prefix':''}");
	ok("unsubscribe", "{'subscription':1}");
	ck_assert_uint_eq(F.ccd.counters.denied, 3);
	/* a refused call with bad params is still refused, not "invalid params" */
	ck_assert_int_eq(rpc_err("set", "{}"), -32003);
	/* who may */
	as_peer(1000, 1000, NULL, 0);			/* listed user */
	ck_assert(may_set());
	as_peer(0, 0, NULL, 0);				/* root */
	ck_assert(may_set());
	as_peer(4321, 4321, NULL, 0);			/* the daemon's own uid */
	ck_assert(may_set());
	as_peer(2000, 50, NULL, 0);			/* listed primary group */
	ck_assert(may_set());
	as_peer(2000, 2000, ops, 2);			/* listed supplementary group */
	ck_assert_str_eq(str(ok("hello", "{'protocol':1}"), "access"), "write");
	ck_assert(may_set());
	/* unknown credentials (SO_PEERCRED failed): never */
	as_peer(0, 0, NULL, 0);
	F.c->has_creds = false;
	ck_assert(!may_set());
	ck_assert_ptr_nonnull(strstr(reason_of(F.last), "unknown peer credentials"));
	ck_assert_uint_eq(F.ccd.counters.denied, 5);
	/* groups only: users outside them are refused too */
	F.cfg.n_write_users = 0;
	as_peer(1000, 1000, NULL, 0);
	ck_assert(!may_set());
	as_peer(1000, 1000, ops, 2);
	ck_assert(may_set());
}
END_TEST

START_TEST(test_access_readonly_client)
{
	/* the read-only socket: refused whoever the caller, lists or not */
	as_peer(0, 0, NULL, 0);
	F.c->readonly = true;
	ck_assert_str_eq(str(ok("hello", "{'protocol':1}"), "access"), "read");
	ck_assert(!may_set());
	ck_assert_str_eq(reason_of(F.last), "set is a write method and this socket is read-only");
	ok("info", NULL);
	ok("subscribe", "{'prefix':''}");
	restrict_writes();
	ck_assert(!may_set());
	ck_assert_uint_eq(F.ccd.counters.denied, 2);
}
END_TEST

START_TEST(test_access_batch_and_notifications)
{
	json_t		*r;
	const char	*text;

	restrict_writes();
	as_peer(2000, 2000, NULL, 0);
	ck_assert_int_eq(cc_engine_set(F.ccd.engine, "k", 1, "v", 1), 0);
	/* each refused call of a batch gets its own error; the others run */
	r = raw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"set\",\"params\":{\"key\":\"a\",\"value\":\"1\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"get\",\"params\":{\"key\":\"k\"}},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"delete\",\"params\":{\"key\":\"k\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"delete\",\"params\":{\"key\":\"k\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"info\"}]");
	ck_assert(json_is_array(r));
	ck_assert_int_eq(json_array_size(r), 4);
	ck_assert_int_eq(code_of(json_array_get(r, 0)), -32003);
	ck_assert_int_eq(num(json_array_get(r, 0), "id"), 1);
	ck_assert_str_eq(str(json_object_get(json_array_get(r, 1), "result"), "value"), "v");
	ck_assert_int_eq(code_of(json_array_get(r, 2)), -32003);
	ck_assert_int_eq(num(json_array_get(r, 2), "id"), 3);
	ck_assert_ptr_nonnull(json_object_get(json_array_get(r, 3), "result"));
	ck_assert_ptr_nonnull(cc_node_get(cc_engine_self_node(F.ccd.engine), "k", 1));
	/* a refused notification: no reply, counted */
	ck_assert_ptr_null(raw("{\"jsonrpc\":\"2.0\",\"method\":\"set\","
	    "\"params\":{\"key\":\"n\",\"value\":\"1\"}}"));
	ck_assert_ptr_null(cc_node_get(cc_engine_self_node(F.ccd.engine), "n", 1));
	ck_assert_uint_eq(F.ccd.counters.denied, 4);
	text = str(ok("metrics", NULL), "text");
	ck_assert_ptr_nonnull(strstr(text, "# TYPE chitchatd_control_denied_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_control_denied_total 4\n"));
}
END_TEST

/* Lines of f holding needle. */
static int
count_in(FILE *f, const char *needle)
{
	char	line[1024];
	int	n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	return n;
}

START_TEST(test_access_warning_rate_limited)
{
	FILE	*f = tmpfile();
	int	 saved = dup(2);
	char	 line[1024];

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	restrict_writes();
	as_peer(2000, 2000, NULL, 0);
	log_set_level(CC_LOG_WARN);
	fflush(stderr);
	ck_assert_int_ne(dup2(fileno(f), 2), -1);
	for (int i = 0; i < 5; i++)
		ck_assert(!may_set());
	memnet_run_for(F.net, 30000);
	ck_assert(!may_set());			/* still within the minute: quiet */
	memnet_run_for(F.net, 31000);
	ck_assert(!may_set());			/* a minute later: one more line */
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	log_set_level(CC_LOG_ERROR);
	ck_assert_uint_eq(F.ccd.counters.denied, 7);
	ck_assert_int_eq(count_in(f, "refused"), 2);
	rewind(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_msg(strstr(line, "(pid 4242, uid 2000): set refused: not in "
	    "control-write-users or control-write-groups") != NULL, "%s", line);
	ck_assert_int_eq(count_in(f, "(5 more refused since the last warning)"), 1);
	fclose(f);
}
END_TEST

/* ---- members --------------------------------------------------------------------- */

START_TEST(test_members)
{
	json_t		*r, *m, *me = NULL, *other = NULL;
	size_t		 i;

	memnet_run_for(F.net, 500);
	add_node1();
	memnet_set(F.net, 1, "k", "remote");
	ck_assert(memnet_run_until_pred(F.net, node0_sees_node1_live, NULL, 10000));
	memnet_run_for(F.net, 500);
	r = ok("members", NULL);
	m = json_object_get(r, "members");
	ck_assert_int_eq(json_array_size(m), 2);
	json_array_foreach(m, i, r) {
		if (strcmp(str(r, "node_id"), "node_10001") == 0)
			me = r;
		else
			other = r;
	}
	ck_assert_ptr_nonnull(me);
	ck_assert_ptr_nonnull(other);
	ck_assert_str_eq(str(me, "status"), "self");
	ck_assert(json_is_null(json_object_get(me, "phi")));
	ck_assert(json_is_true(json_object_get(me, "ready")));
	ck_assert_str_eq(str(other, "status"), "live");
	ck_assert_str_eq(str(other, "address"), "127.0.0.1:10002");
	ck_assert(json_is_real(json_object_get(other, "phi")));
	ck_assert_int_lt(num(other, "last_heartbeat_ago_ms"), 1000);
	ck_assert_int_eq(num(other, "keys"), 1);
	ck_assert_int_eq(num(other, "max_version"), 1);
	ck_assert_int_eq(num(other, "last_gc_version"), 0);
	ck_assert_int_gt(num(other, "heartbeat"), 1);
	ck_assert_int_eq(json_array_size(json_object_get(ok("members", "{'filter':'live'}"),
	    "members")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(ok("members", "{'filter':'dead'}"),
	    "members")), 0);
	/* a remote key, by node_id and by full id */
	r = ok("get", "{'key':'k','node':'node_10002'}");
	ck_assert_str_eq(str(r, "value"), "remote");
	ck_assert_str_eq(str(json_object_get(r, "node"), "node_id"), "node_10002");
	r = ok("get", "{'key':'k','node':{'node_id':'node_10002','generation':0,"
	    "'address':'127.0.0.1:10002'}}");
	ck_assert_str_eq(str(r, "value"), "remote");
	ck_assert_int_eq(rpc_err("get", "{'key':'k','node':{'node_id':'node_10002','generation':1}}"),
	    -32000);
	ck_assert_int_eq(rpc_err("get", "{'key':'k'}"), -32000);
	r = ok("keys", "{'all':true}");
	ck_assert_int_eq(json_array_size(json_object_get(r, "nodes")), 2);
	/* node 1 stops: dead, then scheduled */
	memnet_stop(F.net, 1);
	memnet_run_for(F.net, 15000);
	r = ok("members", "{'filter':'dead'}");
	ck_assert_int_eq(json_array_size(json_object_get(r, "members")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(r, "members"), 0), "status"),
	    "scheduled");
	r = ok("info", NULL);
	ck_assert_int_eq(num(json_object_get(r, "counts"), "scheduled"), 1);
	ck_assert_int_eq(num(json_object_get(r, "counts"), "live"), 1);
}
END_TEST

/* ---- subscriptions ---------------------------------------------------------------- */

/* The next notification of method on c (skipping other methods), or NULL. */
static json_t *
next_note(struct ctl_client *c, const char *method)
{
	json_t *j;

	while ((j = next_line(c)) != NULL) {
		const char *m = json_string_value(json_object_get(j, "method"));

		ck_assert_ptr_null(json_object_get(j, "id"));
		if (m != NULL && strcmp(m, method) == 0) {
			json_t *p = json_incref(json_object_get(j, "params"));

			json_decref(j);
			return p;
		}
		json_decref(j);
	}
	return NULL;
}

START_TEST(test_subscribe_keys)
{
	json_t		*r, *snap, *p;
	json_int_t	 sub;

	memnet_run_for(F.net, 500);
	add_node1();
	memnet_set(F.net, 1, "svc/remote", "r1");
	ck_assert(memnet_run_until_pred(F.net, node0_sees_node1_live, NULL, 10000));
	memnet_run_for(F.net, 500);
	ok("set", "{'key':'svc/a','value':'1'}");
	ok("set", "{'key':'x','value':'1'}");
	r = ok("subscribe", "{'topic':'keys','prefix':'svc/'}");
	sub = num(r, "subscription");
	ck_assert_int_gt(sub, 0);
	snap = json_object_get(r, "snapshot");
	ck_assert_int_eq(json_array_size(snap), 2);	/* both nodes, prefix only */
	ck_assert_str_eq(str(json_array_get(snap, 0), "node_id"), "node_10001");
	ck_assert_str_eq(str(json_array_get(snap, 0), "key"), "svc/a");
	ck_assert_str_eq(str(json_array_get(snap, 0), "status"), "set");
	ck_assert_str_eq(str(json_array_get(snap, 1), "node_id"), "node_10002");
	ck_assert_str_eq(str(json_array_get(snap, 1), "value"), "r1");
	ck_assert_int_eq(num(json_array_get(snap, 1), "generation"), 0);
	ck_assert_uint_eq(lines_queued(F.c), 0);
	/* own changes, in order: set, ttl, deleted; out-of-prefix keys ignored */
	ok("set", "{'key':'svc/b','value':'2'}");
	ok("set", "{'key':'y','value':'2'}");
	ok("delete_after_ttl", "{'key':'svc/b'}");
	ok("delete", "{'key':'svc/a'}");
	ok("set", "{'key':'svc/c','value':'3','ttl':true}");
	/* each set's reply came first, then its notification */
	{
		static const char *events[] = { "set", "ttl_marked", "deleted", "ttl_marked" };
		static const char *keys[] = { "svc/b", "svc/b", "svc/a", "svc/c" };
		json_int_t last = 0;

		for (int i = 0; i < 4; i++) {
			ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEY_CHANGED));
			ck_assert_int_eq(num(p, "subscription"), sub);
			ck_assert_str_eq(str(p, "event"), events[i]);
			ck_assert_str_eq(str(p, "key"), keys[i]);
			ck_assert_str_eq(str(p, "node_id"), "node_10001");
			ck_assert_int_eq(num(p, "generation"), 0);
			ck_assert_str_eq(str(p, "address"), "127.0.0.1:10001");
			ck_assert_int_gt(num(p, "version"), last);
			last = num(p, "version");
			if (i == 1)
				ck_assert_str_eq(str(p, "value"), "2");
			json_decref(p);
		}
		ck_assert_ptr_null(next_line(F.c));
	}
	/* remote changes arrive through gossip */
	memnet_set(F.net, 1, "svc/remote", "r2");
	memnet_run_for(F.net, 2000);
	memnet_delete(F.net, 1, "svc/remote");
	memnet_set(F.net, 1, "elsewhere", "z");
	memnet_run_for(F.net, 2000);
	ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEY_CHANGED));
	ck_assert_str_eq(str(p, "node_id"), "node_10002");
	ck_assert_str_eq(str(p, "event"), "set");
	ck_assert_str_eq(str(p, "value"), "r2");
	json_decref(p);
	ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEY_CHANGED));
	ck_assert_str_eq(str(p, "event"), "deleted");
	ck_assert_str_eq(str(p, "key"), "svc/remote");
	json_decref(p);
	ck_assert_ptr_null(next_line(F.c));
	/* unsubscribe stops them */
	r = ok("unsubscribe", "{'subscription':1}");
	ck_assert_int_eq(num(r, "subscription"), sub);
	ok("set", "{'key':'svc/d','value':'4'}");
	ck_assert_ptr_null(next_line(F.c));
	ck_assert_int_eq(rpc_err("unsubscribe", "{'subscription':1}"), -32000);
	ck_assert_uint_eq(subscribe_count(&F.ccd), 0);
}
END_TEST

/* Reserved keys: clients cannot write them; listings show them only on request. */
START_TEST(test_reserved_keys)
{
	json_t		*r, *snap, *p;
	json_int_t	 sub_all, sub_reserved;

	ck_assert_int_eq(rpc_err("set", "{'key':'__chitchatd.leaving','value':'1'}"), -32001);
	ck_assert_ptr_nonnull(strstr(reason_of(F.last), "reserved"));
	ck_assert_int_eq(rpc_err("delete", "{'key':'__chitchatd.leaving'}"), -32001);
	ck_assert_int_eq(rpc_err("delete_after_ttl", "{'key':'__chitchatd.x'}"), -32001);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(F.ccd.engine)), 0);
	/* a peer (another chitchatd) gossips one: relayed like any key */
	memnet_run_for(F.net, 500);
	add_node1();
	memnet_set(F.net, 1, "app", "1");
	memnet_set(F.net, 1, "__chitchatd.test", "t");
	ck_assert(memnet_run_until_pred(F.net, node0_sees_node1_live, NULL, 10000));
	memnet_run_for(F.net, 2000);
	r = ok("keys", "{'all':true}");
	r = json_object_get(json_array_get(json_object_get(r, "nodes"), 1), "entries");
	ck_assert_int_eq(json_array_size(r), 1);
	ck_assert_str_eq(str(json_array_get(r, 0), "key"), "app");
	r = ok("keys", "{'all':true,'prefix':'__chitchatd.'}");
	r = json_object_get(json_array_get(json_object_get(r, "nodes"), 1), "entries");
	ck_assert_int_eq(json_array_size(r), 1);
	ck_assert_str_eq(str(json_array_get(r, 0), "key"), "__chitchatd.test");
	r = ok("get", "{'key':'__chitchatd.test','node':'node_10002'}");
	ck_assert_str_eq(str(r, "value"), "t");
	/* subscriptions: "" leaves it out of the snapshot and of events */
	r = ok("subscribe", "{'topic':'keys','prefix':''}");
	sub_all = num(r, "subscription");
	snap = json_object_get(r, "snapshot");
	ck_assert_int_eq(json_array_size(snap), 1);
	ck_assert_str_eq(str(json_array_get(snap, 0), "key"), "app");
	r = ok("subscribe", "{'topic':'keys','prefix':'__chitchatd.'}");
	sub_reserved = num(r, "subscription");
	ck_assert_int_eq(json_array_size(json_object_get(r, "snapshot")), 1);
	memnet_set(F.net, 1, "__chitchatd.test", "u");
	memnet_set(F.net, 1, "app", "2");
	memnet_run_for(F.net, 3000);
	ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEY_CHANGED));
	ck_assert_int_eq(num(p, "subscription"), sub_reserved);
	ck_assert_str_eq(str(p, "value"), "u");
	json_decref(p);
	ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEY_CHANGED));
	ck_assert_int_eq(num(p, "subscription"), sub_all);
	ck_assert_str_eq(str(p, "key"), "app");
	json_decref(p);
	ck_assert_uint_eq(lines_queued(F.c), 0);
}
END_TEST


START_TEST(test_subscribe_order_in_batch)
{
	json_t *r, *p;

	/* subscribe then set in one batch: the snapshot (in the batch reply)
	 * comes before the notification of the set */
	r = raw("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"subscribe\",\"params\":{\"prefix\":\"\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"set\",\"params\":{\"key\":\"k\",\"value\":\"v\"}}]");
	ck_assert(json_is_array(r));
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(json_array_get(r, 0),
	    "result"), "snapshot")), 0);
	ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEY_CHANGED));
	ck_assert_str_eq(str(p, "key"), "k");
	json_decref(p);
	/* set then unsubscribe in one batch: nothing follows the reply */
	r = raw("[{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"set\",\"params\":{\"key\":\"k\",\"value\":\"w\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"unsubscribe\",\"params\":{\"subscription\":1}}]");
	ck_assert_int_eq(json_array_size(r), 2);
	ck_assert_ptr_null(next_line(F.c));
}
END_TEST

START_TEST(test_subscribe_many_clients)
{
	struct ctl_client	*c[3];
	json_t			*p;

	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_nonnull(c[i] = control_client_new(F.ccd.control, -1));
		ok_on(c[i], "subscribe", i == 2 ? "{'prefix':'b'}" : "{'prefix':'a'}");
	}
	/* the same subscription twice on one client: two notifications */
	ok_on(c[0], "subscribe", "{'prefix':'a/'}");
	ok("set", "{'key':'a/1','value':'v'}");
	for (int i = 0; i < 2; i++) {
		ck_assert_ptr_nonnull(p = next_note(c[i], CC_CTL_KEY_CHANGED));
		ck_assert_str_eq(str(p, "key"), "a/1");
		json_decref(p);
	}
	ck_assert_ptr_nonnull(p = next_note(c[0], CC_CTL_KEY_CHANGED));
	ck_assert_int_eq(num(p, "subscription"), 4);
	json_decref(p);
	ck_assert_ptr_null(next_line(c[0]));
	ck_assert_ptr_null(next_line(c[1]));
	ck_assert_ptr_null(next_line(c[2]));
	ck_assert_uint_eq(subscribe_count(&F.ccd), 4);
	control_client_destroy(c[0]);
	ck_assert_uint_eq(subscribe_count(&F.ccd), 2);
	ok("set", "{'key':'b','value':'v'}");
	ck_assert_ptr_nonnull(p = next_note(c[2], CC_CTL_KEY_CHANGED));
	json_decref(p);
	ck_assert_ptr_null(next_line(c[1]));
	ck_assert_int_eq(F.ccd.counters.notifications, 4);
}
END_TEST

START_TEST(test_subscribe_limit)
{
	for (int i = 0; i < CONTROL_MAX_SUBSCRIPTIONS; i++)
		ok("subscribe", "{'topic':'members'}");
	ck_assert_int_eq(rpc_err("subscribe", "{'topic':'keys'}"), -32004);
	ck_assert_uint_eq(subscribe_count(&F.ccd), CONTROL_MAX_SUBSCRIPTIONS);
}
END_TEST

/* Whether the notifications of c include the events, in this order, for node. */
static void
expect_member_events(struct ctl_client *c, const char *node, const char *const *events,
    size_t n)
{
	size_t	 k = 0;
	json_t	*p;
	char	 seen[1024] = "";

	while (k < n && (p = next_note(c, CC_CTL_MEMBER_CHANGED)) != NULL) {
		if (strcmp(str(p, "node_id"), node) == 0) {
			size_t l = strlen(seen);

			snprintf(seen + l, sizeof(seen) - l, " %s", str(p, "event"));
			ck_assert_ptr_nonnull(json_object_get(p, "generation"));
			ck_assert_ptr_nonnull(json_object_get(p, "address"));
			ck_assert_ptr_nonnull(json_object_get(p, "status"));
			if (strcmp(str(p, "event"), events[k]) == 0)
				k++;
		}
		json_decref(p);
	}
	ck_assert_msg(k == n, "%s: expected event \"%s\", saw:%s", node,
	    k < n ? events[k] : "", seen);
}

START_TEST(test_subscribe_members)
{
	static const char	*self_events[] = { "joined" };
	static const char	*join[] = { "added", "joined", "updated" };
	static const char	*leave[] = { "dead", "left", "scheduled", "removed" };
	json_t			*r, *snap, *p;
	struct ctl_client	*keys;

	r = ok("subscribe", "{'topic':'members'}");
	snap = json_object_get(r, "snapshot");
	ck_assert_int_eq(json_array_size(snap), 1);
	ck_assert_str_eq(str(json_array_get(snap, 0), "status"), "self");
	ck_assert(json_is_false(json_object_get(json_array_get(snap, 0), "ready")));
	memnet_run_for(F.net, 300);
	expect_member_events(F.c, "node_10001", self_events, 1);
	ck_assert_ptr_nonnull(keys = control_client_new(F.ccd.control, -1));
	add_node1();
	ck_assert(memnet_run_until_pred(F.net, node0_sees_node1_live, NULL, 10000));
	memnet_run_for(F.net, 500);
	ok_on(keys, "subscribe", "{'prefix':''}");
	memnet_set(F.net, 1, "k", "v");
	memnet_run_for(F.net, 1000);
	expect_member_events(F.c, "node_10002", join, 3);
	memnet_stop(F.net, 1);
	memnet_run_for(F.net, 25000);
	expect_member_events(F.c, "node_10002", leave, 4);
	/* the key subscriber learnt that node 1's keys are gone */
	ck_assert_ptr_nonnull(p = next_note(keys, CC_CTL_KEY_CHANGED));
	ck_assert_str_eq(str(p, "key"), "k");
	json_decref(p);
	ck_assert_ptr_nonnull(p = next_note(keys, CC_CTL_KEYS_RESET));
	ck_assert_str_eq(str(p, "reason"), "removed");
	ck_assert_str_eq(str(p, "node_id"), "node_10002");
	ck_assert_int_eq(json_array_size(json_object_get(p, "entries")), 0);
	json_decref(p);
	ck_assert_int_eq(json_array_size(json_object_get(ok("members", NULL), "members")), 1);
}
END_TEST

START_TEST(test_keys_reset)
{
	struct cc_config	 cfg;
	json_t			*p, *e;

	/* node 1 purges a tombstone before node 0 ever hears of it: node 0
	 * then gets node 1's state as a reset (PROTOCOL.md §6.7) */
	memnet_cfg_lib(&cfg, &F.id1);
	cfg.marked_for_deletion_grace_period_ms = 1000;
	ck_assert_int_eq(memnet_add_node(F.net, &cfg), 1);
	memnet_set(F.net, 1, "svc/gone", "x");
	memnet_set(F.net, 1, "svc/kept", "y");
	memnet_set(F.net, 1, "other", "z");
	memnet_delete(F.net, 1, "svc/gone");
	memnet_run_for(F.net, 3000);
	ck_assert_uint_gt(cc_node_last_gc_version(memnet_replica(F.net, 1, 1)), 0);
	ok("subscribe", "{'prefix':'svc/'}");
	ck_assert_int_eq(cc_engine_gossip(memnet_engine(F.net, 1), &F.id0.addr), 0);
	memnet_run_for(F.net, 1000);
	ck_assert_ptr_nonnull(p = next_note(F.c, CC_CTL_KEYS_RESET));
	ck_assert_str_eq(str(p, "reason"), "reset");
	ck_assert_str_eq(str(p, "node_id"), "node_10002");
	e = json_object_get(p, "entries");
	ck_assert_int_eq(json_array_size(e), 1);
	ck_assert_str_eq(str(json_array_get(e, 0), "key"), "svc/kept");
	ck_assert_str_eq(str(json_array_get(e, 0), "value"), "y");
	json_decref(p);
}
END_TEST

START_TEST(test_lagged)
{
	struct ctl_client	*sub, *other;
	json_t			*p, *last = NULL;
	char			 value[512], params[700];
	size_t			 n = 0;

	F.ccd.control->max_output = 4096;
	ck_assert_ptr_nonnull(sub = control_client_new(F.ccd.control, -1));
	ck_assert_ptr_nonnull(other = control_client_new(F.ccd.control, -1));
	ok_on(sub, "subscribe", "{'prefix':''}");
	ok_on(sub, "subscribe", "{'topic':'members'}");
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 20; i++) {
		snprintf(params, sizeof(params), "{'key':'k%d','value':'%s'}", i, value);
		ok("set", params);
	}
	/* one final "lagged" line, then closed; nobody else suffers */
	ck_assert_int_eq(F.ccd.counters.lagged_clients, 1);
	ck_assert_int_ne(sub->state, CTL_ACTIVE);
	ck_assert_uint_eq(subscribe_count(&F.ccd), 0);
	ck_assert_uint_le(control_client_queued(sub), 4096);
	while ((p = next_line(sub)) != NULL) {
		json_decref(last);
		last = p;
		n++;
	}
	ck_assert_uint_ge(n, 2);
	ck_assert_str_eq(str(last, "method"), CC_CTL_LAGGED);
	ck_assert_int_eq(num(json_object_get(last, "params"), "code"), -32006);
	ck_assert_int_eq(num(json_object_get(last, "params"), "limit"), 4096);
	json_decref(last);
	ck_assert_str_eq(str(ok_on(other, "get", "{'key':'k19'}"), "key"), "k19");
}
END_TEST

START_TEST(test_ctlproto)
{
	json_t				*j, *msg;
	struct cc_ctl_reply		 r;
	const struct cc_ctl_error_info	*e;
	uint64_t			 v;
	char				*line;
	size_t				 len;

	/* u64 above INT64_MAX travels as a decimal string */
	ck_assert_ptr_nonnull(j = cc_ctl_u64(UINT64_MAX));
	ck_assert_str_eq(json_string_value(j), "18446744073709551615");
	ck_assert_int_eq(cc_ctl_get_u64(j, &v), 0);
	ck_assert(v == UINT64_MAX);
	json_decref(j);
	ck_assert_ptr_nonnull(j = json_string("18446744073709551616"));
	ck_assert_int_eq(cc_ctl_get_u64(j, &v), -1);
	json_decref(j);
	/* invalid UTF-8 is replaced, never refused */
	ck_assert_ptr_nonnull(j = cc_ctl_string("a\xff" "b\xc3\xa9", 5));
	ck_assert_str_eq(json_string_value(j), "a\xef\xbf\xbd" "b\xc3\xa9");
	json_decref(j);
	/* the table */
	for (int i = 0; i < CC_CTL_ERR_COUNT; i++) {
		ck_assert_ptr_nonnull(e = cc_ctl_error_info((enum cc_ctl_err)i));
		ck_assert_int_eq(e->err, i);
		ck_assert_ptr_nonnull(cc_ctl_error_by_code(e->code));
	}
	ck_assert_str_eq(cc_ctl_error_by_code(-32000)->name, "not_found");
	ck_assert_ptr_null(cc_ctl_error_by_code(1));
	/* encode: compact, one line, newlines escaped */
	msg = cc_ctl_request_new(3, "set", json_pack("{s:s,s:s}", "key", "a\nb", "value", "x"));
	ck_assert_ptr_nonnull(line = cc_ctl_encode(msg, &len));
	ck_assert_str_eq(line, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"set\","
	    "\"params\":{\"key\":\"a\\nb\",\"value\":\"x\"}}\n");
	ck_assert_uint_eq(len, strlen(line));
	free(line);
	json_decref(msg);
	/* replies, as a client sees them */
	{
		static const char line_in[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":"
		    "{\"code\":-32601,\"message\":\"method not found\"}}\r\n";

		ck_assert_ptr_nonnull(j = cc_ctl_decode(line_in, strlen(line_in), NULL, 0));
	}
	ck_assert_int_eq(cc_ctl_reply_parse(j, &r), 0);
	ck_assert_int_eq(r.kind, CC_CTL_ERROR);
	ck_assert_int_eq(r.code, -32601);
	json_decref(j);
	ck_assert_ptr_nonnull(j = cc_ctl_notification_new(CC_CTL_LAGGED, NULL));
	ck_assert_int_eq(cc_ctl_reply_parse(j, &r), 0);
	ck_assert_int_eq(r.kind, CC_CTL_NOTIFICATION);
	ck_assert_str_eq(r.method, "lagged");
	json_decref(j);
	ck_assert_ptr_nonnull(j = cc_ctl_response_new(NULL, json_true()));
	ck_assert_int_eq(cc_ctl_reply_parse(j, &r), 0);
	ck_assert_int_eq(r.kind, CC_CTL_RESULT);
	ck_assert(json_is_null(r.id));
	json_decref(j);
	ck_assert_ptr_null(cc_ctl_decode("{", 1, NULL, 0));
}
END_TEST

/* A flood of fake node ids past --max-nodes shows in the limit metrics. */
START_TEST(test_metrics_limits)
{
	struct cc_msg	 m;
	struct cc_wbuf	 wb;
	struct cc_addr	 from = F.id1.addr;
	const char	*text;
	char		 name[16];

	cc_engine_set_limits(F.ccd.engine, 3, 0, 0);
	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN;
	m.cluster_id = (char *)cc_engine_cluster_id(F.ccd.engine);
	m.cluster_id_len = strlen(m.cluster_id);
	m.digest.n = 10;
	ck_assert_ptr_nonnull(m.digest.entries = calloc(10, sizeof(*m.digest.entries)));
	for (size_t i = 0; i < 10; i++) {
		struct cc_addr a = F.id1.addr;

		a.port = (uint16_t)(20000 + i);
		snprintf(name, sizeof(name), "fake-%zu", i);
		ck_assert_int_eq(cc_id_init(&m.digest.entries[i].id, name, strlen(name), 1, &a), 0);
		m.digest.entries[i].heartbeat = 1;
	}
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, &m, NULL), 0);
	ck_assert_int_eq(cc_engine_recv(F.ccd.engine, &from, wb.data, wb.len), 0);
	cc_wbuf_clear(&wb);
	for (size_t i = 0; i < 10; i++)
		cc_id_clear(&m.digest.entries[i].id);
	free(m.digest.entries);
	ck_assert_uint_eq(cc_engine_num_nodes(F.ccd.engine), 3);
	text = str(ok("metrics", NULL), "text");
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_nodes 3\n"));
	ck_assert_ptr_nonnull(strstr(text, "# TYPE chitchatd_limit_nodes_refused_total counter\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nchitchatd_limit_nodes_refused_total 8\n"));
}
END_TEST

/* ---- graceful leave and force-leave (issue 8) ----------------------------------- */

/*
 * Every member_changed of node on c, in order, as " event" words; the
 * params of the last one named `keep` (a new reference) in *kept.
 */
static void
member_events_of(struct ctl_client *c, const char *node, char *buf, size_t len,
    const char *keep, json_t **kept)
{
	json_t *p;

	buf[0] = '\0';
	while ((p = next_note(c, CC_CTL_MEMBER_CHANGED)) != NULL) {
		if (strcmp(str(p, "node_id"), node) == 0) {
			size_t l = strlen(buf);

			snprintf(buf + l, len - l, " %s", str(p, "event"));
			if (keep != NULL && kept != NULL && strcmp(str(p, "event"), keep) == 0) {
				json_decref(*kept);
				*kept = json_incref(p);
			}
		}
		json_decref(p);
	}
}

/* The member entry of node_id in `members` (borrowed until the next call), or NULL. */
static json_t *
member_of(const char *node_id)
{
	json_t	*m, *e;
	size_t	 i;

	m = json_object_get(ok("members", NULL), "members");
	json_array_foreach(m, i, e)
		if (strcmp(str(e, "node_id"), node_id) == 0)
			return e;
	return NULL;
}

static void
node1_joins(void)
{
	memnet_run_for(F.net, 300);
	add_node1();
	ck_assert(memnet_run_until_pred(F.net, node0_sees_node1_live, NULL, 10000));
	memnet_run_for(F.net, 500);
}

/*
 * A peer announces its leave (node 1 writes the reserved key, as a
 * leaving chitchatd does): node 0 reports it "left" at its next round,
 * with a graceful "left" event, keeps it out of the live set while its
 * heartbeat still moves, and says nothing when the failure detector
 * later finds it dead: only "scheduled" and "removed" follow.
 */
START_TEST(test_peer_leave_reported_left)
{
	json_t	*r, *e, *left = NULL;
	char	 seen[256];

	node1_joins();
	ok("subscribe", "{'topic':'members'}");
	memnet_set(F.net, 1, CCD_KEY_LEAVING, "1700000000000");
	memnet_run_for(F.net, 300);
	member_events_of(F.c, "node_10002", seen, sizeof(seen), "left", &left);
	ck_assert_str_eq(seen, " left");
	ck_assert(json_is_true(json_object_get(left, "graceful")));
	ck_assert_str_eq(str(left, "status"), "left");
	json_decref(left);
	left = NULL;
	e = member_of("node_10002");
	ck_assert_str_eq(str(e, "status"), "left");
	ck_assert(json_is_false(json_object_get(e, "ready")));
	ck_assert_int_eq(json_array_size(json_object_get(ok("members", "{'filter':'left'}"),
	    "members")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(ok("members", "{'filter':'live'}"),
	    "members")), 1);
	r = json_object_get(ok("info", NULL), "counts");
	ck_assert_int_eq(num(r, "left"), 1);
	ck_assert_int_eq(num(r, "live"), 1);
	ck_assert_int_eq(num(r, "ready"), 1);
	ck_assert_ptr_nonnull(strstr(str(ok("metrics", NULL), "text"), "\nchitchatd_left_nodes 1\n"));
	/* its heartbeat keeps moving (it gossips on for a while): still out */
	memnet_run_for(F.net, 3000);
	ck_assert(memnet_sees_live(F.net, 0, &F.id1));
	ck_assert_str_eq(str(member_of("node_10002"), "status"), "left");
	member_events_of(F.c, "node_10002", seen, sizeof(seen), NULL, NULL);
	ck_assert_str_eq(seen, "");
	/* it exits: no "dead", then scheduled and removed as for any dead node */
	memnet_stop(F.net, 1);
	memnet_run_for(F.net, 25000);
	member_events_of(F.c, "node_10002", seen, sizeof(seen), NULL, NULL);
	ck_assert_str_eq(seen, " scheduled removed");
	ck_assert_ptr_null(member_of("node_10002"));
}
END_TEST

/*
 * The same key, on a node running without the extension (Rust peers are
 * in the same position): an ordinary key, the peer stays live, and when
 * it stops it is found dead by phi: dead, then a "left" that is not
 * graceful.
 */
START_TEST(test_peer_leave_key_is_ordinary_without_the_extension)
{
	json_t	*left = NULL;
	char	 seen[256];

	node1_joins();
	ok("subscribe", "{'topic':'members'}");
	memnet_set(F.net, 1, CCD_KEY_LEAVING, "1700000000000");
	memnet_run_for(F.net, 1000);
	ck_assert_ptr_nonnull(memnet_get(F.net, 0, 1, CCD_KEY_LEAVING));
	ck_assert_str_eq(str(member_of("node_10002"), "status"), "live");
	ck_assert(json_is_true(json_object_get(member_of("node_10002"), "ready")));
	memnet_stop(F.net, 1);
	memnet_run_for(F.net, 5000);
	member_events_of(F.c, "node_10002", seen, sizeof(seen), "left", &left);
	ck_assert_str_eq(seen, " updated dead left");
	ck_assert(json_is_false(json_object_get(left, "graceful")));
	ck_assert_str_eq(str(left, "status"), "dead");
	json_decref(left);
	ck_assert_int_eq(rpc_err("leave", NULL), -32003);
	ck_assert_ptr_nonnull(strstr(reason_of(F.last), "extension is off"));
	ck_assert_int_eq(rpc_err("force_leave", "{'node':'node_10002'}"), -32003);
	ck_assert_ptr_nonnull(strstr(reason_of(F.last), "extension is off"));
	/* never written by this node */
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(F.ccd.engine)), 0);
}
END_TEST

/*
 * `leave` on node 0 with a live peer: the key is written, one SYN goes at
 * once, the reply says two intervals; from then on writes are refused.
 */
START_TEST(test_leave_method)
{
	const struct cc_kv	*kv;
	uint64_t		 syns;
	json_t			*r;

	node1_joins();
	syns = cc_engine_stats(F.ccd.engine)->tx_by_type[CC_MSG_SYN];
	r = ok("leave", NULL);
	ck_assert_int_eq(num(r, "leaving_in_ms"), 200);
	ck_assert(F.ccd.leaving);
	ck_assert_uint_eq(cc_engine_stats(F.ccd.engine)->tx_by_type[CC_MSG_SYN], syns + 1);
	kv = cc_node_get(cc_engine_self_node(F.ccd.engine), CCD_KEY_LEAVING,
	    strlen(CCD_KEY_LEAVING));
	ck_assert_ptr_nonnull(kv);
	ck_assert_uint_gt(strtoull(kv->value, NULL, 10), 1600000000000ULL);
	/* the SYN's exchange carries it to node 1 before node 0's next round */
	memnet_run_for(F.net, 20);
	ck_assert_ptr_nonnull(memnet_get(F.net, 1, 0, CCD_KEY_LEAVING));
	ck_assert_int_eq(rpc_err("set", "{'key':'a','value':'1'}"), -32003);
	ck_assert_ptr_nonnull(strstr(reason_of(F.last), "leaving"));
	ck_assert_int_eq(rpc_err("delete", "{'key':'a'}"), -32003);
	ck_assert_int_eq(rpc_err("leave", NULL), -32003);
	ck_assert_int_eq(rpc_err("force_leave", "{'node':'node_10002'}"), -32003);
	/* reads still work, and this node is still "self" */
	ck_assert_str_eq(str(member_of("node_10001"), "status"), "self");
	ok("info", NULL);
}
END_TEST

/* With no live peer there is nobody to tell: no key, no wait. */
START_TEST(test_leave_method_alone)
{
	json_t *r = ok("leave", NULL);

	ck_assert_int_eq(num(r, "leaving_in_ms"), 0);
	ck_assert(F.ccd.leaving);
	ck_assert_uint_eq(cc_node_num_stored(cc_engine_self_node(F.ccd.engine)), 0);
}
END_TEST

static bool
node0_sees_node1_dead(struct memnet *net, void *arg)
{
	(void)net;
	(void)arg;
	return cc_engine_node(F.ccd.engine, &F.id1) != NULL &&
	    cc_engine_liveness(F.ccd.engine, &F.id1) == CC_LIVENESS_DEAD;
}

START_TEST(test_force_leave_method)
{
	const struct cc_kv	*kv;
	json_t			*r, *removed = NULL;
	char			 seen[256], key[64], fence[24];
	uint64_t		 hb;

	ck_assert_int_eq(rpc_err("force_leave", NULL), -32602);
	ck_assert_int_eq(rpc_err("force_leave", "{'node':'nobody'}"), -32000);
	ck_assert_int_eq(rpc_err("force_leave", "{'node':'node_10001'}"), -32003);
	node1_joins();
	ck_assert_int_eq(rpc_err("force_leave", "{'node':'node_10002'}"), -32003);
	ck_assert_str_eq(reason_of(F.last), "node is live; only dead nodes can be forced out");
	memnet_stop(F.net, 1);
	ck_assert(memnet_run_until_pred(F.net, node0_sees_node1_dead, NULL, 10000));
	ok("subscribe", "{'topic':'members'}");
	hb = cc_node_heartbeat(cc_engine_node(F.ccd.engine, &F.id1));
	r = ok("force_leave", "{'node':{'node_id':'node_10002','generation':0}}");
	ck_assert_int_eq(num(r, "fence_heartbeat"), (json_int_t)hb);
	r = json_object_get(r, "removed");
	ck_assert_str_eq(str(r, "node_id"), "node_10002");
	ck_assert_str_eq(str(r, "address"), "127.0.0.1:10002");
	ck_assert_ptr_null(member_of("node_10002"));
	ck_assert(cc_engine_is_fenced(F.ccd.engine, &F.id1, NULL));
	member_events_of(F.c, "node_10002", seen, sizeof(seen), "removed", &removed);
	ck_assert_str_eq(seen, " removed");
	ck_assert(json_is_true(json_object_get(removed, "forced")));
	json_decref(removed);
	/* the request, for the other chitchatd nodes: TTL-marked, fence as value */
	snprintf(key, sizeof(key), "%s0.node_10002", CCD_KEY_FORCE_LEAVE);
	kv = cc_node_get(cc_engine_self_node(F.ccd.engine), key, strlen(key));
	ck_assert_ptr_nonnull(kv);
	ck_assert_int_eq(kv->status, CC_STATUS_DELETE_AFTER_TTL);
	snprintf(fence, sizeof(fence), "%llu", (unsigned long long)hb);
	ck_assert_str_eq(kv->value, fence);
	ck_assert_int_eq(rpc_err("force_leave", "{'node':'node_10002'}"), -32000);
	ck_assert_ptr_nonnull(strstr(str(ok("metrics", NULL), "text"),
	    "\nchitchatd_gossip_nodes_forgotten_total 1\n"));
}
END_TEST

/* A SYN from F.id1's address whose digest holds id at heartbeat hb. */
static void
inject_digest(const struct cc_id *id, uint64_t hb)
{
	struct cc_msg	m;
	struct cc_wbuf	wb;

	memset(&m, 0, sizeof(m));
	m.type = CC_MSG_SYN;
	m.cluster_id = (char *)cc_engine_cluster_id(F.ccd.engine);
	m.cluster_id_len = strlen(m.cluster_id);
	m.digest.n = 1;
	ck_assert_ptr_nonnull(m.digest.entries = calloc(1, sizeof(*m.digest.entries)));
	m.digest.entries[0].id = *id;
	m.digest.entries[0].heartbeat = hb;
	cc_wbuf_init(&wb);
	ck_assert_int_eq(cc_msg_encode(&wb, &m, NULL), 0);
	ck_assert_int_eq(cc_engine_recv(F.ccd.engine, &F.id1.addr, wb.data, wb.len), 0);
	cc_wbuf_clear(&wb);
	free(m.digest.entries);
}

/*
 * Requests written by another chitchatd node (node 1 here) are applied
 * when this node sees them, out of the engine callback: a dead node is
 * removed (forced); a live one, this node itself, and a node that never
 * was live here but whose heartbeat moved past the request's are left.
 */
START_TEST(test_force_leave_request_from_a_peer)
{
	struct cc_id	 ghost, joining;
	struct cc_addr	 a = F.id1.addr;
	json_t		*removed = NULL;
	char		 seen[256], key[96];

	node1_joins();
	ok("subscribe", "{'topic':'members'}");
	a.port = 10009;
	ck_assert_int_eq(cc_id_init(&ghost, "ghost", 5, 4, &a), 0);
	a.port = 10010;
	ck_assert_int_eq(cc_id_init(&joining, "joining", 7, 4, &a), 0);
	inject_digest(&ghost, 30);	/* heard of, never live: dead here */
	inject_digest(&joining, 50);
	ck_assert_ptr_nonnull(cc_engine_node(F.ccd.engine, &ghost));
	snprintf(key, sizeof(key), "%s4.ghost", CCD_KEY_FORCE_LEAVE);
	memnet_set_with_ttl(F.net, 1, key, "30");
	snprintf(key, sizeof(key), "%s4.joining", CCD_KEY_FORCE_LEAVE);
	memnet_set_with_ttl(F.net, 1, key, "10");
	snprintf(key, sizeof(key), "%s0.node_10002", CCD_KEY_FORCE_LEAVE);
	memnet_set_with_ttl(F.net, 1, key, "1");
	snprintf(key, sizeof(key), "%s0.node_10001", CCD_KEY_FORCE_LEAVE);
	memnet_set_with_ttl(F.net, 1, key, "1");
	memnet_set_with_ttl(F.net, 1, CCD_KEY_FORCE_LEAVE "junk", "1");
	memnet_run_for(F.net, 300);
	ck_assert_ptr_nonnull(memnet_get(F.net, 0, 1, key));
	/* queued until the loop runs */
	ck_assert_ptr_nonnull(cc_engine_node(F.ccd.engine, &ghost));
	(void)event_base_loop(F.base, EVLOOP_NONBLOCK);	/* runs the queued requests */
	ck_assert_ptr_null(cc_engine_node(F.ccd.engine, &ghost));
	ck_assert(cc_engine_is_fenced(F.ccd.engine, &ghost, NULL));
	member_events_of(F.c, "ghost", seen, sizeof(seen), "removed", &removed);
	ck_assert_str_eq(seen, " added removed");
	ck_assert(json_is_true(json_object_get(removed, "forced")));
	json_decref(removed);
	ck_assert_ptr_nonnull(cc_engine_node(F.ccd.engine, &joining));
	ck_assert(memnet_sees_live(F.net, 0, &F.id1));
	ck_assert_ptr_nonnull(cc_engine_self_node(F.ccd.engine));
	/* the ghost's last heartbeat, gossiped again, does not bring it back */
	inject_digest(&ghost, 30);
	ck_assert_ptr_null(cc_engine_node(F.ccd.engine, &ghost));
	/* nor does one stale rise (a peer that saw a later heartbeat) ... */
	inject_digest(&ghost, 31);
	ck_assert_ptr_null(cc_engine_node(F.ccd.engine, &ghost));
	/* ... but a heartbeat still rising after the probation does: it is alive */
	memnet_run_for(F.net, 6000);
	inject_digest(&ghost, 40);
	ck_assert_ptr_nonnull(cc_engine_node(F.ccd.engine, &ghost));
	cc_id_clear(&ghost);
	cc_id_clear(&joining);
}
END_TEST

START_TEST(test_force_leave_request_parsing)
{
	const char	*id;
	size_t		 len;
	uint64_t	 gen, fence;

	ck_assert(leave_parse_request("12.a.b", 6, "7", 1, &gen, &id, &len, &fence));
	ck_assert_uint_eq(gen, 12);
	ck_assert_uint_eq(len, 3);
	ck_assert(memcmp(id, "a.b", 3) == 0);
	ck_assert_uint_eq(fence, 7);
	ck_assert(leave_parse_request("18446744073709551615.\xc3\xa9", 23, "0", 1, &gen, &id,
	    &len, &fence));
	ck_assert_uint_eq(gen, UINT64_MAX);
	ck_assert(!leave_parse_request("18446744073709551616.x", 22, "1", 1, &gen, &id, &len,
	    &fence));
	ck_assert(!leave_parse_request("12.", 3, "1", 1, &gen, &id, &len, &fence));
	ck_assert(!leave_parse_request(".x", 2, "1", 1, &gen, &id, &len, &fence));
	ck_assert(!leave_parse_request("01.x", 4, "1", 1, &gen, &id, &len, &fence));
	ck_assert(!leave_parse_request("1x", 2, "1", 1, &gen, &id, &len, &fence));
	ck_assert(!leave_parse_request("1.x", 3, "", 0, &gen, &id, &len, &fence));
	ck_assert(!leave_parse_request("1.x", 3, "-1", 2, &gen, &id, &len, &fence));
	ck_assert(!leave_parse_request("1.x", 3, "99999999999999999999", 20, &gen, &id, &len,
	    &fence));
}
END_TEST

static Suite *
rpc_suite(void)
{
	Suite	*s = suite_create("rpc");
	TCase	*tc = tcase_create("methods");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hello);
	tcase_add_test(tc, test_reserved_keys);
	tcase_add_test(tc, test_hello_mismatch);
	tcase_add_test(tc, test_hello_mismatch_in_batch);
	tcase_add_test(tc, test_info);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_metrics_limits);
	tcase_add_test(tc, test_set_get_delete);
	tcase_add_test(tc, test_set_invalid);
	tcase_add_test(tc, test_keys);
	tcase_add_test(tc, test_parse_errors);
	tcase_add_test(tc, test_invalid_requests);
	tcase_add_test(tc, test_notifications);
	tcase_add_test(tc, test_batches);
	tcase_add_test(tc, test_members);
	tcase_add_test(tc, test_subscribe_keys);
	tcase_add_test(tc, test_subscribe_order_in_batch);
	tcase_add_test(tc, test_subscribe_many_clients);
	tcase_add_test(tc, test_subscribe_limit);
	tcase_add_test(tc, test_subscribe_members);
	tcase_add_test(tc, test_keys_reset);
	tcase_add_test(tc, test_lagged);
	tcase_add_test(tc, test_ctlproto);
	tcase_add_test(tc, test_access_method_table);
	tcase_add_test(tc, test_access_open_by_default);
	tcase_add_test(tc, test_access_lists);
	tcase_add_test(tc, test_access_readonly_client);
	tcase_add_test(tc, test_access_batch_and_notifications);
	tcase_add_test(tc, test_access_warning_rate_limited);
	tcase_add_test(tc, test_peer_leave_key_is_ordinary_without_the_extension);
	tcase_add_test(tc, test_force_leave_request_parsing);
	suite_add_tcase(s, tc);

	tc = tcase_create("leave");
	tcase_add_checked_fixture(tc, setup_ext, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_peer_leave_reported_left);
	tcase_add_test(tc, test_leave_method);
	tcase_add_test(tc, test_leave_method_alone);
	tcase_add_test(tc, test_force_leave_method);
	tcase_add_test(tc, test_force_leave_request_from_a_peer);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(rpc_suite)
