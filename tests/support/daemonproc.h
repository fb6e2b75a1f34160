/*
 * daemonproc.h: chitchatd as a child process of a test.
 *
 * The daemon is the binary of the test's own build directory
 * (<build>/tests/unit/check_x -> <build>/chitchatd, found through
 * /proc/self/exe), so the sanitizer build tests build/san/chitchatd. Each
 * daemon started by dproc_start() gets its own temporary directory (the
 * control socket, stdout and stderr files), a free UDP port on 127.0.0.1,
 * and dies with the test's process (PR_SET_PDEATHSIG) if the test fails
 * before stopping it. Every wait is bounded.
 */
#ifndef DAEMONPROC_H
#define DAEMONPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bounds generous enough for the ASan+UBSan build on a loaded machine. */
#define DPROC_START_MS	20000	/* spawn to control socket bound */
#define DPROC_EXIT_MS	15000	/* SIGTERM to exit (LeakSanitizer runs at exit) */

struct dproc {
	pid_t		pid;		/* -1 once reaped */
	int		status;		/* once reaped: exit status, or 128 + signal */
	uint16_t	port;		/* UDP gossip port on 127.0.0.1 */
	char		node_id[64];
	char		listen[32];	/* "127.0.0.1:<port>" */
	char		dir[96];	/* temporary directory */
	char		sock[128];	/* <dir>/ctl.sock */
	char		out[128];	/* <dir>/stdout */
	char		err[128];	/* <dir>/stderr */
};

/*
 * The base of the daemons' temporary directories: make it in the test
 * runner with tcase_add_unchecked_fixture(tc, dproc_setup, dproc_teardown)
 * so that it is removed even when a test fails (optional).
 */
void		 dproc_setup(void);
void		 dproc_teardown(void);
/* The base directory (made by dproc_setup() if need be): put other files there. */
const char	*dproc_base(void);
/* <build>/chitchatd (asserts that it exists). */
const char	*dproc_daemon_path(void);
/* A UDP socket bound to 127.0.0.1 on a free port. */
int		 dproc_udp_socket(uint16_t *port);
/* A port that was free a moment ago, for UDP and TCP. */
uint16_t	 dproc_free_port(void);
/* Exit status of pid within timeout_ms (128 + signal if killed), -1 if still running. */
int		 dproc_wait_exit(pid_t pid, int timeout_ms);
/* SIGKILL and reap, unless it already exited. */
void		 dproc_kill_hard(pid_t pid);

/*
 * Starts chitchatd --node-id node_id --listen 127.0.0.1:<free port>
 * --control-socket <dir>/ctl.sock, then args (NULL-terminated, may be
 * NULL), and waits until the control socket exists (the UDP socket is
 * bound before it). A port taken meanwhile by someone else is retried with
 * another one. Fails the test with the daemon's stderr if it does not come up.
 */
void		 dproc_start(struct dproc *, const char *node_id, const char *const *args);
/*
 * SIGTERM; asserts that the daemon exits 0 within DPROC_EXIT_MS (under
 * ASan a leak or error report makes the status non-zero) and that the
 * control socket is gone. Removes the temporary directory.
 */
void		 dproc_stop(struct dproc *);
/* SIGKILL, reap, remove the temporary directory. */
void		 dproc_kill9(struct dproc *);
/* Whether the daemon is still running. */
bool		 dproc_running(struct dproc *);
/* The last (up to 3000) bytes of the daemon's stderr, for failure messages. */
const char	*dproc_log(const struct dproc *);

/* ---- clusters of daemons ------------------------------------------------------ */

/* Monotonic milliseconds. */
long long	 dproc_now_ms(void);
/*
 * A cluster id of this test only ("<tag>-<pid>-<seq>-<ms>"), so that stray
 * daemons of other tests cannot join.
 */
void		 dproc_new_cluster_id(char *buf, size_t len, const char *tag);
/*
 * dproc_start() with "--cluster-id cluster_id", then timing (the test's
 * timing), then "--seed <seed's address>" if seed is not NULL, then extra;
 * timing and extra are NULL-terminated and may be NULL.
 */
void		 dproc_start_in(struct dproc *, const char *node_id, const char *cluster_id,
		    const struct dproc *seed, const char *const *timing, const char *const *extra);

#endif /* DAEMONPROC_H */
