/*
 * client.c: chitchatctl's connection to chitchatd's control socket
 * (docs/API.md): connect, `hello` with the protocol version, one call at a
 * time, and the stream of notifications that follows a subscription.
 *
 * JSON-RPC 2.0, one compact JSON value per line, framed and parsed with
 * the helpers chitchatd itself uses (common/cc_ctlproto.h). Every wait is
 * bounded by a deadline on the monotonic clock; the socket is
 * non-blocking, written with MSG_NOSIGNAL, and read with ppoll() so that
 * `watch` can take its signals only while it waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cc_ctlproto.h"
#include "chitchatctl.h"

/* Longest line accepted from the daemon (a snapshot of a large cluster). */
#define CTL_MAX_LINE	(256u * 1024 * 1024)

/* The sooner of the request timeout and deadline_ms; *external set if the latter. */
static int64_t
request_deadline(const struct ctl *ctl, int64_t deadline_ms, bool *external)
{
	int64_t dl = ctl->request_ms < 0 ? -1 : ctl_now_ms() + ctl->request_ms;

	*external = false;
	if (deadline_ms >= 0 && (dl < 0 || deadline_ms <= dl)) {
		dl = deadline_ms;
		*external = true;
	}
	return dl;
}

/* Milliseconds left before dl for poll(), -1 for none. */
static int
remaining(int64_t dl)
{
	int64_t left;

	if (dl < 0)
		return -1;
	left = dl - ctl_now_ms();
	if (left <= 0)
		return 0;
	return left > 3600000 ? 3600000 : (int)left;
}

static int
send_all(struct ctl_conn *c, const char *buf, size_t len, int64_t dl)
{
	struct pollfd pfd = { c->fd, POLLOUT, 0 };

	while (len > 0) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return -1;
		int r = poll(&pfd, 1, remaining(dl));

		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* A complete line in the buffer: decoded into *msg (0), or -1 (EBADMSG); 1 if none. */
static int
take_line(struct ctl_conn *c, json_t **msg)
{
	char	*nl;
	size_t	 n;
	char	 why[160];

	while (c->len > 0 && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		n = (size_t)(nl - c->buf) + 1;
		if (n == 1 || (n == 2 && c->buf[0] == '\r')) {
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			continue;
		}
		*msg = cc_ctl_decode(c->buf, n, why, sizeof(why));
		memmove(c->buf, c->buf + n, c->len - n);
		c->len -= n;
		if (*msg == NULL) {
			errno = EBADMSG;
			return -1;
		}
		return 0;
	}
	return 1;
}

int
ctl_conn_next(struct ctl_conn *c, int64_t deadline_ms, const sigset_t *unblock,
    json_t **msg)
{
	struct pollfd	pfd = { c->fd, POLLIN, 0 };
	int		r;

	for (;;) {
		if ((r = take_line(c, msg)) <= 0)
			return r;
		if (c->len == c->cap) {
			size_t	 ncap = c->cap == 0 ? 65536 : c->cap * 2;
			char	*nb;

			if (ncap > CTL_MAX_LINE) {
				errno = EMSGSIZE;
				return -1;
			}
			if ((nb = realloc(c->buf, ncap)) == NULL)
				return -1;
			c->buf = nb;
			c->cap = ncap;
		}
		ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);

		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -1;
		if (unblock != NULL) {
			struct timespec	 ts, *tsp = NULL;
			int		 ms = remaining(deadline_ms);

			if (ms >= 0) {
				ts.tv_sec = ms / 1000;
				ts.tv_nsec = (long)(ms % 1000) * 1000000;
				tsp = &ts;
			}
			r = ppoll(&pfd, 1, tsp, unblock);
		} else
			r = poll(&pfd, 1, remaining(deadline_ms));
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r == -1 && errno == EINTR && unblock != NULL)
			return -1;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* A daemon error: one line on stderr; the exit code it maps to. */
static int
report_error(const struct cc_ctl_reply *r, const char *what)
{
	const json_t	*reason = json_object_get(r->data, "reason");
	const char	*why = json_is_string(reason) ?
			    json_string_value(reason) : r->message;

	/* the daemon's own words say what was refused: "not allowed: uid ..." */
	if (r->code == -32002 || r->code == -32003)
		ctl_warnx("%s: %s: %s", what, r->message, why);
	else
		ctl_warnx("%s: %s", what, why);
	switch (r->code) {
	case -32000:
		return CTL_EXIT_NOTFOUND;
	case -32002:
	case -32005:
		return CTL_EXIT_CONNECT;
	default:
		return CTL_EXIT_FAIL;
	}
}

/* Transport failure while waiting for a reply: one line; the exit code. */
static int
report_io(struct ctl_conn *c, const char *what, bool external)
{
	if (errno == ETIMEDOUT && external)
		return CTL_EXIT_TIMEOUT;	/* the caller's deadline: it reports */
	if (errno == ETIMEDOUT)
		ctl_warnx("%s: no reply from %s within the timeout", what,
		    c->ctl->socket);
	else if (errno == ECONNRESET || errno == EPIPE)
		ctl_warnx("%s: the daemon closed the connection", what);
	else if (errno == EBADMSG)
		ctl_warnx("%s: the daemon sent a line that is not JSON", what);
	else
		ctl_warnx("%s: %s: %s", what, c->ctl->socket, strerror(errno));
	return CTL_EXIT_CONNECT;
}

int
ctl_call(struct ctl_conn *c, const char *what, const char *method,
    json_t *params, json_t **result, int64_t deadline_ms)
{
	struct cc_ctl_reply	 r;
	json_int_t		 id = c->next_id++;
	json_t			*req, *msg = NULL;
	char			*line;
	size_t			 len;
	bool			 external;
	int64_t			 dl = request_deadline(c->ctl, deadline_ms, &external);
	int			 rc;

	*result = NULL;
	req = ctl_xjson(cc_ctl_request_new(id, method, params));
	line = cc_ctl_encode(req, &len);
	json_decref(req);
	if (line == NULL) {
		ctl_warnx("%s: out of memory", what);
		return CTL_EXIT_FAIL;
	}
	rc = send_all(c, line, len, dl);
	free(line);
	if (rc == -1)
		return report_io(c, what, external);
	for (;;) {
		if (ctl_conn_next(c, dl, NULL, &msg) == -1)
			return report_io(c, what, external);
		if (cc_ctl_reply_parse(msg, &r) == -1) {
			json_decref(msg);
			errno = EBADMSG;
			return report_io(c, what, external);
		}
		/* a notification, or a reply to another request: not ours */
		if (r.kind == CC_CTL_NOTIFICATION ||
		    (!json_is_null(r.id) && (!json_is_integer(r.id) ||
		    json_integer_value(r.id) != id))) {
			json_decref(msg);
			continue;
		}
		if (r.kind == CC_CTL_ERROR) {
			rc = report_error(&r, what);
			json_decref(msg);
			return rc;
		}
		*result = json_incref(r.result);
		json_decref(msg);
		return CTL_EXIT_OK;
	}
}

int
ctl_connect(const struct ctl *ctl, struct ctl_conn *c, int64_t deadline_ms)
{
	struct sockaddr_un	 sun;
	json_t			*res = NULL, *proto;
	int			 rc;

	memset(c, 0, sizeof(*c));
	c->ctl = ctl;
	c->next_id = 1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	/* the length was checked before (chitchatctl.c) */
	memcpy(sun.sun_path, ctl->socket, strlen(ctl->socket) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		ctl_warnx("socket: %s", strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int saved = errno;

		close(c->fd);
		c->fd = -1;
		ctl_warnx("cannot connect to %s: %s%s", ctl->socket,
		    strerror(saved), saved == ENOENT || saved == ECONNREFUSED ?
		    " (is chitchatd running? --socket or CHITCHATD_SOCKET "
		    "gives the path)" : "");
		return CTL_EXIT_CONNECT;
	}
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) == -1) {
		ctl_warnx("fcntl: %s", strerror(errno));
		ctl_conn_close(c);
		return CTL_EXIT_FAIL;
	}
	rc = ctl_call(c, "hello", "hello",
	    ctl_xjson(json_pack("{s:i,s:s}", "protocol", CC_CTL_PROTOCOL,
	    "client", "chitchatctl " CTL_VERSION)), &res, deadline_ms);
	if (rc != CTL_EXIT_OK) {
		ctl_conn_close(c);
		return rc == CTL_EXIT_TIMEOUT ? rc : CTL_EXIT_CONNECT;
	}
	proto = json_object_get(res, "protocol");
	if (!json_is_integer(proto) ||
	    json_integer_value(proto) != CC_CTL_PROTOCOL) {
		ctl_warnx("hello: the daemon at %s speaks protocol %lld, "
		    "chitchatctl %s speaks %d", ctl->socket,
		    json_is_integer(proto) ? (long long)json_integer_value(proto) :
		    -1LL, CTL_VERSION, CC_CTL_PROTOCOL);
		json_decref(res);
		ctl_conn_close(c);
		return CTL_EXIT_CONNECT;
	}
	if (json_is_string(json_object_get(res, "node_id")))
		c->node_id = ctl_xstrdup(json_string_value(
		    json_object_get(res, "node_id")));
	json_decref(res);
	return CTL_EXIT_OK;
}

void
ctl_conn_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
	free(c->node_id);
	c->node_id = NULL;
}

int
ctl_oneshot(const struct ctl *ctl, const char *what, const char *method,
    json_t *params, json_t **result)
{
	struct ctl_conn	c;
	int		rc;

	*result = NULL;
	if ((rc = ctl_connect(ctl, &c, -1)) != CTL_EXIT_OK) {
		json_decref(params);
		return rc;
	}
	rc = ctl_call(&c, what, method, params, result, -1);
	ctl_conn_close(&c);
	return rc;
}
