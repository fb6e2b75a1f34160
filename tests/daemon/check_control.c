/*
 * check_control.c: the control socket for real. A Unix socket in a
 * temporary directory, the daemon's modules on a real libevent loop run
 * by the test in bounded slices, a real engine gossiping over UDP on
 * 127.0.0.1, and clients on plain non-blocking sockets: framing,
 * pipelining, limits, bad input, vanishing clients, slow subscribers,
 * subscriptions, member events from a second engine, and the Python
 * example of docs/examples. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "cc_ctlproto.h"
#include "../../daemon/ccd.h"
#include "../../daemon/control.h"
#include "../../daemon/gossip.h"
#include "../../daemon/log.h"
#include "../../daemon/metrics.h"
#include "../../daemon/subscribe.h"
#include "testutil.h"

extern char **environ;

/* A gossiping engine on the loop: the daemon's (with control) or a peer. */
struct node {
	struct ccd		 ccd;
	struct ccd_config	 cfg;
	struct cc_id		 id;
	struct cc_addr		 seed;
	bool			 running;
};

static struct {
	char			 dir[64];
	char			 path[128];
	struct event_base	*base;
	struct node		 a;		/* the daemon */
	struct node		 b;		/* a peer, for member events */
} F;

static uint64_t
mono_ms(void)
{
	return ccd_now_ms();
}

/* Runs the loop for about ms milliseconds. */
static void
pump(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(F.base, &tv);
	event_base_dispatch(F.base);
}

static void
node_start(struct node *n, const char *name, const struct cc_addr *seed)
{
	struct cc_config	 cfg;
	struct cc_env		 env;
	struct cc_addr		 listen;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			*cause = NULL;

	memset(&listen, 0, sizeof(listen));
	listen.family = CC_AF_INET;
	listen.ip[0] = 127;
	listen.ip[3] = 1;
	n->ccd.base = F.base;
	n->ccd.cfg = &n->cfg;
	n->ccd.start_ms = mono_ms();
	ck_assert_msg(gossip_open(&n->ccd.gossip, F.base, &listen, &cause) == 0, "%s", cause);
	ck_assert_int_eq(getsockname(n->ccd.gossip.fd, (struct sockaddr *)&sin, &len), 0);
	listen.port = ntohs(sin.sin_port);
	ck_assert_int_eq(cc_id_init(&n->id, name, strlen(name), 1, &listen), 0);
	cc_config_default(&cfg);
	cfg.self = n->id;
	cfg.cluster_id = "ctl-test";
	cfg.gossip_interval_ms = 50;
	cfg.fd.initial_interval_ms = 100;
	cfg.fd.max_interval_ms = 1000;
	cfg.fd.dead_node_grace_period_ms = 2000;
	if (seed != NULL) {
		n->seed = *seed;
		cfg.seeds = &n->seed;
		cfg.n_seeds = 1;
	}
	n->ccd.gossip.on_event = ccd_on_engine_event;
	n->ccd.gossip.event_arg = &n->ccd;
	gossip_env(&n->ccd.gossip, &env);
	ck_assert_ptr_nonnull(n->ccd.engine = cc_engine_new(&cfg, &env));
	gossip_start(&n->ccd.gossip, n->ccd.engine);
	n->running = true;
}

static void
node_stop(struct node *n)
{
	if (!n->running)
		return;
	control_close(&n->ccd);
	gossip_close(&n->ccd.gossip);
	cc_engine_free(n->ccd.engine);
	n->ccd.engine = NULL;
	cc_id_clear(&n->id);
	n->running = false;
}

static void
setup(void)
{
	char *cause = NULL;

	log_init(CC_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	memset(&F, 0, sizeof(F));
	snprintf(F.dir, sizeof(F.dir), "/tmp/check_control.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(F.dir));
	snprintf(F.path, sizeof(F.path), "%s/chitchatd.sock", F.dir);
	ck_assert_ptr_nonnull(F.base = event_base_new());
	node_start(&F.a, "daemon-a", NULL);
	F.a.cfg.control_socket = F.path;
	ck_assert_msg(control_open(&F.a.ccd, &cause) == 0, "%s", cause);
	ck_assert_ptr_nonnull(F.a.ccd.control);
}

static void
teardown(void)
{
	node_stop(&F.b);
	node_stop(&F.a);
	event_base_free(F.base);
	unlink(F.path);
	rmdir(F.dir);
}

/* ---- test clients --------------------------------------------------------------- */

struct tc {
	int	 fd;
	char	*buf;
	size_t	 len;
	size_t	 cap;
	bool	 eof;
};

static void
tc_connect(struct tc *t)
{
	struct sockaddr_un sun;

	memset(t, 0, sizeof(*t));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(F.path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, F.path, strlen(F.path) + 1);
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(t->fd, 0);
	ck_assert_int_eq(connect(t->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

static void
tc_close(struct tc *t)
{
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

/* Writes everything, running the loop whenever the socket is full (bounded). */
static void
tc_send(struct tc *t, const char *s, size_t len)
{
	uint64_t deadline = mono_ms() + 10000;

	while (len > 0) {
		ssize_t n = write(t->fd, s, len);

		if (n > 0) {
			s += n;
			len -= (size_t)n;
			continue;
		}
		ck_assert_msg(n == -1 && errno == EAGAIN, "write: %s", strerror(errno));
		ck_assert_msg(mono_ms() < deadline, "tc_send: stuck");
		pump(2);
	}
}

static void
tc_sends(struct tc *t, const char *s)
{
	tc_send(t, s, strlen(s));
}

/* Reads what is there; false at EOF or on error. */
static bool
tc_fill(struct tc *t)
{
	for (;;) {
		ssize_t n;

		if (t->cap - t->len < 65536) {
			t->cap = t->cap ? t->cap * 2 : 131072;
			ck_assert_ptr_nonnull(t->buf = realloc(t->buf, t->cap));
		}
		n = read(t->fd, t->buf + t->len, t->cap - t->len);
		if (n > 0) {
			t->len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			t->eof = true;
			return false;
		}
		return true;
	}
}

/* One line, parsed; NULL at EOF or after timeout_ms (caller decrefs). */
static json_t *
tc_line(struct tc *t, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;

	for (;;) {
		char *nl = t->buf != NULL ? memchr(t->buf, '\n', t->len) : NULL;

		if (nl != NULL) {
			size_t		 n = (size_t)(nl - t->buf);
			json_error_t	 e;
			json_t		*j = json_loadb(t->buf, n, JSON_ALLOW_NUL, &e);

			ck_assert_msg(j != NULL, "not JSON: %.*s (%s)", (int)(n > 200 ? 200 : n),
			    t->buf, e.text);
			memmove(t->buf, nl + 1, t->len - n - 1);
			t->len -= n + 1;
			return j;
		}
		if (t->eof || mono_ms() >= deadline)
			return NULL;
		pump(2);
		tc_fill(t);
	}
}

/* The reply to a request (notifications skipped), within 5 s. */
static json_t *
tc_reply(struct tc *t)
{
	json_t *j;

	while ((j = tc_line(t, 5000)) != NULL) {
		if (json_is_array(j) || json_object_get(j, "id") != NULL)
			return j;
		json_decref(j);
	}
	ck_abort_msg("no reply");
	return NULL;
}

/* Sends a request with single quotes for double quotes; returns the reply. */
static json_t *
tc_call(struct tc *t, int id, const char *method, const char *params)
{
	char	 buf[4096];
	json_t	*r;

	snprintf(buf, sizeof(buf), "{'jsonrpc':'2.0','id':%d,'method':'%s','params':%s}\n",
	    id, method, params != NULL ? params : "{}");
	for (char *p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	tc_sends(t, buf);
	r = tc_reply(t);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), id);
	return r;
}

static void
tc_ok(struct tc *t, int id, const char *method, const char *params)
{
	json_t *r = tc_call(t, id, method, params);

	ck_assert_msg(json_object_get(r, "result") != NULL, "%s failed", method);
	json_decref(r);
}

/* Whether the daemon closes the connection within timeout_ms (data discarded). */
static bool
tc_wait_eof(struct tc *t, int timeout_ms)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;

	while (mono_ms() < deadline) {
		pump(2);
		if (!tc_fill(t))
			return true;
		t->len = 0;
	}
	return false;
}

static int
code_of(const json_t *r)
{
	return (int)json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	ck_assert_msg(s != NULL, "no string \"%s\"", k);
	return s;
}

/* The params of the next notification of this method (others skipped), or NULL. */
static json_t *
tc_note(struct tc *t, const char *method, int timeout_ms)
{
	uint64_t	 deadline = mono_ms() + (uint64_t)timeout_ms;
	json_t		*j;

	while (mono_ms() < deadline && (j = tc_line(t, (int)(deadline - mono_ms()))) != NULL) {
		const char *m = json_string_value(json_object_get(j, "method"));

		if (m != NULL && strcmp(m, method) == 0) {
			json_t *p = json_incref(json_object_get(j, "params"));

			json_decref(j);
			return p;
		}
		json_decref(j);
	}
	return NULL;
}

/* ---- the socket file --------------------------------------------------------------- */

START_TEST(test_socket_file)
{
	struct ccd		 other;
	struct ccd_config	 cfg;
	struct stat		 st;
	struct sockaddr_un	 sun;
	char			*cause = NULL, path[160];
	int			 fd;

	ck_assert_int_eq(lstat(F.path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	/* a second daemon on the same path is refused, and the first survives */
	memset(&other, 0, sizeof(other));
	memset(&cfg, 0, sizeof(cfg));
	other.base = F.base;
	other.cfg = &cfg;
	other.engine = F.a.ccd.engine;
	cfg.control_socket = F.path;
	ck_assert_int_eq(control_open(&other, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "in use"));
	free(cause);
	ck_assert_int_eq(lstat(F.path, &st), 0);
	/* a stale socket (nobody listening) is replaced; mode as configured */
	snprintf(path, sizeof(path), "%s/stale.sock", F.dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	cfg.control_socket = path;
	cfg.control_mode = 0600;
	ck_assert_msg(control_open(&other, &cause) == 0, "%s", cause);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	control_close(&other);
	ck_assert_int_eq(lstat(path, &st), -1);		/* removed at close */
	/* anything but a socket is left alone */
	ck_assert_int_ge(fd = open(path, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	ck_assert_int_eq(control_open(&other, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a socket"));
	free(cause);
	ck_assert_int_eq(lstat(path, &st), 0);
	unlink(path);
	/* a group by number (ours, so that chown works unprivileged) */
	{
		char gid[24];

		snprintf(gid, sizeof(gid), "%lu", (unsigned long)getgid());
		cfg.control_group = gid;
		cfg.control_mode = 0660;
		ck_assert_msg(control_open(&other, &cause) == 0, "%s", cause);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert_uint_eq(st.st_gid, getgid());
		ck_assert_int_eq(st.st_mode & 07777, 0660);
		control_close(&other);
	}
	/* an unknown group is refused before anything is created */
	cfg.control_group = (char *)"no-such-group-for-chitchatd";
	ck_assert_int_eq(control_open(&other, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "no-such-group"));
	free(cause);
	ck_assert_int_eq(lstat(path, &st), -1);
	/* "none" disables the socket */
	cfg.control_socket = (char *)"none";
	ck_assert_int_eq(control_open(&other, &cause), 0);
	ck_assert_ptr_null(other.control);
}
END_TEST

/* ---- the read-only socket ------------------------------------------------------------ */

/* Connects a test client to path. */
static void
tc_connect_to(struct tc *t, const char *path)
{
	struct sockaddr_un sun;

	memset(t, 0, sizeof(*t));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(t->fd, 0);
	ck_assert_int_eq(connect(t->fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
}

START_TEST(test_readonly_socket)
{
	struct tc	 rw, ro, more[3];
	struct stat	 st;
	char		 ro_path[160], *cause = NULL;
	json_t		*r, *p;
	mode_t		 old;

	/* reopened with a read-only socket too, under a umask that would hide both */
	control_close(&F.a.ccd);
	snprintf(ro_path, sizeof(ro_path), "%s/ro.sock", F.dir);
	F.a.cfg.control_readonly_socket = ro_path;
	old = umask(077);
	ck_assert_msg(control_open(&F.a.ccd, &cause) == 0, "%s", cause);
	umask(old);
	ck_assert_int_eq(lstat(F.path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(lstat(ro_path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0666);
	/* watchers: reads and subscriptions work, writes never */
	tc_connect_to(&ro, ro_path);
	r = tc_call(&ro, 1, "hello", "{'protocol':1}");
	ck_assert_str_eq(str(json_object_get(r, "result"), "access"), "read");
	json_decref(r);
	r = tc_call(&ro, 2, "set", "{'key':'ro/x','value':'1'}");
	ck_assert_int_eq(code_of(r), -32003);
	ck_assert_ptr_nonnull(strstr(str(json_object_get(json_object_get(r, "error"), "data"),
	    "reason"), "read-only"));
	json_decref(r);
	ck_assert_ptr_null(cc_node_get(cc_engine_self_node(F.a.ccd.engine), "ro/x", 4));
	tc_ok(&ro, 3, "info", NULL);
	tc_ok(&ro, 4, "subscribe", "{'prefix':'ro/'}");
	/* a key written on the main socket reaches the read-only subscriber */
	tc_connect(&rw);
	r = tc_call(&rw, 1, "hello", "{'protocol':1}");
	ck_assert_str_eq(str(json_object_get(r, "result"), "access"), "write");
	json_decref(r);
	tc_ok(&rw, 2, "set", "{'key':'ro/x','value':'2'}");
	ck_assert_ptr_nonnull(p = tc_note(&ro, CC_CTL_KEY_CHANGED, 5000));
	ck_assert_str_eq(str(p, "key"), "ro/x");
	ck_assert_str_eq(str(p, "value"), "2");
	json_decref(p);
	r = tc_call(&ro, 5, "get", "{'key':'ro/x'}");
	ck_assert_str_eq(str(json_object_get(r, "result"), "value"), "2");
	json_decref(r);
	ck_assert_uint_eq(F.a.ccd.counters.denied, 1);
	/* max_clients per socket: the read-only one is full, the main one is not */
	F.a.ccd.control->max_clients = 2;
	tc_connect_to(&more[0], ro_path);
	tc_ok(&more[0], 1, "info", NULL);
	tc_connect_to(&more[1], ro_path);
	r = tc_reply(&more[1]);
	ck_assert_int_eq(code_of(r), -32005);
	json_decref(r);
	ck_assert(tc_wait_eof(&more[1], 5000));
	tc_connect(&more[2]);
	tc_ok(&more[2], 1, "info", NULL);
	ck_assert_uint_eq(F.a.ccd.control->n_clients, 4);
	for (int i = 0; i < 3; i++)
		tc_close(&more[i]);
	tc_close(&ro);
	tc_close(&rw);
	/* both removed at close */
	control_close(&F.a.ccd);
	ck_assert_int_eq(lstat(F.path, &st), -1);
	ck_assert_int_eq(lstat(ro_path, &st), -1);
	F.a.cfg.control_readonly_socket = NULL;
}
END_TEST

START_TEST(test_readonly_socket_files)
{
	struct ccd		 other;
	struct ccd_config	 cfg;
	struct stat		 st;
	struct sockaddr_un	 sun;
	char			 ro[160], main_path[160], *cause = NULL;
	int			 fd;

	memset(&other, 0, sizeof(other));
	memset(&cfg, 0, sizeof(cfg));
	other.base = F.base;
	other.cfg = &cfg;
	other.engine = F.a.ccd.engine;
	snprintf(ro, sizeof(ro), "%s/ro2.sock", F.dir);
	snprintf(main_path, sizeof(main_path), "%s/main2.sock", F.dir);
	/* a stale read-only socket is replaced; its mode as configured */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, ro, strlen(ro) + 1);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM, 0), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	cfg.control_socket = (char *)"none";		/* a read-only socket alone */
	cfg.control_readonly_socket = ro;
	cfg.control_readonly_mode = 0640;
	ck_assert_msg(control_open(&other, &cause) == 0, "%s", cause);
	ck_assert_ptr_nonnull(other.control);
	ck_assert_int_eq(lstat(ro, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	/* a second daemon on it is refused, and the first keeps it */
	{
		struct ccd second = other;

		second.control = NULL;
		ck_assert_int_eq(control_open(&second, &cause), -1);
		ck_assert_ptr_nonnull(strstr(cause, "in use"));
		free(cause);
		ck_assert_int_eq(lstat(ro, &st), 0);
	}
	control_close(&other);
	ck_assert_int_eq(lstat(ro, &st), -1);
	/* not a socket: refused, and the main socket made before it is removed */
	ck_assert_int_ge(fd = open(ro, O_CREAT | O_WRONLY, 0600), 0);
	close(fd);
	cfg.control_socket = main_path;
	ck_assert_int_eq(control_open(&other, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a socket"));
	free(cause);
	ck_assert_ptr_null(other.control);
	ck_assert_int_eq(lstat(main_path, &st), -1);
	ck_assert_int_eq(lstat(ro, &st), 0);
	unlink(ro);
}
END_TEST

/* ---- framing ------------------------------------------------------------------------- */

START_TEST(test_pipelined)
{
	struct tc	 t;
	char		*buf = malloc(64 * 200), *p = buf;
	json_t		*r;

	tc_connect(&t);
	/* 100 requests in one write: every reply, in order */
	for (int i = 1; i <= 100; i++)
		p += sprintf(p, i % 2 ? "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"set\","
		    "\"params\":{\"key\":\"k%d\",\"value\":\"v\"}}\n" :
		    "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"get\",\"params\":{\"key\":\"k%d\"}}\n",
		    i, i - (i % 2 ? 0 : 1));
	tc_send(&t, buf, (size_t)(p - buf));
	for (int i = 1; i <= 100; i++) {
		ck_assert_ptr_nonnull(r = tc_line(&t, 5000));
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), i);
		ck_assert_msg(json_object_get(r, "result") != NULL, "request %d failed", i);
		json_decref(r);
	}
	/* a request split over several writes */
	tc_sends(&t, "{\"jsonrpc\":\"2.0\",");
	pump(20);
	tc_sends(&t, "\"id\":101,\"method\":\"info\"}");
	pump(20);
	tc_sends(&t, "\r\n");
	r = tc_reply(&t);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 101);
	json_decref(r);
	ck_assert_uint_eq(F.a.ccd.counters.requests, 101);
	free(buf);
	tc_close(&t);
}
END_TEST

START_TEST(test_many_clients)
{
	struct tc	t[16];
	json_t		*r;

	for (int i = 0; i < 16; i++)
		tc_connect(&t[i]);
	for (int i = 0; i < 16; i++)
		tc_sends(&t[i], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\","
		    "\"params\":{\"protocol\":1,\"client\":\"check_control\"}}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"info\"}\n");
	for (int i = 0; i < 16; i++) {
		r = tc_reply(&t[i]);
		ck_assert_str_eq(str(json_object_get(r, "result"), "node_id"), "daemon-a");
		json_decref(r);
		r = tc_reply(&t[i]);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
		json_decref(r);
	}
	ck_assert_uint_eq(F.a.ccd.control->n_clients, 16);
	ck_assert_uint_eq(F.a.ccd.counters.clients_accepted, 16);
	for (int i = 0; i < 16; i++)
		tc_close(&t[i]);
	for (int i = 0; i < 100 && F.a.ccd.control->n_clients > 0; i++)
		pump(5);
	ck_assert_uint_eq(F.a.ccd.control->n_clients, 0);
}
END_TEST

START_TEST(test_broken_json)
{
	struct tc	 t;
	json_t		*r;

	tc_connect(&t);
	tc_sends(&t, "{oops\n\x01\x02\n[1,\n");
	for (int i = 0; i < 3; i++) {
		r = tc_reply(&t);
		ck_assert_int_eq(code_of(r), -32700);
		ck_assert(json_is_null(json_object_get(r, "id")));
		json_decref(r);
	}
	tc_ok(&t, 7, "info", NULL);
	ck_assert_uint_eq(F.a.ccd.counters.parse_errors, 3);
	tc_close(&t);
}
END_TEST

START_TEST(test_oversized_line)
{
	struct tc	 t, u;
	char		*big = malloc(5000);
	json_t		*r;

	F.a.ccd.control->max_line = 1024;
	memset(big, ' ', 5000);
	/* no newline yet, already too long */
	tc_connect(&t);
	tc_send(&t, big, 5000);
	r = tc_reply(&t);
	ck_assert_int_eq(code_of(r), -32600);
	ck_assert_str_eq(str(json_object_get(r, "error"), "message"), "request too large");
	json_decref(r);
	ck_assert(tc_wait_eof(&t, 5000));
	tc_close(&t);
	/* a complete line, too long; what came before it is answered */
	tc_connect(&t);
	tc_sends(&t, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\"}\n");
	big[2000] = '\n';
	tc_send(&t, big, 2001);
	r = tc_reply(&t);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = tc_reply(&t);
	ck_assert_int_eq(code_of(r), -32600);
	json_decref(r);
	ck_assert(tc_wait_eof(&t, 5000));
	tc_close(&t);
	ck_assert_uint_eq(F.a.ccd.counters.oversized_lines, 2);
	/* exactly max_line is fine */
	tc_connect(&u);
	memset(big, ' ', 1024);
	memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"info\"}", 40);
	big[1024] = '\n';
	tc_send(&u, big, 1025);
	r = tc_reply(&u);
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	json_decref(r);
	tc_close(&u);
	free(big);
}
END_TEST

START_TEST(test_max_clients)
{
	struct tc	 t[5];
	json_t		*r;

	F.a.ccd.control->max_clients = 4;
	for (int i = 0; i < 4; i++) {
		tc_connect(&t[i]);
		tc_ok(&t[i], 1, "info", NULL);
	}
	tc_connect(&t[4]);
	r = tc_reply(&t[4]);
	ck_assert_int_eq(code_of(r), -32005);
	json_decref(r);
	ck_assert(tc_wait_eof(&t[4], 5000));
	tc_close(&t[4]);
	ck_assert_uint_eq(F.a.ccd.counters.clients_rejected, 1);
	/* the others are still served; once one leaves, a newcomer is too */
	tc_ok(&t[0], 2, "info", NULL);
	tc_close(&t[1]);
	for (int i = 0; i < 100 && F.a.ccd.control->n_clients > 3; i++)
		pump(5);
	tc_connect(&t[1]);
	tc_ok(&t[1], 3, "info", NULL);
	for (int i = 0; i < 4; i++)
		tc_close(&t[i]);
}
END_TEST

START_TEST(test_half_close)
{
	struct tc	 t;
	json_t		*r;

	/* what `echo ... | socat - UNIX-CONNECT:...` does */
	tc_connect(&t);
	tc_sends(&t, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":1}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"info\"}");	/* no final newline */
	shutdown(t.fd, SHUT_WR);
	r = tc_reply(&t);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = tc_reply(&t);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	ck_assert(tc_wait_eof(&t, 5000));
	tc_close(&t);
}
END_TEST

START_TEST(test_protocol_mismatch)
{
	struct tc	 t;
	json_t		*r;

	tc_connect(&t);
	tc_sends(&t, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\",\"params\":{\"protocol\":99}}\n"
	    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"info\"}\n");
	r = tc_reply(&t);
	ck_assert_int_eq(code_of(r), -32002);
	json_decref(r);
	ck_assert_ptr_null(tc_line(&t, 5000));	/* nothing more: closed */
	ck_assert(t.eof);
	tc_close(&t);
}
END_TEST

START_TEST(test_vanishing_clients)
{
	struct tc	t[4], ok;
	char		req[128];

	/* a subscriber that leaves while notifications flow */
	tc_connect(&t[0]);
	tc_ok(&t[0], 1, "subscribe", "{'prefix':''}");
	/* a client that sends many requests and leaves without reading */
	tc_connect(&t[1]);
	for (int i = 0; i < 200; i++) {
		snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"metrics\"}\n", i);
		tc_sends(&t[1], req);
	}
	/* half a request, then gone */
	tc_connect(&t[2]);
	tc_sends(&t[2], "{\"jsonrpc\":\"2.0\",\"id\":1,\"meth");
	/* gone before the daemon even looked at it */
	tc_connect(&t[3]);
	tc_close(&t[3]);
	pump(10);
	for (int i = 0; i < 50; i++) {
		char key[32];

		snprintf(key, sizeof(key), "key-%d", i);
		ck_assert_int_eq(cc_engine_set(F.a.ccd.engine, key, strlen(key), "v", 1), 0);
		if (i == 10) {
			tc_close(&t[0]);
			tc_close(&t[1]);
			tc_close(&t[2]);
		}
		pump(1);
	}
	for (int i = 0; i < 200 && F.a.ccd.control->n_clients > 0; i++)
		pump(5);
	ck_assert_uint_eq(F.a.ccd.control->n_clients, 0);
	ck_assert_uint_eq(subscribe_count(&F.a.ccd), 0);
	/* still serving */
	tc_connect(&ok);
	tc_ok(&ok, 1, "info", NULL);
	tc_close(&ok);
}
END_TEST

START_TEST(test_throttled_reader)
{
	struct tc		 t;
	struct ctl_client	*c;
	char			*buf = malloc(300 * 64), *p = buf, *text;
	bool			 throttled = false;
	json_t			*r;
	size_t			 len, slack;

	/* over the cap by one reply at most: the metrics text, JSON-escaped, and its envelope */
	ck_assert_ptr_nonnull(text = metrics_format(&F.a.ccd, &len));
	free(text);
	slack = 2 * len + 256;
	/* replies to a client that does not read: reading it pauses, nothing is lost */
	F.a.ccd.control->max_output = 16 * 1024;
	tc_connect(&t);
	for (int i = 1; i <= 300; i++)
		p += sprintf(p, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"metrics\"}\n", i);
	tc_send(&t, buf, (size_t)(p - buf));
	for (int i = 0; i < 100; i++) {
		pump(2);
		c = TAILQ_FIRST(&F.a.ccd.control->clients);
		ck_assert_ptr_nonnull(c);
		throttled |= c->throttled;
		ck_assert_uint_le(control_client_queued(c), 16 * 1024 + slack);
	}
	ck_assert(throttled);
	ck_assert_int_eq(c->state, CTL_ACTIVE);
	ck_assert_uint_lt(F.a.ccd.counters.requests, 300);
	for (int i = 1; i <= 300; i++) {
		ck_assert_ptr_nonnull(r = tc_line(&t, 5000));
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}
	ck_assert_uint_eq(F.a.ccd.counters.lagged_clients, 0);
	free(buf);
	tc_close(&t);
}
END_TEST

START_TEST(test_accept_emfile)
{
	struct rlimit	 old, rl;
	int		 fds[512], n = 0;
	struct tc	 t;
	json_t		*r;
	uint64_t	 deadline;

	/* out of descriptors: accept pauses, then resumes on its own */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	rl.rlim_cur = 200;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	while (n < 512 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1)
		n++;
	ck_assert_int_eq(errno, EMFILE);
	close(fds[--n]);
	tc_connect(&t);		/* takes the last descriptor: accept gets EMFILE */
	tc_sends(&t, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"info\"}\n");
	pump(50);
	ck_assert_uint_ge(F.a.ccd.control->accept_errors, 1);
	ck_assert_uint_eq(F.a.ccd.control->n_clients, 0);
	close(fds[--n]);
	close(fds[--n]);
	deadline = mono_ms() + 5000;
	r = NULL;
	while (r == NULL && mono_ms() < deadline)
		r = tc_line(&t, 100);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	json_decref(r);
	tc_close(&t);
	while (n > 0)
		close(fds[--n]);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
}
END_TEST

/* ---- subscriptions ---------------------------------------------------------------------- */

START_TEST(test_subscribe_keys)
{
	static const char	*events[] = { "set", "ttl_marked", "deleted", "set" };
	static const char	*values[] = { "1", "x", "", "2" };
	struct tc		 s, w;
	json_t			*r, *p;
	json_int_t		 version = 0;

	tc_connect(&w);
	tc_ok(&w, 1, "set", "{'key':'p/0','value':'before'}");
	tc_connect(&s);
	r = tc_call(&s, 1, "subscribe", "{'topic':'keys','prefix':'p/'}");
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(r, "result"),
	    "snapshot")), 1);
	json_decref(r);
	tc_ok(&w, 2, "set", "{'key':'p/1','value':'1'}");
	tc_ok(&w, 3, "set", "{'key':'q/1','value':'no'}");
	tc_ok(&w, 4, "set", "{'key':'p/2','value':'x','ttl':true}");
	tc_ok(&w, 5, "delete", "{'key':'p/1'}");
	tc_ok(&w, 6, "set", "{'key':'p/1','value':'2'}");
	for (int i = 0; i < 4; i++) {
		ck_assert_ptr_nonnull(p = tc_note(&s, CC_CTL_KEY_CHANGED, 5000));
		ck_assert_str_eq(str(p, "event"), events[i]);
		ck_assert_str_eq(str(p, "value"), values[i]);
		ck_assert_str_eq(str(p, "node_id"), "daemon-a");
		ck_assert_int_eq(json_integer_value(json_object_get(p, "generation")), 1);
		ck_assert_int_gt(json_integer_value(json_object_get(p, "version")), version);
		version = json_integer_value(json_object_get(p, "version"));
		json_decref(p);
	}
	r = tc_call(&s, 2, "unsubscribe", "{'subscription':1}");
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	json_decref(r);
	tc_ok(&w, 7, "set", "{'key':'p/3','value':'3'}");
	ck_assert_ptr_null(tc_line(&s, 200));
	tc_close(&s);
	tc_close(&w);
}
END_TEST

START_TEST(test_lagged_subscriber)
{
	struct tc		 slow, other;
	char			 value[1024], key[32];
	const struct cc_stats	*st = cc_engine_stats(F.a.ccd.engine);
	uint64_t		 rounds, t0, worst = 0;
	json_t			*j, *last = NULL;
	size_t			 lines = 0;
	int			 i;

	F.a.ccd.control->max_output = 64 * 1024;
	tc_connect(&slow);
	tc_ok(&slow, 1, "subscribe", "{'prefix':''}");
	tc_connect(&other);
	tc_ok(&other, 1, "subscribe", "{'prefix':'none/'}");
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	/* the engine keeps writing; the subscriber never reads */
	for (i = 0; i < 20000 && F.a.ccd.counters.lagged_clients == 0; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		t0 = mono_ms();
		ck_assert_int_eq(cc_engine_set(F.a.ccd.engine, key, strlen(key), value,
		    strlen(value)), 0);
		if (mono_ms() - t0 > worst)
			worst = mono_ms() - t0;
		if (i % 50 == 0)
			pump(1);
	}
	ck_assert_uint_eq(F.a.ccd.counters.lagged_clients, 1);
	ck_assert_msg(worst < 100, "an engine write waited %ju ms", (uintmax_t)worst);
	ck_assert_uint_le(F.a.ccd.control->max_output, 64 * 1024);
	/* the loop goes on: rounds run, the other client is served */
	rounds = st->rounds;
	pump(300);
	ck_assert_uint_gt(st->rounds, rounds + 2);
	tc_ok(&other, 2, "info", NULL);
	ck_assert_uint_eq(subscribe_count(&F.a.ccd), 1);
	/* the slow one finds complete lines, then "lagged", then the end */
	while ((j = tc_line(&slow, 5000)) != NULL) {
		json_decref(last);
		last = j;
		lines++;
	}
	ck_assert(slow.eof);
	ck_assert_uint_gt(lines, 10);
	ck_assert_ptr_nonnull(last);
	ck_assert_str_eq(str(last, "method"), CC_CTL_LAGGED);
	json_decref(last);
	tc_close(&slow);
	tc_close(&other);
}
END_TEST

static bool
peer_seen(const struct cc_id *id, enum cc_liveness want)
{
	return cc_engine_node(F.a.ccd.engine, id) != NULL &&
	    cc_engine_liveness(F.a.ccd.engine, id) == want;
}

START_TEST(test_member_events)
{
	static const char	*events[] = { "added", "joined", "dead", "left", "scheduled",
				    "removed" };
	struct tc		 s;
	json_t			*r, *p;
	struct cc_id		 bid;
	size_t			 k = 0;
	uint64_t		 deadline;
	char			 seen[512] = "";

	tc_connect(&s);
	r = tc_call(&s, 1, "subscribe", "{'topic':'members'}");
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(r, "result"),
	    "snapshot")), 1);
	json_decref(r);
	node_start(&F.b, "daemon-b", &F.a.id.addr);
	ck_assert_int_eq(cc_id_copy(&bid, &F.b.id), 0);
	/* b joins */
	deadline = mono_ms() + 10000;
	while (!peer_seen(&bid, CC_LIVENESS_LIVE) && mono_ms() < deadline)
		pump(20);
	ck_assert(peer_seen(&bid, CC_LIVENESS_LIVE));
	/* b leaves */
	node_stop(&F.b);
	deadline = mono_ms() + 20000;
	while (k < 6 && mono_ms() < deadline) {
		if ((p = tc_note(&s, CC_CTL_MEMBER_CHANGED, 200)) == NULL)
			continue;
		if (strcmp(str(p, "node_id"), "daemon-b") == 0) {
			size_t l = strlen(seen);

			snprintf(seen + l, sizeof(seen) - l, " %s", str(p, "event"));
			ck_assert_int_eq(json_integer_value(json_object_get(p, "generation")), 1);
			if (strcmp(str(p, "event"), events[k]) == 0)
				k++;
		}
		json_decref(p);
	}
	ck_assert_msg(k == 6, "expected \"%s\", saw:%s", k < 6 ? events[k] : "", seen);
	ck_assert_ptr_null(cc_engine_node(F.a.ccd.engine, &bid));
	cc_id_clear(&bid);
	tc_close(&s);
}
END_TEST

/* ---- the Python example ----------------------------------------------------------------- */

static bool
find_example(char *out, size_t len)
{
	char	dir[PATH_MAX];
	ssize_t	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	if (n <= 0)
		return false;
	dir[n] = '\0';
	for (char *p; (p = strrchr(dir, '/')) != NULL;) {
		*p = '\0';
		snprintf(out, len, "%s/docs/examples/chitchat_client.py", dir);
		if (access(out, R_OK) == 0)
			return true;
	}
	return false;
}

START_TEST(test_python_example)
{
	char	 script[PATH_MAX + 64];
	char	*argv[] = { (char *)"python3", script, (char *)"-s", F.path, (char *)"demo", NULL };
	pid_t	 pid;
	int	 status = -1, devnull;
	uint64_t deadline = mono_ms() + 30000;
	posix_spawn_file_actions_t fa;

	ck_assert_msg(find_example(script, sizeof(script)), "docs/examples/chitchat_client.py");
	posix_spawn_file_actions_init(&fa);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);
	if (posix_spawnp(&pid, "python3", &fa, NULL, argv, environ) != 0) {
		fprintf(stderr, "check_control: python3 not found: example not run\n");
		posix_spawn_file_actions_destroy(&fa);
		close(devnull);
		return;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(devnull);
	while (mono_ms() < deadline) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		pump(10);
	}
	if (mono_ms() >= deadline) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the Python example did not finish");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the Python example failed (status %d)", status);
	ck_assert_uint_ge(F.a.ccd.counters.notifications, 3);
}
END_TEST

static Suite *
control_suite(void)
{
	Suite	*s = suite_create("control");
	TCase	*tc = tcase_create("socket");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_readonly_socket);
	tcase_add_test(tc, test_readonly_socket_files);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_many_clients);
	tcase_add_test(tc, test_broken_json);
	tcase_add_test(tc, test_oversized_line);
	tcase_add_test(tc, test_max_clients);
	tcase_add_test(tc, test_half_close);
	tcase_add_test(tc, test_protocol_mismatch);
	tcase_add_test(tc, test_vanishing_clients);
	tcase_add_test(tc, test_throttled_reader);
	tcase_add_test(tc, test_accept_emfile);
	tcase_add_test(tc, test_subscribe_keys);
	tcase_add_test(tc, test_lagged_subscriber);
	tcase_add_test(tc, test_member_events);
	tcase_add_test(tc, test_python_example);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(control_suite)
