/*
 * check_leave.c: graceful leave and force-leave (issue 8, items 1, 2 and
 * their part of 6) with real chitchatd and chitchatctl processes on
 * 127.0.0.1, driven through their control sockets (tests/support/
 * ctlclient.h) and the command line, as check_cluster.c does.
 *
 * Timing. Gossip every 100 ms. For the leave tests the failure detector
 * runs with a sampling window of 10 and a prior interval of 1 s: phi's
 * mean interval is (sum + 5 x 1 s) / (count + 5) >= 5 / 15 s whatever the
 * samples, so with the threshold 8 no node can be declared dead sooner
 * than 8 / 3 s = 2.67 s after its last heartbeat. A graceful leave must
 * be seen in a few gossip rounds of the observer, counted with its own
 * chitchatd_gossip_rounds_total (robust to a loaded machine), and before
 * a node without the extension finds the leaver dead, which cannot happen
 * in under 2.67 s. The force-leave tests use check_cluster's faster
 * detection (prior 500 ms, unbounded window). Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cc_ctlproto.h"
#include "ctlclient.h"
#include "daemonproc.h"
#include "testutil.h"

#define WAIT_MS		20000	/* convergence, death, propagation */
#define ROUNDS_MAX	8	/* observer rounds for a leave or a force-leave */
#define PHI_FLOOR_MS	2667	/* no death declared sooner (leave timing above) */
#define KEY_LEAVING	CC_RESERVED_PREFIX "leaving"

static char cluster_id[64];

static void
setup(void)
{
	dproc_new_cluster_id(cluster_id, sizeof(cluster_id), "leave");
}

/* ---- daemons and chitchatctl -------------------------------------------------------- */

enum timing { T_LEAVE, T_FAST };

static void
start_node(struct dproc *d, const char *name, const struct dproc *seed, enum timing t,
    const char *const *extra)
{
	/* T_LEAVE: phi cannot declare anyone dead before 2.67 s (window 10, prior 1 s) */
	static const char *const leave[] = { "--gossip-interval", "100ms", "--phi-threshold",
	    "8", "--initial-interval", "1s", "--sampling-window-size", "10", NULL };
	static const char *const fast[] = { "--gossip-interval", "100ms", "--phi-threshold",
	    "8", "--initial-interval", "500ms", NULL };

	dproc_start_in(d, name, cluster_id, seed, t == T_LEAVE ? leave : fast, extra);
}

static const char *
ctl_path(void)
{
	static char	 path[PATH_MAX];
	const char	*d = dproc_daemon_path();
	size_t		 len = strlen(d);

	/* <build>/chitchatd -> <build>/chitchatctl */
	ck_assert(len > 9 && len + 3 < sizeof(path));
	snprintf(path, sizeof(path), "%.*schitchatctl", (int)(len - 9), d);
	ck_assert_msg(access(path, X_OK) == 0, "no chitchatctl at %s", path);
	return path;
}

/* chitchatctl -s sock args... in the background, stdout into *out_fd (a pipe). */
static pid_t
ctl_spawn(const char *sock, int *out_fd, const char *const *args)
{
	const char	*argv[16];
	int		 n = 0, p[2];
	pid_t		 pid;

	argv[n++] = ctl_path();
	argv[n++] = "--socket";
	argv[n++] = sock;
	for (int i = 0; args[i] != NULL; i++) {
		ck_assert_int_lt(n, 15);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (dup2(p[1], 1) == -1)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* Its exit status within timeout_ms (asserted), stdout into out. */
static int
ctl_finish(pid_t pid, int out_fd, char *out, size_t len, int timeout_ms)
{
	size_t	used = 0;
	ssize_t	r;
	int	status = dproc_wait_exit(pid, timeout_ms);

	if (status == -1) {
		dproc_kill_hard(pid);
		ck_abort_msg("chitchatctl still running after %d ms", timeout_ms);
	}
	while (used + 1 < len && (r = read(out_fd, out + used, len - used - 1)) > 0)
		used += (size_t)r;
	out[used] = '\0';
	close(out_fd);
	return status;
}

/* chitchatctl -s sock args...: its exit status; stdout into out. */
static int
ctl_run(const char *sock, char *out, size_t len, const char *const *args)
{
	int	fd;
	pid_t	pid = ctl_spawn(sock, &fd, args);

	return ctl_finish(pid, fd, out, len, WAIT_MS);
}

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

/* ---- observations ------------------------------------------------------------------- */

/* The status of node_id in c's members, or NULL if not listed (static buffer). */
static const char *
status_of(struct ctlc *c, const char *node_id)
{
	static char	 st[16];
	json_t		*res = ctlc_ok(c, "members", NULL), *m;
	const char	*found = NULL;
	size_t		 i;

	json_array_foreach(json_object_get(res, "members"), i, m)
		if (strcmp(ctlc_str(m, "node_id"), node_id) == 0) {
			snprintf(st, sizeof(st), "%s", ctlc_str(m, "status"));
			found = st;
		}
	json_decref(res);
	return found;
}

static bool
status_is(struct ctlc *c, const char *node_id, const char *want)
{
	const char *st = status_of(c, node_id);

	return want == NULL ? st == NULL : st != NULL && strcmp(st, want) == 0;
}

static void
wait_status(struct ctlc *c, const struct dproc *d, const char *node_id, const char *want)
{
	long long deadline = dproc_now_ms() + WAIT_MS;

	while (!status_is(c, node_id, want)) {
		if (dproc_now_ms() > deadline) {
			const char *st = status_of(c, node_id);

			ck_abort_msg("%s: %s is %s, not %s, after %d ms\nlog: %s", d->node_id,
			    node_id, st != NULL ? st : "absent", want != NULL ? want : "absent",
			    WAIT_MS, dproc_log(d));
		}
		usleep(50000);
	}
}

static void
wait_all_live(struct ctlc *c, const struct dproc *d, const char *const *names)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], d->node_id) != 0)
			wait_status(c, d, names[i], "live");
}

static double
rounds(struct ctlc *c)
{
	return ctlc_metric(c, "chitchatd_gossip_rounds_total");
}

/*
 * The next member_changed of node_id on a members subscription, within
 * the deadline (NULL after it); events of other nodes are skipped.
 */
static json_t *
next_member_event(struct ctlc *sub, const char *node_id, long long deadline)
{
	for (;;) {
		long long	 left = deadline - dproc_now_ms();
		json_t		*n, *p;

		if (left <= 0 || (n = ctlc_notification(sub, (int)left)) == NULL)
			return NULL;
		p = json_object_get(n, "params");
		if (strcmp(ctlc_str(n, "method"), "member_changed") == 0 &&
		    strcmp(ctlc_str(p, "node_id"), node_id) == 0) {
			json_incref(p);
			json_decref(n);
			return p;
		}
		json_decref(n);
	}
}

static struct ctlc *
subscribe_members(const struct dproc *d)
{
	struct ctlc *c = ctlc_open(d->sock);

	json_decref(ctlc_ok(c, "subscribe", "{\"topic\":\"members\"}"));
	return c;
}

/* The daemon exits by itself within timeout_ms: its status, socket gone, dir removed. */
static int
wait_gone(struct dproc *d, int timeout_ms)
{
	struct stat	st;
	int		status = dproc_wait_exit(d->pid, timeout_ms);

	if (status == -1) {
		dproc_kill_hard(d->pid);
		d->pid = -1;
		ck_abort_msg("%s: still running %d ms later: %s", d->node_id, timeout_ms,
		    dproc_log(d));
	}
	d->pid = -1;
	d->status = status;
	ck_assert_msg(status == 0, "%s: exit status %d: %s", d->node_id, status, dproc_log(d));
	ck_assert_msg(lstat(d->sock, &st) == -1, "%s: socket left behind", d->node_id);
	return status;
}

static bool
log_has(const struct dproc *d, const char *text)
{
	return strstr(dproc_log(d), text) != NULL;
}

/* ---- graceful leave ------------------------------------------------------------------- */

/*
 * `chitchatctl leave` on a, in a cluster of a, b (extension on) and n
 * (extensions=none, as a Rust peer). b reports a "left" (graceful) within
 * a few of its rounds, never "dead"; a exits 0 after two intervals and
 * chitchatctl after it; n sees an ordinary key, finds a dead by phi, not
 * sooner than phi allows, and the b-n cluster goes on working.
 */
START_TEST(test_leave_command_graceful_in_a_mixed_cluster)
{
	static const char *const names[] = { "node-a", "node-b", "node-n", NULL };
	const char	*none[] = { "--extensions", "none", NULL };
	struct dproc	 a, b, n;
	struct ctlc	*cb, *cn, *sb, *sn;
	json_t		*ev, *res;
	double		 r0;
	long long	 t0, t_left, t_gone, t_dead, deadline;
	char		 out[4096];
	int		 fd;
	pid_t		 ctl;

	start_node(&a, "node-a", NULL, T_LEAVE, NULL);
	start_node(&b, "node-b", &a, T_LEAVE, NULL);
	start_node(&n, "node-n", &a, T_LEAVE, none);
	cb = ctlc_open(b.sock);
	cn = ctlc_open(n.sock);
	wait_all_live(cb, &b, names);
	wait_all_live(cn, &n, names);
	{
		struct ctlc *ca = ctlc_open(a.sock);

		wait_all_live(ca, &a, names);
		ctlc_close(ca);
	}
	sb = subscribe_members(&b);
	sn = subscribe_members(&n);

	r0 = rounds(cb);
	t0 = dproc_now_ms();
	ctl = ctl_spawn(a.sock, &fd, ARGS("leave", "--json"));
	ev = next_member_event(sb, "node-a", t0 + WAIT_MS);
	ck_assert_msg(ev != NULL, "b: no event for a within %d ms\nlog: %s", WAIT_MS,
	    dproc_log(&b));
	t_left = dproc_now_ms() - t0;
	ck_assert_msg(strcmp(ctlc_str(ev, "event"), "left") == 0, "b: %s",
	    json_dumps(ev, JSON_COMPACT));
	ck_assert(json_is_true(json_object_get(ev, "graceful")));
	ck_assert_str_eq(ctlc_str(ev, "status"), "left");
	json_decref(ev);
	ck_assert_msg(rounds(cb) - r0 <= ROUNDS_MAX, "b took %g rounds to see a leave",
	    rounds(cb) - r0);
	ck_assert(status_is(cb, "node-a", "left"));

	/* chitchatctl returns once a has exited, two intervals after the announce */
	ck_assert_int_eq(ctl_finish(ctl, fd, out, sizeof(out), WAIT_MS), 0);
	ck_assert_ptr_nonnull(strstr(out, "{\"leaving_in_ms\":200}"));
	wait_gone(&a, DPROC_EXIT_MS);
	t_gone = dproc_now_ms() - t0;
	/* it kept gossiping for its two intervals (200 ms) rather than exiting at once;
	 * the bound allows for timer rounding between the two processes' clocks */
	ck_assert_msg(t_gone >= 150, "a exited %lld ms after the leave", t_gone);
	ck_assert(log_has(&a, "leaving the cluster: announced to 2 of 2 live peer(s)"));

	/* n, without the extension: an ordinary key, then death by phi */
	res = ctlc_ok(cn, "get", "{\"key\":\"" KEY_LEAVING "\",\"node\":\"node-a\"}");
	ck_assert_int_gt(strtoll(ctlc_str(res, "value"), NULL, 10), 1600000000000LL);
	json_decref(res);
	deadline = t0 + WAIT_MS;
	while ((ev = next_member_event(sn, "node-a", deadline)) != NULL &&
	    strcmp(ctlc_str(ev, "event"), "dead") != 0)
		json_decref(ev);
	ck_assert_msg(ev != NULL, "n never saw a dead\nlog: %s", dproc_log(&n));
	t_dead = dproc_now_ms() - t0;
	json_decref(ev);
	ev = next_member_event(sn, "node-a", deadline);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ctlc_str(ev, "event"), "left");
	ck_assert(json_is_false(json_object_get(ev, "graceful")));
	ck_assert_str_eq(ctlc_str(ev, "status"), "dead");
	json_decref(ev);
	ck_assert_msg(t_dead >= PHI_FLOOR_MS, "n found a dead after %lld ms", t_dead);
	ck_assert_msg(t_left < t_dead, "b: left after %lld ms, n: dead after %lld ms", t_left,
	    t_dead);

	/* b: still "left", and no "dead" for a even now that phi caught up */
	ck_assert(status_is(cb, "node-a", "left"));
	ev = next_member_event(sb, "node-a", dproc_now_ms() + 500);
	ck_assert_msg(ev == NULL, "b after the leave: %s", json_dumps(ev, JSON_COMPACT));
	ck_assert_int_eq(ctl_run(b.sock, out, sizeof(out), ARGS("members", "--left")), 0);
	ck_assert_msg(strncmp(out, "node-a\t", 7) == 0 && strstr(out, "\tleft\t") != NULL,
	    "members --left: %s", out);

	/* b and n still form a working cluster */
	json_decref(ctlc_ok(cn, "set", "{\"key\":\"from-n\",\"value\":\"1\"}"));
	json_decref(ctlc_ok(cb, "set", "{\"key\":\"from-b\",\"value\":\"2\"}"));
	deadline = dproc_now_ms() + WAIT_MS;
	for (;;) {
		json_t *x = ctlc_call(cb, "get", "{\"key\":\"from-n\",\"node\":\"node-n\"}");
		json_t *y = ctlc_call(cn, "get", "{\"key\":\"from-b\",\"node\":\"node-b\"}");
		bool	done = ctlc_reply_code(x) == 0 && ctlc_reply_code(y) == 0;

		json_decref(x);
		json_decref(y);
		if (done)
			break;
		ck_assert_msg(dproc_now_ms() < deadline, "b and n did not exchange keys");
		usleep(50000);
	}
	ck_assert(status_is(cb, "node-n", "live"));
	ck_assert(status_is(cn, "node-b", "live"));
	ctlc_close(sb);
	ctlc_close(sn);
	ctlc_close(cb);
	ctlc_close(cn);
	dproc_stop(&b);
	dproc_stop(&n);
}
END_TEST

/*
 * SIGTERM leaves the same way; with --leave-on-terminate no the node exits
 * at once, writes no key, and is found dead later.
 */
START_TEST(test_sigterm_leaves_unless_told_not_to)
{
	static const char *const names[] = { "node-a", "node-b", "node-c", NULL };
	const char	*no[] = { "--leave-on-terminate", "no", NULL };
	struct dproc	 a, b, c;
	struct ctlc	*cb, *sb;
	json_t		*ev;
	double		 r0;
	long long	 t0;

	start_node(&a, "node-a", NULL, T_LEAVE, NULL);
	start_node(&b, "node-b", &a, T_LEAVE, NULL);
	start_node(&c, "node-c", &a, T_LEAVE, no);
	cb = ctlc_open(b.sock);
	wait_all_live(cb, &b, names);
	{
		struct ctlc *ca = ctlc_open(a.sock), *cc = ctlc_open(c.sock);

		wait_all_live(ca, &a, names);
		wait_all_live(cc, &c, names);
		ctlc_close(ca);
		ctlc_close(cc);
	}
	sb = subscribe_members(&b);

	r0 = rounds(cb);
	t0 = dproc_now_ms();
	ck_assert_int_eq(kill(a.pid, SIGTERM), 0);
	ev = next_member_event(sb, "node-a", t0 + WAIT_MS);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ctlc_str(ev, "event"), "left");
	ck_assert(json_is_true(json_object_get(ev, "graceful")));
	json_decref(ev);
	ck_assert_msg(rounds(cb) - r0 <= ROUNDS_MAX, "b took %g rounds", rounds(cb) - r0);
	wait_gone(&a, DPROC_EXIT_MS);
	ck_assert_msg(dproc_now_ms() - t0 >= 150, "a exited after %lld ms", dproc_now_ms() - t0);	/* ~200 */
	ck_assert(log_has(&a, "SIGTERM: leaving the cluster"));

	/* c: no leave */
	t0 = dproc_now_ms();
	ck_assert_int_eq(kill(c.pid, SIGTERM), 0);
	wait_gone(&c, DPROC_EXIT_MS);
	ck_assert(!log_has(&c, "leaving the cluster"));
	ev = next_member_event(sb, "node-c", t0 + WAIT_MS);
	ck_assert_ptr_nonnull(ev);
	ck_assert_msg(strcmp(ctlc_str(ev, "event"), "dead") == 0, "b: %s",
	    json_dumps(ev, JSON_COMPACT));
	json_decref(ev);
	ck_assert_msg(dproc_now_ms() - t0 >= PHI_FLOOR_MS - 300, "c dead after %lld ms",
	    dproc_now_ms() - t0);
	ev = next_member_event(sb, "node-c", dproc_now_ms() + WAIT_MS);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ctlc_str(ev, "event"), "left");
	ck_assert(json_is_false(json_object_get(ev, "graceful")));
	json_decref(ev);
	ck_assert_int_eq(ctlc_err(cb, "get", "{\"key\":\"" KEY_LEAVING "\",\"node\":\"node-c\"}"),
	    -32000);
	ck_assert(status_is(cb, "node-c", "dead"));
	ctlc_close(sb);
	ctlc_close(cb);
	dproc_stop(&b);		/* alone now: nobody to tell, exits at once */
}
END_TEST

/* A second SIGTERM during the leave's wait exits at once. */
START_TEST(test_second_sigterm_exits_at_once)
{
	const char	*slow[] = { "--gossip-interval", "3s", NULL };
	struct dproc	 x, y;
	struct ctlc	*cx;
	long long	 t0, deadline;

	start_node(&x, "node-x", NULL, T_LEAVE, slow);	/* waits 6 s when leaving */
	start_node(&y, "node-y", &x, T_LEAVE, NULL);
	cx = ctlc_open(x.sock);
	wait_status(cx, &x, "node-y", "live");
	ctlc_close(cx);
	t0 = dproc_now_ms();
	ck_assert_int_eq(kill(x.pid, SIGTERM), 0);
	deadline = t0 + WAIT_MS;
	while (!log_has(&x, "shutting down in 6000 ms")) {
		ck_assert_msg(dproc_now_ms() < deadline, "x never started to leave: %s", dproc_log(&x));
		usleep(20000);
	}
	ck_assert_int_eq(kill(x.pid, SIGTERM), 0);
	wait_gone(&x, DPROC_EXIT_MS);
	ck_assert_msg(dproc_now_ms() - t0 < 4000, "x took %lld ms to exit", dproc_now_ms() - t0);
	ck_assert(log_has(&x, "SIGTERM while leaving: shutting down now"));
	dproc_stop(&y);
}
END_TEST

/* ---- force-leave -------------------------------------------------------------------------- */

/*
 * kill -9 x; once a, b and n see it dead, `chitchatctl force-leave` on a:
 * gone from a at once, from b within a few rounds (removed, forced), and
 * not back on either over 20 rounds although n (extensions=none) still
 * gossips it. A live node is refused; an unknown one is not found.
 */
START_TEST(test_force_leave_dead_node_stays_out)
{
	static const char *const names[] = { "node-a", "node-b", "node-n", "node-x", NULL };
	const char	*none[] = { "--extensions", "none", NULL };
	struct dproc	 a, b, n, x;
	struct ctlc	*ca, *cb, *cn, *sb;
	json_t		*ev;
	double		 r0;
	char		 out[4096];
	int		 rc;

	start_node(&a, "node-a", NULL, T_FAST, NULL);
	start_node(&b, "node-b", &a, T_FAST, NULL);
	start_node(&n, "node-n", &a, T_FAST, none);
	start_node(&x, "node-x", &a, T_FAST, NULL);
	ca = ctlc_open(a.sock);
	cb = ctlc_open(b.sock);
	cn = ctlc_open(n.sock);
	wait_all_live(ca, &a, names);
	wait_all_live(cb, &b, names);
	wait_all_live(cn, &n, names);

	dproc_kill9(&x);
	wait_status(ca, &a, "node-x", "dead");
	wait_status(cb, &b, "node-x", "dead");
	wait_status(cn, &n, "node-x", "dead");
	usleep(500000);		/* x's last heartbeat reaches everyone */
	sb = subscribe_members(&b);

	/* refused: live, self; not found: unknown */
	rc = ctl_run(a.sock, out, sizeof(out), ARGS("force-leave", "node-b"));
	ck_assert_int_eq(rc, 1);
	rc = ctl_run(a.sock, out, sizeof(out), ARGS("force-leave", "node-a"));
	ck_assert_int_eq(rc, 1);
	rc = ctl_run(a.sock, out, sizeof(out), ARGS("force-leave", "nobody"));
	ck_assert_int_eq(rc, 4);
	ck_assert(status_is(ca, "node-b", "live"));

	r0 = rounds(cb);
	rc = ctl_run(a.sock, out, sizeof(out), ARGS("force-leave", "node-x"));
	ck_assert_msg(rc == 0, "force-leave: exit %d\nlog: %s", rc, dproc_log(&a));
	ck_assert_msg(strncmp(out, "node-x\t", 7) == 0, "output: %s", out);
	ck_assert(status_is(ca, "node-x", NULL));
	ev = next_member_event(sb, "node-x", dproc_now_ms() + WAIT_MS);
	ck_assert_msg(ev != NULL, "b never removed x\nlog: %s", dproc_log(&b));
	ck_assert_str_eq(ctlc_str(ev, "event"), "removed");
	ck_assert(json_is_true(json_object_get(ev, "forced")));
	json_decref(ev);
	ck_assert_msg(rounds(cb) - r0 <= ROUNDS_MAX, "b took %g rounds", rounds(cb) - r0);
	ck_assert(status_is(cb, "node-x", NULL));

	/* 20 rounds of a and b: x stays out, while n still has it and gossips it */
	r0 = rounds(cb);
	while (rounds(cb) - r0 < 20) {
		ck_assert_msg(status_is(ca, "node-x", NULL), "x came back on a");
		ck_assert_msg(status_is(cb, "node-x", NULL), "x came back on b");
		usleep(50000);
	}
	ck_assert(status_is(cn, "node-x", "dead"));
	ev = next_member_event(sb, "node-x", dproc_now_ms() + 200);
	ck_assert_msg(ev == NULL, "b: %s", json_dumps(ev, JSON_COMPACT));
	ck_assert_int_ge(ctlc_metric(ca, "chitchatd_gossip_nodes_forgotten_total"), 1);
	ck_assert_int_ge(ctlc_metric(cb, "chitchatd_gossip_nodes_forgotten_total"), 1);
	ck_assert(log_has(&b, "force-leave of node-x"));
	ctlc_close(sb);
	ctlc_close(ca);
	ctlc_close(cb);
	ctlc_close(cn);
	dproc_stop(&a);
	dproc_stop(&b);
	dproc_stop(&n);
}
END_TEST

/*
 * A node that only looked dead (SIGSTOP) is forced out, then resumes
 * (SIGCONT): its heartbeat moves past the fence and it is live again on
 * both other nodes; it ignores the request about itself.
 */
START_TEST(test_forced_out_node_that_is_alive_comes_back)
{
	static const char *const names[] = { "node-a", "node-b", "node-y", NULL };
	struct dproc	 a, b, y;
	struct ctlc	*ca, *cb, *cy;
	json_t		*res;

	start_node(&a, "node-a", NULL, T_FAST, NULL);
	start_node(&b, "node-b", &a, T_FAST, NULL);
	start_node(&y, "node-y", &a, T_FAST, NULL);
	ca = ctlc_open(a.sock);
	cb = ctlc_open(b.sock);
	cy = ctlc_open(y.sock);
	wait_all_live(ca, &a, names);
	wait_all_live(cb, &b, names);
	wait_all_live(cy, &y, names);

	ck_assert_int_eq(kill(y.pid, SIGSTOP), 0);
	wait_status(ca, &a, "node-y", "dead");
	wait_status(cb, &b, "node-y", "dead");
	res = ctlc_ok(ca, "force_leave", "{\"node\":\"node-y\"}");
	ck_assert_str_eq(ctlc_str(json_object_get(res, "removed"), "node_id"), "node-y");
	ck_assert_int_gt(ctlc_int(res, "fence_heartbeat"), 0);
	json_decref(res);
	ck_assert(status_is(ca, "node-y", NULL));
	wait_status(cb, &b, "node-y", NULL);

	ck_assert_int_eq(kill(y.pid, SIGCONT), 0);
	wait_status(ca, &a, "node-y", "live");
	wait_status(cb, &b, "node-y", "live");
	wait_all_live(cy, &y, names);
	{
		long long deadline = dproc_now_ms() + WAIT_MS;

		while (!log_has(&y, "asks to force this node out: ignored")) {
			ck_assert_msg(dproc_now_ms() < deadline, "y: %s", dproc_log(&y));
			usleep(50000);
		}
	}
	ctlc_close(ca);
	ctlc_close(cb);
	ctlc_close(cy);
	dproc_stop(&a);
	dproc_stop(&b);
	dproc_stop(&y);
}
END_TEST

static Suite *
leave_suite(void)
{
	Suite	*s = suite_create("leave");
	TCase	*tc = tcase_create("leave");

	tcase_add_unchecked_fixture(tc, dproc_setup, dproc_teardown);
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_leave_command_graceful_in_a_mixed_cluster);
	tcase_add_test(tc, test_sigterm_leaves_unless_told_not_to);
	tcase_add_test(tc, test_second_sigterm_exits_at_once);
	tcase_add_test(tc, test_force_leave_dead_node_stays_out);
	tcase_add_test(tc, test_forced_out_node_that_is_alive_comes_back);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(leave_suite)
