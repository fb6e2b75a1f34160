/*
 * control.h: the Unix-domain control socket (JSON-RPC 2.0, one compact
 * JSON object per line). See docs/API.md.
 *
 * control.c owns the listener and the clients: line framing, limits
 * (max_line, max_clients, max_output), peer credentials, deferred frees.
 * rpc.c answers lines; subscribe.c pushes notifications through
 * control_client_notify().
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
	bool			 has_creds;
	pid_t			 pid;		/* SO_PEERCRED */
	uid_t			 uid;
	gid_t			 gid;
	/* subscribe.c */
	TAILQ_HEAD(ctl_subs, sub) subs;
	size_t			 n_subs;
	TAILQ_HEAD(ctl_pending, sub_pending) pending;	/* notifications held while busy */
};

TAILQ_HEAD(ctl_clients, ctl_client);

struct control {
	struct ccd		*ccd;
	int			 fd;		/* listener, -1 if none */
	char			*path;		/* bound socket path, NULL if none */
	struct event		*accept_ev;
	struct event		*backoff_ev;
	struct event		*reap_ev;
	struct ctl_clients	 clients;	/* ACTIVE and CLOSING */
	struct ctl_clients	 dead;		/* freed by reap_ev */
	size_t			 n_clients;	/* on both lists */
	uint64_t		 next_client_id;
	size_t			 max_line;
	size_t			 max_clients;
	size_t			 max_output;
	struct subscriptions	*subs;
	uint64_t		(*now)(void *);	/* the engine's clock (ms) */
	void			*now_arg;
	/* counters beyond struct ccd_counters */
	uint64_t		 client_errors;	/* connections lost mid-stream */
	uint64_t		 accept_errors;	/* EMFILE and friends */
};

/*
 * Creates the socket at cfg->control_socket (stale-socket check first,
 * mode and group applied) and starts accepting. Disabled (returns 0) when
 * the path is "" or "none". On error, -1 and *cause (caller frees).
 */
int	control_open(struct ccd *, char **cause);
/* Closes every client, the listener, and unlinks the socket path. */
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

#endif /* CONTROL_H */
