/*
 * chitchatctl.h: shared declarations of the chitchatctl tool: exit codes,
 * the command table entry, the parsed command line, the connection to the
 * daemon and the output helpers every command uses.
 *
 * Commands live in one flat table (ctl/commands.c) holding each command's
 * arguments, options and help, from which parsing, the usage text, `help`
 * and the argument checks are derived: adding a command is one table row
 * plus its functions. Everything is validated before connecting.
 */
#ifndef CHITCHATCTL_H
#define CHITCHATCTL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "cc_version.h"

#define CTL_VERSION	CHITCHATD_VERSION

/* Exit codes (documented in chitchatctl.1, EXIT STATUS). */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAIL		1	/* operation failed or refused */
#define CTL_EXIT_USAGE		2	/* bad command line, nothing was done */
#define CTL_EXIT_CONNECT	3	/* daemon unreachable, protocol mismatch */
#define CTL_EXIT_NOTFOUND	4	/* no such key or node */
#define CTL_EXIT_TIMEOUT	5	/* `wait` timed out */

/* Command flags. */
#define CMD_LOCAL	0x01	/* runs without connecting to the daemon */
#define CMD_MUTATES	0x02	/* changes daemon state */
#define CMD_STREAMS	0x04	/* prints records until interrupted */
#define CMD_WAITS	0x08	/* --timeout limits the condition, not requests */

/* Default request timeout, milliseconds. */
#define CTL_DEFAULT_TIMEOUT_MS	10000
/* Most options one command takes. */
#define CTL_MAX_OPTS		8

/* One option of a command: `--name` or `--name ARG`. */
struct ctl_opt {
	const char	*name;
	const char	*arg;		/* NULL: a flag; else the argument's name */
	const char	*help;
};

struct ctl;

struct ctl_command {
	const char		*name;
	const char		*alias;		/* another name, or NULL */
	const char		*args;		/* positional synopsis, may be "" */
	const char		*help;		/* one line */
	int			 min_args;	/* positional arguments */
	int			 max_args;	/* -1: no limit */
	int			 flags;		/* CMD_* */
	const struct ctl_opt	*opts;		/* NULL-terminated, or NULL */
	/* Checks the arguments before anything runs; returns CTL_EXIT_*. */
	int			(*check)(struct ctl *);
	/* Runs the command; returns CTL_EXIT_*. */
	int			(*exec)(struct ctl *);
};

/* Global options and the parsed command line, shared by every command. */
struct ctl {
	const char			*socket;	/* daemon's control socket */
	bool				 json;		/* --json */
	int64_t				 timeout_ms;	/* --timeout; -1 if not given */
	int64_t				 request_ms;	/* per request; -1: no limit */
	bool				 tty;		/* stdout is a terminal */
	bool				 color;		/* tty, and NO_COLOR unset */
	const struct ctl_command	*cmd;
	int				 nargs;		/* positional arguments */
	char				**args;
	const char			*optval[CTL_MAX_OPTS];	/* by cmd->opts index;
								 * "" for a set flag */
};

/* Terminated by an entry whose name is NULL. */
extern const struct ctl_command ctl_commands[];

/* ---- commands.c: table, parsing helpers, usage -------------------------------- */

/* By name or alias; NULL if none. */
const struct ctl_command *ctl_command_find(const char *);
void	ctl_usage(FILE *);
/* "usage: chitchatctl NAME ARGS [--opt ARG]..." for one command. */
void	ctl_command_usage(FILE *, const struct ctl_command *);
/* The usage line, the help line and each option's help of one command. */
void	ctl_command_help(FILE *, const struct ctl_command *);
/* Prints "chitchatctl: <message>" and the usage of c (or all); returns 2. */
int	ctl_usage_error(const struct ctl_command *c, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints "chitchatctl: <message>" on one line of stderr. */
void	ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
/* The value of option `name` of the running command, or NULL if not given. */
const char *ctl_opt(const struct ctl *, const char *name);
/* Whether option `name` was given. */
bool	ctl_has(const struct ctl *, const char *name);
/*
 * Parses a duration ("500ms", "10s", "1.5m", "2h", "1d", "0") into
 * milliseconds. -1 if malformed or over a year.
 */
int	ctl_parse_duration(const char *, int64_t *ms);
/* Parses a decimal integer in [min, max]. -1 if not one. */
int	ctl_parse_int(const char *, long long min, long long max, long long *);
/* Monotonic clock, milliseconds. */
int64_t	ctl_now_ms(void);

/* ---- client.c: the connection to the daemon ---------------------------------- */

struct ctl_conn {
	int		 fd;
	char		*buf;		/* bytes read, not yet consumed */
	size_t		 len;
	size_t		 cap;
	json_int_t	 next_id;
	char		*node_id;	/* this daemon's node id, from hello */
	const struct ctl *ctl;
};

/*
 * Connects to ctl->socket and says hello (protocol 1) within the request
 * timeout (or deadline_ms, if not -1 and sooner). CTL_EXIT_OK, or the exit
 * code after one line on stderr (CTL_EXIT_CONNECT: unreachable, refused,
 * mismatch).
 */
int	ctl_connect(const struct ctl *, struct ctl_conn *, int64_t deadline_ms);
void	ctl_conn_close(struct ctl_conn *);
/* Connect, one ctl_call(), close: the whole life of most commands. */
int	ctl_oneshot(const struct ctl *, const char *what, const char *method,
	    json_t *params, json_t **result);
/*
 * Calls method with params (stolen, may be NULL); *result is the owned
 * result. Daemon errors print "chitchatctl: <what>: <reason>" and return
 * CTL_EXIT_NOTFOUND for not_found, CTL_EXIT_FAIL otherwise; a lost
 * connection or a reply not received before the request timeout (or
 * deadline_ms, if not -1 and sooner) is CTL_EXIT_CONNECT, or
 * CTL_EXIT_TIMEOUT if deadline_ms passed first.
 */
int	ctl_call(struct ctl_conn *, const char *what, const char *method,
	    json_t *params, json_t **result, int64_t deadline_ms);
/*
 * Reads the next message (a notification, normally) before deadline_ms
 * (-1: none). While waiting, the signals of `unblock` (NULL: none changed)
 * are delivered. 0 and an owned *msg; -1 with errno ETIMEDOUT, EINTR (a
 * signal), ECONNRESET (the daemon closed), EBADMSG, EMSGSIZE or another.
 */
int	ctl_conn_next(struct ctl_conn *, int64_t deadline_ms,
	    const sigset_t *unblock, json_t **msg);

/* ---- output.c: tables, plain lines, JSON, colour ----------------------------- */

struct ctl_table;

/* A table of ncols columns (headers, if not NULL, shown only on a terminal). */
struct ctl_table *ctl_table_new(const struct ctl *, int ncols,
	    const char *const *headers);
/* Colours column col by its value (statuses and events), on a terminal. */
void	ctl_table_color_column(struct ctl_table *, int col);
/* Adds one row of ncols cells (copied). */
void	ctl_table_add(struct ctl_table *, const char *const *cells);
/* Prints (aligned on a terminal, tab-separated otherwise) and frees. */
void	ctl_table_print(struct ctl_table *);
/*
 * Bytes s[0..len) made printable on one line: backslash, tab, newline,
 * carriage return and other control characters become \\ \t \n \r \xHH.
 * Caller frees.
 */
char	*ctl_escape(const char *s, size_t len);
/* The escaped value of a JSON string member (caller frees; "" if absent). */
char	*ctl_escape_member(const json_t *, const char *member);
/* A u64 member as decimal text into buf ("-" if absent or null). */
const char *ctl_u64_member(const json_t *, const char *member, char *buf,
	    size_t len);
/* ANSI colour for a status or event word, or NULL. */
const char *ctl_color_of(const char *word);
/* Prints j as one compact JSON line. */
void	ctl_print_json(const json_t *);
/* With --json: prints res, frees it and returns true (the command is done). */
bool	ctl_json_done(struct ctl *, json_t *res);
/*
 * Flushes stdout. CTL_EXIT_OK, or CTL_EXIT_FAIL after a one-line message;
 * *closed (if not NULL) is set when the reader went away (EPIPE), which
 * is not an error.
 */
int	ctl_flush(bool *closed);
/* Allocation that cannot fail (exits 1 with a message). */
void	*ctl_xmalloc(size_t);
char	*ctl_xstrdup(const char *);
json_t	*ctl_xjson(json_t *);

/* ---- command implementations ------------------------------------------------- */

int	cmd_help(struct ctl *);
int	cmd_version(struct ctl *);
int	cmd_wire(struct ctl *);
int	cmd_wire_check(struct ctl *);
int	cmd_info(struct ctl *);
int	cmd_members(struct ctl *);
int	cmd_members_check(struct ctl *);
int	cmd_get(struct ctl *);
int	cmd_get_check(struct ctl *);
int	cmd_keys(struct ctl *);
int	cmd_keys_check(struct ctl *);
int	cmd_metrics(struct ctl *);
int	cmd_set(struct ctl *);
int	cmd_set_check(struct ctl *);
int	cmd_del(struct ctl *);
int	cmd_del_check(struct ctl *);
int	cmd_watch(struct ctl *);
int	cmd_watch_check(struct ctl *);
int	cmd_wait(struct ctl *);
int	cmd_wait_check(struct ctl *);
int	cmd_keyring(struct ctl *);
int	cmd_keyring_check(struct ctl *);
int	cmd_keygen(struct ctl *);
int	cmd_leave(struct ctl *);
int	cmd_force_leave(struct ctl *);
int	cmd_force_leave_check(struct ctl *);

#endif /* CHITCHATCTL_H */
