/*
 * check_ctl.c: chitchatctl as a process against real chitchatd processes.
 *
 * Two daemons (ctl-a, ctl-b, gossiping every 100 ms on 127.0.0.1 with
 * free ports, each with a control socket in its own temporary directory)
 * are started once for the "cluster" cases; the "alone" cases start their
 * own daemons, fake daemons (a plain Unix socket answering hello), or none.
 * chitchatctl runs through posix_spawn with its output in files or a pipe
 * (watch), or under a pseudo-terminal (forkpty) for the table output.
 * Every command, the --json shapes (parsed with jansson), every exit code,
 * `set KEY -`, `watch --exec`, CHITCHATD_SOCKET and the bash completion.
 *
 * Binaries: chitchatctl and chitchatd of the build directory this test was
 * built in (<builddir>/tests/unit/check_ctl -> <builddir>/chitchatctl), so
 * the sanitizer build runs its own. Every wait is bounded.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

extern char **environ;

static char	ctl_bin[PATH_MAX + 16];
static char	daemon_bin[PATH_MAX + 16];
static char	repo_dir[PATH_MAX];

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

/* ---- paths, time -------------------------------------------------------------------- */

static void
find_bins(void)
{
	char	self[PATH_MAX], probe[PATH_MAX + 64];
	ssize_t	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char	*p;

	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	snprintf(repo_dir, sizeof(repo_dir), "%s", self);
	for (int i = 0; i < 3 && (p = strrchr(self, '/')) != NULL; i++)
		*p = '\0';
	snprintf(ctl_bin, sizeof(ctl_bin), "%s/chitchatctl", self);
	snprintf(daemon_bin, sizeof(daemon_bin), "%s/chitchatd", self);
	ck_assert_msg(access(ctl_bin, X_OK) == 0, "no chitchatctl at %s", ctl_bin);
	ck_assert_msg(access(daemon_bin, X_OK) == 0, "no chitchatd at %s", daemon_bin);
	while ((p = strrchr(repo_dir, '/')) != NULL) {
		*p = '\0';
		snprintf(probe, sizeof(probe), "%s/ctl/chitchatctl.bash-completion",
		    repo_dir);
		if (access(probe, R_OK) == 0)
			return;
	}
	/* a build directory outside the tree: the current directory */
	if (getcwd(repo_dir, sizeof(repo_dir)) != NULL) {
		snprintf(probe, sizeof(probe), "%s/ctl/chitchatctl.bash-completion",
		    repo_dir);
		if (access(probe, R_OK) == 0)
			return;
	}
	repo_dir[0] = '\0';
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Exit status of pid within timeout_ms (128 + signal if killed), -1 if still running. */
static int
wait_exit(pid_t pid, int timeout_ms)
{
	int status;

	for (int64_t end = now_ms() + timeout_ms;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		if (now_ms() > end)
			return -1;
		sleep_ms(10);
	}
}

static char *
slurp_fd(int fd, size_t *len)
{
	size_t	cap = 65536, n = 0;
	char	*s = malloc(cap);
	ssize_t	r;

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	while ((r = read(fd, s + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n - 1 == 0) {
			cap *= 2;
			s = realloc(s, cap);
			ck_assert_ptr_nonnull(s);
		}
	}
	s[n] = '\0';
	if (len != NULL)
		*len = n;
	return s;
}

static char *
slurp(const char *path)
{
	int	 fd = open(path, O_RDONLY | O_CLOEXEC);
	char	*s;

	if (fd == -1)
		return strdup("");
	s = slurp_fd(fd, NULL);
	close(fd);
	return s;
}

static int
tmp_fd(void)
{
	char	tmpl[] = "/tmp/check_ctl.XXXXXX";
	int	fd = mkstemp(tmpl);

	ck_assert_int_ge(fd, 0);
	unlink(tmpl);
	return fd;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static size_t
count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0' && *s != '\n'; s++)
		if (*s == c)
			n++;
	return n;
}

/* ---- environment ---------------------------------------------------------------- */

/*
 * environ without CHITCHATD_SOCKET and NO_COLOR (so the caller's shell
 * does not leak in), plus the "NAME=value" entries of set. Free the array.
 */
static char **
make_env(const char *const *set)
{
	size_t	  n = 0, k = 0;
	char	**env;

	while (environ[n] != NULL)
		n++;
	env = calloc(n + 16, sizeof(*env));
	ck_assert_ptr_nonnull(env);
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "CHITCHATD_SOCKET=", 17) != 0 &&
		    strncmp(environ[i], "NO_COLOR=", 9) != 0 &&
		    strncmp(environ[i], "TERM=", 5) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; set != NULL && set[i] != NULL; i++)
		env[k++] = (char *)set[i];
	env[k] = NULL;
	return env;
}

/* ---- daemons ------------------------------------------------------------------------ */

struct daemon {
	pid_t		pid;
	uint16_t	port;
	char		name[32];
	char		dir[64];
	char		sock[128];
	char		log[128];
};

static uint16_t
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static bool
sock_connects(const char *path)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool			ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

/* Starts chitchatd `name` (seeding seed_port if not 0); returns once its socket answers. */
static void
daemon_start(struct daemon *d, const char *name, uint16_t seed_port,
    const char *const *extra)
{
	char		 listen[32], seed[32];
	const char	*argv[32];
	int		 argc = 0;
	pid_t		 parent;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->dir, sizeof(d->dir), "/tmp/check_ctl.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/x.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	d->port = free_port();
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)d->port);
	snprintf(seed, sizeof(seed), "127.0.0.1:%u", (unsigned)seed_port);
	argv[argc++] = daemon_bin;
	argv[argc++] = "--node-id";
	argv[argc++] = d->name;
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--gossip-interval";
	argv[argc++] = "100ms";
	argv[argc++] = "--log-level";
	argv[argc++] = "warn";
	argv[argc++] = "--control-socket";
	argv[argc++] = d->sock;
	if (seed_port != 0) {
		argv[argc++] = "--seed";
		argv[argc++] = seed;
	}
	for (int i = 0; extra != NULL && extra[i] != NULL && argc < 30; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	/*
	 * fork, not posix_spawn: the daemon gets SIGTERM when its parent
	 * dies, so a failed assertion (which skips the teardown) or a crash
	 * never leaves daemons behind
	 */
	parent = getpid();
	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDONLY);

		if (log == -1 || null == -1 || dup2(null, 0) == -1 ||
		    dup2(log, 1) == -1 || dup2(log, 2) == -1 ||
		    prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
			_exit(127);
		execve(daemon_bin, (char **)argv, environ);
		_exit(127);
	}
	for (int64_t end = now_ms() + 10000; !sock_connects(d->sock);) {
		if (now_ms() > end || waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			char *log = slurp(d->log);

			ck_abort_msg("daemon %s did not start: %s", name, log);
		}
		sleep_ms(20);
	}
}

static void
rm_rf(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "check_ctl: cannot remove %s\n", dir);
}

static void
daemon_stop(struct daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		if (wait_exit(d->pid, 5000) == -1) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
		}
		d->pid = 0;
	}
	if (d->dir[0] != '\0')
		rm_rf(d->dir);
	d->dir[0] = '\0';
}

/* ---- running chitchatctl -------------------------------------------------------------- */

struct run {
	int	 status;	/* exit status, 128 + signal if killed */
	char	*out;
	size_t	 out_len;
	char	*err;
	size_t	 err_len;
	int64_t	 ms;		/* how long it ran */
};

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

/* Runs chitchatctl args with stdin `in`, the environment of make_env(env). */
static void
run_full(struct run *r, const char *const *env, const char *in, size_t in_len,
    const char *const *args)
{
	posix_spawn_file_actions_t	 fa;
	const char			*argv[32];
	char				**envp = make_env(env);
	int				 fin = tmp_fd(), fout = tmp_fd(), ferr = tmp_fd();
	int				 argc = 0;
	int64_t				 start = now_ms();
	pid_t				 pid;

	argv[argc++] = ctl_bin;
	for (int i = 0; args[i] != NULL && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (in_len > 0)
		ck_assert_int_eq(write(fin, in, in_len), (ssize_t)in_len);
	ck_assert_int_eq(lseek(fin, 0, SEEK_SET), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fin, 0);
	posix_spawn_file_actions_adddup2(&fa, fout, 1);
	posix_spawn_file_actions_adddup2(&fa, ferr, 2);
	ck_assert_int_eq(posix_spawn(&pid, ctl_bin, &fa, NULL, (char **)argv,
	    envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	r->status = wait_exit(pid, 30000);
	if (r->status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ck_abort_msg("chitchatctl %s %s: still running after 30 s",
		    args[0], args[1] != NULL ? args[1] : "");
	}
	r->ms = now_ms() - start;
	close(fin);
	r->out = slurp_fd(fout, &r->out_len);
	r->err = slurp_fd(ferr, &r->err_len);
	close(fout);
	close(ferr);
}

/* chitchatctl --socket d->sock args... */
static void
run_on(struct run *r, const struct daemon *d, const char *in, size_t in_len,
    const char *const *args)
{
	const char	*argv[32];
	int		 n = 0;

	argv[n++] = "--socket";
	argv[n++] = d->sock;
	for (int i = 0; args[i] != NULL && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	run_full(r, NULL, in, in_len, argv);
}

#define CTL(r, d, ...)	run_on((r), (d), NULL, 0, ARGS(__VA_ARGS__))

/* Exit 0, nothing on stderr. */
static void
assert_ok(const struct run *r, const char *what)
{
	ck_assert_msg(r->status == 0 && r->err_len == 0,
	    "%s: exit %d, stderr: %s", what, r->status, r->err);
}

/* Exit `code`, nothing on stdout, one line "chitchatctl: ..." on stderr (plus usage for 2). */
static void
assert_fails(const struct run *r, int code, const char *needle, const char *what)
{
	ck_assert_msg(r->status == code, "%s: exit %d, not %d; stderr: %s", what,
	    r->status, code, r->err);
	ck_assert_msg(r->out_len == 0, "%s: stdout: %s", what, r->out);
	ck_assert_msg(strncmp(r->err, "chitchatctl: ", 13) == 0, "%s: stderr: %s",
	    what, r->err);
	if (code != 2)
		ck_assert_msg(count_lines(r->err) == 1, "%s: stderr: %s", what, r->err);
	if (needle != NULL)
		ck_assert_msg(strstr(r->err, needle) != NULL,
		    "%s: stderr lacks \"%s\": %s", what, needle, r->err);
}

static json_t *
parse_json(const char *s, const char *what)
{
	json_error_t	 e;
	json_t		*j = json_loads(s, JSON_ALLOW_NUL, &e);

	ck_assert_msg(j != NULL, "%s: not JSON (%s): %s", what, e.text, s);
	return j;
}

/* ---- streaming chitchatctl (watch, wait in the background) ----------------------------- */

struct stream {
	pid_t	pid;
	int	out;		/* read end of its stdout */
	int	err;		/* its stderr, a temp file */
	char	buf[65536];
	size_t	len;
};

static void
stream_start_env(struct stream *s, const struct daemon *d,
    const char *const *env, const char *const *args)
{
	posix_spawn_file_actions_t	 fa;
	const char			*argv[32];
	char				**envp = make_env(env);
	int				 p[2], argc = 0;

	memset(s, 0, sizeof(*s));
	argv[argc++] = ctl_bin;
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	for (int i = 0; args[i] != NULL && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	s->err = tmp_fd();
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, s->err, 2);
	ck_assert_int_eq(posix_spawn(&s->pid, ctl_bin, &fa, NULL, (char **)argv,
	    envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	free(envp);
	close(p[1]);
	s->out = p[0];
}

static void
stream_start(struct stream *s, const struct daemon *d, const char *const *args)
{
	stream_start_env(s, d, NULL, args);
}

/* The next line of its stdout (without '\n') within timeout_ms; false if none. */
static bool
stream_line(struct stream *s, int timeout_ms, char *line, size_t len)
{
	int64_t end = now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(s->buf, '\n', s->len);

		if (nl != NULL) {
			size_t n = (size_t)(nl - s->buf);

			ck_assert_uint_lt(n, len);
			memcpy(line, s->buf, n);
			line[n] = '\0';
			memmove(s->buf, nl + 1, s->len - n - 1);
			s->len -= n + 1;
			return true;
		}
		struct pollfd	pfd = { s->out, POLLIN, 0 };
		int64_t		left = end - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			return false;
		ck_assert_uint_lt(s->len, sizeof(s->buf));
		ssize_t n = read(s->out, s->buf + s->len, sizeof(s->buf) - s->len);

		if (n <= 0)
			return false;
		s->len += (size_t)n;
	}
}

/* Sends sig (0: none) and returns the exit status within 10 s; stderr in *err. */
static int
stream_stop(struct stream *s, int sig, char **err)
{
	int status;

	if (sig != 0)
		kill(s->pid, sig);
	status = wait_exit(s->pid, 10000);
	if (status == -1) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
	}
	if (s->out >= 0)
		close(s->out);
	*err = slurp_fd(s->err, NULL);
	close(s->err);
	return status;
}

/* ---- the shared cluster --------------------------------------------------------------- */

static struct daemon	a, b;

static void
cluster_up(void)
{
	struct run r;

	find_bins();
	daemon_start(&a, "ctl-a", 0, ARGS("--set", "service/web=10.0.0.5:8080"));
	daemon_start(&b, "ctl-b", a.port, ARGS("--set", "service/db=10.0.0.6:5432"));
	/* formed: both live on both, and b's key known to a */
	CTL(&r, &a, "wait", "--members", "2", "--timeout", "20s");
	assert_ok(&r, "wait --members 2 on a");
	run_free(&r);
	CTL(&r, &b, "wait", "--members", "2", "--timeout", "20s");
	assert_ok(&r, "wait --members 2 on b");
	run_free(&r);
	CTL(&r, &a, "wait", "--key", "service/db", "--node", "ctl-b", "--timeout",
	    "20s");
	assert_ok(&r, "wait --key service/db --node ctl-b");
	run_free(&r);
}

static void
cluster_down(void)
{
	daemon_stop(&b);
	daemon_stop(&a);
}

/* ---- info, members, metrics ---------------------------------------------------------- */

START_TEST(test_info_plain_and_json)
{
	struct run	 r;
	json_t		*j, *counts;
	static const char *const names[] = { "node_id", "generation",
	    "gossip_address", "cluster_id", "version", "protocol", "uptime_s",
	    "heartbeat", "max_version", "nodes", "live", "dead", "scheduled",
	    "left", "ready", "keys" };
	const char	*line;

	CTL(&r, &a, "info");
	assert_ok(&r, "info");
	ck_assert_uint_eq(count_lines(r.out), 16);
	line = r.out;
	for (size_t i = 0; i < 16; i++) {
		ck_assert_msg(strncmp(line, names[i], strlen(names[i])) == 0 &&
		    line[strlen(names[i])] == '\t', "line %zu: %s", i, line);
		ck_assert_uint_eq(count_char(line, '\t'), 1);
		line = strchr(line, '\n') + 1;
	}
	ck_assert(strncmp(r.out, "node_id\tctl-a\n", 14) == 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\nlive\t2\n"));
	run_free(&r);

	CTL(&r, &a, "info", "--json");
	assert_ok(&r, "info --json");
	ck_assert_uint_eq(count_lines(r.out), 1);
	j = parse_json(r.out, "info --json");
	ck_assert(json_is_object(j));
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_id")), "ctl-a");
	ck_assert(json_is_integer(json_object_get(j, "generation")));
	ck_assert(json_is_string(json_object_get(j, "gossip_address")));
	ck_assert(json_is_string(json_object_get(j, "cluster_id")));
	ck_assert(json_is_string(json_object_get(j, "version")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "protocol")), 1);
	ck_assert(json_is_integer(json_object_get(j, "uptime_s")));
	ck_assert(json_is_integer(json_object_get(j, "heartbeat")));
	counts = json_object_get(j, "counts");
	ck_assert(json_is_object(counts));
	for (size_t i = 9; i < 15; i++)
		ck_assert_msg(json_is_integer(json_object_get(counts, names[i])),
		    "counts.%s", names[i]);
	ck_assert_int_eq(json_integer_value(json_object_get(counts, "live")), 2);
	json_decref(j);
	run_free(&r);

	/* -j, and global options after the command */
	CTL(&r, &a, "-j", "info");
	assert_ok(&r, "-j info");
	json_decref(parse_json(r.out, "-j info"));
	run_free(&r);
}
END_TEST

static void
check_member_shape(const json_t *m)
{
	const json_t *phi = json_object_get(m, "phi");
	const json_t *ago = json_object_get(m, "last_heartbeat_ago_ms");

	ck_assert(json_is_object(m));
	ck_assert(json_is_string(json_object_get(m, "node_id")));
	ck_assert(json_is_integer(json_object_get(m, "generation")));
	ck_assert(json_is_string(json_object_get(m, "address")));
	ck_assert(json_is_string(json_object_get(m, "status")));
	ck_assert(json_is_boolean(json_object_get(m, "ready")));
	ck_assert(json_is_integer(json_object_get(m, "heartbeat")));
	ck_assert(json_is_integer(json_object_get(m, "max_version")));
	ck_assert(json_is_integer(json_object_get(m, "keys")));
	ck_assert(json_is_null(phi) || json_is_number(phi));
	ck_assert(json_is_null(ago) || json_is_integer(ago));
}

START_TEST(test_members_plain_and_json)
{
	struct run	 r;
	json_t		*j, *list;
	char		 expect[64];

	CTL(&r, &a, "members");
	assert_ok(&r, "members");
	ck_assert_uint_eq(count_lines(r.out), 2);
	ck_assert_uint_eq(count_char(r.out, '\t'), 7);
	ck_assert_uint_eq(count_char(strchr(r.out, '\n') + 1, '\t'), 7);
	ck_assert(strncmp(r.out, "ctl-a\t", 6) == 0);
	snprintf(expect, sizeof(expect), "\t127.0.0.1:%u\tself\t", (unsigned)a.port);
	ck_assert_msg(strstr(r.out, expect) != NULL, "%s", r.out);
	snprintf(expect, sizeof(expect), "\nctl-b\t");
	ck_assert_ptr_nonnull(strstr(r.out, expect));
	snprintf(expect, sizeof(expect), "\t127.0.0.1:%u\tlive\t", (unsigned)b.port);
	ck_assert_msg(strstr(r.out, expect) != NULL, "%s", r.out);
	run_free(&r);

	CTL(&r, &a, "members", "--json");
	assert_ok(&r, "members --json");
	j = parse_json(r.out, "members --json");
	list = json_object_get(j, "members");
	ck_assert(json_is_array(list));
	ck_assert_uint_eq(json_array_size(list), 2);
	for (size_t i = 0; i < 2; i++)
		check_member_shape(json_array_get(list, i));
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0),
	    "status")), "self");
	ck_assert(json_is_null(json_object_get(json_array_get(list, 0), "phi")));
	json_decref(j);
	run_free(&r);

	CTL(&r, &a, "members", "--all");
	assert_ok(&r, "members --all");
	ck_assert_uint_eq(count_lines(r.out), 2);
	run_free(&r);

	/* nothing dead: still an array */
	CTL(&r, &a, "members", "--dead", "--json");
	assert_ok(&r, "members --dead --json");
	j = parse_json(r.out, "members --dead --json");
	ck_assert(json_is_array(json_object_get(j, "members")));
	ck_assert_uint_eq(json_array_size(json_object_get(j, "members")), 0);
	json_decref(j);
	run_free(&r);
	CTL(&r, &a, "members", "--dead");
	assert_ok(&r, "members --dead");
	ck_assert_uint_eq(r.out_len, 0);
	run_free(&r);
}
END_TEST

START_TEST(test_metrics)
{
	struct run	 r;
	json_t		*j;

	CTL(&r, &a, "metrics");
	assert_ok(&r, "metrics");
	ck_assert(strncmp(r.out, "# HELP chitchatd_info ", 22) == 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\n# TYPE chitchatd_live_nodes gauge\n"));
	ck_assert_ptr_nonnull(strstr(r.out, "\nchitchatd_live_nodes 2\n"));
	ck_assert(r.out[r.out_len - 1] == '\n');
	run_free(&r);
	CTL(&r, &a, "metrics", "--json");
	assert_ok(&r, "metrics --json");
	j = parse_json(r.out, "metrics --json");
	ck_assert(json_is_string(json_object_get(j, "text")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "text")),
	    "chitchatd_uptime_seconds"));
	json_decref(j);
	run_free(&r);
}
END_TEST

/* ---- get, set, del, keys ------------------------------------------------------------- */

START_TEST(test_get_set_del)
{
	struct run	 r;
	json_t		*j;

	CTL(&r, &a, "get", "service/web");
	assert_ok(&r, "get");
	ck_assert_str_eq(r.out, "10.0.0.5:8080\n");
	run_free(&r);
	CTL(&r, &a, "get", "service/db", "--node", "ctl-b");
	assert_ok(&r, "get --node");
	ck_assert_str_eq(r.out, "10.0.0.6:5432\n");
	run_free(&r);
	CTL(&r, &a, "get", "--json", "service/db", "--node=ctl-b");
	assert_ok(&r, "get --json");
	j = parse_json(r.out, "get --json");
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")), "service/db");
	ck_assert_str_eq(json_string_value(json_object_get(j, "value")),
	    "10.0.0.6:5432");
	ck_assert(json_is_integer(json_object_get(j, "version")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "set");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "node"), "node_id")), "ctl-b");
	ck_assert(json_is_integer(json_object_get(json_object_get(j, "node"),
	    "generation")));
	json_decref(j);
	run_free(&r);

	/* not found: 4 */
	CTL(&r, &a, "get", "nope/never");
	assert_fails(&r, 4, "nope/never", "get absent key");
	ck_assert_ptr_nonnull(strstr(r.err, "no such key"));
	run_free(&r);
	CTL(&r, &a, "get", "service/web", "--node", "nobody");
	assert_fails(&r, 4, "no such node", "get on absent node");
	run_free(&r);

	/* set, get, del, del again */
	CTL(&r, &a, "set", "t/k", "hello world");
	assert_ok(&r, "set");
	ck_assert_uint_eq(r.out_len, 0);
	run_free(&r);
	CTL(&r, &a, "get", "t/k");
	ck_assert_str_eq(r.out, "hello world\n");
	run_free(&r);
	CTL(&r, &a, "set", "t/k", "v2", "--json");
	assert_ok(&r, "set --json");
	j = parse_json(r.out, "set --json");
	ck_assert_uint_eq(json_object_size(j), 2);
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")), "t/k");
	ck_assert(json_is_integer(json_object_get(j, "version")));
	json_decref(j);
	run_free(&r);
	CTL(&r, &a, "del", "t/k", "--json");
	assert_ok(&r, "del --json");
	j = parse_json(r.out, "del --json");
	ck_assert_str_eq(json_string_value(json_object_get(j, "key")), "t/k");
	ck_assert(json_is_integer(json_object_get(j, "version")));
	json_decref(j);
	run_free(&r);
	CTL(&r, &a, "get", "t/k");
	assert_fails(&r, 4, "no such key", "get deleted");
	run_free(&r);
	CTL(&r, &a, "delete", "t/k");
	assert_fails(&r, 4, "del t/k: no such key", "del twice (alias delete)");
	run_free(&r);

	/* --mark-ttl on set and on del (chitchat's mark): still visible, marked */
	CTL(&r, &a, "set", "t/ttl", "v", "--mark-ttl");
	assert_ok(&r, "set --mark-ttl");
	run_free(&r);
	CTL(&r, &a, "get", "t/ttl", "--json");
	j = parse_json(r.out, "get ttl");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ttl_marked");
	json_decref(j);
	run_free(&r);
	CTL(&r, &a, "set", "t/d", "v");
	run_free(&r);
	CTL(&r, &a, "del", "t/d", "--mark-ttl");
	assert_ok(&r, "del --mark-ttl");
	run_free(&r);
	CTL(&r, &a, "get", "t/d", "--json");
	j = parse_json(r.out, "get del --ttl");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "ttl_marked");
	json_decref(j);
	run_free(&r);
}
END_TEST

/* set --ttl DURATION: the key expires (extension key-ttl), on this node and the other */
START_TEST(test_set_ttl_expires)
{
	struct run	 r;
	json_t		*j;
	long long	 deadline;
	char		*line;

	CTL(&r, &a, "set", "t/exp", "soon", "--ttl", "1s");
	assert_ok(&r, "set --ttl 1s");
	run_free(&r);
	/* before the deadline: there, with its deadline, in JSON and in the table */
	CTL(&r, &a, "get", "t/exp", "--json");
	assert_ok(&r, "get t/exp");
	j = parse_json(r.out, "get t/exp");
	ck_assert_str_eq(json_string_value(json_object_get(j, "value")), "soon");
	ck_assert(json_is_integer(json_object_get(j, "expires_at_ms")));
	json_decref(j);
	run_free(&r);
	CTL(&r, &a, "keys", "t/exp");
	assert_ok(&r, "keys t/exp");
	line = r.out;
	ck_assert_msg(strncmp(line, "t/exp\tsoon\t", 11) == 0, "%s", line);
	ck_assert_msg(strstr(line, "\tset\tin ") != NULL || strstr(line, "\tset\tnow") != NULL,
	    "no EXPIRES: %s", line);
	run_free(&r);
	/* then gone, on both nodes (bounded) */
	deadline = now_ms() + 20000;
	for (;;) {
		struct run rb;
		int sa, sb;

		CTL(&r, &a, "get", "t/exp");
		CTL(&rb, &b, "get", "t/exp", "--node", "ctl-a");
		sa = r.status;
		sb = rb.status;
		run_free(&r);
		run_free(&rb);
		if (sa == 4 && sb == 4)
			break;
		ck_assert_msg(now_ms() < deadline, "t/exp still there: a %d, b %d", sa, sb);
		sleep_ms(100);
	}
	/* a key without --ttl shows "-" */
	CTL(&r, &a, "set", "t/plain", "v");
	run_free(&r);
	CTL(&r, &a, "keys", "t/plain");
	ck_assert_msg(strncmp(r.out, "t/plain\tv\t", 10) == 0 &&
	    strstr(r.out, "\tset\t-\n") != NULL, "%s", r.out);
	run_free(&r);
}
END_TEST

static void
set_stdin(const char *key, const char *in, size_t len, int expect)
{
	struct run r;

	run_on(&r, &a, in, len, ARGS("set", key, "-"));
	ck_assert_msg(r.status == expect, "set %s -: exit %d: %s", key, r.status,
	    r.err);
	run_free(&r);
}

static void
assert_value(const char *key, const char *value, size_t len)
{
	struct run	 r;
	json_t		*j, *v;

	CTL(&r, &a, "get", key, "--json");
	assert_ok(&r, "get --json");
	j = parse_json(r.out, "get --json");
	v = json_object_get(j, "value");
	ck_assert_msg(json_string_length(v) == len &&
	    memcmp(json_string_value(v), value, len) == 0, "%s: %s", key, r.out);
	json_decref(j);
	run_free(&r);
}

START_TEST(test_set_from_stdin)
{
	struct run	 r;
	char		*big;

	set_stdin("in/1", "hello\n", 6, 0);
	assert_value("in/1", "hello", 5);
	set_stdin("in/2", "a\n\n", 3, 0);	/* exactly one newline is removed */
	assert_value("in/2", "a\n", 2);
	set_stdin("in/3", "no newline", 10, 0);
	assert_value("in/3", "no newline", 10);
	set_stdin("in/4", "", 0, 0);
	assert_value("in/4", "", 0);
	set_stdin("in/5", "x\0y\n", 4, 0);	/* NUL is allowed */
	assert_value("in/5", "x\0y", 3);
	set_stdin("in/6", "caf\xc3\xa9 \xe2\x82\xac\n", 10, 0);
	assert_value("in/6", "caf\xc3\xa9 \xe2\x82\xac", 9);

	/* get | set - copies a value exactly */
	CTL(&r, &a, "get", "in/2");
	set_stdin("in/7", r.out, r.out_len, 0);
	run_free(&r);
	assert_value("in/7", "a\n", 2);

	/* not UTF-8, too large: refused before connecting, exit 1 */
	run_on(&r, &a, "\xff\xfe\n", 3, ARGS("set", "in/8", "-"));
	assert_fails(&r, 1, "not valid UTF-8", "set - invalid UTF-8");
	run_free(&r);
	big = malloc(20000);
	memset(big, 'x', 20000);
	run_on(&r, &a, big, 20000, ARGS("set", "in/9", "-"));
	assert_fails(&r, 1, "too large", "set - too large");
	run_free(&r);
	free(big);
	CTL(&r, &a, "get", "in/8");
	ck_assert_int_eq(r.status, 4);
	run_free(&r);
}
END_TEST

START_TEST(test_keys)
{
	struct run	 r;
	json_t		*j, *nodes, *entries, *e;
	char		 expect[64];

	CTL(&r, &a, "set", "k/1", "one");
	run_free(&r);
	CTL(&r, &a, "set", "k/2", "two\tand\\more\nlines");
	run_free(&r);
	CTL(&r, &a, "keys", "k/");
	assert_ok(&r, "keys k/");
	ck_assert_uint_eq(count_lines(r.out), 2);
	ck_assert(strncmp(r.out, "k/1\tone\t", 8) == 0);
	ck_assert_msg(strstr(r.out, "\nk/2\ttwo\\tand\\\\more\\nlines\t") != NULL,
	    "not escaped: %s", r.out);
	ck_assert_uint_eq(count_char(r.out, '\t'), 4);
	ck_assert(strstr(r.out, "\tset\t-\n") != NULL);
	run_free(&r);

	/* one shape: {"nodes":[{"node":{...},"entries":[...]}]} */
	CTL(&r, &a, "keys", "k/", "--json");
	assert_ok(&r, "keys --json");
	j = parse_json(r.out, "keys --json");
	ck_assert_uint_eq(json_object_size(j), 1);
	nodes = json_object_get(j, "nodes");
	ck_assert(json_is_array(nodes));
	ck_assert_uint_eq(json_array_size(nodes), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(nodes, 0), "node"), "node_id")), "ctl-a");
	entries = json_object_get(json_array_get(nodes, 0), "entries");
	ck_assert_uint_eq(json_array_size(entries), 2);
	e = json_array_get(entries, 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "key")), "k/2");
	ck_assert_str_eq(json_string_value(json_object_get(e, "value")),
	    "two\tand\\more\nlines");
	ck_assert(json_is_integer(json_object_get(e, "version")));
	ck_assert_str_eq(json_string_value(json_object_get(e, "status")), "set");
	json_decref(j);
	run_free(&r);

	CTL(&r, &a, "keys", "service/", "--all", "--json");
	assert_ok(&r, "keys --all --json");
	j = parse_json(r.out, "keys --all --json");
	nodes = json_object_get(j, "nodes");
	ck_assert_uint_eq(json_array_size(nodes), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(nodes, 1), "node"), "node_id")), "ctl-b");
	json_decref(j);
	run_free(&r);

	CTL(&r, &a, "keys", "service/", "--all");
	assert_ok(&r, "keys --all");
	ck_assert_uint_eq(count_lines(r.out), 2);
	ck_assert(strncmp(r.out, "ctl-a\tservice/web\t10.0.0.5:8080\t", 32) == 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\nctl-b\tservice/db\t10.0.0.6:5432\t"));
	run_free(&r);

	CTL(&r, &a, "keys", "--node", "ctl-b");
	assert_ok(&r, "keys --node");
	ck_assert(strncmp(r.out, "service/db\t10.0.0.6:5432\t", 25) == 0);
	run_free(&r);

	/* nothing under the prefix: empty output, still arrays in JSON */
	CTL(&r, &a, "keys", "zzz/");
	assert_ok(&r, "keys zzz/");
	ck_assert_uint_eq(r.out_len, 0);
	run_free(&r);
	CTL(&r, &a, "keys", "zzz/", "--json");
	j = parse_json(r.out, "keys zzz/ --json");
	entries = json_object_get(json_array_get(json_object_get(j, "nodes"), 0),
	    "entries");
	ck_assert(json_is_array(entries));
	ck_assert_uint_eq(json_array_size(entries), 0);
	json_decref(j);
	run_free(&r);

	CTL(&r, &a, "keys", "--node", "nobody");
	assert_fails(&r, 4, "no such node", "keys --node nobody");
	run_free(&r);

	/* tombstones only with --deleted */
	CTL(&r, &a, "del", "k/1");
	run_free(&r);
	CTL(&r, &a, "keys", "k/");
	ck_assert_uint_eq(count_lines(r.out), 1);
	run_free(&r);
	CTL(&r, &a, "keys", "k/", "--deleted");
	snprintf(expect, sizeof(expect), "k/1\t\t");
	ck_assert(strncmp(r.out, expect, strlen(expect)) == 0);
	ck_assert_ptr_nonnull(strstr(r.out, "\tdeleted\t-\n"));
	run_free(&r);
}
END_TEST

/* ---- wait --------------------------------------------------------------------------- */

START_TEST(test_wait_members)
{
	struct run	 r;
	json_t		*j;

	CTL(&r, &a, "wait", "--members", "2", "--timeout", "10s");
	assert_ok(&r, "wait --members 2");
	ck_assert_uint_eq(r.out_len, 0);
	run_free(&r);
	CTL(&r, &a, "wait", "--members", "1", "--json");	/* no timeout */
	assert_ok(&r, "wait --members 1 --json");
	j = parse_json(r.out, "wait --json");
	ck_assert_str_eq(json_string_value(json_object_get(j, "condition")), "members");
	ck_assert(json_is_true(json_object_get(j, "met")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "members")), 2);
	ck_assert(json_is_integer(json_object_get(j, "waited_ms")));
	json_decref(j);
	run_free(&r);

	/* timeout: 5, after the timeout and not much later */
	CTL(&r, &a, "wait", "--members", "3", "--timeout", "400ms");
	assert_fails(&r, 5, "timed out", "wait --members 3");
	ck_assert_msg(r.ms >= 390 && r.ms < 5000, "took %lld ms", (long long)r.ms);
	run_free(&r);
	CTL(&r, &a, "wait", "--members", "3", "-t", "200ms", "--json");
	ck_assert_int_eq(r.status, 5);
	j = parse_json(r.out, "wait timeout --json");
	ck_assert(json_is_false(json_object_get(j, "met")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "members")), 2);
	json_decref(j);
	run_free(&r);
}
END_TEST

START_TEST(test_wait_key)
{
	struct stream	 s;
	struct run	 r;
	char		 line[4096], *err;
	json_t		*j;
	int		 status;

	/* blocks until the key has the value, then exits 0 */
	stream_start(&s, &a, ARGS("wait", "--key", "wk/go=yes", "--timeout", "20s",
	    "--json"));
	sleep_ms(300);
	ck_assert_int_eq(waitpid(s.pid, NULL, WNOHANG), 0);
	CTL(&r, &a, "set", "wk/go", "no");
	run_free(&r);
	sleep_ms(300);
	ck_assert_msg(waitpid(s.pid, NULL, WNOHANG) == 0, "wait ended on wk/go=no");
	CTL(&r, &a, "set", "wk/go", "yes");
	run_free(&r);
	ck_assert(stream_line(&s, 10000, line, sizeof(line)));
	status = stream_stop(&s, 0, &err);
	ck_assert_msg(status == 0, "exit %d: %s", status, err);
	free(err);
	j = parse_json(line, "wait --key --json");
	ck_assert_str_eq(json_string_value(json_object_get(j, "condition")), "key");
	ck_assert(json_is_true(json_object_get(j, "met")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "entry"), "value")), "yes");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "entry"), "node_id")), "ctl-a");
	json_decref(j);

	/* already true: at once */
	CTL(&r, &a, "wait", "--key", "service/db", "--node", "ctl-b", "--timeout",
	    "5s");
	assert_ok(&r, "wait --key --node");
	run_free(&r);
	CTL(&r, &a, "wait", "--key", "service/db", "--all", "--json");
	assert_ok(&r, "wait --key --all");
	j = parse_json(r.out, "wait --key --all --json");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "entry"), "node_id")), "ctl-b");
	json_decref(j);
	run_free(&r);

	/* this node by default: b's key is not a's */
	CTL(&r, &a, "wait", "--key", "service/db", "--timeout", "300ms");
	assert_fails(&r, 5, "timed out", "wait --key of another node");
	run_free(&r);
	CTL(&r, &a, "wait", "--key", "service/web=wrong", "--timeout", "300ms",
	    "--json");
	ck_assert_int_eq(r.status, 5);
	j = parse_json(r.out, "wait --key timeout --json");
	ck_assert(json_is_false(json_object_get(j, "met")));
	ck_assert(json_is_null(json_object_get(j, "entry")));
	json_decref(j);
	run_free(&r);
}
END_TEST

/* ---- watch -------------------------------------------------------------------------- */

/* Reads one --json watch line and checks event, key, value and the shape. */
static json_int_t
expect_key_event(struct stream *s, const char *event, const char *key,
    const char *value)
{
	char		 line[8192];
	json_t		*j;
	json_int_t	 v;

	ck_assert_msg(stream_line(s, 10000, line, sizeof(line)),
	    "no %s %s event", event, key);
	j = parse_json(line, "watch line");
	ck_assert_msg(strcmp(json_string_value(json_object_get(j, "event")), event) == 0 &&
	    strcmp(json_string_value(json_object_get(j, "key")), key) == 0 &&
	    strcmp(json_string_value(json_object_get(j, "value")), value) == 0,
	    "expected %s %s=%s, got %s", event, key, value, line);
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_id")), "ctl-a");
	ck_assert(json_is_integer(json_object_get(j, "generation")));
	ck_assert(json_is_string(json_object_get(j, "address")));
	ck_assert(json_is_string(json_object_get(j, "status")));
	v = json_integer_value(json_object_get(j, "version"));
	ck_assert_int_gt(v, 0);
	json_decref(j);
	return v;
}

START_TEST(test_watch_keys_json_in_order)
{
	struct stream	 s;
	struct run	 r;
	json_int_t	 v[4];
	char		*err;
	int		 status;

	CTL(&r, &a, "set", "wj/0", "zero");
	run_free(&r);
	stream_start(&s, &a, ARGS("watch", "keys", "wj/", "--json"));
	expect_key_event(&s, "snapshot", "wj/0", "zero");
	CTL(&r, &a, "set", "wj/1", "a");
	run_free(&r);
	CTL(&r, &a, "set", "wj/2", "b");
	run_free(&r);
	CTL(&r, &a, "del", "wj/1");
	run_free(&r);
	CTL(&r, &a, "set", "wj/2", "c d", "--mark-ttl");
	run_free(&r);
	CTL(&r, &a, "set", "other/x", "not watched");
	run_free(&r);
	v[0] = expect_key_event(&s, "set", "wj/1", "a");
	v[1] = expect_key_event(&s, "set", "wj/2", "b");
	v[2] = expect_key_event(&s, "deleted", "wj/1", "");
	v[3] = expect_key_event(&s, "ttl_marked", "wj/2", "c d");
	ck_assert(v[0] < v[1] && v[1] < v[2] && v[2] < v[3]);
	/* interrupted: quietly, 0 */
	status = stream_stop(&s, SIGINT, &err);
	ck_assert_msg(status == 0 && err[0] == '\0', "exit %d: %s", status, err);
	free(err);
}
END_TEST

START_TEST(test_watch_text_and_no_snapshot)
{
	struct stream	 s;
	struct run	 r;
	char		 line[4096], expect[128], *err;
	json_t		*j;
	int		 status;

	CTL(&r, &a, "set", "wt/0", "old");
	run_free(&r);
	stream_start(&s, &a, ARGS("watch", "keys", "wt/", "--no-snapshot"));
	sleep_ms(300);	/* subscribed (a snapshot would have been printed) */
	CTL(&r, &a, "set", "wt/1", "new\tvalue", "--json");
	j = parse_json(r.out, "set");
	snprintf(expect, sizeof(expect), "set\tctl-a\twt/1\tnew\\tvalue\t%lld",
	    (long long)json_integer_value(json_object_get(j, "version")));
	json_decref(j);
	run_free(&r);
	ck_assert(stream_line(&s, 10000, line, sizeof(line)));
	ck_assert_str_eq(line, expect);
	status = stream_stop(&s, SIGTERM, &err);
	ck_assert_msg(status == 0 && err[0] == '\0', "exit %d: %s", status, err);
	free(err);
}
END_TEST

START_TEST(test_watch_reader_gone_exits_0)
{
	struct stream	 s;
	struct run	 r;
	char		 line[4096], *err;
	int		 status;

	CTL(&r, &a, "set", "wp/0", "x");
	run_free(&r);
	stream_start(&s, &a, ARGS("watch", "keys", "wp/"));
	ck_assert(stream_line(&s, 10000, line, sizeof(line)));
	close(s.out);		/* like `| head -1` */
	s.out = -1;
	CTL(&r, &a, "set", "wp/1", "y");
	run_free(&r);
	status = stream_stop(&s, 0, &err);
	ck_assert_msg(status == 0 && err[0] == '\0', "exit %d: %s", status, err);
	free(err);
}
END_TEST

START_TEST(test_watch_exec_runs_handler_per_event)
{
	struct stream	 s;
	struct run	 r;
	char		 dir[] = "/tmp/check_ctl.XXXXXX", script[128], out[128];
	char		 cmd[300], gen[32], addr[32], expect[2048], *got, *err;
	json_int_t	 ver[4];
	FILE		*f;
	json_t		*j;
	int		 status;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(script, sizeof(script), "%s/handler.sh", dir);
	snprintf(out, sizeof(out), "%s/events", dir);
	f = fopen(script, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "{ printf '%%s|%%s|%%s|%%s|%%s|%%s|%%s|%%s|' \"$CHITCHAT_EVENT\" "
	    "\"$CHITCHAT_NODE\" \"$CHITCHAT_GENERATION\" \"$CHITCHAT_ADDRESS\" "
	    "\"$CHITCHAT_KEY\" \"$CHITCHAT_VERSION\" \"$CHITCHAT_STATUS\" "
	    "\"$CHITCHAT_SELF$CHITCHAT_REASON\"; cat; echo '<end>'; } >> '%s'\n"
	    "[ \"$CHITCHAT_KEY\" != we/fail ]\n", out);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "sh %s", script);

	CTL(&r, &a, "info", "--json");
	j = parse_json(r.out, "info");
	snprintf(gen, sizeof(gen), "%lld",
	    (long long)json_integer_value(json_object_get(j, "generation")));
	snprintf(addr, sizeof(addr), "%s",
	    json_string_value(json_object_get(j, "gossip_address")));
	json_decref(j);
	run_free(&r);

	/* inherited CHITCHAT_* variables do not reach the handler */
	stream_start_env(&s, &a, ARGS("CHITCHAT_REASON=inherited"),
	    ARGS("watch", "keys", "we/", "--exec", cmd));
	sleep_ms(300);
	{
		const char *keys[4] = { "we/1", "we/fail", "we/2", "we/1" };
		const char *vals[4] = { "v1", "boom", "two\nlines", NULL };

		for (int i = 0; i < 4; i++) {
			if (vals[i] != NULL)
				CTL(&r, &a, "set", keys[i], vals[i], "--json");
			else
				CTL(&r, &a, "del", keys[i], "--json");
			j = parse_json(r.out, "set/del");
			ver[i] = json_integer_value(json_object_get(j, "version"));
			json_decref(j);
			run_free(&r);
		}
	}
	snprintf(expect, sizeof(expect),
	    "set|ctl-a|%s|%s|we/1|%lld|set|ctl-a|v1<end>\n"
	    "set|ctl-a|%s|%s|we/fail|%lld|set|ctl-a|boom<end>\n"
	    "set|ctl-a|%s|%s|we/2|%lld|set|ctl-a|two\nlines<end>\n"
	    "deleted|ctl-a|%s|%s|we/1|%lld|deleted|ctl-a|<end>\n",
	    gen, addr, (long long)ver[0], gen, addr, (long long)ver[1],
	    gen, addr, (long long)ver[2], gen, addr, (long long)ver[3]);
	got = NULL;
	for (int64_t end = now_ms() + 10000; now_ms() < end; sleep_ms(20)) {
		free(got);
		got = slurp(out);
		if (strlen(got) >= strlen(expect))
			break;
	}
	ck_assert_str_eq(got, expect);
	free(got);
	status = stream_stop(&s, SIGINT, &err);
	ck_assert_msg(status == 0, "exit %d: %s", status, err);
	/* the failing handler is reported, and watching went on */
	ck_assert_msg(strstr(err, "handler exited with status 1") != NULL &&
	    strstr(err, "we/fail") != NULL && count_lines(err) == 1, "%s", err);
	free(err);
	rm_rf(dir);
}
END_TEST

/* ---- output under a terminal ---------------------------------------------------------- */

/* Runs chitchatctl under a pseudo-terminal; its whole output (caller frees). */
static char *
run_pty(const char *const *env, const char *const *args, int *status)
{
	struct winsize	 ws = { 50, 200, 0, 0 };
	const char	*argv[16];
	char		**envp = make_env(env), *out;
	size_t		 len = 0, cap = 65536;
	int		 master, argc = 0;
	pid_t		 pid;

	argv[argc++] = ctl_bin;
	for (int i = 0; args[i] != NULL && argc < 15; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	pid = forkpty(&master, NULL, NULL, &ws);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execve(ctl_bin, (char **)argv, envp);
		_exit(127);
	}
	free(envp);
	for (int64_t end = now_ms() + 10000; now_ms() < end;) {
		struct pollfd	pfd = { master, POLLIN, 0 };
		ssize_t		n;

		if (poll(&pfd, 1, 100) != 1)
			continue;
		n = read(master, out + len, cap - len - 1);
		if (n <= 0)
			break;		/* EIO: the child is gone */
		len += (size_t)n;
		ck_assert_uint_lt(len, cap - 1);
	}
	out[len] = '\0';
	close(master);
	*status = wait_exit(pid, 5000);
	return out;
}

/* s without ANSI escape sequences, "\r\n" as "\n" (in place). */
static void
strip_ansi(char *s)
{
	char *o = s;

	for (char *p = s; *p != '\0'; p++) {
		if (*p == '\033' && p[1] == '[') {
			p += 2;
			while (*p != '\0' && !(*p >= '@' && *p <= '~'))
				p++;
			if (*p == '\0')
				break;
			continue;
		}
		if (*p == '\r')
			continue;
		*o++ = *p;
	}
	*o = '\0';
}

/* Offset of needle in the line-th line of s (0-based), or -1. */
static long
column_of(const char *s, int line, const char *needle)
{
	const char *l = s, *end, *hit;

	for (int i = 0; i < line && l != NULL; i++)
		l = strchr(l, '\n') != NULL ? strchr(l, '\n') + 1 : NULL;
	if (l == NULL)
		return -1;
	end = strchr(l, '\n');
	hit = strstr(l, needle);
	if (hit == NULL || (end != NULL && hit > end))
		return -1;
	return hit - l;
}

START_TEST(test_table_under_pty)
{
	char		 sockarg[160], *out, addr[32];
	const char	*term[] = { "TERM=xterm", NULL };
	const char	*nocolor[] = { "TERM=xterm", "NO_COLOR=1", NULL };
	int		 status;

	snprintf(sockarg, sizeof(sockarg), "--socket=%s", a.sock);

	/* colour: header in bold, statuses coloured; aligned columns */
	out = run_pty(term, ARGS(sockarg, "members", "--all"), &status);
	ck_assert_msg(status == 0, "exit %d: %s", status, out);
	ck_assert_msg(strstr(out, "\033[1mNODE\033[0m") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\033[1;36mself\033[0m") != NULL, "%s", out);
	ck_assert_msg(strstr(out, "\033[32mlive\033[0m") != NULL, "%s", out);
	ck_assert_ptr_null(strchr(out, '\t'));
	strip_ansi(out);
	ck_assert_uint_eq(count_lines(out), 3);
	ck_assert_msg(strncmp(out, "NODE   GENERATION  ", 19) == 0, "%s", out);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)a.port);
	ck_assert_int_eq(column_of(out, 0, "ADDRESS"), column_of(out, 1, addr));
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)b.port);
	ck_assert_int_eq(column_of(out, 0, "ADDRESS"), column_of(out, 2, addr));
	ck_assert_int_eq(column_of(out, 0, "STATUS"), column_of(out, 1, "self"));
	ck_assert_int_eq(column_of(out, 0, "STATUS"), column_of(out, 2, "live"));
	ck_assert_int_gt(column_of(out, 0, "KEYS"), column_of(out, 0, "LAST SEEN"));
	free(out);

	/* NO_COLOR: the same table without any escape sequence */
	out = run_pty(nocolor, ARGS(sockarg, "keys", "service/", "--all"), &status);
	ck_assert_int_eq(status, 0);
	ck_assert_msg(strchr(out, '\033') == NULL, "colour with NO_COLOR: %s", out);
	ck_assert_ptr_null(strchr(out, '\t'));
	strip_ansi(out);
	ck_assert_uint_eq(count_lines(out), 3);
	ck_assert(strncmp(out, "NODE   KEY          VALUE          VERSION  STATUS  EXPIRES\n",
	    60) == 0);
	ck_assert_int_eq(column_of(out, 0, "VALUE"), column_of(out, 1, "10.0.0.5"));
	ck_assert_int_eq(column_of(out, 0, "VALUE"), column_of(out, 2, "10.0.0.6"));
	ck_assert_int_eq(column_of(out, 0, "STATUS"), column_of(out, 2, "set"));
	free(out);

	/* --json on a terminal is still one compact line */
	out = run_pty(term, ARGS(sockarg, "info", "--json"), &status);
	ck_assert_int_eq(status, 0);
	ck_assert(out[0] == '{');
	ck_assert_uint_eq(count_lines(out), 1);
	free(out);
}
END_TEST

/* ---- socket path, daemon down --------------------------------------------------------- */

START_TEST(test_socket_from_environment)
{
	struct run	 r;
	char		 env_a[160], env_b[160];
	json_t		*j;

	snprintf(env_a, sizeof(env_a), "CHITCHATD_SOCKET=%s", a.sock);
	snprintf(env_b, sizeof(env_b), "CHITCHATD_SOCKET=%s", b.sock);
	run_full(&r, ARGS(env_b), NULL, 0, ARGS("info", "--json"));
	assert_ok(&r, "CHITCHATD_SOCKET=b info");
	j = parse_json(r.out, "info");
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_id")), "ctl-b");
	json_decref(j);
	run_free(&r);
	/* --socket wins over the environment */
	run_full(&r, ARGS(env_b), NULL, 0, ARGS("-s", a.sock, "get", "service/web"));
	assert_ok(&r, "--socket over CHITCHATD_SOCKET");
	ck_assert_str_eq(r.out, "10.0.0.5:8080\n");
	run_free(&r);
	run_full(&r, ARGS("CHITCHATD_SOCKET=/nonexistent/chitchatd.sock"), NULL, 0,
	    ARGS("info"));
	assert_fails(&r, 3, "/nonexistent/chitchatd.sock", "CHITCHATD_SOCKET absent");
	run_free(&r);
	(void)env_a;
}
END_TEST

START_TEST(test_daemon_down_exits_3)
{
	static const char *const cmds[][6] = {
		{ "info" }, { "members" }, { "get", "k" }, { "set", "k", "v" },
		{ "del", "k" }, { "keys" }, { "metrics" }, { "watch", "keys" },
		{ "watch", "members" }, { "wait", "--members", "1" },
		{ "wait", "--key", "k", "--timeout", "5s" },
	};
	char		dir[] = "/tmp/check_ctl.XXXXXX", sock[64];
	struct run	r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/absent.sock", dir);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char	*argv[10] = { "--socket", sock };
		int		 n = 2;

		for (int k = 0; k < 6 && cmds[i][k] != NULL; k++)
			argv[n++] = cmds[i][k];
		argv[n] = NULL;
		run_full(&r, NULL, NULL, 0, argv);
		assert_fails(&r, 3, sock, cmds[i][0]);
		ck_assert_ptr_nonnull(strstr(r.err, "cannot connect"));
		run_free(&r);
	}
	/* usage errors are found first: 2, not 3 */
	run_full(&r, NULL, NULL, 0, ARGS("--socket", sock, "get"));
	assert_fails(&r, 2, NULL, "get without key, daemon down");
	run_free(&r);
	rmdir(dir);
}
END_TEST

/* ---- fake daemons: protocol mismatch, silence ----------------------------------------- */

/*
 * Listens on dir/fake.sock, runs chitchatctl info against it, answers
 * its first line with `reply` (NULL: never answers); returns its run.
 */
static void
fake_daemon(struct run *r, const char *reply, const char *timeout)
{
	char			 dir[] = "/tmp/check_ctl.XXXXXX", sock[64], line[4096];
	struct sockaddr_un	 sun;
	posix_spawn_file_actions_t fa;
	const char		*argv[8];
	int			 lfd, cfd, fout = tmp_fd(), ferr = tmp_fd(), n = 0;
	pid_t			 pid;
	ssize_t			 got = 0;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/fake.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	argv[n++] = ctl_bin;
	argv[n++] = "--socket";
	argv[n++] = sock;
	if (timeout != NULL) {
		argv[n++] = "--timeout";
		argv[n++] = timeout;
	}
	argv[n++] = "info";
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fout, 1);
	posix_spawn_file_actions_adddup2(&fa, ferr, 2);
	ck_assert_int_eq(posix_spawn(&pid, ctl_bin, &fa, NULL, (char **)argv,
	    environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	{
		struct pollfd pfd = { lfd, POLLIN, 0 };

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	}
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	while (got == 0 || line[got - 1] != '\n') {
		struct pollfd	pfd = { cfd, POLLIN, 0 };
		ssize_t		k;

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		k = read(cfd, line + got, sizeof(line) - 1 - (size_t)got);
		ck_assert_int_gt(k, 0);
		got += k;
	}
	line[got] = '\0';
	ck_assert_msg(strstr(line, "\"method\":\"hello\"") != NULL &&
	    strstr(line, "\"protocol\":1") != NULL, "first line: %s", line);
	if (reply != NULL)
		ck_assert_int_eq(write(cfd, reply, strlen(reply)), (ssize_t)strlen(reply));
	r->status = wait_exit(pid, 10000);
	if (r->status == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	close(cfd);
	close(lfd);
	r->out = slurp_fd(fout, &r->out_len);
	r->err = slurp_fd(ferr, &r->err_len);
	close(fout);
	close(ferr);
	unlink(sock);
	rmdir(dir);
}

START_TEST(test_protocol_mismatch_exits_3)
{
	struct run r;

	fake_daemon(&r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32002,"
	    "\"message\":\"protocol version mismatch\",\"data\":{\"reason\":"
	    "\"this daemon speaks protocol 2, not 1\",\"protocol\":2}}}\n", NULL);
	assert_fails(&r, 3, "protocol version mismatch", "hello refused");
	ck_assert_ptr_nonnull(strstr(r.err, "protocol 2"));
	run_free(&r);
	fake_daemon(&r, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"protocol\":2,"
	    "\"version\":\"9.0\",\"node_id\":\"x\"}}\n", NULL);
	assert_fails(&r, 3, "speaks protocol 2", "hello answered with protocol 2");
	run_free(&r);
	fake_daemon(&r, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32005,"
	    "\"message\":\"too many clients\"}}\n", NULL);
	assert_fails(&r, 3, "too many clients", "too many clients");
	run_free(&r);
	/* a daemon that never answers: the request timeout */
	fake_daemon(&r, NULL, "300ms");
	assert_fails(&r, 3, "no reply", "silent daemon");
	run_free(&r);
}
END_TEST

/* ---- members come and go: --dead, watch members, wait on a change --------------------- */

static bool
member_event(struct stream *s, const char *event, const char *node)
{
	char line[8192];

	while (stream_line(s, 15000, line, sizeof(line))) {
		json_t	*j = parse_json(line, "watch members line");
		bool	 hit = strcmp(json_string_value(json_object_get(j, "event")),
			    event) == 0 && strcmp(json_string_value(json_object_get(j,
			    "node_id")), node) == 0;

		ck_assert(json_is_integer(json_object_get(j, "generation")));
		ck_assert(json_is_string(json_object_get(j, "address")));
		ck_assert(json_is_string(json_object_get(j, "status")));
		ck_assert(json_object_get(j, "heartbeat") != NULL);
		ck_assert(json_object_get(j, "max_version") != NULL);
		json_decref(j);
		if (hit)
			return true;
	}
	return false;
}

START_TEST(test_members_come_and_go)
{
	struct daemon	 x, y;
	struct stream	 watch, waiter;
	struct run	 r;
	char		 line[8192], *err;
	json_t		*j;
	int		 status;

	find_bins();
	/* x judges quickly: a low phi threshold and a short prior interval */
	daemon_start(&x, "ctl-x", 0, ARGS("--phi-threshold", "3",
	    "--initial-interval", "100ms"));
	stream_start(&watch, &x, ARGS("watch", "members", "--json"));
	ck_assert(stream_line(&watch, 10000, line, sizeof(line)));
	j = parse_json(line, "snapshot");
	ck_assert_str_eq(json_string_value(json_object_get(j, "event")), "snapshot");
	ck_assert_str_eq(json_string_value(json_object_get(j, "node_id")), "ctl-x");
	json_decref(j);
	stream_start(&waiter, &x, ARGS("wait", "--members", "2", "--timeout", "20s"));
	sleep_ms(200);
	ck_assert_int_eq(waitpid(waiter.pid, NULL, WNOHANG), 0);

	daemon_start(&y, "ctl-y", x.port, NULL);
	ck_assert_msg(member_event(&watch, "added", "ctl-y"), "no added");
	ck_assert_msg(member_event(&watch, "joined", "ctl-y"), "no joined");
	status = stream_stop(&waiter, 0, &err);
	ck_assert_msg(status == 0, "wait --members 2: exit %d: %s", status, err);
	free(err);

	kill(y.pid, SIGKILL);
	waitpid(y.pid, NULL, 0);
	y.pid = 0;
	ck_assert_msg(member_event(&watch, "dead", "ctl-y"), "no dead");
	CTL(&r, &x, "members", "--dead");
	assert_ok(&r, "members --dead");
	ck_assert_msg(strncmp(r.out, "ctl-y\t", 6) == 0, "%s", r.out);
	ck_assert_ptr_nonnull(strstr(r.out, "\tdead\t"));
	run_free(&r);
	CTL(&r, &x, "members");
	ck_assert_msg(strstr(r.out, "ctl-y") == NULL, "%s", r.out);
	run_free(&r);
	CTL(&r, &x, "members", "--all", "--json");
	j = parse_json(r.out, "members --all");
	ck_assert_uint_eq(json_array_size(json_object_get(j, "members")), 2);
	json_decref(j);
	run_free(&r);

	/* the daemon goes away: the watch ends with 3 */
	daemon_stop(&x);
	status = stream_stop(&watch, 0, &err);
	ck_assert_msg(status == 3 && strstr(err, "closed the connection") != NULL,
	    "exit %d: %s", status, err);
	free(err);
	daemon_stop(&y);
}
END_TEST

/* ---- no daemon needed ------------------------------------------------------------------ */

START_TEST(test_usage_errors_exit_2)
{
	static const char *const cases[][6] = {
		{ NULL }, { "frobnicate" }, { "--bogus", "info" }, { "info", "--bogus" },
		{ "info", "extra" }, { "get" }, { "get", "a", "b" },
		{ "get", "k", "--node" }, { "set", "k" }, { "set", "\xc3\xa9", "v" },
		{ "set", "k", "\xff" }, { "del" }, { "members", "--all", "--dead" },
		{ "keys", "--node", "n", "--all" }, { "keys", "a", "b" },
		{ "watch" }, { "watch", "bogus" }, { "watch", "members", "x" },
		{ "watch", "keys", "--exec", "" }, { "wait" },
		{ "wait", "--members", "x" }, { "wait", "--members", "0" },
		{ "wait", "--members", "2", "--key", "k" },
		{ "wait", "--members", "2", "--node", "n" },
		{ "wait", "--key", "k", "--node", "n", "--all" },
		{ "--timeout", "5", "info" }, { "--timeout", "soon", "info" },
		{ "-t", "-1s", "info" }, { "--socket", "", "info" },
		{ "info", "--json=yes" }, { "set", "k", "v", "--mark-ttl", "--mark-ttl" },
		{ "set", "k", "v", "--ttl" }, { "set", "k", "v", "--ttl", "0" },
		{ "set", "k", "v", "--ttl", "soon" }, { "set", "k", "v", "--ttl", "30" },
		{ "set", "k", "v", "--ttl", "366d" }, { "set", "k", "v", "--ttl", "-1s" },
		{ "set", "k", "v", "--ttl", "1s", "--mark-ttl" }, { "del", "k", "--ttl" },
		{ "help", "nothing" }, { "-Z" }, { "version", "x" },
	};
	struct run r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *argv[10] = { "--socket", "/nonexistent/x.sock" };
		int n = 2;

		for (int k = 0; k < 6 && cases[i][k] != NULL; k++)
			argv[n++] = cases[i][k];
		argv[n] = NULL;
		run_full(&r, NULL, NULL, 0, argv);
		ck_assert_msg(r.status == 2, "case %zu (%s %s): exit %d: %s", i,
		    cases[i][0] ? cases[i][0] : "", cases[i][0] && cases[i][1] ?
		    cases[i][1] : "", r.status, r.err);
		assert_fails(&r, 2, NULL, "usage");
		ck_assert_msg(strstr(r.err, "usage: chitchatctl") != NULL, "%s", r.err);
		run_free(&r);
	}
	/* a socket path too long for sun_path */
	{
		char	long_path[200];

		memset(long_path, 'x', sizeof(long_path) - 1);
		long_path[0] = '/';
		long_path[sizeof(long_path) - 1] = '\0';
		run_full(&r, NULL, NULL, 0, ARGS("--socket", long_path, "info"));
		assert_fails(&r, 2, "too long", "long socket path");
		run_free(&r);
	}
}
END_TEST

START_TEST(test_version_help_and_completion)
{
	struct run	 r;
	json_t		*j;
	char		 path[PATH_MAX + 64], *compl, *p, cmdname[32], *list, *tok;
	int		 ncmds = 0;

	find_bins();
	run_full(&r, NULL, NULL, 0, ARGS("version", "--json"));
	assert_ok(&r, "version --json");
	j = parse_json(r.out, "version");
	ck_assert(json_is_string(json_object_get(j, "version")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "protocol")), 1);
	json_decref(j);
	run_free(&r);

	ck_assert_msg(repo_dir[0] != '\0', "no ctl/chitchatctl.bash-completion found");
	snprintf(path, sizeof(path), "%s/ctl/chitchatctl.bash-completion", repo_dir);
	compl = slurp(path);
	/* the completion's command list: " name ... " */
	p = strstr(compl, "\n_chitchatctl_commands='");
	ck_assert_ptr_nonnull(p);
	p += strlen("\n_chitchatctl_commands='");
	list = calloc(1, strlen(p) + 3);
	list[0] = ' ';
	memcpy(list + 1, p, (size_t)(strchr(p, '\'') - p));
	strcat(list, " ");
	/* each word of it is a command or an alias */
	{
		char *copy = strdup(list), *save = NULL;

		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save)) {
			struct run h;

			run_full(&h, NULL, NULL, 0, ARGS("help", tok));
			ck_assert_msg(h.status == 0, "completion offers %s", tok);
			run_free(&h);
		}
		free(copy);
	}
	run_full(&r, NULL, NULL, 0, ARGS("help"));
	assert_ok(&r, "help");
	/* every command of the table: in the completion, with working help */
	for (p = strstr(r.out, "\ncommands:\n"); p != NULL && (p = strstr(p, "\n  ")) != NULL;
	    p += 3) {
		struct run	 h;
		char		 word[40];

		if (p[3] == ' ' || p[3] == '-')
			continue;
		if (sscanf(p + 3, "%31[a-z-]", cmdname) != 1)
			break;
		ncmds++;
		snprintf(word, sizeof(word), " %s ", cmdname);
		ck_assert_msg(strstr(list, word) != NULL,
		    "command %s missing from the bash completion", cmdname);
		run_full(&h, NULL, NULL, 0, ARGS("help", cmdname));
		assert_ok(&h, "help COMMAND");
		ck_assert(strncmp(h.out, "usage: chitchatctl ", 19) == 0);
		run_free(&h);
		run_full(&h, NULL, NULL, 0, ARGS(cmdname, "--help"));
		assert_ok(&h, "COMMAND --help");
		run_free(&h);
	}
	ck_assert_int_eq(ncmds, 16);
	run_free(&r);
	free(list);
	free(compl);
	if (system("command -v bash >/dev/null 2>&1") == 0) {
		char cmd[PATH_MAX + 512];

		snprintf(cmd, sizeof(cmd), "bash -n '%s'", path);
		ck_assert_int_eq(system(cmd), 0);
		/* completing "chitchatctl wa" offers wait and watch */
		snprintf(cmd, sizeof(cmd), "bash -c '. \"%s\"; COMP_WORDS=(chitchatctl wa); "
		    "COMP_CWORD=1; _chitchatctl; [ \"${COMPREPLY[*]}\" = \"watch wait\" ] || "
		    "[ \"${COMPREPLY[*]}\" = \"wait watch\" ]'", path);
		ck_assert_msg(system(cmd) == 0, "completion of wa");
	}
}
END_TEST

static Suite *
ctl_suite(void)
{
	Suite	*s = suite_create("ctl");
	TCase	*cluster = tcase_create("cluster");
	TCase	*alone = tcase_create("alone");

	tcase_add_unchecked_fixture(cluster, cluster_up, cluster_down);
	tcase_set_timeout(cluster, 60);
	tcase_add_test(cluster, test_info_plain_and_json);
	tcase_add_test(cluster, test_members_plain_and_json);
	tcase_add_test(cluster, test_metrics);
	tcase_add_test(cluster, test_get_set_del);
	tcase_add_test(cluster, test_set_ttl_expires);
	tcase_add_test(cluster, test_set_from_stdin);
	tcase_add_test(cluster, test_keys);
	tcase_add_test(cluster, test_wait_members);
	tcase_add_test(cluster, test_wait_key);
	tcase_add_test(cluster, test_watch_keys_json_in_order);
	tcase_add_test(cluster, test_watch_text_and_no_snapshot);
	tcase_add_test(cluster, test_watch_reader_gone_exits_0);
	tcase_add_test(cluster, test_watch_exec_runs_handler_per_event);
	tcase_add_test(cluster, test_table_under_pty);
	tcase_add_test(cluster, test_socket_from_environment);
	suite_add_tcase(s, cluster);

	tcase_add_unchecked_fixture(alone, find_bins, NULL);
	tcase_set_timeout(alone, 60);
	tcase_add_test(alone, test_usage_errors_exit_2);
	tcase_add_test(alone, test_daemon_down_exits_3);
	tcase_add_test(alone, test_protocol_mismatch_exits_3);
	tcase_add_test(alone, test_members_come_and_go);
	tcase_add_test(alone, test_version_help_and_completion);
	suite_add_tcase(s, alone);
	return s;
}

CC_TEST_MAIN(ctl_suite)
