/*
 * watch.c: `watch keys [PREFIX]` and `watch members`: one subscription
 * (docs/API.md, subscribe), printed as one record per line until
 * interrupted, or handed to a handler command, one event at a time, as
 * Serf's event handlers are.
 *
 * Every event becomes one JSON record first (the --json line); the text
 * line and the handler's environment are derived from it:
 *   keys:    {"event","node_id","generation","address","key","value",
 *             "version","status"}, event "snapshot" (the state at start),
 *             "set", "ttl_marked", "deleted" or "expired" (a deletion by
 *             the key's expiry: status "deleted");
 *            {"event":"reset","reason","node_id","generation","address",
 *             "entries":[...]} when a node's keys were replaced wholesale;
 *   members: {"event","node_id","generation","address","status",
 *             "heartbeat","max_version"}, event "snapshot" or a
 *             member_changed event (heartbeat and max_version null for
 *             "removed"), plus "graceful" for "left" and "forced" for
 *             "removed" when the daemon says so.
 *
 * SIGINT, SIGTERM and SIGHUP are blocked except while waiting for the
 * daemon (ppoll), so a record or a handler is never cut in half; they end
 * the watch quietly with status 0, as does a reader closing stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cc_ctlproto.h"
#include "cc_wire.h"
#include "chitchatctl.h"

extern char **environ;

static volatile sig_atomic_t watch_signal;

/* Variables set for a handler; any inherited value of these is removed. */
static const char *const handler_vars[] = {
	"CHITCHAT_EVENT", "CHITCHAT_NODE", "CHITCHAT_GENERATION",
	"CHITCHAT_ADDRESS", "CHITCHAT_KEY", "CHITCHAT_VERSION",
	"CHITCHAT_STATUS", "CHITCHAT_HEARTBEAT", "CHITCHAT_MAX_VERSION",
	"CHITCHAT_REASON", "CHITCHAT_SELF", "CHITCHAT_GRACEFUL", "CHITCHAT_FORCED",
	NULL,
};

struct watch {
	struct ctl	*ctl;
	bool		 keys;		/* else members */
	const char	*exec;		/* --exec CMD, or NULL */
	const char	*self;		/* this daemon's node id */
	sigset_t	 unblock;	/* the mask while waiting */
	sigset_t	 stops;		/* SIGINT, SIGTERM, SIGHUP */
};

static void
on_signal(int sig)
{
	watch_signal = sig;
}

int
cmd_watch_check(struct ctl *ctl)
{
	const char *what = ctl->args[0], *exec = ctl_opt(ctl, "exec");

	if (strcmp(what, "keys") != 0 && strcmp(what, "members") != 0)
		return ctl_usage_error(ctl->cmd, "watch: keys or members, not %s",
		    what);
	if (strcmp(what, "members") == 0 && ctl->nargs > 1)
		return ctl_usage_error(ctl->cmd,
		    "watch members: unexpected argument: %s", ctl->args[1]);
	if (ctl->nargs > 1 && !cc_utf8_is_valid(ctl->args[1],
	    strlen(ctl->args[1])))
		return ctl_usage_error(ctl->cmd,
		    "watch keys: PREFIX is not valid UTF-8");
	if (exec != NULL && exec[0] == '\0')
		return ctl_usage_error(ctl->cmd, "watch: --exec needs a command");
	return CTL_EXIT_OK;
}

/* ---- records -------------------------------------------------------------------- */

static void
copy_member(json_t *dst, const json_t *src, const char *name)
{
	json_t *v = json_object_get(src, name);

	json_object_set_new(dst, name, v != NULL ? json_deep_copy(v) :
	    json_null());
}

/* The record of a key entry (snapshot or key_changed). */
static json_t *
key_record(const char *event, const json_t *e, const char *status)
{
	static const char *const fields[] = { "node_id", "generation",
	    "address", "key", "value", "version", NULL };
	json_t *r = ctl_xjson(json_pack("{s:s}", "event", event));

	for (int i = 0; fields[i] != NULL; i++)
		copy_member(r, e, fields[i]);
	if (status != NULL)
		json_object_set_new(r, "status", ctl_xjson(json_string(status)));
	else
		copy_member(r, e, "status");
	return r;
}

static json_t *
reset_record(const json_t *p)
{
	static const char *const fields[] = { "reason", "node_id",
	    "generation", "address", "entries", NULL };
	json_t *r = ctl_xjson(json_pack("{s:s}", "event", "reset"));

	for (int i = 0; fields[i] != NULL; i++)
		copy_member(r, p, fields[i]);
	if (!json_is_array(json_object_get(r, "entries")))
		json_object_set_new(r, "entries", ctl_xjson(json_array()));
	return r;
}

static json_t *
member_record(const char *event, const json_t *m)
{
	static const char *const fields[] = { "node_id", "generation",
	    "address", "status", "heartbeat", "max_version", NULL };
	static const char *const flags[] = { "graceful", "forced", NULL };
	json_t *r = ctl_xjson(json_pack("{s:s}", "event", event));

	for (int i = 0; fields[i] != NULL; i++)
		copy_member(r, m, fields[i]);
	/* only where the daemon sends them: "left" and "removed" */
	for (int i = 0; flags[i] != NULL; i++)
		if (json_is_boolean(json_object_get(m, flags[i])))
			copy_member(r, m, flags[i]);
	return r;
}

static const char *
str_member(const json_t *o, const char *name)
{
	const char *s = json_string_value(json_object_get(o, name));

	return s != NULL ? s : "";
}

/* ---- output ------------------------------------------------------------------------ */

/* One tab-separated line (streamed, so never padded); the event coloured. */
static void
print_text(const struct watch *w, const json_t *r)
{
	const char	*event = str_member(r, "event");
	const char	*cells[7];
	char		 gen[32], hb[32], ver[32];
	char		*node = ctl_escape_member(r, "node_id");
	char		*a = NULL, *b = NULL;
	int		 n = 0;

	cells[n++] = node;
	if (strcmp(event, "reset") == 0) {
		a = ctl_escape_member(r, "reason");
		cells[n++] = a;
	} else if (w->keys) {
		a = ctl_escape_member(r, "key");
		b = ctl_escape_member(r, "value");
		cells[n++] = a;
		cells[n++] = b;
		cells[n++] = ctl_u64_member(r, "version", ver, sizeof(ver));
	} else {
		a = ctl_escape_member(r, "address");
		b = ctl_escape_member(r, "status");
		cells[n++] = ctl_u64_member(r, "generation", gen, sizeof(gen));
		cells[n++] = a;
		cells[n++] = b;
		cells[n++] = ctl_u64_member(r, "heartbeat", hb, sizeof(hb));
		/* one more field on the events that carry a flag */
		if (json_is_true(json_object_get(r, "graceful")))
			cells[n++] = "graceful";
		else if (json_is_true(json_object_get(r, "forced")))
			cells[n++] = "forced";
	}
	if (w->ctl->color && ctl_color_of(event) != NULL)
		printf("%s%s\033[0m", ctl_color_of(event), event);
	else
		fputs(event, stdout);
	for (int i = 0; i < n; i++) {
		putchar('\t');
		fputs(cells[i], stdout);
	}
	putchar('\n');
	free(node);
	free(a);
	free(b);
}

/* ---- handlers ----------------------------------------------------------------------- */

static bool
is_handler_var(const char *entry)
{
	for (int i = 0; handler_vars[i] != NULL; i++) {
		size_t n = strlen(handler_vars[i]);

		if (strncmp(entry, handler_vars[i], n) == 0 && entry[n] == '=')
			return true;
	}
	return false;
}

/* "NAME=value" (value cut at a NUL, which the environment cannot hold). */
static char *
env_entry(const char *name, const char *value)
{
	size_t	 len = strlen(name) + strlen(value) + 2;
	char	*e = ctl_xmalloc(len);

	snprintf(e, len, "%s=%s", name, value);
	return e;
}

static void
env_add(char **env, size_t *n, const char *name, const json_t *r,
    const char *member)
{
	const json_t	*v = json_object_get(r, member);
	char		 buf[32];

	if (json_is_string(v))
		env[(*n)++] = env_entry(name, json_string_value(v));
	else if (json_is_boolean(v))
		env[(*n)++] = env_entry(name, json_is_true(v) ? "true" : "false");
	else if (json_is_integer(v))
		env[(*n)++] = env_entry(name, ctl_u64_member(r, member, buf,
		    sizeof(buf)));
}

/* A memory file holding what the handler reads on stdin; -1 on error. */
static int
stdin_file(const char *data, size_t len)
{
	int fd = memfd_create("chitchatctl-event", MFD_CLOEXEC);

	if (fd == -1)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			close(fd);
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Runs the handler for record r and waits for it. Its failure is reported
 * on stderr and does not stop the watch; 0, or -1 if it could not run.
 */
static int
run_handler(const struct watch *w, const json_t *r)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 defaults;
	const char			*event = str_member(r, "event");
	const json_t			*value = json_object_get(r, "value");
	char				*argv[4], **env, *line = NULL;
	size_t				 n = 0, nenv = 0, len;
	pid_t				 pid;
	int				 fd, status, err;

	/* stdin: the value of a key event, else the record as a JSON line */
	if (w->keys && json_is_string(value))
		fd = stdin_file(json_string_value(value),
		    json_string_length(value));
	else {
		line = cc_ctl_encode(r, &len);
		fd = line != NULL ? stdin_file(line, len) : -1;
		free(line);
	}
	if (fd == -1) {
		ctl_warnx("watch: handler input: %s", strerror(errno));
		return -1;
	}
	while (environ[nenv] != NULL)
		nenv++;
	env = ctl_xmalloc((nenv + 16) * sizeof(*env));
	for (size_t i = 0; i < nenv; i++)
		if (!is_handler_var(environ[i]))
			env[n++] = environ[i];
	nenv = n;
	env_add(env, &n, "CHITCHAT_EVENT", r, "event");
	env_add(env, &n, "CHITCHAT_NODE", r, "node_id");
	env_add(env, &n, "CHITCHAT_GENERATION", r, "generation");
	env_add(env, &n, "CHITCHAT_ADDRESS", r, "address");
	env_add(env, &n, "CHITCHAT_KEY", r, "key");
	env_add(env, &n, "CHITCHAT_VERSION", r, "version");
	env_add(env, &n, "CHITCHAT_STATUS", r, "status");
	env_add(env, &n, "CHITCHAT_HEARTBEAT", r, "heartbeat");
	env_add(env, &n, "CHITCHAT_MAX_VERSION", r, "max_version");
	env_add(env, &n, "CHITCHAT_REASON", r, "reason");
	env_add(env, &n, "CHITCHAT_GRACEFUL", r, "graceful");
	env_add(env, &n, "CHITCHAT_FORCED", r, "forced");
	if (w->self != NULL)
		env[n++] = env_entry("CHITCHAT_SELF", w->self);
	env[n] = NULL;

	argv[0] = (char *)"sh";
	argv[1] = (char *)"-c";
	argv[2] = (char *)w->exec;
	argv[3] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO);
	posix_spawnattr_init(&attr);
	/* the handler gets default signals and an empty mask, not ours */
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGHUP);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setsigmask(&attr, &w->unblock);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK);
	fflush(stdout);
	err = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fd);
	for (size_t i = nenv; i < n; i++)
		free(env[i]);
	free(env);
	if (err != 0) {
		ctl_warnx("watch: cannot run /bin/sh: %s", strerror(err));
		return -1;
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			ctl_warnx("watch: waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	{
		char *node = ctl_escape_member(r, "node_id");
		char *key = ctl_escape_member(r, "key");

		if (WIFEXITED(status))
			ctl_warnx("watch: handler exited with status %d "
			    "(event %s, node %s%s%s)", WEXITSTATUS(status),
			    event, node, key[0] != '\0' ? ", key " : "", key);
		else
			ctl_warnx("watch: handler killed by signal %d "
			    "(event %s, node %s%s%s)", WTERMSIG(status),
			    event, node, key[0] != '\0' ? ", key " : "", key);
		free(node);
		free(key);
	}
	return 0;
}

/* Prints or handles one record (consumed). CTL_EXIT_OK, or -1 to stop quietly. */
static int
emit(const struct watch *w, json_t *r)
{
	bool	closed = false;
	int	rc;

	if (w->exec != NULL)
		(void)run_handler(w, r);
	else if (w->ctl->json)
		ctl_print_json(r);
	else
		print_text(w, r);
	json_decref(r);
	if ((rc = ctl_flush(&closed)) != CTL_EXIT_OK)
		return rc;
	return closed ? -1 : CTL_EXIT_OK;
}

/* ---- the loop ------------------------------------------------------------------------- */

static bool
stop_pending(const struct watch *w)
{
	sigset_t pending;

	if (watch_signal != 0)
		return true;
	if (sigpending(&pending) == -1)
		return false;
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&w->stops, s) == 1 &&
		    sigismember(&pending, s) == 1)
			return true;
	return false;
}

/* One notification; CTL_EXIT_OK to go on, -1 to stop quietly, or an exit code. */
static int
notification(const struct watch *w, const char *method, const json_t *p)
{
	const char *event = str_member(p, "event");

	if (strcmp(method, CC_CTL_LAGGED) == 0) {
		ctl_warnx("watch: the daemon dropped this watch: it fell "
		    "behind (more than its --max-output queued); run it again");
		return CTL_EXIT_FAIL;
	}
	if (w->keys && strcmp(method, CC_CTL_KEY_CHANGED) == 0)
		return emit(w, key_record(event, p, strcmp(event, "expired") == 0 ?
		    "deleted" : event));
	if (w->keys && strcmp(method, CC_CTL_KEYS_RESET) == 0)
		return emit(w, reset_record(p));
	if (!w->keys && strcmp(method, CC_CTL_MEMBER_CHANGED) == 0)
		return emit(w, member_record(event, p));
	return CTL_EXIT_OK;	/* a newer daemon's notification: ignored */
}

static int
watch_loop(struct watch *w, struct ctl_conn *c)
{
	struct cc_ctl_reply	 r;
	json_t			*msg;
	int			 rc;

	for (;;) {
		if (stop_pending(w))
			return CTL_EXIT_OK;
		if (ctl_conn_next(c, -1, &w->unblock, &msg) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET)
				ctl_warnx("watch: the daemon closed the "
				    "connection");
			else
				ctl_warnx("watch: %s: %s", w->ctl->socket,
				    strerror(errno));
			return CTL_EXIT_CONNECT;
		}
		rc = CTL_EXIT_OK;
		if (cc_ctl_reply_parse(msg, &r) == 0 &&
		    r.kind == CC_CTL_NOTIFICATION)
			rc = notification(w, r.method, r.params);
		json_decref(msg);
		if (rc == -1)
			return CTL_EXIT_OK;
		if (rc != CTL_EXIT_OK)
			return rc;
	}
}

int
cmd_watch(struct ctl *ctl)
{
	struct watch		 w;
	struct ctl_conn		 c;
	struct sigaction	 sa;
	json_t			*params, *res, *e;
	size_t			 i;
	int			 rc;

	memset(&w, 0, sizeof(w));
	w.ctl = ctl;
	w.keys = strcmp(ctl->args[0], "keys") == 0;
	w.exec = ctl_opt(ctl, "exec");
	sigemptyset(&w.stops);
	sigaddset(&w.stops, SIGINT);
	sigaddset(&w.stops, SIGTERM);
	sigaddset(&w.stops, SIGHUP);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: ppoll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigprocmask(SIG_BLOCK, &w.stops, &w.unblock);
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&w.stops, s) == 1)
			sigdelset(&w.unblock, s);

	if ((rc = ctl_connect(ctl, &c, -1)) != CTL_EXIT_OK)
		return rc;
	w.self = c.node_id;
	params = w.keys ? json_pack("{s:s,s:s}", "topic", "keys", "prefix",
	    ctl->nargs > 1 ? ctl->args[1] : "") :
	    json_pack("{s:s}", "topic", "members");
	rc = ctl_call(&c, "watch: subscribe", "subscribe", ctl_xjson(params),
	    &res, -1);
	if (rc != CTL_EXIT_OK) {
		ctl_conn_close(&c);
		return rc;
	}
	rc = CTL_EXIT_OK;
	if (!ctl_has(ctl, "no-snapshot"))
		json_array_foreach(json_object_get(res, "snapshot"), i, e) {
			if (stop_pending(&w))
				break;
			rc = emit(&w, w.keys ? key_record("snapshot", e, NULL) :
			    member_record("snapshot", e));
			if (rc != CTL_EXIT_OK)
				break;
		}
	json_decref(res);
	if (rc == CTL_EXIT_OK)
		rc = watch_loop(&w, &c);
	ctl_conn_close(&c);
	return rc == -1 ? CTL_EXIT_OK : rc;
}
