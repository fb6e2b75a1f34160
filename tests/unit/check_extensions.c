/*
 * check_extensions.c: chitchatd's extensions beyond chitchat (issue 8,
 * items 3 and 4), end to end: real daemon processes on 127.0.0.1, driven
 * through their control sockets (tests/support/ctlclient.c), as in
 * check_cluster.c.
 *
 * Key expiry (key-ttl): a key set with a duration on one node is seen
 * everywhere with its deadline, then deleted by its owner; subscribers
 * of daemons running the extension get "expired", a daemon with
 * extensions = none (which is how a Rust node sees it) gets "deleted"
 * and converges all the same, seeing the meta key only under the
 * reserved prefix. Setting again without a duration cancels it; a delete
 * before the deadline is a plain deletion.
 *
 * Peer cache (peer-cache): three daemons with state directories, then
 * all three stopped and restarted on the same ports with no seed at all:
 * they find each other through peers.json alone. A corrupt file is only
 * a warning; with the extension off no file is written.
 *
 * Timing: gossip every 100 ms, as check_cluster.c. Time-based assertions
 * have generous bounds: "still there before the deadline" is only
 * asserted when the check itself ran well before it. Every daemon is
 * stopped with SIGTERM and must exit 0 (ASan/UBSan clean in build/san).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "clusterwait.h"
#include "ctlclient.h"
#include "daemonproc.h"
#include "testutil.h"

#define WAIT_MS		20000	/* convergence, propagation, expiry */
#define count_live(c)			cw_count_live(c)
#define wait_live(c, d, want)		cw_wait_live(c, d, want, WAIT_MS)

static char cluster_id[64];

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_until(long long t)
{
	long long d;

	while ((d = t - dproc_now_ms()) > 0)
		usleep((useconds_t)(d > 100 ? 100000 : d * 1000));
}

static void
setup(void)
{
	dproc_new_cluster_id(cluster_id, sizeof(cluster_id), "ext");
}

/* ---- daemons -------------------------------------------------------------------------- */

/*
 * chitchatd with the test timing, seeded with seed (if not NULL), on port
 * (0: a free one), plus extra args.
 */
static void
start_node(struct dproc *d, const char *name, const struct dproc *seed, uint16_t port,
    const char *const *extra)
{
	char		 listen[32];
	const char	*timing[] = { "--gossip-interval", "100ms", "--phi-threshold", "8",
	    "--initial-interval", "500ms", NULL, NULL, NULL };

	if (port != 0) {
		/* the last --listen wins over the free port dproc_start picks */
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
		timing[6] = "--listen";
		timing[7] = listen;
	}
	dproc_start_in(d, name, cluster_id, seed, timing, extra);
	if (port != 0) {
		d->port = port;
		snprintf(d->listen, sizeof(d->listen), "%s", listen);
	}
}

/* get KEY of node on c: the reply (a new reference), result or error. */
static json_t *
get_on(struct ctlc *c, const char *node, const char *key)
{
	json_t *p = json_pack("{s:s,s:s}", "key", key, "node", node);

	return ctlc_call_json(c, "get", p);
}

static bool
has_key(struct ctlc *c, const char *node, const char *key)
{
	json_t	*r = get_on(c, node, key);
	bool	 found = json_object_get(r, "result") != NULL;

	json_decref(r);
	return found;
}

static void
wait_key(struct ctlc *c, const char *who, const char *node, const char *key, bool want)
{
	long long deadline = dproc_now_ms() + WAIT_MS;

	while (has_key(c, node, key) != want) {
		ck_assert_msg(dproc_now_ms() < deadline, "%s: %s of %s still %s after %d ms", who, key,
		    node, want ? "absent" : "there", WAIT_MS);
		usleep(50000);
	}
}

/* A client subscribed to keys under prefix (the snapshot dropped). */
static struct ctlc *
subscriber(const struct dproc *d, const char *prefix)
{
	struct ctlc	*c = ctlc_open(d->sock);
	json_t		*res = ctlc_ok_json(c, "subscribe", json_pack("{s:s}", "prefix", prefix));

	json_decref(res);
	return c;
}

/*
 * The events received for key, "set,expired", waiting (bounded) until
 * there are at least want of them, then a short quiet time for more.
 */
static const char *
events_for(struct ctlc *c, const char *key, int want)
{
	static char	 buf[256];
	size_t		 used = 0;
	int		 n = 0;
	long long	 deadline = dproc_now_ms() + WAIT_MS;
	json_t		*m;

	buf[0] = '\0';
	for (;;) {
		int wait = n < want ? (int)(deadline - dproc_now_ms()) : 300;

		if (wait <= 0 || (m = ctlc_notification(c, wait)) == NULL)
			break;
		if (strcmp(ctlc_str(m, "method"), "key_changed") == 0) {
			json_t *p = json_object_get(m, "params");

			if (strcmp(ctlc_str(p, "key"), key) == 0) {
				used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s",
				    used > 0 ? "," : "", ctlc_str(p, "event"));
				n++;
			}
		}
		json_decref(m);
	}
	return buf;
}

/* ---- key expiry ---------------------------------------------------------------------- */

START_TEST(test_key_expiry_everywhere_and_mixed)
{
	struct dproc	 a, b, c;
	struct ctlc	*ca, *cb, *cc, *sa, *sb, *sc;
	const char	*none[] = { "--extensions", "none", NULL };
	json_t		*r, *res, *entries;
	long long	 t0, w0, at;
	size_t		 i;
	bool		 meta_seen = false;

	start_node(&a, "ttl-a", NULL, 0, NULL);
	start_node(&b, "ttl-b", &a, 0, NULL);
	start_node(&c, "ttl-c", &a, 0, none);
	ca = ctlc_open(a.sock);
	cb = ctlc_open(b.sock);
	cc = ctlc_open(c.sock);
	wait_live(ca, &a, 3);
	wait_live(cb, &b, 3);
	wait_live(cc, &c, 3);
	sa = subscriber(&a, "e/");
	sb = subscriber(&b, "e/");
	sc = subscriber(&c, "e/");

	/* 1 s: there at once, with its deadline, until about then */
	w0 = wall_ms();
	t0 = dproc_now_ms();
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"e/k\",\"value\":\"v\",\"expires_in\":\"1s\"}"));
	sleep_until(t0 + 300);
	r = get_on(ca, "ttl-a", "e/k");
	if (dproc_now_ms() < t0 + 800)
		ck_assert_msg(json_object_get(r, "result") != NULL, "gone before the deadline");
	if ((res = json_object_get(r, "result")) != NULL) {
		at = ctlc_int(res, "expires_at_ms");
		ck_assert_msg(at >= w0 + 1000 && at <= wall_ms() + 1000, "expires_at_ms %lld",
		    at);
	}
	json_decref(r);
	/* then deleted everywhere, the node without the extension included */
	wait_key(ca, "a", "ttl-a", "e/k", false);
	wait_key(cb, "b", "ttl-a", "e/k", false);
	wait_key(cc, "c", "ttl-a", "e/k", false);
	ck_assert_str_eq(events_for(sa, "e/k", 2), "set,expired");
	ck_assert_str_eq(events_for(sb, "e/k", 2), "set,expired");
	ck_assert_str_eq(events_for(sc, "e/k", 2), "set,deleted");
	ck_assert_int_ge((long long)ctlc_metric(ca, "chitchatd_keys_expired_total"), 1);
	/* on c the meta key is an ordinary key, listed under the reserved prefix only */
	res = ctlc_ok(cc, "keys", "{\"node\":\"ttl-a\",\"prefix\":\"__chitchatd.\"}");
	json_array_foreach(json_object_get(res, "entries"), i, r)
		if (strcmp(ctlc_str(r, "key"), "__chitchatd.ttl.e/k") == 0)
			meta_seen = true;
	json_decref(res);
	ck_assert(meta_seen);
	res = ctlc_ok(cc, "keys", "{\"node\":\"ttl-a\"}");
	entries = json_object_get(res, "entries");
	json_array_foreach(entries, i, r)
		ck_assert_msg(strncmp(ctlc_str(r, "key"), "__chitchatd.", 12) != 0,
		    "reserved key listed: %s", ctlc_str(r, "key"));
	json_decref(res);
	/* and c's own keys still work both ways */
	json_decref(ctlc_ok(cc, "set", "{\"key\":\"e/c\",\"value\":\"from c\"}"));
	wait_key(ca, "a", "ttl-c", "e/c", true);

	/* set again without a duration: still there after twice the duration */
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"e/r\",\"value\":\"v\",\"expires_in\":1000}"));
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"e/r\",\"value\":\"v2\"}"));
	wait_key(cb, "b", "ttl-a", "e/r", true);
	usleep(2000000);
	ck_assert(has_key(ca, "ttl-a", "e/r"));
	ck_assert(has_key(cb, "ttl-a", "e/r"));
	res = ctlc_ok(ca, "get", "{\"key\":\"e/r\"}");
	ck_assert_ptr_null(json_object_get(res, "expires_at_ms"));
	ck_assert_str_eq(ctlc_str(res, "value"), "v2");
	json_decref(res);

	/* deleted before the deadline: a deletion, and nothing more later */
	json_decref(ctlc_ok(ca, "set", "{\"key\":\"e/d\",\"value\":\"v\",\"expires_in\":\"1s\"}"));
	wait_key(cb, "b", "ttl-a", "e/d", true);
	json_decref(ctlc_ok(ca, "delete", "{\"key\":\"e/d\"}"));
	wait_key(cb, "b", "ttl-a", "e/d", false);
	usleep(1500000);
	ck_assert_str_eq(events_for(sa, "e/d", 2), "set,deleted");
	ck_assert_str_eq(events_for(sb, "e/d", 2), "set,deleted");

	/* with the extension off, a duration is refused */
	ck_assert_int_eq(ctlc_err(cc, "set",
	    "{\"key\":\"e/x\",\"value\":\"v\",\"expires_in\":\"1s\"}"), -32602);

	ctlc_close(sa);
	ctlc_close(sb);
	ctlc_close(sc);
	ctlc_close(ca);
	ctlc_close(cb);
	ctlc_close(cc);
	dproc_stop(&a);
	dproc_stop(&b);
	dproc_stop(&c);
}
END_TEST

/* ---- peer cache ----------------------------------------------------------------------- */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh temporary directory (kept across the daemons' restarts). */
static void
make_tmp(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/chitchatd-state.XXXXXX");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

/* <dir>/peers.json, checked: mode 0640, version 1, and it lists each of want. */
static void
check_cache_file(const char *dir, const char *const *want)
{
	char		 path[256];
	struct stat	 st;
	char		*text;
	json_t		*j;

	snprintf(path, sizeof(path), "%s/peers.json", dir);
	ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg((st.st_mode & 07777) == 0640, "%s: mode %o", path, st.st_mode & 07777);
	ck_assert_ptr_nonnull(text = slurp(path));
	ck_assert_msg((j = json_loads(text, 0, NULL)) != NULL, "%s: %s", path, text);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "version")), 1);
	ck_assert(json_is_integer(json_object_get(j, "saved_at_ms")));
	for (int i = 0; want[i] != NULL; i++) {
		json_t	*p;
		size_t	 k;
		bool	 found = false;

		json_array_foreach(json_object_get(j, "peers"), k, p)
			if (strcmp(json_string_value(json_object_get(p, "address")), want[i]) == 0)
				found = true;
		ck_assert_msg(found, "%s does not list %s: %s", path, want[i], text);
	}
	json_decref(j);
	free(text);
}

START_TEST(test_peer_cache_reforms_the_cluster_without_seeds)
{
	struct dproc	 d[3];
	struct ctlc	*c[3];
	char		 dirs[3][64];
	const char	*arg[3][3];
	static const char *names[3] = { "pc-a", "pc-b", "pc-c" };
	uint16_t	 ports[3];

	for (int i = 0; i < 3; i++) {
		make_tmp(dirs[i], sizeof(dirs[i]));
		arg[i][0] = "--state-directory";
		arg[i][1] = dirs[i];
		arg[i][2] = NULL;
	}
	/* a first run: b and c seeded with a */
	start_node(&d[0], names[0], NULL, 0, arg[0]);
	start_node(&d[1], names[1], &d[0], 0, arg[1]);
	start_node(&d[2], names[2], &d[0], 0, arg[2]);
	for (int i = 0; i < 3; i++) {
		c[i] = ctlc_open(d[i].sock);
		ports[i] = d[i].port;
	}
	for (int i = 0; i < 3; i++)
		wait_live(c[i], &d[i], 3);
	for (int i = 0; i < 3; i++) {
		ctlc_close(c[i]);
		dproc_stop(&d[i]);	/* saved at exit */
	}
	{
		const char *want_a[] = { d[1].listen, d[2].listen, NULL };
		const char *want_b[] = { d[0].listen, d[2].listen, NULL };
		const char *want_c[] = { d[0].listen, d[1].listen, NULL };

		check_cache_file(dirs[0], want_a);
		check_cache_file(dirs[1], want_b);
		check_cache_file(dirs[2], want_c);
	}
	/* again, on the same ports, with no seed at all: peers.json alone */
	for (int i = 0; i < 3; i++)
		start_node(&d[i], names[i], NULL, ports[i], arg[i]);
	for (int i = 0; i < 3; i++)
		c[i] = ctlc_open(d[i].sock);
	for (int i = 0; i < 3; i++)
		wait_live(c[i], &d[i], 3);
	for (int i = 0; i < 3; i++) {
		json_t *info = ctlc_ok(c[i], "info", NULL);

		ck_assert_int_eq(ctlc_int(info, "cached_peers_loaded"), 2);
		json_decref(info);
		ck_assert_int_eq((int)ctlc_metric(c[i], "chitchatd_peer_cache_loaded"), 2);
		ck_assert_ptr_nonnull(strstr(dproc_log(&d[i]), "2 peer(s) from"));
	}
	for (int i = 0; i < 3; i++) {
		ctlc_close(c[i]);
		dproc_stop(&d[i]);
		rm_tree(dirs[i]);
	}
}
END_TEST

START_TEST(test_peer_cache_corrupt_file_missing_dir_and_off)
{
	struct dproc	 d;
	struct ctlc	*c;
	char		 base[64], dir[128], path[192];
	const char	*junk = "{\"version\":1,\"peers\":[{\"addr";
	const char	*args[3] = { "--state-directory", dir, NULL };
	const char	*off[5] = { "--state-directory", dir, "--extensions", "none", NULL };
	const char	*nothing[] = { NULL };
	struct stat	 st;
	int		 fd;

	make_tmp(base, sizeof(base));
	/* a missing directory is made, 0750, and the file saved at exit */
	snprintf(dir, sizeof(dir), "%s/made", base);
	snprintf(path, sizeof(path), "%s/peers.json", dir);
	start_node(&d, "pc-alone", NULL, 0, args);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0750, "mode %o", st.st_mode & 07777);
	dproc_stop(&d);
	check_cache_file(dir, nothing);

	/* a corrupt file: one warning, the daemon runs, the file is rewritten */
	ck_assert_int_ge(fd = open(path, O_WRONLY | O_TRUNC), 0);
	ck_assert_int_eq(write(fd, junk, strlen(junk)), (ssize_t)strlen(junk));
	close(fd);
	start_node(&d, "pc-alone", NULL, 0, args);
	c = ctlc_open(d.sock);
	{
		json_t *info = ctlc_ok(c, "info", NULL);

		ck_assert_int_eq(ctlc_int(info, "cached_peers_loaded"), 0);
		json_decref(info);
	}
	ck_assert_ptr_nonnull(strstr(dproc_log(&d), "is not a peer cache"));
	ctlc_close(c);
	dproc_stop(&d);
	check_cache_file(dir, nothing);

	/* the extension off: no file, no directory */
	rm_tree(dir);
	start_node(&d, "pc-off", NULL, 0, off);
	dproc_stop(&d);
	ck_assert_int_eq(stat(dir, &st), -1);
	rm_tree(base);
}
END_TEST

static Suite *
extensions_suite(void)
{
	Suite	*s = suite_create("extensions");
	TCase	*tc = tcase_create("daemons");

	tcase_add_unchecked_fixture(tc, dproc_setup, dproc_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_key_expiry_everywhere_and_mixed);
	tcase_add_test(tc, test_peer_cache_reforms_the_cluster_without_seeds);
	tcase_add_test(tc, test_peer_cache_corrupt_file_missing_dir_and_off);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(extensions_suite)
