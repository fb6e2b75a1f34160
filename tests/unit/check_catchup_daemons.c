/*
 * check_catchup_daemons.c: the catch-up side channel (docs/CATCHUP.md)
 * between real chitchatd processes on 127.0.0.1 (tests/support/daemonproc.c,
 * driven through their control sockets).
 *
 * Node A holds a large state (20,000 keys of 200 random printable bytes,
 * about 4 MB) and has purged tombstones, so its last_gc_version is above 0
 * and a newcomer's replica of A is reset on its first exchange (PROTOCOL.md
 * §4.4, §4.5). Gossip then refills it one datagram (at most 65,507 bytes)
 * per exchange: tens of rounds. With catch-up, the newcomer fetches A's
 * state over TCP after the reset. Rounds are counted with the newcomer's
 * own chitchatd_gossip_rounds_total, never with wall-clock time; every
 * wait is bounded, generously for the sanitizer build.
 *
 * Scenarios: catch-up on both sides (one fetch, a few rounds); the same
 * newcomer without the feature (--extensions none, the mixed case: many
 * more rounds, converges, A sees no connection); A without the feature
 * (the fetch is refused and counted, gossip converges); A's server against
 * hostile and excess connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cc_catchup.h"
#include "cc_seal.h"
#include "clusterwait.h"
#include "ctlclient.h"
#include "daemonproc.h"
#include "testutil.h"

#define WAIT_MS		90000	/* convergence by gossip alone, sanitizer build */
#define wait_metric(c, d, name, min)	cw_wait_metric(c, d, name, min, WAIT_MS)
#define BIG_KEYS	20000
#define VALUE_SIZE	200
#define DELETED		100
#define GOSSIP		"200ms"

static char cluster_id[64];

static void
setup(void)
{
	dproc_new_cluster_id(cluster_id, sizeof(cluster_id), "catchup");
}

/* chitchatd with the test timing, seeded with seed (if not NULL), plus extra args. */
static void
start_node(struct dproc *d, const char *name, const struct dproc *seed,
    const char *const *extra)
{
	static const char *const timing[] = { "--gossip-interval", GOSSIP,
	    "--marked-for-deletion-grace-period", "200ms", "--log-level", "debug", NULL };

	dproc_start_in(d, name, cluster_id, seed, timing, extra);
}

/* One JSON-RPC batch of `method` calls; asserts every element succeeded. */
static void
batch(struct ctlc *c, const char *method, json_t *params_list)
{
	json_t	*reqs = json_array(), *p, *reply, *r;
	char	*text;
	size_t	 i;

	json_array_foreach(params_list, i, p)
		json_array_append_new(reqs, json_pack("{s:s,s:I,s:s,s:O}", "jsonrpc", "2.0",
		    "id", (json_int_t)i + 1, "method", method, "params", p));
	text = json_dumps(reqs, JSON_COMPACT);
	ck_assert_ptr_nonnull(text);
	ck_assert(ctlc_send_line(c, text));
	reply = ctlc_read_msg(c, CTLC_REPLY_MS);
	ck_assert_msg(json_is_array(reply) && json_array_size(reply) == json_array_size(reqs),
	    "batch %s: reply %s", method, reply != NULL ? "not the array expected" : "missing");
	json_array_foreach(reply, i, r)
		ck_assert_msg(json_object_get(r, "error") == NULL, "batch %s: %s", method,
		    json_dumps(r, JSON_COMPACT));
	free(text);
	json_decref(reply);
	json_decref(reqs);
	json_decref(params_list);
}

/* Waits (bounded) until a metric falls to at most max. */
static void
wait_metric_max(struct ctlc *c, const struct dproc *d, const char *name, double max)
{
	long long	deadline = dproc_now_ms() + WAIT_MS;
	double		v;

	while ((v = ctlc_metric(c, name)) > max) {
		if (dproc_now_ms() > deadline)
			ck_abort_msg("%s: %s stayed at %g, above %g, for %d ms", d->node_id, name, v,
			    max, WAIT_MS);
		usleep(20000);
	}
}

/*
 * n keys with random printable values (hardly compressible), then DELETED
 * of them deleted; returns once the tombstones are purged, so that A's
 * last_gc_version is above 0. Returns A's visible key count.
 */
static double
load_state(struct ctlc *c, const struct dproc *d, int n)
{
	char	 key[32], *v = malloc(VALUE_SIZE + 1);
	json_t	*params = json_array();
	unsigned seed = 12345;

	ck_assert_ptr_nonnull(v);
	for (int i = 0; i < n; i++) {
		for (int j = 0; j < VALUE_SIZE; j++) {
			seed = seed * 1103515245u + 12345u;
			v[j] = (char)('!' + (seed >> 16) % 90);
		}
		v[VALUE_SIZE] = '\0';
		snprintf(key, sizeof(key), "big/k%05d", i);
		json_array_append_new(params, json_pack("{s:s,s:s}", "key", key, "value", v));
		if (json_array_size(params) == 500 || i == n - 1) {
			batch(c, "set", params);
			params = json_array();
		}
	}
	for (int i = 0; i < DELETED; i++) {
		snprintf(key, sizeof(key), "big/k%05d", i * (n / DELETED));
		json_array_append_new(params, json_pack("{s:s}", "key", key));
	}
	batch(c, "delete", params);
	free(v);
	wait_metric(c, d, "chitchatd_gossip_keys_gced_total", DELETED);
	ck_assert_double_eq(ctlc_metric(c, "chitchatd_keys"), n - DELETED);
	return n - DELETED;
}

/* B's gossip rounds when it first holds every key of A (cluster_keys >= want). */
static double
rounds_to_full_state(struct ctlc *c, const struct dproc *d, double want)
{
	long long	deadline = dproc_now_ms() + WAIT_MS;
	double		keys;

	for (;;) {
		keys = ctlc_metric(c, "chitchatd_cluster_keys");
		if (keys >= want)
			return ctlc_metric(c, "chitchatd_gossip_rounds_total");
		if (dproc_now_ms() > deadline)
			ck_abort_msg("%s: %g of %g keys after %d ms: %s", d->node_id, keys, want,
			    WAIT_MS, dproc_log(d));
		usleep(10000);
	}
}

static struct ctlc *
open_ctl(const struct dproc *d)
{
	struct ctlc *c = ctlc_open(d->sock);

	json_decref(ctlc_ok(c, "hello", "{\"protocol\":1,\"client\":\"check_catchup_daemons\"}"));
	return c;
}

/* ---- scenarios ---------------------------------------------------------------------- */

START_TEST(test_catchup_takes_a_few_rounds_gossip_alone_many_more)
{
	static const char *const no_ext[] = { "--extensions", "none", NULL };
	struct dproc	 a, b1, b2;
	struct ctlc	*ca, *cb;
	double		 want, with, without, conns;

	start_node(&a, "big-a", NULL, NULL);
	ca = open_ctl(&a);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_listening"), 1);
	want = load_state(ca, &a, BIG_KEYS);

	/* b1 knows the feature: its replica of a is reset, then fetched whole */
	start_node(&b1, "new-b1", &a, NULL);
	cb = open_ctl(&b1);
	with = rounds_to_full_state(cb, &b1, want);
	ck_assert_double_ge(ctlc_metric(cb, "chitchatd_gossip_resets_applied_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_started_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_completed_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_failed_total"), 0);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_refused_total"), 0);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_entries_applied_total"), want);
	/* zstd takes a little off the values: 6.5 bits of randomness per byte */
	ck_assert_double_ge(ctlc_metric(cb, "chitchatd_catchup_rx_bytes_total"),
	    want * VALUE_SIZE / 2);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_requests_served_total"), 1);
	ck_assert_msg(with <= 5, "with catch-up, %g rounds to the full state: %s", with,
	    dproc_log(&b1));
	ctlc_close(cb);
	dproc_stop(&b1);
	conns = ctlc_metric(ca, "chitchatd_catchup_server_connections_total");

	/* b2 does not know the feature (the mixed case): gossip alone refills it */
	start_node(&b2, "new-b2", &a, no_ext);
	cb = open_ctl(&b2);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_listening"), 0);
	without = rounds_to_full_state(cb, &b2, want);
	ck_assert_double_ge(ctlc_metric(cb, "chitchatd_gossip_resets_applied_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_started_total"), 0);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_server_connections_total"), conns);
	ck_assert_msg(without >= 5 * (with > 1 ? with : 1),
	    "gossip alone took %g rounds, catch-up %g: expected at least 5 times as many",
	    without, with);
	fprintf(stderr, "check_catchup_daemons: %g keys: %g rounds with catch-up, %g without\n",
	    want, with, without);
	ctlc_close(cb);
	dproc_stop(&b2);
	ctlc_close(ca);
	dproc_stop(&a);
}
END_TEST

START_TEST(test_fetch_refused_by_a_node_without_catchup_gossip_converges)
{
	static const char *const no_ext[] = { "--extensions", "none", NULL };
	struct dproc	 a, b;
	struct ctlc	*ca, *cb;
	double		 want, rounds;

	start_node(&a, "old-a", NULL, no_ext);
	ca = open_ctl(&a);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_listening"), 0);
	want = load_state(ca, &a, 5000);
	start_node(&b, "new-b", &a, NULL);
	cb = open_ctl(&b);
	/* nothing listens on a's TCP port: refused, counted, remembered */
	wait_metric(cb, &b, "chitchatd_catchup_fetches_refused_total", 1);
	rounds = rounds_to_full_state(cb, &b, want);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_started_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_refused_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_completed_total"), 0);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_in_flight"), 0);
	ck_assert_double_gt(rounds, 2);		/* refilled by gossip */
	ctlc_close(cb);
	dproc_stop(&b);
	ctlc_close(ca);
	dproc_stop(&a);
}
END_TEST

/* A TCP connection to d's catch-up port. */
static int
tcp_connect(const struct dproc *d)
{
	struct sockaddr_in	sin;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(d->port);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Reads until EOF (bounded); returns the bytes read (up to len). */
static size_t
read_to_eof(int fd, uint8_t *buf, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		got = 0;
	long long	deadline = dproc_now_ms() + 20000;

	for (;;) {
		ssize_t n;

		ck_assert_msg(dproc_now_ms() < deadline, "no EOF from the catch-up server");
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (got < len)
			n = read(fd, buf + got, len - got);
		else {
			uint8_t sink[4096];

			n = read(fd, sink, sizeof(sink));
		}
		if (n <= 0)
			return got;
		if (got < len)
			got += (size_t)n;
	}
}

/* Sends one frame (prefix + body); reads the answer's first body into *h. */
static void
ask(const struct dproc *d, const struct cc_wbuf *body, struct cc_catchup_header *h)
{
	struct cc_wbuf	 frame;
	uint8_t		 buf[256];
	size_t		 got, len;
	int		 fd = tcp_connect(d);

	cc_wbuf_init(&frame);
	cc_catchup_put_prefix(&frame, body->len);
	cc_wbuf_bytes(&frame, body->data, body->len);
	ck_assert_int_eq(write(fd, frame.data, frame.len), (ssize_t)frame.len);
	got = read_to_eof(fd, buf, sizeof(buf));
	ck_assert_uint_ge(got, CC_CATCHUP_PREFIX);
	ck_assert_int_eq(cc_catchup_get_prefix(buf, sizeof(buf), &len), 0);
	ck_assert_uint_ge(got, CC_CATCHUP_PREFIX + len);
	ck_assert_int_eq(cc_catchup_header_decode(buf + CC_CATCHUP_PREFIX, len, h), 0);
	close(fd);
	cc_wbuf_clear(&frame);
}

/* A keyring file (mode 0600) holding key alone, at a fresh path. */
static void
keyring_file(char *path, size_t len, const char *name, const uint8_t key[CC_KEY_LEN])
{
	char	b64[CC_KEY_B64_LEN + 1];
	int	fd;

	snprintf(path, len, "/tmp/ccu-keyring-%d-%lld-%s.json", (int)getpid(), dproc_now_ms(), name);
	cc_key_to_base64(key, b64);
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
	ck_assert_int_gt(dprintf(fd, "[\"%s\"]\n", b64), 0);
	close(fd);
}

/* One frame (prefix + bytes) written to d's catch-up port, then read to EOF. */
static void
send_frame(const struct dproc *d, const uint8_t *bytes, size_t len)
{
	struct cc_wbuf	frame;
	uint8_t		buf[256];
	int		fd = tcp_connect(d);

	cc_wbuf_init(&frame);
	cc_catchup_put_prefix(&frame, len);
	cc_wbuf_bytes(&frame, bytes, len);
	ck_assert_int_eq(write(fd, frame.data, frame.len), (ssize_t)frame.len);
	(void)read_to_eof(fd, buf, sizeof(buf));
	close(fd);
	cc_wbuf_clear(&frame);
}

/*
 * With gossip encryption, catch-up frames are sealed with the keyring: two
 * nodes sharing it fetch as without encryption; a plaintext request, or
 * one sealed with another key, is refused and counted.
 */
START_TEST(test_catchup_is_sealed_with_the_gossip_keyring)
{
	struct dproc	 a, b;
	struct ctlc	*ca, *cb;
	uint8_t		 key[CC_KEY_LEN], other[CC_KEY_LEN], sealed[64];
	char		 kr_a[128], kr_b[128];
	size_t		 slen;
	double		 want;

	ck_assert_int_eq(cc_seal_init(), 0);
	cc_key_generate(key);
	cc_key_generate(other);
	keyring_file(kr_a, sizeof(kr_a), "a", key);
	keyring_file(kr_b, sizeof(kr_b), "b", key);
	const char *const	 args_a[] = { "--encryption", "on", "--keyring", kr_a, NULL };
	const char *const	 args_b[] = { "--encryption", "on", "--keyring", kr_b, NULL };

	start_node(&a, "enc-a", NULL, args_a);
	ca = open_ctl(&a);
	want = load_state(ca, &a, 3000);
	start_node(&b, "enc-b", &a, args_b);
	cb = open_ctl(&b);
	(void)rounds_to_full_state(cb, &b, want);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_fetches_completed_total"), 1);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_entries_applied_total"), want);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_requests_served_total"), 1);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_auth_failures_total"), 0);
	ck_assert_double_eq(ctlc_metric(cb, "chitchatd_catchup_auth_failures_total"), 0);

	/* a plaintext request: refused by a node whose encryption is on */
	send_frame(&a, (const uint8_t *)"\x01garbage", 8);
	wait_metric(ca, &a, "chitchatd_catchup_auth_failures_total", 1);
	/* sealed, but with a key a's keyring does not hold */
	ck_assert_int_eq(cc_seal(other, (const uint8_t *)"\x01garbage", 8, sealed,
	    sizeof(sealed), &slen), 0);
	send_frame(&a, sealed, slen);
	wait_metric(ca, &a, "chitchatd_catchup_auth_failures_total", 2);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_requests_served_total"), 1);

	ctlc_close(cb);
	dproc_stop(&b);
	ctlc_close(ca);
	dproc_stop(&a);
	unlink(kr_a);
	unlink(kr_b);
}
END_TEST

START_TEST(test_server_refuses_hostile_requests_and_excess_connections)
{
	struct dproc			 a;
	struct ctlc			*ca;
	struct cc_catchup_request	 r;
	struct cc_catchup_header	 h;
	struct cc_wbuf			 body;
	struct cc_id			 id;
	struct cc_addr			 addr;
	const uint8_t			 huge[4] = { 0xff, 0xff, 0xff, 0xff };
	uint8_t				 buf[64];
	int				 fds[20], fd;
	char				 addrtext[32];
	double				 refused;

	start_node(&a, "srv-a", NULL, NULL);
	ca = open_ctl(&a);
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"k\",\"value\":\"v\"}"));
	cc_wbuf_init(&body);

	/* an absurd length: closed at once, nothing answered */
	fd = tcp_connect(&a);
	ck_assert_int_eq(write(fd, huge, sizeof(huge)), 4);
	ck_assert_uint_eq(read_to_eof(fd, buf, sizeof(buf)), 0);
	close(fd);
	/* a frame of garbage: BAD_REQUEST */
	cc_wbuf_bytes(&body, "\x01garbage", 8);
	ask(&a, &body, &h);
	ck_assert_int_eq(h.status, CC_CATCHUP_BAD_REQUEST);
	/* another cluster */
	snprintf(addrtext, sizeof(addrtext), "%s", a.listen);
	ck_assert_int_eq(cc_addr_parse(addrtext, &addr), 0);
	ck_assert_int_eq(cc_id_init(&id, "srv-a", 5, 0, &addr), 0);
	memset(&r, 0, sizeof(r));
	r.version = CC_CATCHUP_VERSION;
	r.cluster_id = (char *)"someone-else";
	r.cluster_id_len = strlen(r.cluster_id);
	r.id = id;
	cc_wbuf_reset(&body);
	cc_catchup_request_encode(&body, &r);
	ask(&a, &body, &h);
	ck_assert_int_eq(h.status, CC_CATCHUP_WRONG_CLUSTER);
	/* the right cluster, a node it does not hold (generation 0 is not a's) */
	r.cluster_id = cluster_id;
	r.cluster_id_len = strlen(cluster_id);
	cc_wbuf_reset(&body);
	cc_catchup_request_encode(&body, &r);
	ask(&a, &body, &h);
	ck_assert_int_eq(h.status, CC_CATCHUP_NOT_FOUND);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_requests_refused_total"), 3);

	/* 20 idle connections: 16 held (until their idle timeout), the rest closed */
	for (int i = 0; i < 20; i++)
		fds[i] = tcp_connect(&a);
	wait_metric(ca, &a, "chitchatd_catchup_requests_refused_total", 3 + 4);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_server_connections"), 16);
	for (int i = 0; i < 20; i++)
		close(fds[i]);
	/* one that trickles a request: closed at the request deadline (5 s) */
	wait_metric_max(ca, &a, "chitchatd_catchup_server_connections", 0);
	refused = ctlc_metric(ca, "chitchatd_catchup_requests_refused_total");
	fd = tcp_connect(&a);
	ck_assert_int_eq(write(fd, "\x10\0\0\0\x01", 5), 5);
	for (int i = 0; i < 3; i++) {
		usleep(1500000);
		ck_assert_int_eq(write(fd, "c", 1), 1);		/* never idle */
	}
	ck_assert_uint_eq(read_to_eof(fd, buf, sizeof(buf)), 0);
	close(fd);
	ck_assert_double_eq(ctlc_metric(ca, "chitchatd_catchup_requests_refused_total"),
	    refused + 1);
	/* the daemon goes on, gossip included */
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"k\",\"value\":\"w\"}"));
	wait_metric(ca, &a, "chitchatd_gossip_rounds_total",
	    ctlc_metric(ca, "chitchatd_gossip_rounds_total") + 2);
	cc_id_clear(&id);
	cc_wbuf_clear(&body);
	ctlc_close(ca);
	dproc_stop(&a);
}
END_TEST

static Suite *
catchup_daemons_suite(void)
{
	Suite	*s = suite_create("catchup_daemons");
	TCase	*tc = tcase_create("catchup_daemons");

	tcase_add_unchecked_fixture(tc, dproc_setup, dproc_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_catchup_takes_a_few_rounds_gossip_alone_many_more);
	tcase_add_test(tc, test_fetch_refused_by_a_node_without_catchup_gossip_converges);
	tcase_add_test(tc, test_server_refuses_hostile_requests_and_excess_connections);
	tcase_add_test(tc, test_catchup_is_sealed_with_the_gossip_keyring);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(catchup_daemons_suite)
