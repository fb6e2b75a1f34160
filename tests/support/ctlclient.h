/*
 * ctlclient.h: a small blocking client of chitchatd's control socket for
 * tests (docs/API.md): one JSON-RPC 2.0 message per '\n'-terminated line.
 *
 * Every read waits at most the timeout it is given (poll). Replies and
 * notifications may interleave: calls skip notifications and queue them,
 * and ctlc_notification() returns the queued ones first, in arrival order.
 * Functions named *_ok / *_err and ctlc_open() fail the test (Check)
 * with a message saying what was expected; the others report.
 */
#ifndef CTLCLIENT_H
#define CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Bounds generous enough for the ASan+UBSan build. */
#define CTLC_CONNECT_MS	10000	/* retrying connect while the daemon starts */
#define CTLC_REPLY_MS	10000	/* one reply */

struct ctlc {
	int		 fd;
	char		*buf;		/* bytes received, not yet returned as lines */
	size_t		 len;
	size_t		 cap;
	bool		 eof;		/* the daemon closed the connection */
	json_t		*queued;	/* notifications read while waiting for replies */
	long long	 next_id;
	char		 path[108];
};

/* Connects to path, retrying (bounded) while it does not exist or refuses. -1 on timeout. */
int		 ctlc_connect_fd(const char *path, int timeout_ms);
/* A client on path (asserts it connects within CTLC_CONNECT_MS). */
struct ctlc	*ctlc_open(const char *path);
/* Closes the connection and frees everything. NULL is a no-op. */
void		 ctlc_close(struct ctlc *);

/* Writes all of buf (MSG_NOSIGNAL). false if the daemon closed the connection. */
bool		 ctlc_send(struct ctlc *, const void *buf, size_t len);
/* Writes text and a '\n'. */
bool		 ctlc_send_line(struct ctlc *, const char *text);

/*
 * The next line, without its '\n' (caller frees; *len if not NULL), within
 * timeout_ms. NULL on timeout, or at end of input (c->eof is then true).
 */
char		*ctlc_read_line(struct ctlc *, int timeout_ms, size_t *len);
/* The next line decoded as JSON (asserts it is JSON). NULL as ctlc_read_line. */
json_t		*ctlc_read_msg(struct ctlc *, int timeout_ms);
/* The next reply (a message with "id"), queueing notifications. NULL as ctlc_read_line. */
json_t		*ctlc_read_reply(struct ctlc *, int timeout_ms);
/* The next notification, queued ones first. NULL on timeout or end of input. */
json_t		*ctlc_notification(struct ctlc *, int timeout_ms);
/* Reads and drops lines until end of input; false on timeout. *last gets the last line. */
bool		 ctlc_wait_eof(struct ctlc *, int timeout_ms, json_t **last);

/*
 * Sends {"jsonrpc":"2.0","id":N,"method":method,"params":params}, where
 * params is JSON text (NULL: left out), and returns the reply with that
 * id, {"result":...} or {"error":...} (a new reference). Asserts the reply
 * comes within CTLC_REPLY_MS.
 */
json_t		*ctlc_call(struct ctlc *, const char *method, const char *params);
/* The same with params as a jansson value (stolen; NULL: left out). */
json_t		*ctlc_call_json(struct ctlc *, const char *method, json_t *params);
/* Asserts a result; returns it (a new reference). */
json_t		*ctlc_ok(struct ctlc *, const char *method, const char *params);
json_t		*ctlc_ok_json(struct ctlc *, const char *method, json_t *params);
/* Asserts an error; returns its code. */
int		 ctlc_err(struct ctlc *, const char *method, const char *params);
/* The error code of a reply, 0 if it is a result. */
int		 ctlc_reply_code(const json_t *reply);

/*
 * The value of one sample of the `metrics` text: name is the metric name
 * with its labels, if any, as printed ("chitchatd_keys",
 * "chitchatd_gossip_tx_messages_total{type=\"syn\"}"). Asserts it is there.
 */
double		 ctlc_metric(struct ctlc *, const char *name);

/* Borrowed JSON accessors that assert the member exists with the type. */
const char	*ctlc_str(const json_t *obj, const char *key);
long long	 ctlc_int(const json_t *obj, const char *key);

#endif /* CTLCLIENT_H */
