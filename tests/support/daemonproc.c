/*
 * daemonproc.c: chitchatd as a child process of a test (see daemonproc.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "daemonproc.h"

extern char **environ;

/*
 * Every daemon's directory is made under one base directory, made by
 * dproc_setup() (a Check unchecked fixture: it runs in the runner, not in
 * the test's child) and removed with all it holds by dproc_teardown(),
 * even after a failed test: Check ends a failed test's child with
 * _exit(), so the child cannot clean up after itself. Its daemons die
 * with it (PR_SET_PDEATHSIG). Without the fixture, a base is made on
 * first use and left behind only by a failed test.
 */
static char base[64];

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
	if (dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void
dproc_setup(void)
{
	if (base[0] != '\0')
		return;
	snprintf(base, sizeof(base), "/tmp/chitchatd-e2e.XXXXXX");
	if (mkdtemp(base) == NULL) {
		perror("dproc_setup: mkdtemp");
		abort();
	}
}

void
dproc_teardown(void)
{
	rm_tree(base);
	base[0] = '\0';
}

const char *
dproc_base(void)
{
	dproc_setup();
	return base;
}

const char *
dproc_daemon_path(void)
{
	static char	path[PATH_MAX + 16];
	char		self[PATH_MAX];
	ssize_t		n;
	char		*p;

	if (path[0] != '\0')
		return path;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	/* <build>/tests/<dir>/check_x -> <build> */
	for (int i = 0; i < 3 && (p = strrchr(self, '/')) != NULL; i++)
		*p = '\0';
	snprintf(path, sizeof(path), "%s/chitchatd", self);
	ck_assert_msg(access(path, X_OK) == 0, "no daemon at %s", path);
	return path;
}

int
dproc_udp_socket(uint16_t *port)
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
	*port = ntohs(sin.sin_port);
	return fd;
}

/* Whether TCP port `port` of 127.0.0.1 can be bound now. */
static bool
tcp_port_is_free(uint16_t port)
{
	struct sockaddr_in	sin;
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool			ok;

	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	ok = bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(fd);
	return ok;
}

/* Free for UDP and for TCP: chitchatd's catch-up listens on TCP at the gossip port. */
uint16_t
dproc_free_port(void)
{
	uint16_t	port = 0;

	for (int attempt = 0; attempt < 50; attempt++) {
		int fd = dproc_udp_socket(&port);
		bool ok = tcp_port_is_free(port);

		close(fd);
		if (ok)
			break;
	}
	return port;
}

static int
decode_status(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int
dproc_wait_exit(pid_t pid, int timeout_ms)
{
	int status;

	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return decode_status(status);
		if (r == -1 && errno != EINTR)
			return -1;
		if (waited < timeout_ms)
			usleep(10000);
	}
	return -1;
}

void
dproc_kill_hard(pid_t pid)
{
	if (dproc_wait_exit(pid, 0) == -1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* fork + exec, so the child can ask to die with us. */
static pid_t
spawn(struct dproc *d, char *const *argv)
{
	pid_t	parent = getpid(), pid;
	int	in, out, err;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	/* child: only async-signal-safe calls from here */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
		_exit(127);
	in = open("/dev/null", O_RDONLY);
	out = open(d->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	err = open(d->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in == -1 || out == -1 || err == -1 || dup2(in, 0) == -1 || dup2(out, 1) == -1 ||
	    dup2(err, 2) == -1)
		_exit(127);
	execve(argv[0], argv, environ);
	_exit(127);
}

bool
dproc_running(struct dproc *d)
{
	int	status;
	pid_t	r;

	if (d->pid <= 0)
		return false;
	r = waitpid(d->pid, &status, WNOHANG);
	if (r == d->pid) {
		d->status = decode_status(status);
		d->pid = -1;
		return false;
	}
	return true;
}

const char *
dproc_log(const struct dproc *d)
{
	static char	buf[3001];
	FILE		*f = fopen(d->err, "r");
	long		 size;
	size_t		 n;

	buf[0] = '\0';
	if (f == NULL)
		return "(no stderr file)";
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	if (size > (long)sizeof(buf) - 1)
		fseek(f, size - (long)sizeof(buf) + 1, SEEK_SET);
	else
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void
dproc_start(struct dproc *d, const char *node_id, const char *const *args)
{
	const char	*path = dproc_daemon_path();
	char		*argv[64];
	int		 argc;
	struct stat	 st;

	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->status = -1;
	snprintf(d->node_id, sizeof(d->node_id), "%s", node_id);
	dproc_setup();
	snprintf(d->dir, sizeof(d->dir), "%s/%.24s.XXXXXX", base, node_id);
	ck_assert_msg(mkdtemp(d->dir) != NULL, "mkdtemp %s: %s", d->dir, strerror(errno));
	snprintf(d->sock, sizeof(d->sock), "%s/ctl.sock", d->dir);
	snprintf(d->out, sizeof(d->out), "%s/stdout", d->dir);
	snprintf(d->err, sizeof(d->err), "%s/stderr", d->dir);
	for (int attempt = 0; attempt < 5; attempt++) {
		d->port = dproc_free_port();
		snprintf(d->listen, sizeof(d->listen), "127.0.0.1:%u", (unsigned)d->port);
		argc = 0;
		argv[argc++] = (char *)path;
		argv[argc++] = (char *)"--node-id";
		argv[argc++] = d->node_id;
		argv[argc++] = (char *)"--listen";
		argv[argc++] = d->listen;
		argv[argc++] = (char *)"--control-socket";
		argv[argc++] = d->sock;
		for (int i = 0; args != NULL && args[i] != NULL; i++) {
			ck_assert_int_lt(argc, 63);
			argv[argc++] = (char *)args[i];
		}
		argv[argc] = NULL;
		d->pid = spawn(d, argv);
		d->status = -1;
		for (int waited = 0; waited <= DPROC_START_MS; waited += 10) {
			if (stat(d->sock, &st) == 0 && S_ISSOCK(st.st_mode))
				return;
			if (!dproc_running(d))
				break;
			usleep(10000);
		}
		if (dproc_running(d)) {
			dproc_kill_hard(d->pid);
			ck_abort_msg("%s: no control socket after %d ms: %s", d->node_id,
			    DPROC_START_MS, dproc_log(d));
		}
		/* exit 1 "cannot listen on": the free port was taken meanwhile */
		if (d->status != 1 || strstr(dproc_log(d), "cannot listen on") == NULL)
			break;
	}
	ck_abort_msg("%s: exited with status %d at start: %s", d->node_id, d->status,
	    dproc_log(d));
}

void
dproc_stop(struct dproc *d)
{
	struct stat	st;
	int		status;

	ck_assert_msg(d->pid > 0, "%s: not running (status %d): %s", d->node_id, d->status,
	    dproc_log(d));
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	status = dproc_wait_exit(d->pid, DPROC_EXIT_MS);
	if (status == -1) {
		dproc_kill_hard(d->pid);
		d->pid = -1;
		ck_abort_msg("%s: did not exit within %d ms of SIGTERM: %s", d->node_id,
		    DPROC_EXIT_MS, dproc_log(d));
	}
	d->pid = -1;
	d->status = status;
	ck_assert_msg(status == 0, "%s: exit status %d after SIGTERM (ASan/UBSan report?): %s",
	    d->node_id, status, dproc_log(d));
	ck_assert_msg(lstat(d->sock, &st) == -1 && errno == ENOENT,
	    "%s: control socket %s still there after exit", d->node_id, d->sock);
	rm_tree(d->dir);
}

void
dproc_kill9(struct dproc *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		d->status = dproc_wait_exit(d->pid, DPROC_EXIT_MS);
		ck_assert_int_eq(d->status, 128 + SIGKILL);
		d->pid = -1;
	}
	rm_tree(d->dir);
}

/* ---- clusters of daemons ------------------------------------------------------ */

long long
dproc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
dproc_new_cluster_id(char *buf, size_t len, const char *tag)
{
	static int seq;

	snprintf(buf, len, "%s-%d-%d-%lld", tag, (int)getpid(), seq++, dproc_now_ms());
}

void
dproc_start_in(struct dproc *d, const char *node_id, const char *cluster_id,
    const struct dproc *seed, const char *const *timing, const char *const *extra)
{
	const char	*args[64];
	size_t		 n = 0;

	args[n++] = "--cluster-id";
	args[n++] = cluster_id;
	for (size_t i = 0; timing != NULL && timing[i] != NULL; i++) {
		ck_assert_uint_lt(n, 60);
		args[n++] = timing[i];
	}
	if (seed != NULL) {
		args[n++] = "--seed";
		args[n++] = seed->listen;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		ck_assert_uint_lt(n, 62);
		args[n++] = extra[i];
	}
	args[n] = NULL;
	dproc_start(d, node_id, args);
}
