/*
 * check_access.c: control socket access control with real daemons and real
 * Unix sockets (docs/API.md, Access; chitchatd(8), ACCESS CONTROL).
 *
 * Socket files: the mode is exactly --control-mode (and
 * --control-readonly-mode) under any umask; --control-group is applied; an
 * unknown user or group name is a configuration error (exit 2, one line
 * naming the option), with --check-config too.
 *
 * Credentials: the kernel records the peer's credentials at connect(), so a
 * test client is a socket made here and connected by a forked child that
 * first drops to another uid, gid and supplementary groups (setgroups,
 * setgid, setuid, in bgpd's order) and then exits; the test goes on using
 * that connection, seen by the daemon as the other user's. chitchatctl and
 * one daemon are also run as such a user. Changing uids needs root (CI runs
 * as root): those cases say why they are skipped otherwise.
 *
 * Every wait is bounded; every daemon is stopped with SIGTERM and must exit
 * 0 with its sockets removed (the sanitizer build checks leaks there).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "ctlclient.h"
#include "daemonproc.h"
#include "testutil.h"

extern char **environ;

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

#define NOBODY		65534		/* uid and gid of nobody/nogroup on Debian */
#define OTHER_UID	4243		/* ids that no user or group needs to have */
#define OTHER_GID	4242

/* Who a child process becomes before it connects or execs. */
struct cred {
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;	/* supplementary */
	size_t		 n_groups;
};

/* Root-only parts are skipped, saying so, when the tests do not run as root. */
static bool
need_root(const char *test, const char *what)
{
	if (geteuid() == 0)
		return true;
	printf("check_access: %s: %s skipped: not root (it runs clients as other uids)\n",
	    test, what);
	return false;
}

/* In a child: become c, in bgpd's order. */
static int
drop_to(const struct cred *c)
{
	if (setgroups(c->n_groups, c->groups) == -1 || setgid(c->gid) == -1 ||
	    setuid(c->uid) == -1)
		return -1;
	/* the parent-death signal is reset by a change of credentials */
	return prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* ---- daemons --------------------------------------------------------------------- */

/* The daemon's directory and its parent searchable, for clients of other uids. */
static void
open_dirs(const struct dproc *d)
{
	ck_assert_int_eq(chmod(dproc_base(), 0711), 0);
	ck_assert_int_eq(chmod(d->dir, 0711), 0);
}

/* Waits (bounded) until path is a socket. */
static void
wait_socket(const struct dproc *d, const char *path)
{
	struct stat st;

	for (int waited = 0; waited <= DPROC_START_MS; waited += 10) {
		if (stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			return;
		usleep(10000);
	}
	ck_abort_msg("no socket %s: %s", path, dproc_log(d));
}

/* A searchable directory of our own under the daemons' base directory. */
static void
make_dir(char *dir, size_t len, const char *name)
{
	snprintf(dir, len, "%s/%s.XXXXXX", dproc_base(), name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dproc_base(), 0711), 0);
	ck_assert_int_eq(chmod(dir, 0711), 0);
}

/*
 * A daemon with args, reachable by other uids; with ro, a read-only socket
 * too, whose path is put in ro (in a directory of its own: the daemon's is
 * made by dproc_start).
 */
static void
start(struct dproc *d, const char *name, const char *const *args, char *ro, size_t rolen)
{
	const char	*all[24];
	char		 dir[96];
	int		 n = 0;

	for (int i = 0; args != NULL && args[i] != NULL; i++)
		all[n++] = args[i];
	if (ro != NULL) {
		make_dir(dir, sizeof(dir), "ro");
		snprintf(ro, rolen, "%s/ro.sock", dir);
		all[n++] = "--control-readonly-socket";
		all[n++] = ro;
	}
	all[n] = NULL;
	dproc_start(d, name, all);
	open_dirs(d);
	if (ro != NULL)
		wait_socket(d, ro);
}

static void
stop(struct dproc *d, const char *ro)
{
	struct stat st;

	dproc_stop(d);
	if (ro != NULL)
		ck_assert_msg(lstat(ro, &st) == -1 && errno == ENOENT,
		    "read-only socket %s still there after exit", ro);
}

/*
 * The binary at path opened while still root, to be run with fexecve(3)
 * after dropping to another uid: the build tree of a fresh clone may sit
 * in a directory only root can enter (mktemp -d makes it 0700), which an
 * execve by path as nobody could not reach. -1 on error.
 */
static int
open_binary(const char *path)
{
	return open(path, O_RDONLY | O_CLOEXEC);
}

/*
 * chitchatd run to its exit with args (stdout and stderr into files of a
 * temporary directory, returned in *err, caller frees): for configuration
 * errors. The exit status.
 */
static int
run_daemon(const char *const *args, char **err)
{
	char	 dir[] = "/tmp/check_access.XXXXXX", out[64], errp[64];
	char	*argv[32];
	int	 argc = 0, status;
	pid_t	 pid;
	FILE	*f;
	long	 size;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(errp, sizeof(errp), "%s/err", dir);
	argv[argc++] = (char *)dproc_daemon_path();
	for (int i = 0; args[i] != NULL; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (o == -1 || e == -1 || dup2(o, 1) == -1 || dup2(e, 2) == -1)
			_exit(127);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	status = dproc_wait_exit(pid, 10000);
	if (status == -1)
		dproc_kill_hard(pid);
	ck_assert_ptr_nonnull(f = fopen(errp, "r"));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	ck_assert_ptr_nonnull(*err = calloc(1, (size_t)size + 1));
	ck_assert_uint_eq(fread(*err, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	unlink(out);
	unlink(errp);
	rmdir(dir);
	return status;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* ---- clients of other uids ----------------------------------------------------------- */

/* A connection to path, made by a child that was c at connect(). */
static struct ctlc *
connect_as(const char *path, const struct cred *c)
{
	struct sockaddr_un	 sun;
	struct ctlc		*cl;
	int			 fd, status;
	pid_t			 pid;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ck_assert_int_ge(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		if (drop_to(c) == -1)
			_exit(2);
		_exit(connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ? 0 : 3);
	}
	status = dproc_wait_exit(pid, 10000);
	ck_assert_msg(status == 0, "connect to %s as uid %lu: child status %d", path,
	    (unsigned long)c->uid, status);
	ck_assert_ptr_nonnull(cl = calloc(1, sizeof(*cl)));
	cl->fd = fd;
	ck_assert_ptr_nonnull(cl->queued = json_array());
	snprintf(cl->path, sizeof(cl->path), "%s", path);
	return cl;
}

/* The reason of an error reply (borrowed). */
static const char *
reason_of(const json_t *reply)
{
	const char *s = json_string_value(json_object_get(json_object_get(
	    json_object_get(reply, "error"), "data"), "reason"));

	ck_assert_msg(s != NULL, "no error reason in %s", json_dumps(reply, JSON_COMPACT));
	return s;
}

/* The "access" member of hello's result. */
static char *
access_of(struct ctlc *c)
{
	json_t	*r = ctlc_ok(c, "hello", "{\"protocol\":1,\"client\":\"check_access\"}");
	char	*s = strdup(ctlc_str(r, "access"));

	json_decref(r);
	return s;
}

static void
assert_access(struct ctlc *c, const char *want)
{
	char *got = access_of(c);

	ck_assert_str_eq(got, want);
	free(got);
}

/* Whether c may set a key (any error but -32003 fails the test). */
static bool
may_set(struct ctlc *c)
{
	json_t	*r = ctlc_call(c, "set", "{\"key\":\"acc/w\",\"value\":\"1\"}");
	int	 code = ctlc_reply_code(r);

	json_decref(r);
	ck_assert_msg(code == 0 || code == -32003, "set: error %d", code);
	return code == 0;
}

/* Whether a client that was c at connect() may set a key on path. */
static bool
may_set_as(const char *path, const struct cred *c)
{
	struct ctlc	*cl = connect_as(path, c);
	bool		 ok = may_set(cl);

	ctlc_close(cl);
	return ok;
}

/* ---- socket files ------------------------------------------------------------------ */

START_TEST(test_socket_mode_under_umask)
{
	static const mode_t	 masks[] = { 022, 077, 0 };
	struct dproc		 d;
	struct stat		 st;
	char			 ro[160];
	mode_t			 old;

	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		/* the daemon inherits the test's umask */
		old = umask(masks[i]);
		start(&d, "mode", NULL, ro, sizeof(ro));
		umask(old);
		ck_assert_int_eq(lstat(d.sock, &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0660, "umask %03o: mode %04o",
		    (unsigned)masks[i], (unsigned)(st.st_mode & 07777));
		ck_assert_int_eq(lstat(ro, &st), 0);
		ck_assert_msg((st.st_mode & 07777) == 0666, "umask %03o: read-only mode %04o",
		    (unsigned)masks[i], (unsigned)(st.st_mode & 07777));
		stop(&d, ro);
	}
	/* custom modes, under the tightest umask */
	old = umask(077);
	start(&d, "mode", ARGS("--control-mode", "0604", "--control-readonly-mode", "0640"),
	    ro, sizeof(ro));
	umask(old);
	ck_assert_int_eq(lstat(d.sock, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0604);
	ck_assert_int_eq(lstat(ro, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	stop(&d, ro);
}
END_TEST

START_TEST(test_socket_group)
{
	struct dproc	 d;
	struct stat	 st;
	struct group	*gr;
	char		 ro[160], name[64];
	gid_t		 gid;

	/* as root, a group the daemon is not in; otherwise our own, by number */
	if (geteuid() == 0 && (gr = getgrnam("nogroup")) != NULL) {
		snprintf(name, sizeof(name), "nogroup");
		gid = gr->gr_gid;
	} else {
		gid = getgid();
		snprintf(name, sizeof(name), "%lu", (unsigned long)gid);
	}
	start(&d, "group", ARGS("--control-group", name), ro, sizeof(ro));
	ck_assert_int_eq(lstat(d.sock, &st), 0);
	ck_assert_uint_eq(st.st_gid, gid);
	ck_assert_int_eq(st.st_mode & 07777, 0660);
	ck_assert_int_eq(lstat(ro, &st), 0);
	ck_assert_uint_eq(st.st_gid, gid);
	stop(&d, ro);
}
END_TEST

START_TEST(test_unknown_names_exit_2)
{
	static const struct { const char *opt, *value, *why; } cases[] = {
		{ "--control-group", "no-such-group-chitchatd", "no such group" },
		{ "--control-write-users", "no-such-user-chitchatd",
		    "no such user: no-such-user-chitchatd" },
		{ "--control-write-users", "root,no-such-user-chitchatd",
		    "no such user: no-such-user-chitchatd" },
		{ "--control-write-groups", "no-such-group-chitchatd",
		    "no such group: no-such-group-chitchatd" },
	};
	char	*err, want[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (int check = 0; check < 2; check++) {
			ck_assert_int_eq(run_daemon(check ? ARGS("--control-socket", "none",
			    cases[i].opt, cases[i].value, "--check-config") :
			    ARGS("--control-socket", "none", cases[i].opt, cases[i].value), &err),
			    2);
			snprintf(want, sizeof(want), "chitchatd: %s %s: %s", cases[i].opt,
			    cases[i].value, cases[i].why);
			ck_assert_msg(count_lines(err) == 1 && strncmp(err, want, strlen(want)) == 0,
			    "%s%s: \"%s\" is not one line starting \"%s\"", cases[i].opt,
			    check ? " --check-config" : "", err, want);
			free(err);
		}
}
END_TEST

/* ---- write access by credentials ------------------------------------------------------- */

START_TEST(test_write_users)
{
	static const struct cred nobody = { NOBODY, NOBODY, NULL, 0 };
	struct dproc	 d;
	struct ctlc	*c, *root;
	json_t		*r, *n;
	int		 denied = 0;

	if (!need_root("test_write_users", "the whole test"))
		return;
	/* nobody can connect (mode 0666) but is not listed */
	start(&d, "users", ARGS("--control-mode", "0666", "--control-write-users", "daemon",
	    "--set", "acc/k=v"), NULL, 0);
	c = connect_as(d.sock, &nobody);
	assert_access(c, "read");
	r = ctlc_call(c, "set", "{\"key\":\"acc/x\",\"value\":\"1\"}");
	ck_assert_int_eq(ctlc_reply_code(r), -32003);
	ck_assert_str_eq(ctlc_str(json_object_get(r, "error"), "message"), "not allowed");
	ck_assert_str_eq(reason_of(r), "uid 65534 may not call the write method set "
	    "(see control-write-users, control-write-groups)");
	json_decref(r);
	denied++;
	ck_assert_int_eq(ctlc_err(c, "delete", "{\"key\":\"acc/k\"}"), -32003);
	ck_assert_int_eq(ctlc_err(c, "delete_after_ttl", "{\"key\":\"acc/k\"}"), -32003);
	denied += 2;
	/* reads and subscriptions are served */
	r = ctlc_ok(c, "get", "{\"key\":\"acc/k\"}");
	ck_assert_str_eq(ctlc_str(r, "value"), "v");
	json_decref(r);
	json_decref(ctlc_ok(c, "info", NULL));
	json_decref(ctlc_ok(c, "members", NULL));
	r = ctlc_ok(c, "subscribe", "{\"topic\":\"keys\",\"prefix\":\"acc/\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "snapshot")), 1);
	json_decref(r);
	/* root always may, and nobody's subscription sees the write */
	root = ctlc_open(d.sock);
	assert_access(root, "write");
	ck_assert(may_set(root));
	ck_assert_ptr_nonnull(n = ctlc_notification(c, CTLC_REPLY_MS));
	ck_assert_str_eq(ctlc_str(json_object_get(n, "params"), "key"), "acc/w");
	json_decref(n);
	/* a batch: each refused call gets its own error, the others run */
	ck_assert(ctlc_send_line(c, "["
	    "{\"jsonrpc\":\"2.0\",\"id\":101,\"method\":\"set\",\"params\":{\"key\":\"acc/b\",\"value\":\"1\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":102,\"method\":\"get\",\"params\":{\"key\":\"acc/k\"}},"
	    "{\"jsonrpc\":\"2.0\",\"method\":\"set\",\"params\":{\"key\":\"acc/n\",\"value\":\"1\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":103,\"method\":\"delete\",\"params\":{\"key\":\"acc/k\"}},"
	    "{\"jsonrpc\":\"2.0\",\"id\":104,\"method\":\"info\"}]"));
	ck_assert_ptr_nonnull(r = ctlc_read_reply(c, CTLC_REPLY_MS));
	ck_assert(json_is_array(r));
	ck_assert_uint_eq(json_array_size(r), 4);
	ck_assert_int_eq(ctlc_reply_code(json_array_get(r, 0)), -32003);
	ck_assert_int_eq(ctlc_int(json_array_get(r, 0), "id"), 101);
	ck_assert_str_eq(ctlc_str(json_object_get(json_array_get(r, 1), "result"), "value"),
	    "v");
	ck_assert_int_eq(ctlc_reply_code(json_array_get(r, 2)), -32003);
	ck_assert_int_eq(ctlc_int(json_array_get(r, 2), "id"), 103);
	ck_assert_int_eq(ctlc_reply_code(json_array_get(r, 3)), 0);
	json_decref(r);
	denied += 3;		/* the notification too, without a reply */
	/* nothing nobody tried was written */
	ck_assert_int_eq(ctlc_err(root, "get", "{\"key\":\"acc/x\"}"), -32000);
	ck_assert_int_eq(ctlc_err(root, "get", "{\"key\":\"acc/b\"}"), -32000);
	ck_assert_int_eq(ctlc_err(root, "get", "{\"key\":\"acc/n\"}"), -32000);
	json_decref(ctlc_ok(root, "get", "{\"key\":\"acc/k\"}"));
	/* the counter, read by nobody itself (metrics is a read method) */
	ck_assert(ctlc_metric(c, "chitchatd_control_denied_total") == denied);
	/* one warning in the log for all of them: pid, uid, method */
	{
		char		*log = strdup(dproc_log(&d)), *p = log;
		int		 warnings = 0;

		while ((p = strstr(p, " refused: ")) != NULL) {
			warnings++;
			p++;
		}
		ck_assert_msg(warnings == 1, "%d warnings: %s", warnings, log);
		ck_assert_msg(strstr(log, ", uid 65534): set refused: not in control-write-users")
		    != NULL && strstr(log, "(pid ") != NULL, "%s", log);
		free(log);
	}
	ctlc_close(c);
	ctlc_close(root);
	stop(&d, NULL);
}
END_TEST

START_TEST(test_write_users_listed)
{
	static const struct cred nobody = { NOBODY, NOBODY, NULL, 0 };
	static const struct cred other = { OTHER_UID, NOBODY, NULL, 0 };
	struct dproc d;

	if (!need_root("test_write_users_listed", "the whole test"))
		return;
	/* repeatable, by name and by number */
	start(&d, "listed", ARGS("--control-mode", "0666", "--control-write-users", "nobody",
	    "--control-write-users", "daemon,4243"), NULL, 0);
	ck_assert(may_set_as(d.sock, &nobody));
	ck_assert(may_set_as(d.sock, &other));
	{
		static const struct cred bin = { 2, NOBODY, NULL, 0 };

		ck_assert(!may_set_as(d.sock, &bin));
	}
	stop(&d, NULL);
}
END_TEST

START_TEST(test_write_groups)
{
	static const gid_t		 listed[] = { OTHER_GID }, unlisted[] = { 7 };
	static const struct cred	 primary = { NOBODY, OTHER_GID, NULL, 0 };
	static const struct cred	 supplementary = { NOBODY, NOBODY, listed, 1 };
	static const struct cred	 neither = { NOBODY, NOBODY, unlisted, 1 };
	static const struct cred	 none = { NOBODY, NOBODY, NULL, 0 };
	struct dproc			 d;
	struct ctlc			*c;

	if (!need_root("test_write_groups", "the whole test"))
		return;
	/* a gid with no name: the groups come from the peer's credentials,
	 * not from /etc/group (SO_PEERGROUPS) */
	start(&d, "groups", ARGS("--control-mode", "0666", "--control-write-groups", "4242"),
	    NULL, 0);
	ck_assert(may_set_as(d.sock, &primary));
	c = connect_as(d.sock, &supplementary);
	assert_access(c, "write");
	ck_assert(may_set(c));
	ctlc_close(c);
	ck_assert(!may_set_as(d.sock, &neither));
	ck_assert(!may_set_as(d.sock, &none));
	stop(&d, NULL);
}
END_TEST

/* Writes text to path through a rename: the daemon never reads half a file. */
static void
write_conf(const char *path, const char *text)
{
	char	 tmp[200];
	FILE	*f;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	ck_assert_ptr_nonnull(f = fopen(tmp, "w"));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* Waits (bounded) until the daemon's log holds text. */
static bool
log_has(const struct dproc *d, const char *text)
{
	for (int waited = 0; waited <= 10000; waited += 20) {
		if (strstr(dproc_log(d), text) != NULL)
			return true;
		usleep(20000);
	}
	return false;
}

START_TEST(test_reload_write_users)
{
	static const struct cred	 nobody = { NOBODY, NOBODY, NULL, 0 };
	struct dproc			 d;
	struct ctlc			*c;
	char				 dir[96], conf[128];

	if (!need_root("test_reload_write_users", "the whole test"))
		return;
	make_dir(dir, sizeof(dir), "conf");
	snprintf(conf, sizeof(conf), "%s/chitchatd.conf", dir);
	write_conf(conf, "control-mode = 0666\ncontrol-write-users = daemon\n");
	start(&d, "reload", ARGS("--config", conf), NULL, 0);
	c = connect_as(d.sock, &nobody);
	ck_assert(!may_set(c));
	/* a reload applies at once, to the connection already open */
	write_conf(conf, "control-mode = 0666\ncontrol-write-users = daemon, nobody\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(log_has(&d, "control-write-users: daemon -> daemon, nobody"), "%s",
	    dproc_log(&d));
	ck_assert(may_set(c));
	assert_access(c, "write");
	/* an unknown name: the reload is refused, the lists stay */
	write_conf(conf, "control-mode = 0666\ncontrol-write-users = no-such-user-chitchatd\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(log_has(&d, "control-write-users = no-such-user-chitchatd: no such user"),
	    "%s", dproc_log(&d));
	ck_assert(may_set(c));
	/* groups only: nobody is out again */
	write_conf(conf, "control-mode = 0666\ncontrol-write-groups = 4242\n");
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	ck_assert_msg(log_has(&d, "control-write-groups: (none) -> 4242"), "%s", dproc_log(&d));
	ck_assert(!may_set(c));
	ck_assert(strstr(dproc_log(&d), "need a restart") == NULL);
	ctlc_close(c);
	stop(&d, NULL);
}
END_TEST

/* The daemon as nobody: its own uid may write, unlisted. */
START_TEST(test_write_own_uid)
{
	static const struct cred	 nobody = { NOBODY, NOBODY, NULL, 0 };
	static const struct cred	 listed = { OTHER_UID, OTHER_GID, NULL, 0 };
	static const struct cred	 other = { OTHER_UID + 1, OTHER_GID, NULL, 0 };
	struct dproc			 d;
	struct ctlc			*root;
	const char			*argv[16];

	if (!need_root("test_write_own_uid", "the whole test"))
		return;
	/* what dproc_start would do, but the daemon runs as nobody, in a
	 * directory nobody owns (as under systemd's RuntimeDirectory=) */
	memset(&d, 0, sizeof(d));
	snprintf(d.node_id, sizeof(d.node_id), "own");
	make_dir(d.dir, sizeof(d.dir), "own");
	ck_assert_int_eq(chown(d.dir, NOBODY, NOBODY), 0);
	snprintf(d.sock, sizeof(d.sock), "%s/ctl.sock", d.dir);
	snprintf(d.out, sizeof(d.out), "%s/stdout", d.dir);
	snprintf(d.err, sizeof(d.err), "%s/stderr", d.dir);
	d.port = dproc_free_port();
	snprintf(d.listen, sizeof(d.listen), "127.0.0.1:%u", (unsigned)d.port);
	argv[0] = dproc_daemon_path();
	memcpy(&argv[1], ARGS("--node-id", "own", "--listen", d.listen, "--control-socket",
	    d.sock, "--control-mode", "0666", "--control-write-users", "4243"),
	    11 * sizeof(argv[0]));
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ge(d.pid = fork(), 0);
	if (d.pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int err = open(d.err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int bin = open_binary(argv[0]);

		if (null == -1 || err == -1 || bin == -1 || dup2(null, 0) == -1 ||
		    dup2(null, 1) == -1 || dup2(err, 2) == -1 || drop_to(&nobody) == -1)
			_exit(126);
		fexecve(bin, (char *const *)argv, environ);
		_exit(127);
	}
	wait_socket(&d, d.sock);
	ck_assert(may_set_as(d.sock, &nobody));		/* the daemon's own uid */
	ck_assert(may_set_as(d.sock, &listed));
	ck_assert(!may_set_as(d.sock, &other));
	root = ctlc_open(d.sock);
	ck_assert(may_set(root));
	ctlc_close(root);
	stop(&d, NULL);
}
END_TEST

/* ---- the read-only socket ----------------------------------------------------------- */

START_TEST(test_readonly_socket)
{
	static const struct cred nobody = { NOBODY, NOBODY, NULL, 0 };
	struct dproc	 d;
	struct ctlc	*ro, *rw, *watcher = NULL;
	json_t		*r, *n;
	char		 path[160];

	start(&d, "ro", ARGS("--set", "acc/k=v"), path, sizeof(path));
	/* refused for everyone, root included */
	ro = ctlc_open(path);
	assert_access(ro, "read");
	r = ctlc_call(ro, "set", "{\"key\":\"acc/x\",\"value\":\"1\"}");
	ck_assert_int_eq(ctlc_reply_code(r), -32003);
	ck_assert_str_eq(reason_of(r), "set is a write method and this socket is read-only");
	json_decref(r);
	ck_assert_int_eq(ctlc_err(ro, "delete", "{\"key\":\"acc/k\"}"), -32003);
	r = ctlc_ok(ro, "get", "{\"key\":\"acc/k\"}");
	ck_assert_str_eq(ctlc_str(r, "value"), "v");
	json_decref(r);
	json_decref(ctlc_ok(ro, "subscribe", "{\"prefix\":\"acc/\"}"));
	/* the default mode 0666 lets any user watch */
	if (geteuid() == 0) {
		watcher = connect_as(path, &nobody);
		json_decref(ctlc_ok(watcher, "subscribe", "{\"prefix\":\"acc/\"}"));
	} else
		printf("check_access: test_readonly_socket: the watcher as uid 65534 "
		    "skipped: not root\n");
	/* a key set on the main socket arrives on the read-only subscribers */
	rw = ctlc_open(d.sock);
	assert_access(rw, "write");
	ck_assert(may_set(rw));
	ck_assert_ptr_nonnull(n = ctlc_notification(ro, CTLC_REPLY_MS));
	ck_assert_str_eq(ctlc_str(n, "method"), "key_changed");
	ck_assert_str_eq(ctlc_str(json_object_get(n, "params"), "key"), "acc/w");
	json_decref(n);
	if (watcher != NULL) {
		ck_assert_ptr_nonnull(n = ctlc_notification(watcher, CTLC_REPLY_MS));
		ck_assert_str_eq(ctlc_str(json_object_get(n, "params"), "key"), "acc/w");
		json_decref(n);
		ck_assert(!may_set(watcher));
	}
	ck_assert(ctlc_metric(rw, "chitchatd_control_denied_total") == (watcher ? 3 : 2));
	ctlc_close(watcher);
	ctlc_close(ro);
	ctlc_close(rw);
	stop(&d, path);
}
END_TEST

/* ---- chitchatctl -------------------------------------------------------------------- */

/* chitchatctl args as c (NULL: as we are); its exit status, stderr in *err. */
static int
ctl_as(const struct cred *c, const char *const *args, char **err)
{
	char	 bin[PATH_MAX + 16], *argv[16], tmpl[] = "/tmp/check_access.XXXXXX";
	int	 argc = 0, fd, status;
	pid_t	 pid;
	off_t	 size;

	/* <build>/chitchatd -> <build>/chitchatctl */
	snprintf(bin, sizeof(bin), "%s", dproc_daemon_path());
	snprintf(strrchr(bin, '/') + 1, 16, "chitchatctl");
	argv[argc++] = bin;
	for (int i = 0; args[i] != NULL; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	ck_assert_int_ge(fd = mkstemp(tmpl), 0);
	unlink(tmpl);
	fflush(stdout);
	fflush(stderr);
	ck_assert_int_ge(pid = fork(), 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int exe = open_binary(bin);

		if (null == -1 || exe == -1 || dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
		    dup2(fd, 2) == -1 || (c != NULL && drop_to(c) == -1))
			_exit(126);
		fexecve(exe, argv, environ);
		_exit(127);
	}
	status = dproc_wait_exit(pid, 20000);
	if (status == -1)
		dproc_kill_hard(pid);
	size = lseek(fd, 0, SEEK_END);
	ck_assert_ptr_nonnull(*err = calloc(1, (size_t)size + 1));
	ck_assert_int_eq(pread(fd, *err, (size_t)size, 0), size);
	close(fd);
	return status;
}

START_TEST(test_chitchatctl_not_allowed)
{
	static const struct cred nobody = { NOBODY, NOBODY, NULL, 0 };
	struct dproc	 d;
	char		 ro[160], *err;

	start(&d, "ctl", ARGS("--control-mode", "0666", "--control-write-users", "daemon",
	    "--set", "acc/k=v"), ro, sizeof(ro));
	/* the read-only socket: exit 1, the daemon's reason */
	ck_assert_int_eq(ctl_as(NULL, ARGS("--socket", ro, "set", "acc/x", "1"), &err), 1);
	ck_assert_str_eq(err, "chitchatctl: set acc/x: not allowed: set is a write method "
	    "and this socket is read-only\n");
	free(err);
	ck_assert_int_eq(ctl_as(NULL, ARGS("--socket", ro, "get", "acc/k"), &err), 0);
	free(err);
	if (need_root("test_chitchatctl_not_allowed", "chitchatctl as uid 65534")) {
		/* an unlisted user: exit 1, one line naming the uid and the option */
		ck_assert_int_eq(ctl_as(&nobody, ARGS("--socket", d.sock, "set", "acc/x", "1"),
		    &err), 1);
		ck_assert_str_eq(err, "chitchatctl: set acc/x: not allowed: uid 65534 may not "
		    "call the write method set (see control-write-users, control-write-groups)\n");
		free(err);
		ck_assert_int_eq(ctl_as(&nobody, ARGS("--socket", d.sock, "del", "acc/k"), &err),
		    1);
		ck_assert_ptr_nonnull(strstr(err, "not allowed: uid 65534"));
		free(err);
		/* reads work */
		ck_assert_int_eq(ctl_as(&nobody, ARGS("--socket", d.sock, "get", "acc/k"), &err),
		    0);
		ck_assert_str_eq(err, "");
		free(err);
		ck_assert_int_eq(ctl_as(&nobody, ARGS("--socket", d.sock, "info"), &err), 0);
		free(err);
	}
	stop(&d, ro);
}
END_TEST

static Suite *
access_suite(void)
{
	Suite	*s = suite_create("access");
	TCase	*files = tcase_create("files");
	TCase	*creds = tcase_create("credentials");

	tcase_add_unchecked_fixture(files, dproc_setup, dproc_teardown);
	tcase_set_timeout(files, 120);
	tcase_add_test(files, test_socket_mode_under_umask);
	tcase_add_test(files, test_socket_group);
	tcase_add_test(files, test_unknown_names_exit_2);
	suite_add_tcase(s, files);
	tcase_add_unchecked_fixture(creds, dproc_setup, dproc_teardown);
	tcase_set_timeout(creds, 120);
	tcase_add_test(creds, test_write_users);
	tcase_add_test(creds, test_write_users_listed);
	tcase_add_test(creds, test_write_groups);
	tcase_add_test(creds, test_write_own_uid);
	tcase_add_test(creds, test_reload_write_users);
	tcase_add_test(creds, test_readonly_socket);
	tcase_add_test(creds, test_chitchatctl_not_allowed);
	suite_add_tcase(s, creds);
	return s;
}

CC_TEST_MAIN(access_suite)
