/*
 * control.h: the Unix-domain control sockets (JSON-RPC 2.0, one compact
 * JSON object per line). See docs/API.md.
 *
 * control.c owns the listeners (the main socket and the optional
 * read-only one) and the clients: line framing, limits (max_line,
 * max_clients per socket, max_output), peer credentials and the write
 * access decision, deferred frees. rpc.c answers lines (and asks
 * control_client_access() before a write method); subscribe.c pushes
 * notifications through control_client_notify().
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <jansson.h>

struct ccd;
struct bufferevent;
struct evbuffer;
struct event;
struct sub;
struct sub_pending;
struct subscriptions;

#define CONTROL_MAX_SUBSCRIPTIONS	64	/* per client */
#define CONTROL_FLUSH_TIMEOUT_S		5	/* a closing client's last lines */
#define CONTROL_ACCEPT_BACKOFF_MS	1000	/* accept paused on EMFILE */
#define CONTROL_ACCEPT_BATCH		32	/* accepts per wake-up */
#define CONTROL_DENIED_WARN_MS		60000	/* one "refused" warning a minute */

enum ctl_state {
	CTL_ACTIVE,		/* reading requests, writing replies */
	CTL_CLOSING,		/* no more input: flushing its last lines */
	CTL_DEAD,		/* waiting to be freed (out of its callbacks) */
};

struct ctl_client {
	TAILQ_ENTRY(ctl_client)	 entry;
	struct control		*control;	/* back pointer */
	uint64_t		 id;		/* for logs */
	enum ctl_state		 state;
	struct bufferevent	*bev;		/* NULL: detached (tests) */
	struct evbuffer		*detached_out;	/* output of a detached client */
	size_t			 scanned;	/* input bytes already searched for '\n' */
	bool			 busy;		/* handling a request line */
	bool			 close_after_reply;
	bool			 throttled;	/* reading paused: output over max_output */
	bool			 eof;		/* the client shut its write side */
	bool			 hello;		/* a hello succeeded */
	bool			 readonly;	/* came through the read-only socket */
	struct control_listener	*listener;	/* NULL: detached */
	/* peer credentials, read once at accept (SO_PEERCRED, SO_PEERGROUPS) */
	bool			 has_creds;
	pid_t			 pid;
	uid_t			 uid;
	gid_t			 gid;		/* primary */
	gid_t			*groups;	/* supplementary, owned */
	size_t			 n_groups;
	/* subscribe.c */
	TAILQ_HEAD(ctl_subs, sub) subs;
	size_t			 n_subs;
	TAILQ_HEAD(ctl_pending, sub_pending) pending;	/* notifications held while busy */
};

TAILQ_HEAD(ctl_clients, ctl_client);

/* One listening socket. */
struct control_listener {
	struct control		*control;	/* back pointer */
	int			 fd;		/* -1 if none */
	char			*path;		/* bound socket path, NULL if none */
	bool			 readonly;	/* write methods refused on it */
	size_t			 n_clients;	/* its clients: max_clients each */
	struct event		*accept_ev;
	struct event		*backoff_ev;
};

enum {
	CONTROL_MAIN,			/* control-socket */
	CONTROL_READONLY,		/* control-readonly-socket */
	CONTROL_N_LISTENERS
};

struct control {
	struct ccd		*ccd;
	struct control_listener	 listeners[CONTROL_N_LISTENERS];
	struct event		*reap_ev;
	struct ctl_clients	 clients;	/* ACTIVE and CLOSING */
	struct ctl_clients	 dead;		/* freed by reap_ev */
	size_t			 n_clients;	/* on both lists, every socket */
	uint64_t		 next_client_id;
	size_t			 max_line;
	size_t			 max_clients;
	size_t			 max_output;
	struct subscriptions	*subs;
	uint64_t		(*now)(void *);	/* the engine's clock (ms) */
	void			*now_arg;
	/* access control: the daemon's own uid may always write */
	uid_t			 self_uid;
	uint64_t		 denied_warn_ms;	/* when the last warning was logged */
	uint64_t		 denied_quiet;	/* refusals not logged since then */
	bool			 denied_warned;
	/* counters beyond struct ccd_counters */
	uint64_t		 client_errors;	/* connections lost mid-stream */
	uint64_t		 accept_errors;	/* EMFILE and friends */
};

/* Whether a client may call write methods, and if not, why. */
enum control_access {
	CONTROL_MAY_WRITE,
	CONTROL_READONLY_SOCKET,	/* it came through control-readonly-socket */
	CONTROL_NOT_LISTED,		/* allow-lists are set and it is on none */
};

/*
 * Creates the socket at cfg->control_socket, and the read-only one at
 * cfg->control_readonly_socket if set (stale-socket check first, mode and
 * group applied), and starts accepting. The main socket is disabled when
 * its path is "" or "none"; with neither socket, returns 0 and
 * ccd->control stays NULL. On error, -1 and *cause (caller frees), and
 * nothing is left behind.
 */
int	control_open(struct ccd *, char **cause);
/* Closes every client, the listeners, and unlinks the socket paths. */
void	control_close(struct ccd *);

/*
 * The control state without a socket: limits from ccd->cfg (0 means the
 * CCD_DEFAULT_* value), subscriptions, the clock. Sets ccd->control.
 * control_open() calls it; tests call it to drive rpc.c without sockets.
 * Returns NULL + ENOMEM. Freed by control_close().
 */
struct control	*control_new(struct ccd *);
/* Replaces the clock used for ages and uptime (default ccd_now_ms). */
void	control_set_clock(struct control *, uint64_t (*now)(void *), void *arg);
uint64_t control_now(const struct control *);

/*
 * A client on a connected non-blocking socket (owned from now on), or a
 * detached one when fd is -1: its output accumulates in
 * control_client_output() and it is freed by control_client_destroy() or
 * control_close(). NULL + errno (the fd is closed).
 */
struct ctl_client *control_client_new(struct control *, int fd);
void	control_client_destroy(struct ctl_client *);
struct evbuffer *control_client_output(struct ctl_client *);
size_t	control_client_queued(struct ctl_client *);
/* Handles one request line as if read from the socket (no '\n'). */
void	control_client_line(struct ctl_client *, const char *line, size_t len);

/* Queues one reply (encoded once, '\n'-terminated). Dropped unless ACTIVE. */
void	control_client_reply(struct ctl_client *, const json_t *);
/*
 * Queues one notification line made of head and body (body is shared by
 * every recipient and ends with '\n'). Past max_output the client lags:
 * its queue is cut back to a line boundary, one "lagged" notification is
 * added, and it is closed. Returns false if the client is no longer ACTIVE.
 */
bool	control_client_notify(struct ctl_client *, const char *head, size_t head_len,
	    const char *body, size_t body_len);
/* Stops the client: with flush, once its queued lines are sent (bounded). */
void	control_client_close(struct ctl_client *, bool flush);

/*
 * Whether c may call write methods now. With no control-write-users and
 * no control-write-groups, every client of the main socket may; with
 * either, only uid 0, the daemon's own uid, the listed users and members
 * (primary or supplementary group, as read at accept) of the listed
 * groups. A client of the read-only socket never may. The lists are read
 * from ccd->cfg at each call, so a reload applies at once.
 */
enum control_access control_client_access(const struct ctl_client *);
/*
 * Counts a write call refused to c (chitchatd_control_denied_total) and
 * logs a warning naming pid, uid and method, at most once every
 * CONTROL_DENIED_WARN_MS with the number of refusals not logged since.
 */
void	control_client_denied(struct ctl_client *, const char *method, enum control_access);

#endif /* CONTROL_H */
