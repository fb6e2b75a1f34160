/*
 * check_daemon_process.c: chitchatd as a process: configuration errors,
 * --check-config, SIGHUP reloads, seeds given as host names, sd_notify,
 * SIGTERM.
 *
 * Each test starts build/chitchatd (the binary next to this test's build
 * directory) with stdout and stderr in temporary files, on 127.0.0.1 with
 * free ports found by binding port 0, with its own temporary directory,
 * and watches what it does from plain sockets. Every wait is bounded.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cc_wire.h"
#include "daemonproc.h"
#include "testutil.h"

extern char **environ;

/* Finds <build>/chitchatd once, in the runner (see daemonproc.h). */
static void
find_daemon(void)
{
	(void)dproc_daemon_path();
}

static const char *extra_env;	/* one more NAME=value for the next spawn() */

/* ---- temporary files ----------------------------------------------------------- */

struct tmp {
	char	dir[64];
	char	out[128];	/* the daemon's stdout */
	char	err[128];	/* the daemon's stderr */
	char	conf[128];	/* a config file, if written */
};

static void
tmp_init(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/chitchatd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->out, sizeof(t->out), "%s/stdout", t->dir);
	snprintf(t->err, sizeof(t->err), "%s/stderr", t->dir);
	snprintf(t->conf, sizeof(t->conf), "%s/chitchatd.conf", t->dir);
}

static void
tmp_clear(struct tmp *t)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void __attribute__((format(printf, 2, 3)))
write_conf(struct tmp *t, const char *fmt, ...)
{
	char	path[160];
	FILE	*f;
	va_list	ap;

	/* written aside and renamed: the daemon never reads half a file */
	snprintf(path, sizeof(path), "%s.new", t->conf);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(path, t->conf), 0);
}

/* The whole file (caller frees); "" if absent. */
static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*s;
	long	 n;

	if (f == NULL)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
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

/* Waits (bounded) until the file contains needle. */
static bool
wait_text(const char *path, const char *needle, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		char	*s = slurp(path);
		bool	 found = strstr(s, needle) != NULL;

		free(s);
		if (found)
			return true;
		usleep(20000);
	}
	return false;
}

/* ---- processes --------------------------------------------------------------------- */

/*
 * Starts the daemon with argv (NULL-terminated, without argv[0]), stdout
 * and stderr into t's files, NOTIFY_SOCKET=notify if not NULL.
 */
static pid_t
spawn(struct tmp *t, const char *notify, const char *const *args)
{
	posix_spawn_file_actions_t	 fa;
	char				*argv[64], *envp[256], notify_env[160];
	int				 argc = 0, envc = 0;
	pid_t				 pid;

	argv[argc++] = (char *)dproc_daemon_path();
	for (; *args != NULL; args++) {
		ck_assert_int_lt(argc, 63);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	for (char **e = environ; *e != NULL && envc < 250; e++)
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 && strncmp(*e, "JOURNAL_STREAM=", 15) != 0 &&
		    strncmp(*e, "WATCHDOG_", 9) != 0)
			envp[envc++] = *e;
	if (notify != NULL) {
		snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", notify);
		envp[envc++] = notify_env;
	}
	if (extra_env != NULL)
		envp[envc++] = (char *)extra_env;
	envp[envc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, t->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, t->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(posix_spawn(&pid, dproc_daemon_path(), &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	return pid;
}

static void
stop_daemon(pid_t pid)
{
	kill(pid, SIGTERM);
	if (dproc_wait_exit(pid, DPROC_EXIT_MS) != 0) {
		dproc_kill_hard(pid);
		ck_abort_msg("daemon did not exit 0 within %d ms of SIGTERM", DPROC_EXIT_MS);
	}
}

/* ---- sockets ---------------------------------------------------------------------------- */

/* Receives one gossip message within timeout_ms; false on timeout. */
static bool
recv_msg(int fd, int timeout_ms, struct cc_msg *m)
{
	static uint8_t	buf[CC_MAX_DATAGRAM];
	struct pollfd	pfd = { fd, POLLIN, 0 };
	ssize_t		n;

	if (poll(&pfd, 1, timeout_ms) != 1)
		return false;
	n = recv(fd, buf, sizeof(buf), 0);
	ck_assert_int_gt(n, 0);
	memset(m, 0, sizeof(*m));
	ck_assert_int_eq(cc_msg_decode(buf, (size_t)n, m, NULL, NULL), 0);
	return true;
}

/* Whether a SYN arrives on fd within timeout_ms. */
static bool
got_syn(int fd, int timeout_ms)
{
	struct cc_msg	m;
	bool		syn = false;

	while (!syn && recv_msg(fd, timeout_ms, &m)) {
		syn = m.type == CC_MSG_SYN;
		cc_msg_clear(&m);
	}
	return syn;
}

static void
drain(int fd)
{
	struct cc_msg m;

	while (recv_msg(fd, 0, &m))
		cc_msg_clear(&m);
}

/* A SYN from 127.0.0.1:port (a node named node-<port>). */
static void
send_syn(int fd, uint16_t port, uint16_t to)
{
	struct cc_digest	d;
	struct cc_digest_entry	entry;
	struct cc_wbuf		w;
	struct sockaddr_in	sin;

	memset(&entry, 0, sizeof(entry));
	test_id(&entry.id, port);
	entry.heartbeat = 1;
	d.entries = &entry;
	d.n = 1;
	cc_wbuf_init(&w);
	cc_msg_put_header(&w, CC_MSG_SYN);
	cc_digest_encode(&w, &d);
	cc_wbuf_str(&w, "default-cluster", strlen("default-cluster"));
	ck_assert_int_eq(w.err, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(to);
	ck_assert_int_eq(sendto(fd, w.data, w.len, 0, (struct sockaddr *)&sin, sizeof(sin)),
	    (ssize_t)w.len);
	cc_wbuf_clear(&w);
	cc_id_clear(&entry.id);
}

/* An abstract-namespace datagram socket standing in for systemd's. */
static int
notify_socket(char *name, size_t len)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	static int		seq;

	ck_assert_int_ge(fd, 0);
	snprintf(name, len, "@chitchatd-test-notify.%d.%d", (int)getpid(), seq++);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name + 1, strlen(name) - 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
	return fd;
}

/* Waits (bounded) for a notification containing needle. */
static bool
wait_notify(int fd, const char *needle, int timeout_ms)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	char		buf[512];
	ssize_t		n;

	for (int i = 0; i < 50; i++) {
		if (poll(&pfd, 1, timeout_ms) != 1)
			return false;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		if (strstr(buf, needle) != NULL)
			return true;
	}
	return false;
}

/* ---- invalid configuration: exit 2, one line, nothing started ---------------------------- */

START_TEST(test_bad_configuration_exits_2_with_one_line)
{
	static const struct { const char *args[6]; const char *conf, *expect; } cases[] = {
		{ { "--gossip-interval", "soon" }, NULL, "chitchatd: --gossip-interval soon: " },
		{ { "--no-such-option" }, NULL, "chitchatd: --no-such-option: unknown" },
		{ { "--seed" }, NULL, "chitchatd: --seed: missing argument" },
		{ { "--set", "novalue" }, NULL, "chitchatd: --set novalue: expected KEY=VALUE" },
		{ { "--listen", "0.0.0.0:7000" }, NULL, "chitchatd: --listen 0.0.0.0:7000: " },
		{ { "--max-datagram-size", "70000" }, NULL, "chitchatd: --max-datagram-size 70000: " },
		{ { "--log-level", "loud" }, NULL, "chitchatd: --log-level loud: " },
		{ { "--required-key", "" }, NULL, "chitchatd: --required-key \"\": " },
		{ { "--config", "/nonexistent/chitchatd.conf" }, NULL,
		    "chitchatd: --config /nonexistent/chitchatd.conf: No such file" },
		{ { NULL }, "node-id = a\nbogus = 1\n", ":2: bogus: unknown option" },
		{ { NULL }, "# ok\nseed = 127.0.0.1:1\nseed = 127.0.0.1\n",
		    ":3: seed = 127.0.0.1: expected HOST:PORT" },
		{ { NULL }, "[main]\n", ":1: sections are not used" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tmp	 t;
		const char	*args[16];
		char		*err, *out;
		int		 n = 0;
		uint16_t	 port = dproc_free_port();
		char		 listen[32];
		pid_t		 pid;

		tmp_init(&t);
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
		args[n++] = "--listen";
		args[n++] = listen;
		args[n++] = "--control-socket";
		args[n++] = "none";
		if (cases[i].conf != NULL) {
			write_conf(&t, "%s", cases[i].conf);
			args[n++] = "--config";
			args[n++] = t.conf;
		}
		for (int j = 0; cases[i].args[j] != NULL; j++)
			args[n++] = cases[i].args[j];
		args[n] = NULL;
		pid = spawn(&t, NULL, args);
		ck_assert_int_eq(dproc_wait_exit(pid, 5000), 2);
		err = slurp(t.err);
		out = slurp(t.out);
		ck_assert_msg(count_lines(err) == 1, "case %zu: %zu lines: %s", i,
		    count_lines(err), err);
		ck_assert_msg(strstr(err, cases[i].expect) != NULL, "case %zu: \"%s\" lacks \"%s\"",
		    i, err, cases[i].expect);
		ck_assert_str_eq(out, "");
		if (cases[i].conf != NULL)
			ck_assert_msg(strncmp(err, "chitchatd: ", 11) == 0 &&
			    strncmp(err + 11, t.conf, strlen(t.conf)) == 0, "no file name: %s", err);
		free(err);
		free(out);
		/* nothing was started: the port is still free */
		{
			struct sockaddr_in	sin;
			int			fd = socket(AF_INET, SOCK_DGRAM, 0);

			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			sin.sin_port = htons(port);
			ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
			close(fd);
		}
		tmp_clear(&t);
	}
}
END_TEST

START_TEST(test_check_config_prints_the_effective_configuration)
{
	struct tmp	 t;
	const char	*args[] = { "--config", NULL, "--node-id", "from-cli", "--check-config",
			    "--seed", "127.0.0.1:7003", NULL };
	char		*out, *err;
	pid_t		 pid;

	tmp_init(&t);
	write_conf(&t, "node-id = from-file\ngossip-interval = 250ms\nseed = localhost:7001\n"
	    "seed = localhost:7002\nset = role=db\ncontrol-socket = none\n");
	args[1] = t.conf;
	pid = spawn(&t, NULL, args);
	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 0);
	out = slurp(t.out);
	err = slurp(t.err);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_nonnull(strstr(out, "\nnode-id = from-cli\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ngossip-interval = 250ms\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nseed = 127.0.0.1:7003\n"));
	ck_assert_ptr_null(strstr(out, "localhost:7001"));	/* the CLI list replaced it */
	ck_assert_ptr_nonnull(strstr(out, "\nset = role=db\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ncontrol-socket = none\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nlog-level = info\n"));
	free(out);
	free(err);
	/* --help and --version go to stdout, exit 0 */
	{
		const char *help[] = { "--help", NULL }, *version[] = { "-V", NULL };

		pid = spawn(&t, NULL, help);
		ck_assert_int_eq(dproc_wait_exit(pid, 5000), 0);
		ck_assert(wait_text(t.out, "--required-key KEY", 0));
		pid = spawn(&t, NULL, version);
		ck_assert_int_eq(dproc_wait_exit(pid, 5000), 0);
		ck_assert(wait_text(t.out, "chitchatd ", 0));
	}
	tmp_clear(&t);
}
END_TEST

/* ---- running daemons ------------------------------------------------------------------------ */

START_TEST(test_notify_ready_status_and_stopping_then_exit_0)
{
	struct tmp	 t;
	char		 name[96], listen[32], sock[160];
	uint16_t	 port = dproc_free_port();
	int		 nfd = notify_socket(name, sizeof(name));
	const char	*args[] = { "--listen", listen, "--control-socket", sock,
			    "--gossip-interval", "100ms", NULL };
	pid_t		 pid;
	struct stat	 st;

	tmp_init(&t);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
	snprintf(sock, sizeof(sock), "%s/chitchatd.sock", t.dir);
	extra_env = "WATCHDOG_USEC=400000";
	pid = spawn(&t, name, args);
	extra_env = NULL;
	if (!wait_notify(nfd, "READY=1", 5000)) {
		dproc_kill_hard(pid);
		ck_abort_msg("no READY=1: %s", slurp(t.err));
	}
	ck_assert(wait_notify(nfd, "STATUS=1 live node", 5000));
	ck_assert(wait_notify(nfd, "WATCHDOG=1", 5000));	/* every 200 ms */
	ck_assert(wait_notify(nfd, "WATCHDOG=1", 5000));
	kill(pid, SIGTERM);
	ck_assert(wait_notify(nfd, "STOPPING=1", 5000));
	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 0);
	ck_assert_int_eq(stat(sock, &st), -1);		/* the control socket is gone */
	ck_assert(wait_text(t.err, "SIGTERM: shutting down", 0));
	close(nfd);
	tmp_clear(&t);
}
END_TEST

START_TEST(test_sigint_exits_0)
{
	struct tmp	 t;
	char		 listen[32];
	const char	*args[] = { "--listen", listen, "--control-socket", "none", NULL };
	pid_t		 pid;

	tmp_init(&t);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)dproc_free_port());
	pid = spawn(&t, NULL, args);
	ck_assert(wait_text(t.err, "info: chitchatd ", 5000));
	kill(pid, SIGINT);
	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 0);
	tmp_clear(&t);
}
END_TEST

START_TEST(test_hostname_seed_resolved_asynchronously)
{
	struct tmp	 t;
	uint16_t	 sport;
	int		 fd = dproc_udp_socket(&sport);
	char		 listen[32], seed[32];
	const char	*args[] = { "--listen", listen, "--seed", seed, "--seed",
			    "no-such-seed.invalid:7000", "--gossip-interval", "100ms",
			    "--control-socket", "none", NULL };
	pid_t		 pid;

	tmp_init(&t);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)dproc_free_port());
	snprintf(seed, sizeof(seed), "localhost:%u", (unsigned)sport);
	pid = spawn(&t, NULL, args);
	if (!got_syn(fd, 5000)) {
		dproc_kill_hard(pid);
		ck_abort_msg("the seed localhost:%u got no SYN: %s", (unsigned)sport, slurp(t.err));
	}
	/* and again: the seed stays in the set */
	drain(fd);
	ck_assert(got_syn(fd, 3000));
	stop_daemon(pid);
	close(fd);
	tmp_clear(&t);
}
END_TEST

START_TEST(test_sighup_reloads_log_level_and_seeds)
{
	struct tmp	 t;
	uint16_t	 pa, pb, pc, dport = dproc_free_port();
	int		 a = dproc_udp_socket(&pa), b = dproc_udp_socket(&pb), c = dproc_udp_socket(&pc);
	char		 name[96], expect[160];
	int		 nfd = notify_socket(name, sizeof(name));
	const char	*args[] = { "--config", NULL, NULL };
	pid_t		 pid;
	char		*err;

	tmp_init(&t);
	args[1] = t.conf;
	write_conf(&t, "listen = 127.0.0.1:%u\nnode-id = hup\ncontrol-socket = none\n"
	    "gossip-interval = 100ms\nlog-level = warn\nseed = 127.0.0.1:%u\n",
	    (unsigned)dport, (unsigned)pa);
	pid = spawn(&t, name, args);
	if (!wait_notify(nfd, "READY=1", 5000) || !got_syn(a, 5000)) {
		dproc_kill_hard(pid);
		ck_abort_msg("daemon not up: %s", slurp(t.err));
	}
	ck_assert(!got_syn(b, 300));			/* b is not a seed yet */
	/* at warn, nothing below warn is logged */
	send_syn(c, pc, dport);
	usleep(300000);
	err = slurp(t.err);
	ck_assert_msg(strstr(err, "debug:") == NULL && strstr(err, "info:") == NULL,
	    "logged below warn: %s", err);
	free(err);

	/* new level, new seed list, and an option that needs a restart */
	write_conf(&t, "listen = 127.0.0.1:%u\nnode-id = hup\ncontrol-socket = none\n"
	    "gossip-interval = 200ms\nlog-level = debug\nseed = 127.0.0.1:%u\n",
	    (unsigned)dport, (unsigned)pb);
	kill(pid, SIGHUP);
	ck_assert(wait_notify(nfd, "RELOADING=1", 5000));
	ck_assert(wait_notify(nfd, "READY=1", 5000));
	ck_assert(wait_text(t.err, "info: log level: warn -> debug", 5000));
	snprintf(expect, sizeof(expect), "info: seeds: 127.0.0.1:%u -> 127.0.0.1:%u",
	    (unsigned)pa, (unsigned)pb);
	ck_assert(wait_text(t.err, expect, 5000));
	ck_assert(wait_text(t.err, "need a restart to take effect: gossip-interval", 5000));
	/* the new seed gets SYNs, the old one no longer does */
	ck_assert(got_syn(b, 5000));
	drain(a);
	usleep(100000);
	drain(a);
	ck_assert(!got_syn(a, 600));
	/* debug lines now appear: a node we introduce is logged as added */
	send_syn(c, (uint16_t)(pc + 1), dport);
	snprintf(expect, sizeof(expect), "debug: node node-%u:", (unsigned)(pc + 1));
	if (!wait_text(t.err, expect, 5000))
		ck_abort_msg("no \"%s\" after the reload: %s", expect, slurp(t.err));

	/* a config file that no longer parses: logged, nothing changes */
	write_conf(&t, "listen = 127.0.0.1:%u\nbogus = 1\n", (unsigned)dport);
	kill(pid, SIGHUP);
	ck_assert(wait_text(t.err, ":2: bogus: unknown option; the running configuration is unchanged",
	    5000));
	ck_assert(got_syn(b, 5000));
	ck_assert_int_eq(dproc_wait_exit(pid, 0), -1);	/* still running */
	stop_daemon(pid);
	close(a);
	close(b);
	close(c);
	close(nfd);
	tmp_clear(&t);
}
END_TEST

START_TEST(test_port_taken_exits_1)
{
	struct tmp	 t;
	uint16_t	 port;
	int		 fd = dproc_udp_socket(&port);
	char		 listen[32];
	const char	*args[] = { "--listen", listen, "--control-socket", "none", NULL };
	pid_t		 pid;
	char		*err;

	tmp_init(&t);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
	pid = spawn(&t, NULL, args);
	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 1);
	err = slurp(t.err);
	ck_assert_ptr_nonnull(strstr(err, "cannot listen on"));
	free(err);
	close(fd);
	tmp_clear(&t);
}
END_TEST

START_TEST(test_control_socket_failure_exits_1)
{
	struct tmp	 t;
	char		 listen[32], sock[160];
	const char	*args[] = { "--listen", listen, "--control-socket", sock, NULL };
	pid_t		 pid;
	char		*err;

	tmp_init(&t);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)dproc_free_port());
	snprintf(sock, sizeof(sock), "%s/no-such-dir/chitchatd.sock", t.dir);
	pid = spawn(&t, NULL, args);
	ck_assert_int_eq(dproc_wait_exit(pid, 5000), 1);
	err = slurp(t.err);
	ck_assert_msg(strstr(err, "error: control socket: ") != NULL, "%s", err);
	free(err);
	tmp_clear(&t);
}
END_TEST

/* ---- --required-key, seen through the control socket (docs/API.md) ------------------ */

static int
control_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert_uint_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
		close(fd);
		usleep(20000);
	}
	ck_abort_msg("cannot connect to %s", path);
	return -1;
}

/* Sends one request line, returns the reply line (bounded wait). */
static void
control_call(int fd, const char *request, char *reply, size_t len)
{
	struct pollfd	pfd = { fd, POLLIN, 0 };
	size_t		used = 0;
	ssize_t		n;

	ck_assert_int_eq(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	ck_assert_int_eq(write(fd, "\n", 1), 1);
	while (used == 0 || reply[used - 1] != '\n') {
		ck_assert_msg(poll(&pfd, 1, 5000) == 1, "no reply to %s", request);
		n = read(fd, reply + used, len - 1 - used);
		ck_assert_int_gt(n, 0);
		used += (size_t)n;
		ck_assert_uint_lt(used, len - 1);
	}
	reply[used] = '\0';
}

START_TEST(test_required_key_gates_the_published_live_set)
{
	struct tmp	 t;
	char		 listen[32], sock[160], reply[4096];
	const char	*args[] = { "--listen", listen, "--control-socket", sock, "--required-key",
			    "ready", "--gossip-interval", "100ms", NULL };
	pid_t		 pid;
	int		 fd;
	bool		 ready = false;

	tmp_init(&t);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)dproc_free_port());
	snprintf(sock, sizeof(sock), "%s/chitchatd.sock", t.dir);
	pid = spawn(&t, NULL, args);
	fd = control_connect(sock, 5000);
	control_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"hello\","
	    "\"params\":{\"protocol\":1}}", reply, sizeof(reply));
	ck_assert_msg(strstr(reply, "\"result\"") != NULL, "hello: %s", reply);
	usleep(300000);		/* a few rounds: self is live, but lacks the key */
	control_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"info\"}", reply,
	    sizeof(reply));
	ck_assert_msg(strstr(reply, "\"live\":1,") != NULL && strstr(reply, "\"ready\":0") != NULL,
	    "before: %s", reply);
	control_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"set\","
	    "\"params\":{\"key\":\"ready\",\"value\":\"yes\"}}", reply, sizeof(reply));
	ck_assert_msg(strstr(reply, "\"result\"") != NULL, "set: %s", reply);
	for (int i = 0; i < 50 && !ready; i++) {
		usleep(100000);
		control_call(fd, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"info\"}", reply,
		    sizeof(reply));
		ready = strstr(reply, "\"ready\":1") != NULL;
	}
	ck_assert_msg(ready, "never published: %s", reply);
	close(fd);
	stop_daemon(pid);
	tmp_clear(&t);
}
END_TEST

static Suite *
daemon_process_suite(void)
{
	Suite	*s = suite_create("daemon_process");
	TCase	*tc = tcase_create("process");

	tcase_add_unchecked_fixture(tc, find_daemon, NULL);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_bad_configuration_exits_2_with_one_line);
	tcase_add_test(tc, test_check_config_prints_the_effective_configuration);
	tcase_add_test(tc, test_notify_ready_status_and_stopping_then_exit_0);
	tcase_add_test(tc, test_sigint_exits_0);
	tcase_add_test(tc, test_hostname_seed_resolved_asynchronously);
	tcase_add_test(tc, test_sighup_reloads_log_level_and_seeds);
	tcase_add_test(tc, test_port_taken_exits_1);
	tcase_add_test(tc, test_control_socket_failure_exits_1);
	tcase_add_test(tc, test_required_key_gates_the_published_live_set);
	suite_add_tcase(s, tc);
	return s;
}

CC_TEST_MAIN(daemon_process_suite)
